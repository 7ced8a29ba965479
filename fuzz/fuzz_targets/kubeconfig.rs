//! kubeconfig bytes through the reader hive-apply uses (current context, a
//! named context), relative files resolved in an empty scratch folder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::kubeconfig::run(data));
