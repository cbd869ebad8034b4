//! ZooKeeper ensemble runs end to end: a sweep of seeds of the shipped scenarios passes
//! every protocol monitor and the liveness phase, runs replay to the same trace hash, the
//! 5-server scenario completes its 10,000 writes, and planted bugs are caught by the
//! monitors (each monitor's own planted-violation tests live in crates/check).

use kernel::observe::Verdict;
use sim::run::{RunReport, run};
use sim::scenario::{Loaded, load_file};

fn scenario(name: &str, overrides: &[&str]) -> Loaded {
    let path = format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_file(&path, &overrides).unwrap_or_else(|e| panic!("{e}"))
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

#[test]
fn zab5_sweep_passes_every_monitor_and_liveness() {
    let loaded = scenario("zab-5.toml", &[]);
    for seed in 1..=12 {
        let r = run_seed(&loaded, seed);
        assert_eq!(
            r.outcome.verdict,
            Verdict::Pass,
            "seed {seed}: {:?}",
            r.outcome.verdict
        );
        // 8 clients × 1,250 writes, all acknowledged before the liveness condition held.
        assert!(
            figure(&r, "commits") >= 10_000,
            "seed {seed}: {} commits",
            figure(&r, "commits")
        );
        assert!(
            !r.outcome.faults.is_empty(),
            "seed {seed}: no faults applied"
        );
    }
}

#[test]
fn small_and_large_ensembles_with_observers_pass() {
    for (name, seeds) in [("zab-3.toml", 1..=4), ("zab-7-observers.toml", 1..=4)] {
        let loaded = scenario(name, &[]);
        for seed in seeds {
            let r = run_seed(&loaded, seed);
            assert_eq!(
                r.outcome.verdict,
                Verdict::Pass,
                "{name} seed {seed}: {:?}",
                r.outcome.verdict
            );
            assert!(
                figure(&r, "commits") > 0,
                "{name} seed {seed}: nothing committed"
            );
        }
    }
}

#[test]
fn ensemble_runs_replay_bit_for_bit() {
    let loaded = scenario("zab-7-observers.toml", &["run.safety_ms=4000"]);
    let mut hashes = std::collections::BTreeSet::new();
    for seed in 1..=4 {
        let a = run_seed(&loaded, seed).outcome;
        let b = run_seed(&loaded, seed).outcome;
        assert_eq!(a.trace_hash, b.trace_hash, "seed {seed}");
        assert_eq!(a.stats.events, b.stats.events, "seed {seed}");
        hashes.insert(a.trace_hash);
    }
    assert_eq!(hashes.len(), 4);
}

#[test]
fn election_after_a_leader_crash_is_quick() {
    // The crashed leader's connections reset, so followers start an election at once.
    let loaded = scenario("zab-leader-crash.toml", &[]);
    for seed in 1..=5 {
        let r = run_seed(&loaded, seed);
        assert_eq!(r.outcome.verdict, Verdict::Pass, "seed {seed}");
        assert_eq!(
            r.elections_ns.len(),
            2,
            "seed {seed}: initial election + one after the crash"
        );
        assert!(
            r.elections_ns[1] < 1_000_000_000,
            "seed {seed}: {} ns",
            r.elections_ns[1]
        );
    }
}

#[test]
fn planted_bugs_are_caught_by_the_monitors() {
    // zk-1154 (DIFF without TRUNC) and zk-2355 (synced at DIFF start): divergent replicas.
    for (bug, monitors) in [
        (
            "zk-1154",
            &[
                "ProcessConsistency",
                "Agreement",
                "PrefixConsistency",
                "TotalOrder",
            ][..],
        ),
        (
            "zk-2355",
            &[
                "TotalOrder",
                "Agreement",
                "PrefixConsistency",
                "ProcessConsistency",
            ][..],
        ),
    ] {
        let loaded = scenario(
            "zab-5.toml",
            &[
                &format!("zab.bugs=[\"{bug}\"]"),
                "nemesis.kinds=[\"crash\",\"crash-leader\",\"partition-halves\",\"partition-isolate-leader\"]",
            ],
        );
        let found = (1..=30u64).find_map(|seed| match run_seed(&loaded, seed).outcome.verdict {
            Verdict::Safety(f) => Some((seed, f)),
            _ => None,
        });
        let (seed, f) = found.unwrap_or_else(|| panic!("{bug}: no violation in 30 seeds"));
        assert!(
            monitors.contains(&f.check.as_str()),
            "{bug} seed {seed}: {f}"
        );
        // The same seed on the correct protocol passes.
        let clean = scenario(
            "zab-5.toml",
            &[
                "nemesis.kinds=[\"crash\",\"crash-leader\",\"partition-halves\",\"partition-isolate-leader\"]",
            ],
        );
        assert_eq!(
            run_seed(&clean, seed).outcome.verdict,
            Verdict::Pass,
            "{bug} seed {seed} without the bug"
        );
    }
}

#[test]
fn the_planted_zk_1366_leaves_a_server_stuck_after_backward_jumps() {
    // Timeouts on the wall clock: a backward jump stretches a server's timers past the
    // liveness phase. Found within a few seeds of its scenario; the same seed passes with
    // the bug off (every timeout on the monotonic clock, which the jumps do not move).
    let buggy = scenario("bug-zk-1366.toml", &["zab.bugs=[\"zk-1366\"]"]);
    let clean = scenario("bug-zk-1366.toml", &[]);
    let found = (0..40u64).find_map(|seed| match run_seed(&buggy, seed).outcome.verdict {
        Verdict::Liveness(f) => Some((seed, f)),
        Verdict::Pass => None,
        other => panic!("seed {seed}: {other:?}"),
    });
    let (seed, f) = found.expect("zk-1366: no liveness finding in 40 seeds");
    assert!(
        f.detail.contains("liveness phase ended"),
        "seed {seed}: {f}"
    );
    assert_eq!(
        run_seed(&clean, seed).outcome.verdict,
        Verdict::Pass,
        "seed {seed} without the bug"
    );
}

#[test]
fn the_planted_zk_1366_is_inert_without_clock_jumps() {
    // Without jumps the wall clock is the monotonic one: wall-clock timers fire when
    // monotonic ones would, so the bug changes nothing — the same trace, event for event.
    let with = scenario(
        "zab-5.toml",
        &["zab.bugs=[\"zk-1366\"]", "workload.writes_max=300"],
    );
    let without = scenario("zab-5.toml", &["workload.writes_max=300"]);
    for seed in 0..3u64 {
        let (a, b) = (run_seed(&with, seed), run_seed(&without, seed));
        assert_eq!(a.outcome.verdict, Verdict::Pass, "seed {seed}");
        assert_eq!(a.outcome.trace_hash, b.outcome.trace_hash, "seed {seed}");
    }
}

#[test]
fn the_planted_queue_delete_first_loses_items() {
    // The consumer deletes the item before processing it and fails while processing: the
    // queue checker must see an acknowledged item that was never delivered (not a
    // duplicate, not a pass).
    let buggy = scenario("queue.toml", &["zab.bugs=[\"queue-delete-first\"]"]);
    let clean = scenario("queue.toml", &[]);
    for seed in 0..3u64 {
        let Verdict::Safety(f) = run_seed(&buggy, seed).outcome.verdict else {
            panic!("seed {seed}: queue-delete-first not caught");
        };
        assert_eq!(f.check, "QueueInvariant", "seed {seed}: {f}");
        assert!(f.detail.starts_with("LostItem"), "seed {seed}: {f}");
        assert_eq!(
            run_seed(&clean, seed).outcome.verdict,
            Verdict::Pass,
            "seed {seed} without the bug"
        );
    }
}

#[test]
fn servers_stranded_by_a_newer_accepted_epoch_are_counted_not_failed() {
    // Seed 167: p0 and p5 accepted epoch 4 from p5's failed leadership while p6
    // established epoch 3 with the other voters; as in ZooKeeper (Learner.registerWithLeader)
    // they refuse LEADERINFO(3) until the leader changes. A quorum serves, clients finish
    // their work: a documented unavailability with its count, not a liveness failure.
    let r = run_seed(&scenario("zab-7-observers.toml", &[]), 167);
    assert_eq!(r.outcome.verdict, Verdict::Pass, "{:?}", r.outcome.verdict);
    assert_eq!(figure(&r, "servers_stranded"), 2);
    assert_eq!(format!("{:016x}", r.outcome.trace_hash), "955e40e3871f7400");
    // Ordinary runs strand nobody.
    let r = run_seed(&scenario("zab-7-observers.toml", &[]), 1);
    assert_eq!(figure(&r, "servers_stranded"), 0);
}
