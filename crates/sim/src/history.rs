//! Records a run's client-visible history from the notes processes emit: client
//! invocations and completions paired into `OpRecord`s (stamped with the global simulated
//! time), watch events and session ends as clients saw them, and session expiries the
//! servers applied (once per zxid). The result is `proto::history::Event`s in time order —
//! `history.jsonl` — for the offline checkers.
//! Invariants: every completion pairs with exactly one earlier invocation of the same
//! process and call; an operation never completed ends the run as `info`; at most
//! `HISTORY_EVENTS_MAX` events are kept (more are counted as dropped, and a history with
//! drops is not judged).

use std::collections::{BTreeMap, BTreeSet};

use proto::history::{
    BarrierEnd, BarrierRecord, BarrierStep, ClientNote, ConfigRecord, Event, LeaderEnd,
    LeaderRecord, LockEnd, LockRecord, MemberEnd, MemberRecord, MemberStep, MqAckRecord,
    MqCommitRecord, MqConsumeRecord, MqUncleanRecord, OpRecord, Outcome, QueueRecord,
    ResourceRecord, TaskEnd, TaskRecord, TaskWriteRecord, ViewRecord,
};
use proto::zk::{Op, OpResult, SessionId};
use proto::{ProcessId, Time, Zxid};
use zkserver::Note;

/// Most events one run's history keeps.
pub const HISTORY_EVENTS_MAX: usize = 2_000_000;

#[derive(Debug, Default)]
pub struct HistoryRecorder {
    events: Vec<Event>,
    /// Invoked, not yet completed: (process, call) → record so far (boxed: the map moves
    /// a pointer, not a record, as it rebalances).
    pending: BTreeMap<(ProcessId, u64), Box<OpRecord>>,
    expiries: BTreeSet<Zxid>,
    /// Committed client writes by (session, xid), from the leaders' notes, kept only while
    /// they may still name the zxid of an `info` write: an entry is dropped when its write
    /// completes with its own zxid (so the map holds the writes in flight, not the run).
    applied: BTreeMap<(SessionId, u64), Zxid>,
    /// Queue operations started, not yet ended: (process, call) → record so far.
    queue_pending: BTreeMap<(ProcessId, u64), QueueRecord>,
    /// Lock holds requested, not yet ended: (process, session, hold) → record so far.
    lock_pending: BTreeMap<(ProcessId, SessionId, u64), LockRecord>,
    /// Leadership tenures begun, not yet ended: (process, tenure) → record so far.
    leader_pending: BTreeMap<(ProcessId, u64), LeaderRecord>,
    /// Task executions begun, not yet ended: (process, attempt) → record so far.
    task_pending: BTreeMap<(ProcessId, u64), TaskRecord>,
    /// Operations of client processes that crashed before they completed (kept apart: a
    /// restarted process numbers its calls from the start again).
    crashed: Vec<OpRecord>,
    /// Double-barrier attempts not yet ended: (process, session, round) → record so far.
    barrier_pending: BTreeMap<(ProcessId, SessionId, u64), BarrierRecord>,
    /// Group memberships not yet ended: (process, session, join) → record so far.
    member_pending: BTreeMap<(ProcessId, SessionId, u64), MemberRecord>,
    pub dropped: u64,
}

/// Events a history reserves room for at the start (a recipe run records a few thousand),
/// so that the event vector is not copied as it grows.
const HISTORY_EVENTS_RESERVED: usize = 4096;

impl HistoryRecorder {
    pub fn new() -> HistoryRecorder {
        HistoryRecorder {
            events: Vec::with_capacity(HISTORY_EVENTS_RESERVED),
            ..HistoryRecorder::default()
        }
    }

    /// [`HistoryRecorder::on_note`] of a note given up by its caller: an operation's
    /// invocation and completion move its op and result into the history, uncopied.
    pub fn take_note(&mut self, now: Time, pid: ProcessId, note: Note) {
        let Note::Client(c) = note else {
            return self.on_note(now, pid, &note);
        };
        match *c {
            ClientNote::Invoke {
                call,
                session,
                xid,
                op,
            } => self.on_invoke(now, pid, call, session, xid, op),
            ClientNote::Complete { call, result, zxid } => {
                self.on_complete(now, pid, call, result, zxid)
            }
            other => self.on_client(now, pid, &other),
        }
    }

