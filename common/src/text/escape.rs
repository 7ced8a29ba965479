//! Character-by-character escaping, for the markup formats we write (XML
//! reports, HTML from Jinja2 filters): each format says only which
//! characters become what.

/// `text` with each character that `replacement` names written as its
/// replacement, and every other character as it is.
pub fn escape_with(text: &str, replacement: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match replacement(c) {
            Some(escaped) => out.push_str(escaped),
            None => out.push(c),
        }
    }
    out
}

/// The entities XML and HTML both write for `&`, `<` and `>`; the formats
/// differ in the quotes and the rest.
pub fn markup_entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_characters_change() {
        let angle = |c| match c {
            '<' => Some("&lt;"),
            _ => None,
        };
        assert_eq!(escape_with("a<b>é", angle), "a&lt;b>é");
        assert_eq!(escape_with("", angle), "");
        assert_eq!(
            escape_with("a&b<c>'\"", markup_entity),
            "a&amp;b&lt;c&gt;'\""
        );
    }
}
