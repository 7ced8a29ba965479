//! Small readers and assertions the end-to-end tests share: a field of every
//! item of a JSON list, and "this text names all of these" with the text in
//! the failure.

use serde_json::Value;

/// The items of a JSON array; a value that is no array fails the test,
/// showing it.
pub fn items(list: &Value) -> &Vec<Value> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {list:#}"))
}

/// The string `field` of every item of a JSON array, in order; an item
/// without it fails the test, showing the item.
pub fn strings(list: &Value, field: &str) -> Vec<String> {
    items(list).iter().map(|item| text(item, field)).collect()
}

/// The strings `first` and `second` of every item of a JSON array, in order
/// (a channel's name and head, a manager and its time).
pub fn string_pairs(list: &Value, first: &str, second: &str) -> Vec<(String, String)> {
    items(list)
        .iter()
        .map(|item| (text(item, first), text(item, second)))
        .collect()
}

/// The items of a JSON array whose `field` is `value`.
pub fn items_where<'a>(list: &'a Value, field: &str, value: &str) -> Vec<&'a Value> {
    items(list)
        .iter()
        .filter(|item| item[field] == value)
        .collect()
}

fn text(item: &Value, field: &str) -> String {
    item[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {item:#}"))
        .to_string()
}

/// Expects `text` to contain every one of `parts`; a failure names the
/// missing part, says what the text was (`what`) and shows it.
pub fn has_all(what: &str, text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{what}: expected {part:?} in:\n{text}");
    }
}

/// Expects `text` to contain none of `parts`; a failure says why it must not
/// (`why`) and shows the text.
pub fn has_none(why: &str, text: &str, parts: &[&str]) {
    for part in parts {
        assert!(!text.contains(part), "{why}: found {part:?} in:\n{text}");
    }
}

/// Expects `part` exactly `times` times in `text`, showing the text.
pub fn occurs(text: &str, part: &str, times: usize) {
    assert_eq!(
        text.matches(part).count(),
        times,
        "{part:?} {times} times in:\n{text}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_and_pairs_read_every_item_in_order() {
        let list = json!([{"name": "a", "head": "1"}, {"name": "b", "head": "2"}]);
        assert_eq!(strings(&list, "name"), ["a", "b"]);
        assert_eq!(
            string_pairs(&list, "name", "head"),
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(items_where(&list, "head", "2"), [&list[1]]);
    }

    #[test]
    #[should_panic(expected = "no string \"head\"")]
    fn an_item_without_the_field_fails() {
        strings(&json!([{"name": "a"}]), "head");
    }

    #[test]
    #[should_panic(expected = "expected \"z\" in")]
    fn a_missing_part_fails() {
        has_all("text", "abc", &["a", "z"]);
    }

    #[test]
    #[should_panic(expected = "secret: found \"b\"")]
    fn a_forbidden_part_fails() {
        has_none("secret", "abc", &["z", "b"]);
    }
}
