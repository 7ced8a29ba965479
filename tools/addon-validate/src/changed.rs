//! `--changed-since REF` and `--bundles-changed-since REF`: the add-ons
//! whose files changed, found as managed-tenants-cli's ChangeDetector finds
//! them (`managedtenants/utils/git.py`: `git diff --name-only FROM...TO`, then
//! the add-on folders that hold a changed path), each repository against its
//! own ref: the tree's files under `addons/<id>/` against `--changed-since`,
//! the bundles' under `ROOT/<id>/` against `--bundles-changed-since`
//! (managed-tenants-bundles is another repository, with other commits).
//!
//! The range: from the merge base of REF and HEAD (what mtcli's `REF...HEAD`
//! means: what REF's branch did after this branch left it is not this
//! branch's change) to the working tree, so uncommitted and untracked files
//! count too. Renames are not followed: a file moved from one add-on to
//! another changes both (mtcli follows them, and misses the one it left).
//!
//! A ref never reaches git as an option (one starting with `-` is refused, the
//! others are passed after `--end-of-options`, and then only as the commit ids
//! git resolved), and a ref git cannot resolve is an error, never an empty
//! selection.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Error, Result};

/// The refs to compare against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Since<'a> {
    /// `--changed-since`: a ref of the tree's repository.
    pub tree: Option<&'a str>,
    /// `--bundles ROOT`.
    pub bundles_root: Option<&'a Path>,
    /// `--bundles-changed-since`: a ref of the bundles' repository.
    pub bundles: Option<&'a str>,
}

impl Since<'_> {
    /// Whether any ref narrows the selection.
    pub fn is_given(&self) -> bool {
        self.tree.is_some() || self.bundles.is_some()
    }
}

/// Refuses a ref that git would read as an option (`--output=FILE`).
pub fn check_ref(flag: &str, reference: Option<&str>) -> Result<()> {
    match reference {
        Some(reference) if reference.starts_with('-') || reference.is_empty() => {
            Err(Error::usage(format!(
                "{flag} {reference:?}: expected a git ref (a branch, tag or commit), not an option"
            )))
        }
        _ => Ok(()),
    }
}

/// The add-on folder names with a change in the ranges `since` gives, under
/// `addons_base` (the folder holding one folder per add-on) and under the
/// bundles root.
pub fn changed_addons(addons_base: &Path, since: &Since) -> Result<BTreeSet<String>> {
    check_ref("--changed-since", since.tree)?;
    check_ref("--bundles-changed-since", since.bundles)?;
    let mut changed = BTreeSet::new();
    if let Some(reference) = since.tree {
        changed.extend(addon_names(changed_files(
            addons_base,
            "--changed-since",
            reference,
        )?));
    }
    if let Some(root) = since.bundles_root {
        // Bundles kept as ROOT/addons/<id> are named from ROOT/addons.
        let base = if root.join("addons").is_dir() {
            root.join("addons")
        } else {
            root.to_path_buf()
        };
        let compare = match (since.bundles, since.tree) {
            (Some(reference), _) => Some(("--bundles-changed-since", reference)),
            (None, Some(reference)) => {
                same_repository(addons_base, &base, reference)?;
                Some(("--changed-since", reference))
            }
            (None, None) => None,
        };
        if let Some((flag, reference)) = compare {
            changed.extend(addon_names(changed_files(&base, flag, reference)?));
        }
    }
    Ok(changed)
}

/// The first component of each path: the add-on folder it is in.
fn addon_names(paths: Vec<String>) -> impl Iterator<Item = String> {
    paths.into_iter().filter_map(|path| {
        path.split('/')
            .next()
            .filter(|first| !first.is_empty())
            .map(str::to_string)
    })
}

/// `--changed-since` alone covers the bundles only when they are in the
/// tree's own repository, where its ref means the same commit.
fn same_repository(tree: &Path, bundles: &Path, reference: &str) -> Result<()> {
    let tree_top = toplevel(tree, "--changed-since")?;
    let bundles_top = toplevel(bundles, "--changed-since").ok();
    if bundles_top.as_deref() == Some(tree_top.as_path()) {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--changed-since {reference:?} is a ref of the tree's repository ({}), and --bundles {} \
         is not in it: give --bundles-changed-since REF for the bundles' own repository",
        tree_top.display(),
        bundles.display()
    )))
}

/// Files changed since the merge base of `reference` and HEAD (committed,
/// staged, unstaged) and untracked files, relative to `dir`.
fn changed_files(dir: &Path, flag: &str, reference: &str) -> Result<Vec<String>> {
    let base = merge_base(dir, flag, reference)?;
    let diff = git(
        dir,
        flag,
        &[
            "diff",
            "--name-only",
            "-z",
            "--relative",
            "--no-renames",
            &base,
            "--",
            ".",
        ],
    )?;
    let untracked = git(
        dir,
        flag,
        &[
            "ls-files",
            "-z",
            "--others",
            "--exclude-standard",
            "--",
            ".",
        ],
    )?;
    Ok(diff
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|path| !path.is_empty())
        .map(str::to_string)
        .collect())
}

