//! The fail-over task scheduler's worker side as a sans-IO state machine over a session:
//! per session a worker makes its assignment directory `/assign/<name>` and registers as
//! the ephemeral `/workers/<name>` (`<name>` = `<prefix>-<session in hex>`, so a worker's
//! sessions never collide), watches its directory's children, and executes its tasks one at
//! a time, lowest first: it reads the assignment (the assigning leader's epoch, the fencing
//! token), lets the host run the execution (writes to the protected resource), then
//! completes the task with one multi: create `/done/t-N` (naming itself), delete the
//! assignment. A completion whose answer was lost is confirmed by reading `/done/t-N`; a
//! task another worker completed first has its assignment deleted.
//!
//! A write the resource refuses (a newer leader's epoch was seen) makes the worker read its
//! assignment again, with a watch: a newer epoch (the new leader re-stamped it) restarts the
//! execution with it; otherwise the worker waits for the re-stamp. An assignment that is
//! gone (moved to another worker, or completed by one) drops the task. A session that ends
//! loses the execution in progress: the worker starts over under a new name, and the
//! leader moves the old name's tasks.
//!
//! The host submits `next_op` while connected (one op at a time), feeds back completions,
//! watch events and session changes, runs the execution `executing` names and reports the
//! returned [`TaskEvent`]s. Invariants (asserted after every input): at most one op in
//! flight, and only in a step that sends one; an execution in progress has a task and,
//! with fencing, a token; at most `QUEUED_MAX` tasks are queued.

use std::collections::VecDeque;

use proto::history::TaskEnd;
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, MultiResult, Op, OpResult, SessionId, ZkError};

use super::scheduler::{ASSIGN, DONE, WORKERS, task_name, task_of};

/// Most tasks a worker keeps queued.
pub const QUEUED_MAX: usize = 1 << 20;
/// The directories a worker needs (made by whoever comes first).
const WORKER_DIRS: [&str; 3] = [ASSIGN, WORKERS, DONE];

/// An execution starting or ending, for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskEvent {
    Started {
        session: SessionId,
        attempt: u64,
        task: u64,
        token: Option<u64>,
    },
    Ended {
        attempt: u64,
        end: TaskEnd,
        token: Option<u64>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Setup(usize),
    MakeDir,
    Register,
    List,
    Read,
    /// The host executes the task.
    Execute,
    Complete,
    /// The completion's answer was lost: is `/done/t-N` ours?
    Confirm,
    /// The task is done by another: delete our assignment of it.
    Discard,
    /// Refused: read the assignment again, with a watch.
    ReadEpoch,
    /// Waiting for the assignment's re-stamp.
    WaitEpoch,
    /// Waiting for an assignment.
    Idle,
    /// The session ended; waiting for the next one.
    Dead,
}

/// The execution in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Exec {
    task: u64,
    /// The epoch read from the assignment; `None` until read.
    epoch: Option<u64>,
    /// Its execution number (once started).
    attempt: Option<u64>,
}

/// One worker's recipe.
#[derive(Clone, Debug)]
pub struct Worker {
    prefix: String,
    setup_done: bool,
    session: SessionId,
    name: Option<String>,
    step: Step,
    in_flight: bool,
    queued: VecDeque<u64>,
    /// The children changed while busy: list again when free.
    relist: bool,
    current: Option<Exec>,
    attempts: u64,
    /// Tasks this worker completed, and executions restarted with a newer epoch.
    pub completed: u64,
    pub restarts: u64,
}

/// The epoch an assignment's data carries (`e=<hex>`).
fn epoch_of(data: &[u8]) -> Option<u64> {
    proto::history::leader_action_epoch(&Op::SetData {
        path: String::new(),
        data: data.to_vec(),
        version: Op::ANY_VERSION,
    })
}

impl Worker {
    /// A worker naming itself `<prefix>-<session>`.
    pub fn new(prefix: &str) -> Worker {
        assert!(!prefix.is_empty() && !prefix.contains('/'));
        Worker {
            prefix: prefix.to_string(),
            setup_done: false,
            session: SessionId::NONE,
            name: None,
            step: Step::Dead,
            in_flight: false,
            queued: VecDeque::new(),
            relist: false,
            current: None,
            attempts: 0,
            completed: 0,
            restarts: 0,
        }
    }

