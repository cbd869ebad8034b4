//! The leader–learner connection model. The network is FIFO per link but drops silently on
//! partitions and crashes, while ZAB needs reliable FIFO channels; so a learner opens a
//! connection with a fresh random id, every message carries `(conn, seq)`, and a receiver
//! accepts only the next sequence number. A gap means the channel lost something: the
//! connection is broken (learner → LOOKING, leader forgets the learner).
//! A side that detects a gap answers with a reset (a message that skips a sequence number)
//! so the other side learns at once, as it would from a TCP RST.
//! Invariants: `next_send` and `next_recv` only grow; a message is accepted exactly once;
//! nothing is sent after the reset.

use proto::ProcessId;
use replication::App;

use crate::engine::Out;
use crate::msg::{Peer, Wire};

/// How an incoming sequence number relates to the next expected one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    InOrder,
    /// Already seen (the network promises no duplicates; dropped anyway).
    Duplicate,
    /// Something before it was lost: the connection is broken.
    Gap,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) conn: u64,
    pub(crate) next_send: u64,
    pub(crate) next_recv: u64,
    /// A reset was sent: the connection is dead on this side.
    reset_sent: bool,
}

impl Link {
    pub(crate) fn new(conn: u64) -> Link {
        Link {
            conn,
            next_send: 0,
            next_recv: 0,
            reset_sent: false,
        }
    }

    pub(crate) fn send<A: App>(&mut self, to: ProcessId, body: Peer<A>, out: &mut Out<A>) {
        assert!(
            !self.reset_sent,
            "send on connection {} after its reset",
            self.conn
        );
        let seq = self.next_send;
        self.next_send += 1;
        out.send(
            to,
            Wire::Peer {
                conn: self.conn,
                seq,
                body,
            },
        );
    }

    /// Tells the peer this connection is dead (a TCP reset): a PING that skips one sequence
    /// number, which the peer sees as a gap. Nothing further is sent on this link.
    pub(crate) fn send_reset<A: App>(&mut self, to: ProcessId, out: &mut Out<A>) {
        self.next_send += 1;
        self.send(to, Peer::ping(A::Heartbeat::default()), out);
        self.reset_sent = true;
    }

    pub(crate) fn arrive(&mut self, seq: u64) -> Arrival {
        // Whoever reset a connection forgets it: nothing more is read from it.
        assert!(
            !self.reset_sent,
            "receive on connection {} after its reset",
            self.conn
        );
        if seq == self.next_recv {
            self.next_recv += 1;
            Arrival::InOrder
        } else if seq < self.next_recv {
            Arrival::Duplicate
        } else {
            Arrival::Gap
        }
    }
}
