//! The API server's name and label rules with the API server's own words
//! (k8s.io/apimachinery `util/validation` and `validate/content`), so that a
//! client sees from fake-hive the message a real cluster would send.
//!
//! `common::names` holds the same rules for our tools, worded for add-on
//! authors; the messages here are apimachinery's, which is what they are for.

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
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

/// `IsDNS1123Subdomain`: the names of most kinds (ConfigMaps, Secrets,
/// every custom resource).
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 253 {
        errors.push(max_len_error(253));
    }
    if !is_dns1123_subdomain(value) {
        errors.push(regex_error(
            DNS1123_SUBDOMAIN_MESSAGE,
            &dns1123_subdomain_fmt(),
            &["example.com"],
        ));
    }
    errors
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
