//! Fast leader election, one server at a time.

use proto::{Output, Zxid};
use replication::Event;
use zab::{ServerState, TIMER_FINALIZE, TIMER_NOTIFY, TIMER_TICK};
use zkserver::Note;

use crate::harness::*;

use ServerState::{Following, Leading, Looking};

#[test]
fn start_sends_own_vote_to_every_other_voter() {
    let mut s = One::new(cfg(1, 3));
    let outs = s.start(&[], false);
    let v = notif(1, Zxid::ZERO, 1, Looking, 1, 0);
    assert_eq!(
        outs,
        vec![
            Output::Note(Note::Repl(Event::Reset {
                upto: Zxid::ZERO,
                history: 0
            })),
            Output::Note(Note::Repl(Event::State {
                state: Looking,
                epoch: proto::Epoch(0)
            })),
            Output::Note(Note::Repl(Event::Phase(zab::Phase::Election))),
            Output::CancelTimer {
                timer: TIMER_FINALIZE
            },
            Output::Send {
                to: p(0),
                msg: v.clone()
            },
            Output::Send { to: p(2), msg: v },
            Output::SetTimer {
                timer: TIMER_NOTIFY,
                at: ms(200)
            },
        ]
    );
}

#[test]
fn equal_epoch_better_vote_switches_and_broadcasts_then_waits_to_finalize() {
    let mut s = One::started(cfg(0, 3));
    s.at_ms(10);
    let outs = s.msg(2, notif(2, Zxid::ZERO, 1, Looking, 2, 0));
    let v = notif(2, Zxid::ZERO, 1, Looking, 0, 0);
    assert_eq!(
        outs,
        vec![
            Output::Send {
                to: p(1),
                msg: v.clone()
            },
            Output::Send { to: p(2), msg: v },
            // {0, 2} agree on 2: a quorum of 3; wait finalize_wait for a better vote.
            Output::SetTimer {
                timer: TIMER_FINALIZE,
                at: ms(210)
            },
        ]
    );
}

#[test]
fn equal_epoch_worse_vote_changes_nothing() {
    let mut s = One::started(cfg(2, 3));
    let outs = s.msg(0, notif(0, Zxid::ZERO, 1, Looking, 0, 0));
    assert_eq!(outs, vec![]);
}

#[test]
fn vote_order_is_epoch_then_zxid_then_sid() {
    let mut s = One::started(cfg(0, 3));
    // Larger zxid with lower sid beats ours.
    let outs = s.msg(1, notif(1, z(0, 5), 1, Looking, 1, 0));
    assert_eq!(sends(&outs).len(), 2);
    // Lower epoch with huge zxid loses to (epoch 1, zxid 0) — sid 2's own vote here.
    let mut s = One::started(cfg(2, 3));
    let outs = s.msg(0, notif(0, z(0, 99), 1, Looking, 0, 0));
    assert_eq!(sends(&outs).len(), 2, "a larger zxid wins when epochs tie");
    let outs = s.msg(1, notif(1, z(0, 1), 1, Looking, 1, 1));
    let got = sends(&outs);
    assert_eq!(got.len(), 2, "a larger peer epoch wins");
    assert_eq!(got[0].1, notif(1, z(0, 1), 1, Looking, 2, 1));
}

#[test]
fn higher_election_epoch_is_adopted_and_votes_are_reset() {
    let mut s = One::started(cfg(2, 3));
    // A worse vote with a larger electionEpoch: adopt the epoch, re-vote for ourselves.
    let outs = s.msg(0, notif(0, Zxid::ZERO, 5, Looking, 0, 0));
    let v = notif(2, Zxid::ZERO, 5, Looking, 2, 0);
    assert_eq!(
        outs,
        vec![
            Output::Send {
                to: p(0),
                msg: v.clone()
            },
            Output::Send { to: p(1), msg: v },
        ]
    );
    assert_eq!(s.e().election_epoch(), 5);
    // A better vote with a larger electionEpoch: adopt both.
    let outs = s.msg(1, notif(1, z(0, 3), 7, Looking, 1, 0));
    let v = notif(1, z(0, 3), 7, Looking, 2, 0);
    assert_eq!(sends(&outs), vec![(p(0), v.clone()), (p(1), v)]);
    // {1, 2} now agree in round 7: finalize timer.
    assert!(timers_set(&outs).iter().any(|(t, _)| *t == TIMER_FINALIZE));
}

