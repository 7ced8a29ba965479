//! hive-apply: apply Kubernetes objects to the Hive cluster with server-side
//! apply, the way `kubectl apply --server-side` does, then optionally label
//! ClusterDeployments and wait for Hive to report the SyncSets applied.
//!
//! hive-apply as a library: the Kubernetes API client (discovery, apply,
//! patch, delete), the input reader, and the apply/label/wait steps.

pub mod answer;
pub mod api;
pub mod apply;
pub mod applyset;
pub mod clusters;
pub mod objects;
pub mod output;
pub mod prune;
pub mod read;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::KubeClient;
use crate::apply::{ApplyOptions, DryRun, Planned};
use crate::applyset::ParentRef;
use crate::clusters::{ClusterRef, SyncTarget};
use crate::objects::Manifest;
use crate::report::Report;
use clap::{Parser, ValueEnum};
use common::cli::error::Location;
use common::cli::io::{Format, OutputArgs};
use common::{Error, Result};

/// Apply objects to the Hive cluster with Kubernetes server-side apply
/// (PATCH, application/apply-patch+yaml, fieldManager=addon-flow): core and
/// custom kinds, namespaced and cluster-scoped, plural names from the API's
/// discovery documents. Applying again is a no-op. Objects that applied are
/// printed even when others failed; the error closes with what would help,
/// per cause (after a server failure, running the same command again
/// finishes the job; after a 409 conflict or a missing CRD it does not).
///
/// Examples:
///   syncset-render --cluster-deployment cd-ns/cluster-1 < addon.json | hive-apply --prune
///   syncset-render --cluster-deployment cd-ns/cluster-1 < addon.json | hive-apply --wait
///   syncset-render --selector addon.yaml | hive-apply --label-cluster cd-ns/cluster-1 --wait
///   ... | syncset-render --selector | hive-apply --prune=all     # the whole fleet
///   hive-apply --delete sss.yaml
///
/// Credentials come from kubeconfig as kubectl reads it: --kubeconfig, else
/// every file in KUBECONFIG, else ~/.kube/config; the context from --context
/// or current-context (token, tokenFile, client certificate and key, exec
/// credential plugins, impersonation with as/as-uid/as-groups/as-user-extra,
/// CA data or file, insecure-skip-tls-verify, tls-server-name, proxy-url
/// over HTTP CONNECT). An exec plugin runs once per run, and again only
/// when its credential expires or the server answers 401. Credentials are
/// never sent over plain http to a host that is not loopback.
///
/// Output: the objects as the server returned them (a List, -o json|yaml),
/// or with --summary one line per object (`kind.group/name [-n NS] verb`,
/// marked `(server dry run)` or `(dry run)` in a dry run). Exit codes: 0
/// done, 1 unreadable input, an object named twice, a prune refused (no
/// whole inventory, above --max-deletions), or a kubeconfig that cannot be
/// used (what kubectl refuses: a CA with insecure-skip-tls-verify, a token
/// for a plain-http server elsewhere; a failing exec plugin; a setting we
/// cannot honour, such as a SOCKS proxy), 2 usage error (a --context that
/// names no context), 3 the server refused or failed (401/403, 404 kind,
/// 409 conflict, 422 invalid, unreachable), 4 --wait timed out.
#[derive(Parser, Debug)]
#[command(name = "hive-apply", version, verbatim_doc_comment)]
struct Args {
    /// The objects: a `kind: List`, one object, or a YAML stream of objects
    /// (JSON or YAML). `-` or nothing reads stdin.
    file: Option<PathBuf>,

    /// The kubeconfig file (instead of KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,

    /// The kubeconfig context (instead of current-context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,

    /// `server`: the API server checks everything and stores nothing
    /// (dryRun=All); `client`: print the objects without writing (a prune
    /// reads the server to list what it would delete); `none`: apply.
    /// Write it with `=` (`--dry-run=server`).
    #[arg(long = "dry-run", value_enum, default_value = "none", value_name = "MODE", num_args = 0..=1, default_missing_value = "client", require_equals = true)]
    dry_run: DryRun,

