//! hive-apply end to end against the Kubernetes API test server:
//! `syncset-render | hive-apply --wait` installs and Hive's ClusterSync
//! reports it; applying again changes nothing; an expired token, a 409
//! conflict, a missing CRD, a 422 and a dead server are clear errors with
//! exit 3 that say what would help, and once the cause is gone the same
//! command finishes the job with every object there exactly once.
//! `--prune=all` prunes the fleet's ApplySet, on the inventory's proof.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use addon_flow_testservers::kube::{hive_resource_types, KubeOptions, KubeServer};
use e2e::check::{has_all, has_none, occurs};
use e2e::servers::hive_apply_at;
use e2e::{stored_objects, tool, Run, RunExt};
use serde_json::{json, Value};

const FULL: &str = "tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml";

fn server() -> KubeServer {
    KubeServer::start(KubeOptions {
        sync_delay: Duration::from_millis(150),
        ..cluster_namespaces()
    })
    .unwrap()
}

/// A Hive cluster where the ClusterDeployments' namespaces exist, and the
/// one of full-addon's extra resource (the API server refuses an object in a
/// namespace that does not).
fn cluster_namespaces() -> KubeOptions {
    KubeOptions {
        namespaces: vec![
            "cd-east".into(),
            "cd-west".into(),
            "redhat-full-addon".into(),
        ],
        ..KubeOptions::default()
    }
}

fn kubeconfig(dir: &Path, server: &KubeServer, token: &str) -> PathBuf {
    e2e::write_kubeconfig(dir, server, token)
}

/// A fresh Hive cluster ([`server`]) and a kubeconfig for it with the
/// token `test-token`, in a folder that must live as long as the test.
fn cluster() -> (KubeServer, PathBuf, tempfile::TempDir) {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &server, "test-token");
    (server, config, dir)
}

fn render(args: &[&str]) -> Vec<u8> {
    tool("syncset-render")
        .arg(FULL)
        .args(args)
        .run()
        .success()
        .output
        .stdout
}

/// full-addon rendered as SyncSets for `clusters` (`namespace/name` of each
/// ClusterDeployment).
fn render_clusters(clusters: &[&str]) -> Vec<u8> {
    let args: Vec<&str> = clusters
        .iter()
        .flat_map(|cluster| ["--cluster-deployment", cluster])
        .collect();
    render(&args)
}

/// The object the Hive cluster stores; the test fails when there is none.
fn stored(server: &KubeServer, kind: &str, namespace: &str, name: &str) -> Value {
    server
        .api()
        .get(kind, namespace, name)
        .unwrap_or_else(|| panic!("no {kind} {namespace}/{name} stored"))
}

/// Another field manager (Hive, an installer, a person) applies `object`
/// to the Hive cluster, taking its fields over when `force`.
fn apply_as(server: &KubeServer, manager: &str, object: Value, force: bool) {
    let kind = &object["kind"];
    if let Err(status) = server.api().apply_as(manager, &object, force) {
        panic!("{manager} could not apply a {kind}: HTTP {status}");
    }
}

/// Whether the Hive cluster stores the object.
fn is_stored(server: &KubeServer, kind: &str, namespace: &str, name: &str) -> bool {
    server.api().get(kind, namespace, name).is_some()
}

