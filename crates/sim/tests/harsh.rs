//! Harsh inputs: scenarios at high fault rates and heavy loss run without a panic and
//! without a finding (the short harsh sweep; `scripts/harsh-sweep.sh` is the long form), and
//! every kernel bound a scenario value can reach is met with a load error naming the field
//! (exit 2) or an inconclusive budget verdict (exit 3) — never a panic.

use kernel::fault::{Fault, Scheduled, Target};
use kernel::nemesis::FAULTS_MAX;
use kernel::observe::Verdict;
use sim::run::run;
use sim::scenario::{Loaded, load_file};
use sim::zkscript::{self, SCRIPT_SESSIONS_MAX};

fn path(file: &str) -> String {
    format!("{}/../../scenarios/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn load(file: &str, overrides: &[&str]) -> Loaded {
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    load_file(&path(file), &overrides).unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------------------
// The short harsh sweep.
// ---------------------------------------------------------------------------------------

/// (scenario, override, seeds): each seed must pass.
const HARSH: [(&str, &str, std::ops::Range<u64>); 6] = [
    (
        "default.toml",
        "nemesis.interval_ms=50",
        3_000_000..3_000_012,
    ),
    (
        "default.toml",
        "nemesis.interval_ms=100",
        2_000_290..2_000_302,
    ),
    ("ci.toml", "network.loss=0.1", 700_000..700_010),
    ("kv.toml", "nemesis.interval_ms=80", 700_000..700_012),
    ("zab-3.toml", "network.loss=0.2", 700_000..700_008),
    ("queue-take.toml", "network.loss=0.03", 700_000..700_008),
];

#[test]
fn harsh_sweep_passes_without_panics_or_findings() {
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = HARSH
            .iter()
            .map(|(file, set, seeds)| {
                scope.spawn(move || {
                    let loaded = load(file, &[set]);
                    let mut failed = Vec::new();
                    for seed in seeds.clone() {
                        let verdict = run(&loaded, seed).expect("resolves").outcome.verdict;
                        if verdict != Verdict::Pass {
                            failed.push(format!("{file} --set {set} seed {seed}: {verdict:?}"));
                        }
                    }
                    failed
                })
            })
            .collect();
        runs.into_iter()
            .flat_map(|r| r.join().expect("no panic"))
            .collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

// ---------------------------------------------------------------------------------------
// Partitions: any number at once.
// ---------------------------------------------------------------------------------------

/// `count` overlapping partitions, one every millisecond from 1 s on, each lasting 3 s.
fn overlapping_partitions(count: u64) -> Vec<Scheduled> {
    (0..count)
        .map(|i| Scheduled {
            at_ms: 1_000 + i,
            fault: match i % 3 {
                0 => Fault::PartitionIsolate {
                    target: Target::Node((i % 5) as u32),
                    duration_ms: 3_000,
                },
                1 => Fault::PartitionHalves {
                    side: Some(vec![(i % 5) as u32]),
                    duration_ms: 3_000,
                },
                _ => Fault::PartitionRing {
                    ring: Some(vec![0, 2, 4, 1, 3]),
                    duration_ms: 3_000,
                },
            },
        })
        .collect()
}

#[test]
fn hundreds_of_partitions_at_once_run_to_a_pass() {
    let mut loaded = load(
        "default.toml",
        &["nemesis.random=false", "nemesis.swarm=false"],
    );
    loaded.scenario.nemesis.script = overlapping_partitions(300);
    let report = run(&loaded, 1).expect("resolves");
    assert_eq!(report.outcome.verdict, Verdict::Pass);
    let partitions = report
        .outcome
        .faults
        .iter()
        .filter(|f| f.until_ns.is_some());
    assert_eq!(partitions.count(), 300, "every partition was applied");
}

// ---------------------------------------------------------------------------------------
// Bounds a scenario value can reach: a load error naming the field, or a budget verdict.
// ---------------------------------------------------------------------------------------

const BIG: &str = "9223372036854775807";

/// (scenario, field): the field at i64::MAX is refused, the error naming the field.
const TOO_BIG: [(&str, &str); 16] = [
    ("default.toml", "run.safety_ms"),
    ("default.toml", "run.liveness_ms"),
    ("default.toml", "network.retransmit_us"),
    ("default.toml", "cpu.message_us"),
    ("default.toml", "nemesis.interval_ms"),
    ("default.toml", "nemesis.duration_ms_max"),
    ("default.toml", "nemesis.jump_ms_max"),
    ("default.toml", "workload.interval_ms"),
    ("default.toml", "workload.keys"),
    ("default.toml", "zab.tick_ms"),
    ("default.toml", "zab.finalize_wait_ms"),
    ("default.toml", "zab.notify_timeout_ms_max"),
    ("default.toml", "zab.init_limit_ticks"),
    ("default.toml", "zab.sync_limit_ticks"),
    ("queue.toml", "workload.queue.process_ms"),
    ("probe.toml", "workload.interval_ms"),
];

/// (scenario, overrides, the field the error must name).
fn refused_cases() -> Vec<(&'static str, Vec<String>, &'static str)> {
    let set = |kv: &[&str]| kv.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let script = |fault: &str| set(&[&format!("nemesis.script=[{{at_ms=100,{fault}}}]")]);
    let mut cases = vec![
        (
            "default.toml",
            set(&["run.queue_max=2147483648"]),
            "run.queue_max",
        ),
        (
            "default.toml",
            set(&[&format!("cpu.kind_us={{PROPOSAL={BIG}}}")]),
            "cpu.kind_us.PROPOSAL",
        ),
        (
            "default.toml",
            set(&["nemesis.drift_ppm_max=-9223372036854775808"]),
            "nemesis.drift_ppm_max",
        ),
        (
            "default.toml",
            set(&["clock.drift_ppm_max=-9223372036854775808"]),
            "clock.drift_ppm_max",
        ),
        (
            "default.toml",
            script(&format!("kind=\"pause\",duration_ms={BIG}")),
            "nemesis.script[0].duration_ms",
        ),
        (
            "default.toml",
            script(&format!("kind=\"crash\",restart_after_ms={BIG}")),
            "nemesis.script[0].restart_after_ms",
        ),
        (
            "default.toml",
            script("kind=\"clock-jump\",jump_ms=-9223372036854775808"),
            "nemesis.script[0].jump_ms",
        ),
        (
            "default.toml",
            script("kind=\"clock-drift\",drift_ppm=-9223372036854775808"),
            "nemesis.script[0].drift_ppm",
        ),
        (
            "default.toml",
            set(&["network.latency={dist=\"uniform\",min_us=1,max_us=60000001}"]),
            "network.latency.max_us",
        ),
        (
            "default.toml",
            set(&[&format!("disk.fsync={{dist=\"constant\",us={BIG}}}")]),
            "disk.fsync.us",
        ),
        (
            "queue.toml",
            set(&[&format!(
                "workload.queue.rate={{capacity=1,refill=1,interval_ms={BIG}}}"
            )]),
            "workload.queue.rate.interval_ms",
        ),
        (
            "queue.toml",
            set(&["workload.queue.producers=4294967295"]),
            "workload.queue.producers",
        ),
        (
            "probe.toml",
            set(&["workload.payload_bytes=4294967295"]),
            "workload.payload_bytes",
        ),
    ];
    for (file, field) in TOO_BIG {
        cases.push((file, vec![format!("{field}={BIG}")], field));
    }
    let faults: Vec<String> = (0..=FAULTS_MAX)
        .map(|i| format!("{{at_ms={},kind=\"heal\"}}", i % 1_000))
        .collect();
    let too_many = format!("nemesis.script=[{}]", faults.join(","));
    cases.push(("default.toml", vec![too_many], "nemesis.script"));
    cases
}

#[test]
fn scenario_values_past_a_bound_are_refused_naming_the_field() {
    for (file, overrides, field) in refused_cases() {
        let e = load_file(&path(file), &overrides).expect_err(field);
        let text = e.to_string();
        assert!(
            text.contains(field),
            "{field}: {}",
            &text[..text.len().min(300)]
        );
    }
}

#[test]
fn a_schedule_over_faults_max_ends_inconclusive() {
    // Faults every ~1.6 ms over 20 s: more than FAULTS_MAX.
    let loaded = load(
        "default.toml",
        &[
            "nemesis.swarm=false",
            "nemesis.interval_ms=1",
            "run.safety_ms=20000",
        ],
    );
    let report = run(&loaded, 7).expect("resolves");
    match &report.outcome.verdict {
        Verdict::Budget { budget, detail } => {
            assert!(budget == "faults" && detail.contains("10000"), "{detail}")
        }
        other => panic!("expected the faults budget, got {other:?}"),
    }
    assert_eq!(report.outcome.verdict.exit_code(), 3);
    assert_eq!(report.schedule.len(), FAULTS_MAX + 1);
}

#[test]
fn a_script_session_past_the_timer_bound_is_refused_and_all_below_it_run() {
    let line = |s: u32, op: &str| format!("{{\"session\":{s},\"op\":\"{op}\",\"path\":\"/\"}}");
    let refused = zkscript::parse(&line(SCRIPT_SESSIONS_MAX, "exists")).unwrap_err();
    assert!(refused.message.contains("session"), "{}", refused.message);
    // Every session open at once, then each closed and reopened: one timer per session.
    let mut text = Vec::new();
    for op in ["exists", "close_session", "exists"] {
        text.extend((0..SCRIPT_SESSIONS_MAX).map(|s| line(s, op)));
    }
    let lines = zkscript::parse(&text.join("\n")).expect("parses");
    let out = zkscript::run(lines, 1).expect("runs");
    assert_eq!(out.len(), 3 * SCRIPT_SESSIONS_MAX as usize);
}
