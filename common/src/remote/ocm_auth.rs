//! OCM credentials, found the way the `ocm` CLI finds them, and the OAuth2
//! exchange that turns a refresh (offline) token or client credentials into
//! the short-lived access token OCM wants.
//!
//! Where a credential comes from, in order: `OCM_TOKEN` (an access token,
//! used as is); `OCM_REFRESH_TOKEN` or `OCM_OFFLINE_TOKEN`; `OCM_CLIENT_ID`
//! with `OCM_CLIENT_SECRET`; the `ocm` CLI's configuration
//! (`$OCM_CONFIG`, else `~/.config/ocm/ocm.json`) as `ocm login` left it.
//! Credentials never come from the command line, where `ps` would show them.
//! Every credential is a [`Secret`], so none can reach a message or a log.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::cli::error::{Error, RemoteKind, Result};
use crate::remote::http::{
    encode_query, snippet, Client, Request, Response, RetryPolicy, Secret, TlsOptions,
};

/// Red Hat SSO's token endpoint, the `ocm` CLI's default.
pub const DEFAULT_TOKEN_URL: &str =
    "https://sso.redhat.com/auth/realms/redhat-external/protocol/openid-connect/token";

/// The public client the `ocm` CLI (and managed-tenants) use for refresh tokens.
pub const DEFAULT_CLIENT_ID: &str = "cloud-services";

/// Exchange again this long before the access token expires, so a request
/// never goes out with a token that dies on the way.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// What we authenticate with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An access token, sent as is.
    AccessToken(Secret),
    /// A refresh or offline token, exchanged with `grant_type=refresh_token`.
    RefreshToken {
        client_id: String,
        refresh_token: Secret,
    },
    /// A service account, exchanged with `grant_type=client_credentials`.
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
}

/// Credentials and where to exchange them; `api_url` is the OCM URL the
/// `ocm` configuration was logged in to, if that is where they came from.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub credentials: Credentials,
    pub token_url: String,
    /// Where the credentials were found, for messages (`OCM_TOKEN`, a file).
    pub origin: String,
    pub api_url: Option<String>,
    /// An access token saved beside a refresh token (the `ocm` configuration),
    /// used until it expires.
    pub saved_access_token: Option<Secret>,
}

/// The `ocm` CLI's configuration file (only the fields we use).
#[derive(Debug, Default, Deserialize)]
struct OcmConfigFile {
    #[serde(default)]
    access_token: Option<Secret>,
    #[serde(default)]
    refresh_token: Option<Secret>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<Secret>,
    #[serde(default)]
    token_url: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// Where the `ocm` CLI keeps its configuration: `$OCM_CONFIG`, else
/// `$XDG_CONFIG_HOME/ocm/ocm.json`, else `~/.config/ocm/ocm.json`.
pub fn ocm_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(path) = env("OCM_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    if let Some(dir) = env("XDG_CONFIG_HOME").filter(|p| !p.is_empty()) {
        return Some(Path::new(&dir).join("ocm").join("ocm.json"));
    }
    env("HOME").map(|home| {
        Path::new(&home)
            .join(".config")
            .join("ocm")
            .join("ocm.json")
    })
}

