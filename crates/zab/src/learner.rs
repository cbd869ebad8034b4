//! The follower's and observer's side: connect (FOLLOWERINFO / OBSERVERINFO, retried each
//! tick on a fresh connection until LEADERINFO), accept the epoch, sync (DIFF / TRUNC /
//! SNAP, PROPOSAL, COMMIT, NEWLEADER), UPTODATE, then broadcast (PROPOSAL → durable → ACK,
//! COMMIT, INFORM, PING).
//! Invariants: ACKEPOCH only after the accepted epoch is durable; the NEWLEADER ACK only
//! after the synced txns are durable and then the current epoch is durable, in that order;
//! a proposal is ACKed only after it is durable and never before the NEWLEADER ACK; nothing
//! from the sync stream is delivered before UPTODATE; any unexpected or out-of-order
//! message from the leader breaks the connection (→ LOOKING).
//! `Server::check_learner_invariants` asserts the O(1) ones after every input.

use std::sync::Arc;

use proto::{Ctx, Epoch, ProcessId, Time, Zxid};

use crate::config::{OUTSTANDING_PROPOSALS_MAX, TIMER_TICK};
use crate::disk::Waiter;
use crate::engine::{Host, Out, Role, Zab};
use crate::link::{Arrival, Link};
use crate::msg::Peer;
use crate::record::Record;
use crate::types::{LeaveReason, Phase, ServerState};
use replication::{App, Command, Entry, Event, Snapshot};

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LearnerStage {
    /// FOLLOWERINFO / OBSERVERINFO sent; waiting for LEADERINFO.
    Connecting,
    /// Making the new accepted epoch durable before ACKEPOCH.
    PersistingEpoch,
    /// ACKEPOCH sent; waiting for DIFF / TRUNC / SNAP.
    AwaitingSync,
    /// Receiving the sync stream; waiting for NEWLEADER.
    Syncing,
    /// NEWLEADER received: making synced txns, then the current epoch, durable.
    PersistingSync,
    /// NEWLEADER ACK sent.
    AwaitingUpToDate,
    Broadcast,
}

impl LearnerStage {
    /// The ZAB phase a learner in this stage is in.
    pub(crate) fn phase(self) -> Phase {
        match self {
            LearnerStage::Connecting
            | LearnerStage::PersistingEpoch
            | LearnerStage::AwaitingSync => Phase::Discovery,
            LearnerStage::Syncing
            | LearnerStage::PersistingSync
            | LearnerStage::AwaitingUpToDate => Phase::Synchronization,
            LearnerStage::Broadcast => Phase::Broadcast,
        }
    }
}

#[derive(Debug)]
pub(crate) struct LearnerState {
    pub(crate) leader: ProcessId,
    link: Link,
    pub(crate) stage: LearnerStage,
    last_heard: Time,
    new_epoch: Epoch,
    /// Highest zxid the sync stream says is committed (delivered at UPTODATE).
    sync_commit: Zxid,
    newleader_acked: bool,
    /// Durable proposals waiting for the NEWLEADER ACK to go out first.
    deferred_acks: Vec<Zxid>,
}

impl LearnerState {
    /// Close the connection to the leader, as a learner's socket close would (a TCP FIN):
    /// the leader forgets this learner and what it acked on the connection, instead of
    /// counting a learner that has left (it may join a newer epoch meanwhile).
    pub(crate) fn close<A: App>(&mut self, out: &mut Out<A>) {
        let leader = self.leader;
        self.link.send_reset(leader, out);
    }
}

impl<A: App> Zab<A> {
    /// The learner's state; panics unless following or observing (callers know the role:
    /// a handler of a learner-only input, or a caller that checked it).
    fn learn_expect_mut(&mut self) -> &mut LearnerState {
        match &mut self.role {
            Role::Learning(l) => l,
            _ => panic!("not learning"),
        }
    }

    /// The learner's state; panics unless learning (see [`Zab::learn_expect_mut`]).
    fn learn_expect(&self) -> &LearnerState {
        match &self.role {
            Role::Learning(l) => l,
            _ => panic!("not learning"),
        }
    }

