//! Chart axes with our own ticks and labels (a plotters `Ranged` coordinate): linear axes on
//! 1-2-5 steps, logarithmic axes on 1-2-5 bounds with labelled 1/2/5 (or 1..9) ticks. Labels
//! are formatted with a fixed number of decimals, so equal data give equal text.

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use std::ops::Range;

/// Most labelled ticks an axis produces.
const TICKS_MAX: usize = 40;

#[derive(Clone, Debug)]
pub struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Labelled ticks, ascending, with their labels.
    major: Vec<(f64, String)>,
    /// Grid-only ticks.
    minor: Vec<f64>,
}

/// `m · 10^e` for a 1-2-5 mantissa.
fn nice(m: u32, e: i32) -> f64 {
    f64::from(m) * 10f64.powi(e)
}

/// A log axis's end nearer to `v` than the 1..9 grid's `coarse` (a 1.2, 1.5 or 2.5 · 10^e
/// value between `coarse` and `v`'s side of the grid, as `(12, e − 1)` …), or `coarse`:
/// from 12.2 the axis ends at 15, not 20. `upward`: the end above `v`, else below it.
fn finer_end(coarse: (u32, i32), v: f64, upward: bool) -> (u32, i32) {
    let (m, e) = coarse;
    let candidates: &[u32] = match (m, upward) {
        (2, true) => &[12, 15],
        (3, true) => &[25],
        (1, false) => &[15, 12],
        (2, false) => &[25],
        _ => &[],
    };
    candidates
        .iter()
        .map(|&c| (c, e - 1))
        .find(|&(c, e)| {
            let x = nice(c, e);
            if upward {
                x >= v * (1.0 - 1e-9)
            } else {
                x <= v * (1.0 + 1e-9)
            }
        })
        .unwrap_or(coarse)
}

fn label(m: u32, e: i32, k: i64) -> String {
    // The value k·m·10^e written with exactly the decimals the step needs.
    let decimals = (-e).max(0) as usize;
    format!("{:.*}", decimals, k as f64 * nice(m, e))
}

/// The smallest 1-2-5 step that splits `span` into at most `1.25 · parts` parts.
fn step_for(span: f64, parts: f64) -> (u32, i32) {
    assert!(span > 0.0 && span.is_finite(), "span {span}");
    let raw = span / parts / 1.25;
    let e0 = raw.log10().floor() as i32;
    (e0..e0 + 3)
        .flat_map(|e| [1, 2, 5].map(|m| (m, e)))
        .find(|&(m, e)| nice(m, e) >= raw)
        .expect("a 1-2-5 step within two decades of the raw step")
}

impl Axis {
    /// A linear axis covering `lo..hi` (widened to whole steps), about 8 labelled steps.
    pub fn linear(lo: f64, hi: f64) -> Axis {
        Axis::linear_with(lo, hi, 8.0)
    }

    fn linear_with(lo: f64, hi: f64, parts: f64) -> Axis {
        assert!(lo.is_finite() && hi.is_finite(), "{lo}..{hi}");
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Axis::linear_stepped(lo, hi, step_for(hi - lo, parts))
    }

    /// A linear axis covering `lo..hi` (`lo < hi`) widened to whole steps of `m · 10^e`.
    fn linear_stepped(lo: f64, hi: f64, (m, e): (u32, i32)) -> Axis {
        let step = nice(m, e);
        let k0 = (lo / step).floor() as i64;
        let k1 = (hi / step - 1e-9).ceil() as i64;
        assert!(k1 > k0 && (k1 - k0) as usize <= TICKS_MAX, "{k0}..{k1}");
        let major: Vec<(f64, String)> = (k0..=k1)
            .map(|k| (k as f64 * step, label(m, e, k)))
            .collect();
        // Grid lines between the ticks: 4 per 2-step, 5 per 1- or 5-step.
        let parts: i64 = if m == 2 { 4 } else { 5 };
        let minor = (k0 * parts..=k1 * parts)
            .map(|i| i as f64 * step / parts as f64)
            .collect();
        Axis {
            lo: major[0].0,
            hi: major[major.len() - 1].0,
            log: false,
            major,
            minor,
        }
    }

