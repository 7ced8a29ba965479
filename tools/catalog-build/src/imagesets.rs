//! `--imagesets-out TREE`: after a build, what the bundles pipeline proposes
//! to managed-tenants. For every add-on and environment that the bundles'
//! `main/config.yaml` lists, the image set
//! `TREE/addons/<name>/addonimagesets/<env>/<name>.v<version>.yaml` (version:
//! the bundles' `VERSION` file, else the highest main bundle; `indexImage`:
//! the pushed catalog by digest; the
//! `ocm` section of config.yaml), or, for an add-on without image sets, its
//! addon.yaml with only the `indexImage` line changed.
//!
//! Same input, same bytes; a file that already says the same is left alone
//! (its mtime too); every write is atomic and keeps the file's mode.
//!
//! Nothing is written outside TREE: the add-on names of config.yaml must be
//! add-on ids (so `../../victim` or `/etc` never become a path), and no
//! symlink under TREE is followed, folder or file: `addonimagesets/<env>`
//! linked elsewhere is refused, not written through. (TREE itself is the
//! user's choice and may be a link.)

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use common::cli::io::{atomic_write, optional_entry, EntryKind, Source};
use common::model::addon::BundlesSummary;
use common::{Error, Result};

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Created(PathBuf),
    Updated(PathBuf),
    Unchanged(PathBuf),
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Written::Created(p) => write!(f, "wrote {}", p.display()),
            Written::Updated(p) => write!(f, "updated {}", p.display()),
            Written::Unchanged(p) => write!(f, "{} already says so", p.display()),
        }
    }
}

/// The add-ons and environments of a bundles `main/config.yaml`, and the
/// `ocm` section every image set carries.
#[derive(Debug, Clone, PartialEq)]
pub struct BundlesConfig {
    pub addons: Vec<(String, Vec<String>)>,
    pub ocm: Map<String, Value>,
}

/// Reads and checks `BUNDLES/main/config.yaml` against the managed-tenants
/// bundles config schema.
pub fn read_config(bundles: &Path) -> Result<BundlesConfig> {
    let path = bundles.join("main").join("config.yaml");
    let source = Source::tree_file(&path)?;
    let value = source.parse()?.value;
    let violations = common::check::schemas::schemas()
        .bundles_config
        .validate(&value);
    if let Some(first) = violations.first() {
        return Err(Error::input(
            source.location().field(first.path.to_string()),
            format!(
                "is not a valid bundles config.yaml ({} problem(s); addon-validate explains each): {}",
                violations.len(),
                first.message
            ),
        ));
    }
    let mut addons = Vec::new();
    for (i, addon) in value["addons"].as_array().into_iter().flatten().enumerate() {
        let name = addon["name"].as_str().unwrap_or_default().to_string();
        // The name becomes TREE/addons/<name>/...: only an add-on id may.
        common::model::names::addon_id(&name).map_err(|why| {
            Error::input(
                source.location().field(format!("addons[{i}].name")),
                format!("{why}; the image sets are written to TREE/addons/<name>/"),
            )
        })?;
        let envs = addon["environments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect();
        addons.push((name, envs));
    }
    let ocm = value["ocm"].as_object().cloned().unwrap_or_default();
    Ok(BundlesConfig { addons, ocm })
}

/// The highest version among the add-on's own (main) bundles.
pub fn main_version(summary: &BundlesSummary) -> Option<semver::Version> {
    summary
        .bundles
        .iter()
        .filter(|b| b.package == summary.package)
        .filter_map(|b| semver::Version::parse(&b.version).ok())
        .max()
}

/// `BUNDLES/VERSION`, when there is one: the version the image sets are
/// named by, as managed-tenants-cli reads it (`AddonBundles.
/// _get_latest_version` in `managedtenants/bundles/addon_bundles.py`: one
/// semver, a trailing newline allowed; without the file, the highest main
/// bundle). Only a regular file is read (a FIFO would block).
fn version_file(bundles: &Path) -> Result<Option<semver::Version>> {
    let path = bundles.join("VERSION");
    if !optional_entry(
        &path,
        EntryKind::File,
        "the image set's version, like 1.2.3",
    )? {
        return Ok(None);
    }
    let source = Source::tree_file(&path)?;
    let text = source.text.trim_end();
    semver::Version::parse(text).map(Some).map_err(|err| {
        Error::in_file(
            &path,
            format!(
                "expected the version the image sets are named by, a semantic version like 1.2.3; found {text:?} ({err})"
            ),
        )
    })
}

/// The images an image set names, by digest.
#[derive(Debug, Clone, Copy)]
pub struct Images<'a> {
    pub index_image: &'a str,
    /// The package image, when the bundles have a `package/`.
    pub package_image: Option<&'a str>,
}

