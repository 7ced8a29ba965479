//! Every request ocm-post can send, checked against OCM's published API
//! description (`../shared/reference/ocm-api`: the OpenAPI of clusters_mgmt
//! and of addons_mgmt, generated from OCM's API model): the method and path
//! exist, and the body has no field the target service's model lacks, the
//! right types and the model's enums. OCM's generated server ignores a field
//! it does not know, so a misnamed field is not an error there: it is data
//! that silently never arrives (clusters_mgmt has `secret_propagations`, not
//! addons_mgmt's `add_on_secret_propagations`).
//!
//! The wire details the OpenAPI text leaves out (its README): a list may
//! travel as `{"items": [...]}` (with `kind`/`href`), as the SDK writes it;
//! and the model's free-form values (`[String]Interface`, such as a
//! requirement's `data`) appear as `additionalProperties: {type: object}`,
//! which holds any value.
//!
//! Our own fixtures cover the same rule without the reference: the payload
//! builder's unit tests per service in `common::ocm`.

use std::path::{Path, PathBuf};

use addon_flow_testservers::ocm::FakeOcm;
use e2e::{repo_root, require_reference, RunExt};
use serde_json::{json, Value};

/// One service's OpenAPI description.
struct Api {
    name: &'static str,
    doc: Value,
}

impl Api {
    fn load(reference: &Path, name: &'static str) -> Api {
        let path = reference.join("ocm-api").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        Api {
            name,
            doc: serde_json::from_str(&text).unwrap(),
        }
    }

    /// The service whose paths `path` is under.
    fn serves(&self, path: &str) -> bool {
        path.starts_with(&format!("/api/{}/", self.name))
    }

    /// What is wrong with one request: its method on its path, and its body
    /// against the operation's request body schema.
    fn check_request(&self, method: &str, path: &str, body: &Value) -> Vec<String> {
        let path = path.split('?').next().unwrap_or_default();
        let Some(operation) = self.operation(method, path) else {
            return vec![format!("{} has no {method} {path}", self.name)];
        };
        let schema = operation.pointer("/requestBody/content/application~1json/schema");
        let mut problems = Vec::new();
        match (schema, body) {
            (None, Value::Null) => {}
            (None, _) => problems.push(format!("{method} {path} takes no body")),
            (Some(_), Value::Null) => problems.push(format!("{method} {path} needs a body")),
            (Some(schema), body) => self.check(schema, body, "body", &mut problems),
        }
        problems
            .into_iter()
            .map(|problem| format!("{method} {path}: {problem}"))
            .collect()
    }

    /// The operation of the path template that `path` fills.
    fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let paths = self.doc["paths"].as_object()?;
        paths.iter().find_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            let fits = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment);
            fits.then(|| item.get(method.to_ascii_lowercase()))
                .flatten()
        })
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap_or_default();
                &self.doc["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    /// `value` against `schema`: unknown fields, types, enums.
    fn check(&self, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                problems.push(format!(
                    "{at}: {value} is not one of {}",
                    Value::from(allowed.clone())
                ));
            }
        }
        let kind = schema.get("type").and_then(Value::as_str);
        match kind {
            Some("array") => {
                // A list may travel wrapped, as the SDK writes it.
                let items = match value {
                    Value::Object(wrapped) if wrapped.contains_key("items") => {
                        for key in wrapped.keys() {
                            if !["items", "kind", "href"].contains(&key.as_str()) {
                                problems.push(format!("{at}.{key}: unknown field of a list"));
                            }
                        }
                        &wrapped["items"]
                    }
                    other => other,
                };
                match items.as_array() {
                    Some(items) => {
                        for (index, item) in items.iter().enumerate() {
                            self.check(&schema["items"], item, &format!("{at}[{index}]"), problems);
                        }
                    }
                    None => problems.push(format!("{at}: expected a list, found {value}")),
                }
            }
            Some("object") | None if schema.get("properties").is_some() => {
                let Some(object) = value.as_object() else {
                    return problems.push(format!("{at}: expected an object, found {value}"));
                };
                let properties = &schema["properties"];
                for (key, field) in object {
                    match properties.get(key) {
                        Some(property) => {
                            self.check(property, field, &format!("{at}.{key}"), problems)
                        }
                        None => problems.push(format!(
                            "{at}.{key}: unknown field (the model's fields are {})",
                            properties
                                .as_object()
                                .map(|p| p.keys().cloned().collect::<Vec<_>>().join(", "))
                                .unwrap_or_default()
                        )),
                    }
                }
            }
            Some("object") => {
                let Some(object) = value.as_object() else {
                    return problems.push(format!("{at}: expected an object, found {value}"));
                };
                let values = schema.get("additionalProperties");
                // `[String]Interface` in the model: any value.
                let free_form = values.is_some_and(|v| v == &json!({"type": "object"}));
                if let Some(values) = values.filter(|_| !free_form) {
                    for (key, field) in object {
                        self.check(values, field, &format!("{at}.{key}"), problems);
                    }
                }
            }
            Some("string") if !value.is_string() => {
                problems.push(format!("{at}: expected a string, found {value}"))
            }
            Some("boolean") if !value.is_boolean() => {
                problems.push(format!("{at}: expected a boolean, found {value}"))
            }
            Some("integer") if !(value.is_i64() || value.is_u64()) => {
                problems.push(format!("{at}: expected an integer, found {value}"))
            }
            Some("number") if !value.is_number() => {
                problems.push(format!("{at}: expected a number, found {value}"))
            }
            _ => {}
        }
    }
}

