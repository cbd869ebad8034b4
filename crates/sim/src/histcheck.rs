//! Judges a run's client-visible history after the run: ZooKeeper's consistency model
//! (`check::zk`), the watch invariants (`check::watch`) and, with a queue workload, the queue
//! invariants (`check::queue`). The first failed check becomes the run's finding; an
//! undecided consistency check (budget) and the queue recipe's documented at-most-once
//! losses are reported as figures, not findings.

use check::lin::Budget;
use check::queue::Severity;
use check::zk::ZkVerdict;
use proto::history::Event;

use crate::observe::Violation;

/// The confirmation search's budget per run (the witness itself is O(n log n)).
const CONFIRM_BUDGET: Budget = Budget {
    max_steps: 5_000_000,
    max_cache_bytes: 256 << 20,
};

/// What the history checks concluded.
pub struct Judgement {
    pub violation: Option<Violation>,
    pub figures: Vec<(String, u64)>,
}

/// Runs every history check on `history`; `queue_left` is the queue's content at the end.
pub fn judge(history: &[Event], queue_left: Option<&[u64]>) -> Judgement {
    let mut figures = Vec::new();
    let (zk, watches) = check::watch::check_history_and_watches(history, CONFIRM_BUDGET);
    figures.push(("zk_unconfirmed".to_string(), zk.unconfirmed.len() as u64));
    figures.push((
        "zk_unknown".to_string(),
        u64::from(zk.verdict == ZkVerdict::Unknown),
    ));
    if zk.verdict == ZkVerdict::Violation {
        let v = &zk.violations[0];
        return found("ZkConsistency", v.render(history), figures);
    }
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
    let has_queue = history.iter().any(|e| matches!(e, Event::Queue(_)));
    if has_queue {
        let q = check::queue::check_queue(history, queue_left.unwrap_or(&[]));
        figures.push(("queue_enqueues".to_string(), q.stats.enqueues as u64));
        figures.push(("queue_dequeues".to_string(), q.stats.dequeues as u64));
        let documented = q
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Documented)
            .count();
        figures.push(("queue_documented_losses".to_string(), documented as u64));
        if let Some(f) = q
            .findings
            .iter()
            .find(|f| f.severity == Severity::Violation)
        {
            return found("QueueInvariant", f.render(history), figures);
        }
    }
    Judgement {
        violation: None,
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
        figures,
    }
}
