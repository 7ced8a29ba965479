//! ocm-post end to end: its payloads against managed-tenants' golden ones,
//! and create → update → disable → show → delete against the fake OCM, with
//! token exchange, retries, OCM's errors, and no credential in any output.

use std::path::{Path, PathBuf};

use addon_flow_testservers::ocm::{
    FakeOcm, Recorded, ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN,
};
use e2e::check::{has_all, has_none};
use e2e::{repo_root, require_reference, RunExt};
use serde_json::Value;

/// ocm-post with a clean environment: no credentials but what the test gives,
/// and a HOME without an ocm configuration.
fn ocm_post(home: &Path) -> assert_cmd::Command {
    e2e::servers::without_ocm_credentials("ocm-post", home)
}

/// (method, path) of each recorded request, in order: the calls to check.
fn calls(requests: &[Recorded]) -> Vec<(&str, &str)> {
    requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect()
}

fn fixture(path: &str) -> PathBuf {
    repo_root().join("tests/fixtures/ocm").join(path)
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// `ocm-post --dry-run -o json` against an OCM at `https://ocm.example.com`:
/// the requests it would send, printed.
fn dry_run_requests(home: &Path) -> assert_cmd::Command {
    let mut command = ocm_post(home);
    command.args([
        "--dry-run",
        "-o",
        "json",
        "--url",
        "https://ocm.example.com",
    ]);
    command
}

/// The bodies `ocm-post --dry-run` would send for `input`, and its stderr.
fn dry_run_bodies(input: &Path, service: &str) -> (Vec<Value>, String) {
    let home = tempfile::tempdir().unwrap();
    let output = ocm_post(home.path())
        .args(["--dry-run", "-o", "json", "--service", service])
        .arg(input)
        .run()
        .success();
    let requests: Vec<Value> = serde_json::from_value(output.json()).unwrap();
    let bodies = requests
        .into_iter()
        .map(|request| {
            assert_eq!(request["method"], "POST");
            request["body"].clone()
        })
        .collect();
    (bodies, output.stderr())
}

/// mtcli's clusters_mgmt payload as we deliberately send it instead, each
/// service getting what its own model defines (README, "Differences from
/// managed-tenants-cli"): `config.add_on_secret_propagations`, addons_mgmt's
/// name, is clusters_mgmt's `config.secret_propagations` (DF0007), and
/// parameters carry no `order`, which clusters_mgmt's `AddOnParameter` lacks
/// (DF0008). Returns the payload and the codes ocm-post must warn.
fn as_clusters_mgmt_defines(mut mtcli: Value) -> (Value, Vec<&'static str>) {
    let mut warned = Vec::new();
    if let Some(config) = mtcli.get_mut("config").and_then(Value::as_object_mut) {
        if let Some(secrets) = config.remove("add_on_secret_propagations") {
            if secrets.as_array().is_some_and(|s| !s.is_empty()) {
                warned.push("DF0007");
            }
            config.insert("secret_propagations".into(), secrets);
        }
    }
    if let Some(items) = mtcli
        .pointer_mut("/parameters/items")
        .and_then(Value::as_array_mut)
    {
        if !items.is_empty() {
            warned.push("DF0008");
        }
        for item in items {
            item.as_object_mut().map(|p| p.remove("order"));
        }
    }
    (mtcli, warned)
}

/// `step 2 - orphan SSS objects` → `step-2-orphan-SSS-objects`, as the golden file names spell them.
fn migration_slug(step: &str) -> String {
    step.replace(" - ", "-").replace(' ', "-")
}

/// Applies a golden variant to the fixture's addon.yaml, as the golden README describes.
fn apply_variant(addon: &mut serde_yaml::Mapping, variant: &str) {
    let key = |name: &str| serde_yaml::Value::String(name.to_string());
    let set_version = |addon: &mut serde_yaml::Mapping, version: &str| {
        addon.insert(key("addonImageSetVersion"), key(version));
    };
    match variant {
        "imageset-1.0.1" | "imageset-1.0.2" | "imageset-latest" => {
            set_version(addon, &variant["imageset-".len()..])
        }
        "imageset-1.0.2-no-config" => {
            addon.remove("config");
            set_version(addon, "1.0.2");
        }
        "no-config" => {
            addon.remove("config");
        }
        "no-additionalCatalogSources" => {
            addon.remove("additionalCatalogSources");
        }
        "indeximage-instead-of-imageset" => {
            addon.remove("addonImageSetVersion");
            addon.insert(
                key("indexImage"),
                key("quay.io/osd-addons/mock-operator-index@sha256:..."),
            );
        }
        other => {
            let step = other
                .strip_prefix("migration-")
                .and_then(|slug| {
                    common::model::addon::SyncsetMigration::ALL
                        .iter()
                        .find(|step| migration_slug(step) == slug)
                })
                .unwrap_or_else(|| {
                    panic!(
                        "golden variant {other:?} is not known to this test; teach apply_variant"
                    )
                });
            addon.insert(key("syncsetMigration"), key(step));
        }
    }
}

/// Every golden case of managed-tenants-cli's OCM payloads, each as an
/// addon.yaml in a copy of its fixture tree under `work` with its variant
/// applied (as the golden README describes): (case, addon.yaml).
pub(crate) fn golden_cases(reference: &Path, work: &Path) -> Vec<(String, PathBuf)> {
    let golden = reference.join("golden/ocm");
    let addons = reference.join("managed-tenants-cli/tests/testdata/addons");
    e2e::golden_case_names(&golden, ".addon.cs.json")
        .into_iter()
        .map(|case| {
            let mut parts = case.splitn(3, "__");
            let (dir, env, variant) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
            let tree = work.join(&case).join(dir);
            e2e::copy_tree(&addons.join(dir), &tree);
            let addon_yaml = tree.join("metadata").join(env).join("addon.yaml");
            if let Some(variant) = variant {
                let text = std::fs::read_to_string(&addon_yaml).unwrap();
                let mut addon: serde_yaml::Mapping = serde_yaml::from_str(&text).unwrap();
                apply_variant(&mut addon, variant);
                std::fs::write(&addon_yaml, serde_yaml::to_string(&addon).unwrap()).unwrap();
            }
            (case, addon_yaml)
        })
        .collect()
}

#[test]
fn payloads_equal_managed_tenants_golden_outputs() {
    let Some(reference) = require_reference("ocm-post golden payloads") else {
        return;
    };
    let golden = reference.join("golden/ocm");
    let work = tempfile::tempdir().unwrap();
    for (case, addon_yaml) in golden_cases(&reference, work.path()) {
        for (service, suffix) in [("clusters", "cs"), ("addons", "as")] {
            let (bodies, stderr) = dry_run_bodies(&addon_yaml, service);
            // mtcli's payload, as the target service's model defines it.
            let expected = |file: &str| {
                let mtcli = read_json(&golden.join(file));
                match service {
                    "clusters" => as_clusters_mgmt_defines(mtcli),
                    _ => (mtcli, Vec::new()),
                }
            };
            let (expected_addon, mut warned) = expected(&format!("{case}.addon.{suffix}.json"));
            assert_eq!(
                bodies[0], expected_addon,
                "{case}: the {service} add-on payload differs from {case}.addon.{suffix}.json"
            );
            let version_file = format!("{case}.version.{suffix}.json");
            if golden.join(&version_file).is_file() {
                assert_eq!(bodies.len(), 2, "{case}: expected a version request");
                let (expected_version, also_warned) = expected(&version_file);
                warned.extend(also_warned);
                assert_eq!(
                    bodies[1], expected_version,
                    "{case}: the version payload differs from {version_file}"
                );
            } else {
                assert_eq!(
                    bodies.len(),
                    1,
                    "{case}: no version expected (mtcli posts none)"
                );
            }
            for code in ["DF0007", "DF0008"] {
                assert_eq!(
                    stderr.contains(&format!("warning {code}:")),
                    warned.contains(&code),
                    "{case} ({service}): the {code} warning\n{stderr}"
                );
            }
        }
        // The raw builder output equals the clusters_mgmt body: its sanitiser removes nothing here.
        assert_eq!(
            read_json(&golden.join(format!("{case}.addon.json"))),
            read_json(&golden.join(format!("{case}.addon.cs.json"))),
            "{case}"
        );
    }
}

#[test]
fn payloads_of_our_fixtures_match_their_golden_files() {
    for (input, name) in [
        ("addons/my-addon/metadata/stage/addon.yaml", "my-addon"),
        ("plain-addon.json", "plain-addon"),
    ] {
        for service in ["clusters", "addons"] {
            let home = tempfile::tempdir().unwrap();
            let output = dry_run_requests(home.path())
                .args(["--service", service])
                .arg(fixture(input))
                .run()
                .success();
            let actual: Value = output.json();
            let expected = read_json(&fixture(&format!("{name}.{service}.requests.json")));
            assert_eq!(actual, expected, "{name} ({service})");
        }
    }
    // The add-on document from stdin gives the same requests as the file.
    let home = tempfile::tempdir().unwrap();
    let output = dry_run_requests(home.path())
        .pipe_stdin(fixture("plain-addon.json"))
        .unwrap()
        .run()
        .success();
    assert_eq!(
        output.json(),
        read_json(&fixture("plain-addon.clusters.requests.json"))
    );
}

/// A fake OCM, a HOME of its own, and the transcript of the runs against
/// them: what most publishing tests start from.
fn session() -> (FakeOcm, tempfile::TempDir, Transcript) {
    let ocm = FakeOcm::start().unwrap();
    (ocm, tempfile::tempdir().unwrap(), Transcript::default())
}

/// Every byte a run printed, for the credential check.
#[derive(Default)]
struct Transcript(String);

impl Transcript {
    fn run(&mut self, command: &mut assert_cmd::Command) -> e2e::Run {
        let output = command.run();
        self.0.push_str(&output.stdout());
        self.0.push_str(&output.stderr());
        output
    }

    fn assert_no_credentials(&self, ocm: &FakeOcm) {
        let mut secrets = vec![
            REFRESH_TOKEN.to_string(),
            ACCESS_TOKEN.to_string(),
            CLIENT_SECRET.to_string(),
        ];
        secrets.extend(ocm.issued_tokens());
        for secret in secrets {
            assert!(
                !self.0.contains(&secret),
                "a credential appeared in the output:\n{}",
                self.0
            );
        }
        assert!(
            !self.0.contains("fake-ocm-access-"),
            "an access token appeared in the output"
        );
    }
}

fn with_refresh_token<'a>(
    command: &'a mut assert_cmd::Command,
    ocm: &FakeOcm,
) -> &'a mut assert_cmd::Command {
    command.env("OCM_REFRESH_TOKEN", REFRESH_TOKEN).args([
        "--url",
        &ocm.url(),
        "--token-url",
        &ocm.token_url(),
        "-o",
        "json",
    ])
}

