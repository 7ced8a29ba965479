//! Extra resources are Jinja2 templates: managed-tenants renders each file with
//! `jinja2.Template(text).render(ADDON=addon)`. We render them with minijinja
//! (the Jinja language: loops, conditions, filters, `set`, whitespace
//! control, Python's `dict.get` and string methods) and write values as
//! Python's `str()` does, because that is what Jinja2 inserts: `['a', 'b']`,
//! `{'k': 'v'}`, `True`, `None`.
//!
//! `ADDON` mirrors what templates can reach on managed-tenants' `Addon`:
//! `metadata` (the `addon.yaml` fields), `imageset` (the selected image set,
//! or None), `name` (the add-on folder, which is its id), `catalog_image` (the
//! catalog reference, or None), and the methods `pull_secret_name()`,
//! `get_additional_catalog_srcs()` and `get_envs()`.
//!
//! Known gap: Python's `%` operator on strings (`'%s-x' % id`) is Python, not
//! Jinja, and minijinja refuses it with the template line; the `format`
//! filter and `~` do the same job.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Serde, Value, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, State};

use crate::addon::AddonDocument;

/// Why a template did not render, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The template line, when the engine knows it.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Renders one extra resource template as Jinja2 renders it with `ADDON`.
pub fn render_extra_resource(
    name: &str,
    text: &str,
    document: &AddonDocument,
) -> Result<String, TemplateError> {
    let mut env = Environment::new();
    // jinja2.Template() does not escape, whatever the file is called.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_formatter(|out, _state, value| {
        out.write_str(&python_str(value))
            .map_err(|_| minijinja::Error::new(ErrorKind::WriteFailure, "cannot write output"))
    });
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    let addon = Value::from_object(AddonObject::new(document));
    env.add_template(name, text)
        .and_then(|()| env.get_template(name))
        .and_then(|template| template.render(minijinja::context! { ADDON => addon }))
        .map_err(|err| TemplateError {
            line: err.line(),
            message: match err.detail() {
                Some(detail) => format!("{}: {detail}", err.kind()),
                None => err.kind().to_string(),
            },
        })
}

/// The `ADDON` a template sees.
#[derive(Debug)]
struct AddonObject {
    name: String,
    metadata: Value,
    imageset: Value,
    catalog_image: Value,
    pull_secret_name: Value,
    additional_catalog_srcs: Value,
    envs: Value,
}

impl AddonObject {
    fn new(document: &AddonDocument) -> Self {
        let optional = |text: Option<&str>| text.map(Value::from).unwrap_or(Value::from(()));
        AddonObject {
            name: document.metadata.id.clone(),
            metadata: Value::from(Serde(&document.metadata)),
            imageset: document
                .image_set
                .as_ref()
                .map(|set| Value::from(Serde(set)))
                .unwrap_or(Value::from(())),
            catalog_image: optional(document.index_image()),
            pull_secret_name: optional(document.pull_secret_name()),
            additional_catalog_srcs: Value::from(Serde(document.additional_catalog_sources())),
            envs: Value::from(Serde(document.env())),
        }
    }
}

impl Object for AddonObject {
    /// An object with attributes, printed as Python prints `Addon`, not a dict.
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "metadata" => self.metadata.clone(),
            "imageset" => self.imageset.clone(),
            "name" => Value::from(self.name.as_str()),
            "catalog_image" => self.catalog_image.clone(),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["metadata", "imageset", "name", "catalog_image"])
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, minijinja::Error> {
        let value = match method {
            "pull_secret_name" => &self.pull_secret_name,
            "get_additional_catalog_srcs" => &self.additional_catalog_srcs,
            "get_envs" => &self.envs,
            _ => return Err(minijinja::Error::from(ErrorKind::UnknownMethod)),
        };
        if !args.is_empty() {
            return Err(minijinja::Error::new(
                ErrorKind::TooManyArguments,
                format!("ADDON.{method}() takes no arguments"),
            ));
        }
        Ok(value.clone())
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Addon({})", python_repr_str(&self.name))
    }
}

/// Python's `str()`: a string as it is, anything else as `repr()`; an
/// undefined value prints nothing (Jinja2's `Undefined`).
pub fn python_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::String => value.as_str().unwrap_or_default().to_string(),
        _ => python_repr(value),
    }
}

