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

/// Bundle finding codes, from the one table in `finding_codes`.
pub use crate::check::finding_codes::bd as codes;
