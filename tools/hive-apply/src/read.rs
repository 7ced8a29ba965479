//! Reading the input as it arrives, so that a fleet's List is never held
//! whole: neither its text nor a parsed tree of it. A JSON List's items are
//! parsed one at a time and each kept as the compact object it is sent as
//! ([`crate::objects`]); a YAML stream is parsed a document at a time.
//!
//! It reads what [`common::cli::io::Source`] reads, with the same checks and
//! messages (too large, binary data, not UTF-8, a byte order mark dropped):
//! JSON when the text opens with `{` or `[` (or the file is `.json`), and
//! YAML when it does not, or when what opened as JSON does not parse as JSON
//! (flow YAML such as `{a: 1}`). To read that again as YAML, the first
//! [`REREAD_LIMIT`] bytes are kept until the JSON has gone past them; a file
//! is simply read again. Text from stdin that parses as JSON beyond that and
//! then stops being JSON is refused with JSON's own error.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use common::cli::error::Location;
use common::cli::io::{describe_io_error, not_json_or_yaml, open_document, too_large_document};
use common::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::objects::{is_list, Collector, Input, Item};

mod compact;
mod json;

pub use compact::{CompactItem, Field};

/// The largest object list read: SyncSets for many thousands of clusters
/// are far above the 16 MiB a single add-on document may have.
pub const MAX_INPUT_BYTES: usize = 1 << 30;

/// How much of an input that opens as JSON is kept to read it again as
/// YAML: no single add-on document or manifest comes near it.
pub const REREAD_LIMIT: usize = common::cli::io::MAX_DOCUMENT_BYTES;

/// The size of each read.
const CHUNK: usize = 64 * 1024;

/// Reads the objects of a file, or of stdin for `None` or `-`.
pub fn read_input(path: Option<&Path>) -> Result<(Location, Input)> {
    let file = path.filter(|p| p.as_os_str() != "-");
    let location = match file {
        Some(path) => Location::of_path(path),
        None => Location::new("<stdin>"),
    };
    let input = match file {
        Some(path) => read_from(open(path)?, &location, Some(path), MAX_INPUT_BYTES),
        None => read_from(
            Box::new(std::io::stdin().lock()),
            &location,
            None,
            MAX_INPUT_BYTES,
        ),
    }?;
    Ok((location, input))
}

/// Reads the objects of text already in memory, as if it came on stdin
/// (the fuzz targets' way in).
pub fn read_bytes(data: &[u8]) -> Result<Input> {
    let location = Location::new("<stdin>");
    let text = Box::new(std::io::Cursor::new(data.to_vec()));
    read_from(text, &location, None, MAX_INPUT_BYTES)
}

/// Opens a file to read, refusing a folder or a file over the limit before
/// reading any of it.
fn open(path: &Path) -> Result<Box<dyn Read>> {
    let (file, _) = open_document(path, MAX_INPUT_BYTES, || {
        too_large_document(Location::of_path(path), MAX_INPUT_BYTES)
    })?;
    Ok(Box::new(file))
}

/// Reads `raw` (the file at `path`, when it is one) as a List, an object
/// or a stream of objects.
fn read_from(
    raw: Box<dyn Read>,
    location: &Location,
    path: Option<&Path>,
    limit: usize,
) -> Result<Input> {
    let mut input = Checked::new(raw, location.clone(), path.map(Path::to_path_buf), limit);
    input.record(REREAD_LIMIT);
    let start = input.first_char().map_err(|_| input.failure())?;
    let json_by_name = path.is_some_and(|p| p.extension().is_some_and(|ext| ext == "json"));
    let looks_like_json = json_by_name || matches!(start, Some('{' | '['));
    let self_delimiting = start == Some('{');
    if !looks_like_json {
        input.stop_recording();
        let result = read_yaml(&mut input, location, self_delimiting, false);
        return input.failed().map_or(result, Err);
    }
    let mut collector = Collector::new(location.clone(), self_delimiting);
    let read = match self_delimiting {
        true => json::read(&mut input),
        false => read_json(&mut input),
    };
    let syntax = match read {
        Ok(top) => {
            collect(top, &mut collector);
            return collector.finish();
        }
        Err(json::Stop::Read) => return Err(input.failure()),
        Err(json::Stop::Syntax(syntax)) => syntax,
    };
    drop(collector);
    // JSON cut short is no YAML either: say the one thing that helps.
    if let Some(early) = syntax.ends_early {
        return Err(Error::input(location.clone().line(syntax.line), early));
    }
    match (input.take_recording(), path) {
        (Some(recorded), _) => {
            let mut again = std::io::Cursor::new(recorded).chain(&mut input);
            let result = read_yaml(&mut again, location, self_delimiting, true);
            input.failed().map_or(result, Err)
        }
        (None, Some(path)) => {
            let mut again = Checked::new(open(path)?, location.clone(), Some(path.into()), limit);
            again.first_char().map_err(|_| again.failure())?;
            let result = read_yaml(&mut again, location, self_delimiting, true);
            again.failed().map_or(result, Err)
        }
        (None, None) => Err(Error::input(
            location.clone(),
            format!(
                "is not valid JSON: {} (it opened as JSON and was read as JSON past its first {} MiB)",
                syntax.message,
                REREAD_LIMIT >> 20
            ),
        )),
    }
}

