//! [`Solo`]: the trivial replication engine — one node, in memory, leader of epoch 1 from
//! its start, every proposal committed and delivered on the spot, every barrier done at
//! once. It has no peers and writes nothing to disk (a restart loses everything). The
//! ZooKeeper server is tested on it: whatever the server does right on ZAB it must do
//! right here too.
//! Invariants: positions are `(1, 1), (1, 2), …` in proposal order; delivered == proposed
//! after every call; the status is serving leader from `on_start` on.

use std::marker::PhantomData;
use std::sync::Arc;

use proto::{Ctx, Epoch, ProcessId, Recovered, TimerId, WriteId, Zxid};

use crate::{App, Command, Engine, EngineOut, Entry, Event, Host, Phase, ServerState, Status};

/// See the module header. `R` is the record type of the world it runs in (never written).
pub struct Solo<A, R> {
    me: ProcessId,
    started: bool,
    delivered: Zxid,
    _types: PhantomData<fn() -> (A, R)>,
}

impl<A, R> std::fmt::Debug for Solo<A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Solo")
            .field("me", &self.me)
            .field("delivered", &self.delivered)
            .finish()
    }
}

/// Solo's messages: it has no peers, so none exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoWire {}

impl<A: App, R> Solo<A, R> {
    /// The position after the last delivered one: `(1, 1)` first.
    fn next(&self) -> Option<Zxid> {
        if self.delivered == Zxid::ZERO {
            return Some(Zxid::new(EPOCH, 1));
        }
        assert_eq!(self.delivered.epoch(), EPOCH, "a position outside epoch 1");
        self.delivered.next_in_epoch()
    }

    pub fn new(me: ProcessId) -> Solo<A, R> {
        Solo {
            me,
            started: false,
            delivered: Zxid::ZERO,
            _types: PhantomData,
        }
    }
}

const EPOCH: Epoch = Epoch(1);

impl<A: App, R: Clone + std::fmt::Debug> Engine<A> for Solo<A, R> {
    type Wire = NoWire;
    type Record = R;

    fn on_start(
        &mut self,
        ctx: &mut Ctx,
        _disk: Recovered<'_, R>,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    ) {
        assert!(!self.started, "on_start called twice on one incarnation");
        assert_eq!(ctx.me, self.me, "started under another id");
        self.started = true;
        out.note(Event::Reset {
            upto: Zxid::ZERO,
            history: 0,
        });
        out.note(Event::State {
            state: ServerState::Leading,
            epoch: EPOCH,
        });
        out.note(Event::Established { epoch: EPOCH });
        out.note(Event::Phase(Phase::Broadcast));
        host.command(Command::Status(self.status()), out);
    }

    fn on_message(
        &mut self,
        _ctx: &mut Ctx,
        _from: ProcessId,
        msg: NoWire,
        _host: &mut dyn Host<A, EngineOut<Self, A>>,
        _out: &mut EngineOut<Self, A>,
    ) {
        match msg {}
    }

    fn on_timer(
        &mut self,
        _ctx: &mut Ctx,
        _timer: TimerId,
        _host: &mut dyn Host<A, EngineOut<Self, A>>,
        _out: &mut EngineOut<Self, A>,
    ) {
    }

    fn on_disk_done(
        &mut self,
        _ctx: &mut Ctx,
        _write: WriteId,
        _host: &mut dyn Host<A, EngineOut<Self, A>>,
        _out: &mut EngineOut<Self, A>,
    ) {
    }

    fn on_disconnect(
        &mut self,
        _ctx: &mut Ctx,
        _peer: ProcessId,
        _host: &mut dyn Host<A, EngineOut<Self, A>>,
        _out: &mut EngineOut<Self, A>,
    ) {
    }

    fn next_position(
        &mut self,
        _ctx: &mut Ctx,
        _host: &mut dyn Host<A, EngineOut<Self, A>>,
        _out: &mut EngineOut<Self, A>,
    ) -> Option<Zxid> {
        assert!(self.started, "a proposal before the start");
        self.next()
    }

    fn propose(
        &mut self,
        entry: A::Entry,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    ) {
        let zxid = entry.zxid();
        assert_eq!(
            Some(zxid),
            self.next(),
            "not the position next_position gave"
        );
        assert!(entry.digest_ok(), "an entry whose digest does not match it");
        let digest = entry.digest();
        out.note(Event::Proposed { zxid, digest });
        out.note(Event::Committed { zxid });
        out.note(Event::Delivered { zxid, digest });
        self.delivered = zxid;
        host.command(Command::Deliver(Arc::new(entry)), out);
    }

    fn barrier(
        &mut self,
        token: A::Msg,
        host: &mut dyn Host<A, EngineOut<Self, A>>,
        out: &mut EngineOut<Self, A>,
    ) -> bool {
        host.command(Command::BarrierDone(token), out);
        true
    }

    fn send_to_leader(&mut self, _msg: A::Msg, _out: &mut EngineOut<Self, A>) -> bool {
        false
    }

    fn send_to_peer(
        &mut self,
        _to: ProcessId,
        _msg: A::Msg,
        _out: &mut EngineOut<Self, A>,
    ) -> bool {
        false
    }

    fn peer_serving(&self, _peer: ProcessId) -> bool {
        false
    }

    fn status(&self) -> Status {
        if !self.started {
            return Status::LOOKING;
        }
        Status {
            state: ServerState::Leading,
            leader: Some(self.me),
            serving: true,
        }
    }

    fn delivered(&self) -> Zxid {
        self.delivered
    }
}
