//! The filters, tests and globals of mtcli's Jinja2 environment (Jinja2
//! 3.1's built-ins plus mtcli's `merge_dicts`), where minijinja's own differ
//! or are missing: `int`, `float`, `tojson`, `pprint`, `urlencode`,
//! `center`, `truncate`, `wordcount`, `filesizeformat`, `striptags`,
//! `wordwrap`, `indent`, `format`, `join`, `string`, `title`, `range`, and
//! the functions the rewritten `%` and `~` operators call. minijinja's
//! additions that Jinja2 lacks (`bool`, `split`, `lines`, `chain`, `zip`,
//! the `safe`/`int`/`startingwith`/`endingwith` tests, `debug()`) are
//! removed, so a template that works here works in mtcli.

use minijinja::value::{Kwargs, Rest, Tuple, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::objects::{ChainMap, DictView, GroupTuple, PyRange};
use super::percent::{percent_format, type_name};
use super::python::{
    float_repr, python_repr, python_str, python_str_in, split_lines, truthy, type_error,
    value_error,
};
use super::source::{CONCAT_FUNCTION, PERCENT_FUNCTION};
use super::text;
use crate::text::escape::{escape_with, markup_entity};

/// Puts Jinja2's filters, tests and globals into `env`.
pub(super) fn install(env: &mut Environment<'_>) {
    for name in ["bool", "split", "lines", "chain", "zip"] {
        env.remove_filter(name);
    }
    for name in ["safe", "int", "startingwith", "endingwith"] {
        env.remove_test(name);
    }
    env.remove_global("debug");
    env.add_filter("int", int);
    env.add_filter("float", float);
    env.add_filter("tojson", tojson);
    env.add_filter("pprint", pprint);
    env.add_filter("urlencode", urlencode);
    env.add_filter("center", center);
    env.add_filter("truncate", truncate);
    env.add_filter("wordcount", wordcount);
    env.add_filter("filesizeformat", filesizeformat);
    env.add_filter("striptags", striptags);
    env.add_filter("wordwrap", wordwrap);
    env.add_filter("indent", indent);
    env.add_filter("format", format);
    env.add_filter("join", join);
    env.add_filter("string", string);
    env.add_filter("title", title);
    env.add_filter("merge_dicts", merge_dicts);
    env.add_filter("groupby", groupby);
    env.add_filter("escape", escape);
    env.add_filter("e", escape);
    env.add_filter("forceescape", forceescape);
    env.add_filter("xmlattr", xmlattr);
    env.add_function("range", range);
    env.add_function("cycler", cycler);
    env.add_function("joiner", minijinja_contrib::globals::joiner);
    env.add_function(PERCENT_FUNCTION, percent);
    env.add_function(CONCAT_FUNCTION, concat);
}

/// A filter's arguments bound to its Python parameters, by position or
/// name, as Python binds a call.
fn bind<const N: usize>(
    filter: &str,
    positional: &[Value],
    kwargs: &Kwargs,
    names: [&str; N],
) -> Result<[Option<Value>; N], Error> {
    if positional.len() > N {
        return Err(type_error(format!(
            "{filter}() takes at most {} arguments after the value ({} given)",
            N,
            positional.len()
        )));
    }
    let mut bound: [Option<Value>; N] = std::array::from_fn(|i| positional.get(i).cloned());
    for (i, name) in names.iter().enumerate() {
        if let Some(value) = kwargs.get::<Option<Value>>(name)? {
            if bound[i].is_some() {
                return Err(type_error(format!(
                    "{filter}() got multiple values for argument '{name}'"
                )));
            }
            bound[i] = Some(value);
        }
    }
    if let Some(unknown) = kwargs.args().find(|arg| !names.contains(arg)) {
        return Err(type_error(format!(
            "{filter}() got an unexpected keyword argument '{unknown}'"
        )));
    }
    Ok(bound)
}

/// Charges fuel for text about to be made, before it is made.
fn charge(state: &State, bytes: usize) -> Result<(), Error> {
    state.consume_fuel((bytes / 64) as u64)
}

fn integer_arg(value: Option<&Value>, default: i128, what: &str) -> Result<i128, Error> {
    match value {
        None => Ok(default),
        Some(value) if value.kind() == ValueKind::Bool => Ok(i128::from(value.is_true())),
        Some(value) if value.kind() == ValueKind::Number && value.is_integer() => {
            i128::try_from(value.clone()).map_err(|_| value_error(format!("{what} is too large")))
        }
        Some(value) => Err(type_error(format!(
            "{what} must be an integer, not {}",
            type_name(value)
        ))),
    }
}

fn usize_arg(value: Option<&Value>, default: usize, what: &str) -> Result<usize, Error> {
    let number = integer_arg(value, default as i128, what)?;
    Ok(usize::try_from(number.max(0)).unwrap_or(usize::MAX))
}

fn string_arg(value: &Value, filter: &str) -> Result<String, Error> {
    value.as_str().map(str::to_string).ok_or_else(|| {
        type_error(format!(
            "{filter} expects a string, not {}",
            type_name(value)
        ))
    })
}

/// Jinja2's `int(value, default=0, base=10)`: `int(value)`, else
/// `int(float(value))`, else the default (`'abc' | int` is 0).
fn int(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [default, base] = bind("int", &args, &kwargs, ["default", "base"])?;
    let default = default.unwrap_or(Value::from(0));
    let base = integer_arg(base.as_ref(), 10, "base")?;
    match value.kind() {
        ValueKind::Undefined => Err(super::python::undefined_error()),
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            let base = u32::try_from(base)
                .map_err(|_| value_error("int() base must be >= 2 and <= 36, or 0"))?;
            if let Some(number) = text::python_int(text, base) {
                return Ok(Value::from(number));
            }
            Ok(match text::python_float(text).filter(|f| f.is_finite()) {
                Some(number) => float_to_int(number)?,
                None => default,
            })
        }
        ValueKind::Bool => Ok(Value::from(i64::from(value.is_true()))),
        ValueKind::Number if value.is_integer() => Ok(value),
        ValueKind::Number => {
            let number = f64::try_from(value).unwrap_or(f64::NAN);
            if number.is_infinite() {
                // int(inf) raises OverflowError, which do_int's first
                // `except (TypeError, ValueError)` does not catch.
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "OverflowError: cannot convert float infinity to integer",
                ));
            }
            if number.is_nan() {
                return Ok(default);
            }
            float_to_int(number)
        }
        _ => Ok(default),
    }
}

