//! The Raft engine driven by hand, three servers: election, replication and commit,
//! conflict truncation, recovery after a restart, a stale leader stepping down, a vote
//! refused to an out-of-date log, and ReadIndex barriers — with the exact sends, records,
//! events and host commands.

mod common;

use std::sync::Arc;

use common::{Cluster, Num, NumApp, RaftCluster, Seen, W};
use proto::{Epoch, ProcessId, Zxid};
use raft::{Bugs, LogEntry, Record, Slot, TIMER_HEARTBEAT, Wire};
use replication::{Engine, Event, ServerState};

const A: u32 = 0;
const B: u32 = 1;
const C: u32 = 2;
const ALL: [u32; 3] = [A, B, C];

fn z(term: u32, counter: u32) -> Zxid {
    Zxid::new(Epoch(term), counter)
}

fn noop(term: u64) -> Slot<NumApp> {
    Slot {
        term,
        entry: LogEntry::Noop,
    }
}

fn app(term: u64, counter: u32, value: u64) -> Slot<NumApp> {
    let zxid = z(u32::try_from(term).unwrap(), counter);
    Slot {
        term,
        entry: LogEntry::App(Arc::new(Num { zxid, value })),
    }
}

fn append(term: u64, prev: (u64, u64), entries: Vec<Slot<NumApp>>, commit: u64, seq: u64) -> W {
    Wire::AppendEntries {
        term,
        prev_index: prev.0,
        prev_term: prev.1,
        entries,
        leader_commit: commit,
        seq,
        link: 0,
        acked: 0,
    }
}

fn reply(term: u64, success: bool, match_index: u64, seq: u64) -> W {
    Wire::AppendReply {
        term,
        success,
        match_index,
        seq,
        link: 0,
        acked: 0,
    }
}

/// A leads term 1 with B and C following it, all serving; everything emitted forgotten.
fn cluster_led_by_a() -> Cluster {
    let mut c = Cluster::new(3, Bugs::default());
    c.elect(A, &ALL);
    c.settle(&ALL);
    assert!(c.raft(A).is_established_leader());
    c.clear();
    c
}

#[test]
fn three_servers_elect_a_leader() {
    let mut c = Cluster::new(3, Bugs::default());
    assert_eq!(c.seen(A), vec![Seen::Restore(Zxid::ZERO)]);
    c.timeout(A);
    // The own vote is made durable before anyone is asked.
    assert_eq!(
        c.appended(A),
        vec![Record::HardState {
            term: 1,
            voted_for: Some(ProcessId(A))
        }]
    );
    assert!(c.sent(A).is_empty());
    assert!(c.fsync(A));
    let ask = Wire::RequestVote {
        term: 1,
        last_index: 0,
        last_term: 0,
    };
    assert_eq!(c.sent(A), vec![(B, ask.clone()), (C, ask)]);
    // B's grant waits for its vote's fsync.
    assert!(c.deliver(A, B));
    // It adopts the term (no vote yet), then votes.
    assert_eq!(
        c.appended(B),
        vec![
            Record::HardState {
                term: 1,
                voted_for: None
            },
            Record::HardState {
                term: 1,
                voted_for: Some(ProcessId(A))
            }
        ]
    );
    assert!(c.sent(B).is_empty());
    assert!(c.fsync(B));
    let grant = Wire::VoteReply {
        term: 1,
        granted: true,
    };
    assert_eq!(c.sent(B), vec![(A, grant)]);
    assert!(c.deliver(B, A));
    // A leads: its no-op goes to both followers in heartbeat round 1.
    assert!(c.raft(A).is_leader());
    assert_eq!(
        c.seen(A),
        vec![Seen::Status(ServerState::Leading, Some(A), false)]
    );
    assert_eq!(
        c.appended(A),
        vec![Record::Entry {
            index: 1,
            slot: noop(1)
        }]
    );
    let first = append(1, (0, 0), vec![noop(1)], 0, 1);
    assert_eq!(c.sent(A), vec![(B, first.clone()), (C, first)]);
    c.settle(&ALL);
    assert_eq!(
        c.seen(A),
        vec![
            Seen::Heartbeat(B),
            Seen::Status(ServerState::Leading, Some(A), true),
            Seen::Heartbeat(C),
        ]
    );
    assert_eq!(
        c.seen(B),
        vec![
            Seen::Restore(Zxid::ZERO),
            Seen::Status(ServerState::Following, Some(A), false),
            Seen::Status(ServerState::Following, Some(A), true),
        ]
    );
    let events = c.events(A);
    assert!(events.contains(&Event::Established { epoch: Epoch(1) }));
    assert!(events.contains(&Event::ElectionDone {
        leader: ProcessId(A),
        election_epoch: 1
    }));
    for i in ALL {
        assert_eq!(c.raft(i).term(), 1);
        assert_eq!(c.raft(i).commit_index(), 1);
        assert!(c.raft(i).status().serving);
    }
}

