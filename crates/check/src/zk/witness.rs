//! The fast witness: the write order the zxids give, replayed on a `DataTree` with every
//! check of the consistency model evaluated against it. If nothing fails, the witness order
//! *is* an explanation of the history (see `zk/mod.rs`), so the history is consistent.
//!
//! The order `L`: every write with a zxid (recorded, or recovered for an info write by
//! `recover.rs`) by zxid; info writes without one are left out (assumed not applied) unless
//! the repair (`repair.rs`) finds that placing one makes fewer checks fail. The checks,
//! each a failure name:
//! - `MissingZxid`: an answered write has no reply zxid (it cannot be placed).
//! - `ZxidUnique`: two writes share a zxid (the later one is left out of `L`), or a zxid is 0.
//! - `WriteResult`: replaying `L` (header: the write's session, its zxid, time 0) gives an
//!   answered write a result other than the recorded one (times masked).
//! - `ReadState`: a read's result differs from the state after the writes of `L` with
//!   zxid ≤ its reply zxid. Reads are evaluated in zxid order during the one replay.
//! - `RealTimeOrder`: a write completed before another in `L` was invoked yet has the
//!   larger zxid (info writes count as never completed; a server close is an instant).
//! - `ReadFuture`: a read's state holds a write invoked after the read completed.
//! - `SessionFifo` / `SessionMonotonic`: in a session's xid order, a write's zxid must
//!   exceed every zxid the session saw before (its writes: FIFO; its reads and syncs:
//!   monotonic), and a read's or sync's zxid may not be below any of them.
//! - `SyncRead`: a read after a completed sync has a zxid below the largest zxid of the
//!   writes completed before the sync was invoked.
//!
//! Cost: sorting plus one replay, O(n log n) with the tree's own costs; no tree copies.
//! A failing witness is re-evaluated at most `REPAIR_TRIALS_MAX` more times.

use datatree::{DataTree, Effect, TxnHeader};
use proto::Zxid;
use proto::history::Event;

use super::compare::{Zxids, read_matches, result_matches};
use super::history::{Classified, Item, WriteStatus, record};
use super::recover::witness_zxids;
use super::repair::repair;

pub const MISSING_ZXID: &str = "MissingZxid";
pub const ZXID_UNIQUE: &str = "ZxidUnique";
pub const WRITE_RESULT: &str = "WriteResult";
pub const READ_STATE: &str = "ReadState";
pub const REAL_TIME_ORDER: &str = "RealTimeOrder";
pub const READ_FUTURE: &str = "ReadFuture";
pub const SESSION_FIFO: &str = "SessionFifo";
pub const SESSION_MONOTONIC: &str = "SessionMonotonic";
pub const SYNC_READ: &str = "SyncRead";

/// Every check the witness makes, in the order the module docs list them.
pub const WITNESS_CHECKS: [&str; 9] = [
    MISSING_ZXID,
    ZXID_UNIQUE,
    WRITE_RESULT,
    READ_STATE,
    REAL_TIME_ORDER,
    READ_FUTURE,
    SESSION_FIFO,
    SESSION_MONOTONIC,
    SYNC_READ,
];

/// Failures kept per check (the rest are only counted).
const FAILURES_KEPT_PER_CHECK: usize = 32;

/// One failed witness check: the ops involved (event indices, the offending one last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub check: &'static str,
    pub detail: String,
    pub events: Vec<usize>,
}

/// What the witness found.
#[derive(Clone, Debug, Default)]
pub(crate) struct Witness {
    pub failures: Vec<Failure>,
    /// All failures, kept or not.
    pub failure_count: usize,
    /// Writes in the order `L`.
    pub order_len: usize,
    /// Info writes given a zxid from stat evidence.
    pub recovered: usize,
    /// Info writes given a zxid by the repair.
    pub repaired: usize,
}

impl Failure {
    /// The earliest cut that holds every op of the failure with its outcome: the latest
    /// completion (invocation, for an op never answered) among them.
    pub fn time(&self, events: &[Event]) -> u64 {
        self.events
            .iter()
            .map(|&i| match &events[i] {
                Event::Op(r) => r.complete_ns.unwrap_or(r.invoke_ns),
                other => other.time_ns(),
            })
            .max()
            .expect("a failure names an op")
    }
}

