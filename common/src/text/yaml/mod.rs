//! YAML documents read into `serde_json::Value`, the way managed-tenants reads
//! them, and written back the way kubectl writes them.
//!
//! Why a loader and an emitter of our own, on yaml_rust2's event parser:
//! managed-tenants loads `addon.yaml` with PyYAML (YAML 1.1): `yes`/`on` are
//! booleans, `0755` is octal, `2001-12-14` is a date, merge keys (`<<`) work,
//! and a duplicate key is an error only for its own `UniqueYAMLKeyLoader`.
//! serde_yaml reads YAML 1.2 and would give another document. We follow
//! PyYAML's rules so a document means the same thing to both tools, and keep
//! what serde_yaml cannot give us: every duplicate key with its line, a line
//! for every field (built only when a finding needs one), and hard limits
//! against alias bombs and runaway nesting.
//!
//! - [`loader`]: text to values, with duplicate keys and PyYAML-typed scalars;
//! - `subset`: a byte-level reader for the plain block YAML most files are
//!   written in, which hands anything else to the loader;
//! - `scalars`: YAML 1.1 implicit types of plain scalars (PyYAML's resolver);
//! - `timestamp`: PyYAML's dates and datetimes, with Python's `repr`;
//! - [`source_map`]: lines of fields, for findings;
//! - [`emitter`]: byte-stable block YAML that YAML 1.1 readers read back as
//!   the same value.

pub mod emitter;
pub mod loader;
mod scalars;
pub mod source_map;
mod subset;
mod timestamp;

/// The fast reader alone: `None` where [`loader::parse_stream`] hands the
/// text to the full loader. For the tests that compare the two readers.
#[doc(hidden)]
pub use subset::parse_stream as parse_stream_subset;

pub use emitter::{to_yaml_string, write_json_as_yaml, write_yaml, EmitError};
pub use loader::{parse_one, parse_stream, DuplicateKey, Parsed, PythonValue, YamlError};
pub use scalars::{
    plainly_a_string, resolve_plain, resolve_plain_python, PythonKind, PythonScalar, Resolved,
};
pub use source_map::SourceMap;
