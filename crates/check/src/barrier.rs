//! Double-barrier invariants over a history's barrier attempts (`Event::Barrier`), round by
//! round, with the figures a barrier's user wants (rounds completed, enter and leave
//! waits, attempts lost to a session end).
//!
//! Findings (names in [`BARRIER_PROPERTIES`]):
//! - `EarlyEnter`: a participant passed enter of a round at a time when fewer than `size`
//!   distinct participants had asked to enter it (a participant's first request, in any of
//!   its sessions, counts). Never excused: the round's `ready` node is made only after
//!   `size` participant nodes existed, each created after its owner asked.
//! - `EarlyLeave`: a participant passed leave of a round before another participant of
//!   the round had asked to leave it, while that participant's sessions in the round were
//!   all live — so it had not even finished entering or computing.
//! - `ExpiredParticipantLeftBehind` (severity `Documented`): the same, when a session of
//!   the participant left behind had ended (the servers expired it, taking its node)
//!   before the leave passed. The recipe cannot tell a node taken by an expiry from one
//!   deleted by its owner's leave; the participant rejoins the round in its next session
//!   (see `client::recipes::barrier`). Counted once per (round, leaver, left-behind).
//!
//! Cost: O(n log n) in the history's length, plus O(p²) per round for p participants.

use std::collections::{BTreeMap, BTreeSet};

use proto::ProcessId;
use proto::history::{BarrierEnd, BarrierRecord, Event};
use proto::zk::SessionId;
use serde::Serialize;

pub use crate::lock::Quantiles;
pub use crate::queue::Severity;
use crate::zk::render_event;

pub const EARLY_ENTER: &str = "EarlyEnter";
pub const EARLY_LEAVE: &str = "EarlyLeave";
pub const EXPIRED_PARTICIPANT_LEFT_BEHIND: &str = "ExpiredParticipantLeftBehind";
pub const BARRIER_PROPERTIES: [&str; 3] =
    [EARLY_ENTER, EARLY_LEAVE, EXPIRED_PARTICIPANT_LEFT_BEHIND];

/// Findings kept per property (the rest are counted).
const FINDINGS_KEPT_PER_PROPERTY: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BarrierFinding {
    pub property: &'static str,
    pub severity: Severity,
    pub round: u64,
    pub detail: String,
    /// The barrier attempts involved, as event indices.
    pub events: Vec<usize>,
}

