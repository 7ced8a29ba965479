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
pub mod fbc;
pub mod field_path;
pub mod finding;
pub mod http;
pub mod imageset;
pub mod install_settings;
pub mod installation;
pub mod io;
pub mod jinja;
pub mod k8s;
pub mod kubeconfig;
pub mod load_rules;
pub mod names;
pub mod oci;
pub mod ocm;
pub mod ocm_auth;
pub mod parallel;
pub mod progress;
pub mod prometheus;
pub mod redact;
pub mod schema;
pub mod schemas;
pub mod stream;
pub mod time;
pub mod yaml;

pub use addon::{AddonDocument, AddonMetadata};
pub use cli::{tool_main, ManPage};
pub use error::{run_tool, Error, ExitStatus, Location, Result};
pub use field_path::FieldPath;
pub use finding::{Finding, Severity};
