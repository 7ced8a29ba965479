//! The addon-metadata-operator validators (AM codes), as pure functions of an
//! add-on and, for some, its bundles. Each returns all its findings.

use std::collections::BTreeSet;
use std::sync::Arc;

use common::check::finding_codes::am as codes;
use common::model::addon::AddonDocument;
use common::model::bundle::{Bundle, BundleTree, PolicyRule};
use common::{Code, FieldPath, Finding};
use serde_json::Value;

use crate::png;
use common::model::names;

/// What the rules look at.
pub struct Subject<'a> {
    /// The add-on file, for findings.
    pub file: &'a str,
    pub document: &'a AddonDocument,
    pub bundles: Option<&'a BundleTree>,
    /// Namespaces allowed without the `redhat-` prefix (AM0008).
    pub excluded_namespaces: &'a [String],
}

impl Subject<'_> {
    fn error(&self, code: Code, path: &FieldPath, message: impl Into<String>) -> Finding {
        Finding::error(code, self.file, message).at(path)
    }

    /// The main operator's bundles, oldest first.
    fn main_bundles(&self) -> &[Bundle] {
        self.bundles
            .and_then(|tree| tree.main())
            .map(|main| main.bundles.as_slice())
            .unwrap_or(&[])
    }

    fn head(&self) -> Option<&Bundle> {
        self.bundles.and_then(BundleTree::head)
    }
}

/// A rule: its code and the function that runs it.
pub type Rule = (Code, fn(&Subject) -> Vec<Finding>);

/// Every AM rule that runs offline and only here, in code order. AM0006,
/// AM0016 and AM0017 are loading rules: `common::check::load_rules` runs them in
/// every tool, so they arrive with the loaded add-on's findings.
pub const RULES: &[Rule] = &[
    (codes::DEFAULT_CHANNEL, default_channel),
    (codes::LABEL_FORMAT, label_format),
    (codes::OPERATOR_NAME, operator_name),
    (codes::ICON_BASE64, icon_base64),
    (codes::TEST_HARNESS, test_harness),
    (codes::CSV_INSTALL_MODES, csv_install_modes),
    (codes::NAMESPACES, namespaces),
    (codes::ADDON_PARAMETERS, addon_parameters),
    (codes::K8S_NAMES, k8s_names),
    (codes::CSV_PERMISSIONS, csv_permissions),
    (codes::ADDON_REQUIREMENTS, addon_requirements),
    (codes::CSV_DEPLOYMENTS, csv_deployments),
];

fn field(name: &str) -> FieldPath {
    FieldPath::root().key(name)
}

/// AM0001: the head bundle's annotations agree with `defaultChannel`.
pub fn default_channel(s: &Subject) -> Vec<Finding> {
    let Some(head) = s.head() else {
        return Vec::new();
    };
    let wanted = s.document.metadata.default_channel.as_str();
    let path = field("defaultChannel");
    let at = format!("bundle {} ({})", head.version, head.dir.display());
    let mut out = Vec::new();
    match head.annotations.default_channel() {
        None if wanted != "alpha" => out.push(
            s.error(
                codes::DEFAULT_CHANNEL,
                &path,
                format!(
                    "{at} sets no default channel annotation, so defaultChannel must be 'alpha'"
                ),
            )
            .expected("alpha")
            .found(wanted),
        ),
        Some(annotated) if annotated != wanted => out.push(
            s.error(
                codes::DEFAULT_CHANNEL,
                &path,
                format!("defaultChannel differs from the default channel annotation of {at}"),
            )
            .expected(annotated)
            .found(wanted),
        ),
        _ => {}
    }
    let channels = head.annotations.channels();
    if !channels.iter().any(|c| c == wanted) {
        out.push(
            s.error(
                codes::DEFAULT_CHANNEL,
                &path,
                format!("defaultChannel is not among the channels of {at}"),
            )
            .expected(format!("one of {}", channels.join(", ")))
            .found(wanted),
        );
    }
    out
}

