//! The watch loop: poll until every add-on is settled on every cluster, the
//! time is up, or the poll budget is spent; print each change of state as it
//! is seen, back off after failed polls, and say why telemetry is silent.

use std::time::{Duration, Instant};

use common::cli::io::{write_stdout, Format};
use common::cli::stream::Outcomes;
use common::remote::http::{Client, RetryPolicy};
use common::remote::prometheus::{self, Labels, QueryMethod};
use common::text::time::now_rfc3339;
use common::{Error, RemoteKind, Result};

use crate::addons::{self, operators_shown, split_samples, Watched};
use crate::ocm_source::{self, OcmSource};
use crate::report::{line, Event, Report};
use crate::state::{ClusterStatus, Outcome, LABELS_READ, SUCCEEDED};

/// When to poll and when to stop (--interval, --timeout, --polls).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub interval: Duration,
    pub timeout: Duration,
    pub polls: Option<u64>,
}

/// One watch: poll until every add-on is settled on every cluster, the time
/// is up, or the poll budget is spent, printing each change of state as it
/// is seen.
pub struct Watch<'a> {
    pub schedule: Schedule,
    pub source: WatchSource<'a>,
    /// The server's URL as shown (without credentials).
    pub url: &'a str,
    pub clusters: &'a [String],
    /// The label that holds the cluster id (--cluster-label).
    pub cluster_label: &'a str,
    pub format: Format,
}

/// Where a watch reads the states.
pub enum WatchSource<'a> {
    /// One PromQL query per poll, sent as `method` says.
    Telemetry {
        client: &'a Client,
        promql: &'a str,
        method: QueryMethod,
    },
    /// One installation read per cluster per poll.
    Ocm(&'a OcmSource),
}

/// What to do after a poll.
enum Settle {
    Done,
    Wait(Duration),
}

impl Watch<'_> {
    /// Says on stderr what is watched where (`what`: the operators, or the
    /// add-ons' installations), then polls until done and writes the report.
    pub fn announce_and_run(
        &self,
        what: &str,
        watched: Vec<Watched>,
        outcomes: Outcomes,
    ) -> Result<()> {
        common::cli::note(
            "csv-wait",
            format_args!(
                "watching {what} on {} cluster(s) at {}, every {:?} for up to {:?}",
                self.clusters.len(),
                self.url,
                self.schedule.interval,
                self.schedule.timeout
            ),
        );
        self.run(watched)?
            .finish(self.clusters.len(), self.format, outcomes)
    }

    pub fn run(&self, mut watched: Vec<Watched>) -> Result<Report> {
        let started = Instant::now();
        let (mut polls, mut queries, mut failures) = (0u64, 0u64, 0u32);
        let mut diagnosis: Option<String> = None;
        let mut last_error: Option<String> = None;
        // `poll 3: 2 ready, 1 installing, 0 failed`, redrawn in place.
        let progress = common::cli::progress::Progress::status("csv-wait");
        loop {
            polls += 1;
            let (sent, failure) = match self.source {
                WatchSource::Telemetry {
                    client,
                    promql,
                    method,
                } => self.poll_telemetry(client, promql, method, &mut watched, &mut diagnosis)?,
                WatchSource::Ocm(source) => self.poll_ocm(source, &mut watched)?,
            };
            queries += sent;
            progress.set_message(format!("poll {polls}: {}", addons::tally(&watched)));
            match failure {
                None => {
                    failures = 0;
                    last_error = None;
                }
                Some(error) => {
                    failures += 1;
                    common::cli::note("csv-wait", format_args!("poll {polls} failed: {error}"));
                    // A request cut short by --timeout itself says nothing
                    // about the server: keep what the poll before it saw.
                    let cut_by_timeout = error.remote_kind() == Some(RemoteKind::TimedOut)
                        && started.elapsed() >= self.schedule.timeout;
                    if !cut_by_timeout || last_error.is_none() {
                        last_error = Some(error.to_string());
                    }
                }
            }
            match self.settle(&watched, started, polls, failures) {
                Settle::Done => break,
                Settle::Wait(wait) => std::thread::sleep(wait),
            }
            // A wait that ran to --timeout leaves no time for a request: a
            // poll now could only fail with "no answer within 0.0s", hiding
            // what the last real poll saw.
            if started.elapsed() >= self.schedule.timeout {
                break;
            }
        }
        progress.finish();
        Ok(Report {
            watched,
            polls,
            queries,
            elapsed: started.elapsed().as_secs_f64(),
            diagnosis,
            last_error,
        })
    }

    /// One telemetry poll: the query (for every add-on), and the diagnosis
    /// the first time it comes back empty. Returns how many queries were
    /// sent and the failure worth retrying, if any; a permanent failure is
    /// the error.
    fn poll_telemetry(
        &self,
        client: &Client,
        promql: &str,
        method: QueryMethod,
        watched: &mut [Watched],
        diagnosis: &mut Option<String>,
    ) -> Result<(u64, Option<Error>)> {
        let mut sent = 1;
        let mut labels = LABELS_READ.to_vec();
        labels.push(self.cluster_label);
        match prometheus::query_keeping(client, promql, method, Labels::Only(&labels)) {
            Ok(answer) => {
                for warning in &answer.warnings {
                    common::cli::note(
                        "csv-wait",
                        format_args!(
                            "warning from {}: {}",
                            self.url,
                            common::cli::redact::text(warning)
                        ),
                    );
                }
                let split = split_samples(&answer.samples, watched);
                for (addon, samples) in watched.iter_mut().zip(split) {
                    let changes = addon.tracker.observe(samples);
                    self.print_changes(addon.addon.as_deref(), changes)?;
                }
                if answer.samples.is_empty() && diagnosis.is_none() {
                    let (why, diagnosed_with) = diagnose(
                        client,
                        &operators_shown(watched),
                        self.cluster_label,
                        self.clusters.len(),
                    );
                    sent += diagnosed_with;
                    common::cli::note(
                        "csv-wait",
                        format_args!("no telemetry yet: {why}; still waiting"),
                    );
                    *diagnosis = Some(why);
                } else if !answer.samples.is_empty() {
                    *diagnosis = None;
                }
                Ok((sent, None))
            }
            Err(err) if err.permanent => Err(err.error),
            Err(err) => Ok((sent, Some(err.error))),
        }
    }

    /// One OCM poll: every cluster's installation (of the one add-on).
    fn poll_ocm(
        &self,
        source: &OcmSource,
        watched: &mut [Watched],
    ) -> Result<(u64, Option<Error>)> {
        let sent = (self.clusters.len() * watched.len()) as u64;
        let targets: Vec<ocm_source::Target> = watched
            .iter()
            .map(|w| ocm_source::Target {
                addon: w.name(),
                operator: &w.operator,
            })
            .collect();
        match source.poll(&targets, self.clusters) {
            Ok(statuses) => {
                for (addon, statuses) in watched.iter_mut().zip(statuses) {
                    let changes = addon.tracker.record(statuses);
                    self.print_changes(addon.addon.as_deref(), changes)?;
                }
                Ok((sent, None))
            }
            Err(err) if err.permanent => Err(err.error),
            Err(err) => Ok((sent, Some(err.error))),
        }
    }

    /// After a poll: done (every add-on settled on every cluster, or time
    /// or polls spent), or how long to wait before the next.
    fn settle(&self, watched: &[Watched], started: Instant, polls: u64, failures: u32) -> Settle {
        if watched
            .iter()
            .all(|w| w.tracker.outcome() != Outcome::Waiting)
        {
            return Settle::Done;
        }
        let deadline = started + self.schedule.timeout;
        let now = Instant::now();
        if now >= deadline || self.schedule.polls.is_some_and(|limit| polls >= limit) {
            return Settle::Done;
        }
        let wait = if failures == 0 {
            self.schedule.interval
        } else {
            backoff(self.schedule.interval, failures)
        }
        .min(deadline - now);
        if failures > 0 {
            common::cli::note(
                "csv-wait",
                format_args!("next try in {:.1}s", wait.as_secs_f64()),
            );
        }
        Settle::Wait(wait)
    }

    fn print_changes(
        &self,
        addon: Option<&str>,
        changes: Vec<(String, ClusterStatus)>,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let at = now_rfc3339();
        let mut text = String::new();
        for (cluster, status) in &changes {
            text.push_str(&line(
                &Event {
                    addon,
                    cluster,
                    status,
                    at: at.clone(),
                },
                self.format,
            )?);
        }
        // Off the progress line, should stdout be the same terminal.
        common::cli::progress::while_hidden(|| write_stdout(&text))
    }
}

