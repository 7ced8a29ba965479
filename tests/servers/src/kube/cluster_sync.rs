//! Hive's ClusterSync controller, as far as a client sees it: each
//! ClusterSync reports the (Selector)SyncSets that apply to its cluster.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use serde_json::{json, Map, Value};

use super::{rfc3339, State, Stored};

impl State {
    /// Brings a ClusterSync's status up to date, as Hive's controller would:
    /// SyncSets naming the cluster and SelectorSyncSets matching its labels,
    /// each reported applied once `sync_delay` has passed since it changed.
    pub(super) fn refresh_cluster_sync(&mut self, namespace: &str, name: &str) {
        let labels: Map<String, Value> = self
            .objects
            .get(&(
                "hive.openshift.io".to_string(),
                "clusterdeployments".to_string(),
                namespace.to_string(),
                name.to_string(),
            ))
            .and_then(|s| s.object["metadata"]["labels"].as_object().cloned())
            .unwrap_or_default();
        let delay = self.options.sync_delay;
        let mut sync_sets = Vec::new();
        let mut selector_sync_sets = Vec::new();
        for ((group, plural, ns, object_name), stored) in &self.objects {
            if group != "hive.openshift.io" || stored.changed_at.elapsed() < delay {
                continue;
            }
            let spec = &stored.object["spec"];
            let entry = || match self.sync_failures.get(object_name) {
                Some(message) => {
                    json!({"name": object_name, "observedGeneration": stored.object["metadata"]["generation"],
                    "result": "Failure", "failureMessage": message,
                    "lastTransitionTime": stored.object["metadata"]["creationTimestamp"]})
                }
                None => {
                    json!({"name": object_name, "observedGeneration": stored.object["metadata"]["generation"],
                    "result": "Success", "lastTransitionTime": stored.object["metadata"]["creationTimestamp"],
                    "firstSuccessTime": stored.object["metadata"]["creationTimestamp"]})
                }
            };
            if plural == "syncsets" && ns == namespace {
                let refs = spec["clusterDeploymentRefs"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if refs.iter().any(|r| r["name"] == name) {
                    sync_sets.push(entry());
                }
            } else if plural == "selectorsyncsets" {
                let wanted = spec["clusterDeploymentSelector"]["matchLabels"].as_object();
                if wanted.is_some_and(|w| {
                    !w.is_empty() && w.iter().all(|(k, v)| labels.get(k) == Some(v))
                }) {
                    selector_sync_sets.push(entry());
                }
            }
        }
        let key = (
            "hiveinternal.openshift.io".to_string(),
            "clustersyncs".to_string(),
            namespace.to_string(),
            name.to_string(),
        );
        if sync_sets.is_empty() && selector_sync_sets.is_empty() && !self.objects.contains_key(&key)
        {
            return;
        }
        let status = json!({"syncSets": sync_sets, "selectorSyncSets": selector_sync_sets,
            "conditions": [{"type": "Failed", "status": "False", "reason": "Success", "message": "All SyncSets and SelectorSyncSets have been applied to the cluster"}]});
        let previous = self.objects.get(&key).map(|s| s.object["status"].clone());
        if previous.as_ref() == Some(&status) {
            return;
        }
        let resource_version = self.next_resource_version();
        if previous.is_none() {
            self.uid += 1;
        }
        let uid = format!("00000000-0000-4000-8000-{:012x}", self.uid);
        let stored = self.objects.entry(key).or_insert_with(|| Stored {
            object: json!({"apiVersion": "hiveinternal.openshift.io/v1alpha1", "kind": "ClusterSync",
                "metadata": {"name": name, "namespace": namespace, "generation": 1, "uid": uid,
                    "creationTimestamp": rfc3339(SystemTime::now())}}),
            managers: BTreeMap::new(),
            changed_at: Instant::now(),
        });
        stored.object["status"] = status;
        stored.object["metadata"]["resourceVersion"] = json!(resource_version);
    }
}
