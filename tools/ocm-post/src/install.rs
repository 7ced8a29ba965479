//! The cluster side of clusters_mgmt: installing an add-on on clusters
//! (`POST /clusters/{id}/addons`), reading and removing the installation,
//! and asking `addon_inquiries` whether a cluster may install it. Each is
//! done for every cluster named, on a bounded number of threads; one
//! cluster's failure does not stop the others, and the exit code is the worst.

use serde::Serialize;
use serde_json::{json, Value};

use common::cli::io::{render_record, write_stdout, Format};
use common::cli::note;
use common::remote::installation::{
    same_parameters, Installation, InstallationRequest, ParameterValue,
};
use common::remote::ocm::ClusterPaths;
use common::remote::ocm_auth::OcmApi;
use common::{Error, Result};

use crate::publish::PlannedRequest;

/// What to do on each cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterAction {
    /// Create the installation, or PATCH its parameters when they differ.
    Install,
    /// Print the installation.
    Show,
    /// DELETE the installation (already gone is success).
    Uninstall,
    /// Ask whether the cluster may install the add-on.
    Inquire,
}

impl ClusterAction {
    /// The flag that asks for it, for messages.
    pub fn flag(self) -> &'static str {
        match self {
            ClusterAction::Install => "--install",
            ClusterAction::Show => "--installation",
            ClusterAction::Uninstall => "--uninstall",
            ClusterAction::Inquire => "--inquire",
        }
    }
}

/// What happened on one cluster, as printed.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct ClusterResult {
    pub cluster: String,
    pub addon: String,
    /// `created`, `updated`, `unchanged`, `found`, `deleted`, `absent`,
    /// `allowed`, `refused`.
    pub result: &'static str,
    pub installation: Option<Installation>,
    pub reason: Option<String>,
}

/// The requests `--dry-run` prints for an action on each cluster.
pub fn planned_requests(
    base: &str,
    action: ClusterAction,
    addon: &str,
    clusters: &[String],
    parameters: &[ParameterValue],
) -> Result<Vec<PlannedRequest>> {
    clusters
        .iter()
        .map(|cluster| {
            let paths = ClusterPaths::new(cluster, addon);
            let (method, path, body) = match action {
                ClusterAction::Install => (
                    "POST",
                    paths.installations,
                    Some(install_body(addon, parameters)?),
                ),
                ClusterAction::Show => ("GET", paths.installation, None),
                ClusterAction::Uninstall => ("DELETE", paths.installation, None),
                ClusterAction::Inquire => ("GET", paths.inquiry, None),
            };
            Ok(PlannedRequest {
                method: method.to_string(),
                url: format!("{base}{path}"),
                body,
            })
        })
        .collect()
}

/// The install request's body. Our own types failing to serialise is a bug
/// of ours, never the user's input.
fn install_body(addon: &str, parameters: &[ParameterValue]) -> Result<Value> {
    serde_json::to_value(InstallationRequest::new(addon, parameters.to_vec()))
        .map_err(|err| Error::internal(format!("cannot serialise the install request: {err}")))
}

/// Runs `action` on every cluster with at most `jobs` at once, prints each
/// cluster's result as it is known (in the order given), and returns the
/// worst failure, after saying every one of them on stderr.
pub fn run_on_clusters(
    api: &OcmApi,
    action: ClusterAction,
    addon: &str,
    clusters: &[String],
    parameters: &[ParameterValue],
    jobs: usize,
    format: Format,
) -> Result<()> {
    let results = common::cli::parallel::map_bounded(clusters, jobs, |cluster| match action {
        ClusterAction::Install => install(api, cluster, addon, parameters),
        ClusterAction::Show => show(api, cluster, addon),
        ClusterAction::Uninstall => uninstall(api, cluster, addon),
        ClusterAction::Inquire => inquire(api, cluster, addon),
    });
    let mut text = String::new();
    let mut failures = Vec::new();
    for (cluster, result) in clusters.iter().zip(results) {
        match result {
            Ok(done) => {
                text.push_str(&render_record(&done, format, "result")?);
                if done.result == "refused" {
                    failures.push(Error::Invalid(format!(
                        "cluster {cluster} may not install {addon}: {}",
                        done.reason.as_deref().unwrap_or("OCM gave no reason")
                    )));
                }
            }
            Err(err) => failures.push(match err {
                Error::Remote {
                    target,
                    message,
                    kind,
                } => Error::Remote {
                    target,
                    message: format!("cluster {cluster}: {message}"),
                    kind,
                },
                other => other,
            }),
        }
    }
    write_stdout(&text)?;
    worst(failures)
}

