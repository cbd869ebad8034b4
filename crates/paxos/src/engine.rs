//! [`Paxos`]: the Multi-Paxos engine behind the `replication::Engine` interface. Owns
//! dispatch of inputs to the acceptor, proposer and learner code, role transitions (with
//! their events and the status its host hears), in-order delivery of the chosen prefix,
//! and read-only views for monitors and tests.
//! Invariants: `applied <= chosen_upto`; the promise never decreases; a candidate or
//! leader promised its own ballot; `delivered` is the last application entry delivered;
//! `state`/`phase` follow the role and the host's last heard status is the engine's
//! status. [`Paxos::check_invariants`] runs after every input.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use proto::{Ctx, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};
use replication::{
    App, Command, Engine, Entry, Event, Phase, ServerState, Snapshot, Status, chain_digest,
};

use crate::config::{Config, HELD_MAX, READS_MAX, TIMER_ELECTION, TIMER_HEARTBEAT, epoch_of};
use crate::disk::{Disk, Waiter};
use crate::log::{Log, Value};
use crate::msg::Wire;
use crate::proposer::{Candidacy, LeaderState};
use crate::record::{Record, recover};

/// The outbox the engine writes to.
pub type Out<A> = proto::Outbox<Wire<A>, Record<A>, Event>;

/// The server above the engine, as the engine calls it.
pub type Host<'a, A> = dyn replication::Host<A, Out<A>> + 'a;

/// One end of a leader–follower link carrying Multi-Paxos's messages.
pub(crate) type Link<A> = replication::link::Link<Wire<A>>;

impl<A: App> replication::link::Linked for Wire<A> {
    fn link_seq(&self) -> Option<(u64, u64)> {
        Wire::link_seq(self)
    }
}

/// What the server is doing.
#[derive(Debug)]
pub(crate) enum Role<A: App> {
    /// Accepting for the ballot it promised; following that ballot's proposer once it
    /// heard from it (None: not yet).
    Follower { leader: Option<ProcessId> },
    /// Running Phase 1 of its own ballot.
    Candidate(Box<Candidacy<A>>),
    /// The distinguished proposer of its ballot.
    Leader(Box<LeaderState<A>>),
}

/// The Multi-Paxos engine of one voter (acceptor, learner, proposer). See the crate docs.
#[derive(Debug)]
pub struct Paxos<A: App> {
    pub(crate) cfg: Config,
    pub(crate) started: bool,
    /// The highest ballot promised (the acceptor accepts nothing lower).
    pub(crate) promised: u64,
    /// The highest ballot heard of anywhere (a new candidacy goes above it).
    pub(crate) seen: u64,
    pub(crate) log: Log<A>,
    /// Every slot through `applied` was handed to the host (or skipped: a no-op).
    pub(crate) applied: u64,
    /// The last delivered application zxid and the history digest through it.
    pub(crate) delivered: Zxid,
    pub(crate) history: u64,
    /// Chosen application entries not above the delivered zxid (classic Paxos broke
    /// primary order): noted for the monitors, never applied.
    pub(crate) order_breaks: u64,
    pub(crate) disk: Disk,
    pub(crate) role: Role<A>,
    pub(crate) reported: Status,
    pub(crate) state: ServerState,
    pub(crate) phase: Phase,
    /// The monotonic clock at the input being handled.
    pub(crate) now: Time,
    /// Follower: the slot its leader serves from (0: not established yet).
    pub(crate) serving_from: u64,
    /// Follower: barriers the leader answered, waiting for their slot to be delivered.
    pub(crate) follower_reads: VecDeque<(u64, A::Msg)>,
    /// This incarnation's link id (its monotonic clock at start + 1).
    pub(crate) link_id: u64,
    /// Follower: the link to the leader it follows.
    pub(crate) up: Link<A>,
    /// Prefix acceptance: Accepts of the promised ballot held back until the slot before
    /// is accepted in it, by slot (at most `HELD_MAX`).
    pub(crate) held: BTreeMap<u64, (ProcessId, crate::acceptor::Accept<A>)>,
}

impl<A: App> Paxos<A> {
    pub fn new(config: Config) -> Paxos<A> {
        config.validate();
        Paxos {
            cfg: config,
            started: false,
            promised: 0,
            seen: 0,
            log: Log::new(),
            applied: 0,
            delivered: Zxid::ZERO,
            history: 0,
            order_breaks: 0,
            disk: Disk::new(0),
            role: Role::Follower { leader: None },
            reported: Status::LOOKING,
            state: ServerState::Looking,
            phase: Phase::Election,
            now: Time::ZERO,
            serving_from: 0,
            follower_reads: VecDeque::new(),
            link_id: 0,
            up: Link::new(0),
            held: BTreeMap::new(),
        }
    }

    // ---- promises -----------------------------------------------------------------------