#[test]
fn creates_updates_disables_shows_and_deletes_with_one_exchange_per_run() {
    let (ocm, home, mut transcript) = session();
    let addon_yaml = fixture("addons/my-addon/metadata/stage/addon.yaml");

    // Create: the add-on, then its version, with one exchanged token.
    let output = transcript
        .run(with_refresh_token(&mut ocm_post(home.path()), &ocm).arg(&addon_yaml))
        .success();
    let answered: Value = output.json();
    assert_eq!(answered["id"], "my-addon");
    assert_eq!(answered["kind"], "AddOn");
    assert_eq!(answered["version"]["id"], "1.2.0");
    assert_eq!(ocm.token_requests().len(), 1);
    let form = &ocm.token_requests()[0];
    assert!(form.contains(&("grant_type".into(), "refresh_token".into())));
    assert!(form.contains(&("client_id".into(), "cloud-services".into())));
    let issued = ocm.issued_tokens();
    let requests = ocm.requests();
    // Each object is read first: missing, so it is created.
    assert_eq!(
        calls(&requests),
        [
            ("GET", "/api/clusters_mgmt/v1/addons/my-addon"),
            ("POST", "/api/clusters_mgmt/v1/addons"),
            (
                "GET",
                "/api/clusters_mgmt/v1/addons/my-addon/versions/1.2.0"
            ),
            ("POST", "/api/clusters_mgmt/v1/addons/my-addon/versions")
        ]
    );
    assert!(
        requests
            .iter()
            .all(|r| r.token.as_deref() == Some(issued[0].as_str())),
        "the exchanged token is reused"
    );
    let expected = read_json(&fixture("my-addon.clusters.requests.json"));
    assert_eq!(requests[1].body, expected[0]["body"]);
    assert_eq!(
        ocm.addon("my-addon").unwrap()["docs_link"],
        "https://docs.example.com/my-addon"
    );

    // Update: same add-on with a new description; it is read, differs, and
    // is patched without id; the version is equal and left alone.
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("my-addon");
    e2e::copy_tree(&fixture("addons/my-addon"), &tree);
    let changed = tree.join("metadata/stage/addon.yaml");
    e2e::replace_in(&changed, "exercises every field", "was updated");
    let output = transcript
        .run(with_refresh_token(&mut ocm_post(home.path()), &ocm).arg(&changed))
        .success();
    let stderr = output.stderr();
    assert!(stderr.contains("updated add-on my-addon"), "{stderr}");
    let requests = ocm.requests();
    assert_eq!(
        calls(&requests[4..]),
        [
            ("GET", "/api/clusters_mgmt/v1/addons/my-addon"),
            ("PATCH", "/api/clusters_mgmt/v1/addons/my-addon"),
            (
                "GET",
                "/api/clusters_mgmt/v1/addons/my-addon/versions/1.2.0"
            ),
        ]
    );
    assert!(
        requests[5].body.get("id").is_none(),
        "PATCH bodies carry no id"
    );
    has_all(
        "the update",
        &stderr,
        &[
            "updated add-on my-addon (description)",
            "version 1.2.0 unchanged",
        ],
    );
    assert_eq!(
        ocm.addon("my-addon").unwrap()["description"],
        "An add-on that was updated ocm-post maps."
    );

    // Disable by id alone.
    let output = transcript
        .run(with_refresh_token(&mut ocm_post(home.path()), &ocm).args([
            "--id",
            "my-addon",
            "--disable",
        ]))
        .success();
    assert_eq!(output.json()["enabled"], false);
    assert_eq!(ocm.addon("my-addon").unwrap()["enabled"], false);
    assert_eq!(
        ocm.requests().last().unwrap().body,
        serde_json::json!({"enabled": false})
    );

    // Read back, versions included.
    let output = transcript
        .run(
            with_refresh_token(&mut ocm_post(home.path()), &ocm)
                .arg("--show")
                .arg(&addon_yaml),
        )
        .success();
    let shown: Value = output.json();
    assert_eq!(shown["enabled"], false);
    assert_eq!(shown["versions"][0]["id"], "1.2.0");

    // Delete, then the add-on is gone and --show says so with OCM's reason.
    transcript
        .run(
            with_refresh_token(&mut ocm_post(home.path()), &ocm)
                .args(["--id", "my-addon", "--delete"]),
        )
        .success();
    assert!(ocm.addon("my-addon").is_none());
    let output = transcript
        .run(
            with_refresh_token(&mut ocm_post(home.path()), &ocm)
                .args(["--id", "my-addon", "--show"]),
        )
        .exit(3);
    assert!(output
        .stderr()
        .contains("CLUSTERS-MGMT-404: Add-on 'my-addon' not found"));

    // One exchange per run, never more.
    assert_eq!(ocm.token_requests().len(), 6);
    transcript.assert_no_credentials(&ocm);
}

