//! The build cache: what the last successful push of the same input gave.
//!
//! A re-run with nothing changed should cost a directory read and a few
//! requests, not a re-parse of every manifest and a re-compression of every
//! layer. The key is a sha256 over everything the images depend on (this
//! tool's version, the target names, the base image's digest, every file
//! under the bundle folder by path and content); a hit is only trusted after
//! the registry confirms the catalog's tag still points at the recorded
//! digest (a registry only accepts a manifest whose blobs it has) and every
//! bundle tag is still listed (`registry::CacheCheck`).

use std::path::{Path, PathBuf};

use common::model::addon::BundlesSummary;
use common::oci::sha256_digest;
use common::{Error, Result};
use serde::{Deserialize, Serialize};

/// One pushed image: `registry/repo:tag` and its manifest digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedImage {
    pub tag_reference: String,
    pub digest: String,
}

/// The result of a successful push, as the output needs it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedBuild {
    pub catalog_reference: String,
    pub catalog_digest: String,
    pub base: String,
    /// The package image by digest, when the bundles have a `package/`.
    pub package_image: Option<String>,
    pub summary: BundlesSummary,
    /// Bundle images first, the catalog last.
    pub images: Vec<CachedImage>,
}

/// `$XDG_CACHE_HOME/addon-flow/catalog-build`, else `~/.cache/...`; None
/// when neither is set.
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("addon-flow").join("catalog-build"))
}

/// The cache key of a build: `parts` (version, targets, base digest) and
/// the bundle folder's [`folder_input`].
pub fn key_of(parts: &[&str], folder_input: &[u8]) -> String {
    let mut input = Vec::new();
    for part in parts {
        input.extend_from_slice(part.as_bytes());
        input.push(0);
    }
    input.extend_from_slice(folder_input);
    sha256_digest(&input)
}

/// The bundle folder's part of a build's cache key: every entry under
/// `bundles`, in path order, by its path and what it holds (a file by the
/// digest of its content). A symlink to a file inside the folder is hashed
/// by the content it leads to, so a changed target changes the key.
/// Nothing else is opened: a link to a folder or out of the tree, a FIFO or
/// a device is hashed as a marker (the build refuses those, so no cached
/// result can carry such a key, and a FIFO cannot hang the lookup). A
/// stream's folders are read on every core before its builds, which need
/// the registry, go one by one (`fleet`).
pub fn folder_input(bundles: &Path) -> Result<Vec<u8>> {
    let mut input = Vec::new();
    let root = bundles.canonicalize().ok();
    for entry in walkdir::WalkDir::new(bundles)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|err| Error::in_file(bundles, format!("cannot list: {err}")))?;
        let relative = entry.path().strip_prefix(bundles).unwrap_or(entry.path());
        input.extend_from_slice(relative.as_os_str().as_encoded_bytes());
        input.push(0);
        let file_type = entry.file_type();
        if file_type.is_dir() {
            input.push(b'd');
            continue;
        }
        let readable = if file_type.is_symlink() {
            if let Ok(target) = std::fs::read_link(entry.path()) {
                input.extend_from_slice(target.as_os_str().as_encoded_bytes());
            }
            input.push(0);
            let resolved = entry.path().canonicalize().ok();
            resolved.is_some_and(|target| {
                root.as_ref().is_some_and(|root| target.starts_with(root)) && target.is_file()
            })
        } else {
            file_type.is_file()
        };
        if !readable {
            input.extend_from_slice(b"not a file the build reads");
        } else {
            match std::fs::read(entry.path()) {
                Ok(bytes) => input.extend_from_slice(sha256_digest(&bytes).as_bytes()),
                Err(_) => input.extend_from_slice(b"unreadable"),
            }
        }
        input.push(0);
    }
    Ok(input)
}

fn entry_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{}.json", key.trim_start_matches("sha256:")))
}

/// The recorded build for `key`, if any (an unreadable entry is a miss).
pub fn load(dir: &Path, key: &str) -> Option<CachedBuild> {
    let bytes = std::fs::read(entry_path(dir, key)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Records a build. Failing to write the cache only costs the next run
/// time, so the caller gets a warning to print, not an error.
pub fn store(dir: &Path, key: &str, build: &CachedBuild) -> Option<String> {
    let written = std::fs::create_dir_all(dir)
        .map_err(|err| err.to_string())
        .and_then(|()| {
            let bytes = serde_json::to_vec_pretty(build).map_err(|err| err.to_string())?;
            common::cli::io::atomic_write(&entry_path(dir, key), &bytes)
                .map_err(|err| err.to_string())
        });
    written.err().map(|message| {
        format!(
            "warning: cannot write the build cache in {}: {message}",
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input_key(bundles: &Path, parts: &[&str]) -> Result<String> {
        Ok(key_of(parts, &folder_input(bundles)?))
    }

    #[test]
    fn the_key_changes_with_any_file_or_part_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("main/1.0.0")).unwrap();
        std::fs::write(dir.path().join("main/1.0.0/a.yaml"), "a: 1\n").unwrap();
        let first = input_key(dir.path(), &["repo"]).unwrap();
        assert_eq!(first, input_key(dir.path(), &["repo"]).unwrap());
        assert_ne!(first, input_key(dir.path(), &["other-repo"]).unwrap());
        std::fs::write(dir.path().join("main/1.0.0/a.yaml"), "a: 2\n").unwrap();
        assert_ne!(first, input_key(dir.path(), &["repo"]).unwrap());

        let cache = dir.path().join("cache");
        let build = CachedBuild {
            catalog_reference: "r@sha256:1".into(),
            catalog_digest: "sha256:1".into(),
            base: "scratch".into(),
            package_image: Some("r-package@sha256:2".into()),
            summary: BundlesSummary::default(),
            images: vec![CachedImage {
                tag_reference: "r:latest".into(),
                digest: "sha256:1".into(),
            }],
        };
        assert_eq!(store(&cache, &first, &build), None);
        assert_eq!(load(&cache, &first), Some(build.clone()));
        assert_eq!(load(&cache, "sha256:other"), None);

        // A cache that cannot be written is a warning returned to the tool.
        let blocked = dir.path().join("a-file");
        std::fs::write(&blocked, "not a folder").unwrap();
        let warning = store(&blocked.join("cache"), &first, &build).unwrap();
        assert!(
            warning.contains("cannot write the build cache"),
            "{warning}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_key_never_opens_a_fifo_or_follows_a_link_out_of_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("main/1.0.0")).unwrap();
        std::fs::write(outside.path().join("secret"), "one").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            dir.path().join("main/1.0.0/link.yaml"),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("dep")).unwrap();
        let fifo = dir.path().join("main/1.0.0/fifo.yaml");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        // Returns at all (a FIFO with no writer would block a read).
        let first = input_key(dir.path(), &["repo"]).unwrap();
        // What lies outside the tree is not read: changing it changes nothing.
        std::fs::write(outside.path().join("secret"), "two").unwrap();
        assert_eq!(first, input_key(dir.path(), &["repo"]).unwrap());
    }
}
