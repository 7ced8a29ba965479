//! Injected faults, for every remote client: the test servers misbehave as
//! a fault plan says (`addon_flow_testservers::faults`), and the tools must
//! retry what is worth retrying (5xx, 429 with `Retry-After`, resets) with
//! capped backoff, bound every request (`--request-timeout`), refuse answers
//! that are not the API's (HTML, truncated JSON, a 100 MB body), and, after
//! any fault, finish the job when the same command runs again.
//!
//! Assertions are on exit codes, messages and the requests the servers saw,
//! never on how long something took.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use addon_flow_testservers::faults::FaultPlan;
use addon_flow_testservers::http::{HttpRequest, HttpResponse, Server};
use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use addon_flow_testservers::ocm::{FakeOcm, ACCESS_TOKEN};
use addon_flow_testservers::ocm_controller::ControllerOptions;
use e2e::{repo_root, tool};
use serde_json::Value;

/// What a run of a tool gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(command: &mut assert_cmd::Command) -> Run {
    let out = command.timeout(Duration::from_secs(120)).output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn plan(text: &str) -> FaultPlan {
    FaultPlan::parse(text).unwrap()
}

fn host_of(url: &str) -> &str {
    url.trim_start_matches("http://")
}

// ---------------------------------------------------------------- ocm-post

/// The example add-on's document (an add-on and its image set version: two requests).
fn example_document(dir: &Path) -> PathBuf {
    let output = tool("addon-validate")
        .arg(
            repo_root()
                .join("examples/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml"),
        )
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = dir.join("addon.json");
    std::fs::write(&path, &output.stdout).unwrap();
    path
}

fn fake_ocm(faults: &FaultPlan) -> FakeOcm {
    FakeOcm::start_acting(
        "127.0.0.1:0",
        ControllerOptions {
            faults: faults.clone(),
            ..ControllerOptions::default()
        },
    )
    .unwrap()
}

fn ocm_post(home: &Path, ocm: &FakeOcm) -> assert_cmd::Command {
    let mut command = tool("ocm-post");
    for var in [
        "OCM_REFRESH_TOKEN",
        "OCM_OFFLINE_TOKEN",
        "OCM_CLIENT_ID",
        "OCM_CLIENT_SECRET",
        "OCM_CONFIG",
        "OCM_URL",
        "OCM_TOKEN_URL",
    ] {
        command.env_remove(var);
    }
    command
        .env("OCM_TOKEN", ACCESS_TOKEN)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .args(["--url", &ocm.url(), "-o", "json"]);
    command
}

#[test]
fn ocm_post_retries_5xx_429_and_resets_then_succeeds() {
    let faults = plan("500x2,429:retry-after=1,reset");
    let ocm = fake_ocm(&faults);
    let dir = tempfile::tempdir().unwrap();
    let document = example_document(dir.path());
    let out = run(ocm_post(dir.path(), &ocm).arg(&document));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(faults.faulted(), 4);
    // Exactly four more requests than the same run against a server without faults.
    let clean = FaultPlan::default();
    let clean_ocm = fake_ocm(&clean);
    let clean_dir = tempfile::tempdir().unwrap();
    let baseline = run(ocm_post(clean_dir.path(), &clean_ocm).arg(&document));
    assert_eq!(baseline.code, Some(0), "{}", baseline.stderr);
    assert_eq!(faults.requests(), clean.requests() + 4, "{}", out.stderr);
    assert!(out.stderr.contains("HTTP 500; retrying"), "{}", out.stderr);
    // The 429's Retry-After (1 s) is the wait, not the backoff's 1 s by chance:
    // the third retry would otherwise wait 1.0 s too, so check the order.
    let waits: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.split("retrying in ").nth(1))
        .collect();
    assert_eq!(waits.len(), 4, "{}", out.stderr);
    assert!(waits[2].starts_with("1.0s"), "{waits:?}");
    assert!(ocm.addon("reference-addon").is_some());
}

