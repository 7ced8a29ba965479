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

/// One document of the stream, planned; its notes and requests are in the
/// spools.
struct Planned {
    position: usize,
    name: String,
    id: Option<String>,
    /// The size of its notes in the notes spool.
    notes: u64,
    /// The size of each of its requests in the requests spool.
    requests: Vec<u64>,
    /// Whether its requests go out, or why not.
    result: Result<()>,
    /// Refused for its repeated id: as if it had not been looked at, its
    /// notes are not printed either.
    refused: bool,
}

/// A stream's add-ons, planned and kept aside until the stream has ended.
pub struct PlannedStream {
    items: Vec<Planned>,
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
        let mut planned_item = Planned {
            position: item.position,
            name: item.name(),
            id: item_id(&item).map(str::to_string),
            notes: 0,
            requests: Vec::new(),
            result: Ok(()),
            refused: false,
        };
        match item.document {
            Err(err) => planned_item.result = Err(err),
            Ok(document) => {
                for finding in common::remote::ocm::mtcli_differences(
                    &document,
                    options.service,
                    &options.source,
                ) {
                    let line = format!("{finding}\n");
                    self.notes.write_all(line.as_bytes()).map_err(spool_error)?;
                    planned_item.notes += line.len() as u64;
                }
                match planned(&document, options.service, options.with_version, base) {
                    Ok(requests) => planned_item.requests = self.keep(&requests)?,
                    Err(err) => planned_item.result = Err(err),
                }
            }
        }
        self.items.push(planned_item);
        Ok(())
    }

    /// Writes `requests` to the spool; their sizes there.
    fn keep(&mut self, requests: &[PlannedRequest]) -> Result<Vec<u64>> {
        let mut sizes = Vec::with_capacity(requests.len());
        for request in requests {
            let text = serde_json::to_vec(request).map_err(Error::internal)?;
            self.requests.write_all(&text).map_err(spool_error)?;
            sizes.push(text.len() as u64);
        }
        Ok(sizes)
    }

    /// How many documents the stream held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Refuses every document whose add-on id the stream holds more than
    /// once, as `fleet::refuse_repeated_ids` does for a stream read whole.
    fn refuse_repeated_ids(&mut self) {
        let repeated = repeated_ids(
            self.items
                .iter()
                .filter_map(|item| Some((item.id.as_deref()?, item.position))),
        );
        for item in &mut self.items {
            if let Some((id, positions)) =
                item.id.as_deref().and_then(|id| repeated.get_key_value(id))
            {
                item.result = Err(repeated_error(id, positions));
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
            if let Some(id) = &item.id {
                all.insert(id.clone());
                if item.result.is_err() {
                    failed.insert(id.clone());
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
        for item in self.items {
            let mut text = vec![0; item.notes as usize];
            notes.read_exact(&mut text).map_err(spool_error)?;
            if !item.refused {
                for line in String::from_utf8_lossy(&text).lines() {
                    common::cli::note_line(line);
                }
            }
            let goes_out = outcomes.record(&item.name, item.result).is_some();
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
    /// Per document, in stream order: whether its requests go out, and the
    /// size of each in the spool (which holds those of every planned
    /// document).
    spooled: Vec<(bool, Vec<u64>)>,
    file: std::cell::RefCell<BufReader<std::fs::File>>,
    pub extra: Vec<PlannedRequest>,
}

impl Requests {
    pub fn is_empty(&self) -> bool {
        self.extra.is_empty()
            && self
                .spooled
                .iter()
                .all(|(goes_out, sizes)| !goes_out || sizes.is_empty())
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
        for (goes_out, sizes) in &self.spooled {
            for size in sizes {
                text.resize(*size as usize, 0);
                file.read_exact(&mut text).map_err(S::Error::custom)?;
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
