//! What OCM does after an install is clicked, for the fake OCM: it knows
//! which Hive ClusterDeployment each cluster id is, writes the add-on's
//! SyncSet into Hive's Kubernetes API (server-side apply, rendered by
//! syncset-render's own code), then watches the cluster's telemetry
//! (`csv_succeeded`, `csv_abnormal` with `_id` = the cluster) and moves the
//! installation `pending` → `installing` → `ready` or `failed`. An uninstall
//! deletes the SyncSet; the installation is `deleting`, then gone.
//!
//! Not modelled: the parameters Secret OCM adds to the SyncSet, quota,
//! upgrade policies.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::remote::http::{Client, Request, RetryPolicy, Secret, TlsOptions};
use common::remote::prometheus::{quote, regex_escape, QueryMethod, VectorSample};
use common::AddonDocument;
use serde_json::Value;
use syncset_render::{render, ClusterDeploymentRef, RenderOptions, Target};

/// Where OCM's controller reaches the rest of the world.
#[derive(Clone, Default)]
pub struct ControllerOptions {
    /// Cluster id → its ClusterDeployment in Hive.
    pub clusters: BTreeMap<String, ClusterDeploymentRef>,
    /// The add-on documents SyncSets are rendered from, by add-on id (OCM
    /// renders from what was published; we render from the document that
    /// was published, with the same code as syncset-render).
    pub documents: BTreeMap<String, AddonDocument>,
    /// Hive's Kubernetes API and its bearer token.
    pub hive_url: Option<String>,
    pub hive_token: Option<String>,
    /// The telemetry Prometheus.
    pub prometheus_url: Option<String>,
    /// Time between two passes over the installations.
    pub interval: Duration,
    /// Misbehaviours of the OCM API for the next requests (`--faults`).
    pub faults: crate::faults::FaultPlan,
}

impl ControllerOptions {
    /// Reads an add-on document (JSON or YAML, as catalog-build writes it).
    pub fn add_document(&mut self, path: &Path) -> Result<(), String> {
        let document =
            common::model::document::load_document(Some(path)).map_err(|e| e.to_string())?;
        self.documents
            .insert(document.metadata.id.clone(), document);
        Ok(())
    }

    /// Whether OCM acts on installs at all (knows some cluster).
    pub fn acts(&self) -> bool {
        !self.clusters.is_empty()
    }
}

/// One installation as the controller sees it in a pass.
#[derive(Debug, Clone)]
pub struct Seen {
    pub cluster: String,
    pub addon: String,
    pub state: String,
    pub operator: String,
}

/// What a pass decided for one installation.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Set the state (and description, operator version).
    State {
        state: &'static str,
        description: String,
        operator_version: Option<String>,
    },
    /// The installation is gone (uninstalled).
    Remove,
}

/// The controller's connections.
pub struct Controller {
    options: ControllerOptions,
    hive: Option<Client>,
    prometheus: Option<Client>,
}

impl Controller {
    pub fn new(options: ControllerOptions) -> Result<Controller, String> {
        let client = |url: &str, token: Option<&String>| {
            Client::new(url, &TlsOptions::default())
                .map(|c| {
                    c.with_token(token.map(|t| Secret::new(t.clone())))
                        .with_retry(RetryPolicy::none())
                })
                .map_err(|e| e.to_string())
        };
        let hive = options
            .hive_url
            .as_deref()
            .map(|url| client(url, options.hive_token.as_ref()))
            .transpose()?;
        let prometheus = options
            .prometheus_url
            .as_deref()
            .map(|url| client(url, None))
            .transpose()?;
        Ok(Controller {
            options,
            hive,
            prometheus,
        })
    }

    pub fn knows_cluster(&self, cluster: &str) -> bool {
        self.options.clusters.contains_key(cluster)
    }

    pub fn acts(&self) -> bool {
        self.options.acts()
    }

    pub fn interval(&self) -> Duration {
        self.options.interval.max(Duration::from_millis(50))
    }

    /// One pass over one installation.
    pub fn reconcile(&self, seen: &Seen) -> Option<Decision> {
        let cd = self.options.clusters.get(&seen.cluster)?;
        match seen.state.as_str() {
            "pending" => Some(match self.apply_syncset(cd, &seen.addon) {
                Ok(()) => Decision::State {
                    state: "installing",
                    description: format!(
                        "SyncSet addon-{} written for ClusterDeployment {}/{}",
                        seen.addon, cd.namespace, cd.name
                    ),
                    operator_version: None,
                },
                Err(why) => Decision::State {
                    state: "failed",
                    description: why,
                    operator_version: None,
                },
            }),
            "installing" | "ready" | "failed" => self.telemetry(seen),
            "deleting" => match self.delete_syncset(cd, &seen.addon) {
                Ok(()) => Some(Decision::Remove),
                Err(why) => {
                    eprintln!(
                        "fake-ocm: uninstall of {} from {}: {why}",
                        seen.addon, seen.cluster
                    );
                    None
                }
            },
            _ => None,
        }
    }

    fn syncset_path(cd: &ClusterDeploymentRef, addon: &str) -> String {
        format!(
            "/apis/hive.openshift.io/v1/namespaces/{}/syncsets/addon-{addon}",
            cd.namespace
        )
    }

