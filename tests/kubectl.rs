//! fake-hive checked by a client we did not write: kubectl, against the
//! Kubernetes API conventions. Each test drives the loopback API server
//! (HTTPS: kubectl sends a bearer token over TLS only) with a kubeconfig of
//! its own, and compares what kubectl reports with what the conventions and
//! the API server's sources specify:
//!
//! - [conventions]: kubernetes/community `contributors/devel/sig-architecture/api-conventions.md`;
//! - [ssa]: kubernetes.io `docs/reference/using-api/server-side-apply`;
//! - [concepts]: kubernetes.io `docs/reference/using-api/api-concepts`
//!   ("Dry-run", "Field validation");
//! - [labels]: kubernetes.io `docs/concepts/overview/working-with-objects/labels`;
//! - [names]: kubernetes.io `docs/concepts/overview/working-with-objects/names`;
//! - [namespaces]: kubernetes.io `docs/concepts/overview/working-with-objects/namespaces`
//!   and the NamespaceLifecycle admission plugin.

use std::path::PathBuf;

use addon_flow_testservers::http::TlsIdentity;
use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use e2e::{Run, RunExt};
use serde_json::Value;

/// A fake-hive on HTTPS and a kubeconfig for it.
struct Cluster {
    server: KubeServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Cluster {
    fn start(options: KubeOptions) -> Cluster {
        let server = KubeServer::start_tls_on("127.0.0.1:0", options, &self_signed()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = e2e::write_kubeconfig(dir.path(), &server, "test-token");
        Cluster {
            server,
            dir,
            kubeconfig,
        }
    }

    /// `kubectl ARGS` against this server (its discovery cache kept in the
    /// test's folder, so runs do not share one).
    /// `kubectl ARGS`, which the cluster refuses: exit 1.
    fn refused(&self, args: &[&str]) -> Run {
        self.kubectl(args).exit(1)
    }

    fn kubectl(&self, args: &[&str]) -> Run {
        std::process::Command::new("kubectl")
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .run()
    }

    /// `kubectl VERB --server-side --field-manager=addon-flow EXTRA -f FILE`:
    /// an apply or diff as addon-flow's own manager sends it.
    fn server_side(&self, verb: &str, file: &str, extra: &[&str]) -> Run {
        let mut args = vec![verb, "--server-side", "--field-manager=addon-flow"];
        args.extend(extra);
        args.extend(["-f", file]);
        self.kubectl(&args)
    }

    /// Writes a manifest into the test's folder.
    fn manifest(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// `kubectl get ... -o json`, managedFields included (kubectl hides
    /// them by default).
    fn get_json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json", "--show-managed-fields"]);
        self.kubectl(&args).success().json()
    }
}

/// A certificate for 127.0.0.1 signed by itself, which the kubeconfig trusts.
fn self_signed() -> TlsIdentity {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    TlsIdentity {
        cert_pem: cert.pem().into_bytes(),
        key_pem: key.serialize_pem().into_bytes(),
        ca_pem: None,
        client_ca_pem: None,
    }
}

/// A cluster with the default options, or `None` (the test is skipped, and
/// says so) where kubectl is not installed.
fn cluster() -> Option<Cluster> {
    cluster_with(KubeOptions::default())
}

fn cluster_with(options: KubeOptions) -> Option<Cluster> {
    e2e::prerequisite("kubectl", e2e::program("kubectl")).then(|| Cluster::start(options))
}

const SSS: &str = "apiVersion: hive.openshift.io/v1
kind: SelectorSyncSet
metadata:
  name: addon-x
  labels:
    applyset.kubernetes.io/part-of: applyset-fleet
spec:
  clusterDeploymentSelector:
    matchLabels:
      api.openshift.com/addon-x: \"true\"
  resourceApplyMode: Sync
";

fn with_mode(mode: &str) -> String {
    SSS.replace(
        "resourceApplyMode: Sync",
        &format!("resourceApplyMode: {mode}"),
    )
}

fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap()
}

#[test]
fn server_side_apply_get_and_an_unchanged_reapply() {
    let Some(cluster) = cluster() else { return };
    let manifest = cluster.manifest("sss.yaml", SSS);
    // kubectl validates nothing itself: the server offers fieldValidation in
    // its OpenAPI, so kubectl sends fieldValidation=Strict ([concepts]
    // "Field validation"), and needs no --validate=false.
    cluster
        .server_side("apply", &manifest, &[])
        .success()
        .stdout_has("selectorsyncset.hive.openshift.io/addon-x serverside-applied");

    let live = cluster.get_json(&["get", "selectorsyncset", "addon-x"]);
    // [conventions] "Metadata": uid, resourceVersion (an opaque string),
    // creationTimestamp (RFC 3339), generation from 1 for the desired state.
    let metadata = &live["metadata"];
    assert!(metadata["uid"].as_str().is_some_and(|uid| !uid.is_empty()));
    assert!(metadata["resourceVersion"].is_string());
    assert!(metadata["creationTimestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z') && t.contains('T')));
    assert_eq!(metadata["generation"], 1);
    // [ssa] "Field management": the applier's entry, operation Apply, the
    // fields it set in fieldsV1.
    let managed = &metadata["managedFields"][0];
    assert_eq!(
        (
            &managed["manager"],
            &managed["operation"],
            &managed["fieldsType"]
        ),
        (&"addon-flow".into(), &"Apply".into(), &"FieldsV1".into())
    );
    assert!(managed["fieldsV1"]["f:spec"]["f:resourceApplyMode"].is_object());

    // [ssa]: applying the same configuration again changes nothing, so no
    // new resourceVersion ([conventions] "Concurrency Control and
    // Consistency": it changes when the object does).
    cluster.server_side("apply", &manifest, &[]).success();
    let again = cluster.get_json(&["get", "selectorsyncset", "addon-x"]);
    assert_eq!(
        again["metadata"]["resourceVersion"],
        metadata["resourceVersion"]
    );
    assert_eq!(
        again["metadata"]["managedFields"],
        metadata["managedFields"]
    );

    // A change: a new resourceVersion and generation, the applier's time.
    let changed = cluster.manifest("changed.yaml", &with_mode("Upsert"));
    cluster.server_side("apply", &changed, &[]).success();
    let updated = cluster.get_json(&["get", "selectorsyncset", "addon-x"]);
    assert_ne!(
        updated["metadata"]["resourceVersion"],
        metadata["resourceVersion"]
    );
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_eq!(updated["spec"]["resourceApplyMode"], "Upsert");

    // The table: NAME and AGE for a kind without printer columns.
    cluster
        .kubectl(&["get", "selectorsyncsets"])
        .success()
        .stdout_has("NAME")
        .stdout_has("addon-x");
    // [conventions] "Response Status Kind": 404 NotFound, `<resource> "<name>" not found`.
    cluster
        .refused(&["get", "selectorsyncset", "nope"])
        .stderr_has(
            "Error from server (NotFound): selectorsyncsets.hive.openshift.io \"nope\" not found",
        );
}

#[test]
fn diff_is_a_server_dry_run_that_changes_nothing() {
    let Some(cluster) = cluster() else { return };
    let manifest = cluster.manifest("sss.yaml", SSS);
    let apply = |file: &str, extra: &[&str]| cluster.server_side("apply", file, extra);
    apply(&manifest, &[]).success();
    let live = cluster.get_json(&["get", "sss", "addon-x"]);

    // kubectl diff: exit 0 and no output when nothing would change ...
    cluster
        .server_side("diff", &manifest, &[])
        .success()
        .no_stdout();
    // ... exit 1 and the difference when something would.
    let changed = cluster.manifest("changed.yaml", &with_mode("Upsert"));
    cluster
        .server_side("diff", &changed, &[])
        .exit(1)
        .stdout_has("-  resourceApplyMode: Sync")
        .stdout_has("+  resourceApplyMode: Upsert");

    // [concepts] "Dry-run": processed as usual, not persisted:
    // the answer shows the change, with the live resourceVersion, and the
    // stored object is untouched.
    let answer = apply(&changed, &["--dry-run=server", "-o", "json"])
        .success()
        .json();
    assert_eq!(answer["spec"]["resourceApplyMode"], "Upsert");
    assert_eq!(
        answer["metadata"]["resourceVersion"],
        live["metadata"]["resourceVersion"]
    );
    assert_eq!(cluster.get_json(&["get", "sss", "addon-x"]), live);

    // A dry-run create: kubectl says so, and nothing exists afterwards.
    let other = cluster.manifest("other.yaml", &SSS.replace("addon-x", "addon-y"));
    apply(&other, &["--dry-run=server"]).success().stdout_has(
        "selectorsyncset.hive.openshift.io/addon-y serverside-applied (server dry run)",
    );
    cluster
        .refused(&["get", "sss", "addon-y"])
        .stderr_has("NotFound");
}

#[test]
fn two_managers_conflict_until_one_forces() {
    let Some(cluster) = cluster() else { return };
    let apply = |manager: &str, file: &str, force: bool| {
        let manager = format!("--field-manager={manager}");
        let mut args = vec!["apply", "--server-side", manager.as_str(), "-f", file];
        if force {
            args.push("--force-conflicts");
        }
        cluster.kubectl(&args)
    };
    let sync = cluster.manifest("sync.yaml", SSS);
    let upsert = cluster.manifest("upsert.yaml", &with_mode("Upsert"));
    apply("hive-operator", &sync, false).success();
    // [ssa] "Conflicts": the same value is shared ownership, not a conflict.
    apply("addon-flow", &sync, false).success();
    // A different value for a field another manager owns: 409, the
    // conflicting manager and field, and kubectl's advice.
    apply("addon-flow", &upsert, false)
        .exit(1)
        .stderr_has(
            "Apply failed with 1 conflict: conflict with \"hive-operator\": .spec.resourceApplyMode",
        )
        .stderr_has("--force-conflicts");
    let unchanged = cluster.get_json(&["get", "sss", "addon-x"]);
    assert_eq!(unchanged["spec"]["resourceApplyMode"], "Sync");

    // [ssa] "Conflicts": forcing takes the field; the other manager no
    // longer owns it.
    apply("addon-flow", &upsert, true).success();
    let forced = cluster.get_json(&["get", "sss", "addon-x"]);
    assert_eq!(forced["spec"]["resourceApplyMode"], "Upsert");
    let entry = |manager: &str| {
        forced["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == manager)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert!(entry("addon-flow")["fieldsV1"]["f:spec"]["f:resourceApplyMode"].is_object());
    assert!(entry("hive-operator")["fieldsV1"]["f:spec"]
        .get("f:resourceApplyMode")
        .is_none());
}

#[test]
fn invalid_names_missing_namespaces_and_undeclared_fields_are_refused() {
    let Some(cluster) = cluster() else { return };
    let apply = |file: &str| cluster.server_side("apply", file, &[]);
    // [names]: most kinds' names are DNS-1123 subdomains. 422 Invalid; kubectl
    // prints the Status' details (kind, name) and each cause's field and
    // message ([conventions] "HTTP Status codes": 422 StatusUnprocessableEntity).
    let bad = cluster.manifest("bad.yaml", &SSS.replace("name: addon-x", "name: Addon_Bad"));
    apply(&bad).exit(1).stderr_has(
        "The SelectorSyncSet \"Addon_Bad\" is invalid: metadata.name: Invalid value: \"Addon_Bad\": \
         a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', \
         and must start and end with an alphanumeric character (e.g. 'example.com', regex used for \
         validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
    // [names]: a Namespace's name is a DNS-1123 label: no dots.
    cluster.refused(&["create", "namespace", "addon.x"])
        .stderr_has("The Namespace \"addon.x\" is invalid: metadata.name: Invalid value: \"addon.x\": must not contain dots");

    // [namespaces]: an object in a namespace that does not exist: 404 for
    // the namespace (NamespaceLifecycle admission), nothing stored.
    let sync_set = "apiVersion: hive.openshift.io/v1
kind: SyncSet
metadata: {name: addon-x, namespace: cd-east}
spec: {clusterDeploymentRefs: [{name: cluster-1}], resourceApplyMode: Sync}
";
    let in_cd_east = cluster.manifest("syncset.yaml", sync_set);
    apply(&in_cd_east)
        .exit(1)
        .stderr_has("Error from server (NotFound): namespaces \"cd-east\" not found");
    // Once the namespace exists, the same apply goes through.
    cluster
        .kubectl(&["create", "namespace", "cd-east"])
        .success()
        .stdout_has("namespace/cd-east created");
    apply(&in_cd_east)
        .success()
        .stdout_has("syncset.hive.openshift.io/addon-x serverside-applied");

    // [ssa]: a field the schema does not declare fails the apply; for other
    // writes kubectl's fieldValidation=Strict makes it a 400.
    let typo = cluster.manifest(
        "typo.yaml",
        &SSS.replace("resourceApplyMode:", "resourceApplyMod:"),
    );
    apply(&typo)
        .exit(1)
        .stderr_has(".spec.resourceApplyMod: field not declared in schema");
    let config_map = cluster.manifest(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\nextra: 1\n",
    );
    cluster
        .refused(&["create", "-f", &config_map])
        .stderr_has("Error from server (BadRequest): error when creating \"")
        .stderr_has("strict decoding error: unknown field \"extra\"");
}

#[test]
fn delete_removes_the_object_and_a_namespace_its_contents() {
    let Some(cluster) = cluster_with(KubeOptions {
        namespaces: vec!["cd-east".into()],
        ..KubeOptions::default()
    }) else {
        return;
    };
    cluster
        .kubectl(&[
            "create",
            "configmap",
            "probe",
            "-n",
            "cd-east",
            "--from-literal=k=v",
        ])
        .success()
        .stdout_has("configmap/probe created");
    let manifest = cluster.manifest("sss.yaml", SSS);
    cluster.server_side("apply", &manifest, &[]).success();
    cluster
        .kubectl(&["delete", "sss", "addon-x"])
        .success()
        .stdout_has("selectorsyncset.hive.openshift.io \"addon-x\" deleted");
    cluster.refused(&["get", "sss", "addon-x"]);
    // Deleting what is not there: 404.
    cluster.refused(&["delete", "sss", "addon-x"]).stderr_has(
        "Error from server (NotFound): selectorsyncsets.hive.openshift.io \"addon-x\" not found",
    );
    // [namespaces]: deleting a namespace deletes everything in it.
    cluster
        .kubectl(&["delete", "namespace", "cd-east"])
        .success()
        .stdout_has("namespace \"cd-east\" deleted");
    assert!(cluster
        .server
        .api()
        .get("ConfigMap", "cd-east", "probe")
        .is_none());
    // NamespaceLifecycle: default, kube-system and kube-public stay (403).
    cluster.refused(&["delete", "namespace", "default"])
        .stderr_has("Error from server (Forbidden): namespaces \"default\" is forbidden: this namespace may not be deleted");
}

#[test]
fn short_names_and_label_selectors() {
    let Some(cluster) = cluster() else { return };
    // The namespaces a Hive cluster starts with, by their short name.
    let namespaces = cluster.get_json(&["get", "ns"]);
    let names: Vec<&str> = namespaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(name_of)
        .collect();
    for expected in ["default", "kube-system", "kube-public", "hive"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    // [namespaces] "Automatic labelling": every Namespace carries
    // kubernetes.io/metadata.name.
    assert!(namespaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(
            |ns| ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == ns["metadata"]["name"]
        ));

    for (name, labels) in [
        (
            "member-a",
            "applyset.kubernetes.io/part-of: applyset-fleet\n    tier: a",
        ),
        (
            "member-b",
            "applyset.kubernetes.io/part-of: applyset-fleet\n    tier: b",
        ),
        ("stranger", "applyset.kubernetes.io/part-of: applyset-other"),
        ("unlabelled", "{}"),
    ] {
        let text = format!(
            "apiVersion: hive.openshift.io/v1\nkind: SelectorSyncSet\nmetadata:\n  name: {name}\n  labels:\n    {labels}\nspec: {{resourceApplyMode: Sync}}\n"
        )
        .replace("labels:\n    {}", "labels: {}");
        let file = cluster.manifest(&format!("{name}.yaml"), &text);
        cluster.server_side("apply", &file, &[]).success();
    }
    let selected = |selector: &str| -> Vec<String> {
        // `sss`: SelectorSyncSet's short name in Hive's CRD.
        cluster
            .kubectl(&["get", "sss", "-l", selector, "-o", "name"])
            .success()
            .stdout()
            .lines()
            .map(|line| {
                line.trim_start_matches("selectorsyncset.hive.openshift.io/")
                    .to_string()
            })
            .collect()
    };
    // [labels] "Label selectors": equality- and set-based requirements, ANDed;
    // `!=` and `notin` also select objects without the label, `!key` those
    // without it.
    assert_eq!(
        selected("applyset.kubernetes.io/part-of=applyset-fleet"),
        ["member-a", "member-b"]
    );
    assert_eq!(
        selected("applyset.kubernetes.io/part-of==applyset-fleet,tier!=a"),
        ["member-b"]
    );
    assert_eq!(selected("tier!=a"), ["member-b", "stranger", "unlabelled"]);
    assert_eq!(selected("tier in (a, b)"), ["member-a", "member-b"]);
    assert_eq!(
        selected("applyset.kubernetes.io/part-of notin (applyset-fleet)"),
        ["stranger", "unlabelled"]
    );
    assert_eq!(selected("tier"), ["member-a", "member-b"]);
    assert_eq!(selected("!applyset.kubernetes.io/part-of"), ["unlabelled"]);
    // A selector that does not parse: 400 with the parser's message.
    cluster
        .refused(&["get", "sss", "-l", "tier in a"])
        .stderr_has("Error from server (BadRequest)")
        .stderr_has("unable to parse requirement: found 'a' expected: '('");

    // `cd` is ClusterDeployment's short name.
    let cd = cluster.manifest(
        "cd.yaml",
        "apiVersion: hive.openshift.io/v1\nkind: ClusterDeployment\nmetadata: {name: cluster-1, namespace: hive}\nspec: {clusterName: cluster-1, baseDomain: example.com}\n",
    );
    cluster
        .kubectl(&["apply", "--server-side", "--field-manager=hive", "-f", &cd])
        .success();
    cluster
        .kubectl(&["get", "cd", "-n", "hive", "-o", "name"])
        .success()
        .stdout_has("clusterdeployment.hive.openshift.io/cluster-1");
}

/// kubectl reads the served OpenAPI: `explain` shows a kind's fields.
#[test]
fn explain_reads_the_served_schema() {
    let Some(cluster) = cluster() else { return };
    cluster
        .kubectl(&["explain", "sss.spec"])
        .success()
        .stdout_has("KIND:       SelectorSyncSet")
        .stdout_has("resourceApplyMode\t<string>")
        .stdout_has("clusterDeploymentSelector\t<Object>");
}
