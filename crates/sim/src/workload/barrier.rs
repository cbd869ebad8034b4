//! The double-barrier workload (`[workload.barrier]`): participants (`crate::barrierproc`,
//! role `participant`) go through the rounds of a double barrier under `/barrier`. After
//! the heal every live participant must have passed leave of every round, and no
//! participant node may be left under any round's barrier node in the established
//! leader's tree; the barrier checker (`check::barrier`) then judges both phases of every
//! round, with a participant left behind by its own expiry counted as documented.

use super::{ClientProcess, Stuck, Workload, World};
use crate::barrierproc::{BarrierClientConfig, BarrierWorker};
use crate::scenario::{BarrierWorkload, BugName, Scenario, WorkloadConfig};
use client::recipes::barrier::{READY, ROUND_PREFIX, participants_of};
use kernel::observe::Violation;
use proto::history::Event;
use proto::{NS_PER_MS, ProcessId};

/// The barrier's root node.
pub const BARRIER_PATH: &str = "/barrier";

pub struct Barrier {
    participants: u32,
    /// The first participant's process (participants are named after their process).
    first: ProcessId,
    config: BarrierClientConfig,
}

impl Barrier {
    /// The barrier workload; its first participant is process `first`.
    pub fn new(
        s: &Scenario,
        b: &BarrierWorkload,
        servers: &[ProcessId],
        first: ProcessId,
    ) -> Barrier {
        let WorkloadConfig::Writes {
            session_timeout_ms, ..
        } = s.workload
        else {
            panic!("a barrier workload needs a writes workload");
        };
        let config = BarrierClientConfig {
            servers: servers.to_vec(),
            session_timeout_ms: u32::try_from(session_timeout_ms).expect("validated"),
            root: BARRIER_PATH.to_string(),
            size: b.participants as usize,
            name: String::new(),
            rounds: b.rounds,
            work_ms: b.work_ms,
            think_ms: b.think_ms,
            recheck: !s.zab.bugs.contains(&BugName::BarrierNoRecheck),
        };
        Barrier {
            participants: b.participants,
            first,
            config,
        }
    }
}

fn ms(ns: u64) -> u64 {
    ns / NS_PER_MS
}

impl Workload for Barrier {
    fn clients(&self) -> u32 {
        self.participants
    }

    fn role(&self, index: u32) -> &'static str {
        assert!(index < self.participants, "participant {index}");
        "participant"
    }

    fn client(&self, index: u32) -> Box<dyn ClientProcess> {
        assert!(index < self.participants, "participant {index}");
        let config = BarrierClientConfig {
            name: ProcessId(self.first.0 + index).to_string(),
            ..self.config.clone()
        };
        Box::new(BarrierWorker::new(config))
    }

    fn liveness(&mut self, world: &World<'_>, stuck: &mut Stuck) {
        assert_eq!(world.clients.len(), self.participants as usize);
        assert_eq!(
            world.clients.first(),
            Some(&self.first),
            "numbered from first"
        );
        let tree = world.leader_tree();
        for &c in world.clients {
            if let Some(w) = world.client::<BarrierWorker>(c).filter(|w| !w.done()) {
                stuck.push(c, || {
                    // Through enter of a round that has no `ready` node: it passed early.
                    let early = w.past_enter().filter(|&r| {
                        tree.is_some_and(|t| {
                            !t.exists(&format!("{BARRIER_PATH}/{ROUND_PREFIX}{r}/{READY}"))
                        })
                    });
                    let note = early.map_or_else(String::new, |r| {
                        format!(" — through enter of round {r}, which has no {READY} node")
                    });
                    format!("{}{note}", w.explain())
                });
            }
        }
        let (Some(leader), Some(tree)) = (world.leader, tree) else {
            return; // the ensemble reports a missing leader
        };
        let Some(rounds) = tree.child_names(BARRIER_PATH) else {
            return;
        };
        let mut path = String::new();
        for round in rounds {
            path.clear();
            path.extend([BARRIER_PATH, "/", round]);
            let children = tree.child_names(&path).into_iter().flatten();
            let (left, listed) = participants_of(children);
            if !left.is_empty() {
                let names = left.join(", ");
                stuck.push(leader, || {
                    format!("participant nodes left under {path}: {names}")
                });
            }
            assert!(listed <= left.len() + 1, "only {READY} besides");
        }
    }

    fn judge(&self, history: &[Event], figures: &mut Vec<(String, u64)>) -> Option<Violation> {
        if !history.iter().any(|e| matches!(e, Event::Barrier(_))) {
            return None;
        }
        let r = check::barrier::check_barrier(history, self.participants as usize);
        let s = &r.stats;
        let documented = r.count(check::barrier::EXPIRED_PARTICIPANT_LEFT_BEHIND);
        for (name, value) in [
            ("barrier_rounds", s.rounds as u64),
            ("barrier_rounds_completed", s.rounds_completed as u64),
            // Rounds in which a participant lost its session and rejoined (by design no
            // round aborts: the others wait for the rejoin while entering).
            ("barrier_rounds_rejoined", s.rounds_rejoined as u64),
            ("barrier_attempts", s.attempts as u64),
            ("barrier_attempts_lost", s.attempts_lost as u64),
            ("barrier_enter_wait_ms_p50", ms(s.enter_wait_ns.p50)),
            ("barrier_enter_wait_ms_p99", ms(s.enter_wait_ns.p99)),
            ("barrier_enter_wait_ms_max", ms(s.enter_wait_ns.max)),
            ("barrier_leave_wait_ms_p50", ms(s.leave_wait_ns.p50)),
            ("barrier_leave_wait_ms_p99", ms(s.leave_wait_ns.p99)),
            ("barrier_leave_wait_ms_max", ms(s.leave_wait_ns.max)),
            ("barrier_documented_left_behind", documented as u64),
        ] {
            figures.push((name.to_string(), value));
        }
        let f = r.violation()?;
        Some(Violation {
            check: "BarrierInvariant".to_string(),
            processes: Vec::new(),
            detail: f.render(history),
        })
    }
}
