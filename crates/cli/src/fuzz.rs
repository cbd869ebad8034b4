//! `zabsim fuzz`: many seeds of one scenario, each run single-threaded, `--jobs` of them at
//! once on plain threads. One JSON line per seed (seed, verdict, trace hash, figures) is
//! appended and flushed to `--results` as soon as the seed ends, so an interrupted sweep
//! loses nothing; a panic in one seed is caught and reported as a finding while the sweep
//! goes on; every finding prints its `REPRO:` line. The scenario's seeds from
//! `regressions.txt` run first; `--seeds N` and/or `--time 60s` bound the sweep; `--shard
//! I/N` runs one shard's seeds (offset ≡ I mod N). Seeds are judged in seed order at the end,
//! so the summary and exit code do not depend on thread scheduling.

use crate::ScenarioArgs;
use crate::runcmd::{load, repro_line};
use indicatif::{ProgressBar, ProgressStyle};
pub use proto::results::SeedResult;
use sim::scenario::Loaded;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
                sim::observe::Verdict::Pass => None,
                sim::observe::Verdict::Budget { budget, detail } => {
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
}

impl Source {
    /// The next seed and whether it is a regression seed.
    fn next(&mut self) -> Option<(u64, bool)> {
        if self.stopped {
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
}

/// `60s`, `5m`, `1h`, `500ms` → a duration.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("--time: `{text}` is not a duration like 60s, 5m or 1h"))?;
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
    if n == 0 {
        return Err("--time must be positive".into());
    }
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
    })
}

/// Run the sweep. Returns the exit code.
pub fn run(args: &ScenarioArgs, opts: &Options) -> u8 {
    let source = match source(args, opts) {
        Ok(s) => Mutex::new(s),
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let loaded = match load(args) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let sink = match opts.results.map(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
    }) {
        Some(Ok(f)) => Some(Mutex::new(f)),
        Some(Err(e)) => {
            eprintln!(
                "error: cannot open results file {}: {e}",
                opts.results.unwrap_or("")
            );
            return 2;
        }
        None => None,
    };
    describe(&source.lock().expect("source"), opts, &loaded.origin);
    let scenario_label = format!("{} ({})", loaded.scenario.name, loaded.origin);
    let bar = progress_bar(&source.lock().expect("source"));
    let findings = AtomicU64::new(0);
    let done: Mutex<Vec<SeedResult>> = Mutex::new(Vec::new());
    // Panics inside a seed are caught and reported: the hook stays quiet meanwhile.
    crate::hooks::with_quiet_panics(|| {
        std::thread::scope(|s| {
            for _ in 0..opts.jobs.max(1) {
                s.spawn(|| {
                    loop {
                        // Take the seed in its own statement: the lock must not be held while
                        // the seed runs (a finding locks it again to stop the sweep).
                        let next = source.lock().expect("source").next();
                        let Some((seed, regression)) = next else {
                            break;
                        };
                        let mut r = run_seed(&loaded, seed);
                        r.regression = regression;
                        r.scenario = Some(scenario_label.clone());
                        if r.verdict != "pass" && r.verdict != "input" {
                            r.repro = Some(repro(args, &r));
                        }
                        if let Some(f) = &sink {
                            let mut line = serde_json::to_vec(&r).expect("results serialize");
                            line.push(b'\n');
                            let mut f = f.lock().expect("results lock");
                            let _ = f.write_all(&line).and_then(|_| f.flush());
                        }
                        if r.verdict != "pass" {
                            let n = findings.fetch_add(1, Ordering::Relaxed) + 1;
                            bar.set_message(format!("{n} findings"));
                            if opts.stop_on_finding {
                                source.lock().expect("source").stopped = true;
                            }
                        }
                        done.lock().expect("results lock").push(r);
                        bar.inc(1);
                    }
                });
            }
        })
    });
    bar.finish_and_clear();
    let mut done = done.into_inner().expect("results lock");
    done.sort_by_key(|r| (!r.regression, r.seed));
    summarize(&done)
}

fn describe(src: &Source, opts: &Options, origin: &str) {
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
        opts.jobs.max(1),
        src.regressions.len()
    );
}

fn progress_bar(src: &Source) -> ProgressBar {
    let len = src.count.map(|c| c + src.regressions.len() as u64);
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {per_sec} {elapsed} {msg}")
            .expect("valid template"),
    );
    bar
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
