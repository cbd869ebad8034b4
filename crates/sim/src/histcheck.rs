//! Judges a run's client-visible history after the run: ZooKeeper's consistency model
//! (`check::zk`), the watch invariants (`check::watch`), then each workload's own checks
//! (`crate::workload`, e.g. the queue invariants of `check::queue`). The first failed check becomes the run's finding; an
//! undecided consistency check (its search budget ran out) makes the run inconclusive
//! (exit 3), never a pass; the queue recipe's documented at-most-once losses are
//! reported as figures, not findings.

use crate::workload::Workload;
use check::zk::ZkVerdict;
use lincheck::lin::Budget;
use proto::history::Event;

use kernel::observe::Violation;

/// The confirmation search's budget per run (the witness itself is O(n log n)).
const CONFIRM_BUDGET: Budget = Budget {
    max_steps: 5_000_000,
    max_cache_bytes: 256 << 20,
};

/// What the history checks concluded.
pub struct Judgement {
    pub violation: Option<Violation>,
    /// No violation was confirmed, but the consistency check could not decide (its search
    /// budget ran out): the run is inconclusive, never a pass. What was left unconfirmed.
    pub undecided: Option<String>,
    pub figures: Vec<(String, u64)>,
}

/// Runs every history check on `history`: ZooKeeper's, then each of `workloads`' own.
pub fn judge(history: &[Event], workloads: &[Box<dyn Workload>]) -> Judgement {
    judge_within(history, workloads, CONFIRM_BUDGET)
}

/// [`judge`] with the confirmation search's budget given.
fn judge_within(history: &[Event], workloads: &[Box<dyn Workload>], budget: Budget) -> Judgement {
    let mut figures = Vec::new();
    let (zk, watches) = check::watch::check_history_and_watches(history, budget);
    figures.push(("zk_unconfirmed".to_string(), zk.unconfirmed.len() as u64));
    figures.push((
        "zk_unknown".to_string(),
        u64::from(zk.verdict == ZkVerdict::Unknown),
    ));
    if zk.verdict == ZkVerdict::Violation {
        let v = &zk.violations[0];
        return found("ZkConsistency", v.render(history), figures);
    }
    let undecided = (zk.verdict == ZkVerdict::Unknown).then(|| {
        let first = zk.unconfirmed.first().map(|v| v.render(history));
        format!(
            "the consistency search ran out of budget confirming {} witness failure(s); first: {}",
            zk.unconfirmed.len(),
            first.unwrap_or_default()
        )
    });
    figures.push((
        "watch_registrations".to_string(),
        watches.stats.registrations as u64,
    ));
    if !watches.is_ok() {
        return found(
            "WatchInvariant",
            watches.violations[0].render(history),
            figures,
        );
    }
    for w in workloads {
        if let Some(v) = w.judge(history, &mut figures) {
            return Judgement {
                violation: Some(v),
                undecided: None,
                figures,
            };
        }
    }
    Judgement {
        violation: None,
        undecided,
        figures,
    }
}

fn found(check: &str, detail: String, figures: Vec<(String, u64)>) -> Judgement {
    Judgement {
        violation: Some(Violation {
            check: check.to_string(),
            processes: Vec::new(),
            detail,
        }),
        undecided: None,
        figures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::zk::{Op, OpResult};

    /// A consistent synthetic history with one read's data changed: the witness fails.
    fn tampered() -> Vec<Event> {
        let mut events = check::zk::synthetic_history(400, 4, 7);
        let read = events.iter_mut().rev().find_map(|e| match e {
            Event::Op(r) if matches!(r.op, Op::GetData { .. }) => match &mut r.result {
                Some(OpResult::Data { data, .. }) => Some(data),
                _ => None,
            },
            _ => None,
        });
        *read.expect("the history has an answered read") = b"never written".to_vec();
        events
    }

    #[test]
    fn an_undecided_consistency_check_is_no_pass() {
        let events = tampered();
        let j = judge_within(&events, &[], Budget::steps(0));
        assert!(j.violation.is_none());
        let why = j.undecided.expect("undecided");
        assert!(why.contains("ReadState"), "{why}");
        assert!(j.figures.contains(&("zk_unknown".to_string(), 1)));
    }

    #[test]
    fn with_budget_the_same_history_is_a_violation() {
        let j = judge(&tampered(), &[]);
        assert_eq!(j.violation.expect("confirmed").check, "ZkConsistency");
        assert!(j.undecided.is_none());
    }

    #[test]
    fn a_consistent_history_passes() {
        let j = judge(&check::zk::synthetic_history(400, 4, 7), &[]);
        assert!(j.violation.is_none() && j.undecided.is_none());
    }
}
