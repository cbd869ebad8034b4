//! ZooKeeper's consistency model, checked on a simulated history (`proto::history`).
//!
//! # The model (what "consistent" means here)
//! A history is consistent iff it has an *explanation*: a total order `L` of writes — every
//! answered write (ok, or failed with an error the tree gives), every server-made session
//! close (`Event::ServerClose`), and any subset of the info writes — and, for every
//! answered read, a prefix of `L` it observed, such that:
//! - (real time) a write that completed before another was invoked comes first in `L`; an
//!   info write comes after every write completed before its invocation; a server close is
//!   an instant (the time it was first applied);
//! - (FIFO) a session's answered writes appear in `L` in xid order;
//! - (results) replaying `L` on an empty `datatree::DataTree` gives every answered write
//!   its recorded result, up to the stats' times (the leader's clock) and zxid fields (a
//!   black-box order numbers txns its own way; the witness compares them as recorded);
//! - (reads) each answered read returns the state after its prefix (up to the same stat
//!   fields); in a session's xid
//!   order the prefixes never shrink, a session's write comes after the prefixes of its
//!   earlier reads and inside those of its later ones (read-your-writes); a read's prefix
//!   holds no write invoked after the read completed;
//! - (sync) after a completed sync, the session's later reads see every write completed
//!   before the sync was invoked.
//!
//! Writes that failed before reaching the tree (SessionExpired, SessionMoved, …) changed
//! nothing and are not constrained; unanswered reads constrain nothing; a session exists
//! from its first op (CreateSession is not in the history).
//!
//! # How it is checked
//! 1. The witness (`witness.rs`, O(n log n), no tree copies): `L` = the writes by reply
//!    zxid (info writes with a zxid — recorded, or recovered from stats by `recover.rs` —
//!    included, other info writes assumed not applied), every read placed at its reply
//!    zxid, and every condition above checked against that, with the stat zxids compared
//!    as recorded. If it fails, `repair.rs` tries a few info writes at free zxids (a
//!    bounded number of re-evaluations). Passing means the zxid order is an explanation:
//!    *Consistent*.
//! 2. Otherwise the confirmation search (`search.rs`, `model.rs`): the generic engine
//!    (`lincheck::lin`) with a znode-tree model whose operations are the writes and one end
//!    marker per session, and which advances each session's reads and syncs itself
//!    (greedily, which is complete). It decides the model above exactly, black-box — it
//!    ignores reply zxids and masks the zxid fields of stats (its own txns are numbered in
//!    its own order; states equal up to zxids are merged) — on a sequence of windows: the history
//!    cut at the earliest witness failure and projected onto the top-level subtrees that
//!    failure involves (`scope.rs`, when that projection is valid), the same cut whole,
//!    then the whole history. A window without an explanation proves the whole history
//!    has none (`search.rs`, `scope.rs`), so the verdict is *Violation*, reported with the
//!    witness failures in that window's cut and the engine's longest linearizable prefix.
//!    If the whole history has an explanation, the verdict is *Consistent* and the witness
//!    failures are listed as `unconfirmed` (e.g. an info write that took effect with no
//!    stat showing its zxid, or an anomaly only in zxids). If the budget runs out first:
//!    *Unknown*. The search is exponential in the worst case; cuts and projections keep it
//!    to the part of the history before the failure and the subtrees involved, which is
//!    what makes confirming a violation in a long history practical.
//!
//! Soundness, in five steps: (1) a *Violation* needs a window the engine could not
//! explain; (2) the model the engine decides is the weakest reading of the guarantees above
//! (stat zxids masked, info writes optional and unordered, no-op writes and session-error
//! reads left out, reads and syncs placed greedily, which loses no explanation); (3) any
//! explanation of the history restricts to an explanation of every cut and every valid
//! projection; (4) the engine is exhaustive within its budget (and answers *Unknown*
//! otherwise); (5) a passing witness is an explanation, so it can only say *Consistent*.
//! Findings only the witness makes (stat zxid fields, a read's zxid below what its
//! session saw, a sync reply below it) are therefore reported as unconfirmed, never as
//! violations by themselves.

mod compare;
mod history;
mod model;
mod recover;
mod repair;
mod scope;
mod search;
mod synthetic;
mod witness;

use datatree::Effect;
use lincheck::lin::{self, Budget, Verdict};
use proto::Zxid;
use proto::history::Event;
use serde::Serialize;

