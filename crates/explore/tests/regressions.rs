//! Runs every seed in `scenarios/regressions.txt` (seeds that once found a bug in zabsim),
//! and the seeds that need an override, listed here: each must pass *and* replay the run
//! that caught its bug, its pinned trace hash. A fixed bug stays fixed, and a seed that
//! random draws have moved away from its situation fails loudly instead of passing quietly.

use explore::regressions::{self, Regression};
use kernel::observe::Verdict;
use sim::run::run;
use sim::scenario::load_file;

fn scenarios_dir() -> String {
    format!("{}/../../scenarios", env!("CARGO_MANIFEST_DIR"))
}

/// Where the seeds with overrides pin their hashes.
const OVERRIDES_LIST: &str =
    "crates/explore/tests/regressions.rs (regression_seeds_with_overrides_pass)";

/// Run `file` with `overrides` and `seed`: it must pass with trace hash `pinned` (pinned at
/// `pinned_at`; `found` says what the seed caught).
fn replays(file: &str, overrides: &[String], seed: u64, pinned: u64, pinned_at: &str, found: &str) {
    let path = format!("{}/{file}", scenarios_dir());
    let loaded = load_file(&path, overrides).unwrap_or_else(|e| panic!("{e}"));
    let report = run(&loaded, seed).expect("scenario resolves");
    let what = format!("{file} {overrides:?} seed {seed} ({found})");
    assert_eq!(report.outcome.verdict, Verdict::Pass, "{what}");
    let got = report.outcome.trace_hash;
    assert!(
        got == pinned,
        "{what}:\n{}",
        regressions::moved(seed, pinned, got, pinned_at)
    );
}

#[test]
fn every_regression_seed_passes_and_replays_its_run() {
    let path = format!("{}/{}", scenarios_dir(), regressions::FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let list =
        regressions::parse("scenarios/regressions.txt", &text).unwrap_or_else(|e| panic!("{e}"));
    assert!(list.len() >= 3, "the list is read");
    for Regression {
        scenario,
        seed,
        hash,
        found,
        at,
    } in list
    {
        replays(&scenario, &[], seed, hash, &at, &found);
    }
}

/// Why the interval-50/100 seeds below are regression seeds.
const PARTITIONS_AT_ONCE: &str = "more than 64 partitions at once: the kernel's fixed bound \
    on concurrent cuts panicked under a high fault rate; cuts are now bounded only by the \
    schedule (each comes from one scheduled fault)";

/// Regression seeds that need an override (the list's format has none), each with its
/// pinned trace hash: each runs here.
#[test]
fn regression_seeds_with_overrides_pass() {
    let cases: &[(&str, &[&str], u64, u64, &str)] = &[
        (
            "ci.toml",
            &["cluster.protocol=paxos", "paxos.order=prefix"],
            396,
            0xda61638138e6472f,
            "multi-paxos: followers learned a chosen slot only from the next Accept or \
             heartbeat (100 ms), so the queue consumer's last writes outlasted the liveness \
             phase (classic Multi-Paxos still does, seeds 396 and 415); under prefix \
             acceptance a leader with nothing else in flight tells its followers at once",
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=150"],
            23336,
            0xcbb70860ed4d3d90,
            "a server left LOOKING by a long election storm backed off to ZooKeeper's 60 s \
             notification interval and stayed LOOKING through the liveness phase; the \
             scenarios' cap now scales with their 200 ms tick (6 s)",
        ),
        (
            "ci.toml",
            &["network.loss=0.02"],
            51269,
            0x17214e28f4bafbb3,
            "claim consumer: a verification cut short by a second lost answer ended the take \
             ok while the item stayed under the live session's own claim; the consumer took \
             it up again as its own (duplicate). A lost verification is now asked again",
        ),
        (
            "mq.toml",
            &["workload.mq.consumers=0"],
            1432,
            0x0561afd605a440e4,
            "a deposed leader's empty epoch kept by a truncation at its log end: the next \
             leader's older-epoch records failed the follower's epoch order (panic); pinned \
             without the consumer group mq.toml gained since, which replays the run that \
             found it",
        ),
        (
            "mq.toml",
            &[
                "workload.mq.consumer_faults=true",
                "workload.mq.poll_ms=50",
                "workload.mq.commit_ms=200",
            ],
            177,
            0xbc4a29366e98d0df,
            "consumer: a release whose delete of its owner node lost its answer (applied) \
             retried the delete after another consumer had claimed the partition, deleting \
             the new owner's node: the partition stayed unowned (liveness). A failed release \
             now checks whose the node is first (the settings of the first consumer-group \
             mq.toml, which found it at seed 52; re-pinned at 177 after the ISR-join fix \
             moved 52's draws: with the blind retry re-planted 177 leaves t0/3 unowned)",
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=100"],
            2000296,
            0x6f85a1c0bd4c2ced,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=150"],
            22944,
            0x8bc112819126f1ca,
            "backward clock jumps on p4 moved its election timers past the liveness phase \
             (timers ran on the jumping local clock): it stayed LOOKING after the heal. \
             Timers now run on a monotonic clock (ZOOKEEPER-1366's fix)",
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=150"],
            23333,
            0x835160084526c71a,
            "same: p4 stayed LOOKING after the heal, its election timers pushed out by \
             backward clock jumps",
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000083,
            0x5816dd7ddd707b18,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000101,
            0x024782ac19dea7d0,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000118,
            0x2f0ab55462d1a1a6,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000237,
            0xa011e0ff105e69c4,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000248,
            0xec0f6eceea35c323,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000251,
            0x7f27cfba920105f3,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000264,
            0x043eab699fd43eb2,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000286,
            0x0d72073cd54b4e7d,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000295,
            0x8882f56d7303c9fb,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000141,
            0x329d634020d69b4b,
            "same: backward jumps on p0 just before the heal left it LOOKING",
        ),
    ];
    for &(file, overrides, seed, hash, why) in cases {
        let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
        replays(file, &overrides, seed, hash, OVERRIDES_LIST, why);
    }
}
