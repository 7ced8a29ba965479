//! How pushes reach a registry: signed in through oci-client, or, for a
//! registry we hold no credentials for that asks for none, through a
//! client that never signs in.
//!
//! oci-client keeps tokens, not the fact that a registry needs none: once it
//! has been given credentials (anonymous ones included) for a registry that
//! answers `GET /v2/` without a challenge, it asks `/v2/` again before every
//! request. That was half the requests of a push (about ten per image) and
//! most of a local registry's work. A second client, never given
//! credentials for such a registry, sends the requests alone; the one
//! question oci-client cannot ask without signing in (where a tag points)
//! goes plainly through `common::remote::http`.

use oci_client::secrets::RegistryAuth;
use oci_client::Reference;

use super::cache_check::MANIFEST_MEDIA_TYPES;
use super::{Endpoint, Registry};

/// The way to one registry.
#[derive(Clone)]
pub(super) enum Route {
    /// oci-client with the registry's credentials and token flow.
    SignedIn(RegistryAuth),
    /// A registry that asks for no credentials (its `/v2/` answers 200
    /// without a challenge) and that we hold none for: the client that
    /// never signs in, and plain requests for the tag.
    Open(common::remote::http::Client),
}

impl Registry {
    /// How pushes reach `reference`'s registry; its `/v2/` is asked once
    /// per run, without retries (any answer but a plain 200 signs in).
    pub(super) fn route_for(&mut self, reference: &Reference) -> common::Result<Route> {
        let registry = reference.resolve_registry().to_string();
        if let Some(known) = self.routes.get(&registry) {
            return Ok(known.clone());
        }
        let route = self.find_route(reference)?;
        self.routes.insert(registry, route.clone());
        Ok(route)
    }

    fn find_route(&mut self, reference: &Reference) -> common::Result<Route> {
        let auth = self.auth_for(reference)?;
        let registry = reference.resolve_registry().to_string();
        if !matches!(auth, RegistryAuth::Anonymous) || self.wants_token.contains(&registry) {
            return Ok(Route::SignedIn(auth));
        }
        let endpoint = self.endpoint(reference);
        let Some(plain) = endpoint
            .repository
            .split_once("/v2/")
            .and_then(|(base, _)| self.plain_client(base))
        else {
            return Ok(Route::SignedIn(auth));
        };
        let asked = plain
            .clone()
            .with_retry(common::remote::http::RetryPolicy::none())
            .send(&common::remote::http::Request::new("GET", "/v2/"));
        match asked {
            Ok(answer) if answer.status == 200 && answer.header("WWW-Authenticate").is_none() => {
                Ok(Route::Open(plain))
            }
            _ => {
                self.wants_token.insert(registry);
                Ok(Route::SignedIn(auth))
            }
        }
    }

    /// The plain HTTP client for a registry's base URL, made once.
    pub(super) fn plain_client(&mut self, base: &str) -> Option<common::remote::http::Client> {
        if !self.plain.contains_key(base) {
            let client = common::remote::http::Client::new(base, &Default::default())
                .ok()?
                .with_request_timeout(self.request_timeout);
            self.plain.insert(base.to_string(), client);
        }
        self.plain.get(base).cloned()
    }
}

/// The digest `endpoint`'s tag points at, asked plainly (a `HEAD` of the
/// manifest, logged and retried by `common::remote::http`); None when it points at
/// nothing or cannot be asked.
pub(super) async fn plain_manifest_digest(
    plain: common::remote::http::Client,
    endpoint: &Endpoint,
) -> Option<String> {
    let url = endpoint.manifest();
    let path = format!("/v2/{}", url.split_once("/v2/")?.1);
    tokio::task::spawn_blocking(move || {
        let head = common::remote::http::Request::new("HEAD", &path)
            .header("Accept", MANIFEST_MEDIA_TYPES.join(", "));
        let answer = plain.send(&head).ok()?;
        (answer.status == 200)
            .then(|| answer.header("Docker-Content-Digest").map(str::to_string))
            .flatten()
    })
    .await
    .ok()
    .flatten()
}
