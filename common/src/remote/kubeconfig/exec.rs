//! kubectl's exec credential plugins (`users[].user.exec`): a program that
//! prints an `ExecCredential` (`client.authentication.k8s.io/v1` or
//! `v1beta1`) whose `status` holds a bearer token or a client certificate
//! and key, and maybe when they expire. We run it as client-go does: its
//! `args` and `env` on top of ours, `KUBERNETES_EXEC_INFO` describing the
//! call (and the cluster, with `provideClusterInfo`), our stdin only when it
//! may interact, its stderr on ours; and we check what it prints as client-go
//! does, in client-go's words. The credential itself is never printed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{without_values, ClusterEntry, MAX_CREDENTIAL_FILE_BYTES};
use crate::cli::error::{Error, Location, Result};
use crate::remote::http::Secret;

/// The API versions of `ExecCredential` kubectl still speaks.
const API_VERSIONS: [&str; 2] = [
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
];

/// The cluster extension handed to a plugin as `spec.cluster.config`.
const EXEC_EXTENSION: &str = "client.authentication.k8s.io/exec";

/// `users[].user.exec` as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecConfig {
    #[serde(default)]
    api_version: String,
    command: String,
    #[serde(default, deserialize_with = "super::null_as_empty")]
    args: Vec<String>,
    #[serde(default, deserialize_with = "super::null_as_empty")]
    env: Vec<EnvVar>,
    #[serde(default)]
    install_hint: Option<String>,
    #[serde(default)]
    provide_cluster_info: bool,
    #[serde(default)]
    interactive_mode: Option<String>,
}

#[derive(Deserialize)]
struct EnvVar {
    name: String,
    value: String,
}

/// When the plugin may talk to the person running us (`interactiveMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InteractiveMode {
    Never,
    IfAvailable,
    Always,
}

/// An exec plugin, checked and ready to run.
#[derive(Clone)]
pub struct ExecPlugin {
    user: String,
    at: Location,
    api_version: String,
    /// As written, for messages.
    command: String,
    /// Where it is run from: a command with a `/` is relative to the
    /// kubeconfig, a bare name is looked up in `PATH` (as kubectl does).
    program: PathBuf,
    args: Vec<String>,
    /// Added to our environment; values never printed (they may hold secrets).
    env: Vec<(String, String)>,
    install_hint: Option<String>,
    mode: InteractiveMode,
    /// `spec.cluster` of `KUBERNETES_EXEC_INFO`, with `provideClusterInfo`.
    cluster: Option<Value>,
}

/// Names, never the environment's values.
impl std::fmt::Debug for ExecPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecPlugin")
            .field("user", &self.user)
            .field("api_version", &self.api_version)
            .field("command", &self.command)
            .field("args", &self.args.len())
            .field(
                "env",
                &self.env.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
            .field("mode", &self.mode)
            .field("provide_cluster_info", &self.cluster.is_some())
            .finish()
    }
}

/// What a plugin run gave: a token, a client certificate and key, or both;
/// and when they stop being valid (`None`: for the whole run).
#[derive(Clone, PartialEq, Eq)]
pub struct ExecCredential {
    pub token: Option<Secret>,
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    pub expires: Option<SystemTime>,
}

impl ExecCredential {
    /// Past its `expirationTimestamp` (client-go: `now.After(expiry)`).
    pub fn is_expired(&self) -> bool {
        self.expires.is_some_and(|at| SystemTime::now() > at)
    }

    /// Whether `other` proves the same identity with the same secrets.
    pub fn same_secrets(&self, other: &ExecCredential) -> bool {
        self.token == other.token
            && self.client_cert_pem == other.client_cert_pem
            && self.client_key_pem == other.client_key_pem
    }
}

impl std::fmt::Debug for ExecCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecCredential")
            .field("token", &self.token)
            .field("client_certificate", &self.client_cert_pem.is_some())
            .field("expires", &self.expires)
            .finish()
    }
}

