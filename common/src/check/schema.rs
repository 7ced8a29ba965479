//! A small JSON Schema (draft 7) evaluator: exactly the keywords the
//! managed-tenants schemas use, reporting every violation with its field path
//! instead of stopping at the first.
//!
//! The schemas themselves are written in Rust in [`crate::check::schemas`]; this
//! module only knows how to check a value against one.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use crate::check::field_path::FieldPath;
use crate::text::yaml::{PythonKind, PythonScalar, PythonValue};

/// The JSON types a schema can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    Null,
}

impl JsonType {
    fn name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::Null => "null",
        }
    }

    fn matches(self, value: &Value) -> bool {
        match (self, value) {
            (JsonType::String, Value::String(_))
            | (JsonType::Number, Value::Number(_))
            | (JsonType::Boolean, Value::Bool(_))
            | (JsonType::Object, Value::Object(_))
            | (JsonType::Array, Value::Array(_))
            | (JsonType::Null, Value::Null) => true,
            // Draft 7: 1.0 is an integer.
            (JsonType::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }
    }
}

/// What kind of rule a value broke; each maps to one finding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViolationKind {
    Required,
    Type,
    Pattern,
    Enum,
    UnknownField,
    Minimum,
    MinItems,
    Format,
    Dependency,
    AnyOf,
}

/// One broken rule at one place of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: FieldPath,
    pub kind: ViolationKind,
    pub message: String,
    pub expected: String,
    pub found: String,
}

/// The violations found so far, and the document's PyYAML-typed scalars.
struct Report<'a> {
    violations: Vec<Violation>,
    python: &'a PythonValues,
}

/// The scalars of a document PyYAML reads as dates, datetimes or infinite
/// floats, by their path (empty for JSON input and for our own values).
#[derive(Debug, Clone, Default)]
pub struct PythonValues(HashMap<FieldPath, PythonScalar>);

impl PythonValues {
    pub fn new(values: &[PythonValue]) -> Self {
        PythonValues(
            values
                .iter()
                .map(|v| (v.path.clone(), v.scalar.clone()))
                .collect(),
        )
    }

    /// The values under `prefix`, with paths relative to it (a section
    /// checked against its own schema).
    pub fn under(&self, prefix: &FieldPath) -> Self {
        let depth = prefix.segments().len();
        PythonValues(
            self.0
                .iter()
                .filter(|(path, _)| path.segments().starts_with(prefix.segments()))
                .map(|(path, scalar)| {
                    let mut relative = FieldPath::root();
                    for segment in &path.segments()[depth..] {
                        relative.push(segment.clone());
                    }
                    (relative, scalar.clone())
                })
                .collect(),
        )
    }

    /// The Python value at `here`; the path is made only when there are any.
    fn at(&self, here: &Here) -> Option<&PythonScalar> {
        if self.0.is_empty() {
            None
        } else {
            self.0.get(&here.path())
        }
    }
}

/// `additionalProperties`.
#[derive(Debug, Clone)]
enum Additional {
    Allowed,
    Denied,
    Schema(Box<Schema>),
}