/// (kind, namespace, name) of each rendered top-level object.
fn rendered_keys(input: &[u8]) -> Vec<(String, String, String)> {
    let list: Value = common::text::yaml::parse_one(std::str::from_utf8(input).unwrap())
        .unwrap()
        .value;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let namespace = match o["kind"].as_str() {
                Some("SelectorSyncSet" | "Namespace") => "",
                _ => o["metadata"]["namespace"].as_str().unwrap_or(""),
            };
            (
                o["kind"].as_str().unwrap().to_string(),
                namespace.to_string(),
                o["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every rendered object is stored, once, and nothing else.
fn assert_complete(server: &KubeServer, input: &[u8]) {
    let expected: BTreeSet<_> = rendered_keys(input).into_iter().collect();
    let stored = stored_objects(server);
    assert_eq!(stored.len(), expected.len(), "stored: {stored:?}");
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), expected);
}

fn resource_versions(server: &KubeServer) -> Vec<(String, Value)> {
    server
        .api()
        .objects()
        .iter()
        .map(|o| {
            (
                format!("{}/{}", o["kind"], o["metadata"]["name"]),
                o["metadata"]["resourceVersion"].clone(),
            )
        })
        .collect()
}

#[test]
fn render_apply_wait_then_a_second_apply_changes_nothing() {
    let (server, config, _dir) = cluster();
    let input = render_clusters(&["cd-east/cluster-1", "cd-west/cluster-2"]);
    let first = hive_apply_at(
        &config,
        &input,
        &["--wait", "--poll-interval", "50ms", "-o", "json"],
    )
    .success();
    assert_complete(&server, &input);
    // The output is each object as the server returned it.
    let applied: Value = serde_json::from_str(&first.stdout()).unwrap();
    assert_eq!(applied["kind"], "List");
    assert!(applied["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["metadata"]["resourceVersion"].is_string()));
    // --wait returned only once Hive's ClusterSync reported each SyncSet.
    for (ns, cd) in [("cd-east", "cluster-1"), ("cd-west", "cluster-2")] {
        let sync = stored(&server, "ClusterSync", ns, cd);
        assert_eq!(sync["status"]["syncSets"][0]["name"], "addon-full-addon");
        assert_eq!(sync["status"]["syncSets"][0]["result"], "Success");
        assert!(
            first
                .stderr()
                .contains(&format!("applied to clusterdeployment {ns}/{cd}")),
            "{}",
            first.stderr()
        );
    }
    let sync_set = stored(&server, "SyncSet", "cd-east", "addon-full-addon");
    assert_eq!(
        sync_set["spec"]["clusterDeploymentRefs"],
        json!([{"name": "cluster-1"}])
    );
    assert_eq!(
        sync_set["metadata"]["managedFields"][0]["manager"],
        "addon-flow"
    );

    let before = resource_versions(&server);
    let second = hive_apply_at(&config, &input, &["--summary"]).success();
    assert_eq!(
        resource_versions(&server),
        before,
        "a second apply changed something"
    );
    assert_eq!(second.stdout().lines().count(), rendered_keys(&input).len());
    assert!(
        second
            .stdout()
            .contains("syncset.hive.openshift.io/addon-full-addon -n cd-east serverside-applied"),
        "{}",
        second.stdout()
    );
}

#[test]
fn selector_path_labels_the_cluster_and_waits_for_the_selector_sync_set() {
    let server = server();
    apply_as(
        &server,
        "hive",
        json!({"apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
                "metadata": {"name": "cluster-1", "namespace": "cd-east", "labels": {"hive.openshift.io/cluster-region": "eu"}},
                "spec": {"clusterName": "cluster-1"}}),
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &server, "test-token");
    let input = render(&["--selector"]);
    hive_apply_at(
        &config,
        &input,
        &[
            "--label-cluster",
            "cd-east/cluster-1",
            "--wait",
            "--poll-interval",
            "50ms",
            "--summary",
        ],
    )
    .success()
    .stdout_has("clusterdeployment.hive.openshift.io/cluster-1 -n cd-east labeled");
    let cd = stored(&server, "ClusterDeployment", "cd-east", "cluster-1");
    assert_eq!(
        cd["metadata"]["labels"],
        json!({"hive.openshift.io/cluster-region": "eu", "api.openshift.com/addon-full-addon": "true"})
    );
    let sync = stored(&server, "ClusterSync", "cd-east", "cluster-1");
    let names: Vec<&Value> = sync["status"]["selectorSyncSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["name"])
        .collect();
    assert_eq!(
        names,
        vec!["addon-full-addon"],
        "the -delete SelectorSyncSet does not select the cluster"
    );

    // Uninstall: delete the objects and take the label off.
    hive_apply_at(
        &config,
        &input,
        &["--delete", "--label-cluster", "cd-east/cluster-1"],
    )
    .success();
    assert!(stored_objects(&server).is_empty());
    let cd = stored(&server, "ClusterDeployment", "cd-east", "cluster-1");
    assert_eq!(
        cd["metadata"]["labels"],
        json!({"hive.openshift.io/cluster-region": "eu"})
    );
    hive_apply_at(&config, &input, &["--delete"])
        .success()
        .stdout_has("already gone");
}

#[test]
fn an_expired_token_is_a_clear_error_and_a_rerun_finishes() {
    let server = server();
    server.api().set_tokens(&["rotated-token"]);
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &server, "expired-token");
    let input = render_clusters(&["cd-east/cluster-1"]);
    let run = hive_apply_at(&config, &input, &[])
        .exit(3)
        .stderr_has("HTTP 401")
        .stderr_has("credentials were refused");
    assert!(
        !run.stderr().contains("expired-token"),
        "the token leaked into the error"
    );
    let run = run
        .stderr_has("and nothing was done")
        .stderr_has("log in again")
        .stderr_lacks("the others are done")
        .stderr_lacks("running the same command again");
    assert!(run.stdout().is_empty());
    assert!(stored_objects(&server).is_empty());

    let config = kubeconfig(dir.path(), &server, "rotated-token");
    hive_apply_at(&config, &input, &["--wait", "--poll-interval", "50ms"]).success();
    assert_complete(&server, &input);
}

#[test]
fn a_conflict_names_the_object_and_force_takes_over() {
    let (server, config, _dir) = cluster();
    let input = render(&["--selector"]);
    // Someone else manages the delete SelectorSyncSet's apply mode, differently.
    apply_as(
        &server,
        "someone-else",
        json!({"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet",
                "metadata": {"name": "addon-full-addon-delete"}, "spec": {"resourceApplyMode": "Sync"}}),
        false,
    );
    let run = hive_apply_at(&config, &input, &["-o", "json"])
        .exit(3)
        .stderr_has("selectorsyncsets.hive.openshift.io \"addon-full-addon-delete\"")
        .stderr_has("HTTP 409")
        .stderr_has("someone-else")
        .stderr_has("--force-conflicts");
    // The closing advice fits the cause: running again changes nothing here.
    let run = run
        .stderr_has("1 step(s) failed; 4 other(s) were done (on stdout)")
        .stderr_has("take the fields over with --force-conflicts")
        .stderr_lacks("running the same command again finishes");
    // What did apply is on stdout, as the server returned it.
    let applied: Vec<String> = run.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        applied.len(),
        rendered_keys(&input).len() - 1,
        "{applied:?}"
    );
    assert!(!applied.contains(&"addon-full-addon-delete".to_string()));
    // The other objects were applied; the conflicting one kept its value.
    assert_eq!(stored_objects(&server).len(), rendered_keys(&input).len());
    let held = stored(&server, "SelectorSyncSet", "", "addon-full-addon-delete");
    assert_eq!(held["spec"]["resourceApplyMode"], "Sync");

    hive_apply_at(&config, &input, &["--force-conflicts"]).success();
    assert_complete(&server, &input);
    let taken = stored(&server, "SelectorSyncSet", "", "addon-full-addon-delete");
    assert_eq!(taken["spec"]["resourceApplyMode"], "Upsert");
}

#[test]
fn a_missing_crd_is_named_and_a_rerun_after_installing_it_finishes() {
    let server = server();
    server.api().uninstall("PagerDutyIntegration");
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &server, "test-token");
    let input = render_clusters(&["cd-east/cluster-1"]);
    let run = hive_apply_at(&config, &input, &["--summary"])
        .exit(3)
        .stderr_has("pagerduty.openshift.io/v1alpha1")
        .stderr_has("CustomResourceDefinition for PagerDutyIntegration");
    run.stderr_has("install its CustomResourceDefinition on the Hive cluster")
        .stderr_lacks("running the same command again finishes")
        .stdout_has("syncset.hive.openshift.io/addon-full-addon -n cd-east created")
        .stdout_lacks("pagerdutyintegration");
    let pd = hive_resource_types()
        .into_iter()
        .find(|rt| rt.kind == "PagerDutyIntegration")
        .unwrap();
    server.api().install(pd);
    hive_apply_at(&config, &input, &[]).success();
    assert_complete(&server, &input);
}

#[test]
fn a_dead_server_is_a_clear_error_and_a_rerun_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let input = render_clusters(&["cd-east/cluster-1"]);
    // A port that was free: the listener is dropped at once.
    let (_, dead_url) = e2e::loopback_listener();
    let config = dir.path().join("dead");
    std::fs::write(
        &config,
        format!("apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{{name: c, cluster: {{server: '{dead_url}'}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\n"),
    )
    .unwrap();
    hive_apply_at(&config, &input, &[])
        .exit(3)
        .stderr_has(&dead_url)
        .stderr_has("cannot connect");

    let server = server();
    let config = kubeconfig(dir.path(), &server, "test-token");
    hive_apply_at(&config, &input, &[]).success();
    assert_complete(&server, &input);
}

#[test]
fn dry_runs_store_nothing() {
    let (server, config, _dir) = cluster();
    let input = render_clusters(&["cd-east/cluster-1"]);
    let run = hive_apply_at(&config, &input, &["--dry-run=server", "-o", "json"]).success();
    let list: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        rendered_keys(&input).len()
    );
    assert!(stored_objects(&server).is_empty());
    // Every line of a dry run says so, as kubectl's do; objects are named
    // kind.group/name.
    let summary = hive_apply_at(&config, &input, &["--dry-run=server", "--summary"]).success();
    let summary = summary.stdout_has(
        "syncset.hive.openshift.io/addon-full-addon -n cd-east created (server dry run)\n",
    );
    assert!(
        summary
            .stdout()
            .lines()
            .all(|l| l.ends_with(" (server dry run)")),
        "{}",
        summary.stdout()
    );
    assert!(stored_objects(&server).is_empty());
    let requests = server.api().requests();
    hive_apply_at(&config, &input, &["--dry-run=client", "-o", "json"]).success();
    let client = hive_apply_at(&config, &input, &["--dry-run=client", "--summary"]).success();
    let client = client.stdout_has(
        "syncset.hive.openshift.io/addon-full-addon -n cd-east serverside-applied (dry run)\n",
    );
    assert!(client.stdout().lines().all(|l| l.ends_with(" (dry run)")));
    assert_eq!(
        server.api().requests(),
        requests,
        "client dry run contacted the server"
    );
}

