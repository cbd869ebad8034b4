//! [`Raft`]: the Raft engine behind the `replication::Engine` interface. Owns dispatch of
//! inputs to the election, leader and follower code, the durable hard state, role
//! transitions (with their events and the status its host hears), in-order delivery of
//! committed entries, and read-only views for monitors and tests.
//! Invariants: `applied <= commit <= log.last_index`; `commit` never decreases (without
//! planted bugs); log terms are at most `term`; a candidate or leader voted for itself in
//! its term; at most one vote per term (`set_hard_state`); `delivered` is the zxid of the
//! last application entry through `applied`; `state`/`phase` follow the role and the host's
//! last heard status is the engine's status. [`Raft::check_invariants`] runs after every
//! input.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use proto::{Ctx, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};
use replication::{
    App, Command, Engine, Entry, Event, Phase, ServerState, Snapshot, Status, chain_digest,
};

use crate::config::{Config, READS_MAX, TIMER_ELECTION, TIMER_HEARTBEAT};
use crate::disk::{Disk, Waiter};
use crate::leader::LeaderState;
use crate::link::Link;
use crate::log::{LogEntry, RaftLog, epoch_of};
use crate::msg::Wire;
use crate::record::{Record, recover};

/// The outbox the engine writes to.
pub type Out<A> = proto::Outbox<Wire<A>, Record<A>, Event>;

/// The server above the engine, as the engine calls it.
pub type Host<'a, A> = dyn replication::Host<A, Out<A>> + 'a;

/// What the server is doing in its current term.
#[derive(Debug)]
pub(crate) enum Role<A: App> {
    /// Following `leader` (None: not heard from this term's leader yet).
    Follower {
        leader: Option<ProcessId>,
    },
    /// Asking for votes; `votes` counts itself once its own vote is durable.
    Candidate {
        votes: BTreeSet<ProcessId>,
    },
    Leader(Box<LeaderState<A>>),
}

/// The Raft engine of one voter. See the crate docs.
#[derive(Debug)]
pub struct Raft<A: App> {
    pub(crate) cfg: Config,
    pub(crate) started: bool,
    /// In-memory `currentTerm` and `votedFor` (the latest appended hard state).
    pub(crate) term: u64,
    pub(crate) voted_for: Option<ProcessId>,
    pub(crate) log: RaftLog<A>,
    /// The commit index this server knows, and the last index applied.
    pub(crate) commit: u64,
    pub(crate) applied: u64,
    /// The last delivered application zxid and the history digest through it.
    pub(crate) delivered: Zxid,
    pub(crate) history: u64,
    pub(crate) disk: Disk,
    pub(crate) role: Role<A>,
    pub(crate) reported: Status,
    pub(crate) state: ServerState,
    pub(crate) phase: Phase,
    /// The monotonic clock at the input being handled.
    pub(crate) now: Time,
    /// Follower: barriers the leader answered, waiting for their read index to apply.
    pub(crate) follower_reads: VecDeque<(u64, A::Msg)>,
    /// Follower: the leader's heartbeat round it last sent a ping for.
    pub(crate) pinged_seq: u64,
    /// Follower: the highest log index acknowledged (or to be, once durable) to the leader
    /// followed (an
    /// AppendEntries that adds nothing to it, brings no entries and opens no heartbeat
    /// round gets no reply: the leader learns nothing from one).
    pub(crate) acked_match: u64,
    /// This incarnation's link id (its monotonic clock at start, so later incarnations'
    /// are larger; 0 before start).
    pub(crate) link_id: u64,
    /// Follower: the link to the leader it follows (`crate::link`).
    pub(crate) up: Link<A>,
}

impl<A: App> Raft<A> {
    pub fn new(config: Config) -> Raft<A> {
        config.validate();
        Raft {
            cfg: config,
            started: false,
            term: 0,
            voted_for: None,
            log: RaftLog::new(),
            commit: 0,
            applied: 0,
            delivered: Zxid::ZERO,
            history: 0,
            disk: Disk::new(0),
            role: Role::Follower { leader: None },
            reported: Status::LOOKING,
            state: ServerState::Looking,
            phase: Phase::Election,
            now: Time::ZERO,
            follower_reads: VecDeque::new(),
            pinged_seq: 0,
            acked_match: 0,
            link_id: 0,
            up: Link::new(0),
        }
    }

