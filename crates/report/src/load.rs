//! Reading a run directory (`scenario.json`, `outcome.json`, `history.jsonl` as
//! `zabsim run --out` writes them) into the plain data the charts are drawn from. Every
//! problem names its file, and its line where it has one.

use proto::NS_PER_MS;
use proto::history::{Event, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::Path;

use crate::error::ReportError;

pub const SCENARIO_FILE: &str = "scenario.json";
pub const OUTCOME_FILE: &str = "outcome.json";
pub const HISTORY_FILE: &str = "history.jsonl";

/// Bound on `history.jsonl`'s lines (a run records far fewer; the kernel's own budgets stop
/// it long before).
pub const HISTORY_LINES_MAX: usize = 50_000_000;
/// Bound on applied faults (the kernel's `FAULTS_MAX` is far lower).
pub const FAULTS_MAX: usize = 100_000;

/// How a run ended, as `outcome.json` states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerdictInfo {
    /// `pass`, `safety`, `liveness` or `budget`.
    pub name: String,
    /// The finding's or budget's fields (check, at_ns, detail, …), in file order.
    pub details: Vec<(String, String)>,
}

/// One applied fault: a band in the charts, a row in the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpan {
    pub at_ns: u64,
    /// As `outcome.json` states it. None: instantaneous, or lasting until the heal.
    pub until_ns: Option<u64>,
    /// Where the fault's band in the charts ends: `until_ns` clipped at the heal, or the
    /// heal for a fault that lasts until it (see [`band_until`]). None: drawn as a line.
    pub band_until_ns: Option<u64>,
    /// The fault's `kind` (`crash`, `partition-isolate`, …).
    pub kind: String,
    /// Its other parameters, `key=value` separated by spaces.
    pub params: String,
    pub processes: Vec<u32>,
}

/// One client operation, reduced to what the charts need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpSample {
    /// `proto::zk::Op::name()`.
    pub f: &'static str,
    pub outcome: Outcome,
    pub invoke_ns: u64,
    /// For `ok` and `fail`: completion − invocation. None for `info` (no answer to time).
    pub latency_ns: Option<u64>,
    /// When it counts in throughput: completion for `ok`/`fail`, invocation for `info`.
    pub counted_ns: u64,
}

/// Everything a report shows about one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunData {
    pub scenario_name: String,
    pub description: String,
    pub seed: u64,
    pub verdict: VerdictInfo,
    pub trace_hash: u64,
    pub end_ns: u64,
    pub recovered_ns: Option<u64>,
    /// The heal: the end of the safety phase, when every fault is healed (scenario.json's
    /// `run.safety_ms`). None when the file does not say.
    pub heal_ns: Option<u64>,
    pub figures: Vec<(String, u64)>,
    pub elections_ns: Vec<u64>,
    pub faults: Vec<FaultSpan>,
    /// Whether `history.jsonl` existed (probe workloads write none).
    pub has_history: bool,
    /// Client operations in file order.
    pub ops: Vec<OpSample>,
    pub watch_events: u64,
    pub session_ends: u64,
    pub server_closes: u64,
    /// Queue-recipe operations (`Event::Queue`) in file order.
    pub queues: Vec<proto::history::QueueRecord>,
    /// Lock-recipe holds (`Event::Lock`) in file order.
    pub locks: Vec<proto::history::LockRecord>,
    /// The protected resource's writes (`Event::Resource`) in file order.
    pub resource_writes: Vec<proto::history::ResourceRecord>,
    /// The config recipe's publications, reads and deliveries (`Event::Config`) in file
    /// order.
    pub configs: Vec<proto::history::ConfigRecord>,
    /// Leadership tenures (`Event::Leader`) in file order.
    pub leaders: Vec<proto::history::LeaderRecord>,
    /// Task executions (`Event::Task`) in file order.
    pub tasks: Vec<proto::history::TaskRecord>,
    /// Task-execution writes to the protected resource (`Event::TaskWrite`) in file order.
    pub task_writes: Vec<proto::history::TaskWriteRecord>,
    /// The scheduler's task completions that committed (a create of `/done/t-N`, alone or in
    /// a multi): (task, completion time ns — the invocation's for an unanswered one).
    pub tasks_done: Vec<(u64, u64)>,
    /// Message-queue acknowledgements (`Event::MqAck`) in file order.
    pub mq_acks: Vec<proto::history::MqAckRecord>,
    /// Message-queue consumptions (`Event::MqConsumed`) in file order.
    pub mq_consumed: Vec<proto::history::MqConsumeRecord>,
    /// Successful writes of message-queue partition state znodes, in file order.
    pub mq_states: Vec<crate::charts::mq::StateWrite>,
}

