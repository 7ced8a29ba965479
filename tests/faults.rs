//! Injected faults, for every remote client: the test servers misbehave as
//! a fault plan says (`addon_flow_testservers::faults`), and the tools must
//! retry what is worth retrying (5xx, 429 with `Retry-After`, resets) with
//! capped backoff, bound every request (`--request-timeout`), refuse answers
//! that are not the API's (HTML, truncated JSON, a 100 MB body), and, after
//! any fault, finish the job when the same command runs again.
//!
//! Assertions are on exit codes, messages and the requests the servers saw,
//! never on how long something took: the tools run with the test-only
//! backoff ([`QUICK_RETRIES`]), so no test sits through real retry waits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use addon_flow_testservers::faults::FaultPlan;
use addon_flow_testservers::http::{HttpRequest, HttpResponse, Server};
use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use addon_flow_testservers::ocm::FakeOcm;
use e2e::servers::{self, example_document, faulty_ocm};
use e2e::{stored_objects, tool, Run, RunExt, QUICK_RETRIES};
use serde_json::Value;

/// Bounds every run: a tool that hangs fails its test, not the whole suite.
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn plan(text: &str) -> FaultPlan {
    FaultPlan::parse(text).unwrap()
}

fn host_of(url: &str) -> &str {
    url.trim_start_matches("http://")
}

// ---------------------------------------------------------------- ocm-post

/// fake OCM misbehaving as a fault plan says, a HOME for the tools, and the
/// example add-on's document to publish (an add-on and its image set
/// version: two requests).
struct FaultyOcm {
    faults: FaultPlan,
    ocm: FakeOcm,
    home: tempfile::TempDir,
    document: PathBuf,
}

impl FaultyOcm {
    fn start(faults: &str) -> FaultyOcm {
        let faults = plan(faults);
        let ocm = faulty_ocm(&faults);
        let home = tempfile::tempdir().unwrap();
        let document = example_document(home.path());
        FaultyOcm {
            faults,
            ocm,
            home,
            document,
        }
    }

    /// `ocm-post EXTRA DOCUMENT` with the static token.
    fn ocm_post(&self, extra: &[&str]) -> Run {
        self.run(servers::ocm_post(self.home.path(), &self.ocm).args(extra))
    }

    /// `ocm-post EXTRA DOCUMENT` signing in with a refresh token at this
    /// fake OCM's token endpoint (the same server, so the fault plan starts
    /// with the token requests).
    fn ocm_post_with_refresh_token(&self, extra: &[&str]) -> Run {
        self.run(
            servers::with_ocm_refresh_token("ocm-post", self.home.path(), &self.ocm)
                .args(["--url", &self.ocm.url(), "-o", "json"])
                .args(extra),
        )
    }

    /// `csv-wait --source ocm --cluster-id c1 EXTRA DOCUMENT`.
    fn csv_wait(&self, extra: &[&str]) -> Run {
        self.run(servers::csv_wait_from_ocm(self.home.path(), &self.ocm, "c1").args(extra))
    }

    fn run(&self, command: &mut assert_cmd::Command) -> Run {
        command
            .envs(QUICK_RETRIES)
            .arg(&self.document)
            .timeout(RUN_LIMIT)
            .run()
    }

    fn host(&self) -> String {
        host_of(&self.ocm.url()).to_string()
    }
}

#[test]
fn ocm_post_retries_5xx_429_and_resets_then_succeeds() {
    let setup = FaultyOcm::start("500x2,429:retry-after=1,reset");
    let out = setup
        .ocm_post(&[])
        .success()
        .stderr_has("HTTP 500; retrying");
    assert_eq!(setup.faults.faulted(), 4);
    // Exactly four more requests than the same run against a server without faults.
    let clean = FaultyOcm::start("");
    clean.ocm_post(&[]).success();
    let stderr = out.stderr();
    assert_eq!(
        setup.faults.requests(),
        clean.faults.requests() + 4,
        "{stderr}"
    );
    // The 429's wait is its Retry-After (1 s, capped by the test's 20 ms),
    // the others the backoff's.
    let waits: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split("retrying in ").nth(1))
        .collect();
    assert_eq!(waits.len(), 4, "{stderr}");
    for (i, wait) in waits.iter().enumerate() {
        assert_eq!(
            wait.contains("not the 1s of the server's Retry-After"),
            i == 2,
            "{waits:?}"
        );
    }
    assert!(setup.ocm.addon("reference-addon").is_some());
}

