//! The inventory of a fleet stream: what the environment holds, so that a
//! prune can tell "removed from the tree" from "not in my input".
//!
//! `addon-validate --all` ends its stream of add-on documents with one
//! [`Inventory`] (the last JSON line, or the last YAML document): every add-on
//! id of the environment's tree, valid or not, and whether the stream is the
//! whole environment or a selection (`--changed-since`, `--addon`). Every
//! stage passes it on as the last document of its own output, adding the
//! add-ons it failed to [`Inventory::failed`]; syncset-render carries it into
//! its `kind: List` as the annotation [`LIST_ANNOTATION`]. A prune
//! (`hive-apply --prune=all`, `ocm-post --prune`) runs only on a stream that
//! ends with an inventory of the whole environment ([`Inventory::for_prune`]):
//! a stream cut short has lost its last document, so it cannot pass.
//!
//! A prune deletes only what belongs to an add-on id the inventory does not
//! list. An add-on that failed a stage is still listed, so its live objects
//! are kept.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `apiVersion` of the inventory document.
pub const API_VERSION: &str = "addon-flow.openshift.io/v1";
/// `kind` of the inventory document.
pub const KIND: &str = "AddonInventory";
/// Where syncset-render puts the inventory in its `kind: List`
/// (`metadata.annotations`; kubectl reads a List's items and ignores it).
pub const LIST_ANNOTATION: &str = "addon-flow.openshift.io/inventory";
/// The label each Hive object of a fleet render carries: which add-on it
/// belongs to, so that a prune keeps the objects of an add-on the inventory
/// still lists.
pub const ADDON_LABEL: &str = "addon-flow.openshift.io/addon";
/// `--max-deletions`' default: a prune that would delete more stops and
/// lists what it would delete.
pub const DEFAULT_MAX_DELETIONS: usize = 5;

/// What an environment's tree holds, as the source of a fleet stream saw it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inventory {
    pub api_version: String,
    pub kind: String,
    /// `integration`, `stage` or `production`.
    pub environment: String,
    /// The whole environment, or a selection of it.
    pub scope: Scope,
    /// How the selection was made (`--changed-since origin/main`), for
    /// messages; absent for the whole environment.
    pub selection: Option<String>,
    /// Every add-on id of the environment's tree, valid or not.
    pub addons: AddonIds,
    /// The documents a stage dropped from the stream, in the order they failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Failure>,
}

/// Every add-on id of a tree, sorted, each once, kept in one text: every
/// stage holds the ids of the whole fleet, and 5,000 of them cost about
/// their own bytes and 4 more each this way, where a `BTreeSet<String>`
/// costs some 55 more each (issue 24: memory that does not grow with the
/// fleet). Written and read as a JSON list of strings; a list read in
/// another order, or with an id twice, is put in order, as a set would be.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AddonIds {
    /// The ids one after another.
    text: String,
    /// Where each id ends in `text`.
    ends: Vec<u32>,
}

impl AddonIds {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The ids, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.position(id).is_ok()
    }

    /// Takes `id` out; whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        let Ok(i) = self.position(id) else {
            return false;
        };
        *self = self.iter().take(i).chain(self.iter().skip(i + 1)).collect();
        true
    }

    fn get(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        &self.text[start..self.ends[i] as usize]
    }

    fn position(&self, id: &str) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = (low + high) / 2;
            match self.get(middle).cmp(id) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(middle),
            }
        }
        Err(low)
    }

    /// Room for `count` ids of `bytes` bytes in all.
    pub fn with_capacity(bytes: usize, count: usize) -> AddonIds {
        AddonIds {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    /// Adds `id` after the others, when it sorts after the last; `false`
    /// (nothing added) when it does not.
    pub fn push_in_order(&mut self, id: &str) -> bool {
        let last = self.len().checked_sub(1).map(|i| self.get(i));
        if last.is_some_and(|last| last >= id) {
            return false;
        }
        self.text.push_str(id);
        // An inventory's text is far below 4 GiB (its stream is read whole
        // under 1 GiB).
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        true
    }

    fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

impl<S: AsRef<str>> FromIterator<S> for AddonIds {
    fn from_iter<T: IntoIterator<Item = S>>(ids: T) -> Self {
        let mut ids: Vec<S> = ids.into_iter().collect();
        ids.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        ids.dedup_by(|a, b| a.as_ref() == b.as_ref());
        let mut set = AddonIds {
            text: String::with_capacity(ids.iter().map(|id| id.as_ref().len()).sum()),
            ends: Vec::with_capacity(ids.len()),
        };
        for id in &ids {
            set.push_in_order(id.as_ref());
        }
        set
    }
}

impl From<BTreeSet<String>> for AddonIds {
    fn from(ids: BTreeSet<String>) -> Self {
        ids.iter().collect()
    }
}

impl std::fmt::Debug for AddonIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for AddonIds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for AddonIds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ids;
        impl<'de> serde::de::Visitor<'de> for Ids {
            type Value = AddonIds;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of add-on ids")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<AddonIds, A::Error> {
                let mut ids = AddonIds::default();
                let mut unordered = Vec::new();
                while let Some(id) = seq.next_element::<String>()? {
                    // The ids come in order from every stage of ours: each
                    // goes straight in. Any other order is sorted at the end.
                    if unordered.is_empty() && ids.push_in_order(&id) {
                        continue;
                    }
                    unordered.push(id);
                }
                if !unordered.is_empty() {
                    ids = ids.iter().map(str::to_string).chain(unordered).collect();
                }
                ids.shrink_to_fit();
                Ok(ids)
            }
        }
        deserializer.deserialize_seq(Ids)
    }
}

