//! Where managed-tenants-cli renders an add-on other than the add-on says
//! (README, "Differences from managed-tenants-cli"), we render what it says,
//! and addon-validate warns (DF codes) without failing. One test per
//! difference: the warning, then our rendering, which is the intended one.

use std::path::PathBuf;

use e2e::{tool, ReferenceAddon, RunExt};
use serde_json::Value;

/// The reference add-on's stage tree, copied so a test can change it.
struct Tree {
    addon: ReferenceAddon,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            addon: ReferenceAddon::new(),
        }
    }

    fn addon_yaml(&self) -> PathBuf {
        self.addon.addon_yaml()
    }

    /// Replaces `from` (which must be there) with `to` in a file of the tree.
    fn edit(&self, file: &str, from: &str, to: &str) -> &Tree {
        self.addon.edit(file, from, to);
        self
    }

    /// addon-validate passes the add-on and warns `code` at `field`.
    fn assert_warns(&self, code: &str, field: &str) {
        let stderr = tool("addon-validate")
            .arg(self.addon_yaml())
            .run()
            .success()
            .stderr();
        assert!(
            stderr.contains(&format!("warning {code}: {field}")),
            "no {code} at {field}:\n{stderr}"
        );
    }

    /// Our SelectorSyncSet's resources.
    fn resources(&self) -> Vec<Value> {
        let output = tool("syncset-render")
            .arg(self.addon_yaml())
            .args(["--selector", "-o", "json"])
            .run()
            .success();
        let list: Value = output.json();
        let mut all = Vec::new();
        for item in list["items"].as_array().unwrap() {
            all.push(item.clone());
            if let Some(resources) = item["spec"]["resources"].as_array() {
                all.extend(resources.iter().cloned());
            }
        }
        all
    }

    fn object(&self, kind: &str) -> Value {
        self.resources()
            .into_iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    }
}

/// The reference add-on with `from` replaced by `to` in `file`, which
/// addon-validate passes with the warning `code` at `field`: the difference
/// a test then checks our rendering of.
fn warned(file: &str, from: &str, to: &str, code: &str, field: &str) -> Tree {
    let tree = Tree::new();
    tree.edit(file, from, to).assert_warns(code, field);
    tree
}

/// Our DeadmansSnitchIntegration's cluster selector, for a snitch whose
/// `clusterDeploymentSelector` is `selector` (YAML lines indented by four
/// spaces), which addon-validate passes with the warning DF0003.
fn warned_snitch_selector(selector: &str) -> Value {
    let to = format!("deadmanssnitch:\n  clusterDeploymentSelector:\n{selector}");
    let field = "deadmanssnitch.clusterDeploymentSelector";
    let tree = warned(STAGE, "deadmanssnitch:\n", &to, "DF0003", field);
    tree.object("DeadmansSnitchIntegration")["spec"]["clusterDeploymentSelector"].clone()
}

const STAGE: &str = "metadata/stage/addon.yaml";
const LATEST_SET: &str = "addonimagesets/stage/reference-addon.v0.3.0.yml";

/// A PagerDuty field that mtcli's YAML 1.1 reading retypes: with `from`
/// in the stage addon.yaml replaced by `to`, addon-validate warns DF0001 at
/// `field` and our PagerDutyIntegration keeps the string `expected` at
/// `pointer`.
fn assert_pagerduty_keeps_string(from: &str, to: &str, field: &str, pointer: &str, expected: &str) {
    let tree = warned(STAGE, from, to, "DF0001", field);
    assert_eq!(
        tree.object("PagerDutyIntegration").pointer(pointer),
        Some(&Value::from(expected)),
        "{pointer}"
    );
}

#[test]
fn an_escalation_policy_of_digits_stays_a_string_not_octal() {
    // mtcli: `escalationPolicy: 0123`, which YAML 1.1 reads as the octal 83.
    assert_pagerduty_keeps_string(
        "escalationPolicy: PABCDEF",
        "escalationPolicy: '0123'",
        "pagerduty.escalationPolicy",
        "/spec/escalationPolicy",
        "0123",
    );
}

#[test]
fn a_secret_named_on_stays_a_string_not_true() {
    assert_pagerduty_keeps_string(
        "secretName: redhat-reference-addon-pagerduty",
        "secretName: 'on'",
        "pagerduty.secretName",
        "/spec/targetSecretRef/name",
        "on",
    );
}

#[test]
fn a_namespace_named_null_stays_a_string_not_null() {
    assert_pagerduty_keeps_string(
        "secretNamespace: redhat-reference-addon",
        "secretNamespace: 'null'",
        "pagerduty.secretNamespace",
        "/spec/targetSecretRef/namespace",
        "null",
    );
}

