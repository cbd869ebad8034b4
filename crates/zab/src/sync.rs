//! The leader's per-learner synchronization decision (ZooKeeper's `syncFollower`), as a pure
//! function of the leader's log, the learner's last zxid and the point to sync up to.
//! Invariants: TRUNC cuts only what follows a zxid present in the leader's log (so it never
//! removes a txn the leader holds, in particular no committed txn); DIFF starts at a zxid
//! the learner has; SNAP is chosen exactly when the learner is behind the log window.

use proto::Zxid;

use crate::log::TxnLog;

/// How to bring a learner whose last logged zxid is `peer_last` up to `sync_upto`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SyncPlan {
    /// Send the log entries after `from`.
    Diff { from: Zxid },
    /// The learner holds entries the leader does not: cut them after `to`, then send the
    /// log entries after `to`.
    Trunc { to: Zxid },
    /// The learner is behind the leader's log window: send a snapshot of the leader's
    /// applied state, then the log entries after it.
    Snap,
}

/// See [`SyncPlan`]. `sync_upto` must be in the log; `skip_trunc` plants ZOOKEEPER-1154
/// (DIFF instead of TRUNC+DIFF when `peer_last` is not in the log but not ahead of it).
pub fn plan_sync<E: replication::Entry>(
    log: &TxnLog<E>,
    peer_last: Zxid,
    sync_upto: Zxid,
    skip_trunc: bool,
) -> SyncPlan {
    assert!(
        log.contains(sync_upto),
        "sync point not in the leader's log"
    );
    if peer_last < log.base_zxid() {
        return SyncPlan::Snap;
    }
    let floor = log.floor(peer_last.min(sync_upto));
    if floor == peer_last {
        // The learner's last zxid is in the leader's log: its log is a prefix.
        assert!(log.contains(floor) && floor <= sync_upto);
        SyncPlan::Diff { from: floor }
    } else if skip_trunc && peer_last <= sync_upto {
        SyncPlan::Diff { from: peer_last }
    } else {
        // The cut keeps only what the leader holds, at most up to the sync point.
        assert!(floor < peer_last && floor <= sync_upto);
        assert!(
            log.contains(floor),
            "TRUNC to a zxid the leader does not hold"
        );
        SyncPlan::Trunc { to: floor }
    }
}
