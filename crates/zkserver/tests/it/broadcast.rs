//! Broadcast: PROPOSAL → durable → ACK → COMMIT in zxid order, requests, pings, losing the
//! quorum or the leader, the zxid counter limit, stale connections.

use std::sync::Arc;

use datatree::TxnBody;
use proto::wire::{CloseReason, ServerMsg};
use proto::zk::{OpResult, SessionId};
use proto::{Epoch, Output, Zxid};
use replication::Event;
use zab::{Phase, ServerState, TIMER_TICK};
use zkserver::{Msg, Note, Origin};

use crate::harness::*;

/// An established leader (sid 2 of 3, epoch 1) and the links of followers 0 and 1.
fn leader() -> (One, Vec<Link>) {
    leader_with(cfg(2, 3))
}

fn leader_with(c: zab::Config) -> (One, Vec<Link>) {
    let mut o = One::started(c);
    o.at_ms(100);
    elect_self(&mut o);
    let links = establish(&mut o, &[0, 1]);
    (o, links)
}

/// A message that makes a leader propose: a new session's connect (number `conn`) from
/// the client; a later connect of the same client replaces the earlier connection.
fn write(conn: u64) -> Msg {
    connect(conn, None, Zxid::ZERO)
}

/// The leader's next link seq to follower `i` is 3 after establish (LEADERINFO, DIFF,
/// NEWLEADER, UPTODATE: 0..=3).
const FIRST_LIVE_SEQ: u64 = 4;

#[test]
fn proposal_is_committed_on_a_quorum_of_durable_acks_and_answered() {
    let (mut o, mut links) = leader();
    let session = leader_session(&mut o, &mut links);
    let outs = o.msg(CLIENT, request(1, 1, create("/a", "11")));
    let zxid = z(1, 2);
    let origin = Origin {
        server: p(2),
        client: p(CLIENT),
        conn: 1,
        xid: 1,
    };
    let body = TxnBody::Create {
        path: "/a".into(),
        data: b"11".to_vec(),
        ephemeral: false,
        parent_cversion: 1,
    };
    let txn = zkserver::Txn::new(zxid, session, 100, body, Some(origin));
    let w = fsyncs(&outs)[0];
    assert_eq!(
        outs,
        vec![
            Output::Append {
                record: Record::Txn(Arc::new(txn.clone()))
            },
            Output::Fsync { write: w },
            Output::Note(Note::Repl(Event::Proposed {
                zxid,
                digest: txn.digest
            })),
            Output::Send {
                to: p(0),
                msg: peer(
                    links[0].conn,
                    FIRST_LIVE_SEQ + 2,
                    Peer::proposal(txn.clone())
                )
            },
            Output::Send {
                to: p(1),
                msg: peer(
                    links[1].conn,
                    FIRST_LIVE_SEQ + 2,
                    Peer::proposal(txn.clone())
                )
            },
        ]
    );
    // One follower's ACK is not a quorum without the leader's own durable copy.
    assert_eq!(o.msg(0, links[0].next(Peer::Ack { zxid })), vec![]);
    let outs = o.disk_done(w);
    let reply = ServerMsg::Reply {
        conn: 1,
        seq: 0,
        xid: 1,
        zxid,
        result: OpResult::Created {
            path: "/a".into(),
            stat: o.s.app().tree().stat("/a"),
        },
    };
    assert_eq!(
        outs,
        vec![
            Output::Send {
                to: p(0),
                msg: peer(links[0].conn, FIRST_LIVE_SEQ + 3, Peer::Commit { zxid })
            },
            Output::Send {
                to: p(1),
                msg: peer(links[1].conn, FIRST_LIVE_SEQ + 3, Peer::Commit { zxid })
            },
            Output::Note(Note::Repl(Event::Committed { zxid })),
            Output::Note(Note::Repl(Event::Delivered {
                zxid,
                digest: txn.digest
            })),
            // The leader reports which request took effect at which zxid (for histories).
            Output::Note(Note::Applied {
                session,
                xid: 1,
                zxid
            }),
            Output::Send {
                to: p(CLIENT),
                msg: Msg::to_client(reply)
            },
        ]
    );
    assert_eq!(o.s.app().tree().data("/a"), Some(&b"11"[..]));
    // A late ACK changes nothing.
    let mut l1 = links[1];
    assert_eq!(o.msg(1, l1.next(Peer::Ack { zxid })), vec![]);
}

