//! `Status` answers, as the API server writes them
//! (k8s.io/apimachinery `api/errors`; empty fields are left out, as the
//! `omitempty` tags of `metav1.Status` do).

use serde_json::{json, Map, Value};

use super::ResourceType;
use crate::http::HttpResponse;

pub(super) fn status(code: u16, reason: &str, message: impl Into<String>) -> HttpResponse {
    status_with(code, reason, message, None)
}

pub(super) fn status_with(
    code: u16,
    reason: &str,
    message: impl Into<String>,
    details: Option<Value>,
) -> HttpResponse {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": if code < 400 { "Success" } else { "Failure" },
    });
    let message = message.into();
    if !message.is_empty() {
        body["message"] = json!(message);
    }
    if !reason.is_empty() {
        body["reason"] = json!(reason);
    }
    if let Some(details) = details {
        body["details"] = details;
    }
    body["code"] = json!(code);
    HttpResponse::json(code, &body)
}

/// `StatusDetails` for an object: `group` only when not the core group.
pub(super) fn details(group: &str, kind: &str, name: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !group.is_empty() {
        details.insert("group".into(), json!(group));
    }
    details.insert("kind".into(), json!(kind));
    Value::Object(details)
}

pub(super) fn not_found_path() -> HttpResponse {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// `errors.NewNotFound(resource, name)`.
pub(super) fn not_found(rt: &ResourceType, name: &str) -> HttpResponse {
    status_with(
        404,
        "NotFound",
        format!("{} \"{name}\" not found", rt.qualified()),
        Some(details(&rt.group, &rt.plural, name)),
    )
}

/// What NamespaceLifecycle admission answers a create in a namespace that
/// does not exist: `errors.NewNotFound(v1.Resource("namespaces"), ns)`.
pub(super) fn namespace_not_found(namespace: &str) -> HttpResponse {
    status_with(
        404,
        "NotFound",
        format!("namespaces \"{namespace}\" not found"),
        Some(details("", "namespaces", namespace)),
    )
}

/// `errors.NewForbidden(resource, name, why)`.
pub(super) fn forbidden(rt: &ResourceType, name: &str, why: &str) -> HttpResponse {
    status_with(
        403,
        "Forbidden",
        format!("{} \"{name}\" is forbidden: {why}", rt.qualified()),
        Some(details(&rt.group, &rt.plural, name)),
    )
}
