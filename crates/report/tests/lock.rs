//! The lock recipe's charts on a hand-made run directory: drawn only when the history has
//! lock holds, shown first in the index, labelled with what happened (holds by how they
//! ended, a refused stale write, an interleaved write), byte-identical on equal inputs.

use proto::ProcessId;
use proto::history::{Event, LockEnd, LockRecord, ResourceRecord};
use proto::zk::SessionId;
use std::path::Path;

mod common;

use common::scratch;

const MS: u64 = 1_000_000;

fn write_run(dir: &Path) {
    let scenario = serde_json::json!({
        "seed": 7,
        "scenario": {"version": 1, "name": "lock-fixture", "description": "hand-made"},
        "swarm": null,
        "schedule": [],
    });
    std::fs::write(dir.join("scenario.json"), scenario.to_string()).unwrap();
    let outcome = serde_json::json!({
        "outcome": {
            "seed": 7, "verdict": {"verdict": "pass"}, "trace_hash": 1u64,
            "end_ns": 2_000 * MS, "recovered_ns": 2_000 * MS, "stats": {"events": 1},
            "faults": [{"at_ns": 300 * MS, "until_ns": 1_300 * MS,
                        "fault": {"kind": "pause", "target": 3, "duration_ms": 1000},
                        "processes": [5]}],
        },
        "swarm": null, "schedule": [], "figures": [], "elections_ns": [],
    });
    std::fs::write(dir.join("outcome.json"), outcome.to_string()).unwrap();
    let hold = |p: u32, req, acq: Option<u64>, end, how| {
        Event::Lock(LockRecord {
            process: ProcessId(p),
            session: SessionId(u64::from(p)),
            hold: 1,
            lock: "/lock".into(),
            node: Some(format!("_c_{p}x1-lock-000000000{p}")),
            token: acq.map(|_| u64::from(p)),
            request_ns: req * MS,
            acquired_ns: acq.map(|t| t * MS),
            end_ns: Some(end * MS),
            end: how,
            watch_events: 1,
        })
    };
    let write = |index, p: u32, at, accepted| {
        Event::Resource(ResourceRecord {
            resource: ProcessId(4),
            index,
            holder: ProcessId(p),
            session: SessionId(u64::from(p)),
            hold: 1,
            token: None,
            time_ns: at * MS,
            accepted,
        })
    };
    let events = [
        write(1, 5, 210, true),
        write(2, 6, 1_250, true),
        write(3, 5, 1_310, true),
        write(4, 5, 1_320, false),
        hold(5, 100, Some(200), 1_330, LockEnd::Lost),
        hold(6, 150, Some(1_240), 1_500, LockEnd::Released),
        hold(7, 1_600, None, 2_000, LockEnd::Open),
    ];
    let text: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    std::fs::write(dir.join("history.jsonl"), text).unwrap();
}

#[test]
fn lock_runs_get_the_lock_charts_first() {
    let dir = scratch("lock");
    write_run(&dir);
    report::render(&dir, &dir).unwrap();
    let index = std::fs::read_to_string(dir.join(report::INDEX)).unwrap();
    let first = |stem: &str| index.find(&format!("<img src=\"{stem}.svg\"")).unwrap();
    for stem in report::LOCK_CHARTS {
        assert!(first(stem) < first(report::CHARTS[0]), "{stem} comes first");
    }
    assert!(index.contains("Lock recipe: 3 holds, 4 writes to the protected resource (1 refused"));
    let holders = std::fs::read_to_string(dir.join("lock-holders.svg")).unwrap();
    for needle in [
        "released (1)",
        "lost to its session (1)",
        "write refused as stale (1)",
        "write inside another hold (1)",
        "pause p5",
    ] {
        assert!(holders.contains(needle), "lock-holders lacks {needle}");
    }
    let times = std::fs::read_to_string(dir.join("lock-wait-hold.svg")).unwrap();
    assert!(times.contains("wait (n=2)") && times.contains("hold (n=2)"));
    // Equal inputs, equal bytes.
    let bytes = |d: &Path| {
        report::LOCK_CHARTS
            .iter()
            .flat_map(|s| [format!("{s}.svg"), format!("{s}.png")])
            .map(|n| std::fs::read(d.join(n)).unwrap())
            .collect::<Vec<_>>()
    };
    let once = bytes(&dir);
    report::render(&dir, &dir.join("again")).unwrap();
    assert!(
        once == bytes(&dir.join("again")),
        "lock charts differ on equal inputs"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_without_lock_holds_have_no_lock_charts() {
    let dir = scratch("no-lock");
    write_run(&dir);
    std::fs::write(dir.join("history.jsonl"), "").unwrap();
    let written = report::render(&dir, &dir).unwrap();
    assert_eq!(written.files.len(), report::CHARTS.len() * 2 + 1);
    assert!(!dir.join("lock-holders.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