/// ZOOKEEPER-1366's fix: a txn's time (ctime / mtime) is a wall-clock reading, every
/// timeout a monotonic one, so a wall-clock jump moves txn times and nothing else.
#[test]
fn txn_times_follow_the_wall_clock_and_timeouts_the_monotonic_one() {
    let (mut o, mut links) = leader();
    let session = leader_session(&mut o, &mut links);
    let start = o.now;
    assert_eq!(o.wall(), start, "no jump yet");
    // A clock fault: the wall clock jumps 2 h ahead; the monotonic clock does not move.
    o.jump_wall_ms(7_200_000);
    assert_eq!(o.wall(), start.plus_ns(7_200_000 * proto::NS_PER_MS));
    let outs = o.msg(CLIENT, request(1, 1, create("/a", "11")));
    let txn = proposals_to(&outs, 0)
        .pop()
        .expect("the create is proposed");
    assert_eq!((txn.session, txn.zxid), (session, z(1, 2)));
    assert_eq!(txn.time_ms, (o.wall().ms()) as i64, "ctime: the wall clock");
    assert_eq!(txn.time_ms, 7_200_000 + start.ms() as i64);
    // The next tick: the session (4 s) has not expired, the tick stays 200 ms of
    // monotonic time, the leader keeps leading.
    o.advance_ms(200);
    let outs = o.timer(TIMER_TICK);
    assert_eq!(
        timers_set(&outs),
        vec![(TIMER_TICK, start.plus_ns(400 * proto::NS_PER_MS))]
    );
    assert!(
        proposals_to(&outs, 0).is_empty(),
        "nothing expired: {outs:?}"
    );
    assert!(o.e().is_established_leader());
    assert_eq!(o.s.app().sessions().len(), 1);
    // Back 2 h: the next txn's time is the monotonic time again; still no expiry.
    o.jump_wall_ms(-7_200_000);
    assert_eq!(o.wall(), o.now);
    let outs = o.msg(CLIENT, request(1, 2, create("/b", "")));
    let txn = proposals_to(&outs, 0)
        .pop()
        .expect("the create is proposed");
    assert_eq!(txn.time_ms, o.now.ms() as i64);
    o.advance_ms(200);
    let outs = o.timer(TIMER_TICK);
    assert_eq!(
        timers_set(&outs),
        vec![(TIMER_TICK, start.plus_ns(600 * proto::NS_PER_MS))]
    );
    assert!(
        proposals_to(&outs, 0).is_empty(),
        "nothing expired: {outs:?}"
    );
    assert!(o.e().is_established_leader());
}

/// The planted ZOOKEEPER-1366: the server times everything on the wall clock. Its timers
/// are wall-clock timers at wall-clock deadlines, and a forward jump of the wall clock
/// expires a live session at the next tick (the symptom).
#[test]
fn zk_1366_planted_times_out_on_the_wall_clock() {
    let mut c = cfg(2, 3);
    c.bugs.zk_1366 = true;
    let (mut o, mut links) = leader_with(c);
    let session = leader_session(&mut o, &mut links);
    let start = o.now;
    o.advance_ms(200);
    let outs = o.timer(TIMER_TICK);
    assert_eq!(timers_set(&outs), vec![], "no monotonic timer with the bug");
    assert_eq!(
        wall_timers_set(&outs),
        vec![(TIMER_TICK, start.plus_ns(400 * proto::NS_PER_MS))]
    );
    // The wall clock jumps 2 h ahead: the next tick's deadline is in wall time. (Follower
    // 0 is heard from after the jump, so the leader still counts a quorum.)
    o.jump_wall_ms(7_200_000);
    o.advance_ms(200);
    o.msg(0, links[0].next(ping(&[])));
    let outs = o.timer(TIMER_TICK);
    assert!(o.e().is_established_leader());
    assert_eq!(
        wall_timers_set(&outs),
        vec![(TIMER_TICK, o.wall().plus_ns(200 * proto::NS_PER_MS))]
    );
    assert_eq!(
        o.wall(),
        start.plus_ns((7_200_000 + 400) * proto::NS_PER_MS)
    );
    // ... and the session, heard from 400 ms of real time ago, expired 2 h early.
    let proposed = proposals_to(&outs, 0);
    assert_eq!(proposed.len(), 1, "{proposed:?}");
    assert_eq!(proposed[0].session, session);
    assert!(
        matches!(proposed[0].body, TxnBody::CloseSession { .. }),
        "{proposed:?}"
    );
}

