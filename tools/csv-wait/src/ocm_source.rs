//! `--source ocm`: each cluster's state read from OCM's add-on installation
//! (`GET /api/clusters_mgmt/v1/clusters/{id}/addons/{addon}`) instead of
//! from telemetry. OCM's states are the ones csv-wait reports anyway, so the
//! lines, the summary and the exit codes are the same; `state_description`
//! becomes the reason, `operator_version` the version.

use common::installation::Installation;
use common::ocm_auth::OcmApi;
use common::Error;

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
        let answers = common::parallel::map_bounded(&reads, self.jobs, |(index, cluster)| {
            self.installation(&targets[*index], cluster)
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

    fn installation(&self, target: &Target, cluster: &str) -> Result<ClusterStatus, PollError> {
        let path = format!(
            "/api/clusters_mgmt/v1/clusters/{cluster}/addons/{}",
            target.addon
        );
        let response = self
            .api
            .call("GET", &path, None)
            .map_err(|error| PollError {
                // A 100 MB answer ends the wait, as an HTML page does (below).
                permanent: matches!(error, Error::Usage(_))
                    || common::http::is_oversized_answer(&error),
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
                error: self.api.refused("GET", &path, &response),
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
        Ok(status_of(&installation, target.operator))
    }
}

/// The status csv-wait reports for an installation.
pub fn status_of(installation: &Installation, operator: &str) -> ClusterStatus {
    let non_empty = |text: &Option<String>| text.clone().filter(|t| !t.is_empty());
    let version = non_empty(&installation.operator_version);
    ClusterStatus {
        state: State::from_ocm(installation.state.as_deref().unwrap_or_default()),
        csv: version.as_ref().map(|v| format!("{operator}.v{v}")),
        version,
        namespace: None,
        phase: None,
        reason: non_empty(&installation.state_description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installation_states_name_the_same_states_as_telemetry() {
        let mut installation = Installation {
            state: Some("failed".into()),
            state_description: Some("csv_abnormal: InstallCheckFailed".into()),
            operator_version: Some("1.2.0".into()),
            ..Installation::default()
        };
        let status = status_of(&installation, "my-addon");
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
            ("surprising", State::Unknown),
        ] {
            installation.state = Some(ocm.into());
            assert_eq!(status_of(&installation, "x").state, state);
            assert_eq!(
                state.as_str(),
                if ocm == "surprising" { "unknown" } else { ocm }
            );
        }
    }
}