/// Reads JSON text that does not open with `{` (a list, a word) whole.
fn read_json(input: &mut Checked) -> std::result::Result<Top, json::Stop> {
    let mut deserializer =
        serde_json::Deserializer::from_reader(BufReader::with_capacity(CHUNK, input));
    let stop = |err: serde_json::Error| match err.is_io() {
        true => json::Stop::Read,
        false => json::Stop::Syntax(json::Syntax::of(&err)),
    };
    let value = Value::deserialize(&mut deserializer).map_err(stop)?;
    deserializer.end().map_err(stop)?;
    Ok(Top::Value(value))
}

/// Hands the document read to the collector: a List's items as they were
/// read, anything else whole.
fn collect(top: Top, collector: &mut Collector) {
    match top {
        Top::Map {
            fields,
            items: Some(items),
        } => {
            let list = Value::Object(fields);
            if is_list(&list) {
                collector.list(1, &list, items);
            } else {
                // A second `kind` said it is no List after all.
                collector.document(1, with_items(list, items));
            }
        }
        Top::Map {
            fields,
            items: None,
        } => collector.document(1, Value::Object(fields)),
        Top::Value(value) => collector.document(1, value),
    }
}

/// The List whole again, its items in place of the placeholder.
fn with_items(mut list: Value, items: Vec<Item>) -> Value {
    let items = items
        .into_iter()
        .map(|item| item.map_or_else(|value| value, |manifest| manifest.object()))
        .collect();
    list["items"] = Value::Array(items);
    list
}

/// Reads YAML text, a document at a time.
fn read_yaml(
    text: &mut dyn Read,
    location: &Location,
    self_delimiting: bool,
    looks_like_json: bool,
) -> Result<Input> {
    let mut collector = Collector::new(location.clone(), self_delimiting);
    let mut index = 0;
    let parsed = common::text::yaml::loader::parse_documents(Utf8Chars::new(text), |document| {
        index += 1;
        collector.document(index, document.value);
        Ok::<(), common::text::yaml::YamlError>(())
    });
    parsed.map_err(|err| not_json_or_yaml(location.clone(), looks_like_json, &err))?;
    collector.finish()
}

/// The top of a JSON document: a List's items are handed out as they are
/// parsed; anything else is read whole.
enum Top {
    Map {
        /// The fields in their order, a List's streamed `items` as `null`.
        fields: Map<String, Value>,
        /// The items, when they were read one by one (the `kind` before
        /// them said List).
        items: Option<Vec<Item>>,
    },
    Value(Value),
}

/// What decides whether `items` is a List's: the `kind` read so far (and
/// `items` itself, which is coming).
fn list_head(fields: &Map<String, Value>) -> Map<String, Value> {
    let mut head = Map::new();
    if let Some(kind) = fields.get("kind") {
        head.insert("kind".into(), kind.clone());
    }
    head.insert("items".into(), Value::Null);
    head
}

