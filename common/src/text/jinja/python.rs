//! Python's `str()` and `repr()` of template values, and the character
//! classes Python's string methods use. Jinja2 inserts `str(value)` into the
//! output, so a list prints as `['a', 'b']`, a mapping as `{'k': 'v'}`, a
//! boolean as `True`; a string inside them as `repr()` writes it, with
//! non-printable characters (U+00A0, U+200B, control characters) escaped.

use minijinja::value::{Tuple, Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::objects::{ChainMap, DictView, GroupTuple, PyRange};
use super::unicode_tables::{DECIMAL, NON_PRINTABLE, WORD};

/// Python's `TypeError` with `message`, as Jinja2 reports a wrong operand.
pub(super) fn type_error(message: impl Into<String>) -> Error {
    python_exception("TypeError", message)
}

/// Python's `ValueError` with `message`, as Jinja2 reports a bad value.
pub(super) fn value_error(message: impl Into<String>) -> Error {
    python_exception("ValueError", message)
}

fn python_exception(kind: &str, message: impl Into<String>) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("{kind}: {}", message.into()),
    )
}

/// A serde value (a YAML or JSON document's) as a template value.
pub(super) fn serde_value<T: serde::Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// `serde_value(key_order.apply(value))` in one walk, where `model` is the
/// key order's value: each mapping's keys in the model's order, then the
/// others in their own (`crate::model::addon::KeyOrder::apply`), made into
/// the values minijinja's serializer makes, without the ordered copy.
pub(super) fn ordered_json_value(
    value: &serde_json::Value,
    model: Option<&serde_json::Value>,
) -> Value {
    use serde_json::Value as Json;
    match (value, model) {
        (Json::Object(map), Some(Json::Object(model))) => {
            let known = model.iter().filter_map(|(key, sub_model)| {
                let item = map.get(key)?;
                Some((key, ordered_json_value(item, Some(sub_model))))
            });
            let others = map
                .iter()
                .filter(|(key, _)| !model.contains_key(*key))
                .map(|(key, item)| (key, ordered_json_value(item, None)));
            Value::from_pairs(
                known
                    .chain(others)
                    .map(|(k, v)| (Value::from(k.as_str()), v)),
            )
        }
        (Json::Object(map), _) => Value::from_pairs(
            map.iter()
                .map(|(key, item)| (Value::from(key.as_str()), ordered_json_value(item, None))),
        ),
        (Json::Array(items), model) => {
            let models = match model {
                Some(Json::Array(models)) => models.as_slice(),
                _ => &[],
            };
            let values: Vec<Value> = items
                .iter()
                .enumerate()
                .map(|(i, item)| ordered_json_value(item, models.get(i)))
                .collect();
            Value::from_object(values)
        }
        // As serde_json serializes a number: u64, then i64, then f64.
        (Json::Number(n), _) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Value::from(u),
            (None, Some(i), _) => Value::from(i),
            (None, None, f) => Value::from(f.unwrap_or(f64::NAN)),
        },
        (Json::String(text), _) => Value::from(text.as_str()),
        (Json::Bool(b), _) => Value::from(*b),
        (Json::Null, _) => Value::from(()),
    }
}

/// Python's `str()`: a string as it is, anything else as `repr()`. An
/// undefined value is an error, as Jinja2's `StrictUndefined` makes it.
pub(super) fn python_str(value: &Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::Undefined => Err(undefined_error()),
        ValueKind::String => Ok(value.as_str().unwrap_or_default().to_string()),
        _ => Ok(python_repr(value)),
    }
}

/// `str()` inside a render: an undefined value is an error if it is a
/// strict one (minijinja's formatting says), and prints as nothing if it
/// is the silent one of an `x if c` without else.
pub(super) fn python_str_in(state: &mut minijinja::State, value: &Value) -> Result<String, Error> {
    if value.is_undefined() {
        return state.format(value.clone());
    }
    python_str(value)
}

/// The error Jinja2's `StrictUndefined` raises when an undefined value is
/// printed, converted or iterated.
pub(super) fn undefined_error() -> Error {
    Error::new(
        ErrorKind::UndefinedError,
        "an undefined value was used (Jinja2's StrictUndefined refuses it)",
    )
}

/// Python's `repr()` of the values a template can hold.
pub(super) fn python_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, &mut out, false);
    out
}

/// Python's `ascii()`: `repr()` with every non-ASCII character escaped.
pub(super) fn python_ascii(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, &mut out, true);
    out
}

