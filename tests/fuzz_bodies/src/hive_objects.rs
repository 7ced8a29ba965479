//! An object list (what syncset-render prints, or any YAML/JSON stream)
//! through hive-apply's reader and its choice of the selector label.

use common::io::{Origin, Source};

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    let Ok(source) = Source::from_bytes(Origin::Stdin, data.to_vec()) else {
        return;
    };
    if let Ok(input) = hive_apply::objects::read(&source) {
        let _ = hive_apply::clusters::selector_label(&input.manifests);
    }
}
