//! The numbers behind a sweep's charts and tables, in integers: equal-width bins of whole
//! numbers (seeds, election counts) on 1-2-5 widths, seeds per bin by verdict, sorted
//! figure values across seeds and their nearest-rank summaries, and shares as tenths of a
//! percent. Work is bounded by the bin count, never by the seed count.

use std::collections::BTreeMap;

use super::load::{SeedRow, VERDICTS, Verdict};
use crate::series::nearest_rank;

/// Equal-width bins of whole numbers: bin `i` holds `start + i·width ..< start + (i+1)·width`.
/// Widths are 1-2-5 · 10^k and `start` a multiple of the width, so bin edges are round.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Bins {
    pub start: u128,
    pub width: u128,
    pub count: usize,
}

impl Bins {
    /// The narrowest bins that cover `lo..=hi` in at most `max` bins.
    pub fn choose(lo: u64, hi: u64, max: usize) -> Bins {
        assert!(lo <= hi, "{lo} > {hi}");
        assert!(max >= 1);
        let (lo, hi) = (u128::from(lo), u128::from(hi));
        let mut decade: u128 = 1;
        // 10^20 > u64::MAX: one bin covers any range by then.
        for _ in 0..=20 {
            for m in [1, 2, 5] {
                let width = decade * m;
                let start = lo - lo % width;
                let count = (hi - start) / width + 1;
                if count <= max as u128 {
                    let bins = Bins {
                        start,
                        width,
                        count: count as usize,
                    };
                    assert!(bins.start <= lo && bins.end(bins.count - 1) > hi);
                    return bins;
                }
            }
            decade *= 10;
        }
        unreachable!("a bin 10^20 wide covers any u64 range")
    }

    /// The bin holding `v` (which must lie in the covered range).
    pub fn index(&self, v: u64) -> usize {
        let v = u128::from(v);
        assert!(v >= self.start, "{v} below the bins");
        let i = ((v - self.start) / self.width) as usize;
        assert!(i < self.count, "{v} above the bins");
        i
    }

    pub fn start(&self, i: usize) -> u128 {
        assert!(i < self.count);
        self.start + i as u128 * self.width
    }

    /// The first value past bin `i`.
    pub fn end(&self, i: usize) -> u128 {
        self.start(i) + self.width
    }
}

/// Seeds per verdict, indexed by [`Verdict::index`].
pub type Counts = [u64; VERDICTS.len()];

pub fn findings(c: &Counts) -> u64 {
    c.iter().sum::<u64>() - c[Verdict::Pass.index()]
}

/// Seeds per bin and verdict, of `(value, verdict)` pairs (values inside `bins`).
pub fn stack(values: impl Iterator<Item = (u64, Verdict)>, bins: Bins) -> Vec<Counts> {
    let mut out = vec![[0u64; VERDICTS.len()]; bins.count];
    for (v, verdict) in values {
        out[bins.index(v)][verdict.index()] += 1;
    }
    out
}

/// `part` of `whole` as a percentage with one decimal (`12.3`), rounded half up, in integers.
pub fn percent_text(part: u64, whole: u64) -> String {
    assert!(whole > 0 && part <= whole, "{part} of {whole}");
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// A count short enough to label a bar: `950`, `12k`, `3M`.
pub fn count_text(n: u64) -> String {
    if n < 10_000 {
        n.to_string()
    } else if n < 10_000_000 {
        format!("{}k", n / 1_000)
    } else {
        format!("{}M", n / 1_000_000)
    }
}

/// The values of figure `name` across the seeds that have it (and pass `keep`), ascending.
pub fn figure_values(seeds: &[SeedRow], name: &str, keep: impl Fn(&SeedRow) -> bool) -> Vec<u64> {
    let mut v: Vec<u64> = seeds
        .iter()
        .filter(|r| keep(r))
        .filter_map(|r| r.figure(name))
        .collect();
    v.sort_unstable();
    v
}

/// Nearest-rank summary of one figure across seeds (the index's table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FigureSummary {
    pub name: String,
    pub seeds: usize,
    pub min: u64,
    pub p50: u64,
    pub p95: u64,
    pub max: u64,
}

/// Every figure any seed reported, by name.
pub fn figure_summaries(seeds: &[SeedRow]) -> Vec<FigureSummary> {
    let mut by_name: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in seeds {
        for (name, v) in &r.figures {
            by_name.entry(name.as_str()).or_default().push(*v);
        }
    }
    by_name
        .into_iter()
        .map(|(name, mut v)| {
            v.sort_unstable();
            FigureSummary {
                name: name.to_string(),
                seeds: v.len(),
                min: v[0],
                p50: nearest_rank(&v, 50),
                p95: nearest_rank(&v, 95),
                max: v[v.len() - 1],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_round_and_bounded() {
        let b = Bins::choose(0, 303, 50);
        assert_eq!((b.start, b.width, b.count), (0, 10, 31));
        assert_eq!(b.index(303), 30);
        let b = Bins::choose(7, 7, 50);
        assert_eq!((b.start, b.width, b.count), (7, 1, 1));
        let b = Bins::choose(1_000, 100_999, 50);
        assert_eq!((b.start, b.width, b.count), (0, 5_000, 21));
        let b = Bins::choose(0, u64::MAX, 50);
        assert!(b.count <= 50 && b.end(b.count - 1) > u128::from(u64::MAX));
        assert_eq!(b.index(u64::MAX), b.count - 1);
        for hi in [1u64, 49, 50, 51, 99_999, 123_456_789] {
            let b = Bins::choose(0, hi, 40);
            assert!(b.count <= 40 && b.count >= 1, "{hi} {b:?}");
        }
    }

    #[test]
    fn stacks_percentages_and_labels() {
        let b = Bins::choose(0, 19, 2);
        assert_eq!(b.width, 10);
        let s = stack(
            [
                (0, Verdict::Pass),
                (5, Verdict::Safety),
                (15, Verdict::Pass),
            ]
            .into_iter(),
            b,
        );
        assert_eq!(s[0][Verdict::Safety.index()], 1);
        assert_eq!((findings(&s[0]), findings(&s[1])), (1, 0));
        assert_eq!(percent_text(1, 3), "33.3");
        assert_eq!(percent_text(2, 3), "66.7");
        assert_eq!(percent_text(0, 7), "0.0");
        assert_eq!(percent_text(5, 5), "100.0");
        assert_eq!(count_text(9_999), "9999");
        assert_eq!(count_text(12_345), "12k");
        assert_eq!(count_text(12_345_678), "12M");
    }
}