/// Both services' descriptions.
struct Apis {
    clusters: Api,
    addons: Api,
}

impl Apis {
    fn load(reference: &Path) -> Apis {
        Apis {
            clusters: Api::load(reference, "clusters_mgmt"),
            addons: Api::load(reference, "addons_mgmt"),
        }
    }

    fn check_request(&self, method: &str, path: &str, body: &Value) -> Vec<String> {
        let api = if self.addons.serves(path) {
            &self.addons
        } else {
            &self.clusters
        };
        api.check_request(method, path, body)
    }
}

/// The requests `ocm-post --dry-run --service SERVICE` plans for `input`:
/// (method, path, body); and, for each POST, the PATCH that updates the
/// object when it exists (the body without `id`, on `collection/id`).
fn planned_with_updates(input: &Path, service: &str) -> Vec<(String, String, Value)> {
    let home = tempfile::tempdir().unwrap();
    let planned = e2e::servers::without_ocm_credentials("ocm-post", home.path())
        .args([
            "--dry-run",
            "-o",
            "json",
            "--url",
            "https://api.example.com",
        ])
        .args(["--service", service])
        .arg(input)
        .run()
        .success()
        .json();
    let mut requests = Vec::new();
    for request in planned.as_array().unwrap() {
        let path = request["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("https://api.example.com")
            .to_string();
        let body = request["body"].clone();
        if let Some(id) = body["id"].as_str() {
            let mut update = body.clone();
            update.as_object_mut().unwrap().remove("id");
            requests.push(("PATCH".to_string(), format!("{path}/{id}"), update));
        }
        requests.push((request["method"].as_str().unwrap().to_string(), path, body));
    }
    requests
}

fn assert_conforms(apis: &Apis, what: &str, requests: &[(String, String, Value)]) {
    let problems: Vec<String> = requests
        .iter()
        .flat_map(|(method, path, body)| apis.check_request(method, path, body))
        .collect();
    assert!(
        problems.is_empty(),
        "{what}: requests that OCM's model does not define:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_finds_unknown_fields_wrong_types_and_enums() {
    let Some(reference) = require_reference("OCM's OpenAPI") else {
        return;
    };
    let apis = Apis::load(&reference);
    let problems = |path: &str, body: Value| apis.check_request("PATCH", path, &body);
    let addon = "/api/clusters_mgmt/v1/addons/a";
    assert!(problems(
        addon,
        json!({"enabled": false, "parameters": {"items": []}})
    )
    .is_empty());
    let unknown = problems(addon, json!({"config": {"add_on_secret_propagations": []}}));
    assert!(
        unknown[0].contains("body.config.add_on_secret_propagations: unknown field"),
        "{unknown:?}"
    );
    assert!(!problems(addon, json!({"enabled": "yes"})).is_empty());
    assert!(!problems(addon, json!({"install_mode": "everywhere"})).is_empty());
    assert!(!problems(
        addon,
        json!({"parameters": {"items": [{"id": "a", "order": 1}]}})
    )
    .is_empty());
    assert!(!problems(addon, json!({"namespaces": "redhat-a"})).is_empty());
    assert!(
        problems(
            "/api/addons_mgmt/v1/addons/a",
            json!({"config": {"add_on_secret_propagations": []}, "parameters": {"items": [{"id": "a", "order": 1}]}})
        )
        .is_empty(),
        "addons_mgmt has both"
    );
    assert!(!apis.check_request("PUT", addon, &json!({})).is_empty());
    assert!(!apis
        .check_request("GET", "/api/clusters_mgmt/v1/nowhere", &Value::Null)
        .is_empty());
}

#[test]
fn every_golden_payload_fits_the_model_of_the_service_it_is_sent_to() {
    let Some(reference) = require_reference("OCM's OpenAPI and mtcli's golden cases") else {
        return;
    };
    let apis = Apis::load(&reference);
    let work = tempfile::tempdir().unwrap();
    for (case, addon_yaml) in crate::ocm_post::golden_cases(&reference, work.path()) {
        for service in ["clusters", "addons"] {
            let requests = planned_with_updates(&addon_yaml, service);
            assert!(requests.len() >= 2, "{case}: {requests:?}");
            assert_conforms(&apis, &format!("{case} ({service})"), &requests);
        }
    }
}

fn fixture(path: &str) -> PathBuf {
    repo_root().join("tests/fixtures/ocm").join(path)
}

/// Every request of a run against fake OCM: (method, path, body).
fn sent(ocm: &FakeOcm) -> Vec<(String, String, Value)> {
    ocm.requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.body))
        .collect()
}

