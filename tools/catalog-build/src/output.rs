//! Where a build's images go: an OCI image layout on disk, or the
//! registry (the bundle and package images first, then the catalog that
//! names them).

use std::collections::BTreeMap;
use std::path::Path;

use common::oci::{self, Image, NamedImage, OciLayout};
use common::{Error, Result};
use oci_client::Reference;

use crate::base::{BaseImage, DEFAULT_BASE_IMAGE};
use crate::registry::{PushJob, Registry};
use crate::target::Target;

/// The name of the package image in an OCI layout.
pub(crate) const PACKAGE_LAYOUT_NAME: &str = "package";

/// A built image and where it goes.
pub(crate) struct Placed {
    /// `registry/path` it is pushed to.
    pub(crate) repository: String,
    pub(crate) tag: String,
    /// Its name in an OCI layout.
    pub(crate) layout_name: String,
    pub(crate) image: Image,
    /// What progress lines call it.
    pub(crate) what: String,
}

impl Placed {
    /// The push of this image to `target` (its tag, parsed).
    pub(crate) fn push_job(&self, target: Reference) -> PushJob {
        PushJob {
            target,
            image: self.image.clone(),
            mount_from: None,
            what: self.what.clone(),
        }
    }

    /// `registry/path:tag`.
    pub(crate) fn tag_reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }

    /// `registry/path@sha256:...`, how the catalog and the output name it.
    pub(crate) fn by_digest(&self) -> String {
        format!("{}@{}", self.repository, self.image.digest())
    }
}

/// Writes every image into the OCI layout; returns the catalog's reference.
///
/// With `--repo`, each entry of `index.json` records where its image was
/// built to go ([`oci::PUSH_TO_ANNOTATION`]: the catalog names its bundles
/// there), and the note gives the one command that pushes them all,
/// bundles first. `skopeo copy oci:DIR:latest` alone would push a catalog
/// whose bundle images the registry does not have (`manifest unknown`).
pub(crate) fn write_layout(
    dir: &Path,
    target: &Target,
    placed: &[Placed],
    catalog: &Image,
) -> Result<String> {
    let layout = OciLayout::new(dir);
    let push_to = |reference: String| match &target.repo {
        Some(_) => BTreeMap::from([(oci::PUSH_TO_ANNOTATION.to_string(), reference)]),
        None => BTreeMap::new(),
    };
    let mut named: Vec<NamedImage<'_>> = placed
        .iter()
        .map(|placed| NamedImage {
            name: placed.layout_name.clone(),
            image: &placed.image,
            annotations: push_to(placed.tag_reference()),
        })
        .collect();
    named.push(NamedImage {
        name: target.tag.clone(),
        image: catalog,
        annotations: push_to(
            target
                .repo
                .as_ref()
                .map(Reference::whole)
                .unwrap_or_default(),
        ),
    });
    let written = layout.write_named(&named)?;
    if target.base == BaseImage::Scratch {
        common::cli::note_line(format_args!(
            "catalog-build: note: the catalog image is on `scratch` (no network needed); for `opm serve` build on --base-image {DEFAULT_BASE_IMAGE}"
        ));
    }
    let wrote = format!(
        "catalog-build: wrote {} image(s) to the OCI layout {} ({written} new blob(s))",
        named.len(),
        dir.display(),
    );
    match &target.repo {
        Some(_) => common::cli::note_line(format_args!(
            "{wrote}; push them all (the bundles, then the catalog that names them) with: catalog-build --push-layout {}{}",
            dir.display(),
            if target.insecure_registries.iter().all(|r| crate::registry::is_loopback(r)) {
                ""
            } else {
                " --insecure"
            }
        )),
        None => common::cli::note_line(format_args!(
            "{wrote}; its catalog names its bundles as {}@sha256:..., which no registry serves: to push it, write it with --repo REGISTRY/REPO, then run catalog-build --push-layout {}",
            target.bundle_repo,
            dir.display()
        )),
    }
    Ok(match &target.repo {
        Some(repo) => format!(
            "{}/{}@{}",
            repo.resolve_registry(),
            repo.repository(),
            catalog.digest()
        ),
        None => format!("oci:{}:{}", dir.display(), target.tag),
    })
}

/// Pushes the catalog (the bundle and package images it names are pushed
/// already); returns its `repo@sha256:` reference and prints the summary of
/// the build's pushes.
pub(crate) fn push_catalog(
    registry: &mut Registry,
    target: &Target,
    catalog: &Image,
    base_source: Option<&Reference>,
) -> Result<String> {
    let Some(repo) = &target.repo else {
        return Err(Error::usage("pushing needs --repo"));
    };
    registry.push_all(
        &format!("pushing the catalog {}", repo.whole()),
        vec![PushJob {
            target: repo.clone(),
            image: catalog.clone(),
            mount_from: base_source.cloned(),
            what: "catalog".into(),
        }],
    )?;
    let pushed = format!(
        "{}/{}@{}",
        repo.resolve_registry(),
        repo.repository(),
        catalog.digest()
    );
    let stats = registry.stats;
    common::cli::note_line(format_args!(
        "catalog-build: pushed {pushed}: {} blob(s) uploaded ({} bytes), {} already present, {} mounted, {} manifest(s) written",
        stats.uploaded_blobs, stats.uploaded_bytes, stats.present_blobs, stats.mounted_blobs, stats.manifests_written
    ));
    Ok(pushed)
}
