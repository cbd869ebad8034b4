//! Times the engine on the Porcupine corpus: `cargo run --release -p lincheck --example
//! porcupine_bench [repetitions]`. Prints per-history times (best of the repetitions) and
//! the totals the design targets are stated in.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lincheck::import::{porcupine_etcd, porcupine_kv};
use lincheck::lin::{Budget, Model, Stats, Verdict, check_with_stats};
use lincheck::models::kv::{KvInput, KvModel, KvOutput, KvState};
use lincheck::models::register::RegisterModel;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/porcupine")
}

/// Timing of one history: the best and the mean of the repetitions.
struct Timing {
    best: Duration,
    mean: Duration,
}

fn time<F: FnMut() -> (Verdict, Stats)>(repetitions: u32, mut run: F) -> (Timing, Verdict, Stats) {
    assert!(repetitions > 0);
    let mut best = Duration::MAX;
    let mut sum = Duration::ZERO;
    let mut last = None;
    for _ in 0..repetitions {
        let start = Instant::now();
        let result = run();
        let elapsed = start.elapsed();
        best = best.min(elapsed);
        sum += elapsed;
        last = Some(result);
    }
    let (verdict, stats) = last.expect("at least one repetition");
    (
        Timing {
            best,
            mean: sum / repetitions,
        },
        verdict,
        stats,
    )
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The kv model without partitioning by key: one search over the whole history.
struct Unpartitioned;

impl Model for Unpartitioned {
    type State = KvState;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> KvState {
        KvModel.init()
    }
    fn step(&self, state: &KvState, input: &KvInput, output: &KvOutput) -> Option<KvState> {
        KvModel.step(state, input, output)
    }
    fn step_unknown(&self, state: &KvState, input: &KvInput) -> Option<KvState> {
        KvModel.step_unknown(state, input)
    }
    fn hash_state(&self, state: &KvState) -> u64 {
        KvModel.hash_state(state)
    }
    fn unknown_is_noop(&self, input: &KvInput) -> bool {
        KvModel.unknown_is_noop(input)
    }
    fn is_read_only(&self, input: &KvInput, output: Option<&KvOutput>) -> bool {
        KvModel.is_read_only(input, output)
    }
    fn only_grows(&self, input: &KvInput, output: Option<&KvOutput>) -> bool {
        KvModel.only_grows(input, output)
    }
    fn may_grow_to_allow(&self, state: &KvState, input: &KvInput, output: &KvOutput) -> bool {
        KvModel.may_grow_to_allow(state, input, output)
    }
    fn state_heap_bytes(&self, state: &KvState) -> usize {
        KvModel.state_heap_bytes(state)
    }
}

fn main() {
    let repetitions: u32 = std::env::args()
        .nth(1)
        .map_or(10, |a| a.parse().expect("repetitions"));
    assert!(repetitions > 0);
    let mut rows = Vec::new();
    for number in 0..=102 {
        let path = corpus().join(format!("jepsen/etcd_{number:03}.log"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let ops = porcupine_etcd::parse(&text).expect("parse");
        let model = RegisterModel::default();
        let (timing, verdict, stats) = time(repetitions, || {
            check_with_stats(&model, &ops, &Budget::DEFAULT)
        });
        rows.push((
            timing,
            format!("etcd_{number:03}"),
            verdict.is_linearizable(),
            stats,
            ops.len(),
        ));
    }
    let count = rows.len();
    let best_total: Duration = rows.iter().map(|r| r.0.best).sum();
    let mean_total: Duration = rows.iter().map(|r| r.0.mean).sum();
    println!(
        "etcd: {count} histories, total {:.2} ms (sum of best of {repetitions}), {:.2} ms (sum of means)",
        ms(best_total),
        ms(mean_total)
    );
    let mut bests: Vec<Duration> = rows.iter().map(|r| r.0.best).collect();
    bests.sort();
    println!(
        "etcd: median {:.1} us",
        bests[bests.len() / 2].as_secs_f64() * 1e6
    );
    rows.sort_by_key(|row| std::cmp::Reverse(row.0.best));
    for (timing, name, linearizable, stats, ops) in rows.iter().take(8) {
        println!(
            "  {name}: best {:7.3} ms mean {:7.3} ms linearizable={linearizable} ops={ops} steps={} model_steps={} cache={}",
            ms(timing.best),
            ms(timing.mean),
            stats.steps,
            stats.model_steps,
            stats.cache_entries
        );
    }
    for name in [
        "c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad",
    ] {
        let text =
            std::fs::read_to_string(corpus().join(format!("kv/{name}.txt"))).expect("kv file");
        let ops = porcupine_kv::parse(&text).expect("parse");
        let (timing, verdict, stats) = time(repetitions, || {
            check_with_stats(&KvModel, &ops, &Budget::DEFAULT)
        });
        println!(
            "kv {name}: best {:7.3} ms mean {:7.3} ms linearizable={} ops={} steps={} model_steps={} cache={}",
            ms(timing.best),
            ms(timing.mean),
            verdict.is_linearizable(),
            ops.len(),
            stats.steps,
            stats.model_steps,
            stats.cache_entries
        );
    }
    for name in ["c01-ok", "c01-bad", "c10-ok", "c10-bad"] {
        let text =
            std::fs::read_to_string(corpus().join(format!("kv/{name}.txt"))).expect("kv file");
        let ops = porcupine_kv::parse(&text).expect("parse");
        let budget = Budget::steps(50_000_000);
        let (timing, verdict, stats) = time(1, || check_with_stats(&Unpartitioned, &ops, &budget));
        println!(
            "kv {name} unpartitioned: {:8.3} ms linearizable={} violation={} steps={} cache={}",
            ms(timing.best),
            verdict.is_linearizable(),
            verdict.is_violation(),
            stats.steps,
            stats.cache_entries
        );
    }
}
