//! YAML documents read into `serde_json::Value`, the way managed-tenants reads
//! them.
//!
//! managed-tenants loads `addon.yaml` with PyYAML (YAML 1.1): `yes`/`on` are
//! booleans, `0755` is octal, merge keys (`<<`) work, and a duplicate key is an
//! error only for its own `UniqueYAMLKeyLoader`. We follow the same rules so a
//! document means the same thing to both tools, and we keep what serde_yaml
//! cannot give us: every duplicate key with its line, a line for every field
//! (built only when a finding needs one), and hard limits against alias bombs
//! and runaway nesting.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::field_path::{FieldPath, Segment};

/// At most this many nodes may be created by expanding aliases in one
/// document; a "billion laughs" document stops here instead of eating memory.
const MAX_ALIAS_NODES: usize = 1_000_000;
/// Deeper nesting than this is refused (no real manifest comes close).
const MAX_DEPTH: usize = 512;

/// A parse failure with its position (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// A key that appears twice in the same mapping. The later value wins, as in
/// PyYAML's `safe_load`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The path of the repeated key itself.
    pub path: FieldPath,
    /// The line of the repetition.
    pub line: usize,
}

/// One parsed document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub value: Value,
    pub duplicate_keys: Vec<DuplicateKey>,
    /// Plain scalars PyYAML reads as a date, a datetime or an infinite/NaN
    /// float: JSON has no such values, so `value` holds their text and the
    /// schema check asks here what managed-tenants would have seen.
    pub python_values: Vec<PythonValue>,
}

/// A scalar that PyYAML's `safe_load` turns into a Python object JSON cannot
/// hold, at its place in the document.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonValue {
    pub path: FieldPath,
    pub line: usize,
    pub scalar: PythonScalar,
}

/// What PyYAML makes of such a scalar, with Python's `repr` of it (jsonschema
/// prints that: "datetime.date(2001, 12, 14) is not of type 'string'").
#[derive(Debug, Clone, PartialEq)]
pub struct PythonScalar {
    pub kind: PythonKind,
    /// The scalar as written (what the value tree holds).
    pub text: String,
    pub repr: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PythonKind {
    Date,
    DateTime,
    /// `.inf`, `-.Inf`, `.NaN`: a Python float, so a jsonschema "number".
    Float(f64),
}

impl PythonScalar {
    /// The word for it in messages.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            PythonKind::Date => "date",
            PythonKind::DateTime => "datetime",
            PythonKind::Float(_) => "float",
        }
    }
}

/// Parses text that must hold exactly one YAML document (JSON is YAML too).
/// An empty text is `null`, as PyYAML reads it.
pub fn parse_one(text: &str) -> Result<Parsed, YamlError> {
    let mut docs = parse_stream(text)?;
    match docs.len() {
        0 => Ok(Parsed::default()),
        1 => Ok(docs.remove(0)),
        n => Err(YamlError {
            line: 1,
            column: 1,
            message: format!("expected a single YAML document, found {n} (separated by ---)"),
        }),
    }
}

/// Parses a stream of YAML documents (`---` separated). Empty documents are kept
/// as `null` only when they are explicit (`---` followed by nothing).
pub fn parse_stream(text: &str) -> Result<Vec<Parsed>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    loop {
        let (event, mark) = parser.next_token().map_err(|err| YamlError {
            line: err.marker().line(),
            column: err.marker().col() + 1,
            message: err.info().to_string(),
        })?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing => {}
            Event::DocumentStart => builder.start_document(),
            Event::DocumentEnd => docs.push(builder.finish_document()),
            other => builder.event(other, mark)?,
        }
    }
    Ok(docs)
}

enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
    },
    Mapping {
        map: Map<String, Value>,
        anchor: usize,
        /// The key waiting for its value, with the key's line.
        pending_key: Option<(String, usize)>,
        /// Values of `<<` merge keys, applied when the mapping ends.
        merges: Vec<Value>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    anchors: HashMap<usize, (Value, usize)>,
    alias_nodes: usize,
    duplicate_keys: Vec<DuplicateKey>,
    python_values: Vec<PythonValue>,
}

impl Builder {
    fn start_document(&mut self) {
        self.stack.clear();
        self.root = None;
        self.anchors.clear();
        self.alias_nodes = 0;
        self.duplicate_keys.clear();
        self.python_values.clear();
    }

    fn finish_document(&mut self) -> Parsed {
        Parsed {
            value: self.root.take().unwrap_or(Value::Null),
            duplicate_keys: std::mem::take(&mut self.duplicate_keys),
            python_values: std::mem::take(&mut self.python_values),
        }
    }

