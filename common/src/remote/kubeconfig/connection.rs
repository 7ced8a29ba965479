//! A connection to the API server that sends as kubectl does: the
//! kubeconfig's credentials and `Impersonate-*` headers on every request,
//! and an exec plugin's credential kept for the whole run until it expires.
//! Like client-go, an expired credential is fetched again before the next
//! request, and a 401 fetches it again once; unlike client-go, the refused
//! request is then sent once more with the new credential (a 401 means the
//! server did nothing, so resending is safe), instead of failing the object.

use std::sync::{Arc, Mutex};

use super::{ClusterAccess, ExecCredential, ExecPlugin};
use crate::cli::error::Result;
use crate::remote::http::{Client, Request, Response, TlsOptions};

/// Sets up each HTTP client the connection makes (timeouts, retries).
type Customize = Box<dyn Fn(Client) -> Client + Send + Sync>;

/// A client of one API server with one kubeconfig user's identity.
pub struct ApiConnection {
    server: String,
    tls: TlsOptions,
    exec: Option<ExecPlugin>,
    impersonation: Vec<(String, String)>,
    customize: Customize,
    current: Mutex<Current>,
}

/// The client in use, and the exec credential it carries.
struct Current {
    client: Client,
    credential: Option<Arc<ExecCredential>>,
    /// Whether the credential was fetched for a request that has not used
    /// it yet: that request sends it even when it is already past its expiry
    /// (as client-go does), so a plugin runs at most once per request.
    fresh: bool,
    /// The credential was fetched after a 401 and no answer has accepted it
    /// yet: a 401 to it stands, rather than running the plugin again for
    /// every request of an identity the server refuses.
    unproven: bool,
}

impl std::fmt::Debug for ApiConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConnection")
            .field("server", &self.server)
            .field("exec", &self.exec)
            .field("impersonation", &self.impersonation)
            .finish()
    }
}

impl ApiConnection {
    /// Connects with `access`: the exec plugin, if any, runs now, so a
    /// plugin that cannot give a credential stops the run before any request.
    pub(super) fn new(access: ClusterAccess, customize: Customize) -> Result<ApiConnection> {
        let (client, credential) = match &access.exec {
            Some(plugin) => {
                let credential = Arc::new(plugin.run()?);
                let client = client_with(&access.server, &access.tls, Some(&credential))?;
                (client, Some(credential))
            }
            None => (
                Client::new(&access.server, &access.tls)?.with_token(access.token.clone()),
                None,
            ),
        };
        Ok(ApiConnection {
            current: Mutex::new(Current {
                client: customize(client),
                credential,
                fresh: true,
                unproven: false,
            }),
            server: access.server,
            tls: access.tls,
            exec: access.exec,
            impersonation: access.impersonation,
            customize,
        })
    }

    /// The server's URL, without credentials (safe to print).
    pub fn base_url(&self) -> String {
        self.lock().client.base_url().to_string()
    }

    /// Sends `request` with the user's identity (see the module's doc).
    pub fn send(&self, request: &Request) -> Result<Response> {
        let mut request = request.clone();
        for (name, value) in &self.impersonation {
            request.headers.push((name.as_str(), value.clone()));
        }
        let (client, used) = self.client_for_request()?;
        let response = client.send(&request)?;
        let Some(used) = used else {
            return Ok(response);
        };
        if response.status != 401 {
            self.accepted(&used);
            return Ok(response);
        }
        match self.renew_after_refusal(&used)? {
            Some((client, renewed)) => {
                let response = client.send(&request)?;
                if response.status != 401 {
                    self.accepted(&renewed);
                }
                Ok(response)
            }
            None => Ok(response),
        }
    }

    /// The server answered `used` with something other than 401.
    fn accepted(&self, used: &Arc<ExecCredential>) {
        let mut current = self.lock();
        if current
            .credential
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, used))
        {
            current.unproven = false;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The client for the next request, with a credential fetched again if
    /// the one held has expired. The lock is held while a plugin runs, so
    /// requests in parallel wait for one run instead of starting their own.
    fn client_for_request(&self) -> Result<(Client, Option<Arc<ExecCredential>>)> {
        let mut current = self.lock();
        let expired = current.credential.as_ref().is_some_and(|c| c.is_expired());
        if expired && !current.fresh {
            self.renew(&mut current)?;
        }
        current.fresh = false;
        Ok((current.client.clone(), current.credential.clone()))
    }

    /// After a 401 to `used`: a new credential from the plugin, unless
    /// another request already got one. `None` when the credential now held
    /// has the same secrets (sending them again would be refused again).
    fn renew_after_refusal(
        &self,
        used: &Arc<ExecCredential>,
    ) -> Result<Option<(Client, Arc<ExecCredential>)>> {
        let mut current = self.lock();
        let still_current = current
            .credential
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, used));
        if still_current {
            if current.unproven {
                // Fetched after a 401 and refused too: once is enough.
                return Ok(None);
            }
            self.renew(&mut current)?;
            current.fresh = false;
            current.unproven = true;
        }
        let renewed = current
            .credential
            .clone()
            .expect("an exec connection has one");
        if renewed.same_secrets(used) {
            return Ok(None);
        }
        Ok(Some((current.client.clone(), renewed)))
    }

    fn renew(&self, current: &mut Current) -> Result<()> {
        let Some(plugin) = &self.exec else {
            return Ok(());
        };
        let credential = Arc::new(plugin.run()?);
        current.client = (self.customize)(client_with(&self.server, &self.tls, Some(&credential))?);
        current.credential = Some(credential);
        current.fresh = true;
        current.unproven = false;
        Ok(())
    }
}

