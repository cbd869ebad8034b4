//! Fast leader election (ZooKeeper's `FastLeaderElection`: `lookForLeader` plus the
//! `WorkerReceiver` replies), driven by notifications and two timers.
//! Invariants: votes are totally ordered by `(peer_epoch, zxid, leader)` and only voters are
//! candidates; the logical clock never decreases while LOOKING (joining an established
//! leader takes that election's epoch, as ZooKeeper's `logicalclock.set` does, which may be
//! older); received votes are all from the current logical clock (`recv` is cleared when
//! the clock moves); a decision needs a quorum of voters on one vote (plus, for joining an
//! existing leader, the leader's own LEADING notification); the re-send timeout doubles up
//! to `notify_timeout_ms_max`. `Election::check_looking` asserts the vote and timeout ones
//! after every election input that leaves the server still LOOKING.

use std::collections::BTreeMap;

use proto::{Ctx, Epoch, NS_PER_MS, ProcessId, Zxid};

use crate::config::{TIMER_FINALIZE, TIMER_NOTIFY};
use crate::engine::{Host, Out, Zab};
use crate::msg::{Notification, Wire};
use crate::types::{ServerState, Vote};
use replication::{App, Event};

/// A vote as received: with its election epoch and the sender's state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ballot {
    pub(crate) vote: Vote,
    pub(crate) election_epoch: u64,
    pub(crate) state: ServerState,
}

impl Ballot {
    fn of(n: &Notification) -> Ballot {
        Ballot {
            vote: n.vote(),
            election_epoch: n.election_epoch,
            state: n.state,
        }
    }

    /// ZooKeeper's `Vote.equals`: when either side is LOOKING every field counts; between
    /// decided servers only the leader and its epoch do.
    fn matches(&self, other: &Ballot) -> bool {
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            self.vote == other.vote && self.election_epoch == other.election_epoch
        } else {
            self.vote.leader == other.vote.leader && self.vote.peer_epoch == other.vote.peer_epoch
        }
    }
}

#[derive(Debug)]
pub(crate) struct Election {
    pub(crate) logical_clock: u64,
    pub(crate) proposal: Vote,
    /// Votes of the current logical clock, by voter.
    recv: BTreeMap<ProcessId, Ballot>,
    /// Notifications from servers that already decided, by voter.
    out_of_election: BTreeMap<ProcessId, Ballot>,
    notify_timeout_ns: u64,
    /// A quorum agrees on `proposal`; TIMER_FINALIZE is armed.
    finalizing: bool,
    /// The decided vote (answered to LOOKING servers while not LOOKING).
    decided: Option<Ballot>,
}

impl Election {
    pub(crate) fn decided(&self) -> Option<Ballot> {
        self.decided
    }

    /// ZooKeeper's `updateElectionVote` (ZOOKEEPER-1732): once a leader and its learners
    /// agree on a new epoch, they answer LOOKING servers with that epoch as the vote's peer
    /// epoch, so that members that joined in different rounds still form one quorum.
    pub(crate) fn update_decided_epoch(&mut self, epoch: Epoch) {
        assert!(
            self.decided.is_some(),
            "an epoch agreed before the election decided"
        );
        if let Some(b) = self.decided.as_mut() {
            b.vote.peer_epoch = epoch;
        }
    }

    pub(crate) fn new() -> Election {
        Election {
            logical_clock: 0,
            proposal: Vote {
                leader: ProcessId(0),
                zxid: Zxid::ZERO,
                peer_epoch: Epoch(0),
            },
            recv: BTreeMap::new(),
            out_of_election: BTreeMap::new(),
            notify_timeout_ns: 0,
            finalizing: false,
            decided: None,
        }
    }
}

impl Election {
    /// While LOOKING: every received vote is of the current logical clock, and the re-send
    /// timeout is within its bounds. O(voters).
    fn check_looking(&self, notify_timeout_ns_max: u64) {
        assert!(
            self.recv
                .values()
                .all(|b| b.election_epoch == self.logical_clock),
            "a vote of another round is counted"
        );
        assert!(self.notify_timeout_ns > 0 && self.notify_timeout_ns <= notify_timeout_ns_max);
        assert!(self.decided.is_none(), "LOOKING with a decided vote");
    }
}

impl<A: App> Zab<A> {
    /// Whether `new` beats `cur` (ZooKeeper's `totalOrderPredicate`).
    pub(crate) fn vote_beats(&self, new: &Vote, cur: &Vote) -> bool {
        if !self.cfg.is_voter(new.leader) {
            return false;
        }
        if !self.cfg.is_voter(cur.leader) {
            return true;
        }
        if self.cfg.bugs.zk_1419 {
            // The historical grouping bug: the last term ignores the epoch.
            return new.peer_epoch > cur.peer_epoch
                || (new.peer_epoch == cur.peer_epoch && new.zxid > cur.zxid)
                || (new.zxid == cur.zxid && new.leader > cur.leader);
        }
        (new.peer_epoch, new.zxid, new.leader) > (cur.peer_epoch, cur.zxid, cur.leader)
    }

