//! The acceptor: Prepare answered with a Promise once the promise is durable (reporting
//! every slot from the proposer's first unchosen one), Accept answered with Accepted once
//! the acceptance is durable (at once with `Bugs::no_accept_persist`), anything of a lower
//! ballot refused with a Nack; and following the proposer whose ballot it accepts in.
//! Invariants: nothing is promised or accepted below the promise; a promise and an
//! acceptance are durable before they are answered (without planted bugs); a server
//! follows only the owner of the ballot it promised.

use proto::{Ctx, ProcessId};
use replication::App;

use crate::disk::Waiter;
use crate::engine::{Host, Out, Paxos, Role};
use crate::log::Value;
use crate::msg::Wire;
use crate::record::Record;

/// An Accept as received.
pub(crate) struct Accept<A: App> {
    pub(crate) ballot: u64,
    pub(crate) slot: u64,
    pub(crate) value: Value<A>,
    pub(crate) chosen: u64,
    pub(crate) serving_from: u64,
}

impl<A: App> Paxos<A> {
    /// Refuses a message of `ballot` below the promise.
    fn nack(&self, to: ProcessId, ballot: u64, out: &mut Out<A>) {
        let promised = self.promised;
        assert!(
            ballot < promised,
            "a nack of a ballot at or above the promise"
        );
        out.send(to, Wire::Nack { ballot, promised });
    }

    /// A Prepare: promise `ballot` if it is above the promise (a leader or candidate of a
    /// lower one steps down), answer once durable; refuse a lower one.
    pub(crate) fn on_prepare(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        ballot: u64,
        from_slot: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if ballot < self.promised {
            self.nack(from, ballot, out);
            return;
        }
        assert_eq!(
            self.cfg.owner(ballot),
            from,
            "a Prepare of another's ballot"
        );
        if ballot > self.promised {
            self.promise(ballot, out);
            self.become_follower(ctx, None, host, out);
        }
        let waiter = Waiter::Promise {
            ballot,
            proposer: from,
            from_slot,
        };
        self.when_durable(waiter, host, out);
    }

    /// The promise of `ballot` is durable: report every slot from `from_slot` on.
    pub(crate) fn promise_durable(
        &mut self,
        ballot: u64,
        proposer: ProcessId,
        from_slot: u64,
        out: &mut Out<A>,
    ) {
        if self.promised != ballot {
            return;
        }
        let reports = self.log.reports_from(from_slot);
        out.send(
            proposer,
            Wire::Promise {
                ballot,
                from_slot,
                reports,
            },
        );
    }

    /// `from` leads `ballot` (at or above the promise): promise it if above, follow it,
    /// and wait an election timeout more. False (refused with a Nack) below the promise.
    pub(crate) fn follow_ballot(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        ballot: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> bool {
        if ballot < self.promised {
            self.nack(from, ballot, out);
            return false;
        }
        assert_eq!(self.cfg.owner(ballot), from, "a leader of another's ballot");
        // The same leader in a new ballot is a new leadership: the follower's view of it
        // (where it serves from, the link) starts again.
        let same = ballot == self.promised
            && matches!(self.role, Role::Follower { leader: Some(l) } if l == from);
        if ballot > self.promised {
            self.promise(ballot, out);
        }
        assert_eq!(self.promised, ballot, "following a ballot not promised");
        match self.role {
            _ if same => {
                self.reset_election_timer(ctx, out);
            }
            Role::Leader(_) | Role::Candidate(_) | Role::Follower { .. } => {
                assert!(
                    !self.is_leader() || self.own_ballot() < Some(ballot),
                    "a leader of ballot {ballot} heard its own ballot from {from}"
                );
                self.become_follower(ctx, Some(from), host, out);
            }
        }
        true
    }

    /// An Accept: accept it (at or above the promise), answer once durable, and learn what
    /// the leader says is chosen.
    pub(crate) fn on_accept(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        a: Accept<A>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.follow_ballot(ctx, from, a.ballot, host, out) {
            return;
        }
        assert!(a.slot >= 1, "an Accept of slot 0");
        let bugs = self.cfg.bugs.any();
        let same = self
            .log
            .get(a.slot)
            .and_then(|s| s.accepted.as_ref())
            .is_some_and(|(b, v)| *b == a.ballot && *v == a.value);
        if !same {
            self.log.accept(a.slot, a.ballot, a.value.clone(), bugs);
            let record = Record::Accept {
                slot: a.slot,
                ballot: a.ballot,
                value: a.value,
            };
            self.disk.append(record, out);
        }
        let (ballot, slot) = (a.ballot, a.slot);
        if self.cfg.bugs.no_accept_persist {
            // Planted: the acceptance is answered before it is durable.
            self.accepted_durable(ballot, slot, from, out);
            self.when_durable(Waiter::Nothing, host, out);
        } else {
            let waiter = Waiter::Accepted {
                ballot,
                slot,
                proposer: from,
            };
            self.when_durable(waiter, host, out);
        }
        self.learn_prefix(a.ballot, a.chosen, a.serving_from, host, out);
    }

    /// The acceptance at `slot` in `ballot` is durable: tell its proposer (if still ours).
    pub(crate) fn accepted_durable(
        &mut self,
        ballot: u64,
        slot: u64,
        proposer: ProcessId,
        out: &mut Out<A>,
    ) {
        if self.promised == ballot && self.log.accepted_ballot(slot) == ballot {
            out.send(proposer, Wire::Accepted { ballot, slot });
        }
    }
}
