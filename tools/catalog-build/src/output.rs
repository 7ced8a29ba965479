//! Where a build's images go: an OCI image layout on disk, or the
//! registry (the bundle and package images first, then the catalog that
//! names them).

use std::path::Path;

use common::oci::{Image, OciLayout};
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
pub(crate) fn write_layout(
    dir: &Path,
    target: &Target,
    placed: &[Placed],
    catalog: &Image,
) -> Result<String> {
    let layout = OciLayout::new(dir);
    let mut named: Vec<(String, &Image)> = placed
        .iter()
        .map(|placed| (placed.layout_name.clone(), &placed.image))
        .collect();
    named.push((target.tag.clone(), catalog));
    let written = layout.write_images(&named)?;
    if target.base == BaseImage::Scratch {
        common::cli::note_line(format_args!(
            "catalog-build: note: the catalog image is on `scratch` (no network needed); for `opm serve` build on --base-image {DEFAULT_BASE_IMAGE}"
        ));
    }
    common::cli::note_line(format_args!(
        "catalog-build: wrote {} image(s) to the OCI layout {} ({written} new blob(s)); push with skopeo copy oci:{}:{} docker://REGISTRY/REPO:{}",
        named.len(),
        dir.display(),
        dir.display(),
        target.tag,
        target.tag
    ));
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

/// Pushes the bundle (and package) images, then the catalog; returns the
/// catalog's `repo@sha256:` reference. A failure stops at once with an
/// error: nothing is reported as built unless every image was pushed.
pub(crate) fn push_all(
    registry: &mut Registry,
    target: &Target,
    placed: &[Placed],
    catalog: &Image,
    base_source: Option<&Reference>,
) -> Result<String> {
    let Some(repo) = &target.repo else {
        return Err(Error::usage("pushing needs --repo"));
    };
    let mut jobs = Vec::with_capacity(placed.len());
    for placed in placed {
        let target = Reference::try_from(placed.tag_reference())
            .map_err(|err| Error::usage(format!("image name {}: {err}", placed.tag_reference())))?;
        jobs.push(PushJob {
            target,
            image: placed.image.clone(),
            mount_from: None,
            what: placed.what.clone(),
        });
    }
    let what = format!("pushing {} bundle image(s)", jobs.len());
    registry.push_all(&what, jobs)?;
    // The catalog goes last: it names the bundle images, which must exist.
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
