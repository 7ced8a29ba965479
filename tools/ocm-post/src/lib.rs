//! ocm-post: publish an add-on to OCM as managed-tenants does.
//!
//! Reads an add-on document (or an addon.yaml in a managed-tenants tree),
//! builds the clusters_mgmt add-on payload and, when the add-on uses an image
//! set, the version payload; reads each from OCM first, then creates it with
//! POST when missing or updates it with PATCH when a field we send differs.
//! Reads a stream of add-ons too. Prints what OCM answered.

pub mod api;
pub mod publish;
pub mod sync;

use std::path::PathBuf;

use clap::{ArgGroup, Parser, ValueEnum};
use serde_json::{json, Value};

use common::http::{Client, RetryPolicy, TlsOptions};
use common::io::{write_document, Format, OutputArgs};
use common::ocm::Service;
use common::ocm_auth::{self, TokenProvider};
use common::{Error, Result};

use api::OcmApi;
use publish::{plan, PlannedRequest};

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

Exit codes: 0 done, 1 invalid add-on, 2 usage (no credentials, bad flags),
3 OCM or the token endpoint refused or could not be reached.";

#[derive(Parser, Debug)]
#[command(name = "ocm-post", version, about, after_help = AFTER_HELP)]
#[command(group(ArgGroup::new("action").args(["enable", "disable", "delete", "show"])))]
struct Cli {
    /// The add-on document (JSON/YAML) or an addons/<id>/metadata/<env>/addon.yaml;
    /// `-` or nothing reads stdin. Not read when --id is given.
    file: Option<PathBuf>,

    /// OCM API URL, or `production`, `stage`, `integration`.
    /// Default: $OCM_URL, else the url `ocm login` saved, else production.
    #[arg(long, value_name = "URL")]
    url: Option<String>,

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

    /// Compare each add-on (and version) with OCM's and print the
    /// differences (field, OCM's value, ours); change nothing.
    #[arg(long, conflicts_with = "dry_run")]
    diff: bool,

