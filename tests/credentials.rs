//! Credentials as strictly as kubectl handles them (issue 21, part 2), with
//! kubectl itself as the reference where it can show the behaviour:
//! - no tool sends a token or a password over plain http to a host that is
//!   not loopback: each refuses before any connection (TEST-NET-1's
//!   192.0.2.1 is never contacted);
//! - hive-apply sends a kubeconfig's impersonation as the same
//!   `Impersonate-*` headers kubectl sends;
//! - a CA together with `insecure-skip-tls-verify` is refused, as kubectl
//!   refuses it;
//! - exec credential plugins run once per run (again after expiry, and once
//!   after a 401), with the `KUBERNETES_EXEC_INFO` kubectl gives them, and
//!   their token never prints; `proxy-url` goes through an HTTP CONNECT
//!   proxy; `tls-server-name` is the name the certificate is checked for.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use addon_flow_testservers::http::{HttpRequest, HttpResponse, Server};
use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use e2e::pki::{pki, Pki};
use e2e::servers::{self, hive_apply_at, HIVE_TOKEN};
use e2e::{repo_root, tool, Run, RunExt};
use serde_json::{json, Value};

/// TEST-NET-1 (RFC 5737): documentation only, never routed. A tool that
/// refuses before connecting never sends a packet to it.
const ELSEWHERE: &str = "http://192.0.2.1:9";

const FULL: &str = "tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml";

/// syncset-render's objects for `clusters` (a SyncSet each, and the shared ones).
fn objects(clusters: &[&str]) -> Vec<u8> {
    let mut command = tool("syncset-render");
    command.arg(FULL);
    for cluster in clusters {
        command.args(["--cluster-deployment", cluster]);
    }
    command.run().success().output.stdout
}

/// Fake Hive where the namespaces of `objects` exist (the API server
/// refuses an object in a namespace that does not).
fn hive() -> KubeOptions {
    KubeOptions {
        namespaces: ["cd-east", "cd-west", "cd-north", "redhat-full-addon"]
            .map(String::from)
            .to_vec(),
        ..KubeOptions::default()
    }
}

/// kubectl with only `kubeconfig` and a scratch HOME (its cache), input on a pipe.
fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> Run {
    std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .stdin(std::process::Stdio::null())
        .run()
}

fn have_kubectl() -> bool {
    e2e::prerequisite("kubectl", e2e::program("kubectl"))
}

/// A kubeconfig with one cluster (`cluster`: YAML lines under `cluster:`,
/// indented by four spaces) and one user (`user`: likewise), written to `dir/name`.
fn write_kubeconfig(dir: &Path, name: &str, cluster: &str, user: &str) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n{cluster}users:\n- name: robot\n  user:\n{user}contexts:\n- name: c\n  context: {{cluster: c, user: robot}}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// hive-apply of `input` with `args` and a kubeconfig of `cluster` and
/// `user` (see [`write_kubeconfig`]) written into `dir`.
fn apply_with_kubeconfig(
    dir: &Path,
    cluster: &str,
    user: &str,
    input: &[u8],
    args: &[&str],
) -> Run {
    let config = write_kubeconfig(dir, "kubeconfig", cluster, user);
    hive_apply_at(&config, input, args)
}

/// A recording HTTPS server ([`recording_server`]) with its PKI, when
/// kubectl is here to compare with (None, with a note, when it is not).
fn recording_server_for_kubectl() -> Option<(Pki, Server, Seen)> {
    if !have_kubectl() {
        return None;
    }
    let pki = pki(&["127.0.0.1"]);
    let (server, seen) = recording_server(&pki);
    Some((pki, server, seen))
}

// ------------------------------------------------------------ certificates

/// `certificate-authority-data` for `pki`'s CA, as a cluster line.
fn ca_line(pki: &Pki) -> String {
    format!(
        "    certificate-authority-data: {}\n",
        common::text::base64::encode(pki.ca_pem.as_bytes())
    )
}

