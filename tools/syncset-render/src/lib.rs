//! syncset-render: the Hive objects that install an add-on's operator, as
//! managed-tenants renders them, for the legacy label-matched path
//! (`--selector`) or for named clusters (`--cluster-deployment NS/NAME`).
//!
//! syncset-render as a library: the pure renderer and the extra-resource
//! templates, so tests and benchmarks call exactly what the binary runs.

mod output;
pub mod render;
pub mod template;

pub use render::{render, ClusterDeploymentRef, RenderOptions, Target};

use std::path::PathBuf;

use clap::Parser;
use common::cli::io::{Format, OutputArgs};
use common::{Error, Result};

/// Render the operator install objects of an add-on as a Kubernetes `List`:
/// Namespaces, CatalogSources, NetworkPolicy, OperatorGroup, Subscription
/// (and the metrics federation ServiceMonitor) inside a Hive SelectorSyncSet
/// or SyncSets, plus the `-delete` SelectorSyncSet, the PagerDuty and
/// Dead Man's Snitch integrations and the extra resources.
///
/// Examples:
///   syncset-render addons/my-addon/metadata/stage/addon.yaml --selector
///   syncset-render --cluster-deployment cd-ns/my-cluster < addon.json | hive-apply --wait
///
/// Exit codes: 0 rendered, 1 the add-on is unreadable or invalid, 2 usage error.
#[derive(Parser, Debug)]
#[command(name = "syncset-render", version, verbatim_doc_comment)]
struct Args {
    /// The add-on: an addon.yaml inside a managed-tenants tree (its image set
    /// and extra resources are resolved from the tree) or an add-on document
    /// (JSON or YAML, as addon-validate and catalog-build write it), or a
    /// stream of documents (JSON lines, YAML `---` documents): one List holds
    /// every add-on's objects. `-` or nothing reads stdin.
    file: Option<PathBuf>,

    /// Wrap the objects in the SelectorSyncSet `addon-<id>`, which Hive applies
    /// to every ClusterDeployment labelled `<label>=true` (the legacy path).
    #[arg(long, conflicts_with = "cluster_deployment")]
    selector: bool,

    /// Wrap the objects in a SyncSet `addon-<id>` in the ClusterDeployment's
    /// namespace, naming it in `clusterDeploymentRefs` (how an install on one
    /// cluster is done). Repeat for several clusters: one SyncSet per namespace.
    #[arg(long = "cluster-deployment", value_name = "NAMESPACE/NAME")]
    cluster_deployment: Vec<ClusterDeploymentRef>,

    /// Read more `NAMESPACE/NAME` lines from this file (for many clusters).
    #[arg(long = "cluster-deployments-from", value_name = "FILE")]
    cluster_deployments_from: Option<PathBuf>,

    /// Set the Subscription's installPlanApproval (OLM then waits for each
    /// install plan to be approved when `Manual`).
    #[arg(long, value_name = "Automatic|Manual", value_parser = ["Automatic", "Manual"])]
    install_plan_approval: Option<String>,

    /// Output format (default YAML, as `kubectl get -o yaml`).
    #[command(flatten)]
    output: OutputArgs,
}

/// The command line: flags and help text, for `--help`, man pages and completions.
pub fn uu_app() -> clap::Command {
    common::cli::command::<Args>()
}

/// What the man page says beyond `--help`.
pub const MAN: common::ManPage = common::ManPage {
    summary: "render the Hive SelectorSyncSet or SyncSets that install an add-on's operator",
    environment: &[],
    files: &[(
        "addons/ID/metadata/ENV/addon.yaml",
        "an add-on in a managed-tenants tree, with its image set and extra resources",
    )],
    examples: &[
        (
            "The legacy label-matched SelectorSyncSet:",
            "syncset-render addons/my-addon/metadata/stage/addon.yaml --selector",
        ),
        (
            "A SyncSet for one cluster, applied to Hive:",
            "syncset-render --cluster-deployment cd-ns/my-cluster < addon.json | hive-apply --wait",
        ),
    ],
};

/// Runs syncset-render on a command line (the binary's whole `main`) and returns its exit code.
pub fn uumain(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    common::tool_main(args, &MAN, run)
}

fn run(args: Args) -> Result<()> {
    let mut clusters = args.cluster_deployment;
    if let Some(path) = &args.cluster_deployments_from {
        let source = common::cli::io::Source::read(Some(path))?;
        for (i, line) in source.text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cd = line
                .parse()
                .map_err(|message: String| Error::input(source.location().line(i + 1), message))?;
            clusters.push(cd);
        }
    }
    let target = match (args.selector, clusters.is_empty()) {
        (true, true) => Target::Selector,
        (false, false) => Target::ClusterDeployments(clusters),
        (true, false) => {
            return Err(Error::usage(
                "choose one of --selector and --cluster-deployment",
            ))
        }
        (false, true) => {
            return Err(Error::usage(
                "say where the objects go: --selector (label-matched SelectorSyncSet) \
                 or --cluster-deployment NAMESPACE/NAME (SyncSet for named clusters)",
            ))
        }
    };
    let options = RenderOptions {
        install_plan_approval: args.install_plan_approval,
    };
    render_stream(args.file.as_deref(), &target, &options, args.output)
}

/// A stream of add-ons renders into one List, each add-on as soon as it has
/// been read; a bad one is reported and the others are still rendered.
fn render_stream(
    file: Option<&std::path::Path>,
    target: &Target,
    options: &RenderOptions,
    output_args: OutputArgs,
) -> Result<()> {
    let mut reader = common::cli::stream::StreamReader::open(file)?;
    let mut outcomes = common::cli::stream::Outcomes::streaming("syncset-render");
    let mut output = output::Output::new(output_args.output.unwrap_or(Format::Yaml));
    while let Some(item) = reader.next() {
        let name = item.name();
        let rendered = item.document.and_then(|document| {
            let list = render(&document, target, options)?;
            Ok((document.metadata.id, list.items))
        });
        if let Some((id, objects)) = outcomes.record_item(item.id.as_deref(), &name, rendered) {
            // Whether the stream is a fleet one, once its end has been read.
            let fleet = reader.is_finished().then(|| reader.inventory().is_some());
            output.add(fleet, &id, objects)?;
        }
    }
    outcomes.receive_inventory(reader.take_inventory());
    output.finish(outcomes.inventory(), outcomes.failures())?;
    outcomes.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::inventory::{Inventory, Scope, LIST_ANNOTATION};

    #[test]
    fn a_fleet_list_carries_the_inventory_as_json_text() {
        let mut inventory = Inventory::new(
            "stage",
            Scope::Whole,
            None,
            ["a-addon".to_string()].into_iter().collect(),
        );
        inventory.record_failure(Some("a-addon"), "syncset-render");
        let metadata = output::list_metadata(&inventory).unwrap();
        let text = metadata["annotations"][LIST_ANNOTATION].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Inventory>(text).unwrap(), inventory);
    }
}
