//! What an add-on version asks of an install: its parameters, requirements,
//! sub-operators, config and extra catalog sources. `addon.yaml` and the image
//! sets spell these sub-schemas the same way (snake_case, as managed-tenants'
//! shared schemas do), so both modules use them from here rather than from each
//! other.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdditionalCatalogSource {
    pub name: String,
    pub image: String,
}

/// `addOnParameters[]`: a value the user sets when installing the add-on.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AddonParameter {
    pub id: String,
    pub name: String,
    pub description: String,
    pub value_type: String,
    pub validation: Option<String>,
    pub validation_err_msg: Option<String>,
    pub required: bool,
    pub editable: bool,
    pub editable_direction: Option<String>,
    pub enabled: bool,
    pub default_value: Option<String>,
    pub order: Option<i64>,
    pub options: Option<Vec<ParameterOption>>,
    pub conditions: Option<Vec<ParameterCondition>>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParameterOption {
    pub name: String,
    pub value: String,
    pub rank: Option<u64>,
    pub requirements: Option<Vec<AddonRequirement>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParameterCondition {
    pub resource: String,
    /// Cluster properties (`aws.sts.enabled`, `cloud_provider.id`, ...).
    pub data: Map<String, Value>,
}

/// `addOnRequirements[]`: what a cluster (or add-on, or machine pool) must
/// offer for the add-on to install.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AddonRequirement {
    pub id: String,
    /// `cluster`, `addon` or `machine_pool`.
    pub resource: String,
    /// Free-form keys such as `compute.cpu`, checked per resource by the schema.
    pub data: Map<String, Value>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOperator {
    pub operator_name: String,
    pub operator_namespace: String,
    pub enabled: bool,
}

/// `config`: environment for the Subscription and secrets to propagate.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonConfig {
    pub env: Option<Vec<EnvVar>>,
    pub secrets: Option<Vec<ConfigSecret>>,
}

impl AddonConfig {
    /// managed-tenants treats `config: {}` like no config at all.
    pub fn is_empty(&self) -> bool {
        self.env.is_none() && self.secrets.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// A secret from Vault that OCM copies into the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSecret {
    pub name: String,
    #[serde(rename = "type")]
    pub secret_type: String,
    pub vault_path: String,
    pub version: i64,
    pub fields: Vec<String>,
}
