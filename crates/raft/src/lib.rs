//! The Raft replication engine ([`Raft`], a `replication::Engine`), after Ongaro and
//! Ousterhout (2014): terms, randomized election timeouts, RequestVote with the log
//! up-to-date check, AppendEntries with the log-matching check and conflict truncation,
//! commit of current-term entries by counting replicas (a new leader's no-op commits the
//! earlier terms' entries), durable term, vote and log, and ReadIndex barriers. Entries, the
//! applied state and the application's own traffic are opaque (`replication::App`).
//!
//! Positions: an application entry of term `t` is at zxid `(t, k)`, `k` counting the
//! application entries of term `t` (the term's no-op has none). Terms are epochs, so
//! positions increase in log order.
//!
//! Module map (each file's `//!` header states the invariants it keeps):
//! - `config`   — [`Config`], [`Bugs`], timer ids and named bounds.
//! - `log`      — the in-memory Raft log ([`RaftLog`], [`Slot`], [`LogEntry`]).
//! - `msg`      — the wire messages ([`Wire`]) with kinds and sizes.
//! - `record`   — durable [`Record`]s and recovery from them.
//! - `disk`     — fsync batching and "run this once durable" waiters.
//! - `link`     — reliable FIFO leader–follower traffic for the application's messages.
//! - `election` — terms, candidacy, RequestVote and its answers.
//! - `leader`   — replication, commit, heartbeats and ReadIndex on the leader.
//! - `follower` — AppendEntries, commit learning and follower reads.
//! - `inspect`  — `replication::Inspect` for [`Raft`].
//! - `engine`   — [`Raft`]: dispatch, roles and status, delivery, the engine interface.

mod config;
mod disk;
mod election;
mod engine;
mod follower;
mod inspect;
mod leader;
mod link;
mod log;
mod msg;
mod record;

pub use config::{
    APPEND_ENTRIES_MAX, Bugs, Config, FSYNC_WAITERS_MAX, LOG_ENTRIES_MAX,
    OUTSTANDING_PROPOSALS_MAX, READS_MAX, TIMER_ELECTION, TIMER_HEARTBEAT, VOTERS_MAX,
};
pub use engine::{Host, Out, Raft};
pub use link::LINK_UNACKED_MAX;
pub use log::{LogEntry, RaftLog, Slot};
pub use msg::{KINDS, Wire, kind};
pub use record::{DiskImage, Record, recover};
