//! The event recorder's vocabulary: what the kernel reports, event by event, when a trace
//! sink is attached (messages sent, handled and dropped, timers, fsyncs, crashes and
//! restarts, faults and heals, the phase change, the processes' notes), the sink trait it
//! reports to, a bounded in-memory sink, and how notes get readable names. No I/O: writing
//! a file format is `report::trace`'s job, opening files the CLI's.
//!
//! Invariants: recording never changes a run — the kernel is generic over its
//! [`Recording`]: with [`Off`] (what `Sim::new` builds) every recording point is
//! `if R::ON { … }` with `ON = false` and compiles away, and message ids are `()`; with
//! a [`Tracer`] the points draw nothing from any stream and hash nothing, so a traced run
//! has the trace hash of an untraced one. A sink that is full says so and the tracer stops
//! (nothing is recorded after the first event that did not fit). Every buffer here has a
//! bound (`MemorySink::events_max`, note details `NOTE_DETAIL_BYTES_MAX`).

use crate::fault::Fault;
use sansio::ProcessId;
use std::cell::RefCell;
use std::fmt::Debug;
use std::rc::Rc;

/// Set in the message id of the second copy of a duplicated datagram: both copies are
/// recorded as sent, each with its own id, so each gets its own arrow.
pub const DUPLICATE_ID_BIT: u32 = 1 << 31;
/// A note's detail (its `Debug` form) is cut to this many bytes.
pub const NOTE_DETAIL_BYTES_MAX: usize = 240;

/// One recorded event at global simulated time `at_ns`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceEvent {
    pub at_ns: u64,
    pub what: What,
}

/// What happened. Message ids (`id`) number sends in the run (the network's send count,
/// modulo 2^31; a duplicate copy has [`DUPLICATE_ID_BIT`] set); a send and the handling or
/// drop of that message carry the same id.
#[derive(Clone, Debug, PartialEq)]
pub enum What {
    /// `pid` started (first boot, or a restart from its disk): `on_start` ran.
    Start { pid: ProcessId, incarnation: u32 },
    /// `from` sent a message of `kind` to `to`.
    Send {
        from: ProcessId,
        to: ProcessId,
        kind: &'static str,
        id: u32,
    },
    /// `pid` handled a message: its CPU served it from `start_ns` to `at_ns`, when the
    /// handler ran and its outputs left.
    Handle {
        pid: ProcessId,
        from: ProcessId,
        kind: &'static str,
        id: u32,
        start_ns: u64,
    },
    /// A message never reached its handler.
    Drop {
        from: ProcessId,
        to: ProcessId,
        kind: &'static str,
        id: u32,
        reason: DropReason,
    },
    /// A timer of `pid` fired (its handler ran).
    Timer { pid: ProcessId, timer: u64 },
    /// `pid` asked for an fsync of its first `records` records; it completes at `done_ns`.
    Fsync {
        pid: ProcessId,
        write: u64,
        records: usize,
        done_ns: u64,
    },
    /// An fsync of `pid` completed (its handler ran).
    FsyncDone { pid: ProcessId, write: u64 },
    /// `pid` saw its connection to `peer` reset (the peer crashed).
    Disconnect { pid: ProcessId, peer: ProcessId },
    /// `pid` crashed.
    Crash { pid: ProcessId },
    /// A fault of the schedule was applied; it hit `processes` (empty: nobody, e.g. no
    /// leader); its effect ends at `until_ns` if it lasts; `cut` names a partition.
    Fault {
        fault: Fault,
        processes: Vec<ProcessId>,
        until_ns: Option<u64>,
        cut: Option<u64>,
    },
    /// A lasting fault's effect ended.
    Heal { healed: Healed },
    /// The safety phase ended: every fault healed, the liveness phase began.
    Liveness,
    /// `pid` emitted a note (a state change, an election, a commit, a client event).
    Note {
        pid: ProcessId,
        name: String,
        detail: String,
    },
}

/// Why a message never reached its handler.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Lost by the network (datagram transport).
    Loss,
    /// A partition cut the link (at the send or at the arrival).
    Partition,
    /// The receiver was down, or (TCP) restarted since the send.
    Dead,
    /// It waited for the receiver's CPU when the receiver crashed.
    Crashed,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::Dead => "dead",
            DropReason::Crashed => "crashed",
        }
    }
}

/// A lasting fault whose effect ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Healed {
    Partition { cut: u64 },
    Loss,
    DiskSlow { pid: ProcessId },
    Restart { pid: ProcessId },
}

/// Where the kernel reports events.
pub trait TraceSink {
    /// Take one event. `false`: it did not fit (the sink's bound is reached) and the sink
    /// takes no more; the kernel then detaches it.
    fn record(&mut self, event: TraceEvent) -> bool;
}

/// A sink shared with its owner, who takes it back after the run (the kernel drops its
/// handle when the run ends or the sink is full).
impl<T: TraceSink + ?Sized> TraceSink for Rc<RefCell<T>> {
    fn record(&mut self, event: TraceEvent) -> bool {
        self.borrow_mut().record(event)
    }
}

/// Keeps at most `events_max` events in memory (tests, small tools).
#[derive(Clone, Debug, Default)]
pub struct MemorySink {
    pub events: Vec<TraceEvent>,
    pub events_max: usize,
    /// Whether an event did not fit.
    pub truncated: bool,
}

