//! The API server's name and label rules with the API server's own words
//! (k8s.io/apimachinery `util/validation` and `validate/content`), so that a
//! client sees from fake-hive the message a real cluster would send.
//!
//! `common::model::names` holds the same rules for our tools, worded for add-on
//! authors; the messages here are apimachinery's, which is what they are for.

use serde_json::{json, Value};

use super::status::status_with;
use super::ResourceType;
use crate::http::HttpResponse;

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_MESSAGE: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_MESSAGE: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MESSAGE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

fn dns1123_subdomain_fmt() -> String {
    format!("{DNS1123_LABEL_FMT}(\\.{DNS1123_LABEL_FMT})*")
}

/// apimachinery's `RegexError`: the rule, examples, and the regex. Each
/// example is followed by `", "` and joined by `" or "`, hence the double
/// space in `'my-name',  or '123-abc'` that real servers print.
fn regex_error(message: &str, regex: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{message} (e.g. {}regex used for validation is '{regex}')",
        examples.join(" or ")
    )
}

fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

fn is_dns1123_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || *b == b'-')
}

fn is_dns1123_subdomain(value: &str) -> bool {
    value.split('.').all(is_dns1123_label)
}

/// The characters of a label key's name part or a non-empty label value.
fn is_label_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    !bytes.is_empty()
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes
            .iter()
            .all(|b| edge(b) || matches!(b, b'-' | b'_' | b'.'))
}

/// A name's errors as apimachinery lists them: longer than `max_len`, then
/// the rule it breaks, if any.
fn name_errors(value: &str, max_len: usize, broken_rule: Option<String>) -> Vec<String> {
    let too_long = (value.len() > max_len).then(|| max_len_error(max_len));
    too_long.into_iter().chain(broken_rule).collect()
}

/// `IsDNS1123Label`: Namespace names.
pub fn dns1123_label_errors(value: &str) -> Vec<String> {
    let broken_rule = if is_dns1123_label(value) {
        None
    } else if is_dns1123_subdomain(value) {
        Some("must not contain dots".to_string())
    } else {
        let examples = ["my-name", "123-abc"];
        Some(regex_error(
            DNS1123_LABEL_MESSAGE,
            DNS1123_LABEL_FMT,
            &examples,
        ))
    };
    name_errors(value, 63, broken_rule)
}

/// `IsDNS1035Label`: Service names.
pub fn dns1035_label_errors(value: &str) -> Vec<String> {
    let valid = is_dns1123_label(value) && value.starts_with(|c: char| c.is_ascii_lowercase());
    let examples = ["my-name", "abc-123"];
    let broken_rule =
        (!valid).then(|| regex_error(DNS1035_LABEL_MESSAGE, DNS1035_LABEL_FMT, &examples));
    name_errors(value, 63, broken_rule)
}

/// `IsDNS1123Subdomain`: the names of most kinds (ConfigMaps, Secrets,
/// every custom resource).
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let rule = || {
        regex_error(
            DNS1123_SUBDOMAIN_MESSAGE,
            &dns1123_subdomain_fmt(),
            &["example.com"],
        )
    };
    name_errors(value, 253, (!is_dns1123_subdomain(value)).then(rule))
}

/// `IsLabelKey`: `[prefix/]name`.
pub fn label_key_errors(value: &str) -> Vec<String> {
    let name_rule = || {
        regex_error(
            LABEL_KEY_MESSAGE,
            LABEL_KEY_FMT,
            &["MyName", "my.name", "123-abc"],
        )
    };
    let mut errors = Vec::new();
    let name = match value.split_once('/') {
        None => value,
        Some((_, rest)) if rest.contains('/') => {
            return vec![format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                name_rule()
            )]
        }
        Some((prefix, name)) => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_string());
            } else {
                errors.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            name
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errors.push(format!("name part {}", max_len_error(63)));
    }
    if !is_label_name(name) {
        errors.push(format!("name part {}", name_rule()));
    }
    errors
}

