//! HTTP plumbing for the tools that talk to remote systems (Hive's Kubernetes
//! API, OCM, Prometheus): one agent per server with its TLS settings, bearer
//! auth, retries with capped exponential backoff for 5xx, 429 and dropped
//! connections (honouring `Retry-After`), and errors that carry the server's
//! own words but never a credential.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use crate::cli::error::{Error, RemoteKind, Result};

mod cleartext;
mod route;
pub use cleartext::check_credentials_transport;
pub use route::check_proxy_url;

/// Response bodies larger than this are refused (no API answer we read is near it).
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// A credential. Its `Debug` and `Display` never show the value, so it cannot
/// leak into an error message or a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Holds `value`, and registers it so that [`crate::cli::redact::text`] takes
    /// it out of any message (a server's error text that repeats it).
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::cli::redact::register(&value);
        Secret(value)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Read straight into a `Secret`: a credential in a file (kubeconfig, ocm.json)
/// is never a plain `String`, not even for a moment in a `Debug`-able struct.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How to trust the server and prove who we are (kubeconfig's
/// `certificate-authority-data`, `client-certificate-data`, ...).
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM CA certificates to trust instead of the public web roots.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate chain and key, for mutual TLS.
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    /// Skip server certificate verification (`insecure-skip-tls-verify`).
    pub insecure: bool,
    /// The name the server's certificate must carry, sent as SNI, when it is
    /// not the URL's host (`tls-server-name`).
    pub server_name: Option<String>,
    /// An HTTP CONNECT proxy to reach the server through (`proxy-url`);
    /// without one, the `HTTPS_PROXY`/`NO_PROXY` environment decides.
    pub proxy: Option<String>,
}

/// The client key is a credential: `Debug` says whether there is one, never what.
impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_pem", &self.ca_pem.as_ref().map(|pem| pem.len()))
            .field(
                "client_cert_pem",
                &self.client_cert_pem.as_ref().map(|pem| pem.len()),
            )
            .field(
                "client_key_pem",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("insecure", &self.insecure)
            .field("server_name", &self.server_name)
            .field("proxy", &self.proxy.as_deref().map(crate::cli::redact::url))
            .finish()
    }
}

/// When and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total tries, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// For tests only: the first wait of every retry backoff, in milliseconds,
/// instead of the policy's own (250 ms for a request, the poll interval for
/// csv-wait's failed polls). The tests of faults and retries assert on tries
/// and messages, never on time, so they need not sit through real backoff.
pub const TEST_RETRY_BASE_MS: &str = "ADDON_FLOW_RETRY_BASE_MS";

/// For tests only: the longest wait of every retry backoff in milliseconds,
/// a server's `Retry-After` included.
pub const TEST_RETRY_MAX_MS: &str = "ADDON_FLOW_RETRY_MAX_MS";

impl RetryPolicy {
    /// No retries: for calls whose caller handles failure itself.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// This policy with the test-only delays of [`TEST_RETRY_BASE_MS`] and
    /// [`TEST_RETRY_MAX_MS`], where they are set. Every policy that waits
    /// goes through here ([`Client`] does it for its own).
    pub fn with_test_delays(self) -> Self {
        let millis = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_millis)
        };
        self.with_delays(millis(TEST_RETRY_BASE_MS), millis(TEST_RETRY_MAX_MS))
    }

    /// This policy with another first wait, and its longest wait capped.
    fn with_delays(self, base: Option<Duration>, max: Option<Duration>) -> Self {
        RetryPolicy {
            base_delay: base.unwrap_or(self.base_delay),
            max_delay: max.map_or(self.max_delay, |max| self.max_delay.min(max)),
            ..self
        }
    }

    /// The wait before try number `attempt` (1-based, after a failure): doubling from
    /// `base_delay`, capped at `max_delay`, or the server's `Retry-After`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// `retrying in 0.5s`, and whether the wait is the server's `Retry-After`
/// (`retrying in 1.0s as the server's Retry-After asks`) or shorter than it
/// (`retrying in 10.0s, not the 60s of the server's Retry-After`).
fn retrying_in(wait: Duration, retry_after: Option<Duration>) -> String {
    let waiting = format!("retrying in {:.1}s", wait.as_secs_f64());
    match retry_after {
        None => waiting,
        Some(asked) if asked <= wait => format!("{waiting} as the server's Retry-After asks"),
        Some(asked) => format!(
            "{waiting}, not the {}s of the server's Retry-After",
            asked.as_secs()
        ),
    }
}

