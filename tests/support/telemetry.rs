//! Real telemetry for the tests: Debian's `prometheus` scraping a
//! `prometheus-pushgateway` every second, both on free loopback ports, fed
//! csv_* samples the way telemetry carries them (`_id` = cluster id); and a
//! Prometheus stand-in for the answers the real one cannot be made to give.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use addon_flow_testservers::http::{HttpRequest, HttpResponse, Server};
use common::remote::http::{Client, Request, TlsOptions};
use serde_json::Value;

pub const PROMETHEUS: &str = "/usr/bin/prometheus";
pub const PUSHGATEWAY: &str = "/usr/bin/prometheus-pushgateway";

/// A child process killed when the test ends, however it ends.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pushgateway and a Prometheus scraping it.
pub struct Telemetry {
    _pushgateway: KillOnDrop,
    _prometheus: KillOnDrop,
    _dir: tempfile::TempDir,
    push: Client,
    prometheus: Client,
    pub prometheus_url: String,
}

/// Whether both programs are installed ([`crate::prerequisite`]: skipped,
/// or failed in CI, when not).
pub fn installed(what: &str) -> bool {
    crate::prerequisite(
        &format!("{PROMETHEUS} and {PUSHGATEWAY} ({what})"),
        Path::new(PROMETHEUS).is_file() && Path::new(PUSHGATEWAY).is_file(),
    )
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Telemetry {
    /// Starts both and waits until they answer `/-/ready`.
    pub fn start() -> Telemetry {
        let dir = tempfile::tempdir().unwrap();
        let (pushgateway, push_port) = serve("pushgateway", dir.path(), |port| {
            let mut command = Command::new(PUSHGATEWAY);
            command
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                // Debian's default persists to /var/lib/prometheus: keep each run's samples to itself.
                .arg(format!(
                    "--persistence.file={}",
                    dir.path().join("pushgateway.data").display()
                ));
            command
        });
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    \
                 honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{push_port}']\n"
            ),
        )
        .unwrap();
        let (prometheus, prometheus_port) = serve("prometheus", dir.path(), |port| {
            let mut command = Command::new(PROMETHEUS);
            command
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"));
            command
        });
        let prometheus_url = format!("http://127.0.0.1:{prometheus_port}");
        Telemetry {
            _pushgateway: pushgateway,
            _prometheus: prometheus,
            push: client(&format!("http://127.0.0.1:{push_port}")),
            prometheus: client(&prometheus_url),
            prometheus_url,
            _dir: dir,
        }
    }

    /// Replaces what `cluster` reports (a pushgateway group per cluster, so
    /// series left out go stale as they do when a CSV changes phase).
    pub fn report(&self, cluster: &str, lines: &[String]) {
        let body = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        let path = format!("/metrics/job/telemetry/instance/{cluster}");
        let request =
            Request::new("PUT", &path).body("text/plain; version=0.0.4", body.into_bytes());
        let response = self.push.send(&request).unwrap();
        assert!(
            response.is_success(),
            "push: HTTP {}: {}",
            response.status,
            response.text()
        );
    }

    /// Waits until Prometheus answers `promql` with exactly `count` series
    /// (the first scrape can take several seconds after the start).
    pub fn wait_for_series(&self, promql: &str, count: usize) {
        let path = format!(
            "/api/v1/query?query={}",
            common::remote::http::encode_query(promql)
        );
        let mut last = String::new();
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(response) = self.prometheus.send(&Request::new("GET", &path)) {
                let answer: Value = serde_json::from_slice(&response.body).unwrap_or_default();
                if answer["data"]["result"]
                    .as_array()
                    .is_some_and(|r| r.len() == count)
                {
                    return;
                }
                last = response.text();
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {count} series for {promql}; last answer: {last}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A client of a test server: no retries, so a poll sees the server as it is.
fn client(url: &str) -> Client {
    Client::new(url, &TlsOptions::default())
        .unwrap()
        .with_retry(common::remote::http::RetryPolicy::none())
}

/// Starts `command(port)` on a free port, its stderr in `dir/NAME.log`, and
/// waits (30 s) until it answers `/-/ready` while it still runs. A port
/// free when picked can be taken before the server binds it (the tests
/// start servers on many threads at once): a server that exits first is
/// started again on another port, up to three times; and an answer counts
/// only while ours runs, since what answers on a lost port is another's.
fn serve(name: &str, dir: &Path, command: impl Fn(u16) -> Command) -> (KillOnDrop, u16) {
    let log = dir.join(format!("{name}.log"));
    for _ in 0..3 {
        let port = free_port();
        let mut server = KillOnDrop(
            command(port)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap(),
        );
        // A listener that takes the request and never answers holds a poll
        // for 2 s at most.
        let ready = client(&format!("http://127.0.0.1:{port}"))
            .with_request_timeout(Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut running = || server.0.try_wait().is_ok_and(|status| status.is_none());
        while running() && Instant::now() < deadline {
            let answered = ready
                .send(&Request::new("GET", "/-/ready"))
                .is_ok_and(|r| r.status == 200);
            if answered && running() {
                return (server, port);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!(
        "{name} did not start on three ports; its log ends: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// Polls `ready` every 100 ms until it holds; fails the test after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `csv_succeeded` sample line for `csv` (`<operator>.v<version>`).
pub fn succeeded(cluster: &str, csv: &str, namespace: &str, value: u8) -> String {
    let version = csv.split(".v").nth(1).unwrap_or_default();
    format!(
        r#"csv_succeeded{{_id="{cluster}",name="{csv}",namespace="{namespace}",version="{version}"}} {value}"#
    )
}

/// A `csv_abnormal` sample line for `csv` in `phase`.
pub fn abnormal(cluster: &str, csv: &str, namespace: &str, phase: &str, reason: &str) -> String {
    let version = csv.split(".v").nth(1).unwrap_or_default();
    format!(
        r#"csv_abnormal{{_id="{cluster}",name="{csv}",namespace="{namespace}",phase="{phase}",reason="{reason}",version="{version}"}} 1"#
    )
}

// ---------------------------------------------------------------------------
// A Prometheus stand-in, for what the real one cannot do here: demand a
// bearer token, fail, refuse a query, change its answer from one poll to the
// next.

/// A loopback server answering Prometheus' query API with what the test's
/// `answer` makes of each request and its number (0 for the first).
pub struct FakePrometheus {
    server: Server,
    calls: Arc<AtomicUsize>,
}

impl FakePrometheus {
    pub fn start(
        answer: impl Fn(&HttpRequest, usize) -> HttpResponse + Send + Sync + 'static,
    ) -> FakePrometheus {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let server = Server::start(Arc::new(move |request: &HttpRequest| {
            let call = counted.fetch_add(1, Ordering::SeqCst);
            answer(request, call)
        }))
        .expect("start the Prometheus stand-in");
        FakePrometheus { server, calls }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// How many requests it has answered.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A successful query answer: `csv_succeeded` = 1 for the CSV `x.v1.0.0` on
/// each of `clusters` (operator `x` is ready there).
pub fn ready_answer(clusters: &[&str]) -> HttpResponse {
    let result: Vec<Value> = clusters
        .iter()
        .map(|cluster| {
            serde_json::json!({"metric": {"__name__": "csv_succeeded", "_id": cluster,
                "name": "x.v1.0.0", "version": "1.0.0"}, "value": [1.0, "1"]})
        })
        .collect();
    HttpResponse::json(
        200,
        &serde_json::json!({"status": "success",
            "data": {"resultType": "vector", "result": result}}),
    )
}
