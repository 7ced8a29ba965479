//! The objects to apply, from a `kind: List`, a single object, or a
//! multi-document YAML stream (what kubectl accepts), each checked for the
//! fields the API needs to place it, and the fleet inventory a List may carry.

use std::collections::BTreeMap;
use std::path::Path;

use common::inventory::{Inventory, LIST_ANNOTATION};
use common::io::Source;
use common::{Error, Result};
use serde_json::Value;

/// One object and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub object: Value,
    /// Where the input holds it (`items[3]`, `document 2`), for messages.
    pub at: String,
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

/// The largest object list read: SyncSets for many thousands of clusters
/// are far above the 16 MiB a single add-on document may have.
pub const MAX_INPUT_BYTES: usize = 1 << 30;

/// Reads the objects' text from a file, or stdin for `None` or `-`.
pub fn read_input(path: Option<&Path>) -> Result<Source> {
    Source::read_limited(path, MAX_INPUT_BYTES)
}

impl Manifest {
    /// `SyncSet cd-ns/addon-x`, for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// The API group of the object (`""` for the core group).
    pub fn group(&self) -> &str {
        common::k8s::split_api_version(&self.api_version).0
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

    /// The value of label `key`, if the object has it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.object["metadata"]["labels"][key].as_str()
    }
}

