//! Injected faults: a plan of misbehaviours the HTTP layer applies to the
//! next requests it reads, in order, before serving normally again. It is
//! how the tests show what every client does when a server errs, throttles,
//! drops the connection, stalls, or answers something that is not the API.
//!
//! Written as `--faults 500x3,429:retry-after=1,reset,slow=30s,truncate,hang,html,huge`:
//! each step applies to one request, `xN` to the next N.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One misbehaviour, applied to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Serve the request normally (`ok`): lets a plan fault the Nth request.
    Pass,
    /// Answer with this status, and `Retry-After: SECONDS` when given.
    Status { code: u16, retry_after: Option<u64> },
    /// Close the connection without answering.
    Reset,
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// The correct answer's head (Content-Length of the whole body) and half its body, then close.
    Truncate,
    /// Keep the connection open and never answer.
    Hang,
    /// 200 with an HTML page (a proxy's or a login page) instead of JSON.
    Html,
    /// 200 with a JSON content type and a 100 MB body, streamed.
    Huge,
}

/// The size of the `huge` body.
pub const HUGE_BODY_BYTES: u64 = 100 * 1024 * 1024;

#[derive(Debug, Default)]
struct PlanState {
    steps: VecDeque<Fault>,
    /// Requests read so far (faulted or not).
    requests: u64,
    /// Requests a fault other than `ok` was applied to.
    faulted: u64,
}

/// A shared, consumable plan: the server takes one step per request; the
/// test that holds a clone sees how many requests came and may change it.
#[derive(Clone, Default)]
pub struct FaultPlan(Arc<Mutex<PlanState>>);

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("FaultPlan")
            .field("steps", &state.steps)
            .field("requests", &state.requests)
            .finish()
    }
}

impl FaultPlan {
    /// A plan of these steps, in order.
    pub fn new(steps: impl IntoIterator<Item = Fault>) -> FaultPlan {
        let plan = FaultPlan::default();
        plan.lock().steps = steps.into_iter().collect();
        plan
    }

    /// Reads `500x3,429:retry-after=1,reset,slow=30s,truncate,hang,html,huge,ok`.
    pub fn parse(text: &str) -> Result<FaultPlan, String> {
        let mut steps = Vec::new();
        for step in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (fault, count) = parse_step(step)?;
            steps.extend(std::iter::repeat_n(fault, count));
        }
        Ok(FaultPlan::new(steps))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The fault for the request just read (`Pass` once the plan is spent).
    pub fn next_fault(&self) -> Fault {
        let mut state = self.lock();
        state.requests += 1;
        let fault = state.steps.pop_front().unwrap_or(Fault::Pass);
        if fault != Fault::Pass {
            state.faulted += 1;
        }
        fault
    }

    /// Requests the server has read.
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    /// Requests that were given a fault.
    pub fn faulted(&self) -> u64 {
        self.lock().faulted
    }

    /// Steps not yet taken.
    pub fn remaining(&self) -> usize {
        self.lock().steps.len()
    }

    /// Replaces the steps still to come (an empty list: normal service from now).
    pub fn replace(&self, steps: impl IntoIterator<Item = Fault>) {
        self.lock().steps = steps.into_iter().collect();
    }
}

