//! The loader: YAML text to `serde_json::Value` with PyYAML's (YAML 1.1)
//! reading, on yaml_rust2's event parser. Ours because serde_yaml reads YAML
//! 1.2, keeps no duplicate keys or lines, and has no alias-expansion limit.

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, ScanError};

use super::scalars::{resolve_scalar, PythonScalar};
use crate::check::field_path::{FieldPath, Segment};

/// At most this many nodes may be created by expanding aliases in one
/// document; a "billion laughs" document stops here instead of eating memory.
const MAX_ALIAS_NODES: usize = 1_000_000;
/// Deeper nesting than this is refused (no real manifest comes close).
pub(super) const MAX_DEPTH: usize = 512;

/// A parse failure with its position (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl From<ScanError> for YamlError {
    /// The scanner's error at its 1-based line and column.
    fn from(err: ScanError) -> Self {
        YamlError {
            line: err.marker().line(),
            column: err.marker().col() + 1,
            message: err.info().to_string(),
        }
    }
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
///
/// The plain block YAML most files are written in is read by
/// [`super::subset`] at a fraction of the cost; everything else, errors
/// included, by the full loader on yaml_rust2's event parser.
pub fn parse_stream(text: &str) -> Result<Vec<Parsed>, YamlError> {
    match super::subset::parse_stream(text) {
        Some(docs) => Ok(docs),
        None => parse_stream_full(text),
    }
}

/// [`parse_stream`] without the fast path: every construct, every error.
pub fn parse_stream_full(text: &str) -> Result<Vec<Parsed>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    loop {
        let (event, mark) = parser.next_token().map_err(YamlError::from)?;
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

/// [`parse_stream`] over text as it is read (a pipe, a large file): each
/// document goes to `each` as soon as it ends, so that a long stream is
/// never held whole, neither its text nor its values. A syntax error stops
/// the reading, as does an error `each` returns.
pub fn parse_documents<E: From<YamlError>>(
    text: impl Iterator<Item = char>,
    mut each: impl FnMut(Parsed) -> Result<(), E>,
) -> Result<(), E> {
    let mut builder = Builder::default();
    let mut parser = Parser::new(text);
    loop {
        let (event, mark) = parser.next_token().map_err(YamlError::from)?;
        match event {
            Event::StreamEnd => return Ok(()),
            Event::StreamStart | Event::Nothing => {}
            Event::DocumentStart => builder.start_document(),
            Event::DocumentEnd => each(builder.finish_document())?,
            other => builder.event(other, mark)?,
        }
    }
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
    fn parse_documents_hands_each_document_over_as_it_ends() {
        let text = "a: 1\n---\n---\nb: [2]\n";
        let mut seen = Vec::new();
        parse_documents::<YamlError>(text.chars(), |doc| {
            seen.push(doc);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, parse_stream(text).unwrap());

        // A document after a syntax error is never reached; the ones before it were.
        let mut values = Vec::new();
        let err = parse_documents::<YamlError>("a: 1\n---\nb: [\n".chars(), |doc| {
            values.push(doc.value);
            Ok(())
        })
        .unwrap_err();
        assert_eq!(values, vec![json!({"a": 1})]);
        assert_eq!(
            err.line,
            parse_stream("a: 1\n---\nb: [\n").unwrap_err().line
        );

        // An error of the consumer stops the reading.
        let mut count = 0;
        let stopped = parse_documents("a: 1\n---\nb: 2\n---\nc: 3\n".chars(), |_| {
            count += 1;
            match count {
                2 => Err(YamlError {
                    line: 0,
                    column: 0,
                    message: "enough".into(),
                }),
                _ => Ok(()),
            }
        });
        assert_eq!(stopped.unwrap_err().message, "enough");
        assert_eq!(count, 2);
    }
}
