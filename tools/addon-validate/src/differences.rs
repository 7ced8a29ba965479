//! Where managed-tenants-cli renders an add-on other than the add-on says, we
//! render what it says; these warnings (DF codes) name the add-ons that hit
//! such a case, so a team moving from mtcli knows which SelectorSyncSets will
//! differ. README "Differences from managed-tenants-cli" explains each.
//!
//! mtcli's SelectorSyncSet template inserts values unquoted into YAML that
//! PyYAML (YAML 1.1) then reads again; we build the objects as data.

use common::model::addon::AddonDocument;
use common::text::yaml::{plainly_a_string, resolve_plain};
use common::{FieldPath, Finding};
use serde_json::Value;

// The DF codes: a string inserted unquoted that YAML 1.1 re-reads as another
// type; an env value inserted into a `|-` block scalar that cannot hold it as
// is; a mapping or list inserted through Python's `repr`; `startingCSV`
// without a catalog, which mtcli puts in the OperatorGroup.
use common::check::finding_codes::df::{
    ENV_BLOCK_SCALAR, PYTHON_REPR, RETYPED_SCALAR, STARTING_CSV_WITHOUT_CATALOG,
};

/// Every difference the add-on hits, as warnings.
pub fn differences(file: &str, document: &AddonDocument) -> Vec<Finding> {
    let mut out = retyped_scalars(file, document);
    out.extend(env_block_scalars(file, document));
    out.extend(python_repr_values(file, document));
    out.extend(starting_csv_without_catalog(file, document));
    out
}

fn field(name: &str) -> FieldPath {
    FieldPath::root().key(name)
}

/// Where the Subscription's env comes from: the image set's `config.env`
/// when it has one, else the metadata's.
fn env_path(document: &AddonDocument) -> FieldPath {
    let from_set = document
        .image_set
        .as_ref()
        .and_then(|set| set.config.as_ref())
        .and_then(|config| config.env.as_ref())
        .is_some_and(|env| !env.is_empty());
    let config = if from_set {
        field("imageSet").key("config")
    } else {
        field("config")
    };
    config.key("env")
}

/// The strings mtcli's template inserts bare, gathered with where they sit
/// only when YAML 1.1 may read them back as another type: most are plainly
/// strings, and a path made for each cost more than the check.
#[derive(Default)]
struct BareStrings<'a> {
    retypable: Vec<(FieldPath, &'a str)>,
}

impl<'a> BareStrings<'a> {
    fn add(&mut self, text: &'a str, at: impl FnOnce() -> FieldPath) {
        if !text.is_empty() && !plainly_a_string(text) {
            self.retypable.push((at(), text));
        }
    }
}

/// The bare strings of the add-on that may be retyped (see [`BareStrings`]).
fn bare_strings(document: &AddonDocument) -> Vec<(FieldPath, &str)> {
    let meta = &document.metadata;
    let mut bare = BareStrings::default();
    bare.add(&meta.operator_name, || field("operatorName"));
    bare.add(&meta.target_namespace, || field("targetNamespace"));
    for (i, namespace) in meta.namespaces.iter().enumerate() {
        bare.add(namespace, || field("namespaces").index(i));
    }
    if let Some(csv) = &meta.starting_csv {
        bare.add(csv, || field("startingCSV"));
    }
    if let Some(pd) = &meta.pagerduty {
        for (key, value) in [
            ("escalationPolicy", &pd.escalation_policy),
            ("secretName", &pd.secret_name),
            ("secretNamespace", &pd.secret_namespace),
        ] {
            bare.add(value, || field("pagerduty").key(key));
        }
    }
    for (name, federation) in [
        ("metricsFederation", &meta.metrics_federation),
        ("monitoring", &meta.monitoring),
    ] {
        if let Some(federation) = federation {
            bare.add(&federation.port_name, || field(name).key("portName"));
        }
    }
    if let Some(dms) = &meta.deadmanssnitch {
        let at = || field("deadmanssnitch");
        if let Some(post_fix) = &dms.snitch_name_post_fix {
            bare.add(post_fix, || at().key("snitchNamePostFix"));
        }
        if let Some(secret) = &dms.target_secret_ref {
            for (key, value) in [("name", &secret.name), ("namespace", &secret.namespace)] {
                if let Some(value) = value {
                    bare.add(value, || at().key("targetSecretRef").key(key));
                }
            }
        }
    }
    for (i, var) in document.env().iter().enumerate() {
        bare.add(&var.name, || env_path(document).index(i).key("name"));
    }
    for (i, source) in document.additional_catalog_sources().iter().enumerate() {
        let at = || field("additionalCatalogSources").index(i);
        bare.add(&source.name, || at().key("name"));
        bare.add(&source.image, || at().key("image"));
    }
    bare.retypable
}

