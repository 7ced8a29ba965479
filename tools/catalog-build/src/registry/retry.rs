//! One registry operation, retried as common::remote::http retries a request and
//! logged as it logs one (`-v`), since oci-client has no per-request hook.

use std::future::Future;
use std::time::Instant;

use oci_client::errors::OciDistributionError;

/// `-v`: runs one registry operation and logs it as common::remote::http logs a
/// request (oci-client has no per-request hook): `op` is the HTTP method it
/// sends, `sent` the bytes, `describe` what came back.
pub(super) async fn logged<T, Fut>(
    op: &str,
    url: String,
    sent: u64,
    describe: impl Fn(&T) -> String,
    mut call: impl FnMut() -> Fut,
) -> std::result::Result<T, StageFailure>
where
    Fut: Future<Output = std::result::Result<T, OciDistributionError>>,
{
    let stage = format!("{op} {}", common::cli::redact::url_for_log(&url));
    // The tries and backoff of every HTTP request the tools send.
    let policy = common::remote::http::RetryPolicy::default();
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
            common::cli::redact::text(&format!(
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

pub(super) fn digest_result(digest: &String) -> String {
    format!("200 ({digest})")
}

pub(super) fn manifest_result<B: AsRef<[u8]>>((bytes, digest): &(B, String)) -> String {
    format!("200 ({digest}, {} bytes back)", bytes.as_ref().len())
}

/// A registry request that failed, with what we were doing (`uploading blob
/// sha256:...`): the message names the stage, the target names the host.
pub(super) struct StageFailure {
    pub(super) stage: String,
    pub(super) err: OciDistributionError,
}

/// Whether a failed registry request is worth another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// 5xx, 429, a dropped or refused connection, an answer cut short.
    Transient,
    /// No answer within the request timeout: tried once more, like `common::remote::http`.
    TimedOut,
    /// Anything else (4xx, a bad manifest, TLS): trying again gives the same.
    Permanent,
}

pub(super) fn classify(err: &OciDistributionError) -> Retry {
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

/// Whether the registry answered with a server error (5xx), as opposed to
/// not answering or refusing the request.
pub(super) fn server_error(err: &OciDistributionError) -> bool {
    match err {
        OciDistributionError::RequestError(err) => {
            err.status().is_some_and(|status| status.is_server_error())
        }
        OciDistributionError::ServerError { code, .. } => *code >= 500,
        _ => false,
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

pub(super) fn describe_error(err: &OciDistributionError) -> String {
    describe_chain(err)
}
