//! The Multi-Paxos engine driven by hand, three servers: an election, pipelined commits,
//! recovery after a crash, re-proposal of the highest-ballot value, a gap filled with a
//! no-op, catch-up of a lagging learner, a refused lower ballot and a no-op barrier — with
//! the exact sends, records, events and host commands.

mod common;

use common::{
    A, ALL, B, BA, BB, BC, C, Cluster, PaxosCluster, R, Seen, Tag, V, W, a_stands_again_with_b,
    accept, accepts_to, led_by_a, report, slot_one_lost_then_b_stands, two_proposers, v, z,
};
use paxos::{Bugs, Value, Wire};
use proto::Zxid;
use replication::{Engine, Event, Phase, ServerState};

fn heartbeat(ballot: u64, chosen: u64, serving_from: u64) -> W {
    Wire::Heartbeat {
        ballot,
        chosen,
        serving_from,
        link: 0,
        acked: 0,
    }
}

/// A leads ballot 64 with B and C following it, all serving; everything emitted forgotten.
fn cluster_led_by_a() -> Cluster {
    led_by_a(Cluster::three(Bugs::default()))
}

#[test]
fn three_servers_elect_a_distinguished_proposer() {
    let mut c = Cluster::three(Bugs::default());
    assert_eq!(c.seen(A), vec![Seen::Restore(Zxid::ZERO)]);
    c.timeout(A);
    // Its own promise is durable before anyone is asked.
    assert_eq!(c.appended(A), vec![R::Promise { ballot: BA }]);
    assert!(c.sent(A).is_empty());
    assert!(c.fsync(A));
    let prepare = Wire::Prepare {
        ballot: BA,
        from_slot: 1,
    };
    assert_eq!(c.sent(A), vec![(B, prepare.clone()), (C, prepare)]);
    // B's promise waits for its fsync.
    assert!(c.deliver(A, B));
    assert_eq!(c.appended(B), vec![R::Promise { ballot: BA }]);
    assert!(c.sent(B).is_empty());
    assert!(c.fsync(B));
    let promise = Wire::Promise {
        ballot: BA,
        from_slot: 1,
        reports: vec![],
    };
    assert_eq!(c.sent(B), vec![(A, promise)]);
    c.events(A);
    assert!(c.deliver(B, A));
    // Nothing to recover: A is established at once and says so in a heartbeat round.
    assert!(c.paxos(A).is_established_leader());
    assert_eq!(
        c.events(A),
        vec![
            Event::ElectionDone {
                leader: proto::ProcessId(A),
                election_epoch: BA
            },
            Event::State {
                state: ServerState::Leading,
                epoch: proto::Epoch(64)
            },
            Event::Phase(Phase::Synchronization),
            Event::Established {
                epoch: proto::Epoch(64)
            },
            Event::Phase(Phase::Broadcast),
        ]
    );
    assert_eq!(
        c.sent(A),
        vec![(B, heartbeat(BA, 0, 1)), (C, heartbeat(BA, 0, 1))]
    );
    assert_eq!(
        c.seen(A),
        vec![
            Seen::Status(ServerState::Leading, Some(A), false),
            Seen::Status(ServerState::Leading, Some(A), true)
        ]
    );
    // B follows A on the heartbeat, and serves: nothing comes before slot 1.
    assert!(c.deliver(A, B));
    assert_eq!(
        c.seen(B),
        vec![
            Seen::Restore(Zxid::ZERO),
            Seen::Status(ServerState::Following, Some(A), false),
            Seen::Status(ServerState::Following, Some(A), true),
        ]
    );
}

