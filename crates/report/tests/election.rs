//! The fail-over scheduler's charts on a hand-made run directory: drawn only when the
//! history has leader tenures, shown first in the index, labelled with what happened
//! (tenures by how they ended, two instances leading at once, tasks done from committed
//! completions, a refused write), byte-identical on equal inputs.

use proto::history::{
    Event, LeaderEnd, LeaderRecord, OpRecord, Outcome, TaskEnd, TaskRecord, TaskWriteRecord,
};
use proto::zk::{CreateMode, Op, OpResult, SessionId};
use proto::{ProcessId, Zxid};
use std::path::Path;

mod common;

use common::scratch;

const MS: u64 = 1_000_000;

fn write_run(dir: &Path) {
    let scenario = serde_json::json!({
        "seed": 9,
        "scenario": {"version": 1, "name": "election-fixture", "description": "hand-made"},
        "swarm": null,
        "schedule": [],
    });
    std::fs::write(dir.join("scenario.json"), scenario.to_string()).unwrap();
    let outcome = serde_json::json!({
        "outcome": {
            "seed": 9, "verdict": {"verdict": "pass"}, "trace_hash": 1u64,
            "end_ns": 2_000 * MS, "recovered_ns": 2_000 * MS, "stats": {"events": 1},
            "faults": [{"at_ns": 300 * MS, "until_ns": 1_300 * MS,
                        "fault": {"kind": "pause", "target": 3, "duration_ms": 1000},
                        "processes": [4]}],
        },
        "swarm": null, "schedule": [], "figures": [], "elections_ns": [],
    });
    std::fs::write(dir.join("outcome.json"), outcome.to_string()).unwrap();
    let tenure = |p: u32, epoch, start, end: Option<u64>, how| {
        Event::Leader(LeaderRecord {
            process: ProcessId(p),
            session: SessionId(u64::from(p)),
            tenure: 1,
            node: format!("_c_{p}x1-latch-000000000{p}"),
            epoch,
            start_ns: start * MS,
            end_ns: end.map(|e| e * MS),
            end: how,
        })
    };
    // A completion of task `task` by worker 7 at `at` ms.
    let done = |task: u64, at: u64, outcome| {
        Event::Op(OpRecord {
            process: ProcessId(7),
            session: SessionId(7),
            xid: task + 1,
            op: Op::Multi(vec![
                Op::Create {
                    path: format!("/done/t-{task:010}"),
                    data: b"w=w-7-7 t=1".to_vec(),
                    mode: CreateMode::Persistent,
                },
                Op::Delete {
                    path: format!("/assign/w-7-7/t-{task:010}"),
                    version: -1,
                },
            ]),
            invoke_ns: (at - 1) * MS,
            complete_ns: (outcome == Outcome::Ok).then_some(at * MS),
            outcome,
            result: (outcome == Outcome::Ok).then(|| OpResult::Multi(Vec::new())),
            zxid: Some(Zxid(0x1_0000_0000 + task)),
        })
    };
    let events = [
        tenure(4, 10, 100, Some(900), LeaderEnd::Lost),
        tenure(5, 20, 800, None, LeaderEnd::Open),
        tenure(4, 30, 1_500, Some(1_600), LeaderEnd::Suspended),
        done(0, 200, Outcome::Ok),
        done(1, 1_000, Outcome::Info),
        done(1, 1_100, Outcome::Ok),
        Event::TaskWrite(TaskWriteRecord {
            resource: ProcessId(3),
            index: 1,
            worker: ProcessId(7),
            session: SessionId(7),
            attempt: 2,
            task: 2,
            n: 1,
            token: Some(10),
            time_ns: 1_200 * MS,
            accepted: false,
        }),
        Event::Task(TaskRecord {
            process: ProcessId(7),
            session: SessionId(7),
            attempt: 1,
            task: 0,
            token: Some(10),
            start_ns: 150 * MS,
            end_ns: Some(200 * MS),
            end: TaskEnd::Done,
        }),
    ];
    let text: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    std::fs::write(dir.join("history.jsonl"), text).unwrap();
}

#[test]
fn scheduler_runs_get_the_election_charts_first() {
    let dir = scratch("election");
    write_run(&dir);
    report::render(&dir, &dir).unwrap();
    let index = std::fs::read_to_string(dir.join(report::INDEX)).unwrap();
    let first = |stem: &str| index.find(&format!("<img src=\"{stem}.svg\"")).unwrap();
    for stem in report::ELECTION_CHARTS {
        assert!(first(stem) < first(report::CHARTS[0]), "{stem} comes first");
    }
    assert!(index.contains(
        "Fail-over scheduler: 3 leader tenures, 1 task executions, 1 writes to the protected \
         resource (1 refused"
    ));
    let tenures = std::fs::read_to_string(dir.join("leader-tenures.svg")).unwrap();
    for needle in [
        "ended: session lost (1)",
        "ended: disconnected (1)",
        "leading at the end (1)",
        "two instances leading (2)", // 800..900 ms and 1500..1600 ms
        "3 in all",
        "pause p4",
    ] {
        assert!(tenures.contains(needle), "leader-tenures lacks {needle}");
    }
    let done = std::fs::read_to_string(dir.join("tasks-done.svg")).unwrap();
    // Task 1's unanswered completion took effect first: two tasks done, not three.
    for needle in ["tasks done (2)", "write refused: a deposed epoch (1)"] {
        assert!(done.contains(needle), "tasks-done lacks {needle}");
    }
    // Equal inputs, equal bytes.
    let bytes = |d: &Path| {
        report::ELECTION_CHARTS
            .iter()
            .flat_map(|s| [format!("{s}.svg"), format!("{s}.png")])
            .map(|n| std::fs::read(d.join(n)).unwrap())
            .collect::<Vec<_>>()
    };
    let once = bytes(&dir);
    report::render(&dir, &dir.join("again")).unwrap();
    assert!(
        once == bytes(&dir.join("again")),
        "election charts differ on equal inputs"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_without_tenures_have_no_election_charts() {
    let dir = scratch("no-election");
    write_run(&dir);
    std::fs::write(dir.join("history.jsonl"), "").unwrap();
    let written = report::render(&dir, &dir).unwrap();
    assert_eq!(written.files.len(), report::CHARTS.len() * 2 + 1);
    assert!(!dir.join("leader-tenures.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
