//! The add-on metadata of managed-tenants (`addon.yaml`), field for field as
//! its JSON schema defines it, and the add-on document that travels between
//! the tools.
//!
//! The wire format is the type: camelCase keys at the top level, snake_case in
//! the shared sub-schemas (parameters, requirements, credentials requests), as
//! the managed-tenants schema spells them. Optional fields are `Option` and are
//! left out when absent (`#[serde_with::skip_serializing_none]` on the struct,
//! not an attribute on each field), so a document reads back exactly as it was
//! written.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::model::imageset::ImageSet;
pub use crate::model::install_settings::{
    AdditionalCatalogSource, AddonConfig, AddonParameter, AddonRequirement, ConfigSecret, EnvVar,
    ParameterCondition, ParameterOption, SubOperator,
};

/// Labels or annotations: string keys to string values, sorted.
pub type StringMap = BTreeMap<String, String>;

/// `addon.yaml`: everything the managed-tenants metadata schema allows.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddonMetadata {
    /// Unique ID of the add-on (`^[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]$`).
    pub id: String,
    /// Friendly name shown in the UI.
    pub name: String,
    pub description: String,
    pub link: Option<String>,
    /// Base64-encoded PNG, about 200 px.
    pub icon: String,
    /// `api.openshift.com/addon-<id>`.
    pub label: String,
    pub enabled: bool,
    pub has_external_resources: Option<bool>,
    /// `Some Name <someone@redhat.com>`.
    pub addon_owner: String,
    pub addon_notifications: Option<Vec<String>>,
    /// `quay.io/osd-addons/<repo>`.
    pub quay_repo: String,
    pub test_harness: String,
    pub install_mode: InstallMode,
    pub syncset_migration: Option<SyncsetMigration>,
    /// The namespace the operator is installed into.
    pub target_namespace: String,
    /// Namespaces the add-on manages; must include `targetNamespace`.
    pub namespaces: Vec<String>,
    /// Name of a `config.secrets` entry used to pull the catalog image.
    pub pull_secret_name: Option<String>,
    pub additional_catalog_sources: Option<Vec<AdditionalCatalogSource>>,
    pub namespace_labels: StringMap,
    pub namespace_annotations: StringMap,
    pub common_labels: Option<StringMap>,
    pub common_annotations: Option<StringMap>,
    /// Deprecated spelling of `metricsFederation`.
    pub monitoring: Option<MetricsFederation>,
    pub metrics_federation: Option<MetricsFederation>,
    pub monitoring_stack: Option<MonitoringStack>,
    /// The OLM channel to subscribe to.
    pub default_channel: String,
    /// The OCM quota (SKU) name.
    pub ocm_quota_name: String,
    pub ocm_quota_cost: u64,
    /// The OLM package name of the add-on's operator.
    pub operator_name: String,
    pub bundle_parameters: Option<BundleParameters>,
    #[serde(rename = "startingCSV")]
    pub starting_csv: Option<String>,
    /// The catalog image, when no image set is used.
    pub index_image: Option<String>,
    /// `latest`, a semver, or an explicit `null` (present but unset means the
    /// add-on has no catalog image yet, which differs from absent).
    #[serde(default, deserialize_with = "present_or_null")]
    pub addon_image_set_version: Option<Option<ImageSetVersion>>,
    pub pagerduty: Option<PagerDuty>,
    pub deadmanssnitch: Option<DeadmansSnitch>,
    /// Files beside `addon.yaml` applied to the Hive cluster too.
    pub extra_resources: Option<Vec<String>>,
    pub credentials_requests: Option<Vec<CredentialsRequest>>,
    pub add_on_parameters: Option<Vec<AddonParameter>>,
    pub add_on_requirements: Option<Vec<AddonRequirement>>,
    pub sub_operators: Option<Vec<SubOperator>>,
    pub config: Option<AddonConfig>,
    pub managed_service: Option<bool>,
}

