//! Every fuzz target's body over its committed seed corpus
//! (`seeds/<target>/`, written from our fixtures by `scripts/fuzz.sh --seeds`)
//! and any committed crash reproducer (`crashes/<target>/`), on the stable
//! toolchain: CI smoke-tests the targets without the nightly sanitizer build.
//! A body that panics fails the test with the file that made it.

use std::path::{Path, PathBuf};

use addon_flow_fuzz_bodies::TARGETS;

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_has_a_body_here() {
    let mut targets: Vec<String> = inputs(&here().join("../../fuzz/fuzz_targets"))
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    targets.sort();
    let mut bodies: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    bodies.sort();
    assert_eq!(targets, bodies);
}

#[test]
fn every_fuzz_body_runs_its_seeds_and_crash_reproducers_without_panicking() {
    let mut ran = 0;
    for (name, run) in TARGETS {
        let seeds = inputs(&here().join("seeds").join(name));
        assert!(!seeds.is_empty(), "{name}: no committed seeds");
        for input in seeds
            .iter()
            .chain(&inputs(&here().join("crashes").join(name)))
        {
            let data = std::fs::read(input).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", input.display());
            ran += 1;
        }
    }
    assert!(ran >= TARGETS.len());
}
