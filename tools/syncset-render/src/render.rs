//! The operator install objects for one add-on, as managed-tenants renders
//! them from `selectorsyncset.yaml.j2` (the `UKNOWN` manager path, the only
//! one its add-ons take), then wrapped for the installation path in use.
//!
//! `render` is pure: the same document and target give the same objects in
//! the same order.

use std::collections::BTreeMap;

use common::model::addon::{AddonDocument, InstallMode, SyncsetMigration};
use common::model::k8s::{
    CatalogSource, CatalogSourceSpec, ConfigMap, DeadmansSnitchIntegration,
    DeadmansSnitchIntegrationSpec, Endpoint, EnvVar, LabelSelector, LabelSelectorRequirement, List,
    LocalObjectReference, Namespace, NamespaceSelector, NamespaceSet, NamespacedName,
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPort, NetworkPolicySpec, Object,
    ObjectMeta, OperatorGroup, OperatorGroupSpec, PagerDutyIntegration, PagerDutyIntegrationSpec,
    RegistryPoll, SelectorSyncSet, SelectorSyncSetSpec, ServiceMonitor, ServiceMonitorSpec,
    ServiceOrchestration, StringMap, Subscription, SubscriptionConfig, SubscriptionSpec, SyncSet,
    SyncSetCommonSpec, SyncSetSpec, TlsConfig, UpdateStrategy, APPLY_MODE_SYNC, APPLY_MODE_UPSERT,
};
use common::{Error, Location, Result};
use serde_json::Value;

use crate::template;

/// Where the install objects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The legacy path: one SelectorSyncSet matching the add-on's label on
    /// ClusterDeployments.
    Selector,
    /// The per-cluster path: one SyncSet per namespace naming its
    /// ClusterDeployments in `clusterDeploymentRefs`.
    ClusterDeployments(Vec<ClusterDeploymentRef>),
}

/// `NAMESPACE/NAME` of a ClusterDeployment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClusterDeploymentRef {
    pub namespace: String,
    pub name: String,
}

impl std::str::FromStr for ClusterDeploymentRef {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text.split_once('/') {
            Some((namespace, name))
                if is_dns_label(namespace) && is_dns_subdomain(name) =>
            {
                Ok(ClusterDeploymentRef {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                })
            }
            _ => Err(format!(
                "{text:?} is not NAMESPACE/NAME of a ClusterDeployment (lower-case letters, digits and '-')"
            )),
        }
    }
}

fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253 && text.split('.').all(is_dns_label)
}

/// Choices that are not in the add-on metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// `Manual` makes OLM wait for someone to approve each install plan.
    pub install_plan_approval: Option<String>,
}

/// Migration steps after which the SelectorSyncSet matches `migrated`
/// instead of `true`, so clusters moved to SyncSets drop out of it.
const MIGRATED_LABEL_STEPS: [SyncsetMigration; 4] = [
    SyncsetMigration::Step3ChangeSssLabel,
    SyncsetMigration::Step4EnableSyncset,
    SyncsetMigration::Step5MigrationComplete,
    SyncsetMigration::RollbackStep1Ocm,
];

/// Migration steps after which Hive must leave (orphan) objects the
/// SelectorSyncSet stops listing.
const UPSERT_STEPS: [SyncsetMigration; 5] = [
    SyncsetMigration::Step2OrphanSssObjects,
    SyncsetMigration::Step3ChangeSssLabel,
    SyncsetMigration::Step4EnableSyncset,
    SyncsetMigration::Step5MigrationComplete,
    SyncsetMigration::RollbackStep1Ocm,
];