/// DF0001: `"0123"` becomes 83, `"on"` true, `"null"` null, `"1.10"` 1.1.
pub fn retyped_scalars(file: &str, document: &AddonDocument) -> Vec<Finding> {
    bare_strings(document)
        .into_iter()
        .filter_map(|(path, text)| {
            let reread = resolve_plain(text.to_string());
            if reread.is_string() {
                return None;
            }
            Some(
                Finding::warning(
                    RETYPED_SCALAR,
                    file,
                    format!(
                        "managed-tenants-cli inserts {text:?} unquoted and YAML 1.1 reads it back as {}; \
                         addon-flow keeps the string",
                        describe(&reread)
                    ),
                )
                .at(&path)
                .expected(format!("the string {text:?} (what addon-flow renders)"))
                .found(format!("{reread} in mtcli's output")),
            )
        })
        .collect()
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        other => other.to_string(),
    }
}

/// DF0002: mtcli writes an env value as `value: |-` and the text on the next
/// line; leading spaces become indentation and are lost, a second line
/// leaves the block.
pub fn env_block_scalars(file: &str, document: &AddonDocument) -> Vec<Finding> {
    document
        .env()
        .iter()
        .enumerate()
        .filter(|(_, var)| var.value.starts_with([' ', '\t']) || var.value.contains('\n'))
        .map(|(i, var)| {
            let why = if var.value.contains('\n') {
                "spans lines, and only its first line sits inside mtcli's block scalar"
            } else {
                "begins with whitespace, which mtcli's block scalar takes as indentation and drops"
            };
            Finding::warning(
                ENV_BLOCK_SCALAR,
                file,
                format!(
                    "env value of {:?} {why}; addon-flow keeps the value as written",
                    var.name
                ),
            )
            .at(&env_path(document).index(i).key("value"))
            .found(format!("{:?}", var.value))
        })
        .collect()
}

/// DF0003: `deadmanssnitch.clusterDeploymentSelector` goes through Python's
/// `repr`: null becomes the string "None", a backslash is doubled, a control
/// character becomes an escape. (`tags` goes through it too, but its schema
/// pattern allows nothing `repr` changes.)
pub fn python_repr_values(file: &str, document: &AddonDocument) -> Vec<Finding> {
    let Some(selector) = document
        .metadata
        .deadmanssnitch
        .as_ref()
        .and_then(|dms| dms.cluster_deployment_selector.clone())
    else {
        return Vec::new();
    };
    match repr_changes(&Value::Object(selector), true) {
        Some(what) => vec![Finding::warning(
            PYTHON_REPR,
            file,
            format!(
                "managed-tenants-cli inserts clusterDeploymentSelector through Python's repr, \
                 which turns {what}; addon-flow keeps the values"
            ),
        )
        .at(&field("deadmanssnitch").key("clusterDeploymentSelector"))],
        None => Vec::new(),
    }
}

