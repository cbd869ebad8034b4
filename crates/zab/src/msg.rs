//! The wire messages of one ensemble: election notifications, leader–learner messages
//! (each tagged with a connection id and a per-direction sequence number, see `link`), and
//! the client–server protocol of `proto::wire`; their kind names and realistic sizes.
//! Invariants: `KINDS[kind(m)]` names `m`; kind indices are the constants in [`kind`].
//!
//! Layout: every kernel event carries a `Msg` inline and moves it several times (queue
//! push, bucket sort, pop), so `Msg` is kept small (see the size test below): big or
//! variable payloads live behind a pointer. A txn is an `Arc<Txn>` shared by every
//! PROPOSAL / INFORM of it, the log entry and the disk record; client messages and the
//! rare forwarded requests and syncs are boxed.

use std::sync::Arc;

use proto::wire::{ClientMsg, ServerMsg, op_size_bytes, result_size_bytes};
use proto::zk::{Op, SessionId};
use proto::{Epoch, Message, ProcessId, Zxid};

use crate::types::{Origin, ServerState, Snapshot, Txn, Vote};

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
        txn: Arc<Txn>,
    },
    Ack {
        zxid: Zxid,
    },
    Commit {
        zxid: Zxid,
    },
    /// Leader → observer: a committed txn.
    Inform {
        txn: Arc<Txn>,
    },
    /// Both directions: liveness. Learner → leader: the sessions its clients were heard
    /// from since the last ping (the leader keeps them alive).
    Ping {
        touched: Box<[SessionId]>,
    },
    /// Learner → leader: a client write to prepare and propose.
    Request(Box<PeerRequest>),
    /// Learner → leader: a client's `sync`; answered with `SyncDone` once every proposal
    /// issued before it is committed (and its COMMIT sent ahead on this link).
    Sync(Box<PeerSync>),
    SyncDone(Box<PeerSync>),
    /// Learner → leader: may this reconnecting session move to me?
    Revalidate {
        session: SessionId,
        client: ProcessId,
        conn: u64,
    },
    /// Leader → learner: the session's timeout if it is live (and now owned by the
    /// learner), None if it expired.
    Revalidated {
        session: SessionId,
        client: ProcessId,
        conn: u64,
        timeout_ms: Option<u32>,
    },
}

/// The payload of [`Peer::Request`]: a client write of `session`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRequest {
    pub session: SessionId,
    pub op: Op,
    pub origin: Origin,
}

/// The payload of [`Peer::Sync`] and [`Peer::SyncDone`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSync {
    pub origin: Origin,
    pub path: String,
}

impl Peer {
    /// A PROPOSAL of `txn` (shares it when given an `Arc<Txn>`).
    pub fn proposal(txn: impl Into<Arc<Txn>>) -> Peer {
        Peer::Proposal { txn: txn.into() }
    }

    /// An INFORM of `txn` (shares it when given an `Arc<Txn>`).
    pub fn inform(txn: impl Into<Arc<Txn>>) -> Peer {
        Peer::Inform { txn: txn.into() }
    }

    /// A PING reporting `touched` sessions (none: the leader's ping).
    pub fn ping(touched: impl Into<Box<[SessionId]>>) -> Peer {
        Peer::Ping {
            touched: touched.into(),
        }
    }

    pub fn request(session: SessionId, op: Op, origin: Origin) -> Peer {
        Peer::Request(Box::new(PeerRequest {
            session,
            op,
            origin,
        }))
    }

    pub fn sync(origin: Origin, path: String) -> Peer {
        Peer::Sync(Box::new(PeerSync { origin, path }))
    }

    pub fn sync_done(origin: Origin, path: String) -> Peer {
        Peer::SyncDone(Box::new(PeerSync { origin, path }))
    }
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
    /// Client → server.
    FromClient(Box<ClientMsg>),
    /// Server → client.
    ToClient(Box<ServerMsg>),
}

impl Msg {
    pub fn from_client(m: ClientMsg) -> Msg {
        Msg::FromClient(Box::new(m))
    }

    pub fn to_client(m: ServerMsg) -> Msg {
        Msg::ToClient(Box::new(m))
    }
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
    pub const SYNC: usize = 17;
    pub const SYNC_DONE: usize = 18;
    pub const REVALIDATE: usize = 19;
    pub const REVALIDATED: usize = 20;
    pub const CONNECT: usize = 21;
    pub const CLIENT_REQUEST: usize = 22;
    pub const CLIENT_PING: usize = 23;
    pub const CLIENT_DISCONNECT: usize = 24;
    pub const CONNECTED: usize = 25;
    pub const SESSION_END: usize = 26;
    pub const CLIENT_REPLY: usize = 27;
    pub const WATCH_EVENT: usize = 28;
    pub const PONG: usize = 29;
}