/// An HTTP answer, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; a body that is not JSON is a remote error naming `target`.
    pub fn json<T: serde::de::DeserializeOwned>(&self, target: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|err| {
            Error::remote_as(
                RemoteKind::NotTheApi,
                target,
                format!(
                    "answered with something that is not the expected JSON ({err}): {}",
                    snippet(&self.text())
                ),
            )
        })
    }
}

/// The first 300 characters of a body, on one line, for error messages.
pub fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 300 {
        format!("{}...", one_line.chars().take(300).collect::<String>())
    } else {
        one_line
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Path and query, appended to the client's base URL.
    pub path: &'a str,
    pub headers: Vec<(&'a str, String)>,
    /// Borrowed when the caller holds the bytes already (an object sent as
    /// read): a request does not copy what it sends.
    pub body: Option<Cow<'a, [u8]>>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Request {
            method,
            path,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// A body with its content type.
    pub fn body(mut self, content_type: &str, body: impl Into<Cow<'a, [u8]>>) -> Self {
        self.headers
            .push(("Content-Type", content_type.to_string()));
        self.body = Some(body.into());
        self
    }

    pub fn json(self, value: &impl serde::Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        self.body("application/json", body)
    }
}

/// How long one request may take when the tool does not say (`--request-timeout`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client for one server.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    token: Option<Secret>,
    /// `user:password` from the URL, sent as basic auth when there is no token.
    basic: Option<Secret>,
    retry: RetryPolicy,
    /// The longest one try of a request may take.
    request_timeout: Duration,
    /// The tool's own deadline (`--timeout`): no request runs past it.
    deadline: Option<Instant>,
    /// How errors name the server (the base URL, without credentials).
    target: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.target)
            .field("token", &self.token)
            .field("basic", &self.basic)
            .finish()
    }
}

