//! The sans-IO process interface (DESIGN.md §2). A process is a state machine: the kernel
//! calls it with its two local clock readings ([`Ctx::mono`] for timeouts, [`Ctx::wall`]
//! for timestamps) and one input (start, message, timer, fsync done);
//! the process answers with outputs as plain data in an [`Outbox`]. Processes never read a
//! clock, never draw ambient randomness and never touch the OS: randomness comes in through
//! [`Ctx::rng`], which the kernel feeds from the process's own seeded stream.

use crate::{ProcessId, Time, TimerId, WriteId};

/// A message carried by the simulated network.
pub trait Message: Clone + std::fmt::Debug {
    /// Stable names of the message kinds, indexed by [`Message::kind`]. Used for per-kind
    /// statistics and per-kind CPU costs, and hashed into the trace.
    const KINDS: &'static [&'static str];
    /// Index into [`Message::KINDS`].
    fn kind(&self) -> usize;
    /// Size on the wire, in bytes; drives the network's size cost.
    fn size_bytes(&self) -> u32;
}

/// A source of raw random `u64`s, fed by the kernel from this process's own ChaCha stream.
pub trait Entropy {
    fn next_u64(&mut self) -> u64;
}

/// What a process may read besides its input: who it is, its two local clocks, and entropy.
///
/// Two clocks, as on a real machine (ZOOKEEPER-1366): pick by what the time is for.
/// - [`Ctx::mono`] — the **monotonic** clock (Java's `System.nanoTime`): drifts, never
///   jumps, never decreases within an incarnation. Every timeout, deadline, interval,
///   latency and timer ([`Output::SetTimer`] is in this clock) uses it.
/// - [`Ctx::wall`] — the **wall** clock (`System.currentTimeMillis`): drifts like `mono`
///   and also jumps (forwards or backwards) under clock faults. Only for timestamps a user
///   reads as a date (a txn's ctime/mtime). Never for a timeout: a backward jump would
///   stretch it by the jump (the planted bug zk-1366 does exactly that).
pub struct Ctx<'a> {
    pub me: ProcessId,
    /// The monotonic clock reading: for timeouts and timers.
    pub mono: Time,
    /// The wall clock reading: for timestamps only.
    pub wall: Time,
    pub rng: &'a mut dyn Entropy,
}

impl Ctx<'_> {
    /// A uniform draw in `0..bound` (`bound > 0`), by Lemire's multiply-shift with rejection.
    pub fn below(&mut self, bound: u64) -> u64 {
        uniform_below(bound, || self.rng.next_u64())
    }
}

/// A uniform draw in `0..bound` (`bound > 0`) from raw `u64` draws, by Lemire's
/// multiply-shift with rejection: unbiased, usually one draw. zabsim's one implementation,
/// used by the kernel's streams and by processes alike.
pub fn uniform_below(bound: u64, mut draw: impl FnMut() -> u64) -> u64 {
    assert!(bound > 0, "below(0) has no values");
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let product = (draw() as u128) * (bound as u128);
        if (product as u64) >= threshold {
            let v = (product >> 64) as u64;
            debug_assert!(v < bound, "below({bound}) drew {v}");
            return v;
        }
    }
}

/// What a restarted process finds on its disk: every record that was durable at the crash,
/// in append order, and whether a torn (partially written, unreadable) record followed them.
#[derive(Debug)]
pub struct Recovered<'a, R> {
    pub records: &'a [R],
    pub torn_tail: bool,
}

/// One output of a process, carried out by the kernel after the handler returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output<M, R, N> {
    /// Send `msg` to `to` over the simulated network (which may delay, drop, duplicate it).
    Send { to: ProcessId, msg: M },
    /// Fire `on_timer(timer)` when the monotonic clock ([`Ctx::mono`]) reaches `at`: clock
    /// jumps do not move it (drift does). Re-setting a timer (either kind) moves it.
    SetTimer { timer: TimerId, at: Time },
    /// Fire `on_timer(timer)` when the wall clock ([`Ctx::wall`]) reaches `at`: a jump
    /// moves it (backwards: later, by the jump). What ZooKeeper before 3.5 effectively did
    /// (ZOOKEEPER-1366); only the planted bug zk-1366 sets these. Otherwise as `SetTimer`
    /// (one timer id names one timer, of either kind).
    SetWallTimer { timer: TimerId, at: Time },
    /// Forget a timer; cancelling an unset timer is a no-op.
    CancelTimer { timer: TimerId },
    /// Append a record to the disk's write cache. It is durable only after a later
    /// [`Output::Fsync`] completes; a crash before that drops (or tears) it.
    Append { record: R },
    /// Make every record appended so far durable; `on_disk_done(write)` when it is.
    Fsync { write: WriteId },
    /// An observation for the driver (history events, role changes): no effect on the run.
    Note(N),
}