    // ---- durable hard state -----------------------------------------------------------

    /// Sets and appends `(term, voted_for)`: the term never goes back and a term's vote,
    /// once cast, never changes.
    pub(crate) fn set_hard_state(
        &mut self,
        term: u64,
        voted_for: Option<ProcessId>,
        out: &mut Out<A>,
    ) {
        assert!(term >= self.term, "term goes back: {term} < {}", self.term);
        assert!(
            term > self.term || self.voted_for.is_none() || self.voted_for == voted_for,
            "a second vote in term {term}: {voted_for:?} after {:?}",
            self.voted_for
        );
        let _ = epoch_of(term);
        self.term = term;
        self.voted_for = voted_for;
        self.disk.append(Record::HardState { term, voted_for }, out);
    }

    /// A message of a later term: adopt it, with no vote, and follow nobody yet.
    pub(crate) fn step_up(
        &mut self,
        ctx: &mut Ctx,
        term: u64,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert!(term > self.term);
        self.set_hard_state(term, None, out);
        if !matches!(self.role, Role::Follower { leader: None }) {
            self.become_follower(ctx, None, host, out);
        }
    }

    // ---- roles ------------------------------------------------------------------------

    pub(crate) fn become_follower(
        &mut self,
        ctx: &mut Ctx,
        leader: Option<ProcessId>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if matches!(self.role, Role::Leader(_)) {
            out.cancel_timer(TIMER_HEARTBEAT);
        }
        self.role = Role::Follower { leader };
        self.pinged_seq = 0;
        self.acked_match = 0;
        self.up = Link::new(self.link_id);
        if let Some(leader) = leader {
            out.note(Event::ElectionDone {
                leader,
                election_epoch: self.term,
            });
        }
        self.reset_election_timer(ctx, out);
        self.refresh(host, out);
    }

    /// Election timeout: uniform in `[timeout, 2 * timeout)`, drawn from the kernel's
    /// per-process stream.
    pub(crate) fn reset_election_timer(&mut self, ctx: &mut Ctx, out: &mut Out<A>) {
        let base = self.cfg.election_timeout_ns();
        let at = self.now.plus_ns(base + ctx.below(base));
        out.set_timer(TIMER_ELECTION, at);
    }

    pub(crate) fn leader_known(&self) -> Option<ProcessId> {
        match &self.role {
            Role::Follower { leader } => *leader,
            Role::Candidate { .. } => None,
            Role::Leader(_) => Some(self.cfg.me),
        }
    }

    /// Whether this server serves clients: an established leader, or a follower that
    /// knows its leader's no-op committed.
    pub(crate) fn serving(&self) -> bool {
        match &self.role {
            Role::Leader(l) => l.established,
            Role::Follower { leader: Some(_) } => {
                self.commit > 0 && self.log.term_at(self.commit) == Some(self.term)
            }
            _ => false,
        }
    }

    fn role_view(&self) -> (ServerState, Phase) {
        let serving = self.serving();
        match &self.role {
            Role::Leader(_) if serving => (ServerState::Leading, Phase::Broadcast),
            Role::Leader(_) => (ServerState::Leading, Phase::Synchronization),
            Role::Follower { leader: Some(_) } if serving => {
                (ServerState::Following, Phase::Broadcast)
            }
            Role::Follower { leader: Some(_) } => (ServerState::Following, Phase::Synchronization),
            _ => (ServerState::Looking, Phase::Election),
        }
    }

    pub(crate) fn status_now(&self) -> Status {
        Status {
            state: self.role_view().0,
            leader: self.leader_known(),
            serving: self.serving(),
        }
    }

