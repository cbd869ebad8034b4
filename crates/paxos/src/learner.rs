//! The learner (every server that follows a leader): the chosen prefix learned from the
//! leader's Accepts and heartbeats (a slot accepted in the leader's ballot is chosen once
//! the leader's chosen prefix covers it), the values it lacks caught up by Learn, the
//! answer to each heartbeat (its chosen prefix, the application's heartbeat payload, its
//! link), barriers answered once their no-op is delivered, and the application's messages
//! on the link.
//! Under prefix acceptance a value learned chosen is also accepted (in the leader's
//! ballot, with its record), so the log holds every value known chosen.
//! Invariants: only a value accepted in the leader's own ballot, or sent by that leader
//! as chosen, is taken as chosen; at most `READS_MAX` barriers wait here.

use proto::{Ctx, ProcessId};
use replication::{App, Command};

use crate::config::READS_MAX;
use crate::engine::{Host, Out, Paxos, Role};
use crate::log::Value;
use crate::msg::Wire;

/// A heartbeat as received.
pub(crate) struct Beat {
    pub(crate) ballot: u64,
    pub(crate) chosen: u64,
    pub(crate) serving_from: u64,
    pub(crate) link: u64,
    pub(crate) acked: u64,
}

impl<A: App> Paxos<A> {
    /// Whether this server follows `from` in `ballot`.
    fn following(&self, from: ProcessId, ballot: u64) -> bool {
        matches!(self.role, Role::Follower { leader: Some(l) } if l == from)
            && ballot == self.promised
    }

    /// The leader of `ballot` says every slot through `chosen` is chosen and it serves
    /// from `serving_from`: take as chosen what this server accepted in that ballot.
    pub(crate) fn learn_prefix(
        &mut self,
        ballot: u64,
        chosen: u64,
        serving_from: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert_eq!(ballot, self.promised, "learning from a ballot not followed");
        let bugs = self.cfg.bugs.any();
        if serving_from > 0 {
            assert!(
                self.serving_from == 0 || self.serving_from == serving_from,
                "one leadership serves from one slot"
            );
            self.serving_from = serving_from;
        }
        while self.log.chosen_upto() < chosen {
            let slot = self.log.chosen_upto() + 1;
            let value = match self.log.get(slot).and_then(|s| s.accepted.as_ref()) {
                Some((b, v)) if *b == ballot => v.clone(),
                _ => break,
            };
            self.log.choose(slot, value, bugs);
        }
        self.after_learning(host, out);
    }

    fn after_learning(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        self.deliver_chosen(host, out);
        self.refresh(host, out);
        self.answer_follower_reads(host, out);
    }

    /// The leader's heartbeat: follow it, take its link's acknowledgements, learn, answer.
    pub(crate) fn on_heartbeat(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        beat: Beat,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.follow_ballot(ctx, from, beat.ballot, host, out) {
            return;
        }
        if beat.link == self.link_id {
            self.up.ack(beat.acked);
        }
        for m in self.up.due(self.now, self.cfg.heartbeat_ns()) {
            out.send(from, m);
        }
        self.learn_prefix(beat.ballot, beat.chosen, beat.serving_from, host, out);
        let payload = host.heartbeat();
        let reply = Wire::HeartbeatReply {
            ballot: beat.ballot,
            chosen: self.log.chosen_upto(),
            payload,
            link: self.link_id,
            acked: self.up.received,
        };
        out.send(from, reply);
    }

    /// Chosen values from the leader followed, from `from_slot` on.
    pub(crate) fn on_learn(
        &mut self,
        from: ProcessId,
        ballot: u64,
        from_slot: u64,
        values: Vec<Value<A>>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.following(from, ballot) {
            return;
        }
        assert!(
            from_slot >= 1 && values.len() <= crate::config::LEARN_BATCH_MAX,
            "a Learn of {} values from slot {from_slot}",
            values.len()
        );
        if self.cfg.prefix() && from_slot > self.log.chosen_upto() + 1 {
            // Prefix acceptance keeps one log: values past a hole (a catch-up meant for an
            // earlier incarnation) wait for the next heartbeat's.
            return;
        }
        let bugs = self.cfg.bugs.any();
        let mut appended = false;
        for (k, value) in values.into_iter().enumerate() {
            let slot = from_slot + k as u64;
            if self.cfg.prefix()
                && self
                    .log
                    .get(slot)
                    .and_then(|s| s.accepted.as_ref())
                    .is_none_or(|(_, v)| *v != value)
            {
                // Prefix acceptance: a chosen value learned is accepted in the leader's
                // ballot too, so the log holds what it knows chosen (and stays one prefix).
                self.log_accept(slot, ballot, value.clone(), out);
                appended = true;
            }
            self.log.choose(slot, value, bugs);
        }
        if appended {
            self.when_durable(crate::disk::Waiter::Nothing, host, out);
        }
        self.accept_held(host, out);
        self.after_learning(host, out);
    }

    /// The leader's message on this follower's link: whether it is the next in order from
    /// the leader followed in `ballot` (taken if so).
    pub(crate) fn follower_take(
        &mut self,
        from: ProcessId,
        ballot: u64,
        link: u64,
        seq: u64,
    ) -> bool {
        self.following(from, ballot) && link == self.link_id && self.up.take(seq)
    }

    /// The leader chose this server's barrier no-op at `slot`: it completes once `slot`
    /// is delivered here.
    pub(crate) fn on_barrier_done(
        &mut self,
        slot: u64,
        token: A::Msg,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if self.follower_reads.len() >= READS_MAX {
            return;
        }
        self.follower_reads.push_back((slot, token));
        self.answer_follower_reads(host, out);
    }

    fn answer_follower_reads(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let applied = self.applied;
        while self.follower_reads.front().is_some_and(|r| r.0 <= applied) {
            let (_, token) = self.follower_reads.pop_front().expect("front");
            host.command(Command::BarrierDone(token), out);
        }
    }

    /// The application's message, taken in order on its link: to a leader from a follower
    /// of its ballot, to a follower from its leader.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_app(
        &mut self,
        from: ProcessId,
        ballot: u64,
        link: u64,
        seq: u64,
        msg: A::Msg,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let ok = match self.role {
            Role::Leader(_) => {
                self.leading_ballot() == Some(ballot) && self.leader_take(from, link, seq)
            }
            _ => self.follower_take(from, ballot, link, seq),
        };
        if ok {
            host.command(Command::Message { from, msg }, out);
        }
    }
}
