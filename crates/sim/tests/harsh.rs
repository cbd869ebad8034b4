//! Harsh inputs: scenarios at high fault rates and heavy loss run without a panic and
//! without a finding. Here: any number of partitions at once.

use sim::fault::{Fault, Scheduled, Target};
use sim::observe::Verdict;
use sim::run::run;
use sim::scenario::{Loaded, load_file};

fn path(file: &str) -> String {
    format!("{}/../../scenarios/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn load(file: &str, overrides: &[&str]) -> Loaded {
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    load_file(&path(file), &overrides).unwrap_or_else(|e| panic!("{e}"))
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
