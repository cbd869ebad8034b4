//! The config recipe's chart on a hand-made run directory: drawn only when the history has
//! config records, shown first in the index, labelled with each subscriber's lag (one that
//! converged, one stuck a version behind), byte-identical on equal inputs.

use proto::ProcessId;
use proto::history::{ConfigKind, ConfigRecord, Event};
use proto::zk::SessionId;
use std::path::Path;

mod common;

use common::scratch;

const MS: u64 = 1_000_000;

fn write_run(dir: &Path) {
    let scenario = serde_json::json!({
        "seed": 9,
        "scenario": {"version": 1, "name": "config-fixture", "description": "hand-made"},
        "swarm": null,
        "schedule": [],
    });
    std::fs::write(dir.join("scenario.json"), scenario.to_string()).unwrap();
    let outcome = serde_json::json!({
        "outcome": {
            "seed": 9, "verdict": {"verdict": "pass"}, "trace_hash": 1u64,
            "end_ns": 2_000 * MS, "recovered_ns": 2_000 * MS, "stats": {"events": 1},
            "faults": [{"at_ns": 300 * MS, "until_ns": 900 * MS,
                        "fault": {"kind": "pause", "target": 5, "duration_ms": 600},
                        "processes": [6]}],
        },
        "swarm": null, "schedule": [], "figures": [], "elections_ns": [],
    });
    std::fs::write(dir.join("outcome.json"), outcome.to_string()).unwrap();
    let rec = |p: u32, kind, number, at: u64| {
        Event::Config(ConfigRecord {
            process: ProcessId(p),
            session: SessionId(u64::from(p)),
            kind,
            number,
            node: None,
            zxid: None,
            time_ns: at * MS,
        })
    };
    use ConfigKind::*;
    let events = [
        rec(4, Started, 0, 0),
        rec(5, Started, 0, 0),
        rec(6, Started, 0, 0),
        rec(5, Seen, 0, 10),
        rec(6, Seen, 0, 10),
        rec(4, Published, 1, 100),
        rec(5, Seen, 1, 102),
        rec(6, Seen, 1, 103),
        rec(4, Published, 2, 400),
        rec(4, Published, 3, 404),
        rec(5, Seen, 3, 406),
        rec(4, MessagePublished, 1, 500),
        rec(5, MessageDelivered, 1, 502),
        rec(6, Seen, 2, 950),
    ];
    let text: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    std::fs::write(dir.join("history.jsonl"), text).unwrap();
}

#[test]
fn config_runs_get_the_lag_chart_first() {
    let dir = scratch("config");
    write_run(&dir);
    report::render(&dir, &dir).unwrap();
    let index = std::fs::read_to_string(dir.join(report::INDEX)).unwrap();
    let first = |stem: &str| index.find(&format!("<img src=\"{stem}.svg\"")).unwrap();
    assert!(first(report::CONFIG_CHARTS[0]) < first(report::CHARTS[0]));
    assert!(
        index.contains("Config recipe: 3 versions and 1 messages published, 6 config reads"),
        "{index}"
    );
    let lag = std::fs::read_to_string(dir.join("config-lag.svg")).unwrap();
    for needle in [
        "p5: at most 2 behind, 0 at the end",
        "p6: at most 2 behind, 1 at the end",
        "pause p6",
    ] {
        assert!(lag.contains(needle), "config-lag lacks {needle}");
    }
    assert!(!lag.contains("p4:"), "the publisher is no subscriber");
    let bytes = |d: &Path| {
        ["config-lag.svg", "config-lag.png"]
            .map(|n| std::fs::read(d.join(n)).unwrap())
            .to_vec()
    };
    let once = bytes(&dir);
    report::render(&dir, &dir.join("again")).unwrap();
    assert!(
        once == bytes(&dir.join("again")),
        "config charts differ on equal inputs"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_without_config_records_have_no_config_chart() {
    let dir = scratch("no-config");
    write_run(&dir);
    std::fs::write(dir.join("history.jsonl"), "").unwrap();
    report::render(&dir, &dir).unwrap();
    assert!(!dir.join("config-lag.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
