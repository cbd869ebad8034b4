//! The planted bug driven by hand: with `no_accept_persist` an acceptor answers an Accept
//! before the acceptance is durable, so a crash lets two values be chosen in one slot;
//! without it the same schedule chooses nothing until the acceptance is durable.

mod common;

use common::{A, ALL, B, C, Cluster, PaxosCluster, Seen};
use paxos::{Bugs, Wire};

/// A leads and proposes 10 at slot 1; B gets the Accept and, before its fsync, crashes;
/// A is cut off; C stands with B and proposes 30. What each server delivered.
fn crash_before_the_acceptance_is_durable(bugs: Bugs) -> (Vec<u64>, Vec<u64>) {
    let mut c = Cluster::three(bugs);
    c.elect(A, &ALL);
    c.settle(&ALL);
    c.clear();
    c.propose(A, 10);
    // B takes the Accept; nothing of it is durable yet.
    assert!(c.deliver(A, B));
    let answered = c
        .sent(B)
        .into_iter()
        .any(|(_, m)| matches!(m, Wire::Accepted { .. }));
    assert_eq!(answered, bugs.no_accept_persist, "answered before durable");
    if answered {
        assert!(c.deliver(B, A));
    }
    c.crash(B);
    c.net.clear();
    // C leads with B (A is cut off) and proposes 30.
    c.elect(C, &[B, C]);
    c.settle(&[B, C]);
    assert!(c.paxos(C).is_established_leader());
    let zxid = c.propose(C, 30);
    c.settle(&[B, C]);
    assert!(c.seen(C).contains(&Seen::Deliver(zxid, 30)));
    let state = |c: &Cluster, i: u32| c.nodes[i as usize].host.state.0.clone();
    (state(&c, A), state(&c, C))
}

#[test]
fn an_acceptance_answered_before_it_is_durable_lets_two_values_be_chosen() {
    let bugs = Bugs {
        no_accept_persist: true,
    };
    let (a, c) = crash_before_the_acceptance_is_durable(bugs);
    // A counted B's forgotten acceptance: slot 1 holds 10 at A and 30 at C.
    assert_eq!((a, c), (vec![10], vec![30]));
}

#[test]
fn an_acceptance_is_answered_only_once_durable() {
    let (a, c) = crash_before_the_acceptance_is_durable(Bugs::default());
    // Nothing was chosen at A: one value, 30, in slot 1.
    assert_eq!((a, c), (vec![], vec![30]));
}
