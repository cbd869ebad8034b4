//! [`Inspect`]: the read-only view of an engine that monitors, liveness checks and scripts
//! read through, whichever engine runs (ZAB's epochs, Raft's terms as epochs).
//! Invariants: a view never changes the engine; `last_applied_zxid <= committed_zxid`
//! holds for a live engine without planted bugs (each engine asserts its own).

use proto::{Epoch, ProcessId, Zxid};

use crate::{Phase, ServerState};

/// What a live engine shows of itself. Every method is a pure read.
pub trait Inspect {
    /// Its role (Looking, Following, Leading, Observing).
    fn state(&self) -> ServerState;
    /// Its protocol phase (Election, Discovery, Synchronization, Broadcast).
    fn phase(&self) -> Phase;
    /// The leader it follows (itself when leading); None while electing.
    fn leader(&self) -> Option<ProcessId>;
    /// Leading, established or not: what leader-targeted faults hit.
    fn is_leader(&self) -> bool;
    /// Leading and serving (its epoch or term established).
    fn is_established_leader(&self) -> bool;
    /// The epoch (term) its log history was last synced to.
    fn current_epoch(&self) -> Epoch;
    /// The newest epoch (term) it has promised to.
    fn accepted_epoch(&self) -> Epoch;
    /// The epoch it leads or is establishing (None unless leading with one picked).
    fn leader_epoch(&self) -> Option<Epoch>;
    /// Cumulative digest (`chain_digest`) of its log through `zxid`; None if `zxid` is
    /// not in its log. The log's base point counts (zxid 0 → `Some(0)` on a fresh log).
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64>;
    /// The zxid just before the first entry its log keeps.
    fn log_base_zxid(&self) -> Zxid;
    fn last_logged_zxid(&self) -> Zxid;
    /// The largest zxid it knows to be committed.
    fn committed_zxid(&self) -> Zxid;
    /// The last zxid it delivered to its host.
    fn last_applied_zxid(&self) -> Zxid;
}
