//! Streams of add-on documents: what every tool reads where it reads one
//! add-on. A stream is JSON lines (one document per line), or a YAML
//! multi-document stream (`---` between documents), or a single document
//! (an `addon.yaml` in a tree, a pretty-printed JSON document).
//!
//! Each document is loaded on its own, so one bad document is reported by its
//! id (or its position when it has none) and the others still go through;
//! the tool's exit code is the worst of them ([`Outcomes`]).
//!
//! A fleet stream ends with an [`Inventory`] (see [`crate::inventory`]): it
//! is read apart from the add-ons ([`Stream::inventory`]) and written again
//! as the last document of a stage's output ([`write_documents`]), with the
//! add-ons the stage dropped recorded in it ([`Outcomes::with_inventory`]).

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::addon::AddonDocument;
use crate::error::{Error, ExitStatus, Result};
use crate::inventory::Inventory;
use crate::io::{self, Format, Origin, Source};

/// A whole stream may be this large (one document stays under
/// [`io::MAX_DOCUMENT_BYTES`]): 500 add-ons with icons and image sets.
pub const MAX_STREAM_BYTES: usize = 1 << 30;

/// One document of a stream, loaded or not.
#[derive(Debug)]
pub struct StreamItem {
    /// 1-based position in the stream.
    pub position: usize,
    /// The document's `id`, when it could be read even if the document is bad.
    pub id: Option<String>,
    pub document: Result<AddonDocument>,
}

impl StreamItem {
    /// `my-addon` or `document 3`: how messages name this document.
    pub fn name(&self) -> String {
        describe(self.position, self.id.as_deref())
    }
}

fn describe(position: usize, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{id} (document {position})"),
        None => format!("document {position}"),
    }
}

/// A stream read whole: its add-on documents, and the inventory that ended it.
#[derive(Debug)]
pub struct Stream {
    pub items: Vec<StreamItem>,
    /// The inventory, when it was the stream's last document. One anywhere
    /// else is an error item instead, and the stream has none: a prune will
    /// not trust a stream put together wrongly.
    pub inventory: Option<Inventory>,
}

/// Reads `path` (stdin for `None` or `-`) as a stream of add-on documents.
/// Only an unreadable input as a whole is an `Err`.
pub fn read_stream(path: Option<&Path>) -> Result<Stream> {
    let source = Source::read_limited(path, MAX_STREAM_BYTES)?;
    Ok(stream_from(&source))
}

/// [`read_stream`]'s add-ons, for a tool that passes no stream on.
pub fn read_addons(path: Option<&Path>) -> Result<Vec<StreamItem>> {
    read_stream(path).map(|stream| stream.items)
}

/// Splits a source into its documents and loads each.
pub fn stream_from(source: &Source) -> Stream {
    // An addon.yaml in a tree is one document whose image set and extra
    // resources are resolved from its place: load it as a file.
    let single_file = source
        .path()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "addon.yaml" || n == "addon.yml");
    // Empty input is one empty document, so that the loader says what it
    // means (the previous stage wrote nothing) instead of an empty result.
    let chunks = if single_file || source.text.trim().is_empty() {
        vec![Chunk {
            first_line: 1,
            text: source.text.clone(),
        }]
    } else {
        split_documents(&source.text)
    };
    let last = chunks.len();
    let mut inventory = None;
    let mut items = Vec::with_capacity(chunks.len());
    let mut position = 0;
    for (i, chunk) in chunks.into_iter().enumerate() {
        if !single_file && looks_like_inventory(&chunk.text) {
            match read_inventory(source, &chunk, i + 1 == last) {
                Ok(read) => inventory = Some(read),
                Err(err) => {
                    position += 1;
                    items.push(StreamItem {
                        position,
                        id: None,
                        document: Err(err),
                    });
                }
            }
            continue;
        }
        position += 1;
        items.push(load_chunk(source, chunk, position, last > 1));
    }
    Stream { items, inventory }
}

/// [`stream_from`]'s add-ons.
pub fn addons_from(source: &Source) -> Vec<StreamItem> {
    stream_from(source).items
}

