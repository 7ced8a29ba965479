//! ocm-post: publish an add-on to OCM as managed-tenants does.
//!
//! Reads an add-on document (or an addon.yaml in a managed-tenants tree),
//! builds the clusters_mgmt add-on payload and, when the add-on uses an image
//! set, the version payload; reads each from OCM first, then creates it with
//! POST when missing or updates it with PATCH when a field we send differs.
//! Reads a stream of add-ons too. Prints what OCM answered.
//!
//! On the cluster side (`--install`, `--installation`, `--uninstall`,
//! `--inquire`), it installs the add-on on clusters and reads, removes or
//! inquires about those installations (see `install`).

mod api_url;
mod fleet;
mod install;
mod planned;
mod prune;
pub mod publish;
pub mod sync;

use std::path::PathBuf;

use clap::{ArgGroup, Parser, ValueEnum};
use serde_json::{json, Value};

use common::cli::io::{write_document, Format, OutputArgs};
use common::remote::http::{Client, RetryPolicy, TlsOptions};
use common::remote::installation::{
    check_parameters, parse_assignment, parse_parameters_file, ParameterValue,
};
use common::remote::ocm::Service;
use common::remote::ocm_auth::{self, OcmApi, TokenProvider};
use common::{Error, Result};

use install::ClusterAction;
use publish::PlannedRequest;

const AFTER_HELP: &str = "\
Credentials (as the ocm CLI finds them; never on the command line):
  OCM_TOKEN                          an access token, sent as is
  OCM_REFRESH_TOKEN / OCM_OFFLINE_TOKEN  an offline token, exchanged at --token-url
  OCM_CLIENT_ID + OCM_CLIENT_SECRET  a service account, exchanged at --token-url
  $OCM_CONFIG or ~/.config/ocm/ocm.json  what `ocm login` saved

Examples:
  addon-validate addons/my-addon/metadata/stage/addon.yaml | ocm-post --url stage
  ocm-post --dry-run addons/my-addon/metadata/stage/addon.yaml
  ocm-post --url stage --id my-addon --disable
  ocm-post --url stage --id my-addon --show -o yaml
  ocm-post --url stage --install 049ea229-... --param size=small addon.json
  ocm-post --url stage --install c1 --install c2 --params params.yaml addon.json
  ocm-post --url stage --id my-addon --installation 049ea229-... -o json
  ocm-post --url stage --id my-addon --uninstall 049ea229-...
  ocm-post --url stage --id my-addon --inquire 049ea229-...
  addon-validate --all tree --env stage --documents | ... | ocm-post --url stage --prune

Exit codes: 0 done, 1 invalid add-on or installation parameters (nothing is sent),
--inquire answered no, or --prune refused (nothing deleted); 2 usage (no credentials, bad flags), 3 OCM or the token
endpoint refused or could not be reached. With several clusters, the worst.";

#[derive(Parser, Debug)]
#[command(name = "ocm-post", version, about, after_help = AFTER_HELP)]
#[command(group(ArgGroup::new("action").args([
    "enable", "disable", "delete", "show", "install", "installation", "uninstall", "inquire"
])))]
struct Cli {
    /// The add-on document (JSON/YAML) or an addons/<id>/metadata/<env>/addon.yaml;
    /// `-` or nothing reads stdin. Not read when --id is given.
    file: Option<PathBuf>,

    /// OCM API URL, or `production`, `stage`, `integration`.
    /// Default: $OCM_URL, else the url `ocm login` saved. A write needs one
    /// of them; --dry-run, --diff, --show, --installation and --inquire
    /// otherwise read production, and say so.
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// The longest one request to OCM or the token endpoint may take (each
    /// try); a server that never answers is an error (exit 3) after this long.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = common::text::time::parse_duration)]
    request_timeout: std::time::Duration,

    /// OAuth2 token endpoint for refresh tokens and client credentials.
    /// Default: $OCM_TOKEN_URL, else the saved one, else Red Hat SSO.
    #[arg(long, value_name = "URL")]
    token_url: Option<String>,

    /// Which OCM service to publish to: clusters_mgmt (what managed-tenants'
    /// add_addon uses) or the add-ons service (addons_mgmt).
    #[arg(long, value_enum, default_value_t = ServiceArg::Clusters)]
    service: ServiceArg,

    /// Print the requests (method, URL, body) instead of sending them.
    /// Needs no credentials.
    #[arg(long)]
    dry_run: bool,

    /// Publish only the add-on, not the version of its image set.
    #[arg(long)]
    no_version: bool,

