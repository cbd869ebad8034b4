//! `zabsim run` and `zabsim replay`: load the scenario, print the seed first, run, print
//! the summary, the verdict, the trace hash and — for a finding — the `REPRO:` line; write
//! the resolved scenario, the outcome and the history (`history.jsonl`) beside the run
//! when `--out` is given, and the event trace (Chrome trace JSON) with `--trace FILE`.
//! A trace file that cannot be written is reported after the run's own results (exit 2).

use crate::ScenarioArgs;
use crate::output::write_json;
use crate::seed;
use kernel::tracelog::TraceSink;
use report::trace::{ChromeTrace, RunEnd, TRACE_EVENTS_MAX_DEFAULT};
use sim::run::{ResolvedScenario, RunReport};
use sim::scenario::{self, Loaded};
use std::cell::RefCell;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// `--trace FILE` and its bound (`run` and `replay`).
#[derive(clap::Args, Clone, Debug)]
pub struct TraceArgs {
    /// Write the run's event trace here as Chrome trace JSON, one event per line (open it
    /// in ui.perfetto.dev or chrome://tracing); timestamps are simulated time.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<String>,
    /// Stop recording the trace after this many events (the file stays valid and its
    /// metadata says it was truncated).
    #[arg(long, value_name = "N", default_value_t = TRACE_EVENTS_MAX_DEFAULT)]
    pub trace_events_max: u64,
}

/// Load the scenario the arguments name (or the default one).
pub fn load(args: &ScenarioArgs) -> Result<Loaded, String> {
    let loaded = match &args.scenario {
        Some(path) => scenario::load_file(path, &args.all_overrides()),
        None => scenario::load_default(&args.all_overrides()),
    };
    loaded.map_err(|e| e.to_string())
}

/// The seed the `--scenario` file was written for, when it is a run directory's
/// `scenario.json` (see `scenario::run_file_seed`).
pub fn recorded_seed(args: &ScenarioArgs) -> Option<u64> {
    let text = std::fs::read_to_string(args.scenario.as_deref()?).ok()?;
    scenario::run_file_seed(&text)
}

/// The command line that reproduces a run exactly.
pub fn repro_line(args: &ScenarioArgs, seed: u64, hash: u64) -> String {
    let mut line = String::from("zabsim replay");
    if let Some(s) = &args.scenario {
        line += &format!(" --scenario {s}");
    }
    for o in &args.overrides {
        line += &format!(" --set '{o}'");
    }
    for b in &args.bugs {
        line += &format!(" --bug {b}");
    }
    line + &format!(" --seed {seed} --expect-hash {hash:016x}")
}

