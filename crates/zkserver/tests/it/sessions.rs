//! Sessions, watches and syncs on one server, exact outputs: watch events ahead of the
//! reply that reflects the change, a reconnect refused when the client has seen more, a
//! reconnect of an unknown session answered Expired, SessionMoved closing the connection,
//! expiry proposed by the leader (at the end of its tick), and a sync answered after the
//! proposals before it.

use std::sync::Arc;

use datatree::TxnBody;
use proto::wire::{CloseReason, EventType, ServerMsg, WatchEvent};
use proto::zk::{Op, OpResult, SessionId, ZkError};
use proto::{Output, Zxid};
use replication::Event;
use zab::TIMER_TICK;
use zkserver::{Msg, Note, Origin, PeerMsg};

use crate::harness::*;

/// An established leader (p2 of 3) with a session for CLIENT, and its follower links.
fn leader_with_session() -> (One, Vec<Link>, SessionId) {
    let mut o = One::started(cfg(2, 3));
    o.at_ms(100);
    elect_self(&mut o);
    let mut links = establish(&mut o, &[0, 1]);
    let session = leader_session(&mut o, &mut links);
    (o, links, session)
}

/// Commits the (single) proposal in `outs` with follower 0's ACK and the leader's fsync.
fn commit(o: &mut One, links: &mut [Link], outs: &[O]) -> Vec<O> {
    let txn = proposals_to(outs, 0).pop().expect("a proposal");
    o.msg(0, links[0].next(Peer::Ack { zxid: txn.zxid }));
    o.complete_fsync(outs)
}

#[test]
fn a_watch_event_goes_out_before_the_reply_that_reflects_the_change() {
    let (mut o, mut links, _) = leader_with_session();
    let outs = o.msg(CLIENT, request(1, 1, create("/a", "0")));
    commit(&mut o, &mut links, &outs);
    let outs = o.msg(CLIENT, request(1, 2, get("/a", true)));
    assert!(matches!(
        &to_client(&outs, CLIENT)[..],
        [ServerMsg::Reply {
            xid: 2,
            result: OpResult::Data { .. },
            ..
        }]
    ));
    assert_eq!(o.s.watch_count(), 1);
    let set = Op::SetData {
        path: "/a".into(),
        data: b"1".to_vec(),
        version: -1,
    };
    let outs = o.msg(CLIENT, request(1, 3, set));
    let outs = commit(&mut o, &mut links, &outs);
    let msgs = to_client(&outs, CLIENT);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(
        msgs[0],
        ServerMsg::Watch {
            conn: 1,
            seq: 2, // after the create's and the get's replies
            event: WatchEvent {
                kind: EventType::NodeDataChanged,
                path: "/a".into(),
                zxid: z(1, 3)
            }
        }
    );
    assert!(matches!(msgs[1], ServerMsg::Reply { xid: 3, .. }));
    assert_eq!(o.s.watch_count(), 0, "one-shot");
}

#[test]
fn a_client_that_has_seen_more_is_refused_and_an_unknown_session_is_expired() {
    let (mut o, _, _) = leader_with_session();
    let applied = o.e().last_applied_zxid();
    let ahead = Zxid(applied.0 + 1);
    let outs = o.msg(10, connect(5, Some(SessionId(99)), ahead));
    assert_eq!(
        to_client(&outs, 10),
        vec![ServerMsg::Closed {
            conn: 5,
            reason: CloseReason::ClientAhead
        }]
    );
    // Not ahead, but the session was never created: expired.
    let outs = o.msg(10, connect(6, Some(SessionId(99)), applied));
    assert_eq!(to_client(&outs, 10), vec![ServerMsg::Expired { conn: 6 }]);
    assert_eq!(o.s.client_connections(), 1, "only CLIENT's connection");
}

#[test]
fn session_moved_closes_the_connection_instead_of_answering() {
    let mut o = One::started(cfg(0, 3));
    let mut l = synced_follower(&mut o, 2, 1);
    let session = follower_session(&mut o, &mut l, z(1, 1));
    let outs = o.msg(CLIENT, request(1, 1, create("/m", "")));
    let origin = match peer_sends(&outs).pop() {
        Some((_, Peer::App(PeerMsg::Request(r)))) => r.origin,
        other => panic!("forwarded: {other:?}"),
    };
    // The leader found the session owned elsewhere: an error txn for this request.
    let body = TxnBody::Error(ZkError::SessionMoved);
    let txn = zkserver::Txn::new(z(1, 2), session, 0, body, Some(origin));
    let outs = o.msg(2, l.next(Peer::proposal(txn)));
    o.complete_fsync(&outs);
    let outs = o.msg(2, l.next(Peer::Commit { zxid: z(1, 2) }));
    assert_eq!(
        to_client(&outs, CLIENT),
        vec![ServerMsg::Closed {
            conn: 1,
            reason: CloseReason::SessionMoved
        }]
    );
    assert_eq!(o.s.client_connections(), 0);
}

