//! The `zabsim` command line: argument parsing, dispatch and exit codes (DESIGN.md §7:
//! 0 all checks passed, 1 a violation, 2 usage or input error, 3 inconclusive).

/// mimalloc: allocation is spread over every message and txn of a run (see the workspace
/// manifest). Nothing a run computes depends on addresses, so the allocator cannot change a
/// trace hash.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod checkcmd;
mod compare;
mod fuzz;
mod hooks;
mod merge;
mod output;
mod reportcmd;
mod runcmd;
mod seed;
mod shrink;
mod zkscriptcmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "zabsim",
    version,
    about = "Deterministic simulation testbed for ZooKeeper-style coordination"
)]
#[command(
    after_help = "Exit codes: 0 all checks passed, 1 a violation was found, 2 usage or input error, 3 inconclusive (a budget was hit)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options shared by the commands that run a scenario.
#[derive(clap::Args, Clone, Debug)]
pub struct ScenarioArgs {
    /// Scenario file (TOML or JSON); the built-in default scenario when absent.
    #[arg(long, short)]
    scenario: Option<String>,
    /// Override a scenario value, e.g. `--set network.loss=0.05` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Switch on a planted historical bug (ZooKeeper's zk-1419, zk-335, zk-1154, zk-3911,
    /// zk-2355, zk-1366; the claim queue's queue-delete-first; the lock's lock-no-guid; the
    /// leader latch's curator-498 and curator-696; the double barrier's barrier-no-recheck, the
    /// config subscriber's config-read-then-watch; the message queue's kafka-hw-truncation,
    /// kafka-epoch-divergence and kafka-zombie-controller; on `cluster.protocol=raft`,
    /// raft-figure8 and raft-no-vote-persist; on `cluster.protocol=paxos`,
    /// paxos-no-accept-persist; repeatable); same as adding it to the scenario's `[zab] bugs`.
    #[arg(long = "bug", value_name = "NAME")]
    bugs: Vec<String>,
}

