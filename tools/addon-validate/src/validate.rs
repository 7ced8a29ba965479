//! Validation of one add-on (with its bundles), one image set or one
//! bundles config file; `crate::tree` runs it over a whole tree.

use std::path::Path;

use common::check::finding::locate;
use common::check::schemas::schemas;
use common::cli::error::Location;
use common::cli::io::Source;
use common::model::bundle::BundleTree;
use common::model::document::{self, LoadOptions};
use common::model::imageset::ImageSetFolder;
use common::{AddonDocument, FieldPath, Finding, Result};

use crate::checks::Selection;
use crate::rules::{Subject, RULES};

/// Settings shared by every add-on of a run.
#[derive(Clone)]
pub struct Settings {
    pub selection: Selection,
    pub excluded_namespaces: Vec<String>,
    pub environment: Option<String>,
    /// The add-on's image set folder, already read (by --all).
    pub image_sets: Option<ImageSetFolder>,
    /// The name of the add-on's folder in the tree (by --all), which must be
    /// its id (CL0002).
    pub folder: Option<String>,
}

/// The outcome of validating one add-on file.
pub struct AddonOutcome {
    pub id: Option<String>,
    /// The normalised document, when the add-on is valid.
    pub document: Option<AddonDocument>,
    pub findings: Vec<Finding>,
}

/// An add-on's bundles folder as read once for all its environments: the
/// tree, its findings, and the check of its `main/config.yaml` (parsed
/// once, not once per environment).
pub struct LoadedBundles {
    pub tree: BundleTree,
    pub findings: Vec<Finding>,
    config: Result<Vec<Finding>>,
}

impl LoadedBundles {
    /// Reads the bundles folder `dir` ([`common::model::bundle::load_tree`]).
    pub fn load(dir: &Path) -> LoadedBundles {
        let (tree, findings) = common::model::bundle::load_tree(dir);
        let config = match &tree.config {
            Some(config) => check_bundles_config(config),
            None => Ok(Vec::new()),
        };
        LoadedBundles {
            tree,
            findings,
            config,
        }
    }
}

/// Validates one add-on: schema and loading rules, then the AM rules, then
/// (with bundles) the bundle rules.
pub fn validate_addon(
    source: Source,
    bundles: Option<&LoadedBundles>,
    settings: &Settings,
) -> Result<AddonOutcome> {
    let file = source.origin.to_string();
    let options = LoadOptions {
        environment: settings.environment.as_deref(),
        image_sets: settings.image_sets.as_ref(),
    };
    let loaded = document::load(source, &options)?;
    let mut findings = loaded.findings;
    if let Some(bundles) = bundles {
        findings.extend(bundles.findings.iter().cloned());
        findings.extend(bundles.config.clone()?);
    }
    let id = loaded
        .value
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let mut rule_findings: Vec<Finding> = settings
        .folder
        .as_deref()
        .zip(id.as_deref())
        .and_then(|(folder, id)| crate::loader::folder_is_id(&file, folder, id))
        .into_iter()
        .collect();
    if let Some(document) = &loaded.document {
        let subject = Subject {
            file: &file,
            document,
            bundles: bundles.map(|bundles| &bundles.tree),
            excluded_namespaces: &settings.excluded_namespaces,
        };
        rule_findings.extend(
            RULES
                .iter()
                .filter(|(code, _)| settings.selection.is_on(code.as_str()))
                .flat_map(|(_, rule)| rule(&subject)),
        );
        rule_findings.extend(crate::loader::pinned_image_set(&file, document));
        rule_findings.extend(crate::differences::differences(&file, document));
    }
    locate(&mut rule_findings, &file, &loaded.source.text);
    findings.extend(rule_findings);
    findings.retain(|f| settings.selection.is_on(f.code));
    // Image set and bundle files first, then the add-on, each top to bottom.
    findings
        .sort_by(|a, b| (a.file == file, &a.file, a.line).cmp(&(b.file == file, &b.file, b.line)));
    let valid = !findings.iter().any(Finding::is_error);
    Ok(AddonOutcome {
        id,
        document: if valid { loaded.document } else { None },
        findings,
    })
}

