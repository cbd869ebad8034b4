//! ZAB's wire: election notifications and leader–learner messages (each tagged with a
//! connection id and a per-direction sequence number, see `link`), with their kind names and
//! realistic sizes. The application's own traffic between servers (forwarded requests,
//! barrier tokens, heartbeat payloads) rides the leader–learner connection opaquely, as
//! ZooKeeper's REQUEST, SYNC and PING ride its quorum socket.
//! Invariants: `KINDS[kind(m)]` names `m`; kind indices are the constants in [`kind`].
//!
//! Layout: every kernel event carries a message inline and moves it several times (queue
//! push, bucket sort, pop), so messages are kept small: big or variable payloads live behind
//! a pointer (an entry is an `Arc` shared by every PROPOSAL / INFORM of it, the log entry and
//! the disk record).

use std::sync::Arc;

use proto::{Epoch, ProcessId, Zxid};
use replication::{App, Payload, Snapshot};

use crate::types::{ServerState, Vote};

/// A fast-leader-election notification `(leader, zxid, electionEpoch, state, sid, peerEpoch)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub leader: ProcessId,
    pub zxid: Zxid,
    pub election_epoch: u64,
    pub state: ServerState,
    pub sid: ProcessId,
    pub peer_epoch: Epoch,
}

impl Notification {
    pub fn vote(&self) -> Vote {
        Vote {
            leader: self.leader,
            zxid: self.zxid,
            peer_epoch: self.peer_epoch,
        }
    }
}

/// Leader–learner messages (ZooKeeper's QuorumPacket types).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer<A: App> {
    /// Follower → leader, opens a connection (sequence number 0).
    FollowerInfo {
        accepted_epoch: Epoch,
    },
    /// Observer → leader, opens a connection (sequence number 0).
    ObserverInfo {
        accepted_epoch: Epoch,
    },
    /// Leader → learner: the epoch it proposes.
    LeaderInfo {
        new_epoch: Epoch,
    },
    /// Learner → leader. `current_epoch: None` is ZooKeeper's -1: the learner had already
    /// accepted this epoch and does not ack it again (the leader does not count it).
    AckEpoch {
        current_epoch: Option<Epoch>,
        last_zxid: Zxid,
    },
    /// Leader → learner: the learner's log is a prefix of the leader's; PROPOSALs (and
    /// COMMITs for committed ones) up to `last_zxid` follow. Everything up to
    /// `committed_zxid` is committed once UPTODATE arrives.
    Diff {
        last_zxid: Zxid,
        committed_zxid: Zxid,
    },
    /// Leader → learner: cut every logged entry after `to`; then as DIFF.
    Trunc {
        to: Zxid,
        committed_zxid: Zxid,
    },
    /// Leader → learner: replace log and state by this snapshot; then as DIFF.
    Snap {
        snapshot: Arc<Snapshot<A::State>>,
    },
    /// Leader → learner: end of the sync stream.
    NewLeader {
        epoch: Epoch,
        last_zxid: Zxid,
    },
    /// Learner → leader: everything synced and the current epoch are durable.
    AckNewLeader {
        epoch: Epoch,
    },
    /// Leader → learner: the leader is established; start serving.
    UpToDate,
    Proposal {
        txn: Arc<A::Entry>,
    },
    Ack {
        zxid: Zxid,
    },
    Commit {
        zxid: Zxid,
    },
    /// Leader → observer: a committed entry.
    Inform {
        txn: Arc<A::Entry>,
    },
    /// Both directions: liveness. Learner → leader: the application's heartbeat payload
    /// (ZooKeeper: the sessions its clients were heard from since the last ping).
    Ping {
        payload: A::Heartbeat,
    },
    /// Learner → leader: a barrier (ZooKeeper's sync); answered with `SyncDone` once every
    /// proposal issued before it is committed (and its COMMIT sent ahead on this link).
    Sync(A::Msg),
    SyncDone(A::Msg),
    /// Either way: the application's own message.
    App(A::Msg),
}

impl<A: App> Peer<A> {
    /// A PROPOSAL of `txn` (shares it when given an `Arc`).
    pub fn proposal(txn: impl Into<Arc<A::Entry>>) -> Peer<A> {
        Peer::Proposal { txn: txn.into() }
    }

    /// An INFORM of `txn` (shares it when given an `Arc`).
    pub fn inform(txn: impl Into<Arc<A::Entry>>) -> Peer<A> {
        Peer::Inform { txn: txn.into() }
    }

    /// A PING carrying `payload` (the leader's: the default, empty one).
    pub fn ping(payload: A::Heartbeat) -> Peer<A> {
        Peer::Ping { payload }
    }
}

