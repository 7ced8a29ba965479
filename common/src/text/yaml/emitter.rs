//! The emitter: block YAML like `kubectl get -o yaml`. Ours because output
//! must be byte-stable (golden files, diffs in review, as mtcli's is) and
//! must read back as the same value in every YAML 1.1 reader (PyYAML, go-yaml
//! v2, ours): serde_yaml writes `yes`, `0755` or `2001-12-14` bare, which
//! those readers take for a boolean, a number or a date.

use std::io::Write;

use serde_json::Value;

use super::scalars::resolve_plain_python;

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
    let mut emitter = JsonToYaml::new(&json, None);
    emitter
        .node(0, Place::Top)
        .map_err(EmitError::into_message)?;
    Ok(emitter.out)
}

/// Why [`write_yaml`] failed.
#[derive(Debug)]
pub enum EmitError {
    /// The value could not be serialised (a bug in our types, not bad input).
    Serialise(String),
    /// The sink refused the bytes.
    Io(std::io::Error),
}

impl EmitError {
    fn into_message(self) -> String {
        match self {
            EmitError::Serialise(message) => message,
            EmitError::Io(err) => err.to_string(),
        }
    }
}

/// The emitter's own complaints about the JSON text (a bug, not bad input).
impl From<String> for EmitError {
    fn from(message: String) -> Self {
        EmitError::Serialise(message)
    }
}

/// What [`write_yaml`] gathers before handing it to the sink.
const CHUNK: usize = 64 * 1024;

/// Writes a value as YAML (as [`to_yaml_string`] would) to `sink` in chunks,
/// so the YAML text of a huge List (300,000 namespaces, issue 14) is never
/// held whole. The compact JSON is serialised first, so a value that cannot
/// be serialised fails before a byte is written.
pub fn write_yaml<T: serde::Serialize + ?Sized>(
    value: &T,
    sink: &mut dyn Write,
) -> Result<(), EmitError> {
    let json = serde_json::to_string(value).map_err(|err| EmitError::Serialise(err.to_string()))?;
    let mut emitter = JsonToYaml::new(&json, Some(sink));
    emitter.node(0, Place::Top)?;
    emitter.spill(0)
}

/// Writes compact JSON text, as serde_json writes it, as YAML (as
/// [`write_yaml`] writes the value): for a caller that serialised the value
/// already, or keeps it as text (a List written item by item).
pub fn write_json_as_yaml(json: &str, sink: &mut dyn Write) -> Result<(), EmitError> {
    let mut emitter = JsonToYaml::new(json, Some(sink));
    emitter.node(0, Place::Top)?;
    emitter.spill(0)
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
    /// Where `out` goes once it passes [`CHUNK`]; `None` keeps it all.
    sink: Option<&'a mut dyn Write>,
}

impl<'a> JsonToYaml<'a> {
    fn new(json: &'a str, sink: Option<&'a mut dyn Write>) -> Self {
        let capacity = match sink {
            Some(_) => 2 * CHUNK,
            None => json.len() + json.len() / 2,
        };
        JsonToYaml {
            json: json.as_bytes(),
            text: json,
            at: 0,
            out: String::with_capacity(capacity),
            sink,
        }
    }

    /// Hands `out` to the sink once it holds at least `threshold` bytes.
    fn spill(&mut self, threshold: usize) -> Result<(), EmitError> {
        if let Some(sink) = self.sink.as_mut() {
            if self.out.len() >= threshold {
                sink.write_all(self.out.as_bytes()).map_err(EmitError::Io)?;
                self.out.clear();
            }
        }
        Ok(())
    }

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
    fn node(&mut self, level: usize, place: Place) -> Result<(), EmitError> {
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

    fn mapping(&mut self, level: usize) -> Result<(), EmitError> {
        self.entries(b'{', b'}', level, |emitter| {
            let key = emitter.string()?;
            emit_string(&key, level, &mut emitter.out);
            emitter.out.push(':');
            emitter.expect(b':')?;
            emitter.node(level, Place::AfterKey)
        })
    }

    fn sequence(&mut self, level: usize) -> Result<(), EmitError> {
        self.entries(b'[', b']', level, |emitter| {
            emitter.out.push_str("- ");
            emitter.node(level, Place::Item)?;
            emitter.spill(CHUNK)
        })
    }

    /// The comma-separated entries of a JSON object or array between `open`
    /// and `close`, each written by `entry`, one a line at `level`.
    fn entries(
        &mut self,
        open: u8,
        close: u8,
        level: usize,
        mut entry: impl FnMut(&mut Self) -> Result<(), EmitError>,
    ) -> Result<(), EmitError> {
        self.expect(open)?;
        let mut first = true;
        while self.peek() != Some(close) {
            if !first {
                self.expect(b',')?;
                indent(&mut self.out, level);
            }
            first = false;
            entry(self)?;
        }
        Ok(self.expect(close)?)
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
    use crate::text::yaml::parse_one;
    use serde_json::json;

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
    fn written_yaml_in_chunks_is_the_same_text_as_the_string() {
        // Enough items to cross several chunks.
        let items: Vec<Value> = (0..20_000)
            .map(|i| json!({"metadata": {"name": format!("ns-{i}"), "labels": {"a": "yes"}}}))
            .collect();
        let value = json!({"kind": "List", "items": items, "after": "2001-12-14"});
        let mut written = Vec::new();
        write_yaml(&value, &mut written).unwrap();
        assert!(written.len() > 3 * CHUNK, "{}", written.len());
        assert_eq!(
            String::from_utf8(written).unwrap(),
            to_yaml_string(&value).unwrap()
        );
    }

    #[test]
    fn a_value_that_cannot_be_serialised_writes_nothing() {
        let value = std::collections::BTreeMap::from([((1u8, 2u8), 3u8)]);
        let mut written = Vec::new();
        let err = write_yaml(&value, &mut written).unwrap_err();
        assert!(matches!(err, EmitError::Serialise(_)), "{err:?}");
        assert!(written.is_empty());
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
}
