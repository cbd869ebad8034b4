//! The proposer: candidacy in a ballot above every ballot seen (its own promise durable
//! before any Prepare), Phase 1 over every slot from its first unchosen one, and — with a
//! quorum of promises — the distinguished proposer's work: re-proposing, slot by slot, the
//! value decided or accepted with the highest ballot (a no-op in a gap), pipelined Phase 2
//! for new values within the window, counting acceptances, heartbeats (its failure
//! detector: it steps down without a quorum heard within an election timeout; Accepts
//! sent again; catch-up of followers' missing chosen values), and barriers as no-ops
//! through the log.
//! Invariants: a leader promised its own ballot; every slot it proposed and did not yet
//! count a quorum for is pending (a recovered slot already chosen here is pending with its
//! chosen value); it is established exactly when every slot before its first new
//! one is chosen (and so delivered), and serves only from then on; at most `window` new
//! values and `READS_MAX` barriers are pending; barriers are answered in slot order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use proto::{Ctx, ProcessId, Time, Zxid};
use replication::{App, Command, Entry, Event};

use crate::config::{
    LEARN_BATCH_MAX, Order, READS_MAX, TAKEN_MAX, TIMER_ELECTION, TIMER_HEARTBEAT, epoch_of,
};
use crate::disk::Waiter;
use crate::engine::{Host, Link, Out, Paxos, Role};
use crate::log::{Report, Value};
use crate::msg::Wire;

/// Phase 1 of a ballot.
#[derive(Debug)]
pub(crate) struct Candidacy<A: App> {
    pub(crate) ballot: u64,
    /// Every slot before it is chosen here.
    pub(crate) from_slot: u64,
    /// The promises gathered (its own once durable), with their reports.
    pub(crate) promises: BTreeMap<ProcessId, Vec<Report<A>>>,
}

/// A slot proposed in this ballot and not seen chosen yet.
#[derive(Debug)]
pub(crate) struct Proposal<A: App> {
    pub(crate) value: Value<A>,
    pub(crate) acks: BTreeSet<ProcessId>,
}

/// What the leader knows of one follower.
#[derive(Debug)]
pub(crate) struct Peer<A: App> {
    pub(crate) last_heard: Time,
    /// The link to the follower's latest incarnation heard.
    pub(crate) link: Link<A>,
}

/// A pending barrier: answered once its no-op's slot is delivered.
#[derive(Debug)]
pub(crate) struct Read<A: App> {
    slot: u64,
    requester: ProcessId,
    /// The requester's link when it asked (0: this server's own barrier).
    link: u64,
    token: A::Msg,
}

#[derive(Debug)]
pub(crate) struct LeaderState<A: App> {
    pub(crate) ballot: u64,
    /// Its first slot for new values; every slot before it was recovered.
    pub(crate) first_new: u64,
    pub(crate) next_slot: u64,
    pub(crate) established: bool,
    /// The counter of the last application entry proposed in this ballot.
    pub(crate) last_counter: u32,
    pub(crate) pending: BTreeMap<u64, Proposal<A>>,
    /// New application values pending (what the window bounds).
    pub(crate) pending_new: usize,
    /// New application values taken while the window was full, proposed in order as it
    /// frees (with the window, at most `max(window, TAKEN_MAX)` taken and not chosen).
    pub(crate) queued: VecDeque<Value<A>>,
    pub(crate) peers: BTreeMap<ProcessId, Peer<A>>,
    pub(crate) reads: VecDeque<Read<A>>,
}

impl<A: App> Paxos<A> {
    fn lead(&self) -> &LeaderState<A> {
        match &self.role {
            Role::Leader(l) => l,
            _ => panic!("not leading"),
        }
    }

    fn lead_mut(&mut self) -> &mut LeaderState<A> {
        match &mut self.role {
            Role::Leader(l) => l,
            _ => panic!("not leading"),
        }
    }

    /// The ballot this server leads (None unless leading).
    pub(crate) fn leading_ballot(&self) -> Option<u64> {
        match &self.role {
            Role::Leader(l) => Some(l.ballot),
            _ => None,
        }
    }