/// The cluster as `KUBERNETES_EXEC_INFO` describes it to a plugin with
/// `provideClusterInfo` (client-go's field names; `certificate-authority-data`
/// is the CA, from data or file, in base64).
pub fn cluster_info(cluster: &ClusterEntry, ca_pem: Option<&[u8]>) -> Value {
    let mut info = serde_json::Map::new();
    info.insert("server".into(), json!(cluster.server));
    if let Some(name) = cluster.tls_server_name.as_deref().filter(|n| !n.is_empty()) {
        info.insert("tls-server-name".into(), json!(name));
    }
    if cluster.insecure_skip_tls_verify {
        info.insert("insecure-skip-tls-verify".into(), json!(true));
    }
    if let Some(ca) = ca_pem {
        info.insert(
            "certificate-authority-data".into(),
            json!(crate::text::base64::encode(ca)),
        );
    }
    if let Some(proxy) = cluster.proxy_url.as_deref().filter(|p| !p.is_empty()) {
        info.insert("proxy-url".into(), json!(proxy));
    }
    let config = cluster
        .extensions
        .iter()
        .find(|e| e.name == EXEC_EXTENSION)
        .map(|e| e.extension.clone())
        .unwrap_or(Value::Null);
    info.insert("config".into(), config);
    Value::Object(info)
}

impl ExecPlugin {
    /// Reads and checks `users[NAME].user.exec` (at `at`) as kubectl does
    /// before running anything: a known `apiVersion`, a `command`, and for
    /// v1 an `interactiveMode`.
    pub fn from_kubeconfig(
        config: &Value,
        user: &str,
        at: Location,
        kubeconfig_dir: &Path,
        cluster_info: impl FnOnce() -> Value,
    ) -> Result<ExecPlugin> {
        let fail = |message: String| Error::input(at.clone(), format!("user {user:?}: {message}"));
        let config: ExecConfig = serde_json::from_value(config.clone()).map_err(|err| {
            fail(format!(
                "is not an exec plugin entry: {} (expected apiVersion, command, args, env, interactiveMode)",
                without_values(&err)
            ))
        })?;
        if !API_VERSIONS.contains(&config.api_version.as_str()) {
            return Err(fail(format!(
                "exec plugin: invalid apiVersion {:?} (expected {})",
                config.api_version,
                API_VERSIONS.join(" or ")
            )));
        }
        if config.command.is_empty() {
            return Err(fail("exec plugin: command is empty".into()));
        }
        let mode = match config.interactive_mode.as_deref() {
            None | Some("") if config.api_version.ends_with("/v1") => {
                return Err(fail(format!(
                    "interactiveMode must be specified to use an exec plugin of {} (Never, IfAvailable or Always)",
                    config.api_version
                )))
            }
            None | Some("") | Some("IfAvailable") => InteractiveMode::IfAvailable,
            Some("Never") => InteractiveMode::Never,
            Some("Always") => InteractiveMode::Always,
            Some(other) => {
                return Err(fail(format!(
                    "invalid interactiveMode {other:?} (expected Never, IfAvailable or Always)"
                )))
            }
        };
        let program = if config.command.contains('/') {
            kubeconfig_dir.join(&config.command)
        } else {
            PathBuf::from(&config.command)
        };
        Ok(ExecPlugin {
            user: user.to_string(),
            at,
            api_version: config.api_version,
            command: config.command,
            program,
            args: config.args,
            env: config.env.into_iter().map(|e| (e.name, e.value)).collect(),
            install_hint: config.install_hint.filter(|h| !h.is_empty()),
            mode,
            cluster: config.provide_cluster_info.then(cluster_info),
        })
    }

    fn fail(&self, message: impl std::fmt::Display) -> Error {
        Error::input(
            self.at.clone(),
            format!(
                "user {:?}: exec plugin {}: {message}",
                self.user, self.command
            ),
        )
    }

