//! Which OCM ocm-post talks to: `--url`, `OCM_URL` or the URL `ocm login`
//! saved, with the ocm CLI's aliases. Nothing is written to production by
//! default: as with the `ocm` CLI, which reaches production only after an
//! explicit `ocm login`, a write needs a URL chosen on purpose. Reads (a dry
//! run, `--diff`, `--show`) may still use production, and say so.

use common::{Error, Result};

/// OCM's production API.
pub const PRODUCTION: &str = "https://api.openshift.com";

/// The URL chosen by `flag`, else `env` (`OCM_URL`), else `saved` (the ocm
/// CLI's login); `None` when none of them names one.
pub fn resolve(
    flag: Option<&str>,
    env: Option<String>,
    saved: Option<String>,
) -> Result<Option<String>> {
    let chosen = flag
        .map(str::to_string)
        .or(env.filter(|u| !u.is_empty()))
        .or(saved.filter(|u| !u.is_empty()));
    let Some(text) = chosen else {
        return Ok(None);
    };
    let url = match text.as_str() {
        "production" | "prod" => PRODUCTION.to_string(),
        "stage" | "staging" => "https://api.stage.openshift.com".to_string(),
        "integration" | "int" => "https://api.integration.openshift.com".to_string(),
        other if other.starts_with("http://") || other.starts_with("https://") => {
            other.trim_end_matches('/').to_string()
        }
        other => return Err(unknown_url(other)),
    };
    Ok(Some(url))
}

/// The chosen URL, or production for a read, saying so on stderr.
pub fn or_production(chosen: Option<String>, why: &str) -> String {
    chosen.unwrap_or_else(|| {
        common::cli::note(
            "ocm-post",
            format!("no --url, OCM_URL or `ocm login` URL: using production ({PRODUCTION}); {why}"),
        );
        PRODUCTION.to_string()
    })
}

/// The refusal of a write without a chosen URL.
pub fn not_chosen() -> Error {
    Error::usage(
        "no OCM URL was chosen, and ocm-post writes to production only when told to: give \
         --url production|stage|integration|URL, or set OCM_URL, or sign in with `ocm login --url ...`",
    )
}

/// The environment an OCM URL is, when it is one of the three: a prune
/// refuses an inventory of another environment.
pub fn environment_of(url: &str) -> Option<&'static str> {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let host_and_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = host_and_port.split(':').next().unwrap_or_default();
    match host {
        "api.openshift.com" => Some("production"),
        "api.stage.openshift.com" => Some("stage"),
        "api.integration.openshift.com" => Some("integration"),
        _ => None,
    }
}

fn unknown_url(text: &str) -> Error {
    Error::usage(format!(
        "--url {:?} is neither an http(s) URL nor one of production, stage, integration",
        common::cli::redact::url(text)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_follow_the_ocm_cli_and_nothing_chosen_is_none() {
        assert_eq!(
            resolve(Some("stage"), None, None).unwrap().as_deref(),
            Some("https://api.stage.openshift.com")
        );
        assert_eq!(resolve(None, None, None).unwrap(), None);
        assert_eq!(resolve(None, Some(String::new()), None).unwrap(), None);
        assert_eq!(
            resolve(None, Some("integration".into()), None)
                .unwrap()
                .as_deref(),
            Some("https://api.integration.openshift.com")
        );
        assert_eq!(
            resolve(None, None, Some("http://127.0.0.1:9/".into()))
                .unwrap()
                .as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(
            resolve(Some("staeg"), None, None)
                .unwrap_err()
                .exit_status() as u8,
            2
        );
        assert_eq!(not_chosen().exit_status() as u8, 2);
    }

    #[test]
    fn the_three_environments_are_known_by_their_hosts() {
        assert_eq!(environment_of(PRODUCTION), Some("production"));
        assert_eq!(
            environment_of("https://api.stage.openshift.com/"),
            Some("stage")
        );
        assert_eq!(
            environment_of("https://u:p@api.integration.openshift.com:443"),
            Some("integration")
        );
        assert_eq!(environment_of("http://127.0.0.1:8000"), None);
    }
}