/// Reads every object of the input, in order, and the inventory a List carries.
pub fn read(source: &Source) -> Result<Input> {
    let documents = source.parse_stream()?;
    let mut manifests = Vec::new();
    let mut inventory = None;
    let mut unproven = None;
    // A JSON (flow) document cannot be cut and still parse; block YAML can.
    let self_delimiting = matches!(source.text.trim_start().as_bytes().first(), Some(b'{'));
    for (doc_index, parsed) in documents.into_iter().enumerate() {
        let value = parsed.value;
        if value.is_null() {
            continue;
        }
        let document = format!("document {}", doc_index + 1);
        let is_list = value["kind"]
            .as_str()
            .is_some_and(|k| k == "List" || k.ends_with("List"))
            && value.get("items").is_some();
        if is_list {
            let Value::Array(items) = &value["items"] else {
                return Err(Error::input(
                    source.location().field(format!("{document}: items")),
                    "is not a list of objects",
                ));
            };
            if let Some(found) = list_inventory(source, &document, &value)? {
                if inventory.is_some() {
                    return Err(Error::input(
                        source.location().field(format!(
                            "{document}: metadata.annotations[{LIST_ANNOTATION}]"
                        )),
                        "is a second inventory; a fleet render is one List with one inventory",
                    ));
                }
                inventory = Some(found);
                if !self_delimiting && !metadata_follows_items(&value) {
                    unproven = Some(format!(
                        "the List's inventory ({document}: metadata) comes before its items, so a \
                         YAML List cut short would still carry it; write the List as JSON (syncset-render \
                         -o json, its default into a pipe) or with its metadata after its items"
                    ));
                }
            }
            for (i, item) in items.iter().enumerate() {
                manifests.push(manifest(source, &format!("items[{i}]"), item.clone())?);
            }
        } else {
            manifests.push(manifest(source, &document, value)?);
        }
    }
    if manifests.is_empty() {
        return Err(Error::input(
            source.location(),
            "holds no objects; expected a List, an object or a YAML stream of objects",
        ));
    }
    Ok(Input {
        manifests,
        inventory,
        unproven,
    })
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
fn list_inventory(source: &Source, document: &str, list: &Value) -> Result<Option<Inventory>> {
    let annotation = &list["metadata"]["annotations"][LIST_ANNOTATION];
    if annotation.is_null() {
        return Ok(None);
    }
    let at = || {
        source.location().field(format!(
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
    if inventory.api_version != common::inventory::API_VERSION
        || inventory.kind != common::inventory::KIND
    {
        return Err(Error::input(
            at(),
            format!(
                "has apiVersion {:?} and kind {:?}; expected {} {}",
                inventory.api_version,
                inventory.kind,
                common::inventory::API_VERSION,
                common::inventory::KIND
            ),
        ));
    }
    Ok(Some(inventory))
}

fn manifest(source: &Source, at: &str, object: Value) -> Result<Manifest> {
    let field = |name: &str| -> Result<String> {
        let value = match name {
            "metadata.name" => object["metadata"]["name"].as_str(),
            other => object[other].as_str(),
        };
        value
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::input(
                    source.location().field(format!("{at}.{name}")),
                    "is missing; every object needs apiVersion, kind and metadata.name",
                )
            })
    };
    if !object.is_object() {
        return Err(Error::input(
            source.location().field(at),
            "is not an object",
        ));
    }
    Ok(Manifest {
        api_version: field("apiVersion")?,
        kind: field("kind")?,
        name: field("metadata.name")?,
        namespace: object["metadata"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        object,
        at: at.to_string(),
    })
}

/// Refuses an input that names one object twice: which copy the server
/// keeps would depend on which request lands last. Each entry is an
/// object's key (what makes two manifests the same object) and its
/// manifest; each clash is named by both places.
pub fn check_duplicates<'a, K: Ord>(
    source: &Source,
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
        source.location(),
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
pub fn written_key(manifest: &Manifest) -> (String, String, Option<String>, String) {
    (
        manifest.group().to_string(),
        manifest.kind.clone(),
        manifest.namespace.clone(),
        manifest.name.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::io::Origin;

    fn source(text: &str) -> Source {
        Source::from_text(Origin::Stdin, text)
    }

    #[test]
    fn reads_lists_single_objects_and_streams() {
        let list = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}]}";
        let input = read(&source(list)).unwrap();
        assert_eq!(input.manifests[0].name, "a");
        assert_eq!(input.manifests[0].at, "items[0]");
        assert_eq!(input.inventory, None);
        let stream = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n}\n";
        let manifests = read(&source(stream)).unwrap().manifests;
        assert_eq!(manifests.len(), 2);
        assert_eq!(manifests[1].namespace.as_deref(), Some("n"));
        assert_eq!(manifests[1].at, "document 3");
    }

    #[test]
    fn names_the_missing_field() {
        let err = read(&source("apiVersion: v1\nkind: Namespace\nmetadata: {}\n")).unwrap_err();
        assert!(
            err.to_string().contains("document 1.metadata.name"),
            "{err}"
        );
        assert!(read(&source("")).is_err());
    }

    fn list_with_inventory(annotation: Value) -> String {
        serde_json::json!({"apiVersion": "v1", "kind": "List",
            "metadata": {"annotations": {LIST_ANNOTATION: annotation}},
            "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}]})
        .to_string()
    }

    #[test]
    fn reads_the_inventory_of_a_list_and_refuses_a_broken_one() {
        let inventory = Inventory::new(
            "stage",
            common::inventory::Scope::Whole,
            None,
            ["x".to_string()].into(),
        );
        let text = list_with_inventory(Value::from(serde_json::to_string(&inventory).unwrap()));
        let input = read(&source(&text)).unwrap();
        assert_eq!(input.inventory, Some(inventory.clone()));
        assert_eq!(input.unproven, None, "JSON cannot be cut and still parse");
        for broken in [
            Value::from(3),
            Value::from("{\"kind\": \"AddonInventory\"}"),
            Value::from(
                "{\"apiVersion\":\"v9\",\"kind\":\"AddonInventory\",\"environment\":\"stage\",\"scope\":\"whole\",\"addons\":[]}",
            ),
        ] {
            let err = read(&source(&list_with_inventory(broken))).unwrap_err();
            assert!(
                err.to_string()
                    .contains("document 1: metadata.annotations[addon-flow.openshift.io/inventory]"),
                "{err}"
            );
        }
    }

    #[test]
    fn in_block_yaml_the_inventory_proves_the_list_whole_only_after_its_items() {
        let annotation =
            "'{\"apiVersion\":\"addon-flow.openshift.io/v1\",\"kind\":\"AddonInventory\",\"environment\":\"stage\",\"scope\":\"whole\",\"addons\":[\"x\"]}'";
        let items =
            "items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a, namespace: n}\n";
        let metadata = format!("metadata:\n  annotations:\n    {LIST_ANNOTATION}: {annotation}\n");
        let last = format!("apiVersion: v1\nkind: List\n{items}{metadata}");
        let input = read(&source(&last)).unwrap();
        assert!(input.inventory.is_some());
        assert_eq!(input.unproven, None);
        let first = format!("apiVersion: v1\nkind: List\n{metadata}{items}");
        let input = read(&source(&first)).unwrap();
        assert!(input.inventory.is_some());
        assert!(
            input
                .unproven
                .as_deref()
                .unwrap()
                .contains("comes before its items"),
            "{:?}",
            input.unproven
        );
    }

    #[test]
    fn an_object_named_twice_is_refused_naming_both_places() {
        let stream = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n, labels: {x: y}}\n";
        let source = source(stream);
        let manifests = read(&source).unwrap().manifests;
        let err =
            check_duplicates(&source, manifests.iter().map(|m| (written_key(m), m))).unwrap_err();
        assert_eq!(err.exit_status() as u8, 1);
        assert!(
            err.to_string()
                .contains("document 1 and document 3 are the same object (ConfigMap n/a)"),
            "{err}"
        );
        // Another namespace or another kind is another object.
        let other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: m}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: n}\n";
        let source = super::tests::source(other);
        let manifests = read(&source).unwrap().manifests;
        assert!(check_duplicates(&source, manifests.iter().map(|m| (written_key(m), m))).is_ok());
    }
}
