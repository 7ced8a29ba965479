//! Extra resources: files beside `addon.yaml` that managed-tenants includes
//! as Jinja templates. The add-ons use them only to insert metadata values,
//! so that is what is supported (`{{ADDON.metadata['key']}}`,
//! `{{ ADDON.metadata["key"]["sub"] }}`, `{{ADDON.metadata.key}}`); any other
//! Jinja construct is refused with the file and the expression, rather than
//! rendered wrongly.

use common::addon::AddonDocument;
use common::k8s::Object;
use common::{Error, Location, Result};
use serde_json::Value;

/// The rendered extra resources, in `extraResources` order.
pub fn extra_resources(doc: &AddonDocument) -> Result<Vec<Object>> {
    let Some(names) = &doc.metadata.extra_resources else {
        return Ok(Vec::new());
    };
    let metadata = serde_json::to_value(&doc.metadata)
        .map_err(|err| Error::input(Location::new("<add-on>"), err.to_string()))?;
    let templates = doc.extra_resource_templates.as_ref();
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let text = templates.and_then(|t| t.get(name)).ok_or_else(|| {
                Error::input(
                    Location::new("<add-on>").field(format!("extraResources[{i}]")),
                    format!(
                        "the text of {name:?} is not in the document (`extraResourceTemplates`); \
                         give the path of addon.yaml inside its managed-tenants tree"
                    ),
                )
            })?;
            let rendered = substitute(text, &metadata).map_err(|message| {
                Error::input(Location::new(name.as_str()), message)
            })?;
            let parsed = common::yaml::parse_one(&rendered).map_err(|err| {
                Error::input(
                    Location::new(name.as_str()),
                    format!("is not YAML once rendered: {err}"),
                )
            })?;
            match &parsed.value {
                Value::Object(map)
                    if map.get("apiVersion").is_some_and(Value::is_string)
                        && map.get("kind").is_some_and(Value::is_string) =>
                {
                    Ok(Object::Other(parsed.value))
                }
                _ => Err(Error::input(
                    Location::new(name.as_str()),
                    "is not a Kubernetes object; expected a mapping with apiVersion, kind and metadata",
                )),
            }
        })
        .collect()
}

/// Replaces each `{{ ADDON.metadata... }}` with the value as Python's `str()`
/// writes it (which is what Jinja inserts).
pub fn substitute(text: &str, metadata: &Value) -> std::result::Result<String, String> {
    for opener in ["{%", "{#"] {
        if let Some(at) = text.find(opener) {
            return Err(format!(
                "line {}: Jinja statements and comments ({opener} ... ) are not supported; \
                 only {{{{ADDON.metadata['key']}}}} substitutions are",
                line_of(text, at)
            ));
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!(
                "line {}: `{{{{` is never closed",
                line_of(text, offset + start)
            ));
        };
        let expression = after[..end].trim();
        let value = lookup(expression, metadata).map_err(|why| {
            format!(
                "line {}: cannot render {{{{ {expression} }}}}: {why}",
                line_of(text, offset + start)
            )
        })?;
        out.push_str(&python_str(value));
        let consumed = start + 2 + end + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte].matches('\n').count() + 1
}

/// Follows `ADDON.metadata` then `['key']`, `["key"]` or `.key` steps.
fn lookup<'a>(expression: &str, metadata: &'a Value) -> std::result::Result<&'a Value, String> {
    let Some(mut rest) = expression.strip_prefix("ADDON.metadata") else {
        return Err("only ADDON.metadata values can be inserted".into());
    };
    let mut value = metadata;
    if rest.is_empty() {
        return Err("name a field, as in ADDON.metadata['id']".into());
    }
    while !rest.is_empty() {
        let (key, next) = if let Some(after) = rest.strip_prefix('.') {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        } else if let Some(after) = rest.strip_prefix('[') {
            let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"');
            let Some(quote) = quote else {
                return Err("subscripts must be quoted keys, as in ['id']".into());
            };
            let inner = &after[1..];
            let Some(close) = inner.find(quote) else {
                return Err("unclosed quote".into());
            };
            let Some(next) = inner[close + 1..].strip_prefix(']') else {
                return Err("expected `]` after the key".into());
            };
            (&inner[..close], next)
        } else {
            return Err("filters, calls and operators are not supported".into());
        };
        if key.is_empty() {
            return Err("empty field name".into());
        }
        value = value
            .get(key)
            .ok_or_else(|| format!("the add-on has no field {key:?}"))?;
        rest = next;
    }
    Ok(value)
}

/// Python's `str()`: strings bare, containers with `repr` inside.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => python_repr(other),
    }
}

fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => {
            if text.contains('\'') && !text.contains('"') {
                format!("\"{text}\"")
            } else {
                format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_repr(&Value::String(k.clone())),
                    python_repr(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitutes_the_spellings_addons_use() {
        let metadata = json!({"id": "x", "label": "api.openshift.com/addon-x",
            "pagerduty": {"secretName": "s"}, "namespaces": ["a", "b"], "enabled": true});
        let text = "a: {{ADDON.metadata['id']}}\nb: {{ ADDON.metadata[\"label\"] }}\n\
                    c: {{ADDON.metadata.pagerduty.secretName}}\nd: {{ADDON.metadata['namespaces']}}\n\
                    e: {{ADDON.metadata['enabled']}}\n";
        assert_eq!(
            substitute(text, &metadata).unwrap(),
            "a: x\nb: api.openshift.com/addon-x\nc: s\nd: ['a', 'b']\ne: True\n"
        );
    }

    #[test]
    fn refuses_other_jinja_clearly() {
        let metadata = json!({"id": "x"});
        let err = substitute("a: 1\n{% if x %}\n", &metadata).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = substitute("a: {{ ADDON.metadata['id'] | upper }}", &metadata).unwrap_err();
        assert!(err.contains("filters"), "{err}");
        let err = substitute("a: {{ ADDON.metadata['nope'] }}", &metadata).unwrap_err();
        assert!(err.contains("\"nope\""), "{err}");
        assert!(substitute("a: {{ ADDON.metadata['id']", &metadata).is_err());
    }
}
