//! `zabsim shrink`: minimize a failing seed with `explore::shrink` (the seed's fault schedule
//! as an explicit script, delta-debugged, then the workload, the cluster, the rates, the
//! safety phase and the fault durations, while the same check keeps failing). This module is
//! the edge: it picks the seed, loads the scenario, runs the candidates with the panic hook
//! quiet (a panicking candidate is that candidate's outcome), prints the shrink's progress,
//! writes the result as a loadable JSON run file (`shrunk.json`: the seed and the scenario,
//! so `replay --scenario shrunk.json` needs no `--seed`), verifies it by loading the written
//! file back and re-running it, and prints the summary and the `REPRO:` line naming that file.

use crate::ScenarioArgs;
use crate::output::write_atomic;
use crate::runcmd::{load, repro_line};
use crate::seed;
use explore::shrink::{Runner, Shrinker, Trial};
use sim::scenario::{self, Loaded, Scenario};
use std::path::{Path, PathBuf};

/// Candidate runs when `--runs-max` is not given.
pub const RUNS_MAX_DEFAULT: u64 = 300;
/// `--runs-max` may not exceed this.
const RUNS_MAX_LIMIT: u64 = 1_000_000;
/// The file the shrunk scenario is written to, inside the output directory.
pub const SHRUNK_FILE: &str = "shrunk.json";

/// Run `scenario` (from `origin`) with `seed`, the panic hook quiet: a panic inside the run
/// is reported as the trial's outcome.
fn trial(scenario: &Scenario, origin: &str, seed: u64) -> Result<Trial, String> {
    crate::hooks::with_quiet_panics(|| explore::shrink::trial(scenario, origin, seed))
}

/// The shrink's candidates run here, its progress printed.
struct Candidates<'a> {
    origin: &'a str,
    seed: u64,
}

impl Runner for Candidates<'_> {
    fn run(&mut self, candidate: &Scenario) -> Result<Trial, String> {
        trial(candidate, self.origin, self.seed)
    }

    fn progress(&mut self, line: &str) {
        println!("{line}");
    }
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
    let candidates = Candidates {
        origin: &loaded.origin,
        seed,
    };
    let scenario = loaded.scenario.clone();
    let mut shrinker = Shrinker::new(want, scenario, first.clone(), runs_max, candidates);
    shrinker.shrink();
    let dir = out.map_or_else(|| default_out(args, seed), PathBuf::from);
    finish(&shrinker, &loaded, seed, &first, &dir)
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
fn finish(sh: &Shrinker<Candidates>, loaded: &Loaded, seed: u64, first: &Trial, dir: &Path) -> u8 {
    let shrunk = sh.named(&loaded.scenario, &loaded.origin, seed, first);
    let path = match write_scenario(dir, &shrunk, seed) {
        Ok(p) => p,
        Err(e) => return usage(&e),
    };
    let file = path.to_string_lossy().into_owned();
    let check = scenario::load_file(&file, &[])
        .map_err(|e| e.to_string())
        .and_then(|l| trial(&l.scenario, &file, seed));
    let verified = match check {
        Ok(t) if t.signature.as_ref() == Some(sh.want()) => t,
        Ok(t) => return not_reproduced(&file, &t.detail),
        Err(e) => return not_reproduced(&file, &e),
    };
    let best_hash = sh.best_trial().hash;
    if verified.hash != best_hash {
        println!(
            "shrink: note: the written file ran with trace hash {:016x}, the shrunk scenario \
             in memory with {:016x} (it does not round-trip exactly; the file is what counts)",
            verified.hash, best_hash
        );
    }
    println!("before: {}", figures(&loaded.scenario, first));
    println!("after:  {}", figures(&shrunk, &verified));
    println!("runs: {} of at most {}", sh.runs(), sh.runs_max());
    let verdict = verified.verdict.to_uppercase();
    println!("verdict: {verdict} — {}", verified.detail);
    println!("written: {file}");
    println!("trace hash: {:016x}", verified.hash);
    let repro = ScenarioArgs {
        scenario: Some(file),
        overrides: Vec::new(),
        bugs: Vec::new(),
    };
    println!("REPRO: {}", repro_line(&repro, seed, verified.hash));
    1
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