#[test]
fn ocm_post_gives_up_after_its_capped_retries_with_exit_3() {
    let setup = FaultyOcm::start("503x20");
    let out = setup
        .ocm_post(&[])
        .exit(3)
        .stderr_has("HTTP 503")
        .no_stdout();
    assert_eq!(
        setup.faults.requests(),
        5,
        "five tries in all: {}",
        out.stderr()
    );
}

#[test]
fn ocm_post_on_a_hanging_server_is_exit_3_naming_the_host_and_the_stage() {
    assert_times_out_twice("hangx10", " /api/clusters_mgmt/v1/addons");
}

#[test]
fn ocm_post_refuses_html_and_huge_answers_and_retries_truncated_ones() {
    for (fault, code, expected) in body_faults("not the expected JSON") {
        let setup = FaultyOcm::start(fault);
        let out = setup
            .ocm_post(&[])
            .exit(code)
            .stderr_has(expected)
            .stderr_has(&setup.host());
        if code == 0 {
            // The cut-short POST had created the add-on: the retry's 409 becomes an update.
            assert!(setup.ocm.addon("reference-addon").is_some(), "{fault}");
        } else {
            out.no_stdout();
        }
    }
}

#[test]
fn ocm_post_interrupted_halfway_converges_when_run_again() {
    // The add-on is read (missing) and created, then OCM goes away before the version is.
    let setup = FaultyOcm::start("okx2,resetx100");
    let ocm = &setup.ocm;
    setup.ocm_post(&[]).exit(3);
    assert!(ocm.addon("reference-addon").is_some());
    let posted_versions = || {
        ocm.requests()
            .iter()
            .filter(|r| r.path.contains("/versions"))
            .count()
    };
    assert_eq!(posted_versions(), 0);

    setup.faults.replace([]);
    setup.ocm_post(&[]).success();
    let versions: Vec<Value> = ocm
        .requests()
        .iter()
        .filter(|r| r.path.contains("/versions"))
        .map(|r| r.body.clone())
        .collect();
    assert!(!versions.is_empty());
    setup.ocm_post(&[]).success();
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
        namespaces: vec!["cd-east".into(), "redhat-full-addon".into()],
        ..KubeOptions::default()
    })
    .unwrap()
}

/// A Hive API server misbehaving as a fault plan says, and a folder for the
/// kubeconfig hive-apply reaches it with.
struct FaultyHive {
    faults: FaultPlan,
    server: KubeServer,
    dir: tempfile::TempDir,
}