impl MemorySink {
    pub fn new(events_max: usize) -> MemorySink {
        MemorySink {
            events: Vec::new(),
            events_max,
            truncated: false,
        }
    }
}

impl TraceSink for MemorySink {
    fn record(&mut self, event: TraceEvent) -> bool {
        assert!(!self.truncated, "recording into a full sink");
        if self.events.len() >= self.events_max {
            self.truncated = true;
            return false;
        }
        if let Some(last) = self.events.last() {
            assert!(last.at_ns <= event.at_ns, "trace time went backwards");
        }
        self.events.push(event);
        debug_assert!(self.events.len() <= self.events_max);
        true
    }
}

/// A note as the trace shows it: a short name and a detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteText {
    pub name: String,
    pub detail: String,
}

/// Names the notes of one process type.
pub type NoteNamer<N> = fn(&N) -> NoteText;

/// Any note: named by its variant (the `Debug` form's leading identifier), detailed by its
/// `Debug` form (cut to `NOTE_DETAIL_BYTES_MAX`).
pub fn debug_note_text<N: Debug>(note: &N) -> NoteText {
    let detail = bounded(format!("{note:?}"));
    NoteText {
        name: head(&detail).to_string(),
        detail,
    }
}

/// The leading identifier of a `Debug` form (`State` of `State { .. }`).
pub fn head(debug: &str) -> &str {
    let end = debug
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(debug.len());
    &debug[..end]
}

/// `text` cut to at most `NOTE_DETAIL_BYTES_MAX` bytes (at a character boundary, marked).
pub fn bounded(mut text: String) -> String {
    if text.len() > NOTE_DETAIL_BYTES_MAX {
        let mut end = NOTE_DETAIL_BYTES_MAX - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    assert!(text.len() <= NOTE_DETAIL_BYTES_MAX);
    text
}

/// What the kernel records into, chosen at compile time (the kernel is generic over it).
pub trait Recording<N> {
    /// Whether anything is recorded: the kernel's recording points are `if R::ON { … }`.
    const ON: bool;
    /// The id a message carries through the kernel's events (`()` when not recording).
    type MsgId: Copy + Debug;
    fn msg_id(id: u32) -> Self::MsgId;
    fn id_u32(id: Self::MsgId) -> u32;
    /// The tracer, while it still records.
    fn tracer(&mut self) -> Option<&mut Tracer<N>>;
}

/// No recording: the kernel's recording points compile to nothing and its events carry
/// no message ids.
#[derive(Copy, Clone, Debug, Default)]
pub struct Off;

impl<N> Recording<N> for Off {
    const ON: bool = false;
    type MsgId = ();
    fn msg_id(_id: u32) {}
    fn id_u32(_id: ()) -> u32 {
        0
    }
    fn tracer(&mut self) -> Option<&mut Tracer<N>> {
        None
    }
}

/// The kernel's recording state: the sink and how notes are named.
pub struct Tracer<N> {
    sink: Box<dyn TraceSink>,
    pub(crate) name_note: NoteNamer<N>,
    /// The sink took its last event.
    full: bool,
    /// The time of the last event recorded.
    last_ns: u64,
}

impl<N> Recording<N> for Tracer<N> {
    const ON: bool = true;
    type MsgId = u32;
    fn msg_id(id: u32) -> u32 {
        id
    }
    fn id_u32(id: u32) -> u32 {
        id
    }
    fn tracer(&mut self) -> Option<&mut Tracer<N>> {
        (!self.full).then_some(self)
    }
}

impl<N> Tracer<N> {
    /// Record into `sink`, naming notes with `name_note`.
    pub fn new(sink: Box<dyn TraceSink>, name_note: NoteNamer<N>) -> Tracer<N> {
        Tracer {
            sink,
            name_note,
            full: false,
            last_ns: 0,
        }
    }

    /// Report one event; once the sink is full, nothing more.
    pub(crate) fn record(&mut self, at_ns: u64, what: What) {
        assert!(!self.full, "recording past a full sink");
        assert!(at_ns >= self.last_ns, "recorded time went backwards");
        self.last_ns = at_ns;
        self.full = !self.sink.record(TraceEvent { at_ns, what });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_ns: u64) -> TraceEvent {
        TraceEvent {
            at_ns,
            what: What::Liveness,
        }
    }

    #[test]
    fn memory_sink_stops_at_its_bound() {
        let mut sink = MemorySink::new(2);
        assert!(sink.record(event(1)));
        assert!(sink.record(event(2)));
        assert!(!sink.record(event(3)));
        assert!(sink.truncated);
        assert_eq!(sink.events.len(), 2);
    }

    #[test]
    fn a_shared_sink_records_for_its_owner() {
        let shared = Rc::new(RefCell::new(MemorySink::new(4)));
        let mut handle: Box<dyn TraceSink> = Box::new(shared.clone());
        assert!(handle.record(event(5)));
        drop(handle);
        let sink = Rc::try_unwrap(shared).expect("one owner").into_inner();
        assert_eq!(sink.events, vec![event(5)]);
    }

    #[test]
    fn debug_notes_get_short_names_and_bounded_details() {
        let long = debug_note_text(&vec![7u8; 1_000]);
        assert_eq!(long.name, "");
        assert!(long.detail.len() <= NOTE_DETAIL_BYTES_MAX);
        assert!(long.detail.ends_with('…'));
        assert_eq!(debug_note_text(&Some(1)).name, "Some");
    }
}
