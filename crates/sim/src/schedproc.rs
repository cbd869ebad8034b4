//! A scheduler instance of the fail-over task scheduler: the leader latch
//! (`client::recipes::latch`) and the scheduler's leader side (`client::recipes::scheduler`)
//! over one real session hosted by [`ClientHost`], with Curator's connection states (its
//! standard error policy): SUSPENDED when the connection drops, RECONNECTED when it comes
//! back (same session or a new one), LOST when the servers expire the session — or when the
//! client has been SUSPENDED for its whole session timeout, after which it gives the
//! session up (Curator ≥ 3 injects an expiry and starts a new session; the servers may keep
//! the old one alive a while longer, e.g. when a new ZooKeeper leader restarted every
//! session's timeout). Each tenure the latch wins runs the scheduler with the latch's epoch
//! and is reported to the history (`ClientNote::LeaderStart/LeaderEnd`).
//!
//! Invariants (asserted): every op in flight belongs to the latch or to the tenure that
//! sent it; the scheduler runs only while the latch leads; at most `OPS_IN_FLIGHT_MAX`
//! latch ops plus one scheduler op are outstanding.

use std::collections::BTreeMap;

use client::recipes::latch::{Latch, LatchBugs, LatchEvent, LatchOp, OPS_IN_FLIGHT_MAX};
use client::recipes::scheduler::{SchedOp, Scheduler, SchedulerConfig};
use client::{Action, SessionState};
use proto::history::ClientNote;
use proto::zk::{Op, OpResult, SessionId};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};

const LOST: TimerId = TimerId(140);
const RETRY: TimerId = TimerId(141);
const TASK: TimerId = TimerId(142);
const RENEW: TimerId = TimerId(143);
const RENEW_DELAY_MS: u64 = 100;

type Out = Outbox<Msg, Record, Note>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerClientConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    /// The election node (`/election`).
    pub election: String,
    pub scheduler: SchedulerConfig,
    /// The planted bugs (both off: the correct latch).
    pub bugs: LatchBugs,
}

/// Whose op a request in flight is.
#[derive(Clone, Debug)]
enum Owner {
    Latch(LatchOp),
    /// The scheduler's, sent in tenure `.0`.
    Sched(u64, SchedOp),
}

pub struct SchedulerNode {
    config: SchedulerClientConfig,
    latch: Latch,
    sched: Scheduler,
    host: Option<ClientHost>,
    in_flight: BTreeMap<u64, Owner>,
    connected: bool,
    /// When the connection dropped (local time), while SUSPENDED.
    suspended_at: Option<Time>,
    /// Sessions given up by the client (Curator's LOST by its own timer).
    pub sessions_given_up: u64,
}

impl SchedulerNode {
    pub fn new(config: SchedulerClientConfig) -> SchedulerNode {
        assert!(!config.servers.is_empty());
        let latch = Latch::new(&config.election, config.bugs);
        let sched = Scheduler::new(config.scheduler.clone());
        SchedulerNode {
            config,
            latch,
            sched,
            host: None,
            in_flight: BTreeMap::new(),
            connected: false,
            suspended_at: None,
            sessions_given_up: 0,
        }
    }

    /// The epoch the latch leads with, if it leads.
    pub fn leading(&self) -> Option<u64> {
        self.latch.leading()
    }

    /// The latch (for figures and explanations).
    pub fn latch(&self) -> &Latch {
        &self.latch
    }

    /// What the instance is doing, for a liveness finding.
    pub fn explain(&self) -> String {
        let latch = match (self.latch.leading(), self.latch.watching()) {
            (Some(e), _) => format!("leads with epoch {e:#x}"),
            (None, Some(p)) => format!("waits for {p}"),
            _ => format!("node {}", self.latch.node().unwrap_or("unknown")),
        };
        format!(
            "scheduler {latch}, {}; {} ops in flight",
            self.sched.explain(),
            self.in_flight.len()
        )
    }

    fn host(&mut self) -> &mut ClientHost {
        self.host.as_mut().expect("started")
    }

    fn check_invariants(&self) {
        assert_eq!(
            self.sched.tenure().is_some(),
            self.latch.leading().is_some(),
            "the scheduler runs exactly while the latch leads"
        );
        let sched = self
            .in_flight
            .values()
            .filter(|o| matches!(o, Owner::Sched(..)))
            .count();
        assert!(
            self.in_flight.len() - sched <= OPS_IN_FLIGHT_MAX && sched <= 1,
            "too many ops in flight"
        );
        assert!(!self.connected || self.suspended_at.is_none());
    }

    fn report(&mut self, ctx: &mut Ctx, event: Option<LatchEvent>, out: &mut Out) {
        match event {
            None => {}
            Some(LatchEvent::Elected {
                session,
                node,
                epoch,
            }) => {
                assert!(
                    self.connected && self.latch.leading() == Some(epoch),
                    "elected while connected, with the latch's epoch"
                );
                self.sched.begin(epoch, ctx.mono);
                let tenure = self.sched.tenure().expect("begun");
                out.note(Note::client(ClientNote::LeaderStart {
                    session,
                    tenure,
                    node,
                    epoch,
                }));
            }
            Some(LatchEvent::Deposed { end, .. }) => {
                let tenure = self.sched.tenure().expect("a tenure to end");
                assert!(self.latch.leading().is_none(), "deposed means not leading");
                self.sched.end();
                out.note(Note::client(ClientNote::LeaderEnd { tenure, end }));
            }
        }
    }