impl Client {
    /// A client for `base_url` (scheme, host, port and an optional path
    /// prefix). A URL we cannot use (bad port, no host) is a usage error; a
    /// `user:password@` in it becomes basic auth and is never shown.
    pub fn new(base_url: &str, tls: &TlsOptions) -> Result<Client> {
        let base_url = base_url.trim_end_matches('/');
        let basic = crate::cli::redact::userinfo_of(base_url).map(|(user, password)| {
            Secret::new(password.clone());
            Secret::new(crate::text::base64::encode(
                format!("{user}:{password}").as_bytes(),
            ))
        });
        let base_url = crate::cli::redact::url(base_url);
        check_url(&base_url)?;
        let tls_config = tls_config(tls, &base_url)?;
        let mut config = ureq::Agent::config_builder();
        if let Some(proxy) = &tls.proxy {
            config = config.proxy(Some(route::proxy(proxy).map_err(Error::usage)?));
        }
        let config = config
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(DEFAULT_REQUEST_TIMEOUT))
            .user_agent(concat!("addon-flow/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls_config)
            // The tools send up to 16 requests at once to one host (`--jobs`,
            // the registry cache check): keep that many connections, rather
            // than ureq's 3, so a busy run does not reconnect per request.
            .max_idle_connections(32)
            .max_idle_connections_per_host(16)
            .build();
        Ok(Client {
            agent: route::agent(config, &base_url, tls.server_name.as_deref()),
            target: base_url.clone(),
            base_url,
            token: None,
            basic,
            retry: RetryPolicy::default().with_test_delays(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            deadline: None,
        })
    }

    pub fn with_token(mut self, token: Option<Secret>) -> Self {
        self.token = token;
        self
    }

    pub fn set_token(&mut self, token: Option<Secret>) {
        self.token = token;
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry.with_test_delays();
        self
    }

    /// Bounds each try of each request (`--request-timeout`).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// No request (nor a retry's wait) runs past `deadline`: the tool's `--timeout`.
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The base URL, without credentials (safe to print).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends a request, retrying 5xx, 429 and transport failures per the
    /// client's policy (a request that timed out is tried once more at
    /// most). Any other status is returned for the caller to judge.
    pub fn send(&self, request: &Request) -> Result<Response> {
        let mut attempt = 1;
        let mut timeouts = 0;
        loop {
            let started = Instant::now();
            let outcome = self.send_once(request);
            self.log_request(request, &outcome, started.elapsed(), attempt);
            let retry_after = match &outcome {
                Ok(response) if response.status == 429 || response.status >= 500 => response
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
                Err(Failure::Transient(_)) => None,
                Err(Failure::TimedOut(_)) if timeouts == 0 => {
                    timeouts += 1;
                    None
                }
                _ => return outcome.map_err(Failure::into_error),
            };
            let outcome = outcome.map_err(Failure::into_error);
            if attempt >= self.retry.attempts {
                return outcome;
            }
            let wait = self.retry.delay(attempt, retry_after);
            if self
                .deadline
                .is_some_and(|deadline| Instant::now() + wait >= deadline)
            {
                return outcome;
            }
            let why = match &outcome {
                Ok(response) => format!(
                    "{}: {} {}: HTTP {}",
                    self.target, request.method, request.path, response.status
                ),
                Err(err) => err.to_string(),
            };
            crate::cli::note(
                crate::cli::tool_name(),
                format!(
                    "{why}; {} ({attempt}/{})",
                    retrying_in(wait, retry_after),
                    self.retry.attempts - 1
                ),
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// `-v`: one line per HTTP request on stderr (method, URL without
    /// credentials, status, duration, try, bytes). Never a header: the
    /// credentials travel there.
    fn log_request(
        &self,
        request: &Request,
        outcome: &Result<Response, Failure>,
        took: Duration,
        attempt: u32,
    ) {
        if crate::cli::verbosity() < crate::cli::Verbosity::Verbose {
            return;
        }
        let url = crate::cli::redact::url_for_log(&format!("{}{}", self.base_url, request.path));
        let sent = request.body.as_ref().map_or(0, |body| body.len());
        let result = match outcome {
            Ok(response) => format!("{} ({} bytes back)", response.status, response.body.len()),
            Err(failure) => format!("failed: {}", failure.error()),
        };
        crate::cli::log_request(request.method, &url, &result, took, attempt, sent as u64);
    }

    /// How long this try may take: the request timeout, or what is left
    /// before the deadline if that is sooner.
    fn try_timeout(&self) -> Duration {
        let left = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        match left {
            Some(left) => self.request_timeout.min(left).max(Duration::from_millis(1)),
            None => self.request_timeout,
        }
    }

    fn send_once(&self, request: &Request) -> Result<Response, Failure> {
        let url = format!("{}{}", self.base_url, request.path);
        let stage = format!("{} {}", request.method, request.path);
        let mut builder = ureq::http::Request::builder()
            .method(request.method)
            .uri(&url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let authorization = match (&self.token, &self.basic) {
            (Some(token), _) => Some(format!("Bearer {}", token.expose())),
            (None, Some(basic)) => Some(format!("Basic {}", basic.expose())),
            (None, None) => None,
        };
        if let Some(authorization) = authorization {
            // Checked here, where every credential is attached, before any connection.
            check_credentials_transport(&self.base_url).map_err(|why| {
                Failure::Permanent(Error::usage(format!("{}: {why}", self.target)))
            })?;
            builder = builder.header("Authorization", authorization);
        }
        // Sent from where it is: a try does not copy the body.
        let body: &[u8] = request.body.as_deref().unwrap_or_default();
        let http_request = builder.body(body).map_err(|err| {
            Failure::Permanent(Error::usage(format!(
                "cannot build the request {stage}: {err}"
            )))
        })?;
        let timeout = self.try_timeout();
        let http_request = self
            .agent
            .configure_request(http_request)
            .timeout_global(Some(timeout))
            .build();
        let mut response = self
            .agent
            .run(http_request)
            .map_err(|err| self.transport_error(err, &stage, timeout))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    value.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|err| self.body_error(err, &stage, timeout))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// A failure while reading the body of an answer whose head arrived: too
    /// large (not retried: it would be as large again), or cut short (retried
    /// like a dropped connection).
    fn body_error(&self, err: ureq::Error, stage: &str, timeout: Duration) -> Failure {
        match err {
            ureq::Error::BodyExceedsLimit(_) => Failure::Permanent(Error::remote_as(
                RemoteKind::Oversized,
                &self.target,
                format!(
                    "{stage}: the answer is larger than the {} MiB we accept from a server; refused",
                    MAX_BODY_BYTES / (1024 * 1024)
                ),
            )),
            ureq::Error::Timeout(_) => self.transport_error(err, stage, timeout),
            ureq::Error::Io(ref io) if io.kind() == std::io::ErrorKind::TimedOut => {
                self.transport_error(err, stage, timeout)
            }
            other => Failure::Transient(Error::remote_as(
                RemoteKind::Transport,
                &self.target,
                format!("{stage}: the answer broke off before its end ({other})"),
            )),
        }
    }

    /// A transport failure, named for the user with the host and the stage
    /// (`GET /api/v1/query`), and whether trying again may help.
    fn transport_error(&self, err: ureq::Error, stage: &str, timeout: Duration) -> Failure {
        let text = err.to_string();
        let timed_out = matches!(&err, ureq::Error::Timeout(_))
            || matches!(&err, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut);
        if timed_out {
            return Failure::TimedOut(Error::remote_as(
                RemoteKind::TimedOut,
                &self.target,
                format!(
                    "{stage}: no answer within {:.1}s (the request timeout; see --request-timeout)",
                    timeout.as_secs_f64()
                ),
            ));
        }
        let tls = matches!(err, ureq::Error::Tls(_))
            || ["certificate", "handshake", "tls", "x509"]
                .iter()
                .any(|w| text.to_lowercase().contains(w));
        if tls {
            return Failure::Permanent(Error::remote_as(
                RemoteKind::Transport,
                &self.target,
                format!("{stage}: TLS failed: {text} (check the CA data, or use insecure-skip-tls-verify only on a test cluster)"),
            ));
        }
        let transport =
            |message: String| Error::remote_as(RemoteKind::Transport, &self.target, message);
        match err {
            ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
                Failure::Transient(transport(format!("{stage}: cannot connect: {text}")))
            }
            ureq::Error::HostNotFound => {
                Failure::Permanent(transport(format!("{stage}: host not found")))
            }
            _ => Failure::Permanent(transport(format!("{stage}: {text}"))),
        }
    }
}

/// How long a host's addresses are used before it is looked up again: a
/// wait that polls for an hour still follows a service that moved.
const LOOKUP_KEPT_FOR: Duration = Duration::from_secs(60);

/// Host lookups for every client of a run: an IP address is never looked
/// up, a name once (again after [`LOOKUP_KEPT_FOR`]). ureq looks the host up
/// before every request, pooled connection or not, and its own resolver
/// starts a thread for each lookup when a timeout is set, as ours always is:
/// 2,025 threads for 2,004 objects in `scripts/bench.sh apply`.
#[derive(Debug)]
struct LookupOnce;

/// `host:port` → when it was looked up and its addresses.
type Lookups = Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>;

fn lookups() -> &'static Lookups {
    static LOOKUPS: OnceLock<Lookups> = OnceLock::new();
    LOOKUPS.get_or_init(Lookups::default)
}

impl Resolver for LookupOnce {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(host), Some(port)) = (uri.host(), port_of(uri)) else {
            // Not a URL we can send to: the default resolver says why.
            return DefaultResolver::default().resolve(uri, config, timeout);
        };
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            let mut addresses = self.empty();
            addresses.push(SocketAddr::new(ip, port));
            return Ok(addresses);
        }
        let key = format!("{host}:{port}");
        let now = Instant::now();
        {
            let known = lookups().lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, addresses)) = known.get(&key) {
                if now.saturating_duration_since(*at) < LOOKUP_KEPT_FOR {
                    return Ok(addresses.clone());
                }
            }
        }
        let addresses = DefaultResolver::default().resolve(uri, config, timeout)?;
        lookups()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (now, addresses.clone()));
        Ok(addresses)
    }
}