#[test]
fn a_mode_written_with_a_space_gets_a_hint_to_write_it_with_equals() {
    let dir = tempfile::tempdir().unwrap();
    let server = server();
    let config = kubeconfig(dir.path(), &server, "test-token");
    let input = render_clusters(&["cd-east/cluster-1"]);
    for (args, hint) in [
        (["--dry-run", "server"], "write --dry-run=server"),
        (["--dry-run", "client"], "write --dry-run=client"),
        (["--prune", "all"], "write --prune=all"),
    ] {
        let run = hive_apply_at(&config, &input, &args).exit(2);
        run.stderr_has(hint)
            .stderr_has("was read as the input file");
    }
    assert!(stored_objects(&server).is_empty());
}

#[test]
fn kubeconfig_list_context_and_token_file() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "test-token\n").unwrap();
    let first = dir.path().join("first");
    std::fs::write(
        &first,
        "current-context: elsewhere\nclusters: [{name: elsewhere, cluster: {server: 'http://127.0.0.1:1'}}]\ncontexts: [{name: elsewhere, context: {cluster: elsewhere}}]\n",
    )
    .unwrap();
    let second = dir.path().join("second");
    std::fs::write(
        &second,
        format!(
            "clusters: [{{name: hive, cluster: {{server: '{}'}}}}]\nusers: [{{name: robot, user: {{tokenFile: token}}}}]\ncontexts: [{{name: hive, context: {{cluster: hive, user: robot, namespace: cd-east}}}}]\n",
            server.url()
        ),
    )
    .unwrap();
    let paths = std::env::join_paths([&first, &dir.path().join("absent"), &second]).unwrap();
    let object = br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}}"#;
    tool("hive-apply")
        .env("KUBECONFIG", &paths)
        .args(["--context", "hive", "--summary"])
        .write_stdin(object.to_vec())
        .run()
        .success();
    // The context's namespace is used for an object that names none.
    assert!(is_stored(&server, "ConfigMap", "cd-east", "probe"));
    let missing = tool("hive-apply")
        .env("KUBECONFIG", &paths)
        .args(["--context", "nope"])
        .write_stdin(object.to_vec())
        .run()
        .exit(2);
    missing.stderr_has("no context \"nope\"");
}

#[test]
fn bad_input_is_exit_1_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = server();
    let config = kubeconfig(dir.path(), &server, "test-token");
    hive_apply_at(
        &config,
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n",
        &[],
    )
    .exit(1)
    .stderr_has("metadata.name");
    hive_apply_at(
        &config,
        br#"{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}"#,
        &[],
    )
    .exit(3)
    .stderr_has("does not serve example.com/v1");
}

#[test]
fn https_with_the_kubeconfig_ca_and_a_clear_error_without_it() {
    let identity = test_pki().identity;
    let server = KubeServer::start_tls_on("127.0.0.1:0", cluster_namespaces(), &identity).unwrap();
    assert!(server.url().starts_with("https://"));
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &server, "test-token");
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("certificate-authority-data"));
    let input = render_clusters(&["cd-east/cluster-1"]);
    hive_apply_at(&config, &input, &["--summary"]).success();
    assert_complete(&server, &input);

    // Without the CA the server is not trusted: a TLS error, exit 3.
    let untrusted = dir.path().join("untrusted");
    let text = std::fs::read_to_string(&config).unwrap();
    let without_ca: String = text
        .lines()
        .filter(|l| !l.contains("certificate-authority-data"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&untrusted, &without_ca).unwrap();
    hive_apply_at(&untrusted, &input, &[])
        .exit(3)
        .stderr_has("certificate");
    // insecure-skip-tls-verify accepts it, as kubectl does.
    let insecure = dir.path().join("insecure");
    std::fs::write(
        &insecure,
        without_ca.replace(
            "    server:",
            "    insecure-skip-tls-verify: true\n    server:",
        ),
    )
    .unwrap();
    hive_apply_at(&insecure, &input, &[]).success();
}

/// A test CA, a server certificate for 127.0.0.1 and localhost it signed,
/// and a client certificate (CN=admin) it signed.
fn test_pki() -> e2e::pki::Pki {
    e2e::pki::pki(&["127.0.0.1", "localhost"])
}

#[test]
fn a_client_certificate_from_the_kubeconfig_authenticates() {
    use common::text::base64::encode as encode_base64;
    let pki = test_pki();
    let server =
        KubeServer::start_tls_on("127.0.0.1:0", cluster_namespaces(), &pki.identity).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = encode_base64(pki.identity.ca_pem.as_ref().unwrap());
    let config = dir.path().join("cert-kubeconfig");
    // The CA inline, the client certificate and key as files beside the kubeconfig.
    std::fs::write(dir.path().join("admin.crt"), &pki.client_cert_pem).unwrap();
    std::fs::write(dir.path().join("admin.key"), &pki.client_key_pem).unwrap();
    std::fs::write(
        &config,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: admin\n  user:\n    client-certificate: admin.crt\n    client-key: admin.key\ncontexts:\n- name: c\n  context: {{cluster: c, user: admin}}\n",
            server.url()
        ),
    )
    .unwrap();
    let input = render_clusters(&["cd-east/cluster-1"]);
    hive_apply_at(&config, &input, &["--summary"]).success();
    assert_complete(&server, &input);

    // Without the certificate (and no token) the API answers 401.
    let anonymous = dir.path().join("anonymous");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &anonymous,
        text.replace(
            "  user:\n    client-certificate: admin.crt\n    client-key: admin.key\n",
            "  user: {}\n",
        ),
    )
    .unwrap();
    hive_apply_at(&anonymous, &input, &[])
        .exit(3)
        .stderr_has("HTTP 401");
}

#[test]
fn prune_removes_the_sync_set_of_a_dropped_cluster_only() {
    let (server, config, _dir) = cluster();
    let both = render_clusters(&["cd-east/cluster-1", "cd-west/cluster-2"]);
    hive_apply_at(&config, &both, &[]).success();
    // Another add-on's SyncSet, and one of ours applied by someone else, in the dropped namespace.
    for (name, manager) in [
        ("addon-other", "addon-flow"),
        ("addon-full-addon-copy", "someone-else"),
    ] {
        apply_as(
            &server,
            manager,
            json!({"apiVersion": "hive.openshift.io/v1", "kind": "SyncSet",
                    "metadata": {"name": name, "namespace": "cd-west"},
                    "spec": {"clusterDeploymentRefs": [{"name": "cluster-2"}]}}),
            false,
        );
    }
    let one = render_clusters(&["cd-east/cluster-1"]);
    // Above --max-deletions nothing goes; a dry run lists it, marked.
    hive_apply_at(&config, &one, &["--prune", "--max-deletions", "0"])
        .exit(1)
        .stderr_has("would prune syncset.hive.openshift.io/addon-full-addon -n cd-west\n")
        .stderr_has("more than --max-deletions 0");
    hive_apply_at(&config, &one, &["--prune", "--dry-run=server", "--summary"])
        .success()
        .stdout_has(
            "syncset.hive.openshift.io/addon-full-addon -n cd-west pruned (server dry run)\n",
        );
    assert!(is_stored(&server, "SyncSet", "cd-west", "addon-full-addon"));
    hive_apply_at(&config, &one, &["--prune", "--summary"])
        .success()
        .stdout_has("syncset.hive.openshift.io/addon-full-addon -n cd-west pruned");
    assert!(!is_stored(
        &server,
        "SyncSet",
        "cd-west",
        "addon-full-addon"
    ));
    assert!(is_stored(&server, "SyncSet", "cd-east", "addon-full-addon"));
    assert!(is_stored(&server, "SyncSet", "cd-west", "addon-other"));
    assert!(is_stored(
        &server,
        "SyncSet",
        "cd-west",
        "addon-full-addon-copy"
    ));
    // Pruning again finds nothing more.
    let again = hive_apply_at(&config, &one, &["--prune", "--summary"]).success();
    assert!(!again.stdout().contains("pruned"), "{}", again.stdout());
}

