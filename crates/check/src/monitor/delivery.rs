//! The delivered-history monitors: each server's `Delivered` / `Reset` events move its
//! cursor through the canonical history `G` (Agreement, TotalOrder, PrefixConsistency,
//! LocalPrimaryOrder, GlobalPrimaryOrder), and the first delivery of a position extends `G`
//! (Integrity: it was proposed with that digest).
//! Invariants: an anchored cursor advances in O(1) per delivery; only floating cursors (reset
//! below the window, or overtaken by trimming) and first deliveries pay O(log n); a
//! server's cumulative digest is always `chain_digest` over exactly the txns it delivered
//! since its last `Reset`.

use proto::{ProcessId, Zxid};

use super::canon::{CanonTxn, Lookup};
use super::event::chain_digest;
use super::violation::{
    AGREEMENT, GLOBAL_PRIMARY_ORDER, INTEGRITY, LOCAL_PRIMARY_ORDER, MonitorViolation,
    PREFIX_CONSISTENCY, TOTAL_ORDER, dg, zx,
};
use super::{Cursor, Monitors};

impl Monitors {
    pub(super) fn on_delivered(
        &mut self,
        pid: ProcessId,
        zxid: Zxid,
        digest: u64,
    ) -> Result<(), MonitorViolation> {
        self.summary.deliveries += 1;
        let cur = self.tracks[pid.index()].cursor.unwrap_or_else(|| {
            panic!("{pid} delivered {zxid} after a crash without a Reset (translation contract)")
        });
        if zxid <= cur.zxid {
            let (monitor, scope) = if zxid.epoch() == cur.zxid.epoch() {
                (LOCAL_PRIMARY_ORDER, "one primary's broadcast order")
            } else {
                (
                    GLOBAL_PRIMARY_ORDER,
                    "an older epoch's txn after a newer epoch's",
                )
            };
            let what = if zxid == cur.zxid {
                "delivered twice"
            } else {
                "delivered out of zxid order"
            };
            return Err(MonitorViolation::new(
                monitor,
                &[pid],
                format!(
                    "{pid} delivered {} right after {} ({what}: {scope}; TotalOrder also broken)",
                    zx(zxid),
                    zx(cur.zxid)
                ),
            ));
        }
        let cum = chain_digest(cur.cum, zxid, digest);
        let base_abs = self.canon.base_abs();
        if let Some(abs) = cur.abs.filter(|a| *a >= base_abs) {
            if abs == self.canon.last_abs() {
                return self.deliver_first(pid, zxid, digest, cum);
            }
            let next = self.canon.at(abs + 1).expect("position inside the window");
            if next.zxid == zxid && next.digest == digest {
                assert_eq!(
                    next.cum, cum,
                    "{pid}: equal prefixes chain to equal digests"
                );
                self.tracks[pid.index()].cursor = Some(Cursor {
                    zxid,
                    cum,
                    abs: Some(abs + 1),
                });
                return Ok(());
            }
            return Err(diverged(pid, cur, zxid, digest, next, abs + 1));
        }
        self.deliver_floating(pid, cur, zxid, digest, cum)
    }

    /// A delivery beyond the canonical frontier: the first of that position anywhere.
    fn deliver_first(
        &mut self,
        pid: ProcessId,
        zxid: Zxid,
        digest: u64,
        cum: u64,
    ) -> Result<(), MonitorViolation> {
        match self.proposed.get(&zxid) {
            Some(&(d, _)) if d == digest => {}
            Some(&(d, by)) => {
                return Err(MonitorViolation::new(
                    INTEGRITY,
                    &[pid, by],
                    format!(
                        "{pid} delivered {} with digest {}, but {by} proposed it with digest {}",
                        zx(zxid),
                        dg(digest),
                        dg(d)
                    ),
                ));
            }
            None if zxid <= self.proposed_forgotten_through => self.summary.checks_skipped += 1,
            None => {
                return Err(MonitorViolation::new(
                    INTEGRITY,
                    &[pid],
                    format!(
                        "{pid} delivered {} (digest {}), which no leader proposed in this run \
                         (canonical history ends at {})",
                        zx(zxid),
                        dg(digest),
                        zx(self.canon.last().zxid)
                    ),
                ));
            }
        }
        let abs = self.canon.append(zxid, digest, pid);
        assert_eq!(self.canon.last().cum, cum, "{pid}: appended history chains");
        self.tracks[pid.index()].cursor = Some(Cursor {
            zxid,
            cum,
            abs: Some(abs),
        });
        self.summary.canonical_txns = abs;
        self.prune_through(zxid);
        Ok(())
    }

