//! An object list (what syncset-render prints, or any YAML/JSON stream)
//! through hive-apply's reader and its choice of the selector label.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::hive_objects::run(data));