#[test]
fn replication_commits_and_delivers_in_order() {
    let mut c = cluster_led_by_a();
    let a = c.propose(A, 10);
    let b = c.propose(A, 20);
    assert_eq!((a, b), (z(1, 1), z(1, 2)));
    // Each proposal goes out on its own, pipelined.
    assert_eq!(
        c.sent(A),
        vec![
            (B, append(1, (1, 1), vec![app(1, 1, 10)], 1, 1)),
            (C, append(1, (1, 1), vec![app(1, 1, 10)], 1, 1)),
            (B, append(1, (2, 1), vec![app(1, 2, 20)], 1, 1)),
            (C, append(1, (2, 1), vec![app(1, 2, 20)], 1, 1)),
        ]
    );
    // A follower acknowledges only once its copy is durable.
    assert!(c.deliver(A, B));
    assert!(c.sent(B).is_empty());
    assert!(c.fsync(B));
    assert_eq!(c.sent(B), vec![(A, reply(1, true, 2, 1))]);
    // The leader's own durable copy and B's make a quorum: committed and delivered.
    assert!(c.fsync(A));
    assert!(c.deliver(B, A));
    assert_eq!(c.seen(A), vec![Seen::Deliver(a, 10)]);
    let events = c.events(A);
    assert_eq!(
        events,
        vec![
            Event::Proposed {
                zxid: a,
                digest: Num { zxid: a, value: 10 }.digest_of()
            },
            Event::Proposed {
                zxid: b,
                digest: Num { zxid: b, value: 20 }.digest_of()
            },
            Event::Committed { zxid: a },
            Event::Delivered {
                zxid: a,
                digest: Num { zxid: a, value: 10 }.digest_of()
            },
        ]
    );
    c.settle(&ALL);
    for i in ALL {
        assert_eq!(c.nodes[i as usize].host.state.0, vec![10, 20], "p{i}");
        assert_eq!(c.raft(i).delivered(), b);
    }
    assert_eq!(c.seen(B), vec![Seen::Deliver(a, 10), Seen::Deliver(b, 20)]);
}

/// The digest of an entry (the test app's).
trait DigestOf {
    fn digest_of(&self) -> u64;
}

impl DigestOf for Num {
    fn digest_of(&self) -> u64 {
        replication::Entry::digest(self)
    }
}

