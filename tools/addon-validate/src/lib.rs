//! addon-validate: check an add-on the way managed-tenants does before a
//! deploy, and more: its metadata against the managed-tenants schema, the
//! loading rules (image set, extra resources, secrets), the
//! addon-metadata-operator validators (AM0001..AM0017, offline), and with
//! `--bundles` its OLM bundles. Every finding is reported with its code, file,
//! line and field. A valid add-on is printed normalised, for the next tool.

mod changed;
mod checks;
mod differences;
mod loader;
mod png;
mod rules;
mod tree;
mod validate;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use common::cli::io::{OutputArgs, Source};
use common::model::inventory::{Inventory, Scope};
use common::{Error, Finding, Result};
use serde::Serialize;

use crate::checks::Selection;
use crate::tree::{AddonFolder, AddonFolders, FileSummary, TreeOutcome};
use crate::validate::{FileKind, Settings};

#[derive(Parser, Debug)]
#[command(
    name = "addon-validate",
    version,
    about = "Check add-on metadata, image sets and bundles; print the add-on normalised",
    long_about = "Check an add-on before it is deployed: addon.yaml against the managed-tenants schema \
(types, required fields, patterns, enums, unknown and duplicate keys), the loading rules (image set, \
extra resources, secrets), the addon-metadata-operator validators AM0001..AM0017 that run offline, and \
with --bundles the OLM bundles. Every finding is reported; the add-on is printed normalised when valid.\n\n\
ADDON may be an addons/<id>/metadata/<env>/addon.yaml (its image set is resolved from the tree), an \
add-on document written by another tool, an image set file (addonimagesets/<env>/*.yml) or a bundles \
main/config.yaml; '-' or nothing reads stdin.",
    after_help = "Exit codes: 0 valid, 1 invalid (or unreadable input), 2 usage error.\n\n\
Examples:\n  addon-validate addons/my-addon/metadata/stage/addon.yaml --bundles ../bundles/my-addon\n  \
addon-validate --all managed-tenants/ -o json > report.json\n  \
addon-validate --all . --env stage --list-ids --changed-since origin/main\n  \
addon-validate addon.yaml --disable AM0004,AM0008      # skip the icon and namespace rules\n  \
addon-validate addon.yaml --enable SC                  # the schema only"
)]
struct Args {
    /// The add-on (or image set, or bundles config.yaml) to check; stdin when absent or '-'.
    addon: Option<PathBuf>,

    /// The add-on's bundle folder (main/<semver>/ and dependency operators, or <semver>/ folders).
    /// With --all: a folder holding one such folder per add-on id.
    #[arg(long, value_name = "DIR")]
    bundles: Option<PathBuf>,

    /// The environment (integration, stage, production). Read from the path when it is
    /// addons/<id>/metadata/<env>/addon.yaml; with --all, checks only that environment.
    #[arg(long, value_name = "ENV", value_parser = ["integration", "stage", "production"])]
    env: Option<String>,

    /// Check a whole managed-tenants tree: every addons/<id>/metadata/<env>/addon.yaml and every
    /// image set. Add-on folders must be named with their ids and may not be symlinks. Prints a
    /// short summary on stdout (the whole report with -o json).
    #[arg(long, value_name = "DIR", conflicts_with = "addon")]
    all: Option<PathBuf>,

    /// Run only these checks: codes or families, comma-separated (AM0004, AM, SC, MT, CL, BD).
    #[arg(long, value_name = "CODES")]
    enable: Vec<String>,

    /// Skip these checks: codes or families, comma-separated.
    #[arg(long, value_name = "CODES")]
    disable: Vec<String>,

    /// Namespaces allowed without the 'redhat-' prefix (AM0008), comma-separated.
    #[arg(long, value_name = "NAMESPACES", value_delimiter = ',')]
    excluded_namespaces: Vec<String>,

    /// With --all: print one normalised document per valid add-on as JSON
    /// lines on stdout, ending with the add-on inventory (every add-on id of
    /// the environment's tree, valid or not, and whether the stream is the
    /// whole environment or a selection), for the rest of the pipeline; the
    /// findings go to stderr. Needs --env.
    #[arg(long, requires_all = ["all", "env"])]
    documents: bool,

