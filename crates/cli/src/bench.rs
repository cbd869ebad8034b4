//! `zabsim bench`: the performance figures, as rates (DESIGN.md §8). Kernel: events per
//! wall-second on one core for a message-heavy relay load over 10 … 10,000 processes (the
//! cost per event must stay flat), and bytes of memory per pending event.

use sim::scenario;
use std::time::Instant;

const RELAY_SCENARIO: &str = r#"
version = 1
name = "bench-relay"
[cluster]
servers = 10
[run]
safety_ms = 1_000_000_000
liveness_ms = 1
events_max = 1
[network]
latency = { dist = "uniform", min_us = 500, max_us = 1_500 }
[cpu]
message_us = 0
[workload]
kind = "relay"
tokens = 1
"#;

/// Tokens in flight across the whole run, whatever the process count.
const TOKENS_TOTAL: u32 = 20_000;

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

pub fn run(quick: u32) -> u8 {
    let code = kernel(quick.max(1));
    if code != 0 {
        return code;
    }
    ensemble(quick.max(1))
}

/// Committed writes per wall-second for a fault-free 5-server ensemble, monitors on.
fn ensemble(quick: u32) -> u8 {
    println!();
    println!("ensemble: 5 servers, no faults, 50 clients writing, every protocol monitor on");
    let safety_ms = 4_000 / quick as u64;
    let loaded = match scenario::load(
        "<bench>",
        ENSEMBLE_SCENARIO,
        &[format!("run.safety_ms={safety_ms}")],
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let started = Instant::now();
    let report = sim::run::run(&loaded, 1).expect("bench scenario resolves");
    let secs = started.elapsed().as_secs_f64();
    let commits = report
        .figures
        .iter()
        .find(|f| f.0 == "commits")
        .map_or(0, |f| f.1);
    let sim_secs = report.outcome.end_ns as f64 / 1e9;
    println!(
        "verdict {}, {} committed writes in {:.2} s simulated, {:.2} s wall: {:.0} committed writes per wall-second ({:.0} per simulated second), {:.0} events/s",
        report.outcome.verdict.name(),
        commits,
        sim_secs,
        secs,
        commits as f64 / secs,
        commits as f64 / sim_secs,
        report.outcome.stats.events as f64 / secs
    );
    0
}

fn kernel(quick: u32) -> u8 {
    println!("kernel: relay load, uniform 0.5–1.5 ms latency, {TOKENS_TOTAL} messages in flight");
    println!(
        "{:>10} {:>12} {:>14} {:>10}",
        "processes", "events", "events/s", "ns/event"
    );
    for processes in [10u32, 100, 1_000, 10_000] {
        let events = 5_000_000 / quick as u64;
        let tokens = (TOKENS_TOTAL / processes).max(1);
        let overrides = vec![
            format!("cluster.servers={processes}"),
            format!("run.events_max={events}"),
            format!("workload.tokens={tokens}"),
        ];
        let loaded = match scenario::load("<bench>", RELAY_SCENARIO, &overrides) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let started = Instant::now();
        let report = sim::run::run(&loaded, 1).expect("bench scenario resolves");
        let secs = started.elapsed().as_secs_f64();
        let handled = report.outcome.stats.events;
        println!(
            "{:>10} {:>12} {:>14.0} {:>10.1}",
            processes,
            handled,
            handled as f64 / secs,
            secs * 1e9 / handled as f64
        );
    }
    println!(
        "memory per pending event: {} bytes (key and payload, inline in its bucket)",
        sim::run::bytes_per_pending_event()
    );
    0
}
