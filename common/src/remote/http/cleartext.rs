//! Credentials never cross the network in the clear. kubectl withholds a
//! bearer token from a plain-http server; we refuse to send one (or a
//! password) over `http://` unless the server is this machine, where the
//! local test servers and port-forwards live and nothing travels on a wire.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `host`, as written in a URL, is this machine: `localhost`, an
/// address of 127.0.0.0/8, or `::1` (bracketed or not; an IPv4-mapped
/// `::ffff:127.x.y.z` is the same loopback address). Any other name is not,
/// even one that resolves to 127.0.0.1: what a name resolves to can change
/// between this check and the connection.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(v4) = bare.parse::<Ipv4Addr>() {
        return v4.is_loopback();
    }
    match bare.parse::<Ipv6Addr>() {
        Ok(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
}

/// `Err(why)` when a credential sent to `url` would travel unencrypted to
/// another machine: an `http://` URL whose host is not loopback. `https://`
/// (and a URL that is not http at all, which `check_url` refuses on its own)
/// passes.
pub fn check_credentials_transport(url: &str) -> Result<(), String> {
    let Ok(uri) = ureq::http::Uri::try_from(url) else {
        return Ok(());
    };
    if !uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http"))
    {
        return Ok(());
    }
    let host = uri.host().unwrap_or_default();
    if is_loopback_host(host) {
        return Ok(());
    }
    Err(format!(
        "refusing to send credentials over plain http to {host}, which is not this machine \
         (kubectl withholds them too): use an https:// URL; plain http is accepted only for \
         loopback (127.0.0.0/8, ::1, localhost)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_127_slash_8_ipv6_one_and_localhost_only() {
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "127.255.255.254",
            "::1",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "localhost",
            "LocalHost",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "192.0.2.1",
            "10.0.0.1",
            "128.0.0.1",
            "0.0.0.0",
            "::",
            "[::2]",
            "[::ffff:192.0.2.1]",
            "localhost.example.com",
            "my.localhost",
            "localhost.",
            "127.0.0.1.nip.io",
            "api.hive.example",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn credentials_travel_over_https_anywhere_and_over_http_only_to_loopback() {
        for url in [
            "https://api.hive.example:6443",
            "https://192.0.2.1:9/",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:9/api",
            "http://[::1]:6443",
            "http://user:pw@127.0.0.1:9",
        ] {
            assert_eq!(check_credentials_transport(url), Ok(()), "{url}");
        }
        for (url, host) in [
            ("http://192.0.2.1:9/", "192.0.2.1"),
            ("http://api.hive.example:6443", "api.hive.example"),
            ("http://127.0.0.1.nip.io:80", "127.0.0.1.nip.io"),
            ("http://[2001:db8::1]:80", "[2001:db8::1]"),
            ("HTTP://10.0.0.1", "10.0.0.1"),
        ] {
            let why = check_credentials_transport(url).unwrap_err();
            assert!(
                why.contains(&format!("plain http to {host},")) && why.contains("https://"),
                "{url}: {why}"
            );
        }
    }
}
