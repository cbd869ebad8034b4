//! [`Zab`]: the ZAB engine behind the `replication::Engine` interface. Owns dispatch of
//! inputs to the election, leader and learner code, role transitions (with their events and
//! the status its host hears), in-order delivery of committed entries to the host, log
//! compaction, and the read-only views the invariant monitors use.
//! Invariants: `log.base <= snapshot.zxid <= applied_zxid <= log.last`,
//! `applied_zxid <= commit_upto` (commit_upto may run ahead of the log only transiently on a
//! learner), `current_epoch <= accepted_epoch`, the applied history equals the log's
//! cumulative digest at `applied_zxid`, entries are delivered once each in log order,
//! `state`/`phase` change only through `set_state`/`set_phase` (which emit the events) and
//! always follow the role and its stage, and the host's last heard status is the engine's
//! status. [`Zab::check_invariants`] asserts the O(1) ones after every input.

use std::sync::Arc;

use proto::{Ctx, Epoch, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};
use replication::{App, Command, Engine, Entry, Event, Snapshot, Status};

use crate::config::{Config, TIMER_FINALIZE, TIMER_NOTIFY, TIMER_TICK};
use crate::disk::{Disk, Waiter};
use crate::election::Election;
use crate::leader::{LeaderStage, LeaderState};
use crate::learner::{LearnerStage, LearnerState};
use crate::log::TxnLog;
use crate::msg::{Peer, Wire};
use crate::record::{Record, recover};
use crate::types::{LeaveReason, Phase, ServerState, chain_digest};

/// The outbox the engine writes to.
pub type Out<A> = proto::Outbox<Wire<A>, Record<A>, Event>;

/// The server above the engine, as the engine calls it.
pub type Host<'a, A> = dyn replication::Host<A, Out<A>> + 'a;

/// What the server is doing besides its durable state.
#[derive(Debug)]
pub(crate) enum Role<A: App> {
    Looking,
    Leading(Box<LeaderState<A>>),
    Learning(Box<LearnerState>),
}

/// The ZAB engine of one server (voter or observer). See the crate docs.
#[derive(Debug)]
pub struct Zab<A: App> {
    pub(crate) cfg: Config,
    pub(crate) started: bool,
    pub(crate) state: ServerState,
    pub(crate) phase: Phase,
    /// In-memory mirrors of the durable epochs (updated once the record is durable).
    pub(crate) accepted_epoch: Epoch,
    pub(crate) current_epoch: Epoch,
    pub(crate) log: TxnLog<A::Entry>,
    /// The latest local snapshot (recovered, compacted or installed).
    pub(crate) snapshot: Arc<Snapshot<A::State>>,
    /// The largest zxid this server knows to be committed.
    pub(crate) commit_upto: Zxid,
    pub(crate) applied_zxid: Zxid,
    pub(crate) applied_history: u64,
    pub(crate) disk: Disk,
    pub(crate) election: Election,
    pub(crate) role: Role<A>,
    /// The status the host heard last.
    pub(crate) reported: Status,
    /// The highest (accepted, current) epoch records this incarnation recovered or
    /// appended: what the disk says once they are durable. They never decrease.
    pub(crate) epochs_logged: (Epoch, Epoch),
    /// The time of the input being handled on the clock every timeout of this server runs
    /// on: the monotonic clock (`ctx.mono`), or the wall clock with the planted bug zk-1366.
    /// Timers go through [`Server::set_timer`], which sets them on the same clock.
    pub(crate) now: Time,
    /// The wall clock at the input being handled (`ctx.wall`): for timestamps only (a
    /// txn's time, hence ctime/mtime); never for a timeout.
    pub(crate) wall: Time,
    /// Counts role incarnations (leader rounds), to invalidate stale fsync waiters.
    pub(crate) rounds: u64,
    /// Why this server last left a role (for tests and traces; None before it ever did).
    pub(crate) leave_reason: Option<LeaveReason>,
    /// ZOOKEEPER-2355 (planted): the last zxid this learner claims after a DIFF started.
    pub(crate) zk2355_claimed_last: Option<Zxid>,
}

