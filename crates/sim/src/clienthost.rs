//! Hosts one `client::Session` inside a simulated process: carries out the session's sends
//! and timer as kernel outputs (host `id`'s timer is `SESSION_TIMER_BASE + id`) and hands
//! everything else
//! (completions, watch events, state changes) back to the application on top — a workload
//! generator, a recipe, a script driver. It also renews a session that expired or closed.
//! Connection numbers on the wire are `id << 48 | generation << 32 | the session's own`,
//! so every session a process ever runs (several hosts, renewals) has its own connections.
//! Every invocation, completion, watch event and session end is also reported as a
//! `Note::Client` for the run's history (`call` = the wire base | xid).
//! Invariants: every `Send`/`SetTimer` action reaches the outbox in order; the application
//! sees every other action exactly once, in order; a message for another host or an
//! earlier generation is not given to the session.

use client::{Action, ClientConfig, Session, SessionState};
use proto::history::{ClientNote, SessionEnd};
use proto::zk::Op;
use proto::{Ctx, Outbox, ProcessId, TimerId};
use zkserver::{Msg, Note};

/// Host `id`'s session timer is `TimerId(SESSION_TIMER_BASE + id)`; applications use ids
/// below it.
pub const SESSION_TIMER_BASE: u64 = 1 << 32;

/// Any outbox of the world (a client writes no records, so any record type will do).
type Out<R> = Outbox<Msg, R, Note>;

/// How a host's sessions are set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    pub reconnect_delay_ms: u64,
    pub max_pending: usize,
}

/// Most hosts one process may run, and most sessions one host may start.
pub const HOSTS_MAX: u32 = 1 << 16;
pub const GENERATIONS_MAX: u64 = 1 << 16;
const SESSION_CONN_MAX: u64 = 1 << 32;

pub struct ClientHost {
    config: HostConfig,
    /// This host's number within its process.
    id: u32,
    session: Session,
    /// Sessions started by this host (1 after `start`, more after renewals).
    pub sessions_started: u64,
}

impl ClientHost {
    /// Host `id` of its process; its first session tries a random server first.
    pub fn new(ctx: &mut Ctx, config: HostConfig, id: u32) -> ClientHost {
        let first = ctx.below(config.servers.len() as u64) as usize;
        ClientHost::with_first_server(config, id, first)
    }

