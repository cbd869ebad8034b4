//! Server configuration ([`Config`]), the switchable historical bugs ([`Bugs`]), the named
//! timer ids and the named bounds every queue in this crate respects.
//! Invariants: a validated config has 1..=SERVERS_MAX distinct voters, disjoint observers,
//! `me` among them, and non-zero tick / limits; `quorum_size` is a strict majority of voters.

use proto::{NS_PER_MS, ProcessId, TimerId, Zxid};

/// Most servers (voters + observers) one ensemble may have.
pub const SERVERS_MAX: usize = 64;
/// Most proposals a leader keeps outstanding (proposed, not yet committed); requests beyond
/// are refused with ConnectionLoss.
pub const OUTSTANDING_PROPOSALS_MAX: usize = 100_000;
/// Most "run this once durable" waiters queued behind one fsync.
pub const FSYNC_WAITERS_MAX: usize = 1_000_000;

/// Election: re-send notifications (back-off doubling up to `notify_timeout_ms_max`).
pub const TIMER_NOTIFY: TimerId = TimerId(1);
/// Election: a quorum agrees; decide unless a better vote arrives before this fires.
pub const TIMER_FINALIZE: TimerId = TimerId(2);
/// Every `tick_ms` outside election: pings, initLimit / syncLimit checks, connect retries.
pub const TIMER_TICK: TimerId = TimerId(3);

/// Historical ZooKeeper bugs that can be planted (all off = correct behaviour), each named
/// after its ZOOKEEPER-N issue and described at its field.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// ZOOKEEPER-1419: the vote comparison groups its terms wrongly,
    /// `(e > e') || (e == e' && z > z') || (z == z' && sid > sid')`: the last term ignores
    /// the epoch, the order is not transitive and elections may never settle.
    pub zk_1419: bool,
    /// ZOOKEEPER-335: epochs are not made durable; a server's epoch is the epoch of its last
    /// logged zxid (pre-fix protocol), so a new leader may reuse the epoch of a leader that
    /// crashed after proposing: the same zxid carries two different txns.
    pub zk_335: bool,
    /// ZOOKEEPER-1154: the leader sends a DIFF without TRUNC to a follower whose last zxid is
    /// not in the leader's log (it holds txns the leader never saw): divergent replicas.
    pub zk_1154: bool,
    /// ZOOKEEPER-3911: a follower ACKs NEWLEADER before the synced txns and its current
    /// epoch are durable; a quorum crash after commit loses committed txns.
    pub zk_3911: bool,
    /// ZOOKEEPER-2355: a follower takes the DIFF's last zxid as its own at the start of the
    /// DIFF; if the connection breaks mid-DIFF it reconnects claiming txns it never got and
    /// is sent an empty DIFF: it misses txns.
    pub zk_2355: bool,
    /// ZOOKEEPER-1366: the server times everything on the wall clock, as ZooKeeper before
    /// 3.5 did with `System.currentTimeMillis` — election notification and finalize waits,
    /// the tick (pings, initLimit / syncLimit checks, connect retries), learners' and the
    /// leader's silence limits, session expiry: its deadlines are wall-clock readings and
    /// its timers wall-clock timers. A backward jump stretches every one of them by the
    /// jump (a server can sit LOOKING, or a leader stop pinging, for the jump's length); a
    /// forward jump fires them early (sessions expire, learners give up on a live leader).
    pub zk_1366: bool,
}

