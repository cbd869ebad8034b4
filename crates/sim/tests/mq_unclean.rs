//! The message queue's `unclean_leader_election = true` end to end on `scenarios/mq.toml`:
//! seeds where the controller let an out-of-ISR replica lead pass, their acknowledged
//! records lost that way are counted (`mq_unclean_lost`) rather than failed, and the runs
//! replay to the same trace hash. Seed 132 is the one that found a never-fetched replica
//! joining an empty unclean leader's ISR (now fixed in `mq::isr`).

use kernel::observe::Verdict;
use sim::run::run;
use sim::scenario::load_file;

fn figure(figures: &[(String, u64)], name: &str) -> Option<u64> {
    figures.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
}

#[test]
fn unclean_elections_lose_acknowledged_records_by_design_and_the_runs_pass() {
    let path = format!("{}/../../scenarios/mq.toml", env!("CARGO_MANIFEST_DIR"));
    let set = ["workload.mq.unclean_leader_election=true".to_string()];
    let loaded = load_file(&path, &set).unwrap_or_else(|e| panic!("{e}"));
    let mut lost = 0;
    for seed in [132, 231] {
        let a = run(&loaded, seed).expect("resolves");
        assert_eq!(a.outcome.verdict, Verdict::Pass, "seed {seed}");
        assert!(
            figure(&a.figures, "mq_unclean_elections").is_some_and(|n| n > 0),
            "seed {seed}: an unclean election"
        );
        lost += figure(&a.figures, "mq_unclean_lost").expect("counted");
        let b = run(&loaded, seed).expect("resolves");
        assert_eq!(a.outcome.trace_hash, b.outcome.trace_hash, "seed {seed}");
    }
    assert!(lost > 0, "some acknowledged records were lost and counted");
    let clean = load_file(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
    let c = run(&clean, 231).expect("resolves");
    assert_eq!(figure(&c.figures, "mq_unclean_elections"), None);
}
