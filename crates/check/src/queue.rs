//! Queue-recipe invariants over the `Event::Queue` records of a history, per queue.
//!
//! Findings (names in [`QUEUE_PROPERTIES`]; all but one are violations):
//! - `LostItem`: an acknowledged (`ok`) enqueue whose item was never dequeued `ok` and is
//!   not among the items still in the queue at the end — unless the at-most-once recipe
//!   explains it (below).
//! - `AtMostOnceLoss` (severity `Documented`, not a violation): the same, when a consumer
//!   of an at-most-once recipe took the item (an `info` dequeue: it deleted the node and
//!   then failed). ZooKeeper's queue recipe loses such items by design (anchors §2,
//!   "Recipes"); this records how often.
//! - `Duplicate`: an item dequeued `ok` twice. Allowed for an at-least-once recipe when a
//!   consumer failed in between: an earlier dequeue of the item is `info`, or the process
//!   of the first `ok` taker saw its session end between that take's invocation and the
//!   second take's completion (the history names the taker's process, not its session),
//!   or the second taker did, in a take invoked before the first completed (it processed
//!   the item, then its session expired before its delete landed; the client learns of the
//!   expiry — and ends its take — after the other consumer's take completed).
//! - `PhantomItem`: an item dequeued (or still queued) that no enqueue may have put there
//!   (none recorded, or only failed ones).
//! - `Fifo`: if enqueue A completed before enqueue B was invoked, B must not be taken
//!   (first `ok` dequeue completed) before any dequeue of A was invoked. Items never
//!   dequeued are the lost-item check's business, not this one's. Excused for an
//!   at-least-once (claim) recipe when a claim may be hiding A from B's taker: a consumer
//!   failed, or lost its session, in a dequeue running while A existed and before B was
//!   taken (its claims outlive it until its session expires), or a claim create
//!   (`<queue>-claims/…`) lost its answer then (the consumer cannot tell the claim is its
//!   own and moves on; the claim hides its item until that consumer comes back for it).
//!
//! Cost: O(n log n) (the FIFO check sweeps enqueues by time with a running maximum).

use std::collections::{BTreeMap, BTreeSet};

use proto::ProcessId;
use proto::history::{Event, Outcome, QueueKind, QueueRecord};
use proto::zk::Op;
use serde::Serialize;

use crate::zk::render_event;

pub const LOST_ITEM: &str = "LostItem";
pub const AT_MOST_ONCE_LOSS: &str = "AtMostOnceLoss";
pub const DUPLICATE: &str = "Duplicate";
pub const PHANTOM_ITEM: &str = "PhantomItem";
pub const FIFO: &str = "Fifo";
/// The claim recipe's claims of items in queue `Q` live under `Q-claims`.
pub const CLAIMS_SUFFIX: &str = "-claims";
pub const QUEUE_PROPERTIES: [&str; 5] =
    [LOST_ITEM, AT_MOST_ONCE_LOSS, DUPLICATE, PHANTOM_ITEM, FIFO];