    /// The add-on id for --enable, --disable, --delete and --show, instead
    /// of reading it from the document.
    #[arg(long, value_name = "ID")]
    id: Option<String>,

    /// Enable the add-on (PATCH enabled=true) instead of publishing it.
    #[arg(long)]
    enable: bool,

    /// Disable the add-on (PATCH enabled=false) instead of publishing it.
    #[arg(long)]
    disable: bool,

    /// Delete the add-on from OCM.
    #[arg(long)]
    delete: bool,

    /// Print the add-on as OCM has it, with its versions.
    #[arg(long)]
    show: bool,

    /// Install the add-on on this cluster (OCM's cluster id); repeatable.
    /// Installing again with the same parameters changes nothing; with
    /// other parameters, they are updated (PATCH).
    #[arg(long, value_name = "CLUSTER_ID")]
    install: Vec<String>,

    /// An installation parameter, checked against the add-on's
    /// addOnParameters before anything is sent; repeatable.
    #[arg(long = "param", value_name = "ID=VALUE", value_parser = parse_param, requires = "install")]
    params: Vec<ParameterValue>,

    /// Installation parameters from a YAML or JSON file (`id: value` lines,
    /// or OCM's {"items": [{"id", "value"}]}); --param wins over it.
    #[arg(long = "params", value_name = "FILE", requires = "install")]
    params_file: Option<PathBuf>,

    /// Print the add-on's installation on this cluster (state,
    /// state_description, versions, timestamps); repeatable.
    #[arg(long, value_name = "CLUSTER_ID")]
    installation: Vec<String>,

    /// Uninstall the add-on from this cluster; one that is not installed is
    /// success. Repeatable.
    #[arg(long, value_name = "CLUSTER_ID")]
    uninstall: Vec<String>,

    /// Ask OCM whether this cluster may install the add-on (exit 0 yes,
    /// 1 no with OCM's reason); repeatable.
    #[arg(long, value_name = "CLUSTER_ID")]
    inquire: Vec<String>,

    /// How many clusters (or add-ons of a stream) to work on at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,

    /// Compare each add-on (and version) with OCM's and print the
    /// differences (field, OCM's value, ours); change nothing.
    #[arg(long, conflicts_with = "dry_run")]
    diff: bool,

    /// Delete the add-ons OCM has that the environment no longer holds:
    /// those its inventory (the last document of `addon-validate --all`'s
    /// stream, passed on by every stage) does not list. Without an
    /// inventory of the whole environment nothing is deleted (exit 1), and
    /// the add-ons are still published. Without --prune they are only listed.
    #[arg(long)]
    prune: bool,

    /// The most add-ons --prune deletes in one run; above it nothing is
    /// deleted, the list is shown and the exit is 1.
    #[arg(long, value_name = "N", default_value_t = common::model::inventory::DEFAULT_MAX_DELETIONS, requires = "prune")]
    max_deletions: usize,

    /// Do not verify OCM's TLS certificate (test environments only).
    #[arg(long)]
    insecure: bool,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServiceArg {
    /// /api/clusters_mgmt/v1/addons
    Clusters,
    /// /api/addons_mgmt/v1/addons
    Addons,
}

fn parse_param(text: &str) -> std::result::Result<ParameterValue, String> {
    parse_assignment(text)
}

/// What one run of ocm-post does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// Create or update the add-on and its version from the document.
    Publish,
    /// PATCH `enabled`.
    SetEnabled(bool),
    Delete,
    Show,
    /// Something on clusters.
    OnClusters(ClusterAction, Vec<String>),
}

impl Action {
    fn of(cli: &Cli) -> Action {
        let on = |action, clusters: &Vec<String>| Action::OnClusters(action, clusters.clone());
        if cli.enable || cli.disable {
            Action::SetEnabled(cli.enable)
        } else if cli.delete {
            Action::Delete
        } else if cli.show {
            Action::Show
        } else if !cli.install.is_empty() {
            on(ClusterAction::Install, &cli.install)
        } else if !cli.installation.is_empty() {
            on(ClusterAction::Show, &cli.installation)
        } else if !cli.uninstall.is_empty() {
            on(ClusterAction::Uninstall, &cli.uninstall)
        } else if !cli.inquire.is_empty() {
            on(ClusterAction::Inquire, &cli.inquire)
        } else {
            Action::Publish
        }
    }