#[test]
fn wait_reports_a_hive_failure_and_times_out_with_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let input = render_clusters(&["cd-east/cluster-1"]);

    let failing = server();
    failing.api().fail_sync(
        "addon-full-addon",
        "namespaces \"redhat-full-addon\" is forbidden",
    );
    let config = kubeconfig(dir.path(), &failing, "test-token");
    let run = hive_apply_at(&config, &input, &["--wait", "--poll-interval", "50ms"]).exit(3);
    run.stderr_has("Hive failed to apply syncSets \"addon-full-addon\"")
        .stderr_has("is forbidden");

    let slow = KubeServer::start(KubeOptions {
        sync_delay: Duration::from_secs(600),
        ..cluster_namespaces()
    })
    .unwrap();
    let config = kubeconfig(dir.path(), &slow, "test-token");
    hive_apply_at(
        &config,
        &input,
        &["--wait", "--timeout", "1s", "--poll-interval", "100ms"],
    )
    .exit(4)
    .stderr_has("addon-full-addon on cd-east/cluster-1");
}

#[test]
fn object_lists_beyond_the_add_on_document_size_limit_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let clusters: String = (0..2500)
        .map(|i| format!("uhc-{i:05}/cluster-{i:05}\n"))
        .collect();
    std::fs::write(dir.path().join("clusters"), clusters).unwrap();
    let rendered = dir.path().join("syncsets.json");
    let out = tool("syncset-render")
        .arg(FULL)
        .arg("--cluster-deployments-from")
        .arg(dir.path().join("clusters"))
        .args(["-o", "json"])
        .run()
        .success();
    assert!(
        out.output.stdout.len() > 16 << 20,
        "the list is {} bytes",
        out.output.stdout.len()
    );
    std::fs::write(&rendered, &out.output.stdout).unwrap();
    let listed = tool("hive-apply")
        .arg(&rendered)
        .args(["--dry-run=client", "--summary"])
        .run()
        .success();
    let lines = listed.stdout().lines().count();
    assert_eq!(
        lines,
        2500 + 4,
        "a SyncSet per cluster plus the four shared objects"
    );
}

/// A kubeconfig for `server` (a URL) whose user entry is `user` (YAML lines
/// indented by four spaces).
fn kubeconfig_text(server: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\nusers:\n- name: robot\n  user:\n{user}contexts:\n- name: c\n  context: {{cluster: c, user: robot}}\n"
    )
}

/// `dir/kubeconfig`, written as [`kubeconfig_text`].
fn kubeconfig_file(dir: &Path, server: &str, user: &str) -> PathBuf {
    let config = dir.join("kubeconfig");
    std::fs::write(&config, kubeconfig_text(server, user)).unwrap();
    config
}

/// hive-apply of `input` with the kubeconfig `text` (written into `dir`),
/// which it refuses as unusable: exit 1.
fn refused_kubeconfig(dir: &Path, text: &str, input: &[u8]) -> Run {
    let config = dir.join("kubeconfig");
    std::fs::write(&config, text).unwrap();
    hive_apply_at(&config, input, &[]).exit(1)
}

#[test]
fn an_unusable_client_certificate_is_exit_1_naming_the_user_not_a_panic() {
    let pki = test_pki();
    let other_key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let dir = tempfile::tempdir().unwrap();
    let input = render_clusters(&["cd-east/cluster-1"]);
    let cases = [
        (
            "a key that does not match",
            &pki.client_cert_pem,
            &other_key,
            "does not belong",
        ),
        (
            "a key in client-certificate-data",
            &pki.client_key_pem,
            &pki.client_key_pem,
            "private key, not a certificate",
        ),
    ];
    for (what, cert, key, expected) in cases {
        let user = format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            common::text::base64::encode(cert.as_bytes()),
            common::text::base64::encode(key.as_bytes())
        );
        let text = kubeconfig_text("https://127.0.0.1:9", &user);
        let run = refused_kubeconfig(dir.path(), &text, &input);
        has_all(what, &run.stderr(), &["users[robot]", expected]);
        assert!(
            !run.stderr().contains("panicked"),
            "{what}: {}",
            run.stderr()
        );
    }
}

/// rcgen makes only v3 certificates; tests/fixtures/kubeconfig holds a v1
/// one made with OpenSSL, which the TLS library's client-auth check used to
/// panic on inside a worker (issue 14, item 4).
#[test]
fn an_x509_v1_client_certificate_is_exit_1_naming_the_user_not_a_panic() {
    let fixtures = e2e::repo_root().join("tests/fixtures/kubeconfig");
    let cert = std::fs::read_to_string(fixtures.join("x509-v1-client.crt")).unwrap();
    let key = std::fs::read_to_string(fixtures.join("x509-v1-client.key")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = render_clusters(&["cd-east/cluster-1"]);
    // Inline data and files beside the kubeconfig take the same check.
    std::fs::write(dir.path().join("v1.crt"), &cert).unwrap();
    std::fs::write(dir.path().join("v1.key"), &key).unwrap();
    let users = [
        format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            common::text::base64::encode(cert.as_bytes()),
            common::text::base64::encode(key.as_bytes())
        ),
        "    client-certificate: v1.crt\n    client-key: v1.key\n".to_string(),
    ];
    for user in users {
        let text = kubeconfig_text("https://127.0.0.1:9", &user);
        let run = refused_kubeconfig(dir.path(), &text, &input);
        has_all(&user, &run.stderr(), &["users[robot]", "v3 certificate"]);
        has_none(&user, &run.stderr(), &["panicked"]);
    }
}

#[test]
fn a_server_that_never_answers_is_exit_3_naming_the_host_and_the_stage() {
    let url = e2e::silent_server();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig_file(dir.path(), &url, "    token: t0ken-value\n");
    let input = render_clusters(&["cd-east/cluster-1"]);
    let run = hive_apply_at(&config, &input, &["--request-timeout", "300ms"]).exit(3);
    let host = url.trim_start_matches("http://");
    run.stderr_has(host)
        .stderr_has("GET /api")
        .stderr_has("no answer within 0.3s");
}

#[test]
fn a_kubeconfig_or_token_file_that_is_a_fifo_or_a_device_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    e2e::mkfifo(&fifo);
    let input = render_clusters(&["cd-east/cluster-1"]);
    hive_apply_at(&fifo, &input, &[])
        .exit(1)
        .stderr_has("not a regular file");
    for token_file in [fifo.to_str().unwrap(), "/dev/zero"] {
        let user = format!("    tokenFile: {token_file}\n");
        let text = kubeconfig_text("http://127.0.0.1:9", &user);
        refused_kubeconfig(dir.path(), &text, &input).stderr_has("not a regular file");
    }
    let ca = kubeconfig_text("https://127.0.0.1:9", "    token: abcd\n").replace(
        "    insecure-skip-tls-verify: true\n",
        &format!("    certificate-authority: {}\n", fifo.display()),
    );
    refused_kubeconfig(dir.path(), &ca, &input).stderr_has("certificate-authority");
}

