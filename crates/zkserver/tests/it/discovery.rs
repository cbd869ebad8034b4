//! Discovery: epoch choice, durability before LEADERINFO / ACKEPOCH, initLimit, a follower
//! ahead of its leader, connection retries.

use proto::{Epoch, Output, Zxid};
use replication::Event;
use zab::{Phase, ServerState, TIMER_TICK};
use zkserver::Note;

use crate::harness::*;

#[test]
fn leader_picks_an_epoch_above_the_quorums_accepted_epochs_and_persists_it_first() {
    let mut o = One::started(cfg(2, 3));
    elect_self(&mut o);
    // Alone it is no quorum: nothing happens yet.
    assert_eq!(o.e().leader_epoch(), None);
    let outs = o.msg(
        0,
        peer(
            77,
            0,
            Peer::FollowerInfo {
                accepted_epoch: Epoch(3),
            },
        ),
    );
    let w = fsyncs(&outs)[0];
    assert_eq!(
        outs,
        vec![
            Output::Append {
                record: Record::AcceptedEpoch(Epoch(4))
            },
            Output::Fsync { write: w },
        ]
    );
    // LEADERINFO only once the accepted epoch is durable.
    let outs = o.disk_done(w);
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(0),
            msg: peer(
                77,
                0,
                Peer::LeaderInfo {
                    new_epoch: Epoch(4)
                }
            )
        }]
    );
    assert_eq!(o.e().accepted_epoch(), Epoch(4));
    // A late follower gets LEADERINFO at once.
    let outs = o.msg(
        1,
        peer(
            78,
            0,
            Peer::FollowerInfo {
                accepted_epoch: Epoch(0),
            },
        ),
    );
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(1),
            msg: peer(
                78,
                0,
                Peer::LeaderInfo {
                    new_epoch: Epoch(4)
                }
            )
        }]
    );
    // ACKEPOCH from a quorum: the current epoch is made durable, then sync starts.
    let outs = o.msg(
        0,
        peer(
            77,
            1,
            Peer::AckEpoch {
                current_epoch: Some(Epoch(0)),
                last_zxid: Zxid::ZERO,
            },
        ),
    );
    let w = fsyncs(&outs)[0];
    assert_eq!(
        outs,
        vec![
            Output::Append {
                record: Record::CurrentEpoch(Epoch(4))
            },
            Output::Fsync { write: w },
        ]
    );
    let outs = o.disk_done(w);
    assert_eq!(
        outs,
        vec![
            Output::Note(Note::Repl(Event::Phase(Phase::Synchronization))),
            Output::Send {
                to: p(0),
                msg: peer(
                    77,
                    1,
                    Peer::Diff {
                        last_zxid: Zxid::ZERO,
                        committed_zxid: Zxid::ZERO
                    }
                )
            },
            Output::Send {
                to: p(0),
                msg: peer(
                    77,
                    2,
                    Peer::NewLeader {
                        epoch: Epoch(4),
                        last_zxid: Zxid::ZERO
                    }
                )
            },
        ]
    );
    assert_eq!(o.e().current_epoch(), Epoch(4));
    // The NEWLEADER ACK makes a quorum: established, and UPTODATE goes out.
    let outs = o.msg(0, peer(77, 2, Peer::AckNewLeader { epoch: Epoch(4) }));
    assert_eq!(
        outs,
        vec![
            Output::Note(Note::Repl(Event::Established { epoch: Epoch(4) })),
            Output::Note(Note::Repl(Event::Phase(Phase::Broadcast))),
            Output::Send {
                to: p(0),
                msg: peer(77, 3, Peer::UpToDate)
            },
        ]
    );
    assert!(o.e().is_established_leader());
    assert!(o.e().is_leader());
}

#[test]
fn follower_makes_the_accepted_epoch_durable_before_ackepoch() {
    let mut o = One::started(cfg(0, 3));
    let conn = follow(&mut o, 2);
    let outs = o.msg(
        2,
        peer(
            conn,
            0,
            Peer::LeaderInfo {
                new_epoch: Epoch(1),
            },
        ),
    );
    let w = fsyncs(&outs)[0];
    assert_eq!(
        outs,
        vec![
            Output::Append {
                record: Record::AcceptedEpoch(Epoch(1))
            },
            Output::Fsync { write: w },
        ]
    );
    assert_eq!(o.e().accepted_epoch(), Epoch(0), "not durable yet");
    // A completion for another fsync does nothing.
    assert_eq!(o.disk_done(proto::WriteId(w.0.wrapping_add(5))), vec![]);
    let outs = o.disk_done(w);
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(2),
            msg: peer(
                conn,
                1,
                Peer::AckEpoch {
                    current_epoch: Some(Epoch(0)),
                    last_zxid: Zxid::ZERO
                }
            )
        }]
    );
    assert_eq!(o.e().accepted_epoch(), Epoch(1));
}

#[test]
fn follower_already_at_the_epoch_acks_with_minus_one() {
    let mut o = One::new(cfg(0, 3));
    o.start(&[Record::AcceptedEpoch(Epoch(3))], false);
    let conn = follow(&mut o, 2);
    let outs = o.msg(
        2,
        peer(
            conn,
            0,
            Peer::LeaderInfo {
                new_epoch: Epoch(3),
            },
        ),
    );
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(2),
            msg: peer(
                conn,
                1,
                Peer::AckEpoch {
                    current_epoch: None,
                    last_zxid: Zxid::ZERO
                }
            )
        }]
    );
}