fn float_to_int(number: f64) -> Result<Value, Error> {
    let truncated = number.trunc();
    if truncated.abs() < 1.7e38 {
        Ok(Value::from(truncated as i128))
    } else {
        Err(value_error(
            "the integer is too large for addon-flow's Jinja (128 bits)",
        ))
    }
}

/// Jinja2's `float(value, default=0.0)`.
fn float(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [default] = bind("float", &args, &kwargs, ["default"])?;
    let default = default.unwrap_or(Value::from(0.0));
    Ok(match value.kind() {
        ValueKind::Undefined => return Err(super::python::undefined_error()),
        ValueKind::String => match text::python_float(value.as_str().unwrap_or_default()) {
            Some(number) => Value::from(number),
            None => default,
        },
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => Value::from(f64::try_from(value).unwrap_or(f64::NAN)),
        _ => default,
    })
}

/// Jinja2's `tojson`: `json.dumps(value, sort_keys=True)`, then `<`, `>`,
/// `&` and `'` as `\u003c`, `\u003e`, `\u0026`, `\u0027`.
fn tojson(state: &State, value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [indent] = bind("tojson", &args, &kwargs, ["indent"])?;
    let indent = match indent {
        None => None,
        Some(value) if value.is_none() => None,
        Some(value) if value.kind() == ValueKind::String => {
            Some(value.as_str().unwrap_or_default().to_string())
        }
        Some(value) => {
            let width = usize_arg(Some(&value), 0, "indent")?;
            charge(state, width)?;
            Some(" ".repeat(width))
        }
    };
    let mut out = String::new();
    json_dumps(state, &value, indent.as_deref(), 0, &mut out)?;
    let safe = out
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027");
    Ok(Value::from_safe_string(safe))
}

