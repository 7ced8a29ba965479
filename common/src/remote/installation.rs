//! Installing an add-on on a cluster through OCM: the installation as it
//! travels on the wire (`AddOnInstallation` of clusters_mgmt), and the check
//! of the installation's parameters against the add-on's `addOnParameters`,
//! done the way OCM does it, so a bad value is refused before any request.
//!
//! The check is pure: definitions and given values in, the values to send
//! (defaults filled) or every problem found out.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::cli::error::{Error, Result};
use crate::model::addon::AddonParameter;

/// OCM's installation states (`AddOnInstallationState`), the add-on status
/// lifecycle.
pub const INSTALLATION_STATES: [&str; 5] = ["pending", "installing", "ready", "failed", "deleting"];

/// A link to an object by id (`{"id": ...}`, `kind` and `href` when OCM sends them).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub kind: Option<String>,
    pub id: String,
    pub href: Option<String>,
}

/// `AddOnInstallationParameter`: one value set for the installation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterValue {
    pub id: String,
    pub value: String,
}

/// OCM's wrapped list: `{"items": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterValues {
    #[serde(default)]
    pub items: Vec<ParameterValue>,
}

impl ParameterValues {
    /// The values by id, for comparing two installations' parameters.
    pub fn by_id(&self) -> BTreeMap<&str, &str> {
        self.items
            .iter()
            .map(|p| (p.id.as_str(), p.value.as_str()))
            .collect()
    }
}

/// The body of `POST /clusters/{id}/addons`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationRequest {
    pub addon: Link,
    pub parameters: ParameterValues,
}

impl InstallationRequest {
    pub fn new(addon_id: &str, parameters: Vec<ParameterValue>) -> Self {
        InstallationRequest {
            addon: Link {
                id: addon_id.to_string(),
                ..Link::default()
            },
            parameters: ParameterValues { items: parameters },
        }
    }
}

/// `AddOnInstallation` as OCM answers it (the fields we read; others are ignored).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Installation {
    pub kind: Option<String>,
    pub id: String,
    pub href: Option<String>,
    pub addon: Option<Link>,
    pub state: Option<String>,
    pub state_description: Option<String>,
    pub addon_version: Option<Link>,
    pub operator_version: Option<String>,
    pub creation_timestamp: Option<String>,
    pub updated_timestamp: Option<String>,
    pub parameters: Option<ParameterValues>,
}

/// One parameter OCM would refuse, and what it expected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ParameterProblem {
    pub id: String,
    pub expected: String,
}

impl fmt::Display for ParameterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameter {:?}: {}", self.id, self.expected)
    }
}

/// `ID=VALUE` from the command line.
pub fn parse_assignment(text: &str) -> std::result::Result<ParameterValue, String> {
    match text.split_once('=') {
        Some((id, value)) if !id.trim().is_empty() => Ok(ParameterValue {
            id: id.trim().to_string(),
            value: value.to_string(),
        }),
        _ => Err(format!("{text:?} is not ID=VALUE")),
    }
}

/// Reads a parameters file: a YAML or JSON mapping of id to value (scalars
/// are taken as their text), or OCM's own `{"items": [{"id", "value"}]}`.
pub fn parse_parameters_file(text: &str, origin: &str) -> Result<Vec<ParameterValue>> {
    let value = crate::text::yaml::parse_one(text)
        .map_err(|err| Error::Invalid(format!("{origin}: not YAML or JSON: {err}")))?
        .value;
    if let Some(items) = value.get("items") {
        let list: ParameterValues = serde_json::from_value(serde_json::json!({ "items": items }))
            .map_err(|err| {
            Error::Invalid(format!(
                "{origin}: items: expected a list of {{id, value}} strings ({err})"
            ))
        })?;
        return Ok(list.items);
    }
    let Some(map) = value.as_object() else {
        return Err(Error::Invalid(format!(
            "{origin}: expected a mapping of parameter id to value"
        )));
    };
    map.iter()
        .map(|(id, value)| {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(Error::Invalid(format!(
                        "{origin}: {id}: expected a string, number or boolean value"
                    )))
                }
            };
            Ok(ParameterValue {
                id: id.clone(),
                value: text,
            })
        })
        .collect()
}

