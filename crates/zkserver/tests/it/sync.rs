//! Synchronization: the DIFF / TRUNC / SNAP choice (pure and on the wire), the follower's
//! durability order before its NEWLEADER ACK, TRUNC and SNAP on the follower.

use std::sync::Arc;

use proto::{Epoch, Output, Zxid};
use replication::Event;
use zab::{Phase, SyncPlan, plan_sync};
use zkserver::{Msg, Note, Txn};

use crate::harness::*;

fn txn(e: u32, c: u32) -> Txn {
    kv_txn(z(e, c), u64::from(c), u64::from(e), None)
}

fn log_of(txns: &[Txn]) -> TxnLog {
    let mut l = TxnLog::new();
    for t in txns {
        l.append(t.clone());
    }
    l
}

#[test]
fn plan_sync_chooses_diff_trunc_or_snap() {
    let l = log_of(&[txn(1, 1), txn(1, 2), txn(2, 1)]);
    let last = z(2, 1);
    // The follower has a prefix: DIFF from its last zxid.
    assert_eq!(
        plan_sync(&l, z(1, 1), last, false),
        SyncPlan::Diff { from: z(1, 1) }
    );
    assert_eq!(
        plan_sync(&l, Zxid::ZERO, last, false),
        SyncPlan::Diff { from: Zxid::ZERO }
    );
    assert_eq!(
        plan_sync(&l, last, last, false),
        SyncPlan::Diff { from: last }
    );
    // The follower is ahead: cut back to our last.
    assert_eq!(
        plan_sync(&l, z(2, 5), last, false),
        SyncPlan::Trunc { to: last }
    );
    // The follower holds a txn we never saw (1,3): cut to the last common zxid, then DIFF.
    assert_eq!(
        plan_sync(&l, z(1, 3), last, false),
        SyncPlan::Trunc { to: z(1, 2) }
    );
    // ZOOKEEPER-1154 planted: DIFF without TRUNC.
    assert_eq!(
        plan_sync(&l, z(1, 3), last, true),
        SyncPlan::Diff { from: z(1, 3) }
    );
    // A trimmed log: behind the window means SNAP.
    let mut t = l.clone();
    t.trim_through(z(1, 2));
    assert_eq!(plan_sync(&t, z(1, 1), last, false), SyncPlan::Snap);
    assert_eq!(
        plan_sync(&t, z(1, 2), last, false),
        SyncPlan::Diff { from: z(1, 2) }
    );
    // Observers sync only up to the commit point.
    assert_eq!(
        plan_sync(&l, z(2, 1), z(1, 2), false),
        SyncPlan::Trunc { to: z(1, 2) }
    );
}

/// A leader (sid 2 of 3) restarted from `records`, elected, syncing follower 0 whose
/// ACKEPOCH reports (`ce`, `peer_last`). Returns the leader and the sync stream sent to 0.
fn leader_syncing(
    records: &[Record],
    ce: u32,
    peer_last: Zxid,
    bugs: zab::Bugs,
) -> (One, Vec<Peer>) {
    let mut c = cfg(2, 3);
    c.bugs = bugs;
    let mut o = One::new(c);
    o.start(records, false);
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
                current_epoch: Some(Epoch(ce)),
                last_zxid: peer_last,
            },
        ),
    );
    let outs = o.complete_fsync(&outs);
    let stream = peer_sends(&outs).into_iter().map(|(to, b)| {
        assert_eq!(to, p(0));
        b
    });
    (o, stream.collect())
}

fn records(epoch: u32, txns: &[Txn]) -> Vec<Record> {
    let mut r = vec![
        Record::AcceptedEpoch(Epoch(epoch)),
        Record::CurrentEpoch(Epoch(epoch)),
    ];
    r.extend(txns.iter().cloned().map(|t| Record::Txn(Arc::new(t))));
    r
}

#[test]
fn leader_sends_a_diff_with_proposal_commit_pairs() {
    let t = [txn(1, 1), txn(1, 2), txn(1, 3)];
    let (o, stream) = leader_syncing(&records(1, &t), 1, z(1, 1), Default::default());
    assert_eq!(
        stream,
        vec![
            Peer::Diff {
                last_zxid: z(1, 3),
                committed_zxid: z(1, 3)
            },
            Peer::proposal(t[1].clone()),
            Peer::Commit { zxid: z(1, 2) },
            Peer::proposal(t[2].clone()),
            Peer::Commit { zxid: z(1, 3) },
            Peer::NewLeader {
                epoch: Epoch(2),
                last_zxid: z(1, 3)
            },
        ]
    );
    assert_eq!(o.e().phase(), Phase::Synchronization);
}