/// The image set file's content, keys in managed-tenants' order
/// (`packageImage` last, as mtcli adds it: `managedtenants/bundles/imageset.py`).
pub fn image_set(
    name: &str,
    version: &semver::Version,
    images: &Images<'_>,
    ocm: &Map<String, Value>,
) -> Value {
    let mut set = Map::new();
    set.insert("name".into(), Value::from(format!("{name}.v{version}")));
    set.insert("indexImage".into(), Value::from(images.index_image));
    set.insert("relatedImages".into(), Value::Array(Vec::new()));
    for (key, value) in ocm {
        set.insert(key.clone(), value.clone());
    }
    if let Some(package_image) = images.package_image {
        set.insert("packageImage".into(), Value::from(package_image));
    }
    Value::Object(set)
}

/// Where one add-on's image sets (or addon.yaml edits) go, checked before
/// anything is built: config.yaml read and its names checked, and no
/// symlink on the way to any folder that will be written.
#[derive(Debug, Clone)]
pub struct Targets {
    tree: PathBuf,
    bundles: PathBuf,
    config: BundlesConfig,
    /// What `BUNDLES/VERSION` says, when there is one.
    version: Option<semver::Version>,
}

impl Targets {
    /// Reads `BUNDLES/main/config.yaml` and checks every folder under TREE
    /// that the writes will go through.
    pub fn prepare(tree: &Path, bundles: &Path) -> Result<Targets> {
        let config = read_config(bundles)?;
        for (name, environments) in &config.addons {
            for env in environments {
                inside_tree(tree, &["addons", name, "addonimagesets", env])?;
                inside_tree(tree, &["addons", name, "metadata", env, "addon.yaml"])?;
            }
        }
        Ok(Targets {
            tree: tree.to_path_buf(),
            bundles: bundles.to_path_buf(),
            config,
            version: version_file(bundles)?,
        })
    }

    /// Writes the image sets (or addon.yaml edits) for the built add-on.
    pub fn write(&self, images: &Images<'_>, summary: &BundlesSummary) -> Result<Vec<Written>> {
        let Targets {
            tree,
            bundles,
            config,
            version,
        } = self;
        let version = version
            .clone()
            .or_else(|| main_version(summary))
            .ok_or_else(|| {
                Error::in_file(
                    bundles,
                    "has no main bundle with a semver version to name the image set by",
                )
            })?;
        let mut written = Vec::new();
        for (name, environments) in &config.addons {
            for env in environments {
                let sets_dir = inside_tree(tree, &["addons", name, "addonimagesets", env])?;
                let metadata = inside_tree(tree, &["addons", name, "metadata", env, "addon.yaml"])?;
                if sets_dir.is_dir() || !metadata.is_file() {
                    let set = image_set(name, &version, images, &config.ocm);
                    let violations = common::check::schemas::schemas().image_set.validate(&set);
                    if let Some(first) = violations.first() {
                        return Err(Error::input(
                            common::Location::of_path(&bundles.join("main/config.yaml"))
                                .field(first.path.to_string()),
                            format!(
                                "the image set for {name} ({env}) would not pass the managed-tenants schema: {}",
                                first.message
                            ),
                        ));
                    }
                    let text = common::cli::io::render(&set, common::cli::io::Format::Yaml)?;
                    let path = image_set_path(tree, name, env, &version)?;
                    written.push(write_if_changed(tree, &path, text.as_bytes())?);
                } else {
                    let source = Source::tree_file(&metadata)?;
                    let edited = set_index_image(&source.text, images.index_image);
                    written.push(write_if_changed(tree, &metadata, edited.as_bytes())?);
                }
            }
        }
        Ok(written)
    }
}

