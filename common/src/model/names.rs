//! Kubernetes name rules (k8s.io/apimachinery validation). addon-validate's
//! AM0010 uses them (a value managed-tenants' schema lets through can still be
//! refused by the API server when the SelectorSyncSet is applied), and the
//! bundle loader checks every name that becomes a path or an image tag
//! (package, channels, CSV name) against them before it is used.

/// A DNS-1123 label: namespace names (`redhat-my-addon`).
pub fn dns1123_label(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err(format!(
            "must be 1 to 63 characters long (it has {})",
            name.len()
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("must consist of lower case letters, digits and '-'".to_string());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("must start and end with a letter or digit".to_string());
    }
    Ok(())
}

/// A DNS-1123 subdomain: secret names, label prefixes (`api.openshift.com`).
pub fn dns1123_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err(format!(
            "must be 1 to 253 characters long (it has {})",
            name.len()
        ));
    }
    for part in name.split('.') {
        if part.is_empty()
            || !part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || part.starts_with('-')
            || part.ends_with('-')
        {
            return Err("must be lower case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit".to_string());
        }
    }
    Ok(())
}

/// A qualified name: label and annotation keys (`[prefix/]name`).
pub fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if key.matches('/').count() > 1 {
            return Err("may hold at most one '/'".to_string());
        }
        dns1123_subdomain(prefix).map_err(|err| format!("prefix {prefix:?} {err}"))?;
    }
    if name.is_empty() || name.len() > 63 {
        return Err(format!(
            "name part must be 1 to 63 characters long (it has {})",
            name.len()
        ));
    }
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err("name part must start and end with a letter or digit".to_string());
    }
    if !bytes
        .iter()
        .all(|b| alnum(*b) || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("name part must consist of letters, digits, '-', '_' and '.'".to_string());
    }
    Ok(())
}

/// An add-on id as managed-tenants' metadata schema allows it (`id`:
/// `^[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]$`), which is also the name of
/// the add-on's folder (`addons/<id>/`). Nothing else may reach a path, a
/// Makefile target or a shell as an add-on id.
pub fn addon_id(id: &str) -> Result<(), String> {
    let inner_ok = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-';
    let bytes = id.as_bytes();
    let well_formed = (2..=32).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes.iter().all(inner_ok);
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not an add-on id (2 to 32 letters, digits and '-', starting and ending \
             with a letter or digit)"
        ))
    }
}

/// An OCM object id that goes into a URL path (a cluster id, an add-on id):
/// letters, digits, `-`, `_` and `.`, never `.` or `..` alone, at most 255
/// characters. `what` names it in the message (`cluster id`). Checked before
/// any request, so that `../../clusters/c9` or `victim#x` never reach a path;
/// the path segment is still percent-encoded
/// ([`crate::text::url_encoding::encode_path_segment`]).
pub fn ocm_id(what: &str, id: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if id.is_empty() || id.len() > 255 || id == "." || id == ".." || !id.chars().all(allowed) {
        return Err(format!(
            "{id:?} is not an OCM {what} (1 to 255 letters, digits, '-', '_' and '.')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocm_ids_that_could_leave_their_path_segment_are_refused() {
        assert!(ocm_id("cluster id", "049ea229-6d2e-4c7b").is_ok());
        assert!(ocm_id("add-on id", "my-addon.v2").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "../../clusters/c9",
            "victim#x",
            "a/b",
            "a?b",
            "a b",
            "ä",
        ] {
            let err = ocm_id("add-on id", bad).unwrap_err();
            assert!(err.contains("is not an OCM add-on id"), "{bad}: {err}");
        }
        assert!(ocm_id("add-on id", &"a".repeat(256)).is_err());
    }

    #[test]
    fn addon_ids_follow_the_managed_tenants_pattern() {
        for good in ["my-addon", "Reference-Addon2", "ab", &"a".repeat(32)] {
            assert!(addon_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "-addon",
            "addon-",
            "x`id>PWNED`",
            "../x",
            "a b",
            "a_b",
            "ä-addon",
            &"a".repeat(33),
        ] {
            let err = addon_id(bad).unwrap_err();
            assert!(err.contains("is not an add-on id"), "{bad}: {err}");
        }
    }

    #[test]
    fn labels_follow_dns1123() {
        assert!(dns1123_label("redhat-my-addon").is_ok());
        assert!(dns1123_label("Redhat").is_err());
        assert!(dns1123_label("-x").is_err());
        assert!(dns1123_label(&"a".repeat(64)).is_err());
    }

    #[test]
    fn subdomains_allow_dots() {
        assert!(dns1123_subdomain("mtsre-pdi.test").is_ok());
        assert!(dns1123_subdomain("a..b").is_err());
        assert!(dns1123_subdomain("UPPER").is_err());
    }

    #[test]
    fn qualified_names_have_an_optional_prefix() {
        assert!(qualified_name("api.openshift.com/addon-my-addon").is_ok());
        assert!(qualified_name("monitoring-key").is_ok());
        assert!(qualified_name("Cached_Key.x").is_ok());
        assert!(qualified_name("a/b/c").is_err());
        assert!(qualified_name("Bad_Prefix/x").is_err());
        assert!(qualified_name("x-").is_err());
        assert!(qualified_name("").is_err());
    }
}