/// Whether a stream is the whole environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Whole,
    Selection,
}

/// One document a stage dropped.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Failure {
    /// The add-on's id, when the document had a readable one.
    pub id: Option<String>,
    /// The tool that dropped it.
    pub stage: String,
}

/// Why a prune may not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No inventory ended the input.
    Missing,
    /// The inventory describes a selection.
    Selection(Option<String>),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Missing => f.write_str(
                "the input does not end with an add-on inventory, so it is not proven to be the \
                 whole environment (it is not from `addon-validate --all`, or it was cut short)",
            ),
            Refusal::Selection(how) => write!(
                f,
                "the input is a selection of the environment{}, not the whole of it",
                how.as_deref()
                    .map(|how| format!(" ({how})"))
                    .unwrap_or_default()
            ),
        }
    }
}

impl Inventory {
    /// An inventory of `environment` listing `addons`.
    pub fn new(
        environment: &str,
        scope: Scope,
        selection: Option<String>,
        addons: AddonIds,
    ) -> Inventory {
        Inventory {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            environment: environment.to_string(),
            scope,
            selection,
            addons,
            failed: Vec::new(),
        }
    }

    /// Whether a document of a stream is an inventory (by its `apiVersion`
    /// and `kind`), before it is read as one.
    pub fn is_inventory(document: &Value) -> bool {
        document.get("kind").and_then(Value::as_str) == Some(KIND)
            && document.get("apiVersion").and_then(Value::as_str) == Some(API_VERSION)
    }

    /// [`Inventory::is_inventory`] of a JSON text, read for its `kind` and
    /// `apiVersion` only (the rest skipped, nothing of it kept: a whole
    /// inventory lists thousands of ids). `None` when the text is not one
    /// JSON object with each key once (YAML, say): ask of its value then.
    pub fn is_inventory_json(text: &str) -> Option<bool> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head<'a> {
            #[serde(borrow)]
            kind: Option<std::borrow::Cow<'a, str>>,
            #[serde(borrow)]
            api_version: Option<std::borrow::Cow<'a, str>>,
        }
        let head: Head = serde_json::from_str(text).ok()?;
        Some(head.kind.as_deref() == Some(KIND) && head.api_version.as_deref() == Some(API_VERSION))
    }

    /// Records that `stage` dropped a document (its id when known).
    pub fn record_failure(&mut self, id: Option<&str>, stage: &str) {
        self.failed.push(Failure {
            id: id.map(str::to_string),
            stage: stage.to_string(),
        });
    }

    /// Whether the tree still holds `id`: its live objects must be kept.
    pub fn holds(&self, id: &str) -> bool {
        self.addons.contains(id)
    }

    /// The inventory a prune may act on, or why it may not.
    pub fn for_prune(inventory: Option<&Inventory>) -> Result<&Inventory, Refusal> {
        match inventory {
            None => Err(Refusal::Missing),
            Some(inventory) if inventory.scope == Scope::Selection => {
                Err(Refusal::Selection(inventory.selection.clone()))
            }
            Some(inventory) => Ok(inventory),
        }
    }
}

