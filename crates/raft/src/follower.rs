//! The follower: AppendEntries (the log-matching check, conflict truncation, appends made
//! durable before the acknowledgement), commit learned from the leader, a heartbeat payload
//! per leader round, barriers answered by the leader's read index, and the application's
//! messages riding the leader–follower relation.
//! Invariants: a follower follows at most one leader per term (two are possible only with
//! a planted bug); entries that match are never cut, so a stale or duplicated
//! AppendEntries cannot shorten the log; the commit index learned is at most what this
//! AppendEntries verified; committed entries are never cut (without planted bugs); at most
//! `READS_MAX` barriers wait for their read index.

use proto::{Ctx, ProcessId};
use replication::{App, Command, Event};

use crate::config::READS_MAX;
use crate::disk::Waiter;
use crate::engine::{Host, Out, Raft, Role};
use crate::log::Slot;
use crate::msg::Wire;
use crate::record::Record;

/// An AppendEntries as received.
pub(crate) struct Append<A: App> {
    pub(crate) term: u64,
    pub(crate) prev_index: u64,
    pub(crate) prev_term: u64,
    pub(crate) entries: Vec<Slot<A>>,
    pub(crate) leader_commit: u64,
    pub(crate) seq: u64,
    /// The leader's view of this follower's link: its id and what it took.
    pub(crate) link: u64,
    pub(crate) acked: u64,
}

impl<A: App> Raft<A> {
    pub(crate) fn on_append_entries(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        ae: Append<A>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if ae.term < self.term {
            self.refuse_append(from, 0, ae.seq, out);
            return;
        }
        if !self.accept_leader(ctx, from, host, out) {
            return;
        }
        self.reset_election_timer(ctx, out);
        self.resend_up(from, ae.link, ae.acked, out);
        let new_round = ae.seq > self.pinged_seq;
        if new_round {
            self.pinged_seq = ae.seq;
            let payload = host.heartbeat();
            out.send(
                from,
                Wire::Ping {
                    term: self.term,
                    payload,
                },
            );
        }
        if self.log.term_at(ae.prev_index) != Some(ae.prev_term) {
            let hint = ae.prev_index.saturating_sub(1).min(self.log.last_index());
            self.refuse_append(from, hint, ae.seq, out);
            return;
        }
        let verified = ae.prev_index + ae.entries.len() as u64;
        let news = !ae.entries.is_empty() || new_round || verified > self.acked_match;
        self.merge_entries(ae.prev_index, ae.entries, out);
        self.learn_commit(ae.leader_commit.min(verified), host, out);
        if !news {
            // Only the commit index travelled (the leader's commit advance): nothing to
            // acknowledge that an acknowledgement already on its way does not say.
            return;
        }
        self.acked_match = self.acked_match.max(verified);
        let ack = Waiter::FollowerAck {
            term: self.term,
            leader: from,
            match_index: verified,
            seq: ae.seq,
        };
        self.when_durable(ack, host, out);
    }

    fn refuse_append(&mut self, to: ProcessId, hint: u64, seq: u64, out: &mut Out<A>) {
        let refuse = Wire::AppendReply {
            term: self.term,
            success: false,
            match_index: hint,
            seq,
            link: self.link_id,
            acked: self.up.received,
        };
        out.send(to, refuse);
    }

    /// The leader took this follower's link messages through `acked` (if the link is this
    /// incarnation's): drop those, send again what stayed unacknowledged for a heartbeat.
    fn resend_up(&mut self, leader: ProcessId, link: u64, acked: u64, out: &mut Out<A>) {
        if link == self.link_id {
            self.up.ack(acked);
        }
        for m in self.up.due(self.now, self.cfg.heartbeat_ns()) {
            out.send(leader, m);
        }
    }

    /// The leader's message on this follower's link: whether it is the next in order from
    /// the leader followed in `term` (taken if so).
    pub(crate) fn follower_take(
        &mut self,
        from: ProcessId,
        term: u64,
        link: u64,
        seq: u64,
    ) -> bool {
        let following = matches!(self.role, Role::Follower { leader: Some(l) } if l == from);
        following && term == self.term && link == self.link_id && self.up.take(seq)
    }

