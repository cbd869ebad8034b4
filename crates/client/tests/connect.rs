//! Connecting, failover and the timer: Connected, connect timeouts round-robin, the pause
//! after a failed round, server-closed and reset connections, stale connections ignored,
//! expiry at connect, negotiated timeouts, and protocol violations.

mod common;

use client::{ClientConfig, Counters, Session, SessionState};
use common::*;
use proto::Zxid;
use proto::wire::{ClientMsg, CloseReason, ServerMsg, WatchSet};
use proto::zk::{OpResult, SessionId, ZkError};

fn empty() -> WatchSet {
    WatchSet::default()
}

#[test]
fn start_connects_to_the_first_server_and_connected_opens_the_session() {
    let mut c = Client::new(ClientConfig {
        first_server: 1,
        ..config()
    });
    assert_eq!(c.session.state(), SessionState::Connecting);
    assert_eq!(
        c.start(),
        vec![
            state(SessionState::Connecting),
            send(P1, connect(1, None, 0, empty())),
            timer(2000), // connect timeout: 6000 ms / 3 servers
        ]
    );
    assert_eq!(c.session.server(), Some(P1));
    assert_eq!(c.session.session_id(), None);
    // The ping deadline (Connect sent at 0 + 2000) is still the earliest: no new timer.
    assert_eq!(
        c.at(10).msg(P1, connected(1)),
        vec![state(SessionState::Connected)]
    );
    assert_eq!(c.session.state(), SessionState::Connected);
    assert_eq!(c.session.session_id(), Some(SID));
    assert!(c.session.is_alive());
    assert_eq!(c.session.counters().connect_attempts, 1);
}

#[test]
fn connect_timeouts_go_round_robin_then_pause_for_the_reconnect_delay() {
    let mut c = Client::new(ClientConfig {
        first_server: 2,
        ..config()
    });
    c.start();
    // An early timer (say the clock jumped back) only re-arms.
    assert_eq!(c.at(1500).timer(), vec![timer(2000)]);
    assert_eq!(
        c.at(2000).timer(),
        vec![
            send(P2, ClientMsg::Disconnect { conn: 1 }),
            send(P0, connect(2, None, 0, empty())),
            timer(4000),
        ]
    );
    assert_eq!(
        c.at(4000).timer(),
        vec![
            send(P0, ClientMsg::Disconnect { conn: 2 }),
            send(P1, connect(3, None, 0, empty())),
            timer(6000),
        ]
    );
    // Every server failed once: wait reconnect_delay_ms = 1000 before the next round.
    assert_eq!(
        c.at(6000).timer(),
        vec![send(P1, ClientMsg::Disconnect { conn: 3 }), timer(7000)]
    );
    assert_eq!(c.session.server(), None);
    assert_eq!(c.session.state(), SessionState::Connecting);
    assert_eq!(
        c.at(7000).timer(),
        vec![send(P2, connect(4, None, 0, empty())), timer(9000)]
    );
    let counters = c.session.counters();
    assert_eq!(counters.connect_attempts, 4);
    assert_eq!(counters.connect_timeouts, 3);
    assert_eq!(counters.connection_losses, 3);
}

#[test]
fn a_zero_reconnect_delay_starts_the_next_round_at_once() {
    let mut c = Client::new(ClientConfig {
        reconnect_delay_ms: 0,
        servers: vec![P0, P1],
        ..config()
    });
    c.start(); // connect timeout 3000 ms with two servers
    c.at(3000).timer();
    assert_eq!(
        c.at(6000).timer(),
        vec![
            send(P1, ClientMsg::Disconnect { conn: 2 }),
            send(P0, connect(3, None, 0, empty())),
            timer(9000),
        ]
    );
}

#[test]
fn closed_by_a_server_that_is_behind_moves_on_without_a_disconnect() {
    let mut c = Client::connected();
    let (_, _) = c.at(20).submit(get("/a", false));
    c.at(30).msg(P0, reply(1, 1, 5, data()));
    // p0 crashes: the transport resets the connection.
    assert_eq!(
        c.at(100).reset(P0),
        vec![
            state(SessionState::Disconnected),
            send(P1, connect(2, Some(SID), 5, empty())),
            timer(2100),
        ]
    );
    assert_eq!(c.session.state(), SessionState::Disconnected);
    // p1 has not applied zxid 5 yet: it refuses; the client tries p2 at once.
    let closed = ServerMsg::Closed {
        conn: 2,
        reason: CloseReason::ClientAhead,
    };
    assert_eq!(
        c.at(150).msg(P1, closed),
        vec![send(P2, connect(3, Some(SID), 5, empty())), timer(2150)]
    );
    // Same session on p2 (ping deadline 150 + 2000 is still the earliest).
    assert_eq!(
        c.at(200).msg(P2, connected(3)),
        vec![state(SessionState::Connected)]
    );
    assert_eq!(c.session.session_id(), Some(SID));
    assert_eq!(c.session.server(), Some(P2));
}

#[test]
fn one_server_pauses_after_every_lost_connection() {
    let mut c = Client::new(ClientConfig {
        servers: vec![P0],
        ..config()
    });
    c.start();
    c.at(10).msg(P0, connected(1));
    let closed = ServerMsg::Closed {
        conn: 1,
        reason: CloseReason::NotServing,
    };
    assert_eq!(
        c.at(50).msg(P0, closed),
        vec![state(SessionState::Disconnected), timer(1050)]
    );
    assert_eq!(
        c.at(1050).timer(),
        vec![send(P0, connect(2, Some(SID), 0, empty())), timer(7050)]
    );
}