/// The trace hash a run directory recorded for `seed`: `outcome.json` beside the
/// `--scenario DIR/scenario.json` given, when it ran that seed and no `--set`/`--bug` changes
/// the run. What `replay --scenario DIR/scenario.json` verifies without `--expect-hash`.
fn recorded_hash(args: &ScenarioArgs, recorded: Option<u64>, seed: u64) -> Option<(u64, PathBuf)> {
    if !args.all_overrides().is_empty() {
        return None;
    }
    let scenario = Path::new(args.scenario.as_deref()?);
    recorded?;
    let path = scenario.with_file_name("outcome.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let outcome = value.get("outcome")?;
    (outcome.get("seed")?.as_u64()? == seed).then_some(())?;
    Some((outcome.get("trace_hash")?.as_u64()?, path))
}

fn parse_hash(text: &str) -> Result<u64, String> {
    u64::from_str_radix(text.trim().trim_start_matches("0x"), 16)
        .map_err(|_| format!("--expect-hash: `{text}` is not a hex hash"))
}

/// Run (or, with `expect`, replay) one seed. Returns the exit code.
pub fn run(
    args: &ScenarioArgs,
    seed_flag: Option<&str>,
    out: Option<&str>,
    expect: Option<Option<&str>>,
    trace: &TraceArgs,
) -> u8 {
    let pick = match expect {
        Some(_) => seed::choose_recorded,
        None => seed::choose,
    };
    let recorded = recorded_seed(args);
    let seed = match pick(seed_flag, recorded) {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    println!("seed: {seed} (0x{seed:x})");
    let mut expected = match expect.flatten().map(parse_hash).transpose() {
        Ok(h) => h,
        Err(e) => return usage(&e),
    };
    if expect == Some(None)
        && let Some((hash, path)) = recorded_hash(args, recorded, seed)
    {
        println!(
            "replay: expecting trace hash {hash:016x} recorded in {}",
            path.display()
        );
        expected = Some(hash);
    }
    let loaded = match load(args) {
        Ok(l) => l,
        Err(e) => return usage(&e),
    };
    let file = trace.trace.as_deref().map(|path| {
        let names = sim::run::process_names(&loaded.scenario);
        TraceFile::create(path, &names, trace.trace_events_max)
    });
    let sink = match &file {
        Some(Ok(f)) => Some(f.sink()),
        _ => None,
    };
    let report = match sim::run::run_traced(&loaded, seed, sink) {
        Ok(r) => r,
        Err(e) => {
            if let Some(Ok(f)) = file {
                f.abandon();
            }
            return usage(&e.to_string());
        }
    };
    print_summary(&loaded, &report);
    // The run's own results are printed first; a trace that cannot be written is an
    // input error reported after them.
    let trace_failed = match file.map(|f| f.and_then(|f| f.finish(&loaded, &report))) {
        Some(Err(e)) => {
            eprintln!("error: {e}");
            true
        }
        Some(Ok(())) | None => false,
    };
    if let Some(dir) = out {
        if let Err(e) = write_outputs(Path::new(dir), &loaded, &report) {
            eprintln!("error: cannot write outputs to {dir}: {e}");
            return 2;
        }
        println!("outputs: {dir}");
    }
    let hash = report.outcome.trace_hash;
    println!("trace hash: {hash:016x}");
    let mut code = report.outcome.verdict.exit_code() as u8;
    if let Some(want) = expected {
        if want == hash {
            println!("replay: trace hash matches");
        } else {
            println!(
                "replay: TRACE HASH MISMATCH: expected {want:016x}, got {hash:016x} (nondeterminism or a different build)"
            );
            code = 1;
        }
    }
    if code != 0 {
        println!("REPRO: {}", repro_line(args, seed, hash));
    }
    if trace_failed { 2 } else { code }
}

/// A trace being streamed into a temporary file beside `path`, renamed into place when
/// the run is over.
struct TraceFile {
    path: String,
    tmp: PathBuf,
    writer: Rc<RefCell<ChromeTrace<BufWriter<File>>>>,
}

impl TraceFile {
    /// Start the trace of a run of processes `names`; the error names `path`.
    fn create(path: &str, names: &[String], events_max: u64) -> Result<TraceFile, String> {
        let fail = |e: &dyn std::fmt::Display| format!("cannot write the trace to {path}: {e}");
        let target = Path::new(path);
        let Some(name) = target.file_name() else {
            return Err(fail(&"not a file name"));
        };
        let tmp = target.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
        let file = File::create(&tmp).map_err(|e| fail(&e))?;
        let writer = ChromeTrace::new(BufWriter::new(file), names, events_max).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(&e)
        })?;
        Ok(TraceFile {
            path: path.to_string(),
            tmp,
            writer: Rc::new(RefCell::new(writer)),
        })
    }

    /// The kernel's handle on the writer.
    fn sink(&self) -> Box<dyn TraceSink> {
        Box::new(self.writer.clone())
    }

    /// No run to trace: remove the temporary file.
    fn abandon(self) {
        drop(self.writer);
        let _ = std::fs::remove_file(&self.tmp);
    }

    /// Close the trace with the run's verdict and metadata and move it into place.
    fn finish(self, loaded: &Loaded, r: &RunReport) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| {
            let _ = std::fs::remove_file(&self.tmp);
            format!("cannot write the trace to {}: {e}", self.path)
        };
        let writer = Rc::try_unwrap(self.writer)
            .unwrap_or_else(|_| panic!("the kernel kept its trace handle"))
            .into_inner();
        let o = &r.outcome;
        let end = RunEnd {
            seed: o.seed,
            scenario: &loaded.scenario.name,
            origin: &loaded.origin,
            trace_hash: o.trace_hash,
            end_ns: o.end_ns,
            verdict: &o.verdict,
        };
        let (out, written) = writer.finish(&end).map_err(|e| fail(&e))?;
        out.into_inner()
            .map_err(|e| fail(&e.into_error()))?
            .sync_all()
            .map_err(|e| fail(&e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| fail(&e))?;
        println!(
            "trace: {} ({} events; open in ui.perfetto.dev or chrome://tracing)",
            self.path, written.events
        );
        if written.truncated {
            eprintln!(
                "warning: the trace stopped at {} events (--trace-events-max); {} is valid and says so in its metadata",
                written.events, self.path
            );
        }
        Ok(())
    }
}

