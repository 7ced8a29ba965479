//! The shared core of addon-flow: the data model every tool reads and writes
//! (add-on metadata, image sets, OLM bundles), the schemas managed-tenants
//! checks them against, and the plumbing of a Unix tool (document I/O, errors
//! with exit codes, findings).

pub mod addon;
pub mod base64;
pub mod bundle;
pub mod cli;
pub mod document;
pub mod error;
#[cfg(feature = "oci")]
pub mod fbc;
pub mod field_path;
pub mod finding;
pub mod finding_codes;
#[cfg(feature = "remote")]
pub mod http;
pub mod imageset;
pub mod install_settings;
#[cfg(feature = "remote")]
pub mod installation;
pub mod inventory;
pub mod io;
pub mod jinja;
pub mod k8s;
#[cfg(feature = "remote")]
pub mod kubeconfig;
pub mod load_rules;
pub mod names;
#[cfg(feature = "digest")]
pub mod oci;
#[cfg(feature = "remote")]
pub mod ocm;
#[cfg(feature = "remote")]
pub mod ocm_auth;
pub mod parallel;
pub mod progress;
#[cfg(feature = "remote")]
pub mod prometheus;
pub mod redact;
pub mod report;
pub mod schema;
pub mod schemas;
pub mod seal;
pub mod stream;
/// Compiled in every build, not behind a feature: a feature that only the
/// tools' dev-dependencies turn on gives `cargo test` and `cargo build` two
/// different builds of common, so each would rebuild every tool in turn.
pub mod testing;
pub mod time;
pub mod url_encoding;
pub mod yaml;

pub use addon::{AddonDocument, AddonMetadata};
pub use cli::{tool_main, ManPage};
pub use error::{run_tool, Error, ExitStatus, Location, RemoteKind, Result};
pub use field_path::FieldPath;
pub use finding::{Finding, Severity};
pub use finding_codes::Code;
