//! Text formats read and written exactly: YAML as PyYAML reads it, mtcli's
//! Jinja2, base64, RFC 3339 times, URL encoding, markup escaping.

pub mod base64;
pub mod bytes;
pub mod escape;
pub mod jinja;
pub mod time;
pub mod url_encoding;
pub mod yaml;
