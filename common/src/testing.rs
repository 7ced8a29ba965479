//! Fixtures for tests (small, so compiled in every build; see lib.rs): the smallest add-on the managed-tenants schema
//! accepts, in one place instead of a copy per test module.

use serde_json::{json, Value};

use crate::model::addon::AddonDocument;

/// The minimal add-on as an `addon.yaml`, one field a line (tests that check
/// line numbers count on that order).
pub const MINIMAL_ADDON_YAML: &str = "id: my-addon
name: My Addon
description: d
icon: aWNvbg==
label: api.openshift.com/addon-my-addon
enabled: true
addonOwner: Team <team@redhat.com>
quayRepo: quay.io/osd-addons/my-addon
testHarness: quay.io/osd-addons/my-addon-harness
installMode: OwnNamespace
targetNamespace: redhat-my-addon
namespaces: [redhat-my-addon]
ocmQuotaName: addon-my-addon
ocmQuotaCost: 0
operatorName: my-addon
defaultChannel: alpha
namespaceLabels: {}
namespaceAnnotations: {}
";

/// The minimal add-on `my-addon`, as JSON in `addon.yaml`'s field order.
pub fn minimal_addon() -> Value {
    minimal_addon_named("my-addon")
}

/// The minimal add-on with another id; every field derived from the id
/// (label, quay repository, namespace, quota, operator) follows it.
pub fn minimal_addon_named(id: &str) -> Value {
    json!({
        "id": id, "name": "My Addon", "description": "d", "icon": "aWNvbg==",
        "label": format!("api.openshift.com/addon-{id}"), "enabled": true,
        "addonOwner": "Team <team@redhat.com>", "quayRepo": format!("quay.io/osd-addons/{id}"),
        "testHarness": format!("quay.io/osd-addons/{id}-harness"), "installMode": "OwnNamespace",
        "targetNamespace": format!("redhat-{id}"), "namespaces": [format!("redhat-{id}")],
        "ocmQuotaName": format!("addon-{id}"), "ocmQuotaCost": 0, "operatorName": id,
        "defaultChannel": "alpha", "namespaceLabels": {}, "namespaceAnnotations": {}
    })
}

/// `add-on` with the top-level fields of `overrides` set (added or replaced).
pub fn with_fields(mut addon: Value, overrides: Value) -> Value {
    if let (Some(fields), Value::Object(overrides)) = (addon.as_object_mut(), overrides) {
        fields.extend(overrides);
    }
    addon
}

/// The minimal add-on with `overrides`, as the document the tools pass on.
pub fn minimal_document(overrides: Value) -> AddonDocument {
    document_from(with_fields(minimal_addon(), overrides))
}

/// An add-on document from its JSON; a fixture that does not fit the types
/// is a bug in the test, so this panics with serde's message.
pub fn document_from(addon: Value) -> AddonDocument {
    match serde_json::from_value(addon) {
        Ok(document) => document,
        Err(err) => panic!("the test's add-on does not fit AddonDocument: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_yaml_and_json_forms_are_the_same_addon() {
        let parsed = crate::text::yaml::parse_one(MINIMAL_ADDON_YAML).unwrap();
        assert_eq!(parsed.value, minimal_addon());
    }

    #[test]
    fn the_minimal_addon_passes_the_schema() {
        assert!(crate::check::schemas::schemas()
            .metadata
            .validate(&minimal_addon())
            .is_empty());
    }

    #[test]
    fn overrides_replace_and_add_top_level_fields() {
        let doc = minimal_document(json!({"installMode": "AllNamespaces", "link": "https://x"}));
        assert_eq!(doc.metadata.install_mode.as_str(), "AllNamespaces");
        assert_eq!(doc.metadata.id, "my-addon");
    }
}
