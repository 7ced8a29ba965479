//! What ocm-post sends: the requests for an add-on document, planned as data
//! (so `--dry-run` prints exactly what would go out) and then carried out
//! by `sync`: read from OCM first, POST when missing, PATCH without `id` when
//! different.

use serde::Serialize;
use serde_json::Value;

use common::remote::ocm::model::Object;
use common::remote::ocm::{addon_payload, version_payload, Service};
use common::{AddonDocument, Result};

/// One create-or-update: POST `collection`, or PATCH `path` when it exists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upsert {
    /// What is published (`add-on`, `version`), for messages.
    pub what: &'static str,
    /// Where, and as which object of that service's model.
    #[serde(skip)]
    pub service: Service,
    #[serde(skip)]
    pub object: Object,
    pub collection: String,
    pub id: String,
    /// `collection/id`, the id percent-encoded.
    pub path: String,
    pub body: Value,
}

/// A request as `--dry-run` prints it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRequest {
    pub method: String,
    pub url: String,
    pub body: Option<Value>,
}

impl PlannedRequest {
    /// `method` on `base` + `path`; the URL is shown, so without the
    /// `user:password@` it may carry.
    pub fn new(method: &str, base: &str, path: &str, body: Option<Value>) -> PlannedRequest {
        PlannedRequest {
            method: method.to_string(),
            url: format!("{}{path}", common::cli::redact::url(base)),
            body,
        }
    }
}

/// The requests publishing `document` would send, as `--dry-run` shows
/// them: a POST of each object (one that exists is read, compared and
/// PATCHed without `id` instead).
pub fn planned(
    document: &AddonDocument,
    service: Service,
    with_version: bool,
    base: &str,
) -> Result<Vec<PlannedRequest>> {
    Ok(plan(document, service, with_version)?
        .into_iter()
        .map(|step| PlannedRequest::new("POST", base, &step.collection, Some(step.body)))
        .collect())
}

/// The add-on, then its version when the document has an image set.
pub fn plan(document: &AddonDocument, service: Service, with_version: bool) -> Result<Vec<Upsert>> {
    let addon = serde_json::to_value(addon_payload(document, service)).map_err(internal)?;
    let id = document.metadata.id.clone();
    let collection = service.addons_path().to_string();
    let mut steps = vec![Upsert {
        what: "add-on",
        service,
        object: Object::AddOn,
        collection,
        path: service.addon_path(&id),
        id: id.clone(),
        body: addon,
    }];
    if with_version {
        if let Some(version) = version_payload(document, service) {
            let version_id = version.id.clone().unwrap_or_default();
            let body = serde_json::to_value(version).map_err(internal)?;
            let collection = service.versions_path(&id);
            steps.push(Upsert {
                what: "version",
                service,
                object: Object::Version,
                path: common::remote::ocm::object_path(&collection, &version_id),
                collection,
                id: version_id,
                body,
            });
        }
    }
    Ok(steps)
}

fn internal(err: serde_json::Error) -> common::Error {
    common::Error::internal(format!("cannot serialise the OCM payload: {err}"))
}

/// The body of the PATCH that follows a 409: the same payload without `id`,
/// which is in the path and cannot change.
pub fn without_id(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("id");
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(extra: Value) -> AddonDocument {
        common::testing::minimal_document(extra)
    }

    #[test]
    fn plans_the_addon_then_its_version() {
        let mut doc = document(json!({"addonImageSetVersion": "1.0.0"}));
        doc.image_set = Some(serde_json::from_value(json!({
            "name": "my-addon.v1.0.0", "indexImage": "quay.io/osd-addons/my-addon-index@sha256:1", "relatedImages": []
        })).unwrap());
        let steps = plan(&doc, Service::ClustersMgmt, true).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].collection, "/api/clusters_mgmt/v1/addons");
        assert_eq!(
            steps[1].collection,
            "/api/clusters_mgmt/v1/addons/my-addon/versions"
        );
        assert_eq!(steps[1].id, "1.0.0");
        assert_eq!(
            plan(&doc, Service::AddonsMgmt, false).unwrap()[0].collection,
            "/api/addons_mgmt/v1/addons"
        );
        assert_eq!(
            plan(&document(json!({})), Service::ClustersMgmt, true)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn patch_bodies_leave_the_id_out() {
        let body = json!({"id": "x", "name": "X"});
        assert_eq!(without_id(&body), json!({"name": "X"}));
    }
}
