//! Installing through OCM end to end: `ocm-post --install/--installation/
//! --uninstall/--inquire` against the fake OCM (the body on the wire, every
//! parameter rule refusing before any request, idempotence and PATCH),
//! `csv-wait --source ocm` (ready, failed, timed out), fake OCM acting on an
//! install (the SyncSet in Hive), the simulated cluster resolving a catalog
//! catalog-build built, and the demo that runs the whole flow.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use addon_flow_testservers::cluster::{ClusterOptions, Resolution, SimulatedCluster};
use addon_flow_testservers::http::{HttpRequest, HttpResponse, Server};
use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use addon_flow_testservers::ocm::FakeOcm;
use addon_flow_testservers::ocm_controller::ControllerOptions;
use e2e::check::has_all;
use e2e::servers::{self, example_addon, HIVE_TOKEN};
use e2e::{repo_root, tool, Run, RunExt};
use serde_json::{json, Value};

const ADDON: &str = "reference-addon";
const C1: &str = "049ea229-6d2e-4c7b-9b1f-3f1a1c4c2a10";
const C2: &str = "7c1d2e3f-0000-4000-8000-00000000f001";

fn example_bundles() -> PathBuf {
    repo_root().join("examples/managed-tenants-bundles/addons/reference-addon")
}

/// The example add-on's document, as addon-validate writes it, with
/// `parameters` as its addOnParameters when given.
fn document(dir: &Path, parameters: Option<Value>) -> PathBuf {
    let path = servers::example_document(dir);
    if let Some(parameters) = parameters {
        let mut document: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        document["addOnParameters"] = parameters;
        std::fs::write(&path, serde_json::to_vec(&document).unwrap()).unwrap();
    }
    path
}

/// A fake OCM that already has the add-on, and a document for it.
struct Published {
    ocm: FakeOcm,
    dir: tempfile::TempDir,
    document: PathBuf,
}

fn published(parameters: Option<Value>) -> Published {
    let ocm = FakeOcm::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let document = document(dir.path(), parameters);
    servers::ocm_post(dir.path(), &ocm)
        .arg(&document)
        .run()
        .success();
    Published { ocm, dir, document }
}

impl Published {
    /// `ocm-post --url OCM -o json` with the static token.
    fn ocm_post(&self) -> assert_cmd::Command {
        servers::ocm_post(self.dir.path(), &self.ocm)
    }

    /// The requests OCM saw after the first `skip`, as (method, path, body).
    fn requests_after(&self, skip: usize) -> Vec<(String, String, Value)> {
        self.ocm
            .requests()
            .into_iter()
            .skip(skip)
            .map(|r| (r.method, r.path, r.body))
            .collect()
    }
}

#[test]
fn install_posts_the_addon_and_its_parameters_in_items_on_each_cluster() {
    let setup = published(None);
    let before = setup.ocm.requests().len();
    let results = setup
        .ocm_post()
        .args(["--install", C1, "--install", C2, "--param", "size=3"])
        .arg(&setup.document)
        .run()
        .success()
        .json_lines();
    let posts: Vec<_> = setup
        .requests_after(before)
        .into_iter()
        .filter(|(method, _, _)| method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    for cluster in [C1, C2] {
        let (_, _, body) = posts
            .iter()
            .find(|(_, path, _)| {
                *path == format!("/api/clusters_mgmt/v1/clusters/{cluster}/addons")
            })
            .unwrap_or_else(|| panic!("no install POST for {cluster}: {posts:?}"));
        assert_eq!(
            *body,
            json!({"addon": {"id": ADDON}, "parameters": {"items": [{"id": "size", "value": "3"}]}})
        );
    }
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["cluster"], C1, "results come in the order given");
    assert_eq!(results[0]["result"], "created");
    assert_eq!(results[0]["installation"]["state"], "installing");

    // Without --param the add-on's default is filled in, as OCM does.
    let before = setup.ocm.requests().len();
    setup
        .ocm_post()
        .args(["--install", "c3"])
        .arg(&setup.document)
        .run()
        .success();
    let post = setup
        .requests_after(before)
        .into_iter()
        .find(|(method, _, _)| method == "POST")
        .unwrap();
    assert_eq!(
        post.2["parameters"]["items"],
        json!([{"id": "size", "value": "1"}])
    );
}

