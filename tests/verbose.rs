//! What the tools say on stderr: `-v` logs one line per HTTP request without
//! any credential, `--quiet` keeps only errors, and nothing carries terminal
//! escape codes when stderr is a pipe (CI logs).

use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use addon_flow_testservers::ocm::{FakeOcm, REFRESH_TOKEN};
use e2e::registry::LoopbackRegistry;
use e2e::{repo_root, servers, tool, write_kubeconfig, RunExt};

const ADDON: &str = "examples/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml";

/// What a terminal escape sequence starts with: none belongs in a pipe.
const ESCAPE: &str = "\u{1b}";

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
    let home = tempfile::tempdir().unwrap();
    let run = servers::with_ocm_refresh_token("ocm-post", home.path(), &ocm)
        .args([
            "-v",
            ADDON,
            "--url",
            &ocm.url(),
            "--token-url",
            &ocm.token_url(),
        ])
        .run()
        .success()
        .stderr_lacks(ESCAPE);
    let stderr = run.stderr();
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
    // No token in the log: neither the refresh token nor one OCM issued.
    std::iter::once(REFRESH_TOKEN.to_owned())
        .chain(ocm.issued_tokens())
        .fold(run, |run, secret| run.stderr_lacks(&secret));
}

#[test]
fn verbose_hive_apply_logs_each_request_and_quiet_prints_nothing() {
    const TOKEN: &str = "test-token-0123456789";
    let hive = KubeServer::start(KubeOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &hive, TOKEN);
    hive.api().set_tokens(&[TOKEN]);
    let objects = tool("syncset-render")
        .args([ADDON, "--selector", "-o", "yaml"])
        .run()
        .success();
    let objects_file = dir.path().join("objects.yaml");
    std::fs::write(&objects_file, &objects.output.stdout).unwrap();

    let before = hive.api().requests();
    let run = tool("hive-apply")
        .arg("-v")
        .arg(&objects_file)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .run()
        .success()
        .stderr_lacks(TOKEN)
        .stderr_lacks(ESCAPE);
    let stderr = run.stderr();
    let lines = request_lines(&stderr, "hive-apply");
    assert_eq!(
        lines.len() as u64,
        hive.api().requests() - before,
        "one line per request:\n{stderr}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("PATCH ") && l.contains("fieldManager=addon-flow")));

    // --quiet prints no notes.
    tool("hive-apply")
        .arg("--quiet")
        .arg(&objects_file)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .run()
        .success()
        .no_stderr();
}

#[test]
fn no_tool_writes_escape_codes_into_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let bundles = repo_root().join("examples/managed-tenants-bundles/addons/reference-addon");
    let layout = dir.path().join("layout");
    let runs = [
        tool("addon-validate").arg(ADDON).run(),
        tool("catalog-build")
            .arg("--bundles")
            .arg(&bundles)
            .arg("--oci-layout")
            .arg(&layout)
            .run(),
        tool("syncset-render").args([ADDON, "--selector"]).run(),
    ];
    for run in runs {
        run.success().stderr_lacks(ESCAPE);
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
    let catalog_build = || {
        let mut command = tool("catalog-build");
        command
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
            .write_stdin("");
        command
    };
    let run = catalog_build()
        .arg("-v")
        .run()
        .success()
        .stderr_lacks(password)
        .stderr_lacks(encoded)
        .stderr_lacks(ESCAPE);
    let stderr = run.stderr();
    let lines = request_lines(&stderr, "catalog-build");
    let repo = format!("http://{host}/v2/osd-addons/demo");
    // Pushing: the blob checks (HEAD), the uploads (PUT with their bytes),
    // the tag check and the manifest (PUT), for the bundles and the catalog.
    let has = |prefix: &str, tail: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(&format!("catalog-build: {prefix}")) && l.contains(tail))
    };
    for (prefix, tail) in [
        (format!("HEAD {repo}/blobs/sha256:"), "-> 404 (absent)"),
        (format!("PUT {repo}/blobs/sha256:"), "-> 201 (pushed)"),
        (format!("PUT {repo}/manifests/latest"), "-> 201 (pushed)"),
        (format!("HEAD {repo}-bundle/blobs/sha256:"), ""),
        ("AUTH ".to_string(), "-> ok"),
    ] {
        assert!(has(&prefix, tail), "{prefix} ... {tail}:\n{stderr}");
    }
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

    // Without -v: none of these lines.
    let quiet = catalog_build().run().success();
    assert!(
        request_lines(&quiet.stderr(), "catalog-build").is_empty(),
        "{}",
        quiet.stderr()
    );
}

/// A JSON document missing its last `}` is one error in every tool, saying
/// that the JSON ends early, with the line where it stops (once 544 lines in
/// syncset-render, ocm-post and csv-wait, none of which said so).
#[test]
fn a_json_document_cut_short_is_one_error_that_says_so_in_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let document = e2e::servers::example_document(dir.path());
    let text = std::fs::read_to_string(&document).unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.trim_end().len() - 1]).unwrap();
    let last_line = text.trim_end().lines().count();
    let bundles = repo_root().join("tests/fixtures/catalog/good");
    let runs: [(&str, Vec<&std::ffi::OsStr>); 6] = [
        ("addon-validate", vec![]),
        (
            "catalog-build",
            vec!["--bundles".as_ref(), bundles.as_os_str()],
        ),
        ("syncset-render", vec!["--selector".as_ref()]),
        ("ocm-post", vec!["--dry-run".as_ref()]),
        (
            "csv-wait",
            vec![
                "-c".as_ref(),
                "c1".as_ref(),
                "--url".as_ref(),
                "http://127.0.0.1:9".as_ref(),
            ],
        ),
        ("hive-apply", vec![]),
    ];
    for (name, args) in runs {
        for stdin in [false, true] {
            let mut command = tool(name);
            command.args(&args).env("OCM_TOKEN", "unused");
            let origin = if stdin {
                command.write_stdin(std::fs::read(&cut).unwrap());
                "<stdin>".to_string()
            } else {
                command.arg(&cut);
                cut.display().to_string()
            };
            let run = command.run().exit(1);
            let stderr = run.stderr();
            let said =
                "is JSON that ends early: its closing `}` is missing (was the document cut short?)";
            // addon-validate reports every problem as a finding, in the
            // `file:line: severity CODE: message` form, and counts them.
            if name == "addon-validate" {
                let expected = format!(
                    "{origin}:{last_line}: error SC0011: (document): {said} \
                     (expected a readable YAML or JSON add-on document)\n\
                     addon-validate: 1 error(s), 0 warning(s)"
                );
                assert_eq!(stderr.trim_end(), expected, "{name}, stdin {stdin}");
            } else {
                // Notes (ocm-post's dry run) may come first; the error is one line.
                let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
                let expected = format!("{name}: error: {origin}:{last_line}: {said}");
                assert_eq!(
                    errors,
                    [expected.as_str()],
                    "{name}, stdin {stdin}: {stderr}"
                );
            }
        }
    }
}
