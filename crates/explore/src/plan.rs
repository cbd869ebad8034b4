//! A sweep's plan: which seeds run, in what order. The scenario's regression seeds first
//! (in shard 0 only, so a sharded sweep replays them once), then this shard's share of
//! `first, first + 1, …` — the seeds whose offset from `first` is I mod N — until the seed
//! count is reached or the caller says time is up; seeds a resumed sweep already judged are
//! skipped. The wall clock stays with the caller: a `--time` bound reaches the plan as the
//! `out_of_time` question asked before each new sweep seed (never before a regression seed).

use crate::regressions::Regression;
use std::collections::{BTreeSet, VecDeque};

/// Seeds in one sweep, at most.
pub const SEEDS_MAX: u64 = 100_000_000;
/// Seeds in a sweep given neither a count nor a time bound.
pub const SEEDS_DEFAULT: u64 = 100;
/// Where `auto/N` finds its shard index: a Kubernetes Indexed Job's, then a Slurm array's.
pub const SHARD_INDEX_VARS: [&str; 2] = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"];

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The whole sweep.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// `I/N`, or `auto/N` with I from the first of [`SHARD_INDEX_VARS`] that `env` knows.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let bad = || format!("--shard: `{text}` is not I/N with 0 <= I < N (or auto/N)");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let count: u64 = n.parse().map_err(|_| bad())?;
        let index: u64 = if i == "auto" {
            let var = SHARD_INDEX_VARS.iter().find_map(|v| env(v)).ok_or(
                "--shard auto/N: neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set",
            )?;
            var.parse()
                .map_err(|_| format!("--shard auto: index `{var}` is not a number"))?
        } else {
            i.parse().map_err(|_| bad())?
        };
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard replays the regression seeds (shard 0 does, once per sweep).
    pub fn runs_regressions(&self) -> bool {
        self.index == 0
    }
}

/// A seed's place in a sweep's results: regression seeds apart from swept ones.
pub type Key = (bool, u64);

/// The run a regression seed must replay: its pinned trace hash, and where it is pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pinned {
    pub hash: u64,
    pub at: String,
}

/// One seed to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub seed: u64,
    /// A seed from the regression list.
    pub regression: bool,
    /// For a regression seed of a sweep that runs its scenario unmodified (no `--set`, no
    /// `--bug`): the run it must replay. With overrides the hash is not comparable.
    pub pinned: Option<Pinned>,
}

impl Job {
    /// A seed of the sweep proper.
    pub fn swept(seed: u64) -> Job {
        Job {
            seed,
            regression: false,
            pinned: None,
        }
    }

    /// Regression seed `r`; its hash is checked only when `comparable`.
    pub fn regression(r: &Regression, comparable: bool) -> Job {
        Job {
            seed: r.seed,
            regression: true,
            pinned: comparable.then(|| Pinned {
                hash: r.hash,
                at: r.at.clone(),
            }),
        }
    }

    pub fn key(&self) -> Key {
        (self.regression, self.seed)
    }
}

/// What to sweep, as asked.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub first: u64,
    /// Seeds of this shard; [`SEEDS_DEFAULT`] when neither this nor `timed` is given.
    pub seeds: Option<u64>,
    /// Bounded by time: the caller's `out_of_time` ends the sweep.
    pub timed: bool,
    pub shard: Shard,
}

/// The seeds of a sweep, handed out one at a time.
#[derive(Debug)]
pub struct Plan {
    regressions: VecDeque<Job>,
    regressions_planned: usize,
    first: u64,
    shard: Shard,
    count: Option<u64>,
    next_k: u64,
    skip: BTreeSet<Key>,
    skipped: u64,
}

impl Plan {
    /// The plan of `spec`.
    pub fn new(spec: Spec) -> Result<Plan, String> {
        let count = match (spec.seeds, spec.timed) {
            (Some(n), _) if n == 0 || n > SEEDS_MAX => {
                return Err(format!("--seeds must be in 1..={SEEDS_MAX}"));
            }
            (Some(n), _) => Some(n),
            (None, true) => None,
            (None, false) => Some(SEEDS_DEFAULT),
        };
        Ok(Plan {
            regressions: VecDeque::new(),
            regressions_planned: 0,
            first: spec.first,
            shard: spec.shard,
            count,
            next_k: 0,
            skip: BTreeSet::new(),
            skipped: 0,
        })
    }