    /// This server's own candidacy (observers propose a non-candidate that any voter beats).
    fn initial_vote(&self) -> Vote {
        if self.is_voter() {
            Vote {
                leader: self.cfg.me,
                zxid: self.reported_last_zxid(),
                peer_epoch: self.reported_current_epoch(),
            }
        } else {
            Vote {
                leader: self.cfg.me,
                zxid: Zxid::ZERO,
                peer_epoch: Epoch(0),
            }
        }
    }

    /// Starts a new round of election (entering LOOKING).
    pub(crate) fn start_election(&mut self, ctx: &mut Ctx, out: &mut Out<A>) {
        assert_eq!(self.state, ServerState::Looking);
        let e = &mut self.election;
        e.logical_clock += 1;
        e.recv.clear();
        e.out_of_election.clear();
        e.finalizing = false;
        e.decided = None;
        e.notify_timeout_ns = self.cfg.notify_timeout_ms_start * NS_PER_MS;
        self.election.proposal = self.initial_vote();
        out.cancel_timer(TIMER_FINALIZE);
        self.send_notifications(out);
        self.set_timer(
            out,
            TIMER_NOTIFY,
            self.now.plus_ns(self.election.notify_timeout_ns),
        );
        self.check_looking_quorum(ctx, out);
        self.election
            .check_looking(self.cfg.notify_timeout_ms_max * NS_PER_MS);
    }

    /// The notification describing this server's current vote.
    fn my_notification(&self) -> Notification {
        match (self.state, self.election.decided) {
            (ServerState::Looking, _) | (_, None) => Notification {
                leader: self.election.proposal.leader,
                zxid: self.election.proposal.zxid,
                election_epoch: self.election.logical_clock,
                state: ServerState::Looking,
                sid: self.cfg.me,
                peer_epoch: self.election.proposal.peer_epoch,
            },
            (state, Some(b)) => Notification {
                leader: b.vote.leader,
                zxid: b.vote.zxid,
                election_epoch: b.election_epoch,
                state,
                sid: self.cfg.me,
                peer_epoch: b.vote.peer_epoch,
            },
        }
    }

    /// Sends the current proposal to every other voter (and records our own vote).
    fn send_notifications(&mut self, out: &mut Out<A>) {
        assert_eq!(self.state, ServerState::Looking);
        let n = self.my_notification();
        assert!(n.state == ServerState::Looking && n.election_epoch == self.election.logical_clock);
        for &v in &self.cfg.voters {
            if v != self.cfg.me {
                out.send(v, Wire::Notification(n));
            }
        }
        if self.is_voter() {
            self.election.recv.insert(self.cfg.me, Ballot::of(&n));
        }
    }

    fn quorum_on(&self, set: &BTreeMap<ProcessId, Ballot>, target: &Ballot) -> bool {
        let n = set
            .iter()
            .filter(|(sid, b)| self.cfg.is_voter(**sid) && b.matches(target))
            .count();
        assert!(n <= self.cfg.voters.len(), "a voter counted twice");
        n >= self.cfg.quorum_size()
    }

    /// ZooKeeper's `checkLeader`: joining another leader needs its own LEADING notification;
    /// leading ourselves needs the decision to be of our current logical clock.
    fn leader_confirmed(
        &self,
        set: &BTreeMap<ProcessId, Ballot>,
        leader: ProcessId,
        ee: u64,
    ) -> bool {
        if leader != self.cfg.me {
            set.get(&leader)
                .is_some_and(|b| b.state == ServerState::Leading)
        } else {
            self.election.logical_clock == ee
        }
    }

    pub(crate) fn on_notification(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        n: Notification,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.cfg.is_server(from) || n.sid != from || from == self.cfg.me {
            return;
        }
        if !self.cfg.is_voter(from) {
            // An observer asking who leads: answer with our current vote, whatever our state.
            out.send(from, Wire::Notification(self.my_notification()));
            return;
        }
        if self.state != ServerState::Looking {
            if n.state == ServerState::Looking {
                out.send(from, Wire::Notification(self.my_notification()));
            }
            return;
        }
        if n.state == ServerState::Looking && n.election_epoch < self.election.logical_clock {
            out.send(from, Wire::Notification(self.my_notification()));
        }
        if !self.cfg.is_voter(n.leader) {
            return;
        }
        if self.election.finalizing {
            // ZooKeeper's finalize wait consumes notifications: only a better vote reopens it.
            if !self.vote_beats(&n.vote(), &self.election.proposal) {
                return;
            }
            self.election.finalizing = false;
            out.cancel_timer(TIMER_FINALIZE);
        }
        match n.state {
            ServerState::Looking => self.fle_from_looking(ctx, from, &n, out),
            ServerState::Observing => {}
            ServerState::Following | ServerState::Leading => {
                self.fle_from_decided(ctx, from, &n, host, out)
            }
        }
        // A better vote that turned out stale (an older round) must not leave an agreeing
        // quorum without a finalize timer: nothing else would re-check it.
        if self.state == ServerState::Looking {
            self.check_looking_quorum(ctx, out);
            self.election
                .check_looking(self.cfg.notify_timeout_ms_max * NS_PER_MS);
        }
    }

