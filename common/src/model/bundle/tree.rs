//! Loading a bundle folder and a managed-tenants-bundles tree, reporting every
//! problem as a `BD` finding instead of stopping at the first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::codes;
use super::csv::{value_text, Annotations, ClusterServiceVersion};
use super::skip_range::SkipRange;
use super::{CHANNELS_ANNOTATION, PACKAGE_ANNOTATION};
use crate::check::field_path::FieldPath;
use crate::check::finding::Finding;
use crate::cli::io::Source;
use crate::cli::listing::{EntryKind, Folder};

/// One file of `manifests/`, with every YAML document it holds.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file name inside `manifests/`.
    pub name: String,
    pub bytes: Vec<u8>,
    pub objects: Vec<Value>,
}

impl Manifest {
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.objects
            .iter()
            .filter_map(|o| o.get("kind").and_then(Value::as_str))
    }
}

/// One bundle folder, read whole.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    /// The operator folder's name: `main` for the add-on's own operator.
    pub operator_dir: String,
    /// The bundle folder's name, a semver.
    pub version: semver::Version,
    pub annotations: Annotations,
    /// The raw `metadata/annotations.yaml`.
    pub annotations_bytes: Vec<u8>,
    /// Other files of `metadata/` (dependencies.yaml, properties.yaml), by name.
    pub metadata_files: BTreeMap<String, Vec<u8>>,
    pub manifests: Vec<Manifest>,
    pub csv: ClusterServiceVersion,
}

impl Bundle {
    /// `<package>.v<version>` style name of the CSV.
    pub fn csv_name(&self) -> &str {
        &self.csv.name
    }

    pub fn package(&self) -> Option<&str> {
        self.annotations.package()
    }

    /// The ClusterServiceVersion object as written.
    pub fn csv_object(&self) -> &Value {
        self.objects_of_kind("ClusterServiceVersion")
            .next()
            .unwrap_or(&Value::Null)
    }

    /// Every object of the bundle of `kind`.
    pub fn objects_of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.manifests
            .iter()
            .flat_map(|m| m.objects.iter())
            .filter(move |o| o.get("kind").and_then(Value::as_str) == Some(kind))
    }
}

/// The bundles of one operator folder, oldest first.
#[derive(Debug, Clone)]
pub struct OperatorBundles {
    /// The folder name: `main`, a dependency operator's name, or the name of
    /// the folder of a flat `<semver>/` layout.
    pub dir_name: String,
    pub bundles: Vec<Bundle>,
}

/// An add-on's bundle folder from managed-tenants-bundles.
#[derive(Debug, Clone, Default)]
pub struct BundleTree {
    pub root: PathBuf,
    /// The add-on's own operator first, then dependency operators by name.
    pub operators: Vec<OperatorBundles>,
    /// `main/config.yaml`, when present.
    pub config: Option<Source>,
}

impl BundleTree {
    /// The add-on's own operator (`main/`, or the only operator of a flat tree).
    pub fn main(&self) -> Option<&OperatorBundles> {
        self.operators.first()
    }

    pub fn all_bundles(&self) -> impl Iterator<Item = &Bundle> {
        self.operators.iter().flat_map(|o| o.bundles.iter())
    }

    /// The newest bundle of the main operator (the "head" the AM checks read).
    pub fn head(&self) -> Option<&Bundle> {
        self.main().and_then(|main| main.bundles.last())
    }
}

/// Reads an add-on bundle folder. Accepted layouts: managed-tenants-bundles
/// (`main/<semver>/`, `<operator>/<semver>/`, `main/config.yaml`), a folder of
/// `<semver>/` bundles, or a single bundle folder.
pub fn load_tree(root: &Path) -> (BundleTree, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut tree = BundleTree {
        root: root.to_path_buf(),
        ..BundleTree::default()
    };
    if !root.is_dir() {
        findings.push(
            Finding::error(
                codes::LAYOUT,
                root,
                "the bundles folder does not exist or is not a folder",
            )
            .expected("main/<semver>/ folders, or <semver>/ folders"),
        );
        return (tree, findings);
    }
    let main = root.join("main");
    // Looked at once: whether it is there, a symlink (refused) or a folder.
    if let Ok(main_kind) = main.symlink_metadata().map(|m| m.file_type()) {
        let (_, dirs) = sorted_subdirs(root, &["main", "package"], &mut findings);
        if main_kind.is_symlink() {
            findings.push(symlinked_folder(&main));
        }
        // The main operator keeps its place first even when it is refused.
        if main_kind.is_dir() {
            tree.config = load_config(root, &main.join("config.yaml"), &mut findings);
            tree.operators.push(load_operator(&main, &mut findings));
        } else {
            tree.operators.push(OperatorBundles {
                dir_name: "main".to_string(),
                bundles: Vec::new(),
            });
        }
        for dir in dirs {
            let operator = load_operator(&dir, &mut findings);
            tree.operators.push(operator);
        }
    } else if root.join("manifests").symlink_metadata().is_ok() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent_name = root
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut bundles = Vec::new();
        if let Some(bundle) = load_bundle(root, None, &parent_name, &name, &mut findings) {
            bundles.push(bundle);
        }
        tree.operators.push(OperatorBundles {
            dir_name: parent_name,
            bundles,
        });
    } else {
        let operator = load_operator(root, &mut findings);
        tree.operators.push(operator);
    }
    (tree, findings)
}