#[test]
fn short_lived_tokens_are_renewed_before_they_expire() {
    let ocm = FakeOcm::start().unwrap();
    ocm.set_token_lifetime(0);
    let home = tempfile::tempdir().unwrap();
    let mut transcript = Transcript::default();
    transcript
        .run(
            with_refresh_token(&mut ocm_post(home.path()), &ocm)
                .arg(fixture("addons/my-addon/metadata/stage/addon.yaml")),
        )
        .success();
    let requests = ocm.requests();
    assert_eq!(
        requests.len(),
        4,
        "GET and POST of the add-on and of its version"
    );
    assert_eq!(
        ocm.token_requests().len(),
        4,
        "a token that expires at once is exchanged before each request"
    );
    assert_ne!(requests[0].token, requests[1].token);
    transcript.assert_no_credentials(&ocm);
}

#[test]
fn server_errors_are_retried_and_client_errors_show_ocm_reason() {
    let (ocm, home, mut transcript) = session();
    let plain = fixture("plain-addon.json");
    let access = |command: &mut assert_cmd::Command| {
        command
            .env("OCM_TOKEN", ACCESS_TOKEN)
            .args(["--url", &ocm.url(), "-o", "json"])
            .arg(&plain);
    };

    // A 500 and a 429, then success.
    ocm.fail_next("POST", 500, "Internal error, try again");
    ocm.fail_next("POST", 429, "Too many requests");
    let mut command = ocm_post(home.path());
    access(&mut command);
    let output = transcript.run(&mut command).success();
    assert_eq!(
        ocm.requests().iter().filter(|r| r.method == "POST").count(),
        3
    );
    assert!(output.stderr().contains("HTTP 500; retrying"));
    assert!(ocm.addon("plain-addon").is_some());

    // A 400 is not retried and fails with OCM's reason (the add-on changed,
    // so it is patched).
    let mut changed_addon = read_json(&plain);
    changed_addon["description"] = Value::from("A changed description");
    let changed = home.path().join("changed-addon.json");
    std::fs::write(&changed, changed_addon.to_string()).unwrap();
    ocm.fail_next("PATCH", 400, "Add-on 'icon' must be a base64-encoded PNG");
    let before = ocm.requests().len();
    let output = transcript
        .run(
            ocm_post(home.path())
                .env("OCM_TOKEN", ACCESS_TOKEN)
                .args(["--url", &ocm.url(), "-o", "json"])
                .arg(&changed),
        )
        .exit(3);
    let stderr = output.stderr();
    assert!(stderr.contains("PATCH /api/clusters_mgmt/v1/addons/plain-addon: HTTP 400 CLUSTERS-MGMT-400: Add-on 'icon' must be a base64-encoded PNG"), "{stderr}");
    assert_eq!(
        ocm.requests().len() - before,
        2,
        "GET then one PATCH, no retry of the 400"
    );
    assert!(output.stdout().is_empty());

    // An unknown access token: 401 with a hint, no renewal possible.
    transcript
        .run(
            ocm_post(home.path())
                .env("OCM_TOKEN", "not-a-valid-token")
                .args(["--url", &ocm.url()])
                .arg(&plain),
        )
        .exit(3)
        .stderr_has("HTTP 401")
        .stderr_has("OCM_TOKEN")
        .stderr_lacks("not-a-valid-token");
    transcript.assert_no_credentials(&ocm);
}

