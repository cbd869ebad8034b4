//! The leader: the no-op of its term, replication by AppendEntries (pipelined from each
//! follower's `next`, batches of at most `append_entries_max`, back to the follower's hint
//! on a mismatch), commit by counting `matched` for entries of its own term only (all
//! terms with `Bugs::figure8`), heartbeat rounds with a quorum check, proposals, and
//! ReadIndex barriers.
//! Invariants: for every peer `matched < next <= last_index + 1`; the leader counts its
//! own copy only once durable (`own_match`); it is established exactly when its no-op is
//! committed, and serves only from then on; at most `OUTSTANDING_PROPOSALS_MAX` proposed
//! entries are uncommitted and at most `READS_MAX` reads pending; reads are answered in
//! order, each only after a heartbeat round sent after it was asked was acknowledged by a
//! quorum, and (locally) once its read index is applied.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use proto::{ProcessId, Time, Zxid};
use replication::{App, Command, Entry, Event};

use crate::config::{OUTSTANDING_PROPOSALS_MAX, READS_MAX, TIMER_ELECTION, TIMER_HEARTBEAT};
use crate::disk::Waiter;
use crate::engine::{Host, Out, Raft, Role};
use crate::link::Link;
use crate::log::{LogEntry, Slot, epoch_of};
use crate::msg::Wire;
use crate::record::Record;

/// What the leader knows of one follower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Progress<A: App> {
    /// The next index to send.
    pub(crate) next: u64,
    /// The follower's log matches this leader's durably through here.
    pub(crate) matched: u64,
    /// The latest heartbeat round it answered.
    pub(crate) acked_seq: u64,
    pub(crate) last_heard: Time,
    /// The link to the follower's latest incarnation heard (`crate::link`).
    pub(crate) link: Link<A>,
}

/// An AppendReply as received.
pub(crate) struct Reply {
    pub(crate) success: bool,
    pub(crate) match_index: u64,
    pub(crate) seq: u64,
    pub(crate) link: u64,
    pub(crate) acked: u64,
}

/// A pending barrier: answered once heartbeat round `seq` is confirmed by a quorum and,
/// for this server's own, once `index` is applied.
#[derive(Clone, Debug)]
pub(crate) struct Read<A: App> {
    index: u64,
    seq: u64,
    requester: ProcessId,
    /// The requester's link when it asked (0: this server's own read).
    link: u64,
    token: A::Msg,
}

#[derive(Debug)]
pub(crate) struct LeaderState<A: App> {
    pub(crate) noop_index: u64,
    pub(crate) established: bool,
    /// The counter of the last application entry proposed in this term.
    pub(crate) last_counter: u32,
    pub(crate) peers: BTreeMap<ProcessId, Progress<A>>,
    pub(crate) own_match: u64,
    /// The last heartbeat round sent.
    pub(crate) sent_seq: u64,
    pub(crate) reads: VecDeque<Read<A>>,
}

impl<A: App> Raft<A> {
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

    /// Won the election: append the term's no-op and start replicating.
    pub(crate) fn become_leader(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        out.cancel_timer(TIMER_ELECTION);
        out.note(Event::ElectionDone {
            leader: self.cfg.me,
            election_epoch: self.term,
        });
        let next = self.log.last_index() + 1;
        let now = self.now;
        let peers = self.cfg.peers().into_iter().map(|p| {
            let progress = Progress {
                next,
                matched: 0,
                acked_seq: 0,
                last_heard: now,
                link: Link::new(0),
            };
            (p, progress)
        });
        self.role = Role::Leader(Box::new(LeaderState {
            noop_index: next,
            established: false,
            last_counter: 0,
            peers: peers.collect(),
            own_match: 0,
            sent_seq: 0,
            reads: VecDeque::new(),
        }));
        self.refresh(host, out);
        self.leader_append(LogEntry::Noop, host, out);
        self.broadcast_round(out);
        out.set_timer(TIMER_HEARTBEAT, now.plus_ns(self.cfg.heartbeat_ns()));
    }