#[test]
fn proposals_are_pipelined_and_chosen_by_a_quorum_in_slot_order() {
    let mut c = cluster_led_by_a();
    // Two proposals go out before either is accepted: the window holds both.
    assert_eq!(c.propose(A, 10), z(BA, 1));
    assert_eq!(c.propose(A, 20), z(BA, 2));
    assert_eq!(
        c.sent(A),
        vec![
            (B, accept(BA, 1, v(BA, 1, 10), 0, 1)),
            (C, accept(BA, 1, v(BA, 1, 10), 0, 1)),
            (B, accept(BA, 2, v(BA, 2, 20), 0, 1)),
            (C, accept(BA, 2, v(BA, 2, 20), 0, 1)),
        ]
    );
    assert_eq!(
        c.appended(A),
        vec![
            R::Accept {
                slot: 1,
                ballot: BA,
                value: v(BA, 1, 10)
            },
            R::Accept {
                slot: 2,
                ballot: BA,
                value: v(BA, 2, 20)
            },
        ]
    );
    // B accepts both, answering only once durable.
    assert!(c.deliver(A, B) && c.deliver(A, B));
    assert!(c.sent(B).is_empty());
    c.fsync_all(B);
    assert_eq!(
        c.sent(B),
        vec![
            (
                A,
                Wire::Accepted {
                    ballot: BA,
                    slot: 1
                }
            ),
            (
                A,
                Wire::Accepted {
                    ballot: BA,
                    slot: 2
                }
            ),
        ]
    );
    // Slot 2's quorum (A durable, B) comes first in A's inbox order only after slot 1's.
    c.fsync_all(A);
    assert!(c.seen(A).is_empty(), "nothing chosen on A's own acceptance");
    assert!(c.deliver(B, A));
    assert_eq!(c.seen(A), vec![Seen::Deliver(z(BA, 1), 10)]);
    assert!(c.deliver(B, A));
    assert_eq!(c.seen(A), vec![Seen::Deliver(z(BA, 2), 20)]);
    assert_eq!(c.paxos(A).log().chosen_upto(), 2);
    // B learns both on the next heartbeat: it accepted them in A's ballot.
    c.fire(A, paxos::TIMER_HEARTBEAT);
    assert!(c.deliver(A, B));
    assert_eq!(
        c.seen(B),
        vec![Seen::Deliver(z(BA, 1), 10), Seen::Deliver(z(BA, 2), 20)]
    );
}

#[test]
fn a_lower_ballot_is_refused() {
    let mut c = cluster_led_by_a();
    // A stale Accept from a ballot below B's promise.
    c.with(B, |e, ctx, h, o| {
        e.on_message(
            ctx,
            proto::ProcessId(C),
            accept(BC - 64, 1, Value::Noop, 0, 0),
            h,
            o,
        )
    });
    // (ballot 2 is nobody's in this test: refused before its owner is asked for)
    assert_eq!(
        c.sent(B),
        vec![(
            C,
            Wire::Nack {
                ballot: 2,
                promised: BA
            }
        )]
    );
}

#[test]
fn a_restarted_acceptor_recovers_its_promise_and_acceptances() {
    let mut c = cluster_led_by_a();
    c.propose(A, 10);
    c.settle(&ALL);
    c.fire(A, paxos::TIMER_HEARTBEAT);
    c.settle(&ALL);
    assert_eq!(c.nodes[C as usize].host.state.0, vec![10]);
    c.crash(C);
    assert_eq!(c.paxos(C).promised(), BA);
    assert_eq!(
        c.paxos(C).log().get(1).and_then(|s| s.accepted.clone()),
        Some((BA, v(BA, 1, 10)))
    );
    assert_eq!(
        c.paxos(C).log().chosen_upto(),
        0,
        "what was chosen is learned again"
    );
    c.clear();
    // The next heartbeat says slot 1 is chosen; C accepted it in A's ballot.
    c.fire(A, paxos::TIMER_HEARTBEAT);
    assert!(c.deliver(A, C));
    assert_eq!(
        c.seen(C),
        vec![
            Seen::Status(ServerState::Following, Some(A), false),
            Seen::Deliver(z(BA, 1), 10),
            Seen::Status(ServerState::Following, Some(A), true),
        ]
    );
}