/// The image set file of `version` in `TREE/addons/<name>/addonimagesets/<env>/`.
///
/// managed-tenants-cli's image set creator writes `<name>.v<version>.yaml`
/// (`managedtenants/bundles/imageset.py`) and updates that file when it
/// exists (`imageset_creator.py`, `_update_imagesets`). So: the file already
/// there for the version, whatever its spelling (`.yaml`, the `.yml` our
/// earlier releases wrote, or any file whose `name` carries the version),
/// to be updated in place; else a new `<name>.v<version>.yaml`. Several
/// files for the version are an error, as they are when the tree is loaded
/// (MT0005).
fn image_set_path(
    tree: &Path,
    name: &str,
    env: &str,
    version: &semver::Version,
) -> Result<PathBuf> {
    let folder = ["addons", name, "addonimagesets", env];
    let dir = inside_tree(tree, &folder)?;
    let new_name = format!("{name}.v{version}.yaml");
    let mut found = std::collections::BTreeSet::new();
    if dir.is_dir() {
        let (files, _) = common::model::imageset::read_folder(&dir);
        found.extend(
            files
                .iter()
                .filter(|file| file.version().as_ref() == Some(version))
                .map(|file| file.path.clone()),
        );
        for spelling in [new_name.clone(), format!("{name}.v{version}.yml")] {
            let path = dir.join(spelling);
            if path.symlink_metadata().is_ok() {
                found.insert(path);
            }
        }
    }
    let file_name = match found.len() {
        0 => new_name,
        1 => found
            .first()
            .and_then(|path| path.file_name())
            .and_then(|name| name.to_str())
            .map(str::to_string)
            .ok_or_else(|| Error::in_file(&dir, "holds an image set whose name is not UTF-8"))?,
        n => {
            let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            return Err(Error::in_file(
                &dir,
                format!(
                    "holds {n} image set files for version {version} ({}); keep one, and --imagesets-out updates it in place",
                    names.join(", ")
                ),
            ));
        }
    };
    let mut parts = folder.to_vec();
    parts.push(&file_name);
    inside_tree(tree, &parts)
}

/// `TREE/<parts...>`, once no part that exists on the way is a symlink
/// (folders and the file alike; what does not exist yet is fine): a link
/// would have us read or write outside the tree. Each part is one plain
/// name (an add-on id, an environment, a file name).
fn inside_tree(tree: &Path, parts: &[&str]) -> Result<PathBuf> {
    let mut at = tree.to_path_buf();
    for part in parts {
        if !matches!(
            Path::new(part).components().collect::<Vec<_>>().as_slice(),
            [std::path::Component::Normal(_)]
        ) {
            return Err(Error::internal(format!(
                "{part:?} is not one name inside {}",
                tree.display()
            )));
        }
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::in_file(
                    &at,
                    format!(
                        "is a symlink; --imagesets-out never writes through one, so that nothing outside {} is changed (expected a real folder or file)",
                        tree.display()
                    ),
                ))
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(tree.join(parts.iter().collect::<PathBuf>()))
}

/// Writes `bytes` atomically unless the file already holds them; missing
/// folders between TREE and the file are made one at a time, each checked
/// first by [`inside_tree`].
fn write_if_changed(tree: &Path, path: &Path, bytes: &[u8]) -> Result<Written> {
    // A FIFO would block the read, a folder cannot be replaced.
    if optional_entry(path, EntryKind::File, "an image set or addon.yaml")? {
        let existing = std::fs::read(path)
            .map_err(|err| Error::in_file(path, common::cli::io::describe_io_error(&err)))?;
        if existing == bytes {
            return Ok(Written::Unchanged(path.to_path_buf()));
        }
        atomic_write(path, bytes)?;
        return Ok(Written::Updated(path.to_path_buf()));
    }
    make_folders(tree, path)?;
    atomic_write(path, bytes)?;
    Ok(Written::Created(path.to_path_buf()))
}

