//! The registry end: one [`Registry`] session (an oci-client on a
//! current-thread runtime) that pulls the base image by digest and pushes
//! built images so that blobs the registry already has are not sent again.
//!
//! Cut at its seams: `credentials` finds what to sign in with, `retry`
//! runs and logs one registry operation under common::remote::http's retry policy,
//! `cache_check` asks whether a cached build's images are still there, and
//! `push` sends images.

mod cache_check;
mod credentials;
mod push;
mod retry;
mod route;

use std::collections::BTreeMap;

use common::oci::{self, Blob, Image};
use common::{Error, Result};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;

pub use credentials::{find_credentials, Credentials};
pub use push::{PushJob, PushStats};
use retry::{
    classify, describe_error, digest_result, logged, manifest_result, Retry, StageFailure,
};

/// Whether a registry host is this machine (plain HTTP is allowed there
/// without asking, as podman and skopeo do for localhost).
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => registry.rsplit_once(':').map_or(registry, |(h, _)| h),
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// A registry session: one oci-client on a current-thread runtime.
pub struct Registry {
    client: Client,
    /// The client that is never given credentials, for pushes to registries
    /// that ask for none (`route`).
    open_client: Client,
    runtime: tokio::runtime::Runtime,
    pub insecure: Vec<String>,
    credentials: BTreeMap<String, Credentials>,
    request_timeout: std::time::Duration,
    pub stats: PushStats,
    /// Plain HTTP clients per registry base URL, for the cache check and
    /// the tags of registries that ask for no credentials.
    plain: BTreeMap<String, common::remote::http::Client>,
    /// Registries that did not answer a plain `/v2/` or manifest `HEAD`
    /// (they want a token): oci-client's auth flow asks them.
    wants_token: std::collections::BTreeSet<String>,
    /// Tags resolved to digests in this run (the base image's, asked once
    /// per run rather than once per add-on of a stream).
    pinned: BTreeMap<String, String>,
    /// How pushes reach each registry (by host), decided once per run.
    routes: BTreeMap<String, route::Route>,
}