#[test]
fn leader_truncates_a_follower_ahead_of_it() {
    let t = [txn(1, 1), txn(1, 2), txn(1, 3)];
    // Leader at epoch 2 (established, proposed nothing); the follower still has an
    // uncommitted (1,5) from epoch 1 and current epoch 1: not "ahead" by (epoch, zxid).
    let (_, stream) = leader_syncing(&records(2, &t), 1, z(1, 5), Default::default());
    assert_eq!(
        stream,
        vec![
            Peer::Trunc {
                to: z(1, 3),
                committed_zxid: z(1, 3)
            },
            Peer::NewLeader {
                epoch: Epoch(3),
                last_zxid: z(1, 3)
            },
        ]
    );
}

#[test]
fn leader_truncates_a_divergent_follower_then_diffs() {
    let t = [txn(1, 1), txn(1, 2), txn(2, 1)];
    let (_, stream) = leader_syncing(&records(2, &t), 1, z(1, 3), Default::default());
    assert_eq!(
        stream,
        vec![
            Peer::Trunc {
                to: z(1, 2),
                committed_zxid: z(2, 1)
            },
            Peer::proposal(t[2].clone()),
            Peer::Commit { zxid: z(2, 1) },
            Peer::NewLeader {
                epoch: Epoch(3),
                last_zxid: z(2, 1)
            },
        ]
    );
    // ZOOKEEPER-1154 planted: the divergent (1,3) is kept.
    let bugs = zab::Bugs {
        zk_1154: true,
        ..Default::default()
    };
    let (_, stream) = leader_syncing(&records(2, &t), 1, z(1, 3), bugs);
    assert_eq!(
        stream[0],
        Peer::Diff {
            last_zxid: z(2, 1),
            committed_zxid: z(2, 1)
        }
    );
}

#[test]
fn leader_sends_a_snapshot_to_a_follower_behind_its_window() {
    let t: Vec<Txn> = (1..=6).map(|c| txn(1, c)).collect();
    let full = log_of(&t);
    let snap = Arc::new(Snapshot {
        zxid: z(1, 4),
        history: full.digest_at(z(1, 4)).unwrap(),
        state: state_of(&t[..4]),
    });
    let mut r = records(1, &t);
    r.push(Record::Snapshot {
        snapshot: Arc::clone(&snap),
        trim_to: z(1, 3),
    });
    let (o, stream) = leader_syncing(&r, 0, Zxid::ZERO, Default::default());
    assert_eq!(o.e().log().base_zxid(), z(1, 3));
    assert_eq!(
        stream,
        vec![
            Peer::Snap { snapshot: snap },
            Peer::proposal(t[4].clone()),
            Peer::Commit { zxid: z(1, 5) },
            Peer::proposal(t[5].clone()),
            Peer::Commit { zxid: z(1, 6) },
            Peer::NewLeader {
                epoch: Epoch(2),
                last_zxid: z(1, 6)
            },
        ]
    );
}

/// A follower (sid 0) that accepted epoch 1 from leader 2 and awaits sync.
fn follower_awaiting_sync(records: &[Record]) -> (One, Link) {
    let mut o = One::new(cfg(0, 3));
    o.start(records, false);
    let conn = follow(&mut o, 2);
    let mut l = Link {
        sid: 2,
        conn,
        out_seq: 0,
    };
    let outs = o.msg(
        2,
        l.next(Peer::LeaderInfo {
            new_epoch: Epoch(2),
        }),
    );
    o.complete_fsync(&outs);
    (o, l)
}