    /// With --all: print the ids of the selected add-ons (after
    /// --changed-since, --bundles-changed-since and --addon), one per line,
    /// and validate nothing. A folder whose name is no add-on id is never
    /// printed (it is reported, exit 1).
    #[arg(long, requires = "all", conflicts_with = "documents")]
    list_ids: bool,

    /// With --all: only the add-ons with a file changed under addons/<id>/
    /// (and, with --bundles in the same repository, under ROOT/<id>/) between
    /// the merge base of GIT_REF and HEAD and the working tree: what mtcli's
    /// `git diff GIT_REF...HEAD` selects, plus uncommitted and untracked
    /// files; a file moved from one add-on to another changes both. A ref git
    /// cannot resolve is an error (exit 2), never an empty selection.
    #[arg(long, value_name = "GIT_REF", requires = "all")]
    changed_since: Option<String>,

    /// With --all and --bundles: only the add-ons with a file changed under
    /// ROOT/<id>/, the same range as --changed-since but in the bundles' own
    /// repository (managed-tenants-bundles is another repository).
    #[arg(long, value_name = "GIT_REF", requires_all = ["all", "bundles"])]
    bundles_changed_since: Option<String>,

    /// With --all: only this add-on (its folder name, which is its id). Repeat for several.
    #[arg(long = "addon", value_name = "ID", requires = "all")]
    addons: Vec<String>,

    /// Threads for --all (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,

    /// List every check with its code and exit.
    #[arg(long)]
    list_checks: bool,

    #[command(flatten)]
    output: OutputArgs,
}

/// The command line: flags and help text, for `--help`, man pages and
/// completions. No `-v`: addon-validate sends no request to log.
pub fn uu_app() -> clap::Command {
    common::cli::offline_command::<Args>()
}

/// What the man page says beyond `--help`.
pub const MAN: common::ManPage = common::ManPage {
    summary: "check add-on metadata, image sets and OLM bundles as managed-tenants does",
    environment: &[],
    files: &[
        ("addons/ID/metadata/ENV/addon.yaml", "the add-on metadata of one environment"),
        ("addons/ID/addonimagesets/ENV/ID.vX.Y.Z.yml", "image sets, resolved by addonImageSetVersion"),
        ("BUNDLES/main/X.Y.Z/", "the add-on operator's bundles (manifests/, metadata/annotations.yaml); main/config.yaml"),
    ],
    examples: &[
        ("Validate one add-on with its bundles:", "addon-validate addons/my-addon/metadata/stage/addon.yaml --bundles bundles/addons/my-addon"),
        ("Validate a whole tree on all cores:", "addon-validate --all managed-tenants --env stage --bundles managed-tenants-bundles/addons"),
        ("The add-ons a merge request changed:", "addon-validate --all . --env stage --list-ids --changed-since origin/main"),
        ("Findings as JSON for CI:", "addon-validate addon.yaml -o json"),
    ],
};

/// Runs addon-validate on a command line (the binary's whole `main`) and returns its exit code.
pub fn uumain(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    common::cli::offline_tool_main(args, &MAN, run)
}

fn run(args: Args) -> Result<()> {
    if args.list_checks {
        return list_checks();
    }
    let settings = Settings {
        selection: Selection::new(&args.enable, &args.disable)?,
        excluded_namespaces: args.excluded_namespaces.clone(),
        environment: args.env.clone(),
        image_sets: None,
        folder: None,
    };
    if let Some(root) = &args.all {
        return run_tree(&args, root, &settings);
    }
    validate_one(&args, &settings).or_else(|err| match err {
        // An unreadable add-on is a finding like any other, in the one
        // format; CI mode (-o) still gets its report on stdout.
        Error::Input { at, message } => {
            let findings = [validate::unreadable(&at, &message)];
            print_findings(&findings);
            if let Some(format) = args.output.output {
                common::cli::io::write_document(&Report::new(&findings, None), format)?;
            }
            Err(Error::Invalid(summary(&findings, 1)))
        }
        err => Err(err),
    })
}

