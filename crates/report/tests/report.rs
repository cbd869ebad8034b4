//! The report end to end on hand-made run directories: every file is written and well
//! formed, the index references every chart, equal inputs give byte-identical files, runs
//! without a history still chart, and malformed inputs are named by file and line.

use proto::history::{Event, OpRecord, Outcome};
use proto::zk::{CreateMode, Op, OpResult, SessionId, ZkError};
use proto::{ProcessId, Zxid};
use std::path::Path;

mod common;

use common::{Lcg, PNG_SIGNATURE, scratch};

const MS: u64 = 1_000_000;
const END_NS: u64 = 3_000 * MS;

fn scenario_json(seed: u64) -> String {
    serde_json::json!({
        "seed": seed,
        "scenario": {"version": 1, "name": "fixture-<3>", "description": "hand-made & tiny"},
        "swarm": null,
        "schedule": [],
    })
    .to_string()
}

fn outcome_json(seed: u64, faults: bool) -> String {
    let faults = if faults {
        serde_json::json!([
            {"at_ns": 500 * MS, "until_ns": 900 * MS,
             "fault": {"kind": "crash", "target": "leader", "restart_after_ms": 400, "tear": false},
             "processes": [2]},
            {"at_ns": 1_400 * MS, "until_ns": 2_000 * MS,
             "fault": {"kind": "partition-isolate", "target": 1, "duration_ms": 600},
             "processes": [1]},
            {"at_ns": 1_700 * MS, "until_ns": 1_900 * MS,
             "fault": {"kind": "pause", "target": 0, "duration_ms": 200},
             "processes": [0]},
            {"at_ns": 2_500 * MS, "until_ns": null,
             "fault": {"kind": "clock-drift", "target": 0, "drift_ppm": 20000},
             "processes": [0]}
        ])
    } else {
        serde_json::json!([])
    };
    let text = serde_json::json!({
        "outcome": {
            "seed": seed,
            "verdict": {"verdict": "pass"},
            "trace_hash": 11265888866388016338u64,
            "end_ns": END_NS,
            "recovered_ns": END_NS,
            "stats": {"events": 1},
            "faults": faults,
        },
        "swarm": null,
        "schedule": [],
        "figures": [["elections", 2], ["election_ns_median", 216_522_374u64], ["commits", 1234]],
        "elections_ns": [210_000_818u64, 413_898_366u64],
    });
    serde_json::to_string_pretty(&text).unwrap()
}

/// About 3000 operations of three kinds over 3 s with every outcome; latencies jump while
/// the pause lasts (so the latency axes turn logarithmic).
fn history() -> Vec<Event> {
    let mut rng = Lcg(7);
    let mut out = Vec::new();
    let mut t = 10 * MS;
    let mut xid = 0;
    while t < END_NS - 5 * MS {
        xid += 1;
        let (op, ok_result, fail_error) = match rng.below(3) {
            0 => (
                Op::Exists {
                    path: "/k1".into(),
                    watch: false,
                },
                OpResult::Exists(None),
                ZkError::NoNode,
            ),
            1 => (
                Op::Create {
                    path: format!("/k{}", rng.below(20)),
                    data: vec![1],
                    mode: CreateMode::Persistent,
                },
                OpResult::Created {
                    path: "/k".into(),
                    stat: None,
                },
                ZkError::NodeExists,
            ),
            _ => (
                Op::Delete {
                    path: "/k2".into(),
                    version: -1,
                },
                OpResult::Deleted,
                ZkError::NoNode,
            ),
        };
        let paused = (1_700 * MS..1_900 * MS).contains(&t);
        let latency = if paused {
            1_900 * MS - t + rng.below(3 * MS)
        } else {
            2 * MS + rng.below(6 * MS) + if rng.below(100) == 0 { 30 * MS } else { 0 }
        };
        let roll = rng.below(100);
        let (outcome, complete, result, zxid) = if (500 * MS..900 * MS).contains(&t) && roll < 30 {
            let complete = roll.is_multiple_of(2).then_some(t + 50 * MS);
            let result = complete.map(|_| OpResult::Err(ZkError::ConnectionLoss));
            (Outcome::Info, complete, result, None)
        } else if roll < 8 {
            (
                Outcome::Fail,
                Some(t + latency),
                Some(OpResult::Err(fail_error)),
                Some(Zxid(xid)),
            )
        } else {
            (
                Outcome::Ok,
                Some(t + latency),
                Some(ok_result),
                Some(Zxid(xid)),
            )
        };
        out.push(Event::Op(OpRecord {
            process: ProcessId(3 + (xid % 3) as u32),
            session: SessionId(0x100 + xid % 3),
            xid,
            op,
            invoke_ns: t,
            complete_ns: complete,
            outcome,
            result,
            zxid,
        }));
        t += MS / 2 + rng.below(MS);
    }
    out.push(Event::ServerClose {
        session: SessionId(0x101),
        zxid: Zxid(5),
        time_ns: 1_000 * MS,
    });
    out.sort_by_key(Event::time_ns);
    out
}