    /// Take over fields another field manager owns instead of failing with 409.
    #[arg(long)]
    force_conflicts: bool,

    /// After applying, delete what is no longer in the input. `name` (the
    /// default): objects of the input's namespaced kinds and names in other
    /// namespaces that this field manager applied (a cluster removed from
    /// the SyncSets). `all`: the input is the whole fleet (syncset-render's
    /// List with the inventory of `addon-validate --all`); every object is
    /// applied as a member of an ApplySet (see --applyset), and members the
    /// input no longer holds are deleted, of every kind the set ever held,
    /// only on the inventory's proof (a whole environment; the member's
    /// add-on left the tree or no longer renders it). Objects live as they
    /// would be applied are not sent again. Write it with `=` (`--prune=all`).
    #[arg(long, conflicts_with = "delete", value_enum, value_name = "SCOPE", num_args = 0..=1, default_missing_value = "name", require_equals = true)]
    prune: Option<PruneScope>,

    /// With --prune=all: the ApplySet's parent Secret, `[secret/]NAME`
    /// (default: addon-flow-ENVIRONMENT, the environment of the input's
    /// inventory), as kubectl's --applyset.
    #[arg(long, value_name = "[secret/]NAME")]
    applyset: Option<String>,

    /// With --prune=all: the namespace of the ApplySet's parent Secret.
    #[arg(long, value_name = "NS", default_value = applyset::DEFAULT_NAMESPACE)]
    applyset_namespace: String,

    /// A prune that would delete more objects than this deletes none, lists
    /// them, and exits 1.
    #[arg(long, value_name = "N", default_value_t = common::model::inventory::DEFAULT_MAX_DELETIONS)]
    max_deletions: usize,

    /// Delete the objects instead of applying them (with --label-cluster,
    /// remove the add-on label).
    #[arg(long)]
    delete: bool,

    /// Set the add-on label of the input's SelectorSyncSet on this
    /// ClusterDeployment (merge patch), so the legacy SelectorSyncSet selects
    /// it. Repeat for several.
    #[arg(long = "label-cluster", value_name = "NAMESPACE/NAME")]
    label_cluster: Vec<ClusterRef>,

    /// Wait until Hive's ClusterSync reports each applied SyncSet applied to
    /// the clusters of its clusterDeploymentRefs and, with --label-cluster,
    /// the SelectorSyncSet applied to those clusters. Refused when the input
    /// gives nothing to wait for (a SelectorSyncSet without --label-cluster).
    #[arg(long)]
    wait: bool,

    /// How long --wait waits (seconds, or with s/m/h).
    #[arg(long, default_value = "10m", value_parser = common::text::time::parse_duration, value_name = "DURATION")]
    timeout: Duration,

    /// The longest one API request may take (each try); a server that
    /// accepts and never answers is an error (exit 3) after this long.
    #[arg(long, default_value = "30s", value_parser = common::text::time::parse_duration, value_name = "DURATION")]
    request_timeout: Duration,

    /// How often --wait polls the ClusterSyncs.
    #[arg(long, default_value = "2s", value_parser = common::text::time::parse_duration, value_name = "DURATION")]
    poll_interval: Duration,

    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,

    /// The field manager that owns the applied fields.
    #[arg(long, default_value = "addon-flow")]
    field_manager: String,

    /// One line per object (`kind.group/name created`) instead of the objects.
    #[arg(long)]
    summary: bool,

    #[command(flatten)]
    output: OutputArgs,
}

/// What `--prune` deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PruneScope {
    /// The input's names, in other namespaces.
    Name,
    /// The members of the fleet's ApplySet that the input no longer holds.
    All,
}

/// The command line: flags and help text, for `--help`, man pages and completions.
pub fn uu_app() -> clap::Command {
    common::cli::command::<Args>()
}

