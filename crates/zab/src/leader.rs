//! The leader: discovery (FOLLOWERINFO → new epoch → LEADERINFO → ACKEPOCH), per-learner
//! synchronization (DIFF / TRUNC / SNAP + NEWLEADER, UPTODATE once established) and
//! broadcast (PROPOSAL → ACK → COMMIT / INFORM), pings and the quorum check.
//! Invariants: the new epoch exceeds the accepted epoch of a quorum (self included) and is
//! durable before LEADERINFO; the current epoch (and with it the whole initial log) is
//! durable before any learner is synced; the leader is established only with a quorum of
//! NEWLEADER ACKs (self included); proposals are issued only when established, with
//! strictly increasing zxids of the new epoch, and committed strictly in zxid order on a
//! quorum of ACKs from voters whose copy is durable; at most OUTSTANDING_PROPOSALS_MAX.
//! `Server::check_leader_invariants` asserts the O(1) ones after every input.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use proto::{Ctx, Epoch, ProcessId, Time, Zxid};
use replication::{App, Command, Entry, Event};

use crate::config::{OUTSTANDING_PROPOSALS_MAX, TIMER_TICK};
use crate::disk::Waiter;
use crate::engine::{Host, Out, Role, Zab};
use crate::link::{Arrival, Link};
use crate::msg::Peer;
use crate::record::Record;
use crate::sync::{SyncPlan, plan_sync};
use crate::types::{LeaveReason, Phase, ServerState};

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LeaderStage {
    /// Waiting for FOLLOWERINFO from a quorum.
    Discovering,
    /// The new epoch is chosen; making it durable as the accepted epoch.
    PersistingAcceptedEpoch,
    /// LEADERINFO sent; waiting for ACKEPOCH from a quorum.
    AwaitingEpochAcks,
    /// Making the new epoch durable as the current epoch.
    PersistingCurrentEpoch,
    /// Syncing learners; waiting for NEWLEADER ACKs from a quorum.
    Synchronizing,
    /// Broadcast.
    Established,
}

impl LeaderStage {
    /// The ZAB phase a leader in this stage is in.
    pub(crate) fn phase(self) -> Phase {
        match self {
            LeaderStage::Discovering
            | LeaderStage::PersistingAcceptedEpoch
            | LeaderStage::AwaitingEpochAcks
            | LeaderStage::PersistingCurrentEpoch => Phase::Discovery,
            LeaderStage::Synchronizing => Phase::Synchronization,
            LeaderStage::Established => Phase::Broadcast,
        }
    }
}

/// Where one learner's connection stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum HandlerStage {
    AwaitingLeaderInfo,
    AwaitingAckEpoch,
    /// ACKEPOCH received; synced once the leader's current epoch is durable.
    AwaitingSync,
    /// Sync stream and NEWLEADER sent; new proposals are forwarded.
    Syncing,
    /// NEWLEADER ACKed before the leader was established.
    AwaitingUpToDate,
    Broadcast,
}

#[derive(Clone, Debug)]
pub(crate) struct Handler {
    pub(crate) link: Link,
    observer: bool,
    stage: HandlerStage,
    last_heard: Time,
    peer_last: Zxid,
    /// The zxid the learner's NEWLEADER ACK vouches for.
    sync_zxid: Zxid,
}

#[derive(Clone, Debug)]
struct Outstanding {
    zxid: Zxid,
    acks: BTreeSet<ProcessId>,
}

#[derive(Debug)]
pub(crate) struct LeaderState<A: App> {
    round: u64,
    pub(crate) stage: LeaderStage,
    stage_deadline: Time,
    /// (current epoch, last zxid) when elected: a learner newer than this stops us.
    summary: (Epoch, Zxid),
    pub(crate) new_epoch: Option<Epoch>,
    connecting: BTreeMap<ProcessId, Epoch>,
    epoch_acks: BTreeSet<ProcessId>,
    newleader_acks: BTreeSet<ProcessId>,
    pub(crate) learners: BTreeMap<ProcessId, Handler>,
    outstanding: VecDeque<Outstanding>,
    last_proposed: Zxid,
    /// Barriers (syncs) waiting for every proposal up to their zxid to commit, in arrival
    /// order, with the server that asked.
    syncs: VecDeque<(Zxid, ProcessId, A::Msg)>,
}

