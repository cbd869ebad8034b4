//! The shrink of a failing seed: the smallest scenario found that, with the same seed, still
//! fails *the same way* — the same verdict (safety, liveness or panic) and the same check
//! name. It turns the seed's fault schedule into an explicit `nemesis.script` (random and
//! swarm off), then, round after round until a round changes nothing: ends a safety phase
//! right after a safety finding, delta-debugs the script (ddmin: no faults, then halves,
//! quarters, … down to single faults), lowers the workload, the cluster, the loss rates, the
//! safety phase and each fault's duration (and un-tears crashes).
//!
//! Invariants: a candidate runs only when it validates, differs from the best so far and was
//! never run before, and at most `runs_max` run; it is kept only when it fails with the
//! wanted signature, so the kept scenario always reproduces the finding; the search is a
//! pure function of the [`Runner`]'s answers — no threads, no wall clock — so two shrinks of
//! one seed keep the same scenario.

mod edit;
mod trial;

pub use trial::{Signature, Trial, trial};

use edit::{
    describe, duration, explicit, kv_clients, queue, queue_mut, queue_slot, resize_cluster,
    safety_ms, set_duration, set_kv_clients, set_safety_ms,
};
use kernel::dist::Probability;
use kernel::fault::{Fault, Scheduled};
use proto::NS_PER_MS;
use sim::scenario::{self, QueueWorkload, Scenario};
use std::collections::BTreeSet;

/// Rounds of all passes, at most (a round that changes nothing ends the shrink earlier).
const ROUNDS_MAX: u32 = 4;
/// Accepted steps of one numeric shrink, at most.
const STEPS_MAX: u32 = 64;

/// What a shrink needs from its caller.
pub trait Runner {
    /// Run `candidate` with the shrink's seed (`Err`: it cannot be resolved for the seed).
    fn run(&mut self, candidate: &Scenario) -> Result<Trial, String>;
    /// A step the shrink took, as a line for the user.
    fn progress(&mut self, line: &str);
}

/// The search state: the smallest scenario found so far that fails the wanted way.
pub struct Shrinker<R: Runner> {
    want: Signature,
    best: Scenario,
    best_trial: Trial,
    runs: u64,
    runs_max: u64,
    /// Every candidate already run (its `Debug` text), so none runs twice.
    tried: BTreeSet<String>,
    runner: R,
}

impl<R: Runner> Shrinker<R> {
    /// A shrink of `scenario`, whose run `first` failed with signature `want`.
    pub fn new(
        want: Signature,
        scenario: Scenario,
        first: Trial,
        runs_max: u64,
        runner: R,
    ) -> Self {
        assert_eq!(
            first.signature.as_ref(),
            Some(&want),
            "the run to shrink fails"
        );
        Shrinker {
            want,
            best: scenario,
            best_trial: first,
            runs: 0,
            runs_max,
            tried: BTreeSet::new(),
            runner,
        }
    }

    /// The whole shrink: the schedule made explicit, then every pass.
    pub fn shrink(&mut self) {
        self.make_explicit(true);
        self.shrink_all();
    }

    /// The smallest scenario found.
    pub fn best(&self) -> &Scenario {
        &self.best
    }

    /// Its run.
    pub fn best_trial(&self) -> &Trial {
        &self.best_trial
    }

    pub fn want(&self) -> &Signature {
        &self.want
    }

