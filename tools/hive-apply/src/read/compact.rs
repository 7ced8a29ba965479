//! A List item's compact JSON, written as serde_json parses it: the text
//! [`Manifest`](crate::objects::Manifest) keeps and sends, without first
//! building a tree of the item and then serialising it. For a fleet's List
//! the tree was most of hive-apply's reading: an allocation for every
//! string, map and list, freed again at once (issue 24).
//!
//! The text is what `serde_json::to_string` writes of the item's `Value`
//! (the same scalars, the same escapes, keys in their order), with one
//! exception: a map that names a key twice keeps both here, where a
//! `Value` keeps one (the last value, in the first place). Such an item
//! says so ([`CompactItem::sure`] is false), and its reader parses the text
//! again as a `Value` to settle it; so does one with a map too large to
//! check cheaply.
//!
//! Where the few fields that say what an object is were written is kept
//! ([`Field`]): the reader parses those pieces alone, not the text again.

use std::ops::Range;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Maps with more keys than this are not checked for a repeated key: the
/// item is read again as a `Value` instead. Objects' maps are far smaller.
const CHECKED_KEYS: usize = 64;

/// An item's compact JSON text.
pub struct CompactItem {
    pub text: String,
    /// False when the text may differ from serde_json's text of the item's
    /// `Value` (a key repeated, or not checked for).
    pub sure: bool,
    /// Where in `text` each [`Field`] of an object's is, if it has it.
    fields: [Option<Range<usize>>; Field::ALL.len()],
}

/// The fields of an object that say what it is and where it goes: the
/// ones [`Manifest`](crate::objects::Manifest) reads its facts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ApiVersion,
    Kind,
    Metadata,
    /// `spec.clusterDeploymentRefs`, in a `spec` that is a map.
    ClusterDeploymentRefs,
    /// `spec.clusterDeploymentSelector`, in a `spec` that is a map.
    ClusterDeploymentSelector,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::ApiVersion,
        Field::Kind,
        Field::Metadata,
        Field::ClusterDeploymentRefs,
        Field::ClusterDeploymentSelector,
    ];

    /// The key's name.
    pub fn name(self) -> &'static str {
        match self {
            Field::ApiVersion => "apiVersion",
            Field::Kind => "kind",
            Field::Metadata => "metadata",
            Field::ClusterDeploymentRefs => "clusterDeploymentRefs",
            Field::ClusterDeploymentSelector => "clusterDeploymentSelector",
        }
    }

    /// Whether it is a field of the object's spec, not of the object.
    pub fn in_spec(self) -> bool {
        matches!(
            self,
            Field::ClusterDeploymentRefs | Field::ClusterDeploymentSelector
        )
    }

    /// The field a key written as `key` (quoted) is, in the object itself
    /// (`in_spec` false) or in its spec.
    fn of(key: &[u8], in_spec: bool) -> Option<Field> {
        let key = key.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        Field::ALL
            .into_iter()
            .find(|field| field.in_spec() == in_spec && field.name().as_bytes() == key)
    }
}

impl CompactItem {
    /// The text of `field`, if the object has it.
    pub fn field(&self, field: Field) -> Option<&str> {
        self.fields[field as usize]
            .clone()
            .map(|range| &self.text[range])
    }
}

impl<'de> Deserialize<'de> for CompactItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut writer = Writer {
            out: Vec::new(),
            keys: Vec::new(),
            sure: true,
            depth: 0,
            in_spec: false,
            fields: Default::default(),
        };
        Compacting(&mut writer).deserialize(deserializer)?;
        let text = String::from_utf8(writer.out)
            .map_err(|_| serde::de::Error::custom("compact JSON that is not UTF-8"))?;
        Ok(CompactItem {
            text,
            sure: writer.sure,
            fields: writer.fields,
        })
    }
}

/// The text so far, and the keys of the maps open (where each was written).
struct Writer {
    out: Vec<u8>,
    keys: Vec<Range<usize>>,
    sure: bool,
    /// Maps and lists open: 1 inside the item's own map.
    depth: usize,
    /// The value being written is the item's `spec`.
    in_spec: bool,
    fields: [Option<Range<usize>>; Field::ALL.len()],
}

impl Writer {
    /// A scalar as serde_json writes it.
    fn scalar<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        // Writing a scalar into memory does not fail.
        let _ = serde_json::to_writer(&mut self.out, value);
    }
}

/// Writes the value it is handed to.
struct Compacting<'w>(&'w mut Writer);