/// Whether a document names the inventory's kind: checked on the text, so
/// that an add-on is never parsed twice.
fn looks_like_inventory(text: &str) -> bool {
    text.contains(crate::inventory::KIND)
        && crate::io::Source::from_text(Origin::Stdin, text)
            .parse()
            .is_ok_and(|parsed| Inventory::is_inventory(&parsed.value))
}

/// Reads the inventory document; it must be the stream's last.
fn read_inventory(source: &Source, chunk: &Chunk, is_last: bool) -> Result<Inventory> {
    let at = source.location().line(chunk.first_line);
    if !is_last {
        return Err(Error::input(
            at,
            "an add-on inventory must be the last document of a stream, and more documents follow              this one: the stream was put together from several, so no prune can trust it",
        ));
    }
    let parsed = Source::from_text(Origin::Stdin, chunk.text.as_str()).parse()?;
    serde_json::from_value(parsed.value).map_err(|err| {
        Error::input(
            at,
            format!(
                "is not a valid add-on inventory ({}): {err}",
                crate::inventory::KIND
            ),
        )
    })
}

fn load_chunk(source: &Source, chunk: Chunk, position: usize, many: bool) -> StreamItem {
    let id = peek_id(&chunk.text);
    let part = if many || source.path().is_none() {
        // Inside a stream the text is not the file: a tree place would be
        // resolved from the wrong path.
        Source::from_text(Origin::Stdin, chunk.text)
    } else {
        Source::from_text(source.origin.clone(), chunk.text)
    };
    let stream_origin = source.origin.to_string();
    let place = many.then_some(crate::document::StreamPlace {
        origin: &stream_origin,
        first_line: chunk.first_line,
    });
    let document = io::check_text(&part.origin, part.text.as_bytes())
        .map(|_| ())
        .and_then(|()| crate::document::load_valid_at(part, place))
        .map_err(|err| locate(err, source, chunk.first_line));
    StreamItem {
        position,
        id,
        document,
    }
}

/// Points an error at the document in the stream: the stream's origin and
/// lines counted from the start of the stream. The document's name is said
/// by whoever reports it ([`Outcomes::record`]).
fn locate(err: Error, source: &Source, first_line: usize) -> Error {
    match err {
        Error::Input { mut at, message } => {
            at.origin = source.origin.to_string();
            at.line = at.line.map(|line| line + first_line - 1);
            Error::Input { at, message }
        }
        other => other,
    }
}

/// The `id` of a document, read leniently so that a broken document is
/// still named by it.
fn peek_id(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
            return map.get("id").and_then(Value::as_str).map(str::to_string);
        }
    }
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("id:")?;
        let id = rest.split('#').next()?.trim().trim_matches(['"', '\'']);
        (!id.is_empty()).then(|| id.to_string())
    })
}

/// One document's text and where it starts in the stream.
#[derive(Debug, Clone, PartialEq)]
struct Chunk {
    first_line: usize,
    text: String,
}

/// The documents of a stream: one JSON value (possibly pretty-printed), JSON
/// lines, or YAML documents separated by `---` (a `...` ends a document).
fn split_documents(text: &str) -> Vec<Chunk> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        if serde_json::from_str::<Value>(text).is_ok() || !is_json_lines(text) {
            // One JSON value, or one that is broken (cut short): one
            // document, whose error is said once, not once per line.
            return vec![Chunk {
                first_line: 1,
                text: text.to_string(),
            }];
        }
        // JSON lines: each non-blank line is a document.
        return text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| Chunk {
                first_line: i + 1,
                text: line.to_string(),
            })
            .collect();
    }
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut first_line = 1;
    let flush = |current: &mut String, first_line: usize, chunks: &mut Vec<Chunk>| {
        if current
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        {
            chunks.push(Chunk {
                first_line,
                text: std::mem::take(current),
            });
        }
        current.clear();
    };
    for (i, line) in text.lines().enumerate() {
        let separator = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        let end = line == "..." || line.starts_with("... ");
        if separator || end {
            flush(&mut current, first_line, &mut chunks);
            // A document may open on the separator's line: `--- {id: x}`.
            first_line = i + 1;
            if separator {
                let rest = line[3..].trim();
                if !rest.is_empty() {
                    current.push_str(rest);
                    current.push('\n');
                }
            } else {
                first_line = i + 2;
            }
            continue;
        }
        if current.is_empty() {
            first_line = i + 1;
        }
        current.push_str(line);
        current.push('\n');
    }
    flush(&mut current, first_line, &mut chunks);
    chunks
}