impl ScenarioArgs {
    /// The `--set` overrides plus one for `--bug`.
    pub fn all_overrides(&self) -> Vec<String> {
        let mut all = self.overrides.clone();
        if !self.bugs.is_empty() {
            let names: Vec<String> = self.bugs.iter().map(|b| format!("{b:?}")).collect();
            all.push(format!("zab.bugs=[{}]", names.join(",")));
        }
        all
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run one seed of a scenario: summary, verdict, trace hash, outputs.
    Run {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// The seed (decimal or 0x-hex); also from ZABSIM_SEED; random when absent.
        #[arg(long)]
        seed: Option<String>,
        /// Write the resolved scenario, the outcome and the fault schedule here.
        #[arg(long)]
        out: Option<String>,
        #[command(flatten)]
        trace: runcmd::TraceArgs,
    },
    /// Re-run a seed and verify its trace hash.
    Replay {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// The seed to replay (decimal or 0x-hex); also from ZABSIM_SEED, or the seed a run
        /// file records (a run directory's scenario.json, a shrunk.json). Required: a
        /// replay never draws a random seed.
        #[arg(long)]
        seed: Option<String>,
        /// The trace hash the run must reproduce (hex); for a run directory's scenario.json,
        /// the hash its outcome.json recorded when not given.
        #[arg(long)]
        expect_hash: Option<String>,
        /// Write the resolved scenario, the outcome, the history and the charts here.
        #[arg(long)]
        out: Option<String>,
        #[command(flatten)]
        trace: runcmd::TraceArgs,
    },
    /// Run many seeds (in parallel processes' worth of threads); one result line per seed.
    Fuzz {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// How many seeds (default 100 unless --time is given).
        #[arg(long)]
        seeds: Option<u64>,
        /// Run seeds until this much wall time passed, e.g. `60s`, `5m`, `1h`.
        #[arg(long, value_name = "DURATION")]
        time: Option<String>,
        /// Run only shard I of N (0-based): seeds whose offset from --seed-start is I mod N
        /// (`--seeds` then counts this shard's seeds). `zabsim merge` combines the shards.
        /// `auto/N` takes I from JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Stop starting new seeds after the first finding.
        #[arg(long)]
        stop_on_finding: bool,
        /// Do not replay the scenario's seeds from scenarios/regressions.txt first.
        #[arg(long)]
        no_regressions: bool,
        /// The first seed.
        #[arg(long, default_value_t = 0)]
        seed_start: u64,
        /// Seeds run at once (each run stays single-threaded).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Append one JSON line per seed here (flushed per seed).
        #[arg(long)]
        results: Option<String>,
        /// Continue a sweep that was stopped: skip the seeds already in --results (a partial
        /// last line is dropped) and append the rest; the summary covers the whole file.
        #[arg(long)]
        resume: bool,
    },
    /// Run the same seeds of each scenario on each replication engine (`cluster.protocol`)
    /// and print them side by side: findings by kind, recovery time after a leader loss,
    /// committed writes per simulated second, write latency, messages and fsyncs per write.
    Compare {
        /// Engines to compare, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "zab,raft,paxos")]
        protocols: Vec<String>,
        /// Scenario files (repeatable: one table each).
        #[arg(long, short, required = true)]
        scenario: Vec<String>,
        /// Override a scenario value on every engine, e.g. `--set network.loss=0.05`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Seeds per scenario and engine.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 0)]
        seed_start: u64,
        /// Seeds run at once (plain threads; each run stays single-threaded).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
    },
    /// Combine the `--results` files of a sharded sweep (or several sweeps) into one, in
    /// seed order whatever the scheduling; a seed whose copies disagree is reported as
    /// nondeterminism. Prints the summary, findings and REPRO lines; exit codes as `fuzz`.
    Merge {
        /// Results files (JSON Lines written by `fuzz --results`).
        #[arg(required = true)]
        files: Vec<String>,
        /// Write the merged JSON Lines here (atomically).
        #[arg(long)]
        out: Option<String>,
    },
    /// Minimize a failing seed: the smallest fault script, workload and cluster that still
    /// fail the same check; writes OUT/shrunk.json and prints its REPRO line.
    Shrink {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// The failing seed (decimal or 0x-hex); also from ZABSIM_SEED.
        #[arg(long)]
        seed: Option<String>,
        /// Candidate runs, at most.
        #[arg(long, default_value_t = shrink::RUNS_MAX_DEFAULT)]
        runs_max: u64,
        /// Output directory (default: reports/shrink-<scenario stem>-seed-<N>).
        #[arg(long)]
        out: Option<String>,
    },
    /// Print the performance figures zabsim is judged by.
    Bench {
        /// Scale the work down for a quick look (1 = full).
        #[arg(long, default_value_t = 1)]
        quick: u32,
        /// Run only these sections (repeatable): history, kernel, ensemble, ci, checker,
        /// bugs. Default: all, in that order.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(bench::SECTIONS))]
        only: Vec<String>,
        /// Internal: measure only the kernel relay at this many processes and print
        /// `<events> <wall seconds>` (each kernel size runs in a fresh process).
        #[arg(long, hide = true)]
        kernel_processes: Option<u32>,
    },
    /// Run a script of client operations (JSON lines) on a fault-free 3-server ensemble,
    /// one operation at a time; print one JSON result line per operation.
    #[command(name = "zk-script")]
    ZkScript {
        /// The script: one `{"session":0,"op":"create","path":"/a",...}` object per line.
        file: String,
        /// The seed of the simulated ensemble (the results do not depend on it).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Chart a run directory (written by `run --out`: latency and throughput in simulated
    /// time) or a whole sweep's results file (written by `fuzz --results` or `merge --out`:
    /// verdicts by seed, distributions across seeds, findings with their REPRO lines); SVG +
    /// PNG charts and an index.html.
    Report {
        /// A run directory (scenario.json, outcome.json, history.jsonl) or a results file.
        #[arg(value_name = "RUN_DIR|RESULTS.jsonl")]
        dir: String,
        /// Write the charts and index here (default: the run directory itself; for a
        /// results file `NAME-report/` beside it).
        #[arg(long)]
        out: Option<String>,
    },
    /// Check recorded histories for linearizability, one verdict per file.
    Check {
        /// Sequential specification: `register`, `kv` or `zk` (ZooKeeper's consistency
        /// model and watch invariants on a saved `history.jsonl`).
        #[arg(long)]
        model: String,
        /// History format: `porcupine-etcd` (with `register`), `porcupine-kv` (with `kv`) or
        /// `zabsim` (with `zk`: the `history.jsonl` that `run --out` writes).
        #[arg(long)]
        format: String,
        /// Print one JSON object per file instead of a line.
        #[arg(long)]
        json: bool,
        /// Give up with verdict `unknown` (exit 3) after this many search steps per file.
        #[arg(long, value_name = "N")]
        budget_steps: Option<u64>,
        /// The history files.
        #[arg(required = true)]
        files: Vec<String>,
    },
}

fn main() -> ExitCode {
    hooks::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Run {
            scenario,
            seed,
            out,
            trace,
        } => runcmd::run(&scenario, seed.as_deref(), out.as_deref(), None, &trace),
        Command::Replay {
            scenario,
            seed,
            expect_hash,
            out,
            trace,
        } => runcmd::run(
            &scenario,
            seed.as_deref(),
            out.as_deref(),
            Some(expect_hash.as_deref()),
            &trace,
        ),
        Command::Fuzz {
            scenario,
            seeds,
            time,
            shard,
            stop_on_finding,
            no_regressions,
            seed_start,
            jobs,
            results,
            resume,
        } => fuzz::run(
            &scenario,
            &fuzz::Options {
                first: seed_start,
                seeds,
                time: time.as_deref(),
                shard: shard.as_deref(),
                stop_on_finding,
                regressions: !no_regressions,
                jobs,
                results: results.as_deref(),
                resume,
            },
        ),
        Command::Merge { files, out } => merge::run(&files, out.as_deref()),
        Command::Compare {
            protocols,
            scenario,
            overrides,
            seeds,
            seed_start,
            jobs,
        } => compare::run_compare(&compare::Options {
            protocols: &protocols,
            scenarios: &scenario,
            overrides: &overrides,
            seeds,
            seed_start,
            jobs,
        }),
        Command::Shrink {
            scenario,
            seed,
            runs_max,
            out,
        } => shrink::run(&scenario, seed.as_deref(), runs_max, out.as_deref()),
        Command::Bench {
            quick,
            only,
            kernel_processes,
        } => match kernel_processes {
            Some(processes) => bench::kernel_one(processes, quick),
            None => bench::run(quick, &only),
        },
        Command::ZkScript { file, seed } => zkscriptcmd::run(&file, seed),
        Command::Report { dir, out } => reportcmd::run(&dir, out.as_deref()),
        Command::Check {
            model,
            format,
            json,
            budget_steps,
            files,
        } => checkcmd::run(&model, &format, &files, json, budget_steps),
    };
    ExitCode::from(code)
}