    /// Whether the action changes OCM. A write goes only to a URL chosen on
    /// purpose (`--url`, `OCM_URL`, `ocm login`), never to production by
    /// default; a read may (the `ocm` CLI's model: production only after an
    /// explicit `ocm login`).
    fn writes(&self, cli: &Cli) -> bool {
        match self {
            Action::Publish => !cli.diff && !cli.dry_run,
            Action::SetEnabled(_) | Action::Delete => true,
            Action::Show => false,
            Action::OnClusters(on, _) => {
                matches!(on, ClusterAction::Install | ClusterAction::Uninstall)
            }
        }
    }

    /// Whether `--id` may stand in for the document: every action on an
    /// existing add-on except installing, whose parameters are checked
    /// against the document's.
    fn takes_id(&self) -> bool {
        !matches!(
            self,
            Action::Publish | Action::OnClusters(ClusterAction::Install, _)
        )
    }
}

/// The command line: flags and help text, for `--help`, man pages and completions.
pub fn uu_app() -> clap::Command {
    common::cli::command::<Cli>()
}

/// What the man page says beyond `--help`.
pub const MAN: common::ManPage = common::ManPage {
    summary: "create or update an add-on in OCM (clusters_mgmt), and install it on clusters",
    environment: &[
        (
            "OCM_URL",
            "the OCM API URL, or production, stage, integration",
        ),
        ("OCM_TOKEN", "an access token"),
        (
            "OCM_REFRESH_TOKEN, OCM_OFFLINE_TOKEN",
            "a token exchanged at the token URL for access tokens",
        ),
        (
            "OCM_CLIENT_ID, OCM_CLIENT_SECRET",
            "client credentials exchanged at the token URL",
        ),
        ("OCM_TOKEN_URL", "the token URL (default sso.redhat.com)"),
        (
            "OCM_CONFIG",
            "the ocm CLI's settings file (default ~/.config/ocm/ocm.json)",
        ),
    ],
    files: &[(
        "~/.config/ocm/ocm.json",
        "the ocm CLI's login: tokens, URL, client id",
    )],
    examples: &[
        (
            "Publish an add-on to stage:",
            "ocm-post --url stage < addon.json",
        ),
        (
            "Show the request without sending it:",
            "ocm-post --dry-run addon.json",
        ),
        (
            "Install on two clusters with a parameter:",
            "ocm-post --url stage --install ID1 --install ID2 --param size=2 addon.json",
        ),
        (
            "Uninstall:",
            "ocm-post --url stage --id my-addon --uninstall ID1",
        ),
    ],
};

/// Runs ocm-post on a command line (the binary's whole `main`) and returns its exit code.
pub fn uumain(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    common::tool_main(args, &MAN, run)
}

fn run(cli: Cli) -> Result<()> {
    let service = match cli.service {
        ServiceArg::Clusters => Service::ClustersMgmt,
        ServiceArg::Addons => Service::AddonsMgmt,
    };
    let format = cli.output.format(Format::Yaml);
    let action = Action::of(&cli);
    if cli.id.is_some() && !action.takes_id() {
        return Err(Error::usage("--id goes with --enable, --disable, --delete, --show, --installation, --uninstall or --inquire; to publish or install, give the add-on document"));
    }
    if let Action::OnClusters(..) = &action {
        if service != Service::ClustersMgmt {
            return Err(Error::usage(
                "installations are a clusters_mgmt API: leave --service at clusters",
            ));
        }
    }
    check_ids(&cli, &action)?;
    if action == Action::Publish {
        return publish(&cli, service, format);
    }
    // Every other action works on one add-on: a document, or --id.
    let mut stream = match &cli.id {
        Some(_) => Vec::new(),
        None => common::cli::stream::read_addons(cli.file.as_deref())?,
    };
    if stream.len() > 1 {
        return Err(Error::usage(
            "--enable, --disable, --delete, --show and the cluster actions act on one add-on; give one document or --id",
        ));
    }
    let document = stream.pop().map(|item| item.document).transpose()?;
    let id = cli
        .id
        .clone()
        .or_else(|| document.as_ref().map(|d| d.metadata.id.clone()))
        .unwrap_or_default();
    let addon_path = service.addon_path(&id);
    // Parameters are checked before anything is sent, a dry run included.
    let parameters = match (&action, &document) {
        (Action::OnClusters(ClusterAction::Install, _), Some(document)) => {
            installation_parameters(&cli, document)?
        }
        _ => Vec::new(),
    };

    if cli.dry_run {
        let base = dry_run_url(&cli)?;
        let requests = match &action {
            Action::OnClusters(on, clusters) => {
                install::planned_requests(&base, *on, &id, clusters, &parameters)?
            }
            _ => dry_run_requests(&action, &base, &addon_path),
        };
        return write_document(&requests, format);
    }

    let (api, _) = connect(&cli, action.writes(&cli))?;
    match action {
        Action::SetEnabled(enabled) => {
            let body = json!({ "enabled": enabled });
            let response = api.call("PATCH", &addon_path, Some(&body))?;
            if !response.is_success() {
                return Err(api.refused("PATCH", &addon_path, &response));
            }
            common::cli::note_line(format_args!(
                "ocm-post: {} add-on {id}",
                if enabled { "enabled" } else { "disabled" }
            ));
            write_document(&api.body(&response)?, format)
        }
        Action::Delete => {
            let response = api.call("DELETE", &addon_path, None)?;
            if !response.is_success() {
                return Err(api.refused("DELETE", &addon_path, &response));
            }
            common::cli::note_line(format_args!("ocm-post: deleted add-on {id}"));
            Ok(())
        }
        Action::Show => show_addon(&api, &addon_path, format),
        Action::OnClusters(on, clusters) => install::run_on_clusters(
            &api,
            on,
            &id,
            &clusters,
            &parameters,
            usize::from(cli.jobs),
            format,
        ),
        Action::Publish => Err(Error::internal("publishing is not an action on one add-on")),
    }
}

