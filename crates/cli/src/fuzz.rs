//! `zabsim fuzz`: many seeds of one scenario, each run single-threaded, `--jobs` of them at
//! once on plain threads. One JSON line per seed (seed, verdict, trace hash, figures) is
//! appended and flushed to `--results` as soon as the seed ends, so an interrupted sweep
//! loses nothing; a panic in one seed is caught and reported as a finding while the sweep
//! goes on; every finding prints its `REPRO:` line. Seeds are judged in seed order at the
//! end, so the summary and exit code do not depend on thread scheduling.

use crate::ScenarioArgs;
use crate::runcmd::{load, repro_line};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sim::scenario::Loaded;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Seeds in one sweep, at most.
const SEEDS_MAX: u64 = 100_000_000;

/// One seed's result line.
#[derive(Clone, Debug, Serialize)]
pub struct SeedResult {
    pub seed: u64,
    /// `pass`, `safety`, `liveness`, `budget` or `panic`.
    pub verdict: String,
    pub trace_hash: String,
    pub detail: Option<String>,
    pub events: u64,
    pub figures: Vec<(String, u64)>,
}

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
        },
        Ok(Err(e)) => SeedResult {
            seed,
            verdict: "input".into(),
            trace_hash: String::new(),
            detail: Some(e.to_string()),
            events: 0,
            figures: Vec::new(),
        },
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into());
            SeedResult {
                seed,
                verdict: "panic".into(),
                trace_hash: String::new(),
                detail: Some(message),
                events: 0,
                figures: Vec::new(),
            }
        }
    }
}

/// Run seeds `first .. first + count`. Returns the exit code.
pub fn run(args: &ScenarioArgs, first: u64, count: u64, jobs: usize, results: Option<&str>) -> u8 {
    if count == 0 || count > SEEDS_MAX {
        eprintln!("error: --seeds must be in 1..={SEEDS_MAX}");
        return 2;
    }
    let Some(last) = first.checked_add(count - 1) else {
        eprintln!("error: --seed-start + --seeds overflows u64");
        return 2;
    };
    let loaded = match load(args) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let sink = match results.map(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
    }) {
        Some(Ok(f)) => Some(Mutex::new(f)),
        Some(Err(e)) => {
            eprintln!(
                "error: cannot open results file {}: {e}",
                results.unwrap_or("")
            );
            return 2;
        }
        None => None,
    };
    println!(
        "fuzz: {} seeds {first}..={last} of {}, {jobs} jobs",
        count, loaded.origin
    );
    // Panics inside a seed are caught and reported; keep the default hook quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let bar = ProgressBar::new(count);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {per_sec} {msg}")
            .expect("valid template"),
    );
    let next = AtomicU64::new(first);
    let findings = AtomicU64::new(0);
    let done: Mutex<Vec<SeedResult>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed > last || seed < first {
                        break;
                    }
                    let r = run_seed(&loaded, seed);
                    if let Some(f) = &sink {
                        let mut line = serde_json::to_vec(&r).expect("results serialize");
                        line.push(b'\n');
                        let mut f = f.lock().expect("results lock");
                        let _ = f.write_all(&line).and_then(|_| f.flush());
                    }
                    if r.verdict != "pass" {
                        let n = findings.fetch_add(1, Ordering::Relaxed) + 1;
                        bar.set_message(format!("{n} findings"));
                    }
                    done.lock().expect("results lock").push(r);
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let _ = std::panic::take_hook();
    let mut done = done.into_inner().expect("results lock");
    done.sort_by_key(|r| r.seed);
    summarize(args, &done)
}

fn summarize(args: &ScenarioArgs, done: &[SeedResult]) -> u8 {
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    for r in done {
        *counts.entry(r.verdict.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("summary: {} seeds: {}", done.len(), counts.join(", "));
    for r in done.iter().filter(|r| r.verdict != "pass") {
        println!(
            "finding: seed {} {}: {}",
            r.seed,
            r.verdict,
            r.detail.as_deref().unwrap_or("")
        );
        let mut line = repro_line(
            args,
            r.seed,
            u64::from_str_radix(&r.trace_hash, 16).unwrap_or(0),
        );
        if r.trace_hash.is_empty() {
            // A panic has no trace hash to expect.
            line = line.replace(" --expect-hash 0000000000000000", "");
        }
        println!("REPRO: {line}");
    }
    let any = |v: &[&str]| done.iter().any(|r| v.contains(&r.verdict.as_str()));
    if any(&["input"]) {
        2
    } else if any(&["safety", "liveness", "panic"]) {
        1
    } else if any(&["budget"]) {
        3
    } else {
        0
    }
}