fn json_dumps(
    state: &State,
    value: &Value,
    indent: Option<&str>,
    level: usize,
    out: &mut String,
) -> Result<(), Error> {
    charge(state, out.len() / 16)?;
    let newline = |out: &mut String, level: usize| {
        if let Some(indent) = indent {
            out.push('\n');
            out.push_str(&indent.repeat(level));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    match value.kind() {
        ValueKind::Undefined => return Err(super::python::undefined_error()),
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number if value.is_integer() => out.push_str(&value.to_string()),
        ValueKind::Number => out.push_str(&json_float(
            f64::try_from(value.clone()).unwrap_or(f64::NAN),
        )),
        ValueKind::String => json_string(value.as_str().unwrap_or_default(), out),
        ValueKind::Map if value.downcast_object_ref::<ChainMap>().is_none() => {
            let mut pairs: Vec<(String, Value)> = Vec::new();
            for key in value.try_iter()? {
                let name = match key.kind() {
                    ValueKind::String => key.as_str().unwrap_or_default().to_string(),
                    ValueKind::None => "null".into(),
                    ValueKind::Bool => if key.is_true() { "true" } else { "false" }.into(),
                    ValueKind::Number if key.is_integer() => key.to_string(),
                    ValueKind::Number => json_float(f64::try_from(key.clone()).unwrap_or(f64::NAN)),
                    _ => {
                        return Err(type_error(format!(
                            "keys must be str, int, float, bool or None, not {}",
                            type_name(&key)
                        )))
                    }
                };
                pairs.push((name, value.get_item(&key)?));
            }
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            if pairs.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (name, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, level + 1);
                json_string(name, out);
                out.push_str(": ");
                json_dumps(state, item, indent, level + 1, out)?;
            }
            newline(out, level);
            out.push('}');
        }
        ValueKind::Seq
            if value.downcast_object_ref::<PyRange>().is_none()
                && value.downcast_object_ref::<DictView>().is_none() =>
        {
            let items: Vec<Value> = value.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, level + 1);
                json_dumps(state, item, indent, level + 1, out)?;
            }
            newline(out, level);
            out.push(']');
        }
        _ => {
            return Err(type_error(format!(
                "Object of type {} is not JSON serializable",
                type_name(value)
            )))
        }
    }
    Ok(())
}

fn json_float(number: f64) -> String {
    if number.is_nan() {
        "NaN".into()
    } else if number.is_infinite() {
        if number > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .into()
    } else {
        float_repr(number)
    }
}

/// A JSON string as `json.dumps` writes it with `ensure_ascii`.
fn json_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Jinja2's `pprint`: `pprint.pformat(value)`, whose output is `repr()`
/// with mapping keys sorted when it fits 80 columns. A longer container or
/// string, which pformat breaks over lines, is refused rather than
/// printed differently.
fn pprint(value: Value) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(super::python::undefined_error());
    }
    let text = sorted_repr(&value);
    let wraps = matches!(value.kind(), ValueKind::String | ValueKind::Map)
        || (value.kind() == ValueKind::Seq && value.downcast_object_ref::<PyRange>().is_none());
    if text.chars().count() > 80 && wraps {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "pprint of a value longer than 80 characters, which Python's pprint breaks over \
             lines, is not supported (use tojson or a loop)",
        ));
    }
    Ok(Value::from(text))
}