    /// A linear axis from `lo` to exactly `hi` (a time axis ends where the run ends), with
    /// about 10 labelled steps inside it.
    pub fn linear_exact(lo: f64, hi: f64) -> Axis {
        let axis = Axis::linear_with(lo, hi, 10.0);
        let hi = if hi > lo { hi } else { axis.hi };
        axis.ending_at(hi)
    }

    /// This axis cut to end at exactly `hi` (within it).
    fn ending_at(mut self, hi: f64) -> Axis {
        self.major.retain(|(v, _)| *v <= hi * (1.0 + 1e-12));
        self.minor.retain(|v| *v <= hi);
        self.hi = hi;
        assert!(self.major.len() >= 2, "{self:?}");
        self
    }

    /// An axis of counts from 0 to exactly `hi` (at least 1): ticks on whole 1-2-5 steps
    /// only, about 10 of them, so that no count above the largest is drawn.
    pub fn counts(hi: u64) -> Axis {
        let hi = hi.max(1) as f64;
        let step = step_for(hi, 10.0);
        let step = if step.1 < 0 { (1, 0) } else { step };
        Axis::linear_stepped(0.0, hi, step).ending_at(hi)
    }

    /// A linear axis from exactly `lo` to exactly `hi` (`lo < hi`), with about 10 labelled
    /// steps inside it: for bars of whole numbers, which reach half a unit beyond their
    /// values, so that no tick outside the data is invented.
    pub fn linear_within(lo: f64, hi: f64) -> Axis {
        assert!(lo.is_finite() && hi.is_finite() && lo < hi, "{lo}..{hi}");
        let mut axis = Axis::linear_exact(lo, hi);
        let slack = (hi - lo) * 1e-12;
        axis.major.retain(|(v, _)| *v >= lo - slack);
        axis.minor.retain(|v| *v >= lo);
        axis.lo = lo;
        assert!(axis.major.len() >= 2, "{axis:?}");
        axis
    }

    /// An axis of rows `lo..=hi` (whole numbers, such as process ids), each row labelled
    /// and given a unit of height (the axis runs from `lo − 0.5` to `hi + 0.5`); with more
    /// rows than labels fit, every k-th is labelled.
    pub fn rows(lo: u32, hi: u32) -> Axis {
        assert!(lo <= hi, "rows {lo}..={hi}");
        let n = (hi - lo) as usize + 1;
        let stride = n.div_ceil(TICKS_MAX).max(1);
        let major: Vec<(f64, String)> = (lo..=hi)
            .step_by(stride)
            .map(|r| (f64::from(r), r.to_string()))
            .collect();
        assert!(!major.is_empty() && major.len() <= TICKS_MAX);
        Axis {
            lo: f64::from(lo) - 0.5,
            hi: f64::from(hi) + 0.5,
            log: false,
            major,
            minor: Vec::new(),
        }
    }