impl Registry {
    /// `insecure` lists registries reached over plain HTTP (`--insecure`, or
    /// loopback ones).
    /// `request_timeout` bounds connecting and each wait for the registry's
    /// next bytes (oci-client offers no bound on a whole request).
    pub fn new(insecure: Vec<String>, request_timeout: std::time::Duration) -> Result<Self> {
        // reqwest's rustls needs a crypto provider; ring avoids aws-lc's C build.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| Error::remote("tokio", format!("cannot start the runtime: {err}")))?;
        let config = || ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure.clone()),
            use_monolithic_push: true,
            connect_timeout: Some(request_timeout.min(std::time::Duration::from_secs(15))),
            read_timeout: Some(request_timeout),
            ..ClientConfig::default()
        };
        Ok(Registry {
            client: Client::new(config()),
            open_client: Client::new(config()),
            runtime,
            insecure,
            credentials: BTreeMap::new(),
            request_timeout,
            stats: PushStats::default(),
            plain: BTreeMap::new(),
            wants_token: Default::default(),
            pinned: Default::default(),
            routes: Default::default(),
        })
    }

    fn auth_for(&mut self, reference: &Reference) -> Result<RegistryAuth> {
        let registry = reference.resolve_registry().to_string();
        if !self.credentials.contains_key(&registry) {
            let found = find_credentials(&registry)?;
            self.credentials.insert(registry.clone(), found);
        }
        Ok(self.credentials[&registry].auth.clone())
    }

    fn remote_error(&self, reference: &Reference, failure: StageFailure) -> Error {
        let registry = reference.resolve_registry();
        let StageFailure { stage, err } = failure;
        if classify(&err) == Retry::TimedOut {
            return Error::remote(
                reference.whole(),
                format!(
                    "{stage}: no answer within {:.1}s (the request timeout; see --request-timeout)",
                    self.request_timeout.as_secs_f64()
                ),
            );
        }
        let mut message = describe_error(&err);
        let lower = message.to_lowercase();
        if lower.contains("401")
            || lower.contains("unauthorized")
            || lower.contains("authentication")
        {
            let source = self
                .credentials
                .get(registry)
                .map_or("anonymous", |c| c.source.as_str());
            message.push_str(&format!(
                " (credentials used: {source}; set REGISTRY_AUTH_FILE, ~/.docker/config.json or QUAY_USER/QUAY_APIKEY)"
            ));
        } else if (lower.contains("certificate")
            || lower.contains("invalid http version")
            || lower.contains("tls"))
            && !self.insecure.iter().any(|r| r == registry)
        {
            message.push_str(" (for a registry without TLS, pass --insecure)");
        }
        Error::remote(reference.whole(), format!("{stage}: {message}"))
    }

    /// The digest the registry has for `reference` (a tag), or None when it
    /// has none or cannot be asked.
    pub fn manifest_digest(&mut self, reference: &Reference) -> Option<String> {
        let whole = reference.whole();
        if let Some(digest) = self.pinned.get(&whole) {
            return Some(digest.clone());
        }
        let auth = self.auth_for(reference).ok()?;
        let client = &self.client;
        let url = self.endpoint(reference).manifest();
        let digest = self
            .runtime
            .block_on(logged("HEAD", url, 0, digest_result, || {
                client.fetch_manifest_digest(reference, &auth)
            }))
            .ok()?;
        self.pinned.insert(whole, digest.clone());
        Some(digest)
    }

    /// Pulls an image by reference, resolving a tag to a digest first and an
    /// index to its linux/amd64 manifest; returns the image (blobs fetched
    /// only when `with_layers`) and the `repo@sha256:` it was pulled as.
    pub fn pull(&mut self, reference: &Reference, with_layers: bool) -> Result<(Image, String)> {
        let auth = self.auth_for(reference)?;
        let accepted = [
            oci::MEDIA_TYPE_MANIFEST,
            oci::MEDIA_TYPE_DOCKER_MANIFEST,
            oci::MEDIA_TYPE_INDEX,
            oci::MEDIA_TYPE_DOCKER_LIST,
        ];
        let client = &self.client;
        let endpoint = self.endpoint(reference);
        let result = self.runtime.block_on(async {
            let (bytes, digest) = logged("GET", endpoint.manifest(), 0, manifest_result, || {
                client.pull_manifest_raw(reference, &auth, &accepted)
            })
            .await?;
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let (bytes, digest) = if value.get("manifests").is_some() {
                let chosen = value["manifests"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| {
                        m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64"
                    })
                    .and_then(|m| m["digest"].as_str())
                    .map(str::to_string);
                let Some(chosen) = chosen else {
                    return Ok(Err(
                        "the image index has no linux/amd64 manifest".to_string()
                    ));
                };
                let by_digest = reference.clone_with_digest(chosen.clone());
                logged(
                    "GET",
                    endpoint.manifest_at(&chosen),
                    0,
                    manifest_result,
                    || client.pull_manifest_raw(&by_digest, &auth, &accepted),
                )
                .await?
            } else {
                (bytes, digest)
            };
            let manifest = match oci::parse_image_manifest(&bytes) {
                Ok(m) => m,
                Err(message) => {
                    return Ok(Err(format!(
                        "reading the manifest: {message}; the answer began: {}",
                        common::remote::http::snippet(&String::from_utf8_lossy(&bytes))
                    )))
                }
            };
            let digest_of_config = manifest.config.digest.as_str();
            let config = logged(
                "GET",
                endpoint.blob(digest_of_config),
                0,
                |_| "200".into(),
                || pull_blob_bytes(client, reference, digest_of_config),
            )
            .await?;
            let mut layers = Vec::new();
            for layer in &manifest.layers {
                let mut data = Vec::new();
                if with_layers {
                    data = logged(
                        "GET",
                        endpoint.blob(&layer.digest),
                        0,
                        |_| "200".into(),
                        || pull_blob_bytes(client, reference, layer.digest.as_str()),
                    )
                    .await?;
                }
                layers.push(Blob {
                    media_type: oci::oci_layer_media_type(&layer.media_type).to_string(),
                    digest: layer.digest.clone(),
                    data,
                });
            }
            Ok(Ok((manifest, config, layers, digest)))
        });
        match result {
            Err(err) => Err(self.remote_error(reference, err)),
            Ok(Err(message)) => Err(Error::remote(reference.whole(), message)),
            Ok(Ok((manifest, config, layers, digest))) => {
                let config = Blob {
                    media_type: oci::MEDIA_TYPE_CONFIG.to_string(),
                    digest: manifest.config.digest.clone(),
                    data: config,
                };
                let image = Image::new(config, layers);
                let pinned = format!(
                    "{}/{}@{}",
                    reference.resolve_registry(),
                    reference.repository(),
                    digest
                );
                Ok((image, pinned))
            }
        }
    }
}

impl Registry {
    /// Where `reference`'s repository is, for `-v` lines.
    fn endpoint(&self, reference: &Reference) -> Endpoint {
        Endpoint::of(&self.insecure, reference)
    }
}

/// A repository's URL (no credentials: those travel in headers) and the tag
/// or digest asked for: what `-v` lines name, since oci-client builds its
/// requests out of sight.
#[derive(Clone)]
struct Endpoint {
    repository: String,
    reference: String,
}

impl Endpoint {
    /// `reference`'s repository, over plain HTTP when its registry is one
    /// of `insecure`.
    fn of(insecure: &[String], reference: &Reference) -> Endpoint {
        let registry = reference.resolve_registry();
        let scheme = if insecure.iter().any(|r| r == registry) {
            "http"
        } else {
            "https"
        };
        Endpoint {
            repository: format!("{scheme}://{registry}/v2/{}", reference.repository()),
            reference: reference
                .digest()
                .or(reference.tag())
                .unwrap_or("latest")
                .to_string(),
        }
    }

    fn manifest(&self) -> String {
        self.manifest_at(&self.reference)
    }

    fn manifest_at(&self, reference: &str) -> String {
        format!("{}/manifests/{reference}", self.repository)
    }

    fn blob(&self, digest: &str) -> String {
        format!("{}/blobs/{digest}", self.repository)
    }
}

/// A blob's bytes, read whole.
async fn pull_blob_bytes(
    client: &Client,
    reference: &Reference,
    digest: &str,
) -> std::result::Result<Vec<u8>, OciDistributionError> {
    let mut data = Vec::new();
    client.pull_blob(reference, digest, &mut data).await?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_recognised() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("quay.io"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }
}