    fn error(mark: Marker, message: impl Into<String>) -> YamlError {
        YamlError {
            line: mark.line(),
            column: mark.col() + 1,
            message: message.into(),
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Mapping {
                pending_key: None,
                ..
            })
        )
    }

    fn event(&mut self, event: Event, mark: Marker) -> Result<(), YamlError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                if self.expecting_key() {
                    if anchor > 0 {
                        self.anchors
                            .insert(anchor, (Value::String(text.clone()), 1));
                    }
                    if let Some(Frame::Mapping { pending_key, .. }) = self.stack.last_mut() {
                        *pending_key = Some((text, mark.line()));
                    }
                    return Ok(());
                }
                let (value, python) =
                    resolve_scalar(text, style, tag.as_ref()).map_err(|m| Self::error(mark, m))?;
                if let Some(scalar) = python {
                    let path = self.value_path();
                    self.python_values.push(PythonValue {
                        path,
                        line: mark.line(),
                        scalar,
                    });
                }
                if anchor > 0 {
                    self.anchors.insert(anchor, (value.clone(), 1));
                }
                self.complete(value, mark)
            }
            Event::SequenceStart(anchor, _) => self.open(
                mark,
                Frame::Sequence {
                    items: Vec::new(),
                    anchor,
                },
            ),
            Event::MappingStart(anchor, _) => self.open(
                mark,
                Frame::Mapping {
                    map: Map::new(),
                    anchor,
                    pending_key: None,
                    merges: Vec::new(),
                },
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Sequence { items, anchor }) => (Value::Array(items), anchor),
                    Some(Frame::Mapping {
                        mut map,
                        anchor,
                        merges,
                        ..
                    }) => {
                        apply_merges(&mut map, merges);
                        (Value::Object(map), anchor)
                    }
                    None => return Err(Self::error(mark, "unbalanced YAML structure")),
                };
                if anchor > 0 {
                    let nodes = count_nodes(&value);
                    self.anchors.insert(anchor, (value.clone(), nodes));
                }
                self.complete(value, mark)
            }
            Event::Alias(anchor) => {
                let Some((value, nodes)) = self.anchors.get(&anchor) else {
                    return Err(Self::error(mark, "alias to an unknown anchor"));
                };
                self.alias_nodes += nodes;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(Self::error(
                        mark,
                        format!("aliases expand to more than {MAX_ALIAS_NODES} nodes (a YAML alias bomb?)"),
                    ));
                }
                let value = value.clone();
                if self.expecting_key() {
                    let Value::String(key) = value else {
                        return Err(Self::error(mark, "a mapping key must be a scalar"));
                    };
                    if let Some(Frame::Mapping { pending_key, .. }) = self.stack.last_mut() {
                        *pending_key = Some((key, mark.line()));
                    }
                    return Ok(());
                }
                self.complete(value, mark)
            }
            _ => Ok(()),
        }
    }

    fn open(&mut self, mark: Marker, frame: Frame) -> Result<(), YamlError> {
        if self.expecting_key() {
            return Err(Self::error(
                mark,
                "a mapping key must be a scalar, not a collection",
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(Self::error(
                mark,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Places a finished value into its parent (or makes it the document root).
    fn complete(&mut self, value: Value, mark: Marker) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
                Ok(())
            }
            Some(Frame::Sequence { items, .. }) => {
                items.push(value);
                Ok(())
            }
            Some(Frame::Mapping { pending_key, .. }) => {
                let (key, line) = pending_key
                    .take()
                    .ok_or_else(|| Self::error(mark, "mapping value without a key"))?;
                self.insert(key, line, value);
                Ok(())
            }
        }
    }

    /// One hash of the key per insert: the entry tells a duplicate apart.
    fn insert(&mut self, key: String, line: usize, value: Value) {
        let Some(Frame::Mapping { map, merges, .. }) = self.stack.last_mut() else {
            return;
        };
        if key == "<<" && matches!(value, Value::Object(_) | Value::Array(_)) {
            merges.push(value);
            return;
        }
        let repeated = match map.entry(key) {
            serde_json::map::Entry::Vacant(entry) => {
                entry.insert(value);
                None
            }
            serde_json::map::Entry::Occupied(mut entry) => {
                entry.insert(value);
                Some(entry.key().clone())
            }
        };
        if let Some(key) = repeated {
            let path = self.current_path().key(key);
            self.duplicate_keys.push(DuplicateKey { path, line });
        }
    }

    /// The path of the value about to be completed.
    fn value_path(&self) -> FieldPath {
        let mut path = self.current_path();
        match self.stack.last() {
            Some(Frame::Sequence { items, .. }) => path.push(Segment::Index(items.len())),
            Some(Frame::Mapping {
                pending_key: Some((key, _)),
                ..
            }) => path.push(Segment::Key(key.clone())),
            _ => {}
        }
        path
    }

    /// The path of the innermost open collection.
    fn current_path(&self) -> FieldPath {
        let mut path = FieldPath::root();
        for frame in &self.stack[..self.stack.len().saturating_sub(1)] {
            match frame {
                Frame::Sequence { items, .. } => path.push(Segment::Index(items.len())),
                Frame::Mapping { pending_key, .. } => {
                    if let Some((key, _)) = pending_key {
                        path.push(Segment::Key(key.clone()));
                    }
                }
            }
        }
        path
    }
}

/// PyYAML merge keys: explicit keys win, then earlier merge sources.
fn apply_merges(map: &mut Map<String, Value>, merges: Vec<Value>) {
    for merge in merges {
        let sources = match merge {
            Value::Array(items) => items,
            single => vec![single],
        };
        for source in sources {
            if let Value::Object(entries) = source {
                for (key, value) in entries {
                    map.entry(key).or_insert(value);
                }
            }
        }
    }
}

fn count_nodes(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

/// A scalar's value, and what PyYAML makes of it when JSON cannot say.
type Resolved = (Value, Option<PythonScalar>);

fn resolve_scalar(
    text: String,
    style: TScalarStyle,
    tag: Option<&Tag>,
) -> Result<Resolved, String> {
    if let Some(tag) = tag {
        let name = if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
            tag.suffix.as_str()
        } else if tag.handle == "!" && tag.suffix.is_empty() {
            return Ok((Value::String(text), None));
        } else {
            return Err(format!("unsupported YAML tag {}{}", tag.handle, tag.suffix));
        };
        return match name {
            "str" | "binary" => Ok((Value::String(text), None)),
            "null" | "bool" | "int" | "float" | "timestamp" => {
                let (value, python) = resolve_plain_python(text.clone())?;
                let ok = match (name, &value, python.as_ref().map(|p| p.kind)) {
                    ("float", _, Some(PythonKind::Float(_)))
                    | ("timestamp", _, Some(PythonKind::Date | PythonKind::DateTime)) => true,
                    (_, _, Some(_)) => false,
                    ("null", Value::Null, _) | ("bool", Value::Bool(_), _) => true,
                    ("int", Value::Number(n), _) => !n.is_f64(),
                    ("float", Value::Number(_), _) => true,
                    _ => false,
                };
                if ok {
                    Ok((value, python))
                } else {
                    Err(format!("{text:?} is not a valid !!{name}"))
                }
            }
            "map" | "seq" => Err(format!("!!{name} tag on a scalar")),
            other => Err(format!("unsupported YAML tag !!{other}")),
        };
    }
    match style {
        TScalarStyle::Plain => resolve_plain_python(text),
        _ => Ok((Value::String(text), None)),
    }
}

/// YAML 1.1 implicit types of a plain scalar, as PyYAML's SafeLoader resolves
/// them, as JSON: a date, a datetime, `.inf` and `.nan` keep their text (see
/// [`resolve_plain_python`] for what PyYAML makes of them).
pub fn resolve_plain(text: String) -> Value {
    match resolve_plain_python(text.clone()) {
        Ok((value, _)) => value,
        Err(_) => Value::String(text),
    }
}

/// [`resolve_plain`], also saying when PyYAML builds a Python object JSON
/// has no room for. A timestamp PyYAML matches but cannot build (month 13)
/// is an error, as it is for `yaml.safe_load`.
pub fn resolve_plain_python(text: String) -> Result<Resolved, String> {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Ok((Value::Null, None)),
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Ok((Value::Bool(true), None))
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Ok((Value::Bool(false), None))
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Ok((Value::String(text), None));
    }
    // PyYAML tries float, then int, then timestamp; their forms do not overlap.
    if let Some(float) = parse_float(&text) {
        return Ok(match Number::from_f64(float) {
            Some(number) => (Value::Number(number), None),
            None => {
                let scalar = PythonScalar {
                    kind: PythonKind::Float(float),
                    repr: python_float_repr(float),
                    text: text.clone(),
                };
                (Value::String(text), Some(scalar))
            }
        });
    }
    if let Some(number) = parse_int(&text) {
        return Ok((Value::Number(number), None));
    }
    if let Some(scalar) = python::timestamp(&text)? {
        return Ok((Value::String(text), Some(scalar)));
    }
    Ok((Value::String(text), None))
}

fn python_float_repr(float: f64) -> String {
    if float.is_nan() {
        "nan".to_string()
    } else if float > 0.0 {
        "inf".to_string()
    } else {
        "-inf".to_string()
    }
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

fn int_number(negative: bool, magnitude: u128) -> Option<Number> {
    if negative {
        let value = i128::try_from(magnitude).ok()?.checked_neg()?;
        i64::try_from(value).ok().map(Number::from)
    } else {
        u64::try_from(magnitude).ok().map(Number::from)
    }
}

fn parse_int(text: &str) -> Option<Number> {
    let (negative, digits) = split_sign(text);
    if digits.is_empty() {
        return None;
    }
    let radix_digits = |body: &str, radix: u32| -> Option<u128> {
        let cleaned: String = body.chars().filter(|c| *c != '_').collect();
        if cleaned.is_empty() {
            return None;
        }
        u128::from_str_radix(&cleaned, radix).ok()
    };
    let magnitude = if let Some(bin) = digits.strip_prefix("0b") {
        radix_digits(bin, 2)?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        radix_digits(hex, 16)?
    } else if digits == "0" {
        0
    } else if let Some(octal) = digits.strip_prefix('0') {
        if !octal.bytes().all(|b| matches!(b, b'0'..=b'7' | b'_')) {
            return None;
        }
        radix_digits(octal, 8)?
    } else if digits.contains(':') {
        return sexagesimal(digits).and_then(|(whole, frac)| {
            if frac.is_some() {
                None
            } else {
                int_number(negative, whole)
            }
        });
    } else {
        if !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') || digits.starts_with('_') {
            return None;
        }
        radix_digits(digits, 10)?
    };
    int_number(negative, magnitude)
}

/// `1:30` (= 90) and `1:30.5`: YAML 1.1 base-60 numbers. The first part must
/// not start with 0, later parts are 0..59.
fn sexagesimal(digits: &str) -> Option<(u128, Option<&str>)> {
    let mut parts = digits.split(':');
    let head = parts.next()?;
    if head.is_empty()
        || head.starts_with('0')
        || !head.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let mut value: u128 = head.replace('_', "").parse().ok()?;
    let rest: Vec<&str> = parts.collect();
    let mut fraction = None;
    for (i, part) in rest.iter().enumerate() {
        let (whole, frac) = match part.split_once('.') {
            Some((w, f)) if i == rest.len() - 1 => (w, Some(f)),
            Some(_) => return None,
            None => (*part, None),
        };
        if whole.is_empty() || whole.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digit: u128 = whole.parse().ok()?;
        if digit > 59 {
            return None;
        }
        value = value.checked_mul(60)?.checked_add(digit)?;
        fraction = frac;
    }
    Some((value, fraction))
}

fn parse_float(text: &str) -> Option<f64> {
    let (negative, body) = split_sign(text);
    let sign = if negative { -1.0 } else { 1.0 };
    match body {
        ".inf" | ".Inf" | ".INF" => return Some(sign * f64::INFINITY),
        ".nan" | ".NaN" | ".NAN" if text == body => return Some(f64::NAN),
        _ => {}
    }
    if body.contains(':') {
        let (whole, fraction) = sexagesimal(body)?;
        let fraction = fraction?;
        let frac: f64 = if fraction.replace('_', "").is_empty() {
            0.0
        } else {
            format!("0.{}", fraction.replace('_', "")).parse().ok()?
        };
        return Some(sign * (whole as f64 + frac));
    }
    // [0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?  or  \.[0-9_]+([eE][-+][0-9]+)?
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.')?;
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if whole.is_empty() {
        // `\.[0-9][0-9_]*`: PyYAML allows no sign here, so `-.5` is a string.
        if negative
            || text != body
            || fraction.is_empty()
            || !digits_ok(fraction)
            || fraction.starts_with('_')
        {
            return None;
        }
    } else if !whole.as_bytes()[0].is_ascii_digit() || !digits_ok(whole) || !digits_ok(fraction) {
        return None;
    }
    if let Some(exp) = exponent {
        let exp_digits = exp.strip_prefix(['-', '+'])?;
        if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let cleaned: String = body.chars().filter(|c| *c != '_').collect();
    let cleaned = if cleaned.starts_with('.') {
        format!("0{cleaned}")
    } else {
        cleaned
    };
    cleaned.parse::<f64>().ok().map(|v| sign * v)
}

/// PyYAML's timestamps: its resolver's pattern and its constructor's
/// arithmetic, so `2001-12-14` is a date and `2001-12-14 21:59:43.10 -5` a
/// datetime exactly where `yaml.safe_load` makes them.
mod python {
    use super::{PythonKind, PythonScalar};

    /// The parts of a timestamp the resolver's regex accepts:
    /// `YYYY-MM-DD`, or `YYYY-M?M-D?D([Tt]|[ \t]+)H?H:MM:SS(\.F*)?([ \t]*(Z|[-+]H?H(:MM)?))?`.
    struct Parts<'a> {
        year: &'a str,
        month: &'a str,
        day: &'a str,
        time: Option<Time<'a>>,
    }

    struct Time<'a> {
        hour: &'a str,
        minute: &'a str,
        second: &'a str,
        fraction: &'a str,
        /// `None`: naive; `Some(None)`: `Z`; `Some(Some((sign, h, m)))`.
        zone: Option<Option<(char, &'a str, &'a str)>>,
    }

    /// Takes 1 to `max` ASCII digits from the front of `text`.
    fn digits(text: &str, min: usize, max: usize) -> Option<(&str, &str)> {
        let count = text
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        (count >= min).then(|| text.split_at(count))
    }

    fn parse(text: &str) -> Option<Parts<'_>> {
        let (year, rest) = digits(text, 4, 4)?;
        let rest = rest.strip_prefix('-')?;
        let (month, rest) = digits(rest, 1, 2)?;
        let rest = rest.strip_prefix('-')?;
        let (day, rest) = digits(rest, 1, 2)?;
        if rest.is_empty() {
            // The date-only form wants two digits each.
            return (month.len() == 2 && day.len() == 2).then_some(Parts {
                year,
                month,
                day,
                time: None,
            });
        }
        let rest = match rest.strip_prefix(['T', 't']) {
            Some(after) => after,
            None => {
                let after = rest.trim_start_matches([' ', '\t']);
                if after.len() == rest.len() {
                    return None;
                }
                after
            }
        };
        let (hour, rest) = digits(rest, 1, 2)?;
        let (minute, rest) = digits(rest.strip_prefix(':')?, 2, 2)?;
        let (second, mut rest) = digits(rest.strip_prefix(':')?, 2, 2)?;
        let mut fraction = "";
        if let Some(after) = rest.strip_prefix('.') {
            let count = after.bytes().take_while(u8::is_ascii_digit).count();
            (fraction, rest) = after.split_at(count);
        }
        let zone_text = rest.trim_start_matches([' ', '\t']);
        let zone = if rest.is_empty() {
            None
        } else if zone_text == "Z" {
            Some(None)
        } else {
            let sign = zone_text
                .chars()
                .next()
                .filter(|c| matches!(c, '-' | '+'))?;
            let (tz_hour, tail) = digits(&zone_text[1..], 1, 2)?;
            let tz_minute = match tail.strip_prefix(':') {
                Some(after) => {
                    let (minute, tail) = digits(after, 2, 2)?;
                    if !tail.is_empty() {
                        return None;
                    }
                    minute
                }
                None if tail.is_empty() => "",
                None => return None,
            };
            Some(Some((sign, tz_hour, tz_minute)))
        };
        Some(Parts {
            year,
            month,
            day,
            time: Some(Time {
                hour,
                minute,
                second,
                fraction,
                zone,
            }),
        })
    }

    fn number(text: &str) -> i64 {
        text.parse().unwrap_or(0)
    }

    fn days_in_month(year: i64, month: i64) -> i64 {
        match month {
            2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// What PyYAML makes of `text` when its timestamp pattern matches;
    /// `Err` with Python's words when the date or time cannot exist.
    pub(super) fn timestamp(text: &str) -> Result<Option<PythonScalar>, String> {
        let Some(parts) = parse(text) else {
            return Ok(None);
        };
        let fail = |why: &str| {
            Err(format!(
                "PyYAML reads the unquoted {text:?} as a timestamp and cannot build it ({why}); \
                 quote it to keep a string"
            ))
        };
        let (year, month, day) = (number(parts.year), number(parts.month), number(parts.day));
        if year < 1 {
            return fail(&format!("year {year} is out of range"));
        }
        if !(1..=12).contains(&month) {
            return fail("month must be in 1..12");
        }
        if day < 1 || day > days_in_month(year, month) {
            return fail("day is out of range for month");
        }
        let Some(time) = parts.time else {
            return Ok(Some(PythonScalar {
                kind: PythonKind::Date,
                text: text.to_string(),
                repr: format!("datetime.date({year}, {month}, {day})"),
            }));
        };
        let (hour, minute, second) = (number(time.hour), number(time.minute), number(time.second));
        if hour > 23 {
            return fail("hour must be in 0..23");
        }
        if minute > 59 {
            return fail("minute must be in 0..59");
        }
        if second > 59 {
            return fail("second must be in 0..59");
        }
        // `fraction[:6]`, padded with zeros: microseconds.
        let mut micro: String = time.fraction.chars().take(6).collect();
        while !micro.is_empty() && micro.len() < 6 {
            micro.push('0');
        }
        let microsecond = number(&micro);
        let mut fields = vec![year, month, day, hour, minute];
        if microsecond != 0 {
            fields.extend([second, microsecond]);
        } else if second != 0 {
            fields.push(second);
        }
        let mut repr = format!(
            "datetime.datetime({}",
            fields
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        match time.zone {
            None => {}
            Some(None) => repr.push_str(", tzinfo=datetime.timezone.utc"),
            Some(Some((sign, tz_hour, tz_minute))) => {
                let mut offset = number(tz_hour) * 3600 + number(tz_minute) * 60;
                if sign == '-' {
                    offset = -offset;
                }
                if offset.abs() >= 86_400 {
                    return fail("the UTC offset must be strictly between -24 and 24 hours");
                }
                if offset == 0 {
                    repr.push_str(", tzinfo=datetime.timezone.utc");
                } else {
                    repr.push_str(&format!(
                        ", tzinfo=datetime.timezone({})",
                        timedelta_repr(offset)
                    ));
                }
            }
        }
        repr.push(')');
        Ok(Some(PythonScalar {
            kind: PythonKind::DateTime,
            text: text.to_string(),
            repr,
        }))
    }

    /// Python's `repr(timedelta(seconds=offset))`: days may be negative,
    /// seconds are in 0..86400.
    fn timedelta_repr(offset: i64) -> String {
        let days = offset.div_euclid(86_400);
        let seconds = offset.rem_euclid(86_400);
        let mut fields = Vec::new();
        if days != 0 {
            fields.push(format!("days={days}"));
        }
        if seconds != 0 {
            fields.push(format!("seconds={seconds}"));
        }
        format!("datetime.timedelta({})", fields.join(", "))
    }
}

/// Lines of fields of a document, for findings. Building it parses the text
/// again, so it is made only when there is something to report, and
/// [`SourceMap::of_fields`] records only the fields asked for (and their
/// ancestors) and stops reading once it has them all: a document with 500,000
/// keys and 20 findings costs 20 lookups, not a path per key (issue 14).
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    /// A tree of fields: node 0 is the document, each node its first line.
    nodes: Vec<LineNode>,
}

#[derive(Debug, Clone, Default)]
struct LineNode {
    line: Option<usize>,
    keys: HashMap<String, usize>,
    indices: HashMap<usize, usize>,
}

/// Which nodes a pass over the events records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// Every field of the document ([`SourceMap::build`]).
    Everything,
    /// Only the nodes already in the tree ([`SourceMap::of_fields`]).
    Listed,
}

