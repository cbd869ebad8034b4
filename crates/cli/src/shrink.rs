//! `zabsim shrink`: minimize a failing seed. The run of (scenario, seed) must end in a
//! finding; shrink then looks for a smaller scenario that, with the same seed, still fails
//! *the same way* — the same verdict (safety, liveness or panic) and the same check name.
//! It turns the seed's fault schedule into an explicit `nemesis.script` (random and swarm
//! off), delta-debugs the script (ddmin), then lowers the workload, the cluster, loss rates,
//! the safety phase and each fault's duration, repeating until a round changes nothing.
//! The result is written as a loadable JSON run file (`shrunk.json`: the seed and the
//! scenario, so `replay --scenario shrunk.json` needs no `--seed`) and verified by
//! loading the written file back and re-running it; the `REPRO:` line names that file.
//!
//! Invariants: every candidate is one whole run, and at most `--runs-max` candidates run;
//! a candidate is kept only when it fails with the wanted signature, so the kept scenario
//! always reproduces the finding; shrinking is a pure function of (scenario, seed, budget)
//! — no threads, no wall clock — so two shrinks write identical files; never a panic (a
//! panic inside a candidate run is caught: it is that candidate's outcome).

use crate::ScenarioArgs;
use crate::output::write_atomic;
use crate::runcmd::{load, repro_line};
use crate::seed;
use kernel::dist::Probability;
use kernel::fault::{Fault, Scheduled, Target};
use kernel::observe::Verdict;
use proto::NS_PER_MS;
use sim::scenario::{self, Loaded, QueueWorkload, Scenario, WorkloadConfig};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Candidate runs when `--runs-max` is not given.
pub const RUNS_MAX_DEFAULT: u64 = 300;
/// `--runs-max` may not exceed this.
const RUNS_MAX_LIMIT: u64 = 1_000_000;
/// Rounds of all passes, at most (a round that changes nothing ends the shrink earlier).
const ROUNDS_MAX: u32 = 4;
/// Accepted steps of one numeric shrink, at most.
const STEPS_MAX: u32 = 64;
/// The file the shrunk scenario is written to, inside the output directory.
pub const SHRUNK_FILE: &str = "shrunk.json";

/// How a run failed: its verdict name and the check that broke (`panic` for a panic).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Signature {
    verdict: String,
    check: String,
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verdict.to_uppercase(), self.check)
    }
}

/// What one run showed: its failure (if any) and the figures of the summary.
#[derive(Clone, Debug)]
struct Trial {
    signature: Option<Signature>,
    /// The finding, budget or panic message; empty for a pass.
    detail: String,
    /// `pass`, `safety`, `liveness`, `budget` or `panic`.
    verdict: String,
    hash: u64,
    finding_ns: Option<u64>,
    schedule: Vec<Scheduled>,
    faults_applied: usize,
    events: u64,
    end_ns: u64,
}

impl Trial {
    fn of(r: &sim::run::RunReport) -> Trial {
        let o = &r.outcome;
        let finding = o.verdict.finding();
        Trial {
            signature: finding.map(|f| Signature {
                verdict: o.verdict.name().to_string(),
                check: f.check.clone(),
            }),
            detail: match &o.verdict {
                Verdict::Budget { budget, detail } => format!("{budget} budget: {detail}"),
                v => v.finding().map_or(String::new(), |f| f.to_string()),
            },
            verdict: o.verdict.name().to_string(),
            hash: o.trace_hash,
            finding_ns: finding.map(|f| f.at_ns),
            schedule: r.schedule.clone(),
            faults_applied: o.faults.len(),
            events: o.stats.events,
            end_ns: o.end_ns,
        }
    }

    fn panicked(message: String, schedule: Vec<Scheduled>) -> Trial {
        Trial {
            signature: Some(Signature {
                verdict: "panic".into(),
                check: "panic".into(),
            }),
            detail: message,
            verdict: "panic".into(),
            hash: 0,
            finding_ns: None,
            schedule,
            faults_applied: 0,
            events: 0,
            end_ns: 0,
        }
    }
}

