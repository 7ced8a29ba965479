//! scripts/demo.sh, the README's first command, run as a user whose shell is
//! set up for the real services: it must use only its own stand-ins and
//! credentials (issue 21: with OCM_TOKEN set it failed with a 401 from its
//! own OCM stand-in).

use std::process::Command;

use e2e::{repo_root, RunExt};

/// Settings files that point at a dead endpoint with a bad token, as an
/// `ocm login` leaves them.
fn poisoned_ocm_config(dir: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("ocm.json");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        &config,
        r#"{"access_token":"poison","refresh_token":"poison","url":"http://127.0.0.1:9","token_url":"http://127.0.0.1:9/token","client_id":"poison"}"#,
    )
    .unwrap();
    config
}

#[test]
fn the_demo_uses_only_its_own_credentials_and_endpoints() {
    if !e2e::telemetry::installed("the demo") {
        return;
    }
    let binaries = e2e::bin_dir();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let xdg = dir.path().join("xdg");
    poisoned_ocm_config(&home.join(".config/ocm"));
    let ocm_config = poisoned_ocm_config(&xdg.join("ocm"));
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    std::fs::write(
        home.join(".docker/config.json"),
        r#"{"auths":{"127.0.0.1":{"auth":"cG9pc29uOnBvaXNvbg=="}}}"#,
    )
    .unwrap();
    let dead = "http://127.0.0.1:9";
    let stdout = Command::new("bash")
        .arg(repo_root().join("scripts/demo.sh"))
        .env("DEMO_BIN_DIR", binaries)
        .env("OCM_TOKEN", "poison")
        .env("OCM_REFRESH_TOKEN", "poison")
        .env("OCM_CLIENT_ID", "poison")
        .env("OCM_CLIENT_SECRET", "poison")
        .env("OCM_URL", dead)
        .env("OCM_TOKEN_URL", format!("{dead}/token"))
        .env("OCM_CONFIG", &ocm_config)
        .env("KUBECONFIG", "/nonexistent/kubeconfig:/also/missing")
        .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
        .env("PROMETHEUS_URL", dead)
        .env("PROMETHEUS_TOKEN", "poison")
        .env("QUAY_USER", "poison")
        .env("QUAY_APIKEY", "poison")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &xdg)
        .env("http_proxy", dead)
        .env("HTTP_PROXY", dead)
        .run()
        .success()
        .stdout();
    assert!(stdout.contains("demo finished"), "{stdout}");
    assert!(stdout.contains("cluster-1 reached ready"), "{stdout}");
}

#[test]
fn the_demo_shows_the_build_as_cargo_draws_it() {
    let script = std::fs::read_to_string(repo_root().join("scripts/demo.sh")).unwrap();
    let builds: Vec<&str> = script
        .lines()
        .filter(|line| line.trim_start().starts_with("cargo build"))
        .collect();
    assert_eq!(builds.len(), 1, "{builds:?}");
    assert!(
        !builds[0].contains(" -q") && !builds[0].contains("--quiet"),
        "minutes of building with no output: {}",
        builds[0]
    );
    assert!(
        !builds[0].contains("--workspace"),
        "only what the demo runs: {}",
        builds[0]
    );
}
