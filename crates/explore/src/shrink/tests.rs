//! The shrink on a planted case, with a runner that judges candidates by a rule instead of
//! running them: the "bug" needs a pause of node 2 and a crash of node 1; everything else the
//! shrink should take away.

use super::*;
use kernel::dist::Probability;
use kernel::fault::{Fault, Scheduled, Target};

/// When the planted finding is made, ms.
const FINDING_MS: u64 = 6_000;

fn pause(node: u32, at_ms: u64) -> Scheduled {
    Scheduled {
        at_ms,
        fault: Fault::Pause {
            target: Target::Node(node),
            duration_ms: 300,
        },
    }
}

fn crash(node: u32, at_ms: u64) -> Scheduled {
    Scheduled {
        at_ms,
        fault: Fault::Crash {
            target: Target::Node(node),
            restart_after_ms: Some(400),
            tear: true,
        },
    }
}

/// What the random nemesis "drew" for the seed: 8 faults, two of which matter.
fn drawn() -> Vec<Scheduled> {
    let loss = Scheduled {
        at_ms: 3_000,
        fault: Fault::Loss {
            rate: Probability::from_ppm(100_000),
            duration_ms: 500,
        },
    };
    let halves = Scheduled {
        at_ms: 500,
        fault: Fault::PartitionHalves {
            side: Some(vec![0, 3]),
            duration_ms: 500,
        },
    };
    vec![
        halves,
        pause(2, 1_200),
        pause(4, 1_800),
        crash(1, 2_500),
        loss,
        crash(3, 4_000),
        pause(0, 7_000),
        crash(2, 9_000),
    ]
}

fn agreement() -> Signature {
    Signature {
        verdict: "safety".into(),
        check: "Agreement".into(),
    }
}

/// The planted rule: a random nemesis draws [`drawn`]; a script fails when it pauses node 2
/// and crashes node 1 before the finding (another check fails with only the pause).
#[derive(Default)]
struct Planted {
    ran: Vec<Scenario>,
    lines: Vec<String>,
}

impl Runner for Planted {
    fn run(&mut self, candidate: &Scenario) -> Result<Trial, String> {
        self.ran.push(candidate.clone());
        let schedule = match candidate.nemesis.random {
            true => drawn(),
            false => candidate.nemesis.script.clone(),
        };
        Ok(judged(schedule, candidate.run.safety_ms))
    }

    fn progress(&mut self, line: &str) {
        self.lines.push(line.to_string());
    }
}

/// The planted rule's trial of a run of `schedule` with safety phase `safety_ms`.
fn judged(schedule: Vec<Scheduled>, safety_ms: u64) -> Trial {
    let before = |f: &Scheduled| f.at_ms < FINDING_MS.min(safety_ms);
    let has = |want: fn(&Fault) -> bool| schedule.iter().any(|f| before(f) && want(&f.fault));
    let paused = has(|f| {
        matches!(
            f,
            Fault::Pause {
                target: Target::Node(2),
                ..
            }
        )
    });
    let crashed = has(|f| {
        matches!(
            f,
            Fault::Crash {
                target: Target::Node(1),
                ..
            }
        )
    });
    let check = match (paused, crashed) {
        (true, true) => Some("Agreement"),
        (true, false) => Some("Integrity"),
        _ => None,
    };
    Trial {
        signature: check.map(|check| Signature {
            verdict: "safety".into(),
            check: check.into(),
        }),
        detail: check.unwrap_or_default().into(),
        verdict: if check.is_some() { "safety" } else { "pass" }.into(),
        hash: 0,
        finding_ns: check.map(|_| FINDING_MS * NS_PER_MS),
        schedule,
        faults_applied: 0,
        events: 0,
        end_ns: 0,
    }
}

fn default_scenario() -> Scenario {
    sim::scenario::load_default(&[]).unwrap().scenario
}

fn planted(runs_max: u64) -> Shrinker<Planted> {
    let first = judged(drawn(), 10_000);
    Shrinker::new(
        agreement(),
        default_scenario(),
        first,
        runs_max,
        Planted::default(),
    )
}

