//! One ZooKeeper server as a sans-IO state machine ([`Server`], a [`proto::Process`]): fast
//! leader election, ZAB discovery, synchronization and broadcast, observers, a log-structured
//! durable state (epochs, txn log, snapshots as [`Record`]s), sessions (tracked and expired
//! by the leader), watches, and the request pipeline over the znode tree of `datatree`.
//!
//! Module map (each file's `//!` header states the invariants it keeps):
//! - `config`   — [`Config`], [`Bugs`], named bounds.
//! - `types`    — roles, phases, votes, txns, snapshots, client ops (plain data).
//! - `msg`      — the wire messages ([`Msg`], [`Peer`], [`Notification`]).
//! - `record`   — durable [`Record`]s and recovery from them.
//! - `log`      — the in-memory txn log with cumulative digests.
//! - `disk`     — fsync batching and "run this once durable" waiters.
//! - `link`     — the leader–learner connection model (connection id + sequence numbers).
//! - `election` — fast leader election.
//! - `leader`   — the leader's discovery, synchronization and broadcast.
//! - `sync`     — the pure DIFF / TRUNC / SNAP decision.
//! - `learner`  — the follower's and observer's side of discovery, sync and broadcast.
//! - `app`      — [`ZkState`]: the applied znode tree and live sessions.
//! - `sessions` — the leader's session tracker (expiry, owners, revalidation).
//! - `clients`  — client connections and their per-session request queues.
//! - `watches`  — the server's data / child watch tables.
//! - `requests` — connects, requests, replies, watch events, syncs.
//! - `notes`    — [`Note`]s for the invariant monitors.
//! - `server`   — [`Server`]: dispatch, role transitions, delivery, read-only views.

mod app;
mod clients;
mod config;
mod disk;
mod election;
mod leader;
mod learner;
mod link;
mod log;
mod msg;
mod notes;
mod record;
mod requests;
mod server;
mod sessions;
mod sync;
mod types;
mod watches;

pub use app::{SESSIONS_MAX, ZkState};
pub use config::{
    Bugs, Config, FSYNC_WAITERS_MAX, OUTSTANDING_PROPOSALS_MAX, SERVERS_MAX, TIMER_FINALIZE,
    TIMER_NOTIFY, TIMER_TICK,
};
pub use log::{LogEntry, TxnLog};
pub use msg::{Msg, Notification, Peer, PeerRequest, PeerSync, kind};
pub use notes::Note;
pub use record::{DiskImage, Record, recover};
pub use server::{Out, Server};
pub use sync::{SyncPlan, plan_sync};
pub use types::{LeaveReason, Origin, Phase, ServerState, Snapshot, Txn, Vote, chain_digest};
pub use watches::WATCHES_MAX;
