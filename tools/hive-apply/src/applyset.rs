//! Kubernetes ApplySets (KEP-3659), as kubectl implements them: the set of
//! objects `hive-apply --prune=all` applied, so that a prune deletes only
//! its own objects, of every kind it ever applied, and kubectl can read the
//! set too.
//!
//! The parent is a Secret (by default `hive/addon-flow-<environment>`)
//! labelled `applyset.kubernetes.io/id`, whose annotations record the
//! tooling (`addon-flow/<version>`), every member kind
//! (`contains-group-kinds`, `Kind.group`, sorted) and every namespace
//! besides its own that holds members (`additional-namespaces`). Each
//! member carries the label `applyset.kubernetes.io/part-of: <id>`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{Error, Result};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::api::{Cause, GroupKind, KubeClient, KubeError, KubeResult, Resource};

/// The label each member carries: the id of its set.
pub const PART_OF: &str = "applyset.kubernetes.io/part-of";
/// The label that makes an object an ApplySet parent: its id.
pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
/// The tool that manages the set, `<name>/<version>`.
pub const TOOLING: &str = "applyset.kubernetes.io/tooling";
/// The member kinds, `Kind.group` sorted and comma-separated.
pub const GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
/// The namespaces holding members, besides the parent's own.
pub const ADDITIONAL_NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";
/// Our name in [`TOOLING`]: a parent of another tool is not ours to change.
pub const TOOL_NAME: &str = "addon-flow";
/// Where the parent lives unless `--applyset-namespace` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "hive";

/// The parent Secret of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentRef {
    pub name: String,
    pub namespace: String,
}

impl ParentRef {
    /// Reads `--applyset [secret/]NAME` (kubectl's spelling; only a Secret
    /// parent is supported) in `namespace`.
    pub fn parse(flag: &str, namespace: &str) -> Result<ParentRef> {
        let name = match flag.split_once('/') {
            None => flag,
            Some(("secret" | "secrets", name)) => name,
            Some((kind, _)) => {
                return Err(Error::usage(format!(
                    "--applyset {flag:?}: the parent must be a Secret (`NAME` or `secret/NAME`), not {kind:?}"
                )))
            }
        };
        ParentRef::new(name, namespace)
            .map_err(|why| Error::usage(format!("--applyset {flag:?}: {why}")))
    }

    /// The parent `name` in `namespace`, both checked as the API server would.
    pub fn new(name: &str, namespace: &str) -> std::result::Result<ParentRef, String> {
        common::model::names::dns1123_subdomain(name)
            .map_err(|why| format!("{name:?} is not a Secret name: {why}"))?;
        common::model::names::dns1123_label(namespace)
            .map_err(|why| format!("{namespace:?} is not a namespace name: {why}"))?;
        Ok(ParentRef {
            name: name.to_string(),
            namespace: namespace.to_string(),
        })
    }

    /// The set's id: `applyset-` + base64url(sha256(`<name>.<namespace>.Secret.`))
    /// without padding + `-v1` (the Secret's group is the empty core group).
    pub fn id(&self) -> String {
        let unencoded = format!("{}.{}.Secret.", self.name, self.namespace);
        let hash = Sha256::digest(unencoded.as_bytes());
        format!("applyset-{}-v1", common::text::base64::encode_url(&hash))
    }

    /// `secret hive/addon-flow-stage`, for messages.
    pub fn describe(&self) -> String {
        format!("ApplySet parent secret {}/{}", self.namespace, self.name)
    }
}

/// What a set holds: its member kinds and the namespaces of its members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub group_kinds: BTreeSet<GroupKind>,
    pub namespaces: BTreeSet<String>,
}

impl Scope {
    pub fn union(&self, other: &Scope) -> Scope {
        Scope {
            group_kinds: self
                .group_kinds
                .union(&other.group_kinds)
                .cloned()
                .collect(),
            namespaces: self.namespaces.union(&other.namespaces).cloned().collect(),
        }
    }

    /// Adds one member (of `resource`, in `namespace` when namespaced).
    pub fn add(&mut self, resource: &Resource, namespace: Option<&str>) {
        self.group_kinds.insert(resource.group_kind());
        if let Some(ns) = namespace.filter(|_| resource.namespaced) {
            self.namespaces.insert(ns.to_string());
        }
    }

    /// The parent's annotations for this scope, as kubectl writes them.
    fn annotations(&self, parent: &ParentRef) -> BTreeMap<&'static str, String> {
        let kinds: BTreeSet<String> = self.group_kinds.iter().map(GroupKind::to_string).collect();
        let namespaces: Vec<&str> = self
            .namespaces
            .iter()
            .map(String::as_str)
            .filter(|ns| *ns != parent.namespace)
            .collect();
        BTreeMap::from([
            (TOOLING, tooling()),
            (GROUP_KINDS, kinds.into_iter().collect::<Vec<_>>().join(",")),
            (ADDITIONAL_NAMESPACES, namespaces.join(",")),
        ])
    }
}

