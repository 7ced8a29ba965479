//! `--prune=all`: the input is the whole desired state of its kinds.
//!
//! The live objects of every kind in the input are listed once. An object
//! whose live copy carries the digest of exactly what we would apply (and
//! that this field manager applied) is not sent again, so a fleet run with
//! nothing changed writes nothing; the others are applied; then every object
//! of those kinds that this field manager applied and the input no longer
//! lists is deleted (an add-on removed from the tree loses its
//! SelectorSyncSets). Objects of other managers are never touched.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::api::{KubeClient, KubeResult, Resource};
use crate::apply::{applied_by, live_key, Done, ObjectKey, Outcome, Planned, Stale};

/// The annotation holding the sha256 of the object as we last applied it.
pub const APPLIED_DIGEST: &str = "addon-flow.openshift.io/applied-digest";

/// The live objects of the input's kinds, listed once per kind.
pub struct Live {
    objects: BTreeMap<ObjectKey, (Resource, Value)>,
}

/// The digest of what we apply for one object (before the annotation is added).
pub fn applied_digest(object: &Value) -> String {
    let text = serde_json::to_string(object).unwrap_or_default();
    common::oci::sha256_digest(text.as_bytes())
}

/// Marks each object with the digest of its content.
pub fn annotate(planned: &mut [Planned]) {
    for p in planned {
        let digest = applied_digest(&p.manifest.object);
        if let Some(metadata) = p
            .manifest
            .object
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        {
            let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
            if let Some(annotations) = annotations.as_object_mut() {
                annotations.insert(APPLIED_DIGEST.into(), json!(digest));
            }
        }
    }
}

/// Lists every kind the planned objects have.
pub fn list_live(client: &KubeClient, planned: &[Planned]) -> KubeResult<Live> {
    let mut kinds: Vec<&Resource> = Vec::new();
    for p in planned {
        if !kinds.contains(&&p.resource) {
            kinds.push(&p.resource);
        }
    }
    let mut objects = BTreeMap::new();
    for resource in kinds {
        for item in client.list(resource, None, None)? {
            objects.insert(live_key(resource, &item), (resource.clone(), item));
        }
    }
    Ok(Live { objects })
}

/// Splits annotated objects into those to apply and those already live as
/// they are (returned as done, `unchanged`).
pub fn skip_unchanged(
    live: &mut Live,
    planned: Vec<Planned>,
    field_manager: &str,
) -> (Vec<Planned>, Vec<Done>) {
    let mut to_apply = Vec::new();
    let mut unchanged = Vec::new();
    for p in planned {
        let key = p.key();
        let wanted = &p.manifest.object["metadata"]["annotations"][APPLIED_DIGEST];
        let is_unchanged = live.objects.get(&key).is_some_and(|(_, object)| {
            applied_by(object, field_manager)
                && &object["metadata"]["annotations"][APPLIED_DIGEST] == wanted
        });
        // An unchanged object is kept, so pruning never needs it again: it
        // moves into the result instead of being copied.
        match is_unchanged.then(|| live.objects.remove(&key)).flatten() {
            Some((resource, object)) => unchanged.push(Done {
                resource,
                namespace: p.namespace,
                name: p.manifest.name,
                outcome: Outcome::Unchanged,
                object: Some(object),
            }),
            None => to_apply.push(p),
        }
    }
    (to_apply, unchanged)
}

/// The live objects of the input's kinds that this field manager applied
/// and `done` does not hold.
pub fn stale(live: &Live, done: &[Done], field_manager: &str) -> Vec<Stale> {
    let kept: BTreeSet<ObjectKey> = done
        .iter()
        .map(|d| {
            (
                d.resource.group().to_string(),
                d.resource.kind.clone(),
                d.namespace.clone(),
                d.name.clone(),
            )
        })
        .collect();
    live.objects
        .iter()
        .filter(|(key, (_, object))| !kept.contains(*key) && applied_by(object, field_manager))
        .map(|((_, _, namespace, name), (resource, _))| Stale {
            resource: resource.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_of_the_content_before_annotation() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let changed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}});
        assert_ne!(applied_digest(&object), applied_digest(&changed));
    }
}