/// `main/config.yaml`, when present: a regular file, or a symlink that stays
/// inside the bundles folder, of document size.
fn load_config(root: &Path, config: &Path, findings: &mut Vec<Finding>) -> Option<Source> {
    let kind = config.symlink_metadata().ok()?.file_type();
    let bytes = match BundleRoot::new(root).read(config, Some(kind.into()), None) {
        Ok(bytes) => bytes,
        Err(message) => {
            findings.push(Finding::error(codes::UNSAFE_FILE, config, message));
            return None;
        }
    };
    match Source::from_bytes(crate::cli::io::Origin::File(config.to_path_buf()), bytes) {
        Ok(source) => Some(source),
        Err(err) => {
            findings.push(Finding::error(codes::UNSAFE_FILE, config, err.to_string()));
            None
        }
    }
}

/// The sorted listing of a bundle's `metadata/` or `manifests/`; `None`
/// when it is a symlink, reported (BD0006): folders on the way from
/// `--bundles` to a bundle's files are never followed through a symlink
/// (one could lead anywhere on the machine, and its files would end up in
/// the images). The listing itself refuses the link: no `statx` before it.
///
/// `above`, when given, is the folder holding `dir`'s parent, kept open:
/// `dir` is opened from it by its last two components (`<version>/manifests`).
fn listing_unless_symlink(
    dir: &Path,
    above: Option<&Folder>,
    findings: &mut Vec<Finding>,
) -> Option<std::io::Result<Listed>> {
    let last_two = || {
        let parent = dir.parent()?.file_name()?;
        Some(Path::new(parent).join(dir.file_name()?))
    };
    let listed = match above.zip(last_two()) {
        Some((folder, rel)) => folder.list_sorted_unless_symlink(&rel, dir),
        None => crate::cli::listing::list_sorted_unless_symlink(dir),
    };
    match listed {
        Ok(None) => {
            findings.push(symlinked_folder(dir));
            None
        }
        Ok(Some((folder, entries))) => Some(Ok(Listed {
            folder,
            entries: entries.into_iter().map(|e| (e.path, e.kind)).collect(),
        })),
        Err(err) => Some(Err(err)),
    }
}

/// A bundle's `metadata/` or `manifests/` as listed, kept open so that its
/// files are read by name ([`Folder::open`]).
struct Listed {
    folder: Folder,
    entries: Vec<(PathBuf, EntryKind)>,
}

fn symlinked_folder(path: &Path) -> Finding {
    let target = std::fs::read_link(path)
        .map(|t| format!(" (to {})", t.display()))
        .unwrap_or_default();
    Finding::error(
        codes::UNSAFE_FILE,
        path,
        format!("is a symlink{target}; folders on the way to a bundle are never followed through a symlink"),
    )
    .expected("a real folder inside the bundles folder (copy it, do not link it)")
}

/// The sub-folders of `dir` but those named in `skip`, sorted, and `dir`
/// kept open (None when it cannot be listed). A symlink to a folder is
/// reported (BD0006) and left out, never followed; other entries (files)
/// are ignored.
fn sorted_subdirs(
    dir: &Path,
    skip: &[&str],
    findings: &mut Vec<Finding>,
) -> (Option<Folder>, Vec<PathBuf>) {
    let (folder, mut dirs) = match crate::cli::listing::list_kept(dir) {
        Ok((folder, entries)) => {
            let mut dirs = Vec::new();
            let mut symlinked = Vec::new();
            for entry in entries {
                if skip.iter().any(|name| entry.file_name() == *name) {
                    continue;
                }
                if entry.kind.is_dir() {
                    dirs.push(entry.path);
                } else if entry.kind.is_symlink() && entry.path.is_dir() {
                    symlinked.push(entry.path);
                }
            }
            symlinked.sort();
            findings.extend(symlinked.iter().map(|path| symlinked_folder(path)));
            (Some(folder), dirs)
        }
        Err(err) => {
            findings.push(Finding::error(
                codes::UNSAFE_FILE,
                dir,
                format!("cannot list: {}", crate::cli::io::describe_io_error(&err)),
            ));
            (None, Vec::new())
        }
    };
    dirs.sort();
    (folder, dirs)
}

/// Reads every `<semver>/` bundle of one operator folder, oldest first.
fn load_operator(dir: &Path, findings: &mut Vec<Finding>) -> OperatorBundles {
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut bundles = Vec::new();
    let before = findings.len();
    let (folder, subdirs) = sorted_subdirs(dir, &[], findings);
    if subdirs.is_empty() && findings.len() == before {
        findings.push(
            Finding::error(codes::LAYOUT, dir, "the operator folder holds no bundle")
                .expected("at least one <semver>/ folder with manifests/ and metadata/"),
        );
    }
    for bundle_dir in subdirs {
        let version_name = bundle_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bundle = load_bundle(
            &bundle_dir,
            folder.as_ref(),
            &dir_name,
            &version_name,
            findings,
        );
        if let Some(bundle) = bundle {
            bundles.push(bundle);
        }
    }
    bundles.sort_by(|a, b| a.version.cmp(&b.version));
    OperatorBundles { dir_name, bundles }
}

