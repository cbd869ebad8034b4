//! The nemesis: turns a scenario's fault script and random-fault settings into one concrete
//! schedule for the safety phase, drawn only from the fault and swarm streams — so the
//! schedule of a seed never depends on the workload or on anything the processes do.
//! Swarm mode first picks, per seed, which fault kinds are on and how often faults come.
//!
//! Invariants: the schedule is sorted by time (script order kept for equal times); it has at
//! most `FAULTS_MAX` entries, or `FAULTS_MAX + 1` to mark an overflow (see `FAULTS_MAX`);
//! every node index in it is a valid target index; no `Random` target or absent partition
//! layout survives resolution.

use crate::detmath;
use crate::dist::Probability;
use crate::fault::{Fault, FaultKind, Scheduled, Target};
use crate::rng::{PPM_ONE, Stream};
use serde::{Deserialize, Serialize};

/// Faults in one run's schedule, at most. A script is held to it at load; random faults at a
/// high rate over a long safety phase can outnumber it: the schedule then keeps one fault
/// more (`FAULTS_MAX + 1`) and the kernel ends the run inconclusive (a `faults` budget
/// verdict) before it starts, rather than run a schedule cut short.
pub const FAULTS_MAX: usize = 10_000;

/// The `[nemesis]` section of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NemesisConfig {
    /// Faults at fixed times (`[[nemesis.script]]`).
    pub script: Vec<Scheduled>,
    /// Add random faults on top of the script.
    pub random: bool,
    /// Swarm testing: per seed, a random subset of `kinds` and a random fault rate.
    pub swarm: bool,
    /// Kinds the random nemesis may use.
    pub kinds: Vec<FaultKind>,
    /// Mean time between random faults.
    pub interval_ms: u64,
    /// Random faults last between these.
    pub duration_ms_min: u64,
    pub duration_ms_max: u64,
    /// Random crashes restart after a duration in the range above; this share tears.
    pub tear: Probability,
    /// Bounds of random clock faults and slow disks and loss bursts.
    pub drift_ppm_max: i64,
    pub jump_ms_max: i64,
    pub disk_slow_factor_max: u32,
    pub loss_max: Probability,
}

impl Default for NemesisConfig {
    fn default() -> Self {
        NemesisConfig {
            script: Vec::new(),
            random: false,
            swarm: false,
            kinds: FaultKind::ALL.to_vec(),
            interval_ms: 2_000,
            duration_ms_min: 100,
            duration_ms_max: 3_000,
            tear: Probability::from_ppm(200_000),
            drift_ppm_max: 100_000,
            jump_ms_max: 5_000,
            disk_slow_factor_max: 20,
            loss_max: Probability::from_ppm(200_000),
        }
    }
}

/// What swarm mode chose for one seed (recorded in the run's outputs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SwarmChoice {
    pub kinds: Vec<FaultKind>,
    pub weights: Vec<u32>,
    pub interval_ms: u64,
}

/// Choose kinds (each on with probability 1/2, at least one), per-kind weights in 1..=4,
/// and an interval scaled by 1/4 … 4.
pub fn swarm_choice(config: &NemesisConfig, rng: &mut Stream) -> SwarmChoice {
    assert!(
        !config.kinds.is_empty(),
        "swarm needs at least one fault kind"
    );
    let mut kinds = Vec::new();
    let mut weights = Vec::new();
    for &k in &config.kinds {
        let on = rng.chance_ppm(PPM_ONE / 2);
        let weight = 1 + rng.below(4) as u32;
        if on {
            kinds.push(k);
            weights.push(weight);
        }
    }
    let forced = config.kinds[rng.below(config.kinds.len() as u64) as usize];
    if kinds.is_empty() {
        kinds.push(forced);
        weights.push(1);
    }
    const SCALE_PERCENT: [u64; 5] = [25, 50, 100, 200, 400];
    let scale = SCALE_PERCENT[rng.below(SCALE_PERCENT.len() as u64) as usize];
    debug_assert!(
        kinds.len() == weights.len() && weights.iter().all(|w| (1..=4).contains(w)),
        "one weight in 1..=4 per chosen kind"
    );
    SwarmChoice {
        kinds,
        weights,
        interval_ms: (config.interval_ms * scale / 100).max(1),
    }
}

/// Everything the schedule builder needs to know about the run.
pub struct Plan<'a> {
    pub config: &'a NemesisConfig,
    pub swarm: Option<&'a SwarmChoice>,
    pub target_count: u32,
    pub safety_ms: u64,
}

