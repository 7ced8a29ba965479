//! Reading an add-on: from `addons/<id>/metadata/<env>/addon.yaml` in a
//! managed-tenants tree (resolving its image set and extra resources), or from
//! an add-on document another tool wrote. Every tool reads add-ons through
//! [`load_document`], so every stage can run alone on the raw tree.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;

use crate::check::field_path::{FieldPath, Segment};
use crate::check::finding::{codes, locate, Finding};
use crate::check::load_rules::{load_rules, TemplateTree};
use crate::check::schemas::schemas;
use crate::cli::error::{Error, Result};
use crate::cli::io::{Origin, Source};
use crate::model::addon::{AddonDocument, AddonMetadata, KeyOrder, DOCUMENT_SECTIONS};
use crate::model::imageset::{self, ImageSet};
use crate::text::jinja::TemplateFiles;

/// The environments of a managed-tenants tree.
pub const ENVIRONMENTS: [&str; 3] = ["integration", "stage", "production"];

/// Where an `addon.yaml` sits in a managed-tenants tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreePlace {
    /// `addons/<id>`.
    pub addon_dir: PathBuf,
    /// `integration`, `stage` or `production`.
    pub environment: String,
}

impl TreePlace {
    /// `addons/<id>/metadata/<env>/addon.yaml` gives (`addons/<id>`, `<env>`).
    pub fn of(path: &Path) -> Option<TreePlace> {
        let env_dir = path.parent()?;
        let metadata_dir = env_dir.parent()?;
        if metadata_dir.file_name()? != "metadata" {
            return None;
        }
        Some(TreePlace {
            addon_dir: metadata_dir.parent()?.to_path_buf(),
            environment: env_dir.file_name()?.to_string_lossy().into_owned(),
        })
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.addon_dir.join("metadata").join(&self.environment)
    }

    pub fn image_sets_dir(&self) -> PathBuf {
        self.addon_dir
            .join("addonimagesets")
            .join(&self.environment)
    }
}

/// Is this file the managed-tenants `addon.yaml` (where only schema fields are
/// allowed), rather than a document written by one of our tools?
fn is_metadata_file(source: &Source) -> bool {
    source
        .path()
        .and_then(|p| p.file_name())
        .is_some_and(|name| name == "addon.yaml" || name == "addon.yml")
}

/// Everything learned by reading one add-on.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub source: Source,
    /// The tree place, when the input is an `addon.yaml` in a tree.
    pub place: Option<TreePlace>,
    /// The parsed input, document sections included, and an addon.yaml's
    /// resolved image set as `imageSet`; shared with the document's key
    /// order, which is this value (not a copy of it).
    pub value: Arc<Value>,
    /// The typed document, when the value has its shape (even if findings
    /// remain: check `has_errors`).
    pub document: Option<AddonDocument>,
    /// Schema and loading findings, in input order, with lines.
    pub findings: Vec<Finding>,
    /// The document's seal matched what was read (`crate::model::seal`): it was
    /// checked in full by the stage that wrote it, so the schema and the
    /// loading rules were not run again.
    pub sealed: bool,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }
}

/// Options of [`load`].
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    /// The environment, for an `addon.yaml` outside the usual layout.
    pub environment: Option<&'a str>,
    /// The environment's image set folder, when the caller has read it
    /// already (addon-validate --all checks every image set file anyway):
    /// borrowed, as its parsed files are not copied for each add-on.
    pub image_sets: Option<&'a imageset::ImageSetFolder>,
}