/// Every message ZAB sends: a notification or a leader–learner message on connection
/// `conn`, `seq`-th in its direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire<A: App> {
    Notification(Notification),
    Peer { conn: u64, seq: u64, body: Peer<A> },
}

/// Indices into [`KINDS`].
pub mod kind {
    pub const NOTIFICATION: usize = 0;
    pub const FOLLOWERINFO: usize = 1;
    pub const OBSERVERINFO: usize = 2;
    pub const LEADERINFO: usize = 3;
    pub const ACKEPOCH: usize = 4;
    pub const DIFF: usize = 5;
    pub const TRUNC: usize = 6;
    pub const SNAP: usize = 7;
    pub const NEWLEADER: usize = 8;
    pub const ACK_NEWLEADER: usize = 9;
    pub const UPTODATE: usize = 10;
    pub const PROPOSAL: usize = 11;
    pub const ACK: usize = 12;
    pub const COMMIT: usize = 13;
    pub const INFORM: usize = 14;
    pub const PING: usize = 15;
    pub const SYNC: usize = 16;
    pub const SYNC_DONE: usize = 17;
    /// The application's own message (the world names its kinds).
    pub const APP: usize = 18;
}

/// ZAB's message kind names, by [`kind`] index.
pub const KINDS: [&str; 19] = [
    "NOTIFICATION",
    "FOLLOWERINFO",
    "OBSERVERINFO",
    "LEADERINFO",
    "ACKEPOCH",
    "DIFF",
    "TRUNC",
    "SNAP",
    "NEWLEADER",
    "ACK_NEWLEADER",
    "UPTODATE",
    "PROPOSAL",
    "ACK",
    "COMMIT",
    "INFORM",
    "PING",
    "SYNC",
    "SYNC_DONE",
    "APP",
];

/// Bytes of a quorum packet header: type, zxid, data length, connection id, sequence.
const PEER_HEADER_BYTES: u32 = 4 + 8 + 4 + 8 + 8;

/// ZooKeeper's notification: state, leader, zxid, electionEpoch, peerEpoch, version, config
/// length, plus the frame header.
const NOTIFICATION_BYTES: u32 = 4 + 8 + 8 + 8 + 8 + 4 + 4 + 12;

impl<A: App> Peer<A> {
    pub fn kind(&self) -> usize {
        match self {
            Peer::FollowerInfo { .. } => kind::FOLLOWERINFO,
            Peer::ObserverInfo { .. } => kind::OBSERVERINFO,
            Peer::LeaderInfo { .. } => kind::LEADERINFO,
            Peer::AckEpoch { .. } => kind::ACKEPOCH,
            Peer::Diff { .. } => kind::DIFF,
            Peer::Trunc { .. } => kind::TRUNC,
            Peer::Snap { .. } => kind::SNAP,
            Peer::NewLeader { .. } => kind::NEWLEADER,
            Peer::AckNewLeader { .. } => kind::ACK_NEWLEADER,
            Peer::UpToDate => kind::UPTODATE,
            Peer::Proposal { .. } => kind::PROPOSAL,
            Peer::Ack { .. } => kind::ACK,
            Peer::Commit { .. } => kind::COMMIT,
            Peer::Inform { .. } => kind::INFORM,
            Peer::Ping { .. } => kind::PING,
            Peer::Sync(_) => kind::SYNC,
            Peer::SyncDone(_) => kind::SYNC_DONE,
            Peer::App(_) => kind::APP,
        }
    }

    fn payload_bytes(&self) -> u32 {
        match self {
            Peer::FollowerInfo { .. } | Peer::ObserverInfo { .. } => 20,
            Peer::LeaderInfo { .. } | Peer::AckEpoch { .. } | Peer::AckNewLeader { .. } => 4,
            Peer::Diff { .. } | Peer::Trunc { .. } | Peer::NewLeader { .. } => 8,
            Peer::Snap { snapshot } => snapshot.size_bytes(),
            Peer::UpToDate | Peer::Ack { .. } | Peer::Commit { .. } => 0,
            Peer::Proposal { txn } | Peer::Inform { txn } => replication::Entry::size_bytes(&**txn),
            Peer::Ping { payload } => payload.size_bytes(),
            Peer::Sync(m) | Peer::SyncDone(m) | Peer::App(m) => m.size_bytes(),
        }
    }
}

impl<A: App> Wire<A> {
    /// Its index in [`KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            Wire::Notification(_) => kind::NOTIFICATION,
            Wire::Peer { body, .. } => body.kind(),
        }
    }

    /// Bytes on the wire.
    pub fn size_bytes(&self) -> u32 {
        match self {
            Wire::Notification(_) => NOTIFICATION_BYTES,
            Wire::Peer { body, .. } => PEER_HEADER_BYTES.saturating_add(body.payload_bytes()),
        }
    }
}
