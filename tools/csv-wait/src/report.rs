//! What csv-wait prints: a line for each change of state as the watch sees
//! it, then a summary per add-on, and the exit code the worst verdict gives.

use serde::Serialize;
use serde_json::json;

use common::cli::io::{render_record, write_stdout, Format};
use common::cli::stream::Outcomes;
use common::{Error, Result};

use crate::addons::Watched;
use crate::state::{ClusterStatus, Outcome, State};

/// One line of output: a cluster whose state changed (for an add-on).
#[serde_with::skip_serializing_none]
#[derive(Serialize)]
pub struct Event<'a> {
    pub addon: Option<&'a str>,
    pub cluster: &'a str,
    #[serde(flatten)]
    pub status: &'a ClusterStatus,
    pub at: String,
}

/// What a watch saw, for the summary lines and the exit code.
pub struct Report {
    /// Each add-on with its clusters' last states.
    pub watched: Vec<Watched>,
    pub polls: u64,
    pub queries: u64,
    pub elapsed: f64,
    /// Why the last polls found no telemetry at all, if they did not.
    pub diagnosis: Option<String>,
    /// The error of the last poll, if it failed.
    pub last_error: Option<String>,
}

/// How the whole wait ended: the summary's `result` and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitResult {
    /// Every cluster is ready (exit 0).
    Ready,
    /// Some cluster failed (exit 5), even if time ran out for others.
    Failed,
    /// Time ran out with clusters still on their way (exit 4).
    TimedOut,
}

impl WaitResult {
    fn as_str(self) -> &'static str {
        match self {
            WaitResult::Ready => "ready",
            WaitResult::Failed => "failed",
            WaitResult::TimedOut => "timed_out",
        }
    }
}

/// How the wait ended for one add-on.
fn result_of(watched: &Watched) -> WaitResult {
    match watched.tracker.outcome() {
        Outcome::Ready => WaitResult::Ready,
        Outcome::Failed => WaitResult::Failed,
        Outcome::Waiting if watched.tracker.counts()[&State::Failed] > 0 => WaitResult::Failed,
        Outcome::Waiting => WaitResult::TimedOut,
    }
}

impl Report {
    /// The summary lines (one per add-on), then the exit code: each
    /// add-on's verdict recorded beside the stream's bad documents, the
    /// worst winning.
    pub fn finish(self, clusters: usize, format: Format, mut outcomes: Outcomes) -> Result<()> {
        let mut text = String::new();
        for watched in &self.watched {
            text.push_str(&line(
                &json!({ "summary": self.summary(watched, clusters) }),
                format,
            )?);
        }
        write_stdout(&text)?;
        for watched in &self.watched {
            outcomes.judge(watched.name(), self.verdict(watched, clusters));
        }
        outcomes.finish()
    }

    fn summary(
        &self,
        watched: &Watched,
        clusters: usize,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut summary = serde_json::Map::new();
        summary.insert("result".into(), json!(result_of(watched).as_str()));
        if let Some(addon) = &watched.addon {
            summary.insert("addon".into(), json!(addon));
        }
        summary.insert("operator".into(), json!(watched.operator));
        summary.insert("clusters".into(), json!(clusters));
        for (state, count) in &watched.tracker.counts() {
            summary.insert(state.as_str().into(), json!(count));
        }
        summary.insert("polls".into(), json!(self.polls));
        summary.insert("queries".into(), json!(self.queries));
        summary.insert(
            "elapsed_seconds".into(),
            json!((self.elapsed * 1000.0).round() / 1000.0),
        );
        summary
    }

    /// The clusters in `state`, the first five by name.
    fn listed(watched: &Watched, state: State) -> String {
        let ids = watched.tracker.clusters_in(state);
        let shown: Vec<&str> = ids.iter().take(5).copied().collect();
        let more = if ids.len() > 5 {
            format!(" and {} more", ids.len() - 5)
        } else {
            String::new()
        };
        format!("{}{more}", shown.join(", "))
    }