/// `pprint`'s `_safe_repr`: `repr()`, with dict keys in sorted order.
fn sorted_repr(value: &Value) -> String {
    if value.kind() == ValueKind::Map && value.downcast_object_ref::<ChainMap>().is_none() {
        let mut keys: Vec<Value> = value.try_iter().into_iter().flatten().collect();
        keys.sort();
        let pairs: Vec<String> = keys
            .iter()
            .map(|key| {
                let item = value.get_item(key).unwrap_or_default();
                format!("{}: {}", sorted_repr(key), sorted_repr(&item))
            })
            .collect();
        return format!("{{{}}}", pairs.join(", "));
    }
    if value.kind() == ValueKind::Seq
        && value.downcast_object_ref::<PyRange>().is_none()
        && value.downcast_object_ref::<DictView>().is_none()
    {
        let items: Vec<String> = value
            .try_iter()
            .into_iter()
            .flatten()
            .map(|v| sorted_repr(&v))
            .collect();
        return if value.downcast_object_ref::<Tuple>().is_some() {
            if items.len() == 1 {
                format!("({},)", items[0])
            } else {
                format!("({})", items.join(", "))
            }
        } else {
            format!("[{}]", items.join(", "))
        };
    }
    python_repr(value)
}

/// Jinja2's `urlencode`: a string (or any non-iterable) quoted with `/`
/// kept; a mapping or a sequence of pairs as a query string.
fn urlencode(value: Value) -> Result<Value, Error> {
    let iterable = matches!(
        value.kind(),
        ValueKind::Map | ValueKind::Seq | ValueKind::Iterable
    );
    if !iterable {
        return Ok(Value::from(text::url_quote(&python_str(&value)?, "/")));
    }
    let query = |v: &Value| -> Result<String, Error> {
        Ok(text::url_quote(&python_str(v)?, "").replace("%20", "+"))
    };
    let mut parts = Vec::new();
    if value.kind() == ValueKind::Map {
        for key in value.try_iter()? {
            let item = value.get_item(&key)?;
            parts.push(format!("{}={}", query(&key)?, query(&item)?));
        }
    } else {
        for pair in value.try_iter()? {
            let items: Vec<Value> = pair.try_iter()?.collect();
            let [key, item] = items.as_slice() else {
                return Err(value_error(format!(
                    "too many values to unpack (expected 2, got {})",
                    items.len()
                )));
            };
            parts.push(format!("{}={}", query(key)?, query(item)?));
        }
    }
    Ok(Value::from(parts.join("&")))
}

/// Jinja2's `center(width=80)`: `str(value).center(width)`.
fn center(state: &State, value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [width] = bind("center", &args, &kwargs, ["width"])?;
    let width = usize_arg(width.as_ref(), 80, "width")?;
    charge(state, width)?;
    Ok(Value::from(text::center(&python_str(&value)?, width, ' ')))
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [length, killwords, end, leeway] = bind(
        "truncate",
        &args,
        &kwargs,
        ["length", "killwords", "end", "leeway"],
    )?;
    let text = string_arg(&value, "truncate")?;
    let length = integer_arg(length.as_ref(), 255, "length")?;
    let killwords = killwords.as_ref().is_some_and(truthy);
    let end = match &end {
        Some(end) => string_arg(end, "truncate's end")?,
        None => "...".to_string(),
    };
    let leeway = integer_arg(leeway.as_ref(), 5, "leeway")?;
    let end_len = end.chars().count() as i128;
    if length < end_len {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("AssertionError: expected length >= {end_len}, got {length}"),
        ));
    }
    if leeway < 0 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("AssertionError: expected leeway >= 0, got {leeway}"),
        ));
    }
    let chars: Vec<char> = text.chars().collect();
    if chars.len() as i128 <= length + leeway {
        return Ok(value);
    }
    let head: String = chars[..(length - end_len) as usize].iter().collect();
    let kept = if killwords {
        head
    } else {
        head.rsplit_once(' ')
            .map_or(head.clone(), |(before, _)| before.to_string())
    };
    Ok(Value::from(format!("{kept}{end}")))
}

