//! A run's event trace as a Chrome Trace Event Format file (JSON object form), for
//! ui.perfetto.dev and chrome://tracing: one track per simulated process; message handling
//! as complete events (`X`) over the CPU service time; sends → handling as flow events
//! (`s` → `f`, one id per message); drops, fsyncs, crashes and notes as process instants;
//! timers, fsync completions, resets and starts as thread instants; faults, heals, the
//! liveness phase and the verdict as global instants. `ts` and `dur` are simulated
//! microseconds written exactly from integer nanoseconds (`1234.567`).
//!
//! Invariants: one event per line inside `traceEvents` (greppable); equal runs give
//! byte-identical files (integer formatting only, fixed field order, no maps); timestamps
//! never decrease along a track (a handler's slice starts no earlier than the last event on
//! its thread); a flow end sits at its slice's start and binds to it (`"bp":"e"`); at most
//! `events_max` recorded events are written — past it the sink reports full, the file is
//! still closed validly and its metadata says `"truncated":true`. The closing verdict
//! event and the metadata are always written. Writes to any `io::Write`; opening files is
//! the caller's job.

use kernel::fault::Fault;
use kernel::observe::Verdict;
use kernel::tracelog::{Healed, TraceEvent, TraceSink, What};
use proto::ProcessId;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The default bound on recorded events (`zabsim run --trace-events-max`).
pub const TRACE_EVENTS_MAX_DEFAULT: u64 = 2_000_000;

/// What the metadata says about the run, given when the file is closed.
#[derive(Clone, Debug)]
pub struct RunEnd<'a> {
    pub seed: u64,
    /// The scenario's name and where it came from.
    pub scenario: &'a str,
    pub origin: &'a str,
    pub trace_hash: u64,
    pub end_ns: u64,
    pub verdict: &'a Verdict,
}

/// What a finished trace holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Recorded events written (metadata and the closing verdict event not counted).
    pub events: u64,
    /// Whether recording stopped at the bound.
    pub truncated: bool,
}

/// Streams a run's events as Chrome trace JSON into `out`.
pub struct ChromeTrace<W: Write> {
    out: W,
    /// Processes' count; process `i` is JSON pid/tid `i + 1`, the kernel's global events
    /// use pid `count + 1`.
    processes: u32,
    events: u64,
    events_max: u64,
    truncated: bool,
    error: Option<io::Error>,
    /// Per process: the time of the last event written on its thread track, ns.
    thread_ns: Vec<u64>,
    /// The line being built.
    line: String,
}

impl<W: Write> ChromeTrace<W> {
    /// Open the trace: the header and a name for every process (`names[i]` names process
    /// `i`) and for the kernel's track.
    pub fn new(out: W, names: &[String], events_max: u64) -> io::Result<ChromeTrace<W>> {
        assert!(!names.is_empty(), "a run has processes");
        let processes = u32::try_from(names.len()).expect("process count fits u32");
        let mut t = ChromeTrace {
            out,
            processes,
            events: 0,
            events_max,
            truncated: false,
            error: None,
            thread_ns: vec![0; names.len()],
            line: String::new(),
        };
        t.out.write_all(b"{\"traceEvents\":[\n")?;
        let kernel = processes + 1;
        t.metadata_line(
            kernel,
            "process_name",
            "kernel: faults, phases, verdict",
            true,
        );
        t.out.write_all(t.line.as_bytes())?;
        for (i, name) in names.iter().enumerate() {
            for what in ["process_name", "thread_name"] {
                t.metadata_line(i as u32 + 1, what, name, false);
                t.out.write_all(t.line.as_bytes())?;
            }
        }
        Ok(t)
    }

