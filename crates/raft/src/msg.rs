//! Raft's wire: RequestVote and AppendEntries with their answers, and the traffic that
//! rides the leader–follower relation (follower heartbeat payloads, ReadIndex requests and
//! answers, the application's own messages; the last three ride a link, `crate::link`),
//! with kind names and sizes.
//! Invariants: `KINDS[m.kind()]` names `m`; every message carries its sender's term; an
//! AppendEntries carries at most `APPEND_ENTRIES_MAX` slots, shared (`Arc`) with the log.

use replication::{App, Payload};

use crate::log::Slot;

/// Every message Raft sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire<A: App> {
    /// Candidate → voter: vote for me in `term`; my log ends at (`last_index`, `last_term`).
    RequestVote {
        term: u64,
        last_index: u64,
        last_term: u64,
    },
    /// Voter → candidate (a grant is sent only once the vote is durable).
    VoteReply { term: u64, granted: bool },
    /// Leader → follower: `entries` follow (`prev_index`, `prev_term`); everything up to
    /// `leader_commit` is committed. `seq` is the leader's heartbeat round (ReadIndex).
    AppendEntries {
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Slot<A>>,
        leader_commit: u64,
        seq: u64,
        /// The follower's link id the leader knows, and how many of its messages on that
        /// link the leader has taken (`crate::link`).
        link: u64,
        acked: u64,
    },
    /// Follower → leader. Success: the follower's log matches the leader's through
    /// `match_index` durably. Failure: the log did not match; `match_index` is where the
    /// leader should retry from (the follower's log may match through it).
    AppendReply {
        term: u64,
        success: bool,
        match_index: u64,
        seq: u64,
        /// The follower's link id, and how many of the leader's messages on it it took.
        link: u64,
        acked: u64,
    },
    /// Follower → leader, once per heartbeat round: the application's heartbeat payload.
    Ping { term: u64, payload: A::Heartbeat },
    /// Follower → leader: a barrier (answered with `ReadDone` and the read index). Rides
    /// the link (`link`, `seq`), like the two below.
    ReadIndex {
        term: u64,
        link: u64,
        seq: u64,
        token: A::Msg,
    },
    /// Leader → follower: the barrier completes once `index` is applied there.
    ReadDone {
        term: u64,
        link: u64,
        seq: u64,
        index: u64,
        token: A::Msg,
    },
    /// Either way: the application's own message.
    App {
        term: u64,
        link: u64,
        seq: u64,
        msg: A::Msg,
    },
}

/// Indices into [`KINDS`].
pub mod kind {
    pub const REQUEST_VOTE: usize = 0;
    pub const VOTE_REPLY: usize = 1;
    pub const APPEND_ENTRIES: usize = 2;
    pub const APPEND_REPLY: usize = 3;
    pub const PING: usize = 4;
    pub const READ_INDEX: usize = 5;
    pub const READ_DONE: usize = 6;
    pub const APP: usize = 7;
}

/// Raft's message kind names, by [`kind`] index.
pub const KINDS: [&str; 8] = [
    "REQUEST_VOTE",
    "VOTE_REPLY",
    "APPEND_ENTRIES",
    "APPEND_REPLY",
    "RAFT_PING",
    "READ_INDEX",
    "READ_DONE",
    "RAFT_APP",
];

/// Bytes of a header: type, term, frame.
const HEADER_BYTES: u32 = 4 + 8 + 12;

impl<A: App> Wire<A> {
    /// The sender's term.
    pub fn term(&self) -> u64 {
        match self {
            Wire::RequestVote { term, .. }
            | Wire::VoteReply { term, .. }
            | Wire::AppendEntries { term, .. }
            | Wire::AppendReply { term, .. }
            | Wire::Ping { term, .. }
            | Wire::ReadIndex { term, .. }
            | Wire::ReadDone { term, .. }
            | Wire::App { term, .. } => *term,
        }
    }

    /// The (link id, sequence number) of a message that rides a link (`crate::link`).
    pub fn link_seq(&self) -> Option<(u64, u64)> {
        match self {
            Wire::ReadIndex { link, seq, .. }
            | Wire::ReadDone { link, seq, .. }
            | Wire::App { link, seq, .. } => Some((*link, *seq)),
            _ => None,
        }
    }

    /// Its index in [`KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            Wire::RequestVote { .. } => kind::REQUEST_VOTE,
            Wire::VoteReply { .. } => kind::VOTE_REPLY,
            Wire::AppendEntries { .. } => kind::APPEND_ENTRIES,
            Wire::AppendReply { .. } => kind::APPEND_REPLY,
            Wire::Ping { .. } => kind::PING,
            Wire::ReadIndex { .. } => kind::READ_INDEX,
            Wire::ReadDone { .. } => kind::READ_DONE,
            Wire::App { .. } => kind::APP,
        }
    }

    /// Bytes on the wire.
    pub fn size_bytes(&self) -> u32 {
        let body = match self {
            Wire::RequestVote { .. } => 16,
            Wire::VoteReply { .. } => 1,
            Wire::AppendEntries { entries, .. } => entries
                .iter()
                .fold(48u32, |n, s| n.saturating_add(s.size_bytes())),
            Wire::AppendReply { .. } => 33,
            Wire::Ping { payload, .. } => payload.size_bytes(),
            Wire::ReadIndex { token, .. } => token.size_bytes().saturating_add(16),
            Wire::ReadDone { token, .. } => token.size_bytes().saturating_add(24),
            Wire::App { msg, .. } => msg.size_bytes().saturating_add(16),
        };
        HEADER_BYTES.saturating_add(body)
    }
}