impl SourceMap {
    /// Maps every field of the first document of `text`. Text that does not
    /// parse gives what was read before the error (its parse error was
    /// reported already).
    pub fn build(text: &str) -> SourceMap {
        let mut map = SourceMap {
            nodes: vec![LineNode::default()],
        };
        map.read(text, Wanted::Everything);
        map
    }

    /// Maps only `fields` (and their ancestors, where a missing field is
    /// reported) of the first document of `text`.
    pub fn of_fields<'a>(text: &str, fields: impl IntoIterator<Item = &'a FieldPath>) -> SourceMap {
        let mut map = SourceMap {
            nodes: vec![LineNode::default()],
        };
        for field in fields {
            let mut node = 0;
            for segment in field.segments() {
                node = match map.child(node, segment_ref(segment)) {
                    Some(child) => child,
                    None => map.add_child(node, segment_ref(segment)),
                };
            }
        }
        map.read(text, Wanted::Listed);
        map
    }

    fn child(&self, node: usize, segment: SegmentRef) -> Option<usize> {
        let node = &self.nodes[node];
        match segment {
            SegmentRef::Key(key) => node.keys.get(key).copied(),
            SegmentRef::Index(index) => node.indices.get(&index).copied(),
        }
    }

    fn add_child(&mut self, node: usize, segment: SegmentRef) -> usize {
        let id = self.nodes.len();
        self.nodes.push(LineNode::default());
        match segment {
            SegmentRef::Key(key) => self.nodes[node].keys.insert(key.to_string(), id),
            SegmentRef::Index(index) => self.nodes[node].indices.insert(index, id),
        };
        id
    }

    /// One pass over the parser's events, recording the first line of each
    /// wanted node; stops when every wanted node has its line.
    fn read(&mut self, text: &str, wanted: Wanted) {
        self.nodes[0].line = Some(1);
        let mut unresolved = match wanted {
            Wanted::Everything => usize::MAX,
            Wanted::Listed => self.nodes.len() - 1,
        };
        if unresolved == 0 {
            return;
        }
        let mut record = |nodes: &mut Vec<LineNode>, node: Option<usize>, line: usize| {
            if let Some(node) = node {
                if nodes[node].line.is_none() {
                    nodes[node].line = Some(line);
                    unresolved = unresolved.saturating_sub(1);
                }
            }
            unresolved == 0
        };
        let mut stack: Vec<Open> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Ok((event, mark)) = parser.next_token() {
            let line = mark.line();
            let done = match event {
                Event::StreamEnd | Event::DocumentEnd => break,
                Event::Scalar(ref key, ..) if matches!(stack.last(), Some(Open::Map(_, None))) => {
                    let Some(Open::Map(parent, _)) = stack.last() else {
                        continue;
                    };
                    let node = parent.and_then(|p| self.step(p, SegmentRef::Key(key), wanted));
                    if let Some(Open::Map(_, pending)) = stack.last_mut() {
                        *pending = Some(node);
                    }
                    record(&mut self.nodes, node, line)
                }
                Event::Scalar(..) | Event::Alias(_) => match self.next_node(&mut stack, wanted) {
                    Some(node) => record(&mut self.nodes, node, line),
                    None => false,
                },
                Event::SequenceStart(..) | Event::MappingStart(..) => {
                    let Some(node) = self.next_node(&mut stack, wanted) else {
                        break; // a collection as a key: not something we report on
                    };
                    stack.push(if matches!(event, Event::SequenceStart(..)) {
                        Open::Seq(node, 0)
                    } else {
                        Open::Map(node, None)
                    });
                    record(&mut self.nodes, node, line)
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    stack.pop();
                    false
                }
                _ => false,
            };
            if done {
                break;
            }
        }
    }

    /// The node the next value takes (`Some(None)`: not wanted), or `None`
    /// when no value is expected (a collection as a mapping key).
    fn next_node(&mut self, stack: &mut [Open], wanted: Wanted) -> Option<Option<usize>> {
        match stack.last_mut() {
            None => Some(Some(0)),
            Some(Open::Seq(parent, next)) => {
                let index = *next;
                *next += 1;
                Some(parent.and_then(|p| self.step(p, SegmentRef::Index(index), wanted)))
            }
            Some(Open::Map(_, key)) => key.take(),
        }
    }

    /// The child of `node` at `segment`: found, made (everything wanted) or
    /// none (not wanted).
    fn step(&mut self, node: usize, segment: SegmentRef, wanted: Wanted) -> Option<usize> {
        match (self.child(node, segment), wanted) {
            (Some(child), _) => Some(child),
            (None, Wanted::Everything) => Some(self.add_child(node, segment)),
            (None, Wanted::Listed) => None,
        }
    }

    /// The line of `path`, or of its nearest ancestor that has one (a missing
    /// field is reported at the mapping that should hold it).
    pub fn line_of(&self, path: &FieldPath) -> Option<usize> {
        let mut node = 0;
        let mut line = self.nodes.first()?.line;
        for segment in path.segments() {
            let Some(child) = self.child(node, segment_ref(segment)) else {
                break;
            };
            node = child;
            line = self.nodes[node].line.or(line);
        }
        line
    }
}

