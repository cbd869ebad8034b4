//! The fail-over task scheduler workload (`[workload.election]`): scheduler instances
//! (`crate::schedproc`, role `scheduler`) elect a leader with the leader latch on
//! `/election`; the leader creates and assigns tasks to the workers (`crate::workerproc`,
//! role `worker`), which execute them against the protected resource (`crate::resource`,
//! client index 0, role `resource`) with the assigning leader's epoch as the fencing token.
//! After the heal every task must be done in the established leader's tree; the election
//! checker (`check::election`) then judges the leaders' actions in ZooKeeper's commit order
//! (no action of a deposed leader, no two leaders interleaving), fencing and concurrent
//! executions in the resource's order (a worker's overlap across its session's expiry is
//! the documented unsafety), and every task's completion.

use super::{ClientProcess, Stuck, Workload, World};
use crate::resource::Resource;
use crate::scenario::{BugName, ElectionWorkload, Scenario, WorkloadConfig};
use crate::schedproc::{SchedulerClientConfig, SchedulerNode};
use crate::workerproc::{WorkerClientConfig, WorkerNode};
use check::election::{EXPIRED_WORKER_EXECUTED, ElectionParams, check_election};
use client::recipes::latch::LatchBugs;
use client::recipes::scheduler::{DONE, SchedulerConfig, task_name, task_of};
use kernel::observe::Violation;
use proto::history::Event;
use proto::{NS_PER_MS, ProcessId};

/// The election node the scheduler instances use.
pub const ELECTION_PATH: &str = "/election";

pub struct Election {
    schedulers: u32,
    workers: u32,
    first: ProcessId,
    scheduler: SchedulerClientConfig,
    worker: WorkerClientConfig,
    params: ElectionParams,
}

impl Election {
    /// The scheduler workload; its first process (the resource) is `first`.
    pub fn new(
        s: &Scenario,
        e: &ElectionWorkload,
        servers: &[ProcessId],
        first: ProcessId,
    ) -> Election {
        let WorkloadConfig::Writes {
            session_timeout_ms, ..
        } = s.workload
        else {
            panic!("an election workload needs a writes workload");
        };
        let session_timeout_ms = u32::try_from(session_timeout_ms).expect("validated");
        let scheduler = SchedulerClientConfig {
            servers: servers.to_vec(),
            session_timeout_ms,
            election: ELECTION_PATH.to_string(),
            scheduler: SchedulerConfig {
                tasks: e.tasks,
                task_interval_ms: e.task_interval_ms,
            },
            bugs: LatchBugs {
                adopt_stale_creates: s.zab.bugs.contains(&BugName::Curator498),
                skip_owner_check: s.zab.bugs.contains(&BugName::Curator696),
            },
        };
        let worker = WorkerClientConfig {
            servers: servers.to_vec(),
            session_timeout_ms,
            resource: first,
            writes_per_task: e.writes_per_task,
            work_ms: e.work_ms,
            fencing: e.fencing,
        };
        let params = ElectionParams {
            election: ELECTION_PATH.to_string(),
            done: DONE.to_string(),
            tasks: e.tasks,
            writes_per_task: e.writes_per_task,
            fencing: e.fencing,
        };
        Election {
            schedulers: e.schedulers,
            workers: e.workers,
            first,
            scheduler,
            worker,
            params,
        }
    }
}

fn ms(ns: u64) -> u64 {
    ns / NS_PER_MS
}

impl Workload for Election {
    fn clients(&self) -> u32 {
        1 + self.schedulers + self.workers
    }

