//! Plain data shared by every part of a server: roles, phases, votes, txns, snapshots,
//! client operations and results.
//! Invariants: a txn's `digest` is a pure function of its zxid and content ([`Txn::new`]
//! computes it, [`Txn::digest_ok`] re-checks it); cumulative history digests are built only
//! with [`chain_digest`] (`h_0 = 0`, `h_k = hash_words([h_{k-1}, zxid_k, digest_k])`), so
//! a log's, an applied history's and a snapshot's digests are comparable.

use proto::{Epoch, ProcessId, StableHasher, Zxid, hash_words};
use serde::{Deserialize, Serialize};

use crate::app::AppState;

/// ZooKeeper's server states.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServerState {
    Looking,
    Following,
    Leading,
    Observing,
}

/// ZAB's phases.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    Election,
    Discovery,
    Synchronization,
    Broadcast,
}

/// A fast-leader-election vote: ordered by `(peer_epoch, zxid, leader)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    pub leader: ProcessId,
    pub zxid: Zxid,
    pub peer_epoch: Epoch,
}

/// What a client asks a server.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientOp {
    Write { key: u64, value: u64 },
    Read { key: u64 },
}

/// What a server answers a client.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientResult {
    /// The write was committed and applied at the replying server.
    Written,
    /// A read's result from the replying server's applied state.
    Value(Option<u64>),
    /// The server is not serving (not in broadcast phase, lost its leader, too many
    /// requests in flight). For a write the outcome is unknown: it may still commit.
    ConnectionLoss,
}

/// Who asked for a txn: the server that must reply, the client and its request id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    pub server: ProcessId,
    pub client: ProcessId,
    pub req_id: u64,
}

/// A state change carried by a txn.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxnOp {
    Write { key: u64, value: u64 },
}

/// One transaction of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    pub zxid: Zxid,
    pub op: TxnOp,
    pub origin: Option<Origin>,
    /// Stable hash over zxid and content; see [`Txn::compute_digest`].
    pub digest: u64,
}

impl Txn {
    pub fn new(zxid: Zxid, op: TxnOp, origin: Option<Origin>) -> Txn {
        let digest = Txn::compute_digest(zxid, &op, origin.as_ref());
        Txn {
            zxid,
            op,
            origin,
            digest,
        }
    }

    pub fn compute_digest(zxid: Zxid, op: &TxnOp, origin: Option<&Origin>) -> u64 {
        let mut h = StableHasher::new();
        h.word(zxid.0);
        match *op {
            TxnOp::Write { key, value } => h.word(1).word(key).word(value),
        };
        match origin {
            None => h.word(0),
            Some(o) => h
                .word(1)
                .word(u64::from(o.server.0))
                .word(u64::from(o.client.0))
                .word(o.req_id),
        };
        h.finish()
    }

    pub fn digest_ok(&self) -> bool {
        self.digest == Txn::compute_digest(self.zxid, &self.op, self.origin.as_ref())
    }
}

/// Extends a cumulative history digest by one txn.
pub fn chain_digest(prev: u64, zxid: Zxid, digest: u64) -> u64 {
    hash_words(&[prev, zxid.0, digest])
}

/// The applied state after every txn up to and including `zxid`, with the cumulative
/// history digest of those txns (so a server that loads it can keep the history chain).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub zxid: Zxid,
    pub history: u64,
    pub data: AppState,
}

impl Snapshot {
    /// The empty state before any txn.
    pub fn genesis() -> Snapshot {
        Snapshot::default()
    }

    /// Bytes this snapshot occupies on the wire / disk (a realistic estimate).
    pub fn size_bytes(&self) -> u32 {
        let n = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
        32u32.saturating_add(n.saturating_mul(16))
    }
}