/// The input's bytes as they are read, checked as [`common::cli::io::Source`]
/// checks a whole text (not larger than the limit, no NUL byte, UTF-8),
/// without a leading byte order mark; a failure is kept for
/// [`Checked::failure`] and ends the reading.
struct Checked {
    raw: Box<dyn Read>,
    location: Location,
    /// The file being read, to name it in a read error (`None`: stdin).
    path: Option<PathBuf>,
    limit: usize,
    /// Bytes of the input checked so far (a byte order mark included).
    offset: usize,
    /// The start of a UTF-8 sequence that the next read completes, and its offset.
    carry: Vec<u8>,
    carry_at: usize,
    /// Bytes read ahead to find how the text opens, handed out first.
    ahead: Vec<u8>,
    ahead_from: usize,
    /// What was handed out, while it stays under its limit.
    recording: Option<(Vec<u8>, usize)>,
    failure: Option<Error>,
}

impl Checked {
    fn new(raw: Box<dyn Read>, location: Location, path: Option<PathBuf>, limit: usize) -> Checked {
        Checked {
            raw,
            location,
            path,
            limit,
            offset: 0,
            carry: Vec::new(),
            carry_at: 0,
            ahead: Vec::new(),
            ahead_from: 0,
            recording: None,
            failure: None,
        }
    }

    /// Keeps what is handed out from now on, up to `limit` bytes. The room
    /// is reserved at once: growing it by doubling copied a large input's
    /// first `limit` bytes again at each step, on the way to the first
    /// request. Reserved memory costs nothing until it is written.
    fn record(&mut self, limit: usize) {
        self.recording = Some((Vec::with_capacity(limit), limit));
    }

    fn stop_recording(&mut self) {
        self.recording = None;
    }

    /// What was handed out, if all of it was kept.
    fn take_recording(&mut self) -> Option<Vec<u8>> {
        self.recording.take().map(|(bytes, _)| bytes)
    }

    /// The failure that ended the reading.
    fn failed(&mut self) -> Option<Error> {
        self.failure.take()
    }

    /// [`Checked::failed`], for a read that stopped on one.
    fn failure(&mut self) -> Error {
        self.failure
            .take()
            .unwrap_or_else(|| Error::internal("the input stopped without a reason"))
    }

    /// The first character that is not whitespace, read ahead without
    /// handing anything out (and the byte order mark dropped).
    fn first_char(&mut self) -> std::io::Result<Option<char>> {
        let mut bom_checked = false;
        let mut scanned = 0;
        let mut ended = false;
        loop {
            if !bom_checked && (self.ahead.len() >= BOM.len() || ended) {
                if self.ahead.starts_with(BOM) {
                    self.ahead.drain(..BOM.len());
                }
                bom_checked = true;
            }
            if bom_checked {
                let text = &self.ahead[scanned..];
                let valid = match std::str::from_utf8(text) {
                    Ok(all) => all,
                    Err(err) => std::str::from_utf8(&text[..err.valid_up_to()]).unwrap_or_default(),
                };
                if let Some(c) = valid.chars().find(|c| !c.is_whitespace()) {
                    return Ok(Some(c));
                }
                scanned += valid.len();
                if ended {
                    return Ok(None);
                }
            }
            let mut chunk = vec![0; CHUNK];
            let n = self.read_checked(&mut chunk)?;
            self.ahead.extend_from_slice(&chunk[..n]);
            ended = n == 0;
        }
    }

