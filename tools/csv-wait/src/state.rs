//! From telemetry samples to the add-on's state on each cluster, and which
//! clusters changed since the last poll. Pure: no clock, no network.
//!
//! OLM exports two gauges per ClusterServiceVersion, and telemetry adds the
//! cluster id (`_id`): `csv_succeeded{name, namespace, version}` is 1 when
//! the CSV is Succeeded and 0 otherwise; `csv_abnormal{name, namespace,
//! phase, reason, version}` exists while the CSV is in any other phase.
//! They map onto OCM's add-on installation states as follows, the first rule
//! that applies winning:
//!
//! | telemetry of the add-on's CSVs on the cluster        | state        |
//! |------------------------------------------------------|--------------|
//! | `csv_abnormal` with phase `Failed`                   | `failed`     |
//! | `csv_abnormal` with phase `Deleting`                 | `deleting`   |
//! | `csv_abnormal` with any other phase                  | `installing` |
//! | `csv_succeeded == 1`                                 | `ready`      |
//! | `csv_succeeded == 0`                                 | `installing` |
//! | none, but the cluster reports other CSVs             | `pending`    |
//! | the cluster reports no CSV at all                    | `unknown`    |

use std::collections::BTreeMap;

use serde::Serialize;

use common::remote::prometheus::VectorSample;

pub const SUCCEEDED: &str = "csv_succeeded";
pub const ABNORMAL: &str = "csv_abnormal";

/// The labels of a sample that csv-wait reads, besides the cluster label:
/// a poll keeps these and drops the rest as it reads the answer.
pub const LABELS_READ: [&str; 6] = [
    "__name__",
    "name",
    "version",
    "namespace",
    "phase",
    "reason",
];

/// OCM's add-on installation states, plus `unknown` for a silent cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Installing,
    Ready,
    Failed,
    Deleting,
    Unknown,
}

impl State {
    /// The state of one of OCM's installation states
    /// (`AddOnInstallationState`: `common::remote::installation::INSTALLATION_STATES`);
    /// `None` for a value OCM does not define (`READY`, `done`).
    pub fn from_ocm(state: &str) -> Option<State> {
        match state {
            "pending" => Some(State::Pending),
            "installing" => Some(State::Installing),
            "ready" => Some(State::Ready),
            "failed" => Some(State::Failed),
            "deleting" => Some(State::Deleting),
            _ => None,
        }
    }

    pub const ALL: [State; 6] = [
        State::Pending,
        State::Installing,
        State::Ready,
        State::Failed,
        State::Deleting,
        State::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Installing => "installing",
            State::Ready => "ready",
            State::Failed => "failed",
            State::Deleting => "deleting",
            State::Unknown => "unknown",
        }
    }
}

/// What is known about the add-on on one cluster.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    pub state: State,
    /// The CSV the state comes from.
    pub csv: Option<String>,
    pub version: Option<String>,
    pub namespace: Option<String>,
    /// The CSV phase (`Installing`, `Failed`, ...); `Succeeded` when ready.
    pub phase: Option<String>,
    pub reason: Option<String>,
}

impl ClusterStatus {
    pub fn bare(state: State) -> ClusterStatus {
        ClusterStatus {
            state,
            csv: None,
            version: None,
            namespace: None,
            phase: None,
            reason: None,
        }
    }

    fn from_sample(state: State, sample: &VectorSample, phase: Option<&str>) -> ClusterStatus {
        let label = |name: &str| {
            sample
                .label(name)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        ClusterStatus {
            state,
            csv: label("name"),
            version: label("version"),
            namespace: label("namespace"),
            phase: phase.map(str::to_string).or_else(|| label("phase")),
            reason: label("reason"),
        }
    }
}

/// The state of one cluster from its samples of the add-on's CSV metrics;
/// `reports` says whether the cluster sends CSV telemetry at all.
pub fn classify(samples: &[&VectorSample], reports: bool) -> ClusterStatus {
    let metric = |sample: &&VectorSample, name: &str| sample.label("__name__") == Some(name);
    let abnormal: Vec<&VectorSample> = samples
        .iter()
        .filter(|s| metric(s, ABNORMAL) && s.number() >= 1.0)
        .copied()
        .collect();
    let with_phase = |phase: &str| {
        newest(
            abnormal
                .iter()
                .copied()
                .filter(|s| s.label("phase") == Some(phase)),
        )
    };
    if let Some(sample) = with_phase("Failed") {
        return ClusterStatus::from_sample(State::Failed, sample, None);
    }
    if let Some(sample) = with_phase("Deleting") {
        return ClusterStatus::from_sample(State::Deleting, sample, None);
    }
    if let Some(sample) = newest(abnormal.iter().copied()) {
        return ClusterStatus::from_sample(State::Installing, sample, None);
    }
    let succeeded: Vec<&VectorSample> = samples
        .iter()
        .filter(|s| metric(s, SUCCEEDED))
        .copied()
        .collect();
    if let Some(sample) = newest(succeeded.iter().copied().filter(|s| s.number() >= 1.0)) {
        return ClusterStatus::from_sample(State::Ready, sample, Some("Succeeded"));
    }
    if let Some(sample) = newest(succeeded.iter().copied()) {
        return ClusterStatus::from_sample(State::Installing, sample, None);
    }
    ClusterStatus::bare(if reports {
        State::Pending
    } else {
        State::Unknown
    })
}

/// The sample of the highest CSV version (during an upgrade two CSVs report).
fn newest<'a>(samples: impl Iterator<Item = &'a VectorSample>) -> Option<&'a VectorSample> {
    samples.max_by(|a, b| version_key(a).cmp(&version_key(b)))
}