    /// Appends an entry of this term to the log and the disk; counts itself once durable.
    fn leader_append(&mut self, entry: LogEntry<A>, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let slot = Slot {
            term: self.term,
            entry,
        };
        let index = self.log.last_index() + 1;
        self.log.append(slot.clone());
        self.disk.append(Record::Entry { index, slot }, out);
        let term = self.term;
        self.when_durable(Waiter::LeaderAppend { term, index }, host, out);
    }

    pub(crate) fn leader_append_durable(
        &mut self,
        term: u64,
        index: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if self.term != term || !self.is_leader() {
            return;
        }
        let l = self.lead_mut();
        l.own_match = l.own_match.max(index);
        self.advance_commit(host, out);
    }

    /// Sends `peer` the entries from its `next` (none: a heartbeat) with the commit index.
    fn replicate(&mut self, peer: ProcessId, out: &mut Out<A>) {
        let (term, commit, last) = (self.term, self.commit, self.log.last_index());
        let batch = self.cfg.append_entries_max as u64;
        let Role::Leader(l) = &mut self.role else {
            panic!("not leading");
        };
        let seq = l.sent_seq;
        let p = l.peers.get_mut(&peer).expect("a peer");
        assert!(
            p.matched < p.next && p.next <= last + 1,
            "progress {p:?} outside the log"
        );
        let prev_index = p.next - 1;
        let to = last.min(prev_index + batch);
        let msg = Wire::AppendEntries {
            term,
            prev_index,
            prev_term: self.log.term_at(prev_index).expect("prev in the log"),
            entries: self.log.range(prev_index + 1, to).to_vec(),
            leader_commit: commit,
            seq,
            link: p.link.id,
            acked: p.link.received,
        };
        p.next = to + 1;
        out.send(peer, msg);
    }

    fn replicate_all(&mut self, out: &mut Out<A>) {
        for p in self.cfg.peers() {
            self.replicate(p, out);
        }
    }

    /// A new heartbeat round: AppendEntries to every peer, and again what each peer's link
    /// left unacknowledged for a heartbeat.
    fn broadcast_round(&mut self, out: &mut Out<A>) {
        self.lead_mut().sent_seq += 1;
        self.replicate_all(out);
        let (now, after) = (self.now, self.cfg.heartbeat_ns());
        for (peer, p) in self.lead_mut().peers.iter_mut() {
            for m in p.link.due(now, after) {
                out.send(*peer, m);
            }
        }
    }

    /// The follower's link is `link`: a newer incarnation's replaces the old one (whose
    /// unacknowledged messages were for a process that is gone). False for an older one.
    fn peer_link(p: &mut Progress<A>, link: u64) -> bool {
        if link > p.link.id {
            p.link = Link::new(link);
        }
        link == p.link.id
    }

    /// A follower's message on its link: whether it is the next in order (taken if so).
    pub(crate) fn leader_take(&mut self, from: ProcessId, link: u64, seq: u64) -> bool {
        let now = self.now;
        let p = self.lead_mut().peers.get_mut(&from).expect("a peer");
        p.last_heard = now;
        Self::peer_link(p, link) && p.link.take(seq)
    }

    /// Sends `to` the message `make(term, link, seq)` on its link. False when the
    /// follower's link is not known yet (it has not answered this leader).
    pub(crate) fn leader_send_linked(
        &mut self,
        to: ProcessId,
        make: impl FnOnce(u64, u64, u64) -> Wire<A>,
        out: &mut Out<A>,
    ) -> bool {
        let (now, term) = (self.now, self.term);
        let p = self.lead_mut().peers.get_mut(&to).expect("a peer");
        if p.link.id == 0 {
            return false;
        }
        let msg = p.link.push(now, |link, seq| make(term, link, seq));
        out.send(to, msg);
        true
    }

