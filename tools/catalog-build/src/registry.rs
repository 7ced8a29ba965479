//! The registry end: credentials the way podman/skopeo/docker find them,
//! pulling the base image by digest, and pushing built images with
//! `oci-client` so that blobs the registry already has are not sent again.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use common::oci::{self, Blob, Image};
use common::progress::Progress;
use common::{Error, Result};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde_json::Value;

/// Where credentials were found, for messages (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub auth: RegistryAuth,
    pub source: String,
}

/// Finds credentials for `registry`: the auth file named by
/// `REGISTRY_AUTH_FILE`, else `~/.docker/config.json`, else (for quay.io)
/// `QUAY_USER`/`QUAY_APIKEY`; anonymous when none has an entry.
///
/// A file that was named but cannot be used is an error naming it, never a
/// silent anonymous pull: `REGISTRY_AUTH_FILE` naming nothing, an auth file
/// that is not a regular file, and an entry for the registry of the wrong
/// shape or kept by a credential helper (which we do not run).
pub fn find_credentials(registry: &str) -> Result<Credentials> {
    let mut files = Vec::new();
    if let Some(path) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if std::fs::metadata(&path).is_err() {
            return Err(Error::in_file(
                &path,
                "REGISTRY_AUTH_FILE names this file, which does not exist (expected a podman/docker auth.json; unset REGISTRY_AUTH_FILE to pull anonymously)",
            ));
        }
        files.push(path);
    }
    if let Some(home) = std::env::var_os("HOME") {
        files.push(PathBuf::from(home).join(".docker").join("config.json"));
    }
    for path in files {
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if !metadata.is_file() {
            return Err(Error::in_file(
                &path,
                "the registry auth file is not a regular file (expected a podman/docker auth.json)",
            ));
        }
        let file = std::fs::File::open(&path)
            .map_err(|err| Error::in_file(&path, common::io::describe_io_error(&err)))?;
        let bytes = common::io::read_capped(file, common::io::MAX_DOCUMENT_BYTES, metadata.len())
            .map_err(|err| Error::in_file(&path, common::io::describe_io_error(&err)))?;
        if bytes.len() > common::io::MAX_DOCUMENT_BYTES {
            return Err(Error::in_file(&path, "the registry auth file is too large"));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|err| Error::in_file(&path, format!("not a JSON auth file: {err}")))?;
        if let Some((user, password)) =
            auth_file_entry(&value, registry).map_err(|message| Error::in_file(&path, message))?
        {
            register_basic(&user, &password);
            return Ok(Credentials {
                auth: RegistryAuth::Basic(user, password),
                source: path.display().to_string(),
            });
        }
    }
    // The Quay robot account of managed-tenants' CI; only ever sent to Quay.
    let is_quay = registry == "quay.io" || registry.ends_with(".quay.io");
    if let (true, Ok(user), Ok(key)) = (
        is_quay,
        std::env::var("QUAY_USER"),
        std::env::var("QUAY_APIKEY"),
    ) {
        if !user.is_empty() && !key.is_empty() {
            register_basic(&user, &key);
            return Ok(Credentials {
                auth: RegistryAuth::Basic(user, key),
                source: "QUAY_USER/QUAY_APIKEY".into(),
            });
        }
    }
    Ok(Credentials {
        auth: RegistryAuth::Anonymous,
        source: "anonymous".into(),
    })
}

/// A JSON value's kind, for messages that must not repeat the value (it
/// may be a secret).
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Registers a registry password (and the basic auth header made of it) as a
/// secret, so no message can carry it: oci-client holds it as a plain string.
fn register_basic(user: &str, password: &str) {
    common::redact::register(password);
    common::redact::register(&common::base64::encode(
        format!("{user}:{password}").as_bytes(),
    ));
}