    /// A logarithmic axis covering `lo..hi` (both > 0), widened to the nearest 1..9 · 10^e
    /// values; labelled at every such value over about a decade, at 1-2-5 over up to 2.5
    /// decades, at powers of ten beyond (and always at both ends).
    pub fn log(lo: f64, hi: f64) -> Axis {
        assert!(lo > 0.0 && hi.is_finite(), "{lo}..{hi}");
        let hi = if hi > lo { hi } else { lo * 10.0 };
        let e0 = lo.log10().floor() as i32;
        let e1 = hi.log10().ceil() as i32;
        assert!(e1 >= e0 && e1 - e0 <= 30, "decades {e0}..{e1}");
        let mut grid: Vec<(u32, i32)> = Vec::new();
        for e in e0..=e1 {
            for m in 1..=9 {
                grid.push((m, e));
            }
        }
        let start = grid
            .iter()
            .rposition(|&(m, e)| nice(m, e) <= lo * (1.0 + 1e-9))
            .unwrap_or(0);
        let end = grid
            .iter()
            .position(|&(m, e)| nice(m, e) >= hi * (1.0 - 1e-9))
            .unwrap_or(grid.len() - 1);
        assert!(start < end, "{lo}..{hi}");
        let mut within = grid[start..=end].to_vec();
        let n = within.len();
        within[0] = finer_end(within[0], lo, false);
        within[n - 1] = finer_end(within[n - 1], hi, true);
        let (first, last) = (within[0], within[n - 1]);
        let decades = (nice(last.0, last.1) / nice(first.0, first.1)).log10();
        let pick = |m: u32| {
            if decades <= 1.2 {
                true
            } else if decades <= 2.5 {
                matches!(m, 1 | 2 | 5)
            } else {
                m == 1
            }
        };
        let mut major: Vec<(f64, String)> = Vec::new();
        let mut minor = Vec::new();
        for &(m, e) in &within {
            if pick(m) || (m, e) == first || (m, e) == last {
                major.push((nice(m, e), label(m, e, 1)));
            } else {
                minor.push(nice(m, e));
            }
        }
        assert!(major.len() >= 2 && major.len() <= TICKS_MAX, "{major:?}");
        let mut axis = Axis {
            lo: major[0].0,
            hi: major[major.len() - 1].0,
            log: true,
            major,
            minor,
        };
        // An end label crowding its neighbour (under 5 % of the axis away) goes unlabelled.
        let n = axis.major.len();
        if n >= 4 {
            let gap = |a: f64, b: f64| (axis.fraction(b) - axis.fraction(a)).abs();
            let crowded_hi = gap(axis.major[n - 2].0, axis.major[n - 1].0) < 0.05;
            let crowded_lo = gap(axis.major[0].0, axis.major[1].0) < 0.05;
            if crowded_hi {
                let (v, _) = axis.major.remove(n - 1);
                axis.minor.push(v);
            }
            if crowded_lo {
                let (v, _) = axis.major.remove(0);
                axis.minor.push(v);
            }
        }
        axis
    }

    /// Linear, or logarithmic when the positive values span more than `ratio`×.
    pub fn auto(lo_positive: f64, hi: f64, ratio: f64) -> Axis {
        if lo_positive > 0.0 && hi / lo_positive > ratio {
            Axis::log(lo_positive, hi)
        } else {
            Axis::linear(0.0, hi)
        }
    }

    pub fn lo(&self) -> f64 {
        self.lo
    }

    pub fn hi(&self) -> f64 {
        self.hi
    }

    pub fn is_log(&self) -> bool {
        self.log
    }

