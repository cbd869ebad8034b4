//! The monitors that read server state, run by [`Monitors::after_event`] against the state
//! after the event whose notes queued them: LeaderLogCompleteness (at `Established`) and
//! ProcessConsistency (at `Synced`).
//! Invariants: what was committed is captured when the note is seen, not when the check
//! runs; a check whose server is down, no longer leads that epoch, or whose log was trimmed
//! past the point to compare is skipped and counted, never guessed.

use proto::{Epoch, ProcessId, Time, Zxid};

use super::Monitors;
use super::canon::{CanonTxn, Lookup};
use super::event::ServerLog;
use super::violation::{LEADER_LOG_COMPLETENESS, MonitorViolation, PROCESS_CONSISTENCY, dg, zx};

/// A state-reading check waiting for the end of the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Deferred {
    /// `leader` established `epoch`; at that moment the canonical history ended at
    /// `committed`, and `pending` was the largest `Committed` zxid not yet delivered.
    LeaderComplete {
        leader: ProcessId,
        epoch: Epoch,
        committed: CanonTxn,
        pending: Option<(Zxid, ProcessId)>,
        noted_at: Time,
    },
    /// `follower` synced with `leader` in `epoch`, its log ending at `last_zxid`.
    FollowerSynced {
        follower: ProcessId,
        leader: ProcessId,
        epoch: Epoch,
        last_zxid: Zxid,
        noted_at: Time,
    },
}

impl Monitors {
    pub(super) fn run_deferred<S: ServerLog>(
        &mut self,
        check: &Deferred,
        servers: &impl Fn(ProcessId) -> Option<S>,
    ) -> Result<(), MonitorViolation> {
        match *check {
            Deferred::LeaderComplete {
                leader,
                epoch,
                committed,
                pending,
                noted_at,
            } => match servers(leader) {
                Some(view)
                    if view.is_established_leader() && view.leading_epoch() == Some(epoch) =>
                {
                    self.leader_complete(leader, epoch, committed, pending, noted_at, &view)
                }
                _ => {
                    self.summary.checks_skipped += 1;
                    Ok(())
                }
            },
            Deferred::FollowerSynced {
                follower,
                leader,
                epoch,
                last_zxid,
                noted_at,
            } => {
                let (Some(fv), Some(lv)) = (servers(follower), servers(leader)) else {
                    self.summary.checks_skipped += 1;
                    return Ok(());
                };
                if lv.leading_epoch() != Some(epoch) {
                    self.summary.checks_skipped += 1;
                    return Ok(());
                }
                self.process_consistent(follower, leader, epoch, last_zxid, noted_at, &fv, &lv)
            }
        }
    }

    /// Every committed txn is in the new leader's log: its log's cumulative digest at the
    /// last canonical txn equals the canonical one, and the largest undelivered `Committed`
    /// zxid is logged too.
    fn leader_complete<S: ServerLog>(
        &mut self,
        leader: ProcessId,
        epoch: Epoch,
        committed: CanonTxn,
        pending: Option<(Zxid, ProcessId)>,
        noted_at: Time,
        view: &S,
    ) -> Result<(), MonitorViolation> {
        let last = view.last_logged_zxid();
        let base = view.log_base_zxid();
        let (top, top_by) = match pending {
            Some((z, by)) if z > committed.zxid => (z, Some(by)),
            _ => (committed.zxid, committed.first),
        };
        let fail = |by: Option<ProcessId>, what: String| {
            let mut processes = vec![leader];
            processes.extend(by);
            MonitorViolation::new(
                LEADER_LOG_COMPLETENESS,
                &processes,
                format!(
                    "{leader} established epoch {} (at {noted_at}; current epoch {}) {what}",
                    epoch.0,
                    view.current_epoch().0
                ),
            )
        };
        if top == Zxid::ZERO {
            return Ok(());
        }
        if last < top {
            return Err(fail(
                top_by,
                format!(
                    "with its log ending at {}, but {} was already committed{}",
                    zx(last),
                    zx(top),
                    top_by.map_or(String::new(), |b| format!(" (by {b})"))
                ),
            ));
        }
        if committed.zxid > Zxid::ZERO {
            if committed.zxid >= base {
                match view.log_digest_at(committed.zxid) {
                    None => {
                        return Err(fail(
                            committed.first,
                            format!(
                                "without committed txn {} in its log (log {}..={})",
                                zx(committed.zxid),
                                zx(base),
                                zx(last)
                            ),
                        ));
                    }
                    Some(h) if h != committed.cum => {
                        return Err(fail(
                            committed.first,
                            format!(
                                "with a log whose cumulative digest through {} is {}, but the \
                                 committed history has {}: a committed txn at or before it is \
                                 missing or different",
                                zx(committed.zxid),
                                dg(h),
                                dg(committed.cum)
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            } else {
                // The log starts past the committed frontier (an installed snapshot):
                // compare at its base point instead.
                match (self.canon.find(base), view.log_digest_at(base)) {
                    (Lookup::At { txn, .. }, Some(h)) if h != txn.cum => {
                        return Err(fail(
                            txn.first,
                            format!(
                                "with a log based at {} with cumulative digest {}, but the \
                                 committed history there has {}",
                                zx(base),
                                dg(h),
                                dg(txn.cum)
                            ),
                        ));
                    }
                    (Lookup::At { .. }, Some(_)) => {}
                    _ => self.summary.checks_skipped += 1,
                }
            }
        }
        if top > committed.zxid && top >= base && view.log_digest_at(top).is_none() {
            return Err(fail(
                top_by,
                format!(
                    "without committed txn {} in its log (log {}..={})",
                    zx(top),
                    zx(base),
                    zx(last)
                ),
            ));
        }
        Ok(())
    }

    /// A synced learner's log is a prefix of its leader's: equal cumulative digests at the
    /// learner's last logged zxid.
    #[allow(clippy::too_many_arguments)]
    fn process_consistent<S: ServerLog>(
        &mut self,
        follower: ProcessId,
        leader: ProcessId,
        epoch: Epoch,
        last_zxid: Zxid,
        noted_at: Time,
        fv: &S,
        lv: &S,
    ) -> Result<(), MonitorViolation> {
        let Some(fd) = fv.log_digest_at(last_zxid) else {
            self.summary.checks_skipped += 1;
            return Ok(());
        };
        let fail = |what: String| {
            MonitorViolation::new(
                PROCESS_CONSISTENCY,
                &[follower, leader],
                format!(
                    "{follower} synced with leader {leader} in epoch {} (at {noted_at}) with its \
                     log ending at {}, {what}",
                    epoch.0,
                    zx(last_zxid)
                ),
            )
        };
        let (lbase, llast) = (lv.log_base_zxid(), lv.last_logged_zxid());
        if last_zxid > llast {
            return Err(fail(format!(
                "beyond the leader's last logged txn {}",
                zx(llast)
            )));
        }
        if last_zxid < lbase {
            self.summary.checks_skipped += 1;
            return Ok(());
        }
        match lv.log_digest_at(last_zxid) {
            None => Err(fail(format!(
                "a txn the leader's log ({}..={}) does not hold",
                zx(lbase),
                zx(llast)
            ))),
            Some(ld) if ld != fd => Err(fail(format!(
                "but its log's cumulative digest there is {} and the leader's is {}",
                dg(fd),
                dg(ld)
            ))),
            Some(_) => Ok(()),
        }
    }
}
