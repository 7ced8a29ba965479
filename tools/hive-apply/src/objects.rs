//! The objects to apply, from a `kind: List`, a single object, or a
//! multi-document YAML stream (what kubectl accepts), each checked for the
//! fields the API needs to place it, and the fleet inventory a List may carry.
//!
//! An object is kept as the compact JSON it is sent as, with the few facts
//! the later steps ask of it (its name and place, its set label, what
//! `--label-cluster` and `--wait` look for) read out once: a fleet of
//! 100,000 objects then costs about its own text, not the tenfold a parsed
//! tree of each would. [`crate::read`] hands the documents in as they arrive.

use std::collections::BTreeMap;

use common::cli::error::Location;
use common::model::inventory::{Inventory, LIST_ANNOTATION};
use common::{Error, Result};
use serde_json::Value;

use crate::applyset::PART_OF;

/// Where the input holds an object, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The item of a List (0-based): `items[3]`.
    Item(usize),
    /// A document of the stream (1-based): `document 2`.
    Document(usize),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Item(i) => write!(f, "items[{i}]"),
            Position::Document(n) => write!(f, "document {n}"),
        }
    }
}

/// How the input writes `metadata.namespace`: placing the object (its
/// context's namespace, or none for a cluster-scoped kind) changes what is
/// sent only when it is not written that way already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WrittenNamespace {
    Absent,
    /// The non-empty string in [`Manifest::namespace`].
    AsNamespace,
    /// Present, but empty or not a string.
    Other,
}

/// One object and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    written_namespace: WrittenNamespace,
    /// Its `applyset.kubernetes.io/part-of` label, if it has one.
    pub part_of: Option<String>,
    /// A SelectorSyncSet's first `matchLabels` entry, when its value is a
    /// string: the label `--label-cluster` sets.
    pub selector: Option<(String, String)>,
    /// A SyncSet with clusters in `spec.clusterDeploymentRefs`: something
    /// `--wait` can wait for.
    pub syncs_clusters: bool,
    /// The object as read, compact JSON (what `serde_json` writes of it).
    body: Box<str>,
    /// Where the input holds it (`items[3]`, `document 2`), for messages.
    pub at: Position,
}

/// What the input holds: the objects, and the inventory of the fleet stream
/// they were rendered from (syncset-render's List annotation), if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub manifests: Vec<Manifest>,
    pub inventory: Option<Inventory>,
    /// Why the inventory does not prove that the List is whole, if it does
    /// not: in block YAML it comes before the items, so a List cut at a
    /// line boundary would still parse and still carry it.
    pub unproven: Option<String>,
}

impl Manifest {
    /// The object's facts and its compact text; the object itself back
    /// when it lacks what every object needs ([`manifest_error`] says what).
    pub fn from_value(object: Value, at: Position) -> std::result::Result<Manifest, Value> {
        match Manifest::read(&object, at) {
            Some(manifest) => Ok(manifest.with_body(compact(&object))),
            None => Err(object),
        }
    }

    /// [`Manifest::from_value`] of the value whose compact text `item` is,
    /// with its facts read from the few fields that hold them
    /// ([`skeleton`]), not from a tree of the whole object.
    pub fn from_compact(
        item: crate::read::CompactItem,
        at: Position,
    ) -> std::result::Result<Manifest, Value> {
        if item.sure && item.text.starts_with('{') {
            if let Some(manifest) = Manifest::read(&skeleton(&item), at) {
                return Ok(manifest.with_body(item.text));
            }
        }
        // Settled as a Value (a key given twice), or refused with its words.
        let object = serde_json::from_str(&item.text).unwrap_or_default();
        Manifest::from_value(object, at)
    }