#[test]
fn a_new_proposer_re_proposes_the_highest_ballot_value_per_slot() {
    let mut c = Cluster::three(Bugs::default());
    // A proposes 10 at slot 1 in ballot 64, B 20 at slot 1 in its ballot (each accepted
    // only by its proposer); A restarts and stands again with B: its own report is 10 in
    // ballot 64, B's is 20 in B's ballot.
    let bb = two_proposers(&mut c, &[10]);
    a_stands_again_with_b(&mut c);
    let accepts: Vec<(u32, W)> = c
        .sent(A)
        .into_iter()
        .filter(|(_, m)| matches!(m, Wire::Accept { .. }))
        .collect();
    // The highest ballot's value wins the slot, over A's own (classic Paxos, per slot).
    let ba2 = BA + 128;
    assert_eq!(
        accepts,
        vec![
            (B, accept(ba2, 1, v(bb, 1, 20), 0, 0)),
            (C, accept(ba2, 1, v(bb, 1, 20), 0, 0)),
        ]
    );
}

#[test]
fn a_gap_is_filled_with_a_no_op_and_later_slots_keep_their_values() {
    let mut c = cluster_led_by_a();
    // Slot 1's Accepts are lost; C accepts slot 2 only; B stands with C (A is gone):
    // slot 1 was accepted by nobody it asks.
    let reports = slot_one_lost_then_b_stands(&mut c);
    let slot2 = report(2, BA, v(BA, 2, 20), false);
    assert_eq!(reports, vec![slot2]);
    assert_eq!(
        accepts_to(&mut c, B, C),
        vec![
            accept(BB + 64, 1, Value::Noop, 0, 0),
            accept(BB + 64, 2, v(BA, 2, 20), 0, 0),
        ]
    );
    // Both are chosen: B is established, and delivers 20 alone.
    assert!(c.paxos(B).is_established_leader());
    assert_eq!(c.nodes[B as usize].host.state.0, vec![20]);
}

#[test]
fn a_lagging_learner_catches_up_from_the_leader() {
    let mut c = cluster_led_by_a();
    for value in [1, 2, 3] {
        c.propose(A, value);
    }
    c.settle(&[A, B]);
    c.net.clear();
    assert_eq!(c.paxos(A).log().chosen_upto(), 3);
    assert!(c.nodes[C as usize].host.state.0.is_empty());
    // The heartbeat tells C 3 slots are chosen; it accepted none: it answers with its
    // prefix, and the leader sends the values.
    c.fire(A, paxos::TIMER_HEARTBEAT);
    c.drop_between(A, B);
    c.clear();
    let vals: Vec<V> = (1..=3).map(|k| v(BA, k as u32, k)).collect();
    c.settle(&[A, C]);
    assert_eq!(c.nodes[C as usize].host.state.0, vec![1, 2, 3]);
    let learns: Vec<W> = c
        .sent(A)
        .into_iter()
        .filter(|(_, m)| matches!(m, Wire::Learn { .. }))
        .map(|(_, m)| m)
        .collect();
    assert_eq!(
        learns,
        vec![Wire::Learn {
            ballot: BA,
            from_slot: 1,
            values: vals
        }]
    );
}

#[test]
fn a_barrier_is_a_no_op_through_the_log() {
    let mut c = cluster_led_by_a();
    c.propose(A, 10);
    assert!(c.with(A, |e, _, h, o| e.barrier(Tag(5), h, o)));
    let sent: Vec<W> = c
        .sent(A)
        .into_iter()
        .filter(|(to, _)| *to == B)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(
        sent,
        vec![
            accept(BA, 1, v(BA, 1, 10), 0, 1),
            accept(BA, 2, Value::Noop, 0, 1)
        ]
    );
    c.settle(&ALL);
    // Done once its no-op is chosen: after 10 is delivered.
    assert_eq!(
        c.seen(A),
        vec![Seen::Deliver(z(BA, 1), 10), Seen::Barrier(5)]
    );
}