/// Jinja2's `wordcount`: the runs of `\w` in `str(value)`.
fn wordcount(value: Value) -> Result<Value, Error> {
    Ok(Value::from(text::word_count(&python_str(&value)?)))
}

/// Jinja2's `filesizeformat(binary=False)`.
fn filesizeformat(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [binary] = bind("filesizeformat", &args, &kwargs, ["binary"])?;
    let binary = binary.as_ref().is_some_and(truthy);
    let bytes = match value.kind() {
        ValueKind::String => {
            text::python_float(value.as_str().unwrap_or_default()).ok_or_else(|| {
                value_error(format!(
                    "could not convert string to float: {}",
                    python_repr(&value)
                ))
            })?
        }
        ValueKind::Bool => f64::from(u8::from(value.is_true())),
        ValueKind::Number => f64::try_from(value.clone()).unwrap_or(f64::NAN),
        _ => {
            return Err(type_error(format!(
                "float() argument must be a string or a number, not '{}'",
                type_name(&value)
            )))
        }
    };
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let prefixes: [&str; 8] = if binary {
        ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    } else {
        ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    };
    if bytes == 1.0 {
        return Ok(Value::from("1 Byte"));
    }
    if bytes < base {
        if !bytes.is_finite() {
            return Err(value_error("cannot convert float NaN to integer"));
        }
        return Ok(Value::from(format!("{} Bytes", bytes.trunc() as i128)));
    }
    let mut unit = base;
    for (i, prefix) in prefixes.iter().enumerate() {
        unit = base.powi(i as i32 + 2);
        if bytes < unit {
            return Ok(Value::from(format!("{:.1} {prefix}", base * bytes / unit)));
        }
    }
    Ok(Value::from(format!(
        "{:.1} {}",
        base * bytes / unit,
        prefixes[7]
    )))
}

/// Jinja2's `striptags`: `Markup(str(value)).striptags()`.
fn striptags(value: Value) -> Result<Value, Error> {
    Ok(Value::from(text::strip_tags(&python_str(&value)?)))
}

/// Jinja2's `wordwrap(width=79, break_long_words=True, wrapstring=None,
/// break_on_hyphens=True)`.
fn wordwrap(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [width, break_long_words, wrapstring, break_on_hyphens] = bind(
        "wordwrap",
        &args,
        &kwargs,
        [
            "width",
            "break_long_words",
            "wrapstring",
            "break_on_hyphens",
        ],
    )?;
    let text = string_arg(&value, "wordwrap")?;
    let width = integer_arg(width.as_ref(), 79, "width")?;
    if width <= 0 {
        return Err(value_error(format!("invalid width {width} (must be > 0)")));
    }
    let wrapstring = match &wrapstring {
        Some(w) if !w.is_none() => string_arg(w, "wordwrap's wrapstring")?,
        _ => "\n".to_string(),
    };
    Ok(Value::from(text::word_wrap(
        &text,
        usize::try_from(width).unwrap_or(usize::MAX),
        break_long_words.as_ref().is_none_or(truthy),
        &wrapstring,
        break_on_hyphens.as_ref().is_none_or(truthy),
    )))
}

/// Jinja2's `indent(width=4, first=False, blank=False)`, on Python's line
/// boundaries (`str.splitlines`), which mtcli's `- {{ ... | indent(2) }}`
/// applies to every extra resource.
fn indent(state: &State, value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [width, first, blank] = bind("indent", &args, &kwargs, ["width", "first", "blank"])?;
    let text = string_arg(&value, "indent")?;
    let indention = match &width {
        Some(w) if w.kind() == ValueKind::String => w.as_str().unwrap_or_default().to_string(),
        other => {
            let width = usize_arg(other.as_ref(), 4, "width")?;
            charge(state, width.saturating_mul(split_lines(&text).len() + 1))?;
            " ".repeat(width)
        }
    };
    Ok(Value::from(indent_text(
        &text,
        &indention,
        first.as_ref().is_some_and(truthy),
        blank.as_ref().is_some_and(truthy),
    )))
}

