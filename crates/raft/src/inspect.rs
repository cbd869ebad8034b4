//! [`replication::Inspect`] for [`Raft`]: its read-only views under the common names,
//! terms read as epochs (a term is both the current and the accepted epoch: Raft has no
//! separate promise). No logic of its own.

use proto::{Epoch, ProcessId, Zxid};
use replication::{App, Inspect, Phase, ServerState};

use crate::engine::Raft;
use crate::log::epoch_of;

impl<A: App> Inspect for Raft<A> {
    fn state(&self) -> ServerState {
        Raft::state(self)
    }
    fn phase(&self) -> Phase {
        Raft::phase(self)
    }
    fn leader(&self) -> Option<ProcessId> {
        Raft::leader(self)
    }
    fn is_leader(&self) -> bool {
        Raft::is_leader(self)
    }
    fn is_established_leader(&self) -> bool {
        Raft::is_established_leader(self)
    }
    fn current_epoch(&self) -> Epoch {
        epoch_of(self.term())
    }
    fn accepted_epoch(&self) -> Epoch {
        epoch_of(self.term())
    }
    fn leader_epoch(&self) -> Option<Epoch> {
        self.is_leader().then(|| epoch_of(self.term()))
    }
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64> {
        self.log().digest_at(zxid)
    }
    /// Raft keeps its whole log (no compaction yet): it starts at zxid 0.
    fn log_base_zxid(&self) -> Zxid {
        Zxid::ZERO
    }
    fn last_logged_zxid(&self) -> Zxid {
        self.log().last_zxid()
    }
    fn committed_zxid(&self) -> Zxid {
        self.log().zxid_floor(self.commit_index())
    }
    fn last_applied_zxid(&self) -> Zxid {
        replication::Engine::<A>::delivered(self)
    }
}
