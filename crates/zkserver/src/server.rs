//! [`Server`]: one ZooKeeper server, a `proto::Process`, over any replication engine `E`.
//! It owns the server side ([`Side`]: the applied znode tree and sessions, client
//! connections, watches, and while leading the session tracker and the outstanding changes)
//! and hands every server-to-server input to the engine. The engine calls back through a
//! [`Bridge`] at the point each [`Command`] happens: the bridge first moves the engine's
//! outputs so far into the server's outbox, then reacts, so the world sees one ordered
//! story. What needs the engine again (a forwarded write to propose, a revalidation to
//! answer, the sessions to expire on the leader's tick) is deferred to right after the
//! engine call returns, in order.
//! Invariants: the tree's last zxid is the engine's delivered position; the side's status
//! mirrors the engine's; the tracker holds sessions only while leading; nothing is
//! deferred between inputs.

use datatree::PendingChanges;
use proto::{Ctx, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};
use replication::{Command, Engine, EngineOut, Event, Status, forward};

use crate::ZkApp;
use crate::clients::Clients;
use crate::config::Config;
use crate::msg::{EngineWire, Msg, PeerMsg, Touched};
use crate::note::Note;
use crate::sessions::SessionTracker;
use crate::state::ZkState;
use crate::watches::Watches;

/// The outbox of a server whose engine writes records `R`.
pub type Out<R> = Outbox<Msg, R, Note>;

/// Most deferred items one engine call may leave (each is one incoming message or the tick).
const DEFERRED_MAX: usize = 1024;

/// Work that needs the engine, left by a command for right after the engine call.
#[derive(Debug)]
pub(crate) enum Deferred {
    /// A server's message to the leader (a forwarded write or a revalidation).
    Message { from: ProcessId, msg: PeerMsg },
    /// The established leader's tick: expire sessions.
    LeaderTick,
}

/// The server side of one ZooKeeper server: everything but the engine.
#[derive(Debug)]
pub(crate) struct Side {
    pub(crate) cfg: Config,
    /// The applied znode tree and live sessions.
    pub(crate) state: ZkState,
    pub(crate) clients: Clients,
    pub(crate) watches: Watches,
    /// The last session id this server handed out (ZooKeeper's `nextSessionId`).
    pub(crate) next_session: u64,
    /// The engine's status as last reported.
    pub(crate) status: Status,
    /// Leading: live sessions (started from the applied sessions when established).
    pub(crate) tracker: SessionTracker,
    /// Leading: changes prepared but not applied yet (ZooKeeper's outstanding changes).
    pub(crate) pending: PendingChanges,
    /// The time of the input on the clock session timeouts run on (see `read_clocks`).
    pub(crate) now: Time,
    /// The wall clock at the input (txn timestamps only).
    pub(crate) wall: Time,
    pub(crate) deferred: Vec<Deferred>,
}

impl Side {
    /// The last applied zxid (the engine's delivered position).
    pub(crate) fn applied(&self) -> Zxid {
        self.state.tree().last_zxid()
    }

    /// The engine's status changed: a new leadership starts with an empty tracker and no
    /// outstanding changes; an established one tracks every applied session afresh; leaving
    /// a role closes every client connection.
    fn on_status<R>(&mut self, status: Status, out: &mut Out<R>) {
        let before = self.status;
        assert_ne!(before, status, "a status change that changes nothing");
        self.status = status;
        if status.leading() && !before.leading() {
            self.tracker = SessionTracker::default();
            self.pending = PendingChanges::new();
        }
        if status.leading() && status.serving && !before.serving {
            self.tracker = SessionTracker::starting(self.state.sessions(), self.now);
        }
        if !status.leading() && before.leading() {
            self.tracker = SessionTracker::default();
            self.pending = PendingChanges::new();
        }
        if status.leader.is_none() && before.leader.is_some() {
            self.fail_pending(out);
        }
        assert!(
            status.leading() || self.tracker.len() == 0,
            "a tracker while not leading"
        );
    }
}

/// The engine's view of the server during one engine call.
pub(crate) struct Bridge<'a, R> {
    pub(crate) side: &'a mut Side,
    pub(crate) out: &'a mut Out<R>,
}

