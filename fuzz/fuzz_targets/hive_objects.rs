//! An object list (what syncset-render prints, or any YAML/JSON stream)
//! through hive-apply's reader and its choice of the selector label.
#![no_main]

use common::io::{Origin, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes(Origin::Stdin, data.to_vec()) else {
        return;
    };
    if let Ok(manifests) = hive_apply::objects::read(&source) {
        let _ = hive_apply::apply::selector_label(&manifests);
    }
});
