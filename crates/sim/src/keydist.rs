//! Which key a KV request goes to (`workload.key_dist`): uniform over `/k0…`, or Zipf with
//! exponent `s`, each sampled with exactly one `below(n)` draw, the same bits on every
//! machine.
//!
//! Zipf: key `k` (0-based; rank `k + 1`, so `/k0` is the most popular) has the integer
//! weight ⌊2^40 · (k + 1)^−s⌋, computed once per run with [`kernel::detmath`] (IEEE basic
//! operations only, never libm) into a cumulative table shared by every generator. A
//! sample is one uniform draw below the table's total and a binary search.

use std::sync::Arc;

use kernel::detmath;

/// The weight of the most popular key, 2^40 (at `s` = 1 the 2^20th key still weighs 2^20).
const TOP_WEIGHT: u64 = 1 << 40;
/// Keys a Zipf table may hold; with [`TOP_WEIGHT`] the total stays below 2^60.
pub const ZIPF_KEYS_MAX: u64 = 1 << 20;

/// The key distributions a scenario may name.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KeyDist {
    Uniform,
    Zipf,
}

impl KeyDist {
    pub const NAMES: [&str; 2] = ["uniform", "zipf"];

    /// The distribution a scenario's `key_dist` names.
    pub fn parse(name: &str) -> Option<KeyDist> {
        match name {
            "uniform" => Some(KeyDist::Uniform),
            "zipf" => Some(KeyDist::Zipf),
            _ => None,
        }
    }
}

/// A ready-to-sample key distribution over `0..keys`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySampler {
    Uniform {
        keys: u64,
    },
    /// `cumulative[k]` = the weights of keys `0..=k`; the last entry is the total.
    Zipf {
        cumulative: Arc<[u64]>,
    },
}

impl KeySampler {
    /// `s` is used by Zipf only (finite, > 0); Zipf needs `keys` ≤ [`ZIPF_KEYS_MAX`].
    pub fn new(dist: KeyDist, keys: u64, s: f64) -> KeySampler {
        assert!(keys > 0, "no keys to sample");
        match dist {
            KeyDist::Uniform => KeySampler::Uniform { keys },
            KeyDist::Zipf => KeySampler::Zipf {
                cumulative: zipf_table(keys, s),
            },
        }
    }

    pub fn keys(&self) -> u64 {
        match self {
            KeySampler::Uniform { keys } => *keys,
            KeySampler::Zipf { cumulative } => cumulative.len() as u64,
        }
    }

    /// One key in `0..keys()`, from exactly one call of `below(n)` (a uniform draw in
    /// `0..n`). Uniform asks `below(keys)` and returns it as is.
    pub fn sample(&self, below: impl FnOnce(u64) -> u64) -> u64 {
        match self {
            KeySampler::Uniform { keys } => below(*keys),
            KeySampler::Zipf { cumulative } => {
                let total = *cumulative.last().expect("at least one key");
                let r = below(total);
                assert!(r < total, "below({total}) gave {r}");
                // The first key whose cumulative weight exceeds r (zero-weight keys never).
                cumulative.partition_point(|&c| c <= r) as u64
            }
        }
    }
}

/// ⌊2^40 · (k + 1)^−s⌋ for every key, accumulated.
fn zipf_table(keys: u64, s: f64) -> Arc<[u64]> {
    assert!(
        keys <= ZIPF_KEYS_MAX,
        "{keys} keys: a Zipf table holds at most {ZIPF_KEYS_MAX}"
    );
    assert!(
        s.is_finite() && s > 0.0,
        "zipf exponent {s} must be finite and > 0"
    );
    let mut total = 0u64;
    (0..keys)
        .map(|k| {
            total += zipf_weight(k, s);
            total
        })
        .collect()
}