/// A schema node. Build one with the functions at the bottom of this module.
#[derive(Debug, Clone)]
pub struct Schema {
    types: Vec<JsonType>,
    pattern: Option<Pattern>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    minimum: Option<f64>,
    min_items: Option<usize>,
    printable: bool,
    properties: Vec<(&'static str, Schema)>,
    pattern_properties: Vec<(Pattern, Schema)>,
    required: Vec<&'static str>,
    additional: Additional,
    items: Option<Box<Schema>>,
    /// `allOf: [{if: {properties: {P: {const: V}}}, then: S}]`.
    conditionals: Vec<(&'static str, Value, Schema)>,
    /// `dependencies: {P: S}`: when P is present the object must match S.
    dependencies: Vec<(&'static str, Schema)>,
    /// `anyOf: [{required: [...]}, ...]`.
    any_of_required: Vec<Vec<&'static str>>,
}

impl Default for Schema {
    fn default() -> Self {
        Schema {
            types: Vec::new(),
            pattern: None,
            enumeration: None,
            constant: None,
            minimum: None,
            min_items: None,
            printable: false,
            properties: Vec::new(),
            pattern_properties: Vec::new(),
            required: Vec::new(),
            additional: Additional::Allowed,
            items: None,
            conditionals: Vec::new(),
            dependencies: Vec::new(),
            any_of_required: Vec::new(),
        }
    }
}

/// A schema pattern, compiled the first time a value is checked against it:
/// a tool that reads one add-on needs a handful of the schemas' patterns, and
/// compiling all of them made up most of a tool's start-up.
#[derive(Debug, Clone)]
struct Pattern {
    source: &'static str,
    compiled: OnceLock<Regex>,
}

impl Pattern {
    fn new(source: &'static str) -> Pattern {
        Pattern {
            source,
            compiled: OnceLock::new(),
        }
    }

    fn is_match(&self, text: &str) -> bool {
        self.compiled
            .get_or_init(|| compile(self.source))
            .is_match(text)
    }
}

/// Compiles a schema pattern with Python's `re.search` semantics, where a final
/// `$` also matches before a trailing newline.
fn compile(pattern: &'static str) -> Regex {
    let translated = match pattern.strip_suffix('$') {
        Some(body) if !body.ends_with('\\') => format!("{body}\\n?$"),
        _ => pattern.to_string(),
    };
    Regex::new(&translated)
        .unwrap_or_else(|err| panic!("schema pattern {pattern:?} does not compile: {err}"))
}

/// Short text of a value for messages: strings quoted, long values cut.
pub fn describe(value: &Value) -> String {
    let text = match value {
        Value::Null => "null".to_string(),
        Value::Object(_) => "a mapping".to_string(),
        Value::Array(_) => "a list".to_string(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

/// A JSON object of sub-schemas by name (`properties`, `patternProperties`,
/// `dependencies`), in the order they were declared.
fn json_schemas<'a>(entries: impl Iterator<Item = (&'static str, &'a Schema)>) -> Value {
    let object = entries.map(|(name, schema)| (name.to_string(), schema.to_json_schema()));
    Value::Object(object.collect())
}

impl Schema {
    // ---- building ----

    pub fn pattern(mut self, pattern: &'static str) -> Self {
        self.pattern = Some(Pattern::new(pattern));
        self
    }

    pub fn one_of_values(mut self, values: &[&str]) -> Self {
        self.enumeration = Some(
            values
                .iter()
                .map(|v| Value::String((*v).to_string()))
                .collect(),
        );
        self
    }

    pub fn constant(mut self, value: Value) -> Self {
        self.constant = Some(value);
        self
    }

    pub fn minimum(mut self, minimum: f64) -> Self {
        self.minimum = Some(minimum);
        self
    }

    pub fn min_items(mut self, min: usize) -> Self {
        self.min_items = Some(min);
        self
    }

    /// `format: printable`: no control characters besides tab and newlines.
    pub fn printable(mut self) -> Self {
        self.printable = true;
        self
    }

    pub fn property(mut self, name: &'static str, schema: Schema) -> Self {
        self.properties.push((name, schema));
        self
    }

    pub fn pattern_property(mut self, pattern: &'static str, schema: Schema) -> Self {
        self.pattern_properties
            .push((Pattern::new(pattern), schema));
        self
    }

    pub fn required(mut self, names: &[&'static str]) -> Self {
        self.required.extend_from_slice(names);
        self
    }

    /// `additionalProperties: false`.
    pub fn closed(mut self) -> Self {
        self.additional = Additional::Denied;
        self
    }

    pub fn additional(mut self, schema: Schema) -> Self {
        self.additional = Additional::Schema(Box::new(schema));
        self
    }

    pub fn items(mut self, schema: Schema) -> Self {
        self.items = Some(Box::new(schema));
        self
    }

    pub fn when(mut self, property: &'static str, equals: &str, then: Schema) -> Self {
        self.conditionals
            .push((property, Value::String(equals.to_string()), then));
        self
    }

    pub fn dependency(mut self, property: &'static str, schema: Schema) -> Self {
        self.dependencies.push((property, schema));
        self
    }

    pub fn any_of_required(mut self, alternatives: &[&[&'static str]]) -> Self {
        self.any_of_required = alternatives.iter().map(|a| a.to_vec()).collect();
        self
    }

    /// The schema of a named property, for callers that check one field alone.
    pub fn property_schema(&self, name: &str) -> Option<&Schema> {
        self.properties
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s)
    }

    /// The names of the declared properties, in schema order.
    pub fn property_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.properties.iter().map(|(n, _)| *n)
    }

    // ---- reading back ----

    /// This schema as draft-7 JSON Schema, keyword for keyword: what the
    /// conformance test compares with managed-tenants' own schema files, so
    /// that our transcription cannot drift from them unseen.
    pub fn to_json_schema(&self) -> Value {
        let mut out = serde_json::Map::new();
        match self.types.as_slice() {
            [] => {}
            [one] => {
                out.insert("type".into(), one.name().into());
            }
            many => {
                out.insert(
                    "type".into(),
                    many.iter().map(|t| Value::from(t.name())).collect(),
                );
            }
        }
        if let Some(pattern) = &self.pattern {
            out.insert("pattern".into(), pattern.source.into());
        }
        if self.printable {
            out.insert("format".into(), "printable".into());
        }
        if let Some(values) = &self.enumeration {
            out.insert("enum".into(), Value::Array(values.clone()));
        }
        if let Some(value) = &self.constant {
            out.insert("const".into(), value.clone());
        }
        if let Some(minimum) = self.minimum {
            out.insert("minimum".into(), serde_json::json!(minimum));
        }
        if let Some(min) = self.min_items {
            out.insert("minItems".into(), min.into());
        }
        if !self.properties.is_empty() {
            let properties = self.properties.iter().map(|(name, schema)| (*name, schema));
            out.insert("properties".into(), json_schemas(properties));
        }
        if !self.pattern_properties.is_empty() {
            let properties = self
                .pattern_properties
                .iter()
                .map(|(pattern, schema)| (pattern.source, schema));
            out.insert("patternProperties".into(), json_schemas(properties));
        }
        if !self.required.is_empty() {
            out.insert("required".into(), self.required.clone().into());
        }
        match &self.additional {
            Additional::Allowed => {}
            Additional::Denied => {
                out.insert("additionalProperties".into(), false.into());
            }
            Additional::Schema(schema) => {
                out.insert("additionalProperties".into(), schema.to_json_schema());
            }
        }
        if let Some(items) = &self.items {
            out.insert("items".into(), items.to_json_schema());
        }
        if !self.conditionals.is_empty() {
            let all_of = self.conditionals.iter().map(|(property, value, then)| {
                serde_json::json!({
                    "if": {"properties": {*property: {"const": value}}},
                    "then": then.to_json_schema(),
                })
            });
            out.insert("allOf".into(), all_of.collect());
        }
        if !self.dependencies.is_empty() {
            let dependencies = self
                .dependencies
                .iter()
                .map(|(name, schema)| (*name, schema));
            out.insert("dependencies".into(), json_schemas(dependencies));
        }
        if !self.any_of_required.is_empty() {
            let any_of = self
                .any_of_required
                .iter()
                .map(|names| serde_json::json!({"required": names}));
            out.insert("anyOf".into(), any_of.collect());
        }
        Value::Object(out)
    }

    /// Compiles every pattern of the schema now; for a test that every one
    /// compiles, since checking compiles them only when first used.
    pub fn compile_every_pattern(&self) {
        if let Some(pattern) = &self.pattern {
            pattern.is_match("");
        }
        for (pattern, schema) in &self.pattern_properties {
            pattern.is_match("");
            schema.compile_every_pattern();
        }
        let nested = self
            .properties
            .iter()
            .map(|(_, schema)| schema)
            .chain(self.items.as_deref())
            .chain(self.conditionals.iter().map(|(_, _, schema)| schema))
            .chain(self.dependencies.iter().map(|(_, schema)| schema));
        for schema in nested {
            schema.compile_every_pattern();
        }
        if let Additional::Schema(schema) = &self.additional {
            schema.compile_every_pattern();
        }
    }

    // ---- checking ----

    /// Every violation of `value` against this schema.
    pub fn validate(&self, value: &Value) -> Vec<Violation> {
        self.validate_except(value, &[])
    }

    /// [`Schema::validate`], passing over the top-level keys `skipped` (an
    /// add-on document's own sections), without copying the value.
    pub fn validate_except(&self, value: &Value, skipped: &[&str]) -> Vec<Violation> {
        self.validate_parsed(value, skipped, &PythonValues::default())
    }

    /// [`Schema::validate_except`] of a parsed YAML document: a scalar PyYAML
    /// reads as a date or an infinite float (`python`) is checked as that
    /// Python value, so the verdict is managed-tenants' ("datetime.date(2001,
    /// 12, 14) is not of type 'string'"). Where any type is allowed it passes,
    /// and the value tree keeps its text.
    pub fn validate_parsed(
        &self,
        value: &Value,
        skipped: &[&str],
        python: &PythonValues,
    ) -> Vec<Violation> {
        let mut out = Report {
            violations: Vec::new(),
            python,
        };
        match value {
            Value::Object(map) if !skipped.is_empty() && self.types_allow(value) => {
                self.check_object(map, &Here::Root, &mut out, skipped)
            }
            _ => self.check(value, &Here::Root, &mut out),
        }
        out.violations
    }

    /// The checks of a value PyYAML makes a Python date or float: the type
    /// (a float is a number, never an integer), `enum`/`const`, `minimum`.
    fn check_python(&self, scalar: &PythonScalar, path: &Here, out: &mut Report) {
        let float = match scalar.kind {
            PythonKind::Float(float) => Some(float),
            PythonKind::Date | PythonKind::DateTime => None,
        };
        let type_matches = |t: &JsonType| *t == JsonType::Number && float.is_some();
        if !self.types.is_empty() && !self.types.iter().any(type_matches) {
            let expected = self
                .types
                .iter()
                .map(|t| format!("'{}'", t.name()))
                .collect::<Vec<_>>()
                .join(", ");
            Self::violation(
                out,
                path,
                ViolationKind::Type,
                format!(
                    "{} is not of type {expected} (PyYAML reads the unquoted {} as a {}; \
                     quote it to keep a string)",
                    scalar.repr,
                    scalar.text,
                    scalar.kind_name()
                ),
                self.types
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(" or "),
                scalar.repr.clone(),
            );
            return;
        }
        if self.enumeration.is_some() || self.constant.is_some() {
            Self::violation(
                out,
                path,
                ViolationKind::Enum,
                format!(
                    "{} is not one of the allowed values (PyYAML reads the unquoted {} as a {})",
                    scalar.repr,
                    scalar.text,
                    scalar.kind_name()
                ),
                "one of the allowed values".to_string(),
                scalar.repr.clone(),
            );
        }
        if let (Some(minimum), Some(float)) = (self.minimum, float) {
            if float < minimum {
                Self::violation(
                    out,
                    path,
                    ViolationKind::Minimum,
                    format!("{} is less than the minimum of {minimum}", scalar.repr),
                    format!(">= {minimum}"),
                    scalar.repr.clone(),
                );
            }
        }
    }

    fn types_allow(&self, value: &Value) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t.matches(value))
    }

    fn violation(
        out: &mut Report,
        path: &Here,
        kind: ViolationKind,
        message: String,
        expected: String,
        found: String,
    ) {
        out.violations.push(Violation {
            path: path.path(),
            kind,
            message,
            expected,
            found,
        });
    }

    fn check(&self, value: &Value, path: &Here, out: &mut Report) {
        if let (Value::String(_), Some(scalar)) = (value, out.python.at(path)) {
            return self.check_python(scalar, path, out);
        }
        if !self.types.is_empty() && !self.types.iter().any(|t| t.matches(value)) {
            let expected = self
                .types
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" or ");
            Self::violation(
                out,
                path,
                ViolationKind::Type,
                format!("must be of type {expected}, found {}", type_of(value)),
                expected,
                describe(value),
            );
            return;
        }
        if let Some(values) = &self.enumeration {
            if !values.contains(value) {
                let allowed = values.iter().map(describe).collect::<Vec<_>>().join(", ");
                Self::violation(
                    out,
                    path,
                    ViolationKind::Enum,
                    format!("{} is not one of the allowed values", describe(value)),
                    format!("one of {allowed}"),
                    describe(value),
                );
            }
        }
        if let Some(constant) = &self.constant {
            if constant != value {
                Self::violation(
                    out,
                    path,
                    ViolationKind::Enum,
                    format!("must be {}", describe(constant)),
                    describe(constant),
                    describe(value),
                );
            }
        }
        match value {
            Value::String(text) => self.check_string(text, path, out),
            Value::Number(number) => {
                if let (Some(minimum), Some(n)) = (self.minimum, number.as_f64()) {
                    if n < minimum {
                        Self::violation(
                            out,
                            path,
                            ViolationKind::Minimum,
                            format!("must be at least {minimum}"),
                            format!(">= {minimum}"),
                            number.to_string(),
                        );
                    }
                }
            }
            Value::Array(items) => {
                if let Some(min) = self.min_items {
                    if items.len() < min {
                        Self::violation(
                            out,
                            path,
                            ViolationKind::MinItems,
                            format!("must have at least {min} item(s)"),
                            format!("at least {min} item(s)"),
                            format!("{} item(s)", items.len()),
                        );
                    }
                }
                if let Some(item_schema) = &self.items {
                    for (i, item) in items.iter().enumerate() {
                        item_schema.check(item, &Here::Index(path, i), out);
                    }
                }
            }
            Value::Object(map) => self.check_object(map, path, out, &[]),
            _ => {}
        }
    }

    fn check_string(&self, text: &str, path: &Here, out: &mut Report) {
        if let Some(pattern) = &self.pattern {
            let source = pattern.source;
            if !pattern.is_match(text) {
                Self::violation(
                    out,
                    path,
                    ViolationKind::Pattern,
                    format!(
                        "{} does not match {source}",
                        describe(&Value::String(text.to_string()))
                    ),
                    format!("a string matching {source}"),
                    describe(&Value::String(text.to_string())),
                );
            }
        }
        if self.printable {
            if let Some(bad) = text
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            {
                Self::violation(
                    out,
                    path,
                    ViolationKind::Format,
                    format!("holds the control character {bad:?}"),
                    "printable text".to_string(),
                    describe(&Value::String(text.to_string())),
                );
            }
        }
    }

    fn check_object(
        &self,
        map: &serde_json::Map<String, Value>,
        path: &Here,
        out: &mut Report,
        skipped: &[&str],
    ) {
        self.check_required(map, path, out);
        let mut unknown_reported = 0usize;
        let mut unknown_unreported = 0usize;
        for (key, value) in map {
            if skipped.contains(&key.as_str()) {
                continue;
            }
            // Each name compared once and each pattern run once a key: a
            // key without a property of its name is matched against the
            // patterns here, and those before the first match are not run
            // again below.
            let property = self.properties.iter().find(|(name, _)| name == key);
            let first_pattern = match property {
                Some(_) => None,
                None => self
                    .pattern_properties
                    .iter()
                    .position(|(pattern, _)| pattern.is_match(key)),
            };
            let known_name = property.is_some() || first_pattern.is_some();
            if !known_name && matches!(self.additional, Additional::Denied) {
                // Past the cap, an unknown key costs a count: no path, no
                // suggestion, no finding (issue 14: 500,000 keys took 17 s).
                if unknown_reported >= MAX_UNKNOWN_FIELDS_REPORTED {
                    unknown_unreported += 1;
                    continue;
                }
                unknown_reported += 1;
            }
            let path = &Here::Key(path, key);
            let mut known = false;
            if let Some((_, schema)) = property {
                known = true;
                schema.check(value, path, out);
            }
            let patterns_from = match property {
                Some(_) => 0,
                None => first_pattern.unwrap_or(self.pattern_properties.len()),
            };
            for (at, (pattern, schema)) in self.pattern_properties.iter().enumerate() {
                let matched = match at.cmp(&patterns_from) {
                    std::cmp::Ordering::Less => false,
                    std::cmp::Ordering::Equal => first_pattern == Some(at) || pattern.is_match(key),
                    std::cmp::Ordering::Greater => pattern.is_match(key),
                };
                if matched {
                    known = true;
                    schema.check(value, path, out);
                }
            }
            if !known {
                match &self.additional {
                    Additional::Allowed => {}
                    Additional::Schema(schema) => schema.check(value, path, out),
                    Additional::Denied => {
                        let expected = if self.properties.is_empty() {
                            match self.pattern_properties.first() {
                                Some((pattern, _)) => format!("keys matching {}", pattern.source),
                                None => "no fields".to_string(),
                            }
                        } else {
                            let names: Vec<&str> =
                                self.properties.iter().map(|(n, _)| *n).collect();
                            let close = closest(key, &names);
                            match close {
                                Some(name) => format!("a known field (did you mean `{name}`?)"),
                                None => "one of the known fields".to_string(),
                            }
                        };
                        let message =
                            if self.properties.is_empty() && !self.pattern_properties.is_empty() {
                                format!(
                                    "the key {key:?} does not match {}",
                                    self.pattern_properties[0].0.source
                                )
                            } else {
                                format!("unknown field `{key}`")
                            };
                        Self::violation(
                            out,
                            path,
                            ViolationKind::UnknownField,
                            message,
                            expected,
                            key.clone(),
                        );
                    }
                }
            }
        }
        if unknown_unreported > 0 {
            Self::violation(
                out,
                path,
                ViolationKind::UnknownField,
                format!("... and {unknown_unreported} more unknown field(s), not listed"),
                "only the known fields".to_string(),
                format!("{unknown_unreported} more unknown field(s)"),
            );
        }
        for (property, equals, then) in &self.conditionals {
            if map.get(*property) == Some(equals) {
                then.check_object_only(map, path, out);
            }
        }
        for (property, schema) in &self.dependencies {
            if map.contains_key(*property) {
                let before = out.violations.len();
                schema.check_object_only(map, path, out);
                for violation in &mut out.violations[before..] {
                    if violation.kind == ViolationKind::Required {
                        violation.kind = ViolationKind::Dependency;
                        violation.message =
                            format!("{} (needed because `{property}` is set)", violation.message);
                    }
                }
            }
        }
        if !self.any_of_required.is_empty()
            && !self
                .any_of_required
                .iter()
                .any(|names| names.iter().all(|n| map.contains_key(*n)))
        {
            let alternatives: Vec<String> = self
                .any_of_required
                .iter()
                .map(|names| format!("`{}`", names.join("`, `")))
                .collect();
            Self::violation(
                out,
                path,
                ViolationKind::AnyOf,
                format!("needs at least one of {}", alternatives.join(" or ")),
                alternatives.join(" or "),
                "neither".to_string(),
            );
        }
    }

    /// A `Required` violation for each required field `map` lacks.
    fn check_required(&self, map: &serde_json::Map<String, Value>, path: &Here, out: &mut Report) {
        for name in &self.required {
            if !map.contains_key(*name) {
                Self::violation(
                    out,
                    path,
                    ViolationKind::Required,
                    format!("the required field `{name}` is missing"),
                    format!("the field `{name}`"),
                    "nothing".to_string(),
                );
            }
        }
    }

    /// Applies only the object keywords of a sub-schema (for if/then and
    /// dependencies, which refine the object they sit in).
    fn check_object_only(
        &self,
        map: &serde_json::Map<String, Value>,
        path: &Here,
        out: &mut Report,
    ) {
        self.check_required(map, path, out);
        for (name, schema) in &self.properties {
            if let Some(value) = map.get(*name) {
                schema.check(value, &Here::Key(path, name), out);
            }
        }
    }
}

/// Where the checker is in the value; a [`FieldPath`] is made of it only
/// for a violation or a Python value.
type Here<'a> = crate::check::field_path::Place<'a>;

/// Unknown fields listed per mapping; the rest are counted in one finding, so
/// reporting N unknown keys costs linear time and little memory.
pub const MAX_UNKNOWN_FIELDS_REPORTED: usize = 20;

/// The known name nearest to a misspelt one (edit distance at most 2, or a
/// case-insensitive match).
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let length = lower.chars().count();
    candidates
        .iter()
        // Edit distance is at least the length difference: skip the far ones.
        .filter(|c| c.chars().count().abs_diff(length) <= 2)
        .map(|c| (strsim::levenshtein(&lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

// ---- constructors ----

fn typed(types: &[JsonType]) -> Schema {
    Schema {
        types: types.to_vec(),
        ..Schema::default()
    }
}

/// Anything at all.
pub fn any() -> Schema {
    Schema::default()
}

pub fn string() -> Schema {
    typed(&[JsonType::String])
}

pub fn integer() -> Schema {
    typed(&[JsonType::Integer])
}

pub fn boolean() -> Schema {
    typed(&[JsonType::Boolean])
}

pub fn object() -> Schema {
    typed(&[JsonType::Object])
}

pub fn array(items: Schema) -> Schema {
    typed(&[JsonType::Array]).items(items)
}

/// A value of any of the given types (`type: [array, string]`).
pub fn one_of_types(types: &[JsonType]) -> Schema {
    typed(types)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each violation's path, with the part of it `part` takes.
    fn by_path<T>(violations: Vec<Violation>, part: impl Fn(Violation) -> T) -> Vec<(String, T)> {
        violations
            .into_iter()
            .map(|v| (v.path.to_string(), part(v)))
            .collect()
    }

    fn kinds(schema: &Schema, value: Value) -> Vec<(String, ViolationKind)> {
        by_path(schema.validate(&value), |v| v.kind)
    }

    #[test]
    fn reports_every_violation_with_its_path() {
        let schema = object()
            .property("id", string().pattern("^[a-z]+$"))
            .property("cost", integer().minimum(0.0))
            .property("mode", string().one_of_values(&["A", "B"]))
            .property("list", array(string()).min_items(1))
            .required(&["id", "name"])
            .closed();
        let found = kinds(
            &schema,
            json!({"id": "X", "cost": -1, "mode": "C", "list": [], "extra": 1}),
        );
        assert_eq!(
            found,
            vec![
                ("(document)".into(), ViolationKind::Required),
                ("id".into(), ViolationKind::Pattern),
                ("cost".into(), ViolationKind::Minimum),
                ("mode".into(), ViolationKind::Enum),
                ("list".into(), ViolationKind::MinItems),
                ("extra".into(), ViolationKind::UnknownField),
            ]
        );
    }

    fn python_kinds(schema: &Schema, text: &str) -> Vec<(String, String)> {
        let parsed = crate::text::yaml::parse_one(text).unwrap();
        let python_values = PythonValues::new(&parsed.python_values);
        by_path(
            schema.validate_parsed(&parsed.value, &[], &python_values),
            |v| v.message,
        )
    }

    #[test]
    fn unquoted_dates_and_special_floats_fail_a_string_type_as_in_jsonschema() {
        let schema = object()
            .property("description", string())
            .property("label", string())
            .property("quoted", string())
            .property("free", any())
            .property("ratio", one_of_types(&[JsonType::Number]))
            .property("count", integer());
        let text = "description: 2001-12-14\nlabel: .inf\nquoted: '2001-12-14'\n\
                    free: 2001-12-14\nratio: -.inf\ncount: .nan\n";
        let found = python_kinds(&schema, text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].0, "description");
        assert!(
            found[0]
                .1
                .starts_with("datetime.date(2001, 12, 14) is not of type 'string'"),
            "{found:?}"
        );
        assert_eq!(found[1].0, "label");
        assert!(
            found[1].1.starts_with("inf is not of type 'string'"),
            "{found:?}"
        );
        assert_eq!(found[2].0, "count");
        assert!(
            found[2].1.starts_with("nan is not of type 'integer'"),
            "{found:?}"
        );
    }

    #[test]
    fn integer_accepts_whole_floats_but_not_bools() {
        assert!(integer().validate(&json!(1.0)).is_empty());
        assert_eq!(
            kinds(&integer(), json!(true)),
            vec![("(document)".into(), ViolationKind::Type)]
        );
        assert_eq!(
            kinds(&integer(), json!(1.5)),
            vec![("(document)".into(), ViolationKind::Type)]
        );
    }

    #[test]
    fn pattern_is_a_search_and_dollar_allows_a_final_newline() {
        assert!(string()
            .pattern("^quay\\.io/")
            .validate(&json!("quay.io/x"))
            .is_empty());
        assert!(string()
            .pattern("osd")
            .validate(&json!("quay.io/osd-addons"))
            .is_empty());
        assert!(string().pattern("^a$").validate(&json!("a\n")).is_empty());
        assert!(!string().pattern("^a$").validate(&json!("a\nb")).is_empty());
    }

    #[test]
    fn pattern_properties_and_closed_objects() {
        let labels = object()
            .pattern_property("^[a-z/.-]+$", string().pattern("^[a-z]+$"))
            .closed();
        assert!(labels.validate(&json!({"a/b": "c"})).is_empty());
        assert_eq!(
            kinds(&labels, json!({"A B": "c", "ok": "X"})),
            vec![
                ("[\"A B\"]".into(), ViolationKind::UnknownField),
                ("ok".into(), ViolationKind::Pattern)
            ]
        );
    }

    #[test]
    fn a_key_is_checked_by_its_property_and_by_every_pattern_it_matches() {
        // `ab` has a property and matches both patterns; `b1` matches the
        // second pattern only; `zz` nothing.
        let schema = object()
            .property("ab", string().pattern("^a"))
            .pattern_property("^a", string().pattern("b$"))
            .pattern_property("^[a-z][a-z0-9]$", string().pattern("^[a-z]+$"))
            .closed();
        assert!(schema.validate(&json!({"ab": "ab", "b1": "x"})).is_empty());
        assert_eq!(
            kinds(&schema, json!({"ab": "x1", "b1": "9", "zz1": "y"})),
            vec![
                ("ab".into(), ViolationKind::Pattern),
                ("ab".into(), ViolationKind::Pattern),
                ("ab".into(), ViolationKind::Pattern),
                ("b1".into(), ViolationKind::Pattern),
                ("zz1".into(), ViolationKind::UnknownField),
            ]
        );
    }

    #[test]
    fn conditionals_dependencies_and_any_of() {
        let schema = object()
            .property("kind", string())
            .property("data", object())
            .property("direction", string())
            .property("options", array(string()))
            .when(
                "kind",
                "pool",
                object().property("data", object().property("cpu", integer()).closed()),
            )
            .dependency(
                "direction",
                object()
                    .property("options", array(string()).min_items(1))
                    .required(&["options"]),
            );
        assert!(schema
            .validate(&json!({"kind": "other", "data": {"x": 1}}))
            .is_empty());
        assert_eq!(
            kinds(&schema, json!({"kind": "pool", "data": {"x": 1}})),
            vec![("data.x".into(), ViolationKind::UnknownField)]
        );
        assert_eq!(
            kinds(&schema, json!({"direction": "up"})),
            vec![("(document)".into(), ViolationKind::Dependency)]
        );
        assert_eq!(
            kinds(&schema, json!({"direction": "up", "options": []})),
            vec![("options".into(), ViolationKind::MinItems)]
        );
        let either = object().any_of_required(&[&["a"], &["b"]]);
        assert!(either.validate(&json!({"b": 1})).is_empty());
        assert_eq!(
            kinds(&either, json!({})),
            vec![("(document)".into(), ViolationKind::AnyOf)]
        );
    }

    #[test]
    fn unknown_fields_suggest_the_nearest_name() {
        let schema = object().property("targetNamespace", string()).closed();
        let violations = schema.validate(&json!({"targetNamspace": "x"}));
        assert!(
            violations[0]
                .expected
                .contains("did you mean `targetNamespace`"),
            "{:?}",
            violations[0]
        );
    }

    #[test]
    fn unknown_fields_beyond_the_cap_are_counted_not_listed() {
        let schema = object().property("id", string()).closed();
        let mut map = serde_json::Map::new();
        for i in 0..(MAX_UNKNOWN_FIELDS_REPORTED + 5) {
            map.insert(format!("unknown{i}"), json!(1));
        }
        let violations = schema.validate(&Value::Object(map));
        assert_eq!(violations.len(), MAX_UNKNOWN_FIELDS_REPORTED + 1);
        assert!(violations
            .last()
            .unwrap()
            .message
            .contains("and 5 more unknown field(s)"));
    }

    #[test]
    fn printable_refuses_control_characters() {
        assert!(string()
            .printable()
            .validate(&json!("line one\nline two"))
            .is_empty());
        assert_eq!(
            kinds(&string().printable(), json!("bell\u{7}")),
            vec![("(document)".into(), ViolationKind::Format)]
        );
    }
}
