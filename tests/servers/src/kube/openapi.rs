//! The schemas of the kinds fake-hive serves, published as OpenAPI v3
//! (`/openapi/v3`, then one document per group-version, as kubectl 1.27+
//! reads them) and used to find the fields a write sends that the kind does
//! not declare.
//!
//! The schemas are our own transcription of what the kinds declare: the
//! built-in kinds' fields from the Kubernetes API reference, SyncSet and
//! SelectorSyncSet from Hive's CRDs (openshift/hive `config/crds`). Where we
//! did not transcribe a kind's fields (ClusterDeployment's spec is hundreds
//! of fields; the OSD operators' CRDs were not at hand; kinds a test
//! installs), `spec` and `status` keep unknown fields, so nothing there is
//! checked.
//!
//! Each PATCH operation lists the `fieldValidation` parameter, as a real
//! 1.27+ server's does: kubectl then sends `fieldValidation=Strict` and
//! leaves the checking to the server instead of validating on its side.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Map, Value};

use super::ResourceType;

fn string() -> Value {
    json!({"type": "string"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn integer() -> Value {
    json!({"type": "integer", "format": "int64"})
}

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

fn object(properties: &[(&str, Value)]) -> Value {
    let properties: Map<String, Value> = properties
        .iter()
        .map(|(name, schema)| (name.to_string(), schema.clone()))
        .collect();
    json!({"type": "object", "properties": properties})
}

/// An object whose fields are not checked (nor pruned).
fn open_object() -> Value {
    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// An entry that names an object by `apiVersion`, `kind` and `name` (an
/// owner reference, a SyncSet's patch), with its own `fields` besides.
fn reference_to_an_object(fields: &[(&str, Value)]) -> Value {
    let mut properties = vec![
        ("apiVersion", string()),
        ("kind", string()),
        ("name", string()),
    ];
    properties.extend(fields.iter().cloned());
    object(&properties)
}

/// `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`.
fn object_meta() -> Value {
    object(&[
        ("name", string()),
        ("generateName", string()),
        ("namespace", string()),
        ("selfLink", string()),
        ("uid", string()),
        ("resourceVersion", string()),
        ("generation", integer()),
        ("creationTimestamp", string()),
        ("deletionTimestamp", string()),
        ("deletionGracePeriodSeconds", integer()),
        ("labels", string_map()),
        ("annotations", string_map()),
        (
            "ownerReferences",
            array(reference_to_an_object(&[
                ("uid", string()),
                ("controller", boolean()),
                ("blockOwnerDeletion", boolean()),
            ])),
        ),
        ("finalizers", array(string())),
        ("managedFields", array(open_object())),
    ])
}

fn label_selector() -> Value {
    object(&[
        ("matchLabels", string_map()),
        (
            "matchExpressions",
            array(object(&[
                ("key", string()),
                ("operator", string()),
                ("values", array(string())),
            ])),
        ),
    ])
}

fn secret_reference() -> Value {
    object(&[("name", string()), ("namespace", string())])
}

/// Hive's `SyncSetCommonSpec`, shared by SyncSet and SelectorSyncSet.
fn sync_set_common() -> Vec<(&'static str, Value)> {
    vec![
        ("applyBehavior", string()),
        ("enableResourceTemplates", boolean()),
        (
            "patches",
            array(reference_to_an_object(&[
                ("namespace", string()),
                ("patch", string()),
                ("patchType", string()),
            ])),
        ),
        ("resourceApplyMode", string()),
        // Whole objects for the target cluster: kept as they are.
        ("resources", array(open_object())),
        (
            "secretMappings",
            array(object(&[
                ("sourceRef", secret_reference()),
                ("targetRef", secret_reference()),
            ])),
        ),
    ]
}

/// The top-level fields of a kind besides apiVersion, kind and metadata.
fn kind_fields(rt: &ResourceType) -> Vec<(&'static str, Value)> {
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Namespace") => vec![
            ("spec", object(&[("finalizers", array(string()))])),
            (
                "status",
                object(&[("phase", string()), ("conditions", array(open_object()))]),
            ),
        ],
        ("", "ConfigMap") => vec![
            ("data", string_map()),
            ("binaryData", string_map()),
            ("immutable", boolean()),
        ],
        ("", "Secret") => vec![
            ("data", string_map()),
            ("stringData", string_map()),
            ("type", string()),
            ("immutable", boolean()),
        ],
        ("hive.openshift.io", "SyncSet") => {
            let mut spec = sync_set_common();
            spec.push((
                "clusterDeploymentRefs",
                array(object(&[("name", string())])),
            ));
            vec![
                ("spec", object(&spec)),
                ("status", json!({"type": "object"})),
            ]
        }
        ("hive.openshift.io", "SelectorSyncSet") => {
            let mut spec = sync_set_common();
            spec.push(("clusterDeploymentSelector", label_selector()));
            vec![
                ("spec", object(&spec)),
                ("status", json!({"type": "object"})),
            ]
        }
        _ => vec![("spec", open_object()), ("status", open_object())],
    }
}

/// The schema of a kind's objects.
pub fn schema(rt: &ResourceType) -> Value {
    let mut fields = vec![
        ("apiVersion", string()),
        ("kind", string()),
        ("metadata", object_meta()),
    ];
    fields.extend(kind_fields(rt));
    let mut schema = object(&fields);
    schema["x-kubernetes-group-version-kind"] =
        json!([{"group": rt.group, "version": rt.version, "kind": rt.kind}]);
    schema
}

/// [`schema`], built once per kind and process: every write checks its body
/// against its kind's schema, and building it took a third of the server's
/// time per request.
pub fn cached_schema(rt: &ResourceType) -> Arc<Value> {
    type Schemas = Mutex<HashMap<(String, String, String), Arc<Value>>>;
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    let key = (rt.group.clone(), rt.version.clone(), rt.kind.clone());
    let mut schemas = SCHEMAS
        .get_or_init(Schemas::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    Arc::clone(schemas.entry(key).or_insert_with(|| Arc::new(schema(rt))))
}

/// The name of a kind's schema in `components.schemas`: Kubernetes' Go
/// package for the built-in kinds, the reversed group for custom ones
/// (`io.openshift.hive.v1.SyncSet`), as real servers name them.
pub fn schema_name(rt: &ResourceType) -> String {
    if rt.group.is_empty() {
        format!("io.k8s.api.core.{}.{}", rt.version, rt.kind)
    } else {
        let reversed: Vec<&str> = rt.group.split('.').rev().collect();
        format!("{}.{}.{}", reversed.join("."), rt.version, rt.kind)
    }
}

/// `api/v1` or `apis/<group>/<version>`: how `/openapi/v3` names a
/// group-version.
pub fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: where each group-version's document is.
pub fn root(types: &[ResourceType]) -> Value {
    let mut paths = Map::new();
    for rt in types {
        let path = group_version_path(&rt.group, &rt.version);
        let document = group_version_document(types, &rt.group, &rt.version);
        // The hash tells a client's cache when a document changed.
        let hash = format!("{:016x}", fnv1a(document.to_string().as_bytes()));
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x100000001b3)
    })
}

fn query(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

/// The OpenAPI v3 document of one group-version: a path per collection and
/// object of each kind, and the kinds' schemas.
pub fn group_version_document(types: &[ResourceType], group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for rt in types
        .iter()
        .filter(|rt| rt.group == group && rt.version == version)
    {
        let name = schema_name(rt);
        let reference = json!({"$ref": format!("#/components/schemas/{name}")});
        let gvk = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
        let body = json!({"content": {"application/json": {"schema": reference}}});
        let answer = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}});
        let operation = |action: &str, parameters: Vec<Value>, with_body: bool| {
            let mut op = json!({"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
                "parameters": parameters, "responses": answer});
            if with_body {
                op["requestBody"] = body.clone();
            }
            op
        };
        let writes = || {
            vec![
                query("dryRun"),
                query("fieldManager"),
                query("fieldValidation"),
            ]
        };
        let mut patch_parameters = writes();
        patch_parameters.push(query("force"));
        let base = format!("/{}", group_version_path(group, version));
        let scope = if rt.namespaced {
            "/namespaces/{namespace}"
        } else {
            ""
        };
        let collection = format!("{base}{scope}/{}", rt.plural);
        paths.insert(
            collection.clone(),
            json!({
                "get": operation("list", vec![query("labelSelector")], false),
                "post": operation("post", writes(), true),
            }),
        );
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({
                "get": operation("get", vec![], false),
                "put": operation("put", writes(), true),
                "patch": operation("patch", patch_parameters, true),
                "delete": operation("delete", vec![query("dryRun")], false),
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
            }),
        );
        schemas.insert(name, schema(rt));
    }
    json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.29.0"},
        "paths": paths, "components": {"schemas": schemas}})
}

