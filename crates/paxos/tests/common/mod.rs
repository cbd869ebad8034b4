//! Multi-Paxos's side of the hand-driven test cluster (`replication::testkit`): servers
//! built with a planted-bug set, elections by settling, and short names for values.

#![allow(dead_code)]

use std::sync::Arc;

use paxos::{Bugs, Config, Paxos, Record, Report, TIMER_ELECTION, Value, Wire};
use proto::{Epoch, ProcessId, Zxid};
#[allow(unused_imports)]
pub use replication::testkit::{Num, NumApp, Seen, Tag};

pub type W = Wire<NumApp>;
pub type R = Record<NumApp>;
pub type V = Value<NumApp>;
pub type Cluster = replication::testkit::Cluster<Paxos<NumApp>>;

pub const A: u32 = 0;
pub const B: u32 = 1;
pub const C: u32 = 2;
pub const ALL: [u32; 3] = [A, B, C];

/// Ballots of the first round: A's, B's and C's (`ballot % 64` is the proposer's index).
pub const BA: u64 = 64;
pub const BB: u64 = 65;
pub const BC: u64 = 66;

pub fn z(ballot: u64, counter: u32) -> Zxid {
    Zxid::new(Epoch(u32::try_from(ballot).unwrap()), counter)
}

/// The application value `value` proposed as the `counter`th of `ballot`.
pub fn v(ballot: u64, counter: u32, value: u64) -> V {
    Value::App(Arc::new(Num {
        zxid: z(ballot, counter),
        value,
    }))
}

pub fn accept(ballot: u64, slot: u64, value: V, chosen: u64, serving_from: u64) -> W {
    Wire::Accept {
        ballot,
        slot,
        value,
        chosen,
        serving_from,
    }
}

/// Multi-Paxos's driving on top of the generic cluster.
pub trait PaxosCluster {
    /// Three servers, all started on empty disks.
    fn three(bugs: Bugs) -> Self;
    /// Three servers configured by `set`, all started on empty disks.
    fn three_with(set: impl Fn(&mut Config) + 'static) -> Self;
    fn timeout(&mut self, i: u32);
    /// Server `c` stands (settling with `group`) until it leads.
    fn elect(&mut self, c: u32, group: &[u32]);
    fn paxos(&self, i: u32) -> &Paxos<NumApp>;
    /// Takes what `i` sent since the last call.
    fn sent(&mut self, i: u32) -> Vec<(u32, W)>;
}

impl PaxosCluster for Cluster {
    fn three(bugs: Bugs) -> Cluster {
        Cluster::three_with(move |c| c.bugs = bugs)
    }

    fn three_with(set: impl Fn(&mut Config) + 'static) -> Cluster {
        Cluster::build(3, move |i| {
            let mut c = Config::new(ProcessId(i), (0..3).map(ProcessId).collect());
            set(&mut c);
            Paxos::new(c)
        })
    }

    fn timeout(&mut self, i: u32) {
        self.fire(i, TIMER_ELECTION);
    }

    fn elect(&mut self, c: u32, group: &[u32]) {
        self.elect_by(c, group, TIMER_ELECTION);
    }

    fn paxos(&self, i: u32) -> &Paxos<NumApp> {
        self.engine(i)
    }

    fn sent(&mut self, i: u32) -> Vec<(u32, W)> {
        self.sent_raw(i)
    }
}

/// A leads ballot 64 with B and proposes `values` (only A accepts them); B leads the next
/// round's ballot with C (A cut off), never hearing of them, and proposes 20 (only B
/// accepts it). Everything in flight and emitted is forgotten. Returns B's ballot.
pub fn two_proposers(c: &mut Cluster, values: &[u64]) -> u64 {
    c.elect(A, &[A, B]);
    c.settle(&[A, B]);
    for value in values {
        c.propose(A, *value);
    }
    c.fsync_all(A);
    c.net.clear();
    c.elect(B, &[B, C]);
    c.settle(&[B, C]);
    let bb = c.paxos(B).own_ballot().expect("leading");
    assert_eq!(bb, BB + 64, "a ballot above A's promise, B's own");
    c.propose(B, 20);
    c.fsync_all(B);
    c.net.clear();
    c.clear();
    bb
}

/// A restarts (on its durable records) and stands with B, only Phase 1 delivered: its
/// first try (the next round's ballot 128) is below B's promise and refused, the next goes
/// above what the refusal said and wins.
pub fn a_stands_again_with_b(c: &mut Cluster) {
    c.crash(A);
    let phase1 = |_: u32, _: u32, m: &W| {
        matches!(
            m,
            Wire::Prepare { .. } | Wire::Promise { .. } | Wire::Nack { .. }
        )
    };
    c.timeout(A);
    c.settle_with(&[A, B], phase1);
    assert!(!c.paxos(A).is_leader());
    c.clear();
    c.timeout(A);
    c.settle_with(&[A, B], phase1);
    assert!(c.paxos(A).is_leader());
}

/// `c` with A leading ballot 64, B and C following it, all serving; everything emitted
/// forgotten.
pub fn led_by_a(mut c: Cluster) -> Cluster {
    c.elect(A, &ALL);
    c.settle(&ALL);
    assert!(c.paxos(A).is_established_leader());
    c.clear();
    c
}

/// The reports of the (first) Promise among what `i` sent since the last take.
pub fn promise_reports(c: &mut Cluster, i: u32) -> Vec<Report<NumApp>> {
    c.sent(i)
        .into_iter()
        .find_map(|(_, m)| match m {
            Wire::Promise { reports, .. } => Some(reports),
            _ => None,
        })
        .expect("a promise")
}

/// Only the Accepts among what `i` sent to `to` since the last take.
pub fn accepts_to(c: &mut Cluster, i: u32, to: u32) -> Vec<W> {
    c.sent(i)
        .into_iter()
        .filter(|(t, m)| *t == to && matches!(m, Wire::Accept { .. }))
        .map(|(_, m)| m)
        .collect()
}

/// What an acceptor reports of `slot` in a promise.
pub fn report(slot: u64, ballot: u64, value: V, decided: bool) -> Report<NumApp> {
    Report {
        slot,
        ballot,
        value,
        decided,
    }
}

/// Under A's leadership: A proposes 10 (slot 1) then 20 (slot 2); slot 1's Accepts are
/// lost and C accepts slot 2 only; then B stands with C (A gone) — slot 1 was accepted by
/// nobody it asks. Returns C's promise's reports.
pub fn slot_one_lost_then_b_stands(c: &mut Cluster) -> Vec<Report<NumApp>> {
    c.propose(A, 10);
    c.propose(A, 20);
    c.net
        .retain(|(_, to, m)| *to == C && matches!(m, Wire::Accept { slot: 2, .. }));
    c.fsync_all(A);
    assert!(c.deliver(A, C));
    c.fsync_all(C);
    c.net.clear();
    c.clear();
    c.timeout(B);
    c.settle(&[B, C]);
    promise_reports(c, C)
}
