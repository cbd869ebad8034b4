//! `zabsim fuzz`: many seeds of one scenario, each run single-threaded, `--jobs` of them at
//! once on plain threads. One JSON line per seed (seed, verdict, trace hash, figures) is
//! appended and flushed to `--results` as soon as the seed ends, so an interrupted sweep
//! loses nothing; a panic in one seed is caught and reported as a finding while the sweep
//! goes on; every finding prints its `REPRO:` line. The scenario's seeds from
//! `regressions.txt` run first; `--seeds N` and/or `--time 60s` bound the sweep; `--shard
//! I/N` runs one shard's seeds (offset ≡ I mod N). Seeds are judged in seed order at the end,
//! so the summary and exit code do not depend on thread scheduling. `--resume` skips the
//! seeds already in the results file and appends the rest (resume.rs); SIGINT/SIGTERM stop
//! starting seeds and exit 130/143 after the summary so far (interrupt.rs).

mod interrupt;
mod progress;
mod resume;

use crate::ScenarioArgs;
use crate::runcmd::{load, repro_line};
use indicatif::ProgressBar;
pub use proto::results::SeedResult;
use sim::scenario::Loaded;
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Seeds in one sweep, at most.
const SEEDS_MAX: u64 = 100_000_000;

fn run_seed(loaded: &Loaded, seed: u64) -> SeedResult {
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim::run::run(loaded, seed)));
    match outcome {
        Ok(Ok(r)) => SeedResult {
            seed,
            verdict: r.outcome.verdict.name().to_string(),
            trace_hash: format!("{:016x}", r.outcome.trace_hash),
            detail: match &r.outcome.verdict {
                kernel::observe::Verdict::Pass => None,
                kernel::observe::Verdict::Budget { budget, detail } => {
                    Some(format!("{budget} budget: {detail}"))
                }
                v => v.finding().map(|f| f.to_string()),
            },
            events: r.outcome.stats.events,
            figures: r.figures,
            regression: false,
            repro: None,
            scenario: None,
        },
        Ok(Err(e)) => SeedResult {
            seed,
            verdict: "input".into(),
            trace_hash: String::new(),
            detail: Some(e.to_string()),
            events: 0,
            figures: Vec::new(),
            regression: false,
            repro: None,
            scenario: None,
        },
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            SeedResult {
                seed,
                verdict: "panic".into(),
                trace_hash: String::new(),
                detail: Some(message),
                events: 0,
                figures: Vec::new(),
                regression: false,
                repro: None,
                scenario: None,
            }
        }
    }
}

/// The text of a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".into())
}

/// What `zabsim fuzz` was asked to do.
pub struct Options<'a> {
    pub first: u64,
    pub seeds: Option<u64>,
    pub time: Option<&'a str>,
    pub shard: Option<&'a str>,
    pub stop_on_finding: bool,
    pub regressions: bool,
    pub jobs: usize,
    pub results: Option<&'a str>,
    /// Skip the seeds already in `results` and append the rest.
    pub resume: bool,
}

/// Seeds handed out to the worker threads: the regression seeds first, then this shard's
/// share of `first, first + 1, …` until the count or the deadline.
struct Source {
    regressions: std::collections::VecDeque<u64>,
    first: u64,
    shard: (u64, u64),
    next_k: u64,
    count: Option<u64>,
    deadline: Option<std::time::Instant>,
    stopped: bool,
    /// (regression, seed) of the results already judged (`--resume`): not run again.
    skip: BTreeSet<(bool, u64)>,
    skipped: u64,
}

impl Source {
    /// The next seed to run and whether it is a regression seed.
    fn next(&mut self) -> Option<(u64, bool)> {
        loop {
            let (seed, regression) = self.candidate()?;
            if !self.skip.contains(&(regression, seed)) {
                return Some((seed, regression));
            }
            self.skipped += 1;
        }
    }

