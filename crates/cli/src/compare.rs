//! `zabsim compare`: the same seeds of one or more scenarios on each replication engine
//! (`cluster.protocol` = zab, raft, paxos), side by side — findings by kind, recovery time
//! after a leader loss (every leaderless period after the first election: p50/p99/max),
//! committed writes per simulated second, write latency (p50/p99 of answered writes),
//! messages and fsyncs per committed write — as a table per scenario.
//! Runs are deterministic (each seed single-threaded); `--jobs` only spreads whole seeds
//! over plain threads, and rows are gathered in seed order, so the table does not depend on
//! scheduling.

use std::collections::BTreeMap;

use proto::history::Event;
use sim::run::{RunReport, run};
use sim::scenario::{Loaded, load_file};

/// The engines `compare` knows, in table order.
pub const PROTOCOLS: [&str; 3] = ["zab", "raft", "paxos"];
/// Most seeds one comparison runs per scenario and engine.
pub const SEEDS_MAX: u64 = 100_000;

/// What `zabsim compare` was asked to do.
pub struct Options<'a> {
    pub protocols: &'a [String],
    pub scenarios: &'a [String],
    pub overrides: &'a [String],
    pub seeds: u64,
    pub seed_start: u64,
    pub jobs: usize,
}

/// What one seed on one engine showed.
#[derive(Clone, Debug, Default)]
struct SeedFigures {
    /// None: passed; else the finding's check (or the budget's name).
    finding: Option<String>,
    /// Leaderless periods after the first election, ns.
    recoveries_ns: Vec<u64>,
    /// Answered writes' latencies, ns.
    write_latencies_ns: Vec<u64>,
    commits: u64,
    simulated_ns: u64,
    messages: u64,
    fsyncs: u64,
}

/// One engine's row: every seed's figures pooled.
#[derive(Clone, Debug, Default)]
struct Row {
    seeds: u64,
    findings: BTreeMap<String, u64>,
    recoveries_ns: Vec<u64>,
    write_latencies_ns: Vec<u64>,
    commits: u64,
    simulated_ns: u64,
    messages: u64,
    fsyncs: u64,
}

/// Runs the comparison and prints it; the exit code (2: bad input, else 0).
pub fn run_compare(o: &Options) -> u8 {
    if let Err(e) = validate(o) {
        eprintln!("error: {e}");
        return 2;
    }
    for path in o.scenarios {
        let mut rows = Vec::new();
        for protocol in o.protocols {
            let loaded = match load(path, o.overrides, protocol) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            };
            rows.push((protocol.as_str(), pooled(&loaded, o)));
        }
        print_table(path, o, &rows);
    }
    0
}

fn validate(o: &Options) -> Result<(), String> {
    if o.protocols.is_empty() {
        return Err("--protocols: name at least one of zab, raft, paxos".into());
    }
    if let Some(p) = o
        .protocols
        .iter()
        .find(|p| !PROTOCOLS.contains(&p.as_str()))
    {
        return Err(format!(
            "--protocols: unknown engine {p:?} (zab, raft or paxos)"
        ));
    }
    if o.scenarios.is_empty() {
        return Err("--scenario: give at least one scenario file".into());
    }
    if o.seeds == 0 || o.seeds > SEEDS_MAX {
        return Err(format!("--seeds: between 1 and {SEEDS_MAX}"));
    }
    if o.jobs == 0 {
        return Err("--jobs: at least 1".into());
    }
    if o.seed_start.checked_add(o.seeds).is_none() {
        return Err("--seed-start: the seeds overflow".into());
    }
    Ok(())
}

fn load(path: &str, overrides: &[String], protocol: &str) -> Result<Loaded, String> {
    let mut all = overrides.to_vec();
    all.push(format!("cluster.protocol={protocol:?}"));
    load_file(path, &all).map_err(|e| e.to_string())
}

/// Every seed of `o` on `loaded`, pooled in seed order.
fn pooled(loaded: &Loaded, o: &Options) -> Row {
    let seeds: Vec<u64> = (o.seed_start..o.seed_start + o.seeds).collect();
    let chunk = seeds.len().div_ceil(o.jobs);
    let per_seed: Vec<SeedFigures> = std::thread::scope(|s| {
        let handles: Vec<_> = seeds
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|&seed| one(loaded, seed))
                        .collect::<Vec<SeedFigures>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a compare thread panicked"))
            .collect::<Vec<SeedFigures>>()
    });
    let mut row = Row::default();
    for f in per_seed {
        row.seeds += 1;
        let kind = f.finding.unwrap_or_else(|| "pass".into());
        *row.findings.entry(kind).or_default() += 1;
        row.recoveries_ns.extend(f.recoveries_ns);
        row.write_latencies_ns.extend(f.write_latencies_ns);
        row.commits += f.commits;
        row.simulated_ns += f.simulated_ns;
        row.messages += f.messages;
        row.fsyncs += f.fsyncs;
    }
    row.recoveries_ns.sort_unstable();
    row.write_latencies_ns.sort_unstable();
    row
}

