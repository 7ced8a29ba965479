//! The clusters' side of a run: labelling ClusterDeployments so that an
//! add-on's SelectorSyncSet selects them, and waiting for Hive's
//! ClusterSync to report the SyncSets applied to them.

use std::time::{Duration, Instant};

use common::model::k8s::ClusterSync;
use common::{Error, Result};
use serde_json::{json, Value};

use crate::api::{describe, KubeClient, KubeError, KubeResult, Resource};
use crate::apply::{parallel_map, ApplyOptions, Done};
use crate::objects::Manifest;

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
            let (key, value) = m.selector.clone()?;
            Some((m.name.clone(), key, value))
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
) -> Vec<KubeResult<String>> {
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
            options.server_dry_run(),
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
        let generation = object.generation.unwrap_or(1);
        for name in &object.cluster_refs {
            if let Some(ns) = d.namespace.as_deref() {
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
    let progress =
        common::cli::progress::Progress::counter("clusters synced", targets.len() as u64);
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

fn check(client: &KubeClient, resource: &Resource, target: &SyncTarget) -> KubeResult<bool> {
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
        "Failure" => Err(KubeError::from(Error::remote(
            client.server(),
            format!(
                "{what}: Hive failed to apply {} {:?} to the cluster: {}",
                target.list,
                target.name,
                entry.failure_message.as_deref().unwrap_or("no message")
            ),
        ))),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Position;

    #[test]
    fn finds_the_install_label_not_the_delete_one() {
        let manifest = |name: &str, label: &str| {
            Manifest::from_value(
                json!({"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet",
                    "metadata": {"name": name},
                    "spec": {"clusterDeploymentSelector": {"matchLabels": {label: "true"}}}}),
                Position::Document(1),
            )
            .unwrap()
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
