//! The notes of a ZooKeeper ensemble's world (the contract with `check` and the history):
//! the engine's replication events, the server's own session and write observations, and
//! client processes' history events. They never influence the run.

use proto::Zxid;
use proto::history::ClientNote;
use proto::zk::SessionId;
use replication::Event;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Note {
    /// The replication engine's event (see `replication::Event`).
    Repl(Event),
    /// This server applied a CloseSession txn no client asked for (an expiry).
    SessionExpired { session: SessionId, zxid: Zxid },
    /// The leader applied the committed txn of request `xid` of `session` and it took
    /// effect (so a history can place writes whose client never learned the outcome).
    Applied {
        session: SessionId,
        xid: u64,
        zxid: Zxid,
    },
    /// Not a server's: a client process sharing the ensemble's note type reports a
    /// history event (boxed: notes travel in every process's outbox, keep them small).
    Client(Box<ClientNote>),
}

impl Note {
    /// A client's history note.
    pub fn client(note: ClientNote) -> Note {
        Note::Client(Box::new(note))
    }
}

impl From<Event> for Note {
    fn from(e: Event) -> Note {
        Note::Repl(e)
    }
}
