//! Pushing built images: every blob the registry lacks (mounted when its
//! bytes were not pulled), then the manifest unless the tag already points
//! at it; several images at once, with progress on a terminal.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::cli::progress::Progress;
use common::oci::{self, Blob, Image};
use common::{Error, Result};
use oci_client::{Client, Reference, RegistryOperation};

use super::retry::{describe_error, digest_result, logged, server_error, StageFailure};
use super::route::{plain_manifest_digest, Route};
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
        let blobs = jobs.iter().map(|job| job.image.blobs().count()).sum();
        let destinations: Vec<Reference> = jobs.iter().map(|job| job.target.clone()).collect();
        self.push_while(what, blobs, &destinations, move |queue| {
            for job in jobs {
                queue.push(job);
            }
        })
    }

    /// Pushes the images `fill` queues while it runs on another thread
    /// (building them), [`PUSH_CONCURRENCY`] at a time, each as
    /// [`push_image`] does, so that building and pushing overlap; returns
    /// what `fill` returned once it is done and every queued image is
    /// pushed. The first failed push stops the others, and `fill` learns it
    /// from [`PushQueue::push`]; that failure is the error.
    ///
    /// `blobs` (how many blobs the images hold) and `destinations` (where
    /// they go: their registries' credentials are found first) are known
    /// before the images are.
    pub fn push_while<R: Send>(
        &mut self,
        what: &str,
        blobs: usize,
        destinations: &[Reference],
        fill: impl FnOnce(PushQueue) -> R + Send,
    ) -> Result<R> {
        let mut routes = BTreeMap::new();
        for destination in destinations {
            let route = self.route_for(destination)?;
            routes.insert(destination.resolve_registry().to_string(), route);
        }
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let progress = PushProgress::new(what, blobs);
        let queue = PushQueue {
            sender,
            progress: progress.clone(),
        };
        let pushing = Pushing {
            client: self.client.clone(),
            open_client: self.open_client.clone(),
            routes: Arc::new(routes),
            insecure: Arc::new(self.insecure.clone()),
            progress: progress.clone(),
        };
        let runtime = &self.runtime;
        let (filled, outcome) = std::thread::scope(|scope| {
            let filler = scope.spawn(move || fill(queue));
            let outcome = runtime.block_on(pushing.run(receiver));
            (filler.join(), outcome)
        });
        progress.bar.finish();
        let filled =
            filled.map_err(|_| Error::internal("the thread building the images panicked"))?;
        match outcome {
            Ok(stats) => {
                self.stats.add(stats);
                Ok(filled)
            }
            Err(failed) => {
                let (target, failure) = *failed;
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

/// Where [`Registry::push_while`]'s `fill` queues images to push.
pub struct PushQueue {
    sender: tokio::sync::mpsc::UnboundedSender<PushJob>,
    progress: PushProgress,
}

impl PushQueue {
    /// Queues one image; false when the pushes have stopped (one failed),
    /// so that the caller can stop building.
    pub fn push(&self, job: PushJob) -> bool {
        self.progress.queued(&job);
        self.sender.send(job).is_ok()
    }
}

/// What the pushing tasks share.
#[derive(Clone)]
struct Pushing {
    client: Client,
    open_client: Client,
    /// How each registry (by host) is reached.
    routes: Arc<BTreeMap<String, Route>>,
    insecure: Arc<Vec<String>>,
    progress: PushProgress,
}

/// A failed push: the image's tag (when known) and why; boxed, since a
/// `Reference` and a registry error make the `Err` of every task's result
/// hundreds of bytes.
type Failed = Box<(Option<Reference>, PushFailure)>;

impl Pushing {
    /// [`PUSH_CONCURRENCY`] tasks, each taking the next queued image until
    /// the queue is closed and empty; the first failure aborts the others.
    async fn run(
        self,
        receiver: tokio::sync::mpsc::UnboundedReceiver<PushJob>,
    ) -> std::result::Result<PushStats, Failed> {
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..PUSH_CONCURRENCY {
            workers.spawn(self.clone().work(Arc::clone(&receiver)));
        }
        let mut stats = PushStats::default();
        while let Some(joined) = workers.join_next().await {
            let done = joined.unwrap_or_else(|err| {
                Err(Box::new((
                    None,
                    PushFailure::Message(format!("a push task failed: {err}")),
                )))
            });
            match done {
                Ok(done) => stats.add(done),
                Err(failure) => {
                    workers.abort_all();
                    // Closing the queue tells the builder to stop.
                    receiver.lock().await.close();
                    return Err(failure);
                }
            }
        }
        Ok(stats)
    }

    /// One pushing task: queued images, one after another.
    async fn work(
        self,
        receiver: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<PushJob>>>,
    ) -> std::result::Result<PushStats, Failed> {
        let mut stats = PushStats::default();
        loop {
            let next = receiver.lock().await.recv().await;
            let Some(job) = next else {
                return Ok(stats);
            };
            let registry = job.target.resolve_registry().to_string();
            let Some(route) = self.routes.get(&registry).cloned() else {
                return Err(Box::new((
                    Some(job.target),
                    PushFailure::Message(format!("no credentials were looked up for {registry}")),
                )));
            };
            let client = match route {
                Route::SignedIn(_) => self.client.clone(),
                Route::Open(_) => self.open_client.clone(),
            };
            let endpoint = Endpoint::of(&self.insecure, &job.target);
            let (target, result) =
                push_image(client, (route, endpoint), job, self.progress.clone()).await;
            match result {
                Ok(done) => stats.add(done),
                Err(failure) => return Err(Box::new((Some(target), failure))),
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
    (route, endpoint): (Route, Endpoint),
    job: PushJob,
    progress: PushProgress,
) -> (Reference, std::result::Result<PushStats, PushFailure>) {
    let result = push_image_inner(&client, &route, &endpoint, &job, &progress).await;
    (job.target, result)
}

async fn push_image_inner(
    client: &Client,
    route: &Route,
    endpoint: &Endpoint,
    job: &PushJob,
    progress: &PushProgress,
) -> std::result::Result<PushStats, PushFailure> {
    let target = &job.target;
    let image = &job.image;
    let mut stats = PushStats::default();
    if let Route::SignedIn(auth) = route {
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
    }
    for blob in image.blobs() {
        if blob_present_or_unreadable(client, target, endpoint, &blob.digest).await? {
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
    // A registry keeps a manifest per repository and takes one only when
    // the repository holds its blobs: when a blob had to be sent or
    // mounted, the tag cannot point at this image yet.
    let current = match route {
        _ if stats.uploaded_blobs + stats.mounted_blobs > 0 => None,
        Route::SignedIn(auth) => logged("HEAD", endpoint.manifest(), 0, digest_result, || {
            client.fetch_manifest_digest(target, auth)
        })
        .await
        .ok(),
        Route::Open(plain) => plain_manifest_digest(plain.clone(), endpoint).await,
    };
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
/// Whether a blob can be skipped: [`blob_present`], except that a `HEAD`
/// still answered with a 5xx after its retries counts as absent. A
/// docker-registry killed while writing a repository's link to a blob keeps
/// answering that blob's `HEAD` with a 500 after a restart, and an upload
/// writes the link anew; a registry that is really down fails the upload
/// too, with its own message.
async fn blob_present_or_unreadable(
    client: &Client,
    target: &Reference,
    endpoint: &Endpoint,
    digest: &str,
) -> std::result::Result<bool, StageFailure> {
    match blob_present(client, target, endpoint, digest).await {
        Err(failure) if server_error(&failure.err) => {
            common::cli::note(
                common::cli::tool_name(),
                common::cli::redact::text(&format!(
                    "{}: {}; sending it again (an upload writes the registry's record of it anew)",
                    failure.stage,
                    describe_error(&failure.err)
                )),
            );
            Ok(false)
        }
        answered => answered,
    }
}

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
    /// A line for `blobs` blobs; the bytes' total grows as images are queued.
    fn new(what: &str, blobs: usize) -> PushProgress {
        let progress = PushProgress {
            bar: Progress::bytes(what, 0),
            blobs_done: Arc::new(AtomicUsize::new(0)),
            blobs,
        };
        progress
            .bar
            .set_message(format!("0/{} blobs", progress.blobs));
        progress
    }

    /// An image queued: its blobs' bytes join the total.
    fn queued(&self, job: &PushJob) {
        self.bar
            .inc_length(job.image.blobs().map(|b| b.data.len() as u64).sum());
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::atomic::AtomicBool;

    /// A loopback "registry" that answers every request 400: a push to it
    /// fails at its first request, without a retry.
    fn refusing_registry() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        host
    }

    fn job(target: &Reference) -> PushJob {
        let layer = Blob::new(oci::MEDIA_TYPE_LAYER_GZIP, oci::gzip(b"layer"));
        PushJob {
            target: target.clone(),
            image: Image::new(
                Blob::new(oci::MEDIA_TYPE_CONFIG, b"{}".to_vec()),
                vec![layer],
            ),
            mount_from: None,
            what: "test".into(),
        }
    }

    #[test]
    fn images_are_pushed_while_the_filler_is_still_building() {
        let host = refusing_registry();
        let target = Reference::try_from(format!("{host}/org/x:v1")).unwrap();
        let mut registry =
            Registry::new(vec![host.clone()], std::time::Duration::from_secs(10)).unwrap();
        let stopped = AtomicBool::new(false);
        let err = registry
            .push_while("test", 2, std::slice::from_ref(&target), |queue| {
                assert!(queue.push(job(&target)));
                // Still building: the first image's push runs meanwhile,
                // fails, and closes the queue. (Were pushes to start only
                // once this returned, the queue would stay open and this
                // would give up after 60 s.)
                for _ in 0..1200 {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    if !queue.push(job(&target)) {
                        stopped.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            })
            .unwrap_err();
        assert!(
            stopped.load(Ordering::SeqCst),
            "the filler saw the pushes stop"
        );
        assert_eq!(err.exit_status(), common::ExitStatus::Remote, "{err}");
        assert!(err.to_string().contains(&host), "{err}");
    }

    #[test]
    fn what_the_filler_returns_is_the_result_when_nothing_fails() {
        let mut registry = Registry::new(Vec::new(), std::time::Duration::from_secs(10)).unwrap();
        let built = registry.push_while("test", 0, &[], |_queue| 42).unwrap();
        assert_eq!(built, 42);
        assert_eq!(registry.stats, PushStats::default());
    }
}
