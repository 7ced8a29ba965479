//! The managed-tenants schemas, written out as Rust: `addon.yaml` (metadata),
//! image sets, and the bundles' `main/config.yaml`. Same rules as the
//! published JSON Schemas, including their quirks (a misspelt
//! `additionalproperties` is no rule at all, `minItems` on an object is
//! ignored), so a file valid for managed-tenants is valid here.

use std::sync::OnceLock;

use crate::check::schema::{
    any, array, boolean, integer, object, one_of_types, string, JsonType, Schema,
};

const K8S_NAME: &str = "^[A-Za-z0-9][A-Za-z0-9-]{0,60}[A-Za-z0-9]$";
const SECRET_NAME: &str = "^[a-z0-9][a-z0-9-]{1,60}[a-z0-9]$";
const LABEL_KEY: &str = "^[A-Za-z0-9-_./]+$";
const OWNER: &str = "^([A-Za-z -]+ <[0-9A-Za-z_.-]+@redhat\\.com>,?)+$";
const QUAY_ADDON_IMAGE: &str = "^quay\\.io/osd-addons/[a-z-]+";
const QUANTITY: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// The default channels managed-tenants accepts.
pub const CHANNELS: [&str; 7] = ["alpha", "beta", "stable", "edge", "rc", "fast", "candidate"];

fn printable() -> Schema {
    string().printable()
}

/// Labels or annotations: keys and values of `[A-Za-z0-9-_./]+`.
fn string_map() -> Schema {
    object()
        .pattern_property(LABEL_KEY, string().pattern(LABEL_KEY))
        .closed()
}

fn printable_or_list() -> Schema {
    one_of_types(&[JsonType::Array, JsonType::String]).items(printable())
}

fn requirements() -> Schema {
    // `then` clauses and their `data` carry no `type` in managed-tenants'
    // files: written with any() so that the transcription is keyword for
    // keyword (tests/schemas.rs compares them).
    let taint = object()
        .property("key", printable())
        .property("value", printable())
        .property("effect", printable());
    let machine_pool_data = any()
        .property("taints", array(taint))
        .property("aws.sts.enabled", boolean())
        .property("compute.security_group_filters", string())
        .property("compute.memory", integer())
        .property("compute.cpu", integer())
        .property("labels", object())
        .property(
            "instance_type",
            one_of_types(&[JsonType::Array, JsonType::String]).printable(),
        )
        .property("replicas", integer())
        .property("id", printable())
        .closed();
    let cluster_data = any()
        .property(
            "version.raw_id",
            printable().pattern("^[a-z|0-9|\\s|>|=|<|.]*$"),
        )
        .property("state", printable())
        .property("cloud_provider.id", printable_or_list())
        .property("ccs.enabled", boolean())
        .property("aws.sts.enabled", boolean())
        .property("compute.security_group_filters", string())
        .property("compute.memory", integer())
        .property("compute.cpu", integer().minimum(0.0))
        .property("product.id", printable_or_list())
        .property("nodes.compute", integer().minimum(0.0))
        .property(
            "nodes.compute_machine_type.id",
            one_of_types(&[JsonType::Array, JsonType::String]).printable(),
        )
        .closed();
    array(
        object()
            .property("id", printable())
            .property(
                "resource",
                string().one_of_values(&["cluster", "addon", "machine_pool"]),
            )
            .property("data", object().property("id", printable()))
            .property("enabled", boolean())
            .required(&["id", "resource", "data", "enabled"])
            .closed()
            .when(
                "resource",
                "machine_pool",
                any().property("data", machine_pool_data),
            )
            .when(
                "resource",
                "addon",
                any().property("data", any().property("state", printable())),
            )
            .when("resource", "cluster", any().property("data", cluster_data)),
    )
}

