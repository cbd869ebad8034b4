//! Group-membership invariants over a history's memberships (`Event::Member`), observers'
//! views (`Event::View`) and the servers' session expiries (`Event::ServerClose`), with
//! the figures a user of the group wants (joins, leaves, expiries, how fast views follow).
//!
//! A membership is named by its node's data (`<address> s<session> j<join>`, unique per
//! membership), so a view entry names the one membership it shows.
//!
//! Findings (all violations; names in [`MEMBERS_PROPERTIES`]):
//! - `PhantomMember`: a view shows a name and data no member had asked to join with by
//!   then.
//! - `ExpiredMemberLingered`: a membership whose session the servers expired is still in
//!   an observer's view at its deadline, or in a later view. The deadline is the first
//!   sign the ensemble commits again at or after the later of the expiry and the heal (an
//!   acknowledged write or another expiry) plus the session timeout plus a bound (see
//!   [`MembersConfig`]).
//! - `ViewDiverged`: an observer's last view differs from the members live at the end
//!   (memberships neither ended, nor crashed, nor expired by the servers).
//!
//! Cost: O((m + v) log v) per observer for m memberships and v views.

use std::collections::BTreeMap;

use proto::ProcessId;
use proto::history::{Event, MemberEnd, MemberRecord, Outcome, ViewEntry};
use proto::zk::SessionId;
use serde::Serialize;

pub use crate::lock::Quantiles;
use crate::zk::render_event;

pub const PHANTOM_MEMBER: &str = "PhantomMember";
pub const EXPIRED_MEMBER_LINGERED: &str = "ExpiredMemberLingered";
pub const VIEW_DIVERGED: &str = "ViewDiverged";
pub const MEMBERS_PROPERTIES: [&str; 3] = [PHANTOM_MEMBER, EXPIRED_MEMBER_LINGERED, VIEW_DIVERGED];

/// Findings kept per property (the rest are counted).
const FINDINGS_KEPT_PER_PROPERTY: usize = 64;

/// What the expiry deadline is made of (all in global simulated ns).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MembersConfig {
    /// The end of the safety phase: every fault healed.
    pub heal_ns: u64,
    /// The members' and observers' session timeout: the longest an observer may need,
    /// once the ensemble serves, to reconnect to a serving server or to learn its own
    /// session expired (the client gives a server 2/3 of it before moving on).
    pub session_timeout_ns: u64,
    /// The rest: a new session's start, the connect, the watch event and the observer's
    /// listing and reads (each a request round trip).
    pub bound_ns: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MembersFinding {
    pub property: &'static str,
    pub detail: String,
    /// The memberships and views involved, as event indices.
    pub events: Vec<usize>,
}