/// The wait after `failures` failed polls in a row: the interval doubled
/// each time (from at least a second), at most 5 minutes.
fn backoff(interval: Duration, failures: u32) -> Duration {
    let policy = RetryPolicy {
        attempts: u32::MAX,
        base_delay: interval.max(Duration::from_secs(1)),
        max_delay: Duration::from_secs(300).max(interval),
    };
    policy.with_test_delays().delay(failures.min(17), None)
}

/// Why a poll came back empty, in words: the metric missing altogether, the
/// cluster label missing, or only these clusters silent. Returns the
/// sentence and how many queries it took.
fn diagnose(client: &Client, operator: &str, label: &str, clusters: usize) -> (String, u64) {
    let mut sent = 0;
    let mut count = |promql: String| {
        sent += 1;
        prometheus::query(client, &promql, QueryMethod::Get)
            .map(|answer| !answer.samples.is_empty())
            .ok()
    };
    let why = if count(format!("count({SUCCEEDED})")) == Some(false) {
        format!(
            "there is no {SUCCEEDED} metric at {} at all (is this the telemetry Thanos, or has the first scrape not happened yet?)",
            client.base_url()
        )
    } else if count(format!("count({SUCCEEDED}{{{label}!=\"\"}})")) == Some(false) {
        format!("{SUCCEEDED} has no `{label}` label here, so series cannot be told apart by cluster (see --cluster-label)")
    } else if count(format!("count({SUCCEEDED}{{name!=\"\"}})")) == Some(false) {
        format!("{SUCCEEDED} has no `name` label here, so the CSV of {operator} cannot be found")
    } else {
        format!("none of the {clusters} cluster(s) reports CSV telemetry (check the ids: telemetry uses the external cluster id)")
    };
    (why, sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(Duration::from_secs(10), 1), Duration::from_secs(10));
        assert_eq!(backoff(Duration::from_secs(10), 3), Duration::from_secs(40));
        assert_eq!(
            backoff(Duration::from_secs(10), 30),
            Duration::from_secs(300)
        );
        assert_eq!(backoff(Duration::ZERO, 2), Duration::from_secs(2));
    }
}
