//! The queue recipe's charts on a hand-made run directory: drawn only when the history has
//! queue records, shown first in the index, labelled with exact values (backlog, items
//! taken, time-in-queue count), byte-identical on equal inputs. (A real run's charts are
//! checked against its history in `crates/cli/tests/queue_charts.rs`.)

use proto::ProcessId;
use proto::history::{Event, Outcome, QueueKind, QueueRecord};
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