    /// The facts of `object` (its body still to be given); `None` when it
    /// lacks what every object needs.
    fn read(object: &Value, at: Position) -> Option<Manifest> {
        let head = Head::of(object)?;
        let metadata = &object["metadata"];
        let namespace = metadata["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let written_namespace = match metadata.get("namespace") {
            None => WrittenNamespace::Absent,
            Some(_) if namespace.is_some() => WrittenNamespace::AsNamespace,
            Some(_) => WrittenNamespace::Other,
        };
        let selector = (head.kind == "SelectorSyncSet")
            .then(|| first_match_label(object))
            .flatten();
        let syncs_clusters = head.kind == "SyncSet"
            && object["spec"]["clusterDeploymentRefs"]
                .as_array()
                .is_some_and(|refs| !refs.is_empty());
        Some(Manifest {
            api_version: head.api_version.to_string(),
            kind: head.kind.to_string(),
            name: head.name.to_string(),
            namespace,
            written_namespace,
            part_of: metadata["labels"][PART_OF].as_str().map(str::to_string),
            selector,
            syncs_clusters,
            body: Box::default(),
            at,
        })
    }

    /// The manifest with `body`, the object's compact text.
    fn with_body(mut self, body: String) -> Manifest {
        self.body = body.into_boxed_str();
        self
    }

    /// The object as read.
    pub fn object(&self) -> Value {
        // Our own compact JSON of a parsed value reads back as that value.
        serde_json::from_str(&self.body).unwrap_or_default()
    }

    /// The object as read, compact JSON.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Whether placing the object in `namespace` (none: cluster-scoped)
    /// changes its `metadata.namespace`.
    pub fn moves_to(&self, namespace: Option<&str>) -> bool {
        match (namespace, self.written_namespace) {
            (Some(ns), WrittenNamespace::AsNamespace) => self.namespace.as_deref() != Some(ns),
            (Some(_), _) => true,
            (None, written) => written != WrittenNamespace::Absent,
        }
    }

    /// `SyncSet cd-ns/addon-x`, for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// The API group of the object (`""` for the core group).
    pub fn group(&self) -> &str {
        common::model::k8s::split_api_version(&self.api_version).0
    }

    /// `kind.group/name` (kubectl's way of naming an object), with `-n NS`
    /// when the input gives a namespace: a line of `--dry-run=client --summary`.
    pub fn kubectl_name(&self) -> String {
        let mut line = match self.group() {
            "" => format!("{}/{}", self.kind.to_lowercase(), self.name),
            group => format!("{}.{group}/{}", self.kind.to_lowercase(), self.name),
        };
        if let Some(ns) = &self.namespace {
            line.push_str(&format!(" -n {ns}"));
        }
        line
    }
}

/// The object of `item` (an object) with only the fields that
/// [`Manifest::read`] looks at, parsed from where they were written: what a
/// SyncSet holds in `resources` is not parsed again. A spec that is no map
/// has none of its fields, as `object["spec"][".."]` finds none in it.
fn skeleton(item: &crate::read::CompactItem) -> Value {
    use crate::read::Field;
    let mut object = serde_json::Map::new();
    let mut spec = serde_json::Map::new();
    for field in Field::ALL {
        let Some(text) = item.field(field) else {
            continue;
        };
        let value = serde_json::from_str(text).unwrap_or_default();
        let map = if field.in_spec() {
            &mut spec
        } else {
            &mut object
        };
        map.insert(field.name().to_string(), value);
    }
    object.insert("spec".to_string(), Value::Object(spec));
    Value::Object(object)
}

/// The fields every object needs to be placed.
struct Head<'a> {
    api_version: &'a str,
    kind: &'a str,
    name: &'a str,
}