/// Our [`TOOLING`] value.
pub fn tooling() -> String {
    format!("{TOOL_NAME}/{}", env!("CARGO_PKG_VERSION"))
}

/// A set as the server holds it now.
#[derive(Debug, Clone)]
pub struct ApplySet {
    pub parent: ParentRef,
    pub id: String,
    /// The Secret kind, as the server serves it.
    resource: Arc<Resource>,
    /// The parent's annotations as they are live (none when it does not exist).
    live: Option<BTreeMap<String, String>>,
    /// What the parent records (empty when it does not exist yet).
    pub recorded: Scope,
}

impl ApplySet {
    /// Reads the parent, if it exists. A Secret by that name that is not
    /// an ApplySet parent of ours is refused: its set is not ours to change.
    pub fn fetch(client: &KubeClient, parent: ParentRef) -> KubeResult<ApplySet> {
        let resource = client.resource("v1", "Secret")?;
        let id = parent.id();
        let Some(object) = client.get(&resource, Some(&parent.namespace), &parent.name)? else {
            return Ok(ApplySet {
                parent,
                id,
                resource,
                live: None,
                recorded: Scope::default(),
            });
        };
        let annotations: BTreeMap<String, String> =
            serde_json::from_value(object["metadata"]["annotations"].clone()).unwrap_or_default();
        let recorded = read_parent(&parent, &id, &object, &annotations)
            .map_err(|why| refused(&parent, why))?;
        Ok(ApplySet {
            parent,
            id,
            resource,
            live: Some(annotations),
            recorded,
        })
    }

    /// Records `scope` on the parent (creating it), unless it already says
    /// exactly that: a run with nothing new writes nothing. Applied with
    /// force as its own field manager, as kubectl does with its parents.
    pub fn record(
        &mut self,
        client: &KubeClient,
        scope: &Scope,
        dry_run: bool,
    ) -> KubeResult<bool> {
        let annotations = scope.annotations(&self.parent);
        let unchanged = self.live.as_ref().is_some_and(|live| {
            annotations
                .iter()
                .all(|(key, value)| live.get(*key) == Some(value))
        });
        if unchanged {
            return Ok(false);
        }
        let object = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.parent.name,
                "namespace": self.parent.namespace,
                "labels": {ID_LABEL: self.id},
                "annotations": annotations,
            },
        });
        client.apply_as(
            &format!("{}-applyset", client.field_manager()),
            &self.resource,
            Some(&self.parent.namespace),
            &self.parent.name,
            serde_json::to_vec(&object).map_err(Error::internal)?.into(),
            true,
            dry_run,
        )?;
        if !dry_run {
            self.live = Some(
                annotations
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            );
        }
        Ok(true)
    }
}

/// A parent that is not ours: a usage error (exit 2), since the way out is
/// another `--applyset`.
fn refused(parent: &ParentRef, why: String) -> KubeError {
    KubeError::new(
        Cause::Other,
        Error::usage(format!(
            "{} {why}; it is not ours to change: name another with --applyset",
            parent.describe()
        )),
    )
}