fn write_run(dir: &Path, with_history: bool, faults: bool) {
    std::fs::write(dir.join("scenario.json"), scenario_json(3)).unwrap();
    std::fs::write(dir.join("outcome.json"), outcome_json(3, faults)).unwrap();
    if with_history {
        let mut text = String::new();
        for e in history() {
            text += &serde_json::to_string(&e).unwrap();
            text.push('\n');
        }
        std::fs::write(dir.join("history.jsonl"), text).unwrap();
    }
}

fn expected_files() -> Vec<String> {
    let mut names: Vec<String> = report::CHARTS
        .iter()
        .flat_map(|s| [format!("{s}.svg"), format!("{s}.png")])
        .collect();
    names.push(report::INDEX.to_string());
    names
}

/// Every file exists, is non-empty and looks like what it claims to be.
fn check_outputs(dir: &Path) {
    for name in expected_files() {
        let bytes = std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!bytes.is_empty(), "{name} is empty");
        if name.ends_with(".svg") {
            let text = String::from_utf8(bytes).unwrap();
            assert!(
                text.starts_with("<svg") || text.starts_with("<?xml"),
                "{name}"
            );
            assert!(text.trim_end().ends_with("</svg>"), "{name}");
        } else if name.ends_with(".png") {
            assert!(bytes.starts_with(PNG_SIGNATURE), "{name}");
        }
    }
    let index = std::fs::read_to_string(dir.join(report::INDEX)).unwrap();
    assert!(index.starts_with("<!DOCTYPE html>"));
    for stem in report::CHARTS {
        assert!(
            index.contains(&format!("<img src=\"{stem}.svg\"")),
            "{stem}"
        );
        assert!(index.contains(&format!("href=\"{stem}.png\"")), "{stem}");
    }
    assert!(!index.contains("<script"), "self-contained, no scripts");
    assert!(!index.contains("<link"), "self-contained, no external CSS");
    assert!(!index.contains("http"), "nothing fetched");
}

fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
    expected_files()
        .into_iter()
        .map(|n| {
            let b = std::fs::read(dir.join(&n)).unwrap();
            (n, b)
        })
        .collect()
}

