//! A small threaded HTTP/1.1 server on loopback: enough protocol for real
//! clients (keep-alive, Content-Length and chunked bodies) and nothing more.
//! The API servers of this crate are handlers on top of it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::faults::{Fault, FaultPlan, HUGE_BODY_BYTES};

/// A request, read whole.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    /// The path without the query string, percent-decoded.
    pub path: String,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The bearer token of the `Authorization` header, if any.
    pub fn bearer_token(&self) -> Option<&str> {
        self.header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
    }

    /// Form fields of an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        parse_query(&String::from_utf8_lossy(&self.body))
    }
}

/// A response to send.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn new(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        HttpResponse::new(status).body(
            "application/json",
            serde_json::to_vec(value).unwrap_or_default(),
        )
    }

    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers
            .push(("Content-Type".to_string(), content_type.to_string()));
        self.body = body;
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// Answers requests; shared by all connection threads.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: &HttpRequest) -> HttpResponse;
}

impl<F> Handler for F
where
    F: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
{
    fn handle(&self, request: &HttpRequest) -> HttpResponse {
        self(request)
    }
}

/// A running server; stopped when dropped.
pub struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
    tls: bool,
}

/// The server's certificate chain and private key (PEM), for HTTPS, and the
/// CA certificate clients should trust.
#[derive(Debug, Clone)]
pub struct TlsIdentity {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// The issuing CA (PEM); `None` when unknown (then clients are given the
    /// certificate itself).
    pub ca_pem: Option<Vec<u8>>,
    /// When set, clients may present a certificate signed by this CA (PEM);
    /// requests on such a connection carry [`CLIENT_CERT_HEADER`].
    pub client_ca_pem: Option<Vec<u8>>,
}

/// Set by the server (never by the client: an incoming one is dropped) on
/// requests whose TLS connection presented a client certificate the
/// server verified; its value is `verified`.
pub const CLIENT_CERT_HEADER: &str = "x-addon-flow-verified-client-cert";