#[test]
fn commits_happen_strictly_in_zxid_order() {
    let (mut o, links) = leader();
    let (mut l0, mut l1) = (links[0], links[1]);
    o.msg(9, write(1));
    o.msg(9, write(2));
    // The second is acked by both followers first: still nothing commits.
    assert_eq!(o.msg(0, l0.next(Peer::Ack { zxid: z(1, 2) })), vec![]);
    assert_eq!(o.msg(1, l1.next(Peer::Ack { zxid: z(1, 2) })), vec![]);
    // The first gets one ACK (the leader's own fsync is still in flight): no quorum.
    assert_eq!(o.msg(1, l1.next(Peer::Ack { zxid: z(1, 1) })), vec![]);
    // Then its quorum: both commit, in order.
    let outs = o.msg(0, l0.next(Peer::Ack { zxid: z(1, 1) }));
    let committed: Vec<Note> = notes(&outs)
        .into_iter()
        .filter(|n| matches!(n, Note::Repl(Event::Committed { .. })))
        .collect();
    assert_eq!(
        committed,
        vec![
            Note::Repl(Event::Committed { zxid: z(1, 1) }),
            Note::Repl(Event::Committed { zxid: z(1, 2) })
        ]
    );
    let to0: Vec<Peer> = peer_sends(&outs)
        .into_iter()
        .filter(|(t, _)| *t == p(0))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        to0,
        vec![
            Peer::Commit { zxid: z(1, 1) },
            Peer::Commit { zxid: z(1, 2) }
        ]
    );
    assert_eq!(o.e().last_applied_zxid(), z(1, 2));
}

#[test]
fn follower_acks_only_durable_proposals_and_delivers_on_commit() {
    let mut o = One::started(cfg(0, 3));
    let mut l = synced_follower(&mut o, 2, 1);
    let origin = Origin {
        server: p(2),
        client: p(9),
        conn: 1,
        xid: 1,
    };
    let txn = kv_txn(z(1, 1), 3, 4, Some(origin));
    let outs = o.msg(2, l.next(Peer::proposal(txn.clone())));
    let w = fsyncs(&outs)[0];
    assert_eq!(
        outs,
        vec![
            Output::Append {
                record: Record::Txn(Arc::new(txn.clone()))
            },
            Output::Fsync { write: w }
        ]
    );
    let outs = o.disk_done(w);
    let conn = l.conn;
    // Seq 3 from the follower: FOLLOWERINFO, ACKEPOCH, ACK_NEWLEADER came first.
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(2),
            msg: peer(conn, 3, Peer::Ack { zxid: z(1, 1) })
        }]
    );
    let outs = o.msg(2, l.next(Peer::Commit { zxid: z(1, 1) }));
    // Another server's client: delivered, not answered here.
    assert_eq!(
        outs,
        vec![Output::Note(Note::Repl(Event::Delivered {
            zxid: z(1, 1),
            digest: txn.digest
        }))]
    );
}

#[test]
fn follower_forwards_writes_and_answers_after_applying_the_commit() {
    let mut o = One::started(cfg(0, 3));
    let mut l = synced_follower(&mut o, 2, 1);
    let session = follower_session(&mut o, &mut l, z(1, 1));
    let outs = o.msg(CLIENT, request(1, 5, create("/k", "2")));
    let origin = Origin {
        server: p(0),
        client: p(CLIENT),
        conn: 1,
        xid: 5,
    };
    assert_eq!(
        peer_sends(&outs),
        vec![(p(2), request_peer(session, create("/k", "2"), origin))]
    );
    // A read behind the write waits for it (the session's FIFO order).
    let outs = o.msg(CLIENT, request(1, 6, get("/k", false)));
    assert_eq!(to_client(&outs, CLIENT), vec![]);
    let body = TxnBody::Create {
        path: "/k".into(),
        data: b"2".to_vec(),
        ephemeral: false,
        parent_cversion: 1,
    };
    let txn = zkserver::Txn::new(z(1, 2), session, 7, body, Some(origin));
    let outs = o.msg(2, l.next(Peer::proposal(txn)));
    o.complete_fsync(&outs);
    let outs = o.msg(2, l.next(Peer::Commit { zxid: z(1, 2) }));
    let stat = o.s.app().tree().stat("/k").expect("created");
    assert_eq!(
        to_client(&outs, CLIENT),
        vec![
            ServerMsg::Reply {
                conn: 1,
                seq: 0,
                xid: 5,
                zxid: z(1, 2),
                result: OpResult::Created {
                    path: "/k".into(),
                    stat: Some(stat)
                }
            },
            ServerMsg::Reply {
                conn: 1,
                seq: 1,
                xid: 6,
                zxid: z(1, 2),
                result: OpResult::Data {
                    data: b"2".to_vec(),
                    stat
                }
            }
        ]
    );
}

