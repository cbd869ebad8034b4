//! The lock workload (`[workload.lock]`): lock clients (`crate::lockproc`) take turns on
//! `/lock` with the lock recipe and write to the protected resource (`crate::resource`,
//! client index 0, role `resource`) while they hold it. After the heal every live lock
//! client must have completed its holds and the lock node must have no children left in
//! the established leader's tree; the lock checker (`check::lock`) then judges mutual
//! exclusion in the resource's order, with an expired holder's late writes counted as the
//! documented unsafety of a lock without fencing, not failed.

use super::{ClientProcess, Stuck, Workload, World};
use crate::lockproc::{LockClientConfig, LockWorker};
use crate::resource::Resource;
use crate::scenario::{BugName, LockWorkload, Scenario, WorkloadConfig};
use kernel::observe::Violation;
use proto::history::Event;
use proto::{NS_PER_MS, ProcessId};

/// The lock node the lock workload uses.
pub const LOCK_PATH: &str = "/lock";

pub struct Lock {
    clients: u32,
    fencing: bool,
    config: LockClientConfig,
}

impl Lock {
    /// The lock workload; its first process (the resource) is `first`.
    pub fn new(s: &Scenario, l: &LockWorkload, servers: &[ProcessId], first: ProcessId) -> Lock {
        let WorkloadConfig::Writes {
            session_timeout_ms, ..
        } = s.workload
        else {
            panic!("a lock workload needs a writes workload");
        };
        let config = LockClientConfig {
            servers: servers.to_vec(),
            session_timeout_ms: u32::try_from(session_timeout_ms).expect("validated"),
            lock: LOCK_PATH.to_string(),
            resource: first,
            holds: l.holds,
            writes_per_hold: l.writes_per_hold,
            work_ms: l.work_ms,
            think_ms: l.think_ms,
            fencing: l.fencing,
            protected: !s.zab.bugs.contains(&BugName::LockNoGuid),
        };
        Lock {
            clients: l.clients,
            fencing: l.fencing,
            config,
        }
    }
}

fn ms(ns: u64) -> u64 {
    ns / NS_PER_MS
}

impl Workload for Lock {
    fn clients(&self) -> u32 {
        self.clients + 1
    }

    fn role(&self, index: u32) -> &'static str {
        assert!(
            index < self.clients(),
            "client {index} of {}",
            self.clients()
        );
        if index == 0 { "resource" } else { "locker" }
    }

    fn client(&self, index: u32) -> Box<dyn ClientProcess> {
        assert!(
            index < self.clients(),
            "client {index} of {}",
            self.clients()
        );
        if index == 0 {
            Box::new(Resource::new(self.fencing))
        } else {
            Box::new(LockWorker::new(self.config.clone()))
        }
    }

    fn liveness(&mut self, world: &World<'_>, stuck: &mut Stuck) {
        assert_eq!(world.clients.len(), self.clients() as usize);
        assert_eq!(
            world.clients[0], self.config.resource,
            "the resource comes first"
        );
        for &c in &world.clients[1..] {
            if let Some(w) = world.client::<LockWorker>(c).filter(|w| !w.done()) {
                stuck.push(c, || w.explain());
            }
        }
        let (Some(leader), Some(tree)) = (world.leader, world.leader_tree()) else {
            return; // the ensemble reports a missing leader
        };
        let left = tree.child_names(LOCK_PATH).map_or(0, Iterator::count);
        if left > 0 {
            stuck.push(leader, || {
                let names: Vec<&str> = tree
                    .child_names(LOCK_PATH)
                    .map(|n| n.take(4).collect())
                    .unwrap_or_default();
                format!(
                    "{left} lock nodes left under {LOCK_PATH} ({} …)",
                    names.join(", ")
                )
            });
        }
    }

    fn judge(&self, history: &[Event], figures: &mut Vec<(String, u64)>) -> Option<Violation> {
        if !history.iter().any(|e| matches!(e, Event::Lock(_))) {
            return None;
        }
        let r = check::lock::check_lock(history, self.fencing);
        let s = &r.stats;
        let documented = r.count(check::lock::EXPIRED_HOLDER_WROTE);
        for (name, value) in [
            ("lock_acquisitions", s.acquisitions as u64),
            ("lock_lost", s.lost as u64),
            ("lock_fenced", s.fenced as u64),
            ("lock_wait_ms_p50", ms(s.wait_ns.p50)),
            ("lock_wait_ms_p99", ms(s.wait_ns.p99)),
            ("lock_wait_ms_max", ms(s.wait_ns.max)),
            ("lock_hold_ms_p50", ms(s.hold_ns.p50)),
            ("lock_hold_ms_p99", ms(s.hold_ns.p99)),
            ("lock_hold_ms_max", ms(s.hold_ns.max)),
            ("lock_watch_events", s.watch_events),
            (
                "lock_watch_events_per_hold_max",
                s.watch_events_per_hold_max,
            ),
            // The herd metric: about 1,000 when each waiter watches only its predecessor.
            (
                "lock_watch_events_per_1000_acquisitions",
                (s.watch_events * 1000) / (s.acquisitions as u64).max(1),
            ),
            ("lock_resource_writes", s.writes as u64),
            ("lock_stale_tokens_rejected", s.stale_tokens_rejected as u64),
            ("lock_documented_unsafety", documented as u64),
        ] {
            figures.push((name.to_string(), value));
        }
        let f = r.violation()?;
        Some(Violation {
            check: "LockInvariant".to_string(),
            processes: Vec::new(),
            detail: f.render(history),
        })
    }
}