/// The port of an http(s) URL, said or implied.
fn port_of(uri: &ureq::http::Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })
}

/// Checks that `url` is one we can send to: http(s), a host, a port that is a
/// number from 1 to 65535. A bad URL is the user's to fix (exit 2), not a
/// connection failure.
pub fn check_url(url: &str) -> Result<()> {
    let shown = crate::cli::redact::url(url);
    let bad = |why: &str| Error::usage(format!("{shown:?} is not a usable server URL: {why}"));
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("expected an http:// or https:// URL"))?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address without its closing ']'"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("unexpected text after the IPv6 address"))?,
            ),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'))
    {
        return Err(bad("the host has characters a host name cannot have"));
    }
    if let Some(port) = port {
        let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        if !digits || !matches!(port.parse::<u16>(), Ok(p) if p > 0) {
            return Err(bad("the port must be a number from 1 to 65535"));
        }
    }
    ureq::http::Uri::try_from(url).map_err(|err| bad(&err.to_string()))?;
    Ok(())
}

/// A failed exchange: worth retrying (a dropped connection), worth one more
/// try (no answer in time), or not (a bad certificate).
enum Failure {
    Transient(Error),
    TimedOut(Error),
    Permanent(Error),
}

impl Failure {
    fn error(&self) -> &Error {
        match self {
            Failure::Transient(err) | Failure::TimedOut(err) | Failure::Permanent(err) => err,
        }
    }