    /// `from` leads this term: follow it. False if this server already knows another
    /// leader of this term, or leads it (possible only with a planted bug).
    fn accept_leader(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> bool {
        match self.role {
            Role::Follower { leader: Some(l) } if l == from => true,
            Role::Leader(_) | Role::Follower { leader: Some(_) } => {
                assert!(
                    self.cfg.bugs.any(),
                    "two leaders in term {}: {from} and {:?}",
                    self.term,
                    self.leader_known()
                );
                false
            }
            Role::Candidate { .. } | Role::Follower { leader: None } => {
                self.become_follower(ctx, Some(from), host, out);
                true
            }
        }
    }

    /// Appends what the log lacks after `prev`, cutting a conflicting suffix first.
    fn merge_entries(&mut self, prev: u64, entries: Vec<Slot<A>>, out: &mut Out<A>) {
        for (k, slot) in entries.into_iter().enumerate() {
            let index = prev + 1 + k as u64;
            match self.log.term_at(index) {
                Some(t) if t == slot.term => continue,
                Some(_) => self.truncate_from(index, out),
                None => {}
            }
            assert_eq!(index, self.log.last_index() + 1);
            self.log.append(slot.clone());
            self.disk.append(Record::Entry { index, slot }, out);
        }
    }

    fn truncate_from(&mut self, index: u64, out: &mut Out<A>) {
        if index <= self.commit {
            // Only a planted bug commits what a later leader overwrites.
            assert!(
                self.cfg.bugs.any(),
                "cutting committed index {index} (commit {})",
                self.commit
            );
            self.commit = index - 1;
            self.applied = self.applied.min(index - 1);
        }
        let after = self.log.zxid_floor(index - 1);
        let removed = self.log.truncate_from(index);
        self.disk.append(Record::Truncate { from: index }, out);
        if !removed.is_empty() {
            out.note(Event::Truncated {
                after,
                removed: removed.into_boxed_slice(),
            });
        }
    }

    fn learn_commit(&mut self, index: u64, host: &mut Host<'_, A>, out: &mut Out<A>) {
        if index <= self.commit {
            return;
        }
        self.set_commit(index);
        self.deliver_committed(host, out);
        self.refresh(host, out);
        self.answer_follower_reads(host, out);
    }

    /// The log through `match_index` is durable: acknowledge it (if still in `term`).
    pub(crate) fn follower_ack_durable(
        &mut self,
        term: u64,
        leader: ProcessId,
        match_index: u64,
        seq: u64,
        out: &mut Out<A>,
    ) {
        if self.term != term {
            return;
        }
        let ack = Wire::AppendReply {
            term,
            success: true,
            match_index,
            seq,
            link: self.link_id,
            acked: self.up.received,
        };
        out.send(leader, ack);
    }

    /// The leader answered a barrier (taken in order from the leader followed): it
    /// completes once `index` is applied here.
    pub(crate) fn on_read_done(
        &mut self,
        index: u64,
        token: A::Msg,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if self.follower_reads.len() >= READS_MAX {
            return;
        }
        self.follower_reads.push_back((index, token));
        self.answer_follower_reads(host, out);
    }

    fn answer_follower_reads(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let applied = self.applied;
        let mut waiting = std::collections::VecDeque::new();
        while let Some((index, token)) = self.follower_reads.pop_front() {
            if index <= applied {
                host.command(Command::BarrierDone(token), out);
            } else {
                waiting.push_back((index, token));
            }
        }
        self.follower_reads = waiting;
    }

    /// The application's message, taken in order on its link: to a leader from a follower
    /// of its term, to a follower from its leader.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_app(
        &mut self,
        from: ProcessId,
        term: u64,
        link: u64,
        seq: u64,
        msg: A::Msg,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let ok = match self.role {
            Role::Leader(_) => term == self.term && self.leader_take(from, link, seq),
            _ => self.follower_take(from, term, link, seq),
        };
        if ok {
            host.command(Command::Message { from, msg }, out);
        }
    }
}
