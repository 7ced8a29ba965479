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

use common::Result;

use crate::api::{KubeClient, Resource};
use crate::apply::{delete_stale, ApplyOptions, Done, Outcome};
use crate::objects::Manifest;

/// The annotation holding the sha256 of the object as we last applied it.
pub const APPLIED_DIGEST: &str = "addon-flow.openshift.io/applied-digest";

/// `(kind, namespace, name)` of an object.
type Key = (String, Option<String>, String);

/// The live objects of the input's kinds, listed once per kind.
pub struct Live {
    kinds: Vec<Resource>,
    objects: BTreeMap<Key, Value>,
}

/// The digest of what we apply for one object (before the annotation is added).
pub fn applied_digest(object: &Value) -> String {
    let text = serde_json::to_string(object).unwrap_or_default();
    common::oci::sha256_digest(text.as_bytes())
}

/// Marks each manifest with the digest of its content.
pub fn annotate(manifests: &mut [Manifest]) {
    for manifest in manifests {
        let digest = applied_digest(&manifest.object);
        if let Some(metadata) = manifest
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

/// Lists every kind the manifests have.
pub fn list_live(client: &KubeClient, manifests: &[Manifest]) -> Result<Live> {
    let mut kinds: Vec<Resource> = Vec::new();
    for manifest in manifests {
        let resource = client.resource(&manifest.api_version, &manifest.kind)?;
        if !kinds.contains(&resource) {
            kinds.push(resource);
        }
    }
    let mut objects = BTreeMap::new();
    for resource in &kinds {
        for item in client.list(resource)? {
            objects.insert(key_of(&resource.kind, &item), item);
        }
    }
    Ok(Live { kinds, objects })
}

fn key_of(kind: &str, object: &Value) -> Key {
    let metadata = &object["metadata"];
    (
        kind.to_string(),
        metadata["namespace"].as_str().map(str::to_string),
        metadata["name"].as_str().unwrap_or_default().to_string(),
    )
}

fn applied_by(object: &Value, field_manager: &str) -> bool {
    object["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|entries| {
            entries
                .iter()
                .any(|e| e["manager"] == field_manager && e["operation"] == "Apply")
        })
}

/// Splits annotated manifests into those to apply and those already live as
/// they are (returned as done, `unchanged`).
pub fn skip_unchanged(
    client: &KubeClient,
    live: &mut Live,
    manifests: Vec<Manifest>,
    field_manager: &str,
    options: &ApplyOptions,
) -> Result<(Vec<Manifest>, Vec<Done>)> {
    let mut to_apply = Vec::new();
    let mut unchanged = Vec::new();
    for manifest in manifests {
        let resource = client.resource(&manifest.api_version, &manifest.kind)?;
        let namespace = resource.namespaced.then(|| {
            manifest
                .namespace
                .clone()
                .unwrap_or_else(|| options.default_namespace.clone())
        });
        let key = (
            resource.kind.clone(),
            namespace.clone(),
            manifest.name.clone(),
        );
        let wanted = &manifest.object["metadata"]["annotations"][APPLIED_DIGEST];
        let is_unchanged = live.objects.get(&key).is_some_and(|object| {
            applied_by(object, field_manager)
                && &object["metadata"]["annotations"][APPLIED_DIGEST] == wanted
        });
        // An unchanged object is kept, so pruning never needs it again: it
        // moves into the result instead of being copied.
        match is_unchanged.then(|| live.objects.remove(&key)).flatten() {
            Some(object) => unchanged.push(Done {
                resource,
                namespace,
                name: manifest.name.clone(),
                outcome: Outcome::Unchanged,
                object: Some(object),
            }),
            None => to_apply.push(manifest),
        }
    }
    Ok((to_apply, unchanged))
}

/// Deletes the live objects of the input's kinds that this field manager
/// applied and `done` does not hold.
pub fn prune_all(
    client: &KubeClient,
    live: &Live,
    done: &[Done],
    field_manager: &str,
    options: &ApplyOptions,
) -> Vec<Result<Done>> {
    let kept: BTreeSet<Key> = done
        .iter()
        .map(|d| (d.resource.kind.clone(), d.namespace.clone(), d.name.clone()))
        .collect();
    let stale: Vec<(Resource, Option<String>, String)> = live
        .objects
        .iter()
        .filter(|(key, object)| !kept.contains(*key) && applied_by(object, field_manager))
        .filter_map(|((kind, namespace, name), _)| {
            let resource = live.kinds.iter().find(|r| &r.kind == kind)?;
            Some((resource.clone(), namespace.clone(), name.clone()))
        })
        .collect();
    delete_stale(client, &stale, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_of_the_content_before_annotation() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let mut manifests = vec![Manifest {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "a".into(),
            namespace: None,
            object: object.clone(),
        }];
        annotate(&mut manifests);
        assert_eq!(
            manifests[0].object["metadata"]["annotations"][APPLIED_DIGEST],
            json!(applied_digest(&object))
        );
        let changed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}});
        assert_ne!(applied_digest(&object), applied_digest(&changed));
    }
}
