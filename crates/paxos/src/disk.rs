//! Multi-Paxos's waiters on the shared fsync batching (`replication::fsync::Disk`): what
//! each does once the records appended before it are durable.
//! Invariants: see `replication::fsync`; the engine re-validates a waiter (ballot, role)
//! before acting on it, so a waiter of an abandoned ballot does nothing.

use proto::ProcessId;

/// Appends and fsync batching with Multi-Paxos's waiters.
pub(crate) type Disk = replication::fsync::Disk<Waiter>;

/// What to do once durable.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Waiter {
    /// Nothing: the fsync only bounds what a crash can lose.
    Nothing,
    /// Candidate: its own promise of `ballot` is durable; send Prepare.
    Candidacy { ballot: u64 },
    /// Acceptor: its promise of `ballot` is durable; answer `proposer`'s Prepare.
    Promise {
        ballot: u64,
        proposer: ProcessId,
        from_slot: u64,
    },
    /// Acceptor: its acceptance at `slot` in `ballot` is durable; tell `proposer`.
    Accepted {
        ballot: u64,
        slot: u64,
        proposer: ProcessId,
    },
    /// Leader: its own acceptance at `slot` is durable; count itself.
    LeaderAccept { ballot: u64, slot: u64 },
}