/// One seed's figures; a panicking seed counts as the finding `panic`.
fn one(loaded: &Loaded, seed: u64) -> SeedFigures {
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(loaded, seed)));
    match report {
        Ok(Ok(r)) => figures_of(&r),
        Ok(Err(e)) => SeedFigures {
            finding: Some(format!("error: {e}")),
            ..SeedFigures::default()
        },
        Err(_) => SeedFigures {
            finding: Some("panic".into()),
            ..SeedFigures::default()
        },
    }
}

fn figures_of(r: &RunReport) -> SeedFigures {
    use kernel::observe::Verdict;
    let finding = match &r.outcome.verdict {
        Verdict::Pass => None,
        Verdict::Safety(f) | Verdict::Liveness(f) => Some(f.check.clone()),
        Verdict::Budget { budget, .. } => Some(format!("budget {budget}")),
    };
    let figure = |name: &str| {
        r.figures
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |&(_, v)| v)
    };
    let write_latencies_ns = r
        .history
        .iter()
        .filter_map(|e| match e {
            Event::Op(op) if op.op.is_write() => Some(op.complete_ns?.saturating_sub(op.invoke_ns)),
            _ => None,
        })
        .collect();
    SeedFigures {
        finding,
        recoveries_ns: r.elections_ns.iter().skip(1).copied().collect(),
        write_latencies_ns,
        commits: figure("commits"),
        simulated_ns: r.outcome.end_ns,
        messages: r.outcome.stats.network.sent,
        fsyncs: r.outcome.stats.fsyncs,
    }
}

/// The value at percentile `pct` of ascending `sorted` (nearest rank); None when empty.
fn percentile(sorted: &[u64], pct: u64) -> Option<u64> {
    (!sorted.is_empty()).then(|| report::series::nearest_rank(sorted, pct))
}

fn ms(ns: Option<u64>) -> String {
    ns.map_or("-".into(), |v| format!("{:.1}", v as f64 / 1e6))
}

fn per(n: u64, d: u64) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.1}", n as f64 / d as f64)
    }
}

fn print_table(path: &str, o: &Options, rows: &[(&str, Row)]) {
    println!(
        "compare: {path}, seeds {}..{} on {}",
        o.seed_start,
        o.seed_start + o.seeds,
        o.protocols.join(", ")
    );
    println!(
        "  {:<6} {:>5} {:>5} {:>27} {:>10} {:>17} {:>9} {:>9}",
        "engine",
        "seeds",
        "pass",
        "recovery ms p50/p99/max (n)",
        "writes/s",
        "write ms p50/p99",
        "msgs/w",
        "fsyncs/w"
    );
    for (protocol, r) in rows {
        let rec = &r.recoveries_ns;
        let recovery = format!(
            "{}/{}/{} ({})",
            ms(percentile(rec, 50)),
            ms(percentile(rec, 99)),
            ms(rec.last().copied()),
            rec.len()
        );
        let lat = &r.write_latencies_ns;
        let latency = format!("{}/{}", ms(percentile(lat, 50)), ms(percentile(lat, 99)));
        let writes_per_s = per(r.commits * 1_000_000_000, r.simulated_ns);
        println!(
            "  {protocol:<6} {:>5} {:>5} {recovery:>27} {writes_per_s:>10} {latency:>17} {:>9} {:>9}",
            r.seeds,
            r.findings.get("pass").copied().unwrap_or(0),
            per(r.messages, r.commits),
            per(r.fsyncs, r.commits),
        );
    }
    for (protocol, r) in rows {
        let found: Vec<String> = r
            .findings
            .iter()
            .filter(|(k, _)| k.as_str() != "pass")
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        if !found.is_empty() {
            println!("  {protocol} findings: {}", found.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_are_named() {
        let protocols = vec!["zab".to_string(), "vr".to_string()];
        let scenarios = vec!["x.toml".to_string()];
        let o = Options {
            protocols: &protocols,
            scenarios: &scenarios,
            overrides: &[],
            seeds: 3,
            seed_start: 0,
            jobs: 1,
        };
        assert!(validate(&o).unwrap_err().contains("\"vr\""));
        let ok = vec!["raft".to_string()];
        let o = Options {
            protocols: &ok,
            seeds: 0,
            ..o
        };
        assert!(validate(&o).unwrap_err().starts_with("--seeds"));
    }
}