    fn into_error(self) -> Error {
        match self {
            Failure::Transient(err) | Failure::TimedOut(err) | Failure::Permanent(err) => err,
        }
    }
}

/// The certificates of a PEM text, or what is wrong with it, in words.
fn pem_certificates(
    pem: &[u8],
    what: &str,
) -> std::result::Result<Vec<Certificate<'static>>, String> {
    let mut certs = Vec::new();
    let mut keys = 0;
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(PemItem::PrivateKey(_)) => keys += 1,
            Ok(_) => {}
            Err(_) => {
                return Err(format!(
                    "the {what} is not valid PEM (a -----BEGIN ...----- block whose base64 or framing is damaged)"
                ))
            }
        }
    }
    if certs.is_empty() {
        let found = if keys > 0 {
            "a private key, not a certificate"
        } else {
            "no -----BEGIN CERTIFICATE----- block"
        };
        return Err(format!("the {what} holds {found}"));
    }
    Ok(certs)
}

/// Checks that a client certificate and key can be used for TLS, as the TLS
/// library checks them when it connects (where a failure panics): X.509 v3
/// certificates, a key it can read, and a key that matches the certificate.
pub fn check_client_cert(cert_pem: &[u8], key_pem: &[u8]) -> std::result::Result<(), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = pem_certificates(cert_pem, "client certificate")?;
    let key_der = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| {
        "the client key is not a PEM private key (expected -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)".to_string()
    })?;
    let chain_der = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(chain_der, key_der)
        .map(|_| ())
        .map_err(|err| match err {
            rustls::Error::InconsistentKeys(_) => {
                "the client key does not belong to the client certificate".to_string()
            }
            other => format!(
                "the client certificate and key cannot be used for TLS client authentication ({other}; an X.509 v3 certificate and its own key are required)"
            ),
        })
}