#[test]
fn follower_makes_synced_txns_then_its_epoch_durable_before_acking_newleader() {
    let (mut o, mut l) = follower_awaiting_sync(&[]);
    let t = txn(1, 1);
    let outs = o.msg(
        2,
        l.next(Peer::Diff {
            last_zxid: z(1, 1),
            committed_zxid: z(1, 1),
        }),
    );
    assert_eq!(
        outs,
        vec![Output::Note(Note::Repl(Event::Phase(
            Phase::Synchronization
        )))]
    );
    let outs = o.msg(2, l.next(Peer::proposal(t.clone())));
    assert_eq!(
        outs,
        vec![Output::Append {
            record: Record::Txn(Arc::new(t.clone()))
        }],
        "no ACK in sync"
    );
    assert_eq!(o.msg(2, l.next(Peer::Commit { zxid: z(1, 1) })), vec![]);
    // NEWLEADER: first the txns are fsynced ...
    let outs = o.msg(
        2,
        l.next(Peer::NewLeader {
            epoch: Epoch(2),
            last_zxid: z(1, 1),
        }),
    );
    let w1 = fsyncs(&outs)[0];
    assert_eq!(outs, vec![Output::Fsync { write: w1 }]);
    // ... then the current epoch is written and fsynced ...
    let outs = o.disk_done(w1);
    let w2 = fsyncs(&outs)[0];
    assert_eq!(
        outs,
        vec![
            Output::Append {
                record: Record::CurrentEpoch(Epoch(2))
            },
            Output::Fsync { write: w2 }
        ]
    );
    assert_eq!(o.e().current_epoch(), Epoch(0));
    // ... and only then the NEWLEADER ACK.
    let outs = o.disk_done(w2);
    assert_eq!(
        outs,
        vec![
            Output::Send {
                to: p(2),
                msg: peer(l.conn, 2, Peer::AckNewLeader { epoch: Epoch(2) })
            },
            Output::Note(Note::Repl(Event::Synced {
                leader: p(2),
                epoch: Epoch(2),
                last_zxid: z(1, 1)
            })),
        ]
    );
    assert_eq!(o.e().current_epoch(), Epoch(2));
    // Nothing is delivered before UPTODATE.
    assert_eq!(o.e().last_applied_zxid(), Zxid::ZERO);
    let outs = o.msg(2, l.next(Peer::UpToDate));
    assert_eq!(
        outs,
        vec![
            Output::Note(Note::Repl(Event::Phase(Phase::Broadcast))),
            Output::Note(Note::Repl(Event::Delivered {
                zxid: z(1, 1),
                digest: t.digest
            })),
        ]
    );
    assert!(o.s.is_serving());
}

#[test]
fn proposal_acks_wait_for_the_newleader_ack() {
    let (mut o, mut l) = follower_awaiting_sync(&[]);
    o.msg(
        2,
        l.next(Peer::Diff {
            last_zxid: Zxid::ZERO,
            committed_zxid: Zxid::ZERO,
        }),
    );
    let outs = o.msg(
        2,
        l.next(Peer::NewLeader {
            epoch: Epoch(2),
            last_zxid: Zxid::ZERO,
        }),
    );
    let w1 = fsyncs(&outs)[0];
    // A live proposal arrives while the sync is being persisted.
    let t = txn(2, 1);
    let outs = o.msg(2, l.next(Peer::proposal(t.clone())));
    assert_eq!(appends(&outs), vec![Record::Txn(Arc::new(t))]);
    assert_eq!(fsyncs(&outs), vec![], "batched behind the fsync in flight");
    let outs = o.disk_done(w1);
    let w2 = fsyncs(&outs)[0];
    let outs = o.disk_done(w2);
    // The NEWLEADER ACK goes out before the proposal's ACK.
    let bodies: Vec<Peer> = peer_sends(&outs).into_iter().map(|(_, b)| b).collect();
    assert_eq!(
        bodies,
        vec![
            Peer::AckNewLeader { epoch: Epoch(2) },
            Peer::Ack { zxid: z(2, 1) }
        ]
    );
}

#[test]
fn follower_truncates_its_uncommitted_tail() {
    let t = [txn(1, 1), txn(1, 2), txn(1, 3)];
    let (mut o, mut l) = follower_awaiting_sync(&records(1, &t));
    let before = o.e().log_digest_at(z(1, 1));
    let outs = o.msg(
        2,
        l.next(Peer::Trunc {
            to: z(1, 1),
            committed_zxid: z(1, 1),
        }),
    );
    assert_eq!(
        outs,
        vec![
            Output::Append {
                record: Record::Truncate { to: z(1, 1) }
            },
            Output::Note(Note::Repl(Event::Truncated {
                after: z(1, 1),
                removed: [z(1, 2), z(1, 3)].into()
            })),
            Output::Note(Note::Repl(Event::Phase(Phase::Synchronization))),
        ]
    );
    assert_eq!(o.e().last_logged_zxid(), z(1, 1));
    assert_eq!(o.e().log_digest_at(z(1, 1)), before);
    assert_eq!(o.e().log_digest_at(z(1, 2)), None);
}

