//! `Status` answers, as the API server writes them
//! (k8s.io/apimachinery `api/errors`; empty fields are left out, as the
//! `omitempty` tags of `metav1.Status` do).

use serde_json::{json, Map, Value};

use super::fields::{Manager, Managers, Path};
use super::openapi::{dotted, Step};
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

/// `errors.NewApplyConflict`: 409, reason `Conflict`, a `FieldManagerConflict`
/// cause per field, and structured-merge-diff's message (one conflict on one
/// line, several grouped by manager).
pub(super) fn apply_conflict(
    conflicts: &[(Manager, Path)],
    managers: &Managers,
    api_version: &str,
) -> HttpResponse {
    let field = |path: &Path| format!(".{}", path.join("."));
    // An Update manager is printed with its API version and time.
    let describe = |manager: &Manager| match manager.1.as_str() {
        "Update" => format!(
            "{:?} using {api_version} at {}",
            manager.0,
            managers
                .get(manager)
                .map(|e| e.time.as_str())
                .unwrap_or_default()
        ),
        _ => format!("{:?}", manager.0),
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", describe(m)), "field": field(p)}))
        .collect();
    let message = match conflicts {
        [(manager, path)] => format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            describe(manager),
            field(path)
        ),
        _ => {
            let by_manager: std::collections::BTreeMap<String, Vec<String>> = conflicts
                .iter()
                .fold(Default::default(), |mut acc, (m, p)| {
                    acc.entry(describe(m))
                        .or_insert_with(Vec::new)
                        .push(field(p));
                    acc
                });
            let lines: Vec<String> = by_manager
                .iter()
                .flat_map(|(manager, fields)| {
                    std::iter::once(format!("conflicts with {manager}:"))
                        .chain(fields.iter().map(|f| format!("- {f}")))
                })
                .collect();
            format!(
                "Apply failed with {} conflicts: {}",
                conflicts.len(),
                lines.join("\n")
            )
        }
    };
    status_with(409, "Conflict", message, Some(json!({"causes": causes})))
}

/// An apply with fields the schema does not declare: structured-merge-diff
/// cannot type the patch, and the API server answers 500 (kubernetes
/// issue 122480) with its message.
pub(super) fn typed_patch_failure(
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    undeclared: &[Vec<Step>],
) -> HttpResponse {
    let errors: Vec<String> = undeclared
        .iter()
        .map(|path| format!("{}: field not declared in schema", dotted(path)))
        .collect();
    let errors = match errors.as_slice() {
        [one] => one.clone(),
        many => format!("errors:\n  {}", many.join("\n  ")),
    };
    status(
        500,
        "",
        format!(
            "failed to create typed patch object ({namespace}/{name}; {}/{}, Kind={}): {errors}",
            rt.group, rt.version, rt.kind
        ),
    )
}
