//! The bridge from a ZooKeeper server to the protocol monitors of `check::monitor`: zab's
//! notes translated one to one into `ProtocolEvent`s, and a read-only `ServerLog` view of a
//! live server. No logic of its own.

use check::monitor::{self as mon, ProtocolEvent, ServerLog};
use proto::{Epoch, Zxid};
use zab::{Note, Server};

pub fn state(s: zab::ServerState) -> mon::ServerState {
    match s {
        zab::ServerState::Looking => mon::ServerState::Looking,
        zab::ServerState::Following => mon::ServerState::Following,
        zab::ServerState::Leading => mon::ServerState::Leading,
        zab::ServerState::Observing => mon::ServerState::Observing,
    }
}

pub fn phase(p: zab::Phase) -> mon::Phase {
    match p {
        zab::Phase::Election => mon::Phase::Election,
        zab::Phase::Discovery => mon::Phase::Discovery,
        zab::Phase::Synchronization => mon::Phase::Synchronization,
        zab::Phase::Broadcast => mon::Phase::Broadcast,
    }
}

/// The protocol event a server's note stands for; None for notes the monitors do not
/// take (session expiries, client history notes).
pub fn event(note: &Note) -> Option<ProtocolEvent> {
    let ev = match note {
        Note::State { state: s, epoch } => ProtocolEvent::State {
            state: state(*s),
            epoch: *epoch,
        },
        Note::Phase(p) => ProtocolEvent::Phase(phase(*p)),
        Note::ElectionDone {
            leader,
            election_epoch,
        } => ProtocolEvent::ElectionDone {
            leader: *leader,
            election_epoch: *election_epoch,
        },
        Note::Established { epoch } => ProtocolEvent::Established { epoch: *epoch },
        Note::Proposed { zxid, digest } => ProtocolEvent::Proposed {
            zxid: *zxid,
            digest: *digest,
        },
        Note::Committed { zxid } => ProtocolEvent::Committed { zxid: *zxid },
        Note::Delivered { zxid, digest } => ProtocolEvent::Delivered {
            zxid: *zxid,
            digest: *digest,
        },
        Note::Reset { upto, history } => ProtocolEvent::Reset {
            upto: *upto,
            history: *history,
        },
        Note::Truncated { after, removed } => ProtocolEvent::Truncated {
            after: *after,
            removed: removed.to_vec(),
        },
        Note::Synced {
            leader,
            epoch,
            last_zxid,
        } => ProtocolEvent::Synced {
            leader: *leader,
            epoch: *epoch,
            last_zxid: *last_zxid,
        },
        Note::SessionExpired { .. } | Note::Applied { .. } | Note::Client(_) => return None,
    };
    Some(ev)
}

/// A live server seen through the monitors' read-only interface.
pub struct ZabLog<'a>(pub &'a Server);

impl ServerLog for ZabLog<'_> {
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64> {
        self.0.log_digest_at(zxid)
    }
    fn log_base_zxid(&self) -> Zxid {
        self.0.log().base_zxid()
    }
    fn last_logged_zxid(&self) -> Zxid {
        self.0.last_logged_zxid()
    }
    fn current_epoch(&self) -> Epoch {
        self.0.current_epoch()
    }
    fn leading_epoch(&self) -> Option<Epoch> {
        self.0.leader_epoch()
    }
    fn is_established_leader(&self) -> bool {
        self.0.is_established_leader()
    }
}
