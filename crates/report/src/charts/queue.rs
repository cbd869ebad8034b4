//! The queue recipe's charts, drawn when a run's history has queue records
//! (`Event::Queue`): `queue-time-in-queue`, the distribution (CDF) of each taken item's
//! time in the queue — from the invocation of its enqueue to the completion of its first
//! `ok` dequeue (the records do not say when the create committed, only that it lies in
//! the enqueue's interval, so the time counts the enqueue's own latency) — and
//! `queue-backlog`, the items enqueued but not yet taken over time, as a step line over the
//! fault bands and the heal.
//!
//! An item's stay ([`Stay`]) is what both charts are drawn from: it counts when the history
//! shows it entered the queue (an `ok` enqueue, or an `ok` dequeue of an item an enqueue
//! that did not fail may have put there); it starts at the earliest invocation of its
//! enqueues that did not fail and ends at its first `ok` dequeue's completion (never, for
//! an item lost or still queued at the end). An item taken before any enqueue of it was
//! invoked (a phantom, which the queue checker reports) has no stay.

use plotters::coord::Shift;
use plotters::prelude::*;
use proto::history::{Outcome, QueueKind, QueueRecord};
use std::collections::BTreeMap;

use super::cdf::{DurationLabels, Durations};
use super::{Frame, Steps};
use crate::axis::Axis;
use crate::canvas::{self, Chart, LegendEntry, OK, Swatch, de};

/// Most backlog step points drawn (one per change); a run with more draws the first ones.
pub const BACKLOG_POINTS_MAX: usize = 20_000;

/// One item's time in the queue (see the module's doc).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Stay {
    /// The earliest invocation of an enqueue of the item that did not fail.
    pub from_ns: u64,
    /// Its first `ok` dequeue's completion; None: never taken.
    pub until_ns: Option<u64>,
}

/// What the records say of one item: (earliest non-failed enqueue invocation, whether an
/// enqueue was acknowledged, earliest `ok` dequeue completion).
#[derive(Default)]
struct Seen {
    enqueued_ns: Option<u64>,
    acknowledged: bool,
    taken_ns: Option<u64>,
}

fn earliest(a: Option<u64>, b: u64) -> Option<u64> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// Every item's stay, by (queue, item).
pub fn stays(records: &[QueueRecord]) -> BTreeMap<(&str, u64), Stay> {
    let mut seen: BTreeMap<(&str, u64), Seen> = BTreeMap::new();
    for r in records {
        let Some(item) = r.item else { continue };
        let s = seen.entry((r.queue.as_str(), item)).or_default();
        match (r.kind, r.outcome) {
            (_, Outcome::Fail) => {}
            (QueueKind::Enqueue, outcome) => {
                s.enqueued_ns = earliest(s.enqueued_ns, r.invoke_ns);
                s.acknowledged |= outcome == Outcome::Ok;
            }
            (QueueKind::Dequeue, Outcome::Ok) => {
                let done = r.complete_ns.expect("an ok dequeue has a completion");
                assert!(
                    done >= r.invoke_ns,
                    "a dequeue completed before its invocation"
                );
                s.taken_ns = earliest(s.taken_ns, done);
            }
            (QueueKind::Dequeue, Outcome::Info) => {}
        }
    }
    seen.into_iter()
        .filter_map(|(key, s)| {
            let from_ns = s.enqueued_ns?;
            let until_ns = s.taken_ns.filter(|&t| t >= from_ns);
            let entered = s.acknowledged || until_ns.is_some();
            entered.then_some((key, Stay { from_ns, until_ns }))
        })
        .collect()
}

/// The taken items' times in the queue (ns), ascending.
pub fn times_in_queue_ns<'s>(stays: impl IntoIterator<Item = &'s Stay>) -> Vec<u64> {
    let mut times: Vec<u64> = stays
        .into_iter()
        .filter_map(|s| Some(s.until_ns? - s.from_ns))
        .collect();
    times.sort_unstable();
    times
}

