//! csv-wait: wait until an add-on's operator is ready on clusters, watching
//! the CSV telemetry (`csv_succeeded`, `csv_abnormal`) in Prometheus/Thanos.
//!
//! Every poll is one instant query covering all clusters. Each cluster's
//! state (OCM's pending, installing, ready, failed, deleting; unknown when
//! the cluster reports nothing) is printed as a JSON line when it changes,
//! and a summary line at the end.
//!
//! Given a stream of add-on documents (JSON lines or YAML documents), it
//! watches every add-on's operator with the same one query per poll (see
//! `addons`): a line per add-on and cluster whose state changed, a summary
//! per add-on, and the worst exit code.
//!
//! With `--source ocm` the states come from each cluster's add-on
//! installation in OCM instead (see `ocm_source`), printed the same way.
//!
//! This file reads the command line and the add-ons to watch; `watch` is
//! the poll loop, `report` what is printed and the exit code, `state` the
//! states from telemetry, `query` the PromQL.

pub mod addons;
mod ocm_source;
pub mod query;
mod report;
pub mod state;
mod watch;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

use common::cli::io::{cannot_read, write_stdout, Format, OutputArgs, Source};
use common::cli::stream::{self, Outcomes};
use common::remote::http::{Client, RetryPolicy, Secret, TlsOptions};
use common::remote::prometheus::QueryMethod;
use common::text::time::parse_duration;
use common::{Error, Result};

use addons::{addons_shown, operators_shown, Watched};
use ocm_source::OcmSource;
use query::{check_cluster_id, parse_cluster_list, poll_query};
use state::Tracker;
use watch::{Schedule, Watch, WatchSource};

