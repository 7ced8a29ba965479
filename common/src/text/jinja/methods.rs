//! Python methods of strings and mappings that Jinja2 templates call
//! (`name.rsplit('-', 1)`, `'5'.zfill(3)`, `labels.items()`): the ones
//! whose Python behaviour minijinja-contrib's `pycompat` lacks or differs
//! from are here; the rest go to `pycompat`.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

use super::objects::{DictView, ViewKind};
use super::python::{is_space, split_lines, type_error};
use super::text;

/// minijinja's unknown-method callback: Python's methods on template values.
pub(super) fn call(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::String => {
            if let Some(result) =
                string_method(state, value.as_str().unwrap_or_default(), method, args)
            {
                return result;
            }
        }
        ValueKind::Map => {
            if let Some(result) = mapping_method(value, method, args) {
                return result;
            }
        }
        _ => {}
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

fn text_arg<'a>(args: &'a [Value], at: usize, method: &str) -> Result<Option<&'a str>, Error> {
    match args.get(at) {
        None => Ok(None),
        Some(value) if value.is_none() => Ok(None),
        Some(value) => value.as_str().map(Some).ok_or_else(|| {
            type_error(format!(
                "{method}() argument must be str or None, not {}",
                value.kind()
            ))
        }),
    }
}

fn count_arg(args: &[Value], at: usize, method: &str) -> Result<Option<i128>, Error> {
    match args.get(at) {
        None => Ok(None),
        Some(value) if value.kind() == ValueKind::Number && value.is_integer() => {
            Ok(i128::try_from(value.clone()).ok())
        }
        Some(value) => Err(type_error(format!(
            "'{}' object cannot be interpreted as an integer ({method})",
            value.kind()
        ))),
    }
}

fn at_most(args: &[Value], n: usize, method: &str) -> Result<(), Error> {
    if args.len() > n {
        return Err(type_error(format!(
            "{method}() takes at most {n} arguments ({} given)",
            args.len()
        )));
    }
    Ok(())
}

fn string_method(
    state: &State,
    s: &str,
    method: &str,
    args: &[Value],
) -> Option<Result<Value, Error>> {
    let result = (|| -> Result<Value, Error> {
        match method {
            "split" | "rsplit" => {
                at_most(args, 2, method)?;
                let sep = text_arg(args, 0, method)?;
                if sep == Some("") {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "ValueError: empty separator",
                    ));
                }
                let maxsplit = count_arg(args, 1, method)?
                    .filter(|&n| n >= 0)
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
                Ok(Value::from(text::split(
                    s,
                    sep,
                    maxsplit,
                    method == "rsplit",
                )))
            }
            "splitlines" => {
                at_most(args, 1, method)?;
                let keepends = args.first().is_some_and(Value::is_true);
                if keepends {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "str.splitlines(keepends=True) is not supported by addon-flow's Jinja",
                    ));
                }
                Ok(Value::from(
                    split_lines(s)
                        .into_iter()
                        .map(String::from)
                        .collect::<Vec<_>>(),
                ))
            }
            "strip" | "lstrip" | "rstrip" => {
                at_most(args, 1, method)?;
                let chars = text_arg(args, 0, method)?;
                let strip = |c: char| match chars {
                    Some(set) => set.contains(c),
                    None => is_space(c),
                };
                Ok(Value::from(match method {
                    "strip" => s.trim_matches(strip),
                    "lstrip" => s.trim_start_matches(strip),
                    _ => s.trim_end_matches(strip),
                }))
            }
            "zfill" | "center" | "ljust" | "rjust" => {
                at_most(args, if method == "zfill" { 1 } else { 2 }, method)?;
                let width = count_arg(args, 0, method)?.ok_or_else(|| {
                    type_error(format!("{method}() takes at least 1 argument (0 given)"))
                })?;
                let width = usize::try_from(width.max(0)).unwrap_or(usize::MAX);
                state.consume_fuel((width / 64) as u64)?;
                let fill = match text_arg(args, 1, method)? {
                    None => ' ',
                    Some(fill) if fill.chars().count() == 1 => fill.chars().next().unwrap_or(' '),
                    Some(_) => {
                        return Err(type_error(
                            "The fill character must be exactly one character long",
                        ))
                    }
                };
                let len = s.chars().count();
                let pad = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
                Ok(Value::from(match method {
                    "zfill" => text::zfill(s, width),
                    "center" => text::center(s, width, fill),
                    "ljust" => format!("{s}{}", pad(width.saturating_sub(len))),
                    _ => format!("{}{s}", pad(width.saturating_sub(len))),
                }))
            }
            "partition" | "rpartition" => {
                at_most(args, 1, method)?;
                let sep = text_arg(args, 0, method)?
                    .ok_or_else(|| type_error(format!("{method}() takes exactly one argument")))?;
                let found = if method == "partition" {
                    s.split_once(sep)
                } else {
                    s.rsplit_once(sep)
                };
                let parts = match (found, method) {
                    (Some((a, b)), _) => [a, sep, b],
                    (None, "partition") => [s, "", ""],
                    (None, _) => ["", "", s],
                };
                Ok(Value::from_object(minijinja::value::Tuple::from(
                    parts.map(Value::from),
                )))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    })();
    match result {
        Err(err) if err.kind() == ErrorKind::UnknownMethod => None,
        other => Some(other),
    }
}

fn mapping_method(value: &Value, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    let view = match method {
        "items" => ViewKind::Items,
        "keys" => ViewKind::Keys,
        "values" => ViewKind::Values,
        "get" => {
            return Some(match args {
                [key] | [key, _] => {
                    let found = value.get_item(key).ok().filter(|v| !v.is_undefined());
                    Ok(found.unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::from(()))))
                }
                _ => Err(type_error(format!(
                    "get expected 1 or 2 arguments, got {}",
                    args.len()
                ))),
            })
        }
        _ => return None,
    };
    Some(if args.is_empty() {
        Ok(DictView::value(view, value.clone()))
    } else {
        Err(type_error(format!(
            "{method}() takes no arguments ({} given)",
            args.len()
        )))
    })
}
