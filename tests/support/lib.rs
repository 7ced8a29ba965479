//! Helpers for the end-to-end tests: where the binaries and fixtures are.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `../shared/reference`, when this checkout has it beside it.
pub fn reference_dir() -> Option<PathBuf> {
    let dir = repo_root().parent()?.join("shared").join("reference");
    dir.is_dir().then_some(dir)
}

/// Says (on stderr) that a conformance part was skipped, and why.
pub fn skip(what: &str) {
    eprintln!("SKIPPED: {what}: ../shared/reference is not present beside this checkout");
}

/// A command for one of our tools, built by `cargo build --workspace --bins`.
pub fn tool(name: &str) -> assert_cmd::Command {
    let path = assert_cmd::cargo::cargo_bin(name);
    assert!(
        path.is_file(),
        "{} is not built; run `cargo build --workspace --bins` before the tests",
        path.display()
    );
    let mut command = assert_cmd::Command::new(path);
    command.current_dir(repo_root());
    command
}

/// Copies a folder tree (the fixtures a test is about to break or change).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|err| panic!("create {}: {err}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|err| panic!("read {}: {err}", from.display()));
    for entry in entries {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|err| panic!("copy {}: {err}", entry.path().display()));
        }
    }
}