/// `--all TREE`: the selection, then the ids, the documents or the report.
fn run_tree(args: &Args, root: &Path, settings: &Settings) -> Result<()> {
    let narrowing = narrowing(args)?;
    let jobs = args.jobs.unwrap_or_else(common::cli::parallel::cores);
    let folders = tree::addon_folders(root, args.env.as_deref(), jobs)?;
    let only = selected_addons(args, root, &folders)?;
    if args.list_ids {
        return list_ids(&folders, only.as_ref());
    }
    let job = tree::Tree {
        folders: &folders,
        bundles_root: args.bundles.as_deref(),
        settings,
        jobs,
        only: only.as_ref(),
    };
    match (args.documents, &args.env) {
        (true, Some(environment)) => {
            let scope = match narrowing {
                Some(_) => Scope::Selection,
                None => Scope::Whole,
            };
            let header = Inventory::new(environment, scope, narrowing, Default::default());
            report_documents(&job, header)
        }
        _ => report_tree(args, tree::validate_tree(&job)?),
    }
}

/// How the command line narrows the tree (`--changed-since origin/main
/// --addon a`), for the inventory; None for the whole environment.
fn narrowing(args: &Args) -> Result<Option<String>> {
    changed::check_ref("--changed-since", args.changed_since.as_deref())?;
    changed::check_ref(
        "--bundles-changed-since",
        args.bundles_changed_since.as_deref(),
    )?;
    for id in &args.addons {
        common::model::names::addon_id(id)
            .map_err(|why| Error::usage(format!("--addon: {why}")))?;
    }
    let mut parts: Vec<String> = Vec::new();
    if let Some(reference) = &args.changed_since {
        parts.push(format!("--changed-since {reference}"));
    }
    if let Some(reference) = &args.bundles_changed_since {
        parts.push(format!("--bundles-changed-since {reference}"));
    }
    parts.extend(args.addons.iter().map(|id| format!("--addon {id}")));
    Ok((!parts.is_empty()).then(|| parts.join(" ")))
}

/// Validates the one add-on, image set or bundles config named on the command line.
fn validate_one(args: &Args, settings: &Settings) -> Result<()> {
    let source = Source::read(args.addon.as_deref())?;
    match validate::file_kind(source.path()) {
        FileKind::ImageSet => report_file(args, &source, validate::check_image_set(&source)?),
        FileKind::BundlesConfig => {
            report_file(args, &source, validate::check_bundles_config(&source)?)
        }
        FileKind::Addon => {
            if let (Some(wanted), Some(place)) = (
                &args.env,
                source
                    .path()
                    .and_then(common::model::document::TreePlace::of),
            ) {
                if &place.environment != wanted {
                    return Err(Error::usage(format!(
                        "--env {wanted} contradicts the path, which is in the {} environment",
                        place.environment
                    )));
                }
            }
            let bundles = args.bundles.as_deref().map(validate::LoadedBundles::load);
            let input_format = source.format();
            let outcome = validate::validate_addon(source, bundles.as_ref(), settings)?;
            print_findings(&outcome.findings);
            match &outcome.document {
                Some(document) => {
                    common::cli::io::write_document(document, args.output.format(input_format))
                }
                None => {
                    if let Some(format) = args.output.output {
                        common::cli::io::write_document(
                            &Report::new(&outcome.findings, None),
                            format,
                        )?;
                    }
                    Err(Error::Invalid(summary(&outcome.findings, 1)))
                }
            }
        }
    }
}

/// The findings report: what `-o json` prints for CI.
#[serde_with::skip_serializing_none]
#[derive(Serialize)]
struct Report<'a> {
    valid: bool,
    errors: usize,
    warnings: usize,
    files: Option<&'a [FileSummary]>,
    findings: &'a [Finding],
}

impl<'a> Report<'a> {
    fn new(findings: &'a [Finding], files: Option<&'a [FileSummary]>) -> Self {
        let errors = findings.iter().filter(|f| f.is_error()).count();
        Report {
            valid: errors == 0,
            errors,
            warnings: findings.len() - errors,
            files,
            findings,
        }
    }
}

fn print_findings(findings: &[Finding]) {
    common::cli::report::findings(findings);
    let mut stderr = String::new();
    for finding in findings {
        stderr.push_str(&finding.to_string());
        stderr.push('\n');
    }
    common::cli::error::write_stderr(&stderr);
}

