//! The stand-in's own checks, request by request (kubectl drives it in
//! `tests/kubectl.rs`).

use super::*;

fn request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    content_type: &str,
    body: &Value,
) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        path: path.into(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: vec![
            ("authorization".into(), "Bearer test-token".into()),
            ("content-type".into(), content_type.into()),
        ],
        body: serde_json::to_vec(body).unwrap(),
    }
}

/// A server-side apply of `object` at `path`.
fn apply_request(path: &str, query: &[(&str, &str)], object: &Value) -> HttpRequest {
    request("PATCH", path, query, "application/apply-patch+yaml", object)
}

/// A JSON merge patch of the object at `path` by field manager `manager`.
fn merge_patch(path: &str, manager: &str, patch: &Value) -> HttpRequest {
    let query = [("fieldManager", manager)];
    request("PATCH", path, &query, "application/merge-patch+json", patch)
}

/// A DELETE of `path` with the test token.
fn delete(path: &str) -> HttpRequest {
    request("DELETE", path, &[], "", &json!({}))
}

/// A plain GET of `path` with the test token.
fn get(path: &str) -> HttpRequest {
    request("GET", path, &[], "", &json!({}))
}

fn body(response: &HttpResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

const SSS: &str = "/apis/hive.openshift.io/v1/selectorsyncsets/addon-x";

fn sss(mode: &str) -> Value {
    json!({"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet", "metadata": {"name": "addon-x"},
        "spec": {"resourceApplyMode": mode, "clusterDeploymentSelector": {"matchLabels": {"a": "true"}}}})
}

/// The ClusterDeployment of [`with_cluster_deployment`].
const CD: &str = "/apis/hive.openshift.io/v1/namespaces/ns/clusterdeployments/cd";

/// An API whose namespace `ns` holds the ClusterDeployment `cd`, labelled
/// `x: "1"`, with `spec`, as Hive applied it.
fn with_cluster_deployment(spec: Value) -> KubeApi {
    let api = KubeApi::new(KubeOptions {
        namespaces: vec!["ns".into()],
        ..KubeOptions::default()
    });
    api.apply_as("hive", &cluster_deployment(spec), false)
        .unwrap();
    api
}

/// The ClusterDeployment `ns/cd`, labelled `x: "1"`, with `spec`.
fn cluster_deployment(spec: Value) -> Value {
    json!({"apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
        "metadata": {"name": "cd", "namespace": "ns", "labels": {"x": "1"}}, "spec": spec})
}

fn apply(api: &KubeApi, manager: &str, force: bool, object: &Value) -> HttpResponse {
    let mut query = vec![("fieldManager", manager)];
    if force {
        query.push(("force", "true"));
    }
    api.handle(&apply_request(SSS, &query, object))
}

#[test]
fn apply_creates_then_is_a_no_op_then_updates() {
    let api = KubeApi::new(KubeOptions::default());
    let created = apply(&api, "addon-flow", false, &sss("Sync"));
    assert_eq!(created.status, 201);
    let first = body(&created);
    assert_eq!(first["metadata"]["generation"], 1);
    let again = body(&apply(&api, "addon-flow", false, &sss("Sync")));
    assert_eq!(
        again["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    let updated = body(&apply(&api, "addon-flow", false, &sss("Upsert")));
    assert_ne!(
        updated["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_eq!(
        updated["metadata"]["managedFields"][0]["manager"],
        "addon-flow"
    );
    assert_eq!(
        updated["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:resourceApplyMode"],
        json!({})
    );
}

#[test]
fn another_manager_conflicts_unless_forced() {
    let api = KubeApi::new(KubeOptions::default());
    assert_eq!(
        apply(&api, "someone-else", false, &sss("Upsert")).status,
        201
    );
    // The same value is shared ownership, not a conflict.
    assert_eq!(apply(&api, "addon-flow", false, &sss("Upsert")).status, 200);
    let conflict = apply(&api, "addon-flow", false, &sss("Sync"));
    assert_eq!(conflict.status, 409);
    let status = body(&conflict);
    assert_eq!(
        (
            status["kind"].as_str(),
            status["reason"].as_str(),
            status["code"].as_u64()
        ),
        (Some("Status"), Some("Conflict"), Some(409))
    );
    // errors.NewApplyConflict: no object details, one cause per field.
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Apply failed with 1 conflict: conflict with \"someone-else\": .spec.resourceApplyMode",
            "reason": "Conflict",
            "details": {"causes": [{"reason": "FieldManagerConflict",
                "message": "conflict with \"someone-else\"", "field": ".spec.resourceApplyMode"}]},
            "code": 409})
    );
    assert_eq!(apply(&api, "addon-flow", true, &sss("Sync")).status, 200);
    assert_eq!(
        api.get("SelectorSyncSet", "", "addon-x").unwrap()["spec"]["resourceApplyMode"],
        "Sync"
    );
}

/// Sets a manager's `managedFields` time in storage, to see whether a
/// later write touches it.
fn age_manager(api: &KubeApi, name: &str, manager: &str, operation: &str, time: &str) {
    let mut state = api.lock();
    let stored = state
        .objects
        .values_mut()
        .find(|s| s.object["metadata"]["name"] == name)
        .unwrap();
    stored
        .managers
        .get_mut(&(manager.to_string(), operation.to_string()))
        .unwrap()
        .time = time.to_string();
    let api_version = stored.object["apiVersion"].as_str().unwrap().to_string();
    stored.object["metadata"]["managedFields"] =
        fields::managed_fields(&stored.managers, &api_version);
}

fn manager_times(object: &Value) -> Vec<(String, String)> {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["manager"].as_str().unwrap().into(),
                e["time"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn an_apply_sets_only_the_appliers_time_and_a_no_op_sets_none() {
    let api = KubeApi::new(KubeOptions::default());
    apply(&api, "hive", false, &sss("Sync"));
    let mut mine = sss("Sync");
    mine["metadata"]["labels"] = json!({"team": "addons"});
    apply(&api, "addon-flow", false, &mine);
    age_manager(&api, "addon-x", "hive", "Apply", "2020-01-01T00:00:00Z");
    age_manager(
        &api,
        "addon-x",
        "addon-flow",
        "Apply",
        "2020-01-01T00:00:00Z",
    );
    // Nothing changes: nothing is written, not even a time.
    let again = body(&apply(&api, "addon-flow", false, &mine));
    let stored = api.get("SelectorSyncSet", "", "addon-x").unwrap();
    assert_eq!(
        again["metadata"]["resourceVersion"],
        stored["metadata"]["resourceVersion"]
    );
    assert_eq!(
        manager_times(&stored),
        [
            ("addon-flow".into(), "2020-01-01T00:00:00Z".into()),
            ("hive".into(), "2020-01-01T00:00:00Z".into())
        ]
    );
    // A change is the applier's: its time moves, hive's does not.
    mine["metadata"]["labels"]["team"] = json!("fleet");
    let changed = body(&apply(&api, "addon-flow", false, &mine));
    let times = manager_times(&changed);
    assert_eq!(times[1], ("hive".into(), "2020-01-01T00:00:00Z".into()));
    assert_ne!(times[0].1, "2020-01-01T00:00:00Z");
    assert_eq!(changed, api.get("SelectorSyncSet", "", "addon-x").unwrap());
}

#[test]
fn a_dry_run_stores_nothing_and_moves_no_resource_version() {
    let api = KubeApi::new(KubeOptions::default());
    let dry_apply = |object: &Value| {
        api.handle(&apply_request(
            SSS,
            &[("fieldManager", "addon-flow"), ("dryRun", "All")],
            object,
        ))
    };
    let server_version = |api: &KubeApi| api.lock().resource_version;
    let before = server_version(&api);
    // A dry-run create: the object as it would be, without a resourceVersion.
    let created = dry_apply(&sss("Sync"));
    assert_eq!(created.status, 201);
    assert_eq!(body(&created)["metadata"]["resourceVersion"], Value::Null);
    assert_eq!(body(&created)["spec"]["resourceApplyMode"], "Sync");
    assert!(api.get("SelectorSyncSet", "", "addon-x").is_none());
    assert_eq!(server_version(&api), before);

    // A dry-run change: the live resourceVersion, nothing stored.
    let live = body(&apply(&api, "addon-flow", false, &sss("Sync")));
    let after_create = server_version(&api);
    let changed = dry_apply(&sss("Upsert"));
    assert_eq!(changed.status, 200);
    assert_eq!(body(&changed)["spec"]["resourceApplyMode"], "Upsert");
    assert_eq!(
        body(&changed)["metadata"]["resourceVersion"],
        live["metadata"]["resourceVersion"]
    );
    assert_eq!(api.get("SelectorSyncSet", "", "addon-x").unwrap(), live);
    assert_eq!(server_version(&api), after_create);
    // And a dry-run delete deletes nothing.
    let deleted = api.handle(&request(
        "DELETE",
        SSS,
        &[("dryRun", "All")],
        "",
        &json!({}),
    ));
    assert_eq!(deleted.status, 200);
    assert_eq!(api.get("SelectorSyncSet", "", "addon-x").unwrap(), live);
}

#[test]
fn an_invalid_name_is_a_422_in_the_api_servers_words() {
    let api = KubeApi::new(KubeOptions::default());
    let mut bad = sss("Sync");
    bad["metadata"]["name"] = json!("Addon_Bad");
    let refused = api.handle(&apply_request(
        "/apis/hive.openshift.io/v1/selectorsyncsets/Addon_Bad",
        &[("fieldManager", "addon-flow")],
        &bad,
    ));
    assert_eq!(refused.status, 422);
    let rule = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    assert_eq!(
        body(&refused),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("SelectorSyncSet.hive.openshift.io \"Addon_Bad\" is invalid: metadata.name: Invalid value: \"Addon_Bad\": {rule}"),
            "reason": "Invalid",
            "details": {"name": "Addon_Bad", "group": "hive.openshift.io", "kind": "SelectorSyncSet",
                "causes": [{"reason": "FieldValueInvalid", "message": format!("Invalid value: \"Addon_Bad\": {rule}"), "field": "metadata.name"}]},
            "code": 422})
    );
    assert!(api.objects().is_empty());
    // A Namespace's name is a label: no dots.
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}});
    let refused = api.handle(&apply_request(
        "/api/v1/namespaces/a.b",
        &[("fieldManager", "addon-flow")],
        &namespace,
    ));
    assert_eq!(
        (refused.status, body(&refused)["message"].clone()),
        (422, json!("Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": must not contain dots"))
    );
}

#[test]
fn create_generates_names_and_refuses_duplicates_and_update_checks_the_version() {
    let api = KubeApi::new(KubeOptions::default());
    let post = |object: &Value| {
        api.handle(&request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[],
            "application/json",
            object,
        ))
    };
    let generated = post(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"generateName": "probe-"}, "data": {"k": "v"}}));
    assert_eq!(generated.status, 201);
    let name = body(&generated)["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        name.starts_with("probe-") && name.len() == "probe-".len() + 5,
        "{name}"
    );
    assert_eq!(body(&generated)["metadata"]["namespace"], "default");
    let unnamed = post(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}));
    assert_eq!(
        body(&unnamed)["details"]["causes"][0],
        json!({"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"})
    );
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
    assert_eq!(post(&config_map).status, 201);
    let duplicate = post(&config_map);
    assert_eq!(
        (
            duplicate.status,
            body(&duplicate)["reason"].clone(),
            body(&duplicate)["message"].clone()
        ),
        (
            409,
            json!("AlreadyExists"),
            json!("configmaps \"c\" already exists")
        )
    );
    let mut stale = config_map.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    let put = api.handle(&request(
        "PUT",
        "/api/v1/namespaces/default/configmaps/c",
        &[],
        "application/json",
        &stale,
    ));
    assert_eq!(put.status, 409);
    assert_eq!(
        body(&put)["message"],
        "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[test]
fn an_update_takes_the_fields_it_changes_from_their_owner() {
    let api = with_cluster_deployment(json!({"clusterName": "cd"}));
    let patched = api.handle(&merge_patch(
        CD,
        "someone",
        &json!({"metadata": {"labels": {"x": "2"}}}),
    ));
    let managed = &body(&patched)["metadata"]["managedFields"];
    let entry = |manager: &str| {
        managed
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == manager)
            .cloned()
            .unwrap()
    };
    assert_eq!(entry("someone")["operation"], "Update");
    assert_eq!(
        entry("someone")["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:x": {}}}})
    );
    assert_eq!(
        entry("hive")["fieldsV1"],
        json!({"f:spec": {"f:clusterName": {}}})
    );
    // The previous owner applying its old value again is now a conflict.
    let cd = cluster_deployment(json!({"clusterName": "cd"}));
    assert_eq!(api.apply_as("hive", &cd, false), Err(409));
}

