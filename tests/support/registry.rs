//! A real registry for the tests: Debian's `docker-registry` (CNCF
//! distribution) on a free loopback port, storage in a tempdir, its access
//! log kept to count blob uploads; `skopeo` to read what was pushed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";

/// A `docker-registry serve`, killed when dropped.
pub struct Registry {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// None (with a SKIPPED note) when the registry or skopeo is not installed.
    pub fn start() -> Option<Registry> {
        if !Path::new(DOCKER_REGISTRY).is_file()
            || Command::new("skopeo").arg("--version").output().is_err()
        {
            eprintln!("SKIPPED: docker-registry or skopeo is not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let log = dir.path().join("registry.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(DOCKER_REGISTRY)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::from(log_file.try_clone().unwrap()))
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("docker-registry starts");
        let registry = Registry {
            child,
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = stream.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                    return Some(registry);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "docker-registry did not answer on port {port}: {}",
            std::fs::read_to_string(&registry.log).unwrap_or_default()
        );
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The state-changing requests seen so far (`POST`/`PUT`/`PATCH`/`DELETE`
    /// under `/v2/`: blob upload sessions, chunks, manifests), from the
    /// registry's own access log.
    pub fn writes(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| {
                ["POST", "PUT", "PATCH", "DELETE"]
                    .iter()
                    .any(|method| line.contains(&format!("\"{method} /v2/")))
            })
            .map(str::to_string)
            .collect()
    }

    /// Blob upload sessions started so far (`POST /v2/<name>/blobs/uploads/`).
    pub fn upload_count(&self) -> usize {
        self.writes()
            .iter()
            .filter(|line| line.contains("\"POST /v2/") && line.contains("/blobs/uploads/"))
            .count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
