//! Add-on image sets (`addons/<id>/addonimagesets/<env>/<id>.v<semver>.yaml`):
//! the catalog image and OCM settings of one add-on version, and how
//! `addonImageSetVersion` picks one.

use std::borrow::Cow;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::io::Source;
use crate::cli::listing::Folder;
use crate::model::install_settings::{
    AdditionalCatalogSource, AddonConfig, AddonParameter, AddonRequirement, SubOperator,
};

/// One image set file, field for field as managed-tenants' imageset schema.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSet {
    /// `<addon>.v<semver>`; the version is read from here, not from the file name.
    pub name: String,
    pub index_image: String,
    pub package_image: Option<String>,
    pub related_images: Vec<String>,
    pub add_on_parameters: Option<Vec<AddonParameter>>,
    pub add_on_requirements: Option<Vec<AddonRequirement>>,
    pub sub_operators: Option<Vec<SubOperator>>,
    pub config: Option<AddonConfig>,
    pub pull_secret_name: Option<String>,
    pub additional_catalog_sources: Option<Vec<AdditionalCatalogSource>>,
}

impl ImageSet {
    /// The version in the image set's name (`mock-operator.v1.0.2` is 1.0.2).
    pub fn version(&self) -> Option<semver::Version> {
        version_from_name(&self.name)
    }
}

/// The semver after the last `.v` of an image set name, as managed-tenants
/// reads it; `None` when that is not a semver.
pub fn version_from_name(name: &str) -> Option<semver::Version> {
    let text = name.rsplit(".v").next()?;
    semver::Version::parse(text).ok()
}

/// An image set file as found in the folder, parsed but not yet checked.
#[derive(Debug, Clone)]
pub struct ImageSetFile {
    pub path: PathBuf,
    pub source: Source,
    /// The parsed document; `None` when the file is not YAML.
    pub value: Option<Value>,
    /// Keys repeated in one mapping (the later value won).
    pub duplicate_keys: Vec<crate::text::yaml::DuplicateKey>,
    /// Scalars PyYAML reads as dates or infinite floats.
    pub python_values: Vec<crate::text::yaml::PythonValue>,
}

impl ImageSetFile {
    /// The version its `name` carries, if any.
    pub fn version(&self) -> Option<semver::Version> {
        self.value
            .as_ref()?
            .get("name")?
            .as_str()
            .and_then(version_from_name)
    }
}

/// Why an image set file was passed over while resolving a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedImageSet {
    pub path: PathBuf,
    pub reason: String,
}

/// What resolving `addonImageSetVersion` found.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    /// Borrowed from the folder it was picked from, owned when that folder
    /// was read only to pick it ([`resolve`]).
    pub selected: Cow<'a, ImageSetFile>,
    /// Files that could not be considered, as managed-tenants silently skips them.
    pub skipped: Vec<SkippedImageSet>,
}

/// Why no image set could be selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    NotAVersion(String),
    MissingFolder(PathBuf),
    NotFound {
        version: String,
        available: Vec<String>,
    },
    NoneValid(PathBuf),
    /// Versions that several files carry (`<id>.v1.2.0.yml` beside
    /// `<id>.v1.2.0.yaml`, say): managed-tenants loads whichever the folder
    /// happens to list last, so the tree does not say which is meant.
    DuplicateVersions(Vec<(semver::Version, Vec<PathBuf>)>),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::NotAVersion(version) => {
                write!(
                    f,
                    "addonImageSetVersion {version:?} is neither 'latest' nor a semantic version"
                )
            }
            ResolveError::MissingFolder(dir) => {
                write!(f, "image set folder {} does not exist", dir.display())
            }
            ResolveError::NotFound { version, available } => {
                write!(f, "no image set has version {version}")?;
                if available.is_empty() {
                    write!(f, " (no valid image sets found)")
                } else {
                    write!(f, " (available: {})", available.join(", "))
                }
            }
            ResolveError::NoneValid(dir) => {
                write!(f, "no valid image set found in {}", dir.display())
            }
            ResolveError::DuplicateVersions(duplicates) => {
                let each: Vec<String> = duplicates
                    .iter()
                    .map(|(version, paths)| {
                        let names: Vec<String> =
                            paths.iter().map(|p| p.display().to_string()).collect();
                        format!(
                            "{} image set files have version {version} ({})",
                            paths.len(),
                            names.join(", ")
                        )
                    })
                    .collect();
                write!(
                    f,
                    "{}; keep one file per version (which one managed-tenants loads depends on the order the folder lists them in)",
                    each.join("; ")
                )
            }
        }
    }
}

