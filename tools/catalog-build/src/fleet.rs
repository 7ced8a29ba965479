//! `--bundles-root ROOT --repo-prefix REGISTRY/ORG`: a stream of add-on
//! documents, each add-on's catalog built from `ROOT/<id>/` and pushed to
//! `REGISTRY/ORG/<id>` (with `--oci-layout DIR`, written to `DIR/<id>`).
//! Unchanged add-ons are answered from the build cache. A bad document or a
//! failed build is reported by the add-on's id; the others go through.

use common::io::Format;
use common::stream::{self, Outcomes};
use common::{AddonDocument, Result};

use crate::{build, set_catalog, write_image_sets, Args};

pub fn run(args: &Args) -> Result<()> {
    let root = args.bundles_root.clone().unwrap_or_default();
    let prefix = args
        .repo_prefix
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('/');
    let items = stream::read_addons(args.input.as_deref())?;
    let mut outcomes = Outcomes::new("catalog-build", items.len());
    let mut written: Vec<AddonDocument> = Vec::new();
    let mut registry = None;
    for item in items {
        let name = item.name();
        let result = item.document.and_then(|mut document| {
            let id = document.metadata.id.clone();
            let bundles = root.join(&id);
            if !bundles.is_dir() {
                common::cli::note_line(format_args!(
                    "catalog-build: {id}: no bundles in {}; passed on unchanged",
                    bundles.display()
                ));
                return Ok(document);
            }
            let mut one = args.clone();
            one.bundles = Some(bundles.clone());
            one.repo = Some(format!("{prefix}/{id}"));
            one.oci_layout = args.oci_layout.as_ref().map(|dir| dir.join(&id));
            let result = build(&one, &bundles, true, &mut registry)?;
            write_image_sets(&one, &bundles, &result)?;
            set_catalog(&mut document, result);
            Ok(document)
        });
        if let Some(document) = outcomes.record(&name, result) {
            written.push(document);
        }
    }
    stream::write_documents(&written, args.output.format(Format::Json))?;
    outcomes.finish()
}
