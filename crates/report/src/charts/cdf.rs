//! `latency-cdf`: for each operation kind, the fraction of its answered (ok and fail)
//! operations at or below each latency, on a logarithmic latency axis; and the recipes'
//! duration distributions drawn the same way (`Durations`: the lock's waits and holds, the
//! queue's times in queue).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Frame;
use crate::axis::Axis;
use crate::canvas::{self, Chart, LegendEntry, Swatch, de};
use crate::series::{self, LatencyDistribution, nearest_rank};

/// Most points per curve (evenly spaced ranks, always the first and the last).
pub const POINTS_PER_CURVE_MAX: usize = 1_000;

pub struct Cdf<'a> {
    frame: &'a Frame<'a>,
    curves: Vec<LatencyDistribution>,
    x: Axis,
}

impl<'a> Cdf<'a> {
    pub fn new(frame: &'a Frame<'a>) -> Cdf<'a> {
        let curves = series::distributions(&frame.data.ops);
        let lo = curves
            .iter()
            .filter_map(|c| c.sorted_ns.iter().copied().find(|&v| v > 0))
            .min();
        let hi = curves
            .iter()
            .filter_map(|c| c.sorted_ns.last().copied())
            .max();
        let x = match (lo, hi) {
            (Some(lo), Some(hi)) => Axis::log(canvas::ms(lo), canvas::ms(hi)),
            _ => Axis::log(0.1, 10.0),
        };
        Cdf { frame, curves, x }
    }
}

/// The curve's points: (latency ms, % of ops at or below), a step function sampled at up
/// to [`POINTS_PER_CURVE_MAX`] ranks.
pub fn curve_points(sorted: &[u64]) -> Vec<(f64, f64)> {
    step_points(sorted, canvas::ms)
}

/// An empirical CDF of ascending `sorted` (non-empty) as a step function: points
/// (`x(value)`, % of values at or below it), sampled at up to [`POINTS_PER_CURVE_MAX`]
/// evenly spaced ranks, always the first and the last.
pub fn step_points(sorted: &[u64], x: impl Fn(u64) -> f64) -> Vec<(f64, f64)> {
    let n = sorted.len();
    assert!(n > 0);
    let take = n.min(POINTS_PER_CURVE_MAX);
    let mut points = Vec::with_capacity(take * 2 + 1);
    let mut previous_pct = 0.0;
    for k in 0..take {
        // Ranks 0 ..= n-1, evenly, ending at the last.
        let i = if take == 1 {
            n - 1
        } else {
            k * (n - 1) / (take - 1)
        };
        let x = x(sorted[i]);
        let pct = (i + 1) as f64 * 100.0 / n as f64;
        points.push((x, previous_pct));
        points.push((x, pct));
        previous_pct = pct;
    }
    assert!(points.len() <= 2 * POINTS_PER_CURVE_MAX);
    points
}

impl Chart for Cdf<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let title = f.title("Latency distribution per operation");
        let (area, legend) = canvas::layout(root, &title)?;
        let y = Axis::linear(0.0, 100.0);
        let mut chart = canvas::plot(
            &area,
            (self.x.clone(), y.clone()),
            ("latency (ms, log scale)", "operations at or below (%)"),
            canvas::top_margin(0),
        )?;
        let mut entries = Vec::new();
        for (i, c) in self.curves.iter().enumerate() {
            let colour = canvas::palette(i);
            let points: Vec<(f64, f64)> = curve_points(&c.sorted_ns)
                .into_iter()
                .map(|(x, y)| (self.x.clamp(x), y))
                .collect();
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(de)?;
            let p99 = nearest_rank(&c.sorted_ns, 99);
            entries.push(LegendEntry::new(
                Swatch::Line(colour),
                format!(
                    "{} (n={}, p99 {})",
                    c.f,
                    c.sorted_ns.len(),
                    crate::units::duration(p99)
                ),
            ));
        }
        if self.curves.is_empty() {
            canvas::draw_empty_note(&mut chart, (&self.x, &y), "no answered operations")?;
        }
        entries.push(LegendEntry::new(
            Swatch::Blank,
            "ok + fail ops; info have none",
        ));
        canvas::draw_legend(&legend, "Operation", &entries)
    }
}