/// Whether `count` deletions stay within `--max-deletions`; the message
/// says what to do when they do not.
pub fn check_deletions(count: usize, max: usize) -> Result<(), String> {
    if count <= max {
        return Ok(());
    }
    Err(format!(
        "the prune would delete {count} objects, more than --max-deletions {max}; nothing was \
         deleted. Check the list above, then run again with --max-deletions {count} if it is right"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(list: &[&str]) -> AddonIds {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn addon_ids_are_a_sorted_set_written_as_a_list() {
        let mut set: AddonIds = ["b", "a", "c", "a"].into_iter().collect();
        assert_eq!(set.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(set.len(), 3);
        assert!(set.contains("b") && !set.contains("ab") && !set.contains(""));
        assert!(set.remove("b") && !set.remove("b"));
        assert_eq!(set, ids(&["c", "a"]));
        assert_eq!(format!("{set:?}"), r#"{"a", "c"}"#);
        assert!(AddonIds::default().is_empty() && !AddonIds::default().contains("a"));
        // Read as a set reads: in any order, an id twice, escapes.
        for text in [r#"["a","c"]"#, r#"["c","a","c"]"#, r#"["\u0061","c"]"#] {
            let read: AddonIds = serde_json::from_str(text).unwrap();
            assert_eq!(read, set, "{text}");
            assert_eq!(serde_json::to_string(&read).unwrap(), r#"["a","c"]"#);
        }
        let from_a_reader: AddonIds = serde_json::from_reader(&b"[\"z\",\"y\"]"[..]).unwrap();
        assert_eq!(from_a_reader.iter().collect::<Vec<_>>(), ["y", "z"]);
        assert!(serde_json::from_str::<AddonIds>(r#"[1]"#).is_err());
    }

    #[test]
    fn an_inventory_round_trips_as_one_json_line() {
        let mut inventory = Inventory::new("stage", Scope::Whole, None, ids(&["a", "b"]));
        inventory.record_failure(Some("b"), "catalog-build");
        let line = serde_json::to_string(&inventory).unwrap();
        assert_eq!(
            line,
            r#"{"apiVersion":"addon-flow.openshift.io/v1","kind":"AddonInventory","environment":"stage","scope":"whole","addons":["a","b"],"failed":[{"id":"b","stage":"catalog-build"}]}"#
        );
        let value: Value = serde_json::from_str(&line).unwrap();
        assert!(Inventory::is_inventory(&value));
        assert_eq!(
            serde_json::from_value::<Inventory>(value).unwrap(),
            inventory
        );
    }

    #[test]
    fn an_add_on_document_is_not_an_inventory() {
        assert!(!Inventory::is_inventory(&json!({"id": "a", "kind": "x"})));
        assert!(!Inventory::is_inventory(
            &json!({"kind": KIND, "apiVersion": "v2"})
        ));
    }

    #[test]
    fn a_json_inventory_is_told_from_its_text_as_from_its_value() {
        let line = serde_json::to_string(&Inventory::new("stage", Scope::Whole, None, ids(&["a"])))
            .unwrap();
        for (text, expected) in [
            (line.as_str(), Some(true)),
            (
                r#"{"id": "a", "kind": "x", "description": "AddonInventory"}"#,
                Some(false),
            ),
            (
                r#"{"kind": "AddonInventory", "apiVersion": "v2"}"#,
                Some(false),
            ),
            // Not one JSON object with each key once: the value decides.
            (r#"{"kind": "x", "kind": "AddonInventory"}"#, None),
            (r#"{"kind": 1}"#, None),
            ("kind: AddonInventory", None),
        ] {
            assert_eq!(Inventory::is_inventory_json(text), expected, "{text}");
            if let (Some(expected), Ok(value)) = (expected, serde_json::from_str::<Value>(text)) {
                assert_eq!(Inventory::is_inventory(&value), expected, "{text}");
            }
        }
    }

    #[test]
    fn only_a_whole_environment_may_be_pruned() {
        assert_eq!(Inventory::for_prune(None), Err(Refusal::Missing));
        let selection = Inventory::new(
            "stage",
            Scope::Selection,
            Some("--changed-since origin/main".into()),
            ids(&["a"]),
        );
        let refusal = Inventory::for_prune(Some(&selection)).unwrap_err();
        assert!(refusal
            .to_string()
            .contains("a selection of the environment (--changed-since origin/main)"));
        let whole = Inventory::new("stage", Scope::Whole, None, ids(&["a"]));
        assert!(Inventory::for_prune(Some(&whole)).is_ok());
        assert!(whole.holds("a") && !whole.holds("b"));
    }

    #[test]
    fn deletions_above_the_cap_are_refused_with_the_number_to_allow_them() {
        assert!(check_deletions(5, 5).is_ok());
        let message = check_deletions(6, 5).unwrap_err();
        assert!(message.contains("would delete 6 objects, more than --max-deletions 5"));
        assert!(message.contains("--max-deletions 6"));
    }
}