impl Witness {
    fn fail(&mut self, check: &'static str, detail: String, events: Vec<usize>) {
        debug_assert!(WITNESS_CHECKS.contains(&check));
        assert!(!events.is_empty(), "{check}: a failure names its ops");
        self.failure_count += 1;
        let kept = self.failures.iter().filter(|f| f.check == check).count();
        if kept < FAILURES_KEPT_PER_CHECK {
            self.failures.push(Failure {
                check,
                detail,
                events,
            });
        }
    }
}

/// Run the witness: recover zxids for info writes from stats, evaluate the order, and if it
/// fails, try to repair it (`repair.rs`). With `effects`, also collect the tree changes of
/// the final order `L` in zxid order (what the watch checker needs).
pub(crate) fn run(
    events: &[Event],
    cls: &Classified,
    effects: Option<&mut Vec<(Zxid, Effect)>>,
) -> Witness {
    let (mut zxids, recovered) = witness_zxids(events, cls);
    let mut effects = effects;
    // The effects are collected on the first evaluation; only a repair that placed a
    // write changes the order and needs them again.
    let mut w = evaluate(events, cls, &zxids, effects.as_deref_mut());
    let repaired = repair(events, cls, &mut zxids, &mut w, |z| {
        evaluate(events, cls, z, None)
    });
    if let Some(out) = effects.filter(|_| repaired > 0) {
        w = evaluate(events, cls, &zxids, Some(out));
    }
    w.recovered = recovered;
    w.repaired = repaired;
    w
}

/// Evaluate the order the zxids `zxids` (one per write, `None`: left out) give.
fn evaluate(
    events: &[Event],
    cls: &Classified,
    zxids: &[Option<Zxid>],
    effects: Option<&mut Vec<(Zxid, Effect)>>,
) -> Witness {
    let mut w = Witness::default();
    for write in &cls.writes {
        let answered = matches!(
            write.status,
            WriteStatus::Ok | WriteStatus::Fail | WriteStatus::NoOp
        );
        if answered && write.zxid.is_none() {
            w.fail(
                MISSING_ZXID,
                "an answered write has no reply zxid".into(),
                vec![write.event],
            );
        }
    }
    let order = zxid_order(cls, zxids, &mut w);
    w.order_len = order.len();
    if let Some(out) = effects {
        out.clear();
        replay(events, cls, &order, &mut w, Some(out));
    } else {
        replay(events, cls, &order, &mut w, None);
    }
    check_real_time(cls, &order, &mut w);
    check_read_future(cls, &order, &mut w);
    check_sessions(cls, &order, &mut w);
    assert_eq!(
        w.failures.is_empty(),
        w.failure_count == 0,
        "kept failures and the count agree"
    );
    w
}

/// One write of `L`: its index in `cls.writes` and its zxid.
#[derive(Copy, Clone, Debug)]
struct Placed {
    write: usize,
    zxid: Zxid,
}

/// `L`, sorted by zxid, duplicates and zxid 0 left out (and reported).
fn zxid_order(cls: &Classified, zxids: &[Option<Zxid>], w: &mut Witness) -> Vec<Placed> {
    let mut order: Vec<Placed> = zxids
        .iter()
        .enumerate()
        .filter_map(|(write, z)| z.map(|zxid| Placed { write, zxid }))
        .collect();
    order.sort_by_key(|p| (p.zxid, cls.writes[p.write].event));
    let mut kept: Vec<Placed> = Vec::with_capacity(order.len());
    for p in order {
        let event = cls.writes[p.write].event;
        if p.zxid == Zxid::ZERO {
            w.fail(ZXID_UNIQUE, "a write has zxid 0".into(), vec![event]);
            continue;
        }
        if let Some(previous) = kept.last().filter(|q| q.zxid == p.zxid) {
            let first = cls.writes[previous.write].event;
            w.fail(
                ZXID_UNIQUE,
                format!("two writes have zxid {}", p.zxid),
                vec![first, event],
            );
            continue;
        }
        kept.push(p);
    }
    kept
}

