//! `throughput`: operations per time window by operation kind and outcome, one line each
//! (`ok` and `fail` at completion, `info` at invocation), over the fault bands.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Frame;
use crate::axis::Axis;
use crate::canvas::{self, Chart, LegendEntry, Swatch, de};
use crate::series::{self, ThroughputSeries};

pub struct Throughput<'a> {
    frame: &'a Frame<'a>,
    series: Vec<ThroughputSeries>,
    y: Axis,
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

fn outcome_name(o: proto::history::Outcome) -> &'static str {
    match o {
        proto::history::Outcome::Ok => "ok",
        proto::history::Outcome::Fail => "fail",
        proto::history::Outcome::Info => "info",
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
        for &i in &order {
            let s = &self.series[i];
            let colour = canvas::palette(i);
            let points: Vec<(f64, f64)> = s
                .counts
                .iter()
                .enumerate()
                .map(|(w, &c)| (f.window_x(w), c as f64))
                .collect();
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(de)?;
        }
        let mut entries: Vec<LegendEntry> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                LegendEntry::new(
                    Swatch::Line(canvas::palette(i)),
                    format!("{} {} ({})", s.f, outcome_name(s.outcome), s.total()),
                )
            })
            .collect();
        if self.series.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no client operations")?;
        }
        entries.push(LegendEntry::new(Swatch::Blank, "ok, fail: at completion"));
        entries.push(LegendEntry::new(Swatch::Blank, "info: at invocation"));
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Operation, outcome (total)", &entries)
    }
}