impl<A: App> Zab<A> {
    pub fn new(config: Config) -> Zab<A> {
        config.validate();
        Zab {
            cfg: config,
            started: false,
            state: ServerState::Looking,
            phase: Phase::Election,
            accepted_epoch: Epoch(0),
            current_epoch: Epoch(0),
            log: TxnLog::new(),
            snapshot: Arc::new(Snapshot::genesis()),
            commit_upto: Zxid::ZERO,
            applied_zxid: Zxid::ZERO,
            applied_history: 0,
            disk: Disk::new(0),
            election: Election::new(),
            role: Role::Looking,
            reported: Status::LOOKING,
            epochs_logged: (Epoch(0), Epoch(0)),
            now: Time::ZERO,
            wall: Time::ZERO,
            rounds: 0,
            leave_reason: None,
            zk2355_claimed_last: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }
    pub(crate) fn is_voter(&self) -> bool {
        self.cfg.is_voter(self.cfg.me)
    }

    // ---- role transitions -------------------------------------------------------------

    pub(crate) fn set_state(&mut self, state: ServerState, out: &mut Out<A>) {
        if self.state != state {
            self.state = state;
            out.note(Event::State {
                state,
                epoch: self.current_epoch,
            });
        }
    }

    pub(crate) fn set_phase(&mut self, phase: Phase, out: &mut Out<A>) {
        if self.phase != phase {
            self.phase = phase;
            out.note(Event::Phase(phase));
        }
    }

    /// Reads the clocks at the start of a handler: `now` is the clock timeouts run on
    /// (monotonic; the wall clock with zk-1366), `wall` the wall clock.
    fn read_clocks(&mut self, ctx: &Ctx) {
        self.now = if self.cfg.bugs.zk_1366 {
            ctx.wall
        } else {
            ctx.mono
        };
        self.wall = ctx.wall;
    }

    /// Sets `timer` at `at`, a reading of the clock `now` is read from: a monotonic timer,
    /// or with zk-1366 a wall-clock timer (which clock jumps move).
    pub(crate) fn set_timer(&self, out: &mut Out<A>, timer: TimerId, at: Time) {
        assert!(
            at >= self.now,
            "timer {timer:?} set in the past ({at} < {})",
            self.now
        );
        if self.cfg.bugs.zk_1366 {
            out.set_wall_timer(timer, at);
        } else {
            out.set_timer(timer, at);
        }
    }

    pub(crate) fn next_round(&mut self) -> u64 {
        self.rounds += 1;
        self.rounds
    }

    /// Leaves LEADING / FOLLOWING / OBSERVING for a new election.
    pub(crate) fn go_looking(
        &mut self,
        ctx: &mut Ctx,
        reason: LeaveReason,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert!(
            !matches!(self.role, Role::Looking),
            "go_looking while already looking"
        );
        self.leave_reason = Some(reason);
        if let Role::Learning(l) = &mut self.role {
            l.close(out);
        }
        self.role = Role::Looking;
        out.cancel_timer(TIMER_TICK);
        self.report_status(host, out);
        self.set_state(ServerState::Looking, out);
        self.set_phase(Phase::Election, out);
        self.start_election(ctx, out);
    }

    /// The role as the host sees it.
    pub(crate) fn status_now(&self) -> Status {
        let (state, leader) = match &self.role {
            Role::Looking => (ServerState::Looking, None),
            Role::Leading(_) => (ServerState::Leading, Some(self.cfg.me)),
            Role::Learning(l) => (self.state, Some(l.leader)),
        };
        Status {
            state,
            leader,
            serving: self.serving(),
        }
    }

    /// Tells the host the status, if it changed since it last heard it.
    pub(crate) fn report_status(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let status = self.status_now();
        status.check();
        if status != self.reported {
            self.reported = status;
            host.command(Command::Status(status), out);
        }
        assert_eq!(self.reported, self.status_now());
    }

    /// Asserts the O(1) invariants of this file's header, that state and phase follow the
    /// role (and its stage), and the role's own invariants. Run at the end of every input.
    pub(crate) fn check_invariants(&self) {
        assert!(
            self.current_epoch <= self.accepted_epoch,
            "current epoch {:?} above the accepted epoch {:?}",
            self.current_epoch,
            self.accepted_epoch
        );
        let (base, last) = (self.log.base_zxid(), self.log.last_zxid());
        assert!(
            last.epoch() <= self.accepted_epoch,
            "logged {last} in an epoch not accepted ({:?})",
            self.accepted_epoch
        );
        assert!(
            base <= self.snapshot.zxid && self.snapshot.zxid <= self.applied_zxid,
            "snapshot {} outside log base {base} .. applied {}",
            self.snapshot.zxid,
            self.applied_zxid
        );
        assert_eq!(
            self.reported,
            self.status_now(),
            "the host missed a status change"
        );
        assert!(
            self.applied_zxid <= last && self.applied_zxid <= self.commit_upto,
            "applied {} past the log end {last} or the commit point {}",
            self.applied_zxid,
            self.commit_upto
        );
        // (Whether a learner follows or observes is fixed when it becomes one: not re-checked
        // here, where a voter lookup would cost more than every other check together.)
        let phase = match &self.role {
            Role::Looking => {
                assert_eq!(
                    self.state,
                    ServerState::Looking,
                    "state does not follow the role"
                );
                Phase::Election
            }
            Role::Leading(l) => {
                self.check_leader_invariants(l);
                assert_eq!(
                    self.state,
                    ServerState::Leading,
                    "state does not follow the role"
                );
                l.stage.phase()
            }
            Role::Learning(l) => {
                self.check_learner_invariants(l);
                assert!(
                    matches!(self.state, ServerState::Following | ServerState::Observing),
                    "state does not follow the role"
                );
                l.stage.phase()
            }
        };
        assert_eq!(self.phase, phase, "phase does not follow the role's stage");
    }

    /// Whether this server answers client requests (broadcast phase).
    pub(crate) fn serving(&self) -> bool {
        match &self.role {
            Role::Leading(l) => l.stage == LeaderStage::Established,
            Role::Learning(l) => l.stage == LearnerStage::Broadcast,
            Role::Looking => false,
        }
    }

    // ---- delivery ---------------------------------------------------------------------

    /// Delivers, in log order, every logged txn up to the commit point.
    pub(crate) fn apply_committed(&mut self, host: &mut Host<'_, A>, out: &mut Out<A>) {
        assert!(self.applied_zxid >= self.log.base_zxid());
        let limit = self.commit_upto.min(self.log.last_zxid());
        let start = self.log.index_after(self.applied_zxid);
        let mut end = start;
        while end < self.log.len() && self.log.entries()[end].txn.zxid() <= limit {
            end += 1;
        }
        for i in start..end {
            let txn = Arc::clone(&self.log.entries()[i].txn);
            let (zxid, digest) = (txn.zxid(), txn.digest());
            assert!(zxid > self.applied_zxid, "delivery out of order");
            self.applied_history = chain_digest(self.applied_history, zxid, digest);
            self.applied_zxid = zxid;
            out.note(Event::Delivered { zxid, digest });
            host.command(Command::Deliver(txn), out);
        }
        assert_eq!(
            self.log.digest_at(self.applied_zxid),
            Some(self.applied_history),
            "applied history diverges from the log"
        );
        // `end` is what `index_after(applied_zxid)` would find (checked in O(1)).
        let entries = self.log.entries();
        debug_assert!(end == 0 || entries[end - 1].txn.zxid() <= self.applied_zxid);
        debug_assert!(end == entries.len() || entries[end].txn.zxid() > self.applied_zxid);
        self.maybe_compact(end, host, out);
    }

    /// Keeps the in-memory log bounded: with more than twice the window of applied entries,
    /// snapshot the applied state and keep only the last window of them.
    /// `applied_entries` is the number of applied log entries.
    fn maybe_compact(&mut self, applied_entries: usize, host: &mut Host<'_, A>, out: &mut Out<A>) {
        let window = self.cfg.log_window_txns;
        if applied_entries <= 2 * window {
            return;
        }
        let trim_to = self.log.entries()[applied_entries - window - 1].txn.zxid();
        let snapshot = Arc::new(self.snapshot_now(host));
        // What recovery will check of this record: the snapshot is a point of the log.
        assert_eq!(
            self.log.digest_at(snapshot.zxid),
            Some(snapshot.history),
            "snapshot does not match the log"
        );
        self.disk.append(
            Record::Snapshot {
                snapshot: Arc::clone(&snapshot),
                trim_to,
            },
            out,
        );
        self.log.trim_through(trim_to);
        self.snapshot = snapshot;
        assert_eq!(self.log.index_after(self.applied_zxid), window);
    }

    /// The applied state as a snapshot.
    pub(crate) fn snapshot_now(&self, host: &Host<'_, A>) -> Snapshot<A::State> {
        Snapshot {
            zxid: self.applied_zxid,
            history: self.applied_history,
            state: host.state().clone(),
        }
    }

    /// Replaces applied state (and, for SNAP, the log) by `snapshot`.
    pub(crate) fn install_snapshot(
        &mut self,
        snapshot: Arc<Snapshot<A::State>>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        assert!(
            matches!(self.role, Role::Learning(_)),
            "only a learner's state is replaced"
        );
        self.disk
            .append(Record::InstallSnapshot(Arc::clone(&snapshot)), out);
        self.log = TxnLog::starting_at(snapshot.zxid, snapshot.history);
        self.reset_applied(&snapshot, host, out);
        self.snapshot = snapshot;
    }

    /// Applied state := `snapshot` (emits `Reset`).
    pub(crate) fn reset_applied(
        &mut self,
        snapshot: &Arc<Snapshot<A::State>>,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        // The applied history must stay the log's cumulative digest at the applied zxid.
        assert_eq!(
            self.log.digest_at(snapshot.zxid),
            Some(snapshot.history),
            "reset to a snapshot that is not a point of the log"
        );
        self.applied_zxid = snapshot.zxid;
        self.applied_history = snapshot.history;
        self.commit_upto = snapshot.zxid;
        out.note(Event::Reset {
            upto: snapshot.zxid,
            history: snapshot.history,
        });
        host.command(Command::Restore(Arc::clone(snapshot)), out);
    }

    /// Appends an epoch record. ZooKeeper writes its epoch files synchronously, so what a
    /// server's disk says of its epochs never goes back; here the append is asynchronous, and
    /// a record of a role that ended before its fsync still lands: a later, lower one must
    /// never follow it.
    pub(crate) fn append_epoch(&mut self, record: Record<A>, out: &mut Out<A>) {
        let (accepted, current) = &mut self.epochs_logged;
        match &record {
            Record::AcceptedEpoch(e) => *accepted = epoch_logged_after(*accepted, *e, "accepted"),
            Record::CurrentEpoch(e) => *current = epoch_logged_after(*current, *e, "current"),
            other => panic!("not an epoch record: {other:?}"),
        }
        self.disk.append(record, out);
    }

    /// The last zxid this server reports in votes and ACKEPOCH.
    pub(crate) fn reported_last_zxid(&self) -> Zxid {
        let last = self.log.last_zxid();
        match self.zk2355_claimed_last {
            Some(z) if self.cfg.bugs.zk_2355 => last.max(z),
            _ => last,
        }
    }

    /// The accepted epoch this server reports (ZOOKEEPER-335 planted: the epoch of the last
    /// logged zxid, as before acceptedEpoch existed).
    pub(crate) fn reported_accepted_epoch(&self) -> Epoch {
        if self.cfg.bugs.zk_335 {
            self.reported_last_zxid().epoch()
        } else {
            self.accepted_epoch
        }
    }

    pub(crate) fn reported_current_epoch(&self) -> Epoch {
        if self.cfg.bugs.zk_335 {
            self.reported_last_zxid().epoch()
        } else {
            self.current_epoch
        }
    }

    fn on_durable(
        &mut self,
        ctx: &mut Ctx,
        waiter: Waiter,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        match waiter {
            Waiter::Nothing => {}
            Waiter::LeaderAcceptedEpoch { round, epoch } => {
                self.leader_accepted_epoch_durable(ctx, round, epoch, out)
            }
            Waiter::LeaderCurrentEpoch { round, epoch } => {
                self.leader_current_epoch_durable(ctx, round, epoch, host, out)
            }
            Waiter::LeaderTxn { round, zxid } => {
                self.leader_txn_durable(ctx, round, zxid, host, out)
            }
            Waiter::LearnerAcceptedEpoch { conn, epoch } => {
                self.learner_accepted_epoch_durable(ctx, conn, epoch, out)
            }
            Waiter::LearnerSyncedTxns { conn, epoch } => {
                self.learner_synced_txns_durable(ctx, conn, epoch, out)
            }
            Waiter::LearnerCurrentEpoch { conn, epoch } => {
                self.learner_current_epoch_durable(ctx, conn, epoch, out)
            }
            Waiter::LearnerTxn { conn, zxid } => self.learner_txn_durable(ctx, conn, zxid, out),
        }
    }

    // ---- read-only views for monitors and tests ----------------------------------------

    pub fn state(&self) -> ServerState {
        self.state
    }
    pub fn phase(&self) -> Phase {
        self.phase
    }
    /// Whether this server is in state LEADING (established or not): what leader-targeted
    /// faults hit.
    pub fn is_leader(&self) -> bool {
        self.state == ServerState::Leading
    }
    pub fn accepted_epoch(&self) -> Epoch {
        self.accepted_epoch
    }
    pub fn current_epoch(&self) -> Epoch {
        self.current_epoch
    }
    pub fn last_logged_zxid(&self) -> Zxid {
        self.log.last_zxid()
    }
    pub fn last_applied_zxid(&self) -> Zxid {
        self.applied_zxid
    }
    /// Cumulative history digest of the applied txns.
    pub fn applied_history(&self) -> u64 {
        self.applied_history
    }
    /// The largest zxid this server knows to be committed.
    pub fn committed_zxid(&self) -> Zxid {
        self.commit_upto
    }
    /// Cumulative digest of this server's log through `zxid`; None if `zxid` is not in the
    /// log (trimmed, never logged, or cut). The log's base point counts (zxid 0 → `Some(0)`
    /// on a fresh server).
    pub fn log_digest_at(&self, zxid: Zxid) -> Option<u64> {
        self.log.digest_at(zxid)
    }
    /// The in-memory log (entries after its base point).
    pub fn log(&self) -> &TxnLog<A::Entry> {
        &self.log
    }
    pub fn is_established_leader(&self) -> bool {
        matches!(&self.role, Role::Leading(l) if l.stage == LeaderStage::Established)
    }
    /// The leader this server follows / observes / is, once election decided.
    pub fn leader(&self) -> Option<ProcessId> {
        match &self.role {
            Role::Leading(_) => Some(self.cfg.me),
            Role::Learning(l) => Some(l.leader),
            Role::Looking => None,
        }
    }
    /// The epoch this leader established or is establishing (None before it picked one).
    pub fn leader_epoch(&self) -> Option<Epoch> {
        match &self.role {
            Role::Leading(l) => l.new_epoch,
            _ => None,
        }
    }
    /// The vote this server decided in its last election, with that election's epoch.
    pub fn decided_vote(&self) -> Option<(crate::types::Vote, u64)> {
        self.election.decided().map(|b| (b.vote, b.election_epoch))
    }
    /// The election's logical clock.
    pub fn election_epoch(&self) -> u64 {
        self.election.logical_clock
    }
    /// Why this server last left LEADING / FOLLOWING / OBSERVING.
    pub fn last_leave_reason(&self) -> Option<LeaveReason> {
        self.leave_reason
    }
    /// Whether this server answers client requests now.
    pub fn is_serving(&self) -> bool {
        self.serving()
    }
    /// (records appended, fsyncs issued) by this incarnation.
    pub fn disk_counters(&self) -> (u64, u64) {
        self.disk.counters()
    }
}

/// The engine's inputs: each reads the clocks first and checks the invariants last.
impl<A: App> Engine<A> for Zab<A> {
    type Wire = Wire<A>;
    type Record = Record<A>;