const AFTER_HELP: &str = "\
Each poll sends one query for all clusters:
  {__name__=~\"csv_succeeded|csv_abnormal\",name=~\"<operatorName>\\\\..*\",_id=~\"<id>|<id>...\"}
    or count by (_id) (csv_succeeded{_id=~\"<id>|<id>...\"})
(--show-query prints it). States, the first rule that applies winning:
  failed      csv_abnormal with phase Failed
  deleting    csv_abnormal with phase Deleting
  installing  csv_abnormal with another phase, or csv_succeeded == 0
  ready       csv_succeeded == 1
  pending     the cluster reports CSVs, but not the add-on's
  unknown     the cluster reports no CSV at all

Output: one JSON line per cluster whose state changed
  {\"cluster\":\"049ea229-...\",\"state\":\"installing\",\"csv\":\"my-addon.v1.2.0\",\"version\":\"1.2.0\",
   \"namespace\":\"redhat-my-addon\",\"phase\":\"Installing\",\"reason\":\"InstallWaiting\",\"at\":\"...Z\"}
then {\"summary\": {...}} with the count per state.

A stream of add-on documents (JSON lines, or YAML documents separated by ---)
watches every add-on at once, still with one query per poll (name=~\"(<op1>|<op2>)\\\\..*\"):
each line and summary then names its \"addon\"; a bad document is reported by its id
and the others are watched; the exit code is the worst (5 over 4 over 1).

With --source ocm, each poll reads every cluster's installation
(GET /api/clusters_mgmt/v1/clusters/<id>/addons/<addon>) and reports its state as is;
state_description is the reason, operator_version the version; a cluster without
the installation is unknown, and a state OCM does not define ends the wait (exit 3). --url is then OCM's URL. A stream is watched the same
way: each add-on's installations by its id, 8 reads at once.

Credentials: PROMETHEUS_TOKEN or --token-file (a bearer token); never on the command line.
With --source ocm, as ocm-post finds them: OCM_TOKEN, OCM_REFRESH_TOKEN/OCM_OFFLINE_TOKEN,
OCM_CLIENT_ID + OCM_CLIENT_SECRET, or the ocm CLI's ocm.json.

Examples:
  csv-wait --url https://thanos.example.com --cluster-id 049ea229-... addon.json
  ocm list clusters --columns external_id --no-headers | csv-wait --clusters - --operator my-addon --url $THANOS
  csv-wait --source ocm --url https://api.stage.openshift.com --cluster-id 049ea229-... addon.json

Exit codes: 0 every cluster ready, 1 invalid input, 2 usage, 3 Prometheus refused the query
or the credentials, 4 timed out, 5 the add-on failed on a cluster, 70 a crash (a bug).";

#[derive(Parser, Debug)]
#[command(name = "csv-wait", version, about, after_help = AFTER_HELP)]
struct Cli {
    /// The add-on document or addon.yaml whose operator (operatorName) to
    /// watch, or a stream of documents (every add-on watched); `-` or
    /// nothing reads stdin. Not read with --operator.
    file: Option<PathBuf>,

    /// The OLM package to watch instead of reading the add-on document.
    #[arg(long, value_name = "NAME")]
    operator: Option<String>,

    /// A cluster to watch (its external id, telemetry's `_id`); repeatable.
    #[arg(long = "cluster-id", short = 'c', value_name = "ID")]
    cluster_ids: Vec<String>,

    /// A file listing clusters to watch, one id per line (`-`: stdin).
    #[arg(long, value_name = "FILE")]
    clusters: Option<PathBuf>,

    /// Not a flag: caught so that `--cluster ID` is pointed at --cluster-id,
    /// where clap alone would suggest --clusters (a file).
    #[arg(long = "cluster", hide = true, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    mistaken_cluster: Option<String>,

    /// Where the states come from: telemetry (Prometheus/Thanos csv_*
    /// metrics) or ocm (each cluster's add-on installation state).
    #[arg(long, value_enum, default_value_t = SourceArg::Telemetry)]
    source: SourceArg,

    /// Prometheus or Thanos query URL (default: $PROMETHEUS_URL); with
    /// --source ocm, OCM's API URL (default: $OCM_URL, else the saved one).
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// With --source ocm: the add-on id whose installations to read
    /// (default: the document's id).
    #[arg(long, value_name = "ID")]
    addon: Option<String>,

    /// With --source ocm: the OAuth2 token endpoint for refresh tokens and
    /// client credentials (default: $OCM_TOKEN_URL, else Red Hat SSO).
    #[arg(long, value_name = "URL")]
    token_url: Option<String>,

    /// Give up after this long (30s, 10m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    timeout: Duration,

    /// Time between polls; after a failed query it doubles, up to 5 minutes.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    interval: Duration,

    /// The longest one query may take (each try); never past --timeout.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    request_timeout: Duration,

    /// Stop after this many polls (exit 4 if not done by then).
    #[arg(long, value_name = "N")]
    polls: Option<u64>,

    /// The label that holds the cluster id.
    #[arg(long, value_name = "LABEL", default_value = "_id")]
    cluster_label: String,

    /// How to send the query: GET, POST form, or auto (POST when long).
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    method: MethodArg,

    /// A file holding the bearer token (default: $PROMETHEUS_TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,

    /// PEM CA certificates to trust for --url.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,

    /// Do not verify the server's TLS certificate (test environments only).
    #[arg(long)]
    insecure: bool,

    /// Print the PromQL a poll sends and exit.
    #[arg(long)]
    show_query: bool,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SourceArg {
    /// csv_succeeded / csv_abnormal in Prometheus or Thanos.
    Telemetry,
    /// The add-on installation's state in OCM.
    Ocm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MethodArg {
    Auto,
    Get,
    Post,
}

/// The command line: flags and help text, for `--help`, man pages and completions.
pub fn uu_app() -> clap::Command {
    common::cli::command::<Cli>()
}

/// What the man page says beyond `--help`.
pub const MAN: common::ManPage = common::ManPage {
    summary: "wait until an add-on's operator CSV succeeds on clusters, from telemetry or OCM",
    environment: &[
        ("PROMETHEUS_URL", "the Prometheus or Thanos query URL when --url is not given"),
        ("PROMETHEUS_TOKEN", "a bearer token for the query API"),
        ("OCM_URL", "with --source ocm, OCM's API URL when --url is not given"),
        ("OCM_TOKEN, OCM_REFRESH_TOKEN, OCM_CLIENT_ID, ...", "with --source ocm, credentials as ocm-post finds them"),
    ],
    files: &[
        ("FILE of --clusters", "the clusters to watch, one cluster id a line ('#' starts a comment)"),
        ("~/.config/ocm/ocm.json", "with --source ocm, the ocm CLI's login when no OCM_* variable gives credentials"),
    ],
    examples: &[
        ("Wait for one cluster:", "csv-wait --cluster-id 049ea229-0000-0000-0000-000000000000 --url http://thanos:9090 < addon.json"),
        ("Many clusters from a file:", "csv-wait --clusters clusters.txt --operator my-addon --url $THANOS"),
        ("From the installations in OCM:", "csv-wait --source ocm --url https://api.stage.openshift.com --cluster-id 049ea229-0000-0000-0000-000000000000 < addon.json"),
    ],
};

/// Runs csv-wait on a command line (the binary's whole `main`) and returns its exit code.
pub fn uumain(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    common::tool_main(args, &MAN, run)
}

fn run(cli: Cli) -> Result<()> {
    if let Some(id) = &cli.mistaken_cluster {
        return Err(no_cluster_flag(id));
    }
    if cli.source == SourceArg::Ocm {
        return run_on_ocm(cli);
    }
    let format = cli.output.format(Format::Json);
    let clusters = cluster_ids(&cli)?;
    let (watched, outcomes) = addons_to_watch(&cli, &clusters)?;
    if watched.is_empty() {
        // Every document of the stream was bad: nothing to wait for.
        return outcomes.finish();
    }
    check_label_name(&cli.cluster_label)?;
    let operators: Vec<&str> = watched.iter().map(|w| w.operator.as_str()).collect();
    let promql = poll_query(&operators, &clusters, &cli.cluster_label);
    if cli.show_query {
        write_stdout(&format!("{promql}\n"))?;
        // The query covers the valid add-ons; a bad document still fails.
        return outcomes.finish();
    }
    let url = query_url(&cli)?;
    let deadline = Instant::now() + cli.timeout;
    let client = prometheus_client(&cli, &url)?
        .with_request_timeout(cli.request_timeout)
        .with_deadline(Some(deadline));
    // The URL as shown: without a user:password@ it may carry.
    let url = client.base_url().to_string();
    let source = WatchSource::Telemetry {
        client: &client,
        promql: &promql,
        method: match cli.method {
            MethodArg::Auto => QueryMethod::Auto,
            MethodArg::Get => QueryMethod::Get,
            MethodArg::Post => QueryMethod::Post,
        },
    };
    watch(&cli, source, &url, &clusters, format).announce_and_run(
        &operators_shown(&watched),
        watched,
        outcomes,
    )
}

/// What to watch: the `--operator`, or every valid add-on of the input
/// stream (each with its own tracker). The bad documents are recorded in
/// the outcomes (and reported on stderr when the stream holds several).
fn addons_to_watch(cli: &Cli, clusters: &[String]) -> Result<(Vec<Watched>, Outcomes)> {
    if let Some(operator) = &cli.operator {
        let operator = operator.trim();
        if operator.is_empty() {
            return Err(Error::usage("--operator is empty"));
        }
        let watched = Watched {
            addon: None,
            operator: operator.to_string(),
            tracker: Tracker::new(clusters, &cli.cluster_label),
        };
        return Ok((vec![watched], Outcomes::new("csv-wait", 1)));
    }
    addons_of_stream(cli, clusters)
}

/// Every valid add-on of the input stream, each with its own tracker; the
/// bad documents recorded in the outcomes.
fn addons_of_stream(cli: &Cli, clusters: &[String]) -> Result<(Vec<Watched>, Outcomes)> {
    let items = stream::read_addons(cli.file.as_deref())?;
    // The tally of the watch is the progress shown, not documents read.
    let mut outcomes = Outcomes::new("csv-wait", items.len()).without_progress();
    let mut watched = Vec::new();
    for item in items {
        let name = item.name();
        if let Some(document) = outcomes.record(&name, item.document) {
            watched.push(Watched {
                addon: Some(document.metadata.id),
                operator: document.metadata.operator_name,
                tracker: Tracker::new(clusters, &cli.cluster_label),
            });
        }
    }
    Ok((watched, outcomes))
}

/// What `--source ocm` watches: `--addon` with `--operator`, else every
/// valid add-on of the input stream by its id (`--addon` renames the one
/// add-on of a single document; it cannot name each of several).
fn installations_to_watch(cli: &Cli, clusters: &[String]) -> Result<(Vec<Watched>, Outcomes)> {
    if let (Some(addon), Some(operator)) = (&cli.addon, &cli.operator) {
        let watched = Watched {
            addon: Some(addon.clone()),
            operator: operator.clone(),
            tracker: Tracker::new(clusters, &cli.cluster_label),
        };
        return Ok((vec![watched], Outcomes::new("csv-wait", 1)));
    }
    let (mut watched, outcomes) = addons_of_stream(cli, clusters)?;
    if let Some(addon) = &cli.addon {
        if outcomes.documents() > 1 {
            return Err(Error::usage(format!(
                "--addon names one add-on, and the input holds {} documents: leave --addon out to watch each by its id",
                outcomes.documents()
            )));
        }
        if let [one] = watched.as_mut_slice() {
            one.addon = Some(addon.clone());
        }
    }
    Ok((watched, outcomes))
}

/// `--source ocm`: the same watch, each cluster's state read from its
/// add-on installation in OCM.
fn run_on_ocm(cli: Cli) -> Result<()> {
    let format = cli.output.format(Format::Json);
    let clusters = cluster_ids(&cli)?;
    let (watched, outcomes) = installations_to_watch(&cli, &clusters)?;
    if cli.show_query {
        return Err(Error::usage("--show-query is for --source telemetry"));
    }
    if watched.is_empty() {
        // Every document of the stream was bad: nothing to wait for.
        return outcomes.finish();
    }
    let env = |name: &str| std::env::var(name).ok();
    let settings = common::remote::ocm_auth::resolve(&env, cli.token_url.as_deref())?;
    let url = cli
        .url
        .clone()
        .or_else(|| env("OCM_URL").filter(|u| !u.is_empty()))
        .or_else(|| settings.api_url.clone())
        .ok_or_else(|| {
            Error::usage("--url is required with --source ocm (OCM's API URL), or set OCM_URL")
        })?;
    let tls = TlsOptions {
        insecure: cli.insecure,
        ..TlsOptions::default()
    };
    let retry = RetryPolicy {
        attempts: 2,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(1),
    };
    let tokens = common::remote::ocm_auth::TokenProvider::new(settings, &tls, retry)?;
    let deadline = Instant::now() + cli.timeout;
    let client = Client::new(url.trim_end_matches('/'), &tls)?
        .with_retry(retry)
        .with_request_timeout(cli.request_timeout)
        .with_deadline(Some(deadline));
    // The URL as shown: without a user:password@ it may carry.
    let url = client.base_url().to_string();
    let source = OcmSource {
        api: common::remote::ocm_auth::OcmApi::new(client, tokens),
        jobs: 8,
    };
    let what = format!("the installations of {}", addons_shown(&watched));
    watch(&cli, WatchSource::Ocm(&source), &url, &clusters, format)
        .announce_and_run(&what, watched, outcomes)
}

/// A watch of `clusters` through `source`, as the command line says when
/// to poll and when to stop.
fn watch<'a>(
    cli: &'a Cli,
    source: WatchSource<'a>,
    url: &'a str,
    clusters: &'a [String],
    format: Format,
) -> Watch<'a> {
    Watch {
        schedule: Schedule {
            interval: cli.interval,
            timeout: cli.timeout,
            polls: cli.polls,
        },
        source,
        url,
        clusters,
        cluster_label: &cli.cluster_label,
        format,
    }
}

fn check_label_name(label: &str) -> Result<()> {
    if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::usage(format!(
            "--cluster-label {label:?} is not a Prometheus label name"
        )));
    }
    Ok(())
}

fn query_url(cli: &Cli) -> Result<String> {
    cli.url
        .clone()
        .or_else(|| {
            std::env::var("PROMETHEUS_URL")
                .ok()
                .filter(|u| !u.is_empty())
        })
        .ok_or_else(|| {
            Error::usage(
                "--url is required (the Prometheus or Thanos query URL), or set PROMETHEUS_URL",
            )
        })
}

/// The error for `--cluster ID`: a cluster is named with --cluster-id, a
/// file of them with --clusters.
fn no_cluster_flag(id: &str) -> Error {
    let id = if id.is_empty() { "ID" } else { id };
    Error::usage(format!(
        "there is no --cluster: watch a cluster by its id with --cluster-id {id} \
         (repeatable), or the clusters listed in a file with --clusters FILE"
    ))
}

/// The clusters from --cluster-id and --clusters, each once, in order.
fn cluster_ids(cli: &Cli) -> Result<Vec<String>> {
    let mut ids = cli.cluster_ids.clone();
    if let Some(path) = &cli.clusters {
        let from_stdin = path.as_os_str() == "-";
        if from_stdin
            && cli.operator.is_none()
            && cli.file.as_ref().is_none_or(|f| f.as_os_str() == "-")
        {
            return Err(Error::usage(
                "--clusters - and the add-on document cannot both come from stdin: name the document, or use --operator",
            ));
        }
        let source = Source::read(Some(path))?;
        let listed = parse_cluster_list(&source.text);
        if listed.is_empty() {
            return Err(Error::input(source.location(), "lists no cluster id"));
        }
        ids.extend(listed);
    }
    let mut seen = std::collections::BTreeSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if ids.is_empty() {
        return Err(Error::usage(
            "no cluster to watch: give --cluster-id ID (repeatable) or --clusters FILE",
        ));
    }
    for id in &ids {
        check_cluster_id(id).map_err(Error::usage)?;
    }
    Ok(ids)
}

fn prometheus_client(cli: &Cli, url: &str) -> Result<Client> {
    let ca_pem = match &cli.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|err| cannot_read(path, "CA file", &err))?),
        None => None,
    };
    let tls = TlsOptions {
        ca_pem,
        insecure: cli.insecure,
        ..TlsOptions::default()
    };
    let token = match &cli.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| cannot_read(path, "token file", &err))?;
            let token = text.trim().to_string();
            if token.is_empty() {
                return Err(Error::in_file(path, "the token file is empty"));
            }
            Some(Secret::new(token))
        }
        None => std::env::var("PROMETHEUS_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(|t| Secret::new(t.trim())),
    };
    // Polls retry on their own schedule; a short retry covers a dropped connection.
    let retry = RetryPolicy {
        attempts: 2,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(1),
    };
    Ok(Client::new(url, &tls)?.with_token(token).with_retry(retry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
