//! Plain data shared by every part of a server: roles, phases, votes, txns (znode-tree txns
//! with their origin) and snapshots.
//! Invariants: a txn's `digest` is a pure function of its zxid and content ([`Txn::new`]
//! computes it; a txn is immutable once built and travels as `Arc<Txn>`, so receivers do not
//! re-hash it; recovery re-checks it with [`Txn::digest_ok`]); cumulative history digests
//! are built only with [`chain_digest`] (`h_0 = 0`,
//! `h_k = hash_words([h_{k-1}, zxid_k, digest_k])`), so a log's, an applied history's and a
//! snapshot's digests are comparable.

use proto::{Epoch, ProcessId, StableHasher, Zxid, hash_words};
use serde::{Deserialize, Serialize};

use datatree::{TxnBody, TxnHeader};
use proto::zk::SessionId;

use crate::app::ZkState;

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

/// Why a server left LEADING / FOLLOWING / OBSERVING for a new election. Its text
/// ([`LeaveReason::as_str`], also its `Display`) is the sentence the server always gave.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LeaveReason {
    /// Learner: the transport reset its connection to the leader (the leader crashed).
    LeaderConnectionReset,
    /// Learner: a message from the leader skipped a sequence number.
    LeaderConnectionGap,
    /// Learner: the leader sent a message this stage does not expect.
    UnexpectedLeaderMessage,
    /// Learner: nothing from the leader within initLimit / syncLimit.
    LeaderSilent,
    /// Leader (with `yield_to_newer_accepted_epoch`): a learner accepted a newer epoch.
    LearnerAcceptedNewerEpoch,
    /// Leader: a follower's ACKEPOCH shows a newer history than the leader's.
    FollowerAhead,
    /// Leader: initLimit ran out before a quorum acknowledged NEWLEADER.
    InitLimitExpired,
    /// Leader: fewer than a quorum of synced followers were heard within syncLimit.
    SyncedQuorumLost,
    /// Leader: the next zxid would pass `zxid_counter_max`.
    ZxidCounterExhausted,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::LeaderConnectionReset => "the connection to the leader was reset",
            LeaveReason::LeaderConnectionGap => "connection to the leader lost messages",
            LeaveReason::UnexpectedLeaderMessage => "unexpected message from the leader",
            LeaveReason::LeaderSilent => "no word from the leader within the limit",
            LeaveReason::LearnerAcceptedNewerEpoch => "a learner accepted a newer epoch",
            LeaveReason::FollowerAhead => "a follower is ahead of the leader",
            LeaveReason::InitLimitExpired => "initLimit expired before the leader was established",
            LeaveReason::SyncedQuorumLost => "lost a quorum of synced followers",
            LeaveReason::ZxidCounterExhausted => "zxid counter would overflow",
        }
    }
}