/// What a [`Durations`] chart says around its curves.
pub struct DurationLabels {
    /// The chart's title (before the scenario and seed).
    pub title: &'static str,
    pub x_desc: &'static str,
    pub y_desc: &'static str,
    /// The legend's heading.
    pub legend: &'static str,
    /// Shown on the plot when every curve is empty.
    pub empty: &'static str,
    /// Legend lines under the curves' entries (what each duration measures).
    pub notes: &'static [&'static str],
}

/// Named duration distributions (ns) as CDFs on a log ms axis, each curve's legend entry
/// with its count, p50 and p99; an empty curve keeps its colour but is not drawn.
pub struct Durations<'a> {
    frame: &'a Frame<'a>,
    labels: DurationLabels,
    /// (name, ascending durations ns).
    curves: Vec<(&'static str, Vec<u64>)>,
    x: Axis,
}

impl<'a> Durations<'a> {
    pub fn new(
        frame: &'a Frame<'a>,
        labels: DurationLabels,
        curves: Vec<(&'static str, Vec<u64>)>,
    ) -> Durations<'a> {
        for (name, c) in &curves {
            assert!(c.is_sorted(), "curve {name} is not ascending");
        }
        let lo = curves
            .iter()
            .filter_map(|(_, c)| c.iter().copied().find(|&v| v > 0))
            .min();
        let hi = curves.iter().filter_map(|(_, c)| c.last().copied()).max();
        let x = match (lo, hi) {
            (Some(lo), Some(hi)) => Axis::log(canvas::ms(lo), canvas::ms(hi)),
            _ => Axis::log(0.1, 10.0),
        };
        Durations {
            frame,
            labels,
            curves,
            x,
        }
    }
}

impl Chart for Durations<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let l = &self.labels;
        let (area, legend) = canvas::layout(root, &self.frame.title(l.title))?;
        let y = Axis::linear(0.0, 100.0);
        let mut chart = canvas::plot(
            &area,
            (self.x.clone(), y.clone()),
            (l.x_desc, l.y_desc),
            canvas::top_margin(0),
        )?;
        let mut entries = Vec::new();
        for (i, (name, sorted)) in self.curves.iter().enumerate() {
            if sorted.is_empty() {
                continue;
            }
            let colour = canvas::palette(i);
            let points: Vec<(f64, f64)> = step_points(sorted, canvas::ms)
                .into_iter()
                .map(|(x, y)| (self.x.clamp(x), y))
                .collect();
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(de)?;
            entries.push(LegendEntry::new(
                Swatch::Line(colour),
                format!("{name} (n={})", sorted.len()),
            ));
            entries.push(LegendEntry::new(
                Swatch::Blank,
                format!(
                    "p50 {}, p99 {}",
                    crate::units::duration(nearest_rank(sorted, 50)),
                    crate::units::duration(nearest_rank(sorted, 99))
                ),
            ));
        }
        if self.curves.iter().all(|(_, c)| c.is_empty()) {
            canvas::draw_empty_note(&mut chart, (&self.x, &y), l.empty)?;
        }
        for &note in l.notes {
            entries.push(LegendEntry::new(Swatch::Blank, note));
        }
        canvas::draw_legend(&legend, l.legend, &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_rise_to_100_percent_in_steps() {
        let p = curve_points(&[1_000_000, 2_000_000, 2_000_000, 4_000_000]);
        assert_eq!(p.first(), Some(&(1.0, 0.0)));
        assert_eq!(p.last(), Some(&(4.0, 100.0)));
        assert!(p.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        let many: Vec<u64> = (1..=10_000).collect();
        let p = curve_points(&many);
        assert_eq!(p.len(), 2 * POINTS_PER_CURVE_MAX);
        assert_eq!(p.last(), Some(&(canvas::ms(10_000), 100.0)));
    }
}
