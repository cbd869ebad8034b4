//! Raft's leader–follower link for the application's messages (ReadIndex, ReadDone, App):
//! `replication::link::Link` over Raft's wire, numbered and acknowledged on AppendEntries
//! and AppendReply (see that module for the link's contract).
//! Invariants: only the messages `Wire::link_seq` names ride a link.

use replication::App;
use replication::link::Linked;

use crate::msg::Wire;

pub use replication::link::LINK_UNACKED_MAX;

/// One end of a leader–follower link carrying Raft's messages.
pub(crate) type Link<A> = replication::link::Link<Wire<A>>;

impl<A: App> Linked for Wire<A> {
    fn link_seq(&self) -> Option<(u64, u64)> {
        Wire::link_seq(self)
    }
}
