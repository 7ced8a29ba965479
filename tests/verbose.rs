//! What the tools say on stderr: `-v` logs one line per HTTP request without
//! any credential, `--quiet` keeps only errors, and nothing carries terminal
//! escape codes when stderr is a pipe (CI logs).

use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use addon_flow_testservers::ocm::{FakeOcm, REFRESH_TOKEN};
use e2e::registry::LoopbackRegistry;
use e2e::{repo_root, tool};

const ADDON: &str = "examples/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml";

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The request lines of a `-v` run: `tool: METHOD URL -> STATUS ...`.
fn request_lines<'a>(stderr: &'a str, tool_name: &str) -> Vec<&'a str> {
    let prefix = format!("{tool_name}: ");
    stderr
        .lines()
        .filter(|line| {
            line.strip_prefix(&prefix).is_some_and(|rest| {
                [
                    "GET ", "HEAD ", "POST ", "PATCH ", "PUT ", "DELETE ", "AUTH ",
                ]
                .iter()
                .any(|m| rest.starts_with(m))
            })
        })
        .collect()
}

#[test]
fn verbose_ocm_post_logs_each_request_without_credentials() {
    let ocm = FakeOcm::start().unwrap();
    let output = tool("ocm-post")
        .args([
            "-v",
            ADDON,
            "--url",
            &ocm.url(),
            "--token-url",
            &ocm.token_url(),
        ])
        .env("OCM_REFRESH_TOKEN", REFRESH_TOKEN)
        .env_remove("OCM_TOKEN")
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let lines = request_lines(&stderr, "ocm-post");
    let sent = ocm.requests().len() + ocm.token_requests().len();
    assert_eq!(lines.len(), sent, "one line per request:\n{stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{}/token -> 200", ocm.url()))),
        "the token exchange is logged:\n{stderr}"
    );
    for line in &lines {
        assert!(
            line.contains(" ms, try ") && line.contains(" bytes sent"),
            "{line}"
        );
    }
    for secret in std::iter::once(REFRESH_TOKEN.to_owned()).chain(ocm.issued_tokens()) {
        assert!(!stderr.contains(&secret), "a token in the log:\n{stderr}");
    }
    assert!(!stderr.contains('\u{1b}'), "no escape codes in a pipe");
}

#[test]
fn verbose_hive_apply_logs_each_request_and_quiet_prints_nothing() {
    let hive = KubeServer::start(KubeOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, hive.kubeconfig("test-token-0123456789")).unwrap();
    hive.api().set_tokens(&["test-token-0123456789"]);
    let objects = tool("syncset-render")
        .args([ADDON, "--selector", "-o", "yaml"])
        .output()
        .unwrap();
    assert!(objects.status.success(), "{}", stderr_of(&objects));
    let objects_file = dir.path().join("objects.yaml");
    std::fs::write(&objects_file, &objects.stdout).unwrap();

    let before = hive.api().requests();
    let output = tool("hive-apply")
        .arg("-v")
        .arg(&objects_file)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let lines = request_lines(&stderr, "hive-apply");
    assert_eq!(
        lines.len() as u64,
        hive.api().requests() - before,
        "one line per request:\n{stderr}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("PATCH ") && l.contains("fieldManager=addon-flow")));
    assert!(!stderr.contains("test-token-0123456789"));
    assert!(!stderr.contains('\u{1b}'), "no escape codes in a pipe");

    let quiet = tool("hive-apply")
        .arg("--quiet")
        .arg(&objects_file)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert_eq!(stderr_of(&quiet), "", "--quiet prints no notes");
}

#[test]
fn no_tool_writes_escape_codes_into_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let bundles = repo_root().join("examples/managed-tenants-bundles/addons/reference-addon");
    let layout = dir.path().join("layout");
    let runs = [
        tool("addon-validate").arg(ADDON).output().unwrap(),
        tool("catalog-build")
            .arg("--bundles")
            .arg(&bundles)
            .arg("--oci-layout")
            .arg(&layout)
            .output()
            .unwrap(),
        tool("syncset-render")
            .args([ADDON, "--selector"])
            .output()
            .unwrap(),
    ];
    for output in runs {
        assert!(output.status.success(), "{}", stderr_of(&output));
        assert!(!stderr_of(&output).contains('\u{1b}'));
    }
}

#[test]
fn verbose_catalog_build_logs_each_registry_operation_without_the_password() {
    let Some(registry) = LoopbackRegistry::start() else {
        return;
    };
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let auth_file = dir.path().join("auth.json");
    // robot:registry-pw-5ecret
    let password = "registry-pw-5ecret";
    let encoded = "cm9ib3Q6cmVnaXN0cnktcHctNWVjcmV0";
    std::fs::write(
        &auth_file,
        format!("{{\"auths\": {{\"{host}\": {{\"auth\": \"{encoded}\"}}}}}}"),
    )
    .unwrap();
    let bundles = repo_root().join("tests/fixtures/catalog/good");
    let output = tool("catalog-build")
        .arg("-v")
        .arg("--bundles")
        .arg(&bundles)
        .args([
            "--repo",
            &format!("{host}/osd-addons/demo"),
            "--base-image",
            "scratch",
            "--no-cache",
        ])
        .env("REGISTRY_AUTH_FILE", &auth_file)
        .write_stdin("")
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let lines = request_lines(&stderr, "catalog-build");
    let repo = format!("http://{host}/v2/osd-addons/demo");
    // Pushing: the blob checks (HEAD), the uploads (PUT with their bytes),
    // the tag check and the manifest (PUT), for the bundles and the catalog.
    let has = |prefix: &str, tail: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(&format!("catalog-build: {prefix}")) && l.contains(tail))
    };
    assert!(
        has(&format!("HEAD {repo}/blobs/sha256:"), "-> 404 (absent)"),
        "{stderr}"
    );
    assert!(
        has(&format!("PUT {repo}/blobs/sha256:"), "-> 201 (pushed)"),
        "{stderr}"
    );
    assert!(
        has(&format!("PUT {repo}/manifests/latest"), "-> 201 (pushed)"),
        "{stderr}"
    );
    assert!(
        has(&format!("HEAD {repo}-bundle/blobs/sha256:"), ""),
        "{stderr}"
    );
    assert!(has("AUTH ", "-> ok"), "{stderr}");
    for line in &lines {
        assert!(
            line.contains(" ms, try ") && line.contains(" bytes sent"),
            "the request log format of the other tools: {line}"
        );
    }
    // An upload says how many bytes it sent.
    assert!(lines
        .iter()
        .any(|l| l.contains("PUT ") && !l.ends_with(" 0 bytes sent")));
    assert!(
        !stderr.contains(password),
        "the password in the log:\n{stderr}"
    );
    assert!(
        !stderr.contains(encoded),
        "the credentials in the log:\n{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no escape codes in a pipe");

    // Without -v: none of these lines.
    let output = tool("catalog-build")
        .arg("--bundles")
        .arg(&bundles)
        .args([
            "--repo",
            &format!("{host}/osd-addons/demo"),
            "--base-image",
            "scratch",
            "--no-cache",
        ])
        .env("REGISTRY_AUTH_FILE", &auth_file)
        .write_stdin("")
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        request_lines(&stderr, "catalog-build").is_empty(),
        "{stderr}"
    );
}
