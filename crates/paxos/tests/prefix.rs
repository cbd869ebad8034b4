//! Prefix acceptance and prefix recovery (`Order::Prefix`) driven by hand, three servers:
//! an Accept ahead of its slot held back, the classic primary-order violation pattern
//! replayed under both orders, a new proposer adopting the newest log and choosing it only
//! under a no-op of its own ballot, and the newest tag beating a longer older log (with
//! the conflicting suffix dropped) — with the exact sends, records and deliveries.

mod common;

use common::{
    A, B, BA, BC, C, Cluster, PaxosCluster, R, Seen, V, W, a_stands_again_with_b, accept,
    accepts_to, led_by_a, report, slot_one_lost_then_b_stands, two_proposers, v, z,
};
use paxos::{Order, Report, Value, Wire};
use proto::ProcessId;
use replication::Engine;

fn prefix() -> Cluster {
    Cluster::three_with(|c| c.order = Order::Prefix)
}

/// Delivers the oldest message from `from` to `to` that `pick` selects.
fn deliver_picked(c: &mut Cluster, from: u32, to: u32, pick: impl Fn(&W) -> bool) {
    let k = c
        .net
        .iter()
        .position(|(f, t, m)| *f == from && *t == to && pick(m))
        .expect("a message to deliver");
    let (_, _, msg) = c.net.remove(k);
    c.with(to, |e, ctx, h, o| {
        e.on_message(ctx, ProcessId(from), msg, h, o)
    });
}

fn is_accept_of(slot: u64) -> impl Fn(&W) -> bool {
    move |m| matches!(m, Wire::Accept { slot: s, .. } if *s == slot)
}

fn accepted(ballot: u64, slot: u64) -> W {
    Wire::Accepted { ballot, slot }
}

fn record(slot: u64, ballot: u64, value: V) -> R {
    R::Accept {
        slot,
        ballot,
        value,
    }
}

#[test]
fn an_accept_ahead_of_its_slot_is_held_until_the_slot_before_is_accepted() {
    let mut c = led_by_a(prefix());
    c.propose(A, 10);
    c.propose(A, 20);
    // Slot 2 overtakes slot 1 on the way to B: held back, nothing accepted or answered.
    deliver_picked(&mut c, A, B, is_accept_of(2));
    assert!(c.appended(B).is_empty());
    assert!(c.sent(B).is_empty());
    assert!(c.paxos(B).log().get(2).is_none());
    // Slot 1 arrives: both are accepted, in slot order, and answered once durable.
    deliver_picked(&mut c, A, B, is_accept_of(1));
    assert_eq!(
        c.appended(B),
        vec![record(1, BA, v(BA, 1, 10)), record(2, BA, v(BA, 2, 20))]
    );
    assert!(c.sent(B).is_empty());
    c.fsync_all(B);
    assert_eq!(c.sent(B), vec![(A, accepted(BA, 1)), (A, accepted(BA, 2))]);
}

/// The classic violation: A proposes 10 (slot 1) then 20 (slot 2, computed against 10);
/// slot 1's Accepts are lost, C receives slot 2 only; B then stands with C (A gone).
/// Returns C's promise to B and what B's host got delivered.
fn lost_first_slot(order: Order) -> (Vec<Report<common::NumApp>>, Vec<u64>) {
    let mut c = led_by_a(Cluster::three_with(move |cfg| cfg.order = order));
    let reports = slot_one_lost_then_b_stands(&mut c);
    assert!(c.paxos(B).is_established_leader());
    (reports, c.nodes[B as usize].host.state.0.clone())
}

#[test]
fn the_classic_violation_pattern_keeps_primary_order_under_prefix_recovery() {
    // Classic: C accepted slot 2 alone; B fills slot 1 with a no-op and chooses 20 without
    // the 10 it was computed against — the Zab paper's primary-order violation.
    let (reports, delivered) = lost_first_slot(Order::Classic);
    let slot2 = report(2, BA, v(BA, 2, 20), false);
    assert_eq!(reports, vec![slot2]);
    assert_eq!(delivered, vec![20]);
    // Prefix: C held slot 2 back (slot 1 never came) and dropped it with its promise to B:
    // it reports nothing, B recovers nothing, and 20 is never chosen without 10.
    let (reports, delivered) = lost_first_slot(Order::Prefix);
    assert_eq!(reports, vec![]);
    assert_eq!(delivered, Vec::<u64>::new());
}