#[test]
fn leader_proposes_forwarded_requests_and_ignores_pre_broadcast_ones() {
    let (mut o, links) = leader();
    let mut l0 = links[0];
    let origin = Origin {
        server: p(0),
        client: p(9),
        conn: 1,
        xid: 0,
    };
    let session = SessionId(77);
    let op = proto::zk::Op::CreateSession { timeout_ms: 4000 };
    let outs = o.msg(0, l0.next(request_peer(session, op.clone(), origin)));
    let body = TxnBody::CreateSession { timeout_ms: 4000 };
    assert!(notes(&outs).contains(&Note::Repl(Event::Proposed {
        zxid: z(1, 1),
        digest: zkserver::Txn::new(z(1, 1), session, 100, body, Some(origin)).digest
    })));
    // A request claiming another origin server is dropped.
    let bad = Origin {
        server: p(1),
        ..origin
    };
    let req = request_peer(session, op, bad);
    assert_eq!(o.msg(0, l0.next(req)), vec![]);
    // A write of a session that was never created fails with SessionExpired.
    let req = request_peer(SessionId(78), create("/x", ""), origin);
    let outs = o.msg(0, l0.next(req));
    let txn = proposals_to(&outs, 0).pop().expect("proposed");
    assert_eq!(txn.body, TxnBody::Error(proto::zk::ZkError::SessionExpired));
}

#[test]
fn servers_not_in_broadcast_refuse_connections() {
    let mut o = One::started(cfg(0, 3));
    let outs = o.msg(9, write(1));
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(9),
            msg: Msg::to_client(ServerMsg::Closed {
                conn: 1,
                reason: CloseReason::NotServing
            })
        }]
    );
    // Servers are not clients.
    assert_eq!(o.msg(1, write(1)), vec![]);
}

#[test]
fn leader_pings_and_steps_down_without_a_quorum() {
    let (mut o, links) = leader();
    let start = o.now;
    o.advance_ms(200);
    let outs = o.timer(TIMER_TICK);
    assert_eq!(
        effects(&outs),
        vec![
            Output::Send {
                to: p(0),
                msg: peer(links[0].conn, FIRST_LIVE_SEQ, ping(&[]))
            },
            Output::Send {
                to: p(1),
                msg: peer(links[1].conn, FIRST_LIVE_SEQ, ping(&[]))
            },
            Output::SetTimer {
                timer: TIMER_TICK,
                at: start.plus_ns(400 * proto::NS_PER_MS)
            },
        ]
    );
    // Follower 0 keeps answering, follower 1 is silent: still a quorum.
    let mut l0 = links[0];
    for _ in 0..6 {
        o.advance_ms(200);
        o.msg(0, l0.next(ping(&[])));
        o.timer(TIMER_TICK);
    }
    assert!(o.e().is_established_leader());
    // Now both are silent for sync_limit (5 ticks): step down.
    let pending = o.msg(9, write(3));
    assert!(!pending.is_empty());
    let mut last = Vec::new();
    for _ in 0..6 {
        o.advance_ms(200);
        last = o.timer(TIMER_TICK);
        if o.e().state() == ServerState::Looking {
            break;
        }
    }
    assert_eq!(o.e().state(), ServerState::Looking);
    assert_eq!(
        o.e().last_leave_reason(),
        Some(zab::LeaveReason::SyncedQuorumLost)
    );
    assert_eq!(
        notes(&last),
        vec![
            Note::Repl(Event::State {
                state: ServerState::Looking,
                epoch: Epoch(1)
            }),
            Note::Repl(Event::Phase(Phase::Election))
        ]
    );
    // The connection with a write in flight is closed.
    assert_eq!(
        to_client(&last, 9),
        vec![ServerMsg::Closed {
            conn: 3,
            reason: CloseReason::NotServing
        }]
    );
}

