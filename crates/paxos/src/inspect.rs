//! [`replication::Inspect`] for [`Paxos`]: its read-only views under the common names,
//! ballots read as epochs (the promise is both the current and the accepted epoch) and the
//! delivered chosen prefix read as the log. No logic of its own.

use proto::{Epoch, ProcessId, Zxid};
use replication::{App, Inspect, Phase, ServerState};

use crate::config::epoch_of;
use crate::engine::Paxos;

impl<A: App> Inspect for Paxos<A> {
    fn state(&self) -> ServerState {
        Paxos::state(self)
    }
    fn phase(&self) -> Phase {
        Paxos::phase(self)
    }
    fn leader(&self) -> Option<ProcessId> {
        Paxos::leader(self)
    }
    fn is_leader(&self) -> bool {
        Paxos::is_leader(self)
    }
    fn is_established_leader(&self) -> bool {
        Paxos::is_established_leader(self)
    }
    fn current_epoch(&self) -> Epoch {
        epoch_of(self.promised())
    }
    fn accepted_epoch(&self) -> Epoch {
        epoch_of(self.promised())
    }
    fn leader_epoch(&self) -> Option<Epoch> {
        self.is_leader().then(|| epoch_of(self.promised()))
    }
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64> {
        self.log().digest_at(zxid)
    }
    /// The delivered history starts at zxid 0 (no snapshots yet).
    fn log_base_zxid(&self) -> Zxid {
        Zxid::ZERO
    }
    fn last_logged_zxid(&self) -> Zxid {
        self.log().last_delivered()
    }
    fn committed_zxid(&self) -> Zxid {
        self.log().last_delivered()
    }
    fn last_applied_zxid(&self) -> Zxid {
        replication::Engine::<A>::delivered(self)
    }
}