    /// A delivery by a server whose position is below the window: checked by lookup and
    /// cumulative digest once it reaches the window.
    fn deliver_floating(
        &mut self,
        pid: ProcessId,
        cur: Cursor,
        zxid: Zxid,
        digest: u64,
        cum: u64,
    ) -> Result<(), MonitorViolation> {
        let set = |m: &mut Monitors, abs| {
            m.tracks[pid.index()].cursor = Some(Cursor { zxid, cum, abs });
        };
        match self.canon.find(zxid) {
            Lookup::BelowWindow => {
                set(self, None);
                Ok(())
            }
            Lookup::At { abs, txn } => {
                if txn.digest != digest {
                    return Err(diverged(pid, cur, zxid, digest, txn, abs));
                }
                if txn.cum == cum {
                    set(self, Some(abs));
                    return Ok(());
                }
                let prev = abs.checked_sub(1).and_then(|a| self.canon.at(a));
                match prev {
                    Some(p) if p.zxid > cur.zxid => Err(skipped(pid, cur, zxid, p, abs - 1)),
                    _ => {
                        let by = txn.first.expect("a canonical txn has a first deliverer");
                        Err(MonitorViolation::new(
                            PREFIX_CONSISTENCY,
                            &[pid, by],
                            format!(
                                "{pid}'s delivered history through {} has cumulative digest {}, \
                                 but the canonical one (first delivered by {by}) has {}: they \
                                 diverged at or before {} (Agreement also broken)",
                                zx(zxid),
                                dg(cum),
                                dg(txn.cum),
                                zx(zxid)
                            ),
                        ))
                    }
                }
            }
            Lookup::Absent { next_abs } => {
                let next = self.canon.at(next_abs).expect("successor in the window");
                Err(diverged(pid, cur, zxid, digest, next, next_abs))
            }
            Lookup::Beyond => {
                let base = self.canon.base();
                if cur.zxid < base.zxid {
                    Err(skipped(pid, cur, zxid, base, self.canon.base_abs()))
                } else {
                    let last = self.canon.last();
                    Err(MonitorViolation::new(
                        PREFIX_CONSISTENCY,
                        &[pid],
                        format!(
                            "{pid} delivered {} after {} from an unverified position; the \
                             canonical history ends at {}",
                            zx(zxid),
                            zx(cur.zxid),
                            zx(last.zxid)
                        ),
                    ))
                }
            }
        }
    }