/// The text of Jinja2's `do_indent`: the text plus a newline split with
/// `splitlines`, lines after the first indented (blank ones only with
/// `blank`), joined with `\n`.
pub(super) fn indent_text(text: &str, indention: &str, first: bool, blank: bool) -> String {
    let with_newline = format!("{text}\n");
    let lines = split_lines(&with_newline);
    let mut out = if blank {
        lines.join(&format!("\n{indention}"))
    } else {
        let mut out = lines.first().copied().unwrap_or_default().to_string();
        for line in lines.iter().skip(1) {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(indention);
            }
            out.push_str(line);
        }
        out
    };
    if first {
        out.insert_str(0, indention);
    }
    out
}

/// Jinja2's `format`: `str(value) % (kwargs or args)`.
fn format(state: &State, value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let names: Vec<&str> = kwargs.args().collect();
    if !args.is_empty() && !names.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "FilterArgumentError: can't handle positional and keyword arguments at the same time",
        ));
    }
    let operand = if names.is_empty() {
        Value::from_object(Tuple::from(args.0))
    } else {
        let mut pairs = std::collections::BTreeMap::new();
        for name in names {
            pairs.insert(name.to_string(), kwargs.get::<Value>(name)?);
        }
        Value::from(pairs)
    };
    Ok(Value::from(percent_format(
        state,
        &python_str(&value)?,
        &operand,
    )?))
}

/// Jinja2's `join(d='', attribute=None)`: `str()` of each item.
fn join(
    state: &mut State,
    value: Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let [separator, attribute] = bind("join", &args, &kwargs, ["d", "attribute"])?;
    let separator = match &separator {
        Some(s) => python_str(s)?,
        None => String::new(),
    };
    let mut parts = Vec::new();
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(attribute) => state.apply_filter("attr", &[item, attribute.clone()])?,
            None => item,
        };
        parts.push(python_str(&item)?);
    }
    charge(state, parts.iter().map(String::len).sum::<usize>())?;
    Ok(Value::from(parts.join(&separator)))
}

/// Jinja2's `string`: `str(value)`.
fn string(value: Value) -> Result<Value, Error> {
    if value.kind() == ValueKind::String {
        return Ok(value);
    }
    Ok(Value::from(python_str(&value)?))
}

/// Jinja2's `title`: the text split at runs of `-`, white space, `(`, `{`,
/// `[` and `<`, each piece with its first character upper case and the
/// rest lower case.
fn title(value: Value) -> Result<Value, Error> {
    let text = python_str(&value)?;
    let separator = |c: char| matches!(c, '-' | '(' | '{' | '[' | '<') || c.is_whitespace();
    let mut out = String::with_capacity(text.len());
    let mut piece = String::new();
    let flush = |piece: &mut String, out: &mut String| {
        let mut chars = piece.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
        piece.clear();
    };
    let mut in_separator = false;
    for c in text.chars() {
        if separator(c) != in_separator {
            flush(&mut piece, &mut out);
            in_separator = separator(c);
        }
        piece.push(c);
    }
    flush(&mut piece, &mut out);
    Ok(Value::from(out))
}

