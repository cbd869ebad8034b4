//! The wire of a ZooKeeper ensemble's world: the engine's messages between servers (with the
//! server's own traffic riding them: [`PeerMsg`], [`Touched`]) and the client–server
//! protocol of `proto::wire`; their kind names and realistic sizes.
//! Invariants: `KINDS[kind(m)]` names `m` (the index is part of the trace hash: the table
//! keeps ZooKeeper's packet order, the server's own kinds between ZAB's PING and its sync
//! answer as they always were; Raft's appended after them, then Multi-Paxos's, their app
//! messages at the server's own kinds as on ZAB; the message queue's brokers' kinds after
//! Multi-Paxos's); `Msg` stays small (see the size test): big or variable
//! payloads live behind a pointer.

use proto::wire::{ClientMsg, ServerMsg, op_size_bytes, result_size_bytes};
use proto::zk::{Op, SessionId};
use proto::{Message, ProcessId};
use replication::Payload;

use crate::ZkApp;
use crate::txn::Origin;

/// The server's own messages between servers (they ride the engine's connection, as
/// ZooKeeper's REQUEST, SYNC and REVALIDATE ride the quorum socket).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerMsg {
    /// Learner → leader: a client write to prepare and propose.
    Request(Box<PeerRequest>),
    /// A client's `sync` (the engine's barrier token, both ways).
    Sync(Box<PeerSync>),
    /// Learner → leader: may this reconnecting session move to me?
    Revalidate(Box<Revalidate>),
    /// Leader → learner: the session's timeout if it is live (and now owned by the
    /// learner), None if it expired.
    Revalidated(Box<Revalidated>),
}

/// The payload of [`PeerMsg::Request`]: a client write of `session`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRequest {
    pub session: SessionId,
    pub op: Op,
    pub origin: Origin,
}

/// The payload of [`PeerMsg::Sync`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSync {
    pub origin: Origin,
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revalidate {
    pub session: SessionId,
    pub client: ProcessId,
    pub conn: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revalidated {
    pub session: SessionId,
    pub client: ProcessId,
    pub conn: u64,
    pub timeout_ms: Option<u32>,
}

impl PeerMsg {
    pub fn request(session: SessionId, op: Op, origin: Origin) -> PeerMsg {
        PeerMsg::Request(Box::new(PeerRequest {
            session,
            op,
            origin,
        }))
    }

    pub fn sync(origin: Origin, path: String) -> PeerMsg {
        PeerMsg::Sync(Box::new(PeerSync { origin, path }))
    }

    pub fn revalidate(session: SessionId, client: ProcessId, conn: u64) -> PeerMsg {
        PeerMsg::Revalidate(Box::new(Revalidate {
            session,
            client,
            conn,
        }))
    }
}

impl Payload for PeerMsg {
    fn size_bytes(&self) -> u32 {
        match self {
            PeerMsg::Request(r) => 8 + 24 + op_size_bytes(&r.op),
            PeerMsg::Sync(s) => 24 + u32::try_from(s.path.len()).unwrap_or(u32::MAX),
            PeerMsg::Revalidate(_) | PeerMsg::Revalidated(_) => 28,
        }
    }
}

/// A learner's heartbeat payload: the sessions its clients were heard from since its last
/// ping (the leader keeps them alive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched(pub Box<[SessionId]>);

impl Payload for Touched {
    fn size_bytes(&self) -> u32 {
        let n = u32::try_from(self.0.len()).unwrap_or(u32::MAX);
        16u32.saturating_add(n.saturating_mul(12))
    }
}

/// ZAB's wire with the ZooKeeper server's payloads.
pub type ZabWire = zab::Wire<ZkApp>;

/// Raft's wire with the ZooKeeper server's payloads.
pub type RaftWire = raft::Wire<ZkApp>;

/// Multi-Paxos's wire with the ZooKeeper server's payloads.
pub type PaxosWire = paxos::Wire<ZkApp>;

/// Every message of a ZooKeeper ensemble's world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// Server ↔ server, ZAB's.
    Zab(ZabWire),
    /// Server ↔ server, Raft's (boxed: an AppendEntries is bigger than `Msg` may be).
    Raft(Box<RaftWire>),
    /// Server ↔ server, Multi-Paxos's (boxed: a Promise is bigger than `Msg` may be).
    Paxos(Box<PaxosWire>),
    /// Client → server.
    FromClient(Box<ClientMsg>),
    /// Server → client.
    ToClient(Box<ServerMsg>),
    /// Between the message queue's brokers, controller and producers (issue 15; they
    /// talk to the servers as clients).
    Mq(Box<mq::wire::Msg>),
}