impl<W: Into<Msg>, R, RW: From<R>> replication::Host<ZkApp, Outbox<W, R, Event>>
    for Bridge<'_, RW>
{
    fn command(&mut self, cmd: Command<ZkApp>, engine_out: &mut Outbox<W, R, Event>) {
        forward(engine_out, self.out);
        let side = &mut *self.side;
        match cmd {
            Command::Deliver(txn) => {
                assert!(txn.zxid > side.applied(), "a delivery out of order");
                let result = side.state.apply(&txn);
                side.on_applied(&txn, result, self.out);
            }
            Command::Restore(snapshot) => {
                side.state = snapshot.state.clone();
                assert_eq!(side.applied(), snapshot.zxid, "a snapshot of another point");
            }
            Command::Status(status) => side.on_status(status, self.out),
            Command::Message { from, msg } => match msg {
                PeerMsg::Revalidated(r) => {
                    side.finish_connect(r.client, r.conn, r.session, r.timeout_ms, self.out)
                }
                msg => {
                    assert!(side.deferred.len() < DEFERRED_MAX, "too much deferred work");
                    side.deferred.push(Deferred::Message { from, msg });
                }
            },
            Command::Heartbeat { from, payload } => {
                assert!(side.status.leading(), "a heartbeat reached a non-leader");
                assert!(side.cfg.is_server(from), "a heartbeat from a client");
                for &session in payload.0.iter() {
                    side.tracker.touch(session, side.now);
                }
            }
            Command::BarrierDone(token) => {
                if let PeerMsg::Sync(s) = token
                    && s.origin.server == side.cfg.me
                {
                    side.complete_sync(s.origin, s.path, self.out);
                }
            }
            Command::LeaderTick => {
                assert!(side.status.leading() && side.status.serving);
                side.deferred.push(Deferred::LeaderTick);
            }
        }
    }

    fn state(&self) -> &ZkState {
        &self.side.state
    }

    fn heartbeat(&mut self) -> Touched {
        Touched(self.side.clients.take_touched().into_boxed_slice())
    }
}

/// One ZooKeeper server over engine `E`. See the module header.
#[derive(Debug)]
pub struct Server<E: Engine<ZkApp>> {
    engine: E,
    pub(crate) side: Side,
    eout: EngineOut<E, ZkApp>,
    started: bool,
}

