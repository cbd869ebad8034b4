//! `latency-scatter`: every answered operation's latency over its invocation time, coloured
//! by outcome, with unanswered (`info`) operations as crosses along the top at their
//! invocation, over the fault bands. Long runs keep every failure, every info op and every
//! latency at or above the p99, and every k-th of the rest.

use plotters::coord::Shift;
use plotters::prelude::*;
use proto::history::Outcome;

use super::Frame;
use crate::axis::Axis;
use crate::canvas::{self, Chart, FAIL, INFO, LegendEntry, OK, Swatch, de};
use crate::series::nearest_rank;

/// Most points drawn (the SVG holds one element per point).
pub const POINTS_MAX: usize = 10_000;
/// Latency axis turns logarithmic when max/min exceeds this.
const LOG_RATIO: f64 = 20.0;

pub struct Scatter<'a> {
    frame: &'a Frame<'a>,
    /// (invoke time on the x axis, latency ms), ok then fail.
    ok: Vec<(f64, f64)>,
    fail: Vec<(f64, f64)>,
    /// Invoke times of unanswered ops.
    info: Vec<f64>,
    counts: [usize; 3],
    /// 1 when every op is drawn, else every `stride`-th ok op below the p99.
    stride: usize,
    y: Axis,
}

impl<'a> Scatter<'a> {
    pub fn new(frame: &'a Frame<'a>) -> Scatter<'a> {
        let ops = &frame.data.ops;
        let mut latencies: Vec<u64> = ops.iter().filter_map(|o| o.latency_ns).collect();
        latencies.sort_unstable();
        let p99 = if latencies.is_empty() {
            0
        } else {
            nearest_rank(&latencies, 99)
        };
        let stride = ops.len().div_ceil(POINTS_MAX).max(1);
        let (mut ok, mut fail, mut info) = (Vec::new(), Vec::new(), Vec::new());
        let mut counts = [0usize; 3];
        let mut ok_seen = 0usize;
        for op in ops {
            let x = frame.time.x(op.invoke_ns);
            match (op.outcome, op.latency_ns) {
                (Outcome::Ok, Some(l)) => {
                    counts[0] += 1;
                    if ok_seen.is_multiple_of(stride) || l >= p99 {
                        ok.push((x, canvas::ms(l)));
                    }
                    ok_seen += 1;
                }
                (Outcome::Fail, Some(l)) => {
                    counts[1] += 1;
                    fail.push((x, canvas::ms(l)));
                }
                (Outcome::Info, None) => {
                    counts[2] += 1;
                    info.push(x);
                }
                (outcome, latency) => unreachable!("{outcome:?} with latency {latency:?}"),
            }
        }
        assert_eq!(counts.iter().sum::<usize>(), ops.len());
        let y = match (latencies.first(), latencies.last()) {
            (Some(&lo), Some(&hi)) => {
                let lo_positive = latencies.iter().copied().find(|&l| l > 0).unwrap_or(lo);
                let axis = Axis::auto(canvas::ms(lo_positive), canvas::ms(hi), LOG_RATIO);
                if axis.is_log() {
                    // A fifth of a decade above the maximum for the info crosses.
                    Axis::log(canvas::ms(lo_positive), canvas::ms(hi) * 1.6)
                } else {
                    Axis::linear(0.0, canvas::ms(hi) * 1.12)
                }
            }
            _ => Axis::linear(0.0, 1.0),
        };
        Scatter {
            frame,
            ok,
            fail,
            info,
            counts,
            stride,
            y,
        }
    }
}

impl Chart for Scatter<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let (area, legend) = canvas::layout(root, &f.title("Latency per operation"))?;
        let x = f.time.axis(f.span_ns);
        let y_desc = if self.y.is_log() {
            "latency (ms, log scale)"
        } else {
            "latency (ms)"
        };
        let x_desc = format!("invocation, {}", f.time.desc());
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&x_desc, y_desc),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        chart
            .draw_series(
                self.ok
                    .iter()
                    .map(|&p| Circle::new(p, 2, OK.mix(0.55).filled())),
            )
            .map_err(de)?;
        chart
            .draw_series(
                self.fail
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 4, FAIL.mix(0.85).filled())),
            )
            .map_err(de)?;
        let top = self.y.at_fraction(0.975);
        chart
            .draw_series(
                self.info
                    .iter()
                    .map(|&t| Cross::new((t, top), 4, INFO.stroke_width(1))),
            )
            .map_err(de)?;
        if f.data.ops.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no client operations")?;
        }
        let mut entries = vec![
            LegendEntry::new(Swatch::Dot(OK), format!("ok ({})", self.counts[0])),
            LegendEntry::new(Swatch::Triangle(FAIL), format!("fail ({})", self.counts[1])),
            LegendEntry::new(
                Swatch::Cross(INFO),
                format!("info: no answer ({})", self.counts[2]),
            ),
            LegendEntry::new(Swatch::Blank, "info: crosses on top, at invocation"),
        ];
        if self.stride > 1 {
            entries.push(LegendEntry::new(
                Swatch::Blank,
                format!("ok: 1 in {} below p99 shown", self.stride),
            ));
        }
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Outcome", &entries)
    }
}
