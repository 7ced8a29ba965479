//! Keeping credentials out of everything we print or write.
//!
//! Every credential we hold is a [`crate::remote::http::Secret`], and creating one
//! registers its value here, so [`text`] can take it out of any text that
//! reaches a message — server text above all, which may repeat our request's
//! `Authorization` header or a token from its body. [`url`] shows a URL
//! without the `user:password@` part.

use std::sync::{Mutex, OnceLock};

/// What replaces a credential.
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not registered: replacing every `ab` in a
/// message would garble it, and so short a credential guards nothing.
const MIN_SECRET_LEN: usize = 4;

fn known() -> &'static Mutex<Vec<String>> {
    static KNOWN: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    KNOWN.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remembers a credential's value (and its URL-encoded form, as it travels in
/// a form body), so that [`text`] removes it wherever it turns up.
pub fn register(value: &str) {
    let value = value.trim();
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    let mut known = known().lock().unwrap_or_else(|p| p.into_inner());
    for form in [
        value.to_string(),
        crate::text::url_encoding::encode_query(value),
    ] {
        if !known.contains(&form) {
            known.push(form);
        }
    }
    // Longest first, so a value containing another is replaced whole.
    known.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// `message` with every registered credential, every `Bearer ...`/`Basic ...`
/// credential and every URL's userinfo replaced by `<redacted>`.
pub fn text(message: &str) -> String {
    let mut out = message.to_string();
    {
        let known = known().lock().unwrap_or_else(|p| p.into_inner());
        for value in known.iter() {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), REDACTED);
            }
        }
    }
    let out = auth_scheme().replace_all(&out, |found: &regex::Captures| {
        // A sentence may end right after the word: "... bearer token."
        let value = found["value"].trim_end_matches(['.', ',', ':']);
        if is_plain_word(value) {
            // "a valid bearer token": prose about a credential, not one.
            found[0].to_string()
        } else {
            format!("{} {REDACTED}", &found["scheme"])
        }
    });
    userinfo()
        .replace_all(&out, format!("$scheme{REDACTED}@").as_str())
        .into_owned()
}

/// `Authorization` credentials: the scheme, blanks, then a token.
fn auth_scheme() -> &'static regex::Regex {
    static PATTERN: OnceLock<regex::Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(r"(?i)\b(?P<scheme>bearer|basic)\s+(?P<value>[A-Za-z0-9._~+/=:\-]+)")
            .expect("a valid pattern")
    })
}

/// Whether the text after `bearer`/`basic` is a word of prose ("a valid
/// bearer token", "basic auth") rather than a credential: short and lower
/// case letters only. Tokens and base64 mix cases, digits, dots or padding,
/// or run long; a credential we hold is taken out by its value in any case.
fn is_plain_word(value: &str) -> bool {
    value.len() < 20 && value.bytes().all(|b| b.is_ascii_lowercase())
}

/// `scheme://user:password@` in free text.
fn userinfo() -> &'static regex::Regex {
    static PATTERN: OnceLock<regex::Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/?#@\s]+@")
            .expect("a valid pattern")
    })
}

/// A URL as we show it: without `user:password@`.
pub fn url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
        None => url.to_string(),
    }
}

/// Query parameters whose values are credentials (signed URLs, OAuth codes).
const SECRET_QUERY_KEYS: [&str; 9] = [
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "code",
    "signature",
    "sig",
    "auth",
];

/// A URL for a log line: without userinfo, and with the values of query
/// parameters that carry credentials (`access_token=`, `X-Amz-Signature=`,
/// `api_key=`, ...) replaced.
pub fn url_for_log(text: &str) -> String {
    let shown = url(text);
    let Some((base, query)) = shown.split_once('?') else {
        return shown;
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _))
                if SECRET_QUERY_KEYS
                    .iter()
                    .any(|key| name.to_ascii_lowercase().contains(key)) =>
            {
                format!("{name}=<redacted>")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

/// The `user` and `password` of a URL's userinfo, if it has one.
pub fn userinfo_of(url: &str) -> Option<(String, String)> {
    let start = url.find("://")? + 3;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let at = url[start..end].rfind('@')?;
    let info = &url[start..start + at];
    let (user, password) = info.split_once(':').unwrap_or((info, ""));
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_urls_lose_credential_query_values() {
        assert_eq!(
            url_for_log("https://u:p@h/a?q=up&access_token=abc&X-Amz-Signature=s&page=2"),
            "https://h/a?q=up&access_token=<redacted>&X-Amz-Signature=<redacted>&page=2"
        );
        assert_eq!(url_for_log("http://h/x"), "http://h/x");
    }

    #[test]
    fn urls_are_shown_without_userinfo() {
        for (given, shown) in [
            (
                "https://alice:s3cr3t@ocm.example:8443/api?x=1",
                "https://ocm.example:8443/api?x=1",
            ),
            ("http://token@host", "http://host"),
            ("http://host/a@b", "http://host/a@b"),
            ("stage", "stage"),
        ] {
            assert_eq!(url(given), shown, "{given}");
        }
        assert_eq!(userinfo_of("http://u:p@h/"), Some(("u".into(), "p".into())));
        assert_eq!(userinfo_of("http://h/@x"), None);
    }

    #[test]
    fn server_text_loses_registered_secrets_and_auth_headers() {
        register("tok-REDACT-ME-12345");
        let echoed = "denied: Authorization: Bearer abc.def-ghi, Basic dXNlcjpwYXNz; \
                      body refresh_token=tok-REDACT-ME-12345 at http://u:pw@h:1/x";
        let out = text(echoed);
        for leaked in ["abc.def-ghi", "dXNlcjpwYXNz", "tok-REDACT-ME-12345", "u:pw"] {
            assert!(!out.contains(leaked), "{out}");
        }
        assert!(out.contains("Bearer <redacted>"), "{out}");
        assert!(out.contains("http://<redacted>@h:1/x"), "{out}");
    }

    #[test]
    fn prose_about_a_token_is_left_whole() {
        let ocm = "Request doesn't contain the 'Authorization' header with a valid bearer token";
        let ocm_next = format!("{ocm}. Next");
        for (given, shown) in [
            (ocm, ocm),
            (&ocm_next, &ocm_next),
            ("use basic auth", "use basic auth"),
            ("sent Bearer eyJhbGciOiJSUzI1NiJ9", "sent Bearer <redacted>"),
            ("Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Basic <redacted>"),
        ] {
            assert_eq!(text(given), shown, "{given}");
        }
    }

    #[test]
    fn short_values_are_not_registered() {
        register("ab");
        assert_eq!(text("about a cab"), "about a cab");
    }
}