    /// Reads the next bytes of the input and checks them.
    fn read_checked(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.failure.is_some() {
            return Err(stopped());
        }
        let n = loop {
            match self.raw.read(buf) {
                Ok(n) => break n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    let why = match &self.path {
                        Some(path) => Error::in_file(path, describe_io_error(&err)),
                        None => Error::input(self.location.clone(), format!("cannot read: {err}")),
                    };
                    return Err(self.fail(why));
                }
            }
        };
        if let Err(why) = self.check(&buf[..n]) {
            return Err(self.fail(why));
        }
        Ok(n)
    }

    fn fail(&mut self, why: Error) -> std::io::Error {
        self.failure = Some(why);
        stopped()
    }

    /// Checks the next `bytes` of the input, as a whole text is checked.
    fn check(&mut self, bytes: &[u8]) -> Result<()> {
        let at = self.offset;
        if bytes.is_empty() {
            // The end: a sequence left open is not UTF-8.
            return match self.carry.is_empty() {
                true => Ok(()),
                false => Err(self.not_utf8(self.carry_at)),
            };
        }
        if at + bytes.len() > self.limit {
            return Err(too_large_document(self.location.clone(), self.limit));
        }
        if let Some(nul) = common::text::bytes::first_where(bytes, |b| b == 0) {
            return Err(Error::input(
                self.location.clone(),
                format!(
                    "holds binary data (a NUL byte at offset {}), expected YAML or JSON text",
                    at + nul
                ),
            ));
        }
        self.offset += bytes.len();
        let mut rest = bytes;
        let mut rest_at = at;
        if !self.carry.is_empty() {
            let need = utf8_width(self.carry[0]) - self.carry.len();
            let take = need.min(rest.len());
            self.carry.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            rest_at += take;
            if take < need {
                return Ok(());
            }
            if std::str::from_utf8(&self.carry).is_err() {
                return Err(self.not_utf8(self.carry_at));
            }
            self.carry.clear();
        }
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(err) if err.error_len().is_none() => {
                self.carry = rest[err.valid_up_to()..].to_vec();
                self.carry_at = rest_at + err.valid_up_to();
                Ok(())
            }
            Err(err) => Err(self.not_utf8(rest_at + err.valid_up_to())),
        }
    }

    fn not_utf8(&self, offset: usize) -> Error {
        Error::input(
            self.location.clone(),
            format!("is not UTF-8 text (invalid byte at offset {offset}), expected YAML or JSON"),
        )
    }
}

impl Read for Checked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = if self.ahead_from < self.ahead.len() {
            let ahead = &self.ahead[self.ahead_from..];
            let n = ahead.len().min(buf.len());
            buf[..n].copy_from_slice(&ahead[..n]);
            self.ahead_from += n;
            if self.ahead_from == self.ahead.len() {
                self.ahead = Vec::new();
                self.ahead_from = 0;
            }
            n
        } else {
            self.read_checked(buf)?
        };
        if let Some((kept, limit)) = &mut self.recording {
            if kept.len() + n > *limit {
                self.recording = None;
            } else {
                kept.extend_from_slice(&buf[..n]);
            }
        }
        Ok(n)
    }
}

/// The byte order mark a text may open with.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// The error a parser sees when the input stopped on a [`Checked`] failure.
fn stopped() -> std::io::Error {
    std::io::Error::other("the input could not be read")
}

/// How many bytes the UTF-8 sequence starting with `lead` has.
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// The characters of checked UTF-8 text, read a chunk at a time; the end
/// of the text, or a read that failed (the reader keeps why), ends them.
struct Utf8Chars<'a> {
    input: &'a mut dyn Read,
    text: String,
    at: usize,
    /// Bytes of a character split between two reads.
    partial: Vec<u8>,
    ended: bool,
}

impl<'a> Utf8Chars<'a> {
    fn new(input: &'a mut dyn Read) -> Self {
        Utf8Chars {
            input,
            text: String::new(),
            at: 0,
            partial: Vec::new(),
            ended: false,
        }
    }

    /// Reads the next chunk; `false` at the end.
    fn refill(&mut self) -> bool {
        let mut bytes = std::mem::take(&mut self.partial);
        let kept = bytes.len();
        bytes.resize(kept + CHUNK, 0);
        let n = loop {
            match self.input.read(&mut bytes[kept..]) {
                Ok(n) => break n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        };
        if n == 0 {
            return false;
        }
        bytes.truncate(kept + n);
        let complete = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(err) if err.error_len().is_none() => err.valid_up_to(),
            Err(_) => return false,
        };
        self.partial = bytes.split_off(complete);
        self.text = String::from_utf8(bytes).unwrap_or_default();
        self.at = 0;
        true
    }
}