/// The user and password of `registry` in a docker/podman auth file
/// (`auths.<registry>.auth` = base64 of `user:password`, or `username` and
/// `password`); keys may carry a scheme or a path, as docker writes them.
/// None when the file has no entry for the registry; an error (naming the
/// field, never its value) when the entry is there but unusable.
pub fn auth_file_entry(
    file: &Value,
    registry: &str,
) -> std::result::Result<Option<(String, String)>, String> {
    let helper = file
        .get("credHelpers")
        .and_then(|helpers| helpers.get(registry))
        .and_then(Value::as_str);
    if let Some(helper) = helper {
        return Err(format!(
            "credHelpers.{registry}: the credentials are kept by the credential helper {helper:?}, which catalog-build does not run (expected auths.{registry}.auth in the file, or QUAY_USER/QUAY_APIKEY)"
        ));
    }
    let auths = match file.get("auths") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(auths)) => auths,
        Some(other) => {
            return Err(format!(
                "auths: expected a mapping of registry to credentials, found {}",
                kind_of(other)
            ))
        }
    };
    let host_of = |key: &str| {
        let key = key
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        key.split('/').next().unwrap_or(key).to_string()
    };
    let wanted = [registry.to_string(), docker_hub_alias(registry)];
    let entry = auths
        .iter()
        .find(|(key, _)| key.as_str() == registry)
        .or_else(|| auths.iter().find(|(key, _)| wanted.contains(&host_of(key))));
    let Some((key, entry)) = entry else {
        return Ok(None);
    };
    let Some(fields) = entry.as_object() else {
        return Err(format!(
            "auths.{key}: expected a mapping with auth (base64 of user:password), found {}",
            kind_of(entry)
        ));
    };
    let text = |name: &str| -> std::result::Result<Option<&str>, String> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str()).filter(|t| !t.is_empty())),
            Some(other) => Err(format!(
                "auths.{key}.{name}: expected a string, found {}",
                kind_of(other)
            )),
        }
    };
    if let Some(encoded) = text("auth")? {
        let decoded = common::base64::decode_lenient(encoded)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| format!("auths.{key}.auth: not base64 of user:password"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| format!("auths.{key}.auth: expected base64 of user:password"))?;
        return Ok(Some((user.to_string(), password.to_string())));
    }
    match (text("username")?, text("password")?) {
        (Some(user), Some(password)) => Ok(Some((user.to_string(), password.to_string()))),
        (Some(_), None) | (None, Some(_)) => Err(format!(
            "auths.{key}: has only one of username and password (expected both, or auth)"
        )),
        (None, None) => Err(match (text("identitytoken")?, file.get("credsStore").and_then(Value::as_str)) {
            (Some(_), _) => format!(
                "auths.{key}: holds an identitytoken, which catalog-build cannot use (expected auth, base64 of user:password)"
            ),
            (None, Some(store)) => format!(
                "auths.{key}: the credentials are kept by the credential store {store:?} (credsStore), which catalog-build does not run (expected auths.{key}.auth in the file, or QUAY_USER/QUAY_APIKEY)"
            ),
            (None, None) => format!(
                "auths.{key}: holds no credentials (expected auth, base64 of user:password, or username and password)"
            ),
        }),
    }
}

fn docker_hub_alias(registry: &str) -> String {
    if registry == "docker.io" {
        "index.docker.io".into()
    } else {
        registry.into()
    }
}

/// Whether a registry host is this machine (plain HTTP is allowed there
/// without asking, as podman and skopeo do for localhost).
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => registry.rsplit_once(':').map_or(registry, |(h, _)| h),
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// Counts of what a push did, for the summary line and the re-run check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushStats {
    pub uploaded_blobs: usize,
    pub uploaded_bytes: u64,
    pub present_blobs: usize,
    /// Base layers linked from the base image's repository, not sent.
    pub mounted_blobs: usize,
    pub manifests_written: usize,
}

