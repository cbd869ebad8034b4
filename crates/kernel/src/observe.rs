//! What a run is judged by: the observer interface through which monitors see a run (notes,
//! crashes, the processes after every event, the liveness condition), findings, verdicts,
//! and the exit code each verdict maps to (DESIGN.md §7).

use sansio::{Process, ProcessId, Time};
use serde::Serialize;

/// A broken property, as an observer reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The monitor or checker: `Leadership`, `PrefixConsistency`, `Liveness`, …
    pub check: String,
    pub processes: Vec<ProcessId>,
    pub detail: String,
}

/// A violation placed in the run: when and at which event it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: String,
    pub at_ns: u64,
    pub event: u64,
    pub processes: Vec<ProcessId>,
    pub detail: String,
}

impl Finding {
    pub fn new(v: Violation, at: Time, event: u64) -> Finding {
        debug_assert!(!v.check.is_empty(), "a finding names its check");
        Finding {
            check: v.check,
            at_ns: at.ns(),
            event,
            processes: v.processes,
            detail: v.detail,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let procs: Vec<String> = self.processes.iter().map(|p| p.to_string()).collect();
        write!(
            f,
            "{} violated at {} (event {}), processes [{}]: {}",
            self.check,
            Time(self.at_ns),
            self.event,
            procs.join(", "),
            self.detail
        )
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check passed and the liveness condition held after the heal.
    Pass,
    /// A safety property broke.
    Safety(Finding),
    /// The system did not recover within the liveness phase.
    Liveness(Finding),
    /// The run hit a budget (events, queue capacity) before it could be judged.
    Budget { budget: String, detail: String },
}

impl Verdict {
    /// 0 pass, 1 violation, 3 inconclusive.
    pub fn exit_code(&self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Safety(_) | Verdict::Liveness(_) => 1,
            Verdict::Budget { .. } => 3,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Safety(_) => "safety",
            Verdict::Liveness(_) => "liveness",
            Verdict::Budget { .. } => "budget",
        }
    }

    pub fn finding(&self) -> Option<&Finding> {
        match self {
            Verdict::Safety(f) | Verdict::Liveness(f) => Some(f),
            _ => None,
        }
    }
}

/// Whether the liveness condition holds yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    Done,
    /// Not yet: which processes are stuck, and where.
    Waiting(Violation),
}

/// Read access to the live processes (a crashed process is `None`).
pub trait Procs<P> {
    fn count(&self) -> usize;
    fn get(&self, pid: ProcessId) -> Option<&P>;
}

/// Watches a run. Every method has a do-nothing default.
pub trait Observer<P: Process> {
    /// A process emitted a note (a state change, a delivered txn, a history event).
    /// The note is the observer's to keep.
    fn on_note(&mut self, _now: Time, _pid: ProcessId, _note: P::Note) -> Result<(), Violation> {
        Ok(())
    }
    /// The kernel crashed `pid` (its volatile state is gone).
    fn on_crash(&mut self, _now: Time, _pid: ProcessId) {}
    /// After every event; `touched` is the process that handled it, if any.
    fn after_event(
        &mut self,
        _now: Time,
        _procs: &dyn Procs<P>,
        _touched: Option<ProcessId>,
    ) -> Result<(), Violation> {
        Ok(())
    }
    /// Checked periodically in the liveness phase; the run passes at the first `Done`.
    fn liveness(&mut self, _now: Time, _procs: &dyn Procs<P>) -> Progress {
        Progress::Done
    }
    /// Whether [`Observer::liveness`] would say `Done`: what the periodic probes ask (the
    /// final verdict asks `liveness` for the explanation). Override it when building the
    /// explanation costs more than deciding.
    fn liveness_met(&mut self, now: Time, procs: &dyn Procs<P>) -> bool {
        self.liveness(now, procs) == Progress::Done
    }
    /// Whether the live process `pid` leads now, in the world's own terms: how the kernel
    /// resolves leader-targeted faults ("isolate the leader"). The kernel knows no protocol;
    /// by default nobody leads and such faults hit no one.
    fn leads(&self, _pid: ProcessId, _procs: &dyn Procs<P>) -> bool {
        false
    }
}

/// An observer that checks nothing (kernel tests and benchmarks).
pub struct NoChecks;
impl<P: Process> Observer<P> for NoChecks {}
