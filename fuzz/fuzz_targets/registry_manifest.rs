//! Registry answers for a manifest, an index or an image config, through our
//! OCI model (catalog-build reads a base image with it) and through the
//! manifest types of the registry client (oci-client) catalog-build pushes with.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::registry_manifest::run(data));
