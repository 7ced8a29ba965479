//! fake-hive: the Kubernetes API test server as a program, for the demo and
//! for trying hive-apply by hand. Prints its URL and token on stdout (and
//! writes a kubeconfig with `--kubeconfig-out FILE`), then serves until killed.
//!
//! Usage: fake-hive [--listen 127.0.0.1:0] [--token T] [--latency-ms N]
//!                  [--sync-delay-ms N] [--kubeconfig-out FILE] [--faults PLAN]
//!                  [--namespace NS]...
//!                  [--tls-cert CERT.pem --tls-key KEY.pem [--tls-ca CA.pem] [--tls-client-ca CA.pem]]
//!
//! The namespaces `default`, `kube-system`, `kube-public` and `hive` exist
//! from the start; `--namespace NS` (repeatable) adds one, as a cluster whose
//! ClusterDeployments live there would have it. Anything namespaced created
//! elsewhere is refused with 404 `namespaces "NS" not found`, as a real API
//! server refuses it.
//!
//! `--faults 500x3,429:retry-after=1,reset,slow=30s,truncate,hang,html,huge,ok`
//! makes the next requests misbehave, one step each, then serves normally.

use std::time::Duration;

use addon_flow_testservers::faults::FaultPlan;
use addon_flow_testservers::http::TlsIdentity;
use addon_flow_testservers::kube::{KubeOptions, KubeServer};

/// A real API server runs on machines of its own; this one shares the
/// bench's two cores with the client it answers. Under glibc's malloc each
/// connection thread's arena grew its heap a little at a time (sysmalloc
/// and mprotect took a third of the server's CPU while hive-apply stored
/// 2,000 objects); mimalloc's per-thread pages do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    addon_flow_testservers::program_main("fake-hive", None, run)
}

fn run() -> Result<(), String> {
    let mut listen = "127.0.0.1:0".to_string();
    let mut options = KubeOptions::default();
    let mut kubeconfig_out = None;
    let mut tls_cert = None;
    let mut tls_key = None;
    let mut tls_ca = None;
    let mut tls_client_ca = None;
    let mut args = std::env::args().skip(1);
    let millis = |value: Option<String>, flag: &str| -> Result<Duration, String> {
        value
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .ok_or_else(|| format!("{flag} needs a number of milliseconds"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs HOST:PORT")?,
            "--token" => options.tokens = vec![args.next().ok_or("--token needs a value")?],
            "--latency-ms" => options.latency = millis(args.next(), "--latency-ms")?,
            "--sync-delay-ms" => options.sync_delay = millis(args.next(), "--sync-delay-ms")?,
            "--namespace" => {
                let namespace = args.next().ok_or("--namespace needs a name")?;
                common::model::names::dns1123_label(&namespace)
                    .map_err(|why| format!("--namespace {namespace:?}: a namespace name {why}"))?;
                options.namespaces.push(namespace);
            }
            "--faults" => {
                options.faults = FaultPlan::parse(&args.next().ok_or("--faults needs a plan")?)?
            }
            "--kubeconfig-out" => {
                kubeconfig_out = Some(args.next().ok_or("--kubeconfig-out needs a file")?)
            }
            "--tls-cert" => tls_cert = Some(args.next().ok_or("--tls-cert needs a PEM file")?),
            "--tls-key" => tls_key = Some(args.next().ok_or("--tls-key needs a PEM file")?),
            "--tls-ca" => tls_ca = Some(args.next().ok_or("--tls-ca needs a PEM file")?),
            "--tls-client-ca" => {
                tls_client_ca = Some(args.next().ok_or("--tls-client-ca needs a PEM file")?)
            }
            "-h" | "--help" => {
                println!("fake-hive [--listen 127.0.0.1:0] [--token T] [--latency-ms N] [--sync-delay-ms N] [--kubeconfig-out FILE] [--faults PLAN] [--namespace NS]... [--tls-cert CERT.pem --tls-key KEY.pem [--tls-ca CA.pem] [--tls-client-ca CA.pem]]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    let token = options.tokens.first().cloned().unwrap_or_default();
    let read = |path: &str| std::fs::read(path).map_err(|err| format!("cannot read {path}: {err}"));
    let server = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => {
            let identity = TlsIdentity {
                cert_pem: read(&cert)?,
                key_pem: read(&key)?,
                ca_pem: tls_ca.as_deref().map(read).transpose()?,
                client_ca_pem: tls_client_ca.as_deref().map(read).transpose()?,
            };
            KubeServer::start_tls_on(&listen, options, &identity)
        }
        (None, None) => KubeServer::start_on(&listen, options),
        _ => return Err("--tls-cert and --tls-key go together".into()),
    }
    .map_err(|err| format!("cannot serve on {listen}: {err}"))?;
    if let Some(path) = kubeconfig_out {
        std::fs::write(&path, server.kubeconfig(&token))
            .map_err(|err| format!("cannot write {path}: {err}"))?;
    }
    println!("url={}", server.url());
    println!("token={token}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server.wait();
    Ok(())
}
