//! The documents addon-flow reads and writes: add-on metadata, image sets, OLM
//! bundles, the Kubernetes objects rendered from them, the fleet inventory.

pub mod addon;
pub mod bundle;
pub mod document;
pub mod imageset;
pub mod install_settings;
pub mod inventory;
pub mod k8s;
pub mod names;
pub mod seal;