    /// The worker's name in its current session.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The task to execute now and its token (the assignment's epoch), if executing.
    pub fn executing(&self) -> Option<(u64, u64, Option<u64>)> {
        match (&self.step, &self.current) {
            (Step::Execute, Some(e)) => Some((e.task, e.attempt.expect("started"), e.epoch)),
            _ => None,
        }
    }

    /// What the worker is doing, for a liveness finding.
    pub fn explain(&self) -> String {
        format!(
            "worker {} {:?}, task {:?}, {} queued",
            self.name.as_deref().unwrap_or("unnamed"),
            self.step,
            self.current.as_ref().map(|e| e.task),
            self.queued.len()
        )
    }

    fn check_invariants(&self) {
        assert!(self.queued.len() <= QUEUED_MAX, "too many queued tasks");
        assert!(
            !self.in_flight
                || !matches!(
                    self.step,
                    Step::Execute | Step::WaitEpoch | Step::Idle | Step::Dead
                ),
            "an op in flight in step {:?}",
            self.step
        );
        if matches!(
            self.step,
            Step::Read
                | Step::Execute
                | Step::Complete
                | Step::Confirm
                | Step::Discard
                | Step::ReadEpoch
                | Step::WaitEpoch
        ) {
            assert!(
                self.current.is_some(),
                "step {:?} without a task",
                self.step
            );
        }
        if self.step == Step::Execute {
            let e = self.current.as_ref().expect("checked");
            assert!(
                e.attempt.is_some() && e.epoch.is_some(),
                "an unstarted execution"
            );
        }
        assert!(
            self.step == Step::Dead || self.name.is_some(),
            "a live worker without a name"
        );
    }

    fn assignment(&self, task: u64) -> String {
        let name = self.name.as_deref().expect("named");
        proto::text::concat(&[ASSIGN, "/", name, "/", &task_name(task)])
    }

    /// The session is connected: a new session starts the worker over under a new name.
    pub fn on_connected(&mut self, session: SessionId) -> Option<TaskEvent> {
        self.check_invariants();
        assert!(!session.is_none());
        if session == self.session {
            return None; // the step in progress runs again
        }
        let event = self.on_session_lost();
        self.session = session;
        self.name = Some(format!("{}-{:x}", self.prefix, session.0));
        self.step = if self.setup_done {
            Step::MakeDir
        } else {
            Step::Setup(0)
        };
        assert!(
            self.current.is_none() && self.queued.is_empty() && !self.in_flight,
            "a new session starts with no task"
        );
        event
    }

    /// The session ended: the execution in progress is lost.
    pub fn on_session_lost(&mut self) -> Option<TaskEvent> {
        self.in_flight = false;
        self.step = Step::Dead;
        self.queued.clear();
        self.relist = false;
        self.end(TaskEnd::Lost)
    }

    fn end(&mut self, end: TaskEnd) -> Option<TaskEvent> {
        let e = self.current.take()?;
        let attempt = e.attempt?;
        if end == TaskEnd::Done {
            self.completed += 1;
        }
        Some(TaskEvent::Ended {
            attempt,
            end,
            token: e.epoch,
        })
    }

    /// The host's execution finished (every write acknowledged): complete the task.
    pub fn executed(&mut self) {
        self.check_invariants();
        assert_eq!(self.step, Step::Execute, "executed outside an execution");
        assert!(
            self.current.as_ref().is_some_and(|e| e.attempt.is_some()),
            "an execution that started"
        );
        self.step = Step::Complete;
    }

    /// The resource refused the execution's token: look for a newer epoch.
    pub fn refused(&mut self) {
        self.check_invariants();
        assert_eq!(self.step, Step::Execute, "refused outside an execution");
        self.step = Step::ReadEpoch;
    }