/// Reads one bundle folder; `None` when it is too broken to use (the reasons
/// are in `findings`). Every check runs, so one pass reports every problem:
/// the folder's name, `metadata/`, `manifests/`, the CSV, the annotations.
/// `parent`, when given, is the folder holding `dir`, kept open: the bundle's
/// folders are opened from it.
pub fn load_bundle(
    dir: &Path,
    parent: Option<&Folder>,
    operator_dir: &str,
    version_name: &str,
    findings: &mut Vec<Finding>,
) -> Option<Bundle> {
    let before = findings.len();
    let version = parse_version_dir(dir, version_name, findings);
    let root = BundleRoot::new(dir);

    let metadata_dir = dir.join("metadata");
    let metadata_listing = listing_unless_symlink(&metadata_dir, parent, findings);
    let metadata_linked = metadata_listing.is_none();
    let annotations_path = metadata_dir.join("annotations.yaml");
    let metadata = metadata_listing.and_then(Result::ok);
    // The listing gives annotations.yaml's type, which then needs no statx.
    let annotations_kind = metadata.as_ref().and_then(|listed| {
        listed
            .entries
            .iter()
            .find(|(path, _)| *path == annotations_path)
            .map(|(_, kind)| (*kind, &listed.folder))
    });
    let (annotations, annotations_bytes) = match metadata_linked {
        true => (None, Vec::new()),
        false => load_annotations(&root, &annotations_path, annotations_kind, findings),
    };
    let metadata_files = match &metadata {
        Some(listed) => load_metadata_files(&root, listed, findings),
        None => BTreeMap::new(),
    };

    let manifests_dir = dir.join("manifests");
    let manifests_listing = listing_unless_symlink(&manifests_dir, parent, findings);
    let manifests_linked = manifests_listing.is_none();
    let manifests = match manifests_listing {
        None => Vec::new(),
        Some(listing) => load_manifests(&root, &manifests_dir, listing, findings),
    };

    let csv = find_csv(&manifests_dir, &manifests, !manifests_linked, findings);
    if let Some(csv) = &csv {
        check_csv(dir, version_name, csv, findings);
    }
    if let Some(annotations) = &annotations {
        check_annotations(&annotations_path, annotations, &annotations_bytes, findings);
    }
    if findings.len() > before
        && findings[before..].iter().any(Finding::is_error)
        && (csv.is_none() || annotations.is_none() || version.is_none())
    {
        return None;
    }
    Some(Bundle {
        dir: dir.to_path_buf(),
        operator_dir: operator_dir.to_string(),
        version: version?,
        annotations: annotations?,
        annotations_bytes,
        metadata_files,
        manifests,
        csv: csv?,
    })
}

/// The bundle folder's name as a semantic version, else a VERSION_DIR finding.
fn parse_version_dir(
    dir: &Path,
    version_name: &str,
    findings: &mut Vec<Finding>,
) -> Option<semver::Version> {
    match semver::Version::parse(version_name) {
        Ok(version) => Some(version),
        Err(err) => {
            findings.push(
                Finding::error(
                    codes::VERSION_DIR,
                    dir,
                    format!("bundle folder name {version_name:?} is not a semantic version: {err}"),
                )
                .expected("a folder named like 1.2.3"),
            );
            None
        }
    }
}

/// `metadata/annotations.yaml`: its `annotations:` mapping, and its bytes
/// (empty when it cannot be read), which the images carry as written.
fn load_annotations(
    root: &BundleRoot,
    annotations_path: &Path,
    known: Option<(EntryKind, &Folder)>,
    findings: &mut Vec<Finding>,
) -> (Option<Annotations>, Vec<u8>) {
    let (kind, folder) = known.unzip();
    let bytes = match root.read(annotations_path, kind, folder) {
        Ok(bytes) => bytes,
        Err(message) => {
            findings.push(
                Finding::error(codes::ANNOTATIONS, annotations_path, message)
                    .expected("metadata/annotations.yaml with an `annotations:` mapping"),
            );
            return (None, Vec::new());
        }
    };
    let origin = crate::cli::io::Origin::File(annotations_path.to_path_buf());
    let parsed = crate::cli::io::check_text(&origin, &bytes)
        .and_then(|text| crate::cli::io::parse_text_stream(&origin, text))
        .map(|docs| {
            docs.into_iter()
                .next()
                .map(|d| d.value)
                .unwrap_or(Value::Null)
        });
    let annotations = match parsed {
        Err(err) => {
            findings.push(Finding::error(
                codes::ANNOTATIONS,
                annotations_path,
                err.to_string(),
            ));
            None
        }
        Ok(value) => {
            match value.get("annotations").and_then(Value::as_object) {
                None => {
                    findings.push(
                    Finding::error(codes::ANNOTATIONS, annotations_path, "no `annotations:` mapping")
                        .expected("annotations: {operators.operatorframework.io.bundle.package.v1: ..., ...}"),
                );
                    None
                }
                Some(map) => Some(Annotations(
                    map.iter()
                        .map(|(k, v)| (k.clone(), value_text(v)))
                        .collect(),
                )),
            }
        }
    };
    (annotations, bytes)
}