#[test]
fn ocm_post_gives_up_after_its_capped_retries_with_exit_3() {
    let faults = plan("503x20");
    let ocm = fake_ocm(&faults);
    let dir = tempfile::tempdir().unwrap();
    let document = example_document(dir.path());
    let out = run(ocm_post(dir.path(), &ocm).arg(&document));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert_eq!(faults.requests(), 5, "five tries in all: {}", out.stderr);
    assert!(out.stderr.contains("HTTP 503"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn ocm_post_on_a_hanging_server_is_exit_3_naming_the_host_and_the_stage() {
    let faults = plan("hangx10");
    let ocm = fake_ocm(&faults);
    let dir = tempfile::tempdir().unwrap();
    let document = example_document(dir.path());
    let out = run(ocm_post(dir.path(), &ocm)
        .args(["--request-timeout", "300ms"])
        .arg(&document));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains(host_of(&ocm.url()))
            && out.stderr.contains(" /api/clusters_mgmt/v1/addons")
            && out.stderr.contains("no answer within 0.3s"),
        "{}",
        out.stderr
    );
    assert_eq!(
        faults.requests(),
        2,
        "a timed-out request is tried once more"
    );
}

#[test]
fn ocm_post_refuses_html_and_huge_answers_and_retries_truncated_ones() {
    for (fault, code, expected) in [
        ("html", 3, "not the expected JSON"),
        ("huge", 3, "larger than the 64 MiB we accept"),
        ("truncate", 0, "the answer broke off before its end"),
    ] {
        let faults = plan(fault);
        let ocm = fake_ocm(&faults);
        let dir = tempfile::tempdir().unwrap();
        let document = example_document(dir.path());
        let out = run(ocm_post(dir.path(), &ocm).arg(&document));
        assert_eq!(out.code, Some(code), "{fault}: {}", out.stderr);
        assert!(
            out.stderr.contains(expected) && out.stderr.contains(host_of(&ocm.url())),
            "{fault}: {}",
            out.stderr
        );
        if code == 0 {
            // The cut-short POST had created the add-on: the retry's 409 becomes an update.
            assert!(ocm.addon("reference-addon").is_some());
        } else {
            assert!(out.stdout.is_empty(), "{fault}: {}", out.stdout);
        }
    }
}

#[test]
fn ocm_post_interrupted_halfway_converges_when_run_again() {
    // The add-on is read (missing) and created, then OCM goes away before the version is.
    let faults = plan("okx2,resetx100");
    let ocm = fake_ocm(&faults);
    let dir = tempfile::tempdir().unwrap();
    let document = example_document(dir.path());
    let out = run(ocm_post(dir.path(), &ocm).arg(&document));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(ocm.addon("reference-addon").is_some());
    let posted_versions = || {
        ocm.requests()
            .iter()
            .filter(|r| r.path.contains("/versions"))
            .count()
    };
    assert_eq!(posted_versions(), 0);

    faults.replace([]);
    let out = run(ocm_post(dir.path(), &ocm).arg(&document));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let versions: Vec<Value> = ocm
        .requests()
        .iter()
        .filter(|r| r.path.contains("/versions"))
        .map(|r| r.body.clone())
        .collect();
    assert!(!versions.is_empty());
    let again = run(ocm_post(dir.path(), &ocm).arg(&document));
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(
        ocm.addon("reference-addon").map(|a| a["id"].clone()),
        Some("reference-addon".into())
    );
}

// -------------------------------------------------------------- hive-apply

fn kube_server(faults: &FaultPlan) -> KubeServer {
    KubeServer::start(KubeOptions {
        sync_delay: Duration::from_millis(100),
        faults: faults.clone(),
        ..KubeOptions::default()
    })
    .unwrap()
}

fn rendered_objects() -> Vec<u8> {
    let out = tool("syncset-render")
        .arg("tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml")
        .args(["--cluster-deployment", "cd-east/cluster-1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn hive_apply(dir: &Path, server: &KubeServer, input: &[u8], args: &[&str]) -> Run {
    let config = dir.join("kubeconfig");
    std::fs::write(&config, server.kubeconfig("test-token")).unwrap();
    run(tool("hive-apply")
        .env("KUBECONFIG", &config)
        .args(args)
        .write_stdin(input.to_vec()))
}

fn rendered_count(input: &[u8]) -> usize {
    let list: Value = serde_yaml::from_slice(input).unwrap();
    list["items"].as_array().unwrap().len()
}

#[test]
fn hive_apply_retries_5xx_429_and_resets_then_applies_everything() {
    let faults = plan("500x2,429:retry-after=1,reset");
    let server = kube_server(&faults);
    let dir = tempfile::tempdir().unwrap();
    let input = rendered_objects();
    let out = hive_apply(dir.path(), &server, &input, &["--concurrency", "1"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(faults.faulted(), 4);
    assert!(
        out.stderr.contains("HTTP 429; retrying in 1.0s"),
        "{}",
        out.stderr
    );
    assert_eq!(e2e::stored_objects(&server).len(), rendered_count(&input));
}

#[test]
fn hive_apply_on_a_hanging_server_is_exit_3_naming_the_host_and_the_stage() {
    let faults = plan("hangx10");
    let server = kube_server(&faults);
    let dir = tempfile::tempdir().unwrap();
    let out = hive_apply(
        dir.path(),
        &server,
        &rendered_objects(),
        &["--request-timeout", "300ms"],
    );
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains(host_of(&server.url()))
            && out.stderr.contains("GET /api")
            && out.stderr.contains("no answer within 0.3s"),
        "{}",
        out.stderr
    );
    assert_eq!(
        faults.requests(),
        2,
        "a timed-out request is tried once more"
    );
}

#[test]
fn hive_apply_refuses_html_and_huge_answers_and_retries_truncated_ones() {
    let input = rendered_objects();
    for (fault, code, expected) in [
        ("html", 3, "not the expected JSON"),
        ("huge", 3, "larger than the 64 MiB we accept"),
        ("truncate", 0, "the answer broke off before its end"),
    ] {
        let faults = plan(fault);
        let server = kube_server(&faults);
        let dir = tempfile::tempdir().unwrap();
        let out = hive_apply(dir.path(), &server, &input, &[]);
        assert_eq!(out.code, Some(code), "{fault}: {}", out.stderr);
        assert!(
            out.stderr.contains(expected) && out.stderr.contains(host_of(&server.url())),
            "{fault}: {}",
            out.stderr
        );
        // The refused discovery answer leaves its objects out; a rerun finishes.
        if code != 0 {
            assert!(
                e2e::stored_objects(&server).len() < rendered_count(&input),
                "{fault}"
            );
            let rerun = hive_apply(dir.path(), &server, &input, &[]);
            assert_eq!(rerun.code, Some(0), "{fault}: {}", rerun.stderr);
        }
        assert_eq!(
            e2e::stored_objects(&server).len(),
            rendered_count(&input),
            "{fault}"
        );
    }
}

#[test]
fn hive_apply_with_the_api_server_gone_mid_apply_converges_when_run_again() {
    // Discovery and a few objects go through, then every connection drops.
    let faults = plan("okx8,resetx1000");
    let server = kube_server(&faults);
    let dir = tempfile::tempdir().unwrap();
    let input = rendered_objects();
    let expected = rendered_count(&input);
    let out = hive_apply(dir.path(), &server, &input, &["--concurrency", "2"]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    let partial = e2e::stored_objects(&server).len();
    assert!(
        partial < expected,
        "{partial} of {expected} stored before the server went"
    );

    faults.replace([]);
    let out = hive_apply(dir.path(), &server, &input, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut keys = e2e::stored_objects(&server);
    assert_eq!(keys.len(), expected, "{keys:?}");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), expected, "every object stored once");
}

// ---------------------------------------------------------------- csv-wait

/// A Prometheus stand-in behind the fault layer: `/api/v1/query` says the
/// cluster's CSV succeeded.
fn faulty_prometheus(faults: &FaultPlan) -> Server {
    let ready = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "csv_succeeded", "_id": "c1", "name": "x.v1.0.0", "version": "1.0.0"}, "value": [1.0, "1"]}
    ]}});
    Server::start_faulty_on(
        "127.0.0.1:0",
        Arc::new(move |request: &HttpRequest| {
            if request.path == "/api/v1/query" {
                HttpResponse::json(200, &ready)
            } else {
                HttpResponse::new(404)
            }
        }),
        faults.clone(),
    )
    .unwrap()
}