    /// The next op to submit now.
    pub fn next_op(&mut self) -> Option<Op> {
        self.check_invariants();
        if self.in_flight {
            return None;
        }
        let task = self.current.as_ref().map(|e| e.task);
        let name = self.name.clone().unwrap_or_default();
        let op = match self.step {
            Step::Setup(i) => Op::Create {
                path: WORKER_DIRS[i].to_string(),
                data: Vec::new(),
                mode: CreateMode::Persistent,
            },
            Step::MakeDir => Op::Create {
                path: proto::text::concat(&[ASSIGN, "/", &name]),
                data: Vec::new(),
                mode: CreateMode::Persistent,
            },
            Step::Register => Op::Create {
                path: proto::text::concat(&[WORKERS, "/", &name]),
                data: Vec::new(),
                mode: CreateMode::Ephemeral,
            },
            Step::List => Op::GetChildren {
                path: proto::text::concat(&[ASSIGN, "/", &name]),
                watch: true,
            },
            Step::Read | Step::ReadEpoch => Op::GetData {
                path: self.assignment(task.expect("a task")),
                watch: self.step == Step::ReadEpoch,
            },
            Step::Complete => {
                let task = task.expect("a task");
                let token = self.current.as_ref().and_then(|e| e.epoch).unwrap_or(0);
                Op::Multi(vec![
                    Op::Create {
                        path: format!("{DONE}/{}", task_name(task)),
                        data: format!("w={name} t={token:x}").into_bytes(),
                        mode: CreateMode::Persistent,
                    },
                    Op::Delete {
                        path: self.assignment(task),
                        version: Op::ANY_VERSION,
                    },
                ])
            }
            Step::Confirm => Op::GetData {
                path: format!("{DONE}/{}", task_name(task.expect("a task"))),
                watch: false,
            },
            Step::Discard => Op::Delete {
                path: self.assignment(task.expect("a task")),
                version: Op::ANY_VERSION,
            },
            Step::Execute | Step::WaitEpoch | Step::Idle | Step::Dead => return None,
        };
        self.in_flight = true;
        Some(op)
    }

    /// A watch event: new assignments, or our assignment re-stamped or taken.
    pub fn on_watch(&mut self, event: &WatchEvent) {
        self.check_invariants();
        let Some(name) = self.name.as_deref() else {
            return;
        };
        if event.path == format!("{ASSIGN}/{name}") {
            if self.step == Step::Idle {
                self.step = Step::List;
            } else {
                self.relist = true;
            }
            return;
        }
        if self.step == Step::WaitEpoch
            && let Some(e) = &self.current
            && event.path == self.assignment(e.task)
            && matches!(
                event.kind,
                EventType::NodeDataChanged | EventType::NodeDeleted
            )
        {
            self.step = Step::ReadEpoch;
        }
    }

    /// Takes the next queued task, or waits.
    fn next_task(&mut self) -> Option<TaskEvent> {
        if std::mem::take(&mut self.relist) {
            self.step = Step::List;
            return None;
        }
        self.step = match self.queued.pop_front() {
            Some(task) => {
                self.current = Some(Exec {
                    task,
                    epoch: None,
                    attempt: None,
                });
                Step::Read
            }
            None => Step::Idle,
        };
        None
    }