/// Bytes of a quorum packet header: type, zxid, data length, connection id, sequence.
const PEER_HEADER_BYTES: u32 = 4 + 8 + 4 + 8 + 8;

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
            Peer::Ping { .. } => kind::PING,
            Peer::Request { .. } => kind::REQUEST,
            Peer::Sync { .. } => kind::SYNC,
            Peer::SyncDone { .. } => kind::SYNC_DONE,
            Peer::Revalidate { .. } => kind::REVALIDATE,
            Peer::Revalidated { .. } => kind::REVALIDATED,
        }
    }

    fn payload_bytes(&self) -> u32 {
        match self {
            Peer::FollowerInfo { .. } | Peer::ObserverInfo { .. } => 20,
            Peer::LeaderInfo { .. } | Peer::AckEpoch { .. } | Peer::AckNewLeader { .. } => 4,
            Peer::Diff { .. } | Peer::Trunc { .. } | Peer::NewLeader { .. } => 8,
            Peer::Snap { snapshot } => snapshot.size_bytes(),
            Peer::UpToDate | Peer::Ack { .. } | Peer::Commit { .. } => 0,
            Peer::Proposal { txn } | Peer::Inform { txn } => txn.size_bytes(),
            Peer::Request(r) => 8 + 24 + op_size_bytes(&r.op),
            Peer::Ping { touched } => {
                let n = u32::try_from(touched.len()).unwrap_or(u32::MAX);
                16u32.saturating_add(n.saturating_mul(12))
            }
            Peer::Sync(s) | Peer::SyncDone(s) => {
                24 + u32::try_from(s.path.len()).unwrap_or(u32::MAX)
            }
            Peer::Revalidate { .. } | Peer::Revalidated { .. } => 28,
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
        "SYNC",
        "SYNC_DONE",
        "REVALIDATE",
        "REVALIDATED",
        "CONNECT",
        "CLIENT_REQUEST",
        "CLIENT_PING",
        "CLIENT_DISCONNECT",
        "CONNECTED",
        "SESSION_END",
        "CLIENT_REPLY",
        "WATCH_EVENT",
        "PONG",
    ];

    fn kind(&self) -> usize {
        match self {
            Msg::Notification(_) => kind::NOTIFICATION,
            Msg::Peer { body, .. } => body.kind(),
            Msg::FromClient(m) => match **m {
                ClientMsg::Connect { .. } => kind::CONNECT,
                ClientMsg::Request { .. } => kind::CLIENT_REQUEST,
                ClientMsg::Ping { .. } => kind::CLIENT_PING,
                ClientMsg::Disconnect { .. } => kind::CLIENT_DISCONNECT,
            },
            Msg::ToClient(m) => match **m {
                ServerMsg::Connected { .. } => kind::CONNECTED,
                ServerMsg::Expired { .. } | ServerMsg::Closed { .. } => kind::SESSION_END,
                ServerMsg::Reply { .. } => kind::CLIENT_REPLY,
                ServerMsg::Watch { .. } => kind::WATCH_EVENT,
                ServerMsg::Pong { .. } => kind::PONG,
            },
        }
    }

    fn size_bytes(&self) -> u32 {
        match self {
            // ZooKeeper's notification: state, leader, zxid, electionEpoch, peerEpoch,
            // version, config length, plus the frame header.
            Msg::Notification(_) => 4 + 8 + 8 + 8 + 8 + 4 + 4 + 12,
            Msg::Peer { body, .. } => PEER_HEADER_BYTES.saturating_add(body.payload_bytes()),
            Msg::FromClient(m) => client_msg_bytes(m),
            Msg::ToClient(m) => server_msg_bytes(m),
        }
    }
}

/// Frame length + request header (xid, type) and connection id.
const CLIENT_HEADER_BYTES: u32 = 4 + 8 + 8;
/// Frame length + reply header (xid, zxid, err) and connection id.
const REPLY_HEADER_BYTES: u32 = 4 + 8 + 8 + 4 + 8;

fn client_msg_bytes(m: &ClientMsg) -> u32 {
    let body = match m {
        ClientMsg::Connect { watches, .. } => {
            let paths: usize = [&watches.data, &watches.exist, &watches.child]
                .iter()
                .flat_map(|v| v.iter())
                .map(|p| 4 + p.len())
                .sum();
            32u32.saturating_add(u32::try_from(paths).unwrap_or(u32::MAX))
        }
        ClientMsg::Request { op, .. } => op_size_bytes(op),
        ClientMsg::Ping { .. } | ClientMsg::Disconnect { .. } => 0,
    };
    CLIENT_HEADER_BYTES.saturating_add(body)
}

fn server_msg_bytes(m: &ServerMsg) -> u32 {
    let body = match m {
        ServerMsg::Connected { .. } => 36,
        ServerMsg::Expired { .. } | ServerMsg::Closed { .. } | ServerMsg::Pong { .. } => 0,
        ServerMsg::Reply { result, .. } => result_size_bytes(result),
        ServerMsg::Watch { event, .. } => {
            12u32.saturating_add(u32::try_from(event.path.len()).unwrap_or(u32::MAX))
        }
    };
    REPLY_HEADER_BYTES.saturating_add(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notes::Note;
    use crate::record::Record;
    use std::mem::size_of;

    /// Every kernel event carries a `Msg` inline in the event queue and every output of a
    /// handler is an `Output<Msg, Record, Note>` in the outbox; both are moved (memcpy'd)
    /// several times per event: queue push, bucket sort, pop, outbox drain. At 144 bytes
    /// copying them was 16% of a run's instructions. Keep big payloads behind pointers
    /// (`Arc<Txn>`, boxed client messages, boxed forwarded requests) so these stay small.
    #[test]
    fn messages_notes_and_outputs_stay_small() {
        let sizes = [
            ("Peer", size_of::<Peer>(), 32),
            ("Msg", size_of::<Msg>(), 48),
            ("Note", size_of::<Note>(), 32),
            ("Record", size_of::<Record>(), 24),
            ("Output", size_of::<proto::Output<Msg, Record, Note>>(), 56),
        ];
        for (name, size, max) in sizes {
            assert!(size <= max, "{name} is {size} bytes, more than {max}");
        }
    }
}