/// Replay `L` on a fresh tree, checking answered writes' results and every read against
/// the state at its reply zxid.
fn replay(
    events: &[Event],
    cls: &Classified,
    order: &[Placed],
    w: &mut Witness,
    mut effects: Option<&mut Vec<(Zxid, Effect)>>,
) {
    let mut reads: Vec<u32> = (0..cls.reads.len() as u32).collect();
    reads.sort_by_key(|&r| (cls.reads[r as usize].zxid, cls.reads[r as usize].event));
    let mut next_read = 0;
    let mut tree = DataTree::new();
    let mut check_reads_below = |tree: &DataTree, limit: Option<Zxid>, w: &mut Witness| {
        while let Some(&r) = reads.get(next_read) {
            let read = &cls.reads[r as usize];
            if limit.is_some_and(|limit| read.zxid >= limit) {
                break;
            }
            next_read += 1;
            let rec = record(events, read.event);
            let recorded = rec.result.as_ref().expect("a checkable read has a result");
            let replayed = tree.read_view(&rec.op);
            if !read_matches(recorded, replayed, Zxids::Compare) {
                w.fail(
                    READ_STATE,
                    format!(
                        "read at zxid {} returned {recorded:?}; the state after the writes up \
                         to it gives {:?}",
                        read.zxid,
                        replayed.to_result()
                    ),
                    vec![read.event],
                );
            }
        }
    };
    for p in order {
        check_reads_below(&tree, Some(p.zxid), w);
        let write = &cls.writes[p.write];
        if write.status == WriteStatus::NoOp {
            continue;
        }
        assert!(p.zxid > tree.last_zxid(), "L is strictly increasing");
        let header = TxnHeader {
            session: write.session,
            zxid: p.zxid,
            time_ms: 0,
        };
        let txn = tree.prepare(header, cls.write_op(events, write));
        let replayed = tree.apply(&txn);
        if let Some(out) = effects.as_deref_mut() {
            out.extend(txn.body.effects().into_iter().map(|e| (p.zxid, e)));
        }
        if write.has_known_result() {
            let rec = record(events, write.event);
            let recorded = rec.result.as_ref().expect("an answered write has a result");
            if !result_matches(recorded, &replayed, Zxids::Compare) {
                w.fail(
                    WRITE_RESULT,
                    format!(
                        "write at zxid {} returned {recorded:?}; replaying the zxid order gives \
                         {replayed:?}",
                        p.zxid
                    ),
                    vec![write.event],
                );
            }
        }
    }
    check_reads_below(&tree, None, w);
}

/// No write of `L` completed before an earlier-placed write was invoked.
fn check_real_time(cls: &Classified, order: &[Placed], w: &mut Witness) {
    // Walking down from the largest zxid: the earliest completion among larger zxids.
    let mut earliest: Option<(u64, usize)> = None;
    for p in order.iter().rev() {
        let write = &cls.writes[p.write];
        if let Some((complete, later)) = earliest.filter(|&(c, _)| c < write.invoke) {
            let later_write = &cls.writes[later];
            w.fail(
                REAL_TIME_ORDER,
                format!(
                    "the write at zxid {} completed at {complete}, before the write at zxid {} \
                     was invoked at {}",
                    later_write.zxid.unwrap_or(Zxid::ZERO),
                    p.zxid,
                    write.invoke
                ),
                vec![later_write.event, write.event],
            );
        }
        if let Some(complete) = write.complete
            && earliest.is_none_or(|(c, _)| complete < c)
        {
            earliest = Some((complete, p.write));
        }
    }
}

