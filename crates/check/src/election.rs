//! Leader-election and fail-over scheduler invariants over a history: the leader latch's
//! tenures (`Event::Leader`), the leaders' actions (writes whose data carries an epoch,
//! `proto::history::leader_action_epoch`, placed by their commit zxid), the workers'
//! executions (`Event::Task`) and their writes to the protected resource
//! (`Event::TaskWrite`, in the resource's own order), and the tasks' completions (committed
//! creates of `<done>/t-N`) — plus the scheduler's figures.
//!
//! ZooKeeper's commit order is the authority on leader actions, as the resource's order is
//! on executions. An epoch is a latch node's creation zxid; that node exists from its
//! creation until its delete or its owner session's close commits.
//!
//! Findings (names in [`ELECTION_PROPERTIES`]; all but one are violations):
//! - `DeposedLeaderActed`: a leader action committed while its epoch's latch node did not
//!   exist (after its delete or its session's close), or from a session other than the
//!   node's owner, or with an epoch that is no latch node's creation: a leader acting
//!   without leadership.
//! - `LeadersInterleaved`: in commit order an action of a lower epoch after one of a higher
//!   epoch — two leaders acting at once.
//! - `StaleTokenAccepted` (fencing on): the resource accepted an execution write whose token
//!   is lower than one it accepted before, or one without a token.
//! - `ConcurrentExecution`: two executions of one task interleave in the resource's order
//!   (one wrote, the other wrote, the first wrote again), and it is not the documented case:
//! - `ExpiredWorkerExecuted` (severity `Documented`): the same interleaving when one
//!   execution's session had ended (the servers expired it, and the leader moved its task)
//!   before the other's first write. The epoch fences leaders, not workers: a worker paused
//!   past its session timeout still believes it runs the task, and may even write its first
//!   write only then. Counted once per pair of executions.
//! - `TaskNotDone`: a task of the run with no committed completion.
//! - `DoneWithoutExecution`: a completion committed by a worker session that had not had
//!   every write of one execution of that task accepted before it asked.
//!
//! Cost: O(n log n) in the history's length.

use std::collections::{BTreeMap, BTreeSet};

use proto::ProcessId;
use proto::history::{
    Event, LeaderRecord, OpRecord, Outcome, TaskEnd, TaskWriteRecord, leader_action_epoch,
};
use proto::zk::{CreateMode, Op, OpResult, SessionId};
use serde::Serialize;

pub use crate::lock::{Quantiles, Severity};
use crate::zk::render_event;

pub const DEPOSED_LEADER_ACTED: &str = "DeposedLeaderActed";
pub const LEADERS_INTERLEAVED: &str = "LeadersInterleaved";
pub const STALE_TOKEN_ACCEPTED: &str = "StaleTokenAccepted";
pub const CONCURRENT_EXECUTION: &str = "ConcurrentExecution";
pub const EXPIRED_WORKER_EXECUTED: &str = "ExpiredWorkerExecuted";
pub const TASK_NOT_DONE: &str = "TaskNotDone";
pub const DONE_WITHOUT_EXECUTION: &str = "DoneWithoutExecution";
pub const ELECTION_PROPERTIES: [&str; 7] = [
    DEPOSED_LEADER_ACTED,
    LEADERS_INTERLEAVED,
    STALE_TOKEN_ACCEPTED,
    CONCURRENT_EXECUTION,
    EXPIRED_WORKER_EXECUTED,
    TASK_NOT_DONE,
    DONE_WITHOUT_EXECUTION,
];

/// Findings kept per property (the rest are counted).
const FINDINGS_KEPT_PER_PROPERTY: usize = 64;

/// What the checker needs to know of the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionParams {
    /// The election node (`/election`).
    pub election: String,
    /// The done tasks' directory (`/done`).
    pub done: String,
    /// Tasks of the run (numbered 0..tasks).
    pub tasks: u64,
    pub writes_per_task: u64,
    pub fencing: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ElectionFinding {
    pub property: &'static str,
    pub severity: Severity,
    pub detail: String,
    /// The events involved, as indices.
    pub events: Vec<usize>,
}

