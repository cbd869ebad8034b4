//! The Chrome trace writer on real runs: the file is one JSON object with the metadata,
//! one event per line, exact microsecond timestamps; every complete event has a duration;
//! every flow end binds to the slice it opens and pairs with a send, every send with its
//! handling or a drop (or the run ended while it travelled); timestamps never decrease
//! along a track; the same run writes the same bytes; the bound truncates into a valid
//! file that says so; a finding closes the trace as a global instant.
//!
//! (Lives with the command line because it runs the ZooKeeper world, which `report` does not
//! depend on.)

use kernel::observe::{Finding, Verdict};
use kernel::tracelog::TraceSink;
use proto::ProcessId;
use report::trace::{ChromeTrace, RunEnd, Written};
use serde_json::Value;
use sim::run::{RunReport, process_names, run_traced};
use sim::scenario::{Loaded, load_file};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

fn scenario(name: &str) -> Loaded {
    let path = format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    load_file(&path, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// Run `loaded` at `seed`, tracing into memory; close the trace with `verdict` (the run's
/// own when `None`).
fn traced(
    loaded: &Loaded,
    seed: u64,
    events_max: u64,
    verdict: Option<Verdict>,
) -> (Vec<u8>, Written, RunReport) {
    let names = process_names(&loaded.scenario);
    let writer = ChromeTrace::new(Vec::new(), &names, events_max).expect("in memory");
    let writer = Rc::new(RefCell::new(writer));
    let sink: Box<dyn TraceSink> = Box::new(writer.clone());
    let report = run_traced(loaded, seed, Some(sink)).expect("resolves");
    let writer = Rc::try_unwrap(writer).ok().expect("released").into_inner();
    let verdict = verdict.unwrap_or_else(|| report.outcome.verdict.clone());
    let end = RunEnd {
        seed,
        scenario: &loaded.scenario.name,
        origin: &loaded.origin,
        trace_hash: report.outcome.trace_hash,
        end_ns: report.outcome.end_ns,
        verdict: &verdict,
    };
    let (bytes, written) = writer.finish(&end).expect("in memory");
    (bytes, written, report)
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// A track: (pid, tid, scope) — thread events and slices share the thread's.
fn track(e: &Value) -> (u64, u64, String) {
    let scope = match text(e, "ph").as_str() {
        "i" => text(e, "s"),
        _ => "t".to_string(),
    };
    let pid = if scope == "g" {
        0
    } else {
        e["pid"].as_u64().expect("pid")
    };
    (pid, e["tid"].as_u64().expect("tid"), scope)
}

/// Every structural promise of the format, on one written trace. Returns the events.
fn check_structure(bytes: &[u8], written: Written, report: &RunReport) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(bytes).expect("the trace is JSON");
    assert_eq!(doc["displayTimeUnit"], "ns");
    let meta = &doc["metadata"];
    assert_eq!(meta["seed"].as_u64(), Some(report.outcome.seed));
    assert_eq!(
        text(meta, "trace_hash"),
        format!("{:016x}", report.outcome.trace_hash)
    );
    assert_eq!(meta["events"].as_u64(), Some(written.events));
    assert_eq!(meta["truncated"].as_bool(), Some(written.truncated));
    let events = doc["traceEvents"]
        .as_array()
        .expect("an event array")
        .clone();
    // One event per line, in order.
    let lines: Vec<Value> = std::str::from_utf8(bytes)
        .expect("UTF-8")
        .lines()
        .filter(|l| l.starts_with("{\"ph\""))
        .map(|l| serde_json::from_str(l.trim_end_matches(',')).expect("a line is an event"))
        .collect();
    assert_eq!(lines, events);
    let mut last: BTreeMap<(u64, u64, String), f64> = BTreeMap::new();
    let mut named = BTreeSet::new();
    for e in &events {
        let ph = text(e, "ph");
        if ph == "M" {
            named.insert(e["pid"].as_u64().expect("pid"));
            continue;
        }
        assert!(
            named.contains(&e["pid"].as_u64().expect("pid")),
            "unnamed: {e}"
        );
        let ts = e["ts"].as_f64().expect("ts");
        if ph == "X" {
            assert!(e["dur"].as_f64().expect("X has dur") >= 0.0, "{e}");
        }
        let t = last.entry(track(e)).or_insert(0.0);
        assert!(*t <= ts, "time went back on {:?}: {e}", track(e));
        *t = ts;
    }
    for line in std::str::from_utf8(bytes).unwrap().lines() {
        if let Some(at) = line.find("\"ts\":") {
            let num: String = line[at + 5..].chars().take_while(|c| *c != ',').collect();
            let (whole, frac) = num.split_once('.').expect("fractional µs");
            assert!(
                whole.chars().all(|c| c.is_ascii_digit()) && frac.len() == 3,
                "{line}"
            );
        }
    }
    events
}

/// Flows: each end opens its slice and pairs with an earlier start of the same name; each
/// start ends, or its message was dropped, or it was still travelling when the run ended.
fn check_flows(events: &[Value], end_us: f64) -> usize {
    let mut starts: BTreeMap<u64, (f64, String)> = BTreeMap::new();
    let mut ended = BTreeSet::new();
    let mut dropped = BTreeSet::new();
    let mut previous: BTreeMap<(u64, u64, String), &Value> = BTreeMap::new();
    for e in events {
        let ts = e["ts"].as_f64().unwrap_or(0.0);
        match text(e, "ph").as_str() {
            "s" => {
                let id = e["id"].as_u64().expect("id");
                assert!(starts.insert(id, (ts, text(e, "name"))).is_none());
            }
            "f" => {
                let id = e["id"].as_u64().expect("id");
                assert_eq!(text(e, "bp"), "e");
                let (sent, name) = starts.get(&id).expect("a flow end has its start");
                assert_eq!(*name, text(e, "name"));
                assert!(*sent <= ts);
                let slice = previous[&track(e)];
                assert_eq!(text(slice, "ph"), "X", "{e} follows {slice}");
                assert_eq!(slice["ts"], e["ts"]);
                assert_eq!(slice["args"]["id"], e["id"]);
                assert!(ended.insert(id), "flow {id} ended twice");
            }
            "i" if text(e, "cat") == "drop" => {
                dropped.insert(e["args"]["id"].as_u64().expect("a drop names its message"));
            }
            _ => {}
        }
        if text(e, "ph") != "M" {
            previous.insert(track(e), e);
        }
    }
    for (id, (sent, name)) in &starts {
        let travelling = end_us - sent < 50_000.0;
        assert!(
            ended.contains(id) || dropped.contains(id) || travelling,
            "{name} {id} sent at {sent} µs neither arrived nor was dropped"
        );
    }
    assert!(dropped.iter().all(|id| starts.contains_key(id)));
    ended.len()
}

#[test]
fn a_zab_run_traces_into_a_well_formed_file() {
    let loaded = scenario("zab-3.toml");
    let (bytes, written, report) = traced(&loaded, 1, 2_000_000, None);
    assert!(!written.truncated);
    let events = check_structure(&bytes, written, &report);
    let flows = check_flows(&events, report.outcome.end_ns as f64 / 1e3);
    assert!(flows > 10_000, "{flows} flows");
    let names: BTreeSet<String> = events.iter().map(|e| text(e, "name")).collect();
    for name in [
        "process_name",
        "PROPOSAL",
        "LEADING",
        "FOLLOWING",
        "crash",
        "fsync done",
        "liveness phase: faults healed",
        "verdict: PASS",
    ] {
        assert!(names.contains(name), "no {name} event");
    }
    let faults = events
        .iter()
        .filter(|e| text(e, "cat") == "fault" && text(e, "s") == "g")
        .count();
    assert!(faults >= 3, "{faults} global fault events");
}

#[test]
fn datagram_drops_and_duplicates_pair_up() {
    let loaded = scenario("probe-script.toml");
    let (bytes, written, report) = traced(&loaded, 3, 2_000_000, None);
    let events = check_structure(&bytes, written, &report);
    check_flows(&events, report.outcome.end_ns as f64 / 1e3);
    let reasons: BTreeSet<String> = events
        .iter()
        .filter(|e| text(e, "cat") == "drop")
        .map(|e| text(&e["args"], "reason"))
        .collect();
    assert!(
        reasons.contains("loss") && reasons.contains("partition"),
        "{reasons:?}"
    );
    let duplicates = events
        .iter()
        .filter(|e| text(e, "ph") == "s" && e["id"].as_u64().unwrap() >= 1 << 31)
        .count();
    assert!(duplicates > 0, "no duplicated datagram");
}

#[test]
fn the_same_run_writes_the_same_bytes() {
    let loaded = scenario("zab-3.toml");
    let (a, _, _) = traced(&loaded, 2, 2_000_000, None);
    let (b, _, _) = traced(&loaded, 2, 2_000_000, None);
    assert!(a == b, "two traces of seed 2 differ");
}

#[test]
fn the_bound_truncates_into_a_valid_file() {
    let loaded = scenario("zab-3.toml");
    let (bytes, written, report) = traced(&loaded, 1, 1_000, None);
    assert!(written.truncated);
    assert!(written.events <= 1_000 && written.events >= 999);
    let events = check_structure(&bytes, written, &report);
    let metadata = events.iter().filter(|e| text(e, "ph") == "M").count() as u64;
    assert_eq!(events.len() as u64, metadata + written.events + 1);
}

#[test]
fn a_finding_closes_the_trace() {
    let loaded = scenario("zab-3.toml");
    let finding = Finding {
        check: "Leadership".into(),
        at_ns: 7_000_000_000,
        event: 12,
        processes: vec![ProcessId(0), ProcessId(2)],
        detail: "two \"leaders\" in epoch 3".into(),
    };
    let verdict = Verdict::Safety(finding);
    let (bytes, _, _) = traced(&loaded, 1, 2_000, Some(verdict));
    let doc: Value = serde_json::from_slice(&bytes).expect("JSON");
    let last = doc["traceEvents"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(text(&last, "name"), "SAFETY violation: Leadership");
    assert_eq!(text(&last, "s"), "g");
    assert_eq!(last["ts"].as_f64(), Some(7_000_000.0));
    let detail = text(&last["args"], "detail");
    assert!(detail.contains("two \"leaders\" in epoch 3") && detail.contains("p0, p2"));
    assert_eq!(doc["metadata"]["verdict"], "safety");
}