/// What `repr` would change in `value`, if anything.
fn repr_changes(value: &Value, top: bool) -> Option<&'static str> {
    match value {
        Value::Null if !top => Some("null into the string \"None\""),
        Value::String(text) if text.contains('\\') => Some("a backslash into two"),
        Value::String(text) if text.chars().any(char::is_control) => {
            Some("a control character into an escape sequence")
        }
        Value::Array(items) => items.iter().find_map(|v| repr_changes(v, false)),
        Value::Object(map) => map.values().find_map(|v| repr_changes(v, false)),
        _ => None,
    }
}

/// DF0004: mtcli writes `startingCSV` after the Subscription block, so with
/// no catalog (no Subscription) it lands in the OperatorGroup.
pub fn starting_csv_without_catalog(file: &str, document: &AddonDocument) -> Vec<Finding> {
    match &document.metadata.starting_csv {
        Some(csv) if document.index_image().is_none() => vec![Finding::warning(
            STARTING_CSV_WITHOUT_CATALOG,
            file,
            "the add-on has no catalog, so no Subscription: managed-tenants-cli still writes \
             startingCSV, into the OperatorGroup; addon-flow leaves it out",
        )
        .at(&field("startingCSV"))
        .found(csv)],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(extra: Value) -> AddonDocument {
        let mut value = common::testing::with_fields(
            common::testing::minimal_addon(),
            serde_json::json!({"indexImage": "quay.io/osd-addons/my-addon-index@sha256:1"}),
        );
        let map = value.as_object_mut().unwrap();
        for (key, v) in extra.as_object().unwrap() {
            map.insert(key.clone(), v.clone());
        }
        serde_json::from_value(value).unwrap()
    }

    fn found(doc: &AddonDocument) -> Vec<String> {
        let findings = differences("addon.yaml", doc);
        assert!(findings.iter().all(|f| !f.is_error()), "warnings only");
        findings
            .into_iter()
            .map(|f| format!("{} {}", f.code, f.path))
            .collect()
    }

    #[test]
    fn an_ordinary_addon_hits_no_difference() {
        assert!(found(&document(serde_json::json!({}))).is_empty());
    }

    #[test]
    fn strings_yaml_1_1_would_retype() {
        let doc = document(serde_json::json!({
            "startingCSV": "1.10",
            "pagerduty": {"escalationPolicy": "0123", "acknowledgeTimeout": 1, "resolveTimeout": 0,
                          "secretName": "on", "secretNamespace": "null"},
            "metricsFederation": {"portName": "9091", "namespace": "redhat-x", "matchNames": [], "matchLabels": {}}
        }));
        assert_eq!(
            found(&doc),
            [
                "DF0001 startingCSV",
                "DF0001 pagerduty.escalationPolicy",
                "DF0001 pagerduty.secretName",
                "DF0001 pagerduty.secretNamespace",
                "DF0001 metricsFederation.portName"
            ]
        );
    }

    #[test]
    fn env_values_a_block_scalar_cannot_hold() {
        let doc = document(serde_json::json!({"config": {"env": [
            {"name": "A", "value": "  indented"}, {"name": "B", "value": "two\nlines"},
            {"name": "C", "value": "plain"}
        ]}}));
        assert_eq!(
            found(&doc),
            ["DF0002 config.env[0].value", "DF0002 config.env[1].value"]
        );
    }

    #[test]
    fn values_python_repr_would_change() {
        let selector = |value: Value| {
            document(serde_json::json!({"deadmanssnitch": {
                "clusterDeploymentSelector": {"matchLabels": {"a": value}}, "tags": ["t"]
            }}))
        };
        let expected = ["DF0003 deadmanssnitch.clusterDeploymentSelector"];
        assert_eq!(found(&selector(Value::Null)), expected);
        assert_eq!(found(&selector("C:\\path".into())), expected);
        assert!(found(&selector("plain".into())).is_empty());
    }

    #[test]
    fn starting_csv_without_a_catalog() {
        let mut doc = document(serde_json::json!({"startingCSV": "my-addon.v1.0.0"}));
        assert!(found(&doc).is_empty());
        doc.metadata.index_image = None;
        assert_eq!(found(&doc), ["DF0004 startingCSV"]);
    }
}