#[test]
fn each_parameter_rule_refuses_before_any_request() {
    let parameters = json!([
        {"id": "size", "name": "Size", "description": "d", "value_type": "string", "required": true,
         "editable": true, "enabled": true, "options": [{"name": "Small", "value": "small"}, {"name": "Large", "value": "large"}]},
        {"id": "replicas", "name": "Replicas", "description": "d", "value_type": "number", "required": false, "editable": true, "enabled": true},
        {"id": "ha", "name": "HA", "description": "d", "value_type": "boolean", "required": false, "editable": true, "enabled": true},
        {"id": "network", "name": "Network", "description": "d", "value_type": "cidr", "required": false, "editable": true, "enabled": true},
        {"id": "email", "name": "E-mail", "description": "d", "value_type": "string", "validation": "^[^@]+@[^@]+$",
         "validation_err_msg": "an e-mail address", "required": false, "editable": true, "enabled": true}
    ]);
    let setup = published(Some(parameters));
    let cases: [(&[&str], &str); 7] = [
        (&[], "\"size\": required"),
        (&["size=small", "colour=red"], "\"colour\": unknown"),
        (
            &["size=huge"],
            "\"size\": expected one of small, large, got \"huge\"",
        ),
        (
            &["size=small", "replicas=three"],
            "\"replicas\": expected a number",
        ),
        (&["size=small", "ha=yes"], "\"ha\": expected true or false"),
        (
            &["size=small", "network=10.0.0.0/40"],
            "\"network\": expected a CIDR",
        ),
        (
            &["size=small", "email=nobody"],
            "\"email\": expected a value matching",
        ),
    ];
    let before = setup.ocm.requests().len();
    for (params, expected) in cases {
        let mut command = setup.ocm_post();
        command.args(["--install", C1]);
        for param in params {
            command.args(["--param", param]);
        }
        command
            .arg(&setup.document)
            .run()
            .exit(1)
            .stderr_has(expected)
            .stderr_has("nothing was sent");
    }
    assert_eq!(
        setup.ocm.requests().len(),
        before,
        "a refused parameter sends nothing"
    );
    // The same rules hold for a --params file, and a good one goes through.
    let file = setup.dir.path().join("params.yaml");
    std::fs::write(
        &file,
        "size: large\nreplicas: 3\nha: true\nnetwork: 10.0.0.0/16\n",
    )
    .unwrap();
    setup
        .ocm_post()
        .args(["--install", C1, "--params"])
        .arg(&file)
        .arg(&setup.document)
        .run()
        .success();
}

#[test]
fn installing_again_changes_nothing_and_other_parameters_are_patched() {
    let setup = published(None);
    let install = |size: &str| {
        setup
            .ocm_post()
            .args(["--install", C1, "--param", &format!("size={size}")])
            .arg(&setup.document)
            .run()
            .success()
            .json_lines()
            .remove(0)
    };
    assert_eq!(install("2")["result"], "created");
    let before = setup.ocm.requests().len();
    assert_eq!(install("2")["result"], "unchanged");
    assert!(
        setup
            .requests_after(before)
            .iter()
            .all(|(method, _, _)| method == "GET"),
        "the same parameters again write nothing"
    );
    let before = setup.ocm.requests().len();
    let updated = install("4");
    assert_eq!(updated["result"], "updated");
    assert_eq!(
        updated["installation"]["parameters"]["items"],
        json!([{"id": "size", "value": "4"}])
    );
    let writes: Vec<_> = setup
        .requests_after(before)
        .into_iter()
        .filter(|(method, _, _)| method != "GET")
        .collect();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].0, "PATCH");
    assert_eq!(
        writes[0].1,
        format!("/api/clusters_mgmt/v1/clusters/{C1}/addons/{ADDON}")
    );
    assert_eq!(
        writes[0].2,
        json!({"parameters": {"items": [{"id": "size", "value": "4"}]}})
    );
}

