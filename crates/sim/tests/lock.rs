//! The lock workload end to end: a seed replays to the same trace hash; the lease problem
//! (a holder paused past its session timeout writes after the next grant) is refused by
//! the fence with fencing on and counted as documented unsafety without it, on the same
//! seed; the planted `lock-no-guid` leaves an orphan that blocks the lock (a liveness
//! finding) on seeds the correct recipe passes, and changes nothing when no create loses
//! its answer.

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
fn a_lock_seed_replays_to_the_same_trace_hash() {
    let loaded = scenario("lock.toml", &[]);
    for seed in [1u64, 2] {
        let (a, b) = (run_seed(&loaded, seed), run_seed(&loaded, seed));
        assert_eq!(a.outcome.verdict, Verdict::Pass, "seed {seed}");
        assert_eq!(a.outcome.trace_hash, b.outcome.trace_hash, "seed {seed}");
        assert_eq!(a.figures, b.figures, "seed {seed}");
        assert_eq!(a.history, b.history, "seed {seed}");
        // Every client completed its holds: 4 clients × 15.
        assert!(figure(&a, "lock_acquisitions") >= 60, "seed {seed}");
        // The herd metric: one wake-up per acquisition at most, give or take a waiter
        // whose predecessor left without holding.
        assert!(
            figure(&a, "lock_watch_events") <= figure(&a, "lock_acquisitions") + 8,
            "seed {seed}: {} watch events for {} acquisitions",
            figure(&a, "lock_watch_events"),
            figure(&a, "lock_acquisitions")
        );
    }
}

#[test]
fn an_expired_holder_is_fenced_off_and_without_fencing_its_writes_are_documented() {
    // Seed 2: a lock client paused past its session timeout while holding wakes after the
    // servers gave the lock to the next waiter, and writes again. Both runs are the same
    // up to that write: the fence refuses it, the unfenced resource takes it.
    let fenced = run_seed(&scenario("lock.toml", &[]), 2);
    assert_eq!(fenced.outcome.verdict, Verdict::Pass);
    assert!(figure(&fenced, "lock_stale_tokens_rejected") > 0);
    assert_eq!(figure(&fenced, "lock_documented_unsafety"), 0);
    let unfenced = run_seed(&scenario("lock-nofence.toml", &[]), 2);
    assert_eq!(unfenced.outcome.verdict, Verdict::Pass);
    assert!(figure(&unfenced, "lock_documented_unsafety") > 0);
    assert_eq!(figure(&unfenced, "lock_stale_tokens_rejected"), 0);
}

#[test]
fn the_planted_lock_no_guid_leaves_an_orphan_that_blocks_the_lock() {
    let buggy = scenario("lock.toml", &["zab.bugs=[\"lock-no-guid\"]"]);
    let clean = scenario("lock.toml", &[]);
    let found = (0..60u64).find_map(|seed| match run_seed(&buggy, seed).outcome.verdict {
        Verdict::Liveness(f) => Some((seed, f)),
        Verdict::Pass => None,
        other => panic!("seed {seed}: {other:?}"),
    });
    let (seed, f) = found.expect("lock-no-guid: no liveness finding in 60 seeds");
    assert!(f.detail.contains("its own orphan"), "seed {seed}: {f}");
    assert_eq!(
        run_seed(&clean, seed).outcome.verdict,
        Verdict::Pass,
        "seed {seed} without the bug"
    );
}

#[test]
fn the_planted_lock_no_guid_is_inert_when_no_create_loses_its_answer() {
    // Without faults no connection breaks: the bug's blind retry never runs, so the run is
    // the correct recipe's, event for event.
    let quiet = ["nemesis.random=false", "nemesis.swarm=false"];
    let with = scenario(
        "lock.toml",
        &[quiet[0], quiet[1], "zab.bugs=[\"lock-no-guid\"]"],
    );
    let without = scenario("lock.toml", &quiet);
    for seed in 0..2u64 {
        let (a, b) = (run_seed(&with, seed), run_seed(&without, seed));
        assert_eq!(a.outcome.verdict, Verdict::Pass, "seed {seed}");
        assert_eq!(a.outcome.trace_hash, b.outcome.trace_hash, "seed {seed}");
    }
}
