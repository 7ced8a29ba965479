//! Applying (or deleting) many objects with bounded concurrency, labelling
//! ClusterDeployments, and waiting for Hive's ClusterSync to report the
//! SyncSets applied.
//!
//! Every step is idempotent (server-side apply, merge patch, delete of what
//! may be gone), so after any failure running the same command again
//! finishes the job without losing or duplicating an object.

use std::time::{Duration, Instant};

use common::k8s::ClusterSync;
use common::{Error, Result};
use serde_json::{json, Value};

use crate::api::{describe, KubeClient, Resource};
use crate::objects::Manifest;

/// What was done to one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Created,
    /// Applied over an existing object (changed or not).
    Applied,
    Deleted,
    /// Deleted by `--prune`: no longer in the input.
    Pruned,
    /// `--prune=all`: live exactly as applied before; not sent again.
    Unchanged,
    AlreadyGone,
}

impl Outcome {
    pub fn verb(&self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Applied => "serverside-applied",
            Outcome::Deleted => "deleted",
            Outcome::Pruned => "pruned",
            Outcome::Unchanged => "unchanged",
            Outcome::AlreadyGone => "already gone",
        }
    }
}

/// One object's result.
#[derive(Debug, Clone)]
pub struct Done {
    pub resource: Resource,
    pub namespace: Option<String>,
    pub name: String,
    pub outcome: Outcome,
    /// The object as the server returned it (apply only).
    pub object: Option<Value>,
}

impl Done {
    /// `syncset.hive.openshift.io/addon-x -n ns created`, as kubectl prints.
    pub fn summary(&self) -> String {
        let mut line = format!("{}/{}", self.resource.qualified(), self.name);
        if let Some(ns) = self
            .namespace
            .as_deref()
            .filter(|_| self.resource.namespaced)
        {
            line.push_str(&format!(" -n {ns}"));
        }
        format!("{line} {}", self.outcome.verb())
    }
}

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub force_conflicts: bool,
    pub dry_run: bool,
    pub delete: bool,
    pub concurrency: usize,
    /// For namespaced objects that name none (the kubeconfig context's, else `default`).
    pub default_namespace: String,
}

/// Runs `work` over `items` on at most `concurrency` threads, results in
/// input order; a panic becomes that item's internal error
/// ([`common::parallel::map_each`]).
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    concurrency: usize,
    work: impl Fn(&T) -> Result<R> + Sync,
) -> Vec<Result<R>> {
    common::parallel::map_each(items, concurrency, work)
}

/// Kinds others live in: applied first, deleted last.
fn is_container(manifest: &Manifest) -> bool {
    matches!(
        manifest.kind.as_str(),
        "Namespace" | "CustomResourceDefinition"
    )
}

/// Applies (or deletes) every manifest. Returns each object's result, in
/// input order; a failure of one does not stop the others.
pub fn run(
    client: &KubeClient,
    manifests: &[Manifest],
    options: &ApplyOptions,
) -> Vec<Result<Done>> {
    // Containers first when applying, last when deleting.
    let (first, second): (Vec<usize>, Vec<usize>) =
        (0..manifests.len()).partition(|&i| is_container(&manifests[i]) != options.delete);
    let mut results: Vec<Option<Result<Done>>> = (0..manifests.len()).map(|_| None).collect();
    let what = if options.delete {
        "objects deleted"
    } else {
        "objects applied"
    };
    let progress = common::progress::Progress::counter(what, manifests.len() as u64);
    for wave in [first, second] {
        let done = parallel_map(&wave, options.concurrency, |&i| {
            let result = one(client, &manifests[i], options);
            progress.inc(1);
            result
        });
        for (i, result) in wave.into_iter().zip(done) {
            results[i] = Some(result);
        }
    }
    progress.finish();
    results.into_iter().flatten().collect()
}