/// Python's `repr()` of the values a YAML or JSON document holds.
pub fn python_repr(value: &Value) -> String {
    match value.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::None => "None".into(),
        ValueKind::Bool if value.is_true() => "True".into(),
        ValueKind::Bool => "False".into(),
        ValueKind::Number if value.is_integer() => value.to_string(),
        ValueKind::Number => f64::try_from(value.clone())
            .map(python_float)
            .unwrap_or_else(|_| value.to_string()),
        ValueKind::String => python_repr_str(value.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = value
                .try_iter()
                .map(|items| items.map(|item| python_repr(&item)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let pairs: Vec<String> = value
                .try_iter()
                .map(|keys| {
                    keys.map(|key| {
                        let item = value.get_item(&key).unwrap_or_default();
                        format!("{}: {}", python_repr(&key), python_repr(&item))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", pairs.join(", "))
        }
        _ => value.to_string(),
    }
}

/// `repr()` of a str: single quotes unless the text holds a single quote and
/// no double quote; backslashes and control characters escaped.
pub fn python_repr_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `repr()` of a float: the shortest round-trip digits, always with a `.0`
/// or an exponent, exponent notation from 1e16 and below 1e-4.
fn python_float(number: f64) -> String {
    if number.is_nan() {
        return "nan".into();
    }
    if number.is_infinite() {
        return if number > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = number.abs();
    if magnitude != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        // Rust writes 1e16 / 1.5e-5; Python writes 1e+16 / 1.5e-05.
        let text = format!("{number:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(digits) => ('-', digits),
            None => ('+', exponent),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let text = number.to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> AddonDocument {
        crate::testing::minimal_document(serde_json::json!({
            "namespaces": ["redhat-my-addon", "redhat-other"],
            "namespaceLabels": {"a": "x"},
            "indexImage": "quay.io/osd-addons/my-addon-index@sha256:1",
            "config": {"env": [{"name": "LOG", "value": "debug"}]}
        }))
    }

    fn render(text: &str) -> Result<String, TemplateError> {
        render_extra_resource("extra.yaml.j2", text, &document())
    }

    #[test]
    fn the_substitutions_addons_used_so_far_still_render() {
        assert_eq!(
            render("a: {{ADDON.metadata['id']}}\nb: {{ ADDON.metadata[\"label\"] }}\nc: {{ADDON.metadata.namespaces}}\nd: {{ADDON.metadata['enabled']}}\n").unwrap(),
            "a: my-addon\nb: api.openshift.com/addon-my-addon\nc: ['redhat-my-addon', 'redhat-other']\nd: True"
        );
    }

    #[test]
    fn loops_conditions_filters_set_and_whitespace_control() {
        let text = "{% set prefix = ADDON.metadata.id | upper %}\n\
                    {%- for ns in ADDON.metadata.namespaces %}\n- {{ prefix }}-{{ loop.index }}: {{ ns }}\n{%- endfor %}\n\
                    {% if ADDON.metadata.get('pagerduty') is none %}no pager{% else %}pager{% endif %}\n\
                    {{ ADDON.metadata.namespaces | join(',') }} {{ ADDON.metadata.namespaces | length }}\n";
        assert_eq!(
            render(text).unwrap(),
            "\n- MY-ADDON-1: redhat-my-addon\n- MY-ADDON-2: redhat-other\nno pager\nredhat-my-addon,redhat-other 2"
        );
    }

    #[test]
    fn addon_attributes_and_methods_mirror_managed_tenants() {
        let text = "{{ ADDON.name }} {{ ADDON.catalog_image }} {{ ADDON.imageset }} \
                    {{ ADDON.pull_secret_name() }} {{ ADDON.get_envs() }} {{ ADDON.get_additional_catalog_srcs() }} \
                    {{ ADDON }}";
        assert_eq!(
            render(text).unwrap(),
            "my-addon quay.io/osd-addons/my-addon-index@sha256:1 None None [{'name': 'LOG', 'value': 'debug'}] [] \
             Addon('my-addon')"
        );
    }

    #[test]
    fn python_dict_methods_string_methods_and_tojson() {
        let text =
            "{% for k, v in ADDON.metadata.namespaceLabels.items() %}{{ k }}={{ v }}{% endfor %} \
                    {{ ADDON.metadata.id.upper() }} {{ ADDON.metadata.get('nope', 'default') }} \
                    {{ ADDON.metadata.namespaces | tojson }} {{ 7 / 2 }} {{ 7 // 2 }}";
        // tojson is json.dumps in Jinja2: ", " between items.
        assert_eq!(
            render(text).unwrap(),
            "a=x MY-ADDON default [\"redhat-my-addon\", \"redhat-other\"] 3.5 3"
        );
    }

    #[test]
    fn values_print_as_python_str_prints_them() {
        let text = "{{ {'k': 'v', 'n': none, 'b': false} }} {{ [1, 2.5, 'it\\'s'] }} {{ 1.0 }} {{ 1e20 }} {{ 0.00001 }} {{ missing }}|";
        assert_eq!(
            render(text).unwrap(),
            "{'k': 'v', 'n': None, 'b': False} [1, 2.5, \"it's\"] 1.0 1e+20 1e-05 |"
        );
        assert_eq!(python_repr_str("a\\b\n"), "'a\\\\b\\n'");
    }

    #[test]
    fn a_template_that_cannot_render_names_its_line() {
        let err = render("a: 1\nb: {{ ADDON.metadata.nope.deeper }}\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let err = render("a: 1\n\n{% for x in %}\n").unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
    }
}
