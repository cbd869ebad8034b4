//! [`replication::Inspect`] for [`Zab`]: the engine's read-only views under the common
//! names. No logic of its own.

use proto::{Epoch, ProcessId, Zxid};
use replication::{App, Inspect, Phase, ServerState};

use crate::engine::Zab;

impl<A: App> Inspect for Zab<A> {
    fn state(&self) -> ServerState {
        Zab::state(self)
    }
    fn phase(&self) -> Phase {
        Zab::phase(self)
    }
    fn leader(&self) -> Option<ProcessId> {
        Zab::leader(self)
    }
    fn is_leader(&self) -> bool {
        Zab::is_leader(self)
    }
    fn is_established_leader(&self) -> bool {
        Zab::is_established_leader(self)
    }
    fn current_epoch(&self) -> Epoch {
        Zab::current_epoch(self)
    }
    fn accepted_epoch(&self) -> Epoch {
        Zab::accepted_epoch(self)
    }
    fn leader_epoch(&self) -> Option<Epoch> {
        Zab::leader_epoch(self)
    }
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64> {
        Zab::log_digest_at(self, zxid)
    }
    fn log_base_zxid(&self) -> Zxid {
        self.log().base_zxid()
    }
    fn last_logged_zxid(&self) -> Zxid {
        Zab::last_logged_zxid(self)
    }
    fn committed_zxid(&self) -> Zxid {
        Zab::committed_zxid(self)
    }
    fn last_applied_zxid(&self) -> Zxid {
        Zab::last_applied_zxid(self)
    }
}
