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
//! a collection's answer carries its `kind`; and the model's free-form values (`[String]Interface`, such as a
//! requirement's `data`) appear as `additionalProperties: {type: object}`,
//! which holds any value.
//!
//! Our own fixtures cover the same rule without the reference: the payload
//! builder's unit tests per service in `common::remote::ocm`.

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

    /// What is wrong with an answer of `method` on `path`: its body against
    /// the operation's 200 (or 201) response schema.
    fn check_response(&self, method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
        let path = path.split('?').next().unwrap_or_default();
        let Some(operation) = self.operation(method, path) else {
            return vec![format!("{} has no {method} {path}", self.name)];
        };
        let pointer = format!("/responses/{status}/content/application~1json/schema");
        let Some(schema) = operation.pointer(&pointer) else {
            return vec![format!("{method} {path} answers no body with {status}")];
        };
        let mut problems = Vec::new();
        self.check(schema, body, "answer", &mut problems);
        problems
            .into_iter()
            .map(|problem| format!("{method} {path} -> {status}: {problem}"))
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
                // A collection's answer carries its `kind` (and may carry
                // `href`), which the OpenAPI text leaves out (its README).
                let collection =
                    properties.get("items").is_some() && properties.get("total").is_some();
                for (key, field) in object {
                    if collection && (key == "kind" || key == "href") {
                        continue;
                    }
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
    /// OCM's published OpenAPI from `../shared/reference` (see
    /// [`require_reference`]: None, with a note, when it is not there).
    fn required() -> Option<Apis> {
        require_reference("OCM's OpenAPI").map(|reference| Apis::load(&reference))
    }

    fn load(reference: &Path) -> Apis {
        Apis {
            clusters: Api::load(reference, "clusters_mgmt"),
            addons: Api::load(reference, "addons_mgmt"),
        }
    }

    fn of(&self, path: &str) -> &Api {
        if self.addons.serves(path) {
            &self.addons
        } else {
            &self.clusters
        }
    }

    fn check_request(&self, method: &str, path: &str, body: &Value) -> Vec<String> {
        self.of(path).check_request(method, path, body)
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
    let Some(apis) = Apis::required() else {
        return;
    };
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

/// A fake OCM and a HOME for the tools that talk to it.
fn fake_ocm_and_home() -> (FakeOcm, tempfile::TempDir) {
    (FakeOcm::start().unwrap(), tempfile::tempdir().unwrap())
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
    let Some(apis) = Apis::required() else {
        return;
    };
    let (ocm, home) = fake_ocm_and_home();
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
    e2e::replace_in(&image_set, "How big.", "How big it is.");
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

// ------------------------------------------------- the fake OCM's conformance

/// The lists of linked objects in the model (`link Parameters [...]` in
/// `model/clusters_mgmt/v1/add_on_type.model`, `add_on_version_type.model`,
/// `add_on_installation_type.model`, and addons_mgmt's `addon_type.model`,
/// `addon_installation_type.model`): on the wire `{"items": [...]}`, which
/// the OpenAPI text shows as a plain array. (addons_mgmt's version has an
/// `AddonParameters` object already.)
const LINK_LISTS: [(&str, &str); 5] = [
    ("AddOn", "parameters"),
    ("AddOnVersion", "parameters"),
    ("AddOnInstallation", "parameters"),
    ("Addon", "parameters"),
    ("AddonInstallation", "parameters"),
];

/// A body with every field the OpenAPI gives `schema`, `depth` objects deep,
/// each of its type (the first value of an enum).
fn sample(api: &Api, schema: &Value, depth: usize) -> Option<Value> {
    let name = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next());
    let schema = api.resolve(schema);
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return Some(first.clone());
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") if schema.get("format") == Some(&json!("date-time")) => {
            Some(json!("2024-07-02T10:00:00Z"))
        }
        Some("string") => Some(json!("text")),
        Some("boolean") => Some(json!(true)),
        Some("integer") => Some(json!(3)),
        Some("number") => Some(json!(1.5)),
        Some("array") => Some(Value::Array(
            sample(api, &schema["items"], depth).into_iter().collect(),
        )),
        _ if schema.get("properties").is_some() => {
            if depth == 0 {
                return None;
            }
            let mut object = serde_json::Map::new();
            for (field, property) in schema["properties"].as_object().unwrap() {
                let Some(mut value) = sample(api, property, depth - 1) else {
                    continue;
                };
                if LINK_LISTS.contains(&(name.unwrap_or_default(), field.as_str())) {
                    value = json!({ "items": value });
                }
                object.insert(field.clone(), value);
            }
            Some(Value::Object(object))
        }
        _ => Some(match schema.get("additionalProperties") {
            Some(values) if values != &json!({"type": "object"}) => {
                json!({ "key": sample(api, values, depth).unwrap_or(json!("text")) })
            }
            _ => json!({"key": {"any": ["value", 1]}}),
        }),
    }
}

/// The fields of `sample` that `read` lacks, at every depth.
fn dropped(sample: &Value, read: &Value, at: &str, found: &mut Vec<String>) {
    match (sample, read) {
        (Value::Object(sample), Value::Object(read)) => {
            for (key, value) in sample {
                match read.get(key) {
                    Some(kept) => dropped(value, kept, &format!("{at}.{key}"), found),
                    None => found.push(format!("{at}.{key}")),
                }
            }
        }
        (Value::Array(sample), Value::Array(read)) => {
            for (index, (a, b)) in sample.iter().zip(read).enumerate() {
                dropped(a, b, &format!("{at}[{index}]"), found);
            }
        }
        _ => {}
    }
}

/// Our transcription of the model (`common::remote::ocm::model`, which fake OCM
/// reads every body through, and with which ocm-post decides what OCM keeps)
/// against the published one: a body with every field of the OpenAPI
/// schema reads without a type error, and nothing of it is dropped.
#[test]
fn our_transcription_of_the_model_keeps_every_field_of_the_published_one() {
    use common::remote::ocm::model::{read, Object};
    use common::remote::ocm::Service;
    let Some(apis) = Apis::required() else {
        return;
    };
    let objects = [
        (
            &apis.clusters,
            Service::ClustersMgmt,
            "AddOn",
            Object::AddOn,
        ),
        (
            &apis.clusters,
            Service::ClustersMgmt,
            "AddOnVersion",
            Object::Version,
        ),
        (
            &apis.clusters,
            Service::ClustersMgmt,
            "AddOnInstallation",
            Object::Installation,
        ),
        (&apis.addons, Service::AddonsMgmt, "Addon", Object::AddOn),
        (
            &apis.addons,
            Service::AddonsMgmt,
            "AddonVersion",
            Object::Version,
        ),
        (
            &apis.addons,
            Service::AddonsMgmt,
            "AddonInstallation",
            Object::Installation,
        ),
    ];
    for (api, service, name, object) in objects {
        let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
        let body = sample(api, &schema, 4).unwrap();
        let kept = read(service, object, &body).unwrap_or_else(|err| {
            panic!("{name}: the model refuses the published types: {err}\n{body:#}")
        });
        let mut lost = Vec::new();
        dropped(&body, &kept, name, &mut lost);
        assert!(
            lost.is_empty(),
            "{name}: our model drops published fields: {lost:?}"
        );
        // And what it writes back is the published model too.
        let mut problems = Vec::new();
        api.check(&schema, &kept, name, &mut problems);
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }
}

/// GET `path` from fake OCM with its static token: (status, body).
fn get(ocm: &FakeOcm, path: &str) -> (u16, Value) {
    use common::remote::http::{Client, Request, Secret, TlsOptions};
    let client = Client::new(&ocm.url(), &TlsOptions::default())
        .unwrap()
        .with_token(Some(Secret::new(addon_flow_testservers::ocm::ACCESS_TOKEN)));
    let response = client.send(&Request::new("GET", path)).unwrap();
    let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status, body)
}