/// Publishes the input's add-ons (a stream; one document is a stream of
/// one), or plans them with `--dry-run`, then lists, or with `--prune`
/// deletes, the add-ons OCM has beyond the environment's inventory.
fn publish(cli: &Cli, service: Service, format: Format) -> Result<()> {
    let options = fleet::Options {
        service,
        with_version: !cli.no_version,
        compare_only: cli.diff,
        jobs: usize::from(cli.jobs),
        prune: cli.prune.then_some(cli.max_deletions),
        source: match &cli.file {
            Some(path) if path.as_os_str() != "-" => path.display().to_string(),
            _ => "<stdin>".to_string(),
        },
    };
    if cli.dry_run {
        // Each add-on is planned as it is read; only its requests' place in
        // a temporary file and its id are kept until the stream ends.
        let reader = common::cli::stream::StreamReader::open(cli.file.as_deref())?;
        if !cli.prune {
            // Offline: no credentials, only the URL the requests would go to.
            let base = dry_run_url(cli)?;
            return fleet::plan_stream(
                planned::PlannedStream::read(&options, reader, &base)?,
                format,
            );
        }
        // A dry run of a prune reads OCM's add-on list to say what it would delete.
        let (api, base) = connect(cli, Action::Publish.writes(cli))?;
        let stream = planned::PlannedStream::read(&options, reader, &base)?;
        return fleet::plan_with_prune(&api, &options, stream, &base, format);
    }
    let stream = common::cli::stream::read_stream(cli.file.as_deref())?;
    let stream = common::cli::stream::Stream {
        items: fleet::refuse_repeated_ids(stream.items),
        inventory: stream.inventory,
    };
    if stream.items.is_empty() && !cli.prune {
        return Err(Error::usage("nothing to publish: give the add-on document"));
    }
    let (api, base) = connect(cli, Action::Publish.writes(cli))?;
    fleet::publish_stream(&api, &options, stream, &base, format)
}

/// The URL a dry run shows: the chosen one, else production (saying so).
fn dry_run_url(cli: &Cli) -> Result<String> {
    let env = |name: &str| std::env::var(name).ok();
    let saved = ocm_auth::resolve(&env, cli.token_url.as_deref())
        .ok()
        .and_then(|s| s.api_url);
    let chosen = api_url::resolve(cli.url.as_deref(), env("OCM_URL"), saved)?;
    Ok(api_url::or_production(
        chosen,
        "a dry run shows the requests with it; a write needs a chosen URL",
    ))
}

/// Signs in to OCM: the client and its base URL. A write needs a URL chosen
/// on purpose; a read may fall back to production.
fn connect(cli: &Cli, writes: bool) -> Result<(OcmApi, String)> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = ocm_auth::resolve(&env, cli.token_url.as_deref())?;
    let chosen = api_url::resolve(cli.url.as_deref(), env("OCM_URL"), settings.api_url.clone())?;
    let base = match (chosen, writes) {
        (Some(url), _) => url,
        (None, true) => return Err(api_url::not_chosen()),
        (None, false) => api_url::or_production(None, "reading it"),
    };
    let tls = TlsOptions {
        insecure: cli.insecure,
        ..TlsOptions::default()
    };
    let retry = RetryPolicy::default();
    let tokens =
        TokenProvider::new(settings, &tls, retry)?.with_request_timeout(cli.request_timeout);
    let client = Client::new(&base, &tls)?
        .with_retry(retry)
        .with_request_timeout(cli.request_timeout);
    Ok((OcmApi::new(client, tokens), base))
}