/// The resolved schedule: the script plus random faults, sorted by time.
pub fn build_schedule(plan: &Plan, rng: &mut Stream) -> Vec<Scheduled> {
    assert!(plan.target_count > 0, "a schedule needs targets");
    let mut out: Vec<Scheduled> = plan
        .config
        .script
        .iter()
        .map(|s| Scheduled {
            at_ms: s.at_ms,
            fault: resolve(&s.fault, plan.target_count, rng),
        })
        .collect();
    if plan.config.random {
        out.extend(random_faults(plan, rng));
    }
    out.sort_by_key(|s| s.at_ms);
    out.truncate(FAULTS_MAX + 1);
    assert!(out.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    assert!(
        out.iter().all(|s| s.fault.target() != Some(Target::Random)
            && s.fault.named_nodes().iter().all(|&i| i < plan.target_count)),
        "a resolved schedule names targets in range, none random"
    );
    out
}

fn random_faults(plan: &Plan, rng: &mut Stream) -> Vec<Scheduled> {
    let c = plan.config;
    let (kinds, weights, interval_ms) = match plan.swarm {
        Some(s) => (s.kinds.clone(), s.weights.clone(), s.interval_ms),
        None => (c.kinds.clone(), vec![1; c.kinds.len()], c.interval_ms),
    };
    assert_eq!(kinds.len(), weights.len(), "one weight per fault kind");
    if kinds.is_empty() {
        return Vec::new();
    }
    let weight_total: u64 = weights.iter().map(|&w| w as u64).sum();
    let mut out = Vec::new();
    let mut at_ms = 0u64;
    while out.len() <= FAULTS_MAX {
        // Exponential gaps (a Poisson process) with the chosen mean.
        let gap = -(interval_ms as f64) * detmath::ln(rng.unit_open());
        at_ms = at_ms.saturating_add(gap as u64 + 1);
        if at_ms >= plan.safety_ms {
            break;
        }
        let mut pick = rng.below(weight_total);
        let mut kind = kinds[0];
        for (k, &w) in kinds.iter().zip(&weights) {
            if pick < w as u64 {
                kind = *k;
                break;
            }
            pick -= w as u64;
        }
        let fault = random_fault(kind, plan, rng);
        out.push(Scheduled {
            at_ms,
            fault: resolve(&fault, plan.target_count, rng),
        });
    }
    debug_assert!(
        out.windows(2).all(|w| w[0].at_ms < w[1].at_ms)
            && out.iter().all(|s| s.at_ms < plan.safety_ms),
        "random faults in strictly increasing time within the safety phase"
    );
    out
}

fn random_fault(kind: FaultKind, plan: &Plan, rng: &mut Stream) -> Fault {
    let c = plan.config;
    let duration_ms = rng.between(c.duration_ms_min, c.duration_ms_max.max(c.duration_ms_min));
    let target = Target::Random;
    match kind {
        FaultKind::Crash | FaultKind::CrashLeader => Fault::Crash {
            target: if kind == FaultKind::CrashLeader {
                Target::Leader
            } else {
                target
            },
            restart_after_ms: Some(duration_ms),
            tear: rng.chance_ppm(c.tear.ppm),
        },
        FaultKind::Pause => Fault::Pause {
            target,
            duration_ms,
        },
        FaultKind::ClockDrift => {
            let span = c.drift_ppm_max.max(0) as u64;
            Fault::ClockDrift {
                target,
                drift_ppm: rng.between(0, 2 * span) as i64 - span as i64,
            }
        }
        FaultKind::ClockJump => {
            let span = c.jump_ms_max.max(0) as u64;
            Fault::ClockJump {
                target,
                jump_ms: rng.between(0, 2 * span) as i64 - span as i64,
            }
        }
        FaultKind::DiskSlow => Fault::DiskSlow {
            target,
            factor: rng.between(2, c.disk_slow_factor_max.max(2) as u64) as u32,
            duration_ms,
        },
        FaultKind::Loss => Fault::Loss {
            rate: Probability::from_ppm(rng.between(0, c.loss_max.ppm as u64) as u32),
            duration_ms,
        },
        FaultKind::PartitionHalves => Fault::PartitionHalves {
            side: None,
            duration_ms,
        },
        FaultKind::PartitionIsolate => Fault::PartitionIsolate {
            target,
            duration_ms,
        },
        FaultKind::PartitionIsolateLeader => Fault::PartitionIsolate {
            target: Target::Leader,
            duration_ms,
        },
        FaultKind::PartitionBridge => Fault::PartitionBridge {
            a: None,
            b: None,
            bridge: None,
            duration_ms,
        },
        FaultKind::PartitionOneWay => Fault::PartitionOneWay {
            from: None,
            to: None,
            duration_ms,
        },
        FaultKind::PartitionRing => Fault::PartitionRing {
            ring: None,
            duration_ms,
        },
    }
}

/// Replace every random choice in `fault` by a draw from `rng`.
pub fn resolve(fault: &Fault, n: u32, rng: &mut Stream) -> Fault {
    let mut f = fault.clone();
    if let Some(t) = f.target_mut().filter(|t| **t == Target::Random) {
        *t = Target::Node(rng.below(n as u64) as u32);
    }
    match &mut f {
        Fault::PartitionHalves { side, .. } if side.is_none() => {
            let order = shuffled(n, rng);
            let size = 1 + rng.below(((n - 1) / 2).max(1) as u64) as usize;
            let chosen = sorted(order[..size.min(order.len())].to_vec());
            debug_assert!(
                !chosen.is_empty() && (n < 2 || chosen.len() < n as usize),
                "a side of at least one node, not all"
            );
            *side = Some(chosen);
        }
        Fault::PartitionBridge { a, b, bridge, .. }
            if a.is_none() || b.is_none() || bridge.is_none() =>
        {
            let order = shuffled(n, rng);
            let rest = &order[1..];
            let half = rest.len() / 2;
            *bridge = Some(order[0]);
            *a = Some(sorted(rest[..half].to_vec()));
            *b = Some(sorted(rest[half..].to_vec()));
            debug_assert_eq!(
                rest.len() + 1,
                n as usize,
                "a bridge layout covers every node"
            );
        }
        Fault::PartitionOneWay { from, to, .. } if from.is_none() || to.is_none() => {
            let order = shuffled(n, rng);
            let cut = 1 + rng.below((n as u64 - 1).max(1)) as usize;
            *from = Some(sorted(order[..cut.min(order.len())].to_vec()));
            *to = Some(sorted(order[cut.min(order.len())..].to_vec()));
            debug_assert!(
                n < 2 || cut < n as usize,
                "a one-way cut leaves both sides nodes"
            );
        }
        Fault::PartitionRing { ring, .. } if ring.is_none() => *ring = Some(shuffled(n, rng)),
        _ => {}
    }
    f
}

/// A uniformly random permutation of `0..n` (Fisher–Yates over `below`).
fn shuffled(n: u32, rng: &mut Stream) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n).collect();
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
    debug_assert!(
        sorted(v.clone()).into_iter().eq(0..n),
        "a shuffle is a permutation of 0..{n}"
    );
    v
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    fn plan(config: &NemesisConfig) -> Plan<'_> {
        Plan {
            config,
            swarm: None,
            target_count: 5,
            safety_ms: 60_000,
        }
    }

    #[test]
    fn random_schedule_is_sorted_resolved_and_in_range() {
        let config = NemesisConfig {
            random: true,
            interval_ms: 500,
            ..Default::default()
        };
        let mut rng = Stream::new(11, Purpose::Faults);
        let s = build_schedule(&plan(&config), &mut rng);
        // Poisson with mean 120 faults.
        assert!((60..200).contains(&s.len()), "{} faults", s.len());
        assert!(s.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        for f in &s {
            assert!(f.at_ms < 60_000);
            assert_ne!(f.fault.target(), Some(Target::Random));
            assert!(f.fault.named_nodes().iter().all(|&i| i < 5), "{f:?}");
            match &f.fault {
                Fault::PartitionHalves {
                    side: Some(side), ..
                } => assert!((1..=2).contains(&side.len())),
                Fault::PartitionHalves { side: None, .. } => panic!("unresolved"),
                Fault::PartitionRing { ring: Some(r), .. } => {
                    assert_eq!(sorted(r.clone()), vec![0, 1, 2, 3, 4])
                }
                _ => {}
            }
        }
    }

    #[test]
    fn swarm_picks_subsets_that_differ_by_seed() {
        let config = NemesisConfig {
            random: true,
            swarm: true,
            ..Default::default()
        };
        let choices: Vec<SwarmChoice> = (0..20)
            .map(|seed| swarm_choice(&config, &mut Stream::new(seed, Purpose::Swarm)))
            .collect();
        assert!(
            choices
                .iter()
                .all(|c| !c.kinds.is_empty() && c.kinds.len() == c.weights.len())
        );
        assert!(choices.iter().any(|c| c.kinds.len() < FaultKind::ALL.len()));
        assert!(choices.windows(2).any(|w| w[0] != w[1]));
        let s = Plan {
            swarm: Some(&choices[0]),
            ..plan(&config)
        };
        let sched = build_schedule(&s, &mut Stream::new(1, Purpose::Faults));
        assert!(!sched.is_empty());
    }

    #[test]
    fn script_keeps_explicit_choices() {
        let config = NemesisConfig {
            script: vec![Scheduled {
                at_ms: 10,
                fault: Fault::Pause {
                    target: Target::Node(3),
                    duration_ms: 5,
                },
            }],
            ..Default::default()
        };
        let s = build_schedule(&plan(&config), &mut Stream::new(1, Purpose::Faults));
        assert_eq!(s, config.script);
    }
}
