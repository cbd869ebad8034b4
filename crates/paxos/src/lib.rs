//! The classic Multi-Paxos replication engine ([`Paxos`], a `replication::Engine`), after
//! Lamport's "Paxos Made Simple" (2001) with a distinguished proposer: ballots unique to
//! their proposer, a failure detector on the kernel's timers (randomized election
//! timeouts, heartbeats), Phase 1 over every slot from the proposer's first unchosen one,
//! pipelined Phase 2 with a window of outstanding slots, acceptors that answer only once
//! durable, learners with catch-up of missing chosen values, gaps filled with no-ops, and
//! barriers as no-ops through the log. Classic per-slot Paxos: a new proposer re-proposes,
//! slot by slot, the value with the highest accepted ballot — it does not keep ZAB's
//! primary order (see ARCHITECTURE.md and the experiment). Entries, the applied
//! state and the application's own traffic are opaque (`replication::App`).
//!
//! Positions: an application entry proposed by the proposer of ballot `b` is at zxid
//! `(b, k)`, `k` counting its new entries; slots order delivery.
//!
//! Module map (each file's `//!` header states the invariants it keeps):
//! - `config`   — [`Config`], [`Bugs`], ballots, timer ids and named bounds.
//! - `log`      — the slots ([`Log`], [`Slot`], [`Value`], [`Report`]).
//! - `msg`      — the wire messages ([`Wire`]) with kinds and sizes.
//! - `record`   — durable [`Record`]s and recovery from them.
//! - `disk`     — the waiters on the shared fsync batching.
//! - `acceptor` — Prepare / Accept answered once durable, Nacks, following a ballot.
//! - `proposer` — candidacy, Phase 1, re-proposal, Phase 2, heartbeats, barriers.
//! - `learner`  — the chosen prefix, catch-up, follower barriers, app messages.
//! - `inspect`  — `replication::Inspect` for [`Paxos`].
//! - `engine`   — [`Paxos`]: dispatch, roles and status, delivery, the engine interface.

mod acceptor;
mod config;
mod disk;
mod engine;
mod inspect;
mod learner;
mod log;
mod msg;
mod proposer;
mod record;

pub use config::{
    Bugs, Config, HELD_MAX, LEARN_BATCH_MAX, LOG_SLOTS_MAX, Order, READS_MAX, TAKEN_MAX,
    TIMER_ELECTION, TIMER_HEARTBEAT, VOTERS_MAX, WINDOW_MAX, epoch_of,
};
pub use engine::{Host, Out, Paxos};
pub use log::{Log, Report, Slot, Value};
pub use msg::{KINDS, Wire, kind};
pub use record::{DiskImage, Record, recover};
