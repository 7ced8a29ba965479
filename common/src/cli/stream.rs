//! Streams of add-on documents: what every tool reads where it reads one
//! add-on. A stream is JSON lines (one document per line), or a YAML
//! multi-document stream (`---` between documents), or a single document
//! (an `addon.yaml` in a tree, a pretty-printed JSON document).
//!
//! A stream is read as it arrives ([`StreamReader`]): each document is
//! handed out as soon as it has been read, so a tool handles it while the
//! previous stage of the pipe is still writing the next one, and memory
//! holds one document, not the stream. Each document is loaded on its own,
//! so one bad document is reported by its id (or its position when it has
//! none) and the others still go through; the tool's exit code is the worst
//! of them ([`Outcomes`]).
//!
//! A fleet stream ends with an [`Inventory`] (see [`crate::model::inventory`]): it
//! is read apart from the add-ons ([`StreamReader::inventory`], known once
//! the stream has ended, since only the end proves that it is the last
//! document) and written again as the last document of a stage's output
//! ([`write_documents`]), with the add-ons the stage dropped recorded in it
//! ([`Outcomes::receive_inventory`]).

mod split;

use std::collections::VecDeque;
use std::io::BufRead;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::cli::error::{Error, ExitStatus, Location, Result};
use crate::cli::io::{self, Format, Origin, Source};
use crate::model::addon::AddonDocument;
use crate::model::inventory::Inventory;
use split::{RawChunk, Splitter};

/// A whole stream may be this large (one document stays under
/// [`io::MAX_DOCUMENT_BYTES`]): 500 add-ons with icons and image sets.
pub const MAX_STREAM_BYTES: usize = 1 << 30;

/// One document of a stream, loaded or not.
#[derive(Debug)]
pub struct StreamItem {
    /// 1-based position in the stream.
    pub position: usize,
    /// The document's `id`: its add-on's id when it loaded, else the one
    /// read leniently from its text, if there is one.
    pub id: Option<String>,
    pub document: Result<AddonDocument>,
}

impl StreamItem {
    /// `my-addon` or `document 3`: how messages name this document.
    pub fn name(&self) -> String {
        document_name(self.position, self.id.as_deref())
    }
}