fn one(client: &KubeClient, manifest: &Manifest, options: &ApplyOptions) -> Result<Done> {
    let resource = client.resource(&manifest.api_version, &manifest.kind)?;
    let namespace = resource.namespaced.then(|| {
        manifest
            .namespace
            .clone()
            .unwrap_or_else(|| options.default_namespace.clone())
    });
    let mut object = manifest.object.clone();
    if let (Some(ns), Some(metadata)) = (
        &namespace,
        object.get_mut("metadata").and_then(Value::as_object_mut),
    ) {
        metadata.insert("namespace".into(), json!(ns));
    }
    if !resource.namespaced {
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("namespace");
        }
    }
    let ns = namespace.as_deref();
    if options.delete {
        let gone = client.delete(&resource, ns, &manifest.name, options.dry_run)?;
        return Ok(Done {
            outcome: if gone {
                Outcome::Deleted
            } else {
                Outcome::AlreadyGone
            },
            resource,
            namespace,
            name: manifest.name.clone(),
            object: None,
        });
    }
    let written = client.apply(
        &resource,
        ns,
        &manifest.name,
        &object,
        options.force_conflicts,
        options.dry_run,
    )?;
    Ok(Done {
        outcome: if written.status == 201 {
            Outcome::Created
        } else {
            Outcome::Applied
        },
        resource,
        namespace,
        name: manifest.name.clone(),
        object: Some(written.object),
    })
}

/// `--prune`: objects of the input's namespaced kinds and names, in other
/// namespaces, that this field manager applied and the input no longer lists
/// (a cluster dropped from `--cluster-deployment`: its SyncSet goes). Objects
/// of other names (other add-ons) and other managers are never touched.
pub fn prune(
    client: &KubeClient,
    done: &[Done],
    field_manager: &str,
    options: &ApplyOptions,
) -> Vec<Result<Done>> {
    let mut kinds: Vec<(Resource, Vec<String>)> = Vec::new();
    for d in done.iter().filter(|d| d.resource.namespaced) {
        match kinds.iter_mut().find(|(r, _)| *r == d.resource) {
            Some((_, names)) if !names.contains(&d.name) => names.push(d.name.clone()),
            Some(_) => {}
            None => kinds.push((d.resource.clone(), vec![d.name.clone()])),
        }
    }
    let kept: std::collections::BTreeSet<(String, Option<String>, String)> = done
        .iter()
        .map(|d| (d.resource.kind.clone(), d.namespace.clone(), d.name.clone()))
        .collect();
    let mut stale = Vec::new();
    for (resource, names) in &kinds {
        let items = match client.list(resource) {
            Ok(items) => items,
            Err(err) => return vec![Err(err)],
        };
        for item in items {
            let name = item["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let namespace = item["metadata"]["namespace"].as_str().map(str::to_string);
            let ours = item["metadata"]["managedFields"]
                .as_array()
                .is_some_and(|entries| {
                    entries
                        .iter()
                        .any(|e| e["manager"] == field_manager && e["operation"] == "Apply")
                });
            if ours
                && names.contains(&name)
                && !kept.contains(&(resource.kind.clone(), namespace.clone(), name.clone()))
            {
                stale.push((resource.clone(), namespace, name));
            }
        }
    }
    delete_stale(client, &stale, options)
}

/// Deletes the objects a prune found stale, with bounded concurrency; one
/// already gone counts as done (`--prune` and `--prune=all` both end here).
pub fn delete_stale(
    client: &KubeClient,
    stale: &[(Resource, Option<String>, String)],
    options: &ApplyOptions,
) -> Vec<Result<Done>> {
    parallel_map(stale, options.concurrency, |(resource, namespace, name)| {
        let gone = client.delete(resource, namespace.as_deref(), name, options.dry_run)?;
        Ok(Done {
            resource: resource.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
            outcome: if gone {
                Outcome::Pruned
            } else {
                Outcome::AlreadyGone
            },
            object: None,
        })
    })
}

/// A ClusterDeployment, `NAMESPACE/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClusterRef {
    pub namespace: String,
    pub name: String,
}