/// Every id the command line puts into a URL path (`--id`, the clusters),
/// checked before any request: `../../clusters/c9` or `victim#x` would name
/// another object than the one meant, and a cluster named twice would race.
fn check_ids(cli: &Cli, action: &Action) -> Result<()> {
    if let Some(id) = &cli.id {
        common::model::names::ocm_id("add-on id", id)
            .map_err(|err| Error::usage(format!("--id: {err}")))?;
    }
    if let Action::OnClusters(on, clusters) = action {
        let mut seen = std::collections::BTreeSet::new();
        for cluster in clusters {
            common::model::names::ocm_id("cluster id", cluster).map_err(Error::usage)?;
            // Twice at once would race (a random 409): one cluster, one outcome.
            if !seen.insert(cluster.as_str()) {
                return Err(Error::usage(format!(
                    "{} {cluster} is given more than once: give each cluster once",
                    on.flag()
                )));
            }
        }
    }
    Ok(())
}

/// The add-on as OCM has it, with its versions.
fn show_addon(api: &OcmApi, addon_path: &str, format: Format) -> Result<()> {
    let response = api.call("GET", addon_path, None)?;
    if !response.is_success() {
        return Err(api.refused("GET", addon_path, &response));
    }
    let mut addon = api.body(&response)?;
    let versions_path = format!("{addon_path}/versions");
    let response = api.call("GET", &versions_path, None)?;
    // Older OCM deployments have no versions endpoint: show the add-on alone.
    if response.is_success() {
        let versions: Value = api.body(&response)?;
        addon["versions"] = versions
            .get("items")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
    } else if response.status != 404 {
        return Err(api.refused("GET", &versions_path, &response));
    }
    write_document(&addon, format)
}

/// The installation's parameters: the file's, then each --param over them,
/// checked against the add-on's as OCM checks them, defaults filled in.
fn installation_parameters(
    cli: &Cli,
    document: &common::AddonDocument,
) -> Result<Vec<ParameterValue>> {
    let mut given: Vec<ParameterValue> = match &cli.params_file {
        Some(path) => {
            let source = common::cli::io::Source::read(Some(path))?;
            parse_parameters_file(&source.text, &source.location().to_string())?
        }
        None => Vec::new(),
    };
    let from_flags: std::collections::BTreeSet<&str> =
        cli.params.iter().map(|p| p.id.as_str()).collect();
    given.retain(|p| !from_flags.contains(p.id.as_str()));
    given.extend(cli.params.iter().cloned());
    check_parameters(document.parameters(), &given).map_err(|problems| {
        let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        Error::Invalid(format!(
            "cannot install {} (nothing was sent): {}",
            document.metadata.id,
            listed.join("; ")
        ))
    })
}

/// The one request `--dry-run` shows for an action on one add-on.
fn dry_run_requests(action: &Action, base: &str, addon_path: &str) -> Vec<PlannedRequest> {
    let (method, body) = match action {
        Action::SetEnabled(enabled) => ("PATCH", Some(json!({ "enabled": enabled }))),
        Action::Delete => ("DELETE", None),
        _ => ("GET", None),
    };
    vec![PlannedRequest::new(method, base, addon_path, body)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action_of(args: &[&str]) -> (Action, Cli) {
        let cli =
            Cli::try_parse_from(std::iter::once("ocm-post").chain(args.iter().copied())).unwrap();
        (Action::of(&cli), cli)
    }

    #[test]
    fn only_reads_may_go_to_production_by_default() {
        for (args, writes) in [
            (&["addon.json"][..], true),
            (&["--diff", "addon.json"], false),
            (&["--prune", "addon.json"], true),
            (&["--id", "a", "--enable"], true),
            (&["--id", "a", "--delete"], true),
            (&["--id", "a", "--show"], false),
            (&["--install", "c1", "addon.json"], true),
            (&["--id", "a", "--uninstall", "c1"], true),
            (&["--id", "a", "--installation", "c1"], false),
            (&["--id", "a", "--inquire", "c1"], false),
        ] {
            let (action, cli) = action_of(args);
            assert_eq!(action.writes(&cli), writes, "{args:?}");
        }
    }

    #[test]
    fn help_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