/// Reads and checks one add-on: the schema, the image set and extra resource
/// files, and the [loading rules](crate::check::load_rules), which every tool runs on
/// every add-on it reads. Only unreadable or unparsable input is an `Err`;
/// everything else becomes a finding, so all of them are reported.
pub fn load(source: Source, options: &LoadOptions) -> Result<Loaded> {
    if source.text.trim().is_empty() {
        let why = match source.origin {
            Origin::Stdin => "is empty: the previous stage wrote nothing (did it fail?)",
            Origin::File(_) => "is empty",
        };
        return Err(Error::input(
            source.location(),
            format!("{why}; expected an add-on (addon.yaml or an add-on document, YAML or JSON)"),
        ));
    }
    let parsed = source.parse()?;
    if let Some(problems) = findings_report(&parsed.value) {
        return Err(Error::input(source.location(), problems));
    }
    let file = source.origin.to_string();
    let mut findings: Vec<Finding> = parsed
        .duplicate_keys
        .iter()
        .map(|dup| {
            Finding::error(
                codes::DUPLICATE_KEY,
                &file,
                format!("duplicate key `{}`", last_key(&dup.path)),
            )
            .at(&dup.path)
            .line(dup.line)
            .expected("each key once per mapping")
        })
        .collect();
    let mut place = source.path().and_then(TreePlace::of);
    if let (Some(env), Some(p)) = (options.environment, source.path()) {
        if place.is_none() {
            place = p.parent().map(|dir| TreePlace {
                addon_dir: dir.to_path_buf(),
                environment: env.to_string(),
            });
        } else if let Some(place) = &mut place {
            env.clone_into(&mut place.environment);
        }
    }
    let value = Arc::new(parsed.value);
    let python_values = crate::check::schema::PythonValues::new(&parsed.python_values);
    let Value::Object(map) = &*value else {
        findings.push(
            Finding::error(
                codes::DOCUMENT_SHAPE,
                &file,
                "the add-on must be a mapping of fields",
            )
            .expected("a YAML mapping (key: value lines)")
            .found(crate::check::schema::describe(&value)),
        );
        return Ok(Loaded {
            source,
            place,
            value,
            document: None,
            findings,
            sealed: false,
        });
    };
    let metadata_file = is_metadata_file(&source);
    // A document sealed by the stage that checked it, and not changed since,
    // is not checked again; `addon.yaml` is never a sealed document. The
    // seal covers values, not how YAML spelled them: a document with a
    // scalar only Python reads apart (a date, a binary) is checked in full.
    // A JSON line as the sealing stage wrote it is known sealed from its
    // text (one hash); anything else is asked of its value, written out
    // again (the same answer for the same value, whatever its spelling).
    let sealed = !metadata_file
        && parsed.python_values.is_empty()
        && (crate::model::seal::is_sealed_text(&source.text) == Some(true)
            || crate::model::seal::is_sealed(&value));
    // In an `addon.yaml` the section names are ordinary (unknown) fields, as
    // managed-tenants sees them; in a document they are ours.
    let section_names: &[&str] = if metadata_file {
        &[]
    } else {
        &DOCUMENT_SECTIONS
    };
    let section = |name: &str| {
        section_names
            .contains(&name)
            .then(|| map.get(name))
            .flatten()
    };
    let mut schema_findings: Vec<Finding> = Vec::new();
    if !sealed {
        schema_findings.extend(
            schemas()
                .metadata
                .validate_parsed(&value, section_names, &python_values)
                .into_iter()
                .map(|v| Finding::from_violation(&file, v)),
        );
    }
    if let Some(set) = section("imageSet").filter(|_| !sealed) {
        let prefix = FieldPath::root().key("imageSet");
        let set_python = python_values.under(&prefix);
        let violations = schemas().image_set.validate_parsed(set, &[], &set_python);
        schema_findings.extend(violations.into_iter().map(|mut v| {
            v.path = prefix.join(&v.path);
            Finding::from_violation(&file, v)
        }));
    }
    if !metadata_file {
        // catalog-build points indexImage at the registry it pushed to, which
        // need not be quay.io/osd-addons (a test registry, a mirror). In a
        // document that is worth a warning, not a refusal.
        for finding in &mut schema_findings {
            let catalog = ["indexImage", "imageSet.indexImage"].contains(&finding.path.as_str());
            if catalog && finding.code == codes::PATTERN {
                finding.severity = crate::check::finding::Severity::Warning;
                finding.message = format!(
                    "{} (managed-tenants accepts only quay.io/osd-addons catalogs)",
                    finding.message
                );
            }
        }
    }
    findings.extend(schema_findings);

    // The typed sections and metadata, whenever the value has their shape: the
    // caller decides (by its own choice of checks) whether findings matter. A
    // value the schema passes but our types refuse is a finding with serde's
    // words and path, never a silent "no document".
    let mut typed_findings = Vec::new();
    let mut image_set: Option<ImageSet> =
        section("imageSet").and_then(|v| typed(v, "imageSet", &file, &mut typed_findings));
    let mut extra_templates: Option<BTreeMap<String, String>> = section("extraResourceTemplates")
        .and_then(|v| typed(v, "extraResourceTemplates", &file, &mut typed_findings));
    let bundles = section("bundles").and_then(|v| typed(v, "bundles", &file, &mut typed_findings));
    let mut addon_folder: Option<String> =
        section("addonFolder").and_then(|v| typed(v, "addonFolder", &file, &mut typed_findings));
    let metadata: Option<AddonMetadata> = typed(&value, "", &file, &mut typed_findings);
    // The key order of an addon.yaml's resolved image set, added to the
    // value once nothing else reads it (it is then not shared, not copied).
    let mut image_set_order = None;
    let mut tree = None;
    let version = map.get("addonImageSetVersion");
    if let (Some(place), true) = (&place, image_set.is_none()) {
        if let Some(version) = version.filter(|v| !v.is_null()) {
            let resolved =
                resolve_image_set(place, version, options.image_sets, &file, &mut findings);
            if let Some((set, order)) = resolved {
                image_set_order = Some(order);
                image_set = Some(set);
            }
        }
        if let Some(Value::Array(names)) = map.get("extraResources") {
            let listed = read_extra_resources(place, names, &file, &mut findings);
            let files = Arc::new(TreeTemplates::new(place.metadata_dir(), listed.clone()));
            extra_templates = Some(listed);
            tree = Some((
                TemplateTree {
                    dir: place.metadata_dir(),
                    files: files.clone(),
                },
                files,
            ));
        }
        addon_folder = place
            .addon_dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
    }

    let mut value = value;
    if let (Some(order), Value::Object(map)) = (image_set_order, Arc::make_mut(&mut value)) {
        map.insert("imageSet".into(), order);
    }
    // The document's key order is the value read, shared.
    let key_order = Arc::clone(&value);

    // Where the schema refused the value already, serde's view of it adds
    // only noise; where it did not, serde's words are all the user gets.
    if !findings.iter().any(Finding::is_error) {
        findings.extend(typed_findings);
    }
    let mut document = metadata.map(|metadata| AddonDocument {
        addon_folder: addon_folder.filter(|folder| *folder != metadata.id),
        metadata,
        image_set,
        extra_resource_templates: extra_templates,
        bundles,
        key_order: KeyOrder::shared(key_order),
        validated: None,
    });
    if let Some(document) = &mut document {
        if !sealed {
            findings.extend(load_rules(
                &file,
                document,
                tree.as_ref().map(|(tree, _)| tree),
            ));
        }
        if let (Some((_, files)), Some(templates)) = (&tree, &mut document.extra_resource_templates)
        {
            // The files the extra resources include travel with them.
            templates.extend(files.included());
        }
    }
    locate(&mut findings, &file, &source.text);
    findings.sort_by_key(|f| (f.file != file, f.line.unwrap_or(usize::MAX)));
    Ok(Loaded {
        source,
        place,
        value,
        document,
        findings,
        sealed,
    })
}

fn last_key(path: &FieldPath) -> String {
    match path.segments().last() {
        Some(crate::check::field_path::Segment::Key(key)) => key.clone(),
        _ => path.to_string(),
    }
}

