//! One ZooKeeper server ([`Server`], a `proto::Process`) over any replication engine
//! (`replication::Engine`: ZAB's `zab::Zab`, Raft's `raft::Raft`, Multi-Paxos's
//! `paxos::Paxos`, or the trivial `replication::solo::Solo`):
//! sessions (created and expired through the log, tracked by the leader), client
//! connections and their FIFO request queues, the request pipeline (reads from the local
//! tree, writes prepared by the leader, syncs as engine barriers), watches, and the applied
//! znode tree. Its world's wire ([`Msg`]) and notes ([`Note`]) live here too.
//!
//! Module map (each file's `//!` header states the invariants it keeps):
//! - `config`   — [`Config`]: the server's own settings.
//! - `txn`      — [`Txn`]: the log entry (a znode-tree txn and its [`Origin`]).
//! - `state`    — [`ZkState`]: the applied znode tree and live sessions.
//! - `msg`      — the world's [`Msg`], the server's own [`PeerMsg`] and kinds.
//! - `disk`     — the world's [`DiskRecord`] (any engine's records).
//! - `note`     — the world's [`Note`]s.
//! - `server`   — [`Server`]: inputs, the engine bridge, views.
//! - `prep`     — the leader's session checks and prepare; session expiry.
//! - `requests` — connects, requests, replies, watch events, syncs.
//! - `sessions` — the leader's session tracker.
//! - `clients`  — client connections and their request queues.
//! - `watches`  — the data / child watch tables.
//! - `view`     — [`ServerView`]: a server read-only whatever its engine.

mod clients;
mod config;
mod disk;
mod msg;
mod note;
mod prep;
mod requests;
mod server;
mod sessions;
mod state;
mod txn;
mod view;
mod watches;

pub use config::Config;
pub use disk::DiskRecord;
pub use msg::{
    EngineWire, Msg, PaxosWire, PeerMsg, PeerRequest, PeerSync, RaftWire, Revalidate, Revalidated,
    Touched, ZabWire, kind,
};
pub use note::Note;
pub use server::{Out, Server};
pub use state::{SESSIONS_MAX, ZkState};
pub use txn::{Origin, Txn};
pub use view::ServerView;
pub use watches::WATCHES_MAX;

/// The ZooKeeper server's types as a replication engine sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkApp;

impl replication::App for ZkApp {
    type Entry = Txn;
    type State = ZkState;
    type Msg = PeerMsg;
    type Heartbeat = Touched;
}

/// A ZooKeeper server on ZAB.
pub type ZabServer = Server<zab::Zab<ZkApp>>;
/// A ZooKeeper server on Raft.
pub type RaftServer = Server<raft::Raft<ZkApp>>;
/// A ZooKeeper server on Multi-Paxos.
pub type PaxosServer = Server<paxos::Paxos<ZkApp>>;
/// ZAB's records under a ZooKeeper server.
pub type Record = zab::Record<ZkApp>;