#[test]
fn every_request_of_publishing_installing_and_removing_fits_the_model() {
    let Some(reference) = require_reference("OCM's OpenAPI") else {
        return;
    };
    let apis = Apis::load(&reference);
    let ocm = FakeOcm::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let post = |args: &[&str]| {
        e2e::servers::ocm_post(home.path(), &ocm)
            .args(args)
            .run()
            .success()
    };
    let addon_yaml = fixture("addons/my-addon/metadata/stage/addon.yaml");
    // The same add-on whose image set changed: its version is PATCHed.
    let tree = home.path().join("my-addon");
    e2e::copy_tree(&fixture("addons/my-addon"), &tree);
    let image_set = tree.join("addonimagesets/stage/my-addon.v1.2.0.yml");
    let text = std::fs::read_to_string(&image_set).unwrap();
    std::fs::write(&image_set, text.replace("How big.", "How big it is.")).unwrap();
    let changed_version = tree.join("metadata/stage/addon.yaml");
    let plain = fixture("plain-addon.json");
    let changed = home.path().join("changed.json");
    let mut document =
        serde_json::from_str::<Value>(&std::fs::read_to_string(&plain).unwrap()).unwrap();
    document["description"] = json!("changed");
    document["addOnParameters"][0]["name"] = json!("Renamed");
    std::fs::write(&changed, document.to_string()).unwrap();
    for service in ["clusters", "addons"] {
        let service = ["--service", service];
        // Created, then updated (PATCH without id), add-on and version.
        post(&[&service[..], &[addon_yaml.to_str().unwrap()]].concat());
        post(&[&service[..], &[changed_version.to_str().unwrap()]].concat());
        post(&[&service[..], &[plain.to_str().unwrap()]].concat());
        post(&[&service[..], &[changed.to_str().unwrap()]].concat());
        post(&[&service[..], &["--id", "plain-addon", "--disable"]].concat());
        post(&[&service[..], &["--id", "plain-addon", "--enable"]].concat());
        post(&[&service[..], &["--id", "plain-addon", "--show"]].concat());
    }
    // The cluster side: install, install again with other values (PATCH),
    // read, inquire, uninstall; then delete.
    let plain = plain.to_str().unwrap();
    post(&["--install", "c1", "--param", "a=one", plain]);
    post(&["--install", "c1", "--param", "a=two", plain]);
    post(&["--id", "plain-addon", "--installation", "c1"]);
    post(&["--id", "plain-addon", "--inquire", "c1"]);
    post(&["--id", "plain-addon", "--uninstall", "c1"]);
    post(&["--id", "plain-addon", "--delete"]);
    let requests = sent(&ocm);
    let methods: std::collections::BTreeSet<&str> = requests
        .iter()
        .map(|(method, _, _)| method.as_str())
        .collect();
    assert_eq!(
        methods.into_iter().collect::<Vec<_>>(),
        ["DELETE", "GET", "PATCH", "POST"],
        "every kind of request was sent"
    );
    assert!(requests
        .iter()
        .any(|(m, p, _)| m == "PATCH" && p.contains("/versions/")));
    assert!(requests
        .iter()
        .any(|(m, p, _)| m == "PATCH" && p.contains("/clusters/c1/addons/")));
    assert_conforms(&apis, "a run against fake OCM", &requests);
}
