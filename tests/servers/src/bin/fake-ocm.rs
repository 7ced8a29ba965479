//! A stand-alone fake OCM for the demo: serves the clusters_mgmt add-on and
//! installation API and a token endpoint on loopback, prints its URL on the
//! first line of stdout, then serves until killed.
//!
//! Usage: fake-ocm [ADDR] [--cluster ID=NAMESPACE/NAME]... [--document ADDON.json]...
//!                 [--hive-url URL [--hive-token T]] [--prometheus URL] [--interval-ms N]
//!                 [--faults PLAN]
//!
//! `--faults 500x3,429:retry-after=1,reset,slow=30s,truncate,hang,html,huge,ok`
//! makes the next requests misbehave, one step each, then serves normally.
//!
//! With `--cluster`, it acts as OCM on an install for those clusters: writes
//! the add-on's SyncSet (rendered from the `--document` of that add-on) into
//! the Hive API, follows the cluster's telemetry in `--prometheus`, and moves
//! the installation's state.
//!
//! Use `OCM_REFRESH_TOKEN=fake-ocm-refresh-token` with
//! `--token-url <URL>/token`, or `OCM_TOKEN=fake-ocm-static-access-token`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use addon_flow_testservers::faults::FaultPlan;
use addon_flow_testservers::ocm::{FakeOcm, ACCESS_TOKEN, REFRESH_TOKEN};
use addon_flow_testservers::ocm_controller::ControllerOptions;

const USAGE: &str = "fake-ocm [ADDR] [--cluster ID=NAMESPACE/NAME]... [--document ADDON.json]... \
[--hive-url URL [--hive-token T]] [--prometheus URL] [--interval-ms N] [--faults PLAN]";

fn main() -> std::process::ExitCode {
    let (addr, options) = match parse(std::env::args().skip(1)) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!("{USAGE}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("fake-ocm: error: {message}\nusage: {USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let ocm = match FakeOcm::start_acting(&addr, options) {
        Ok(ocm) => ocm,
        Err(err) => {
            eprintln!("fake-ocm: error: cannot serve on {addr}: {err}");
            return std::process::ExitCode::from(3);
        }
    };
    println!("{}", ocm.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "fake-ocm: token endpoint {} (refresh token {REFRESH_TOKEN:?}); static access token {ACCESS_TOKEN:?}",
        ocm.token_url()
    );
    ocm.wait();
    std::process::ExitCode::SUCCESS
}

fn parse(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<(String, ControllerOptions)>, String> {
    let mut addr = "127.0.0.1:0".to_string();
    let mut options = ControllerOptions {
        interval: Duration::from_millis(500),
        ..ControllerOptions::default()
    };
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().ok_or(format!("{arg} needs {what}"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => addr = value("HOST:PORT")?,
            "--cluster" => {
                let text = value("ID=NAMESPACE/NAME")?;
                let (id, cd) = text
                    .split_once('=')
                    .ok_or(format!("--cluster {text:?} is not ID=NAMESPACE/NAME"))?;
                options.clusters.insert(id.to_string(), cd.parse()?);
            }
            "--document" => options.add_document(Path::new(&value("a file")?))?,
            "--hive-url" => options.hive_url = Some(value("a URL")?),
            "--hive-token" => options.hive_token = Some(value("a token")?),
            "--prometheus" => options.prometheus_url = Some(value("a URL")?),
            "--faults" => options.faults = FaultPlan::parse(&value("a plan")?)?,
            "--interval-ms" => {
                options.interval = Duration::from_millis(
                    value("milliseconds")?
                        .parse()
                        .map_err(|_| "--interval-ms needs a number")?,
                )
            }
            other if !other.starts_with('-') => addr = other.to_string(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some((addr, options)))
}
