//! Multi-Paxos's wire: Phase 1 (Prepare, Promise), Phase 2 (Accept, Accepted), the refusal
//! (Nack), the distinguished proposer's heartbeat and its answer, catch-up of chosen
//! values (Learn), and the traffic that rides the leader–follower link (barriers and their
//! answers, the application's own messages), with kind names and sizes.
//! Invariants: `KINDS[m.kind()]` names `m`; every message carries the ballot it is about;
//! a Learn carries at most `LEARN_BATCH_MAX` values.

use replication::{App, Payload};

use crate::log::{Report, Value};

/// Every message Multi-Paxos sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire<A: App> {
    /// Proposer → acceptor (Phase 1a): promise `ballot`, and report every slot from
    /// `from_slot` on (the proposer knows every slot before it chosen).
    Prepare { ballot: u64, from_slot: u64 },
    /// Acceptor → proposer (Phase 1b), sent once the promise is durable.
    Promise {
        ballot: u64,
        from_slot: u64,
        reports: Vec<Report<A>>,
    },
    /// Acceptor → proposer: `ballot` is refused, the acceptor promised `promised`.
    Nack { ballot: u64, promised: u64 },
    /// Proposer → acceptor (Phase 2a): accept `value` at `slot`. Every slot through
    /// `chosen` is chosen; the leader serves from slot `serving_from` on (0: not yet).
    Accept {
        ballot: u64,
        slot: u64,
        value: Value<A>,
        chosen: u64,
        serving_from: u64,
    },
    /// Acceptor → proposer (Phase 2b), sent once the acceptance is durable.
    Accepted { ballot: u64, slot: u64 },
    /// Leader → follower every heartbeat, with the chosen prefix, where it serves from,
    /// and the follower's link as the leader knows it (id, messages taken).
    Heartbeat {
        ballot: u64,
        chosen: u64,
        serving_from: u64,
        link: u64,
        acked: u64,
    },
    /// Follower → leader, per heartbeat: its chosen prefix (the leader sends what it
    /// lacks), the application's heartbeat payload, and its link (id, messages taken).
    HeartbeatReply {
        ballot: u64,
        chosen: u64,
        payload: A::Heartbeat,
        link: u64,
        acked: u64,
    },
    /// Leader → follower: the values chosen at `from_slot`, `from_slot + 1`, ….
    Learn {
        ballot: u64,
        from_slot: u64,
        values: Vec<Value<A>>,
    },
    /// Follower → leader, on the link: a barrier.
    Barrier {
        ballot: u64,
        link: u64,
        seq: u64,
        token: A::Msg,
    },
    /// Leader → follower, on the link: the barrier's no-op is chosen at `slot`; it
    /// completes once the follower delivered through `slot`.
    BarrierDone {
        ballot: u64,
        link: u64,
        seq: u64,
        slot: u64,
        token: A::Msg,
    },
    /// Either way, on the link: the application's own message.
    App {
        ballot: u64,
        link: u64,
        seq: u64,
        msg: A::Msg,
    },
}

/// Indices into [`KINDS`].
pub mod kind {
    pub const PREPARE: usize = 0;
    pub const PROMISE: usize = 1;
    pub const NACK: usize = 2;
    pub const ACCEPT: usize = 3;
    pub const ACCEPTED: usize = 4;
    pub const HEARTBEAT: usize = 5;
    pub const HEARTBEAT_REPLY: usize = 6;
    pub const LEARN: usize = 7;
    pub const BARRIER: usize = 8;
    pub const BARRIER_DONE: usize = 9;
    pub const APP: usize = 10;
}

/// Multi-Paxos's message kind names, by [`kind`] index.
pub const KINDS: [&str; 11] = [
    "PREPARE",
    "PROMISE",
    "NACK",
    "ACCEPT",
    "ACCEPTED",
    "PAXOS_HEARTBEAT",
    "PAXOS_HEARTBEAT_REPLY",
    "LEARN",
    "PAXOS_BARRIER",
    "PAXOS_BARRIER_DONE",
    "PAXOS_APP",
];

/// Bytes of a header: type, ballot, frame.
const HEADER_BYTES: u32 = 4 + 8 + 12;

impl<A: App> Wire<A> {
    /// The ballot the message is about.
    pub fn ballot(&self) -> u64 {
        match self {
            Wire::Prepare { ballot, .. }
            | Wire::Promise { ballot, .. }
            | Wire::Nack { ballot, .. }
            | Wire::Accept { ballot, .. }
            | Wire::Accepted { ballot, .. }
            | Wire::Heartbeat { ballot, .. }
            | Wire::HeartbeatReply { ballot, .. }
            | Wire::Learn { ballot, .. }
            | Wire::Barrier { ballot, .. }
            | Wire::BarrierDone { ballot, .. }
            | Wire::App { ballot, .. } => *ballot,
        }
    }

    /// The (link id, sequence number) of a message that rides a link.
    pub fn link_seq(&self) -> Option<(u64, u64)> {
        match self {
            Wire::Barrier { link, seq, .. }
            | Wire::BarrierDone { link, seq, .. }
            | Wire::App { link, seq, .. } => Some((*link, *seq)),
            _ => None,
        }
    }

    /// Its index in [`KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            Wire::Prepare { .. } => kind::PREPARE,
            Wire::Promise { .. } => kind::PROMISE,
            Wire::Nack { .. } => kind::NACK,
            Wire::Accept { .. } => kind::ACCEPT,
            Wire::Accepted { .. } => kind::ACCEPTED,
            Wire::Heartbeat { .. } => kind::HEARTBEAT,
            Wire::HeartbeatReply { .. } => kind::HEARTBEAT_REPLY,
            Wire::Learn { .. } => kind::LEARN,
            Wire::Barrier { .. } => kind::BARRIER,
            Wire::BarrierDone { .. } => kind::BARRIER_DONE,
            Wire::App { .. } => kind::APP,
        }
    }

    /// Bytes on the wire.
    pub fn size_bytes(&self) -> u32 {
        let body = match self {
            Wire::Prepare { .. } => 8,
            Wire::Promise { reports, .. } => reports
                .iter()
                .fold(16u32, |n, r| n.saturating_add(r.value.size_bytes() + 17)),
            Wire::Nack { .. } => 8,
            Wire::Accept { value, .. } => value.size_bytes().saturating_add(24),
            Wire::Accepted { .. } => 8,
            Wire::Heartbeat { .. } => 40,
            Wire::HeartbeatReply { payload, .. } => payload.size_bytes().saturating_add(32),
            Wire::Learn { values, .. } => values
                .iter()
                .fold(8u32, |n, v| n.saturating_add(v.size_bytes())),
            Wire::Barrier { token, .. } => token.size_bytes().saturating_add(16),
            Wire::BarrierDone { token, .. } => token.size_bytes().saturating_add(24),
            Wire::App { msg, .. } => msg.size_bytes().saturating_add(16),
        };
        HEADER_BYTES.saturating_add(body)
    }
}