    /// No leader heard from in time: stand in a ballot above every one seen (a leader
    /// ignores the timer).
    pub(crate) fn on_election_timeout(
        &mut self,
        ctx: &mut Ctx,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if self.is_leader() {
            return;
        }
        let ballot = self.cfg.ballot_above(self.seen.max(self.promised));
        self.promise(ballot, out);
        self.role = Role::Candidate(Box::new(Candidacy {
            ballot,
            from_slot: self.log.chosen_upto() + 1,
            promises: BTreeMap::new(),
        }));
        self.serving_from = 0;
        self.reset_election_timer(ctx, out);
        self.refresh(host, out);
        self.when_durable(Waiter::Candidacy { ballot }, host, out);
    }

    /// The own promise of `ballot` is durable: count it and ask the others.
    pub(crate) fn candidacy_durable(
        &mut self,
        ballot: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let (me, peers) = (self.cfg.me, self.cfg.peers());
        let own = match &self.role {
            Role::Candidate(c) if c.ballot == ballot => self.log.reports_from(c.from_slot),
            _ => return,
        };
        let Role::Candidate(c) = &mut self.role else {
            unreachable!()
        };
        c.promises.insert(me, own);
        let prepare = Wire::Prepare {
            ballot,
            from_slot: c.from_slot,
        };
        for p in peers {
            out.send(p, prepare.clone());
        }
        self.count_promises(host, out);
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_promise(
        &mut self,
        from: ProcessId,
        ballot: u64,
        from_slot: u64,
        reports: Vec<Report<A>>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let Role::Candidate(c) = &mut self.role else {
            return;
        };
        if c.ballot != ballot || c.from_slot != from_slot {
            return;
        }
        assert!(
            reports.windows(2).all(|w| w[0].slot < w[1].slot)
                && reports.first().is_none_or(|r| r.slot >= from_slot),
            "a promise's reports out of slot order"
        );
        c.promises.insert(from, reports);
        self.count_promises(host, out);
    }

    fn count_promises(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let Role::Candidate(c) = &self.role else {
            return;
        };
        if c.promises.len() >= self.cfg.quorum_size() {
            self.become_leader(host, out);
        }
    }

    /// A refusal: a candidate or leader of `ballot` learns of `promised` and steps down.
    pub(crate) fn on_nack(
        &mut self,
        ctx: &mut Ctx,
        ballot: u64,
        promised: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        self.seen = self.seen.max(promised);
        if self.own_ballot() == Some(ballot) && promised > ballot {
            self.become_follower(ctx, None, host, out);
        }
    }

    /// A quorum promised: recover the slots from the first unchosen one (classic: per
    /// slot; prefix: one promise's log, then a value of its own) and re-propose them all.
    fn become_leader(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let Role::Candidate(c) = std::mem::replace(&mut self.role, Role::Follower { leader: None })
        else {
            panic!("not a candidate");
        };
        let recovered = match self.cfg.order {
            Order::Classic => self.recover_per_slot(&c),
            Order::Prefix => self.recover_prefix(&c),
        };
        let last = c.from_slot - 1 + recovered.len() as u64;
        assert!(
            c.from_slot > self.log.chosen_upto() || self.cfg.bugs.any(),
            "Phase 1 from a slot already chosen here"
        );
        out.cancel_timer(TIMER_ELECTION);
        out.note(Event::ElectionDone {
            leader: self.cfg.me,
            election_epoch: c.ballot,
        });
        let now = self.now;
        let peers = self.cfg.peers().into_iter().map(|p| {
            let peer = Peer {
                last_heard: now,
                link: Link::new(0),
            };
            (p, peer)
        });
        // Prefix acceptance: an older proposer's values are chosen only under one of this
        // ballot's own (Raft's commit rule), so a recovery ends with a no-op of its own.
        let mark = self.cfg.prefix() && !recovered.is_empty();
        self.role = Role::Leader(Box::new(LeaderState {
            ballot: c.ballot,
            first_new: last + 1,
            next_slot: last + 1 + u64::from(mark),
            established: false,
            last_counter: 0,
            pending: BTreeMap::new(),
            pending_new: 0,
            queued: VecDeque::new(),
            peers: peers.collect(),
            reads: VecDeque::new(),
        }));
        self.refresh(host, out);
        for (slot, value) in (c.from_slot..).zip(recovered) {
            self.propose_slot(slot, value, host, out);
        }
        if mark {
            self.propose_slot(last + 1, Value::Mark(c.ballot), host, out);
        }
        // Establishing sends a round of its own.
        self.check_established(host, out);
        if !self.is_established_leader() {
            self.heartbeat_round(false, out);
        }
        out.set_timer(TIMER_HEARTBEAT, now.plus_ns(self.cfg.heartbeat_ns()));
    }

    /// Classic recovery, per slot from the first unchosen one: the value decided, else the
    /// one accepted with the highest ballot, else a no-op (a hole).
    fn recover_per_slot(&self, c: &Candidacy<A>) -> Vec<Value<A>> {
        let mut best: BTreeMap<u64, (bool, u64, Value<A>)> = BTreeMap::new();
        for reports in c.promises.values() {
            for r in reports {
                assert!(
                    r.slot >= c.from_slot,
                    "a report before the first unchosen slot"
                );
                let key = (r.decided, r.ballot);
                match best.get(&r.slot) {
                    Some((d, b, v)) if (*d, *b) >= key => {
                        assert!(
                            !(*d && r.decided) || *v == r.value || self.cfg.bugs.any(),
                            "slot {}: two values decided",
                            r.slot
                        );
                    }
                    _ => {
                        best.insert(r.slot, (r.decided, r.ballot, r.value.clone()));
                    }
                }
            }
        }
        let last = best.last_key_value().map_or(c.from_slot - 1, |(s, _)| *s);
        (c.from_slot..=last)
            .map(|slot| best.remove(&slot).map_or(Value::Noop, |(_, _, v)| v))
            .collect()
    }

    /// Prefix recovery: the whole log, from the first unchosen slot, of the promise whose
    /// last value is the newest — the highest tag (the ballot that proposed it), then the
    /// longest — as ZAB's and Raft's new leader takes the most up-to-date history. Logs of
    /// equal rank are equal, and it holds every value any promise reports decided.
    fn recover_prefix(&self, c: &Candidacy<A>) -> Vec<Value<A>> {
        let bugs = self.cfg.bugs.any();
        let rank =
            |reports: &[Report<A>]| reports.last().map_or((0, 0), |r| (r.value.tag(), r.slot));
        for reports in c.promises.values() {
            assert!(
                reports
                    .iter()
                    .enumerate()
                    .all(|(i, r)| r.slot == c.from_slot + i as u64),
                "a promise's log with a hole under prefix acceptance"
            );
            assert!(
                reports
                    .windows(2)
                    .all(|w| w[0].value.tag() <= w[1].value.tag()),
                "a promise's log whose tags go back"
            );
        }
        let best = c
            .promises
            .values()
            .max_by_key(|r| rank(r))
            .expect("a quorum of promises");
        let values: Vec<Value<A>> = best.iter().map(|r| r.value.clone()).collect();
        for reports in c.promises.values() {
            assert!(
                bugs || rank(reports) != rank(best)
                    || reports.iter().zip(&values).all(|(r, v)| r.value == *v),
                "two logs of one rank differ"
            );
            for r in reports.iter().filter(|r| r.decided) {
                let i = (r.slot - c.from_slot) as usize;
                assert!(
                    bugs || values.get(i) == Some(&r.value),
                    "slot {}: a value decided missing from the log recovered",
                    r.slot
                );
            }
        }
        values
    }

    /// Phase 2 of `value` at `slot`: accept it itself (counted once durable) and ask every
    /// peer. A recovered slot may already be chosen here (this server's own earlier
    /// ballot chose it out of order): it is proposed again all the same, with its chosen
    /// value, so followers accept it in this ballot and learn it with the prefix.
    fn propose_slot(
        &mut self,
        slot: u64,
        value: Value<A>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let (chosen, serving_from) = (self.log.chosen_upto(), self.leader_serving_from());
        let ballot = self.lead().ballot;
        assert_eq!(self.promised, ballot, "a leader off its own promise");
        assert!(
            slot > self.log.chosen_upto()
                || self.log.chosen_at(slot) == Some(&value)
                || self.cfg.bugs.any(),
            "proposing another value in chosen slot {slot}"
        );
        let proposal = Proposal {
            value: value.clone(),
            acks: BTreeSet::new(),
        };
        assert!(
            self.lead_mut().pending.insert(slot, proposal).is_none(),
            "slot {slot} proposed twice"
        );
        self.log_accept(slot, ballot, value.clone(), out);
        let accept = Wire::Accept {
            ballot,
            slot,
            value,
            chosen,
            serving_from,
        };
        for p in self.cfg.peers() {
            out.send(p, accept.clone());
        }
        if self.cfg.bugs.no_accept_persist {
            self.when_durable(Waiter::Nothing, host, out);
            self.leader_ack(ballot, slot, self.cfg.me, host, out);
        } else {
            self.when_durable(Waiter::LeaderAccept { ballot, slot }, host, out);
        }
    }

    /// The slot the leader serves from once established (0 before).
    fn leader_serving_from(&self) -> u64 {
        let l = self.lead();
        if l.established { l.first_new } else { 0 }
    }

    /// `who` accepted `slot` in `ballot`: with a quorum the slot is chosen; the chosen
    /// prefix is delivered.
    pub(crate) fn leader_ack(
        &mut self,
        ballot: u64,
        slot: u64,
        who: ProcessId,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if self.leading_ballot() != Some(ballot) {
            return;
        }
        assert!(
            self.cfg.is_voter(who),
            "an acceptance from {who}, not a voter"
        );
        let (quorum, bugs, first_new) = (
            self.cfg.quorum_size(),
            self.cfg.bugs.any(),
            self.lead().first_new,
        );
        let prefix = self.cfg.prefix();
        let l = self.lead_mut();
        let Some(p) = l.pending.get_mut(&slot) else {
            return;
        };
        p.acks.insert(who);
        if p.acks.len() < quorum {
            return;
        }
        // Prefix acceptance: a quorum accepted the log through `slot` in this ballot, but
        // an older proposer's value is chosen only under one of this ballot's (Raft's
        // commit rule: else a newer log of an older ballot could still win a recovery).
        if prefix && p.value.tag() != ballot {
            return;
        }
        let through = match prefix {
            true => l.pending.range(..=slot).map(|(s, _)| *s).collect(),
            false => vec![slot],
        };
        let mut taken = Vec::with_capacity(through.len());
        for s in through {
            let p = l.pending.remove(&s).expect("pending");
            if s >= first_new && p.value.zxid().is_some() {
                l.pending_new -= 1;
            }
            taken.push((s, p.value));
        }
        let mut grew = false;
        for (s, value) in taken {
            grew |= self.log.choose(s, value, bugs);
        }
        self.propose_queued(host, out);
        if prefix && grew && self.lead().pending.is_empty() {
            // Prefix acceptance, as ZAB's COMMIT: with nothing more in flight (no Accept
            // to carry the chosen prefix), the followers hear of it now, not a heartbeat
            // later.
            self.heartbeat_round(false, out);
        }
        if grew {
            self.deliver_chosen(host, out);
            self.check_established(host, out);
            self.answer_reads(host, out);
        }
    }

    /// Established once every recovered slot is chosen and delivered.
    fn check_established(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let (chosen, ballot) = (self.log.chosen_upto(), self.lead().ballot);
        let l = self.lead_mut();
        if l.established || chosen + 1 < l.first_new {
            return;
        }
        l.established = true;
        out.note(Event::Established {
            epoch: epoch_of(ballot),
        });
        self.refresh(host, out);
        self.heartbeat_round(false, out);
    }

    /// A heartbeat to every peer, with what its link left unacknowledged for a heartbeat
    /// and (`resend`: on the timer) the Accepts it has not answered.
    fn heartbeat_round(&mut self, resend: bool, out: &mut Out<A>) {
        let (now, after) = (self.now, self.cfg.heartbeat_ns());
        let (chosen, serving_from) = (self.log.chosen_upto(), self.leader_serving_from());
        let l = self.lead_mut();
        let ballot = l.ballot;
        for (peer, p) in l.peers.iter_mut() {
            let beat = Wire::Heartbeat {
                ballot,
                chosen,
                serving_from,
                link: p.link.id,
                acked: p.link.received,
            };
            out.send(*peer, beat);
            for m in p.link.due(now, after) {
                out.send(*peer, m);
            }
            for (slot, prop) in l.pending.iter() {
                if resend && !prop.acks.contains(peer) {
                    let accept = Wire::Accept {
                        ballot,
                        slot: *slot,
                        value: prop.value.clone(),
                        chosen,
                        serving_from,
                    };
                    out.send(*peer, accept);
                }
            }
        }
    }

    /// The heartbeat: step down without a quorum heard from within an election timeout;
    /// else a round, and the host's tick once established.
    pub(crate) fn on_heartbeat_timer(
        &mut self,
        ctx: &mut Ctx,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.is_leader() {
            return;
        }
        let (now, timeout) = (self.now, self.cfg.election_timeout_ns());
        let heard = 1 + self
            .lead()
            .peers
            .values()
            .filter(|p| now.since_ns(p.last_heard) < timeout)
            .count();
        if heard < self.cfg.quorum_size() {
            self.become_follower(ctx, None, host, out);
            return;
        }
        self.heartbeat_round(true, out);
        out.set_timer(TIMER_HEARTBEAT, now.plus_ns(self.cfg.heartbeat_ns()));
        if self.is_established_leader() {
            host.command(Command::LeaderTick, out);
        }
    }

    pub(crate) fn heard(&mut self, from: ProcessId) {
        let now = self.now;
        if let Some(p) = self.lead_mut().peers.get_mut(&from) {
            p.last_heard = now;
        }
    }

    /// The follower's link is `link`: a newer incarnation's replaces the old one. False
    /// for an older one.
    fn peer_link(p: &mut Peer<A>, link: u64) -> bool {
        if link > p.link.id {
            p.link = Link::new(link);
        }
        link == p.link.id
    }

    /// A follower's answer to a heartbeat: its link, its payload for the host, and the
    /// chosen values it lacks.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_heartbeat_reply(
        &mut self,
        from: ProcessId,
        ballot: u64,
        chosen: u64,
        payload: A::Heartbeat,
        link: u64,
        acked: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if self.leading_ballot() != Some(ballot) {
            return;
        }
        self.heard(from);
        let p = self.lead_mut().peers.get_mut(&from).expect("a peer");
        if Self::peer_link(p, link) {
            p.link.ack(acked);
        }
        host.command(Command::Heartbeat { from, payload }, out);
        let have = self.log.chosen_upto();
        if chosen < have {
            let from_slot = chosen + 1;
            let to = have.min(chosen + LEARN_BATCH_MAX as u64);
            let values = (from_slot..=to)
                .map(|s| self.log.chosen_at(s).expect("a chosen slot").clone())
                .collect();
            let learn = Wire::Learn {
                ballot,
                from_slot,
                values,
            };
            out.send(from, learn);
        }
    }