/// `my-addon (document 3)` or `document 3`: how messages name the document
/// at `position` whose id was read as `id` ([`StreamItem::name`]), also for
/// a tool that keeps only those two.
pub fn document_name(position: usize, id: Option<&str>) -> String {
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

/// Reads `path` (stdin for `None` or `-`) whole, for a tool whose work
/// needs every document before it starts; the others read a
/// [`StreamReader`]. Only an unreadable input as a whole is an `Err`.
pub fn read_stream(path: Option<&Path>) -> Result<Stream> {
    let mut reader = StreamReader::open(path)?;
    let items = reader.by_ref().collect();
    Ok(Stream {
        items,
        inventory: reader.take_inventory(),
    })
}

/// [`read_stream`]'s add-ons, for a tool that passes no stream on.
pub fn read_addons(path: Option<&Path>) -> Result<Vec<StreamItem>> {
    read_stream(path).map(|stream| stream.items)
}

/// Splits a source already read into its documents and loads each.
pub fn stream_from(source: &Source) -> Stream {
    let mut reader = match source.path().filter(|path| is_addon_yaml(path)) {
        Some(_) => StreamReader::single(source.clone()),
        None => StreamReader::new(
            Box::new(std::io::Cursor::new(source.text.clone().into_bytes())),
            source.origin.clone(),
        ),
    };
    let items = reader.by_ref().collect();
    Stream {
        items,
        inventory: reader.take_inventory(),
    }
}

/// [`stream_from`]'s add-ons.
pub fn addons_from(source: &Source) -> Vec<StreamItem> {
    stream_from(source).items
}

/// What the reader hands out next, in stream order.
#[derive(Debug)]
enum Entry {
    /// An add-on document's text.
    Document(Chunk),
    /// Something that is not a document of the stream: an inventory that
    /// more documents follow, a document over the size limit, a read that
    /// failed.
    Broken { id: Option<String>, error: Error },
}

/// Reads a stream of add-on documents as it arrives, handing out each
/// document, loaded, as soon as it is complete ([`Iterator`]).
///
/// An inventory is recognised only as the last document, and the last is
/// known only at the end: a document that looks like an inventory is held
/// back until the next one arrives (it was misplaced: an error item) or the
/// stream ends (it is [`StreamReader::inventory`]). The first document is
/// held until the second has been read too, to know whether the input is a
/// single document (whose errors point at the file itself, as when a tool
/// reads one add-on).
pub struct StreamReader {
    input: Box<dyn BufRead>,
    origin: Origin,
    /// An `addon.yaml` in a tree: one document, loaded as that file.
    single_file: bool,
    splitter: Splitter,
    /// Documents the splitter completed, not yet handed out.
    complete: VecDeque<RawChunk>,
    /// The bytes read so far, against [`MAX_STREAM_BYTES`].
    bytes_read: usize,
    /// Every document found so far, the inventory's included.
    chunks: usize,
    /// The end of the input was reached (or reading it failed).
    ended: bool,
    /// A document that looks like the inventory, held until it is known
    /// whether it is the last.
    held_inventory: Option<Chunk>,
    /// Entries read ahead of the one handed out.
    ahead: VecDeque<Entry>,
    /// Items handed out so far.
    position: usize,
    inventory: Option<Inventory>,
}

impl std::fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("origin", &self.origin)
            .field("position", &self.position)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl StreamReader {
    /// Opens `path` (stdin for `None` or `-`). Only an input that cannot be
    /// opened at all (a missing file, a folder, a file over
    /// [`MAX_STREAM_BYTES`]) is an `Err`; whatever goes wrong later is an
    /// error item.
    pub fn open(path: Option<&Path>) -> Result<StreamReader> {
        match path {
            Some(path) if path.as_os_str() != "-" => {
                if is_addon_yaml(path) {
                    let source = Source::read_limited(Some(path), MAX_STREAM_BYTES)?;
                    return Ok(StreamReader::single(source));
                }
                let (file, _) = io::open_document(path, MAX_STREAM_BYTES, || {
                    too_large(&Origin::File(path.to_path_buf()))
                })?;
                Ok(StreamReader::new(
                    Box::new(std::io::BufReader::with_capacity(64 * 1024, file)),
                    Origin::File(path.to_path_buf()),
                ))
            }
            _ => Ok(StreamReader::new(
                Box::new(std::io::BufReader::with_capacity(
                    64 * 1024,
                    std::io::stdin(),
                )),
                Origin::Stdin,
            )),
        }
    }

    /// A reader of `input`, whose messages name `origin`.
    pub fn new(input: Box<dyn BufRead>, origin: Origin) -> StreamReader {
        StreamReader {
            input,
            origin,
            single_file: false,
            splitter: Splitter::new(io::MAX_DOCUMENT_BYTES),
            complete: VecDeque::new(),
            bytes_read: 0,
            chunks: 0,
            ended: false,
            held_inventory: None,
            ahead: VecDeque::new(),
            position: 0,
            inventory: None,
        }
    }

    /// An `addon.yaml` in a tree: one document, loaded as that file (its
    /// image set and extra resources are resolved from its place).
    fn single(source: Source) -> StreamReader {
        let mut reader = StreamReader::new(Box::new(std::io::empty()), source.origin);
        reader.single_file = true;
        reader.ended = true;
        reader.complete.push_back(RawChunk {
            first_line: 1,
            bytes: source.text.into_bytes(),
            oversize: false,
        });
        reader
    }

    /// Whether every item has been handed out: the stream has ended, and
    /// [`StreamReader::inventory`] is what ended it (if anything did).
    pub fn is_finished(&self) -> bool {
        self.ended
            && self.ahead.is_empty()
            && self.complete.is_empty()
            && self.held_inventory.is_none()
    }

    /// The inventory that ended the stream; known once
    /// [`StreamReader::is_finished`].
    pub fn inventory(&self) -> Option<&Inventory> {
        self.inventory.as_ref()
    }

    /// [`StreamReader::inventory`], to pass on.
    pub fn take_inventory(&mut self) -> Option<Inventory> {
        self.inventory.take()
    }

    /// The next document the splitter completes; `None` at the end of the
    /// input. A failed read ends the input with an error.
    fn next_chunk(&mut self) -> Option<std::result::Result<RawChunk, Error>> {
        loop {
            if let Some(chunk) = self.complete.pop_front() {
                self.chunks += 1;
                return Some(Ok(chunk));
            }
            if self.ended {
                return None;
            }
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.ended = true;
                    self.splitter.finish(&mut self.complete);
                }
                Err(error) => {
                    self.ended = true;
                    return Some(Err(error));
                }
            }
        }
    }

    /// Reads one line into the splitter, keeping at most a document's worth
    /// of it; `false` at the end of the input.
    fn read_line(&mut self) -> Result<bool> {
        let limit = io::MAX_DOCUMENT_BYTES + 1;
        let mut line = Vec::new();
        let mut cut = false;
        let mut read_any = false;
        loop {
            let buffer = match self.input.fill_buf() {
                Ok(buffer) => buffer,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(Error::input(
                        Location::new(self.origin.to_string()),
                        format!("cannot read: {}", io::describe_io_error(&err)),
                    ))
                }
            };
            if buffer.is_empty() {
                break;
            }
            read_any = true;
            let (taken, done) = match buffer.iter().position(|b| *b == b'\n') {
                Some(at) => (at + 1, true),
                None => (buffer.len(), false),
            };
            let room = limit.saturating_sub(line.len());
            if taken > room {
                cut = true;
            }
            line.extend_from_slice(&buffer[..taken.min(room)]);
            self.input.consume(taken);
            self.bytes_read += taken;
            if self.bytes_read > MAX_STREAM_BYTES {
                return Err(too_large(&self.origin));
            }
            if done {
                break;
            }
        }
        if read_any {
            self.splitter.line(&line, cut, &mut self.complete);
        }
        Ok(read_any)
    }

    /// The next entry in stream order, the inventory taken out; `None` at
    /// the end.
    fn next_entry(&mut self) -> Option<Entry> {
        if let Some(entry) = self.ahead.pop_front() {
            return Some(entry);
        }
        loop {
            let raw = match self.next_chunk() {
                None => return self.held_inventory_at_end(),
                Some(Err(error)) => {
                    // A stream that could not be read to its end proves
                    // nothing: its inventory, if one was held, is dropped.
                    self.held_inventory = None;
                    return Some(Entry::Broken { id: None, error });
                }
                Some(Ok(raw)) => raw,
            };
            let entry = match self.chunk_text(raw) {
                Ok(chunk) if !self.single_file && looks_like_inventory(&chunk.text) => {
                    match self.held_inventory.replace(chunk) {
                        Some(misplaced) => return Some(self.misplaced(misplaced)),
                        None => continue,
                    }
                }
                Ok(chunk) => Entry::Document(chunk),
                Err(error) => Entry::Broken { id: None, error },
            };
            // An inventory held until now is followed by this: misplaced.
            if let Some(misplaced) = self.held_inventory.take() {
                self.ahead.push_back(entry);
                return Some(self.misplaced(misplaced));
            }
            return Some(entry);
        }
    }

    /// The inventory held at the end of the input: the stream's last
    /// document, read as the inventory (or an error item when it is not a
    /// valid one).
    fn held_inventory_at_end(&mut self) -> Option<Entry> {
        let chunk = self.held_inventory.take()?;
        match read_inventory(&self.origin, &chunk, true) {
            Ok(inventory) => {
                self.inventory = Some(inventory);
                None
            }
            Err(error) => Some(Entry::Broken { id: None, error }),
        }
    }

    fn misplaced(&self, chunk: Chunk) -> Entry {
        let error = read_inventory(&self.origin, &chunk, false)
            .err()
            .unwrap_or_else(|| Error::internal("a misplaced inventory was read as valid"));
        Entry::Broken { id: None, error }
    }

    /// A document's bytes as text, or why they are not a document we read.
    fn chunk_text(&self, raw: RawChunk) -> Result<Chunk> {
        let at = Location::new(self.origin.to_string()).line(raw.first_line);
        if raw.oversize {
            return Err(Error::input(
                at,
                format!(
                    "is a document larger than {} MiB; refusing to read it",
                    io::MAX_DOCUMENT_BYTES >> 20
                ),
            ));
        }
        let text = io::check_text(&Origin::Stdin, &raw.bytes)
            .map_err(|err| locate(err, &self.origin, raw.first_line))?;
        Ok(Chunk {
            first_line: raw.first_line,
            text: text.to_string(),
        })
    }
}