/// The other files of `metadata/` (dependencies.yaml, properties.yaml), by
/// name, from its listing `entries`; sub-folders are ignored.
fn load_metadata_files(
    root: &BundleRoot,
    listed: &Listed,
    findings: &mut Vec<Finding>,
) -> BTreeMap<String, Vec<u8>> {
    let mut metadata_files = BTreeMap::new();
    for &(ref path, file_type) in &listed.entries {
        if file_type.is_dir() {
            continue;
        }
        let Some(name) = entry_name(path, findings) else {
            continue;
        };
        if name == "annotations.yaml" {
            continue;
        }
        match root.read(path, Some(file_type), Some(&listed.folder)) {
            Ok(bytes) => {
                metadata_files.insert(name, bytes);
            }
            Err(message) => findings.push(Finding::error(codes::UNSAFE_FILE, path, message)),
        }
    }
    metadata_files
}

/// Every file of `manifests/` with its YAML documents (empty ones left
/// out); a missing folder, an unsafe or unreadable file is a finding.
fn load_manifests(
    root: &BundleRoot,
    manifests_dir: &Path,
    listing: std::io::Result<Listed>,
    findings: &mut Vec<Finding>,
) -> Vec<Manifest> {
    let Ok(Listed { folder, entries }) = listing else {
        findings.push(
            Finding::error(
                codes::MANIFESTS,
                manifests_dir,
                "the bundle has no manifests/ folder",
            )
            .expected("manifests/ holding the ClusterServiceVersion and CRDs"),
        );
        return Vec::new();
    };
    let mut manifests = Vec::new();
    for (path, file_type) in entries {
        if file_type.is_dir() {
            continue;
        }
        let Some(name) = entry_name(&path, findings) else {
            continue;
        };
        let bytes = match root.read(&path, Some(file_type), Some(&folder)) {
            Ok(bytes) => bytes,
            Err(message) => {
                findings.push(Finding::error(codes::UNSAFE_FILE, &path, message));
                continue;
            }
        };
        let origin = crate::cli::io::Origin::File(path.clone());
        let parsed = crate::cli::io::check_text(&origin, &bytes)
            .and_then(|text| crate::cli::io::parse_text_stream(&origin, text));
        match parsed {
            Ok(docs) => manifests.push(Manifest {
                name,
                bytes,
                objects: docs
                    .into_iter()
                    .map(|d| d.value)
                    .filter(|v| !v.is_null())
                    .collect(),
            }),
            Err(err) => findings.push(Finding::error(codes::MANIFESTS, &path, err.to_string())),
        }
    }
    manifests
}

/// The one ClusterServiceVersion among the manifests, with its name
/// checked; none or several is a finding (none only when `manifests/` is a
/// folder that was read: a missing one is reported already).
fn find_csv(
    manifests_dir: &Path,
    manifests: &[Manifest],
    manifests_read: bool,
    findings: &mut Vec<Finding>,
) -> Option<ClusterServiceVersion> {
    let csv_objects: Vec<(&Manifest, &Value)> = manifests
        .iter()
        .flat_map(|m| m.objects.iter().map(move |o| (m, o)))
        .filter(|(_, o)| o.get("kind").and_then(Value::as_str) == Some("ClusterServiceVersion"))
        .collect();
    match csv_objects.as_slice() {
        [] => {
            if manifests_read && manifests_dir.is_dir() {
                findings.push(
                    Finding::error(
                        codes::MANIFESTS,
                        manifests_dir,
                        "no ClusterServiceVersion among the manifests",
                    )
                    .expected("exactly one object of kind ClusterServiceVersion"),
                );
            }
            None
        }
        [(manifest, object)] => match ClusterServiceVersion::from_value(object) {
            Ok(csv) => {
                let csv_file = manifests_dir.join(&manifest.name);
                let mark = findings.len();
                check_csv_name(&csv_file, &csv, findings);
                crate::check::finding::locate_in_bytes(
                    &mut findings[mark..],
                    &csv_file.to_string_lossy(),
                    &manifest.bytes,
                );
                Some(csv)
            }
            Err(message) => {
                findings.push(Finding::error(
                    codes::MANIFESTS,
                    manifests_dir,
                    format!("the ClusterServiceVersion cannot be read: {message}"),
                ));
                None
            }
        },
        several => {
            let files: Vec<&str> = several.iter().map(|(m, _)| m.name.as_str()).collect();
            findings.push(
                Finding::error(
                    codes::MANIFESTS,
                    manifests_dir,
                    format!(
                        "{} ClusterServiceVersions in one bundle ({})",
                        several.len(),
                        files.join(", ")
                    ),
                )
                .expected("exactly one ClusterServiceVersion per bundle"),
            );
            None
        }
    }
}

/// The channels and the annotation names, their findings placed on the
/// lines of `annotations.yaml`.
fn check_annotations(
    annotations_path: &Path,
    annotations: &Annotations,
    annotations_bytes: &[u8],
    findings: &mut Vec<Finding>,
) {
    let mark = findings.len();
    check_channels(annotations_path, annotations, findings);
    check_annotation_names(annotations_path, annotations, findings);
    crate::check::finding::locate_in_bytes(
        &mut findings[mark..],
        &annotations_path.to_string_lossy(),
        annotations_bytes,
    );
}

