//! The acceptor: Prepare answered with a Promise once the promise is durable (reporting
//! every slot from the proposer's first unchosen one), Accept answered with Accepted once
//! the acceptance is durable (at once with `Bugs::no_accept_persist`), anything of a lower
//! ballot refused with a Nack; and following the proposer whose ballot it accepts in.
//! Under prefix acceptance (`Order::Prefix`) slot `k` is accepted in ballot `b` only once
//! slot `k - 1` is accepted in `b` or known chosen: an Accept that comes too early is held
//! back (at most `HELD_MAX`, the rest refused silently: the leader sends it again) and
//! taken once the slot before is accepted or learned.
//! Invariants: nothing is promised or accepted below the promise; a promise and an
//! acceptance are durable before they are answered (without planted bugs); a server
//! follows only the owner of the ballot it promised; every held Accept is of the ballot
//! promised.

use proto::{Ctx, ProcessId};
use replication::App;

use crate::config::HELD_MAX;
use crate::disk::Waiter;
use crate::engine::{Host, Out, Paxos, Role};
use crate::log::Value;
use crate::msg::Wire;
use crate::record::Record;

/// An Accept as received.
#[derive(Debug)]
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

    /// An Accept: accept it (at or above the promise; under prefix acceptance once the
    /// slot before is accepted in its ballot, else held back), answer once durable, and
    /// learn what the leader says is chosen.
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
        let (ballot, chosen, serving_from) = (a.ballot, a.chosen, a.serving_from);
        if self.cfg.prefix() && !self.prefix_ready(a.ballot, a.slot) {
            if self.held.len() < HELD_MAX {
                self.held.insert(a.slot, (from, a));
            }
        } else {
            self.accept_now(from, a, host, out);
            self.accept_held(host, out);
        }
        self.learn_prefix(ballot, chosen, serving_from, host, out);
    }

    /// Prefix acceptance: whether slot `slot` may be accepted in `ballot` (the slot before
    /// accepted in it, or known chosen, which this log then holds as accepted).
    fn prefix_ready(&self, ballot: u64, slot: u64) -> bool {
        slot == 1
            || slot - 1 <= self.log.chosen_upto()
            || self.log.accepted_ballot(slot - 1) == ballot
    }

    /// Prefix acceptance: takes the held Accepts that are next in order.
    pub(crate) fn accept_held(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        while let Some((&slot, (_, a))) = self.held.first_key_value() {
            assert_eq!(a.ballot, self.promised, "an Accept held of another ballot");
            if !self.prefix_ready(a.ballot, slot) {
                return;
            }
            let (_, (from, a)) = self.held.pop_first().expect("first");
            self.accept_now(from, a, host, out);
        }
    }

    /// Accepts `a` (its ballot is the promise), answered once durable.
    fn accept_now(
        &mut self,
        from: ProcessId,
        a: Accept<A>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert_eq!(a.ballot, self.promised, "accepting off the promise");
        let same = self
            .log
            .get(a.slot)
            .and_then(|s| s.accepted.as_ref())
            .is_some_and(|(b, v)| *b == a.ballot && *v == a.value);
        if !same {
            self.log_accept(a.slot, a.ballot, a.value, out);
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
    }

    /// Accepts `value` at `slot` in `ballot` under the configured order and appends the
    /// record (durable once the caller waits for it).
    pub(crate) fn log_accept(&mut self, slot: u64, ballot: u64, value: Value<A>, out: &mut Out<A>) {
        let bugs = self.cfg.bugs.any();
        if self.cfg.prefix() {
            self.log.accept_prefix(slot, ballot, value.clone(), bugs);
        } else {
            self.log.accept(slot, ballot, value.clone(), bugs);
        }
        self.disk.append(
            Record::Accept {
                slot,
                ballot,
                value,
            },
            out,
        );
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