impl Iterator for StreamReader {
    type Item = StreamItem;

    fn next(&mut self) -> Option<StreamItem> {
        let entry = self.next_entry()?;
        if self.position == 0 {
            // Whether this is the only document: read the next one first.
            if let Some(next) = self.next_entry() {
                self.ahead.push_front(next);
            }
        }
        self.position += 1;
        let many = self.position > 1 || !self.ahead.is_empty() || self.chunks > 1;
        Some(match entry {
            Entry::Document(chunk) => self.load(chunk, many),
            Entry::Broken { id, error } => StreamItem {
                position: self.position,
                id,
                document: Err(error),
            },
        })
    }
}

impl StreamReader {
    /// Loads one document of the stream. Alone in its file, it is read as
    /// that file; inside a stream, as text whose findings point at the
    /// stream's lines.
    fn load(&self, chunk: Chunk, many: bool) -> StreamItem {
        // Kept to find the id of a document that does not load (a copy:
        // cheaper than peeking into every document that does).
        let text = chunk.text.clone();
        let part = if many || self.origin == Origin::Stdin {
            // Inside a stream the text is not the file: a tree place would be
            // resolved from the wrong path.
            Source::from_text(Origin::Stdin, chunk.text)
        } else {
            Source::from_text(self.origin.clone(), chunk.text)
        };
        let stream_origin = self.origin.to_string();
        let place = many.then_some(crate::model::document::StreamPlace {
            origin: &stream_origin,
            first_line: chunk.first_line,
        });
        let document = crate::model::document::load_valid_at(part, place)
            .map_err(|err| locate(err, &self.origin, chunk.first_line));
        let id = match &document {
            Ok(document) => Some(document.metadata.id.clone()),
            Err(_) => peek_id(&text),
        };
        StreamItem {
            position: self.position,
            id,
            document,
        }
    }
}