/// Run `scenario` with `seed`; a panic inside the run is caught (silently: it is reported
/// as the trial's outcome). `Err` when the scenario cannot be resolved for the seed.
fn trial(scenario: &Scenario, origin: &str, seed: u64) -> Result<Trial, String> {
    let loaded = Loaded {
        scenario: scenario.clone(),
        origin: origin.to_string(),
    };
    let result = crate::hooks::with_quiet_panics(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            sim::run::run(&loaded, seed)
        }))
    });
    match result {
        Ok(Ok(r)) => Ok(Trial::of(&r)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => {
            let message = crate::fuzz::panic_message(panic.as_ref());
            // The schedule the run would have applied, for the explicit script.
            let schedule = sim::run::kernel_config(&loaded, seed)
                .map(|(k, _)| k.schedule)
                .unwrap_or_default();
            Ok(Trial::panicked(message, schedule))
        }
    }
}

/// The search state: the smallest scenario found so far that fails the wanted way.
struct Shrinker {
    origin: String,
    seed: u64,
    want: Signature,
    best: Scenario,
    best_trial: Trial,
    runs: u64,
    runs_max: u64,
    /// Every candidate already run (its `Debug` text), so none runs twice.
    tried: BTreeSet<String>,
}

impl Shrinker {
    fn exhausted(&self) -> bool {
        self.runs >= self.runs_max
    }

    /// Run `cand` unless it is invalid, already tried or over budget; keep it (and return
    /// true) when it fails with the wanted signature.
    fn attempt(&mut self, cand: Scenario) -> bool {
        if cand == self.best || scenario::validate(&cand).is_err() || self.exhausted() {
            return false;
        }
        if !self.tried.insert(format!("{cand:?}")) {
            return false;
        }
        self.runs += 1;
        let Ok(t) = trial(&cand, &self.origin, self.seed) else {
            return false;
        };
        if t.signature.as_ref() != Some(&self.want) {
            return false;
        }
        self.best = cand;
        self.best_trial = t;
        true
    }

    /// Step 2: the seed's schedule as an explicit script. If that does not fail the same
    /// way (random faults share the fault stream with the initial clock drifts, so the
    /// drifts change), keep the random nemesis and shrink the rest; later rounds try again
    /// (`announce` says so only the first time).
    fn make_explicit(&mut self, announce: bool) {
        let cand = explicit(&self.best, &self.best_trial.schedule);
        if cand == self.best {
            return;
        }
        let faults = cand.nemesis.script.len();
        if self.attempt(cand) {
            let want = &self.want;
            println!("shrink: the seed's {faults} faults as an explicit script: still {want}");
        } else if announce {
            println!(
                "shrink: the seed's {faults} faults as an explicit script do not fail the same \
                 way (the initial clock drifts are drawn after the random schedule); keeping \
                 the random nemesis and shrinking the other parameters (retried each round)"
            );
        }
    }

