//! The four charts of a run, each in its own module, the recipe charts drawn when the run
//! has their data (`lock`, `config`, `election`, `queue`, `mq`), and the frame they share: the
//! run, its time scale and its time windows, and how a step line over time is drawn.

pub mod cdf;
pub mod config;
pub mod election;
pub mod lock;
pub mod mq;
pub mod quantiles;
pub mod queue;
pub mod scatter;
pub mod throughput;

use plotters::prelude::*;

use crate::axis::Axis;
use crate::canvas::{self, Area, LegendEntry, Plot, TimeScale};
use crate::load::RunData;
use crate::series::Windows;

/// A value over time as steps: `(time ns, value)` at each change, in time order, the last
/// point at the end of the line.
pub type Steps = Vec<(u64, u64)>;

/// What every chart of one run shares.
pub struct Frame<'a> {
    pub data: &'a RunData,
    pub span_ns: u64,
    pub time: TimeScale,
    pub windows: Windows,
}

impl<'a> Frame<'a> {
    pub fn new(data: &'a RunData) -> Frame<'a> {
        let span_ns = data.span_ns();
        Frame {
            data,
            span_ns,
            time: TimeScale::for_span(span_ns),
            windows: Windows::choose(span_ns),
        }
    }

    /// `what — scenario, seed N`.
    pub fn title(&self, what: &str) -> String {
        format!(
            "{what} — {}, seed {}",
            self.data.scenario_name, self.data.seed
        )
    }

    /// The heal, when it lies on the time axis (a run that ended early never reached it).
    pub fn heal_ns(&self) -> Option<u64> {
        self.data.heal_ns.filter(|&h| h <= self.span_ns)
    }

    /// The top margin of a time chart: room for a label per fault and the heal's.
    pub fn top_margin(&self) -> u32 {
        canvas::top_margin(self.data.faults.len() + usize::from(self.heal_ns().is_some()))
    }

    /// The fault bands and the heal's line over a time chart built with [`Self::top_margin`].
    pub fn draw_faults<DB: DrawingBackend>(
        &self,
        area: &Area<DB>,
        chart: &mut Plot<'_, DB>,
        axes: (&Axis, &Axis),
    ) -> Result<(), String> {
        let marks = (self.data.faults.as_slice(), self.heal_ns());
        canvas::draw_faults(area, chart, axes, marks, self.time)
    }

    /// The legend's entries for the fault kinds and the heal.
    pub fn fault_legend(&self) -> Vec<LegendEntry> {
        let mut entries = canvas::fault_legend(&self.data.faults);
        entries.extend(self.heal_ns().map(canvas::heal_legend));
        entries
    }

    /// A step line's points on the time axis: each step's value holds until the next
    /// step's time (times clipped to the span), where the line rises or falls vertically.
    pub fn step_line(&self, steps: &[(u64, u64)]) -> Vec<(f64, f64)> {
        let mut points = Vec::with_capacity(steps.len() * 2);
        for (j, &(t, v)) in steps.iter().enumerate() {
            let x = self.time.x(t.min(self.span_ns));
            if j > 0 {
                points.push((x, steps[j - 1].1 as f64));
            }
            points.push((x, v as f64));
        }
        assert_eq!(points.len(), (steps.len() * 2).saturating_sub(1));
        points
    }

    /// A window's middle on the time axis.
    pub fn window_x(&self, window: usize) -> f64 {
        let mid = self.windows.start_ns(window) + self.windows.width_ns / 2;
        self.time.x(mid)
    }
}