    // ---- the server's requests ----------------------------------------------------------

    pub(crate) fn leader_next_position(&self) -> Option<Zxid> {
        let Role::Leader(l) = &self.role else {
            return None;
        };
        if !l.established || l.pending_new + l.queued.len() >= self.cfg.window.max(TAKEN_MAX) {
            return None;
        }
        let counter = l.last_counter.checked_add(1)?;
        Some(Zxid::new(epoch_of(l.ballot), counter))
    }

    pub(crate) fn leader_propose(
        &mut self,
        entry: A::Entry,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let zxid = entry.zxid();
        assert_eq!(
            Some(zxid),
            self.leader_next_position(),
            "not the position next_position gave"
        );
        out.note(Event::Proposed {
            zxid,
            digest: entry.digest(),
        });
        let window = self.cfg.window;
        let l = self.lead_mut();
        l.last_counter = zxid.counter();
        l.queued.push_back(Value::App(Arc::new(entry)));
        if l.pending_new < window {
            self.propose_queued(host, out);
        }
    }

    /// Proposes the values held back, in order, while the window has room.
    fn propose_queued(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let window = self.cfg.window;
        loop {
            let l = self.lead_mut();
            if l.pending_new >= window {
                return;
            }
            let Some(value) = l.queued.pop_front() else {
                return;
            };
            l.pending_new += 1;
            let slot = l.next_slot;
            l.next_slot += 1;
            self.propose_slot(slot, value, host, out);
        }
    }