fn csv_wait(server: &Server, extra: &[&str]) -> Run {
    run(tool("csv-wait")
        .env_remove("PROMETHEUS_TOKEN")
        .args([
            "--url",
            &server.url(),
            "-c",
            "c1",
            "--operator",
            "x",
            "--interval",
            "100ms",
        ])
        .args(extra))
}

#[test]
fn csv_wait_retries_5xx_429_and_resets_then_sees_ready() {
    let faults = plan("500x2,429:retry-after=1,reset");
    let server = faulty_prometheus(&faults);
    let out = csv_wait(&server, &["--timeout", "60s"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(faults.faulted(), 4);
    assert!(out.stdout.contains("\"ready\""), "{}", out.stdout);
}

#[test]
fn csv_wait_on_a_hanging_server_names_the_host_and_the_stage() {
    let faults = plan("hangx1000");
    let server = faulty_prometheus(&faults);
    let out = csv_wait(&server, &["--timeout", "3s", "--request-timeout", "300ms"]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains(host_of(&server.url()))
            && out.stderr.contains("/api/v1/query")
            && out.stderr.contains("no answer within 0.3s"),
        "{}",
        out.stderr
    );
}

/// An answer that is not the query API's ends the wait whatever its size:
/// an HTML page and a 100 MB body alike are exit 3 (a proxy's login page or
/// a wrong --url does not go away by polling until --timeout). A truncated
/// answer is a transport hiccup: retried.
#[test]
fn csv_wait_gives_up_on_html_and_huge_answers_alike_and_outlives_truncated_ones() {
    for (fault, code, expected) in [
        ("html", 3, "not a Prometheus API answer"),
        ("huge", 3, "larger than the 64 MiB we accept"),
        ("truncate", 0, "the answer broke off before its end"),
    ] {
        let faults = plan(fault);
        let server = faulty_prometheus(&faults);
        let out = csv_wait(&server, &["--timeout", "60s"]);
        assert_eq!(out.code, Some(code), "{fault}: {}", out.stderr);
        assert!(
            out.stderr.contains(expected) && out.stderr.contains(host_of(&server.url())),
            "{fault}: {}",
            out.stderr
        );
        assert_eq!(
            out.stdout.contains("\"ready\""),
            code == 0,
            "{fault}: {}",
            out.stdout
        );
    }
}

// ------------------------------------------------ the OCM token endpoint

/// ocm-post signing in with a refresh token at fake-ocm's token endpoint
/// (the same server, so the fault plan starts with the token requests).
fn ocm_post_with_refresh_token(home: &Path, ocm: &FakeOcm) -> assert_cmd::Command {
    let mut command = ocm_post(home, ocm);
    command
        .env_remove("OCM_TOKEN")
        .env(
            "OCM_REFRESH_TOKEN",
            addon_flow_testservers::ocm::REFRESH_TOKEN,
        )
        .env("OCM_TOKEN_URL", ocm.token_url());
    command
}

#[test]
fn ocm_post_retries_a_failing_token_endpoint_then_succeeds() {
    let faults = plan("500x2");
    let ocm = fake_ocm(&faults);
    let dir = tempfile::tempdir().unwrap();
    let document = example_document(dir.path());
    let out = run(ocm_post_with_refresh_token(dir.path(), &ocm).arg(&document));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(faults.faulted(), 2);
    assert_eq!(
        ocm.token_requests().len(),
        1,
        "the faulted tries never reached the token endpoint's handler"
    );
    assert!(
        out.stderr.contains("/token: POST") && out.stderr.contains("HTTP 500; retrying"),
        "{}",
        out.stderr
    );
    assert!(ocm.addon("reference-addon").is_some());
}

#[test]
fn ocm_post_on_a_hanging_token_endpoint_is_exit_3_naming_the_token_host() {
    let faults = plan("hangx10");
    let ocm = fake_ocm(&faults);
    let dir = tempfile::tempdir().unwrap();
    let document = example_document(dir.path());
    let out = run(ocm_post_with_refresh_token(dir.path(), &ocm)
        .args(["--request-timeout", "300ms"])
        .arg(&document));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains(host_of(&ocm.url()))
            && out.stderr.contains("/token")
            && out.stderr.contains("no answer within 0.3s"),
        "{}",
        out.stderr
    );
    assert!(ocm.requests().is_empty(), "no API request without a token");
    assert!(out.stdout.is_empty());
}

// ---------------------------------------------------------- slow answers

#[test]
fn ocm_post_waits_for_a_slow_answer_within_the_request_timeout() {
    let faults = plan("slow=200ms");
    let ocm = fake_ocm(&faults);
    let dir = tempfile::tempdir().unwrap();
    let document = example_document(dir.path());
    let out = run(ocm_post(dir.path(), &ocm)
        .args(["--request-timeout", "10s"])
        .arg(&document));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(faults.faulted(), 1);
    assert!(!out.stderr.contains("retrying"), "{}", out.stderr);
}

#[test]
fn ocm_post_on_an_answer_slower_than_the_request_timeout_fails_like_a_hang() {
    let faults = plan("slow=3sx2");
    let ocm = fake_ocm(&faults);
    let dir = tempfile::tempdir().unwrap();
    let document = example_document(dir.path());
    let out = run(ocm_post(dir.path(), &ocm)
        .args(["--request-timeout", "300ms"])
        .arg(&document));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains(host_of(&ocm.url()))
            && out.stderr.contains("/api/clusters_mgmt/v1/addons")
            && out.stderr.contains("no answer within 0.3s"),
        "{}",
        out.stderr
    );
    assert_eq!(
        faults.requests(),
        2,
        "a timed-out request is tried once more"
    );
}