fn check_csv(
    dir: &Path,
    version_name: &str,
    csv: &ClusterServiceVersion,
    findings: &mut Vec<Finding>,
) {
    let manifests = dir.join("manifests");
    match csv.spec.version.as_deref() {
        None | Some("") => findings.push(
            Finding::error(
                codes::CSV_VERSION,
                &manifests,
                "the CSV has no spec.version",
            )
            .expected(format!("spec.version: {version_name}")),
        ),
        Some(version) if version.starts_with('v') => findings.push(
            Finding::error(
                codes::CSV_VERSION,
                &manifests,
                "the CSV's spec.version starts with 'v'",
            )
            .expected(version.trim_start_matches('v').to_string())
            .found(version.to_string()),
        ),
        Some(version) if semver::Version::parse(version).is_err() => findings.push(
            Finding::error(
                codes::CSV_VERSION,
                &manifests,
                "the CSV's spec.version is not a semantic version",
            )
            .expected("a version like 1.2.3")
            .found(version.to_string()),
        ),
        Some(version) if version != version_name => findings.push(
            Finding::warning(
                codes::CSV_VERSION,
                &manifests,
                "the CSV's spec.version differs from the bundle folder name",
            )
            .expected(version_name.to_string())
            .found(version.to_string()),
        ),
        Some(_) => {}
    }
    if let Some(range) = csv.skip_range() {
        if let Err(err) = SkipRange::parse(range) {
            findings.push(
                Finding::error(
                    codes::SKIP_RANGE,
                    &manifests,
                    format!("olm.skipRange {range:?} is not a semver range: {err}"),
                )
                .expected("a range such as '>=1.0.0 <1.2.0'")
                .found(range.to_string()),
            );
        }
    }
}

fn check_channels(path: &Path, annotations: &Annotations, findings: &mut Vec<Finding>) {
    let channels = annotations.channels();
    if channels.is_empty() {
        findings.push(
            Finding::error(
                codes::CHANNELS,
                path,
                format!("the bundle names no channel ({CHANNELS_ANNOTATION})"),
            )
            .expected("a comma-separated list of channels"),
        );
    }
    if annotations.package().is_none_or(str::is_empty) {
        findings.push(
            Finding::error(
                codes::ANNOTATIONS,
                path,
                format!("the bundle names no package ({PACKAGE_ANNOTATION})"),
            )
            .expected("the operator's package name"),
        );
    }
    if let Some(default) = annotations.default_channel() {
        if !channels.iter().any(|c| c == default) {
            findings.push(
                Finding::error(
                    codes::CHANNELS,
                    path,
                    format!("the default channel {default:?} is not one of the bundle's channels"),
                )
                .expected(format!("one of {}", channels.join(", ")))
                .found(default.to_string()),
            );
        }
    }
}

/// What a name that becomes a path or an image tag must be, said once for
/// every finding about one.
const OLM_NAME: &str =
    "a DNS-1123 subdomain name as OLM requires (lower case letters, digits, '-' and '.', like my-operator)";

/// The package and channel names must be valid OLM names before they are
/// used: the package names the catalog's `configs/<package>/` folder and
/// the bundle images' tags, so `../` or `/etc` in one would become a path.
fn check_annotation_names(path: &Path, annotations: &Annotations, findings: &mut Vec<Finding>) {
    let at = |key: &str| FieldPath::root().key("annotations").key(key);
    if let Some(package) = annotations.package().filter(|p| !p.is_empty()) {
        if let Err(why) = crate::model::names::dns1123_subdomain(package) {
            findings.push(
                Finding::error(
                    codes::NAME,
                    path,
                    format!("the package name {package:?} is not a valid OLM name: it {why}"),
                )
                .at(&at(PACKAGE_ANNOTATION))
                .expected(OLM_NAME)
                .found(package.to_string()),
            );
        }
    }
    for channel in annotations.channels() {
        if let Err(why) = crate::model::names::dns1123_subdomain(&channel) {
            findings.push(
                Finding::error(
                    codes::NAME,
                    path,
                    format!("the channel name {channel:?} is not a valid OLM name: it {why}"),
                )
                .at(&at(CHANNELS_ANNOTATION))
                .expected(OLM_NAME)
                .found(channel.clone()),
            );
        }
    }
}

/// The CSV's `metadata.name` names the bundle in the catalog and on the
/// cluster: a Kubernetes object name.
fn check_csv_name(file: &Path, csv: &ClusterServiceVersion, findings: &mut Vec<Finding>) {
    let at = FieldPath::root().key("metadata").key("name");
    let problem = match csv.name.as_str() {
        "" => "the CSV has no metadata.name".to_string(),
        name => match crate::model::names::dns1123_subdomain(name) {
            Ok(()) => return,
            Err(why) => format!("the CSV name {name:?} is not a valid Kubernetes name: it {why}"),
        },
    };
    findings.push(
        Finding::error(codes::NAME, file, problem)
            .at(&at)
            .expected(format!("{OLM_NAME}, like my-operator.v1.2.3"))
            .found(csv.name.clone()),
    );
}

/// A file's name as it goes into the image, or None (reported as BD0009)
/// when it cannot go in as it is: a name that is not UTF-8 would be
/// rewritten, and control characters make a tar entry no reader shows.
fn entry_name(path: &Path, findings: &mut Vec<Finding>) -> Option<String> {
    let raw = path.file_name()?;
    let problem = match raw.to_str() {
        None => "is not UTF-8",
        Some(name) if name.chars().any(char::is_control) => "holds control characters",
        Some(name) => return Some(name.to_string()),
    };
    findings.push(
        Finding::error(
            codes::NAME,
            path,
            format!("the file name {problem}; it cannot be copied into the bundle image as it is"),
        )
        .expected("a UTF-8 file name without control characters")
        .found(format!("{raw:?}")),
    );
    None
}

