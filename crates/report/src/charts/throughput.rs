//! `throughput`: operations per time window by operation kind and outcome, one line each
//! (`ok` and `fail` at completion, `info` at invocation), over the fault bands.

use plotters::coord::Shift;
use plotters::prelude::*;
use proto::history::Outcome;
use std::collections::BTreeSet;
use std::ops::Range;

use super::Frame;
use crate::axis::Axis;
use crate::canvas::{self, Chart, LegendEntry, Swatch, de};
use crate::series::{self, ThroughputSeries};

pub struct Throughput<'a> {
    frame: &'a Frame<'a>,
    series: Vec<ThroughputSeries>,
    y: Axis,
}

impl Throughput<'_> {
    /// Series `i`'s colour: its operation's, one per operation kind in name order.
    fn colour(&self, i: usize) -> RGBColor {
        let f = self.series[i].f;
        let kinds: BTreeSet<&str> = self.series.iter().map(|s| s.f).collect();
        canvas::palette(kinds.iter().position(|&k| k == f).unwrap_or(0))
    }
}

impl<'a> Throughput<'a> {
    pub fn new(frame: &'a Frame<'a>) -> Throughput<'a> {
        let series = series::throughput(&frame.data.ops, frame.windows);
        let max = series
            .iter()
            .flat_map(|s| s.counts.iter().copied())
            .max()
            .unwrap_or(0);
        let y = Axis::linear(0.0, (max as f64 * 1.1).max(1.0));
        Throughput { frame, series, y }
    }
}

/// The windows a series is drawn over when its zeros are left out: each window with a
/// count and its neighbours (where the line steps to zero), as runs of consecutive windows.
pub fn drawn_runs(counts: &[u64]) -> Vec<Range<usize>> {
    let near = |w: usize| {
        let lo = w.saturating_sub(1);
        let hi = (w + 1).min(counts.len() - 1);
        counts[lo..=hi].iter().any(|&c| c > 0)
    };
    let mut runs: Vec<Range<usize>> = Vec::new();
    for w in (0..counts.len()).filter(|&w| near(w)) {
        match runs.last_mut() {
            Some(last) if last.end == w => last.end = w + 1,
            _ => runs.push(w..w + 1),
        }
    }
    runs
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    }
}

impl Chart for Throughput<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let window = canvas::duration_label(f.windows.width_ns);
        let title = f.title(&format!("Operations per {window} window"));
        let (area, legend) = canvas::layout(root, &title)?;
        let x = f.time.axis(f.span_ns);
        let y_desc = format!("operations per {window}");
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&f.time.desc(), &y_desc),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        // The largest series first, so that small ones stay visible on top.
        let mut order: Vec<usize> = (0..self.series.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(self.series[i].total()), i));
        // Only the largest runs along zero: the others' zero stretches would hide the axis
        // and each other.
        for (rank, &i) in order.iter().enumerate() {
            let counts = &self.series[i].counts;
            let runs: Vec<Range<usize>> = if rank == 0 {
                std::iter::once(0..counts.len()).collect()
            } else {
                drawn_runs(counts)
            };
            let s = &self.series[i];
            let colour = self.colour(i);
            for run in runs {
                let points: Vec<(f64, f64)> =
                    run.map(|w| (f.window_x(w), counts[w] as f64)).collect();
                match s.outcome {
                    Outcome::Ok => {
                        chart.draw_series(LineSeries::new(points, colour.stroke_width(2)))
                    }
                    Outcome::Fail => chart.draw_series(std::iter::once(canvas::dashed(
                        points,
                        colour,
                        canvas::DASH,
                    ))),
                    Outcome::Info => chart.draw_series(std::iter::once(canvas::dashed(
                        points,
                        colour,
                        canvas::DOT,
                    ))),
                }
                .map_err(de)?;
            }
        }
        let mut entries: Vec<LegendEntry> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let colour = self.colour(i);
                let swatch = match s.outcome {
                    Outcome::Ok => Swatch::Line(colour),
                    Outcome::Fail => Swatch::Dashed(colour),
                    Outcome::Info => Swatch::Dotted(colour),
                };
                let label = format!("{} {} ({})", s.f, outcome_name(s.outcome), s.total());
                LegendEntry::new(swatch, label)
            })
            .collect();
        if self.series.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no client operations")?;
        }
        entries.push(LegendEntry::new(Swatch::Blank, "ok, fail: at completion"));
        entries.push(LegendEntry::new(Swatch::Blank, "info: at invocation"));
        if self.series.len() > 1 {
            entries.push(LegendEntry::new(
                Swatch::Blank,
                "smaller series: not drawn at 0",
            ));
        }
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Operation, outcome (total)", &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_stretches_are_left_out_but_the_steps_to_zero_kept() {
        assert_eq!(drawn_runs(&[0, 0, 3, 0, 0, 0, 0, 1, 1, 0]), [1..4, 6..10]);
        assert_eq!(drawn_runs(&[5]).first(), Some(&(0..1)));
        assert!(drawn_runs(&[0, 0, 0]).is_empty());
        let runs = drawn_runs(&[0, 2, 0, 2, 0]);
        assert_eq!((runs.len(), runs.first()), (1, Some(&(0..5))));
    }
}