impl<'a> Head<'a> {
    fn of(object: &'a Value) -> Option<Head<'a>> {
        let field = |value: &'a Value| value.as_str().filter(|v| !v.is_empty());
        object.is_object().then_some(())?;
        Some(Head {
            api_version: field(&object["apiVersion"])?,
            kind: field(&object["kind"])?,
            name: field(&object["metadata"]["name"])?,
        })
    }
}

/// What an object that [`Manifest::from_value`] gave back lacks: the first
/// of apiVersion, kind and metadata.name it is missing, or not an object.
pub fn manifest_error(input: &Location, at: Position, object: &Value) -> Error {
    if !object.is_object() {
        return Error::input(input.clone().field(at.to_string()), "is not an object");
    }
    let missing = [
        ("apiVersion", &object["apiVersion"]),
        ("kind", &object["kind"]),
        ("metadata.name", &object["metadata"]["name"]),
    ]
    .into_iter()
    .find(|(_, value)| value.as_str().is_none_or(str::is_empty))
    .map_or("metadata.name", |(name, _)| name);
    Error::input(
        input.clone().field(format!("{at}.{missing}")),
        "is missing; every object needs apiVersion, kind and metadata.name",
    )
}

/// The first `spec.clusterDeploymentSelector.matchLabels` entry, when its
/// value is a string.
fn first_match_label(object: &Value) -> Option<(String, String)> {
    let labels = object["spec"]["clusterDeploymentSelector"]["matchLabels"].as_object()?;
    let (key, value) = labels.iter().next()?;
    Some((key.clone(), value.as_str()?.to_string()))
}

/// Compact JSON of a value (a `Value` always serialises).
pub fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Whether a document is a List of objects (`kind: List`, `ConfigMapList`,
/// ... with `items`).
pub fn is_list(document: &Value) -> bool {
    document["kind"]
        .as_str()
        .is_some_and(|k| k == "List" || k.ends_with("List"))
        && document.get("items").is_some()
}

/// Builds the [`Input`] from the documents as they are read, in order.
///
/// The first error (a List without its items, a bad inventory, an object
/// without a name) is kept and the documents after it are only read: a
/// document that does not parse further on is the error a reader sees
/// first, as when the input was parsed whole before it was looked at.
#[derive(Debug)]
pub struct Collector {
    input: Location,
    /// A JSON (flow) document cannot be cut and still parse; block YAML can.
    self_delimiting: bool,
    manifests: Vec<Manifest>,
    inventory: Option<Inventory>,
    unproven: Option<String>,
    error: Option<Error>,
}

/// One item of a List: its object, or the value that is not one.
pub type Item = std::result::Result<Manifest, Value>;

impl Collector {
    /// `self_delimiting`: the text opens with `{` (JSON, or flow YAML).
    pub fn new(input: Location, self_delimiting: bool) -> Collector {
        Collector {
            input,
            self_delimiting,
            manifests: Vec::new(),
            inventory: None,
            unproven: None,
            error: None,
        }
    }

    /// Where the input came from.
    pub fn location(&self) -> &Location {
        &self.input
    }

    /// Whether a document already failed: what follows is only read.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// One document of the stream (1-based `index`), parsed.
    pub fn document(&mut self, index: usize, mut value: Value) {
        if self.failed() || value.is_null() {
            return;
        }
        if !is_list(&value) {
            return self.object(value, Position::Document(index));
        }
        let Value::Array(items) = std::mem::take(&mut value["items"]) else {
            self.fail(Error::input(
                self.input.clone().field(format!("document {index}: items")),
                "is not a list of objects",
            ));
            return;
        };
        let items = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Manifest::from_value(item, Position::Item(i)));
        self.list(index, &value, items);
    }

    /// A List (1-based document `index`) whose items were read one by one;
    /// `list` is the List without them (its `items` a placeholder, in its place).
    pub fn list(&mut self, index: usize, list: &Value, items: impl IntoIterator<Item = Item>) {
        if self.failed() {
            return;
        }
        let document = format!("document {index}");
        if let Err(err) = self.list_inventory(&document, list) {
            return self.fail(err);
        }
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Ok(manifest) => self.manifests.push(manifest),
                Err(value) => {
                    return self.fail(manifest_error(&self.input, Position::Item(i), &value))
                }
            }
        }
    }

    fn object(&mut self, value: Value, at: Position) {
        match Manifest::from_value(value, at) {
            Ok(manifest) => self.manifests.push(manifest),
            Err(value) => self.fail(manifest_error(&self.input, at, &value)),
        }
    }

    fn fail(&mut self, err: Error) {
        self.manifests = Vec::new();
        self.error.get_or_insert(err);
    }

    fn list_inventory(&mut self, document: &str, list: &Value) -> Result<()> {
        let Some(found) = list_inventory(&self.input, document, list)? else {
            return Ok(());
        };
        if self.inventory.is_some() {
            return Err(Error::input(
                self.input.clone().field(format!(
                    "{document}: metadata.annotations[{LIST_ANNOTATION}]"
                )),
                "is a second inventory; a fleet render is one List with one inventory",
            ));
        }
        self.inventory = Some(found);
        if !self.self_delimiting && !metadata_follows_items(list) {
            self.unproven = Some(format!(
                "the List's inventory ({document}: metadata) comes before its items, so a \
                 YAML List cut short would still carry it; write the List as JSON (syncset-render \
                 -o json, its default into a pipe) or with its metadata after its items"
            ));
        }
        Ok(())
    }

    /// The objects read, or the first error.
    pub fn finish(self) -> Result<Input> {
        if let Some(err) = self.error {
            return Err(err);
        }
        if self.manifests.is_empty() {
            return Err(Error::input(
                self.input,
                "holds no objects; expected a List, an object or a YAML stream of objects",
            ));
        }
        Ok(Input {
            manifests: self.manifests,
            inventory: self.inventory,
            unproven: self.unproven,
        })
    }
}

