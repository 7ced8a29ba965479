//! Loopback servers that speak the published APIs addon-flow talks to but
//! that cannot run here (Hive's Kubernetes API, OCM's clusters_mgmt). The
//! end-to-end tests start them on free ports; the demo runs them as programs.

pub mod cluster;
pub mod faults;
pub mod http;
pub mod kube;
pub mod ocm;
pub mod ocm_controller;
pub mod registry;
