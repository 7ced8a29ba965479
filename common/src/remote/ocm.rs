//! OCM's add-on API (`/api/clusters_mgmt/v1/addons` and its versions): the
//! request bodies managed-tenants sends, built from the add-on document, and
//! OCM's error body.
//!
//! The builders reproduce managed-tenants-cli (`OcmCli._addon_from_metadata`,
//! `_addon_from_imageset` and the two sanitisers) field for field, because OCM
//! already holds add-ons published that way: a different mapping would show up
//! as a spurious change on the next deploy. Its quirks are kept on purpose and
//! named where they happen, with one exception: each service gets only what
//! its own model defines. managed-tenants sends both services addons_mgmt's
//! `config.add_on_secret_propagations` and a parameter `order`, which
//! clusters_mgmt's model does not have and its generated reader drops (so the
//! secrets never propagate). To clusters_mgmt we send `secret_propagations`
//! and no `order` ([`mtcli_differences`] names them, as DF0007 and DF0008).

pub mod model;

use serde::{Deserialize, Serialize};

use crate::check::finding_codes::df;
use crate::text::url_encoding::encode_path_segment;
use crate::{FieldPath, Finding};

use crate::model::addon::{
    AdditionalCatalogSource, AddonConfig, AddonDocument, AddonParameter, AddonRequirement,
    CredentialsRequest, InstallMode, StringMap, SubOperator,
};

/// Which OCM service receives the add-on. Both take the same shape; they
/// differ in path and in how managed-tenants fills `parameters`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Service {
    /// clusters_mgmt, what `ocm` and managed-tenants' `add_addon` use.
    #[default]
    ClustersMgmt,
    /// addons_mgmt, the newer add-on service (`add_addon_as`).
    AddonsMgmt,
}

impl Service {
    /// The collection path of the add-ons.
    pub fn addons_path(self) -> &'static str {
        match self {
            Service::ClustersMgmt => "/api/clusters_mgmt/v1/addons",
            Service::AddonsMgmt => "/api/addons_mgmt/v1/addons",
        }
    }

    /// `/addons/{addon}`.
    pub fn addon_path(self, addon: &str) -> String {
        object_path(self.addons_path(), addon)
    }

    /// `/addons/{addon}/versions`.
    pub fn versions_path(self, addon: &str) -> String {
        format!("{}/versions", self.addon_path(addon))
    }
}

/// `{collection}/{id}`, the id one percent-encoded path segment: a `/`, `?`,
/// `#` or `%` in it stays inside the segment. Ids a user gives are checked
/// before (`names::ocm_id`), because `.` and `..` are not made safe by
/// encoding; ids of documents and image sets are validated on loading.
pub fn object_path(collection: &str, id: &str) -> String {
    format!("{collection}/{}", encode_path_segment(id))
}

/// The clusters_mgmt paths of one add-on on one cluster, each id one
/// percent-encoded path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPaths {
    /// `/clusters/{cluster}/addons`: the installations (POST installs).
    pub installations: String,
    /// `/clusters/{cluster}/addons/{addon}`: one installation.
    pub installation: String,
    /// `/clusters/{cluster}/addon_inquiries/{addon}`.
    pub inquiry: String,
}

impl ClusterPaths {
    pub fn new(cluster: &str, addon: &str) -> ClusterPaths {
        let cluster_path = object_path("/api/clusters_mgmt/v1/clusters", cluster);
        let installations = format!("{cluster_path}/addons");
        ClusterPaths {
            installation: object_path(&installations, addon),
            inquiry: object_path(&format!("{cluster_path}/addon_inquiries"), addon),
            installations,
        }
    }
}

/// The add-on as OCM takes it (`AddOn` in the clusters_mgmt model), in the
/// snake_case of OCM's JSON.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AddonPayload {
    /// Left out of a PATCH: the id is in the path.
    pub id: Option<String>,
    pub name: String,
    pub description: String,
    pub docs_link: Option<String>,
    pub icon: String,
    pub label: String,
    pub enabled: bool,
    /// `all_namespaces` or `own_namespace`.
    pub install_mode: String,
    pub target_namespace: String,
    pub namespaces: Vec<AddonNamespace>,
    pub common_labels: Option<StringMap>,
    pub common_annotations: Option<StringMap>,
    /// The quota (SKU) name, `ocmQuotaName`.
    pub resource_name: String,
    pub resource_cost: u64,
    pub operator_name: String,
    pub has_external_resources: Option<bool>,
    pub credentials_requests: Option<Vec<CredentialsRequest>>,
    pub managed_service: Option<bool>,
    pub config: OcmConfig,
    /// Left out when the add-on uses image sets: the version carries them.
    pub parameters: Option<Parameters>,
    pub requirements: Option<Vec<AddonRequirement>>,
    pub sub_operators: Option<Vec<SubOperator>>,
}

