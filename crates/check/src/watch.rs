//! Watch invariants on a simulated ZooKeeper history (`proto::history`), judged against
//! the write order the zxids give (the witness order of `zk`, with its replayed effects).
//!
//! Registrations follow the client library (ZooKeeper's `ZKWatchManager`): an answered
//! `getData` with `watch: true` sets a *data* watch, `exists` a data watch if the node exists
//! and an *exist* watch if not, `getChildren` a *child* watch; errors set nothing. Data and
//! exist watches are one class on the client (an event removes both); a registration while
//! one of the class is armed merges into it (the earliest counts). An event `NodeCreated` or
//! `NodeDataChanged` fires the data class of its path, `NodeChildrenChanged` the child
//! class, `NodeDeleted` both.
//!
//! The checks (names in [`WATCH_CHECKS`]):
//! - `OneShot`: an event fires an armed registration of its class; an event that finds
//!   none (a second event for one registration, or one never registered) is a violation.
//! - `MissedEvent`: a registration at reply zxid `z` must fire at the first change after
//!   `z` in the zxid order — for a data watch any change of the node, for a child watch a
//!   child created or deleted or the node deleted, for an exist watch the node's creation —
//!   at zxid `w`. Once the session gets any reply with zxid ≥ `w`, the event must have
//!   arrived before it. ZooKeeper re-registers watches on reconnect (`SetWatches`) and fires
//!   them there, so a lost connection excuses nothing; a session that ended, or a run that
//!   ended, before the session saw `w` is not required to have the event. One documented
//!   ZooKeeper gap is excused: `SetWatches` fires an exist watch only if the node exists
//!   when the session reconnects, so a creation followed by a deletion while the session
//!   was away is never announced — an exist watch is only required to have fired when the
//!   node exists at the zxid the session saw.
//! - `EventAfterData`: that event did arrive, but after the session saw a reply with
//!   zxid ≥ `w` (the client saw the newer data before the event that announces it).
//!
//! Info writes without a zxid are not in the order, so they never create a requirement;
//! their events (if they took effect) fire registrations like any other event.
//! Cost: O(n log n).

use std::collections::{BTreeMap, BTreeSet};

use datatree::Effect;
use datatree::path::parent_of;
use lincheck::lin::Budget;
use proto::Zxid;
use proto::history::{Event, Outcome};
use proto::wire::EventType;
use proto::zk::{Op, OpResult, SessionId, ZkError};
use serde::Serialize;

use crate::zk::{ClassifiedHistory, ZkReport, check_history_collecting, render_event, run_witness};

pub const ONE_SHOT: &str = "OneShot";
pub const MISSED_EVENT: &str = "MissedEvent";
pub const EVENT_AFTER_DATA: &str = "EventAfterData";
pub const WATCH_CHECKS: [&str; 3] = [ONE_SHOT, MISSED_EVENT, EVENT_AFTER_DATA];

/// Violations kept (the rest are counted).
const VIOLATIONS_KEPT: usize = 256;

/// A broken watch invariant: the check, what happened, and the events involved (the
/// registration, the reply that showed newer data, the event), as indices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WatchViolation {
    pub check: &'static str,
    pub detail: String,
    pub events: Vec<usize>,
}

