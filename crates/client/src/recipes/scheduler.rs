//! The fail-over task scheduler's leader side (seed 002's scheduler; the master of
//! ZooKeeper's master–worker example) as a sans-IO state machine: while its leader latch
//! leads, the scheduler creates tasks (`/tasks/t-N`, one every `task_interval_ms`, `tasks`
//! in all, numbered on from the highest a previous leader made), assigns each to a live
//! worker (`/assign/<worker>/t-N`; workers register as ephemeral `/workers/<worker>`), and
//! moves the tasks of a worker whose node is gone (its session ended) to a live one. Every
//! write it makes is a leader action carrying its epoch (`proto::history::leader_action_data`):
//! workers execute a task with the epoch found in its assignment as their fencing token.
//!
//! A tenure begins with a scan, in this order: a `sync` (so that the scan sees every write
//! of ours that committed, including a write whose answer was lost with the connection:
//! a lagging server would hide it, and the task would be assigned twice), the assignment
//! directories and their children, then the live workers (with a watch), then the tasks,
//! then the done tasks. An
//! assignment under a worker missing from the later workers listing belongs to a dead
//! worker: that worker registered before it was assigned anything, so its node was
//! deleted, i.e. its session ended — a live worker's tasks are never moved. The new leader
//! then re-stamps every assignment of a live worker with its own epoch (once per epoch), so
//! that tasks assigned by a deposed leader stay executable once the resource has seen the
//! new epoch, and deletes the assignments of tasks already done. Anything unexpected (a move whose source is gone, an assignment that exists)
//! scans again. The leader keeps one op in flight; a tenure that ends drops its state (the
//! latch's SUSPENDED ends it at every connection loss, so nothing is retried across one).
//! Invariants (asserted): ops only during a tenure and one at a time; every task the leader
//! knows is below `tasks`; an assignment names a worker directory the leader has seen or a
//! live worker; at most `TASKS_MAX` tasks and `WORKERS_MAX` workers are considered.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proto::history::leader_action_data;
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, Op, OpResult, ZkError};
use proto::{NS_PER_MS, Time};

/// The scheduler's znodes.
pub const TASKS: &str = "/tasks";
pub const ASSIGN: &str = "/assign";
pub const DONE: &str = "/done";
pub const WORKERS: &str = "/workers";
/// The directories the scheduler and its workers share, created by whoever comes first.
pub const DIRS: [&str; 4] = [TASKS, ASSIGN, DONE, WORKERS];
/// Most tasks a run may schedule, and most workers considered.
pub const TASKS_MAX: u64 = 1_000_000;
pub const WORKERS_MAX: usize = 4096;

/// A task's node name: `t-NNNNNNNNNN`.
pub fn task_name(task: u64) -> String {
    format!("t-{task:010}")
}

/// The task a node name names, if it is a task's.
pub fn task_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("t-")?;
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Tasks to schedule in all (numbered 0..tasks).
    pub tasks: u64,
    /// A leader creates the next task this long after the previous one.
    pub task_interval_ms: u64,
}