#[test]
fn installation_is_read_uninstalled_and_inquired() {
    let setup = published(None);
    setup.ocm.set_installation(C1, ADDON, "ready", "all good");
    let shown = setup
        .ocm_post()
        .args(["--id", ADDON, "--installation", C1])
        .run()
        .success()
        .json_lines()
        .remove(0);
    assert_eq!(shown["installation"]["state"], "ready");
    assert_eq!(shown["installation"]["state_description"], "all good");
    assert!(shown["installation"]["creation_timestamp"].is_string());

    // Not installed: a remote error naming the cluster (exit 3).
    setup
        .ocm_post()
        .args(["--id", ADDON, "--installation", C2])
        .run()
        .exit(3)
        .stderr_has(C2);

    let uninstall = |cluster: &str| {
        setup
            .ocm_post()
            .args(["--id", ADDON, "--uninstall", cluster])
            .run()
            .success()
            .json_lines()
            .remove(0)["result"]
            .clone()
    };
    assert_eq!(uninstall(C1), "deleted");
    assert!(setup.ocm.installation(C1, ADDON).is_none());
    assert_eq!(uninstall(C1), "absent", "already gone is success");

    setup
        .ocm
        .refuse_installs_on(C2, "the cluster has 2 vCPU, the add-on needs 4");
    // One cluster may not install it: exit 1, naming the cluster and OCM's reason.
    let answers = setup
        .ocm_post()
        .args(["--id", ADDON, "--inquire", C1, "--inquire", C2])
        .run()
        .exit(1)
        .stderr_has(C2)
        .stderr_has("the add-on needs 4")
        .json_lines();
    assert_eq!(answers[0]["result"], "allowed");
    assert_eq!(answers[1]["result"], "refused");
    setup
        .ocm_post()
        .args(["--id", ADDON, "--inquire", C1])
        .run()
        .success();
}

#[test]
fn cluster_actions_without_credentials_are_a_usage_error() {
    let setup = published(None);
    servers::without_ocm_credentials("ocm-post", setup.dir.path())
        .args(["--url", &setup.ocm.url(), "--id", ADDON, "--uninstall", C1])
        .run()
        .exit(2);
}

fn csv_wait_ocm(setup: &Published, extra: &[&str]) -> Run {
    servers::csv_wait_from_ocm(setup.dir.path(), &setup.ocm, C1)
        .args(extra)
        .arg(&setup.document)
        .run()
}

#[test]
fn csv_wait_from_ocm_reaches_ready() {
    let setup = published(None);
    setup.ocm.set_installation(C1, ADDON, "installing", "");
    // Ready once csv-wait has read `installing`: on that event, not after a
    // sleep that a loaded machine may outlast.
    setup.ocm.set_installation_after_reads(
        C1,
        ADDON,
        1,
        "ready",
        "reference-addon.v0.3.0 Succeeded",
    );
    let lines = csv_wait_ocm(&setup, &["--timeout", "60s"])
        .success()
        .json_lines();
    let states: Vec<&str> = lines.iter().filter_map(|l| l["state"].as_str()).collect();
    assert_eq!(states, ["installing", "ready"]);
    assert_eq!(lines[1]["reason"], "reference-addon.v0.3.0 Succeeded");
    assert_eq!(lines[2]["summary"]["result"], "ready");
}

#[test]
fn csv_wait_from_ocm_reports_failed_with_state_description_exit_5() {
    let setup = published(None);
    setup.ocm.set_installation(
        C1,
        ADDON,
        "failed",
        "reference-addon.v0.3.0 is Failed: InstallCheckFailed",
    );
    let lines = csv_wait_ocm(&setup, &["--timeout", "60s"])
        .exit(5)
        .json_lines();
    assert_eq!(lines[0]["state"], "failed");
    assert_eq!(
        lines[0]["reason"],
        "reference-addon.v0.3.0 is Failed: InstallCheckFailed"
    );
    assert_eq!(lines[1]["summary"]["failed"], 1);
}

#[test]
fn csv_wait_from_ocm_times_out_exit_4() {
    let setup = published(None);
    setup.ocm.set_installation(C1, ADDON, "installing", "");
    let lines = csv_wait_ocm(&setup, &["--polls", "2"])
        .exit(4)
        .stderr_has("installing")
        .json_lines();
    assert_eq!(lines.last().unwrap()["summary"]["result"], "timed_out");
}