fn tls_config(tls: &TlsOptions, target: &str) -> Result<TlsConfig> {
    let usage = |why: String| Error::usage(format!("{target}: {why}"));
    let mut builder = TlsConfig::builder().disable_verification(tls.insecure);
    if let Some(ca) = &tls.ca_pem {
        let certs = pem_certificates(ca, "certificate authority data").map_err(usage)?;
        builder = builder.root_certs(RootCerts::Specific(Arc::new(certs)));
    }
    if let (Some(cert), Some(key)) = (&tls.client_cert_pem, &tls.client_key_pem) {
        // The TLS library panics on an unusable pair when it connects: check first.
        check_client_cert(cert, key).map_err(usage)?;
        let chain = pem_certificates(cert, "client certificate").map_err(usage)?;
        let key = PrivateKey::from_pem(key)
            .map_err(|_| usage("the client key is not a PEM private key".into()))?;
        builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(builder.build())
}

/// Query strings are encoded in `url_encoding`, which redaction uses too
/// without the HTTP client.
pub use crate::text::url_encoding::encode_query;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A one-shot loopback server answering each connection from `answers` in turn.
    fn serve(answers: Vec<&'static str>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for answer in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                seen.push(head);
                let mut stream = stream;
                stream.write_all(answer.as_bytes()).unwrap();
            }
            seen
        });
        (url, handle)
    }

    #[test]
    fn retries_server_errors_then_succeeds() {
        let (url, server) = serve(vec![
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{\"a\": 1}",
        ]);
        let policy = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        let client = Client::new(&url, &TlsOptions::default())
            .unwrap()
            .with_retry(policy)
            .with_token(Some(Secret::new("s3cret")));
        let response = client.send(&Request::new("GET", "/x?y=1")).unwrap();
        assert_eq!(response.status, 200);
        let value: serde_json::Value = response.json("test").unwrap();
        assert_eq!(value["a"], 1);
        let heads = server.join().unwrap();
        assert_eq!(heads.len(), 3);
        assert!(heads[0].starts_with("GET /x?y=1 HTTP/1.1"));
        assert!(
            heads[0].contains("authorization: Bearer s3cret")
                || heads[0].contains("Authorization: Bearer s3cret")
        );
    }

    #[test]
    fn client_errors_are_returned_not_retried() {
        let (url, server) = serve(vec![
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let client = Client::new(&url, &TlsOptions::default()).unwrap();
        assert_eq!(client.send(&Request::new("GET", "/")).unwrap().status, 404);
        assert_eq!(server.join().unwrap().len(), 1);
    }

    #[test]
    fn a_dead_server_is_a_remote_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let client = Client::new(&url, &TlsOptions::default())
            .unwrap()
            .with_retry(RetryPolicy::none());
        let err = client.send(&Request::new("GET", "/")).unwrap_err();
        assert_eq!(err.exit_status() as u8, 3);
        assert_eq!(err.remote_kind(), Some(RemoteKind::Transport));
        assert!(err.to_string().contains(&url), "{err}");
    }

    #[test]
    fn a_silent_server_is_a_timeout_and_an_answer_of_another_shape_not_the_api() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let client = Client::new(&url, &TlsOptions::default())
            .unwrap()
            .with_retry(RetryPolicy::none())
            .with_request_timeout(Duration::from_millis(100));
        let err = client.send(&Request::new("GET", "/")).unwrap_err();
        assert_eq!(err.remote_kind(), Some(RemoteKind::TimedOut), "{err}");
        drop(listener);

        let html = Response {
            status: 200,
            headers: Vec::new(),
            body: b"<html>login</html>".to_vec(),
        };
        let err = html.json::<serde_json::Value>("t").unwrap_err();
        assert_eq!(err.remote_kind(), Some(RemoteKind::NotTheApi), "{err}");
    }

    #[test]
    fn credentials_over_plain_http_to_another_machine_are_refused_before_connecting() {
        // TEST-NET-1: never routed; the refusal comes before any connection.
        let refused = [
            Client::new("http://192.0.2.1:9", &TlsOptions::default())
                .unwrap()
                .with_token(Some(Secret::new("plain-http-token"))),
            Client::new(
                "http://user:plain-http-pw@192.0.2.1:9",
                &TlsOptions::default(),
            )
            .unwrap(),
        ];
        for client in refused {
            let client = client
                .with_retry(RetryPolicy::none())
                .with_request_timeout(Duration::from_millis(200));
            let err = client.send(&Request::new("GET", "/api")).unwrap_err();
            assert_eq!(err.exit_status() as u8, 2, "{err}");
            let text = err.to_string();
            assert!(
                text.contains("refusing to send credentials over plain http to 192.0.2.1"),
                "{text}"
            );
            assert!(!text.contains("plain-http-"), "{text}");
        }
        // To this machine the token goes, over plain http too.
        let (url, server) = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let client = Client::new(&url, &TlsOptions::default())
            .unwrap()
            .with_token(Some(Secret::new("loopback-token")));
        assert_eq!(client.send(&Request::new("GET", "/")).unwrap().status, 200);
        assert!(server.join().unwrap()[0]
            .to_lowercase()
            .contains("authorization: bearer loopback-token"));
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret} {secret:?}").contains("hunter2"));
        let client = Client::new("http://127.0.0.1:1", &TlsOptions::default())
            .unwrap()
            .with_token(Some(secret));
        assert!(!format!("{client:?}").contains("hunter2"));
    }

    #[test]
    fn an_answer_cut_short_is_retried_and_said_so() {
        let (url, server) = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{\"a\":",
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}",
        ]);
        let policy = RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        let client = Client::new(&url, &TlsOptions::default())
            .unwrap()
            .with_retry(policy);
        let response = client.send(&Request::new("GET", "/x")).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(server.join().unwrap().len(), 2);

        let (url, server) = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{\"a\":",
        ]);
        let client = Client::new(&url, &TlsOptions::default())
            .unwrap()
            .with_retry(RetryPolicy::none());
        let err = client.send(&Request::new("GET", "/x")).unwrap_err();
        server.join().unwrap();
        assert_eq!(err.remote_kind(), Some(RemoteKind::Transport));
        assert!(
            err.to_string()
                .contains("GET /x: the answer broke off before its end"),
            "{err}"
        );
    }

    #[test]
    fn an_answer_over_the_body_cap_is_refused_naming_the_cap_and_not_retried() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut connections = 0;
            for stream in listener.incoming().take(1) {
                let mut stream = stream.unwrap();
                connections += 1;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    MAX_BODY_BYTES + 1
                );
                let _ = stream.write_all(head.as_bytes());
                let chunk = vec![b' '; 1 << 20];
                for _ in 0..=(MAX_BODY_BYTES >> 20) {
                    if stream.write_all(&chunk).is_err() {
                        break;
                    }
                }
            }
            connections
        });
        let client = Client::new(&url, &TlsOptions::default()).unwrap();
        let err = client.send(&Request::new("GET", "/big")).unwrap_err();
        assert_eq!(err.remote_kind(), Some(RemoteKind::Oversized));
        assert!(
            err.to_string()
                .contains("GET /big: the answer is larger than the 64 MiB we accept"),
            "{err}"
        );
        assert_eq!(server.join().unwrap(), 1, "not retried");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let policy = RetryPolicy {
            attempts: 9,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        assert_eq!(policy.delay(1, None), Duration::from_millis(100));
        assert_eq!(policy.delay(2, None), Duration::from_millis(200));
        assert_eq!(policy.delay(3, None), Duration::from_millis(350));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(60))),
            Duration::from_millis(350)
        );
    }

    #[test]
    fn test_delays_replace_the_first_wait_and_cap_every_wait() {
        let policy = RetryPolicy::default().with_delays(
            Some(Duration::from_millis(1)),
            Some(Duration::from_millis(20)),
        );
        assert_eq!(policy.attempts, RetryPolicy::default().attempts);
        assert_eq!(policy.delay(1, None), Duration::from_millis(1));
        assert_eq!(policy.delay(3, None), Duration::from_millis(4));
        assert_eq!(policy.delay(9, None), Duration::from_millis(20));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(1))),
            Duration::from_millis(20)
        );
        // A cap never lengthens a policy's own.
        let short = RetryPolicy {
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        };
        assert_eq!(
            short
                .with_delays(None, Some(Duration::from_secs(1)))
                .max_delay,
            Duration::from_millis(5)
        );
        assert_eq!(
            RetryPolicy::default().with_delays(None, None).base_delay,
            RetryPolicy::default().base_delay
        );
    }

    #[test]
    fn the_retry_note_says_whether_the_wait_is_the_servers() {
        assert_eq!(
            retrying_in(Duration::from_millis(500), None),
            "retrying in 0.5s"
        );
        assert_eq!(
            retrying_in(Duration::from_secs(1), Some(Duration::from_secs(1))),
            "retrying in 1.0s as the server's Retry-After asks"
        );
        assert_eq!(
            retrying_in(Duration::from_secs(10), Some(Duration::from_secs(60))),
            "retrying in 10.0s, not the 60s of the server's Retry-After"
        );
    }

    #[test]
    fn hosts_are_looked_up_once_and_addresses_never() {
        let config = ureq::config::Config::default();
        let timeout = || NextTimeout {
            after: ureq::unversioned::transport::time::Duration::from(Duration::from_secs(5)),
            reason: ureq::Timeout::Resolve,
            per_read: None,
            per_write: None,
        };
        let resolve = |url: &str| {
            let uri: ureq::http::Uri = url.parse().unwrap();
            LookupOnce.resolve(&uri, &config, timeout()).unwrap()
        };
        let ip = resolve("http://127.0.0.1:8080/x");
        assert_eq!(ip.len(), 1);
        assert_eq!(ip[0], "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        assert_eq!(resolve("https://[::1]/")[0], "[::1]:443".parse().unwrap());
        assert!(!lookups().lock().unwrap().contains_key("127.0.0.1:8080"));

        let named = resolve("http://localhost:9/");
        assert!(named.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
        let remembered = lookups()
            .lock()
            .unwrap()
            .get("localhost:9")
            .map(|(at, _)| *at);
        assert!(remembered.is_some(), "looked up and kept");
        resolve("http://localhost:9/other");
        assert_eq!(
            lookups()
                .lock()
                .unwrap()
                .get("localhost:9")
                .map(|(at, _)| *at),
            remembered,
            "not looked up again"
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode_query("csv_succeeded{name=~\"a.*\"}"),
            "csv_succeeded%7Bname%3D~%22a.%2A%22%7D"
        );
    }
}