/// An open collection while mapping lines: its node (None when nothing under
/// it is wanted) and, for a sequence, the next index; for a mapping, the node
/// of the key waiting for its value (`Some(None)`: a key nobody wants).
enum Open {
    Seq(Option<usize>, usize),
    Map(Option<usize>, Option<Option<usize>>),
}

/// A path segment without owning its key, for lookups.
#[derive(Clone, Copy)]
enum SegmentRef<'a> {
    Key(&'a str),
    Index(usize),
}

fn segment_ref(segment: &Segment) -> SegmentRef<'_> {
    match segment {
        Segment::Key(key) => SegmentRef::Key(key),
        Segment::Index(index) => SegmentRef::Index(*index),
    }
}

/// Writes a value as YAML in block style, like `kubectl get -o yaml`.
///
/// Strings are quoted whenever a YAML 1.1 reader (PyYAML, go-yaml v2, ours)
/// would read them as something else: `yes`, `on`, `0755`, `1:30` and
/// `2001-12-14` stay strings. serde_yaml writes those bare, so we emit
/// ourselves. Multi-line strings use literal blocks.
///
/// The value is first written as compact JSON (by serde, in field order) and
/// the YAML is emitted from that text: no `serde_json::Value` tree of the
/// output is built, so rendering 300,000 namespaces costs the JSON text and
/// the YAML text, not a tree of maps several times their size (issue 14).
pub fn to_yaml_string<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, String> {
    let json = serde_json::to_string(value).map_err(|err| err.to_string())?;
    let mut emitter = JsonToYaml {
        json: json.as_bytes(),
        text: &json,
        at: 0,
        out: String::with_capacity(json.len() + json.len() / 2),
    };
    emitter.node(0, Place::Top)?;
    Ok(emitter.out)
}