fn is_addon_yaml(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n == "addon.yaml" || n == "addon.yml")
}

fn too_large(origin: &Origin) -> Error {
    Error::input(
        Location::new(origin.to_string()),
        format!(
            "is larger than {} MiB; refusing to read more of it as a stream",
            MAX_STREAM_BYTES >> 20
        ),
    )
}

/// Whether a document names the inventory's kind: checked on the text, so
/// that an add-on is never parsed twice.
fn looks_like_inventory(text: &str) -> bool {
    text.contains(crate::model::inventory::KIND)
        && Inventory::is_inventory_json(text).unwrap_or_else(|| {
            crate::cli::io::Source::from_text(Origin::Stdin, text)
                .parse()
                .is_ok_and(|parsed| Inventory::is_inventory(&parsed.value))
        })
}

/// Reads the inventory document; it must be the stream's last.
fn read_inventory(origin: &Origin, chunk: &Chunk, is_last: bool) -> Result<Inventory> {
    let at = Location::new(origin.to_string()).line(chunk.first_line);
    if !is_last {
        return Err(Error::input(
            at,
            "an add-on inventory must be the last document of a stream, and more documents follow \
             this one: the stream was put together from several, so no prune can trust it",
        ));
    }
    // A JSON inventory goes straight into its type: through a generic value
    // it took a list of thousands of values first (0.6 MB at 5,000 add-ons).
    // Any other text (YAML, a repeated key, a mistake) is read as before,
    // so its errors are too.
    if let Ok(inventory) = serde_json::from_str::<Inventory>(&chunk.text) {
        return Ok(inventory);
    }
    let parsed = Source::from_text(Origin::Stdin, chunk.text.as_str()).parse()?;
    serde_json::from_value(parsed.value).map_err(|err| {
        Error::input(
            at,
            format!(
                "is not a valid add-on inventory ({}): {err}",
                crate::model::inventory::KIND
            ),
        )
    })
}

