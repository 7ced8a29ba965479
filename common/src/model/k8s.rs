//! Kubernetes, OLM and Hive objects as serde types that mirror the APIs field
//! for field (`k8s.io/api`, `operator-framework/api`, `openshift/hive/apis`),
//! so what syncset-render writes is exactly what the API server reads.
//!
//! Only the fields addon-flow writes or reads are modelled; optional fields
//! are `Option` and left out when unset, maps are `BTreeMap` so the output is
//! the same byte for byte on every run.

mod list_writer;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use list_writer::{EncodedItem, ListWriter, MetadataPlace};

/// Labels, annotations, selectors: string keys to string values, sorted.
pub type StringMap = BTreeMap<String, String>;

/// `metadata` of every object (`meta/v1 ObjectMeta`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub labels: Option<StringMap>,
    pub annotations: Option<StringMap>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub generation: Option<i64>,
    pub creation_timestamp: Option<String>,
    pub managed_fields: Option<Vec<ManagedFieldsEntry>>,
}

impl ObjectMeta {
    /// A cluster-scoped object's metadata.
    pub fn named(name: impl Into<String>) -> Self {
        ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        }
    }

    /// A namespaced object's metadata.
    pub fn namespaced(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        }
    }

    /// Sets labels and annotations, leaving out empty maps (as managed-tenants does).
    pub fn with_labels_annotations(mut self, labels: StringMap, annotations: StringMap) -> Self {
        self.labels = (!labels.is_empty()).then_some(labels);
        self.annotations = (!annotations.is_empty()).then_some(annotations);
        self
    }
}

/// One field manager's claim on an object (`meta/v1 ManagedFieldsEntry`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedFieldsEntry {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub api_version: Option<String>,
    pub time: Option<String>,
    pub fields_type: Option<String>,
    #[serde(rename = "fieldsV1")]
    pub fields_v1: Option<Value>,
}

/// `kind: List`: what syncset-render writes and hive-apply reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
    #[serde(serialize_with = "serialize_objects")]
    pub items: Vec<Object>,
}

impl List {
    pub fn new(items: Vec<Object>) -> Self {
        List {
            api_version: "v1".into(),
            kind: "List".into(),
            metadata: BTreeMap::new(),
            items,
        }
    }

    /// The List written with its `metadata` after its `items`. A fleet
    /// List's metadata carries the inventory: written last, a YAML List cut
    /// short at an item boundary (which still parses) has lost it, and so
    /// cannot prove to be whole.
    pub fn metadata_last(&self) -> MetadataLast<'_> {
        MetadataLast {
            api_version: &self.api_version,
            kind: &self.kind,
            items: Objects(&self.items),
            metadata: &self.metadata,
        }
    }
}

/// [`List::metadata_last`]: the same fields, `metadata` last.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataLast<'a> {
    api_version: &'a str,
    kind: &'a str,
    items: Objects<'a>,
    metadata: &'a BTreeMap<String, Value>,
}

/// A List's items, serialised as [`List`] serialises them.
#[derive(Debug)]
struct Objects<'a>(&'a [Object]);

impl Serialize for Objects<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_objects(self.0, serializer)
    }
}

/// Any object addon-flow renders. Untagged: each variant carries its own
/// `apiVersion` and `kind`, and `Other` keeps extra resources as written.
/// Reading picks the variant by `kind`, falling back to `Other`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    Namespace(Namespace),
    /// Many Namespaces alike but for their names; in a List's `items` or a
    /// SyncSet's `resources` they serialise as that many Namespace objects.
    Namespaces(NamespaceSet),
    ConfigMap(ConfigMap),
    CatalogSource(CatalogSource),
    NetworkPolicy(NetworkPolicy),
    OperatorGroup(OperatorGroup),
    Subscription(Subscription),
    ServiceMonitor(ServiceMonitor),
    SelectorSyncSet(SelectorSyncSet),
    SyncSet(SyncSet),
    PagerDutyIntegration(PagerDutyIntegration),
    DeadmansSnitchIntegration(DeadmansSnitchIntegration),
    /// An object of a kind we do not model (extra resources).
    Other(Value),
}