#[test]
fn lower_election_epoch_is_ignored_but_answered() {
    let mut s = One::started(cfg(0, 5));
    s.msg(1, notif(1, Zxid::ZERO, 4, Looking, 1, 0));
    assert_eq!(s.e().election_epoch(), 4);
    let outs = s.msg(2, notif(2, z(0, 9), 2, Looking, 2, 0));
    // The sender is told our current round; our vote does not change.
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(2),
            msg: notif(1, Zxid::ZERO, 4, Looking, 0, 0)
        }]
    );
}

#[test]
fn finalize_wait_then_decide_follow() {
    let mut s = One::started(cfg(0, 3));
    s.msg(2, notif(2, Zxid::ZERO, 1, Looking, 2, 0));
    s.at_ms(200);
    let outs = s.timer(TIMER_FINALIZE);
    let conn = conn_to(&outs, 2);
    assert_eq!(
        notes(&outs),
        vec![
            Note::Repl(Event::ElectionDone {
                leader: p(2),
                election_epoch: 1
            }),
            Note::Repl(Event::State {
                state: Following,
                epoch: proto::Epoch(0)
            }),
            Note::Repl(Event::Phase(zab::Phase::Discovery)),
        ]
    );
    assert_eq!(
        effects(&outs),
        vec![
            Output::CancelTimer {
                timer: TIMER_NOTIFY
            },
            Output::CancelTimer {
                timer: TIMER_FINALIZE
            },
            Output::Send {
                to: p(2),
                msg: peer(
                    conn,
                    0,
                    Peer::FollowerInfo {
                        accepted_epoch: proto::Epoch(0)
                    }
                )
            },
            Output::SetTimer {
                timer: TIMER_TICK,
                at: ms(400)
            },
        ]
    );
    assert_eq!(s.e().state(), Following);
    assert_eq!(s.e().leader(), Some(p(2)));
}

#[test]
fn finalize_wait_is_cancelled_by_a_better_vote_only() {
    let mut s = One::started(cfg(0, 5));
    s.msg(3, notif(3, Zxid::ZERO, 1, Looking, 3, 0));
    s.msg(1, notif(3, Zxid::ZERO, 1, Looking, 1, 0));
    // {0, 1, 3} agree on 3: finalizing. A worse vote is consumed silently.
    assert_eq!(s.msg(2, notif(2, Zxid::ZERO, 1, Looking, 2, 0)), vec![]);
    // A better one reopens the election.
    let outs = s.msg(4, notif(4, Zxid::ZERO, 1, Looking, 4, 0));
    assert_eq!(
        outs[0],
        Output::CancelTimer {
            timer: TIMER_FINALIZE
        }
    );
    assert_eq!(sends(&outs).len(), 4);
    // Finalize fired late (stale) does nothing.
    assert_eq!(s.timer(TIMER_FINALIZE), vec![]);
    assert_eq!(s.e().state(), Looking);
}

#[test]
fn single_voter_elects_itself_and_leads() {
    let mut s = One::started(cfg(0, 1));
    let outs = s.timer(TIMER_FINALIZE);
    assert_eq!(s.e().state(), Leading);
    // Its own FOLLOWERINFO quorum: a new epoch is made durable.
    assert_eq!(appends(&outs), vec![Record::AcceptedEpoch(proto::Epoch(1))]);
}