/// Points an error at the document in the stream: the stream's origin and
/// lines counted from the start of the stream. The document's name is said
/// by whoever reports it ([`Outcomes::record`]).
fn locate(err: Error, origin: &Origin, first_line: usize) -> Error {
    match err {
        Error::Input { mut at, message } => {
            at.origin = origin.to_string();
            at.line = at.line.map(|line| line + first_line - 1);
            Error::Input { at, message }
        }
        other => other,
    }
}

/// The `id` of a document that did not load, read leniently so that it is
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
    /// How many documents the stream holds, when known in advance (a stream
    /// read whole); a lone document's error is the tool's error, as when it
    /// read one document.
    expected: Option<usize>,
    total: usize,
    failed: Vec<(String, ExitStatus)>,
    lone_error: Option<Error>,
    /// A stream read as it comes: the first document's error, kept until a
    /// second document shows that it was not a lone one.
    first_error: Option<(String, Error)>,
    /// "add-ons done 3/12" on a terminal, for a stream of several.
    progress: crate::cli::progress::Progress,
    /// Whether the workers advance `progress` themselves ([`Outcomes::counter`]).
    counted_by_workers: bool,
    /// The input's inventory, to pass on with this stage's failures in it.
    inventory: Option<Inventory>,
    /// The ids of the documents that failed before the inventory arrived
    /// (it ends the stream), to record in it then.
    dropped: Vec<Option<String>>,
}

impl Outcomes {
    /// For a stream of `expected` documents, read whole.
    pub fn new(tool: &'static str, expected: usize) -> Outcomes {
        Outcomes {
            expected: Some(expected),
            progress: if expected > 1 {
                crate::cli::progress::Progress::counter("add-ons done", expected as u64)
            } else {
                crate::cli::progress::Progress::hidden()
            },
            ..Outcomes::streaming(tool)
        }
    }

    /// For a stream read as it comes ([`StreamReader`]): how many documents
    /// it holds is known at its end.
    pub fn streaming(tool: &'static str) -> Outcomes {
        Outcomes {
            tool,
            expected: None,
            total: 0,
            failed: Vec::new(),
            lone_error: None,
            first_error: None,
            progress: crate::cli::progress::Progress::hidden(),
            counted_by_workers: false,
            inventory: None,
            dropped: Vec::new(),
        }
    }

    /// Carries the input's inventory: each document that fails here through
    /// [`Outcomes::record_item`] is recorded in it as failed by this tool.
    pub fn with_inventory(mut self, inventory: Option<Inventory>) -> Outcomes {
        self.receive_inventory(inventory);
        self
    }