impl<E: Engine<ZkApp>> Server<E>
where
    E::Wire: EngineWire,
{
    pub fn new(config: Config, engine: E) -> Server<E> {
        config.validate();
        Server {
            engine,
            side: Side {
                cfg: config,
                state: ZkState::new(),
                clients: Clients::default(),
                watches: Watches::default(),
                next_session: 0,
                status: Status::LOOKING,
                tracker: SessionTracker::default(),
                pending: PendingChanges::new(),
                now: Time::ZERO,
                wall: Time::ZERO,
                deferred: Vec::new(),
            },
            eout: Outbox::default(),
            started: false,
        }
    }

    /// Runs `f` on the engine with this server as its host; the engine's outputs land in
    /// `out` in order.
    pub(crate) fn with_engine<T, R: From<E::Record>>(
        &mut self,
        out: &mut Out<R>,
        f: impl FnOnce(&mut E, &mut Bridge<'_, R>, &mut EngineOut<E, ZkApp>) -> T,
    ) -> T {
        let mut bridge = Bridge {
            side: &mut self.side,
            out,
        };
        let t = f(&mut self.engine, &mut bridge, &mut self.eout);
        forward(&mut self.eout, out);
        t
    }

    /// Reads the clocks at the start of a handler: `now` is the clock session timeouts run
    /// on (monotonic; the wall clock with zk-1366), `wall` the wall clock.
    fn read_clocks(&mut self, ctx: &Ctx) {
        self.side.now = if self.side.cfg.wall_clock_timeouts {
            ctx.wall
        } else {
            ctx.mono
        };
        self.side.wall = ctx.wall;
    }

    /// Does the work the last engine call deferred, in order.
    fn run_deferred<R: From<E::Record>>(&mut self, ctx: &mut Ctx, out: &mut Out<R>) {
        let work = std::mem::take(&mut self.side.deferred);
        assert!(work.len() <= DEFERRED_MAX);
        for item in work {
            match item {
                Deferred::Message { from, msg } => self.on_peer_msg(ctx, from, msg, out),
                Deferred::LeaderTick => self.expire_sessions(ctx, out),
            }
        }
        assert!(
            self.side.deferred.is_empty(),
            "deferred work left more work"
        );
    }

    /// Asserts the invariants of the module header (after every input).
    fn check_invariants(&self) {
        assert!(self.side.deferred.is_empty(), "deferred work left undone");
        assert!(self.eout.is_empty(), "engine outputs left behind");
        assert_eq!(
            self.side.status,
            self.engine.status(),
            "the status mirror is stale"
        );
        assert_eq!(
            self.side.applied(),
            self.engine.delivered(),
            "the tree applied other txns than were delivered"
        );
        assert!(
            self.side.status.leading() || self.side.tracker.len() == 0,
            "a session tracker while not leading"
        );
        assert!(self.side.clients.len() <= self.side.cfg.client_connections_max);
    }

    /// After an engine input: the deferred work, then the invariants.
    fn finish<R: From<E::Record>>(&mut self, ctx: &mut Ctx, out: &mut Out<R>) {
        self.run_deferred(ctx, out);
        self.check_invariants();
    }

    // ---- read-only views for monitors and tests ----------------------------------------

    pub fn config(&self) -> &Config {
        &self.side.cfg
    }
    /// The replication engine.
    pub fn engine(&self) -> &E {
        &self.engine
    }
    /// The applied znode tree and live sessions.
    pub fn app(&self) -> &ZkState {
        &self.side.state
    }
    /// Client connections open on this server.
    pub fn client_connections(&self) -> usize {
        self.side.clients.len()
    }
    /// Watches registered on this server.
    pub fn watch_count(&self) -> usize {
        self.side.watches.len()
    }
    /// Sessions the leader tracks (None unless leading).
    pub fn tracked_sessions(&self) -> Option<usize> {
        self.side.status.leading().then(|| self.side.tracker.len())
    }
    /// Whether this server answers client requests now.
    pub fn is_serving(&self) -> bool {
        self.side.status.serving
    }
    /// The engine's status (role, leader, serving).
    pub fn status(&self) -> Status {
        self.side.status
    }
}

/// The process inputs, with the outputs written into an outbox of any record type the
/// engine's records convert into (the simulator's world holds several engines' records).
impl<E: Engine<ZkApp>> Server<E>
where
    E::Wire: EngineWire,
{
    /// A reset connection: a client's drops its connections here; a server's is the
    /// engine's (see its `on_disconnect`).
    pub fn handle_disconnect<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        peer: ProcessId,
        out: &mut Out<R>,
    ) {
        self.read_clocks(ctx);
        if !self.side.cfg.is_server(peer) {
            self.side.on_client_reset(peer);
        } else {
            self.with_engine(out, |e, b, eo| e.on_disconnect(ctx, peer, b, eo));
            self.run_deferred(ctx, out);
        }
        self.check_invariants();
    }

    pub fn handle_start<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        disk: Recovered<'_, E::Record>,
        out: &mut Out<R>,
    ) {
        assert!(!self.started, "on_start called twice on one incarnation");
        assert_eq!(ctx.me, self.side.cfg.me, "config.me is not the kernel's id");
        self.started = true;
        self.read_clocks(ctx);
        // ZooKeeper's `initializeNextSession`: the server id in the top byte, then a
        // per-incarnation random base, so ids never repeat across servers or restarts.
        let me_byte = u64::from(self.side.cfg.me.0) & 0xff;
        self.side.next_session = (me_byte << 56) | ((ctx.rng.next_u64() >> 24) << 16);
        self.with_engine(out, |e, b, eo| e.on_start(ctx, disk, b, eo));
        self.finish(ctx, out);
    }

    pub fn handle_message<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: Msg,
        out: &mut Out<R>,
    ) {
        if !self.started {
            return;
        }
        self.read_clocks(ctx);
        match E::Wire::from_msg(msg) {
            Ok(wire) => {
                self.with_engine(out, |e, b, eo| e.on_message(ctx, from, wire, b, eo));
            }
            Err(Msg::FromClient(m)) => self.on_client_msg(ctx, from, *m, out),
            Err(_) => {}
        }
        self.finish(ctx, out);
    }

    pub fn handle_timer<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        timer: TimerId,
        out: &mut Out<R>,
    ) {
        if !self.started {
            return;
        }
        self.read_clocks(ctx);
        self.with_engine(out, |e, b, eo| e.on_timer(ctx, timer, b, eo));
        self.finish(ctx, out);
    }

    pub fn handle_disk_done<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        write: WriteId,
        out: &mut Out<R>,
    ) {
        if !self.started {
            return;
        }
        self.read_clocks(ctx);
        self.with_engine(out, |e, b, eo| e.on_disk_done(ctx, write, b, eo));
        self.finish(ctx, out);
    }
}

impl<E: Engine<ZkApp>> Process for Server<E>
where
    E::Wire: EngineWire,
{
    type Msg = Msg;
    type Record = E::Record;
    type Note = Note;

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out<E::Record>) {
        self.handle_disconnect(ctx, peer, out)
    }
    fn on_start(
        &mut self,
        ctx: &mut Ctx,
        disk: Recovered<'_, E::Record>,
        out: &mut Out<E::Record>,
    ) {
        self.handle_start(ctx, disk, out)
    }
    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out<E::Record>) {
        self.handle_message(ctx, from, msg, out)
    }
    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out<E::Record>) {
        self.handle_timer(ctx, timer, out)
    }
    fn on_disk_done(&mut self, ctx: &mut Ctx, write: WriteId, out: &mut Out<E::Record>) {
        self.handle_disk_done(ctx, write, out)
    }
}
