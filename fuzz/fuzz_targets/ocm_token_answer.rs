//! An OAuth2 token endpoint's answer (sso.redhat.com, any status) through
//! the reader ocm-post's token exchange uses, and JWT expiry claims.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| addon_flow_fuzz::ocm_token_answer::run(data));
