//! A real registry for tests that push: Debian's `docker-registry`
//! (CNCF distribution) on a free loopback port, storage in a tempdir, its
//! access log kept to count what was written; `skopeo` to read it back.

use std::process::Command;

use addon_flow_testservers::registry::{free_port, DockerRegistry, DOCKER_REGISTRY};
use common::oci;

/// Debian's `docker-registry serve` on a free loopback port (the test
/// servers' [`DockerRegistry`]), storage in a tempdir; killed when dropped.
pub struct LoopbackRegistry {
    registry: DockerRegistry,
    _dir: tempfile::TempDir,
}

impl LoopbackRegistry {
    /// None (with a note) when docker-registry is not installed. A port
    /// free when picked can be taken before the registry binds it (the
    /// tests start servers on many threads at once): a registry that exits
    /// before it answers is started again on another port, up to three
    /// times ([`DockerRegistry::start`] counts an answer only while its
    /// registry runs).
    pub fn start() -> Option<LoopbackRegistry> {
        if !crate::prerequisite(DOCKER_REGISTRY, crate::program(DOCKER_REGISTRY)) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut failures = Vec::new();
        for _ in 0..3 {
            match DockerRegistry::start(free_port(), dir.path()) {
                Ok(registry) => {
                    return Some(LoopbackRegistry {
                        registry,
                        _dir: dir,
                    })
                }
                Err(err) => failures.push(err.to_string()),
            }
        }
        panic!("docker-registry did not start on three ports: {failures:?}");
    }

    /// `127.0.0.1:PORT`, the registry part of a reference.
    pub fn host(&self) -> String {
        self.registry.host()
    }

    /// `127.0.0.1:PORT/<path>`: a repository of this registry.
    pub fn repo(&self, path: &str) -> String {
        format!("{}/{path}", self.host())
    }

    /// Makes the registry lose one tag of `repository` (`org/name`) behind
    /// its clients' backs, as a registry cleanup would: the tag's folder goes
    /// from its storage. Returns the tag lost.
    pub fn lose_a_tag(&self, repository: &str) -> String {
        let tags = self
            ._dir
            .path()
            .join("data/docker/registry/v2/repositories")
            .join(repository)
            .join("_manifests/tags");
        let lost = std::fs::read_dir(&tags)
            .unwrap_or_else(|err| panic!("{}: {err}", tags.display()))
            .next()
            .unwrap_or_else(|| panic!("{} has no tag", tags.display()))
            .unwrap()
            .path();
        std::fs::remove_dir_all(&lost).unwrap();
        lost.file_name().unwrap().to_string_lossy().into_owned()
    }

    /// The state-changing requests seen so far (`POST`/`PUT`/`PATCH`/`DELETE`
    /// under `/v2/`: blob upload sessions, chunks, manifests), from the
    /// registry's own access log.
    pub fn writes(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|line| {
                ["POST", "PUT", "PATCH", "DELETE"]
                    .iter()
                    .any(|method| line.starts_with(&format!("{method} /v2/")))
            })
            .collect()
    }

    /// Every request seen so far, as the access log's `"METHOD /v2/... HTTP/1.1"` part.
    pub fn requests(&self) -> Vec<String> {
        self.registry
            .log_text()
            .lines()
            .filter_map(|line| {
                let start = line.find("\"")? + 1;
                let request = &line[start..];
                let end = request.find('"')?;
                request[..end]
                    .contains(" /v2/")
                    .then(|| request[..end].to_string())
            })
            .collect()
    }

    /// Blob upload sessions started so far (`POST /v2/<name>/blobs/uploads/`).
    pub fn upload_count(&self) -> usize {
        self.writes()
            .iter()
            .filter(|line| line.starts_with("POST /v2/") && line.contains("/blobs/uploads/"))
            .count()
    }
}

/// How many of `requests` (access log lines, as [`LoopbackRegistry::requests`]
/// gives them) `matches`.
pub fn count_requests(requests: &[String], matches: impl Fn(&str) -> bool) -> usize {
    requests.iter().filter(|request| matches(request)).count()
}

/// Whether `skopeo` runs here ([`crate::prerequisite`]: skipped, or failed
/// in CI, when not).
pub fn skopeo_installed(what: &str) -> bool {
    crate::prerequisite(&format!("skopeo ({what})"), crate::program("skopeo"))
}

/// The OCI layout skopeo copies `image` into from a plain-HTTP test
/// registry, tagged `pulled`: what a client we did not write reads back.
pub fn skopeo_pull(image: &str) -> tempfile::TempDir {
    let pulled = tempfile::tempdir().unwrap();
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{image}"),
        &format!("oci:{}:pulled", pulled.path().display()),
    ]);
    pulled
}

/// `skopeo inspect` of `image` in a plain-HTTP test registry, as JSON: what
/// a client we did not write sees there.
pub fn skopeo_inspect(image: &str) -> serde_json::Value {
    skopeo_json(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ])
}

/// `skopeo ARGS...`'s stdout as JSON (an `inspect`).
pub fn skopeo_json(args: &[&str]) -> serde_json::Value {
    let text = skopeo(args);
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("skopeo {args:?}: {err}:\n{text}"))
}

/// `skopeo ARGS...`'s stdout; the test fails when skopeo does.
pub fn skopeo(args: &[&str]) -> String {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo runs");
    assert!(
        output.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A small base image of our own making (the opm image cannot be pulled
/// here): one layer with a `bin/opm` placeholder and opm's entrypoint, in an
/// OCI layout under the name `base`.
pub fn make_base_layout(dir: &std::path::Path) {
    let mut content = oci::LayerContent::new();
    content
        .file("bin/opm", b"#!/bin/sh\necho placeholder opm\n".to_vec())
        .unwrap();
    let layer = oci::Layer::from_content(&content).unwrap();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/bin/opm"], "Labels": {"base": "test-opm"}},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [{"created_by": "test base"}]});
    let image = oci::Image::new(
        oci::Blob::new(oci::MEDIA_TYPE_CONFIG, serde_json::to_vec(&config).unwrap()),
        vec![layer.blob],
    );
    oci::OciLayout::new(dir)
        .write_images(&[("base".into(), &image)])
        .unwrap();
}