#[test]
fn a_server_url_with_an_invalid_port_makes_the_kubeconfig_unusable_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let input = render_clusters(&["cd-east/cluster-1"]);
    for server in [
        "https://127.0.0.1:70000",
        "https://127.0.0.1:6443x",
        "https://:6443",
    ] {
        // The kubeconfig cannot be used: exit 1, as for every such kubeconfig.
        let text = kubeconfig_text(server, "    token: abcd\n");
        refused_kubeconfig(dir.path(), &text, &input).stderr_has("clusters[c].cluster.server");
    }
}

#[test]
fn a_huge_timeout_is_a_usage_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig_file(dir.path(), "http://127.0.0.1:9", "    token: abcd\n");
    for flag in ["--timeout", "--request-timeout", "--poll-interval"] {
        hive_apply_at(&config, b"", &[flag, "1e20"]).exit(2);
    }
}

#[test]
fn label_cluster_without_a_selector_sync_set_is_refused_before_touching_the_server() {
    let (server, config, _dir) = cluster();
    let input = render_clusters(&["cd-east/cluster-1"]);
    hive_apply_at(&config, &input, &["--label-cluster", "cd-east/cluster-1"])
        .exit(2)
        .stderr_has("SelectorSyncSet");
    assert!(
        stored_objects(&server).is_empty(),
        "nothing may be applied first"
    );
}

#[test]
fn wait_with_nothing_to_wait_for_is_a_usage_error_before_touching_the_server() {
    let (server, config, _dir) = cluster();
    // The man page's old example: a SelectorSyncSet, and no cluster to watch.
    let selector = render(&["--selector"]);
    hive_apply_at(&config, &selector, &["--wait"])
        .exit(2)
        .stderr_has("--wait waits for SyncSets")
        .stderr_has("--label-cluster NS/NAME");
    let sync_set = render_clusters(&["cd-east/cluster-1"]);
    for flags in [["--wait", "--delete"], ["--wait", "--dry-run=server"]] {
        hive_apply_at(&config, &sync_set, &flags)
            .exit(2)
            .stderr_has("nothing is applied");
    }
    assert_eq!(server.api().requests(), 0, "refused before any request");
}

#[test]
fn an_object_named_twice_is_refused_naming_both_places_and_nothing_is_applied() {
    let (server, config, _dir) = cluster();
    let list = render_clusters(&["cd-east/cluster-1"]);
    let again = "apiVersion: hive.openshift.io/v1\nkind: SyncSet\nmetadata: {name: addon-full-addon, namespace: cd-east}\nspec: {clusterDeploymentRefs: [{name: other}]}\n";
    let input = format!("{}---\n{again}", String::from_utf8(list).unwrap());
    hive_apply_at(&config, input.as_bytes(), &[])
        .exit(1)
        .stderr_has(
            "items[0] and document 2 are the same object (SyncSet cd-east/addon-full-addon)",
        );
    assert!(stored_objects(&server).is_empty());
    // The same once the namespace is placed: the context's for an object
    // that names none (default here).
    let placed = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe}\ndata: {a: '1'}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe, namespace: default}\ndata: {a: '2'}\n";
    hive_apply_at(&config, placed.as_bytes(), &[])
        .exit(1)
        .stderr_has("document 1 and document 2 are the same object");
    assert!(stored_objects(&server).is_empty());
}

#[test]
fn namespaces_go_first_and_what_lives_in_a_failed_one_is_not_sent() {
    let (server, config, _dir) = cluster();
    // The ConfigMap comes first in the input, its Namespace second.
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: team-a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, labels: {owner: us}}\n";
    hive_apply_at(&config, input.as_bytes(), &[]).success();
    let version = |kind: &str, namespace: &str, name: &str| -> u64 {
        stored(&server, kind, namespace, name)["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(version("Namespace", "", "team-a") < version("ConfigMap", "team-a", "c"));

    // A Namespace that fails (another manager holds its label): what lives
    // in it is not sent, and says why.
    apply_as(
        &server,
        "someone-else",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b", "labels": {"owner": "them"}}}),
        false,
    );
    let requests = server.api().requests();
    let input = input.replace("team-a", "team-b");
    hive_apply_at(&config, input.as_bytes(), &[])
        .exit(3)
        .stderr_has("HTTP 409")
        .stderr_has("not applied: its Namespace \"team-b\" (in the input) failed")
        .stderr_has("ConfigMap team-b/c");
    assert!(!is_stored(&server, "ConfigMap", "team-b", "c"));
    // Discovery, the Namespace's PATCH, and no PATCH of the ConfigMap.
    assert!(server.api().requests() - requests <= 2);
}

/// A Kubernetes API that refuses every write as invalid, with the body a
/// real API server sends for an invalid name (a `Status` with `details.causes`).
fn refusing_server() -> addon_flow_testservers::http::Server {
    use addon_flow_testservers::http::{HttpRequest, HttpResponse, Server};
    let handler = |request: &HttpRequest| -> HttpResponse {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/api/v1") => HttpResponse::json(
                200,
                &json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                    {"name": "configmaps", "namespaced": true, "kind": "ConfigMap", "verbs": ["get", "patch"]}]}),
            ),
            ("PATCH", _) => HttpResponse::json(
                422,
                &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422,
                    "message": "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
                    "details": {"name": "Bad_Name", "kind": "ConfigMap", "causes": [
                        {"reason": "FieldValueInvalid", "field": "metadata.name",
                         "message": "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"}]}}),
            ),
            _ => HttpResponse::json(
                404,
                &json!({"kind": "Status", "code": 404, "reason": "NotFound"}),
            ),
        }
    };
    Server::start(std::sync::Arc::new(handler)).unwrap()
}

#[test]
fn a_422_names_the_object_the_field_and_the_rule() {
    let server = refusing_server();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig_file(dir.path(), &server.url(), "    token: t\n");
    let input = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: n}\n";
    hive_apply_at(&config, input, &[])
        .exit(3)
        .stderr_has("configmaps \"Bad_Name\" in namespace \"n\": HTTP 422: invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
        .stderr_has("fix it in the input")
        .stderr_lacks("running the same command again finishes");
}

// ----------------------------------------------------------- --prune=all

/// The id of the ApplySet whose parent is Secret hive/addon-flow-stage,
/// computed apart from hive-apply: `printf 'addon-flow-stage.hive.Secret.'
/// | openssl dgst -sha256 -binary | basenc --base64url | tr -d =`.
const STAGE_SET: &str = "applyset-qm2-3DEO0bMOTq6y-1zg3DTBrENZSjzIUYT1tkTjMyI-v1";
const PART_OF: &str = "applyset.kubernetes.io/part-of";

/// A Hive cluster for the fleet: the test server with the namespaces the
/// fleet's objects and the ApplySet parent live in.
struct Fleet {
    server: KubeServer,
    config: PathBuf,
    _dir: tempfile::TempDir,
    /// The examples tree's stage documents (logging-addon, reference-addon).
    documents: Vec<Value>,
}

impl Fleet {
    fn start() -> Fleet {
        Fleet::on(server())
    }

    /// Over HTTPS: kubectl sends no bearer token over plain HTTP.
    fn start_tls() -> Fleet {
        let options = KubeOptions {
            sync_delay: Duration::from_millis(150),
            ..KubeOptions::default()
        };
        Fleet::on(KubeServer::start_tls_on("127.0.0.1:0", options, &test_pki().identity).unwrap())
    }