/// A successful create or setData of a partition state znode, as a [`StateWrite`].
///
/// [`StateWrite`]: crate::charts::mq::StateWrite
fn state_write(op: &proto::history::OpRecord) -> Option<crate::charts::mq::StateWrite> {
    use proto::zk::Op;
    if op.outcome != Outcome::Ok {
        return None;
    }
    let (path, data) = match &op.op {
        Op::Create { path, data, .. } | Op::SetData { path, data, .. } => (path, data),
        _ => return None,
    };
    let (topic, partition) = crate::charts::mq::state_path_part(path)?;
    let (leader, isr) = crate::charts::mq::parse_state(data)?;
    Some(crate::charts::mq::StateWrite {
        time_ns: op.complete_ns?,
        topic,
        partition,
        leader,
        isr,
    })
}

/// The task a committed completion completes (a create of `/done/t-N`, alone or in a
/// multi), with its time.
fn task_completion(op: &proto::history::OpRecord) -> Option<(u64, u64)> {
    use proto::history::Outcome;
    use proto::zk::Op;
    let committed = match op.outcome {
        Outcome::Ok => true,
        Outcome::Info => op.zxid.is_some(),
        Outcome::Fail => false,
    };
    let task_of = |o: &Op| match o {
        Op::Create { path, .. } => path.strip_prefix("/done/t-")?.parse().ok(),
        _ => None,
    };
    let task = match &op.op {
        Op::Multi(ops) => ops.iter().find_map(task_of),
        other => task_of(other),
    }?;
    committed.then(|| (task, op.complete_ns.unwrap_or(op.invoke_ns)))
}

impl RunData {
    /// The end of the time axis: the run's end, or the last op if one lies beyond it.
    pub fn span_ns(&self) -> u64 {
        let last = self
            .ops
            .iter()
            .map(|o| o.counted_ns.max(o.invoke_ns + o.latency_ns.unwrap_or(0)))
            .max()
            .unwrap_or(0);
        self.end_ns.max(last).max(1)
    }
}

#[derive(Deserialize)]
struct ScenarioFile {
    seed: u64,
    scenario: ScenarioHead,
}

#[derive(Deserialize)]
struct ScenarioHead {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    run: Option<RunHead>,
}

#[derive(Deserialize)]
struct RunHead {
    #[serde(default)]
    safety_ms: Option<u64>,
}

/// Fault kinds that, with no end of their own, last until the heal: the kernel restarts
/// every crashed server and resets every clock's drift there.
const LASTING_UNTIL_HEAL: [&str; 2] = ["crash", "clock-drift"];

/// Where a fault's chart band ends. With the heal known: an end after the heal is clipped
/// to it (everything heals there), and a fault without an end of a kind that lasts (a crash
/// without restart, a clock drift; one that hit some process) ends there. Otherwise the
/// fault's own end; None (a line) for an instantaneous fault.
pub fn band_until(f: &FaultSpan, heal_ns: Option<u64>) -> Option<u64> {
    let Some(heal) = heal_ns else {
        return f.until_ns;
    };
    match f.until_ns {
        Some(until) => Some(until.min(heal).max(f.at_ns)),
        None if LASTING_UNTIL_HEAL.contains(&f.kind.as_str())
            && !f.processes.is_empty()
            && f.at_ns < heal =>
        {
            Some(heal)
        }
        None => None,
    }
}

#[derive(Deserialize)]
struct OutcomeFile {
    outcome: OutcomeJson,
    #[serde(default)]
    figures: Vec<(String, u64)>,
    #[serde(default)]
    elections_ns: Vec<u64>,
}

#[derive(Deserialize)]
struct OutcomeJson {
    seed: u64,
    verdict: Map<String, Value>,
    trace_hash: u64,
    end_ns: u64,
    recovered_ns: Option<u64>,
    faults: Vec<AppliedJson>,
}

#[derive(Deserialize)]
struct AppliedJson {
    at_ns: u64,
    until_ns: Option<u64>,
    fault: Map<String, Value>,
    processes: Vec<u32>,
}

