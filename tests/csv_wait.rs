//! csv-wait end to end against a real Prometheus: Debian's `prometheus`
//! scraping a `prometheus-pushgateway` every second, fed csv_* samples the
//! way telemetry carries them (`_id` = cluster id).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use addon_flow_testservers::http::HttpResponse;
use e2e::telemetry::{self, free_port, ready_answer, FakePrometheus, KillOnDrop, Telemetry};
use e2e::{repo_root, tool, Run, RunExt};
use serde_json::Value;

const INSTALLING: &str = "0b9f4c1e-0000-4000-8000-00000000a001";
const NOT_STARTED: &str = "0b9f4c1e-0000-4000-8000-00000000a002";
const BROKEN: &str = "0b9f4c1e-0000-4000-8000-00000000b001";
const SILENT: &str = "0b9f4c1e-0000-4000-8000-00000000c001";

/// The add-on's namespace in the samples these tests push.
const NAMESPACE: &str = "redhat-wait-addon";

fn succeeded(cluster: &str, csv: &str, value: u8) -> String {
    telemetry::succeeded(cluster, csv, NAMESPACE, value)
}

fn abnormal(cluster: &str, csv: &str, phase: &str, reason: &str) -> String {
    telemetry::abnormal(cluster, csv, NAMESPACE, phase, reason)
}

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/wait").join(name)
}

fn event<'a>(events: &'a [Value], cluster: &str, state: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["cluster"] == cluster && e["state"] == state)
}

#[test]
fn csv_wait_follows_real_telemetry() {
    if !telemetry::installed("csv-wait against Prometheus") {
        return;
    }
    let telemetry = Telemetry::start();
    let url = telemetry.prometheus_url.clone();

    // Nothing reported yet: a timeout (exit 4) that says the metric does not exist.
    let events = tool("csv-wait")
        .args(["--url", &url, "--cluster-id", SILENT])
        .args(["--timeout", "2s", "--interval", "500ms"])
        .arg(fixture("addon.json"))
        .run()
        .exit(4)
        .stderr_has("there is no csv_succeeded metric")
        .json_lines();
    assert_eq!(
        event(&events, SILENT, "unknown").map(|e| e["cluster"].clone()),
        Some(Value::from(SILENT))
    );
    assert_eq!(events.last().unwrap()["summary"]["result"], "timed_out");

    // One cluster installing, one running only another operator (pending).
    telemetry.report(
        INSTALLING,
        &[
            abnormal(
                INSTALLING,
                "wait-operator.v1.2.0",
                "Installing",
                "InstallWaiting",
            ),
            succeeded(INSTALLING, "wait-operator.v1.2.0", 0),
            succeeded(INSTALLING, "other-operator.v3.0.0", 1),
        ],
    );
    telemetry.report(
        NOT_STARTED,
        &[succeeded(NOT_STARTED, "other-operator.v3.0.0", 1)],
    );
    telemetry.wait_for_series("csv_succeeded", 3);

    let mut child = Command::new(e2e::bin_path("csv-wait"))
        .args(["--url", &url, "--clusters"])
        .arg(fixture("clusters.txt"))
        .args(["--interval", "300ms", "--timeout", "60s"])
        .arg(fixture("addon.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = mpsc::channel::<Value>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(serde_json::from_str(&line).unwrap());
        }
    });
    let mut child = KillOnDrop(child);
    let mut seen = Vec::new();
    let mut expect = |cluster: &str, state: &str| {
        let deadline = Instant::now() + Duration::from_secs(40);
        while event(&seen, cluster, state).is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(left) {
                Ok(value) => seen.push(value),
                Err(_) => panic!("csv-wait did not report {cluster} {state}; saw {seen:?}"),
            }
        }
        event(&seen, cluster, state).unwrap().clone()
    };
    let installing = expect(INSTALLING, "installing");
    assert_eq!(installing["csv"], "wait-operator.v1.2.0");
    assert_eq!(installing["phase"], "Installing");
    assert_eq!(installing["reason"], "InstallWaiting");
    expect(NOT_STARTED, "pending");

    // The CSV succeeds on the first cluster, and installs then succeeds on the second.
    telemetry.report(
        INSTALLING,
        &[
            succeeded(INSTALLING, "wait-operator.v1.2.0", 1),
            succeeded(INSTALLING, "other-operator.v3.0.0", 1),
        ],
    );
    telemetry.report(
        NOT_STARTED,
        &[
            succeeded(NOT_STARTED, "wait-operator.v1.2.0", 0),
            succeeded(NOT_STARTED, "other-operator.v3.0.0", 1),
        ],
    );
    expect(NOT_STARTED, "installing");
    let ready = expect(INSTALLING, "ready");
    assert_eq!(ready["phase"], "Succeeded");
    assert_eq!(ready["version"], "1.2.0");
    telemetry.report(
        NOT_STARTED,
        &[succeeded(NOT_STARTED, "wait-operator.v1.2.0", 1)],
    );
    expect(NOT_STARTED, "ready");
    let status = child.0.wait().unwrap();
    reader.join().unwrap();
    seen.extend(receiver.try_iter());
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let summary = &seen.last().unwrap()["summary"];
    assert_eq!(summary["result"], "ready");
    assert_eq!(summary["ready"], 2);
    assert_eq!(summary["queries"], summary["polls"], "one query per poll");
    assert!(
        seen.iter().all(|e| e["cluster"] != SILENT),
        "only the listed clusters are reported"
    );

    // A failed CSV: exit 5 with its phase and reason, by GET and by POST.
    telemetry.report(
        BROKEN,
        &[abnormal(
            BROKEN,
            "wait-operator.v1.2.0",
            "Failed",
            "InstallCheckFailed",
        )],
    );
    telemetry.wait_for_series("csv_abnormal", 1);
    for method in ["get", "post"] {
        let events = tool("csv-wait")
            .args(["--url", &url, "--operator", "wait-operator"])
            .args(["-c", BROKEN, "-c", INSTALLING, "--method", method])
            .args(["--interval", "300ms", "--timeout", "30s"])
            .run()
            .exit(5)
            .stderr_has("failed on 1 of 2 cluster(s)")
            .json_lines();
        let failed = event(&events, BROKEN, "failed").expect("a failed event");
        assert_eq!(failed["phase"], "Failed");
        assert_eq!(failed["reason"], "InstallCheckFailed");
        assert!(event(&events, INSTALLING, "ready").is_some());
    }

    // A label telemetry does not have: a timeout that says so.
    tool("csv-wait")
        .args([
            "--url",
            &url,
            "--operator",
            "wait-operator",
            "-c",
            INSTALLING,
        ])
        .args(["--cluster-label", "cluster_id"])
        .args(["--interval", "300ms", "--timeout", "1s"])
        .run()
        .exit(4)
        .stderr_has("has no `cluster_id` label");
}