fn zipf_weight(k: u64, s: f64) -> u64 {
    if k == 0 {
        return TOP_WEIGHT;
    }
    // (k + 1)^−s = e^(−s · ln(k + 1)); the integer k + 1 ≤ 2^20 converts exactly, and
    // `as u64` truncates toward zero exactly (and saturates), so every machine agrees.
    let share = detmath::exp(-s * detmath::ln((k + 1) as f64));
    (TOP_WEIGHT as f64 * share) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::rng::{Purpose, Stream};

    const DRAWS: u64 = 100_000;

    fn counts(sampler: &KeySampler, seed: u64) -> Vec<u64> {
        let mut rng = Stream::new(seed, Purpose::Workload);
        let mut counts = vec![0u64; sampler.keys() as usize];
        for _ in 0..DRAWS {
            counts[sampler.sample(|n| rng.below(n)) as usize] += 1;
        }
        counts
    }

    /// Key 0's expected share under Zipf(s) over `keys` keys: 1 / Σ (k+1)^−s (libm is fine
    /// in a test's expectation).
    fn top_share(keys: u64, s: f64) -> f64 {
        1.0 / (1..=keys).map(|r| (r as f64).powf(-s)).sum::<f64>()
    }

    #[test]
    fn zipf_key0_frequency_is_within_statistical_bounds() {
        for (keys, s) in [(16, 1.0), (100, 0.8), (8, 2.0)] {
            let sampler = KeySampler::new(KeyDist::Zipf, keys, s);
            let c = counts(&sampler, 7);
            let p = top_share(keys, s);
            let sd = (p * (1.0 - p) / DRAWS as f64).sqrt();
            let seen = c[0] as f64 / DRAWS as f64;
            assert!(
                (seen - p).abs() < 5.0 * sd,
                "keys {keys} s {s}: {seen} vs {p}"
            );
            assert!(c.windows(2).take(3).all(|w| w[0] > w[1]), "{c:?}");
        }
    }

    #[test]
    fn zipf_table_matches_the_exact_shares() {
        let KeySampler::Zipf { cumulative } = KeySampler::new(KeyDist::Zipf, 1000, 1.3) else {
            unreachable!()
        };
        let total = *cumulative.last().unwrap() as f64;
        let exact = top_share(1000, 1.3);
        assert!((cumulative[0] as f64 / total - exact).abs() < 1e-9);
    }

    #[test]
    fn zipf_table_bits_are_pinned() {
        // The same integers on every machine: a change here changes every zipf run.
        let KeySampler::Zipf { cumulative } = KeySampler::new(KeyDist::Zipf, 4, 1.0) else {
            unreachable!()
        };
        assert_eq!(&cumulative[..], &PINNED_S1[..]);
        let KeySampler::Zipf { cumulative } = KeySampler::new(KeyDist::Zipf, 4, 1.3) else {
            unreachable!()
        };
        assert_eq!(&cumulative[..], &PINNED_S13[..]);
    }

    /// Weights 2^40, 2^39, ⌊2^40/3⌋, 2^38, accumulated.
    const PINNED_S1: [u64; 4] = [
        1 << 40,
        1_649_267_441_664,
        2_015_771_317_589,
        2_290_649_224_533,
    ];
    const PINNED_S13: [u64; 4] = [
        1 << 40,
        1_546_052_105_017,
        1_809_650_156_375,
        1_991_001_942_729,
    ];

    #[test]
    fn uniform_is_one_plain_below_of_keys() {
        let u = KeySampler::new(KeyDist::Uniform, 16, 1.0);
        assert_eq!(
            u.sample(|n| {
                assert_eq!(n, 16);
                11
            }),
            11
        );
        let c = counts(&u, 3);
        let p = 1.0 / 16.0;
        let sd = (p * (1.0 - p) / DRAWS as f64).sqrt();
        assert!(
            c.iter()
                .all(|&n| (n as f64 / DRAWS as f64 - p).abs() < 5.0 * sd),
            "{c:?}"
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!(KeyDist::parse("zipf"), Some(KeyDist::Zipf));
        assert_eq!(KeyDist::parse("uniform"), Some(KeyDist::Uniform));
        assert_eq!(KeyDist::parse("Zipf"), None);
        assert_eq!(KeyDist::NAMES.len(), 2);
    }

    #[test]
    fn huge_exponents_leave_only_the_top_key() {
        let z = KeySampler::new(KeyDist::Zipf, 8, 1e300);
        assert!(counts(&z, 1).iter().skip(1).all(|&n| n == 0));
    }
}