    /// Host `id` whose first session tries `servers[first]` first.
    pub fn with_first_server(config: HostConfig, id: u32, first: usize) -> ClientHost {
        assert!(id < HOSTS_MAX);
        let session = Session::new(Self::session_config(first, &config));
        ClientHost {
            config,
            id,
            session,
            sessions_started: 0,
        }
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// This host's session timer.
    pub fn timer(&self) -> TimerId {
        TimerId(SESSION_TIMER_BASE + u64::from(self.id))
    }

    /// The host whose session timer `timer` is, if it is one.
    pub fn id_of_timer(timer: TimerId) -> Option<u32> {
        let id = timer.0.checked_sub(SESSION_TIMER_BASE)?;
        u32::try_from(id).ok().filter(|id| *id < HOSTS_MAX)
    }

    /// The host a wire connection number belongs to.
    pub fn id_of_conn(conn: u64) -> u32 {
        (conn >> 48) as u32
    }

    fn wire_base(&self) -> u64 {
        assert!(self.sessions_started < GENERATIONS_MAX, "too many sessions");
        (u64::from(self.id) << 48) | (self.sessions_started << 32)
    }

    fn session_config(first_server: usize, c: &HostConfig) -> ClientConfig {
        assert!(!c.servers.is_empty());
        let config = ClientConfig {
            servers: c.servers.clone(),
            first_server,
            session_timeout_ms: c.session_timeout_ms,
            reconnect_delay_ms: c.reconnect_delay_ms,
            pending_max: c.max_pending,
        };
        config.validate();
        config
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Starts the current session.
    pub fn start<R>(&mut self, ctx: &mut Ctx, out: &mut Out<R>) -> Vec<Action> {
        self.sessions_started += 1;
        let mut actions = Vec::new();
        self.session.start(ctx.mono, &mut actions);
        self.dispatch(actions, out)
    }

    /// Replaces a dead (expired or closed) session by a new one and starts it.
    pub fn renew<R>(&mut self, ctx: &mut Ctx, out: &mut Out<R>) -> Vec<Action> {
        assert!(!self.session.is_alive(), "renewing a live session");
        let first = ctx.below(self.config.servers.len() as u64) as usize;
        self.session = Session::new(Self::session_config(first, &self.config));
        self.start(ctx, out)
    }

    /// Gives up the current session without closing it (the client failed): a fresh
    /// session starts; the old one's messages are ignored and the servers expire it.
    pub fn abandon<R>(&mut self, ctx: &mut Ctx, out: &mut Out<R>) -> Vec<Action> {
        let first = ctx.below(self.config.servers.len() as u64) as usize;
        self.session = Session::new(Self::session_config(first, &self.config));
        self.start(ctx, out)
    }

    pub fn submit<R>(&mut self, ctx: &mut Ctx, op: Op, out: &mut Out<R>) -> (u64, Vec<Action>) {
        let mut actions = Vec::new();
        let xid = self.session.submit(ctx.mono, op.clone(), &mut actions);
        self.note_invoke(xid, op, out);
        (xid, self.dispatch(actions, out))
    }

    pub fn close<R>(&mut self, ctx: &mut Ctx, out: &mut Out<R>) -> (u64, Vec<Action>) {
        let mut actions = Vec::new();
        let xid = self.session.close(ctx.mono, &mut actions);
        self.note_invoke(xid, Op::CloseSession, out);
        (xid, self.dispatch(actions, out))
    }

    /// A message for the session; None if it is not a server's message to clients.
    pub fn on_message<R>(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: Msg,
        out: &mut Out<R>,
    ) -> Vec<Action> {
        let Msg::ToClient(m) = msg else {
            return Vec::new();
        };
        let base = self.wire_base();
        let conn = m.conn();
        if conn & !(SESSION_CONN_MAX - 1) != base {
            return Vec::new(); // another host's, or an earlier session's
        }
        let mut actions = Vec::new();
        let local = (*m).with_conn(conn - base);
        self.session.on_message(ctx.mono, from, local, &mut actions);
        self.dispatch(actions, out)
    }

    pub fn on_timer<R>(&mut self, ctx: &mut Ctx, out: &mut Out<R>) -> Vec<Action> {
        let mut actions = Vec::new();
        self.session.on_timer(ctx.mono, &mut actions);
        self.dispatch(actions, out)
    }

    pub fn on_disconnect<R>(
        &mut self,
        ctx: &mut Ctx,
        server: ProcessId,
        out: &mut Out<R>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        self.session.on_disconnect(ctx.mono, server, &mut actions);
        self.dispatch(actions, out)
    }

    fn note_invoke<R>(&self, xid: u64, op: Op, out: &mut Out<R>) {
        assert!(xid < SESSION_CONN_MAX, "xids fit");
        let session = self.session.session_id().unwrap_or_default();
        let call = self.wire_base() | xid;
        out.note(Note::client(ClientNote::Invoke {
            call,
            session,
            xid,
            op,
        }));
    }

    /// Reports an action the application sees to the history.
    fn note<R>(&self, action: &Action, out: &mut Out<R>) {
        let session = self.session.session_id().unwrap_or_default();
        let note = match action {
            Action::Completed {
                xid, result, zxid, ..
            } => ClientNote::Complete {
                call: self.wire_base() | xid,
                result: result.clone(),
                zxid: *zxid,
            },
            Action::Watch(watch) => ClientNote::Watch {
                session,
                watch: watch.clone(),
            },
            Action::State(SessionState::Expired) => ClientNote::SessionEnd {
                session,
                end: SessionEnd::Expired,
            },
            Action::State(SessionState::Closed) => ClientNote::SessionEnd {
                session,
                end: SessionEnd::Closed,
            },
            _ => return,
        };
        out.note(Note::client(note));
    }

    /// Carries out sends and the timer; returns what the application must see.
    fn dispatch<R>(&self, actions: Vec<Action>, out: &mut Out<R>) -> Vec<Action> {
        let base = self.wire_base();
        let mut rest = Vec::new();
        for a in actions {
            match a {
                Action::Send { to, msg } => {
                    let conn = msg.conn();
                    assert!(conn < SESSION_CONN_MAX, "session connection numbers fit");
                    out.send(to, Msg::from_client(msg.with_conn(base | conn)));
                }
                Action::SetTimer { at } => out.set_timer(self.timer(), at),
                other => {
                    self.note(&other, out);
                    rest.push(other);
                }
            }
        }
        rest
    }
}