#[test]
fn a_new_proposer_adopts_the_newest_log_and_chooses_it_under_a_no_op_of_its_own() {
    let mut c = led_by_a(prefix());
    c.propose(A, 10);
    c.propose(A, 20);
    // B accepts both; A never hears of it, C never sees them.
    assert!(c.deliver(A, B) && c.deliver(A, B));
    c.fsync_all(B);
    c.net.clear();
    c.clear();
    // C stands with B (A gone): its own promise first, then B's.
    c.timeout(C);
    assert!(c.fsync(C));
    let bc = BC + 64;
    assert!(c.deliver(C, B));
    assert!(c.fsync(B));
    let reports = vec![
        report(1, BA, v(BA, 1, 10), false),
        report(2, BA, v(BA, 2, 20), false),
    ];
    let promise = Wire::Promise {
        ballot: bc,
        from_slot: 1,
        reports,
    };
    assert_eq!(c.sent(B), vec![(C, promise)]);
    c.sent(C);
    assert!(c.deliver(B, C));
    // B's log is the newest (tag 64, 2 slots; C's is empty): C re-proposes it whole, then
    // a no-op of its own ballot.
    assert!(c.paxos(C).is_leader() && !c.paxos(C).is_established_leader());
    assert_eq!(
        accepts_to(&mut c, C, B),
        vec![
            accept(bc, 1, v(BA, 1, 10), 0, 0),
            accept(bc, 2, v(BA, 2, 20), 0, 0),
            accept(bc, 3, Value::Mark(bc), 0, 0),
        ]
    );
    // A quorum (C, B) accepts slots 1 and 2 in C's ballot: still not chosen — values of an
    // older ballot are chosen only under one of C's own (Raft's commit rule).
    c.fsync_all(C);
    deliver_picked(&mut c, C, B, is_accept_of(1));
    deliver_picked(&mut c, C, B, is_accept_of(2));
    c.fsync_all(B);
    assert!(c.deliver(B, C) && c.deliver(B, C));
    assert_eq!(c.paxos(C).log().chosen_upto(), 0);
    assert!(c.seen(C).iter().all(|s| !matches!(s, Seen::Deliver(..))));
    // The no-op is accepted: all three are chosen at once and C is established.
    deliver_picked(&mut c, C, B, is_accept_of(3));
    c.fsync_all(B);
    assert!(c.deliver(B, C));
    assert_eq!(c.paxos(C).log().chosen_upto(), 3);
    assert!(c.paxos(C).is_established_leader());
    let delivered: Vec<Seen> = c
        .seen(C)
        .into_iter()
        .filter(|s| matches!(s, Seen::Deliver(..)))
        .collect();
    assert_eq!(
        delivered,
        vec![Seen::Deliver(z(BA, 1), 10), Seen::Deliver(z(BA, 2), 20)]
    );
}

#[test]
fn the_newest_tag_beats_a_longer_older_log_whose_conflicting_suffix_is_dropped() {
    let mut c = prefix();
    // A proposes 10, 11, 12 at slots 1..3 in ballot 64, B 20 at slot 1 in its ballot (each
    // accepted only by its proposer). A restarts and stands with B: its own log is longer
    // (3 slots of tag 64), B's is newer (1 slot of tag 129).
    let bb = two_proposers(&mut c, &[10, 11, 12]);
    a_stands_again_with_b(&mut c);
    let ba2 = BA + 128;
    assert_eq!(
        accepts_to(&mut c, A, B),
        vec![
            accept(ba2, 1, v(bb, 1, 20), 0, 0),
            accept(ba2, 2, Value::Mark(ba2), 0, 0),
        ]
    );
    // A's own log is B's now: its 11 and 12 were dropped with the conflict at slot 1.
    assert_eq!(
        c.appended(A),
        vec![
            R::Promise { ballot: ba2 },
            record(1, ba2, v(bb, 1, 20)),
            record(2, ba2, Value::Mark(ba2)),
        ]
    );
    assert!(c.paxos(A).log().get(3).is_none());
    // Recovery from the records drops the same suffix.
    c.fsync_all(A);
    c.crash(A);
    assert_eq!(c.paxos(A).log().last_slot(), 2);
    assert_eq!(c.paxos(A).log().last_tagged(), (ba2, 2));
}
