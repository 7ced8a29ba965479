//! Field ownership and the JSON operations a write needs: the leaf paths an
//! apply owns, `fieldsV1`, merging an applied configuration, RFC 7386 merge
//! patches, and the server-set fields a comparison leaves out.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

/// A field's path from the object's root, one map key per step.
pub type Path = Vec<String>;

/// Fields only the server sets; an apply never owns them.
pub(super) fn strip_server_fields(object: &mut Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "resourceVersion",
            "uid",
            "generation",
            "creationTimestamp",
            "managedFields",
        ] {
            metadata.remove(field);
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
}

/// The object without server metadata, to tell a real change from a no-op.
pub(super) fn content(object: &Value) -> Value {
    let mut copy = object.clone();
    strip_server_fields(&mut copy);
    copy
}

/// A field manager as `managedFields` tells them apart: its name and the
/// operation (`Apply` or `Update`). One name may hold both.
pub type Manager = (String, String);

/// A manager's entry in `managedFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    /// The leaf paths it owns.
    pub fields: BTreeSet<Path>,
    /// When it last changed the object (RFC 3339, seconds).
    pub time: String,
}

/// Every manager of an object and what it owns.
pub type Managers = BTreeMap<Manager, Ownership>;

/// The same managers own the same fields (the times aside): whether a write
/// changed the ownership of anything.
pub(super) fn same_ownership(a: &Managers, b: &Managers) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((m, x), (n, y))| m == n && x.fields == y.fields)
}

/// `metadata.managedFields` for these managers.
pub(super) fn managed_fields(managers: &Managers, api_version: &str) -> Value {
    Value::Array(
        managers
            .iter()
            .map(|((manager, operation), entry)| {
                json!({"manager": manager, "operation": operation, "apiVersion": api_version,
                    "time": entry.time, "fieldsType": "FieldsV1", "fieldsV1": fields_v1(&entry.fields)})
            })
            .collect(),
    )
}

/// Whether one path lies on the other's way (`spec` and `spec.x`).
pub(super) fn overlaps(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// The leaf paths whose values differ between two versions of an object
/// (what an update changed, and so takes ownership of).
pub(super) fn changed_paths(before: &Value, after: &Value) -> BTreeSet<Path> {
    leaf_paths(before)
        .union(&leaf_paths(after))
        .filter(|path| get_path(before, path) != get_path(after, path))
        .cloned()
        .collect()
}

/// Leaf paths of a value: each map key down to a scalar or a list (lists are
/// atomic). `apiVersion`, `kind` and the identity fields are not owned.
pub(super) fn leaf_paths(value: &Value) -> BTreeSet<Path> {
    fn walk(value: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    path.push(k.clone());
                    walk(v, path, out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(value, &mut Vec::new(), &mut out);
    out.retain(|p| {
        !matches!(p.as_slice(), [k] if k == "apiVersion" || k == "kind")
            && !matches!(p.as_slice(), [m, k] if m == "metadata" && (k == "name" || k == "namespace"))
    });
    out
}

pub(super) fn get_path<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, k| v.get(k))
}

pub(super) fn remove_path(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = value;
    for key in parents {
        match current.get_mut(key) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(map) = current.as_object_mut() {
        map.remove(last);
    }
}

/// Merges `source` into `target`: mappings key by key, anything else
/// replaced. `source` is moved in, not copied: on a create the whole
/// object goes into an empty one.
pub(super) fn merge_into(target: &mut Value, source: Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            for (k, v) in source {
                match target.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        merge_into(existing, v)
                    }
                    _ => {
                        target.insert(k, v);
                    }
                }
            }
        }
        (target, source) => *target = source,
    }
}

/// RFC 7386: null removes, objects merge, anything else replaces.
pub(super) fn json_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Some(map) = target.as_object_mut() {
        for (k, v) in patch {
            if v.is_null() {
                map.remove(k);
            } else {
                json_merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// `fieldsV1`: `{"f:spec": {"f:x": {}}}` for each owned path.
fn fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = json!({});
    for path in paths {
        let mut current = &mut root;
        for key in path {
            current = current
                .as_object_mut()
                .map(|m| m.entry(format!("f:{key}")).or_insert_with(|| json!({})))
                .expect("fieldsV1 nodes are objects");
        }
    }
    root
}