/// The folders between `tree` and `path`'s parent, made where missing;
/// never through a symlink (checked again just before each is made).
fn make_folders(tree: &Path, path: &Path) -> Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let relative = parent.strip_prefix(tree).unwrap_or(parent);
    let names: Vec<&str> = relative
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    for depth in 1..=names.len() {
        let dir = inside_tree(tree, &names[..depth])?;
        if dir.is_dir() {
            continue;
        }
        std::fs::create_dir(&dir).map_err(|err| {
            Error::in_file(
                &dir,
                format!(
                    "cannot create: {}",
                    common::cli::io::describe_io_error(&err)
                ),
            )
        })?;
    }
    Ok(())
}

/// addon.yaml with its top-level `indexImage` set to `image`, every other
/// byte kept: the line's quoting and trailing comment stay; without such a
/// line, one is added at the end.
pub fn set_index_image(text: &str, image: &str) -> String {
    let mut out = String::with_capacity(text.len() + image.len());
    let mut found = false;
    for line in text.split_inclusive('\n') {
        match (found, line.strip_prefix("indexImage:")) {
            (false, Some(rest)) => {
                found = true;
                out.push_str("indexImage:");
                out.push_str(&replace_scalar(rest, image));
            }
            _ => out.push_str(line),
        }
    }
    if !found {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("indexImage: {image}\n"));
    }
    out
}

/// ` 'old' # note\n` with the scalar replaced: same spacing, quotes and tail.
fn replace_scalar(rest: &str, image: &str) -> String {
    let (body, newline) = match rest.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (rest, ""),
    };
    let leading = &body[..body.len() - body.trim_start().len()];
    let value = body.trim_start();
    let (quote, after) = match value.chars().next() {
        Some(q @ ('\'' | '"')) => {
            let end = value[1..].find(q).map_or(value.len(), |i| i + 2);
            (Some(q), &value[end.min(value.len())..])
        }
        _ => {
            let end = value.find(" #").unwrap_or(value.len());
            let scalar = value[..end].trim_end();
            (None, &value[scalar.len()..])
        }
    };
    let leading = if leading.is_empty() { " " } else { leading };
    match quote {
        Some(q) => format!("{leading}{q}{image}{q}{after}{newline}"),
        None => format!("{leading}{image}{after}{newline}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = "quay.io/osd-addons/x@sha256:abc";

    #[test]
    fn only_the_index_image_line_changes() {
        let text = "id: x  # the id\nindexImage: 'quay.io/osd-addons/x@sha256:old'  # bumped by CI\nname: X\n";
        assert_eq!(
            set_index_image(text, IMAGE),
            "id: x  # the id\nindexImage: 'quay.io/osd-addons/x@sha256:abc'  # bumped by CI\nname: X\n"
        );
        assert_eq!(
            set_index_image("indexImage: \"a\"\n", IMAGE),
            format!("indexImage: \"{IMAGE}\"\n")
        );
        assert_eq!(
            set_index_image("indexImage: old # c\nb: 1", IMAGE),
            format!("indexImage: {IMAGE} # c\nb: 1")
        );
        assert_eq!(
            set_index_image("  indexImage: nested\n", IMAGE),
            format!("  indexImage: nested\nindexImage: {IMAGE}\n")
        );
    }

    #[test]
    fn the_image_set_is_named_by_the_highest_main_version_and_carries_the_ocm_section() {
        let mut ocm = Map::new();
        ocm.insert("pullSecretName".into(), Value::from("my-pull-secret"));
        let images = Images {
            index_image: IMAGE,
            package_image: None,
        };
        let set = image_set("x", &semver::Version::new(1, 10, 0), &images, &ocm);
        assert_eq!(set["name"], "x.v1.10.0");
        let keys: Vec<&String> = set.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["name", "indexImage", "relatedImages", "pullSecretName"]
        );
        assert!(common::check::schemas::schemas()
            .image_set
            .validate(&set)
            .is_empty());
    }
}
