//! The loopback test servers as the end-to-end tests meet them: fake OCM
//! (misbehaving as a fault plan says, when asked) and the tools signed in to
//! it, fake Hive (the Kubernetes API test server) and hive-apply pointed at
//! it by a kubeconfig, and the add-on document they are fed. One copy, so
//! how a test gives a tool its server and its credentials changes in one
//! place.
//!
//! Every server here binds a free loopback port and answers before its
//! starter returns: there is nothing to wait for.

use std::path::{Path, PathBuf};

use addon_flow_testservers::faults::FaultPlan;
use addon_flow_testservers::kube::KubeServer;
use addon_flow_testservers::ocm::{FakeOcm, ACCESS_TOKEN, REFRESH_TOKEN};
use addon_flow_testservers::ocm_controller::ControllerOptions;

use crate::{repo_root, tool, write_kubeconfig, Run, RunExt, OCM_CREDENTIAL_VARS};

/// The bearer token fake Hive accepts unless a test says otherwise
/// (`KubeOptions::default().tokens`).
pub const HIVE_TOKEN: &str = "test-token";

/// The example add-on's stage `addon.yaml`.
pub fn example_addon() -> PathBuf {
    repo_root().join("examples/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml")
}

/// The example add-on's document as `addon-validate -o json` writes it,
/// saved as `dir/addon.json`: what ocm-post publishes to fake OCM and
/// `csv-wait --source ocm` watches.
pub fn example_document(dir: &Path) -> PathBuf {
    let validated = tool("addon-validate")
        .arg(example_addon())
        .args(["-o", "json"])
        .run()
        .success();
    let path = dir.join("addon.json");
    std::fs::write(&path, &validated.output.stdout)
        .unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
    path
}

// ------------------------------------------------------------- fake OCM

/// `tool_name` with no OCM credential but what the test gives it, and
/// `home` as HOME (so no `~/.config/ocm` of the machine's is read).
pub fn without_ocm_credentials(tool_name: &str, home: &Path) -> assert_cmd::Command {
    let mut command = tool(tool_name);
    for var in OCM_CREDENTIAL_VARS {
        command.env_remove(var);
    }
    command.env("HOME", home).env_remove("XDG_CONFIG_HOME");
    command
}

/// `tool_name` whose only OCM credential is fake OCM's static access token.
pub fn with_ocm_token(tool_name: &str, home: &Path) -> assert_cmd::Command {
    let mut command = without_ocm_credentials(tool_name, home);
    command.env("OCM_TOKEN", ACCESS_TOKEN);
    command
}

/// `tool_name` signing in with fake OCM's refresh token at `ocm`'s own
/// token endpoint (so a fault plan of `ocm` starts with the token requests).
pub fn with_ocm_refresh_token(tool_name: &str, home: &Path, ocm: &FakeOcm) -> assert_cmd::Command {
    let mut command = without_ocm_credentials(tool_name, home);
    command
        .env("OCM_REFRESH_TOKEN", REFRESH_TOKEN)
        .env("OCM_TOKEN_URL", ocm.token_url());
    command
}

/// fake OCM on a free port, misbehaving as `faults` says (the plan is
/// shared: the test reads its counters and may change it).
pub fn faulty_ocm(faults: &FaultPlan) -> FakeOcm {
    FakeOcm::start_acting(
        "127.0.0.1:0",
        ControllerOptions {
            faults: faults.clone(),
            ..ControllerOptions::default()
        },
    )
    .expect("fake OCM starts")
}

/// `ocm-post --url OCM -o json` with the static token: one JSON line a result.
pub fn ocm_post(home: &Path, ocm: &FakeOcm) -> assert_cmd::Command {
    let mut command = with_ocm_token("ocm-post", home);
    command.args(["--url", &ocm.url(), "-o", "json"]);
    command
}

/// `csv-wait --source ocm` with the static token, watching `cluster` on
/// `ocm`, polling every 100 ms; the test adds its limits and the document.
pub fn csv_wait_from_ocm(home: &Path, ocm: &FakeOcm, cluster: &str) -> assert_cmd::Command {
    let mut command = with_ocm_token("csv-wait", home);
    command
        .args([
            "--source",
            "ocm",
            "--url",
            &ocm.url(),
            "--cluster-id",
            cluster,
        ])
        .args(["--interval", "100ms"]);
    command
}

// ------------------------------------------------------------ fake Hive

/// hive-apply with the kubeconfig at `kubeconfig`, `input` on its stdin and
/// a minute to finish.
pub fn hive_apply_at(kubeconfig: &Path, input: &[u8], args: &[&str]) -> Run {
    tool("hive-apply")
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .write_stdin(input.to_vec())
        .timeout(std::time::Duration::from_secs(60))
        .run()
}

/// hive-apply against `hive`, found through `KUBECONFIG`: a kubeconfig with
/// the bearer [`HIVE_TOKEN`], (re)written into `dir`.
pub fn hive_apply(dir: &Path, hive: &KubeServer) -> assert_cmd::Command {
    let kubeconfig = write_kubeconfig(dir, hive, HIVE_TOKEN);
    let mut command = tool("hive-apply");
    command.env("KUBECONFIG", kubeconfig);
    command
}