impl FaultyHive {
    fn start(faults: &str) -> FaultyHive {
        let faults = plan(faults);
        FaultyHive {
            server: kube_server(&faults),
            faults,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// hive-apply of `input` with `args` against this server.
    fn apply(&self, input: &[u8], args: &[&str]) -> Run {
        hive_apply(self.dir.path(), &self.server, input, args)
    }
}

/// What each tool must do with an answer that is not its API's: an HTML
/// page (the tool's own words, `html_says`) and a huge body are refused with
/// exit 3, a truncated answer is retried: (fault, exit code, message).
fn body_faults(html_says: &'static str) -> [(&'static str, i32, &'static str); 3] {
    [
        ("html", 3, html_says),
        ("huge", 3, "larger than the 64 MiB we accept"),
        ("truncate", 0, "the answer broke off before its end"),
    ]
}

fn rendered_objects() -> Vec<u8> {
    tool("syncset-render")
        .arg("tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml")
        .args(["--cluster-deployment", "cd-east/cluster-1"])
        .run()
        .success()
        .output
        .stdout
}

fn hive_apply(dir: &Path, server: &KubeServer, input: &[u8], args: &[&str]) -> Run {
    servers::hive_apply(dir, server)
        .envs(QUICK_RETRIES)
        .args(args)
        .write_stdin(input.to_vec())
        .timeout(RUN_LIMIT)
        .run()
}

fn rendered_count(input: &[u8]) -> usize {
    let list: Value = serde_yaml::from_slice(input).unwrap();
    list["items"].as_array().unwrap().len()
}

#[test]
fn hive_apply_retries_5xx_429_and_resets_then_applies_everything() {
    let hive = FaultyHive::start("500x2,429:retry-after=1,reset");
    let input = rendered_objects();
    hive.apply(&input, &["--concurrency", "1"])
        .success()
        .stderr_has("HTTP 429; retrying in 0.0s, not the 1s of the server's Retry-After");
    assert_eq!(hive.faults.faulted(), 4);
    assert_eq!(stored_objects(&hive.server).len(), rendered_count(&input));
}

#[test]
fn hive_apply_on_a_hanging_server_is_exit_3_naming_the_host_and_the_stage() {
    let hive = FaultyHive::start("hangx10");
    hive.apply(&rendered_objects(), &["--request-timeout", "300ms"])
        .exit(3)
        .stderr_has(host_of(&hive.server.url()))
        .stderr_has("GET /api")
        .stderr_has("no answer within 0.3s");
    assert_eq!(
        hive.faults.requests(),
        2,
        "a timed-out request is tried once more"
    );
}

#[test]
fn hive_apply_refuses_html_and_huge_answers_and_retries_truncated_ones() {
    let input = rendered_objects();
    for (fault, code, expected) in body_faults("not the expected JSON") {
        let hive = FaultyHive::start(fault);
        hive.apply(&input, &[])
            .exit(code)
            .stderr_has(expected)
            .stderr_has(host_of(&hive.server.url()));
        // The refused discovery answer leaves its objects out; a rerun finishes.
        if code != 0 {
            assert!(
                stored_objects(&hive.server).len() < rendered_count(&input),
                "{fault}"
            );
            hive.apply(&input, &[]).success();
        }
        assert_eq!(
            stored_objects(&hive.server).len(),
            rendered_count(&input),
            "{fault}"
        );
    }
}

#[test]
fn hive_apply_with_the_api_server_gone_mid_apply_converges_when_run_again() {
    // Discovery and a few objects go through, then every connection drops.
    let hive = FaultyHive::start("okx8,resetx1000");
    let input = rendered_objects();
    let expected = rendered_count(&input);
    hive.apply(&input, &["--concurrency", "2"]).exit(3);
    let partial = stored_objects(&hive.server).len();
    assert!(
        partial < expected,
        "{partial} of {expected} stored before the server went"
    );

    hive.faults.replace([]);
    hive.apply(&input, &[]).success();
    let mut keys = stored_objects(&hive.server);
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
    tool("csv-wait")
        .env_remove("PROMETHEUS_TOKEN")
        .envs(QUICK_RETRIES)
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
        .args(extra)
        .timeout(RUN_LIMIT)
        .run()
}

#[test]
fn csv_wait_retries_5xx_429_and_resets_then_sees_ready() {
    let faults = plan("500x2,429:retry-after=1,reset");
    let server = faulty_prometheus(&faults);
    csv_wait(&server, &["--timeout", "60s"])
        .success()
        .stdout_has("\"ready\"");
    assert_eq!(faults.faulted(), 4);
}

#[test]
fn csv_wait_on_a_hanging_server_names_the_host_and_the_stage() {
    let faults = plan("hangx1000");
    let server = faulty_prometheus(&faults);
    csv_wait(&server, &["--timeout", "3s", "--request-timeout", "300ms"])
        .exit(4)
        .stderr_has(host_of(&server.url()))
        .stderr_has("/api/v1/query")
        .stderr_has("no answer within 0.3s");
}

/// An answer that is not the query API's ends the wait whatever its size:
/// an HTML page and a 100 MB body alike are exit 3 (a proxy's login page or
/// a wrong --url does not go away by polling until --timeout). A truncated
/// answer is a transport hiccup: retried.
#[test]
fn csv_wait_gives_up_on_html_and_huge_answers_alike_and_outlives_truncated_ones() {
    for (fault, code, expected) in body_faults("not a Prometheus API answer") {
        let faults = plan(fault);
        let server = faulty_prometheus(&faults);
        let out = csv_wait(&server, &["--timeout", "60s"])
            .exit(code)
            .stderr_has(expected)
            .stderr_has(host_of(&server.url()));
        assert_eq!(
            out.stdout().contains("\"ready\""),
            code == 0,
            "{fault}: {}",
            out.stdout()
        );
    }
}

// ------------------------------------------------ the OCM token endpoint

#[test]
fn ocm_post_retries_a_failing_token_endpoint_then_succeeds() {
    let setup = FaultyOcm::start("500x2");
    setup
        .ocm_post_with_refresh_token(&[])
        .success()
        .stderr_has("/token: POST")
        .stderr_has("HTTP 500; retrying");
    assert_eq!(setup.faults.faulted(), 2);
    assert_eq!(
        setup.ocm.token_requests().len(),
        1,
        "the faulted tries never reached the token endpoint's handler"
    );
    assert!(setup.ocm.addon("reference-addon").is_some());
}

#[test]
fn ocm_post_on_a_hanging_token_endpoint_is_exit_3_naming_the_token_host() {
    let setup = FaultyOcm::start("hangx10");
    setup
        .ocm_post_with_refresh_token(&["--request-timeout", "300ms"])
        .exit(3)
        .stderr_has(&setup.host())
        .stderr_has("/token")
        .stderr_has("no answer within 0.3s")
        .no_stdout();
    assert!(
        setup.ocm.requests().is_empty(),
        "no API request without a token"
    );
}

// ---------------------------------------------------------- slow answers

#[test]
fn ocm_post_waits_for_a_slow_answer_within_the_request_timeout() {
    let setup = FaultyOcm::start("slow=200ms");
    setup
        .ocm_post(&["--request-timeout", "10s"])
        .success()
        .stderr_lacks("retrying");
    assert_eq!(setup.faults.faulted(), 1);
}

#[test]
fn ocm_post_on_an_answer_slower_than_the_request_timeout_fails_like_a_hang() {
    assert_times_out_twice("slow=3sx2", "/api/clusters_mgmt/v1/addons");
}

/// ocm-post with a 300ms request timeout against the fake OCM faulted by
/// `plan`: exit 3 naming the host, `path` and the timeout, after the
/// timed-out request was tried once more.
fn assert_times_out_twice(plan: &str, path: &str) {
    let setup = FaultyOcm::start(plan);
    setup
        .ocm_post(&["--request-timeout", "300ms"])
        .exit(3)
        .stderr_has(&setup.host())
        .stderr_has(path)
        .stderr_has("no answer within 0.3s");
    assert_eq!(
        setup.faults.requests(),
        2,
        "a timed-out request is tried once more"
    );
}

// ------------------------------------------------------ retries exhausted

#[test]
fn hive_apply_gives_up_after_its_capped_retries_with_exit_3_naming_host_stage_and_status() {
    let hive = FaultyHive::start("500x20");
    // The error names the host, the stage and the last status.
    let out = hive
        .apply(&rendered_objects(), &[])
        .exit(3)
        .stderr_has(&format!("hive-apply: error: {}: ", hive.server.url()))
        .stderr_has("discovery of v1: HTTP 500");
    // Discovery asks each API group once, each request tried five times.
    let stderr = out.stderr();
    let gave_up = stderr.matches("(4/4)").count() as u64;
    assert!(gave_up > 0, "{stderr}");
    assert_eq!(
        hive.faults.requests(),
        5 * gave_up,
        "five tries each: {stderr}"
    );
    assert!(stored_objects(&hive.server).is_empty());
}

#[test]
fn csv_wait_with_every_poll_failing_times_out_naming_the_host_and_the_last_status() {
    let faults = plan("500x1000");
    let server = faulty_prometheus(&faults);
    let out = csv_wait(&server, &["--timeout", "3s"])
        .exit(4)
        .stdout_has("\"result\":\"timed_out\"");
    // A poll's client tries at most twice (the poll loop is the retry); the
    // polls go on, with backoff, until --timeout: exit 4 with the last failure.
    let stderr = out.stderr();
    let polls = stderr
        .lines()
        .filter(|l| l.starts_with("csv-wait: poll "))
        .count() as u64;
    assert!(polls >= 1, "{stderr}");
    assert!((polls..=2 * polls).contains(&faults.requests()), "{stderr}");
    // The seconds are the time taken, rounded: 3 or, on a loaded machine
    // whose last poll ran past --timeout, 4.
    let out = out.stderr_has(&format!(
        "s and {polls} poll(s); the last poll failed: {}: HTTP 500",
        server.url()
    ));
    assert!(
        ["after 3s and", "after 4s and"]
            .iter()
            .any(|after| out.stderr().contains(after)),
        "{}",
        out.stderr()
    );
}

#[test]
fn csv_wait_waits_for_a_slow_answer_and_bounds_one_slower_than_the_request_timeout() {
    let faults = plan("slow=200ms");
    let server = faulty_prometheus(&faults);
    csv_wait(&server, &["--timeout", "60s", "--request-timeout", "10s"]).success();
    assert_eq!(faults.faulted(), 1);

    let faults = plan("slow=3sx1000");
    let server = faulty_prometheus(&faults);
    csv_wait(&server, &["--timeout", "2s", "--request-timeout", "300ms"])
        .exit(4)
        .stderr_has("no answer within 0.3s")
        .stderr_has("GET /api/v1/query");
}

// ------------------------------------------------- csv-wait --source ocm

#[test]
fn csv_wait_from_ocm_retries_5xx_429_and_resets_then_sees_ready() {
    let setup = FaultyOcm::start("500x2,429:retry-after=1,reset");
    setup
        .ocm
        .set_installation("c1", "reference-addon", "ready", "Succeeded");
    setup
        .csv_wait(&["--timeout", "60s"])
        .success()
        .stdout_has("\"ready\"");
    assert_eq!(setup.faults.faulted(), 4);
}

#[test]
fn csv_wait_from_a_hanging_ocm_is_bounded_by_its_timeouts_and_names_the_host() {
    let setup = FaultyOcm::start("hangx1000");
    setup
        .csv_wait(&["--timeout", "2s", "--request-timeout", "300ms"])
        .exit(4)
        .stderr_has(&setup.host())
        .stderr_has("/api/clusters_mgmt/v1/clusters/c1/addons/reference-addon")
        .stderr_has("no answer within 0.3s");
}

#[test]
fn csv_wait_from_ocm_gives_up_on_html_and_huge_answers_alike() {
    for (fault, expected) in [
        ("html", "not the expected JSON"),
        ("huge", "larger than the 64 MiB we accept"),
    ] {
        let setup = FaultyOcm::start(fault);
        setup
            .ocm
            .set_installation("c1", "reference-addon", "ready", "Succeeded");
        setup
            .csv_wait(&["--timeout", "60s"])
            .exit(3)
            .stderr_has(expected)
            .stderr_has(&setup.host());
        assert_eq!(setup.faults.requests(), 1, "{fault}: not polled again");
    }
}

#[test]
fn hive_apply_with_the_api_server_stopped_mid_apply_converges_after_a_restart_on_the_same_port() {
    // Discovery and a few objects go through, then the server stalls until it is stopped.
    let faults = plan("okx8,hangx1000");
    let server = kube_server(&faults);
    let addr = host_of(&server.url()).to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = e2e::write_kubeconfig(dir.path(), &server, servers::HIVE_TOKEN);
    let input = rendered_objects();
    let expected = rendered_count(&input);
    let mut child = std::process::Command::new(e2e::bin_path("hive-apply"))
        .env("KUBECONFIG", &config)
        .envs(QUICK_RETRIES)
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
    Run::of(
        "hive-apply --concurrency 2",
        child.wait_with_output().unwrap(),
    )
    .exit(3)
    .stderr_has(&addr);
    let restarted = KubeServer::start_with_api(&addr, api, FaultPlan::default()).unwrap();
    let partial = stored_objects(&restarted).len();
    assert!(
        partial < expected,
        "{partial} of {expected} stored before the stop"
    );

    hive_apply(dir.path(), &restarted, &input, &[]).success();
    let mut keys = stored_objects(&restarted);
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), expected, "every object stored once: {keys:?}");
    assert_eq!(stored_objects(&restarted).len(), expected);
}
