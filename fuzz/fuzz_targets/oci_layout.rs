//! An OCI image layout read back (catalog-build's `oci:DIR` base image and
//! `--oci-layout` re-runs): `oci-layout`, `index.json`, and three blobs.
//! `@BLOB1@`..`@BLOB3@` in the index or a blob stand for the sha256 digest
//! of that blob (written under it), so fuzzed layouts reach past the
//! digest checks; the input is the five files joined by FILE_SEPARATOR.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::oci_layout::run(data));
