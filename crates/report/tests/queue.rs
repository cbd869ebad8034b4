//! The queue recipe's charts: on a hand-made run directory, drawn only when the history has
//! queue records, shown first in the index, labelled with exact values (backlog, items
//! taken, time-in-queue count), byte-identical on equal inputs; and on a real run of
//! `scenarios/queue.toml` (written as `zabsim run --out` writes it), their legends agree
//! with what the history's records say when counted here another way.

use proto::ProcessId;
use proto::history::{Event, Outcome, QueueKind, QueueRecord};
use std::collections::BTreeMap;
use std::path::Path;

mod common;

use common::scratch;

const MS: u64 = 1_000_000;

fn write_fixture(dir: &Path) {
    let scenario = serde_json::json!({
        "seed": 9,
        "scenario": {"version": 1, "name": "queue-fixture", "description": "hand-made"},
        "swarm": null,
        "schedule": [],
    });
    std::fs::write(dir.join("scenario.json"), scenario.to_string()).unwrap();
    let outcome = serde_json::json!({
        "outcome": {
            "seed": 9, "verdict": {"verdict": "pass"}, "trace_hash": 1u64,
            "end_ns": 2_000 * MS, "recovered_ns": 2_000 * MS, "stats": {"events": 1},
            "faults": [{"at_ns": 300 * MS, "until_ns": 900 * MS,
                        "fault": {"kind": "pause", "target": 6, "duration_ms": 600},
                        "processes": [6]}],
        },
        "swarm": null, "schedule": [], "figures": [], "elections_ns": [],
    });
    std::fs::write(dir.join("outcome.json"), outcome.to_string()).unwrap();
    let rec = |p: u32, kind, item, invoke: u64, complete: Option<u64>, outcome| {
        Event::Queue(QueueRecord {
            process: ProcessId(p),
            queue: "/queue".into(),
            kind,
            item,
            invoke_ns: invoke * MS,
            complete_ns: complete.map(|c| c * MS),
            outcome,
            at_least_once: true,
        })
    };
    use Outcome::*;
    use QueueKind::*;
    let events = [
        rec(5, Enqueue, Some(1), 100, Some(102), Ok),
        rec(5, Enqueue, Some(2), 110, Some(112), Ok),
        // Unanswered, then taken: it entered.
        rec(5, Enqueue, Some(3), 120, None, Info),
        rec(5, Enqueue, Some(4), 130, Some(132), Ok),
        // Unanswered and never taken: not known to have entered.
        rec(5, Enqueue, Some(5), 140, None, Info),
        rec(6, Dequeue, Some(1), 150, Some(200), Ok),
        rec(6, Dequeue, Some(2), 350, Some(400), Ok),
        rec(7, Dequeue, Some(4), 450, None, Info),
        rec(7, Dequeue, None, 460, Some(470), Fail),
        rec(6, Dequeue, Some(3), 950, Some(1_000), Ok),
    ];
    write_history(dir, &events);
}

fn write_history(dir: &Path, events: &[Event]) {
    let text: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    std::fs::write(dir.join("history.jsonl"), text).unwrap();
}

/// Where `stem`'s chart appears in the index.
fn position(index: &str, stem: &str) -> usize {
    index
        .find(&format!("<img src=\"{stem}.svg\""))
        .unwrap_or_else(|| panic!("{stem} is not in the index"))
}

fn assert_first(index: &str) {
    for stem in report::QUEUE_CHARTS {
        assert!(
            position(index, stem) < position(index, report::CHARTS[0]),
            "{stem} comes first"
        );
    }
}

fn svg(dir: &Path, stem: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap()
}

