//! Where a stream's rendered objects go: one `kind: List` on stdout, written
//! item by item as each add-on is rendered.
//!
//! Its form depends on the end of the stream: with an inventory (a fleet
//! stream), every object carries the add-on label
//! (`common::model::inventory::ADDON_LABEL`) and the List's metadata, after its
//! items, carries the inventory; without one, the List is what
//! managed-tenants renders. The reader knows which only at the stream's end.
//! When it already knows at the first rendered add-on (a single document,
//! or one and its inventory), the List goes straight to stdout. Otherwise
//! the items are kept aside, labelled, in a temporary file, so that memory
//! stays that of one add-on however long the stream; at the end the List is
//! written from that file, the label taken back out of each item if no
//! inventory came ([`LabelUndo`]).

use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Read, Seek, Write};

use common::cli::io::Format;
use common::model::inventory::{Inventory, ADDON_LABEL, LIST_ANNOTATION};
use common::model::k8s::{EncodedItem, LabelUndo, ListWriter, MetadataPlace, Object};
use common::{Error, Result};
use serde_json::Value;

type Stdout = BufWriter<std::io::StdoutLock<'static>>;

/// The List being written, or its items kept aside.
pub(crate) struct Output {
    format: Format,
    state: State,
}

enum State {
    /// Nothing rendered yet.
    Empty,
    /// Writing the List on stdout; `fleet`: labelled, metadata last.
    Writing {
        writer: ListWriter<Stdout>,
        fleet: bool,
    },
    /// The items so far, labelled, until the stream's end says whether the
    /// labels stay.
    Aside(Spool),
}

impl Output {
    pub fn new(format: Format) -> Output {
        Output {
            format,
            state: State::Empty,
        }
    }

    /// Adds add-on `id`'s objects to the List. `fleet`: whether the stream
    /// ends with an inventory, when that is known already (the stream has
    /// been read to its end).
    pub fn add(&mut self, fleet: Option<bool>, id: &str, objects: Vec<Object>) -> Result<()> {
        if let State::Empty = self.state {
            self.state = match fleet {
                Some(fleet) => State::Writing {
                    writer: start(self.format, fleet)?,
                    fleet,
                },
                None => State::Aside(Spool::new()?),
            };
        }
        for mut object in objects {
            match &mut self.state {
                State::Writing { writer, fleet } => {
                    if *fleet {
                        object.insert_label(ADDON_LABEL, id);
                    }
                    writer.object(&object)?;
                }
                State::Aside(spool) => {
                    let undo = object.insert_label(ADDON_LABEL, id);
                    spool.push(&object, &undo, self.format)?;
                }
                State::Empty => {}
            }
        }
        Ok(())
    }

    /// Ends the List, once the stream has ended: with the inventory
    /// (`inventory`, this stage's failures recorded in it) when the stream
    /// had one. A fleet List is written even when no add-on rendered, so that
    /// its inventory reaches hive-apply; an empty List only when nothing
    /// failed.
    pub fn finish(self, inventory: Option<&Inventory>, failures: usize) -> Result<()> {
        let fleet = inventory.is_some();
        let metadata = inventory.map(list_metadata).transpose()?;
        let writer = match self.state {
            State::Empty if fleet || failures == 0 => start(self.format, fleet)?,
            State::Empty => return Ok(()),
            State::Writing {
                writer,
                fleet: written_as,
            } => {
                if written_as != fleet {
                    return Err(Error::internal(
                        "syncset-render chose the List's form before the stream ended",
                    ));
                }
                writer
            }
            State::Aside(spool) => {
                let mut writer = start(self.format, fleet)?;
                spool.replay(self.format, fleet, &mut writer)?;
                writer
            }
        };
        writer.finish(metadata.as_ref())?;
        Ok(())
    }
}

/// A List on stdout: a fleet one with its metadata last, else as
/// managed-tenants writes it (`metadata: {}` first).
fn start(format: Format, fleet: bool) -> Result<ListWriter<Stdout>> {
    let out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let empty = BTreeMap::new();
    let place = if fleet {
        MetadataPlace::Last
    } else {
        MetadataPlace::First(&empty)
    };
    ListWriter::start(out, format, place)
}

/// The fleet List's metadata: the inventory, as compact JSON text, in the
/// annotation `common::model::inventory::LIST_ANNOTATION`. kubectl reads the
/// List's items and leaves it alone; hive-apply reads it, and trusts it in
/// YAML only after the items.
pub(crate) fn list_metadata(inventory: &Inventory) -> Result<BTreeMap<String, Value>> {
    let mut text = serde_json::to_string(inventory).map_err(Error::internal)?;
    // A fleet's inventory is large: kept once, at its size (`json!` would
    // copy it).
    text.shrink_to_fit();
    let annotations =
        serde_json::Map::from_iter([(LIST_ANNOTATION.to_string(), Value::String(text))]);
    Ok(BTreeMap::from([(
        "annotations".to_string(),
        Value::Object(annotations),
    )]))
}

/// Items kept aside in an unnamed temporary file (gone when the process
/// ends, whatever happens): each item encoded for the List's format, and
/// how to take its label back out.
struct Spool {
    file: BufWriter<std::fs::File>,
}

impl Spool {
    fn new() -> Result<Spool> {
        let file = tempfile::tempfile().map_err(spool_error)?;
        Ok(Spool {
            file: BufWriter::with_capacity(64 * 1024, file),
        })
    }

    /// Keeps an object's items (a set of Namespaces is several), each with
    /// the undo of its label.
    fn push(&mut self, object: &Object, undo: &LabelUndo, format: Format) -> Result<()> {
        let items = EncodedItem::all_of(object, format)?;
        let undo = serde_json::to_string(undo).map_err(Error::internal)?;
        for item in items {
            // `LENGTH\nITEM` then the undo on a line: an item's text may
            // hold newlines (pretty JSON).
            write!(self.file, "{}\n{}{undo}\n", item.0.len(), item.0).map_err(spool_error)?;
        }
        Ok(())
    }

    /// Writes every item kept, in order, into `writer`: as kept for a fleet
    /// List, its label taken out for another.
    fn replay<W: Write>(
        self,
        format: Format,
        fleet: bool,
        writer: &mut ListWriter<W>,
    ) -> Result<()> {
        let mut file = self
            .file
            .into_inner()
            .map_err(|err| spool_error(err.into_error()))?;
        file.rewind().map_err(spool_error)?;
        let mut input = std::io::BufReader::with_capacity(64 * 1024, file);
        let mut line = String::new();
        loop {
            line.clear();
            if input.read_line(&mut line).map_err(spool_error)? == 0 {
                return Ok(());
            }
            let length: usize = line.trim_end().parse().map_err(|_| spool_corrupt())?;
            let mut text = vec![0; length];
            input.read_exact(&mut text).map_err(spool_error)?;
            let item = EncodedItem(String::from_utf8(text).map_err(|_| spool_corrupt())?);
            line.clear();
            input.read_line(&mut line).map_err(spool_error)?;
            if fleet {
                writer.encoded(&item)?;
                continue;
            }
            let undo: LabelUndo =
                serde_json::from_str(line.trim_end()).map_err(|_| spool_corrupt())?;
            let mut value = item.to_value(format)?;
            undo.apply(&mut value, ADDON_LABEL);
            writer.encoded(&EncodedItem::of(&value, format)?)?;
        }
    }
}

fn spool_error(err: std::io::Error) -> Error {
    common::cli::io::spool_error("the rendered objects", err)
}

fn spool_corrupt() -> Error {
    Error::internal("the rendered objects kept aside in a temporary file were not read back whole")
}