    pub fn on_note(&mut self, now: Time, pid: ProcessId, note: &Note) {
        match note {
            Note::Client(c) => self.on_client(now, pid, c),
            Note::Applied { session, xid, zxid } => {
                self.applied.insert((*session, *xid), *zxid);
            }
            Note::SessionExpired { session, zxid } if self.expiries.insert(*zxid) => {
                self.push(Event::ServerClose {
                    session: *session,
                    zxid: *zxid,
                    time_ns: now.ns(),
                });
            }
            _ => {}
        }
    }

    /// Process `pid` crashed: whatever it had in flight is never answered. Its operations
    /// end `info` (kept for the end of the history), its lock holds end `open`. Servers
    /// have nothing here, so only crashed clients change the history.
    pub fn on_crash(&mut self, now: Time, pid: ProcessId) {
        let calls: Vec<(ProcessId, u64)> = self
            .pending
            .range((pid, 0)..=(pid, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in calls {
            self.crashed.push(*self.pending.remove(&k).expect("listed"));
        }
        let holds: Vec<(ProcessId, SessionId, u64)> = self
            .lock_pending
            .range((pid, SessionId(0), 0)..=(pid, SessionId(u64::MAX), u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in holds {
            let mut record = self.lock_pending.remove(&k).expect("listed");
            record.end_ns = Some(now.ns());
            record.end = LockEnd::Open;
            self.push(Event::Lock(record));
        }
        // A restarted process numbers its tenures and executions from 1 again: end them.
        let tenures: Vec<(ProcessId, u64)> = self
            .leader_pending
            .range((pid, 0)..=(pid, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in tenures {
            let mut record = self.leader_pending.remove(&k).expect("listed");
            record.end_ns = Some(now.ns());
            record.end = LeaderEnd::Open;
            self.push(Event::Leader(record));
        }
        let tasks: Vec<(ProcessId, u64)> = self
            .task_pending
            .range((pid, 0)..=(pid, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in tasks {
            let mut record = self.task_pending.remove(&k).expect("listed");
            record.end_ns = Some(now.ns());
            record.end = TaskEnd::Open;
            self.push(Event::Task(record));
        }
        assert!(
            !self.queue_pending.keys().any(|(p, _)| *p == pid),
            "{pid}: queue clients are not fault targets"
        );
        // Barrier attempts and memberships of the crashed process end `open`.
        let range = (pid, SessionId(0), 0)..=(pid, SessionId(u64::MAX), u64::MAX);
        let attempts: Vec<_> = self
            .barrier_pending
            .range(range.clone())
            .map(|(k, _)| *k)
            .collect();
        for k in attempts {
            let mut record = self.barrier_pending.remove(&k).expect("listed");
            record.end_ns = Some(now.ns());
            self.push(Event::Barrier(record));
        }
        let memberships: Vec<_> = self.member_pending.range(range).map(|(k, _)| *k).collect();
        for k in memberships {
            let mut record = self.member_pending.remove(&k).expect("listed");
            record.end_ns = Some(now.ns());
            self.push(Event::Member(record));
        }
    }

    /// A double-barrier step: the first of a (process, session, round) opens its record;
    /// `Left` and `Lost` close it.
    fn on_barrier(
        &mut self,
        now: Time,
        pid: ProcessId,
        session: SessionId,
        round: u64,
        barrier: &str,
        step: BarrierStep,
    ) {
        let t = Some(now.ns());
        let record = self
            .barrier_pending
            .entry((pid, session, round))
            .or_insert_with(|| BarrierRecord {
                process: pid,
                session,
                round,
                barrier: barrier.to_string(),
                start_ns: now.ns(),
                enter_ns: None,
                entered_ns: None,
                leave_ns: None,
                left_ns: None,
                end_ns: None,
                end: BarrierEnd::Open,
            });
        let slot = match step {
            BarrierStep::Enter => &mut record.enter_ns,
            BarrierStep::Entered => &mut record.entered_ns,
            BarrierStep::Leave => &mut record.leave_ns,
            BarrierStep::Left => &mut record.left_ns,
            BarrierStep::Lost => &mut record.end_ns,
        };
        assert!(
            slot.is_none(),
            "{pid} barrier round {round}: step {step:?} twice in {session}"
        );
        *slot = t;
        let end = match step {
            BarrierStep::Left => BarrierEnd::Left,
            BarrierStep::Lost => BarrierEnd::Lost,
            _ => return,
        };
        let mut record = self
            .barrier_pending
            .remove(&(pid, session, round))
            .expect("just updated");
        record.end_ns = t;
        record.end = end;
        self.push(Event::Barrier(record));
    }

    /// A group member's step: `Join` opens the membership's record; `Left` and `Lost`
    /// close it.
    fn on_member(&mut self, now: Time, pid: ProcessId, note: &ClientNote) {
        let ClientNote::Member {
            session,
            group,
            name,
            data,
            join,
            step,
        } = note
        else {
            unreachable!("a member note")
        };
        let key = (pid, *session, *join);
        if *step == MemberStep::Join {
            let record = MemberRecord {
                process: pid,
                session: *session,
                group: group.clone(),
                name: name.clone(),
                data: data.clone(),
                join: *join,
                join_ns: now.ns(),
                joined_ns: None,
                leave_ns: None,
                end_ns: None,
                end: MemberEnd::Open,
            };
            let previous = self.member_pending.insert(key, record);
            assert!(previous.is_none(), "{pid} joined twice as join {join}");
            return;
        }
        let record = self
            .member_pending
            .get_mut(&key)
            .unwrap_or_else(|| panic!("{pid} member step {step:?} of join {join} never asked"));
        assert_eq!(&record.data, data, "a membership keeps its data");
        let end = match step {
            MemberStep::Join => unreachable!("handled"),
            MemberStep::Joined => {
                assert!(record.joined_ns.is_none(), "{pid} joined twice");
                record.joined_ns = Some(now.ns());
                return;
            }
            MemberStep::Leave => {
                assert!(record.leave_ns.is_none(), "{pid} left twice");
                record.leave_ns = Some(now.ns());
                return;
            }
            MemberStep::Left => MemberEnd::Left,
            MemberStep::Lost => MemberEnd::Lost,
        };
        let mut record = self.member_pending.remove(&key).expect("found");
        record.end_ns = Some(now.ns());
        record.end = end;
        self.push(Event::Member(record));
    }

    fn on_client(&mut self, now: Time, pid: ProcessId, note: &ClientNote) {
        match note {
            ClientNote::Invoke {
                call,
                session,
                xid,
                op,
            } => self.on_invoke(now, pid, *call, *session, *xid, op.clone()),
            ClientNote::Complete { call, result, zxid } => {
                self.on_complete(now, pid, *call, result.clone(), *zxid)
            }
            ClientNote::Watch { session, watch } => self.push(Event::Watch {
                process: pid,
                session: *session,
                time_ns: now.ns(),
                watch: watch.clone(),
            }),
            ClientNote::SessionEnd { session, end } => self.push(Event::SessionEnd {
                process: pid,
                session: *session,
                time_ns: now.ns(),
                end: *end,
            }),
            ClientNote::QueueStart {
                call,
                queue,
                kind,
                item,
                at_least_once,
            } => {
                let record = QueueRecord {
                    process: pid,
                    queue: queue.clone(),
                    kind: *kind,
                    item: *item,
                    invoke_ns: now.ns(),
                    complete_ns: None,
                    outcome: Outcome::Info,
                    at_least_once: *at_least_once,
                };
                let previous = self.queue_pending.insert((pid, *call), record);
                assert!(previous.is_none(), "{pid} started queue call {call} twice");
            }
            ClientNote::QueueEnd {
                call,
                item,
                outcome,
            } => {
                let mut record = self
                    .queue_pending
                    .remove(&(pid, *call))
                    .unwrap_or_else(|| panic!("{pid} ended queue call {call} never started"));
                record.item = (*item).or(record.item);
                record.complete_ns = Some(now.ns());
                record.outcome = *outcome;
                self.push(Event::Queue(record));
            }
            ClientNote::LockRequest {
                session,
                hold,
                lock,
            } => {
                let record = LockRecord {
                    process: pid,
                    session: *session,
                    hold: *hold,
                    lock: lock.clone(),
                    node: None,
                    token: None,
                    request_ns: now.ns(),
                    acquired_ns: None,
                    end_ns: None,
                    end: LockEnd::Open,
                    watch_events: 0,
                };
                let previous = self.lock_pending.insert((pid, *session, *hold), record);
                assert!(previous.is_none(), "{pid} requested hold {hold} twice");
            }
            ClientNote::LockAcquired {
                session,
                hold,
                node,
                token,
            } => {
                let record = self
                    .lock_pending
                    .get_mut(&(pid, *session, *hold))
                    .unwrap_or_else(|| panic!("{pid} acquired hold {hold} never requested"));
                assert!(
                    record.acquired_ns.is_none(),
                    "{pid} acquired hold {hold} twice"
                );
                record.node = Some(node.clone());
                record.token = Some(*token);
                record.acquired_ns = Some(now.ns());
            }
            ClientNote::LockEnd {
                session,
                hold,
                node,
                end,
                watch_events,
            } => {
                let mut record = self
                    .lock_pending
                    .remove(&(pid, *session, *hold))
                    .unwrap_or_else(|| panic!("{pid} ended hold {hold} never requested"));
                record.node = node.clone().or(record.node);
                record.end_ns = Some(now.ns());
                record.end = *end;
                record.watch_events = *watch_events;
                self.push(Event::Lock(record));
            }
            ClientNote::MqAck {
                part,
                offset,
                key,
                value,
                acks_all,
                leader,
                leader_epoch,
                latency_ns,
            } => self.push(Event::MqAck(MqAckRecord {
                producer: pid,
                part: *part,
                offset: *offset,
                key: *key,
                value: *value,
                acks_all: *acks_all,
                leader: *leader,
                leader_epoch: *leader_epoch,
                time_ns: now.ns(),
                latency_ns: *latency_ns,
            })),
            ClientNote::MqUnclean {
                part,
                epoch,
                leader,
            } => self.push(Event::MqUnclean(MqUncleanRecord {
                controller: pid,
                part: *part,
                epoch: *epoch,
                leader: *leader,
                time_ns: now.ns(),
            })),
            ClientNote::MqConsumed {
                session,
                part,
                offset,
                value,
                leader,
                leader_epoch,
            } => self.push(Event::MqConsumed(MqConsumeRecord {
                consumer: pid,
                session: *session,
                part: *part,
                offset: *offset,
                value: *value,
                leader: *leader,
                leader_epoch: *leader_epoch,
                time_ns: now.ns(),
            })),
            ClientNote::MqCommitted {
                session,
                part,
                offset,
                version,
                zxid,
            } => self.push(Event::MqCommit(MqCommitRecord {
                consumer: pid,
                session: *session,
                part: *part,
                offset: *offset,
                version: *version,
                zxid: *zxid,
                time_ns: now.ns(),
            })),
            ClientNote::ResourceWrite {
                index,
                holder,
                session,
                hold,
                token,
                accepted,
            } => self.push(Event::Resource(ResourceRecord {
                resource: pid,
                index: *index,
                holder: *holder,
                session: *session,
                hold: *hold,
                token: *token,
                time_ns: now.ns(),
                accepted: *accepted,
            })),
            ClientNote::LeaderStart {
                session,
                tenure,
                node,
                epoch,
            } => {
                let record = LeaderRecord {
                    process: pid,
                    session: *session,
                    tenure: *tenure,
                    node: node.clone(),
                    epoch: *epoch,
                    start_ns: now.ns(),
                    end_ns: None,
                    end: LeaderEnd::Open,
                };
                let previous = self.leader_pending.insert((pid, *tenure), record);
                assert!(previous.is_none(), "{pid} began tenure {tenure} twice");
            }
            ClientNote::LeaderEnd { tenure, end } => {
                let mut record = self
                    .leader_pending
                    .remove(&(pid, *tenure))
                    .unwrap_or_else(|| panic!("{pid} ended tenure {tenure} never begun"));
                record.end_ns = Some(now.ns());
                record.end = *end;
                self.push(Event::Leader(record));
            }
            ClientNote::TaskStart {
                session,
                attempt,
                task,
                token,
            } => {
                let record = TaskRecord {
                    process: pid,
                    session: *session,
                    attempt: *attempt,
                    task: *task,
                    token: *token,
                    start_ns: now.ns(),
                    end_ns: None,
                    end: TaskEnd::Open,
                };
                let previous = self.task_pending.insert((pid, *attempt), record);
                assert!(previous.is_none(), "{pid} began execution {attempt} twice");
            }
            ClientNote::TaskEnd {
                attempt,
                end,
                token,
            } => {
                let mut record = self
                    .task_pending
                    .remove(&(pid, *attempt))
                    .unwrap_or_else(|| panic!("{pid} ended execution {attempt} never begun"));
                record.end_ns = Some(now.ns());
                record.end = *end;
                record.token = (*token).or(record.token);
                self.push(Event::Task(record));
            }
            ClientNote::TaskWrite {
                index,
                worker,
                session,
                attempt,
                task,
                n,
                token,
                accepted,
            } => self.push(Event::TaskWrite(TaskWriteRecord {
                resource: pid,
                index: *index,
                worker: *worker,
                session: *session,
                attempt: *attempt,
                task: *task,
                n: *n,
                token: *token,
                time_ns: now.ns(),
                accepted: *accepted,
            })),
            ClientNote::Barrier {
                session,
                round,
                barrier,
                step,
            } => self.on_barrier(now, pid, *session, *round, barrier, *step),
            ClientNote::Member { .. } => self.on_member(now, pid, note),
            ClientNote::GroupView {
                session,
                group,
                members,
            } => self.push(Event::View(ViewRecord {
                process: pid,
                session: *session,
                group: group.clone(),
                time_ns: now.ns(),
                members: members.clone(),
            })),
            ClientNote::Config {
                session,
                kind,
                number,
                node,
                zxid,
            } => self.push(Event::Config(ConfigRecord {
                process: pid,
                session: *session,
                kind: *kind,
                number: *number,
                node: node.clone(),
                zxid: *zxid,
                time_ns: now.ns(),
            })),
        }
    }

    fn on_invoke(
        &mut self,
        now: Time,
        pid: ProcessId,
        call: u64,
        session: SessionId,
        xid: u64,
        op: Op,
    ) {
        let record = OpRecord {
            process: pid,
            session,
            xid,
            op,
            invoke_ns: now.ns(),
            complete_ns: None,
            outcome: Outcome::Info,
            result: None,
            zxid: None,
        };
        let previous = self.pending.insert((pid, call), Box::new(record));
        assert!(previous.is_none(), "{pid} invoked call {call} twice");
    }

    fn on_complete(
        &mut self,
        now: Time,
        pid: ProcessId,
        call: u64,
        result: OpResult,
        zxid: Option<Zxid>,
    ) {
        let mut record = self
            .pending
            .remove(&(pid, call))
            .unwrap_or_else(|| panic!("{pid} completed call {call} never invoked"));
        record.complete_ns = Some(now.ns());
        record.outcome = Outcome::of(&result, zxid);
        record.result = Some(result);
        record.zxid = zxid;
        if zxid.is_some() {
            // The write knows its zxid: `fill_zxid` will never look it up.
            self.applied.remove(&(record.session, record.xid));
        }
        self.push(Event::Op(*record));
    }

    fn push(&mut self, e: Event) {
        if self.events.len() >= HISTORY_EVENTS_MAX {
            self.dropped += 1;
            return;
        }
        self.events.push(e);
    }

    /// The history: recorded events, then the operations never answered (as `info`, in
    /// invocation order). An `info` write that did commit gets the zxid it committed at
    /// (its outcome stays `info`: the client never learned it).
    pub fn finish(mut self) -> Vec<Event> {
        let applied = std::mem::take(&mut self.applied);
        for e in &mut self.events {
            if let Event::Op(r) = e {
                fill_zxid(&applied, r);
            }
        }
        let mut open: Vec<OpRecord> = std::mem::take(&mut self.pending)
            .into_values()
            .map(|r| *r)
            .collect();
        open.append(&mut self.crashed);
        for r in &mut open {
            fill_zxid(&applied, r);
        }
        self.finish_open(open)
    }

    fn finish_open(mut self, mut open: Vec<OpRecord>) -> Vec<Event> {
        open.sort_by_key(|r| (r.invoke_ns, r.process, r.xid));
        for r in open {
            self.push(Event::Op(r));
        }
        // Queue calls still running: their outcome is unknown (a dequeue's item may be too).
        let open: Vec<QueueRecord> = std::mem::take(&mut self.queue_pending)
            .into_values()
            .collect();
        for r in open {
            self.push(Event::Queue(r));
        }
        // Lock holds still running: ended `open`, at their request time.
        let open: Vec<LockRecord> = std::mem::take(&mut self.lock_pending)
            .into_values()
            .collect();
        for r in open {
            self.push(Event::Lock(r));
        }
        // Tenures and executions still running: ended `open`, at their start.
        let open: Vec<LeaderRecord> = std::mem::take(&mut self.leader_pending)
            .into_values()
            .collect();
        for r in open {
            self.push(Event::Leader(r));
        }
        let open: Vec<TaskRecord> = std::mem::take(&mut self.task_pending)
            .into_values()
            .collect();
        for r in open {
            self.push(Event::Task(r));
        }
        // Barrier attempts and memberships still running: ended `open`, without an end.
        let open: Vec<BarrierRecord> = std::mem::take(&mut self.barrier_pending)
            .into_values()
            .collect();
        for r in open {
            self.push(Event::Barrier(r));
        }
        let open: Vec<MemberRecord> = std::mem::take(&mut self.member_pending)
            .into_values()
            .collect();
        for r in open {
            self.push(Event::Member(r));
        }
        self.events
    }
}

fn fill_zxid(applied: &BTreeMap<(SessionId, u64), Zxid>, r: &mut OpRecord) {
    if r.outcome == Outcome::Info && r.zxid.is_none() && r.op.is_write() {
        r.zxid = applied.get(&(r.session, r.xid)).copied();
    }
}
