//! A real container registry for the tests (Debian's `docker-registry`,
//! CNCF distribution) and a faulting HTTP/1.1 proxy to put in front of it.
//!
//! The proxy is a [`Handler`] on this crate's own server, so a [`FaultPlan`]
//! applies to it exactly as to the fake APIs: each request either gets its
//! fault (5xx, 429 with `Retry-After`, reset, hang, truncate, html, huge) or
//! is forwarded to the registry on a fresh connection. Bodies (monolithic
//! PUTs, PATCH chunks, chunked uploads) are read whole and sent on with a
//! `Content-Length`; the `Host` header is passed unchanged, so the registry
//! builds its upload `Location`s with the proxy's address, and any absolute
//! `Location` naming the registry itself is rewritten to the proxy's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::faults::FaultPlan;
use crate::http::{HttpRequest, HttpResponse, Server};

/// Where Debian installs distribution's registry.
pub const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";

/// Whether `docker-registry` and `skopeo` are both installed (the tests
/// that need them say SKIPPED otherwise).
pub fn registry_tools_installed() -> bool {
    Path::new(DOCKER_REGISTRY).is_file()
        && Command::new("skopeo")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A `docker-registry serve` on a loopback port with its storage in a
/// directory the caller keeps, so it can be stopped and started again on
/// the same port with the same blobs. Killed when dropped.
pub struct DockerRegistry {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl DockerRegistry {
    /// Starts on `port` with `storage` (created if missing) and waits until
    /// `GET /v2/` answers 200.
    pub fn start(port: u16, storage: &Path) -> std::io::Result<DockerRegistry> {
        std::fs::create_dir_all(storage)?;
        let config = storage.join(format!("config-{port}.yml"));
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.join("data").display()
            ),
        )?;
        let log = storage.join(format!("registry-{port}.log"));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let child = Command::new(DOCKER_REGISTRY)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::from(log_file.try_clone()?))
            .stderr(Stdio::from(log_file))
            .spawn()?;
        let mut registry = DockerRegistry { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            // An answer counts only while ours runs: one that lost the port
            // to another process exits at once.
            if registry.answers() && matches!(registry.child.try_wait(), Ok(None)) {
                return Ok(registry);
            }
            if let Ok(Some(status)) = registry.child.try_wait() {
                return Err(std::io::Error::other(format!(
                    "docker-registry exited ({status}): {}",
                    registry.log_text()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(std::io::Error::other(format!(
            "docker-registry did not answer on port {port}: {}",
            registry.log_text()
        )))
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = stream.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The registry's own log (access lines included).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process and waits for it: the port is free afterwards.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One request the proxy forwarded (faulted requests other than `slow`
/// and `truncate` never reach the registry and are counted by the plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub method: String,
    /// Path and query as sent to the registry.
    pub target: String,
    /// The registry's status, or 502 when it could not be reached.
    pub status: u16,
}

/// Called after each forwarded request, with every one so far: lets a test
/// act at a chosen point (stop the registry after the Nth upload).
pub type Observer = Arc<dyn Fn(&[Forwarded]) + Send + Sync>;

/// The faulting proxy; stopped when dropped.
pub struct FaultingProxy {
    server: Server,
    forwarded: Arc<Mutex<Vec<Forwarded>>>,
}

impl FaultingProxy {
    /// A proxy on a free loopback port in front of `upstream`, applying `faults`.
    pub fn start(upstream: SocketAddr, faults: FaultPlan) -> std::io::Result<FaultingProxy> {
        FaultingProxy::start_observed(upstream, faults, Arc::new(|_: &[Forwarded]| {}))
    }

    /// As [`FaultingProxy::start`], calling `observer` after each forwarded request.
    pub fn start_observed(
        upstream: SocketAddr,
        faults: FaultPlan,
        observer: Observer,
    ) -> std::io::Result<FaultingProxy> {
        let forwarded = Arc::new(Mutex::new(Vec::new()));
        let own_host: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
        let handler = {
            let forwarded = Arc::clone(&forwarded);
            let own_host = Arc::clone(&own_host);
            Arc::new(move |request: &HttpRequest| {
                let proxy_host = own_host.get().map_or("", String::as_str);
                let response = forward(upstream, proxy_host, request);
                let seen = {
                    let mut log = forwarded.lock().unwrap_or_else(|p| p.into_inner());
                    log.push(Forwarded {
                        method: request.method.clone(),
                        target: request_target(request),
                        status: response.status,
                    });
                    log.clone()
                };
                observer(&seen);
                response
            })
        };
        let server = Server::start_faulty_on("127.0.0.1:0", handler, faults)?;
        let _ = own_host.set(server.addr().to_string());
        Ok(FaultingProxy { server, forwarded })
    }

    /// `127.0.0.1:<port>`: the registry host clients are given.
    pub fn host(&self) -> String {
        self.server.addr().to_string()
    }

    /// Every request forwarded so far, in order.
    pub fn forwarded(&self) -> Vec<Forwarded> {
        self.forwarded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Characters left as they are in a path (`/`, and `:` of `sha256:`).
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b':')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Characters left as they are in a query key or value.
const QUERY_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b':')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The request's path and query, encoded again (the server decoded them).
fn request_target(request: &HttpRequest) -> String {
    let mut target = utf8_percent_encode(&request.path, PATH_KEEP).to_string();
    for (i, (key, value)) in request.query.iter().enumerate() {
        target.push(if i == 0 { '?' } else { '&' });
        target.push_str(&utf8_percent_encode(key, QUERY_KEEP).to_string());
        target.push('=');
        target.push_str(&utf8_percent_encode(value, QUERY_KEEP).to_string());
    }
    target
}

/// Headers that belong to one connection, not to the request or answer.
fn hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "proxy-connection",
        "te",
        "upgrade",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// Sends one request to the registry on a new connection and reads its
/// answer whole; 502 when the registry cannot be reached or breaks off.
fn forward(upstream: SocketAddr, proxy_host: &str, request: &HttpRequest) -> HttpResponse {
    match try_forward(upstream, proxy_host, request) {
        Ok(response) => response,
        Err(err) => HttpResponse::json(
            502,
            &serde_json::json!({"errors": [{
                "code": "UNAVAILABLE",
                "message": format!("proxy: the registry at {upstream} did not answer: {err}"),
            }]}),
        ),
    }
}

fn try_forward(
    upstream: SocketAddr,
    proxy_host: &str,
    request: &HttpRequest,
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_nodelay(true)?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\n",
        request.method,
        request_target(request)
    );
    for (name, value) in &request.headers {
        if !hop_by_hop(name) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        request.body.len()
    ));
    stream.write_all(head.as_bytes())?;
    stream.write_all(&request.body)?;
    stream.flush()?;

    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut response = HttpResponse::new(status);
    let mut length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<u64>().ok();
        }
        if name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
            chunked = true;
        }
        if name.eq_ignore_ascii_case("location") {
            let rewritten = value.replace(&upstream.to_string(), proxy_host);
            response.headers.push((name.to_string(), rewritten));
        } else if !hop_by_hop(name) {
            response.headers.push((name.to_string(), value.to_string()));
        }
    }
    let no_body = request.method == "HEAD" || status == 204 || status == 304;
    if no_body {
        // Kept for the HEAD's answer: the length its GET would have.
        if let Some(length) = length {
            response
                .headers
                .push(("Content-Length".to_string(), length.to_string()));
        }
    } else if chunked {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            response.body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = length {
        response.body = vec![0; length as usize];
        reader.read_exact(&mut response.body)?;
    } else {
        reader.read_to_end(&mut response.body)?;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_encoded_again_as_the_registry_expects() {
        let request = HttpRequest {
            method: "PUT".into(),
            path: "/v2/osd-addons/demo/blobs/uploads/a b".into(),
            query: vec![
                ("_state".into(), "eyJ0=+/".into()),
                ("digest".into(), "sha256:abc".into()),
            ],
            ..HttpRequest::default()
        };
        assert_eq!(
            request_target(&request),
            "/v2/osd-addons/demo/blobs/uploads/a%20b?_state=eyJ0%3D%2B%2F&digest=sha256:abc"
        );
    }

    #[test]
    fn an_unreachable_registry_is_a_502_naming_it() {
        let upstream = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let response = forward(upstream, "127.0.0.1:1", &HttpRequest::default());
        assert_eq!(response.status, 502);
        assert!(String::from_utf8_lossy(&response.body).contains(&upstream.to_string()));
    }

    #[test]
    fn answers_are_forwarded_with_location_rewritten_and_bodies_dechunked() {
        let upstream = Server::start(Arc::new(|request: &HttpRequest| {
            HttpResponse::new(202)
                .header(
                    "Location",
                    format!(
                        "http://{}/v2/x/blobs/uploads/1",
                        request.header("x-self").unwrap_or("")
                    ),
                )
                .body("text/plain", request.body.clone())
        }))
        .unwrap();
        let proxy = FaultingProxy::start(upstream.addr(), FaultPlan::default()).unwrap();
        let mut stream = TcpStream::connect(proxy.host()).unwrap();
        write!(
            stream,
            "PATCH /v2/x/blobs/uploads/1 HTTP/1.1\r\nHost: {}\r\nX-Self: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            proxy.host(),
            upstream.addr()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
        assert!(
            answer.contains(&format!(
                "Location: http://{}/v2/x/blobs/uploads/1",
                proxy.host()
            )),
            "{answer}"
        );
        assert!(answer.ends_with("\r\n\r\nabcde"), "{answer}");
        assert_eq!(proxy.forwarded()[0].status, 202);
    }
}