/// The requests a recording server saw, in order.
type Seen = Arc<Mutex<Vec<HttpRequest>>>;

/// An HTTPS server that records every request and answers 403 (as an API
/// server that knows the user and refuses): what kubectl and hive-apply
/// send can be compared without either getting further.
fn recording_server(pki: &Pki) -> (Server, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let handler = move |request: &HttpRequest| {
        record.lock().unwrap().push(request.clone());
        HttpResponse::json(
            403,
            &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": "recorded", "reason": "Forbidden", "code": 403}),
        )
    };
    let server = Server::start_tls_on("127.0.0.1:0", Arc::new(handler), &pki.identity).unwrap();
    (server, seen)
}

// ------------------------------------------- credentials over plain http

/// The refusal every tool prints, naming the host that is not loopback.
const REFUSAL: &str = "refusing to send credentials over plain http to 192.0.2.1";

#[test]
fn hive_apply_refuses_a_token_for_a_plain_http_server_elsewhere_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let input = objects(&["cd-east/cluster-1"]);
    for (what, user) in [
        ("token", "    token: plain-http-token\n".to_string()),
        (
            "exec plugin",
            "    exec: {apiVersion: client.authentication.k8s.io/v1, command: ./never-run.sh, interactiveMode: Never}\n".to_string(),
        ),
    ] {
        let cluster = format!("    server: {ELSEWHERE}\n");
        let args = ["--request-timeout", "1s"];
        // Exit 1: the kubeconfig cannot be used as written (it is not the command line's fault).
        let run = apply_with_kubeconfig(dir.path(), &cluster, &user, &input, &args)
            .exit(1)
            .stderr_has(REFUSAL)
            .stderr_has("clusters[c].cluster.server")
            .stderr_lacks("plain-http-token");
        assert!(
            !run.stderr().contains("cannot connect") && !run.stderr().contains("no answer"),
            "{what}: it tried to connect: {}",
            run.stderr()
        );
    }
    // Without a credential nothing is withheld: hive-apply connects (to a
    // loopback port where nothing listens), so what was refused above was
    // the credential, not the URL.
    let loopback = "    server: http://127.0.0.1:9\n";
    let args = ["--request-timeout", "1s"];
    apply_with_kubeconfig(dir.path(), loopback, "    {}\n", &input, &args)
        .exit(3)
        .stderr_lacks("refusing");
}

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

// --------------------------------------------------------- impersonation

/// `Impersonate-*` headers of a request, names lower-cased (HTTP names are
/// case-insensitive, and so is the escape of an extra's key), in order.
fn impersonation(request: &HttpRequest) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| name.starts_with("impersonate-"))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .collect();
    headers.sort();
    headers
}

#[test]
fn impersonation_is_sent_as_kubectl_sends_it() {
    let Some((pki, server, seen)) = recording_server_for_kubectl() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_kubeconfig(
        dir.path(),
        "kubeconfig",
        &format!("    server: {}\n{}", server.url(), ca_line(&pki)),
        "    token: impersonating-token\n    as: alice@example.com\n    as-uid: '1234'\n    as-groups: [sre, 'system:authenticated']\n    as-user-extra:\n      scopes.example.com/reason: [on call, 'change 42']\n      acme.com%project: [hive]\n",
    );
    kubectl(&config, dir.path(), &["get", "--raw", "/api"]).exit(1);
    let by_kubectl = {
        let seen = seen.lock().unwrap();
        let request = seen
            .iter()
            .find(|r| r.path == "/api")
            .expect("kubectl asked for /api");
        impersonation(request)
    };
    seen.lock().unwrap().clear();
    let namespace = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: impersonated}\n";
    hive_apply_at(&config, namespace, &["--request-timeout", "5s"]).exit(3);
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "hive-apply sent nothing");
    assert_eq!(by_kubectl.len(), 7, "{by_kubectl:?}");
    for request in seen.iter() {
        assert_eq!(
            impersonation(request),
            by_kubectl,
            "{} {}",
            request.method,
            request.path
        );
    }
}

