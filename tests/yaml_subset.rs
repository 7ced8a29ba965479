//! The YAML loader's fast path (common/src/text/yaml/subset.rs) against the full
//! loader on every YAML file of managed-tenants-cli's reference data, our
//! fixtures and our examples: the same documents, duplicate keys and Python
//! values, or the same error, whichever reader the loader picks.

use std::path::{Path, PathBuf};

use common::text::yaml::loader::{parse_stream, parse_stream_full};
use common::text::yaml::parse_stream_subset;
use e2e::{repo_root, require_reference};

fn yaml_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|dir| walkdir::WalkDir::new(dir).into_iter().flatten())
        .map(|entry| entry.into_path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// Whether the fast path read `text`; when it did, it read what the full
/// loader reads (values, duplicate keys, Python values), and the full loader
/// does not refuse it.
fn same(path: &Path, text: &str) -> bool {
    let Some(fast) = parse_stream_subset(text) else {
        return false;
    };
    let full = parse_stream_full(text);
    assert!(
        full.as_ref().ok() == Some(&fast),
        "the fast path reads {} ({} bytes) differently: {full:?}",
        path.display(),
        text.len()
    );
    true
}

#[test]
fn every_reference_yaml_file_reads_the_same_on_the_fast_path() {
    let Some(reference) = require_reference("YAML files to compare the loaders on") else {
        return;
    };
    let root = repo_root();
    let files = yaml_files(&[
        reference,
        root.join("tests/fixtures"),
        root.join("examples"),
    ]);
    assert!(files.len() > 400, "only {} YAML files found", files.len());
    let mut fast = 0;
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        fast += usize::from(same(path, &text));
        // What the loader gives is the fast path's, else the full loader's.
        assert_eq!(parse_stream(&text), parse_stream_full(&text));
    }
    // The comparison covers the fast path, not only the fallback (which
    // takes the CRDs' multi-line descriptions, among others).
    assert!(
        fast * 2 > files.len(),
        "the fast path read only {fast} of {} files",
        files.len()
    );
}

/// Each reference file cut after each of its first 60 lines: a prefix is the kind of text an
/// editor or a truncated download leaves, and every one is read the same.
#[test]
fn every_prefix_of_the_reference_files_reads_the_same() {
    let Some(reference) = require_reference("YAML files to compare the loaders on") else {
        return;
    };
    for path in yaml_files(&[reference]) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        // The large CRDs repeat one another; their first lines are enough.
        let ends: Vec<usize> = text
            .match_indices('\n')
            .map(|(i, _)| i + 1)
            .take(60)
            .collect();
        for end in ends {
            same(&path, &text[..end]);
            same(&path, &text[..end - 1]);
        }
    }
}
