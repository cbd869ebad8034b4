//! A worker of the fail-over task scheduler: `client::recipes::worker` over a real session
//! hosted by [`ClientHost`], and the executions it runs — `writes_per_task` writes to the
//! protected resource (`crate::resource`) per task, each sent once the previous one was
//! acknowledged and `work_ms` passed, carrying the assignment's epoch as the fencing token
//! when fencing is on. A refused write ends the execution's writes; the recipe reads the
//! assignment again and restarts them with a newer epoch. Executions are reported to the
//! history (`ClientNote::TaskStart/TaskEnd`), the writes by the resource.
//!
//! Like the lock's holders, a worker suspends its writes while disconnected and learns that
//! its session ended only from the servers, so a worker paused past its session timeout
//! writes once more when it wakes — after the leader moved its task to another worker:
//! two executions of one task overlap across a session expiry (the documented case the
//! epoch, one per leader and not per assignment, does not fence).
//! Invariants: at most one recipe op and one resource write in flight; writes only for the
//! execution the recipe runs, with its token; at most `writes_per_task` acknowledged writes
//! per execution and token.

use client::recipes::worker::{TaskEvent, Worker};
use client::{Action, SessionState};
use proto::history::ClientNote;
use proto::zk::{Op, OpResult, SessionId};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, TimerId, WriteId};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};
use crate::resource::{self, ResourceWrite};

const WRITE: TimerId = TimerId(150);
const RENEW: TimerId = TimerId(151);
const RENEW_DELAY_MS: u64 = 100;
/// An unacknowledged resource write is sent again after this long.
pub const WRITE_RETRY_MS: u64 = 200;

type Out = Outbox<Msg, Record, Note>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerClientConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    pub resource: ProcessId,
    pub writes_per_task: u64,
    /// Time between one acknowledged write and the next.
    pub work_ms: u64,
    pub fencing: bool,
}

/// The execution's writes in progress.
#[derive(Clone, Debug)]
struct Section {
    session: SessionId,
    attempt: u64,
    task: u64,
    token: Option<u64>,
    acked: u64,
    /// The resource write in flight (its xid), if any.
    awaiting: Option<u64>,
}

pub struct WorkerNode {
    config: WorkerClientConfig,
    recipe: Worker,
    host: Option<ClientHost>,
    /// The recipe op in flight: its xid.
    in_flight: Option<u64>,
    section: Option<Section>,
    writes_sent: u64,
}

impl WorkerNode {
    /// A worker process; `me` names it (`w-<process number>-<session>`).
    pub fn new(config: WorkerClientConfig, me: ProcessId) -> WorkerNode {
        assert!(!config.servers.is_empty() && config.writes_per_task > 0);
        WorkerNode {
            config,
            recipe: Worker::new(&format!("w-{}", me.0)),
            host: None,
            in_flight: None,
            section: None,
            writes_sent: 0,
        }
    }

    /// The worker recipe (for figures and explanations).
    pub fn recipe(&self) -> &Worker {
        &self.recipe
    }

