//! Server configuration ([`Config`]), the planted bugs ([`Bugs`]), ballots, the timer ids
//! and the named bounds every queue in this crate respects.
//! Invariants: a validated config has 1..=VOTERS_MAX distinct voters with `me` among them,
//! non-zero intervals, a heartbeat well inside the election timeout and
//! `1 <= window <= WINDOW_MAX`; `quorum_size` is a strict majority; a ballot names its
//! proposer (`ballot % VOTERS_MAX` is the proposer's index among the sorted voters), so two
//! proposers never share one.

use proto::{Epoch, NS_PER_MS, ProcessId, TimerId};

/// Most voters one ensemble may have (also the ballot stride).
pub const VOTERS_MAX: usize = 64;
/// Most slots a leader keeps proposed but not chosen (the configured window is at most this).
pub const WINDOW_MAX: usize = 100_000;
/// Most slots one server's log holds (there are no snapshots: see ARCHITECTURE.md).
pub const LOG_SLOTS_MAX: u64 = 50_000_000;
/// Most chosen values one catch-up message carries.
pub const LEARN_BATCH_MAX: usize = 4_096;
/// Most barriers pending on a leader, and on a follower.
pub const READS_MAX: usize = 100_000;
/// Most new values a leader takes from its host, in Phase 2 or held back in order until
/// the window has room (a window of at least this holds none back).
pub const TAKEN_MAX: usize = 1_000;
/// Prefix acceptance: most Accepts an acceptor holds back until the slot before is
/// accepted in their ballot (one more is refused: the leader sends it again).
pub const HELD_MAX: usize = 4_096;

/// Follower / candidate: no leader heard from within the (randomized) election timeout.
pub const TIMER_ELECTION: TimerId = TimerId(1);
/// Leader: every `heartbeat_ms`, a heartbeat to every peer (and Accepts sent again).
pub const TIMER_HEARTBEAT: TimerId = TimerId(2);

/// Bugs that can be planted (all off = classic Multi-Paxos), each described at its field.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// An acceptor answers an Accept before the accepted value is durable: after a crash
    /// before the fsync it has forgotten a value a quorum was counted on, and a later
    /// proposer may choose another value in a slot already chosen.
    pub no_accept_persist: bool,
}

impl Bugs {
    /// Whether any bug is planted (some invariants only hold without them).
    pub fn any(&self) -> bool {
        self.no_accept_persist
    }
}

/// How acceptors accept and a new proposer recovers (`[paxos] order` of a scenario).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Classic Multi-Paxos: any slot is accepted in any order; a new proposer takes, slot
    /// by slot, the value with the highest ballot and fills holes with no-ops. Primary
    /// order is not kept.
    #[default]
    Classic,
    /// Prefix acceptance (where ZAB and Raft end up): an acceptor accepts slot `k` in
    /// ballot `b` only once it accepted slot `k - 1` in `b` (or knows it chosen), dropping
    /// a conflicting suffix of its log; a new proposer adopts the whole log of the promise
    /// whose last value is the newest (its proposer's ballot, then its length) and counts
    /// an older proposer's value chosen only under one of its own (Raft's commit rule).
    Prefix,
}

impl Order {
    /// Every order with its name in a scenario.
    pub const ALL: [(&'static str, Order); 2] =
        [("classic", Order::Classic), ("prefix", Order::Prefix)];

    pub fn name(self) -> &'static str {
        match self {
            Order::Classic => "classic",
            Order::Prefix => "prefix",
        }
    }

    pub fn parse(name: &str) -> Option<Order> {
        Order::ALL.iter().find(|(n, _)| *n == name).map(|o| o.1)
    }
}

/// One server's configuration. Times in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This server's id; must equal the kernel's `ctx.me`.
    pub me: ProcessId,
    /// The voting members (every one an acceptor, a learner and a possible proposer).
    pub voters: Vec<ProcessId>,
    /// The distinguished proposer's heartbeat interval.
    pub heartbeat_ms: u64,
    /// Election timeouts are drawn uniformly from `[election_timeout_ms, 2 *
    /// election_timeout_ms)`; a leader that heard from no quorum for this long steps down.
    pub election_timeout_ms: u64,
    /// Most slots proposed and not yet chosen (Phase 2's pipeline).
    pub window: usize,
    /// How acceptors accept and a new proposer recovers.
    pub order: Order,
    pub bugs: Bugs,
}

impl Config {
    /// Defaults: a 100 ms heartbeat, a 1 s election timeout, a window of 1,000 slots,
    /// classic acceptance.
    pub fn new(me: ProcessId, voters: Vec<ProcessId>) -> Config {
        Config {
            me,
            voters,
            heartbeat_ms: 100,
            election_timeout_ms: 1_000,
            window: 1_000,
            order: Order::Classic,
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
            (1..=WINDOW_MAX).contains(&self.window),
            "window outside 1..={WINDOW_MAX}"
        );
    }

    pub fn prefix(&self) -> bool {
        self.order == Order::Prefix
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

    /// `p`'s index among the sorted voters.
    fn index_of(&self, p: ProcessId) -> u64 {
        let mut ids = self.voters.clone();
        ids.sort();
        ids.iter().position(|v| *v == p).expect("a voter") as u64
    }

    /// This server's smallest ballot above `seen`.
    pub fn ballot_above(&self, seen: u64) -> u64 {
        let stride = VOTERS_MAX as u64;
        let ballot = (seen / stride + 1) * stride + self.index_of(self.me);
        assert!(ballot > seen && self.owner(ballot) == self.me);
        ballot
    }

    /// The proposer whose ballot `ballot` is (0 is nobody's).
    pub fn owner(&self, ballot: u64) -> ProcessId {
        assert!(ballot >= VOTERS_MAX as u64, "ballot {ballot} is nobody's");
        let mut ids = self.voters.clone();
        ids.sort();
        let index = (ballot % VOTERS_MAX as u64) as usize;
        assert!(index < ids.len(), "ballot {ballot} names no voter");
        ids[index]
    }
}

/// A ballot as an epoch (the high half of the zxids its proposer gives new values).
pub fn epoch_of(ballot: u64) -> Epoch {
    Epoch(u32::try_from(ballot).expect("a ballot beyond the zxid's epoch range"))
}
