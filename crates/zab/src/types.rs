//! Plain data of the ZAB engine: why a server left a role, and fast-leader-election votes
//! (roles, phases and snapshots are the replication interface's: re-exported here).

use proto::{Epoch, ProcessId, Zxid};
use serde::{Deserialize, Serialize};

pub use replication::{Phase, ServerState, chain_digest};

/// Why a server left LEADING / FOLLOWING / OBSERVING for a new election. Its text
/// ([`LeaveReason::as_str`], also its `Display`) is the sentence the server always gave.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LeaveReason {
    /// Learner: the transport reset its connection to the leader (the leader crashed).
    LeaderConnectionReset,
    /// Learner: a message from the leader skipped a sequence number.
    LeaderConnectionGap,
    /// Learner: the leader sent a message this stage does not expect.
    UnexpectedLeaderMessage,
    /// Learner: nothing from the leader within initLimit / syncLimit.
    LeaderSilent,
    /// Leader (with `yield_to_newer_accepted_epoch`): a learner accepted a newer epoch.
    LearnerAcceptedNewerEpoch,
    /// Leader: a follower's ACKEPOCH shows a newer history than the leader's.
    FollowerAhead,
    /// Leader: initLimit ran out before a quorum acknowledged NEWLEADER.
    InitLimitExpired,
    /// Leader: fewer than a quorum of synced followers were heard within syncLimit.
    SyncedQuorumLost,
    /// Leader: the next zxid would pass `zxid_counter_max`.
    ZxidCounterExhausted,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::LeaderConnectionReset => "the connection to the leader was reset",
            LeaveReason::LeaderConnectionGap => "connection to the leader lost messages",
            LeaveReason::UnexpectedLeaderMessage => "unexpected message from the leader",
            LeaveReason::LeaderSilent => "no word from the leader within the limit",
            LeaveReason::LearnerAcceptedNewerEpoch => "a learner accepted a newer epoch",
            LeaveReason::FollowerAhead => "a follower is ahead of the leader",
            LeaveReason::InitLimitExpired => "initLimit expired before the leader was established",
            LeaveReason::SyncedQuorumLost => "lost a quorum of synced followers",
            LeaveReason::ZxidCounterExhausted => "zxid counter would overflow",
        }
    }
}

impl std::fmt::Display for LeaveReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fast-leader-election vote: ordered by `(peer_epoch, zxid, leader)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    pub leader: ProcessId,
    pub zxid: Zxid,
    pub peer_epoch: Epoch,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leave_reasons_keep_their_sentences() {
        let cases = [
            (
                LeaveReason::LeaderConnectionReset,
                "the connection to the leader was reset",
            ),
            (
                LeaveReason::LeaderConnectionGap,
                "connection to the leader lost messages",
            ),
            (
                LeaveReason::UnexpectedLeaderMessage,
                "unexpected message from the leader",
            ),
            (
                LeaveReason::LeaderSilent,
                "no word from the leader within the limit",
            ),
            (
                LeaveReason::LearnerAcceptedNewerEpoch,
                "a learner accepted a newer epoch",
            ),
            (
                LeaveReason::FollowerAhead,
                "a follower is ahead of the leader",
            ),
            (
                LeaveReason::InitLimitExpired,
                "initLimit expired before the leader was established",
            ),
            (
                LeaveReason::SyncedQuorumLost,
                "lost a quorum of synced followers",
            ),
            (
                LeaveReason::ZxidCounterExhausted,
                "zxid counter would overflow",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text, "{reason:?}");
        }
    }
}