/// Jinja2's `groupby(attribute, default=None, case_sensitive=False)`: the
/// items sorted by the attribute (a dotted path; strings compared in lower
/// case unless `case_sensitive`), grouped, each group a `(grouper, list)`
/// tuple whose grouper is its first item's attribute.
fn groupby(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [attribute, default, case_sensitive] = bind(
        "groupby",
        &args,
        &kwargs,
        ["attribute", "default", "case_sensitive"],
    )?;
    let attribute = attribute
        .ok_or_else(|| type_error("groupby() missing 1 required argument: 'attribute'"))?;
    let case_sensitive = case_sensitive.as_ref().is_some_and(truthy);
    let lookup = |item: &Value| -> Result<Value, Error> {
        let mut current = item.clone();
        let path = python_str(&attribute)?;
        for part in path.split('.') {
            let key = part
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(part));
            current = current.get_item(&key).unwrap_or_default();
        }
        match (&default, current.is_undefined()) {
            (Some(default), true) if !default.is_none() => Ok(default.clone()),
            (_, true) => Err(super::python::undefined_error()),
            _ => Ok(current),
        }
    };
    let sort_key = |key: Value| match key.as_str() {
        Some(text) if !case_sensitive => Value::from(text.to_lowercase()),
        _ => key,
    };
    let mut keyed: Vec<(Value, Value)> = Vec::new();
    for item in value.try_iter()? {
        keyed.push((sort_key(lookup(&item)?), item));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
    for (key, item) in keyed {
        match groups.last_mut() {
            Some((last, items)) if *last == key => items.push(item),
            _ => groups.push((key, vec![item])),
        }
    }
    let tuples = groups
        .into_iter()
        .map(|(_, items)| {
            let grouper = lookup(&items[0])?;
            Ok(Value::from_object(GroupTuple {
                grouper,
                list: Value::from(items),
            }))
        })
        .collect::<Result<Vec<Value>, Error>>()?;
    Ok(Value::from(tuples))
}

/// MarkupSafe's `escape` of text: `&`, `<`, `>`, `"` and `'` as entities.
fn html_escape(text: &str) -> String {
    escape_with(text, |c| match c {
        '&' | '<' | '>' => markup_entity(c),
        '"' => Some("&#34;"),
        '\'' => Some("&#39;"),
        _ => None,
    })
}

/// Jinja2's `escape`/`e`: MarkupSafe's `escape(value)`, which leaves text
/// that is already markup alone.
fn escape(value: Value) -> Result<Value, Error> {
    if value.is_safe() {
        return Ok(value);
    }
    Ok(Value::from_safe_string(html_escape(&python_str(&value)?)))
}

/// Jinja2's `forceescape`: `escape(str(value))`, markup or not.
fn forceescape(value: Value) -> Result<Value, Error> {
    Ok(Value::from_safe_string(html_escape(&python_str(&value)?)))
}

/// Jinja2's `xmlattr(autospace=True)`: ` key="value"` for each item whose
/// value is not None or undefined, both escaped.
fn xmlattr(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [autospace] = bind("xmlattr", &args, &kwargs, ["autospace"])?;
    let mut items = Vec::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        if item.is_none() || item.is_undefined() {
            continue;
        }
        let name = python_str(&key)?;
        if name
            .chars()
            .any(|c| c.is_ascii_whitespace() || matches!(c, '/' | '>' | '=' | '\u{b}'))
        {
            return Err(value_error(format!(
                "Invalid character in attribute name: {}",
                python_repr(&key)
            )));
        }
        items.push(format!(
            "{}=\"{}\"",
            html_escape(&name),
            html_escape(&python_str(&item)?)
        ));
    }
    let mut out = items.join(" ");
    if autospace.as_ref().is_none_or(truthy) && !out.is_empty() {
        out.insert(0, ' ');
    }
    Ok(Value::from(out))
}

/// Jinja2's `cycler(*items)`: `next()` gives the current item and moves on,
/// `current` is the current one, `reset()` starts again.
fn cycler(items: Rest<Value>) -> Result<Value, Error> {
    if items.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "RuntimeError: at least one item has to be provided",
        ));
    }
    Ok(Value::from_object(super::objects::Cycler::new(items.0)))
}

/// mtcli's `merge_dicts` filter: `ChainMap(d1, d2)`.
fn merge_dicts(first: Value, second: Value) -> Result<Value, Error> {
    for value in [&first, &second] {
        if value.kind() != ValueKind::Map {
            return Err(type_error(format!(
                "merge_dicts takes two mappings, not {}",
                type_name(value)
            )));
        }
    }
    Ok(Value::from_object(ChainMap { first, second }))
}

