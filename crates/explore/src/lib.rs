//! zabsim's exploration as a library: what a fuzz sweep runs (`plan`: regression seeds
//! first, then a shard's share of a seed range, minus what a resumed sweep already judged),
//! how one seed is run and classified (`judge`: a verdict and trace hash per seed, a caught
//! panic, a regression seed that no longer replays its pinned run), the regression-seed list
//! (`regressions`), the results file (`results`, `resume`), the merge of shards' results
//! (`merge`: one copy per seed, disagreeing copies are nondeterminism) and the shrink of a
//! failing seed (`shrink`).
//!
//! Invariants: everything here is single-threaded and deterministic — no wall clock, no
//! signals, no threads, no printing. The edges (the `zabsim` binary) own those: a sweep's
//! `--time` bound reaches the plan as a question asked before each new seed, a stop as a
//! flag, progress and findings as values to print.

pub mod judge;
pub mod merge;
pub mod plan;
pub mod regressions;
pub mod results;
pub mod resume;
pub mod shrink;
