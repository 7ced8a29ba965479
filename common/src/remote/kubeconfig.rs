//! kubeconfig, read the way kubectl reads it: `--kubeconfig FILE`, else every
//! file of `KUBECONFIG` (`:`-separated, the first to define a name or
//! `current-context` wins), else `~/.kube/config`; the context from
//! `--context` or `current-context`; bearer token, token file, client
//! certificate and key (inline `-data` or files relative to the kubeconfig),
//! exec credential plugins, impersonation (`as`, `as-uid`, `as-groups`,
//! `as-user-extra`), CA data or file, `insecure-skip-tls-verify`,
//! `tls-server-name`, `proxy-url`.
//!
//! What kubectl refuses is refused, and what we cannot honour is refused by
//! name, never ignored. Every such kubeconfig is one error with one exit
//! code, 1 (invalid input: the file, the field and what was expected); only
//! a `--context` naming no context, or no kubeconfig at all, is a usage
//! error (2).

mod connection;
mod exec;
mod impersonation;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::error::{Error, Location, Result};
use crate::cli::io::{cannot_read, Source};
use crate::remote::http::{Secret, TlsOptions};

pub use connection::ApiConnection;
pub use exec::{ExecCredential, ExecPlugin};

/// A kubeconfig file (`kind: Config`), the fields kubectl uses to connect.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct KubeConfig {
    #[serde(default)]
    pub current_context: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub clusters: Vec<NamedCluster>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub users: Vec<NamedUser>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub contexts: Vec<NamedContext>,
}

/// `clusters: null` (how kubectl writes an empty config) reads as no clusters.
fn null_as_empty<'de, D, T>(deserializer: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedCluster {
    pub name: String,
    pub cluster: ClusterEntry,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClusterEntry {
    pub server: String,
    #[serde(default)]
    pub certificate_authority: Option<String>,
    #[serde(default)]
    pub certificate_authority_data: Option<String>,
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
    #[serde(default)]
    pub tls_server_name: Option<String>,
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// Named extensions; an exec plugin with `provideClusterInfo` is given
    /// the one named `client.authentication.k8s.io/exec`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub extensions: Vec<NamedExtension>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedExtension {
    pub name: String,
    #[serde(default)]
    pub extension: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedUser {
    pub name: String,
    #[serde(default)]
    pub user: UserEntry,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UserEntry {
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default, rename = "tokenFile")]
    pub token_file: Option<String>,
    #[serde(default)]
    pub client_certificate: Option<String>,
    #[serde(default)]
    pub client_certificate_data: Option<String>,
    #[serde(default)]
    pub client_key: Option<String>,
    #[serde(default)]
    pub client_key_data: Option<Secret>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// An exec credential plugin, read in full when the user is used (so
    /// its errors name their field).
    #[serde(default)]
    pub exec: Option<serde_json::Value>,
    #[serde(default, rename = "auth-provider")]
    pub auth_provider: Option<serde_json::Value>,
    /// Impersonation, sent as `Impersonate-*` headers.
    #[serde(default, rename = "as")]
    pub impersonate: Option<String>,
    #[serde(default)]
    pub as_uid: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub as_groups: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty_map")]
    pub as_user_extra: BTreeMap<String, Vec<String>>,
}

