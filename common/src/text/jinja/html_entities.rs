//! The named character references Python's `html.unescape` knows
//! (`html.entities.html5` of CPython 3.9.18, the WHATWG list): a name with its
//! `;`, and the legacy names that also work without one. Generated, sorted
//! by name (byte order) for a binary search; kept as data in
//! `tables/html_entities.txt` (a name, then the code points it stands for, in
//! hex), compiled in and parsed once on first use.

use std::sync::OnceLock;

use super::unicode_tables::{data_lines, parse_code_point};

/// The text a named reference (`amp;`, `AElig`) stands for.
pub(super) fn entity(name: &str) -> Option<&'static str> {
    let entities = entities();
    entities
        .binary_search_by(|(known, _)| known.as_bytes().cmp(name.as_bytes()))
        .ok()
        .map(|at| entities[at].1.as_str())
}

fn entities() -> &'static [(&'static str, String)] {
    static ENTITIES: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    ENTITIES.get_or_init(|| {
        data_lines(include_str!("tables/html_entities.txt"))
            .map(|line| {
                parse_entity(line)
                    .unwrap_or_else(|| panic!("an entity and its code points, not {line:?}"))
            })
            .collect()
    })
}

/// `AElig 00C6`: the name, then one or more code points.
fn parse_entity(line: &str) -> Option<(&str, String)> {
    let mut words = line.split(' ');
    let name = words.next().filter(|name| !name.is_empty())?;
    let text: String = words
        .map(|hex| parse_code_point(hex).and_then(char::from_u32))
        .collect::<Option<_>>()?;
    (!text.is_empty()).then_some((name, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_list_parses_sorted_by_name() {
        let entities = entities();
        assert_eq!(entities.len(), 2231);
        assert!(entities
            .windows(2)
            .all(|pair| pair[0].0.as_bytes() < pair[1].0.as_bytes()));
    }

    #[test]
    fn names_with_and_without_semicolon_and_several_code_points() {
        assert_eq!(entity("amp;"), Some("&"));
        assert_eq!(entity("AElig"), Some("\u{c6}"));
        assert_eq!(entity("Tab;"), Some("\t"));
        assert_eq!(entity("vsubnE;"), Some("\u{2acb}\u{fe00}"));
        assert_eq!(entity("Abreve"), None);
        assert_eq!(entity(""), None);
    }

    #[test]
    fn a_line_without_code_points_or_with_a_bad_one_is_refused() {
        assert_eq!(parse_entity("amp"), None);
        assert_eq!(parse_entity("amp 110000"), None);
        assert_eq!(parse_entity("amp D800"), None);
        assert_eq!(
            parse_entity("zwj; 200D"),
            Some(("zwj;", "\u{200d}".to_string()))
        );
    }
}