    /// Where `v` lies between `lo` (0) and `hi` (1).
    pub fn fraction(&self, v: f64) -> f64 {
        let f = if self.log {
            let v = if v > 0.0 { v } else { self.lo };
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        if f.is_finite() {
            f.clamp(-1.0, 2.0)
        } else {
            0.0
        }
    }

    /// The value at fraction `f` of the axis.
    pub fn at_fraction(&self, f: f64) -> f64 {
        if self.log {
            10f64.powf(self.lo.log10() + f * (self.hi.log10() - self.lo.log10()))
        } else {
            self.lo + f * (self.hi - self.lo)
        }
    }

    /// `v` moved inside the axis.
    pub fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.lo, self.hi)
    }

    /// The labelled tick values.
    pub fn ticks(&self) -> impl Iterator<Item = f64> + '_ {
        self.major.iter().map(|(v, _)| *v)
    }
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = self.fraction(*value);
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let max = hint.max_num_points().max(2);
        if hint.weight().allow_light_points() {
            let mut all: Vec<f64> = self.minor.clone();
            all.extend(self.ticks());
            all.sort_by(f64::total_cmp);
            all.dedup();
            let stride = all.len().div_ceil(max).max(1);
            return all.into_iter().step_by(stride).collect();
        }
        let stride = self.major.len().div_ceil(max).max(1);
        self.ticks().step_by(stride).collect()
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, value: &f64) -> String {
        match self.major.iter().find(|(v, _)| v == value) {
            Some((_, text)) => text.clone(),
            None => format!("{value:.3}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(a: &Axis) -> Vec<String> {
        a.major.iter().map(|(_, l)| l.clone()).collect()
    }

    #[test]
    fn linear_axes_step_by_1_2_5() {
        let a = Axis::linear(0.0, 8020.0);
        assert_eq!(labels(&a)[..3], ["0", "1000", "2000"]);
        assert_eq!(a.hi(), 9000.0);
        assert_eq!(labels(&Axis::linear(0.0, 14.0))[..3], ["0", "2", "4"]);
        let a = Axis::linear(0.0, 0.93);
        assert_eq!(labels(&a)[..3], ["0.0", "0.1", "0.2"]);
        assert!(a.hi() >= 0.93);
        let a = Axis::linear(0.0, 100.0);
        assert_eq!(labels(&a)[..3], ["0", "10", "20"]);
        assert_eq!(a.hi(), 100.0);
        let a = Axis::linear(0.0, 0.0);
        assert!(a.hi() > a.lo());
        assert_eq!(a.fraction(a.lo()), 0.0);
        assert_eq!(a.fraction(a.hi()), 1.0);
        assert_eq!(a.map(&a.hi(), (500, 10)), 10);
        let t = Axis::linear_exact(0.0, 8020.0);
        assert_eq!(t.hi(), 8020.0);
        assert_eq!(labels(&t).last().map(String::as_str), Some("8000"));
        assert_eq!(labels(&t)[1], "1000");
        let w = Axis::linear_within(-0.5, 309.5);
        assert_eq!((w.lo(), w.hi()), (-0.5, 309.5));
        assert_eq!(labels(&w)[..2], ["0", "50"]);
        assert_eq!(labels(&w).last().map(String::as_str), Some("300"));
        let w = Axis::linear_within(-0.5, 7.5);
        assert_eq!(labels(&w), ["0", "1", "2", "3", "4", "5", "6", "7"]);
        let r = Axis::rows(5, 8);
        assert_eq!((r.lo(), r.hi()), (4.5, 8.5));
        assert_eq!(labels(&r), ["5", "6", "7", "8"]);
        assert_eq!(
            labels(&Axis::rows(0, 99)).len(),
            34,
            "every 3rd of 100 rows"
        );
    }

    #[test]
    fn count_axes_end_at_the_largest_count_on_whole_ticks() {
        let a = Axis::counts(5);
        assert_eq!((a.lo(), a.hi()), (0.0, 5.0));
        assert_eq!(labels(&a), ["0", "1", "2", "3", "4", "5"]);
        let a = Axis::counts(1);
        assert_eq!((a.hi(), labels(&a)), (1.0, vec!["0".into(), "1".into()]));
        let a = Axis::counts(109);
        assert_eq!(a.hi(), 109.0, "not 140");
        assert_eq!(labels(&a).last().map(String::as_str), Some("100"));
        assert!(labels(&a).iter().all(|l| !l.contains('.')));
        let a = Axis::counts(0);
        assert_eq!(a.hi(), 1.0);
    }

    #[test]
    fn log_axes_have_1_2_5_bounds() {
        let a = Axis::log(3.8, 11.7);
        assert_eq!((a.lo(), a.hi()), (3.0, 12.0), "12, not 20");
        assert_eq!(labels(&a), ["3", "4", "5", "6", "7", "8", "9", "10", "12"]);
        let a = Axis::log(3.6, 12.2);
        assert_eq!((a.lo(), a.hi()), (3.0, 15.0));
        let a = Axis::log(1.6, 2.2);
        assert_eq!((a.lo(), a.hi()), (1.5, 2.5));
        assert_eq!(labels(&a), ["1.5", "2", "2.5"]);
        let a = Axis::log(0.05, 1500.0);
        assert_eq!((a.lo(), a.hi()), (0.05, 1500.0));
        assert_eq!(labels(&a)[..4], ["0.05", "0.1", "1", "10"]);
        let a = Axis::log(8.5, 990.0);
        assert_eq!((a.lo(), a.hi()), (8.0, 1000.0));
        assert_eq!(labels(&a)[0], "10", "8 crowds 10: {a:?}");
        let a = Axis::log(0.4, 90.0);
        assert_eq!(labels(&a)[..4], ["0.5", "1", "2", "5"], "0.4 crowds 0.5");
        assert!((a.fraction(a.at_fraction(0.5)) - 0.5).abs() < 1e-9);
        assert_eq!(
            a.fraction(0.0),
            0.0,
            "non-positive values sit at the bottom"
        );
        assert!(Axis::auto(1.0, 1000.0, 20.0).is_log());
        assert!(!Axis::auto(4.0, 12.0, 20.0).is_log());
    }
}