    pub(super) fn on_reset(
        &mut self,
        pid: ProcessId,
        upto: Zxid,
        history: u64,
    ) -> Result<(), MonitorViolation> {
        self.summary.resets += 1;
        let floating = Cursor {
            zxid: upto,
            cum: history,
            abs: None,
        };
        self.tracks[pid.index()].cursor = Some(floating);
        if upto == Zxid::ZERO {
            self.tracks[pid.index()].cursor = Some(Cursor::GENESIS);
            if history != 0 {
                return Err(MonitorViolation::new(
                    PREFIX_CONSISTENCY,
                    &[pid],
                    format!(
                        "{pid} reset to genesis (zxid 0) with history digest {} instead of 0",
                        dg(history)
                    ),
                ));
            }
            return Ok(());
        }
        match self.canon.find(upto) {
            Lookup::BelowWindow => Ok(()),
            Lookup::At { abs, txn } => {
                let by = txn.first.expect("a canonical txn has a first deliverer");
                if txn.cum != history {
                    return Err(MonitorViolation::new(
                        PREFIX_CONSISTENCY,
                        &[pid, by],
                        format!(
                            "{pid} reset its applied state to {} with history digest {}, but the \
                             canonical history through {} (first delivered by {by}) has {}",
                            zx(upto),
                            dg(history),
                            zx(upto),
                            dg(txn.cum)
                        ),
                    ));
                }
                self.tracks[pid.index()].cursor = Some(Cursor {
                    zxid: upto,
                    cum: history,
                    abs: Some(abs),
                });
                Ok(())
            }
            Lookup::Absent { next_abs } => {
                let next = self.canon.at(next_abs).expect("successor in the window");
                let by = next.first.expect("a canonical txn has a first deliverer");
                Err(MonitorViolation::new(
                    PREFIX_CONSISTENCY,
                    &[pid, by],
                    format!(
                        "{pid} reset its applied state to {} (history {}), a txn never delivered \
                         anywhere; the canonical history continues with {} (first delivered by \
                         {by})",
                        zx(upto),
                        dg(history),
                        zx(next.zxid)
                    ),
                ))
            }
            Lookup::Beyond => Err(MonitorViolation::new(
                PREFIX_CONSISTENCY,
                &[pid],
                format!(
                    "{pid} reset its applied state to {} (history {}), beyond the last txn \
                     delivered anywhere ({})",
                    zx(upto),
                    dg(history),
                    zx(self.canon.last().zxid)
                ),
            )),
        }
    }
}

/// `pid`, after `cur`, delivered `(zxid, digest)` where the canonical history has `next` at
/// absolute position `next_abs`.
fn diverged(
    pid: ProcessId,
    cur: Cursor,
    zxid: Zxid,
    digest: u64,
    next: CanonTxn,
    next_abs: u64,
) -> MonitorViolation {
    let by = next.first.expect("a canonical txn has a first deliverer");
    if next.zxid == zxid {
        MonitorViolation::new(
            AGREEMENT,
            &[pid, by],
            format!(
                "{pid} delivered {} with digest {}, but {by} delivered {} with digest {} (canonical \
                 position #{next_abs}); neither can ever deliver the other's txn \
                 (PrefixConsistency also broken)",
                zx(zxid),
                dg(digest),
                zx(zxid),
                dg(next.digest)
            ),
        )
    } else if zxid > next.zxid {
        skipped(pid, cur, zxid, next, next_abs)
    } else {
        MonitorViolation::new(
            PREFIX_CONSISTENCY,
            &[pid, by],
            format!(
                "{pid} delivered {} (digest {}) after {}, but the canonical history continues \
                 there with {} (first delivered by {by}, position #{next_abs}) and never \
                 contained {} (Agreement also broken)",
                zx(zxid),
                dg(digest),
                zx(cur.zxid),
                zx(next.zxid),
                zx(zxid)
            ),
        )
    }
}

/// `pid` delivered `zxid` after `cur` without the canonical txn `missed` in between.
fn skipped(
    pid: ProcessId,
    cur: Cursor,
    zxid: Zxid,
    missed: CanonTxn,
    missed_abs: u64,
) -> MonitorViolation {
    let by = missed.first.expect("a canonical txn has a first deliverer");
    MonitorViolation::new(
        TOTAL_ORDER,
        &[pid, by],
        format!(
            "{pid} delivered {} right after {}, missing {} (digest {}, canonical position \
             #{missed_abs}) that {by} delivered before it (Agreement also broken: {pid} can no \
             longer deliver it)",
            zx(zxid),
            zx(cur.zxid),
            zx(missed.zxid),
            dg(missed.digest)
        ),
    )
}
