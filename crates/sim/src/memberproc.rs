//! Group-membership client processes over real sessions hosted by [`ClientHost`]:
//! [`MemberWorker`] runs `client::recipes::group::Member` — join, stay `stay_ms`, leave,
//! stay away `away_ms` (both drawn in [t/2, 3·t/2)), `cycles` times, the last time for
//! good — and [`ObserverWorker`] runs `client::recipes::group::Observer`, publishing its
//! view of the group. Each step and view goes to the history (`ClientNote::Member`,
//! `ClientNote::GroupView`).
//!
//! A member whose session ends (the servers expired it, taking its node) joins again in
//! its next session; one that was leaving counts the leave as done. An observer whose
//! session ends reads everything again in the next; one whose session reconnects reads
//! everything again too. A crashed member or observer restarts from the beginning.
//! Invariants: at most one recipe op in flight per process; a member leaves only while
//! joined and at most `cycles − 1` times; an observer's view is only what it read.

use client::recipes::group::{Member, MemberEvent, Observer};
use client::{Action, SessionState};
use proto::history::{ClientNote, MemberStep, ViewEntry};
use proto::zk::{Op, OpResult, SessionId};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};

const STAY: TimerId = TimerId(150);
const AWAY: TimerId = TimerId(151);
const RENEW: TimerId = TimerId(152);
const RENEW_DELAY_MS: u64 = 100;

type Out = Outbox<Msg, Record, Note>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberClientConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    /// The group node (`/group`).
    pub group: String,
    /// The member's name (its node's name).
    pub name: String,
    /// Joins to make; the last one stays.
    pub cycles: u64,
    pub stay_ms: u64,
    pub away_ms: u64,
}

fn host_config(servers: &[ProcessId], session_timeout_ms: u32) -> HostConfig {
    HostConfig {
        servers: servers.to_vec(),
        session_timeout_ms,
        reconnect_delay_ms: 200,
        max_pending: 4,
    }
}

/// A duration drawn in [ms/2, 3·ms/2), in ns.
fn draw_ns(ctx: &mut Ctx, ms: u64) -> u64 {
    let ns = ms * NS_PER_MS;
    ns / 2 + ctx.below(ns.max(1))
}

pub struct MemberWorker {
    config: MemberClientConfig,
    recipe: Member,
    host: Option<ClientHost>,
    in_flight: Option<u64>,
    session: SessionId,
    /// Leaves done (a membership lost while leaving counts).
    leaves: u64,
    /// Wants to be a member (false while away).
    want: bool,
    /// The current membership's stay ends here (local time), if it is to end.
    stay_until: Option<Time>,
    address: String,
}

impl MemberWorker {
    pub fn new(config: MemberClientConfig) -> MemberWorker {
        assert!(!config.servers.is_empty() && config.cycles > 0);
        let recipe = Member::new(&config.group, &config.name);
        MemberWorker {
            config,
            recipe,
            host: None,
            in_flight: None,
            session: SessionId::NONE,
            leaves: 0,
            want: true,
            stay_until: None,
            address: String::new(),
        }
    }

    /// Every cycle done and a member for good.
    pub fn done(&self) -> bool {
        self.last_cycle() && self.recipe.joined()
    }

    fn last_cycle(&self) -> bool {
        self.leaves + 1 >= self.config.cycles
    }

    /// The current membership's node data, if a member.
    pub fn data(&self) -> Option<&str> {
        self.recipe.joined().then(|| self.recipe.data()).flatten()
    }

    pub fn explain(&self) -> String {
        format!(
            "member {}: {} of {} leaves, {}",
            self.config.name,
            self.leaves,
            self.config.cycles - 1,
            self.recipe.explain()
        )
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
        assert!(self.leaves < self.config.cycles, "more leaves than cycles");
        assert!(
            self.stay_until.is_none() || !self.recipe.out(),
            "a stay while out"
        );
        assert!(self.in_flight.is_none() || self.host.is_some());
    }

    fn report(&mut self, ctx: &mut Ctx, event: Option<MemberEvent>, out: &mut Out) {
        let Some(e) = event else {
            return;
        };
        assert_eq!(e.session, self.session, "an event of the current session");
        assert_eq!(
            e.step == MemberStep::Joined,
            self.recipe.joined(),
            "joined exactly when the recipe says so"
        );
        match e.step {
            MemberStep::Joined if !self.last_cycle() => {
                let until = ctx.mono.plus_ns(draw_ns(ctx, self.config.stay_ms));
                self.stay_until = Some(until);
                out.set_timer(STAY, until);
            }
            MemberStep::Left => self.away(ctx, out),
            // Lost while leaving: the servers took the node; the leave is done.
            MemberStep::Lost if !self.want => self.away(ctx, out),
            MemberStep::Lost => self.stay_until = None,
            _ => {}
        }
        out.note(Note::client(ClientNote::Member {
            session: e.session,
            group: self.config.group.clone(),
            name: self.config.name.clone(),
            data: e.data,
            join: e.join,
            step: e.step,
        }));
    }