#[test]
fn undeclared_fields_fail_an_apply_and_follow_field_validation_elsewhere() {
    let api = KubeApi::new(KubeOptions::default());
    let mut typo = sss("Sync");
    typo["spec"]["resourceApplyMod"] = json!("Upsert");
    let refused = apply(&api, "addon-flow", false, &typo);
    assert_eq!(refused.status, 500);
    assert_eq!(
        body(&refused),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "failed to create typed patch object (/addon-x; hive.openshift.io/v1, Kind=SelectorSyncSet): .spec.resourceApplyMod: field not declared in schema",
            "code": 500})
    );
    assert!(api.get("SelectorSyncSet", "", "addon-x").is_none());

    apply(&api, "addon-flow", false, &sss("Sync"));
    let patch = |validation: Option<&str>| {
        let mut query = vec![("fieldManager", "someone")];
        if let Some(validation) = validation {
            query.push(("fieldValidation", validation));
        }
        api.handle(&request(
            "PATCH",
            SSS,
            &query,
            "application/merge-patch+json",
            &json!({"spec": {"resourceApplyMod": "Upsert"}}),
        ))
    };
    let strict = patch(Some("Strict"));
    assert_eq!(
        (strict.status, body(&strict)["message"].clone()),
        (400, json!("SelectorSyncSet in version \"v1\" cannot be handled as a SelectorSyncSet: strict decoding error: unknown field \"spec.resourceApplyMod\""))
    );
    // Warn, the default: dropped, with a warning.
    let warned = patch(None);
    assert_eq!(warned.status, 200);
    assert!(warned.headers.contains(&(
        "Warning".into(),
        "299 - \"unknown field \\\"spec.resourceApplyMod\\\"\"".into()
    )));
    assert_eq!(
        body(&warned)["spec"],
        json!({"resourceApplyMode": "Sync", "clusterDeploymentSelector": {"matchLabels": {"a": "true"}}})
    );
    let ignored = patch(Some("Ignore"));
    assert_eq!(ignored.status, 200);
    assert!(!ignored.headers.iter().any(|(name, _)| name == "Warning"));
}

