//! The numbers behind the charts, in integers: time windows, nearest-rank latency quantiles
//! per window, completions per window by operation and outcome, and per-operation latency
//! distributions. Every collection is ordered (Vec or BTreeMap), so equal inputs give equal
//! series.

use proto::history::Outcome;
use std::collections::BTreeMap;

use crate::load::OpSample;

/// Windows per run the chooser aims for: at most this many…
pub const WINDOWS_MAX: u64 = 200;
/// …and at least this many when the run is long enough for 1 µs windows.
pub const WINDOWS_MIN: u64 = 50;
const WINDOW_NS_MIN: u64 = 1_000;

/// Equal time windows from 0 covering a run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Windows {
    pub width_ns: u64,
    pub count: usize,
}

impl Windows {
    /// The smallest 1-2-5 width (≥ 1 µs) that covers `span_ns` in at most [`WINDOWS_MAX`]
    /// windows; consecutive widths differ by at most 2.5×, so it gives more than 80 windows
    /// whenever the span is at least 80 µs.
    pub fn choose(span_ns: u64) -> Windows {
        let span_ns = span_ns.max(1);
        let mut decade = WINDOW_NS_MIN;
        for _ in 0..20 {
            for m in [1, 2, 5] {
                let width = decade * m;
                let count = span_ns.div_ceil(width);
                if count <= WINDOWS_MAX {
                    // The next smaller width gave more than WINDOWS_MAX windows.
                    assert!(width == WINDOW_NS_MIN || count > WINDOWS_MAX * 2 / 5);
                    let w = Windows {
                        width_ns: width,
                        count: count as usize,
                    };
                    assert!(w.count >= 1 && (w.count as u64) * width >= span_ns);
                    return w;
                }
            }
            decade *= 10;
        }
        unreachable!("a 1e19 ns window covers any u64 span")
    }

    /// The window `t_ns` falls in (the last one for times at or past the end).
    pub fn index(&self, t_ns: u64) -> usize {
        ((t_ns / self.width_ns) as usize).min(self.count - 1)
    }

    pub fn start_ns(&self, index: usize) -> u64 {
        assert!(index < self.count);
        index as u64 * self.width_ns
    }
}

/// Nearest-rank percentile `pct` (1..=100) of ascending `sorted` (non-empty): the value at
/// rank ⌈pct·n/100⌉.
pub fn nearest_rank(sorted: &[u64], pct: u64) -> u64 {
    assert!(!sorted.is_empty(), "a percentile of nothing");
    assert!((1..=100).contains(&pct), "percentile {pct}");
    debug_assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "not sorted");
    let n = sorted.len() as u64;
    let rank = (pct * n).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

/// Latency quantiles of the ops invoked in one window.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct QuantileRow {
    pub window: usize,
    pub n: usize,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

/// Quantiles of a non-empty ascending sample.
pub fn quantile_row(window: usize, sorted: &[u64]) -> QuantileRow {
    let row = QuantileRow {
        window,
        n: sorted.len(),
        p50: nearest_rank(sorted, 50),
        p95: nearest_rank(sorted, 95),
        p99: nearest_rank(sorted, 99),
        max: *sorted.last().expect("non-empty"),
    };
    assert!(row.p50 <= row.p95 && row.p95 <= row.p99 && row.p99 <= row.max);
    row
}

/// Per window (by invocation time), the latency quantiles of the answered (ok and fail) ops;
/// windows without any are left out.
pub fn quantiles(ops: &[OpSample], windows: Windows) -> Vec<QuantileRow> {
    let mut by_window: Vec<Vec<u64>> = vec![Vec::new(); windows.count];
    for op in ops {
        if let Some(latency) = op.latency_ns {
            by_window[windows.index(op.invoke_ns)].push(latency);
        }
    }
    by_window
        .iter_mut()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(i, v)| {
            v.sort_unstable();
            quantile_row(i, v)
        })
        .collect()
}

/// Completions per window of one operation kind with one outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThroughputSeries {
    pub f: &'static str,
    pub outcome: Outcome,
    /// One count per window.
    pub counts: Vec<u64>,
}

