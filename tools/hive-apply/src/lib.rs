//! hive-apply: apply Kubernetes objects to the Hive cluster with server-side
//! apply, the way `kubectl apply --server-side` does, then optionally label
//! ClusterDeployments and wait for Hive to report the SyncSets applied.
//!
//! hive-apply as a library: the Kubernetes API client (discovery, apply,
//! patch, delete), the input reader, and the apply/label/wait steps.

pub mod api;
pub mod apply;
pub mod objects;
pub mod prune;

use std::path::PathBuf;
use std::time::Duration;

use crate::api::KubeClient;
use crate::apply::{ApplyOptions, ClusterRef, SyncTarget};
use clap::{Parser, ValueEnum};
use common::io::{Format, OutputArgs};
use common::k8s::List;
use common::{Error, Result};
use serde_json::Value;

/// Apply objects to the Hive cluster with Kubernetes server-side apply
/// (PATCH, application/apply-patch+yaml, fieldManager=addon-flow): core and
/// custom kinds, namespaced and cluster-scoped, plural names from the API's
/// discovery documents. Applying again is a no-op; after a failure, running
/// the same command again finishes the job.
///
/// Examples:
///   syncset-render --cluster-deployment cd-ns/cluster-1 < addon.json | hive-apply --prune
///   syncset-render --cluster-deployment cd-ns/cluster-1 < addon.json | hive-apply --wait
///   syncset-render --selector addon.yaml | hive-apply --label-cluster cd-ns/cluster-1 --wait
///   hive-apply --delete sss.yaml
///
/// Credentials come from kubeconfig as kubectl reads it: --kubeconfig, else
/// every file in KUBECONFIG, else ~/.kube/config; the context from --context
/// or current-context (token, tokenFile, client certificate and key, CA data
/// or file, insecure-skip-tls-verify).
///
/// Output: the objects as the server returned them (a List, -o json|yaml),
/// or with --summary one line per object. Exit codes: 0 done, 1 unreadable
/// input, 2 usage error, 3 the server refused or failed (401/403, 404 kind,
/// 409 conflict, unreachable), 4 --wait timed out.
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
    /// (dryRun=All); `client`: print the objects without contacting it;
    /// `none`: apply.
    #[arg(long = "dry-run", value_enum, default_value = "none", value_name = "MODE", num_args = 0..=1, default_missing_value = "client", require_equals = true)]
    dry_run: DryRun,

    /// Take over fields another field manager owns instead of failing with 409.
    #[arg(long)]
    force_conflicts: bool,

    /// After applying, delete what this field manager applied earlier and
    /// the input no longer lists. `name` (the default): objects of the
    /// input's namespaced kinds and names in other namespaces (a cluster
    /// removed from the SyncSets). `all`: every object of the input's kinds
    /// (the input is the whole desired state, e.g. every add-on's
    /// SelectorSyncSets: a removed add-on loses its own); objects already
    /// live as they would be applied are not sent again.
    #[arg(long, conflicts_with = "delete", value_enum, value_name = "SCOPE", num_args = 0..=1, default_missing_value = "name", require_equals = true)]
    prune: Option<PruneScope>,

    /// Delete the objects instead of applying them (with --label-cluster,
    /// remove the add-on label).
    #[arg(long)]
    delete: bool,

    /// Set the add-on label of the input's SelectorSyncSet on this
    /// ClusterDeployment (merge patch), so the legacy SelectorSyncSet selects
    /// it. Repeat for several.
    #[arg(long = "label-cluster", value_name = "NAMESPACE/NAME")]
    label_cluster: Vec<ClusterRef>,

    /// Wait until Hive's ClusterSync reports each applied SyncSet (and, with
    /// --label-cluster, the SelectorSyncSet) applied to its clusters.
    #[arg(long)]
    wait: bool,

    /// How long --wait waits (seconds, or with s/m/h).
    #[arg(long, default_value = "10m", value_parser = common::time::parse_duration, value_name = "DURATION")]
    timeout: Duration,

    /// The longest one API request may take (each try); a server that
    /// accepts and never answers is an error (exit 3) after this long.
    #[arg(long, default_value = "30s", value_parser = common::time::parse_duration, value_name = "DURATION")]
    request_timeout: Duration,

    /// How often --wait polls the ClusterSyncs.
    #[arg(long, default_value = "2s", value_parser = common::time::parse_duration, value_name = "DURATION")]
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
    /// Everything of the input's kinds that the input does not list.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DryRun {
    None,
    Server,
    Client,
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
            "Render and apply, then wait for Hive to sync:",
            "syncset-render --selector addon.json | hive-apply --wait",
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
    let source = objects::read_input(args.file.as_deref())?;
    let manifests = objects::read(&source)?;
    let format = args.output.format(Format::Yaml);
    // Checked before anything touches the server.
    let selector = if args.label_cluster.is_empty() {
        None
    } else {
        Some(apply::selector_label(&manifests).ok_or_else(|| {
            Error::usage(
                "--label-cluster needs the add-on's SelectorSyncSet in the input (syncset-render --selector)",
            )
        })?)
    };
    if args.dry_run == DryRun::Client {
        if args.summary {
            let text: String = manifests
                .iter()
                .map(|m| format!("{} (dry run)\n", m.describe()))
                .collect();
            return common::io::write_stdout(&text);
        }
        let items: Vec<Value> = manifests.iter().map(|m| m.object.clone()).collect();
        return write_objects(items, format);
    }
    let access = common::kubeconfig::load(args.kubeconfig.as_deref(), args.context.as_deref())?;
    let http = access.client()?.with_request_timeout(args.request_timeout);
    let client = KubeClient::new(http, &args.field_manager);
    let options = ApplyOptions {
        force_conflicts: args.force_conflicts,
        dry_run: args.dry_run == DryRun::Server,
        delete: args.delete,
        concurrency: usize::from(args.concurrency),
        default_namespace: access.namespace.clone().unwrap_or_else(|| "default".into()),
    };

    let mut done = Vec::new();
    let mut failures = Failures::default();
    // --prune=all: the live objects of the input's kinds, listed once; what
    // is live as we would apply it is not sent again.
    let objects = manifests.len();
    let (live, to_apply) = if args.prune == Some(PruneScope::All) {
        let mut manifests = manifests;
        prune::annotate(&mut manifests);
        let mut live = prune::list_live(&client, &manifests)?;
        let (to_apply, unchanged) = if options.dry_run {
            (manifests, Vec::new())
        } else {
            prune::skip_unchanged(&client, &mut live, manifests, &args.field_manager, &options)?
        };
        done.extend(unchanged);
        (Some(live), to_apply)
    } else {
        (None, manifests)
    };
    let results = apply::run(&client, &to_apply, &options);
    for (manifest, result) in to_apply.iter().zip(results) {
        match result {
            Ok(d) => done.push(d),
            Err(err) => failures.add(manifest.describe(), err),
        }
    }
    if let (Some(live), true) = (&live, failures.is_empty()) {
        for result in prune::prune_all(&client, live, &done, &args.field_manager, &options) {
            match result {
                Ok(d) => done.push(d),
                Err(err) => failures.add("--prune=all".into(), err),
            }
        }
    }

    if args.prune == Some(PruneScope::Name) && failures.is_empty() {
        for result in apply::prune(&client, &done, &args.field_manager, &options) {
            match result {
                Ok(d) => done.push(d),
                Err(err) => failures.add("--prune".into(), err),
            }
        }
    }

    let mut label_lines = Vec::new();
    let mut targets: Vec<SyncTarget> = Vec::new();
    if let (Some((sss, key, value)), true) = (selector, failures.is_empty()) {
        for result in apply::label_clusters(
            &client,
            &args.label_cluster,
            &key,
            &value,
            args.delete,
            &options,
        ) {
            match result {
                Ok(line) => label_lines.push(line),
                Err(err) => failures.add("--label-cluster".into(), err),
            }
        }
        let generation = done
            .iter()
            .find(|d| d.resource.kind == "SelectorSyncSet" && d.name == sss)
            .and_then(|d| d.object.as_ref())
            .and_then(|o| o["metadata"]["generation"].as_i64())
            .unwrap_or(1);
        targets.extend(args.label_cluster.iter().map(|cd| SyncTarget {
            cluster: cd.clone(),
            list: "selectorSyncSets",
            name: sss.clone(),
            generation,
        }));
    }

    if !failures.is_empty() {
        for line in done.iter().map(|d| d.summary()).chain(label_lines) {
            common::cli::note("hive-apply", line);
        }
        let total = objects + args.label_cluster.len();
        return Err(Error::remote(
            client.server(),
            format!(
                "{} of {total} step(s) failed; the others are done, and running the same command again finishes the job (applying is idempotent):\n{}",
                failures.count,
                failures.report()
            ),
        ));
    }

    if args.wait && !args.delete && args.dry_run == DryRun::None {
        targets.extend(apply::sync_targets(&done));
        apply::wait(
            &client,
            targets,
            args.timeout,
            args.poll_interval,
            options.concurrency,
        )?;
    }

    if args.summary {
        let mut text: String = done.iter().map(|d| d.summary() + "\n").collect();
        text.extend(label_lines.into_iter().map(|l| l + "\n"));
        return common::io::write_stdout(&text);
    }
    for line in &label_lines {
        common::cli::note("hive-apply", line);
    }
    if args.delete {
        let text: String = done.iter().map(|d| d.summary() + "\n").collect();
        return common::io::write_stdout(&text);
    }
    for pruned in done.iter().filter(|d| d.object.is_none()) {
        common::cli::note("hive-apply", pruned.summary());
    }
    write_objects(done.into_iter().filter_map(|d| d.object).collect(), format)
}

/// Failures grouped by message, so one cause (a refused token, a dead
/// server) reads as one line naming the objects it hit.
#[derive(Default)]
struct Failures {
    count: usize,
    groups: Vec<(String, Vec<String>)>,
}

impl Failures {
    fn add(&mut self, object: String, err: Error) {
        self.count += 1;
        // The server is named once, in the error around these lines.
        let message = match err {
            Error::Remote { message, .. } => message,
            other => other.to_string(),
        };
        match self.groups.iter_mut().find(|(m, _)| *m == message) {
            Some((_, objects)) => objects.push(object),
            None => self.groups.push((message, vec![object])),
        }
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn report(&self) -> String {
        self.groups
            .iter()
            .map(|(message, objects)| {
                let shown: Vec<&str> = objects.iter().take(5).map(String::as_str).collect();
                let more = if objects.len() > 5 {
                    format!(" and {} more", objects.len() - 5)
                } else {
                    String::new()
                };
                format!("  {message}\n    ({}{more})", shown.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn write_objects(items: Vec<Value>, format: Format) -> Result<()> {
    let list = List::new(items.into_iter().map(common::k8s::Object::Other).collect());
    common::io::write_document(&list, format)
}