    /// Submits what the latch and the scheduler want, then arms their timers.
    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.check_invariants();
        self.sched.on_tick(ctx.mono);
        if self.connected {
            let mut actions = Vec::new();
            while let Some((tag, op)) = self.latch.next_op() {
                actions.extend(self.submit(ctx, Owner::Latch(tag), op, out));
            }
            if let (Some(tenure), Some((tag, op))) = (self.sched.tenure(), self.sched.next_op()) {
                actions.extend(self.submit(ctx, Owner::Sched(tenure, tag), op, out));
            }
            if !actions.is_empty() {
                return self.handle(ctx, actions, out);
            }
        }
        // The retry loop's sleeps run connected or not (a retry due while disconnected
        // sleeps again: `Latch::on_tick`).
        if let Some(at) = self.latch.retry_at() {
            out.set_timer(RETRY, at.max(ctx.mono));
        }
        if let Some(at) = self.sched.wake_at() {
            out.set_timer(TASK, at);
        }
    }

    fn submit(&mut self, ctx: &mut Ctx, owner: Owner, op: Op, out: &mut Out) -> Vec<Action> {
        let (xid, actions) = self.host().submit(ctx, op, out);
        let previous = self.in_flight.insert(xid, owner);
        assert!(previous.is_none(), "xid {xid} in flight twice");
        actions
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed {
                    xid,
                    op: _,
                    result,
                    zxid,
                } => self.completed(ctx, xid, &result, zxid, out),
                Action::Watch(w) => {
                    let event = self.latch.on_watch(&w);
                    self.report(ctx, event, out);
                    self.sched.on_watch(&w);
                }
                Action::State(SessionState::Connected) => {
                    let session = self.host().session().session_id().expect("connected");
                    assert!(!self.connected, "connected twice");
                    self.connected = true;
                    self.suspended_at = None;
                    out.cancel_timer(LOST);
                    let event = self.latch.on_connected(session, ctx.mono);
                    self.report(ctx, event, out);
                }
                Action::State(SessionState::Disconnected) => {
                    self.connected = false;
                    self.suspended_at = Some(ctx.mono);
                    let timeout_ns = u64::from(self.config.session_timeout_ms) * NS_PER_MS;
                    out.set_timer(LOST, ctx.mono.plus_ns(timeout_ns));
                    let event = self.latch.on_disconnected();
                    self.report(ctx, event, out);
                }
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.session_lost(ctx, out);
                    out.set_timer(RENEW, ctx.mono.plus_ns(RENEW_DELAY_MS * NS_PER_MS));
                }
                _ => {}
            }
        }
        self.drive(ctx, out);
    }

    fn session_lost(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.connected = false;
        self.suspended_at = None;
        out.cancel_timer(LOST);
        self.in_flight.clear();
        let event = self.latch.on_session_lost();
        self.report(ctx, event, out);
    }

    fn completed(
        &mut self,
        ctx: &mut Ctx,
        xid: u64,
        result: &OpResult,
        zxid: Option<Zxid>,
        out: &mut Out,
    ) {
        let Some(owner) = self.in_flight.remove(&xid) else {
            return; // an op of a session given up
        };
        match owner {
            Owner::Latch(tag) => {
                let event = self.latch.on_result(tag, result, zxid, ctx.mono);
                self.report(ctx, event, out);
            }
            Owner::Sched(tenure, tag) => self.sched.on_result(tenure, tag, result),
        }
    }

    /// Curator's LOST by the client's own clock: SUSPENDED for the whole session timeout.
    /// The session is given up (not closed: the servers expire it in their own time).
    fn give_up_session(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let timeout_ns = u64::from(self.config.session_timeout_ms) * NS_PER_MS;
        let due = self
            .suspended_at
            .is_some_and(|t| ctx.mono >= t.plus_ns(timeout_ns));
        if self.connected || !due || !self.host().session().is_alive() {
            return;
        }
        self.sessions_given_up += 1;
        self.session_lost(ctx, out);
        assert!(
            self.in_flight.is_empty() && self.latch.leading().is_none(),
            "a session given up leaves nothing in flight and no leader"
        );
        let actions = self.host().abandon(ctx, out);
        self.handle(ctx, actions, out);
    }
}

impl Process for SchedulerNode {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        let config = HostConfig {
            servers: self.config.servers.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            reconnect_delay_ms: 200,
            max_pending: OPS_IN_FLIGHT_MAX + 4,
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
            match timer {
                LOST => return self.give_up_session(ctx, out),
                RETRY => self.latch.on_tick(ctx.mono),
                _ => {} // TASK: `drive` asks the scheduler again
            }
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

/// The session a scheduler instance runs in, if connected (for tests).
pub fn session_of(node: &SchedulerNode) -> Option<SessionId> {
    node.host.as_ref()?.session().session_id()
}