impl MembersFinding {
    pub fn render(&self, events: &[Event]) -> String {
        let mut text = format!("{}: {}", self.property, self.detail);
        for &e in &self.events {
            text.push_str("\n  ");
            text.push_str(&render_event(events, e));
        }
        text
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MembersStats {
    /// Memberships whose node was made (the member learned it).
    pub joins: usize,
    /// Memberships ended by the member's own delete.
    pub leaves: usize,
    /// Member sessions the servers expired.
    pub expiries: usize,
    /// Views published.
    pub views: usize,
    /// Per (membership change, observer): how long the observer's view took to show it —
    /// a join from the member learning it joined, a leave from its delete's answer, an
    /// expiry from the servers' close. Changes an observer never showed (superseded
    /// first) are not counted.
    pub convergence_ns: Quantiles,
    /// Per (expired membership, observer that showed it): the expiry to its removal.
    pub expiry_removal_ns: Quantiles,
    /// The most any observer took to drop an expired membership, counted from the
    /// deadline's anchor (the first commit at or after the later of the expiry and the
    /// heal); at most the session timeout plus the bound, or `ExpiredMemberLingered`.
    pub expiry_removal_after_commit_ns_max: u64,
    /// Findings per property, all of them (kept or not), in `MEMBERS_PROPERTIES` order.
    pub counts: [usize; 3],
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MembersReport {
    pub findings: Vec<MembersFinding>,
    pub stats: MembersStats,
}

impl MembersReport {
    pub fn is_ok(&self) -> bool {
        self.stats.counts.iter().all(|&c| c == 0)
    }

    pub fn count(&self, property: &str) -> usize {
        let i = MEMBERS_PROPERTIES
            .iter()
            .position(|&p| p == property)
            .unwrap_or_else(|| panic!("unknown members property {property}"));
        self.stats.counts[i]
    }

    pub fn violation(&self) -> Option<&MembersFinding> {
        self.findings.first()
    }

    fn add(&mut self, finding: MembersFinding) {
        let i = MEMBERS_PROPERTIES
            .iter()
            .position(|&p| p == finding.property)
            .expect("a known property");
        self.stats.counts[i] += 1;
        if self.stats.counts[i] <= FINDINGS_KEPT_PER_PROPERTY {
            self.findings.push(finding);
        }
        assert!(self.findings.len() <= self.stats.counts.iter().sum::<usize>());
    }
}

/// One observer's views in time order: (time, event index).
type Views = Vec<(u64, usize)>;

/// Judges the memberships and views of `history`.
pub fn check_members(history: &[Event], config: &MembersConfig) -> MembersReport {
    assert!(config.session_timeout_ns > 0, "sessions time out");
    let mut report = MembersReport::default();
    let mut members: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut observers: BTreeMap<ProcessId, Views> = BTreeMap::new();
    let mut session_end_ns: BTreeMap<SessionId, u64> = BTreeMap::new();
    // Times the ensemble was seen committing: acknowledged writes and expiries.
    let mut serving: Vec<u64> = Vec::new();
    for (i, e) in history.iter().enumerate() {
        match e {
            Event::Member(m) => {
                check_membership(m);
                members.entry((&m.name, &m.data)).or_insert(i);
                report.stats.joins += usize::from(m.joined_ns.is_some());
                report.stats.leaves += usize::from(m.end == MemberEnd::Left);
            }
            Event::View(v) => {
                assert!(
                    v.members.windows(2).all(|w| w[0].name < w[1].name),
                    "a view sorted by name, one entry per name: {v:?}"
                );
                observers.entry(v.process).or_default().push((v.time_ns, i));
            }
            Event::ServerClose {
                session, time_ns, ..
            } => {
                let t = session_end_ns.entry(*session).or_insert(*time_ns);
                *t = (*t).min(*time_ns);
                serving.push(*time_ns);
            }
            Event::Op(o) if o.outcome == Outcome::Ok && o.op.is_write() => {
                serving.extend(o.complete_ns);
            }
            _ => {}
        }
    }
    serving.sort_unstable();
    for views in observers.values_mut() {
        views.sort_unstable();
    }
    let membership = |i: usize| match &history[i] {
        Event::Member(m) => m,
        other => panic!("not a membership: {other:?}"),
    };
    let entries = |i: usize| match &history[i] {
        Event::View(v) => &v.members,
        other => panic!("not a view: {other:?}"),
    };
    assert!(
        observers
            .values()
            .all(|v| v.windows(2).all(|w| w[0] <= w[1])),
        "views in time order"
    );
    let member_sessions: BTreeMap<SessionId, ()> = members
        .values()
        .map(|&i| (membership(i).session, ()))
        .collect();
    report.stats.expiries = member_sessions
        .keys()
        .filter(|s| session_end_ns.contains_key(s))
        .count();
    // Views never show a membership nobody asked for.
    for views in observers.values() {
        report.stats.views += views.len();
        for &(t, vi) in views {
            for entry in entries(vi) {
                let asked = members
                    .get(&(entry.name.as_str(), entry.data.as_str()))
                    .filter(|&&mi| membership(mi).join_ns <= t);
                if asked.is_none() {
                    report.add(MembersFinding {
                        property: PHANTOM_MEMBER,
                        detail: format!(
                            "a view at {t} shows {} = \"{}\", which no member had asked to \
                             join with",
                            entry.name, entry.data
                        ),
                        events: vec![vi],
                    });
                }
            }
        }
    }
    let shows = |vi: usize, m: &MemberRecord| {
        entries(vi)
            .binary_search_by(|e| (e.name.as_str(), e.data.as_str()).cmp(&(&m.name, &m.data)))
            .is_ok()
    };
    let (mut convergence, mut removal) = (Vec::new(), Vec::new());
    for &mi in members.values() {
        let m = membership(mi);
        let expired = session_end_ns.get(&m.session).copied();
        for (&o, views) in &observers {
            follow(m, views, expired, &shows, &mut convergence, &mut removal);
            let Some(e) = expired.filter(|_| m.end != MemberEnd::Left) else {
                continue;
            };
            let from = e.max(config.heal_ns);
            let Some(&anchor) = serving.get(serving.partition_point(|&t| t < from)) else {
                continue; // the ensemble never committed again: liveness says so
            };
            assert!(
                anchor >= from,
                "the anchor is at or after the expiry and the heal"
            );
            let deadline = anchor + config.session_timeout_ns + config.bound_ns;
            if let Some(last) = views.iter().rposition(|&(_, vi)| shows(vi, m))
                && let Some(&(removed, _)) = views.get(last + 1)
            {
                let late = removed.saturating_sub(anchor);
                let max = &mut report.stats.expiry_removal_after_commit_ns_max;
                *max = (*max).max(late);
            }
            let in_force = views.partition_point(|&(t, _)| t <= deadline);
            let lingering = views[in_force.saturating_sub(1)..]
                .iter()
                .find(|&&(_, vi)| shows(vi, m));
            if let Some(&(t, vi)) = lingering {
                report.add(MembersFinding {
                    property: EXPIRED_MEMBER_LINGERED,
                    detail: format!(
                        "{o} shows {} = \"{}\" in a view at {t}; the servers expired its \
                         session at {e}, the ensemble committed again at {anchor}, so it was \
                         due out of every view by {deadline}",
                        m.name, m.data
                    ),
                    events: vec![mi, vi],
                });
            }
        }
    }
    assert!(
        report.stats.leaves <= report.stats.joins,
        "a leave follows a join"
    );
    report.stats.convergence_ns = Quantiles::of(convergence);
    report.stats.expiry_removal_ns = Quantiles::of(removal);
    // Each observer's last view is the members live at the end.
    let mut live: Vec<ViewEntry> = members
        .values()
        .map(|&mi| membership(mi))
        .filter(|m| {
            m.end == MemberEnd::Open
                && m.end_ns.is_none()
                && m.joined_ns.is_some()
                && !session_end_ns.contains_key(&m.session)
        })
        .map(|m| ViewEntry {
            name: m.name.clone(),
            data: m.data.clone(),
        })
        .collect();
    live.sort_unstable();
    assert!(
        live.windows(2).all(|w| w[0].name < w[1].name),
        "one live membership per name: {live:?}"
    );
    for (&o, views) in &observers {
        let &(t, vi) = views.last().expect("an observer has a view");
        if entries(vi) != &live {
            let names = |v: &[ViewEntry]| {
                v.iter()
                    .map(|e| format!("{}=\"{}\"", e.name, e.data))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            report.add(MembersFinding {
                property: VIEW_DIVERGED,
                detail: format!(
                    "{o}'s last view (at {t}) is [{}]; the live members are [{}]",
                    names(entries(vi)),
                    names(&live)
                ),
                events: vec![vi],
            });
        }
    }
    report
}

/// A membership's steps are in order and its end matches them.
fn check_membership(m: &MemberRecord) {
    let after_join = [m.joined_ns, m.leave_ns, m.end_ns];
    assert!(
        after_join.iter().flatten().all(|&t| t >= m.join_ns),
        "a step before the join: {m:?}"
    );
    assert!(
        m.end != MemberEnd::Left || (m.leave_ns.is_some() && m.joined_ns.is_some()),
        "left without joining or asking to leave: {m:?}"
    );
    assert!(
        m.end == MemberEnd::Open || m.end_ns.is_some(),
        "an ended membership has its end: {m:?}"
    );
}

/// How long `views` (one observer's) took to show membership `m` and to drop it after its
/// end (its delete's answer, or the servers' expiry of its session).
fn follow(
    m: &MemberRecord,
    views: &Views,
    expired: Option<u64>,
    shows: &dyn Fn(usize, &MemberRecord) -> bool,
    convergence: &mut Vec<u64>,
    removal: &mut Vec<u64>,
) {
    let from = views.partition_point(|&(t, _)| t < m.join_ns);
    let Some(first) = views[from..].iter().position(|&(_, vi)| shows(vi, m)) else {
        return; // never shown: superseded before this observer looked
    };
    let (shown_at, _) = views[from + first];
    assert!(shown_at >= m.join_ns, "shown after it asked to join");
    if let Some(joined) = m.joined_ns {
        convergence.push(shown_at.saturating_sub(joined));
    }
    let end = match (m.end, m.end_ns, expired) {
        (MemberEnd::Left, Some(t), _) => t,
        (_, _, Some(e)) => e,
        _ => return,
    };
    let at_end = views.partition_point(|&(t, _)| t <= end);
    if at_end == 0 || !shows(views[at_end - 1].1, m) {
        return; // not shown when it ended
    }
    if let Some(&(t, _)) = views[at_end..].iter().find(|&&(_, vi)| !shows(vi, m)) {
        assert!(t > end, "a view after the end");
        convergence.push(t - end);
        if m.end != MemberEnd::Left {
            removal.push(t - end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Zxid;
    use proto::history::{OpRecord, ViewRecord};
    use proto::zk::Op;

    const MS: u64 = 1_000_000;

    fn config() -> MembersConfig {
        MembersConfig {
            heal_ns: 100 * MS,
            session_timeout_ns: 10 * MS,
            bound_ns: 5 * MS,
        }
    }

    #[derive(Default)]
    struct H {
        events: Vec<Event>,
    }

    fn data(name: &str, s: u64) -> String {
        format!("{name} s{s:x} j1")
    }

    impl H {
        /// Member `name` (session `s`, process `s / 10`) asked at `join`, joined at
        /// `joined`, ended `end` at `end_ns`.
        fn member(
            &mut self,
            name: &str,
            s: u64,
            join: u64,
            joined: u64,
            end: MemberEnd,
            end_ns: Option<u64>,
        ) -> &mut H {
            self.events.push(Event::Member(MemberRecord {
                process: ProcessId(u32::try_from(s / 10).expect("small")),
                session: SessionId(s),
                group: "/group".into(),
                name: name.into(),
                data: data(name, s),
                join: 1,
                join_ns: join * MS,
                joined_ns: Some(joined * MS),
                leave_ns: (end == MemberEnd::Left).then(|| end_ns.expect("left at") * MS - MS),
                end_ns: end_ns.map(|t| t * MS),
                end,
            }));
            self
        }

        fn view(&mut self, o: u32, at: u64, members: &[(&str, u64)]) -> &mut H {
            let mut members: Vec<ViewEntry> = members
                .iter()
                .map(|&(n, s)| ViewEntry {
                    name: n.into(),
                    data: data(n, s),
                })
                .collect();
            members.sort_unstable();
            self.events.push(Event::View(ViewRecord {
                process: ProcessId(o),
                session: SessionId(1000 + u64::from(o)),
                group: "/group".into(),
                time_ns: at * MS,
                members,
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

        fn write(&mut self, at: u64) -> &mut H {
            self.events.push(Event::Op(OpRecord {
                process: ProcessId(99),
                session: SessionId(99),
                xid: at,
                op: Op::SetData {
                    path: "/k0".into(),
                    data: Vec::new(),
                    version: -1,
                },
                invoke_ns: at * MS - MS,
                complete_ns: Some(at * MS),
                outcome: Outcome::Ok,
                result: None,
                zxid: Some(Zxid(at)),
            }));
            self
        }

        fn check(&self) -> MembersReport {
            check_members(&self.events, &config())
        }
    }

    #[test]
    fn views_that_follow_the_members_pass_with_their_figures() {
        let mut h = H::default();
        h.member("m1", 10, 0, 2, MemberEnd::Open, None)
            .member("m2", 20, 1, 3, MemberEnd::Left, Some(20))
            .view(5, 4, &[("m1", 10), ("m2", 20)])
            .view(5, 21, &[("m1", 10)])
            .view(6, 2, &[("m1", 10)])
            .view(6, 8, &[("m1", 10), ("m2", 20)])
            .view(6, 25, &[("m1", 10)]);
        let r = h.check();
        assert!(r.is_ok() && r.findings.is_empty(), "{:?}", r.findings);
        let s = &r.stats;
        assert_eq!((s.joins, s.leaves, s.expiries, s.views), (2, 1, 0, 5));
        // Joins: m1 shown 2 and 0 ms after it joined, m2 1 and 5 ms; m2's leave 1 and 5 ms.
        assert_eq!(
            s.convergence_ns,
            Quantiles {
                p50: MS,
                p99: 5 * MS,
                max: 5 * MS
            }
        );
    }

    #[test]
    fn a_view_showing_a_member_that_never_asked_is_caught() {
        let mut h = H::default();
        h.member("m1", 10, 5, 6, MemberEnd::Open, None)
            .view(5, 7, &[("m1", 10), ("m9", 90)]);
        let r = h.check();
        assert_eq!(r.count(PHANTOM_MEMBER), 1);
        assert!(r.violation().expect("phantom").detail.contains("m9"));
        // Not yet asked at the view's time (the same data, asked later) is a phantom too.
        let mut h = H::default();
        h.view(5, 3, &[("m1", 10)])
            .member("m1", 10, 5, 6, MemberEnd::Open, None)
            .view(5, 7, &[("m1", 10)]);
        assert_eq!(h.check().count(PHANTOM_MEMBER), 1);
        // Near miss: shown after it asked, before its answer came back.
        let mut h = H::default();
        h.member("m1", 10, 5, 9, MemberEnd::Open, None)
            .view(5, 7, &[("m1", 10)]);
        assert!(h.check().is_ok());
    }

    #[test]
    fn an_expired_member_must_leave_every_view_by_its_deadline() {
        // m2's session expired at 50, before the heal (100); the first write after the
        // heal is at 104, so the deadline is 104 + 10 + 5 = 119.
        let base = |h: &mut H| {
            h.member("m1", 10, 0, 2, MemberEnd::Open, None)
                .member("m2", 20, 1, 3, MemberEnd::Lost, Some(130))
                .expire(20, 50)
                .view(5, 4, &[("m1", 10), ("m2", 20)])
                .write(104);
        };
        let mut h = H::default();
        base(&mut h);
        h.view(5, 119, &[("m1", 10)]);
        let r = h.check();
        assert!(r.is_ok(), "{:?}", r.findings);
        assert_eq!(r.stats.expiries, 1);
        assert_eq!(r.stats.expiry_removal_ns.max, 69 * MS);
        assert_eq!(r.stats.expiry_removal_after_commit_ns_max, 15 * MS);
        // One ms late.
        let mut h = H::default();
        base(&mut h);
        h.view(5, 120, &[("m1", 10)]);
        let r = h.check();
        assert_eq!(r.count(EXPIRED_MEMBER_LINGERED), 1);
        let detail = &r.violation().expect("lingered").detail;
        assert!(detail.contains("by 119000000"), "{detail}");
        // Never removed: lingering, and the last view diverges too.
        let mut h = H::default();
        base(&mut h);
        let r = h.check();
        assert_eq!(r.count(EXPIRED_MEMBER_LINGERED), 1);
        assert_eq!(r.count(VIEW_DIVERGED), 1);
    }

    #[test]
    fn an_expiry_after_the_heal_counts_from_the_next_commit() {
        // Expired at 140 (itself the commit): deadline 140 + 15 = 155.
        let mut h = H::default();
        h.member("m2", 20, 1, 3, MemberEnd::Lost, Some(160))
            .view(5, 4, &[("m2", 20)])
            .expire(20, 140)
            .view(5, 150, &[]);
        assert!(h.check().is_ok(), "{:?}", h.check().findings);
        let mut h = H::default();
        h.member("m2", 20, 1, 3, MemberEnd::Lost, Some(160))
            .view(5, 4, &[("m2", 20)])
            .expire(20, 140)
            .view(5, 150, &[("m2", 20)])
            .view(5, 156, &[]);
        assert_eq!(h.check().count(EXPIRED_MEMBER_LINGERED), 1);
    }

    #[test]
    fn a_last_view_that_misses_a_live_member_diverges() {
        let mut h = H::default();
        h.member("m1", 10, 0, 2, MemberEnd::Open, None)
            .member("m2", 20, 1, 3, MemberEnd::Open, None)
            .view(5, 4, &[("m1", 10), ("m2", 20)])
            .view(6, 4, &[("m1", 10)]);
        let r = h.check();
        assert_eq!(r.count(VIEW_DIVERGED), 1);
        assert!(r.violation().expect("diverged").detail.contains("p6"));
        // A crashed member's membership (ended open with a time) is not live.
        let mut h = H::default();
        h.member("m1", 10, 0, 2, MemberEnd::Open, None)
            .member("m2", 20, 1, 3, MemberEnd::Open, Some(9))
            .view(6, 4, &[("m1", 10)]);
        assert!(h.check().is_ok(), "{:?}", h.check().findings);
    }
}
