//! The lock recipe's charts, drawn when a run's history has lock holds (`Event::Lock`):
//! `lock-holders`, a timeline with one row per lock client — its waits as thin lines, its
//! holds as bars coloured by how they ended, the writes the protected resource refused as
//! crosses, and accepted writes that landed inside another hold's writes (a hold that
//! wrote, then another, then the first again: the interleaving the lock checker judges) as
//! triangles — over the fault bands; and `lock-wait-hold`, the distributions (CDF) of wait
//! times (request to acquisition) and hold times (acquisition to end).

use plotters::coord::Shift;
use plotters::prelude::*;
use proto::history::{LockEnd, LockRecord, ResourceRecord};
use std::collections::BTreeSet;

use super::Frame;
use super::cdf::{DurationLabels, Durations};
use crate::axis::Axis;
use crate::canvas::{self, Chart, FAIL, INFO, LegendEntry, OK, Swatch, de};

/// Most holds drawn on the timeline (the SVG holds an element or two per hold); a run with
/// more keeps the first ones.
pub const HOLDS_DRAWN_MAX: usize = 5_000;
/// Most refused writes drawn.
pub const REFUSED_DRAWN_MAX: usize = 5_000;
const WAIT: RGBColor = RGBColor(110, 110, 110);
const OPEN: RGBColor = RGBColor(148, 103, 189);

fn end_colour(end: LockEnd) -> RGBColor {
    match end {
        LockEnd::Released => OK,
        LockEnd::Lost => FAIL,
        LockEnd::Fenced => RGBColor(255, 127, 14),
        LockEnd::Open => OPEN,
    }
}

/// The lock clients' process ids, ascending.
fn rows(locks: &[LockRecord]) -> Vec<u32> {
    let mut pids: Vec<u32> = locks.iter().map(|l| l.process.0).collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

pub struct Holders<'a> {
    frame: &'a Frame<'a>,
    rows: Vec<u32>,
    y: Axis,
}

impl<'a> Holders<'a> {
    pub fn new(frame: &'a Frame<'a>) -> Holders<'a> {
        let rows = rows(&frame.data.locks);
        let y = match (rows.first(), rows.last()) {
            (Some(&a), Some(&b)) => Axis::rows(a, b),
            _ => Axis::rows(0, 0),
        };
        Holders { frame, rows, y }
    }
}

impl Chart for Holders<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let (area, legend) = canvas::layout(root, &f.title("Lock holders over time"))?;
        let x = f.time.axis(f.span_ns);
        let x_desc = format!("time, {}", f.time.desc());
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&x_desc, "lock client (process pN)"),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        let end_of = |l: &LockRecord| l.end_ns.unwrap_or(f.span_ns).min(f.span_ns);
        let mut counts = [0usize; 4];
        let holds = f.data.locks.iter().take(HOLDS_DRAWN_MAX);
        for l in holds {
            let row = f64::from(l.process.0);
            let end = end_of(l);
            let asked = f.time.x(l.request_ns);
            let Some(acquired) = l.acquired_ns else {
                chart
                    .draw_series(LineSeries::new(
                        [(asked, row), (f.time.x(end), row)],
                        WAIT.stroke_width(1),
                    ))
                    .map_err(de)?;
                continue;
            };
            let at = f.time.x(acquired);
            chart
                .draw_series(LineSeries::new(
                    [(asked, row), (at, row)],
                    WAIT.stroke_width(1),
                ))
                .map_err(de)?;
            let i = match l.end {
                LockEnd::Released => 0,
                LockEnd::Lost => 1,
                LockEnd::Fenced => 2,
                LockEnd::Open => 3,
            };
            counts[i] += 1;
            let colour = end_colour(l.end);
            chart
                .draw_series([Rectangle::new(
                    [(at, row - 0.3), (f.time.x(end).max(at), row + 0.3)],
                    colour.mix(0.8).filled(),
                )])
                .map_err(de)?;
        }
        let interleaved: Vec<(f64, f64)> = interleaved_writes(&f.data.resource_writes)
            .into_iter()
            .take(REFUSED_DRAWN_MAX)
            .map(|w| (f.time.x(w.time_ns), f64::from(w.holder.0)))
            .collect();
        chart
            .draw_series(
                interleaved
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 6, FAIL.filled())),
            )
            .map_err(de)?;
        let refused: Vec<(f64, f64)> = f
            .data
            .resource_writes
            .iter()
            .filter(|w| !w.accepted)
            .take(REFUSED_DRAWN_MAX)
            .map(|w| (f.time.x(w.time_ns), f64::from(w.holder.0)))
            .collect();
        chart
            .draw_series(
                refused
                    .iter()
                    .map(|&p| Cross::new(p, 6, INFO.stroke_width(2))),
            )
            .map_err(de)?;
        if self.rows.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no lock holds")?;
        }
        let mut entries = vec![
            LegendEntry::new(Swatch::Bar(OK), format!("released ({})", counts[0])),
            LegendEntry::new(
                Swatch::Bar(FAIL),
                format!("lost to its session ({})", counts[1]),
            ),
            LegendEntry::new(
                Swatch::Bar(end_colour(LockEnd::Fenced)),
                format!("fenced: token refused ({})", counts[2]),
            ),
            LegendEntry::new(
                Swatch::Bar(OPEN),
                format!("open at the end ({})", counts[3]),
            ),
            LegendEntry::new(Swatch::Line(WAIT), "waiting for the lock"),
            LegendEntry::new(
                Swatch::Cross(INFO),
                format!("write refused as stale ({})", refused.len()),
            ),
            LegendEntry::new(
                Swatch::Triangle(FAIL),
                format!("write inside another hold ({})", interleaved.len()),
            ),
        ];
        if f.data.locks.len() > HOLDS_DRAWN_MAX {
            entries.push(LegendEntry::new(
                Swatch::Blank,
                format!("first {HOLDS_DRAWN_MAX} holds shown"),
            ));
        }
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Hold", &entries)
    }
}

