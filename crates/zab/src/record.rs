//! Durable records (the log-structured disk image of one server) and recovery from them.
//! Invariants: records are replayed in append order; a `Truncate` never goes below the log
//! base; a local `Snapshot` covers a prefix of the log and trims at most up to its zxid;
//! `InstallSnapshot` replaces log and state; after recovery
//! `log.base <= snapshot.zxid <= log.last` and `accepted_epoch >= current_epoch >=
//! epoch(log.last)`.

use std::sync::Arc;

use proto::{Epoch, Zxid};

use replication::{App, Entry, Snapshot};

use crate::log::TxnLog;

/// One record on a server's disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record<A: App> {
    /// ZooKeeper's `acceptedEpoch` file.
    AcceptedEpoch(Epoch),
    /// ZooKeeper's `currentEpoch` file.
    CurrentEpoch(Epoch),
    /// One logged txn (shared with the log entry and the PROPOSALs of it).
    Txn(Arc<A::Entry>),
    /// TRUNC: every logged txn with zxid > `to` is cut.
    Truncate { to: Zxid },
    /// A local snapshot of the applied (committed) state; log entries up to and including
    /// `trim_to` (<= `snapshot.zxid`) are no longer kept.
    Snapshot {
        snapshot: Arc<Snapshot<A::State>>,
        trim_to: Zxid,
    },
    /// SNAP from a leader: state and log are replaced by this snapshot.
    InstallSnapshot(Arc<Snapshot<A::State>>),
}

impl<A: App> Record<A> {
    /// Bytes this record takes on disk (an estimate, for disk-cost models).
    pub fn size_bytes(&self) -> u32 {
        match self {
            Record::AcceptedEpoch(_) | Record::CurrentEpoch(_) => 8,
            Record::Txn(txn) => txn.size_bytes(),
            Record::Truncate { .. } => 16,
            Record::Snapshot { snapshot, .. } | Record::InstallSnapshot(snapshot) => {
                snapshot.size_bytes()
            }
        }
    }
}

/// What a server rebuilds from its durable records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskImage<A: App> {
    pub accepted_epoch: Epoch,
    pub current_epoch: Epoch,
    pub log: TxnLog<A::Entry>,
    pub snapshot: Arc<Snapshot<A::State>>,
}

impl<A: App> Default for DiskImage<A> {
    fn default() -> Self {
        DiskImage {
            accepted_epoch: Epoch(0),
            current_epoch: Epoch(0),
            log: TxnLog::new(),
            snapshot: Arc::new(Snapshot::<A::State>::genesis()),
        }
    }
}

/// Replays durable records (in append order) into a disk image. A torn tail record is
/// never passed in: the caller only hands over complete records.
pub fn recover<A: App>(records: &[Record<A>]) -> DiskImage<A> {
    let mut img = DiskImage::default();
    for r in records {
        match r {
            Record::AcceptedEpoch(e) => img.accepted_epoch = *e,
            Record::CurrentEpoch(e) => img.current_epoch = *e,
            Record::Txn(t) => {
                assert!(t.digest_ok(), "corrupt txn record {}", t.zxid());
                img.log.append(Arc::clone(t));
            }
            Record::Truncate { to } => {
                assert!(
                    *to >= img.snapshot.zxid,
                    "truncate record below the snapshot"
                );
                img.log.truncate_after(*to);
            }
            Record::Snapshot { snapshot, trim_to } => {
                assert!(*trim_to <= snapshot.zxid);
                assert_eq!(
                    img.log.digest_at(snapshot.zxid),
                    Some(snapshot.history),
                    "snapshot does not match the log"
                );
                img.log.trim_through(*trim_to);
                img.snapshot = Arc::clone(snapshot);
            }
            Record::InstallSnapshot(snapshot) => {
                img.log = TxnLog::starting_at(snapshot.zxid, snapshot.history);
                img.snapshot = Arc::clone(snapshot);
            }
        }
    }
    assert!(img.log.base_zxid() <= img.snapshot.zxid);
    assert!(img.snapshot.zxid <= img.log.last_zxid());
    img.current_epoch = img.current_epoch.max(img.log.last_zxid().epoch());
    img.accepted_epoch = img.accepted_epoch.max(img.current_epoch);
    img
}