/// Whether a text opening with `{` is JSON lines rather than one JSON
/// value spread over lines: some line that starts at its first column is a
/// whole JSON object by itself. A pretty-printed document has no such line
/// (its first is `{` alone, the others are indented), even when it is cut
/// short; one bad line of a JSON lines stream leaves the others whole.
fn is_json_lines(text: &str) -> bool {
    text.lines().any(|line| {
        line.starts_with('{')
            && serde_json::from_str::<Value>(line).is_ok_and(|value| value.is_object())
    })
}

/// Writes documents as a stream: JSON lines, or YAML documents with `---`,
/// and the inventory, when the input had one, as the last document. A
/// single document without an inventory is written as
/// [`io::write_document`] writes it.
pub fn write_documents<T: Serialize>(
    documents: &[T],
    inventory: Option<&Inventory>,
    format: Format,
) -> Result<()> {
    if documents.len() == 1 && inventory.is_none() {
        return io::write_document(&documents[0], format);
    }
    let mut out = String::new();
    for document in documents {
        push_document(&mut out, document, format)?;
    }
    if let Some(inventory) = inventory {
        push_document(&mut out, inventory, format)?;
    }
    io::write_stdout(&out)
}

/// One document of a written stream.
fn push_document<T: Serialize + ?Sized>(
    out: &mut String,
    document: &T,
    format: Format,
) -> Result<()> {
    match format {
        Format::Json => {
            out.push_str(&serde_json::to_string(document).map_err(Error::internal)?);
            out.push('\n');
        }
        Format::Yaml => {
            out.push_str("---\n");
            out.push_str(&io::render(document, Format::Yaml)?);
        }
    }
    Ok(())
}

/// The results of handling each document: failures are reported as they
/// come, and [`Outcomes::finish`] gives the worst as the tool's result.
#[derive(Debug)]
pub struct Outcomes {
    tool: &'static str,
    /// How many documents the stream holds: a lone document's error is the
    /// tool's error, as when it read one document.
    expected: usize,
    total: usize,
    failed: Vec<(String, ExitStatus)>,
    lone_error: Option<Error>,
    /// "add-ons done 3/12" on a terminal, for a stream of several.
    progress: crate::progress::Progress,
    /// Whether the workers advance `progress` themselves ([`Outcomes::counter`]).
    counted_by_workers: bool,
    /// The input's inventory, to pass on with this stage's failures in it.
    inventory: Option<Inventory>,
}

impl Outcomes {
    pub fn new(tool: &'static str, expected: usize) -> Outcomes {
        Outcomes {
            tool,
            expected,
            total: 0,
            failed: Vec::new(),
            lone_error: None,
            progress: if expected > 1 {
                crate::progress::Progress::counter("add-ons done", expected as u64)
            } else {
                crate::progress::Progress::hidden()
            },
            counted_by_workers: false,
            inventory: None,
        }
    }

    /// Carries the input's inventory: each document that fails here through
    /// [`Outcomes::record_item`] is recorded in it as failed by this tool.
    pub fn with_inventory(mut self, inventory: Option<Inventory>) -> Outcomes {
        self.inventory = inventory;
        self
    }

    /// The inventory to pass on, with this stage's failures recorded.
    pub fn inventory(&self) -> Option<&Inventory> {
        self.inventory.as_ref()
    }

    /// [`Outcomes::record`] for a document of the stream: a failure is also
    /// recorded in the inventory under the document's id.
    pub fn record_item<T>(
        &mut self,
        item_id: Option<&str>,
        name: &str,
        result: Result<T>,
    ) -> Option<T> {
        if result.is_err() {
            if let Some(inventory) = &mut self.inventory {
                inventory.record_failure(item_id, self.tool);
            }
        }
        self.record(name, result)
    }