/// AM0002: `label` is `api.openshift.com/addon-<id>`.
pub fn label_format(s: &Subject) -> Vec<Finding> {
    let meta = &s.document.metadata;
    let expected = format!("api.openshift.com/addon-{}", meta.id);
    if meta.label == expected {
        return Vec::new();
    }
    vec![s
        .error(
            codes::LABEL_FORMAT,
            &field("label"),
            "label does not follow 'api.openshift.com/addon-<id>'",
        )
        .expected(expected)
        .found(&meta.label)]
}

/// AM0003: every main bundle's package, CSV name and `replaces` belong to `operatorName`.
pub fn operator_name(s: &Subject) -> Vec<Finding> {
    let operator = s.document.metadata.operator_name.as_str();
    let path = field("operatorName");
    let mut out = Vec::new();
    for bundle in s.main_bundles() {
        // Named in a finding only: most bundles are fine.
        let at = || format!("bundle {} ({})", bundle.version, bundle.dir.display());
        if bundle.package() != Some(operator) {
            out.push(
                s.error(
                    codes::OPERATOR_NAME,
                    &path,
                    format!(
                        "the package annotation of {} does not match operatorName",
                        at()
                    ),
                )
                .expected(operator)
                .found(bundle.package().unwrap_or("nothing")),
            );
        }
        let version = bundle.csv.spec.version.as_deref().unwrap_or("<version>");
        let named_right = bundle
            .csv
            .name
            .strip_prefix(operator)
            .and_then(|rest| rest.strip_prefix(".v"))
            == Some(version);
        if !named_right {
            let expected_name = format!("{operator}.v{version}");
            out.push(
                s.error(
                    codes::OPERATOR_NAME,
                    &path,
                    format!("the CSV name of {} is not <operatorName>.v<version>", at()),
                )
                .expected(expected_name)
                .found(&bundle.csv.name),
            );
        }
        if let Some(replaces) = bundle
            .csv
            .spec
            .replaces
            .as_deref()
            .filter(|r| !r.is_empty())
        {
            if let Err(why) = identifier_problem(replaces, operator) {
                out.push(
                    s.error(
                        codes::OPERATOR_NAME,
                        &path,
                        format!("spec.replaces of {} {why}", at()),
                    )
                    .expected(format!("{operator}.v<version>"))
                    .found(replaces),
                );
            }
        }
    }
    out
}

/// `<operator>.<version>` with a tolerant semver (a leading `v` allowed).
fn identifier_problem(id: &str, operator: &str) -> Result<(), String> {
    let Some((name, version)) = id.split_once('.') else {
        return Err("is not of the form <name>.<version>".to_string());
    };
    if name != operator {
        return Err(format!("names the operator {name:?}"));
    }
    let version = version.trim_start_matches('v');
    semver::Version::parse(version)
        .map(|_| ())
        .map_err(|err| format!("has an invalid version: {err}"))
}

/// AM0004: the icon is a base64 PNG.
pub fn icon_base64(s: &Subject) -> Vec<Finding> {
    let icon = &s.document.metadata.icon;
    match png::check_icon(icon) {
        Ok(_) => Vec::new(),
        Err(problem) => vec![s
            .error(
                codes::ICON_BASE64,
                &field("icon"),
                format!("icon {problem}"),
            )
            .expected("a base64-encoded PNG image")
            .found(short(icon))],
    }
}

fn short(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{:?}...", text.chars().take(40).collect::<String>())
    } else {
        format!("{text:?}")
    }
}

/// AM0005 (offline part): testHarness is an image reference on quay.io.
pub fn test_harness(s: &Subject) -> Vec<Finding> {
    let harness = &s.document.metadata.test_harness;
    let path = field("testHarness");
    let registry = harness.split('/').next().unwrap_or_default();
    if registry != "quay.io" {
        return vec![s
            .error(
                codes::TEST_HARNESS,
                &path,
                "the test harness image is not in the quay.io registry",
            )
            .expected("quay.io/<org>/<image>[:tag]")
            .found(harness)];
    }
    let repository = harness.split(['@', ':']).next().unwrap_or_default();
    if repository.split('/').count() < 3 || repository.split('/').any(str::is_empty) {
        return vec![s
            .error(
                codes::TEST_HARNESS,
                &path,
                "the test harness is not a valid image reference",
            )
            .expected("quay.io/<org>/<image>[:tag]")
            .found(harness)];
    }
    Vec::new()
}

