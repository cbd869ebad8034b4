//! The event recorder end to end: a recorded run is the same run (same trace hash, same
//! event count) as an unrecorded one; the recording holds what happened — messages of
//! known kinds handled, timers, the scripted crash and restart, faults and heals, drops
//! with their reasons, server state changes — in time order, with every handled message
//! paired to its send; and a recorder stops at its bound.

use kernel::fault::Fault;
use kernel::tracelog::{DropReason, Healed, MemorySink, TraceEvent, TraceSink, What};
use proto::ProcessId;
use sim::run::{RunReport, run, run_traced};
use sim::scenario::{Loaded, load_file};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

fn scenario(name: &str, overrides: &[&str]) -> Loaded {
    let path = format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_file(&path, &overrides).unwrap_or_else(|e| panic!("{e}"))
}

/// `loaded` at `seed`, recorded into a sink of `events_max` events.
fn recorded(loaded: &Loaded, seed: u64, events_max: usize) -> (RunReport, MemorySink) {
    let sink = Rc::new(RefCell::new(MemorySink::new(events_max)));
    let handle: Box<dyn TraceSink> = Box::new(sink.clone());
    let report = run_traced(loaded, seed, Some(handle)).expect("resolves");
    let sink = Rc::try_unwrap(sink)
        .expect("the kernel let go of the sink")
        .into_inner();
    (report, sink)
}

/// The 3-server scenario: the leader crashes at 1.5 s and restarts at 2.5 s, the next
/// leader is isolated at 4 s, a clock drifts at 6 s.
fn zab3() -> Loaded {
    scenario("zab-3.toml", &[])
}

fn count(events: &[TraceEvent], pred: impl Fn(&What) -> bool) -> usize {
    events.iter().filter(|e| pred(&e.what)).count()
}

