//! `--dry-run` of a stream, read as it comes: each add-on's requests are
//! planned as soon as its document has been read, and kept aside in
//! unnamed temporary files (gone when the process ends, whatever happens)
//! with the notes that go with them, so that memory holds one add-on and
//! the ids, not the stream.
//!
//! Nothing is printed before the stream has ended: an add-on id the stream
//! holds twice refuses every copy (`fleet::refuse_repeated_ids`), and the
//! last copy may be the last document. At the end the notes and outcomes
//! are printed, and the requests written, in stream order, exactly as when
//! the whole stream was read first.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, BufWriter, Read, Seek, Write};

use common::cli::io::Format;
use common::cli::stream::{Outcomes, StreamItem, StreamReader};
use common::model::inventory::Inventory;
use common::{Error, Result};
use serde::ser::{Serialize, SerializeSeq, Serializer};

use crate::fleet::{item_id, repeated_error, repeated_ids, Options};
use crate::publish::{planned, PlannedRequest};

/// One document of the stream, planned: what is kept of each until the
/// stream ends, 20 bytes. Its notes and requests are in the spools, each
/// with its length before it; why it failed, if it did, is among the
/// stream's [`PlannedStream::failures`] (few documents have one).
struct Planned {
    /// Its document's position in the stream (1-based; a stream is far
    /// below 4 GiB documents).
    position: u32,
    /// How many requests it has in the requests spool.
    requests: u32,
    /// Where its add-on id (`fleet::item_id`) is in the stream's
    /// [`PlannedStream::ids`]. The stream reader names a document by the
    /// same id (its add-on's, or the one it read from a broken one).
    id: Option<Span>,
}

/// Where a text is in another (start and end, in bytes).
#[derive(Clone, Copy)]
struct Span(u32, u32);

impl Planned {
    /// Its add-on id, in `ids`, the stream's ids.
    fn id<'a>(&self, ids: &'a str) -> Option<&'a str> {
        self.id
            .map(|Span(start, end)| &ids[start as usize..end as usize])
    }

    /// Its name in messages.
    fn name(&self, ids: &str) -> String {
        common::cli::stream::document_name(self.position as usize, self.id(ids))
    }
}

/// Why a document's requests do not go out.
struct Failure {
    error: Error,
    /// Refused for its repeated id: as if it had not been looked at, its
    /// notes are not printed either.
    refused: bool,
}

/// A stream's add-ons, planned and kept aside until the stream has ended.
pub struct PlannedStream {
    items: Vec<Planned>,
    /// The documents that failed, by their index in `items`.
    failures: BTreeMap<usize, Failure>,
    /// The documents' add-on ids one after another: one text, not an
    /// allocation per document.
    ids: String,
    notes: BufWriter<std::fs::File>,
    requests: BufWriter<std::fs::File>,
    /// The inventory that ended the stream.
    pub inventory: Option<Inventory>,
}

impl PlannedStream {
    /// Reads the stream and plans each add-on as it is read; then refuses
    /// the documents whose add-on id the stream holds more than once.
    pub fn read(options: &Options, mut reader: StreamReader, base: &str) -> Result<PlannedStream> {
        let mut stream = PlannedStream {
            items: Vec::new(),
            failures: BTreeMap::new(),
            ids: String::new(),
            notes: spool()?,
            requests: spool()?,
            inventory: None,
        };
        for item in reader.by_ref() {
            stream.plan(options, item, base)?;
        }
        stream.inventory = reader.take_inventory();
        stream.refuse_repeated_ids();
        Ok(stream)
    }

