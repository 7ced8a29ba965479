//! Records the git commit the tools are built from, for `--version`, and its
//! day and the list of tools, for the man pages. `ADDON_FLOW_COMMIT` (`ADDON_FLOW_DATE`) in the
//! environment wins (packagers building from a
//! tarball); outside a git checkout the commit is "unknown", never a build
//! failure.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// The tools, for the man pages' SEE ALSO: the folders of `tools/` (the one
/// list of them, which the Makefile reads too), sorted; none outside the
/// workspace.
fn tools() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut tools: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| entry.path().join("Cargo.toml").is_file())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    tools.sort();
    tools
}

fn main() {
    println!("cargo:rerun-if-env-changed=ADDON_FLOW_COMMIT");
    println!("cargo:rerun-if-env-changed=ADDON_FLOW_DATE");
    // The man pages' date: the commit's day (YYYY-MM-DD), or empty.
    let date = std::env::var("ADDON_FLOW_DATE")
        .ok()
        .or_else(|| git(&["log", "-1", "--format=%cs", "HEAD"]))
        .unwrap_or_default();
    println!("cargo:rustc-env=ADDON_FLOW_DATE={date}");
    println!("cargo:rustc-env=ADDON_FLOW_TOOLS={}", tools().join(" "));
    if let Ok(commit) = std::env::var("ADDON_FLOW_COMMIT") {
        println!("cargo:rustc-env=ADDON_FLOW_COMMIT={commit}");
        return;
    }
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some();
            format!("{commit}{}", if dirty { "-dirty" } else { "" })
        }
        None => "unknown".to_owned(),
    };
    println!("cargo:rustc-env=ADDON_FLOW_COMMIT={commit}");
    // Rebuild when HEAD moves: a checkout rewrites HEAD, a commit the branch's
    // ref (loose or packed), a staged edit the index. Works in worktrees too.
    let mut watched = vec![
        "HEAD".to_owned(),
        "index".to_owned(),
        "packed-refs".to_owned(),
    ];
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(reference);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}
