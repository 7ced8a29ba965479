//! The objects the output prints (a `kind: List`, as kubectl prints one),
//! written one by one as they are applied instead of all at the end: the
//! answers of a fleet's objects are then never held together, only the few
//! fields the later steps read ([`crate::answer::Answer`]). The List is the
//! same, byte for byte, as the one written whole
//! ([`common::model::k8s::ListWriter`]), and its items come in input order.

use std::io::{BufWriter, Stdout};

use common::cli::io::Format;
use common::model::k8s::{EncodedItem, ListWriter, MetadataPlace};
use common::Result;
use serde_json::Value;

use crate::apply::Done;

/// The List of objects on stdout, begun at its first item.
pub struct Objects {
    format: Format,
    list: Option<ListWriter<BufWriter<Stdout>>>,
    /// The first failure to write; nothing more is written after it.
    failed: Option<common::Error>,
}

impl Objects {
    pub fn new(format: Format) -> Objects {
        Objects {
            format,
            list: None,
            failed: None,
        }
    }

    /// Writes the object `done` holds whole (when it holds one) as the
    /// List's next item, and lets go of it: `done` keeps its brief.
    pub fn write(&mut self, done: &mut Done) {
        let Some(json) = done.object.as_mut().and_then(|answer| answer.json.take()) else {
            return;
        };
        if self.failed.is_none() {
            // Text that parsed once (a server's answer, our own output)
            // parses again; if it ever did not, say so rather than print null.
            match serde_json::from_slice::<Value>(&json) {
                Ok(object) => self.object(&object),
                Err(err) => {
                    self.failed = Some(common::Error::internal(format!(
                        "an applied object no longer reads as JSON: {err}"
                    )))
                }
            }
        }
    }

    /// Writes `object` as the List's next item.
    pub fn object(&mut self, object: &Value) {
        if self.failed.is_none() {
            if let Err(err) = self.item(object) {
                self.failed = Some(err);
            }
        }
    }

    fn item(&mut self, object: &Value) -> Result<()> {
        let item = EncodedItem::of(object, self.format)?;
        let list = match &mut self.list {
            Some(list) => list,
            None => self.list.insert(start(self.format)?),
        };
        list.encoded(&item)
    }

    /// Ends the List (an empty one when no object was written) and says
    /// whether every item was written.
    pub fn finish(self) -> Result<()> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let list = match self.list {
            Some(list) => list,
            None => start(self.format)?,
        };
        list.finish(None).map(drop)
    }
}

fn start(format: Format) -> Result<ListWriter<BufWriter<Stdout>>> {
    let metadata = Default::default();
    ListWriter::start(
        BufWriter::new(std::io::stdout()),
        format,
        MetadataPlace::First(&metadata),
    )
}