/// fake OCM answers with objects as the published model writes them: no
/// field the model lacks, the types and enums of the model, the list
/// envelopes of the API.
#[test]
fn fake_ocm_answers_what_the_published_model_defines() {
    let Some(apis) = Apis::required() else {
        return;
    };
    let (ocm, home) = fake_ocm_and_home();
    let addon_yaml = fixture("addons/my-addon/metadata/stage/addon.yaml");
    for service in ["clusters", "addons"] {
        e2e::servers::ocm_post(home.path(), &ocm)
            .args(["--service", service])
            .arg(&addon_yaml)
            .run()
            .success();
    }
    e2e::servers::ocm_post(home.path(), &ocm)
        .args(["--install", "c1", "--param", "size=2"])
        .arg(&addon_yaml)
        .run()
        .success();
    let paths = [
        "/api/clusters_mgmt/v1/addons/my-addon",
        "/api/clusters_mgmt/v1/addons?page=1&size=100",
        "/api/clusters_mgmt/v1/addons/my-addon/versions/1.2.0",
        "/api/clusters_mgmt/v1/addons/my-addon/versions",
        "/api/clusters_mgmt/v1/clusters/c1/addons/my-addon",
        "/api/clusters_mgmt/v1/clusters/c1/addons",
        "/api/clusters_mgmt/v1/clusters/c1/addon_inquiries/my-addon",
        "/api/addons_mgmt/v1/addons/my-addon",
        "/api/addons_mgmt/v1/addons/my-addon/versions/1.2.0",
    ];
    let mut problems = Vec::new();
    for path in paths {
        let (status, body) = get(&ocm, path);
        assert_eq!(status, 200, "GET {path}: {body}");
        problems.extend(apis.of(path).check_response("GET", path, status, &body));
    }
    assert!(
        problems.is_empty(),
        "fake OCM answers what the model does not define:\n{}",
        problems.join("\n")
    );
    // The SDK writes `kind`, `href` and `id` on every object of a class.
    let (_, addon) = get(&ocm, paths[0]);
    assert_eq!(addon["kind"], "AddOn");
    assert_eq!(addon["href"], paths[0]);
    assert_eq!(addon["id"], "my-addon");
    assert_eq!(addon["config"]["kind"], "AddOnConfig");
}