/// Says every failure but the worst on stderr and returns the worst (the
/// highest exit code), or Ok when there is none.
pub(crate) fn worst(mut failures: Vec<Error>) -> Result<()> {
    failures.sort_by_key(|err| err.exit_status() as u8);
    let Some(last) = failures.pop() else {
        return Ok(());
    };
    for err in failures {
        // An error: printed even under --quiet, above any progress line.
        common::cli::progress::eprint_line(&format!("ocm-post: error: {err}"));
    }
    Err(last)
}

fn installation_of(
    api: &OcmApi,
    response: &common::remote::http::Response,
) -> Result<Installation> {
    let body = api.body(response)?;
    serde_json::from_value(body).map_err(|err| {
        Error::remote(
            api.base_url(),
            format!("answered with something that is not an AddOnInstallation ({err})"),
        )
    })
}

/// Installs, or brings the parameters of an existing installation to
/// `parameters` with a PATCH; nothing is sent when they are already so.
fn install(
    api: &OcmApi,
    cluster: &str,
    addon: &str,
    parameters: &[ParameterValue],
) -> Result<ClusterResult> {
    let paths = ClusterPaths::new(cluster, addon);
    let done = |result, installation| ClusterResult {
        cluster: cluster.to_string(),
        addon: addon.to_string(),
        result,
        installation: Some(installation),
        reason: None,
    };
    let existing = api.call("GET", &paths.installation, None)?;
    if existing.status == 404 {
        let body = install_body(addon, parameters)?;
        let response = api.call("POST", &paths.installations, Some(&body))?;
        if !response.is_success() {
            return Err(api.refused("POST", &paths.installations, &response));
        }
        note(
            "ocm-post",
            format!("installing {addon} on cluster {cluster}"),
        );
        return Ok(done("created", installation_of(api, &response)?));
    }
    if !existing.is_success() {
        return Err(api.refused("GET", &paths.installation, &existing));
    }
    let installed = installation_of(api, &existing)?;
    if same_parameters(installed.parameters.as_ref(), parameters) {
        note(
            "ocm-post",
            format!("{addon} is already installed on cluster {cluster} with these parameters; nothing to do"),
        );
        return Ok(done("unchanged", installed));
    }
    let body = json!({"parameters": {"items": parameters}});
    let response = api.call("PATCH", &paths.installation, Some(&body))?;
    if !response.is_success() {
        return Err(api.refused("PATCH", &paths.installation, &response));
    }
    note(
        "ocm-post",
        format!("updated the parameters of {addon} on cluster {cluster}"),
    );
    Ok(done("updated", installation_of(api, &response)?))
}

fn show(api: &OcmApi, cluster: &str, addon: &str) -> Result<ClusterResult> {
    let paths = ClusterPaths::new(cluster, addon);
    let response = api.call("GET", &paths.installation, None)?;
    if !response.is_success() {
        return Err(api.refused("GET", &paths.installation, &response));
    }
    Ok(ClusterResult {
        cluster: cluster.to_string(),
        addon: addon.to_string(),
        result: "found",
        installation: Some(installation_of(api, &response)?),
        reason: None,
    })
}

fn uninstall(api: &OcmApi, cluster: &str, addon: &str) -> Result<ClusterResult> {
    let paths = ClusterPaths::new(cluster, addon);
    let response = api.call("DELETE", &paths.installation, None)?;
    let result = match response.status {
        404 => "absent",
        _ if response.is_success() => "deleted",
        _ => return Err(api.refused("DELETE", &paths.installation, &response)),
    };
    note(
        "ocm-post",
        format!(
            "{addon} on cluster {cluster}: {}",
            if result == "absent" {
                "was not installed; nothing to do"
            } else {
                "uninstalling"
            }
        ),
    );
    Ok(ClusterResult {
        cluster: cluster.to_string(),
        addon: addon.to_string(),
        result,
        installation: None,
        reason: None,
    })
}

