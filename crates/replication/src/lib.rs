//! The replication engine interface (sans-IO, outputs as data): what an engine such as ZAB,
//! Raft or Multi-Paxos offers the ZooKeeper server above it, and what it hands that server.
//!
//! - [`App`] names the application's types; the engine treats them as opaque: an
//!   [`Entry`] (one log entry, e.g. a ZooKeeper txn; it knows its position and digest), a
//!   [`State`] (the applied state a snapshot holds), a [`Payload`] of application traffic
//!   between servers that rides the engine's connections (forwarded requests, session
//!   revalidation, barrier tokens), and a heartbeat payload (the sessions a learner's
//!   clients were heard from).
//! - An engine ([`Engine`]) takes the process inputs (start/recover, peer message, timer,
//!   fsync done, disconnect) and the server's requests (`next_position` + `propose`,
//!   `barrier`, `send_to_leader` / `send_to_peer`), and writes two kinds of outputs, in one
//!   order: kernel outputs (send, append, fsync, timers, [`Event`] notes) into its outbox,
//!   and [`Command`]s (deliver, restore, status, message, heartbeat, barrier done, tick) to
//!   its [`Host`] at the point it produces them — so the server's reaction lands in the
//!   outbox exactly where the engine's story puts it. The host moves the engine's outputs so
//!   far into the server's outbox first ([`forward`]).
//! - [`Event`] is the one replication event vocabulary the monitors read (proposed,
//!   committed, delivered, reset, truncated, plus role, phase, election and sync events,
//!   named after ZAB's; Raft's terms and Paxos's ballots map onto epochs).
//! - [`Inspect`]: the read-only view of an engine its observers read.
//! - [`link`], [`fsync`] and [`voters`]: pieces engines share (a numbered, acknowledged
//!   link for the application's messages; fsync batching with waiters; the voting
//!   membership). [`testkit`]: the hand-driven cluster engines' tests share.
//! - [`solo::Solo`]: a trivial in-memory single-node engine (leader at once, every proposal
//!   committed on the spot), which the ZooKeeper server is tested on.
//!
//! Positions are zxids: (epoch, counter), totally ordered; an engine delivers each entry
//! once per incarnation in strictly increasing position order.

pub mod fsync;
mod inspect;
pub mod link;
pub mod solo;
pub mod testkit;
pub mod voters;

pub use inspect::Inspect;

use std::fmt::Debug;
use std::sync::Arc;

use proto::{Ctx, Epoch, Outbox, Output, ProcessId, Recovered, TimerId, WriteId, Zxid, hash_words};
use serde::{Deserialize, Serialize};

/// One log entry, opaque to the engine but for its position, digest and size.
pub trait Entry: Clone + Debug + Eq {
    /// The position the entry was proposed at.
    fn zxid(&self) -> Zxid;
    /// A stable hash of the entry (its position included).
    fn digest(&self) -> u64;
    /// Whether the stored digest matches the content (recovery checks every record).
    fn digest_ok(&self) -> bool;
    /// Bytes on the wire and on disk.
    fn size_bytes(&self) -> u32;
}

/// The applied state a snapshot carries.
pub trait State: Clone + Debug + Default + Eq {
    /// Bytes a snapshot of it takes on the wire and on disk.
    fn size_bytes(&self) -> usize;
}

/// Application traffic between servers, carried by the engine.
pub trait Payload: Clone + Debug + Eq {
    /// Bytes of the payload (the engine adds its own framing).
    fn size_bytes(&self) -> u32;
}

/// The application's types as the engine sees them (implemented by a marker type, which
/// derives the plain traits so messages and records generic over it can derive them too).
pub trait App: 'static + Clone + Debug + PartialEq + Eq {
    type Entry: Entry;
    type State: State;
    /// Server-to-server messages (and barrier tokens).
    type Msg: Payload;
    /// What a learner's heartbeat carries to the leader (`Default`: nothing).
    type Heartbeat: Payload + Default;
}

/// The applied state after every entry up to and including `zxid`, with the cumulative
/// history digest of those entries (so a server that loads it keeps the history chain).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot<S> {
    pub zxid: Zxid,
    pub history: u64,
    pub state: S,
}

