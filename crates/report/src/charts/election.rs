//! The fail-over scheduler's charts, drawn when a run's history has leadership tenures
//! (`Event::Leader`): `leader-tenures`, a timeline with one row per scheduler instance — its
//! tenures as bars coloured by how they ended, labelled with their epoch, over the fault
//! bands (two bars at one time are two instances leading at once) — and `tasks-done`, the
//! tasks completed over time (a step per task, at its first committed completion), with the
//! writes the fence refused as crosses.

use plotters::coord::Shift;
use plotters::prelude::*;
use proto::history::{LeaderEnd, LeaderRecord};
use std::collections::BTreeSet;

use super::Frame;
use crate::axis::Axis;
use crate::canvas::{self, Chart, FAIL, INFO, LegendEntry, OK, Swatch, de};

/// Most tenures drawn (a run with more keeps the first ones).
pub const TENURES_DRAWN_MAX: usize = 5_000;
const OPEN: RGBColor = RGBColor(148, 103, 189);
const RESET: RGBColor = RGBColor(255, 127, 14);

fn end_colour(end: LeaderEnd) -> RGBColor {
    match end {
        LeaderEnd::Suspended => INFO,
        LeaderEnd::Lost => FAIL,
        LeaderEnd::Reset => RESET,
        LeaderEnd::Open => OPEN,
    }
}

fn end_index(end: LeaderEnd) -> usize {
    match end {
        LeaderEnd::Suspended => 0,
        LeaderEnd::Lost => 1,
        LeaderEnd::Reset => 2,
        LeaderEnd::Open => 3,
    }
}

/// The scheduler instances' process ids, ascending.
fn rows(tenures: &[LeaderRecord]) -> Vec<u32> {
    let mut pids: Vec<u32> = tenures.iter().map(|l| l.process.0).collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The time intervals during which more than one instance led (from the tenures), sorted.
pub fn overlaps_ns(tenures: &[LeaderRecord], span_ns: u64) -> Vec<(u64, u64)> {
    // Sweep over starts (+1) and ends (-1); ends sort before starts at equal times.
    let mut edges: Vec<(u64, i8)> = Vec::new();
    for l in tenures {
        let end = l.end_ns.unwrap_or(span_ns).min(span_ns);
        if end > l.start_ns {
            edges.push((l.start_ns, 1));
            edges.push((end, -1));
        }
    }
    edges.sort_unstable();
    let (mut leading, mut from, mut out) = (0i64, 0u64, Vec::new());
    for (t, d) in edges {
        let before = leading;
        leading += i64::from(d);
        assert!(leading >= 0, "more tenures ended than began");
        if before < 2 && leading >= 2 {
            from = t;
        } else if before >= 2 && leading < 2 && t > from {
            out.push((from, t));
        }
    }
    out
}

pub struct Tenures<'a> {
    frame: &'a Frame<'a>,
    rows: Vec<u32>,
    y: Axis,
}

impl<'a> Tenures<'a> {
    pub fn new(frame: &'a Frame<'a>) -> Tenures<'a> {
        let rows = rows(&frame.data.leaders);
        let y = match (rows.first(), rows.last()) {
            (Some(&a), Some(&b)) => Axis::rows(a, b),
            _ => Axis::rows(0, 0),
        };
        Tenures { frame, rows, y }
    }
}

impl Chart for Tenures<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let (area, legend) = canvas::layout(root, &f.title("Leader tenures over time"))?;
        let x = f.time.axis(f.span_ns);
        let x_desc = format!("time, {}", f.time.desc());
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&x_desc, "scheduler instance (process pN)"),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        let mut counts = [0usize; 4];
        let epochs: BTreeSet<u64> = f.data.leaders.iter().map(|l| l.epoch).collect();
        for l in f.data.leaders.iter().take(TENURES_DRAWN_MAX) {
            let row = f64::from(l.process.0);
            let end = l.end_ns.unwrap_or(f.span_ns).min(f.span_ns);
            let (from, to) = (f.time.x(l.start_ns), f.time.x(end.max(l.start_ns)));
            counts[end_index(l.end)] += 1;
            chart
                .draw_series([Rectangle::new(
                    [(from, row - 0.3), (to, row + 0.3)],
                    end_colour(l.end).mix(0.8).filled(),
                )])
                .map_err(de)?;
            // The epoch's rank among the run's epochs, over the bar's start.
            let rank = epochs.range(..l.epoch).count() + 1;
            chart
                .draw_series([Text::new(
                    format!("e{rank}"),
                    (from, row + 0.45),
                    canvas::font(11),
                )])
                .map_err(de)?;
        }
        let overlaps = overlaps_ns(&f.data.leaders, f.span_ns);
        let top = f64::from(self.rows.last().copied().unwrap_or(0)) + 0.45;
        for &(a, b) in &overlaps {
            chart
                .draw_series(LineSeries::new(
                    [(f.time.x(a), top), (f.time.x(b), top)],
                    FAIL.stroke_width(4),
                ))
                .map_err(de)?;
        }
        if self.rows.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no leader tenures")?;
        }
        let mut entries = vec![
            LegendEntry::new(
                Swatch::Bar(INFO),
                format!("ended: disconnected ({})", counts[0]),
            ),
            LegendEntry::new(
                Swatch::Bar(FAIL),
                format!("ended: session lost ({})", counts[1]),
            ),
            LegendEntry::new(
                Swatch::Bar(RESET),
                format!("ended: latch reset ({})", counts[2]),
            ),
            LegendEntry::new(
                Swatch::Bar(OPEN),
                format!("leading at the end ({})", counts[3]),
            ),
            LegendEntry::new(
                Swatch::Blank,
                format!("eN: the run's N-th epoch ({} in all)", epochs.len()),
            ),
            LegendEntry::new(
                Swatch::Line(FAIL),
                format!("two instances leading ({})", overlaps.len()),
            ),
        ];
        if f.data.leaders.len() > TENURES_DRAWN_MAX {
            entries.push(LegendEntry::new(
                Swatch::Blank,
                format!("first {TENURES_DRAWN_MAX} tenures shown"),
            ));
        }
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Tenure", &entries)
    }
}

