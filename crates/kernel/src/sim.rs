//! The discrete-event loop. It owns virtual time, the event queue, every process slot
//! (process, local clocks — monotonic and wall —, timers, disk, CPU queue, random stream) and the network, applies
//! the nemesis schedule, heals everything at the end of the safety phase, and judges the
//! run through an [`Observer`]. Every event is folded into the trace hash.
//!
//! Layout for speed (the relay bench, 10 to 10,000 processes): per process, what every
//! input reads (`Hot`: CPU reservation, pause, clock, a buffer of draws from its stream)
//! lives apart from the process and its cold state (`Slot`: timers, disk) and from the
//! dense incarnations (every send reads the destination's); with many processes, the loop
//! reads the process state of the coming events ahead, a chunk at a time
//! (`touch_coming`), so that their cache misses overlap. None of it changes what a run
//! does.
//!
//! Invariants: time never goes backwards; a process handles one input at a time, in
//! arrival order, never while busy or paused; nothing addressed to an old incarnation of a
//! process reaches a new one (except datagrams already on the wire); every loop is bounded
//! by the event budget; the run always ends with a verdict.
//!
//! Recording (see `tracelog`): `Sim<P, R>` is generic over its [`Recording`]; each
//! recording point sits beside the `trace` call that hashes the same event as
//! `if R::ON { … }` calling out of line (`#[cold]` helpers). `Sim::new` builds the
//! unrecorded kernel (`R = Off`): every point compiles away and a message's id is `()`,
//! so its events, queue and loop are what they are without recording. Recorded or not,
//! nothing recorded is hashed or drawn, so a recorded run is the same run.

use crate::clock::Clock;
use crate::disk::{CrashMode, Disk, DiskConfig, RECORDS_MAX};
use crate::dist::Sampler;
use crate::fault::{Fault, Scheduled, Target};
use crate::nemesis::FAULTS_MAX;
use crate::network::{Drop, Fate, Network, NetworkConfig};
use crate::observe::{Finding, Observer, Procs, Progress, Verdict, Violation};
use crate::partition::Shape;
use crate::queue::EventQueue;
use crate::rng::{Purpose, Stream};
use crate::tracelog::{
    DUPLICATE_ID_BIT, DropReason, Healed, NoteNamer, Off, Recording, TraceSink, Tracer, What,
};
use sansio::{
    Ctx, Entropy, Message, NS_PER_MS, OutboxOf, Output, Process, ProcessId, Recovered,
    StableHasher, Time, TimerId, WriteId,
};
use serde::Serialize;

/// Timers one process may hold at once (a bound; a process needing more has a bug). No
/// scenario reaches it: servers and clients use a few fixed timer ids each, and the
/// zk-script driver's sessions are held below it (`SCRIPT_SESSIONS_MAX`).
pub const TIMERS_PER_PROCESS_MAX: usize = 256;
/// How often the liveness condition is checked in the liveness phase.
pub const LIVENESS_PROBE_NS: u64 = 10 * NS_PER_MS;

/// Processes in one run, at most (scenario loaders refuse more).
pub const PROCESSES_MAX: u32 = 100_000;

/// Everything the kernel needs to run, fully resolved (no random choices left but the
/// streams' own).
#[derive(Clone, Debug)]
pub struct KernelConfig {
    pub seed: u64,
    pub process_count: u32,
    /// The processes faults may hit; scenario node indices index this list.
    pub targets: Vec<ProcessId>,
    pub network: NetworkConfig,
    pub disk: DiskConfig,
    /// Service time per message kind (index = `Message::kind`), nanoseconds.
    pub cpu_cost_ns: Vec<u64>,
    /// Initial clock drift per process.
    pub drift_ppm: Vec<i64>,
    pub schedule: Vec<Scheduled>,
    pub safety_ns: u64,
    pub liveness_ns: u64,
    pub events_max: u64,
    pub queue_max: usize,
}

#[derive(Debug)]
enum Work<M, I> {
    /// A message and its id for the recorder (`I = ()` unrecorded).
    Message {
        from: ProcessId,
        id: I,
        msg: M,
    },
    Timer {
        timer: TimerId,
        generation: u64,
    },
    Disk {
        write: WriteId,
    },
    Disconnect {
        peer: ProcessId,
    },
}

/// A pending event. `repr(u64)`: the tag takes a whole word, so the fields start 8-byte
/// aligned and moving an event copies whole aligned words — with a 4-byte tag, moves
/// copied the 44 bytes after it as overlapping 16-byte pieces, and reading a piece back
/// failed store-to-load forwarding (a stall of every pop, measured at a sixth of the time
/// at 10,000 processes).
#[derive(Debug)]
#[repr(u64)]
enum Ev<M, I> {
    Deliver {
        from: ProcessId,
        to: ProcessId,
        incarnation: u32,
        /// The message's id for the recorder (`()` unrecorded).
        id: I,
        msg: M,
    },
    Work {
        pid: ProcessId,
        incarnation: u32,
        work: Work<M, I>,
    },
    Timer {
        pid: ProcessId,
        incarnation: u32,
        timer: TimerId,
        generation: u64,
    },
    DiskDone {
        pid: ProcessId,
        incarnation: u32,
        write: WriteId,
        len: usize,
    },
    Fault {
        index: usize,
    },
    End {
        end: FaultEnd,
    },
    Liveness,
    Probe,
    Reset {
        pid: ProcessId,
        incarnation: u32,
        peer: ProcessId,
    },
}

impl<M, I> Ev<M, I> {
    /// The process the event is for, if any.
    #[inline]
    fn process(&self) -> Option<ProcessId> {
        match self {
            Ev::Deliver { to, .. } => Some(*to),
            Ev::Work { pid, .. }
            | Ev::Timer { pid, .. }
            | Ev::DiskDone { pid, .. }
            | Ev::Reset { pid, .. } => Some(*pid),
            Ev::Fault { .. } | Ev::End { .. } | Ev::Liveness | Ev::Probe => None,
        }
    }
}

/// The loop reads the state the coming events' processes will need this many events at a
/// time, one to two chunks ahead (see `Sim::touch_coming`).
const TOUCH_CHUNK: usize = 32;
/// Reading process state ahead pays once the state of every process (`Hot`, `Slot`, the
/// network's per-sender line) passes this many bytes; below, it stays in cache anyway.
const TOUCH_AHEAD_BYTES_MIN: usize = 128 << 10;

#[derive(Copy, Clone, Debug)]
enum FaultEnd {
    Cut(u64),
    Loss,
    DiskSlow(ProcessId),
    Restart(ProcessId),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct TimerEntry {
    timer: TimerId,
    /// When it fires, in the process's monotonic clock — or in its wall clock if `wall`.
    at_local: Time,
    generation: u64,
    /// A wall-clock timer (`Output::SetWallTimer`): clock jumps re-map it.
    wall: bool,
}

/// A process and the state only some events need (timers, disk). Line-aligned, the
/// process first, so that touching its first bytes (and `timers`, right after it) covers a
/// small process.
#[repr(C, align(64))]
struct Slot<P: Process> {
    process: Option<P>,
    timers: Vec<TimerEntry>,
    disk: Disk<P::Record>,
}

/// Raw draws taken from a process's stream ahead of use, `DRAWS` at a time. The process
/// reads them in stream order, so buffering changes no value it sees; it saves touching
/// the 300-byte stream on most events.
const DRAWS: usize = 9;

#[derive(Clone, Debug)]
struct Drawn {
    /// The next unread draw in `buf`; `DRAWS` when all are read.
    next: u32,
    buf: [u64; DRAWS],
}

/// What every input of a process reads (its CPU reservation, pause, clocks and buffered
/// draws), two cache lines kept apart from the process and its cold state.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Hot {
    busy_until: Time,
    paused_until: Time,
    /// Monotonic and wall clock in one (32 bytes; `DRAWS` is sized to keep `Hot` at 128).
    clock: Clock,
    drawn: Drawn,
}

