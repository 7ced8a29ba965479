//! Registry credentials the way podman, skopeo and docker find them; never
//! a secret in a message.

use std::path::PathBuf;

use common::{Error, Result};
use oci_client::secrets::RegistryAuth;
use serde_json::Value;

/// Where credentials were found, for messages (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub auth: RegistryAuth,
    pub source: String,
}

/// Finds credentials for `registry`: the auth file named by
/// `REGISTRY_AUTH_FILE`, else `~/.docker/config.json`, else (for quay.io)
/// `QUAY_USER`/`QUAY_APIKEY`; anonymous when none has an entry.
///
/// A file that was named but cannot be used is an error naming it, never a
/// silent anonymous pull: `REGISTRY_AUTH_FILE` naming nothing, an auth file
/// that is not a regular file, and an entry for the registry of the wrong
/// shape or kept by a credential helper (which we do not run).
pub fn find_credentials(registry: &str) -> Result<Credentials> {
    let mut files = Vec::new();
    if let Some(path) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if std::fs::metadata(&path).is_err() {
            return Err(Error::in_file(
                &path,
                "REGISTRY_AUTH_FILE names this file, which does not exist (expected a podman/docker auth.json; unset REGISTRY_AUTH_FILE to pull anonymously)",
            ));
        }
        files.push(path);
    }
    if let Some(home) = std::env::var_os("HOME") {
        files.push(PathBuf::from(home).join(".docker").join("config.json"));
    }
    for path in files {
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if !metadata.is_file() {
            return Err(Error::in_file(
                &path,
                "the registry auth file is not a regular file (expected a podman/docker auth.json)",
            ));
        }
        let file = std::fs::File::open(&path)
            .map_err(|err| Error::in_file(&path, common::cli::io::describe_io_error(&err)))?;
        let bytes =
            common::cli::io::read_capped(file, common::cli::io::MAX_DOCUMENT_BYTES, metadata.len())
                .map_err(|err| Error::in_file(&path, common::cli::io::describe_io_error(&err)))?;
        if bytes.len() > common::cli::io::MAX_DOCUMENT_BYTES {
            return Err(Error::in_file(&path, "the registry auth file is too large"));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|err| Error::in_file(&path, format!("not a JSON auth file: {err}")))?;
        if let Some((user, password)) =
            auth_file_entry(&value, registry).map_err(|message| Error::in_file(&path, message))?
        {
            register_basic(&user, &password);
            return Ok(Credentials {
                auth: RegistryAuth::Basic(user, password),
                source: path.display().to_string(),
            });
        }
    }
    // The Quay robot account of managed-tenants' CI; only ever sent to Quay.
    let is_quay = registry == "quay.io" || registry.ends_with(".quay.io");
    if let (true, Ok(user), Ok(key)) = (
        is_quay,
        std::env::var("QUAY_USER"),
        std::env::var("QUAY_APIKEY"),
    ) {
        if !user.is_empty() && !key.is_empty() {
            register_basic(&user, &key);
            return Ok(Credentials {
                auth: RegistryAuth::Basic(user, key),
                source: "QUAY_USER/QUAY_APIKEY".into(),
            });
        }
    }
    Ok(Credentials {
        auth: RegistryAuth::Anonymous,
        source: "anonymous".into(),
    })
}

/// A JSON value's kind, for messages that must not repeat the value (it
/// may be a secret).
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Registers a registry password (and the basic auth header made of it) as a
/// secret, so no message can carry it: oci-client holds it as a plain string.
fn register_basic(user: &str, password: &str) {
    common::cli::redact::register(password);
    common::cli::redact::register(&common::text::base64::encode(
        format!("{user}:{password}").as_bytes(),
    ));
}