impl Msg {
    pub fn from_client(m: ClientMsg) -> Msg {
        Msg::FromClient(Box::new(m))
    }

    pub fn to_client(m: ServerMsg) -> Msg {
        Msg::ToClient(Box::new(m))
    }

    pub fn mq(m: mq::wire::Msg) -> Msg {
        Msg::Mq(Box::new(m))
    }
}

impl From<ZabWire> for Msg {
    fn from(w: ZabWire) -> Msg {
        Msg::Zab(w)
    }
}

impl From<RaftWire> for Msg {
    fn from(w: RaftWire) -> Msg {
        Msg::Raft(Box::new(w))
    }
}

impl From<PaxosWire> for Msg {
    fn from(w: PaxosWire) -> Msg {
        Msg::Paxos(Box::new(w))
    }
}

impl From<replication::solo::NoWire> for Msg {
    fn from(w: replication::solo::NoWire) -> Msg {
        match w {}
    }
}

/// An engine's wire as part of the world's [`Msg`].
pub trait EngineWire: Sized + Into<Msg> {
    /// The engine's message inside `m`, or `m` back if it is not one.
    fn from_msg(m: Msg) -> Result<Self, Msg>;
}

impl EngineWire for ZabWire {
    fn from_msg(m: Msg) -> Result<Self, Msg> {
        match m {
            Msg::Zab(w) => Ok(w),
            other => Err(other),
        }
    }
}

impl EngineWire for RaftWire {
    fn from_msg(m: Msg) -> Result<Self, Msg> {
        match m {
            Msg::Raft(w) => Ok(*w),
            other => Err(other),
        }
    }
}

impl EngineWire for PaxosWire {
    fn from_msg(m: Msg) -> Result<Self, Msg> {
        match m {
            Msg::Paxos(w) => Ok(*w),
            other => Err(other),
        }
    }
}

impl EngineWire for replication::solo::NoWire {
    fn from_msg(m: Msg) -> Result<Self, Msg> {
        Err(m)
    }
}

/// Indices into [`Msg::KINDS`].
pub mod kind {
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
    /// Raft's kinds (`raft::kind` but APP) start here.
    pub const RAFT_FIRST: usize = 30;
    /// Multi-Paxos's kinds (`paxos::kind` but APP) start here, after Raft's.
    pub const PAXOS_FIRST: usize = RAFT_FIRST + super::RAFT_KINDS;
    /// The message queue's kinds (`mq::wire::KINDS`) start here, after Multi-Paxos's.
    pub const MQ_FIRST: usize = PAXOS_FIRST + super::PAXOS_KINDS;
}

/// ZAB's kind indices (`zab::kind`) in the world's table; APP is placed by its payload.
const ZAB_KINDS: [usize; 18] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18];

/// Raft's kinds in the world's table: after the 30 that ZAB runs have always had (their
/// indices are part of every trace hash), in `raft::kind` order; APP is placed by its
/// payload.
const RAFT_KINDS: usize = raft::kind::APP;

/// Multi-Paxos's kinds in the world's table: after Raft's (appended, so every earlier
/// index keeps its place in ZAB and Raft runs' trace hashes), in `paxos::kind` order; APP
/// is placed by its payload.
const PAXOS_KINDS: usize = paxos::kind::APP;

/// The message queue's kinds in the world's table, after Multi-Paxos's (appended: every
/// earlier index is part of existing runs' trace hashes).
const MQ_KINDS: usize = mq::wire::KINDS.len();

/// How many kinds the world has.
const WORLD_KINDS_LEN: usize = kind::MQ_FIRST + MQ_KINDS;