    /// Close the trace: the verdict as a global instant, then the metadata. Returns the
    /// writer (flushed) and what was written; the first write error if any occurred.
    pub fn finish(mut self, end: &RunEnd) -> io::Result<(W, Written)> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.verdict_line(end);
        self.out.write_all(self.line.as_bytes())?;
        self.line.clear();
        self.metadata_object(end);
        self.out.write_all(self.line.as_bytes())?;
        self.out.flush()?;
        let written = Written {
            events: self.events,
            truncated: self.truncated,
        };
        Ok((self.out, written))
    }

    /// A `process_name` / `thread_name` metadata event (the first line has no comma).
    fn metadata_line(&mut self, pid: u32, what: &str, name: &str, first: bool) {
        self.line.clear();
        if !first {
            self.line.push_str(",\n");
        }
        let _ = write!(
            self.line,
            "{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{pid},\"name\":\"{what}\",\"args\":{{\"name\":"
        );
        push_str(&mut self.line, name);
        self.line.push_str("}}");
    }

    /// The run's verdict as a global instant at the finding (or the end).
    fn verdict_line(&mut self, end: &RunEnd) {
        let (at_ns, name, detail) = match end.verdict {
            Verdict::Pass => (end.end_ns, "verdict: PASS".to_string(), String::new()),
            Verdict::Safety(f) | Verdict::Liveness(f) => {
                let kind = end.verdict.name().to_uppercase();
                let procs: Vec<String> = f.processes.iter().map(|p| p.to_string()).collect();
                let detail = format!("{} (event {}, [{}])", f.detail, f.event, procs.join(", "));
                (f.at_ns, format!("{kind} violation: {}", f.check), detail)
            }
            Verdict::Budget { budget, detail } => (
                end.end_ns,
                format!("INCONCLUSIVE: {budget} budget"),
                detail.clone(),
            ),
        };
        self.line.clear();
        self.open('i', at_ns, self.processes + 1, "verdict", &name);
        self.line.push_str(",\"s\":\"g\"");
        self.detail_args(&detail);
    }

    /// `,"args":{"detail":…}}` closing the event, or just `}` for no detail.
    fn detail_args(&mut self, detail: &str) {
        if !detail.is_empty() {
            self.line.push_str(",\"args\":{\"detail\":");
            push_str(&mut self.line, detail);
            self.line.push('}');
        }
        self.line.push('}');
    }

    fn metadata_object(&mut self, end: &RunEnd) {
        let l = &mut self.line;
        l.push_str("\n],\n\"displayTimeUnit\":\"ns\",\n\"metadata\":{");
        let _ = write!(l, "\"seed\":{},\"scenario\":", end.seed);
        push_str(l, end.scenario);
        l.push_str(",\"scenario_file\":");
        push_str(l, end.origin);
        let _ = write!(
            l,
            ",\"trace_hash\":\"{:016x}\",\"verdict\":\"{}\",\"end_us\":{},\"events\":{},\"events_max\":{},\"truncated\":{},\"clock\":\"simulated\"}}\n}}\n",
            end.trace_hash,
            end.verdict.name(),
            us(end.end_ns),
            self.events,
            self.events_max,
            self.truncated
        );
    }

    /// `{"ph":P,"ts":T,"pid":N,"tid":N,"cat":C,"name":NAME` after the separator.
    fn open(&mut self, ph: char, at_ns: u64, pid: u32, cat: &str, name: &str) {
        let _ = write!(
            self.line,
            ",\n{{\"ph\":\"{ph}\",\"ts\":{},\"pid\":{pid},\"tid\":{pid},\"cat\":\"{cat}\",\"name\":",
            us(at_ns)
        );
        push_str(&mut self.line, name);
    }

    /// An instant on `pid`'s thread (`"s":"t"`): the start of a handler other than a
    /// message's, so the handler's sends bind to it.
    fn thread_instant(&mut self, at_ns: u64, pid: ProcessId, cat: &str, name: &str) {
        self.advance(pid, at_ns);
        self.open('i', at_ns, pid.0 + 1, cat, name);
        self.line.push_str(",\"s\":\"t\"");
    }

    /// An instant on `pid`'s process track (`"s":"p"`), beside its thread: it never
    /// becomes the slice a send binds to.
    fn process_instant(&mut self, at_ns: u64, pid: ProcessId, cat: &str, name: &str) {
        self.open('i', at_ns, pid.0 + 1, cat, name);
        self.line.push_str(",\"s\":\"p\"");
    }

    fn global_instant(&mut self, at_ns: u64, cat: &str, name: &str) {
        self.open('i', at_ns, self.processes + 1, cat, name);
        self.line.push_str(",\"s\":\"g\"");
    }

    /// Move `pid`'s thread track to `at_ns` (never back).
    fn advance(&mut self, pid: ProcessId, at_ns: u64) {
        let last = &mut self.thread_ns[pid.index()];
        assert!(*last <= at_ns, "{pid}: trace time went backwards");
        *last = at_ns;
    }

    /// Trace events `what` becomes (the bound counts these).
    fn cost(what: &What) -> u64 {
        match what {
            What::Handle { .. } => 2,
            _ => 1,
        }
    }

    fn format(&mut self, e: &TraceEvent) {
        let at = e.at_ns;
        match &e.what {
            What::Start { pid, incarnation } => {
                let name = if *incarnation == 0 {
                    "start"
                } else {
                    "restart"
                };
                self.thread_instant(at, *pid, "process", name);
                let _ = write!(self.line, ",\"args\":{{\"incarnation\":{incarnation}}}}}");
            }
            What::Send { from, kind, id, .. } => {
                self.advance(*from, at);
                self.open('s', at, from.0 + 1, "msg", kind);
                let _ = write!(self.line, ",\"id\":{id}}}");
            }
            What::Handle {
                pid,
                from,
                kind,
                id,
                start_ns,
            } => self.handle(at, *pid, *from, kind, *id, *start_ns),
            What::Drop {
                from,
                to,
                kind,
                id,
                reason,
            } => {
                self.process_instant(at, *to, "drop", &format!("drop {kind}"));
                let _ = write!(
                    self.line,
                    ",\"args\":{{\"from\":\"{from}\",\"to\":\"{to}\",\"id\":{id},\"reason\":\"{}\"}}}}",
                    reason.as_str()
                );
            }
            What::Timer { pid, timer } => {
                self.thread_instant(at, *pid, "timer", &format!("timer {timer}"));
                self.line.push('}');
            }
            What::Fsync {
                pid,
                write,
                records,
                done_ns,
            } => {
                self.process_instant(at, *pid, "disk", "fsync");
                let _ = write!(
                    self.line,
                    ",\"args\":{{\"write\":\"{write:#x}\",\"records\":{records},\"done_us\":{}}}}}",
                    us(*done_ns)
                );
            }
            What::FsyncDone { pid, write } => {
                self.thread_instant(at, *pid, "disk", "fsync done");
                let _ = write!(self.line, ",\"args\":{{\"write\":\"{write:#x}\"}}}}");
            }
            What::Disconnect { pid, peer } => {
                self.thread_instant(at, *pid, "net", &format!("disconnect {peer}"));
                self.line.push('}');
            }
            What::Crash { pid } => {
                self.process_instant(at, *pid, "fault", "crash");
                self.line.push('}');
            }
            What::Fault {
                fault,
                processes,
                until_ns,
                cut,
            } => self.fault(at, fault, processes, *until_ns, *cut),
            What::Heal { healed } => {
                let name = match healed {
                    Healed::Partition { cut } => format!("heal partition (cut {cut})"),
                    Healed::Loss => "heal loss".to_string(),
                    Healed::DiskSlow { pid } => format!("heal disk-slow {pid}"),
                    Healed::Restart { pid } => format!("restart {pid}"),
                };
                self.global_instant(at, "fault", &name);
                self.line.push('}');
            }
            What::Liveness => {
                self.global_instant(at, "phase", "liveness phase: faults healed");
                self.line.push('}');
            }
            What::Note { pid, name, detail } => {
                self.process_instant(at, *pid, "note", name);
                self.detail_args(detail);
            }
        }
    }

    /// A handled message: its slice over the CPU service time (starting no earlier than
    /// the thread's last event), then the flow's end at the slice's start.
    fn handle(
        &mut self,
        at: u64,
        pid: ProcessId,
        from: ProcessId,
        kind: &str,
        id: u32,
        start_ns: u64,
    ) {
        assert!(start_ns <= at, "a handler ends after it starts");
        let start = start_ns.max(self.thread_ns[pid.index()]);
        self.advance(pid, at);
        let p = pid.0 + 1;
        self.open('X', start, p, "msg", kind);
        let _ = write!(
            self.line,
            ",\"dur\":{},\"args\":{{\"from\":\"{from}\",\"to\":\"{pid}\",\"id\":{id}}}}}",
            us(at - start)
        );
        self.open('f', start, p, "msg", kind);
        let _ = write!(self.line, ",\"bp\":\"e\",\"id\":{id}}}");
    }

    fn fault(
        &mut self,
        at: u64,
        fault: &Fault,
        processes: &[ProcessId],
        until_ns: Option<u64>,
        cut: Option<u64>,
    ) {
        let json = serde_json::to_string(fault).expect("faults serialize");
        let kind = serde_json::from_str::<serde_json::Value>(&json)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_else(|| "fault".to_string());
        let procs: Vec<String> = processes.iter().map(|p| p.to_string()).collect();
        let name = match procs.is_empty() {
            true => format!("fault {kind}"),
            false => format!("fault {kind} {}", procs.join(" ")),
        };
        self.global_instant(at, "fault", &name);
        let _ = write!(self.line, ",\"args\":{{\"fault\":{json},\"processes\":[");
        for (i, p) in procs.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(self.line, "{sep}\"{p}\"");
        }
        self.line.push(']');
        if let Some(until) = until_ns {
            let _ = write!(self.line, ",\"until_us\":{}", us(until));
        }
        if let Some(cut) = cut {
            let _ = write!(self.line, ",\"cut\":{cut}");
        }
        self.line.push_str("}}");
    }
}

impl<W: Write> TraceSink for ChromeTrace<W> {
    fn record(&mut self, event: TraceEvent) -> bool {
        if self.error.is_some() || self.truncated {
            return false;
        }
        let n = Self::cost(&event.what);
        if self.events + n > self.events_max {
            self.truncated = true;
            return false;
        }
        self.line.clear();
        self.format(&event);
        if let Err(e) = self.out.write_all(self.line.as_bytes()) {
            self.error = Some(e);
            return false;
        }
        self.events += n;
        true
    }
}

/// Integer nanoseconds as exact microseconds: `1234567` → `1234.567`.
pub fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000, ns % 1_000)
}

/// `text` as a JSON string literal.
fn push_str(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microseconds_are_exact() {
        assert_eq!(us(0), "0.000");
        assert_eq!(us(1_234_567), "1234.567");
        assert_eq!(us(5), "0.005");
        assert_eq!(us(u64::MAX), "18446744073709551.615");
    }

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        push_str(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\u0001é\"");
        let back: String = serde_json::from_str(&s).expect("valid JSON");
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }
}
