//! The merge of a sharded sweep's results files (or several sweeps'): one order whatever the
//! scheduling — regression seeds first, then by seed. A seed present more than once must have
//! the same verdict and trace hash in every copy (one is kept); copies that disagree are a
//! determinism failure, kept as one `nondeterminism` result naming both.

use proto::results::SeedResult;
use std::collections::BTreeMap;

/// The verdict of a seed whose copies disagree.
pub const NONDETERMINISM: &str = "nondeterminism";

/// Read one results file: every non-empty line is a [`SeedResult`].
pub fn read(path: &str) -> Result<Vec<SeedResult>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(crate::results::parse(path, &text)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// Merge the copies; a seed whose copies disagree becomes a `nondeterminism` result.
pub fn merge(all: Vec<SeedResult>) -> Vec<SeedResult> {
    // Regression seeds first, then by seed.
    let mut by_seed: BTreeMap<(bool, u64), SeedResult> = BTreeMap::new();
    for r in all {
        let key = (!r.regression, r.seed);
        match by_seed.get_mut(&key) {
            None => {
                by_seed.insert(key, r);
            }
            Some(kept) if kept.verdict == r.verdict && kept.trace_hash == r.trace_hash => {}
            Some(kept) if kept.verdict == NONDETERMINISM => {}
            Some(kept) => {
                let detail = format!(
                    "seed {} gave different results: {} (hash {}) and {} (hash {})",
                    r.seed, kept.verdict, kept.trace_hash, r.verdict, r.trace_hash
                );
                kept.verdict = NONDETERMINISM.into();
                kept.detail = Some(detail);
            }
        }
    }
    by_seed.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(seed: u64, verdict: &str, hash: &str) -> SeedResult {
        SeedResult {
            seed,
            verdict: verdict.into(),
            trace_hash: hash.into(),
            detail: None,
            events: 10,
            figures: Vec::new(),
            regression: false,
            repro: None,
            scenario: None,
        }
    }

    #[test]
    fn merging_orders_by_seed_and_keeps_one_copy() {
        let shard_a = vec![result(4, "pass", "a4"), result(0, "pass", "a0")];
        let shard_b = vec![result(3, "safety", "a3"), result(0, "pass", "a0")];
        let merged = merge(shard_a.into_iter().chain(shard_b).collect());
        let seeds: Vec<u64> = merged.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, [0, 3, 4]);
        assert_eq!(merged[1].verdict, "safety");
    }

    #[test]
    fn regression_seeds_come_first_whatever_the_file_order() {
        let mut reg = result(99, "pass", "r");
        reg.regression = true;
        let one = merge(vec![result(1, "pass", "x"), reg.clone()]);
        let two = merge(vec![reg, result(1, "pass", "x")]);
        assert_eq!(one, two);
        assert_eq!(one[0].seed, 99);
        let swept_too = merge(vec![result(99, "pass", "r"), one[0].clone()]);
        assert_eq!(swept_too.len(), 2, "a regression copy is not a swept copy");
    }

    #[test]
    fn copies_that_disagree_are_a_determinism_finding() {
        let merged = merge(vec![
            result(7, "pass", "aa"),
            result(7, "pass", "bb"),
            result(7, "safety", "cc"),
        ]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].verdict, NONDETERMINISM);
        assert_eq!(
            merged[0].detail.as_deref(),
            Some("seed 7 gave different results: pass (hash aa) and pass (hash bb)"),
            "the first disagreement is kept"
        );
        let verdicts = merge(vec![result(8, "pass", "aa"), result(8, "liveness", "aa")]);
        assert_eq!(
            verdicts[0].detail.as_deref(),
            Some("seed 8 gave different results: pass (hash aa) and liveness (hash aa)")
        );
    }
}
