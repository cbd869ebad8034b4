//! `zabsim bench`: the performance figures, as rates (DESIGN.md §8). Kernel: events per
//! wall-second on one core for a message-heavy relay load over 10 … 10,000 processes (the
//! cost per event must stay flat), bytes of memory per pending event, and the linearizability
//! checker's time on Porcupine's histories.

use sim::scenario;
use std::time::Instant;

use kernel::probe::{
    RELAY_BENCH_SCENARIO as RELAY_SCENARIO, RELAY_BENCH_TOKENS_TOTAL as TOKENS_TOTAL,
};

const ENSEMBLE_SCENARIO: &str = r#"
version = 1
name = "bench-ensemble"
[cluster]
servers = 5
[run]
safety_ms = 4_000
liveness_ms = 1_000
[network]
latency = { dist = "lognormal", median_us = 500, sigma = 0.3 }
[disk]
fsync = { dist = "uniform", min_us = 200, max_us = 1_000 }
[workload]
kind = "writes"
clients = 50
interval_ms = 1
outstanding_max = 64
"#;

/// The sections' names for `bench --only`, in the order they run.
pub const SECTIONS: [&str; 6] = ["history", "kernel", "ensemble", "ci", "checker", "bugs"];

/// Run the sections named in `only` (all when empty), in [`SECTIONS`] order.
pub fn run(quick: u32, only: &[String]) -> u8 {
    let quick = quick.max(1);
    // The history check first: its memory figure is the process's peak, which the later
    // sections would raise.
    let sections: [fn(u32) -> u8; SECTIONS.len()] =
        [zk_history, kernel, ensemble, ci_sweep, checker, bug_finding];
    for (name, section) in SECTIONS.iter().zip(sections) {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let code = section(quick);
        if code != 0 {
            return code;
        }
    }
    0
}

/// The sweeps `ci_sweep` times: the ZooKeeper sweep, the recipes' sweep, and the message
/// queue's scenario (issue 15 wants mq.toml at 20 seeds/s or more on one core).
const CI_SCENARIOS: [&str; 3] = ["ci.toml", "recipes-ci.toml", "mq.toml"];

/// Seeds per wall-second for each CI sweep (every checker on), on 1 and 2 threads (each run
/// single-threaded, as `fuzz --jobs` runs them), the speed-up, and the client operations per
/// seed.
fn ci_sweep(quick: u32) -> u8 {
    for file in CI_SCENARIOS {
        let code = ci_sweep_of(file, quick);
        if code != 0 {
            return code;
        }
    }
    0
}