/// What the man page says beyond `--help`.
pub const MAN: common::ManPage = common::ManPage {
    summary: "apply Kubernetes objects to Hive with server-side apply",
    environment: &[(
        "KUBECONFIG",
        "kubeconfig files, separated by ':' (default ~/.kube/config)",
    )],
    files: &[(
        "~/.kube/config",
        "the kubeconfig when KUBECONFIG and --kubeconfig are not given",
    )],
    examples: &[
        (
            "Render a SyncSet for one cluster, apply it, and wait for Hive to sync it:",
            "syncset-render --cluster-deployment cd-ns/cluster-1 addon.json | hive-apply --wait",
        ),
        (
            "Apply the SelectorSyncSet, label a cluster so it selects it, and wait:",
            "syncset-render --selector addon.json | hive-apply --label-cluster cd-ns/cluster-1 --wait",
        ),
        (
            "See what the server would change:",
            "hive-apply objects.yaml --dry-run=server",
        ),
    ],
};

/// Runs hive-apply on a command line (the binary's whole `main`) and returns its exit code.
pub fn uumain(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    common::tool_main(args, &MAN, run)
}

fn run(args: Args) -> Result<()> {
    check_flags(&args)?;
    let (source, input) = read::read_input(args.file.as_deref())?;
    objects::check_duplicates(
        &source,
        input.manifests.iter().map(|m| (objects::written_key(m), m)),
    )?;
    let format = args.output.format(Format::Yaml);
    // Checked before anything touches the server.
    let selector = if args.label_cluster.is_empty() {
        None
    } else {
        Some(clusters::selector_label(&input.manifests).ok_or_else(|| {
            Error::usage(
                "--label-cluster needs the add-on's SelectorSyncSet in the input (syncset-render --selector)",
            )
        })?)
    };
    if args.wait {
        check_wait(&args, &input.manifests)?;
    }
    let parent = match args.prune {
        Some(PruneScope::All) => applyset_parent(&args, &source, input.inventory.as_ref())?,
        _ => None,
    };
    if args.dry_run == DryRun::Client && args.prune.is_none() {
        return write_unsent(input.manifests, &args, format);
    }

    let access =
        common::remote::kubeconfig::load(args.kubeconfig.as_deref(), args.context.as_deref())?;
    let default_namespace = access.namespace.clone().unwrap_or_else(|| "default".into());
    let request_timeout = args.request_timeout;
    let http = access.connect(move |client| client.with_request_timeout(request_timeout))?;
    let client = KubeClient::new(http, &args.field_manager);
    let options = ApplyOptions {
        force_conflicts: args.force_conflicts,
        dry_run: args.dry_run,
        delete: args.delete,
        concurrency: usize::from(args.concurrency),
        default_namespace,
        // Only an output of objects needs each answer whole.
        keep_objects: !(args.summary || args.delete),
    };

    let mut report = Report::default();
    // The objects of the output (unless it is a summary), as they are applied.
    let mut objects = output::Objects::new(format);
    let described: Vec<String> = input.manifests.iter().map(Manifest::describe).collect();
    let plans = apply::plan(&client, input.manifests, &options);
    let planned: Vec<Planned> = report.record(described.into_iter().zip(plans));
    // The same object twice once namespaces are placed (a context's
    // default, a cluster-scoped object written with one).
    objects::check_duplicates(&source, planned.iter().map(|p| (p.key(), &p.manifest)))?;

    match args.prune {
        Some(PruneScope::All) => {
            let settings = prune::Settings {
                input: source.clone(),
                inventory: input.inventory.as_ref(),
                unproven: input.unproven.as_deref(),
                parent,
                max_deletions: args.max_deletions,
            };
            prune::run(&client, planned, &settings, &options, &mut report)?;
        }
        _ => {
            if args.dry_run == DryRun::Client {
                report.done.extend(apply::would_apply(&planned, &options));
            } else {
                // Each object is written as soon as it and those before it are applied.
                apply::run_in_order(&client, &planned, &options, |i, result| {
                    let result = result.map(|mut done| {
                        objects.write(&mut done);
                        done
                    });
                    report.record_done([(planned[i].manifest.describe(), result)]);
                });
            }
            if args.prune == Some(PruneScope::Name) && report.is_clean() {
                prune_by_name(&client, &args, &source, &options, &mut report);
            }
        }
    }
    let mut targets = match selector {
        Some(selector) if !report.has_failures() => {
            label_clusters(&client, &args, selector, &options, &mut report)
        }
        _ => Vec::new(),
    };

    // What was done is written first, whatever failed.
    write_report(&mut report, objects, &args)?;
    if args.wait && report.is_clean() {
        targets.extend(clusters::sync_targets(&report.done));
        clusters::wait(
            &client,
            targets,
            args.timeout,
            args.poll_interval,
            options.concurrency,
        )?;
    }
    report.finish(client.server())
}

