//! How a client reaches its server beyond the URL: through a proxy
//! (kubeconfig's `proxy-url`, HTTP CONNECT over http or https), and with
//! another name checked in the server's certificate and sent as SNI
//! (`tls-server-name`), as kubectl does both.

use ureq::config::Config;
use ureq::unversioned::transport::{
    ConnectProxyConnector, ConnectionDetails, Connector, DefaultConnector, RustlsConnector,
    TcpConnector, Transport,
};
use ureq::Agent;

/// The proxy of a `proxy-url`, or why it cannot be used. Only HTTP CONNECT
/// proxies (`http://`, `https://`): kubectl also takes `socks5://`, which
/// our HTTP client is built without; saying so beats ignoring the setting.
pub fn proxy(url: &str) -> Result<ureq::Proxy, String> {
    let shown = crate::cli::redact::url(url);
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    match scheme.map(str::to_ascii_lowercase).as_deref() {
        Some("http" | "https") => {}
        Some(socks) if socks.starts_with("socks") => {
            return Err(format!(
                "{shown:?} is a SOCKS proxy; only HTTP CONNECT proxies (http:// or https://) are supported"
            ))
        }
        _ => {
            return Err(format!(
                "{shown:?} is not a proxy URL: expected http://HOST:PORT or https://HOST:PORT"
            ))
        }
    }
    if let Some((_, password)) = crate::cli::redact::userinfo_of(url) {
        // The proxy's password is a credential: keep it out of every message.
        crate::cli::redact::register(&password);
    }
    ureq::Proxy::new(url).map_err(|err| format!("{shown:?} is not a usable proxy URL: {err}"))
}

/// `Err(why)` when `url` is not a `proxy-url` we can use.
pub fn check_proxy_url(url: &str) -> Result<(), String> {
    proxy(url).map(drop)
}

/// An agent for `config` whose TLS connections to `base_url`'s host and
/// port check the certificate for `server_name` (and send it as SNI)
/// instead of that host. The connection still goes to the URL's host (or
/// the proxy): only the name the certificate must carry changes.
pub fn agent(config: Config, base_url: &str, server_name: Option<&str>) -> Agent {
    let Some(name) = server_name.filter(|n| !n.is_empty()) else {
        return Agent::with_parts(config, DefaultConnector::default(), super::LookupOnce);
    };
    let target = ureq::http::Uri::try_from(base_url)
        .ok()
        .and_then(|uri| Some((uri.host()?.to_string(), port_of(&uri)?)));
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(ServerNameTls {
                name: name.to_string(),
                target,
                tls: RustlsConnector::default(),
            });
    Agent::with_parts(config, connector, super::LookupOnce)
}

fn port_of(uri: &ureq::http::Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })
}

/// rustls, told to expect `name` on the connection to `target` (the API
/// server's host and port); other connections (an https proxy's own) keep
/// their host's name.
#[derive(Debug)]
struct ServerNameTls {
    name: String,
    target: Option<(String, u16)>,
    tls: RustlsConnector,
}

impl<In: Transport> Connector<In> for ServerNameTls {
    type Out = <RustlsConnector as Connector<In>>::Out;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let to_target = self.target.as_ref().is_some_and(|(host, port)| {
            details.uri.host() == Some(host.as_str()) && port_of(details.uri) == Some(*port)
        });
        if !to_target || !details.needs_tls() {
            return self.tls.connect(details, chained);
        }
        let (_, port) = self.target.as_ref().expect("checked above");
        let host = if self.name.contains(':') && !self.name.starts_with('[') {
            format!("[{}]", self.name)
        } else {
            self.name.clone()
        };
        let renamed: ureq::http::Uri = format!("https://{host}:{port}/")
            .parse()
            .map_err(|_| ureq::Error::Tls("the tls-server-name is not a valid host name"))?;
        let details = ConnectionDetails {
            uri: &renamed,
            addrs: details.addrs.clone(),
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: details.timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        self.tls.connect(&details, chained)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_proxies_are_taken_socks_and_others_refused_by_name() {
        assert!(proxy("http://127.0.0.1:3128").is_ok());
        assert!(proxy("https://proxy.example:443").is_ok());
        for (url, expected) in [
            ("socks5://127.0.0.1:1080", "SOCKS proxy"),
            ("SOCKS5h://proxy:1080", "SOCKS proxy"),
            ("proxy.example:3128", "not a proxy URL"),
            ("ftp://proxy.example", "not a proxy URL"),
        ] {
            let why = proxy(url).unwrap_err();
            assert!(why.contains(expected), "{url}: {why}");
        }
        let why = proxy("socks5://user:proxy-secret@127.0.0.1:1080").unwrap_err();
        assert!(!why.contains("proxy-secret"), "{why}");
    }
}
