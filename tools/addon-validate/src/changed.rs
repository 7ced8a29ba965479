//! `--changed-since GIT_REF`: the add-ons whose files changed since a git
//! ref, like managed-tenants-cli's `--only-changed`: their metadata, image
//! sets and extra resources (anything under `addons/<id>/`), and with
//! `--bundles ROOT` their bundles (`ROOT/<id>/`, which may be another git
//! repository: git runs in the folder that holds them).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{Error, Result};

/// The add-on folder names with a change since `since` under `addons_base`
/// (the folder holding one folder per add-on) and under `bundles_root`.
pub fn changed_addons(
    addons_base: &Path,
    since: &str,
    bundles_root: Option<&Path>,
) -> Result<BTreeSet<String>> {
    let mut changed = BTreeSet::new();
    for root in std::iter::once(addons_base).chain(bundles_root) {
        // Bundles kept as ROOT/addons/<id> are named from ROOT/addons.
        let base = if root != addons_base && root.join("addons").is_dir() {
            root.join("addons")
        } else {
            root.to_path_buf()
        };
        for path in changed_files(&base, since)? {
            if let Some(first) = path.split('/').next().filter(|c| !c.is_empty()) {
                changed.insert(first.to_string());
            }
        }
    }
    Ok(changed)
}

/// Files changed (committed or not) since `since`, and new untracked files,
/// relative to `dir`.
fn changed_files(dir: &Path, since: &str) -> Result<Vec<String>> {
    if since.starts_with('-') {
        return Err(Error::usage(format!(
            "--changed-since {since:?}: expected a git ref (a branch, tag or commit)"
        )));
    }
    let diff = git(
        dir,
        &[
            "diff",
            "--name-only",
            "--relative",
            "--no-renames",
            since,
            "--",
            ".",
        ],
    )?;
    let untracked = git(
        dir,
        &["ls-files", "--others", "--exclude-standard", "--", "."],
    )?;
    Ok(diff
        .lines()
        .chain(untracked.lines())
        .map(str::to_string)
        .collect())
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|err| Error::usage(format!("--changed-since needs git: {err}")))?;
    if !output.status.success() {
        return Err(Error::usage(format!(
            "--changed-since: `git {}` in {} failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_option_is_not_taken_for_a_ref() {
        let err = changed_addons(Path::new("."), "--output=x", None).unwrap_err();
        assert_eq!(err.exit_status(), common::ExitStatus::Usage);
    }
}
