//! A registry's `WWW-Authenticate` challenge and its token endpoint's answer,
//! read the way catalog-build's registry client (oci-client) reads them: the
//! challenge with http-auth's parser and a Bearer realm/service, the token as
//! `{"token"}` or `{"access_token"}`. The input is the header, a newline, the
//! token body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::registry_auth::run(data));