#[test]
fn follower_that_loses_its_leader_goes_looking() {
    let mut o = One::started(cfg(0, 3));
    let mut l = synced_follower(&mut o, 2, 1);
    for _ in 0..4 {
        o.advance_ms(200);
        o.timer(TIMER_TICK);
    }
    // A ping keeps it alive.
    let outs = o.msg(2, l.next(ping(&[])));
    assert_eq!(peer_sends(&outs), vec![(p(2), ping(&[]))]);
    for _ in 0..4 {
        o.advance_ms(200);
        o.timer(TIMER_TICK);
    }
    assert_eq!(o.e().state(), ServerState::Following);
    o.advance_ms(200);
    let outs = o.timer(TIMER_TICK);
    assert_eq!(o.e().state(), ServerState::Looking);
    assert_eq!(
        o.e().last_leave_reason(),
        Some(zab::LeaveReason::LeaderSilent)
    );
    assert_eq!(
        notes(&outs)[0],
        Note::Repl(Event::State {
            state: ServerState::Looking,
            epoch: Epoch(1)
        })
    );
}

#[test]
fn leader_steps_down_before_the_zxid_counter_overflows() {
    let mut c = cfg(2, 3);
    c.zxid_counter_max = 2;
    let (mut o, _) = leader_with(c);
    o.msg(9, write(1));
    o.msg(10, write(1));
    assert_eq!(o.e().last_logged_zxid(), z(1, 2));
    let outs = o.msg(11, write(1));
    assert_eq!(o.e().state(), ServerState::Looking);
    assert_eq!(
        o.e().last_leave_reason(),
        Some(zab::LeaveReason::ZxidCounterExhausted)
    );
    assert_eq!(
        o.e().last_logged_zxid(),
        z(1, 2),
        "nothing proposed past the limit"
    );
    let closed: Vec<u32> = sends(&outs)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Msg::ToClient(m) if matches!(*m, ServerMsg::Closed { .. }) => Some(to.0),
            _ => None,
        })
        .collect();
    assert_eq!(closed, vec![9, 10, 11], "every connection is closed once");
}

#[test]
fn stale_connections_are_dropped_and_gaps_break_them() {
    let mut o = One::started(cfg(0, 3));
    let mut l = synced_follower(&mut o, 2, 1);
    // A message on another connection id: dropped silently.
    let stale = peer(l.conn.wrapping_add(1), 99, Peer::Commit { zxid: z(1, 1) });
    assert_eq!(o.msg(2, stale), vec![]);
    // From a server that is not our leader: dropped.
    assert_eq!(o.msg(1, peer(l.conn, l.out_seq, ping(&[]))), vec![]);
    // A gap: the connection is broken.
    l.out_seq += 1;
    o.msg(2, l.next(ping(&[])));
    assert_eq!(o.e().state(), ServerState::Looking);
    assert_eq!(
        o.e().last_leave_reason(),
        Some(zab::LeaveReason::LeaderConnectionGap)
    );

    // The leader side: a gap forgets the learner and resets its connection.
    let (mut o, links) = leader();
    let mut l0 = links[0];
    l0.out_seq += 1;
    let outs = o.msg(0, l0.next(ping(&[])));
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(0),
            msg: peer(links[0].conn, FIRST_LIVE_SEQ + 1, ping(&[]))
        }],
        "a reset skips a sequence number"
    );
    // Later messages on that connection are dropped; proposals no longer go to it.
    assert_eq!(o.msg(0, l0.next(Peer::Ack { zxid: z(1, 1) })), vec![]);
    let outs = o.msg(9, write(1));
    assert_eq!(
        peer_sends(&outs)
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>(),
        vec![p(1)]
    );
}

#[test]
fn leader_forgets_learners_that_stay_silent() {
    let (mut o, _) = leader();
    let mut l0 = Link {
        sid: 0,
        conn: 1000,
        out_seq: 3,
    };
    for _ in 0..6 {
        o.advance_ms(200);
        o.msg(0, l0.next(ping(&[])));
        o.timer(TIMER_TICK);
    }
    // Follower 1 was silent past sync_limit: no more pings to it.
    o.advance_ms(200);
    let outs = o.timer(TIMER_TICK);
    assert_eq!(
        peer_sends(&outs)
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>(),
        vec![p(0)]
    );
}

