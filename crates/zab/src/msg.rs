//! The wire messages of one ensemble: election notifications, leader–learner messages
//! (each tagged with a connection id and a per-direction sequence number, see `link`), and
//! client requests/replies; their kind names and realistic sizes.
//! Invariants: `KINDS[kind(m)]` names `m`; kind indices are the constants in [`kind`].

use std::sync::Arc;

use proto::{Epoch, Message, ProcessId, Zxid};

use crate::types::{ClientOp, ClientResult, Origin, ServerState, Snapshot, Txn, TxnOp, Vote};

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
pub enum Peer {
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
    /// Leader → learner: cut every logged txn after `to`; then as DIFF.
    Trunc {
        to: Zxid,
        committed_zxid: Zxid,
    },
    /// Leader → learner: replace log and state by this snapshot; then as DIFF.
    Snap {
        snapshot: Arc<Snapshot>,
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
        txn: Txn,
    },
    Ack {
        zxid: Zxid,
    },
    Commit {
        zxid: Zxid,
    },
    /// Leader → observer: a committed txn.
    Inform {
        txn: Txn,
    },
    /// Both directions: liveness.
    Ping,
    /// Learner → leader: a client write to propose.
    Request {
        op: TxnOp,
        origin: Origin,
    },
}

/// Every message a server sends or receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Notification(Notification),
    /// A leader–learner message on connection `conn`, `seq`-th in its direction.
    Peer {
        conn: u64,
        seq: u64,
        body: Peer,
    },
    /// Client → any server.
    ClientRequest {
        req_id: u64,
        op: ClientOp,
    },
    /// Server → client. `zxid`: the write's zxid, or the server's last applied zxid.
    ClientReply {
        req_id: u64,
        zxid: Zxid,
        result: ClientResult,
    },
}

/// Indices into [`Msg::KINDS`].
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
    pub const REQUEST: usize = 16;
    pub const CLIENT_REQUEST: usize = 17;
    pub const CLIENT_REPLY: usize = 18;
}

/// Bytes of a quorum packet header: type, zxid, data length, connection id, sequence.
const PEER_HEADER_BYTES: u32 = 4 + 8 + 4 + 8 + 8;
/// A txn on the wire: header (zxid, time, type, session, cxid) plus a small payload.
const TXN_BYTES: u32 = 8 + 8 + 4 + 8 + 4 + 16 + 8;

impl Peer {
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
            Peer::Ping => kind::PING,
            Peer::Request { .. } => kind::REQUEST,
        }
    }

    fn payload_bytes(&self) -> u32 {
        match self {
            Peer::FollowerInfo { .. } | Peer::ObserverInfo { .. } => 20,
            Peer::LeaderInfo { .. } | Peer::AckEpoch { .. } | Peer::AckNewLeader { .. } => 4,
            Peer::Diff { .. } | Peer::Trunc { .. } | Peer::NewLeader { .. } => 8,
            Peer::Snap { snapshot } => snapshot.size_bytes(),
            Peer::UpToDate | Peer::Ack { .. } | Peer::Commit { .. } => 0,
            Peer::Proposal { .. } | Peer::Inform { .. } | Peer::Request { .. } => TXN_BYTES,
            Peer::Ping => 16,
        }
    }
}

impl Message for Msg {
    const KINDS: &'static [&'static str] = &[
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
        "REQUEST",
        "CLIENT_REQUEST",
        "CLIENT_REPLY",
    ];

    fn kind(&self) -> usize {
        match self {
            Msg::Notification(_) => kind::NOTIFICATION,
            Msg::Peer { body, .. } => body.kind(),
            Msg::ClientRequest { .. } => kind::CLIENT_REQUEST,
            Msg::ClientReply { .. } => kind::CLIENT_REPLY,
        }
    }

    fn size_bytes(&self) -> u32 {
        match self {
            // ZooKeeper's notification: state, leader, zxid, electionEpoch, peerEpoch,
            // version, config length, plus the frame header.
            Msg::Notification(_) => 4 + 8 + 8 + 8 + 8 + 4 + 4 + 12,
            Msg::Peer { body, .. } => PEER_HEADER_BYTES.saturating_add(body.payload_bytes()),
            // Request header (xid, type) + path-sized key + a value.
            Msg::ClientRequest { .. } => 4 + 4 + 4 + 8 + 8 + 16,
            // Reply header (xid, zxid, err) + stat-sized result.
            Msg::ClientReply { .. } => 4 + 4 + 8 + 4 + 16,
        }
    }
}
