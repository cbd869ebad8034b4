//! `zabsim run` and `zabsim replay`: load the scenario, print the seed first, run, print
//! the summary, the verdict, the trace hash and — for a finding — the `REPRO:` line; write
//! the resolved scenario, the outcome and the history (`history.jsonl`) beside the run
//! when `--out` is given.

use crate::ScenarioArgs;
use crate::output::write_json;
use crate::seed;
use sim::run::{ResolvedScenario, RunReport};
use sim::scenario::{self, Loaded};
use std::path::Path;

/// Load the scenario the arguments name (or the default one).
pub fn load(args: &ScenarioArgs) -> Result<Loaded, String> {
    let loaded = match &args.scenario {
        Some(path) => scenario::load_file(path, &args.all_overrides()),
        None => scenario::load_default(&args.all_overrides()),
    };
    loaded.map_err(|e| e.to_string())
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
) -> u8 {
    let seed = match seed::choose(seed_flag) {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    println!("seed: {seed} (0x{seed:x})");
    let expected = match expect.flatten().map(parse_hash).transpose() {
        Ok(h) => h,
        Err(e) => return usage(&e),
    };
    let loaded = match load(args) {
        Ok(l) => l,
        Err(e) => return usage(&e),
    };
    let report = match sim::run::run(&loaded, seed) {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    print_summary(&loaded, &report);
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
    code
}

fn usage(message: &str) -> u8 {
    eprintln!("error: {message}");
    2
}

fn print_summary(loaded: &Loaded, r: &RunReport) {
    let o = &r.outcome;
    let s = &o.stats;
    println!("scenario: {} ({})", loaded.scenario.name, loaded.origin);
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
            sim::observe::Verdict::Budget { budget, detail } => {
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