fn summary(findings: &[Finding], files: usize) -> String {
    let errors = findings.iter().filter(|f| f.is_error()).count();
    counts(errors, findings.len() - errors, files)
}

/// `1 error(s), 0 warning(s)`, with ` in N files` when N is not 1.
fn counts(errors: usize, warnings: usize, files: usize) -> String {
    let in_files = if files == 1 {
        String::new()
    } else {
        format!(" in {files} files")
    };
    format!("{errors} error(s), {warnings} warning(s){in_files}")
}

/// Reports a single image set or bundles config file.
fn report_file(args: &Args, source: &Source, findings: Vec<Finding>) -> Result<()> {
    print_findings(&findings);
    if findings.iter().any(Finding::is_error) {
        if let Some(format) = args.output.output {
            common::cli::io::write_document(&Report::new(&findings, None), format)?;
        }
        return Err(Error::Invalid(summary(&findings, 1)));
    }
    let value = source.parse()?.value;
    common::cli::io::write_document(&value, args.output.format(source.format()))
}

/// `--all` without `--documents`: the findings on stderr; on stdout the
/// full report with `-o json|yaml`, else a short summary (a CI log shows it
/// whole): the counts, and one line per invalid file.
fn report_tree(args: &Args, outcome: TreeOutcome) -> Result<()> {
    print_findings(&outcome.findings);
    let report = Report::new(&outcome.findings, Some(&outcome.files));
    match args.output.output {
        Some(format) => common::cli::io::write_document(&report, format)?,
        None => common::cli::io::write_stdout(&tree_summary(&outcome))?,
    }
    let line = format!(
        "{} file(s) checked: {}",
        outcome.files.len(),
        summary(&outcome.findings, 1)
    );
    if report.valid {
        common::cli::note_line(format_args!("{line}"));
        Ok(())
    } else {
        Err(Error::Invalid(line))
    }
}

/// `9 file(s) checked: 1 invalid, 1 error(s), 0 warning(s)`, then
/// `invalid: my-addon (stage): 1 error(s), 0 warning(s) in FILE` per file.
fn tree_summary(outcome: &TreeOutcome) -> String {
    let invalid: Vec<&FileSummary> = outcome.files.iter().filter(|f| !f.valid).collect();
    let mut out = format!(
        "{} file(s) checked: {} invalid, {}\n",
        outcome.files.len(),
        invalid.len(),
        summary(&outcome.findings, 1)
    );
    for file in invalid {
        let environment = file
            .environment
            .as_deref()
            .map(|env| format!(" ({env})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "invalid: {}{environment}: {} error(s), {} warning(s) in {}\n",
            file.folder, file.errors, file.warnings, file.file
        ));
    }
    out
}

/// The add-ons `--addon`, `--changed-since` and `--bundles-changed-since`
/// pick (with both kinds: those of the named ones that changed); None when
/// none is given. A named add-on the tree lacks is a usage error: a typo
/// would otherwise select nothing and pass.
fn selected_addons(
    args: &Args,
    root: &Path,
    folders: &AddonFolders,
) -> Result<Option<BTreeSet<String>>> {
    for id in &args.addons {
        if !folders.iter().any(|folder| folder.name == id) {
            return Err(Error::usage(format!(
                "--addon {id}: {} has no add-on folder addons/{id}/ with an addon.yaml{}",
                root.display(),
                args.env
                    .as_deref()
                    .map(|env| format!(" for {env}"))
                    .unwrap_or_default()
            )));
        }
    }
    let named: Option<BTreeSet<String>> =
        (!args.addons.is_empty()).then(|| args.addons.iter().cloned().collect());
    let since = changed::Since {
        tree: args.changed_since.as_deref(),
        bundles_root: args.bundles.as_deref(),
        bundles: args.bundles_changed_since.as_deref(),
    };
    if !since.is_given() {
        return Ok(named);
    }
    let changed = changed::changed_addons(&tree::addons_base(root), &since)?;
    common::cli::note_line(format_args!(
        "addon-validate: {} add-on folder(s) changed",
        changed.len()
    ));
    Ok(Some(match named {
        Some(named) => named.intersection(&changed).cloned().collect(),
        None => changed,
    }))
}