    fn role(&self, index: u32) -> &'static str {
        assert!(
            index < self.clients(),
            "client {index} of {}",
            self.clients()
        );
        match index {
            0 => "resource",
            i if i <= self.schedulers => "scheduler",
            _ => "worker",
        }
    }

    fn client(&self, index: u32) -> Box<dyn ClientProcess> {
        assert!(
            index < self.clients(),
            "client {index} of {}",
            self.clients()
        );
        match index {
            0 => Box::new(Resource::new(self.params.fencing)),
            i if i <= self.schedulers => Box::new(SchedulerNode::new(self.scheduler.clone())),
            i => Box::new(WorkerNode::new(
                self.worker.clone(),
                ProcessId(self.first.0 + i),
            )),
        }
    }

    fn liveness(&mut self, world: &World<'_>, stuck: &mut Stuck) {
        assert_eq!(world.clients.len(), self.clients() as usize);
        assert_eq!(world.clients[0], self.first, "the resource comes first");
        let (Some(leader), Some(tree)) = (world.leader, world.leader_tree()) else {
            return; // the ensemble reports a missing leader
        };
        let done = tree
            .child_names(DONE)
            .map_or(0, |names| names.filter(|n| task_of(n).is_some()).count());
        assert!(
            done as u64 <= self.params.tasks,
            "no more tasks done than scheduled"
        );
        if done as u64 >= self.params.tasks {
            return;
        }
        let tasks = self.params.tasks;
        let schedulers = &world.clients[1..=self.schedulers as usize];
        let leaders: Vec<(ProcessId, u64)> = schedulers
            .iter()
            .filter_map(|&c| Some((c, world.client::<SchedulerNode>(c)?.leading()?)))
            .collect();
        let leading = !leaders.is_empty();
        stuck.push(leader, || {
            let missing: Vec<String> = (0..tasks)
                .filter(|&t| !tree.exists(&format!("{DONE}/{}", task_name(t))))
                .take(4)
                .map(task_name)
                .collect();
            let mut why = format!(
                "{done} of {tasks} tasks done (missing {} …)",
                missing.join(", ")
            );
            if leaders.len() > 1 {
                // Two instances acting as leader: the fence refuses the older epoch's
                // assignments, which its leader never re-stamps.
                let who: Vec<String> = leaders
                    .iter()
                    .map(|(p, e)| format!("{p} (epoch {e:#x})"))
                    .collect();
                why += &format!(
                    "; {} scheduler instances lead at once: {}",
                    leaders.len(),
                    who.join(", ")
                );
            }
            why
        });
        for &c in schedulers {
            if let Some(s) = world.client::<SchedulerNode>(c)
                && (!leading || s.leading().is_some())
            {
                stuck.push(c, || s.explain());
            }
        }
        for &c in &world.clients[1 + self.schedulers as usize..] {
            if let Some(w) = world.client::<WorkerNode>(c) {
                stuck.push(c, || w.explain());
            }
        }
    }

    fn judge(&self, history: &[Event], figures: &mut Vec<(String, u64)>) -> Option<Violation> {
        if !history
            .iter()
            .any(|e| matches!(e, Event::Leader(_) | Event::Task(_)))
        {
            return None;
        }
        let r = check_election(history, &self.params);
        let s = &r.stats;
        assert!(
            s.tasks_done as u64 <= self.params.tasks && s.writes_accepted <= s.writes,
            "figures within their bounds"
        );
        for (name, value) in [
            // `leader_*` and `task_*`: ZooKeeper's own `election*` figures are its ZAB
            // leader elections.
            ("leader_tenures", s.tenures as u64),
            ("leader_epochs", s.epochs as u64),
            ("leader_failovers", s.failovers as u64),
            ("leader_failover_ms_p50", ms(s.failover_ns.p50)),
            ("leader_failover_ms_max", ms(s.failover_ns.max)),
            ("leader_actions", s.leader_actions as u64),
            ("tasks_done", s.tasks_done as u64),
            ("task_executions", s.executions as u64),
            ("tasks_reexecuted", s.tasks_reexecuted as u64),
            ("task_execution_ms_p50", ms(s.execution_ns.p50)),
            ("task_execution_ms_max", ms(s.execution_ns.max)),
            ("task_resource_writes", s.writes as u64),
            ("task_stale_tokens_rejected", s.stale_tokens_rejected as u64),
            (
                "task_documented_unsafety",
                r.count(EXPIRED_WORKER_EXECUTED) as u64,
            ),
        ] {
            figures.push((name.to_string(), value));
        }
        let f = r.violation()?;
        Some(Violation {
            check: "ElectionInvariant".to_string(),
            processes: Vec::new(),
            detail: f.render(history),
        })
    }
}