    pub(crate) fn on_append_reply(
        &mut self,
        from: ProcessId,
        term: u64,
        reply: Reply,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if term != self.term || !self.is_leader() {
            return;
        }
        let Reply {
            success,
            match_index,
            seq,
            link,
            acked,
        } = reply;
        let (now, last) = (self.now, self.log.last_index());
        let p = self.lead_mut().peers.get_mut(&from).expect("a peer");
        p.acked_seq = p.acked_seq.max(seq);
        p.last_heard = now;
        if Self::peer_link(p, link) {
            p.link.ack(acked);
        }
        if success {
            assert!(
                match_index <= last,
                "a follower matched past the leader's log"
            );
            p.matched = p.matched.max(match_index);
            p.next = p.next.max(p.matched + 1);
            self.advance_commit(host, out);
            // What is still unsent to `from` (a commit advance may have sent it already).
            if self.is_leader() && self.lead().peers[&from].next <= self.log.last_index() {
                self.replicate(from, out);
            }
        } else {
            p.next = (match_index + 1).max(p.matched + 1).min(last + 1);
            self.replicate(from, out);
        }
        self.answer_reads(host, out);
    }

    /// Commits the highest index a quorum holds, if it is of this term (any term with
    /// the planted Figure 8 bug).
    fn advance_commit(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let l = self.lead();
        let mut matched: Vec<u64> = l.peers.values().map(|p| p.matched).collect();
        matched.push(l.own_match);
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let n = matched[self.cfg.quorum_size() - 1];
        if n <= self.commit {
            return;
        }
        if !self.cfg.bugs.figure8 && self.log.term_at(n) != Some(self.term) {
            return;
        }
        self.commit_to(n, host, out);
    }

    fn commit_to(&mut self, n: u64, host: &mut Host<'_, A>, out: &mut Out<A>) {
        for i in self.commit + 1..=n {
            if let Some(zxid) = self.log.get(i).and_then(Slot::zxid) {
                out.note(Event::Committed { zxid });
            }
        }
        self.set_commit(n);
        self.deliver_committed(host, out);
        let l = self.lead_mut();
        if !l.established && n >= l.noop_index {
            l.established = true;
            out.note(Event::Established {
                epoch: epoch_of(self.term),
            });
            self.refresh(host, out);
        }
        self.replicate_all(out);
        self.answer_reads(host, out);
    }

    /// The heartbeat: step down without a quorum heard from within an election timeout;
    /// else a new round, and the host's tick once established.
    pub(crate) fn on_heartbeat(
        &mut self,
        ctx: &mut proto::Ctx,
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
        self.broadcast_round(out);
        out.set_timer(TIMER_HEARTBEAT, now.plus_ns(self.cfg.heartbeat_ns()));
        if self.is_established_leader() {
            host.command(Command::LeaderTick, out);
        }
    }

    // ---- the server's requests ----------------------------------------------------------

    pub(crate) fn leader_next_position(&self) -> Option<Zxid> {
        let Role::Leader(l) = &self.role else {
            return None;
        };
        let outstanding = self.log.last_index() - self.commit;
        if !l.established || outstanding >= OUTSTANDING_PROPOSALS_MAX as u64 {
            return None;
        }
        let counter = l.last_counter.checked_add(1)?;
        Some(Zxid::new(epoch_of(self.term), counter))
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
        self.lead_mut().last_counter = zxid.counter();
        self.leader_append(LogEntry::App(Arc::new(entry)), host, out);
        for p in self.cfg.peers() {
            if self.lead().peers[&p].next == self.log.last_index() {
                self.replicate(p, out);
            }
        }
    }

