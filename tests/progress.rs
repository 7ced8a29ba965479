//! Progress on a terminal only: under a pseudo-terminal (util-linux
//! `script`) hive-apply counts objects applied and clusters synced, csv-wait
//! redraws a tally per poll, a stream counts add-ons done and catalog-build
//! counts bundles built and bytes/blobs pushed, with terminal
//! escape codes; with stderr a pipe the same runs print exactly the plain
//! lines they always did, and `--quiet` prints nothing on success.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use addon_flow_testservers::http::{HttpResponse, Server};
use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use e2e::registry::LoopbackRegistry;
use e2e::{bin_path, repo_root, tool};

const FULL: &str = "tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml";
const ESCAPE: char = '\u{1b}';

/// `'text'` for sh, whatever the text holds.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs `tool args` with stdin, stdout and stderr on a pseudo-terminal
/// (`script -qec`), stdout thrown away: returns the exit code and what the
/// terminal showed, which is stderr. None (with a note) without `script`.
fn on_a_terminal(tool_name: &str, args: &[&str]) -> Option<(Option<i32>, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: util-linux `script` is not installed");
        return None;
    }
    let mut line = sh_quote(bin_path(tool_name).to_str().unwrap());
    for arg in args {
        line.push(' ');
        line.push_str(&sh_quote(arg));
    }
    line.push_str(" > /dev/null");
    let output = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    Some((output.status.code(), shown))
}

/// The same run with stdout and stderr pipes: (exit code, stderr).
fn in_a_pipe(tool_name: &str, args: &[&str]) -> (Option<i32>, String) {
    let output = tool(tool_name)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_stream_counts_addons_done_on_a_terminal_and_nothing_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let documents = tool("addon-validate")
        .arg("--all")
        .arg(repo_root().join("examples/managed-tenants"))
        .args(["--env", "stage", "--documents"])
        .output()
        .unwrap();
    assert!(documents.status.success());
    let stream = dir.path().join("stream.jsonl");
    std::fs::write(&stream, &documents.stdout).unwrap();
    let args = [path_str(&stream), "--selector", "-o", "yaml"];

    let Some((code, shown)) = on_a_terminal("syncset-render", &args) else {
        return;
    };
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("add-ons done"), "{shown:?}");
    assert!(shown.contains("2/2"), "{shown:?}");
    assert!(shown.contains(ESCAPE), "the line is redrawn in place");

    let (code, stderr) = in_a_pipe("syncset-render", &args);
    assert_eq!(code, Some(0));
    assert_eq!(stderr, "", "nothing on stderr in a pipe, as before");

    let quiet: Vec<&str> = args.iter().copied().chain(["--quiet"]).collect();
    let (code, shown) = on_a_terminal("syncset-render", &quiet).unwrap();
    assert_eq!(code, Some(0));
    assert_eq!(shown, "", "--quiet draws no progress");
}

#[test]
fn hive_apply_counts_objects_applied_and_clusters_synced_on_a_terminal() {
    let server = KubeServer::start(KubeOptions {
        sync_delay: Duration::from_millis(300),
        ..KubeOptions::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig("test-token")).unwrap();
    let rendered = tool("syncset-render")
        .arg(repo_root().join(FULL))
        .args([
            "--cluster-deployment",
            "cd-east/cluster-1",
            "--cluster-deployment",
            "cd-west/cluster-2",
        ])
        .output()
        .unwrap();
    assert!(rendered.status.success());
    let objects = dir.path().join("objects.yaml");
    std::fs::write(&objects, &rendered.stdout).unwrap();
    let args = [
        path_str(&objects),
        "--kubeconfig",
        path_str(&kubeconfig),
        "--wait",
        "--poll-interval",
        "100ms",
    ];

    let Some((code, shown)) = on_a_terminal("hive-apply", &args) else {
        return;
    };
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("objects applied"), "{shown:?}");
    assert!(shown.contains("clusters synced"), "{shown:?}");
    assert!(shown.contains(ESCAPE));
    // The notes are still there, printed above the progress line.
    assert!(shown.contains("applied to clusterdeployment cd-west/cluster-2"));

    let (code, stderr) = in_a_pipe("hive-apply", &args);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        "hive-apply: syncset addon-full-addon applied to clusterdeployment cd-east/cluster-1\n\
         hive-apply: syncset addon-full-addon applied to clusterdeployment cd-west/cluster-2\n",
        "exactly the plain lines, no progress, in a pipe"
    );

    let quiet: Vec<&str> = args.iter().copied().chain(["--quiet"]).collect();
    let (code, stderr) = in_a_pipe("hive-apply", &quiet);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "--quiet keeps only errors");
    let (code, shown) = on_a_terminal("hive-apply", &quiet).unwrap();
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(shown, "", "--quiet draws no progress either");
}

