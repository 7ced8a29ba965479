//! OCM answers (an add-on, a version or installation list, an error body,
//! any status) through what ocm-post reads them with.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::ocm_answer::run(data));