/// OCM answers an inquiry with the add-on when the cluster may install it;
/// a requirement it does not fulfil carries `status.fulfilled: false` and
/// the reasons, and an add-on the cluster cannot see is a 404.
fn inquire(api: &OcmApi, cluster: &str, addon: &str) -> Result<ClusterResult> {
    let paths = ClusterPaths::new(cluster, addon);
    let response = api.call("GET", &paths.inquiry, None)?;
    let answer = |result, reason| ClusterResult {
        cluster: cluster.to_string(),
        addon: addon.to_string(),
        result,
        installation: None,
        reason,
    };
    if response.status == 404 || response.status == 400 {
        let reason = common::remote::ocm::describe_error(response.status, &response.body);
        return Ok(answer("refused", Some(reason)));
    }
    if !response.is_success() {
        return Err(api.refused("GET", &paths.inquiry, &response));
    }
    let body = api.body(&response)?;
    match unfulfilled(&body) {
        Some(reason) => Ok(answer("refused", Some(reason))),
        None => Ok(answer("allowed", None)),
    }
}

/// The reasons of the add-on's requirements this cluster does not fulfil.
pub fn unfulfilled(addon: &Value) -> Option<String> {
    let requirements = addon
        .pointer("/requirements/items")
        .or_else(|| addon.get("requirements"))
        .and_then(Value::as_array)?;
    let reasons: Vec<String> = requirements
        .iter()
        .filter(|r| r.pointer("/status/fulfilled") == Some(&Value::Bool(false)))
        .map(|r| {
            let id = r.get("id").and_then(Value::as_str).unwrap_or("?");
            let messages: Vec<&str> = r
                .pointer("/status/error_msgs")
                .and_then(Value::as_array)
                .map(|m| m.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if messages.is_empty() {
                format!("requirement {id} is not fulfilled")
            } else {
                format!("requirement {id}: {}", messages.join("; "))
            }
        })
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfulfilled_requirements_give_the_reasons() {
        let addon = json!({"requirements": {"items": [
            {"id": "cpu", "status": {"fulfilled": false, "error_msgs": ["needs 8 vCPU"]}},
            {"id": "ok", "status": {"fulfilled": true}}
        ]}});
        assert_eq!(
            unfulfilled(&addon).as_deref(),
            Some("requirement cpu: needs 8 vCPU")
        );
        assert_eq!(unfulfilled(&json!({"requirements": []})), None);
        assert_eq!(unfulfilled(&json!({})), None);
    }

    #[test]
    fn dry_run_plans_one_request_per_cluster() {
        let clusters = vec!["c1".to_string(), "c2".to_string()];
        let parameters = vec![ParameterValue {
            id: "size".into(),
            value: "1".into(),
        }];
        let plan = planned_requests(
            "http://ocm",
            ClusterAction::Install,
            "a",
            &clusters,
            &parameters,
        )
        .unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(
            plan[1].url,
            "http://ocm/api/clusters_mgmt/v1/clusters/c2/addons"
        );
        assert_eq!(
            plan[0].body.as_ref().unwrap()["parameters"]["items"][0]["id"],
            "size"
        );
        let plan = planned_requests("", ClusterAction::Inquire, "a", &clusters, &[]).unwrap();
        assert_eq!(
            plan[0].url,
            "/api/clusters_mgmt/v1/clusters/c1/addon_inquiries/a"
        );
    }

    /// A value our own code cannot serialise (serde_json refuses maps with
    /// non-string keys).
    struct Unserialisable;

    impl Serialize for Unserialisable {
        fn serialize<S: serde::Serializer>(
            &self,
            serializer: S,
        ) -> std::result::Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(&[1u8], &1u8)?;
            map.end()
        }
    }

    #[test]
    fn a_result_that_cannot_be_serialised_is_an_internal_error_not_bad_input() {
        let err = render_record(&Unserialisable, Format::Json, "result").unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
        assert!(err.to_string().contains("a bug in addon-flow"), "{err}");
    }
}