fn parameters() -> Schema {
    let option = object()
        .property("name", printable())
        .property("value", printable())
        .property("rank", integer().minimum(0.0))
        .property("requirements", requirements())
        .required(&["name", "value"])
        .closed();
    let condition_data = object()
        .property("aws.sts.enabled", boolean())
        .property("ccs.enabled", boolean())
        .property("cloud_provider.id", printable_or_list())
        .property("product.id", printable_or_list())
        .property("version.raw_id", printable())
        .closed();
    let condition = object()
        .property("resource", string().one_of_values(&["cluster"]))
        .property("data", condition_data)
        .required(&["resource", "data"])
        .closed();
    array(
        object()
            .property("id", printable())
            .property("name", printable())
            .property("description", printable())
            .property(
                "value_type",
                string().one_of_values(&[
                    "string",
                    "number",
                    "boolean",
                    "cidr",
                    "resource",
                    "resource_requirement",
                ]),
            )
            .property("validation", printable())
            .property("validation_err_msg", printable())
            .property("required", boolean())
            .property("editable", boolean())
            .property(
                "editable_direction",
                string().one_of_values(&["up", "down"]),
            )
            .property("enabled", boolean())
            .property("default_value", printable())
            .property("order", integer())
            .property("options", array(option))
            .property("conditions", array(condition))
            .required(&[
                "id",
                "name",
                "description",
                "value_type",
                "required",
                "editable",
                "enabled",
            ])
            .closed()
            .dependency(
                "editable_direction",
                any()
                    .property("options", any().min_items(1))
                    .required(&["options"]),
            )
            .when(
                "value_type",
                "resource_requirement",
                // `minimum` on a list is no rule; kept to match the file.
                any().property(
                    "options",
                    any()
                        .minimum(1.0)
                        .items(any().required(&["name", "value", "requirements"])),
                ),
            ),
    )
}

fn sub_operators() -> Schema {
    array(
        object()
            .property("operator_name", printable())
            .property("operator_namespace", printable())
            .property("enabled", boolean())
            .required(&["operator_name", "operator_namespace", "enabled"])
            .closed(),
    )
}

fn credentials_requests() -> Schema {
    array(
        object()
            .property("name", printable().pattern(K8S_NAME))
            .property("namespace", printable().pattern(K8S_NAME))
            .property("service_account", printable().pattern(K8S_NAME))
            .property(
                "policy_permissions",
                array(printable().pattern("^[a-z0-9]{1,60}:[A-Za-z0-9]{1,60}$")),
            )
            .required(&["name", "namespace", "service_account", "policy_permissions"])
            .closed(),
    )
}

fn config() -> Schema {
    let env = object()
        .property("name", string().pattern("^[A-Z][A-Z0-9_]*$"))
        .property("value", string().pattern("^.+$"))
        .required(&["name", "value"])
        .closed();
    let secret = object()
        .property("name", string().pattern(SECRET_NAME))
        .property(
            "type",
            string().one_of_values(&[
                "Opaque",
                "kubernetes.io/dockercfg",
                "kubernetes.io/dockerconfigjson",
                "kubernetes.io/service-account-token",
                "kubernetes.io/basic-auth",
                "kubernetes.io/ssh-auth",
                "kubernetes.io/tls",
                "bootstrap.kubernetes.io/token",
            ]),
        )
        .property("vaultPath", string())
        .property("version", integer())
        .property("fields", array(string()))
        .required(&["name", "type", "vaultPath", "version", "fields"])
        .closed();
    object()
        .property("env", array(env))
        .property("secrets", array(secret))
        .closed()
}

fn catalog_sources(name: Schema) -> Schema {
    array(
        object()
            .property("name", name)
            .property("image", string())
            .required(&["name", "image"])
            .closed(),
    )
}

fn federation() -> Schema {
    object()
        .property("portName", string().pattern(K8S_NAME))
        .property("namespace", string().pattern(K8S_NAME))
        .property(
            "matchNames",
            array(printable().pattern("^[a-zA-Z_:][a-zA-Z0-9_:]*$")),
        )
        .property("matchLabels", string_map())
        .required(&["portName", "namespace", "matchNames", "matchLabels"])
        .closed()
}

fn monitoring_stack() -> Schema {
    let requests = object()
        .property("cpu", string().pattern(QUANTITY))
        .property("memory", string().pattern(QUANTITY))
        .required(&["cpu", "memory"])
        .closed();
    let limits = object()
        .property("cpu", string())
        .property("memory", string())
        .required(&["cpu", "memory"])
        .closed();
    object()
        .property("enabled", boolean())
        .property(
            "resources",
            object()
                .property("requests", requests)
                .property("limits", limits)
                .closed()
                .any_of_required(&[&["requests"], &["limits"]]),
        )
        .required(&["enabled"])
        .closed()
}

