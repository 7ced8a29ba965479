//! The wire types of a bundle: `metadata/annotations.yaml` and the CSV fields
//! the tools read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CHANNELS_ANNOTATION, DEFAULT_CHANNEL_ANNOTATION, PACKAGE_ANNOTATION};

/// `metadata/annotations.yaml` `annotations:`; values read as strings, the
/// way opm (and managed-tenants) read them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotations(pub BTreeMap<String, String>);

impl Annotations {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn package(&self) -> Option<&str> {
        self.get(PACKAGE_ANNOTATION)
    }

    /// The bundle's channels, in annotation order.
    pub fn channels(&self) -> Vec<String> {
        self.get(CHANNELS_ANNOTATION)
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn default_channel(&self) -> Option<&str> {
        self.get(DEFAULT_CHANNEL_ANNOTATION)
            .filter(|c| !c.is_empty())
    }
}

/// The fields of a ClusterServiceVersion that the tools use; the whole object
/// stays in the bundle's manifests (`Bundle::csv_object`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterServiceVersion {
    pub name: String,
    pub annotations: BTreeMap<String, String>,
    pub spec: CsvSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CsvSpec {
    pub version: Option<String>,
    pub replaces: Option<String>,
    pub skips: Vec<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub icon: Vec<CsvIcon>,
    pub install_modes: Vec<InstallModeSupport>,
    pub customresourcedefinitions: CrdDescriptions,
    pub apiservicedefinitions: CrdDescriptions,
    pub install: Option<InstallStrategy>,
    pub related_images: Vec<RelatedImage>,
    pub min_kube_version: Option<String>,
    pub keywords: Vec<String>,
    pub provider: Option<Value>,
    pub maintainers: Vec<Value>,
    pub links: Vec<Value>,
    pub maturity: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CsvIcon {
    pub base64data: String,
    pub mediatype: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstallModeSupport {
    #[serde(rename = "type")]
    pub mode: String,
    pub supported: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CrdDescriptions {
    pub owned: Vec<CrdDescription>,
    pub required: Vec<CrdDescription>,
}

/// An owned or required API: `name` is `<plural>.<group>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CrdDescription {
    pub name: String,
    pub version: String,
    pub kind: String,
    pub group: Option<String>,
    pub display_name: Option<String>,
}

impl CrdDescription {
    /// The API group: explicit, or the part of `name` after the first dot.
    pub fn api_group(&self) -> String {
        self.group.clone().unwrap_or_else(|| {
            self.name
                .split_once('.')
                .map(|(_, g)| g.to_string())
                .unwrap_or_default()
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstallStrategy {
    pub strategy: String,
    pub spec: StrategySpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StrategySpec {
    pub deployments: Vec<DeploymentSpec>,
    pub permissions: Vec<StrategyPermissions>,
    pub cluster_permissions: Vec<StrategyPermissions>,
}

/// A Deployment of the CSV; `spec` is a Kubernetes DeploymentSpec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeploymentSpec {
    pub name: String,
    /// Not deserialized: [`CsvSpec::from_value`], the one way a CSV's spec
    /// is read, clones it from the CSV object instead.
    #[serde(skip_deserializing)]
    pub spec: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StrategyPermissions {
    pub service_account_name: String,
    pub rules: Vec<PolicyRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyRule {
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub verbs: Vec<String>,
    #[serde(rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RelatedImage {
    pub name: String,
    pub image: String,
}

impl CsvSpec {
    /// Reads a CSV's `spec`, each deployment's own `spec` included: that one
    /// is cloned from `raw`, not rebuilt key by key through serde, which is
    /// why deserializing a CsvSpec alone leaves it null.
    pub fn from_value(raw: &Value) -> Result<CsvSpec, serde_json::Error> {
        let mut spec = CsvSpec::deserialize(raw)?;
        if let Some(install) = &mut spec.install {
            let raw_deployments = raw
                .pointer("/install/spec/deployments")
                .and_then(Value::as_array);
            for (at, deployment) in install.spec.deployments.iter_mut().enumerate() {
                if let Some(raw_spec) = raw_deployments.and_then(|d| d.get(at)?.get("spec")) {
                    deployment.spec = raw_spec.clone();
                }
            }
        }
        Ok(spec)
    }
}

impl ClusterServiceVersion {
    /// Reads the fields we use from a parsed CSV object. Fields of the wrong
    /// shape are reported as one message.
    pub fn from_value(raw: &Value) -> Result<Self, String> {
        let metadata = raw.get("metadata").unwrap_or(&Value::Null);
        let name = metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let annotations = metadata
            .get("annotations")
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(k, v)| (k.clone(), value_text(v)))
                    .collect()
            })
            .unwrap_or_default();
        let spec = match raw.get("spec") {
            Some(spec) => CsvSpec::from_value(spec).map_err(|err| format!("spec: {err}"))?,
            None => CsvSpec::default(),
        };
        Ok(ClusterServiceVersion {
            name,
            annotations,
            spec,
        })
    }

    pub fn skip_range(&self) -> Option<&str> {
        self.annotations.get("olm.skipRange").map(String::as_str)
    }
}

/// A scalar as text: strings as they are, numbers and booleans printed.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployments_keep_their_whole_spec_and_a_missing_one_is_null() {
        let spec = json!({"replicas": 1, "template": {"spec": {"containers": [{"name": "m"}]}}});
        let raw = json!({
            "metadata": {"name": "op.v1.0.0"},
            "spec": {"install": {"strategy": "deployment", "spec": {
                "deployments": [{"name": "a", "spec": spec}, {"name": "b"}],
                "permissions": [{"serviceAccountName": "sa", "rules": [{"verbs": ["get"]}]}],
            }}},
        });
        let csv = ClusterServiceVersion::from_value(&raw).unwrap();
        let install = csv.spec.install.unwrap();
        let deployments = &install.spec.deployments;
        assert_eq!(deployments.len(), 2);
        assert_eq!(
            (deployments[0].name.as_str(), &deployments[0].spec),
            ("a", &spec)
        );
        assert_eq!(
            (deployments[1].name.as_str(), &deployments[1].spec),
            ("b", &Value::Null)
        );
        assert_eq!(install.spec.permissions[0].rules[0].verbs, ["get"]);
        // A CSV without an install strategy has no deployments.
        let bare = ClusterServiceVersion::from_value(&json!({"spec": {}})).unwrap();
        assert!(bare.spec.install.is_none());
    }
}
