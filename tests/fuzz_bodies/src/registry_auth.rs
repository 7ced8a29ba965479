//! A registry's `WWW-Authenticate` challenge and its token endpoint's answer,
//! read the way catalog-build's registry client (oci-client) reads them: the
//! challenge with http-auth's parser and a Bearer realm/service, the token as
//! `{"token"}` or `{"access_token"}`. The input is the header, a newline, the
//! token body.

use http_auth::ChallengeParser;
use oci_client::token_cache::RegistryToken;

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(header) = std::str::from_utf8(header) {
        for challenge in ChallengeParser::new(header).flatten() {
            if challenge.scheme.eq_ignore_ascii_case("Bearer") {
                for (name, value) in &challenge.params {
                    if name.eq_ignore_ascii_case("realm") || name.eq_ignore_ascii_case("service") {
                        let _ = value.to_unescaped();
                    }
                }
            }
        }
    }
    if let Ok(token) = serde_json::from_slice::<RegistryToken>(body) {
        let _ = token.bearer_token();
    }
}