impl std::str::FromStr for ClusterRef {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text.split_once('/') {
            Some((namespace, name))
                if !namespace.is_empty() && !name.is_empty() && !name.contains('/') =>
            {
                Ok(ClusterRef {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                })
            }
            _ => Err(format!(
                "{text:?} is not NAMESPACE/NAME of a ClusterDeployment"
            )),
        }
    }
}

/// The add-on label the install SelectorSyncSet selects clusters by (the
/// one that does not end in `-delete`).
pub fn selector_label(manifests: &[Manifest]) -> Option<(String, String, String)> {
    manifests
        .iter()
        .filter(|m| m.kind == "SelectorSyncSet" && !m.name.ends_with("-delete"))
        .find_map(|m| {
            let labels =
                m.object["spec"]["clusterDeploymentSelector"]["matchLabels"].as_object()?;
            let (key, value) = labels.iter().next()?;
            Some((m.name.clone(), key.clone(), value.as_str()?.to_string()))
        })
}

/// Sets (or, with `remove`, removes) `key=value` on each ClusterDeployment.
pub fn label_clusters(
    client: &KubeClient,
    clusters: &[ClusterRef],
    key: &str,
    value: &str,
    remove: bool,
    options: &ApplyOptions,
) -> Vec<Result<String>> {
    let resource = match client.resource("hive.openshift.io/v1", "ClusterDeployment") {
        Ok(resource) => resource,
        Err(err) => return vec![Err(err)],
    };
    let label = if remove { Value::Null } else { json!(value) };
    let patch = json!({"metadata": {"labels": {key: label}}});
    parallel_map(clusters, options.concurrency, |cd| {
        client.merge_patch(
            &resource,
            Some(&cd.namespace),
            &cd.name,
            &patch,
            options.dry_run,
        )?;
        Ok(format!(
            "clusterdeployment.hive.openshift.io/{} -n {} {}",
            cd.name,
            cd.namespace,
            if remove { "unlabeled" } else { "labeled" }
        ))
    })
}

/// What to wait for: one (Selector)SyncSet on one cluster, at a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncTarget {
    pub cluster: ClusterRef,
    /// `syncSets` or `selectorSyncSets` in the ClusterSync status.
    pub list: &'static str,
    pub name: String,
    pub generation: i64,
}

/// The SyncSets applied, each on every cluster it names.
pub fn sync_targets(done: &[Done]) -> Vec<SyncTarget> {
    let mut targets = Vec::new();
    for d in done {
        let Some(object) = &d.object else { continue };
        if d.resource.kind != "SyncSet" {
            continue;
        }
        let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
        for cd in object["spec"]["clusterDeploymentRefs"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let (Some(ns), Some(name)) = (d.namespace.as_deref(), cd["name"].as_str()) {
                targets.push(SyncTarget {
                    cluster: ClusterRef {
                        namespace: ns.to_string(),
                        name: name.to_string(),
                    },
                    list: "syncSets",
                    name: d.name.clone(),
                    generation,
                });
            }
        }
    }
    targets
}

