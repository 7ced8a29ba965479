//! Our transcription of the managed-tenants schemas (`common::check::schemas`,
//! written in Rust) against managed-tenants-cli's own schema files
//! (`../shared/reference/managed-tenants-cli/managedtenants/schemas`), keyword
//! for keyword. The verdict tests on fixtures catch a drift only where a
//! fixture happens to touch it; this catches every one.

use std::path::Path;

use serde_json::{Map, Value};

use e2e::require_reference;

/// The draft-7 keywords that decide a verdict, and that our evaluator
/// implements. Everything else in the files is an annotation (`description`,
/// `contentEncoding`) or no keyword at all (`additionalproperties`, misspelt
/// in mtcli's requirements schema, is no rule for jsonschema either).
const RULES: &[&str] = &[
    "type",
    "pattern",
    "format",
    "enum",
    "const",
    "minimum",
    "minItems",
    "properties",
    "patternProperties",
    "required",
    "additionalProperties",
    "items",
    "allOf",
    "if",
    "then",
    "dependencies",
    "anyOf",
];

/// Reads a schema file (YAML or JSON) as JSON.
fn read_schema(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|err| panic!("parse {}: {err}", path.display()))
}

/// The rules of a schema node as jsonschema applies them: `$ref` replaced by
/// the schema it names (its siblings are ignored in draft 7), annotations and
/// unknown keywords dropped, `format` kept only where a checker exists
/// (mtcli registers `printable`) and the value may be a string (a format
/// checker passes every other type), `minItems` dropped where the type is
/// `object` (it applies to arrays only), numbers compared as numbers.
fn rules_of(node: &Value, dir: &Path) -> Value {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let target = dir.join(reference);
                let parent = target.parent().expect("a referenced file has a folder");
                return rules_of(&read_schema(&target), parent);
            }
            let is_object = map.get("type") == Some(&Value::from("object"));
            // A format checker sees strings only.
            let may_be_string = match map.get("type") {
                None => true,
                Some(Value::String(one)) => one == "string",
                Some(Value::Array(many)) => many.iter().any(|t| t == "string"),
                Some(_) => true,
            };
            let mut out = Map::new();
            for (key, value) in map {
                if !RULES.contains(&key.as_str()) {
                    continue;
                }
                if key == "format" && (value != "printable" || !may_be_string) {
                    continue;
                }
                // `additionalProperties: true` is what no keyword says.
                if key == "additionalProperties" && value == &Value::Bool(true) {
                    continue;
                }
                if key == "minItems" && is_object {
                    continue;
                }
                let value = match key.as_str() {
                    // Maps of names to schemas: the names are data.
                    "properties" | "patternProperties" | "dependencies" => Value::Object(
                        value
                            .as_object()
                            .expect("a map of schemas")
                            .iter()
                            .map(|(name, schema)| (name.clone(), rules_of(schema, dir)))
                            .collect(),
                    ),
                    "enum" | "const" | "required" => value.clone(),
                    _ => rules_of(value, dir),
                };
                out.insert(key.clone(), value);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| rules_of(i, dir)).collect()),
        Value::Number(n) => Value::from(n.as_f64().expect("a number")),
        other => other.clone(),
    }
}

/// Every place where `ours` and `theirs` differ, as `path: ours != theirs`.
fn differences(ours: &Value, theirs: &Value, path: &str, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let here = format!("{path}/{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => differences(x, y, &here, out),
                    (Some(x), None) => out.push(format!("{here}: ours has {x}, theirs nothing")),
                    (None, Some(y)) => out.push(format!("{here}: theirs has {y}, ours nothing")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: ours {a} != theirs {b}")),
        _ => {}
    }
}

fn compare(ours: &common::check::schema::Schema, file: &str) {
    let Some(reference) = require_reference("managed-tenants' schema files") else {
        return;
    };
    let dir = reference.join("managed-tenants-cli/managedtenants/schemas");
    let theirs = rules_of(&read_schema(&dir.join(file)), &dir);
    let ours = rules_of(&ours.to_json_schema(), &dir);
    let mut found = Vec::new();
    differences(&ours, &theirs, "", &mut found);
    assert!(
        found.is_empty(),
        "common::check::schemas differs from {file} in {} place(s):\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_metadata_schema_is_managed_tenants_own() {
    compare(
        &common::check::schemas::schemas().metadata,
        "metadata.schema.yaml",
    );
}

#[test]
fn the_image_set_schema_is_managed_tenants_own() {
    compare(
        &common::check::schemas::schemas().image_set,
        "imageset.schema.yaml",
    );
}

#[test]
fn the_bundles_config_schema_is_managed_tenants_own() {
    compare(
        &common::check::schemas::schemas().bundles_config,
        "mtbundles.schema.yaml",
    );
}
