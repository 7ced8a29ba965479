//! kubeconfig bytes through the reader hive-apply uses (current context, a
//! named context), relative files resolved in an empty scratch folder.

use crate::scratch_dir;

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = scratch_dir();
    for context in [None, Some("fuzz")] {
        if let Ok(access) = common::remote::kubeconfig::from_text(text, &dir, context) {
            // No exec plugin runs from fuzzed text: only the client is built.
            if access.exec.is_none() {
                let _ = access.connect(|client| client);
            }
        }
    }
}