#[test]
fn openapi_v3_describes_the_served_kinds() {
    let api = KubeApi::new(KubeOptions::default());
    let root = body(&api.handle(&get("/openapi/v3")));
    let url = root["paths"]["apis/hive.openshift.io/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let (path, hash) = url.split_once('?').unwrap();
    let document = body(&api.handle(&request(
        "GET",
        path,
        &[("hash", hash.trim_start_matches("hash="))],
        "",
        &json!({}),
    )));
    assert_eq!(document["openapi"], "3.0.0");
    assert!(
        document["components"]["schemas"]["io.openshift.hive.v1.SelectorSyncSet"]["properties"]
            ["spec"]["properties"]["resourceApplyMode"]
            .is_object()
    );
    let core = api.handle(&get("/openapi/v3/api/v1"));
    assert!(body(&core)["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"].is_object());
    let unknown = api.handle(&get("/openapi/v3/apis/nope.io/v1"));
    assert_eq!(unknown.status, 404);
}

#[test]
fn auth_discovery_not_found_and_delete() {
    let api = KubeApi::new(KubeOptions::default());
    let mut anonymous = get("/apis");
    anonymous.headers.clear();
    let denied = api.handle(&anonymous);
    assert_eq!(
        (denied.status, body(&denied)["reason"].clone()),
        (401, json!("Unauthorized"))
    );
    let groups = body(&api.handle(&get("/apis")));
    assert!(groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "hive.openshift.io"));
    let resources = body(&api.handle(&get("/apis/hive.openshift.io/v1")));
    assert!(resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["kind"] == "SyncSet" && r["namespaced"] == true));
    // Short names as Hive's CRDs declare them, for `kubectl get sss`.
    let short_names = |kind: &str| {
        resources["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .unwrap()["shortNames"]
            .clone()
    };
    assert_eq!(short_names("SelectorSyncSet"), json!(["sss"]));
    assert_eq!(short_names("ClusterDeployment"), json!(["cd"]));
    let core = body(&api.handle(&get("/api/v1")));
    assert!(core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "namespaces" && r["shortNames"] == json!(["ns"])));
    let missing = api.handle(&get("/apis/nope.io/v1/things/x"));
    assert_eq!(missing.status, 404);
    let absent = api.handle(&get(SSS));
    assert_eq!(
        body(&absent)["message"],
        "selectorsyncsets.hive.openshift.io \"addon-x\" not found"
    );
    apply(&api, "addon-flow", false, &sss("Sync"));
    let deleted = api.handle(&delete(SSS));
    assert_eq!(
        (deleted.status, body(&deleted)["status"].clone()),
        (200, json!("Success"))
    );
    assert!(api.get("SelectorSyncSet", "", "addon-x").is_none());
}

