//! An object list (what syncset-render prints, or any YAML/JSON stream)
//! through hive-apply's reader and its choice of the selector label.

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    if let Ok(input) = hive_apply::read::read_bytes(data) {
        let _ = hive_apply::clusters::selector_label(&input.manifests);
    }
}