impl Object {
    /// Sets the label `key` to `value` on the object (on each Namespace of a
    /// set), keeping its other labels; says what it changed
    /// ([`LabelUndo`]).
    pub fn insert_label(&mut self, key: &str, value: &str) -> LabelUndo {
        let insert = |labels: &mut Option<StringMap>| {
            let undo = match labels {
                None => LabelUndo::Labels,
                Some(map) => match map.get(key) {
                    Some(old) => LabelUndo::Restore(Value::from(old.as_str())),
                    None => LabelUndo::Key,
                },
            };
            labels
                .get_or_insert_with(StringMap::new)
                .insert(key.to_string(), value.to_string());
            undo
        };
        match self {
            Object::Namespace(o) => insert(&mut o.metadata.labels),
            Object::Namespaces(set) => insert(&mut set.labels),
            Object::ConfigMap(o) => insert(&mut o.metadata.labels),
            Object::CatalogSource(o) => insert(&mut o.metadata.labels),
            Object::NetworkPolicy(o) => insert(&mut o.metadata.labels),
            Object::OperatorGroup(o) => insert(&mut o.metadata.labels),
            Object::Subscription(o) => insert(&mut o.metadata.labels),
            Object::ServiceMonitor(o) => insert(&mut o.metadata.labels),
            Object::SelectorSyncSet(o) => insert(&mut o.metadata.labels),
            Object::SyncSet(o) => insert(&mut o.metadata.labels),
            Object::PagerDutyIntegration(o) => insert(&mut o.metadata.labels),
            Object::DeadmansSnitchIntegration(o) => insert(&mut o.metadata.labels),
            Object::Other(object) => insert_label_into(object, key, value),
        }
    }
}

/// An extra resource as written: a label map is made where it has none; a
/// `metadata` or `labels` that is not a mapping is left alone (the API
/// server refuses it anyway).
fn insert_label_into(object: &mut Value, key: &str, value: &str) -> LabelUndo {
    let Some(object) = object.as_object_mut() else {
        return LabelUndo::Nothing;
    };
    let (made_metadata, Some(metadata)) = mapping_at(object, "metadata") else {
        return LabelUndo::Nothing;
    };
    let (made_labels, Some(labels)) = mapping_at(metadata, "labels") else {
        return LabelUndo::Nothing;
    };
    let old = labels.insert(key.to_string(), Value::from(value));
    match (made_metadata, made_labels, old) {
        (true, _, _) => LabelUndo::Metadata,
        (false, true, _) => LabelUndo::Labels,
        (false, false, Some(old)) => LabelUndo::Restore(old),
        (false, false, None) => LabelUndo::Key,
    }
}

/// The mapping at `key` of `object`, made (empty) when the key is absent:
/// whether it was made, and `None` when the value there is not a mapping.
fn mapping_at<'a>(
    object: &'a mut serde_json::Map<String, Value>,
    key: &str,
) -> (bool, Option<&'a mut serde_json::Map<String, Value>>) {
    let made = !object.contains_key(key);
    let value = object
        .entry(key)
        .or_insert_with(|| Value::Object(Default::default()));
    (made, value.as_object_mut())
}

/// What [`Object::insert_label`] changed, to take it back out of the
/// object's serialised form ([`LabelUndo::apply`]): syncset-render labels a
/// stream's objects before the stream's end says whether they should be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LabelUndo {
    /// Nothing was changed: `metadata` or its `labels` is not a mapping.
    Nothing,
    /// `metadata` was made to hold the label.
    Metadata,
    /// `metadata.labels` was made to hold it.
    Labels,
    /// The key was added to the labels.
    Key,
    /// The key was there with this value.
    Restore(Value),
}

