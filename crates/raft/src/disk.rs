//! Raft's waiters on the shared fsync batching (`replication::fsync::Disk`): what each
//! does once the records appended before it are durable.
//! Invariants: see `replication::fsync`; the engine re-validates a waiter (term, role)
//! before acting on it.

use proto::ProcessId;

/// Appends and fsync batching with Raft's waiters.
pub(crate) type Disk = replication::fsync::Disk<Waiter>;

/// What to do once durable.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Waiter {
    /// Nothing: the fsync only bounds what a crash can lose.
    Nothing,
    /// Candidate: its own vote in `term` is durable; ask for votes.
    Candidacy { term: u64 },
    /// Voter: its vote for `candidate` in `term` is durable; grant it.
    Vote { term: u64, candidate: ProcessId },
    /// Follower: its log matches `leader`'s through `match_index` durably; acknowledge.
    FollowerAck {
        term: u64,
        leader: ProcessId,
        match_index: u64,
        seq: u64,
    },
    /// Leader: its own log through `index` is durable; count itself.
    LeaderAppend { term: u64, index: u64 },
}