/// Findings kept per property (the rest are counted).
const FINDINGS_KEPT_PER_PROPERTY: usize = 64;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Severity {
    /// The recipe broke a guarantee it makes.
    Violation,
    /// A loss or duplicate the recipe is documented to allow.
    Documented,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueFinding {
    pub property: &'static str,
    pub severity: Severity,
    pub queue: String,
    pub item: u64,
    pub detail: String,
    /// The queue records involved, as event indices.
    pub events: Vec<usize>,
}

impl QueueFinding {
    pub fn render(&self, events: &[Event]) -> String {
        let mut text = format!(
            "{} ({:?}) in {} item {}: {}",
            self.property, self.severity, self.queue, self.item, self.detail
        );
        for &e in &self.events {
            text.push_str("\n  ");
            text.push_str(&render_event(events, e));
        }
        text
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    pub queues: usize,
    pub enqueues: usize,
    pub dequeues: usize,
    /// Findings per property, all of them (kept or not), in `QUEUE_PROPERTIES` order.
    pub counts: [usize; 5],
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueReport {
    pub findings: Vec<QueueFinding>,
    pub stats: QueueStats,
}

impl QueueReport {
    /// No violation (documented findings allowed).
    pub fn is_ok(&self) -> bool {
        QUEUE_PROPERTIES
            .iter()
            .zip(self.stats.counts)
            .all(|(&property, count)| property == AT_MOST_ONCE_LOSS || count == 0)
    }

    pub fn count(&self, property: &str) -> usize {
        let i = QUEUE_PROPERTIES
            .iter()
            .position(|&p| p == property)
            .unwrap_or_else(|| panic!("unknown queue property {property}"));
        self.stats.counts[i]
    }

    fn add(&mut self, finding: QueueFinding) {
        let i = QUEUE_PROPERTIES
            .iter()
            .position(|&p| p == finding.property)
            .expect("a known property");
        assert_eq!(
            finding.severity == Severity::Documented,
            finding.property == AT_MOST_ONCE_LOSS,
            "only at-most-once losses are documented"
        );
        self.stats.counts[i] += 1;
        if self.stats.counts[i] <= FINDINGS_KEPT_PER_PROPERTY {
            self.findings.push(finding);
        }
    }
}

/// What one item went through: its queue records, as event indices, in history order.
#[derive(Default)]
struct Item {
    enqueues: Vec<usize>,
    dequeues: Vec<usize>,
}

fn queue_record(events: &[Event], index: usize) -> &QueueRecord {
    match &events[index] {
        Event::Queue(q) => q,
        other => panic!("event {index} is not a queue record: {other:?}"),
    }
}

/// Check the queue invariants; `remaining` holds the items still in a queue at the end.
pub fn check_queue(events: &[Event], remaining: &[u64]) -> QueueReport {
    let mut report = QueueReport::default();
    let remaining: BTreeSet<u64> = remaining.iter().copied().collect();
    // queue → item → records.
    let mut queues: BTreeMap<&str, BTreeMap<u64, Item>> = BTreeMap::new();
    // queue → dequeues of at-least-once (claim) recipes.
    let mut claiming: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    // queue → claim creates whose outcome is unknown: (invoked, completed or never).
    let mut unsure_claims: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    // process → session end times, sorted.
    let mut ends: BTreeMap<ProcessId, Vec<u64>> = BTreeMap::new();
    for (index, event) in events.iter().enumerate() {
        match event {
            Event::Queue(q) => {
                if q.kind == QueueKind::Dequeue && q.at_least_once {
                    claiming.entry(&q.queue).or_default().push(index);
                }
                let Some(id) = q.item else {
                    // A dequeue that failed before it learned its item: only its claim
                    // matters (the FIFO check's business).
                    report.stats.dequeues += usize::from(q.kind == QueueKind::Dequeue);
                    continue;
                };
                let item = queues.entry(&q.queue).or_default().entry(id).or_default();
                match q.kind {
                    QueueKind::Enqueue => {
                        report.stats.enqueues += 1;
                        item.enqueues.push(index);
                    }
                    QueueKind::Dequeue => {
                        report.stats.dequeues += 1;
                        item.dequeues.push(index);
                    }
                }
            }
            Event::SessionEnd {
                process, time_ns, ..
            } => ends.entry(*process).or_default().push(*time_ns),
            Event::Op(r) if r.outcome == Outcome::Info => {
                if let Some(queue) = claimed_queue(&r.op) {
                    let until = r.complete_ns.unwrap_or(u64::MAX);
                    unsure_claims
                        .entry(queue)
                        .or_default()
                        .push((r.invoke_ns, until));
                }
            }
            _ => {}
        }
    }
    for times in ends.values_mut() {
        times.sort_unstable();
    }
    report.stats.queues = queues.len();
    for (queue, items) in &queues {
        for (&item, records) in items {
            check_item(events, queue, item, records, &remaining, &ends, &mut report);
        }
        let claims = claiming.get(queue).map_or(&[][..], Vec::as_slice);
        let mut hidden = orphan_claims(events, claims, &ends);
        hidden.extend(unsure_claims.get(queue).into_iter().flatten());
        check_fifo(events, queue, items, &hidden, &mut report);
    }
    for &item in &remaining {
        let known = queues.values().any(|items| items.contains_key(&item));
        if !known {
            report.add(QueueFinding {
                property: PHANTOM_ITEM,
                severity: Severity::Violation,
                queue: String::new(),
                item,
                detail: "still in a queue at the end, but never enqueued".into(),
                events: Vec::new(),
            });
        }
    }
    report
}

fn check_item(
    events: &[Event],
    queue: &str,
    item: u64,
    records: &Item,
    remaining: &BTreeSet<u64>,
    ends: &BTreeMap<ProcessId, Vec<u64>>,
    report: &mut QueueReport,
) {
    let rec = |i: usize| queue_record(events, i);
    let finding = |property, detail: String, evs: Vec<usize>| QueueFinding {
        property,
        severity: if property == AT_MOST_ONCE_LOSS {
            Severity::Documented
        } else {
            Severity::Violation
        },
        queue: queue.to_owned(),
        item,
        detail,
        events: evs,
    };
    let acked = records
        .enqueues
        .iter()
        .copied()
        .find(|&e| rec(e).outcome == Outcome::Ok);
    let maybe_enqueued = records
        .enqueues
        .iter()
        .any(|&e| rec(e).outcome != Outcome::Fail);
    let taken: Vec<usize> = records
        .dequeues
        .iter()
        .copied()
        .filter(|&d| rec(d).outcome == Outcome::Ok)
        .collect();
    let still_there = remaining.contains(&item);
    if !maybe_enqueued && (!taken.is_empty() || still_there) {
        let mut evs = records.enqueues.clone();
        evs.extend(&taken);
        report.add(finding(
            PHANTOM_ITEM,
            "taken or still queued, but no enqueue may have put it there".into(),
            evs,
        ));
    }
    if let Some(enqueue) = acked
        && taken.is_empty()
        && !still_there
    {
        let lost_by_recipe = records
            .dequeues
            .iter()
            .copied()
            .find(|&d| rec(d).outcome == Outcome::Info && !rec(d).at_least_once);
        match lost_by_recipe {
            Some(d) => report.add(finding(
                AT_MOST_ONCE_LOSS,
                "an at-most-once consumer took it and failed; it never showed up again".into(),
                vec![enqueue, d],
            )),
            None => {
                let mut evs = vec![enqueue];
                evs.extend(&records.dequeues);
                report.add(finding(
                    LOST_ITEM,
                    "acknowledged, never dequeued, not in the queue at the end".into(),
                    evs,
                ));
            }
        }
    }
    // Every ok take after the first needs a consumer failure in between.
    let Some((&first, rest)) = taken.split_first() else {
        return;
    };
    for &second in rest {
        let second_rec = rec(second);
        let excused = second_rec.at_least_once && {
            let second_done = second_rec.complete_ns.unwrap_or(u64::MAX);
            let info_before = records.dequeues.iter().any(|&d| {
                let r = rec(d);
                r.outcome == Outcome::Info && r.invoke_ns < second_done
            });
            let first_rec = rec(first);
            // A taker whose session ended between its take's invocation and the second
            // take's completion: its cleanup may not have landed before its claim went.
            let ended_during = |r: &QueueRecord| {
                ends.get(&r.process).is_some_and(|times| {
                    let from = times.partition_point(|&t| t < r.invoke_ns);
                    times.get(from).is_some_and(|&t| t <= second_done)
                })
            };
            // The second taker counts only if its take overlapped the first's: it may have
            // processed the item first and lost its session before its delete landed.
            let first_done = first_rec.complete_ns.unwrap_or(u64::MAX);
            let second_overlapped = second_rec.invoke_ns < first_done;
            let taker_ended =
                ended_during(first_rec) || (second_overlapped && ended_during(second_rec));
            info_before || taker_ended
        };
        if !excused {
            report.add(finding(
                DUPLICATE,
                if second_rec.at_least_once {
                    "dequeued twice with no consumer failure in between".into()
                } else {
                    "dequeued twice by an at-most-once recipe".into()
                },
                vec![first, second],
            ));
        }
    }
}

/// One item's times for the FIFO check.
struct FifoItem {
    /// Completion of the acknowledged enqueue (None: not acknowledged).
    enqueued: Option<u64>,
    /// Invocation of the first enqueue.
    enqueue_invoked: u64,
    /// Earliest invocation of any dequeue.
    take_invoked: Option<u64>,
    /// Earliest completion of an ok dequeue.
    taken: Option<u64>,
    /// Event of the acknowledged enqueue, of the first ok dequeue.
    enqueue_event: usize,
    take_event: Option<usize>,
}

/// The queue whose item a create claims: the claim recipe names its claims
/// `<queue>-claims/<item node>` (`client::recipes::queue`).
fn claimed_queue(op: &Op) -> Option<&str> {
    let Op::Create { path, .. } = op else {
        return None;
    };
    let (parent, name) = path.rsplit_once('/')?;
    let queue = parent.strip_suffix(CLAIMS_SUFFIX)?;
    (!name.is_empty() && queue.starts_with('/')).then_some(queue)
}

/// When claims may have outlived their consumer's session: for each dequeue of a claim
/// recipe that failed (`info`), from its invocation to its end; for each during which its
/// process's session ended, from its invocation to that end. Such a claim hides its item
/// from the other consumers until the session expires, so a later item may be taken first.
fn orphan_claims(
    events: &[Event],
    claims: &[usize],
    ends: &BTreeMap<ProcessId, Vec<u64>>,
) -> Vec<(u64, u64)> {
    let mut hidden = Vec::new();
    for &d in claims {
        let r = queue_record(events, d);
        debug_assert!(r.kind == QueueKind::Dequeue && r.at_least_once);
        let until = r.complete_ns.unwrap_or(u64::MAX);
        if r.outcome == Outcome::Info {
            hidden.push((r.invoke_ns, until));
        }
        let session_ends = ends.get(&r.process).map_or(&[][..], Vec::as_slice);
        let from = session_ends.partition_point(|&t| t < r.invoke_ns);
        if let Some(&t) = session_ends.get(from).filter(|&&t| t <= until) {
            hidden.push((r.invoke_ns, t));
        }
    }
    hidden
}

fn check_fifo(
    events: &[Event],
    queue: &str,
    items: &BTreeMap<u64, Item>,
    hidden: &[(u64, u64)],
    report: &mut QueueReport,
) {
    let rec = |i: usize| queue_record(events, i);
    let facts: Vec<(u64, FifoItem)> = items
        .iter()
        .filter_map(|(&item, r)| {
            let first_enqueue = *r.enqueues.first()?;
            let acked = r
                .enqueues
                .iter()
                .copied()
                .find(|&e| rec(e).outcome == Outcome::Ok);
            let first_take = r
                .dequeues
                .iter()
                .copied()
                .filter(|&d| rec(d).outcome == Outcome::Ok)
                .min_by_key(|&d| (rec(d).complete_ns.unwrap_or(u64::MAX), d));
            Some((
                item,
                FifoItem {
                    enqueued: acked.and_then(|e| rec(e).complete_ns),
                    enqueue_invoked: r.enqueues.iter().map(|&e| rec(e).invoke_ns).min()?,
                    take_invoked: r.dequeues.iter().map(|&d| rec(d).invoke_ns).min(),
                    taken: first_take.and_then(|d| rec(d).complete_ns),
                    enqueue_event: acked.unwrap_or(first_enqueue),
                    take_event: first_take,
                },
            ))
        })
        .collect();
    // A: acknowledged and dequeued at some point, by enqueue completion.
    let mut earlier: Vec<(u64, u64, usize)> = facts
        .iter()
        .enumerate()
        .filter_map(|(i, (_, f))| Some((f.enqueued?, f.take_invoked?, i)))
        .collect();
    earlier.sort_unstable();
    // B: taken, by enqueue invocation.
    let mut later: Vec<(u64, u64, usize)> = facts
        .iter()
        .enumerate()
        .filter_map(|(i, (_, f))| Some((f.enqueue_invoked, f.taken?, i)))
        .collect();
    later.sort_unstable();
    // Sweep B by enqueue invocation; `latest` is the A (enqueued before it) whose first take
    // was invoked last.
    let mut latest: Option<(u64, usize)> = None;
    let mut next = 0;
    for &(invoked, taken, b) in &later {
        while let Some(&(enqueued, take_invoked, a)) = earlier.get(next) {
            if enqueued >= invoked {
                break;
            }
            next += 1;
            latest = latest.max(Some((take_invoked, a)));
        }
        let Some((take_invoked, a)) = latest.filter(|&(t, _)| t > taken) else {
            continue;
        };
        debug_assert_ne!(a, b, "an item is not enqueued before itself");
        let (item_a, fa) = &facts[a];
        let (item_b, fb) = &facts[b];
        // An orphan claim made while A existed and before B was taken may hide A.
        if hidden
            .iter()
            .any(|&(from, until)| from < taken && until > fa.enqueue_invoked)
        {
            continue;
        }
        let mut evs = vec![fa.enqueue_event, fb.enqueue_event];
        evs.extend(fb.take_event);
        report.add(QueueFinding {
            property: FIFO,
            severity: Severity::Violation,
            queue: queue.to_owned(),
            item: *item_b,
            detail: format!(
                "item {item_a} was enqueued before item {item_b}, but {item_b} was taken at \
                 {taken}, before any take of {item_a} began (at {take_invoked})"
            ),
            events: evs,
        });
    }
}