impl std::fmt::Display for LeaveReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fast-leader-election vote: ordered by `(peer_epoch, zxid, leader)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    pub leader: ProcessId,
    pub zxid: Zxid,
    pub peer_epoch: Epoch,
}

/// Who asked for a txn: the server that must reply, the client process, its connection and
/// the request's xid (0 for the connect that creates a session).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    pub server: ProcessId,
    pub client: ProcessId,
    pub conn: u64,
    pub xid: u64,
}

/// One transaction of the replicated log: a znode-tree txn (ZooKeeper's `TxnHeader` + body)
/// plus who asked for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    pub zxid: Zxid,
    /// The session that issued it (`SessionId::NONE` for none).
    pub session: SessionId,
    /// The leader's wall clock at prepare, in milliseconds (ctime/mtime).
    pub time_ms: i64,
    pub body: TxnBody,
    pub origin: Option<Origin>,
    /// Stable hash over zxid and content; see [`Txn::compute_digest`].
    pub digest: u64,
}

impl Txn {
    pub fn new(
        zxid: Zxid,
        session: SessionId,
        time_ms: i64,
        body: TxnBody,
        origin: Option<Origin>,
    ) -> Txn {
        let mut txn = Txn {
            zxid,
            session,
            time_ms,
            body,
            origin,
            digest: 0,
        };
        txn.digest = txn.compute_digest();
        txn
    }

    /// The tree's view of this txn (what `DataTree::apply` takes).
    pub fn tree_txn(&self) -> datatree::Txn {
        datatree::Txn {
            header: self.header(),
            body: self.body.clone(),
        }
    }

    pub fn header(&self) -> TxnHeader {
        TxnHeader {
            session: self.session,
            zxid: self.zxid,
            time_ms: self.time_ms,
        }
    }

    pub fn compute_digest(&self) -> u64 {
        let mut h = StableHasher::new();
        h.word(self.zxid.0)
            .word(self.session.0)
            .word(self.time_ms as u64);
        hash_body(&mut h, &self.body);
        match &self.origin {
            None => h.word(0),
            Some(o) => h
                .word(1)
                .word(u64::from(o.server.0))
                .word(u64::from(o.client.0))
                .word(o.conn)
                .word(o.xid),
        };
        h.finish()
    }

    pub fn digest_ok(&self) -> bool {
        self.digest == self.compute_digest()
    }

    /// Bytes on the wire / disk (header, paths, data).
    pub fn size_bytes(&self) -> u32 {
        const HEADER_BYTES: usize = 8 + 8 + 8 + 4 + 4;
        let bytes = HEADER_BYTES + body_size_bytes(&self.body);
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

fn hash_body(h: &mut StableHasher, body: &TxnBody) {
    match body {
        TxnBody::Create {
            path,
            data,
            ephemeral,
            parent_cversion,
        } => h
            .word(1)
            .bytes(path.as_bytes())
            .bytes(data)
            .word(u64::from(*ephemeral))
            .word(*parent_cversion as u32 as u64),
        TxnBody::Delete { path } => h.word(2).bytes(path.as_bytes()),
        TxnBody::SetData {
            path,
            data,
            version,
        } => h
            .word(3)
            .bytes(path.as_bytes())
            .bytes(data)
            .word(*version as u32 as u64),
        TxnBody::Check { path, version } => h
            .word(4)
            .bytes(path.as_bytes())
            .word(*version as u32 as u64),
        TxnBody::Multi(subs) => {
            h.word(5).word(subs.len() as u64);
            subs.iter().for_each(|s| hash_body(h, s));
            h
        }
        TxnBody::CreateSession { timeout_ms } => h.word(6).word(u64::from(*timeout_ms)),
        TxnBody::CloseSession { paths } => {
            h.word(7).word(paths.len() as u64);
            paths.iter().for_each(|p| {
                h.bytes(p.as_bytes());
            });
            h
        }
        TxnBody::Error(err) => h.word(8).word(err.code() as u32 as u64),
    };
}

fn body_size_bytes(body: &TxnBody) -> usize {
    match body {
        TxnBody::Create { path, data, .. } | TxnBody::SetData { path, data, .. } => {
            12 + path.len() + data.len()
        }
        TxnBody::Delete { path } | TxnBody::Check { path, .. } => 8 + path.len(),
        TxnBody::Multi(subs) => 8 + subs.iter().map(body_size_bytes).sum::<usize>(),
        TxnBody::CloseSession { paths } => 8 + paths.iter().map(|p| 4 + p.len()).sum::<usize>(),
        TxnBody::CreateSession { .. } | TxnBody::Error(_) => 8,
    }
}

/// Extends a cumulative history digest by one txn.
pub fn chain_digest(prev: u64, zxid: Zxid, digest: u64) -> u64 {
    hash_words(&[prev, zxid.0, digest])
}

/// The applied state after every txn up to and including `zxid`, with the cumulative
/// history digest of those txns (so a server that loads it can keep the history chain).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub zxid: Zxid,
    pub history: u64,
    pub state: ZkState,
}

impl Snapshot {
    /// The empty state before any txn.
    pub fn genesis() -> Snapshot {
        Snapshot::default()
    }

    /// Bytes this snapshot occupies on the wire / disk (a realistic estimate).
    pub fn size_bytes(&self) -> u32 {
        let bytes = 32 + self.state.size_bytes();
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leave_reasons_keep_their_sentences() {
        let cases = [
            (
                LeaveReason::LeaderConnectionReset,
                "the connection to the leader was reset",
            ),
            (
                LeaveReason::LeaderConnectionGap,
                "connection to the leader lost messages",
            ),
            (
                LeaveReason::UnexpectedLeaderMessage,
                "unexpected message from the leader",
            ),
            (
                LeaveReason::LeaderSilent,
                "no word from the leader within the limit",
            ),
            (
                LeaveReason::LearnerAcceptedNewerEpoch,
                "a learner accepted a newer epoch",
            ),
            (
                LeaveReason::FollowerAhead,
                "a follower is ahead of the leader",
            ),
            (
                LeaveReason::InitLimitExpired,
                "initLimit expired before the leader was established",
            ),
            (
                LeaveReason::SyncedQuorumLost,
                "lost a quorum of synced followers",
            ),
            (
                LeaveReason::ZxidCounterExhausted,
                "zxid counter would overflow",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text, "{reason:?}");
        }
    }
}
