//! Pushing built images: every blob the registry lacks (mounted when its
//! bytes were not pulled), then the manifest unless the tag already points
//! at it; several images at once, with progress on a terminal.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::oci::{self, Blob, Image};
use common::progress::Progress;
use common::{Error, Result};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::retry::{describe_error, digest_result, logged, StageFailure};
use super::{Endpoint, Registry};

/// How many images are pushed at once (skopeo sends up to 6 layers at once).
pub(super) const PUSH_CONCURRENCY: usize = 6;

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

impl Registry {
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