    /// A barrier of `requester`: a no-op through the log; answered once it is delivered.
    pub(crate) fn leader_barrier(
        &mut self,
        requester: ProcessId,
        token: A::Msg,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> bool {
        let me = self.cfg.me;
        let l = self.lead_mut();
        if !l.established || l.reads.len() >= READS_MAX {
            return false;
        }
        let link = match requester == me {
            true => 0,
            false => l.peers[&requester].link.id,
        };
        let slot = l.next_slot;
        l.next_slot += 1;
        l.reads.push_back(Read {
            slot,
            requester,
            link,
            token,
        });
        let noop = match self.cfg.order {
            Order::Classic => Value::Noop,
            Order::Prefix => Value::Mark(self.lead().ballot),
        };
        self.propose_slot(slot, noop, host, out);
        true
    }

    /// This server's own barrier (the engine interface gives no clock here).
    pub(crate) fn leader_barrier_local(
        &mut self,
        token: A::Msg,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> bool {
        let me = self.cfg.me;
        self.leader_barrier(me, token, host, out)
    }

    /// Answers the barriers at the front whose no-op is delivered.
    pub(crate) fn answer_reads(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let (me, applied) = (self.cfg.me, self.applied);
        loop {
            let l = self.lead_mut();
            if l.reads.front().is_none_or(|r| r.slot > applied) {
                return;
            }
            let read = l.reads.pop_front().expect("front");
            if read.requester == me {
                host.command(Command::BarrierDone(read.token), out);
            } else if l.peers[&read.requester].link.id == read.link {
                // (A barrier of a follower incarnation that is gone is dropped.)
                let (slot, token) = (read.slot, read.token);
                let make = |ballot, link, seq| Wire::BarrierDone {
                    ballot,
                    link,
                    seq,
                    slot,
                    token,
                };
                let sent = self.leader_send_linked(read.requester, make, out);
                assert!(sent, "a barrier of a follower whose link is unknown");
            }
        }
    }

    /// A follower's message on its link: whether it is the next in order (taken if so).
    pub(crate) fn leader_take(&mut self, from: ProcessId, link: u64, seq: u64) -> bool {
        self.heard(from);
        let p = self.lead_mut().peers.get_mut(&from).expect("a peer");
        Self::peer_link(p, link) && p.link.take(seq)
    }

    /// Sends `to` the message `make(ballot, link, seq)` on its link. False when the
    /// follower's link is not known yet.
    pub(crate) fn leader_send_linked(
        &mut self,
        to: ProcessId,
        make: impl FnOnce(u64, u64, u64) -> Wire<A>,
        out: &mut Out<A>,
    ) -> bool {
        let now = self.now;
        let l = self.lead_mut();
        let ballot = l.ballot;
        let p = l.peers.get_mut(&to).expect("a peer");
        if p.link.id == 0 {
            return false;
        }
        let msg = p.link.push(now, |link, seq| make(ballot, link, seq));
        out.send(to, msg);
        true
    }

    /// Whether `peer` answered within an election timeout.
    pub(crate) fn peer_reachable(&self, peer: ProcessId) -> bool {
        let Role::Leader(l) = &self.role else {
            return false;
        };
        l.peers
            .get(&peer)
            .is_some_and(|p| self.now.since_ns(p.last_heard) < self.cfg.election_timeout_ns())
    }

    /// Whether `peer` serves under this established leader: reachable, and it has talked
    /// to this leader on its link (a follower sends on it only while serving).
    pub(crate) fn leader_peer_serving(&self, peer: ProcessId) -> bool {
        let Role::Leader(l) = &self.role else {
            return false;
        };
        l.established && self.peer_reachable(peer) && l.peers[&peer].link.id != 0
    }

    pub(crate) fn check_leader_invariants(&self, l: &LeaderState<A>) {
        assert_eq!(self.promised, l.ballot, "a leader off its own promise");
        assert!(
            l.first_new <= l.next_slot,
            "new slots before the recovered ones"
        );
        assert_eq!(
            l.established,
            self.log.chosen_upto() + 1 >= l.first_new,
            "established exactly when every recovered slot is chosen"
        );
        assert!(l.pending_new <= self.cfg.window, "the window overflows");
        assert!(
            l.queued.is_empty() || l.pending_new == self.cfg.window,
            "values held back with room in the window"
        );
        assert!(
            l.pending_new + l.queued.len() <= self.cfg.window.max(TAKEN_MAX),
            "more values taken than the bound"
        );
        assert!(l.reads.len() <= READS_MAX, "too many barriers");
        // A pending slot is unchosen here, or was chosen here before this ballot (a
        // candidate's own pipelined slots chosen out of order) with the value re-proposed.
        let (bugs, upto) = (self.cfg.bugs.any(), self.log.chosen_upto());
        for (slot, p) in l.pending.range(..=upto) {
            assert!(
                self.log.chosen_at(*slot) == Some(&p.value) || bugs,
                "slot {slot} pending with another value than the one chosen"
            );
        }
        assert!(
            l.pending
                .last_key_value()
                .is_none_or(|(s, _)| *s < l.next_slot),
            "a pending slot past the next one"
        );
    }
}
