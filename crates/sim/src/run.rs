//! One run of a scenario for one seed: resolves the scenario, builds the processes the
//! workload asks for, runs the kernel with the workload's observer and gathers the figures
//! for the summary; optionally records the run's events into a trace sink (`tracelog`).
//! The caller (the CLI) prints and writes files; this module does no I/O.

use crate::scenario::{self, Loaded, Scenario, ScenarioError, WorkloadConfig};
use kernel::fault::Scheduled;
use kernel::nemesis::SwarmChoice;
use kernel::probe::{Probe, ProbeMode, ProbeMsg, ProbeObserver};
use kernel::sim::{Factory, KernelConfig, Outcome, Sim};
use kernel::tracelog::{TraceSink, debug_note_text};
use proto::{Message, NS_PER_MS, ProcessId};
use serde::Serialize;

/// Everything a run produced.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub outcome: Outcome,
    pub swarm: Option<SwarmChoice>,
    pub schedule: Vec<Scheduled>,
    /// Workload figures: name → value, in a fixed order.
    pub figures: Vec<(String, u64)>,
    /// For ensembles: every leaderless period that ended in an established leader, ns.
    pub elections_ns: Vec<u64>,
    /// For ensembles: the client-visible history (`history.jsonl`).
    #[serde(skip)]
    pub history: Vec<proto::history::Event>,
}

/// The scenario with everything the seed chose, as written beside a run's outputs.
#[derive(Serialize)]
pub struct ResolvedScenario<'a> {
    pub seed: u64,
    pub scenario: &'a Scenario,
    pub swarm: &'a Option<SwarmChoice>,
    pub schedule: &'a [Scheduled],
}

fn problem(loaded: &Loaded, (field, message): (String, String)) -> ScenarioError {
    ScenarioError {
        file: loaded.origin.clone(),
        line: None,
        column: None,
        field: Some(field),
        message,
    }
}

/// The message kinds of the processes `scenario` runs.
pub fn message_kinds(scenario: &Scenario) -> &'static [&'static str] {
    match scenario.workload {
        WorkloadConfig::Probe { .. } | WorkloadConfig::Relay { .. } => ProbeMsg::KINDS,
        WorkloadConfig::Writes { .. } => zkserver::Msg::KINDS,
    }
}

/// Resolve `loaded` for `seed` into a kernel configuration.
pub fn kernel_config(
    loaded: &Loaded,
    seed: u64,
) -> Result<(KernelConfig, Option<SwarmChoice>), ScenarioError> {
    let r = scenario::resolve(&loaded.scenario, seed, message_kinds(&loaded.scenario))
        .map_err(|p| problem(loaded, p))?;
    Ok((r.kernel, r.swarm))
}

/// The name of every process of `scenario`, by process id: `p0 server`, `p3 observer`,
/// `p4 client`, `p5 producer`, `p6 consumer`, or `p0 probe` (the ids are the `pN` every
/// summary and finding uses).
pub fn process_names(scenario: &Scenario) -> Vec<String> {
    let name = |pid: ProcessId, role: &str| format!("{pid} {role}");
    if scenario.workload.is_probe() {
        let n = scenario.cluster.servers + scenario.cluster.observers;
        return (0..n).map(|i| name(ProcessId(i), "probe")).collect();
    }
    let workloads = crate::workload::of(scenario, &crate::ensemble::server_ids(scenario));
    let layout = crate::ensemble::Layout::with(scenario, &workloads);
    let servers = [(&layout.voters, "server"), (&layout.observers, "observer")];
    let mut names: Vec<(ProcessId, String)> = servers
        .iter()
        .flat_map(|(pids, role)| pids.iter().map(move |&p| (p, name(p, role))))
        .collect();
    for (w, pids) in workloads.iter().zip(&layout.workloads) {
        let roles = (0..).map(|i| w.role(i));
        names.extend(pids.iter().zip(roles).map(|(&p, role)| (p, name(p, role))));
    }
    names.sort();
    assert!(
        names.iter().enumerate().all(|(i, (p, _))| p.index() == i),
        "the layout numbers processes densely"
    );
    names.into_iter().map(|(_, n)| n).collect()
}

/// Run `loaded` with `seed` to a verdict.
pub fn run(loaded: &Loaded, seed: u64) -> Result<RunReport, ScenarioError> {
    run_traced(loaded, seed, None)
}

/// [`run`], recording the run's events into `trace` (if any). The recording changes
/// nothing about the run: the report (trace hash included) is the untraced run's.
pub fn run_traced(
    loaded: &Loaded,
    seed: u64,
    trace: Option<Box<dyn TraceSink>>,
) -> Result<RunReport, ScenarioError> {
    let (kernel, swarm) = kernel_config(loaded, seed)?;
    let schedule = kernel.schedule.clone();
    let processes = kernel.process_count;
    let mut elections_ns = Vec::new();
    let mut history = Vec::new();
    let (outcome, figures) = match loaded.scenario.workload {
        WorkloadConfig::Probe {
            interval_ms,
            payload_bytes,
        } => {
            let mode = ProbeMode::Ping {
                interval_ns: interval_ms * NS_PER_MS,
                payload_bytes,
            };
            run_probe(kernel, mode, processes, trace)
        }
        WorkloadConfig::Relay { tokens } => {
            run_probe(kernel, ProbeMode::Relay { tokens }, processes, trace)
        }
        WorkloadConfig::Writes { .. } => {
            let r = crate::ensemble::run_traced(&loaded.scenario, kernel, trace);
            elections_ns = r.stats.election_ns;
            history = r.history;
            (r.outcome, r.figures)
        }
    };
    Ok(RunReport {
        outcome,
        swarm,
        schedule,
        figures,
        elections_ns,
        history,
    })
}

fn run_probe(
    kernel: KernelConfig,
    mode: ProbeMode,
    processes: u32,
    trace: Option<Box<dyn TraceSink>>,
) -> (Outcome, Vec<(String, u64)>) {
    let factory: Factory<Probe> = Box::new(move |_| Probe::new(mode, processes));
    let mut observer = ProbeObserver::default();
    let outcome = kernel::sim::run_traced(kernel, factory, &mut observer, trace, debug_note_text);
    let mut rtt = observer.rtt_ns;
    rtt.sort_unstable();
    let q = |p: usize| {
        if rtt.is_empty() {
            0
        } else {
            rtt[(rtt.len() - 1) * p / 100]
        }
    };
    let figures = vec![
        ("round_trips".to_string(), rtt.len() as u64),
        ("rtt_ns_p50".to_string(), q(50)),
        ("rtt_ns_p99".to_string(), q(99)),
        ("rtt_ns_max".to_string(), q(100)),
    ];
    (outcome, figures)
}

/// Bytes the kernel's event queue holds per pending event of the probe workload.
pub fn bytes_per_pending_event() -> usize {
    Sim::<Probe>::bytes_per_pending_event()
}