/// Keeps "present but null" apart from "absent" for `addonImageSetVersion`.
fn present_or_null<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<ImageSetVersion>>, D::Error> {
    Option::<ImageSetVersion>::deserialize(deserializer).map(Some)
}

/// Which image set an add-on uses. Written as a string; YAML numbers such as
/// `1.0` are accepted and read as their text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum ImageSetVersion {
    /// The highest semver among the environment's image sets.
    Latest,
    /// One version, as written (a semver such as `1.0.2`).
    Version(String),
}

impl From<ImageSetVersion> for String {
    fn from(version: ImageSetVersion) -> String {
        version.to_string()
    }
}

impl std::fmt::Display for ImageSetVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageSetVersion::Latest => f.write_str("latest"),
            ImageSetVersion::Version(version) => f.write_str(version),
        }
    }
}

impl<'de> Deserialize<'de> for ImageSetVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = match Value::deserialize(deserializer)? {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected a version string, found {other}"
                )))
            }
        };
        Ok(if text == "latest" {
            ImageSetVersion::Latest
        } else {
            ImageSetVersion::Version(text)
        })
    }
}

/// The OLM install modes managed-tenants supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstallMode {
    #[default]
    AllNamespaces,
    OwnNamespace,
}

impl InstallMode {
    pub fn as_str(self) -> &'static str {
        match self {
            InstallMode::AllNamespaces => "AllNamespaces",
            InstallMode::OwnNamespace => "OwnNamespace",
        }
    }
}

/// The steps of moving an add-on from SelectorSyncSet to SyncSet installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncsetMigration {
    #[serde(rename = "shortcircuit whitelist")]
    ShortcircuitWhitelist,
    #[serde(rename = "step 0 - delete addon migration")]
    Step0DeleteAddonMigration,
    #[serde(rename = "step 1 - block installations")]
    Step1BlockInstallations,
    #[serde(rename = "step 2 - orphan SSS objects")]
    Step2OrphanSssObjects,
    #[serde(rename = "step 3 - change SSS label")]
    Step3ChangeSssLabel,
    #[serde(rename = "step 4 - enable syncset")]
    Step4EnableSyncset,
    #[serde(rename = "step 5 - migration complete")]
    Step5MigrationComplete,
    #[serde(rename = "rollback step 1 - ocm")]
    RollbackStep1Ocm,
    #[serde(rename = "rollback step 2 - selectorsyncset")]
    RollbackStep2Selectorsyncset,
    #[serde(rename = "rollback step 3 - reset addon migration")]
    RollbackStep3ResetAddonMigration,
}

impl SyncsetMigration {
    pub const ALL: [&'static str; 10] = [
        "shortcircuit whitelist",
        "step 0 - delete addon migration",
        "step 1 - block installations",
        "step 2 - orphan SSS objects",
        "step 3 - change SSS label",
        "step 4 - enable syncset",
        "step 5 - migration complete",
        "rollback step 1 - ocm",
        "rollback step 2 - selectorsyncset",
        "rollback step 3 - reset addon migration",
    ];
}