/// `--dry-run=client` without a prune: the objects as they would be sent,
/// without contacting the server.
fn write_unsent(manifests: Vec<Manifest>, args: &Args, format: Format) -> Result<()> {
    if args.summary {
        let text: String = manifests
            .iter()
            .map(|m| {
                format!(
                    "{} serverside-applied{}\n",
                    m.kubectl_name(),
                    DryRun::Client.mark()
                )
            })
            .collect();
        return common::cli::io::write_stdout(&text);
    }
    let mut objects = output::Objects::new(format);
    for manifest in &manifests {
        objects.object(&manifest.object());
    }
    objects.finish()
}

/// `--label-cluster`: labels each ClusterDeployment so the input's
/// SelectorSyncSet (`selector`: its name, the label's key and value)
/// selects it (or, with --delete, no longer does). Returns what `--wait`
/// then waits for: the SelectorSyncSet on each of those clusters.
fn label_clusters(
    client: &KubeClient,
    args: &Args,
    (sss, key, value): (String, String, String),
    options: &ApplyOptions,
    report: &mut Report,
) -> Vec<SyncTarget> {
    let results = clusters::label_clusters(
        client,
        &args.label_cluster,
        &key,
        &value,
        args.delete,
        options,
    );
    let names = args
        .label_cluster
        .iter()
        .map(|cd| format!("--label-cluster {}/{}", cd.namespace, cd.name));
    let lines = report.record(names.zip(results));
    report.labels.extend(lines);
    let generation = report
        .done
        .iter()
        .find(|d| d.resource.kind == "SelectorSyncSet" && d.name == sss)
        .and_then(|d| d.object.as_ref()?.generation)
        .unwrap_or(1);
    args.label_cluster
        .iter()
        .map(|cd| SyncTarget {
            cluster: cd.clone(),
            list: "selectorSyncSets",
            name: sss.clone(),
            generation,
        })
        .collect()
}

/// Flags clap cannot check: a mode written with a space (`--dry-run
/// server` reads `server` as the input file), and the ApplySet flags
/// without `--prune=all`.
fn check_flags(args: &Args) -> Result<()> {
    if let Some(file) = args.file.as_deref().and_then(Path::to_str) {
        let spaced = match file {
            "server" | "client" | "none" if args.dry_run != DryRun::None => Some("--dry-run"),
            "all" | "name" if args.prune.is_some() => Some("--prune"),
            _ => None,
        };
        if let Some(flag) = spaced.filter(|_| !Path::new(file).exists()) {
            return Err(Error::usage(format!(
                "{flag} {file}: {file:?} was read as the input file; write {flag}={file}"
            )));
        }
    }
    if args.prune != Some(PruneScope::All)
        && (args.applyset.is_some() || args.applyset_namespace != applyset::DEFAULT_NAMESPACE)
    {
        return Err(Error::usage(
            "--applyset and --applyset-namespace name the ApplySet of --prune=all; add --prune=all or drop them",
        ));
    }
    Ok(())
}