    /// The completion of the op in flight.
    pub fn on_result(&mut self, op: &Op, result: &OpResult) -> Option<TaskEvent> {
        self.check_invariants();
        assert!(self.in_flight, "a result without an op in flight: {op:?}");
        self.in_flight = false;
        match result {
            OpResult::Err(ZkError::SessionExpired) => return self.on_session_lost(),
            OpResult::Err(ZkError::ConnectionLoss) => {
                // The step runs again after the reconnect; a completion is confirmed.
                if self.step == Step::Complete {
                    self.step = Step::Confirm;
                }
                return None;
            }
            _ => {}
        }
        match self.step.clone() {
            Step::Setup(i) => {
                assert!(
                    matches!(
                        result,
                        OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
                    ),
                    "setup answered {result:?}"
                );
                self.step = if i + 1 < WORKER_DIRS.len() {
                    Step::Setup(i + 1)
                } else {
                    self.setup_done = true;
                    Step::MakeDir
                };
                None
            }
            Step::MakeDir | Step::Register => {
                assert!(
                    matches!(
                        result,
                        OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
                    ),
                    "registration answered {result:?}"
                );
                self.step = if self.step == Step::MakeDir {
                    Step::Register
                } else {
                    Step::List
                };
                None
            }
            Step::List => {
                let mut tasks: Vec<u64> = match result {
                    OpResult::Children(names) => names.iter().filter_map(|n| task_of(n)).collect(),
                    _ => Vec::new(),
                };
                assert!(tasks.len() <= QUEUED_MAX, "too many assignments");
                tasks.sort_unstable();
                assert!(
                    tasks.windows(2).all(|w| w[0] < w[1]),
                    "a task is assigned once per worker"
                );
                let mut event = None;
                if let Some(e) = &self.current
                    && tasks.binary_search(&e.task).is_err()
                {
                    event = self.end(TaskEnd::Dropped);
                }
                if let Some(e) = &self.current {
                    let task = e.task;
                    tasks.retain(|&t| t != task);
                }
                self.queued = tasks.into();
                match self.current {
                    // Listing interrupted an execution (only after a lost connection):
                    // read the assignment again.
                    Some(_) => self.step = Step::Read,
                    None => {
                        let _ = self.next_task();
                    }
                }
                event
            }
            Step::Read => {
                let e = self.current.as_mut().expect("checked");
                match result {
                    OpResult::Data { data, .. } => {
                        let epoch = epoch_of(data).expect("an assignment carries its epoch");
                        e.epoch = Some(e.epoch.map_or(epoch, |old| old.max(epoch)));
                        self.step = Step::Execute;
                        if e.attempt.is_some() {
                            return None; // the same execution goes on
                        }
                        self.attempts += 1;
                        e.attempt = Some(self.attempts);
                        Some(TaskEvent::Started {
                            session: self.session,
                            attempt: self.attempts,
                            task: e.task,
                            token: e.epoch,
                        })
                    }
                    _ => {
                        let event = self.end(TaskEnd::Dropped);
                        self.next_task();
                        event
                    }
                }
            }
            Step::ReadEpoch => {
                let e = self.current.as_mut().expect("checked");
                match result {
                    OpResult::Data { data, .. } => {
                        let epoch = epoch_of(data).expect("an assignment carries its epoch");
                        if e.epoch.is_none_or(|old| epoch > old) {
                            e.epoch = Some(epoch);
                            self.restarts += 1;
                            self.step = Step::Execute;
                        } else {
                            self.step = Step::WaitEpoch;
                        }
                        None
                    }
                    _ => {
                        let event = self.end(TaskEnd::Dropped);
                        self.next_task();
                        event
                    }
                }
            }
            Step::Complete => {
                let done_by_another = matches!(
                    result,
                    OpResult::Multi(r) if r.first() == Some(&MultiResult::Err(ZkError::NodeExists))
                );
                if done_by_another {
                    // Our assignment of a done task would be listed forever: delete it.
                    self.step = Step::Discard;
                    return None;
                }
                let end = if result.error().is_none() {
                    TaskEnd::Done
                } else {
                    TaskEnd::Dropped // moved away
                };
                let event = self.end(end);
                self.next_task();
                event
            }
            Step::Discard => {
                let event = self.end(TaskEnd::Dropped);
                self.next_task();
                event
            }
            Step::Confirm => match result {
                OpResult::Data { data, .. } => {
                    let name = self.name.as_deref().expect("named");
                    let ours = data.starts_with(format!("w={name} ").as_bytes());
                    let event = self.end(if ours {
                        TaskEnd::Done
                    } else {
                        TaskEnd::Dropped
                    });
                    self.next_task();
                    event
                }
                _ => {
                    self.step = Step::Complete; // it did not happen: complete again
                    None
                }
            },
            other => panic!("a result in step {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Zxid;
    use proto::history::leader_action_data;
    use proto::zk::{MultiResult, Stat};

    const S: SessionId = SessionId(0xab);

    fn step(w: &mut Worker, expect: Op, result: OpResult) -> Option<TaskEvent> {
        let op = w.next_op().expect("an op");
        assert_eq!(op, expect);
        assert_eq!(w.next_op(), None, "one op at a time");
        w.on_result(&op, &result)
    }

    fn created(path: &str) -> OpResult {
        OpResult::Created {
            path: path.into(),
            stat: None,
        }
    }

    fn create(path: &str, mode: CreateMode) -> Op {
        Op::Create {
            path: path.into(),
            data: Vec::new(),
            mode,
        }
    }

    fn list() -> Op {
        Op::GetChildren {
            path: "/assign/w-5-ab".into(),
            watch: true,
        }
    }

    fn read(task: &str, watch: bool) -> Op {
        Op::GetData {
            path: format!("/assign/w-5-ab/{task}"),
            watch,
        }
    }

    fn data(epoch: u64) -> OpResult {
        OpResult::Data {
            data: leader_action_data(epoch),
            stat: Stat::default(),
        }
    }

    fn children(names: &[&str]) -> OpResult {
        OpResult::Children(names.iter().map(|n| n.to_string()).collect())
    }

    fn complete(task: &str, token: u64) -> Op {
        Op::Multi(vec![
            Op::Create {
                path: format!("/done/{task}"),
                data: format!("w=w-5-ab t={token:x}").into_bytes(),
                mode: CreateMode::Persistent,
            },
            Op::Delete {
                path: format!("/assign/w-5-ab/{task}"),
                version: -1,
            },
        ])
    }

    /// A registered worker, listing next.
    fn registered() -> Worker {
        let mut w = Worker::new("w-5");
        assert_eq!(w.next_op(), None, "nothing before a session");
        assert_eq!(w.on_connected(S), None);
        for dir in ["/assign", "/workers", "/done"] {
            step(
                &mut w,
                create(dir, CreateMode::Persistent),
                OpResult::Err(ZkError::NodeExists),
            );
        }
        step(
            &mut w,
            create("/assign/w-5-ab", CreateMode::Persistent),
            created("/assign/w-5-ab"),
        );
        step(
            &mut w,
            create("/workers/w-5-ab", CreateMode::Ephemeral),
            created("/workers/w-5-ab"),
        );
        w
    }

    /// Executing task 2 (attempt 1) with epoch 0x30.
    fn executing() -> Worker {
        let mut w = registered();
        assert_eq!(
            step(&mut w, list(), children(&["t-0000000004", "t-0000000002"])),
            None
        );
        let got = step(&mut w, read("t-0000000002", false), data(0x30));
        assert_eq!(
            got,
            Some(TaskEvent::Started {
                session: S,
                attempt: 1,
                task: 2,
                token: Some(0x30)
            })
        );
        assert_eq!(w.executing(), Some((2, 1, Some(0x30))));
        assert_eq!(w.next_op(), None, "the host executes");
        w
    }

    #[test]
    fn a_worker_registers_executes_its_lowest_task_and_completes_it() {
        let mut w = executing();
        w.executed();
        let got = step(
            &mut w,
            complete("t-0000000002", 0x30),
            OpResult::Multi(vec![
                MultiResult::Created {
                    path: "/done/t-0000000002".into(),
                    stat: None,
                },
                MultiResult::Deleted,
            ]),
        );
        assert_eq!(
            got,
            Some(TaskEvent::Ended {
                attempt: 1,
                end: TaskEnd::Done,
                token: Some(0x30)
            })
        );
        // The next queued task.
        let got = step(&mut w, read("t-0000000004", false), data(0x30));
        assert!(matches!(
            got,
            Some(TaskEvent::Started {
                attempt: 2,
                task: 4,
                ..
            })
        ));
        assert_eq!(w.completed, 1);
    }

    #[test]
    fn a_refused_execution_waits_for_the_restamp_and_restarts_with_the_new_epoch() {
        let mut w = executing();
        w.refused();
        assert_eq!(step(&mut w, read("t-0000000002", true), data(0x30)), None);
        assert_eq!(w.next_op(), None, "waiting for the new leader's stamp");
        w.on_watch(&WatchEvent {
            kind: EventType::NodeDataChanged,
            path: "/assign/w-5-ab/t-0000000002".into(),
            zxid: Zxid(0x50),
        });
        assert_eq!(step(&mut w, read("t-0000000002", true), data(0x48)), None);
        assert_eq!(
            w.executing(),
            Some((2, 1, Some(0x48))),
            "same execution, new token"
        );
        assert_eq!(w.restarts, 1);
    }

    #[test]
    fn a_lost_completion_is_confirmed_by_reading_done() {
        let mut w = executing();
        w.executed();
        assert_eq!(
            step(
                &mut w,
                complete("t-0000000002", 0x30),
                OpResult::Err(ZkError::ConnectionLoss)
            ),
            None
        );
        let confirm = Op::GetData {
            path: "/done/t-0000000002".into(),
            watch: false,
        };
        let got = step(
            &mut w,
            confirm.clone(),
            OpResult::Data {
                data: b"w=w-5-ab t=30".to_vec(),
                stat: Stat::default(),
            },
        );
        assert!(matches!(
            got,
            Some(TaskEvent::Ended {
                end: TaskEnd::Done,
                ..
            })
        ));
        // Near miss: someone else's completion means ours did not happen.
        let mut w = executing();
        w.executed();
        step(
            &mut w,
            complete("t-0000000002", 0x30),
            OpResult::Err(ZkError::ConnectionLoss),
        );
        let got = step(
            &mut w,
            confirm,
            OpResult::Data {
                data: b"w=w-5-abc t=30".to_vec(),
                stat: Stat::default(),
            },
        );
        assert!(matches!(
            got,
            Some(TaskEvent::Ended {
                end: TaskEnd::Dropped,
                ..
            })
        ));
    }

    #[test]
    fn a_moved_assignment_drops_the_task_and_an_expiry_loses_it() {
        let mut w = executing();
        w.refused();
        let got = step(
            &mut w,
            read("t-0000000002", true),
            OpResult::Err(ZkError::NoNode),
        );
        assert!(matches!(
            got,
            Some(TaskEvent::Ended {
                end: TaskEnd::Dropped,
                ..
            })
        ));
        // The queued task 4 is next; the session then expires during its execution.
        step(&mut w, read("t-0000000004", false), data(0x30));
        assert_eq!(
            w.on_connected(SessionId(0xcd)),
            Some(TaskEvent::Ended {
                attempt: 2,
                end: TaskEnd::Lost,
                token: Some(0x30)
            })
        );
        assert_eq!(w.name(), Some("w-5-cd"));
        let op = w.next_op().expect("registration in the new session");
        assert_eq!(op, create("/assign/w-5-cd", CreateMode::Persistent));
    }

    #[test]
    fn a_task_done_by_another_has_its_assignment_deleted() {
        let mut w = executing();
        w.executed();
        let got = step(
            &mut w,
            complete("t-0000000002", 0x30),
            OpResult::Multi(vec![
                MultiResult::Err(ZkError::NodeExists),
                MultiResult::Err(ZkError::RuntimeInconsistency),
            ]),
        );
        assert_eq!(got, None);
        let discard = Op::Delete {
            path: "/assign/w-5-ab/t-0000000002".into(),
            version: -1,
        };
        let got = step(&mut w, discard, OpResult::Deleted);
        assert!(matches!(
            got,
            Some(TaskEvent::Ended {
                end: TaskEnd::Dropped,
                ..
            })
        ));
    }

    #[test]
    fn new_assignments_while_busy_are_listed_after_the_task() {
        let mut w = executing();
        w.on_watch(&WatchEvent {
            kind: EventType::NodeChildrenChanged,
            path: "/assign/w-5-ab".into(),
            zxid: Zxid(0x40),
        });
        w.executed();
        step(
            &mut w,
            complete("t-0000000002", 0x30),
            OpResult::Multi(vec![
                MultiResult::RolledBack,
                MultiResult::Err(ZkError::NoNode),
            ]),
        );
        assert_eq!(step(&mut w, list(), children(&["t-0000000009"])), None);
        let got = step(&mut w, read("t-0000000009", false), data(0x31));
        assert!(matches!(got, Some(TaskEvent::Started { task: 9, .. })));
    }
}