/// Whether a List's `metadata` comes after its `items`, as written.
fn metadata_follows_items(list: &Value) -> bool {
    let Some(fields) = list.as_object() else {
        return false;
    };
    let position = |key: &str| fields.keys().position(|k| k == key);
    matches!((position("items"), position("metadata")), (Some(items), Some(metadata)) if metadata > items)
}

/// The inventory in a List's annotation ([`LIST_ANNOTATION`], JSON text),
/// checked as strictly as the inventory document itself.
fn list_inventory(input: &Location, document: &str, list: &Value) -> Result<Option<Inventory>> {
    let annotation = &list["metadata"]["annotations"][LIST_ANNOTATION];
    if annotation.is_null() {
        return Ok(None);
    }
    let at = || {
        input.clone().field(format!(
            "{document}: metadata.annotations[{LIST_ANNOTATION}]"
        ))
    };
    let text = annotation.as_str().ok_or_else(|| {
        Error::input(
            at(),
            "is not a string (expected the inventory as JSON text)",
        )
    })?;
    let inventory: Inventory = serde_json::from_str(text).map_err(|err| {
        Error::input(
            at(),
            format!(
                "is not an AddonInventory ({err}); it is written by syncset-render, do not edit it"
            ),
        )
    })?;
    if inventory.api_version != common::model::inventory::API_VERSION
        || inventory.kind != common::model::inventory::KIND
    {
        return Err(Error::input(
            at(),
            format!(
                "has apiVersion {:?} and kind {:?}; expected {} {}",
                inventory.api_version,
                inventory.kind,
                common::model::inventory::API_VERSION,
                common::model::inventory::KIND
            ),
        ));
    }
    Ok(Some(inventory))
}

/// Refuses an input that names one object twice: which copy the server
/// keeps would depend on which request lands last. Each entry is an
/// object's key (what makes two manifests the same object) and its
/// manifest; each clash is named by both places.
pub fn check_duplicates<'a, K: Ord>(
    input: &Location,
    entries: impl IntoIterator<Item = (K, &'a Manifest)>,
) -> Result<()> {
    let mut first: BTreeMap<K, &Manifest> = BTreeMap::new();
    let mut clashes = Vec::new();
    for (key, manifest) in entries {
        match first.get(&key) {
            Some(earlier) => clashes.push(format!(
                "{} and {} are the same object ({})",
                earlier.at,
                manifest.at,
                earlier.describe()
            )),
            None => {
                first.insert(key, manifest);
            }
        }
    }
    if clashes.is_empty() {
        return Ok(());
    }
    Err(Error::input(
        input.clone(),
        format!(
            "names {} object(s) more than once, so which copy the server keeps would be chance: {}; \
             keep one copy of each (nothing was applied)",
            clashes.len(),
            clashes.join("; ")
        ),
    ))
}