#[test]
fn a_planted_case_keeps_only_what_the_finding_needs() {
    let mut sh = planted(300);
    sh.shrink();
    let best = sh.best();
    let shrunk_pause = Scheduled {
        at_ms: 1_200,
        fault: Fault::Pause {
            target: Target::Node(2),
            duration_ms: 1,
        },
    };
    let shrunk_crash = Scheduled {
        at_ms: 2_500,
        fault: Fault::Crash {
            target: Target::Node(1),
            restart_after_ms: Some(1),
            tear: false,
        },
    };
    assert_eq!(best.nemesis.script, [shrunk_pause, shrunk_crash]);
    assert!(!best.nemesis.random && !best.nemesis.swarm);
    assert_eq!((best.cluster.servers, best.cluster.observers), (3, 0));
    assert_eq!(
        best.workload.clients(),
        1,
        "a scenario without clients does not validate"
    );
    assert_eq!(best.network.loss, Probability::from_ppm(0));
    assert_eq!(best.clock.drift_ppm_max, 0);
    assert_eq!(
        best.run.safety_ms, 2_505,
        "within a 10 ms step after the crash"
    );
    assert_eq!(sh.best_trial().signature, Some(agreement()));
    // What went, in what order, after how many candidate runs.
    assert_eq!(
        sh.runner.lines,
        [
            "shrink: the seed's 8 faults as an explicit script: still SAFETY Agreement",
            "shrink: run.safety_ms (cut at the finding) 10000 → 6001  (run 2/300)",
            "shrink: faults 8 → 6  (run 2/300)",
            "shrink: faults 6 → 2  (run 14/300)",
            "shrink: workload.clients 4 → 1  (run 16/300)",
            "shrink: cluster.servers 5 → 3  (run 19/300)",
            "shrink: network.loss (ppm) 10000 → 0  (run 20/300)",
            "shrink: clock.drift_ppm_max 200 → 0  (run 21/300)",
            "shrink: run.safety_ms 6001 → 2505  (run 44/300)",
            "shrink: fault pause at 1200 ms duration_ms 300 → 1  (run 45/300)",
            "shrink: fault crash at 2500 ms restart_after_ms 400 → 1  (run 46/300)",
            "shrink: fault crash at 2500 ms tear true → false  (run 47/300)",
        ]
    );
    assert_eq!(sh.runs(), 47 + 12, "then a round that changes nothing");
}

#[test]
fn the_acceptance_test_runs_each_valid_candidate_once() {
    let mut sh = planted(300);
    sh.shrink();
    let ran = &sh.runner.ran;
    assert_eq!(ran.len() as u64, sh.runs());
    let distinct: BTreeSet<String> = ran.iter().map(|s| format!("{s:?}")).collect();
    assert_eq!(distinct.len(), ran.len(), "a candidate ran twice");
    assert!(ran.iter().all(|s| scenario::validate(s).is_ok()));
    // The pause alone fails another check: never kept.
    let only_pause = ran.iter().any(|s| {
        let t = judged(s.nemesis.script.clone(), s.run.safety_ms);
        t.signature.is_some_and(|sig| sig.check == "Integrity")
    });
    assert!(only_pause, "a candidate with the wrong check was tried");
}

#[test]
fn the_run_budget_is_kept() {
    let mut sh = planted(5);
    sh.shrink();
    assert_eq!((sh.runs(), sh.runner.ran.len()), (5, 5));
    assert!(sh.best().nemesis.script.len() <= 6);
}

#[test]
fn the_shrunk_scenario_is_named_after_its_origin() {
    let mut sh = planted(300);
    sh.shrink();
    let first = judged(drawn(), 10_000);
    let named = sh.named(&default_scenario(), "scenarios/default.toml", 7, &first);
    assert_eq!(named.name, "default-shrunk");
    assert_eq!(
        named.description,
        "`zabsim shrink` of scenarios/default.toml seed 7 (SAFETY Agreement): faults 8 → 2, \
         clients 4 → 1, servers 5 → 3"
    );
}