/// The accepted resource writes (in the resource's order) of a hold that wrote before
/// while another hold wrote since: where two holds' writes interleave.
pub fn interleaved_writes(writes: &[ResourceRecord]) -> Vec<&ResourceRecord> {
    let mut ordered: Vec<&ResourceRecord> = writes.iter().filter(|w| w.accepted).collect();
    ordered.sort_by_key(|w| (w.resource, w.index));
    let key = |w: &ResourceRecord| (w.resource, w.holder, w.session, w.hold);
    let mut wrote = BTreeSet::new();
    let mut last = None;
    let mut out = Vec::new();
    for w in ordered {
        let k = key(w);
        if last.is_some_and(|l| l != k) && wrote.contains(&k) {
            out.push(w);
        }
        wrote.insert(k);
        last = Some(k);
    }
    out
}

/// The sorted wait and hold times (ns) of a run's holds.
pub fn wait_and_hold_ns(locks: &[LockRecord]) -> (Vec<u64>, Vec<u64>) {
    let mut wait = Vec::new();
    let mut hold = Vec::new();
    for l in locks {
        let Some(acquired) = l.acquired_ns else {
            continue;
        };
        wait.push(acquired.saturating_sub(l.request_ns));
        if let Some(end) = l.end_ns {
            hold.push(end.saturating_sub(acquired));
        }
    }
    wait.sort_unstable();
    hold.sort_unstable();
    (wait, hold)
}

/// `lock-wait-hold`: the wait and hold time distributions.
pub fn wait_hold<'a>(frame: &'a Frame<'a>) -> Durations<'a> {
    let (wait, hold) = wait_and_hold_ns(&frame.data.locks);
    let labels = DurationLabels {
        title: "Lock wait and hold times",
        x_desc: "time (ms, log scale)",
        y_desc: "holds at or below (%)",
        legend: "Lock",
        empty: "no acquisitions",
        notes: &[
            "wait: request to acquisition",
            "hold: acquisition to its end",
        ],
    };
    Durations::new(frame, labels, vec![("wait", wait), ("hold", hold)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::ProcessId;
    use proto::zk::SessionId;

    fn hold(p: u32, req: u64, acq: Option<u64>, end: Option<u64>) -> LockRecord {
        LockRecord {
            process: ProcessId(p),
            session: SessionId(1),
            hold: 1,
            lock: "/lock".into(),
            node: None,
            token: acq.map(|_| 1),
            request_ns: req,
            acquired_ns: acq,
            end_ns: end,
            end: LockEnd::Released,
            watch_events: 0,
        }
    }

    #[test]
    fn waits_and_holds_come_from_acquired_holds_only() {
        let locks = [
            hold(5, 0, Some(30), Some(40)),
            hold(6, 10, Some(12), None),
            hold(7, 0, None, Some(50)),
        ];
        assert_eq!(wait_and_hold_ns(&locks), (vec![2, 30], vec![10]));
        assert_eq!(rows(&locks), vec![5, 6, 7]);
    }

    #[test]
    fn a_hold_writing_again_after_another_is_interleaved() {
        let w = |index, holder: u32, hold| ResourceRecord {
            resource: ProcessId(4),
            index,
            holder: ProcessId(holder),
            session: SessionId(u64::from(holder)),
            hold,
            token: None,
            time_ns: index * 10,
            accepted: true,
        };
        // p5 hold 1, p6, p5 hold 1 again (interleaved), p5 hold 2 (a new hold: not).
        let writes = [w(1, 5, 1), w(2, 6, 1), w(3, 5, 1), w(4, 5, 2), w(5, 6, 1)];
        let found: Vec<u64> = interleaved_writes(&writes)
            .iter()
            .map(|w| w.index)
            .collect();
        assert_eq!(found, vec![3, 5]);
    }
}
