//! The message queue's planted protocol versions end to end: `kafka-hw-truncation`,
//! `kafka-epoch-divergence` and `kafka-zombie-controller` each fail a seed of
//! `scenarios/mq.toml` that the fixed protocol passes, and the failing seed replays to the
//! same trace hash. (The seeds are the first each bug fails with mq.toml's consumer group
//! of three; before the consumers they were 2, 84 and 5.)

use kernel::observe::Verdict;
use sim::run::run;
use sim::scenario::{Loaded, load_file};

fn scenario(bug: Option<&str>) -> Loaded {
    let path = format!("{}/../../scenarios/mq.toml", env!("CARGO_MANIFEST_DIR"));
    let overrides: Vec<String> = bug
        .map(|b| format!("zab.bugs=[\"{b}\"]"))
        .into_iter()
        .collect();
    load_file(&path, &overrides).unwrap_or_else(|e| panic!("{e}"))
}

/// `bug` fails `seed` (with the verdict kind `want`) where the fixed protocol passes, twice
/// to the same trace hash.
fn found(bug: &str, seed: u64, want: fn(&Verdict) -> bool) {
    let fixed = run(&scenario(None), seed).expect("resolves");
    assert_eq!(
        fixed.outcome.verdict,
        Verdict::Pass,
        "fixed protocol, seed {seed}"
    );
    let buggy = scenario(Some(bug));
    let (a, b) = (
        run(&buggy, seed).expect("resolves"),
        run(&buggy, seed).expect("resolves"),
    );
    assert!(
        want(&a.outcome.verdict),
        "{bug} seed {seed}: {:?}",
        a.outcome.verdict
    );
    assert_eq!(
        a.outcome.trace_hash, b.outcome.trace_hash,
        "{bug} seed {seed}"
    );
}

#[test]
fn hw_truncation_breaks_strong_isr() {
    found(
        "kafka-hw-truncation",
        13,
        |v| matches!(v, Verdict::Safety(f) if f.check.contains("StrongIsr")),
    );
}

#[test]
fn epoch_divergence_leaves_diverged_logs_below_the_hw() {
    found(
        "kafka-epoch-divergence",
        132,
        |v| matches!(v, Verdict::Safety(f) if f.check.contains("StrongIsr")),
    );
}

#[test]
fn a_zombie_controller_stops_the_queue() {
    found("kafka-zombie-controller", 131, |v| {
        matches!(v, Verdict::Liveness(_))
    });
}

#[test]
fn kafka_bugs_need_the_message_queue() {
    let path = format!("{}/../../scenarios/lock.toml", env!("CARGO_MANIFEST_DIR"));
    let Err(err) = load_file(&path, &["zab.bugs=[\"kafka-hw-truncation\"]".to_string()]) else {
        panic!("a kafka bug without [workload.mq] loaded");
    };
    assert!(err.to_string().contains("zab.bugs"), "{err}");
}
