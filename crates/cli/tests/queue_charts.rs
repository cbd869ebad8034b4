//! The queue recipe's charts on a real run: `zabsim run --out` of `scenarios/queue.toml`
//! draws them first in its index, and their legends agree with what the run's history says
//! when counted here without the report's code (time-in-queue count, the backlog's largest
//! value, items taken of items entered).

mod common;

use proto::history::{Event, Outcome, QueueKind};
use std::collections::BTreeMap;
use std::path::Path;

/// `zabsim run --out dir` of `scenario` at `seed`: its history.
fn run_into(dir: &Path, scenario: &str, seed: u64) -> Vec<Event> {
    let path = format!("{}/../../scenarios/{scenario}", env!("CARGO_MANIFEST_DIR"));
    let seed = seed.to_string();
    let out = dir.to_str().expect("a UTF-8 path");
    let run = common::zabsim(&["run", "--scenario", &path, "--seed", &seed, "--out", out]);
    assert_eq!(run.code, 0, "{}", run.show());
    let text = std::fs::read_to_string(dir.join("history.jsonl")).expect("a history");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one event a line"))
        .collect()
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
    let dir = std::env::temp_dir().join(format!("zabsim-queue-charts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
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