/// What a live parent records, once it is proven ours: our tooling, our id.
fn read_parent(
    parent: &ParentRef,
    id: &str,
    object: &Value,
    annotations: &BTreeMap<String, String>,
) -> std::result::Result<Scope, String> {
    let Some(tooling) = annotations.get(TOOLING) else {
        return Err(format!(
            "exists and is not an ApplySet parent (it has no {TOOLING} annotation)"
        ));
    };
    let tool = tooling
        .rsplit_once('/')
        .map_or(tooling.as_str(), |(name, _)| name);
    if tool != TOOL_NAME {
        return Err(format!(
            "is managed by {tooling:?} ({TOOLING}), not by {TOOL_NAME}"
        ));
    }
    let live_id = object["metadata"]["labels"][ID_LABEL].as_str();
    if live_id != Some(id) {
        return Err(format!(
            "has label {ID_LABEL}={} where {id} was expected",
            live_id.unwrap_or("<none>")
        ));
    }
    let Some(kinds) = annotations.get(GROUP_KINDS) else {
        return Err(format!(
            "has no {GROUP_KINDS} annotation, so its member kinds are unknown"
        ));
    };
    let mut scope = Scope::default();
    for text in kinds.split(',').filter(|k| !k.is_empty()) {
        let group_kind = GroupKind::parse(text)
            .ok_or_else(|| format!("has {GROUP_KINDS} entry {text:?}, which is not Kind.group"))?;
        scope.group_kinds.insert(group_kind);
    }
    scope.namespaces.insert(parent.namespace.clone());
    scope.namespaces.extend(
        annotations
            .get(ADDITIONAL_NAMESPACES)
            .into_iter()
            .flat_map(|list| list.split(','))
            .filter(|ns| !ns.is_empty())
            .map(str::to_string),
    );
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent() -> ParentRef {
        ParentRef::parse("addon-flow-stage", "hive").unwrap()
    }

    /// The expected id was computed apart from this code:
    /// `printf 'addon-flow-stage.hive.Secret.' | openssl dgst -sha256 -binary | basenc --base64url | tr -d =`.
    #[test]
    fn the_id_is_kubectls() {
        assert_eq!(
            parent().id(),
            "applyset-qm2-3DEO0bMOTq6y-1zg3DTBrENZSjzIUYT1tkTjMyI-v1"
        );
    }

    #[test]
    fn the_flag_takes_a_secret_by_name_only() {
        assert_eq!(
            ParentRef::parse("secret/addon-flow-stage", "hive").unwrap(),
            parent()
        );
        assert_eq!(
            ParentRef::parse("secrets/addon-flow-stage", "hive").unwrap(),
            parent()
        );
        for bad in ["configmap/x", "Bad_Name", "secret/"] {
            let err = ParentRef::parse(bad, "hive").unwrap_err();
            assert_eq!(err.exit_status() as u8, 2, "{bad}: {err}");
        }
        assert!(ParentRef::parse("x", "Not A Namespace").is_err());
    }

    fn resource(api_version: &str, kind: &str, namespaced: bool) -> Resource {
        Resource {
            api_version: api_version.into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_lowercase()),
            namespaced,
        }
    }

    #[test]
    fn annotations_are_sorted_and_leave_out_the_parents_namespace() {
        let mut scope = Scope::default();
        scope.add(
            &resource("hive.openshift.io/v1", "SelectorSyncSet", false),
            None,
        );
        scope.add(&resource("v1", "ConfigMap", true), Some("openshift-config"));
        scope.add(
            &resource(
                "pagerduty.openshift.io/v1alpha1",
                "PagerDutyIntegration",
                true,
            ),
            Some("pagerduty-operator"),
        );
        scope.add(&resource("v1", "ConfigMap", true), Some("hive"));
        let annotations = scope.annotations(&parent());
        assert_eq!(
            annotations[GROUP_KINDS],
            "ConfigMap,PagerDutyIntegration.pagerduty.openshift.io,SelectorSyncSet.hive.openshift.io"
        );
        assert_eq!(
            annotations[ADDITIONAL_NAMESPACES],
            "openshift-config,pagerduty-operator"
        );
        assert_eq!(
            annotations[TOOLING],
            format!("addon-flow/{}", env!("CARGO_PKG_VERSION"))
        );
    }

    fn live(labels: Value, annotations: &[(&str, &str)]) -> (Value, BTreeMap<String, String>) {
        let annotations: BTreeMap<String, String> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        (
            json!({"metadata": {"labels": labels, "annotations": annotations}}),
            annotations,
        )
    }

    #[test]
    fn a_parent_is_read_only_when_it_is_ours() {
        let p = parent();
        let id = p.id();
        let (object, annotations) = live(
            json!({ID_LABEL: id}),
            &[
                (TOOLING, "addon-flow/0.1.0"),
                (GROUP_KINDS, "ConfigMap,SelectorSyncSet.hive.openshift.io"),
                (ADDITIONAL_NAMESPACES, "openshift-config"),
            ],
        );
        let scope = read_parent(&p, &id, &object, &annotations).unwrap();
        assert_eq!(scope.group_kinds.len(), 2);
        assert!(scope
            .group_kinds
            .contains(&GroupKind::parse("ConfigMap").unwrap()));
        assert_eq!(
            scope.namespaces.iter().collect::<Vec<_>>(),
            ["hive", "openshift-config"]
        );

        let (object, annotations) = live(
            json!({ID_LABEL: id}),
            &[(TOOLING, "kubectl/v1.29"), (GROUP_KINDS, "")],
        );
        let why = read_parent(&p, &id, &object, &annotations).unwrap_err();
        assert!(why.contains("managed by \"kubectl/v1.29\""), "{why}");
        let (object, annotations) = live(
            json!({}),
            &[(TOOLING, "addon-flow/0.1.0"), (GROUP_KINDS, "")],
        );
        assert!(read_parent(&p, &id, &object, &annotations)
            .unwrap_err()
            .contains(ID_LABEL));
        let (object, annotations) = live(json!({ID_LABEL: id}), &[]);
        assert!(read_parent(&p, &id, &object, &annotations)
            .unwrap_err()
            .contains("not an ApplySet parent"));
    }
}