    /// Candidates run.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    pub fn runs_max(&self) -> u64 {
        self.runs_max
    }

    /// The best scenario, named and described after `from` (loaded from `origin`, run with
    /// `seed` in `first`).
    pub fn named(&self, from: &Scenario, origin: &str, seed: u64, first: &Trial) -> Scenario {
        let mut to = self.best.clone();
        to.name = format!("{}-shrunk", from.name);
        to.description = format!(
            "`zabsim shrink` of {origin} seed {seed} ({}): faults {} → {}, clients {} → {}, \
             servers {} → {}",
            self.want,
            first.schedule.len(),
            self.best_trial.schedule.len(),
            from.workload.clients(),
            to.workload.clients(),
            from.cluster.servers,
            to.cluster.servers
        );
        to
    }

    fn exhausted(&self) -> bool {
        self.runs >= self.runs_max
    }

    /// The acceptance test. Run `cand` unless it is invalid, already tried or over budget;
    /// keep it (and return true) when it fails with the wanted signature.
    fn attempt(&mut self, cand: Scenario) -> bool {
        if cand == self.best || scenario::validate(&cand).is_err() || self.exhausted() {
            return false;
        }
        if !self.tried.insert(format!("{cand:?}")) {
            return false;
        }
        self.runs += 1;
        let Ok(t) = self.runner.run(&cand) else {
            return false;
        };
        if t.signature.as_ref() != Some(&self.want) {
            return false;
        }
        self.best = cand;
        self.best_trial = t;
        true
    }

    /// The seed's schedule as an explicit script. If that does not fail the same way
    /// (random faults share the fault stream with the initial clock drifts, so the drifts
    /// change), keep the random nemesis and shrink the rest; later rounds try again
    /// (`announce` says so only the first time).
    fn make_explicit(&mut self, announce: bool) {
        let cand = explicit(&self.best, &self.best_trial.schedule);
        if cand == self.best {
            return;
        }
        let faults = cand.nemesis.script.len();
        if self.attempt(cand) {
            let line = format!(
                "shrink: the seed's {faults} faults as an explicit script: still {}",
                self.want
            );
            self.runner.progress(&line);
        } else if announce {
            self.runner.progress(&format!(
                "shrink: the seed's {faults} faults as an explicit script do not fail the same \
                 way (the initial clock drifts are drawn after the random schedule); keeping \
                 the random nemesis and shrinking the other parameters (retried each round)"
            ));
        }
    }

    fn progress(
        &mut self,
        what: &str,
        before: impl std::fmt::Display,
        after: impl std::fmt::Display,
    ) {
        let line = format!(
            "shrink: {what} {before} → {after}  (run {}/{})",
            self.runs, self.runs_max
        );
        self.runner.progress(&line);
    }

    /// Every pass, round after round, until a round changes nothing or the budget is spent.
    fn shrink_all(&mut self) {
        for round in 0..ROUNDS_MAX {
            let start = self.best.clone();
            if round > 0 && self.best.nemesis.random {
                self.make_explicit(false);
            }
            self.cut_at_finding();
            self.ddmin_faults();
            self.shrink_workload();
            self.shrink_cluster();
            self.shrink_network();
            self.shrink_value("run.safety_ms", safety_ms, set_safety_ms, 1, 10);
            self.shrink_faults();
            if self.best == start || self.exhausted() {
                break;
            }
        }
    }

    /// A safety finding inside the safety phase: end the safety phase right after it, which
    /// drops the faults that never got to happen.
    fn cut_at_finding(&mut self) {
        let Some(at_ns) = self.best_trial.finding_ns else {
            return;
        };
        let cut_ms = at_ns / NS_PER_MS + 1;
        if self.want.verdict != "safety" || cut_ms >= self.best.run.safety_ms {
            return;
        }
        let (before, faults) = (self.best.run.safety_ms, self.best.nemesis.script.len());
        let mut cand = self.best.clone();
        set_safety_ms(&mut cand, cut_ms);
        if self.attempt(cand) {
            self.progress("run.safety_ms (cut at the finding)", before, cut_ms);
            let after = self.best.nemesis.script.len();
            if after != faults {
                self.progress("faults", faults, after);
            }
        }
    }

    /// Delta debugging over the fault script: try no faults at all, then remove halves,
    /// quarters, … down to single faults, keeping every removal that still fails.
    fn ddmin_faults(&mut self) {
        let before = self.best.nemesis.script.len();
        if before == 0 || self.try_script(Vec::new()) {
            self.report_faults(before);
            return;
        }
        let mut n = 2usize;
        while !self.exhausted() {
            let script = self.best.nemesis.script.clone();
            let len = script.len();
            assert!(len > 0, "an empty script was accepted above");
            let chunk = len.div_ceil(n);
            let removed = (0..n).any(|i| {
                let start = (i * chunk).min(len);
                let end = (start + chunk).min(len);
                start < end && self.try_script([&script[..start], &script[end..]].concat())
            });
            if removed {
                n = (n - 1).max(2);
            } else if n >= len {
                break;
            } else {
                n = (2 * n).min(len);
            }
        }
        self.report_faults(before);
    }

    fn try_script(&mut self, script: Vec<Scheduled>) -> bool {
        let mut cand = self.best.clone();
        cand.nemesis.script = script;
        self.attempt(cand)
    }

    fn report_faults(&mut self, before: usize) {
        let after = self.best.nemesis.script.len();
        if after != before {
            self.progress("faults", before, after);
        }
    }

    /// Lower a number of the scenario: from `min` upwards in halving steps (`min`, then
    /// half-way, a quarter of the way, …, until a step is below `unit`); repeat from every
    /// value that still fails. `get` is `None` where the number does not apply.
    fn shrink_value(
        &mut self,
        name: &str,
        get: impl Fn(&Scenario) -> Option<u64>,
        set: impl Fn(&mut Scenario, u64),
        min: u64,
        unit: u64,
    ) {
        assert!(unit > 0, "a shrink step needs a positive unit");
        let Some(start) = get(&self.best) else {
            return;
        };
        for _ in 0..STEPS_MAX {
            let Some(cur) = get(&self.best).filter(|&c| c > min) else {
                break;
            };
            if !self.lower_once(cur, min, unit, &set) {
                break;
            }
        }
        let end = get(&self.best).unwrap_or(start);
        if end != start {
            self.progress(name, start, end);
        }
    }

    fn lower_once(
        &mut self,
        cur: u64,
        min: u64,
        unit: u64,
        set: &impl Fn(&mut Scenario, u64),
    ) -> bool {
        assert!(cur > min);
        let mut delta = cur - min;
        loop {
            let mut cand = self.best.clone();
            set(&mut cand, cur - delta);
            if self.attempt(cand) {
                return true;
            }
            delta /= 2;
            if delta < unit || self.exhausted() {
                return false;
            }
        }
    }

    /// Fewer KV clients, a smaller (or no) queue workload, no consumer failures.
    fn shrink_workload(&mut self) {
        self.shrink_value("workload.clients", kv_clients, set_kv_clients, 0, 1);
        if kv_clients(&self.best).unwrap_or(0) > 0 && queue(&self.best).is_some() {
            let mut cand = self.best.clone();
            if let Some(q) = queue_slot(&mut cand) {
                *q = None;
            }
            if self.attempt(cand) {
                self.progress("workload.queue", "present", "removed");
            }
        }
        let q = |f: fn(&QueueWorkload) -> u64| move |s: &Scenario| queue(s).map(f);
        self.shrink_value(
            "workload.queue.producers",
            q(|q| q.producers as u64),
            |s, v| queue_mut(s, |q| q.producers = v as u32),
            1,
            1,
        );
        self.shrink_value(
            "workload.queue.consumers",
            q(|q| q.consumers as u64),
            |s, v| queue_mut(s, |q| q.consumers = v as u32),
            1,
            1,
        );
        self.shrink_value(
            "workload.queue.items",
            q(|q| q.items),
            |s, v| queue_mut(s, |q| q.items = v),
            1,
            1,
        );
        self.shrink_value(
            "workload.queue.consumer_failure (ppm)",
            q(|q| q.consumer_failure.ppm as u64),
            |s, v| queue_mut(s, |q| q.consumer_failure = Probability::from_ppm(v as u32)),
            0,
            1_000,
        );
    }

    /// Fewer servers and observers; faults naming a removed node lose it (or go).
    /// Skipped with per-link network overrides, whose process ids would shift.
    fn shrink_cluster(&mut self) {
        if !self.best.network.link.is_empty() {
            return;
        }
        self.shrink_value(
            "cluster.servers",
            |s| Some(s.cluster.servers as u64),
            |s, v| resize_cluster(s, v as u32, s.cluster.observers),
            1,
            1,
        );
        self.shrink_value(
            "cluster.observers",
            |s| Some(s.cluster.observers as u64),
            |s, v| resize_cluster(s, s.cluster.servers, v as u32),
            0,
            1,
        );
    }

    /// Lower loss, duplication and reordering rates and the initial clock drift.
    fn shrink_network(&mut self) {
        self.shrink_value(
            "network.loss (ppm)",
            |s| Some(s.network.loss.ppm as u64),
            |s, v| s.network.loss = Probability::from_ppm(v as u32),
            0,
            1_000,
        );
        self.shrink_value(
            "network.duplicate (ppm)",
            |s| Some(s.network.duplicate.ppm as u64),
            |s, v| s.network.duplicate = Probability::from_ppm(v as u32),
            0,
            1_000,
        );
        self.shrink_value(
            "network.reorder (ppm)",
            |s| Some(s.network.reorder.ppm as u64),
            |s, v| s.network.reorder = Probability::from_ppm(v as u32),
            0,
            1_000,
        );
        self.shrink_value(
            "clock.drift_ppm_max",
            |s| Some(s.clock.drift_ppm_max.unsigned_abs()),
            |s, v| s.clock.drift_ppm_max = v as i64,
            0,
            10,
        );
    }

    /// Per fault: a shorter duration (or earlier restart), and no torn crash.
    fn shrink_faults(&mut self) {
        for i in 0..self.best.nemesis.script.len() {
            if self.exhausted() {
                return;
            }
            let f = &self.best.nemesis.script[i];
            let field = match f.fault {
                Fault::Crash { .. } => "restart_after_ms",
                _ => "duration_ms",
            };
            let name = format!("fault {} {field}", describe(f));
            let get = move |s: &Scenario| s.nemesis.script.get(i).and_then(|f| duration(&f.fault));
            let set = move |s: &mut Scenario, v: u64| {
                if let Some(f) = s.nemesis.script.get_mut(i) {
                    set_duration(&mut f.fault, v);
                }
            };
            self.shrink_value(&name, get, set, 1, 10);
            let mut cand = self.best.clone();
            if let Some(Fault::Crash { tear, .. }) =
                cand.nemesis.script.get_mut(i).map(|f| &mut f.fault)
                && *tear
            {
                *tear = false;
                let name = format!("fault {} tear", describe(&cand.nemesis.script[i]));
                if self.attempt(cand) {
                    self.progress(&name, true, false);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
