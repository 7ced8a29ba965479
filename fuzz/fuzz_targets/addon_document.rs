//! An add-on document (what addon-validate prints) through the pure stages
//! after it: syncset-render's render and templates, ocm-post's payloads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::addon_document::run(data));