/// AM0007: every main bundle's CSV supports `installMode`.
pub fn csv_install_modes(s: &Subject) -> Vec<Finding> {
    let mode = s.document.metadata.install_mode.as_str();
    s.main_bundles()
        .iter()
        .filter(|bundle| {
            !bundle
                .csv
                .spec
                .install_modes
                .iter()
                .any(|m| m.mode == mode && m.supported)
        })
        .map(|bundle| {
            let supported: Vec<&str> = bundle
                .csv
                .spec
                .install_modes
                .iter()
                .filter(|m| m.supported)
                .map(|m| m.mode.as_str())
                .collect();
            s.error(
                codes::CSV_INSTALL_MODES,
                &field("installMode"),
                format!(
                    "the CSV of bundle {} does not support installMode {mode}",
                    bundle.version
                ),
            )
            .expected(format!(
                "one of the CSV's supported modes: {}",
                supported.join(", ")
            ))
            .found(mode)
        })
        .collect()
}

/// AM0008: targetNamespace is listed; every namespace starts with `redhat-`.
pub fn namespaces(s: &Subject) -> Vec<Finding> {
    let meta = &s.document.metadata;
    let mut out = Vec::new();
    let exceptions = ["openshift-logging"];
    if !meta.namespaces.contains(&meta.target_namespace)
        && !exceptions.contains(&meta.target_namespace.as_str())
    {
        out.push(
            s.error(
                codes::NAMESPACES,
                &field("targetNamespace"),
                "targetNamespace is not in the list of namespaces",
            )
            .expected(format!("one of {}", meta.namespaces.join(", ")))
            .found(&meta.target_namespace),
        );
    }
    for (i, namespace) in meta.namespaces.iter().enumerate() {
        if !namespace.starts_with("redhat-") && !s.excluded_namespaces.contains(namespace) {
            out.push(
                s.error(
                    codes::NAMESPACES,
                    &field("namespaces").index(i),
                    "namespace does not start with 'redhat-'",
                )
                .expected("redhat-<name> (or list it in --excluded-namespaces)")
                .found(namespace),
            );
        }
    }
    out
}

/// A parameter's `validation`, compiled once per process: add-ons of a tree
/// share the same few patterns, and compiling one costs more than checking
/// a whole add-on against it. At most 256 are kept.
fn parameter_pattern(validation: &str) -> std::result::Result<Arc<regex::Regex>, String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    // Shared, not cloned: a cloned Regex starts a search cache of its own
    // (a lazy DFA built again on every add-on that uses the pattern).
    type Compiled = std::result::Result<Arc<regex::Regex>, String>;
    static COMPILED: OnceLock<Mutex<HashMap<String, Compiled>>> = OnceLock::new();
    let cache = COMPILED.get_or_init(Mutex::default);
    if let Some(compiled) = cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(validation)
    {
        return compiled.clone();
    }
    let compiled = regex::Regex::new(validation)
        .map(Arc::new)
        .map_err(|err| err.to_string());
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    // Bounded, so that a tree of all different patterns does not grow memory.
    if cache.len() < 256 {
        cache.insert(validation.to_string(), compiled.clone());
    }
    compiled
}