const _: () = assert!(std::mem::size_of::<Hot>() == 128, "Hot is two cache lines");

/// A process's entropy: its buffered draws, refilled from its stream.
struct Draws<'a> {
    drawn: &'a mut Drawn,
    stream: &'a mut Stream,
}

impl Drawn {
    /// The next `DRAWS` draws of `stream`; only when every buffered one was read.
    fn refill(&mut self, stream: &mut Stream) {
        assert_eq!(self.next as usize, DRAWS, "refilling unread draws");
        for w in self.buf.iter_mut() {
            *w = stream.u64();
        }
        self.next = 0;
    }
}

impl Entropy for Draws<'_> {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        let d = &mut *self.drawn;
        if d.next as usize >= DRAWS {
            d.refill(self.stream);
        }
        let w = d.buf[d.next as usize];
        d.next += 1;
        debug_assert!(d.next as usize <= DRAWS);
        w
    }
}

/// The phase a run is in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Safety,
    Liveness,
}

/// A fault as it was applied, for summaries and chart bands.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Applied {
    pub at_ns: u64,
    /// When the fault's effect ended (heal or restart); `None` if it was instantaneous.
    pub until_ns: Option<u64>,
    pub fault: Fault,
    /// The processes it hit (empty if it hit nobody, e.g. no leader).
    pub processes: Vec<ProcessId>,
}

/// Counters of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KernelStats {
    pub events: u64,
    pub messages_by_kind: Vec<(String, u64)>,
    pub timers_fired: u64,
    pub fsyncs: u64,
    pub crashes: u64,
    pub restarts: u64,
    pub network: crate::network::NetworkStats,
    pub queue_len_max: usize,
}

/// The result of one run.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub seed: u64,
    pub verdict: Verdict,
    pub trace_hash: u64,
    pub end_ns: u64,
    /// When the liveness condition was met, if it was.
    pub recovered_ns: Option<u64>,
    pub stats: KernelStats,
    pub faults: Vec<Applied>,
}

/// Builds a fresh instance of process `pid` (first boot and every restart).
pub type Factory<P> = Box<dyn FnMut(ProcessId) -> P>;

/// The kernel running processes `P`, recording into `R` ([`Off`]: nothing).
pub struct Sim<P: Process, R: Recording<P::Note> = Off> {
    config: KernelConfig,
    now: Time,
    phase: Phase,
    queue: EventQueue<Ev<P::Msg, R::MsgId>>,
    slots: Vec<Slot<P>>,
    /// Per process (indexed like `slots`): what every input reads.
    hot: Vec<Hot>,
    /// Per process: its incarnation, bumped by every crash. Dense (4 bytes a process), as
    /// every send reads the destination's.
    incarnations: Vec<u32>,
    /// Each process's own random stream, read through `hot[i].drawn`.
    rngs: Vec<Stream>,
    factory: Factory<P>,
    network: Network,
    net_rng: Stream,
    disk_rng: Stream,
    /// `config.disk.fsync`, compiled.
    fsync_latency: Sampler,
    outbox: OutboxOf<P>,
    hash: StableHasher,
    events: u64,
    sent_by_kind: Vec<u64>,
    stats: KernelStats,
    applied: Vec<Applied>,
    recovered_at: Option<Time>,
    /// Stamps every timer setting, so that a stale timer event (one set again since, even
    /// within the same handler call) never fires.
    timer_generation: u64,
    /// Whether the loop reads the coming events' process state ahead (see `touch`): only
    /// when that state outgrows the caches.
    touch_ahead: bool,
    /// The event recorder (`Off`: none).
    recorder: R,
}

struct SlotView<'a, P: Process>(&'a [Slot<P>]);
impl<P: Process> Procs<P> for SlotView<'_, P> {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn get(&self, pid: ProcessId) -> Option<&P> {
        self.0.get(pid.index()).and_then(|s| s.process.as_ref())
    }
}

/// Why the loop stopped early: a verdict, boxed so that the `Result<_, Stop>` every
/// kernel function returns stays one word (a verdict is ~90 bytes, and copying it through
/// every return showed up as a tenth of the relay's time).
struct Stop(Box<Verdict>);

impl Stop {
    fn verdict(v: Verdict) -> Stop {
        Stop(Box::new(v))
    }
}

const TAG_DELIVER: u64 = 1;
const TAG_WORK: u64 = 2;
const TAG_TIMER: u64 = 3;
const TAG_DISK: u64 = 4;
const TAG_FAULT: u64 = 5;
const TAG_END: u64 = 6;
const TAG_PHASE: u64 = 7;
const TAG_SEND: u64 = 8;
const TAG_DROP: u64 = 9;
const TAG_START: u64 = 10;
const TAG_CRASH: u64 = 11;
const TAG_RESET: u64 = 12;

/// Run to a verdict, recording into `trace` when given (naming notes with `name_note`):
/// the unrecorded and the recorded kernel are separate instances of the loop, so the
/// unrecorded one carries no recording code at all.
pub fn run_traced<P: Process>(
    config: KernelConfig,
    factory: Factory<P>,
    observer: &mut dyn Observer<P>,
    trace: Option<Box<dyn TraceSink>>,
    name_note: NoteNamer<P::Note>,
) -> Outcome {
    match trace {
        None => Sim::new(config, factory).run(observer),
        Some(sink) => {
            let tracer = Tracer::new(sink, name_note);
            Sim::with_recorder(config, factory, tracer).run(observer)
        }
    }
}

impl<P: Process> Sim<P> {
    /// An unrecorded run.
    pub fn new(config: KernelConfig, factory: Factory<P>) -> Sim<P> {
        Sim::with_recorder(config, factory, Off)
    }

    /// Bytes held per pending event: the event inline in its bucket and its order key.
    pub fn bytes_per_pending_event() -> usize {
        EventQueue::<Ev<P::Msg, ()>>::bytes_per_event()
    }

    /// Bytes of kernel state per process that the events for it read.
    fn bytes_per_process() -> usize {
        std::mem::size_of::<Hot>() + std::mem::size_of::<Slot<P>>() + 64
    }
}

