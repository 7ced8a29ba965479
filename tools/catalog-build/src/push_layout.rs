//! `--push-layout DIR`: pushes everything an OCI layout written by
//! `--oci-layout DIR --repo REGISTRY/REPO` holds, each image to where it was
//! built to go (the `push-to` annotation of its `index.json` entry), the
//! bundle and package images first, then the catalogs that name them.
//!
//! One `skopeo copy` per tag would do the same; `skopeo copy oci:DIR:latest`
//! alone pushes a catalog whose bundles the registry does not have.

use std::path::Path;

use common::cli::io::Format;
use common::oci::{self, Image, OciLayout};
use common::{Error, Result};
use oci_client::Reference;
use serde::Serialize;

use crate::images::CONFIGS_LABEL;
use crate::registry::{self, PushJob, Registry};
use crate::Args;

/// One image of the layout, pushed.
#[derive(Debug, Serialize)]
struct Pushed {
    /// Its name in the layout.
    name: String,
    /// `registry/repo:tag` it was pushed to.
    tag: String,
    /// `registry/repo@sha256:...`.
    image: String,
}

/// The result printed: every image pushed, in the order pushed.
#[derive(Debug, Serialize)]
struct PushedLayout {
    pushed: Vec<Pushed>,
}

/// An image of the layout and where it goes.
struct Entry {
    name: String,
    target: Reference,
    image: Image,
}

impl Entry {
    fn is_catalog(&self) -> bool {
        serde_json::from_slice::<serde_json::Value>(&self.image.config.data)
            .ok()
            .is_some_and(|config| config["config"]["Labels"].get(CONFIGS_LABEL).is_some())
    }

    fn pushed(&self) -> Pushed {
        Pushed {
            name: self.name.clone(),
            tag: self.target.whole(),
            image: format!(
                "{}/{}@{}",
                self.target.resolve_registry(),
                self.target.repository(),
                self.image.digest()
            ),
        }
    }
}

pub fn run(args: &Args, dir: &Path) -> Result<()> {
    let (catalogs, others): (Vec<Entry>, Vec<Entry>) =
        read_entries(dir)?.into_iter().partition(Entry::is_catalog);
    let insecure: Vec<String> = catalogs
        .iter()
        .chain(&others)
        .map(|entry| entry.target.resolve_registry().to_string())
        .filter(|host| args.insecure || registry::is_loopback(host))
        .collect();
    let mut registry = Registry::new(insecure, args.request_timeout)?;
    let mut pushed = Vec::new();
    // The catalogs go last: they name the bundle images, which must exist.
    for (what, entries) in [("bundle and package", others), ("catalog", catalogs)] {
        if entries.is_empty() {
            continue;
        }
        pushed.extend(entries.iter().map(Entry::pushed));
        let jobs = entries
            .into_iter()
            .map(|entry| PushJob {
                what: entry.name,
                target: entry.target,
                image: entry.image,
                mount_from: None,
            })
            .collect::<Vec<_>>();
        registry.push_all(&format!("pushing {} {what} image(s)", jobs.len()), jobs)?;
    }
    let stats = registry.stats;
    common::cli::note_line(format_args!(
        "catalog-build: pushed {} image(s) of {}: {} blob(s) uploaded ({} bytes), {} already present, {} manifest(s) written",
        pushed.len(),
        dir.display(),
        stats.uploaded_blobs,
        stats.uploaded_bytes,
        stats.present_blobs,
        stats.manifests_written
    ));
    common::cli::io::write_document(&PushedLayout { pushed }, args.output.format(Format::Json))
}

/// Every image of the layout with where it goes; an error, before anything
/// is pushed, when one says nowhere (written without `--repo`, whose
/// catalog names its bundles in no registry) or the layout holds none.
fn read_entries(dir: &Path) -> Result<Vec<Entry>> {
    let layout = OciLayout::new(dir);
    let index_file = dir.join("index.json");
    if !index_file.is_file() {
        return Err(Error::in_file(
            dir,
            "is not an OCI layout (no index.json; expected a folder written by catalog-build --oci-layout)",
        ));
    }
    let mut entries = Vec::new();
    let mut nowhere = Vec::new();
    for descriptor in layout.index()?.manifests {
        let annotations = descriptor.annotations.unwrap_or_default();
        let Some(name) = annotations.get(oci::REF_NAME_ANNOTATION) else {
            nowhere.push(descriptor.digest);
            continue;
        };
        let Some(push_to) = annotations.get(oci::PUSH_TO_ANNOTATION) else {
            nowhere.push(name.clone());
            continue;
        };
        let target = Reference::try_from(push_to.as_str()).map_err(|err| {
            Error::in_file(
                &index_file,
                format!(
                    "{name}: {} {push_to:?} is not an image reference: {err}",
                    oci::PUSH_TO_ANNOTATION
                ),
            )
        })?;
        entries.push(Entry {
            name: name.clone(),
            target,
            image: layout.read_image(Some(name))?,
        });
    }
    if !nowhere.is_empty() {
        return Err(Error::in_file(
            &index_file,
            format!(
                "{} image(s) say nowhere to be pushed ({}): the layout was written without --repo, so its catalog names its bundles in no registry; write it again with --oci-layout {} --repo REGISTRY/REPO",
                nowhere.len(),
                nowhere.join(", "),
                dir.display()
            ),
        ));
    }
    if entries.is_empty() {
        return Err(Error::in_file(&index_file, "holds no image to push"));
    }
    Ok(entries)
}