    /// The next seed of the sweep, judged already or not.
    fn candidate(&mut self) -> Option<(u64, bool)> {
        if self.stopped || interrupt::stopping() {
            return None;
        }
        if let Some(seed) = self.regressions.pop_front() {
            return Some((seed, true));
        }
        if self.count.is_some_and(|c| self.next_k >= c)
            || self
                .deadline
                .is_some_and(|d| std::time::Instant::now() >= d)
        {
            return None;
        }
        let (i, n) = self.shard;
        let offset = i.checked_add(self.next_k.checked_mul(n)?)?;
        self.next_k += 1;
        Some((self.first.checked_add(offset)?, false))
    }

    /// How many seeds are left to run, when the sweep has a count.
    fn left(&self) -> Option<u64> {
        let count = self.count?;
        let (i, n) = self.shard;
        let in_sweep = |seed: u64| {
            seed.checked_sub(self.first)
                .is_some_and(|o| o % n == i && o / n < count)
        };
        let judged = self.skip.iter().filter(|&&(r, s)| !r && in_sweep(s));
        let regressions = self
            .regressions
            .iter()
            .filter(|&&s| !self.skip.contains(&(true, s)));
        Some(count - judged.count() as u64 + regressions.count() as u64)
    }
}

/// `60s`, `5m`, `1h`, `500ms` → a duration.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("--time: `{text}` is not a duration like 60s, 5m or 1h"))?;
    if n == 0 {
        return Err(format!("--time must be positive, not `{text}`"));
    }
    let secs = match unit {
        "ms" => return Ok(std::time::Duration::from_millis(n)),
        "s" | "" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => {
            return Err(format!(
                "--time: unknown unit `{unit}` in `{text}`; use ms, s, m or h"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(secs))
}

/// `I/N` or `auto/N` (I from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID).
pub fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--shard: `{text}` is not I/N with 0 <= I < N (or auto/N)");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let n: u64 = n.parse().map_err(|_| bad())?;
    let i: u64 = if i == "auto" {
        let var = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"]
            .iter()
            .find_map(|v| std::env::var(v).ok())
            .ok_or("--shard auto/N: neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set")?;
        var.parse()
            .map_err(|_| format!("--shard auto: index `{var}` is not a number"))?
    } else {
        i.parse().map_err(|_| bad())?
    };
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Regression seeds for this scenario from `regressions.txt` beside the scenario file (or
/// `scenarios/regressions.txt` for the built-in default).
fn regression_seeds(args: &ScenarioArgs) -> Vec<u64> {
    let (dir, name) = match &args.scenario {
        Some(path) => {
            let p = std::path::Path::new(path);
            let dir = p.parent().map(|d| d.to_path_buf()).unwrap_or_default();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            (dir, name.unwrap_or_default())
        }
        None => ("scenarios".into(), "default.toml".to_string()),
    };
    let Ok(text) = std::fs::read_to_string(dir.join("regressions.txt")) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next()? == name).then(|| parts.next()?.parse().ok())?
        })
        .collect()
}

fn source(args: &ScenarioArgs, opts: &Options) -> Result<Source, String> {
    let shard = match opts.shard {
        Some(s) => parse_shard(s)?,
        None => (0, 1),
    };
    let deadline = match opts.time {
        Some(t) => Some(std::time::Instant::now() + parse_duration(t)?),
        None => None,
    };
    let count = match (opts.seeds, deadline) {
        (Some(n), _) if n == 0 || n > SEEDS_MAX => {
            return Err(format!("--seeds must be in 1..={SEEDS_MAX}"));
        }
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) => Some(100),
    };
    let regressions = if opts.regressions && shard.0 == 0 {
        regression_seeds(args).into_iter().collect()
    } else {
        Default::default()
    };
    Ok(Source {
        regressions,
        first: opts.first,
        shard,
        next_k: 0,
        count,
        deadline,
        stopped: false,
        skip: BTreeSet::new(),
        skipped: 0,
    })
}