fn read_text(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|e| ReportError::new(path, format!("cannot read: {e}")))
}

/// A JSON value as a short text: strings bare, everything else as JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn verdict_info(path: &Path, map: &Map<String, Value>) -> Result<VerdictInfo, ReportError> {
    let name = match map.get("verdict") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ReportError::new(
                path,
                "outcome.verdict has no string field `verdict`",
            ));
        }
    };
    let details = map
        .iter()
        .filter(|(k, _)| k.as_str() != "verdict")
        .map(|(k, v)| (k.clone(), plain(v)))
        .collect();
    Ok(VerdictInfo { name, details })
}

fn fault_span(
    path: &Path,
    index: usize,
    a: &AppliedJson,
    heal_ns: Option<u64>,
) -> Result<FaultSpan, ReportError> {
    let kind = match a.fault.get("kind") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(ReportError::new(
                path,
                format!("outcome.faults[{index}].fault has no string field `kind`"),
            ));
        }
    };
    if let Some(until) = a.until_ns
        && until < a.at_ns
    {
        return Err(ReportError::new(
            path,
            format!(
                "outcome.faults[{index}]: until_ns {until} is before at_ns {}",
                a.at_ns
            ),
        ));
    }
    let params: Vec<String> = a
        .fault
        .iter()
        .filter(|(k, _)| k.as_str() != "kind")
        .map(|(k, v)| format!("{k}={}", plain(v)))
        .collect();
    let mut span = FaultSpan {
        at_ns: a.at_ns,
        until_ns: a.until_ns,
        band_until_ns: None,
        kind,
        params: params.join(" "),
        processes: a.processes.clone(),
    };
    span.band_until_ns = band_until(&span, heal_ns);
    Ok(span)
}

/// Read `dir`'s run files. `history.jsonl` may be absent (no client history).
pub fn load(dir: &Path) -> Result<RunData, ReportError> {
    let scenario_path = dir.join(SCENARIO_FILE);
    let scenario: ScenarioFile = serde_json::from_str(&read_text(&scenario_path)?)
        .map_err(|e| ReportError::json(&scenario_path, &e))?;
    let outcome_path = dir.join(OUTCOME_FILE);
    let outcome: OutcomeFile = serde_json::from_str(&read_text(&outcome_path)?)
        .map_err(|e| ReportError::json(&outcome_path, &e))?;
    let o = &outcome.outcome;
    if o.seed != scenario.seed {
        return Err(ReportError::new(
            &outcome_path,
            format!(
                "seed {} differs from {}'s seed {} (files of different runs?)",
                o.seed, SCENARIO_FILE, scenario.seed
            ),
        ));
    }
    if o.faults.len() > FAULTS_MAX {
        return Err(ReportError::new(
            &outcome_path,
            format!("{} faults, more than {FAULTS_MAX}", o.faults.len()),
        ));
    }
    let heal_ns = scenario
        .scenario
        .run
        .as_ref()
        .and_then(|r| r.safety_ms)
        .map(|ms| ms.saturating_mul(NS_PER_MS));
    let faults = o
        .faults
        .iter()
        .enumerate()
        .map(|(i, a)| fault_span(&outcome_path, i, a, heal_ns))
        .collect::<Result<Vec<_>, _>>()?;
    let mut data = RunData {
        scenario_name: scenario.scenario.name,
        description: scenario.scenario.description,
        seed: o.seed,
        verdict: verdict_info(&outcome_path, &o.verdict)?,
        trace_hash: o.trace_hash,
        end_ns: o.end_ns,
        recovered_ns: o.recovered_ns,
        heal_ns,
        figures: outcome.figures,
        elections_ns: outcome.elections_ns,
        faults,
        has_history: false,
        ops: Vec::new(),
        watch_events: 0,
        session_ends: 0,
        server_closes: 0,
        queues: Vec::new(),
        locks: Vec::new(),
        resource_writes: Vec::new(),
        leaders: Vec::new(),
        tasks: Vec::new(),
        task_writes: Vec::new(),
        tasks_done: Vec::new(),
        configs: Vec::new(),
        mq_acks: Vec::new(),
        mq_consumed: Vec::new(),
        mq_states: Vec::new(),
    };
    let history_path = dir.join(HISTORY_FILE);
    if history_path.exists() {
        data.has_history = true;
        read_history(&history_path, &mut data)?;
    }
    Ok(data)
}