/// The world's kind names: ZAB's at their places, then the server's own and the client
/// protocol's, then Raft's, then Multi-Paxos's, then the message queue's.
const WORLD_KINDS: [&str; WORLD_KINDS_LEN] = world_kinds();

const fn world_kinds() -> [&'static str; WORLD_KINDS_LEN] {
    let mut names = [""; WORLD_KINDS_LEN];
    let mut i = 0;
    while i < RAFT_KINDS {
        names[kind::RAFT_FIRST + i] = raft::KINDS[i];
        i += 1;
    }
    i = 0;
    while i < PAXOS_KINDS {
        names[kind::PAXOS_FIRST + i] = paxos::KINDS[i];
        i += 1;
    }
    i = 0;
    while i < MQ_KINDS {
        names[kind::MQ_FIRST + i] = mq::wire::KINDS[i];
        i += 1;
    }
    i = 0;
    while i < ZAB_KINDS.len() {
        names[ZAB_KINDS[i]] = zab::KINDS[i];
        i += 1;
    }
    names[kind::REQUEST] = "REQUEST";
    names[kind::REVALIDATE] = "REVALIDATE";
    names[kind::REVALIDATED] = "REVALIDATED";
    names[kind::CONNECT] = "CONNECT";
    names[kind::CLIENT_REQUEST] = "CLIENT_REQUEST";
    names[kind::CLIENT_PING] = "CLIENT_PING";
    names[kind::CLIENT_DISCONNECT] = "CLIENT_DISCONNECT";
    names[kind::CONNECTED] = "CONNECTED";
    names[kind::SESSION_END] = "SESSION_END";
    names[kind::CLIENT_REPLY] = "CLIENT_REPLY";
    names[kind::WATCH_EVENT] = "WATCH_EVENT";
    names[kind::PONG] = "PONG";
    names
}

fn zab_kind(w: &ZabWire) -> usize {
    match w {
        zab::Wire::Peer {
            body: zab::Peer::App(m),
            ..
        } => peer_kind(m),
        other => ZAB_KINDS[other.kind()],
    }
}

fn peer_kind(m: &PeerMsg) -> usize {
    match m {
        PeerMsg::Request(_) => kind::REQUEST,
        PeerMsg::Sync(_) => kind::SYNC,
        PeerMsg::Revalidate(_) => kind::REVALIDATE,
        PeerMsg::Revalidated(_) => kind::REVALIDATED,
    }
}

/// Raft's kinds: its app messages at the server's own kinds (as they are on ZAB), the rest
/// after the 30 ZAB's world has.
fn raft_kind(w: &RaftWire) -> usize {
    match w {
        raft::Wire::App { msg, .. } => peer_kind(msg),
        other => {
            let k = other.kind();
            assert!(k < RAFT_KINDS, "raft kind {k} is not in the world's table");
            kind::RAFT_FIRST + k
        }
    }
}

/// Multi-Paxos's kinds: its app messages at the server's own kinds, the rest after Raft's.
fn paxos_kind(w: &PaxosWire) -> usize {
    match w {
        paxos::Wire::App { msg, .. } => peer_kind(msg),
        other => {
            let k = other.kind();
            assert!(
                k < PAXOS_KINDS,
                "paxos kind {k} is not in the world's table"
            );
            kind::PAXOS_FIRST + k
        }
    }
}

