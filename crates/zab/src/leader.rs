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

use datatree::{PendingChanges, TxnBody, TxnHeader};
use proto::zk::{Op, SessionId, ZkError};
use proto::{Ctx, Epoch, NS_PER_MS, ProcessId, Time, Zxid};

use crate::config::{OUTSTANDING_PROPOSALS_MAX, TIMER_TICK};
use crate::disk::Waiter;
use crate::link::{Arrival, Link};
use crate::msg::{Peer, PeerRequest, PeerSync};
use crate::notes::Note;
use crate::record::Record;
use crate::server::{Out, Role, Server};
use crate::sessions::SessionTracker;
use crate::sync::{SyncPlan, plan_sync};
use crate::types::{LeaveReason, Origin, Phase, ServerState, Txn};

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
    link: Link,
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
pub(crate) struct LeaderState {
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
    /// Changes prepared but not applied yet (ZooKeeper's outstanding change records).
    pub(crate) pending: PendingChanges,
    /// Live sessions (started when established).
    pub(crate) tracker: SessionTracker,
    /// Syncs waiting for every proposal up to their zxid to commit, in arrival order.
    syncs: VecDeque<(Zxid, Origin, String)>,
}

/// Most syncs a leader holds back at once; more are answered when the next commit lands.
const SYNCS_MAX: usize = 100_000;

impl LeaderState {
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

impl Server {
    /// The leader's state; panics unless leading (callers know the role: a handler of a
    /// leader-only input, or a caller that checked it).
    fn lead_expect_mut(&mut self) -> &mut LeaderState {
        match &mut self.role {
            Role::Leading(l) => l,
            _ => panic!("not leading"),
        }
    }

    /// The leader's state; panics unless leading (see [`Server::lead_expect_mut`]).
    fn lead_expect(&self) -> &LeaderState {
        match &self.role {
            Role::Leading(l) => l,
            _ => panic!("not leading"),
        }
    }

