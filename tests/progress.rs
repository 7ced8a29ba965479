//! Progress on a terminal only: under a pseudo-terminal (util-linux
//! `script`) hive-apply counts objects applied and clusters synced, csv-wait
//! redraws a tally per poll, a stream counts add-ons done and catalog-build
//! counts bundles built and bytes/blobs pushed, with terminal
//! escape codes; with stderr a pipe the same runs print exactly the plain
//! lines they always did, and `--quiet` prints nothing on success.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use e2e::registry::LoopbackRegistry;
use e2e::telemetry::{ready_answer, FakePrometheus};
use e2e::{bin_path, repo_root, tool, write_kubeconfig, Run, RunExt};

const FULL: &str = "tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml";
/// Starts every escape code a progress line is drawn with.
const ESCAPE: &str = "\u{1b}";

/// `'text'` for sh, whatever the text holds.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs `tool args` with stdin, stdout and stderr on a pseudo-terminal
/// (`script -qec`), stdout thrown away. What the terminal showed is the
/// tool's stderr, and the run's stderr is that (`script` copies the terminal
/// to its stdout, sent to stderr here), so a test reads both runs alike.
/// None (with a note) without `script`.
fn on_a_terminal(tool_name: &str, args: &[&str]) -> Option<Run> {
    if !e2e::prerequisite("util-linux `script`", e2e::program("script")) {
        return None;
    }
    let mut line = sh_quote(bin_path(tool_name).to_str().unwrap());
    for arg in args {
        line.push(' ');
        line.push_str(&sh_quote(arg));
    }
    line.push_str(" > /dev/null");
    let terminal = Command::new("sh")
        .args(["-c", r#"exec script -qec "$0" /dev/null >&2"#, &line])
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .run();
    Some(terminal)
}

/// The same run with stdout and stderr pipes.
fn in_a_pipe(tool_name: &str, args: &[&str]) -> Run {
    tool(tool_name)
        .args(args)
        .timeout(Duration::from_secs(60))
        .run()
}

/// [`on_a_terminal`], expecting exit 0, escape codes (a progress line drawn)
/// and each of `shown` on the terminal. None (with a note) without `script`.
fn drawn_on_a_terminal(tool_name: &str, args: &[&str], shown: &[&str]) -> Option<Run> {
    let mut run = on_a_terminal(tool_name, args)?.success().stderr_has(ESCAPE);
    for text in shown {
        run = run.stderr_has(text);
    }
    Some(run)
}

/// `args` and `--quiet`.
fn quietly<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().copied().chain(["--quiet"]).collect()
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
        .run()
        .success();
    let stream = dir.path().join("stream.jsonl");
    std::fs::write(&stream, &documents.output.stdout).unwrap();
    let args = [path_str(&stream), "--selector", "-o", "yaml"];

    let Some(terminal) = on_a_terminal("syncset-render", &args) else {
        return;
    };
    let terminal = terminal.success().stderr_has(ESCAPE); // redrawn in place
                                                          // Each add-on is rendered as it is read, before the stream's end says
                                                          // how many there are: a count, without a total. Which counts are drawn
                                                          // depends on the redraw rate (two add-ons take less than one frame).
    let stderr = terminal.stderr();
    let drawn: Vec<&str> = stderr.split("add-ons done ").skip(1).collect();
    assert!(!drawn.is_empty(), "{stderr}");
    for rest in drawn {
        let count = rest
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or("");
        assert!(matches!(count, "0" | "1" | "2"), "a count: {stderr}");
        assert!(!rest[count.len()..].starts_with('/'), "no total: {stderr}");
    }

    // Nothing on stderr in a pipe, as before.
    in_a_pipe("syncset-render", &args).success().no_stderr();

    // --quiet draws no progress.
    on_a_terminal("syncset-render", &quietly(&args))
        .unwrap()
        .success()
        .no_stderr();
}

#[test]
fn hive_apply_counts_objects_applied_and_clusters_synced_on_a_terminal() {
    let server = KubeServer::start(KubeOptions {
        sync_delay: Duration::from_millis(300),
        namespaces: vec![
            "cd-east".into(),
            "cd-west".into(),
            "redhat-full-addon".into(),
        ],
        ..KubeOptions::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &server, "test-token");
    let rendered = tool("syncset-render")
        .arg(repo_root().join(FULL))
        .args(["--cluster-deployment", "cd-east/cluster-1"])
        .args(["--cluster-deployment", "cd-west/cluster-2"])
        .run()
        .success();
    let objects = dir.path().join("objects.yaml");
    std::fs::write(&objects, &rendered.output.stdout).unwrap();
    let args = [
        path_str(&objects),
        "--kubeconfig",
        path_str(&kubeconfig),
        "--wait",
        "--poll-interval",
        "100ms",
    ];

    let shown = [
        "objects applied",
        "clusters synced",
        // The notes are still there, printed above the progress line.
        "applied to clusterdeployment cd-west/cluster-2",
    ];
    if drawn_on_a_terminal("hive-apply", &args, &shown).is_none() {
        return;
    }

    assert_eq!(
        in_a_pipe("hive-apply", &args).success().stderr(),
        "hive-apply: syncset addon-full-addon applied to clusterdeployment cd-east/cluster-1\n\
         hive-apply: syncset addon-full-addon applied to clusterdeployment cd-west/cluster-2\n",
        "exactly the plain lines, no progress, in a pipe"
    );

    // --quiet keeps only errors, and draws no progress either.
    let quiet = quietly(&args);
    in_a_pipe("hive-apply", &quiet).success().no_stderr();
    on_a_terminal("hive-apply", &quiet)
        .unwrap()
        .success()
        .no_stderr();
}

/// A Prometheus whose cluster c1 is ready at once and c2 from the third
/// query on.
fn prometheus_two_clusters() -> FakePrometheus {
    FakePrometheus::start(|_, call| {
        if call >= 2 {
            ready_answer(&["c1", "c2"])
        } else {
            ready_answer(&["c1"])
        }
    })
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
    let shown = ["poll 1: ", "poll 2: ", "1 ready"];
    if drawn_on_a_terminal("csv-wait", &args, &shown).is_none() {
        return;
    }

    let server = prometheus_two_clusters();
    let url = server.url();
    let mut piped = args;
    piped[1] = &url;
    assert_eq!(
        in_a_pipe("csv-wait", &piped).success().stderr(),
        format!(
            "csv-wait: watching x on 2 cluster(s) at {url}, every 400ms for up to 30s\n\
             csv-wait: x is ready on all 2 cluster(s)\n"
        ),
        "exactly the plain lines, no tally, in a pipe"
    );

    let server = prometheus_two_clusters();
    let url = server.url();
    let mut quiet = quietly(&args);
    quiet[1] = &url;
    // --quiet keeps only errors.
    in_a_pipe("csv-wait", &quiet).success().no_stderr();
}

#[test]
fn catalog_build_counts_bundles_built_and_bytes_pushed_on_a_terminal() {
    let Some(registry) = LoopbackRegistry::start() else {
        return;
    };
    let bundles = repo_root().join("tests/fixtures/catalog/good");
    let repo = registry.repo("osd-addons/demo");
    let args = [
        "--bundles",
        path_str(&bundles),
        "--repo",
        &repo,
        "--base-image",
        "scratch",
        "--no-cache",
    ];
    let shown = [
        "bundles built",
        "4/4",
        "pushing 4 bundle image(s)",
        // Bytes and blobs pushed.
        "KiB",
        "/8 blobs",
        // The summary line is still there, once the progress line is cleared.
        "catalog-build: pushed ",
    ];
    if drawn_on_a_terminal("catalog-build", &args, &shown).is_none() {
        return;
    }

    // In a pipe: the same plain lines as ever (the summary), nothing drawn.
    let stderr = in_a_pipe("catalog-build", &args)
        .success()
        .stderr_lacks(ESCAPE)
        .stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with(&format!("catalog-build: pushed {repo}@sha256:")));

    // --quiet keeps only errors.
    in_a_pipe("catalog-build", &quietly(&args))
        .success()
        .no_stderr();
}

#[test]
fn a_stream_stacks_each_addons_bundle_counter_under_the_addons_done_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bundles");
    let mut stream = String::new();
    for id in ["a-addon", "b-addon"] {
        e2e::copy_tree(
            &repo_root().join("tests/fixtures/catalog/good"),
            &root.join(id),
        );
        let mut document = common::testing::minimal_addon_named(id);
        document["operatorName"] = "demo-operator".into();
        stream.push_str(&format!("{document}\n"));
    }
    let input = dir.path().join("stream.jsonl");
    std::fs::write(&input, stream).unwrap();
    let layout = dir.path().join("layout");
    let Some(run) = on_a_terminal(
        "catalog-build",
        &[
            path_str(&input),
            "--bundles-root",
            path_str(&root),
            "--repo-prefix",
            "example.com/org",
            "--oci-layout",
            path_str(&layout),
        ],
    ) else {
        return;
    };
    let shown = run.success().stderr();
    // One frame holds both lines, the add-ons line first: drawn together
    // (then the cursor goes back up to redraw them), never one over the other.
    let stacked = shown.split('\r').any(|frame| {
        frame
            .find("add-ons done")
            .is_some_and(|at| frame[at..].contains("bundles built"))
    });
    assert!(stacked, "both lines in one frame: {shown:?}");
    assert!(
        shown.contains(&format!("{ESCAPE}[1A")),
        "cursor up to redraw: {shown:?}"
    );
}