/// Where a node sits, which decides what goes before it and after a scalar.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The whole document.
    Top,
    /// The value of a mapping key (`key:` is written).
    AfterKey,
    /// An item of a sequence (`- ` is written).
    Item,
}

/// Emits block YAML while reading compact JSON (serde_json's own output, so
/// no whitespace and valid by construction).
struct JsonToYaml<'a> {
    json: &'a [u8],
    text: &'a str,
    at: usize,
    out: String,
}

impl JsonToYaml<'_> {
    fn peek(&self) -> Option<u8> {
        self.json.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!(
                "YAML emitter: expected {:?} at byte {} of the JSON text",
                byte as char, self.at
            ))
        }
    }

    /// One node at `level`, as the old tree walk wrote it: a non-empty
    /// mapping after a key opens on the next line one level in; a non-empty
    /// sequence after a key stays at the key's level; in a sequence, both
    /// continue on the `- ` line.
    fn node(&mut self, level: usize, place: Place) -> Result<(), String> {
        let empty = matches!(
            (self.peek(), self.json.get(self.at + 1)),
            (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']'))
        );
        match self.peek() {
            Some(b'{') if !empty => {
                let inner = match place {
                    Place::Top => 0,
                    Place::AfterKey => {
                        self.out.push('\n');
                        indent(&mut self.out, level + 1);
                        level + 1
                    }
                    Place::Item => level + 1,
                };
                self.mapping(inner)
            }
            Some(b'[') if !empty => {
                let inner = match place {
                    Place::Top => 0,
                    Place::AfterKey => {
                        self.out.push('\n');
                        indent(&mut self.out, level);
                        level
                    }
                    Place::Item => level + 1,
                };
                self.sequence(inner)
            }
            _ => {
                if place == Place::AfterKey {
                    self.out.push(' ');
                }
                let scalar_level = if place == Place::Top { 0 } else { level + 1 };
                self.scalar(scalar_level)?;
                self.out.push('\n');
                Ok(())
            }
        }
    }

    fn mapping(&mut self, level: usize) -> Result<(), String> {
        self.expect(b'{')?;
        let mut first = true;
        while self.peek() != Some(b'}') {
            if !first {
                self.expect(b',')?;
                indent(&mut self.out, level);
            }
            first = false;
            let key = self.string()?;
            emit_string(&key, level, &mut self.out);
            self.out.push(':');
            self.expect(b':')?;
            self.node(level, Place::AfterKey)?;
        }
        self.expect(b'}')
    }

    fn sequence(&mut self, level: usize) -> Result<(), String> {
        self.expect(b'[')?;
        let mut first = true;
        while self.peek() != Some(b']') {
            if !first {
                self.expect(b',')?;
                indent(&mut self.out, level);
            }
            first = false;
            self.out.push_str("- ");
            self.node(level, Place::Item)?;
        }
        self.expect(b']')
    }

    /// A scalar (or an empty collection) written where a scalar goes.
    fn scalar(&mut self, level: usize) -> Result<(), String> {
        match self.peek() {
            Some(b'"') => {
                let text = self.string()?;
                emit_string(&text, level, &mut self.out);
            }
            Some(b'{') => {
                self.at += 2;
                self.out.push_str("{}");
            }
            Some(b'[') => {
                self.at += 2;
                self.out.push_str("[]");
            }
            _ => {
                // null, true, false or a number: JSON and YAML spell them alike.
                let end = self.json[self.at..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']'))
                    .map_or(self.json.len(), |n| self.at + n);
                if end == self.at {
                    return Err(format!("YAML emitter: no value at byte {}", self.at));
                }
                self.out.push_str(&self.text[self.at..end]);
                self.at = end;
            }
        }
        Ok(())
    }

    /// A JSON string at the cursor, unescaped.
    fn string(&mut self) -> Result<String, String> {
        let rest = &self.text[self.at..];
        let body = &rest.as_bytes()[1..];
        // The closing quote: the first `"` not escaped by a backslash.
        let mut i = 0;
        let mut escaped = false;
        while i < body.len() {
            match body[i] {
                b'\\' => {
                    escaped = true;
                    i += 2;
                    continue;
                }
                b'"' => break,
                _ => i += 1,
            }
        }
        let token = &rest[..i + 2];
        self.at += token.len();
        if escaped {
            serde_json::from_str(token).map_err(|err| format!("YAML emitter: {err}"))
        } else {
            Ok(token[1..token.len() - 1].to_string())
        }
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// A string, plain when that reads back as the same string, else quoted.
fn emit_string(text: &str, level: usize, out: &mut String) {
    if is_plain_safe(text) {
        out.push_str(text);
    } else if text.contains('\n') && literal_block_safe(text) {
        let chomp = if !text.ends_with('\n') {
            "-"
        } else if text.ends_with("\n\n") {
            "+"
        } else {
            ""
        };
        out.push('|');
        out.push_str(chomp);
        let body = text.strip_suffix('\n').unwrap_or(text);
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                indent(out, level);
                out.push_str(line);
            }
        }
    } else if text.chars().all(|c| !c.is_control()) {
        out.push('\'');
        out.push_str(&text.replace('\'', "''"));
        out.push('\'');
    } else {
        // JSON string escapes are valid YAML double-quoted escapes.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    }
}