/// Polls the ClusterSyncs until each target reports `Success` at (at least)
/// its generation. A `Failure` result is an error with Hive's message.
pub fn wait(
    client: &KubeClient,
    targets: Vec<SyncTarget>,
    timeout: Duration,
    interval: Duration,
    concurrency: usize,
) -> Result<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let resource = client.resource("hiveinternal.openshift.io/v1alpha1", "ClusterSync")?;
    let deadline = Instant::now() + timeout;
    let progress = common::progress::Progress::counter("clusters synced", targets.len() as u64);
    let mut pending = targets;
    loop {
        let states = parallel_map(&pending, concurrency, |t| check(client, &resource, t));
        let mut still = Vec::new();
        for (target, state) in pending.into_iter().zip(states) {
            match state? {
                true => {
                    progress.inc(1);
                    common::cli::note(
                        "hive-apply",
                        format_args!(
                            "{} {} applied to clusterdeployment {}/{}",
                            if target.list == "syncSets" {
                                "syncset"
                            } else {
                                "selectorsyncset"
                            },
                            target.name,
                            target.cluster.namespace,
                            target.cluster.name
                        ),
                    )
                }
                false => still.push(target),
            }
        }
        pending = still;
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let names: Vec<String> = pending
                .iter()
                .take(10)
                .map(|t| format!("{} on {}/{}", t.name, t.cluster.namespace, t.cluster.name))
                .collect();
            return Err(Error::TimedOut(format!(
                "after {}s, {} SyncSet(s) not yet reported applied by Hive's ClusterSync: {}{}",
                timeout.as_secs(),
                pending.len(),
                names.join(", "),
                if pending.len() > 10 { ", ..." } else { "" }
            )));
        }
        std::thread::sleep(interval.min(deadline.saturating_duration_since(Instant::now())));
    }
}

fn check(client: &KubeClient, resource: &Resource, target: &SyncTarget) -> Result<bool> {
    let Some(value) = client.get(
        resource,
        Some(&target.cluster.namespace),
        &target.cluster.name,
    )?
    else {
        return Ok(false);
    };
    let what = describe(
        resource,
        Some(&target.cluster.namespace),
        &target.cluster.name,
    );
    let cluster_sync: ClusterSync = serde_json::from_value(value).map_err(|err| {
        Error::remote(client.server(), format!("{what}: not a ClusterSync: {err}"))
    })?;
    let status = cluster_sync.status.unwrap_or_default();
    let entries = if target.list == "syncSets" {
        status.sync_sets
    } else {
        status.selector_sync_sets
    };
    let Some(entry) = entries
        .into_iter()
        .flatten()
        .find(|e| e.name == target.name)
    else {
        return Ok(false);
    };
    if entry.observed_generation < target.generation {
        return Ok(false);
    }
    match entry.result.as_str() {
        "Success" => Ok(true),
        "Failure" => Err(Error::remote(
            client.server(),
            format!(
                "{what}: Hive failed to apply {} {:?} to the cluster: {}",
                target.list,
                target.name,
                entry.failure_message.as_deref().unwrap_or("no message")
            ),
        )),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn parallel_map_keeps_order_and_bounds_threads() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<u32> = (0..40).collect();
        let out = parallel_map(&items, 4, |x| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(x * 2)
        });
        let out: Vec<u32> = out.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(out, (0..40).map(|x| x * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 4);
    }

    #[test]
    fn a_worker_panic_becomes_an_internal_error_not_a_crash() {
        let items: Vec<u32> = (0..8).collect();
        let out = parallel_map(&items, 3, |&x| {
            if x == 5 {
                panic!("valid client auth certificate");
            }
            Ok(x)
        });
        assert_eq!(out.len(), 8);
        for (i, result) in out.iter().enumerate() {
            match result {
                Ok(x) => assert_eq!(*x as usize, i),
                Err(err) => {
                    assert_eq!(i, 5);
                    assert!(matches!(err, Error::Internal(_)), "{err}");
                    assert!(err.to_string().contains("valid client auth certificate"));
                }
            }
        }
    }

    #[test]
    fn finds_the_install_label_not_the_delete_one() {
        let manifest = |name: &str, label: &str| Manifest {
            api_version: "hive.openshift.io/v1".into(),
            kind: "SelectorSyncSet".into(),
            name: name.into(),
            namespace: None,
            object: json!({"spec": {"clusterDeploymentSelector": {"matchLabels": {label: "true"}}}}),
        };
        let manifests = vec![
            manifest("addon-x-delete", "l-delete"),
            manifest("addon-x", "l"),
        ];
        assert_eq!(
            selector_label(&manifests),
            Some(("addon-x".into(), "l".into(), "true".into()))
        );
        assert!("a/b".parse::<ClusterRef>().is_ok());
        assert!("a".parse::<ClusterRef>().is_err());
    }
}