    /// The learner's O(1) invariants (see the module header), for
    /// [`Zab::check_invariants`].
    pub(crate) fn check_learner_invariants(&self, l: &LearnerState) {
        assert_ne!(l.leader, self.cfg.me, "a learner follows another server");
        if l.stage >= LearnerStage::AwaitingSync {
            assert!(
                l.new_epoch <= self.accepted_epoch,
                "ACKEPOCH for an epoch not accepted"
            );
        }
        assert_eq!(
            l.newleader_acked,
            l.stage >= LearnerStage::AwaitingUpToDate,
            "the NEWLEADER ACK and the stage disagree"
        );
        assert!(
            !l.newleader_acked || l.deferred_acks.is_empty(),
            "ACKs held back after the NEWLEADER ACK"
        );
    }

    fn on_conn(&self, conn: u64) -> bool {
        matches!(&self.role, Role::Learning(l) if l.link.conn == conn)
    }

    pub(crate) fn become_learner(
        &mut self,
        ctx: &mut Ctx,
        leader: ProcessId,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert_ne!(leader, self.cfg.me);
        assert!(
            matches!(self.role, Role::Looking),
            "a new role replaces a live one"
        );
        self.next_round();
        self.role = Role::Learning(Box::new(LearnerState {
            leader,
            link: Link::new(0),
            stage: LearnerStage::Connecting,
            last_heard: self.now,
            new_epoch: Epoch(0),
            sync_commit: Zxid::ZERO,
            newleader_acked: false,
            deferred_acks: Vec::new(),
        }));
        let state = if self.is_voter() {
            ServerState::Following
        } else {
            ServerState::Observing
        };
        self.set_state(state, out);
        self.report_status(host, out);
        self.set_phase(Phase::Discovery, out);
        self.learner_connect(ctx, out);
        self.set_timer(out, TIMER_TICK, self.now.plus_ns(self.cfg.tick_ns()));
    }

    /// Opens a fresh connection to the leader.
    fn learner_connect(&mut self, ctx: &mut Ctx, out: &mut Out<A>) {
        let accepted_epoch = self.reported_accepted_epoch();
        let body = if self.is_voter() {
            Peer::FollowerInfo { accepted_epoch }
        } else {
            Peer::ObserverInfo { accepted_epoch }
        };
        let conn = ctx.rng.next_u64();
        let l = self.learn_expect_mut();
        assert_eq!(l.stage, LearnerStage::Connecting);
        l.link = Link::new(conn);
        let leader = l.leader;
        l.link.send(leader, body, out);
    }