/// One server's configuration. Times are in milliseconds (`_ms`) or ticks (`_ticks`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This server's id (ZooKeeper's `sid`); must equal the kernel's `ctx.me`.
    pub me: ProcessId,
    /// The voting members, in any order.
    pub voters: Vec<ProcessId>,
    /// Observers: learn committed txns, never vote.
    pub observers: Vec<ProcessId>,
    /// ZooKeeper's tickTime.
    pub tick_ms: u64,
    /// Discovery + synchronization must make progress within this many ticks.
    pub init_limit_ticks: u64,
    /// A leader and its learners must hear from each other within this many ticks.
    pub sync_limit_ticks: u64,
    /// Election: wait this long after a quorum agrees before deciding.
    pub finalize_wait_ms: u64,
    /// Election: first notification re-send timeout; doubles up to `notify_timeout_ms_max`.
    pub notify_timeout_ms_start: u64,
    pub notify_timeout_ms_max: u64,
    /// Committed txns kept in the in-memory log for DIFFs; a follower further behind is sent
    /// a SNAP. The log is compacted (snapshot + trim) when it holds twice this many.
    pub log_window_txns: usize,
    /// Largest zxid counter a leader may use; at this limit it steps down (ZooKeeper uses
    /// `0xffff_fffe`: the low 32 bits must not roll over). Lower it to test the step-down.
    pub zxid_counter_max: u32,
    /// Not ZooKeeper: an established (or establishing) leader steps down when a learner
    /// connects with an accepted epoch above the leader's epoch. In ZooKeeper such a learner
    /// (e.g. one that alone accepted the epoch of its own failed leadership attempt) refuses
    /// LEADERINFO and loops between LOOKING and FOLLOWING until the leader changes; with this
    /// knob the next election picks an epoch above it. Off by default (faithful).
    pub yield_to_newer_accepted_epoch: bool,
    pub bugs: Bugs,
}

impl Config {
    /// A configuration with ZooKeeper-like defaults and a short 200 ms tick (so liveness is
    /// quick in simulated time).
    pub fn new(me: ProcessId, voters: Vec<ProcessId>, observers: Vec<ProcessId>) -> Config {
        Config {
            me,
            voters,
            observers,
            tick_ms: 200,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            finalize_wait_ms: 200,
            notify_timeout_ms_start: 200,
            notify_timeout_ms_max: 60_000,
            log_window_txns: 500,
            zxid_counter_max: Zxid::COUNTER_MAX - 1,
            yield_to_newer_accepted_epoch: false,
            bugs: Bugs::default(),
        }
    }

    /// Panics (a configuration bug) unless the invariants in this file's header hold.
    pub fn validate(&self) {
        assert!(!self.voters.is_empty(), "no voters");
        assert!(
            self.voters.len() + self.observers.len() <= SERVERS_MAX,
            "too many servers"
        );
        let mut all: Vec<ProcessId> = self.voters.iter().chain(&self.observers).copied().collect();
        all.sort();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate server ids");
        assert!(self.is_server(self.me), "me is not a server");
        assert!(self.tick_ms > 0 && self.init_limit_ticks > 0 && self.sync_limit_ticks > 0);
        assert!(self.notify_timeout_ms_start > 0);
        assert!(self.notify_timeout_ms_start <= self.notify_timeout_ms_max);
        assert!(self.log_window_txns > 0);
        assert!(self.zxid_counter_max > 0);
    }

    pub fn is_voter(&self, p: ProcessId) -> bool {
        self.voters.contains(&p)
    }
    pub fn is_observer(&self, p: ProcessId) -> bool {
        self.observers.contains(&p)
    }
    pub fn is_server(&self, p: ProcessId) -> bool {
        self.is_voter(p) || self.is_observer(p)
    }
    /// A strict majority of the voters.
    pub fn quorum_size(&self) -> usize {
        let quorum = self.voters.len() / 2 + 1;
        // Any two quorums intersect.
        assert!(2 * quorum > self.voters.len() && quorum <= self.voters.len());
        quorum
    }
    pub fn tick_ns(&self) -> u64 {
        self.tick_ms * NS_PER_MS
    }
    pub fn init_limit_ns(&self) -> u64 {
        self.tick_ns() * self.init_limit_ticks
    }
    pub fn sync_limit_ns(&self) -> u64 {
        self.tick_ns() * self.sync_limit_ticks
    }
}