#[test]
fn csv_wait_from_ocm_watches_a_stream_by_addon_id_and_exits_with_the_worst() {
    let setup = published(None);
    let reference: Value =
        serde_json::from_slice(&std::fs::read(&setup.document).unwrap()).unwrap();
    let mut other = reference.clone();
    other["id"] = "other-addon".into();
    other["operatorName"] = "other-operator".into();
    let mut broken = reference.clone();
    broken["id"] = "broken-addon".into();
    broken["operatorName"] = Value::Null;
    let stream: String = [&reference, &broken, &other]
        .iter()
        .map(|document| format!("{document}\n"))
        .collect();
    let stream_file = setup.dir.path().join("stream.jsonl");
    std::fs::write(&stream_file, stream).unwrap();
    setup
        .ocm
        .set_installation(C1, ADDON, "ready", "reference-addon.v0.3.0 Succeeded");
    setup.ocm.set_installation(
        C1,
        "other-addon",
        "failed",
        "other-operator.v1.0.0 is Failed: InstallCheckFailed",
    );
    let before = setup.ocm.requests().len();
    let lines = servers::csv_wait_from_ocm(setup.dir.path(), &setup.ocm, C1)
        .args(["--timeout", "60s"])
        .arg(&stream_file)
        .run()
        .exit(5)
        .stderr_has("broken-addon (document 2)")
        .stderr_has("2 of 3 document(s) failed (broken-addon (document 2), other-addon)")
        .json_lines();
    let states_of = |addon: &str| -> Vec<(&str, &str)> {
        lines
            .iter()
            .filter(|l| l["addon"] == addon)
            .filter_map(|l| Some((l["state"].as_str()?, l["reason"].as_str()?)))
            .collect()
    };
    assert_eq!(
        states_of(ADDON),
        [("ready", "reference-addon.v0.3.0 Succeeded")]
    );
    assert_eq!(
        states_of("other-addon"),
        [(
            "failed",
            "other-operator.v1.0.0 is Failed: InstallCheckFailed"
        )]
    );
    let summaries: Vec<(&str, &str)> = lines
        .iter()
        .filter_map(|l| {
            let summary = l.get("summary")?;
            Some((summary["addon"].as_str()?, summary["result"].as_str()?))
        })
        .collect();
    assert_eq!(summaries, [(ADDON, "ready"), ("other-addon", "failed")]);
    let read: Vec<String> = setup
        .requests_after(before)
        .into_iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    for addon in [ADDON, "other-addon"] {
        let path = format!("GET /api/clusters_mgmt/v1/clusters/{C1}/addons/{addon}");
        assert!(read.contains(&path), "{path} in {read:?}");
    }
    assert!(
        !read.iter().any(|r| r.contains("broken-addon")),
        "the bad document is not watched: {read:?}"
    );
}

#[test]
fn csv_wait_from_ocm_takes_addon_for_a_lone_document_only() {
    let setup = published(None);
    let document: Value = serde_json::from_slice(&std::fs::read(&setup.document).unwrap()).unwrap();
    let two = setup.dir.path().join("two.jsonl");
    std::fs::write(&two, format!("{document}\n{document}\n")).unwrap();
    servers::csv_wait_from_ocm(setup.dir.path(), &setup.ocm, C1)
        .args(["--addon", "renamed-addon"])
        .arg(&two)
        .run()
        .exit(2)
        .stderr_has("--addon names one add-on, and the input holds 2 documents");

    // One document: --addon names the installation to read.
    setup.ocm.set_installation(
        C1,
        "renamed-addon",
        "ready",
        "reference-addon.v0.3.0 Succeeded",
    );
    let lines = csv_wait_ocm(&setup, &["--addon", "renamed-addon", "--timeout", "60s"])
        .success()
        .json_lines();
    assert_eq!(lines[0]["addon"], "renamed-addon");
    assert_eq!(lines[0]["state"], "ready");
}

#[test]
fn csv_wait_from_ocm_refuses_ids_that_would_leave_their_path_segment() {
    let setup = published(None);
    setup.ocm.set_installation(C1, ADDON, "ready", "");
    let before = setup.ocm.requests().len();
    // Today the cluster id goes into the path as written and reads another
    // object (`unknown` until --timeout); the add-on's fragment is dropped.
    servers::csv_wait_from_ocm(setup.dir.path(), &setup.ocm, "../../clusters/c9")
        .args(["--timeout", "5s"])
        .arg(&setup.document)
        .run()
        .exit(2)
        .stderr_has("\"../../clusters/c9\" is not an OCM cluster id");
    csv_wait_ocm(&setup, &["--addon", "reference-addon#x", "--timeout", "5s"])
        .exit(2)
        .stderr_has("\"reference-addon#x\" is not an OCM add-on id");
    assert_eq!(setup.ocm.requests().len(), before, "no request was sent");
}