/// `value` as our type `T`; a mismatch becomes a type finding at serde's
/// path below `prefix`. The path is tracked only to report a mismatch: on
/// the way it copies every key (3% of addon-validate --all), so a value is
/// read plainly first, and again with the path only when that fails.
fn typed<T: serde::de::DeserializeOwned>(
    value: &Value,
    prefix: &str,
    file: &str,
    findings: &mut Vec<Finding>,
) -> Option<T> {
    if let Ok(read) = <T as serde::Deserialize>::deserialize(value) {
        return Some(read);
    }
    serde_path_to_error::deserialize(value)
        .map_err(|err| {
            let mut path = FieldPath::root();
            if !prefix.is_empty() {
                path.push(Segment::Key(prefix.to_string()));
            }
            for segment in err.path().iter() {
                match segment {
                    serde_path_to_error::Segment::Seq { index } => {
                        path.push(Segment::Index(*index))
                    }
                    serde_path_to_error::Segment::Map { key }
                    | serde_path_to_error::Segment::Enum { variant: key } => {
                        path.push(Segment::Key(key.clone()))
                    }
                    serde_path_to_error::Segment::Unknown => {}
                }
            }
            findings.push(
                Finding::error(
                    codes::TYPE,
                    file,
                    format!(
                        "{} (addon-flow's model of the add-on refuses it)",
                        err.inner()
                    ),
                )
                .at(&path)
                .expected("a value of the type the field holds"),
            );
        })
        .ok()
}

/// A findings report (`addon-validate -o json`) where an add-on was expected:
/// what the previous stage found, in words, instead of schema errors about
/// the report itself.
fn findings_report(value: &Value) -> Option<String> {
    let report = value.as_object()?;
    let findings = report.get("findings")?.as_array()?;
    let valid = report.get("valid")?.as_bool()?;
    let errors = report
        .get("errors")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| {
            findings
                .iter()
                .filter(|f| f.get("severity").and_then(Value::as_str) == Some("error"))
                .count() as u64
        });
    Some(if valid {
        "is a findings report (addon-validate --all -o json), not an add-on; \
         the previous stage found no errors but printed its report instead of an add-on \
         (pipe `addon-validate ADDON` into this tool)"
            .to_string()
    } else {
        format!(
            "is a findings report, not an add-on: the previous stage (addon-validate) found \
             {errors} problem(s) and printed them instead of the add-on; fix those first"
        )
    })
}

/// Finds the image set `version` selects and checks it against its schema:
/// the set, and its file's value (for its key order).
fn resolve_image_set(
    place: &TreePlace,
    version: &Value,
    preloaded: Option<&imageset::ImageSetFolder>,
    file: &str,
    findings: &mut Vec<Finding>,
) -> Option<(ImageSet, Value)> {
    let version_path = FieldPath::root().key("addonImageSetVersion");
    let version_text = match version {
        Value::String(text) => text.clone(),
        Value::Number(n) => n.to_string(),
        other => {
            findings.push(
                Finding::error(
                    codes::IMAGE_SET,
                    file,
                    "addonImageSetVersion must be 'latest' or a version",
                )
                .at(&version_path)
                .expected("'latest', a semver such as 1.0.2, or null")
                .found(crate::check::schema::describe(other)),
            );
            return None;
        }
    };
    let dir = place.image_sets_dir();
    let resolved = match preloaded.filter(|folder| folder.dir == dir) {
        Some(folder) => folder.select(&version_text),
        None => imageset::resolve(&dir, &version_text),
    };
    let resolution = match resolved {
        Ok(resolution) => resolution,
        Err(err) => {
            let (code, expected) = match &err {
                imageset::ResolveError::DuplicateVersions(_) => (
                    codes::IMAGE_SET_DUPLICATE_VERSION,
                    format!("one image set file per version in {}", dir.display()),
                ),
                _ => (
                    codes::IMAGE_SET,
                    format!("an image set in {}", dir.display()),
                ),
            };
            findings.push(
                Finding::error(code, file, err.to_string())
                    .at(&version_path)
                    .expected(expected),
            );
            return None;
        }
    };
    for skipped in &resolution.skipped {
        findings.push(Finding::warning(
            codes::IMAGE_SET_SKIPPED,
            &skipped.path,
            format!("image set file skipped: {}", skipped.reason),
        ));
    }
    let mut selected = resolution.selected;
    let set_file = selected.path.to_string_lossy().into_owned();
    // The one copy of the set: the document keeps it (the folder it was
    // picked from still checks every file).
    let value = match selected {
        Cow::Borrowed(file) => file.value.clone(),
        Cow::Owned(ref mut file) => file.value.take(),
    }
    .unwrap_or(Value::Null);
    let set_python = crate::check::schema::PythonValues::new(&selected.python_values);
    let mut set_findings: Vec<Finding> = schemas()
        .image_set
        .validate_parsed(&value, &[], &set_python)
        .into_iter()
        .map(|v| Finding::from_violation(&set_file, v))
        .collect();
    locate(&mut set_findings, &set_file, &selected.source.text);
    let valid = set_findings.is_empty();
    findings.extend(set_findings);
    if valid {
        ImageSet::deserialize(&value).ok().map(|set| (set, value))
    } else {
        None
    }
}

/// Reads each `extraResources` file from the metadata folder; a name may not
/// leave that folder, and the file must be a regular file there
/// ([`read_template_file`]).
fn read_extra_resources(
    place: &TreePlace,
    names: &[Value],
    file: &str,
    findings: &mut Vec<Finding>,
) -> BTreeMap<String, String> {
    let dir = place.metadata_dir();
    let mut templates = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let Some(name) = name.as_str() else { continue };
        let path = FieldPath::root().key("extraResources").index(i);
        let escapes = Path::new(name)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)));
        let problem = if escapes {
            Err(format!("is not a file name inside {}", dir.display()))
        } else {
            let normalized = crate::text::jinja::normalize_name(name).unwrap_or_default();
            match read_template_file(&dir, &normalized) {
                Ok(Some(text)) => Ok(text),
                Ok(None) => Err(format!("cannot be read: no such file in {}", dir.display())),
                Err(why) => Err(why),
            }
        };
        match problem {
            Ok(text) => {
                templates.insert(name.to_string(), text);
            }
            Err(why) => findings.push(
                Finding::error(
                    codes::EXTRA_RESOURCE,
                    file,
                    format!("extra resource {name:?} {why}"),
                )
                .at(&path)
                .expected(format!("a regular file {}", dir.join(name).display())),
            ),
        }
    }
    templates
}