/// AM0009: a parameter has validation or options, not both, and its default
/// satisfies whichever it has.
pub fn addon_parameters(s: &Subject) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, parameter) in s.document.parameters().iter().enumerate() {
        let path = field("addOnParameters").index(i);
        match (&parameter.validation, &parameter.options) {
            (Some(_), Some(_)) => out.push(
                s.error(
                    codes::ADDON_PARAMETERS,
                    &path,
                    format!(
                        "parameter {:?} sets both validation and options",
                        parameter.id
                    ),
                )
                .expected("validation or options, not both"),
            ),
            (Some(validation), None) => {
                let Some(default) = &parameter.default_value else {
                    continue;
                };
                match parameter_pattern(validation) {
                    Err(err) => out.push(
                        s.error(
                            codes::ADDON_PARAMETERS,
                            &path.key("validation"),
                            format!(
                                "validation of {:?} is not a valid regular expression: {err}",
                                parameter.id
                            ),
                        )
                        .found(validation),
                    ),
                    Ok(regex) if !regex.is_match(default) => {
                        let mut message = format!(
                            "default_value of {:?} does not match its validation",
                            parameter.id
                        );
                        if let Some(why) = &parameter.validation_err_msg {
                            message.push_str(&format!(": {why}"));
                        }
                        out.push(
                            s.error(codes::ADDON_PARAMETERS, &path.key("default_value"), message)
                                .expected(format!("a value matching {validation}"))
                                .found(default),
                        );
                    }
                    Ok(_) => {}
                }
            }
            (None, Some(options)) => {
                let Some(default) = &parameter.default_value else {
                    continue;
                };
                if !options.iter().any(|o| &o.value == default) {
                    let values: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
                    out.push(
                        s.error(
                            codes::ADDON_PARAMETERS,
                            &path.key("default_value"),
                            format!(
                                "default_value of {:?} is not one of its options",
                                parameter.id
                            ),
                        )
                        .expected(format!("one of {}", values.join(", ")))
                        .found(default),
                    );
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// AM0010: names and keys the Kubernetes API will accept.
pub fn k8s_names(s: &Subject) -> Vec<Finding> {
    let meta = &s.document.metadata;
    let mut out = Vec::new();
    // The path is made only for a finding: most names are valid.
    let check = |out: &mut Vec<Finding>,
                 path: &dyn Fn() -> FieldPath,
                 value: &str,
                 what: &str,
                 rule: fn(&str) -> Result<(), String>| {
        if let Err(why) = rule(value) {
            out.push(
                s.error(
                    codes::K8S_NAMES,
                    &path(),
                    format!("{value:?} is not a valid Kubernetes {what}: {why}"),
                )
                .found(value),
            );
        }
    };
    check(
        &mut out,
        &|| field("label"),
        &meta.label,
        "label name",
        names::qualified_name,
    );
    check(
        &mut out,
        &|| field("targetNamespace"),
        &meta.target_namespace,
        "namespace name",
        names::dns1123_label,
    );
    for (i, namespace) in meta.namespaces.iter().enumerate() {
        check(
            &mut out,
            &|| field("namespaces").index(i),
            namespace,
            "namespace name",
            names::dns1123_label,
        );
    }
    let maps = [
        (
            "namespaceLabels",
            Some(&meta.namespace_labels),
            "label name",
        ),
        (
            "namespaceAnnotations",
            Some(&meta.namespace_annotations),
            "annotation name",
        ),
        ("commonLabels", meta.common_labels.as_ref(), "label name"),
        (
            "commonAnnotations",
            meta.common_annotations.as_ref(),
            "annotation name",
        ),
    ];
    for (name, map, what) in maps {
        for key in map.into_iter().flat_map(|m| m.keys()) {
            // Annotation names are checked lower-cased, as Kubernetes does.
            let checked = if what == "annotation name" {
                std::borrow::Cow::Owned(key.to_lowercase())
            } else {
                std::borrow::Cow::Borrowed(key.as_str())
            };
            if let Err(why) = names::qualified_name(&checked) {
                out.push(
                    s.error(
                        codes::K8S_NAMES,
                        &field(name).key(key.clone()),
                        format!("{key:?} is not a valid Kubernetes {what}: {why}"),
                    )
                    .found(key),
                );
            }
        }
    }
    if let Some(pd) = &meta.pagerduty {
        check(
            &mut out,
            &|| field("pagerduty").key("secretNamespace"),
            &pd.secret_namespace,
            "namespace name",
            names::dns1123_label,
        );
        check(
            &mut out,
            &|| field("pagerduty").key("secretName"),
            &pd.secret_name,
            "secret name",
            names::dns1123_subdomain,
        );
    }
    out
}

/// AM0012: RBAC of the head CSV.
pub fn csv_permissions(s: &Subject) -> Vec<Finding> {
    let Some(head) = s.head() else {
        return Vec::new();
    };
    let install = head.csv.spec.install.as_ref();
    let namespaced = install
        .map(|i| i.spec.permissions.as_slice())
        .unwrap_or(&[]);
    let cluster = install
        .map(|i| i.spec.cluster_permissions.as_slice())
        .unwrap_or(&[]);
    let owned: BTreeSet<String> = head
        .csv
        .spec
        .customresourcedefinitions
        .owned
        .iter()
        .map(|c| c.api_group())
        .collect();
    let at = format!(
        "the CSV of bundle {} ({})",
        head.version,
        head.dir.display()
    );
    let path = field("operatorName");
    let all_rules = || {
        namespaced
            .iter()
            .chain(cluster)
            .flat_map(|p| p.rules.iter())
    };
    let mut out = Vec::new();
    if all_rules().any(|r| r.api_groups.iter().any(|g| g == "*")) {
        out.push(
            s.error(
                codes::CSV_PERMISSIONS,
                &path,
                format!("{at} grants a wildcard '*' API group"),
            )
            .expected("explicit API groups"),
        );
    }
    let wildcard_foreign = |r: &PolicyRule| {
        r.resources.iter().any(|x| x == "*") && r.api_groups.iter().any(|g| !owned.contains(g))
    };
    if all_rules().any(wildcard_foreign) {
        out.push(
            s.error(
                codes::CSV_PERMISSIONS,
                &path,
                format!("{at} grants '*' resources in API groups the operator does not own"),
            )
            .expected(format!(
                "wildcards only in owned groups ({})",
                owned.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
        );
    }
    let confidential = |r: &PolicyRule| {
        r.api_groups.iter().any(String::is_empty)
            && r.resources
                .iter()
                .any(|x| x == "secrets" || x == "configmaps")
            && r.resource_names.is_empty()
    };
    if cluster
        .iter()
        .flat_map(|p| p.rules.iter())
        .any(confidential)
    {
        out.push(
            s.error(
                codes::CSV_PERMISSIONS,
                &path,
                format!("{at} can read secrets or configmaps cluster-wide"),
            )
            .expected("namespaced permissions, or resourceNames"),
        );
    }
    out
}

/// AM0013: each requirement says what it requires.
pub fn addon_requirements(s: &Subject) -> Vec<Finding> {
    s.document
        .requirements()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.data.is_empty())
        .map(|(i, r)| {
            s.error(
                codes::ADDON_REQUIREMENTS,
                &field("addOnRequirements").index(i).key("data"),
                format!("requirement {:?} has no data", r.id),
            )
            .expected("at least one requirement key")
        })
        .collect()
}

/// AM0015: every container of the head CSV's deployments has probes and
/// CPU and memory requests and limits.
pub fn csv_deployments(s: &Subject) -> Vec<Finding> {
    let Some(head) = s.head() else {
        return Vec::new();
    };
    let Some(install) = &head.csv.spec.install else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for deployment in &install.spec.deployments {
        let containers = deployment
            .spec
            .get("template")
            .and_then(|t| t.get("spec"))
            .and_then(|t| t.get("containers"))
            .and_then(Value::as_array);
        for container in containers.into_iter().flatten() {
            let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
            let mut missing = Vec::new();
            for probe in ["livenessProbe", "readinessProbe"] {
                if container.get(probe).is_none_or(Value::is_null) {
                    missing.push(probe.to_string());
                }
            }
            for kind in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    let quantity = container
                        .get("resources")
                        .and_then(|r| r.get(kind))
                        .and_then(|r| r.get(resource));
                    if quantity.is_none_or(is_zero_quantity) {
                        missing.push(format!("{resource} {kind}"));
                    }
                }
            }
            if !missing.is_empty() {
                out.push(
                    s.error(
                        codes::CSV_DEPLOYMENTS,
                        &field("operatorName"),
                        format!(
                            "container {name:?} of deployment {:?} in bundle {} lacks {}",
                            deployment.name,
                            head.version,
                            missing.join(", ")
                        ),
                    )
                    .expected("liveness and readiness probes, CPU and memory requests and limits"),
                );
            }
        }
    }
    out
}

fn is_zero_quantity(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(text) => {
            let digits: String = text
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            digits.parse::<f64>().map(|v| v == 0.0).unwrap_or(true)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::addon::{AddonParameter, AddonRequirement, ParameterOption};

    fn document() -> AddonDocument {
        common::testing::minimal_document(serde_json::json!({"icon": crate::png::tests::TINY_PNG}))
    }

    fn run(rule: fn(&Subject) -> Vec<Finding>, document: &AddonDocument) -> Vec<String> {
        let subject = Subject {
            file: "addon.yaml",
            document,
            bundles: None,
            excluded_namespaces: &[],
        };
        rule(&subject)
            .into_iter()
            .map(|f| format!("{} {}", f.code, f.path))
            .collect()
    }

    #[test]
    fn a_clean_addon_passes_every_metadata_rule() {
        let doc = document();
        for (code, rule) in RULES {
            assert!(run(*rule, &doc).is_empty(), "{code}");
        }
    }

    #[test]
    fn label_icon_and_harness() {
        let mut doc = document();
        doc.metadata.label = "api.openshift.com/addon-other".into();
        doc.metadata.icon = "mock".into();
        doc.metadata.test_harness = "docker.io/x/y".into();
        assert_eq!(run(label_format, &doc), ["AM0002 label"]);
        assert_eq!(run(icon_base64, &doc), ["AM0004 icon"]);
        assert_eq!(run(test_harness, &doc), ["AM0005 testHarness"]);
    }

    #[test]
    fn namespace_rules() {
        let mut doc = document();
        doc.metadata.target_namespace = "elsewhere".into();
        doc.metadata.namespaces.push("Mock_Operator".into());
        assert_eq!(
            run(namespaces, &doc),
            ["AM0008 targetNamespace", "AM0008 namespaces[1]"]
        );
        assert_eq!(run(k8s_names, &doc), ["AM0010 namespaces[1]"]);
        let subject = Subject {
            file: "a",
            document: &doc,
            bundles: None,
            excluded_namespaces: &["Mock_Operator".to_string()],
        };
        assert_eq!(namespaces(&subject).len(), 1);
    }

    #[test]
    fn parameter_defaults_must_fit() {
        let mut doc = document();
        let base = AddonParameter {
            id: "size".into(),
            name: "Size".into(),
            value_type: "string".into(),
            ..Default::default()
        };
        doc.metadata.add_on_parameters = Some(vec![
            AddonParameter {
                validation: Some("^[0-9]+$".into()),
                default_value: Some("ten".into()),
                ..base.clone()
            },
            AddonParameter {
                options: Some(vec![ParameterOption {
                    name: "One".into(),
                    value: "1".into(),
                    ..Default::default()
                }]),
                default_value: Some("4".into()),
                ..base.clone()
            },
            AddonParameter {
                validation: Some(".*".into()),
                options: Some(vec![]),
                ..base.clone()
            },
            AddonParameter {
                validation: Some("^[0-9]+$".into()),
                default_value: Some("10".into()),
                ..base
            },
        ]);
        assert_eq!(
            run(addon_parameters, &doc),
            [
                "AM0009 addOnParameters[0].default_value",
                "AM0009 addOnParameters[1].default_value",
                "AM0009 addOnParameters[2]"
            ]
        );
    }

    #[test]
    fn requirements_need_data() {
        let mut doc = document();
        doc.metadata.add_on_requirements = Some(vec![AddonRequirement {
            id: "r".into(),
            resource: "cluster".into(),
            data: Default::default(),
            enabled: true,
        }]);
        assert_eq!(
            run(addon_requirements, &doc),
            ["AM0013 addOnRequirements[0].data"]
        );
    }

    #[test]
    fn quantities() {
        assert!(is_zero_quantity(&serde_json::json!("0")));
        assert!(is_zero_quantity(&serde_json::json!("0m")));
        assert!(!is_zero_quantity(&serde_json::json!("100m")));
        assert!(!is_zero_quantity(&serde_json::json!("1Gi")));
        assert!(!is_zero_quantity(&serde_json::json!(1)));
    }
}
