//! What managed-tenants checks and how a problem is told: its schemas, the
//! load rules every tool runs, findings with their codes and field paths.

pub mod field_path;
pub mod finding;
pub mod finding_codes;
pub mod load_rules;
pub mod schema;
pub mod schemas;