impl<S: State> Snapshot<S> {
    /// The empty state before any entry.
    pub fn genesis() -> Snapshot<S> {
        Snapshot {
            zxid: Zxid::ZERO,
            history: 0,
            state: S::default(),
        }
    }

    /// Bytes this snapshot occupies on the wire / disk.
    pub fn size_bytes(&self) -> u32 {
        let bytes = 32 + self.state.size_bytes();
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

/// Extends a cumulative history digest by one entry: `h_k = hash(h_{k-1}, zxid_k, digest_k)`,
/// `h_0 = 0`. Logs, applied histories and snapshots are compared by it.
pub fn chain_digest(prev: u64, zxid: Zxid, digest: u64) -> u64 {
    hash_words(&[prev, zxid.0, digest])
}

/// A server's role in its ensemble (ZooKeeper's server states; a Raft candidate or a
/// Paxos proposer without a ballot is `Looking`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServerState {
    Looking,
    Following,
    Leading,
    Observing,
}

/// Where a server stands in establishing a leader (ZAB's phases; other engines map onto
/// them: election, discovery of the newest history, synchronization, broadcast).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    Election,
    Discovery,
    Synchronization,
    Broadcast,
}

/// The replication event vocabulary: what an engine reports for the monitors. Events never
/// influence a run.
/// Invariants: `Delivered` events of one incarnation come in strictly increasing zxid order
/// and only for committed entries; after a `Reset` the next `Delivered` continues from
/// `upto`; the history digest of the delivered entries chains by [`chain_digest`] from
/// `Reset.history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// The server state changed; `epoch` is the server's current (durable) epoch.
    State { state: ServerState, epoch: Epoch },
    /// The phase changed.
    Phase(Phase),
    /// Leader election decided.
    ElectionDone {
        leader: ProcessId,
        election_epoch: u64,
    },
    /// This leader got a quorum for `epoch` and leads it.
    Established { epoch: Epoch },
    /// This leader issued a new entry.
    Proposed { zxid: Zxid, digest: u64 },
    /// This leader knows `zxid` committed (a quorum has it).
    Committed { zxid: Zxid },
    /// This server delivered a committed entry to its application.
    Delivered { zxid: Zxid, digest: u64 },
    /// This server's applied state was replaced: restart (the recovered snapshot, genesis
    /// `0, 0` without one), a snapshot from the leader, or a rollback.
    Reset { upto: Zxid, history: u64 },
    /// Log entries with zxid > `after` were cut; `removed` lists them in order.
    Truncated { after: Zxid, removed: Box<[Zxid]> },
    /// This learner finished synchronizing with `leader` in `epoch`.
    Synced {
        leader: ProcessId,
        epoch: Epoch,
        last_zxid: Zxid,
    },
}

/// What the server above needs to know of the engine's role.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub state: ServerState,
    /// The leader this server follows, observes or is (None while looking).
    pub leader: Option<ProcessId>,
    /// Whether this server serves clients (the broadcast phase).
    pub serving: bool,
}

impl Status {
    pub const LOOKING: Status = Status {
        state: ServerState::Looking,
        leader: None,
        serving: false,
    };

    pub fn leading(&self) -> bool {
        self.state == ServerState::Leading
    }

    pub fn learning(&self) -> bool {
        matches!(self.state, ServerState::Following | ServerState::Observing)
    }

    /// Asserts the status is consistent: a leader exactly when not looking; serving only
    /// then.
    pub fn check(&self) {
        assert_eq!(
            self.leader.is_some(),
            self.state != ServerState::Looking,
            "a leader exactly when not looking: {self:?}"
        );
        assert!(
            !self.serving || self.leader.is_some(),
            "serving while looking"
        );
    }
}

/// What an engine hands its server, at the point it happens.
#[derive(Debug)]
pub enum Command<A: App> {
    /// Apply this committed entry (each once per incarnation, in position order).
    Deliver(Arc<A::Entry>),
    /// The applied state is now this snapshot (recovery, a snapshot from the leader, a
    /// rollback).
    Restore(Arc<Snapshot<A::State>>),
    /// The role changed (see [`Status`]).
    Status(Status),
    /// An application message from another server.
    Message { from: ProcessId, msg: A::Msg },
    /// A learner's heartbeat payload reached this leader.
    Heartbeat {
        from: ProcessId,
        payload: A::Heartbeat,
    },
    /// A barrier this server asked for completed: every entry proposed before it is
    /// delivered here.
    BarrierDone(A::Msg),
    /// The established leader's periodic tick (the server expires sessions on it).
    LeaderTick,
}