#[test]
fn credentials_come_from_client_credentials_or_the_ocm_configuration() {
    let (ocm, home, mut transcript) = session();
    let plain = fixture("plain-addon.json");

    // A service account.
    transcript
        .run(
            ocm_post(home.path())
                .env("OCM_CLIENT_ID", CLIENT_ID)
                .env("OCM_CLIENT_SECRET", CLIENT_SECRET)
                .args(["--url", &ocm.url(), "--token-url", &ocm.token_url()])
                .arg(&plain),
        )
        .success();
    assert!(ocm.token_requests()[0].contains(&("grant_type".into(), "client_credentials".into())));

    // ~/.config/ocm/ocm.json as `ocm login` writes it, its url and token_url included.
    let config_dir = home.path().join(".config/ocm");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = serde_json::json!({
        "access_token": "", "client_id": "cloud-services", "refresh_token": REFRESH_TOKEN,
        "scopes": ["openid"], "token_url": ocm.token_url(), "url": ocm.url()
    });
    std::fs::write(config_dir.join("ocm.json"), config.to_string()).unwrap();
    transcript
        .run(ocm_post(home.path()).args(["--id", "plain-addon", "--enable", "-o", "json"]))
        .success();
    assert_eq!(ocm.addon("plain-addon").unwrap()["enabled"], true);
    assert_eq!(ocm.token_requests().len(), 2);

    // A refused refresh token: a remote error that names the source, not the token.
    transcript
        .run(
            ocm_post(home.path())
                .env("OCM_REFRESH_TOKEN", "revoked-offline-token")
                .args(["--url", &ocm.url(), "--token-url", &ocm.token_url()])
                .arg(&plain),
        )
        .exit(3)
        .stderr_has("invalid_grant")
        .stderr_has("OCM_REFRESH_TOKEN")
        .stderr_lacks("revoked-offline-token");

    // No credentials at all: a usage error that says what to set.
    let empty_home = tempfile::tempdir().unwrap();
    let output = transcript
        .run(
            ocm_post(empty_home.path())
                .args(["--url", &ocm.url()])
                .arg(&plain),
        )
        .exit(2);
    assert!(output.stderr().contains("OCM_REFRESH_TOKEN"));
    transcript.assert_no_credentials(&ocm);
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let ocm = FakeOcm::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let broken = work.path().join("broken.json");
    std::fs::write(&broken, r#"{"id": "x", "name": 3}"#).unwrap();
    let output = ocm_post(home.path())
        .env("OCM_TOKEN", ACCESS_TOKEN)
        .args(["--url", &ocm.url()])
        .arg(&broken)
        .run()
        .exit(1);
    assert!(output.stderr().contains("broken.json"));
    assert!(ocm.requests().is_empty());
    ocm_post(home.path())
        .args(["--url", "staeg", "--dry-run"])
        .arg(fixture("plain-addon.json"))
        .run()
        .exit(2);
}

#[test]
fn a_refused_token_is_exchanged_again_and_the_addons_service_is_reachable() {
    let (ocm, home, mut transcript) = session();
    // OCM revokes the access token mid-run: one 401, then ocm-post exchanges anew and retries.
    ocm.fail_next("GET", 401, "Access token is revoked");
    let output = transcript
        .run(
            with_refresh_token(&mut ocm_post(home.path()), &ocm)
                .args(["--service", "addons", "--no-version"])
                .arg(fixture("addons/my-addon/metadata/stage/addon.yaml")),
        )
        .success();
    assert_eq!(ocm.token_requests().len(), 2);
    let requests = ocm.requests();
    let calls: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET", "/api/addons_mgmt/v1/addons/my-addon"),
            ("GET", "/api/addons_mgmt/v1/addons/my-addon"),
            ("POST", "/api/addons_mgmt/v1/addons"),
        ],
        "the refused GET and its retry, then the create; no version"
    );
    let expected = read_json(&fixture("my-addon.addons.requests.json"));
    assert_eq!(requests[2].body, expected[0]["body"]);
    assert_eq!(output.json()["href"], "/api/addons_mgmt/v1/addons/my-addon");
    transcript.assert_no_credentials(&ocm);
}

