//! The bridge from a ZooKeeper server to the protocol monitors of `check::monitor`: the
//! engine's replication events handed over as they are, and a read-only `ServerLog` view of
//! a live server's engine (ZAB or Raft, through `replication::Inspect`). No logic of its
//! own.

use check::monitor::{ProtocolEvent, ServerLog};
use proto::{Epoch, Zxid};
use zkserver::{Note, ServerView};

/// The protocol event a server's note stands for: its replication event as it is; None
/// for notes the monitors do not take (session expiries, applied writes, client history).
pub fn event(note: &Note) -> Option<ProtocolEvent> {
    match note {
        Note::Repl(e) => Some(ProtocolEvent::Repl(e.clone())),
        Note::SessionExpired { .. } | Note::Applied { .. } | Note::Client(_) => None,
    }
}

/// A live server seen through the monitors' read-only interface.
pub struct ZabLog<'a>(pub &'a dyn ServerView);

impl ServerLog for ZabLog<'_> {
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64> {
        self.0.engine().log_digest_at(zxid)
    }
    fn log_base_zxid(&self) -> Zxid {
        self.0.engine().log_base_zxid()
    }
    fn last_logged_zxid(&self) -> Zxid {
        self.0.engine().last_logged_zxid()
    }
    fn current_epoch(&self) -> Epoch {
        self.0.engine().current_epoch()
    }
    fn leading_epoch(&self) -> Option<Epoch> {
        self.0.engine().leader_epoch()
    }
    fn is_established_leader(&self) -> bool {
        self.0.engine().is_established_leader()
    }
}