impl WatchViolation {
    pub fn render(&self, events: &[Event]) -> String {
        let mut text = format!("{}: {}", self.check, self.detail);
        for &e in &self.events {
            text.push_str("\n  ");
            text.push_str(&render_event(events, e));
        }
        text
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WatchStats {
    pub registrations: usize,
    pub events: usize,
    /// Registrations the zxid order says must fire (a later change exists).
    pub triggered: usize,
    /// Violations, all of them.
    pub violation_count: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WatchReport {
    pub violations: Vec<WatchViolation>,
    pub stats: WatchStats,
}

impl WatchReport {
    pub fn is_ok(&self) -> bool {
        self.stats.violation_count == 0
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Data,
    Child,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    Data,
    Exist,
    Child,
}

/// The tree changes of the zxid order, per path.
#[derive(Default)]
struct Changes {
    /// Any change of the node itself (data watches).
    node: BTreeMap<String, Vec<Zxid>>,
    /// Creations (true) and deletions (false) of the node (exist watches).
    existence: BTreeMap<String, Vec<(Zxid, bool)>>,
    /// A child created or deleted, or the node deleted (child watches).
    children: BTreeMap<String, Vec<Zxid>>,
}

fn first_after(list: Option<&Vec<Zxid>>, z: Zxid) -> Option<Zxid> {
    let list = list?;
    list.get(list.partition_point(|&c| c <= z)).copied()
}

impl Changes {
    fn new(effects: &[(Zxid, Effect)]) -> Changes {
        let mut c = Changes::default();
        for (zxid, effect) in effects {
            let (path, created) = match effect {
                Effect::NodeCreated(p) => (p, Some(true)),
                Effect::NodeDeleted(p) => (p, Some(false)),
                Effect::NodeDataChanged(p) => (p, None),
            };
            c.node.entry(path.clone()).or_default().push(*zxid);
            if let Some(exists) = created {
                c.existence
                    .entry(path.clone())
                    .or_default()
                    .push((*zxid, exists));
                let parent = parent_of(path).0;
                c.children.entry(parent.to_owned()).or_default().push(*zxid);
                if !exists {
                    c.children.entry(path.clone()).or_default().push(*zxid);
                }
            }
        }
        for list in c.children.values_mut() {
            list.sort_unstable();
        }
        c
    }

    /// The first change after `z` that fires a `kind` watch on `path`.
    fn trigger(&self, kind: Kind, path: &str, z: Zxid) -> Option<Zxid> {
        match kind {
            Kind::Data => first_after(self.node.get(path), z),
            Kind::Child => first_after(self.children.get(path), z),
            Kind::Exist => {
                let list = self.existence.get(path)?;
                let from = list.partition_point(|&(c, _)| c <= z);
                list[from..]
                    .iter()
                    .find(|&&(_, exists)| exists)
                    .map(|&(c, _)| c)
            }
        }
    }

    /// Whether `path` exists after the changes up to `z` (it did not exist before its first
    /// recorded creation).
    fn exists_at(&self, path: &str, z: Zxid) -> bool {
        let Some(list) = self.existence.get(path) else {
            return false;
        };
        let upto = list.partition_point(|&(c, _)| c <= z);
        upto > 0 && list[upto - 1].1
    }
}

/// An armed registration.
#[derive(Clone, Debug)]
struct Armed {
    registration: usize,
    kind: Kind,
    /// When it must have fired by (the first change after the registration).
    trigger: Option<Zxid>,
    /// The reply that showed the change before the event came.
    overdue_at: Option<usize>,
}

type Key = (SessionId, String, Class);

#[derive(Default)]
struct Walk {
    armed: BTreeMap<Key, Armed>,
    /// Per session: armed registrations by trigger, not yet overdue.
    due: BTreeMap<SessionId, BTreeSet<(Zxid, String, Class)>>,
    report: WatchReport,
}

impl Walk {
    fn violate(&mut self, check: &'static str, detail: String, events: Vec<usize>) {
        self.report.stats.violation_count += 1;
        if self.report.violations.len() < VIOLATIONS_KEPT {
            self.report.violations.push(WatchViolation {
                check,
                detail,
                events,
            });
        }
    }

    /// Session `session` got a reply (event `at`) with zxid `z`.
    fn observe(&mut self, changes: &Changes, session: SessionId, z: Zxid, at: usize) {
        let Some(due) = self.due.get_mut(&session) else {
            return;
        };
        // Each pass removes an entry from `due` or re-keys it past `z`; bounded by its size.
        for _entry in 0..=due.len() {
            let Some((trigger, path, class)) = due.first().cloned() else {
                break;
            };
            if trigger > z {
                break;
            }
            due.pop_first();
            let key = (session, path, class);
            let armed = self.armed.get_mut(&key).expect("due entries are armed");
            if armed.kind == Kind::Exist && !changes.exists_at(&key.1, z) {
                // Created and deleted again: maybe unannounced (see the module docs).
                armed.trigger = changes.trigger(Kind::Exist, &key.1, z);
                if let Some(next) = armed.trigger {
                    due.insert((next, key.1, key.2));
                }
                continue;
            }
            armed.overdue_at = Some(at);
        }
    }

    fn register(
        &mut self,
        changes: &Changes,
        session: SessionId,
        kind: Kind,
        path: &str,
        z: Zxid,
        at: usize,
    ) {
        self.report.stats.registrations += 1;
        let class = if kind == Kind::Child {
            Class::Child
        } else {
            Class::Data
        };
        let key = (session, path.to_owned(), class);
        if self.armed.contains_key(&key) {
            return;
        }
        let trigger = changes.trigger(kind, path, z);
        if let Some(t) = trigger {
            self.report.stats.triggered += 1;
            self.due
                .entry(session)
                .or_default()
                .insert((t, path.to_owned(), class));
        }
        self.armed.insert(
            key,
            Armed {
                registration: at,
                kind,
                trigger,
                overdue_at: None,
            },
        );
    }

    fn event(&mut self, session: SessionId, kind: EventType, path: &str, zxid: Zxid, at: usize) {
        self.report.stats.events += 1;
        let classes: &[Class] = match kind {
            EventType::NodeCreated | EventType::NodeDataChanged => &[Class::Data],
            EventType::NodeChildrenChanged => &[Class::Child],
            EventType::NodeDeleted => &[Class::Data, Class::Child],
        };
        let mut fired = false;
        for &class in classes {
            let key = (session, path.to_owned(), class);
            let Some(armed) = self.armed.remove(&key) else {
                continue;
            };
            fired = true;
            if let Some(t) = armed.trigger
                && let Some(due) = self.due.get_mut(&session)
            {
                due.remove(&(t, key.1.clone(), class));
            }
            if let Some(seen) = armed.overdue_at {
                self.violate(
                    EVENT_AFTER_DATA,
                    format!(
                        "{kind:?} on {path} (zxid {zxid}) arrived after the session saw a reply \
                         at or past the change at zxid {}",
                        armed.trigger.unwrap_or(Zxid::ZERO)
                    ),
                    vec![armed.registration, seen, at],
                );
            }
        }
        if !fired {
            self.violate(
                ONE_SHOT,
                format!("{kind:?} on {path} (zxid {zxid}) fired no armed watch of its kind"),
                vec![at],
            );
        }
    }
}

/// The watch a successful watching read registers.
fn registration<'a>(op: &'a Op, result: &OpResult) -> Option<(Kind, &'a str)> {
    match (op, result) {
        (Op::GetData { path, watch: true }, OpResult::Data { .. })
        | (Op::Exists { path, watch: true }, OpResult::Exists(Some(_))) => Some((Kind::Data, path)),
        (Op::Exists { path, watch: true }, OpResult::Exists(None))
        | (Op::Exists { path, watch: true }, OpResult::Err(ZkError::NoNode)) => {
            Some((Kind::Exist, path))
        }
        (Op::GetChildren { path, watch: true }, OpResult::Children(_)) => Some((Kind::Child, path)),
        _ => None,
    }
}

/// Check the watch invariants of `events` (see the module docs).
pub fn check_watches(events: &[Event]) -> WatchReport {
    let cls = ClassifiedHistory::new(events);
    let mut effects = Vec::new();
    run_witness(events, &cls, Some(&mut effects));
    check_against(events, &effects)
}

/// ZooKeeper's consistency model ([`crate::zk::check_history`]) and the watch invariants
/// ([`check_watches`]) from one classification and one witness replay: what a run's
/// history check needs, at the cost of one of them.
/// A history with no watch registration and no watch event has nothing to check: its watch
/// report is the empty one, and the replay need not collect the tree's changes.
pub fn check_history_and_watches(events: &[Event], budget: Budget) -> (ZkReport, WatchReport) {
    if !has_watches(events) {
        let zk = check_history_collecting(events, budget, None);
        return (zk, WatchReport::default());
    }
    let mut effects = Vec::new();
    let zk = check_history_collecting(events, budget, Some(&mut effects));
    let watches = check_against(events, &effects);
    (zk, watches)
}

/// Whether any event could register a watch or is a watch event (a superset of what
/// [`check_against`] acts on: without one, its walk arms nothing and sees nothing).
fn has_watches(events: &[Event]) -> bool {
    events.iter().any(|event| match event {
        Event::Watch { .. } => true,
        Event::Op(r) => r
            .result
            .as_ref()
            .is_some_and(|res| registration(&r.op, res).is_some()),
        _ => false,
    })
}

/// The watch invariants of `events` against `effects`, the witness order's tree changes.
fn check_against(events: &[Event], effects: &[(Zxid, Effect)]) -> WatchReport {
    let changes = Changes::new(effects);
    let mut walk = Walk::default();
    for (index, event) in events.iter().enumerate() {
        match event {
            Event::Op(r) if !r.session.is_none() && r.outcome != Outcome::Info => {
                let Some(z) = r.zxid else { continue };
                walk.observe(&changes, r.session, z, index);
                if let Some((kind, path)) =
                    r.result.as_ref().and_then(|res| registration(&r.op, res))
                {
                    walk.register(&changes, r.session, kind, path, z, index);
                }
            }
            Event::Watch { session, watch, .. } => {
                walk.event(*session, watch.kind, &watch.path, watch.zxid, index);
            }
            _ => {}
        }
    }
    let mut missed: Vec<(Key, Armed)> = std::mem::take(&mut walk.armed)
        .into_iter()
        .filter(|(_, a)| a.overdue_at.is_some())
        .collect();
    missed.sort_by_key(|(_, a)| a.registration);
    for ((session, path, _), armed) in missed {
        let seen = armed.overdue_at.expect("filtered");
        walk.violate(
            MISSED_EVENT,
            format!(
                "session {session}'s watch on {path} never fired, yet the session saw a reply at \
                 or past the change at zxid {}",
                armed.trigger.unwrap_or(Zxid::ZERO)
            ),
            vec![armed.registration, seen],
        );
    }
    walk.report
}
