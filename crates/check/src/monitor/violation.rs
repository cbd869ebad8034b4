//! What a monitor reports: [`MonitorViolation`] and the invariant names, spelled exactly as
//! in ZooKeeper's TLA+ specifications of ZAB:
//!
//! | name | meaning |
//! |---|---|
//! | Leadership | at most one established leader per epoch |
//! | PrefixConsistency | the committed logs of any two servers are prefixes of one another |
//! | Integrity | every delivered txn was broadcast by some leader |
//! | Agreement | if s1 delivers a and s2 delivers b, then s2 delivers a or s1 delivers b |
//! | TotalOrder | if a is delivered before b anywhere, whoever delivers b delivered a first |
//! | LocalPrimaryOrder | one leader's broadcast order is preserved everywhere |
//! | GlobalPrimaryOrder | txns of an earlier epoch are delivered before a later epoch's |
//! | PrimaryIntegrity | before it broadcasts, a leader has delivered every older-epoch txn anyone delivered |
//! | CommittedLogDurability | TRUNC never removes a committed txn; an acknowledged write is never lost |
//! | LeaderLogCompleteness | every established leader holds all previously committed txns |
//! | ProcessConsistency | a synced follower's history is a prefix of its leader's |
//!
//! Invariants: `monitor` is always one of [`MONITOR_NAMES`]; `processes` lists the offending
//! server first, then the servers whose history it contradicts; `detail` names the zxids,
//! digests and epochs that diverged.

use proto::{ProcessId, Zxid};

pub const LEADERSHIP: &str = "Leadership";
pub const PREFIX_CONSISTENCY: &str = "PrefixConsistency";
pub const INTEGRITY: &str = "Integrity";
pub const AGREEMENT: &str = "Agreement";
pub const TOTAL_ORDER: &str = "TotalOrder";
pub const LOCAL_PRIMARY_ORDER: &str = "LocalPrimaryOrder";
pub const GLOBAL_PRIMARY_ORDER: &str = "GlobalPrimaryOrder";
pub const PRIMARY_INTEGRITY: &str = "PrimaryIntegrity";
pub const COMMITTED_LOG_DURABILITY: &str = "CommittedLogDurability";
pub const LEADER_LOG_COMPLETENESS: &str = "LeaderLogCompleteness";
pub const PROCESS_CONSISTENCY: &str = "ProcessConsistency";

/// Every monitor name, in the order of the anchor table.
pub const MONITOR_NAMES: [&str; 11] = [
    LEADERSHIP,
    PREFIX_CONSISTENCY,
    INTEGRITY,
    AGREEMENT,
    TOTAL_ORDER,
    LOCAL_PRIMARY_ORDER,
    GLOBAL_PRIMARY_ORDER,
    PRIMARY_INTEGRITY,
    COMMITTED_LOG_DURABILITY,
    LEADER_LOG_COMPLETENESS,
    PROCESS_CONSISTENCY,
];

/// A broken protocol invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorViolation {
    /// One of [`MONITOR_NAMES`].
    pub monitor: &'static str,
    /// The offending server first, then the servers it contradicts (no duplicates).
    pub processes: Vec<ProcessId>,
    pub detail: String,
}

impl MonitorViolation {
    pub(crate) fn new(
        monitor: &'static str,
        processes: &[ProcessId],
        detail: String,
    ) -> MonitorViolation {
        assert!(
            MONITOR_NAMES.contains(&monitor),
            "unknown monitor name {monitor}"
        );
        assert!(
            !processes.is_empty(),
            "{monitor}: a violation names a process"
        );
        assert!(
            !detail.is_empty(),
            "{monitor}: a violation says what diverged"
        );
        let mut unique: Vec<ProcessId> = Vec::with_capacity(processes.len());
        for p in processes {
            if !unique.contains(p) {
                unique.push(*p);
            }
        }
        MonitorViolation {
            monitor,
            processes: unique,
            detail,
        }
    }
}

impl std::fmt::Display for MonitorViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let procs: Vec<String> = self.processes.iter().map(|p| p.to_string()).collect();
        write!(
            f,
            "{} violated by [{}]: {}",
            self.monitor,
            procs.join(", "),
            self.detail
        )
    }
}

/// A zxid with its epoch and counter spelled out: `0x100000002 (epoch 1 #2)`.
pub(crate) fn zx(zxid: Zxid) -> String {
    format!("{zxid} (epoch {} #{})", zxid.epoch().0, zxid.counter())
}

/// A digest in fixed-width hex.
pub(crate) fn dg(digest: u64) -> String {
    format!("{digest:#018x}")
}
