//! Raft's side of the hand-driven test cluster (`replication::testkit`): servers built
//! from a config template, elections (by settling, or by votes alone), and sends compared
//! without their link fields.

#![allow(dead_code)]

use proto::ProcessId;
use raft::{Bugs, Config, Raft, Record, TIMER_ELECTION, Wire};
#[allow(unused_imports)]
pub use replication::testkit::{Num, NumApp, Seen, Tag};

pub type W = Wire<NumApp>;
pub type R = Record<NumApp>;
pub type Cluster = replication::testkit::Cluster<Raft<NumApp>>;

/// `w` with its link ids and acknowledgements zeroed: the engine tests compare the
/// protocol's content, `tests/link.rs` the link fields themselves.
pub fn unlinked(w: W) -> W {
    match w {
        Wire::AppendEntries {
            term,
            prev_index,
            prev_term,
            entries,
            leader_commit,
            seq,
            ..
        } => Wire::AppendEntries {
            term,
            prev_index,
            prev_term,
            entries,
            leader_commit,
            seq,
            link: 0,
            acked: 0,
        },
        Wire::AppendReply {
            term,
            success,
            match_index,
            seq,
            ..
        } => Wire::AppendReply {
            term,
            success,
            match_index,
            seq,
            link: 0,
            acked: 0,
        },
        Wire::ReadIndex {
            term, seq, token, ..
        } => Wire::ReadIndex {
            term,
            link: 0,
            seq,
            token,
        },
        Wire::ReadDone {
            term,
            seq,
            index,
            token,
            ..
        } => Wire::ReadDone {
            term,
            link: 0,
            seq,
            index,
            token,
        },
        Wire::App { term, seq, msg, .. } => Wire::App {
            term,
            link: 0,
            seq,
            msg,
        },
        other => other,
    }
}

pub fn config(me: u32, n: u32, bugs: Bugs) -> Config {
    let mut c = Config::new(ProcessId(me), (0..n).map(ProcessId).collect());
    c.bugs = bugs;
    c
}

/// Raft's driving on top of the generic cluster.
pub trait RaftCluster {
    /// `n` servers, all started on empty disks.
    fn new(n: u32, bugs: Bugs) -> Self;
    /// Servers configured as `template` (but for `me`), all started on empty disks.
    fn with_config(template: Config) -> Self;
    /// Fires the election timer of `i`.
    fn timeout(&mut self, i: u32);
    /// Server `c` stands in elections (settling with `group`) until it leads.
    fn elect(&mut self, c: u32, group: &[u32]);
    /// Server `c` stands in elections among `group` until it leads, exchanging only votes:
    /// every other message among the group (its first AppendEntries) is dropped.
    fn win(&mut self, c: u32, group: &[u32]);
    fn raft(&self, i: u32) -> &Raft<NumApp>;
    /// Takes what `i` sent since the last call, link fields zeroed (`unlinked`).
    fn sent(&mut self, i: u32) -> Vec<(u32, W)>;
}

impl RaftCluster for Cluster {
    fn new(n: u32, bugs: Bugs) -> Cluster {
        Cluster::with_config(config(0, n, bugs))
    }

    fn with_config(template: Config) -> Cluster {
        let n = template.voters.len() as u32;
        Cluster::build(n, move |i| {
            let mut cfg = template.clone();
            cfg.me = ProcessId(i);
            Raft::new(cfg)
        })
    }

    fn timeout(&mut self, i: u32) {
        self.fire(i, TIMER_ELECTION);
    }

    fn elect(&mut self, c: u32, group: &[u32]) {
        self.elect_by(c, group, TIMER_ELECTION);
    }

    fn win(&mut self, c: u32, group: &[u32]) {
        for _ in 0..5 {
            self.timeout(c);
            let vote = |_: u32, _: u32, m: &W| {
                matches!(m, Wire::RequestVote { .. } | Wire::VoteReply { .. })
            };
            self.settle_with(group, vote);
            if self.raft(c).is_leader() {
                return;
            }
        }
        panic!("p{c} never won");
    }

    fn raft(&self, i: u32) -> &Raft<NumApp> {
        self.engine(i)
    }

    fn sent(&mut self, i: u32) -> Vec<(u32, W)> {
        self.sent_raw(i)
            .into_iter()
            .map(|(to, w)| (to, unlinked(w)))
            .collect()
    }
}
