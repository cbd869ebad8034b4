//! Requests: pipelining and in-order replies, out-of-order replies, queueing while not
//! connected (sent on connect, failed by a failed attempt), the pending bound, expiry,
//! and close.

mod common;

use client::{ClientConfig, SessionState};
use common::*;
use proto::Zxid;
use proto::wire::{ClientMsg, ServerMsg, WatchSet};
use proto::zk::{Op, OpResult, Stat, ZkError};

#[test]
fn pipelined_requests_are_sent_at_once_and_answered_in_order() {
    let mut c = Client::connected();
    let ops = [set("/a"), get("/b", false), Op::Sync { path: "/".into() }];
    let (x1, out) = c.at(20).submit(ops[0].clone());
    // Sending moved the ping deadline to 20 + 2000.
    assert_eq!(
        out,
        vec![send(P0, request(1, 1, ops[0].clone())), timer(2020)]
    );
    let (x2, out) = c.submit(ops[1].clone());
    assert_eq!(out, vec![send(P0, request(1, 2, ops[1].clone()))]);
    let (x3, _) = c.submit(ops[2].clone());
    assert_eq!((x1, x2, x3), (1, 2, 3));
    assert_eq!(c.session.pending(), 3);
    let stat = OpResult::Stat(Stat::default());
    assert_eq!(
        c.at(30).msg(P0, reply(1, 1, 0x101, stat.clone())),
        vec![done(1, ops[0].clone(), stat, 0x101)]
    );
    assert_eq!(
        c.msg(P0, reply(1, 2, 0x100, data())),
        vec![done(2, ops[1].clone(), data(), 0x100)]
    );
    assert_eq!(c.session.last_zxid_seen(), Zxid(0x101), "max, not last");
    let synced = OpResult::Synced { path: "/".into() };
    assert_eq!(
        c.msg(P0, reply(1, 3, 0x102, synced.clone())),
        vec![done(3, ops[2].clone(), synced, 0x102)]
    );
    assert_eq!(c.session.pending(), 0);
    assert_eq!(c.session.last_zxid_seen(), Zxid(0x102));
}

#[test]
fn an_out_of_order_reply_drops_the_connection() {
    let mut c = Client::connected();
    c.at(20).submit(set("/a"));
    c.submit(set("/b"));
    assert_eq!(
        c.at(30)
            .msg(P0, reply(1, 2, 9, OpResult::Stat(Stat::default()))),
        vec![
            failed(1, set("/a"), ZkError::ConnectionLoss),
            failed(2, set("/b"), ZkError::ConnectionLoss),
            state(SessionState::Disconnected),
            send(P0, ClientMsg::Disconnect { conn: 1 }),
            send(P1, connect(2, Some(SID), 0, WatchSet::default())),
            timer(2030),
        ]
    );
    assert_eq!(c.session.counters().protocol_violations, 1);
    assert_eq!(
        c.session.last_zxid_seen(),
        Zxid::ZERO,
        "a rejected reply is not seen"
    );
    assert_eq!(c.session.pending(), 0);
}

#[test]
fn requests_wait_for_a_connection_and_fail_with_the_attempt() {
    let mut c = Client::new(config());
    let (x1, out) = c.submit(get("/a", false));
    assert_eq!(out, vec![], "queued before start");
    c.start();
    let (x2, out) = c.at(5).submit(get("/b", false));
    assert_eq!(out, vec![]);
    assert_eq!(
        c.at(10).msg(P0, connected(1)),
        vec![
            state(SessionState::Connected),
            send(P0, request(1, x1, get("/a", false))),
            send(P0, request(1, x2, get("/b", false))),
            timer(2010),
        ]
    );
    // A request queued during a failing attempt fails with it (ZooKeeper's cleanup()).
    let mut c = Client::new(config());
    c.start();
    let (x, _) = c.at(5).submit(get("/a", false));
    assert_eq!(
        c.at(2000).timer(),
        vec![
            failed(x, get("/a", false), ZkError::ConnectionLoss),
            send(P0, ClientMsg::Disconnect { conn: 1 }),
            send(P1, connect(2, None, 0, WatchSet::default())),
            timer(4000),
        ]
    );
}

#[test]
fn the_pending_bound_refuses_at_once_but_never_the_close() {
    let mut c = Client::connected();
    for i in 1..=8 {
        let (xid, out) = c.at(20).submit(get("/a", false));
        assert_eq!(xid, i);
        assert_eq!(out[0], send(P0, request(1, i, get("/a", false))));
    }
    let (xid, out) = c.submit(get("/b", false));
    assert_eq!(
        out,
        vec![failed(9, get("/b", false), ZkError::ConnectionLoss)]
    );
    assert_eq!(xid, 9);
    assert_eq!(c.session.pending(), 8);
    assert_eq!(c.session.counters().rejected_submits, 1);
    let (xid, out) = c.close();
    assert_eq!(out, vec![send(P0, request(1, 10, Op::CloseSession))]);
    assert_eq!((xid, c.session.pending()), (10, 9));
    // Also while disconnected: the bound counts queued requests.
    let mut c = Client::new(ClientConfig {
        pending_max: 1,
        ..config()
    });
    c.submit(set("/a"));
    assert_eq!(
        c.submit(set("/b")).1,
        vec![failed(2, set("/b"), ZkError::ConnectionLoss)]
    );
}

