//! Runs every seed in `scenarios/regressions.txt` (seeds that once found a bug in zabsim) and
//! expects each to pass: a fixed bug stays fixed.

use kernel::observe::Verdict;
use sim::run::run;
use sim::scenario::load_file;

fn scenarios_dir() -> String {
    format!("{}/../../scenarios", env!("CARGO_MANIFEST_DIR"))
}

/// (scenario file, seed, why) per non-comment line.
fn regressions() -> Vec<(String, u64, String)> {
    let path = format!("{}/regressions.txt", scenarios_dir());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, ' ');
        let file = parts.next().expect("a scenario").to_string();
        let seed = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{path}:{}: no seed", i + 1));
        let why = parts.next().unwrap_or_default().to_string();
        assert!(!why.is_empty(), "{path}:{}: say what the seed found", i + 1);
        out.push((file, seed, why));
    }
    out
}

#[test]
fn every_regression_seed_passes() {
    let list = regressions();
    assert!(list.len() >= 3, "the list is read");
    for (file, seed, why) in list {
        let path = format!("{}/{file}", scenarios_dir());
        let loaded = load_file(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        let report = run(&loaded, seed).expect("scenario resolves");
        assert_eq!(
            report.outcome.verdict,
            Verdict::Pass,
            "{file} seed {seed} ({why})"
        );
    }
}

/// Why the interval-50/100 seeds below are regression seeds.
const PARTITIONS_AT_ONCE: &str = "more than 64 partitions at once: the kernel's fixed bound \
    on concurrent cuts panicked under a high fault rate; cuts are now bounded only by the \
    schedule (each comes from one scheduled fault)";

/// Regression seeds that need an override (the list's format has none): each runs here.
#[test]
fn regression_seeds_with_overrides_pass() {
    let cases: &[(&str, &[&str], u64, &str)] = &[
        (
            "default.toml",
            &["nemesis.interval_ms=150"],
            23336,
            "a server left LOOKING by a long election storm backed off to ZooKeeper's 60 s \
             notification interval and stayed LOOKING through the liveness phase; the \
             scenarios' cap now scales with their 200 ms tick (6 s)",
        ),
        (
            "ci.toml",
            &["network.loss=0.02"],
            51269,
            "claim consumer: a verification cut short by a second lost answer ended the take \
             ok while the item stayed under the live session's own claim; the consumer took \
             it up again as its own (duplicate). A lost verification is now asked again",
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=100"],
            2000296,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=150"],
            22944,
            "backward clock jumps on p4 moved its election timers past the liveness phase \
             (timers ran on the jumping local clock): it stayed LOOKING after the heal. \
             Timers now run on a monotonic clock (ZOOKEEPER-1366's fix)",
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=150"],
            23333,
            "same: p4 stayed LOOKING after the heal, its election timers pushed out by \
             backward clock jumps",
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000083,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000101,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000118,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000237,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000248,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000251,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000264,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000286,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000295,
            PARTITIONS_AT_ONCE,
        ),
        (
            "default.toml",
            &["nemesis.interval_ms=50"],
            3000141,
            "same: backward jumps on p0 just before the heal left it LOOKING",
        ),
    ];
    for &(file, overrides, seed, why) in cases {
        let path = format!("{}/{file}", scenarios_dir());
        let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
        let loaded = load_file(&path, &overrides).unwrap_or_else(|e| panic!("{e}"));
        let report = run(&loaded, seed).expect("scenario resolves");
        assert_eq!(
            report.outcome.verdict,
            Verdict::Pass,
            "{file} {overrides:?} seed {seed} ({why})"
        );
    }
}
