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

use std::collections::BTreeSet;
use std::io::{BufReader, BufWriter, Read, Seek, Write};

use common::cli::io::Format;
use common::cli::stream::{Outcomes, StreamItem, StreamReader};
use common::model::inventory::Inventory;
use common::{Error, Result};
use serde::ser::{Serialize, SerializeSeq, Serializer};

use crate::fleet::{item_id, repeated_error, repeated_ids, Options};
use crate::publish::{planned, PlannedRequest};

/// One document of the stream, planned: what is kept of it until the
/// stream ends, a few dozen bytes. Its notes and requests are in the
/// spools, each with its length before it.
struct Planned {
    /// Its document's position in the stream (1-based; a stream is far
    /// below 4 GiB documents).
    position: u32,
    /// How many requests it has in the requests spool.
    requests: u32,
    /// Where its add-on id (`fleet::item_id`) is in the stream's
    /// [`PlannedStream::ids`].
    id: Option<Span>,
    /// The id the stream reader read, which names the document in
    /// messages, when it is not `id` (nearly never: boxed).
    named_otherwise: Option<Box<Named>>,
    /// Why its requests do not go out (boxed: most documents have none).
    failure: Option<Box<Error>>,
    /// Refused for its repeated id: as if it had not been looked at, its
    /// notes are not printed either.
    refused: bool,
}

/// The id that names a document in messages, when it is not its add-on id
/// (none, when the reader read none).
struct Named(Option<Box<str>>);

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
        let id = match &self.named_otherwise {
            None => self.id(ids),
            Some(named) => named.0.as_deref(),
        };
        common::cli::stream::document_name(self.position as usize, id)
    }

    fn result(&mut self) -> Result<()> {
        match self.failure.take() {
            Some(err) => Err(*err),
            None => Ok(()),
        }
    }
}

/// A stream's add-ons, planned and kept aside until the stream has ended.
pub struct PlannedStream {
    items: Vec<Planned>,
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
        let id = item_id(&item);
        let named_otherwise =
            (item.id.as_deref() != id).then(|| Box::new(Named(item.id.as_deref().map(Box::from))));
        let id = match id {
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
            named_otherwise,
            failure: None,
            refused: false,
        };
        let mut notes = String::new();
        match item.document {
            Err(err) => planned_item.failure = Some(Box::new(err)),
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
                    Err(err) => planned_item.failure = Some(Box::new(err)),
                }
            }
        }
        write_record(&mut self.notes, notes.as_bytes())?;
        self.items.push(planned_item);
        Ok(())
    }

    /// Writes `requests` to the spool; how many.
    fn keep(&mut self, requests: &[PlannedRequest]) -> Result<u32> {
        for request in requests {
            let text = serde_json::to_vec(request).map_err(Error::internal)?;
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
        for item in &mut self.items {
            if let Some((id, positions)) = item.id(ids).and_then(|id| repeated.get_key_value(id)) {
                item.failure = Some(Box::new(repeated_error(id, positions)));
                item.refused = true;
            }
        }
    }

    /// The add-on ids of the stream's documents, and those of the documents
    /// that failed (unreadable, repeated, or not planned).
    pub fn ids(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut all = BTreeSet::new();
        let mut failed = BTreeSet::new();
        for item in &self.items {
            if let Some(id) = item.id(&self.ids) {
                all.insert(id.to_string());
                if item.failure.is_some() {
                    failed.insert(id.to_string());
                }
            }
        }
        (all, failed)
    }

    /// Prints each document's notes and records its outcome in `outcomes`,
    /// in stream order; the requests of those that went through are then
    /// ready to be written ([`Requests`]).
    pub fn report(self, outcomes: &mut Outcomes) -> Result<Requests> {
        common::cli::note_line(format_args!(
            "ocm-post: dry run: nothing is sent; an object OCM already has is compared and PATCHed without `id` instead of POSTed"
        ));
        let mut notes = reread(self.notes)?;
        let mut spooled = Vec::with_capacity(self.items.len());
        let mut text = Vec::new();
        for mut item in self.items {
            read_record(&mut notes, &mut text).map_err(spool_error)?;
            if !item.refused {
                for line in String::from_utf8_lossy(&text).lines() {
                    common::cli::note_line(line);
                }
            }
            let name = item.name(&self.ids);
            let goes_out = outcomes.record(&name, item.result()).is_some();
            spooled.push((goes_out, item.requests));
        }
        Ok(Requests {
            spooled,
            file: std::cell::RefCell::new(reread(self.requests)?),
            extra: Vec::new(),
        })
    }
}

/// The requests of the documents that went through, read back from the
/// spool as they are written, then any `extra` ones (a prune's deletions).
pub struct Requests {
    /// Per document, in stream order: whether its requests go out, and how
    /// many it has in the spool (which holds those of every planned
    /// document).
    spooled: Vec<(bool, u32)>,
    file: std::cell::RefCell<BufReader<std::fs::File>>,
    pub extra: Vec<PlannedRequest>,
}

impl Requests {
    pub fn is_empty(&self) -> bool {
        self.extra.is_empty()
            && self
                .spooled
                .iter()
                .all(|(goes_out, count)| !goes_out || *count == 0)
    }

    /// Writes the requests as one list, as `write_document` writes a list
    /// held whole; in JSON one request in memory at a time.
    pub fn write(&self, format: Format) -> Result<()> {
        let written = match format {
            Format::Json => {
                let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
                serde_json::to_writer_pretty(&mut out, self)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
                    .and_then(|()| out.flush())
            }
            Format::Yaml => return common::cli::io::write_document(self, format),
        };
        common::cli::io::stdout_result(written)
    }
}

impl Serialize for Requests {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut file = self.file.borrow_mut();
        file.rewind().map_err(S::Error::custom)?;
        let mut list = serializer.serialize_seq(None)?;
        let mut text = Vec::new();
        for (goes_out, count) in &self.spooled {
            for _ in 0..*count {
                read_record(&mut *file, &mut text).map_err(S::Error::custom)?;
                if *goes_out {
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
        }
        assert!(!requests.is_empty());
    }
}