#[test]
fn follower_installs_a_snapshot() {
    let t = [txn(1, 1)];
    let (mut o, mut l) = follower_awaiting_sync(&records(1, &t));
    let snap = Arc::new(Snapshot {
        zxid: z(1, 9),
        history: 1234,
        state: state_of(&[kv_txn(z(1, 9), 5, 6, None)]),
    });
    let outs = o.msg(
        2,
        l.next(Peer::Snap {
            snapshot: Arc::clone(&snap),
        }),
    );
    assert_eq!(
        outs,
        vec![
            Output::Append {
                record: Record::InstallSnapshot(Arc::clone(&snap))
            },
            Output::Note(Note::Repl(Event::Reset {
                upto: z(1, 9),
                history: 1234
            })),
            Output::Note(Note::Repl(Event::Phase(Phase::Synchronization))),
        ]
    );
    assert_eq!(o.e().last_applied_zxid(), z(1, 9));
    assert_eq!(o.e().applied_history(), 1234);
    assert_eq!(kv_read(&o.s, 5), Some(6));
    assert_eq!(o.e().log_digest_at(z(1, 1)), None);
    assert_eq!(o.e().log_digest_at(z(1, 9)), Some(1234));
}

#[test]
fn a_sync_stream_out_of_order_breaks_the_connection() {
    let (mut o, mut l) = follower_awaiting_sync(&[]);
    // PROPOSAL before DIFF / TRUNC / SNAP.
    o.msg(2, l.next(Peer::proposal(txn(1, 1))));
    assert_eq!(o.e().state(), zab::ServerState::Looking);
    assert_eq!(
        o.e().last_leave_reason(),
        Some(zab::LeaveReason::UnexpectedLeaderMessage)
    );
}

#[test]
fn zk_3911_planted_acks_newleader_before_durability() {
    let mut c = cfg(0, 3);
    c.bugs.zk_3911 = true;
    let mut o = One::started(c);
    let conn = follow(&mut o, 2);
    let mut l = Link {
        sid: 2,
        conn,
        out_seq: 0,
    };
    let outs = o.msg(
        2,
        l.next(Peer::LeaderInfo {
            new_epoch: Epoch(1),
        }),
    );
    o.complete_fsync(&outs);
    o.msg(
        2,
        l.next(Peer::Diff {
            last_zxid: Zxid::ZERO,
            committed_zxid: Zxid::ZERO,
        }),
    );
    let outs = o.msg(
        2,
        l.next(Peer::NewLeader {
            epoch: Epoch(1),
            last_zxid: Zxid::ZERO,
        }),
    );
    assert!(peer_sends(&outs).contains(&(p(2), Peer::AckNewLeader { epoch: Epoch(1) })));
}

#[test]
fn zk_2355_planted_claims_the_diff_end_after_a_broken_sync() {
    let mut c = cfg(0, 3);
    c.bugs.zk_2355 = true;
    let mut o = One::started(c);
    let conn = follow(&mut o, 2);
    let mut l = Link {
        sid: 2,
        conn,
        out_seq: 0,
    };
    let outs = o.msg(
        2,
        l.next(Peer::LeaderInfo {
            new_epoch: Epoch(1),
        }),
    );
    o.complete_fsync(&outs);
    o.msg(
        2,
        l.next(Peer::Diff {
            last_zxid: z(1, 7),
            committed_zxid: z(1, 7),
        }),
    );
    // The connection breaks mid-DIFF (a gap).
    l.out_seq += 1;
    o.msg(2, l.next(ping(&[])));
    assert_eq!(o.e().state(), zab::ServerState::Looking);
    // The next election (and ACKEPOCH) claims txns it never received.
    let conn = follow(&mut o, 2);
    let mut l = Link {
        sid: 2,
        conn,
        out_seq: 0,
    };
    let outs = o.msg(
        2,
        l.next(Peer::LeaderInfo {
            new_epoch: Epoch(1),
        }),
    );
    assert_eq!(
        peer_sends(&outs),
        vec![(
            p(2),
            Peer::AckEpoch {
                current_epoch: None,
                last_zxid: z(1, 7)
            }
        )]
    );
    assert_eq!(o.e().last_logged_zxid(), Zxid::ZERO);
}