/// The user and password of `registry` in a docker/podman auth file
/// (`auths.<registry>.auth` = base64 of `user:password`, or `username` and
/// `password`); keys may carry a scheme or a path, as docker writes them.
/// None when the file has no entry for the registry; an error (naming the
/// field, never its value) when the entry is there but unusable.
pub fn auth_file_entry(
    file: &Value,
    registry: &str,
) -> std::result::Result<Option<(String, String)>, String> {
    let helper = file
        .get("credHelpers")
        .and_then(|helpers| helpers.get(registry))
        .and_then(Value::as_str);
    if let Some(helper) = helper {
        return Err(format!(
            "credHelpers.{registry}: the credentials are kept by the credential helper {helper:?}, which catalog-build does not run (expected auths.{registry}.auth in the file, or QUAY_USER/QUAY_APIKEY)"
        ));
    }
    let auths = match file.get("auths") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(auths)) => auths,
        Some(other) => {
            return Err(format!(
                "auths: expected a mapping of registry to credentials, found {}",
                kind_of(other)
            ))
        }
    };
    let host_of = |key: &str| {
        let key = key
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        key.split('/').next().unwrap_or(key).to_string()
    };
    let wanted = [registry.to_string(), docker_hub_alias(registry)];
    let entry = auths
        .iter()
        .find(|(key, _)| key.as_str() == registry)
        .or_else(|| auths.iter().find(|(key, _)| wanted.contains(&host_of(key))));
    let Some((key, entry)) = entry else {
        return Ok(None);
    };
    let Some(fields) = entry.as_object() else {
        return Err(format!(
            "auths.{key}: expected a mapping with auth (base64 of user:password), found {}",
            kind_of(entry)
        ));
    };
    let text = |name: &str| -> std::result::Result<Option<&str>, String> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str()).filter(|t| !t.is_empty())),
            Some(other) => Err(format!(
                "auths.{key}.{name}: expected a string, found {}",
                kind_of(other)
            )),
        }
    };
    if let Some(encoded) = text("auth")? {
        let decoded = common::text::base64::decode_lenient(encoded)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| format!("auths.{key}.auth: not base64 of user:password"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| format!("auths.{key}.auth: expected base64 of user:password"))?;
        return Ok(Some((user.to_string(), password.to_string())));
    }
    match (text("username")?, text("password")?) {
        (Some(user), Some(password)) => Ok(Some((user.to_string(), password.to_string()))),
        (Some(_), None) | (None, Some(_)) => Err(format!(
            "auths.{key}: has only one of username and password (expected both, or auth)"
        )),
        (None, None) => Err(match (text("identitytoken")?, file.get("credsStore").and_then(Value::as_str)) {
            (Some(_), _) => format!(
                "auths.{key}: holds an identitytoken, which catalog-build cannot use (expected auth, base64 of user:password)"
            ),
            (None, Some(store)) => format!(
                "auths.{key}: the credentials are kept by the credential store {store:?} (credsStore), which catalog-build does not run (expected auths.{key}.auth in the file, or QUAY_USER/QUAY_APIKEY)"
            ),
            (None, None) => format!(
                "auths.{key}: holds no credentials (expected auth, base64 of user:password, or username and password)"
            ),
        }),
    }
}

fn docker_hub_alias(registry: &str) -> String {
    if registry == "docker.io" {
        "index.docker.io".into()
    } else {
        registry.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_file_entries_by_host_with_or_without_scheme() {
        // "user:pa:ss" in base64
        let file = json!({"auths": {"https://quay.io/v1/": {"auth": "dXNlcjpwYTpzcw=="},
            "localhost:5000": {"username": "u", "password": "p"}}});
        assert_eq!(
            auth_file_entry(&file, "quay.io").unwrap(),
            Some(("user".into(), "pa:ss".into()))
        );
        assert_eq!(
            auth_file_entry(&file, "localhost:5000").unwrap(),
            Some(("u".into(), "p".into()))
        );
        assert_eq!(auth_file_entry(&file, "ghcr.io").unwrap(), None);
        let bad = json!({"auths": {"quay.io": {"auth": "!!!"}}});
        assert!(auth_file_entry(&bad, "quay.io").is_err());
    }

    #[test]
    fn auth_entries_of_the_wrong_type_are_errors_naming_the_field_not_anonymous() {
        let secret = "c2VjcmV0OnNlY3JldA==";
        let cases = [
            (json!({"auths": ["quay.io"]}), "auths: expected a mapping"),
            (
                json!({"auths": {"quay.io": secret}}),
                "auths.quay.io: expected a mapping",
            ),
            (
                json!({"auths": {"quay.io": {"auth": 12345}}}),
                "auths.quay.io.auth: expected a string, found a number",
            ),
            (
                json!({"auths": {"quay.io": {"auth": [secret]}}}),
                "auths.quay.io.auth: expected a string, found a list",
            ),
            (
                json!({"auths": {"quay.io": {"username": "u", "password": 7}}}),
                "auths.quay.io.password: expected a string",
            ),
            (
                json!({"auths": {"quay.io": {"username": "u"}}}),
                "only one of username and password",
            ),
            (json!({"auths": {"quay.io": {}}}), "holds no credentials"),
            (
                json!({"auths": {"quay.io": {}}, "credsStore": "desktop"}),
                "credential store \"desktop\"",
            ),
            (
                json!({"auths": {"quay.io": {"identitytoken": "t"}}}),
                "identitytoken",
            ),
            (
                json!({"credHelpers": {"quay.io": "ecr-login"}}),
                "credential helper \"ecr-login\"",
            ),
        ];
        for (file, message) in cases {
            let err = auth_file_entry(&file, "quay.io").unwrap_err();
            assert!(err.contains(message), "{file}: {err}");
            assert!(!err.contains(secret), "never repeats the value: {err}");
        }
        // No entry for this registry at all is not an error: anonymous.
        assert_eq!(
            auth_file_entry(&json!({"auths": {"ghcr.io": {}}}), "quay.io"),
            Ok(None)
        );
        assert_eq!(
            auth_file_entry(&json!({"credsStore": "desktop"}), "quay.io"),
            Ok(None)
        );
    }
}
