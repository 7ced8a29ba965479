//! Validation runs: one add-on (with its bundles), one image set or bundles
//! config file, or a whole managed-tenants tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::bundle::{self, BundleTree};
use common::document::{self, LoadOptions, TreePlace};
use common::finding::locate;
use common::imageset::ImageSetFolder;
use common::io::Source;
use common::schemas::schemas;
use common::{AddonDocument, Finding, Result};
use serde::Serialize;

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
}

/// The outcome of validating one add-on file.
pub struct AddonOutcome {
    pub id: Option<String>,
    /// The normalised document, when the add-on is valid.
    pub document: Option<AddonDocument>,
    pub findings: Vec<Finding>,
}

/// Validates one add-on: schema and loading rules, then the AM rules, then
/// (with bundles) the bundle rules.
pub fn validate_addon(
    source: Source,
    bundles: Option<&(BundleTree, Vec<Finding>)>,
    settings: &Settings,
) -> Result<AddonOutcome> {
    let file = source.origin.to_string();
    let options = LoadOptions {
        environment: settings.environment.clone(),
        image_sets: settings.image_sets.clone(),
    };
    let loaded = document::load(source, &options)?;
    let mut findings = loaded.findings;
    if let Some((tree, tree_findings)) = bundles {
        findings.extend(tree_findings.iter().cloned());
        if let Some(config) = &tree.config {
            findings.extend(check_bundles_config(config)?);
        }
    }
    if let Some(document) = &loaded.document {
        let subject = Subject {
            file: &file,
            document,
            bundles: bundles.map(|(tree, _)| tree),
            excluded_namespaces: &settings.excluded_namespaces,
        };
        let mut rule_findings: Vec<Finding> = RULES
            .iter()
            .filter(|(code, _)| settings.selection.is_on(code.as_str()))
            .flat_map(|(_, rule)| rule(&subject))
            .collect();
        rule_findings.extend(crate::differences::differences(&file, document));
        locate(&mut rule_findings, &file, &loaded.source.text);
        findings.extend(rule_findings);
    }
    findings.retain(|f| settings.selection.is_on(f.code));
    // Image set and bundle files first, then the add-on, each top to bottom.
    findings
        .sort_by(|a, b| (a.file == file, &a.file, a.line).cmp(&(b.file == file, &b.file, b.line)));
    let valid = !findings.iter().any(Finding::is_error);
    let id = loaded
        .value
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Ok(AddonOutcome {
        id,
        document: if valid { loaded.document } else { None },
        findings,
    })
}

/// Checks one file against a schema of ours (image set or bundles config).
pub fn check_file(source: &Source, schema: &common::schema::Schema) -> Result<Vec<Finding>> {
    let parsed = source.parse()?;
    Ok(check_parsed(
        source,
        &parsed.value,
        &parsed.duplicate_keys,
        schema,
    ))
}

