//! The generic linearizability engine: histories (`Operation`), sequential specifications
//! (`Model`), the Wing–Gong search with a visited-configuration cache and
//! P-compositionality (`check`), and a brute-force reference checker for tests (`brute`).

pub mod brute;
mod cache;
mod history;
mod model;
mod search;
mod verdict;

pub use history::{Operation, assert_well_formed};
pub use model::Model;
pub use verdict::{Budget, Exhausted, Explanation, Stats, Verdict};

use search::{Outcome, PartitionSearch};

/// Steps each unfinished partition runs per round of the interleaving.
const QUANTUM_STEPS: u64 = 4096;

/// Check `history` against `model`. Deterministic: the same history, model and budget give
/// the same verdict and explanation on every run.
pub fn check<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    budget: &Budget,
) -> Verdict {
    check_with_stats(model, history, budget).0
}

/// `check`, also returning search statistics.
///
/// The partitions of `Model::partition` are searched interleaved, round-robin, a fixed
/// number of steps each per round (as if in parallel, but deterministically), and the
/// first violation found ends the check: a history with one cheap violation is rejected
/// quickly even when other partitions are expensive. `budget.max_steps` counts the steps
/// of all partitions; `budget.max_cache_bytes` bounds the caches of the partitions still
/// being searched.
pub fn check_with_stats<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    budget: &Budget,
) -> (Verdict, Stats) {
    assert_well_formed(history);
    let parts = model.partition(history);
    let mut seen = vec![false; history.len()];
    for part in &parts {
        for &index in part {
            assert!(
                index < history.len(),
                "partition index {index} out of range"
            );
            assert!(!seen[index], "operation {index} is in two partitions");
            seen[index] = true;
        }
    }
    assert!(seen.iter().all(|&s| s), "some operation is in no partition");

    let mut stats = Stats::default();
    let record = |search: &PartitionSearch<'_, M>, stats: &mut Stats| {
        stats.partitions += 1;
        stats.ops_searched += search.ops_searched() as u64;
        stats.ops_dropped += search.ops_dropped() as u64;
        stats.steps += search.steps;
        stats.model_steps += search.model_steps;
        stats.cache_entries += search.cache_entries() as u64;
        stats.cache_bytes += search.cache_bytes();
        stats.max_depth = stats.max_depth.max(search.max_depth() as u64);
    };
    let mut live: Vec<PartitionSearch<'_, M>> = parts
        .iter()
        .enumerate()
        .map(|(partition, part)| PartitionSearch::new(model, history, part, partition))
        .collect();
    let mut steps_left = budget.max_steps;
    let mut live_cache_bytes: u64 = live.iter().map(PartitionSearch::cache_bytes).sum();
    let mut exhausted: Option<Exhausted> = None;
    // Every round either finishes a partition or spends `QUANTUM_STEPS` of the budget on
    // each live one; without a step budget, each partition's cache bound ends it.
    while !live.is_empty() {
        let mut still_live = Vec::with_capacity(live.len());
        let mut round = std::mem::take(&mut live).into_iter();
        while let Some(mut search) = round.next() {
            if steps_left == 0 {
                exhausted.get_or_insert(Exhausted::Steps);
                record(&search, &mut stats);
                continue;
            }
            let grant = steps_left.min(QUANTUM_STEPS);
            let steps_before = search.steps;
            let bytes_before = search.cache_bytes();
            let allowance = budget
                .max_cache_bytes
                .saturating_sub(live_cache_bytes - bytes_before);
            let outcome = search.run(grant, allowance);
            // A level scan may overshoot its grant by a little: the budget then ends at 0.
            steps_left = steps_left.saturating_sub(search.steps - steps_before);
            live_cache_bytes = live_cache_bytes - bytes_before + search.cache_bytes();
            match outcome {
                None => still_live.push(search),
                Some(Outcome::Linearizable) => {
                    live_cache_bytes -= search.cache_bytes();
                    record(&search, &mut stats);
                }
                Some(Outcome::NotLinearizable(explanation)) => {
                    record(&search, &mut stats);
                    for other in still_live.iter().chain(round.as_slice()) {
                        record(other, &mut stats);
                    }
                    return (Verdict::NotLinearizable(Box::new(explanation)), stats);
                }
                Some(Outcome::Exhausted(reason)) => {
                    exhausted.get_or_insert(reason);
                    live_cache_bytes -= search.cache_bytes();
                    record(&search, &mut stats);
                }
            }
        }
        live = still_live;
    }
    match exhausted {
        Some(reason) => (Verdict::Unknown(reason), stats),
        None => (Verdict::Linearizable, stats),
    }
}