#[test]
fn decided_server_answers_looking_servers_with_its_vote() {
    let mut s = One::started(cfg(0, 3));
    s.msg(2, notif(2, Zxid::ZERO, 1, Looking, 2, 0));
    s.timer(TIMER_FINALIZE);
    assert_eq!(s.e().state(), Following);
    let outs = s.msg(1, notif(1, Zxid::ZERO, 3, Looking, 1, 0));
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(1),
            msg: notif(2, Zxid::ZERO, 1, Following, 0, 0)
        }]
    );
    // Decided servers do not answer decided servers.
    assert_eq!(s.msg(1, notif(2, Zxid::ZERO, 1, Following, 1, 0)), vec![]);
}

#[test]
fn looking_server_joins_an_established_leader() {
    let mut s = One::started(cfg(0, 3));
    // The leader's own notification alone is not a quorum.
    assert_eq!(s.msg(2, notif(2, z(1, 4), 6, Leading, 2, 1)), vec![]);
    let outs = s.msg(1, notif(2, z(1, 4), 6, Following, 1, 1));
    assert_eq!(
        notes(&outs)[0],
        Note::Repl(Event::ElectionDone {
            leader: p(2),
            election_epoch: 6
        })
    );
    assert_eq!(s.e().state(), Following);
    assert_eq!(s.e().election_epoch(), 6);
}

#[test]
fn followers_without_their_leader_are_not_joined() {
    let mut s = One::started(cfg(0, 5));
    s.msg(1, notif(4, z(1, 4), 6, Following, 1, 1));
    s.msg(2, notif(4, z(1, 4), 6, Following, 2, 1));
    s.msg(3, notif(4, z(1, 4), 6, Following, 3, 1));
    assert_eq!(s.e().state(), Looking, "no LEADING notification from 4");
}

#[test]
fn notification_timeout_doubles_up_to_the_max() {
    let mut c = cfg(0, 3);
    c.notify_timeout_ms_max = 1000;
    let mut s = One::started(c);
    let mut expect = [400u64, 800, 1000, 1000].into_iter();
    for _ in 0..4 {
        let outs = s.timer(TIMER_NOTIFY);
        assert_eq!(sends(&outs).len(), 2, "re-sent");
        let (_, at) = timers_set(&outs)[0];
        assert_eq!(at, ms(expect.next().unwrap()));
    }
}

#[test]
fn observer_never_votes_but_learns_the_leader() {
    let c = zab::Config::new(p(3), vec![p(0), p(1), p(2)], vec![p(3)]);
    let mut s = One::new(c);
    let outs = s.start(&[], false);
    // It asks the voters.
    assert_eq!(sends(&outs).len(), 3);
    // A voter answering an observer just replies, whatever it is doing.
    let mut v = One::started(zab::Config::new(p(0), vec![p(0), p(1), p(2)], vec![p(3)]));
    let outs = v.msg(3, notif(3, Zxid::ZERO, 1, Looking, 3, 0));
    assert_eq!(
        outs,
        vec![Output::Send {
            to: p(3),
            msg: notif(0, Zxid::ZERO, 1, Looking, 0, 0)
        }]
    );
    // The observer joins a leader confirmed by a quorum.
    s.msg(0, notif(2, z(1, 1), 3, Following, 0, 1));
    let outs = s.msg(2, notif(2, z(1, 1), 3, Leading, 2, 1));
    assert_eq!(s.e().state(), ServerState::Observing);
    assert!(matches!(
        peer_sends(&outs)[0],
        (to, Peer::ObserverInfo { .. }) if to == p(2)
    ));
}

#[test]
fn zk_1419_vote_order_is_not_transitive() {
    // (epoch 1, zxid 5, sid 0) vs (epoch 0, zxid 5, sid 2): the buggy order lets the lower
    // epoch win on the sid tie-break.
    let mut c = cfg(0, 3);
    c.bugs.zk_1419 = true;
    let mut s = One::new(c);
    let rec = [
        Record::CurrentEpoch(proto::Epoch(1)),
        Record::Txn(kv_txn(z(1, 5), 1, 1, None).into()),
    ];
    s.start(&rec, false);
    let outs = s.msg(2, notif(2, z(1, 5), 1, Looking, 2, 0));
    assert_eq!(
        sends(&outs).len(),
        2,
        "the buggy order switched to a lower-epoch vote"
    );
}