fn version_key(sample: &VectorSample) -> (Option<semver::Version>, String) {
    let version = sample
        .label("version")
        .and_then(|v| semver::Version::parse(v.trim_start_matches('v')).ok());
    (
        version,
        sample.label("name").unwrap_or_default().to_string(),
    )
}

/// The clusters being watched and what was last reported for each.
#[derive(Debug, Clone)]
pub struct Tracker {
    cluster_label: String,
    statuses: BTreeMap<String, Option<ClusterStatus>>,
}

/// How the wait stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every cluster is ready.
    Ready,
    /// Every cluster is ready or failed, and at least one failed.
    Failed,
    /// Some cluster is still on its way.
    Waiting,
}

impl Tracker {
    /// Watches `clusters`, identified in telemetry by `cluster_label` (`_id`).
    pub fn new(clusters: &[String], cluster_label: &str) -> Tracker {
        Tracker {
            cluster_label: cluster_label.to_string(),
            statuses: clusters.iter().map(|id| (id.clone(), None)).collect(),
        }
    }

    /// Takes one poll's samples: the add-on's CSV series, and series with
    /// only the cluster label (the count of CSVs a cluster reports, which
    /// tells a pending cluster from a silent one). Returns the clusters whose
    /// status changed, in cluster order (all of them on the first poll).
    pub fn observe<'s>(
        &mut self,
        samples: impl IntoIterator<Item = &'s VectorSample>,
    ) -> Vec<(String, ClusterStatus)> {
        let mut by_cluster: BTreeMap<&str, (bool, Vec<&VectorSample>)> = BTreeMap::new();
        for sample in samples {
            let Some(cluster) = sample.label(&self.cluster_label) else {
                continue;
            };
            if !self.statuses.contains_key(cluster) {
                continue;
            }
            let entry = by_cluster.entry(cluster).or_default();
            match sample.label("__name__") {
                Some(SUCCEEDED) | Some(ABNORMAL) => entry.1.push(sample),
                Some(_) => {}
                None => entry.0 |= sample.number() > 0.0,
            }
        }
        let statuses: Vec<(String, ClusterStatus)> = self
            .statuses
            .keys()
            .map(|cluster| {
                let (reports, own) = by_cluster.remove(cluster.as_str()).unwrap_or_default();
                let status = classify(&own, reports || !own.is_empty());
                (cluster.clone(), status)
            })
            .collect();
        self.record(statuses)
    }

    /// Takes each cluster's status as a source reported it (OCM's
    /// installation state) and returns the clusters whose status changed,
    /// in cluster order; clusters not watched are ignored.
    pub fn record(
        &mut self,
        statuses: Vec<(String, ClusterStatus)>,
    ) -> Vec<(String, ClusterStatus)> {
        let mut reported: BTreeMap<String, ClusterStatus> = statuses.into_iter().collect();
        let mut changes = Vec::new();
        for (cluster, last) in self.statuses.iter_mut() {
            let Some(status) = reported.remove(cluster) else {
                continue;
            };
            if last.as_ref() != Some(&status) {
                *last = Some(status.clone());
                changes.push((cluster.clone(), status));
            }
        }
        changes
    }

    /// How many clusters are in each state (not yet polled counts as pending).
    pub fn counts(&self) -> BTreeMap<State, usize> {
        let mut counts: BTreeMap<State, usize> = State::ALL.iter().map(|s| (*s, 0)).collect();
        for status in self.statuses.values() {
            *counts
                .entry(status.as_ref().map_or(State::Pending, |s| s.state))
                .or_default() += 1;
        }
        counts
    }

    /// The progress line's tally: `2 ready, 1 installing, 0 failed`: every
    /// state some cluster is in, and always ready and failed.
    pub fn tally(&self) -> String {
        self.counts()
            .into_iter()
            .filter(|(state, count)| *count > 0 || matches!(state, State::Ready | State::Failed))
            .map(|(state, count)| format!("{count} {}", state.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn outcome(&self) -> Outcome {
        let states: Vec<Option<State>> = self
            .statuses
            .values()
            .map(|s| s.as_ref().map(|s| s.state))
            .collect();
        if states.iter().all(|s| *s == Some(State::Ready)) {
            Outcome::Ready
        } else if states
            .iter()
            .all(|s| matches!(s, Some(State::Ready) | Some(State::Failed)))
        {
            Outcome::Failed
        } else {
            Outcome::Waiting
        }
    }

    /// The clusters in `state`, for the final message.
    pub fn clusters_in(&self, state: State) -> Vec<&str> {
        self.statuses
            .iter()
            .filter(|(_, s)| s.as_ref().map(|s| s.state) == Some(state))
            .map(|(id, _)| id.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(labels: &[(&str, &str)], value: &str) -> VectorSample {
        VectorSample::with_labels(labels, value)
    }

    fn succeeded(cluster: &str, version: &str, value: &str) -> VectorSample {
        let name = format!("my-addon.v{version}");
        sample(
            &[
                ("__name__", SUCCEEDED),
                ("_id", cluster),
                ("name", &name),
                ("version", version),
                ("namespace", "ns"),
            ],
            value,
        )
    }

    fn abnormal(cluster: &str, version: &str, phase: &str, reason: &str) -> VectorSample {
        let name = format!("my-addon.v{version}");
        sample(
            &[
                ("__name__", ABNORMAL),
                ("_id", cluster),
                ("name", &name),
                ("version", version),
                ("phase", phase),
                ("reason", reason),
            ],
            "1",
        )
    }

    fn present(cluster: &str) -> VectorSample {
        sample(&[("_id", cluster)], "12")
    }

    #[test]
    fn follows_pending_installing_ready() {
        let clusters = vec!["c1".to_string(), "c2".to_string()];
        let mut tracker = Tracker::new(&clusters, "_id");
        let first = tracker.observe(&[present("c1")]);
        assert_eq!(first.len(), 2, "the first poll reports every cluster");
        assert_eq!(first[0].1.state, State::Pending);
        assert_eq!(first[1].1.state, State::Unknown);
        assert!(
            tracker.observe(&[present("c1")]).is_empty(),
            "nothing changed, nothing reported"
        );
        let installing = tracker.observe(&[
            present("c1"),
            abnormal("c1", "1.0.0", "Installing", "InstallWaiting"),
        ]);
        assert_eq!(installing.len(), 1);
        assert_eq!(installing[0].1.state, State::Installing);
        assert_eq!(installing[0].1.reason.as_deref(), Some("InstallWaiting"));
        let ready =
            tracker.observe(&[succeeded("c1", "1.0.0", "1"), succeeded("c2", "1.0.0", "1")]);
        assert_eq!(ready.len(), 2);
        assert_eq!(ready[0].1.phase.as_deref(), Some("Succeeded"));
        assert_eq!(ready[0].1.csv.as_deref(), Some("my-addon.v1.0.0"));
        assert_eq!(tracker.outcome(), Outcome::Ready);
    }

    #[test]
    fn tally_names_the_states_clusters_are_in_and_always_ready_and_failed() {
        let clusters = vec!["c1".to_string(), "c2".to_string(), "c3".to_string()];
        let mut tracker = Tracker::new(&clusters, "_id");
        assert_eq!(tracker.tally(), "3 pending, 0 ready, 0 failed");
        tracker.observe(&[
            present("c1"),
            abnormal("c1", "1.0.0", "Installing", "InstallWaiting"),
            succeeded("c2", "1.0.0", "1"),
        ]);
        assert_eq!(
            tracker.tally(),
            "1 installing, 1 ready, 0 failed, 1 unknown"
        );
    }

    #[test]
    fn failed_wins_and_ends_the_wait_once_the_rest_is_ready() {
        let clusters = vec!["c1".to_string(), "c2".to_string()];
        let mut tracker = Tracker::new(&clusters, "_id");
        tracker.observe(&[
            abnormal("c1", "1.0.0", "Failed", "InstallCheckFailed"),
            succeeded("c1", "0.9.0", "1"),
        ]);
        assert_eq!(tracker.counts()[&State::Failed], 1);
        assert_eq!(tracker.outcome(), Outcome::Waiting, "c2 is still unknown");
        tracker.observe(&[
            abnormal("c1", "1.0.0", "Failed", "InstallCheckFailed"),
            succeeded("c2", "1.0.0", "1"),
        ]);
        assert_eq!(tracker.outcome(), Outcome::Failed);
        assert_eq!(tracker.clusters_in(State::Failed), ["c1"]);
    }

    #[test]
    fn upgrades_report_the_newest_csv_and_other_clusters_are_ignored() {
        let mut tracker = Tracker::new(&["c1".to_string()], "_id");
        let changes = tracker.observe(&[
            succeeded("c1", "1.2.0", "1"),
            succeeded("c1", "1.10.0", "1"),
            succeeded("other", "9.9.9", "0"),
        ]);
        assert_eq!(changes[0].1.version.as_deref(), Some("1.10.0"));
        let changes = tracker.observe(&[succeeded("c1", "1.10.0", "0")]);
        assert_eq!(changes[0].1.state, State::Installing);
        let changes = tracker.observe(&[abnormal("c1", "1.10.0", "Deleting", "")]);
        assert_eq!(changes[0].1.state, State::Deleting);
        assert_eq!(changes[0].1.reason, None, "empty labels are left out");
    }
}
