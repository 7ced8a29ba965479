//! YAML 1.1 implicit types of plain scalars, as PyYAML's resolver and
//! constructor give them (`yes` is true, `0755` is 493, `1:30` is 90, `.inf`
//! a float, `2001-12-14` a date), so our reading of a document is
//! managed-tenants'.

use serde_json::{Number, Value};
use yaml_rust2::parser::Tag;
use yaml_rust2::scanner::TScalarStyle;

use super::timestamp;

/// What PyYAML makes of a plain scalar JSON has no value for (a date, a
/// datetime, an infinite or NaN float), with Python's `repr` of it (jsonschema
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

/// A scalar's value, and what PyYAML makes of it when JSON cannot say.
pub type Resolved = (Value, Option<PythonScalar>);

pub(super) fn resolve_scalar(
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
    if let Some(word) = word_value(&text) {
        return Ok((word, None));
    }
    if !may_be_numeric(&text) {
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
    if let Some(scalar) = timestamp::timestamp(&text)? {
        return Ok((Value::String(text), Some(scalar)));
    }
    Ok((Value::String(text), None))
}

/// The null and boolean words of YAML 1.1 (and the empty scalar, null).
fn word_value(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Some(Value::Null),
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(Value::Bool(true))
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(Value::Bool(false))
        }
        _ => None,
    }
}

/// Whether a (non-empty) scalar opens as a number, date or time may: every
/// other text that is not a null or boolean word is a string.
fn may_be_numeric(text: &str) -> bool {
    text.bytes()
        .next()
        .is_some_and(|first| first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.'))
}

/// Whether [`resolve_plain`] gives `text` back as a string, told without
/// building anything: false is "maybe not", to be resolved.
pub fn plainly_a_string(text: &str) -> bool {
    !text.is_empty() && !may_be_numeric(text) && word_value(text).is_none()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plainly_a_string_agrees_with_resolve_plain() {
        for text in [
            "",
            "~",
            "null",
            "yes",
            "On",
            "OFF",
            "0123",
            "1.10",
            "-1",
            "+1",
            ".inf",
            "2001-12-14",
            "1:30",
            "my-operator",
            "redhat-operators",
            "quay.io/x:v1",
            "nul",
            "onward",
            "x1",
        ] {
            if plainly_a_string(text) {
                assert!(resolve_plain(text.to_string()).is_string(), "{text:?}");
            }
        }
        assert!(plainly_a_string("my-operator"));
        assert!(!plainly_a_string("0123"));
        assert!(!plainly_a_string("on"));
        assert!(!plainly_a_string(""));
    }
}