    /// The leader's O(1) invariants (see the module header), for
    /// [`Server::check_invariants`].
    pub(crate) fn check_leader_invariants(&self, l: &LeaderState) {
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

    pub(crate) fn become_leader(&mut self, _ctx: &mut Ctx, out: &mut Out) {
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
            pending: PendingChanges::new(),
            tracker: SessionTracker::default(),
            syncs: VecDeque::new(),
        }));
        self.set_state(ServerState::Leading, out);
        self.set_phase(Phase::Discovery, out);
        self.set_timer(out, TIMER_TICK, self.now.plus_ns(self.cfg.tick_ns()));
        self.leader_check_epoch_quorum(out);
    }

    fn leader_check_epoch_quorum(&mut self, out: &mut Out) {
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
            self.disk.append(Record::AcceptedEpoch(epoch), out);
        }
        self.disk
            .sync(Waiter::LeaderAcceptedEpoch { round, epoch }, out);
    }

    pub(crate) fn leader_accepted_epoch_durable(
        &mut self,
        _ctx: &mut Ctx,
        round: u64,
        epoch: Epoch,
        out: &mut Out,
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

    fn leader_check_epoch_ack_quorum(&mut self, out: &mut Out) {
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
            self.disk.append(Record::CurrentEpoch(epoch), out);
        }
        self.disk
            .sync(Waiter::LeaderCurrentEpoch { round, epoch }, out);
    }

    pub(crate) fn leader_current_epoch_durable(
        &mut self,
        _ctx: &mut Ctx,
        round: u64,
        epoch: Epoch,
        out: &mut Out,
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
            self.leader_sync_learner(sid, out);
        }
        self.leader_check_newleader_quorum(out);
    }

    /// Sends one learner its sync stream: DIFF / TRUNC / SNAP, the PROPOSALs (and COMMITs
    /// for committed ones) it misses, then NEWLEADER.
    fn leader_sync_learner(&mut self, sid: ProcessId, out: &mut Out) {
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
                    snapshot: Arc::new(self.snapshot_now()),
                },
                self.applied_zxid,
            ),
        };
        let mut stream = vec![first];
        for e in self.log.entries_after(from) {
            if e.txn.zxid > sync_upto {
                break;
            }
            stream.push(Peer::Proposal {
                txn: Arc::clone(&e.txn),
            });
            if e.txn.zxid <= committed {
                stream.push(Peer::Commit { zxid: e.txn.zxid });
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

    fn leader_check_newleader_quorum(&mut self, out: &mut Out) {
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
        out.note(Note::Established { epoch });
        self.set_phase(Phase::Broadcast, out);
        // The initial history is now on a quorum: committed.
        let last = self.log.last_zxid();
        assert!(self.commit_upto <= last);
        for e in self.log.entries_after(self.commit_upto) {
            out.note(Note::Committed { zxid: e.txn.zxid });
        }
        self.commit_upto = last;
        self.apply_committed(out);
        assert_eq!(
            self.applied_zxid, last,
            "established with unapplied history"
        );
        let tracker = SessionTracker::starting(self.app.sessions(), self.now);
        let l = self.lead_expect_mut();
        l.tracker = tracker;
        for (sid, h) in l.learners.iter_mut() {
            if h.stage == HandlerStage::AwaitingUpToDate {
                h.link.send(*sid, Peer::UpToDate, out);
                h.stage = HandlerStage::Broadcast;
            }
        }
    }

    pub(crate) fn leader_on_peer(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        conn: u64,
        seq: u64,
        body: Peer,
        out: &mut Out,
    ) {
        if let Peer::FollowerInfo { accepted_epoch } | Peer::ObserverInfo { accepted_epoch } = body
        {
            let observer = matches!(body, Peer::ObserverInfo { .. });
            self.leader_on_info(ctx, from, conn, seq, observer, accepted_epoch, out);
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
            } => self.leader_on_ack_epoch(ctx, from, current_epoch, last_zxid, out),
            Peer::AckNewLeader { epoch } => self.leader_on_ack_newleader(from, epoch, out),
            Peer::Ack { zxid } => self.leader_on_ack(from, zxid, out),
            Peer::Request(r) => {
                let PeerRequest {
                    session,
                    op,
                    origin,
                } = *r;
                self.leader_on_request(ctx, from, session, op, origin, out)
            }
            Peer::Sync(s) => {
                let PeerSync { origin, path } = *s;
                if self.leader_learner_in_broadcast(from, origin) {
                    self.leader_sync(origin, path, out);
                }
            }
            Peer::Revalidate {
                session,
                client,
                conn,
            } => self.leader_on_revalidate(from, session, client, conn, out),
            Peer::Ping { touched } => {
                let now = self.now;
                let l = self.lead_expect_mut();
                for &session in touched.iter() {
                    l.tracker.touch(session, now);
                }
            }
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
        out: &mut Out,
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
            self.go_looking(ctx, LeaveReason::LearnerAcceptedNewerEpoch, out);
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
        out: &mut Out,
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
                self.go_looking(ctx, LeaveReason::FollowerAhead, out);
                return;
            }
            if voter {
                l.epoch_acks.insert(from);
            }
        }
        if l.stage >= LeaderStage::Synchronizing {
            self.leader_sync_learner(from, out);
        }
        self.leader_check_epoch_ack_quorum(out);
    }

    fn leader_on_ack_newleader(&mut self, from: ProcessId, epoch: Epoch, out: &mut Out) {
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
            self.leader_try_commit(out);
        } else {
            self.leader_check_newleader_quorum(out);
        }
    }

    fn leader_on_ack(&mut self, from: ProcessId, zxid: Zxid, out: &mut Out) {
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
            self.leader_try_commit(out);
        }
    }

    pub(crate) fn leader_txn_durable(
        &mut self,
        _ctx: &mut Ctx,
        round: u64,
        zxid: Zxid,
        out: &mut Out,
    ) {
        if !self.leading_round(round) {
            return;
        }
        let me = self.cfg.me;
        let l = self.lead_expect_mut();
        if let Ok(i) = l.outstanding.binary_search_by(|o| o.zxid.cmp(&zxid)) {
            l.outstanding[i].acks.insert(me);
            self.leader_try_commit(out);
        }
    }

    /// Commits, in zxid order, every leading outstanding proposal a quorum acknowledged.
    fn leader_try_commit(&mut self, out: &mut Out) {
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
            out.note(Note::Committed { zxid });
            committed_any = true;
        }
        if committed_any {
            self.apply_committed(out);
            self.leader_answer_syncs(out);
        }
    }

    /// The zxid for a new proposal; None when the leader cannot take more. The leader
    /// steps down if the counter would pass `zxid_counter_max`.
    fn leader_next_zxid(&mut self, ctx: &mut Ctx, out: &mut Out) -> Option<Zxid> {
        let counter_max = self.cfg.zxid_counter_max;
        let l = self.lead_expect();
        assert_eq!(l.stage, LeaderStage::Established);
        if l.outstanding.len() >= OUTSTANDING_PROPOSALS_MAX {
            return None;
        }
        let counter = l.last_proposed.counter();
        if counter >= counter_max {
            self.go_looking(ctx, LeaveReason::ZxidCounterExhausted, out);
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

    /// Prepares `op` of `session` against the tree plus the outstanding changes
    /// (ZooKeeper's `PrepRequestProcessor`, session checks first) and proposes the txn.
    /// `origin: None` is a session expiry. False (nothing proposed) when refused.
    pub(crate) fn leader_submit(
        &mut self,
        ctx: &mut Ctx,
        session: SessionId,
        op: &Op,
        origin: Option<Origin>,
        out: &mut Out,
    ) -> bool {
        assert!(op.is_write(), "submit of a read");
        let Some(zxid) = self.leader_next_zxid(ctx, out) else {
            return false;
        };
        let now = self.now;
        // The txn's time (its nodes' ctime / mtime) is a date: the wall clock's.
        let header = TxnHeader {
            session,
            zxid,
            time_ms: i64::try_from(self.wall.0 / NS_PER_MS).expect("time fits"),
        };
        let Role::Leading(l) = &mut self.role else {
            unreachable!("leader_next_zxid checked the role")
        };
        let body = match session_check(&mut l.tracker, session, op, origin, now) {
            Err(err) => TxnBody::Error(err),
            Ok(()) => {
                self.app
                    .tree()
                    .prepare_with(&mut l.pending, header, op)
                    .body
            }
        };
        self.leader_propose(Txn::new(zxid, session, header.time_ms, body, origin), out);
        true
    }

    /// Logs, persists and broadcasts a new txn (one shared copy for all of them).
    fn leader_propose(&mut self, txn: Txn, out: &mut Out) {
        let zxid = txn.zxid;
        let l = self.lead_expect();
        assert!(zxid > l.last_proposed && zxid > self.log.last_zxid());
        assert!(
            l.stage == LeaderStage::Established && l.outstanding.len() < OUTSTANDING_PROPOSALS_MAX
        );
        let round = l.round;
        let txn = Arc::new(txn);
        self.log.append(Arc::clone(&txn));
        self.disk.append(Record::Txn(Arc::clone(&txn)), out);
        self.disk.sync(Waiter::LeaderTxn { round, zxid }, out);
        out.note(Note::Proposed {
            zxid,
            digest: txn.digest,
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
    }

    fn leader_learner_in_broadcast(&self, from: ProcessId, origin: Origin) -> bool {
        let l = self.lead_expect();
        origin.server == from
            && l.stage == LeaderStage::Established
            && l.learners[&from].stage == HandlerStage::Broadcast
    }

    fn leader_on_request(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        session: SessionId,
        op: Op,
        origin: Origin,
        out: &mut Out,
    ) {
        if !self.leader_learner_in_broadcast(from, origin) || !op.is_write() {
            return;
        }
        // Refused proposals are dropped: the learner answers its client when it loses us.
        let _ = self.leader_submit(ctx, session, &op, Some(origin), out);
    }

    /// A sync is answered once every proposal issued before it is committed.
    pub(crate) fn leader_sync(&mut self, origin: Origin, path: String, out: &mut Out) {
        let l = self.lead_expect_mut();
        assert_eq!(
            l.stage,
            LeaderStage::Established,
            "a sync before establishment"
        );
        if l.syncs.len() >= SYNCS_MAX {
            return; // the client times out and retries elsewhere
        }
        let upto = l.last_proposed;
        l.syncs.push_back((upto, origin, path));
        self.leader_answer_syncs(out);
    }

    fn leader_answer_syncs(&mut self, out: &mut Out) {
        let committed = self.commit_upto;
        let me = self.cfg.me;
        while let Some((upto, origin, path)) = self.lead_expect().syncs.front().cloned() {
            if upto > committed {
                break;
            }
            self.lead_expect_mut().syncs.pop_front();
            if origin.server == me {
                self.complete_sync(origin, path, out);
            } else if let Some(h) = self.lead_expect_mut().learners.get_mut(&origin.server) {
                h.link
                    .send(origin.server, Peer::sync_done(origin, path), out);
            }
        }
    }

    fn leader_on_revalidate(
        &mut self,
        from: ProcessId,
        session: SessionId,
        client: ProcessId,
        conn: u64,
        out: &mut Out,
    ) {
        let now = self.now;
        let l = self.lead_expect_mut();
        if l.stage != LeaderStage::Established {
            return;
        }
        let timeout_ms = l.tracker.revalidate(session, from, now);
        let h = l.learners.get_mut(&from).expect("checked by the caller");
        let reply = Peer::Revalidated {
            session,
            client,
            conn,
            timeout_ms,
        };
        h.link.send(from, reply, out);
    }

    /// Proposes a CloseSession for every session past its deadline.
    fn leader_expire_sessions(&mut self, ctx: &mut Ctx, out: &mut Out) {
        assert!(
            self.is_established_leader(),
            "only an established leader expires sessions"
        );
        let now = self.now;
        let expired = self.lead_expect_mut().tracker.expire(now);
        for session in expired {
            if !self.leader_submit(ctx, session, &Op::CloseSession, None, out) {
                return;
            }
        }
    }

    pub(crate) fn leader_tick(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let now = self.now;
        let sync_ns = self.cfg.sync_limit_ns();
        let l = self.lead_expect();
        if l.stage != LeaderStage::Established {
            if now >= l.stage_deadline {
                self.go_looking(ctx, LeaveReason::InitLimitExpired, out);
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
                self.go_looking(ctx, LeaveReason::SyncedQuorumLost, out);
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
                h.link.send(*sid, Peer::ping([]), out);
            }
        }
        self.set_timer(out, TIMER_TICK, now.plus_ns(self.cfg.tick_ns()));
        // Sessions expire last: the tick's own work (quorum check, pings, the next tick) is
        // the replication engine's, the expiry is the server's reaction to the tick.
        if self.is_established_leader() {
            self.leader_expire_sessions(ctx, out);
        }
    }
}

/// ZooKeeper's session checks before a write is prepared: a new session starts being
/// tracked, a close marks it closing, anything else must come from the session's owner.
fn session_check(
    tracker: &mut SessionTracker,
    session: SessionId,
    op: &Op,
    origin: Option<Origin>,
    now: Time,
) -> Result<(), ZkError> {
    match (op, origin) {
        (Op::CreateSession { timeout_ms }, Some(o)) => {
            tracker.add(session, *timeout_ms, Some(o.server), now);
            Ok(())
        }
        (Op::CloseSession, None) => Ok(()), // an expiry: marked closing already
        (Op::CloseSession, Some(o)) => {
            tracker.check(session, o.server)?;
            let closing = tracker.set_closing(session);
            assert!(closing);
            Ok(())
        }
        (_, Some(o)) => tracker.check(session, o.server),
        (_, None) => panic!("only a session expiry has no origin: {op:?}"),
    }
}