/// The backlog — items in their stay — as steps from 0 at time 0 to `end_ns`: a stay
/// counts from its start up to (not at) its end, so an item taken when another enters
/// leaves first.
pub fn backlog_steps<'s>(stays: impl IntoIterator<Item = &'s Stay>, end_ns: u64) -> Steps {
    // In time order; the count at a time is the one after all of its edges.
    let mut edges: Vec<(u64, i64)> = Vec::new();
    for s in stays {
        edges.push((s.from_ns, 1));
        if let Some(until) = s.until_ns {
            assert!(until >= s.from_ns, "a stay ends before it starts");
            edges.push((until, -1));
        }
    }
    edges.sort_unstable();
    let mut steps: Steps = vec![(0, 0)];
    let mut count = 0i64;
    for (i, &(t, delta)) in edges.iter().enumerate() {
        count += delta;
        if edges.get(i + 1).is_some_and(|&(next, _)| next == t) {
            continue; // the count at `t` is the one after all of its edges
        }
        assert!(count >= 0, "more items taken than entered by {t} ns");
        let value = count as u64;
        if steps.last().is_some_and(|&(_, v)| v == value) {
            continue;
        }
        match steps.last_mut() {
            Some(last) if last.0 == t => last.1 = value,
            _ => steps.push((t, value)),
        }
    }
    let &(t, value) = steps.last().expect("the first step");
    steps.push((end_ns.max(t), value));
    assert!(
        steps.windows(2).all(|w| w[0].0 <= w[1].0),
        "steps in time order"
    );
    steps
}

/// `queue-time-in-queue`: the taken items' times in the queue.
pub fn time_in_queue<'a>(frame: &'a Frame<'a>) -> Durations<'a> {
    let times = times_in_queue_ns(stays(&frame.data.queues).values());
    let labels = DurationLabels {
        title: "Queue: time in queue per item",
        x_desc: "time in queue (ms, log scale)",
        y_desc: "taken items at or below (%)",
        legend: "Item",
        empty: "no item taken",
        notes: &[
            "from its enqueue's invocation",
            "to its first ok take's completion",
        ],
    };
    Durations::new(frame, labels, vec![("time in queue", times)])
}

/// `queue-backlog`: items enqueued but not yet taken, over time.
pub struct Backlog<'a> {
    frame: &'a Frame<'a>,
    steps: Steps,
    /// Items with a stay, and those taken.
    items: usize,
    taken: usize,
    y: Axis,
}

impl<'a> Backlog<'a> {
    pub fn new(frame: &'a Frame<'a>) -> Backlog<'a> {
        let stays = stays(&frame.data.queues);
        let steps = backlog_steps(stays.values(), frame.span_ns);
        let taken = stays.values().filter(|s| s.until_ns.is_some()).count();
        let y = Axis::counts(max_backlog(&steps).max(1));
        Backlog {
            frame,
            steps,
            items: stays.len(),
            taken,
            y,
        }
    }
}

/// The largest value of `steps`.
pub fn max_backlog(steps: &[(u64, u64)]) -> u64 {
    steps.iter().map(|&(_, v)| v).max().unwrap_or(0)
}