/// A Prometheus whose cluster c1 is ready at once and c2 from the third
/// query on.
fn prometheus_two_clusters() -> Server {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    Server::start(std::sync::Arc::new(
        move |_: &addon_flow_testservers::http::HttpRequest| {
            let call = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let sample = |cluster: &str| {
                serde_json::json!({"metric": {"__name__": "csv_succeeded", "_id": cluster,
                    "name": "x.v1.0.0", "version": "1.0.0"}, "value": [1.0, "1"]})
            };
            let mut result = vec![sample("c1")];
            if call >= 2 {
                result.push(sample("c2"));
            }
            HttpResponse::json(
                200,
                &serde_json::json!({"status": "success",
                    "data": {"resultType": "vector", "result": result}}),
            )
        },
    ))
    .unwrap()
}

#[test]
fn csv_wait_redraws_a_tally_per_poll_on_a_terminal() {
    let server = prometheus_two_clusters();
    let url = server.url();
    let args = [
        "--url",
        &url,
        "--operator",
        "x",
        "-c",
        "c1",
        "-c",
        "c2",
        "--interval",
        "400ms",
        "--timeout",
        "30s",
        "--method",
        "get",
    ];
    let Some((code, shown)) = on_a_terminal("csv-wait", &args) else {
        return;
    };
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("poll 1: "), "{shown:?}");
    assert!(shown.contains("poll 2: "), "{shown:?}");
    assert!(shown.contains("1 ready"), "{shown:?}");
    assert!(shown.contains(ESCAPE));

    let server = prometheus_two_clusters();
    let url = server.url();
    let mut piped = args;
    piped[1] = &url;
    let (code, stderr) = in_a_pipe("csv-wait", &piped);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "csv-wait: watching x on 2 cluster(s) at {url}, every 400ms for up to 30s\n\
             csv-wait: x is ready on all 2 cluster(s)\n"
        ),
        "exactly the plain lines, no tally, in a pipe"
    );

    let server = prometheus_two_clusters();
    let url = server.url();
    let mut quiet: Vec<&str> = args.to_vec();
    quiet[1] = &url;
    quiet.push("--quiet");
    let (code, stderr) = in_a_pipe("csv-wait", &quiet);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "--quiet keeps only errors");
}

#[test]
fn catalog_build_counts_bundles_built_and_bytes_pushed_on_a_terminal() {
    let Some(registry) = LoopbackRegistry::start() else {
        return;
    };
    let bundles = repo_root().join("tests/fixtures/catalog/good");
    let repo = format!("{}/osd-addons/demo", registry.host());
    let args = [
        "--bundles",
        path_str(&bundles),
        "--repo",
        &repo,
        "--base-image",
        "scratch",
        "--no-cache",
    ];
    let Some((code, shown)) = on_a_terminal("catalog-build", &args) else {
        return;
    };
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("bundles built"), "{shown:?}");
    assert!(shown.contains("4/4"), "{shown:?}");
    assert!(shown.contains("pushing 4 bundle image(s)"), "{shown:?}");
    assert!(shown.contains("KiB"), "bytes pushed: {shown:?}");
    assert!(shown.contains("/8 blobs"), "blobs pushed: {shown:?}");
    assert!(shown.contains(ESCAPE));
    // The summary line is still there, once the progress line is cleared.
    assert!(shown.contains("catalog-build: pushed "), "{shown:?}");

    // In a pipe: the same plain lines as ever (the summary), nothing drawn.
    let (code, stderr) = in_a_pipe("catalog-build", &args);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with(&format!("catalog-build: pushed {repo}@sha256:")));
    assert!(!stderr.contains(ESCAPE));

    let quiet: Vec<&str> = args.iter().copied().chain(["--quiet"]).collect();
    let (code, stderr) = in_a_pipe("catalog-build", &quiet);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "--quiet keeps only errors");
}
