//! Per-partition statistics for one Porcupine kv history (a diagnostic):
//! `cargo run --release -p lincheck --example kv_parts -- c50-bad`.

use std::time::Instant;

use lincheck::import::porcupine_kv;
use lincheck::lin::{Budget, Model, Operation, check_with_stats};
use lincheck::models::kv::KvModel;

fn main() {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "c50-bad".to_string());
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("testdata/porcupine/kv/{name}.txt"));
    let ops = porcupine_kv::parse(&std::fs::read_to_string(path).expect("read")).expect("parse");
    for part in KvModel.partition(&ops) {
        let sub: Vec<Operation<_, _>> = part.iter().map(|&i| ops[i].clone()).collect();
        let start = Instant::now();
        let (verdict, stats) = check_with_stats(&KvModel, &sub, &Budget::DEFAULT);
        println!(
            "key {:?}: {} ops, {:.3} ms, linearizable={} steps={} cache={} depth={}",
            sub[0].input.key(),
            sub.len(),
            start.elapsed().as_secs_f64() * 1e3,
            verdict.is_linearizable(),
            stats.steps,
            stats.cache_entries,
            stats.max_depth
        );
    }
}
