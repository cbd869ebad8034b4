//! The watch checker on hand-built histories: a missed watch, a watch seen after the data
//! and a second event for one registration are caught; the consistent counterparts (an
//! event in time, a run or session that ended first, ZooKeeper's unannounced
//! create-then-delete of an exist watch across a reconnect) pass.

mod common;

use check::watch::{
    EVENT_AFTER_DATA, MISSED_EVENT, ONE_SHOT, WatchReport, check_history_and_watches, check_watches,
};
use common::*;
use lincheck::lin::Budget;
use proto::history::Event;
use proto::wire::EventType;

/// The watch report, asserting that the run's combined check (one replay for both
/// checkers) says exactly what the watch checker alone says.
#[track_caller]
fn watches(events: &[Event]) -> WatchReport {
    let report = check_watches(events);
    let (_, combined) = check_history_and_watches(events, Budget::default());
    assert_eq!(combined, report, "the combined check agrees");
    report
}

#[track_caller]
fn assert_ok(events: &[Event]) -> WatchReport {
    let report = watches(events);
    let rendered: Vec<String> = report.violations.iter().map(|v| v.render(events)).collect();
    assert!(report.is_ok(), "{}", rendered.join("\n"));
    report
}

#[track_caller]
fn assert_caught(events: &[Event], name: &str) -> WatchReport {
    let report = watches(events);
    assert!(
        report.violations.iter().any(|v| v.check == name),
        "expected {name}, got {:?}",
        report.violations
    );
    assert!(!report.is_ok());
    report
}

/// Session 1 watches /a (data) at zxid 2; session 2 changes it at zxid 3; `event_at`: when
/// session 1 gets the event (None: never); session 1 then reads at zxid `later_read`.
fn data_watch(event_at: Option<u64>, later_read: Option<u64>) -> Vec<Event> {
    let mut b = Builder::new();
    b.write(2, create("/a", "v1"), 0, 10, 1);
    b.write(2, create("/b", ""), 11, 12, 2);
    b.read(1, get_w("/a"), 20, 30, 2);
    b.write(2, set("/a", "v2"), 40, 50, 3);
    // The read completes at 70; the event goes before or after it by its time.
    let early = event_at.filter(|&e| e < 70);
    let late = event_at.filter(|&e| e >= 70);
    if let Some(e) = early {
        b.watch_event(1, EventType::NodeDataChanged, "/a", 3, e);
    }
    if let Some(z) = later_read {
        b.read(1, get("/b"), 60, 70, z);
    }
    if let Some(e) = late {
        b.watch_event(1, EventType::NodeDataChanged, "/a", 3, e);
    }
    b.finish()
}

#[test]
fn an_event_before_the_newer_data_passes() {
    let report = assert_ok(&data_watch(Some(55), Some(3)));
    assert_eq!(report.stats.registrations, 1);
    assert_eq!(report.stats.triggered, 1);
    assert_eq!(report.stats.events, 1);
}

#[test]
fn a_history_without_watches_has_an_empty_report_and_the_same_verdict() {
    let mut b = Builder::new();
    b.write(2, create("/a", "v1"), 0, 10, 1);
    b.read(1, get("/a"), 20, 30, 1);
    b.write(2, set("/a", "v2"), 40, 50, 2);
    let events = b.finish();
    let (zk, report) = check_history_and_watches(&events, Budget::default());
    assert_eq!(report, WatchReport::default());
    assert_eq!(zk, check::zk::check_history(&events, Budget::default()));
    assert!(zk.is_consistent());
}

#[test]
fn a_missed_watch_is_caught() {
    let report = assert_caught(&data_watch(None, Some(3)), MISSED_EVENT);
    assert_eq!(
        report.violations[0].events.len(),
        2,
        "registration and reply"
    );
}

#[test]
fn a_watch_seen_after_the_data_is_caught() {
    assert_caught(&data_watch(Some(80), Some(3)), EVENT_AFTER_DATA);
}