#[test]
fn follower_refuses_a_leader_epoch_below_its_accepted_epoch() {
    let mut o = One::new(cfg(0, 3));
    o.start(&[Record::AcceptedEpoch(Epoch(5))], false);
    let conn = follow(&mut o, 2);
    let outs = o.msg(
        2,
        peer(
            conn,
            0,
            Peer::LeaderInfo {
                new_epoch: Epoch(3),
            },
        ),
    );
    assert_eq!(o.e().state(), ServerState::Looking);
    assert!(notes(&outs).contains(&Note::Repl(Event::State {
        state: ServerState::Looking,
        epoch: Epoch(0)
    })));
}

#[test]
fn minus_one_acks_do_not_count_toward_the_epoch_quorum() {
    let mut o = One::started(cfg(2, 3));
    elect_self(&mut o);
    let outs = o.msg(
        0,
        peer(
            5,
            0,
            Peer::FollowerInfo {
                accepted_epoch: Epoch(0),
            },
        ),
    );
    o.complete_fsync(&outs);
    let outs = o.msg(
        0,
        peer(
            5,
            1,
            Peer::AckEpoch {
                current_epoch: None,
                last_zxid: Zxid::ZERO,
            },
        ),
    );
    assert_eq!(outs, vec![]);
    assert_eq!(o.e().current_epoch(), Epoch(0));
}

#[test]
fn leader_steps_down_when_a_follower_is_ahead() {
    let mut o = One::started(cfg(2, 3));
    elect_self(&mut o);
    let outs = o.msg(
        0,
        peer(
            5,
            0,
            Peer::FollowerInfo {
                accepted_epoch: Epoch(1),
            },
        ),
    );
    o.complete_fsync(&outs);
    let outs = o.msg(
        0,
        peer(
            5,
            1,
            Peer::AckEpoch {
                current_epoch: Some(Epoch(1)),
                last_zxid: z(1, 5),
            },
        ),
    );
    assert_eq!(o.e().state(), ServerState::Looking);
    assert_eq!(
        o.e().last_leave_reason(),
        Some(zab::LeaveReason::FollowerAhead)
    );
    assert_eq!(
        notes(&outs)[..2],
        [
            Note::Repl(Event::State {
                state: ServerState::Looking,
                epoch: Epoch(0)
            }),
            Note::Repl(Event::Phase(Phase::Election))
        ]
    );
    assert!(outs.contains(&Output::CancelTimer { timer: TIMER_TICK }));
}

#[test]
fn leader_without_a_quorum_gives_up_after_init_limit() {
    let mut o = One::started(cfg(2, 3));
    o.at_ms(1000);
    elect_self(&mut o);
    // init_limit = 10 ticks of 200 ms.
    for t in 1..10 {
        o.at_ms(1000 + 200 * t);
        let outs = o.timer(TIMER_TICK);
        assert_eq!(timers_set(&outs), vec![(TIMER_TICK, ms(1200 + 200 * t))]);
        assert_eq!(o.e().state(), ServerState::Leading);
    }
    o.at_ms(3000);
    o.timer(TIMER_TICK);
    assert_eq!(o.e().state(), ServerState::Looking);
    assert_eq!(
        o.e().last_leave_reason(),
        Some(zab::LeaveReason::InitLimitExpired)
    );
}

#[test]
fn follower_retries_on_a_fresh_connection_then_gives_up() {
    let mut o = One::started(cfg(0, 3));
    let first = follow(&mut o, 2);
    o.advance_ms(200);
    let outs = o.timer(TIMER_TICK);
    let second = conn_to(&outs, 2);
    assert_ne!(first, second);
    assert_eq!(
        peer_sends(&outs),
        vec![(
            p(2),
            Peer::FollowerInfo {
                accepted_epoch: Epoch(0)
            }
        )]
    );
    // Messages on the abandoned connection are dropped.
    assert_eq!(
        o.msg(
            2,
            peer(
                first,
                0,
                Peer::LeaderInfo {
                    new_epoch: Epoch(1)
                }
            )
        ),
        vec![]
    );
    for _ in 0..9 {
        o.advance_ms(200);
        o.timer(TIMER_TICK);
    }
    assert_eq!(o.e().state(), ServerState::Looking);
}

#[test]
fn observers_do_not_count_toward_the_discovery_quorum() {
    let c = zab::Config::new(p(2), vec![p(0), p(1), p(2)], vec![p(3)]);
    let mut o = One::started(c);
    elect_self(&mut o);
    assert_eq!(
        o.msg(
            3,
            peer(
                9,
                0,
                Peer::ObserverInfo {
                    accepted_epoch: Epoch(7)
                }
            )
        ),
        vec![]
    );
    // A voter completes the quorum; the observer's epoch still bounds the new epoch.
    let outs = o.msg(
        0,
        peer(
            5,
            0,
            Peer::FollowerInfo {
                accepted_epoch: Epoch(1),
            },
        ),
    );
    assert_eq!(appends(&outs), vec![Record::AcceptedEpoch(Epoch(8))]);
    // An observer may not pose as a follower.
    assert_eq!(
        o.msg(
            3,
            peer(
                10,
                0,
                Peer::FollowerInfo {
                    accepted_epoch: Epoch(0)
                }
            )
        ),
        vec![]
    );
}

#[test]
fn zk_335_planted_epochs_are_not_persisted() {
    let mut c = cfg(2, 3);
    c.bugs.zk_335 = true;
    let mut o = One::started(c);
    elect_self(&mut o);
    let outs = o.msg(
        0,
        peer(
            5,
            0,
            Peer::FollowerInfo {
                accepted_epoch: Epoch(0),
            },
        ),
    );
    assert_eq!(appends(&outs), vec![], "no AcceptedEpoch record");
    assert_eq!(fsyncs(&outs).len(), 1);
}