    fn fle_from_looking(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        n: &Notification,
        out: &mut Out<A>,
    ) {
        assert!(self.state == ServerState::Looking && n.state == ServerState::Looking);
        let lc = self.election.logical_clock;
        if n.election_epoch > lc {
            self.election.logical_clock = n.election_epoch;
            self.election.recv.clear();
            let init = self.initial_vote();
            self.election.proposal = if self.vote_beats(&n.vote(), &init) {
                n.vote()
            } else {
                init
            };
            self.send_notifications(out);
        } else if n.election_epoch < lc {
            return;
        } else if self.vote_beats(&n.vote(), &self.election.proposal) {
            self.election.proposal = n.vote();
            self.send_notifications(out);
        }
        self.election.recv.insert(from, Ballot::of(n));
        self.check_looking_quorum(ctx, out);
    }

    /// A quorum agrees on our proposal: wait `finalize_wait_ms` for a better vote.
    fn check_looking_quorum(&mut self, _ctx: &mut Ctx, out: &mut Out<A>) {
        assert_eq!(self.state, ServerState::Looking);
        if self.election.finalizing {
            return;
        }
        let target = Ballot {
            vote: self.election.proposal,
            election_epoch: self.election.logical_clock,
            state: ServerState::Looking,
        };
        if self.quorum_on(&self.election.recv, &target) {
            self.election.finalizing = true;
            self.set_timer(
                out,
                TIMER_FINALIZE,
                self.now.plus_ns(self.cfg.finalize_wait_ms * NS_PER_MS),
            );
        }
    }

    fn fle_from_decided(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        n: &Notification,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert!(matches!(
            n.state,
            ServerState::Following | ServerState::Leading
        ));
        let b = Ballot::of(n);
        if n.election_epoch == self.election.logical_clock {
            self.election.recv.insert(from, b);
            if self.quorum_on(&self.election.recv, &b)
                && self.leader_confirmed(&self.election.recv, n.leader, n.election_epoch)
            {
                self.decide(ctx, b, host, out);
                return;
            }
        }
        self.election.out_of_election.insert(from, b);
        if self.quorum_on(&self.election.out_of_election, &b)
            && self.leader_confirmed(&self.election.out_of_election, n.leader, n.election_epoch)
        {
            self.election.logical_clock = n.election_epoch;
            self.decide(ctx, b, host, out);
        }
    }

    pub(crate) fn on_finalize_timeout(
        &mut self,
        ctx: &mut Ctx,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if self.state != ServerState::Looking || !self.election.finalizing {
            return;
        }
        self.election.finalizing = false;
        let b = Ballot {
            vote: self.election.proposal,
            election_epoch: self.election.logical_clock,
            state: ServerState::Looking,
        };
        // While finalizing no vote is taken in (a better one ends the wait), so the quorum
        // that started it still agrees.
        assert!(
            self.quorum_on(&self.election.recv, &b),
            "finalizing without a quorum"
        );
        self.decide(ctx, b, host, out);
    }

    pub(crate) fn on_notify_timeout(&mut self, _ctx: &mut Ctx, out: &mut Out<A>) {
        if self.state != ServerState::Looking {
            return;
        }
        if !self.election.finalizing {
            self.send_notifications(out);
        }
        let max_ns = self.cfg.notify_timeout_ms_max * NS_PER_MS;
        self.election.notify_timeout_ns = (self.election.notify_timeout_ns * 2).min(max_ns);
        self.set_timer(
            out,
            TIMER_NOTIFY,
            self.now.plus_ns(self.election.notify_timeout_ns),
        );
        self.election.check_looking(max_ns);
    }

    /// The election decided `b.vote.leader`: take the matching role.
    fn decide(&mut self, ctx: &mut Ctx, b: Ballot, host: &mut Host<'_, A>, out: &mut Out<A>) {
        assert_eq!(self.state, ServerState::Looking);
        assert!(self.cfg.is_voter(b.vote.leader), "decided a non-voter");
        self.election.decided = Some(b);
        self.election.finalizing = false;
        out.cancel_timer(TIMER_NOTIFY);
        out.cancel_timer(TIMER_FINALIZE);
        out.note(Event::ElectionDone {
            leader: b.vote.leader,
            election_epoch: b.election_epoch,
        });
        if b.vote.leader == self.cfg.me {
            assert!(self.is_voter());
            self.become_leader(ctx, host, out);
        } else {
            self.become_learner(ctx, b.vote.leader, host, out);
        }
        assert_ne!(
            self.state,
            ServerState::Looking,
            "decided but still looking"
        );
    }
}