    /// Notes state and phase changes and tells the host a changed status.
    pub(crate) fn refresh(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let (state, phase) = self.role_view();
        if state != self.state {
            self.state = state;
            out.note(Event::State {
                state,
                epoch: epoch_of(self.term),
            });
        }
        if phase != self.phase {
            self.phase = phase;
            out.note(Event::Phase(phase));
            if let (Phase::Broadcast, Role::Follower { leader: Some(l) }) = (phase, &self.role) {
                out.note(Event::Synced {
                    leader: *l,
                    epoch: epoch_of(self.term),
                    last_zxid: self.log.last_zxid(),
                });
            }
        }
        let status = self.status_now();
        status.check();
        if status != self.reported {
            self.reported = status;
            host.command(Command::Status(status), out);
        }
    }

    // ---- commit and delivery ----------------------------------------------------------

    /// Raises the commit index to `index` (never lowers it).
    pub(crate) fn set_commit(&mut self, index: u64) {
        assert!(
            index > self.commit,
            "commit goes back: {index} <= {}",
            self.commit
        );
        assert!(
            index <= self.log.last_index(),
            "commit {index} past the log end {}",
            self.log.last_index()
        );
        self.commit = index;
    }

    /// Delivers, in log order, every application entry up to the commit index.
    pub(crate) fn deliver_committed(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        while self.applied < self.commit {
            let index = self.applied + 1;
            let slot = self.log.get(index).expect("a committed slot");
            if let LogEntry::App(e) = &slot.entry {
                let e = Arc::clone(e);
                let (zxid, digest) = (e.zxid(), e.digest());
                assert!(
                    zxid > self.delivered,
                    "delivery out of order: {zxid} after {}",
                    self.delivered
                );
                self.history = chain_digest(self.history, zxid, digest);
                self.delivered = zxid;
                self.applied = index;
                out.note(Event::Delivered { zxid, digest });
                host.command(Command::Deliver(e), out);
            } else {
                self.applied = index;
            }
        }
    }

    fn on_durable(&mut self, waiter: Waiter, host: &mut Host<'_, A>, out: &mut Out<A>) {
        match waiter {
            Waiter::Nothing => {}
            Waiter::Candidacy { term } => self.candidacy_durable(term, host, out),
            Waiter::Vote { term, candidate } => self.vote_durable(term, candidate, out),
            Waiter::FollowerAck {
                term,
                leader,
                match_index,
                seq,
            } => self.follower_ack_durable(term, leader, match_index, seq, out),
            Waiter::LeaderAppend { term, index } => {
                self.leader_append_durable(term, index, host, out)
            }
        }
    }

    /// Runs `waiter` once everything appended so far is durable (now, if it already is).
    pub(crate) fn when_durable(
        &mut self,
        waiter: Waiter,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if let Some(w) = self.disk.sync(waiter, out) {
            self.on_durable(w, host, out);
        }
    }

    /// Asserts the invariants of this file's header. Run at the end of every input.
    pub(crate) fn check_invariants(&self) {
        let bugs = self.cfg.bugs.any();
        assert!(
            self.applied <= self.commit && self.commit <= self.log.last_index(),
            "applied {} <= commit {} <= last {} broken",
            self.applied,
            self.commit,
            self.log.last_index()
        );
        assert!(
            self.log.last_term() <= self.term,
            "logged term {} above the current term {}",
            self.log.last_term(),
            self.term
        );
        assert!(
            bugs || self.delivered == self.log.zxid_floor(self.applied),
            "delivered {} is not the last entry through applied index {}",
            self.delivered,
            self.applied
        );
        assert_eq!(
            self.reported,
            self.status_now(),
            "the host missed a status change"
        );
        assert_eq!(
            (self.state, self.phase),
            self.role_view(),
            "state/phase do not follow the role"
        );
        assert!(self.follower_reads.len() <= READS_MAX);
        match &self.role {
            Role::Leader(l) => {
                assert_eq!(
                    self.voted_for,
                    Some(self.cfg.me),
                    "a leader that did not vote for itself"
                );
                self.check_leader_invariants(l);
            }
            Role::Candidate { votes } => {
                assert_eq!(
                    self.voted_for,
                    Some(self.cfg.me),
                    "a candidate that did not vote for itself"
                );
                assert!(
                    votes.len() < self.cfg.quorum_size(),
                    "a candidate with a quorum"
                );
            }
            Role::Follower { .. } => {}
        }
    }