#[test]
fn a_server_that_never_answers_is_exit_3_naming_the_host_and_the_stage() {
    let url = e2e::silent_server();
    let home = tempfile::tempdir().unwrap();
    let output = ocm_post(home.path())
        .env("OCM_TOKEN", ACCESS_TOKEN)
        .args(["--url", &url, "--request-timeout", "300ms"])
        .arg(fixture("plain-addon.json"))
        .timeout(std::time::Duration::from_secs(60))
        .run()
        .exit(3);
    let host = url.trim_start_matches("http://");
    // The first request of a publish reads the add-on (GET), then writes.
    let says = [
        host,
        "GET /api/clusters_mgmt/v1/addons/",
        "no answer within 0.3s",
    ];
    has_all("a silent OCM", &output.stderr(), &says);
    // The token endpoint is bounded the same way.
    let output = ocm_post(home.path())
        .env("OCM_REFRESH_TOKEN", REFRESH_TOKEN)
        .args([
            "--url",
            &url,
            "--token-url",
            &url,
            "--request-timeout",
            "300ms",
        ])
        .arg(fixture("plain-addon.json"))
        .timeout(std::time::Duration::from_secs(60))
        .run()
        .exit(3);
    output.stderr_has("no answer within");
}

#[test]
fn url_userinfo_is_never_printed() {
    let home = tempfile::tempdir().unwrap();
    let dry_run_at = |url: &str| {
        ocm_post(home.path())
            .args(["--url", url, "--dry-run"])
            .arg(fixture("plain-addon.json"))
            .run()
    };
    let output = dry_run_at("https://ocm-user:url-pass-4242@api.example.com").success();
    let all = format!("{}{}", output.stdout(), output.stderr());
    has_all("the output", &all, &["https://api.example.com/api/"]);
    has_none("userinfo", &all, &["url-pass-4242", "ocm-user"]);
    dry_run_at("ftp://ocm-user:url-pass-4242@api.example.com")
        .exit(2)
        .stderr_lacks("url-pass-4242");
}