#[test]
fn cluster_sync_reports_a_sync_set_after_the_delay() {
    let api = KubeApi::new(KubeOptions {
        sync_delay: Duration::ZERO,
        namespaces: vec!["cd-ns".into()],
        ..KubeOptions::default()
    });
    let sync_set = json!({"apiVersion": "hive.openshift.io/v1", "kind": "SyncSet",
        "metadata": {"name": "addon-x", "namespace": "cd-ns"},
        "spec": {"clusterDeploymentRefs": [{"name": "cd"}], "resources": []}});
    let response = api.handle(&apply_request(
        "/apis/hive.openshift.io/v1/namespaces/cd-ns/syncsets/addon-x",
        &[("fieldManager", "addon-flow"), ("dryRun", "All")],
        &sync_set,
    ));
    assert_eq!(response.status, 201);
    assert!(
        api.get("SyncSet", "cd-ns", "addon-x").is_none(),
        "dry run stored nothing"
    );
    api.apply_as("addon-flow", &sync_set, false).unwrap();
    let cluster_sync = body(&api.handle(&get(
        "/apis/hiveinternal.openshift.io/v1alpha1/namespaces/cd-ns/clustersyncs/cd",
    )));
    assert_eq!(cluster_sync["status"]["syncSets"][0]["name"], "addon-x");
    assert_eq!(
        cluster_sync["status"]["syncSets"][0]["observedGeneration"],
        1
    );
    assert_eq!(cluster_sync["status"]["syncSets"][0]["result"], "Success");
}