/// Checks an already parsed file against a schema, with lines from its text.
fn check_parsed(
    source: &Source,
    value: &serde_json::Value,
    duplicate_keys: &[common::yaml::DuplicateKey],
    schema: &common::schema::Schema,
) -> Vec<Finding> {
    let file = source.origin.to_string();
    let mut findings: Vec<Finding> = duplicate_keys
        .iter()
        .map(|d| {
            Finding::error(
                common::finding::codes::DUPLICATE_KEY,
                &file,
                format!("duplicate key at {}", d.path),
            )
            .at(&d.path)
            .line(d.line)
        })
        .collect();
    findings.extend(
        schema
            .validate(value)
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

/// One row of the `--all` report.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
}

impl FileSummary {
    fn new(
        file: String,
        id: Option<String>,
        environment: Option<String>,
        findings: &[Finding],
    ) -> Self {
        let errors = findings.iter().filter(|f| f.is_error()).count();
        FileSummary {
            valid: errors == 0,
            warnings: findings.len() - errors,
            errors,
            file,
            id,
            environment,
        }
    }
}

/// The report rows of one add-on folder, each with its findings.
type FileRows = Vec<(FileSummary, Vec<Finding>)>;

/// One add-on folder's rows and the valid add-ons' documents.
type DirOutcome = (FileRows, Vec<AddonDocument>);

/// Everything `--all` found.
#[derive(Debug, Default)]
pub struct TreeOutcome {
    pub files: Vec<FileSummary>,
    pub findings: Vec<Finding>,
    /// The normalised document of each valid add-on, in folder order.
    pub documents: Vec<AddonDocument>,
}

/// The add-on folders of a managed-tenants tree: `DIR/addons/*` or `DIR/*`.
fn addon_dirs(root: &Path) -> Vec<PathBuf> {
    let base = if root.join("addons").is_dir() {
        root.join("addons")
    } else {
        root.to_path_buf()
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&base)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join("metadata").is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// The bundle folder of an add-on: `<bundles_root>/<id>`,
/// `<bundles_root>/addons/<id>`, or the tree's own `addons/<id>/bundles`.
fn bundles_dir(addon_dir: &Path, bundles_root: Option<&Path>) -> Option<PathBuf> {
    let id = addon_dir.file_name()?;
    let candidates = bundles_root
        .into_iter()
        .flat_map(|root| [root.join(id), root.join("addons").join(id)])
        .chain([addon_dir.join("bundles")]);
    candidates.into_iter().find(|p| p.is_dir())
}

/// Validates every add-on (each environment) and every image set of a tree,
/// on `jobs` threads; bundles are read once per add-on.
pub fn validate_tree(
    root: &Path,
    bundles_root: Option<&Path>,
    settings: &Settings,
    jobs: usize,
    only: Option<&BTreeSet<String>>,
) -> Result<TreeOutcome> {
    if !root.is_dir() {
        return Err(common::Error::in_file(root, "is not a folder; expected a managed-tenants tree (addons/<id>/metadata/<env>/addon.yaml)"));
    }
    let mut dirs = addon_dirs(root);
    if let Some(only) = only {
        dirs.retain(|dir| {
            dir.file_name()
                .is_some_and(|name| only.contains(name.to_string_lossy().as_ref()))
        });
    }
    // A worker that panics is an internal error, never add-ons silently
    // left out of the report (issue 12).
    let results: Vec<DirOutcome> = common::parallel::try_map_bounded(&dirs, jobs, |dir| {
        validate_addon_dir(dir, bundles_root, settings)
    })?;
    let mut outcome = TreeOutcome::default();
    for (rows, documents) in results {
        for (summary, findings) in rows {
            outcome.files.push(summary);
            outcome.findings.extend(findings);
        }
        outcome.documents.extend(documents);
    }
    Ok(outcome)
}

fn validate_addon_dir(dir: &Path, bundles_root: Option<&Path>, settings: &Settings) -> DirOutcome {
    let mut add_on_rows = Vec::new();
    let mut documents = Vec::new();
    let mut image_set_rows = Vec::new();
    let bundles = bundles_dir(dir, bundles_root).map(|d| bundle::load_tree(&d));
    for env in document::ENVIRONMENTS {
        if settings
            .environment
            .as_deref()
            .is_some_and(|wanted| wanted != env)
        {
            continue;
        }
        let place = TreePlace {
            addon_dir: dir.to_path_buf(),
            environment: env.to_string(),
        };
        // Read the image sets once: each is checked here, and the add-on's
        // version is resolved from the same parsed files.
        let image_sets = ImageSetFolder::read(&place.image_sets_dir()).ok();
        for set in image_sets.iter().flat_map(|folder| folder.files.iter()) {
            let findings: Vec<Finding> = check_parsed(
                &set.source,
                set.value.as_ref().unwrap_or(&serde_json::Value::Null),
                &set.duplicate_keys,
                &schemas().image_set,
            )
            .into_iter()
            .filter(|f| settings.selection.is_on(f.code))
            .collect();
            image_set_rows.push((
                FileSummary::new(
                    set.path.display().to_string(),
                    None,
                    Some(env.to_string()),
                    &findings,
                ),
                findings,
            ));
        }
        for unreadable in image_sets
            .iter()
            .flat_map(|folder| folder.unreadable.iter())
        {
            let finding = Finding::error(
                common::finding::codes::DOCUMENT_SHAPE,
                &unreadable.path,
                format!("image set {}", unreadable.reason),
            );
            let summary = FileSummary::new(
                unreadable.path.display().to_string(),
                None,
                Some(env.to_string()),
                std::slice::from_ref(&finding),
            );
            image_set_rows.push((summary, vec![finding]));
        }

        let path = place.metadata_dir().join("addon.yaml");
        if !path.is_file() {
            continue;
        }
        let file = path.display().to_string();
        let env_settings = Settings {
            environment: None,
            image_sets,
            ..settings.clone()
        };
        let outcome = Source::file(&path)
            .and_then(|source| validate_addon(source, bundles.as_ref(), &env_settings));
        let (id, findings) = match outcome {
            Ok(outcome) => {
                documents.extend(outcome.document);
                (outcome.id, outcome.findings)
            }
            Err(err) => (
                None,
                vec![Finding::error(
                    common::finding::codes::DOCUMENT_SHAPE,
                    &path,
                    err.to_string(),
                )],
            ),
        };
        add_on_rows.push((
            FileSummary::new(file, id, Some(env.to_string()), &findings),
            findings,
        ));
    }
    add_on_rows.extend(image_set_rows);
    (add_on_rows, documents)
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