#[test]
fn refuses_bad_input_and_unreachable_servers() {
    // No cluster: usage error.
    tool("csv-wait")
        .args(["--url", "http://127.0.0.1:9", "--operator", "x"])
        .run()
        .exit(2)
        .stderr_has("--cluster-id");
    // A bad duration.
    tool("csv-wait")
        .args(["--operator", "x", "-c", "a", "--timeout", "soon"])
        .run()
        .exit(2);
    // The query, shown without any server.
    tool("csv-wait")
        .args(["--operator", "x", "-c", "a", "-c", "b", "--show-query"])
        .run()
        .success()
        .stdout_has(r#"_id=~"a|b""#);
    // A server that is not there: retried with backoff until the timeout (exit 4).
    let nobody = format!("http://127.0.0.1:{}", free_port());
    tool("csv-wait")
        .args(["--url", &nobody, "--operator", "x", "-c", "a"])
        .args(["--timeout", "1500ms", "--interval", "100ms"])
        .run()
        .exit(4)
        .stderr_has("poll 1 failed")
        .stderr_has("next try in");
}

#[test]
fn bearer_tokens_retries_and_refused_queries() {
    let server = FakePrometheus::start(|request, call| {
        if request.bearer_token() != Some("prom-secret-token") {
            return HttpResponse::new(401).body("text/plain", b"Unauthorized".to_vec());
        }
        if call == 1 || call == 2 {
            return HttpResponse::new(503).body("text/plain", b"overloaded".to_vec());
        }
        if request
            .query_param("query")
            .is_some_and(|q| q.contains("broken"))
        {
            let error = serde_json::json!({"status": "error", "errorType": "bad_data", "error": "parse error at char 3"});
            return HttpResponse::json(400, &error);
        }
        ready_answer(&["c1"])
    });
    let args = [
        "--url",
        &server.url(),
        "-c",
        "c1",
        "--interval",
        "100ms",
        "--timeout",
        "20s",
        "--method",
        "get",
    ];

    // No token: 401 is final (exit 3) and says where the token comes from.
    tool("csv-wait")
        .env_remove("PROMETHEUS_TOKEN")
        .args(args)
        .args(["--operator", "x"])
        .run()
        .exit(3)
        .stderr_has("PROMETHEUS_TOKEN");

    // With the token (from a file): 503 twice (the client retry and the poll fail), then ready on the next poll.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "prom-secret-token\n").unwrap();
    let events = tool("csv-wait")
        .envs(e2e::QUICK_RETRIES)
        .args(args)
        .args(["--operator", "x", "--token-file"])
        .arg(&token_file)
        .run()
        .success()
        .stderr_has("poll 1 failed")
        .stderr_has("HTTP 503")
        .json_lines();
    assert!(event(&events, "c1", "ready").is_some());
    assert_eq!(events.last().unwrap()["summary"]["polls"], 2);

    // A query Prometheus cannot parse fails at once, with its words, and
    // without the token.
    tool("csv-wait")
        .env("PROMETHEUS_TOKEN", "prom-secret-token")
        .args(args)
        .args(["--operator", "broken"])
        .run()
        .exit(3)
        .stderr_has("bad_data")
        .stderr_has("parse error at char 3")
        .stderr_lacks("prom-secret-token")
        .stdout_lacks("prom-secret-token");
}

/// csv-wait watching operator `x` on cluster `c1` at `url`, with `args`.
/// It is killed if still running after a minute (its exit code is then -1,
/// which every test here refuses): a guard against a hang, not a measure of
/// speed.
fn csv_wait_at(url: &str, args: &[&str]) -> Run {
    tool("csv-wait")
        .args(["--url", url, "--operator", "x", "-c", "c1"])
        .args(args)
        .timeout(Duration::from_secs(60))
        .run()
}

#[test]
fn a_server_that_never_answers_cannot_outlast_the_timeout() {
    let url = e2e::silent_server();
    // The request timeout (30s by default) is cut to what is left of --timeout.
    let stderr = csv_wait_at(&url, &["--timeout", "3s", "--interval", "1s"])
        .exit(4)
        .stderr();
    let host = url.trim_start_matches("http://");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("the last poll failed")
            && last.contains(host)
            && last.contains("GET /api/v1/query"),
        "the timeout message repeats the last error, naming the host and stage: {stderr}"
    );
    assert!(!last.trim_end().ends_with(':'), "{last}");
}