    // ---- read-only views for monitors and tests ----------------------------------------

    pub fn config(&self) -> &Config {
        &self.cfg
    }
    pub fn term(&self) -> u64 {
        self.term
    }
    pub fn voted_for(&self) -> Option<ProcessId> {
        self.voted_for
    }
    pub fn log(&self) -> &RaftLog<A> {
        &self.log
    }
    pub fn commit_index(&self) -> u64 {
        self.commit
    }
    pub fn applied_index(&self) -> u64 {
        self.applied
    }
    /// The history digest of the delivered entries.
    pub fn applied_history(&self) -> u64 {
        self.history
    }
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }
    pub fn is_candidate(&self) -> bool {
        matches!(self.role, Role::Candidate { .. })
    }
    pub fn is_established_leader(&self) -> bool {
        matches!(&self.role, Role::Leader(l) if l.established)
    }
    pub fn leader(&self) -> Option<ProcessId> {
        self.leader_known()
    }
    pub fn state(&self) -> ServerState {
        self.state
    }
    pub fn phase(&self) -> Phase {
        self.phase
    }
}

/// The engine's inputs: each reads the clock first and checks the invariants last.
impl<A: App> Engine<A> for Raft<A> {
    type Wire = Wire<A>;
    type Record = Record<A>;

    fn on_start(
        &mut self,
        ctx: &mut Ctx,
        disk: Recovered<'_, Record<A>>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert!(!self.started, "on_start called twice on one incarnation");
        assert_eq!(ctx.me, self.cfg.me, "config.me is not the kernel's id");
        self.started = true;
        self.now = ctx.mono;
        self.disk = Disk::new(ctx.rng.next_u64() >> 1);
        self.link_id = ctx.mono.0 + 1;
        self.up = Link::new(self.link_id);
        // A torn tail record is unreadable: `records` holds only the complete ones.
        let _torn_tail_ignored = disk.torn_tail;
        let img = recover(disk.records);
        self.term = img.term;
        self.voted_for = img.voted_for;
        self.log = img.log;
        // The commit index is not durable: entries are delivered again as it is learned.
        out.note(Event::Reset {
            upto: Zxid::ZERO,
            history: 0,
        });
        host.command(Command::Restore(Arc::new(Snapshot::genesis())), out);
        out.note(Event::State {
            state: ServerState::Looking,
            epoch: epoch_of(self.term),
        });
        out.note(Event::Phase(Phase::Election));
        self.reset_election_timer(ctx, out);
        self.check_invariants();
    }

    fn on_message(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: Wire<A>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.started || from == self.cfg.me || !self.cfg.is_voter(from) {
            return;
        }
        self.now = ctx.mono;
        let term = msg.term();
        if term > self.term {
            self.step_up(ctx, term, host, out);
        }
        match msg {
            Wire::RequestVote {
                last_index,
                last_term,
                ..
            } => self.on_request_vote(ctx, from, term, last_index, last_term, host, out),
            Wire::VoteReply { granted, .. } => self.on_vote_reply(from, term, granted, host, out),
            Wire::AppendEntries {
                prev_index,
                prev_term,
                entries,
                leader_commit,
                seq,
                link,
                acked,
                ..
            } => {
                let ae = crate::follower::Append {
                    term,
                    prev_index,
                    prev_term,
                    entries,
                    leader_commit,
                    seq,
                    link,
                    acked,
                };
                self.on_append_entries(ctx, from, ae, host, out)
            }
            Wire::AppendReply {
                success,
                match_index,
                seq,
                link,
                acked,
                ..
            } => {
                let reply = crate::leader::Reply {
                    success,
                    match_index,
                    seq,
                    link,
                    acked,
                };
                self.on_append_reply(from, term, reply, host, out)
            }
            Wire::Ping { payload, .. } if term == self.term && self.is_leader() => {
                host.command(Command::Heartbeat { from, payload }, out)
            }
            Wire::ReadIndex {
                link, seq, token, ..
            } if term == self.term && self.is_leader() => {
                if self.leader_take(from, link, seq) {
                    self.leader_read(from, token, host, out);
                }
            }
            Wire::ReadDone {
                link,
                seq,
                index,
                token,
                ..
            } => {
                if self.follower_take(from, term, link, seq) {
                    self.on_read_done(index, token, host, out)
                }
            }
            Wire::App { link, seq, msg, .. } => self.on_app(from, term, link, seq, msg, host, out),
            Wire::Ping { .. } | Wire::ReadIndex { .. } => {}
        }
        self.check_invariants();
    }