// ------------------------------------------------- CA with insecure-skip

#[test]
fn a_ca_with_insecure_skip_tls_verify_is_refused_as_kubectl_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(&["127.0.0.1"]);
    std::fs::write(dir.path().join("ca.crt"), &pki.ca_pem).unwrap();
    let input = objects(&["cd-east/cluster-1"]);
    for ca in [
        ca_line(&pki),
        "    certificate-authority: ca.crt\n".to_string(),
    ] {
        let config = write_kubeconfig(
            dir.path(),
            "kubeconfig",
            &format!("    server: https://127.0.0.1:9\n    insecure-skip-tls-verify: true\n{ca}"),
            "    token: t\n",
        );
        if have_kubectl() {
            kubectl(&config, dir.path(), &["get", "--raw", "/api"])
                .exit(1)
                .stderr_has(
                    "specifying a root certificates file with the insecure flag is not allowed",
                );
        }
        hive_apply_at(&config, &input, &[])
            .exit(1)
            .stderr_has("clusters[c].cluster.insecure-skip-tls-verify")
            .stderr_has(
                "specifying a root certificates file with the insecure flag is not allowed",
            );
    }
}

// ----------------------------------------------------------- exec plugins

/// Writes `dir/plugin.sh`: each run appends a line to `dir/runs`, saves its
/// `KUBERNETES_EXEC_INFO` as `dir/info-N` and prints `status` (JSON, with
/// `$N` standing for the run's number).
fn write_plugin(dir: &Path, status: &str) -> PathBuf {
    let path = dir.join("plugin.sh");
    let credential = format!(
        r#"{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{status}}}"#
    );
    e2e::write_executable(
        &path,
        &format!(
            "#!/bin/sh\nhere=$(dirname \"$0\")\necho run >> \"$here/runs\"\nN=$(wc -l < \"$here/runs\" | tr -d ' ')\nprintf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$here/info-$N\"\ncat <<EOF\n{credential}\nEOF\n"
        ),
    );
    path
}

fn plugin_runs(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("runs"))
        .unwrap_or_default()
        .lines()
        .count() as u64
}

const EXEC_USER: &str = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./plugin.sh\n      interactiveMode: IfAvailable\n      provideClusterInfo: true\n";

/// A kubeconfig for `server` whose user is the exec plugin of `dir`.
fn exec_kubeconfig(dir: &Path, server: &KubeServer, cluster_extra: &str) -> PathBuf {
    let mut cluster = format!("    server: {}\n{cluster_extra}", server.url());
    let from_server = server.kubeconfig("unused");
    if let Some(ca) = from_server
        .lines()
        .find(|l| l.contains("certificate-authority-data"))
    {
        cluster.push_str(&format!("{ca}\n"));
    }
    write_kubeconfig(dir, "kubeconfig", &cluster, EXEC_USER)
}

const FUTURE: &str = "2999-01-01T00:00:00Z";
const PAST: &str = "2001-01-01T00:00:00Z";