impl LabelUndo {
    /// Takes label `key` back out of `object` (the labelled object,
    /// serialised): the result serialises as the object did before it was
    /// labelled, keys in the same order.
    pub fn apply(&self, object: &mut Value, key: &str) {
        let Some(object) = object.as_object_mut() else {
            return;
        };
        if *self == LabelUndo::Metadata {
            object.shift_remove("metadata");
            return;
        }
        let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        if *self == LabelUndo::Labels {
            metadata.shift_remove("labels");
            return;
        }
        let Some(labels) = metadata.get_mut("labels").and_then(Value::as_object_mut) else {
            return;
        };
        match self {
            LabelUndo::Key => {
                labels.shift_remove(key);
            }
            LabelUndo::Restore(old) => {
                labels.insert(key.to_string(), old.clone());
            }
            _ => {}
        }
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        fn typed<T: serde::de::DeserializeOwned>(
            value: &Value,
            wrap: fn(T) -> Object,
        ) -> Option<Object> {
            serde_json::from_value(value.clone()).ok().map(wrap)
        }
        let object = match kind {
            "Namespace" => typed(&value, Object::Namespace),
            "ConfigMap" => typed(&value, Object::ConfigMap),
            "CatalogSource" => typed(&value, Object::CatalogSource),
            "NetworkPolicy" => typed(&value, Object::NetworkPolicy),
            "OperatorGroup" => typed(&value, Object::OperatorGroup),
            "Subscription" => typed(&value, Object::Subscription),
            "ServiceMonitor" => typed(&value, Object::ServiceMonitor),
            "SelectorSyncSet" => typed(&value, Object::SelectorSyncSet),
            "SyncSet" => typed(&value, Object::SyncSet),
            "PagerDutyIntegration" => typed(&value, Object::PagerDutyIntegration),
            "DeadmansSnitchIntegration" => typed(&value, Object::DeadmansSnitchIntegration),
            _ => None,
        };
        Ok(object.unwrap_or(Object::Other(value)))
    }
}

/// The `apiVersion`/`kind` pair every object starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeMeta {
    pub api_version: String,
    pub kind: String,
}

impl TypeMeta {
    pub fn new(api_version: &str, kind: &str) -> Self {
        TypeMeta {
            api_version: api_version.into(),
            kind: kind.into(),
        }
    }
}

/// `v1 Namespace`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
}

impl Namespace {
    pub fn new(metadata: ObjectMeta) -> Self {
        Namespace {
            type_meta: TypeMeta::new("v1", "Namespace"),
            metadata,
        }
    }
}

/// Namespaces that differ only in name, held as the names and one pair of
/// label and annotation maps; each `v1 Namespace` is produced while
/// serialising. Why: an add-on may list 300,000 namespaces, and a typed
/// Namespace with its own maps costs ~2 KB each (754 MB, issue 14).
/// Reading a List back yields plain [`Namespace`] objects.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceSet {
    pub names: Vec<String>,
    pub labels: Option<StringMap>,
    pub annotations: Option<StringMap>,
}

impl NamespaceSet {
    /// Leaves out empty maps, as [`ObjectMeta::with_labels_annotations`] does.
    pub fn new(names: Vec<String>, labels: StringMap, annotations: StringMap) -> Self {
        NamespaceSet {
            names,
            labels: (!labels.is_empty()).then_some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
        }
    }

    /// Each Namespace as [`Namespace`] would serialise it, borrowing the maps.
    fn objects(&self) -> impl Iterator<Item = NamespaceView<'_>> {
        self.names.iter().map(|name| NamespaceView {
            api_version: "v1",
            kind: "Namespace",
            metadata: NamespaceMetaView {
                name,
                labels: self.labels.as_ref(),
                annotations: self.annotations.as_ref(),
            },
        })
    }
}

/// Alone (outside a List or SyncSet), a set serialises as a sequence.
impl Serialize for NamespaceSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.objects())
    }
}

/// One Namespace of a [`NamespaceSet`], field for field as [`Namespace`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceView<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: NamespaceMetaView<'a>,
}

/// The [`ObjectMeta`] fields a Namespace of a set has, in the same order.
#[serde_with::skip_serializing_none]
#[derive(Serialize)]
struct NamespaceMetaView<'a> {
    name: &'a str,
    labels: Option<&'a StringMap>,
    annotations: Option<&'a StringMap>,
}