    /// Promises `ballot` (above the current promise) and appends the promise.
    pub(crate) fn promise(&mut self, ballot: u64, out: &mut Out<A>) {
        assert!(
            ballot > self.promised,
            "promise goes back: {ballot} <= {}",
            self.promised
        );
        let _ = epoch_of(ballot);
        self.promised = ballot;
        self.seen = self.seen.max(ballot);
        self.held.clear();
        self.disk.append(Record::Promise { ballot }, out);
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
        if leader.is_some() && self.reported.leader.is_some() {
            // A new leadership (another leader, or the same in a new ballot) starts from
            // looking, as on ZAB: the host closes what it served under the old one.
            self.role = Role::Follower { leader: None };
            self.refresh(host, out);
        }
        self.role = Role::Follower { leader };
        self.serving_from = 0;
        self.follower_reads.clear();
        self.up = Link::new(self.link_id);
        if let Some(leader) = leader {
            out.note(Event::ElectionDone {
                leader,
                election_epoch: self.promised,
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
            Role::Candidate(_) => None,
            Role::Leader(_) => Some(self.cfg.me),
        }
    }

    /// Whether this server serves clients: an established leader, or a follower that
    /// delivered everything before the slot its leader serves from.
    pub(crate) fn serving(&self) -> bool {
        match &self.role {
            Role::Leader(l) => l.established,
            Role::Follower { leader: Some(_) } => {
                self.serving_from > 0 && self.applied + 1 >= self.serving_from
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
                epoch: epoch_of(self.promised),
            });
        }
        if phase != self.phase {
            self.phase = phase;
            out.note(Event::Phase(phase));
            if let (Phase::Broadcast, Role::Follower { leader: Some(l) }) = (phase, &self.role) {
                out.note(Event::Synced {
                    leader: *l,
                    epoch: epoch_of(self.promised),
                    last_zxid: self.log.last_delivered(),
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

    // ---- delivery -----------------------------------------------------------------------

    /// Delivers, in slot order, every application entry of the chosen prefix not yet
    /// delivered (a leader notes each `Committed` first). An entry whose zxid is not above
    /// the last delivered one (classic Paxos chose a later primary's value before an
    /// earlier one's) is noted `Delivered` for the monitors to judge and never applied.
    pub(crate) fn deliver_chosen(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let leading = matches!(self.role, Role::Leader(_));
        while self.applied < self.log.chosen_upto() {
            let slot = self.applied + 1;
            assert!(
                slot <= self.log.chosen_upto(),
                "delivering an unchosen slot"
            );
            self.applied = slot;
            let Some(Value::App(e)) = self.log.chosen_at(slot) else {
                continue;
            };
            let e = Arc::clone(e);
            let (zxid, digest) = (e.zxid(), e.digest());
            if leading {
                out.note(Event::Committed { zxid });
            }
            out.note(Event::Delivered { zxid, digest });
            if zxid <= self.delivered {
                self.order_breaks += 1;
                continue;
            }
            self.history = chain_digest(self.history, zxid, digest);
            self.delivered = zxid;
            self.log.delivered(zxid, digest);
            host.command(Command::Deliver(e), out);
        }
    }

    fn on_durable(&mut self, waiter: Waiter, host: &mut Host<'_, A>, out: &mut Out<A>) {
        match waiter {
            Waiter::Nothing => {}
            Waiter::Candidacy { ballot } => self.candidacy_durable(ballot, host, out),
            Waiter::Promise {
                ballot,
                proposer,
                from_slot,
            } => self.promise_durable(ballot, proposer, from_slot, out),
            Waiter::Accepted {
                ballot,
                slot,
                proposer,
            } => self.accepted_durable(ballot, slot, proposer, out),
            Waiter::LeaderAccept { ballot, slot } => {
                self.leader_ack(ballot, slot, self.cfg.me, host, out)
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
        self.log.check();
        assert!(
            self.applied <= self.log.chosen_upto(),
            "applied {} past the chosen prefix {}",
            self.applied,
            self.log.chosen_upto()
        );
        assert!(
            self.promised <= self.seen,
            "a promise above every ballot seen"
        );
        assert_eq!(
            self.delivered,
            self.log.last_delivered(),
            "delivered is not the delivered history's end"
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
        assert!(
            self.held.len() <= HELD_MAX
                && self.held.values().all(|(_, a)| a.ballot == self.promised),
            "held Accepts beyond the bound or off the promise"
        );
        match &self.role {
            Role::Leader(l) => self.check_leader_invariants(l),
            Role::Candidate(c) => {
                assert_eq!(self.promised, c.ballot, "a candidate off its own ballot");
                assert!(
                    c.promises.len() < self.cfg.quorum_size(),
                    "a candidate with a quorum"
                );
            }
            Role::Follower { leader } => {
                assert!(
                    leader.is_none_or(|l| self.cfg.owner(self.promised) == l),
                    "following {leader:?}, not the owner of ballot {}",
                    self.promised
                );
            }
        }
    }

    // ---- read-only views for monitors and tests ----------------------------------------

    pub fn config(&self) -> &Config {
        &self.cfg
    }
    pub fn promised(&self) -> u64 {
        self.promised
    }
    pub fn log(&self) -> &Log<A> {
        &self.log
    }
    pub fn applied_slot(&self) -> u64 {
        self.applied
    }
    /// The history digest of the delivered entries.
    pub fn applied_history(&self) -> u64 {
        self.history
    }
    /// Chosen entries never applied because their zxid was not above the delivered one.
    pub fn order_breaks(&self) -> u64 {
        self.order_breaks
    }
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }
    pub fn is_candidate(&self) -> bool {
        matches!(self.role, Role::Candidate(_))
    }
    pub fn is_established_leader(&self) -> bool {
        matches!(&self.role, Role::Leader(l) if l.established)
    }
    /// The ballot it leads or runs Phase 1 for.
    pub fn own_ballot(&self) -> Option<u64> {
        match &self.role {
            Role::Leader(l) => Some(l.ballot),
            Role::Candidate(c) => Some(c.ballot),
            Role::Follower { .. } => None,
        }
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
impl<A: App> Engine<A> for Paxos<A> {
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
        let img = recover(disk.records, self.cfg.bugs.any(), self.cfg.order);
        self.promised = img.promised;
        self.seen = img.promised;
        self.log = img.log;
        // What was chosen is not durable: entries are delivered again as it is learned.
        out.note(Event::Reset {
            upto: Zxid::ZERO,
            history: 0,
        });
        host.command(Command::Restore(Arc::new(Snapshot::genesis())), out);
        out.note(Event::State {
            state: ServerState::Looking,
            epoch: epoch_of(self.promised),
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
        self.seen = self.seen.max(msg.ballot());
        match msg {
            Wire::Prepare { ballot, from_slot } => {
                self.on_prepare(ctx, from, ballot, from_slot, host, out)
            }
            Wire::Promise {
                ballot,
                from_slot,
                reports,
            } => self.on_promise(from, ballot, from_slot, reports, host, out),
            Wire::Nack { ballot, promised } => self.on_nack(ctx, ballot, promised, host, out),
            Wire::Accept {
                ballot,
                slot,
                value,
                chosen,
                serving_from,
            } => {
                let accept = crate::acceptor::Accept {
                    ballot,
                    slot,
                    value,
                    chosen,
                    serving_from,
                };
                self.on_accept(ctx, from, accept, host, out)
            }
            Wire::Accepted { ballot, slot } => {
                if self.leading_ballot() == Some(ballot) {
                    self.heard(from);
                    self.leader_ack(ballot, slot, from, host, out);
                }
            }
            Wire::Heartbeat {
                ballot,
                chosen,
                serving_from,
                link,
                acked,
            } => {
                let beat = crate::learner::Beat {
                    ballot,
                    chosen,
                    serving_from,
                    link,
                    acked,
                };
                self.on_heartbeat(ctx, from, beat, host, out)
            }
            Wire::HeartbeatReply {
                ballot,
                chosen,
                payload,
                link,
                acked,
            } => self.on_heartbeat_reply(from, ballot, chosen, payload, link, acked, host, out),
            Wire::Learn {
                ballot,
                from_slot,
                values,
            } => self.on_learn(from, ballot, from_slot, values, host, out),
            Wire::Barrier {
                ballot,
                link,
                seq,
                token,
            } => {
                if self.leading_ballot() == Some(ballot) && self.leader_take(from, link, seq) {
                    self.leader_barrier(from, token, host, out);
                }
            }
            Wire::BarrierDone {
                ballot,
                link,
                seq,
                slot,
                token,
            } => {
                if self.follower_take(from, ballot, link, seq) {
                    self.on_barrier_done(slot, token, host, out);
                }
            }
            Wire::App {
                ballot,
                link,
                seq,
                msg,
            } => self.on_app(from, ballot, link, seq, msg, host, out),
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
            TIMER_HEARTBEAT => self.on_heartbeat_timer(ctx, host, out),
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

    /// Multi-Paxos needs no connection signal: a crashed peer is a silent one.
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
            Role::Leader(_) => self.leader_barrier_local(token, host, out),
            Role::Follower { leader: Some(l) } if self.serving() => {
                let (l, ballot) = (*l, self.promised);
                let msg = self.up.push(self.now, |link, seq| Wire::Barrier {
                    ballot,
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
                let (l, ballot) = (*l, self.promised);
                let msg = self.up.push(self.now, |link, seq| Wire::App {
                    ballot,
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
            |ballot, link, seq| Wire::App {
                ballot,
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