impl TlsIdentity {
    /// A rustls server configuration serving this identity (no client
    /// certificates asked for).
    pub fn server_config(&self) -> std::io::Result<Arc<rustls::ServerConfig>> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let invalid = |what: &str, err: String| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {err}"))
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|err| invalid("certificate", err.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|err| invalid("private key", err.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|err| invalid("TLS versions", err.to_string()))?;
        let builder = match &self.client_ca_pem {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(ca) {
                    let cert = cert.map_err(|err| invalid("client CA", err.to_string()))?;
                    roots
                        .add(cert)
                        .map_err(|err| invalid("client CA", err.to_string()))?;
                }
                // Certificates are optional: token clients connect too.
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .allow_unauthenticated()
                .build()
                .map_err(|err| invalid("client CA", err.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(|err| invalid("certificate and key", err.to_string()))?;
        Ok(Arc::new(config))
    }
}

impl Server {
    /// Starts serving on a free loopback port.
    pub fn start(handler: Arc<dyn Handler>) -> std::io::Result<Server> {
        Server::start_on("127.0.0.1:0", handler)
    }

    /// Starts serving on `addr` (such as `127.0.0.1:8080`).
    pub fn start_on(addr: &str, handler: Arc<dyn Handler>) -> std::io::Result<Server> {
        Server::start_with(addr, handler, None, FaultPlan::default())
    }

    /// Starts serving on `addr`, misbehaving as `faults` says on the next requests.
    pub fn start_faulty_on(
        addr: &str,
        handler: Arc<dyn Handler>,
        faults: FaultPlan,
    ) -> std::io::Result<Server> {
        Server::start_with(addr, handler, None, faults)
    }

    /// Starts serving HTTPS on `addr` with `identity`.
    pub fn start_tls_on(
        addr: &str,
        handler: Arc<dyn Handler>,
        identity: &TlsIdentity,
    ) -> std::io::Result<Server> {
        Server::start_with(
            addr,
            handler,
            Some(identity.server_config()?),
            FaultPlan::default(),
        )
    }

    /// Serves HTTPS with `identity`, misbehaving as `faults` says.
    pub fn start_faulty_tls_on(
        addr: &str,
        handler: Arc<dyn Handler>,
        identity: &TlsIdentity,
        faults: FaultPlan,
    ) -> std::io::Result<Server> {
        Server::start_with(addr, handler, Some(identity.server_config()?), faults)
    }

    fn start_with(
        addr: &str,
        handler: Arc<dyn Handler>,
        tls: Option<Arc<rustls::ServerConfig>>,
        faults: FaultPlan,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let is_tls = tls.is_some();
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopping);
        let accept_thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let handler = Arc::clone(&handler);
                let stop = Arc::clone(&stop);
                let tls = tls.clone();
                let faults = faults.clone();
                std::thread::spawn(move || {
                    serve_connection(stream, tls, handler.as_ref(), &stop, &faults)
                });
            }
        });
        Ok(Server {
            addr,
            stopping,
            accept_thread: Some(accept_thread),
            tls: is_tls,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` (`https://` when serving TLS).
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }

    /// Blocks until the server is stopped (for the stand-alone binaries).
    pub fn wait(mut self) {
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_connection(
    stream: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: &dyn Handler,
    stopping: &AtomicBool,
    faults: &FaultPlan,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    // The response head and body are separate writes: without this, Nagle's
    // algorithm holds the body until the client's delayed ACK (~40 ms a request).
    let _ = stream.set_nodelay(true);
    match tls {
        Some(config) => {
            if let Ok(connection) = rustls::ServerConnection::new(config) {
                serve_stream(
                    rustls::StreamOwned::new(connection, stream),
                    handler,
                    stopping,
                    faults,
                );
            }
        }
        None => serve_stream(stream, handler, stopping, faults),
    }
}

/// Serves requests on one connection (plain or TLS) until it closes.
/// Whether the connection's peer presented a certificate the server verified.
trait PeerCertificate {
    fn verified_client_cert(&self) -> bool;
}

impl PeerCertificate for TcpStream {
    fn verified_client_cert(&self) -> bool {
        false
    }
}

impl PeerCertificate for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn verified_client_cert(&self) -> bool {
        // rustls only completes the handshake with a certificate it verified.
        self.conn.peer_certificates().is_some_and(|c| !c.is_empty())
    }
}

fn serve_stream(
    stream: impl Read + Write + PeerCertificate,
    handler: &dyn Handler,
    stopping: &AtomicBool,
    faults: &FaultPlan,
) {
    // Writes go through `get_mut`: the buffer only holds unread request bytes.
    let mut reader = BufReader::new(stream);
    while !stopping.load(Ordering::SeqCst) {
        let mut request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(_) => {
                let _ = write_response(reader.get_mut(), &HttpResponse::new(400), false, false);
                return;
            }
        };
        request
            .headers
            .retain(|(name, _)| name != CLIENT_CERT_HEADER);
        if reader.get_ref().verified_client_cert() {
            request
                .headers
                .push((CLIENT_CERT_HEADER.to_string(), "verified".to_string()));
        }
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        // The answer to a HEAD is its head alone: a body would be read as the next answer.
        let head_only = request.method == "HEAD";
        let served = match faults.next_fault() {
            Fault::Pass => {
                let response = handler.handle(&request);
                if access_log_enabled() {
                    // One line per request, for scripts/bench.sh to count what changed state.
                    eprintln!(
                        "access: {} {} {}",
                        request.method, request.path, response.status
                    );
                }
                write_response(reader.get_mut(), &response, close, head_only)
            }
            fault => {
                if access_log_enabled() {
                    eprintln!(
                        "access: {} {} fault {fault:?}",
                        request.method, request.path
                    );
                }
                match serve_fault(
                    reader.get_mut(),
                    fault,
                    &request,
                    handler,
                    stopping,
                    head_only,
                ) {
                    Some(written) => written,
                    None => return,
                }
            }
        };
        if served.is_err() || close {
            return;
        }
    }
}

/// Misbehaves on one request. `None`: the connection is to be closed.
fn serve_fault(
    writer: &mut impl Write,
    fault: Fault,
    request: &HttpRequest,
    handler: &dyn Handler,
    stopping: &AtomicBool,
    head_only: bool,
) -> Option<std::io::Result<()>> {
    match fault {
        Fault::Pass => Some(write_response(
            writer,
            &handler.handle(request),
            false,
            head_only,
        )),
        Fault::Status { code, retry_after } => {
            let mut response = HttpResponse::json(
                code,
                &serde_json::json!({
                    "kind": "Error",
                    "reason": format!("injected fault: HTTP {code}"),
                }),
            );
            if let Some(seconds) = retry_after {
                response = response.header("Retry-After", seconds.to_string());
            }
            Some(write_response(writer, &response, false, head_only))
        }
        Fault::Reset => None,
        Fault::Slow(delay) => {
            std::thread::sleep(delay);
            Some(write_response(
                writer,
                &handler.handle(request),
                false,
                head_only,
            ))
        }
        Fault::Truncate => {
            let response = handler.handle(request);
            if head_only {
                // No body to cut short: the connection closes after the head.
                let _ = write_head(writer, &response, response.body.len() as u64, true);
                return None;
            }
            let half = response.body.len() / 2;
            let _ = write_head(writer, &response, response.body.len() as u64, true)
                .and_then(|()| writer.write_all(&response.body[..half]))
                .and_then(|()| writer.flush());
            None
        }
        Fault::Hang => {
            // Held open (never answered) until the server stops or an hour passes.
            for _ in 0..36_000 {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            None
        }
        Fault::Html => {
            let page = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body><h1>Please sign in</h1><p>This page is served by a proxy.</p></body></html>\n";
            let response = HttpResponse::new(200).body("text/html; charset=utf-8", page.to_vec());
            Some(write_response(writer, &response, false, head_only))
        }
        Fault::Huge => {
            // Streamed in chunks: the server never holds the whole body.
            let response = HttpResponse::new(200).header("Content-Type", "application/json");
            if head_only {
                let _ = write_head(writer, &response, HUGE_BODY_BYTES, true);
                return None;
            }
            let chunk = [b' '; 64 * 1024];
            let mut written = write_head(writer, &response, HUGE_BODY_BYTES, true)
                .and_then(|()| writer.write_all(b"["));
            let mut left = HUGE_BODY_BYTES - 2;
            while written.is_ok() && left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                written = writer.write_all(&chunk[..n]);
                left -= n as u64;
            }
            let _ = written
                .and_then(|()| writer.write_all(b"]"))
                .and_then(|()| writer.flush());
            None
        }
    }
}

/// `FAKE_SERVER_ACCESS_LOG=1`: the servers log every request on stderr.
fn access_log_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("FAKE_SERVER_ACCESS_LOG").is_some_and(|v| v == "1"))
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<HttpRequest>> {
    // A TLS handshake on a plain port (skopeo tries https first) has no line
    // to wait for: refused at once, as Go's servers do, so the client falls back.
    if reader.fill_buf()?.first() == Some(&0x16) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "a TLS handshake on a plain HTTP port",
        ));
    }
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut request = HttpRequest {
        method: method.to_string(),
        path: percent_decode(path),
        query: parse_query(query),
        ..HttpRequest::default()
    };
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            request
                .headers
                .push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    if request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size")
                })?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            request.body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = request
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        request.body = vec![0; length];
        reader.read_exact(&mut request.body)?;
    }
    Ok(Some(request))
}