    fn plan(&mut self, options: &Options, item: StreamItem, base: &str) -> Result<()> {
        let id = match item_id(&item) {
            Some(id) => {
                let start = self.ids.len();
                self.ids.push_str(id);
                let at = |n: usize| u32::try_from(n).map_err(Error::internal);
                Some(Span(at(start)?, at(self.ids.len())?))
            }
            None => None,
        };
        let mut planned_item = Planned {
            position: u32::try_from(item.position).map_err(Error::internal)?,
            requests: 0,
            id,
        };
        let mut failure = None;
        let mut notes = String::new();
        match item.document {
            Err(err) => failure = Some(err),
            Ok(document) => {
                for finding in common::remote::ocm::mtcli_differences(
                    &document,
                    options.service,
                    &options.source,
                ) {
                    notes.push_str(&format!("{finding}\n"));
                }
                match planned(&document, options.service, options.with_version, base) {
                    Ok(requests) => planned_item.requests = self.keep(&requests)?,
                    Err(err) => failure = Some(err),
                }
            }
        }
        write_record(&mut self.notes, notes.as_bytes())?;
        if let Some(error) = failure {
            let failure = Failure {
                error,
                refused: false,
            };
            self.failures.insert(self.items.len(), failure);
        }
        self.items.push(planned_item);
        Ok(())
    }

    /// Writes `requests` to the spool, each as pretty JSON (as the list
    /// shows it, one step out); how many.
    fn keep(&mut self, requests: &[PlannedRequest]) -> Result<u32> {
        let mut text = Vec::new();
        for request in requests {
            text.clear();
            serde_json::to_writer_pretty(&mut text, request).map_err(Error::internal)?;
            write_record(&mut self.requests, &text)?;
        }
        u32::try_from(requests.len()).map_err(Error::internal)
    }

    /// How many documents the stream held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Refuses every document whose add-on id the stream holds more than
    /// once, as `fleet::refuse_repeated_ids` does for a stream read whole.
    fn refuse_repeated_ids(&mut self) {
        let ids = &self.ids;
        let repeated = repeated_ids(&self.items, |item| {
            Some((item.id(ids)?, item.position as usize))
        });
        if repeated.is_empty() {
            return;
        }
        for (index, item) in self.items.iter().enumerate() {
            if let Some((id, positions)) = item.id(ids).and_then(|id| repeated.get_key_value(id)) {
                let failure = Failure {
                    error: repeated_error(id, positions),
                    refused: true,
                };
                self.failures.insert(index, failure);
            }
        }
    }

    /// The add-on ids of the stream's documents, and those of the documents
    /// that failed (unreadable, repeated, or not planned).
    pub fn ids(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut all = BTreeSet::new();
        let mut failed = BTreeSet::new();
        for (index, item) in self.items.iter().enumerate() {
            if let Some(id) = item.id(&self.ids) {
                all.insert(id.to_string());
                if self.failures.contains_key(&index) {
                    failed.insert(id.to_string());
                }
            }
        }
        (all, failed)
    }

    /// Prints each document's notes and records its outcome in `outcomes`,
    /// in stream order; the requests of those that went through are then
    /// ready to be written ([`Requests`]).
    pub fn report(mut self, outcomes: &mut Outcomes) -> Result<Requests> {
        common::cli::note_line(format_args!(
            "ocm-post: dry run: nothing is sent; an object OCM already has is compared and PATCHed without `id` instead of POSTed"
        ));
        let mut notes = reread(self.notes)?;
        let mut held_back = BTreeSet::new();
        let mut text = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            read_record(&mut notes, &mut text).map_err(spool_error)?;
            let failure = self.failures.remove(&index);
            if !failure.as_ref().is_some_and(|failure| failure.refused) {
                for line in String::from_utf8_lossy(&text).lines() {
                    common::cli::note_line(line);
                }
            }
            let result = failure.map_or(Ok(()), |failure| Err(failure.error));
            if outcomes.record(&item.name(&self.ids), result).is_none() {
                held_back.insert(index);
            }
        }
        Ok(Requests {
            counts: self.items.into_iter().map(|item| item.requests).collect(),
            held_back,
            file: std::cell::RefCell::new(reread(self.requests)?),
            extra: Vec::new(),
        })
    }
}

/// The requests of the documents that went through, read back from the
/// spool as they are written, then any `extra` ones (a prune's deletions).
pub struct Requests {
    /// Per document, in stream order: how many requests it has in the spool
    /// (which holds those of every planned document).
    counts: Vec<u32>,
    /// The documents whose requests do not go out, by their index.
    held_back: BTreeSet<usize>,
    file: std::cell::RefCell<BufReader<std::fs::File>>,
    pub extra: Vec<PlannedRequest>,
}