fn literal_block_safe(text: &str) -> bool {
    !text.starts_with([' ', '\n'])
        && text.chars().all(|c| c == '\n' || !c.is_control())
        && !text.split('\n').any(|line| line.ends_with(' '))
}

fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@`=<~ \t".contains(first) || text.ends_with([' ', ':']) {
        return false;
    }
    if text.contains(": ") || text.contains(" #") || text.chars().any(|c| c.is_control()) {
        return false;
    }
    let bytes = text.as_bytes();
    let looks_like_date =
        bytes.len() >= 8 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-';
    !looks_like_date
        && matches!(
            resolve_plain_python(text.to_string()),
            Ok((Value::String(_), None))
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        parse_one(text).unwrap().value
    }

    #[test]
    fn resolves_scalars_like_pyyaml() {
        assert_eq!(
            value("a: yes\nb: off\nc: ~\nd: 0755\ne: 0x1F\nf: 1:30\ng: 1.5\nh: 1e5\ni: 08"),
            json!({"a": true, "b": false, "c": null, "d": 493, "e": 31, "f": 90, "g": 1.5, "h": "1e5", "i": "08"})
        );
        assert_eq!(
            value("a: '1'\nb: \"true\"\nc: !!str 5\nd: -12\ne: .5\nf: 1.0e+3\ng: 1_000"),
            json!({"a": "1", "b": "true", "c": "5", "d": -12, "e": 0.5, "f": 1000.0, "g": 1000})
        );
        assert_eq!(
            value("v: 1.0.0\nw: 2001-12-14\nx: 'quay.io/a@sha256:00'"),
            json!({"v": "1.0.0", "w": "2001-12-14", "x": "quay.io/a@sha256:00"})
        );
        assert_eq!(
            value("big: 18446744073709551615\nneg: -9223372036854775808"),
            json!({"big": 18446744073709551615u64, "neg": i64::MIN})
        );
    }

    fn python(text: &str) -> Vec<(String, String)> {
        parse_one(text)
            .unwrap()
            .python_values
            .iter()
            .map(|v| (v.path.to_string(), v.scalar.repr.clone()))
            .collect()
    }

    #[test]
    fn unquoted_dates_and_datetimes_are_python_values_as_pyyaml_reads_them() {
        let text = "a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10 -5\n\
                    d: 2001-12-15T02:59:43.1Z\ne: 2002-12-14 1:02:03\nf: [2001-1-2 03:04:00 +01:30]\n";
        assert_eq!(
            python(text),
            vec![
                ("a".into(), "datetime.date(2001, 12, 14)".into()),
                (
                    "b".into(),
                    "datetime.datetime(2001, 12, 14, 21, 59, 43, 100000, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=68400)))".into()
                ),
                (
                    "c".into(),
                    "datetime.datetime(2001, 12, 14, 21, 59, 43, 100000, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=68400)))".into()
                ),
                (
                    "d".into(),
                    "datetime.datetime(2001, 12, 15, 2, 59, 43, 100000, tzinfo=datetime.timezone.utc)".into()
                ),
                ("e".into(), "datetime.datetime(2002, 12, 14, 1, 2, 3)".into()),
                (
                    "f[0]".into(),
                    "datetime.datetime(2001, 1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(seconds=5400)))".into()
                ),
            ]
        );
        // The value tree keeps the text: JSON has no date.
        assert_eq!(value(text)["a"], json!("2001-12-14"));
    }

    #[test]
    fn quoted_and_near_miss_dates_stay_strings() {
        let text = "a: '2001-12-14'\nb: \"2001-12-14\"\nc: !!str 2001-12-14\nd: 2001-1-14\n\
                    e: 2001-12-14x\nf: 20011-12-14\ng: 2001-12-14 21:59\nh: 2001-12-14T21:59:43 +5:3\n";
        assert_eq!(python(text), vec![]);
        assert_eq!(value(text)["d"], json!("2001-1-14"));
    }

    #[test]
    fn a_timestamp_pyyaml_cannot_build_is_a_load_error() {
        let err = parse_one("description: 2001-13-14\n").unwrap_err();
        assert!(err.message.contains("month must be in 1..12"), "{err}");
        let err = parse_one("a: 2001-02-29\n").unwrap_err();
        assert!(err.message.contains("day is out of range"), "{err}");
        assert!(parse_one("a: 2000-02-29\n").is_ok(), "a leap day");
    }

    #[test]
    fn special_floats_in_every_case_pyyaml_accepts_are_python_floats() {
        let text = "a: .inf\nb: -.Inf\nc: +.INF\nd: .NaN\ne: .nan\nf: .NAN\n";
        assert_eq!(
            python(text),
            vec![
                ("a".into(), "inf".into()),
                ("b".into(), "-inf".into()),
                ("c".into(), "inf".into()),
                ("d".into(), "nan".into()),
                ("e".into(), "nan".into()),
                ("f".into(), "nan".into()),
            ]
        );
        // Forms PyYAML's float pattern refuses stay strings.
        let text = "a: .INf\nb: -.nan\nc: inf\nd: '.inf'\ne: -.5\nf: .Nan\n";
        assert_eq!(python(text), vec![]);
        assert_eq!(value(text)["e"], json!("-.5"));
        assert_eq!(value("a: !!float .inf")["a"], json!(".inf"));
    }

    #[test]
    fn emitted_dates_and_special_floats_are_quoted_so_they_stay_strings() {
        let tricky =
            json!({"a": ".inf", "b": "-.Inf", "c": ".NaN", "d": "2001-12-14 21:59:43.10 -5"});
        let text = to_yaml_string(&tricky).unwrap();
        let parsed = parse_one(&text).unwrap();
        assert_eq!(parsed.value, tricky, "{text}");
        assert!(parsed.python_values.is_empty(), "{text}");
    }

    #[test]
    fn empty_text_is_null_and_json_parses() {
        assert_eq!(value(""), Value::Null);
        assert_eq!(value("# only a comment\n"), Value::Null);
        assert_eq!(
            value("{\"a\": [1, 2, {\"b\": null}]}"),
            json!({"a": [1, 2, {"b": null}]})
        );
    }

    #[test]
    fn reports_every_duplicate_key_with_its_line() {
        let parsed = parse_one("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n").unwrap();
        assert_eq!(parsed.value, json!({"a": 3, "b": {"c": 2}}));
        let dups: Vec<(String, usize)> = parsed
            .duplicate_keys
            .iter()
            .map(|d| (d.path.to_string(), d.line))
            .collect();
        assert_eq!(dups, vec![("b.c".to_string(), 4), ("a".to_string(), 5)]);
    }

    #[test]
    fn duplicate_key_inside_a_list_names_its_index() {
        let parsed = parse_one("items:\n- x: 1\n- x: 1\n  x: 2\n").unwrap();
        assert_eq!(parsed.duplicate_keys[0].path.to_string(), "items[1].x");
    }

    #[test]
    fn merge_keys_and_aliases() {
        assert_eq!(
            value("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n"),
            json!({"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}})
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let refs = vec![format!("*{}", pair[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
        }
        let err = parse_one(&text).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(MAX_DEPTH + 5) + &"]".repeat(MAX_DEPTH + 5);
        let err = parse_one(&text).unwrap_err();
        assert!(
            err.message.contains("nested deeper") || err.message.contains("recursion"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_one("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.line >= 1);
        let err = parse_one("a: b: c\n").unwrap_err();
        assert_eq!(err.line, 1);
    }

    #[test]
    fn collection_keys_are_refused() {
        assert!(parse_one("? [a]\n: 1\n").is_err());
    }

    #[test]
    fn streams_hold_several_documents() {
        let docs = parse_stream("a: 1\n---\nb: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].value, json!({"b": 2}));
        assert_eq!(docs[2].value, Value::Null);
        assert!(parse_one("a: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn emitted_yaml_reads_back_as_the_same_value() {
        let tricky = json!({
            "yes": "yes", "on": "on", "octal": "0755", "time": "1:30", "empty": "", "null": "null", "tilde": "~",
            "date": "2001-12-14", "colon": "a: b", "hash": "a #b", "dash": "-x", "quote": "it's", "star": "*x",
            "multi": "line one\nline two\n", "multi_no_end": "a\nb", "indented": "  x\ny", "control": "bell\u{7}",
            "number": 1.5, "int": -3, "bool": true, "nothing": null, "list": [], "map": {}, "key: with colon": 1,
            "nested": [{"a": [1, [2, 3]], "b": {"c": "d"}}, "plain text", ["x"]],
        });
        let text = to_yaml_string(&tricky).unwrap();
        assert_eq!(parse_one(&text).unwrap().value, tricky, "{text}");
        // serde_yaml, a YAML 1.2 reader, agrees too.
        let other: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(other, tricky, "{text}");
    }

    #[test]
    fn emits_kubectl_style_blocks() {
        let value =
            json!({"kind": "List", "items": [{"metadata": {"name": "a"}, "spec": {"x": [1]}}]});
        assert_eq!(
            to_yaml_string(&value).unwrap(),
            "kind: List\nitems:\n- metadata:\n    name: a\n  spec:\n    x:\n    - 1\n"
        );
    }

    #[test]
    fn source_map_finds_lines_of_fields_and_items() {
        let text = "id: x\nlist:\n  - a\n  - name: b\n    value: c\nmap:\n  k: v\n";
        let map = SourceMap::build(text);
        assert_eq!(map.line_of(&FieldPath::parse("id")), Some(1));
        assert_eq!(map.line_of(&FieldPath::parse("list[1].value")), Some(5));
        assert_eq!(map.line_of(&FieldPath::parse("list[0]")), Some(3));
        assert_eq!(map.line_of(&FieldPath::parse("map.k")), Some(7));
        // A missing field is reported where its parent is.
        assert_eq!(map.line_of(&FieldPath::parse("map.missing")), Some(6));
    }

    #[test]
    fn source_map_of_fields_maps_only_the_fields_asked_for() {
        let mut text = String::from("id: x\nlist:\n  - a\n  - name: b\n    value: c\n");
        for i in 0..1000 {
            text.push_str(&format!("key{i}: {i}\n"));
        }
        let wanted = [
            FieldPath::parse("list[1].value"),
            FieldPath::parse("key999"),
            FieldPath::parse("list[1].missing"),
        ];
        let map = SourceMap::of_fields(&text, &wanted);
        assert_eq!(map.line_of(&wanted[0]), Some(5));
        assert_eq!(map.line_of(&wanted[1]), Some(1005));
        assert_eq!(map.line_of(&wanted[2]), Some(4), "reported at its mapping");
        // The document, list, list[1], value, missing, key999: no node per key.
        assert_eq!(map.nodes.len(), 6);
        assert_eq!(SourceMap::build(&text).line_of(&wanted[1]), Some(1005));
    }
}
