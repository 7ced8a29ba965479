//! No tool panics, whatever its pipes do: a stderr or stdout whose reader
//! has gone (`tool 2>&1 | head`), or that is closed, changes what a tool can
//! say, never its exit code. And a panic, should a bug cause one, prints the
//! "internal error, a bug in addon-flow" line and exits with the documented
//! code (70), not Rust's 101.

use std::io::Write;
use std::process::{Command, Stdio};

use e2e::{bin_path, repo_root, RunExt};

const ADDON: &str = "examples/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml";

/// What `common::cli::error::BUG_EXIT_CODE` is.
const BUG: i32 = 70;

/// Each tool with arguments that parse and an input it refuses after
/// reading it, so that it has an error (and, for csv-wait, notes) to print
/// on stderr once the reader is gone.
fn refusing_runs() -> Vec<(&'static str, Vec<String>)> {
    let bundles = repo_root()
        .join("tests/fixtures/catalog/good")
        .display()
        .to_string();
    vec![
        ("addon-validate", vec![]),
        ("catalog-build", vec!["--bundles".into(), bundles]),
        ("syncset-render", vec!["--selector".into()]),
        ("hive-apply", vec![]),
        (
            "ocm-post",
            vec![
                "--dry-run".into(),
                "--url".into(),
                "http://127.0.0.1:9".into(),
            ],
        ),
        (
            "csv-wait",
            vec![
                "--cluster-id".into(),
                "c1".into(),
                "--url".into(),
                "http://127.0.0.1:9".into(),
            ],
        ),
    ]
}

/// Which standard stream a test takes the reader away from.
#[derive(Clone, Copy, Debug)]
enum Gone {
    Stdout,
    Stderr,
}

/// Runs `tool ARGS` with `input` on stdin and `gone` a pipe whose reading end
/// is closed before the tool reads its input (so every line it writes there
/// meets a reader that has gone: EPIPE). Returns the exit code and what the
/// other stream got.
fn run_with_reader_gone(tool: &str, args: &[String], input: &[u8], gone: Gone) -> (i32, String) {
    let mut command = Command::new(bin_path(tool));
    command
        .current_dir(repo_root())
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("PROMETHEUS_URL")
        .env("OCM_TOKEN", "unused-token")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| panic!("{tool}: {err}"));
    match gone {
        Gone::Stdout => drop(child.stdout.take()),
        Gone::Stderr => drop(child.stderr.take()),
    }
    {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // The tool may have refused before reading all of it.
        let _ = stdin.write_all(input);
    }
    let output = child.wait_with_output().expect("the tool ends");
    let other = match gone {
        Gone::Stdout => output.stderr,
        Gone::Stderr => output.stdout,
    };
    let code = output.status.code().unwrap_or(-1);
    (code, String::from_utf8_lossy(&other).into_owned())
}

/// The same run with every stream read, for the exit code it should have.
fn exit_code_when_read(tool: &str, args: &[String], input: &[u8]) -> i32 {
    e2e::tool(tool)
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("PROMETHEUS_URL")
        .env("OCM_TOKEN", "unused-token")
        .write_stdin(input.to_vec())
        .run()
        .code()
}

#[test]
fn no_tool_panics_when_nobody_reads_its_stderr() {
    // A JSON document cut short: every tool refuses it on stderr.
    let input = b"{\"id\": \"cut-short\",\n";
    for (tool, args) in refusing_runs() {
        let expected = exit_code_when_read(tool, &args, input);
        assert!(![0, 101, BUG].contains(&expected), "{tool}: {expected}");
        let (code, _) = run_with_reader_gone(tool, &args, input, Gone::Stderr);
        assert_eq!(code, expected, "{tool} with its stderr reader gone");
    }
    // csv-wait's notes, retries and closing error, every one unread.
    let (code, stdout) = run_with_reader_gone(
        "csv-wait",
        &[
            "--operator",
            "x",
            "-c",
            "c1",
            "--url",
            "http://127.0.0.1:9",
            "--timeout",
            "1s",
            "--interval",
            "100ms",
        ]
        .map(String::from),
        b"",
        Gone::Stderr,
    );
    assert_eq!(code, 4, "timed out, as with stderr read");
    assert!(stdout.contains("\"timed_out\""), "{stdout}");
}

#[test]
fn no_tool_panics_when_nobody_reads_its_stdout() {
    let addon = repo_root().join(ADDON).display().to_string();
    for (tool, args) in [
        (
            "addon-validate",
            vec![addon.clone(), "-o".into(), "json".into()],
        ),
        ("syncset-render", vec![addon.clone(), "--selector".into()]),
        ("ocm-post", vec!["--dry-run".into(), addon.clone()]),
        (
            "csv-wait",
            vec![
                "--operator".into(),
                "x".into(),
                "-c".into(),
                "c1".into(),
                "--show-query".into(),
            ],
        ),
    ] {
        let (code, stderr) = run_with_reader_gone(tool, &args, b"", Gone::Stdout);
        assert_eq!(
            code, 0,
            "{tool}: a reader that stopped reading is no error: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{tool}: {stderr}");
    }
}

/// `exec >&-` / `exec 2>&-`: the stream is not there at all.
#[test]
fn no_tool_panics_with_stdout_or_stderr_closed() {
    let addon = repo_root().join(ADDON).display().to_string();
    for (tool, args, code) in [
        ("syncset-render", vec![addon.as_str(), "--selector"], 0),
        ("syncset-render", vec!["/nonexistent.yaml", "--selector"], 1),
        ("ocm-post", vec!["--dry-run", addon.as_str()], 0),
        (
            "csv-wait",
            vec!["--operator", "x", "-c", "c1", "--show-query"],
            0,
        ),
        ("csv-wait", vec!["-c", "c1", "/nonexistent.json"], 1),
    ] {
        for close in [">&-", "2>&-"] {
            let run = Command::new("sh")
                .arg("-c")
                .arg(format!("exec \"$0\" \"$@\" {close}"))
                .arg(bin_path(tool))
                .args(&args)
                .current_dir(repo_root())
                .run();
            assert_eq!(
                run.code(),
                code,
                "{tool} {args:?} {close}: {}",
                run.stderr()
            );
        }
    }
}

#[test]
fn a_panic_is_said_as_a_bug_and_exits_70_not_101() {
    for (tool, args) in refusing_runs() {
        let run = e2e::tool(tool)
            .args(&args)
            .env(common::cli::PANIC_FOR_TESTS, "1")
            .write_stdin(Vec::new())
            .run()
            .exit(BUG)
            .stderr_has(&format!(
                "{tool}: error: internal error (a bug in addon-flow, please report it): panicked at "
            ))
            .stderr_has("ADDON_FLOW_PANIC_FOR_TESTS is set");
        assert_eq!(
            run.stderr().lines().count(),
            1,
            "one line: {}",
            run.stderr()
        );
        // And with nobody reading stderr, still 70. The panic comes before
        // the tool reads anything, so the reader is gone before the tool
        // starts: the far end of a socket pair, closed (EPIPE, as a pipe's).
        let (reader, writer) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(reader);
        let status = Command::new(bin_path(tool))
            .args(&args)
            .env(common::cli::PANIC_FOR_TESTS, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::os::fd::OwnedFd::from(writer)))
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(BUG), "{tool} with stderr gone");
    }
}