/// A registry session: one oci-client on a current-thread runtime.
pub struct Registry {
    client: Client,
    runtime: tokio::runtime::Runtime,
    pub insecure: Vec<String>,
    credentials: BTreeMap<String, Credentials>,
    request_timeout: std::time::Duration,
    pub stats: PushStats,
    /// Plain HTTP clients per registry base URL, for the cache check.
    plain: BTreeMap<String, common::http::Client>,
    /// Registries that did not answer a plain manifest `HEAD` (they want a
    /// token): oci-client's auth flow asks them.
    wants_token: std::collections::BTreeSet<String>,
    /// Tags resolved to digests in this run (the base image's, asked once
    /// per run rather than once per add-on of a stream).
    pinned: BTreeMap<String, String>,
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
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure.clone()),
            use_monolithic_push: true,
            connect_timeout: Some(request_timeout.min(std::time::Duration::from_secs(15))),
            read_timeout: Some(request_timeout),
            ..ClientConfig::default()
        };
        Ok(Registry {
            client: Client::new(config),
            runtime,
            insecure,
            credentials: BTreeMap::new(),
            request_timeout,
            stats: PushStats::default(),
            plain: BTreeMap::new(),
            wants_token: Default::default(),
            pinned: Default::default(),
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

    /// Whether the registry still holds a cached build's images (bundle
    /// images first, the catalog last; see [`CacheCheck`]).
    pub fn has_manifests(&mut self, images: &[crate::cache::CachedImage]) -> bool {
        self.has_manifests_each(&[images])
            .into_iter()
            .all(|found| found)
    }

    /// [`Self::has_manifests`] for many builds at once: a stream's cache
    /// check asks the registry about every add-on together,
    /// [`CHECK_CONCURRENCY`] requests at a time, instead of one add-on after
    /// another.
    pub fn has_manifests_each(&mut self, sets: &[&[crate::cache::CachedImage]]) -> Vec<bool> {
        let planned: Vec<Option<Vec<CacheCheck>>> =
            sets.iter().map(|set| CacheCheck::plan(set)).collect();
        let all: Vec<&CacheCheck> = planned.iter().flatten().flatten().collect();
        let found = match self.check_plainly(&all) {
            Some(found) => found,
            None => self.check_through_oci_client(&all),
        };
        let mut start = 0;
        planned
            .iter()
            .map(|checks| match checks {
                None => false,
                Some(checks) => {
                    let of_set = &found[start..start + checks.len()];
                    start += checks.len();
                    of_set.iter().all(|&one| one)
                }
            })
            .collect()
    }

    /// Each check answered with plain requests, for registries we hold no
    /// credentials for. oci-client asks a registry's `/v2/` for a token
    /// before every request when the registry needs none (it caches tokens
    /// only), which doubles the requests of the cache check a fleet's
    /// unchanged run is made of. None (use oci-client) when a registry wants
    /// credentials (401/403) or answers anything else.
    fn check_plainly(&mut self, checks: &[&CacheCheck]) -> Option<Vec<bool>> {
        let mut requests = Vec::with_capacity(checks.len());
        for check in checks {
            let reference = check.reference();
            let registry = reference.resolve_registry().to_string();
            if self.wants_token.contains(&registry)
                || !matches!(self.auth_for(reference).ok()?, RegistryAuth::Anonymous)
            {
                return None;
            }
            let endpoint = self.endpoint(reference);
            let (base, repository) = endpoint.repository.split_once("/v2/")?;
            if !self.plain.contains_key(base) {
                let client = common::http::Client::new(base, &Default::default())
                    .ok()?
                    .with_request_timeout(self.request_timeout);
                self.plain.insert(base.to_string(), client);
            }
            let path = match check {
                CacheCheck::Manifest { .. } => {
                    format!("/v2/{repository}/manifests/{}", endpoint.reference)
                }
                CacheCheck::Tags { .. } => format!("/v2/{repository}/tags/list"),
            };
            requests.push((registry, base.to_string(), path, *check));
        }
        let plain = &self.plain;
        let answers = common::parallel::map_bounded(&requests, CHECK_CONCURRENCY, |request| {
            let (_, base, path, check) = request;
            match check {
                CacheCheck::Manifest { digest, .. } => {
                    let head = common::http::Request::new("HEAD", path)
                        .header("Accept", MANIFEST_MEDIA_TYPES.join(", "));
                    match plain[base].send(&head) {
                        Ok(answer) if answer.status == 200 => {
                            Some(answer.header("Docker-Content-Digest") == Some(digest.as_str()))
                        }
                        Ok(answer) if answer.status == 404 => Some(false),
                        _ => None,
                    }
                }
                CacheCheck::Tags { tags, .. } => {
                    let listed = list_tags_plainly(&plain[base], path)?;
                    Some(tags.iter().all(|tag| listed.contains(tag)))
                }
            }
        });
        for ((registry, ..), answer) in requests.iter().zip(&answers) {
            if answer.is_none() {
                self.wants_token.insert(registry.clone());
            }
        }
        answers.into_iter().collect()
    }

    /// Each check answered through oci-client (with its credentials and
    /// token flow), [`PUSH_CONCURRENCY`] at a time. A check that cannot be
    /// asked (no credentials) is `false`: the build runs and says why.
    fn check_through_oci_client(&mut self, checks: &[&CacheCheck]) -> Vec<bool> {
        let mut asked = Vec::with_capacity(checks.len());
        for check in checks {
            let reference = check.reference().clone();
            let auth = self.auth_for(&reference).ok();
            let url = match check {
                CacheCheck::Manifest { .. } => self.endpoint(&reference).manifest(),
                CacheCheck::Tags { .. } => {
                    format!("{}/tags/list", self.endpoint(&reference).repository)
                }
            };
            asked.push((reference, auth, (*check).clone(), url));
        }
        let client = self.client.clone();
        self.runtime.block_on(async move {
            let mut running = tokio::task::JoinSet::new();
            let mut pending = asked.into_iter().enumerate();
            let ask = |client: Client,
                       (index, (reference, auth, check, url)): (
                usize,
                (Reference, Option<RegistryAuth>, CacheCheck, String),
            )| async move {
                let Some(auth) = auth else {
                    return (index, false);
                };
                let found = match check {
                    CacheCheck::Manifest { digest, .. } => {
                        logged("HEAD", url, 0, digest_result, || {
                            client.fetch_manifest_digest(&reference, &auth)
                        })
                        .await
                        .is_ok_and(|found| found == digest)
                    }
                    CacheCheck::Tags { tags, .. } => {
                        list_tags_through_oci_client(&client, &reference, &auth, &url)
                            .await
                            .is_some_and(|listed| tags.iter().all(|tag| listed.contains(tag)))
                    }
                };
                (index, found)
            };
            let mut found = vec![false; checks.len()];
            for item in pending.by_ref().take(PUSH_CONCURRENCY) {
                running.spawn(ask(client.clone(), item));
            }
            while let Some(joined) = running.join_next().await {
                // One missing image makes its build a miss; the others still
                // get their answer.
                if let Ok((index, true)) = joined {
                    found[index] = true;
                }
                if let Some(item) = pending.next() {
                    running.spawn(ask(client.clone(), item));
                }
            }
            found
        })
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
                        common::http::snippet(&String::from_utf8_lossy(&bytes))
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

    /// Pushes images, several at a time, each as [`push_image`] does; the
    /// first failure stops the rest and is the error. Returns nothing: the
    /// caller names each image by its digest. On a terminal, `what` heads a
    /// line of the bytes and blobs pushed so far.
    pub fn push_all(&mut self, what: &str, jobs: Vec<PushJob>) -> Result<()> {
        let mut auths = Vec::with_capacity(jobs.len());
        for job in &jobs {
            auths.push((self.auth_for(&job.target)?, self.endpoint(&job.target)));
        }
        let progress = PushProgress::new(what, &jobs);
        let bar = progress.bar.clone();
        let client = self.client.clone();
        let outcome = self.runtime.block_on(async move {
            let mut running = tokio::task::JoinSet::new();
            let mut pending = jobs.into_iter().zip(auths);
            let mut stats = PushStats::default();
            for (job, auth) in pending.by_ref().take(PUSH_CONCURRENCY) {
                running.spawn(push_image(client.clone(), auth, job, progress.clone()));
            }
            while let Some(joined) = running.join_next().await {
                let (target, result) = match joined {
                    Ok(done) => done,
                    Err(err) => {
                        return Err((
                            None,
                            PushFailure::Message(format!("a push task failed: {err}")),
                        ))
                    }
                };
                match result {
                    Ok(done) => stats.add(done),
                    Err(failure) => {
                        running.abort_all();
                        return Err((Some(target), failure));
                    }
                }
                if let Some((job, auth)) = pending.next() {
                    running.spawn(push_image(client.clone(), auth, job, progress.clone()));
                }
            }
            Ok(stats)
        });
        bar.finish();
        match outcome {
            Ok(stats) => {
                self.stats.add(stats);
                Ok(())
            }
            Err((target, failure)) => {
                let name = target
                    .as_ref()
                    .map_or_else(|| "registry".to_string(), Reference::whole);
                Err(match (failure, target) {
                    (PushFailure::Remote(err), Some(target)) => self.remote_error(&target, err),
                    (PushFailure::Remote(failure), None) => Error::remote(
                        name,
                        format!("{}: {}", failure.stage, describe_error(&failure.err)),
                    ),
                    (PushFailure::Message(message), _) => Error::remote(name, message),
                })
            }
        }
    }
}

impl Registry {
    /// Where `reference`'s repository is, for `-v` lines.
    fn endpoint(&self, reference: &Reference) -> Endpoint {
        let registry = reference.resolve_registry();
        let scheme = if self.insecure.iter().any(|r| r == registry) {
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

/// `-v`: runs one registry operation and logs it as common::http logs a
/// request (oci-client has no per-request hook): `op` is the HTTP method it
/// sends, `sent` the bytes, `describe` what came back.
async fn logged<T, Fut>(
    op: &str,
    url: String,
    sent: u64,
    describe: impl Fn(&T) -> String,
    mut call: impl FnMut() -> Fut,
) -> std::result::Result<T, StageFailure>
where
    Fut: Future<Output = std::result::Result<T, OciDistributionError>>,
{
    let stage = format!("{op} {}", common::redact::url_for_log(&url));
    // The tries and backoff of every HTTP request the tools send.
    let policy = common::http::RetryPolicy::default();
    let mut attempt = 1;
    let mut timeouts = 0;
    loop {
        let started = Instant::now();
        let outcome = call().await;
        if common::cli::verbosity() >= common::cli::Verbosity::Verbose {
            let result = match &outcome {
                Ok(value) => describe(value),
                Err(err) => failure_text(err),
            };
            common::cli::log_request(op, &url, &result, started.elapsed(), attempt, sent);
        }
        let err = match outcome {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let worth_retrying = match classify(&err) {
            Retry::Transient => true,
            Retry::TimedOut => {
                timeouts += 1;
                timeouts == 1
            }
            Retry::Permanent => false,
        };
        if !worth_retrying || attempt >= policy.attempts {
            return Err(StageFailure { stage, err });
        }
        // oci-client does not show us response headers, so a 429's
        // `Retry-After` is not seen: the backoff stands in.
        let wait = policy.delay(attempt, None);
        common::cli::note(
            common::cli::tool_name(),
            common::redact::text(&format!(
                "{stage}: {}; retrying in {:.1}s ({attempt}/{})",
                describe_error(&err),
                wait.as_secs_f64(),
                policy.attempts - 1
            )),
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// A `-v` line's result for a failed operation: the registry's 404 for a
/// tag or blob it does not hold is an answer, not a failure.
fn failure_text(err: &oci_client::errors::OciDistributionError) -> String {
    let text = err.to_string();
    if text.contains("manifest unknown") || text.contains("blob unknown") {
        "404 (unknown)".to_string()
    } else {
        format!("failed: {text}")
    }
}

fn digest_result(digest: &String) -> String {
    format!("200 ({digest})")
}

fn manifest_result<B: AsRef<[u8]>>((bytes, digest): &(B, String)) -> String {
    format!("200 ({digest}, {} bytes back)", bytes.as_ref().len())
}

/// The progress of one `push_all`: bytes of the blobs that have data, and
/// blobs done (pushed, found present or mounted) of all.
#[derive(Clone)]
struct PushProgress {
    bar: Progress,
    blobs_done: Arc<AtomicUsize>,
    blobs: usize,
}

impl PushProgress {
    fn new(what: &str, jobs: &[PushJob]) -> PushProgress {
        let blobs: Vec<&Blob> = jobs.iter().flat_map(|job| job.image.blobs()).collect();
        let bytes = blobs.iter().map(|b| b.data.len() as u64).sum();
        let progress = PushProgress {
            bar: Progress::bytes(what, bytes),
            blobs_done: Arc::new(AtomicUsize::new(0)),
            blobs: blobs.len(),
        };
        progress
            .bar
            .set_message(format!("0/{} blobs", progress.blobs));
        progress
    }

    fn pushing(&self, what: &str, blob: &Blob) {
        let done = self.blobs_done.load(Ordering::Relaxed);
        self.bar.set_message(format!(
            "{done}/{} blobs, {what}: {}",
            self.blobs,
            short_digest(&blob.digest)
        ));
    }

    fn blob_done(&self, blob: &Blob) {
        let done = self.blobs_done.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.inc(blob.data.len() as u64);
        self.bar.set_message(format!("{done}/{} blobs", self.blobs));
    }
}

fn short_digest(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// One question a cache hit puts to the registry before it is trusted.
///
/// The catalog's tag must still point at the recorded digest (the output
/// names that digest). The bundle images are asked per repository, with one
/// tags listing: every recorded bundle tag must still be there. That is one
/// request per repository instead of one per bundle version (an add-on with
/// 40 versions is 2 requests, not 41), and it still tells a wiped registry,
/// a deleted repository and a deleted tag; a bundle tag moved to another
/// image is not seen (`--no-cache` rebuilds and re-checks everything).
#[derive(Debug, Clone)]
pub enum CacheCheck {
    Manifest {
        reference: Reference,
        digest: String,
    },
    Tags {
        repository: Reference,
        tags: Vec<String>,
    },
}

impl CacheCheck {
    /// The checks for one cached build (bundle images first, the catalog
    /// last); None when a recorded reference no longer parses.
    fn plan(images: &[crate::cache::CachedImage]) -> Option<Vec<CacheCheck>> {
        let (catalog, bundles) = images.split_last()?;
        let mut by_repository: BTreeMap<String, (Reference, Vec<String>)> = BTreeMap::new();
        for image in bundles {
            let reference = Reference::try_from(image.tag_reference.as_str()).ok()?;
            let tag = reference.tag()?.to_string();
            let repository = format!(
                "{}/{}",
                reference.resolve_registry(),
                reference.repository()
            );
            by_repository
                .entry(repository)
                .or_insert_with(|| (reference.clone(), Vec::new()))
                .1
                .push(tag);
        }
        let mut checks: Vec<CacheCheck> = by_repository
            .into_values()
            .map(|(repository, tags)| CacheCheck::Tags { repository, tags })
            .collect();
        checks.push(CacheCheck::Manifest {
            reference: Reference::try_from(catalog.tag_reference.as_str()).ok()?,
            digest: catalog.digest.clone(),
        });
        Some(checks)
    }

    fn reference(&self) -> &Reference {
        match self {
            CacheCheck::Manifest { reference, .. } => reference,
            CacheCheck::Tags { repository, .. } => repository,
        }
    }
}

/// The most tags-listing pages followed for one repository.
const MAX_TAG_PAGES: usize = 100;

/// A repository's tags (`GET /v2/<name>/tags/list`, following the `Link`
/// header's next page). `Some(empty)` when the repository is unknown (404);
/// None when the registry wants credentials or answers anything else.
fn list_tags_plainly(
    client: &common::http::Client,
    first_page: &str,
) -> Option<std::collections::BTreeSet<String>> {
    let mut tags = std::collections::BTreeSet::new();
    let mut page = first_page.to_string();
    for _ in 0..MAX_TAG_PAGES {
        let answer = client
            .send(&common::http::Request::new("GET", &page).header("Accept", "application/json"))
            .ok()?;
        match answer.status {
            200 => {}
            404 => return Some(tags),
            _ => return None,
        }
        let listed: TagList = serde_json::from_slice(&answer.body).ok()?;
        tags.extend(listed.tags.unwrap_or_default());
        match answer.header("Link").and_then(next_page) {
            Some(next) => page = next,
            None => return Some(tags),
        }
    }
    Some(tags)
}

/// The distribution spec's tags listing; `tags` may be null.
#[derive(serde::Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

/// The path of `Link: </v2/name/tags/list?n=100&last=x>; rel="next"`.
fn next_page(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| matches!(p.trim(), r#"rel="next""# | "rel=next"))
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
            .filter(|path| path.starts_with('/'))
    })
}

/// [`list_tags_plainly`] through oci-client, page by page (a page shorter
/// than asked is the last).
async fn list_tags_through_oci_client(
    client: &Client,
    repository: &Reference,
    auth: &RegistryAuth,
    url: &str,
) -> Option<std::collections::BTreeSet<String>> {
    const PAGE: usize = 100;
    let mut tags = std::collections::BTreeSet::new();
    let mut last: Option<String> = None;
    for _ in 0..MAX_TAG_PAGES {
        let page = logged(
            "GET",
            url.to_string(),
            0,
            |page: &oci_client::client::TagResponse| format!("200 ({} tag(s))", page.tags.len()),
            || client.list_tags(repository, auth, Some(PAGE), last.as_deref()),
        )
        .await
        .ok()?;
        let full = page.tags.len() >= PAGE;
        last = page.tags.last().cloned();
        tags.extend(page.tags);
        if !full {
            break;
        }
    }
    Some(tags)
}

/// How many images are pushed at once (skopeo sends up to 6 layers at once).
const PUSH_CONCURRENCY: usize = 6;

/// How many manifest `HEAD`s the cache check sends at once: each is a tiny
/// answer, and a stream's unchanged run is made of thousands of them.
const CHECK_CONCURRENCY: usize = 16;

/// What a manifest `HEAD` accepts: the media types our images and the
/// base images we pull are written in.
const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    oci::MEDIA_TYPE_MANIFEST,
    oci::MEDIA_TYPE_INDEX,
    oci::MEDIA_TYPE_DOCKER_MANIFEST,
    oci::MEDIA_TYPE_DOCKER_LIST,
];

/// One image to push to a tag.
pub struct PushJob {
    pub target: Reference,
    pub image: Image,
    /// Where blobs without bytes (base layers not pulled) can be mounted from.
    pub mount_from: Option<Reference>,
    /// The name used in progress lines.
    pub what: String,
}

enum PushFailure {
    Remote(StageFailure),
    Message(String),
}

impl From<StageFailure> for PushFailure {
    fn from(failure: StageFailure) -> Self {
        PushFailure::Remote(failure)
    }
}

impl PushStats {
    fn add(&mut self, other: PushStats) {
        self.uploaded_blobs += other.uploaded_blobs;
        self.uploaded_bytes += other.uploaded_bytes;
        self.present_blobs += other.present_blobs;
        self.mounted_blobs += other.mounted_blobs;
        self.manifests_written += other.manifests_written;
    }
}

/// Pushes one image to its tag: every blob the registry does not have
/// (layers first, then the config), mounting blobs whose bytes were not
/// pulled, then the manifest unless the tag already points at it.
async fn push_image(
    client: Client,
    (auth, endpoint): (RegistryAuth, Endpoint),
    job: PushJob,
    progress: PushProgress,
) -> (Reference, std::result::Result<PushStats, PushFailure>) {
    let result = push_image_inner(&client, &auth, &endpoint, &job, &progress).await;
    (job.target, result)
}

async fn push_image_inner(
    client: &Client,
    auth: &RegistryAuth,
    endpoint: &Endpoint,
    job: &PushJob,
    progress: &PushProgress,
) -> std::result::Result<PushStats, PushFailure> {
    let target = &job.target;
    let image = &job.image;
    let mut stats = PushStats::default();
    let registry_root = format!(
        "{}/",
        endpoint.repository.split("/v2/").next().unwrap_or("")
    );
    logged(
        "AUTH",
        format!("{registry_root}v2/ (push)"),
        0,
        |_| "ok".into(),
        || client.auth(target, auth, RegistryOperation::Push),
    )
    .await?;
    for blob in image.blobs() {
        if blob_present(client, target, endpoint, &blob.digest).await? {
            stats.present_blobs += 1;
            progress.blob_done(blob);
            continue;
        }
        if blob.data.is_empty() && blob.digest != oci::sha256_digest(b"") {
            let Some(source) = &job.mount_from else {
                return Err(PushFailure::Message(format!(
                    "blob {} has no data to push",
                    blob.digest
                )));
            };
            logged(
                "POST",
                format!(
                    "{}/blobs/uploads/?mount={}&from={}",
                    endpoint.repository,
                    blob.digest,
                    source.repository()
                ),
                0,
                |_| "201 (mounted)".into(),
                || client.mount_blob(target, source, &blob.digest),
            )
            .await?;
            if !blob_present(client, target, endpoint, &blob.digest).await? {
                return Err(PushFailure::Message(format!(
                    "the registry did not mount blob {} from {}",
                    blob.digest,
                    source.whole()
                )));
            }
            stats.mounted_blobs += 1;
            progress.blob_done(blob);
            continue;
        }
        progress.pushing(&job.what, blob);
        logged(
            "PUT",
            endpoint.blob(&blob.digest),
            blob.data.len() as u64,
            |_| "201 (pushed)".into(),
            || client.push_blob(target, blob.data.clone(), &blob.digest),
        )
        .await?;
        progress.blob_done(blob);
        stats.uploaded_blobs += 1;
        stats.uploaded_bytes += blob.data.len() as u64;
    }
    let current = logged("HEAD", endpoint.manifest(), 0, digest_result, || {
        client.fetch_manifest_digest(target, auth)
    })
    .await
    .ok();
    if current.as_deref() != Some(image.digest()) {
        let content_type = oci::MEDIA_TYPE_MANIFEST
            .parse()
            .map_err(|_| PushFailure::Message("bad manifest media type".into()))?;
        logged(
            "PUT",
            endpoint.manifest(),
            image.manifest.data.len() as u64,
            |_| "201 (pushed)".into(),
            || {
                client.push_manifest_raw(
                    target,
                    image.manifest.data.clone(),
                    Clone::clone(&content_type),
                )
            },
        )
        .await?;
        stats.manifests_written += 1;
    }
    Ok(stats)
}

/// Whether the repository of `target` holds blob `digest`.
async fn blob_present(
    client: &Client,
    target: &Reference,
    endpoint: &Endpoint,
    digest: &str,
) -> std::result::Result<bool, StageFailure> {
    logged(
        "HEAD",
        endpoint.blob(digest),
        0,
        |found: &bool| {
            if *found {
                "200 (present, not sent)".into()
            } else {
                "404 (absent)".into()
            }
        },
        || client.blob_exists(target, digest),
    )
    .await
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

/// A registry request that failed, with what we were doing (`uploading blob
/// sha256:...`): the message names the stage, the target names the host.
struct StageFailure {
    stage: String,
    err: OciDistributionError,
}

/// Whether a failed registry request is worth another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// 5xx, 429, a dropped or refused connection, an answer cut short.
    Transient,
    /// No answer within the request timeout: tried once more, like `common::http`.
    TimedOut,
    /// Anything else (4xx, a bad manifest, TLS): trying again gives the same.
    Permanent,
}

fn classify(err: &OciDistributionError) -> Retry {
    let retryable_status = |code: u16| code == 429 || code >= 500;
    match err {
        OciDistributionError::RequestError(err) => {
            let text = describe_chain(err).to_lowercase();
            if err.is_timeout() || text.contains("timed out") {
                Retry::TimedOut
            } else if let Some(status) = err.status() {
                if retryable_status(status.as_u16()) {
                    Retry::Transient
                } else {
                    Retry::Permanent
                }
            } else if ["certificate", "tls", "invalid http version"]
                .iter()
                .any(|w| text.contains(w))
                || err.is_builder()
                || err.is_redirect()
            {
                Retry::Permanent
            } else {
                Retry::Transient
            }
        }
        OciDistributionError::ServerError { code, .. } if retryable_status(*code) => {
            Retry::Transient
        }
        OciDistributionError::RegistryError { envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|e| e.code == oci_client::errors::OciErrorCode::Toomanyrequests) =>
        {
            Retry::Transient
        }
        OciDistributionError::IoError(_) => Retry::Transient,
        _ => Retry::Permanent,
    }
}

/// An error and its causes, each once.
fn describe_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn describe_error(err: &OciDistributionError) -> String {
    describe_chain(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cached_build_is_checked_with_one_tags_listing_per_bundle_repository_and_the_catalog_by_digest(
    ) {
        let image = |tag_reference: &str, digest: &str| crate::cache::CachedImage {
            tag_reference: tag_reference.into(),
            digest: digest.into(),
        };
        let checks = CacheCheck::plan(&[
            image("r.io/org/a-bundle:a-v1.0.0", "sha256:1"),
            image("r.io/org/a-bundle:a-v1.1.0", "sha256:2"),
            image("r.io/org/dep-bundle:dep-v0.1.0", "sha256:3"),
            image("r.io/org/a:latest", "sha256:4"),
        ])
        .unwrap();
        let shown: Vec<String> = checks
            .iter()
            .map(|check| match check {
                CacheCheck::Tags { repository, tags } => {
                    format!("tags {} {}", repository.repository(), tags.join(","))
                }
                CacheCheck::Manifest { reference, digest } => {
                    format!("manifest {} {digest}", reference.whole())
                }
            })
            .collect();
        assert_eq!(
            shown,
            [
                "tags org/a-bundle a-v1.0.0,a-v1.1.0",
                "tags org/dep-bundle dep-v0.1.0",
                "manifest r.io/org/a:latest sha256:4",
            ]
        );
        assert!(CacheCheck::plan(&[]).is_none());
    }

    #[test]
    fn the_next_tags_page_comes_from_the_link_header() {
        assert_eq!(
            next_page(r#"</v2/org/a/tags/list?n=100&last=v9>; rel="next""#).as_deref(),
            Some("/v2/org/a/tags/list?n=100&last=v9")
        );
        assert_eq!(next_page(r#"</v2/x>; rel="prev""#), None);
        assert_eq!(
            next_page(r#"<https://elsewhere/v2/x>; rel="next""#),
            None,
            "only a path on the same registry is followed"
        );
    }

    #[test]
    fn auth_file_entries_by_host_with_or_without_scheme() {
        // "user:pa:ss" in base64
        let file = json!({"auths": {"https://quay.io/v1/": {"auth": "dXNlcjpwYTpzcw=="},
            "localhost:5000": {"username": "u", "password": "p"}}});
        assert_eq!(
            auth_file_entry(&file, "quay.io").unwrap(),
            Some(("user".into(), "pa:ss".into()))
        );
        assert_eq!(
            auth_file_entry(&file, "localhost:5000").unwrap(),
            Some(("u".into(), "p".into()))
        );
        assert_eq!(auth_file_entry(&file, "ghcr.io").unwrap(), None);
        let bad = json!({"auths": {"quay.io": {"auth": "!!!"}}});
        assert!(auth_file_entry(&bad, "quay.io").is_err());
    }

    #[test]
    fn auth_entries_of_the_wrong_type_are_errors_naming_the_field_not_anonymous() {
        let secret = "c2VjcmV0OnNlY3JldA==";
        let cases = [
            (json!({"auths": ["quay.io"]}), "auths: expected a mapping"),
            (
                json!({"auths": {"quay.io": secret}}),
                "auths.quay.io: expected a mapping",
            ),
            (
                json!({"auths": {"quay.io": {"auth": 12345}}}),
                "auths.quay.io.auth: expected a string, found a number",
            ),
            (
                json!({"auths": {"quay.io": {"auth": [secret]}}}),
                "auths.quay.io.auth: expected a string, found a list",
            ),
            (
                json!({"auths": {"quay.io": {"username": "u", "password": 7}}}),
                "auths.quay.io.password: expected a string",
            ),
            (
                json!({"auths": {"quay.io": {"username": "u"}}}),
                "only one of username and password",
            ),
            (json!({"auths": {"quay.io": {}}}), "holds no credentials"),
            (
                json!({"auths": {"quay.io": {}}, "credsStore": "desktop"}),
                "credential store \"desktop\"",
            ),
            (
                json!({"auths": {"quay.io": {"identitytoken": "t"}}}),
                "identitytoken",
            ),
            (
                json!({"credHelpers": {"quay.io": "ecr-login"}}),
                "credential helper \"ecr-login\"",
            ),
        ];
        for (file, message) in cases {
            let err = auth_file_entry(&file, "quay.io").unwrap_err();
            assert!(err.contains(message), "{file}: {err}");
            assert!(!err.contains(secret), "never repeats the value: {err}");
        }
        // No entry for this registry at all is not an error: anonymous.
        assert_eq!(
            auth_file_entry(&json!({"auths": {"ghcr.io": {}}}), "quay.io"),
            Ok(None)
        );
        assert_eq!(
            auth_file_entry(&json!({"credsStore": "desktop"}), "quay.io"),
            Ok(None)
        );
    }

    #[test]
    fn loopback_registries_are_recognised() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("quay.io"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }
}