#[test]
fn merge_patch_sets_a_label() {
    let api = with_cluster_deployment(json!({}));
    let patched = api.handle(&merge_patch(
        CD,
        "addon-flow",
        &json!({"metadata": {"labels": {"api.openshift.com/addon-x": "true"}}}),
    ));
    assert_eq!(patched.status, 200);
    assert_eq!(
        body(&patched)["metadata"]["labels"],
        json!({"x": "1", "api.openshift.com/addon-x": "true"})
    );
}

#[test]
fn namespaced_objects_need_their_namespace() {
    let api = KubeApi::new(KubeOptions::default());
    let namespaces = body(&api.handle(&get("/api/v1/namespaces")));
    let names: Vec<&str> = namespaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ns| ns["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "deadmanssnitch-operator",
            "default",
            "hive",
            "kube-public",
            "kube-system",
            "openshift-config",
            "pagerduty-operator"
        ]
    );
    assert_eq!(namespaces["items"][1]["status"]["phase"], "Active");
    assert_eq!(
        namespaces["items"][1]["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "default"
    );

    // NamespaceLifecycle admission: 404 for the namespace, not the object.
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "cd-east"}, "data": {"k": "v"}});
    let path = "/api/v1/namespaces/cd-east/configmaps/c";
    let apply_config_map = |dry_run: bool| {
        let mut query = vec![("fieldManager", "addon-flow")];
        if dry_run {
            query.push(("dryRun", "All"));
        }
        api.handle(&apply_request(path, &query, &config_map))
    };
    for dry_run in [true, false] {
        let refused = apply_config_map(dry_run);
        assert_eq!(refused.status, 404);
        assert_eq!(
            body(&refused),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "namespaces \"cd-east\" not found", "reason": "NotFound",
                "details": {"name": "cd-east", "kind": "namespaces"}, "code": 404})
        );
    }
    let namespace =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cd-east"}});
    api.apply_as("addon-flow", &namespace, false).unwrap();
    assert_eq!(apply_config_map(false).status, 201);

    // Deleting the namespace deletes what lives in it.
    let deleted = api.handle(&delete("/api/v1/namespaces/cd-east"));
    assert_eq!(deleted.status, 200);
    assert!(api.get("ConfigMap", "cd-east", "c").is_none());
    assert!(api.get("Namespace", "", "cd-east").is_none());

    let immortal = api.handle(&delete("/api/v1/namespaces/default"));
    assert_eq!(immortal.status, 403);
    assert_eq!(
        body(&immortal)["message"],
        "namespaces \"default\" is forbidden: this namespace may not be deleted"
    );
    assert!(api.get("Namespace", "", "default").is_some());
}