/// Leader 4 of 5 with followers 0, 1 and 2 through discovery, syncing (NEWLEADER sent),
/// and the test's links for them.
fn leader_awaiting_newleader_acks() -> (One, Vec<Link>) {
    let mut o = One::started(cfg(4, 5));
    elect_self(&mut o);
    let mut links = fresh_links(&[0, 1, 2]);
    let mut pending = Vec::new();
    for l in links.iter_mut() {
        let info = l.next(Peer::FollowerInfo {
            accepted_epoch: Epoch(0),
        });
        pending.extend(o.msg(l.sid, info));
    }
    o.complete_fsync(&pending);
    let mut pending = Vec::new();
    for l in links.iter_mut() {
        let ack = l.next(Peer::AckEpoch {
            current_epoch: Some(o.e().current_epoch()),
            last_zxid: Zxid::ZERO,
        });
        pending.extend(o.msg(l.sid, ack));
    }
    o.complete_fsync(&pending);
    assert!(!o.e().is_established_leader());
    (o, links)
}

#[test]
fn a_newleader_ack_on_a_connection_that_broke_no_longer_counts() {
    let (mut o, mut links) = leader_awaiting_newleader_acks();
    let epoch = o.e().current_epoch();
    o.msg(0, links[0].next(Peer::AckNewLeader { epoch }));
    // Follower 0's connection breaks (a reset: a message past a gap); it may be joining a
    // newer epoch now, so its ack is no promise any more.
    links[0].out_seq += 1;
    o.msg(0, links[0].next(ping(&[])));
    o.msg(1, links[1].next(Peer::AckNewLeader { epoch }));
    assert!(
        !o.e().is_established_leader(),
        "established on the leader, 1 and a stale ack of 0: 3 of 5 counted, 2 live"
    );
    let outs = o.msg(2, links[2].next(Peer::AckNewLeader { epoch }));
    assert!(o.e().is_established_leader());
    assert!(notes(&outs).contains(&Note::Repl(Event::Established { epoch })));
}

#[test]
fn a_learner_that_leaves_closes_its_connection_to_the_leader() {
    let mut o = One::started(cfg(0, 3));
    let link = synced_follower(&mut o, 1, 1);
    // The leader goes quiet past the sync limit: the follower leaves for an election and
    // closes its connection (a reset the leader sees as a gap), as a socket close would.
    o.advance_ms(60_000);
    let outs = o.timer(zab::TIMER_TICK);
    assert!(!o.s.is_serving());
    let to_leader: Vec<Msg> = sends(&outs)
        .into_iter()
        .filter(|(to, m)| *to == p(1) && matches!(m, Msg::Zab(Wire::Peer { .. })))
        .map(|(_, m)| m)
        .collect();
    assert_eq!(to_leader.len(), 1, "{to_leader:?}");
    let Msg::Zab(Wire::Peer { conn, seq, .. }) = &to_leader[0] else {
        unreachable!()
    };
    assert_eq!(*conn, link.conn);
    assert!(*seq > 0, "past the next sequence number: a gap");
}

#[test]
fn newleader_acks_read_after_init_limit_do_not_establish() {
    let (mut o, mut links) = leader_awaiting_newleader_acks();
    let epoch = o.e().current_epoch();
    // The leader was paused past initLimit (10 ticks of 200 ms); the acks waited in its
    // buffers. ZooKeeper's leader stops waiting at initLimit, so they establish nothing.
    o.advance_ms(2_500);
    o.msg(0, links[0].next(Peer::AckNewLeader { epoch }));
    o.msg(1, links[1].next(Peer::AckNewLeader { epoch }));
    assert!(!o.e().is_established_leader());
    o.timer(zab::TIMER_TICK);
    assert!(!o.s.is_serving());
    assert!(
        matches!(o.e().state(), zab::ServerState::Looking),
        "{:?}",
        o.e().state()
    );
}