impl<'de> DeserializeSeed<'de> for Compacting<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Compacting<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        self.0.scalar(&value);
        Ok(())
    }

    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        self.0.scalar(&value);
        Ok(())
    }

    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        self.0.scalar(&value);
        Ok(())
    }

    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        // As a Value holds it: a number, or null when it is not finite.
        self.0.scalar(&serde_json::Number::from_f64(value));
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        self.0.scalar(value);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let writer = self.0;
        writer.depth += 1;
        writer.out.push(b'[');
        let mut first = true;
        loop {
            let before = writer.out.len();
            if !first {
                writer.out.push(b',');
            }
            if seq.next_element_seed(Compacting(writer))?.is_none() {
                writer.out.truncate(before);
                break;
            }
            first = false;
        }
        writer.out.push(b']');
        writer.depth -= 1;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let writer = self.0;
        writer.depth += 1;
        // The item's own map, or its spec: a map right inside it.
        let watched = match writer.depth {
            1 => Some(false),
            2 if writer.in_spec => Some(true),
            _ => None,
        };
        writer.out.push(b'{');
        // This map's keys are those pushed from here on.
        let base = writer.keys.len();
        loop {
            let before = writer.out.len();
            if writer.keys.len() > base {
                writer.out.push(b',');
            }
            let start = writer.out.len();
            if map.next_key_seed(Compacting(writer))?.is_none() {
                writer.out.truncate(before);
                break;
            }
            let key = start..writer.out.len();
            let mine = &writer.keys[base..];
            if mine.len() >= CHECKED_KEYS
                || mine
                    .iter()
                    .any(|seen| writer.out[seen.clone()] == writer.out[key.clone()])
            {
                writer.sure = false;
            }
            let written = &writer.out[key.clone()];
            let field = watched.and_then(|in_spec| Field::of(written, in_spec));
            let spec = watched == Some(false) && written == b"\"spec\"";
            writer.keys.push(key);
            writer.out.push(b':');
            let start = writer.out.len();
            writer.in_spec = spec;
            map.next_value_seed(Compacting(writer))?;
            writer.in_spec = false;
            if let Some(field) = field {
                writer.fields[field as usize] = Some(start..writer.out.len());
            }
        }
        writer.keys.truncate(base);
        writer.out.push(b'}');
        writer.depth -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn compact(text: &str) -> CompactItem {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn writes_what_serde_json_writes_of_the_value() {
        for text in [
            "{}",
            "[]",
            "{\"a\": [], \"b\": {}, \"c\": [[], [{}]], \"d\": null}",
            "{\"n\": [0, -0, 1, -1, 18446744073709551615, -9223372036854775808, 1.5e3, -2.5E-3, 0.1, 1e300, 100000000000000000000]}",
            "{\"t\": true, \"f\": false}",
            "{\"s\": \"\\u0041\\n\\t\\\\\\\"\\/\\u00e9\\ud83d\\ude00 é \\u001f\\u007f\"}",
            "{\"\\u006b\": 1, \"z\": 2, \"a\": 3}",
            "  {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\",\n  \"metadata\": {\"name\": \"x\"}}",
            "\"just a string\"",
            "12",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let item = compact(text);
            assert!(item.sure, "{text}");
            assert_eq!(item.text, serde_json::to_string(&value).unwrap(), "{text}");
        }
    }

    #[test]
    fn a_repeated_key_or_a_map_too_large_to_check_is_not_sure() {
        for text in [
            "{\"a\": 1, \"a\": 2}",
            "{\"x\": {\"b\": 1, \"c\": 2, \"b\": 3}}",
            "[{\"a\": 1, \"\\u0061\": 2}]",
        ] {
            assert!(!compact(text).sure, "{text}");
        }
        // The same key in different maps is no repetition.
        assert!(compact("{\"a\": {\"a\": 1}, \"b\": [{\"a\": 1}, {\"a\": 2}]}").sure);
        let large: serde_json::Map<String, Value> = (0..CHECKED_KEYS + 1)
            .map(|i| (format!("k{i}"), Value::from(i)))
            .collect();
        let text = serde_json::to_string(&large).unwrap();
        let item = compact(&text);
        assert!(!item.sure);
        assert_eq!(item.text, text);
        let fits: serde_json::Map<String, Value> = large.into_iter().take(CHECKED_KEYS).collect();
        assert!(compact(&serde_json::to_string(&fits).unwrap()).sure);
    }

    #[test]
    fn keeps_where_the_fields_that_name_an_object_are() {
        let item = compact(
            r#"{"kind": "SyncSet", "data": {"kind": 1, "spec": {"clusterDeploymentRefs": 2}}, "spec": {"x": {"clusterDeploymentRefs": 3}, "clusterDeploymentRefs": [{"name": "c"}], "clusterDeploymentSelector": null}, "metadata": {"name": "n"}, "api\u0056ersion": "v1", "clusterDeploymentSelector": 4}"#,
        );
        let fields: Vec<_> = Field::ALL.into_iter().map(|f| item.field(f)).collect();
        assert_eq!(
            fields,
            [
                Some("\"v1\""),
                Some("\"SyncSet\""),
                Some("{\"name\":\"n\"}"),
                Some("[{\"name\":\"c\"}]"),
                Some("null"),
            ]
        );
        // A spec that is no map has none of its fields.
        let item = compact(r#"{"spec": [{"clusterDeploymentRefs": [1]}], "kind": "K"}"#);
        assert_eq!(item.field(Field::ClusterDeploymentRefs), None);
        assert_eq!(item.field(Field::Kind), Some("\"K\""));
        // Nor has a list, or a scalar.
        let item = compact(r#"[{"kind": "K"}]"#);
        assert!(Field::ALL.into_iter().all(|f| item.field(f).is_none()));
    }

    #[test]
    fn says_what_serde_json_says_of_text_that_is_not_json() {
        for text in [
            "{\"a\": tru}",
            "{\"a\" 1}",
            "[1,]",
            "{\"a\": 1",
            "{\"a\": \"\\q\"}",
        ] {
            let theirs = serde_json::from_str::<Value>(text).unwrap_err().to_string();
            let ours = serde_json::from_str::<CompactItem>(text)
                .err()
                .unwrap()
                .to_string();
            assert_eq!(ours, theirs, "{text}");
        }
    }
}