/// The server side of an engine call.
pub trait Host<A: App, O> {
    /// Handles `cmd`. `engine_out` holds the engine's outputs since the last command: the
    /// host moves them into its own outbox (with [`forward`]) before it writes anything.
    fn command(&mut self, cmd: Command<A>, engine_out: &mut O);
    /// The applied state (for snapshots).
    fn state(&self) -> &A::State;
    /// The payload of a learner heartbeat that is about to go out.
    fn heartbeat(&mut self) -> A::Heartbeat;
}

/// The outbox an engine `E` writes to.
pub type EngineOut<E, A> = Outbox<<E as Engine<A>>::Wire, <E as Engine<A>>::Record, Event>;

/// A replication engine under a server. Every input handler may call the host; the server
/// requests (`next_position`, `propose`, `barrier`, `send_*`) are made between inputs or
/// right after one returned.
pub trait Engine<A: App>: Debug {
    /// Its messages between servers.
    type Wire: Clone + Debug;
    /// What it writes to disk.
    type Record: Clone + Debug;

    fn on_start(
        &mut self,
        ctx: &mut Ctx,
        disk: Recovered<'_, Self::Record>,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    );
    fn on_message(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: Self::Wire,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    );
    fn on_timer(
        &mut self,
        ctx: &mut Ctx,
        timer: TimerId,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    );
    fn on_disk_done(
        &mut self,
        ctx: &mut Ctx,
        write: WriteId,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    );
    fn on_disconnect(
        &mut self,
        ctx: &mut Ctx,
        peer: ProcessId,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    );
    /// Leader: the position of the next proposal, or None when it cannot take one now (too
    /// many outstanding; or it stepped down, which the host heard as a status change).
    fn next_position(
        &mut self,
        ctx: &mut Ctx,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    ) -> Option<Zxid>;
    /// Leader: replicates `entry`, built for the position `next_position` gave.
    fn propose(
        &mut self,
        entry: A::Entry,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    );
    /// Serving: `BarrierDone(token)` once every entry the leader proposed before the
    /// barrier reached it is delivered here (ZooKeeper's sync, Raft's read index). False:
    /// not serving, or too many barriers pending (nothing will come back).
    fn barrier(
        &mut self,
        token: A::Msg,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    ) -> bool;
    /// Learner: sends `msg` to the leader (False: not serving; dropped).
    fn send_to_leader(&mut self, msg: A::Msg, out: &mut EngineOut<Self, A>) -> bool;
    /// Leader: sends `msg` to a learner connected to it (False: not connected; dropped).
    fn send_to_peer(&mut self, to: ProcessId, msg: A::Msg, out: &mut EngineOut<Self, A>) -> bool;
    /// Leader: whether learner `peer` is connected and serving.
    fn peer_serving(&self, peer: ProcessId) -> bool;
    fn status(&self) -> Status;
    /// The last position delivered to the application.
    fn delivered(&self) -> Zxid;
}

/// Moves every output of `from` (an engine's outbox) into `to` (its server's), in order.
pub fn forward<W: Into<M>, R: Into<RM>, M, RM, N: From<Event>>(
    from: &mut Outbox<W, R, Event>,
    to: &mut Outbox<M, RM, N>,
) {
    for o in from.drain() {
        match o {
            Output::Send { to: peer, msg } => to.send(peer, msg.into()),
            Output::SetTimer { timer, at } => to.set_timer(timer, at),
            Output::SetWallTimer { timer, at } => to.set_wall_timer(timer, at),
            Output::CancelTimer { timer } => to.cancel_timer(timer),
            Output::Append { record } => to.append(record.into()),
            Output::Fsync { write } => to.fsync(write),
            Output::Note(e) => to.note(N::from(e)),
        }
    }
    assert!(from.is_empty());
}
