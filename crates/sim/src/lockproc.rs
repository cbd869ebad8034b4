//! A lock-recipe client process: `client::recipes::lock` over a real session hosted by
//! [`ClientHost`], and the critical section it protects — `writes_per_hold` writes to the
//! protected resource (`crate::resource`), each sent once the previous one was
//! acknowledged and `work_ms` passed, carrying the hold's fencing token when fencing is on;
//! the lock is released after the last acknowledgement. It asks for the lock `holds`
//! times (a lost hold does not count), thinking a little between holds, and reports each
//! hold to the history (`ClientNote::LockRequest/LockAcquired/LockEnd`).
//!
//! While disconnected the holder suspends its writes (Curator's advice for SUSPENDED) and
//! resumes them if it reconnects to the same session; it learns it lost the lock only from
//! an expiry or from the resource refusing its token. So a holder paused past its session
//! timeout (the kernel's pause fault) writes once more when it wakes, before it hears of
//! the expiry: the lease problem fencing tokens solve.
//! Invariants: at most one recipe op and one resource write in flight; writes only while
//! the recipe holds the lock, within the hold it was sent for; at most
//! `writes_per_hold` acknowledged writes per hold.

use client::recipes::lock::{Lock, LockEvent, guid_of};
use client::{Action, SessionState};
use proto::history::{ClientNote, LockEnd};
use proto::zk::{Op, OpResult, SessionId};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};
use crate::resource::{self, ResourceWrite};

const WRITE: TimerId = TimerId(130);
const THINK: TimerId = TimerId(131);
const RENEW: TimerId = TimerId(132);
const RENEW_DELAY_MS: u64 = 100;
/// An unacknowledged resource write is sent again after this long (the reply or the write
/// may have been lost to a partition).
pub const WRITE_RETRY_MS: u64 = 200;

type Out = Outbox<Msg, Record, Note>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockClientConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    pub lock: String,
    pub resource: ProcessId,
    /// Holds to complete (released after their critical section).
    pub holds: u64,
    pub writes_per_hold: u64,
    /// Time between one acknowledged write and the next.
    pub work_ms: u64,
    /// Time between a hold's end and the next request (drawn in [think/2, 3·think/2)).
    pub think_ms: u64,
    pub fencing: bool,
    /// Protected mode (false: the planted bug `lock-no-guid`).
    pub protected: bool,
}

/// The critical section of the hold in progress.
#[derive(Clone, Debug)]
struct Section {
    session: SessionId,
    hold: u64,
    token: u64,
    /// Writes acknowledged.
    acked: u64,
    /// The resource write in flight (its xid), if any.
    awaiting: Option<u64>,
}

pub struct LockWorker {
    config: LockClientConfig,
    recipe: Lock,
    host: Option<ClientHost>,
    /// The recipe op in flight: its xid.
    in_flight: Option<u64>,
    holds_done: u64,
    section: Option<Section>,
    /// Resource writes sent (their xids).
    writes_sent: u64,
    /// No new request before this (local time).
    think_until: Time,
}

impl LockWorker {
    pub fn new(config: LockClientConfig) -> LockWorker {
        assert!(!config.servers.is_empty() && config.writes_per_hold > 0);
        let recipe = Lock::new(&config.lock, config.protected);
        LockWorker {
            config,
            recipe,
            host: None,
            in_flight: None,
            holds_done: 0,
            section: None,
            writes_sent: 0,
            think_until: Time::ZERO,
        }
    }

    /// Every hold done and none in progress.
    pub fn done(&self) -> bool {
        self.holds_done >= self.config.holds && self.recipe.idle()
    }

    /// Why the worker is not done, for a liveness finding.
    pub fn explain(&self) -> String {
        let state = match (self.recipe.held(), self.recipe.waiting_for()) {
            (Some((node, _)), _) => format!("holding with {node}"),
            (None, Some(p)) => {
                let own = self.recipe.node().unwrap_or("unknown");
                // The same guid: a node of this very hold, made by a create whose answer
                // was lost (only the planted lock-no-guid leaves one behind).
                let orphan = guid_of(p).is_some_and(|g| guid_of(own) == Some(g));
                let whose = if orphan { ", its own orphan" } else { "" };
                format!("waiting for {p}{whose} (own node {own})")
            }
            _ if self.recipe.active() => "asking for the lock".to_string(),
            _ => "idle".to_string(),
        };
        format!(
            "lock holds {} of {}, {state}",
            self.holds_done, self.config.holds
        )
    }

    /// The lock recipe (for figures and charts).
    pub fn recipe(&self) -> &Lock {
        &self.recipe
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
        if let Some(s) = &self.section {
            assert!(s.acked <= self.config.writes_per_hold);
            assert!(
                self.recipe.held().is_some_and(|(_, t)| t == s.token),
                "a critical section outside its hold"
            );
        }
        assert!(self.in_flight.is_none() || self.host.is_some());
    }