#[test]
fn expired_fails_everything_and_every_later_submit() {
    let mut c = Client::connected();
    c.at(20).submit(get("/a", true));
    c.at(25).msg(P0, reply(1, 1, 3, data()));
    assert!(!c.session.watches().is_empty());
    c.at(30).submit(set("/a"));
    c.submit(set("/b"));
    assert_eq!(
        c.at(40).msg(P0, ServerMsg::Expired { conn: 1 }),
        vec![
            failed(2, set("/a"), ZkError::SessionExpired),
            failed(3, set("/b"), ZkError::SessionExpired),
            state(SessionState::Expired),
        ]
    );
    assert!(c.session.watches().is_empty());
    assert!(!c.session.is_alive());
    assert_eq!(
        c.at(50).submit(set("/c")).1,
        vec![failed(4, set("/c"), ZkError::SessionExpired)]
    );
    assert_eq!(
        c.close().1,
        vec![failed(5, Op::CloseSession, ZkError::SessionExpired)]
    );
    assert_eq!(c.at(60).msg(P0, reply(1, 2, 4, OpResult::Deleted)), vec![]);
}

#[test]
fn close_ends_in_closed_after_its_reply() {
    let mut c = Client::connected();
    c.at(20).submit(set("/a"));
    let (xid, out) = c.close();
    assert_eq!(out, vec![send(P0, request(1, 2, Op::CloseSession))]);
    assert_eq!(xid, 2);
    // A closing handle refuses new requests (ZooKeeper: ConnectionLoss while closing).
    assert_eq!(
        c.submit(get("/a", false)).1,
        vec![failed(3, get("/a", false), ZkError::ConnectionLoss)]
    );
    assert_eq!(
        c.close().1,
        vec![failed(4, Op::CloseSession, ZkError::ConnectionLoss)]
    );
    c.at(30)
        .msg(P0, reply(1, 1, 7, OpResult::Stat(Stat::default())));
    assert_eq!(
        c.msg(P0, reply(1, 2, 8, OpResult::SessionClosed)),
        vec![
            done(2, Op::CloseSession, OpResult::SessionClosed, 8),
            send(P0, ClientMsg::Disconnect { conn: 1 }),
            state(SessionState::Closed),
        ]
    );
    assert_eq!(c.session.state(), SessionState::Closed);
    // A closed handle reports SessionExpired (ZooKeeper's conLossPacket in state CLOSED).
    assert_eq!(
        c.submit(set("/b")).1,
        vec![failed(5, set("/b"), ZkError::SessionExpired)]
    );
    assert_eq!(c.at(5000).timer(), vec![]);
}

#[test]
fn close_ends_in_closed_when_the_connection_breaks() {
    let mut c = Client::connected();
    c.at(20).close();
    assert_eq!(
        c.at(30).reset(P0),
        vec![
            failed(1, Op::CloseSession, ZkError::ConnectionLoss),
            state(SessionState::Closed),
        ]
    );
    // Given up by the client (read timeout): it says goodbye first.
    let mut c = Client::connected();
    c.at(20).close();
    c.at(2020).timer(); // ping
    assert_eq!(
        c.at(4010).timer(),
        vec![
            failed(1, Op::CloseSession, ZkError::ConnectionLoss),
            send(P0, ClientMsg::Disconnect { conn: 1 }),
            state(SessionState::Closed),
        ]
    );
    // Closed before ever connecting: the close waits for a connection like any request.
    let mut c = Client::new(config());
    c.start();
    assert_eq!(c.at(5).close().1, vec![]);
    assert_eq!(
        c.at(10).msg(P0, connected(1)),
        vec![
            state(SessionState::Connected),
            send(P0, request(1, 1, Op::CloseSession)),
            timer(2010),
        ]
    );
}

#[test]
fn submit_of_close_session_is_close() {
    let mut c = Client::connected();
    let (xid, _) = c.at(20).submit(Op::CloseSession);
    c.at(30).msg(P0, reply(1, xid, 2, OpResult::SessionClosed));
    assert_eq!(c.session.state(), SessionState::Closed);
}

#[test]
fn requests_queued_while_disconnected_go_to_the_next_server() {
    let mut c = Client::connected();
    c.at(20).submit(set("/a"));
    // The transport resets p1's attempt too: p2 is next, still within the round.
    c.at(100).reset(P0);
    let (xid, out) = c.at(110).submit(set("/b"));
    assert_eq!(out, vec![]);
    assert_eq!(c.session.pending(), 1);
    assert_eq!(
        c.at(120).reset(P1),
        vec![
            failed(xid, set("/b"), ZkError::ConnectionLoss),
            send(P2, connect(3, Some(SID), 0, WatchSet::default())),
            timer(2120),
        ]
    );
    let (xid, _) = c.at(130).submit(set("/c"));
    assert_eq!(
        c.at(140).msg(P2, connected(3)),
        vec![
            state(SessionState::Connected),
            send(P2, request(3, xid, set("/c"))),
            timer(2140),
        ]
    );
}