impl<P: Process, R: Recording<P::Note>> Sim<P, R> {
    /// A run whose events go to `recorder`.
    pub fn with_recorder(config: KernelConfig, mut factory: Factory<P>, recorder: R) -> Sim<P, R> {
        let n = config.process_count as usize;
        assert!(n > 0, "a run needs processes");
        assert!(
            config.process_count <= PROCESSES_MAX,
            "more than {PROCESSES_MAX} processes"
        );
        assert_eq!(
            config.cpu_cost_ns.len(),
            P::Msg::KINDS.len(),
            "one CPU cost per message kind"
        );
        assert_eq!(config.drift_ppm.len(), n, "one drift per process");
        assert!(
            config.targets.iter().all(|t| t.index() < n),
            "fault target out of range"
        );
        let slots = (0..n)
            .map(|i| Slot {
                process: Some(factory(ProcessId(i as u32))),
                timers: Vec::new(),
                disk: Disk::default(),
            })
            .collect();
        let hot = (0..n)
            .map(|i| Hot {
                busy_until: Time::ZERO,
                paused_until: Time::ZERO,
                clock: Clock::with_drift(config.drift_ppm[i]),
                drawn: Drawn {
                    next: DRAWS as u32,
                    buf: [0; DRAWS],
                },
            })
            .collect();
        // The process streams live apart from the slots: a stream is 300 bytes that most
        // events never touch (draws are buffered in `Hot`).
        let rngs = (0..n)
            .map(|i| Stream::new(config.seed, Purpose::Process(i as u32)))
            .collect();
        Sim {
            network: Network::new(config.network.clone(), n),
            net_rng: Stream::new(config.seed, Purpose::Network),
            disk_rng: Stream::new(config.seed, Purpose::Disk),
            fsync_latency: Sampler::new(&config.disk.fsync),
            queue: EventQueue::new(config.queue_max),
            now: Time::ZERO,
            phase: Phase::Safety,
            slots,
            hot,
            incarnations: vec![0; n],
            rngs,
            factory,
            outbox: Default::default(),
            hash: StableHasher::new(),
            events: 0,
            sent_by_kind: vec![0; P::Msg::KINDS.len()],
            stats: KernelStats::default(),
            applied: Vec::new(),
            recovered_at: None,
            timer_generation: 0,
            touch_ahead: n * Sim::<P>::bytes_per_process() >= TOUCH_AHEAD_BYTES_MIN,
            recorder,
            config,
        }
    }

    /// Fold one event into the trace hash: its time, and its tag with what it concerns.
    #[inline]
    fn trace(&mut self, tag: u64, subject: u64) {
        self.hash.word(self.now.0).word((tag << 56) ^ subject);
    }