#[test]
fn request_timeout_flag_bounds_each_query() {
    let url = e2e::silent_server();
    csv_wait_at(
        &url,
        &[
            "--timeout",
            "10m",
            "--polls",
            "1",
            "--request-timeout",
            "500ms",
        ],
    )
    .exit(4)
    .stderr_has("no answer within 0.5s");
}

#[test]
fn a_400_answer_is_not_retried_as_if_temporary() {
    let server = FakePrometheus::start(|_, _| {
        HttpResponse::new(400).body("text/plain", b"bad request: query too complex".to_vec())
    });
    csv_wait_at(&server.url(), &["--timeout", "20s", "--interval", "100ms"])
        .exit(3)
        .stderr_has("HTTP 400")
        .stderr_lacks("retrying");
    assert_eq!(server.calls(), 1);
}

#[test]
fn a_huge_timeout_is_a_usage_error_not_a_panic() {
    for flag in ["--timeout", "--interval", "--request-timeout"] {
        csv_wait_at("http://127.0.0.1:9", &[flag, "1e20"])
            .exit(2)
            .stderr_has("longest duration");
    }
}

#[test]
fn url_userinfo_is_never_printed() {
    let url = e2e::silent_server().replace("http://", "http://watcher:banner-pass-123@");
    // A timeout (exit 4), not a hang.
    csv_wait_at(&url, &["--timeout", "1s", "--request-timeout", "300ms"])
        .exit(4)
        .stderr_has("watching x")
        .stderr_lacks("banner-pass-123")
        .stderr_lacks("watcher:")
        .stdout_lacks("banner-pass-123")
        .stdout_lacks("watcher:");
}

/// `--cluster x` meant --cluster-id: say so, rather than clap's guess of
/// --clusters (a file of ids).
#[test]
fn cluster_is_pointed_at_cluster_id() {
    for args in [
        &["--cluster", "0b9f4c1e", "--operator", "x"][..],
        &["--operator", "x", "--cluster=0b9f4c1e"],
    ] {
        tool("csv-wait")
            .args(args)
            .run()
            .exit(2)
            .stderr_has(
                "there is no --cluster: watch a cluster by its id with --cluster-id 0b9f4c1e",
            )
            .stderr_has("--clusters FILE");
    }
    tool("csv-wait")
        .args(["--operator", "x", "--cluster"])
        .run()
        .exit(2)
        .stderr_has("--cluster-id ID");
    // Not offered anywhere else.
    tool("csv-wait")
        .arg("--help")
        .run()
        .success()
        .stdout_lacks("--cluster ");
}

/// `--source ocm`: a state OCM does not define (`READY`) is named and ends
/// the wait at once (exit 3), instead of a bare `unknown` until --timeout.
#[test]
fn a_state_ocm_does_not_define_is_named_and_fails_at_once() {
    let ocm = addon_flow_testservers::ocm::FakeOcm::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let document = e2e::servers::example_document(home.path());
    ocm.set_installation("c1", "reference-addon", "READY", "");
    e2e::servers::csv_wait_from_ocm(home.path(), &ocm, "c1")
        .args(["--timeout", "10m"])
        .arg(&document)
        .timeout(Duration::from_secs(60))
        .run()
        .exit(3)
        .stderr_has("/api/clusters_mgmt/v1/clusters/c1/addons/reference-addon")
        .stderr_has("the installation's state is \"READY\", which is not one of OCM's add-on installation states (pending, installing, ready, failed, deleting)")
        .stdout_lacks("unknown");
    let reads = ocm
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/clusters/c1/addons/reference-addon"))
        .count();
    assert_eq!(
        reads, 1,
        "one poll, no waiting for a state that cannot come"
    );
}
