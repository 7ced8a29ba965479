//! `Status` answers, as the API server writes them
//! (k8s.io/apimachinery `api/errors`).

use serde_json::{json, Value};

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
        "message": message.into(), "reason": reason, "code": code,
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    HttpResponse::json(code, &body)
}

pub(super) fn not_found_path() -> HttpResponse {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

pub(super) fn not_found(rt: &ResourceType, name: &str) -> HttpResponse {
    status_with(
        404,
        "NotFound",
        format!("{} \"{name}\" not found", rt.qualified()),
        Some(json!({"name": name, "group": rt.group, "kind": rt.plural})),
    )
}
