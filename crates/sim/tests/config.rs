//! The config workload end to end: a seed replays to the same trace hash, history and
//! figures; every subscriber converges to the final version and processes every message,
//! skipping intermediate versions under one-shot watches (counted); the planted
//! `config-read-then-watch` leaves a subscriber on an old version forever (a liveness
//! finding) on a seed the correct recipe passes, and its code path is never taken when
//! the bug is off.

use kernel::observe::Verdict;
use proto::history::{ConfigKind, Event};
use proto::zk::Op;
use sim::run::{RunReport, run};
use sim::scenario::{Loaded, load_file};

fn load(name: &str, overrides: &[&str]) -> Result<Loaded, sim::scenario::ScenarioError> {
    let path = format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_file(&path, &overrides)
}

fn scenario(overrides: &[&str]) -> Loaded {
    load("config.toml", overrides).unwrap_or_else(|e| panic!("{e}"))
}

fn run_seed(loaded: &Loaded, seed: u64) -> RunReport {
    run(loaded, seed).expect("scenario resolves")
}

fn figure(r: &RunReport, name: &str) -> u64 {
    r.figures
        .iter()
        .find(|f| f.0 == name)
        .map(|f| f.1)
        .unwrap_or_else(|| panic!("no figure {name}"))
}

const BUG: &str = "zab.bugs=[\"config-read-then-watch\"]";

#[test]
fn a_config_seed_replays_to_the_same_trace_hash() {
    let loaded = scenario(&[]);
    for seed in [1u64, 2] {
        let (a, b) = (run_seed(&loaded, seed), run_seed(&loaded, seed));
        assert_eq!(a.outcome.verdict, Verdict::Pass, "seed {seed}");
        assert_eq!(a.outcome.trace_hash, b.outcome.trace_hash, "seed {seed}");
        assert_eq!(a.figures, b.figures, "seed {seed}");
        assert_eq!(a.history, b.history, "seed {seed}");
    }
}

#[test]
fn every_subscriber_converges_and_gets_every_message_in_order() {
    let r = run_seed(&scenario(&[]), 1);
    assert_eq!(r.outcome.verdict, Verdict::Pass);
    assert_eq!(figure(&r, "config_updates"), 60);
    assert_eq!(figure(&r, "config_messages"), 40);
    // Five subscribers, each processed all 40 messages (more after a restart).
    assert!(figure(&r, "config_messages_delivered") >= 5 * 40);
    assert!(figure(&r, "config_converge_ms_max") <= figure(&r, "config_converge_bound_ms"));
    // Bursts of three versions back to back: one-shot watches skip some, and each
    // subscriber's seen and missed versions add up to the final version.
    assert!(figure(&r, "config_versions_missed") > 0);
    for n in 1..=5 {
        let seen = figure(&r, &format!("config_subscriber_{n}_versions_seen"));
        let missed = figure(&r, &format!("config_subscriber_{n}_versions_missed"));
        assert_eq!(seen + missed, 60, "subscriber {n}");
    }
    // Each subscriber's last read is the final version.
    let mut last_read = std::collections::BTreeMap::new();
    for e in &r.history {
        if let Event::Config(c) = e
            && c.kind == ConfigKind::Seen
        {
            last_read.insert(c.process, c.number);
        }
    }
    assert_eq!(last_read.len(), 5);
    assert!(last_read.values().all(|&v| v == 60), "{last_read:?}");
}

#[test]
fn the_planted_read_then_watch_misses_the_last_update_forever() {
    let buggy = scenario(&[BUG]);
    let clean = scenario(&[]);
    let found = (0..20u64).find_map(|seed| match run_seed(&buggy, seed).outcome.verdict {
        Verdict::Liveness(f) => Some((seed, f)),
        Verdict::Pass => None,
        other => panic!("seed {seed}: {other:?}"),
    });
    let (seed, f) = found.expect("config-read-then-watch: no liveness finding in 20 seeds");
    assert!(
        f.detail.contains("config version 59 of 60")
            && f.detail.contains("an update between the two fired nothing"),
        "seed {seed}: {f}"
    );
    assert_eq!(
        run_seed(&clean, seed).outcome.verdict,
        Verdict::Pass,
        "seed {seed} without the bug"
    );
}

#[test]
fn the_read_then_watch_path_is_never_taken_when_the_bug_is_off() {
    // Off: every subscriber read of /config sets its watch and no `exists` follows it.
    // On: plain reads, and an `exists` with a watch after each.
    let plain_reads_and_exists = |r: &RunReport| {
        let mut plain = 0;
        let mut exists = 0;
        for e in &r.history {
            let Event::Op(o) = e else { continue };
            match &o.op {
                Op::GetData { path, watch: false } if path == "/config" => plain += 1,
                Op::Exists { path, watch: true } if path == "/config" => exists += 1,
                _ => {}
            }
        }
        (plain, exists)
    };
    let quiet = ["nemesis.random=false", "nemesis.swarm=false"];
    let off = run_seed(&scenario(&quiet), 0);
    assert_eq!(off.outcome.verdict, Verdict::Pass);
    // Only the publisher reads /config without a watch (once, at its start); the only
    // `exists` watches are subscribers' waiting for /config to be created (five at most).
    let (plain, exists) = plain_reads_and_exists(&off);
    assert_eq!(plain, 1);
    assert!(exists <= 5, "{exists} exists");
    let on = run_seed(&scenario(&[quiet[0], quiet[1], BUG]), 0);
    let (plain, exists) = plain_reads_and_exists(&on);
    assert!(
        plain > 5 && exists >= plain - 1,
        "{plain} plain reads, {exists} exists"
    );
}

#[test]
fn the_loader_names_what_is_wrong_with_a_config_section() {
    // The problem as the loader words it (an override's problem names the override).
    let field_of = |name: &str, overrides: &[&str]| match load(name, overrides) {
        Ok(_) => panic!("{overrides:?} accepted"),
        Err(e) => e.to_string(),
    };
    let e = field_of("default.toml", &[BUG]);
    assert!(
        e.contains("zab.bugs") && e.contains("[workload.config]"),
        "{e}"
    );
    for (set, problem) in [
        (
            "workload.config.subscribers=0",
            "subscribers: must be positive",
        ),
        (
            "workload.config.updates=0",
            "updates: must be in 1..=1000000",
        ),
        ("workload.config.burst=61", "burst: must be in 1..=updates"),
        (
            "workload.config.interval_ms=0",
            "interval_ms: must be positive",
        ),
        ("workload.config.messages=60001", "messages: at most 60000"),
    ] {
        let e = field_of("config.toml", &[set]);
        assert!(
            e.ends_with(&format!("workload.config.{problem}")),
            "{set}: {e}"
        );
    }
    // The publisher and subscribers are fault targets after the servers: 3 + 1 + 5.
    let ok = scenario(&["nemesis.script=[{at_ms=10, kind=\"pause\", target=8, duration_ms=5}]"]);
    assert_eq!(ok.scenario.workload.client_fault_targets(3).len(), 6);
    assert!(
        load(
            "config.toml",
            &["nemesis.script=[{at_ms=10, kind=\"pause\", target=9, duration_ms=5}]"]
        )
        .is_err()
    );
}
