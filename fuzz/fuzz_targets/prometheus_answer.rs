//! A Prometheus query API answer (status and body) through the reader
//! csv-wait polls with, then csv-wait's classification of the samples.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::prometheus_answer::run(data));
