//! A double-barrier participant process: `client::recipes::barrier` over a real session
//! hosted by [`ClientHost`], going through `rounds` rounds: enter, compute `work_ms` (drawn
//! in [work/2, 3·work/2)) once through, leave, think `think_ms` (drawn the same way), next
//! round. Each step goes to the history (`ClientNote::Barrier`).
//!
//! A session that ends is renewed; the recipe rejoins the round in the new session (the
//! computation goes on meanwhile; leave waits until the participant is through enter
//! again). A reconnection of the same session is told to the recipe (the planted
//! `barrier-no-recheck` passes a waiting enter on it). A crashed participant restarts from
//! round 1: every finished round's `ready` node lets it straight through.
//! Invariants: at most one recipe op in flight; a computation only in a round entered; the
//! rounds done never exceed `rounds`.

use client::recipes::barrier::{Barrier, BarrierEvent};
use client::{Action, SessionState};
use proto::history::{BarrierStep, ClientNote};
use proto::zk::{Op, OpResult, SessionId};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};

const WORK: TimerId = TimerId(140);
const THINK: TimerId = TimerId(141);
const RENEW: TimerId = TimerId(142);
const RENEW_DELAY_MS: u64 = 100;

type Out = Outbox<Msg, Record, Note>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarrierClientConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    /// The barrier's root node (`/barrier`).
    pub root: String,
    /// Participants per round.
    pub size: usize,
    /// This participant's node name.
    pub name: String,
    pub rounds: u64,
    pub work_ms: u64,
    pub think_ms: u64,
    /// Look again after a wake-up (false: the planted bug `barrier-no-recheck`).
    pub recheck: bool,
}

pub struct BarrierWorker {
    config: BarrierClientConfig,
    recipe: Barrier,
    host: Option<ClientHost>,
    /// The recipe op in flight: its xid.
    in_flight: Option<u64>,
    /// The session the recipe was last told of.
    session: SessionId,
    rounds_done: u64,
    /// The computation of the round in progress: when it ends (local time); None when
    /// not computing.
    work_until: Option<Time>,
    /// No new round before this (local time).
    think_until: Time,
}

/// A duration drawn in [ms/2, 3·ms/2), in ns.
fn draw_ns(ctx: &mut Ctx, ms: u64) -> u64 {
    let ns = ms * NS_PER_MS;
    ns / 2 + ctx.below(ns.max(1))
}

impl BarrierWorker {
    pub fn new(config: BarrierClientConfig) -> BarrierWorker {
        assert!(!config.servers.is_empty() && config.rounds > 0);
        let recipe = Barrier::new(&config.root, config.size, &config.name, config.recheck);
        BarrierWorker {
            config,
            recipe,
            host: None,
            in_flight: None,
            session: SessionId::NONE,
            rounds_done: 0,
            work_until: None,
            think_until: Time::ZERO,
        }
    }

    /// Every round done and none in progress.
    pub fn done(&self) -> bool {
        self.rounds_done >= self.config.rounds && self.recipe.idle()
    }

    /// Why the participant is not done, for a liveness finding.
    pub fn explain(&self) -> String {
        format!(
            "barrier rounds {} of {}, {}",
            self.rounds_done,
            self.config.rounds,
            self.recipe.explain()
        )
    }

    /// The round this participant is through enter of (computing or leaving), if any.
    pub fn past_enter(&self) -> Option<u64> {
        self.recipe.past_enter().then(|| self.recipe.round())
    }

    fn host(&mut self) -> &mut ClientHost {
        self.host.as_mut().expect("started")
    }

    fn connected(&self) -> bool {
        self.host
            .as_ref()
            .is_some_and(|h| h.session().state() == SessionState::Connected)
    }

    fn check_invariants(&self) {
        assert!(
            self.rounds_done <= self.config.rounds,
            "more rounds than asked"
        );
        assert!(
            self.work_until.is_none() || !self.recipe.idle(),
            "computing between rounds"
        );
        assert!(self.in_flight.is_none() || self.host.is_some());
    }

