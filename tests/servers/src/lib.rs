//! Loopback servers that speak the published APIs addon-flow talks to but
//! that cannot run here (Hive's Kubernetes API, OCM's clusters_mgmt). The
//! end-to-end tests start them on free ports; the demo runs them as programs.

pub mod cluster;
pub mod faults;
pub mod http;
pub mod kube;
pub mod ocm;
pub mod ocm_controller;
pub mod registry;

/// The `main` of a server program: runs `run`, and on an error prints
/// `PROGRAM: error: MESSAGE` (and the usage, when given) and exits 2.
pub fn program_main(
    program: &str,
    usage: Option<&str>,
    run: impl FnOnce() -> Result<(), String>,
) -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            let usage = usage.map(|usage| format!("\nusage: {usage}"));
            eprintln!("{program}: error: {message}{}", usage.unwrap_or_default());
            std::process::ExitCode::from(2)
        }
    }
}