/// No read's state holds a write invoked after the read completed.
fn check_read_future(cls: &Classified, order: &[Placed], w: &mut Witness) {
    // Latest invocation among the first k writes of L.
    let mut latest: Vec<(u64, usize)> = Vec::with_capacity(order.len());
    for p in order {
        let invoke = cls.writes[p.write].invoke;
        let best = match latest.last() {
            Some(&(t, q)) if t >= invoke => (t, q),
            _ => (invoke, p.write),
        };
        latest.push(best);
    }
    for read in &cls.reads {
        let seen = order.partition_point(|p| p.zxid <= read.zxid);
        let Some(&(invoke, write)) = seen.checked_sub(1).map(|i| &latest[i]) else {
            continue;
        };
        if invoke > read.complete {
            w.fail(
                READ_FUTURE,
                format!(
                    "the read at zxid {} completed at {} but its state holds a write invoked at \
                     {invoke}",
                    read.zxid, read.complete
                ),
                vec![cls.writes[write].event, read.event],
            );
        }
    }
}

/// Per session, in xid order: FIFO writes, monotonic reads, syncs.
fn check_sessions(cls: &Classified, order: &[Placed], w: &mut Witness) {
    // The witness zxid of each write (None: not in L).
    let mut placed = vec![None; cls.writes.len()];
    for p in order {
        placed[p.write] = Some(p.zxid);
    }
    // Largest zxid of the writes of L completed before a time.
    let mut completed: Vec<(u64, Zxid, usize)> = order
        .iter()
        .filter_map(|p| Some((cls.writes[p.write].complete?, p.zxid, p.write)))
        .collect();
    completed.sort_unstable();
    let mut prefix_max: Vec<(Zxid, usize)> = Vec::with_capacity(completed.len());
    for &(_, zxid, write) in &completed {
        let best = match prefix_max.last() {
            Some(&(z, q)) if z >= zxid => (z, q),
            _ => (zxid, write),
        };
        prefix_max.push(best);
    }
    let floor_before = |time: u64| {
        let count = completed.partition_point(|&(c, _, _)| c < time);
        count.checked_sub(1).map(|i| prefix_max[i])
    };
    for chain in &cls.chains {
        // (zxid, event) of the newest write / read-or-sync seen, and the sync floor.
        let mut max_write: Option<(Zxid, usize)> = None;
        let mut max_read: Option<(Zxid, usize)> = None;
        let mut sync_floor: Option<(Zxid, usize, usize)> = None;
        for &item in &chain.items {
            match item {
                Item::Write(i) => {
                    let write = &cls.writes[i as usize];
                    let Some(zxid) = placed[i as usize] else {
                        continue;
                    };
                    if let Some((m, e)) = max_write.filter(|&(m, _)| zxid <= m) {
                        w.fail(
                            SESSION_FIFO,
                            format!("a write got zxid {zxid} after the session's write at {m}"),
                            vec![e, write.event],
                        );
                    }
                    if let Some((m, e)) = max_read.filter(|&(m, _)| zxid <= m) {
                        w.fail(
                            SESSION_MONOTONIC,
                            format!("a write got zxid {zxid} after the session had seen zxid {m}"),
                            vec![e, write.event],
                        );
                    }
                    max_write = max_write.max(Some((zxid, write.event)));
                }
                Item::Read(i) | Item::Sync(i) => {
                    let is_sync = matches!(item, Item::Sync(_));
                    let read = if is_sync {
                        &cls.syncs[i as usize]
                    } else {
                        &cls.reads[i as usize]
                    };
                    let seen = max_write.max(max_read);
                    let below_sync = sync_floor.filter(|&(f, _, _)| read.zxid < f);
                    if let (false, Some((floor, sync, write))) = (is_sync, below_sync) {
                        w.fail(
                            SYNC_READ,
                            format!(
                                "a read after a sync got zxid {}, below zxid {floor} of a write \
                                 completed before the sync was invoked",
                                read.zxid
                            ),
                            vec![cls.writes[write].event, sync, read.event],
                        );
                    } else if let Some((m, e)) = seen.filter(|&(m, _)| read.zxid < m) {
                        w.fail(
                            SESSION_MONOTONIC,
                            format!(
                                "the session saw zxid {m}, then got an answer at zxid {}",
                                read.zxid
                            ),
                            vec![e, read.event],
                        );
                    }
                    max_read = max_read.max(Some((read.zxid, read.event)));
                    if is_sync && let Some((floor, write)) = floor_before(read.invoke) {
                        sync_floor = sync_floor.max(Some((floor, read.event, write)));
                    }
                }
            }
        }
    }
}