#[test]
fn a_conflicting_suffix_is_truncated() {
    let mut c = cluster_led_by_a();
    // A proposes x alone: nobody else hears of it.
    let x = c.propose(A, 99);
    c.fsync_all(A);
    c.drop_from(A);
    // C leads term 2 with B, and commits y.
    c.elect(C, &[B, C]);
    c.settle(&[B, C]);
    let y = c.propose(C, 5);
    c.settle(&[B, C]);
    assert_eq!(c.raft(C).commit_index(), 3);
    c.clear();
    // A hears C's heartbeat (C's earlier messages to it were lost): it steps down and its
    // log is repaired back to the match.
    c.drop_between(C, A);
    c.fire(C, TIMER_HEARTBEAT);
    c.drop_between(C, B);
    c.settle(&[A, C]);
    assert_eq!(c.raft(A).term(), 2);
    assert_eq!(c.raft(A).leader(), Some(ProcessId(C)));
    assert_eq!(
        c.events(A)
            .into_iter()
            .filter(|e| matches!(e, Event::Truncated { .. }))
            .collect::<Vec<_>>(),
        vec![Event::Truncated {
            after: Zxid::ZERO,
            removed: vec![x].into_boxed_slice()
        }]
    );
    assert_eq!(
        c.appended(A),
        vec![
            Record::HardState {
                term: 2,
                voted_for: None
            },
            Record::Truncate { from: 2 },
            Record::Entry {
                index: 2,
                slot: noop(2)
            },
            Record::Entry {
                index: 3,
                slot: app(2, 1, 5)
            },
        ]
    );
    // The replies that walked C back: a refusal at 3, a refusal at 2, then the match.
    let replies: Vec<(u32, W)> = c
        .sent(A)
        .into_iter()
        .filter(|(_, m)| matches!(m, Wire::AppendReply { .. }))
        .collect();
    assert_eq!(
        replies,
        vec![
            (C, reply(2, false, 2, 2)),
            (C, reply(2, false, 1, 2)),
            (C, reply(2, true, 3, 2)),
        ]
    );
    assert_eq!(c.raft(A).log().last_zxid(), y);
    assert_eq!(c.nodes[A as usize].host.state.0, vec![5]);
}

#[test]
fn a_restarted_server_recovers_its_term_vote_and_log() {
    let mut c = cluster_led_by_a();
    let a = c.propose(A, 1);
    let b = c.propose(A, 2);
    c.settle(&ALL);
    let log_before = c.raft(B).log().clone();
    c.crash(B);
    assert_eq!(c.raft(B).term(), 1);
    assert_eq!(c.raft(B).voted_for(), Some(ProcessId(A)));
    assert_eq!(c.raft(B).log(), &log_before);
    assert_eq!(
        c.raft(B).commit_index(),
        0,
        "the commit index is not durable"
    );
    assert_eq!(c.seen(B), vec![Seen::Restore(Zxid::ZERO)]);
    assert_eq!(
        c.events(B),
        vec![
            Event::Reset {
                upto: Zxid::ZERO,
                history: 0
            },
            Event::State {
                state: ServerState::Looking,
                epoch: Epoch(1)
            },
            Event::Phase(replication::Phase::Election),
        ]
    );
    // The leader's next heartbeat tells it the commit index: everything is re-delivered.
    c.fire(A, TIMER_HEARTBEAT);
    c.settle(&ALL);
    assert_eq!(
        c.seen(B),
        vec![
            Seen::Status(ServerState::Following, Some(A), false),
            Seen::Deliver(a, 1),
            Seen::Deliver(b, 2),
            Seen::Status(ServerState::Following, Some(A), true),
        ]
    );
}

#[test]
fn a_stale_leader_steps_down_on_a_higher_term() {
    let mut c = cluster_led_by_a();
    c.drop_from(A);
    c.elect(C, &[B, C]);
    c.settle(&[B, C]);
    c.clear();
    c.drop_between(C, A);
    c.fire(C, TIMER_HEARTBEAT);
    assert!(c.deliver(C, A));
    assert!(!c.raft(A).is_leader());
    assert_eq!(
        c.seen(A),
        vec![
            Seen::Status(ServerState::Looking, None, false),
            Seen::Status(ServerState::Following, Some(C), false),
        ]
    );
    // C's heartbeat assumed A had its no-op (the AppendEntries carrying it was lost):
    // A adopts the term and refuses, pointing C back.
    assert_eq!(
        c.appended(A),
        vec![Record::HardState {
            term: 2,
            voted_for: None
        }]
    );
    assert_eq!(
        c.sent(A),
        vec![
            (
                C,
                Wire::Ping {
                    term: 2,
                    payload: common::Tag(7)
                }
            ),
            (C, reply(2, false, 1, 2))
        ]
    );
    assert!(!c.nodes[A as usize].timers.contains_key(&TIMER_HEARTBEAT));
    // Its ack (after the fsync) makes it serve once the leader's commit reaches it.
    c.settle(&ALL);
    c.fire(C, TIMER_HEARTBEAT);
    c.settle(&ALL);
    assert_eq!(
        c.seen(A),
        vec![Seen::Status(ServerState::Following, Some(C), true)]
    );
}

