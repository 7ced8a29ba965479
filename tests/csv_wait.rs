//! csv-wait end to end against a real Prometheus: Debian's `prometheus`
//! scraping a `prometheus-pushgateway` every second, fed csv_* samples the
//! way telemetry carries them (`_id` = cluster id).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::telemetry::{self, free_port, KillOnDrop, Telemetry, PROMETHEUS, PUSHGATEWAY};
use e2e::{repo_root, tool};
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

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn event<'a>(events: &'a [Value], cluster: &str, state: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["cluster"] == cluster && e["state"] == state)
}

fn binaries_present() -> bool {
    let present = Path::new(PROMETHEUS).is_file() && Path::new(PUSHGATEWAY).is_file();
    if !present {
        eprintln!(
            "SKIPPED: csv-wait against Prometheus: {PROMETHEUS} or {PUSHGATEWAY} is not installed"
        );
    }
    present
}

#[test]
fn csv_wait_follows_real_telemetry() {
    if !binaries_present() {
        return;
    }
    let telemetry = Telemetry::start();
    let url = telemetry.prometheus_url.clone();

    // Nothing reported yet: a timeout (exit 4) that says the metric does not exist.
    let output = tool("csv-wait")
        .args([
            "--url",
            &url,
            "--cluster-id",
            SILENT,
            "--timeout",
            "2s",
            "--interval",
            "500ms",
        ])
        .arg(fixture("addon.json"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("there is no csv_succeeded metric"),
        "{stderr}"
    );
    let events = lines(&output.stdout);
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
    assert_eq!(status.code(), Some(0));
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
        let output = tool("csv-wait")
            .args([
                "--url",
                &url,
                "--operator",
                "wait-operator",
                "-c",
                BROKEN,
                "-c",
                INSTALLING,
                "--method",
                method,
            ])
            .args(["--interval", "300ms", "--timeout", "30s"])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(5),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let events = lines(&output.stdout);
        let failed = event(&events, BROKEN, "failed").expect("a failed event");
        assert_eq!(failed["phase"], "Failed");
        assert_eq!(failed["reason"], "InstallCheckFailed");
        assert!(event(&events, INSTALLING, "ready").is_some());
        assert!(String::from_utf8_lossy(&output.stderr).contains("failed on 1 of 2 cluster(s)"));
    }

    // A label telemetry does not have: a timeout that says so.
    let output = tool("csv-wait")
        .args([
            "--url",
            &url,
            "--operator",
            "wait-operator",
            "-c",
            INSTALLING,
            "--cluster-label",
            "cluster_id",
        ])
        .args(["--interval", "300ms", "--timeout", "1s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("has no `cluster_id` label"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn refuses_bad_input_and_unreachable_servers() {
    // No cluster: usage error.
    let output = tool("csv-wait")
        .args(["--url", "http://127.0.0.1:9", "--operator", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--cluster-id"));
    // A bad duration.
    let output = tool("csv-wait")
        .args(["--operator", "x", "-c", "a", "--timeout", "soon"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    // The query, shown without any server.
    let output = tool("csv-wait")
        .args(["--operator", "x", "-c", "a", "-c", "b", "--show-query"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(r#"_id=~"a|b""#));
    // A server that is not there: retried with backoff until the timeout (exit 4).
    let port = free_port();
    let output = tool("csv-wait")
        .args([
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--operator",
            "x",
            "-c",
            "a",
            "--timeout",
            "1500ms",
            "--interval",
            "100ms",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("poll 1 failed") && stderr.contains("next try in"),
        "{stderr}"
    );
}

/// A Prometheus stand-in for what the real one cannot do here: demand a
/// bearer token, fail, and refuse a query.
fn fake_prometheus(
    answer: impl Fn(
            &addon_flow_testservers::http::HttpRequest,
            usize,
        ) -> addon_flow_testservers::http::HttpResponse
        + Send
        + Sync
        + 'static,
) -> addon_flow_testservers::http::Server {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    addon_flow_testservers::http::Server::start(std::sync::Arc::new(
        move |request: &addon_flow_testservers::http::HttpRequest| {
            let call = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            answer(request, call)
        },
    ))
    .unwrap()
}

#[test]
fn bearer_tokens_retries_and_refused_queries() {
    use addon_flow_testservers::http::HttpResponse;
    let ready = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "csv_succeeded", "_id": "c1", "name": "x.v1.0.0", "version": "1.0.0"}, "value": [1.0, "1"]}
    ]}});
    let server = fake_prometheus(move |request, call| {
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
        HttpResponse::json(200, &ready)
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
    let output = tool("csv-wait")
        .env_remove("PROMETHEUS_TOKEN")
        .args(args)
        .args(["--operator", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("PROMETHEUS_TOKEN"));

    // With the token (from a file): 503 twice (the client retry and the poll fail), then ready on the next poll.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "prom-secret-token\n").unwrap();
    let output = tool("csv-wait")
        .args(args)
        .args(["--operator", "x", "--token-file"])
        .arg(&token_file)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("poll 1 failed") && stderr.contains("HTTP 503"),
        "{stderr}"
    );
    let events = lines(&output.stdout);
    assert!(event(&events, "c1", "ready").is_some());
    assert_eq!(events.last().unwrap()["summary"]["polls"], 2);

    // A query Prometheus cannot parse fails at once, with its words.
    let output = tool("csv-wait")
        .env("PROMETHEUS_TOKEN", "prom-secret-token")
        .args(args)
        .args(["--operator", "broken"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad_data") && stderr.contains("parse error at char 3"),
        "{stderr}"
    );
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr);
    assert!(
        !all.contains("prom-secret-token"),
        "the token leaked: {all}"
    );
}

/// Runs a command, killing it (and failing) if it is still running after
/// `limit`: a guard against a hang, not a measure of speed.
fn output_within(command: &mut Command, limit: Duration) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_server_that_never_answers_cannot_outlast_the_timeout() {
    let url = e2e::silent_server();
    let mut command = Command::new(e2e::bin_path("csv-wait"));
    command.args([
        "--url",
        &url,
        "--operator",
        "x",
        "-c",
        "c1",
        "--timeout",
        "3s",
        "--interval",
        "1s",
    ]);
    // The request timeout (30s by default) is cut to what is left of --timeout.
    let output = output_within(&mut command, Duration::from_secs(60));
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
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
    let mut command = Command::new(e2e::bin_path("csv-wait"));
    command.args([
        "--url",
        &url,
        "--operator",
        "x",
        "-c",
        "c1",
        "--timeout",
        "10m",
        "--polls",
        "1",
        "--request-timeout",
        "500ms",
    ]);
    let output = output_within(&mut command, Duration::from_secs(60));
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no answer within 0.5s"), "{stderr}");
}

#[test]
fn a_400_answer_is_not_retried_as_if_temporary() {
    use addon_flow_testservers::http::HttpResponse;
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let server = fake_prometheus(move |_, _| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        HttpResponse::new(400).body("text/plain", b"bad request: query too complex".to_vec())
    });
    let output = tool("csv-wait")
        .args(["--url", &server.url(), "--operator", "x", "-c", "c1"])
        .args(["--timeout", "20s", "--interval", "100ms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("HTTP 400") && !stderr.contains("retrying"),
        "{stderr}"
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_huge_timeout_is_a_usage_error_not_a_panic() {
    for flag in ["--timeout", "--interval", "--request-timeout"] {
        let output = tool("csv-wait")
            .args([
                "--operator",
                "x",
                "-c",
                "c1",
                "--url",
                "http://127.0.0.1:9",
                flag,
                "1e20",
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("longest duration"));
    }
}

#[test]
fn url_userinfo_is_never_printed() {
    let url = e2e::silent_server().replace("http://", "http://watcher:banner-pass-123@");
    let mut command = Command::new(e2e::bin_path("csv-wait"));
    command.args([
        "--url",
        &url,
        "--operator",
        "x",
        "-c",
        "c1",
        "--timeout",
        "1s",
        "--request-timeout",
        "300ms",
    ]);
    let output = output_within(&mut command, Duration::from_secs(60));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(all.contains("watching x"), "{all}");
    assert!(
        !all.contains("banner-pass-123") && !all.contains("watcher:"),
        "{all}"
    );
}