impl Message for Msg {
    const KINDS: &'static [&'static str] = &WORLD_KINDS;

    fn kind(&self) -> usize {
        match self {
            Msg::Zab(w) => zab_kind(w),
            Msg::Raft(w) => raft_kind(w),
            Msg::Paxos(w) => paxos_kind(w),
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
            Msg::Mq(m) => kind::MQ_FIRST + m.kind(),
        }
    }

    fn size_bytes(&self) -> u32 {
        match self {
            Msg::Zab(w) => w.size_bytes(),
            Msg::Raft(w) => w.size_bytes(),
            Msg::Paxos(w) => w.size_bytes(),
            Msg::FromClient(m) => client_msg_bytes(m),
            Msg::ToClient(m) => server_msg_bytes(m),
            Msg::Mq(m) => m.size_bytes(),
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
    use crate::note::Note;
    use std::mem::size_of;
    use zab::{KINDS as ZAB_NAMES, Record};

    /// Every kernel event carries a `Msg` inline in the event queue and every output of a
    /// handler is an `Output<Msg, Record, Note>` in the outbox; both are moved (memcpy'd)
    /// several times per event: queue push, bucket sort, pop, outbox drain. At 144 bytes
    /// copying them was 16% of a run's instructions. Keep big payloads behind pointers so
    /// these stay small.
    #[test]
    fn messages_notes_and_outputs_stay_small() {
        let sizes = [
            ("Peer", size_of::<zab::Peer<ZkApp>>(), 32),
            ("Msg", size_of::<Msg>(), 48),
            ("Note", size_of::<Note>(), 32),
            ("Record", size_of::<Record<ZkApp>>(), 24),
            ("DiskRecord", size_of::<crate::DiskRecord>(), 32),
            (
                "Output",
                size_of::<proto::Output<Msg, Record<ZkApp>, Note>>(),
                56,
            ),
        ];
        for (name, size, max) in sizes {
            assert!(size <= max, "{name} is {size} bytes, more than {max}");
        }
    }

    /// ZAB's own kinds keep their names in the world's table.
    #[test]
    fn zab_kinds_map_to_their_names() {
        for (i, name) in ZAB_NAMES.iter().enumerate().take(ZAB_KINDS.len()) {
            assert_eq!(Msg::KINDS[ZAB_KINDS[i]], *name, "zab kind {i}");
        }
        // Every index named once, and in ZooKeeper's packet order as the traces always had.
        let expected = [
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
            "REQUEST_VOTE",
            "VOTE_REPLY",
            "APPEND_ENTRIES",
            "APPEND_REPLY",
            "RAFT_PING",
            "READ_INDEX",
            "READ_DONE",
            "PREPARE",
            "PROMISE",
            "NACK",
            "ACCEPT",
            "ACCEPTED",
            "PAXOS_HEARTBEAT",
            "PAXOS_HEARTBEAT_REPLY",
            "LEARN",
            "PAXOS_BARRIER",
            "PAXOS_BARRIER_DONE",
            "LEADER_AND_ISR",
            "FETCH",
            "FETCH_REPLY",
            "EPOCH_QUERY",
            "EPOCH_ANSWER",
            "PRODUCE",
            "PRODUCE_REPLY",
            "CONSUMER_FETCH",
            "CONSUMER_FETCH_REPLY",
        ];
        assert_eq!(Msg::KINDS, expected);
    }

    /// Raft's messages name their kinds; its app messages take the server's own kinds.
    #[test]
    fn raft_kinds_map_to_their_names() {
        let rv: Msg = RaftWire::RequestVote {
            term: 1,
            last_index: 0,
            last_term: 0,
        }
        .into();
        assert_eq!(Msg::KINDS[rv.kind()], "REQUEST_VOTE");
        let app: Msg = RaftWire::App {
            term: 1,
            link: 1,
            seq: 1,
            msg: PeerMsg::revalidate(proto::zk::SessionId(7), ProcessId(9), 1),
        }
        .into();
        assert_eq!(app.kind(), kind::REVALIDATE);
        let back = RaftWire::from_msg(app.clone()).expect("a raft message");
        assert_eq!(Msg::from(back), app);
    }

    /// Multi-Paxos's messages name their kinds; its app messages take the server's own.
    #[test]
    fn paxos_kinds_map_to_their_names() {
        let prepare: Msg = PaxosWire::Prepare {
            ballot: 64,
            from_slot: 1,
        }
        .into();
        assert_eq!(Msg::KINDS[prepare.kind()], "PREPARE");
        let app: Msg = PaxosWire::App {
            ballot: 64,
            link: 1,
            seq: 1,
            msg: PeerMsg::revalidate(proto::zk::SessionId(7), ProcessId(9), 1),
        }
        .into();
        assert_eq!(app.kind(), kind::REVALIDATE);
        let back = PaxosWire::from_msg(app.clone()).expect("a paxos message");
        assert_eq!(Msg::from(back), app);
    }
}