/// Finds the credentials (see the module documentation for the order).
/// `token_url` is `--token-url`, which wins over `OCM_TOKEN_URL` and the file.
pub fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    token_url: Option<&str>,
) -> Result<AuthSettings> {
    let var = |name: &str| {
        env(name)
            .filter(|value| !value.trim().is_empty())
            .map(|v| v.trim().to_string())
    };
    let pick_url = |file: Option<String>| {
        token_url
            .map(str::to_string)
            .or_else(|| var("OCM_TOKEN_URL"))
            .or(file)
            .unwrap_or_else(|| DEFAULT_TOKEN_URL.to_string())
    };
    let client_id = var("OCM_CLIENT_ID");
    let settings = |credentials, origin: &str| AuthSettings {
        credentials,
        token_url: pick_url(None),
        origin: origin.to_string(),
        api_url: None,
        saved_access_token: None,
    };
    if let Some(token) = var("OCM_TOKEN") {
        return Ok(settings(
            Credentials::AccessToken(Secret::new(token)),
            "OCM_TOKEN",
        ));
    }
    for name in ["OCM_REFRESH_TOKEN", "OCM_OFFLINE_TOKEN"] {
        if let Some(token) = var(name) {
            let credentials = Credentials::RefreshToken {
                client_id: client_id
                    .clone()
                    .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_string()),
                refresh_token: Secret::new(token),
            };
            return Ok(settings(credentials, name));
        }
    }
    if let (Some(id), Some(secret)) = (client_id.clone(), var("OCM_CLIENT_SECRET")) {
        let credentials = Credentials::ClientCredentials {
            client_id: id,
            client_secret: Secret::new(secret),
        };
        return Ok(settings(credentials, "OCM_CLIENT_ID/OCM_CLIENT_SECRET"));
    }
    let Some(path) = ocm_config_path(env) else {
        return Err(no_credentials("HOME is not set"));
    };
    if !path.is_file() {
        return Err(no_credentials(&format!(
            "{} does not exist",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|err| crate::cli::io::cannot_read(&path, "ocm configuration", &err))?;
    // serde_json's message can quote the text near the error, a token included: keep only the position.
    let file: OcmConfigFile = serde_json::from_str(&text).map_err(|err| {
        Error::in_file(
            &path,
            format!(
                "is not the ocm CLI's JSON configuration (line {}, column {})",
                err.line(),
                err.column()
            ),
        )
    })?;
    let origin = path.display().to_string();
    let nonempty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let nonempty_secret = |value: Option<Secret>| {
        value
            .filter(|v| !v.expose().trim().is_empty())
            .map(|v| Secret::new(v.expose().trim()))
    };
    let file_client_id = nonempty(file.client_id);
    let credentials = if let Some(refresh) = nonempty_secret(file.refresh_token) {
        Credentials::RefreshToken {
            client_id: file_client_id.unwrap_or_else(|| DEFAULT_CLIENT_ID.to_string()),
            refresh_token: refresh,
        }
    } else if let (Some(id), Some(secret)) = (file_client_id, nonempty_secret(file.client_secret)) {
        Credentials::ClientCredentials {
            client_id: id,
            client_secret: secret,
        }
    } else if let Some(access) = nonempty_secret(file.access_token.clone()) {
        Credentials::AccessToken(access)
    } else {
        return Err(Error::in_file(&path, "holds no access_token, refresh_token or client_id/client_secret; run `ocm login` again"));
    };
    let saved_access_token = match credentials {
        Credentials::AccessToken(_) => None,
        _ => nonempty_secret(file.access_token),
    };
    Ok(AuthSettings {
        credentials,
        token_url: pick_url(nonempty(file.token_url)),
        origin,
        api_url: nonempty(file.url),
        saved_access_token,
    })
}

fn no_credentials(why: &str) -> Error {
    Error::usage(format!(
        "no OCM credentials: set OCM_TOKEN (an access token), OCM_REFRESH_TOKEN (an offline token from \
         console.redhat.com/openshift/token), or OCM_CLIENT_ID and OCM_CLIENT_SECRET, or run `ocm login` ({why})"
    ))
}

/// The token endpoint's answer (RFC 6749 section 5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The token endpoint's error (RFC 6749 section 5.2).
#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Hands out a valid access token, exchanging credentials when the one it
/// holds is missing or about to expire.
#[derive(Debug)]
pub struct TokenProvider {
    settings: AuthSettings,
    client: Option<Client>,
    /// The access token and when to renew it (`None`: never known to expire).
    current: Option<(Secret, Option<Instant>)>,
    exchanges: u32,
}

impl TokenProvider {
    pub fn new(
        settings: AuthSettings,
        tls: &TlsOptions,
        retry: RetryPolicy,
    ) -> Result<TokenProvider> {
        let client = match settings.credentials {
            Credentials::AccessToken(_) => None,
            _ => {
                // The exchange sends a refresh token or client secret in its body.
                crate::remote::http::check_credentials_transport(&settings.token_url)
                    .map_err(|why| Error::usage(format!("--token-url: {why}")))?;
                Some(
                    Client::new(&settings.token_url, tls)
                        .map_err(|err| Error::usage(format!("--token-url: {err}")))?
                        .with_retry(retry),
                )
            }
        };
        let current = match &settings.credentials {
            Credentials::AccessToken(token) => Some((token.clone(), None)),
            _ => settings.saved_access_token.as_ref().and_then(|token| {
                // A saved token with no readable expiry might be dead already: exchange instead.
                let expires = jwt_expiry(token.expose())?;
                Some((token.clone(), Some(expires.checked_sub(EXPIRY_MARGIN)?)))
            }),
        };
        Ok(TokenProvider {
            settings,
            client,
            current,
            exchanges: 0,
        })
    }

    /// Bounds each try of each exchange with the token endpoint (`--request-timeout`).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.client = self.client.map(|c| c.with_request_timeout(timeout));
        self
    }

    /// How many times credentials were exchanged so far.
    pub fn exchanges(&self) -> u32 {
        self.exchanges
    }

    /// Whether `invalidate` can get a new token (false for a bare access token).
    pub fn can_refresh(&self) -> bool {
        self.client.is_some()
    }

    /// What to do when OCM answers 401 to our access token, in words: where
    /// the token came from and how to get one OCM takes. Never the token.
    pub fn refused_advice(&self, api_url: &str) -> String {
        let origin = &self.settings.origin;
        match self.settings.credentials {
            Credentials::AccessToken(_) => format!(
                "OCM at {api_url} did not accept the access token from {origin}: it has expired \
                 (OCM's access tokens last minutes), was revoked, or was issued for another OCM \
                 environment. Put a fresh one there (`ocm token`), or give OCM_REFRESH_TOKEN \
                 (or run `ocm login`) so that one is exchanged whenever it is needed"
            ),
            _ => format!(
                "OCM at {api_url} did not accept the access token just exchanged for the \
                 credentials from {origin} at {}: the token endpoint and OCM belong to \
                 different environments (check --token-url/OCM_TOKEN_URL against --url), or \
                 the account may not use this OCM",
                self.settings.token_url
            ),
        }
    }

    /// Forgets the current access token (OCM answered 401 to it).
    pub fn invalidate(&mut self) {
        if self.can_refresh() {
            self.current = None;
        }
    }

    /// A valid access token.
    pub fn access_token(&mut self) -> Result<Secret> {
        if let Some((token, expires)) = &self.current {
            if expires.is_none_or(|refresh_at| Instant::now() < refresh_at) {
                return Ok(token.clone());
            }
        }
        let (token, expires) = self.exchange()?;
        self.current = Some((token.clone(), expires));
        Ok(token)
    }

    fn exchange(&mut self) -> Result<(Secret, Option<Instant>)> {
        let client = self.client.as_ref().ok_or_else(|| {
            Error::remote(
                &self.settings.origin,
                "the access token was refused and cannot be renewed; get a new one",
            )
        })?;
        let (form, secret) = match &self.settings.credentials {
            Credentials::AccessToken(token) => return Ok((token.clone(), None)),
            Credentials::RefreshToken {
                client_id,
                refresh_token,
            } => (
                format!(
                    "grant_type=refresh_token&client_id={}&refresh_token={}",
                    encode_query(client_id),
                    encode_query(refresh_token.expose())
                ),
                refresh_token.clone(),
            ),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => (
                format!(
                    "grant_type=client_credentials&client_id={}&client_secret={}",
                    encode_query(client_id),
                    encode_query(client_secret.expose())
                ),
                client_secret.clone(),
            ),
        };
        let target = format!("token endpoint {}", self.settings.token_url);
        let request = Request::new("POST", "")
            .header("Accept", "application/json")
            .body("application/x-www-form-urlencoded", form.into_bytes());
        let response = client.send(&request)?;
        let answer = read_token_answer(&response, &target, &self.settings.origin, &secret)?;
        self.exchanges += 1;
        if let (Some(new), Credentials::RefreshToken { refresh_token, .. }) =
            (answer.refresh_token, &mut self.settings.credentials)
        {
            *refresh_token = new;
        }
        Ok((answer.access_token, answer.refresh_at))
    }
}

/// What a token endpoint granted.
#[derive(Debug)]
pub struct TokenAnswer {
    pub access_token: Secret,
    /// A new refresh token, when the endpoint rotates them.
    pub refresh_token: Option<Secret>,
    /// When to exchange again; `None` when the answer gives no lifetime.
    pub refresh_at: Option<Instant>,
}

/// Reads a token endpoint's answer (any status, any body): the grant, or why
/// the credentials were refused, with `secret` (what we sent) scrubbed from
/// the message. Pure, so any bytes a server sends can be checked without a
/// server (fuzz/fuzz_targets/ocm_token_answer.rs).
pub fn read_token_answer(
    response: &Response,
    target: &str,
    origin: &str,
    secret: &Secret,
) -> Result<TokenAnswer> {
    let scrub = |text: String| text.replace(secret.expose(), "<redacted>");
    if !response.is_success() {
        let why = match serde_json::from_slice::<TokenError>(&response.body) {
            Ok(error) => match error.error_description {
                Some(description) => format!("{}: {description}", error.error),
                None => error.error,
            },
            Err(_) => snippet(&response.text()),
        };
        return Err(Error::remote_as(
            RemoteKind::Status(response.status),
            target,
            scrub(format!(
                "refused the credentials from {origin} (HTTP {}: {why}); check them, or get a new offline token",
                response.status
            )),
        ));
    }
    let answer: TokenResponse = serde_json::from_slice(&response.body).map_err(|_| {
        Error::remote_as(
            RemoteKind::NotTheApi,
            target,
            "answered without an access_token (is --token-url an OAuth2 token endpoint?)",
        )
    })?;
    Ok(TokenAnswer {
        access_token: Secret::new(answer.access_token),
        refresh_token: answer.refresh_token.map(Secret::new),
        refresh_at: answer.expires_in.map(refresh_deadline),
    })
}

/// When to renew a token that lives `seconds` from now: a minute early, or
/// halfway through a token that lives less than two minutes. A lifetime past
/// what the clock can hold (a server may send any number) means never.
fn refresh_deadline(seconds: u64) -> Instant {
    let lifetime = Duration::from_secs(seconds);
    later_by(lifetime - EXPIRY_MARGIN.min(lifetime / 2))
}

/// `now + wait`, saturating at a far future instead of overflowing the clock.
fn later_by(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// A hundred years: "never" for a token's renewal.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// An OCM endpoint and the credentials for it: one authenticated call at a
/// time per thread, shared by threads (the token provider is behind a lock,
/// so concurrent calls exchange credentials once), with the token renewed
/// when it is about to expire or was refused, and OCM's error bodies turned
/// into sentences.
pub struct OcmApi {
    client: Client,
    tokens: std::sync::Mutex<TokenProvider>,
}

impl OcmApi {
    pub fn new(client: Client, tokens: TokenProvider) -> OcmApi {
        OcmApi {
            client,
            tokens: std::sync::Mutex::new(tokens),
        }
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, TokenProvider> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The API's base URL, for messages.
    pub fn base_url(&self) -> &str {
        self.client.base_url()
    }

    /// Sends one request and returns OCM's answer whatever its status
    /// (5xx, 429 and dropped connections were already retried). A 401 gets
    /// one more try with a freshly exchanged token, since an access token
    /// can be revoked before its stated expiry.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<crate::remote::http::Response> {
        let mut renewed = false;
        loop {
            let token = self.tokens().access_token()?;
            let client = self.client.clone().with_token(Some(token));
            let mut request = Request::new(method, path).header("Accept", "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = client.send(&request)?;
            if response.status == 401 && !renewed {
                let mut tokens = self.tokens();
                if tokens.can_refresh() {
                    tokens.invalidate();
                    renewed = true;
                    continue;
                }
            }
            return Ok(response);
        }
    }

    /// The error for an answer that is not what was asked for.
    pub fn refused(
        &self,
        method: &str,
        path: &str,
        response: &crate::remote::http::Response,
    ) -> Error {
        let mut message = format!(
            "{method} {path}: {}",
            crate::remote::ocm::describe_error(response.status, &response.body)
        );
        match response.status {
            401 => {
                message.push_str("; ");
                message.push_str(&self.tokens().refused_advice(self.client.base_url()));
            }
            403 => message.push_str(" (the account may not manage add-ons in this environment)"),
            _ => {}
        }
        Error::remote_as(
            RemoteKind::Status(response.status),
            self.client.base_url(),
            message,
        )
    }

    /// The answer's body as a JSON object, `{}` when empty (DELETE, 204).
    pub fn body(&self, response: &crate::remote::http::Response) -> Result<serde_json::Value> {
        read_object(self.client.base_url(), response)
    }
}

/// An OCM answer's body: a JSON object, as every OCM resource is, or `{}`
/// when empty. Anything else (a number, a list, HTML) is a remote error
/// naming `target`: callers add fields to the object they get (found by
/// fuzz/fuzz_targets/ocm_answer.rs).
pub fn read_object(
    target: &str,
    response: &crate::remote::http::Response,
) -> Result<serde_json::Value> {
    if response.body.is_empty() {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    let value: serde_json::Value = response.json(target)?;
    if !value.is_object() {
        return Err(Error::remote(
            target,
            format!(
                "answered with JSON that is not an object (expected an OCM resource): {}",
                snippet(&response.text())
            ),
        ));
    }
    Ok(value)
}

/// When a JWT access token expires (its `exp` claim), read without checking
/// the signature: only to know when to exchange again.
pub fn jwt_expiry(token: &str) -> Option<Instant> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&crate::text::base64::decode_lenient(payload)?).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(later_by(Duration::from_secs(exp.saturating_sub(now))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn answer(body: &str) -> crate::remote::http::Response {
        crate::remote::http::Response {
            status: 200,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn answers_that_are_not_objects_are_refused() {
        for body in ["0", "[]", "\"ok\"", "null"] {
            let err = read_object("https://api.ocm", &answer(body))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("not an object") && err.contains("https://api.ocm"),
                "{err}"
            );
        }
        assert_eq!(
            read_object("t", &answer("")).unwrap(),
            serde_json::json!({})
        );
        assert_eq!(
            read_object("t", &answer(r#"{"id":"a"}"#)).unwrap()["id"],
            "a"
        );
    }

    #[test]
    fn access_token_wins_then_refresh_then_client_credentials() {
        let env = env_of(&[("OCM_TOKEN", "a"), ("OCM_REFRESH_TOKEN", "r")]);
        assert_eq!(
            resolve(&env, None).unwrap().credentials,
            Credentials::AccessToken(Secret::new("a"))
        );
        let env = env_of(&[("OCM_OFFLINE_TOKEN", "r"), ("OCM_CLIENT_SECRET", "s")]);
        let settings = resolve(&env, Some("http://127.0.0.1:1/token")).unwrap();
        assert_eq!(
            settings.credentials,
            Credentials::RefreshToken {
                client_id: "cloud-services".into(),
                refresh_token: Secret::new("r")
            }
        );
        assert_eq!(settings.token_url, "http://127.0.0.1:1/token");
        let env = env_of(&[("OCM_CLIENT_ID", "id"), ("OCM_CLIENT_SECRET", "s")]);
        let settings = resolve(&env, None).unwrap();
        assert_eq!(
            settings.credentials,
            Credentials::ClientCredentials {
                client_id: "id".into(),
                client_secret: Secret::new("s")
            }
        );
        assert_eq!(settings.token_url, DEFAULT_TOKEN_URL);
    }

    #[test]
    fn reads_the_ocm_cli_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ocm.json");
        std::fs::write(&path, r#"{"access_token":"","refresh_token":"r","client_id":"cloud-services","token_url":"http://sso/token","url":"https://api.stage.openshift.com"}"#).unwrap();
        let env = env_of(&[("OCM_CONFIG", path.to_str().unwrap())]);
        let settings = resolve(&env, None).unwrap();
        assert!(matches!(
            settings.credentials,
            Credentials::RefreshToken { .. }
        ));
        assert_eq!(settings.token_url, "http://sso/token");
        assert_eq!(
            settings.api_url.as_deref(),
            Some("https://api.stage.openshift.com")
        );
        std::fs::write(&path, "{\"refresh_token\": \"sekrit-value\",").unwrap();
        let err = resolve(&env, None).unwrap_err().to_string();
        assert!(!err.contains("sekrit"), "{err}");
        let env = env_of(&[("HOME", dir.path().to_str().unwrap())]);
        let err = resolve(&env, None).unwrap_err();
        assert_eq!(err.exit_status() as u8, 2);
        assert!(err.to_string().contains("OCM_TOKEN"), "{err}");
    }

    #[test]
    fn reads_jwt_expiry() {
        let far = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        let claims = format!("{{\"exp\":{far}}}");
        let encoded: String = crate::text::base64::encode_url(claims.as_bytes());
        let expires = jwt_expiry(&format!("eyJhbGciOiJub25lIn0.{encoded}.sig")).unwrap();
        assert!(expires > Instant::now() + Duration::from_secs(3500));
        assert!(jwt_expiry("opaque-token").is_none());
    }

    fn token_answer(status: u16, body: &str) -> Result<TokenAnswer> {
        let response = Response {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        };
        read_token_answer(
            &response,
            "token endpoint t",
            "OCM_TOKEN",
            &Secret::new("sent-secret"),
        )
    }

    #[test]
    fn a_refused_token_is_explained_by_where_it_came_from() {
        let provider = |credentials, origin: &str| {
            let settings = AuthSettings {
                credentials,
                token_url: "http://127.0.0.1:1/token".into(),
                origin: origin.into(),
                api_url: None,
                saved_access_token: None,
            };
            TokenProvider::new(settings, &TlsOptions::default(), RetryPolicy::none()).unwrap()
        };
        let cases = [
            (
                Credentials::AccessToken(Secret::new("advice-token-1")),
                "OCM_TOKEN",
                "advice-token-1",
                vec![
                    "OCM at http://ocm did not accept the access token from OCM_TOKEN",
                    "`ocm token`",
                ],
            ),
            (
                Credentials::RefreshToken {
                    client_id: DEFAULT_CLIENT_ID.into(),
                    refresh_token: Secret::new("advice-token-2"),
                },
                "OCM_REFRESH_TOKEN",
                "advice-token-2",
                vec![
                    "just exchanged for the credentials from OCM_REFRESH_TOKEN at http://127.0.0.1:1/token",
                    "--token-url",
                ],
            ),
        ];
        for (credentials, origin, secret, said) in cases {
            let advice = provider(credentials, origin).refused_advice("http://ocm");
            assert!(
                advice.starts_with("OCM at http://ocm did not accept the access token")
                    && said.iter().all(|part| advice.contains(part))
                    && !advice.contains(secret),
                "{advice}"
            );
        }
    }

    /// Spotted while writing fuzz target ocm_token_answer: `Instant + Duration` panicked
    /// on a lifetime the clock cannot hold.
    #[test]
    fn huge_token_lifetimes_do_not_overflow_the_clock() {
        let answer = token_answer(
            200,
            r#"{"access_token":"a","expires_in":18446744073709551615}"#,
        )
        .unwrap();
        assert!(answer.refresh_at.unwrap() > Instant::now() + Duration::from_secs(3600));
        let claims = crate::text::base64::encode_url(br#"{"exp":18446744073709551615}"#);
        let expires = jwt_expiry(&format!("eyJhbGciOiJub25lIn0.{claims}.sig")).unwrap();
        assert!(expires > Instant::now() + Duration::from_secs(3600));
    }

    #[test]
    fn token_answers_grant_or_say_why_without_the_secret() {
        let answer = token_answer(
            200,
            r#"{"access_token":"a","expires_in":300,"refresh_token":"r"}"#,
        )
        .unwrap();
        assert_eq!(answer.access_token.expose(), "a");
        assert_eq!(answer.refresh_token.unwrap().expose(), "r");
        assert!(answer.refresh_at.unwrap() > Instant::now() + Duration::from_secs(200));
        let err = token_answer(
            401,
            r#"{"error":"invalid_grant","error_description":"sent-secret is bad"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("invalid_grant") && !err.contains("sent-secret"),
            "{err}"
        );
        let err = token_answer(200, "<html>").unwrap_err().to_string();
        assert!(err.contains("without an access_token"), "{err}");
    }
}