/// One CI sweep's figures (see `ci_sweep`).
fn ci_sweep_of(file: &str, quick: u32) -> u8 {
    let seeds = 400 / u64::from(quick);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(file);
    let loaded = match sim::scenario::load_file(&path.to_string_lossy(), &[]) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    println!();
    println!("ci sweep: scenarios/{file} seeds 0..{seeds}, every checker on");
    let mut rates = Vec::new();
    let ops = std::sync::atomic::AtomicU64::new(0);
    for jobs in [1u64, 2] {
        let next = std::sync::atomic::AtomicU64::new(0);
        let findings = std::sync::atomic::AtomicU64::new(0);
        ops.store(0, std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|| {
                    loop {
                        let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if seed >= seeds {
                            break;
                        }
                        let r = sim::run::run(&loaded, seed).expect("a CI scenario resolves");
                        if r.outcome.verdict != kernel::observe::Verdict::Pass {
                            findings.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        let n = r
                            .history
                            .iter()
                            .filter(|e| matches!(e, proto::history::Event::Op(_)))
                            .count();
                        ops.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        let rate = seeds as f64 / started.elapsed().as_secs_f64();
        rates.push(rate);
        println!(
            "  --jobs {jobs}: {rate:.1} seeds/s ({} not passing)",
            findings.into_inner()
        );
    }
    println!(
        "  speed-up of --jobs 2: {:.2}x; {} client operations per seed",
        rates[1] / rates[0],
        ops.into_inner() / seeds
    );
    0
}

/// Each planted bug, its scenario, and how many seeds (and wall seconds) `fuzz` needs to
/// find it, from several base seeds; the median over the bases.
/// Seeds tried per base before a planted bug counts as not found.
const CAP: u64 = 200;

fn bug_finding(quick: u32) -> u8 {
    let bases: &[u64] = if quick > 1 { &[0] } else { &[0, 1000, 2000] };
    let cases = [
        ("zk-1154", "default.toml"),
        ("zk-2355", "default.toml"),
        ("zk-335", "default.toml"),
        ("zk-3911", "bug-zk-3911.toml"),
        ("zk-1419", "bug-zk-1419.toml"),
        ("zk-1366", "bug-zk-1366.toml"),
        ("queue-delete-first", "queue.toml"),
        ("lock-no-guid", "lock.toml"),
        ("curator-498", "election.toml"),
        ("curator-696", "election.toml"),
        ("barrier-no-recheck", "barrier.toml"),
        ("config-read-then-watch", "config.toml"),
        ("kafka-hw-truncation", "mq.toml"),
        ("kafka-epoch-divergence", "mq.toml"),
        ("kafka-zombie-controller", "mq.toml"),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    println!();
    println!(
        "bug finding: seeds from each base until the first finding (at most {CAP}), bases {bases:?}"
    );
    println!(
        "  {:<22} {:<18} {:>14} {:>12}",
        "bug", "scenario", "median seeds", "median s"
    );
    // A panicking seed counts as a finding: the hook stays quiet meanwhile.
    crate::hooks::with_quiet_panics(|| bug_table(&dir, &cases, bases))
}

/// The rows of the bug-finding table (see `bug_finding`).
fn bug_table(dir: &std::path::Path, cases: &[(&str, &str)], bases: &[u64]) -> u8 {
    for &(bug, file) in cases {
        let path = dir.join(file);
        // An election storm (zk-1419) can spin to the scenario's event budget; a smaller
        // budget keeps the table quick (a budget verdict is not a finding).
        let overrides = vec![
            format!("zab.bugs=[{bug:?}]"),
            "run.events_max=3000000".to_string(),
        ];
        let loaded = match sim::scenario::load_file(&path.to_string_lossy(), &overrides) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let mut seeds = Vec::new();
        let mut secs = Vec::new();
        for &base in bases {
            let started = std::time::Instant::now();
            let found = (base..base + CAP).position(|seed| {
                // A panic in a seed is a finding too, as in `fuzz`.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    sim::run::run(&loaded, seed)
                        .is_ok_and(|r| r.outcome.verdict.finding().is_some())
                }))
                .unwrap_or(true)
            });
            seeds.push(found.map_or(CAP + 1, |k| k as u64 + 1));
            secs.push(started.elapsed().as_secs_f64());
        }
        seeds.sort_unstable();
        secs.sort_by(f64::total_cmp);
        let median_seeds = seeds[seeds.len() / 2];
        let shown = if median_seeds > CAP {
            format!(">{CAP}")
        } else {
            median_seeds.to_string()
        };
        println!(
            "  {bug:<22} {file:<18} {shown:>14} {:>12.2}",
            secs[secs.len() / 2]
        );
    }
    0
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A consistent simulated ZooKeeper history of 100,000 operations (32 sessions), checked
/// for ZooKeeper's consistency model and the watch invariants.
fn zk_history(quick: u32) -> u8 {
    let ops = 100_000 / quick as usize;
    let before = peak_rss_kib();
    let events = check::zk::synthetic_history(ops, 32, 1);
    let started = std::time::Instant::now();
    let (report, watches) =
        check::watch::check_history_and_watches(&events, lincheck::lin::Budget::DEFAULT);
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let peak = peak_rss_kib();
    println!(
        "zk history: {ops} simulated operations ({} events, 32 sessions): consistency {:?} and watch invariants {} in {ms:.0} ms",
        events.len(),
        report.verdict,
        if watches.is_ok() { "hold" } else { "VIOLATED" },
    );
    if let (Some(before), Some(peak)) = (before, peak) {
        let per_op = (peak.saturating_sub(before) * 1024) as f64 / ops as f64;
        println!(
            "  peak memory {} MiB (history and check {} MiB, {per_op:.0} bytes per history op)",
            peak / 1024,
            peak.saturating_sub(before) / 1024
        );
    }
    0
}

/// Committed writes per wall-second for a fault-free 5-server ensemble, monitors on, on each
/// replication engine under the same ZooKeeper server, and each engine's rate against ZAB's.
fn ensemble(quick: u32) -> u8 {
    const PROTOCOLS: [&str; 2] = ["zab", "raft"];
    println!();
    println!(
        "ensemble: 5 servers, no faults, 50 clients writing, every protocol monitor and the \
         history check on (best of {ENSEMBLE_RUNS} runs per engine, 1 when scaled down)"
    );
    let mut rates = Vec::with_capacity(PROTOCOLS.len());
    for protocol in PROTOCOLS {
        match ensemble_on(protocol, quick) {
            Ok(rate) => rates.push(rate),
            Err(code) => return code,
        }
    }
    for (protocol, rate) in PROTOCOLS.iter().zip(&rates).skip(1) {
        println!(
            "  {protocol} against zab: {:.2}x the committed writes per wall-second",
            rate / rates[0]
        );
    }
    0
}

/// Runs of the ensemble scenario per engine; the best is reported (one run when scaled down).
const ENSEMBLE_RUNS: u32 = 3;
/// Simulated time the ensemble runs at least, however scaled down: Raft's first election
/// waits out a whole election timeout (a second with the default `[zab]` ticks).
const ENSEMBLE_SAFETY_MS_MIN: u64 = 1_500;

/// The ensemble figures on `protocol`: the best of `ENSEMBLE_RUNS` runs of the same seed
/// (each must give the same trace hash). Returns committed writes per wall-second.
fn ensemble_on(protocol: &str, quick: u32) -> Result<f64, u8> {
    let safety_ms = (4_000 / quick as u64).max(ENSEMBLE_SAFETY_MS_MIN);
    let overrides = [
        format!("run.safety_ms={safety_ms}"),
        format!("cluster.protocol={protocol}"),
    ];
    let runs = if quick > 1 { 1 } else { ENSEMBLE_RUNS };
    let mut best: Option<(sim::run::RunReport, f64)> = None;
    for _ in 0..runs {
        let (report, secs) = timed_run(ENSEMBLE_SCENARIO, &overrides)?;
        if let Some((first, _)) = &best {
            assert_eq!(
                first.outcome.trace_hash, report.outcome.trace_hash,
                "same seed, same run"
            );
        }
        if best.as_ref().is_none_or(|(_, s)| secs < *s) {
            best = Some((report, secs));
        }
    }
    let (report, secs) = best.expect("at least one run");
    let commits = report
        .figures
        .iter()
        .find(|f| f.0 == "commits")
        .map_or(0, |f| f.1);
    let sim_secs = report.outcome.end_ns as f64 / 1e9;
    let rate = commits as f64 / secs;
    println!(
        "  {protocol}: verdict {}, {} committed writes in {:.2} s simulated, {:.2} s wall: {:.0} committed writes per wall-second ({:.0} per simulated second), {:.0} events/s",
        report.outcome.verdict.name(),
        commits,
        sim_secs,
        secs,
        rate,
        commits as f64 / sim_secs,
        report.outcome.stats.events as f64 / secs
    );
    Ok(rate)
}

/// Load a built-in bench scenario with `overrides`, run seed 1, and time the run (wall
/// seconds). `Err` is the exit code for a bench scenario that does not load.
fn timed_run(text: &str, overrides: &[String]) -> Result<(sim::run::RunReport, f64), u8> {
    let loaded = scenario::load("<bench>", text, overrides).map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    let started = Instant::now();
    let report = sim::run::run(&loaded, 1).expect("bench scenario resolves");
    Ok((report, started.elapsed().as_secs_f64()))
}

/// Kernel events per wall-second on the relay load at 10 … 10,000 processes. Each size runs
/// in a fresh process (`bench --kernel-processes N`), so no size inherits the heap an
/// earlier section or size left behind; if the binary cannot be re-run, in this process.
fn kernel(quick: u32) -> u8 {
    println!();
    println!(
        "kernel: relay load, uniform 0.5–1.5 ms latency, {TOKENS_TOTAL} messages in flight, \
         each size in a fresh process"
    );
    println!(
        "{:>10} {:>12} {:>14} {:>10}",
        "processes", "events", "events/s", "ns/event"
    );
    for processes in [10u32, 100, 1_000, 10_000] {
        let (handled, secs) = match kernel_in_child(processes, quick) {
            Some(measured) => measured,
            None => match relay_run(processes, quick) {
                Ok(measured) => measured,
                Err(code) => return code,
            },
        };
        println!(
            "{:>10} {:>12} {:>14.0} {:>10.1}",
            processes,
            handled,
            handled as f64 / secs,
            secs * 1e9 / handled as f64
        );
    }
    println!(
        "memory per pending event: {} bytes (event inline in its bucket, plus its 8-byte order key)",
        sim::run::bytes_per_pending_event()
    );
    0
}

/// `bench --kernel-processes N`: one relay measurement, printed as `<events> <seconds>`.
pub fn kernel_one(processes: u32, quick: u32) -> u8 {
    match relay_run(processes, quick.max(1)) {
        Ok((handled, secs)) => {
            println!("{handled} {secs:.9}");
            0
        }
        Err(code) => code,
    }
}

/// Run one relay measurement in a child process; `None` if that is not possible.
fn kernel_in_child(processes: u32, quick: u32) -> Option<(u64, f64)> {
    let exe = std::env::current_exe().ok()?;
    let output = std::process::Command::new(exe)
        .args(["bench", "--quick", &quick.to_string()])
        .args(["--kernel-processes", &processes.to_string()])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let mut words = text.split_whitespace();
    let handled = words.next()?.parse().ok()?;
    let secs = words.next()?.parse().ok()?;
    Some((handled, secs))
}

/// The relay load at `processes` for `5,000,000 / quick` events: (events handled, wall s).
fn relay_run(processes: u32, quick: u32) -> Result<(u64, f64), u8> {
    assert!(processes >= 2 && quick >= 1);
    let events = 5_000_000 / u64::from(quick);
    let tokens = (TOKENS_TOTAL / processes).max(1);
    let overrides = vec![
        format!("cluster.servers={processes}"),
        format!("run.events_max={events}"),
        format!("workload.tokens={tokens}"),
    ];
    let (report, secs) = timed_run(RELAY_SCENARIO, &overrides)?;
    Ok((report.outcome.stats.events, secs))
}

/// Where Porcupine's test histories are: `ZABSIM_PORCUPINE_DIR`, else the copy vendored in
/// the repository (`crates/lincheck/testdata/porcupine`) relative to the current directory,
/// else the same copy where this binary was built from.
fn porcupine_dir() -> Result<std::path::PathBuf, std::path::PathBuf> {
    const VENDORED: &str = "crates/lincheck/testdata/porcupine";
    const BUILT_FROM: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../lincheck/testdata/porcupine"
    );
    let candidates: Vec<std::path::PathBuf> = match std::env::var_os("ZABSIM_PORCUPINE_DIR") {
        Some(d) => vec![d.into()],
        None => vec![VENDORED.into(), BUILT_FROM.into()],
    };
    let found = candidates.iter().find(|d| d.join("jepsen").is_dir());
    found.cloned().ok_or_else(|| candidates[0].clone())
}

/// Best wall time in ms of `runs` runs of `f`, and the result of the last one.
fn best_ms<T>(runs: u32, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let result = f();
        best = best.min(started.elapsed().as_secs_f64() * 1e3);
        last = Some(result);
    }
    (best, last.expect("at least one run"))
}

/// Linearizability checking of Porcupine's histories (parsing excluded), best of 5 runs
/// per history, next to Porcupine's own figures.
fn checker(quick: u32) -> u8 {
    use lincheck::import::{porcupine_etcd, porcupine_kv};
    use lincheck::lin::{Budget, check};
    use lincheck::models::{kv::KvModel, register::RegisterModel};

    println!();
    let dir = match porcupine_dir() {
        Ok(dir) => dir,
        Err(tried) => {
            println!(
                "checker: skipped (Porcupine histories not found at {}; set ZABSIM_PORCUPINE_DIR)",
                tried.display()
            );
            return 0;
        }
    };
    let runs = if quick > 1 { 1 } else { 5 };
    println!(
        "checker: Porcupine's histories from {}, check only (parsing excluded), best of {runs} runs each",
        dir.display()
    );
    let mut etcd: Vec<(String, f64, bool)> = Vec::new();
    for number in 0..=102 {
        let name = format!("etcd_{number:03}");
        let Ok(text) = std::fs::read_to_string(dir.join(format!("jepsen/{name}.log"))) else {
            continue;
        };
        let ops = match porcupine_etcd::parse(&text) {
            Ok(ops) => ops,
            Err(e) => {
                eprintln!("error: {name}.log:{}: {}", e.line, e.message);
                return 2;
            }
        };
        let model = RegisterModel::default();
        let (ms, verdict) = best_ms(runs, || check(&model, &ops, &Budget::DEFAULT));
        etcd.push((name, ms, verdict.is_linearizable()));
    }
    if !etcd.is_empty() {
        let total: f64 = etcd.iter().map(|e| e.1).sum();
        let mut times: Vec<f64> = etcd.iter().map(|e| e.1).collect();
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let max = etcd
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("non-empty");
        let linearizable = etcd.iter().filter(|e| e.2).count();
        println!(
            "  etcd: {} histories ({linearizable} linearizable): total {total:.1} ms (Porcupine 341 ms), median {median:.3} ms, max {:.1} ms ({})",
            etcd.len(),
            max.1,
            max.0
        );
        if let Some(e) = etcd.iter().find(|e| e.0 == "etcd_002") {
            println!("  etcd_002: {:.1} ms (Porcupine 125 ms)", e.1);
        }
    }
    for (name, reference) in [("c50-ok", Some(116)), ("c50-bad", None), ("c10-ok", None)] {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("kv/{name}.txt"))) else {
            println!("  kv {name}: missing");
            continue;
        };
        let ops = match porcupine_kv::parse(&text) {
            Ok(ops) => ops,
            Err(e) => {
                eprintln!("error: {name}.txt:{}: {}", e.line, e.message);
                return 2;
            }
        };
        let (ms, verdict) = best_ms(runs, || check(&KvModel, &ops, &Budget::DEFAULT));
        let reference = reference.map_or(String::new(), |r| format!(" (Porcupine {r} ms)"));
        println!(
            "  kv {name}: {ms:.1} ms{reference}, linearizable={}",
            verdict.is_linearizable()
        );
    }
    0
}
