//! Percent-encoding of URL path segments and query values. Its own module because two concerns
//! need it: the HTTP client (behind the `remote` feature) builds query
//! strings with it, and `redact` must know a secret's encoded form (it travels
//! URL-encoded in form bodies) in every tool.

/// Everything but RFC 3986's unreserved characters.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a value for a URL query string: everything but RFC 3986's
/// unreserved characters.
pub fn encode_query(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, NOT_UNRESERVED).to_string()
}

/// Percent-encodes one segment of a URL path (an id between two `/`): a `/`,
/// `?`, `#` or `%` in it stays inside the segment. `.` and `..` alone are
/// not made safe by encoding; ids are checked first ([`crate::model::names::ocm_id`]).
pub fn encode_path_segment(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_segment_keeps_its_slashes_and_fragments_inside() {
        assert_eq!(encode_path_segment("my-addon_1.0~x"), "my-addon_1.0~x");
        assert_eq!(encode_path_segment("../a/b#x?y%"), "..%2Fa%2Fb%23x%3Fy%25");
        assert_eq!(encode_query("a b&c"), "a%20b%26c");
    }
}
