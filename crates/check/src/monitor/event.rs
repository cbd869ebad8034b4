//! The monitors' input vocabulary: [`ProtocolEvent`] (a 1:1 mirror of `zab::Note` plus the
//! kernel's crash / restart), the read-only [`ServerLog`] view of one live server, and
//! [`chain_digest`], the cumulative history digest both sides agree on.
//! Invariants: `check` never depends on `zab`; everything here is plain data, so the
//! simulator translates notes field by field and never loses information.

use proto::{Epoch, ProcessId, Zxid, hash_words};

/// ZooKeeper's server states (mirrors `zab::ServerState`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerState {
    Looking,
    Following,
    Leading,
    Observing,
}

/// ZAB's phases (mirrors `zab::Phase`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Election,
    Discovery,
    Synchronization,
    Broadcast,
}

/// What one server reported (or, for `Crashed` / `Restarted`, what the kernel did to it).
/// Every variant but the last two mirrors the `zab::Note` variant of the same name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolEvent {
    /// The server state changed; `epoch` is the server's current (durable) epoch.
    State { state: ServerState, epoch: Epoch },
    /// The ZAB phase changed.
    Phase(Phase),
    /// Fast leader election decided.
    ElectionDone {
        leader: ProcessId,
        election_epoch: u64,
    },
    /// This leader got a quorum of NEWLEADER ACKs for `epoch`.
    Established { epoch: Epoch },
    /// This leader issued a new txn.
    Proposed { zxid: Zxid, digest: u64 },
    /// This leader saw `zxid` committed (quorum of ACKs, or initial history at establishment).
    Committed { zxid: Zxid },
    /// This server applied a committed txn.
    Delivered { zxid: Zxid, digest: u64 },
    /// This server's applied state was replaced (restart, SNAP, rollback by TRUNC): it has
    /// now applied exactly the history through `upto` whose cumulative digest is `history`
    /// (`0, 0` = genesis).
    Reset { upto: Zxid, history: u64 },
    /// Log entries with zxid > `after` were cut; `removed` lists them in increasing order.
    Truncated { after: Zxid, removed: Vec<Zxid> },
    /// This learner finished sync (it sent the NEWLEADER ACK) with its log ending at
    /// `last_zxid`.
    Synced {
        leader: ProcessId,
        epoch: Epoch,
        last_zxid: Zxid,
    },
    /// The kernel crashed the server: its volatile state is gone until its next `Reset`.
    Crashed,
    /// The kernel started a new incarnation (its `Reset` note follows).
    Restarted,
}

/// A read-only view of one live server, implemented by the simulator for a zab server
/// (typically a newtype `ZabLog<'a>(&'a zab::Server)` returned by value).
pub trait ServerLog {
    /// Cumulative digest of the server's txn log through `zxid` (the log's base point
    /// counts; zxid 0 → `Some(0)` on a fresh server); `None` when `zxid` is not in the log.
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64>;
    /// The log's base point: the zxid just before its first kept entry (trimmed prefix or
    /// installed snapshot). `log_digest_at` knows nothing below it.
    fn log_base_zxid(&self) -> Zxid;
    fn last_logged_zxid(&self) -> Zxid;
    fn current_epoch(&self) -> Epoch;
    /// The epoch this server leads or is establishing (`zab::Server::leader_epoch`).
    fn leading_epoch(&self) -> Option<Epoch>;
    fn is_established_leader(&self) -> bool;
}

impl<T: ServerLog + ?Sized> ServerLog for &T {
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64> {
        (**self).log_digest_at(zxid)
    }
    fn log_base_zxid(&self) -> Zxid {
        (**self).log_base_zxid()
    }
    fn last_logged_zxid(&self) -> Zxid {
        (**self).last_logged_zxid()
    }
    fn current_epoch(&self) -> Epoch {
        (**self).current_epoch()
    }
    fn leading_epoch(&self) -> Option<Epoch> {
        (**self).leading_epoch()
    }
    fn is_established_leader(&self) -> bool {
        (**self).is_established_leader()
    }
}

/// The cumulative history digest, exactly as zab computes it (`zab::chain_digest`):
/// `h_0 = 0`, `h_k = hash_words([h_{k-1}, zxid_k, digest_k])`.
pub fn chain_digest(prev: u64, zxid: Zxid, digest: u64) -> u64 {
    hash_words(&[prev, zxid.0, digest])
}

/// The cumulative digest of a whole history of `(zxid, digest)` pairs from genesis.
pub fn history_digest(txns: &[(Zxid, u64)]) -> u64 {
    txns.iter()
        .fold(0, |cum, &(zxid, digest)| chain_digest(cum, zxid, digest))
}