#[test]
fn writes_every_chart_and_an_index_that_shows_them() {
    let dir = scratch("all");
    write_run(&dir, true, true);
    let written = report::render(&dir, &dir).unwrap();
    assert_eq!(written.files.len(), expected_files().len());
    check_outputs(&dir);
    let index = std::fs::read_to_string(dir.join(report::INDEX)).unwrap();
    for needle in [
        "fixture-&lt;3&gt;",
        "hand-made &amp; tiny",
        "3 (0x3)",
        "PASS",
        "9c587a3c1815fcd2",
        "partition-isolate",
        "clock-drift",
        "commits",
        "210.0 ms",
        "title=\"216522374 ns\">216.5 ms</td>",
        "<td class=\"n raw\">216522374 ns</td>",
        "exists",
        "1 server-side session closes",
    ] {
        assert!(index.contains(needle), "index lacks {needle}");
    }
    let scatter = std::fs::read_to_string(dir.join("latency-scatter.svg")).unwrap();
    assert!(scatter.contains("crash p2"), "fault bands are labelled");
    assert!(
        scatter.contains("log scale"),
        "the pause's latencies need a log axis"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn equal_inputs_give_byte_identical_files() {
    let a = scratch("det-a");
    let b = scratch("det-b");
    write_run(&a, true, true);
    write_run(&b, true, true);
    report::render(&a, &a).unwrap();
    let first = read_all(&a);
    // Again into the same directory, and once into another from a copy of the inputs.
    report::render(&a, &a).unwrap();
    report::render(&b, &b.join("out")).unwrap();
    assert_eq!(read_all(&a), first);
    let other = read_all(&b.join("out"));
    for ((n1, b1), (n2, b2)) in first.iter().zip(&other) {
        assert_eq!(n1, n2);
        assert!(b1 == b2, "{n1} differs between two runs on equal inputs");
    }
    std::fs::remove_dir_all(&a).unwrap();
    std::fs::remove_dir_all(&b).unwrap();
}

#[test]
fn a_run_without_history_or_faults_still_charts() {
    let dir = scratch("empty");
    write_run(&dir, false, false);
    report::render(&dir, &dir.join("report")).unwrap();
    check_outputs(&dir.join("report"));
    let index = std::fs::read_to_string(dir.join("report").join(report::INDEX)).unwrap();
    assert!(index.contains("No client history"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_inputs_are_named_by_file_and_line() {
    let dir = scratch("bad");
    write_run(&dir, true, false);
    let history = dir.join("history.jsonl");
    let text = std::fs::read_to_string(&history).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"event\":\"op\",\"nonsense\":1}";
    std::fs::write(&history, lines.join("\n")).unwrap();
    let e = report::render(&dir, &dir).unwrap_err();
    assert_eq!(e.file, history);
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().contains("history.jsonl:3:"), "{e}");

    // An op that completes before it was invoked.
    let event = Event::Op(OpRecord {
        process: ProcessId(3),
        session: SessionId(1),
        xid: 1,
        op: Op::Exists {
            path: "/a".into(),
            watch: false,
        },
        invoke_ns: 50,
        complete_ns: Some(10),
        outcome: Outcome::Ok,
        result: Some(OpResult::Exists(None)),
        zxid: Some(Zxid(1)),
    });
    std::fs::write(&history, serde_json::to_string(&event).unwrap() + "\n").unwrap();
    let e = report::render(&dir, &dir).unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
    assert!(e.message.contains("before invoke_ns"), "{e}");

    // outcome.json: a missing field, with its line; then files of different runs.
    std::fs::write(
        dir.join("outcome.json"),
        "{\n  \"outcome\": {\n    \"seed\": 3\n  }\n}",
    )
    .unwrap();
    let e = report::render(&dir, &dir).unwrap_err();
    assert_eq!(e.file, dir.join("outcome.json"));
    assert!(e.line.is_some(), "{e}");
    std::fs::write(dir.join("outcome.json"), outcome_json(4, false)).unwrap();
    let e = report::render(&dir, &dir).unwrap_err();
    assert!(e.message.contains("seed 4 differs"), "{e}");

    std::fs::remove_file(dir.join("scenario.json")).unwrap();
    let e = report::render(&dir, &dir).unwrap_err();
    assert_eq!(e.file, dir.join("scenario.json"));
    assert!(e.message.contains("cannot read"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A run directory whose only fault is `fault` (an `outcome.faults` entry) and whose
/// scenario heals at `heal_ms` (no `run` section when None).
fn write_fault_run(dir: &Path, heal_ms: Option<u64>, fault: serde_json::Value) {
    write_faults_run(dir, heal_ms, vec![fault]);
}

/// The same with every fault of `faults`.
fn write_faults_run(dir: &Path, heal_ms: Option<u64>, faults: Vec<serde_json::Value>) {
    let mut scenario: serde_json::Value = serde_json::from_str(&scenario_json(3)).unwrap();
    if let Some(ms) = heal_ms {
        scenario["scenario"]["run"] = serde_json::json!({"safety_ms": ms, "liveness_ms": 5_000});
    }
    std::fs::write(dir.join("scenario.json"), scenario.to_string()).unwrap();
    let mut outcome: serde_json::Value = serde_json::from_str(&outcome_json(3, false)).unwrap();
    outcome["outcome"]["faults"] = serde_json::Value::Array(faults);
    std::fs::write(dir.join("outcome.json"), outcome.to_string()).unwrap();
    let mut text = String::new();
    for e in history() {
        text += &serde_json::to_string(&e).unwrap();
        text.push('\n');
    }
    std::fs::write(dir.join("history.jsonl"), text).unwrap();
}

fn fault(kind: &str, at_ms: u64, until_ms: Option<u64>) -> serde_json::Value {
    serde_json::json!({
        "at_ns": at_ms * MS,
        "until_ns": until_ms.map(|u| u * MS),
        "fault": {"kind": kind, "target": 2},
        "processes": [2],
    })
}

/// The chart files (not the index, whose fault table shows `until_ns` as stated).
fn charts_of(dir: &Path, heal_ms: Option<u64>, fault: serde_json::Value) -> Vec<(String, Vec<u8>)> {
    write_fault_run(dir, heal_ms, fault);
    let data = report::load(dir).unwrap();
    let mut files = report::render_data(&data).unwrap();
    files.retain(|(name, _)| name != report::INDEX);
    files
}

#[test]
fn a_fault_without_an_end_is_drawn_ending_at_the_heal() {
    let dir = scratch("heal");
    let heal = Some(2_000);
    // A crash that never restarted on its own is drawn exactly like one restarted at the
    // heal, and not like one lasting to the end of the chart.
    let open = charts_of(&dir, heal, fault("crash", 600, None));
    let data = report::load(&dir).unwrap();
    assert_eq!(data.heal_ns, Some(2_000 * MS));
    assert_eq!(data.faults[0].until_ns, None);
    assert_eq!(data.faults[0].band_until_ns, Some(2_000 * MS));
    let at_heal = charts_of(&dir, heal, fault("crash", 600, Some(2_000)));
    let to_end = charts_of(&dir, Some(END_NS / MS), fault("crash", 600, None));
    assert!(open == at_heal, "an open crash's band ends at the heal");
    assert!(
        open != to_end,
        "an open crash's band does not run to the chart's end"
    );
    // An end after the heal is clipped to it.
    let late = charts_of(&dir, heal, fault("partition-isolate", 1_500, Some(2_700)));
    let clipped = charts_of(&dir, heal, fault("partition-isolate", 1_500, Some(2_000)));
    assert!(late == clipped, "a band ends at the heal at the latest");
    // An instantaneous fault stays a line, heal or not.
    charts_of(&dir, heal, fault("clock-jump", 900, None));
    assert_eq!(report::load(&dir).unwrap().faults[0].band_until_ns, None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fault_labels_never_overlap() {
    // Six faults at one instant: three label rows, so three labels; the other three keep
    // their tick, band and legend entry but no text drawn over the others.
    let dir = scratch("crowded");
    let kinds = [
        "crash",
        "pause",
        "clock-drift",
        "disk-slow",
        "clock-jump",
        "partition-isolate",
    ];
    let faults = kinds.iter().map(|k| fault(k, 600, Some(900))).collect();
    write_faults_run(&dir, Some(2_000), faults);
    let data = report::load(&dir).unwrap();
    let files = report::render_data(&data).unwrap();
    let svg = files
        .iter()
        .find(|(name, _)| name == "latency-scatter.svg")
        .map(|(_, bytes)| String::from_utf8(bytes.clone()).unwrap())
        .expect("the scatter chart");
    let labelled: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| svg.contains(&format!("\n{k} p2\n")))
        .collect();
    assert_eq!(
        labelled,
        ["crash", "pause", "clock-drift"],
        "first come, first labelled"
    );
    for k in kinds {
        assert!(svg.contains(&format!("fault: {k}")), "{k} is in the legend");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The SVG of each chart of a run with one fault that heals at `heal_ms`.
fn svgs_with_heal(dir: &Path, heal_ms: Option<u64>) -> Vec<(String, String)> {
    charts_of(dir, heal_ms, fault("partition-halves", 600, Some(900)))
        .into_iter()
        .filter(|(name, _)| name.ends_with(".svg"))
        .map(|(name, bytes)| (name, String::from_utf8(bytes).unwrap()))
        .collect()
}

#[test]
fn the_heal_is_marked_on_every_time_chart() {
    let dir = scratch("heal-marker");
    for (name, svg) in svgs_with_heal(&dir, Some(2_000)) {
        let time_chart = name != "latency-cdf.svg";
        assert_eq!(
            svg.contains("\nheal\n"),
            time_chart,
            "{name}: the heal's label"
        );
        let legend = svg.contains("heal at 2.000 s: faults end");
        assert_eq!(legend, time_chart, "{name}: the heal's legend entry");
    }
    // Without a known heal, or with a run that ended before it, there is none to mark.
    for heal in [None, Some(END_NS / MS * 10)] {
        for (name, svg) in svgs_with_heal(&dir, heal) {
            assert!(!svg.contains("\nheal\n"), "{name} with heal {heal:?}");
        }
    }
    let index = std::fs::read_to_string(dir.join(report::INDEX));
    assert!(index.is_err(), "charts_of renders in memory");
    std::fs::remove_dir_all(&dir).unwrap();
}