impl Iterator for Utf8Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            if let Some(c) = self.text[self.at..].chars().next() {
                self.at += c.len_utf8();
                return Some(c);
            }
            if self.ended || !self.refill() {
                self.ended = true;
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{check_duplicates, written_key};
    use common::model::inventory::{Inventory, LIST_ANNOTATION};

    fn stdin() -> Location {
        Location::new("<stdin>")
    }

    fn read(text: &str) -> Result<Input> {
        read_bytes(text.as_bytes())
    }

    fn read_bytes(bytes: &[u8]) -> Result<Input> {
        read_from(
            Box::new(std::io::Cursor::new(bytes.to_vec())),
            &stdin(),
            None,
            MAX_INPUT_BYTES,
        )
    }

    #[test]
    fn reads_lists_single_objects_and_streams() {
        let list = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}]}";
        let input = read(list).unwrap();
        assert_eq!(input.manifests[0].name, "a");
        assert_eq!(input.manifests[0].at.to_string(), "items[0]");
        assert_eq!(input.inventory, None);
        let stream = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n}\n";
        let manifests = read(stream).unwrap().manifests;
        assert_eq!(manifests.len(), 2);
        assert_eq!(manifests[1].namespace.as_deref(), Some("n"));
        assert_eq!(manifests[1].at.to_string(), "document 3");
    }

    #[test]
    fn names_the_missing_field() {
        let err = read("apiVersion: v1\nkind: Namespace\nmetadata: {}\n").unwrap_err();
        assert!(
            err.to_string().contains("document 1.metadata.name"),
            "{err}"
        );
        assert!(read("").is_err());
    }

    fn list_with_inventory(annotation: Value) -> String {
        serde_json::json!({"apiVersion": "v1", "kind": "List",
            "metadata": {"annotations": {LIST_ANNOTATION: annotation}},
            "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}]})
        .to_string()
    }

    #[test]
    fn reads_the_inventory_of_a_list_and_refuses_a_broken_one() {
        let inventory = Inventory::new(
            "stage",
            common::model::inventory::Scope::Whole,
            None,
            ["x"].into_iter().collect(),
        );
        let text = list_with_inventory(Value::from(serde_json::to_string(&inventory).unwrap()));
        let input = read(&text).unwrap();
        assert_eq!(input.inventory, Some(inventory.clone()));
        assert_eq!(input.unproven, None, "JSON cannot be cut and still parse");
        for broken in [
            Value::from(3),
            Value::from("{\"kind\": \"AddonInventory\"}"),
            Value::from(
                "{\"apiVersion\":\"v9\",\"kind\":\"AddonInventory\",\"environment\":\"stage\",\"scope\":\"whole\",\"addons\":[]}",
            ),
        ] {
            let err = read(&list_with_inventory(broken)).unwrap_err();
            assert!(
                err.to_string()
                    .contains("document 1: metadata.annotations[addon-flow.openshift.io/inventory]"),
                "{err}"
            );
        }
    }

    #[test]
    fn in_block_yaml_the_inventory_proves_the_list_whole_only_after_its_items() {
        let annotation =
            "'{\"apiVersion\":\"addon-flow.openshift.io/v1\",\"kind\":\"AddonInventory\",\"environment\":\"stage\",\"scope\":\"whole\",\"addons\":[\"x\"]}'";
        let items =
            "items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a, namespace: n}\n";
        let metadata = format!("metadata:\n  annotations:\n    {LIST_ANNOTATION}: {annotation}\n");
        let last = format!("apiVersion: v1\nkind: List\n{items}{metadata}");
        let input = read(&last).unwrap();
        assert!(input.inventory.is_some());
        assert_eq!(input.unproven, None);
        let first = format!("apiVersion: v1\nkind: List\n{metadata}{items}");
        let input = read(&first).unwrap();
        assert!(input.inventory.is_some());
        assert!(
            input
                .unproven
                .as_deref()
                .unwrap()
                .contains("comes before its items"),
            "{:?}",
            input.unproven
        );
    }

    #[test]
    fn an_object_named_twice_is_refused_naming_both_places() {
        let stream = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n, labels: {x: y}}\n";
        let manifests = read(stream).unwrap().manifests;
        let err =
            check_duplicates(&stdin(), manifests.iter().map(|m| (written_key(m), m))).unwrap_err();
        assert_eq!(err.exit_status() as u8, 1);
        assert!(
            err.to_string()
                .contains("document 1 and document 3 are the same object (ConfigMap n/a)"),
            "{err}"
        );
        // Another namespace or another kind is another object.
        let other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: m}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: n}\n";
        let manifests = read(other).unwrap().manifests;
        assert!(check_duplicates(&stdin(), manifests.iter().map(|m| (written_key(m), m))).is_ok());
    }
}