/// The example catalog built by catalog-build into an OCI layout, and the
/// add-on document naming it.
fn built_catalog(dir: &Path) -> (PathBuf, PathBuf) {
    let layout = dir.join("catalog");
    let validated = tool("addon-validate")
        .arg(example_addon())
        .arg("--bundles")
        .arg(example_bundles())
        .run()
        .success();
    let built = tool("catalog-build")
        .arg("--bundles")
        .arg(example_bundles())
        .args([
            "--repo",
            "quay.io/osd-addons/reference-addon",
            "--oci-layout",
        ])
        .arg(&layout)
        .write_stdin(validated.output.stdout)
        .run()
        .success();
    let document = dir.join("addon.json");
    std::fs::write(&document, &built.output.stdout).unwrap();
    (layout, document)
}

/// Every push a pushgateway stand-in received: (method, path, body).
type Pushes = Arc<Mutex<Vec<(String, String, String)>>>;

/// A pushgateway stand-in that records every push.
fn recording_pushgateway() -> (Server, Pushes) {
    let pushed = Arc::new(Mutex::new(Vec::new()));
    let record = pushed.clone();
    let server = Server::start(Arc::new(move |request: &HttpRequest| {
        record.lock().unwrap().push((
            request.method.clone(),
            request.path.clone(),
            String::from_utf8_lossy(&request.body).into_owned(),
        ));
        HttpResponse::new(200)
    }))
    .unwrap();
    (server, pushed)
}

fn apply_syncset(kube: &KubeServer, dir: &Path, document: &Path, channel: Option<&str>) {
    let mut list = tool("syncset-render")
        .args(["--cluster-deployment", "cd-ns/cd-1", "-o", "json"])
        .arg(document)
        .run_json();
    if let Some(channel) = channel {
        for item in list["items"].as_array_mut().unwrap() {
            for resource in item["spec"]["resources"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                if resource["kind"] == "Subscription" {
                    resource["spec"]["channel"] = json!(channel);
                }
            }
        }
    }
    servers::hive_apply(dir, kube)
        .write_stdin(serde_json::to_vec(&list).unwrap())
        .run()
        .success();
}

fn simulated_cluster(kube: &KubeServer, push: &Server, layout: &Path) -> SimulatedCluster {
    SimulatedCluster::new(ClusterOptions {
        cluster_id: C1.into(),
        namespace: "cd-ns".into(),
        name: "cd-1".into(),
        hive_url: kube.url(),
        hive_token: Some(HIVE_TOKEN.into()),
        pushgateway_url: push.url(),
        oci_layout: Some(layout.to_path_buf()),
        install_delay: Duration::from_secs(3600),
        fail: None,
    })
    .unwrap()
}

#[test]
fn the_simulated_cluster_resolves_the_channel_head_of_a_catalog_built_by_catalog_build() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, document) = built_catalog(dir.path());
    let kube = KubeServer::start(KubeOptions {
        sync_delay: Duration::ZERO,
        namespaces: vec!["cd-ns".into()],
        ..KubeOptions::default()
    })
    .unwrap();
    apply_syncset(&kube, dir.path(), &document, None);
    let (push, pushed) = recording_pushgateway();
    let mut cluster = simulated_cluster(&kube, &push, &layout);
    let resolved = cluster.pass().unwrap();
    assert_eq!(
        resolved,
        [Resolution::Csv {
            name: "reference-addon.v0.3.0".into(),
            version: "0.3.0".into(),
            namespace: "redhat-reference-addon".into(),
        }]
    );
    let pushed = pushed.lock().unwrap().clone();
    let (method, path, body) = pushed.last().unwrap();
    assert_eq!(method, "PUT");
    assert_eq!(*path, format!("/metrics/job/telemetry/instance/{C1}"));
    assert!(
        body.contains(&format!("csv_succeeded{{_id=\"{C1}\",name=\"reference-addon.v0.3.0\",namespace=\"redhat-reference-addon\",version=\"0.3.0\"}} 0")),
        "installing until the delay has passed: {body}"
    );
    let sync = kube
        .api()
        .get("ClusterSync", "cd-ns", "cd-1")
        .expect("the ClusterSync is recorded");
    assert_eq!(
        sync["status"]["syncSets"][0]["name"],
        "addon-reference-addon"
    );
}