#[test]
fn the_leader_expires_a_silent_session_with_a_close_txn() {
    let (mut o, links, session) = leader_with_session();
    assert_eq!(o.s.tracked_sessions(), Some(1));
    // The followers keep answering pings; the client says nothing for 4 s (its timeout).
    let mut l0 = links[0];
    let mut closes = Vec::new();
    for _ in 0..25 {
        o.advance_ms(200);
        o.msg(0, l0.next(ping(&[])));
        let outs = o.timer(TIMER_TICK);
        closes.extend(
            proposals_to(&outs, 0)
                .into_iter()
                .filter(|t| matches!(t.body, TxnBody::CloseSession { .. }) && t.session == session),
        );
    }
    assert_eq!(closes.len(), 1, "expired exactly once");
    assert_eq!(closes[0].origin, None::<Origin>);
    assert!(o.e().is_established_leader());
}

#[test]
fn touches_from_a_follower_keep_a_session_alive() {
    let (mut o, links, session) = leader_with_session();
    let mut l0 = links[0];
    for _ in 0..25 {
        o.advance_ms(200);
        o.msg(0, l0.next(ping(&[session])));
        let outs = o.timer(TIMER_TICK);
        assert!(proposals_to(&outs, 0).is_empty(), "nothing expires");
    }
}

#[test]
fn a_sync_is_answered_once_the_proposals_before_it_commit() {
    let (mut o, mut links, _) = leader_with_session();
    let outs = o.msg(CLIENT, request(1, 1, create("/s", "")));
    let synced = o.msg(CLIENT, request(1, 2, Op::Sync { path: "/s".into() }));
    assert_eq!(
        to_client(&synced, CLIENT),
        vec![],
        "the create is not committed yet"
    );
    let outs = commit(&mut o, &mut links, &outs);
    let msgs = to_client(&outs, CLIENT);
    assert!(matches!(msgs[0], ServerMsg::Reply { xid: 1, .. }));
    assert_eq!(
        msgs[1],
        ServerMsg::Reply {
            conn: 1,
            seq: 1,
            xid: 2,
            zxid: z(1, 2),
            result: OpResult::Synced { path: "/s".into() }
        }
    );
}

#[test]
fn a_ping_that_counts_more_requests_than_arrived_closes_the_connection() {
    let (mut o, _, _) = leader_with_session();
    // No request arrived on connection 1, but the client says it sent two.
    let ping = Msg::from_client(proto::wire::ClientMsg::Ping { conn: 1, sent: 2 });
    let outs = o.msg(CLIENT, ping);
    assert_eq!(
        to_client(&outs, CLIENT),
        vec![ServerMsg::Closed {
            conn: 1,
            reason: CloseReason::MessagesLost
        }]
    );
    assert_eq!(o.s.client_connections(), 0);
    // A ping that agrees is answered with the count of messages sent.
    let (mut o, _, _) = leader_with_session();
    let ping = Msg::from_client(proto::wire::ClientMsg::Ping { conn: 1, sent: 0 });
    let outs = o.msg(CLIENT, ping);
    assert!(matches!(
        &to_client(&outs, CLIENT)[..],
        [ServerMsg::Pong {
            conn: 1,
            sent: 0,
            ..
        }]
    ));
}

/// The established leader expires sessions at the END of its tick: the pings and the next
/// tick timer go out first, then the CloseSession is logged and proposed (the expiry is the
/// server's reaction to the engine's tick; before the zab / zkserver split it came before
/// the pings and the timer). The test pins the order.
#[test]
fn the_leader_expires_sessions_after_its_pings_and_tick_timer() {
    let (mut o, links, session) = leader_with_session();
    let mut l0 = links[0];
    // The session (4 s) was created at 100 ms: it expires on the tick at 4100 ms. Follower
    // 0 answers every ping; follower 1 is silent and forgotten after syncLimit.
    let outs = loop {
        o.advance_ms(200);
        o.msg(0, l0.next(ping(&[])));
        let outs = o.timer(TIMER_TICK);
        if o.now == ms(4100) {
            break outs;
        }
        assert!(
            proposals_to(&outs, 0).is_empty(),
            "expired early at {:?}",
            o.now
        );
    };
    let body = TxnBody::CloseSession { paths: vec![] };
    let close = zkserver::Txn::new(z(1, 2), session, 4100, body, None);
    let w = fsyncs(&outs)[0];
    assert_eq!(
        outs,
        vec![
            Output::Send {
                to: p(0),
                msg: peer(l0.conn, 25, ping(&[]))
            },
            Output::SetTimer {
                timer: TIMER_TICK,
                at: ms(4300)
            },
            Output::Append {
                record: Record::Txn(Arc::new(close.clone()))
            },
            Output::Fsync { write: w },
            Output::Note(Note::Repl(Event::Proposed {
                zxid: z(1, 2),
                digest: close.digest
            })),
            Output::Send {
                to: p(0),
                msg: peer(l0.conn, 26, Peer::proposal(close))
            },
        ]
    );
    assert!(o.e().is_established_leader());
}
