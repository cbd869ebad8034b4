//! `--trace FILE` on `zabsim run` and `zabsim replay`: the file is Chrome trace JSON whose
//! metadata carries the run's seed and trace hash; tracing changes no trace hash; the
//! bound truncates into a valid file with a warning; a path that cannot be written exits 2
//! naming it, after the run's own verdict and hash were printed.

mod common;

use common::{Run, zabsim};
use serde_json::Value;
use std::path::PathBuf;

impl Run {
    fn hash(&self) -> &str {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix("trace hash: "))
            .unwrap_or_else(|| panic!("no hash\n{}\n{}", self.stdout, self.stderr))
    }
}

fn zab3() -> String {
    format!("{}/../../scenarios/zab-3.toml", env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zabsim-trace-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn load(path: &PathBuf) -> Value {
    let bytes = std::fs::read(path).expect("the trace was written");
    serde_json::from_slice(&bytes).expect("the trace is JSON")
}

#[test]
fn run_writes_a_trace_and_keeps_its_hash() {
    let dir = scratch("run");
    let path = dir.join("T.json");
    let file = path.to_str().expect("UTF-8 path");
    let scenario = zab3();
    let traced = zabsim(&[
        "run",
        "--scenario",
        &scenario,
        "--seed",
        "1",
        "--trace",
        file,
    ]);
    assert_eq!(traced.code, 0, "{}\n{}", traced.stdout, traced.stderr);
    assert!(traced.stdout.contains(&format!("trace: {file} (")));
    let plain = zabsim(&["run", "--scenario", &scenario, "--seed", "1"]);
    assert_eq!(traced.hash(), plain.hash());
    let doc = load(&path);
    assert_eq!(doc["metadata"]["seed"], 1);
    assert_eq!(doc["metadata"]["scenario"], "zab-3");
    assert_eq!(doc["metadata"]["trace_hash"], traced.hash());
    assert_eq!(doc["metadata"]["truncated"], false);
    assert!(doc["traceEvents"].as_array().expect("events").len() > 1_000);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the trace is left: {leftovers:?}");
}

#[test]
fn replay_traces_and_the_bound_truncates_validly() {
    let dir = scratch("replay");
    let path = dir.join("T.json");
    let file = path.to_str().expect("UTF-8 path");
    let scenario = zab3();
    let plain = zabsim(&["run", "--scenario", &scenario, "--seed", "2"]);
    let replay = zabsim(&[
        "replay",
        "--scenario",
        &scenario,
        "--seed",
        "2",
        "--expect-hash",
        plain.hash(),
        "--trace",
        file,
        "--trace-events-max",
        "500",
    ]);
    assert_eq!(replay.code, 0, "{}\n{}", replay.stdout, replay.stderr);
    assert!(replay.stdout.contains("replay: trace hash matches"));
    assert!(
        replay.stderr.contains("the trace stopped at"),
        "{}",
        replay.stderr
    );
    let doc = load(&path);
    assert_eq!(doc["metadata"]["truncated"], true);
    assert!(doc["metadata"]["events"].as_u64().expect("count") <= 500);
}

#[test]
fn an_unwritable_trace_path_exits_2_after_the_results() {
    let dir = scratch("unwritable");
    let file = dir.join("no-such-dir").join("T.json");
    let file = file.to_str().expect("UTF-8 path");
    let r = zabsim(&["run", "--scenario", &zab3(), "--seed", "1", "--trace", file]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains(&format!("cannot write the trace to {file}")),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("verdict: PASS"), "{}", r.stdout);
    r.hash();
}

/// A finding ends the trace: the violation is its last event, a global instant.
#[test]
fn a_finding_is_the_last_event() {
    let dir = scratch("finding");
    let path = dir.join("T.json");
    let file = path.to_str().expect("UTF-8 path");
    let scenario = format!(
        "{}/../../scenarios/bug-zk-3911.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let args = [
        "run",
        "--scenario",
        &scenario,
        "--bug",
        "zk-3911",
        "--seed",
        "0",
    ];
    let r = zabsim(&[&args[..], &["--trace", file]].concat());
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let doc = load(&path);
    let last = doc["traceEvents"]
        .as_array()
        .expect("events")
        .last()
        .cloned();
    let last = last.expect("an event");
    assert_eq!(last["s"], "g");
    assert_eq!(last["cat"], "verdict");
    let name = last["name"].as_str().expect("a name");
    assert!(name.starts_with("SAFETY violation: "), "{name}");
    assert_eq!(doc["metadata"]["verdict"], "safety");
}