    /// A reset connection (the peer's process crashed): a learner whose leader is gone
    /// starts an election at once; a leader forgets that learner (its quorum check on the
    /// next tick decides whether it can go on leading) — as ZooKeeper does when a socket
    /// read fails. Resets of non-servers are not the engine's.
    fn on_disconnect(
        &mut self,
        ctx: &mut Ctx,
        peer: ProcessId,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) {
        self.read_clocks(ctx);
        assert!(
            self.cfg.is_server(peer),
            "a reset of a non-server reached the engine"
        );
        match &mut self.role {
            Role::Learning(l) if l.leader == peer => {
                self.go_looking(ctx, LeaveReason::LeaderConnectionReset, host, out)
            }
            Role::Leading(l) => l.forget_learner(peer),
            _ => {}
        }
        self.check_invariants();
    }

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
        self.read_clocks(ctx);
        // A random WriteId origin per incarnation: completions of an earlier incarnation
        // can never be mistaken for ours. Halved so the sequence cannot wrap.
        self.disk = Disk::new(ctx.rng.next_u64() >> 1);
        // A torn tail record is unreadable and ignored: `records` holds only complete ones.
        let _torn_tail_ignored = disk.torn_tail;
        let img = recover(disk.records);
        self.accepted_epoch = img.accepted_epoch;
        self.current_epoch = img.current_epoch;
        self.epochs_logged = (img.accepted_epoch, img.current_epoch);
        self.log = img.log;
        self.snapshot = img.snapshot;
        let snapshot = Arc::clone(&self.snapshot);
        self.reset_applied(&snapshot, host, out);
        self.state = ServerState::Looking;
        self.phase = Phase::Election;
        out.note(Event::State {
            state: ServerState::Looking,
            epoch: self.current_epoch,
        });
        out.note(Event::Phase(Phase::Election));
        self.start_election(ctx, out);
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
        if !self.started {
            return;
        }
        self.read_clocks(ctx);
        match msg {
            Wire::Notification(n) => self.on_notification(ctx, from, n, host, out),
            Wire::Peer { conn, seq, body } if self.cfg.is_server(from) && from != self.cfg.me => {
                match self.role {
                    Role::Leading(_) => self.leader_on_peer(ctx, from, conn, seq, body, host, out),
                    Role::Learning(_) => {
                        self.learner_on_peer(ctx, from, conn, seq, body, host, out)
                    }
                    Role::Looking => {}
                }
            }
            Wire::Peer { .. } => {}
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
        self.read_clocks(ctx);
        match timer {
            TIMER_NOTIFY => self.on_notify_timeout(ctx, out),
            TIMER_FINALIZE => self.on_finalize_timeout(ctx, host, out),
            TIMER_TICK => match self.role {
                Role::Leading(_) => self.leader_tick(ctx, host, out),
                Role::Learning(_) => self.learner_tick(ctx, host, out),
                Role::Looking => {}
            },
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
        self.read_clocks(ctx);
        if let Some(waiters) = self.disk.complete(write) {
            for &w in &waiters {
                self.on_durable(ctx, w, host, out);
            }
            self.disk.recycle(waiters);
            self.disk.flush(out);
        }
        self.check_invariants();
    }

    fn next_position(
        &mut self,
        ctx: &mut Ctx,
        host: &mut Host<'_, A>,
        out: &mut Out<A>,
    ) -> Option<Zxid> {
        self.read_clocks(ctx);
        let zxid = self.leader_next_zxid(ctx, host, out);
        self.check_invariants();
        zxid
    }

    fn propose(&mut self, entry: A::Entry, _host: &mut Host<'_, A>, out: &mut Out<A>) {
        assert!(entry.digest_ok(), "an entry whose digest does not match it");
        self.leader_propose(entry, out);
        self.check_invariants();
    }

    fn barrier(&mut self, token: A::Msg, host: &mut Host<'_, A>, out: &mut Out<A>) -> bool {
        assert!(self.serving(), "a barrier while not serving");
        let asked = match &self.role {
            Role::Leading(_) => self.leader_sync(self.cfg.me, token, host, out),
            Role::Learning(_) => self.learner_send(Peer::Sync(token), out),
            Role::Looking => unreachable!("serving while looking"),
        };
        self.check_invariants();
        asked
    }

    fn send_to_leader(&mut self, msg: A::Msg, out: &mut Out<A>) -> bool {
        matches!(self.role, Role::Learning(_)) && self.learner_send(Peer::App(msg), out)
    }

    fn send_to_peer(&mut self, to: ProcessId, msg: A::Msg, out: &mut Out<A>) -> bool {
        let Role::Leading(l) = &mut self.role else {
            return false;
        };
        let Some(h) = l.learners.get_mut(&to) else {
            return false;
        };
        h.link.send(to, Peer::App(msg), out);
        true
    }

    fn peer_serving(&self, peer: ProcessId) -> bool {
        self.leader_learner_in_broadcast(peer)
    }

    fn status(&self) -> Status {
        self.reported
    }

    fn delivered(&self) -> Zxid {
        self.applied_zxid
    }
}

/// The epoch a disk says once `next` is logged after `logged` (of the `what` kind). The
/// invariant: an epoch record is never lower than one logged before it.
fn epoch_logged_after(logged: Epoch, next: Epoch, what: &str) -> Epoch {
    assert!(
        next >= logged,
        "{what} epoch {next:?} logged after {logged:?}: the disk's epoch goes back"
    );
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_record_may_repeat_or_rise() {
        assert_eq!(epoch_logged_after(Epoch(3), Epoch(3), "accepted"), Epoch(3));
        assert_eq!(epoch_logged_after(Epoch(3), Epoch(4), "current"), Epoch(4));
        assert_eq!(epoch_logged_after(Epoch(0), Epoch(1), "current"), Epoch(1));
    }

    #[test]
    #[should_panic(expected = "accepted epoch Epoch(2) logged after Epoch(3)")]
    fn a_lower_epoch_record_after_a_higher_one_is_caught() {
        epoch_logged_after(Epoch(3), Epoch(2), "accepted");
    }
}