    pub fn explain(&self) -> String {
        self.recipe.explain()
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
            assert!(s.acked <= self.config.writes_per_task);
            assert!(
                self.recipe
                    .executing()
                    .is_some_and(|(task, attempt, _)| (task, attempt) == (s.task, s.attempt)),
                "writes outside the execution the recipe runs"
            );
        }
        assert!(self.in_flight.is_none() || self.host.is_some());
    }

    fn report(&mut self, event: Option<TaskEvent>, out: &mut Out) {
        let note = match event {
            None => return,
            Some(TaskEvent::Started {
                session,
                attempt,
                task,
                token,
            }) => ClientNote::TaskStart {
                session,
                attempt,
                task,
                token,
            },
            Some(TaskEvent::Ended {
                attempt,
                end,
                token,
            }) => ClientNote::TaskEnd {
                attempt,
                end,
                token,
            },
        };
        out.note(Note::client(note));
    }

    /// Starts (or restarts, with a new token) the writes of the execution the recipe runs.
    fn sync_section(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let running = self.recipe.executing();
        let session = self
            .host
            .as_ref()
            .and_then(|h| h.session().session_id())
            .unwrap_or_default();
        match (running, &self.section) {
            (None, _) => {
                if self.section.take().is_some() {
                    out.cancel_timer(WRITE);
                }
            }
            (Some((task, attempt, token)), Some(s))
                if (s.task, s.attempt, s.token) == (task, attempt, token) => {}
            (Some((task, attempt, token)), _) => {
                assert!(!session.is_none(), "an execution runs in a session");
                self.section = Some(Section {
                    session,
                    attempt,
                    task,
                    token,
                    acked: 0,
                    awaiting: None,
                });
                self.write(ctx, out);
            }
        }
    }

    /// Sends the execution's next write (or the unacknowledged one again), if connected.
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
            s.acked < self.config.writes_per_task,
            "a write past the execution's end"
        );
        assert!(
            self.recipe.executing().is_some_and(
                |(task, attempt, token)| (task, attempt, token) == (s.task, s.attempt, s.token)
            ),
            "a write for the execution the recipe runs, with its token"
        );
        self.writes_sent += 1;
        let write = ResourceWrite {
            session: s.session,
            hold: s.attempt,
            n: s.acked + 1,
            token: if fencing { s.token } else { None },
            task: Some(s.task),
        };
        s.awaiting = Some(self.writes_sent);
        out.send(self.config.resource, write.to_msg(self.writes_sent));
        out.set_timer(WRITE, ctx.mono.plus_ns(WRITE_RETRY_MS * NS_PER_MS));
    }

    fn on_resource_reply(&mut self, ctx: &mut Ctx, msg: Msg, out: &mut Out) {
        let Some(s) = self.section.as_mut() else {
            return; // a reply for an execution that ended
        };
        let Some(accepted) = resource::answer_to(msg, &mut s.awaiting) else {
            return;
        };
        match accepted {
            true => {
                s.acked += 1;
                assert!(
                    s.acked <= self.config.writes_per_task,
                    "more acknowledgements than writes"
                );
                if s.acked == self.config.writes_per_task {
                    self.section = None;
                    out.cancel_timer(WRITE);
                    self.recipe.executed();
                } else {
                    out.set_timer(WRITE, ctx.mono.plus_ns(self.config.work_ms * NS_PER_MS));
                }
            }
            false => {
                assert!(self.config.fencing, "only a fenced resource refuses");
                // Fenced: a newer leader's epoch was seen. Look for it in the assignment.
                self.section = None;
                out.cancel_timer(WRITE);
                self.recipe.refused();
            }
        }
    }

    /// Submits the recipe's op while connected, and keeps the execution's writes going.
    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.sync_section(ctx, out);
        self.check_invariants();
        if self.in_flight.is_some() || !self.connected() {
            return; // a completion or the next Connected drives again
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
                } => self.completed(xid, &op, &result, out),
                Action::Watch(w) => self.recipe.on_watch(&w),
                Action::State(SessionState::Connected) => {
                    let session = self.host().session().session_id().expect("connected");
                    let event = self.recipe.on_connected(session);
                    self.report(event, out);
                }
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.in_flight = None;
                    let event = self.recipe.on_session_lost();
                    self.report(event, out);
                    out.set_timer(RENEW, ctx.mono.plus_ns(RENEW_DELAY_MS * NS_PER_MS));
                }
                _ => {}
            }
        }
        self.drive(ctx, out);
    }

    fn completed(&mut self, xid: u64, op: &Op, result: &OpResult, out: &mut Out) {
        if self.in_flight != Some(xid) {
            return; // an op of a session that ended
        }
        self.in_flight = None;
        let event = self.recipe.on_result(op, result);
        self.report(event, out);
    }
}

impl Process for WorkerNode {
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
            Vec::new()
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