fn usage(message: &str) -> u8 {
    eprintln!("error: {message}");
    2
}

fn print_summary(loaded: &Loaded, r: &RunReport) {
    let o = &r.outcome;
    let s = &o.stats;
    let name = match loaded.scenario.name.as_str() {
        "" => "unnamed",
        n => n,
    };
    println!("scenario: {name} ({})", loaded.origin);
    println!("system under test: {}", loaded.scenario.system_under_test());
    println!("workload: {}", loaded.scenario.workload.describe());
    if let Some(sw) = &r.swarm {
        let kinds: Vec<String> = sw.kinds.iter().map(|k| format!("{k:?}")).collect();
        println!(
            "swarm: interval {} ms, kinds {}",
            sw.interval_ms,
            kinds.join(" ")
        );
    }
    println!(
        "faults: {} scheduled, {} applied",
        r.schedule.len(),
        o.faults.len()
    );
    println!(
        "events: {}  simulated: {}  crashes: {}  restarts: {}  fsyncs: {}  timers: {}",
        s.events,
        proto::Time(o.end_ns),
        s.crashes,
        s.restarts,
        s.fsyncs,
        s.timers_fired
    );
    let n = &s.network;
    println!(
        "network: sent {} delivered {} retransmitted {} duplicated {} reordered {} dropped(loss {} partition {} dead {})",
        n.sent,
        n.delivered,
        n.retransmitted,
        n.duplicated,
        n.reordered,
        n.dropped_loss,
        n.dropped_partition,
        n.dropped_dead
    );
    let kinds: Vec<String> = s
        .messages_by_kind
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    println!("messages by kind: {}", kinds.join(" "));
    let figures: Vec<String> = r.figures.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("figures: {}", figures.join(" "));
    if !r.elections_ns.is_empty() {
        let ms: Vec<String> = r
            .elections_ns
            .iter()
            .map(|ns| format!("{:.1}", *ns as f64 / 1e6))
            .collect();
        println!(
            "elections: {} (ms until a leader was established: {})",
            ms.len(),
            ms.join(" ")
        );
    }
    if let Some(at) = o.recovered_ns {
        println!("recovered: at {}", proto::Time(at));
    }
    match o.verdict.finding() {
        Some(f) => println!("verdict: {} — {f}", o.verdict.name().to_uppercase()),
        None => match &o.verdict {
            kernel::observe::Verdict::Budget { budget, detail } => {
                println!("verdict: INCONCLUSIVE — {budget} budget: {detail}")
            }
            _ => println!("verdict: PASS"),
        },
    }
}

fn write_outputs(dir: &Path, loaded: &Loaded, r: &RunReport) -> std::io::Result<()> {
    let resolved = ResolvedScenario {
        seed: r.outcome.seed,
        scenario: &loaded.scenario,
        swarm: &r.swarm,
        schedule: &r.schedule,
    };
    write_json(dir, "scenario.json", &resolved)?;
    write_json(dir, "outcome.json", r)?;
    if !r.history.is_empty() {
        write_history(dir, &r.history)?;
    }
    report::render(dir, dir).map_err(std::io::Error::other)?;
    Ok(())
}

/// `history.jsonl`: one event per line, in time order.
fn write_history(dir: &Path, history: &[proto::history::Event]) -> std::io::Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(dir.join("history.jsonl"))?;
    let mut w = std::io::BufWriter::new(file);
    for e in history {
        serde_json::to_writer(&mut w, e)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}
