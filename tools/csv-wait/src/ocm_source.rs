//! `--source ocm`: each cluster's state read from OCM's add-on installation
//! (`GET /api/clusters_mgmt/v1/clusters/{id}/addons/{addon}`) instead of
//! from telemetry. OCM's states are the ones csv-wait reports anyway, so the
//! lines, the summary and the exit codes are the same; `state_description`
//! becomes the reason, `operator_version` the version.

use common::remote::installation::{Installation, INSTALLATION_STATES};
use common::remote::ocm::ClusterPaths;
use common::remote::ocm_auth::OcmApi;
use common::{Error, RemoteKind};

use crate::state::{ClusterStatus, State};

/// One poll's failure: `permanent` when retrying cannot help (credentials
/// refused, no such add-on).
pub struct PollError {
    pub error: Error,
    pub permanent: bool,
}

/// Where to read, and how many reads at once.
pub struct OcmSource {
    pub api: OcmApi,
    pub jobs: usize,
}

/// One add-on whose installations a poll reads: its id in OCM and its OLM
/// package (for the CSV name reported).
pub struct Target<'a> {
    pub addon: &'a str,
    pub operator: &'a str,
}

impl OcmSource {
    /// Reads every add-on's installation on every cluster (at most `jobs`
    /// at once) and returns, per add-on in the order of `targets`, each
    /// cluster's status; a cluster without the installation is `unknown`.
    pub fn poll(
        &self,
        targets: &[Target],
        clusters: &[String],
    ) -> Result<Vec<Vec<(String, ClusterStatus)>>, PollError> {
        let reads: Vec<(usize, &String)> = (0..targets.len())
            .flat_map(|index| clusters.iter().map(move |cluster| (index, cluster)))
            .collect();
        // Every path is built (its ids checked) before any request is sent.
        let requests = reads
            .iter()
            .map(|(index, cluster)| {
                let target = &targets[*index];
                Ok((target, installation_path(cluster, target.addon)?))
            })
            .collect::<Result<Vec<(&Target, String)>, PollError>>()?;
        let answers = common::cli::parallel::map_bounded(&requests, self.jobs, |(target, path)| {
            self.installation(target, path)
        });
        let mut statuses: Vec<Vec<(String, ClusterStatus)>> = targets
            .iter()
            .map(|_| Vec::with_capacity(clusters.len()))
            .collect();
        for ((index, cluster), answer) in reads.into_iter().zip(answers) {
            statuses[index].push((cluster.clone(), answer?));
        }
        Ok(statuses)
    }

    fn installation(&self, target: &Target, path: &str) -> Result<ClusterStatus, PollError> {
        let response = self
            .api
            .call("GET", path, None)
            .map_err(|error| PollError {
                // A 100 MB answer ends the wait, as an HTML page does (below).
                permanent: matches!(error, Error::Usage(_))
                    || error.remote_kind() == Some(RemoteKind::Oversized),
                error,
            })?;
        if response.status == 404 {
            return Ok(ClusterStatus {
                reason: Some("not installed".into()),
                ..ClusterStatus::bare(State::Unknown)
            });
        }
        if !response.is_success() {
            return Err(PollError {
                error: self.api.refused("GET", path, &response),
                permanent: matches!(response.status, 400 | 401 | 403),
            });
        }
        let installation: Installation =
            response
                .json(self.api.base_url())
                .map_err(|error| PollError {
                    error,
                    permanent: true,
                })?;
        // A state OCM does not define would be waited on until --timeout:
        // it is not the API we know, so the wait ends here (exit 3).
        status_of(&installation, target.operator).map_err(|why| PollError {
            error: Error::remote_as(
                RemoteKind::NotTheApi,
                self.api.base_url(),
                format!("GET {path}: {why}"),
            ),
            permanent: true,
        })
    }
}