/// The template files of an add-on in a tree: the extra resources already
/// read, and any other file of the metadata folder a template includes,
/// read (by [`read_template_file`]) when first asked for and kept, so the
/// document can carry it.
struct TreeTemplates {
    dir: PathBuf,
    listed: BTreeMap<String, String>,
    included: Mutex<BTreeMap<String, String>>,
}

impl TreeTemplates {
    fn new(dir: PathBuf, listed: BTreeMap<String, String>) -> Self {
        let listed = listed
            .into_iter()
            .filter_map(|(name, text)| Some((crate::text::jinja::normalize_name(&name)?, text)))
            .collect();
        TreeTemplates {
            dir,
            listed,
            included: Mutex::new(BTreeMap::new()),
        }
    }

    /// The files read for includes, by the names templates use.
    fn included(&self) -> BTreeMap<String, String> {
        self.included
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl TemplateFiles for TreeTemplates {
    fn read(&self, name: &str) -> std::result::Result<Option<String>, String> {
        if let Some(text) = self.listed.get(name) {
            return Ok(Some(text.clone()));
        }
        if let Some(text) = self
            .included
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(Some(text.clone()));
        }
        let text = read_template_file(&self.dir, name)?;
        if let Some(text) = &text {
            self.included
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_string(), text.clone());
        }
        Ok(text)
    }
}

/// Reads template `name` (a normalised `/`-separated path) of the metadata
/// folder `dir`, as safely as bundles are read: `Ok(None)` when there is no
/// such file; refused when a folder on the way is a symlink, when the file
/// is a symlink leading out of `dir` (a kubeconfig linked there would be
/// rendered into the SelectorSyncSet Hive sends to every cluster), or when
/// it is not a regular file (a FIFO would block the read for ever). The
/// type is checked before the file is opened, and again on the open file,
/// which is opened non-blocking and without following a link.
pub fn read_template_file(dir: &Path, name: &str) -> std::result::Result<Option<String>, String> {
    // A name without folders, the usual one, opened at once: the open does
    // not follow a link, and a regular file found so is the one the walk
    // below would have read (one `statx` fewer). Anything else, missing
    // files and links included, takes the walk, which says what it is.
    if !name.contains('/') {
        if let Some(text) = read_plain_template(&dir.join(name)) {
            return text.map(Some);
        }
    }
    let pieces: Vec<&str> = name.split('/').collect();
    let mut path = dir.to_path_buf();
    let mut last = None;
    for (i, piece) in pieces.iter().enumerate() {
        path.push(piece);
        let metadata = match std::fs::symlink_metadata(&path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(crate::cli::io::describe_io_error(&err)),
        };
        let file_type = metadata.file_type();
        if i + 1 < pieces.len() {
            if file_type.is_symlink() {
                return Err(format!(
                    "is under {}, a symlink: folders on the way to a template are never \
                     followed through a symlink",
                    path.display()
                ));
            }
            if !file_type.is_dir() {
                return Ok(None);
            }
        }
        last = Some(metadata);
    }
    // The file's own metadata, from the walk: a link is followed (and
    // checked) once, anything else is what the walk saw.
    let Some(own) = last else {
        return Ok(None);
    };
    let followed = own.file_type().is_symlink();
    let target = if followed {
        let target = path
            .canonicalize()
            .map_err(|_| "is a symlink to nothing (dangling)".to_string())?;
        let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        if !target.starts_with(&root) {
            return Err(format!(
                "is a symlink to {}, outside the add-on's metadata folder {}: refused, because its \
                 content would be rendered into the SelectorSyncSet that Hive applies to clusters \
                 (copy the file into the folder instead)",
                target.display(),
                dir.display()
            ));
        }
        target
    } else {
        path
    };
    let metadata = if followed {
        std::fs::metadata(&target).map_err(|err| crate::cli::io::describe_io_error(&err))?
    } else {
        own
    };
    if let Some(kind) = crate::cli::io::not_regular(&metadata.file_type()) {
        return Err(format!("is {kind}, not a regular file"));
    }
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(&target)
        .map_err(|err| crate::cli::io::describe_io_error(&err))?;
    let metadata = file
        .metadata()
        .map_err(|err| crate::cli::io::describe_io_error(&err))?;
    if let Some(kind) = crate::cli::io::not_regular(&metadata.file_type()) {
        return Err(format!("is {kind}, not a regular file"));
    }
    read_template_text(file, metadata.len()).map(Some)
}

/// The regular file at `path`, opened without following a link and read;
/// None when it cannot be opened so or is not a regular file.
fn read_plain_template(path: &Path) -> Option<std::result::Result<String, String>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let metadata = file.metadata().ok().filter(|m| m.file_type().is_file())?;
    Some(read_template_text(file, metadata.len()))
}

/// The text of an opened template file of `size` bytes, within the limit.
fn read_template_text(file: std::fs::File, size: u64) -> std::result::Result<String, String> {
    let limit = crate::text::jinja::MAX_TEMPLATE_BYTES;
    let bytes = crate::cli::io::read_capped(file, limit, size)
        .map_err(|err| crate::cli::io::describe_io_error(&err))?;
    if bytes.len() > limit {
        return Err(format!("is larger than {} MiB", limit >> 20));
    }
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_string())
}