/// An image set folder (`addonimagesets/<env>/`), read and parsed once, so a
/// caller that checks every file and resolves a version reads each file once.
#[derive(Debug, Clone)]
pub struct ImageSetFolder {
    pub dir: PathBuf,
    /// The files that parsed, sorted by name.
    pub files: Vec<ImageSetFile>,
    /// The files that could not be read or parsed.
    pub unreadable: Vec<SkippedImageSet>,
}

impl ImageSetFolder {
    pub fn read(dir: &Path) -> Result<ImageSetFolder, ResolveError> {
        // Listed at once: a folder that is not there (or not a folder) is
        // told by the listing, without a look before it.
        let entries = match crate::cli::listing::list_sorted_kept(dir) {
            Ok(entries) => Some(entries),
            Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                return Err(ResolveError::MissingFolder(dir.to_path_buf()))
            }
            Err(_) => None,
        };
        let (files, unreadable) = read_entries(entries);
        Ok(ImageSetFolder {
            dir: dir.to_path_buf(),
            files,
            unreadable,
        })
    }

    /// Picks the image set for `version` (`latest` or a semver): the file whose
    /// `name` carries that version, or the highest for `latest`. Files that are
    /// not YAML, or whose name has no version, are skipped, as managed-tenants does.
    pub fn select(&self, version: &str) -> Result<Resolution<'_>, ResolveError> {
        let (selected, skipped) = self.pick(version)?;
        Ok(Resolution {
            selected: Cow::Borrowed(&self.files[selected]),
            skipped,
        })
    }

    /// [`Self::select`]: the index of the file picked, and the files skipped.
    fn pick(&self, version: &str) -> Result<(usize, Vec<SkippedImageSet>), ResolveError> {
        let wanted = parse_wanted(version)?;
        let mut skipped = self.unreadable.clone();
        let mut versioned: Vec<(semver::Version, usize)> = Vec::new();
        for (at, file) in self.files.iter().enumerate() {
            match file.version() {
                Some(v) => versioned.push((v, at)),
                None => {
                    let reason = match &file.value {
                        Some(Value::Null) => "it is empty",
                        Some(value) if value.get("name").is_none() => "it has no `name` field",
                        _ => "its `name` has no `.v<semver>` version",
                    };
                    skipped.push(SkippedImageSet {
                        path: file.path.clone(),
                        reason: reason.to_string(),
                    });
                }
            }
        }
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        versioned.sort_by(|a, b| a.0.cmp(&b.0));
        let duplicates = duplicate_versions(&versioned, &self.files);
        if !duplicates.is_empty() {
            return Err(ResolveError::DuplicateVersions(duplicates));
        }
        let selected = match &wanted {
            None => versioned
                .last()
                .map(|(_, at)| *at)
                .ok_or_else(|| ResolveError::NoneValid(self.dir.clone()))?,
            Some(wanted) => match versioned.iter().find(|(v, _)| v == wanted) {
                Some((_, at)) => *at,
                None => {
                    return Err(ResolveError::NotFound {
                        version: version.to_string(),
                        available: versioned.iter().map(|(v, _)| v.to_string()).collect(),
                    })
                }
            },
        };
        Ok((selected, skipped))
    }
}

/// The versions that more than one file carries, each with its files, from
/// files sorted by version.
fn duplicate_versions(
    versioned: &[(semver::Version, usize)],
    files: &[ImageSetFile],
) -> Vec<(semver::Version, Vec<PathBuf>)> {
    let mut duplicates: Vec<(semver::Version, Vec<PathBuf>)> = Vec::new();
    for pair in versioned.windows(2) {
        let [(version, first), (next, second)] = pair else {
            continue;
        };
        if version != next {
            continue;
        }
        let (first, second) = (&files[*first], &files[*second]);
        match duplicates.last_mut() {
            Some((seen, paths)) if seen == version => paths.push(second.path.clone()),
            _ => duplicates.push((
                version.clone(),
                vec![first.path.clone(), second.path.clone()],
            )),
        }
    }
    duplicates
}

/// `None` for `latest`, else the semver asked for.
fn parse_wanted(version: &str) -> Result<Option<semver::Version>, ResolveError> {
    match version {
        "latest" => Ok(None),
        other => semver::Version::parse(other)
            .map(Some)
            .map_err(|_| ResolveError::NotAVersion(other.to_string())),
    }
}

/// Picks the image set for `version` from the folder `dir` (see
/// [`ImageSetFolder::select`]).
pub fn resolve(dir: &Path, version: &str) -> Result<Resolution<'static>, ResolveError> {
    parse_wanted(version)?;
    let mut folder = ImageSetFolder::read(dir)?;
    let (selected, skipped) = folder.pick(version)?;
    Ok(Resolution {
        selected: Cow::Owned(folder.files.swap_remove(selected)),
        skipped,
    })
}