/// The times (ns) at which tasks were completed, sorted: each task's first committed
/// completion only (from `(task, time)` completions).
pub fn done_times_ns(done: &[(u64, u64)]) -> Vec<u64> {
    let mut first: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
    for &(task, at) in done {
        let e = first.entry(task).or_insert(at);
        *e = (*e).min(at);
    }
    let mut times: Vec<u64> = first.into_values().collect();
    times.sort_unstable();
    times
}

pub struct TasksDone<'a> {
    frame: &'a Frame<'a>,
    done_ns: Vec<u64>,
    y: Axis,
}

impl<'a> TasksDone<'a> {
    pub fn new(frame: &'a Frame<'a>) -> TasksDone<'a> {
        let done_ns = done_times_ns(&frame.data.tasks_done);
        let y = Axis::linear(0.0, (done_ns.len() as f64).max(1.0));
        TasksDone { frame, done_ns, y }
    }
}

impl Chart for TasksDone<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let (area, legend) = canvas::layout(root, &f.title("Tasks done over time"))?;
        let x = f.time.axis(f.span_ns);
        let x_desc = format!("time, {}", f.time.desc());
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&x_desc, "tasks done"),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        let mut points = vec![(f.time.x(0), 0.0)];
        for (i, &t) in self.done_ns.iter().enumerate() {
            let at = f.time.x(t.min(f.span_ns));
            points.push((at, i as f64));
            points.push((at, (i + 1) as f64));
        }
        points.push((f.time.x(f.span_ns), self.done_ns.len() as f64));
        chart
            .draw_series(LineSeries::new(points, OK.stroke_width(2)))
            .map_err(de)?;
        // Refused writes, at the count of tasks done when they were refused.
        let refused: Vec<(f64, f64)> = f
            .data
            .task_writes
            .iter()
            .filter(|w| !w.accepted)
            .take(TENURES_DRAWN_MAX)
            .map(|w| {
                let done = self.done_ns.partition_point(|&t| t <= w.time_ns);
                (f.time.x(w.time_ns.min(f.span_ns)), done as f64)
            })
            .collect();
        chart
            .draw_series(
                refused
                    .iter()
                    .map(|&p| Cross::new(p, 6, FAIL.stroke_width(2))),
            )
            .map_err(de)?;
        if self.done_ns.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no task done")?;
        }
        let executions = f.data.tasks.len();
        let mut entries = vec![
            LegendEntry::new(
                Swatch::Line(OK),
                format!("tasks done ({})", self.done_ns.len()),
            ),
            LegendEntry::new(
                Swatch::Cross(FAIL),
                format!("write refused: a deposed epoch ({})", refused.len()),
            ),
            LegendEntry::new(Swatch::Blank, format!("{executions} executions in all")),
        ];
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Tasks", &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::ProcessId;
    use proto::zk::SessionId;

    fn tenure(p: u32, start: u64, end: Option<u64>) -> LeaderRecord {
        LeaderRecord {
            process: ProcessId(p),
            session: SessionId(1),
            tenure: 1,
            node: "n".into(),
            epoch: u64::from(p),
            start_ns: start,
            end_ns: end,
            end: LeaderEnd::Suspended,
        }
    }

    #[test]
    fn overlapping_tenures_are_found() {
        let t = [
            tenure(4, 0, Some(10)),
            tenure(5, 10, Some(30)),
            tenure(6, 20, None),
        ];
        // 4 and 5 touch at 10 (no overlap); 5 and 6 overlap from 20 to 30.
        assert_eq!(overlaps_ns(&t, 50), vec![(20, 30)]);
        assert_eq!(rows(&t), vec![4, 5, 6]);
        assert_eq!(overlaps_ns(&t[..2], 50), Vec::<(u64, u64)>::new());
    }

    #[test]
    fn a_task_is_done_once_at_its_first_completion() {
        assert_eq!(done_times_ns(&[(1, 30), (0, 20), (1, 25)]), vec![20, 25]);
    }
}
