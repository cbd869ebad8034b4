//! Repairing a failing witness order for info writes that took effect without leaving
//! their zxid in any stat (say, a setData whose answer was lost and which was overwritten
//! before anyone read the node: only the next version number shows it).
//!
//! A txn that took effect has a zxid no recorded write has, after the zxids of every write
//! completed before it was invoked. So for the earliest failure, each info write still left
//! out that was invoked before the failure completed and names a node the failure names, or
//! its parent or child (latest invoked first), is tried at the first unused zxid after that
//! floor; a trial is kept if fewer checks fail, and the repair goes on from there. The
//! trials are bounded (`REPAIR_TRIALS_MAX` evaluations in all). Like the stat recovery, a
//! repair only proposes an order; the witness's checks decide whether it explains the
//! history.
//!
//! Invariants: a repaired zxid is unused by every other write; only info writes without a
//! zxid are ever given one.

use std::collections::BTreeSet;

use datatree::path::parent_of;
use proto::Zxid;
use proto::history::Event;
use proto::zk::Op;

use super::history::{Classified, WriteStatus};
use super::witness::Witness;

/// Witness evaluations the repair may spend.
pub(crate) const REPAIR_TRIALS_MAX: usize = 16;

/// The paths an op names (a multi's parts').
fn paths<'o>(op: &'o Op, out: &mut Vec<&'o str>) {
    match op {
        Op::Multi(ops) => ops.iter().for_each(|o| paths(o, out)),
        other => out.extend(other.path().filter(|p| p.starts_with('/'))),
    }
}

/// `a` and `b` are the same node, or one is the other's parent.
fn related(a: &str, b: &str) -> bool {
    a == b || (a != "/" && parent_of(a).0 == b) || (b != "/" && parent_of(b).0 == a)
}

/// Try to repair `current` (the evaluation of `zxids`) by placing info writes; returns how
/// many were placed. `evaluate` evaluates a zxid assignment.
pub(crate) fn repair(
    events: &[Event],
    cls: &Classified,
    zxids: &mut [Option<Zxid>],
    current: &mut Witness,
    evaluate: impl Fn(&[Option<Zxid>]) -> Witness,
) -> usize {
    let floating = |zxids: &[Option<Zxid>], w: usize| {
        cls.writes[w].status == WriteStatus::Info && zxids[w].is_none()
    };
    if current.failure_count == 0 || !(0..cls.writes.len()).any(|w| floating(zxids, w)) {
        return 0;
    }
    let mut used: BTreeSet<Zxid> = zxids.iter().flatten().copied().collect();
    // Largest recorded zxid among the writes completed before a time.
    let mut completed: Vec<(u64, Zxid)> = cls
        .writes
        .iter()
        .filter_map(|w| Some((w.complete?, w.zxid?)))
        .collect();
    completed.sort_unstable();
    let mut prefix_max = Vec::with_capacity(completed.len());
    for &(_, z) in &completed {
        prefix_max.push(prefix_max.last().map_or(z, |&m: &Zxid| m.max(z)));
    }
    let floor_at = |time: u64| {
        let count = completed.partition_point(|&(c, _)| c < time);
        count.checked_sub(1).map_or(Zxid::ZERO, |i| prefix_max[i])
    };
    let mut trials = 0;
    let mut placed = 0;
    while trials < REPAIR_TRIALS_MAX && current.failure_count > 0 {
        let first = current
            .failures
            .iter()
            .min_by_key(|f| f.time(events))
            .expect("failures kept");
        let time = first.time(events);
        let mut names = Vec::new();
        for &e in &first.events {
            if let Event::Op(r) = &events[e] {
                paths(&r.op, &mut names);
            }
        }
        let mut candidates: Vec<usize> = (0..cls.writes.len())
            .filter(|&w| floating(zxids, w) && cls.writes[w].invoke <= time)
            .filter(|&w| {
                let mut own = Vec::new();
                paths(cls.write_op(events, &cls.writes[w]), &mut own);
                own.iter().any(|p| names.iter().any(|n| related(p, n)))
            })
            .collect();
        candidates.sort_by_key(|&w| std::cmp::Reverse((cls.writes[w].invoke, w)));
        let mut improved = false;
        for w in candidates {
            if trials == REPAIR_TRIALS_MAX {
                break;
            }
            trials += 1;
            let floor = floor_at(cls.writes[w].invoke);
            // The first unused zxid after the floor; bounded by the used ones.
            let mut gap = Zxid(floor.0 + 1);
            for _used in 0..=used.len() {
                if !used.contains(&gap) {
                    break;
                }
                gap = Zxid(gap.0 + 1);
            }
            zxids[w] = Some(gap);
            let trial = evaluate(zxids);
            if trial.failure_count < current.failure_count {
                used.insert(gap);
                *current = trial;
                placed += 1;
                improved = true;
                break;
            }
            zxids[w] = None;
        }
        if !improved {
            break;
        }
    }
    placed
}