/// `metricsFederation` (and the deprecated `monitoring`): what the federation
/// ServiceMonitor scrapes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsFederation {
    pub port_name: String,
    pub namespace: String,
    pub match_names: Vec<String>,
    pub match_labels: StringMap,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringStack {
    pub enabled: bool,
    pub resources: Option<MonitoringStackResources>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringStackResources {
    pub requests: Option<CpuMemory>,
    pub limits: Option<CpuMemory>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuMemory {
    pub cpu: String,
    pub memory: String,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleParameters {
    pub use_cluster_storage: Option<String>,
    pub alerting_email_address: Option<String>,
    pub bu_alerting_email_address: Option<String>,
    #[serde(rename = "alertSMTPFrom")]
    pub alert_smtp_from: Option<String>,
    pub addon_params_secret_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagerDuty {
    pub escalation_policy: String,
    pub acknowledge_timeout: u64,
    pub resolve_timeout: u64,
    pub secret_name: String,
    pub secret_namespace: String,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadmansSnitch {
    /// A label selector for ClusterDeployments; free-form in the schema.
    pub cluster_deployment_selector: Option<Map<String, Value>>,
    pub snitch_name_post_fix: Option<String>,
    pub target_secret_ref: Option<SecretRef>,
    pub tags: Vec<String>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRef {
    pub name: Option<String>,
    pub namespace: Option<String>,
}

/// `credentialsRequests[]`: cloud credentials an operator needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsRequest {
    pub name: String,
    pub namespace: String,
    pub service_account: String,
    pub policy_permissions: Vec<String>,
}

/// What catalog-build adds to the document: the catalog it pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundlesSummary {
    /// The OLM package (the add-on's `operatorName`).
    pub package: String,
    pub default_channel: String,
    pub channels: Vec<ChannelSummary>,
    pub bundles: Vec<BundleImage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelSummary {
    pub name: String,
    /// The CSV name at the head of the channel.
    pub head: String,
    /// CSV names in the channel, oldest first.
    pub entries: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleImage {
    /// The OLM package the bundle belongs to (dependency operators have their own).
    pub package: String,
    /// The CSV name, `<package>.v<version>`.
    pub name: String,
    pub version: String,
    /// `registry/repo@sha256:...`.
    pub image: String,
}

/// The add-on document: the metadata exactly as in `addon.yaml`, plus what the
/// tools learned about it on the way. addon-validate adds the resolved image
/// set and the extra resource files; catalog-build sets `indexImage` and adds
/// `bundles`.
///
/// Written out, its keys come in the order of the files it was read from
/// ([`KeyOrder`]), as templates see them in managed-tenants (`str()` of a
/// mapping prints its keys in file order); keys a tool added come after.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddonDocument {
    #[serde(flatten)]
    pub metadata: AddonMetadata,
    /// The image set `addonImageSetVersion` selected, as in its file.
    pub image_set: Option<ImageSet>,
    /// The text of each `extraResources` file and of every template they
    /// include (a Jinja template in managed-tenants), by the name they are
    /// loaded with, so later stages need not find the tree again.
    pub extra_resource_templates: Option<BTreeMap<String, String>>,
    pub bundles: Option<BundlesSummary>,
    /// The add-on's folder in the managed-tenants tree (`addons/<folder>/`)
    /// when it is not the id: managed-tenants' `Addon.name`, which
    /// templates see as `ADDON.name`.
    pub addon_folder: Option<String>,
    /// The key order of the files the document was read from.
    #[serde(skip)]
    pub key_order: KeyOrder,
    /// The document's seal (`crate::model::seal`), written as its last field:
    /// set by `crate::model::seal::seal` only, never by reading a document.
    #[serde(skip)]
    pub validated: Option<String>,
}

/// The document's fields as they go on the wire, before [`KeyOrder`] puts
/// them in file order.
#[serde_with::skip_serializing_none]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DocumentWire<'a> {
    #[serde(flatten)]
    metadata: &'a AddonMetadata,
    image_set: Option<&'a ImageSet>,
    extra_resource_templates: Option<&'a BTreeMap<String, String>>,
    bundles: Option<&'a BundlesSummary>,
    addon_folder: Option<&'a String>,
}

impl Serialize for AddonDocument {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let wire = DocumentWire {
            metadata: &self.metadata,
            image_set: self.image_set.as_ref(),
            extra_resource_templates: self.extra_resource_templates.as_ref(),
            bundles: self.bundles.as_ref(),
            addon_folder: self.addon_folder.as_ref(),
        };
        if self.key_order.is_empty() && self.validated.is_none() {
            return wire.serialize(serializer);
        }
        let value = serde_json::to_value(&wire).map_err(serde::ser::Error::custom)?;
        let mut value = self.key_order.apply(value);
        if let (Some(seal), Value::Object(map)) = (&self.validated, &mut value) {
            map.shift_remove(crate::model::seal::FIELD);
            map.insert(
                crate::model::seal::FIELD.to_string(),
                Value::from(seal.as_str()),
            );
        }
        value.serialize(serializer)
    }
}

/// Two documents are equal when they say the same; key order is not content.
impl PartialEq for AddonDocument {
    fn eq(&self, other: &Self) -> bool {
        self.metadata == other.metadata
            && self.image_set == other.image_set
            && self.extra_resource_templates == other.extra_resource_templates
            && self.bundles == other.bundles
            && self.addon_folder == other.addon_folder
    }
}

/// Top-level keys of the document that are not `addon.yaml` fields.
pub const DOCUMENT_SECTIONS: [&str; 5] = [
    "imageSet",
    "extraResourceTemplates",
    "bundles",
    "addonFolder",
    crate::model::seal::FIELD,
];

/// The key order of the YAML or JSON an add-on was read from: the parsed
/// value itself, whose mappings keep their keys in file order. Our types
/// hold the values; this only says in which order their keys are written.
#[derive(Debug, Clone, Default)]
pub struct KeyOrder(Option<std::sync::Arc<Value>>);

impl KeyOrder {
    /// The order of `value`'s mappings.
    pub fn of(value: Value) -> KeyOrder {
        KeyOrder::shared(std::sync::Arc::new(value))
    }

    /// The order of a value held elsewhere too (the loader's parsed input).
    pub fn shared(value: std::sync::Arc<Value>) -> KeyOrder {
        KeyOrder(Some(value))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The value whose mappings give the order, if there is one.
    pub fn model(&self) -> Option<&Value> {
        self.0.as_deref()
    }

    /// `value` with every mapping's keys in this order, recursively; keys
    /// this order does not know keep their place after the known ones.
    pub fn apply(&self, value: Value) -> Value {
        match &self.0 {
            Some(model) => order_like(value, model),
            None => value,
        }
    }
}

fn order_like(value: Value, model: &Value) -> Value {
    match (value, model) {
        (Value::Object(map), Value::Object(model)) => {
            // Each entry found and taken out once: removing them from the
            // map one by one shifted the rest every time (a fifth of writing
            // a document). Small maps are searched, larger ones indexed.
            let (mut keys, mut items): (Vec<String>, Vec<Option<Value>>) =
                map.into_iter().map(|(key, item)| (key, Some(item))).unzip();
            // Where each of the model's keys is, found first; the entries
            // are then moved, keys included, so that no key is copied.
            let found: Vec<(usize, &Value)> = {
                let index: Option<std::collections::HashMap<&str, usize>> =
                    (keys.len() > 16).then(|| {
                        keys.iter()
                            .enumerate()
                            .map(|(i, key)| (key.as_str(), i))
                            .collect()
                    });
                model
                    .iter()
                    .filter_map(|(key, sub_model)| {
                        let at = match &index {
                            Some(index) => index.get(key.as_str()).copied(),
                            None => keys.iter().position(|k| k == key),
                        };
                        Some((at?, sub_model))
                    })
                    .collect()
            };
            let mut ordered = Map::with_capacity(keys.len());
            for (at, sub_model) in found {
                if let Some(item) = items[at].take() {
                    ordered.insert(std::mem::take(&mut keys[at]), order_like(item, sub_model));
                }
            }
            ordered.extend(
                keys.into_iter()
                    .zip(items)
                    .filter_map(|(key, item)| Some((key, item?))),
            );
            Value::Object(ordered)
        }
        (Value::Array(items), Value::Array(models)) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match models.get(i) {
                    Some(model) => order_like(item, model),
                    None => item,
                })
                .collect(),
        ),
        (value, _) => value,
    }
}

impl AddonDocument {
    /// The metadata as `addon.yaml` holds it, keys in file order: what
    /// templates see as `ADDON.metadata`.
    pub fn ordered_metadata(&self) -> Value {
        self.key_order
            .apply(serde_json::to_value(&self.metadata).unwrap_or(Value::Null))
    }

    /// The catalog image: the image set's when one is selected, else `indexImage`.
    pub fn index_image(&self) -> Option<&str> {
        match &self.image_set {
            Some(set) => Some(set.index_image.as_str()),
            None => self.metadata.index_image.as_deref(),
        }
    }

    /// `config`, with managed-tenants' precedence: a non-empty image set config
    /// replaces the metadata's.
    pub fn config(&self) -> Option<&AddonConfig> {
        self.image_set
            .as_ref()
            .and_then(|set| set.config.as_ref())
            .filter(|config| !config.is_empty())
            .or(self.metadata.config.as_ref())
    }

    /// `addOnParameters` as the add-on's version carries them (what OCM
    /// checks an installation against): the image set's when its file has the
    /// key, an empty list included, else the metadata's.
    ///
    /// That is managed-tenants' rule for versions (`OcmCli._addon_from_imageset`
    /// copies every image set key present over the metadata's value), the only
    /// place it reads these three lists from an image set. `config()` follows
    /// another rule of managed-tenants, that of the rendered SelectorSyncSet
    /// (`Addon.get_envs`: an empty image set list falls back to the metadata's).
    pub fn parameters(&self) -> &[AddonParameter] {
        self.image_set_or_metadata(
            |set| set.add_on_parameters.as_deref(),
            |metadata| metadata.add_on_parameters.as_deref(),
        )
    }

    /// `addOnRequirements`, with the precedence of [`AddonDocument::parameters`].
    pub fn requirements(&self) -> &[AddonRequirement] {
        self.image_set_or_metadata(
            |set| set.add_on_requirements.as_deref(),
            |metadata| metadata.add_on_requirements.as_deref(),
        )
    }

    /// `subOperators`, with the precedence of [`AddonDocument::parameters`].
    pub fn sub_operators(&self) -> &[SubOperator] {
        self.image_set_or_metadata(
            |set| set.sub_operators.as_deref(),
            |metadata| metadata.sub_operators.as_deref(),
        )
    }

    /// The image set's list when its file names it at all, else the metadata's.
    fn image_set_or_metadata<'a, T>(
        &'a self,
        from_set: impl Fn(&'a ImageSet) -> Option<&'a [T]>,
        from_metadata: impl Fn(&'a AddonMetadata) -> Option<&'a [T]>,
    ) -> &'a [T] {
        self.image_set
            .as_ref()
            .and_then(from_set)
            .or_else(|| from_metadata(&self.metadata))
            .unwrap_or(&[])
    }

    /// The Subscription environment: the image set's `config.env` if it has
    /// one, else the metadata's.
    pub fn env(&self) -> &[EnvVar] {
        self.config_list(|config| config.env.as_deref())
    }

    /// The secrets to propagate, with the same precedence as `env`.
    pub fn secrets(&self) -> &[ConfigSecret] {
        self.config_list(|config| config.secrets.as_deref())
    }

    fn config_list<'a, T>(&'a self, pick: impl Fn(&'a AddonConfig) -> Option<&'a [T]>) -> &'a [T] {
        let from_set = self
            .image_set
            .as_ref()
            .and_then(|set| set.config.as_ref())
            .and_then(&pick);
        match from_set {
            Some(list) if !list.is_empty() => list,
            _ => self.metadata.config.as_ref().and_then(pick).unwrap_or(&[]),
        }
    }

    /// `pullSecretName`: the image set's, else the metadata's.
    pub fn pull_secret_name(&self) -> Option<&str> {
        self.image_set
            .as_ref()
            .and_then(|set| set.pull_secret_name.as_deref())
            .or(self.metadata.pull_secret_name.as_deref())
    }

    /// `additionalCatalogSources`: the image set's if non-empty, else the metadata's.
    pub fn additional_catalog_sources(&self) -> &[AdditionalCatalogSource] {
        let from_set = self
            .image_set
            .as_ref()
            .and_then(|set| set.additional_catalog_sources.as_deref());
        match from_set {
            Some(list) if !list.is_empty() => list,
            _ => self
                .metadata
                .additional_catalog_sources
                .as_deref()
                .unwrap_or(&[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::testing::minimal_addon as minimal;

    #[test]
    fn round_trips_without_adding_or_dropping_fields() {
        let mut value = minimal();
        value["startingCSV"] = json!("my-addon.v1.0.0");
        value["addOnParameters"] = json!([{"id": "size", "name": "Size", "description": "d", "value_type": "string",
            "required": true, "editable": false, "enabled": true, "default_value": "1"}]);
        value["config"] = json!({"env": [{"name": "A", "value": "b"}]});
        let doc: AddonDocument = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&doc).unwrap(), value);
    }

    #[test]
    fn image_set_version_keeps_null_apart_from_absent() {
        let absent: AddonMetadata = serde_json::from_value(minimal()).unwrap();
        assert_eq!(absent.addon_image_set_version, None);
        let mut value = minimal();
        value["addonImageSetVersion"] = Value::Null;
        let null: AddonMetadata = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(null.addon_image_set_version, Some(None));
        assert_eq!(
            serde_json::to_value(&null).unwrap()["addonImageSetVersion"],
            Value::Null
        );
        value["addonImageSetVersion"] = json!("latest");
        let latest: AddonMetadata = serde_json::from_value(value).unwrap();
        assert_eq!(
            latest.addon_image_set_version,
            Some(Some(ImageSetVersion::Latest))
        );
    }

    /// managed-tenants-cli's `OcmCli._addon_from_imageset`
    /// (managedtenants/utils/ocm.py) first sets `parameters`, `requirements`
    /// and `sub_operators` from the metadata (`_set_default_values_for_addon_version`),
    /// then `for key, val in imageset.items(): ... addon[mapped_key] = val`:
    /// an image set key that is present wins, an empty list included.
    #[test]
    fn version_lists_come_from_the_image_set_when_its_file_names_them_even_empty() {
        let parameter: AddonParameter =
            serde_json::from_value(json!({"id": "size", "name": "Size",
            "description": "d", "value_type": "string", "required": false, "editable": true,
            "enabled": true}))
            .unwrap();
        let requirement: AddonRequirement = serde_json::from_value(
            json!({"id": "cpu", "resource": "cluster", "data": {}, "enabled": true}),
        )
        .unwrap();
        let sub_operator: SubOperator = serde_json::from_value(json!({"operator_name": "sub",
            "operator_namespace": "redhat-sub", "enabled": true}))
        .unwrap();
        let mut doc: AddonDocument = serde_json::from_value(minimal()).unwrap();
        assert!(doc.parameters().is_empty() && doc.requirements().is_empty());
        doc.metadata.add_on_parameters = Some(vec![parameter.clone()]);
        doc.metadata.add_on_requirements = Some(vec![requirement.clone()]);
        doc.metadata.sub_operators = Some(vec![sub_operator.clone()]);
        let set = ImageSet {
            name: "my-addon.v1.0.0".into(),
            index_image: "quay.io/osd-addons/my-addon-index@sha256:1".into(),
            ..ImageSet::default()
        };
        // An image set without the keys: the metadata's lists.
        doc.image_set = Some(set.clone());
        assert_eq!(doc.parameters(), std::slice::from_ref(&parameter));
        assert_eq!(doc.requirements(), [requirement]);
        assert_eq!(doc.sub_operators(), [sub_operator]);
        // An image set that names them empty: empty, not the metadata's.
        doc.image_set = Some(ImageSet {
            add_on_parameters: Some(vec![]),
            add_on_requirements: Some(vec![]),
            sub_operators: Some(vec![]),
            ..set.clone()
        });
        assert!(doc.parameters().is_empty());
        assert!(doc.requirements().is_empty());
        assert!(doc.sub_operators().is_empty());
        // And its own values when it has some.
        let mut other = parameter;
        other.id = "replicas".into();
        doc.image_set = Some(ImageSet {
            add_on_parameters: Some(vec![other.clone()]),
            ..set
        });
        assert_eq!(doc.parameters(), [other]);
    }

    #[test]
    fn a_document_is_written_in_the_key_order_it_was_read_in() {
        let mut value = minimal();
        value["namespaceLabels"] = json!({"b": "1", "a": "2"});
        let mut doc: AddonDocument = serde_json::from_value(value).unwrap();
        // Our types hold labels sorted and fields in declaration order.
        let plain = serde_json::to_value(&doc).unwrap();
        let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
        assert_eq!(keys(&plain["namespaceLabels"]), ["a", "b"]);
        // Read from a file whose keys came in another order, it is written
        // in that order; keys the file lacks (indexImage, set by a tool)
        // come after.
        doc.key_order = KeyOrder::of(json!({
            "namespaceLabels": {"b": "1", "a": "2"}, "name": "x", "id": "y"
        }));
        doc.metadata.index_image = Some("quay.io/osd-addons/x@sha256:1".into());
        let ordered = serde_json::to_value(&doc).unwrap();
        assert_eq!(keys(&ordered)[..3], ["namespaceLabels", "name", "id"]);
        assert_eq!(keys(&ordered).last().unwrap(), "indexImage");
        assert_eq!(keys(&ordered["namespaceLabels"]), ["b", "a"]);
        assert_eq!(
            keys(&doc.ordered_metadata())[..3],
            ["namespaceLabels", "name", "id"]
        );
        // The order is not content.
        let again: AddonDocument = serde_json::from_value(ordered).unwrap();
        assert_eq!(again, doc);
    }

    #[test]
    fn order_like_puts_known_keys_in_the_models_order_and_keeps_the_rest_after() {
        let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
        // Small and large maps (searched, indexed), nested, in lists.
        for size in [3, 40] {
            let names: Vec<String> = (0..size).map(|i| format!("k{i:02}")).collect();
            let value = Value::Object(
                names
                    .iter()
                    .map(|k| (k.clone(), json!({"y": 1, "x": [ {"b": 1, "a": 2} ]})))
                    .collect(),
            );
            // The model knows every other key, backwards, and the inner order.
            let inner = json!({"x": [{"a": 0, "b": 0}], "y": 0, "gone": 0});
            let model = Value::Object(
                names
                    .iter()
                    .rev()
                    .step_by(2)
                    .map(|k| (k.clone(), inner.clone()))
                    .collect(),
            );
            let ordered = order_like(value.clone(), &model);
            let known: Vec<String> = names.iter().rev().step_by(2).cloned().collect();
            let rest: Vec<String> = names
                .iter()
                .filter(|k| !known.contains(k))
                .cloned()
                .collect();
            assert_eq!(
                keys(&ordered),
                [known.clone(), rest].concat(),
                "{size} keys"
            );
            let first = &ordered[&known[0]];
            assert_eq!(keys(first), ["x", "y"]);
            assert_eq!(keys(&first["x"][0]), ["a", "b"]);
            // Only the order changed.
            assert_eq!(ordered, value);
        }
    }

    #[test]
    fn image_set_values_take_precedence() {
        let mut doc: AddonDocument = serde_json::from_value(minimal()).unwrap();
        doc.metadata.config = Some(AddonConfig {
            env: Some(vec![EnvVar {
                name: "FROM".into(),
                value: "metadata".into(),
            }]),
            secrets: None,
        });
        doc.metadata.pull_secret_name = Some("meta-pull".into());
        assert_eq!(doc.env()[0].value, "metadata");
        doc.image_set = Some(ImageSet {
            name: "my-addon.v1.0.0".into(),
            index_image: "quay.io/osd-addons/my-addon-index@sha256:1".into(),
            config: Some(AddonConfig {
                env: Some(vec![EnvVar {
                    name: "FROM".into(),
                    value: "set".into(),
                }]),
                secrets: None,
            }),
            ..ImageSet::default()
        });
        assert_eq!(doc.env()[0].value, "set");
        assert_eq!(
            doc.index_image(),
            Some("quay.io/osd-addons/my-addon-index@sha256:1")
        );
        assert_eq!(doc.pull_secret_name(), Some("meta-pull"));
        assert!(doc.secrets().is_empty());
    }
}