    /// Runs the plugin once and reads its credential.
    pub fn run(&self) -> Result<ExecCredential> {
        self.run_with_stdin(std::io::stdin().is_terminal())
    }

    /// [`ExecPlugin::run`], told whether our stdin is a terminal.
    fn run_with_stdin(&self, stdin_is_terminal: bool) -> Result<ExecCredential> {
        let interactive = match self.mode {
            InteractiveMode::Never => false,
            InteractiveMode::IfAvailable => stdin_is_terminal,
            InteractiveMode::Always if stdin_is_terminal => true,
            InteractiveMode::Always => {
                return Err(self.fail(
                    "interactiveMode is Always, but standard input is not a terminal (kubectl refuses this too)",
                ))
            }
        };
        let mut spec = serde_json::Map::new();
        if let Some(cluster) = &self.cluster {
            spec.insert("cluster".into(), cluster.clone());
        }
        spec.insert("interactive".into(), json!(interactive));
        let info = json!({"kind": "ExecCredential", "apiVersion": self.api_version, "spec": spec});
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .env("KUBERNETES_EXEC_INFO", info.to_string())
            .stdin(if interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| {
                let why = match err.kind() {
                    std::io::ErrorKind::NotFound => format!(
                        "executable {} not found{}",
                        self.program.display(),
                        self.install_hint
                            .as_deref()
                            .map(|hint| format!(" ({hint})"))
                            .unwrap_or_default()
                    ),
                    _ => format!(
                        "cannot run {}: {}",
                        self.program.display(),
                        crate::cli::io::describe_io_error(&err)
                    ),
                };
                self.fail(why)
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let printed = crate::cli::io::read_capped(stdout, MAX_CREDENTIAL_FILE_BYTES, 0);
        if !matches!(&printed, Ok(bytes) if bytes.len() <= MAX_CREDENTIAL_FILE_BYTES) {
            // Too much to be a credential, or unreadable: do not wait for the rest.
            let _ = child.kill();
        }
        let status = child
            .wait()
            .map_err(|err| self.fail(format!("cannot wait for it: {err}")))?;
        let printed = printed.map_err(|err| self.fail(format!("cannot read its output: {err}")))?;
        if !status.success() {
            let how = match status.code() {
                Some(code) => format!("exit code {code}"),
                None => "a signal".to_string(),
            };
            return Err(self.fail(format!(
                "executable {} failed with {how} (its own words are above)",
                self.program.display()
            )));
        }
        if printed.len() > MAX_CREDENTIAL_FILE_BYTES {
            return Err(self.fail(format!(
                "printed more than {} MiB, more than any credential",
                MAX_CREDENTIAL_FILE_BYTES / (1024 * 1024)
            )));
        }
        self.read_credential(&printed)
    }

    /// Checks what the plugin printed as client-go does, in its words.
    fn read_credential(&self, printed: &[u8]) -> Result<ExecCredential> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Printed {
            #[serde(default)]
            api_version: String,
            #[serde(default)]
            kind: String,
            #[serde(default)]
            status: Option<Status>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Status {
            #[serde(default)]
            token: Option<Secret>,
            #[serde(default)]
            client_certificate_data: Option<String>,
            #[serde(default)]
            client_key_data: Option<Secret>,
            #[serde(default)]
            expiration_timestamp: Option<String>,
        }
        let printed: Printed = serde_json::from_slice(printed).map_err(|err| {
            self.fail(format!(
                "did not print an ExecCredential as JSON on stdout: {}",
                without_values(&err)
            ))
        })?;
        if printed.kind != "ExecCredential" {
            return Err(self.fail(format!(
                "printed kind {:?}, not an ExecCredential",
                printed.kind
            )));
        }
        if printed.api_version != self.api_version {
            return Err(self.fail(format!(
                "exec plugin is configured to use API version {}, plugin returned version {}",
                self.api_version, printed.api_version
            )));
        }
        let status = printed
            .status
            .ok_or_else(|| self.fail("exec plugin didn't return a status field"))?;
        let token = status.token.filter(|t| !t.is_empty());
        let cert = status
            .client_certificate_data
            .filter(|c| !c.is_empty())
            .map(String::into_bytes);
        let key = status
            .client_key_data
            .filter(|k| !k.is_empty())
            .map(|k| k.expose().as_bytes().to_vec());
        if let Some(key) = &key {
            super::register_key(key);
        }
        match (&token, &cert, &key) {
            (None, None, None) => {
                return Err(self.fail("exec plugin didn't return a token or cert/key pair"))
            }
            (_, Some(_), None) | (_, None, Some(_)) => {
                return Err(self.fail("exec plugin returned only certificate or key, not both"))
            }
            (_, Some(cert), Some(key)) => crate::remote::http::check_client_cert(cert, key)
                .map_err(|why| self.fail(format!("its client certificate: {why}")))?,
            _ => {}
        }
        let expires = match status.expiration_timestamp.filter(|t| !t.is_empty()) {
            Some(text) => Some(crate::text::time::parse_rfc3339(&text).ok_or_else(|| {
                self.fail(format!(
                    "expirationTimestamp {text:?} is not an RFC 3339 time"
                ))
            })?),
            None => None,
        };
        Ok(ExecCredential {
            token,
            client_cert_pem: cert,
            client_key_pem: key,
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn plugin(dir: &Path, exec_yaml: &str) -> Result<ExecPlugin> {
        let value = crate::text::yaml::parse_one(exec_yaml).unwrap().value;
        ExecPlugin::from_kubeconfig(
            &value,
            "robot",
            Location::new("kc").field("users[robot].user.exec"),
            dir,
            || json!({"server": "https://127.0.0.1:6443", "config": null}),
        )
    }

    /// A plugin script in `dir` that prints `output` and appends
    /// KUBERNETES_EXEC_INFO, its arguments and $GREETING to `dir/calls`.
    fn script(dir: &Path, name: &str, output: &str) {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nprintf '%s|%s|%s\\n' \"$KUBERNETES_EXEC_INFO\" \"$*\" \"$GREETING\" >> \"$(dirname \"$0\")/calls\"\ncat <<'EOF'\n{output}\nEOF\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    const V1: &str = "apiVersion: client.authentication.k8s.io/v1\ninteractiveMode: Never\n";

    #[test]
    fn runs_with_args_env_and_exec_info_and_reads_the_token_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        script(
            dir.path(),
            "plugin.sh",
            r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-unit-token","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#,
        );
        let exec = plugin(
            dir.path(),
            &format!("{V1}command: ./plugin.sh\nargs: [get-token, --x]\nenv: [{{name: GREETING, value: hello}}]\nprovideClusterInfo: true\n"),
        )
        .unwrap();
        let credential = exec.run().unwrap();
        assert_eq!(
            credential.token.as_ref().unwrap().expose(),
            "exec-unit-token"
        );
        assert_eq!(
            credential.expires,
            crate::text::time::parse_rfc3339("2030-01-01T00:00:00Z")
        );
        assert!(!credential.is_expired());
        assert!(!format!("{credential:?} {exec:?}").contains("exec-unit-token"));
        assert!(!format!("{exec:?}").contains("hello"));
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        let (info, rest) = calls.trim_end().split_once('|').unwrap();
        assert_eq!(rest, "get-token --x|hello");
        let info: Value = serde_json::from_str(info).unwrap();
        assert_eq!(
            info,
            json!({"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1",
                "spec": {"cluster": {"server": "https://127.0.0.1:6443", "config": null}, "interactive": false}})
        );
    }

    #[test]
    fn the_entry_is_checked_as_kubectl_checks_it_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        for (yaml, expected) in [
            (
                "apiVersion: client.authentication.k8s.io/v1alpha1\ncommand: x\n",
                "invalid apiVersion \"client.authentication.k8s.io/v1alpha1\"",
            ),
            (
                "apiVersion: client.authentication.k8s.io/v1\ncommand: x\n",
                "interactiveMode must be specified",
            ),
            (
                "apiVersion: client.authentication.k8s.io/v1\ncommand: x\ninteractiveMode: Sometimes\n",
                "invalid interactiveMode \"Sometimes\"",
            ),
            (
                "apiVersion: client.authentication.k8s.io/v1\ninteractiveMode: Never\ncommand: ''\n",
                "command is empty",
            ),
            (
                "apiVersion: client.authentication.k8s.io/v1\ninteractiveMode: Never\n",
                "missing field `command`",
            ),
        ] {
            let err = plugin(dir.path(), yaml).unwrap_err();
            assert_eq!(err.exit_status() as u8, 1, "{yaml}");
            let text = err.to_string();
            assert!(
                text.contains("users[robot].user.exec") && text.contains(expected),
                "{yaml}: {text}"
            );
        }
        // v1beta1 defaults to IfAvailable.
        let exec = plugin(
            dir.path(),
            "apiVersion: client.authentication.k8s.io/v1beta1\ncommand: x\n",
        )
        .unwrap();
        assert_eq!(exec.mode, InteractiveMode::IfAvailable);
    }

    #[test]
    fn what_the_plugin_prints_is_checked_in_client_go_words_without_echoing_it() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("not json at all: leaked-output", "did not print an ExecCredential"),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"x"}}"#,
                "exec plugin is configured to use API version client.authentication.k8s.io/v1, plugin returned version client.authentication.k8s.io/v1beta1",
            ),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}"#,
                "didn't return a status field",
            ),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}"#,
                "didn't return a token or cert/key pair",
            ),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"x"}}"#,
                "returned only certificate or key, not both",
            ),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"leaked-output","expirationTimestamp":"soon"}}"#,
                "expirationTimestamp \"soon\" is not an RFC 3339 time",
            ),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"Status","status":{"token":"leaked-output"}}"#,
                "not an ExecCredential",
            ),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":["leaked-output"]}}"#,
                "did not print an ExecCredential",
            ),
        ];
        for (output, expected) in cases {
            script(dir.path(), "plugin.sh", output);
            let exec = plugin(dir.path(), &format!("{V1}command: ./plugin.sh\n")).unwrap();
            let text = exec.run().unwrap_err().to_string();
            assert!(text.contains(expected), "{output}: {text}");
            assert!(!text.contains("leaked-output"), "{output}: {text}");
        }
    }

    #[test]
    fn a_failing_or_missing_plugin_is_named_with_its_exit_code_or_install_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fail.sh");
        std::fs::write(&path, "#!/bin/sh\necho 'plugin says no' >&2\nexit 3\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let exec = plugin(dir.path(), &format!("{V1}command: ./fail.sh\n")).unwrap();
        let text = exec.run().unwrap_err().to_string();
        assert!(text.contains("fail.sh failed with exit code 3"), "{text}");
        let exec = plugin(
            dir.path(),
            &format!("{V1}command: no-such-plugin-anywhere\ninstallHint: install it with brew\n"),
        )
        .unwrap();
        let text = exec.run().unwrap_err().to_string();
        assert!(
            text.contains("executable no-such-plugin-anywhere not found (install it with brew)"),
            "{text}"
        );
    }

    #[test]
    fn always_interactive_without_a_terminal_is_refused_before_running() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "plugin.sh", "{}");
        let exec = plugin(
            dir.path(),
            "apiVersion: client.authentication.k8s.io/v1\ninteractiveMode: Always\ncommand: ./plugin.sh\n",
        )
        .unwrap();
        let text = exec.run_with_stdin(false).unwrap_err().to_string();
        assert!(text.contains("standard input is not a terminal"), "{text}");
        assert!(!dir.path().join("calls").exists(), "the plugin ran");
    }
}