#[test]
fn a_recorded_run_is_the_same_run() {
    let loaded = zab3();
    let plain = run(&loaded, 1).expect("resolves");
    let (traced, sink) = recorded(&loaded, 1, 2_000_000);
    assert_eq!(traced.outcome.trace_hash, plain.outcome.trace_hash);
    assert_eq!(traced.outcome.stats.events, plain.outcome.stats.events);
    assert_eq!(traced.outcome.verdict, plain.outcome.verdict);
    assert!(!sink.truncated);
    let events = sink.events;
    assert!(events.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
    assert!(events.last().expect("events").at_ns <= traced.outcome.end_ns);
    // Messages of known kinds were handled: elections, then replication.
    for kind in ["NOTIFICATION", "PROPOSAL", "ACK", "COMMIT"] {
        let n = count(
            &events,
            |w| matches!(w, What::Handle { kind: k, .. } if *k == kind),
        );
        assert!(n > 0, "no {kind} handled");
    }
    assert!(count(&events, |w| matches!(w, What::Timer { .. })) > 0);
    assert!(count(&events, |w| matches!(w, What::FsyncDone { .. })) > 0);
    assert!(
        count(
            &events,
            |w| matches!(w, What::Note { name, .. } if name == "LEADING")
        ) > 0
    );
    assert_eq!(count(&events, |w| matches!(w, What::Liveness)), 1);
}

#[test]
fn the_scripted_crash_and_restart_are_recorded() {
    let (report, sink) = recorded(&zab3(), 1, 2_000_000);
    let events = sink.events;
    let crash_fault = events
        .iter()
        .find_map(|e| match &e.what {
            What::Fault {
                fault: Fault::Crash { .. },
                processes,
                until_ns,
                ..
            } => Some((e.at_ns, processes.clone(), *until_ns)),
            _ => None,
        })
        .expect("the crash fault was applied");
    let (at_ns, hit, until_ns) = crash_fault;
    assert_eq!(at_ns, 1_500_000_000);
    assert_eq!(hit.len(), 1, "the leader was hit");
    let victim = hit[0];
    assert_eq!(until_ns, Some(2_500_000_000));
    let crash = events
        .iter()
        .find(|e| e.what == What::Crash { pid: victim })
        .expect("the victim crashed");
    assert_eq!(crash.at_ns, at_ns);
    let heal = What::Heal {
        healed: Healed::Restart { pid: victim },
    };
    assert!(
        events
            .iter()
            .any(|e| e.what == heal && e.at_ns == 2_500_000_000)
    );
    let restarted = What::Start {
        pid: victim,
        incarnation: 1,
    };
    assert!(events.iter().any(|e| e.what == restarted));
    assert_eq!(report.outcome.stats.crashes, 1);
}

/// Every handled or dropped message was sent first, under the same id and kind; every
/// sent message is handled or dropped, unless the run ended while it was on its way.
#[test]
fn messages_pair_with_their_sends() {
    let (report, sink) = recorded(&zab3(), 2, 2_000_000);
    let mut open: BTreeMap<u32, (u64, &str)> = BTreeMap::new();
    let mut ended = 0;
    for e in &sink.events {
        match &e.what {
            What::Send { kind, id, .. } => {
                assert!(
                    open.insert(*id, (e.at_ns, kind)).is_none(),
                    "id {id} reused"
                );
            }
            What::Handle { kind, id, .. } | What::Drop { kind, id, .. } => {
                let (sent_ns, sent_kind) = open.remove(id).expect("sent before");
                assert_eq!(sent_kind, *kind);
                assert!(sent_ns <= e.at_ns);
                ended += 1;
            }
            _ => {}
        }
    }
    assert!(ended > 1_000, "{ended} messages");
    let end_ns = report.outcome.end_ns;
    for (id, (sent_ns, kind)) in &open {
        assert!(
            end_ns - sent_ns < 50_000_000,
            "{kind} {id} sent at {sent_ns} never arrived (end {end_ns})"
        );
    }
}

/// Datagrams: loss, partitions and a crash drop messages, each recorded with its reason;
/// every scripted fault and heal is there.
#[test]
fn drops_faults_and_heals_of_the_probe_script() {
    let loaded = scenario("probe-script.toml", &[]);
    let plain = run(&loaded, 3).expect("resolves");
    let (traced, sink) = recorded(&loaded, 3, 2_000_000);
    assert_eq!(traced.outcome.trace_hash, plain.outcome.trace_hash);
    let events = sink.events;
    let reasons: BTreeSet<String> = events
        .iter()
        .filter_map(|e| match &e.what {
            What::Drop { reason, .. } => Some(reason.as_str().to_string()),
            _ => None,
        })
        .collect();
    for reason in [DropReason::Loss, DropReason::Partition, DropReason::Dead] {
        assert!(
            reasons.contains(reason.as_str()),
            "no {reason:?} drop: {reasons:?}"
        );
    }
    let faults = count(&events, |w| matches!(w, What::Fault { .. }));
    assert_eq!(faults, traced.outcome.faults.len());
    let heals = count(&events, |w| matches!(w, What::Heal { .. }));
    assert!(heals >= 4, "{heals} heals");
    let crashed = ProcessId(1);
    assert!(
        events
            .iter()
            .any(|e| e.what == What::Crash { pid: crashed })
    );
}

#[test]
fn the_recorder_stops_at_its_bound() {
    let loaded = zab3();
    let plain = run(&loaded, 1).expect("resolves");
    let (traced, sink) = recorded(&loaded, 1, 1_000);
    assert_eq!(traced.outcome.trace_hash, plain.outcome.trace_hash);
    assert!(sink.truncated);
    assert_eq!(sink.events.len(), 1_000);
}

/// Every process of every shipped scenario has a name, and only those.
#[test]
fn every_process_has_a_name() {
    let dir = format!("{}/../../scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
        .filter(|n| n.ends_with(".toml"))
        .collect();
    files.sort();
    assert!(files.len() > 5);
    for file in files {
        let loaded = scenario(&file, &[]);
        let (kernel, _) = sim::run::kernel_config(&loaded, 1).expect("resolves");
        let names = sim::run::process_names(&loaded.scenario);
        assert_eq!(names.len(), kernel.process_count as usize, "{file}");
        assert!(names[0].starts_with("p0 "), "{file}: {}", names[0]);
    }
    let names = sim::run::process_names(&scenario("queue.toml", &[]).scenario);
    assert!(names.iter().any(|n| n.ends_with(" producer")));
    assert!(names.iter().any(|n| n.ends_with(" consumer")));
}