impl BarrierFinding {
    pub fn render(&self, events: &[Event]) -> String {
        let mut text = format!(
            "{} ({:?}) in round {}: {}",
            self.property, self.severity, self.round, self.detail
        );
        for &e in &self.events {
            text.push_str("\n  ");
            text.push_str(&render_event(events, e));
        }
        text
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BarrierStats {
    /// Attempts (one per participant, round and session).
    pub attempts: usize,
    /// Attempts whose session ended (or whose client crashed) before they left.
    pub attempts_lost: usize,
    pub rounds: usize,
    /// Rounds `size` distinct participants passed leave of.
    pub rounds_completed: usize,
    /// Rounds in which some participant lost an attempt and rejoined.
    pub rounds_rejoined: usize,
    /// An attempt's enter request to its passing enter, ns.
    pub enter_wait_ns: Quantiles,
    /// An attempt's leave request to its passing leave, ns.
    pub leave_wait_ns: Quantiles,
    /// Findings per property, all of them (kept or not), in `BARRIER_PROPERTIES` order.
    pub counts: [usize; 3],
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BarrierReport {
    pub findings: Vec<BarrierFinding>,
    pub stats: BarrierStats,
}

impl BarrierReport {
    /// No violation (documented findings allowed).
    pub fn is_ok(&self) -> bool {
        self.stats.counts[0] + self.stats.counts[1] == 0
    }

    pub fn count(&self, property: &str) -> usize {
        let i = BARRIER_PROPERTIES
            .iter()
            .position(|&p| p == property)
            .unwrap_or_else(|| panic!("unknown barrier property {property}"));
        self.stats.counts[i]
    }

    /// The first violation, if any.
    pub fn violation(&self) -> Option<&BarrierFinding> {
        self.findings
            .iter()
            .find(|f| f.severity == Severity::Violation)
    }

    fn add(&mut self, finding: BarrierFinding) {
        let i = BARRIER_PROPERTIES
            .iter()
            .position(|&p| p == finding.property)
            .expect("a known property");
        assert_eq!(
            finding.severity == Severity::Documented,
            finding.property == EXPIRED_PARTICIPANT_LEFT_BEHIND,
            "only a participant left behind by an expiry is documented"
        );
        self.stats.counts[i] += 1;
        if self.stats.counts[i] <= FINDINGS_KEPT_PER_PROPERTY {
            self.findings.push(finding);
        }
    }
}

/// One participant's attempts at one round, summarized.
#[derive(Default)]
struct Participant {
    /// Its first enter request (any session), with the attempt's event.
    enter: Option<(u64, usize)>,
    /// Its first leave request (any session).
    leave: Option<u64>,
    /// Its attempts' sessions with their events.
    sessions: Vec<(SessionId, usize)>,
}

fn first(slot: &mut Option<(u64, usize)>, t: Option<u64>, i: usize) {
    if let Some(t) = t
        && slot.is_none_or(|(s, _)| t < s)
    {
        *slot = Some((t, i));
    }
}

/// Judges the barrier attempts of `history` for a barrier of `size` participants.
pub fn check_barrier(history: &[Event], size: usize) -> BarrierReport {
    assert!(size >= 1, "a barrier has participants");
    let mut report = BarrierReport::default();
    let mut rounds: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let mut session_end_ns: BTreeMap<SessionId, u64> = BTreeMap::new();
    for (i, e) in history.iter().enumerate() {
        match e {
            Event::Barrier(b) => rounds.entry(b.round).or_default().push(i),
            Event::ServerClose {
                session, time_ns, ..
            } => {
                let t = session_end_ns.entry(*session).or_insert(*time_ns);
                *t = (*t).min(*time_ns);
            }
            _ => {}
        }
    }
    let record = |i: usize| match &history[i] {
        Event::Barrier(b) => b,
        other => panic!("not a barrier attempt: {other:?}"),
    };
    let (mut enter_waits, mut leave_waits) = (Vec::new(), Vec::new());
    for (&round, attempts) in &rounds {
        report.stats.rounds += 1;
        let mut who: BTreeMap<ProcessId, Participant> = BTreeMap::new();
        let mut left: BTreeSet<ProcessId> = BTreeSet::new();
        let mut lost = false;
        for &i in attempts {
            let b = record(i);
            assert_eq!(b.round, round);
            check_record(b);
            report.stats.attempts += 1;
            let p = who.entry(b.process).or_default();
            first(&mut p.enter, b.enter_ns, i);
            if let Some(t) = b.leave_ns {
                p.leave = Some(p.leave.map_or(t, |l| l.min(t)));
            }
            p.sessions.push((b.session, i));
            if b.end == BarrierEnd::Left {
                left.insert(b.process);
            }
            let crashed = b.end == BarrierEnd::Open && b.end_ns.is_some();
            if b.end == BarrierEnd::Lost || crashed {
                report.stats.attempts_lost += 1;
                lost = true;
            }
            if let (Some(a), Some(z)) = (b.enter_ns, b.entered_ns) {
                assert!(z >= a, "passed enter before asking");
                enter_waits.push(z - a);
            }
            if let (Some(a), Some(z)) = (b.leave_ns, b.left_ns) {
                assert!(z >= a, "passed leave before asking");
                leave_waits.push(z - a);
            }
        }
        report.stats.rounds_completed += usize::from(left.len() >= size);
        report.stats.rounds_rejoined += usize::from(lost);
        let mut requests: Vec<u64> = who.values().filter_map(|p| p.enter.map(|e| e.0)).collect();
        requests.sort_unstable();
        assert!(
            requests.len() <= who.len(),
            "one first request per participant"
        );
        let mut pairs: BTreeSet<(ProcessId, ProcessId)> = BTreeSet::new();
        for &i in attempts {
            let b = record(i);
            if let Some(t) = b.entered_ns {
                check_enter(&mut report, b, i, t, size, &requests, &who);
            }
            if let Some(t) = b.left_ns {
                for (&q, other) in &who {
                    if q == b.process || other.leave.is_some_and(|l| l <= t) {
                        continue;
                    }
                    assert!(!other.sessions.is_empty(), "a participant has attempts");
                    if !pairs.insert((b.process, q)) {
                        continue;
                    }
                    let ended = other
                        .sessions
                        .iter()
                        .filter_map(|(s, e)| Some((session_end_ns.get(s).copied()?, *e)))
                        .filter(|(end, _)| *end <= t)
                        .min();
                    let their = other.sessions.iter().map(|(_, e)| *e);
                    let events: Vec<usize> = std::iter::once(i).chain(their).collect();
                    let asked = other
                        .leave
                        .map_or_else(|| "never asked".into(), |l| format!("asked only at {l}"));
                    report.add(match ended {
                        Some((end, _)) => BarrierFinding {
                            property: EXPIRED_PARTICIPANT_LEFT_BEHIND,
                            severity: Severity::Documented,
                            round,
                            detail: format!(
                                "{} passed leave at {t}; {q} {asked} to leave, but its \
                                 session ended at {end}, taking its node",
                                b.process
                            ),
                            events,
                        },
                        None => BarrierFinding {
                            property: EARLY_LEAVE,
                            severity: Severity::Violation,
                            round,
                            detail: format!(
                                "{} passed leave at {t} while {q}, live, {asked} to leave",
                                b.process
                            ),
                            events,
                        },
                    });
                }
            }
        }
    }
    report.stats.enter_wait_ns = Quantiles::of(enter_waits);
    report.stats.leave_wait_ns = Quantiles::of(leave_waits);
    let s = &report.stats;
    assert!(s.rounds_completed <= s.rounds && s.rounds_rejoined <= s.rounds);
    assert!(s.attempts_lost <= s.attempts);
    report
}

/// An attempt's steps are in order and its end matches them.
fn check_record(b: &BarrierRecord) {
    let steps = [b.enter_ns, b.entered_ns, b.leave_ns, b.left_ns];
    assert!(
        steps.iter().flatten().all(|&t| t >= b.start_ns),
        "a step before the attempt began: {b:?}"
    );
    assert!(
        b.entered_ns.is_none() || b.enter_ns.is_some(),
        "passed enter without asking: {b:?}"
    );
    assert!(
        b.left_ns.is_none() || b.leave_ns.is_some(),
        "passed leave without asking: {b:?}"
    );
    assert_eq!(
        b.end == BarrierEnd::Left,
        b.left_ns.is_some(),
        "ended left iff passed leave: {b:?}"
    );
}

/// Attempt `b` (event `i`) passed enter at `t`: `size` participants must have asked.
fn check_enter(
    report: &mut BarrierReport,
    b: &BarrierRecord,
    i: usize,
    t: u64,
    size: usize,
    requests: &[u64],
    who: &BTreeMap<ProcessId, Participant>,
) {
    let asked = requests.partition_point(|&r| r <= t);
    assert!(asked <= who.len());
    if asked >= size {
        return;
    }
    let mut events = vec![i];
    events.extend(
        who.values()
            .filter_map(|p| p.enter)
            .filter(|&(r, _)| r <= t)
            .map(|(_, e)| e)
            .filter(|&e| e != i),
    );
    report.add(BarrierFinding {
        property: EARLY_ENTER,
        severity: Severity::Violation,
        round: b.round,
        detail: format!(
            "{} passed enter at {t} when {asked} of {size} participants had asked to enter",
            b.process
        ),
        events,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Zxid;

    const MS: u64 = 1_000_000;

    /// Builds a history of barrier attempts (times in ms) and session expiries.
    #[derive(Default)]
    struct H {
        events: Vec<Event>,
    }

    struct A {
        p: u32,
        s: u64,
        round: u64,
        enter: Option<u64>,
        entered: Option<u64>,
        leave: Option<u64>,
        left: Option<u64>,
    }

    /// A full attempt of process `p` (session 10·p) at round 1.
    fn full(p: u32, enter: u64, entered: u64, leave: u64, left: u64) -> A {
        A {
            p,
            s: 10 * u64::from(p),
            round: 1,
            enter: Some(enter),
            entered: Some(entered),
            leave: Some(leave),
            left: Some(left),
        }
    }

    impl H {
        fn attempt(&mut self, a: A, end: BarrierEnd) -> &mut H {
            let ms = |t: Option<u64>| t.map(|t| t * MS);
            let start = a.enter.or(a.leave).expect("a first step");
            let last = [a.left, a.leave, a.entered, a.enter]
                .into_iter()
                .flatten()
                .max();
            self.events.push(Event::Barrier(BarrierRecord {
                process: ProcessId(a.p),
                session: SessionId(a.s),
                round: a.round,
                barrier: format!("/barrier/round-{}", a.round),
                start_ns: start * MS,
                enter_ns: ms(a.enter),
                entered_ns: ms(a.entered),
                leave_ns: ms(a.leave),
                left_ns: ms(a.left),
                end_ns: ms(last),
                end,
            }));
            self
        }

        fn left(&mut self, a: A) -> &mut H {
            self.attempt(a, BarrierEnd::Left)
        }

        fn expire(&mut self, s: u64, at: u64) -> &mut H {
            self.events.push(Event::ServerClose {
                session: SessionId(s),
                zxid: Zxid(at),
                time_ns: at * MS,
            });
            self
        }

        fn check(&self, size: usize) -> BarrierReport {
            check_barrier(&self.events, size)
        }
    }

    #[test]
    fn a_clean_round_passes_with_its_figures() {
        let mut h = H::default();
        h.left(full(1, 0, 5, 10, 14))
            .left(full(2, 2, 5, 12, 14))
            .left(full(3, 4, 5, 13, 15));
        let r = h.check(3);
        assert!(r.is_ok() && r.findings.is_empty(), "{:?}", r.findings);
        let s = &r.stats;
        assert_eq!((s.rounds, s.rounds_completed, s.attempts), (1, 1, 3));
        assert_eq!((s.attempts_lost, s.rounds_rejoined), (0, 0));
        assert_eq!(
            s.enter_wait_ns,
            Quantiles {
                p50: 3 * MS,
                p99: 5 * MS,
                max: 5 * MS
            }
        );
        assert_eq!(s.leave_wait_ns.max, 4 * MS);
    }

    #[test]
    fn passing_enter_before_the_last_participant_asked_is_caught() {
        // p1 passes at 3; p3 asks only at 4.
        let mut h = H::default();
        h.left(full(1, 0, 3, 10, 14))
            .left(full(2, 2, 5, 12, 14))
            .left(full(3, 4, 5, 13, 15));
        let r = h.check(3);
        assert_eq!(r.count(EARLY_ENTER), 1);
        let v = r.violation().expect("a violation");
        assert!(v.detail.contains("2 of 3"), "{}", v.detail);
        assert_eq!(
            v.events.len(),
            2,
            "the pass (its own request) and p2's request"
        );
        // Near miss: p3 asked at the very moment p1 passed.
        let mut h = H::default();
        h.left(full(1, 0, 4, 10, 14))
            .left(full(2, 2, 5, 12, 14))
            .left(full(3, 4, 5, 13, 15));
        assert!(h.check(3).is_ok());
    }

    #[test]
    fn leaving_before_a_live_participant_asked_to_leave_is_caught() {
        let mut h = H::default();
        h.left(full(1, 0, 5, 10, 12))
            .left(full(2, 2, 5, 11, 14))
            .left(full(3, 4, 5, 13, 15));
        let r = h.check(3);
        // p1 left at 12 before p3 asked (13); p2 left at 14 after everyone asked.
        assert_eq!(r.count(EARLY_LEAVE), 1);
        assert!(
            r.violation().expect("early").detail.contains("p3"),
            "{:?}",
            r.findings
        );
        // Its session ending after the leave passed excuses nothing.
        h.expire(30, 13);
        let r = h.check(3);
        assert_eq!(r.count(EARLY_LEAVE), 1);
        assert_eq!(r.count(EXPIRED_PARTICIPANT_LEFT_BEHIND), 0);
    }

    #[test]
    fn a_participant_left_behind_by_its_expiry_is_documented_and_rejoins() {
        // p3 entered, its session (30) expired at 8 while computing; p1 and p2 left
        // without it; p3 rejoined in session 31 and left alone.
        let mut h = H::default();
        h.left(full(1, 0, 5, 9, 11))
            .left(full(2, 2, 5, 10, 11))
            .attempt(
                A {
                    p: 3,
                    s: 30,
                    round: 1,
                    enter: Some(4),
                    entered: Some(5),
                    leave: None,
                    left: None,
                },
                BarrierEnd::Lost,
            )
            .expire(30, 8)
            .left(A {
                p: 3,
                s: 31,
                round: 1,
                enter: Some(12),
                entered: Some(13),
                leave: Some(20),
                left: Some(21),
            });
        let r = h.check(3);
        assert!(r.is_ok(), "{:?}", r.findings);
        assert_eq!(
            r.count(EXPIRED_PARTICIPANT_LEFT_BEHIND),
            2,
            "p1 and p2 each"
        );
        let f = &r.findings[0];
        assert_eq!(f.severity, Severity::Documented);
        assert!(f.detail.contains("ended at 8000000"), "{}", f.detail);
        let s = &r.stats;
        assert_eq!((s.attempts, s.attempts_lost), (4, 1));
        assert_eq!((s.rounds_completed, s.rounds_rejoined), (1, 1));
    }

    #[test]
    fn rounds_are_judged_apart() {
        // Round 2's requests do not count for round 1, and a participant's first request
        // in an earlier session counts for its round.
        let mut h = H::default();
        let mut r2 = full(3, 1, 4, 6, 7);
        r2.round = 2;
        h.left(full(1, 0, 5, 10, 14))
            .left(full(2, 2, 5, 12, 14))
            .left(r2);
        let r = h.check(2);
        assert!(r.count(EARLY_ENTER) >= 1, "round 2 has one participant");
        assert_eq!(r.stats.rounds, 2);
        let mut h = H::default();
        h.attempt(
            A {
                p: 1,
                s: 10,
                round: 1,
                enter: Some(0),
                entered: None,
                leave: None,
                left: None,
            },
            BarrierEnd::Lost,
        )
        .expire(10, 3)
        .left(A {
            p: 1,
            s: 11,
            round: 1,
            enter: Some(6),
            entered: Some(7),
            leave: Some(8),
            left: Some(9),
        })
        .left(full(2, 5, 7, 8, 9));
        assert!(h.check(2).is_ok(), "{:?}", h.check(2).findings);
    }
}