#[test]
fn observers_get_inform_instead_of_proposals() {
    let c = zab::Config::new(p(2), vec![p(0), p(1), p(2)], vec![p(3)]);
    let mut o = One::started(c);
    elect_self(&mut o);
    let links = establish(&mut o, &[0]);
    // The observer connects late.
    let mut ob = Link {
        sid: 3,
        conn: 33,
        out_seq: 0,
    };
    o.msg(
        3,
        ob.next(Peer::ObserverInfo {
            accepted_epoch: Epoch(0),
        }),
    );
    o.msg(
        3,
        ob.next(Peer::AckEpoch {
            current_epoch: Some(Epoch(0)),
            last_zxid: Zxid::ZERO,
        }),
    );
    o.msg(3, ob.next(Peer::AckNewLeader { epoch: Epoch(1) }));
    let outs = o.msg(9, write(1));
    assert_eq!(
        peer_sends(&outs)
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>(),
        vec![p(0)]
    );
    let outs = o.complete_fsync(&outs);
    assert_eq!(outs, vec![], "the leader alone is not a quorum of 3");
    let mut l0 = links[0];
    let outs = o.msg(0, l0.next(Peer::Ack { zxid: z(1, 1) }));
    let informs: Vec<Peer> = peer_sends(&outs)
        .into_iter()
        .filter(|(t, _)| *t == p(3))
        .map(|(_, b)| b)
        .collect();
    assert!(matches!(&informs[..], [Peer::Inform { txn }] if txn.zxid == z(1, 1)));
    // An observer's ACK never counts.
    assert_eq!(o.msg(3, ob.next(Peer::Ack { zxid: z(1, 1) })), vec![]);
}

#[test]
fn fsyncs_are_batched_while_one_is_in_flight() {
    let (mut o, _) = leader();
    let outs = o.msg(9, write(1));
    let w1 = fsyncs(&outs)[0];
    // Two more proposals while the first fsync is in flight: appended, not fsynced.
    for r in 2..=3 {
        let outs = o.msg(9, write(r));
        assert_eq!(appends(&outs).len(), 1);
        assert_eq!(fsyncs(&outs), vec![]);
    }
    // The completion issues one fsync covering both.
    let outs = o.disk_done(w1);
    assert_eq!(fsyncs(&outs).len(), 1);
    let (appended, fsynced) = o.e().disk_counters();
    assert_eq!(
        fsynced, 4,
        "accepted epoch, current epoch, then two batches"
    );
    assert!(appended >= 5);
}

#[test]
fn a_trunc_below_the_applied_point_rolls_back_to_the_snapshot() {
    // Only reachable when a leader cuts a committed txn (a planted bug): the follower
    // reports the cut and resets its applied state, like ZooKeeper's reload.
    let mut o = One::started(cfg(0, 3));
    let mut l = synced_follower(&mut o, 2, 1);
    let t = kv_txn(z(1, 1), 1, 1, None);
    let outs = o.msg(2, l.next(Peer::proposal(t.clone())));
    o.complete_fsync(&outs);
    o.msg(2, l.next(Peer::Commit { zxid: z(1, 1) }));
    assert_eq!(o.e().last_applied_zxid(), z(1, 1));
    // The leader goes away; a new one truncates below what we applied.
    o.advance_ms(2000);
    o.timer(TIMER_TICK);
    let conn = follow(&mut o, 1);
    let mut l = Link {
        sid: 1,
        conn,
        out_seq: 0,
    };
    let outs = o.msg(
        1,
        l.next(Peer::LeaderInfo {
            new_epoch: Epoch(2),
        }),
    );
    o.complete_fsync(&outs);
    let outs = o.msg(
        1,
        l.next(Peer::Trunc {
            to: Zxid::ZERO,
            committed_zxid: Zxid::ZERO,
        }),
    );
    assert_eq!(
        notes(&outs),
        vec![
            Note::Repl(Event::Truncated {
                after: Zxid::ZERO,
                removed: [z(1, 1)].into()
            }),
            Note::Repl(Event::Reset {
                upto: Zxid::ZERO,
                history: 0
            }),
            Note::Repl(Event::Phase(Phase::Synchronization)),
        ]
    );
    assert_eq!(kv_read(&o.s, 1), None);
}