/// An add-on file that could not be read or parsed, as the one finding it
/// gives: `file:line: error SC0011: ...` like every other finding, in every
/// mode, with the line where a `file:line:` reader looks for it.
pub fn unreadable(at: &Location, message: &str) -> Finding {
    let mut finding = Finding::error(
        common::check::finding::codes::DOCUMENT_SHAPE,
        &at.origin,
        message,
    )
    .expected("a readable YAML or JSON add-on document");
    if let Some(field) = &at.field {
        finding = finding.at(&FieldPath::parse(field));
    }
    if let Some(line) = at.line {
        finding = finding.line(line);
    }
    finding
}

/// Checks one file against a schema of ours (image set or bundles config).
pub fn check_file(source: &Source, schema: &common::check::schema::Schema) -> Result<Vec<Finding>> {
    let parsed = source.parse()?;
    Ok(check_parsed(
        source,
        &parsed.value,
        &parsed.duplicate_keys,
        &parsed.python_values,
        schema,
    ))
}

/// Checks an already parsed file against a schema, with lines from its text.
pub fn check_parsed(
    source: &Source,
    value: &serde_json::Value,
    duplicate_keys: &[common::text::yaml::DuplicateKey],
    python_values: &[common::text::yaml::PythonValue],
    schema: &common::check::schema::Schema,
) -> Vec<Finding> {
    let file = source.origin.to_string();
    let mut findings: Vec<Finding> = duplicate_keys
        .iter()
        .map(|d| {
            Finding::error(
                common::check::finding::codes::DUPLICATE_KEY,
                &file,
                format!("duplicate key at {}", d.path),
            )
            .at(&d.path)
            .line(d.line)
        })
        .collect();
    findings.extend(
        schema
            .validate_parsed(
                value,
                &[],
                &common::check::schema::PythonValues::new(python_values),
            )
            .into_iter()
            .map(|v| Finding::from_violation(&file, v)),
    );
    locate(&mut findings, &file, &source.text);
    findings
}

pub fn check_image_set(source: &Source) -> Result<Vec<Finding>> {
    check_file(source, &schemas().image_set)
}

pub fn check_bundles_config(source: &Source) -> Result<Vec<Finding>> {
    check_file(source, &schemas().bundles_config)
}

/// What kind of managed-tenants file a path is, by where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Addon,
    /// `addonimagesets/<env>/*.yml`.
    ImageSet,
    /// `main/config.yaml` of a bundles folder.
    BundlesConfig,
}

pub fn file_kind(path: Option<&Path>) -> FileKind {
    let Some(path) = path else {
        return FileKind::Addon;
    };
    let parent_name = |levels: usize| {
        let mut p = path.parent();
        for _ in 1..levels {
            p = p.and_then(Path::parent);
        }
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
    };
    if parent_name(2).as_deref() == Some("addonimagesets") {
        FileKind::ImageSet
    } else if path.file_name().is_some_and(|n| n == "config.yaml")
        && parent_name(1).as_deref() == Some("main")
    {
        FileKind::BundlesConfig
    } else {
        FileKind::Addon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_kinds_follow_the_tree_layout() {
        assert_eq!(
            file_kind(Some(Path::new(
                "addons/x/addonimagesets/stage/x.v1.0.0.yml"
            ))),
            FileKind::ImageSet
        );
        assert_eq!(
            file_kind(Some(Path::new("bundles/x/main/config.yaml"))),
            FileKind::BundlesConfig
        );
        assert_eq!(
            file_kind(Some(Path::new("addons/x/metadata/stage/addon.yaml"))),
            FileKind::Addon
        );
        assert_eq!(file_kind(None), FileKind::Addon);
    }
}