/// Python's `range(stop)` / `range(start, stop[, step])`.
fn range(args: Rest<Value>) -> Result<Value, Error> {
    let numbers: Vec<i128> = args
        .iter()
        .map(|v| integer_arg(Some(v), 0, "range() argument"))
        .collect::<Result<_, _>>()?;
    let (start, stop, step) = match numbers.as_slice() {
        [stop] => (0, *stop, 1),
        [start, stop] => (*start, *stop, 1),
        [start, stop, step] => (*start, *stop, *step),
        _ => {
            return Err(type_error(format!(
                "range expected 1 to 3 arguments, got {}",
                numbers.len()
            )))
        }
    };
    if step == 0 {
        return Err(value_error("range() arg 3 must not be zero"));
    }
    Ok(Value::from_object(PyRange { start, stop, step }))
}

/// `left % right` as Python computes it: printf formatting for a string,
/// the remainder with the divisor's sign for numbers.
fn percent(state: &State, left: Value, right: Value) -> Result<Value, Error> {
    if left.kind() == ValueKind::String {
        return Ok(Value::from(percent_format(
            state,
            left.as_str().unwrap_or_default(),
            &right,
        )?));
    }
    let number = |v: &Value| matches!(v.kind(), ValueKind::Number | ValueKind::Bool);
    if left.is_undefined() || right.is_undefined() {
        return Err(super::python::undefined_error());
    }
    if !number(&left) || !number(&right) {
        return Err(type_error(format!(
            "unsupported operand type(s) for %: '{}' and '{}'",
            type_name(&left),
            type_name(&right)
        )));
    }
    let as_int = |v: &Value| -> Option<i128> {
        if v.kind() == ValueKind::Bool {
            Some(i128::from(v.is_true()))
        } else if v.is_integer() {
            i128::try_from(v.clone()).ok()
        } else {
            None
        }
    };
    let zero_division = || {
        Error::new(
            ErrorKind::InvalidOperation,
            "ZeroDivisionError: integer division or modulo by zero",
        )
    };
    if let (Some(a), Some(b)) = (as_int(&left), as_int(&right)) {
        if b == 0 {
            return Err(zero_division());
        }
        return Ok(Value::from(
            a.rem_euclid(b) + if b < 0 && a.rem_euclid(b) != 0 { b } else { 0 },
        ));
    }
    let a = f64::try_from(left).unwrap_or(f64::NAN);
    let b = f64::try_from(right).unwrap_or(f64::NAN);
    if b == 0.0 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "ZeroDivisionError: float modulo",
        ));
    }
    let mut r = a % b;
    if r != 0.0 && (r < 0.0) != (b < 0.0) {
        r += b;
    } else if r == 0.0 {
        r = 0.0f64.copysign(b);
    }
    Ok(Value::from(r))
}

/// `a ~ b ~ c` as Jinja2 computes it: `str()` of each, joined.
fn concat(state: &mut State, parts: Rest<Value>) -> Result<Value, Error> {
    let mut texts = Vec::with_capacity(parts.len());
    for part in parts.iter() {
        texts.push(python_str_in(state, part)?);
    }
    charge(state, texts.iter().map(String::len).sum())?;
    Ok(Value::from(texts.concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indent_follows_python_line_boundaries() {
        // do_indent("a\nb\n\nc", 2) == "a\n  b\n\n  c"; first=True indents "a" too.
        assert_eq!(
            indent_text("a\nb\n\nc", "  ", false, false),
            "a\n  b\n\n  c"
        );
        assert_eq!(indent_text("a\nb", "  ", true, false), "  a\n  b");
        assert_eq!(indent_text("a\n\nb", "  ", false, true), "a\n  \n  b");
        // A trailing newline stays; \r\n and U+2028 are line boundaries.
        assert_eq!(indent_text("a\n", "  ", false, false), "a\n");
        assert_eq!(
            indent_text("a\r\nb\u{2028}c", "  ", false, false),
            "a\n  b\n  c"
        );
    }
}