pub use history::render_event;
pub use search::SearchExplanation;
pub use synthetic::synthetic_history;
pub use witness::{
    MISSING_ZXID, READ_FUTURE, READ_STATE, REAL_TIME_ORDER, SESSION_FIFO, SESSION_MONOTONIC,
    SYNC_READ, WITNESS_CHECKS, WRITE_RESULT, ZXID_UNIQUE,
};

use history::Classified;
use search::Window;
use witness::Failure;

pub(crate) use history::Classified as ClassifiedHistory;
pub(crate) use witness::run as run_witness;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ZkVerdict {
    Consistent,
    Violation,
    /// The witness failed and the search's budget ran out before it decided.
    Unknown,
}

/// A failed check: its name (one of [`WITNESS_CHECKS`]), what differed, and the ops
/// involved (indices into the checked events, the offending op last).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ZkViolation {
    pub check: &'static str,
    pub detail: String,
    pub ops: Vec<usize>,
}

impl ZkViolation {
    /// The check, the detail and one line per op.
    pub fn render(&self, events: &[Event]) -> String {
        let mut text = format!("{}: {}", self.check, self.detail);
        for &op in &self.ops {
            text.push_str("\n  ");
            text.push_str(&render_event(events, op));
        }
        text
    }
}

/// One run of the confirmation search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchRun {
    /// The cut time (`None`: the whole history).
    pub cut_ns: Option<u64>,
    /// The top-level znodes the run was projected onto (empty: all).
    pub scope: Vec<String>,
    pub engine_ops: usize,
    /// "explained", "violation" or "budget".
    pub outcome: &'static str,
    pub stats: lin::Stats,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ZkStats {
    /// Writes (client writes and server closes), checkable reads and syncs, sessions.
    pub writes: usize,
    pub reads: usize,
    pub syncs: usize,
    pub sessions: usize,
    /// Reads and syncs that constrain nothing (unanswered, session errors).
    pub unchecked: usize,
    /// Writes in the witness order; info writes given a zxid from stat evidence, and by the
    /// witness repair.
    pub witness_writes: usize,
    pub recovered_zxids: usize,
    pub repaired_zxids: usize,
    /// Witness failures, all of them (the report keeps a bounded number per check).
    pub witness_failures: usize,
    pub searches: Vec<SearchRun>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ZkReport {
    pub verdict: ZkVerdict,
    /// Confirmed failures (only with `Violation`).
    pub violations: Vec<ZkViolation>,
    /// Witness failures the search explained away (`Consistent`) or could not decide
    /// (`Unknown`).
    pub unconfirmed: Vec<ZkViolation>,
    /// The search's explanation of a violation.
    pub explanation: Option<SearchExplanation>,
    pub stats: ZkStats,
}

impl ZkReport {
    pub fn is_consistent(&self) -> bool {
        self.verdict == ZkVerdict::Consistent
    }

    /// Every violation rendered, then the search's explanation.
    pub fn render(&self, events: &[Event]) -> String {
        let mut parts: Vec<String> = self.violations.iter().map(|v| v.render(events)).collect();
        if let Some(e) = &self.explanation {
            parts.push(e.rendered.clone());
        }
        parts.join("\n")
    }
}

fn violation(f: &Failure) -> ZkViolation {
    ZkViolation {
        check: f.check,
        detail: f.detail.clone(),
        ops: f.events.clone(),
    }
}

fn base_report(cls: &Classified, w: &witness::Witness) -> ZkReport {
    ZkReport {
        verdict: ZkVerdict::Consistent,
        violations: Vec::new(),
        unconfirmed: Vec::new(),
        explanation: None,
        stats: ZkStats {
            writes: cls.writes.len(),
            reads: cls.reads.len(),
            syncs: cls.syncs.len(),
            sessions: cls.chains.len(),
            unchecked: cls.unchecked,
            witness_writes: w.order_len,
            recovered_zxids: w.recovered,
            repaired_zxids: w.repaired,
            witness_failures: w.failure_count,
            searches: Vec::new(),
        },
    }
}

/// The fast path alone: the witness, no search. `Consistent` if it passes, else `Unknown`
/// with its failures as `unconfirmed`.
///
/// Performance target (a benchmark's, never a test's): a consistent 100,000-op simulated
/// history (`synthetic_history(100_000, …)`) in under 1 s and 1 GiB. It costs one sort of
/// each op kind, one replay of the writes on a single `DataTree` with each read answered
/// in zxid order along the way, and per-session scans: O(n log n), no tree copies.
pub fn check_witness(events: &[Event]) -> ZkReport {
    let cls = Classified::new(events);
    let w = witness::run(events, &cls, None);
    let mut report = base_report(&cls, &w);
    if w.failure_count > 0 {
        report.verdict = ZkVerdict::Unknown;
        report.unconfirmed = w.failures.iter().map(violation).collect();
    }
    report
}

/// The confirmation search alone, on the whole history, without the witness: the black-box
/// decision of the model (see the module docs). For tests and diagnostics; it costs what a
/// search costs.
pub fn confirm(events: &[Event], budget: Budget) -> ZkVerdict {
    let cls = Classified::new(events);
    match search::run(events, &cls, &search::Window::whole(), &budget).0 {
        Verdict::Linearizable => ZkVerdict::Consistent,
        Verdict::NotLinearizable(_) => ZkVerdict::Violation,
        Verdict::Unknown(_) => ZkVerdict::Unknown,
    }
}

/// Check a history against ZooKeeper's consistency model (see the module docs): the
/// witness, and the confirmation search only if the witness fails — `budget.max_steps` is
/// shared by the search's runs, `budget.max_cache_bytes` bounds each run's cache. On a
/// history the witness explains this costs what [`check_witness`] costs.
pub fn check_history(events: &[Event], budget: Budget) -> ZkReport {
    check_history_collecting(events, budget, None)
}

/// [`check_history`], also collecting into `effects` the tree changes of the witness
/// order in zxid order (what the watch checker judges against), from the same one replay.
pub(crate) fn check_history_collecting(
    events: &[Event],
    budget: Budget,
    effects: Option<&mut Vec<(Zxid, Effect)>>,
) -> ZkReport {
    let cls = Classified::new(events);
    let w = witness::run(events, &cls, effects);
    let mut report = base_report(&cls, &w);
    if w.failure_count == 0 {
        return report;
    }
    let timed: Vec<(u64, &Failure)> = w.failures.iter().map(|f| (f.time(events), f)).collect();
    let first = timed.iter().map(|&(t, _)| t).min().expect("failures kept");
    // The earliest failures, projected; then the cut at them; then everything.
    let earliest: Vec<usize> = timed
        .iter()
        .filter(|&&(t, _)| t == first)
        .flat_map(|&(_, f)| f.events.iter().copied())
        .collect();
    let mut plan: Vec<Window> = Vec::new();
    if let Some(scope) = scope::scope_of(events, &cls, &earliest) {
        plan.push(Window {
            cut: first,
            scope: Some(scope),
        });
    }
    if first < cls.end_time {
        plan.push(Window {
            cut: first,
            scope: None,
        });
    }
    plan.push(Window::whole());
    let mut steps_left = budget.max_steps;
    let mut explained_up_to: Option<u64> = None;
    for window in plan {
        let run_budget = Budget {
            max_steps: steps_left,
            max_cache_bytes: budget.max_cache_bytes,
        };
        let (verdict, stats, explanation, engine_ops) =
            search::run(events, &cls, &window, &run_budget);
        steps_left = steps_left.saturating_sub(stats.steps);
        let outcome = match verdict {
            Verdict::Linearizable => "explained",
            Verdict::NotLinearizable(_) => "violation",
            Verdict::Unknown(_) => "budget",
        };
        let cut = window.cut;
        report.stats.searches.push(SearchRun {
            cut_ns: (cut != u64::MAX).then_some(cut),
            scope: window.scope.iter().flatten().cloned().collect(),
            engine_ops,
            outcome,
            stats,
        });
        match verdict {
            Verdict::Linearizable => {
                if window.scope.is_none() {
                    explained_up_to = Some(cut);
                }
            }
            Verdict::NotLinearizable(_) => {
                let fresh = |t: u64| t <= cut && explained_up_to.is_none_or(|e| t > e);
                let mut confirmed: Vec<ZkViolation> = timed
                    .iter()
                    .filter(|&&(t, _)| fresh(t))
                    .map(|&(_, f)| violation(f))
                    .collect();
                if confirmed.is_empty() {
                    confirmed = w.failures.iter().map(violation).collect();
                }
                report.verdict = ZkVerdict::Violation;
                report.violations = confirmed;
                report.explanation = explanation;
                return report;
            }
            Verdict::Unknown(_) => {
                report.verdict = ZkVerdict::Unknown;
                report.unconfirmed = w.failures.iter().map(violation).collect();
                return report;
            }
        }
    }
    report.unconfirmed = w.failures.iter().map(violation).collect();
    report
}
