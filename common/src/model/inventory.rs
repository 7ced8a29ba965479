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
    pub addons: BTreeSet<String>,
    /// The documents a stage dropped from the stream, in the order they failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Failure>,
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
        addons: BTreeSet<String>,
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

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
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
