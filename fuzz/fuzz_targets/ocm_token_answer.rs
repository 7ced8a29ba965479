//! An OAuth2 token endpoint's answer (sso.redhat.com, any status) through
//! the reader ocm-post's token exchange uses, and JWT expiry claims.
#![no_main]

use addon_flow_fuzz::response;
use common::http::Secret;
use common::ocm_auth::{jwt_expiry, read_token_answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
