//! An OAuth2 token endpoint's answer (sso.redhat.com, any status) through
//! the reader ocm-post's token exchange uses, and JWT expiry claims.

use crate::response;
use common::remote::http::Secret;
use common::remote::ocm_auth::{jwt_expiry, read_token_answer};

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    let answer = response(data);
    let secret = Secret::new("fuzz-refresh-token");
    match read_token_answer(&answer, "token endpoint fuzz", "OCM_TOKEN", &secret) {
        Ok(granted) => {
            let _ = jwt_expiry(granted.access_token.expose());
        }
        Err(err) => assert!(
            !err.to_string().contains(secret.expose()),
            "the refresh token leaked into: {err}"
        ),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = jwt_expiry(text);
    }
}