fn write_repr(value: &Value, out: &mut String, ascii: bool) {
    match value.kind() {
        ValueKind::Undefined => {}
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push_str(&number_repr(value)),
        ValueKind::String => out.push_str(&repr_text(value.as_str().unwrap_or_default(), ascii)),
        ValueKind::Map if value.downcast_object_ref::<ChainMap>().is_some() => {
            let chain = value.downcast_object_ref::<ChainMap>().expect("checked");
            out.push_str("ChainMap(");
            write_repr(&chain.first, out, ascii);
            out.push_str(", ");
            write_repr(&chain.second, out, ascii);
            out.push(')');
        }
        ValueKind::Map => {
            out.push('{');
            for (i, key) in value.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(&key, out, ascii);
                out.push_str(": ");
                write_repr(&value.get_item(&key).unwrap_or_default(), out, ascii);
            }
            out.push('}');
        }
        _ => write_container_repr(value, out, ascii),
    }
}

/// Sequences, tuples and the iterable objects Python prints by type.
fn write_container_repr(value: &Value, out: &mut String, ascii: bool) {
    if let Some(view) = value.downcast_object_ref::<DictView>() {
        out.push_str(view.type_name());
        out.push('(');
        if view.over_chain_map() {
            write_repr(&view.mapping, out, ascii);
        } else {
            write_items(value, '[', ']', false, out, ascii);
        }
        out.push(')');
    } else if let Some(range) = value.downcast_object_ref::<PyRange>() {
        out.push_str(&range.repr());
    } else if value.downcast_object_ref::<Tuple>().is_some()
        || value.downcast_object_ref::<GroupTuple>().is_some()
    {
        write_items(value, '(', ')', true, out, ascii);
    } else if matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable) {
        write_items(value, '[', ']', false, out, ascii);
    } else {
        out.push_str(&value.to_string());
    }
}

fn write_items(value: &Value, open: char, close: char, tuple: bool, out: &mut String, ascii: bool) {
    out.push(open);
    let mut count = 0;
    for item in value.try_iter().into_iter().flatten() {
        if count > 0 {
            out.push_str(", ");
        }
        write_repr(&item, out, ascii);
        count += 1;
    }
    if tuple && count == 1 {
        out.push(',');
    }
    out.push(close);
}

/// `repr()` of an int or float.
pub(super) fn number_repr(value: &Value) -> String {
    if value.is_integer() {
        value.to_string()
    } else {
        f64::try_from(value.clone())
            .map(float_repr)
            .unwrap_or_else(|_| value.to_string())
    }
}

/// `repr()` of a str: single quotes unless the text holds a single quote and
/// no double quote; backslashes, the quote, `\n`, `\r`, `\t` and every
/// character `str.isprintable()` refuses escaped (`\x..`, `\u....`,
/// `\U........`).
pub fn python_repr_str(text: &str) -> String {
    repr_text(text, false)
}

fn repr_text(text: &str, ascii: bool) -> String {
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
            c if !is_printable(c) || (ascii && !c.is_ascii()) => push_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn push_escape(out: &mut String, c: char) {
    let code = c as u32;
    if code < 0x100 {
        out.push_str(&format!("\\x{code:02x}"));
    } else if code < 0x10000 {
        out.push_str(&format!("\\u{code:04x}"));
    } else {
        out.push_str(&format!("\\U{code:08x}"));
    }
}

/// `repr()` of a float: the shortest round-trip digits, always with a `.0`
/// or an exponent, exponent notation from 1e16 and below 1e-4.
pub(super) fn float_repr(number: f64) -> String {
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
        return format!("{mantissa}e{}", exponent_text(exponent));
    }
    let text = number.to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// Rust's exponent digits (`5`, `-7`) as C and Python write them: a sign and
/// at least two digits (`+05`, `-07`).
pub(super) fn exponent_text(exponent: &str) -> String {
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent.trim_start_matches('+')),
    };
    format!("{sign}{digits:0>2}")
}

/// `str.isprintable()` of one character.
pub(super) fn is_printable(c: char) -> bool {
    !NON_PRINTABLE.contains(c)
}

/// The regular expression class `\w`.
pub(super) fn is_word(c: char) -> bool {
    WORD.contains(c)
}

/// The regular expression class `\d` (`str.isdecimal()`).
pub(super) fn is_decimal(c: char) -> bool {
    DECIMAL.contains(c)
}