    fn report(&mut self, ctx: &mut Ctx, event: Option<LockEvent>, out: &mut Out) {
        let note = match event {
            None => return,
            Some(LockEvent::Requested { session, hold }) => ClientNote::LockRequest {
                session,
                hold,
                lock: self.config.lock.clone(),
            },
            Some(LockEvent::Acquired {
                session,
                hold,
                node,
                token,
            }) => {
                assert!(self.section.is_none(), "a second section");
                self.section = Some(Section {
                    session,
                    hold,
                    token,
                    acked: 0,
                    awaiting: None,
                });
                out.note(Note::client(ClientNote::LockAcquired {
                    session,
                    hold,
                    node,
                    token,
                }));
                return self.write(ctx, out);
            }
            Some(LockEvent::Ended {
                session,
                hold,
                node,
                end,
                watch_events,
            }) => {
                self.section = None;
                if end == LockEnd::Released {
                    self.holds_done += 1;
                }
                let think_ns = self.config.think_ms * NS_PER_MS;
                let jitter = ctx.below(think_ns.max(1));
                self.think_until = ctx.mono.plus_ns(think_ns / 2 + jitter);
                out.set_timer(THINK, self.think_until);
                ClientNote::LockEnd {
                    session,
                    hold,
                    node,
                    end,
                    watch_events,
                }
            }
        };
        out.note(Note::client(note));
    }

    /// Sends the section's next write (or the unacknowledged one again), if connected.
    fn write(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let connected = self.connected();
        let fencing = self.config.fencing;
        let Some(s) = self.section.as_mut() else {
            return;
        };
        if !connected {
            // Suspended: look again after a while.
            out.set_timer(
                WRITE,
                ctx.mono.plus_ns(self.config.work_ms.max(1) * NS_PER_MS),
            );
            return;
        }
        assert!(
            s.acked < self.config.writes_per_hold,
            "a write past the section's end"
        );
        assert!(
            self.recipe.held().is_some_and(|(_, t)| t == s.token),
            "a write outside its hold"
        );
        self.writes_sent += 1;
        let write = ResourceWrite {
            session: s.session,
            hold: s.hold,
            n: s.acked + 1,
            token: fencing.then_some(s.token),
            task: None,
        };
        s.awaiting = Some(self.writes_sent);
        out.send(self.config.resource, write.to_msg(self.writes_sent));
        out.set_timer(WRITE, ctx.mono.plus_ns(WRITE_RETRY_MS * NS_PER_MS));
    }

    fn on_resource_reply(&mut self, ctx: &mut Ctx, msg: Msg, out: &mut Out) {
        let Some(s) = self.section.as_mut() else {
            return; // a reply for a section that ended
        };
        let Some(accepted) = resource::answer_to(msg, &mut s.awaiting) else {
            return;
        };
        match accepted {
            true => {
                s.acked += 1;
                assert!(
                    s.acked <= self.config.writes_per_hold,
                    "more acknowledgements than writes"
                );
                if s.acked == self.config.writes_per_hold {
                    // The critical section is over: release (no write is in flight).
                    self.section = None;
                    out.cancel_timer(WRITE);
                    self.recipe.release();
                } else {
                    out.set_timer(WRITE, ctx.mono.plus_ns(self.config.work_ms * NS_PER_MS));
                }
            }
            false => {
                // Fenced: a newer holder wrote; our grant is gone.
                self.section = None;
                out.cancel_timer(WRITE);
                self.recipe.fenced();
            }
        }
    }

    /// Asks for the lock when idle, then submits the recipe's op, while connected.
    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.check_invariants();
        if self.in_flight.is_some() || !self.connected() {
            return; // a completion or the next Connected drives again
        }
        if self.recipe.idle() && self.holds_done < self.config.holds && ctx.mono >= self.think_until
        {
            let event = self.recipe.acquire();
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
                    xid,
                    op,
                    result,
                    zxid,
                } => self.completed(ctx, xid, &op, &result, zxid, out),
                Action::Watch(w) => self.recipe.on_watch(&w),
                Action::State(SessionState::Connected) => {
                    let session = self.host().session().session_id().expect("connected");
                    self.recipe.set_session(session);
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

    fn completed(
        &mut self,
        ctx: &mut Ctx,
        xid: u64,
        op: &Op,
        result: &OpResult,
        zxid: Option<proto::Zxid>,
        out: &mut Out,
    ) {
        if self.in_flight != Some(xid) {
            return; // an op of a session that ended
        }
        self.in_flight = None;
        let event = self.recipe.on_result(op, result, zxid);
        self.report(ctx, event, out);
    }
}

impl Process for LockWorker {
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
        if from == self.config.resource {
            self.on_resource_reply(ctx, msg, out);
            return self.drive(ctx, out);
        }
        let actions = self.host().on_message(ctx, from, msg, out);
        self.handle(ctx, actions, out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        let actions = if ClientHost::id_of_timer(timer).is_some() {
            self.host().on_timer(ctx, out)
        } else if timer == RENEW && !self.host().session().is_alive() {
            self.host().renew(ctx, out)
        } else {
            if timer == WRITE {
                self.write(ctx, out);
            }
            Vec::new() // THINK: `drive` asks again
        };
        self.handle(ctx, actions, out);
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        if peer == self.config.resource {
            return;
        }
        let actions = self.host().on_disconnect(ctx, peer, out);
        self.handle(ctx, actions, out);
    }
}