    /// Delete the add-ons OCM has that the input stream does not list (they
    /// are only listed without it). Give the whole environment's stream.
    #[arg(long)]
    prune: bool,

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

/// The command line: flags and help text, for `--help`, man pages and completions.
pub fn uu_app() -> clap::Command {
    common::cli::command::<Cli>()
}

/// What the man page says beyond `--help`.
pub const MAN: common::ManPage = common::ManPage {
    summary: "create or update an add-on in OCM (clusters_mgmt)",
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
    let env = |name: &str| std::env::var(name).ok();
    let acting_on_id = cli.enable || cli.disable || cli.delete || cli.show;
    if cli.id.is_some() && !acting_on_id {
        return Err(Error::usage("--id goes with --enable, --disable, --delete or --show; to publish, give the add-on document"));
    }
    // The add-ons: one document, or a stream of them (each published in turn).
    let mut stream = match (&cli.id, acting_on_id) {
        (Some(_), _) => Vec::new(),
        _ => common::stream::read_addons(cli.file.as_deref())?,
    };
    if acting_on_id && stream.len() > 1 {
        return Err(Error::usage(
            "--enable, --disable, --delete and --show act on one add-on; give one document or --id",
        ));
    }
    let document = match (acting_on_id && cli.id.is_none(), stream.pop()) {
        (true, Some(item)) => Some(item.document?),
        (_, Some(item)) => {
            stream.push(item);
            None
        }
        (_, None) => None,
    };
    let id = cli
        .id
        .clone()
        .or_else(|| document.as_ref().map(|d| d.metadata.id.clone()))
        .unwrap_or_default();
    let addon_path = format!("{}/{id}", service.addons_path());

    // A dry run needs no credentials, only the URL they would go to.
    let saved_url = || {
        ocm_auth::resolve(&env, cli.token_url.as_deref())
            .ok()
            .and_then(|s| s.api_url)
    };
    if cli.dry_run {
        let base = api_url(cli.url.as_deref(), env("OCM_URL"), saved_url())?;
        if acting_on_id {
            let requests = dry_run_requests(&cli, document.as_ref(), service, &base, &addon_path)?;
            return write_document(&requests, format);
        }
        let mut outcomes = common::stream::Outcomes::new("ocm-post", stream.len());
        let mut requests = Vec::new();
        for item in stream {
            let name = item.name();
            let planned = item.document.and_then(|document| {
                dry_run_requests(&cli, Some(&document), service, &base, &addon_path)
            });
            requests.extend(outcomes.record(&name, planned).unwrap_or_default());
        }
        write_document(&requests, format)?;
        return outcomes.finish();
    }

    let settings = ocm_auth::resolve(&env, cli.token_url.as_deref())?;
    let base = api_url(cli.url.as_deref(), env("OCM_URL"), settings.api_url.clone())?;
    let tls = TlsOptions {
        insecure: cli.insecure,
        ..TlsOptions::default()
    };
    let retry = RetryPolicy::default();
    let tokens = TokenProvider::new(settings, &tls, retry)?;
    let client = Client::new(&base, &tls)?.with_retry(retry);
    let mut api = OcmApi::new(client, tokens);

    if cli.enable || cli.disable {
        let body = json!({"enabled": cli.enable});
        let response = api.call("PATCH", &addon_path, Some(&body))?;
        if !response.is_success() {
            return Err(api.refused("PATCH", &addon_path, &response));
        }
        eprintln!(
            "ocm-post: {} add-on {id}",
            if cli.enable { "enabled" } else { "disabled" }
        );
        return write_document(&api.body(&response)?, format);
    }
    if cli.delete {
        let response = api.call("DELETE", &addon_path, None)?;
        if !response.is_success() {
            return Err(api.refused("DELETE", &addon_path, &response));
        }
        eprintln!("ocm-post: deleted add-on {id}");
        return Ok(());
    }
    if cli.show {
        let response = api.call("GET", &addon_path, None)?;
        if !response.is_success() {
            return Err(api.refused("GET", &addon_path, &response));
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
        return write_document(&addon, format);
    }

    if stream.is_empty() && !cli.prune {
        return Err(Error::usage("nothing to publish: give the add-on document"));
    }
    publish_stream(&mut api, &cli, service, stream, format)
}

/// Publishes (or, with --diff, compares) every add-on of the stream, then
/// lists the add-ons OCM has that the stream does not (deleted with --prune).
fn publish_stream(
    api: &mut OcmApi,
    cli: &Cli,
    service: Service,
    stream: Vec<common::stream::StreamItem>,
    format: Format,
) -> Result<()> {
    let total = stream.len();
    let mut outcomes = common::stream::Outcomes::new("ocm-post", total);
    let mut listed = std::collections::BTreeSet::new();
    let mut written = Vec::new();
    for item in stream {
        let name = item.name();
        if let Some(id) = &item.id {
            listed.insert(id.clone());
        }
        let result = item.document.and_then(|document| {
            listed.insert(document.metadata.id.clone());
            let steps = plan(&document, service, !cli.no_version)?;
            if cli.diff {
                let mut compared = Vec::new();
                for step in &steps {
                    compared.push(sync::compare_with_ocm(api, step)?.0);
                }
                return serde_json::to_value(compared).map_err(Error::internal);
            }
            let mut answered = sync::sync(api, &steps[0])?;
            if let Some(step) = steps.get(1) {
                // OCM links the version from the add-on (AddOn.version).
                answered["version"] = sync::sync(api, step)?;
            }
            Ok(answered)
        });
        if let Some(value) = outcomes.record(&name, result) {
            written.push(value);
        }
    }
    let collection = service.addons_path();
    if total < 2 && !cli.prune && !cli.diff {
        // One add-on published: the rest of OCM is not this run's business.
        return finish_publish(cli, written, format, outcomes);
    }
    let extra: Vec<String> = sync::list_ids(api, collection)?
        .into_iter()
        .filter(|id| !listed.contains(id))
        .collect();
    if !extra.is_empty() {
        eprintln!(
            "ocm-post: {} add-on(s) in OCM are not in the input: {}{}",
            extra.len(),
            extra.join(", "),
            if cli.prune && !cli.diff {
                ""
            } else {
                " (not deleted; --prune deletes them)"
            }
        );
    }
    if cli.prune && !cli.diff {
        for id in &extra {
            outcomes.record(id, sync::delete(api, collection, id));
        }
    }
    finish_publish(cli, written, format, outcomes)
}

/// Writes what OCM answered (or, with --diff, the comparisons) and the
/// stream's exit status.
fn finish_publish(
    cli: &Cli,
    written: Vec<Value>,
    format: Format,
    outcomes: common::stream::Outcomes,
) -> Result<()> {
    if cli.diff {
        // One comparison list per add-on: flattened, one record per object.
        let records: Vec<Value> = written
            .into_iter()
            .flat_map(|v| v.as_array().cloned().unwrap_or_default())
            .collect();
        common::stream::write_documents(&records, format)?;
    } else if !written.is_empty() {
        common::stream::write_documents(&written, format)?;
    }
    outcomes.finish()
}

/// The requests a run would send, for `--dry-run`. A create that meets an
/// existing object becomes a PATCH without `id`; that is said on stderr.
fn dry_run_requests(
    cli: &Cli,
    document: Option<&common::AddonDocument>,
    service: Service,
    base: &str,
    addon_path: &str,
) -> Result<Vec<PlannedRequest>> {
    let url = |path: &str| format!("{base}{path}");
    let single = |method: &str, body: Option<Value>| {
        Ok(vec![PlannedRequest {
            method: method.to_string(),
            url: url(addon_path),
            body,
        }])
    };
    if cli.enable || cli.disable {
        return single("PATCH", Some(json!({"enabled": cli.enable})));
    }
    if cli.delete {
        return single("DELETE", None);
    }
    if cli.show {
        return single("GET", None);
    }
    let Some(document) = document else {
        return Err(Error::usage("nothing to publish: give the add-on document"));
    };
    eprintln!("ocm-post: dry run; an object that already exists (409) is updated with PATCH <collection>/<id>, without `id`");
    Ok(plan(document, service, !cli.no_version)?
        .into_iter()
        .map(|step| PlannedRequest {
            method: "POST".to_string(),
            url: url(&step.collection),
            body: Some(step.body),
        })
        .collect())
}

/// `--url` with the ocm CLI's environment aliases.
fn api_url(flag: Option<&str>, env: Option<String>, saved: Option<String>) -> Result<String> {
    let chosen = flag
        .map(str::to_string)
        .or(env.filter(|u| !u.is_empty()))
        .or(saved);
    let url = match chosen.as_deref() {
        None | Some("production") | Some("prod") => "https://api.openshift.com".to_string(),
        Some("stage") | Some("staging") => "https://api.stage.openshift.com".to_string(),
        Some("integration") | Some("int") => "https://api.integration.openshift.com".to_string(),
        Some(other) if other.starts_with("http://") || other.starts_with("https://") => {
            other.trim_end_matches('/').to_string()
        }
        Some(other) => return Err(unknown_url(other)),
    };
    Ok(url)
}

fn unknown_url(text: &str) -> Error {
    Error::usage(format!(
        "--url {text:?} is neither an http(s) URL nor one of production, stage, integration"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_aliases_follow_the_ocm_cli() {
        assert_eq!(
            api_url(Some("stage"), None, None).unwrap(),
            "https://api.stage.openshift.com"
        );
        assert_eq!(
            api_url(None, None, None).unwrap(),
            "https://api.openshift.com"
        );
        assert_eq!(
            api_url(None, Some("integration".into()), None).unwrap(),
            "https://api.integration.openshift.com"
        );
        assert_eq!(
            api_url(None, None, Some("http://127.0.0.1:9/".into())).unwrap(),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            api_url(Some("staeg"), None, None)
                .unwrap_err()
                .exit_status() as u8,
            2
        );
    }

    #[test]
    fn help_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
