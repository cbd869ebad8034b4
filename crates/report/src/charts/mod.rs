//! The four charts of a run, each in its own module, and the frame they share: the run, its
//! time scale and its time windows.

pub mod cdf;
pub mod quantiles;
pub mod scatter;
pub mod throughput;

use crate::canvas::TimeScale;
use crate::load::RunData;
use crate::series::Windows;

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

    /// A window's middle on the time axis.
    pub fn window_x(&self, window: usize) -> f64 {
        let mid = self.windows.start_ns(window) + self.windows.width_ns / 2;
        self.time.x(mid)
    }
}
