//! What a request asks for: discovery, OpenAPI, and the verbs on a kind's
//! collections and objects, dispatched to the reads here and the writes of
//! `writes.rs`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::openapi;
use super::selector::LabelSelector;
use super::status::{not_found, not_found_path, status};
use super::writes::{FieldValidation, WriteOptions};
use super::{key, ResourceType, State};
use crate::http::{HttpRequest, HttpResponse};

/// What a request path names.
enum Target {
    Collection {
        rt: ResourceType,
        namespace: String,
    },
    Object {
        rt: ResourceType,
        namespace: String,
        name: String,
    },
}

impl State {
    pub(super) fn group_list(&self) -> Value {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for rt in self
            .options
            .resource_types
            .iter()
            .filter(|rt| !rt.group.is_empty())
        {
            let versions = groups.entry(&rt.group).or_default();
            if !versions.contains(&rt.version.as_str()) {
                versions.push(&rt.version);
            }
        }
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|(name, versions)| {
                let versions: Vec<Value> = versions
                    .iter()
                    .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                    .collect();
                json!({"name": name, "versions": versions, "preferredVersion": versions[0]})
            })
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    pub(super) fn resource_list(&self, group: &str, version: &str) -> HttpResponse {
        let resources: Vec<Value> = self
            .options
            .resource_types
            .iter()
            .filter(|rt| rt.group == group && rt.version == version)
            .map(|rt| {
                // The verbs this server implements (no watch, no deletecollection).
                let mut resource = json!({"name": rt.plural, "singularName": rt.kind.to_lowercase(),
                    "namespaced": rt.namespaced, "kind": rt.kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update"]});
                if !rt.short_names.is_empty() {
                    resource["shortNames"] = json!(rt.short_names);
                }
                resource
            })
            .collect();
        if resources.is_empty() {
            return not_found_path();
        }
        let group_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        HttpResponse::json(
            200,
            &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
        )
    }

    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`.
    pub(super) fn openapi_document(&self, group: &str, version: &str) -> HttpResponse {
        let types = &self.options.resource_types;
        if !types
            .iter()
            .any(|rt| rt.group == group && rt.version == version)
        {
            return not_found_path();
        }
        HttpResponse::json(200, &openapi::group_version_document(types, group, version))
    }

    fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.options
            .resource_types
            .iter()
            .find(|rt| rt.group == group && rt.version == version && rt.plural == plural)
            .cloned()
    }

    fn target(&self, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
        let (namespace, rest) = match rest {
            ["namespaces", ns, tail @ ..] if !tail.is_empty() => (ns.to_string(), tail),
            _ => (String::new(), rest),
        };
        let rt = self.find_type(group, version, rest.first()?)?;
        if rt.namespaced == namespace.is_empty() {
            // A cluster-scoped kind under a namespace, or a namespaced kind
            // without one (only lists may span namespaces).
            if !(rt.namespaced && rest.len() == 1) {
                return None;
            }
        }
        match rest {
            [_] => Some(Target::Collection { rt, namespace }),
            [_, name] => Some(Target::Object {
                rt,
                namespace,
                name: name.to_string(),
            }),
            _ => None,
        }
    }

    /// Answers a request on a kind's collection or object. `body` is the
    /// request's body parsed before the server's state was locked (see
    /// [`parse_write_body`]), for the writes.
    pub(super) fn route(
        &mut self,
        request: &HttpRequest,
        body: Option<Result<Value, String>>,
        group: &str,
        version: &str,
        rest: &[&str],
    ) -> HttpResponse {
        let Some(target) = self.target(group, version, rest) else {
            return not_found_path();
        };
        let dry_run = request.query_param("dryRun") == Some("All");
        let validation = match FieldValidation::parse(request.query_param("fieldValidation")) {
            Ok(validation) => validation,
            Err(refusal) => return refusal,
        };
        let manager = field_manager(request);
        let options = WriteOptions {
            manager: &manager,
            validation,
            dry_run,
        };
        match (request.method.as_str(), target) {
            ("GET", Target::Collection { rt, namespace }) => {
                match LabelSelector::parse(request.query_param("labelSelector").unwrap_or_default())
                {
                    Ok(selector) => self.list(&rt, &namespace, &selector),
                    Err(message) => status(400, "BadRequest", message),
                }
            }
            (
                "GET",
                Target::Object {
                    rt,
                    namespace,
                    name,
                },
            ) => {
                if rt.kind == "ClusterSync" {
                    self.refresh_cluster_sync(&namespace, &name);
                }
                match self.objects.get(&key(&rt, &namespace, &name)) {
                    Some(stored) => HttpResponse::json(200, &stored.object),
                    None => not_found(&rt, &name),
                }
            }
            (
                "DELETE",
                Target::Object {
                    rt,
                    namespace,
                    name,
                },
            ) => self.delete(&rt, &namespace, &name, dry_run),
            ("POST", Target::Collection { rt, namespace })
                if !rt.namespaced || !namespace.is_empty() =>
            {
                match body.unwrap_or_else(|| parse_body(&request.body)) {
                    Ok(body) => self.create(&rt, &namespace, body, options),
                    Err(message) => status(400, "BadRequest", message),
                }
            }
            (
                "PUT",
                Target::Object {
                    rt,
                    namespace,
                    name,
                },
            ) => match body.unwrap_or_else(|| parse_body(&request.body)) {
                Ok(body) => self.replace(&rt, &namespace, &name, body, options),
                Err(message) => status(400, "BadRequest", message),
            },
            (
                "PATCH",
                Target::Object {
                    rt,
                    namespace,
                    name,
                },
            ) => {
                let content_type = request.header("content-type").unwrap_or_default();
                let content_type = content_type.split(';').next().unwrap_or_default().trim();
                let body = match body.unwrap_or_else(|| parse_body(&request.body)) {
                    Ok(body) => body,
                    Err(message) => return status(400, "BadRequest", message),
                };
                match content_type {
                    "application/apply-patch+yaml" => {
                        let Some(manager) = request.query_param("fieldManager").filter(|m| !m.is_empty()) else {
                            return status(
                                422,
                                "Invalid",
                                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                            );
                        };
                        let force = request.query_param("force") == Some("true");
                        self.apply(&rt, &namespace, &name, body, manager, force, dry_run)
                    }
                    "application/merge-patch+json" => {
                        self.merge_patch(&rt, &namespace, &name, &body, options)
                    }
                    // Strategic merge patch exists for built-in kinds only.
                    "application/strategic-merge-patch+json" if rt.group.is_empty() => {
                        self.merge_patch(&rt, &namespace, &name, &body, options)
                    }
                    other => status(
                        415,
                        "UnsupportedMediaType",
                        format!("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/apply-patch+yaml{} (got {other:?})",
                            if rt.group.is_empty() { ", application/strategic-merge-patch+json" } else { "" }),
                    ),
                }
            }
            (method, _) => status(
                405,
                "MethodNotAllowed",
                format!(
                    "the server does not allow this method on the requested resource ({method})"
                ),
            ),
        }
    }

    /// The objects of a kind (in `namespace`, or all when empty) whose
    /// labels `selector` selects.
    fn list(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        selector: &LabelSelector,
    ) -> HttpResponse {
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|((g, p, ns, _), stored)| {
                *g == rt.group
                    && *p == rt.plural
                    && (namespace.is_empty() || ns == namespace)
                    && selector.matches(stored.object["metadata"]["labels"].as_object())
            })
            .map(|(_, s)| s.object.clone())
            .collect();
        HttpResponse::json(
            200,
            &json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": self.resource_version.to_string()}, "items": items}),
        )
    }
}

/// The `fieldManager` parameter, or (as the API server defaults it) the
/// client's User-Agent up to its first `/`.
fn field_manager(request: &HttpRequest) -> String {
    match request
        .query_param("fieldManager")
        .filter(|m| !m.is_empty())
    {
        Some(manager) => manager.to_string(),
        None => request
            .header("user-agent")
            .and_then(|agent| agent.split('/').next())
            .filter(|prefix| !prefix.is_empty())
            .unwrap_or("unknown")
            .chars()
            .take(128)
            .collect(),
    }
}

/// The body of a write (POST, PUT, PATCH), parsed: done before the
/// server's state is locked, so that requests in flight at once parse
/// their bodies at once, not one after the other. `None` for the other
/// methods, which have no body to read.
pub(super) fn parse_write_body(request: &HttpRequest) -> Option<Result<Value, String>> {
    matches!(request.method.as_str(), "POST" | "PUT" | "PATCH").then(|| parse_body(&request.body))
}

fn parse_body(body: &[u8]) -> Result<Value, String> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) => {
            let text =
                std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
            serde_yaml::from_str(text).map_err(|err| format!("error decoding YAML: {err}"))?
        }
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err("the body must be an object".into())
    }
}