    /// Run `regressions` before the sweep's seeds (only a shard that runs them is given
    /// them), before the first seed is handed out.
    pub fn replay_first(&mut self, regressions: Vec<Job>) {
        assert!(
            regressions.is_empty() || self.shard.runs_regressions(),
            "regression seeds run in shard 0 only"
        );
        assert!(
            self.next_k == 0 && self.regressions.is_empty(),
            "before the sweep starts"
        );
        self.regressions_planned = regressions.len();
        self.regressions = regressions.into();
    }

    /// Skip the seeds of `judged` (the results a resumed sweep already has).
    pub fn skip(&mut self, judged: BTreeSet<Key>) {
        self.skip = judged;
    }

    /// The next seed to run; `None` when the sweep is done. `out_of_time` is asked before
    /// each sweep seed.
    pub fn next(&mut self, out_of_time: impl Fn() -> bool) -> Option<Job> {
        loop {
            let job = self.candidate(&out_of_time)?;
            if !self.skip.contains(&job.key()) {
                return Some(job);
            }
            self.skipped += 1;
        }
    }

    /// The next seed of the sweep, judged already or not.
    fn candidate(&mut self, out_of_time: &impl Fn() -> bool) -> Option<Job> {
        if let Some(job) = self.regressions.pop_front() {
            return Some(job);
        }
        if self.count.is_some_and(|c| self.next_k >= c) || out_of_time() {
            return None;
        }
        let offset = self
            .shard
            .index
            .checked_add(self.next_k.checked_mul(self.shard.count)?)?;
        self.next_k += 1;
        Some(Job::swept(self.first.checked_add(offset)?))
    }

    /// How many seeds are left to run, when the sweep has a count.
    pub fn left(&self) -> Option<u64> {
        let count = self.count?;
        let Shard { index, count: n } = self.shard;
        let in_sweep = |seed: u64| {
            seed.checked_sub(self.first)
                .is_some_and(|o| o % n == index && o / n < count)
        };
        let judged = self.skip.iter().filter(|&&(r, s)| !r && in_sweep(s));
        let regressions = self
            .regressions
            .iter()
            .filter(|j| !self.skip.contains(&j.key()));
        Some(count - judged.count() as u64 + regressions.count() as u64)
    }

    /// The sweep's seed count (`None`: bounded by time only).
    pub fn count(&self) -> Option<u64> {
        self.count
    }

    pub fn first(&self) -> u64 {
        self.first
    }

    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Regression seeds the plan started with.
    pub fn regressions_planned(&self) -> usize {
        self.regressions_planned
    }

