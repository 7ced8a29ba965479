//! The bodies of the fuzz targets (one module each, `run(data)`), callable
//! from the nightly libFuzzer build in `fuzz/` and from the stable test suite
//! (`tests/seeds.rs` runs every body over the committed seeds and crash
//! reproducers), and the helpers they share: how one fuzz input becomes
//! several files or an HTTP answer. Seeds written by `scripts/fuzz.sh` use the
//! same framing.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub mod addon_document;
pub mod addon_yaml;
pub mod bundle_folder;
pub mod hive_objects;
pub mod kubeconfig;
pub mod oci_layout;
pub mod ocm_answer;
pub mod ocm_token_answer;
pub mod prometheus_answer;
pub mod registry_auth;
pub mod registry_manifest;

/// A target's body: one input, any bytes.
pub type Body = fn(&[u8]);

/// `(name, module::run)` for each module: a target is named as its module.
macro_rules! targets {
    ($($module:ident),* $(,)?) => {
        &[$((stringify!($module), $module::run as Body)),*]
    };
}

/// Every target by its name in `fuzz/fuzz_targets/`.
pub const TARGETS: &[(&str, Body)] = targets![
    addon_document,
    addon_yaml,
    bundle_folder,
    hive_objects,
    kubeconfig,
    oci_layout,
    ocm_answer,
    ocm_token_answer,
    prometheus_answer,
    registry_auth,
    registry_manifest,
];

/// Separates the files of one input (a bundle folder, an OCI layout). Seeds
/// join fixture files with it; the fuzzer may drop or duplicate it.
pub const FILE_SEPARATOR: &[u8] = b"\n%%FILE%%\n";

/// Splits an input into at most `slots` files (missing ones are `None`: the
/// file is absent).
pub fn split_files(data: &[u8], slots: usize) -> Vec<Option<&[u8]>> {
    let mut files: Vec<Option<&[u8]>> = Vec::with_capacity(slots);
    let mut rest = data;
    while files.len() + 1 < slots {
        match find(rest, FILE_SEPARATOR) {
            Some(at) => {
                files.push(Some(&rest[..at]));
                rest = &rest[at + FILE_SEPARATOR.len()..];
            }
            None => break,
        }
    }
    files.push(Some(rest));
    files.resize(slots, None);
    // An empty slot stands for an absent file, so the fuzzer can remove files.
    files
        .into_iter()
        .map(|file| file.filter(|bytes| bytes != b"-"))
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// An HTTP answer from a fuzz input: two bytes of status (kept in 100..600),
/// then the body.
pub fn response(data: &[u8]) -> common::remote::http::Response {
    let (status, body) = match data {
        [a, b, body @ ..] => (100 + u16::from_be_bytes([*a, *b]) % 500, body),
        _ => (200, data),
    };
    common::remote::http::Response {
        status,
        headers: vec![("Content-Type".to_string(), "application/json".to_string())],
        body: body.to_vec(),
    }
}

/// One scratch folder per fuzzing process, emptied before each input.
pub fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let root = DIR
        .get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
        .path()
        .join("input");
    if root.exists() {
        std::fs::remove_dir_all(&root).expect("the scratch folder can be emptied");
    }
    std::fs::create_dir_all(&root).expect("the scratch folder can be created");
    root
}

/// Writes `bytes` at `dir/relative`, creating folders.
pub fn write_file(dir: &Path, relative: &str, bytes: &[u8]) {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("folders in the scratch folder");
    }
    std::fs::write(path, bytes).expect("a file in the scratch folder");
}