/// One managed namespace with the labels OCM puts on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonNamespace {
    pub name: String,
    pub labels: StringMap,
}

/// OCM wraps parameter lists in an object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    pub items: Vec<AddonParameter>,
}

/// `config` of an add-on or version: clusters_mgmt's `AddOnConfig` or
/// addons_mgmt's `AddonConfig`, which name the secrets differently. Exactly
/// one of the two secret lists is set, the target service's.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcmConfig {
    pub add_on_environment_variables: Vec<EnvironmentVariable>,
    /// clusters_mgmt's name for the secrets OCM propagates.
    pub secret_propagations: Option<Vec<SecretPropagation>>,
    /// addons_mgmt's name for them (and what managed-tenants sends to both).
    pub add_on_secret_propagations: Option<Vec<SecretPropagation>>,
}

impl OcmConfig {
    /// The secrets to propagate, whichever service's name they carry.
    pub fn secrets(&self) -> &[SecretPropagation] {
        self.secret_propagations
            .as_deref()
            .or(self.add_on_secret_propagations.as_deref())
            .unwrap_or(&[])
    }
}

/// `AddOnEnvironmentVariable`; the id is the list index as a string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: String,
    pub id: String,
}

/// `AddOnSecretPropagation`: OCM copies `source_secret` (the Vault-backed
/// secret `<addon-id>-<name>`) to `destination_secret` on the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretPropagation {
    pub source_secret: String,
    pub destination_secret: String,
    pub id: String,
}

/// `AddOnAdditionalCatalogSource`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogSourceRef {
    pub name: String,
    pub image: String,
    pub id: String,
}

/// One add-on version (`AddOnVersion`, `/addons/{id}/versions`): what one
/// image set installs.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionPayload {
    /// The semver of the image set's name; left out of a PATCH.
    pub id: Option<String>,
    pub enabled: bool,
    pub channel: String,
    pub pull_secret_name: Option<String>,
    pub additional_catalog_sources: Vec<CatalogSourceRef>,
    pub config: OcmConfig,
    pub parameters: Parameters,
    pub requirements: Vec<AddonRequirement>,
    pub sub_operators: Vec<SubOperator>,
    /// The catalog image.
    pub source_image: String,
    pub package_image: Option<String>,
}

/// OCM's error body (`kind: Error`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcmError {
    pub kind: String,
    pub id: String,
    pub href: Option<String>,
    pub code: String,
    pub reason: String,
    pub operation_id: Option<String>,
}

/// The add-on payload for `document` to `service`: managed-tenants' mapping,
/// in the target service's model.
///
/// With an image set (`addonImageSetVersion` set), parameters, requirements
/// and sub-operators belong to the version and are left out here; the
/// add-ons service nevertheless gets the metadata's parameters as written,
/// as managed-tenants' sanitiser re-sets them.
pub fn addon_payload(document: &AddonDocument, service: Service) -> AddonPayload {
    let metadata = &document.metadata;
    let uses_image_set = matches!(metadata.addon_image_set_version, Some(Some(_)));
    let written = metadata.add_on_parameters.clone().unwrap_or_default();
    let parameters = match (service, uses_image_set) {
        (Service::ClustersMgmt, true) => None,
        (Service::ClustersMgmt, false) => Some(ordered(written, service)),
        (Service::AddonsMgmt, _) => Some(Parameters { items: written }),
    };
    let (requirements, sub_operators) = if uses_image_set {
        (None, None)
    } else {
        (
            Some(metadata.add_on_requirements.clone().unwrap_or_default()),
            Some(metadata.sub_operators.clone().unwrap_or_default()),
        )
    };
    AddonPayload {
        id: Some(metadata.id.clone()),
        name: metadata.name.clone(),
        description: metadata.description.clone(),
        docs_link: metadata.link.clone(),
        icon: metadata.icon.clone(),
        label: metadata.label.clone(),
        enabled: metadata.enabled,
        install_mode: install_mode_snake_case(metadata.install_mode).to_string(),
        target_namespace: metadata.target_namespace.clone(),
        namespaces: metadata
            .namespaces
            .iter()
            .map(|name| AddonNamespace {
                name: name.clone(),
                labels: metadata.namespace_labels.clone(),
            })
            .collect(),
        common_labels: metadata.common_labels.clone(),
        common_annotations: metadata.common_annotations.clone(),
        resource_name: metadata.ocm_quota_name.clone(),
        resource_cost: metadata.ocm_quota_cost,
        operator_name: metadata.operator_name.clone(),
        has_external_resources: metadata.has_external_resources,
        credentials_requests: metadata.credentials_requests.clone(),
        managed_service: metadata.managed_service,
        config: ocm_config(service, &metadata.id, metadata.config.as_ref(), None),
        parameters,
        requirements,
        sub_operators,
    }
}