/// Flags that leave nothing to do, or that need another.
fn check(opts: &Options) -> Result<(), String> {
    if opts.jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    if opts.resume && opts.results.is_none() {
        return Err("--resume needs --results FILE, the results file to resume".into());
    }
    Ok(())
}

/// Open the results file for appending.
fn open_results(path: &str) -> Result<Mutex<std::fs::File>, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(Mutex::new)
        .map_err(|e| format!("cannot open results file {path}: {e}"))
}

/// A sweep under way: what the worker threads share.
struct Sweep<'a> {
    args: &'a ScenarioArgs,
    opts: &'a Options<'a>,
    source: Mutex<Source>,
    loaded: Loaded,
    /// The scenario as each result line names it: `name (origin)`, then any `--set` and
    /// `--bug` (a resumed sweep must be the same sweep, overrides included).
    label: String,
    sink: Option<Mutex<std::fs::File>>,
    /// The results already in the file (`--resume`).
    previous: Vec<SeedResult>,
    bar: ProgressBar,
    findings: AtomicU64,
    done: Mutex<Vec<SeedResult>>,
}

/// Run the sweep. Returns the exit code.
pub fn run(args: &ScenarioArgs, opts: &Options) -> u8 {
    let sweep = match Sweep::prepare(args, opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // Panics inside a seed are caught and reported: the hook stays quiet meanwhile.
    crate::hooks::with_quiet_panics(|| {
        std::thread::scope(|s| {
            for _ in 0..opts.jobs {
                s.spawn(|| sweep.work());
            }
        })
    });
    sweep.finish()
}

impl<'a> Sweep<'a> {
    /// Check the flags, load the scenario, read the results to resume, open the results file.
    fn prepare(args: &'a ScenarioArgs, opts: &'a Options<'a>) -> Result<Self, String> {
        check(opts)?;
        let mut source = source(args, opts)?;
        let loaded = load(args)?;
        let label = scenario_label(&loaded, args);
        let previous = match opts.results.filter(|_| opts.resume) {
            Some(path) => resume::read(path, &label)?,
            None => Vec::new(),
        };
        source.skip = resume::judged(&previous);
        let sink = opts.results.map(open_results).transpose()?;
        interrupt::watch()?;
        describe(&source, opts, &loaded.origin, previous.len());
        let bar = progress::bar(source.left(), source.deadline);
        Ok(Sweep {
            args,
            opts,
            source: Mutex::new(source),
            loaded,
            label,
            sink,
            previous,
            bar,
            findings: AtomicU64::new(0),
            done: Mutex::new(Vec::new()),
        })
    }

    /// One worker thread: run seeds until the source has none left.
    fn work(&self) {
        loop {
            // Take the seed in its own statement: the lock must not be held while the seed
            // runs (a finding locks it again to stop the sweep).
            let next = self.source.lock().expect("source").next();
            let Some((seed, regression)) = next else {
                break;
            };
            let r = self.judge(seed, regression);
            self.write(&r);
            if r.verdict != "pass" {
                self.found();
            }
            self.done.lock().expect("results lock").push(r);
            self.bar.inc(1);
        }
    }

    /// Run one seed: its result line.
    fn judge(&self, seed: u64, regression: bool) -> SeedResult {
        let mut r = run_seed(&self.loaded, seed);
        r.regression = regression;
        r.scenario = Some(self.label.clone());
        if r.verdict != "pass" && r.verdict != "input" {
            r.repro = Some(repro(self.args, &r));
        }
        r
    }

    /// Append the result's line in one write, so that the file only ever holds whole lines.
    fn write(&self, r: &SeedResult) {
        if let Some(f) = &self.sink {
            let mut line = serde_json::to_vec(r).expect("results serialize");
            line.push(b'\n');
            let mut f = f.lock().expect("results lock");
            let _ = f.write_all(&line).and_then(|_| f.flush());
        }
    }

    fn found(&self) {
        let n = self.findings.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.set_message(format!("{n} findings"));
        if self.opts.stop_on_finding {
            self.source.lock().expect("source").stopped = true;
        }
    }

    /// The summary of the whole sweep (with `--resume`, the results read too); the exit code.
    fn finish(self) -> u8 {
        self.bar.finish_and_clear();
        let skipped = self.source.into_inner().expect("source").skipped;
        let done = self.done.into_inner().expect("results lock");
        if let (true, Some(path)) = (self.opts.resume, self.opts.results) {
            println!("resume: {skipped} seeds skipped, already judged in {path}");
        }
        let stopped = interrupt::stopped_by();
        if let Some((_, name)) = stopped {
            let hint = match self.opts.results {
                Some(_) => "; add --resume to the same command to finish the sweep",
                None => "",
            };
            println!(
                "fuzz: stopped by {name} after {} new seeds{hint}",
                done.len()
            );
        }
        let mut all = self.previous;
        all.extend(done);
        all.sort_by_key(|r| (!r.regression, r.seed));
        let code = summarize(&all);
        stopped.map_or(code, |(c, _)| c)
    }
}

fn describe(src: &Source, opts: &Options, origin: &str, previous: usize) {
    let what = match (src.count, opts.time) {
        (Some(n), Some(t)) => format!("up to {n} seeds or {t}"),
        (Some(n), None) => format!("{n} seeds"),
        (None, Some(t)) => format!("seeds for {t}"),
        (None, None) => unreachable!("a count or a deadline"),
    };
    let shard = if src.shard.1 > 1 {
        format!(" (shard {}/{})", src.shard.0, src.shard.1)
    } else {
        String::new()
    };
    println!(
        "fuzz: {what} from {}{shard} of {origin}, {} jobs, {} regression seeds first",
        src.first,
        opts.jobs,
        src.regressions.len()
    );
    if let (true, Some(path)) = (opts.resume, opts.results) {
        println!("resume: {previous} results already in {path}; their seeds are not run again");
    }
}

/// The REPRO line of a seed's result (a panic has no trace hash to expect).
fn repro(args: &ScenarioArgs, r: &SeedResult) -> String {
    match u64::from_str_radix(&r.trace_hash, 16) {
        Ok(hash) => repro_line(args, r.seed, hash),
        Err(_) => repro_line(args, r.seed, 0).replace(" --expect-hash 0000000000000000", ""),
    }
}

/// Print the summary, each finding and its REPRO line; the exit code of the set.
pub fn summarize(done: &[SeedResult]) -> u8 {
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    for r in done {
        *counts.entry(r.verdict.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let regressions = done.iter().filter(|r| r.regression).count();
    println!(
        "summary: {} seeds ({regressions} regression): {}",
        done.len(),
        counts.join(", ")
    );
    for r in done.iter().filter(|r| r.verdict != "pass") {
        println!(
            "finding: seed {} {}: {}",
            r.seed,
            r.verdict,
            r.detail.as_deref().unwrap_or("")
        );
        if let Some(line) = &r.repro {
            println!("REPRO: {line}");
        }
    }
    let any = |v: &[&str]| done.iter().any(|r| v.contains(&r.verdict.as_str()));
    if any(&["input"]) {
        2
    } else if any(&["safety", "liveness", "panic", "nondeterminism"]) {
        1
    } else if any(&["budget"]) {
        3
    } else {
        0
    }
}

/// `name (origin)` and the overrides that change what runs: `ci (scenarios/ci.toml) --set
/// network.loss=0.1 --bug zk-1154`.
fn scenario_label(loaded: &Loaded, args: &ScenarioArgs) -> String {
    let mut label = format!("{} ({})", loaded.scenario.name, loaded.origin);
    for o in &args.overrides {
        label += &format!(" --set {o}");
    }
    for b in &args.bugs {
        label += &format!(" --bug {b}");
    }
    label
}
