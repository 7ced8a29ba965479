//! A real registry for tests that push: Debian's `docker-registry`
//! (CNCF distribution) on a free loopback port, storage in a tempdir, its
//! access log kept to count what was written; `skopeo` to read it back.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::oci;

const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";

/// Debian's `docker-registry serve` on a free loopback port; killed when
/// dropped.
pub struct LoopbackRegistry {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoopbackRegistry {
    /// None (with a note) when docker-registry is not installed. A port
    /// free when picked can be taken before the registry binds it (the
    /// tests start servers on many threads at once): a registry that exits
    /// before it answers is started again on another port, up to three
    /// times, and an answer counts only while ours runs.
    pub fn start() -> Option<LoopbackRegistry> {
        if !crate::prerequisite(DOCKER_REGISTRY, crate::program(DOCKER_REGISTRY)) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("registry.log");
        let running = |child: &mut Child| child.try_wait().is_ok_and(|status| status.is_none());
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let config = dir.path().join("config.yml");
            std::fs::write(&config, registry_config(&dir.path().join("data"), port)).unwrap();
            let log_file = std::fs::File::create(&log).unwrap();
            let mut child = Command::new(DOCKER_REGISTRY)
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::from(log_file.try_clone().unwrap()))
                .stderr(Stdio::from(log_file))
                .spawn()
                .expect("docker-registry starts");
            let deadline = Instant::now() + Duration::from_secs(20);
            while running(&mut child) && Instant::now() < deadline {
                if answers_v2(port) && running(&mut child) {
                    return Some(LoopbackRegistry {
                        child,
                        port,
                        log,
                        _dir: dir,
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "docker-registry did not start on three ports; its log ends: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
}

/// Whether a registry on `port` answers `GET /v2/` with 200 (in 2 s).
fn answers_v2(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains(" 200 ")
}

/// docker-registry's configuration: storage in `data`, served on loopback
/// `port`; only the access log (one line per request) is wanted from it.
fn registry_config(data: &std::path::Path, port: u16) -> String {
    format!(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
        data.display()
    )
}

impl LoopbackRegistry {
    /// `127.0.0.1:PORT`, the registry part of a reference.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
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
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
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

impl Drop for LoopbackRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
