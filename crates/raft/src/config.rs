//! Server configuration ([`Config`]), the planted bugs ([`Bugs`]), the timer ids and the
//! named bounds every queue in this crate respects.
//! Invariants: a validated config has 1..=VOTERS_MAX distinct voters with `me` among them,
//! non-zero intervals, a heartbeat well inside the election timeout, and
//! `1 <= append_entries_max <= APPEND_ENTRIES_MAX`; `quorum_size` is a strict majority.

use proto::{NS_PER_MS, ProcessId, TimerId};

/// Most voters one ensemble may have.
pub const VOTERS_MAX: usize = 64;
/// Most entries a leader keeps proposed but not committed; `next_position` says None beyond.
pub const OUTSTANDING_PROPOSALS_MAX: usize = 100_000;
/// Most ReadIndex barriers pending on a leader, and on a follower.
pub const READS_MAX: usize = 100_000;
/// Most "run this once durable" waiters queued behind one fsync.
pub use replication::fsync::FSYNC_WAITERS_MAX;
/// Most entries one AppendEntries may carry (the configured batch is at most this).
pub const APPEND_ENTRIES_MAX: usize = 4_096;
/// Most entries the in-memory log holds (there are no snapshots yet: see ARCHITECTURE.md).
pub const LOG_ENTRIES_MAX: usize = 50_000_000;

/// Follower / candidate: no leader heard from within the (randomized) election timeout.
pub const TIMER_ELECTION: TimerId = TimerId(1);
/// Leader: every `heartbeat_ms`, AppendEntries to every peer and the host's leader tick.
pub const TIMER_HEARTBEAT: TimerId = TimerId(2);

/// Bugs that can be planted (all off = correct Raft), each described at its field.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// The Raft paper's Figure 8: a leader commits an entry of a previous term as soon as a
    /// majority holds it, instead of only entries of its own term; a later leader whose
    /// log lacks it can win an election and overwrite a committed entry.
    pub figure8: bool,
    /// A server answers a RequestVote before its vote is durable: after a crash before the
    /// fsync it has forgotten the vote and may vote again in the same term (two leaders in
    /// one term).
    pub no_vote_persist: bool,
}

impl Bugs {
    /// Whether any bug is planted (some invariants only hold without them).
    pub fn any(&self) -> bool {
        self.figure8 || self.no_vote_persist
    }
}

/// One server's configuration. Times in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This server's id; must equal the kernel's `ctx.me`.
    pub me: ProcessId,
    /// The voting members, in any order.
    pub voters: Vec<ProcessId>,
    /// The leader's AppendEntries interval.
    pub heartbeat_ms: u64,
    /// Election timeouts are drawn uniformly from `[election_timeout_ms, 2 *
    /// election_timeout_ms)`; a leader that heard from no quorum for this long steps down.
    pub election_timeout_ms: u64,
    /// Most entries per AppendEntries.
    pub append_entries_max: usize,
    pub bugs: Bugs,
}

impl Config {
    /// Defaults: a 100 ms heartbeat, a 1 s election timeout, batches of 64 entries.
    pub fn new(me: ProcessId, voters: Vec<ProcessId>) -> Config {
        Config {
            me,
            voters,
            heartbeat_ms: 100,
            election_timeout_ms: 1_000,
            append_entries_max: 64,
            bugs: Bugs::default(),
        }
    }

    /// Panics (a configuration bug) unless the invariants in this file's header hold.
    pub fn validate(&self) {
        replication::voters::check(self.me, &self.voters, VOTERS_MAX);
        assert!(self.heartbeat_ms > 0, "a zero heartbeat interval");
        assert!(
            2 * self.heartbeat_ms <= self.election_timeout_ms,
            "the heartbeat must be well inside the election timeout"
        );
        assert!(
            (1..=APPEND_ENTRIES_MAX).contains(&self.append_entries_max),
            "append_entries_max outside 1..={APPEND_ENTRIES_MAX}"
        );
    }

    pub fn is_voter(&self, p: ProcessId) -> bool {
        self.voters.contains(&p)
    }

    /// The voters other than this server, in id order (the order messages go out in).
    pub fn peers(&self) -> Vec<ProcessId> {
        replication::voters::peers(self.me, &self.voters)
    }

    /// A strict majority of the voters.
    pub fn quorum_size(&self) -> usize {
        replication::voters::quorum_size(self.voters.len())
    }

    pub fn heartbeat_ns(&self) -> u64 {
        self.heartbeat_ms * NS_PER_MS
    }

    pub fn election_timeout_ns(&self) -> u64 {
        self.election_timeout_ms * NS_PER_MS
    }
}
