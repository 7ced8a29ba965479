//! A `kind: List` written item by item: the head, each item as soon as it is
//! rendered, then the end, byte for byte what serialising the whole
//! [`List`](super::List) (or [`List::metadata_last`](super::List::metadata_last))
//! writes, in YAML and in pretty JSON. Why: a List of a fleet's objects held
//! whole, then written, costs memory in proportion to the fleet (issue 24);
//! written as it is rendered, it costs one item.
//!
//! An item travels as its [`EncodedItem`], the text each format is written
//! from (compact JSON for YAML, pretty JSON for JSON), so that a caller may
//! keep items aside (a temporary file) and write them later.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use super::Object;
use crate::cli::error::{Error, Result};
use crate::cli::io::Format;

/// Where a List's `metadata` goes: before its items (as [`super::List`]
/// serialises), or after them (as [`super::List::metadata_last`] does, so
/// that a List cut short has none).
#[derive(Debug, Clone, Copy)]
pub enum MetadataPlace<'a> {
    First(&'a BTreeMap<String, Value>),
    Last,
}

/// One item of a List, serialised for the List's format: compact JSON of
/// the one-item sequence `[item]` for YAML (the YAML is emitted from it),
/// pretty JSON of the item for JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedItem(pub String);

impl EncodedItem {
    /// `item` serialised for a List written as `format`.
    pub fn of<T: Serialize + ?Sized>(item: &T, format: Format) -> Result<EncodedItem> {
        let text = match format {
            Format::Yaml => serde_json::to_string(&[item]),
            Format::Json => serde_json::to_string_pretty(item),
        };
        text.map(EncodedItem)
            .map_err(|err| Error::internal(format!("cannot serialise an item of the List: {err}")))
    }

    /// The items an object is in a List: one, or a set's Namespaces.
    pub fn all_of(object: &Object, format: Format) -> Result<Vec<EncodedItem>> {
        match object {
            Object::Namespaces(set) => set
                .objects()
                .map(|namespace| EncodedItem::of(&namespace, format))
                .collect(),
            other => Ok(vec![EncodedItem::of(other, format)?]),
        }
    }

    /// The item as a value (to change it before it is written).
    pub fn to_value(&self, format: Format) -> Result<Value> {
        let bad =
            |err: serde_json::Error| Error::internal(format!("a List item kept aside: {err}"));
        let value: Value = serde_json::from_str(&self.0).map_err(bad)?;
        Ok(match (format, value) {
            (Format::Yaml, Value::Array(mut items)) if items.len() == 1 => items.remove(0),
            (_, value) => value,
        })
    }
}

/// Writes one `kind: List` to `out` item by item ([`ListWriter::start`],
/// [`ListWriter::object`] or [`ListWriter::encoded`], [`ListWriter::finish`]).
pub struct ListWriter<W: Write> {
    out: W,
    format: Format,
    items: usize,
}

impl<W: Write> ListWriter<W> {
    /// Writes the List's head (and its metadata, when it goes first).
    pub fn start(mut out: W, format: Format, metadata: MetadataPlace) -> Result<ListWriter<W>> {
        let mut head = Vec::new();
        head.extend_from_slice(match format {
            Format::Yaml => b"apiVersion: v1\nkind: List\n",
            Format::Json => b"{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\"",
        });
        if let MetadataPlace::First(metadata) = metadata {
            write_metadata(&mut head, metadata, format)?;
        }
        written(out.write_all(&head))?;
        Ok(ListWriter {
            out,
            format,
            items: 0,
        })
    }

    /// Writes an object as the List's next item; a set of Namespaces is
    /// written as its Namespaces, as a [`super::List`] serialises it.
    pub fn object(&mut self, object: &Object) -> Result<()> {
        match (self.format, object) {
            (Format::Json, Object::Namespaces(set)) => set
                .objects()
                .try_for_each(|namespace| self.pretty(&namespace)),
            (Format::Json, other) => self.pretty(other),
            (Format::Yaml, _) => EncodedItem::all_of(object, self.format)?
                .iter()
                .try_for_each(|item| self.encoded(item)),
        }
    }

