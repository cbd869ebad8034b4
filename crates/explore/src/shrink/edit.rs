//! The edits a shrink makes to a scenario, each a pure function: the seed's schedule as an
//! explicit script, a shorter safety phase (dropping the faults past it), fewer KV clients,
//! a smaller queue workload, a smaller cluster (faults renumbered, or dropped when they lose
//! their targets), shorter faults. An edit may leave a scenario that does not validate; the
//! shrink never runs such a candidate.

use kernel::fault::{Fault, Scheduled, Target};
use sim::scenario::{QueueWorkload, Scenario, WorkloadConfig};

/// `partition-halves at 979 ms`: a fault as progress lines name it.
pub fn describe(f: &Scheduled) -> String {
    let value = serde_json::to_value(&f.fault).unwrap_or_default();
    let kind = value["kind"].as_str().unwrap_or("fault");
    format!("{kind} at {} ms", f.at_ms)
}

pub fn safety_ms(s: &Scenario) -> Option<u64> {
    Some(s.run.safety_ms)
}

/// A shorter safety phase; scripted faults at or after its end are dropped.
pub fn set_safety_ms(s: &mut Scenario, safety_ms: u64) {
    s.run.safety_ms = safety_ms;
    s.nemesis.script.retain(|f| f.at_ms < safety_ms);
}

pub fn kv_clients(s: &Scenario) -> Option<u64> {
    match &s.workload {
        WorkloadConfig::Writes { clients, .. } => Some(*clients as u64),
        _ => None,
    }
}

pub fn set_kv_clients(s: &mut Scenario, v: u64) {
    if let WorkloadConfig::Writes { clients, .. } = &mut s.workload {
        *clients = v as u32;
    }
}

pub fn queue(s: &Scenario) -> Option<&QueueWorkload> {
    match &s.workload {
        WorkloadConfig::Writes { queue, .. } => queue.as_ref(),
        _ => None,
    }
}

pub fn queue_slot(s: &mut Scenario) -> Option<&mut Option<QueueWorkload>> {
    match &mut s.workload {
        WorkloadConfig::Writes { queue, .. } => Some(queue),
        _ => None,
    }
}

pub fn queue_mut(s: &mut Scenario, f: impl FnOnce(&mut QueueWorkload)) {
    if let Some(Some(q)) = queue_slot(s) {
        f(q)
    }
}

/// How long a fault lasts: its duration, or a crash's time until restart.
pub fn duration(f: &Fault) -> Option<u64> {
    match f {
        Fault::Crash {
            restart_after_ms, ..
        } => *restart_after_ms,
        other => other.duration_ms(),
    }
}

pub fn set_duration(f: &mut Fault, v: u64) {
    match f {
        Fault::Crash {
            restart_after_ms: Some(ms),
            ..
        }
        | Fault::Pause {
            duration_ms: ms, ..
        }
        | Fault::DiskSlow {
            duration_ms: ms, ..
        }
        | Fault::Loss {
            duration_ms: ms, ..
        }
        | Fault::PartitionHalves {
            duration_ms: ms, ..
        }
        | Fault::PartitionIsolate {
            duration_ms: ms, ..
        }
        | Fault::PartitionBridge {
            duration_ms: ms, ..
        }
        | Fault::PartitionOneWay {
            duration_ms: ms, ..
        }
        | Fault::PartitionRing {
            duration_ms: ms, ..
        } => *ms = v,
        _ => {}
    }
}

/// Resize the cluster to `servers` + `observers` fault targets. Node indices are servers
/// first, then observers, then clients that are fault targets (the recipes', kept); the kept
/// ones are renumbered, faults naming removed nodes drop
/// them from their lists, and a fault left without a target or a usable layout goes.
pub fn resize_cluster(s: &mut Scenario, servers: u32, observers: u32) {
    let (old_servers, old_observers) = (s.cluster.servers, s.cluster.observers);
    assert!(
        servers <= old_servers && observers <= old_observers,
        "only shrinks"
    );
    let old_targets = old_servers + old_observers;
    let map = |i: u32| -> Option<u32> {
        if i < old_servers {
            (i < servers).then_some(i)
        } else if i < old_targets {
            let j = i - old_servers;
            (j < observers).then_some(servers + j)
        } else {
            // A client that is a fault target (the lock's, the config's): kept, after the
            // servers.
            Some(i - old_targets + servers + observers)
        }
    };
    let clients = s.workload.client_fault_target_count();
    let targets = servers + observers + clients;
    s.cluster.servers = servers;
    s.cluster.observers = observers;
    let script = std::mem::take(&mut s.nemesis.script);
    s.nemesis.script = script
        .into_iter()
        .filter_map(|f| {
            let fault = remap(&f.fault, &map, targets)?;
            Some(Scheduled {
                at_ms: f.at_ms,
                fault,
            })
        })
        .collect();
}