#[test]
fn lists_select_by_label() {
    let api = KubeApi::new(KubeOptions::default());
    for (name, labels) in [
        (
            "member-a",
            json!({"applyset.kubernetes.io/part-of": "applyset-1", "tier": "a"}),
        ),
        (
            "member-b",
            json!({"applyset.kubernetes.io/part-of": "applyset-1", "tier": "b"}),
        ),
        (
            "other",
            json!({"applyset.kubernetes.io/part-of": "applyset-2"}),
        ),
        ("unlabelled", json!({})),
    ] {
        let object = json!({"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet",
            "metadata": {"name": name, "labels": labels}, "spec": {}});
        api.apply_as("addon-flow", &object, false).unwrap();
    }
    let names = |selector: &str| -> Vec<String> {
        let response = api.handle(&request(
            "GET",
            "/apis/hive.openshift.io/v1/selectorsyncsets",
            &[("labelSelector", selector)],
            "",
            &json!({}),
        ));
        assert_eq!(response.status, 200, "{selector}");
        body(&response)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names("applyset.kubernetes.io/part-of=applyset-1"),
        ["member-a", "member-b"]
    );
    assert_eq!(
        names("applyset.kubernetes.io/part-of=applyset-1,tier!=a"),
        ["member-b"]
    );
    assert_eq!(names("!applyset.kubernetes.io/part-of"), ["unlabelled"]);
    assert_eq!(
        names("applyset.kubernetes.io/part-of notin (applyset-1)"),
        ["other", "unlabelled"]
    );
    assert_eq!(names("").len(), 4);
    let malformed = api.handle(&request(
        "GET",
        "/apis/hive.openshift.io/v1/selectorsyncsets",
        &[("labelSelector", "tier in a")],
        "",
        &json!({}),
    ));
    assert_eq!(
        (malformed.status, body(&malformed)["reason"].clone()),
        (400, json!("BadRequest"))
    );
    assert_eq!(
        body(&malformed)["message"],
        "unable to parse requirement: found 'a' expected: '('"
    );
}

#[test]
fn formats_timestamps() {
    assert_eq!(
        rfc3339(UNIX_EPOCH + Duration::from_secs(1_719_915_072)),
        "2024-07-02T10:11:12Z"
    );
}
