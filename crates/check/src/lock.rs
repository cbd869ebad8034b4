//! Lock-recipe invariants over a history's lock holds (`Event::Lock`) and the protected
//! resource's writes (`Event::Resource`), judged in the resource's own order — mutual
//! exclusion as the storage behind the lock sees it — plus the lock's figures.
//!
//! Findings (names in [`LOCK_PROPERTIES`]; all but one are violations):
//! - `WriteOutsideHold`: the resource accepted a write of a hold that never acquired the
//!   lock, or before it did.
//! - `StaleTokenAccepted` (fencing on): the resource accepted a write whose fencing token is
//!   lower than one it accepted before, or one without a token.
//! - `MutualExclusion`: two holds' critical sections interleave in the resource's order
//!   (one wrote, the other wrote, the first wrote again), and it is not the documented case
//!   below — with fencing on, any interleaving.
//! - `ExpiredHolderWrote` (severity `Documented`, fencing off): the same interleaving, when
//!   the earlier grant's session had ended (the servers expired it, taking its node)
//!   before the later holder acquired. The earlier grant is the hold with the lower token
//!   (its node was created first), whichever client learned of its grant first. A lock held through a session is a lease: a holder
//!   paused past its session timeout still believes it holds the lock (Kleppmann 2016;
//!   anchors §6); only a fencing token stops it. Counted once per pair of holds.
//!
//! Cost: O(n log n) in the history's length.

use std::collections::{BTreeMap, BTreeSet};

use proto::ProcessId;
use proto::history::{Event, LockEnd, LockRecord, ResourceRecord};
use proto::zk::SessionId;
use serde::Serialize;

pub use crate::queue::Severity;
use crate::zk::render_event;

pub const WRITE_OUTSIDE_HOLD: &str = "WriteOutsideHold";
pub const STALE_TOKEN_ACCEPTED: &str = "StaleTokenAccepted";
pub const MUTUAL_EXCLUSION: &str = "MutualExclusion";
pub const EXPIRED_HOLDER_WROTE: &str = "ExpiredHolderWrote";
pub const LOCK_PROPERTIES: [&str; 4] = [
    WRITE_OUTSIDE_HOLD,
    STALE_TOKEN_ACCEPTED,
    MUTUAL_EXCLUSION,
    EXPIRED_HOLDER_WROTE,
];

/// Findings kept per property (the rest are counted).
const FINDINGS_KEPT_PER_PROPERTY: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockFinding {
    pub property: &'static str,
    pub severity: Severity,
    pub detail: String,
    /// The lock holds and resource writes involved, as event indices.
    pub events: Vec<usize>,
}

impl LockFinding {
    pub fn render(&self, events: &[Event]) -> String {
        let mut text = format!("{} ({:?}): {}", self.property, self.severity, self.detail);
        for &e in &self.events {
            text.push_str("\n  ");
            text.push_str(&render_event(events, e));
        }
        text
    }
}