/// The installation's path: the cluster id and the add-on id as written
/// (`--cluster-id`, `--addon`, the document's id) go into it only when they
/// are OCM ids, each as one percent-encoded segment; anything else is a
/// usage error before any request (`../../clusters/c9` or `victim#x` would
/// read another object than the one meant).
fn installation_path(cluster: &str, addon: &str) -> Result<String, PollError> {
    let usage = |error: String| PollError {
        error: Error::usage(error),
        permanent: true,
    };
    common::model::names::ocm_id("cluster id", cluster).map_err(usage)?;
    common::model::names::ocm_id("add-on id", addon).map_err(usage)?;
    Ok(ClusterPaths::new(cluster, addon).installation)
}

/// The status csv-wait reports for an installation, or why it cannot say:
/// a state OCM does not define, named.
pub fn status_of(installation: &Installation, operator: &str) -> Result<ClusterStatus, String> {
    let non_empty = |text: &Option<String>| text.clone().filter(|t| !t.is_empty());
    let state = match installation.state.as_deref() {
        // No state yet: nothing reported, as a cluster without telemetry.
        None | Some("") => State::Unknown,
        Some(ocm) => State::from_ocm(ocm).ok_or_else(|| {
            format!(
                "the installation's state is {ocm:?}, which is not one of OCM's add-on \
                 installation states ({}); csv-wait cannot tell how the add-on stands",
                INSTALLATION_STATES.join(", ")
            )
        })?,
    };
    let version = non_empty(&installation.operator_version);
    Ok(ClusterStatus {
        state,
        csv: version.as_ref().map(|v| format!("{operator}.v{v}")),
        version,
        namespace: None,
        phase: None,
        reason: non_empty(&installation.state_description),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_would_leave_their_path_segment_are_refused_before_any_request() {
        assert_eq!(
            installation_path("049ea229-6d2e", "my-addon").ok(),
            Some("/api/clusters_mgmt/v1/clusters/049ea229-6d2e/addons/my-addon".to_string())
        );
        for (cluster, addon) in [
            ("../../c9", "a"),
            ("c1", "victim#x"),
            ("c1", ".."),
            ("c1/x", "a"),
        ] {
            let err = installation_path(cluster, addon).unwrap_err();
            assert!(err.permanent);
            assert!(matches!(err.error, Error::Usage(_)), "{}", err.error);
            assert!(
                err.error.to_string().contains("is not an OCM"),
                "{}",
                err.error
            );
        }
    }

    #[test]
    fn installation_states_name_the_same_states_as_telemetry() {
        let mut installation = Installation {
            state: Some("failed".into()),
            state_description: Some("csv_abnormal: InstallCheckFailed".into()),
            operator_version: Some("1.2.0".into()),
            ..Installation::default()
        };
        let status = status_of(&installation, "my-addon").unwrap();
        assert_eq!(status.state, State::Failed);
        assert_eq!(status.csv.as_deref(), Some("my-addon.v1.2.0"));
        assert_eq!(
            status.reason.as_deref(),
            Some("csv_abnormal: InstallCheckFailed")
        );
        for (ocm, state) in [
            ("pending", State::Pending),
            ("installing", State::Installing),
            ("ready", State::Ready),
            ("deleting", State::Deleting),
        ] {
            installation.state = Some(ocm.into());
            assert_eq!(status_of(&installation, "x").unwrap().state, state);
            assert_eq!(state.as_str(), ocm);
        }
        installation.state = None;
        assert_eq!(status_of(&installation, "x").unwrap().state, State::Unknown);
    }

    #[test]
    fn every_state_ocm_defines_is_known_and_no_other() {
        for ocm in INSTALLATION_STATES {
            assert_eq!(State::from_ocm(ocm).map(State::as_str), Some(ocm));
        }
        let installation = Installation {
            state: Some("READY".into()),
            ..Installation::default()
        };
        let why = status_of(&installation, "x").unwrap_err();
        assert!(
            why.starts_with("the installation's state is \"READY\", which is not one of OCM's")
                && why.contains("(pending, installing, ready, failed, deleting)"),
            "{why}"
        );
    }
}
