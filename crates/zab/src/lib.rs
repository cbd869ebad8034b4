//! The ZAB replication engine ([`Zab`], a `replication::Engine`): fast leader election, ZAB
//! discovery, synchronization and broadcast, observers, and a log-structured durable state
//! (epochs, log, snapshots as [`Record`]s). Entries, the applied state and the application's
//! own traffic are opaque (`replication::App`): the ZooKeeper server above it (crate
//! `zkserver`) owns sessions, clients, watches and the znode tree. This crate does not know
//! the datatree.
//!
//! Module map (each file's `//!` header states the invariants it keeps):
//! - `config`   — [`Config`], [`Bugs`], named bounds.
//! - `types`    — leave reasons and votes (roles, phases and snapshots are `replication`'s).
//! - `msg`      — the wire messages ([`Wire`], [`Peer`], [`Notification`]).
//! - `record`   — durable [`Record`]s and recovery from them.
//! - `log`      — the in-memory log with cumulative digests.
//! - `disk`     — fsync batching and "run this once durable" waiters.
//! - `link`     — the leader–learner connection model (connection id + sequence numbers).
//! - `election` — fast leader election.
//! - `leader`   — the leader's discovery, synchronization, broadcast and barriers.
//! - `sync`     — the pure DIFF / TRUNC / SNAP decision.
//! - `learner`  — the follower's and observer's side of discovery, sync and broadcast.
//! - `inspect`  — `replication::Inspect` for [`Zab`].
//! - `engine`   — [`Zab`]: dispatch, role transitions, delivery, the engine interface,
//!   read-only views.

mod config;
mod disk;
mod election;
mod engine;
mod inspect;
mod leader;
mod learner;
mod link;
mod log;
mod msg;
mod record;
mod sync;
mod types;

pub use config::{
    Bugs, Config, FSYNC_WAITERS_MAX, OUTSTANDING_PROPOSALS_MAX, SERVERS_MAX, TIMER_FINALIZE,
    TIMER_NOTIFY, TIMER_TICK,
};
pub use engine::{Host, Out, Zab};
pub use log::{LogEntry, TxnLog};
pub use msg::{KINDS, Notification, Peer, Wire, kind};
pub use record::{DiskImage, Record, recover};
pub use sync::{SyncPlan, plan_sync};
pub use types::{LeaveReason, Phase, ServerState, Vote, chain_digest};
