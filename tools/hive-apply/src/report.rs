//! What a run did, what failed and why, collected in one place from every
//! step (apply, prune, label), and the closing error that says, per cause,
//! what would help.

use common::Error;

use crate::api::{Cause, KubeError, KubeResult};
use crate::apply::Done;

/// The results of a run so far.
#[derive(Default)]
pub struct Report {
    /// Each object's result, in the order the steps ran.
    pub done: Vec<Done>,
    /// `--label-cluster` lines.
    pub labels: Vec<String>,
    failures: Failures,
    /// Why a step that must not run on this input (a prune) did not run.
    refusal: Option<Error>,
}

impl Report {
    /// Keeps what succeeded (returned, in order) and records each failure
    /// under the name of what failed.
    #[must_use]
    pub fn record<T>(
        &mut self,
        results: impl IntoIterator<Item = (String, KubeResult<T>)>,
    ) -> Vec<T> {
        let mut kept = Vec::new();
        for (what, result) in results {
            match result {
                Ok(value) => {
                    common::cli::report::outcome(&what, Ok(()));
                    kept.push(value)
                }
                Err(err) => self.fail(what, err),
            }
        }
        kept
    }

    /// Records each object's result: done, or a failure under its name.
    pub fn record_done(&mut self, results: impl IntoIterator<Item = (String, KubeResult<Done>)>) {
        let done = self.record(results);
        self.done.extend(done);
    }

    /// Records one failure.
    pub fn fail(&mut self, what: String, err: KubeError) {
        common::cli::report::outcome(&what, Err(&err.error));
        self.failures.add(what, err);
    }

    /// Records why a step was refused; the run then exits with it.
    pub fn refuse(&mut self, why: Error) {
        self.refusal.get_or_insert(why);
    }

    /// A note on stderr for the person running the tool.
    pub fn note(&self, message: impl std::fmt::Display) {
        common::cli::note("hive-apply", message);
    }

    /// Nothing failed and nothing was refused.
    pub fn is_clean(&self) -> bool {
        self.failures.count == 0 && self.refusal.is_none()
    }

    pub fn has_failures(&self) -> bool {
        self.failures.count > 0
    }

    /// The run's end: `Ok` when everything was done as asked, else the
    /// failures (each cause once, with what would help) or the refusal.
    pub fn finish(self, server: &str) -> common::Result<()> {
        if self.failures.count > 0 {
            return Err(self.failures.into_error(server, self.done.len()));
        }
        match self.refusal {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }
}

/// Failures grouped by message, so one cause (a refused token, a dead
/// server) reads as one line naming the objects it hit.
#[derive(Default)]
struct Failures {
    count: usize,
    groups: Vec<Group>,
    /// A failure of our own (a panic): the run is a bug, whatever else failed.
    internal: bool,
}

struct Group {
    message: String,
    cause: Cause,
    objects: Vec<String>,
}

impl Failures {
    fn add(&mut self, object: String, err: KubeError) {
        self.count += 1;
        self.internal |= matches!(err.error, Error::Internal(_));
        // The server is named once, in the error around these lines.
        let message = match err.error {
            Error::Remote { message, .. } => message,
            other => other.to_string(),
        };
        match self.groups.iter_mut().find(|g| g.message == message) {
            Some(group) => group.objects.push(object),
            None => self.groups.push(Group {
                message,
                cause: err.cause,
                objects: vec![object],
            }),
        }
    }

    fn into_error(self, server: &str, done: usize) -> Error {
        let headline = match done {
            0 => format!("{} step(s) failed, and nothing was done:", self.count),
            n => format!(
                "{} step(s) failed; {n} other(s) were done (on stdout):",
                self.count
            ),
        };
        let mut causes: Vec<Cause> = self.groups.iter().map(|g| g.cause).collect();
        causes.sort();
        causes.dedup();
        let advice: Vec<String> = causes
            .into_iter()
            .map(|cause| format!("  - {}", cause.advice()))
            .collect();
        let message = format!(
            "{headline}\n{}\nWhat would help:\n{}",
            self.report(),
            advice.join("\n")
        );
        if self.internal {
            Error::internal(message)
        } else {
            Error::remote(server, message)
        }
    }

    fn report(&self) -> String {
        self.groups
            .iter()
            .map(|group| {
                let shown: Vec<&str> = group.objects.iter().take(5).map(String::as_str).collect();
                let more = if group.objects.len() > 5 {
                    format!(" and {} more", group.objects.len() - 5)
                } else {
                    String::new()
                };
                format!("  {}\n    ({}{more})", group.message, shown.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(cause: Cause, message: &str) -> KubeError {
        KubeError::new(cause, Error::remote("https://hive", message))
    }

    #[test]
    fn the_closing_advice_follows_each_cause_and_counts_what_was_done() {
        let mut report = Report::default();
        let kept: Vec<u8> = report.record([
            (
                "SelectorSyncSet a".to_string(),
                Err(remote(Cause::Conflict, "409 a")),
            ),
            (
                "PagerDutyIntegration p".to_string(),
                Err(remote(Cause::NotServed, "no kind")),
            ),
            (
                "SelectorSyncSet b".to_string(),
                Err(remote(Cause::Conflict, "409 a")),
            ),
            ("ConfigMap c".to_string(), Ok(1)),
        ]);
        assert_eq!(kept, [1]);
        let err = report.finish("https://hive").unwrap_err();
        assert_eq!(err.exit_status() as u8, 3);
        let text = err.to_string();
        assert!(
            text.contains("3 step(s) failed, and nothing was done"),
            "{text}"
        );
        assert!(
            text.contains("(SelectorSyncSet a, SelectorSyncSet b)"),
            "{text}"
        );
        assert!(text.contains("--force-conflicts"), "{text}");
        assert!(
            text.contains("install its CustomResourceDefinition"),
            "{text}"
        );
        assert!(
            !text.contains("running the same command again finishes"),
            "a rerun does not fix a conflict or a missing CRD: {text}"
        );
    }

    #[test]
    fn a_server_failure_is_the_one_a_rerun_finishes() {
        let mut report = Report::default();
        report.fail("SyncSet x".into(), remote(Cause::Unavailable, "HTTP 503"));
        let text = report.finish("https://hive").unwrap_err().to_string();
        assert!(
            text.contains("running the same command again finishes the job"),
            "{text}"
        );
    }

    #[test]
    fn a_refusal_ends_a_run_that_did_its_work() {
        let mut report = Report::default();
        assert!(report.is_clean());
        report.refuse(Error::usage("no"));
        assert!(!report.is_clean() && !report.has_failures());
        assert_eq!(report.finish("s").unwrap_err().exit_status() as u8, 2);
    }
}