fn write_response(
    writer: &mut impl Write,
    response: &HttpResponse,
    close: bool,
    head_only: bool,
) -> std::io::Result<()> {
    // A HEAD's answer may declare the length its GET would have (a proxy passes it on).
    let declared = response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<u64>().ok())
        .filter(|_| head_only);
    let head = head(
        response,
        declared.unwrap_or(response.body.len() as u64),
        close,
    );
    // One write, so one packet for a small answer: the head and the body
    // written apart cost a system call and a segment more per request.
    let mut whole = head.into_bytes();
    if !head_only {
        whole.extend_from_slice(&response.body);
    }
    writer.write_all(&whole)?;
    writer.flush()
}

/// The status line and headers, with `Content-Length: length`.
fn write_head(
    writer: &mut impl Write,
    response: &HttpResponse,
    length: u64,
    close: bool,
) -> std::io::Result<()> {
    writer.write_all(head(response, length, close).as_bytes())
}

/// The text of [`write_head`].
fn head(response: &HttpResponse, length: u64, close: bool) -> String {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {length}\r\n"));
    head.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "Connection: keep-alive\r\n\r\n"
    });
    head
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Splits `a=1&b=x%20y` into decoded pairs (`+` is a space, as in forms).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&name.replace('+', " ")),
                percent_decode(&value.replace('+', " ")),
            )
        })
        .collect()
}

/// `%XX` decoded; a `%` without two hex digits stays as it is.
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn serves_keep_alive_requests_with_bodies() {
        let server = Server::start(Arc::new(|request: &HttpRequest| {
            HttpResponse::json(
                200,
                &serde_json::json!({
                    "method": request.method, "path": request.path,
                    "q": request.query_param("q"), "body": String::from_utf8_lossy(&request.body),
                }),
            )
        }))
        .unwrap();
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        for _ in 0..2 {
            stream
                .write_all(
                    b"POST /a%20b?q=x+y HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                )
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut status = String::new();
            reader.read_line(&mut status).unwrap();
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.strip_prefix("Content-Length: ") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                value,
                serde_json::json!({"method": "POST", "path": "/a b", "q": "x y", "body": "hello"})
            );
        }
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%2Fb%3"), "a/b%3");
        assert_eq!(
            parse_query("x=1&y=%7B%7D&z"),
            vec![
                ("x".into(), "1".into()),
                ("y".into(), "{}".into()),
                ("z".into(), "".into())
            ]
        );
    }
}
