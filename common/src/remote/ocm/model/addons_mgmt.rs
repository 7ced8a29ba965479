//! addons_mgmt v1's add-on types (`model/addons_mgmt/v1/addon*_type.model`).
//! Differs from clusters_mgmt where it matters to us: `AddonConfig` names the
//! secrets `add_on_secret_propagations`, `AddonParameter` has `order`, the
//! version's parameters are an `AddonParameters` (`{"items": [...]}`), and
//! only the add-on, its versions and installations are classes.

use super::{
    kinds, model_class, model_struct, AdditionalCatalogSource, CredentialRequest, ItemList,
    ParameterOption, Requirement, SecretPropagation, StringMap,
};

kinds!(
    AddonKind = "Addon",
    AddonVersionKind = "AddonVersion",
    AddonInstallationKind = "AddonInstallation",
);

model_class!(
    /// `Addon`.
    Addon: AddonKind {
        common_annotations: StringMap,
        common_labels: StringMap,
        config: AddonConfig,
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
        namespaces: Vec<AddonNamespace>,
        operator_name: String,
        parameters: ItemList<AddonParameter>,
        requirements: Vec<Requirement>,
        resource_cost: f64,
        resource_name: String,
        sub_operators: Vec<AddonSubOperator>,
        target_namespace: String,
        version: Box<AddonVersion>,
    }
);

model_struct!(
    /// `AddonConfig`.
    AddonConfig {
        add_on_environment_variables: Vec<AddonEnvironmentVariable>,
        add_on_secret_propagations: Vec<SecretPropagation>,
    }
);

model_struct!(
    /// `AddonEnvironmentVariable`.
    AddonEnvironmentVariable {
        id: String,
        enabled: bool,
        name: String,
        value: String,
    }
);

model_struct!(
    /// `AddonNamespace`.
    AddonNamespace {
        annotations: StringMap,
        enabled: bool,
        labels: StringMap,
        name: String,
    }
);

model_struct!(
    /// `AddonParameter`, with `order`.
    AddonParameter {
        id: String,
        addon: Box<Addon>,
        conditions: Vec<Requirement>,
        default_value: String,
        description: String,
        editable: bool,
        editable_direction: String,
        enabled: bool,
        name: String,
        options: Vec<ParameterOption>,
        order: i32,
        required: bool,
        validation: String,
        validation_err_msg: String,
        value_type: String,
    }
);

model_struct!(
    /// `AddonSubOperator`.
    AddonSubOperator {
        addon: Box<Addon>,
        enabled: bool,
        operator_name: String,
        operator_namespace: String,
    }
);

model_class!(
    /// `AddonVersion`.
    AddonVersion: AddonVersionKind {
        additional_catalog_sources: Vec<AdditionalCatalogSource>,
        available_upgrades: Vec<String>,
        channel: String,
        config: AddonConfig,
        enabled: bool,
        metrics_federation: MetricsFederation,
        monitoring_stack: MonitoringStack,
        package_image: String,
        parameters: ItemList<AddonParameter>,
        pull_secret_name: String,
        requirements: Vec<Requirement>,
        source_image: String,
        sub_operators: Vec<AddonSubOperator>,
        upgrade_plans_created: bool,
    }
);

model_struct!(
    /// `MetricsFederation`.
    MetricsFederation {
        match_labels: StringMap,
        match_names: Vec<String>,
        namespace: String,
        port_name: String,
    }
);

model_struct!(
    /// `MonitoringStack`.
    MonitoringStack {
        enabled: bool,
        resources: MonitoringStackResources,
    }
);

model_struct!(
    /// `MonitoringStackResources`.
    MonitoringStackResources {
        limits: MonitoringStackResource,
        requests: MonitoringStackResource,
    }
);

model_struct!(
    /// `MonitoringStackResource`.
    MonitoringStackResource {
        cpu: String,
        memory: String,
    }
);

model_class!(
    /// `AddonInstallation`.
    AddonInstallation: AddonInstallationKind {
        addon: Box<Addon>,
        addon_version: Box<AddonVersion>,
        billing: AddonInstallationBilling,
        creation_timestamp: String,
        csv_name: String,
        deleted_timestamp: String,
        desired_version: String,
        operator_version: String,
        parameters: ItemList<AddonInstallationParameter>,
        state: String,
        state_description: String,
        subscription: ObjectReference,
        updated_timestamp: String,
    }
);

model_struct!(
    /// `AddonInstallationParameter`.
    AddonInstallationParameter {
        href: String,
        id: String,
        kind: String,
        value: String,
    }
);

model_struct!(
    /// `AddonInstallationBilling`.
    AddonInstallationBilling {
        billing_marketplace_account: String,
        billing_model: String,
        href: String,
        id: String,
        kind: String,
    }
);

model_struct!(
    /// `ObjectReference`.
    ObjectReference {
        href: String,
        id: String,
        kind: String,
    }
);