/// Most syncs a leader holds back at once; more are answered when the next commit lands.
const SYNCS_MAX: usize = 100_000;

impl<A: App> LeaderState<A> {
    /// Forget learner `peer`: its connection is gone (a reset, a gap, a confused message, a
    /// new connection replacing it), and so are the promises made on it. Its ACKEPOCH and
    /// NEWLEADER acks stop counting towards a quorum, as the ZooKeeper TLA+ specification's
    /// RemoveLearner drops them: a learner that left may since have joined a newer epoch,
    /// and a stale ack must not establish a leader whose log misses what that epoch
    /// committed (fuzzing found it: zab-7-observers.toml seed 827, LeaderLogCompleteness).
    pub(crate) fn forget_learner(&mut self, peer: ProcessId) {
        self.learners.remove(&peer);
        self.epoch_acks.remove(&peer);
        self.newleader_acks.remove(&peer);
        assert!(!self.learners.contains_key(&peer));
        assert!(!self.newleader_acks.contains(&peer) && !self.epoch_acks.contains(&peer));
    }
}

impl<A: App> Zab<A> {
    /// The leader's state; panics unless leading (callers know the role: a handler of a
    /// leader-only input, or a caller that checked it).
    fn lead_expect_mut(&mut self) -> &mut LeaderState<A> {
        match &mut self.role {
            Role::Leading(l) => l,
            _ => panic!("not leading"),
        }
    }

    /// The leader's state; panics unless leading (see [`Zab::lead_expect_mut`]).
    fn lead_expect(&self) -> &LeaderState<A> {
        match &self.role {
            Role::Leading(l) => l,
            _ => panic!("not leading"),
        }
    }

    /// The leader's O(1) invariants (see the module header), for
    /// [`Zab::check_invariants`].
    pub(crate) fn check_leader_invariants(&self, l: &LeaderState<A>) {
        let servers = self.cfg.voters.len() + self.cfg.observers.len();
        assert!(l.learners.len() < servers, "the learners are other servers");
        assert!(l.outstanding.len() <= OUTSTANDING_PROPOSALS_MAX && l.syncs.len() <= SYNCS_MAX);
        assert!(
            l.connecting.len() <= servers,
            "FOLLOWERINFOs come from servers"
        );
        let voters = self.cfg.voters.len();
        assert!(
            l.epoch_acks.len() <= voters && l.newleader_acks.len() <= voters,
            "only voters' acks are counted"
        );
        if l.stage >= LeaderStage::AwaitingEpochAcks {
            assert!(
                l.new_epoch.is_some_and(|e| e <= self.accepted_epoch),
                "LEADERINFO before the new epoch was accepted"
            );
        }
        if l.stage < LeaderStage::Established {
            assert!(l.outstanding.is_empty(), "a proposal before establishment");
            return;
        }
        assert_eq!(
            Some(self.current_epoch),
            l.new_epoch,
            "established in an epoch that is not the durable current one"
        );
        assert!(
            self.applied_zxid == self.commit_upto && self.commit_upto <= self.log.last_zxid(),
            "a leader delivers exactly what it committed, all of it logged"
        );
        assert!(
            l.outstanding
                .front()
                .is_none_or(|o| o.zxid > self.commit_upto),
            "a committed proposal is still outstanding"
        );
        assert!(
            l.outstanding
                .back()
                .is_none_or(|o| o.zxid == l.last_proposed)
        );
    }

    fn leading_round(&self, round: u64) -> bool {
        matches!(&self.role, Role::Leading(l) if l.round == round)
    }