    /// Renders the add-on's SyncSet for this ClusterDeployment and applies it.
    fn apply_syncset(&self, cd: &ClusterDeploymentRef, addon: &str) -> Result<(), String> {
        let hive = self
            .hive
            .as_ref()
            .ok_or("fake-ocm was given no Hive API (--hive-url)")?;
        let document = self.options.documents.get(addon).ok_or_else(|| {
            format!("fake-ocm has no add-on document for {addon} to render its SyncSet from (--document)")
        })?;
        let list = render(
            document,
            &Target::ClusterDeployments(vec![cd.clone()]),
            &RenderOptions::default(),
        )
        .map_err(|e| format!("cannot render the SyncSet: {e}"))?;
        let list = serde_json::to_value(list).map_err(|e| e.to_string())?;
        let syncset = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|item| item["kind"] == "SyncSet")
            .ok_or("the rendering has no SyncSet")?;
        let path = format!(
            "{}?fieldManager=ocm&force=true",
            Self::syncset_path(cd, addon)
        );
        let body = serde_json::to_vec(syncset).map_err(|e| e.to_string())?;
        let response = hive
            .send(&Request::new("PATCH", &path).body("application/apply-patch+yaml", body))
            .map_err(|e| format!("Hive: {e}"))?;
        if !response.is_success() {
            return Err(format!(
                "Hive refused the SyncSet: HTTP {}: {}",
                response.status,
                common::remote::http::snippet(&response.text())
            ));
        }
        Ok(())
    }

    fn delete_syncset(&self, cd: &ClusterDeploymentRef, addon: &str) -> Result<(), String> {
        let Some(hive) = &self.hive else {
            return Ok(());
        };
        let response = hive
            .send(&Request::new("DELETE", &Self::syncset_path(cd, addon)))
            .map_err(|e| format!("Hive: {e}"))?;
        if response.is_success() || response.status == 404 {
            Ok(())
        } else {
            Err(format!("Hive answered HTTP {}", response.status))
        }
    }

    /// The state telemetry gives the installation, when it says anything.
    fn telemetry(&self, seen: &Seen) -> Option<Decision> {
        let prometheus = self.prometheus.as_ref()?;
        let promql = format!(
            "{{__name__=~\"csv_succeeded|csv_abnormal\",_id={},name=~{}}}",
            quote(&seen.cluster),
            quote(&format!("{}\\..*", regex_escape(&seen.operator)))
        );
        let answer =
            common::remote::prometheus::query(prometheus, &promql, QueryMethod::Get).ok()?;
        decide_from_telemetry(&answer.samples)
    }
}

/// OCM's reading of a cluster's CSV telemetry: a Failed CSV fails the
/// installation, a succeeded one makes it ready, anything else is still
/// installing; no telemetry at all decides nothing.
pub fn decide_from_telemetry(samples: &[VectorSample]) -> Option<Decision> {
    let name = |s: &VectorSample| s.label("__name__").unwrap_or_default().to_string();
    let csv = |s: &VectorSample| s.label("name").unwrap_or_default().to_string();
    let version = |s: &VectorSample| s.label("version").map(str::to_string);
    if let Some(failed) = samples.iter().find(|s| {
        name(s) == "csv_abnormal" && s.label("phase") == Some("Failed") && s.number() >= 1.0
    }) {
        return Some(Decision::State {
            state: "failed",
            description: format!(
                "{} is Failed: {}",
                csv(failed),
                failed.label("reason").unwrap_or("no reason given")
            ),
            operator_version: version(failed),
        });
    }
    if let Some(ready) = samples
        .iter()
        .find(|s| name(s) == "csv_succeeded" && s.number() >= 1.0)
    {
        return Some(Decision::State {
            state: "ready",
            description: format!("{} Succeeded", csv(ready)),
            operator_version: version(ready),
        });
    }
    let installing = samples.first()?;
    Some(Decision::State {
        state: "installing",
        description: format!(
            "{} is {}",
            csv(installing),
            installing.label("phase").unwrap_or("Installing")
        ),
        operator_version: version(installing),
    })
}

/// Runs `pass` every `interval` on a thread until `stop` is set.
pub fn spawn_loop(
    interval: Duration,
    stop: Arc<AtomicBool>,
    pass: impl Fn() + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            pass();
            std::thread::sleep(interval);
        }
    })
}

/// The add-on's operator as OCM stores it (`operator_name`).
pub fn operator_of(addon: &Value) -> String {
    addon
        .get("operator_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(labels: &[(&str, &str)], value: &str) -> VectorSample {
        VectorSample::with_labels(labels, value)
    }

    #[test]
    fn telemetry_moves_installing_to_ready_or_failed() {
        assert_eq!(decide_from_telemetry(&[]), None);
        let installing = [sample(
            &[
                ("__name__", "csv_succeeded"),
                ("name", "a.v1.0.0"),
                ("version", "1.0.0"),
            ],
            "0",
        )];
        assert!(matches!(
            decide_from_telemetry(&installing),
            Some(Decision::State {
                state: "installing",
                ..
            })
        ));
        let ready = [sample(
            &[
                ("__name__", "csv_succeeded"),
                ("name", "a.v1.0.0"),
                ("version", "1.0.0"),
            ],
            "1",
        )];
        assert_eq!(
            decide_from_telemetry(&ready),
            Some(Decision::State {
                state: "ready",
                description: "a.v1.0.0 Succeeded".into(),
                operator_version: Some("1.0.0".into())
            })
        );
        let failed = [sample(
            &[
                ("__name__", "csv_abnormal"),
                ("name", "a.v1.0.0"),
                ("phase", "Failed"),
                ("reason", "InstallCheckFailed"),
            ],
            "1",
        )];
        assert!(matches!(
            decide_from_telemetry(&failed),
            Some(Decision::State { state: "failed", ref description, .. }) if description.contains("InstallCheckFailed")
        ));
    }
}
