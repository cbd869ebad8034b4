//! Elections: the election timeout starts a candidacy in the next term (the own vote made
//! durable before any RequestVote goes out), RequestVote with Raft's up-to-date check, and
//! votes made durable before they are granted (unless `Bugs::no_vote_persist`).
//! Invariants: at most one vote per term (asserted by `set_hard_state`); a vote is granted
//! only to a candidate whose (last term, last index) is at least this server's; a candidate
//! counts its own vote only once it is durable; a quorum of votes makes it leader at once.

use proto::{Ctx, ProcessId};
use replication::App;

use crate::disk::Waiter;
use crate::engine::{Host, Out, Raft, Role};
use crate::msg::Wire;

impl<A: App> Raft<A> {
    /// No leader heard from in time: stand in the next term (a leader ignores the timer).
    pub(crate) fn on_election_timeout(
        &mut self,
        ctx: &mut Ctx,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if self.is_leader() {
            return;
        }
        let term = self.term + 1;
        self.set_hard_state(term, Some(self.cfg.me), out);
        self.become_candidate(ctx, host, out);
        self.when_durable(Waiter::Candidacy { term }, host, out);
    }

    fn become_candidate(&mut self, ctx: &mut Ctx, host: &mut Host<'_, A>, out: &mut Out<A>) {
        self.role = Role::Candidate {
            votes: Default::default(),
        };
        self.reset_election_timer(ctx, out);
        self.refresh(host, out);
    }

    /// The own vote of `term` is durable: count it and ask the others.
    pub(crate) fn candidacy_durable(
        &mut self,
        term: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if self.term != term {
            return;
        }
        let me = self.cfg.me;
        let Role::Candidate { votes } = &mut self.role else {
            return;
        };
        votes.insert(me);
        let ask = Wire::RequestVote {
            term,
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
        };
        for p in self.cfg.peers() {
            out.send(p, ask.clone());
        }
        self.count_votes(host, out);
    }

    fn count_votes(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let Role::Candidate { votes } = &self.role else {
            return;
        };
        if votes.len() >= self.cfg.quorum_size() {
            self.become_leader(host, out);
        }
    }

    /// A RequestVote of `term` (already at most the current term).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_request_vote(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        term: u64,
        last_index: u64,
        last_term: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert!(term <= self.term, "a later term was adopted first");
        let up_to_date = (last_term, last_index) >= (self.log.last_term(), self.log.last_index());
        let free = self.voted_for.is_none() || self.voted_for == Some(from);
        let follower = matches!(self.role, Role::Follower { .. });
        if term < self.term || !up_to_date || !free || !follower {
            let refuse = Wire::VoteReply {
                term: self.term,
                granted: false,
            };
            out.send(from, refuse);
            return;
        }
        if self.voted_for.is_none() {
            self.set_hard_state(term, Some(from), out);
        }
        assert_eq!(self.voted_for, Some(from), "one vote per term");
        self.reset_election_timer(ctx, out);
        if self.cfg.bugs.no_vote_persist {
            // Planted: the grant goes out before the vote is durable.
            self.vote_durable(term, from, out);
            self.when_durable(Waiter::Nothing, host, out);
        } else {
            self.when_durable(
                Waiter::Vote {
                    term,
                    candidate: from,
                },
                host,
                out,
            );
        }
    }

    /// The vote for `candidate` in `term` is durable: grant it (if still that term's).
    pub(crate) fn vote_durable(&mut self, term: u64, candidate: ProcessId, out: &mut Out<A>) {
        if self.term == term && self.voted_for == Some(candidate) {
            out.send(
                candidate,
                Wire::VoteReply {
                    term,
                    granted: true,
                },
            );
        }
    }

    pub(crate) fn on_vote_reply(
        &mut self,
        from: ProcessId,
        term: u64,
        granted: bool,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if term != self.term || !granted {
            return;
        }
        if let Role::Candidate { votes } = &mut self.role {
            votes.insert(from);
            self.count_votes(host, out);
        }
    }
}