    /// Writes `item` as the next item of a JSON List, serialised straight
    /// into the output at its depth: an [`EncodedItem`] would be written
    /// whole, then copied again line by line to indent it.
    fn pretty<T: Serialize + ?Sized>(&mut self, item: &T) -> Result<()> {
        self.open_json_item()?;
        let mut serializer =
            serde_json::Serializer::with_formatter(&mut self.out, NestedPretty::new(2));
        serialised(item.serialize(&mut serializer), "an item of the List")
    }

    /// Counts the next JSON item and writes what comes before it.
    fn open_json_item(&mut self) -> Result<()> {
        let opening: &[u8] = if self.items == 0 {
            b",\n  \"items\": [\n    "
        } else {
            b",\n    "
        };
        self.items += 1;
        written(self.out.write_all(opening))
    }

    /// Writes an item encoded for this List's format as its next item.
    pub fn encoded(&mut self, item: &EncodedItem) -> Result<()> {
        match self.format {
            Format::Yaml => {
                self.items += 1;
                if self.items == 1 {
                    written(self.out.write_all(b"items:\n"))?;
                }
                match crate::text::yaml::write_json_as_yaml(&item.0, &mut self.out) {
                    Ok(()) => Ok(()),
                    Err(crate::text::yaml::EmitError::Io(err)) => written(Err(err)),
                    Err(crate::text::yaml::EmitError::Serialise(message)) => {
                        Err(Error::internal(message))
                    }
                }
            }
            Format::Json => {
                self.open_json_item()?;
                let mut lines = item.0.split('\n');
                if let Some(line) = lines.next() {
                    written(self.out.write_all(line.as_bytes()))?;
                }
                for line in lines {
                    written(self.out.write_all(b"\n    "))?;
                    written(self.out.write_all(line.as_bytes()))?;
                }
                Ok(())
            }
        }
    }

    /// How many items were written.
    pub fn items(&self) -> usize {
        self.items
    }

    /// Writes the List's end: its metadata, when it goes last
    /// ([`MetadataPlace::Last`]), then flushes; gives the sink back.
    pub fn finish(mut self, metadata_last: Option<&BTreeMap<String, Value>>) -> Result<W> {
        let items_end: &[u8] = match (self.format, self.items) {
            (Format::Yaml, 0) => b"items: []\n",
            (Format::Yaml, _) => b"",
            (Format::Json, 0) => b",\n  \"items\": []",
            (Format::Json, _) => b"\n  ]",
        };
        written(self.out.write_all(items_end))?;
        // Straight to the output: a fleet's inventory is large.
        if let Some(metadata) = metadata_last {
            write_metadata(&mut self.out, metadata, self.format)?;
        }
        if self.format == Format::Json {
            written(self.out.write_all(b"\n}\n"))?;
        }
        written(self.out.flush())?;
        Ok(self.out)
    }
}

/// A List's `metadata` key and value, as the List's serialisation writes it.
fn write_metadata<W: Write>(
    out: &mut W,
    metadata: &BTreeMap<String, Value>,
    format: Format,
) -> Result<()> {
    #[derive(Serialize)]
    struct Metadata<'a> {
        metadata: &'a BTreeMap<String, Value>,
    }
    match format {
        Format::Yaml => {
            let text =
                crate::text::yaml::to_yaml_string(&Metadata { metadata }).map_err(|err| {
                    Error::internal(format!("cannot serialise the List's metadata: {err}"))
                })?;
            written(out.write_all(text.as_bytes()))
        }
        Format::Json => {
            written(out.write_all(b",\n  \"metadata\": "))?;
            let mut serializer =
                serde_json::Serializer::with_formatter(&mut *out, NestedPretty::new(1));
            serialised(metadata.serialize(&mut serializer), "the List's metadata")
        }
    }
}

/// What serialising `what` into the output came to: a write that failed
/// is a write error (a reader gone away is none), anything else ours.
fn serialised(result: serde_json::Result<()>, what: &str) -> Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(err) if err.is_io() => written(Err(err.into())),
        Err(err) => Err(Error::internal(format!("cannot serialise {what}: {err}"))),
    }
}

/// serde_json's pretty JSON (two spaces an indent) of a value that sits
/// `level` indents deep in the document: the List's metadata, one level in.
struct NestedPretty {
    level: usize,
    has_value: bool,
}