fn metadata() -> Schema {
    let email = "^([0-9A-Za-z_.-]+@redhat\\.com,? ?)+$";
    object()
        .property("id", string().pattern("^[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]$"))
        .property("name", printable())
        .property("description", printable())
        .property(
            "link",
            string().pattern("^http[s]?://(?:[a-zA-Z]|[0-9]|[$-_@.&#+]|[!*\\(\\),]|(?:%[0-9a-fA-F][0-9a-fA-F]))+$"),
        )
        .property("icon", printable())
        .property("label", string().pattern("^api\\.openshift\\.com/addon-[0-9a-z][0-9a-z-]{0,30}[0-9a-z]$"))
        .property("enabled", boolean())
        .property("hasExternalResources", boolean())
        .property("addonOwner", string().pattern(OWNER))
        .property("addonNotifications", array(string().pattern(OWNER)))
        .property("quayRepo", string().pattern("^quay\\.io/osd-addons/[a-z-]+$"))
        .property("testHarness", string().pattern("^quay\\.io/[0-9A-Za-z._-]+/[0-9A-Za-z._-]+(:[A-Za-z0-9._-]+)?$"))
        .property("installMode", string().one_of_values(&["AllNamespaces", "OwnNamespace"]))
        .property("syncsetMigration", string().one_of_values(&crate::model::addon::SyncsetMigration::ALL))
        .property("targetNamespace", string().pattern(K8S_NAME))
        .property("namespaces", array(string().pattern(K8S_NAME)))
        .property("pullSecretName", string().pattern(SECRET_NAME))
        .property("additionalCatalogSources", catalog_sources(printable()))
        .property("namespaceLabels", string_map())
        .property("namespaceAnnotations", string_map())
        .property("commonLabels", string_map())
        .property("commonAnnotations", string_map())
        .property("monitoring", federation())
        .property("metricsFederation", federation())
        .property("monitoringStack", monitoring_stack())
        .property("defaultChannel", string().one_of_values(&CHANNELS))
        .property("ocmQuotaName", string().pattern("^[A-Za-z0-9][A-Za-z0-9-_]{0,35}[A-Za-z0-9]$"))
        .property("ocmQuotaCost", integer().minimum(0.0))
        .property("operatorName", string().pattern("^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$"))
        .property(
            "bundleParameters",
            object()
                .property("useClusterStorage", string().pattern("^(true|false|^$)$"))
                .property("alertingEmailAddress", string().pattern(email))
                .property("buAlertingEmailAddress", string().pattern(email))
                .property("alertSMTPFrom", string().pattern("^[0-9A-Za-z._-]+@(devshift\\.net|rhmw\\.io)$"))
                .property("addonParamsSecretName", string().pattern("^addon-[0-9A-Za-z-]+-parameters$"))
                .closed(),
        )
        .property("startingCSV", printable())
        .property("indexImage", string().pattern(QUAY_ADDON_IMAGE))
        .property("addonImageSetVersion", any())
        .property(
            "pagerduty",
            object()
                .property("escalationPolicy", string().pattern("^[A-Za-z0-9]+$"))
                .property("acknowledgeTimeout", integer().minimum(0.0))
                .property("resolveTimeout", integer().minimum(0.0))
                .property("secretName", string().pattern(K8S_NAME))
                .property("secretNamespace", string().pattern(K8S_NAME))
                .required(&["escalationPolicy", "acknowledgeTimeout", "resolveTimeout", "secretName", "secretNamespace"])
                .closed(),
        )
        .property(
            "deadmanssnitch",
            object()
                .property("clusterDeploymentSelector", object())
                .property("snitchNamePostFix", string().pattern(K8S_NAME))
                .property(
                    "targetSecretRef",
                    object()
                        .property("name", string().pattern(K8S_NAME))
                        .property("namespace", string().pattern(K8S_NAME))
                        .closed(),
                )
                .property("tags", array(string().pattern(K8S_NAME)))
                .required(&["tags"])
                .closed(),
        )
        .property("extraResources", array(printable()))
        .property("credentialsRequests", credentials_requests())
        .property("addOnParameters", parameters())
        .property("addOnRequirements", requirements())
        .property("subOperators", sub_operators())
        .property("config", config())
        .property("managedService", boolean())
        .required(&[
            "id",
            "name",
            "description",
            "icon",
            "label",
            "enabled",
            "addonOwner",
            "quayRepo",
            "testHarness",
            "installMode",
            "targetNamespace",
            "namespaces",
            "ocmQuotaName",
            "ocmQuotaCost",
            "operatorName",
            "defaultChannel",
            "namespaceLabels",
            "namespaceAnnotations",
        ])
        .closed()
}

