//! No credential in any output: every remote tool runs with recognisable
//! secrets in every credential source we read, against a loopback server
//! that repeats the request's headers and body in its error answers (as some
//! proxies and test servers do). stdout, stderr and every file the tools
//! write are searched for each secret: none may appear.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use addon_flow_testservers::http::{HttpRequest, HttpResponse, Server};
use e2e::{repo_root, tool, RunExt, OCM_CREDENTIAL_VARS};
use serde_json::json;

const OCM_TOKEN: &str = "ocm-access-SECRET-1111";
const OFFLINE_TOKEN: &str = "ocm-offline-SECRET-2222";
const CLIENT_SECRET: &str = "ocm-client-SECRET-3333";
const OCM_JSON_TOKEN: &str = "ocm-json-SECRET-4444";
const KUBE_TOKEN: &str = "kube-token-SECRET-5555";
const KUBE_TOKEN_FILE: &str = "kube-file-SECRET-6666";
const REGISTRY_PASSWORD: &str = "registry-pass-SECRET-7777";
const QUAY_APIKEY: &str = "quay-apikey-SECRET-8888";
const URL_PASSWORD: &str = "url-pass-SECRET-9999";
const PROMETHEUS_TOKEN: &str = "prom-token-SECRET-0000";

/// Marks the server's echo, so a test can tell its text reached the output.
const ECHO: &str = "ECHO-OF-THE-REQUEST";

/// Answers every request with an error that repeats it: 401 with a Basic
/// challenge when it carries no credentials (so clients that authenticate on
/// demand send them), else 400. The body fits every API's error shape: OCM's
/// `reason`, OAuth2's `error_description`, Prometheus' `error`, Kubernetes'
/// `message`.
fn echo_server() -> Server {
    Server::start(Arc::new(|request: &HttpRequest| {
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        let echo = format!(
            "{ECHO} {} {} {:?} headers [{}] body [{}]",
            request.method,
            request.path,
            request.query,
            headers.join("; "),
            String::from_utf8_lossy(&request.body)
        );
        let body = json!({
            "kind": "Status", "apiVersion": "v1", "code": 400, "id": "400",
            "reason": echo, "message": echo, "status": "error", "errorType": "bad_data",
            "error": echo, "error_description": echo, "errors": [{"code": "DENIED", "message": echo}]
        });
        if request.header("authorization").is_none() {
            HttpResponse::json(401, &body).header("WWW-Authenticate", "Basic realm=\"echo\"")
        } else {
            HttpResponse::json(400, &body)
        }
    }))
    .unwrap()
}

/// A client certificate and its key (PEM), for the kubeconfig.
fn client_pair() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "admin");
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// Where the tools may write: the working directory, HOME and the cache.
struct Outputs {
    dir: tempfile::TempDir,
}

impl Outputs {
    fn new() -> Outputs {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Outputs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A tool run here, with every credential variable cleared but QUAY_*.
    fn tool(&self, name: &str) -> assert_cmd::Command {
        let mut command = tool(name);
        let others = [
            "KUBECONFIG",
            "PROMETHEUS_URL",
            "PROMETHEUS_TOKEN",
            "REGISTRY_AUTH_FILE",
            "XDG_CONFIG_HOME",
        ];
        for var in OCM_CREDENTIAL_VARS.iter().chain(&others) {
            command.env_remove(var);
        }
        command
            .current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("XDG_CACHE_HOME", self.path().join("cache"))
            .env("QUAY_USER", "robot")
            .env("QUAY_APIKEY", QUAY_APIKEY)
            .timeout(std::time::Duration::from_secs(120));
        command
    }

    /// Every file written under the outputs, read whole.
    fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        walkdir::WalkDir::new(self.path())
            .into_iter()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_file())
            .map(|entry| {
                (
                    entry.path().to_path_buf(),
                    std::fs::read(entry.path()).unwrap(),
                )
            })
            .collect()
    }
}

/// Checks that no secret appears in `text`; `what` names the run.
fn assert_clean(what: &str, text: &[u8], secrets: &[String]) {
    let text = String::from_utf8_lossy(text);
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what}: the secret {secret:?} leaked:\n{text}"
        );
    }
}

