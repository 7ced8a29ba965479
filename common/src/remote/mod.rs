//! Talking to the real systems: one HTTP client (TLS, retries, credentials)
//! and the APIs spoken over it: Kubernetes (kubeconfig), OCM, Prometheus.

#[cfg(feature = "remote")]
pub mod http;
#[cfg(feature = "remote")]
pub mod installation;
#[cfg(feature = "remote")]
pub mod kubeconfig;
#[cfg(feature = "remote")]
pub mod ocm;
#[cfg(feature = "remote")]
pub mod ocm_auth;
#[cfg(feature = "remote")]
pub mod prometheus;