/// `--list-ids`: the selected add-ons' ids, one per line, nothing validated.
/// A refused folder (CL0002, CL0003) is reported and left out: its name never
/// reaches the Makefile that reads this list.
fn list_ids(folders: &AddonFolders, only: Option<&BTreeSet<String>>) -> Result<()> {
    let selected = || {
        folders
            .iter()
            .filter(|folder| only.is_none_or(|only| only.contains(folder.name)))
    };
    // Written as they are listed: no text of the fleet's ids first.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = selected()
        .filter(|folder| folder.refusals.is_empty())
        .try_for_each(|folder| writeln!(out, "{}", folder.name))
        .and_then(|()| out.flush());
    common::cli::io::stdout_result(written)?;
    let refused: Vec<AddonFolder> = selected()
        .filter(|folder| !folder.refusals.is_empty())
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    let findings: Vec<Finding> = refused
        .iter()
        .flat_map(|folder| folder.refusals.iter().cloned())
        .collect();
    print_findings(&findings);
    Err(Error::Invalid(format!(
        "{} add-on folder(s) refused and not listed",
        refused.len()
    )))
}

/// `--documents`: the valid add-ons as JSON lines on stdout, then the
/// inventory (`header` with every add-on id of the tree and the failed
/// ones); the findings and the summary on stderr. Each folder's findings
/// and documents are written as soon as it and those before it are
/// checked, so the next stage starts on the first add-ons while the others
/// are checked, and memory holds a few add-ons and the ids, not the tree.
fn report_documents(job: &tree::Tree, mut header: Inventory) -> Result<()> {
    // The ids are the folders' names; only an id a folder's files give
    // otherwise is kept beside them.
    let mut other_ids: BTreeSet<String> = BTreeSet::new();
    let mut failed: Vec<String> = Vec::new();
    let (mut files, mut documents, mut errors, mut warnings) = (0, 0, 0, 0);
    tree::each_folder(job, tree::Documents::Keep, |folder, outcome| {
        let findings: Vec<Finding> = outcome
            .rows
            .into_iter()
            .flat_map(|(summary, findings)| {
                files += 1;
                errors += summary.errors;
                warnings += summary.warnings;
                findings
            })
            .collect();
        print_findings(&findings);
        let mut out = String::new();
        for document in &outcome.documents {
            // Checked in full here: sealed, so that the next stage need not
            // check it again (common::model::seal).
            out.push_str(&common::model::seal::sealed_json(document).map_err(Error::internal)?);
            out.push('\n');
        }
        documents += outcome.documents.len();
        if !out.is_empty() {
            common::cli::io::write_stdout(&out)?;
        }
        other_ids.extend(outcome.ids.into_iter().filter(|id| *id != folder.name));
        if outcome.failed {
            failed.push(folder.name.to_string());
        }
        Ok(())
    })?;
    header.addons = if other_ids.is_empty() {
        job.folders.ids()
    } else {
        let names = job.folders.iter().map(|folder| folder.name);
        names.chain(other_ids.iter().map(String::as_str)).collect()
    };
    for failed in &failed {
        header.record_failure(Some(failed), "addon-validate");
    }
    // Written as it is serialized: not a second copy of the fleet's ids.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer(&mut out, &header)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    common::cli::io::stdout_result(written)?;
    let line = format!(
        "{files} file(s) checked, {documents} add-on document(s) written: {}",
        counts(errors, warnings, 1)
    );
    if errors == 0 {
        common::cli::note_line(format_args!("{line}"));
        Ok(())
    } else {
        Err(Error::Invalid(line))
    }
}

fn list_checks() -> Result<()> {
    let mut out =
        String::from("CODE    NAME                            SEVERITY NEEDS     DESCRIPTION\n");
    for listed in common::check::finding_codes::ALL {
        let severity = match listed.severity {
            common::Severity::Error => "error",
            common::Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "{:<7} {:<31} {:<8} {:<9} {}\n",
            listed.code,
            listed.check,
            severity,
            listed.needs.as_str(),
            listed.summary
        ));
    }
    common::cli::io::write_stdout(&out)
}