#[test]
fn queue_runs_get_the_queue_charts_first() {
    let dir = scratch("queue");
    write_fixture(&dir);
    report::render(&dir, &dir).unwrap();
    let index = std::fs::read_to_string(dir.join(report::INDEX)).unwrap();
    assert_first(&index);
    assert!(
        index.contains("Queue recipe: 4 items entered the queue, 3 taken (1 never taken"),
        "{index}"
    );
    // 100, 290 and 880 ms in the queue (item 3 from its unanswered enqueue's invocation).
    let times = svg(&dir, report::QUEUE_CHARTS[0]);
    for needle in ["time in queue (n=3)", "p50 290.0 ms, p99 880.0 ms"] {
        assert!(times.contains(needle), "time-in-queue lacks {needle}");
    }
    // Items 1, 2, 3, 4 enter at 100..130 ms; 1, 2, 3 leave; 4 stays.
    let backlog = svg(&dir, report::QUEUE_CHARTS[1]);
    for needle in [
        "backlog: at most 4",
        "1 at the end",
        "3 of 4 items taken",
        "pause p6",
    ] {
        assert!(backlog.contains(needle), "queue-backlog lacks {needle}");
    }
    let bytes = |d: &Path| {
        report::QUEUE_CHARTS
            .iter()
            .flat_map(|s| [format!("{s}.svg"), format!("{s}.png")])
            .map(|n| std::fs::read(d.join(n)).unwrap())
            .collect::<Vec<_>>()
    };
    let once = bytes(&dir);
    report::render(&dir, &dir.join("again")).unwrap();
    assert!(
        once == bytes(&dir.join("again")),
        "queue charts differ on equal inputs"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_without_queue_records_have_no_queue_charts() {
    let dir = scratch("no-queue");
    write_fixture(&dir);
    std::fs::write(dir.join("history.jsonl"), "").unwrap();
    let written = report::render(&dir, &dir).unwrap();
    assert_eq!(written.files.len(), report::CHARTS.len() * 2 + 1);
    for stem in report::QUEUE_CHARTS {
        assert!(!dir.join(format!("{stem}.svg")).exists());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Run `scenario` for `seed` into `dir` as `zabsim run --out` does: the resolved scenario,
/// the outcome and the history. Returns the history.
fn run_into(dir: &Path, scenario: &str, seed: u64) -> Vec<Event> {
    let path = format!("{}/../../scenarios/{scenario}", env!("CARGO_MANIFEST_DIR"));
    let loaded = sim::scenario::load_file(&path, &[]).unwrap();
    let r = sim::run::run(&loaded, seed).unwrap();
    let resolved = sim::run::ResolvedScenario {
        seed,
        scenario: &loaded.scenario,
        swarm: &r.swarm,
        schedule: &r.schedule,
    };
    std::fs::write(dir.join("scenario.json"), json(&resolved)).unwrap();
    std::fs::write(dir.join("outcome.json"), json(&r)).unwrap();
    write_history(dir, &r.history);
    r.history
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap() + "\n"
}

/// What the history says of each item, counted without the report's code: when each was
/// first taken (`ok`), and the invocations of its enqueues that did not fail.
struct Items {
    taken_ns: BTreeMap<u64, u64>,
    enqueued_ns: BTreeMap<u64, Vec<u64>>,
    acknowledged: Vec<u64>,
}

fn items(history: &[Event]) -> Items {
    let mut it = Items {
        taken_ns: BTreeMap::new(),
        enqueued_ns: BTreeMap::new(),
        acknowledged: Vec::new(),
    };
    for e in history {
        let Event::Queue(q) = e else { continue };
        let Some(item) = q.item else { continue };
        match (q.kind, q.outcome) {
            (QueueKind::Enqueue, Outcome::Ok | Outcome::Info) => {
                it.enqueued_ns.entry(item).or_default().push(q.invoke_ns);
                if q.outcome == Outcome::Ok {
                    it.acknowledged.push(item);
                }
            }
            (QueueKind::Dequeue, Outcome::Ok) => {
                let t = q.complete_ns.unwrap();
                let first = it.taken_ns.entry(item).or_insert(t);
                *first = (*first).min(t);
            }
            _ => {}
        }
    }
    it
}

#[test]
fn a_queue_run_charts_what_its_history_records() {
    let dir = scratch("queue-run");
    let history = run_into(&dir, "queue.toml", 3);
    let it = items(&history);
    assert!(
        it.taken_ns.len() >= 100,
        "seed 3 takes items: {}",
        it.taken_ns.len()
    );
    // Each item's stay, [first enqueue invoked, first ok take completed), for the items
    // known to have entered: acknowledged, or taken.
    let stays: Vec<(u64, Option<u64>)> = it
        .enqueued_ns
        .iter()
        .map(|(item, inv)| {
            let from = *inv.iter().min().unwrap();
            let until = it.taken_ns.get(item).copied().filter(|&u| u >= from);
            (item, from, until)
        })
        .filter(|&(item, _, until)| until.is_some() || it.acknowledged.contains(item))
        .map(|(_, from, until)| (from, until))
        .collect();
    let taken = stays.iter().filter(|s| s.1.is_some()).count();
    // The backlog's largest value: the most stays holding at one of their starts.
    let holding = |t: u64| {
        stays
            .iter()
            .filter(|&&(from, until)| from <= t && until.is_none_or(|u| u > t))
            .count()
    };
    let most = stays.iter().map(|&(from, _)| holding(from)).max().unwrap();
    assert!(most > 0);
    report::render(&dir, &dir).unwrap();
    let index = std::fs::read_to_string(dir.join(report::INDEX)).unwrap();
    assert_first(&index);
    let times = svg(&dir, report::QUEUE_CHARTS[0]);
    let n = format!("time in queue (n={taken})");
    assert!(times.contains(&n), "time-in-queue lacks {n}");
    let backlog = svg(&dir, report::QUEUE_CHARTS[1]);
    let max = format!("backlog: at most {most}");
    let of = format!("{taken} of {} items taken", stays.len());
    for needle in [max.as_str(), of.as_str()] {
        assert!(backlog.contains(needle), "queue-backlog lacks {needle}");
    }
    for stem in report::QUEUE_CHARTS {
        assert!(dir.join(format!("{stem}.png")).is_file());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