    /// Takes the inventory that ended the stream (a stream read as it comes
    /// has it at its end), with the documents that failed so far recorded
    /// in it.
    pub fn receive_inventory(&mut self, inventory: Option<Inventory>) {
        self.inventory = inventory;
        if let Some(inventory) = &mut self.inventory {
            for id in self.dropped.drain(..) {
                inventory.record_failure(id.as_deref(), self.tool);
            }
        }
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
            match &mut self.inventory {
                Some(inventory) => inventory.record_failure(item_id, self.tool),
                None => self.dropped.push(item_id.map(str::to_string)),
            }
        }
        self.record(name, result)
    }

    /// The "add-ons done" counter, for workers that finish add-ons out of
    /// order on other threads (the results are recorded afterwards, in
    /// stream order); [`Outcomes::record`] then no longer advances it.
    pub fn counter(&mut self) -> crate::cli::progress::Progress {
        self.counted_by_workers = true;
        self.progress.clone()
    }

    /// Takes the "add-ons done" line off the terminal, for a tool that shows
    /// its own progress instead (csv-wait's tally of the add-ons it watches:
    /// reading the documents is not having them done).
    pub fn without_progress(mut self) -> Outcomes {
        self.progress.finish();
        self.progress = crate::cli::progress::Progress::hidden();
        self
    }

    /// Records one document's result; a failure is printed on stderr at once,
    /// naming the document.
    pub fn record<T>(&mut self, name: &str, result: Result<T>) -> Option<T> {
        self.total += 1;
        if self.expected.is_none() && self.total == 2 && !self.counted_by_workers {
            // A stream of several: count them (one alone draws nothing).
            self.progress = crate::cli::progress::Progress::tally("add-ons done");
            self.progress.inc(1);
        }
        if !self.counted_by_workers {
            self.progress.inc(1);
        }
        self.judge(name, result)
    }

    /// The later verdict on a document already recorded as read (csv-wait
    /// knows whether an add-on failed only after watching it): a failure is
    /// printed and counted, the document is not counted twice.
    pub fn judge<T>(&mut self, name: &str, result: Result<T>) -> Option<T> {
        crate::cli::report::outcome(name, result.as_ref().map(|_| ()));
        if self.total > 1 {
            // A second document: the first one's error was not a lone one.
            if let Some((first, err)) = self.first_error.take() {
                self.print_failure(&first, &err);
            }
        }
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.failed.push((name.to_string(), err.exit_status()));
                match self.expected {
                    Some(1) => self.lone_error = Some(err),
                    None if self.total == 1 => self.first_error = Some((name.to_string(), err)),
                    _ => self.print_failure(name, &err),
                }
                None
            }
        }
    }

    fn print_failure(&self, name: &str, err: &Error) {
        // An error, so printed even under --quiet.
        crate::cli::progress::eprint_line(&format!("{}: {name}: {err}", self.tool));
    }

    pub fn failures(&self) -> usize {
        self.failed.len()
    }

    /// How many documents the stream holds (so far, for a stream read as it
    /// comes).
    pub fn documents(&self) -> usize {
        self.expected.unwrap_or(self.total)
    }

    /// Ok when every document went through; otherwise an error with the
    /// worst exit status among the failures, naming them.
    pub fn finish(self) -> Result<()> {
        self.progress.finish();
        if let Some(err) = self.lone_error {
            return Err(err);
        }
        if let Some((_, err)) = self.first_error {
            // Held, and no second document came: the stream was this one.
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

    /// Gives `text`, then fails the read after it: what a reader handed
    /// out before the failure, it handed out without reading further.
    struct ThenFails(std::io::Cursor<Vec<u8>>);

    impl std::io::Read for ThenFails {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::other("the pipe broke")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn each_document_is_handed_out_before_the_rest_of_the_stream_is_read() {
        let text = format!("{}\n{}\n", addon("first"), addon("second"));
        let input = ThenFails(std::io::Cursor::new(text.into_bytes()));
        // A small buffer: the reader takes the input a few bytes at a time.
        let mut reader = StreamReader::new(
            Box::new(std::io::BufReader::with_capacity(16, input)),
            Origin::Stdin,
        );
        // The first document is out while the input still holds more (the
        // second is read ahead, to know the first is not alone): a reader
        // of the whole stream would have failed before handing out any.
        let first = reader.next().unwrap();
        assert_eq!(first.id.as_deref(), Some("first"));
        assert!(first.document.is_ok(), "{:?}", first.document);
        assert!(!reader.is_finished());
        let second = reader.next().unwrap();
        assert!(second.document.is_ok(), "{:?}", second.document);
        let broken = reader.next().unwrap();
        let err = broken.document.unwrap_err().to_string();
        assert!(
            err.contains("cannot read") && err.contains("the pipe broke"),
            "{err}"
        );
        assert!(reader.next().is_none());
        assert!(reader.is_finished() && reader.inventory().is_none());
    }

    #[test]
    fn yaml_streams_split_at_separators_and_lines_count_from_the_stream() {
        let one =
            serde_yaml::to_string(&serde_json::from_str::<Value>(&addon("aa")).unwrap()).unwrap();
        let text = format!("---\n{one}---\nid: [unclosed\n...\n--- {}\n", addon("cc"));
        let items = addons_from(&stdin(&text));
        assert_eq!(items.len(), 3);
        assert!(items[0].document.is_ok(), "{:?}", items[0].document);
        assert!(items[2].document.is_ok(), "{:?}", items[2].document);
        match items[1].document.as_ref().unwrap_err() {
            Error::Input { at, .. } => {
                assert_eq!(at.origin, "<stdin>", "{at}");
                assert!(at.line.unwrap() > 2, "{at}");
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
            crate::model::inventory::Scope::Whole,
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
        // The text ends on an empty line after its last: the error names
        // that line, as reading the whole text at once does.
        let end = format!("<stdin>:{}:", cut.lines().count() + 1);
        assert!(err.contains(&end), "{err} lacks {end}");
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