    fn count_voters<'a>(&self, sids: impl Iterator<Item = &'a ProcessId>) -> usize {
        sids.filter(|s| self.cfg.is_voter(**s)).count()
    }

    pub(crate) fn become_leader(
        &mut self,
        _ctx: &mut Ctx,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert!(self.is_voter());
        assert!(
            matches!(self.role, Role::Looking),
            "a new role replaces a live one"
        );
        let round = self.next_round();
        let mut connecting = BTreeMap::new();
        connecting.insert(self.cfg.me, self.reported_accepted_epoch());
        self.role = Role::Leading(Box::new(LeaderState {
            round,
            stage: LeaderStage::Discovering,
            stage_deadline: self.now.plus_ns(self.cfg.init_limit_ns()),
            summary: (self.reported_current_epoch(), self.reported_last_zxid()),
            new_epoch: None,
            connecting,
            epoch_acks: BTreeSet::new(),
            newleader_acks: BTreeSet::new(),
            learners: BTreeMap::new(),
            outstanding: VecDeque::new(),
            last_proposed: Zxid::ZERO,
            syncs: VecDeque::new(),
        }));
        self.report_status(host, out);
        self.set_state(ServerState::Leading, out);
        self.set_phase(Phase::Discovery, out);
        self.set_timer(out, TIMER_TICK, self.now.plus_ns(self.cfg.tick_ns()));
        self.leader_check_epoch_quorum(out);
    }

    fn leader_check_epoch_quorum(&mut self, out: &mut Out<A>) {
        let l = self.lead_expect();
        if l.stage != LeaderStage::Discovering
            || self.count_voters(l.connecting.keys()) < self.cfg.quorum_size()
        {
            return;
        }
        let max = *l.connecting.values().max().expect("leader is connecting");
        let epoch = Epoch(max.0.checked_add(1).expect("epoch overflow"));
        assert!(l.connecting.contains_key(&self.cfg.me) && l.new_epoch.is_none());
        let round = l.round;
        let l = self.lead_expect_mut();
        l.new_epoch = Some(epoch);
        l.stage = LeaderStage::PersistingAcceptedEpoch;
        if !self.cfg.bugs.zk_335 {
            self.append_epoch(Record::AcceptedEpoch(epoch), out);
        }
        self.disk
            .sync(Waiter::LeaderAcceptedEpoch { round, epoch }, out);
    }

    pub(crate) fn leader_accepted_epoch_durable(
        &mut self,
        _ctx: &mut Ctx,
        round: u64,
        epoch: Epoch,
        out: &mut Out<A>,
    ) {
        if !self.leading_round(round) {
            return;
        }
        if !self.cfg.bugs.zk_335 {
            assert!(
                epoch > self.accepted_epoch,
                "new epoch not above accepted epoch"
            );
        }
        self.accepted_epoch = self.accepted_epoch.max(epoch);
        let me = self.cfg.me;
        let deadline = self.now.plus_ns(self.cfg.init_limit_ns());
        let l = self.lead_expect_mut();
        assert_eq!(l.stage, LeaderStage::PersistingAcceptedEpoch);
        assert_eq!(
            l.new_epoch,
            Some(epoch),
            "the durable epoch is the chosen one"
        );
        l.stage = LeaderStage::AwaitingEpochAcks;
        l.stage_deadline = deadline;
        l.epoch_acks.insert(me);
        for (sid, h) in l.learners.iter_mut() {
            if h.stage == HandlerStage::AwaitingLeaderInfo {
                h.link
                    .send(*sid, Peer::LeaderInfo { new_epoch: epoch }, out);
                h.stage = HandlerStage::AwaitingAckEpoch;
            }
        }
        self.leader_check_epoch_ack_quorum(out);
    }

    /// Whether initLimit has run out for the current stage. A quorum completed after it does
    /// not count: ZooKeeper's leader stops waiting for ACKEPOCHs and NEWLEADER acks at
    /// initLimit (`waitForEpochAck`, `waitForNewLeaderAck`) and shuts down, whatever is still
    /// in its socket buffers; the next tick goes LOOKING. A leader paused past its deadline
    /// must not wake up and count acks from followers that have since joined a newer epoch
    /// (fuzzing found it: zab-5.toml seed 345, LeaderLogCompleteness).
    fn past_stage_deadline(&self) -> bool {
        self.now >= self.lead_expect().stage_deadline
    }

    fn leader_check_epoch_ack_quorum(&mut self, out: &mut Out<A>) {
        let l = self.lead_expect();
        if l.stage != LeaderStage::AwaitingEpochAcks
            || self.count_voters(l.epoch_acks.iter()) < self.cfg.quorum_size()
            || self.past_stage_deadline()
        {
            return;
        }
        assert!(
            l.epoch_acks.contains(&self.cfg.me),
            "the leader's own ACKEPOCH counts"
        );
        let round = l.round;
        let epoch = l.new_epoch.expect("epoch chosen");
        self.lead_expect_mut().stage = LeaderStage::PersistingCurrentEpoch;
        if !self.cfg.bugs.zk_335 {
            self.append_epoch(Record::CurrentEpoch(epoch), out);
        }
        self.disk
            .sync(Waiter::LeaderCurrentEpoch { round, epoch }, out);
    }

    pub(crate) fn leader_current_epoch_durable(
        &mut self,
        _ctx: &mut Ctx,
        round: u64,
        epoch: Epoch,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.leading_round(round) {
            return;
        }
        assert!(epoch >= self.current_epoch);
        self.current_epoch = epoch;
        self.election.update_decided_epoch(epoch);
        let me = self.cfg.me;
        let deadline = self.now.plus_ns(self.cfg.init_limit_ns());
        let l = self.lead_expect_mut();
        assert_eq!(l.stage, LeaderStage::PersistingCurrentEpoch);
        assert_eq!(
            l.new_epoch,
            Some(epoch),
            "the durable epoch is the chosen one"
        );
        l.stage = LeaderStage::Synchronizing;
        l.stage_deadline = deadline;
        l.newleader_acks.insert(me);
        l.last_proposed = Zxid::new(epoch, 0);
        let waiting: Vec<ProcessId> = l
            .learners
            .iter()
            .filter(|(_, h)| h.stage == HandlerStage::AwaitingSync)
            .map(|(sid, _)| *sid)
            .collect();
        self.set_phase(Phase::Synchronization, out);
        for sid in waiting {
            self.leader_sync_learner(sid, host, out);
        }
        self.leader_check_newleader_quorum(host, out);
    }

    /// Sends one learner its sync stream: DIFF / TRUNC / SNAP, the PROPOSALs (and COMMITs
    /// for committed ones) it misses, then NEWLEADER.
    fn leader_sync_learner(&mut self, sid: ProcessId, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let l = self.lead_expect();
        let h = &l.learners[&sid];
        assert_eq!(h.stage, HandlerStage::AwaitingSync);
        assert!(l.stage >= LeaderStage::Synchronizing);
        let epoch = l.new_epoch.expect("epoch chosen");
        let last = self.log.last_zxid();
        let committed = if l.stage == LeaderStage::Established {
            self.commit_upto
        } else {
            last // the initial history: committed once established
        };
        let sync_upto = if h.observer { committed } else { last };
        assert!(committed <= sync_upto && sync_upto <= last);
        let plan = plan_sync(&self.log, h.peer_last, sync_upto, self.cfg.bugs.zk_1154);
        let (first, from) = match plan {
            SyncPlan::Diff { from } => (
                Peer::Diff {
                    last_zxid: sync_upto,
                    committed_zxid: committed,
                },
                from,
            ),
            SyncPlan::Trunc { to } => (
                Peer::Trunc {
                    to,
                    committed_zxid: committed,
                },
                to,
            ),
            SyncPlan::Snap => (
                Peer::Snap {
                    snapshot: Arc::new(self.snapshot_now(host)),
                },
                self.applied_zxid,
            ),
        };
        let mut stream = vec![first];
        for e in self.log.entries_after(from) {
            let zxid = e.txn.zxid();
            if zxid > sync_upto {
                break;
            }
            stream.push(Peer::Proposal {
                txn: Arc::clone(&e.txn),
            });
            if zxid <= committed {
                stream.push(Peer::Commit { zxid });
            }
        }
        stream.push(Peer::NewLeader {
            epoch,
            last_zxid: sync_upto,
        });
        assert!(stream.len() <= 2 * self.log.len() + 2);
        let h = self
            .lead_expect_mut()
            .learners
            .get_mut(&sid)
            .expect("learner");
        for m in stream {
            h.link.send(sid, m, out);
        }
        h.stage = HandlerStage::Syncing;
        h.sync_zxid = sync_upto;
    }

    fn leader_check_newleader_quorum(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let l = self.lead_expect();
        if l.stage != LeaderStage::Synchronizing
            || self.count_voters(l.newleader_acks.iter()) < self.cfg.quorum_size()
            || self.past_stage_deadline()
        {
            return;
        }
        assert!(
            l.newleader_acks.contains(&self.cfg.me),
            "the leader's own ACK counts"
        );
        let epoch = l.new_epoch.expect("epoch chosen");
        self.lead_expect_mut().stage = LeaderStage::Established;
        out.note(Event::Established { epoch });
        self.set_phase(Phase::Broadcast, out);
        // The initial history is now on a quorum: committed.
        let last = self.log.last_zxid();
        assert!(self.commit_upto <= last);
        for e in self.log.entries_after(self.commit_upto) {
            out.note(Event::Committed { zxid: e.txn.zxid() });
        }
        self.commit_upto = last;
        self.apply_committed(host, out);
        assert_eq!(
            self.applied_zxid, last,
            "established with unapplied history"
        );
        self.report_status(host, out);
        let l = self.lead_expect_mut();
        for (sid, h) in l.learners.iter_mut() {
            if h.stage == HandlerStage::AwaitingUpToDate {
                h.link.send(*sid, Peer::UpToDate, out);
                h.stage = HandlerStage::Broadcast;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn leader_on_peer(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        conn: u64,
        seq: u64,
        body: Peer<A>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if let Peer::FollowerInfo { accepted_epoch } | Peer::ObserverInfo { accepted_epoch } = body
        {
            let observer = matches!(body, Peer::ObserverInfo { .. });
            self.leader_on_info(ctx, from, conn, seq, observer, accepted_epoch, host, out);
            return;
        }
        let now = self.now;
        let l = self.lead_expect_mut();
        let Some(h) = l.learners.get_mut(&from) else {
            return;
        };
        if h.link.conn != conn {
            return;
        }
        match h.link.arrive(seq) {
            Arrival::InOrder => {}
            Arrival::Duplicate => return,
            Arrival::Gap => {
                h.link.send_reset(from, out);
                l.forget_learner(from);
                return;
            }
        }
        h.last_heard = now;
        match body {
            Peer::AckEpoch {
                current_epoch,
                last_zxid,
            } => self.leader_on_ack_epoch(ctx, from, current_epoch, last_zxid, host, out),
            Peer::AckNewLeader { epoch } => self.leader_on_ack_newleader(from, epoch, host, out),
            Peer::Ack { zxid } => self.leader_on_ack(from, zxid, host, out),
            Peer::App(msg) => host.command(Command::Message { from, msg }, out),
            Peer::Sync(token) => {
                if self.leader_learner_in_broadcast(from) {
                    self.leader_sync(from, token, host, out);
                }
            }
            Peer::Ping { payload } => host.command(Command::Heartbeat { from, payload }, out),
            // Leader → learner kinds are not expected here: the learner is confused.
            _ => {
                self.lead_expect_mut().forget_learner(from);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn leader_on_info(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        conn: u64,
        seq: u64,
        observer: bool,
        accepted_epoch: Epoch,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if seq != 0 || observer != self.cfg.is_observer(from) || accepted_epoch.0 == u32::MAX {
            return; // not an opening message, a role mismatch, or an epoch with no successor
        }
        let now = self.now;
        let yield_newer = self.cfg.yield_to_newer_accepted_epoch;
        let l = self.lead_expect_mut();
        if l.learners.get(&from).is_some_and(|h| h.link.conn == conn) {
            return; // a duplicate of the opening message
        }
        // A new connection replaces the old one and whatever was acked on it.
        l.forget_learner(from);
        let mut link = Link::new(conn);
        assert_eq!(link.arrive(0), Arrival::InOrder);
        let mut h = Handler {
            link,
            observer,
            stage: HandlerStage::AwaitingLeaderInfo,
            last_heard: now,
            peer_last: Zxid::ZERO,
            sync_zxid: Zxid::ZERO,
        };
        if l.stage == LeaderStage::Discovering {
            l.connecting.insert(from, accepted_epoch);
        }
        if yield_newer && l.new_epoch.is_some_and(|e| accepted_epoch > e) {
            self.go_looking(ctx, LeaveReason::LearnerAcceptedNewerEpoch, host, out);
            return;
        }
        if l.stage >= LeaderStage::AwaitingEpochAcks {
            let new_epoch = l.new_epoch.expect("epoch chosen");
            h.link.send(from, Peer::LeaderInfo { new_epoch }, out);
            h.stage = HandlerStage::AwaitingAckEpoch;
        }
        l.learners.insert(from, h);
        self.leader_check_epoch_quorum(out);
    }

    fn leader_on_ack_epoch(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        current_epoch: Option<Epoch>,
        last_zxid: Zxid,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let voter = self.cfg.is_voter(from);
        let l = self.lead_expect_mut();
        let h = l.learners.get_mut(&from).expect("learner");
        if h.stage != HandlerStage::AwaitingAckEpoch {
            l.forget_learner(from);
            return;
        }
        assert!(
            l.stage >= LeaderStage::AwaitingEpochAcks,
            "ACKEPOCH before LEADERINFO"
        );
        h.peer_last = last_zxid;
        h.stage = HandlerStage::AwaitingSync;
        if let Some(ce) = current_epoch
            && l.stage <= LeaderStage::AwaitingEpochAcks
        {
            if (ce, last_zxid) > l.summary {
                self.go_looking(ctx, LeaveReason::FollowerAhead, host, out);
                return;
            }
            if voter {
                l.epoch_acks.insert(from);
            }
        }
        if l.stage >= LeaderStage::Synchronizing {
            self.leader_sync_learner(from, host, out);
        }
        self.leader_check_epoch_ack_quorum(out);
    }

    fn leader_on_ack_newleader(
        &mut self,
        from: ProcessId,
        epoch: Epoch,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let voter = self.cfg.is_voter(from);
        let l = self.lead_expect_mut();
        let h = l.learners.get_mut(&from).expect("learner");
        if h.stage != HandlerStage::Syncing || Some(epoch) != l.new_epoch {
            l.forget_learner(from);
            return;
        }
        assert!(
            l.stage >= LeaderStage::Synchronizing,
            "NEWLEADER sent before the sync"
        );
        let established = l.stage == LeaderStage::Established;
        if established {
            h.link.send(from, Peer::UpToDate, out);
            h.stage = HandlerStage::Broadcast;
        } else {
            h.stage = HandlerStage::AwaitingUpToDate;
        }
        if !voter {
            return;
        }
        let sync_zxid = h.sync_zxid;
        l.newleader_acks.insert(from);
        if established {
            // The NEWLEADER ACK vouches for every proposal in the sync stream.
            for o in l.outstanding.iter_mut() {
                if o.zxid <= sync_zxid {
                    o.acks.insert(from);
                }
            }
            self.leader_try_commit(host, out);
        } else {
            self.leader_check_newleader_quorum(host, out);
        }
    }

    fn leader_on_ack(
        &mut self,
        from: ProcessId,
        zxid: Zxid,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.cfg.is_voter(from) {
            return;
        }
        let l = self.lead_expect_mut();
        let h = &l.learners[&from];
        if h.stage < HandlerStage::AwaitingUpToDate {
            return; // an ACK racing its NEWLEADER ACK is not counted (cf. ZOOKEEPER-4685)
        }
        if let Ok(i) = l.outstanding.binary_search_by(|o| o.zxid.cmp(&zxid)) {
            l.outstanding[i].acks.insert(from);
            self.leader_try_commit(host, out);
        }
    }

    pub(crate) fn leader_txn_durable(
        &mut self,
        _ctx: &mut Ctx,
        round: u64,
        zxid: Zxid,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        if !self.leading_round(round) {
            return;
        }
        let me = self.cfg.me;
        let l = self.lead_expect_mut();
        if let Ok(i) = l.outstanding.binary_search_by(|o| o.zxid.cmp(&zxid)) {
            l.outstanding[i].acks.insert(me);
            self.leader_try_commit(host, out);
        }
    }

    /// Commits, in zxid order, every leading outstanding proposal a quorum acknowledged.
    fn leader_try_commit(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let quorum = self.cfg.quorum_size();
        let mut committed_any = false;
        loop {
            let l = self.lead_expect();
            let Some(front) = l.outstanding.front() else {
                break;
            };
            if self.count_voters(front.acks.iter()) < quorum {
                break;
            }
            let zxid = front.zxid;
            assert!(zxid > self.commit_upto, "commit out of order");
            assert!(zxid <= l.last_proposed, "commit of a txn never proposed");
            assert!(l.stage == LeaderStage::Established);
            let txn = Arc::clone(
                &self
                    .log
                    .get(zxid)
                    .expect("outstanding proposal is logged")
                    .txn,
            );
            let l = self.lead_expect_mut();
            l.outstanding.pop_front();
            for (sid, h) in l.learners.iter_mut() {
                if h.stage < HandlerStage::Syncing {
                    continue;
                }
                let body = if h.observer {
                    Peer::Inform {
                        txn: Arc::clone(&txn),
                    }
                } else {
                    Peer::Commit { zxid }
                };
                h.link.send(*sid, body, out);
            }
            self.commit_upto = zxid;
            out.note(Event::Committed { zxid });
            committed_any = true;
        }
        if committed_any {
            self.apply_committed(host, out);
            self.leader_answer_syncs(host, out);
        }
    }

    /// The zxid for a new proposal; None when the leader cannot take more. The leader
    /// steps down if the counter would pass `zxid_counter_max`.
    pub(crate) fn leader_next_zxid(
        &mut self,
        ctx: &mut Ctx,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> Option<Zxid> {
        let counter_max = self.cfg.zxid_counter_max;
        let l = self.lead_expect();
        assert_eq!(l.stage, LeaderStage::Established);
        if l.outstanding.len() >= OUTSTANDING_PROPOSALS_MAX {
            return None;
        }
        let counter = l.last_proposed.counter();
        if counter >= counter_max {
            self.go_looking(ctx, LeaveReason::ZxidCounterExhausted, host, out);
            return None;
        }
        let zxid = Zxid::new(l.last_proposed.epoch(), counter + 1);
        assert!(zxid > self.log.last_zxid(), "proposal below the log end");
        assert_eq!(
            Some(zxid.epoch()),
            l.new_epoch,
            "a proposal outside the leader's epoch"
        );
        Some(zxid)
    }

    /// Logs, persists and broadcasts a new entry (one shared copy for all of them).
    pub(crate) fn leader_propose(&mut self, txn: A::Entry, out: &mut Out<A>) {
        let zxid = txn.zxid();
        let l = self.lead_expect();
        assert!(zxid > l.last_proposed && zxid > self.log.last_zxid());
        assert_eq!(
            Some(zxid),
            l.last_proposed.next_in_epoch(),
            "not the position next_position gave"
        );
        assert!(
            l.stage == LeaderStage::Established && l.outstanding.len() < OUTSTANDING_PROPOSALS_MAX
        );
        let round = l.round;
        let txn = Arc::new(txn);
        self.log.append(Arc::clone(&txn));
        self.disk.append(Record::Txn(Arc::clone(&txn)), out);
        self.disk.sync(Waiter::LeaderTxn { round, zxid }, out);
        out.note(Event::Proposed {
            zxid,
            digest: txn.digest(),
        });
        let l = self.lead_expect_mut();
        l.last_proposed = zxid;
        l.outstanding.push_back(Outstanding {
            zxid,
            acks: BTreeSet::new(),
        });
        for (sid, h) in l.learners.iter_mut() {
            if !h.observer && h.stage >= HandlerStage::Syncing {
                let body = Peer::Proposal {
                    txn: Arc::clone(&txn),
                };
                h.link.send(*sid, body, out);
            }
        }
        assert_eq!(self.log.last_zxid(), zxid);
    }

    /// Whether learner `from` is connected, in broadcast, to this established leader.
    pub(crate) fn leader_learner_in_broadcast(&self, from: ProcessId) -> bool {
        let Role::Leading(l) = &self.role else {
            return false;
        };
        l.stage == LeaderStage::Established
            && l.learners
                .get(&from)
                .is_some_and(|h| h.stage == HandlerStage::Broadcast)
    }

    /// A barrier of `requester` (this server or a learner) is answered once every proposal
    /// issued before it is committed. False when too many are pending (dropped: the client
    /// times out and retries elsewhere).
    pub(crate) fn leader_sync(
        &mut self,
        requester: ProcessId,
        token: A::Msg,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> bool {
        let committed = self.commit_upto;
        let l = self.lead_expect_mut();
        assert_eq!(
            l.stage,
            LeaderStage::Established,
            "a sync before establishment"
        );
        if l.syncs.len() >= SYNCS_MAX {
            return false;
        }
        // The last outstanding proposal; none: everything proposed is committed (ZooKeeper's
        // `processSync` answers at once when `outstandingProposals` is empty). Not
        // `last_proposed`: right after establishment that is (epoch, 0), above everything
        // committed, and a barrier before the epoch's first write would wait for a commit
        // that may never come.
        let upto = l.outstanding.back().map_or(committed, |o| o.zxid);
        assert!(upto <= l.last_proposed.max(committed));
        l.syncs.push_back((upto, requester, token));
        self.leader_answer_syncs(host, out);
        true
    }

    fn leader_answer_syncs(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let committed = self.commit_upto;
        let me = self.cfg.me;
        while self
            .lead_expect()
            .syncs
            .front()
            .is_some_and(|(upto, _, _)| *upto <= committed)
        {
            let (_, requester, token) = self.lead_expect_mut().syncs.pop_front().expect("front");
            if requester == me {
                host.command(Command::BarrierDone(token), out);
            } else if let Some(h) = self.lead_expect_mut().learners.get_mut(&requester) {
                h.link.send(requester, Peer::SyncDone(token), out);
            }
        }
    }

    pub(crate) fn leader_tick(&mut self, ctx: &mut Ctx, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let now = self.now;
        let sync_ns = self.cfg.sync_limit_ns();
        let l = self.lead_expect();
        if l.stage != LeaderStage::Established {
            if now >= l.stage_deadline {
                self.go_looking(ctx, LeaveReason::InitLimitExpired, host, out);
                return;
            }
        } else {
            let synced = 1 + l
                .learners
                .iter()
                .filter(|(sid, h)| {
                    self.cfg.is_voter(**sid)
                        && h.stage >= HandlerStage::AwaitingUpToDate
                        && now.since_ns(h.last_heard) < sync_ns
                })
                .count();
            if synced < self.cfg.quorum_size() {
                self.go_looking(ctx, LeaveReason::SyncedQuorumLost, host, out);
                return;
            }
        }
        // Forget learners that went silent (ZooKeeper's learner socket timeout).
        let init_ns = self.cfg.init_limit_ns();
        let l = self.lead_expect_mut();
        l.learners.retain(|_, h| {
            let limit_ns = if h.stage >= HandlerStage::AwaitingUpToDate {
                sync_ns
            } else {
                init_ns
            };
            now.since_ns(h.last_heard) < limit_ns
        });
        for (sid, h) in l.learners.iter_mut() {
            if h.stage >= HandlerStage::Syncing {
                h.link.send(*sid, Peer::ping(A::Heartbeat::default()), out);
            }
        }
        self.set_timer(out, TIMER_TICK, now.plus_ns(self.cfg.tick_ns()));
        // Last, the server's reaction to the established leader's tick (it expires
        // sessions, which may propose).
        if self.is_established_leader() {
            host.command(Command::LeaderTick, out);
        }
    }
}