/// `--wait` only with something to wait for: SyncSets (their clusters are
/// in the input) or, with --label-cluster, the SelectorSyncSet.
fn check_wait(args: &Args, manifests: &[Manifest]) -> Result<()> {
    let what_it_waits_for = "--wait waits for SyncSets (syncset-render --cluster-deployment) to be applied to their clusters, and with --label-cluster NS/NAME for the SelectorSyncSet on those clusters";
    if args.delete || args.dry_run != DryRun::None {
        return Err(Error::usage(format!(
            "{what_it_waits_for}; with --delete or --dry-run nothing is applied, so there is nothing to wait for"
        )));
    }
    let sync_sets = manifests.iter().any(|m| m.syncs_clusters);
    if !sync_sets && args.label_cluster.is_empty() {
        return Err(Error::usage(format!(
            "{what_it_waits_for}; this input has no SyncSet and no --label-cluster was given, so there is nothing to wait for"
        )));
    }
    // The add-on's install SelectorSyncSet (not the `-delete` one every
    // render has) is not waited for without a cluster to watch.
    if args.label_cluster.is_empty() && clusters::selector_label(manifests).is_some() {
        common::cli::note(
            "hive-apply",
            "--wait waits for the SyncSets only: a SelectorSyncSet is waited for with --label-cluster",
        );
    }
    Ok(())
}

/// The ApplySet parent of `--prune=all`: `--applyset`, else
/// `addon-flow-<environment>` of the input's inventory; none without either.
fn applyset_parent(
    args: &Args,
    source: &Location,
    inventory: Option<&common::model::inventory::Inventory>,
) -> Result<Option<ParentRef>> {
    if let Some(flag) = &args.applyset {
        return ParentRef::parse(flag, &args.applyset_namespace).map(Some);
    }
    let Some(inventory) = inventory else {
        return Ok(None);
    };
    ParentRef::new(
        &format!("addon-flow-{}", inventory.environment),
        &args.applyset_namespace,
    )
    .map(Some)
    .map_err(|why| {
        Error::input(
            source.clone().field(format!(
                "the inventory's environment {:?}",
                inventory.environment
            )),
            format!("cannot name the ApplySet parent: {why}; name one with --applyset"),
        )
    })
}

/// `--prune` (by name), within `--max-deletions`.
fn prune_by_name(
    client: &KubeClient,
    args: &Args,
    source: &Location,
    options: &ApplyOptions,
    report: &mut Report,
) {
    let stale = match apply::prune_candidates(client, &report.done, client.field_manager()) {
        Ok(stale) => stale,
        Err(err) => return report.fail("--prune".into(), err),
    };
    if let Err(message) = common::model::inventory::check_deletions(stale.len(), args.max_deletions)
    {
        for s in &stale {
            report.note(format!(
                "would prune {}{}",
                s.describe(),
                options.dry_run.mark()
            ));
        }
        return report.refuse(Error::input(source.clone(), message));
    }
    let results = apply::delete_stale(client, &stale, options);
    report.record_done(stale.iter().map(apply::Stale::describe).zip(results));
}

/// The output: with --summary (or --delete) one line per object, each
/// marked in a dry run; else the List of the objects as the server
/// returned them (`objects`, which holds those written so far), with the
/// pruned and labelled ones noted on stderr.
fn write_report(report: &mut Report, mut objects: output::Objects, args: &Args) -> Result<()> {
    if report.done.is_empty() && report.labels.is_empty() && report.has_failures() {
        // Nothing was done: an empty List would read as success.
        return Ok(());
    }
    let mark = args.dry_run.mark();
    if args.summary || args.delete {
        let text: String = report
            .done
            .iter()
            .map(|d| d.summary())
            .chain(report.labels.iter().cloned())
            .map(|line| format!("{line}{mark}\n"))
            .collect();
        return common::cli::io::write_stdout(&text);
    }
    for line in report
        .done
        .iter()
        .filter(|d| d.object.is_none())
        .map(|d| d.summary())
        .chain(report.labels.iter().cloned())
    {
        common::cli::note("hive-apply", format!("{line}{mark}"));
    }
    // What a prune or a client dry run kept whole, after what was written
    // as it was applied.
    for done in &mut report.done {
        objects.write(done);
    }
    objects.finish()
}
