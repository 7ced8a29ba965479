//! Credentials as strictly as kubectl handles them (issue 21, part 2): no
//! tool sends a token or a password over plain http to a host that is not
//! loopback; each refuses before any connection (TEST-NET-1's 192.0.2.1 is
//! never contacted).

use std::time::Duration;

use e2e::servers;
use e2e::{repo_root, RunExt};

/// TEST-NET-1 (RFC 5737): documentation only, never routed. A tool that
/// refuses before connecting never sends a packet to it.
const ELSEWHERE: &str = "http://192.0.2.1:9";

/// The refusal every tool prints, naming the host that is not loopback.
const REFUSAL: &str = "refusing to send credentials over plain http to 192.0.2.1";

#[test]
fn ocm_post_refuses_its_token_for_a_plain_http_url_elsewhere_before_connecting() {
    let home = tempfile::tempdir().unwrap();
    let addon = repo_root().join("tests/fixtures/ocm/plain-addon.json");
    // Exit 2: the URL is the command line's (--url), as for any unusable --url.
    let run = servers::with_ocm_token("ocm-post", home.path())
        .arg(&addon)
        .args(["--url", ELSEWHERE, "--request-timeout", "1s"])
        .timeout(Duration::from_secs(60))
        .run()
        .exit(2)
        .stderr_has(REFUSAL);
    assert!(!run.stderr().contains("cannot connect"), "{}", run.stderr());
    // A refresh token is a credential too: the token URL must not be plain http elsewhere.
    servers::without_ocm_credentials("ocm-post", home.path())
        .env("OCM_REFRESH_TOKEN", "plain-http-refresh")
        .arg(&addon)
        .args(["--url", "http://127.0.0.1:9", "--token-url", ELSEWHERE])
        .args(["--request-timeout", "1s"])
        .timeout(Duration::from_secs(60))
        .run()
        .exit(2)
        .stderr_has("--token-url")
        .stderr_has(REFUSAL)
        .stderr_lacks("plain-http-refresh");
}

#[test]
fn csv_wait_refuses_a_token_or_password_for_a_plain_http_url_elsewhere_before_connecting() {
    let home = tempfile::tempdir().unwrap();
    let document = servers::example_document(home.path());
    let base = ["--operator", "x", "-c", "c1", "--timeout", "20s"];
    let limits = ["--request-timeout", "1s", "--interval", "100ms"];
    let runs = [
        (
            "PROMETHEUS_TOKEN",
            servers::without_ocm_credentials("csv-wait", home.path())
                .env("PROMETHEUS_TOKEN", "plain-http-token")
                .args(base)
                .args(limits)
                .args(["--url", ELSEWHERE])
                .timeout(Duration::from_secs(60))
                .run(),
        ),
        (
            "--url user:password",
            servers::without_ocm_credentials("csv-wait", home.path())
                .env_remove("PROMETHEUS_TOKEN")
                .args(base)
                .args(limits)
                .args(["--url", "http://robot:plain-http-pw@192.0.2.1:9"])
                .timeout(Duration::from_secs(60))
                .run(),
        ),
        (
            "--source ocm with OCM_TOKEN",
            servers::with_ocm_token("csv-wait", home.path())
                .args(["--source", "ocm", "--url", ELSEWHERE, "--cluster-id", "c1"])
                .args(["--timeout", "20s"])
                .args(limits)
                .arg(&document)
                .timeout(Duration::from_secs(60))
                .run(),
        ),
    ];
    for (what, run) in runs {
        let stderr = run.stderr();
        assert_eq!(run.code(), 2, "{what}: {stderr}");
        assert!(stderr.contains(REFUSAL), "{what}: {stderr}");
        assert!(
            !stderr.contains("plain-http-") && !stderr.contains("cannot connect"),
            "{what}: {stderr}"
        );
    }
}
