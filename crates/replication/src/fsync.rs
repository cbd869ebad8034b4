//! Appends and fsync batching for an engine's durable records (shared by raft and paxos).
//! At most one fsync is in flight; what must wait for durability queues behind it and is
//! covered by the next fsync (group commit). A waiter `W` says what to do once every record
//! appended before it is durable; when everything appended is durable already it runs at
//! once. The engine re-validates a waiter (term or ballot, role) before acting on it.
//! Invariants: `durable <= appended`; waiters run in request order; an `on_disk_done` for
//! any id other than the in-flight one is ignored; at most `FSYNC_WAITERS_MAX` wait.

use proto::{Outbox, WriteId};

/// Most "run this once durable" waiters queued behind one fsync.
pub const FSYNC_WAITERS_MAX: usize = 1_000_000;

#[derive(Debug)]
pub struct Disk<W> {
    next_write: u64,
    /// Records appended by this incarnation, and how many of them are durable.
    appended: u64,
    durable: u64,
    /// The fsync in flight: its id, the records it covers, its waiters.
    in_flight: Option<(WriteId, u64, Vec<W>)>,
    queued: Vec<W>,
}

impl<W> Disk<W> {
    /// `first_write` seeds the WriteId sequence (random per incarnation, so a completion
    /// from an earlier incarnation can never match).
    pub fn new(first_write: u64) -> Disk<W> {
        Disk {
            next_write: first_write,
            appended: 0,
            durable: 0,
            in_flight: None,
            queued: Vec::new(),
        }
    }

    pub fn append<M, R, N>(&mut self, record: R, out: &mut Outbox<M, R, N>) {
        self.appended += 1;
        out.append(record);
    }

    /// Runs `waiter` once every record appended so far is durable: returns it when that
    /// is already so (the caller runs it now), else queues it behind an fsync.
    pub fn sync<M, R, N>(&mut self, waiter: W, out: &mut Outbox<M, R, N>) -> Option<W> {
        assert!(self.durable <= self.appended, "more durable than appended");
        if self.durable == self.appended && self.queued.is_empty() && self.in_flight.is_none() {
            return Some(waiter);
        }
        if let Some((_, covers, waiters)) = &mut self.in_flight
            && *covers == self.appended
            && self.queued.is_empty()
        {
            assert!(waiters.len() < FSYNC_WAITERS_MAX, "too many fsync waiters");
            waiters.push(waiter);
            return None;
        }
        assert!(
            self.queued.len() < FSYNC_WAITERS_MAX,
            "too many fsync waiters"
        );
        self.queued.push(waiter);
        self.flush(out);
        None
    }

    /// Issues an fsync for the queued waiters unless one is already in flight.
    pub fn flush<M, R, N>(&mut self, out: &mut Outbox<M, R, N>) {
        if self.in_flight.is_some() || self.queued.is_empty() {
            return;
        }
        let w = WriteId(self.next_write);
        self.next_write = self.next_write.wrapping_add(1);
        out.fsync(w);
        self.in_flight = Some((w, self.appended, std::mem::take(&mut self.queued)));
    }

    /// The waiters of a completed fsync, or None if `w` is not the one in flight.
    pub fn complete(&mut self, w: WriteId) -> Option<Vec<W>> {
        match &self.in_flight {
            Some((id, _, _)) if *id == w => {
                let (_, covers, waiters) = self.in_flight.take().expect("in flight");
                assert!(covers >= self.durable && covers <= self.appended);
                self.durable = covers;
                Some(waiters)
            }
            _ => None,
        }
    }
}