/// Every file of an image set folder, sorted by name, parsed where possible.
pub fn read_folder(dir: &Path) -> (Vec<ImageSetFile>, Vec<SkippedImageSet>) {
    read_entries(crate::cli::listing::list_sorted_kept(dir).ok())
}

/// [`read_folder`] of a listing (`None`: the folder could not be listed).
fn read_entries(
    listing: Option<(Folder, Vec<crate::cli::listing::Entry>)>,
) -> (Vec<ImageSetFile>, Vec<SkippedImageSet>) {
    let Some((folder, entries)) = listing else {
        return (Vec::new(), Vec::new());
    };
    let paths = entries
        .into_iter()
        .filter(|e| e.kind.is_file() || e.kind.is_symlink())
        .map(|e| e.path);
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        let parsed = Source::file_in(&folder, &path).map(|source| {
            let parsed = source.parse();
            (source, parsed)
        });
        match parsed {
            Ok((source, Ok(parsed))) => files.push(ImageSetFile {
                path,
                source,
                value: Some(parsed.value),
                duplicate_keys: parsed.duplicate_keys,
                python_values: parsed.python_values,
            }),
            Ok((_, Err(_))) => skipped.push(SkippedImageSet {
                path,
                reason: "it is not valid YAML".to_string(),
            }),
            Err(err) => skipped.push(SkippedImageSet {
                path,
                reason: err.to_string(),
            }),
        }
    }
    (files, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    const V100: &str = "name: mock.v1.0.0\nindexImage: quay.io/osd-addons/mock-index@sha256:a\nrelatedImages: []\n";
    const V102: &str = "name: mock.v1.0.2\nindexImage: quay.io/osd-addons/mock-index@sha256:c\nrelatedImages: []\n";
    const V0100: &str = "name: mock.v1.0.10\nindexImage: quay.io/osd-addons/mock-index@sha256:d\nrelatedImages: []\n";

    #[test]
    fn version_comes_from_the_name() {
        assert_eq!(
            version_from_name("mock-operator.v1.0.2"),
            Some(semver::Version::new(1, 0, 2))
        );
        assert_eq!(
            version_from_name("mock-operator-invalid-env-value.v0.0.9"),
            Some(semver::Version::new(0, 0, 9))
        );
        assert_eq!(version_from_name("no-version"), None);
    }

    #[test]
    fn latest_is_the_highest_semver_not_the_last_name() {
        let dir = folder(&[
            ("a.yml", V100),
            ("b.yml", V0100),
            ("c.yml", V102),
            ("empty.yml", ""),
            ("bad.yml", "a: ["),
        ]);
        let resolution = resolve(dir.path(), "latest").unwrap();
        assert_eq!(
            resolution.selected.version(),
            Some(semver::Version::new(1, 0, 10))
        );
        let reasons: Vec<_> = resolution
            .skipped
            .iter()
            .map(|s| s.path.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(reasons, vec!["bad.yml", "empty.yml"]);
    }

    #[test]
    fn two_files_with_one_version_are_an_error_naming_both_not_a_silent_pick() {
        // Our earlier releases wrote `.yml`; mtcli writes `.yaml`.
        let dir = folder(&[
            ("mock.v1.0.2.yml", V102),
            ("mock.v1.0.2.yaml", V102),
            ("a.yml", V100),
        ]);
        for version in ["latest", "1.0.2", "1.0.0"] {
            let err = resolve(dir.path(), version).unwrap_err();
            let ResolveError::DuplicateVersions(duplicates) = &err else {
                panic!("{version}: {err:?}");
            };
            assert_eq!(duplicates.len(), 1);
            assert_eq!(duplicates[0].0, semver::Version::new(1, 0, 2));
            let text = err.to_string();
            assert!(
                text.starts_with("2 image set files have version 1.0.2 (")
                    && text.contains("mock.v1.0.2.yml")
                    && text.contains("mock.v1.0.2.yaml"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_pinned_version_must_exist() {
        let dir = folder(&[("a.yml", V100), ("c.yml", V102)]);
        assert_eq!(
            resolve(dir.path(), "1.0.2").unwrap().selected.version(),
            Some(semver::Version::new(1, 0, 2))
        );
        let err = resolve(dir.path(), "9.9.9").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no image set has version 9.9.9 (available: 1.0.0, 1.0.2)"
        );
        assert!(matches!(
            resolve(dir.path(), "v1"),
            Err(ResolveError::NotAVersion(_))
        ));
        assert!(matches!(
            resolve(&dir.path().join("nope"), "latest"),
            Err(ResolveError::MissingFolder(_))
        ));
    }
}