/// The plugin's answer when each run gives a new token (`exec-token-1`,
/// `exec-token-2`, ...), valid far into the future.
fn numbered_tokens() -> String {
    format!(r#"{{"token":"exec-token-$N","expirationTimestamp":"{FUTURE}"}}"#)
}

/// A fake Hive that accepts only `tokens`, and in a new folder an exec
/// kubeconfig for it whose plugin answers `status`.
fn exec_setup(tokens: &[&str], status: &str) -> (KubeServer, tempfile::TempDir, PathBuf) {
    let server = KubeServer::start(KubeOptions {
        tokens: tokens.iter().map(|t| t.to_string()).collect(),
        ..hive()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_plugin(dir.path(), status);
    let config = exec_kubeconfig(dir.path(), &server, "");
    (server, dir, config)
}

#[test]
fn an_exec_plugin_runs_once_for_a_whole_run_and_its_token_never_prints() {
    let (server, dir, config) = exec_setup(&["exec-token-1"], &numbered_tokens());
    let input = objects(&[
        "cd-east/cluster-1",
        "cd-west/cluster-2",
        "cd-north/cluster-3",
    ]);
    let run = hive_apply_at(&config, &input, &["--summary", "-v"])
        .success()
        .stdout_lacks("exec-token")
        .stderr_lacks("exec-token");
    assert_eq!(run.stdout().lines().count(), 7, "{}", run.stdout());
    assert!(
        server.api().requests() > 7,
        "one request per object at least"
    );
    assert_eq!(
        plugin_runs(dir.path()),
        1,
        "one plugin run for the whole run"
    );
}

#[test]
fn an_expired_credential_runs_the_plugin_again_before_each_request() {
    let (server, dir, config) = exec_setup(
        &[HIVE_TOKEN],
        &format!(r#"{{"token":"{HIVE_TOKEN}","expirationTimestamp":"{PAST}"}}"#),
    );
    let input = objects(&["cd-east/cluster-1"]);
    hive_apply_at(&config, &input, &["--summary"]).success();
    // As client-go: a credential past its expiry is fetched again for every
    // request (the first uses the one fetched when connecting).
    assert_eq!(plugin_runs(dir.path()), server.api().requests());
    assert!(plugin_runs(dir.path()) > 2);
}

#[test]
fn a_401_runs_the_plugin_once_more_and_the_run_finishes() {
    // The server accepts only the second run's token: the first request is
    // refused, the plugin runs again, and the request is sent again.
    let (server, dir, config) = exec_setup(&["exec-token-2"], &numbered_tokens());
    let input = objects(&["cd-east/cluster-1"]);
    hive_apply_at(&config, &input, &["--summary"]).success();
    assert_eq!(plugin_runs(dir.path()), 2);

    // A plugin that keeps giving a refused token: one more run, then the 401 stands.
    server.api().set_tokens(&["something-else"]);
    std::fs::remove_file(dir.path().join("runs")).unwrap();
    write_plugin(dir.path(), r#"{"token":"exec-token-refused"}"#);
    hive_apply_at(&config, &input, &["--summary"])
        .exit(3)
        .stderr_has("HTTP 401")
        .stderr_lacks("exec-token-refused");
    assert_eq!(plugin_runs(dir.path()), 2);
}

#[test]
fn an_exec_plugin_client_certificate_authenticates() {
    let pki = pki(&["127.0.0.1"]);
    let server = KubeServer::start_tls_on(
        "127.0.0.1:0",
        KubeOptions {
            tokens: Vec::new(),
            ..hive()
        },
        &pki.identity,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let status =
        json!({"clientCertificateData": pki.client_cert_pem, "clientKeyData": pki.client_key_pem});
    write_plugin(dir.path(), &status.to_string().replace('$', "\\$"));
    let config = exec_kubeconfig(dir.path(), &server, "");
    let input = objects(&["cd-east/cluster-1"]);
    let key_line = pki
        .client_key_pem
        .lines()
        .find(|l| !l.starts_with("-----"))
        .unwrap()
        .to_string();
    hive_apply_at(&config, &input, &["--summary", "-v"])
        .success()
        .stderr_lacks(&key_line);
    assert_eq!(plugin_runs(dir.path()), 1);
    assert_eq!(e2e::stored_objects(&server).len(), 5);
}

#[test]
fn a_failing_plugin_is_exit_1_naming_the_user_and_its_exit_code() {
    let server = KubeServer::start(hive()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("plugin.sh");
    e2e::write_executable(
        &plugin,
        "#!/bin/sh\necho 'plugin: your session expired' >&2\nexit 3\n",
    );
    let config = exec_kubeconfig(dir.path(), &server, "");
    hive_apply_at(&config, &objects(&["cd-east/cluster-1"]), &[])
        .exit(1)
        .stderr_has("plugin: your session expired")
        .stderr_has("users[robot].user.exec")
        .stderr_has("failed with exit code 3");
    assert_eq!(server.api().requests(), 0, "nothing was sent");
}

#[test]
fn an_exec_plugin_gets_the_exec_info_kubectl_gives_it() {
    let Some((pki, server, _)) = recording_server_for_kubectl() else {
        return;
    };
    let extension = "    tls-server-name: 127.0.0.1\n    extensions:\n    - name: client.authentication.k8s.io/exec\n      extension: {audience: hive, scopes: [a, b]}\n    - name: other\n      extension: {x: 1}\n";
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    for dir in [&ours, &theirs] {
        write_plugin(
            dir.path(),
            &format!(r#"{{"token":"info-token","expirationTimestamp":"{FUTURE}"}}"#),
        );
        write_kubeconfig(
            dir.path(),
            "kubeconfig",
            &format!("    server: {}\n{}{extension}", server.url(), ca_line(&pki)),
            EXEC_USER,
        );
    }
    kubectl(
        &theirs.path().join("kubeconfig"),
        theirs.path(),
        &["get", "--raw", "/api"],
    )
    .exit(1);
    let namespace = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n";
    hive_apply_at(&ours.path().join("kubeconfig"), namespace, &[]).exit(3);
    let info = |dir: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("info-1")).unwrap()).unwrap()
    };
    let (ours, theirs) = (info(ours.path()), info(theirs.path()));
    assert_eq!(ours, theirs);
    assert_eq!(
        ours["spec"]["cluster"]["config"],
        json!({"audience": "hive", "scopes": ["a", "b"]})
    );
    assert_eq!(ours["spec"]["interactive"], json!(false));
}

// ------------------------------------------------------ proxy-url, tls-server-name

/// A loopback HTTP CONNECT proxy: it records each CONNECT target, relays
/// the bytes both ways, and refuses any target that is not loopback.
struct ConnectProxy {
    url: String,
    targets: Arc<Mutex<Vec<String>>>,
}

fn connect_proxy() -> ConnectProxy {
    let (listener, url) = e2e::loopback_listener();
    let targets = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&targets);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let record = Arc::clone(&record);
            std::thread::spawn(move || relay(client, &record));
        }
    });
    ConnectProxy { url, targets }
}

fn relay(mut client: TcpStream, record: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let target = match request_line.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] => target.to_string(),
        _ => {
            let _ =
                client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
            return;
        }
    };
    record.lock().unwrap().push(target.clone());
    let loopback = target.starts_with("127.") || target.starts_with("localhost:");
    let Some(upstream) = loopback.then(|| TcpStream::connect(&target).ok()).flatten() else {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    let mut to_upstream = upstream.try_clone().unwrap();
    let mut from_upstream = upstream;
    // The reader gives what it buffered past the CONNECT head first.
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut from_upstream, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = forward.join();
}

