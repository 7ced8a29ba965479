//! Percent-encoding of URL query values. Its own module because two concerns
//! need it: the HTTP client (behind the `remote` feature) builds query
//! strings with it, and `redact` must know a secret's encoded form (it travels
//! URL-encoded in form bodies) in every tool.

/// Percent-encodes a value for a URL query string: everything but RFC 3986's
/// unreserved characters.
pub fn encode_query(value: &str) -> String {
    const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}