/// `as-user-extra: null` reads as no extras.
fn null_as_empty_map<'de, D>(
    deserializer: D,
) -> std::result::Result<BTreeMap<String, Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(
        Option::<BTreeMap<String, Option<Vec<String>>>>::deserialize(deserializer)?
            .unwrap_or_default()
            .into_iter()
            .map(|(key, values)| (key, values.unwrap_or_default()))
            .collect(),
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedContext {
    pub name: String,
    pub context: ContextEntry,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContextEntry {
    pub cluster: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Everything needed to talk to one API server, resolved from a context.
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    pub context: String,
    pub server: String,
    pub namespace: Option<String>,
    /// A bearer token from `token` or `tokenFile`.
    pub token: Option<Secret>,
    /// The CA, client certificate, `tls-server-name` and `proxy-url`.
    pub tls: TlsOptions,
    /// The user's exec credential plugin, run when connecting.
    pub exec: Option<ExecPlugin>,
    /// `Impersonate-*` headers for every request, as kubectl sends them.
    pub impersonation: Vec<(String, String)>,
}

impl ClusterAccess {
    /// A connection to the API server with this access: an exec plugin runs
    /// now (once; again only when its credential expires or is refused),
    /// `customize` sets up each HTTP client (timeouts, retries).
    pub fn connect(
        self,
        customize: impl Fn(crate::remote::http::Client) -> crate::remote::http::Client
            + Send
            + Sync
            + 'static,
    ) -> Result<ApiConnection> {
        ApiConnection::new(self, Box::new(customize))
    }
}

/// One file's entries, with the directory its relative paths are against.
struct Loaded {
    dir: PathBuf,
    origin: String,
    config: KubeConfig,
}

/// The files kubectl would read: `--kubeconfig`, else `KUBECONFIG`, else
/// `~/.kube/config`.
pub fn config_paths(
    explicit: Option<&Path>,
    env: Option<&str>,
    home: Option<&Path>,
) -> Vec<PathBuf> {
    if let Some(path) = explicit {
        return vec![path.to_path_buf()];
    }
    if let Some(list) = env.filter(|v| !v.is_empty()) {
        return std::env::split_paths(list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    home.map(|h| vec![h.join(".kube").join("config")])
        .unwrap_or_default()
}

/// Loads the context `context` (or the current one) from the kubeconfig files
/// kubectl would use.
pub fn load(explicit: Option<&Path>, context: Option<&str>) -> Result<ClusterAccess> {
    let env = std::env::var("KUBECONFIG").ok();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let paths = config_paths(explicit, env.as_deref(), home.as_deref());
    if paths.is_empty() {
        return Err(Error::usage(
            "no kubeconfig: pass --kubeconfig FILE or set KUBECONFIG",
        ));
    }
    let mut files = Vec::new();
    for path in &paths {
        // kubectl skips KUBECONFIG entries that do not exist; an explicit file must exist.
        if explicit.is_none() && !path.exists() {
            continue;
        }
        // A FIFO or a device would block or never end: only regular files.
        regular_file(path, "kubeconfig")?;
        let source = Source::read(Some(path))?;
        let parsed = source.parse()?;
        let config: KubeConfig = serde_json::from_value(parsed.value).map_err(|err| {
            Error::input(
                source.location(),
                format!(
                    "is not a kubeconfig: {} (expected clusters, users, contexts)",
                    without_values(&err)
                ),
            )
        })?;
        files.push(Loaded {
            dir: path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            origin: path.display().to_string(),
            config,
        });
    }
    if files.is_empty() {
        return Err(Error::usage(format!(
            "none of the kubeconfig files exists: {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    resolve(&files, context)
}

/// Parses one kubeconfig text (for tests and for callers with the text in hand).
pub fn from_text(text: &str, dir: &Path, context: Option<&str>) -> Result<ClusterAccess> {
    let parsed = crate::text::yaml::parse_one(text)
        .map_err(|err| Error::input(Location::new("<kubeconfig>"), err.to_string()))?;
    let config: KubeConfig = serde_json::from_value(parsed.value)
        .map_err(|err| Error::input(Location::new("<kubeconfig>"), without_values(&err)))?;
    resolve(
        &[Loaded {
            dir: dir.to_path_buf(),
            origin: "<kubeconfig>".into(),
            config,
        }],
        context,
    )
}

fn resolve(files: &[Loaded], context: Option<&str>) -> Result<ClusterAccess> {
    let origins = files
        .iter()
        .map(|f| f.origin.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let unusable = |message: String| Error::input(Location::new(&origins), message);
    let context_name = match context {
        Some(name) => name.to_string(),
        None => files
            .iter()
            .find_map(|f| f.config.current_context.clone().filter(|c| !c.is_empty()))
            .ok_or_else(|| unusable("no current-context; pass --context NAME".into()))?,
    };
    // The first file to define a name wins, as kubectl merges.
    let mut contexts: BTreeMap<&str, (&Loaded, &ContextEntry)> = BTreeMap::new();
    let mut clusters: BTreeMap<&str, (&Loaded, &ClusterEntry)> = BTreeMap::new();
    let mut users: BTreeMap<&str, (&Loaded, &UserEntry)> = BTreeMap::new();
    for file in files {
        for c in &file.config.contexts {
            contexts.entry(&c.name).or_insert((file, &c.context));
        }
        for c in &file.config.clusters {
            clusters.entry(&c.name).or_insert((file, &c.cluster));
        }
        for u in &file.config.users {
            users.entry(&u.name).or_insert((file, &u.user));
        }
    }
    let (_, ctx) = contexts.get(context_name.as_str()).ok_or_else(|| {
        let message = format!(
            "no context {context_name:?} (contexts: {})",
            contexts.keys().copied().collect::<Vec<_>>().join(", ")
        );
        // A --context that names nothing is the command line's fault; a
        // current-context that names nothing is the file's.
        if context.is_some() {
            Error::usage(format!("{origins}: {message}"))
        } else {
            unusable(format!("current-context names {message}"))
        }
    })?;
    let (cluster_file, cluster) = clusters.get(ctx.cluster.as_str()).ok_or_else(|| {
        unusable(format!(
            "context {context_name:?} names cluster {:?}, which is not defined",
            ctx.cluster
        ))
    })?;
    check_cluster_entry(cluster_file, ctx.cluster.as_str(), cluster)?;
    let ca_pem = data_or_file(
        cluster_file,
        cluster.certificate_authority_data.as_deref(),
        cluster.certificate_authority.as_deref(),
        "certificate-authority",
    )?;
    let mut tls = TlsOptions {
        insecure: cluster.insecure_skip_tls_verify,
        ca_pem,
        server_name: cluster.tls_server_name.clone().filter(|n| !n.is_empty()),
        proxy: cluster.proxy_url.clone().filter(|p| !p.is_empty()),
        ..TlsOptions::default()
    };
    let mut access = ClusterAccess {
        context: context_name.clone(),
        server: cluster.server.clone(),
        namespace: ctx.namespace.clone(),
        token: None,
        tls: TlsOptions::default(),
        exec: None,
        impersonation: Vec::new(),
    };
    if let Some(user_name) = ctx.user.as_deref().filter(|u| !u.is_empty()) {
        let (user_file, user) = users.get(user_name).ok_or_else(|| {
            unusable(format!(
                "context {context_name:?} names user {user_name:?}, which is not defined"
            ))
        })?;
        let cluster_info = || exec::cluster_info(cluster, tls.ca_pem.as_deref());
        let credentials = user_credentials(user_file, user_name, user, cluster_info)?;
        if credentials.any() {
            // kubectl withholds credentials from a plain-http server; we refuse.
            crate::remote::http::check_credentials_transport(&cluster.server).map_err(|why| {
                Error::input(
                    cluster_field(cluster_file, ctx.cluster.as_str(), "server"),
                    format!("the credentials of user {user_name:?}: {why}"),
                )
            })?;
        }
        tls.client_cert_pem = credentials.client_cert_pem;
        tls.client_key_pem = credentials.client_key_pem;
        access.token = credentials.token;
        access.exec = credentials.exec;
        access.impersonation = impersonation::headers(user).map_err(|why| {
            Error::input(
                Location::new(&user_file.origin).field(format!("users[{user_name}].user")),
                format!("user {user_name:?}: {why}"),
            )
        })?;
    }
    access.tls = tls;
    Ok(access)
}

/// What a user entry proves itself with.
struct UserCredentials {
    token: Option<Secret>,
    client_cert_pem: Option<Vec<u8>>,
    client_key_pem: Option<Vec<u8>>,
    exec: Option<ExecPlugin>,
}

impl UserCredentials {
    /// Whether anything here would be sent to the server in a header.
    fn any(&self) -> bool {
        self.token.is_some() || self.exec.is_some()
    }
}

/// The user's token, token file, client certificate and key, or exec plugin,
/// read and checked; what kubectl refuses or we cannot send is an error
/// naming the field.
fn user_credentials(
    file: &Loaded,
    name: &str,
    user: &UserEntry,
    cluster_info: impl FnOnce() -> serde_json::Value,
) -> Result<UserCredentials> {
    let field = |f: &str| Location::new(&file.origin).field(format!("users[{name}].user.{f}"));
    if user.auth_provider.is_some() {
        return Err(Error::input(
            field("auth-provider"),
            format!("user {name:?} uses an auth-provider plugin, which kubectl no longer runs (removed in 1.26); use an exec plugin, a token (`oc whoami -t`) or a client certificate"),
        ));
    }
    if user.username.is_some() || user.password.is_some() {
        return Err(Error::input(
            field("username"),
            format!("user {name:?} uses basic auth (username/password), which hive-apply does not send; use a token or a client certificate"),
        ));
    }
    let client_cert_pem = data_or_file(
        file,
        user.client_certificate_data.as_deref(),
        user.client_certificate.as_deref(),
        "client-certificate",
    )?;
    let client_key_pem = data_or_file(
        file,
        user.client_key_data.as_ref().map(Secret::expose),
        user.client_key.as_deref(),
        "client-key",
    )?;
    if let Some(key) = &client_key_pem {
        register_key(key);
    }
    match (&client_cert_pem, &client_key_pem) {
        (Some(cert), Some(key)) => {
            // Checked here, not when connecting, where the TLS library would panic.
            crate::remote::http::check_client_cert(cert, key).map_err(|why| {
                Error::input(field("client-certificate"), format!("user {name:?}: {why}"))
            })?;
        }
        (None, None) => {}
        _ => {
            return Err(Error::input(
                field("client-certificate"),
                format!("user {name:?} has a client certificate without a key or a key without a certificate"),
            ))
        }
    }
    let token = match (&user.token, &user.token_file) {
        (Some(token), _) if !token.is_empty() => Some(Secret::new(token.expose().trim())),
        (_, Some(path)) if !path.is_empty() => {
            let path = file.dir.join(path);
            let what = format!("tokenFile of user {name:?}");
            let bytes = read_small_file(&path, &what)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::in_file(&path, format!("the {what} is not UTF-8 text")))?;
            Some(Secret::new(text.trim()))
        }
        _ => None,
    };
    let exec = match &user.exec {
        Some(config) => {
            if token.is_some() {
                // client-go would send the token and never the plugin's: one of them is a mistake.
                return Err(Error::input(
                    field("exec"),
                    format!("user {name:?} has both a token and an exec plugin; kubectl would send the token and ignore the plugin's credential: keep one"),
                ));
            }
            Some(ExecPlugin::from_kubeconfig(
                config,
                name,
                field("exec"),
                &file.dir,
                cluster_info,
            )?)
        }
        None => None,
    };
    Ok(UserCredentials {
        token,
        client_cert_pem,
        client_key_pem,
        exec,
    })
}

/// A private key is a credential: every base64 line of its PEM body is
/// kept out of every message.
fn register_key(pem: &[u8]) {
    for line in String::from_utf8_lossy(pem).lines() {
        if !line.starts_with("-----") {
            crate::cli::redact::register(line);
        }
    }
}

fn cluster_field(file: &Loaded, name: &str, field: &str) -> Location {
    Location::new(&file.origin).field(format!("clusters[{name}].cluster.{field}"))
}

/// Inline base64 `...-data` wins over a file path (relative to the kubeconfig).
fn data_or_file(
    file: &Loaded,
    data: Option<&str>,
    path: Option<&str>,
    what: &str,
) -> Result<Option<Vec<u8>>> {
    if let Some(data) = data.filter(|d| !d.is_empty()) {
        return crate::text::base64::decode_lenient(data)
            .map(Some)
            .ok_or_else(|| {
                Error::input(
                    Location::new(&file.origin).field(format!("{what}-data")),
                    "is not valid base64",
                )
            });
    }
    match path.filter(|p| !p.is_empty()) {
        Some(path) => read_small_file(&file.dir.join(path), what).map(Some),
        None => Ok(None),
    }
}

/// Tokens, certificates and keys are small; a file larger than this is not one.
const MAX_CREDENTIAL_FILE_BYTES: usize = 1024 * 1024;

/// Refuses what is not a regular file (a FIFO with no writer would block
/// forever, `/dev/zero` would never end), without opening it.
fn regular_file(path: &Path, what: &str) -> Result<()> {
    let metadata = std::fs::metadata(path).map_err(|err| cannot_read(path, what, &err))?;
    if !metadata.is_file() {
        return Err(Error::in_file(
            path,
            format!("the {what} is not a regular file (a directory, FIFO, socket or device)"),
        ));
    }
    Ok(())
}

/// Reads a credential file: a regular file, at most [`MAX_CREDENTIAL_FILE_BYTES`].
fn read_small_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    regular_file(path, what)?;
    let fail = |err: std::io::Error| cannot_read(path, what, &err);
    let file = std::fs::File::open(path).map_err(fail)?;
    let bytes = crate::cli::io::read_capped(file, MAX_CREDENTIAL_FILE_BYTES, 0).map_err(fail)?;
    if bytes.len() > MAX_CREDENTIAL_FILE_BYTES {
        return Err(Error::in_file(
            path,
            format!(
                "the {what} is larger than {} MiB, more than any credential",
                MAX_CREDENTIAL_FILE_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(bytes)
}

/// A cluster entry kubectl would refuse, or one we cannot honour, is
/// refused by name: a server URL we cannot use, a CA together with
/// `insecure-skip-tls-verify`, a proxy that is not HTTP CONNECT.
fn check_cluster_entry(file: &Loaded, name: &str, cluster: &ClusterEntry) -> Result<()> {
    let field = |f: &str| cluster_field(file, name, f);
    let has_ca = [
        &cluster.certificate_authority,
        &cluster.certificate_authority_data,
    ]
    .iter()
    .any(|v| v.as_deref().is_some_and(|v| !v.is_empty()));
    if has_ca && cluster.insecure_skip_tls_verify {
        return Err(Error::input(
            field("insecure-skip-tls-verify"),
            "a certificate-authority together with insecure-skip-tls-verify: true; kubectl refuses this too \
             (\"specifying a root certificates file with the insecure flag is not allowed\"): \
             keep the certificate-authority to verify the server, or remove it to skip verification",
        ));
    }
    if let Some(proxy) = cluster.proxy_url.as_deref().filter(|v| !v.is_empty()) {
        crate::remote::http::check_proxy_url(proxy)
            .map_err(|why| Error::input(field("proxy-url"), why))?;
    }
    crate::remote::http::check_url(&cluster.server).map_err(|err| {
        let why = match err {
            Error::Usage(message) => message,
            other => other.to_string(),
        };
        Error::input(field("server"), why)
    })
}

/// serde's message without the values it quotes: `invalid type: string
/// "<a token>", expected ...` must not print the token.
fn without_values(err: &serde_json::Error) -> String {
    static QUOTED: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let quoted = QUOTED.get_or_init(|| {
        regex::Regex::new(r#"(invalid (?:type|value|length): [a-z ]+?) "(?:[^"\\]|\\.)*""#)
            .expect("a valid pattern")
    });
    quoted.replace_all(&err.to_string(), "$1").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of a kubeconfig refused as invalid input (exit 1).
    fn refused(text: &str, dir: &Path, context: Option<&str>) -> String {
        let err = from_text(text, dir, context).unwrap_err();
        assert_eq!(err.exit_status() as u8, 1, "{err}");
        err.to_string()
    }

    const CONFIG: &str = "
apiVersion: v1
kind: Config
current-context: hive
clusters:
- name: hive
  cluster:
    server: https://api.hive.example:6443
    certificate-authority-data: LS0tLS1CRUdJTg==
- name: lab
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: sha256~abc
- name: robot
  user:
    tokenFile: token.txt
contexts:
- name: hive
  context: {cluster: hive, user: admin, namespace: cd-ns}
- name: lab
  context: {cluster: lab, user: robot}
";

    #[test]
    fn current_context_token_and_ca_data() {
        let access = from_text(CONFIG, Path::new("."), None).unwrap();
        assert_eq!(access.server, "https://api.hive.example:6443");
        assert_eq!(access.token.unwrap().expose(), "sha256~abc");
        assert_eq!(access.tls.ca_pem.unwrap(), b"-----BEGIN");
        assert_eq!(access.namespace.as_deref(), Some("cd-ns"));
        assert!(!access.tls.insecure);
    }

    #[test]
    fn context_flag_token_file_relative_to_the_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token.txt"), "file-token\n").unwrap();
        let access = from_text(CONFIG, dir.path(), Some("lab")).unwrap();
        assert_eq!(access.token.unwrap().expose(), "file-token");
        assert!(access.tls.insecure);
        let err = from_text(CONFIG, dir.path(), Some("nope")).unwrap_err();
        assert!(err.to_string().contains("no context \"nope\""), "{err}");
    }

    #[test]
    fn kubeconfig_list_first_definition_wins() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a");
        let second = dir.path().join("b");
        std::fs::write(
            &first,
            "clusters: [{name: hive, cluster: {server: 'https://first'}}]\n",
        )
        .unwrap();
        std::fs::write(&second, CONFIG).unwrap();
        let env = std::env::join_paths([&first, &dir.path().join("missing"), &second]).unwrap();
        let paths = config_paths(None, env.to_str(), None);
        assert_eq!(paths.len(), 3);
        let files: Vec<Loaded> = paths
            .iter()
            .filter(|p| p.exists())
            .map(|p| Loaded {
                dir: dir.path().to_path_buf(),
                origin: p.display().to_string(),
                config: serde_json::from_value(
                    crate::text::yaml::parse_one(&std::fs::read_to_string(p).unwrap())
                        .unwrap()
                        .value,
                )
                .unwrap(),
            })
            .collect();
        let access = resolve(&files, None).unwrap();
        assert_eq!(access.server, "https://first");
        assert_eq!(access.token.unwrap().expose(), "sha256~abc");
    }

    #[test]
    fn null_lists_read_as_empty_like_kubectl() {
        let text = "apiVersion: v1\nkind: Config\nclusters: null\nusers: null\ncontexts: null\ncurrent-context: \"\"\n";
        let config: KubeConfig =
            serde_json::from_value(crate::text::yaml::parse_one(text).unwrap().value).unwrap();
        assert!(
            config.clusters.is_empty() && config.users.is_empty() && config.contexts.is_empty()
        );
        let err = from_text(text, Path::new("."), None).unwrap_err();
        assert!(err.to_string().contains("no current-context"), "{err}");
    }

    #[test]
    fn type_errors_never_echo_a_kubeconfig_value() {
        let text = CONFIG.replace(
            "  user:\n    token: sha256~abc",
            "  user: sha256~leaked-token-value",
        );
        let err = from_text(&text, Path::new("."), None)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("leaked-token-value"), "{err}");
        assert!(err.contains("invalid type: string"), "{err}");
    }

    #[test]
    fn secrets_in_a_kubeconfig_never_print_in_debug() {
        let text = CONFIG.replace(
            "token: sha256~abc",
            "token: sha256~debug-leak\n    client-key-data: a2V5LWxlYWs=",
        );
        let config: KubeConfig =
            serde_json::from_value(crate::text::yaml::parse_one(&text).unwrap().value).unwrap();
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("debug-leak") && !shown.contains("a2V5LWxlYWs="),
            "{shown}"
        );
        let text = CONFIG.replace("token: sha256~abc", "token: sha256~debug-leak");
        let access = from_text(&text, Path::new("."), None).unwrap();
        assert!(!format!("{access:?}").contains("debug-leak"));
    }

    #[test]
    fn token_file_that_is_a_fifo_or_a_device_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("token.txt");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = from_text(CONFIG, dir.path(), Some("lab")).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let zero = CONFIG.replace("tokenFile: token.txt", "tokenFile: /dev/zero");
        let err = from_text(&zero, dir.path(), Some("lab")).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn an_oversized_token_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![b'a'; MAX_CREDENTIAL_FILE_BYTES + 10];
        std::fs::write(dir.path().join("token.txt"), big).unwrap();
        let err = from_text(CONFIG, dir.path(), Some("lab")).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn basic_auth_and_auth_providers_are_refused_by_name_without_their_values() {
        for (user, named, secret) in [
            (
                "username: admin\n    password: pw-secret",
                "username",
                "pw-secret",
            ),
            (
                "auth-provider: {name: oidc, config: {id-token: provider-secret}}",
                "users[robot].user.auth-provider",
                "provider-secret",
            ),
        ] {
            let text = CONFIG.replace("tokenFile: token.txt", user);
            let err = refused(&text, Path::new("."), Some("lab"));
            assert!(err.contains(named) && !err.contains(secret), "{err}");
        }
    }

    #[test]
    fn tls_server_name_and_an_http_proxy_are_used_and_a_socks_proxy_is_refused() {
        let text = CONFIG.replace(
            "    certificate-authority-data: LS0tLS1CRUdJTg==",
            "    certificate-authority-data: LS0tLS1CRUdJTg==\n    tls-server-name: api.internal\n    proxy-url: http://127.0.0.1:3128",
        );
        let access = from_text(&text, Path::new("."), None).unwrap();
        assert_eq!(access.tls.server_name.as_deref(), Some("api.internal"));
        assert_eq!(access.tls.proxy.as_deref(), Some("http://127.0.0.1:3128"));
        let socks = text.replace("http://127.0.0.1:3128", "socks5://127.0.0.1:1080");
        let err = refused(&socks, Path::new("."), None);
        assert!(
            err.contains("clusters[hive].cluster.proxy-url") && err.contains("SOCKS"),
            "{err}"
        );
    }

    #[test]
    fn a_certificate_authority_with_insecure_skip_tls_verify_is_refused_as_kubectl_refuses_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), "-----BEGIN").unwrap();
        for ca in [
            "certificate-authority-data: LS0tLS1CRUdJTg==",
            "certificate-authority: ca.crt",
        ] {
            let text = CONFIG.replace(
                "    insecure-skip-tls-verify: true",
                &format!("    insecure-skip-tls-verify: true\n    {ca}"),
            );
            let err = refused(&text, dir.path(), Some("lab"));
            assert!(
                err.contains("clusters[lab].cluster.insecure-skip-tls-verify")
                    && err.contains(
                        "specifying a root certificates file with the insecure flag is not allowed"
                    ),
                "{ca}: {err}"
            );
        }
    }

    #[test]
    fn credentials_for_a_plain_http_server_elsewhere_are_refused_and_loopback_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token.txt"), "file-token\n").unwrap();
        let plain = CONFIG.replace("https://127.0.0.1:1", "http://192.0.2.1:9");
        let err = refused(&plain, dir.path(), Some("lab"));
        assert!(
            err.contains("clusters[lab].cluster.server")
                && err.contains("user \"robot\"")
                && err.contains("plain http to 192.0.2.1"),
            "{err}"
        );
        // No credential, nothing withheld; a loopback server gets the token.
        let anonymous = plain.replace("user: robot}", "user: ''}");
        assert!(from_text(&anonymous, dir.path(), Some("lab")).is_ok());
        for loopback in ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"] {
            let text = CONFIG.replace("https://127.0.0.1:1", loopback);
            let access = from_text(&text, dir.path(), Some("lab")).unwrap();
            assert_eq!(access.token.unwrap().expose(), "file-token", "{loopback}");
        }
    }

    #[test]
    fn impersonation_becomes_headers_on_the_access() {
        let text = CONFIG.replace(
            "    token: sha256~abc",
            "    token: sha256~abc\n    as: alice\n    as-groups: [sre, admins]",
        );
        let access = from_text(&text, Path::new("."), None).unwrap();
        assert_eq!(
            access.impersonation,
            vec![
                ("Impersonate-User".to_string(), "alice".to_string()),
                ("Impersonate-Group".to_string(), "sre".to_string()),
                ("Impersonate-Group".to_string(), "admins".to_string()),
            ]
        );
        let groups_only = CONFIG.replace(
            "    token: sha256~abc",
            "    token: sha256~abc\n    as-groups: [sre]",
        );
        let err = refused(&groups_only, Path::new("."), None);
        assert!(err.contains("users[admin].user"), "{err}");
    }

    #[test]
    fn an_exec_plugin_is_read_and_a_token_beside_it_is_refused() {
        let exec = "    exec: {apiVersion: client.authentication.k8s.io/v1, command: get-token, interactiveMode: Never}";
        let text = CONFIG.replace("    tokenFile: token.txt", exec);
        let access = from_text(&text, Path::new("."), Some("lab")).unwrap();
        assert!(access.exec.is_some() && access.token.is_none());
        let both = CONFIG.replace(
            "    token: sha256~abc",
            &format!("    token: sha256~abc\n{exec}"),
        );
        let err = refused(&both, Path::new("."), None);
        assert!(err.contains("both a token and an exec plugin"), "{err}");
    }

    #[test]
    fn what_the_kubeconfig_gets_wrong_is_exit_1_and_a_wrong_context_flag_exit_2() {
        let cases = [
            (
                CONFIG.replace("current-context: hive", "current-context: gone"),
                "<kubeconfig>: current-context names no context \"gone\" (contexts: hive, lab)",
            ),
            (
                CONFIG.replace("current-context: hive\n", ""),
                "no current-context",
            ),
            (
                CONFIG.replace(
                    "{cluster: hive, user: admin",
                    "{cluster: nowhere, user: admin",
                ),
                "names cluster \"nowhere\"",
            ),
            (
                CONFIG.replace(
                    "{cluster: hive, user: admin",
                    "{cluster: hive, user: nobody",
                ),
                "names user \"nobody\"",
            ),
        ];
        for (text, expected) in cases {
            let err = refused(&text, Path::new("."), None);
            assert!(err.contains(expected), "{err}");
        }
        let err = from_text(CONFIG, Path::new("."), Some("nope")).unwrap_err();
        assert_eq!(err.exit_status() as u8, 2, "{err}");
    }

    #[test]
    fn a_server_url_with_a_bad_port_makes_the_kubeconfig_unusable() {
        for server in [
            "https://127.0.0.1:99999",
            "https://127.0.0.1:x",
            "https://:6443",
            "https://a b:1",
        ] {
            let text = CONFIG.replace("https://127.0.0.1:1", server);
            let err = refused(&text, Path::new("."), Some("lab"));
            assert!(err.contains("clusters[lab].cluster.server"), "{err}");
        }
        let text = CONFIG.replace(
            "https://127.0.0.1:1",
            "https://user:url-secret@127.0.0.1:99999",
        );
        let err = from_text(&text, Path::new("."), Some("lab"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("url-secret"), "{err}");
    }

    #[test]
    fn base64_round_trips() {
        for text in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "-----BEGIN CERTIFICATE-----\n",
        ] {
            assert_eq!(
                crate::text::base64::decode_lenient(&crate::text::base64::encode(text.as_bytes()))
                    .unwrap(),
                text.as_bytes()
            );
        }
        assert!(crate::text::base64::decode_lenient("not*base64").is_none());
    }
}
