//! An OCI image layout read back (catalog-build's `oci:DIR` base image and
//! `--oci-layout` re-runs): `oci-layout`, `index.json`, and three blobs.
//! `@BLOB1@`..`@BLOB3@` in the index or a blob stand for the sha256 digest
//! of that blob (written under it), so fuzzed layouts reach past the
//! digest checks; the input is the five files joined by FILE_SEPARATOR.

use crate::{scratch_dir, split_files, write_file};
use common::oci::{digest_hex, sha256_digest, OciLayout};

fn substitute(bytes: &[u8], digests: &[(usize, String)]) -> Vec<u8> {
    let mut text = bytes.to_vec();
    for (index, digest) in digests {
        let placeholder = format!("@BLOB{index}@");
        text = replace(&text, placeholder.as_bytes(), digest.as_bytes());
    }
    text
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    let root = scratch_dir();
    let files = split_files(data, 5);
    // Blob 3 (a layer) and 2 (a config) first: blob 1 (a manifest) names them.
    let mut digests: Vec<(usize, String)> = Vec::new();
    for index in [3, 2, 1] {
        if let Some(bytes) = files[index + 1] {
            let bytes = substitute(bytes, &digests);
            let digest = sha256_digest(&bytes);
            let hex = digest_hex(&digest).expect("our own digests are well formed");
            write_file(&root, &format!("blobs/sha256/{hex}"), &bytes);
            digests.push((index, digest));
        }
    }
    if let Some(marker) = files[0] {
        write_file(&root, "oci-layout", marker);
    }
    if let Some(index) = files[1] {
        write_file(&root, "index.json", &substitute(index, &digests));
    }
    let layout = OciLayout::new(&root);
    let _ = layout.index();
    for name in [None, Some("latest")] {
        if let Ok(image) = layout.read_image(name) {
            let _ = image.digest();
            let _ = serde_json::from_slice::<serde_json::Value>(&image.config.data);
        }
    }
}