/// Checks `given` against the add-on's parameter `definitions` as OCM does
/// when it creates or updates an installation, and returns the values to
/// send: each given one, then the defaults of enabled parameters not given,
/// in the order of the definitions. Every problem is reported, not just the
/// first:
///
/// - an id given twice, or not among the add-on's enabled parameters;
/// - a value of the wrong `value_type` (`string`, `number`, `boolean`,
///   `cidr`, `resource`: a SKU name OCM resolves, so only non-empty here);
/// - a value not among the parameter's `options`;
/// - a value that does not match `validation` (Go's `MatchString`, which,
///   like [`regex::Regex::is_match`], is not anchored: the add-on's pattern
///   carries `^...$` when it means the whole value);
/// - a required parameter neither given nor defaulted.
pub fn check_parameters(
    definitions: &[AddonParameter],
    given: &[ParameterValue],
) -> std::result::Result<Vec<ParameterValue>, Vec<ParameterProblem>> {
    let mut problems = Vec::new();
    let problem = |id: &str, expected: String| ParameterProblem {
        id: id.to_string(),
        expected,
    };
    let enabled: BTreeMap<&str, &AddonParameter> = definitions
        .iter()
        .filter(|d| d.enabled)
        .map(|d| (d.id.as_str(), d))
        .collect();
    let mut seen = BTreeMap::new();
    for value in given {
        if seen.insert(value.id.as_str(), ()).is_some() {
            problems.push(problem(&value.id, "given more than once".into()));
            continue;
        }
        let Some(definition) = enabled.get(value.id.as_str()) else {
            let known: Vec<&str> = enabled.keys().copied().collect();
            problems.push(problem(
                &value.id,
                if known.is_empty() {
                    "unknown: the add-on takes no parameters".into()
                } else {
                    format!("unknown: the add-on's parameters are {}", known.join(", "))
                },
            ));
            continue;
        };
        if let Err(expected) = check_value(definition, &value.value) {
            problems.push(problem(&value.id, expected));
        }
    }
    let mut values: Vec<ParameterValue> = given.to_vec();
    for definition in definitions.iter().filter(|d| d.enabled) {
        if seen.contains_key(definition.id.as_str()) {
            continue;
        }
        match definition
            .default_value
            .as_deref()
            .filter(|v| !v.is_empty())
        {
            Some(default) => values.push(ParameterValue {
                id: definition.id.clone(),
                value: default.to_string(),
            }),
            None if definition.required => problems.push(problem(
                &definition.id,
                format!(
                    "required ({}) and has no default: give --param {}=VALUE",
                    definition.name, definition.id
                ),
            )),
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// One value against its definition: type, options, validation.
fn check_value(definition: &AddonParameter, value: &str) -> std::result::Result<(), String> {
    let quoted = format!("{value:?}");
    match definition.value_type.as_str() {
        "string" => {}
        "number" => {
            if value.trim().parse::<f64>().map_or(true, |n| !n.is_finite()) {
                return Err(format!("expected a number (value_type number), got {quoted}"));
            }
        }
        "boolean" => {
            if value != "true" && value != "false" {
                return Err(format!(
                    "expected true or false (value_type boolean), got {quoted}"
                ));
            }
        }
        "cidr" => {
            if !is_cidr(value) {
                return Err(format!(
                    "expected a CIDR such as 10.0.0.0/16 or fd00::/48 (value_type cidr), got {quoted}"
                ));
            }
        }
        "resource" | "resource_requirement" => {
            if value.trim().is_empty() {
                return Err(format!(
                    "expected the name of a quota resource (value_type {}), got an empty value",
                    definition.value_type
                ));
            }
        }
        other => {
            return Err(format!(
                "the add-on declares value_type {other:?}, which OCM does not know (string, number, boolean, cidr, resource)"
            ))
        }
    }
    if let Some(options) = definition.options.as_ref().filter(|o| !o.is_empty()) {
        if !options.iter().any(|o| o.value == value) {
            let allowed: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
            return Err(format!(
                "expected one of {}, got {quoted}",
                allowed.join(", ")
            ));
        }
    }
    if let Some(pattern) = definition.validation.as_deref().filter(|p| !p.is_empty()) {
        let regex = regex::Regex::new(pattern).map_err(|err| {
            format!("the add-on's validation {pattern:?} is not a valid regular expression ({err})")
        })?;
        if !regex.is_match(value) {
            let why = definition
                .validation_err_msg
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Err(format!(
                "expected a value matching {pattern:?}, got {quoted}{why}"
            ));
        }
    }
    Ok(())
}

/// `address/prefix`, IPv4 or IPv6, the prefix within the address's bits.
fn is_cidr(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let Ok(address) = address.parse::<IpAddr>() else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    if prefix.to_string() != text.split_once('/').map_or("", |(_, p)| p) {
        return false;
    }
    match address {
        IpAddr::V4(_) => prefix <= 32,
        IpAddr::V6(_) => prefix <= 128,
    }
}

/// Whether an installation already has exactly these parameter values
/// (installing again with them changes nothing).
pub fn same_parameters(installed: Option<&ParameterValues>, wanted: &[ParameterValue]) -> bool {
    let installed = installed.map(ParameterValues::by_id).unwrap_or_default();
    let wanted: BTreeMap<&str, &str> = wanted
        .iter()
        .map(|p| (p.id.as_str(), p.value.as_str()))
        .collect();
    installed == wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::addon::ParameterOption;

    fn definition(id: &str, value_type: &str) -> AddonParameter {
        AddonParameter {
            id: id.into(),
            name: id.to_uppercase(),
            description: "d".into(),
            value_type: value_type.into(),
            editable: true,
            enabled: true,
            ..AddonParameter::default()
        }
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<ParameterValue> {
        pairs
            .iter()
            .map(|(id, value)| ParameterValue {
                id: id.to_string(),
                value: value.to_string(),
            })
            .collect()
    }

    fn refused(definitions: &[AddonParameter], pairs: &[(&str, &str)]) -> Vec<String> {
        check_parameters(definitions, &given(pairs))
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn required_parameters_must_be_given_unless_defaulted() {
        let mut size = definition("size", "string");
        size.required = true;
        let problems = refused(&[size.clone()], &[]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("\"size\": required"), "{problems:?}");
        size.default_value = Some("small".into());
        assert_eq!(
            check_parameters(&[size], &[]).unwrap(),
            given(&[("size", "small")]),
            "the default is filled in"
        );
    }

    #[test]
    fn unknown_disabled_and_repeated_ids_are_refused() {
        let mut old = definition("old", "string");
        old.enabled = false;
        let definitions = [definition("size", "string"), old];
        let problems = refused(&definitions, &[("colour", "red"), ("old", "x")]);
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("unknown: the add-on's parameters are size"));
        let problems = refused(&definitions, &[("size", "a"), ("size", "b")]);
        assert_eq!(problems, ["parameter \"size\": given more than once"]);
        assert!(refused(&[], &[("x", "1")])[0].contains("takes no parameters"));
    }

    #[test]
    fn value_types_are_checked() {
        let definitions = [
            definition("n", "number"),
            definition("b", "boolean"),
            definition("c", "cidr"),
            definition("r", "resource"),
        ];
        assert!(check_parameters(
            &definitions,
            &given(&[
                ("n", "1.5"),
                ("b", "true"),
                ("c", "10.0.0.0/16"),
                ("r", "gpu")
            ])
        )
        .is_ok());
        assert!(check_parameters(&definitions, &given(&[("c", "fd00::/48")])).is_ok());
        let problems = refused(
            &definitions,
            &[("n", "ten"), ("b", "yes"), ("c", "10.0.0.0/33"), ("r", " ")],
        );
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("expected a number"));
        assert!(problems[1].contains("expected true or false"));
        assert!(problems[2].contains("expected a CIDR"));
        assert!(problems[3].contains("quota resource"));
        assert!(refused(&definitions, &[("c", "10.0.0.0")])[0].contains("CIDR"));
        assert!(refused(&[definition("x", "list")], &[("x", "1")])[0].contains("does not know"));
    }

    #[test]
    fn options_and_validation_are_checked() {
        let mut size = definition("size", "string");
        size.options = Some(vec![
            ParameterOption {
                name: "Small".into(),
                value: "small".into(),
                ..ParameterOption::default()
            },
            ParameterOption {
                name: "Large".into(),
                value: "large".into(),
                ..ParameterOption::default()
            },
        ]);
        let mut email = definition("email", "string");
        email.validation = Some("^[^@]+@[^@]+$".into());
        email.validation_err_msg = Some("an e-mail address".into());
        let definitions = [size, email];
        assert!(
            check_parameters(&definitions, &given(&[("size", "large"), ("email", "a@b")])).is_ok()
        );
        let problems = refused(&definitions, &[("size", "huge"), ("email", "nobody")]);
        assert_eq!(
            problems,
            [
                "parameter \"size\": expected one of small, large, got \"huge\"",
                "parameter \"email\": expected a value matching \"^[^@]+@[^@]+$\", got \"nobody\": an e-mail address"
            ]
        );
    }

    #[test]
    fn parameter_files_and_assignments_parse() {
        assert_eq!(
            parse_assignment("size=a=b").unwrap(),
            given(&[("size", "a=b")])[0]
        );
        assert!(parse_assignment("=x").is_err() && parse_assignment("size").is_err());
        assert_eq!(
            parse_parameters_file("size: small\nreplicas: 3\nha: true\n", "p.yaml").unwrap(),
            given(&[("size", "small"), ("replicas", "3"), ("ha", "true")])
        );
        assert_eq!(
            parse_parameters_file(r#"{"items": [{"id": "size", "value": "1"}]}"#, "p.json")
                .unwrap(),
            given(&[("size", "1")])
        );
        assert!(parse_parameters_file("size: [1]\n", "p.yaml")
            .unwrap_err()
            .to_string()
            .contains("p.yaml: size"));
    }

    #[test]
    fn same_parameters_ignores_order() {
        let installed = ParameterValues {
            items: given(&[("a", "1"), ("b", "2")]),
        };
        assert!(same_parameters(
            Some(&installed),
            &given(&[("b", "2"), ("a", "1")])
        ));
        assert!(!same_parameters(Some(&installed), &given(&[("a", "1")])));
        assert!(same_parameters(None, &[]));
    }

    #[test]
    fn the_install_body_wraps_parameters_in_items() {
        let body =
            serde_json::to_value(InstallationRequest::new("a", given(&[("size", "1")]))).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"addon": {"id": "a"}, "parameters": {"items": [{"id": "size", "value": "1"}]}})
        );
    }
}