/// Objects as one sequence, each [`NamespaceSet`] as its Namespaces in place.
fn serialize_objects<S: serde::Serializer>(
    objects: &[Object],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let len = objects
        .iter()
        .map(|object| match object {
            Object::Namespaces(set) => set.names.len(),
            _ => 1,
        })
        .sum();
    let mut seq = serializer.serialize_seq(Some(len))?;
    for object in objects {
        match object {
            Object::Namespaces(set) => {
                for namespace in set.objects() {
                    seq.serialize_element(&namespace)?;
                }
            }
            other => seq.serialize_element(other)?,
        }
    }
    seq.end()
}

/// `v1 ConfigMap`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigMap {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    pub data: Option<StringMap>,
}

impl ConfigMap {
    pub fn new(metadata: ObjectMeta) -> Self {
        ConfigMap {
            type_meta: TypeMeta::new("v1", "ConfigMap"),
            metadata,
            data: None,
        }
    }
}

/// `operators.coreos.com/v1alpha1 CatalogSource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogSource {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    pub spec: CatalogSourceSpec,
}

impl CatalogSource {
    pub fn new(metadata: ObjectMeta, spec: CatalogSourceSpec) -> Self {
        CatalogSource {
            type_meta: TypeMeta::new("operators.coreos.com/v1alpha1", "CatalogSource"),
            metadata,
            spec,
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogSourceSpec {
    pub display_name: String,
    pub image: String,
    pub publisher: String,
    /// `grpc` for an index image.
    pub source_type: String,
    /// Pull secrets in the CatalogSource's namespace.
    pub secrets: Option<Vec<String>>,
    pub update_strategy: Option<UpdateStrategy>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStrategy {
    pub registry_poll: RegistryPoll,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryPoll {
    /// A Go duration such as `10m`.
    pub interval: String,
}

/// `meta/v1 LabelSelector`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    pub match_labels: Option<StringMap>,
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

impl LabelSelector {
    pub fn labels(labels: StringMap) -> Self {
        LabelSelector {
            match_labels: Some(labels),
            match_expressions: None,
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSelectorRequirement {
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    pub values: Option<Vec<String>>,
}

/// `networking.k8s.io/v1 NetworkPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkPolicy {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    pub spec: NetworkPolicySpec,
}

impl NetworkPolicy {
    pub fn new(metadata: ObjectMeta, spec: NetworkPolicySpec) -> Self {
        NetworkPolicy {
            type_meta: TypeMeta::new("networking.k8s.io/v1", "NetworkPolicy"),
            metadata,
            spec,
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    pub pod_selector: LabelSelector,
    pub ingress: Option<Vec<NetworkPolicyIngressRule>>,
    pub policy_types: Option<Vec<String>>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPolicyIngressRule {
    pub ports: Option<Vec<NetworkPolicyPort>>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPolicyPort {
    pub protocol: Option<String>,
    pub port: Option<i32>,
}

/// `operators.coreos.com/v1alpha2 OperatorGroup`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorGroup {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    /// Absent for AllNamespaces: an OperatorGroup without target namespaces
    /// watches the whole cluster.
    pub spec: Option<OperatorGroupSpec>,
}

impl OperatorGroup {
    pub fn new(metadata: ObjectMeta, spec: Option<OperatorGroupSpec>) -> Self {
        OperatorGroup {
            type_meta: TypeMeta::new("operators.coreos.com/v1alpha2", "OperatorGroup"),
            metadata,
            spec,
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorGroupSpec {
    pub target_namespaces: Option<Vec<String>>,
}

/// `operators.coreos.com/v1alpha1 Subscription`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    pub spec: SubscriptionSpec,
}

impl Subscription {
    pub fn new(metadata: ObjectMeta, spec: SubscriptionSpec) -> Self {
        Subscription {
            type_meta: TypeMeta::new("operators.coreos.com/v1alpha1", "Subscription"),
            metadata,
            spec,
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionSpec {
    pub channel: String,
    /// The OLM package name.
    pub name: String,
    pub source: String,
    pub source_namespace: String,
    pub config: Option<SubscriptionConfig>,
    #[serde(rename = "startingCSV")]
    pub starting_csv: Option<String>,
    /// `Automatic` (OLM's default) or `Manual`.
    pub install_plan_approval: Option<String>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionConfig {
    pub env: Option<Vec<EnvVar>>,
}

/// `v1 EnvVar` (literal values only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// `monitoring.coreos.com/v1 ServiceMonitor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceMonitor {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    pub spec: ServiceMonitorSpec,
}

impl ServiceMonitor {
    pub fn new(metadata: ObjectMeta, spec: ServiceMonitorSpec) -> Self {
        ServiceMonitor {
            type_meta: TypeMeta::new("monitoring.coreos.com/v1", "ServiceMonitor"),
            metadata,
            spec,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorSpec {
    pub endpoints: Vec<Endpoint>,
    pub namespace_selector: NamespaceSelector,
    pub selector: LabelSelector,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub bearer_token_file: Option<String>,
    pub honor_labels: Option<bool>,
    pub port: Option<String>,
    pub path: Option<String>,
    pub scheme: Option<String>,
    pub interval: Option<String>,
    pub tls_config: Option<TlsConfig>,
    pub params: Option<BTreeMap<String, Vec<String>>>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    pub ca_file: Option<String>,
    pub server_name: Option<String>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    pub match_names: Option<Vec<String>>,
}

/// What Hive does with objects a SyncSet no longer lists: `Sync` deletes
/// them, `Upsert` leaves them.
pub const APPLY_MODE_SYNC: &str = "Sync";
pub const APPLY_MODE_UPSERT: &str = "Upsert";

/// `hive.openshift.io/v1 SyncSetCommonSpec`: what both kinds of SyncSet apply.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSetCommonSpec {
    /// Shared, not owned: a render for thousands of clusters gives each
    /// cluster namespace's SyncSet the same resources, and a deep copy for
    /// each cost more than writing them.
    #[serde(
        default,
        skip_serializing_if = "<[Object]>::is_empty",
        serialize_with = "serialize_objects"
    )]
    pub resources: Arc<[Object]>,
    /// `Sync` or `Upsert`.
    pub resource_apply_mode: Option<String>,
    pub patches: Option<Vec<SyncObjectPatch>>,
    pub secret_mappings: Option<Vec<SecretMapping>>,
    /// `Apply` (the default), `CreateOnly` or `CreateOrUpdate`.
    pub apply_behavior: Option<String>,
    /// Honour `{{ fromCDLabel "key" }}` in resources.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_resource_templates: bool,
    /// Honour `{{ fromCDLabel "key" }}` in patches.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_patch_templates: bool,
}

/// A patch Hive applies to an object on the cluster.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncObjectPatch {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub patch: String,
    /// `json`, `merge` or `strategic`.
    pub patch_type: Option<String>,
}

/// A secret on the Hive cluster copied to the managed cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretMapping {
    pub source_ref: SecretReference,
    pub target_ref: SecretReference,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretReference {
    pub name: String,
    pub namespace: Option<String>,
}

/// `hive.openshift.io/v1 SelectorSyncSet`: applied to every ClusterDeployment
/// whose labels match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectorSyncSet {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    pub spec: SelectorSyncSetSpec,
}

impl SelectorSyncSet {
    pub fn new(metadata: ObjectMeta, spec: SelectorSyncSetSpec) -> Self {
        SelectorSyncSet {
            type_meta: TypeMeta::new("hive.openshift.io/v1", "SelectorSyncSet"),
            metadata,
            spec,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectorSyncSetSpec {
    pub cluster_deployment_selector: LabelSelector,
    #[serde(flatten)]
    pub common: SyncSetCommonSpec,
}

/// `hive.openshift.io/v1 SyncSet`: applied to the ClusterDeployments it names,
/// in its own namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncSet {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    pub spec: SyncSetSpec,
}

impl SyncSet {
    pub fn new(metadata: ObjectMeta, spec: SyncSetSpec) -> Self {
        SyncSet {
            type_meta: TypeMeta::new("hive.openshift.io/v1", "SyncSet"),
            metadata,
            spec,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSetSpec {
    pub cluster_deployment_refs: Vec<LocalObjectReference>,
    #[serde(flatten)]
    pub common: SyncSetCommonSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalObjectReference {
    pub name: String,
}

/// `hiveinternal.openshift.io/v1alpha1 ClusterSync`: Hive's record of what it
/// applied to one cluster (same name and namespace as the ClusterDeployment).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterSync {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub status: Option<ClusterSyncStatus>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSyncStatus {
    pub sync_sets: Option<Vec<SyncStatus>>,
    pub selector_sync_sets: Option<Vec<SyncStatus>>,
    pub conditions: Option<Vec<Value>>,
    /// When every (Selector)SyncSet first applied successfully.
    pub first_success_time: Option<String>,
    pub controlled_by_replica: Option<i64>,
}

/// The state of one (Selector)SyncSet on one cluster.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub name: String,
    /// The `metadata.generation` of the SyncSet that was applied.
    #[serde(default)]
    pub observed_generation: i64,
    /// `Success` or `Failure`.
    pub result: String,
    pub failure_message: Option<String>,
    /// Objects Hive will delete because the SyncSet no longer lists them.
    pub resources_to_delete: Option<Vec<Value>>,
    pub last_transition_time: Option<String>,
    pub first_success_time: Option<String>,
}

/// `hive.openshift.io/v1 PagerDutyIntegration` (pagerduty-operator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagerDutyIntegration {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    pub spec: PagerDutyIntegrationSpec,
}

impl PagerDutyIntegration {
    pub fn new(metadata: ObjectMeta, spec: PagerDutyIntegrationSpec) -> Self {
        PagerDutyIntegration {
            type_meta: TypeMeta::new("pagerduty.openshift.io/v1alpha1", "PagerDutyIntegration"),
            metadata,
            spec,
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagerDutyIntegrationSpec {
    pub acknowledge_timeout: u64,
    pub resolve_timeout: u64,
    pub escalation_policy: String,
    pub service_prefix: String,
    pub pagerduty_api_key_secret_ref: NamespacedName,
    pub service_orchestration: Option<ServiceOrchestration>,
    pub cluster_deployment_selector: LabelSelector,
    pub target_secret_ref: NamespacedName,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOrchestration {
    pub enabled: bool,
    pub rule_config_config_map_ref: Option<NamespacedName>,
}

/// A secret or config map reference with its namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespacedName {
    pub name: String,
    pub namespace: String,
}

/// `deadmanssnitch.managed.openshift.io/v1alpha1 DeadmansSnitchIntegration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadmansSnitchIntegration {
    #[serde(flatten)]
    pub type_meta: TypeMeta,
    pub metadata: ObjectMeta,
    pub spec: DeadmansSnitchIntegrationSpec,
}

impl DeadmansSnitchIntegration {
    pub fn new(metadata: ObjectMeta, spec: DeadmansSnitchIntegrationSpec) -> Self {
        DeadmansSnitchIntegration {
            type_meta: TypeMeta::new(
                "deadmanssnitch.managed.openshift.io/v1alpha1",
                "DeadmansSnitchIntegration",
            ),
            metadata,
            spec,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadmansSnitchIntegrationSpec {
    /// A label selector; free-form in the add-on metadata, so kept as written.
    pub cluster_deployment_selector: Value,
    #[serde(rename = "dmsAPIKeySecretRef")]
    pub dms_api_key_secret_ref: NamespacedName,
    pub snitch_name_post_fix: String,
    pub tags: Vec<String>,
    pub target_secret_ref: NamespacedName,
}

/// A Kubernetes `Status` object: the body of every API error.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Status {
    pub kind: String,
    pub api_version: String,
    pub metadata: BTreeMap<String, Value>,
    /// `Success` or `Failure`.
    pub status: String,
    pub message: String,
    /// `NotFound`, `Conflict`, `Unauthorized`, ...
    pub reason: String,
    pub details: Option<Value>,
    pub code: u16,
}

impl Status {
    /// A `Failure` Status as the API server writes it.
    pub fn failure(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Status {
            kind: "Status".into(),
            api_version: "v1".into(),
            metadata: BTreeMap::new(),
            status: "Failure".into(),
            message: message.into(),
            reason: reason.into(),
            details: None,
            code,
        }
    }

    pub fn success() -> Self {
        Status {
            kind: "Status".into(),
            api_version: "v1".into(),
            status: "Success".into(),
            code: 200,
            ..Status::default()
        }
    }
}

/// `meta/v1 APIResourceList`: one group version's kinds, from discovery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiResourceList {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub api_version: String,
    pub group_version: String,
    pub resources: Vec<ApiResource>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiResource {
    /// The plural resource name (`selectorsyncsets`), or `name/sub` for a subresource.
    pub name: String,
    #[serde(default)]
    pub singular_name: String,
    pub namespaced: bool,
    pub kind: String,
    #[serde(default)]
    pub verbs: Vec<String>,
}

/// Splits `group/version` (or a core `v1`) into group and version.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_may_be_written_with_its_metadata_last() {
        let mut list = List::new(vec![Object::Namespaces(NamespaceSet::new(
            vec!["a".into(), "b".into()],
            StringMap::new(),
            StringMap::new(),
        ))]);
        list.metadata
            .insert("annotations".into(), serde_json::json!({"k": "v"}));
        let text = serde_json::to_string(&list.metadata_last()).unwrap();
        assert_eq!(
            text,
            r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}],"metadata":{"annotations":{"k":"v"}}}"#
        );
    }

    #[test]
    fn a_label_is_added_to_every_kind_of_object_keeping_the_others() {
        let labelled = |mut object: Object| {
            object.insert_label("addon-flow.openshift.io/addon", "my-addon");
            serde_json::to_value(&object).unwrap()
        };
        let set = labelled(Object::SelectorSyncSet(SelectorSyncSet::new(
            ObjectMeta::named("addon-my-addon").with_labels_annotations(
                StringMap::from([("team".to_string(), "x".to_string())]),
                StringMap::new(),
            ),
            SelectorSyncSetSpec::default(),
        )));
        assert_eq!(
            set["metadata"]["labels"],
            serde_json::json!({"addon-flow.openshift.io/addon": "my-addon", "team": "x"})
        );
        let other = labelled(Object::Other(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}
        })));
        assert_eq!(
            other["metadata"]["labels"],
            serde_json::json!({"addon-flow.openshift.io/addon": "my-addon"})
        );
        let namespaces = labelled(Object::Namespaces(NamespaceSet::new(
            vec!["a".into(), "b".into()],
            StringMap::new(),
            StringMap::new(),
        )));
        for namespace in namespaces.as_array().unwrap() {
            assert_eq!(
                namespace["metadata"]["labels"]["addon-flow.openshift.io/addon"],
                "my-addon"
            );
        }
    }
    use serde_json::json;

    #[test]
    fn a_label_taken_back_leaves_each_object_as_it_was_serialised() {
        const KEY: &str = "addon-flow.openshift.io/addon";
        let objects = vec![
            Object::SelectorSyncSet(SelectorSyncSet::new(
                ObjectMeta::named("plain"),
                SelectorSyncSetSpec::default(),
            )),
            Object::ConfigMap(ConfigMap::new(
                ObjectMeta::named("cm").with_labels_annotations(
                    StringMap::from([("z".into(), "1".into()), (KEY.into(), "old".into())]),
                    StringMap::from([("a".into(), "2".into())]),
                ),
            )),
            Object::Other(json!({"kind": "A"})),
            Object::Other(json!({"kind": "B", "metadata": {"name": "b", "annotations": {}}})),
            Object::Other(json!({"kind": "C", "metadata": {"labels": {"z": "1"}, "name": "c"}})),
            Object::Other(json!({"kind": "D", "metadata": {"labels": {KEY: 7, "a": "1"}}})),
            Object::Other(json!({"kind": "E", "metadata": "not a mapping"})),
            Object::Other(json!({"kind": "F", "metadata": {"labels": []}})),
            Object::Other(json!(["not", "an", "object"])),
            Object::Namespaces(NamespaceSet::new(
                vec!["x".into()],
                StringMap::new(),
                StringMap::new(),
            )),
        ];
        for object in objects {
            let before = serde_json::to_string(&object).unwrap();
            let mut labelled = object.clone();
            let undo = labelled.insert_label(KEY, "my-addon");
            let mut value = serde_json::to_value(&labelled).unwrap();
            match &mut value {
                // A set serialises as its Namespaces, each taken back alike.
                Value::Array(items) if matches!(object, Object::Namespaces(_)) => {
                    items.iter_mut().for_each(|item| undo.apply(item, KEY))
                }
                value => undo.apply(value, KEY),
            }
            assert_eq!(serde_json::to_string(&value).unwrap(), before, "{undo:?}");
        }
    }

    #[test]
    fn typed_objects_serialise_with_the_api_field_names() {
        let subscription = Subscription::new(
            ObjectMeta::namespaced("addon-x", "ns"),
            SubscriptionSpec {
                channel: "alpha".into(),
                name: "x".into(),
                source: "addon-x-catalog".into(),
                source_namespace: "ns".into(),
                starting_csv: Some("x.v1.0.0".into()),
                ..SubscriptionSpec::default()
            },
        );
        assert_eq!(
            serde_json::to_value(Object::Subscription(subscription)).unwrap(),
            json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
                "metadata": {"name": "addon-x", "namespace": "ns"},
                "spec": {"channel": "alpha", "name": "x", "source": "addon-x-catalog",
                    "sourceNamespace": "ns", "startingCSV": "x.v1.0.0"}})
        );
    }

    #[test]
    fn sync_set_flattens_the_common_spec() {
        let sync_set = SyncSet::new(
            ObjectMeta::namespaced("addon-x", "cd-ns"),
            SyncSetSpec {
                cluster_deployment_refs: vec![LocalObjectReference { name: "cd".into() }],
                common: SyncSetCommonSpec {
                    resource_apply_mode: Some(APPLY_MODE_SYNC.into()),
                    resources: [Object::Namespace(Namespace::new(ObjectMeta::named("ns")))].into(),
                    ..SyncSetCommonSpec::default()
                },
            },
        );
        let value = serde_json::to_value(&sync_set).unwrap();
        assert_eq!(
            value["spec"]["clusterDeploymentRefs"],
            json!([{"name": "cd"}])
        );
        assert_eq!(value["spec"]["resourceApplyMode"], "Sync");
        assert_eq!(value["spec"]["resources"][0]["kind"], "Namespace");
        let back: SyncSet = serde_json::from_value(value).unwrap();
        assert_eq!(back.spec.cluster_deployment_refs[0].name, "cd");
    }

    #[test]
    fn a_namespace_set_serialises_as_the_namespaces_it_stands_for() {
        let labels = StringMap::from([("team".to_string(), "x".to_string())]);
        let annotations = StringMap::from([("a".to_string(), String::new())]);
        let names = vec!["one".to_string(), "two".to_string()];
        let one_by_one: Vec<Object> = names
            .iter()
            .map(|name| {
                Object::Namespace(Namespace::new(
                    ObjectMeta::named(name)
                        .with_labels_annotations(labels.clone(), annotations.clone()),
                ))
            })
            .collect();
        let set = NamespaceSet::new(names.clone(), labels.clone(), annotations);
        let config_map = Object::ConfigMap(ConfigMap::new(ObjectMeta::named("cm")));
        let spec = |resources: Vec<Object>| SyncSetCommonSpec {
            resources: resources.into(),
            ..SyncSetCommonSpec::default()
        };
        let mut expected = one_by_one.clone();
        expected.push(config_map.clone());
        let sets = vec![Object::Namespaces(set.clone()), config_map];
        assert_eq!(
            serde_json::to_string(&spec(sets.clone())).unwrap(),
            serde_json::to_string(&spec(expected.clone())).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&List::new(sets)).unwrap(),
            serde_json::to_string(&List::new(expected)).unwrap()
        );
        // Empty maps are left out, as for a single Namespace.
        let bare = NamespaceSet::new(names, StringMap::new(), StringMap::new());
        assert_eq!(
            serde_json::to_value(&bare).unwrap()[1],
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "two"}})
        );
    }

    #[test]
    fn status_is_the_api_error_shape() {
        let status = Status::failure(404, "NotFound", "x not found");
        assert_eq!(
            serde_json::to_value(status).unwrap(),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "x not found", "reason": "NotFound", "code": 404})
        );
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert_eq!(
            split_api_version("hive.openshift.io/v1"),
            ("hive.openshift.io", "v1")
        );
    }
}