/// The version payload for the document's image set to `service`, `None`
/// without one.
///
/// Each field starts from the metadata and is replaced by the image set's
/// when the image set file has that key at all (an empty list included),
/// which is managed-tenants' precedence for versions
/// ([`AddonDocument::parameters`]). The services differ only in their model's
/// names (see the module's documentation).
pub fn version_payload(document: &AddonDocument, service: Service) -> Option<VersionPayload> {
    let set = document.image_set.as_ref()?;
    let metadata = &document.metadata;
    let id = set
        .version()
        .map(|version| version.to_string())
        .unwrap_or_else(|| set.name.clone());
    let catalog_sources = set
        .additional_catalog_sources
        .as_ref()
        .or(metadata.additional_catalog_sources.as_ref());
    Some(VersionPayload {
        id: Some(id),
        enabled: metadata.enabled,
        channel: metadata.default_channel.clone(),
        pull_secret_name: set.pull_secret_name.clone().or_else(|| {
            metadata
                .pull_secret_name
                .clone()
                .filter(|name| !name.is_empty())
        }),
        additional_catalog_sources: catalog_sources
            .map(|list| indexed_sources(list))
            .unwrap_or_default(),
        config: ocm_config(
            service,
            &metadata.id,
            metadata.config.as_ref(),
            set.config.as_ref(),
        ),
        parameters: ordered(document.parameters().to_vec(), service),
        requirements: document.requirements().to_vec(),
        sub_operators: document.sub_operators().to_vec(),
        source_image: set.index_image.clone(),
        package_image: set.package_image.clone(),
    })
}

/// Where the payloads for `service` differ from managed-tenants-cli's, as
/// warnings (README, "Differences from managed-tenants-cli"). To clusters_mgmt
/// mtcli sends the secrets as `config.add_on_secret_propagations`, addons_mgmt's
/// name, which clusters_mgmt's reader drops, so they were never propagated; we
/// send `secret_propagations` (DF0007). It also gives each parameter an
/// `order`, which clusters_mgmt's `AddOnParameter` does not have; we leave it
/// out and the list keeps the file's order (DF0008). `file` names the input.
pub fn mtcli_differences(document: &AddonDocument, service: Service, file: &str) -> Vec<Finding> {
    if service != Service::ClustersMgmt {
        return Vec::new();
    }
    let id = &document.metadata.id;
    let uses_image_set = matches!(document.metadata.addon_image_set_version, Some(Some(_)));
    let has_secrets = |config: Option<&AddonConfig>| {
        config
            .and_then(|config| config.secrets.as_ref())
            .is_some_and(|secrets| !secrets.is_empty())
    };
    let mut found = Vec::new();
    let secrets_in = [
        (
            FieldPath::root().key("config").key("secrets"),
            document.metadata.config.as_ref(),
        ),
        (
            FieldPath::root()
                .key("imageSet")
                .key("config")
                .key("secrets"),
            document
                .image_set
                .as_ref()
                .and_then(|set| set.config.as_ref()),
        ),
    ];
    if let Some((path, _)) = secrets_in.iter().find(|(_, config)| has_secrets(*config)) {
        found.push(
            Finding::warning(
                df::SECRET_PROPAGATIONS_FIELD,
                file,
                format!(
                    "add-on {id}: managed-tenants-cli sends these secrets to clusters_mgmt as \
                     config.add_on_secret_propagations, which clusters_mgmt does not read, so they \
                     were never propagated; ocm-post sends config.secret_propagations"
                ),
            )
            .at(path),
        );
    }
    let parameters_sent = if uses_image_set && document.image_set.is_some() {
        !document.parameters().is_empty()
    } else {
        !uses_image_set
            && document
                .metadata
                .add_on_parameters
                .as_ref()
                .is_some_and(|p| !p.is_empty())
    };
    if parameters_sent {
        found.push(
            Finding::warning(
                df::PARAMETER_ORDER,
                file,
                format!(
                    "add-on {id}: managed-tenants-cli gives each parameter an order, which \
                     clusters_mgmt's AddOnParameter does not have; ocm-post leaves it out (the list \
                     keeps the file's order)"
                ),
            )
            .at(&FieldPath::root().key("addOnParameters")),
        );
    }
    found
}

