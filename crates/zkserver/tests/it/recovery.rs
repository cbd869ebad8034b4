//! Restart: rebuilding epochs, log, snapshot and applied state from durable records.

use std::sync::Arc;

use proto::{Epoch, Output, Zxid};
use replication::Event;
use zab::{ServerState, recover};
use zkserver::{Msg, Note, Txn};

use crate::harness::*;

fn txn(e: u32, c: u32) -> Txn {
    kv_txn(z(e, c), u64::from(c), u64::from(e) * 100, None)
}

fn disk() -> Vec<Record> {
    vec![
        Record::AcceptedEpoch(Epoch(1)),
        Record::CurrentEpoch(Epoch(1)),
        Record::Txn(Arc::new(txn(1, 1))),
        Record::Txn(Arc::new(txn(1, 2))),
        Record::AcceptedEpoch(Epoch(2)),
        Record::CurrentEpoch(Epoch(2)),
        Record::Txn(Arc::new(txn(2, 1))),
    ]
}

#[test]
fn restart_rebuilds_epochs_and_log_and_votes_with_them() {
    for torn_tail in [false, true] {
        let mut o = One::new(cfg(1, 3));
        let outs = o.start(&disk(), torn_tail);
        assert_eq!(o.e().accepted_epoch(), Epoch(2));
        assert_eq!(o.e().current_epoch(), Epoch(2));
        assert_eq!(o.e().last_logged_zxid(), z(2, 1));
        // Nothing is known committed after a restart: applied state is the (empty) snapshot.
        assert_eq!(o.e().last_applied_zxid(), Zxid::ZERO);
        assert_eq!(
            notes(&outs),
            vec![
                Note::Repl(Event::Reset {
                    upto: Zxid::ZERO,
                    history: 0
                }),
                Note::Repl(Event::State {
                    state: ServerState::Looking,
                    epoch: Epoch(2)
                }),
                Note::Repl(Event::Phase(zab::Phase::Election)),
            ]
        );
        let v = notif(1, z(2, 1), 1, ServerState::Looking, 1, 2);
        assert_eq!(sends(&outs), vec![(p(0), v.clone()), (p(2), v)]);
        // The log digest is cumulative and comparable with a fresh log.
        let mut l = TxnLog::new();
        for t in [txn(1, 1), txn(1, 2), txn(2, 1)] {
            l.append(t);
        }
        assert_eq!(o.e().log_digest_at(z(2, 1)), l.digest_at(z(2, 1)));
        assert_eq!(o.e().log_digest_at(z(1, 3)), None);
    }
}

#[test]
fn truncate_and_snapshot_records_replay() {
    let mut r = disk();
    r.push(Record::Truncate { to: z(1, 2) });
    let img = recover(&r);
    assert_eq!(img.log.last_zxid(), z(1, 2));
    // The epochs survive the cut.
    assert_eq!(img.current_epoch, Epoch(2));

    let mut l = TxnLog::new();
    l.append(txn(1, 1));
    l.append(txn(1, 2));
    let snap = Arc::new(Snapshot {
        zxid: z(1, 2),
        history: l.digest_at(z(1, 2)).unwrap(),
        state: state_of(&[txn(1, 1), txn(1, 2)]),
    });
    let mut r = disk();
    r.push(Record::Snapshot {
        snapshot: Arc::clone(&snap),
        trim_to: z(1, 1),
    });
    let mut o = One::new(cfg(0, 3));
    let outs = o.start(&r, false);
    assert_eq!(
        notes(&outs)[0],
        Note::Repl(Event::Reset {
            upto: z(1, 2),
            history: snap.history
        })
    );
    assert_eq!(o.e().last_applied_zxid(), z(1, 2));
    assert_eq!(kv_read(&o.s, 2), Some(100));
    assert_eq!(o.e().log().base_zxid(), z(1, 1));
    assert_eq!(o.e().log_digest_at(z(1, 1)), l.digest_at(z(1, 1)));
    assert_eq!(o.e().last_logged_zxid(), z(2, 1));

    let mut r = disk();
    r.push(Record::InstallSnapshot(Arc::clone(&snap)));
    let img = recover(&r);
    assert_eq!(img.log.base_zxid(), z(1, 2));
    assert_eq!(img.log.last_zxid(), z(1, 2));
}

