//! addon.yaml bytes through our YAML loader (YAML 1.1 the PyYAML way,
//! duplicate keys, line map) and the managed-tenants schema check.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::addon_yaml::run(data));
