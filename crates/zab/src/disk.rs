//! Appends and fsync batching. At most one fsync is in flight; everything that must wait
//! for durability while one is in flight queues behind it and is covered by the next fsync
//! (group commit). A [`Waiter`] says what to do once the records appended before its fsync
//! are durable; the server re-validates it (role, connection, round) before acting.
//! Invariants: waiters run in request order; an `on_disk_done` for any id other than the
//! in-flight one is ignored (stale or foreign); at most `FSYNC_WAITERS_MAX` wait.

use proto::{Epoch, Outbox, WriteId, Zxid};

use crate::config::FSYNC_WAITERS_MAX;

/// What to do once durable.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Waiter {
    /// Nothing: the fsync only bounds what a crash can lose (observers, snapshots).
    Nothing,
    /// Leader: its new accepted epoch is durable; send LEADERINFO.
    LeaderAcceptedEpoch { round: u64, epoch: Epoch },
    /// Leader: its new current epoch (and its whole initial log) is durable; start syncing.
    LeaderCurrentEpoch { round: u64, epoch: Epoch },
    /// Leader: its own proposal is durable; count its own ACK.
    LeaderTxn { round: u64, zxid: Zxid },
    /// Learner: the accepted epoch is durable; send ACKEPOCH.
    LearnerAcceptedEpoch { conn: u64, epoch: Epoch },
    /// Learner: the synced txns are durable; now persist the current epoch.
    LearnerSyncedTxns { conn: u64, epoch: Epoch },
    /// Learner: the current epoch is durable; ACK NEWLEADER.
    LearnerCurrentEpoch { conn: u64, epoch: Epoch },
    /// Follower: a proposal is durable; ACK it.
    LearnerTxn { conn: u64, zxid: Zxid },
}

#[derive(Debug, Default)]
pub(crate) struct Disk {
    next_write: u64,
    in_flight: Option<(WriteId, Vec<Waiter>)>,
    queued: Vec<Waiter>,
    /// An empty list kept for the next `queued` (saves an allocation per fsync).
    spare: Vec<Waiter>,
    appends: u64,
    fsyncs: u64,
}

impl Disk {
    /// `first_write` seeds the WriteId sequence (random per incarnation, so a completion
    /// from an earlier incarnation can never match).
    pub(crate) fn new(first_write: u64) -> Disk {
        Disk {
            next_write: first_write,
            ..Disk::default()
        }
    }

    pub(crate) fn append<M, R, N>(&mut self, record: R, out: &mut Outbox<M, R, N>) {
        self.appends += 1;
        out.append(record);
    }

    /// Runs `waiter` once every record appended so far is durable.
    pub(crate) fn sync<M, R, N>(&mut self, waiter: Waiter, out: &mut Outbox<M, R, N>) {
        // A no-op waiter behind another queued waiter is already covered by its fsync.
        if waiter == Waiter::Nothing && !self.queued.is_empty() {
            return;
        }
        assert!(
            self.queued.len() < FSYNC_WAITERS_MAX,
            "too many fsync waiters"
        );
        self.queued.push(waiter);
        self.flush(out);
        // The waiter is covered by the fsync in flight or queued for the next one, which
        // `on_disk_done` issues when the one in flight completes.
        assert!(self.in_flight.is_some(), "a waiter without an fsync");
    }

    /// Issues an fsync for the queued waiters unless one is already in flight.
    pub(crate) fn flush<M, R, N>(&mut self, out: &mut Outbox<M, R, N>) {
        if self.in_flight.is_some() || self.queued.is_empty() {
            return;
        }
        let w = WriteId(self.next_write);
        self.next_write = self.next_write.wrapping_add(1);
        self.fsyncs += 1;
        out.fsync(w);
        let next = std::mem::take(&mut self.spare);
        assert!(
            next.is_empty(),
            "a recycled waiter list holds stale waiters"
        );
        self.in_flight = Some((w, std::mem::replace(&mut self.queued, next)));
    }

    /// The waiters of a completed fsync, or None if `w` is not the one in flight.
    pub(crate) fn complete(&mut self, w: WriteId) -> Option<Vec<Waiter>> {
        match &self.in_flight {
            Some((id, ws)) if *id == w => {
                assert!(!ws.is_empty(), "an fsync was issued without waiters");
                self.in_flight.take().map(|(_, ws)| ws)
            }
            _ => None,
        }
    }

    /// Hands back the list `complete` returned, for reuse.
    pub(crate) fn recycle(&mut self, mut waiters: Vec<Waiter>) {
        waiters.clear();
        if waiters.capacity() > self.spare.capacity() {
            self.spare = waiters;
        }
    }

    /// (records appended, fsyncs issued) by this incarnation.
    pub(crate) fn counters(&self) -> (u64, u64) {
        (self.appends, self.fsyncs)
    }
}