/// `str.isspace()`: Unicode white space and the information separators
/// U+001C..U+001F, which Python counts and Rust does not.
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.splitlines()`: the line boundaries Python knows, `\r\n` as one.
pub(super) fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let boundary = matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !boundary {
            continue;
        }
        lines.push(&text[start..at]);
        let mut end = at + c.len_utf8();
        if c == '\r' {
            if let Some(&(next_at, '\n')) = chars.peek() {
                chars.next();
                end = next_at + 1;
            }
        }
        start = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Python's truth value of a template value.
pub(super) fn truthy(value: &Value) -> bool {
    match value.kind() {
        ValueKind::Map | ValueKind::Seq | ValueKind::Iterable => value
            .len()
            .map(|len| len > 0)
            .unwrap_or_else(|| value.is_true()),
        _ => value.is_true(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_json_value_is_the_ordered_document_made_a_template_value() {
        use crate::model::addon::KeyOrder;
        use serde_json::json;
        let value = json!({
            "b": {"y": 1, "x": [{"q": -2, "p": 1.5}, {"s": null, "r": true}, {"u": "v"}]},
            "a": "a string longer than a small string holds",
            "unknown": {"k2": 1, "k1": 2},
            "n": [18446744073709551615u64, -9223372036854775808i64, 0.1],
            "c": [],
            "d": {},
        });
        let models = [
            json!({"a": 0, "b": {"x": [{"p": 0, "q": 0}, {"r": 0}], "y": 0}, "gone": 0, "n": 0}),
            json!({"b": [1, 2], "a": {"x": 0}}),
            json!("not a mapping"),
            json!({}),
        ];
        for model in &models {
            let expected = serde_value(KeyOrder::of(model.clone()).apply(value.clone()));
            let got = ordered_json_value(&value, Some(model));
            assert_eq!(format!("{got:?}"), format!("{expected:?}"), "model {model}");
            assert_eq!(got, expected, "model {model}");
        }
        let plain = ordered_json_value(&value, None);
        assert_eq!(format!("{plain:?}"), format!("{:?}", serde_value(&value)));
    }

    #[test]
    fn repr_escapes_what_python_calls_non_printable() {
        // CPython: repr('a\xa0b\u200b\U000e0001\x7f') == "'a\\xa0b\\u200b\\U000e0001\\x7f'".
        assert_eq!(
            python_repr_str("a\u{a0}b\u{200b}\u{e0001}\u{7f}"),
            "'a\\xa0b\\u200b\\U000e0001\\x7f'"
        );
        // Printable non-ASCII stays: repr('é€') == "'é€'"; ascii() escapes it.
        assert_eq!(python_repr_str("é€"), "'é€'");
        assert_eq!(python_ascii(&Value::from("é€")), "'\\xe9\\u20ac'");
        // repr("it's") uses double quotes; with both quotes, single ones
        // and the single quote escaped.
        assert_eq!(python_repr_str("it's"), "\"it's\"");
        assert_eq!(python_repr_str("'\""), "'\\'\"'");
    }

    #[test]
    fn floats_print_as_python_prints_them() {
        // repr(1.0), repr(1e16), repr(1.5e-05), repr(0.0001), repr(123456789.0)
        assert_eq!(float_repr(1.0), "1.0");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-5), "1.5e-05");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(float_repr(123456789.0), "123456789.0");
        assert_eq!(float_repr(-0.0), "-0.0");
    }

    #[test]
    fn tuples_print_with_parentheses_and_a_lone_comma() {
        let one = Value::from_object(Tuple::from([Value::from("a")]));
        let two = Value::from_object(Tuple::from([Value::from("k"), Value::from(1)]));
        assert_eq!(python_repr(&one), "('a',)");
        assert_eq!(python_repr(&two), "('k', 1)");
        assert_eq!(python_repr(&Value::from(vec![two.clone()])), "[('k', 1)]");
    }

    #[test]
    fn character_classes_follow_python_3_9() {
        assert!(is_word('é') && is_word('_') && is_word('٣') && !is_word('-'));
        // U+0345 is a combining mark: Alphabetic for Rust, not \w for Python.
        assert!('\u{345}'.is_alphabetic() && !is_word('\u{345}'));
        assert!(is_decimal('٣') && !is_decimal('½'));
        assert!(is_space('\u{1c}') && is_space('\u{a0}') && !is_space('x'));
        assert_eq!(split_lines("a\r\nb\rc\u{2028}d\n"), ["a", "b", "c", "d"]);
        assert_eq!(split_lines("a\n\nb"), ["a", "", "b"]);
    }
}
