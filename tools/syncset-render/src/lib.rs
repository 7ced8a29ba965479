//! syncset-render as a library: the pure renderer and the extra-resource
//! templates, so tests and benchmarks call exactly what the binary runs.

pub mod render;
pub mod template;

pub use render::{render, ClusterDeploymentRef, RenderOptions, Target};
