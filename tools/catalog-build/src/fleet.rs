//! `--bundles-root ROOT --repo-prefix REGISTRY/ORG`: a stream of add-on
//! documents, each add-on's catalog built from `ROOT/<id>/` and pushed to
//! `REGISTRY/ORG/<id>` (with `--oci-layout DIR`, written to `DIR/<id>`).
//! Unchanged add-ons are answered from the build cache. A bad document or a
//! failed build is reported by the add-on's id; the others go through.
//!
//! The work is done in three passes so that an unchanged fleet costs one
//! round of registry checks, not one per add-on: every add-on's cache
//! lookup first (local: a hash of its bundle folder, the folders read on
//! every core), then one concurrent check of every hit's images in the
//! registry, then each add-on in stream order (a verified hit is answered
//! at once, anything else is built).

use std::path::{Path, PathBuf};

use common::cli::io::Format;
use common::cli::stream::{self, Outcomes};
use common::{AddonDocument, Result};

use crate::cache;
use crate::pipeline::{cache_lookup_dir, finish, prepare, registry_for, Prepared};
use crate::registry::Registry;
use crate::{image_set_targets, imagesets, set_catalog, write_image_sets, Args};

/// One add-on of the stream after the first pass.
enum Planned {
    /// A bad document, or a build that could not even be prepared.
    Failed(common::Error),
    /// No bundle folder: the document goes through unchanged.
    PassedOn(Box<AddonDocument>),
    /// To be answered from the cache or built.
    Build(Box<Build>),
}

struct Build {
    document: AddonDocument,
    args: Args,
    bundles: PathBuf,
    prepared: Prepared,
    /// Where `--imagesets-out` writes this add-on's image sets.
    image_sets: Option<imagesets::Targets>,
    /// Whether the registry still has every image of the cache hit, when
    /// the second pass asked.
    verified: Option<bool>,
}

pub fn run(args: &Args) -> Result<()> {
    let root = args.bundles_root.clone().unwrap_or_default();
    let prefix = args
        .repo_prefix
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('/');
    let stream = stream::read_stream(args.input.as_deref())?;
    let items = stream.items;
    let mut outcomes = Outcomes::new("catalog-build", items.len()).with_inventory(stream.inventory);
    let mut registry = None;

    let mut folder_inputs = read_folders_ahead(args, &root, &items).into_iter();
    let mut planned: Vec<(Option<String>, String, Planned)> = Vec::with_capacity(items.len());
    for item in items {
        let name = item.name();
        let folder_input = folder_inputs.next().flatten();
        let plan = match item.document {
            Err(err) => Planned::Failed(err),
            Ok(document) => plan(args, &root, prefix, document, &mut registry, folder_input),
        };
        planned.push((item.id, name, plan));
    }
    verify_hits(&mut planned, registry.as_mut());

    let mut written: Vec<AddonDocument> = Vec::new();
    for (id, name, plan) in planned {
        let result = match plan {
            Planned::Failed(err) => Err(err),
            Planned::PassedOn(document) => Ok(*document),
            Planned::Build(build) => finish_one(*build, &mut registry),
        };
        if let Some(document) = outcomes.record_item(id.as_deref(), &name, result) {
            // Loaded checked (sealed or in full) and changed here: sealed
            // again, so that the next stage need not check it again.
            written.push(common::model::seal::seal(document));
        }
    }
    stream::write_documents(
        &written,
        outcomes.inventory(),
        args.output.format(Format::Json),
    )?;
    outcomes.finish()
}

/// Each add-on's bundle folder read for its cache key
/// ([`cache::folder_input`]), on every core: the one part of the first
/// pass that does not need the registry, and most of an unchanged fleet's
/// CPU when it was done add-on by add-on. None for an item that is not
/// built from its folder, and for every item when no cache is looked up.
fn read_folders_ahead(
    args: &Args,
    root: &Path,
    items: &[stream::StreamItem],
) -> Vec<Option<Result<Vec<u8>>>> {
    if cache_lookup_dir(args).is_none() {
        return Vec::new();
    }
    common::cli::parallel::map_bounded(items, common::cli::parallel::cores(), |item| {
        let document = item.document.as_ref().ok()?;
        let bundles = root.join(&document.metadata.id);
        bundles.is_dir().then(|| cache::folder_input(&bundles))
    })
}

/// The first pass for one add-on: its own arguments (bundles, repository,
/// layout) and its cache lookup.
fn plan(
    args: &Args,
    root: &Path,
    prefix: &str,
    document: AddonDocument,
    registry: &mut Option<Registry>,
    folder_input: Option<Result<Vec<u8>>>,
) -> Planned {
    let id = document.metadata.id.clone();
    let bundles = root.join(&id);
    if !bundles.is_dir() {
        common::cli::note_line(format_args!(
            "catalog-build: {id}: no bundles in {}; passed on unchanged",
            bundles.display()
        ));
        return Planned::PassedOn(Box::new(document));
    }
    let mut one = args.clone();
    one.bundles = Some(bundles.clone());
    one.repo = Some(format!("{prefix}/{id}"));
    one.oci_layout = args.oci_layout.as_ref().map(|dir| dir.join(&id));
    let prepared = image_set_targets(&one, &bundles).and_then(|image_sets| {
        prepare(&one, &bundles, true, registry, folder_input).map(|prepared| (prepared, image_sets))
    });
    match prepared {
        Ok((prepared, image_sets)) => Planned::Build(Box::new(Build {
            document,
            args: one,
            bundles,
            prepared,
            image_sets,
            verified: None,
        })),
        Err(err) => Planned::Failed(err),
    }
}

/// The second pass: every cache hit's images checked in the registry at
/// once (the hits whose registry client is the one made last; any other is
/// checked on its own in the third pass).
fn verify_hits(planned: &mut [(Option<String>, String, Planned)], registry: Option<&mut Registry>) {
    let Some(registry) = registry else {
        return;
    };
    let mut hits: Vec<&mut Build> = planned
        .iter_mut()
        .filter_map(|(_, _, plan)| match plan {
            Planned::Build(build)
                if build.prepared.hit().is_some()
                    && build.prepared.target.insecure_registries == registry.insecure =>
            {
                Some(build.as_mut())
            }
            _ => None,
        })
        .collect();
    let sets: Vec<&[crate::cache::CachedImage]> = hits
        .iter()
        .filter_map(|build| build.prepared.hit().map(|hit| hit.images.as_slice()))
        .collect();
    let found = registry.has_manifests_each(&sets);
    for (build, found) in hits.iter_mut().zip(found) {
        build.verified = Some(found);
    }
}

/// The third pass for one add-on: the cached or fresh build, its image
/// sets, and the document pointing at the catalog.
fn finish_one(build: Build, registry: &mut Option<Registry>) -> Result<AddonDocument> {
    let Build {
        mut document,
        args,
        bundles,
        prepared,
        image_sets,
        verified,
    } = build;
    let registry = registry_for(&prepared.target, &args, registry)?;
    let verified = verified.unwrap_or_else(|| {
        prepared
            .hit()
            .is_some_and(|hit| registry.has_manifests(&hit.images))
    });
    let result = finish(prepared, &bundles, registry, verified)?;
    write_image_sets(image_sets.as_ref(), &result)?;
    set_catalog(&mut document, result);
    Ok(document)
}