impl NestedPretty {
    fn new(level: usize) -> Self {
        NestedPretty {
            level,
            has_value: false,
        }
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            writer.write_all(b"\n")?;
            self.indent(writer)?;
        }
        writer.write_all(bracket)
    }

    fn next<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> std::io::Result<()> {
        writer.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(writer)
    }

    fn indent<W: ?Sized + Write>(&self, writer: &mut W) -> std::io::Result<()> {
        (0..self.level).try_for_each(|_| writer.write_all(b"  "))
    }
}

impl serde_json::ser::Formatter for NestedPretty {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// A reader that went away (`| head`) is not an error, as for every
/// document a tool writes.
fn written(result: std::io::Result<()>) -> Result<()> {
    match result {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(write_error(err)),
        _ => Ok(()),
    }
}

fn write_error(err: std::io::Error) -> Error {
    Error::input(
        crate::cli::error::Location::new("<stdout>"),
        format!("cannot write: {err}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::k8s::{List, NamespaceSet, ObjectMeta, StringMap};
    use serde_json::json;

    fn lists() -> Vec<List> {
        let namespaces = Object::Namespaces(NamespaceSet::new(
            vec!["a".into(), "b".into()],
            StringMap::from([("team".into(), "yes".into())]),
            StringMap::new(),
        ));
        let other = Object::Other(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c"}, "data": {"multi": "one\ntwo\n", "empty": {}, "list": [1, [], {"k": "on"}]}}));
        let typed = Object::Namespace(super::super::Namespace::new(ObjectMeta::named("n")));
        let mut annotated = List::new(vec![other.clone(), typed.clone()]);
        annotated.metadata.insert(
            "annotations".into(),
            json!({"addon-flow.openshift.io/inventory": "{\"a\":[1]}"}),
        );
        // Every shape the metadata's own pretty writer meets.
        annotated.metadata.insert(
            "shapes".into(),
            json!({"empty": {}, "none": [], "list": [1, [], {"k": [{}]}], "text": "a\nb"}),
        );
        vec![
            List::new(Vec::new()),
            List::new(vec![namespaces, other, typed]),
            annotated,
        ]
    }

    /// The List written whole, as `io::write_document` writes it.
    fn whole<T: Serialize>(value: &T, format: Format) -> String {
        crate::cli::io::render(value, format).unwrap()
    }

    fn item_by_item(list: &List, format: Format, last: bool) -> String {
        let place = if last {
            MetadataPlace::Last
        } else {
            MetadataPlace::First(&list.metadata)
        };
        let mut writer = ListWriter::start(Vec::new(), format, place).unwrap();
        for object in &list.items {
            writer.object(object).unwrap();
        }
        let out = writer.finish(last.then_some(&list.metadata)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_list_written_item_by_item_is_the_list_written_whole() {
        for list in lists() {
            for format in [Format::Yaml, Format::Json] {
                assert_eq!(
                    item_by_item(&list, format, false),
                    whole(&list, format),
                    "{format:?}"
                );
                assert_eq!(
                    item_by_item(&list, format, true),
                    whole(&list.metadata_last(), format),
                    "{format:?}, metadata last"
                );
            }
        }
    }

    /// The spool's way (items encoded, kept, then written) and the straight
    /// way write the same text.
    #[test]
    fn an_item_written_from_its_encoding_is_the_item_written_straight() {
        for list in lists() {
            for format in [Format::Yaml, Format::Json] {
                let mut writer =
                    ListWriter::start(Vec::new(), format, MetadataPlace::Last).unwrap();
                for object in &list.items {
                    for item in EncodedItem::all_of(object, format).unwrap() {
                        writer.encoded(&item).unwrap();
                    }
                }
                let out = writer.finish(Some(&list.metadata)).unwrap();
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    item_by_item(&list, format, true),
                    "{format:?}"
                );
            }
        }
    }

    #[test]
    fn an_encoded_item_reads_back_as_the_item() {
        let item = json!({"kind": "ConfigMap", "data": {"a": "1"}});
        for format in [Format::Yaml, Format::Json] {
            let encoded = EncodedItem::of(&item, format).unwrap();
            assert_eq!(encoded.to_value(format).unwrap(), item);
        }
    }
}
