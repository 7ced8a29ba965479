//! hive-apply as a library: the Kubernetes API client (discovery, apply,
//! patch, delete), the input reader, and the apply/label/wait steps.

pub mod api;
pub mod apply;
pub mod objects;