    fn progress(&self, what: &str, before: impl std::fmt::Display, after: impl std::fmt::Display) {
        println!(
            "shrink: {what} {before} → {after}  (run {}/{})",
            self.runs, self.runs_max
        );
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
            self.shrink_value("run.safety_ms", get_safety_ms, set_safety_ms, 1, 10);
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
            if self.best.nemesis.script.len() != faults {
                self.progress("faults", faults, self.best.nemesis.script.len());
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

    fn report_faults(&self, before: usize) {
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

/// `#i partition-halves at 979 ms`: a fault as progress lines name it.
fn describe(f: &Scheduled) -> String {
    let value = serde_json::to_value(&f.fault).unwrap_or_default();
    let kind = value["kind"].as_str().unwrap_or("fault");
    format!("{kind} at {} ms", f.at_ms)
}

fn get_safety_ms(s: &Scenario) -> Option<u64> {
    Some(s.run.safety_ms)
}

/// A shorter safety phase; scripted faults at or after its end are dropped.
fn set_safety_ms(s: &mut Scenario, safety_ms: u64) {
    s.run.safety_ms = safety_ms;
    s.nemesis.script.retain(|f| f.at_ms < safety_ms);
}

fn kv_clients(s: &Scenario) -> Option<u64> {
    match &s.workload {
        WorkloadConfig::Writes { clients, .. } => Some(*clients as u64),
        _ => None,
    }
}

fn set_kv_clients(s: &mut Scenario, v: u64) {
    if let WorkloadConfig::Writes { clients, .. } = &mut s.workload {
        *clients = v as u32;
    }
}

fn queue(s: &Scenario) -> Option<&QueueWorkload> {
    match &s.workload {
        WorkloadConfig::Writes { queue, .. } => queue.as_ref(),
        _ => None,
    }
}

fn queue_slot(s: &mut Scenario) -> Option<&mut Option<QueueWorkload>> {
    match &mut s.workload {
        WorkloadConfig::Writes { queue, .. } => Some(queue),
        _ => None,
    }
}

fn queue_mut(s: &mut Scenario, f: impl FnOnce(&mut QueueWorkload)) {
    if let Some(Some(q)) = queue_slot(s) {
        f(q)
    }
}

/// How long a fault lasts: its duration, or a crash's time until restart.
fn duration(f: &Fault) -> Option<u64> {
    match f {
        Fault::Crash {
            restart_after_ms, ..
        } => *restart_after_ms,
        other => other.duration_ms(),
    }
}

fn set_duration(f: &mut Fault, v: u64) {
    match f {
        Fault::Crash {
            restart_after_ms: Some(ms),
            ..
        }
        | Fault::Pause {
            duration_ms: ms, ..
        }
        | Fault::DiskSlow {
            duration_ms: ms, ..
        }
        | Fault::Loss {
            duration_ms: ms, ..
        }
        | Fault::PartitionHalves {
            duration_ms: ms, ..
        }
        | Fault::PartitionIsolate {
            duration_ms: ms, ..
        }
        | Fault::PartitionBridge {
            duration_ms: ms, ..
        }
        | Fault::PartitionOneWay {
            duration_ms: ms, ..
        }
        | Fault::PartitionRing {
            duration_ms: ms, ..
        } => *ms = v,
        _ => {}
    }
}

/// Resize the cluster to `servers` + `observers` fault targets. Node indices are servers
/// first, then observers; the kept ones are renumbered, faults naming removed nodes drop
/// them from their lists, and a fault left without a target or a usable layout goes.
fn resize_cluster(s: &mut Scenario, servers: u32, observers: u32) {
    let (old_servers, old_observers) = (s.cluster.servers, s.cluster.observers);
    assert!(
        servers <= old_servers && observers <= old_observers,
        "only shrinks"
    );
    let map = |i: u32| -> Option<u32> {
        if i < old_servers {
            (i < servers).then_some(i)
        } else {
            let j = i - old_servers;
            (j < observers).then_some(servers + j)
        }
    };
    let targets = servers + observers;
    s.cluster.servers = servers;
    s.cluster.observers = observers;
    let script = std::mem::take(&mut s.nemesis.script);
    s.nemesis.script = script
        .into_iter()
        .filter_map(|f| {
            let fault = remap(&f.fault, &map, targets)?;
            Some(Scheduled {
                at_ms: f.at_ms,
                fault,
            })
        })
        .collect();
}

/// `fault` with its node indices renumbered by `map`; `None` when it no longer applies.
fn remap(fault: &Fault, map: &impl Fn(u32) -> Option<u32>, targets: u32) -> Option<Fault> {
    let list = |v: &Option<Vec<u32>>| -> Option<Vec<u32>> {
        let kept: Vec<u32> = v.as_ref()?.iter().filter_map(|&i| map(i)).collect();
        (!kept.is_empty()).then_some(kept)
    };
    let mut f = fault.clone();
    if let Some(t) = f.target_mut()
        && let Target::Node(i) = *t
    {
        *t = Target::Node(map(i)?);
    }
    match &mut f {
        Fault::PartitionHalves { side, .. } => {
            let kept = list(side).filter(|k| (k.len() as u32) < targets)?;
            *side = Some(kept);
        }
        Fault::PartitionBridge { a, b, bridge, .. } => {
            (*a, *b) = (Some(list(a)?), Some(list(b)?));
            *bridge = Some(map((*bridge)?)?);
        }
        Fault::PartitionOneWay { from, to, .. } => {
            (*from, *to) = (Some(list(from)?), Some(list(to)?));
        }
        Fault::PartitionRing { ring, .. } => *ring = Some(list(ring)?),
        _ => {}
    }
    Some(f)
}

/// The scenario with the schedule `schedule` (what the seed drew) as its explicit script.
fn explicit(s: &Scenario, schedule: &[Scheduled]) -> Scenario {
    let mut e = s.clone();
    e.nemesis.script = schedule.to_vec();
    e.nemesis.random = false;
    e.nemesis.swarm = false;
    e
}

/// One line of the before/after summary.
fn figures(s: &Scenario, t: &Trial) -> String {
    format!(
        "faults {} ({} applied)  servers {}  observers {}  clients {}  safety {} ms  events {}  simulated {}",
        t.schedule.len(),
        t.faults_applied,
        s.cluster.servers,
        s.cluster.observers,
        s.workload.clients(),
        s.run.safety_ms,
        t.events,
        proto::Time(t.end_ns)
    )
}

/// Where the shrunk scenario goes when `--out` is not given.
fn default_out(args: &ScenarioArgs, seed: u64) -> PathBuf {
    let stem = args
        .scenario
        .as_deref()
        .and_then(|p| Path::new(p).file_stem())
        .map_or("default".to_string(), |s| s.to_string_lossy().into_owned());
    Path::new("reports").join(format!("shrink-{stem}-seed-{seed}"))
}

/// `zabsim shrink`. Returns the exit code: 1 the (shrunk) finding reproduces, 0 the seed
/// passes, 2 bad input or an unwritable output, 3 the seed is inconclusive or the written
/// scenario did not reproduce.
pub fn run(args: &ScenarioArgs, seed_flag: Option<&str>, runs_max: u64, out: Option<&str>) -> u8 {
    let recorded = crate::runcmd::recorded_seed(args);
    if seed_flag.is_none() && std::env::var_os("ZABSIM_SEED").is_none() && recorded.is_none() {
        return usage(
            "shrink needs the failing seed: --seed N (or ZABSIM_SEED, or a run directory's \
             scenario.json)",
        );
    }
    if runs_max > RUNS_MAX_LIMIT {
        return usage(&format!("--runs-max: at most {RUNS_MAX_LIMIT}"));
    }
    let seed = match seed::choose(seed_flag, recorded) {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    println!("seed: {seed} (0x{seed:x})");
    let loaded = match load(args) {
        Ok(l) => l,
        Err(e) => return usage(&e),
    };
    let first = match trial(&loaded.scenario, &loaded.origin, seed) {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    let Some(want) = first.signature.clone() else {
        return nothing_to_shrink(seed, &first);
    };
    println!(
        "shrink: {} seed {seed} fails: {}",
        loaded.origin, first.detail
    );
    let mut shrinker = Shrinker {
        origin: loaded.origin.clone(),
        seed,
        want,
        best: loaded.scenario.clone(),
        best_trial: first.clone(),
        runs: 0,
        runs_max,
        tried: BTreeSet::new(),
    };
    shrinker.make_explicit(true);
    shrinker.shrink_all();
    let dir = out.map_or_else(|| default_out(args, seed), PathBuf::from);
    finish(&shrinker, &loaded, &first, &dir)
}

fn usage(message: &str) -> u8 {
    eprintln!("error: {message}");
    2
}

fn nothing_to_shrink(seed: u64, t: &Trial) -> u8 {
    if t.verdict == "budget" {
        println!(
            "shrink: seed {seed} is inconclusive ({}); nothing to shrink",
            t.detail
        );
        return 3;
    }
    println!("shrink: seed {seed} passes; nothing to shrink");
    0
}

/// Name the scenario, write it, run the written file once more and print the summary.
fn finish(sh: &Shrinker, loaded: &Loaded, first: &Trial, dir: &Path) -> u8 {
    let shrunk = named(sh, loaded, first);
    let path = match write_scenario(dir, &shrunk, sh.seed) {
        Ok(p) => p,
        Err(e) => return usage(&e),
    };
    let file = path.to_string_lossy().into_owned();
    let check = scenario::load_file(&file, &[])
        .map_err(|e| e.to_string())
        .and_then(|l| trial(&l.scenario, &file, sh.seed));
    let verified = match check {
        Ok(t) if t.signature.as_ref() == Some(&sh.want) => t,
        Ok(t) => return not_reproduced(&file, &t.detail),
        Err(e) => return not_reproduced(&file, &e),
    };
    if verified.hash != sh.best_trial.hash {
        println!(
            "shrink: note: the written file ran with trace hash {:016x}, the shrunk scenario \
             in memory with {:016x} (it does not round-trip exactly; the file is what counts)",
            verified.hash, sh.best_trial.hash
        );
    }
    println!("before: {}", figures(&loaded.scenario, first));
    println!("after:  {}", figures(&shrunk, &verified));
    println!("runs: {} of at most {}", sh.runs, sh.runs_max);
    let verdict = verified.verdict.to_uppercase();
    println!("verdict: {verdict} — {}", verified.detail);
    println!("written: {file}");
    println!("trace hash: {:016x}", verified.hash);
    let repro = ScenarioArgs {
        scenario: Some(file),
        overrides: Vec::new(),
        bugs: Vec::new(),
    };
    println!("REPRO: {}", repro_line(&repro, sh.seed, verified.hash));
    1
}

/// The best scenario, named and described after what it was shrunk from.
fn named(sh: &Shrinker, loaded: &Loaded, first: &Trial) -> Scenario {
    let (from, mut to) = (&loaded.scenario, sh.best.clone());
    to.name = format!("{}-shrunk", from.name);
    to.description = format!(
        "`zabsim shrink` of {} seed {} ({}): faults {} → {}, clients {} → {}, servers {} → {}",
        loaded.origin,
        sh.seed,
        sh.want,
        first.schedule.len(),
        sh.best_trial.schedule.len(),
        from.workload.clients(),
        to.workload.clients(),
        from.cluster.servers,
        to.cluster.servers
    );
    to
}

fn not_reproduced(file: &str, what: &str) -> u8 {
    eprintln!("error: the written scenario {file} did not fail the same way: {what}");
    3
}

/// Write `s` as a run file (`{"seed": …, "scenario": …}`, the form `run --out` writes), so
/// `replay --scenario shrunk.json` replays the seed it was shrunk for without `--seed`.
fn write_scenario(dir: &Path, s: &Scenario, seed: u64) -> Result<PathBuf, String> {
    let file = serde_json::json!({ "seed": seed, "scenario": s });
    let mut text = serde_json::to_vec_pretty(&file).map_err(|e| format!("cannot encode: {e}"))?;
    text.push(b'\n');
    write_atomic(dir, SHRUNK_FILE, &text)
        .map_err(|e| format!("cannot write {}: {e}", dir.join(SHRUNK_FILE).display()))?;
    Ok(dir.join(SHRUNK_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halves(side: Vec<u32>) -> Fault {
        Fault::PartitionHalves {
            side: Some(side),
            duration_ms: 5,
        }
    }

    #[test]
    fn remap_drops_removed_nodes_and_faults_without_targets() {
        let map = |i: u32| (i < 3).then_some(i);
        assert_eq!(remap(&halves(vec![1, 4]), &map, 3), Some(halves(vec![1])));
        assert_eq!(remap(&halves(vec![3, 4]), &map, 3), None);
        assert_eq!(remap(&halves(vec![0, 1, 2]), &map, 3), None);
        let pause = |t| Fault::Pause {
            target: t,
            duration_ms: 1,
        };
        assert_eq!(remap(&pause(Target::Node(4)), &map, 3), None);
        assert_eq!(
            remap(&pause(Target::Leader), &map, 3),
            Some(pause(Target::Leader))
        );
    }

    #[test]
    fn durations_shrink_in_place() {
        let mut crash = Fault::Crash {
            target: Target::Node(0),
            restart_after_ms: Some(300),
            tear: false,
        };
        set_duration(&mut crash, 7);
        assert_eq!(duration(&crash), Some(7));
        let mut f = halves(vec![0]);
        set_duration(&mut f, 2);
        assert_eq!(duration(&f), Some(2));
    }
}