// ------------------------------------------------------ retries exhausted

#[test]
fn hive_apply_gives_up_after_its_capped_retries_with_exit_3_naming_host_stage_and_status() {
    let faults = plan("500x20");
    let server = kube_server(&faults);
    let dir = tempfile::tempdir().unwrap();
    let out = hive_apply(dir.path(), &server, &rendered_objects(), &[]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    // Discovery asks each API group once, each request tried five times.
    let gave_up = out.stderr.matches("(4/4)").count() as u64;
    assert!(gave_up > 0, "{}", out.stderr);
    assert_eq!(
        faults.requests(),
        5 * gave_up,
        "five tries each: {}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("hive-apply: error: {}: ", server.url()))
            && out.stderr.contains("discovery of v1: HTTP 500"),
        "the error names the host, the stage and the last status: {}",
        out.stderr
    );
    assert!(e2e::stored_objects(&server).is_empty());
}

#[test]
fn csv_wait_with_every_poll_failing_times_out_naming_the_host_and_the_last_status() {
    let faults = plan("500x1000");
    let server = faulty_prometheus(&faults);
    let out = csv_wait(&server, &["--timeout", "3s"]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    // A poll's client tries at most twice (the poll loop is the retry); the
    // polls go on, with backoff, until --timeout: exit 4 with the last failure.
    let polls = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("csv-wait: poll "))
        .count() as u64;
    assert!(polls >= 1, "{}", out.stderr);
    assert!(
        (polls..=2 * polls).contains(&faults.requests()),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "after 3s and {polls} poll(s); the last poll failed: {}: HTTP 500",
            server.url()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("\"result\":\"timed_out\""),
        "{}",
        out.stdout
    );
}

#[test]
fn csv_wait_waits_for_a_slow_answer_and_bounds_one_slower_than_the_request_timeout() {
    let faults = plan("slow=200ms");
    let server = faulty_prometheus(&faults);
    let out = csv_wait(&server, &["--timeout", "60s", "--request-timeout", "10s"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(faults.faulted(), 1);

    let faults = plan("slow=3sx1000");
    let server = faulty_prometheus(&faults);
    let out = csv_wait(&server, &["--timeout", "2s", "--request-timeout", "300ms"]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("no answer within 0.3s") && out.stderr.contains("GET /api/v1/query"),
        "{}",
        out.stderr
    );
}

// ------------------------------------------------- csv-wait --source ocm

fn csv_wait_from_ocm(dir: &Path, ocm: &FakeOcm, extra: &[&str]) -> Run {
    let document = example_document(dir);
    run(tool("csv-wait")
        .env("OCM_TOKEN", ACCESS_TOKEN)
        .env_remove("OCM_REFRESH_TOKEN")
        .env_remove("OCM_CONFIG")
        .env("HOME", dir)
        .args(["--source", "ocm", "--url", &ocm.url(), "--cluster-id", "c1"])
        .args(["--interval", "100ms"])
        .args(extra)
        .arg(&document))
}

#[test]
fn csv_wait_from_ocm_retries_5xx_429_and_resets_then_sees_ready() {
    let faults = plan("500x2,429:retry-after=1,reset");
    let ocm = fake_ocm(&faults);
    ocm.set_installation("c1", "reference-addon", "ready", "Succeeded");
    let dir = tempfile::tempdir().unwrap();
    let out = csv_wait_from_ocm(dir.path(), &ocm, &["--timeout", "60s"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(faults.faulted(), 4);
    assert!(out.stdout.contains("\"ready\""), "{}", out.stdout);
}

#[test]
fn csv_wait_from_a_hanging_ocm_is_bounded_by_its_timeouts_and_names_the_host() {
    let faults = plan("hangx1000");
    let ocm = fake_ocm(&faults);
    let dir = tempfile::tempdir().unwrap();
    let out = csv_wait_from_ocm(
        dir.path(),
        &ocm,
        &["--timeout", "2s", "--request-timeout", "300ms"],
    );
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains(host_of(&ocm.url()))
            && out
                .stderr
                .contains("/api/clusters_mgmt/v1/clusters/c1/addons/reference-addon")
            && out.stderr.contains("no answer within 0.3s"),
        "{}",
        out.stderr
    );
}

#[test]
fn csv_wait_from_ocm_gives_up_on_html_and_huge_answers_alike() {
    for (fault, expected) in [
        ("html", "not the expected JSON"),
        ("huge", "larger than the 64 MiB we accept"),
    ] {
        let faults = plan(fault);
        let ocm = fake_ocm(&faults);
        ocm.set_installation("c1", "reference-addon", "ready", "Succeeded");
        let dir = tempfile::tempdir().unwrap();
        let out = csv_wait_from_ocm(dir.path(), &ocm, &["--timeout", "60s"]);
        assert_eq!(out.code, Some(3), "{fault}: {}", out.stderr);
        assert!(
            out.stderr.contains(expected) && out.stderr.contains(host_of(&ocm.url())),
            "{fault}: {}",
            out.stderr
        );
        assert_eq!(faults.requests(), 1, "{fault}: not polled again");
    }
}

#[test]
fn hive_apply_with_the_api_server_stopped_mid_apply_converges_after_a_restart_on_the_same_port() {
    // Discovery and a few objects go through, then the server stalls until it is stopped.
    let faults = plan("okx8,hangx1000");
    let server = kube_server(&faults);
    let addr = server.url().trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubeconfig");
    std::fs::write(&config, server.kubeconfig("test-token")).unwrap();
    let input = rendered_objects();
    let expected = rendered_count(&input);
    let mut child = std::process::Command::new(e2e::bin_path("hive-apply"))
        .env("KUBECONFIG", &config)
        .args(["--concurrency", "2"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&input).unwrap();
    }
    // Stopped once a request is stalled: its connection and the listener close.
    while faults.faulted() == 0 && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let api = server.shared_api();
    drop(server);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&addr), "{stderr}");
    let restarted = KubeServer::start_with_api(&addr, api, FaultPlan::default()).unwrap();
    let partial = e2e::stored_objects(&restarted).len();
    assert!(
        partial < expected,
        "{partial} of {expected} stored before the stop"
    );

    let rerun = hive_apply(dir.path(), &restarted, &input, &[]);
    assert_eq!(rerun.code, Some(0), "{}", rerun.stderr);
    let mut keys = e2e::stored_objects(&restarted);
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), expected, "every object stored once: {keys:?}");
    assert_eq!(e2e::stored_objects(&restarted).len(), expected);
}
