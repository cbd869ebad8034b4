//! The KV workload's compare-and-set and key distribution end to end: a cas run shows both
//! won and lost (BadVersion) races in its history and passes every checker, the history
//! checker catches a cas answered the other way, Zipf keys make `/k0` the most written, and
//! bad `key_dist` / `zipf_s` values are refused by field.

use std::collections::BTreeMap;

use kernel::observe::Verdict;
use proto::history::{Event, OpRecord, Outcome};
use proto::zk::{Op, OpResult, ZkError};
use sim::run::{RunReport, run};
use sim::scenario::{Loaded, ScenarioError, load, load_file};

fn scenario(name: &str, overrides: &[&str]) -> Loaded {
    let path = format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_file(&path, &overrides).unwrap_or_else(|e| panic!("{e}"))
}

fn passing_run(loaded: &Loaded, seed: u64) -> RunReport {
    let r = run(loaded, seed).expect("scenario resolves");
    assert_eq!(r.outcome.verdict, Verdict::Pass, "seed {seed}");
    r
}

fn ops(r: &RunReport) -> impl Iterator<Item = &OpRecord> {
    r.history.iter().filter_map(|e| match e {
        Event::Op(op) => Some(op),
        _ => None,
    })
}

fn is_cas(op: &OpRecord) -> bool {
    matches!(op.op, Op::SetData { version, .. } if version != Op::ANY_VERSION)
}

#[test]
fn cas_runs_win_and_lose_races_and_pass_every_checker() {
    let loaded = scenario("kv.toml", &[]);
    let (mut won, mut lost) = (0, 0);
    for seed in 1..=3 {
        let r = passing_run(&loaded, seed);
        for op in ops(&r).filter(|op| is_cas(op)) {
            match (&op.outcome, &op.result) {
                (Outcome::Ok, Some(OpResult::Stat(_))) => won += 1,
                (Outcome::Fail, Some(OpResult::Err(ZkError::BadVersion))) => lost += 1,
                _ => {}
            }
        }
    }
    assert!(won > 0, "no cas succeeded");
    assert!(lost > 0, "no cas lost a race (BadVersion)");
}

#[test]
fn without_cas_every_set_data_is_unconditional() {
    let loaded = scenario("kv.toml", &["workload.cas_ratio=0"]);
    let r = passing_run(&loaded, 1);
    assert!(ops(&r).any(|op| matches!(op.op, Op::SetData { .. })));
    assert!(!ops(&r).any(is_cas));
}

/// Acknowledged writes per path.
fn writes_by_path(r: &RunReport) -> BTreeMap<String, u64> {
    let mut by_path = BTreeMap::new();
    for op in ops(r) {
        let written = matches!(op.op, Op::SetData { .. } | Op::Create { .. });
        if written && op.outcome == Outcome::Ok {
            *by_path
                .entry(op.op.path().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    by_path
}

#[test]
fn zipf_makes_k0_the_most_written_key() {
    let loaded = scenario("kv.toml", &[]);
    let r = passing_run(&loaded, 2);
    let by_path = writes_by_path(&r);
    let (hottest, n) = by_path.iter().max_by_key(|(_, n)| **n).unwrap();
    assert_eq!(hottest, "/k0", "{by_path:?}");
    assert!(
        *n > 2 * by_path.get("/k5").copied().unwrap_or(0),
        "{by_path:?}"
    );
}

#[test]
fn kv_runs_replay_bit_for_bit() {
    let loaded = scenario("kv.toml", &[]);
    let a = passing_run(&loaded, 9).outcome;
    let b = passing_run(&loaded, 9).outcome;
    assert_eq!(a.trace_hash, b.trace_hash);
}

const HEAD: &str = "version = 1\n[cluster]\nservers = 3\n[workload]\nkind = \"writes\"\n\
                    clients = 2\ninterval_ms = 5\n";

fn refused(extra: &str, overrides: &[&str]) -> ScenarioError {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let text = format!("{HEAD}{extra}");
    match load("kv-bad.toml", &text, &overrides) {
        Ok(_) => panic!("accepted:\n{text}\n{overrides:?}"),
        Err(e) => e,
    }
}

fn assert_names(e: &ScenarioError, field: &str, needle: &str) {
    let text = e.to_string();
    assert!(text.contains(field), "{text}");
    assert!(text.contains(needle), "{text}");
}

#[test]
fn bad_key_dist_and_zipf_s_are_refused_by_field() {
    let e = refused("key_dist = \"zipff\"\n", &[]);
    assert_eq!(e.field.as_deref(), Some("workload.key_dist"));
    assert_eq!(e.line, Some(8), "{e}");
    assert_names(&e, "workload.key_dist", "\"zipff\"");
    for s in ["0", "-1.5", "nan", "inf"] {
        let e = refused(&format!("key_dist = \"zipf\"\nzipf_s = {s}\n"), &[]);
        assert_eq!(e.field.as_deref(), Some("workload.zipf_s"), "{s}: {e}");
        assert_names(&e, "workload.zipf_s", "> 0");
    }
    let e = refused("", &["workload.key_dist=pareto"]);
    assert_names(&e, "--set workload.key_dist=pareto", "workload.key_dist");
    let e = refused("key_dist = \"zipf\"\nkeys = 2000000\n", &[]);
    assert_eq!(e.field.as_deref(), Some("workload.keys"), "{e}");
    let e = refused("cas_ratio = 1.5\n", &[]);
    assert_names(&e, "kv-bad.toml", "outside [0, 1]");
    let e = refused("zipf_exponent = 2\n", &[]);
    assert_names(&e, "kv-bad.toml", "unknown field `zipf_exponent`");
}

#[test]
fn good_kv_fields_load() {
    let text = format!("{HEAD}key_dist = \"zipf\"\nzipf_s = 0.5\ncas_ratio = 1.0\n");
    load("kv-good.toml", &text, &[]).unwrap_or_else(|e| panic!("{e}"));
    load("kv-good.toml", HEAD, &["workload.key_dist=uniform".into()]).unwrap();
}

/// `history` with op `i` (a cas) answered the other way: a won race as BadVersion, a lost
/// one as a success.
fn forge(history: &[Event], i: usize) -> Vec<Event> {
    let mut forged = history.to_vec();
    let Event::Op(op) = &mut forged[i] else {
        panic!("event {i} is not an op")
    };
    let Op::SetData { version, .. } = op.op else {
        panic!("event {i} is not a setData")
    };
    if op.outcome == Outcome::Ok {
        op.outcome = Outcome::Fail;
        op.result = Some(OpResult::Err(ZkError::BadVersion));
    } else {
        let stat = proto::zk::Stat {
            version: version + 1,
            ..Default::default()
        };
        op.outcome = Outcome::Ok;
        op.result = Some(OpResult::Stat(stat));
    }
    forged
}

#[test]
fn the_history_checker_judges_cas_outcomes() {
    // The checkers model versions through the datatree: flipping the first won and the
    // first lost race of a passing run makes its history inconsistent.
    let r = passing_run(&scenario("kv.toml", &[]), 1);
    for outcome in [Outcome::Ok, Outcome::Fail] {
        let i = r
            .history
            .iter()
            .position(|e| matches!(e, Event::Op(op) if is_cas(op) && op.outcome == outcome))
            .expect("a cas with that outcome");
        let j = sim::histcheck::judge(&forge(&r.history, i), &[]);
        let check = j.violation.map(|v| v.check);
        assert_eq!(
            check.as_deref(),
            Some("ZkConsistency"),
            "flipped {outcome:?}"
        );
    }
}