/// `IsLabelValue`: empty, or a label name of at most 63 characters.
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 63 {
        errors.push(max_len_error(63));
    }
    if !value.is_empty() && !is_label_name(value) {
        errors.push(regex_error(
            LABEL_VALUE_MESSAGE,
            &format!("({LABEL_KEY_FMT})?"),
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
}

/// How `utilerrors.Aggregate` prints several errors: one alone, more in brackets.
pub fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The rule a kind's names follow (the `nameFn` its validation passes to
/// `ValidateObjectMeta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain: ConfigMaps, Secrets and every custom resource.
    Subdomain,
    /// DNS-1123 label: Namespaces.
    Label,
    /// DNS-1035 label: Services (`ValidateServiceName`).
    Dns1035Label,
}

impl NameRule {
    pub fn of(rt: &ResourceType) -> NameRule {
        match (rt.group.as_str(), rt.plural.as_str()) {
            ("", "namespaces") => NameRule::Label,
            ("", "services") => NameRule::Dns1035Label,
            _ => NameRule::Subdomain,
        }
    }

    /// The rule's problems with `name`; a `generateName` prefix may end in
    /// `-` (apimachinery's `maskTrailingDash`, quirk included: it drops the
    /// last two characters and appends `a`).
    fn errors(self, name: &str, prefix: bool) -> Vec<String> {
        let masked;
        let name = if prefix && name.len() > 1 && name.ends_with('-') {
            masked = format!("{}a", &name[..name.len() - 2]);
            masked.as_str()
        } else {
            name
        };
        match self {
            NameRule::Subdomain => dns1123_subdomain_errors(name),
            NameRule::Label => dns1123_label_errors(name),
            NameRule::Dns1035Label => dns1035_label_errors(name),
        }
    }
}

/// One problem with a field, as `field.Error` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `FieldValueInvalid`, `FieldValueRequired`.
    pub reason: &'static str,
    /// `metadata.name`.
    pub field: String,
    /// The message without the field: `Invalid value: "x": why`.
    pub body: String,
}

impl FieldError {
    fn invalid(field: &str, value: &str, detail: &str) -> FieldError {
        FieldError {
            reason: "FieldValueInvalid",
            field: field.to_string(),
            body: format!("Invalid value: {value:?}: {detail}"),
        }
    }

    fn required(field: &str, detail: &str) -> FieldError {
        let body = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        FieldError {
            reason: "FieldValueRequired",
            field: field.to_string(),
            body,
        }
    }

    /// `field.Error.Error()`: `metadata.name: Invalid value: ...`.
    pub fn message(&self) -> String {
        format!("{}: {}", self.field, self.body)
    }
}

/// What `ValidateObjectMeta` finds wrong with an object's metadata: the name
/// (or `generateName`) by the kind's rule, the label keys and values, the
/// annotation keys.
pub fn object_meta_errors(rt: &ResourceType, object: &Value) -> Vec<FieldError> {
    let metadata = &object["metadata"];
    let rule = NameRule::of(rt);
    let mut errors = Vec::new();
    let generate_name = metadata["generateName"].as_str().unwrap_or_default();
    if !generate_name.is_empty() {
        for detail in rule.errors(generate_name, true) {
            errors.push(FieldError::invalid(
                "metadata.generateName",
                generate_name,
                &detail,
            ));
        }
    }
    match metadata["name"].as_str().unwrap_or_default() {
        "" => errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )),
        name => {
            for detail in rule.errors(name, false) {
                errors.push(FieldError::invalid("metadata.name", name, &detail));
            }
        }
    }
    if let Some(labels) = metadata["labels"].as_object() {
        for (key, value) in labels {
            for detail in label_key_errors(key) {
                errors.push(FieldError::invalid("metadata.labels", key, &detail));
            }
            let value = value.as_str().unwrap_or_default();
            for detail in label_value_errors(value) {
                errors.push(FieldError::invalid("metadata.labels", value, &detail));
            }
        }
    }
    if let Some(annotations) = metadata["annotations"].as_object() {
        for key in annotations.keys() {
            for detail in label_key_errors(&key.to_lowercase()) {
                errors.push(FieldError::invalid("metadata.annotations", key, &detail));
            }
        }
    }
    errors
}

