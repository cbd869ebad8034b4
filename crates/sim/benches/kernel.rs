//! The kernel's events/s on the relay load of `zabsim bench` (each process forwards tokens
//! to random peers, uniform 0.5–1.5 ms latency, 20,000 tokens in flight), runnable without
//! building the CLI and small enough for `valgrind --tool=cachegrind`:
//!
//! ```text
//! cargo bench -p sim --bench kernel -- --ignored --nocapture
//! ZABSIM_BENCH_PROCESSES=10000 ZABSIM_BENCH_EVENTS=200000 cargo bench -p sim --bench kernel -- --ignored --nocapture
//! ```
//!
//! Prints wall ns/event and this thread's CPU ns/event (Linux `schedstat`; less disturbed
//! on a shared machine), and the trace hash, so a change that should keep every hash can be
//! checked against the numbers before it. Instructions per event without the setup: run
//! twice with events N and 2N under cachegrind and divide the difference by N.

use std::time::Instant;

use kernel::probe::{
    RELAY_BENCH_SCENARIO as RELAY_SCENARIO, RELAY_BENCH_TOKENS_TOTAL as TOKENS_TOTAL,
};

fn env_list(name: &str, default: &[u64]) -> Vec<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .split(',')
            .map(|x| x.trim().parse().expect("a number"))
            .collect(),
        Err(_) => default.to_vec(),
    }
}

/// CPU time of this thread so far (Linux `schedstat`), in ns: less disturbed than wall time
/// on a machine shared with other work.
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn relay_events_per_second() {
    let processes = env_list("ZABSIM_BENCH_PROCESSES", &[10, 100, 1_000, 10_000]);
    let events = env_list("ZABSIM_BENCH_EVENTS", &[2_000_000])[0];
    println!(
        "{:>10} {:>12} {:>14} {:>10} {:>14} {:>18}",
        "processes", "events", "events/s", "ns/event", "cpu ns/event", "trace hash"
    );
    for n in processes {
        let tokens = (TOKENS_TOTAL as u64 / n).max(1);
        let overrides = vec![
            format!("cluster.servers={n}"),
            format!("run.events_max={events}"),
            format!("workload.tokens={tokens}"),
        ];
        let loaded = sim::scenario::load("<bench>", RELAY_SCENARIO, &overrides).expect("loads");
        let cpu_before = cpu_ns();
        let started = Instant::now();
        let report = sim::run::run(&loaded, 1).expect("resolves");
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_ns().zip(cpu_before).map_or(0, |(a, b)| a - b);
        let handled = report.outcome.stats.events;
        println!(
            "{n:>10} {handled:>12} {:>14.0} {:>10.1} {:>14.1} {:>18x}",
            handled as f64 / secs,
            secs * 1e9 / handled as f64,
            cpu as f64 / handled as f64,
            report.outcome.trace_hash
        );
    }
}
