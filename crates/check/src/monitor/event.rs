//! The monitors' input: [`ProtocolEvent`] — a replication engine's event (the one
//! vocabulary, `replication::Event`, re-exported with its states and phases) or what the
//! kernel did to the server (crash / restart) — the read-only [`ServerLog`] view of one live
//! server, and [`chain_digest`], the cumulative history digest engines and monitors agree
//! on.
//! Invariants: `check` depends on no engine and no server; the simulator hands the engines'
//! events over as they are.

use proto::{Epoch, Zxid};

pub use replication::{Event, Phase, ServerState, chain_digest};

/// What one server reported, or what the kernel did to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolEvent {
    /// The server's replication event.
    Repl(Event),
    /// The kernel crashed the server: its volatile state is gone until its next `Reset`.
    Crashed,
    /// The kernel started a new incarnation (its `Reset` event follows).
    Restarted,
}

impl From<Event> for ProtocolEvent {
    fn from(e: Event) -> ProtocolEvent {
        ProtocolEvent::Repl(e)
    }
}

/// A read-only view of one live server, implemented by the simulator for a zab server
/// (typically a newtype `ZabLog<'a>(&'a zkserver::ZabServer)` returned by value).
pub trait ServerLog {
    /// Cumulative digest of the server's txn log through `zxid` (the log's base point
    /// counts; zxid 0 → `Some(0)` on a fresh server); `None` when `zxid` is not in the log.
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64>;
    /// The log's base point: the zxid just before its first kept entry (trimmed prefix or
    /// installed snapshot). `log_digest_at` knows nothing below it.
    fn log_base_zxid(&self) -> Zxid;
    fn last_logged_zxid(&self) -> Zxid;
    fn current_epoch(&self) -> Epoch;
    /// The epoch this server leads or is establishing (`zab::Zab::leader_epoch`).
    fn leading_epoch(&self) -> Option<Epoch>;
    fn is_established_leader(&self) -> bool;
}

impl<T: ServerLog + ?Sized> ServerLog for &T {
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64> {
        (**self).log_digest_at(zxid)
    }
    fn log_base_zxid(&self) -> Zxid {
        (**self).log_base_zxid()
    }
    fn last_logged_zxid(&self) -> Zxid {
        (**self).last_logged_zxid()
    }
    fn current_epoch(&self) -> Epoch {
        (**self).current_epoch()
    }
    fn leading_epoch(&self) -> Option<Epoch> {
        (**self).leading_epoch()
    }
    fn is_established_leader(&self) -> bool {
        (**self).is_established_leader()
    }
}

/// The cumulative digest of a whole history of `(zxid, digest)` pairs from genesis.
pub fn history_digest(txns: &[(Zxid, u64)]) -> u64 {
    txns.iter()
        .fold(0, |cum, &(zxid, digest)| chain_digest(cum, zxid, digest))
}
