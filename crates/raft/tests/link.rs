//! The leader–follower link (`raft::link`): the application's messages survive a loss (sent
//! again after a heartbeat until acknowledged), are taken once and in order, and a
//! restarted follower's new link replaces its old one at the leader.

mod common;

use common::{Cluster, RaftCluster, Seen, Tag, W};
use raft::{Bugs, TIMER_HEARTBEAT, Wire};
use replication::Engine;

const A: u32 = 0;
const B: u32 = 1;
const C: u32 = 2;
const ALL: [u32; 3] = [A, B, C];

fn cluster_led_by_a() -> Cluster {
    let mut c = Cluster::new(3, Bugs::default());
    c.elect(A, &ALL);
    c.settle(&ALL);
    assert!(c.raft(A).is_established_leader());
    c.clear();
    c
}

fn app_seq(w: &W) -> Option<u64> {
    match w {
        Wire::App { seq, .. } => Some(*seq),
        _ => None,
    }
}

/// One heartbeat later: the leader's round goes out and everything settles.
fn heartbeat(c: &mut Cluster) {
    c.advance_ms(100);
    c.fire(A, TIMER_HEARTBEAT);
    c.settle(&ALL);
}

#[test]
fn a_lost_message_is_sent_again_and_taken_once() {
    let mut c = cluster_led_by_a();
    assert!(c.with(B, |r, _, _, o| r.send_to_leader(Tag(5), o)));
    assert!(c.with(B, |r, _, _, o| r.send_to_leader(Tag(6), o)));
    let sent = c.sent_raw(B);
    assert_eq!(
        sent.iter().map(|(_, w)| app_seq(w)).collect::<Vec<_>>(),
        vec![Some(1), Some(2)],
        "numbered in order: {sent:?}"
    );
    // The first is lost; the second arrives out of order and is not taken.
    c.drop_between(B, A);
    assert!(c.seen(A).is_empty());
    // Too early to resend: nothing yet.
    c.fire(A, TIMER_HEARTBEAT);
    c.settle(&ALL);
    assert!(!c.seen(A).iter().any(|s| matches!(s, Seen::Message(..))));
    // After a heartbeat both go again, and are taken once, in order.
    heartbeat(&mut c);
    let got: Vec<Seen> = c
        .seen(A)
        .into_iter()
        .filter(|s| matches!(s, Seen::Message(..)))
        .collect();
    assert_eq!(got, vec![Seen::Message(B, 5), Seen::Message(B, 6)]);
    // Acknowledged: nothing more is sent again.
    heartbeat(&mut c);
    heartbeat(&mut c);
    assert!(!c.seen(A).iter().any(|s| matches!(s, Seen::Message(..))));
}

#[test]
fn a_restarted_follower_gets_a_new_link() {
    let mut c = cluster_led_by_a();
    assert!(c.with(B, |r, _, _, o| r.send_to_leader(Tag(1), o)));
    c.settle(&ALL);
    assert!(c.seen(A).contains(&Seen::Message(B, 1)));
    c.advance_ms(5);
    c.crash(B);
    // B follows A again (a heartbeat), on a new link whose first message is taken.
    heartbeat(&mut c);
    assert!(c.with(B, |r, _, _, o| r.send_to_leader(Tag(2), o)));
    c.settle(&ALL);
    assert!(
        c.seen(A).contains(&Seen::Message(B, 2)),
        "the new link's first message"
    );
}