#[test]
fn a_subscription_to_a_channel_the_catalog_lacks_is_a_failed_install() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, document) = built_catalog(dir.path());
    let kube = KubeServer::start(KubeOptions {
        namespaces: vec!["cd-ns".into()],
        ..KubeOptions::default()
    })
    .unwrap();
    apply_syncset(&kube, dir.path(), &document, Some("no-such-channel"));
    let (push, pushed) = recording_pushgateway();
    let mut cluster = simulated_cluster(&kube, &push, &layout);
    let resolved = cluster.pass().unwrap();
    let [Resolution::Failed { reason, .. }] = resolved.as_slice() else {
        panic!("expected a failed resolution: {resolved:?}");
    };
    assert!(
        reason.contains("no channel \"no-such-channel\""),
        "{reason}"
    );
    let body = pushed.lock().unwrap().last().unwrap().2.clone();
    has_all(
        "the pushed metrics",
        &body,
        &["csv_abnormal{", "phase=\"Failed\""],
    );
}

#[test]
fn fake_ocm_acting_as_ocm_writes_the_syncset_into_hive_and_uninstall_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let document = servers::example_document(dir.path());
    let kube = KubeServer::start(KubeOptions {
        namespaces: vec!["cd-ns".into()],
        ..KubeOptions::default()
    })
    .unwrap();
    let mut options = ControllerOptions {
        hive_url: Some(kube.url()),
        hive_token: Some(HIVE_TOKEN.into()),
        interval: Duration::from_millis(50),
        ..ControllerOptions::default()
    };
    options
        .clusters
        .insert(C1.into(), "cd-ns/cd-1".parse().unwrap());
    options.add_document(&document).unwrap();
    let ocm = FakeOcm::start_acting("127.0.0.1:0", options).unwrap();
    let ocm_post = || servers::ocm_post(dir.path(), &ocm);
    ocm_post().arg(&document).run().success();
    // A cluster OCM does not know is refused by OCM.
    ocm_post()
        .args(["--install", "unknown-cluster"])
        .arg(&document)
        .run()
        .exit(3)
        .stderr_has("not found");

    ocm_post()
        .args(["--install", C1])
        .arg(&document)
        .run()
        .success();
    let syncset = wait_for(|| kube.api().get("SyncSet", "cd-ns", "addon-reference-addon"));
    assert_eq!(
        syncset["spec"]["clusterDeploymentRefs"],
        json!([{"name": "cd-1"}])
    );
    let installing = wait_for(|| {
        ocm.installation(C1, ADDON)
            .filter(|i| i["state"] == "installing")
    });
    assert!(installing["state_description"]
        .as_str()
        .unwrap()
        .contains("cd-ns/cd-1"));

    ocm_post()
        .args(["--id", ADDON, "--uninstall", C1])
        .run()
        .success();
    wait_for(|| ocm.installation(C1, ADDON).is_none().then_some(()));
    assert!(kube
        .api()
        .get("SyncSet", "cd-ns", "addon-reference-addon")
        .is_none());
}

/// Polls `check` until it gives a value (the controller works on its own thread).
fn wait_for<T>(check: impl Fn() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(value) = check() {
            return value;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the condition never held");
}

#[test]
fn the_demo_installs_on_two_clusters_one_ready_one_failed_then_uninstalls() {
    if !e2e::telemetry::installed("the demo") {
        return;
    }
    let binaries = e2e::bin_dir();
    let stdout = std::process::Command::new("bash")
        .arg(repo_root().join("scripts/demo.sh"))
        .env("DEMO_BIN_DIR", binaries)
        .run()
        .success()
        .stdout();
    let stages = [
        "deploy 1/4",
        "deploy 2/4",
        "deploy 3/4",
        "deploy 4/4",
        "install 1/5",
        "install 2/5",
        "install 3/5",
        "install 4/5",
        "install 5/5",
        "demo finished",
    ];
    let mut at = 0;
    for stage in stages {
        let found = stdout[at..]
            .find(stage)
            .unwrap_or_else(|| panic!("stage {stage:?} missing or out of order:\n{stdout}"));
        at += found;
    }
    assert!(stdout.contains("cluster-1 reached ready"));
    assert!(stdout.contains("cluster-2 was reported failed"));
}