#[test]
fn proxy_url_goes_through_an_http_connect_proxy_and_socks_is_refused() {
    let pki = pki(&["127.0.0.1"]);
    let server = KubeServer::start_tls_on("127.0.0.1:0", hive(), &pki.identity).unwrap();
    let proxy = connect_proxy();
    let dir = tempfile::tempdir().unwrap();
    let config = write_kubeconfig(
        dir.path(),
        "kubeconfig",
        &format!(
            "    server: {}\n{}    proxy-url: {}\n",
            server.url(),
            ca_line(&pki),
            proxy.url
        ),
        &format!("    token: {HIVE_TOKEN}\n"),
    );
    let input = objects(&["cd-east/cluster-1"]);
    hive_apply_at(&config, &input, &["--summary"]).success();
    let target = server.url().trim_start_matches("https://").to_string();
    let through_proxy = proxy.targets.lock().unwrap().clone();
    assert!(!through_proxy.is_empty(), "nothing went through the proxy");
    assert!(
        through_proxy.iter().all(|t| *t == target),
        "{through_proxy:?}"
    );
    assert_eq!(e2e::stored_objects(&server).len(), 5);
    if have_kubectl() {
        // kubectl takes the same way.
        proxy.targets.lock().unwrap().clear();
        kubectl(&config, dir.path(), &["get", "--raw", "/api"]).success();
        assert!(proxy.targets.lock().unwrap().contains(&target));
    }

    let socks = write_kubeconfig(
        dir.path(),
        "socks",
        &format!(
            "    server: {}\n{}    proxy-url: socks5://127.0.0.1:1080\n",
            server.url(),
            ca_line(&pki)
        ),
        &format!("    token: {HIVE_TOKEN}\n"),
    );
    hive_apply_at(&socks, &input, &[])
        .exit(1)
        .stderr_has("clusters[c].cluster.proxy-url")
        .stderr_has("SOCKS proxy");
}

