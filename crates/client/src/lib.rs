//! zabsim's ZooKeeper client as a sans-IO state machine, modelled on Apache ZooKeeper 3.8's
//! `ClientCnxn` (session, connection attempts, pings, pending requests) and
//! `ZKWatchManager` (client-side watches). A [`Session`] takes inputs (start, submit,
//! close, server messages, its timer, connection resets) with the local time and answers
//! with [`Action`]s as data, in order. No OS, no clock, no randomness: the caller picks the
//! first server (ZooKeeper shuffles its host list) and carries out the actions.
//!
//! Deliberately absent: ZooKeeper's random 0–1 s pause before reconnecting after a lost
//! connection, the 1 s early-ping fudge of `SendThread`, persistent and custom watchers
//! (the default watcher only: one event per fired path), auth, read-only mode, chroot,
//! and client-side request timeouts (`zookeeper.request.timeout`).
//!
//! Invariants (asserted): xids and connection numbers strictly increase from 1; every
//! submitted xid completes exactly once (queued requests in xid order; a refused submit
//! completes within its own call); all outstanding requests are in flight while connected
//! and none otherwise; replies are accepted only for the oldest in-flight xid; after
//! `Expired` or `Closed` nothing is pending, no watch is registered and no timer matters.

mod config;
mod connection;
mod pending;
pub mod recipes;
mod session;
mod watches;

pub use config::{
    ClientConfig, PENDING_MAX, RECONNECT_DELAY_MS_MAX, SERVERS_MAX, SESSION_TIMEOUT_MS_MAX,
    Timeouts,
};
pub use session::Session;
pub use watches::WATCHED_PATHS_MAX;

use proto::wire::{ClientMsg, WatchEvent};
use proto::zk::{Op, OpResult};
use proto::{ProcessId, Time, Zxid};

/// One output of a [`Session`], to be carried out by the caller in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `msg` to server `to`.
    Send { to: ProcessId, msg: ClientMsg },
    /// (Re-)arm the session's single timer at local time `at`; it replaces any earlier one.
    SetTimer { at: Time },
    /// Request `xid` completed. `zxid` is the server's reply zxid, `None` for a result the
    /// client produced itself (`ConnectionLoss`, `SessionExpired`).
    Completed {
        xid: u64,
        op: Op,
        result: OpResult,
        zxid: Option<Zxid>,
    },
    /// A watch fired (once per event, however many kinds it removed).
    Watch(WatchEvent),
    /// The session's state changed as the application sees it.
    State(SessionState),
}

/// The session's state as the application sees it (ZooKeeper's `KeeperState` events).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionState {
    /// Not connected yet: from `new` until the first `Connected`.
    Connecting,
    Connected,
    /// Was connected, lost the connection, is trying to reconnect; the session may live.
    Disconnected,
    /// The server reported the session expired. Terminal.
    Expired,
    /// `close()` completed. Terminal.
    Closed,
}

impl SessionState {
    /// Neither expired nor closed (ZooKeeper's `States.isAlive()`).
    pub const fn is_alive(self) -> bool {
        !matches!(self, SessionState::Expired | SessionState::Closed)
    }
}

/// What the session observed that the caller may want to report; never decisions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Connection attempts (each sends one `Connect`).
    pub connect_attempts: u64,
    /// Connections lost or given up on (timeouts, resets, `Closed`, protocol violations).
    pub connection_losses: u64,
    /// Attempts given up after the connect timeout.
    pub connect_timeouts: u64,
    /// Connections given up after the read timeout.
    pub read_timeouts: u64,
    /// Server messages of an unexpected kind or order (a reply that is not for the oldest
    /// in-flight xid, a second `Connected`, a changed session id, …): the connection drops.
    pub protocol_violations: u64,
    /// Messages from a server or connection that is not the current one, ignored.
    pub stale_messages: u64,
    /// `on_disconnect` for a server that is not the current one, ignored.
    pub stale_disconnects: u64,
    /// Watch events that matched no registered watch, not delivered.
    pub unmatched_watch_events: u64,
    /// Pings sent.
    pub pings_sent: u64,
    /// Connections dropped because a pong showed replies or events went missing.
    pub messages_lost: u64,
    /// Submits completed at once because the pending bound was reached.
    pub rejected_submits: u64,
}
