//! Extra resources: files beside `addon.yaml` that managed-tenants renders as
//! Jinja2 templates with `ADDON` and adds to its List. They are rendered by
//! `common::text::jinja` in mtcli's template environment (whitespace, undefined
//! values, includes, Python values, bounds); the loading rules have already
//! refused a template that does not render into one Kubernetes object, so an
//! error here names the file for an add-on built by hand.

use std::sync::Arc;

use common::model::addon::AddonDocument;
use common::model::k8s::Object;
use common::text::jinja::{extra_resource_object, Renderer};
use common::{Error, Location, Result};

/// The rendered extra resources, in `extraResources` order.
pub fn extra_resources(doc: &AddonDocument) -> Result<Vec<Object>> {
    let Some(names) = &doc.metadata.extra_resources else {
        return Ok(Vec::new());
    };
    let templates = doc.extra_resource_templates.clone().unwrap_or_default();
    let missing = |i: usize, name: &str| {
        Error::input(
            Location::new("<add-on>").field(format!("extraResources[{i}]")),
            format!(
                "the text of {name:?} is not in the document (`extraResourceTemplates`); \
                 give the path of addon.yaml inside its managed-tenants tree"
            ),
        )
    };
    let files = Arc::new(templates);
    let renderer = Renderer::new(files.clone(), doc);
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if !files.contains_key(name) {
                return Err(missing(i, name));
            }
            let rendered = renderer.render(name).map_err(|err| {
                Error::input(
                    Location::new(err.template.as_deref().unwrap_or(name.as_str())),
                    format!("does not render as Jinja2: {err}"),
                )
            })?;
            let object = extra_resource_object(&rendered.text)
                .map_err(|why| Error::input(Location::new(name.as_str()), why))?;
            Ok(Object::Other(object.object))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn document(template: &str) -> AddonDocument {
        let value = common::testing::with_fields(
            common::testing::minimal_addon_named("x"),
            serde_json::json!({
                "name": "X", "installMode": "AllNamespaces", "namespaces": ["redhat-x", "redhat-y"],
                "pagerduty": {"escalationPolicy": "0123", "acknowledgeTimeout": 21600,
                              "resolveTimeout": 0, "secretName": "on", "secretNamespace": "redhat-x"},
                "extraResources": ["extra.yaml.j2"]
            }),
        );
        let mut doc = common::testing::document_from(value);
        doc.extra_resource_templates = Some(BTreeMap::from([(
            "extra.yaml.j2".to_string(),
            template.to_string(),
        )]));
        doc
    }

    fn rendered(template: &str) -> serde_json::Value {
        match extra_resources(&document(template)).unwrap().remove(0) {
            Object::Other(value) => value,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_loop_over_namespaces_builds_a_list() {
        // trim_blocks and lstrip_blocks, as mtcli renders: block tags on
        // their own lines leave nothing behind.
        let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ ADDON.metadata['id'] }}-ns\ndata:\n\
                        {% for ns in ADDON.metadata.namespaces %}\n  ns{{ loop.index }}: {{ ns | upper }}\n  {% endfor %}\n";
        assert_eq!(
            rendered(template)["data"],
            serde_json::json!({"ns1": "REDHAT-X", "ns2": "REDHAT-Y"})
        );
    }

    #[test]
    fn a_python_list_inserted_whole_is_a_yaml_flow_list() {
        let template =
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  all: {{ ADDON.metadata.namespaces }}\n  \
                        pd: \"{{ ADDON.metadata.pagerduty.escalationPolicy }}\"\n  \
                        flag: {{ ADDON.metadata.enabled }}\n";
        let value = rendered(template);
        assert_eq!(
            value["data"]["all"],
            serde_json::json!(["redhat-x", "redhat-y"])
        );
        assert_eq!(value["data"]["pd"], "0123");
        // `True` is a YAML 1.1 boolean, as PyYAML reads it.
        assert_eq!(value["data"]["flag"], true);
    }

    #[test]
    fn a_template_that_renders_no_object_names_the_file() {
        let doc = document("{% if ADDON.metadata.pagerduty %}just: text{% endif %}");
        let err = extra_resources(&doc).unwrap_err().to_string();
        assert!(
            err.contains("extra.yaml.j2") && err.contains("apiVersion"),
            "{err}"
        );
        let doc = document("kind: {{ ADDON.metadata.nope.deeper }}");
        let err = extra_resources(&doc).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