#[test]
fn ids_that_would_leave_their_path_segment_are_refused_before_any_request() {
    let ocm = FakeOcm::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    e2e::servers::ocm_post(home.path(), &ocm)
        .arg(fixture("plain-addon.json"))
        .run()
        .success();
    let before = ocm.requests().len();
    let refused: [&[&str]; 6] = [
        // Today: DELETE /api/clusters_mgmt/v1/addons/../../clusters/c9.
        &["--id", "../../clusters/c9", "--delete"],
        // Today: the fragment is dropped and plain-addon is deleted.
        &["--id", "plain-addon#x", "--delete"],
        &["--id", "..", "--show"],
        &["--id", "plain-addon", "--uninstall", "../c9"],
        &["--id", "plain-addon", "--installation", "c1?x=1"],
        &["--id", "plain-addon", "--inquire", "c1/addons"],
    ];
    for args in refused {
        e2e::servers::ocm_post(home.path(), &ocm)
            .args(args)
            .run()
            .exit(2)
            .stderr_has("is not an OCM");
    }
    // A dry run checks them too.
    e2e::servers::ocm_post(home.path(), &ocm)
        .args(["--dry-run", "--id", "plain-addon#x", "--delete"])
        .run()
        .exit(2)
        .stderr_has("--id: \"plain-addon#x\" is not an OCM add-on id");
    assert_eq!(ocm.requests().len(), before, "nothing was sent");
    assert!(ocm.addon("plain-addon").is_some(), "nothing was deleted");
}

/// An OCM whose add-on list announces 1000 add-ons and answers the same page
/// whatever page is asked for; every add-on is missing. Counts the list reads.
fn ocm_whose_list_never_ends() -> (
    addon_flow_testservers::http::Server,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use addon_flow_testservers::http::{HttpRequest, HttpResponse, Server};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let reads = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = reads.clone();
    let server = Server::start(std::sync::Arc::new(move |request: &HttpRequest| {
        if request.path == "/api/clusters_mgmt/v1/addons" && request.method == "GET" {
            counter.fetch_add(1, Ordering::SeqCst);
            return HttpResponse::json(
                200,
                &serde_json::json!({"kind": "AddOnList", "page": 1, "size": 1, "total": 1000,
                                    "items": [{"kind": "AddOn", "id": "always-the-same"}]}),
            );
        }
        HttpResponse::json(
            404,
            &serde_json::json!({"kind": "Error", "id": "404", "href": "/api/clusters_mgmt/v1/errors/404",
                                "code": "CLUSTERS-MGMT-404", "reason": "not found"}),
        )
    }))
    .unwrap();
    (server, reads)
}