    fn away(&mut self, ctx: &mut Ctx, out: &mut Out) {
        assert!(self.recipe.out(), "away only when out");
        self.leaves += 1;
        assert!(
            self.leaves < self.config.cycles,
            "the last membership stays"
        );
        self.stay_until = None;
        out.set_timer(AWAY, ctx.mono.plus_ns(draw_ns(ctx, self.config.away_ms)));
    }

    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.check_invariants();
        if self.in_flight.is_some() || !self.connected() {
            return;
        }
        if self.recipe.out() && self.want {
            assert!(self.stay_until.is_none(), "no stay while out");
            let event = self.recipe.join(&self.address);
            self.report(ctx, Some(event), out);
        }
        if self.recipe.joined() && self.stay_until.is_some_and(|t| ctx.mono >= t) {
            assert!(!self.last_cycle(), "the last membership stays");
            self.want = false;
            self.stay_until = None;
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
                } if self.in_flight == Some(xid) => {
                    self.in_flight = None;
                    let event = self.recipe.on_result(&op, &result);
                    self.report(ctx, event, out);
                }
                Action::Watch(w) => self.recipe.on_watch(&w),
                Action::State(SessionState::Connected) => {
                    let session = self.host().session().session_id().expect("connected");
                    if session != self.session {
                        self.session = session;
                        self.recipe.set_session(session);
                    }
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
}

impl Process for MemberWorker {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        self.address = format!("{}@{}", self.config.name, ctx.me);
        let config = host_config(&self.config.servers, self.config.session_timeout_ms);
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
            if timer == AWAY {
                self.want = true;
            }
            Vec::new() // STAY: `drive` looks at the time
        };
        self.handle(ctx, actions, out);
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let actions = self.host().on_disconnect(ctx, peer, out);
        self.handle(ctx, actions, out);
    }
}

pub struct ObserverWorker {
    servers: Vec<ProcessId>,
    session_timeout_ms: u32,
    group: String,
    recipe: Observer,
    host: Option<ClientHost>,
    in_flight: Option<u64>,
    session: SessionId,
}

impl ObserverWorker {
    pub fn new(servers: &[ProcessId], session_timeout_ms: u32, group: &str) -> ObserverWorker {
        assert!(!servers.is_empty());
        ObserverWorker {
            servers: servers.to_vec(),
            session_timeout_ms,
            group: group.to_string(),
            recipe: Observer::new(group),
            host: None,
            in_flight: None,
            session: SessionId::NONE,
        }
    }

    /// The last published view, when nothing is pending.
    pub fn settled_view(&self) -> Option<&[ViewEntry]> {
        (self.recipe.settled() && self.in_flight.is_none())
            .then(|| self.recipe.view())
            .flatten()
    }

    /// The last published view.
    pub fn view(&self) -> Option<&[ViewEntry]> {
        self.recipe.view()
    }

    fn host(&mut self) -> &mut ClientHost {
        self.host.as_mut().expect("started")
    }

    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        assert!(self.in_flight.is_none() || self.host.is_some());
        let connected = self
            .host
            .as_ref()
            .is_some_and(|h| h.session().state() == SessionState::Connected);
        if self.in_flight.is_some() || !connected {
            return;
        }
        let Some(op) = self.recipe.next_op() else {
            return;
        };
        let (xid, actions) = self.host().submit(ctx, op, out);
        self.in_flight = Some(xid);
        self.handle(ctx, actions, out);
    }

    fn completed(&mut self, xid: u64, op: &Op, result: &OpResult, out: &mut Out) {
        if self.in_flight != Some(xid) {
            return;
        }
        self.in_flight = None;
        if let Some(members) = self.recipe.on_result(op, result) {
            assert!(!self.session.is_none(), "a view read in a session");
            assert!(
                members.len() <= client::recipes::group::GROUP_MAX,
                "a bounded view"
            );
            assert!(
                members.windows(2).all(|w| w[0].name < w[1].name),
                "a view sorted by name"
            );
            out.note(Note::client(ClientNote::GroupView {
                session: self.session,
                group: self.group.clone(),
                members,
            }));
        }
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed {
                    xid, op, result, ..
                } => self.completed(xid, &op, &result, out),
                Action::Watch(w) => self.recipe.on_watch(&w),
                Action::State(SessionState::Connected) => {
                    let session = self.host().session().session_id().expect("connected");
                    assert!(!session.is_none(), "a connected session has an id");
                    if session == self.session {
                        self.recipe.on_reconnected();
                    } else {
                        self.session = session;
                        self.recipe.set_session(session);
                    }
                }
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.in_flight = None;
                    self.recipe.on_session_lost();
                    out.set_timer(RENEW, ctx.mono.plus_ns(RENEW_DELAY_MS * NS_PER_MS));
                }
                _ => {}
            }
        }
        self.drive(ctx, out);
    }
}

impl Process for ObserverWorker {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        let config = host_config(&self.servers, self.session_timeout_ms);
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
            Vec::new()
        };
        self.handle(ctx, actions, out);
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let actions = self.host().on_disconnect(ctx, peer, out);
        self.handle(ctx, actions, out);
    }
}