#[test]
fn no_event_is_owed_before_the_session_sees_the_change() {
    // The session never saw zxid 3: the run (or the session) ended first.
    assert_ok(&data_watch(None, None));
    assert_ok(&data_watch(None, Some(2)));
}

#[test]
fn a_second_event_for_one_registration_is_caught() {
    let mut events = data_watch(Some(55), None);
    let mut b = Builder::new();
    b.watch_event(1, EventType::NodeDataChanged, "/a", 3, 56);
    events.extend(b.finish());
    assert_caught(&events, ONE_SHOT);
}

#[test]
fn registering_twice_before_a_change_gives_one_event() {
    let mut b = Builder::new();
    b.write(2, create("/a", "v1"), 0, 10, 1);
    b.read(1, get_w("/a"), 20, 30, 1);
    b.read(1, exists_w("/a"), 31, 35, 1);
    b.write(2, set("/a", "v2"), 40, 50, 2);
    b.watch_event(1, EventType::NodeDataChanged, "/a", 2, 55);
    b.read(1, get("/a"), 60, 70, 2);
    assert_ok(&b.finish());
}

#[test]
fn child_and_delete_events_fire_the_right_watches() {
    let build = |announce_child: bool| {
        let mut b = Builder::new();
        b.write(2, create("/p", ""), 0, 10, 1);
        b.read(1, children_w("/p"), 20, 30, 1);
        b.read(1, get_w("/p"), 31, 35, 1);
        b.write(2, create("/p/c", ""), 40, 50, 2);
        if announce_child {
            b.watch_event(1, EventType::NodeChildrenChanged, "/p", 2, 52);
        }
        b.read(1, get("/p"), 53, 55, 2);
        b.write(2, delete("/p/c"), 60, 70, 3);
        b.write(2, delete("/p"), 71, 80, 4);
        b.watch_event(1, EventType::NodeDeleted, "/p", 4, 82);
        b.read(1, exists_w("/p"), 90, 95, 4);
        b.finish()
    };
    assert_ok(&build(true));
    // The child watch was owed an event before the reply at zxid 2; the delete event that
    // finally removed it came after that reply.
    assert_caught(&build(false), EVENT_AFTER_DATA);
    // Cut before the delete: the child watch is never fired at all.
    let events = build(false);
    let cut: Vec<Event> = events[..6].to_vec();
    assert_caught(&cut, MISSED_EVENT);
}

#[test]
fn a_session_s_own_write_must_come_after_its_event() {
    let build = |event_first: bool| {
        let mut b = Builder::new();
        b.write(1, create("/a", "v1"), 0, 10, 1);
        b.read(1, get_w("/a"), 20, 30, 1);
        if event_first {
            b.watch_event(1, EventType::NodeDataChanged, "/a", 2, 45);
        }
        b.write(1, set("/a", "v2"), 40, 50, 2);
        if !event_first {
            b.watch_event(1, EventType::NodeDataChanged, "/a", 2, 51);
        }
        b.finish()
    };
    assert_ok(&build(true));
    assert_caught(&build(false), EVENT_AFTER_DATA);
}

#[test]
fn an_exist_watch_may_miss_a_create_and_delete_across_a_reconnect() {
    let mut b = Builder::new();
    b.write(2, create("/other", ""), 0, 5, 1);
    b.read(1, exists_w("/x"), 10, 20, 1);
    b.write(2, create("/x", ""), 30, 40, 2);
    b.write(2, delete("/x"), 41, 50, 3);
    // Session 1 was away during both and sees zxid 3: /x does not exist, nothing owed.
    b.read(1, get("/other"), 60, 70, 3);
    let before_recreate = b.events.len();
    b.write(2, create("/x", "again"), 80, 90, 4);
    b.read(1, get("/other"), 100, 110, 4);
    let events = b.finish();
    assert_ok(&events[..before_recreate]);
    // Once /x exists at a zxid the session saw, the event is owed.
    assert_caught(&events, MISSED_EVENT);
}