    /// The "add-ons done" counter, for workers that finish add-ons out of
    /// order on other threads (the results are recorded afterwards, in
    /// stream order); [`Outcomes::record`] then no longer advances it.
    pub fn counter(&mut self) -> crate::progress::Progress {
        self.counted_by_workers = true;
        self.progress.clone()
    }

    /// Takes the "add-ons done" line off the terminal, for a tool that shows
    /// its own progress instead (csv-wait's tally of the add-ons it watches:
    /// reading the documents is not having them done).
    pub fn without_progress(mut self) -> Outcomes {
        self.progress.finish();
        self.progress = crate::progress::Progress::hidden();
        self
    }

    /// Records one document's result; a failure is printed on stderr at once,
    /// naming the document.
    pub fn record<T>(&mut self, name: &str, result: Result<T>) -> Option<T> {
        self.total += 1;
        if !self.counted_by_workers {
            self.progress.inc(1);
        }
        self.judge(name, result)
    }

    /// The later verdict on a document already recorded as read (csv-wait
    /// knows whether an add-on failed only after watching it): a failure is
    /// printed and counted, the document is not counted twice.
    pub fn judge<T>(&mut self, name: &str, result: Result<T>) -> Option<T> {
        crate::report::outcome(name, result.as_ref().map(|_| ()));
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.failed.push((name.to_string(), err.exit_status()));
                if self.expected == 1 {
                    self.lone_error = Some(err);
                } else {
                    // An error, so printed even under --quiet.
                    crate::progress::eprint_line(&format!("{}: {name}: {err}", self.tool));
                }
                None
            }
        }
    }

    pub fn failures(&self) -> usize {
        self.failed.len()
    }

    /// How many documents the stream holds.
    pub fn documents(&self) -> usize {
        self.expected
    }

    /// Ok when every document went through; otherwise an error with the
    /// worst exit status among the failures, naming them.
    pub fn finish(self) -> Result<()> {
        self.progress.finish();
        if let Some(err) = self.lone_error {
            return Err(err);
        }
        let Some(worst) = self.failed.iter().map(|(_, s)| *s).max_by_key(|s| *s as u8) else {
            return Ok(());
        };
        let names: Vec<&str> = self.failed.iter().map(|(n, _)| n.as_str()).collect();
        let message = format!(
            "{} of {} document(s) failed ({}); {}",
            self.failed.len(),
            self.total,
            names.join(", "),
            if self.failed.len() < self.total {
                "the others went through"
            } else {
                "none went through"
            }
        );
        Err(match worst {
            ExitStatus::Success | ExitStatus::Invalid => Error::Invalid(message),
            ExitStatus::Usage => Error::Usage(message),
            ExitStatus::Remote => Error::remote("the stream", message),
            ExitStatus::TimedOut => Error::TimedOut(message),
            ExitStatus::AddonFailed => Error::AddonFailed(message),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addon(id: &str) -> String {
        crate::testing::minimal_addon_named(id).to_string()
    }

    fn stdin(text: &str) -> Source {
        Source::from_text(Origin::Stdin, text)
    }

    #[test]
    fn json_lines_are_one_document_each_and_a_bad_one_is_named_by_id() {
        let bad = addon("bad-one").replace("\"enabled\":true", "\"enabled\":\"yes\"");
        let text = format!("{}\n{bad}\n\n{}\n", addon("first"), addon("third"));
        let items = addons_from(&stdin(&text));
        assert_eq!(items.len(), 3);
        assert!(items[0].document.is_ok());
        assert!(items[2].document.is_ok());
        // The finding points at the document's line in the stream; the
        // document's name is said once, by whoever reports it.
        let err = items[1].document.as_ref().unwrap_err().to_string();
        assert!(err.contains("<stdin>:2: error"), "{err}");
        assert!(!err.contains("document 2"), "{err}");
        assert_eq!(items[1].name(), "bad-one (document 2)");
    }

    #[test]
    fn yaml_streams_split_at_separators_and_lines_count_from_the_stream() {
        let one =
            serde_yaml::to_string(&serde_json::from_str::<Value>(&addon("aa")).unwrap()).unwrap();
        let text = format!("---\n{one}---\nid: [unclosed\n...\n--- {}\n", addon("cc"));
        let chunks = split_documents(&text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].first_line, 2);
        let items = addons_from(&stdin(&text));
        assert!(items[0].document.is_ok(), "{:?}", items[0].document);
        assert!(items[2].document.is_ok(), "{:?}", items[2].document);
        match items[1].document.as_ref().unwrap_err() {
            Error::Input { at, .. } => {
                assert_eq!(at.origin, "<stdin>", "{at}");
                assert!(at.line.unwrap() > chunks[0].first_line, "{at}");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_bad_document_of_a_stream_file_is_pointed_at_in_that_file_at_its_own_line() {
        let one =
            serde_yaml::to_string(&serde_json::from_str::<Value>(&addon("aa")).unwrap()).unwrap();
        let bad = one
            .replace("id: aa", "id: bb")
            .replace("enabled: true", "enabled: yes-please");
        let text = format!("{one}---\n{bad}");
        let enabled_line = text
            .lines()
            .enumerate()
            .filter(|(_, line)| line.starts_with("enabled:"))
            .map(|(i, _)| i + 1)
            .last()
            .unwrap();
        let source = Source::from_text(Origin::File("stream.yaml".into()), text);
        let items = addons_from(&source);
        assert!(items[0].document.is_ok());
        let err = items[1].document.as_ref().unwrap_err().to_string();
        assert!(
            err.contains(&format!("stream.yaml:{enabled_line}: error")),
            "line {enabled_line}: {err}"
        );
        assert!(!err.contains("<stdin>"), "{err}");
    }

    fn inventory_line(ids: &[&str]) -> String {
        let inventory = Inventory::new(
            "stage",
            crate::inventory::Scope::Whole,
            None,
            ids.iter().map(|id| id.to_string()).collect(),
        );
        serde_json::to_string(&inventory).unwrap()
    }

    #[test]
    fn the_inventory_that_ends_a_stream_is_read_apart_from_the_addons() {
        let text = format!(
            "{}\n{}\n{}\n",
            addon("aa"),
            addon("bb"),
            inventory_line(&["aa", "bb", "cc"])
        );
        let stream = stream_from(&stdin(&text));
        assert_eq!(stream.items.len(), 2);
        assert!(stream.items.iter().all(|item| item.document.is_ok()));
        let inventory = stream.inventory.expect("the inventory");
        assert!(inventory.holds("cc"));
    }

    #[test]
    fn a_yaml_stream_may_end_with_the_inventory_too() {
        let inventory: Value = serde_json::from_str(&inventory_line(&["aa"])).unwrap();
        let one =
            serde_yaml::to_string(&serde_json::from_str::<Value>(&addon("aa")).unwrap()).unwrap();
        let text = format!(
            "---\n{one}---\n{}",
            serde_yaml::to_string(&inventory).unwrap()
        );
        let stream = stream_from(&stdin(&text));
        assert_eq!(stream.items.len(), 1);
        assert!(stream.inventory.is_some());
    }

    #[test]
    fn an_inventory_followed_by_documents_is_an_error_and_no_inventory() {
        let text = format!(
            "{}\n{}\n{}\n",
            inventory_line(&["aa"]),
            addon("aa"),
            inventory_line(&["aa"])
        );
        let stream = stream_from(&stdin(&text));
        // The first inventory is misplaced: an error, and the stream keeps
        // only the last one.
        assert_eq!(stream.items.len(), 2);
        let err = stream.items[0].document.as_ref().unwrap_err().to_string();
        assert!(err.contains("<stdin>:1"), "{err}");
        assert!(err.contains("must be the last document"), "{err}");
        assert!(stream.items[1].document.is_ok());
        assert!(stream.inventory.is_some());

        let text = format!("{}\n{}\n", inventory_line(&["aa"]), addon("aa"));
        let stream = stream_from(&stdin(&text));
        assert!(stream.inventory.is_none());
    }

    #[test]
    fn a_broken_inventory_is_an_error_naming_its_line() {
        let broken = inventory_line(&["aa"]).replace("\"scope\":\"whole\"", "\"scope\":\"most\"");
        let text = format!("{}\n{broken}\n", addon("aa"));
        let stream = stream_from(&stdin(&text));
        assert!(stream.inventory.is_none());
        let err = stream.items[1].document.as_ref().unwrap_err().to_string();
        assert!(err.contains("<stdin>:2"), "{err}");
        assert!(err.contains("not a valid add-on inventory"), "{err}");
    }

    #[test]
    fn a_stage_records_the_documents_it_dropped_in_the_inventory_it_passes_on() {
        let text = format!("{}\n{}\n", addon("aa"), inventory_line(&["aa", "bb"]));
        let stream = stream_from(&stdin(&text));
        let mut outcomes = Outcomes::new("catalog-build", 2).with_inventory(stream.inventory);
        outcomes.record_item::<()>(
            Some("aa"),
            "aa (document 1)",
            Err(Error::Invalid("x".into())),
        );
        outcomes.record_item(None, "document 2", Ok(()));
        let failed = &outcomes.inventory().unwrap().failed;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].id.as_deref(), Some("aa"));
        assert_eq!(failed[0].stage, "catalog-build");
    }

    #[test]
    fn a_pretty_printed_json_document_is_one_document() {
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(&addon("pretty")).unwrap())
                .unwrap();
        let items = addons_from(&stdin(&pretty));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].id.as_deref(), Some("pretty"));
        assert!(items[0].document.is_ok());
    }

    #[test]
    fn a_pretty_printed_document_cut_short_is_one_document_with_one_error() {
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(&addon("cut")).unwrap())
                .unwrap();
        let cut = &pretty[..pretty.rfind('}').unwrap()];
        let items = addons_from(&stdin(cut));
        assert_eq!(items.len(), 1, "one document, not one per line");
        let err = items[0].document.as_ref().unwrap_err().to_string();
        assert!(
            err.contains("is JSON that ends early: its closing `}` is missing"),
            "{err}"
        );
        // JSON lines with one line cut short: the others still go through.
        let lines = format!("{}\n{}\n", addon("aa"), &addon("bb")[..20]);
        let items = addons_from(&stdin(&lines));
        assert_eq!(items.len(), 2);
        assert!(items[0].document.is_ok());
        assert!(items[1].document.is_err());
    }

    #[test]
    fn the_worst_exit_status_wins() {
        let mut outcomes = Outcomes::new("test", 3);
        outcomes.record::<()>("a", Err(Error::Invalid("x".into())));
        outcomes.record::<()>("b", Err(Error::remote("r", "down")));
        outcomes.record("c", Ok(()));
        let err = outcomes.finish().unwrap_err();
        assert_eq!(err.exit_status(), ExitStatus::Remote);
        assert!(err.to_string().contains("2 of 3"), "{err}");
        assert!(Outcomes::new("t", 0).finish().is_ok());
        let mut lone = Outcomes::new("t", 1);
        lone.record::<()>("a", Err(Error::usage("as it was")));
        assert_eq!(
            lone.finish().unwrap_err().to_string(),
            Error::usage("as it was").to_string()
        );
    }

    #[test]
    fn a_stream_where_every_document_failed_does_not_say_others_went_through() {
        let mut outcomes = Outcomes::new("t", 2);
        outcomes.record::<()>("a", Err(Error::Invalid("x".into())));
        outcomes.record::<()>("b", Err(Error::Invalid("y".into())));
        let err = outcomes.finish().unwrap_err().to_string();
        assert!(
            err.ends_with("2 of 2 document(s) failed (a, b); none went through"),
            "{err}"
        );
    }

    #[test]
    fn a_later_verdict_counts_a_failure_but_not_the_document_again() {
        let mut outcomes = Outcomes::new("csv-wait", 3);
        outcomes.record::<()>("broken", Err(Error::Invalid("x".into())));
        outcomes.record("alpha", Ok(()));
        outcomes.record("beta", Ok(()));
        outcomes.judge("alpha", Ok(()));
        outcomes.judge::<()>("beta", Err(Error::AddonFailed("failed".into())));
        let err = outcomes.finish().unwrap_err();
        assert_eq!(err.exit_status(), ExitStatus::AddonFailed);
        assert!(
            err.to_string()
                .contains("2 of 3 document(s) failed (broken, beta)"),
            "{err}"
        );
    }
}
