//! Several add-ons watched at once (a stream of add-on documents). A poll
//! is still one query (see [`crate::query::poll_query`]); its answer is
//! split here by CSV name, so that each add-on keeps its own state machine
//! (a [`Tracker`] per add-on, exactly as when one add-on is watched). Pure:
//! no clock, no network.

use std::collections::BTreeMap;

use common::remote::prometheus::VectorSample;

use crate::state::{Outcome, Tracker, ABNORMAL, SUCCEEDED};

/// One add-on being watched: whose CSVs to look for, and what each cluster
/// last reported for them.
#[derive(Debug, Clone)]
pub struct Watched {
    /// The add-on's id, when it came from a document (`--operator` has none).
    pub addon: Option<String>,
    /// The OLM package: its CSVs are named `<operator>.v<version>`.
    pub operator: String,
    pub tracker: Tracker,
}

impl Watched {
    /// How messages and the summary name this add-on.
    pub fn name(&self) -> &str {
        self.addon.as_deref().unwrap_or(&self.operator)
    }
}

/// `my-addon`, or `3 add-ons (a, b, c)` (the first five named): the
/// operators watched.
pub fn operators_shown(watched: &[Watched]) -> String {
    shown(watched, |w| w.operator.as_str())
}

/// [`operators_shown`] by add-on id, for `--source ocm`.
pub fn addons_shown(watched: &[Watched]) -> String {
    shown(watched, Watched::name)
}

fn shown(watched: &[Watched], name: impl Fn(&Watched) -> &str) -> String {
    match watched {
        [one] => name(one).to_string(),
        many => {
            let names: Vec<&str> = many.iter().take(5).map(&name).collect();
            let more = if many.len() > 5 { ", ..." } else { "" };
            format!("{} add-ons ({}{more})", many.len(), names.join(", "))
        }
    }
}

/// The progress line's tally: one add-on's clusters by state (`2 ready, 1
/// installing, 0 failed`), or for a stream the add-ons by how they stand
/// (`3 add-ons: 1 ready, 1 failed, 1 waiting`).
pub fn tally(watched: &[Watched]) -> String {
    if let [one] = watched {
        return one.tracker.tally();
    }
    let count = |outcome: Outcome| {
        watched
            .iter()
            .filter(|w| w.tracker.outcome() == outcome)
            .count()
    };
    format!(
        "{} add-ons: {} ready, {} failed, {} waiting",
        watched.len(),
        count(Outcome::Ready),
        count(Outcome::Failed),
        count(Outcome::Waiting)
    )
}

/// The operator a CSV name belongs to: the longest of `operators` that the
/// name starts with, followed by a dot (`my-addon.v1.0.0` is `my-addon`'s,
/// even when `my` is watched too).
pub fn owner<'a>(csv: &str, operators: &[&'a str]) -> Option<&'a str> {
    operators
        .iter()
        .copied()
        .filter(|op| {
            csv.strip_prefix(op)
                .is_some_and(|rest| rest.starts_with('.'))
        })
        .max_by_key(|op| op.len())
}

/// One poll's samples, split per watched add-on (in the order of
/// `watched`): each add-on gets the csv_* series of its own CSVs, and every
/// add-on gets the series that only say a cluster reports CSV telemetry.
/// The samples are lent, not copied: a poll of 2,000 clusters is 8,000 of them.
pub fn split_samples<'s>(
    samples: &'s [VectorSample],
    watched: &[Watched],
) -> Vec<Vec<&'s VectorSample>> {
    let operators: Vec<&str> = watched.iter().map(|w| w.operator.as_str()).collect();
    let mut shared = Vec::new();
    let mut by_operator: BTreeMap<&str, Vec<&VectorSample>> = BTreeMap::new();
    for sample in samples {
        match sample.label("__name__") {
            Some(SUCCEEDED) | Some(ABNORMAL) => {
                let csv = sample.label("name").unwrap_or_default();
                if let Some(operator) = owner(csv, &operators) {
                    by_operator.entry(operator).or_default().push(sample);
                }
            }
            Some(_) => {}
            None => shared.push(sample),
        }
    }
    watched
        .iter()
        .map(|w| {
            let mut own = by_operator
                .get(w.operator.as_str())
                .cloned()
                .unwrap_or_default();
            own.extend(shared.iter().copied());
            own
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Outcome, State};

    fn sample(labels: &[(&str, &str)], value: &str) -> VectorSample {
        VectorSample::with_labels(labels, value)
    }

    fn watched(operator: &str) -> Watched {
        Watched {
            addon: Some(format!("{operator}-addon")),
            operator: operator.to_string(),
            tracker: Tracker::new(&["c1".to_string()], "_id"),
        }
    }

    #[test]
    fn a_csv_belongs_to_the_longest_operator_it_is_named_after() {
        let operators = ["my", "my-addon", "other"];
        assert_eq!(owner("my-addon.v1.0.0", &operators), Some("my-addon"));
        assert_eq!(owner("my.v2.0.0", &operators), Some("my"));
        assert_eq!(owner("my-addonx.v1.0.0", &operators), None);
        assert_eq!(owner("other", &operators), None, "no version, no dot");
    }

    #[test]
    fn each_addon_gets_its_own_csvs_and_the_cluster_presence() {
        let mut addons = vec![watched("alpha"), watched("beta"), watched("gamma")];
        let samples = vec![
            sample(
                &[
                    ("__name__", SUCCEEDED),
                    ("_id", "c1"),
                    ("name", "alpha.v1.0.0"),
                    ("version", "1.0.0"),
                ],
                "1",
            ),
            sample(
                &[
                    ("__name__", ABNORMAL),
                    ("_id", "c1"),
                    ("name", "beta.v2.0.0"),
                    ("phase", "Failed"),
                    ("reason", "InstallCheckFailed"),
                ],
                "1",
            ),
            sample(&[("_id", "c1")], "7"),
        ];
        let split = split_samples(&samples, &addons);
        assert_eq!(split.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        for (addon, samples) in addons.iter_mut().zip(split) {
            addon.tracker.observe(samples.iter().copied());
        }
        let states: Vec<State> = addons
            .iter()
            .map(|a| *a.tracker.counts().iter().find(|(_, n)| **n == 1).unwrap().0)
            .collect();
        assert_eq!(states, [State::Ready, State::Failed, State::Pending]);
        assert_eq!(addons[0].tracker.outcome(), Outcome::Ready);
        assert_eq!(addons[1].tracker.outcome(), Outcome::Failed);
        assert_eq!(addons[2].tracker.outcome(), Outcome::Waiting);
        assert_eq!(addons[2].name(), "gamma-addon");
        assert_eq!(tally(&addons), "3 add-ons: 1 ready, 1 failed, 1 waiting");
        assert_eq!(tally(&addons[..1]), addons[0].tracker.tally());
    }
}