    fn on(server: KubeServer) -> Fleet {
        for namespace in [
            "hive",
            "openshift-config",
            "pagerduty-operator",
            "deadmanssnitch-operator",
        ] {
            apply_as(
                &server,
                "hive-installer",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
                false,
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let config = kubeconfig(dir.path(), &server, "test-token");
        let documents = tool("addon-validate")
            .arg("--all")
            .arg(e2e::repo_root().join("examples/managed-tenants"))
            .args(["--env", "stage", "--documents", "-o", "json"])
            .run()
            .success()
            .json_lines()
            .into_iter()
            .filter(|d| !common::model::inventory::Inventory::is_inventory(d))
            .collect();
        Fleet {
            server,
            config,
            _dir: dir,
            documents,
        }
    }

    fn document(&self, id: &str) -> Value {
        self.documents
            .iter()
            .find(|d| d["id"] == id)
            .cloned()
            .unwrap()
    }

    /// Both add-ons' stage documents: logging-addon, reference-addon.
    fn both(&self) -> [Value; 2] {
        [
            self.document("logging-addon"),
            self.document("reference-addon"),
        ]
    }

    fn prune_all(&self, input: &[u8], args: &[&str]) -> Run {
        hive_apply_at(&self.config, input, &[&["--prune=all"], args].concat())
    }

    fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.server.api().get(kind, namespace, name)
    }

    /// The ApplySet parent's annotation `key`.
    fn parent_annotation(&self, key: &str) -> String {
        let parent = self
            .get("Secret", "hive", "addon-flow-stage")
            .expect("the parent");
        parent["metadata"]["annotations"][key]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// An inventory of the stage environment.
fn inventory(
    scope: common::model::inventory::Scope,
    addons: &[&str],
) -> common::model::inventory::Inventory {
    common::model::inventory::Inventory::new(
        "stage",
        scope,
        None,
        addons.iter().map(|a| a.to_string()).collect(),
    )
}

fn whole(addons: &[&str]) -> common::model::inventory::Inventory {
    inventory(common::model::inventory::Scope::Whole, addons)
}

/// The fleet list of both add-ons ([`Fleet::both`]), its inventory whole.
fn both_whole(both: &[Value; 2]) -> Vec<u8> {
    fleet_list(both, Some(&whole(&["logging-addon", "reference-addon"])))
}

/// The fleet list once reference-addon left the tree: logging-addon alone,
/// its inventory whole.
fn logging_whole(both: &[Value; 2]) -> Vec<u8> {
    fleet_list(&both[..1], Some(&whole(&["logging-addon"])))
}

/// What `syncset-render --selector` writes for a fleet stream (the contract
/// of `common::model::inventory`): every add-on's objects in one List, each
/// labelled with its add-on, and the stream's inventory in the List's
/// annotation; without an inventory, neither.
fn fleet_list(
    documents: &[Value],
    inventory: Option<&common::model::inventory::Inventory>,
) -> Vec<u8> {
    let mut items = Vec::new();
    for document in documents {
        let rendered = tool("syncset-render")
            .args(["--selector", "-o", "json"])
            .write_stdin(document.to_string())
            .run()
            .success()
            .json();
        for mut item in rendered["items"].as_array().unwrap().clone() {
            if inventory.is_some() {
                item["metadata"]["labels"][common::model::inventory::ADDON_LABEL] =
                    document["id"].clone();
            }
            items.push(item);
        }
    }
    let mut list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    if let Some(inventory) = inventory {
        list["metadata"] = json!({"annotations": {
            common::model::inventory::LIST_ANNOTATION: serde_json::to_string(inventory).unwrap()}});
    }
    serde_json::to_vec_pretty(&list).unwrap()
}

/// The objects of reference-addon's selector render (PagerDuty and Dead
/// Man's Snitch integrations included).
const REFERENCE_OBJECTS: [(&str, &str, &str); 4] = [
    ("SelectorSyncSet", "", "addon-reference-addon"),
    ("SelectorSyncSet", "", "addon-reference-addon-delete"),
    (
        "PagerDutyIntegration",
        "pagerduty-operator",
        "addon-reference-addon",
    ),
    (
        "DeadmansSnitchIntegration",
        "deadmanssnitch-operator",
        "addon-reference-addon",
    ),
];

#[test]
fn prune_all_removes_an_add_on_that_left_the_tree_with_its_integrations_and_nothing_else() {
    let fleet = Fleet::start();
    let both = fleet.both();
    let all = both_whole(&both);
    fleet.prune_all(&all, &["--summary"]).success();

    // Every object is a member of the set, and the parent records it as
    // kubectl does.
    let stored: Vec<Value> = fleet
        .server
        .api()
        .objects()
        .into_iter()
        .filter(|o| o["metadata"]["labels"][PART_OF].is_string())
        .collect();
    assert_eq!(stored.len(), 7, "{stored:#?}");
    assert!(stored
        .iter()
        .all(|o| o["metadata"]["labels"][PART_OF] == STAGE_SET));
    let parent = fleet.get("Secret", "hive", "addon-flow-stage").unwrap();
    assert_eq!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"],
        STAGE_SET
    );
    assert!(fleet
        .parent_annotation("applyset.kubernetes.io/tooling")
        .starts_with("addon-flow/"));
    assert_eq!(
        fleet.parent_annotation("applyset.kubernetes.io/contains-group-kinds"),
        "ConfigMap,DeadmansSnitchIntegration.deadmanssnitch.managed.openshift.io,PagerDutyIntegration.pagerduty.openshift.io,SelectorSyncSet.hive.openshift.io"
    );
    assert_eq!(
        fleet.parent_annotation("applyset.kubernetes.io/additional-namespaces"),
        "deadmanssnitch-operator,openshift-config,pagerduty-operator"
    );

    // Another team's ConfigMap beside logging-addon's, applied with plain
    // hive-apply (our field manager), and another manager's SelectorSyncSet:
    // neither is a member.
    let other_team = br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other-team-dashboard", "namespace": "openshift-config"}}"#;
    hive_apply_at(&fleet.config, other_team, &[]).success();
    apply_as(
        &fleet.server,
        "other-manager",
        json!({"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet",
                "metadata": {"name": "someone-elses"}, "spec": {}}),
        false,
    );

    // Nothing changed: nothing is sent.
    let before = resource_versions(&fleet.server);
    let again = fleet.prune_all(&all, &["--summary"]).success().stdout();
    assert!(again.lines().all(|l| l.ends_with(" unchanged")), "{again}");
    assert_eq!(resource_versions(&fleet.server), before);

    // reference-addon leaves the tree: its SelectorSyncSets and its
    // integrations go, though no input object has their kinds any more.
    let remaining = logging_whole(&both);
    let run = fleet.prune_all(&remaining, &["--summary"]).success();
    for line in [
        "selectorsyncset.hive.openshift.io/addon-reference-addon pruned",
        "selectorsyncset.hive.openshift.io/addon-reference-addon-delete pruned",
        "pagerdutyintegration.pagerduty.openshift.io/addon-reference-addon -n pagerduty-operator pruned",
        "deadmanssnitchintegration.deadmanssnitch.managed.openshift.io/addon-reference-addon -n deadmanssnitch-operator pruned",
    ] {
        assert!(run.stdout().contains(line), "{line}:\n{}", run.stdout());
    }
    occurs(&run.stdout(), " pruned", 4);
    for (kind, namespace, name) in REFERENCE_OBJECTS {
        assert!(fleet.get(kind, namespace, name).is_none(), "{kind} {name}");
    }
    assert!(fleet
        .get("SelectorSyncSet", "", "addon-logging-addon")
        .is_some());
    assert!(fleet
        .get("ConfigMap", "openshift-config", "logging-addon-dashboard")
        .is_some());
    assert!(fleet
        .get("ConfigMap", "openshift-config", "other-team-dashboard")
        .is_some());
    assert!(fleet.get("SelectorSyncSet", "", "someone-elses").is_some());
    // The parent now records only what is left.
    assert_eq!(
        fleet.parent_annotation("applyset.kubernetes.io/contains-group-kinds"),
        "ConfigMap,SelectorSyncSet.hive.openshift.io"
    );
    assert_eq!(
        fleet.parent_annotation("applyset.kubernetes.io/additional-namespaces"),
        "openshift-config"
    );
}

#[test]
fn prune_all_keeps_an_add_on_that_failed_upstream_and_prunes_what_an_add_on_no_longer_renders() {
    let fleet = Fleet::start();
    let logging = fleet.document("logging-addon");
    let both = [logging.clone(), fleet.document("reference-addon")];
    let ids = ["logging-addon", "reference-addon"];
    fleet
        .prune_all(&fleet_list(&both, Some(&whole(&ids))), &[])
        .success();

    // reference-addon failed in catalog-build (still in the inventory, not
    // in the input); logging-addon no longer renders its dashboard.
    let mut failed = whole(&ids);
    failed.record_failure(Some("reference-addon"), "catalog-build");
    let mut list: Value = serde_json::from_slice(&fleet_list(&both[..1], Some(&failed))).unwrap();
    list["items"]
        .as_array_mut()
        .unwrap()
        .retain(|o| o["kind"] != "ConfigMap");
    let run = fleet
        .prune_all(list.to_string().as_bytes(), &["--summary"])
        .success()
        .stderr_has("kept the 4 object(s) of add-on reference-addon: the inventory lists it but the input lacks it (it failed in catalog-build)");
    occurs(&run.stdout(), " pruned", 1);
    assert!(run
        .stdout()
        .contains("configmap/logging-addon-dashboard -n openshift-config pruned"));
    for (kind, namespace, name) in REFERENCE_OBJECTS {
        assert!(
            fleet.get(kind, namespace, name).is_some(),
            "{kind} {name} was kept"
        );
    }
    // The parent still records the kept members' kinds, so they are pruned
    // once reference-addon really leaves the tree.
    assert_eq!(
        fleet.parent_annotation("applyset.kubernetes.io/contains-group-kinds"),
        "DeadmansSnitchIntegration.deadmanssnitch.managed.openshift.io,PagerDutyIntegration.pagerduty.openshift.io,SelectorSyncSet.hive.openshift.io"
    );
    let gone = logging_whole(&both);
    fleet.prune_all(&gone, &[]).success();
    for (kind, namespace, name) in REFERENCE_OBJECTS {
        assert!(fleet.get(kind, namespace, name).is_none(), "{kind} {name}");
    }
}

#[test]
fn prune_all_without_proof_applies_everything_refuses_the_prune_and_deletes_nothing() {
    let fleet = Fleet::start();
    let logging = fleet.document("logging-addon");
    let both = [logging.clone(), fleet.document("reference-addon")];
    fleet.prune_all(&both_whole(&both), &[]).success();

    // Each input lacks reference-addon; the first two change logging-addon's
    // SelectorSyncSet, which must still be applied.
    let mut selection = inventory(
        common::model::inventory::Scope::Selection,
        &["logging-addon"],
    );
    selection.selection = Some("--changed-since origin/main".into());
    let changed = |list: Vec<u8>, mark: &str| -> Vec<u8> {
        let mut list: Value = serde_json::from_slice(&list).unwrap();
        list["items"][0]["metadata"]["labels"]["test-change"] = Value::from(mark);
        list.to_string().into_bytes()
    };
    // A YAML List with its inventory before its items, cut after
    // logging-addon's objects: it still parses.
    let yaml_cut = {
        let mut list: Value = serde_json::from_slice(&fleet_list(
            &both,
            Some(&whole(&["logging-addon", "reference-addon"])),
        ))
        .unwrap();
        let items = list.as_object_mut().unwrap().remove("items").unwrap();
        list["items"] = items;
        let text = serde_yaml::to_string(&list).unwrap();
        let first = text.find("    name: addon-reference-addon\n").unwrap();
        let cut = text[..first].rfind("\n- ").unwrap() + 1;
        text.as_bytes()[..cut].to_vec()
    };
    let cases = [
        (
            "no inventory",
            changed(fleet_list(&both[..1], None), "one"),
            Some("one"),
            "does not end with an add-on inventory",
        ),
        (
            "a selection",
            changed(fleet_list(&both[..1], Some(&selection)), "two"),
            Some("two"),
            "a selection of the environment (--changed-since origin/main)",
        ),
        ("a cut YAML List", yaml_cut, None, "comes before its items"),
    ];
    for (case, input, change, why) in cases {
        let run = fleet
            .prune_all(&input, &["--summary"])
            .exit(1)
            .stderr_has(why)
            .stderr_has("--prune=all refused")
            .stderr_has("nothing was deleted");
        assert!(!run.stdout().contains("pruned"), "{case}: {}", run.stdout());
        for (kind, namespace, name) in REFERENCE_OBJECTS {
            assert!(
                fleet.get(kind, namespace, name).is_some(),
                "{case}: {kind} {name}"
            );
        }
        let sss = fleet
            .get("SelectorSyncSet", "", "addon-logging-addon")
            .unwrap();
        // Still a member: applying without proof keeps the set whole.
        assert_eq!(sss["metadata"]["labels"][PART_OF], STAGE_SET, "{case}");
        if let Some(change) = change {
            assert_eq!(
                sss["metadata"]["labels"]["test-change"], change,
                "{case}: the objects were applied"
            );
        }
    }

    // A JSON List cut short, or nothing at all: unreadable, nothing applied.
    let json = fleet_list(&both, Some(&whole(&["logging-addon"])));
    let before = resource_versions(&fleet.server);
    for input in [&json[..json.len() / 2], b"---\n", b""] {
        fleet.prune_all(input, &[]).exit(1);
    }
    assert_eq!(resource_versions(&fleet.server), before);

    // Above the cap: nothing deleted, each deletion listed; within it, done.
    let gone = logging_whole(&both);
    let refused = fleet
        .prune_all(&gone, &["--max-deletions", "3"])
        .exit(1)
        .stderr_has("would delete 4 objects, more than --max-deletions 3")
        .stderr_has("would prune pagerdutyintegration.pagerduty.openshift.io/addon-reference-addon -n pagerduty-operator");
    occurs(&refused.stderr(), "would prune ", 4);
    for (kind, namespace, name) in REFERENCE_OBJECTS {
        assert!(fleet.get(kind, namespace, name).is_some(), "{kind} {name}");
    }
    fleet.prune_all(&gone, &["--max-deletions", "4"]).success();
    for (kind, namespace, name) in REFERENCE_OBJECTS {
        assert!(fleet.get(kind, namespace, name).is_none(), "{kind} {name}");
    }
}

#[test]
fn a_dry_run_of_prune_all_lists_the_deletions_marked_and_changes_nothing() {
    let fleet = Fleet::start();
    let both = fleet.both();
    fleet.prune_all(&both_whole(&both), &[]).success();
    let gone = logging_whole(&both);
    let before = resource_versions(&fleet.server);
    for (mode, mark) in [
        ("--dry-run=server", " (server dry run)"),
        ("--dry-run=client", " (dry run)"),
    ] {
        let out = fleet
            .prune_all(&gone, &[mode, "--summary"])
            .success()
            .stdout();
        assert!(out.lines().all(|l| l.ends_with(mark)), "{mode}:\n{out}");
        assert!(
            out.contains(&format!(
                "pagerdutyintegration.pagerduty.openshift.io/addon-reference-addon -n pagerduty-operator pruned{mark}"
            )),
            "{mode}:\n{out}"
        );
        assert_eq!(out.matches(" pruned").count(), 4, "{mode}:\n{out}");
        assert_eq!(
            resource_versions(&fleet.server),
            before,
            "{mode} changed something"
        );
    }
}

#[test]
fn prune_all_reapplies_what_another_manager_changed_and_reports_the_conflict() {
    let fleet = Fleet::start();
    let both = fleet.both();
    let all = both_whole(&both);
    fleet.prune_all(&all, &[]).success();
    // Another manager takes over a field of ours and changes it.
    apply_as(
        &fleet.server,
        "someone-else",
        json!({"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet",
                "metadata": {"name": "addon-logging-addon-delete"}, "spec": {"resourceApplyMode": "Sync"}}),
        true,
    );
    let run = fleet
        .prune_all(&all, &["--summary"])
        .exit(3)
        .stderr_has("selectorsyncsets.hive.openshift.io \"addon-logging-addon-delete\"")
        .stderr_has("HTTP 409")
        .stderr_has("someone-else")
        .stderr_has("--force-conflicts");
    assert!(
        !run.stdout()
            .contains("addon-logging-addon-delete unchanged"),
        "{}",
        run.stdout()
    );
    // Plain hive-apply says the same.
    hive_apply_at(&fleet.config, &all, &[])
        .exit(3)
        .stderr_has("HTTP 409")
        .stderr_has("someone-else");
    fleet.prune_all(&all, &["--force-conflicts"]).success();
    let restored = fleet
        .get("SelectorSyncSet", "", "addon-logging-addon-delete")
        .unwrap();
    assert_eq!(restored["spec"]["resourceApplyMode"], "Upsert");
}

#[test]
fn prune_all_refuses_a_parent_that_another_tool_manages() {
    let fleet = Fleet::start();
    apply_as(
        &fleet.server,
        "kubectl-applyset",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "addon-flow-stage", "namespace": "hive",
                "labels": {"applyset.kubernetes.io/id": STAGE_SET},
                "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.32", "applyset.kubernetes.io/contains-group-kinds": ""}}}),
        false,
    );
    let both = fleet.both();
    let all = both_whole(&both);
    fleet
        .prune_all(&all, &[])
        .exit(2)
        .stderr_has("ApplySet parent secret hive/addon-flow-stage is managed by \"kubectl/v1.32\"")
        .stderr_has("--applyset");
    assert!(
        fleet
            .get("SelectorSyncSet", "", "addon-logging-addon")
            .is_none(),
        "nothing applied"
    );
    // Another parent, named on the command line.
    fleet
        .prune_all(&all, &["--applyset", "secret/fleet-stage"])
        .success();
    let parent = fleet.get("Secret", "hive", "fleet-stage").unwrap();
    let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"].clone();
    let sss = fleet
        .get("SelectorSyncSet", "", "addon-logging-addon")
        .unwrap();
    assert_eq!(sss["metadata"]["labels"][PART_OF], id);
    assert_ne!(id, STAGE_SET);
}