/// One step: `KIND[xN][:retry-after=S]`.
fn parse_step(step: &str) -> Result<(Fault, usize), String> {
    let bad = |why: String| format!("fault step {step:?}: {why}");
    let (head, params) = match step.split_once(':') {
        Some((head, params)) => (head, Some(params)),
        None => (step, None),
    };
    let (kind, count) = match head.rsplit_once('x') {
        Some((kind, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            let count = n
                .parse::<usize>()
                .ok()
                .filter(|c| (1..=100_000).contains(c))
                .ok_or_else(|| bad(format!("the count {n:?} must be from 1 to 100000")))?;
            (kind, count)
        }
        _ => (head, 1),
    };
    let mut retry_after = None;
    if let Some(params) = params {
        for param in params.split(':') {
            match param.split_once('=') {
                Some(("retry-after", seconds)) => {
                    retry_after = Some(seconds.parse::<u64>().map_err(|_| {
                        bad(format!(
                            "retry-after={seconds:?} is not a number of seconds"
                        ))
                    })?)
                }
                _ => {
                    return Err(bad(format!(
                        "unknown parameter {param:?} (expected retry-after=SECONDS)"
                    )))
                }
            }
        }
    }
    let fault = match kind {
        "ok" => Fault::Pass,
        "reset" => Fault::Reset,
        "truncate" => Fault::Truncate,
        "hang" => Fault::Hang,
        "html" => Fault::Html,
        "huge" => Fault::Huge,
        _ if kind.starts_with("slow=") => Fault::Slow(parse_duration(&kind["slow=".len()..]).map_err(bad)?),
        _ if kind.len() == 3 && kind.bytes().all(|b| b.is_ascii_digit()) => {
            let code: u16 = kind.parse().map_err(|_| bad("not a status".into()))?;
            if !(400..=599).contains(&code) {
                return Err(bad(format!("status {code} is not an error status (400-599)")));
            }
            Fault::Status { code, retry_after }
        }
        _ => {
            return Err(bad(format!(
                "unknown kind {kind:?} (expected a status 400-599, reset, slow=DUR, truncate, hang, html, huge or ok)"
            )))
        }
    };
    if retry_after.is_some() && !matches!(fault, Fault::Status { .. }) {
        return Err(bad("retry-after only goes with a status".into()));
    }
    Ok((fault, count))
}

/// `500ms`, `30s`, `2m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (expected 500ms, 30s or 2m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" | "" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        _ => Err(format!(
            "{text:?} has an unknown unit (expected ms, s or m)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(text: &str) -> Vec<Fault> {
        let plan = FaultPlan::parse(text).unwrap();
        let n = plan.remaining();
        (0..n).map(|_| plan.next_fault()).collect()
    }

    #[test]
    fn parses_every_kind_in_order() {
        assert_eq!(
            steps("500x3,429:retry-after=1,reset,slow=30s,truncate,hang,html,huge,ok"),
            vec![
                Fault::Status {
                    code: 500,
                    retry_after: None
                },
                Fault::Status {
                    code: 500,
                    retry_after: None
                },
                Fault::Status {
                    code: 500,
                    retry_after: None
                },
                Fault::Status {
                    code: 429,
                    retry_after: Some(1)
                },
                Fault::Reset,
                Fault::Slow(Duration::from_secs(30)),
                Fault::Truncate,
                Fault::Hang,
                Fault::Html,
                Fault::Huge,
                Fault::Pass,
            ]
        );
    }

    #[test]
    fn counts_apply_to_any_kind() {
        assert_eq!(
            steps("okx2,resetx2"),
            vec![Fault::Pass, Fault::Pass, Fault::Reset, Fault::Reset]
        );
        assert_eq!(
            steps("slow=250msx2"),
            vec![Fault::Slow(Duration::from_millis(250)); 2]
        );
        assert_eq!(
            steps("429x2:retry-after=0"),
            vec![
                Fault::Status {
                    code: 429,
                    retry_after: Some(0)
                };
                2
            ]
        );
        assert_eq!(steps(""), vec![]);
    }

    #[test]
    fn a_spent_plan_serves_normally_and_counts_requests() {
        let plan = FaultPlan::parse("503").unwrap();
        assert_eq!(
            plan.next_fault(),
            Fault::Status {
                code: 503,
                retry_after: None
            }
        );
        assert_eq!(plan.next_fault(), Fault::Pass);
        assert_eq!((plan.requests(), plan.faulted()), (2, 1));
    }

    #[test]
    fn bad_plans_say_which_step_and_what_was_expected() {
        for (text, expected) in [
            ("boom", "unknown kind \"boom\""),
            ("200", "not an error status"),
            ("500x0", "count \"0\""),
            ("slow=3h", "unknown unit"),
            ("slow=fast", "not a duration"),
            ("429:retry-after=soon", "not a number of seconds"),
            ("reset:retry-after=1", "only goes with a status"),
            ("500:wait=1", "unknown parameter"),
        ] {
            let err = FaultPlan::parse(text).unwrap_err();
            assert!(
                err.contains(expected) && err.contains(text),
                "{text}: {err}"
            );
        }
    }
}