/// `fault` with its node indices renumbered by `map`; `None` when it no longer applies.
fn remap(fault: &Fault, map: &impl Fn(u32) -> Option<u32>, targets: u32) -> Option<Fault> {
    let list = |v: &Option<Vec<u32>>| -> Option<Vec<u32>> {
        let kept: Vec<u32> = v.as_ref()?.iter().filter_map(|&i| map(i)).collect();
        (!kept.is_empty()).then_some(kept)
    };
    let mut f = fault.clone();
    if let Some(t) = f.target_mut()
        && let Target::Node(i) = *t
    {
        *t = Target::Node(map(i)?);
    }
    match &mut f {
        Fault::PartitionHalves { side, .. } => {
            let kept = list(side).filter(|k| (k.len() as u32) < targets)?;
            *side = Some(kept);
        }
        Fault::PartitionBridge { a, b, bridge, .. } => {
            (*a, *b) = (Some(list(a)?), Some(list(b)?));
            *bridge = Some(map((*bridge)?)?);
        }
        Fault::PartitionOneWay { from, to, .. } => {
            (*from, *to) = (Some(list(from)?), Some(list(to)?));
        }
        Fault::PartitionRing { ring, .. } => *ring = Some(list(ring)?),
        _ => {}
    }
    Some(f)
}

/// The scenario with the schedule `schedule` (what the seed drew) as its explicit script.
pub fn explicit(s: &Scenario, schedule: &[Scheduled]) -> Scenario {
    let mut e = s.clone();
    e.nemesis.script = schedule.to_vec();
    e.nemesis.random = false;
    e.nemesis.swarm = false;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halves(side: Vec<u32>) -> Fault {
        Fault::PartitionHalves {
            side: Some(side),
            duration_ms: 5,
        }
    }

    #[test]
    fn remap_drops_removed_nodes_and_faults_without_targets() {
        let map = |i: u32| (i < 3).then_some(i);
        assert_eq!(remap(&halves(vec![1, 4]), &map, 3), Some(halves(vec![1])));
        assert_eq!(remap(&halves(vec![3, 4]), &map, 3), None);
        assert_eq!(remap(&halves(vec![0, 1, 2]), &map, 3), None);
        let pause = |t| Fault::Pause {
            target: t,
            duration_ms: 1,
        };
        assert_eq!(remap(&pause(Target::Node(4)), &map, 3), None);
        assert_eq!(
            remap(&pause(Target::Leader), &map, 3),
            Some(pause(Target::Leader))
        );
    }

    #[test]
    fn a_smaller_cluster_renumbers_observers_after_the_servers() {
        let mut s = sim::scenario::load_default(&[]).unwrap().scenario;
        (s.cluster.servers, s.cluster.observers) = (5, 2);
        let pause = |i, at_ms| Scheduled {
            at_ms,
            fault: Fault::Pause {
                target: Target::Node(i),
                duration_ms: 1,
            },
        };
        s.nemesis.script = vec![pause(1, 10), pause(4, 20), pause(5, 30), pause(6, 40)];
        resize_cluster(&mut s, 3, 1);
        assert_eq!((s.cluster.servers, s.cluster.observers), (3, 1));
        assert_eq!(s.nemesis.script, [pause(1, 10), pause(3, 30)]);
    }

    #[test]
    fn durations_shrink_in_place() {
        let mut crash = Fault::Crash {
            target: Target::Node(0),
            restart_after_ms: Some(300),
            tear: false,
        };
        set_duration(&mut crash, 7);
        assert_eq!(duration(&crash), Some(7));
        let mut f = halves(vec![0]);
        set_duration(&mut f, 2);
        assert_eq!(duration(&f), Some(2));
        let at = Scheduled {
            at_ms: 979,
            fault: f,
        };
        assert_eq!(describe(&at), "partition-halves at 979 ms");
    }
}