/// The outputs of one handler call, in the order the process produced them.
#[derive(Debug)]
pub struct Outbox<M, R, N> {
    items: Vec<Output<M, R, N>>,
}

impl<M, R, N> Default for Outbox<M, R, N> {
    fn default() -> Self {
        Outbox { items: Vec::new() }
    }
}

impl<M, R, N> Outbox<M, R, N> {
    pub fn send(&mut self, to: ProcessId, msg: M) {
        self.items.push(Output::Send { to, msg });
    }
    /// A timer at monotonic time `at` (see [`Output::SetTimer`]).
    pub fn set_timer(&mut self, timer: TimerId, at: Time) {
        self.items.push(Output::SetTimer { timer, at });
    }
    /// A timer at wall time `at` (see [`Output::SetWallTimer`]; the planted bug zk-1366).
    pub fn set_wall_timer(&mut self, timer: TimerId, at: Time) {
        self.items.push(Output::SetWallTimer { timer, at });
    }
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.items.push(Output::CancelTimer { timer });
    }
    pub fn append(&mut self, record: R) {
        self.items.push(Output::Append { record });
    }
    pub fn fsync(&mut self, write: WriteId) {
        self.items.push(Output::Fsync { write });
    }
    pub fn note(&mut self, note: N) {
        self.items.push(Output::Note(note));
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn as_slice(&self) -> &[Output<M, R, N>] {
        &self.items
    }
    /// Take every output, leaving the outbox empty (and its allocation in place).
    pub fn drain(&mut self) -> std::vec::Drain<'_, Output<M, R, N>> {
        self.items.drain(..)
    }
}

/// A simulated process: a server, an observer, a client, or a kernel probe.
///
/// The kernel guarantees: `on_start` is the first call of every incarnation (first boot
/// and every restart, the latter with a fresh instance built by the driver's factory);
/// handlers are never re-entered; `ctx.mono` never decreases within one incarnation
/// (`ctx.wall` may: a clock fault can jump it backwards).
pub trait Process {
    type Msg: Message;
    /// What the process writes to its disk.
    type Record: Clone + std::fmt::Debug;
    /// Observations for the driver (see [`Output::Note`]).
    type Note: std::fmt::Debug;

    fn on_start(
        &mut self,
        ctx: &mut Ctx,
        disk: Recovered<'_, Self::Record>,
        out: &mut Outbox<Self::Msg, Self::Record, Self::Note>,
    );
    fn on_message(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: Self::Msg,
        out: &mut Outbox<Self::Msg, Self::Record, Self::Note>,
    );
    fn on_timer(
        &mut self,
        ctx: &mut Ctx,
        timer: TimerId,
        out: &mut Outbox<Self::Msg, Self::Record, Self::Note>,
    );
    fn on_disk_done(
        &mut self,
        ctx: &mut Ctx,
        write: WriteId,
        out: &mut Outbox<Self::Msg, Self::Record, Self::Note>,
    );
    /// The connection to `peer` was reset: `peer`'s process crashed (its OS closed the
    /// sockets), so messages in flight between the two are gone. Only under TCP-like
    /// transport; a partition or a machine that stops answering gives no such signal.
    fn on_disconnect(
        &mut self,
        _ctx: &mut Ctx,
        _peer: ProcessId,
        _out: &mut Outbox<Self::Msg, Self::Record, Self::Note>,
    ) {
    }
}

/// The outbox type of a process `P`.
pub type OutboxOf<P> = Outbox<<P as Process>::Msg, <P as Process>::Record, <P as Process>::Note>;

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u64);
    impl Entropy for Counter {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            self.0
        }
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Counter(1);
        let mut ctx = Ctx {
            me: ProcessId(0),
            mono: Time::ZERO,
            wall: Time::ZERO,
            rng: &mut rng,
        };
        for bound in [1u64, 2, 3, 7, 1000, u64::MAX] {
            for _ in 0..100 {
                assert!(ctx.below(bound) < bound);
            }
        }
    }

    #[test]
    fn outbox_keeps_order() {
        let mut out: Outbox<u8, u8, u8> = Outbox::default();
        out.send(ProcessId(1), 7);
        out.set_timer(TimerId(2), Time(5));
        out.set_wall_timer(TimerId(4), Time(6));
        out.fsync(WriteId(3));
        let got: Vec<_> = out.drain().collect();
        assert_eq!(
            got,
            vec![
                Output::Send {
                    to: ProcessId(1),
                    msg: 7
                },
                Output::SetTimer {
                    timer: TimerId(2),
                    at: Time(5)
                },
                Output::SetWallTimer {
                    timer: TimerId(4),
                    at: Time(6)
                },
                Output::Fsync { write: WriteId(3) },
            ]
        );
        assert!(out.is_empty());
    }
}