/// A client carrying an exec credential: its token as bearer, its client
/// certificate and key in the TLS settings (they replace the kubeconfig's).
fn client_with(
    server: &str,
    tls: &TlsOptions,
    credential: Option<&ExecCredential>,
) -> Result<Client> {
    let mut tls = tls.clone();
    let token = credential.and_then(|c| c.token.clone());
    if let Some(credential) = credential.filter(|c| c.client_cert_pem.is_some()) {
        tls.client_cert_pem = credential.client_cert_pem.clone();
        tls.client_key_pem = credential.client_key_pem.clone();
    }
    Ok(Client::new(server, &tls)?.with_token(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// A loopback server that answers 200 to `Bearer <accepted>` and 401 to
    /// anything else, and records each request's head.
    fn server(accepted: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let ok = head
                    .to_lowercase()
                    .contains(&format!("authorization: bearer {accepted}\r\n"));
                record.lock().unwrap().push(head);
                let status = if ok { "200 OK" } else { "401 Unauthorized" };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        (url, seen)
    }

    /// A kubeconfig for `url` whose user runs `dir/plugin.sh`: it counts its
    /// runs in `dir/runs` and prints the token named by its run (`token-1`,
    /// `token-2`, ...), expiring at `expiry`.
    fn access(dir: &Path, url: &str, expiry: &str, user_extra: &str) -> ClusterAccess {
        let plugin = dir.join("plugin.sh");
        std::fs::write(
            &plugin,
            format!(
                "#!/bin/sh\necho run >> \"$(dirname \"$0\")/runs\"\nn=$(wc -l < \"$(dirname \"$0\")/runs\")\n\
                 printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"token-%s\",\"expirationTimestamp\":\"{expiry}\"}}}}' $n\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let text = format!(
            "current-context: c\nclusters: [{{name: c, cluster: {{server: '{url}'}}}}]\n\
             contexts: [{{name: c, context: {{cluster: c, user: u}}}}]\n\
             users:\n- name: u\n  user:\n{user_extra}    exec: {{apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh, interactiveMode: Never}}\n"
        );
        super::super::from_text(&text, dir, None).unwrap()
    }

    /// A connection whose user's plugin (in `dir`, see [`access`]) expires
    /// its tokens at `expiry`, to a [`server`] that accepts `accepted`.
    struct Plugged {
        connection: ApiConnection,
        seen: Arc<Mutex<Vec<String>>>,
        dir: tempfile::TempDir,
    }

    impl Plugged {
        fn new(accepted: &'static str, expiry: &str, user_extra: &str) -> Self {
            let (url, seen) = server(accepted);
            let dir = tempfile::tempdir().unwrap();
            let connection = access(dir.path(), &url, expiry, user_extra)
                .connect(|c| c)
                .unwrap();
            Plugged {
                connection,
                seen,
                dir,
            }
        }

        /// The status of one `GET /api`.
        fn get(&self) -> u16 {
            self.connection
                .send(&Request::new("GET", "/api"))
                .unwrap()
                .status
        }

        /// How often the plugin ran.
        fn runs(&self) -> usize {
            std::fs::read_to_string(self.dir.path().join("runs"))
                .unwrap_or_default()
                .lines()
                .count()
        }

        /// The heads of the requests the server saw.
        fn heads(&self) -> Vec<String> {
            self.seen.lock().unwrap().clone()
        }
    }

    const LATER: &str = "2999-01-01T00:00:00Z";

    #[test]
    fn the_plugin_runs_once_for_many_requests_until_its_credential_expires() {
        let live = Plugged::new("token-1", LATER, "    as: alice\n");
        for _ in 0..5 {
            assert_eq!(live.get(), 200);
        }
        assert_eq!(live.runs(), 1);
        assert!(live
            .heads()
            .iter()
            .all(|h| h.to_lowercase().contains("impersonate-user: alice")));

        // Already expired: one run per request, as client-go; each request
        // sends the token of its own run.
        let expired = Plugged::new("token-never", "2001-01-01T00:00:00Z", "");
        for _ in 0..3 {
            expired.get();
        }
        let heads = expired.heads();
        // Every 401 runs the plugin once more and sends again with the new token.
        assert_eq!(heads.len(), 6, "{heads:?}");
        assert_eq!(expired.runs(), 6);
        for (n, head) in heads.iter().enumerate() {
            assert!(
                head.to_lowercase()
                    .contains(&format!("bearer token-{}\r\n", n + 1)),
                "{n}: {head}"
            );
        }
    }

    #[test]
    fn a_401_runs_the_plugin_once_more_and_sends_the_request_again() {
        let connection = Plugged::new("token-2", LATER, "");
        assert_eq!(connection.get(), 200);
        assert_eq!(connection.get(), 200);
        assert_eq!(connection.runs(), 2);
        assert_eq!(connection.heads().len(), 3);

        // An identity the server refuses: one more run, then the 401 stands
        // for every request, without running the plugin for each.
        let refused = Plugged::new("token-never", LATER, "");
        for _ in 0..4 {
            assert_eq!(refused.get(), 401);
        }
        assert_eq!(refused.runs(), 2);
        assert_eq!(refused.heads().len(), 5);
    }
}
