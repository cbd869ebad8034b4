//! Shared by the engine tests (`raft.rs`, `paxos.rs`): loading a shipped scenario with
//! overrides, the load error it gives, and seeds that must pass and replay.

use kernel::observe::Verdict;
use sim::run::run;
use sim::scenario::{Loaded, Protocol, ScenarioError, load_file};

/// The shipped scenario `name` with `overrides` (`KEY=VALUE`).
pub fn load(name: &str, overrides: &[&str]) -> Result<Loaded, ScenarioError> {
    let path = format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_file(&path, &overrides)
}

/// The load error of `name` with `overrides`; panics if it loads.
pub fn error_of(name: &str, overrides: &[&str]) -> String {
    match load(name, overrides) {
        Ok(_) => panic!("{overrides:?} accepted"),
        Err(e) => e.to_string(),
    }
}

/// Each `(scenario, seeds)` loaded with `overrides` runs on `protocol`, passes, and
/// replays to the same trace hash and event count.
pub fn seeds_pass_and_replay(
    overrides: &[&str],
    protocol: Protocol,
    cases: &[(&str, std::ops::RangeInclusive<u64>)],
) {
    for (name, seeds) in cases {
        let loaded = load(name, overrides).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.scenario.cluster.protocol(), protocol);
        for seed in seeds.clone() {
            let a = run(&loaded, seed).expect("resolves").outcome;
            assert_eq!(
                a.verdict,
                Verdict::Pass,
                "{name} seed {seed}: {:?}",
                a.verdict
            );
            let b = run(&loaded, seed).expect("resolves").outcome;
            assert_eq!(a.trace_hash, b.trace_hash, "{name} seed {seed} replays");
            assert_eq!(a.stats.events, b.stats.events, "{name} seed {seed}");
        }
    }
}