    /// Seeds skipped so far because a resumed sweep had judged them.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn spec(first: u64, seeds: Option<u64>, shard: Shard) -> Spec {
        Spec {
            first,
            seeds,
            timed: false,
            shard,
        }
    }

    /// Every job of `plan` (never out of time), as (regression, seed).
    fn drain(plan: &mut Plan) -> Vec<Key> {
        std::iter::from_fn(|| plan.next(|| false))
            .map(|j| j.key())
            .collect()
    }

    #[test]
    fn shards_parse_from_text_or_the_job_index() {
        assert_eq!(
            Shard::parse("1/3", no_env),
            Ok(Shard { index: 1, count: 3 })
        );
        let slurm = |v: &str| (v == "SLURM_ARRAY_TASK_ID").then(|| "2".to_string());
        assert_eq!(
            Shard::parse("auto/4", slurm),
            Ok(Shard { index: 2, count: 4 })
        );
        let both = |v: &str| {
            Some(
                if v == "JOB_COMPLETION_INDEX" {
                    "0"
                } else {
                    "3"
                }
                .into(),
            )
        };
        assert_eq!(Shard::parse("auto/4", both).map(|s| s.index), Ok(0));
        for bad in ["3/3", "1-3", "x/2", "0/0", "1/"] {
            let e = Shard::parse(bad, no_env).unwrap_err();
            assert_eq!(
                e,
                format!("--shard: `{bad}` is not I/N with 0 <= I < N (or auto/N)")
            );
        }
        assert!(
            Shard::parse("auto/4", no_env)
                .unwrap_err()
                .contains("neither")
        );
        let seven = |_: &str| Some("seven".to_string());
        assert_eq!(
            Shard::parse("auto/4", seven),
            Err("--shard auto: index `seven` is not a number".into())
        );
        assert!(Shard::parse("auto/4", |_| Some("4".into())).is_err());
    }

    #[test]
    fn each_shard_gets_its_residue_and_together_they_cover_the_range() {
        let mut all = Vec::new();
        for index in 0..3 {
            let mut plan = Plan::new(spec(10, Some(3), Shard { index, count: 3 })).unwrap();
            let seeds: Vec<u64> = drain(&mut plan).iter().map(|k| k.1).collect();
            assert_eq!(seeds, [10 + index, 13 + index, 16 + index]);
            all.extend(seeds);
        }
        all.sort();
        assert_eq!(all, (10..19).collect::<Vec<u64>>());
    }

    #[test]
    fn regression_seeds_come_first_even_out_of_time() {
        let r = Job {
            seed: 158,
            regression: true,
            pinned: None,
        };
        let mut plan = Plan::new(spec(0, Some(2), Shard::WHOLE)).unwrap();
        plan.replay_first(vec![r.clone()]);
        assert_eq!(plan.regressions_planned(), 1);
        assert_eq!(plan.left(), Some(3));
        assert_eq!(plan.next(|| true), Some(r));
        assert_eq!(plan.next(|| true), None, "time is up for sweep seeds");
    }

    #[test]
    fn a_time_bound_sweep_runs_until_the_caller_says_stop() {
        let timed = Spec {
            timed: true,
            ..spec(5, None, Shard::WHOLE)
        };
        let mut plan = Plan::new(timed).unwrap();
        assert_eq!((plan.count(), plan.left()), (None, None));
        let asked = std::cell::Cell::new(0);
        let out_of_time = || {
            asked.set(asked.get() + 1);
            asked.get() > 4
        };
        let seeds: Vec<u64> = std::iter::from_fn(|| plan.next(out_of_time))
            .map(|j| j.seed)
            .collect();
        assert_eq!(seeds, [5, 6, 7, 8]);
        let untimed = Plan::new(spec(0, None, Shard::WHOLE)).unwrap();
        assert_eq!(untimed.count(), Some(SEEDS_DEFAULT));
    }

    #[test]
    fn seed_counts_are_bounded() {
        for n in [0, SEEDS_MAX + 1] {
            let e = Plan::new(spec(0, Some(n), Shard::WHOLE)).unwrap_err();
            assert_eq!(e, "--seeds must be in 1..=100000000");
        }
    }

    #[test]
    fn a_resumed_plan_skips_what_was_judged_and_counts_what_is_left() {
        let regression = |seed| Job {
            seed,
            regression: true,
            pinned: None,
        };
        let shard = Shard { index: 0, count: 2 };
        let jobs = vec![regression(7), regression(9)];
        let mut plan = Plan::new(spec(100, Some(4), shard)).unwrap();
        plan.replay_first(jobs);
        // Judged: regression seed 7, sweep seeds 102 and 104, and seeds of no concern here
        // (101 is shard 1's, 108 past the count, 9 only as a sweep seed).
        let judged = [
            (true, 7),
            (false, 102),
            (false, 104),
            (false, 101),
            (false, 108),
        ];
        plan.skip(judged.into_iter().chain([(false, 9)]).collect());
        assert_eq!(plan.left(), Some(4 - 2 + 1));
        assert_eq!(drain(&mut plan), [(true, 9), (false, 100), (false, 106)]);
        assert_eq!(plan.skipped(), 3);
    }

    #[test]
    fn the_end_of_the_seed_space_ends_the_sweep() {
        let mut plan = Plan::new(spec(u64::MAX - 1, Some(5), Shard::WHOLE)).unwrap();
        assert_eq!(drain(&mut plan), [(false, u64::MAX - 1), (false, u64::MAX)]);
    }
}