#[test]
fn tls_server_name_is_the_name_the_certificate_is_checked_for() {
    // The certificate names only hive.internal, not the address we connect to.
    let pki = pki(&["hive.internal"]);
    let server = KubeServer::start_tls_on("127.0.0.1:0", hive(), &pki.identity).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cluster = format!("    server: {}\n{}", server.url(), ca_line(&pki));
    let token = format!("    token: {HIVE_TOKEN}\n");
    let input = objects(&["cd-east/cluster-1"]);
    let named = write_kubeconfig(
        dir.path(),
        "named",
        &format!("{cluster}    tls-server-name: hive.internal\n"),
        &token,
    );
    hive_apply_at(&named, &input, &["--summary"]).success();
    assert_eq!(e2e::stored_objects(&server).len(), 5);
    let unnamed = write_kubeconfig(dir.path(), "unnamed", &cluster, &token);
    hive_apply_at(&unnamed, &input, &[])
        .exit(3)
        .stderr_has("certificate");
    let wrong = write_kubeconfig(
        dir.path(),
        "wrong",
        &format!("{cluster}    tls-server-name: other.internal\n"),
        &token,
    );
    hive_apply_at(&wrong, &input, &[])
        .exit(3)
        .stderr_has("certificate");
    if have_kubectl() {
        // kubectl agrees on all three.
        kubectl(&named, dir.path(), &["get", "--raw", "/api"]).success();
        kubectl(&unnamed, dir.path(), &["get", "--raw", "/api"]).exit(1);
        kubectl(&wrong, dir.path(), &["get", "--raw", "/api"]).exit(1);
    }
}

/// The exit code for "this kubeconfig cannot be used" is one: 1, whatever
/// the cause; only a --context that names no context is a usage error.
#[test]
fn every_unusable_kubeconfig_is_exit_1_and_a_wrong_context_flag_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = objects(&["cd-east/cluster-1"]);
    let cases: [(&str, (String, String)); 5] = [
        (
            "a bad server port",
            (
                "    server: https://127.0.0.1:70000\n".into(),
                "    token: t\n".into(),
            ),
        ),
        (
            "an auth-provider",
            (
                "    server: https://127.0.0.1:9\n".into(),
                "    auth-provider: {name: oidc}\n".into(),
            ),
        ),
        (
            "an exec plugin of an old API version",
            (
                "    server: https://127.0.0.1:9\n".into(),
                "    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}\n"
                    .into(),
            ),
        ),
        (
            "groups without a user to impersonate",
            (
                "    server: https://127.0.0.1:9\n".into(),
                "    token: t\n    as-groups: [g]\n".into(),
            ),
        ),
        (
            "a SOCKS proxy",
            (
                "    server: https://127.0.0.1:9\n    proxy-url: socks5://127.0.0.1:1\n".into(),
                "    token: t\n".into(),
            ),
        ),
    ];
    for (what, (cluster, user)) in cases {
        let run = apply_with_kubeconfig(dir.path(), &cluster, &user, &input, &[]);
        assert_eq!(run.code(), 1, "{what}: {}", run.stderr());
    }
    let cluster = "    server: https://127.0.0.1:9\n";
    let args = ["--context", "nope"];
    apply_with_kubeconfig(dir.path(), cluster, "    token: t\n", &input, &args)
        .exit(2)
        .stderr_has("no context \"nope\"");
}