impl Chart for Backlog<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let (area, legend) = canvas::layout(root, &f.title("Queue backlog over time"))?;
        let x = f.time.axis(f.span_ns);
        let x_desc = format!("time, {}", f.time.desc());
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&x_desc, "items enqueued, not yet taken"),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        let drawn = &self.steps[..self.steps.len().min(BACKLOG_POINTS_MAX)];
        chart
            .draw_series(LineSeries::new(f.step_line(drawn), OK.stroke_width(2)))
            .map_err(de)?;
        if self.items == 0 {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no item enqueued")?;
        }
        let end = self.steps.last().map_or(0, |&(_, v)| v);
        let mut entries = vec![
            LegendEntry::new(
                Swatch::Line(OK),
                format!("backlog: at most {}", max_backlog(&self.steps)),
            ),
            LegendEntry::new(Swatch::Blank, format!("{end} at the end")),
            LegendEntry::new(
                Swatch::Blank,
                format!("{} of {} items taken", self.taken, self.items),
            ),
            LegendEntry::new(Swatch::Blank, "from enqueue invoked"),
            LegendEntry::new(Swatch::Blank, "to first ok take completed"),
        ];
        if self.steps.len() > BACKLOG_POINTS_MAX {
            entries.push(LegendEntry::new(
                Swatch::Blank,
                format!("first {BACKLOG_POINTS_MAX} changes shown"),
            ));
        }
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Queue", &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::ProcessId;

    fn rec(kind: QueueKind, item: Option<u64>, at: (u64, Option<u64>), o: Outcome) -> QueueRecord {
        QueueRecord {
            process: ProcessId(5),
            queue: "/queue".into(),
            kind,
            item,
            invoke_ns: at.0,
            complete_ns: at.1,
            outcome: o,
            at_least_once: true,
        }
    }

    #[test]
    fn stays_run_from_enqueue_invoked_to_first_ok_take() {
        use Outcome::*;
        use QueueKind::*;
        let records = [
            rec(Enqueue, Some(1), (10, Some(12)), Ok),
            rec(Enqueue, Some(2), (11, Some(15)), Ok),
            // Item 3: an unanswered enqueue, taken: it entered.
            rec(Enqueue, Some(3), (12, None), Info),
            // Item 4: an unanswered enqueue never taken: unknown, no stay.
            rec(Enqueue, Some(4), (13, None), Info),
            // Item 5: a failed enqueue, then a retry that was acknowledged.
            rec(Enqueue, Some(5), (14, Some(16)), Fail),
            rec(Enqueue, Some(5), (20, Some(22)), Ok),
            // Item 1 taken twice (at least once): the first ok take counts.
            rec(Dequeue, Some(1), (14, Some(30)), Ok),
            rec(Dequeue, Some(1), (25, Some(28)), Ok),
            rec(Dequeue, Some(3), (30, Some(40)), Ok),
            // Item 2: a take that failed, then none: never taken.
            rec(Dequeue, Some(2), (31, None), Info),
            rec(Dequeue, None, (32, Some(33)), Fail),
            // Item 6: taken, never enqueued (a phantom): no stay.
            rec(Dequeue, Some(6), (33, Some(35)), Ok),
        ];
        let got = stays(&records);
        let want = [
            (1, 10, Some(28)),
            (2, 11, None),
            (3, 12, Some(40)),
            (5, 20, None),
        ];
        let want: BTreeMap<(&str, u64), Stay> = want
            .iter()
            .map(|&(item, from_ns, until_ns)| (("/queue", item), Stay { from_ns, until_ns }))
            .collect();
        assert_eq!(got, want);
        assert_eq!(times_in_queue_ns(got.values()), vec![18, 28]);
        // 1 and 2 enter at 10 and 11, 3 at 12, 5 at 20; 1 leaves at 28, 3 at 40.
        assert_eq!(
            backlog_steps(got.values(), 50),
            vec![
                (0, 0),
                (10, 1),
                (11, 2),
                (12, 3),
                (20, 4),
                (28, 3),
                (40, 2),
                (50, 2)
            ]
        );
    }

    #[test]
    fn a_take_and_an_entry_at_one_time_make_one_step() {
        let stays = [
            Stay {
                from_ns: 0,
                until_ns: Some(5),
            },
            Stay {
                from_ns: 5,
                until_ns: Some(5),
            },
            Stay {
                from_ns: 5,
                until_ns: None,
            },
        ];
        // At 0: one item; at 5 the first leaves, one enters and leaves, one enters: still 1.
        assert_eq!(backlog_steps(&stays, 9), vec![(0, 1), (9, 1)]);
        assert_eq!(max_backlog(&backlog_steps(&stays, 9)), 1);
        assert_eq!(times_in_queue_ns(&stays), vec![0, 5]);
        assert_eq!(backlog_steps(&[], 9), vec![(0, 0), (9, 0)]);
    }
}
