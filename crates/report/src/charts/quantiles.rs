//! `latency-quantiles`: p50, p95, p99 and max latency of the operations invoked in each time
//! window (nearest-rank, over ok and fail ops) — p50/p95/p99 as lines broken where a window
//! had no answered op, max as dots — over the fault bands. [`Quantiles::from_rows`] draws
//! the same chart of other latencies (the message queue's produce latency).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Frame;
use crate::axis::Axis;
use crate::canvas::{self, Chart, LegendEntry, Swatch, de};
use crate::series::{self, QuantileRow};

const LOG_RATIO: f64 = 20.0;

/// Which field of a row a line shows.
type Field = fn(&QuantileRow) -> u64;

/// The lines: name, colour, field.
const LINES: [(&str, RGBColor, Field); 4] = [
    ("p50", RGBColor(31, 119, 180), |r| r.p50),
    ("p95", RGBColor(44, 140, 44), |r| r.p95),
    ("p99", RGBColor(255, 127, 14), |r| r.p99),
    ("max", RGBColor(214, 39, 40), |r| r.max),
];

pub struct Quantiles<'a> {
    frame: &'a Frame<'a>,
    rows: Vec<QuantileRow>,
    y: Axis,
    /// The title's subject and what the samples are (for the legend and an empty chart).
    what: &'static str,
    samples: &'static str,
}

impl<'a> Quantiles<'a> {
    pub fn new(frame: &'a Frame<'a>) -> Quantiles<'a> {
        let rows = series::quantiles(&frame.data.ops, frame.windows);
        Quantiles::from_rows(frame, rows, "Latency quantiles", "ops")
    }

    /// The chart of `rows` (windows ascending), titled `what`, whose samples are `samples`.
    pub fn from_rows(
        frame: &'a Frame<'a>,
        rows: Vec<QuantileRow>,
        what: &'static str,
        samples: &'static str,
    ) -> Quantiles<'a> {
        assert!(rows.windows(2).all(|w| w[0].window < w[1].window));
        let lo = rows.iter().map(|r| r.p50).filter(|&v| v > 0).min();
        let hi = rows.iter().map(|r| r.max).max();
        let y = match (lo, hi) {
            (Some(lo), Some(hi)) => {
                let axis = Axis::auto(canvas::ms(lo), canvas::ms(hi), LOG_RATIO);
                if axis.is_log() {
                    // Room above the largest max, whose dot would be cut by the frame.
                    Axis::log(canvas::ms(lo), canvas::ms(hi) * 1.1)
                } else {
                    Axis::linear(0.0, canvas::ms(hi) * 1.1)
                }
            }
            _ => Axis::linear(0.0, 1.0),
        };
        Quantiles {
            frame,
            rows,
            y,
            what,
            samples,
        }
    }

    /// Runs of consecutive windows, as point lists for one line.
    fn segments(&self, value: Field) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut previous: Option<usize> = None;
        for r in &self.rows {
            let point = (self.frame.window_x(r.window), canvas::ms(value(r)));
            match (previous, out.last_mut()) {
                (Some(p), Some(last)) if p + 1 == r.window => last.push(point),
                _ => out.push(vec![point]),
            }
            previous = Some(r.window);
        }
        assert_eq!(out.iter().map(Vec::len).sum::<usize>(), self.rows.len());
        out
    }
}

impl Chart for Quantiles<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let window = canvas::duration_label(f.windows.width_ns);
        let title = f.title(&format!("{} per {window} window", self.what));
        let (area, legend) = canvas::layout(root, &title)?;
        let x = f.time.axis(f.span_ns);
        let y_desc = if self.y.is_log() {
            "latency (ms, log scale)"
        } else {
            "latency (ms)"
        };
        let x_desc = format!("invocation window, {}", f.time.desc());
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&x_desc, y_desc),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        // p99 .. p50 as lines (p50 on top); max as dots over them, since in windows of up
        // to 100 ops the nearest-rank p99 is the max.
        for (name, colour, value) in LINES.iter().rev().copied() {
            if name == "max" {
                continue;
            }
            for segment in self.segments(value) {
                if segment.len() == 1 {
                    chart
                        .draw_series(std::iter::once(Circle::new(segment[0], 2, colour.filled())))
                        .map_err(de)?;
                } else {
                    chart
                        .draw_series(LineSeries::new(segment, colour.stroke_width(2)))
                        .map_err(de)?;
                }
            }
        }
        let (_, max_colour, max_of) = LINES[3];
        chart
            .draw_series(self.rows.iter().map(|r| {
                Circle::new(
                    (f.window_x(r.window), canvas::ms(max_of(r))),
                    3,
                    max_colour.filled(),
                )
            }))
            .map_err(de)?;
        if self.rows.is_empty() {
            let note = if self.samples == "ops" {
                "no answered operations".to_string()
            } else {
                format!("no {}", self.samples)
            };
            canvas::draw_empty_note(&mut chart, (&x, &self.y), &note)?;
        }
        let mut entries: Vec<LegendEntry> = LINES
            .iter()
            .rev()
            .map(|&(name, colour, _)| {
                let swatch = if name == "max" {
                    Swatch::Dot(colour)
                } else {
                    Swatch::Line(colour)
                };
                LegendEntry::new(swatch, name)
            })
            .collect();
        for note in [
            if self.samples == "ops" {
                "nearest rank over ok + fail ops;".to_string()
            } else {
                format!("nearest rank over {};", self.samples)
            },
            format!("p99 = max in windows of ≤ 100 {}", self.samples),
            format!(
                "{} windows of {window} with {}",
                self.rows.len(),
                self.samples
            ),
        ] {
            entries.push(LegendEntry::new(Swatch::Blank, note));
        }
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Latency", &entries)
    }
}
