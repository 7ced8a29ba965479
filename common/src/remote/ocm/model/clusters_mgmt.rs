//! clusters_mgmt v1's add-on types (`model/clusters_mgmt/v1/add_on*_type.model`).
//! Differs from addons_mgmt where it matters to us: `AddOnConfig` names the
//! secrets `secret_propagations`, `AddOnParameter` has no `order`, and
//! config, namespaces, parameters and environment variables are classes.

use super::{
    kinds, model_class, model_struct, AdditionalCatalogSource, CredentialRequest, ItemList,
    ParameterOption, Requirement, SecretPropagation, StringMap,
};

kinds!(
    AddOnKind = "AddOn",
    AddOnConfigKind = "AddOnConfig",
    AddOnEnvironmentVariableKind = "AddOnEnvironmentVariable",
    AddOnNamespaceKind = "AddOnNamespace",
    AddOnParameterKind = "AddOnParameter",
    AddOnVersionKind = "AddOnVersion",
    AddOnInstallationKind = "AddOnInstallation",
    AddOnInstallationParameterKind = "AddOnInstallationParameter",
    AddOnInstallationBillingKind = "AddOnInstallationBilling",
);

model_class!(
    /// `AddOn`.
    AddOn: AddOnKind {
        common_annotations: StringMap,
        common_labels: StringMap,
        config: AddOnConfig,
        credentials_requests: Vec<CredentialRequest>,
        description: String,
        docs_link: String,
        enabled: bool,
        has_external_resources: bool,
        hidden: bool,
        icon: String,
        install_mode: String,
        label: String,
        managed_service: bool,
        name: String,
        namespaces: Vec<AddOnNamespace>,
        operator_name: String,
        parameters: ItemList<AddOnParameter>,
        requirements: Vec<Requirement>,
        resource_cost: f64,
        resource_name: String,
        sub_operators: Vec<AddOnSubOperator>,
        target_namespace: String,
        version: Box<AddOnVersion>,
    }
);

model_class!(
    /// `AddOnConfig`.
    AddOnConfig: AddOnConfigKind {
        add_on_environment_variables: Vec<AddOnEnvironmentVariable>,
        secret_propagations: Vec<SecretPropagation>,
    }
);

model_class!(
    /// `AddOnEnvironmentVariable`.
    AddOnEnvironmentVariable: AddOnEnvironmentVariableKind {
        name: String,
        value: String,
    }
);

model_class!(
    /// `AddOnNamespace`.
    AddOnNamespace: AddOnNamespaceKind {
        annotations: StringMap,
        labels: StringMap,
        name: String,
    }
);

model_class!(
    /// `AddOnParameter`: no `order`.
    AddOnParameter: AddOnParameterKind {
        addon: Box<AddOn>,
        conditions: Vec<Requirement>,
        default_value: String,
        description: String,
        editable: bool,
        editable_direction: String,
        enabled: bool,
        name: String,
        options: Vec<ParameterOption>,
        required: bool,
        validation: String,
        validation_err_msg: String,
        value_type: String,
    }
);

model_struct!(
    /// `AddOnSubOperator`.
    AddOnSubOperator {
        enabled: bool,
        operator_name: String,
        operator_namespace: String,
    }
);

model_class!(
    /// `AddOnVersion`.
    AddOnVersion: AddOnVersionKind {
        additional_catalog_sources: Vec<AdditionalCatalogSource>,
        available_upgrades: Vec<String>,
        channel: String,
        config: AddOnConfig,
        enabled: bool,
        package_image: String,
        parameters: ItemList<AddOnParameter>,
        pull_secret_name: String,
        requirements: Vec<Requirement>,
        source_image: String,
        sub_operators: Vec<AddOnSubOperator>,
    }
);

model_class!(
    /// `AddOnInstallation`.
    AddOnInstallation: AddOnInstallationKind {
        addon: Box<AddOn>,
        addon_version: Box<AddOnVersion>,
        billing: AddOnInstallationBilling,
        creation_timestamp: String,
        operator_version: String,
        parameters: ItemList<AddOnInstallationParameter>,
        state: String,
        state_description: String,
        updated_timestamp: String,
    }
);

model_class!(
    /// `AddOnInstallationParameter`.
    AddOnInstallationParameter: AddOnInstallationParameterKind {
        value: String,
    }
);

model_class!(
    /// `AddOnInstallationBilling`.
    AddOnInstallationBilling: AddOnInstallationBillingKind {
        billing_marketplace_account: String,
        billing_model: String,
    }
);