#[test]
fn no_secret_from_any_credential_source_reaches_any_output() {
    let server = echo_server();
    let url = server.url();
    let with_userinfo = url.replace("http://", &format!("http://someone:{URL_PASSWORD}@"));
    let host = url.trim_start_matches("http://").to_string();
    let inputs = tempfile::tempdir().unwrap();
    let outputs = Outputs::new();

    // The credential files.
    let ocm_json = inputs.path().join("ocm.json");
    std::fs::write(
        &ocm_json,
        json!({"refresh_token": OCM_JSON_TOKEN, "token_url": url, "url": url}).to_string(),
    )
    .unwrap();
    let token_file = inputs.path().join("token");
    std::fs::write(&token_file, format!("{KUBE_TOKEN_FILE}\n")).unwrap();
    let (cert_pem, key_pem) = client_pair();
    let auth_file = inputs.path().join("auth.json");
    let auth = common::text::base64::encode(format!("robot:{REGISTRY_PASSWORD}").as_bytes());
    std::fs::write(
        &auth_file,
        json!({"auths": {host.clone(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let kubeconfig = |name: &str, server: &str, user: &str| {
        let path = inputs.path().join(name);
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {server}\nusers:\n- name: robot\n  user:\n{user}contexts:\n- name: c\n  context: {{cluster: c, user: robot}}\n"
            ),
        )
        .unwrap();
        path
    };
    let kube_token = kubeconfig(
        "kubeconfig-token",
        &with_userinfo,
        &format!("    token: {KUBE_TOKEN}\n"),
    );
    let kube_token_file = kubeconfig(
        "kubeconfig-token-file",
        &url,
        &format!("    tokenFile: {}\n", token_file.display()),
    );
    let kube_cert = kubeconfig(
        "kubeconfig-cert",
        &url,
        &format!(
            "    token: {KUBE_TOKEN}\n    client-certificate-data: {}\n    client-key-data: {}\n",
            common::text::base64::encode(cert_pem.as_bytes()),
            common::text::base64::encode(key_pem.as_bytes())
        ),
    );

    let mut secrets: Vec<String> = [
        OCM_TOKEN,
        OFFLINE_TOKEN,
        CLIENT_SECRET,
        OCM_JSON_TOKEN,
        KUBE_TOKEN,
        KUBE_TOKEN_FILE,
        REGISTRY_PASSWORD,
        QUAY_APIKEY,
        URL_PASSWORD,
        PROMETHEUS_TOKEN,
        &auth,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // The client key: every base64 line of its PEM body.
    secrets.extend(
        key_pem
            .lines()
            .filter(|line| !line.starts_with("-----") && line.len() > 16)
            .map(str::to_string),
    );
    secrets.push(common::text::base64::encode(key_pem.as_bytes()));

    let addon = repo_root().join("tests/fixtures/ocm/plain-addon.json");
    let document = serde_json::to_vec(&e2e::demo_addon()).unwrap();
    let objects = tool("syncset-render")
        .arg(repo_root().join("tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml"))
        .args(["--cluster-deployment", "cd-east/cluster-1"])
        .run()
        .success()
        .output
        .stdout;

    // (what, command, whether the echo must reach stderr)
    let mut runs: Vec<(&str, assert_cmd::Command, bool)> = Vec::new();
    let mut ocm = |what, setup: &dyn Fn(&mut assert_cmd::Command)| {
        let mut command = outputs.tool("ocm-post");
        command.arg(&addon);
        setup(&mut command);
        runs.push((what, command, true));
    };
    ocm("ocm-post OCM_TOKEN and --url userinfo", &|c| {
        c.env("OCM_TOKEN", OCM_TOKEN)
            .args(["--url", &with_userinfo]);
    });
    ocm("ocm-post OCM_OFFLINE_TOKEN", &|c| {
        c.env("OCM_OFFLINE_TOKEN", OFFLINE_TOKEN)
            .args(["--url", &url, "--token-url", &url]);
    });
    ocm("ocm-post client credentials", &|c| {
        c.env("OCM_CLIENT_ID", "svc")
            .env("OCM_CLIENT_SECRET", CLIENT_SECRET)
            .args(["--url", &url, "--token-url", &with_userinfo]);
    });
    ocm("ocm-post ocm.json", &|c| {
        c.env("OCM_CONFIG", &ocm_json);
    });
    ocm("ocm-post dry run with --url userinfo", &|c| {
        c.args(["--url", &with_userinfo, "--dry-run"]);
    });
    for (what, config) in [
        (
            "hive-apply kubeconfig token and server userinfo",
            &kube_token,
        ),
        ("hive-apply tokenFile", &kube_token_file),
        ("hive-apply client key", &kube_cert),
    ] {
        let mut command = outputs.tool("hive-apply");
        command
            .env("KUBECONFIG", config)
            .args(["--request-timeout", "20s"])
            .write_stdin(objects.clone());
        runs.push((what, command, true));
    }
    let csv_wait = || {
        let mut command = outputs.tool("csv-wait");
        command.args(["--operator", "x", "-c", "c1", "--timeout", "20s"]);
        command
    };
    let mut with_token = csv_wait();
    with_token
        .env("PROMETHEUS_TOKEN", PROMETHEUS_TOKEN)
        .args(["--url", &with_userinfo]);
    runs.push((
        "csv-wait PROMETHEUS_TOKEN and --url userinfo",
        with_token,
        true,
    ));
    let mut url_from_env = csv_wait();
    url_from_env.env("PROMETHEUS_URL", &with_userinfo);
    runs.push(("csv-wait PROMETHEUS_URL userinfo", url_from_env, false));
    let mut catalog = outputs.tool("catalog-build");
    catalog
        .env("REGISTRY_AUTH_FILE", &auth_file)
        .args(["--bundles"])
        .arg(repo_root().join("tests/fixtures/catalog/good"))
        .args([
            "--repo",
            &format!("{host}/osd-addons/demo"),
            "--base-image",
            "scratch",
        ])
        .write_stdin(document);
    runs.push((
        "catalog-build registry auth file and QUAY_APIKEY",
        catalog,
        false,
    ));

    for (what, mut command, echo_expected) in runs {
        let mut run = command.run();
        assert!(
            ![101, 70].contains(&run.code()),
            "{what} panicked: {}",
            run.stderr()
        );
        if echo_expected && !what.contains("dry run") {
            // The server's words reach stderr (redacted).
            run = run.stderr_has(ECHO);
        }
        assert_clean(&format!("{what}: stdout"), &run.output.stdout, &secrets);
        assert_clean(&format!("{what}: stderr"), &run.output.stderr, &secrets);
    }
    let written = outputs.files();
    for (path, bytes) in &written {
        assert_clean(&path.display().to_string(), bytes, &secrets);
    }
}

/// A 401 says, in words, what is wrong with the token and what to do, and
/// leaves OCM's own sentence whole ("a valid bearer token", not "a valid
/// bearer <redacted>"), without ever showing the token.
#[test]
fn an_access_token_ocm_refuses_is_explained_without_showing_it() {
    const UNKNOWN: &str = "not-a-token-OCM-knows-1234";
    let ocm = addon_flow_testservers::ocm::FakeOcm::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let document = e2e::servers::example_document(home.path());
    let refused = |command: &mut assert_cmd::Command| {
        command
            .env("OCM_TOKEN", UNKNOWN)
            .arg(&document)
            .timeout(std::time::Duration::from_secs(120))
            .run()
            .exit(3)
            .stderr_has("HTTP 401")
            .stderr_has("with a valid bearer token")
            .stderr_has(&format!(
                "OCM at {} did not accept the access token from OCM_TOKEN",
                ocm.url()
            ))
            .stderr_has("expired")
            .stderr_has("`ocm token`")
            .stderr_lacks("<redacted>")
            .stderr_lacks(UNKNOWN)
            .stdout_lacks(UNKNOWN);
    };
    refused(
        e2e::servers::without_ocm_credentials("ocm-post", home.path()).args(["--url", &ocm.url()]),
    );
    refused(
        e2e::servers::without_ocm_credentials("csv-wait", home.path()).args([
            "--source",
            "ocm",
            "--url",
            &ocm.url(),
            "-c",
            "c1",
        ]),
    );
}
