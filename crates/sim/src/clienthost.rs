//! Hosts one `client::Session` inside a simulated process: carries out the session's sends
//! and timer as kernel outputs (timer [`SESSION_TIMER`]) and hands everything else
//! (completions, watch events, state changes) back to the application on top — a workload
//! generator, a recipe, a script driver. It also renews a session that expired or closed.
//! Invariants: every `Send`/`SetTimer` action reaches the outbox in order; the application
//! sees every other action exactly once, in order.

use client::{Action, ClientConfig, Session};
use proto::zk::Op;
use proto::{Ctx, Outbox, ProcessId, TimerId};
use zab::{Msg, Note, Record};

/// The timer id the session's single timer uses; applications use other ids.
pub const SESSION_TIMER: TimerId = TimerId(101);

type Out = Outbox<Msg, Record, Note>;

/// How a host's sessions are set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    pub reconnect_delay_ms: u64,
    pub max_pending: usize,
}

pub struct ClientHost {
    config: HostConfig,
    session: Session,
    /// Sessions started by this host (1 after `start`, more after renewals).
    pub sessions_started: u64,
}

impl ClientHost {
    /// A host whose first session tries a random server first.
    pub fn new(ctx: &mut Ctx, config: HostConfig) -> ClientHost {
        let session = Session::new(Self::session_config(ctx, &config));
        ClientHost {
            config,
            session,
            sessions_started: 0,
        }
    }

    fn session_config(ctx: &mut Ctx, c: &HostConfig) -> ClientConfig {
        assert!(!c.servers.is_empty());
        let first_server = ctx.below(c.servers.len() as u64) as usize;
        let config = ClientConfig {
            servers: c.servers.clone(),
            first_server,
            session_timeout_ms: c.session_timeout_ms,
            reconnect_delay_ms: c.reconnect_delay_ms,
            max_pending: c.max_pending,
        };
        config.validate();
        config
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Starts the current session.
    pub fn start(&mut self, ctx: &mut Ctx, out: &mut Out) -> Vec<Action> {
        self.sessions_started += 1;
        let mut actions = Vec::new();
        self.session.start(ctx.now, &mut actions);
        Self::dispatch(actions, out)
    }

    /// Replaces a dead (expired or closed) session by a new one and starts it.
    pub fn renew(&mut self, ctx: &mut Ctx, out: &mut Out) -> Vec<Action> {
        assert!(!self.session.is_alive(), "renewing a live session");
        self.session = Session::new(Self::session_config(ctx, &self.config));
        self.start(ctx, out)
    }

    pub fn submit(&mut self, ctx: &mut Ctx, op: Op, out: &mut Out) -> (u64, Vec<Action>) {
        let mut actions = Vec::new();
        let xid = self.session.submit(ctx.now, op, &mut actions);
        (xid, Self::dispatch(actions, out))
    }

    pub fn close(&mut self, ctx: &mut Ctx, out: &mut Out) -> (u64, Vec<Action>) {
        let mut actions = Vec::new();
        let xid = self.session.close(ctx.now, &mut actions);
        (xid, Self::dispatch(actions, out))
    }

    /// A message for the session; None if it is not a server's message to clients.
    pub fn on_message(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: Msg,
        out: &mut Out,
    ) -> Vec<Action> {
        let Msg::ToClient(m) = msg else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        self.session.on_message(ctx.now, from, m, &mut actions);
        Self::dispatch(actions, out)
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, out: &mut Out) -> Vec<Action> {
        let mut actions = Vec::new();
        self.session.on_timer(ctx.now, &mut actions);
        Self::dispatch(actions, out)
    }

    pub fn on_disconnect(&mut self, ctx: &mut Ctx, server: ProcessId, out: &mut Out) -> Vec<Action> {
        let mut actions = Vec::new();
        self.session.on_disconnect(ctx.now, server, &mut actions);
        Self::dispatch(actions, out)
    }

    /// Carries out sends and the timer; returns what the application must see.
    fn dispatch(actions: Vec<Action>, out: &mut Out) -> Vec<Action> {
        let mut rest = Vec::new();
        for a in actions {
            match a {
                Action::Send { to, msg } => out.send(to, Msg::FromClient(msg)),
                Action::SetTimer { at } => out.set_timer(SESSION_TIMER, at),
                other => rest.push(other),
            }
        }
        rest
    }
}
