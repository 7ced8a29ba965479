//! What hive-apply keeps of an object the server returned (or found live):
//! the few fields the later steps read, and the object itself only when
//! the output prints objects. An answer is read straight into these fields,
//! skipping the rest (`managedFields`, `status`, the resources of a
//! SyncSet) without building it; thousands of whole answers kept for a
//! `--summary` were most of a run's memory and allocations.

use std::fmt;

use common::model::inventory::ADDON_LABEL;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// An object as returned, in brief.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// `metadata.generation`, when it is an integer (what `--wait` waits for).
    pub generation: Option<i64>,
    /// Its add-on ([`ADDON_LABEL`]): which add-ons the input still holds.
    pub addon: Option<String>,
    /// The names in `spec.clusterDeploymentRefs` (a SyncSet's clusters).
    pub cluster_refs: Vec<String>,
    /// The whole object, JSON text, when the output prints objects.
    pub json: Option<Box<[u8]>>,
}

impl Answer {
    /// The fields of a parsed object, read as [`Answer`]'s deserializer reads them.
    pub fn of(object: &Value) -> Answer {
        let metadata = &object["metadata"];
        Answer {
            generation: metadata["generation"].as_i64(),
            addon: metadata["labels"][ADDON_LABEL].as_str().map(str::to_string),
            cluster_refs: cluster_refs(&object["spec"]["clusterDeploymentRefs"]),
            json: None,
        }
    }

    /// With the whole object kept, as JSON text.
    pub fn keeping(mut self, json: impl Into<Box<[u8]>>) -> Answer {
        self.json = Some(json.into());
        self
    }

    /// The whole object, parsed again (for the output).
    pub fn object(&self) -> Option<Value> {
        let json = self.json.as_deref()?;
        // Text that parsed once (a server's answer, our own output) parses again.
        Some(serde_json::from_slice(json).unwrap_or_default())
    }
}

fn cluster_refs(refs: &Value) -> Vec<String> {
    refs.as_array()
        .into_iter()
        .flatten()
        .filter_map(|cd| cd["name"].as_str().map(str::to_string))
        .collect()
}

/// Reads any JSON value: a mapping's `metadata` and `spec` in brief, all
/// else skipped. What is not a mapping where one is looked for counts as
/// absent, as indexing a `Value` would.
impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Answer, D::Error> {
        let [metadata, spec] = deserializer.deserialize_any(Fields::<2> {
            names: ["metadata", "spec"],
            inner: &[&["generation", "labels"], &["clusterDeploymentRefs"]],
        })?;
        let [generation, labels] = metadata.unwrap_or_default();
        let [refs, _] = spec.unwrap_or_default();
        let wrapped = |value: Option<Value>| value.unwrap_or(Value::Null);
        Ok(Answer {
            generation: wrapped(generation).as_i64(),
            addon: wrapped(labels)[ADDON_LABEL].as_str().map(str::to_string),
            cluster_refs: cluster_refs(&wrapped(refs)),
            json: None,
        })
    }
}

/// Picks `names` out of a mapping, each read with the pick of its `inner`
/// names (or, at the innermost level, whole as a `Value`); a repeated name
/// keeps its last value, as a parsed mapping does.
struct Fields<'a, const N: usize> {
    names: [&'a str; N],
    /// For each name, the names to pick inside it (all of the same count).
    inner: &'a [&'a [&'a str]],
}

/// The picked values inside one name: `Some` when it was a mapping.
type Picked = Option<[Option<Value>; 2]>;

impl<'de, const N: usize> Visitor<'de> for Fields<'_, N> {
    type Value = [Picked; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: [Picked; N] = std::array::from_fn(|_| None);
        while let Some(index) = map.next_key_seed(KeyIndex(&self.names))? {
            match index {
                Some(i) => found[i] = map.next_value_seed(Leaves(self.inner[i]))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }
}

/// The innermost pick: up to two names read whole, `None` when the value
/// is not a mapping.
struct Leaves<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for Leaves<'_> {
    type Value = Picked;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Picked, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Leaves<'_> {
    type Value = Picked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Picked, A::Error> {
        let mut found: [Option<Value>; 2] = [None, None];
        while let Some(index) = map.next_key_seed(KeyIndex(self.0))? {
            match index {
                Some(i) => found[i] = Some(map.next_value::<Value>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(found))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Picked, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Picked, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Picked, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Picked, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Picked, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Picked, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Picked, E> {
        Ok(None)
    }
}

/// A mapping key: the index of the name it is among `names`, without
/// allocating it.
struct KeyIndex<'a, 'b>(&'a [&'b str]);

impl<'de> DeserializeSeed<'de> for KeyIndex<'_, '_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIndex<'_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| *name == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: &Value) -> Answer {
        serde_json::from_slice(&serde_json::to_vec(value).unwrap()).unwrap()
    }

    #[test]
    fn reads_what_the_steps_need_and_skips_the_rest() {
        let object = json!({
            "apiVersion": "hive.openshift.io/v1", "kind": "SyncSet",
            "metadata": {"name": "a", "generation": 3,
                "labels": {ADDON_LABEL: "x", "other": "y"},
                "managedFields": [{"manager": "addon-flow", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"clusterDeploymentRefs": [{"name": "c1"}, {"name": 7}, {"name": "c2"}],
                "resources": [{"kind": "Namespace"}]},
            "status": {"x": [1, 2.5, null, true]}
        });
        let answer = read(&object);
        assert_eq!(answer.generation, Some(3));
        assert_eq!(answer.addon.as_deref(), Some("x"));
        assert_eq!(answer.cluster_refs, ["c1", "c2"]);
        assert_eq!(answer, Answer::of(&object));
    }

    /// Whatever a server sends, the fields read as indexing the parsed
    /// object reads them: absent where the shape is not an object's.
    #[test]
    fn reads_any_json_as_indexing_a_value_does() {
        for object in [
            json!(null),
            json!([1, {"metadata": {"generation": 1}}]),
            json!("text"),
            json!({"metadata": "x", "spec": [1]}),
            json!({"metadata": {"generation": "3", "labels": [ADDON_LABEL]}}),
            json!({"metadata": {"generation": 2.0, "labels": {ADDON_LABEL: 5}}}),
            json!({"metadata": {"generation": 18446744073709551615u64}}),
            json!({"spec": {"clusterDeploymentRefs": {"name": "c"}}}),
        ] {
            assert_eq!(read(&object), Answer::of(&object), "{object}");
        }
        // A repeated key keeps its last value, as a parsed object does.
        let text = br#"{"metadata": {"generation": 1}, "metadata": {"labels": {"addon-flow.openshift.io/addon": "b"}}}"#;
        let answer: Answer = serde_json::from_slice(text).unwrap();
        let value: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(answer, Answer::of(&value));
        assert_eq!(answer.generation, None);
        assert!(serde_json::from_slice::<Answer>(b"{\"metadata\": ").is_err());
    }
}
