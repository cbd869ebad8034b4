//! Client-side watches (ZooKeeper's ZKWatchManager): which reply registers which kind,
//! which event removes which kinds, one delivery per event, unmatched events counted, and
//! re-registration with `last_zxid_seen` on failover; dropped on expiry.

mod common;

use client::SessionState;
use common::*;
use proto::Zxid;
use proto::wire::{EventType, ServerMsg};
use proto::zk::{OpResult, Stat, ZkError};

/// Submits `op` and answers it with `result` at `zxid` on conn 1.
fn read(c: &mut Client, op: proto::zk::Op, result: OpResult, zxid: u64) {
    let (xid, _) = c.submit(op);
    c.msg(P0, reply(1, xid, zxid, result));
}

fn fire(c: &mut Client, kind: EventType, path: &str, zxid: u64) -> Vec<client::Action> {
    c.msg(P0, watch_msg(1, kind, path, zxid))
}

#[test]
fn exists_on_a_missing_node_sets_an_exist_watch_fired_by_creation() {
    let mut c = Client::connected();
    read(&mut c, exists("/a", true), OpResult::Exists(None), 5);
    assert_eq!(c.session.watches(), watches(&[], &["/a"], &[]));
    assert_eq!(
        fire(&mut c, EventType::NodeCreated, "/a", 6),
        vec![client::Action::Watch(event(
            EventType::NodeCreated,
            "/a",
            6
        ))]
    );
    assert!(c.session.watches().is_empty());
    assert_eq!(c.session.last_zxid_seen(), Zxid(6));
    // One-shot: the next creation event matches nothing.
    assert_eq!(fire(&mut c, EventType::NodeCreated, "/a", 9), vec![]);
    assert_eq!(c.session.counters().unmatched_watch_events, 1);
    assert_eq!(
        c.session.last_zxid_seen(),
        Zxid(9),
        "unmatched events are seen too"
    );
}

#[test]
fn exists_on_an_existing_node_sets_a_data_watch() {
    let mut c = Client::connected();
    read(
        &mut c,
        exists("/a", true),
        OpResult::Exists(Some(Stat::default())),
        5,
    );
    read(
        &mut c,
        exists("/b", true),
        OpResult::Err(ZkError::NoNode),
        5,
    );
    assert_eq!(c.session.watches(), watches(&["/a"], &["/b"], &[]));
    assert_eq!(fire(&mut c, EventType::NodeDataChanged, "/a", 6).len(), 1);
    assert_eq!(c.session.watches(), watches(&[], &["/b"], &[]));
}

#[test]
fn only_successful_watching_reads_register() {
    let mut c = Client::connected();
    read(&mut c, get("/a", true), OpResult::Err(ZkError::NoNode), 5);
    read(
        &mut c,
        children("/a", true),
        OpResult::Err(ZkError::NoNode),
        5,
    );
    read(&mut c, get("/b", false), data(), 5);
    read(&mut c, exists("/c", false), OpResult::Exists(None), 5);
    read(&mut c, children("/d", false), OpResult::Children(vec![]), 5);
    assert!(c.session.watches().is_empty());
    read(&mut c, get("/b", true), data(), 5);
    read(
        &mut c,
        children("/d", true),
        OpResult::Children(vec!["x".into()]),
        5,
    );
    assert_eq!(c.session.watches(), watches(&["/b"], &[], &["/d"]));
}

#[test]
fn each_event_type_removes_its_kinds_and_is_delivered_once() {
    let mut c = Client::connected();
    // /a holds all three kinds (an exists before the create raced a getData after it).
    read(&mut c, exists("/a", true), OpResult::Exists(None), 1);
    read(&mut c, get("/a", true), data(), 2);
    read(&mut c, get("/a", true), data(), 2); // twice: still one watch
    read(&mut c, children("/a", true), OpResult::Children(vec![]), 2);
    read(&mut c, children("/b", true), OpResult::Children(vec![]), 2);
    read(&mut c, get("/b", true), data(), 2);
    assert_eq!(
        c.session.watches(),
        watches(&["/a", "/b"], &["/a"], &["/a", "/b"])
    );
    // Children changed: child watches only.
    assert_eq!(
        fire(&mut c, EventType::NodeChildrenChanged, "/b", 3).len(),
        1
    );
    assert_eq!(
        c.session.watches(),
        watches(&["/a", "/b"], &["/a"], &["/a"])
    );
    // Data changed: data and exist, not child.
    let ev = event(EventType::NodeDataChanged, "/b", 4);
    assert_eq!(
        fire(&mut c, ev.kind, "/b", 4),
        vec![client::Action::Watch(ev)]
    );
    assert_eq!(c.session.watches(), watches(&["/a"], &["/a"], &["/a"]));
    // Deleted: all three at once, one delivery.
    let ev = event(EventType::NodeDeleted, "/a", 5);
    assert_eq!(
        fire(&mut c, ev.kind, "/a", 5),
        vec![client::Action::Watch(ev)]
    );
    assert!(c.session.watches().is_empty());
    assert_eq!(c.session.counters().unmatched_watch_events, 0);
}

#[test]
fn failover_keeps_the_session_and_re_registers_watches_with_the_last_zxid() {
    let mut c = Client::connected();
    read(&mut c, get("/a", true), data(), 0x10);
    read(
        &mut c,
        children("/", true),
        OpResult::Children(vec![]),
        0x12,
    );
    read(&mut c, exists("/z", true), OpResult::Exists(None), 0x11);
    let registered = watches(&["/a"], &["/z"], &["/"]);
    assert_eq!(c.session.watches(), registered);
    let out = c.at(100).reset(P0);
    assert_eq!(
        out[1],
        send(P1, connect(2, Some(SID), 0x12, registered.clone()))
    );
    // The server fires what changed since 0x12 right after Connected.
    c.at(110).msg(P1, connected(2));
    let changed = watch_msg(2, EventType::NodeDataChanged, "/a", 0x20);
    assert_eq!(
        c.msg(P1, changed),
        vec![client::Action::Watch(event(
            EventType::NodeDataChanged,
            "/a",
            0x20
        ))]
    );
    assert_eq!(c.session.session_id(), Some(SID));
    assert_eq!(c.session.watches(), watches(&[], &["/z"], &["/"]));
    assert_eq!(c.session.last_zxid_seen(), Zxid(0x20));
}

#[test]
fn expiry_drops_the_watches_and_a_watch_before_connected_is_a_violation() {
    let mut c = Client::connected();
    read(&mut c, get("/a", true), data(), 1);
    c.at(100).reset(P0);
    // The watch event arrives on the new connection before its Connected.
    c.at(110)
        .msg(P1, watch_msg(2, EventType::NodeDeleted, "/a", 3));
    assert_eq!(c.session.counters().protocol_violations, 1);
    assert_eq!(c.session.watches(), watches(&["/a"], &[], &[]));
    assert_eq!(
        c.at(120).msg(P2, ServerMsg::Expired { conn: 3 }),
        vec![state(SessionState::Expired)]
    );
    assert!(c.session.watches().is_empty());
}
