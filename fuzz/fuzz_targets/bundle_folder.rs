//! A bundle folder's files (annotations, CSV, CRD of two versions and the
//! tree's main/config.yaml) through the bundle loader, the FBC build and the
//! graph check, as catalog-build runs them. The files are written into a
//! scratch folder: the loader reads folders.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::bundle_folder::run(data));