fn read_history(path: &Path, data: &mut RunData) -> Result<(), ReportError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ReportError::new(path, format!("cannot read: {e}")))?;
    let reader = std::io::BufReader::new(file);
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        if number > HISTORY_LINES_MAX {
            return Err(ReportError::at_line(
                path,
                number,
                format!("more than {HISTORY_LINES_MAX} lines"),
            ));
        }
        let line =
            line.map_err(|e| ReportError::at_line(path, number, format!("cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(&line).map_err(|e| {
            let mut err = ReportError::json(path, &e);
            err.line = Some(number);
            err
        })?;
        match event {
            Event::Op(op) => {
                let sample = op_sample(&op).map_err(|m| ReportError::at_line(path, number, m))?;
                data.ops.push(sample);
                if let Some(done) = task_completion(&op) {
                    data.tasks_done.push(done);
                }
                if let Some(w) = state_write(&op) {
                    data.mq_states.push(w);
                }
            }
            Event::Watch { .. } => data.watch_events += 1,
            Event::SessionEnd { .. } => data.session_ends += 1,
            Event::ServerClose { .. } => data.server_closes += 1,
            Event::Queue(q) => data.queues.push(q),
            Event::Lock(l) => data.locks.push(l),
            Event::Resource(r) => data.resource_writes.push(r),
            Event::Leader(l) => data.leaders.push(l),
            Event::Task(t) => data.tasks.push(t),
            Event::TaskWrite(w) => data.task_writes.push(w),
            Event::Barrier(_) | Event::Member(_) | Event::View(_) => {}
            Event::MqAck(a) => data.mq_acks.push(a),
            Event::MqConsumed(c) => data.mq_consumed.push(c),
            Event::MqCommit(_) => {}
            Event::MqUnclean(_) => {}
            Event::Config(c) => data.configs.push(c),
        }
    }
    Ok(())
}

fn op_sample(op: &proto::history::OpRecord) -> Result<OpSample, String> {
    let f = op.op.name();
    match op.outcome {
        Outcome::Info => Ok(OpSample {
            f,
            outcome: Outcome::Info,
            invoke_ns: op.invoke_ns,
            latency_ns: None,
            counted_ns: op.invoke_ns,
        }),
        Outcome::Ok | Outcome::Fail => {
            let complete = op
                .complete_ns
                .ok_or_else(|| format!("a completed ({:?}) {f} has no complete_ns", op.outcome))?;
            let latency = complete.checked_sub(op.invoke_ns).ok_or_else(|| {
                format!(
                    "{f}: complete_ns {complete} is before invoke_ns {}",
                    op.invoke_ns
                )
            })?;
            Ok(OpSample {
                f,
                outcome: op.outcome,
                invoke_ns: op.invoke_ns,
                latency_ns: Some(latency),
                counted_ns: complete,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn span(kind: &str, at_ms: u64, until_ms: Option<u64>, processes: &[u32]) -> FaultSpan {
        FaultSpan {
            at_ns: at_ms * MS,
            until_ns: until_ms.map(|u| u * MS),
            band_until_ns: None,
            kind: kind.into(),
            params: String::new(),
            processes: processes.to_vec(),
        }
    }

    #[test]
    fn bands_end_at_the_heal_at_the_latest() {
        let heal = Some(2_000 * MS);
        let cases = [
            // A crash without restart and a drift last until the heal.
            (span("crash", 500, None, &[2]), Some(2_000)),
            (span("clock-drift", 700, None, &[0]), Some(2_000)),
            // An end after the heal is clipped; one before it stays.
            (
                span("partition-isolate", 1_500, Some(2_600), &[1]),
                Some(2_000),
            ),
            (span("crash", 500, Some(900), &[2]), Some(900)),
            // Instantaneous faults, and a crash that hit nobody, stay lines.
            (span("clock-jump", 800, None, &[1]), None),
            (span("restart", 800, None, &[1]), None),
            (span("crash", 800, None, &[]), None),
        ];
        for (f, want_ms) in cases {
            assert_eq!(band_until(&f, heal), want_ms.map(|m| m * MS), "{f:?}");
        }
    }

    #[test]
    fn without_a_heal_the_band_is_the_fault_as_stated() {
        for f in [
            span("crash", 500, None, &[2]),
            span("partition-isolate", 1_500, Some(2_600), &[1]),
        ] {
            assert_eq!(band_until(&f, None), f.until_ns);
        }
    }
}
