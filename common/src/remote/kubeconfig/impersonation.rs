//! A kubeconfig user's impersonation (`as`, `as-uid`, `as-groups`,
//! `as-user-extra`) as the headers kubectl sends on every request:
//! `Impersonate-User`, `Impersonate-Uid`, one `Impersonate-Group` per group
//! and one `Impersonate-Extra-<key>` per value, the key escaped as client-go
//! escapes it.

use super::UserEntry;

/// The `Impersonate-*` headers of `user`, in kubectl's order; `Err(why)`
/// where kubectl refuses the entry (groups, uid or extras without a user) or
/// a value could not travel in a header.
pub fn headers(user: &UserEntry) -> Result<Vec<(String, String)>, String> {
    let name = user.impersonate.as_deref().unwrap_or_default();
    let uid = user.as_uid.as_deref().unwrap_or_default();
    if name.is_empty() {
        if !uid.is_empty() || !user.as_groups.is_empty() || !user.as_user_extra.is_empty() {
            // kubectl: "requesting uid, groups or user-extra for USER without impersonating a user".
            return Err(
                "as-uid, as-groups or as-user-extra without `as` (the user to impersonate); kubectl refuses this too"
                    .into(),
            );
        }
        return Ok(Vec::new());
    }
    let mut headers = vec![("Impersonate-User".to_string(), name.to_string())];
    if !uid.is_empty() {
        headers.push(("Impersonate-Uid".into(), uid.to_string()));
    }
    for group in &user.as_groups {
        headers.push(("Impersonate-Group".into(), group.clone()));
    }
    for (key, values) in &user.as_user_extra {
        for value in values {
            headers.push((
                format!("Impersonate-Extra-{}", escape_extra_key(key)),
                value.clone(),
            ));
        }
    }
    if let Some((header, _)) = headers.iter().find(|(_, value)| !is_header_value(value)) {
        return Err(format!(
            "the value for {header} has a line break or another control character, which cannot be sent in a header"
        ));
    }
    Ok(headers)
}

/// client-go's `headerKeyEscape`: a byte that may not appear in a header
/// name (RFC 7230 `tchar`), and `%` itself, becomes `%XX`, so that the API
/// server's `url.PathUnescape` gives the key back.
fn escape_extra_key(key: &str) -> String {
    let mut escaped = String::with_capacity(key.len());
    for byte in key.bytes() {
        let legal = byte.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&byte);
        if legal {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

/// Visible characters, spaces and tabs: what a header value may hold.
fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(yaml: &str) -> UserEntry {
        serde_json::from_value(crate::text::yaml::parse_one(yaml).unwrap().value).unwrap()
    }

    #[test]
    fn every_field_becomes_its_header_groups_and_extra_values_repeated() {
        let headers = headers(&user(
            "as: alice\nas-uid: '123'\nas-groups: [g1, g2]\nas-user-extra:\n  scopes.example.com/reason: [x y, z]\n  team: [sre]\n",
        ))
        .unwrap();
        let expected = [
            ("Impersonate-User", "alice"),
            ("Impersonate-Uid", "123"),
            ("Impersonate-Group", "g1"),
            ("Impersonate-Group", "g2"),
            ("Impersonate-Extra-scopes.example.com%2Freason", "x y"),
            ("Impersonate-Extra-scopes.example.com%2Freason", "z"),
            ("Impersonate-Extra-team", "sre"),
        ];
        let got: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, expected);
        assert!(self::headers(&user("token: t\n")).unwrap().is_empty());
        assert!(self::headers(&user("as: ''\n")).unwrap().is_empty());
    }

    #[test]
    fn extra_keys_are_escaped_as_client_go_escapes_them() {
        assert_eq!(escape_extra_key("plain-Key_1.x"), "plain-Key_1.x");
        assert_eq!(escape_extra_key("a/b c"), "a%2Fb%20c");
        assert_eq!(escape_extra_key("100%"), "100%25");
        assert_eq!(escape_extra_key("ü"), "%C3%BC");
    }

    #[test]
    fn groups_uid_or_extras_without_a_user_are_refused_as_kubectl_refuses_them() {
        for yaml in [
            "as-groups: [g]\n",
            "as-uid: '1'\n",
            "as-user-extra: {k: [v]}\n",
        ] {
            let why = headers(&user(yaml)).unwrap_err();
            assert!(why.contains("without `as`"), "{yaml}: {why}");
        }
        let why = headers(&user("as: \"alice\\nX-Injected: 1\"\n")).unwrap_err();
        assert!(why.contains("Impersonate-User"), "{why}");
    }
}