impl ElectionFinding {
    pub fn render(&self, events: &[Event]) -> String {
        let mut text = format!("{} ({:?}): {}", self.property, self.severity, self.detail);
        for &e in &self.events {
            text.push_str("\n  ");
            text.push_str(&render_event(events, e));
        }
        text
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ElectionStats {
    pub tenures: usize,
    /// Distinct epochs that led.
    pub epochs: usize,
    /// Leadership passing to another epoch.
    pub failovers: usize,
    /// From the end of one epoch's last tenure to the next epoch's first, ns.
    pub failover_ns: Quantiles,
    pub leader_actions: usize,
    pub tasks_done: usize,
    pub executions: usize,
    /// Tasks executed (written to the resource) by more than one execution.
    pub tasks_reexecuted: usize,
    /// First write to end, ns, of executions that ended done.
    pub execution_ns: Quantiles,
    pub writes: usize,
    pub writes_accepted: usize,
    pub stale_tokens_rejected: usize,
    /// Findings per property, all of them (kept or not), in `ELECTION_PROPERTIES` order.
    pub counts: [usize; 7],
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ElectionReport {
    pub findings: Vec<ElectionFinding>,
    pub stats: ElectionStats,
}

impl ElectionReport {
    /// No violation (documented findings allowed).
    pub fn is_ok(&self) -> bool {
        ELECTION_PROPERTIES
            .iter()
            .zip(self.stats.counts)
            .all(|(&p, count)| p == EXPIRED_WORKER_EXECUTED || count == 0)
    }

    pub fn count(&self, property: &str) -> usize {
        let i = ELECTION_PROPERTIES
            .iter()
            .position(|&p| p == property)
            .unwrap_or_else(|| panic!("unknown election property {property}"));
        self.stats.counts[i]
    }

    /// The first violation, if any.
    pub fn violation(&self) -> Option<&ElectionFinding> {
        self.findings
            .iter()
            .find(|f| f.severity == Severity::Violation)
    }

    fn add(&mut self, property: &'static str, detail: String, events: Vec<usize>) {
        let i = ELECTION_PROPERTIES
            .iter()
            .position(|&p| p == property)
            .expect("a known property");
        let severity = if property == EXPIRED_WORKER_EXECUTED {
            Severity::Documented
        } else {
            Severity::Violation
        };
        assert!(
            !detail.is_empty() && events.len() <= 8,
            "a finding says what and names its events"
        );
        self.stats.counts[i] += 1;
        if self.stats.counts[i] <= FINDINGS_KEPT_PER_PROPERTY {
            self.findings.push(ElectionFinding {
                property,
                severity,
                detail,
                events,
            });
        }
    }
}

/// The zxid a write committed at: its own for `ok`, the one the history learned for an
/// `info` write that took effect; none for a failure.
fn committed(o: &OpRecord) -> Option<u64> {
    match o.outcome {
        Outcome::Ok | Outcome::Info => o.zxid.map(|z| z.0),
        Outcome::Fail => None,
    }
}

/// A latch node: who created it (its epoch is its creation zxid), its name if known.
#[derive(Clone, Debug)]
struct LatchNode {
    session: SessionId,
    name: Option<String>,
    event: usize,
}

/// An execution's key: worker, session, execution number.
type ExecKey = (ProcessId, SessionId, u64);

/// An execution's accepted writes: its task, the write numbers, the last one's time.
#[derive(Clone, Debug, Default)]
struct Accepted {
    task: u64,
    numbers: BTreeSet<u64>,
    last_ns: u64,
}

/// Judges the election, scheduler and resource records of `history`.
pub fn check_election(history: &[Event], params: &ElectionParams) -> ElectionReport {
    let mut report = ElectionReport::default();
    let latch_prefix = format!("{}/", params.election);
    let done_prefix = format!("{}/t-", params.done);
    let mut nodes: BTreeMap<u64, LatchNode> = BTreeMap::new();
    let mut deleted: BTreeMap<String, u64> = BTreeMap::new();
    let mut closed: BTreeMap<SessionId, (u64, u64)> = BTreeMap::new();
    let mut actions: Vec<(u64, u64, usize)> = Vec::new();
    let mut tenures: Vec<&LeaderRecord> = Vec::new();
    let mut writes: Vec<(u64, u64, usize)> = Vec::new();
    let mut done: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let mut executions = 0;
    let mut execution_ns = Vec::new();
    for (i, e) in history.iter().enumerate() {
        match e {
            Event::Op(o) => {
                let Some(z) = committed(o) else { continue };
                match &o.op {
                    Op::Create {
                        path,
                        mode: CreateMode::EphemeralSequential,
                        ..
                    } if path.starts_with(&latch_prefix) => {
                        let name = match &o.result {
                            Some(OpResult::Created { path, .. }) => {
                                path.strip_prefix(&latch_prefix).map(str::to_string)
                            }
                            _ => None,
                        };
                        nodes.insert(
                            z,
                            LatchNode {
                                session: o.session,
                                name,
                                event: i,
                            },
                        );
                    }
                    Op::Delete { path, .. } if path.starts_with(&latch_prefix) => {
                        let name = path[latch_prefix.len()..].to_string();
                        let at = deleted.entry(name).or_insert(z);
                        *at = (*at).min(z);
                    }
                    Op::Create { path, .. } if path.starts_with(&done_prefix) => {
                        if let Ok(task) = path[done_prefix.len()..].parse::<u64>() {
                            done.entry(task).or_default().push(i);
                        }
                    }
                    Op::Multi(ops) => {
                        for op in ops {
                            if let Op::Create { path, .. } = op
                                && let Some(task) = path
                                    .strip_prefix(&done_prefix)
                                    .and_then(|n| n.parse::<u64>().ok())
                            {
                                done.entry(task).or_default().push(i);
                            }
                        }
                    }
                    _ => {}
                }
                if let Some(epoch) = leader_action_epoch(&o.op) {
                    actions.push((z, epoch, i));
                }
            }
            Event::ServerClose {
                session,
                zxid,
                time_ns,
            } => {
                let c = closed.entry(*session).or_insert((zxid.0, *time_ns));
                *c = (c.0.min(zxid.0), c.1.min(*time_ns));
            }
            Event::Leader(l) => tenures.push(l),
            Event::Task(t) => {
                executions += 1;
                if t.end == TaskEnd::Done
                    && let Some(end) = t.end_ns
                {
                    assert!(end >= t.start_ns, "an execution ended before it began");
                    execution_ns.push(end - t.start_ns);
                }
            }
            Event::TaskWrite(w) => writes.push((u64::from(w.resource.0), w.index, i)),
            _ => {}
        }
    }
    // Names of nodes created with answers lost, from the tenures that led with them.
    assert!(
        nodes.keys().all(|&z| z > 0),
        "latch nodes are created at real zxids"
    );
    for l in &tenures {
        if let Some(n) = nodes.get_mut(&l.epoch)
            && n.name.is_none()
        {
            n.name = Some(l.node.clone());
        }
    }
    report.stats.executions = executions;
    report.stats.execution_ns = Quantiles::of(execution_ns);
    tenure_stats(&mut report.stats, &tenures);
    check_actions(&mut report, &actions, &nodes, &deleted, &closed, history);
    writes.sort_unstable();
    let accepted_by = check_writes(&mut report, &writes, &closed, history, params.fencing);
    check_done(&mut report, &done, &accepted_by, history, params);
    report
}

/// Leader actions in commit order: each within its epoch's node's life, by its owner, and
/// epochs never going back.
fn check_actions(
    report: &mut ElectionReport,
    actions: &[(u64, u64, usize)],
    nodes: &BTreeMap<u64, LatchNode>,
    deleted: &BTreeMap<String, u64>,
    closed: &BTreeMap<SessionId, (u64, u64)>,
    history: &[Event],
) {
    let mut actions = actions.to_vec();
    actions.sort_unstable();
    assert!(
        actions.windows(2).all(|w| w[0].0 < w[1].0),
        "one action per committed zxid"
    );
    report.stats.leader_actions = actions.len();
    let mut highest: Option<(u64, usize)> = None;
    for &(z, epoch, i) in &actions {
        let Event::Op(o) = &history[i] else {
            unreachable!("actions are ops")
        };
        match nodes.get(&epoch) {
            None => report.add(
                DEPOSED_LEADER_ACTED,
                format!(
                    "an action at zxid {z:#x} carries epoch {epoch:#x}, no latch node's creation"
                ),
                vec![i],
            ),
            Some(node) => {
                let name = node.name.as_deref().unwrap_or("unknown");
                let gone = [
                    node.name.as_ref().and_then(|n| deleted.get(n)).copied(),
                    closed.get(&node.session).map(|c| c.0),
                ]
                .into_iter()
                .flatten()
                .min();
                if let Some(end) = gone.filter(|&end| z > end) {
                    report.add(
                        DEPOSED_LEADER_ACTED,
                        format!(
                            "{} acted at zxid {z:#x} with epoch {epoch:#x}, but its latch node \
                             {name} was gone since zxid {end:#x}",
                            o.process
                        ),
                        vec![node.event, i],
                    );
                } else if o.session != node.session {
                    report.add(
                        DEPOSED_LEADER_ACTED,
                        format!(
                            "{} acted at zxid {z:#x} in session {} with epoch {epoch:#x}, whose \
                             latch node {name} session {} owns",
                            o.process, o.session, node.session
                        ),
                        vec![node.event, i],
                    );
                }
            }
        }
        match highest {
            Some((top, at)) if epoch < top => report.add(
                LEADERS_INTERLEAVED,
                format!(
                    "an action of epoch {epoch:#x} committed at zxid {z:#x}, after one of epoch \
                     {top:#x}: two leaders acting"
                ),
                vec![at, i],
            ),
            _ => {
                if highest.is_none_or(|(top, _)| epoch > top) {
                    highest = Some((epoch, i));
                }
            }
        }
    }
}

/// The resource's task writes in its order: fencing, and executions of one task
/// interleaving. Returns, per execution, its accepted write numbers (for completions).
fn check_writes(
    report: &mut ElectionReport,
    writes: &[(u64, u64, usize)],
    closed: &BTreeMap<SessionId, (u64, u64)>,
    history: &[Event],
    fencing: bool,
) -> BTreeMap<ExecKey, Accepted> {
    let write = |i: usize| match &history[i] {
        Event::TaskWrite(w) => w,
        other => panic!("not a task write: {other:?}"),
    };
    let key = |w: &TaskWriteRecord| (w.worker, w.session, w.attempt);
    let mut accepted_by: BTreeMap<ExecKey, Accepted> = BTreeMap::new();
    let mut token_max: Option<(u64, usize)> = None;
    // Per task: the runs of consecutive writes by one execution, each execution's last run,
    // its first write, and the pairs already judged.
    let mut runs: BTreeMap<u64, Vec<ExecKey>> = BTreeMap::new();
    let mut last_run: BTreeMap<(u64, ExecKey), usize> = BTreeMap::new();
    let mut first_write: BTreeMap<ExecKey, usize> = BTreeMap::new();
    let mut last_write: BTreeMap<ExecKey, usize> = BTreeMap::new();
    let mut pairs: BTreeSet<(ExecKey, ExecKey)> = BTreeSet::new();
    let mut writers: BTreeMap<u64, BTreeSet<ExecKey>> = BTreeMap::new();
    let mut current_resource = None;
    for &(res, index, wi) in writes {
        if current_resource != Some(res) {
            current_resource = Some(res);
            token_max = None;
        }
        let w = write(wi);
        assert!(index >= 1, "resource writes are numbered from 1");
        assert!(
            w.n >= 1 && w.attempt >= 1,
            "an execution's writes are numbered from 1"
        );
        report.stats.writes += 1;
        if !w.accepted {
            report.stats.stale_tokens_rejected += 1;
            continue;
        }
        report.stats.writes_accepted += 1;
        let k = key(w);
        let entry = accepted_by.entry(k).or_default();
        assert!(
            entry.numbers.is_empty() || entry.task == w.task,
            "an execution writes one task"
        );
        entry.task = w.task;
        entry.numbers.insert(w.n);
        entry.last_ns = w.time_ns;
        writers.entry(w.task).or_default().insert(k);
        first_write.entry(k).or_insert(wi);
        if fencing {
            match (w.token, token_max) {
                (None, _) => report.add(
                    STALE_TOKEN_ACCEPTED,
                    format!("the resource accepted write #{index} without a fencing token"),
                    vec![wi],
                ),
                (Some(t), Some((max, at))) if t < max => report.add(
                    STALE_TOKEN_ACCEPTED,
                    format!(
                        "the resource accepted token {t:#x} in write #{index} after token {max:#x}"
                    ),
                    vec![at, wi],
                ),
                (Some(t), _) => {
                    if token_max.is_none_or(|(max, _)| t > max) {
                        token_max = Some((t, wi));
                    }
                }
            }
        }
        let task_runs = runs.entry(w.task).or_default();
        if task_runs.last() != Some(&k) {
            if let Some(&from) = last_run.get(&(w.task, k)) {
                let since: BTreeSet<ExecKey> = task_runs[from + 1..].iter().copied().collect();
                for other in since {
                    if !pairs.insert((k.min(other), k.max(other))) {
                        continue;
                    }
                    // Documented when one of the two had its session end before the other
                    // began writing: the other was given the task after the servers knew
                    // the first dead (whichever wrote first: a paused worker may write its
                    // first write only after its session ended).
                    let ended_before = |x: &ExecKey, y: &ExecKey| {
                        let first_y = write(first_write[y]).time_ns;
                        closed
                            .get(&x.1)
                            .map(|c| c.1)
                            .filter(|&t| t <= first_y)
                            .map(|t| (t, first_y))
                    };
                    let documented = ended_before(&k, &other).or(ended_before(&other, &k));
                    let what = format!(
                        "executions of task {} by {} (session {}, execution {}) and {} \
                         (session {}, execution {}) interleave at the resource (writes up to \
                         #{index})",
                        w.task, k.0, k.1, k.2, other.0, other.1, other.2
                    );
                    let events = vec![first_write[&k], first_write[&other], last_write[&other], wi];
                    match documented {
                        Some((t, first)) => report.add(
                            EXPIRED_WORKER_EXECUTED,
                            format!(
                                "{what}: one worker's session ended at {t}, before the other \
                                 began writing at {first}"
                            ),
                            events,
                        ),
                        None => report.add(
                            CONCURRENT_EXECUTION,
                            format!("{what} while both workers' sessions were live"),
                            events,
                        ),
                    }
                }
            }
            task_runs.push(k);
            last_run.insert((w.task, k), task_runs.len() - 1);
        }
        last_write.insert(k, wi);
    }
    report.stats.tasks_reexecuted = writers.values().filter(|w| w.len() > 1).count();
    assert!(
        report.stats.writes_accepted + report.stats.stale_tokens_rejected == report.stats.writes
    );
    assert!(
        report.stats.tasks_reexecuted <= writers.len(),
        "re-executed tasks are tasks written"
    );
    accepted_by
}

/// Every task completed, each completion after a whole execution of the completing session.
fn check_done(
    report: &mut ElectionReport,
    done: &BTreeMap<u64, Vec<usize>>,
    accepted_by: &BTreeMap<ExecKey, Accepted>,
    history: &[Event],
    params: &ElectionParams,
) {
    report.stats.tasks_done = done.keys().filter(|&&t| t < params.tasks).count();
    assert!(report.stats.tasks_done as u64 <= params.tasks);
    assert!(
        done.values().all(|c| !c.is_empty()),
        "a done task has its completion"
    );
    for task in (0..params.tasks).filter(|t| !done.contains_key(t)) {
        report.add(
            TASK_NOT_DONE,
            format!("task {task} was never completed"),
            Vec::new(),
        );
    }
    let whole: BTreeSet<u64> = (1..=params.writes_per_task).collect();
    for (&task, completions) in done {
        for &i in completions {
            let Event::Op(o) = &history[i] else {
                unreachable!("completions are ops")
            };
            // A whole execution of this task by the completing session, before it asked.
            let executed = accepted_by
                .range((o.process, o.session, 0)..=(o.process, o.session, u64::MAX))
                .any(|(_, a)| {
                    a.task == task && a.last_ns <= o.invoke_ns && whole.is_subset(&a.numbers)
                });
            if !executed {
                report.add(
                    DONE_WITHOUT_EXECUTION,
                    format!(
                        "{} completed task {task} in session {} without every write of an \
                         execution accepted first",
                        o.process, o.session
                    ),
                    vec![i],
                );
            }
        }
    }
}

fn tenure_stats(s: &mut ElectionStats, tenures: &[&LeaderRecord]) {
    let mut sorted: Vec<&LeaderRecord> = tenures.to_vec();
    sorted.sort_by_key(|l| (l.start_ns, l.process, l.tenure));
    s.tenures = sorted.len();
    let mut gaps = Vec::new();
    let mut epochs = BTreeSet::new();
    // The previous epoch's latest end.
    let mut previous: Option<(u64, Option<u64>)> = None;
    for l in &sorted {
        assert!(
            l.end_ns.is_none_or(|end| end >= l.start_ns),
            "a tenure ends after it starts"
        );
        epochs.insert(l.epoch);
        match previous {
            Some((epoch, end)) if epoch != l.epoch => {
                s.failovers += 1;
                if let Some(end) = end {
                    gaps.push(l.start_ns.saturating_sub(end));
                }
                previous = Some((l.epoch, l.end_ns));
            }
            Some((epoch, end)) => previous = Some((epoch, end.max(l.end_ns))),
            None => previous = Some((l.epoch, l.end_ns)),
        }
    }
    s.epochs = epochs.len();
    assert!(s.failovers < s.tenures.max(1) && s.epochs <= s.tenures);
    s.failover_ns = Quantiles::of(gaps);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Zxid;
    use proto::history::{LeaderEnd, TaskRecord, leader_action_data};

    const MS: u64 = 1_000_000;

    fn params() -> ElectionParams {
        ElectionParams {
            election: "/election".into(),
            done: "/done".into(),
            tasks: 1,
            writes_per_task: 2,
            fencing: true,
        }
    }

    /// Builds a history in zxid (and time) order.
    #[derive(Default)]
    struct H {
        events: Vec<Event>,
        writes: u64,
    }

    fn op(p: u32, s: u64, op: Op, result: OpResult, zxid: u64) -> Event {
        Event::Op(OpRecord {
            process: ProcessId(p),
            session: SessionId(s),
            xid: zxid,
            op,
            invoke_ns: zxid * MS,
            complete_ns: Some(zxid * MS),
            outcome: Outcome::Ok,
            result: Some(result),
            zxid: Some(Zxid(zxid)),
        })
    }

    impl H {
        /// Session `s` of process `p` creates latch node `name` at zxid `z` (its epoch).
        fn latch(&mut self, p: u32, s: u64, name: &str, z: u64) -> &mut H {
            let create = Op::Create {
                path: "/election/_c_x-latch-".into(),
                data: Vec::new(),
                mode: CreateMode::EphemeralSequential,
            };
            let result = OpResult::Created {
                path: format!("/election/{name}"),
                stat: None,
            };
            self.events.push(op(p, s, create, result, z));
            self
        }

        fn lead(&mut self, p: u32, s: u64, name: &str, epoch: u64, start: u64, end: u64) -> &mut H {
            self.events.push(Event::Leader(LeaderRecord {
                process: ProcessId(p),
                session: SessionId(s),
                tenure: 1,
                node: name.into(),
                epoch,
                start_ns: start * MS,
                end_ns: Some(end * MS),
                end: LeaderEnd::Suspended,
            }));
            self
        }

        /// A leader action (assigning task 0) at zxid `z`.
        fn act(&mut self, p: u32, s: u64, epoch: u64, z: u64) -> &mut H {
            let assign = Op::Create {
                path: format!("/assign/w-1/t-{:010}", 0),
                data: leader_action_data(epoch),
                mode: CreateMode::Persistent,
            };
            let result = OpResult::Created {
                path: "/assign/w-1/t-0000000000".into(),
                stat: None,
            };
            self.events.push(op(p, s, assign, result, z));
            self
        }

        fn delete(&mut self, p: u32, s: u64, name: &str, z: u64) -> &mut H {
            let delete = Op::Delete {
                path: format!("/election/{name}"),
                version: -1,
            };
            self.events.push(op(p, s, delete, OpResult::Deleted, z));
            self
        }

        fn expire(&mut self, s: u64, z: u64) -> &mut H {
            self.events.push(Event::ServerClose {
                session: SessionId(s),
                zxid: Zxid(z),
                time_ns: z * MS,
            });
            self
        }

        /// Worker `p` (session `s`, execution `a`) writes task 0 at time `at`.
        fn write(&mut self, p: u32, s: u64, a: u64, n: u64, token: u64, at: u64) -> &mut H {
            self.writes += 1;
            self.events.push(Event::TaskWrite(TaskWriteRecord {
                resource: ProcessId(9),
                index: self.writes,
                worker: ProcessId(p),
                session: SessionId(s),
                attempt: a,
                task: 0,
                n,
                token: Some(token),
                time_ns: at * MS,
                accepted: true,
            }));
            self
        }

        fn refused(&mut self) -> &mut H {
            if let Some(Event::TaskWrite(w)) = self.events.last_mut() {
                w.accepted = false;
            }
            self
        }

        /// Worker `p` (session `s`) completes task 0 at zxid `z`.
        fn done(&mut self, p: u32, s: u64, z: u64) -> &mut H {
            let complete = Op::Multi(vec![
                Op::Create {
                    path: "/done/t-0000000000".into(),
                    data: b"w=w t=1".to_vec(),
                    mode: CreateMode::Persistent,
                },
                Op::Delete {
                    path: "/assign/w-1/t-0000000000".into(),
                    version: -1,
                },
            ]);
            self.events
                .push(op(p, s, complete, OpResult::Multi(Vec::new()), z));
            self.events.push(Event::Task(TaskRecord {
                process: ProcessId(p),
                session: SessionId(s),
                attempt: 1,
                task: 0,
                token: Some(1),
                start_ns: (z - 5) * MS,
                end_ns: Some(z * MS),
                end: TaskEnd::Done,
            }));
            self
        }

        fn check(&self) -> ElectionReport {
            check_election(&self.events, &params())
        }
    }

    /// A clean run: leader 1 acts, is deposed (expired), leader 2 acts; worker 5 executes
    /// and completes task 0.
    fn clean() -> H {
        let mut h = H::default();
        h.latch(1, 10, "a", 10)
            .latch(2, 20, "b", 11)
            .lead(1, 10, "a", 10, 12, 20)
            .act(1, 10, 10, 13)
            .expire(10, 20)
            .lead(2, 20, "b", 11, 25, 40)
            .act(2, 20, 11, 26)
            .write(5, 50, 1, 1, 11, 27)
            .write(5, 50, 1, 2, 11, 28)
            .done(5, 50, 30);
        h
    }

    #[test]
    fn a_clean_failover_passes_with_its_figures() {
        let r = clean().check();
        assert!(r.is_ok() && r.findings.is_empty(), "{:?}", r.findings);
        let s = &r.stats;
        assert_eq!((s.tenures, s.epochs, s.failovers), (2, 2, 1));
        assert_eq!(
            s.failover_ns.max,
            5 * MS,
            "leader 1 ended at 20, leader 2 began at 25"
        );
        assert_eq!((s.leader_actions, s.tasks_done, s.executions), (2, 1, 1));
        assert_eq!(s.execution_ns.max, 5 * MS);
    }

    #[test]
    fn a_leader_acting_after_its_node_was_deleted_is_caught() {
        // CURATOR-498's outcome: leader 1 deleted its own node (a stale name replaced it)
        // and acts on; leader 2 leads meanwhile.
        let mut h = H::default();
        h.latch(1, 10, "a", 10)
            .latch(2, 20, "b", 11)
            .lead(1, 10, "a", 10, 12, 40)
            .act(1, 10, 10, 13)
            .delete(1, 10, "a", 14)
            .lead(2, 20, "b", 11, 15, 40)
            .act(2, 20, 11, 16)
            .act(1, 10, 10, 17);
        let r = h.check();
        assert_eq!(r.count(DEPOSED_LEADER_ACTED), 1);
        assert_eq!(r.count(LEADERS_INTERLEAVED), 1);
        let v = r.violation().expect("a violation");
        assert!(v.detail.contains("gone since zxid 0xe"), "{}", v.detail);
    }

    #[test]
    fn a_leader_acting_with_an_old_sessions_node_is_caught() {
        // CURATOR-696's outcome: process 1 gave up session 10 and leads in session 11 with
        // session 10's node, before and after the servers expire session 10.
        let mut h = H::default();
        h.latch(1, 10, "a", 10)
            .lead(1, 11, "a", 10, 12, 40)
            .act(1, 11, 10, 13)
            .expire(10, 14)
            .act(1, 11, 10, 15);
        let r = h.check();
        assert_eq!(r.count(DEPOSED_LEADER_ACTED), 2, "{:?}", r.findings);
        let detail = &r.findings[0].detail;
        assert!(detail.contains("session 0xa owns"), "{detail}");
    }

    #[test]
    fn an_action_with_an_unknown_epoch_is_caught_and_one_just_before_the_end_passes() {
        let mut h = clean();
        h.act(3, 30, 0x99, 41);
        assert_eq!(h.check().count(DEPOSED_LEADER_ACTED), 1);
        // Near miss: an action committed right before its node's session closed.
        let mut h = H::default();
        h.latch(1, 10, "a", 10).act(1, 10, 10, 19).expire(10, 20);
        let r = h.check();
        assert_eq!(
            r.count(DEPOSED_LEADER_ACTED) + r.count(LEADERS_INTERLEAVED),
            0
        );
        assert_eq!(r.count(TASK_NOT_DONE), 1, "(no worker ran task 0)");
    }

    #[test]
    fn stale_tokens_accepted_are_caught_and_refused_ones_pass() {
        let mut h = clean();
        h.write(6, 60, 1, 1, 10, 31);
        assert_eq!(h.check().count(STALE_TOKEN_ACCEPTED), 1);
        let mut h = clean();
        h.write(6, 60, 1, 1, 10, 31).refused();
        let r = h.check();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.stats.stale_tokens_rejected, 1);
    }

    #[test]
    fn concurrent_executions_are_violations_unless_across_an_expiry() {
        // Worker 5 writes, worker 6 writes, worker 5 writes again: both sessions live.
        let mut h = H::default();
        h.latch(1, 10, "a", 10)
            .act(1, 10, 10, 11)
            .write(5, 50, 1, 1, 10, 12)
            .write(6, 60, 1, 1, 10, 13)
            .write(5, 50, 1, 2, 10, 14)
            .write(6, 60, 1, 2, 10, 15)
            .done(6, 60, 16);
        let r = h.check();
        assert_eq!(r.count(CONCURRENT_EXECUTION), 1, "one pair, counted once");
        assert_eq!(r.stats.tasks_reexecuted, 1);
        // The same with worker 5's session expired before worker 6 began: documented.
        let mut h = H::default();
        h.latch(1, 10, "a", 10)
            .act(1, 10, 10, 11)
            .write(5, 50, 1, 1, 10, 12)
            .expire(50, 13)
            .write(6, 60, 1, 1, 10, 14)
            .write(5, 50, 1, 2, 10, 15)
            .write(6, 60, 1, 2, 10, 16)
            .done(6, 60, 17);
        let r = h.check();
        assert!(r.is_ok(), "{:?}", r.findings);
        assert_eq!(r.count(EXPIRED_WORKER_EXECUTED), 1);
        // Worker 5, paused before its first write, writes only after its session ended and
        // worker 6 began (election.toml seed 489): documented too.
        let mut h = H::default();
        h.latch(1, 10, "a", 10)
            .act(1, 10, 10, 11)
            .expire(50, 12)
            .write(6, 60, 1, 1, 10, 13)
            .write(5, 50, 1, 1, 10, 14)
            .write(6, 60, 1, 2, 10, 15)
            .done(6, 60, 17);
        let r = h.check();
        assert!(r.is_ok(), "{:?}", r.findings);
        assert_eq!(r.count(EXPIRED_WORKER_EXECUTED), 1);
        // Near miss: a re-execution after the first ended (no interleaving) is no finding.
        let mut h = H::default();
        h.latch(1, 10, "a", 10)
            .write(5, 50, 1, 1, 10, 12)
            .write(5, 50, 1, 2, 10, 13)
            .write(6, 60, 1, 1, 10, 14)
            .write(6, 60, 1, 2, 10, 15)
            .done(6, 60, 17);
        let r = h.check();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.stats.tasks_reexecuted, 1);
    }

    #[test]
    fn a_task_never_done_or_done_without_its_writes_is_caught() {
        let mut h = H::default();
        h.latch(1, 10, "a", 10);
        let r = h.check();
        assert_eq!(r.count(TASK_NOT_DONE), 1);
        // Done after one write of two.
        let mut h = H::default();
        h.latch(1, 10, "a", 10)
            .write(5, 50, 1, 1, 10, 12)
            .done(5, 50, 16);
        assert_eq!(h.check().count(DONE_WITHOUT_EXECUTION), 1);
        // Done by a session other than the one that executed.
        let mut h = H::default();
        h.latch(1, 10, "a", 10)
            .write(5, 50, 1, 1, 10, 12)
            .write(5, 50, 1, 2, 10, 13)
            .done(5, 51, 16);
        assert_eq!(h.check().count(DONE_WITHOUT_EXECUTION), 1);
    }
}