impl Requests {
    pub fn is_empty(&self) -> bool {
        self.extra.is_empty()
            && self
                .spooled()
                .all(|(goes_out, count)| !goes_out || count == 0)
    }

    /// Per document, in stream order: whether its requests go out, and how
    /// many it has in the spool.
    fn spooled(&self) -> impl Iterator<Item = (bool, u32)> + '_ {
        let goes_out = |index| !self.held_back.contains(&index);
        self.counts
            .iter()
            .enumerate()
            .map(move |(index, count)| (goes_out(index), *count))
    }

    /// Writes the requests as one list, as `write_document` writes a list
    /// held whole; in JSON one request in memory at a time.
    pub fn write(&self, format: Format) -> Result<()> {
        let written = match format {
            Format::Json => {
                let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
                self.write_json(&mut out).and_then(|()| out.flush())
            }
            Format::Yaml => return common::cli::io::write_document(self, format),
        };
        common::cli::io::stdout_result(written)
    }

    /// The list as `serde_json::to_writer_pretty` writes it, and a line
    /// end. Each spooled request is copied as it was spooled, already
    /// pretty: not parsed again to be written again.
    fn write_json(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut file = self.file.borrow_mut();
        file.rewind()?;
        let mut written = false;
        let mut text = Vec::new();
        out.write_all(b"[")?;
        for (goes_out, count) in self.spooled() {
            for _ in 0..count {
                read_record(&mut *file, &mut text)?;
                if goes_out {
                    write_list_element(out, &text, &mut written)?;
                }
            }
        }
        for request in &self.extra {
            text.clear();
            serde_json::to_writer_pretty(&mut text, request)?;
            write_list_element(out, &text, &mut written)?;
        }
        out.write_all(if written { b"\n]\n" } else { b"]\n" })
    }
}

/// Writes `pretty` (a value as `serde_json::to_writer_pretty` writes it)
/// as an element of a pretty list: after a comma if one was `written`
/// before it, each line one step in. A line break in pretty JSON is always
/// between tokens (one in a string is escaped), so the lines are the
/// value's own.
fn write_list_element(
    out: &mut impl Write,
    pretty: &[u8],
    written: &mut bool,
) -> std::io::Result<()> {
    out.write_all(if *written { b",\n  " } else { b"\n  " })?;
    for (i, line) in pretty.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.write_all(b"\n  ")?;
        }
        out.write_all(line)?;
    }
    *written = true;
    Ok(())
}

impl Serialize for Requests {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut file = self.file.borrow_mut();
        file.rewind().map_err(S::Error::custom)?;
        let mut list = serializer.serialize_seq(None)?;
        let mut text = Vec::new();
        for (goes_out, count) in self.spooled() {
            for _ in 0..count {
                read_record(&mut *file, &mut text).map_err(S::Error::custom)?;
                if goes_out {
                    let request: serde_json::Value =
                        serde_json::from_slice(&text).map_err(S::Error::custom)?;
                    list.serialize_element(&request)?;
                }
            }
        }
        for request in &self.extra {
            list.serialize_element(request)?;
        }
        list.end()
    }
}

/// Writes one record to a spool: its length, then its bytes.
fn write_record(spool: &mut impl Write, bytes: &[u8]) -> Result<()> {
    let len = u64::try_from(bytes.len()).map_err(Error::internal)?;
    spool
        .write_all(&len.to_le_bytes())
        .and_then(|()| spool.write_all(bytes))
        .map_err(spool_error)
}

/// Reads the next record of a spool into `bytes`.
fn read_record(spool: &mut impl Read, bytes: &mut Vec<u8>) -> std::io::Result<()> {
    let mut len = [0; 8];
    spool.read_exact(&mut len)?;
    let len = usize::try_from(u64::from_le_bytes(len)).map_err(std::io::Error::other)?;
    bytes.resize(len, 0);
    spool.read_exact(bytes)
}

fn spool() -> Result<BufWriter<std::fs::File>> {
    let file = tempfile::tempfile().map_err(spool_error)?;
    Ok(BufWriter::with_capacity(64 * 1024, file))
}