    fn on_timer(
        &mut self,
        ctx: &mut Ctx,
        timer: TimerId,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.started {
            return;
        }
        self.now = ctx.mono;
        match timer {
            TIMER_ELECTION => self.on_election_timeout(ctx, host, out),
            TIMER_HEARTBEAT => self.on_heartbeat(ctx, host, out),
            _ => {}
        }
        self.check_invariants();
    }

    fn on_disk_done(
        &mut self,
        ctx: &mut Ctx,
        write: WriteId,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.started {
            return;
        }
        self.now = ctx.mono;
        if let Some(waiters) = self.disk.complete(write) {
            for w in waiters {
                self.on_durable(w, host, out);
            }
            self.disk.flush(out);
        }
        self.check_invariants();
    }

    /// Raft needs no connection signal: a crashed peer is a silent one.
    fn on_disconnect(
        &mut self,
        ctx: &mut Ctx,
        _peer: ProcessId,
        _host: &mut Host<'_, A>,
        _out: &mut Out<A>,
    ) {
        self.now = self.now.max(ctx.mono);
    }

    fn next_position(
        &mut self,
        ctx: &mut Ctx,
        _host: &mut Host<'_, A>,
        _out: &mut Out<A>,
    ) -> Option<Zxid> {
        self.now = ctx.mono;
        self.leader_next_position()
    }

    fn propose(&mut self, entry: A::Entry, host: &mut Host<'_, A>, out: &mut Out<A>) {
        assert!(entry.digest_ok(), "an entry whose digest does not match it");
        self.leader_propose(entry, host, out);
        self.check_invariants();
    }

    fn barrier(&mut self, token: A::Msg, host: &mut Host<'_, A>, out: &mut Out<A>) -> bool {
        let asked = match &self.role {
            Role::Leader(_) => self.leader_read(self.cfg.me, token, host, out),
            Role::Follower { leader: Some(l) } if self.serving() => {
                let (l, term) = (*l, self.term);
                let msg = self.up.push(self.now, |link, seq| Wire::ReadIndex {
                    term,
                    link,
                    seq,
                    token,
                });
                out.send(l, msg);
                true
            }
            _ => false,
        };
        self.check_invariants();
        asked
    }

    fn send_to_leader(&mut self, msg: A::Msg, out: &mut Out<A>) -> bool {
        match &self.role {
            Role::Follower { leader: Some(l) } if self.serving() => {
                let (l, term) = (*l, self.term);
                let msg = self.up.push(self.now, |link, seq| Wire::App {
                    term,
                    link,
                    seq,
                    msg,
                });
                out.send(l, msg);
                true
            }
            _ => false,
        }
    }

    fn send_to_peer(&mut self, to: ProcessId, msg: A::Msg, out: &mut Out<A>) -> bool {
        if !self.peer_reachable(to) {
            return false;
        }
        self.leader_send_linked(
            to,
            |term, link, seq| Wire::App {
                term,
                link,
                seq,
                msg,
            },
            out,
        )
    }

    fn peer_serving(&self, peer: ProcessId) -> bool {
        self.leader_peer_serving(peer)
    }

    fn status(&self) -> Status {
        self.reported
    }

    fn delivered(&self) -> Zxid {
        self.delivered
    }
}
