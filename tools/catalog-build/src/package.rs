//! A bundles folder's `package/`: the files of a package-operator package,
//! built into a package image as managed-tenants-cli builds it
//! (`managedtenants/bundles/docker_api.py`, `build_package`: `FROM scratch`,
//! `ADD . /package`; pushed as `<registry>/<addon>-package` and named by
//! digest as the image set's `packageImage`).
//!
//! mtcli runs `kubectl-package validate` on the folder first; we check what
//! the image needs and what is cheap to check without it: a
//! `manifest.yaml` (or `.yml`) that is a package-operator `PackageManifest`,
//! and only regular files and folders (a symlink would carry a file from
//! outside the bundles into the image; a FIFO would block the read).

use std::path::{Path, PathBuf};

use common::cli::io::{optional_entry, EntryKind, Source};
use common::oci::LayerContent;
use common::{Error, Result};

/// The folder's name inside a bundles folder.
pub const PACKAGE_DIR: &str = "package";

/// The kind of the manifest a package-operator package holds.
const MANIFEST_KIND: &str = "PackageManifest";

/// The files of `BUNDLES/package/` under `package/` in a layer, or None when
/// the bundles folder has no `package/`.
pub fn read_package(bundles: &Path) -> Result<Option<LayerContent>> {
    let dir = bundles.join(PACKAGE_DIR);
    let expected = "the package-operator package: a real folder, not a link, holding manifest.yaml";
    if !optional_entry(&dir, EntryKind::Folder, expected)? {
        return Ok(None);
    }
    check_manifest(&dir)?;
    let mut content = LayerContent::new();
    for (relative, path) in files_under(&dir)? {
        let bytes = std::fs::read(&path)
            .map_err(|err| Error::in_file(&path, common::cli::io::describe_io_error(&err)))?;
        content
            .file(&format!("{PACKAGE_DIR}/{relative}"), bytes)
            .map_err(|err| Error::in_file(&path, err.to_string()))?;
    }
    Ok(Some(content))
}

/// `manifest.yaml` (or `manifest.yml`) at the package's root, a
/// `PackageManifest`.
fn check_manifest(dir: &Path) -> Result<()> {
    let Some(path) = ["manifest.yaml", "manifest.yml"]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.symlink_metadata().is_ok_and(|m| m.is_file()))
    else {
        return Err(Error::in_file(
            dir,
            format!("has no manifest.yaml (expected a package-operator package, whose manifest.yaml is a {MANIFEST_KIND})"),
        ));
    };
    let source = Source::tree_file(&path)?;
    let value = source.parse()?.value;
    let kind = value.get("kind").and_then(serde_json::Value::as_str);
    if kind != Some(MANIFEST_KIND) {
        return Err(Error::input(
            source.location().field("kind"),
            format!(
                "expected {MANIFEST_KIND} (the package-operator package manifest), found {}",
                kind.map_or_else(|| "no kind".to_string(), |k| format!("{k:?}"))
            ),
        ));
    }
    Ok(())
}

/// Every regular file under `dir` by its path relative to `dir` (with `/`),
/// sorted; a symlink or anything but a file or folder is refused, naming it.
fn files_under(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|err| Error::in_file(&folder, common::cli::io::describe_io_error(&err)))?;
        for entry in entries {
            let entry = entry
                .map_err(|err| Error::in_file(&folder, common::cli::io::describe_io_error(&err)))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|err| Error::in_file(&path, common::cli::io::describe_io_error(&err)))?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let relative = path
                    .strip_prefix(dir)
                    .ok()
                    .and_then(Path::to_str)
                    .ok_or_else(|| {
                        Error::in_file(
                            &path,
                            "has a name that is not UTF-8 (expected UTF-8 file names)",
                        )
                    })?
                    .to_string();
                files.push((relative, path));
            } else {
                return Err(Error::in_file(
                    &path,
                    "is a symlink or a special file inside package/; only files and folders go into the package image",
                ));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "apiVersion: manifests.package-operator.run/v1alpha1\nkind: PackageManifest\nmetadata:\n  name: demo\n";

    fn package(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(PACKAGE_DIR).join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn no_package_folder_is_no_package() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_package(dir.path()).unwrap().is_none());
    }

    #[test]
    fn every_file_goes_under_package_and_the_layer_is_reproducible() {
        let dir = package(&[
            ("manifest.yaml", MANIFEST),
            ("deploy/deployment.yaml", "kind: Deployment\n"),
        ]);
        let content = read_package(dir.path()).unwrap().unwrap();
        let again = read_package(dir.path()).unwrap().unwrap();
        assert_eq!(content, again);
        let mut expected = LayerContent::new();
        expected
            .file("package/manifest.yaml", MANIFEST.as_bytes().to_vec())
            .unwrap()
            .file(
                "package/deploy/deployment.yaml",
                b"kind: Deployment\n".to_vec(),
            )
            .unwrap();
        assert_eq!(content, expected);
    }

    #[test]
    fn a_package_needs_a_package_manifest() {
        let missing = package(&[("deployment.yaml", "kind: Deployment\n")]);
        let err = read_package(missing.path()).unwrap_err().to_string();
        assert!(err.contains("has no manifest.yaml"), "{err}");
        let wrong = package(&[("manifest.yaml", "kind: ConfigMap\n")]);
        let err = read_package(wrong.path()).unwrap_err().to_string();
        assert!(
            err.contains("manifest.yaml") && err.contains("expected PackageManifest"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_inside_or_as_the_package_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "token").unwrap();
        let inside = package(&[("manifest.yaml", MANIFEST)]);
        let link = inside.path().join("package/secret.yaml");
        std::os::unix::fs::symlink(outside.path().join("secret"), &link).unwrap();
        let err = read_package(inside.path()).unwrap_err().to_string();
        assert!(err.contains(&link.display().to_string()), "{err}");

        let linked = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), linked.path().join(PACKAGE_DIR)).unwrap();
        let err = read_package(linked.path()).unwrap_err().to_string();
        assert!(err.contains("not a link"), "{err}");
    }
}