/// A bundle folder that files are read from; symlinks may not lead out of it.
struct BundleRoot<'a> {
    dir: &'a Path,
    /// The folder's canonical path, resolved only if a symlink needs it.
    canonical: std::cell::OnceCell<PathBuf>,
}

impl<'a> BundleRoot<'a> {
    fn new(dir: &'a Path) -> Self {
        BundleRoot {
            dir,
            canonical: std::cell::OnceCell::new(),
        }
    }

    /// Reads a regular file of sane size; a symlink must resolve inside the
    /// bundle. `file_type` is the file's kind as its folder's listing gave
    /// it (looked up when None); `folder`, that folder kept open, where a
    /// regular file is opened by name.
    fn read(
        &self,
        path: &Path,
        file_type: Option<EntryKind>,
        folder: Option<&Folder>,
    ) -> Result<Vec<u8>, String> {
        let file_type = match file_type {
            Some(t) => t,
            None => std::fs::symlink_metadata(path)
                .map_err(|err| crate::cli::io::describe_io_error(&err))?
                .file_type()
                .into(),
        };
        if file_type.is_symlink() {
            let target = path
                .canonicalize()
                .map_err(|_| "is a symlink to nothing (dangling)".to_string())?;
            let root = self.canonical.get_or_init(|| {
                self.dir
                    .canonicalize()
                    .unwrap_or_else(|_| self.dir.to_path_buf())
            });
            if !target.starts_with(root) {
                return Err(format!(
                    "is a symlink to {}, outside the bundle folder",
                    target.display()
                ));
            }
            if !target.is_file() {
                return Err("is a symlink to something that is not a regular file".to_string());
            }
        } else if !file_type.is_file() {
            return Err("is not a regular file".to_string());
        }
        let opened = match (folder, file_type.is_file(), path.file_name()) {
            (Some(folder), true, Some(name)) => folder.open(name),
            _ => std::fs::File::open(path),
        };
        let file = opened.map_err(|err| crate::cli::io::describe_io_error(&err))?;
        // Sized from the start: one read for the text and one for its end,
        // not a buffer grown read by read.
        let size = file.metadata().map_or(0, |m| m.len());
        let bytes = crate::cli::io::read_capped(file, crate::cli::io::MAX_DOCUMENT_BYTES, size)
            .map_err(|err| crate::cli::io::describe_io_error(&err))?;
        if bytes.len() > crate::cli::io::MAX_DOCUMENT_BYTES {
            return Err(format!(
                "is larger than {} MiB",
                crate::cli::io::MAX_DOCUMENT_BYTES >> 20
            ));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata:
  name: my-op.v1.0.0
  annotations:
    olm.skipRange: '>=0.0.1 <1.0.0'
spec:
  version: 1.0.0
  replaces: my-op.v0.9.0
  installModes:
  - {type: OwnNamespace, supported: true}
  - {type: AllNamespaces, supported: false}
  customresourcedefinitions:
    owned:
    - {name: things.example.com, version: v1, kind: Thing}
";
    const ANNOTATIONS: &str = "annotations:
  operators.operatorframework.io.bundle.package.v1: my-op
  operators.operatorframework.io.bundle.channels.v1: alpha,stable
  operators.operatorframework.io.bundle.channel.default.v1: alpha
";

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn reads_a_managed_tenants_bundles_tree() {
        let dir = tempfile::tempdir().unwrap();
        for version in ["1.0.0", "0.9.0"] {
            write(
                dir.path(),
                &format!("main/{version}/manifests/csv.yaml"),
                &CSV.replace("1.0.0", version),
            );
            write(
                dir.path(),
                &format!("main/{version}/metadata/annotations.yaml"),
                ANNOTATIONS,
            );
        }
        write(
            dir.path(),
            "dep-op/0.1.0/manifests/dep.clusterserviceversion.yaml",
            &CSV.replace("my-op", "dep-op").replace("1.0.0", "0.1.0"),
        );
        write(
            dir.path(),
            "dep-op/0.1.0/metadata/annotations.yaml",
            &ANNOTATIONS.replace("my-op", "dep-op"),
        );
        write(
            dir.path(),
            "main/config.yaml",
            "addons: [{name: my-addon, environments: [stage]}]\n",
        );
        let (tree, findings) = load_tree(dir.path());
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(main_versions(&tree), ["0.9.0", "1.0.0"]);
        assert_eq!(tree.operators[1].dir_name, "dep-op");
        assert_eq!(tree.head().unwrap().csv.name, "my-op.v1.0.0");
        assert_eq!(
            tree.head().unwrap().annotations.channels(),
            ["alpha", "stable"]
        );
        assert!(tree.config.is_some());
        assert_eq!(
            tree.head()
                .unwrap()
                .csv
                .spec
                .customresourcedefinitions
                .owned[0]
                .api_group(),
            "example.com"
        );
    }

    #[test]
    fn reports_each_broken_part() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "abcd/manifests/csv.yaml",
            &CSV.replace("version: 1.0.0", "version: v1.0.0"),
        );
        write(dir.path(), "abcd/metadata/annotations.yaml", "annotations:\n  operators.operatorframework.io.bundle.channels.v1: alpha\n  operators.operatorframework.io.bundle.channel.default.v1: beta\n");
        write(dir.path(), "2.0.0/manifests/a.yaml", CSV);
        write(dir.path(), "2.0.0/manifests/b.yaml", CSV);
        let (_tree, findings) = load_tree(dir.path());
        let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            ["BD0002", "BD0003", "BD0001", "BD0004", "BD0002", "BD0007"],
            "{findings:#?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_may_not_leave_the_bundle() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1.0.0/manifests/csv.yaml", CSV);
        write(dir.path(), "1.0.0/metadata/annotations.yaml", ANNOTATIONS);
        write(dir.path(), "secret.yaml", "password: hunter2\n");
        link(
            dir.path().join("secret.yaml"),
            dir.path().join("1.0.0/manifests/evil.yaml"),
        );
        let (_tree, findings) = load_tree(dir.path());
        let finding = only_finding(&findings, "BD0006");
        assert!(finding.message.contains("outside the bundle folder"));
    }

    /// A managed-tenants-bundles tree with main/1.0.0 and dep-op/0.1.0.
    fn good_tree(root: &Path) {
        write(root, "main/1.0.0/manifests/csv.yaml", CSV);
        write(root, "main/1.0.0/metadata/annotations.yaml", ANNOTATIONS);
        write(
            root,
            "dep-op/0.1.0/manifests/csv.yaml",
            &CSV.replace("my-op", "dep-op").replace("1.0.0", "0.1.0"),
        );
        write(
            root,
            "dep-op/0.1.0/metadata/annotations.yaml",
            &ANNOTATIONS.replace("my-op", "dep-op"),
        );
    }

    /// A complete bundle folder outside `root`, with a file no image may hold.
    fn outside_bundle(outside: &Path) {
        write(outside, "1.0.0/manifests/csv.yaml", CSV);
        write(outside, "1.0.0/manifests/stolen.yaml", "kind: Secret\n");
        write(outside, "1.0.0/metadata/annotations.yaml", ANNOTATIONS);
    }

    fn symlink_findings(findings: &[Finding]) -> Vec<(&str, String)> {
        findings
            .iter()
            .filter(|f| f.message.contains("is a symlink"))
            .map(|f| (f.code, f.file.clone()))
            .collect()
    }

    /// The BD0006 findings that refusing the links at `rels` below `root` makes.
    fn refused_links(root: &Path, rels: &[&str]) -> Vec<(&'static str, String)> {
        rels.iter()
            .map(|rel| ("BD0006", root.join(rel).display().to_string()))
            .collect()
    }

    /// The one finding there is, which has `code`.
    fn only_finding<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].code, code, "{findings:#?}");
        &findings[0]
    }

    /// The versions of the main operator's bundles, oldest first.
    fn main_versions(tree: &BundleTree) -> Vec<String> {
        tree.main()
            .unwrap()
            .bundles
            .iter()
            .map(|b| b.version.to_string())
            .collect()
    }

    #[cfg(unix)]
    fn link(target: impl AsRef<Path>, at: PathBuf) {
        std::os::unix::fs::symlink(target, at).unwrap();
    }

    fn no_file_from(tree: &BundleTree, name: &str) -> bool {
        tree.all_bundles()
            .all(|b| b.manifests.iter().all(|m| m.name != name))
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_main_folder_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        outside_bundle(outside.path());
        write(outside.path(), "config.yaml", "addons: []\n");
        link(outside.path(), dir.path().join("main"));
        let (tree, findings) = load_tree(dir.path());
        let main = dir.path().join("main").display().to_string();
        assert_eq!(
            symlink_findings(&findings),
            [("BD0006", main)],
            "{findings:#?}"
        );
        assert!(
            tree.all_bundles().next().is_none(),
            "nothing read through main/"
        );
        assert!(
            tree.config.is_none(),
            "main/config.yaml not read through the link"
        );
        assert_eq!(tree.operators[0].dir_name, "main");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_dependency_operator_folder_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        good_tree(dir.path());
        outside_bundle(outside.path());
        link(outside.path(), dir.path().join("evil-op"));
        let (tree, findings) = load_tree(dir.path());
        let link = dir.path().join("evil-op").display().to_string();
        assert_eq!(
            symlink_findings(&findings),
            [("BD0006", link)],
            "{findings:#?}"
        );
        assert!(no_file_from(&tree, "stolen.yaml"));
        assert_eq!(tree.all_bundles().count(), 2, "the real bundles still load");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_version_folder_is_refused_not_skipped_silently() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        good_tree(dir.path());
        outside_bundle(outside.path());
        // Both a link leaving the tree and one to a sibling version.
        link(outside.path().join("1.0.0"), dir.path().join("main/0.4.0"));
        link(dir.path().join("main/1.0.0"), dir.path().join("main/1.1.0"));
        let (tree, findings) = load_tree(dir.path());
        let expected = refused_links(dir.path(), &["main/0.4.0", "main/1.1.0"]);
        assert_eq!(symlink_findings(&findings), expected, "{findings:#?}");
        assert!(findings.iter().all(|f| f.code == "BD0006"), "{findings:#?}");
        assert!(no_file_from(&tree, "stolen.yaml"));
        assert_eq!(main_versions(&tree), ["1.0.0"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_manifests_and_metadata_folders_are_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        outside_bundle(outside.path());
        write(
            dir.path(),
            "main/1.0.0/metadata/annotations.yaml",
            ANNOTATIONS,
        );
        link(
            outside.path().join("1.0.0/manifests"),
            dir.path().join("main/1.0.0/manifests"),
        );
        write(
            dir.path(),
            "main/2.0.0/manifests/csv.yaml",
            &CSV.replace("1.0.0", "2.0.0"),
        );
        link(
            outside.path().join("1.0.0/metadata"),
            dir.path().join("main/2.0.0/metadata"),
        );
        let (tree, findings) = load_tree(dir.path());
        let expected = refused_links(dir.path(), &["main/1.0.0/manifests", "main/2.0.0/metadata"]);
        let found = symlink_findings(&findings);
        assert_eq!(found, expected, "{findings:#?}");
        assert!(tree.all_bundles().next().is_none(), "{findings:#?}");
        // A single bundle folder (no main/) whose manifests/ is a link.
        let single = tempfile::tempdir().unwrap();
        write(single.path(), "metadata/annotations.yaml", ANNOTATIONS);
        link(
            outside.path().join("1.0.0/manifests"),
            single.path().join("manifests"),
        );
        let (tree, findings) = load_tree(single.path());
        assert_eq!(symlink_findings(&findings).len(), 1, "{findings:#?}");
        assert!(tree.all_bundles().next().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_config_yaml_symlink_may_not_leave_the_bundles_folder() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        good_tree(dir.path());
        write(outside.path(), "config.yaml", "addons: []\n");
        link(
            outside.path().join("config.yaml"),
            dir.path().join("main/config.yaml"),
        );
        let (tree, findings) = load_tree(dir.path());
        let finding = only_finding(&findings, "BD0006");
        assert!(finding.message.contains("outside the bundle folder"));
        assert!(tree.config.is_none());
    }

    #[test]
    fn package_and_channel_names_that_would_become_paths_are_refused() {
        for (package, channels) in [
            ("../../../../etc/cron.d/evil", "alpha"),
            ("/etc/cron.d", "alpha"),
            ("my-op", "alpha,../../x"),
            ("My_Op", "alpha"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "1.0.0/manifests/csv.yaml", CSV);
            write(
                dir.path(),
                "1.0.0/metadata/annotations.yaml",
                &ANNOTATIONS
                    .replace("package.v1: my-op", &format!("package.v1: '{package}'"))
                    .replace(
                        "channels.v1: alpha,stable",
                        &format!("channels.v1: '{channels}'"),
                    ),
            );
            let (_tree, findings) = load_tree(dir.path());
            let names: Vec<&Finding> = findings.iter().filter(|f| f.code == "BD0009").collect();
            assert_eq!(names.len(), 1, "{package} {channels}: {findings:#?}");
            let finding = names[0];
            assert!(finding.file.ends_with("annotations.yaml"), "{finding}");
            assert!(
                finding
                    .path
                    .contains("operators.operatorframework.io.bundle."),
                "{finding}"
            );
            assert_eq!(
                finding.line,
                Some(if package == "my-op" { 3 } else { 2 }),
                "{finding}"
            );
            assert!(
                finding.expected.as_deref().unwrap().contains("DNS-1123"),
                "{finding}"
            );
        }
    }

    #[test]
    fn csv_names_must_be_kubernetes_names() {
        for name in ["../evil", ""] {
            let dir = tempfile::tempdir().unwrap();
            write(
                dir.path(),
                "1.0.0/manifests/csv.yaml",
                &CSV.replace("name: my-op.v1.0.0", &format!("name: '{name}'")),
            );
            write(dir.path(), "1.0.0/metadata/annotations.yaml", ANNOTATIONS);
            let (_tree, findings) = load_tree(dir.path());
            let finding = only_finding(&findings, "BD0009");
            assert!(finding.file.ends_with("manifests/csv.yaml"));
            assert_eq!(finding.path, "metadata.name");
            assert_eq!(finding.line, Some(4));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn non_utf8_file_names_are_refused_by_name_not_rewritten() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1.0.0/manifests/csv.yaml", CSV);
        write(dir.path(), "1.0.0/metadata/annotations.yaml", ANNOTATIONS);
        let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.yaml");
        std::fs::write(
            dir.path().join("1.0.0/manifests").join(odd),
            "kind: ConfigMap\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("1.0.0/metadata").join("new\nline.yaml"),
            "a: 1\n",
        )
        .unwrap();
        let (tree, findings) = load_tree(dir.path());
        assert_eq!(findings.len(), 2, "{findings:#?}");
        assert!(findings.iter().all(|f| f.code == "BD0009"));
        assert_eq!(findings[0].found.as_deref(), Some("\"new\\nline.yaml\""));
        assert!(findings[0].message.contains("control characters"));
        assert_eq!(findings[1].found.as_deref(), Some("\"caf\\xE9.yaml\""));
        assert!(findings[1].message.contains("not UTF-8"));
        let bundle = tree.head().unwrap();
        assert!(bundle
            .manifests
            .iter()
            .all(|m| !m.name.contains('\u{fffd}')));
        assert!(bundle.metadata_files.is_empty());
    }
}