/// The whole rendering: the install SyncSet(s), the `-delete`
/// SelectorSyncSet, and the integrations.
pub fn render(doc: &AddonDocument, target: &Target, options: &RenderOptions) -> Result<List> {
    let meta = &doc.metadata;
    let migration = meta.syncset_migration;
    let apply_mode = if migration.is_some_and(|step| UPSERT_STEPS.contains(&step)) {
        APPLY_MODE_UPSERT
    } else {
        APPLY_MODE_SYNC
    };
    let resources = install_resources(doc, options)?;
    let common = SyncSetCommonSpec {
        resources: resources.into(),
        resource_apply_mode: Some(apply_mode.to_string()),
        ..SyncSetCommonSpec::default()
    };
    let name = format!("addon-{}", meta.id);
    let mut items = Vec::new();
    match target {
        Target::Selector => {
            let value = if migration.is_some_and(|step| MIGRATED_LABEL_STEPS.contains(&step)) {
                "migrated"
            } else {
                "true"
            };
            items.push(Object::SelectorSyncSet(SelectorSyncSet::new(
                ObjectMeta::named(&name),
                SelectorSyncSetSpec {
                    cluster_deployment_selector: LabelSelector::labels(single(&meta.label, value)),
                    common,
                },
            )));
        }
        Target::ClusterDeployments(refs) => {
            if refs.is_empty() {
                return Err(Error::usage(
                    "--cluster-deployment needs at least one NAMESPACE/NAME",
                ));
            }
            let mut by_namespace: BTreeMap<&str, Vec<LocalObjectReference>> = BTreeMap::new();
            for cd in refs {
                let names = by_namespace.entry(&cd.namespace).or_default();
                if !names.iter().any(|r| r.name == cd.name) {
                    names.push(LocalObjectReference {
                        name: cd.name.clone(),
                    });
                }
            }
            for (namespace, mut names) in by_namespace {
                names.sort_by(|a, b| a.name.cmp(&b.name));
                items.push(Object::SyncSet(SyncSet::new(
                    ObjectMeta::namespaced(&name, namespace),
                    SyncSetSpec {
                        cluster_deployment_refs: names,
                        common: common.clone(),
                    },
                )));
            }
        }
    }
    items.push(delete_selector_sync_set(doc));
    if let Some(pagerduty) = pagerduty(doc) {
        items.push(pagerduty);
    }
    if let Some(snitch) = deadmanssnitch(doc)? {
        items.push(snitch);
    }
    items.extend(template::extra_resources(doc)?);
    Ok(List::new(items))
}

fn single(key: &str, value: &str) -> StringMap {
    StringMap::from([(key.to_string(), value.to_string())])
}

/// `commonLabels` and `commonAnnotations`, which every namespaced install
/// object carries.
fn common_meta(doc: &AddonDocument, name: &str) -> ObjectMeta {
    let meta = &doc.metadata;
    ObjectMeta::namespaced(name, &meta.target_namespace).with_labels_annotations(
        meta.common_labels.clone().unwrap_or_default(),
        meta.common_annotations.clone().unwrap_or_default(),
    )
}

