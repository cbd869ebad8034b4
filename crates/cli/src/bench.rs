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

pub fn run(quick: u32) -> u8 {
    let quick = quick.max(1);
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
        "memory per pending event: {} bytes (heap key + slab slot)",
        sim::run::bytes_per_pending_event()
    );
    0
}