#[test]
fn a_vote_is_refused_to_an_out_of_date_log() {
    let mut c = cluster_led_by_a();
    c.drop_from(A);
    c.propose(A, 1);
    c.deliver(A, B);
    c.settle(&[A, B]);
    assert_eq!(c.raft(B).log().last_index(), 2);
    assert_eq!(c.raft(C).log().last_index(), 1);
    c.drop_from(A);
    c.timeout(C);
    c.fsync(C);
    c.clear();
    assert!(c.deliver(C, B));
    // B adopts the term (no vote) and refuses: C's log ends before B's.
    assert_eq!(
        c.appended(B),
        vec![Record::HardState {
            term: 2,
            voted_for: None
        }]
    );
    assert_eq!(
        c.sent(B),
        vec![(
            C,
            Wire::VoteReply {
                term: 2,
                granted: false
            }
        )]
    );
    assert_eq!(c.raft(B).voted_for(), None);
    assert!(c.deliver(B, C));
    assert!(c.raft(C).is_candidate());
}

#[test]
fn barriers_complete_at_the_read_index() {
    let mut c = cluster_led_by_a();
    // On the leader: a heartbeat round goes out; the barrier completes once a quorum
    // answered it.
    assert!(c.with(A, |r, _, h, o| r.barrier(common::Tag(1), h, o)));
    assert!(c.seen(A).is_empty());
    assert_eq!(
        c.sent(A),
        vec![
            (B, append(1, (1, 1), vec![], 1, 2)),
            (C, append(1, (1, 1), vec![], 1, 2)),
        ]
    );
    assert!(c.deliver(A, B));
    assert_eq!(
        c.sent(B),
        vec![
            (
                A,
                Wire::Ping {
                    term: 1,
                    payload: common::Tag(7)
                }
            ),
            (A, reply(1, true, 1, 2))
        ]
    );
    assert!(c.deliver(B, A));
    assert_eq!(c.seen(A), vec![Seen::Heartbeat(B)]);
    assert!(c.deliver(B, A));
    assert_eq!(c.seen(A), vec![Seen::Barrier(1)]);
    c.settle(&ALL);
    c.clear();
    // On a follower: asked of the leader, answered with the read index after a round.
    let x = c.propose(A, 3);
    assert!(c.with(B, |r, _, h, o| r.barrier(common::Tag(2), h, o)));
    assert_eq!(
        c.sent(B),
        vec![(
            A,
            Wire::ReadIndex {
                term: 1,
                link: 0,
                seq: 1,
                token: common::Tag(2)
            }
        )]
    );
    c.settle(&ALL);
    assert_eq!(c.seen(B), vec![Seen::Deliver(x, 3), Seen::Barrier(2)]);
}

#[test]
fn a_single_voter_leads_commits_on_its_own_fsync_and_ticks() {
    let mut c = Cluster::new(1, Bugs::default());
    c.elect(A, &[A]);
    assert!(c.raft(A).is_established_leader());
    assert_eq!(
        c.seen(A),
        vec![
            Seen::Restore(Zxid::ZERO),
            Seen::Status(ServerState::Leading, Some(A), false),
            Seen::Status(ServerState::Leading, Some(A), true),
        ]
    );
    let a = c.propose(A, 4);
    assert!(
        c.seen(A).is_empty(),
        "nothing delivered before it is durable"
    );
    c.fsync_all(A);
    assert_eq!(c.seen(A), vec![Seen::Deliver(a, 4)]);
    // A barrier with nothing outstanding completes at once (its quorum is itself).
    assert!(c.with(A, |r, _, h, o| r.barrier(common::Tag(5), h, o)));
    assert_eq!(c.seen(A), vec![Seen::Barrier(5)]);
    c.fire(A, TIMER_HEARTBEAT);
    assert_eq!(c.seen(A), vec![Seen::Tick]);
    assert!(c.sent(A).is_empty(), "a single voter sends nothing");
}
