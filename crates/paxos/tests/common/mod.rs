//! Multi-Paxos's side of the hand-driven test cluster (`replication::testkit`): servers
//! built with a planted-bug set, elections by settling, and short names for values.

#![allow(dead_code)]

use std::sync::Arc;

use paxos::{Bugs, Config, Paxos, Record, TIMER_ELECTION, Value, Wire};
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