impl ThroughputSeries {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Ops per window by (operation, outcome), ordered by operation name then outcome: `ok`
/// and `fail` counted at completion, `info` at invocation.
pub fn throughput(ops: &[OpSample], windows: Windows) -> Vec<ThroughputSeries> {
    let mut series: BTreeMap<(&'static str, Outcome), Vec<u64>> = BTreeMap::new();
    for op in ops {
        let counts = series
            .entry((op.f, op.outcome))
            .or_insert_with(|| vec![0; windows.count]);
        counts[windows.index(op.counted_ns)] += 1;
    }
    let out: Vec<ThroughputSeries> = series
        .into_iter()
        .map(|((f, outcome), counts)| ThroughputSeries { f, outcome, counts })
        .collect();
    assert_eq!(
        out.iter().map(ThroughputSeries::total).sum::<u64>(),
        ops.len() as u64
    );
    out
}

/// Latencies (ascending) of one operation kind's answered ops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyDistribution {
    pub f: &'static str,
    pub sorted_ns: Vec<u64>,
}

/// One distribution per operation kind that has answered ops, by operation name.
pub fn distributions(ops: &[OpSample]) -> Vec<LatencyDistribution> {
    let mut by_f: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    for op in ops {
        if let Some(latency) = op.latency_ns {
            by_f.entry(op.f).or_default().push(latency);
        }
    }
    by_f.into_iter()
        .map(|(f, mut v)| {
            v.sort_unstable();
            LatencyDistribution { f, sorted_ns: v }
        })
        .collect()
}

/// Counts and latency quantiles of one operation kind over the whole run (the index's table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpSummary {
    pub f: &'static str,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    /// Over ok and fail ops; None when there is none.
    pub latency: Option<QuantileRow>,
}

pub fn summaries(ops: &[OpSample]) -> Vec<OpSummary> {
    let mut counts: BTreeMap<&'static str, [u64; 3]> = BTreeMap::new();
    for op in ops {
        let c = counts.entry(op.f).or_default();
        match op.outcome {
            Outcome::Ok => c[0] += 1,
            Outcome::Fail => c[1] += 1,
            Outcome::Info => c[2] += 1,
        }
    }
    let dists: BTreeMap<&'static str, Vec<u64>> = distributions(ops)
        .into_iter()
        .map(|d| (d.f, d.sorted_ns))
        .collect();
    counts
        .into_iter()
        .map(|(f, [ok, fail, info])| OpSummary {
            f,
            ok,
            fail,
            info,
            latency: dists.get(f).map(|v| quantile_row(0, v)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(f: &'static str, outcome: Outcome, invoke_ns: u64, latency: Option<u64>) -> OpSample {
        OpSample {
            f,
            outcome,
            invoke_ns,
            latency_ns: latency,
            counted_ns: invoke_ns + latency.unwrap_or(0),
        }
    }

    #[test]
    fn windows_are_nice_and_number_50_to_200() {
        for span in [
            80_000u64,
            1_000_000,
            8_020_000_000,
            10_000_000_000,
            60_000_000_000,
            3_600_000_000_000,
        ] {
            let w = Windows::choose(span);
            assert!(
                (WINDOWS_MIN as usize..=WINDOWS_MAX as usize).contains(&w.count),
                "{span} {w:?}"
            );
            let mut m = w.width_ns;
            while m.is_multiple_of(10) {
                m /= 10;
            }
            assert!([1, 2, 5].contains(&m), "{w:?}");
        }
        assert_eq!(Windows::choose(8_020_000_000).width_ns, 50_000_000);
        assert_eq!(Windows::choose(1).count, 1);
        let w = Windows::choose(1_000_000);
        assert_eq!(w.index(u64::MAX), w.count - 1);
    }

    #[test]
    fn nearest_rank_matches_the_definition() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 50), 50);
        assert_eq!(nearest_rank(&v, 99), 99);
        assert_eq!(nearest_rank(&v, 100), 100);
        assert_eq!(nearest_rank(&[7], 1), 7);
        assert_eq!(nearest_rank(&[1, 2, 3], 50), 2);
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), 2);
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 95), 4);
    }

    #[test]
    fn info_ops_have_no_latency_but_count_in_throughput() {
        let w = Windows {
            width_ns: 10,
            count: 3,
        };
        let ops = vec![
            op("get_data", Outcome::Ok, 0, Some(5)),
            op("get_data", Outcome::Ok, 1, Some(15)),
            op("set_data", Outcome::Info, 12, None),
            op("set_data", Outcome::Fail, 21, Some(3)),
        ];
        let q = quantiles(&ops, w);
        assert_eq!(q.len(), 2);
        assert_eq!((q[0].window, q[0].n, q[0].p50, q[0].max), (0, 2, 5, 15));
        assert_eq!((q[1].window, q[1].n), (2, 1));
        let t = throughput(&ops, w);
        let keys: Vec<_> = t.iter().map(|s| (s.f, s.outcome)).collect();
        assert_eq!(
            keys,
            [
                ("get_data", Outcome::Ok),
                ("set_data", Outcome::Fail),
                ("set_data", Outcome::Info)
            ]
        );
        assert_eq!(t[0].counts, [1, 1, 0]);
        assert_eq!(t[2].counts, [0, 1, 0]);
        let d = distributions(&ops);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].sorted_ns, [5, 15]);
        let s = summaries(&ops);
        assert_eq!((s[1].f, s[1].fail, s[1].info), ("set_data", 1, 1));
        assert_eq!(s[1].latency.unwrap().max, 3);
    }
}