    fn report(&mut self, ctx: &mut Ctx, event: Option<BarrierEvent>, out: &mut Out) {
        let Some(e) = event else {
            return;
        };
        assert_eq!(
            e.round,
            self.recipe.round(),
            "an event of the current round"
        );
        assert!(!e.session.is_none(), "an event in a session");
        match e.step {
            // Through enter: compute (a rejoin keeps the computation under way).
            BarrierStep::Entered if self.work_until.is_none() => {
                let until = ctx.mono.plus_ns(draw_ns(ctx, self.config.work_ms));
                self.work_until = Some(until);
                out.set_timer(WORK, until);
            }
            BarrierStep::Left => {
                assert!(self.recipe.idle(), "left, between rounds");
                self.rounds_done += 1;
                assert!(self.rounds_done <= self.config.rounds, "a round too many");
                self.work_until = None;
                self.think_until = ctx.mono.plus_ns(draw_ns(ctx, self.config.think_ms));
                out.set_timer(THINK, self.think_until);
            }
            _ => {}
        }
        out.note(Note::client(ClientNote::Barrier {
            session: e.session,
            round: e.round,
            barrier: e.barrier,
            step: e.step,
        }));
    }

    /// Enters the next round when idle, leaves when the computation is over, then submits
    /// the recipe's op, while connected.
    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.check_invariants();
        if self.in_flight.is_some() || !self.connected() {
            return; // a completion or the next Connected drives again
        }
        if self.recipe.idle()
            && self.rounds_done < self.config.rounds
            && ctx.mono >= self.think_until
        {
            let event = self.recipe.enter();
            self.report(ctx, Some(event), out);
        }
        if self.recipe.entered() && self.work_until.is_some_and(|t| ctx.mono >= t) {
            assert!(
                self.rounds_done < self.config.rounds,
                "leaving a round not asked"
            );
            let event = self.recipe.leave();
            self.report(ctx, Some(event), out);
        }
        let Some(op) = self.recipe.next_op() else {
            return;
        };
        let (xid, actions) = self.host().submit(ctx, op, out);
        self.in_flight = Some(xid);
        self.handle(ctx, actions, out);
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed {
                    xid, op, result, ..
                } => self.completed(ctx, xid, &op, &result, out),
                Action::Watch(w) => {
                    let event = self.recipe.on_watch(&w);
                    self.report(ctx, event, out);
                }
                Action::State(SessionState::Connected) => {
                    let session = self.host().session().session_id().expect("connected");
                    assert!(!session.is_none(), "a connected session has an id");
                    let event = if session == self.session {
                        self.recipe.on_reconnected()
                    } else {
                        self.session = session;
                        self.recipe.set_session(session)
                    };
                    self.report(ctx, event, out);
                }
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.in_flight = None;
                    let event = self.recipe.on_session_lost();
                    self.report(ctx, event, out);
                    out.set_timer(RENEW, ctx.mono.plus_ns(RENEW_DELAY_MS * NS_PER_MS));
                }
                _ => {}
            }
        }
        self.drive(ctx, out);
    }

    fn completed(&mut self, ctx: &mut Ctx, xid: u64, op: &Op, result: &OpResult, out: &mut Out) {
        if self.in_flight != Some(xid) {
            return; // an op of a session that ended
        }
        self.in_flight = None;
        let event = self.recipe.on_result(op, result);
        self.report(ctx, event, out);
    }
}

impl Process for BarrierWorker {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        let config = HostConfig {
            servers: self.config.servers.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            reconnect_delay_ms: 200,
            max_pending: 4,
        };
        self.host = Some(ClientHost::new(ctx, config, 0));
        let actions = self.host().start(ctx, out);
        self.handle(ctx, actions, out);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        let actions = self.host().on_message(ctx, from, msg, out);
        self.handle(ctx, actions, out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        let actions = if ClientHost::id_of_timer(timer).is_some() {
            self.host().on_timer(ctx, out)
        } else if timer == RENEW && !self.host().session().is_alive() {
            self.host().renew(ctx, out)
        } else {
            Vec::new() // WORK, THINK: `drive` looks at the time
        };
        self.handle(ctx, actions, out);
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let actions = self.host().on_disconnect(ctx, peer, out);
        self.handle(ctx, actions, out);
    }
}
