//! A stand-alone fake OCM for the demo: `fake-ocm [ADDR]` serves the
//! clusters_mgmt add-on API and a token endpoint on loopback and prints its
//! URL on the first line of stdout, then serves until killed.
//!
//! Use `OCM_REFRESH_TOKEN=fake-ocm-refresh-token` with
//! `--token-url <URL>/token`, or `OCM_TOKEN=fake-ocm-static-access-token`.

use std::io::Write;

use addon_flow_testservers::ocm::{FakeOcm, ACCESS_TOKEN, REFRESH_TOKEN};

fn main() -> std::process::ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let ocm = match FakeOcm::start_on(&addr) {
        Ok(ocm) => ocm,
        Err(err) => {
            eprintln!("fake-ocm: error: cannot listen on {addr}: {err}");
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
