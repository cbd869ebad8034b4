//! The sweep's progress bar on standard error (hidden when it is not a terminal): seeds done
//! of the planned count with an ETA, and with `--time` the wall time elapsed and left. It
//! only reads clocks; nothing a seed computes depends on it.

use indicatif::{HumanDuration, ProgressBar, ProgressState, ProgressStyle};
use std::time::{Duration, Instant};

/// Width of the bar in characters.
const WIDTH: usize = 40;

/// A bar for `len` seeds (unknown when the sweep is bounded by time only) and the sweep's
/// wall-time deadline, if any.
pub fn bar(len: Option<u64>, deadline: Option<Instant>) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    let template = match (len, deadline) {
        (Some(_), None) => {
            "{bar:40} {pos}/{len} seeds {per_sec} {elapsed} elapsed, ETA {eta} {msg}"
        }
        (Some(_), Some(_)) => {
            "{bar:40} {pos}/{len} seeds {per_sec} {elapsed} elapsed, ETA {eta}, {left} left {msg}"
        }
        (None, _) => "{timebar} {pos} seeds {per_sec} {elapsed} elapsed, {left} left {msg}",
    };
    let mut style = ProgressStyle::with_template(template).expect("valid template");
    if let Some(deadline) = deadline {
        style = with_time_keys(style, deadline);
        bar.enable_steady_tick(Duration::from_millis(500));
    }
    bar.set_style(style);
    bar
}

/// The `{left}` (wall time to the deadline) and `{timebar}` (share of the time used) keys.
fn with_time_keys(style: ProgressStyle, deadline: Instant) -> ProgressStyle {
    let start = Instant::now();
    let total = deadline
        .saturating_duration_since(start)
        .max(Duration::from_millis(1));
    style
        .with_key(
            "left",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let left = deadline.saturating_duration_since(Instant::now());
                let _ = write!(w, "{}", HumanDuration(left));
            },
        )
        .with_key(
            "timebar",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let used = start.elapsed().as_secs_f64() / total.as_secs_f64();
                let filled = ((used.min(1.0) * WIDTH as f64) as usize).min(WIDTH);
                let _ = write!(w, "{}{}", "█".repeat(filled), "░".repeat(WIDTH - filled));
            },
        )
}