#[test]
fn a_port_name_of_digits_stays_a_string_not_a_number() {
    let tree = warned(
        STAGE,
        "deadmanssnitch:",
        "metricsFederation:\n  portName: '9091'\n  namespace: redhat-reference-addon\n  \
         matchNames: [up]\n  matchLabels: {app: reference}\ndeadmanssnitch:",
        "DF0001",
        "metricsFederation.portName",
    );
    assert_eq!(
        tree.object("ServiceMonitor")["spec"]["endpoints"][0]["port"],
        "9091"
    );
}

#[test]
fn a_csv_version_like_1_10_stays_a_string_not_1_1() {
    let tree = warned(
        STAGE,
        "defaultChannel: alpha",
        "defaultChannel: alpha\nstartingCSV: '1.10'",
        "DF0001",
        "startingCSV",
    );
    assert_eq!(tree.object("Subscription")["spec"]["startingCSV"], "1.10");
}

#[test]
fn an_env_value_keeps_its_leading_spaces() {
    let tree = warned(
        LATEST_SET,
        "value: info",
        "value: '  info'",
        "DF0002",
        "imageSet.config.env[0].value",
    );
    // mtcli: `value: |-` then the text indented, so the spaces are indentation.
    assert_eq!(
        tree.object("Subscription")["spec"]["config"]["env"][0]["value"],
        "  info"
    );
}

#[test]
fn a_null_in_the_snitch_selector_stays_null_not_none() {
    let selector = warned_snitch_selector(
        "    matchLabels:\n      api.openshift.com/addon-reference-addon: 'true'\n    \
         matchExpressions: null\n",
    );
    // mtcli: `{'matchLabels': {...}, 'matchExpressions': None}`, the string "None".
    assert_eq!(selector["matchExpressions"], Value::Null);
    assert_eq!(
        selector["matchLabels"]["api.openshift.com/addon-reference-addon"],
        "true"
    );
}

#[test]
fn a_backslash_in_the_snitch_selector_stays_single() {
    let selector = warned_snitch_selector(
        "    matchExpressions:\n      - {key: tier, operator: In, values: ['a\\b']}\n",
    );
    // mtcli writes `'values': ['a\\b']` (repr doubles it); YAML keeps both.
    assert_eq!(
        selector["matchExpressions"][0]["values"],
        serde_json::json!(["a\\b"])
    );
}

#[test]
fn starting_csv_without_a_catalog_is_not_put_in_the_operator_group() {
    let tree = warned(
        STAGE,
        "addonImageSetVersion: latest",
        "addonImageSetVersion: null\nstartingCSV: reference-addon.v0.3.0",
        "DF0004",
        "startingCSV",
    );
    let resources = tree.resources();
    let group = resources
        .iter()
        .find(|o| o["kind"] == "OperatorGroup")
        .expect("an OperatorGroup");
    assert!(group["spec"].get("startingCSV").is_none(), "{group:#}");
    assert!(!resources.iter().any(|o| o["kind"] == "Subscription"));
}

impl Tree {
    /// Adds extra resource `name` (a file beside addon.yaml) with `text`.
    fn extra_resource(&self, name: &str, text: &str) -> &Tree {
        self.addon
            .append(STAGE, &format!("extraResources:\n  - {name}\n"));
        self.addon.write(&format!("metadata/stage/{name}"), text);
        self
    }

    /// The ConfigMap `map` rendered from the reference add-on's extra
    /// resource `file` holding `text`, which addon-validate passes with the
    /// warning `code` at `(document)`.
    fn warned_extra_config_map(file: &str, text: &str, code: &str, map: &str) -> Value {
        let tree = Tree::new();
        tree.extra_resource(file, text)
            .assert_warns(code, "(document)");
        tree.config_map(map)
    }

    /// The ConfigMap named `name` among the rendered objects.
    fn config_map(&self, name: &str) -> Value {
        self.resources()
            .into_iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no ConfigMap {name}"))
    }
}

#[test]
fn an_extra_resource_starting_with_a_document_marker_is_read_as_the_document() {
    // mtcli writes `- {{ render_extra_resource(ADDON, resource) | indent(2) }}`
    // into its List: `- ---` is a plain scalar there, and the next line
    // `  apiVersion: v1` a mapping PyYAML refuses in it.
    let text = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: marked\n";
    let map = Tree::warned_extra_config_map("marked.yaml", text, "DF0005", "marked");
    assert_eq!(map["apiVersion"], "v1");
}

#[test]
fn a_template_named_like_an_mtcli_data_file_is_the_addons_own() {
    // mtcli's loader is ChoiceLoader([managedtenants/data, the metadata
    // folder]): `macros.j2` is found in mtcli's package first.
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own-macros\n";
    let map = Tree::warned_extra_config_map("macros.j2", text, "DF0006", "own-macros");
    assert_eq!(map["kind"], "ConfigMap");
}

#[test]
fn the_reference_addon_hits_no_difference() {
    tool("addon-validate")
        .arg(Tree::new().addon_yaml())
        .run()
        .success()
        .stderr_lacks(" DF0");
}