/// The merge base of `reference` and HEAD, as a commit id: where this branch
/// left `reference`'s history.
fn merge_base(dir: &Path, flag: &str, reference: &str) -> Result<String> {
    toplevel(dir, flag)?;
    let commit = resolve(dir, reference).ok_or_else(|| {
        Error::usage(format!(
            "{flag} {reference:?}: git cannot resolve {reference:?} to a commit in {}; {}",
            dir.display(),
            unresolved_hint(dir, reference)
        ))
    })?;
    let head = resolve(dir, "HEAD").ok_or_else(|| {
        Error::usage(format!(
            "{flag}: the repository of {} has no commit at HEAD",
            dir.display()
        ))
    })?;
    let base = run_git(dir, &["merge-base", &commit, &head])?;
    match base {
        Ok(out) if !out.trim().is_empty() => Ok(out.trim().to_string()),
        _ => Err(Error::usage(format!(
            "{flag} {reference:?}: {reference:?} and HEAD have no merge base in {}, so there is \
             no range to compare; {}",
            dir.display(),
            if is_shallow(dir) {
                "this clone is shallow and lacks their common history (git fetch --unshallow, or \
                 GIT_DEPTH: 0 in GitLab CI)"
            } else {
                "their histories are unrelated"
            }
        ))),
    }
}

/// Why a ref may not resolve, for the message.
fn unresolved_hint(dir: &Path, reference: &str) -> &'static str {
    if reference.len() >= 7 && reference.bytes().all(|b| b == b'0') {
        "an all-zero commit id is what GitLab's CI_COMMIT_BEFORE_SHA holds on a branch's first \
         push (there is no previous commit): validate and deploy the whole tree instead"
    } else if is_shallow(dir) {
        "this clone is shallow and may lack it (git fetch --unshallow, or GIT_DEPTH: 0 in GitLab \
         CI)"
    } else {
        "is it a typo, or a ref this clone has not fetched?"
    }
}

/// The commit id `reference` names, if git can resolve it to a commit.
fn resolve(dir: &Path, reference: &str) -> Option<String> {
    let spec = format!("{reference}^{{commit}}");
    let out = run_git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
    )
    .ok()?
    .ok()?;
    let id = out.trim();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_string())
}

fn is_shallow(dir: &Path) -> bool {
    matches!(
        run_git(dir, &["rev-parse", "--is-shallow-repository"]),
        Ok(Ok(out)) if out.trim() == "true"
    )
}

/// The root of the repository `dir` is in.
fn toplevel(dir: &Path, flag: &str) -> Result<PathBuf> {
    match run_git(dir, &["rev-parse", "--show-toplevel"])? {
        Ok(out) => Ok(PathBuf::from(out.trim())),
        Err(why) => Err(Error::usage(format!(
            "{flag}: {} is not in a git repository: {why}",
            dir.display()
        ))),
    }
}

/// `git ARGS` in `dir` that must succeed: its stdout.
fn git(dir: &Path, flag: &str, args: &[&str]) -> Result<String> {
    run_git(dir, args)?.map_err(|why| {
        Error::usage(format!(
            "{flag}: `git {}` in {} failed: {why}",
            args.join(" "),
            dir.display()
        ))
    })
}

/// Runs `git ARGS` in `dir`: Ok(stdout) or Err(stderr) as git ended; the
/// outer error when git cannot be run at all.
fn run_git(dir: &Path, args: &[&str]) -> Result<std::result::Result<String, String>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|err| Error::usage(format!("--changed-since needs git: {err}")))?;
    Ok(if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_option_is_not_taken_for_a_ref() {
        for flag in ["--changed-since", "--bundles-changed-since"] {
            let err = check_ref(flag, Some("--output=x")).unwrap_err();
            assert_eq!(err.exit_status(), common::ExitStatus::Usage);
            assert!(err.to_string().contains(flag), "{err}");
        }
        assert!(check_ref("--changed-since", Some("origin/main")).is_ok());
        assert!(check_ref("--changed-since", None).is_ok());
        let since = Since {
            tree: Some("-x"),
            ..Since::default()
        };
        assert!(changed_addons(Path::new("."), &since).is_err());
    }

    #[test]
    fn paths_name_the_addon_folder_they_are_in() {
        let names: Vec<String> = addon_names(vec![
            "my-addon/metadata/stage/addon.yaml".into(),
            "other/x".into(),
            "".into(),
        ])
        .collect();
        assert_eq!(names, ["my-addon", "other"]);
    }
}