/// The objects inside the install SyncSet, in managed-tenants' order.
fn install_resources(doc: &AddonDocument, options: &RenderOptions) -> Result<Vec<Object>> {
    let meta = &doc.metadata;
    let id = &meta.id;
    let catalog_image = catalog_image(doc)?;
    let mut resources = Vec::new();

    if !meta.namespaces.is_empty() {
        // Precedence as mtcli's ChainMap: the namespace's own entries win over
        // the common ones, which win over the node-selector default. Every
        // namespace gets the same maps, so they are held once (a fleet add-on
        // may list hundreds of thousands of namespaces).
        let mut annotations = single("openshift.io/node-selector", "");
        annotations.extend(meta.common_annotations.clone().unwrap_or_default());
        annotations.extend(meta.namespace_annotations.clone());
        let mut labels = meta.common_labels.clone().unwrap_or_default();
        labels.extend(meta.namespace_labels.clone());
        resources.push(Object::Namespaces(NamespaceSet::new(
            meta.namespaces.clone(),
            labels,
            annotations,
        )));
    }

    let main_catalog = format!("addon-{id}-catalog");
    let pull_secrets = doc.pull_secret_name().map(|name| vec![name.to_string()]);
    if let Some(image) = catalog_image {
        resources.push(Object::CatalogSource(CatalogSource::new(
            common_meta(doc, &main_catalog),
            CatalogSourceSpec {
                display_name: meta.name.clone(),
                image: image.to_string(),
                publisher: "OSD Red Hat Addons".into(),
                source_type: "grpc".into(),
                secrets: pull_secrets.clone(),
                update_strategy: None,
            },
        )));
    }
    let additional = doc.additional_catalog_sources();
    for catalog in additional {
        resources.push(Object::CatalogSource(CatalogSource::new(
            common_meta(doc, &catalog.name),
            CatalogSourceSpec {
                display_name: meta.name.clone(),
                image: catalog.image.clone(),
                publisher: "OSD Red Hat Addons".into(),
                source_type: "grpc".into(),
                secrets: pull_secrets.clone(),
                update_strategy: Some(UpdateStrategy {
                    registry_poll: RegistryPoll {
                        interval: "10m".into(),
                    },
                }),
            },
        )));
    }

    // Only the catalog pods may be reached on the registry port.
    let mut catalogs = vec![main_catalog.clone()];
    catalogs.extend(additional.iter().map(|c| c.name.clone()));
    resources.push(Object::NetworkPolicy(NetworkPolicy::new(
        common_meta(doc, &format!("addon-{id}-catalogs")),
        NetworkPolicySpec {
            pod_selector: LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "olm.catalogSource".into(),
                    operator: "In".into(),
                    values: Some(catalogs),
                }]),
            },
            ingress: Some(vec![NetworkPolicyIngressRule {
                ports: Some(vec![NetworkPolicyPort {
                    protocol: Some("TCP".into()),
                    port: Some(50051),
                }]),
            }]),
            policy_types: Some(vec!["Ingress".into()]),
        },
    )));

    if !meta.namespaces.is_empty() {
        let spec = (meta.install_mode == InstallMode::OwnNamespace).then(|| OperatorGroupSpec {
            target_namespaces: Some(vec![meta.target_namespace.clone()]),
        });
        resources.push(Object::OperatorGroup(OperatorGroup::new(
            common_meta(doc, "redhat-layered-product-og"),
            spec,
        )));
    }

    if catalog_image.is_some() {
        let env: Vec<EnvVar> = doc
            .env()
            .iter()
            .map(|var| EnvVar {
                name: var.name.clone(),
                value: var.value.clone(),
            })
            .collect();
        resources.push(Object::Subscription(Subscription::new(
            common_meta(doc, &format!("addon-{id}")),
            SubscriptionSpec {
                channel: meta.default_channel.clone(),
                name: meta.operator_name.clone(),
                source: main_catalog,
                source_namespace: meta.target_namespace.clone(),
                config: (!env.is_empty()).then_some(SubscriptionConfig { env: Some(env) }),
                starting_csv: meta.starting_csv.clone(),
                install_plan_approval: options.install_plan_approval.clone(),
            },
        )));
    }

    // `metricsFederation`, or the deprecated `monitoring` it replaced.
    if let Some(federation) = meta
        .metrics_federation
        .as_ref()
        .or(meta.monitoring.as_ref())
    {
        let namespace = format!("redhat-monitoring-{id}");
        let mut ns_meta = ObjectMeta::named(&namespace);
        ns_meta.labels = Some(single("openshift.io/cluster-monitoring", "true"));
        resources.push(Object::Namespace(Namespace::new(ns_meta)));
        let mut matches = vec![r#"ALERTS{alertstate="firing"}"#.to_string()];
        matches.extend(
            federation
                .match_names
                .iter()
                .map(|name| format!(r#"{{__name__="{name}"}}"#)),
        );
        resources.push(Object::ServiceMonitor(ServiceMonitor::new(
            ObjectMeta::namespaced(format!("federated-sm-{id}"), &namespace),
            ServiceMonitorSpec {
                endpoints: vec![Endpoint {
                    bearer_token_file: Some(
                        "/var/run/secrets/kubernetes.io/serviceaccount/token".into(),
                    ),
                    honor_labels: Some(true),
                    port: Some(federation.port_name.clone()),
                    path: Some("/federate".into()),
                    scheme: Some("https".into()),
                    interval: Some("30s".into()),
                    tls_config: Some(TlsConfig {
                        ca_file: Some(
                            "/etc/prometheus/configmaps/serving-certs-ca-bundle/service-ca.crt"
                                .into(),
                        ),
                        server_name: Some(format!("prometheus.{}.svc", federation.namespace)),
                    }),
                    params: Some(BTreeMap::from([("match[]".to_string(), matches)])),
                }],
                namespace_selector: NamespaceSelector {
                    match_names: Some(vec![federation.namespace.clone()]),
                },
                selector: LabelSelector::labels(federation.match_labels.clone()),
            },
        )));
    }
    Ok(resources)
}

/// The catalog image, or `None` for an add-on that deliberately has none
/// (`addonImageSetVersion: null`).
fn catalog_image(doc: &AddonDocument) -> Result<Option<&str>> {
    match (doc.index_image(), &doc.metadata.addon_image_set_version) {
        (Some(image), _) => Ok(Some(image)),
        (None, Some(None)) => Ok(None),
        (None, Some(Some(version))) => Err(Error::input(
            Location::new("<add-on>").field("addonImageSetVersion"),
            format!(
                "names image set {version} but the document carries no `imageSet`; \
                 give the path of addon.yaml inside its managed-tenants tree so the image set is resolved"
            ),
        )),
        (None, None) => Err(Error::input(
            Location::new("<add-on>").field("indexImage"),
            "the add-on has no catalog image: set indexImage or addonImageSetVersion, \
             or pipe it through catalog-build first",
        )),
    }
}

/// Labelling a ClusterDeployment `<label>-delete=true` removes the add-on's
/// namespace and leaves a marker ConfigMap, outside the install SyncSet so it
/// survives the install being pruned.
fn delete_selector_sync_set(doc: &AddonDocument) -> Object {
    let meta = &doc.metadata;
    let delete_label = format!("{}-delete", meta.label);
    let mut namespace = ObjectMeta::named(&meta.target_namespace);
    namespace.labels = Some(single(&delete_label, "true"));
    let mut config_map = ObjectMeta::namespaced(&meta.id, &meta.target_namespace);
    config_map.labels = Some(single(&delete_label, "true"));
    Object::SelectorSyncSet(SelectorSyncSet::new(
        ObjectMeta::named(format!("addon-{}-delete", meta.id)),
        SelectorSyncSetSpec {
            cluster_deployment_selector: LabelSelector::labels(single(&delete_label, "true")),
            common: SyncSetCommonSpec {
                resources: [
                    Object::Namespace(Namespace::new(namespace)),
                    Object::ConfigMap(ConfigMap::new(config_map)),
                ]
                .into(),
                resource_apply_mode: Some(APPLY_MODE_UPSERT.into()),
                ..SyncSetCommonSpec::default()
            },
        },
    ))
}

fn pagerduty(doc: &AddonDocument) -> Option<Object> {
    let meta = &doc.metadata;
    let pd = meta.pagerduty.as_ref()?;
    Some(Object::PagerDutyIntegration(PagerDutyIntegration::new(
        ObjectMeta::namespaced(format!("addon-{}", meta.id), "pagerduty-operator"),
        PagerDutyIntegrationSpec {
            acknowledge_timeout: pd.acknowledge_timeout,
            resolve_timeout: pd.resolve_timeout,
            escalation_policy: pd.escalation_policy.clone(),
            service_prefix: meta.id.clone(),
            pagerduty_api_key_secret_ref: NamespacedName {
                name: "pagerduty-api-key".into(),
                namespace: "pagerduty-operator".into(),
            },
            service_orchestration: Some(ServiceOrchestration {
                enabled: true,
                rule_config_config_map_ref: Some(NamespacedName {
                    name: "osd-serviceorchestration".into(),
                    namespace: "pagerduty-operator".into(),
                }),
            }),
            cluster_deployment_selector: LabelSelector::labels(single(&meta.label, "true")),
            target_secret_ref: NamespacedName {
                name: pd.secret_name.clone(),
                namespace: pd.secret_namespace.clone(),
            },
        },
    )))
}

fn deadmanssnitch(doc: &AddonDocument) -> Result<Option<Object>> {
    let meta = &doc.metadata;
    let Some(dms) = meta.deadmanssnitch.as_ref() else {
        return Ok(None);
    };
    let selector = match &dms.cluster_deployment_selector {
        Some(selector) => Value::Object(selector.clone()),
        None => serde_json::json!({"matchExpressions": [
            {"key": meta.label, "operator": "In", "values": ["true"]}
        ]}),
    };
    let post_fix = dms
        .snitch_name_post_fix
        .clone()
        .unwrap_or_else(|| meta.id.clone());
    let at = Location::new("<add-on>").field("deadmanssnitch.snitchNamePostFix");
    if post_fix.is_empty() {
        return Err(Error::input(
            at,
            "is empty; expected a suffix for the snitch name",
        ));
    }
    // Hive names clusters `hive-...`: such a suffix would collide with a cluster's snitch.
    if post_fix.starts_with("hive-") {
        return Err(Error::input(
            at,
            format!(
                "{post_fix:?} must not start with `hive-` (that names an OSD cluster's snitch)"
            ),
        ));
    }
    let secret = dms.target_secret_ref.clone().unwrap_or_default();
    Ok(Some(Object::DeadmansSnitchIntegration(
        DeadmansSnitchIntegration::new(
            ObjectMeta::namespaced(format!("addon-{}", meta.id), "deadmanssnitch-operator"),
            DeadmansSnitchIntegrationSpec {
                cluster_deployment_selector: selector,
                dms_api_key_secret_ref: NamespacedName {
                    name: "deadmanssnitch-api-key".into(),
                    namespace: "deadmanssnitch-operator".into(),
                },
                snitch_name_post_fix: post_fix,
                tags: dms.tags.clone(),
                target_secret_ref: NamespacedName {
                    name: secret
                        .name
                        .unwrap_or_else(|| format!("{}-deadmanssnitch", meta.id)),
                    namespace: secret
                        .namespace
                        .unwrap_or_else(|| meta.target_namespace.clone()),
                },
            },
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(extra: Value) -> AddonDocument {
        let addon = common::testing::with_fields(
            common::testing::minimal_addon(),
            json!({"indexImage": "quay.io/osd-addons/my-addon-index@sha256:abc"}),
        );
        common::testing::document_from(common::testing::with_fields(addon, extra))
    }

    fn rendered(doc: &AddonDocument, target: &Target) -> Value {
        serde_json::to_value(render(doc, target, &RenderOptions::default()).unwrap()).unwrap()
    }

    fn resource<'a>(list: &'a Value, kind: &str) -> &'a Value {
        list["items"][0]["spec"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .unwrap()
    }

    #[test]
    fn own_namespace_targets_the_namespace_and_all_namespaces_does_not() {
        let own = rendered(&doc(json!({})), &Target::Selector);
        assert_eq!(
            resource(&own, "OperatorGroup")["spec"],
            json!({"targetNamespaces": ["redhat-my-addon"]})
        );
        let all = rendered(
            &doc(json!({"installMode": "AllNamespaces"})),
            &Target::Selector,
        );
        assert!(resource(&all, "OperatorGroup").get("spec").is_none());
    }

    #[test]
    fn many_namespaces_share_one_pair_of_label_and_annotation_maps() {
        let doc = doc(json!({
            "namespaces": ["a", "b", "c"], "namespaceLabels": {"team": "x"}
        }));
        let list = render(&doc, &Target::Selector, &RenderOptions::default()).unwrap();
        let Object::SelectorSyncSet(install) = &list.items[0] else {
            panic!("{:?}", list.items[0]);
        };
        let Object::Namespaces(set) = &install.spec.common.resources[0] else {
            panic!("{:?}", install.spec.common.resources[0]);
        };
        assert_eq!(set.names, ["a", "b", "c"]);
        // Serialised, each is a Namespace of its own with the shared maps.
        let value = serde_json::to_value(&list).unwrap();
        let resources = value["items"][0]["spec"]["resources"].as_array().unwrap();
        let names: Vec<&Value> = resources[..3]
            .iter()
            .map(|r| &r["metadata"]["name"])
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(resources[..3]
            .iter()
            .all(|r| r["kind"] == "Namespace" && r["metadata"]["labels"]["team"] == "x"));
        assert_ne!(resources[3]["kind"], "Namespace");
    }

    #[test]
    fn namespace_labels_win_over_common_labels() {
        let list = rendered(
            &doc(json!({
                "namespaceLabels": {"a": "ns"}, "commonLabels": {"a": "common", "b": "common"},
                "commonAnnotations": {"openshift.io/node-selector": "x"}
            })),
            &Target::Selector,
        );
        let ns = resource(&list, "Namespace");
        assert_eq!(ns["metadata"]["labels"], json!({"a": "ns", "b": "common"}));
        assert_eq!(
            ns["metadata"]["annotations"],
            json!({"openshift.io/node-selector": "x"})
        );
        assert_eq!(
            resource(&list, "Subscription")["metadata"]["labels"],
            json!({"a": "common", "b": "common"})
        );
    }

    #[test]
    fn migration_steps_change_the_label_value_and_apply_mode() {
        let step2 = rendered(
            &doc(json!({"syncsetMigration": "step 2 - orphan SSS objects"})),
            &Target::Selector,
        );
        assert_eq!(step2["items"][0]["spec"]["resourceApplyMode"], "Upsert");
        assert_eq!(
            step2["items"][0]["spec"]["clusterDeploymentSelector"]["matchLabels"]
                ["api.openshift.com/addon-my-addon"],
            "true"
        );
        let step4 = rendered(
            &doc(json!({"syncsetMigration": "step 4 - enable syncset"})),
            &Target::Selector,
        );
        assert_eq!(
            step4["items"][0]["spec"]["clusterDeploymentSelector"]["matchLabels"]
                ["api.openshift.com/addon-my-addon"],
            "migrated"
        );
    }

    #[test]
    fn cluster_deployments_get_one_sync_set_per_namespace() {
        let target = Target::ClusterDeployments(vec![
            "ns-b/cd-2".parse().unwrap(),
            "ns-a/cd-1".parse().unwrap(),
            "ns-b/cd-1".parse().unwrap(),
            "ns-b/cd-1".parse().unwrap(),
        ]);
        let list = rendered(&doc(json!({})), &target);
        let sync_sets: Vec<&Value> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "SyncSet")
            .collect();
        assert_eq!(sync_sets.len(), 2);
        assert_eq!(sync_sets[0]["metadata"]["namespace"], "ns-a");
        assert_eq!(
            sync_sets[1]["spec"]["clusterDeploymentRefs"],
            json!([{"name": "cd-1"}, {"name": "cd-2"}])
        );
        assert_eq!(sync_sets[1]["spec"]["resources"][0]["kind"], "Namespace");
        assert!("NS/x".parse::<ClusterDeploymentRef>().is_err());
        assert!("no-slash".parse::<ClusterDeploymentRef>().is_err());
    }

    #[test]
    fn env_starting_csv_and_manual_approval_reach_the_subscription() {
        let d = doc(json!({
            "config": {"env": [{"name": "A", "value": "1"}]},
            "startingCSV": "my-addon.v1.0.0"
        }));
        let list = render(
            &d,
            &Target::Selector,
            &RenderOptions {
                install_plan_approval: Some("Manual".into()),
            },
        )
        .unwrap();
        let value = serde_json::to_value(list).unwrap();
        assert_eq!(
            resource(&value, "Subscription")["spec"],
            json!({"channel": "alpha", "name": "my-addon", "source": "addon-my-addon-catalog",
                "sourceNamespace": "redhat-my-addon", "config": {"env": [{"name": "A", "value": "1"}]},
                "startingCSV": "my-addon.v1.0.0", "installPlanApproval": "Manual"})
        );
    }

    #[test]
    fn a_hive_snitch_suffix_is_refused() {
        let d = doc(json!({"deadmanssnitch": {"tags": ["t"], "snitchNamePostFix": "hive-x"}}));
        let err = render(&d, &Target::Selector, &RenderOptions::default()).unwrap_err();
        assert!(err.to_string().contains("snitchNamePostFix"), "{err}");
    }

    #[test]
    fn no_catalog_image_is_an_error_unless_deliberate() {
        let mut d = doc(json!({}));
        d.metadata.index_image = None;
        assert!(render(&d, &Target::Selector, &RenderOptions::default()).is_err());
        d.metadata.addon_image_set_version = Some(None);
        let list = rendered(&d, &Target::Selector);
        let kinds: Vec<&Value> = list["items"][0]["spec"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["kind"])
            .collect();
        assert_eq!(kinds, vec!["Namespace", "NetworkPolicy", "OperatorGroup"]);
    }
}