/// `AllNamespaces` → `all_namespaces`.
pub fn install_mode_snake_case(mode: InstallMode) -> &'static str {
    match mode {
        InstallMode::AllNamespaces => "all_namespaces",
        InstallMode::OwnNamespace => "own_namespace",
    }
}

/// Parameters in the order of the metadata file: addons_mgmt's model says
/// so with `order`, the 1-based position (as managed-tenants sets it);
/// clusters_mgmt's `AddOnParameter` has no `order`, and the list's own order
/// is the order.
fn ordered(mut parameters: Vec<AddonParameter>, service: Service) -> Parameters {
    for (index, parameter) in parameters.iter_mut().enumerate() {
        parameter.order = match service {
            Service::ClustersMgmt => None,
            Service::AddonsMgmt => Some(index as i64 + 1),
        };
    }
    Parameters { items: parameters }
}

/// The OCM config from the metadata's, each list replaced by the image set's
/// when the image set names it (an empty list included), the secrets under
/// the target service's name.
fn ocm_config(
    service: Service,
    addon_id: &str,
    metadata: Option<&AddonConfig>,
    set: Option<&AddonConfig>,
) -> OcmConfig {
    let env = set
        .and_then(|config| config.env.as_ref())
        .or(metadata.and_then(|config| config.env.as_ref()));
    let secrets = set
        .and_then(|config| config.secrets.as_ref())
        .or(metadata.and_then(|config| config.secrets.as_ref()));
    let propagations: Vec<SecretPropagation> = secrets
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(index, secret)| SecretPropagation {
                    source_secret: format!("{addon_id}-{}", secret.name),
                    destination_secret: secret.name.clone(),
                    id: index.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let (secret_propagations, add_on_secret_propagations) = match service {
        Service::ClustersMgmt => (Some(propagations), None),
        Service::AddonsMgmt => (None, Some(propagations)),
    };
    OcmConfig {
        secret_propagations,
        add_on_secret_propagations,
        add_on_environment_variables: env
            .map(|list| {
                list.iter()
                    .enumerate()
                    .map(|(index, var)| EnvironmentVariable {
                        name: var.name.clone(),
                        value: var.value.clone(),
                        id: index.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn indexed_sources(list: &[AdditionalCatalogSource]) -> Vec<CatalogSourceRef> {
    list.iter()
        .enumerate()
        .map(|(index, source)| CatalogSourceRef {
            name: source.name.clone(),
            image: source.image.clone(),
            id: index.to_string(),
        })
        .collect()
}

/// Turns an OCM answer that is not a success into a sentence: OCM's `reason`
/// and `code` when the body is OCM's error, else the start of the body.
pub fn describe_error(status: u16, body: &[u8]) -> String {
    match serde_json::from_slice::<OcmError>(body) {
        Ok(error) if error.kind == "Error" => {
            format!("HTTP {status} {}: {}", error.code, error.reason)
        }
        _ => {
            let text = crate::remote::http::snippet(&String::from_utf8_lossy(body));
            if text.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {text}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::imageset::ImageSet;
    use crate::testing::{document_from, minimal_addon, with_fields};
    use serde_json::{json, Value};

    /// The minimal add-on with the fields these mappings show off set.
    fn document(extra: Value) -> AddonDocument {
        let addon = with_fields(
            minimal_addon(),
            json!({
                "installMode": "AllNamespaces", "namespaces": ["redhat-my-addon", "other"],
                "ocmQuotaCost": 2, "defaultChannel": "stable", "namespaceLabels": {"a": "b"}
            }),
        );
        document_from(with_fields(addon, extra))
    }

    fn param(id: &str) -> Value {
        json!({"id": id, "name": id, "description": "d", "value_type": "string",
               "required": false, "editable": true, "enabled": true})
    }

    #[test]
    fn maps_metadata_keys_as_managed_tenants() {
        let doc = document(json!({
            "link": "https://docs", "addOnParameters": [param("a"), param("b")],
            "config": {"env": [{"name": "E", "value": "v"}],
                       "secrets": [{"name": "s", "type": "Opaque", "vaultPath": "p", "version": 1, "fields": []}]}
        }));
        let payload = serde_json::to_value(addon_payload(&doc, Service::ClustersMgmt)).unwrap();
        assert_eq!(payload["docs_link"], "https://docs");
        assert_eq!(payload["install_mode"], "all_namespaces");
        assert_eq!(payload["resource_name"], "addon-my-addon");
        assert_eq!(payload["resource_cost"], 2);
        assert_eq!(
            payload["namespaces"],
            json!([{"name": "redhat-my-addon", "labels": {"a": "b"}},
                                                  {"name": "other", "labels": {"a": "b"}}])
        );
        assert_eq!(payload["parameters"]["items"][1]["id"], "b");
        assert_eq!(payload["requirements"], json!([]));
        assert_eq!(payload["sub_operators"], json!([]));
        assert_eq!(
            payload["config"]["add_on_environment_variables"],
            json!([{"name": "E", "value": "v", "id": "0"}])
        );
        assert_eq!(
            payload["config"]["secret_propagations"],
            json!([{"source_secret": "my-addon-s", "destination_secret": "s", "id": "0"}])
        );
        assert!(payload.get("link").is_none() && payload.get("defaultChannel").is_none());
    }

    /// Each service gets the names of its own model: clusters_mgmt's
    /// `AddOnConfig.secret_propagations` and an `AddOnParameter` without
    /// `order`; addons_mgmt's `AddonConfig.add_on_secret_propagations` and
    /// `AddonParameter.order`. managed-tenants sends addons_mgmt's to both.
    #[test]
    fn each_service_gets_the_fields_of_its_own_model() {
        let secrets = json!({"secrets": [{"name": "s", "type": "Opaque", "vaultPath": "p", "version": 1, "fields": []}]});
        let plain =
            document(json!({"addOnParameters": [param("a"), param("b")], "config": secrets}));
        let mut with_set = document(json!({"addonImageSetVersion": "1.0.0", "config": secrets,
                                           "addOnParameters": [param("a")]}));
        with_set.image_set = Some(ImageSet {
            name: "my-addon.v1.0.0".into(),
            index_image: "quay.io/osd-addons/my-addon-index@sha256:1".into(),
            ..ImageSet::default()
        });
        // The service, its name for the secrets and the other service's name,
        // and the `order` of the version's first parameter (the add-on's go
        // to either service without one: addons_mgmt gets them as written).
        let services = [
            (
                Service::ClustersMgmt,
                "secret_propagations",
                "add_on_secret_propagations",
                None,
            ),
            (
                Service::AddonsMgmt,
                "add_on_secret_propagations",
                "secret_propagations",
                Some(1),
            ),
        ];
        for (service, own, other, order) in services {
            let addon = serde_json::to_value(addon_payload(&plain, service)).unwrap();
            let version = serde_json::to_value(version_payload(&with_set, service)).unwrap();
            for body in [&addon, &version] {
                assert_eq!(body["config"][own][0]["destination_secret"], "s", "{body}");
                assert!(body["config"].get(other).is_none(), "{body}");
            }
            assert!(
                addon["parameters"]["items"][0].get("order").is_none(),
                "{addon}"
            );
            let version_order = version["parameters"]["items"][0].get("order");
            assert_eq!(version_order, order.map(Value::from).as_ref(), "{version}");
        }
    }

    #[test]
    fn the_differences_from_mtcli_are_warned_for_clusters_mgmt_only() {
        let secrets = json!({"secrets": [{"name": "s", "type": "Opaque", "vaultPath": "p", "version": 1, "fields": []}]});
        let doc = document(json!({"addOnParameters": [param("a")], "config": secrets}));
        let found = mtcli_differences(&doc, Service::ClustersMgmt, "addon.json");
        let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("addon.json: warning DF0007: config.secrets: add-on my-addon:"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("addon.json: warning DF0008: addOnParameters: add-on my-addon:"),
            "{}",
            lines[1]
        );
        assert!(mtcli_differences(&doc, Service::AddonsMgmt, "addon.json").is_empty());
        assert!(
            mtcli_differences(&document(json!({})), Service::ClustersMgmt, "addon.json").is_empty()
        );
    }

    #[test]
    fn addons_service_gets_parameters_without_order_even_with_image_sets() {
        let doc =
            document(json!({"addOnParameters": [param("a")], "addonImageSetVersion": "1.0.0"}));
        let cs = serde_json::to_value(addon_payload(&doc, Service::ClustersMgmt)).unwrap();
        assert!(cs.get("parameters").is_none() && cs.get("requirements").is_none());
        let r#as = serde_json::to_value(addon_payload(&doc, Service::AddonsMgmt)).unwrap();
        assert_eq!(r#as["parameters"]["items"][0]["id"], "a");
        assert!(r#as["parameters"]["items"][0].get("order").is_none());
        assert!(r#as.get("requirements").is_none());
    }

    #[test]
    fn version_takes_image_set_values_over_metadata() {
        let mut doc = document(json!({
            "addonImageSetVersion": "1.2.3", "pullSecretName": "pull",
            "additionalCatalogSources": [{"name": "x", "image": "quay.io/x"}],
            "config": {"env": [{"name": "FROM", "value": "metadata"}]},
            "addOnParameters": [param("meta")]
        }));
        doc.image_set = Some(ImageSet {
            name: "my-addon.v1.2.3".into(),
            index_image: "quay.io/osd-addons/my-addon-index@sha256:1".into(),
            additional_catalog_sources: Some(vec![]),
            add_on_parameters: Some(vec![serde_json::from_value(param("set")).unwrap()]),
            ..ImageSet::default()
        });
        let version = version_payload(&doc, Service::ClustersMgmt).unwrap();
        assert_eq!(version.id.as_deref(), Some("1.2.3"));
        assert_eq!(version.channel, "stable");
        assert_eq!(version.pull_secret_name.as_deref(), Some("pull"));
        assert!(
            version.additional_catalog_sources.is_empty(),
            "an empty image set list replaces the metadata's"
        );
        assert_eq!(
            version.config.add_on_environment_variables[0].value,
            "metadata"
        );
        assert_eq!(version.parameters.items[0].id, "set");
        assert_eq!(
            version_payload(&doc, Service::AddonsMgmt)
                .unwrap()
                .parameters
                .items[0]
                .order,
            Some(1)
        );
        assert_eq!(
            version.source_image,
            "quay.io/osd-addons/my-addon-index@sha256:1"
        );
        assert!(version_payload(&document(json!({})), Service::ClustersMgmt).is_none());
    }

    #[test]
    fn every_id_is_one_encoded_path_segment() {
        assert_eq!(
            Service::ClustersMgmt.addon_path("victim#x"),
            "/api/clusters_mgmt/v1/addons/victim%23x"
        );
        assert_eq!(
            Service::AddonsMgmt.versions_path("a/b"),
            "/api/addons_mgmt/v1/addons/a%2Fb/versions"
        );
        let paths = ClusterPaths::new("../../c9", "a?b");
        assert_eq!(
            paths.installations,
            "/api/clusters_mgmt/v1/clusters/..%2F..%2Fc9/addons"
        );
        assert_eq!(
            paths.installation,
            "/api/clusters_mgmt/v1/clusters/..%2F..%2Fc9/addons/a%3Fb"
        );
        assert_eq!(
            paths.inquiry,
            "/api/clusters_mgmt/v1/clusters/..%2F..%2Fc9/addon_inquiries/a%3Fb"
        );
        assert_eq!(
            ClusterPaths::new("049ea229-6d2e", "my-addon").installation,
            "/api/clusters_mgmt/v1/clusters/049ea229-6d2e/addons/my-addon"
        );
    }

    #[test]
    fn errors_show_ocm_reason() {
        let body = br#"{"kind":"Error","id":"400","href":"/api/clusters_mgmt/v1/errors/400","code":"CLUSTERS-MGMT-400","reason":"Add-on name is required"}"#;
        assert_eq!(
            describe_error(400, body),
            "HTTP 400 CLUSTERS-MGMT-400: Add-on name is required"
        );
        assert_eq!(
            describe_error(502, b"<html>bad gateway</html>"),
            "HTTP 502: <html>bad gateway</html>"
        );
        assert_eq!(describe_error(404, b""), "HTTP 404");
    }
}