    pub(crate) fn learner_tick(&mut self, ctx: &mut Ctx, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let now = self.now;
        let l = self.learn_expect();
        let limit_ns = if l.stage == LearnerStage::Broadcast {
            self.cfg.sync_limit_ns()
        } else {
            self.cfg.init_limit_ns()
        };
        if now.since_ns(l.last_heard) >= limit_ns {
            self.go_looking(ctx, LeaveReason::LeaderSilent, host, out);
            return;
        }
        if l.stage == LearnerStage::Connecting {
            self.learner_connect(ctx, out);
        }
        self.set_timer(out, TIMER_TICK, now.plus_ns(self.cfg.tick_ns()));
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn learner_on_peer(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        conn: u64,
        seq: u64,
        body: Peer<A>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let now = self.now;
        let l = self.learn_expect_mut();
        if from != l.leader || conn != l.link.conn {
            return; // a stale connection
        }
        match l.link.arrive(seq) {
            Arrival::InOrder => {}
            Arrival::Duplicate => return,
            Arrival::Gap => {
                self.go_looking(ctx, LeaveReason::LeaderConnectionGap, host, out);
                return;
            }
        }
        l.last_heard = now;
        let stage = l.stage;
        let ok = match body {
            Peer::LeaderInfo { new_epoch } if stage == LearnerStage::Connecting => {
                self.learner_on_leader_info(ctx, conn, new_epoch, out)
            }
            Peer::Diff {
                last_zxid,
                committed_zxid,
            } if stage == LearnerStage::AwaitingSync => {
                if self.cfg.bugs.zk_2355 {
                    self.zk2355_claimed_last = Some(last_zxid);
                }
                self.learner_start_sync(committed_zxid, out);
                true
            }
            Peer::Trunc { to, committed_zxid } if stage == LearnerStage::AwaitingSync => {
                self.learner_on_trunc(to, committed_zxid, host, out)
            }
            Peer::Snap { snapshot } if stage == LearnerStage::AwaitingSync => {
                self.learner_on_snap(snapshot, host, out);
                true
            }
            Peer::Proposal { txn } => self.learner_on_proposal(conn, txn, out),
            Peer::Commit { zxid } => self.learner_on_commit(zxid, host, out),
            Peer::Inform { txn } => self.learner_on_inform(txn, host, out),
            Peer::NewLeader { epoch, last_zxid } if stage == LearnerStage::Syncing => {
                self.learner_on_newleader(conn, epoch, last_zxid, out)
            }
            Peer::UpToDate if stage == LearnerStage::AwaitingUpToDate => {
                self.learner_on_uptodate(host, out);
                true
            }
            Peer::Ping { .. } => {
                let payload = host.heartbeat();
                let l = self.learn_expect_mut();
                let leader = l.leader;
                l.link.send(leader, Peer::ping(payload), out);
                true
            }
            Peer::SyncDone(token) if stage == LearnerStage::Broadcast => {
                host.command(Command::BarrierDone(token), out);
                true
            }
            Peer::App(msg) if stage == LearnerStage::Broadcast => {
                host.command(Command::Message { from, msg }, out);
                true
            }
            _ => false,
        };
        if !ok {
            self.go_looking(ctx, LeaveReason::UnexpectedLeaderMessage, host, out);
        }
    }

    fn learner_on_leader_info(
        &mut self,
        _ctx: &mut Ctx,
        conn: u64,
        new_epoch: Epoch,
        out: &mut Out<A>,
    ) -> bool {
        let accepted = self.reported_accepted_epoch();
        let bug335 = self.cfg.bugs.zk_335;
        if new_epoch > accepted || (bug335 && new_epoch == accepted) {
            let l = self.learn_expect_mut();
            l.new_epoch = new_epoch;
            l.stage = LearnerStage::PersistingEpoch;
            if !bug335 {
                self.append_epoch(Record::AcceptedEpoch(new_epoch), out);
            }
            self.disk.sync(
                Waiter::LearnerAcceptedEpoch {
                    conn,
                    epoch: new_epoch,
                },
                out,
            );
            true
        } else if new_epoch == accepted {
            // Already accepted (a reconnect): ack with ZooKeeper's -1, nothing to persist.
            let last_zxid = self.reported_last_zxid();
            let l = self.learn_expect_mut();
            l.new_epoch = new_epoch;
            l.stage = LearnerStage::AwaitingSync;
            let leader = l.leader;
            l.link.send(
                leader,
                Peer::AckEpoch {
                    current_epoch: None,
                    last_zxid,
                },
                out,
            );
            true
        } else {
            false // the leader's epoch is older than one we accepted
        }
    }

    pub(crate) fn learner_accepted_epoch_durable(
        &mut self,
        _ctx: &mut Ctx,
        conn: u64,
        epoch: Epoch,
        out: &mut Out<A>,
    ) {
        if !self.on_conn(conn) {
            return;
        }
        self.accepted_epoch = self.accepted_epoch.max(epoch);
        let current_epoch = Some(self.reported_current_epoch());
        let last_zxid = self.reported_last_zxid();
        let l = self.learn_expect_mut();
        assert_eq!(l.stage, LearnerStage::PersistingEpoch);
        assert_eq!(l.new_epoch, epoch, "the durable epoch is the leader's");
        l.stage = LearnerStage::AwaitingSync;
        let leader = l.leader;
        l.link.send(
            leader,
            Peer::AckEpoch {
                current_epoch,
                last_zxid,
            },
            out,
        );
    }

    fn learner_start_sync(&mut self, committed: Zxid, out: &mut Out<A>) {
        let l = self.learn_expect_mut();
        assert_eq!(
            l.stage,
            LearnerStage::AwaitingSync,
            "a second sync on one connection"
        );
        l.stage = LearnerStage::Syncing;
        l.sync_commit = committed;
        self.set_phase(Phase::Synchronization, out);
    }

    fn learner_on_trunc(
        &mut self,
        to: Zxid,
        committed: Zxid,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> bool {
        if to < self.log.base_zxid() {
            return false; // cannot cut below what we hold: start over
        }
        if to >= self.log.last_zxid() {
            // Nothing to cut.
        } else if to >= self.applied_zxid {
            let removed = self.log.truncate_after(to);
            self.disk.append(Record::Truncate { to }, out);
            out.note(Event::Truncated { after: to, removed });
            self.commit_upto = self.commit_upto.min(to);
        } else if self.snapshot.zxid <= to {
            // Only reachable when a committed txn is being cut (a planted bug upstream):
            // roll the applied state back to the snapshot, like ZooKeeper's reload.
            let removed = self.log.truncate_after(to);
            self.disk.append(Record::Truncate { to }, out);
            out.note(Event::Truncated { after: to, removed });
            let snapshot = Arc::clone(&self.snapshot);
            self.reset_applied(&snapshot, host, out);
        } else {
            // Even the snapshot is past the cut: forget everything and start over.
            let removed = self
                .log
                .entries_after(to)
                .iter()
                .map(|e| e.txn.zxid())
                .collect();
            out.note(Event::Truncated { after: to, removed });
            self.install_snapshot(Arc::new(Snapshot::genesis()), host, out);
            return false;
        }
        self.learner_start_sync(committed, out);
        true
    }

    fn learner_on_snap(
        &mut self,
        snapshot: Arc<Snapshot<A::State>>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        let zxid = snapshot.zxid;
        self.install_snapshot(snapshot, host, out);
        assert!(self.applied_zxid == zxid && self.log.last_zxid() == zxid);
        self.learner_start_sync(zxid, out);
    }

    fn learner_on_proposal(&mut self, conn: u64, txn: Arc<A::Entry>, out: &mut Out<A>) -> bool {
        let observer = !self.is_voter();
        let l = self.learn_expect();
        let stage = l.stage;
        let in_sync = stage == LearnerStage::Syncing;
        let live = !observer && stage >= LearnerStage::PersistingSync;
        if !(in_sync || live)
            || l.deferred_acks.len() >= OUTSTANDING_PROPOSALS_MAX
            || txn.zxid() <= self.log.last_zxid()
            || txn.zxid().epoch() > l.new_epoch
        {
            return false;
        }
        let zxid = txn.zxid();
        self.log.append(Arc::clone(&txn));
        self.disk.append(Record::Txn(txn), out);
        if live {
            self.disk.sync(Waiter::LearnerTxn { conn, zxid }, out);
        }
        true
    }

    fn learner_on_commit(&mut self, zxid: Zxid, host: &mut Host<'_, A>, out: &mut Out<A>) -> bool {
        if zxid > self.log.last_zxid() {
            return false; // a commit for a txn we never got
        }
        let l = self.learn_expect_mut();
        match l.stage {
            LearnerStage::Syncing
            | LearnerStage::PersistingSync
            | LearnerStage::AwaitingUpToDate => {
                l.sync_commit = l.sync_commit.max(zxid);
                true
            }
            LearnerStage::Broadcast => {
                if zxid > self.commit_upto {
                    self.commit_upto = zxid;
                    self.apply_committed(host, out);
                }
                true
            }
            _ => false,
        }
    }

    fn learner_on_inform(
        &mut self,
        txn: Arc<A::Entry>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> bool {
        let l = self.learn_expect();
        if self.is_voter()
            || l.stage < LearnerStage::PersistingSync
            || txn.zxid() <= self.log.last_zxid()
        {
            return false;
        }
        let zxid = txn.zxid();
        self.log.append(Arc::clone(&txn));
        self.disk.append(Record::Txn(txn), out);
        self.disk.sync(Waiter::Nothing, out);
        let l = self.learn_expect_mut();
        if l.stage == LearnerStage::Broadcast {
            self.commit_upto = zxid;
            self.apply_committed(host, out);
            assert_eq!(
                self.applied_zxid, zxid,
                "an INFORM in broadcast is delivered at once"
            );
        } else {
            l.sync_commit = zxid;
        }
        true
    }

    fn learner_on_newleader(
        &mut self,
        conn: u64,
        epoch: Epoch,
        _last_zxid: Zxid,
        out: &mut Out<A>,
    ) -> bool {
        let l = self.learn_expect_mut();
        if epoch != l.new_epoch {
            return false;
        }
        l.stage = LearnerStage::PersistingSync;
        if self.cfg.bugs.zk_3911 {
            // Planted: ACK first, persist later.
            if !self.cfg.bugs.zk_335 {
                self.append_epoch(Record::CurrentEpoch(epoch), out);
            }
            self.disk.sync(Waiter::Nothing, out);
            self.current_epoch = self.current_epoch.max(epoch);
            self.learner_ack_newleader(epoch, out);
        } else {
            self.disk
                .sync(Waiter::LearnerSyncedTxns { conn, epoch }, out);
        }
        true
    }

    pub(crate) fn learner_synced_txns_durable(
        &mut self,
        _ctx: &mut Ctx,
        conn: u64,
        epoch: Epoch,
        out: &mut Out<A>,
    ) {
        if !self.on_conn(conn) {
            return;
        }
        assert_eq!(self.learn_expect().stage, LearnerStage::PersistingSync);
        if !self.cfg.bugs.zk_335 {
            self.append_epoch(Record::CurrentEpoch(epoch), out);
        }
        self.disk
            .sync(Waiter::LearnerCurrentEpoch { conn, epoch }, out);
    }

    pub(crate) fn learner_current_epoch_durable(
        &mut self,
        _ctx: &mut Ctx,
        conn: u64,
        epoch: Epoch,
        out: &mut Out<A>,
    ) {
        if !self.on_conn(conn) {
            return;
        }
        assert_eq!(self.learn_expect().stage, LearnerStage::PersistingSync);
        assert!(epoch >= self.current_epoch || self.cfg.bugs.zk_335);
        self.current_epoch = self.current_epoch.max(epoch);
        self.accepted_epoch = self.accepted_epoch.max(epoch);
        self.learner_ack_newleader(epoch, out);
    }

    fn learner_ack_newleader(&mut self, epoch: Epoch, out: &mut Out<A>) {
        assert!(
            self.current_epoch >= epoch,
            "NEWLEADER ACK before the epoch is current"
        );
        self.election.update_decided_epoch(epoch);
        let last_zxid = self.log.last_zxid();
        self.zk2355_claimed_last = None;
        let l = self.learn_expect_mut();
        let leader = l.leader;
        l.link.send(leader, Peer::AckNewLeader { epoch }, out);
        l.stage = LearnerStage::AwaitingUpToDate;
        l.newleader_acked = true;
        for zxid in std::mem::take(&mut l.deferred_acks) {
            l.link.send(leader, Peer::Ack { zxid }, out);
        }
        out.note(Event::Synced {
            leader,
            epoch,
            last_zxid,
        });
    }

    pub(crate) fn learner_txn_durable(
        &mut self,
        _ctx: &mut Ctx,
        conn: u64,
        zxid: Zxid,
        out: &mut Out<A>,
    ) {
        if !self.on_conn(conn) {
            return;
        }
        assert!(zxid <= self.log.last_zxid(), "ACK of a txn never logged");
        let l = self.learn_expect_mut();
        if l.newleader_acked {
            let leader = l.leader;
            l.link.send(leader, Peer::Ack { zxid }, out);
        } else {
            l.deferred_acks.push(zxid);
        }
    }

    fn learner_on_uptodate(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let last = self.log.last_zxid();
        let l = self.learn_expect_mut();
        l.stage = LearnerStage::Broadcast;
        let sync_commit = l.sync_commit.min(last);
        self.commit_upto = self.commit_upto.max(sync_commit);
        self.set_phase(Phase::Broadcast, out);
        self.report_status(host, out);
        self.apply_committed(host, out);
    }

    /// Sends the leader a barrier or an application message; false unless in broadcast.
    pub(crate) fn learner_send(&mut self, body: Peer<A>, out: &mut Out<A>) -> bool {
        assert!(matches!(body, Peer::Sync(_) | Peer::App(_)));
        let l = self.learn_expect_mut();
        if l.stage != LearnerStage::Broadcast {
            return false;
        }
        let leader = l.leader;
        l.link.send(leader, body, out);
        true
    }
}
