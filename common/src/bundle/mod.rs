//! OLM bundles (registry+v1): a folder with `manifests/` (the CSV, CRDs and
//! other objects) and `metadata/annotations.yaml`, and the add-on bundle trees
//! of managed-tenants-bundles (`main/<semver>/`, one folder per dependency
//! operator, `main/config.yaml`).
//!
//! Loading never stops at the first problem: each one becomes a finding with a
//! `BD` code, so addon-validate reports them all and catalog-build refuses to
//! build from a broken tree.
//!
//! The module is cut at its seams: `csv` holds the wire types of a bundle's
//! CSV and annotations, `tree` loads bundle folders and trees with the BD
//! checks, and `skip_range` parses OLM's `olm.skipRange`.

mod csv;
mod skip_range;
mod tree;

pub use csv::*;
pub use skip_range::*;
pub use tree::*;

pub const PACKAGE_ANNOTATION: &str = "operators.operatorframework.io.bundle.package.v1";
pub const CHANNELS_ANNOTATION: &str = "operators.operatorframework.io.bundle.channels.v1";
pub const DEFAULT_CHANNEL_ANNOTATION: &str =
    "operators.operatorframework.io.bundle.channel.default.v1";
pub const MEDIATYPE_ANNOTATION: &str = "operators.operatorframework.io.bundle.mediatype.v1";
pub const MANIFESTS_ANNOTATION: &str = "operators.operatorframework.io.bundle.manifests.v1";
pub const METADATA_ANNOTATION: &str = "operators.operatorframework.io.bundle.metadata.v1";

/// Bundle finding codes.
pub mod codes {
    /// A bundle folder is not named with a semantic version.
    pub const VERSION_DIR: &str = "BD0001";
    /// `metadata/annotations.yaml` is missing or unusable.
    pub const ANNOTATIONS: &str = "BD0002";
    /// `manifests/` is missing, has no CSV or several, or a file is not YAML.
    pub const MANIFESTS: &str = "BD0003";
    /// The CSV's `spec.version` is missing, starts with `v`, or differs from the folder.
    pub const CSV_VERSION: &str = "BD0004";
    /// `olm.skipRange` is not a semver range.
    pub const SKIP_RANGE: &str = "BD0005";
    /// A symlink leads outside the bundle folder, a folder on the way to a
    /// bundle is a symlink, or a file cannot be read.
    pub const UNSAFE_FILE: &str = "BD0006";
    /// The default channel annotation names no channel of the bundle.
    pub const CHANNELS: &str = "BD0007";
    /// An operator folder holds no bundle, or the tree has no main operator.
    pub const LAYOUT: &str = "BD0008";
    /// A name that becomes a path, a tar entry or an image tag (package,
    /// channel, CSV name, file name) is not a valid Kubernetes/OLM name.
    pub const NAME: &str = "BD0009";
}