#[test]
fn an_addon_list_that_never_reaches_its_total_is_an_error_not_an_endless_loop() {
    let (server, reads) = ocm_whose_list_never_ends();
    let home = tempfile::tempdir().unwrap();
    ocm_post(home.path())
        .env("OCM_TOKEN", ACCESS_TOKEN)
        .args(["--url", &server.url(), "--diff"])
        .arg(fixture("plain-addon.json"))
        .timeout(std::time::Duration::from_secs(60))
        .run()
        .exit(3)
        .stderr_has("OCM's add-on list repeats itself: page 2");
    assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// The plain add-on's document under another id.
fn plain_addon_named(id: &str) -> Value {
    let mut document = read_json(&fixture("plain-addon.json"));
    document["id"] = Value::from(id);
    document["label"] = Value::from(format!("api.openshift.com/addon-{id}"));
    document
}

/// JSON lines of `documents`.
fn json_lines(documents: &[Value]) -> String {
    documents.iter().map(|d| format!("{d}\n")).collect()
}

#[test]
fn a_stream_holding_one_addon_twice_publishes_no_copy_the_same_way_every_time() {
    let ocm = FakeOcm::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut first = plain_addon_named("twice-addon");
    first["description"] = Value::from("the first copy");
    let mut second = first.clone();
    second["description"] = Value::from("the second copy");
    let stream = json_lines(&[first, plain_addon_named("once-addon"), second]);
    for _ in 0..3 {
        e2e::servers::ocm_post(home.path(), &ocm)
            .write_stdin(stream.clone())
            .run()
            .exit(1)
            .stderr_has("the input holds add-on twice-addon 2 times (documents 1, 3): give each add-on once")
            .stderr_has("2 of 3 document(s) failed");
        assert!(ocm.addon("twice-addon").is_none(), "no copy is published");
        assert!(ocm.addon("once-addon").is_some(), "the others go through");
    }
    assert!(
        ocm.requests()
            .iter()
            .all(|r| !r.path.contains("twice-addon")),
        "nothing is sent for the repeated add-on"
    );
}

#[test]
fn a_cluster_given_twice_is_a_usage_error_before_any_request() {
    let ocm = FakeOcm::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    for flags in [
        ["--install", "c1", "--install", "c1"],
        ["--uninstall", "c1", "--uninstall", "c1"],
    ] {
        e2e::servers::ocm_post(home.path(), &ocm)
            .args(flags)
            .arg(fixture("plain-addon.json"))
            .run()
            .exit(2)
            .stderr_has(&format!("{} c1 is given more than once", flags[0]));
    }
    assert!(ocm.requests().is_empty());
}

#[test]
fn a_write_without_a_chosen_url_is_refused_and_a_dry_run_says_which_url_it_shows() {
    let home = tempfile::tempdir().unwrap();
    let plain = fixture("plain-addon.json");
    let writes: [&[&str]; 5] = [
        &[],
        &["--prune"],
        &["--install", "c1"],
        &["--id", "plain-addon", "--enable"],
        &["--id", "plain-addon", "--delete"],
    ];
    for args in writes {
        // Credentials alone do not choose production.
        ocm_post(home.path())
            .env("OCM_TOKEN", ACCESS_TOKEN)
            .args(args)
            .arg(&plain)
            .timeout(std::time::Duration::from_secs(60))
            .run()
            .exit(2)
            .stderr_has("no OCM URL was chosen")
            .stderr_has("--url production|stage|integration|URL");
    }
    // A dry run sends nothing: it shows production's URL and says why.
    let output = ocm_post(home.path())
        .arg("--dry-run")
        .arg(&plain)
        .run()
        .success()
        .stderr_has("no --url, OCM_URL or `ocm login` URL: using production");
    assert!(output
        .stdout()
        .contains("https://api.openshift.com/api/clusters_mgmt/v1/addons"));
}

// ------------------------------------------------------------------ --prune

/// A fake OCM that already holds the plain add-on under each of `ids`.
fn ocm_holding(ids: &[&str]) -> (FakeOcm, tempfile::TempDir) {
    let ocm = FakeOcm::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let documents: Vec<Value> = ids.iter().map(|id| plain_addon_named(id)).collect();
    e2e::servers::ocm_post(home.path(), &ocm)
        .write_stdin(json_lines(&documents))
        .run()
        .success();
    for id in ids {
        assert!(ocm.addon(id).is_some(), "{id} published");
    }
    (ocm, home)
}

/// The inventory line that ends a fleet stream of the stage environment.
fn inventory_line(
    scope: common::model::inventory::Scope,
    addons: &[&str],
    failed: &[(&str, &str)],
) -> String {
    let mut inventory = common::model::inventory::Inventory::new(
        "stage",
        scope,
        (scope == common::model::inventory::Scope::Selection)
            .then(|| "--changed-since origin/main".to_string()),
        addons.iter().map(|id| id.to_string()).collect(),
    );
    for (id, stage) in failed {
        inventory.record_failure(Some(id), stage);
    }
    format!("{}\n", serde_json::to_string(&inventory).unwrap())
}

/// A whole stage stream of staying-addon alone: its document, then an
/// inventory listing only it, so a prune deletes every other add-on.
fn staying_addon_alone() -> String {
    format!(
        "{}{}",
        json_lines(&[plain_addon_named("staying-addon")]),
        inventory_line(
            common::model::inventory::Scope::Whole,
            &["staying-addon"],
            &[]
        )
    )
}

/// The methods and paths of the writes OCM saw after the first `skip` requests.
fn writes_after(ocm: &FakeOcm, skip: usize) -> Vec<String> {
    ocm.requests()[skip..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn a_prune_given_no_documents_deletes_nothing() {
    let (ocm, home) = ocm_holding(&["first-addon", "second-addon"]);
    let before = ocm.requests().len();
    // Today each of these deletes every add-on in OCM and exits 0.
    for input in ["---\n", "---\n---\n", "# only a comment\n"] {
        e2e::servers::ocm_post(home.path(), &ocm)
            .arg("--prune")
            .write_stdin(input)
            .run()
            .exit(1)
            .stderr_has("not pruning: the input does not end with an add-on inventory")
            .stderr_has("nothing was deleted");
    }
    assert_eq!(writes_after(&ocm, before), Vec::<String>::new());
    assert!(ocm.addon("first-addon").is_some() && ocm.addon("second-addon").is_some());
}

#[test]
fn a_prune_without_an_inventory_of_the_whole_environment_still_publishes_and_deletes_nothing() {
    let (ocm, home) = ocm_holding(&["kept-addon"]);
    let documents = json_lines(&[plain_addon_named("new-addon")]);
    let selection = inventory_line(
        common::model::inventory::Scope::Selection,
        &["new-addon"],
        &[],
    );
    let cases = [
        (
            documents.clone(),
            "the input does not end with an add-on inventory",
        ),
        (
            format!("{documents}{selection}"),
            "the input is a selection of the environment (--changed-since origin/main)",
        ),
    ];
    for (stream, refusal) in cases {
        let before = ocm.requests().len();
        e2e::servers::ocm_post(home.path(), &ocm)
            .arg("--prune")
            .write_stdin(stream)
            .run()
            .exit(1)
            .stderr_has(refusal);
        assert!(
            ocm.addon("new-addon").is_some(),
            "the stream is still published"
        );
        assert!(
            writes_after(&ocm, before)
                .iter()
                .all(|w| !w.starts_with("DELETE")),
            "nothing is deleted"
        );
    }
    assert!(ocm.addon("kept-addon").is_some());
}

#[test]
fn a_prune_deletes_an_addon_removed_from_the_tree_and_keeps_one_that_failed_upstream() {
    let (ocm, home) = ocm_holding(&["staying-addon", "failing-addon", "removed-addon"]);
    // failing-addon failed in catalog-build: the stream lacks it, the
    // inventory still lists it. removed-addon left the tree.
    let stream = format!(
        "{}{}",
        json_lines(&[plain_addon_named("staying-addon")]),
        inventory_line(
            common::model::inventory::Scope::Whole,
            &["staying-addon", "failing-addon"],
            &[("failing-addon", "catalog-build")]
        )
    );
    let before = ocm.requests().len();
    e2e::servers::ocm_post(home.path(), &ocm)
        .arg("--prune")
        .write_stdin(stream)
        .run()
        .success()
        .stderr_has("keeping add-on failing-addon in OCM: it failed in catalog-build")
        .stderr_has("deleted add-on removed-addon (not in the stage inventory; --prune)");
    assert_eq!(
        writes_after(&ocm, before),
        ["DELETE /api/clusters_mgmt/v1/addons/removed-addon"]
    );
    assert!(ocm.addon("removed-addon").is_none());
    assert!(ocm.addon("failing-addon").is_some());
    assert!(ocm.addon("staying-addon").is_some());
}

#[test]
fn a_prune_above_max_deletions_deletes_nothing_and_lists_what_it_would() {
    let (ocm, home) = ocm_holding(&["staying-addon", "gone-1", "gone-2", "gone-3"]);
    let stream = staying_addon_alone();
    let before = ocm.requests().len();
    e2e::servers::ocm_post(home.path(), &ocm)
        .args(["--prune", "--max-deletions", "2"])
        .write_stdin(stream.clone())
        .run()
        .exit(1)
        .stderr_has("the prune would delete add-on gone-1 (not deleted)")
        .stderr_has("the prune would delete add-on gone-3 (not deleted)")
        .stderr_has("would delete 3 objects, more than --max-deletions 2; nothing was deleted")
        .stderr_has("run again with --max-deletions 3");
    assert_eq!(writes_after(&ocm, before), Vec::<String>::new());
    // The default (5) allows them.
    e2e::servers::ocm_post(home.path(), &ocm)
        .arg("--prune")
        .write_stdin(stream)
        .run()
        .success();
    for gone in ["gone-1", "gone-2", "gone-3"] {
        assert!(ocm.addon(gone).is_none(), "{gone}");
    }
}

#[test]
fn a_dry_run_prune_lists_the_deletions_each_marked_as_a_dry_run() {
    let (ocm, home) = ocm_holding(&["staying-addon", "removed-addon"]);
    let stream = staying_addon_alone();
    let before = ocm.requests().len();
    let output = e2e::servers::ocm_post(home.path(), &ocm)
        .args(["--prune", "--dry-run"])
        .write_stdin(stream)
        .run()
        .success()
        .stderr_has(
            "ocm-post: dry run: would delete add-on removed-addon (not in the stage inventory)",
        );
    for line in output.stderr().lines().filter(|l| l.contains("delete")) {
        assert!(line.contains("dry run"), "a line without the mark: {line}");
    }
    let requests: Vec<Value> = serde_json::from_value(output.json()).unwrap();
    let deletions: Vec<&Value> = requests
        .iter()
        .filter(|r| r["method"] == "DELETE")
        .collect();
    assert_eq!(deletions.len(), 1);
    assert_eq!(
        deletions[0]["url"],
        format!("{}/api/clusters_mgmt/v1/addons/removed-addon", ocm.url())
    );
    assert_eq!(
        writes_after(&ocm, before),
        Vec::<String>::new(),
        "a dry run writes nothing"
    );
    assert!(ocm.addon("removed-addon").is_some());
}

/// The fleet's "nothing changed" run against an OCM that reads every body
/// through its model (fake OCM, as the generated server: a field the model
/// lacks is dropped): the second run sends no write. Today mtcli's
/// `add_on_secret_propagations` and `order`, dropped by clusters_mgmt, read
/// as a difference on every run and every add-on is PATCHed for ever.
#[test]
fn a_fleet_rerun_against_an_ocm_that_keeps_only_its_model_sends_no_write() {
    let ocm = FakeOcm::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    // An add-on with an image set (a version with parameters and secrets),
    // one with secrets, one with parameters.
    // (The fixture's icon is no PNG, and it pins its image set version.)
    let with_image_set = e2e::tool("addon-validate")
        .args(["--disable", "AM0004,CL0001"])
        .arg(fixture("addons/my-addon/metadata/stage/addon.yaml"))
        .run()
        .success()
        .json();
    let mut with_secrets = plain_addon_named("secret-addon");
    with_secrets["config"] = serde_json::json!({"secrets": [{"name": "secret-addon-token",
        "type": "Opaque", "vaultPath": "mtsre/secret-addon/token", "version": 1, "fields": ["token"]}]});
    let stream = json_lines(&[
        with_image_set,
        with_secrets,
        plain_addon_named("param-addon"),
    ]);
    for service in ["clusters", "addons"] {
        let post = || {
            e2e::servers::ocm_post(home.path(), &ocm)
                .args(["--service", service])
                .write_stdin(stream.clone())
                .run()
                .success()
        };
        post();
        let before = ocm.requests().len();
        post().stderr_lacks("updated");
        assert_eq!(
            writes_after(&ocm, before),
            Vec::<String>::new(),
            "{service}: nothing changed, nothing written"
        );
    }
}