/// What a scheduler op in flight is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchedOp {
    Setup(usize),
    Sync,
    ListDirs,
    ListDir(String),
    ListWorkers,
    ListTasks,
    ListDone,
    /// Re-stamp `worker`'s assignment of `task` with our epoch.
    Stamp {
        worker: String,
        task: u64,
    },
    /// Delete `worker`'s assignment of `task`, which is done.
    Clean {
        worker: String,
        task: u64,
    },
    /// Move `task` from dead `from` to live `to`.
    Move {
        from: String,
        to: String,
        task: u64,
    },
    Assign {
        worker: String,
        task: u64,
    },
    NewTask(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Scan {
    Setup(usize),
    Sync,
    Dirs,
    Dir,
    Workers,
    Tasks,
    Done,
    /// Scanned: planning.
    Over,
}

/// One tenure's state.
#[derive(Clone, Debug)]
struct Tenure {
    number: u64,
    epoch: u64,
    scan: Scan,
    in_flight: bool,
    /// Directories left to list during the scan.
    to_list: VecDeque<String>,
    /// Assignment directories seen (by the scan or made by workers we assign to).
    dirs: BTreeSet<String>,
    /// Task → the worker it is assigned to.
    assigned: BTreeMap<u64, String>,
    /// Assignments of tasks found done: to delete.
    stale: Vec<(String, u64)>,
    live: Vec<String>,
    created: BTreeSet<u64>,
    done: BTreeSet<u64>,
    next_task: u64,
    next_task_at: Time,
    relist_workers: bool,
    round_robin: usize,
}

/// The scheduler's leader side.
#[derive(Clone, Debug)]
pub struct Scheduler {
    config: SchedulerConfig,
    setup_done: bool,
    tenures: u64,
    tenure: Option<Tenure>,
    /// The epoch `stamped` is for, and the assignments stamped with it (kept across
    /// tenures of one epoch: a leader that reconnects leads again with the same node).
    stamped_epoch: u64,
    stamped: BTreeSet<(String, u64)>,
    now: Time,
    /// Leader actions sent, and scans begun (for figures).
    pub actions: u64,
    pub scans: u64,
}

fn assignment_path(worker: &str, task: u64) -> String {
    format!("{ASSIGN}/{worker}/{}", task_name(task))
}

impl Scheduler {
    pub fn new(config: SchedulerConfig) -> Scheduler {
        assert!(config.tasks <= TASKS_MAX, "at most TASKS_MAX tasks");
        Scheduler {
            config,
            setup_done: false,
            tenures: 0,
            tenure: None,
            stamped_epoch: 0,
            stamped: BTreeSet::new(),
            now: Time::ZERO,
            actions: 0,
            scans: 0,
        }
    }

    /// The tenure in progress (its number), if leading.
    pub fn tenure(&self) -> Option<u64> {
        self.tenure.as_ref().map(|t| t.number)
    }

    /// When the next task is due, if the leader waits for that (the host's timer).
    pub fn wake_at(&self) -> Option<Time> {
        let t = self.tenure.as_ref()?;
        (t.scan == Scan::Over && t.next_task < self.config.tasks && t.next_task_at > self.now)
            .then_some(t.next_task_at)
    }

    /// What the leader is doing, for a liveness finding.
    pub fn explain(&self) -> String {
        match &self.tenure {
            None => "not leading".to_string(),
            Some(t) => format!(
                "leading epoch {:#x} ({:?}): {} tasks created, {} known done, {} assigned, \
                 {} live workers",
                t.epoch,
                t.scan,
                t.created.len(),
                t.done.len(),
                t.assigned.len(),
                t.live.len()
            ),
        }
    }

    fn check_invariants(&self) {
        let Some(t) = &self.tenure else { return };
        let tasks = self.config.tasks;
        assert!(
            t.next_task <= tasks,
            "the next task is within the run's tasks"
        );
        assert!(
            t.created.iter().chain(&t.done).all(|&n| n < tasks),
            "a task beyond the run's tasks"
        );
        assert!(t.live.len() <= WORKERS_MAX && t.dirs.len() <= WORKERS_MAX);
        assert!(
            t.assigned
                .values()
                .all(|w| t.dirs.contains(w) || t.live.contains(w)),
            "an assignment to a worker never seen"
        );
    }

    /// Our latch leads with `epoch`: a tenure begins with a scan.
    pub fn begin(&mut self, epoch: u64, now: Time) {
        assert!(self.tenure.is_none(), "a tenure begins twice");
        self.now = self.now.max(now);
        self.tenures += 1;
        if epoch != self.stamped_epoch {
            self.stamped_epoch = epoch;
            self.stamped.clear();
        }
        let scan = if self.setup_done {
            Scan::Sync
        } else {
            Scan::Setup(0)
        };
        self.tenure = Some(Tenure {
            number: self.tenures,
            epoch,
            scan,
            in_flight: false,
            to_list: VecDeque::new(),
            dirs: BTreeSet::new(),
            assigned: BTreeMap::new(),
            stale: Vec::new(),
            live: Vec::new(),
            created: BTreeSet::new(),
            done: BTreeSet::new(),
            next_task: 0,
            next_task_at: self.now,
            relist_workers: false,
            round_robin: 0,
        });
        self.scans += 1;
        assert!(
            self.stamped_epoch == epoch && self.tenure().is_some_and(|n| n == self.tenures),
            "a tenure begins with its epoch's stamps"
        );
    }

    /// The tenure ended: its state goes (an op in flight is answered to nobody).
    pub fn end(&mut self) {
        self.tenure = None;
    }

    /// The local time moved on (a task may be due).
    pub fn on_tick(&mut self, now: Time) {
        self.now = self.now.max(now);
    }

    /// A watch event: the workers changed.
    pub fn on_watch(&mut self, event: &WatchEvent) {
        if let Some(t) = self.tenure.as_mut()
            && event.path == WORKERS
            && event.kind == EventType::NodeChildrenChanged
        {
            t.relist_workers = true;
        }
    }

    /// The next op to submit now (during a tenure, one at a time), with its tag.
    pub fn next_op(&mut self) -> Option<(SchedOp, Op)> {
        self.check_invariants();
        let now = self.now;
        let tasks = self.config.tasks;
        let t = self.tenure.as_mut()?;
        if t.in_flight {
            return None;
        }
        let list = |path: &str, watch| Op::GetChildren {
            path: path.to_string(),
            watch,
        };
        let action = leader_action_data(t.epoch);
        let (tag, op) = match t.scan {
            Scan::Setup(i) => (
                SchedOp::Setup(i),
                Op::Create {
                    path: DIRS[i].to_string(),
                    data: Vec::new(),
                    mode: CreateMode::Persistent,
                },
            ),
            Scan::Sync => (
                SchedOp::Sync,
                Op::Sync {
                    path: ASSIGN.to_string(),
                },
            ),
            Scan::Dirs => (SchedOp::ListDirs, list(ASSIGN, false)),
            Scan::Dir => {
                let dir = t.to_list.front().expect("a directory to list").clone();
                let op = list(&format!("{ASSIGN}/{dir}"), false);
                (SchedOp::ListDir(dir), op)
            }
            Scan::Workers => (SchedOp::ListWorkers, list(WORKERS, true)),
            Scan::Tasks => (SchedOp::ListTasks, list(TASKS, false)),
            Scan::Done => (SchedOp::ListDone, list(DONE, false)),
            Scan::Over => {
                let plan = plan(t, &self.stamped, now, tasks)?;
                let op = match &plan {
                    SchedOp::ListWorkers => list(WORKERS, true),
                    SchedOp::Stamp { worker, task } => Op::SetData {
                        path: assignment_path(worker, *task),
                        data: action,
                        version: Op::ANY_VERSION,
                    },
                    SchedOp::Clean { worker, task } => Op::Delete {
                        path: assignment_path(worker, *task),
                        version: Op::ANY_VERSION,
                    },
                    SchedOp::Move { from, to, task } => Op::Multi(vec![
                        Op::Create {
                            path: assignment_path(to, *task),
                            data: action,
                            mode: CreateMode::Persistent,
                        },
                        Op::Delete {
                            path: assignment_path(from, *task),
                            version: Op::ANY_VERSION,
                        },
                    ]),
                    SchedOp::Assign { worker, task } => Op::Create {
                        path: assignment_path(worker, *task),
                        data: action,
                        mode: CreateMode::Persistent,
                    },
                    SchedOp::NewTask(task) => Op::Create {
                        path: format!("{TASKS}/{}", task_name(*task)),
                        data: action,
                        mode: CreateMode::Persistent,
                    },
                    other => unreachable!("not a plan step: {other:?}"),
                };
                (plan, op)
            }
        };
        // A leader action carries this tenure's epoch; a scan carries none.
        let action = matches!(
            tag,
            SchedOp::Stamp { .. }
                | SchedOp::Move { .. }
                | SchedOp::Assign { .. }
                | SchedOp::NewTask(_)
        );
        let carried = proto::history::leader_action_epoch(&op);
        assert_eq!(
            carried,
            action.then_some(t.epoch),
            "an action carries the epoch: {op:?}"
        );
        if action {
            self.actions += 1;
        }
        t.in_flight = true;
        Some((tag, op))
    }

    /// The completion of tenure `tenure`'s op in flight (another tenure's is dropped).
    pub fn on_result(&mut self, tenure: u64, tag: SchedOp, result: &OpResult) {
        self.check_invariants();
        let tasks = self.config.tasks;
        let interval_ns = self.config.task_interval_ms * NS_PER_MS;
        let now = self.now;
        let Some(t) = self.tenure.as_mut().filter(|t| t.number == tenure) else {
            return;
        };
        assert!(t.in_flight, "a result without an op in flight: {tag:?}");
        t.in_flight = false;
        if matches!(
            result,
            OpResult::Err(ZkError::ConnectionLoss | ZkError::SessionExpired)
        ) {
            return; // the tenure is ending (SUSPENDED or LOST comes next)
        }
        let names = |r: &OpResult| match r {
            OpResult::Children(names) => {
                assert!(names.len() <= WORKERS_MAX.max(TASKS_MAX as usize));
                names.clone()
            }
            _ => Vec::new(), // NoNode: nothing there
        };
        match tag {
            SchedOp::Setup(i) => {
                assert!(
                    matches!(
                        result,
                        OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
                    ),
                    "setup create answered {result:?}"
                );
                t.scan = if i + 1 < DIRS.len() {
                    Scan::Setup(i + 1)
                } else {
                    self.setup_done = true;
                    Scan::Sync
                };
            }
            SchedOp::Sync => t.scan = Scan::Dirs,
            SchedOp::ListDirs => {
                let dirs = names(result);
                assert!(dirs.len() <= WORKERS_MAX, "too many worker directories");
                t.dirs = dirs.iter().cloned().collect();
                t.to_list = dirs.into();
                t.scan = if t.to_list.is_empty() {
                    Scan::Workers
                } else {
                    Scan::Dir
                };
            }
            SchedOp::ListDir(dir) => {
                for task in names(result).iter().filter_map(|n| task_of(n)) {
                    if task < tasks {
                        t.assigned.insert(task, dir.clone());
                    }
                }
                t.to_list.pop_front();
                if t.to_list.is_empty() {
                    t.scan = Scan::Workers;
                }
            }
            SchedOp::ListWorkers => {
                let mut live = names(result);
                live.sort_unstable();
                assert!(live.len() <= WORKERS_MAX, "too many workers");
                t.live = live;
                t.relist_workers = false;
                if t.scan == Scan::Workers {
                    t.scan = Scan::Tasks;
                }
            }
            SchedOp::ListTasks => {
                t.created = names(result)
                    .iter()
                    .filter_map(|n| task_of(n))
                    .filter(|&n| n < tasks)
                    .collect();
                t.next_task = t.created.last().map_or(0, |&n| n + 1);
                assert!(t.next_task <= tasks && t.next_task as usize >= t.created.len());
                t.scan = Scan::Done;
            }
            SchedOp::ListDone => {
                t.done = names(result)
                    .iter()
                    .filter_map(|n| task_of(n))
                    .filter(|&n| n < tasks)
                    .collect();
                let done = &t.done;
                t.stale = t
                    .assigned
                    .iter()
                    .filter(|(task, _)| done.contains(task))
                    .map(|(&task, w)| (w.clone(), task))
                    .collect();
                t.assigned.retain(|task, _| !done.contains(task));
                t.scan = Scan::Over;
            }
            SchedOp::Stamp { worker, task } => match result {
                OpResult::Stat(_) => {
                    self.stamped.insert((worker, task));
                }
                // Completed (or moved) meanwhile: no longer ours to track.
                OpResult::Err(ZkError::NoNode) => {
                    t.assigned.remove(&task);
                }
                _ => rescan(t, &mut self.scans),
            },
            SchedOp::Clean { worker, task } => {
                t.stale.retain(|s| *s != (worker.clone(), task));
            }
            SchedOp::Move { to, task, .. } => match result {
                OpResult::Multi(_) if result.error().is_none() => {
                    t.dirs.insert(to.clone());
                    t.assigned.insert(task, to.clone());
                    self.stamped.insert((to, task));
                }
                _ => rescan(t, &mut self.scans),
            },
            SchedOp::Assign { worker, task } => match result {
                OpResult::Created { .. } => {
                    t.dirs.insert(worker.clone());
                    t.assigned.insert(task, worker.clone());
                    self.stamped.insert((worker, task));
                }
                _ => rescan(t, &mut self.scans),
            },
            SchedOp::NewTask(task) => {
                assert!(
                    matches!(
                        result,
                        OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
                    ),
                    "task create answered {result:?}"
                );
                assert_eq!(task, t.next_task, "tasks are created in order");
                t.created.insert(task);
                t.next_task = t.next_task.max(task + 1);
                t.next_task_at = now.plus_ns(interval_ns);
            }
        }
        self.check_invariants();
    }
}

/// Starts the tenure's scan over (its model is thrown away).
fn rescan(t: &mut Tenure, scans: &mut u64) {
    *scans += 1;
    t.scan = Scan::Sync;
    t.to_list.clear();
    t.assigned.clear();
    t.stale.clear();
    t.created.clear();
    t.done.clear();
}

/// The next leader action (or workers listing) once the scan is over, by priority: relist
/// the workers, re-stamp, delete a done task's assignment, move a dead worker's task,
/// assign a task, create the next task.
/// A dead worker's empty directory stays: it cannot be told apart from the directory of a
/// worker that made it and has not registered yet, whose assignments would then fail.
fn plan(
    t: &mut Tenure,
    stamped: &BTreeSet<(String, u64)>,
    now: Time,
    tasks: u64,
) -> Option<SchedOp> {
    if t.relist_workers {
        return Some(SchedOp::ListWorkers);
    }
    let live = |w: &String| t.live.binary_search(w).is_ok();
    if let Some((&task, worker)) = t
        .assigned
        .iter()
        .find(|(task, w)| live(w) && !stamped.contains(&((*w).clone(), **task)))
    {
        return Some(SchedOp::Stamp {
            worker: worker.clone(),
            task,
        });
    }
    if let Some((worker, task)) = t.stale.first() {
        return Some(SchedOp::Clean {
            worker: worker.clone(),
            task: *task,
        });
    }
    let pick = |t: &mut Tenure| -> Option<String> {
        if t.live.is_empty() {
            return None;
        }
        t.round_robin = (t.round_robin + 1) % t.live.len();
        Some(t.live[t.round_robin].clone())
    };
    if let Some((&task, from)) = t.assigned.iter().find(|(_, w)| !live(w)) {
        let from = from.clone();
        let to = pick(t)?;
        assert!(
            from != to && t.live.binary_search(&to).is_ok(),
            "a task moves to another, live worker"
        );
        return Some(SchedOp::Move { from, to, task });
    }
    if let Some(&task) = t
        .created
        .iter()
        .find(|n| !t.done.contains(n) && !t.assigned.contains_key(n))
    {
        let worker = pick(t)?;
        assert!(task < tasks && t.live.contains(&worker));
        return Some(SchedOp::Assign { worker, task });
    }
    (t.next_task < tasks && now >= t.next_task_at).then_some(SchedOp::NewTask(t.next_task))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::history::leader_action_epoch;
    use proto::zk::{MultiResult, Stat};

    const EPOCH: u64 = 0x1_0000_0005;

    fn config() -> SchedulerConfig {
        SchedulerConfig {
            tasks: 3,
            task_interval_ms: 10,
        }
    }

    fn children(names: &[&str]) -> OpResult {
        OpResult::Children(names.iter().map(|n| n.to_string()).collect())
    }

    fn step(s: &mut Scheduler, expect: Op, result: OpResult) {
        let (tag, op) = s.next_op().expect("an op");
        assert_eq!(op, expect);
        assert_eq!(s.next_op(), None, "one op at a time");
        let tenure = s.tenure().expect("leading");
        s.on_result(tenure, tag, &result);
    }

    fn sync() -> Op {
        Op::Sync {
            path: "/assign".into(),
        }
    }

    fn synced() -> OpResult {
        OpResult::Synced {
            path: "/assign".into(),
        }
    }

    fn list(path: &str, watch: bool) -> Op {
        Op::GetChildren {
            path: path.into(),
            watch,
        }
    }

    fn create(path: &str) -> Op {
        Op::Create {
            path: path.into(),
            data: leader_action_data(EPOCH),
            mode: CreateMode::Persistent,
        }
    }

    fn created(path: &str) -> OpResult {
        OpResult::Created {
            path: path.into(),
            stat: None,
        }
    }

    /// A scheduler whose tenure has scanned: `dirs` with their tasks, live `workers`,
    /// `tasks` created and `done`.
    fn scanned(
        dirs: &[(&str, &[&str])],
        workers: &[&str],
        tasks: &[&str],
        done: &[&str],
    ) -> Scheduler {
        let mut s = Scheduler::new(config());
        assert_eq!(s.next_op(), None, "nothing before a tenure");
        s.begin(EPOCH, Time::ZERO);
        for dir in DIRS {
            let setup = Op::Create {
                path: dir.into(),
                data: Vec::new(),
                mode: CreateMode::Persistent,
            };
            step(&mut s, setup, OpResult::Err(ZkError::NodeExists));
        }
        step(&mut s, sync(), synced());
        let names: Vec<&str> = dirs.iter().map(|d| d.0).collect();
        step(&mut s, list("/assign", false), children(&names));
        for (dir, tasks) in dirs {
            step(
                &mut s,
                list(&format!("/assign/{dir}"), false),
                children(tasks),
            );
        }
        step(&mut s, list("/workers", true), children(workers));
        step(&mut s, list("/tasks", false), children(tasks));
        step(&mut s, list("/done", false), children(done));
        s
    }

    #[test]
    fn task_names_parse() {
        assert_eq!(task_name(7), "t-0000000007");
        assert_eq!(task_of("t-0000000007"), Some(7));
        assert_eq!(task_of("t-7"), None);
        assert_eq!(task_of("w-1"), None);
    }

    #[test]
    fn a_first_leader_creates_and_assigns_tasks_round_robin_at_its_interval() {
        let mut s = scanned(&[], &["w-a", "w-b"], &[], &[]);
        step(
            &mut s,
            create("/tasks/t-0000000000"),
            created("/tasks/t-0000000000"),
        );
        step(
            &mut s,
            create("/assign/w-b/t-0000000000"),
            created("/assign/w-b/t-0000000000"),
        );
        // The next task is due in 10 ms.
        assert_eq!(s.next_op(), None);
        let due = Time::ZERO.plus_ns(10 * NS_PER_MS);
        assert_eq!(s.wake_at(), Some(due));
        s.on_tick(due);
        step(
            &mut s,
            create("/tasks/t-0000000001"),
            created("/tasks/t-0000000001"),
        );
        step(
            &mut s,
            create("/assign/w-a/t-0000000001"),
            created("/assign/w-a/t-0000000001"),
        );
        assert_eq!(s.actions, 4);
    }

    #[test]
    fn a_new_leader_restamps_live_assignments_and_moves_a_dead_workers_tasks() {
        // w-a is live with task 0 (assigned by the previous leader); w-dead's node is gone
        // with task 1 still assigned; task 2 is done.
        let mut s = scanned(
            &[
                ("w-a", &["t-0000000000", "t-0000000002"]),
                ("w-dead", &["t-0000000001"]),
                ("w-old", &[]),
            ],
            &["w-a"],
            &["t-0000000000", "t-0000000001", "t-0000000002"],
            &["t-0000000002"],
        );
        let stamp = Op::SetData {
            path: "/assign/w-a/t-0000000000".into(),
            data: leader_action_data(EPOCH),
            version: -1,
        };
        step(&mut s, stamp, OpResult::Stat(Stat::default()));
        // Task 2 is done but still assigned (its worker's completion half failed): clean.
        let clean = Op::Delete {
            path: "/assign/w-a/t-0000000002".into(),
            version: -1,
        };
        step(&mut s, clean, OpResult::Deleted);
        let moved = Op::Multi(vec![
            create("/assign/w-a/t-0000000001"),
            Op::Delete {
                path: "/assign/w-dead/t-0000000001".into(),
                version: -1,
            },
        ]);
        assert_eq!(leader_action_epoch(&moved), Some(EPOCH));
        step(
            &mut s,
            moved,
            OpResult::Multi(vec![
                MultiResult::Created {
                    path: "/assign/w-a/t-0000000001".into(),
                    stat: None,
                },
                MultiResult::Deleted,
            ]),
        );
        // Every task is created, assigned or done: nothing more to do.
        assert_eq!(s.next_op(), None);
        assert_eq!(s.wake_at(), None);
    }

    #[test]
    fn a_failed_move_scans_again_and_the_next_tenure_of_the_epoch_does_not_restamp() {
        let mut s = scanned(
            &[("w-a", &["t-0000000000"]), ("w-dead", &["t-0000000001"])],
            &["w-a"],
            &["t-0000000000", "t-0000000001"],
            &[],
        );
        let stamp = Op::SetData {
            path: "/assign/w-a/t-0000000000".into(),
            data: leader_action_data(EPOCH),
            version: -1,
        };
        step(&mut s, stamp, OpResult::Stat(Stat::default()));
        // The dead worker had completed task 1 after all: the move's delete fails.
        let (tag, _) = s.next_op().expect("the move");
        s.on_result(
            1,
            tag,
            &OpResult::Multi(vec![
                MultiResult::RolledBack,
                MultiResult::Err(ZkError::NoNode),
            ]),
        );
        assert_eq!(s.scans, 2);
        step(&mut s, sync(), synced());
        step(&mut s, list("/assign", false), children(&["w-a"]));
        step(
            &mut s,
            list("/assign/w-a", false),
            children(&["t-0000000000"]),
        );
        step(&mut s, list("/workers", true), children(&["w-a"]));
        step(
            &mut s,
            list("/tasks", false),
            children(&["t-0000000000", "t-0000000001"]),
        );
        step(&mut s, list("/done", false), children(&["t-0000000001"]));
        // Task 0 was stamped in this epoch already; the third task comes next.
        step(
            &mut s,
            create("/tasks/t-0000000002"),
            created("/tasks/t-0000000002"),
        );
        s.end();
        // A second tenure with the same epoch (the latch led again with its node).
        s.begin(EPOCH, Time::ZERO);
        assert_eq!(s.tenure(), Some(2));
        step(&mut s, sync(), synced());
        step(&mut s, list("/assign", false), children(&["w-a"]));
        step(
            &mut s,
            list("/assign/w-a", false),
            children(&["t-0000000000"]),
        );
        step(&mut s, list("/workers", true), children(&["w-a"]));
        step(
            &mut s,
            list("/tasks", false),
            children(&["t-0000000000", "t-0000000001", "t-0000000002"]),
        );
        step(&mut s, list("/done", false), children(&["t-0000000001"]));
        step(
            &mut s,
            create("/assign/w-a/t-0000000002"),
            created("/assign/w-a/t-0000000002"),
        );
        assert_eq!(s.next_op(), None);
    }

    #[test]
    fn without_live_workers_nothing_is_assigned_until_one_registers() {
        let mut s = scanned(&[], &[], &["t-0000000000"], &[]);
        assert_eq!(s.next_op(), None, "no worker to assign to");
        s.on_watch(&WatchEvent {
            kind: EventType::NodeChildrenChanged,
            path: "/workers".into(),
            zxid: proto::Zxid(9),
        });
        step(&mut s, list("/workers", true), children(&["w-c"]));
        step(
            &mut s,
            create("/assign/w-c/t-0000000000"),
            created("/assign/w-c/t-0000000000"),
        );
    }

    #[test]
    fn an_old_tenures_answer_is_dropped() {
        let mut s = scanned(&[], &["w-a"], &[], &[]);
        let (tag, _) = s.next_op().expect("a task create");
        s.end();
        s.begin(EPOCH + 1, Time::ZERO);
        s.on_result(1, tag, &created("/tasks/t-0000000000"));
        // The new tenure scans from the start (setup is done once), after a sync.
        let (_, op) = s.next_op().expect("a scan");
        assert_eq!(op, sync());
    }
}