fn image_set() -> Schema {
    object()
        .property("name", string().pattern("^[a-z-]+.v[0-9A-Za-z\\.-]+$"))
        .property("indexImage", string().pattern(QUAY_ADDON_IMAGE))
        .property("packageImage", string().pattern(QUAY_ADDON_IMAGE))
        .property("relatedImages", array(string()))
        .property("addOnParameters", parameters())
        .property("addOnRequirements", requirements())
        .property("subOperators", sub_operators())
        .property("config", config())
        .property("pullSecretName", string().pattern(SECRET_NAME))
        .property(
            "additionalCatalogSources",
            catalog_sources(string().pattern("^[a-z]([-a-z0-9]*[a-z0-9])?$")),
        )
        .required(&["name", "indexImage", "relatedImages"])
        .closed()
}

fn bundles_config() -> Schema {
    let ocm = object()
        .property("addOnParameters", parameters())
        .property("addOnRequirements", requirements())
        .property("subOperators", sub_operators())
        .property("config", config())
        .property("pullSecretName", string().pattern(SECRET_NAME))
        .property("additionalCatalogSources", catalog_sources(printable()))
        .closed();
    let addon = object()
        .property("name", printable())
        .property(
            "environments",
            array(string().one_of_values(&["integration", "stage", "production"])),
        )
        .required(&["name", "environments"])
        .closed();
    object()
        .property("ocm", ocm)
        .property("addons", array(addon).min_items(1))
        .required(&["addons"])
        .closed()
}

/// All schemas, built (and their patterns compiled) once per process.
pub struct Schemas {
    /// `addons/<id>/metadata/<env>/addon.yaml`.
    pub metadata: Schema,
    /// `addons/<id>/addonimagesets/<env>/*.yml`.
    pub image_set: Schema,
    /// The bundles' `main/config.yaml`.
    pub bundles_config: Schema,
}

pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| Schemas {
        metadata: metadata(),
        image_set: image_set(),
        bundles_config: bundles_config(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::schema::ViolationKind;
    use serde_json::json;

    use crate::testing::minimal_addon as minimal;

    #[test]
    fn every_pattern_compiles_and_a_minimal_addon_passes() {
        let all = schemas();
        for schema in [&all.metadata, &all.image_set, &all.bundles_config] {
            schema.compile_every_pattern();
        }
        assert!(all.metadata.validate(&minimal()).is_empty());
    }

    #[test]
    fn image_set_env_values_must_not_be_empty() {
        let set = json!({"name": "x.v0.0.9", "indexImage": "quay.io/osd-addons/x-index@sha256:1", "relatedImages": [],
            "config": {"env": [{"name": "HUMAN", "value": ""}]}});
        let violations = schemas().image_set.validate(&set);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].path.to_string(), "config.env[0].value");
        assert_eq!(violations[0].kind, ViolationKind::Pattern);
    }

    #[test]
    fn machine_pool_requirements_are_closed_but_addon_ones_are_not() {
        let mut addon = minimal();
        addon["addOnRequirements"] = json!([
            {"id": "a", "resource": "machine_pool", "data": {"compute.cpu": 1, "unknown": 1}, "enabled": true},
            {"id": "b", "resource": "addon", "data": {"anything": 1}, "enabled": true}
        ]);
        let violations = schemas().metadata.validate(&addon);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(
            violations[0].path.to_string(),
            "addOnRequirements[0].data.unknown"
        );
    }

    #[test]
    fn machine_pool_taints_are_typed_as_in_managed_tenants_schema() {
        let mut addon = minimal();
        addon["addOnRequirements"] = json!([
            {"id": "a", "resource": "machine_pool", "enabled": true,
             "data": {"taints": [{"key": 5, "value": "v", "effect": "NoSchedule"}], "instance_type": "m5\u{7}"}}
        ]);
        let violations = schemas().metadata.validate(&addon);
        let paths: Vec<String> = violations.iter().map(|v| v.path.to_string()).collect();
        assert_eq!(
            paths,
            [
                "addOnRequirements[0].data.taints[0].key",
                "addOnRequirements[0].data.instance_type"
            ],
            "{violations:?}"
        );
    }
}
