//! The planted bugs, each on the interleaving that shows it, and the same interleaving
//! without it: `figure8` (the Raft paper's Figure 8 on three servers: a leader commits a
//! previous term's entry by counting replicas, and a later leader overwrites it) and
//! `no_vote_persist` (a vote answered before it is durable is forgotten in a crash: two
//! leaders in one term).

mod common;

use common::{Cluster, RaftCluster, W, config};
use proto::{Epoch, Zxid};
use raft::{Bugs, TIMER_HEARTBEAT, Wire};
use replication::Event;

const A: u32 = 0;
const B: u32 = 1;
const C: u32 = 2;

/// What the Figure 8 interleaving ends in: A's events, B's events.
fn figure8(bugs: Bugs) -> (Vec<Event>, Vec<Event>) {
    let mut template = config(0, 3, bugs);
    template.append_entries_max = 1;
    let mut c = Cluster::with_config(template);
    // Term 1: A leads, everyone holds its no-op; then A logs x, which nobody else gets.
    c.elect(A, &[A, B, C]);
    c.drop_from(A);
    let x = c.propose(A, 42);
    assert_eq!(x, Zxid::new(Epoch(1), 1));
    c.fsync_all(A);
    c.drop_from(A);
    // Term 2: C leads with B's vote (B voted for A in term 1, so C needs two tries) and
    // logs its no-op alone, then crashes.
    c.win(C, &[B, C]);
    c.fsync_all(C);
    c.drop_from(C);
    c.crash(C);
    // A restarts and leads term 3 with B's vote; it brings B its old entries, one per
    // AppendEntries, and crashes before its own term's no-op reaches B.
    c.crash(A);
    c.win(A, &[A, B]);
    let own_term = |m: &W| matches!(m, Wire::AppendEntries { entries, .. } if entries.iter().any(|s| s.term == 3));
    c.fire(A, TIMER_HEARTBEAT);
    c.settle_with(&[A, B], |_, _, m| !own_term(m));
    assert_eq!(c.raft(B).log().last_zxid(), x, "B holds x");
    c.drop_from(A);
    // Term 4: C (its last entry of term 2 beats B's of term 1) leads with B's vote and
    // overwrites B's log.
    c.win(C, &[B, C]);
    c.fire(C, TIMER_HEARTBEAT);
    c.settle(&[B, C]);
    assert!(c.raft(C).is_established_leader());
    assert_eq!(c.raft(B).log().last_zxid(), Zxid::ZERO, "x is gone from B");
    let a = c.nodes[A as usize].events.clone();
    let b = c.nodes[B as usize].events.clone();
    (a, b)
}

fn committed(events: &[Event], zxid: Zxid) -> bool {
    events.contains(&Event::Committed { zxid })
}

#[test]
fn figure8_commits_a_previous_term_entry_only_when_planted() {
    let x = Zxid::new(Epoch(1), 1);
    let cut = Event::Truncated {
        after: Zxid::ZERO,
        removed: vec![x].into_boxed_slice(),
    };
    let bugs = Bugs {
        figure8: true,
        ..Bugs::default()
    };
    let (a, b) = figure8(bugs);
    assert!(committed(&a, x), "A counted x's replicas and committed it");
    assert!(
        a.iter()
            .any(|e| matches!(e, Event::Delivered { zxid, .. } if *zxid == x))
    );
    assert!(b.contains(&cut), "then a later leader cut the committed x");
    // Correct Raft: x is never committed, so cutting it loses nothing.
    let (a, b) = figure8(Bugs::default());
    assert!(
        !committed(&a, x),
        "a previous term's entry committed by counting"
    );
    assert!(!a.iter().any(|e| matches!(e, Event::Delivered { .. })));
    assert!(b.contains(&cut));
}

/// A asks B and C for votes in term 1; B answers (with the bug, before its fsync) and
/// crashes before the fsync; then C asks the restarted B. Returns who leads, with terms.
fn vote_then_crash(bugs: Bugs) -> Vec<(u32, u64)> {
    let mut c = Cluster::new(3, bugs);
    c.timeout(A);
    c.fsync(A);
    c.drop_between(A, C);
    assert!(c.deliver(A, B));
    assert_eq!(
        c.sent(B),
        if bugs.no_vote_persist {
            vec![(
                A,
                Wire::VoteReply {
                    term: 1,
                    granted: true,
                },
            )]
        } else {
            vec![]
        },
        "a grant goes out before its fsync only with the bug"
    );
    c.crash(B);
    c.deliver(B, A);
    c.timeout(C);
    c.fsync(C);
    c.drop_between(C, A);
    assert!(c.deliver(C, B));
    c.fsync_all(B);
    assert!(c.deliver(B, C));
    (0..3)
        .filter(|i| c.raft(*i).is_leader())
        .map(|i| (i, c.raft(i).term()))
        .collect()
}

#[test]
fn two_leaders_in_one_term_only_when_votes_are_answered_before_they_are_durable() {
    let bugs = Bugs {
        no_vote_persist: true,
        ..Bugs::default()
    };
    assert_eq!(vote_then_crash(bugs), vec![(A, 1), (C, 1)]);
    assert_eq!(vote_then_crash(Bugs::default()), vec![(C, 1)]);
}