/// kubectl reads the set hive-apply writes: `kubectl get secret -n hive
/// addon-flow-stage -o yaml` shows it; kubectl's own ApplySet prune leaves
/// it alone (another tool's); and once told the set is its own, kubectl
/// computes the same id, reads the same kinds and namespaces, and finds
/// exactly our members by their label.
#[test]
fn kubectl_reads_the_applyset_as_its_own_kind_of_set() {
    if !e2e::prerequisite("kubectl", e2e::program("kubectl")) {
        return;
    }
    let fleet = Fleet::start_tls();
    let both = fleet.both();
    fleet.prune_all(&both_whole(&both), &[]).success();
    let kubectl = |args: &[&str]| -> Run {
        std::process::Command::new("kubectl")
            .env("KUBECONFIG", &fleet.config)
            .env("KUBECTL_APPLYSET", "true")
            .args(args)
            .run()
    };
    let shown = kubectl(&[
        "get",
        "secret",
        "-n",
        "hive",
        "addon-flow-stage",
        "-o",
        "yaml",
    ])
    .success();
    shown
        .stdout_has(&format!("applyset.kubernetes.io/id: {STAGE_SET}"))
        .stdout_has("applyset.kubernetes.io/contains-group-kinds: ConfigMap,DeadmansSnitchIntegration.deadmanssnitch.managed.openshift.io,PagerDutyIntegration.pagerduty.openshift.io,SelectorSyncSet.hive.openshift.io")
        .stdout_has("applyset.kubernetes.io/additional-namespaces: deadmanssnitch-operator,openshift-config,pagerduty-operator")
        .stdout_has("applyset.kubernetes.io/tooling: addon-flow/");

    // logging-addon's SelectorSyncSets (cluster-scoped: kubectl applies
    // only what lives in its --namespace or in none).
    let dir = tempfile::tempdir().unwrap();
    let members = dir.path().join("members.json");
    let mut list: Value = serde_json::from_slice(&fleet_list(&both[..1], None)).unwrap();
    list["items"]
        .as_array_mut()
        .unwrap()
        .retain(|o| o["kind"] == "SelectorSyncSet");
    std::fs::write(&members, list.to_string()).unwrap();
    let prune = [
        "apply",
        "--server-side",
        "--prune",
        "--applyset=addon-flow-stage",
        "-n",
        "hive",
        "--dry-run=server",
        "--validate=false",
        "-f",
        members.to_str().unwrap(),
    ];
    kubectl(&prune)
        .exit(1)
        .stderr_has("is managed by tooling \"addon-flow\" instead of \"kubectl\"");

    apply_as(
        &fleet.server,
        "test",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "addon-flow-stage", "namespace": "hive",
                "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.32.4"}}}),
        true,
    );
    let pruned = kubectl(&prune).success().stdout();
    let mut lines: Vec<&str> = pruned.lines().filter(|l| l.contains(" pruned")).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "configmap/logging-addon-dashboard pruned (server dry run)",
            "deadmanssnitchintegration.deadmanssnitch.managed.openshift.io/addon-reference-addon pruned (server dry run)",
            "pagerdutyintegration.pagerduty.openshift.io/addon-reference-addon pruned (server dry run)",
            "selectorsyncset.hive.openshift.io/addon-reference-addon pruned (server dry run)",
            "selectorsyncset.hive.openshift.io/addon-reference-addon-delete pruned (server dry run)",
        ],
        "{pruned}"
    );
}