    /// Exit 0 when ready, 5 when failed, 4 when time ran out.
    fn verdict(&self, watched: &Watched, clusters: usize) -> Result<()> {
        let operator = &watched.operator;
        let counts = watched.tracker.counts();
        match result_of(watched) {
            WaitResult::Ready => {
                common::cli::note(
                    "csv-wait",
                    format_args!("{operator} is ready on all {clusters} cluster(s)"),
                );
                Ok(())
            }
            WaitResult::Failed => Err(Error::AddonFailed(format!(
                "{operator} failed on {} of {clusters} cluster(s): {}",
                counts[&State::Failed],
                Report::listed(watched, State::Failed)
            ))),
            WaitResult::TimedOut => {
                let not_ready = clusters - counts[&State::Ready];
                let mut message = format!(
                    "{operator} is not ready on {not_ready} of {clusters} cluster(s) after {:.0}s and {} poll(s)",
                    self.elapsed, self.polls
                );
                for state in [
                    State::Installing,
                    State::Pending,
                    State::Unknown,
                    State::Deleting,
                ] {
                    let listed = Report::listed(watched, state);
                    if counts[&state] > 0 && !listed.is_empty() {
                        message.push_str(&format!("; {}: {listed}", state.as_str()));
                    }
                }
                if let Some(why) = &self.diagnosis {
                    message.push_str(&format!(" ({why})"));
                }
                if let Some(error) = &self.last_error {
                    message.push_str(&format!("; the last poll failed: {error}"));
                }
                Err(Error::TimedOut(message))
            }
        }
    }
}

/// One output record: a JSON line, or a YAML document.
pub fn line(value: &impl Serialize, format: Format) -> Result<String> {
    render_record(value, format, "event")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Tracker;

    /// A report of one add-on on one cluster last seen in `state`.
    fn report(state: Option<State>) -> Report {
        let mut tracker = Tracker::new(&["c1".to_string()], "_id");
        if let Some(state) = state {
            tracker.record(vec![("c1".to_string(), ClusterStatus::bare(state))]);
        }
        Report {
            watched: vec![Watched {
                addon: Some("my-addon".into()),
                operator: "op".into(),
                tracker,
            }],
            polls: 1,
            queries: 1,
            elapsed: 1.0,
            diagnosis: None,
            last_error: None,
        }
    }

    #[test]
    fn wait_result_names_the_summary_result_and_picks_the_exit_code() {
        use common::ExitStatus;
        for (state, result, name, exit) in [
            (State::Ready, WaitResult::Ready, "ready", None),
            (
                State::Installing,
                WaitResult::TimedOut,
                "timed_out",
                Some(ExitStatus::TimedOut),
            ),
            (
                State::Failed,
                WaitResult::Failed,
                "failed",
                Some(ExitStatus::AddonFailed),
            ),
        ] {
            let report = report(Some(state));
            let one = &report.watched[0];
            assert_eq!(result_of(one), result);
            assert_eq!(report.summary(one, 1)["result"], name);
            assert_eq!(report.summary(one, 1)["addon"], "my-addon");
            let verdict = report.verdict(one, 1).map_err(|err| err.exit_status());
            assert_eq!(verdict.err(), exit, "{name}");
        }
        assert_eq!(result_of(&report(None).watched[0]), WaitResult::TimedOut);
    }

    #[test]
    fn a_stream_exits_with_its_worst_addon_failed_over_timed_out() {
        let mut report = report(Some(State::Ready));
        let mut failed = report.watched[0].clone();
        failed
            .tracker
            .record(vec![("c1".into(), ClusterStatus::bare(State::Failed))]);
        let mut silent = report.watched[0].clone();
        silent
            .tracker
            .record(vec![("c1".into(), ClusterStatus::bare(State::Unknown))]);
        report.watched.extend([failed, silent]);
        let err = report
            .finish(1, Format::Json, Outcomes::new("csv-wait", 3))
            .unwrap_err();
        assert_eq!(err.exit_status(), common::ExitStatus::AddonFailed);
    }
}