/// One step of a field path: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    Index(usize),
}

/// The fields of `value` its schema does not declare, in document order.
pub fn undeclared_fields(schema: &Value, value: &Value) -> Vec<Vec<Step>> {
    fn walk(schema: &Value, value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        if schema["x-kubernetes-preserve-unknown-fields"] == true {
            return;
        }
        match value {
            Value::Object(map) => {
                let properties = schema["properties"].as_object();
                let additional = schema.get("additionalProperties");
                for (key, child) in map {
                    path.push(Step::Field(key.clone()));
                    match (properties.and_then(|p| p.get(key)), additional) {
                        (Some(declared), _) => walk(declared, child, path, out),
                        (None, Some(each)) => walk(each, child, path, out),
                        (None, None) => out.push(path.clone()),
                    }
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk(&schema["items"], item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(schema, value, &mut Vec::new(), &mut out);
    out
}

/// Removes the fields at `paths` (last first, so list indexes hold).
pub fn prune(value: &mut Value, paths: &[Vec<Step>]) {
    fn remove(value: &mut Value, path: &[Step]) {
        match path {
            [Step::Field(key)] => {
                if let Some(map) = value.as_object_mut() {
                    map.remove(key);
                }
            }
            [Step::Field(key), rest @ ..] => {
                if let Some(child) = value.get_mut(key.as_str()) {
                    remove(child, rest);
                }
            }
            [Step::Index(i), rest @ ..] => {
                if let Some(child) = value.get_mut(*i) {
                    remove(child, rest);
                }
            }
            [] => {}
        }
    }
    for path in paths.iter().rev() {
        remove(value, path);
    }
}

/// `.spec.foo` and `.spec.patches[0].foo`, as structured-merge-diff prints
/// a path.
pub fn dotted(path: &[Step]) -> String {
    path.iter()
        .map(|step| match step {
            Step::Field(key) => format!(".{key}"),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync_set() -> ResourceType {
        ResourceType::new("hive.openshift.io/v1", "SyncSet", "syncsets", true)
    }

    #[test]
    fn declared_fields_pass_and_undeclared_ones_are_found() {
        let schema = schema(&sync_set());
        let object = json!({"apiVersion": "hive.openshift.io/v1", "kind": "SyncSet",
            "metadata": {"name": "s", "namespace": "n", "labels": {"a": "b"}},
            "spec": {"clusterDeploymentRefs": [{"name": "cd"}], "resourceApplyMode": "Sync",
                "resources": [{"apiVersion": "v1", "kind": "Namespace", "anything": {"goes": 1}}],
                "patches": [{"apiVersion": "v1", "kind": "X", "name": "x", "patch": "{}", "extra": 1}],
                "resourceApplyMod": "typo"},
            "metdata": {}});
        let found: Vec<String> = undeclared_fields(&schema, &object)
            .iter()
            .map(|p| dotted(p))
            .collect();
        assert_eq!(
            found,
            [
                ".spec.patches[0].extra",
                ".spec.resourceApplyMod",
                ".metdata"
            ]
        );
        let mut pruned = object.clone();
        prune(&mut pruned, &undeclared_fields(&schema, &object));
        assert!(undeclared_fields(&schema, &pruned).is_empty());
        assert_eq!(pruned["spec"]["resources"], object["spec"]["resources"]);
    }

    #[test]
    fn a_kinds_schema_is_built_once_and_is_its_schema() {
        let first = cached_schema(&sync_set());
        assert_eq!(*first, schema(&sync_set()));
        assert!(Arc::ptr_eq(&first, &cached_schema(&sync_set())));
        let config_map = ResourceType::new("v1", "ConfigMap", "configmaps", true);
        assert_eq!(*cached_schema(&config_map), schema(&config_map));
    }

    #[test]
    fn unchecked_kinds_keep_their_spec() {
        let cd = ResourceType::new(
            "hive.openshift.io/v1",
            "ClusterDeployment",
            "clusterdeployments",
            true,
        );
        let object = json!({"spec": {"platform": {"aws": {"region": "eu"}}}, "status": {"x": 1}});
        assert!(undeclared_fields(&schema(&cd), &object).is_empty());
    }

    #[test]
    fn documents_name_each_kind_and_offer_field_validation() {
        let types = crate::kube::hive_resource_types();
        let root = root(&types);
        assert!(
            root["paths"]["apis/hive.openshift.io/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/apis/hive.openshift.io/v1?hash=")
        );
        assert!(root["paths"]["api/v1"].is_object());
        let document = group_version_document(&types, "hive.openshift.io", "v1");
        let patch =
            &document["paths"]["/apis/hive.openshift.io/v1/selectorsyncsets/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "hive.openshift.io", "version": "v1", "kind": "SelectorSyncSet"})
        );
        assert!(patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation"));
        assert!(document["components"]["schemas"]["io.openshift.hive.v1.SyncSet"].is_object());
        assert!(
            document["paths"]["/apis/hive.openshift.io/v1/namespaces/{namespace}/syncsets"]
                .is_object()
        );
    }
}