#[test]
fn messages_of_stale_connections_and_other_servers_are_ignored() {
    let mut c = Client::connected();
    c.at(100).reset(P0); // now connecting to p1 on conn 2
    let stale = [
        (P0, reply(1, 1, 9, OpResult::Deleted)),
        (P1, connected(1)),
        (P0, connected(2)),
        (P2, ServerMsg::Expired { conn: 2 }),
        (
            P1,
            ServerMsg::Pong {
                conn: 3,
                zxid: Zxid(9),
                sent: 0,
            },
        ),
    ];
    for (from, msg) in stale {
        assert_eq!(c.at(110).msg(from, msg), vec![]);
    }
    assert_eq!(c.at(120).reset(P2), vec![]);
    assert_eq!(c.session.counters().stale_messages, 5);
    assert_eq!(c.session.counters().stale_disconnects, 1);
    assert_eq!(c.session.last_zxid_seen(), Zxid::ZERO);
    assert_eq!(c.session.state(), SessionState::Disconnected);
    // A message during the reconnect pause has no connection to belong to.
    let mut c = Client::new(config());
    c.start();
    c.at(2000).timer();
    c.at(4000).timer();
    c.at(6000).timer();
    assert_eq!(c.at(6500).msg(P2, connected(3)), vec![]);
    assert_eq!(c.session.counters().stale_messages, 1);
}

#[test]
fn expired_at_reconnect_ends_the_session() {
    let mut c = Client::connected();
    c.at(100).reset(P0);
    let (xid, out) = c.at(110).submit(get("/a", false));
    assert_eq!(out, vec![], "queued while disconnected");
    assert_eq!(
        c.at(120).msg(P1, ServerMsg::Expired { conn: 2 }),
        vec![
            failed(xid, get("/a", false), ZkError::SessionExpired),
            state(SessionState::Expired),
        ]
    );
    assert_eq!(c.session.state(), SessionState::Expired);
    assert_eq!(c.session.server(), None);
    assert_eq!(c.session.session_id(), Some(SID));
    // The old timer may still fire: nothing happens.
    assert_eq!(c.at(2100).timer(), vec![]);
}

#[test]
fn a_zero_negotiated_timeout_means_expired() {
    let mut c = Client::new(config());
    c.start();
    let msg = ServerMsg::Connected {
        conn: 1,
        session: SID,
        timeout_ms: 0,
    };
    assert_eq!(c.at(5).msg(P0, msg), vec![state(SessionState::Expired)]);
}

#[test]
fn the_negotiated_timeout_drives_the_timers() {
    let mut c = Client::new(config());
    c.start();
    let msg = ServerMsg::Connected {
        conn: 1,
        session: SID,
        timeout_ms: 3000,
    };
    // Read timeout 2000, ping after 1000 without sending (the Connect went at 0).
    assert_eq!(
        c.at(10).msg(P0, msg),
        vec![state(SessionState::Connected), timer(1000)]
    );
    // Reconnects still request 6000; the connect timeout is 3000 / 3 servers.
    assert_eq!(
        c.at(20).reset(P0),
        vec![
            state(SessionState::Disconnected),
            send(P1, connect(2, Some(SID), 0, empty())),
            timer(1020),
        ]
    );
}

#[test]
fn protocol_violations_drop_the_connection() {
    let violations = [
        connected(1),                      // a second Connected
        reply(1, 7, 3, OpResult::Deleted), // nothing in flight
    ];
    for msg in violations {
        let mut c = Client::connected();
        assert_eq!(
            c.at(20).msg(P0, msg.clone()),
            vec![
                state(SessionState::Disconnected),
                send(P0, ClientMsg::Disconnect { conn: 1 }),
                send(P1, connect(2, Some(SID), 0, empty())),
                timer(2020),
            ],
            "{msg:?}"
        );
        assert_eq!(c.session.counters().protocol_violations, 1);
    }
    // Before Connected, a Pong is out of order too.
    let mut c = Client::new(config());
    c.start();
    let pong = ServerMsg::Pong {
        conn: 1,
        zxid: Zxid(1),
        sent: 0,
    };
    assert_eq!(
        c.at(10).msg(P0, pong),
        vec![
            send(P0, ClientMsg::Disconnect { conn: 1 }),
            send(P1, connect(2, None, 0, empty())),
            timer(2010),
        ]
    );
}

#[test]
fn a_reconnect_answered_with_another_session_is_a_violation() {
    let mut c = Client::connected();
    c.at(20).reset(P0);
    let other = ServerMsg::Connected {
        conn: 2,
        session: SessionId(0x99),
        timeout_ms: TIMEOUT_MS,
    };
    assert_eq!(
        c.at(30).msg(P1, other),
        vec![
            send(P1, ClientMsg::Disconnect { conn: 2 }),
            send(P2, connect(3, Some(SID), 0, empty())),
            timer(2030),
        ]
    );
    assert_eq!(c.session.session_id(), Some(SID));
    assert_eq!(c.session.counters().protocol_violations, 1);
}

#[test]
fn a_fresh_session_has_nothing() {
    let s = Session::new(config());
    assert_eq!(s.counters(), &Counters::default());
    assert_eq!(s.pending(), 0);
    assert_eq!(s.server(), None);
    assert_eq!(s.last_zxid_seen(), Zxid::ZERO);
    assert!(s.watches().is_empty());
}

#[test]
#[should_panic(expected = "first_server")]
fn a_bad_config_is_refused() {
    Session::new(ClientConfig {
        first_server: 3,
        ..config()
    });
}
