//! `zabsim fuzz`: the edge of a sweep of many seeds of one scenario. `explore` plans the
//! seeds (the scenario's regression seeds from `regressions.txt` first, `--seeds N`, `--shard
//! I/N`, `--resume`) and runs and classifies each one; this module owns what is not
//! deterministic: `--jobs` plain threads each running whole seeds, the `--time` deadline on the
//! wall clock, SIGINT/SIGTERM (interrupt.rs: stop starting seeds, exit 130/143 after the
//! summary so far), the progress bar (progress.rs), the results file (one JSON line per seed,
//! appended and flushed as soon as the seed ends, so an interrupted sweep loses nothing), the
//! printing and the exit code. A panic in one seed is reported as a finding while the sweep
//! goes on (the panic hook stays quiet meanwhile); every finding prints its `REPRO:` line.
//! Seeds are judged in seed order at the end, so the summary and exit code do not depend on
//! thread scheduling.

mod interrupt;
mod progress;

use crate::ScenarioArgs;
use crate::runcmd::{load, repro_line};
use explore::judge::{self, INPUT, PANIC, REGRESSION_MOVED};
use explore::merge::NONDETERMINISM;
use explore::plan::{Job, Plan, Shard, Spec};
use explore::regressions;
use indicatif::ProgressBar;
use proto::results::SeedResult;
use sim::scenario::Loaded;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// The plan of the sweep and the edge's reasons to end it early: the wall-clock deadline,
/// a finding with `--stop-on-finding`, a signal.
struct Source {
    plan: Plan,
    deadline: Option<Instant>,
    stopped: bool,
}

impl Source {
    /// The next seed to run.
    fn next(&mut self) -> Option<Job> {
        if self.stopped || interrupt::stopping() {
            return None;
        }
        let deadline = self.deadline;
        self.plan
            .next(|| deadline.is_some_and(|d| Instant::now() >= d))
    }
}

/// `60s`, `5m`, `1h`, `500ms` → a duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
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
        "ms" => return Ok(Duration::from_millis(n)),
        "s" | "" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => {
            return Err(format!(
                "--time: unknown unit `{unit}` in `{text}`; use ms, s, m or h"
            ));
        }
    };
    Ok(Duration::from_secs(secs))
}

/// The scenario's regression seeds from `regressions.txt` beside the scenario file (or
/// `scenarios/regressions.txt` for the built-in default). Their pinned hashes count only
/// when the sweep runs the scenario unmodified: a `--set` or `--bug` changes every run.
fn regression_jobs(args: &ScenarioArgs) -> Result<Vec<Job>, String> {
    let (dir, name) = match &args.scenario {
        Some(path) => {
            let p = std::path::Path::new(path);
            let dir = p.parent().map(|d| d.to_path_buf()).unwrap_or_default();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            (dir, name.unwrap_or_default())
        }
        None => ("scenarios".into(), "default.toml".to_string()),
    };
    let list = regressions::read(&dir.join(regressions::FILE))?;
    let comparable = args.all_overrides().is_empty();
    let jobs = regressions::of_scenario(&list, &name)
        .iter()
        .map(|r| Job::regression(r, comparable))
        .collect();
    Ok(jobs)
}

fn source(args: &ScenarioArgs, opts: &Options) -> Result<Source, String> {
    let shard = match opts.shard {
        Some(s) => Shard::parse(s, |var| std::env::var(var).ok())?,
        None => Shard::WHOLE,
    };
    let deadline = match opts.time {
        Some(t) => Some(Instant::now() + parse_duration(t)?),
        None => None,
    };
    let spec = Spec {
        first: opts.first,
        seeds: opts.seeds,
        timed: deadline.is_some(),
        shard,
    };
    let mut plan = Plan::new(spec)?;
    if opts.regressions && shard.runs_regressions() {
        plan.replay_first(regression_jobs(args)?);
    }
    Ok(Source {
        plan,
        deadline,
        stopped: false,
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
        let label = judge::scenario_label(&loaded, &args.overrides, &args.bugs);
        let previous = match opts.results.filter(|_| opts.resume) {
            Some(path) => resume(path, &label)?,
            None => Vec::new(),
        };
        source.plan.skip(explore::resume::judged(&previous));
        let sink = opts.results.map(open_results).transpose()?;
        interrupt::watch()?;
        describe(&source.plan, opts, &loaded.origin, previous.len());
        let bar = progress::bar(source.plan.left(), source.deadline);
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
            let Some(job) = next else {
                break;
            };
            let r = self.judge(&job);
            self.write(&r);
            if r.verdict != "pass" {
                self.found();
            }
            self.done.lock().expect("results lock").push(r);
            self.bar.inc(1);
        }
    }

    /// Run one seed: its result line.
    fn judge(&self, job: &Job) -> SeedResult {
        let mut r = judge::run(&self.loaded, job);
        r.scenario = Some(self.label.clone());
        if r.verdict != "pass" && r.verdict != INPUT {
            r.repro = Some(repro(self.args, &r, job));
        }
        r
    }

    /// Append the result's line in one write, so that the file only ever holds whole lines.
    fn write(&self, r: &SeedResult) {
        if let Some(f) = &self.sink {
            let line = explore::results::line(r);
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
        let skipped = self.source.into_inner().expect("source").plan.skipped();
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

fn describe(plan: &Plan, opts: &Options, origin: &str, previous: usize) {
    let what = match (plan.count(), opts.time) {
        (Some(n), Some(t)) => format!("up to {n} seeds or {t}"),
        (Some(n), None) => format!("{n} seeds"),
        (None, Some(t)) => format!("seeds for {t}"),
        (None, None) => unreachable!("a count or a deadline"),
    };
    let shard = plan.shard();
    let shard = if shard.count > 1 {
        format!(" (shard {}/{})", shard.index, shard.count)
    } else {
        String::new()
    };
    println!(
        "fuzz: {what} from {}{shard} of {origin}, {} jobs, {} regression seeds first",
        plan.first(),
        opts.jobs,
        plan.regressions_planned()
    );
    if let (true, Some(path)) = (opts.resume, opts.results) {
        println!("resume: {previous} results already in {path}; their seeds are not run again");
    }
}

/// The REPRO line of a seed's result: a moved regression seed's expects its pinned hash (the
/// replay then shows the mismatch); a panic has no trace hash to expect.
fn repro(args: &ScenarioArgs, r: &SeedResult, job: &Job) -> String {
    let moved = job
        .pinned
        .as_ref()
        .filter(|_| r.verdict == REGRESSION_MOVED);
    let hash = moved
        .map(|p| p.hash)
        .or_else(|| u64::from_str_radix(&r.trace_hash, 16).ok());
    match hash {
        Some(hash) => repro_line(args, r.seed, hash),
        None => repro_line(args, r.seed, 0).replace(" --expect-hash 0000000000000000", ""),
    }
}

/// The results a stopped sweep already wrote to `path`, saying so when a kill left a partial
/// last line (dropped from the file).
fn resume(path: &str, label: &str) -> Result<Vec<SeedResult>, String> {
    let previous = explore::resume::read(path, label)?;
    if previous.partial > 0 {
        eprintln!(
            "resume: {path} ended with a partial line ({} bytes, cut by a kill mid-write); \
             dropped it",
            previous.partial
        );
    }
    Ok(previous.results)
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
    if any(&[INPUT]) {
        2
    } else if any(&[
        "safety",
        "liveness",
        PANIC,
        NONDETERMINISM,
        REGRESSION_MOVED,
    ]) {
        1
    } else if any(&["budget"]) {
        3
    } else {
        0
    }
}
