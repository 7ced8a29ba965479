//! kubeconfig, read the way kubectl reads it: `--kubeconfig FILE`, else every
//! file of `KUBECONFIG` (`:`-separated, the first to define a name or
//! `current-context` wins), else `~/.kube/config`; the context from
//! `--context` or `current-context`; bearer token, token file, client
//! certificate and key (inline `-data` or files relative to the kubeconfig),
//! CA data or file, `insecure-skip-tls-verify`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Location, Result};
use crate::http::{Client, Secret, TlsOptions};
use crate::io::Source;

/// A kubeconfig file (`kind: Config`), the fields kubectl uses to connect.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct KubeConfig {
    #[serde(default)]
    pub current_context: Option<String>,
    #[serde(default)]
    pub clusters: Vec<NamedCluster>,
    #[serde(default)]
    pub users: Vec<NamedUser>,
    #[serde(default)]
    pub contexts: Vec<NamedContext>,
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
    pub token: Option<String>,
    #[serde(default, rename = "tokenFile")]
    pub token_file: Option<String>,
    #[serde(default)]
    pub client_certificate: Option<String>,
    #[serde(default)]
    pub client_certificate_data: Option<String>,
    #[serde(default)]
    pub client_key: Option<String>,
    #[serde(default)]
    pub client_key_data: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub exec: Option<serde_json::Value>,
    #[serde(default, rename = "auth-provider")]
    pub auth_provider: Option<serde_json::Value>,
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
    pub token: Option<Secret>,
    pub tls: TlsOptions,
}

impl ClusterAccess {
    /// An HTTP client for the API server with this access.
    pub fn client(&self) -> Result<Client> {
        Ok(Client::new(&self.server, &self.tls)?.with_token(self.token.clone()))
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
        let source = Source::read(Some(path))?;
        let parsed = source.parse()?;
        let config: KubeConfig = serde_json::from_value(parsed.value).map_err(|err| {
            Error::input(
                source.location(),
                format!("is not a kubeconfig: {err} (expected clusters, users, contexts)"),
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
    let parsed = crate::yaml::parse_one(text)
        .map_err(|err| Error::input(Location::new("<kubeconfig>"), err.to_string()))?;
    let config: KubeConfig = serde_json::from_value(parsed.value)
        .map_err(|err| Error::input(Location::new("<kubeconfig>"), err.to_string()))?;
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
    let context_name = match context {
        Some(name) => name.to_string(),
        None => files
            .iter()
            .find_map(|f| f.config.current_context.clone().filter(|c| !c.is_empty()))
            .ok_or_else(|| {
                Error::usage(format!(
                    "{origins}: no current-context; pass --context NAME"
                ))
            })?,
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
        Error::usage(format!(
            "{origins}: no context {context_name:?} (contexts: {})",
            contexts.keys().copied().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let (cluster_file, cluster) = clusters.get(ctx.cluster.as_str()).ok_or_else(|| {
        Error::usage(format!(
            "{origins}: context {context_name:?} names cluster {:?}, which is not defined",
            ctx.cluster
        ))
    })?;
    let mut tls = TlsOptions {
        insecure: cluster.insecure_skip_tls_verify,
        ..TlsOptions::default()
    };
    tls.ca_pem = data_or_file(
        cluster_file,
        cluster.certificate_authority_data.as_deref(),
        cluster.certificate_authority.as_deref(),
        "certificate-authority",
    )?;
    let mut token = None;
    if let Some(user_name) = &ctx.user {
        let (user_file, user) = users.get(user_name.as_str()).ok_or_else(|| {
            Error::usage(format!(
                "{origins}: context {context_name:?} names user {user_name:?}, which is not defined"
            ))
        })?;
        if user.exec.is_some() || user.auth_provider.is_some() {
            return Err(Error::usage(format!(
                "{}: user {user_name:?} uses an exec or auth-provider plugin, which hive-apply does not run; \
                 use a token (`oc whoami -t`) or a client certificate",
                user_file.origin
            )));
        }
        tls.client_cert_pem = data_or_file(
            user_file,
            user.client_certificate_data.as_deref(),
            user.client_certificate.as_deref(),
            "client-certificate",
        )?;
        tls.client_key_pem = data_or_file(
            user_file,
            user.client_key_data.as_deref(),
            user.client_key.as_deref(),
            "client-key",
        )?;
        if tls.client_cert_pem.is_some() != tls.client_key_pem.is_some() {
            return Err(Error::usage(format!(
                "{}: user {user_name:?} has a client certificate without a key or a key without a certificate",
                user_file.origin
            )));
        }
        token = match (&user.token, &user.token_file) {
            (Some(token), _) if !token.is_empty() => Some(Secret::new(token.trim())),
            (_, Some(file)) => {
                let path = user_file.dir.join(file);
                let text = std::fs::read_to_string(&path).map_err(|err| {
                    Error::in_file(
                        &path,
                        format!("cannot read the tokenFile of user {user_name:?}: {err}"),
                    )
                })?;
                Some(Secret::new(text.trim()))
            }
            _ => None,
        };
    }
    Ok(ClusterAccess {
        context: context_name.clone(),
        server: cluster.server.clone(),
        namespace: ctx.namespace.clone(),
        token,
        tls,
    })
}

/// Inline base64 `...-data` wins over a file path (relative to the kubeconfig).
fn data_or_file(
    file: &Loaded,
    data: Option<&str>,
    path: Option<&str>,
    what: &str,
) -> Result<Option<Vec<u8>>> {
    if let Some(data) = data.filter(|d| !d.is_empty()) {
        return crate::base64::decode_lenient(data)
            .map(Some)
            .ok_or_else(|| {
                Error::input(
                    Location::new(&file.origin).field(format!("{what}-data")),
                    "is not valid base64",
                )
            });
    }
    match path.filter(|p| !p.is_empty()) {
        Some(path) => {
            let full = file.dir.join(path);
            std::fs::read(&full)
                .map(Some)
                .map_err(|err| Error::in_file(&full, format!("cannot read the {what}: {err}")))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "clusters: [{name: hive, cluster: {server: 'http://first'}}]\n",
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
                    crate::yaml::parse_one(&std::fs::read_to_string(p).unwrap())
                        .unwrap()
                        .value,
                )
                .unwrap(),
            })
            .collect();
        let access = resolve(&files, None).unwrap();
        assert_eq!(access.server, "http://first");
        assert_eq!(access.token.unwrap().expose(), "sha256~abc");
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
                crate::base64::decode_lenient(&crate::base64::encode(text.as_bytes())).unwrap(),
                text.as_bytes()
            );
        }
        assert!(crate::base64::decode_lenient("not*base64").is_none());
    }
}
