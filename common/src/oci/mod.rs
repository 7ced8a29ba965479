//! OCI images built without a daemon: deterministic tar + gzip layers, the
//! image config, manifest and index JSON, content digests, and the OCI image
//! layout on disk (<https://github.com/opencontainers/image-spec>).
//!
//! Everything here is byte-for-byte reproducible: tar entries are sorted and
//! carry mtime 0, uid/gid 0 and no user names; gzip headers carry no time or
//! file name; JSON is written with a fixed key order. The same input therefore
//! always gives the same digests, which is what lets a re-run skip every blob
//! the registry already has.
//!
//! Cut at its seams: `digest` names blobs, `tar` writes reproducible
//! layers, `image` holds the OCI JSON types and image configs, `layout`
//! reads and writes an OCI image layout folder; `fbc` is the file-based
//! catalog that goes into the catalog image.

#[cfg(feature = "oci")]
pub mod fbc;

mod digest;
#[cfg(feature = "oci")]
mod image;
#[cfg(feature = "oci")]
mod layout;
#[cfg(feature = "oci")]
mod tar;

pub use digest::*;
#[cfg(feature = "oci")]
pub use image::*;
#[cfg(feature = "oci")]
pub use layout::*;
#[cfg(feature = "oci")]
pub use tar::*;

pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// The annotation an OCI layout's `index.json` uses for a tag.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// Our annotation, on an image's entry of an OCI layout's `index.json`: the
/// `registry/repository:tag` the image was built to be pushed to (the
/// catalog names its bundles there), so that the layout can be pushed
/// whole later (`catalog-build --push-layout DIR`).
pub const PUSH_TO_ANNOTATION: &str = "io.openshift.addon-flow.push-to";