    pub fn now(&self) -> Time {
        self.now
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn process(&self, pid: ProcessId) -> Option<&P> {
        self.slots[pid.index()].process.as_ref()
    }

    /// The disk of `pid` (records in append order, durable prefix length).
    pub fn disk(&self, pid: ProcessId) -> &Disk<P::Record> {
        &self.slots[pid.index()].disk
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Run to a verdict. (Never inlined: the loop stays one function with what it inlines,
    /// wherever it is called from.)
    #[inline(never)]
    pub fn run(mut self, observer: &mut dyn Observer<P>) -> Outcome {
        let verdict = match self.run_loop(observer) {
            Ok(()) => Verdict::Pass,
            Err(Stop(v)) => *v,
        };
        self.finish(verdict)
    }

    fn run_loop(&mut self, observer: &mut dyn Observer<P>) -> Result<(), Stop> {
        self.schedule_start()?;
        for i in 0..self.slots.len() {
            self.start_process(ProcessId(i as u32), observer)?;
        }
        let liveness_end = Time(
            self.config
                .safety_ns
                .saturating_add(self.config.liveness_ns),
        );
        loop {
            let Some((time, ev)) = self.queue.pop() else {
                return self.judge_liveness(observer, "no events left");
            };
            if time > liveness_end {
                return self.judge_liveness(observer, "the liveness phase ended");
            }
            assert!(
                time >= self.now,
                "time went backwards: {time} < {}",
                self.now
            );
            self.now = time;
            if self.touch_ahead {
                self.touch_coming();
            }
            self.events += 1;
            if self.events > self.config.events_max {
                return Err(Stop::verdict(Verdict::Budget {
                    budget: "events".into(),
                    detail: format!(
                        "more than {} events by {}",
                        self.config.events_max, self.now
                    ),
                }));
            }
            let touched = self.handle(ev, observer)?;
            if let Err(v) = observer.after_event(self.now, &SlotView(&self.slots), touched) {
                return Err(self.safety(v));
            }
            if self.recovered_at.is_some() {
                return Ok(());
            }
        }
    }

    /// Read ahead what the coming events will need: every `TOUCH_CHUNK` events, the
    /// state of the processes of the `TOUCH_CHUNK` events after the next ones (issued
    /// together, these cache misses overlap each other); a process whose buffered draws
    /// are used up gets the next ones from its stream now (the same values, in the same
    /// order, only taken earlier).
    #[inline]
    fn touch_coming(&mut self) {
        let mut coming = [ProcessId(0); 2 * TOUCH_CHUNK];
        let mut n = 0;
        if let Some(events) = self.queue.coming(TOUCH_CHUNK) {
            for pid in events.filter_map(Ev::process) {
                self.touch(pid);
                coming[n] = pid;
                n += 1;
            }
        }
        for &pid in &coming[..n] {
            let drawn = &mut self.hot[pid.index()].drawn;
            if drawn.next as usize >= DRAWS {
                drawn.refill(&mut self.rngs[pid.index()]);
            }
        }
    }

    /// Read (and discard) what an event for `pid` will read — its hot state, its process,
    /// its incarnation, its FIFO table — so that the memory is in cache when the event
    /// comes: at 10,000 processes these are cache misses, and issuing them a few events
    /// early overlaps them with the work in between. Changes nothing.
    #[inline]
    fn touch(&self, pid: ProcessId) {
        let i = pid.index();
        let hot = &self.hot[i];
        std::hint::black_box((hot.busy_until, hot.drawn.buf[DRAWS - 1]));
        let slot = &self.slots[i];
        std::hint::black_box(slot.process.is_some());
        if std::mem::size_of::<Option<P>>() > 64 {
            // A second line of a larger process (the slot is line-aligned, process first).
            std::hint::black_box(slot.timers.len());
        }
        std::hint::black_box(self.incarnations[i]);
        self.network.touch_sender(pid);
    }

    fn schedule_start(&mut self) -> Result<(), Stop> {
        // The nemesis keeps one fault past the bound to say that its schedule overflowed.
        let faults = self.config.schedule.len();
        if faults > FAULTS_MAX {
            return Err(Stop::verdict(Verdict::Budget {
                budget: "faults".into(),
                detail: format!("the fault schedule holds more than {FAULTS_MAX} faults"),
            }));
        }
        for index in 0..faults {
            let at = Time::from_ms(self.config.schedule[index].at_ms);
            if at.ns() < self.config.safety_ns {
                self.push(at, Ev::Fault { index })?;
            }
        }
        self.push(Time(self.config.safety_ns), Ev::Liveness)
    }

    #[inline]
    fn push(&mut self, at: Time, ev: Ev<P::Msg, R::MsgId>) -> Result<(), Stop> {
        self.queue.push(at, ev).map_err(|_| {
            Stop::verdict(Verdict::Budget {
                budget: "queue".into(),
                detail: format!(
                    "more than {} pending events at {}",
                    self.config.queue_max, self.now
                ),
            })
        })
    }

    fn safety(&self, v: Violation) -> Stop {
        Stop::verdict(Verdict::Safety(Finding::new(v, self.now, self.events)))
    }

    fn judge_liveness(&mut self, observer: &mut dyn Observer<P>, why: &str) -> Result<(), Stop> {
        debug_assert!(
            self.now.ns()
                <= self
                    .config
                    .safety_ns
                    .saturating_add(self.config.liveness_ns),
            "the run ran past its phases"
        );
        if self.phase == Phase::Liveness {
            if let Progress::Waiting(v) = observer.liveness(self.now, &SlotView(&self.slots)) {
                let detail = format!("{why} before recovery: {}", v.detail);
                let v = Violation { detail, ..v };
                return Err(Stop::verdict(Verdict::Liveness(Finding::new(
                    v,
                    self.now,
                    self.events,
                ))));
            }
            self.recovered_at.get_or_insert(self.now);
        }
        Ok(())
    }

    /// Handle one event; returns the process that ran, if one did.
    fn handle(
        &mut self,
        ev: Ev<P::Msg, R::MsgId>,
        observer: &mut dyn Observer<P>,
    ) -> Result<Option<ProcessId>, Stop> {
        match ev {
            Ev::Deliver {
                from,
                to,
                incarnation,
                id,
                msg,
            } => self.deliver(from, to, incarnation, id, msg, observer),
            Ev::Work {
                pid,
                incarnation,
                work,
            } => {
                self.trace(TAG_WORK, pid.0 as u64);
                if incarnation != self.incarnations[pid.index()] {
                    if R::ON
                        && let Work::Message { from, id, msg } = &work
                    {
                        let reason = DropReason::Crashed;
                        self.record_drop(*from, pid, msg.kind(), R::id_u32(*id), reason);
                    }
                    return Ok(None);
                }
                // The work's CPU time was reserved when it was queued: it runs now, in
                // reservation order, unless a pause began since (then it waits for the
                // pause's end, still in order).
                let hot = &mut self.hot[pid.index()];
                if hot.paused_until > self.now {
                    // Its reservation now ends no earlier than the pause: a pause that
                    // began just as the work's reservation ended (busy_until == now, so
                    // not pushed back) must not leave the work outside it.
                    let at = hot.paused_until;
                    hot.busy_until = hot.busy_until.max(at);
                    return self.defer(at, pid, incarnation, work);
                }
                self.dispatch(pid, work, observer)?;
                Ok(Some(pid))
            }
            Ev::Timer {
                pid,
                incarnation,
                timer,
                generation,
            } => {
                self.trace(TAG_TIMER, pair(pid.0, 0) ^ timer.0);
                let slot = &self.slots[pid.index()];
                if incarnation != self.incarnations[pid.index()]
                    || !slot
                        .timers
                        .iter()
                        .any(|t| t.timer == timer && t.generation == generation)
                {
                    return Ok(None);
                }
                self.run_or_defer(pid, Work::Timer { timer, generation }, 0, observer)
            }
            Ev::DiskDone {
                pid,
                incarnation,
                write,
                len,
            } => {
                self.trace(TAG_DISK, pair(pid.0, 0) ^ write.0);
                if incarnation != self.incarnations[pid.index()] {
                    return Ok(None);
                }
                self.slots[pid.index()].disk.complete(len);
                self.run_or_defer(pid, Work::Disk { write }, 0, observer)
            }
            Ev::Fault { index } => {
                self.trace(TAG_FAULT, index as u64);
                self.apply_fault(index, observer)?;
                Ok(None)
            }
            Ev::End { end } => {
                self.trace(TAG_END, 0);
                self.end_fault(end, observer)?;
                Ok(None)
            }
            Ev::Liveness => {
                self.trace(TAG_PHASE, 0);
                self.begin_liveness(observer)?;
                Ok(None)
            }
            Ev::Reset {
                pid,
                incarnation,
                peer,
            } => {
                self.trace(TAG_RESET, pair(pid.0, peer.0));
                if incarnation != self.incarnations[pid.index()] {
                    return Ok(None);
                }
                self.run_or_defer(pid, Work::Disconnect { peer }, 0, observer)
            }
            Ev::Probe => {
                self.judge_probe(observer)?;
                Ok(None)
            }
        }
    }

    fn deliver(
        &mut self,
        from: ProcessId,
        to: ProcessId,
        incarnation: u32,
        id: R::MsgId,
        msg: P::Msg,
        observer: &mut dyn Observer<P>,
    ) -> Result<Option<ProcessId>, Stop> {
        let kind = msg.kind();
        self.trace(TAG_DELIVER, pair(from.0, to.0) ^ kind as u64);
        let stale = self.network.is_tcp() && incarnation != self.incarnations[to.index()];
        let why = if self.slots[to.index()].process.is_none() || stale {
            Some(Drop::Dead)
        } else if self.network.partitions.blocks(from, to) {
            Some(Drop::Partition)
        } else {
            None
        };
        if let Some(why) = why {
            self.hash.word(TAG_DROP);
            self.network.stats.count_drop(why);
            if R::ON {
                let reason = drop_reason(why);
                self.record_drop(from, to, kind, R::id_u32(id), reason);
            }
            return Ok(None);
        }
        self.network.stats.delivered += 1;
        let cost_ns = self.config.cpu_cost_ns[kind];
        // `run_or_defer`, with the message passed straight to the process when it runs now.
        let now = self.now;
        let hot = &mut self.hot[to.index()];
        let finish = now
            .max(hot.busy_until)
            .max(hot.paused_until)
            .plus_ns(cost_ns);
        hot.busy_until = finish;
        if finish > now {
            let incarnation = self.incarnations[to.index()];
            return self.defer(finish, to, incarnation, Work::Message { from, id, msg });
        }
        if R::ON {
            self.record_handle(to, from, kind, R::id_u32(id));
        }
        self.run_message(to, from, msg, observer)?;
        Ok(Some(to))
    }

    /// `pid` handles a message now.
    #[inline]
    fn run_message(
        &mut self,
        pid: ProcessId,
        from: ProcessId,
        msg: P::Msg,
        observer: &mut dyn Observer<P>,
    ) -> Result<(), Stop> {
        let now = self.now;
        let Some(process) = self.slots[pid.index()].process.as_mut() else {
            return Ok(());
        };
        let hot = &mut self.hot[pid.index()];
        debug_assert!(
            hot.paused_until <= now && hot.busy_until >= now,
            "{pid} handles a message while paused or outside its CPU reservation"
        );
        let mut rng = Draws {
            drawn: &mut hot.drawn,
            stream: &mut self.rngs[pid.index()],
        };
        let (mono, wall) = hot.clock.readings(now);
        let mut ctx = Ctx {
            me: pid,
            mono,
            wall,
            rng: &mut rng,
        };
        process.on_message(&mut ctx, from, msg, &mut self.outbox);
        self.apply_outputs(pid, observer)
    }

    /// The CPU model: the work runs when the process is free and not paused, and takes
    /// `cost_ns`; its outputs leave when it completes.
    fn run_or_defer(
        &mut self,
        pid: ProcessId,
        work: Work<P::Msg, R::MsgId>,
        cost_ns: u64,
        observer: &mut dyn Observer<P>,
    ) -> Result<Option<ProcessId>, Stop> {
        let now = self.now;
        let hot = &mut self.hot[pid.index()];
        let start = now.max(hot.busy_until).max(hot.paused_until);
        let finish = start.plus_ns(cost_ns);
        hot.busy_until = finish;
        if finish > now {
            let incarnation = self.incarnations[pid.index()];
            return self.defer(finish, pid, incarnation, work);
        }
        self.dispatch(pid, work, observer)?;
        Ok(Some(pid))
    }

    /// Queue `work` for `pid` to run at `at`; nothing ran now.
    fn defer(
        &mut self,
        at: Time,
        pid: ProcessId,
        incarnation: u32,
        work: Work<P::Msg, R::MsgId>,
    ) -> Result<Option<ProcessId>, Stop> {
        debug_assert!(at > self.now, "deferred work runs later, not again now");
        self.push(
            at,
            Ev::Work {
                pid,
                incarnation,
                work,
            },
        )?;
        Ok(None)
    }

    fn dispatch(
        &mut self,
        pid: ProcessId,
        work: Work<P::Msg, R::MsgId>,
        observer: &mut dyn Observer<P>,
    ) -> Result<(), Stop> {
        let work = match work {
            Work::Message { from, id, msg } => {
                if R::ON {
                    self.record_handle(pid, from, msg.kind(), R::id_u32(id));
                }
                return self.run_message(pid, from, msg, observer);
            }
            other => other,
        };
        let now = self.now;
        let slot = &mut self.slots[pid.index()];
        // An event of the current incarnation is for a live process (a crash bumps it).
        debug_assert!(slot.process.is_some(), "work for {pid}, which is down");
        let Some(process) = slot.process.as_mut() else {
            return Ok(());
        };
        let hot = &mut self.hot[pid.index()];
        debug_assert!(
            hot.paused_until <= now && hot.busy_until >= now,
            "{pid} runs work while paused or outside its CPU reservation"
        );
        let mut rng = Draws {
            drawn: &mut hot.drawn,
            stream: &mut self.rngs[pid.index()],
        };
        let (mono, wall) = hot.clock.readings(now);
        let mut ctx = Ctx {
            me: pid,
            mono,
            wall,
            rng: &mut rng,
        };
        // (Recording here goes straight to the recorder field: the process is borrowed.)
        match work {
            Work::Message { .. } => unreachable!("handled above"),
            Work::Timer { timer, generation } => {
                let Some(i) = slot
                    .timers
                    .iter()
                    .position(|t| t.timer == timer && t.generation == generation)
                else {
                    return Ok(());
                };
                let fired = slot.timers.swap_remove(i);
                debug_assert!(
                    if fired.wall { wall } else { mono } >= fired.at_local,
                    "{pid}'s timer {timer:?} fired before its clock read {}",
                    fired.at_local
                );
                debug_assert!(
                    slot.timers.iter().all(|t| t.timer != timer),
                    "a process holds one entry per timer id"
                );
                self.stats.timers_fired += 1;
                if R::ON {
                    let what = What::Timer {
                        pid,
                        timer: timer.0,
                    };
                    record_to(&mut self.recorder, now, what);
                }
                process.on_timer(&mut ctx, timer, &mut self.outbox)
            }
            Work::Disk { write } => {
                if R::ON {
                    let what = What::FsyncDone {
                        pid,
                        write: write.0,
                    };
                    record_to(&mut self.recorder, now, what);
                }
                process.on_disk_done(&mut ctx, write, &mut self.outbox)
            }
            Work::Disconnect { peer } => {
                if R::ON {
                    record_to(&mut self.recorder, now, What::Disconnect { pid, peer });
                }
                process.on_disconnect(&mut ctx, peer, &mut self.outbox)
            }
        }
        self.apply_outputs(pid, observer)
    }

    fn start_process(
        &mut self,
        pid: ProcessId,
        observer: &mut dyn Observer<P>,
    ) -> Result<(), Stop> {
        self.trace(TAG_START, pid.0 as u64);
        if R::ON {
            let incarnation = self.incarnations[pid.index()];
            self.record(What::Start { pid, incarnation });
        }
        let now = self.now;
        let slot = &mut self.slots[pid.index()];
        let process = slot
            .process
            .as_mut()
            .expect("starting a process that is not there");
        let hot = &mut self.hot[pid.index()];
        let mut rng = Draws {
            drawn: &mut hot.drawn,
            stream: &mut self.rngs[pid.index()],
        };
        let (mono, wall) = hot.clock.readings(now);
        let mut ctx = Ctx {
            me: pid,
            mono,
            wall,
            rng: &mut rng,
        };
        assert!(slot.timers.is_empty(), "{pid} starts with timers set");
        let disk = Recovered {
            records: slot.disk.records(),
            torn_tail: slot.disk.torn_tail(),
        };
        process.on_start(&mut ctx, disk, &mut self.outbox);
        self.apply_outputs(pid, observer)
    }

    #[inline]
    fn apply_outputs(
        &mut self,
        pid: ProcessId,
        observer: &mut dyn Observer<P>,
    ) -> Result<(), Stop> {
        let mut outbox = std::mem::take(&mut self.outbox);
        let mut result = Ok(());
        for output in outbox.drain() {
            result = self.apply_output(pid, output, observer);
            if result.is_err() {
                break;
            }
        }
        self.outbox = outbox;
        result
    }

    fn apply_output(
        &mut self,
        pid: ProcessId,
        output: Output<P::Msg, P::Record, P::Note>,
        observer: &mut dyn Observer<P>,
    ) -> Result<(), Stop> {
        match output {
            Output::Send { to, msg } => self.send(pid, to, msg),
            Output::SetTimer { timer, at } => self.set_timer(pid, timer, at, false),
            Output::SetWallTimer { timer, at } => self.set_timer(pid, timer, at, true),
            Output::CancelTimer { timer } => {
                self.slots[pid.index()].timers.retain(|t| t.timer != timer);
                Ok(())
            }
            Output::Append { record } => {
                let now = self.now;
                self.slots[pid.index()].disk.append(record).map_err(|_| {
                    Stop::verdict(Verdict::Budget {
                        budget: "disk".into(),
                        detail: format!("{pid}'s disk holds {RECORDS_MAX} records at {now}"),
                    })
                })
            }
            Output::Fsync { write } => {
                self.stats.fsyncs += 1;
                let slot = &mut self.slots[pid.index()];
                let (at, len) = slot
                    .disk
                    .fsync(self.now, &self.fsync_latency, &mut self.disk_rng);
                if R::ON {
                    self.record(What::Fsync {
                        pid,
                        write: write.0,
                        records: len,
                        done_ns: at.ns(),
                    });
                }
                let incarnation = self.incarnations[pid.index()];
                self.push(
                    at,
                    Ev::DiskDone {
                        pid,
                        incarnation,
                        write,
                        len,
                    },
                )
            }
            Output::Note(note) => {
                if R::ON {
                    self.record_note(pid, &note);
                }
                observer
                    .on_note(self.now, pid, note)
                    .map_err(|v| self.safety(v))
            }
        }
    }

    #[inline]
    fn send(&mut self, from: ProcessId, to: ProcessId, msg: P::Msg) -> Result<(), Stop> {
        assert!(
            to.index() < self.slots.len(),
            "{from} sent to nonexistent {to}"
        );
        debug_assert!(
            self.slots[from.index()].process.is_some(),
            "a send from {from}, which is down"
        );
        let kind = msg.kind();
        self.sent_by_kind[kind] += 1;
        self.hash
            .word((TAG_SEND << 56) ^ pair(from.0, to.0) ^ kind as u64);
        let incarnation = self.incarnations[to.index()];
        let fate = self
            .network
            .send(&mut self.net_rng, self.now, from, to, msg.size_bytes());
        match fate {
            Fate::Dropped(why) => {
                self.hash.word(TAG_DROP);
                if R::ON {
                    self.record_send(from, to, kind, Some(why), false);
                }
                Ok(())
            }
            Fate::Arrives { at, dup } => {
                // The message's id, for the recorder only (unread otherwise).
                let id = match R::ON {
                    true => self.record_send(from, to, kind, None, dup.is_some()),
                    false => 0,
                };
                let (id, dup_id) = (R::msg_id(id), R::msg_id(id | DUPLICATE_ID_BIT));
                if let Some(dup_at) = dup {
                    self.push(
                        dup_at,
                        Ev::Deliver {
                            from,
                            to,
                            incarnation,
                            id: dup_id,
                            msg: msg.clone(),
                        },
                    )?;
                }
                self.push(
                    at,
                    Ev::Deliver {
                        from,
                        to,
                        incarnation,
                        id,
                        msg,
                    },
                )
            }
        }
    }

    /// Set (or move) `pid`'s `timer` to fire when its monotonic clock — its wall clock if
    /// `wall` — reads `at_local`.
    fn set_timer(
        &mut self,
        pid: ProcessId,
        timer: TimerId,
        at_local: Time,
        wall: bool,
    ) -> Result<(), Stop> {
        let now = self.now;
        self.timer_generation += 1;
        let generation = self.timer_generation;
        let slot = &mut self.slots[pid.index()];
        assert!(
            slot.process.is_some(),
            "a timer set for {pid}, which is down"
        );
        slot.timers.retain(|t| t.timer != timer);
        assert!(
            slot.timers.len() < TIMERS_PER_PROCESS_MAX,
            "{pid} holds more than {TIMERS_PER_PROCESS_MAX} timers"
        );
        slot.timers.push(TimerEntry {
            timer,
            at_local,
            generation,
            wall,
        });
        let clock = &self.hot[pid.index()].clock;
        let at = if wall {
            clock.wall_to_global(now, at_local)
        } else {
            clock.mono_to_global(now, at_local)
        };
        debug_assert!(at >= now, "a timer in the past fires now, not earlier");
        let incarnation = self.incarnations[pid.index()];
        self.push(
            at,
            Ev::Timer {
                pid,
                incarnation,
                timer,
                generation,
            },
        )
    }

    /// Re-map `pid`'s pending timers after its clock changed: every timer after a drift
    /// change (`wall_only` false), only the wall-clock ones after a jump (`wall_only`: a
    /// jump does not move the monotonic clock, so its timers stay where they are).
    fn reschedule_timers(&mut self, pid: ProcessId, wall_only: bool) -> Result<(), Stop> {
        let slot = &self.slots[pid.index()];
        if wall_only && !slot.timers.iter().any(|t| t.wall) {
            return Ok(());
        }
        let timers = slot.timers.clone();
        for t in &timers {
            if t.wall || !wall_only {
                self.set_timer(pid, t.timer, t.at_local, t.wall)?;
            }
        }
        debug_assert_eq!(
            self.slots[pid.index()].timers.len(),
            timers.len(),
            "rescheduling keeps every timer"
        );
        Ok(())
    }

    /// The process a fault hits; "the leader" is whoever the world's observer says leads
    /// (the kernel knows no protocol), the first such in target order.
    fn resolve_target(&self, target: Target, observer: &dyn Observer<P>) -> Option<ProcessId> {
        match target {
            Target::Node(i) => Some(self.config.targets[i as usize]),
            Target::Leader => {
                let procs = SlotView(&self.slots);
                self.config
                    .targets
                    .iter()
                    .copied()
                    .find(|&p| observer.leads(p, &procs))
            }
            Target::Random => unreachable!("schedules hold no random targets"),
        }
    }

    fn targets_of(&self, nodes: &[u32]) -> Vec<ProcessId> {
        nodes
            .iter()
            .map(|&i| self.config.targets[i as usize])
            .collect()
    }

    fn apply_fault(&mut self, index: usize, observer: &mut dyn Observer<P>) -> Result<(), Stop> {
        // The schedule is sorted and its faults are queued in order: each applies once, in
        // order, within the safety phase.
        // Faults are queued only within the safety phase, and apply in time order (a
        // schedule need not be sorted: the queue orders it).
        assert_eq!(self.phase, Phase::Safety, "a fault after the safety phase");
        debug_assert!(
            self.applied.last().is_none_or(|a| a.at_ns <= self.now.ns()),
            "faults apply in time order"
        );
        let fault = self.config.schedule[index].fault.clone();
        let now = self.now;
        let mut record = Applied {
            at_ns: now.ns(),
            until_ns: None,
            fault: fault.clone(),
            processes: Vec::new(),
        };
        let target = fault
            .target()
            .and_then(|t| self.resolve_target(t, observer));
        let until = fault.duration_ms().map(|d| now.plus_ns(d * NS_PER_MS));
        record.until_ns = until.map(Time::ns);
        record.processes.extend(target);
        let mut cut = None;
        match fault {
            Fault::Crash {
                restart_after_ms,
                tear,
                ..
            } => {
                if let Some(pid) = target.filter(|p| self.slots[p.index()].process.is_some()) {
                    self.crash(pid, Fault::crash_mode(tear), observer)?;
                    let restart = restart_after_ms.map(|ms| now.plus_ns(ms * NS_PER_MS));
                    record.until_ns = restart.map(Time::ns);
                    if let Some(at) = restart {
                        self.push(
                            at,
                            Ev::End {
                                end: FaultEnd::Restart(pid),
                            },
                        )?;
                    }
                } else {
                    record.processes.clear();
                }
            }
            Fault::Restart { .. } => {
                if let Some(pid) = target {
                    self.restart(pid, observer)?;
                }
            }
            Fault::Pause { duration_ms, .. } => {
                if let Some(pid) = target {
                    // The liveness phase starts with every fault healed: a pause never
                    // lasts past the safety phase.
                    let safety_end = Time(self.config.safety_ns);
                    let hot = &mut self.hot[pid.index()];
                    let until = hot
                        .paused_until
                        .max(now.plus_ns(duration_ms * NS_PER_MS).min(safety_end));
                    // Work already queued waits out the pause (see `Ev::Work`); push the
                    // CPU reservation back by as much, so that inputs arriving during the
                    // pause queue behind it instead of overtaking it.
                    if hot.busy_until > now {
                        let extension = until.since_ns(hot.paused_until.max(now));
                        hot.busy_until = hot.busy_until.plus_ns(extension);
                    }
                    debug_assert!(until >= now && until <= safety_end.max(hot.paused_until));
                    hot.paused_until = until;
                }
            }
            Fault::ClockDrift { drift_ppm, .. } => {
                if let Some(pid) = target {
                    self.hot[pid.index()].clock.set_drift(now, drift_ppm);
                    self.reschedule_timers(pid, false)?;
                }
            }
            Fault::ClockJump { jump_ms, .. } => {
                if let Some(pid) = target {
                    self.hot[pid.index()]
                        .clock
                        .jump(now, jump_ms.saturating_mul(NS_PER_MS as i64));
                    // Monotonic timers (all of them, unless zk-1366 is planted) stay put.
                    self.reschedule_timers(pid, true)?;
                }
            }
            Fault::DiskSlow { factor, .. } => {
                if let Some(pid) = target {
                    self.slots[pid.index()].disk.slow_factor = factor.max(1);
                    self.push(
                        until.expect("disk-slow has a duration"),
                        Ev::End {
                            end: FaultEnd::DiskSlow(pid),
                        },
                    )?;
                }
            }
            Fault::Loss { rate, .. } => {
                self.network.fault_loss = rate;
                self.push(
                    until.expect("loss has a duration"),
                    Ev::End {
                        end: FaultEnd::Loss,
                    },
                )?;
            }
            Fault::Heal => self.heal_network(),
            partition => {
                let shape = match self.shape_of(&partition, target) {
                    Some(shape) => shape,
                    None => {
                        self.record_applied(&record, None);
                        self.applied.push(record);
                        return Ok(());
                    }
                };
                record.processes = shape_members(&shape);
                let id = self.network.partitions.add(shape);
                // Each fault applies once: no more cuts than faults so far (this one too).
                // (Not `index + 1`: a schedule need not be sorted.)
                assert!(self.network.partitions.active() <= self.applied.len() + 1);
                cut = Some(id);
                self.push(
                    until.expect("partitions have a duration"),
                    Ev::End {
                        end: FaultEnd::Cut(id),
                    },
                )?;
            }
        }
        self.record_applied(&record, cut);
        self.applied.push(record);
        Ok(())
    }

    fn shape_of(&self, fault: &Fault, target: Option<ProcessId>) -> Option<Shape> {
        let all: Vec<u32> = (0..self.config.targets.len() as u32).collect();
        let some = |v: &Option<Vec<u32>>| {
            self.targets_of(v.as_deref().expect("resolved partition layout"))
        };
        Some(match fault {
            Fault::PartitionHalves { side, .. } => Shape::Halves {
                side: some(side),
                members: self.targets_of(&all),
            },
            Fault::PartitionIsolate { .. } => Shape::Isolate { node: target? },
            Fault::PartitionBridge { a, b, bridge, .. } => Shape::Bridge {
                a: some(a),
                b: some(b),
                bridge: self.config.targets[bridge.expect("resolved bridge") as usize],
            },
            Fault::PartitionOneWay { from, to, .. } => Shape::OneWay {
                from: some(from),
                to: some(to),
            },
            Fault::PartitionRing { ring, .. } => Shape::Ring { ring: some(ring) },
            other => unreachable!("not a partition: {other:?}"),
        })
    }

    fn end_fault(&mut self, end: FaultEnd, observer: &mut dyn Observer<P>) -> Result<(), Stop> {
        if R::ON {
            let healed = match end {
                FaultEnd::Cut(cut) => Healed::Partition { cut },
                FaultEnd::Loss => Healed::Loss,
                FaultEnd::DiskSlow(pid) => Healed::DiskSlow { pid },
                FaultEnd::Restart(pid) => Healed::Restart { pid },
            };
            self.record(What::Heal { healed });
        }
        match end {
            FaultEnd::Cut(id) => self.network.partitions.heal(id),
            FaultEnd::Loss => self.network.fault_loss = crate::dist::Probability::ZERO,
            FaultEnd::DiskSlow(pid) => self.slots[pid.index()].disk.slow_factor = 1,
            FaultEnd::Restart(pid) => self.restart(pid, observer)?,
        }
        Ok(())
    }

    fn heal_network(&mut self) {
        self.network.partitions.heal_all();
        self.network.fault_loss = crate::dist::Probability::ZERO;
        for slot in &mut self.slots {
            slot.disk.slow_factor = 1;
        }
    }

    fn crash(
        &mut self,
        pid: ProcessId,
        mode: CrashMode,
        observer: &mut dyn Observer<P>,
    ) -> Result<(), Stop> {
        self.trace(TAG_CRASH, pid.0 as u64);
        if R::ON {
            self.record(What::Crash { pid });
        }
        self.stats.crashes += 1;
        let now = self.now;
        let slot = &mut self.slots[pid.index()];
        assert!(slot.process.is_some(), "crashing {pid}, which is down");
        slot.process = None;
        slot.timers.clear();
        slot.disk.crash(mode, &mut self.disk_rng);
        self.incarnations[pid.index()] += 1;
        let hot = &mut self.hot[pid.index()];
        hot.busy_until = now;
        hot.paused_until = now;
        observer.on_crash(now, pid);
        self.reset_connections(pid)
    }

    /// Under TCP, a crashed process's peers see its connections reset after one network
    /// latency (its OS sends the resets); not across a partition.
    fn reset_connections(&mut self, crashed: ProcessId) -> Result<(), Stop> {
        if !self.network.is_tcp() {
            return Ok(());
        }
        for i in 0..self.slots.len() {
            let peer = ProcessId(i as u32);
            if peer == crashed
                || self.slots[i].process.is_none()
                || self.network.partitions.blocks(crashed, peer)
            {
                continue;
            }
            let latency_ns = self.network.latency().sample_ns(&mut self.net_rng);
            let incarnation = self.incarnations[i];
            let at = self.now.plus_ns(latency_ns);
            self.push(
                at,
                Ev::Reset {
                    pid: peer,
                    incarnation,
                    peer: crashed,
                },
            )?;
        }
        Ok(())
    }

    fn restart(&mut self, pid: ProcessId, observer: &mut dyn Observer<P>) -> Result<(), Stop> {
        if self.slots[pid.index()].process.is_some() {
            return Ok(());
        }
        self.stats.restarts += 1;
        self.slots[pid.index()].process = Some((self.factory)(pid));
        self.start_process(pid, observer)
    }

    /// End of the safety phase: heal every fault, calm the network, restart the crashed.
    fn begin_liveness(&mut self, observer: &mut dyn Observer<P>) -> Result<(), Stop> {
        if R::ON {
            self.record(What::Liveness);
        }
        assert_eq!(self.phase, Phase::Safety, "the liveness phase begins once");
        assert_eq!(
            self.now.ns(),
            self.config.safety_ns,
            "liveness begins at the safety end"
        );
        self.phase = Phase::Liveness;
        self.heal_network();
        self.network.calm = true;
        let now = self.now;
        for i in 0..self.slots.len() {
            let pid = ProcessId(i as u32);
            if self.hot[i].clock.drift_ppm() != 0 {
                self.hot[i].clock.set_drift(now, 0);
                self.reschedule_timers(pid, false)?;
            }
            self.restart(pid, observer)?;
        }
        debug_assert!(
            self.slots.iter().all(|s| s.process.is_some()),
            "all restarted"
        );
        debug_assert!(
            self.hot.iter().all(|h| h.clock.drift_ppm() == 0),
            "clocks undrifted"
        );
        debug_assert_eq!(self.network.partitions.active(), 0, "all partitions healed");
        self.push(now.plus_ns(LIVENESS_PROBE_NS), Ev::Probe)
    }

    fn judge_probe(&mut self, observer: &mut dyn Observer<P>) -> Result<(), Stop> {
        assert_eq!(
            self.phase,
            Phase::Liveness,
            "a liveness probe in the safety phase"
        );
        debug_assert!(self.recovered_at.is_none(), "the run recovers once");
        if observer.liveness_met(self.now, &SlotView(&self.slots)) {
            self.recovered_at = Some(self.now);
            Ok(())
        } else {
            // Not yet: probe again; the final verdict asks the observer once more.
            self.push(self.now.plus_ns(LIVENESS_PROBE_NS), Ev::Probe)
        }
    }

    fn finish(mut self, verdict: Verdict) -> Outcome {
        debug_assert!(self.events <= self.config.events_max.saturating_add(1));
        assert!(
            self.queue.len_max() <= self.config.queue_max,
            "the queue outgrew its bound"
        );
        debug_assert!(
            self.recovered_at
                .is_none_or(|t| t.ns() >= self.config.safety_ns),
            "recovered before the liveness phase"
        );
        debug_assert!(
            self.stats.timers_fired <= self.timer_generation,
            "a timer fired unset"
        );
        debug_assert!(
            self.stats.restarts <= self.stats.crashes,
            "a live process restarted"
        );
        assert!(
            self.applied.len() <= self.config.schedule.len(),
            "more faults applied than scheduled"
        );
        let net = &self.network.stats;
        assert_eq!(
            self.sent_by_kind.iter().sum::<u64>(),
            net.sent,
            "every send reached the network"
        );
        assert!(
            net.delivered + net.dropped_loss + net.dropped_partition + net.dropped_dead
                <= net.sent + net.duplicated,
            "more messages delivered or dropped than sent"
        );
        self.hash.word(self.events).word(self.now.0);
        self.stats.events = self.events;
        self.stats.queue_len_max = self.queue.len_max();
        self.stats.network = self.network.stats.clone();
        self.stats.messages_by_kind = P::Msg::KINDS
            .iter()
            .zip(&self.sent_by_kind)
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (k.to_string(), *n))
            .collect();
        Outcome {
            seed: self.config.seed,
            verdict,
            trace_hash: self.hash.finish(),
            end_ns: self.now.ns(),
            recovered_ns: self.recovered_at.map(Time::ns),
            stats: self.stats,
            faults: self.applied,
        }
    }
}

/// The recording points' out-of-line halves: called only when recording (`R::ON`), they
/// read the run's state and change none of it.
impl<P: Process, R: Recording<P::Note>> Sim<P, R> {
    /// Report `what` at the current time (unless the recorder is full).
    #[cold]
    #[inline(never)]
    fn record(&mut self, what: What) {
        record_to(&mut self.recorder, self.now, what);
    }

    #[cold]
    #[inline(never)]
    fn record_send(
        &mut self,
        from: ProcessId,
        to: ProcessId,
        kind: usize,
        dropped: Option<Drop>,
        duplicated: bool,
    ) -> u32 {
        // The network counts every send: the count names the message.
        let id = self.network.stats.sent as u32 & !DUPLICATE_ID_BIT;
        let kind = P::Msg::KINDS[kind];
        self.record(What::Send { from, to, kind, id });
        if let Some(why) = dropped {
            let reason = drop_reason(why);
            self.record(What::Drop {
                from,
                to,
                kind,
                id,
                reason,
            });
        }
        if duplicated {
            let id = id | DUPLICATE_ID_BIT;
            self.record(What::Send { from, to, kind, id });
        }
        id
    }

    #[cold]
    #[inline(never)]
    fn record_drop(
        &mut self,
        from: ProcessId,
        to: ProcessId,
        kind: usize,
        id: u32,
        reason: DropReason,
    ) {
        let kind = P::Msg::KINDS[kind];
        self.record(What::Drop {
            from,
            to,
            kind,
            id,
            reason,
        });
    }

    #[cold]
    #[inline(never)]
    fn record_handle(&mut self, pid: ProcessId, from: ProcessId, kind: usize, id: u32) {
        let start_ns = self.now.ns().saturating_sub(self.config.cpu_cost_ns[kind]);
        let kind = P::Msg::KINDS[kind];
        self.record(What::Handle {
            pid,
            from,
            kind,
            id,
            start_ns,
        });
    }

    #[cold]
    #[inline(never)]
    fn record_note(&mut self, pid: ProcessId, note: &P::Note) {
        let at_ns = self.now.ns();
        let Some(t) = self.recorder.tracer() else {
            return;
        };
        let text = (t.name_note)(note);
        let (name, detail) = (text.name, text.detail);
        t.record(at_ns, What::Note { pid, name, detail });
    }

    fn record_applied(&mut self, applied: &Applied, cut: Option<u64>) {
        if R::ON {
            self.record(What::Fault {
                fault: applied.fault.clone(),
                processes: applied.processes.clone(),
                until_ns: applied.until_ns,
                cut,
            });
        }
    }
}

/// Report `what` at `now` to `recorder` (unless it is full).
#[cold]
#[inline(never)]
fn record_to<N, R: Recording<N>>(recorder: &mut R, now: Time, what: What) {
    if let Some(t) = recorder.tracer() {
        t.record(now.ns(), what);
    }
}

fn drop_reason(why: Drop) -> DropReason {
    match why {
        Drop::Loss => DropReason::Loss,
        Drop::Partition => DropReason::Partition,
        Drop::Dead => DropReason::Dead,
    }
}

/// Two process ids in one word: bits 32..56 and 8..32 (ids stay below 2^24), leaving the
/// top byte for a tag and the low byte for a message kind.
fn pair(a: u32, b: u32) -> u64 {
    debug_assert!(a < 1 << 24 && b < 1 << 24);
    ((a as u64) << 32) | ((b as u64) << 8)
}

fn shape_members(shape: &Shape) -> Vec<ProcessId> {
    let mut v = match shape {
        Shape::Halves { side, .. } => side.clone(),
        Shape::Isolate { node } => vec![*node],
        Shape::Bridge { a, b, bridge } => a.iter().chain(b).chain([bridge]).copied().collect(),
        Shape::OneWay { from, to } => from.iter().chain(to).copied().collect(),
        Shape::Ring { ring } => ring.clone(),
    };
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Latency;
    use crate::observe::NoChecks;
    use crate::probe::{Probe, ProbeMode, ProbeMsg};

    /// A relay over `n` processes for `events_max` events.
    fn relay(n: u32, events_max: u64, touch_ahead: Option<bool>) -> Outcome {
        let config = relay_config(n, events_max);
        let mode = ProbeMode::Relay { tokens: 4 };
        let mut sim = Sim::new(config, Box::new(move |_| Probe::new(mode, n)));
        if let Some(on) = touch_ahead {
            sim.touch_ahead = on;
        }
        sim.run(&mut NoChecks)
    }

    fn relay_config(n: u32, events_max: u64) -> KernelConfig {
        KernelConfig {
            seed: 7,
            process_count: n,
            targets: (0..n).map(ProcessId).collect(),
            network: NetworkConfig {
                latency: Latency::Uniform {
                    min_us: 500,
                    max_us: 1_500,
                },
                ..Default::default()
            },
            disk: DiskConfig::default(),
            cpu_cost_ns: vec![0; ProbeMsg::KINDS.len()],
            drift_ppm: vec![0; n as usize],
            schedule: Vec::new(),
            safety_ns: 1_000_000 * NS_PER_MS,
            liveness_ns: NS_PER_MS,
            events_max,
            queue_max: 1 << 20,
        }
    }

    /// Reading the coming events' state ahead (and taking their draws early) changes
    /// nothing a run does.
    #[test]
    fn touching_ahead_changes_nothing() {
        let plain = relay(1_000, 60_000, Some(false));
        let touched = relay(1_000, 60_000, Some(true));
        assert_eq!(plain.trace_hash, touched.trace_hash);
        assert_eq!(plain.stats.events, touched.stats.events);
        assert!(plain.stats.events > 60_000, "the budget ended the run");
    }

    /// A recorded relay is the same run as an unrecorded one, and the recorder stops at
    /// its bound.
    #[test]
    fn recording_changes_nothing() {
        use crate::tracelog::{MemorySink, What, debug_note_text};
        use std::{cell::RefCell, rc::Rc};
        let plain = relay(50, 20_000, None);
        for events_max in [100, 1_000_000] {
            let sink = Rc::new(RefCell::new(MemorySink::new(events_max)));
            let config = relay_config(50, 20_000);
            let mode = ProbeMode::Relay { tokens: 4 };
            let tracer = Tracer::new(Box::new(sink.clone()), debug_note_text);
            let factory = Box::new(move |_| Probe::new(mode, 50));
            let traced = Sim::with_recorder(config, factory, tracer).run(&mut NoChecks);
            assert_eq!(traced.trace_hash, plain.trace_hash);
            assert_eq!(traced.stats.events, plain.stats.events);
            let sink = Rc::try_unwrap(sink).expect("detached").into_inner();
            assert!(sink.events.len() <= events_max);
            assert_eq!(sink.truncated, events_max == 100);
            let handled = sink
                .events
                .iter()
                .filter(|e| matches!(e.what, What::Handle { kind: "TOKEN", .. }))
                .count();
            assert!(handled > 0 || sink.truncated, "tokens were handled");
        }
    }

    /// With many processes the loop touches ahead on its own; with few it does not.
    #[test]
    fn touching_ahead_follows_the_process_state_size() {
        let state = |n: usize| n * Sim::<Probe>::bytes_per_process();
        assert!(state(10) < TOUCH_AHEAD_BYTES_MIN);
        assert!(state(10_000) >= TOUCH_AHEAD_BYTES_MIN);
        assert_eq!(
            relay(1_000, 20_000, None).trace_hash,
            relay(1_000, 20_000, Some(false)).trace_hash
        );
    }
}