#[test]
fn a_lost_epoch_record_is_bounded_below_by_the_log() {
    // The txn of epoch 3 reached the disk, the CurrentEpoch record did not.
    let mut r = disk();
    r.push(Record::Txn(Arc::new(txn(3, 1))));
    let img = recover(&r);
    assert_eq!(img.current_epoch, Epoch(3));
    assert_eq!(img.accepted_epoch, Epoch(3));
}

#[test]
fn a_restarted_leader_delivers_its_log_once_established() {
    let mut o = One::new(cfg(2, 3));
    o.start(&disk(), false);
    elect_self(&mut o);
    let links = establish(&mut o, &[0, 1]);
    let _ = links;
    assert_eq!(o.e().last_applied_zxid(), z(2, 1));
    assert_eq!(o.e().committed_zxid(), z(2, 1));
    assert_eq!(
        o.e().applied_history(),
        o.e().log_digest_at(z(2, 1)).unwrap()
    );
    assert_eq!(o.e().current_epoch(), Epoch(3));
}

#[test]
fn establishing_notes_the_initial_history_as_committed_and_delivered() {
    let mut o = One::new(cfg(2, 3));
    o.start(&disk(), false);
    elect_self(&mut o);
    let mut l = Link {
        sid: 0,
        conn: 4,
        out_seq: 0,
    };
    let outs = o.msg(
        0,
        l.next(Peer::FollowerInfo {
            accepted_epoch: Epoch(0),
        }),
    );
    o.complete_fsync(&outs);
    let outs = o.msg(
        0,
        l.next(Peer::AckEpoch {
            current_epoch: Some(Epoch(0)),
            last_zxid: Zxid::ZERO,
        }),
    );
    o.complete_fsync(&outs);
    let outs = o.msg(0, l.next(Peer::AckNewLeader { epoch: Epoch(3) }));
    let ns = notes(&outs);
    assert_eq!(ns[0], Note::Repl(Event::Established { epoch: Epoch(3) }));
    assert_eq!(ns[1], Note::Repl(Event::Phase(zab::Phase::Broadcast)));
    assert_eq!(
        &ns[2..5],
        &[
            Note::Repl(Event::Committed { zxid: z(1, 1) }),
            Note::Repl(Event::Committed { zxid: z(1, 2) }),
            Note::Repl(Event::Committed { zxid: z(2, 1) })
        ]
    );
    assert_eq!(
        &ns[5..],
        &[
            Note::Repl(Event::Delivered {
                zxid: z(1, 1),
                digest: txn(1, 1).digest
            }),
            Note::Repl(Event::Delivered {
                zxid: z(1, 2),
                digest: txn(1, 2).digest
            }),
            Note::Repl(Event::Delivered {
                zxid: z(2, 1),
                digest: txn(2, 1).digest
            }),
        ]
    );
    assert!(matches!(
        outs.last(),
        Some(Output::Send {
            msg: Msg::Zab(Wire::Peer {
                body: Peer::UpToDate,
                ..
            }),
            ..
        })
    ));
}

#[test]
#[should_panic(expected = "on_start called twice")]
fn starting_twice_is_a_bug() {
    let mut o = One::new(cfg(0, 3));
    o.start(&[], false);
    o.start(&[], false);
}

#[test]
fn inputs_before_start_are_ignored() {
    let mut o = One::new(cfg(0, 3));
    assert_eq!(
        o.msg(1, notif(1, Zxid::ZERO, 1, ServerState::Looking, 1, 0)),
        vec![]
    );
    assert_eq!(o.timer(zab::TIMER_TICK), vec![]);
}