/// The key of an object as the input writes it: the same kind (in any
/// version of its group), namespace and name.
pub fn written_key(manifest: &Manifest) -> (&str, &str, Option<&str>, &str) {
    (
        manifest.group(),
        &manifest.kind,
        manifest.namespace.as_deref(),
        &manifest.name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An item as the JSON reader hands it over.
    fn compact_item(text: &str) -> crate::read::CompactItem {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn an_object_read_from_its_compact_text_is_the_object_read_whole() {
        for text in [
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": "v"}}"#,
            r#"{"kind": "Namespace", "metadata": {"name": "n", "labels": {"applyset.kubernetes.io/part-of": "set"}}, "apiVersion": "v1"}"#,
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": null, "labels": "no"}}"#,
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "", "labels": {"applyset.kubernetes.io/part-of": 1}}}"#,
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": 7}}"#,
            r#"{"apiVersion": "hive.openshift.io/v1", "kind": "SyncSet", "metadata": {"name": "s", "namespace": "cd"}, "spec": {"clusterDeploymentRefs": [{"name": "c"}], "resources": [{"kind": "X"}]}}"#,
            r#"{"apiVersion": "hive.openshift.io/v1", "kind": "SyncSet", "metadata": {"name": "s"}, "spec": {"clusterDeploymentRefs": []}}"#,
            r#"{"apiVersion": "hive.openshift.io/v1", "kind": "SyncSet", "metadata": {"name": "s"}, "spec": null}"#,
            r#"{"apiVersion": "hive.openshift.io/v1", "kind": "SyncSet", "metadata": {"name": "s"}, "spec": "text"}"#,
            r#"{"apiVersion": "hive.openshift.io/v1", "kind": "SyncSet", "metadata": {"name": "s"}, "spec": [[{"name": "c"}], {"matchLabels": {"a": "b"}}]}"#,
            r#"{"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet", "metadata": {"name": "s"}, "spec": [[{"name": "c"}], {"matchLabels": {"a": "b"}}]}"#,
            r#"{"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet", "metadata": {"name": "s"}, "spec": {"clusterDeploymentSelector": {"matchLabels": {"api.openshift.com/addon-x": "true", "b": "c"}}}}"#,
            r#"{"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet", "metadata": {"name": "s"}, "spec": {"clusterDeploymentSelector": {"matchLabels": {"k": 1}}}}"#,
            r#"{"apiVersion": "v1", "kind": "C\u006fnfigMap", "metadata": {"name": "\u0061"}}"#,
            // A key given twice: the last value, in the first place.
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "name": "b"}, "data": {"k": 1, "j": 2, "k": 3}}"#,
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "kind": "Secret", "metadata": {"name": "a"}}"#,
            // What every object needs, missing or not a string.
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}"#,
            r#"{"apiVersion": "v1", "kind": "", "metadata": {"name": "a"}}"#,
            r#"{"apiVersion": 1, "kind": "ConfigMap", "metadata": {"name": "a"}}"#,
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": null}"#,
            r#"{}"#,
            r#"[1, 2]"#,
            r#"["v1", "ConfigMap", {"name": "a"}]"#,
            r#""text""#,
        ] {
            let whole =
                Manifest::from_value(serde_json::from_str(text).unwrap(), Position::Item(3));
            let compact = Manifest::from_compact(compact_item(text), Position::Item(3));
            assert_eq!(compact, whole, "{text}");
        }
    }
}
