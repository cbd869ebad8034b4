//! Times the ZooKeeper history checkers on a synthetic consistent history:
//! `cargo run --release -p check --example zk_bench -- [ops] [sessions] [seed] [corrupt]`
//! (defaults 100000 32 1). Prints the generation time, the `zk::check_history` time (the
//! witness path on a consistent history) and the `watch::check_watches` time. With a fourth
//! argument `p` (per mille), the first getData answered after that share of the history
//! gets data no write wrote, which shows what confirming a violation costs (`-` skips it).
//! With a fifth argument `p`, the first acknowledged setData after that share loses its
//! answer (it becomes an info write that did take effect), which shows what explaining a
//! witness failure costs. Peak memory: run it under `/usr/bin/time -v`.

use std::time::Instant;

use check::watch::check_watches;
use check::zk::{check_history, synthetic_history};
use lincheck::lin::Budget;
use proto::history::{Event, Outcome};
use proto::zk::{Op, OpResult, ZkError};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .map_or(default, |a| a.parse().expect("a number"))
}

fn main() {
    let ops = arg(1, 100_000) as usize;
    let sessions = arg(2, 32) as usize;
    let seed = arg(3, 1);
    let start = Instant::now();
    let mut events = synthetic_history(ops, sessions, seed);
    let generated = start.elapsed();
    if let Some(per_mille) = std::env::args().nth(4).filter(|a| a != "-") {
        let from = events.len() * per_mille.parse::<usize>().expect("a number") / 1000;
        let target = (from..events.len()).find(|&i| {
            matches!(&events[i], Event::Op(r) if matches!(r.result, Some(OpResult::Data { .. })))
        });
        if let Some(i) = target
            && let Event::Op(r) = &mut events[i]
            && let Some(OpResult::Data { data, .. }) = &mut r.result
        {
            *data = b"never written".to_vec();
            println!("corrupted the read at event {i}");
        }
    }
    if let Some(per_mille) = std::env::args().nth(5) {
        let from = events.len() * per_mille.parse::<usize>().expect("a number") / 1000;
        let target = (from..events.len()).find(|&i| {
            matches!(&events[i], Event::Op(r) if matches!(r.op, Op::SetData { .. }) && r.outcome == Outcome::Ok)
        });
        if let Some(i) = target
            && let Event::Op(r) = &mut events[i]
        {
            r.outcome = Outcome::Info;
            r.result = Some(OpResult::Err(ZkError::ConnectionLoss));
            r.zxid = None;
            println!("hid the answer of the write at event {i}");
        }
    }
    let start = Instant::now();
    let report = check_history(&events, Budget::DEFAULT);
    let checked = start.elapsed();
    let start = Instant::now();
    let watches = check_watches(&events);
    let watched = start.elapsed();
    println!(
        "{ops} ops, {sessions} sessions, seed {seed}: {} events generated in {:.3} s",
        events.len(),
        generated.as_secs_f64()
    );
    println!(
        "zk::check_history: {:?} in {:.3} s ({} writes, {} reads, {} syncs, {} witness \
         failures, {} searches)",
        report.verdict,
        checked.as_secs_f64(),
        report.stats.writes,
        report.stats.reads,
        report.stats.syncs,
        report.stats.witness_failures,
        report.stats.searches.len()
    );
    for v in report.violations.iter().chain(&report.unconfirmed).take(5) {
        println!("{}", v.render(&events));
    }
    for run in &report.stats.searches {
        println!("search: {run:?}");
    }
    println!(
        "watch::check_watches: {} violations in {:.3} s ({} registrations, {} events, {} \
         triggered)",
        watches.stats.violation_count,
        watched.as_secs_f64(),
        watches.stats.registrations,
        watches.stats.events,
        watches.stats.triggered
    );
    for v in watches.violations.iter().take(5) {
        println!("{}", v.render(&events));
    }
}