/// `errors.NewInvalid(kind, name, errs)`: 422, reason `Invalid`, a cause per
/// error, the message `Kind.group "name" is invalid: ...`.
pub fn invalid(rt: &ResourceType, name: &str, errors: &[FieldError]) -> HttpResponse {
    let qualified_kind = if rt.group.is_empty() {
        rt.kind.clone()
    } else {
        format!("{}.{}", rt.kind, rt.group)
    };
    let messages: Vec<String> = errors.iter().map(FieldError::message).collect();
    let causes: Vec<Value> = errors
        .iter()
        .map(|e| json!({"reason": e.reason, "message": e.body, "field": e.field}))
        .collect();
    let mut details = super::status::details(&rt.group, &rt.kind, name);
    details["causes"] = json!(causes);
    status_with(
        422,
        "Invalid",
        format!(
            "{qualified_kind} {name:?} is invalid: {}",
            aggregate(&messages)
        ),
        Some(details),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_messages_are_apimachinerys() {
        assert!(dns1123_subdomain_errors("addon-x.v1").is_empty());
        assert_eq!(
            dns1123_subdomain_errors("Addon_Bad"),
            ["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"]
        );
        assert_eq!(
            dns1123_subdomain_errors(&"a".repeat(254))[0],
            "must be no more than 253 characters"
        );
        assert_eq!(dns1123_subdomain_errors("a..b").len(), 1);
    }

    #[test]
    fn label_messages_are_apimachinerys() {
        assert!(dns1123_label_errors("redhat-addon").is_empty());
        assert_eq!(dns1123_label_errors("a.b"), ["must not contain dots"]);
        assert_eq!(
            dns1123_label_errors("-x"),
            ["a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]
        );
        assert_eq!(dns1123_label_errors(&"a".repeat(64)).len(), 1);
    }

    #[test]
    fn names_follow_the_kinds_rule() {
        let sss = ResourceType::new(
            "hive.openshift.io/v1",
            "SelectorSyncSet",
            "selectorsyncsets",
            false,
        );
        let namespace = ResourceType::new("v1", "Namespace", "namespaces", false);
        let object = |name: &str| json!({"metadata": {"name": name}});
        assert!(object_meta_errors(&sss, &object("addon-x.v1")).is_empty());
        assert_eq!(
            object_meta_errors(&namespace, &object("addon-x.v1")),
            [FieldError::invalid(
                "metadata.name",
                "addon-x.v1",
                "must not contain dots"
            )]
        );
        let bad = object_meta_errors(&sss, &object("Addon_Bad"));
        assert_eq!(bad[0].message(), "metadata.name: Invalid value: \"Addon_Bad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
        assert_eq!(
            object_meta_errors(&sss, &json!({"metadata": {}}))[0].message(),
            "metadata.name: Required value: name or generateName is required"
        );
        // A generateName prefix may end in '-'.
        let generated = json!({"metadata": {"generateName": "addon-", "name": "addon-x7k2q"}});
        assert!(object_meta_errors(&sss, &generated).is_empty());
        let service = ResourceType::new("v1", "Service", "services", true);
        assert!(object_meta_errors(&service, &object("1abc"))[0]
            .body
            .contains("a DNS-1035 label must consist of"));
        let labelled = json!({"metadata": {"name": "x", "labels": {"ok": "-bad"}}});
        assert_eq!(
            object_meta_errors(&sss, &labelled)[0].field,
            "metadata.labels"
        );
    }

    #[test]
    fn label_keys_and_values() {
        assert!(label_key_errors("applyset.kubernetes.io/part-of").is_empty());
        assert!(label_key_errors("Cached_Key.x").is_empty());
        assert_eq!(label_key_errors("/x"), ["prefix part must be non-empty"]);
        assert!(label_key_errors("a/b/c")[0].starts_with("a valid label key must consist"));
        assert!(label_key_errors("x-")[0].starts_with("name part must consist"));
        assert!(label_value_errors("").is_empty());
        assert!(label_value_errors("My_Value.1").is_empty());
        assert!(label_value_errors("-x")[0].starts_with("a valid label must be an empty string"));
        assert_eq!(aggregate(&["a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into()]), "[a, b]");
    }
}