    /// A barrier of `requester` (this server or a follower) at the current commit index.
    /// False when not established or too many are pending.
    pub(crate) fn leader_read(
        &mut self,
        requester: ProcessId,
        token: A::Msg,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> bool {
        let (index, me) = (self.commit, self.cfg.me);
        let l = self.lead_mut();
        if !l.established || l.reads.len() >= READS_MAX {
            return false;
        }
        let seq = l.sent_seq + 1;
        let link = match requester == me {
            true => 0,
            false => l.peers[&requester].link.id,
        };
        l.reads.push_back(Read {
            index,
            seq,
            requester,
            link,
            token,
        });
        self.answer_reads(host, out);
        true
    }

    /// The heartbeat round a quorum (this server included) has acknowledged.
    fn confirmed_seq(&self) -> u64 {
        let l = self.lead();
        let mut acked: Vec<u64> = l.peers.values().map(|p| p.acked_seq).collect();
        acked.push(l.sent_seq);
        acked.sort_unstable_by(|a, b| b.cmp(a));
        acked[self.cfg.quorum_size() - 1]
    }

    /// Answers the reads at the front whose round is confirmed (a local one once its index
    /// is applied); starts the round the first waiting read needs when none is in flight.
    pub(crate) fn answer_reads(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        if !self.is_leader() {
            return;
        }
        let (me, applied) = (self.cfg.me, self.applied);
        loop {
            let confirmed = self.confirmed_seq();
            let l = self.lead_mut();
            let Some(front) = l.reads.front() else {
                return;
            };
            if front.seq <= confirmed {
                if front.requester == me && front.index > applied {
                    return;
                }
                let read = l.reads.pop_front().expect("front");
                if read.requester == me {
                    host.command(Command::BarrierDone(read.token), out);
                } else if l.peers[&read.requester].link.id == read.link {
                    // (A read of a follower incarnation that is gone is dropped.)
                    let (index, token) = (read.index, read.token);
                    let make = |term, link, seq| Wire::ReadDone {
                        term,
                        link,
                        seq,
                        index,
                        token,
                    };
                    // The requester asked on its link, so the link is known.
                    let sent = self.leader_send_linked(read.requester, make, out);
                    assert!(sent, "a read of a follower whose link is unknown");
                }
            } else if front.seq > l.sent_seq && confirmed >= l.sent_seq {
                self.broadcast_round(out);
            } else {
                return;
            }
        }
    }

    /// Whether `peer` answered within an election timeout (a leader's view of "connected").
    pub(crate) fn peer_reachable(&self, peer: ProcessId) -> bool {
        let Role::Leader(l) = &self.role else {
            return false;
        };
        l.peers
            .get(&peer)
            .is_some_and(|p| self.now.since_ns(p.last_heard) < self.cfg.election_timeout_ns())
    }

    /// Whether `peer` serves under this established leader: it is reachable and has
    /// talked to this leader on its link. A follower sends the application's messages only
    /// while it serves (it knows this term's no-op committed), so one that arrived says so;
    /// the leader's own count of the peer's durable match may lag behind it (a slow fsync),
    /// and a write forwarded meanwhile must not be dropped: the follower would wait for it
    /// forever (default.toml seed 42 on raft).
    pub(crate) fn leader_peer_serving(&self, peer: ProcessId) -> bool {
        let Role::Leader(l) = &self.role else {
            return false;
        };
        l.established && self.peer_reachable(peer) && l.peers[&peer].link.id != 0
    }

    pub(crate) fn check_leader_invariants(&self, l: &LeaderState<A>) {
        let last = self.log.last_index();
        assert!(l.noop_index <= last && l.own_match <= last);
        assert_eq!(
            l.established,
            self.commit >= l.noop_index,
            "established exactly when the no-op is committed"
        );
        assert!(l.reads.len() <= READS_MAX, "too many reads");
        assert!(
            last - self.commit <= OUTSTANDING_PROPOSALS_MAX as u64 + 1,
            "too many outstanding"
        );
        for p in l.peers.values() {
            assert!(
                p.matched < p.next && p.next <= last + 1,
                "progress {p:?} outside the log"
            );
            assert!(
                p.acked_seq <= l.sent_seq,
                "a round acknowledged before it was sent"
            );
        }
    }
}