/// A spool, from its start.
fn reread(spool: BufWriter<std::fs::File>) -> Result<BufReader<std::fs::File>> {
    let mut file = spool
        .into_inner()
        .map_err(|err| spool_error(err.into_error()))?;
    file.rewind().map_err(spool_error)?;
    Ok(BufReader::with_capacity(64 * 1024, file))
}

fn spool_error(err: std::io::Error) -> Error {
    common::cli::io::spool_error("the planned requests", err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::cli::io::Origin;

    fn options() -> Options {
        Options {
            service: common::remote::ocm::Service::ClustersMgmt,
            with_version: true,
            compare_only: false,
            jobs: 1,
            prune: None,
            source: "<stdin>".into(),
        }
    }

    fn reader(text: String) -> StreamReader {
        StreamReader::new(
            Box::new(std::io::Cursor::new(text.into_bytes())),
            Origin::Stdin,
        )
    }

    fn addon(id: &str) -> String {
        common::testing::minimal_addon_named(id).to_string()
    }

    #[test]
    fn the_requests_kept_aside_are_the_list_planned_whole_less_the_repeated_ids() {
        let text = format!(
            "{}\n{}\n{{\"id\":\"broken\"}}\n{}\n{}\n",
            addon("aa"),
            addon("bb"),
            addon("aa"),
            addon("cc")
        );
        let stream = PlannedStream::read(&options(), reader(text), "http://ocm.test").unwrap();
        assert_eq!(stream.len(), 5);
        let (all, failed) = stream.ids();
        assert_eq!(all.len(), 4);
        assert_eq!(failed.into_iter().collect::<Vec<_>>(), ["aa", "broken"]);
        let mut outcomes = Outcomes::new("ocm-post", stream.len());
        let requests = stream.report(&mut outcomes).unwrap();
        assert_eq!(outcomes.failures(), 3);
        let mut whole = Vec::new();
        for id in ["bb", "cc"] {
            let document =
                common::testing::document_from(serde_json::from_str(&addon(id)).unwrap());
            whole.extend(planned(&document, options().service, true, "http://ocm.test").unwrap());
        }
        // Written twice the same: the spool is read from its start each time.
        for _ in 0..2 {
            assert_eq!(
                serde_json::to_string_pretty(&requests).unwrap(),
                serde_json::to_string_pretty(&whole).unwrap()
            );
            let mut json = Vec::new();
            requests.write_json(&mut json).unwrap();
            assert_eq!(
                String::from_utf8(json).unwrap(),
                serde_json::to_string_pretty(&whole).unwrap() + "\n"
            );
        }
        assert!(!requests.is_empty());
    }

    #[test]
    fn spooled_requests_are_copied_into_the_list_as_serde_json_writes_it() {
        let text = format!("{}\n{}\n", addon("aa"), addon("bb"));
        let stream = PlannedStream::read(&options(), reader(text), "http://ocm.test").unwrap();
        let mut requests = stream.report(&mut Outcomes::new("ocm-post", 2)).unwrap();
        // Nested and empty objects and arrays, a line break in a string.
        let body = serde_json::json!({"a": {}, "b": [], "c": [1, {"d": "two\nlines"}], "e": null});
        requests.extra = vec![
            PlannedRequest::new("DELETE", "http://ocm.test", "/x", None),
            PlannedRequest::new("PATCH", "http://ocm.test", "/y", Some(body)),
        ];
        let mut json = Vec::new();
        requests.write_json(&mut json).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            serde_json::to_string_pretty(&requests).unwrap() + "\n"
        );

        // Two requests of a document that failed, none of one that did not.
        let mut file = spool().unwrap();
        for _ in 0..2 {
            write_record(&mut file, b"{}").unwrap();
        }
        let empty = Requests {
            counts: vec![2, 0],
            held_back: BTreeSet::from([0]),
            file: std::cell::RefCell::new(reread(file).unwrap()),
            extra: Vec::new(),
        };
        let mut json = Vec::new();
        empty.write_json(&mut json).unwrap();
        assert_eq!(json, b"[]\n");
        assert_eq!(serde_json::to_string_pretty(&empty).unwrap(), "[]");
    }
}