/// Reads an add-on for a tool that needs a valid one: `path` is an
/// `addon.yaml` (its image set resolved from the tree) or an add-on document;
/// `None` or `-` is stdin. Any schema or loading error fails, listing them all.
pub fn load_document(path: Option<&Path>) -> Result<AddonDocument> {
    load_valid(Source::read(path)?)
}

/// [`load_document`] for input already read: the valid add-on, or an error
/// listing every problem. Warnings go to stderr.
pub fn load_valid(source: Source) -> Result<AddonDocument> {
    load_valid_at(source, None)
}

/// Where one document of a stream stands in the stream's file: its findings
/// point there (the file, lines counted from the stream's start), not at
/// the document's text on its own.
#[derive(Debug, Clone, Copy)]
pub struct StreamPlace<'a> {
    pub origin: &'a str,
    pub first_line: usize,
}

/// [`load_valid`] for a document cut out of a stream at `place`.
pub fn load_valid_at(source: Source, place: Option<StreamPlace>) -> Result<AddonDocument> {
    let origin = source.location();
    let mut loaded = load(source, &LoadOptions::default())?;
    if let Some(place) = place {
        for finding in &mut loaded.findings {
            if finding.file == origin.origin {
                finding.file = place.origin.to_string();
                finding.line = finding.line.map(|line| line + place.first_line - 1);
            }
        }
    }
    for warning in loaded.findings.iter().filter(|f| !f.is_error()) {
        crate::cli::note_line(format_args!("{warning}"));
    }
    match loaded.document {
        Some(document) if !loaded.has_errors() => Ok(document),
        _ => {
            let errors: Vec<String> = loaded
                .findings
                .iter()
                .filter(|f| f.is_error())
                .map(|f| format!("  {f}"))
                .collect();
            Err(Error::input(
                origin,
                format!(
                    "is not a valid add-on ({} problem(s); addon-validate explains each):\n{}",
                    errors.len(),
                    errors.join("\n")
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::io::Origin;

    use crate::testing::MINIMAL_ADDON_YAML as ADDON;

    fn tree(addon: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let metadata = root.path().join("addons/my-addon/metadata/stage");
        std::fs::create_dir_all(&metadata).unwrap();
        std::fs::write(metadata.join("addon.yaml"), addon).unwrap();
        for (name, text) in files {
            let path = root.path().join("addons/my-addon").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let path = metadata.join("addon.yaml");
        (root, path)
    }

    #[test]
    fn a_template_is_read_at_once_or_by_the_walk_with_the_same_answers() {
        let dir = tempfile::tempdir().unwrap();
        let root = &dir.path().join("metadata");
        std::fs::create_dir(root).unwrap();
        std::fs::write(dir.path().join("secret"), "token").unwrap();
        std::fs::write(root.join("plain.j2"), "a: {{ 1 }}").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/inner.j2"), "b").unwrap();
        std::os::unix::fs::symlink("plain.j2", root.join("inside.j2")).unwrap();
        std::os::unix::fs::symlink("../secret", root.join("outside.j2")).unwrap();
        let read = |name: &str| read_template_file(root, name);
        assert_eq!(read("plain.j2"), Ok(Some("a: {{ 1 }}".into())));
        assert_eq!(read("sub/inner.j2"), Ok(Some("b".into())));
        assert_eq!(read("missing.j2"), Ok(None));
        // Links: followed inside the folder, refused out of it.
        assert_eq!(read("inside.j2"), Ok(Some("a: {{ 1 }}".into())));
        assert!(read("outside.j2")
            .unwrap_err()
            .contains("outside the add-on's metadata folder"));
        // A folder is no template.
        assert_eq!(read("sub"), Err("is a folder, not a regular file".into()));
    }

    #[test]
    fn tree_place_comes_from_the_path() {
        let place = TreePlace::of(Path::new("mt/addons/x/metadata/stage/addon.yaml")).unwrap();
        assert_eq!(place.addon_dir, Path::new("mt/addons/x"));
        assert_eq!(place.environment, "stage");
        assert_eq!(TreePlace::of(Path::new("elsewhere/addon.yaml")), None);
    }

    #[test]
    fn resolves_the_image_set_and_extra_resources_from_the_tree() {
        let addon =
            format!("{ADDON}addonImageSetVersion: latest\nextraResources: [extra.yaml.j2]\n");
        let (_root, path) = tree(
            &addon,
            &[
                ("addonimagesets/stage/my-addon.v1.0.0.yml", "name: my-addon.v1.0.0\nindexImage: quay.io/osd-addons/my-addon-index@sha256:1\nrelatedImages: []\n"),
                ("addonimagesets/stage/my-addon.v1.1.0.yml", "name: my-addon.v1.1.0\nindexImage: quay.io/osd-addons/my-addon-index@sha256:2\nrelatedImages: []\n"),
                ("metadata/stage/extra.yaml.j2", "apiVersion: v1\nkind: ConfigMap\n"),
            ],
        );
        let document = load_document(Some(&path)).unwrap();
        assert_eq!(
            document.index_image(),
            Some("quay.io/osd-addons/my-addon-index@sha256:2")
        );
        assert_eq!(
            document.extra_resource_templates.unwrap()["extra.yaml.j2"],
            "apiVersion: v1\nkind: ConfigMap\n"
        );
    }

    fn findings_of(path: &Path) -> Vec<Finding> {
        load(Source::file(path).unwrap(), &LoadOptions::default())
            .unwrap()
            .findings
    }

    /// The one finding loading `path` gives, which must have `code`.
    fn only_finding(path: &Path, code: &str) -> Finding {
        let mut findings = findings_of(path);
        assert_eq!(findings.len(), 1, "{findings:?}");
        let finding = findings.remove(0);
        assert_eq!(finding.code, code, "{finding}");
        finding
    }

    #[test]
    fn includes_travel_in_the_document_and_render_without_the_tree() {
        let addon = format!("{ADDON}extraResources: [extra.yaml.j2]\n");
        let (_root, path) = tree(
            &addon,
            &[
                (
                    "metadata/stage/extra.yaml.j2",
                    "apiVersion: v1\nkind: ConfigMap\n{% include 'parts/data.j2' %}\n",
                ),
                (
                    "metadata/stage/parts/data.j2",
                    "data: {a: '{{ ADDON.name }}'}",
                ),
            ],
        );
        let document = load_document(Some(&path)).unwrap();
        let templates = document.extra_resource_templates.clone().unwrap();
        assert_eq!(
            templates.keys().collect::<Vec<_>>(),
            ["extra.yaml.j2", "parts/data.j2"]
        );
        // The JSON document alone renders the same: no tree needed.
        let json = serde_json::to_string(&document).unwrap();
        let again = load_valid(Source::from_text(Origin::Stdin, json)).unwrap();
        assert_eq!(again, document);
        let rendered = crate::text::jinja::render_extra_resource(
            "extra.yaml.j2",
            std::sync::Arc::new(templates),
            &again,
        )
        .unwrap();
        assert_eq!(
            rendered.text,
            "apiVersion: v1\nkind: ConfigMap\ndata: {a: 'my-addon'}"
        );
    }

    #[test]
    fn the_folder_name_is_addon_name_and_travels_when_it_is_not_the_id() {
        let root = tempfile::tempdir().unwrap();
        let metadata = root.path().join("addons/other-folder/metadata/stage");
        std::fs::create_dir_all(&metadata).unwrap();
        std::fs::write(
            metadata.join("addon.yaml"),
            format!("{ADDON}extraResources: [x.j2]\n"),
        )
        .unwrap();
        std::fs::write(
            metadata.join("x.j2"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ ADDON.name }}}\n",
        )
        .unwrap();
        let document = load_document(Some(&metadata.join("addon.yaml"))).unwrap();
        assert_eq!(document.addon_folder.as_deref(), Some("other-folder"));
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(json["addonFolder"], "other-folder");
        // A folder named after the id adds nothing to the document.
        let (_root, path) = tree(ADDON, &[]);
        let json = serde_json::to_value(load_document(Some(&path)).unwrap()).unwrap();
        assert!(json.get("addonFolder").is_none());
    }

    #[test]
    fn a_document_keeps_the_key_order_of_its_files() {
        let addon = ADDON.replace(
            "namespaceLabels: {}",
            "namespaceLabels: {zeta: a, alpha: b}",
        ) + "addonImageSetVersion: 1.0.0\n";
        let (_root, path) = tree(&addon, &[(
            "addonimagesets/stage/my-addon.v1.0.0.yml",
            "relatedImages: []\nname: my-addon.v1.0.0\nindexImage: quay.io/osd-addons/my-addon-index@sha256:1\n",
        )]);
        let document = load_document(Some(&path)).unwrap();
        let json = serde_json::to_value(&document).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys[..3], ["id", "name", "description"]);
        assert_eq!(keys.last().unwrap().as_str(), "imageSet");
        let labels: Vec<&String> = json["namespaceLabels"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(labels, ["zeta", "alpha"]);
        let set: Vec<&String> = json["imageSet"].as_object().unwrap().keys().collect();
        assert_eq!(set, ["relatedImages", "name", "indexImage"]);
        // Read back, the document keeps that order.
        let again = load_valid(Source::from_text(Origin::Stdin, json.to_string())).unwrap();
        assert_eq!(
            serde_json::to_value(&again).unwrap().to_string(),
            json.to_string()
        );
    }

    #[test]
    fn an_extra_resource_that_is_a_symlink_out_of_the_folder_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let kubeconfig = outside.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            "apiVersion: v1\nkind: Config\nusers: [{user: {token: s3cr3t}}]\n",
        )
        .unwrap();
        let addon = format!("{ADDON}extraResources: [kubeconfig.yaml, inside.yaml]\n");
        let (_root, path) = tree(
            &addon,
            &[(
                "metadata/stage/real.yaml",
                "apiVersion: v1\nkind: ConfigMap\n",
            )],
        );
        let metadata = path.parent().unwrap();
        std::os::unix::fs::symlink(&kubeconfig, metadata.join("kubeconfig.yaml")).unwrap();
        // A symlink that stays in the folder is followed, as in bundles.
        std::os::unix::fs::symlink("real.yaml", metadata.join("inside.yaml")).unwrap();
        let finding = only_finding(&path, "MT0003");
        assert!(
            finding.message.contains("is a symlink to")
                && finding
                    .message
                    .contains("outside the add-on's metadata folder"),
            "{finding}"
        );
        let err = load_document(Some(&path)).unwrap_err().to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn a_symlinked_folder_on_the_way_to_an_include_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.j2"), "token: s3cr3t").unwrap();
        let addon = format!("{ADDON}extraResources: [extra.yaml.j2]\n");
        let (_root, path) = tree(
            &addon,
            &[(
                "metadata/stage/extra.yaml.j2",
                "apiVersion: v1\nkind: ConfigMap\n{% include 'linked/secret.j2' %}\n",
            )],
        );
        let metadata = path.parent().unwrap();
        std::os::unix::fs::symlink(outside.path(), metadata.join("linked")).unwrap();
        let finding = only_finding(&path, "MT0004");
        assert!(finding.message.contains("a symlink"), "{finding}");
    }

    #[test]
    fn a_fifo_is_refused_at_once_not_read() {
        let addon = format!("{ADDON}extraResources: [pipe.yaml, linked.yaml, extra.yaml.j2]\n");
        let (root, path) = tree(
            &addon,
            &[(
                "metadata/stage/extra.yaml.j2",
                "apiVersion: v1\nkind: ConfigMap\n{% include 'pipe2.yaml' %}\n",
            )],
        );
        let metadata = root.path().join("addons/my-addon/metadata/stage");
        for fifo in ["pipe.yaml", "pipe2.yaml"] {
            let target = metadata.join(fifo);
            let status = std::process::Command::new("mkfifo")
                .arg(&target)
                .status()
                .unwrap();
            assert!(status.success());
        }
        std::os::unix::fs::symlink("pipe.yaml", metadata.join("linked.yaml")).unwrap();
        // Reading any of them would block for ever: this returns at once.
        let findings = findings_of(&path);
        let summary: Vec<(&str, bool)> = findings
            .iter()
            .map(|f| (f.code, f.message.contains("FIFO")))
            .collect();
        assert_eq!(
            summary,
            [("MT0003", true), ("MT0003", true), ("MT0004", true)],
            "{findings:?}"
        );
    }

    #[test]
    fn a_document_round_trips_through_json() {
        let (_root, path) = tree(&format!("{ADDON}addonImageSetVersion: 1.0.0\n"), &[(
            "addonimagesets/stage/my-addon.v1.0.0.yml",
            "name: my-addon.v1.0.0\nindexImage: quay.io/osd-addons/my-addon-index@sha256:1\nrelatedImages: []\n",
        )]);
        let document = load_document(Some(&path)).unwrap();
        let json = serde_json::to_string(&document).unwrap();
        let again = load(
            Source::from_text(Origin::Stdin, json),
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(again.findings.is_empty(), "{:?}", again.findings);
        assert_eq!(again.document.unwrap(), document);
    }

    /// `document` as addon-validate writes it: sealed, one JSON line.
    fn sealed_line(document: AddonDocument) -> String {
        serde_json::to_string(&crate::model::seal::seal(document)).unwrap()
    }

    fn load_text(text: &str) -> Loaded {
        load(
            Source::from_text(Origin::Stdin, text.to_string()),
            &LoadOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_sealed_document_is_not_checked_again_and_the_seal_is_over_exactly_what_is_read() {
        // A label the schema refuses, and a pull secret no secret names
        // (AM0017, a loading rule): sealed, neither is looked for. (Only a
        // stage that checked the document seals it; this one never was.)
        let unchecked = crate::testing::minimal_document(serde_json::json!({
            "label": "not a label", "pullSecretName": "missing"
        }));
        let line = sealed_line(unchecked);
        let loaded = load_text(&line);
        assert!(loaded.sealed);
        assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
        let document = loaded.document.unwrap();
        assert_eq!(document.metadata.label, "not a label");
        assert_eq!(document.validated, None, "read without its seal");

        // Without the seal the same document is checked in full: both found.
        let mut raw: Value = serde_json::from_str(&line).unwrap();
        raw.as_object_mut()
            .unwrap()
            .shift_remove(crate::model::seal::FIELD);
        let codes: Vec<&str> = load_text(&raw.to_string())
            .findings
            .iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, ["SC0003", "AM0017"]);

        // Any edit of what the seal covers: checked in full again.
        for (from, to) in [
            ("\"description\":\"d\"", "\"description\":\"e\""),
            ("\"enabled\":true", "\"enabled\":true,\"x\":1"),
            ("\"ocmQuotaCost\":0", "\"ocmQuotaCost\":0.0"),
        ] {
            assert!(line.contains(from), "{line}");
            let edited = load_text(&line.replacen(from, to, 1));
            assert!(!edited.sealed, "{to}");
            assert!(edited.has_errors(), "{to}: {:?}", edited.findings);
        }
    }

    #[test]
    fn a_sealed_document_edited_by_hand_is_refused_when_the_edit_is_invalid() {
        let line = sealed_line(crate::testing::minimal_document(serde_json::json!({})));
        assert!(load_text(&line).sealed);
        let edited = line.replacen(
            "\"installMode\":\"OwnNamespace\"",
            "\"installMode\":\"Own\"",
            1,
        );
        let err = load_valid(Source::from_text(Origin::Stdin, edited)).unwrap_err();
        assert!(err.to_string().contains("installMode"), "{err}");
        // A valid edit is checked in full and goes through.
        let edited = line.replacen("\"name\":\"My Addon\"", "\"name\":\"Ours\"", 1);
        let loaded = load_text(&edited);
        assert!(!loaded.sealed);
        assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    }

    #[test]
    fn a_sealed_yaml_document_whose_scalar_python_reads_apart_is_checked_in_full() {
        // Quoted, the name is a string; unquoted, PyYAML reads a date: the
        // same value to the seal, another document to managed-tenants.
        let sealed =
            crate::model::seal::seal(crate::testing::minimal_document(serde_json::json!({
                "name": "2020-01-01"
            })));
        let yaml = crate::cli::io::render(&sealed, crate::cli::io::Format::Yaml).unwrap();
        let quoted = yaml
            .lines()
            .find(|line| line.starts_with("name: "))
            .unwrap()
            .to_string();
        assert_ne!(quoted, "name: 2020-01-01", "{yaml}");
        assert!(load_text(&yaml).sealed, "{yaml}");
        let edited = load_text(&yaml.replacen(&quoted, "name: 2020-01-01", 1));
        assert!(!edited.sealed);
        assert!(edited.has_errors(), "{:?}", edited.findings);
    }

    #[test]
    fn a_sealed_document_in_yaml_reads_back_sealed_but_addon_yaml_has_no_seal() {
        let sealed =
            crate::model::seal::seal(crate::testing::minimal_document(serde_json::json!({
                "startingCSV": "my-addon.v1.0.0", "config": {"env": [{"name": "A", "value": "yes"}]}
            })));
        let yaml = crate::cli::io::render(&sealed, crate::cli::io::Format::Yaml).unwrap();
        assert!(yaml
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("validated: sha256:"));
        assert!(load_text(&yaml).sealed, "{yaml}");
        // In addon.yaml the field is unknown, as managed-tenants sees it.
        let (_root, path) = tree(&yaml, &[]);
        let codes: Vec<&str> = findings_of(&path).iter().map(|f| f.code).collect();
        assert_eq!(codes, ["SC0005"]);
    }

    #[test]
    fn every_problem_is_a_finding_with_a_line() {
        let broken = ADDON
            .replace("ocmQuotaCost: 0", "ocmQuotaCost: -1")
            .replace("installMode: OwnNamespace", "installMode: Own")
            + "id: again\nbundles: {}\n";
        let (_root, path) = tree(&broken, &[]);
        let loaded = load(Source::file(&path).unwrap(), &LoadOptions::default()).unwrap();
        let summary: Vec<(&str, String, Option<usize>)> = loaded
            .findings
            .iter()
            .map(|f| (f.code, f.path.clone(), f.line))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("SC0004", "installMode".to_string(), Some(10)),
                ("SC0007", "ocmQuotaCost".to_string(), Some(14)),
                ("SC0006", "id".to_string(), Some(19)),
                ("SC0005", "bundles".to_string(), Some(20)),
            ]
        );
        assert!(load_document(Some(&path))
            .unwrap_err()
            .to_string()
            .contains("4 problem(s)"));
    }

    #[test]
    fn a_missing_image_set_is_reported_at_the_version_field() {
        let (_root, path) = tree(&format!("{ADDON}addonImageSetVersion: 2.0.0\n"), &[]);
        let loaded = load(Source::file(&path).unwrap(), &LoadOptions::default()).unwrap();
        assert_eq!(loaded.findings[0].code, "MT0001");
        assert_eq!(loaded.findings[0].line, Some(19));
    }

    #[test]
    fn documents_may_point_at_other_registries() {
        let (_root, path) = tree(&format!("{ADDON}addonImageSetVersion: 1.0.0\n"), &[(
            "addonimagesets/stage/my-addon.v1.0.0.yml",
            "name: my-addon.v1.0.0\nindexImage: quay.io/osd-addons/my-addon-index@sha256:1\nrelatedImages: []\n",
        )]);
        let mut document = load_document(Some(&path)).unwrap();
        document.metadata.index_image = Some("127.0.0.1:5000/osd-addons/my-addon@sha256:2".into());
        document.image_set.as_mut().unwrap().index_image =
            "127.0.0.1:5000/osd-addons/my-addon@sha256:2".into();
        let json = serde_json::to_string(&document).unwrap();
        let loaded = load(
            Source::from_text(Origin::Stdin, json),
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(!loaded.has_errors(), "{:?}", loaded.findings);
        assert_eq!(
            loaded.findings.len(),
            2,
            "two warnings: {:?}",
            loaded.findings
        );
        // In addon.yaml itself the rule stays an error.
        let (_root, path) = tree(&format!("{ADDON}indexImage: 127.0.0.1:5000/x\n"), &[]);
        assert!(load_document(Some(&path)).is_err());
    }

    #[test]
    fn load_valid_refuses_a_document_with_schema_errors() {
        let broken = ADDON.replace("ocmQuotaCost: 0", "ocmQuotaCost: -1");
        let err = load_valid(Source::from_text(Origin::Stdin, broken)).unwrap_err();
        assert!(err.to_string().contains("ocmQuotaCost"), "{err}");
    }

    #[test]
    fn non_mappings_are_findings() {
        let loaded = load(
            Source::from_text(Origin::Stdin, "- a\n- b\n"),
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(loaded.findings[0].code, "SC0011");
    }

    #[test]
    fn a_value_the_schema_passes_but_our_types_refuse_is_a_finding_with_its_path() {
        // Draft 7 calls 1.0 an integer; our ocmQuotaCost is a u64.
        let addon = ADDON.replace("ocmQuotaCost: 0", "ocmQuotaCost: 1.0");
        let loaded = load(
            Source::from_text(Origin::Stdin, addon.clone()),
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(loaded.document.is_none());
        let finding = loaded.findings.iter().find(|f| f.is_error()).unwrap();
        assert_eq!(
            (finding.code, finding.path.as_str(), finding.line),
            ("SC0002", "ocmQuotaCost", Some(14))
        );
        assert!(finding.message.contains("expected u64"), "{finding}");
        let err = load_valid(Source::from_text(Origin::Stdin, addon)).unwrap_err();
        assert!(err.to_string().contains("1 problem(s)"), "{err}");
    }

    #[test]
    fn a_findings_report_on_stdin_says_how_many_problems_the_previous_stage_found() {
        let report =
            r#"{"valid": false, "errors": 3, "warnings": 0, "findings": [{"code": "SC0001"}]}"#;
        let err = load_valid(Source::from_text(Origin::Stdin, report)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("found 3 problem(s)"), "{text}");
        assert!(
            !text.contains("required"),
            "no schema errors about the report: {text}"
        );
        assert_eq!(err.exit_status() as u8, 1);
    }

    #[test]
    fn empty_stdin_says_the_previous_stage_wrote_nothing() {
        let err = load_valid(Source::from_text(Origin::Stdin, " \n")).unwrap_err();
        assert!(
            err.to_string().contains("the previous stage wrote nothing"),
            "{err}"
        );
        assert_eq!(err.exit_status() as u8, 1);
    }

    #[test]
    fn unknown_keys_by_the_thousand_give_capped_findings_with_lines() {
        let mut addon = ADDON.to_string();
        for i in 0..20_000 {
            addon.push_str(&format!("unknownkey{i}: 1\n"));
        }
        let loaded = load(
            Source::from_text(Origin::Stdin, addon),
            &LoadOptions::default(),
        )
        .unwrap();
        let unknown: Vec<&Finding> = loaded
            .findings
            .iter()
            .filter(|f| f.code == "SC0005")
            .collect();
        assert_eq!(
            unknown.len(),
            crate::check::schema::MAX_UNKNOWN_FIELDS_REPORTED + 1
        );
        assert!(unknown.iter().any(|f| f.message.contains("19980 more")));
        assert!(unknown
            .iter()
            .any(|f| f.path == "unknownkey19" && f.line == Some(38)));
    }
}