/// Nearest-rank quantiles of a sample (0 when empty).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Quantiles {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl Quantiles {
    pub fn of(mut sample: Vec<u64>) -> Quantiles {
        sample.sort_unstable();
        let at = |p: usize| match sample.len() {
            0 => 0,
            n => sample[((n * p).div_ceil(100)).clamp(1, n) - 1],
        };
        Quantiles {
            p50: at(50),
            p99: at(99),
            max: at(100),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LockStats {
    /// Holds requested (acquisitions attempted).
    pub holds: usize,
    pub acquisitions: usize,
    pub released: usize,
    pub lost: usize,
    pub fenced: usize,
    /// Request to acquisition, ns.
    pub wait_ns: Quantiles,
    /// Acquisition to the hold's end, ns (holds that ended).
    pub hold_ns: Quantiles,
    /// Watch events on lock nodes the holds received, in all and at most per hold.
    pub watch_events: u64,
    pub watch_events_per_hold_max: u64,
    pub writes: usize,
    pub writes_accepted: usize,
    /// Writes the resource refused (fencing: a token lower than the highest it accepted).
    pub stale_tokens_rejected: usize,
    /// Findings per property, all of them (kept or not), in `LOCK_PROPERTIES` order.
    pub counts: [usize; 4],
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LockReport {
    pub findings: Vec<LockFinding>,
    pub stats: LockStats,
}

impl LockReport {
    /// No violation (documented findings allowed).
    pub fn is_ok(&self) -> bool {
        LOCK_PROPERTIES
            .iter()
            .zip(self.stats.counts)
            .all(|(&p, count)| p == EXPIRED_HOLDER_WROTE || count == 0)
    }

    pub fn count(&self, property: &str) -> usize {
        let i = LOCK_PROPERTIES
            .iter()
            .position(|&p| p == property)
            .unwrap_or_else(|| panic!("unknown lock property {property}"));
        self.stats.counts[i]
    }

    /// The first violation, if any.
    pub fn violation(&self) -> Option<&LockFinding> {
        self.findings
            .iter()
            .find(|f| f.severity == Severity::Violation)
    }

    fn add(&mut self, finding: LockFinding) {
        let i = LOCK_PROPERTIES
            .iter()
            .position(|&p| p == finding.property)
            .expect("a known property");
        assert_eq!(
            finding.severity == Severity::Documented,
            finding.property == EXPIRED_HOLDER_WROTE,
            "only an expired holder's writes are documented"
        );
        self.stats.counts[i] += 1;
        if self.stats.counts[i] <= FINDINGS_KEPT_PER_PROPERTY {
            self.findings.push(finding);
        }
    }
}

type HoldKey = (ProcessId, SessionId, u64);

fn key_of_write(w: &ResourceRecord) -> HoldKey {
    (w.holder, w.session, w.hold)
}

/// Judges the lock holds and resource writes of `history`; `fencing` says whether the
/// resource checks tokens (then every accepted write must carry one, never lower than
/// an earlier accepted one, and no interleaving is excused).
pub fn check_lock(history: &[Event], fencing: bool) -> LockReport {
    let mut report = LockReport::default();
    let mut holds: BTreeMap<HoldKey, usize> = BTreeMap::new();
    let mut session_end_ns: BTreeMap<SessionId, u64> = BTreeMap::new();
    let mut writes: Vec<(u64, u64, usize)> = Vec::new();
    for (i, e) in history.iter().enumerate() {
        match e {
            Event::Lock(l) => {
                let previous = holds.insert((l.process, l.session, l.hold), i);
                assert!(
                    previous.is_none(),
                    "hold {}/{} recorded twice",
                    l.session,
                    l.hold
                );
            }
            Event::Resource(w) => writes.push((u64::from(w.resource.0), w.index, i)),
            Event::ServerClose {
                session, time_ns, ..
            } => {
                let t = session_end_ns.entry(*session).or_insert(*time_ns);
                *t = (*t).min(*time_ns);
            }
            _ => {}
        }
    }
    report.stats = hold_stats(history, holds.values().copied());
    writes.sort_unstable();
    let lock = |i: usize| match &history[i] {
        Event::Lock(l) => l,
        other => panic!("not a lock hold: {other:?}"),
    };
    let resource = |i: usize| match &history[i] {
        Event::Resource(w) => w,
        other => panic!("not a resource write: {other:?}"),
    };
    // Per resource, in its order: the highest token accepted; the runs of accepted writes
    // (consecutive writes of one hold), each hold's last run and last write.
    let mut token_max: Option<(u64, usize)> = None;
    let mut runs: Vec<HoldKey> = Vec::new();
    let mut last_run: BTreeMap<HoldKey, usize> = BTreeMap::new();
    let mut last_write: BTreeMap<HoldKey, usize> = BTreeMap::new();
    let mut pairs: BTreeSet<(HoldKey, HoldKey)> = BTreeSet::new();
    let mut current_resource = None;
    for &(res, index, wi) in &writes {
        if current_resource != Some(res) {
            current_resource = Some(res);
            token_max = None;
            runs.clear();
            last_run.clear();
            last_write.clear();
        }
        let w = resource(wi);
        assert!(index >= 1, "resource writes are numbered from 1");
        report.stats.writes += 1;
        if !w.accepted {
            report.stats.stale_tokens_rejected += 1;
            continue;
        }
        report.stats.writes_accepted += 1;
        let key = key_of_write(w);
        let hold = holds.get(&key).copied();
        match hold.map(lock) {
            Some(h) if h.acquired_ns.is_some_and(|t| t <= w.time_ns) => {}
            Some(h) => report.add(LockFinding {
                property: WRITE_OUTSIDE_HOLD,
                severity: Severity::Violation,
                detail: format!(
                    "the resource accepted write #{index} of {} before its hold acquired the lock",
                    h.process
                ),
                events: vec![hold.expect("matched"), wi],
            }),
            None => report.add(LockFinding {
                property: WRITE_OUTSIDE_HOLD,
                severity: Severity::Violation,
                detail: format!(
                    "the resource accepted write #{index} of {} hold {}/{}, which never asked for the lock",
                    w.holder, w.session, w.hold
                ),
                events: vec![wi],
            }),
        }
        if fencing {
            match (w.token, token_max) {
                (None, _) => report.add(LockFinding {
                    property: STALE_TOKEN_ACCEPTED,
                    severity: Severity::Violation,
                    detail: format!("the resource accepted write #{index} without a fencing token"),
                    events: vec![wi],
                }),
                (Some(t), Some((max, at))) if t < max => report.add(LockFinding {
                    property: STALE_TOKEN_ACCEPTED,
                    severity: Severity::Violation,
                    detail: format!(
                        "the resource accepted token {t:#x} in write #{index} after token {max:#x}"
                    ),
                    events: vec![at, wi],
                }),
                (Some(t), _) => {
                    if token_max.is_none_or(|(max, _)| t > max) {
                        token_max = Some((t, wi));
                    }
                }
            }
        }
        if runs.last() != Some(&key) {
            // This hold wrote before: every hold that wrote since interleaves with it.
            if let Some(&from) = last_run.get(&key) {
                let since: BTreeSet<HoldKey> = runs[from + 1..].iter().copied().collect();
                for other in since {
                    if !pairs.insert((key.min(other), key.max(other))) {
                        continue;
                    }
                    let (a, b) = (holds.get(&key).copied(), holds.get(&other).copied());
                    let (Some(a), Some(b)) = (a, b) else {
                        continue; // a write outside any hold: reported above
                    };
                    if let Some((property, severity, detail)) =
                        interleaving(lock(a), lock(b), fencing, &session_end_ns)
                    {
                        report.add(LockFinding {
                            property,
                            severity,
                            detail: format!("{detail} (resource writes up to #{index})"),
                            events: vec![a, b, last_write[&other], wi],
                        });
                    }
                }
            }
            runs.push(key);
            last_run.insert(key, runs.len() - 1);
        }
        last_write.insert(key, wi);
    }
    report
}

/// How an interleaving of holds `x` and `y` is judged: documented when the earlier
/// grant's session ended before the later grant acquired (fencing off), a violation
/// otherwise. The earlier grant is the lower token — the node created first, which
/// ZooKeeper's lock order serves first — not the one whose client learned first: an
/// expired holder can still "acquire" from a lagging server's stale listing after the
/// servers gave the lock to the next node.
fn interleaving(
    x: &LockRecord,
    y: &LockRecord,
    fencing: bool,
    session_end_ns: &BTreeMap<SessionId, u64>,
) -> Option<(&'static str, Severity, String)> {
    let (xa, ya) = (x.acquired_ns?, y.acquired_ns?);
    let (early, late) = if (x.token, xa, x.process) <= (y.token, ya, y.process) {
        (x, y)
    } else {
        (y, x)
    };
    let late_at = late.acquired_ns.expect("acquired");
    let ended = session_end_ns
        .get(&early.session)
        .copied()
        .filter(|&t| t <= late_at);
    let what = format!(
        "{} (hold {}/{}, token {}) and {} (hold {}/{}, token {}) interleave at the resource",
        early.process,
        early.session,
        early.hold,
        token_text(early.token),
        late.process,
        late.session,
        late.hold,
        token_text(late.token)
    );
    Some(match ended {
        Some(t) if !fencing => (
            EXPIRED_HOLDER_WROTE,
            Severity::Documented,
            format!(
                "{what}: the first holder's session ended at {t}, before the second acquired at \
                 {late_at} — a lease without a fencing token"
            ),
        ),
        Some(t) => (
            MUTUAL_EXCLUSION,
            Severity::Violation,
            format!("{what} although fencing is on (the first session ended at {t})"),
        ),
        None => (
            MUTUAL_EXCLUSION,
            Severity::Violation,
            format!("{what} while the first holder's session was live"),
        ),
    })
}

fn token_text(t: Option<u64>) -> String {
    t.map_or_else(|| "none".into(), |t| format!("{t:#x}"))
}

fn hold_stats(history: &[Event], holds: impl Iterator<Item = usize>) -> LockStats {
    let mut s = LockStats::default();
    let (mut waits, mut held) = (Vec::new(), Vec::new());
    for i in holds {
        let Event::Lock(l) = &history[i] else {
            unreachable!("indexed holds")
        };
        s.holds += 1;
        s.watch_events += l.watch_events;
        s.watch_events_per_hold_max = s.watch_events_per_hold_max.max(l.watch_events);
        match l.end {
            LockEnd::Released => s.released += 1,
            LockEnd::Lost => s.lost += 1,
            LockEnd::Fenced => s.fenced += 1,
            LockEnd::Open => {}
        }
        let Some(acquired) = l.acquired_ns else {
            continue;
        };
        assert!(acquired >= l.request_ns, "acquired before it asked");
        s.acquisitions += 1;
        waits.push(acquired - l.request_ns);
        if let Some(end) = l.end_ns {
            assert!(end >= acquired, "a hold ended before it acquired");
            held.push(end - acquired);
        }
    }
    s.wait_ns = Quantiles::of(waits);
    s.hold_ns = Quantiles::of(held);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Zxid;

    const MS: u64 = 1_000_000;

    /// Builds a history: holds, writes and session expiries, in time order.
    #[derive(Default)]
    struct H {
        events: Vec<Event>,
        writes: u64,
    }

    impl H {
        /// Hold 1 of session `s` by process `p`, asked at `req`, acquired at `acq`, ended at `end`.
        fn hold(
            &mut self,
            p: u32,
            s: u64,
            token: u64,
            req: u64,
            acq: Option<u64>,
            end: u64,
        ) -> &mut H {
            self.events.push(Event::Lock(LockRecord {
                process: ProcessId(p),
                session: SessionId(s),
                hold: 1,
                lock: "/lock".into(),
                node: Some(format!("_c_{s:x}x1-lock-{token:010}")),
                token: acq.map(|_| token),
                request_ns: req * MS,
                acquired_ns: acq.map(|t| t * MS),
                end_ns: Some(end * MS),
                end: LockEnd::Released,
                watch_events: 1,
            }));
            self
        }

        fn write(&mut self, p: u32, s: u64, token: Option<u64>, at: u64, accepted: bool) -> &mut H {
            self.writes += 1;
            self.events.push(Event::Resource(ResourceRecord {
                resource: ProcessId(9),
                index: self.writes,
                holder: ProcessId(p),
                session: SessionId(s),
                hold: 1,
                token,
                time_ns: at * MS,
                accepted,
            }));
            self
        }

        fn expire(&mut self, s: u64, at: u64) -> &mut H {
            self.events.push(Event::ServerClose {
                session: SessionId(s),
                zxid: Zxid(at),
                time_ns: at * MS,
            });
            self
        }

        fn check(&self, fencing: bool) -> LockReport {
            check_lock(&self.events, fencing)
        }
    }

    #[test]
    fn back_to_back_holds_pass_with_their_figures() {
        let mut h = H::default();
        h.hold(1, 10, 100, 0, Some(1), 5)
            .hold(2, 20, 200, 0, Some(6), 9)
            .write(1, 10, Some(100), 2, true)
            .write(1, 10, Some(100), 3, true)
            .write(2, 20, Some(200), 7, true)
            .write(2, 20, Some(200), 8, true);
        let r = h.check(true);
        assert!(r.is_ok() && r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.stats.acquisitions, 2);
        assert_eq!(
            r.stats.wait_ns,
            Quantiles {
                p50: MS,
                p99: 6 * MS,
                max: 6 * MS
            }
        );
        assert_eq!(
            r.stats.hold_ns,
            Quantiles {
                p50: 3 * MS,
                p99: 4 * MS,
                max: 4 * MS
            }
        );
        assert_eq!(
            (r.stats.watch_events, r.stats.watch_events_per_hold_max),
            (2, 1)
        );
        assert_eq!((r.stats.writes, r.stats.writes_accepted), (4, 4));
    }

    #[test]
    fn two_live_holders_interleaving_is_a_violation() {
        let mut h = H::default();
        h.hold(1, 10, 100, 0, Some(1), 9)
            .hold(2, 20, 200, 0, Some(2), 9)
            .write(1, 10, None, 3, true)
            .write(2, 20, None, 4, true)
            .write(1, 10, None, 5, true);
        let r = h.check(false);
        assert_eq!(r.count(MUTUAL_EXCLUSION), 1);
        let v = r.violation().expect("a violation");
        assert!(v.detail.contains("session was live"), "{}", v.detail);
        assert_eq!(v.events.len(), 4);
    }

    #[test]
    fn an_expired_holder_writing_after_the_next_grant_is_documented_without_fencing() {
        let mut h = H::default();
        // p1 holds, writes, pauses; its session expires at 4; p2 acquires at 5 and writes;
        // p1 wakes at 7 and writes again.
        h.hold(1, 10, 100, 0, Some(1), 8)
            .hold(2, 20, 200, 0, Some(5), 9)
            .write(1, 10, Some(100), 2, true)
            .expire(10, 4)
            .write(2, 20, Some(200), 6, true)
            .write(1, 10, Some(100), 7, true)
            .write(2, 20, Some(200), 8, true);
        let r = h.check(false);
        assert!(r.is_ok(), "{:?}", r.findings);
        assert_eq!(r.count(EXPIRED_HOLDER_WROTE), 1, "one pair, counted once");
        assert_eq!(r.findings[0].severity, Severity::Documented);
        // The same with fencing on (a resource that accepted the stale token) is caught.
        let r = h.check(true);
        assert!(!r.is_ok());
        assert_eq!(r.count(STALE_TOKEN_ACCEPTED), 1);
        assert_eq!(r.count(MUTUAL_EXCLUSION), 1);
    }

    #[test]
    fn an_expiry_after_the_next_grant_excuses_nothing() {
        // Near miss of the documented case: p1's session ends only after p2 acquired.
        let mut h = H::default();
        h.hold(1, 10, 100, 0, Some(1), 8)
            .hold(2, 20, 200, 0, Some(5), 9)
            .write(1, 10, None, 2, true)
            .write(2, 20, None, 6, true)
            .expire(10, 6)
            .write(1, 10, None, 7, true);
        let r = h.check(false);
        assert_eq!(r.count(MUTUAL_EXCLUSION), 1);
        assert_eq!(r.count(EXPIRED_HOLDER_WROTE), 0);
    }

    #[test]
    fn a_stale_write_refused_by_the_fence_passes() {
        // Near miss: the expired holder's late write carries its old token and is refused.
        let mut h = H::default();
        h.hold(1, 10, 100, 0, Some(1), 8)
            .hold(2, 20, 200, 0, Some(5), 9)
            .write(1, 10, Some(100), 2, true)
            .expire(10, 4)
            .write(2, 20, Some(200), 6, true)
            .write(1, 10, Some(100), 7, false)
            .write(2, 20, Some(200), 8, true);
        let r = h.check(true);
        assert!(r.is_ok() && r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.stats.stale_tokens_rejected, 1);
        assert_eq!(r.stats.writes_accepted, 3);
    }

    #[test]
    fn a_lower_token_accepted_is_stale() {
        // No interleaving (p1 never writes again), but the resource went backwards.
        let mut h = H::default();
        h.hold(1, 10, 100, 0, Some(1), 8)
            .hold(2, 20, 200, 0, Some(5), 9)
            .write(2, 20, Some(200), 6, true)
            .write(1, 10, Some(100), 7, true);
        let r = h.check(true);
        assert_eq!(r.count(STALE_TOKEN_ACCEPTED), 1);
        assert_eq!(r.count(MUTUAL_EXCLUSION), 0);
        let detail = &r.violation().expect("stale").detail;
        assert!(
            detail.contains("0x64") && detail.contains("0xc8"),
            "{detail}"
        );
        // Without a token under fencing: also refused by the checker.
        let mut h = H::default();
        h.hold(1, 10, 100, 0, Some(1), 8)
            .write(1, 10, None, 2, true);
        assert_eq!(h.check(true).count(STALE_TOKEN_ACCEPTED), 1);
        assert!(h.check(false).is_ok());
    }

    #[test]
    fn a_write_without_an_acquired_hold_is_caught() {
        let mut h = H::default();
        h.hold(1, 10, 100, 0, None, 8).write(1, 10, None, 2, true);
        assert_eq!(h.check(false).count(WRITE_OUTSIDE_HOLD), 1);
        let mut h = H::default();
        h.hold(1, 10, 100, 0, Some(3), 8)
            .write(1, 10, None, 2, true);
        assert_eq!(
            h.check(false).count(WRITE_OUTSIDE_HOLD),
            1,
            "before it acquired"
        );
        let mut h = H::default();
        h.write(4, 40, None, 2, true);
        assert_eq!(
            h.check(false).count(WRITE_OUTSIDE_HOLD),
            1,
            "no hold at all"
        );
        // A refused write of nobody changes nothing.
        let mut h = H::default();
        h.write(4, 40, Some(1), 2, false);
        assert!(h.check(true).is_ok());
    }

    #[test]
    fn every_hold_inside_a_resumed_span_is_judged() {
        // p1 resumes after p2 and p3 wrote: p3's grant came after p1's session ended (the
        // documented case), p2's did not (a violation the last writer alone would hide).
        let mut h = H::default();
        h.hold(1, 10, 100, 0, Some(1), 9)
            .hold(2, 20, 200, 0, Some(2), 9)
            .hold(3, 30, 300, 0, Some(6), 9)
            .write(1, 10, None, 2, true)
            .write(2, 20, None, 3, true)
            .expire(10, 5)
            .write(3, 30, None, 7, true)
            .write(1, 10, None, 8, true);
        let r = h.check(false);
        assert_eq!(r.count(MUTUAL_EXCLUSION), 1);
        assert_eq!(r.count(EXPIRED_HOLDER_WROTE), 1);
    }

    #[test]
    fn an_expired_holder_acquiring_late_from_a_stale_read_is_documented() {
        // p1's node (token 100) is older, but its session ended at 3; p2 (token 200)
        // acquired at 4; p1's client, answered by a lagging server, believed it acquired
        // only at 6 and wrote inside p2's section.
        let mut h = H::default();
        h.hold(1, 10, 100, 0, Some(6), 8)
            .hold(2, 20, 200, 0, Some(4), 9)
            .expire(10, 3)
            .write(2, 20, None, 5, true)
            .write(1, 10, None, 6, true)
            .write(2, 20, None, 7, true);
        let r = h.check(false);
        assert!(r.is_ok(), "{:?}", r.findings);
        assert_eq!(r.count(EXPIRED_HOLDER_WROTE), 1);
        // Near miss: had p2's node been the older one, p1 took the lock from a live p2.
        let mut h = H::default();
        h.hold(1, 10, 200, 0, Some(6), 8)
            .hold(2, 20, 100, 0, Some(4), 9)
            .expire(10, 3)
            .write(2, 20, None, 5, true)
            .write(1, 10, None, 6, true)
            .write(2, 20, None, 7, true);
        assert_eq!(h.check(false).count(MUTUAL_EXCLUSION), 1);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        assert_eq!(Quantiles::of(vec![]), Quantiles::default());
        let q = Quantiles::of((1..=200).rev().collect());
        assert_eq!(
            q,
            Quantiles {
                p50: 100,
                p99: 198,
                max: 200
            }
        );
    }
}
