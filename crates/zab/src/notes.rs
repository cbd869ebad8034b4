//! Observations for the invariant monitors and the history (the contract with `check`). A
//! server emits them as `Output::Note` (client processes emit `Note::Client`); they never
//! influence the run.
//! Invariants: `Delivered` notes of one incarnation come in strictly increasing zxid order
//! and only for committed txns; after a `Reset` the next `Delivered` continues from `upto`;
//! the cumulative history digest of the delivered txns is
//! `h_k = proto::hash_words(&[h_{k-1}, zxid_k.0, digest_k])` starting from `Reset.history`.

use proto::history::ClientNote;
use proto::zk::SessionId;
use proto::{Epoch, ProcessId, Zxid};
use serde::{Deserialize, Serialize};

use crate::types::{Phase, ServerState};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Note {
    /// The server state changed; `epoch` is the server's current (durable) epoch.
    State { state: ServerState, epoch: Epoch },
    /// The ZAB phase changed.
    Phase(Phase),
    /// Fast leader election decided.
    ElectionDone {
        leader: ProcessId,
        election_epoch: u64,
    },
    /// This leader got a quorum of NEWLEADER ACKs (counting itself) for `epoch`.
    Established { epoch: Epoch },
    /// This leader issued a new txn.
    Proposed { zxid: Zxid, digest: u64 },
    /// This leader saw a quorum of ACKs for `zxid` (or, at establishment, `zxid` is part of
    /// the initial history the quorum acknowledged).
    Committed { zxid: Zxid },
    /// This server applied a committed txn.
    Delivered { zxid: Zxid, digest: u64 },
    /// This server's applied state was replaced: restart (the recovered snapshot, genesis
    /// `0, 0` without one), SNAP from a leader, or a rollback by TRUNC.
    Reset { upto: Zxid, history: u64 },
    /// Log entries with zxid > `after` were cut (TRUNC); `removed` lists them in order.
    Truncated { after: Zxid, removed: Box<[Zxid]> },
    /// This learner finished sync (it sent the NEWLEADER ACK).
    Synced {
        leader: ProcessId,
        epoch: Epoch,
        last_zxid: Zxid,
    },
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
