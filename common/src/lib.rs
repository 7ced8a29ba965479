//! The shared core of addon-flow, by subject:
//!
//! - [`model`]: the documents (add-on metadata, image sets, OLM bundles, the
//!   Kubernetes objects rendered from them, the fleet inventory);
//! - [`check`]: managed-tenants' schemas and rules, findings and their codes;
//! - [`cli`]: the plumbing of a Unix tool (flags, man pages, document
//!   streams, errors with exit codes, progress, CI reports);
//! - [`remote`]: the HTTP client and the APIs of Kubernetes, OCM, Prometheus;
//! - [`oci`]: reproducible OCI images, layouts and file-based catalogs;
//! - [`text`]: YAML, Jinja2, base64, times and URL encoding, as the real
//!   systems read and write them.

pub mod check;
pub mod cli;
pub mod model;
#[cfg(feature = "digest")]
pub mod oci;
#[cfg(feature = "remote")]
pub mod remote;
/// Compiled in every build, not behind a feature: a feature that only the
/// tools' dev-dependencies turn on gives `cargo test` and `cargo build` two
/// different builds of common, so each would rebuild every tool in turn.
pub mod testing;
pub mod text;

pub use check::field_path::FieldPath;
pub use check::finding::{Finding, Severity};
pub use check::finding_codes::Code;
pub use cli::error::{run_tool, Error, ExitStatus, Location, RemoteKind, Result};
pub use cli::{tool_main, ManPage};
pub use model::addon::{AddonDocument, AddonMetadata};
