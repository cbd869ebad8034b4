//! Acceptance tests of the `zabsim` command line: bad input exits 2 with a message naming
//! the file, line and field (never a panic); `run` prints the seed first and a trace hash;
//! the seed may come from `ZABSIM_SEED`; `replay --expect-hash` verifies determinism and
//! prints a `REPRO:` line on a mismatch or a finding; `--out` writes the resolved scenario
//! and the outcome; JSON scenarios are accepted and equivalent to TOML.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Short phases for any run of the default scenario.
const SHORT: [&str; 4] = [
    "--set",
    "run.safety_ms=1000",
    "--set",
    "run.liveness_ms=1000",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn show(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// The trace hash printed by a run.
    fn hash(&self) -> String {
        let line = self
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("trace hash: "))
            .unwrap_or_else(|| panic!("no trace hash printed\n{}", self.show()));
        assert!(
            line.len() == 16 && line.chars().all(|c| c.is_ascii_hexdigit()),
            "bad hash {line:?}"
        );
        line.to_string()
    }

    fn repro(&self) -> Option<&str> {
        self.stdout.lines().find_map(|l| l.strip_prefix("REPRO: "))
    }
}

fn zabsim_env(args: &[&str], seed_env: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zabsim"));
    cmd.args(args).env_remove("ZABSIM_SEED");
    if let Some(s) = seed_env {
        cmd.env("ZABSIM_SEED", s);
    }
    let out = cmd.output().expect("zabsim runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stdout.contains("panicked") && !run.stderr.contains("panicked"),
        "zabsim panicked:\n{}",
        run.show()
    );
    run
}

fn zabsim(args: &[&str]) -> Run {
    zabsim_env(args, None)
}

/// A file or directory under the temp dir with a name no other test (or test process)
/// uses; removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn path(name: &str) -> Temp {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Temp(
            std::env::temp_dir().join(format!("zabsim-cli-test-{}-{n}-{name}", std::process::id())),
        )
    }

    fn file(name: &str, text: &str) -> Temp {
        let t = Temp::path(name);
        std::fs::write(&t.0, text).expect("write a temp file");
        t
    }

    fn s(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// A short probe scenario with a scripted crash and partition; it passes.
const PROBE_TOML: &str = r#"
version = 1
name = "cli-test"

[cluster]
servers = 3

[run]
safety_ms = 1000
liveness_ms = 1000

[network]
latency = { dist = "uniform", min_us = 500, max_us = 1500 }
loss = 0.01

[workload]
kind = "probe"
interval_ms = 10
payload_bytes = 100

[[nemesis.script]]
at_ms = 100
kind = "crash"
target = 1
restart_after_ms = 200

[[nemesis.script]]
at_ms = 400
kind = "partition-isolate"
target = 0
duration_ms = 200
"#;

/// The same scenario as JSON.
const PROBE_JSON: &str = r#"{
  "version": 1,
  "name": "cli-test",
  "cluster": { "servers": 3 },
  "run": { "safety_ms": 1000, "liveness_ms": 1000 },
  "network": { "latency": { "dist": "uniform", "min_us": 500, "max_us": 1500 }, "loss": 0.01 },
  "workload": { "kind": "probe", "interval_ms": 10, "payload_bytes": 100 },
  "nemesis": { "script": [
    { "at_ms": 100, "kind": "crash", "target": 1, "restart_after_ms": 200 },
    { "at_ms": 400, "kind": "partition-isolate", "target": 0, "duration_ms": 200 }
  ] }
}"#;

// ---------------------------------------------------------------------------------------
// Bad input: exit 2, a message naming the file, line (and field), never a panic.
// ---------------------------------------------------------------------------------------

/// Exit 2, no run, and every needle in stderr.
fn assert_input_error(r: &Run, needles: &[&str]) {
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(
        !r.stdout.contains("trace hash"),
        "ran anyway:\n{}",
        r.show()
    );
    assert!(r.stderr.contains("error:"), "{}", r.show());
    for n in needles {
        assert!(r.stderr.contains(n), "stderr lacks {n:?}:\n{}", r.show());
    }
}

/// The error names `file` and one of `lines` (as `file:line:`).
fn assert_at_line(r: &Run, file: &str, lines: &[usize]) {
    assert!(
        lines
            .iter()
            .any(|l| r.stderr.contains(&format!("{file}:{l}:"))),
        "stderr does not point at {file}:{lines:?}:\n{}",
        r.show()
    );
}

/// Run `text` as a scenario file; expect an input error at one of `lines` with `needles`.
fn bad_scenario(name: &str, text: &str, lines: &[usize], needles: &[&str]) {
    let f = Temp::file(name, text);
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "1"]);
    assert_input_error(&r, needles);
    assert_at_line(&r, f.s(), lines);
}

const CLUSTER: &str = "version = 1\n[cluster]\nservers = 3\n";

#[test]
fn a_scenario_without_workload_runs_zookeeper_and_says_so() {
    let f = Temp::file(
        "bare.toml",
        &format!("{CLUSTER}[run]\nsafety_ms = 500\nliveness_ms = 2000\n"),
    );
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "1"]);
    assert_eq!(r.code, 0, "{}", r.show());
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("seed: 1 "), "{}", r.show());
    assert_eq!(
        lines[2],
        "system under test: ZooKeeper ensemble, 3 voting servers",
        "{}",
        r.show()
    );
    assert!(
        lines[3].starts_with("workload: writes (4 KV clients"),
        "{}",
        r.show()
    );
    let probe = Temp::file("probe.toml", PROBE_TOML);
    let p = zabsim(&["run", "--scenario", probe.s(), "--seed", "1"]);
    assert!(
        p.stdout
            .contains("system under test: the kernel probe (3 processes), not ZooKeeper"),
        "{}",
        p.show()
    );
}

#[test]
fn too_many_observers_blame_the_observers() {
    let f = Temp::file("obs.toml", &format!("{CLUSTER}observers = 62\n"));
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "1"]);
    assert_input_error(&r, &["cluster.observers", "at most 64", "3 + 62"]);
    let r = zabsim(&["run", "--seed", "1", "--set", "cluster.observers=60"]);
    assert_input_error(&r, &["--set cluster.observers=60", "cluster.observers"]);
}

#[test]
fn replay_without_a_seed_exits_2() {
    let f = Temp::file("noseed.toml", PROBE_TOML);
    let r = zabsim(&["replay", "--scenario", f.s()]);
    assert_input_error(&r, &["replay needs a seed"]);
    // A run directory's scenario.json records its seed: replay takes it.
    let dir = Temp::path("replay-dir");
    let run = zabsim(&["run", "--scenario", f.s(), "--seed", "9", "--out", dir.s()]);
    assert_eq!(run.code, 0, "{}", run.show());
    let file = dir.0.join("scenario.json");
    let again = zabsim(&[
        "replay",
        "--scenario",
        file.to_str().unwrap(),
        "--expect-hash",
        &run.hash(),
    ]);
    assert_eq!(again.code, 0, "{}", again.show());
    assert!(again.stdout.starts_with("seed: 9 "), "{}", again.show());
    // Without --expect-hash, the hash the run directory's outcome.json recorded is checked.
    let recorded = zabsim(&["replay", "--scenario", file.to_str().unwrap()]);
    assert_eq!(recorded.code, 0, "{}", recorded.show());
    assert!(
        recorded.stdout.contains("replay: trace hash matches"),
        "{}",
        recorded.show()
    );
    let outcome = dir.0.join("outcome.json");
    let text = std::fs::read_to_string(&outcome).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hash = value["outcome"]["trace_hash"].as_u64().unwrap();
    value["outcome"]["trace_hash"] = serde_json::json!(hash ^ 1);
    std::fs::write(&outcome, value.to_string()).unwrap();
    let tampered = zabsim(&["replay", "--scenario", file.to_str().unwrap()]);
    assert_eq!(tampered.code, 1, "{}", tampered.show());
    assert!(tampered.stdout.contains("MISMATCH"), "{}", tampered.show());
}

#[test]
fn missing_scenario_file() {
    let missing = Temp::path("missing.toml");
    let r = zabsim(&["run", "--scenario", missing.s(), "--seed", "1"]);
    assert_input_error(&r, &[missing.s(), "cannot read"]);
}

#[test]
fn malformed_toml() {
    bad_scenario(
        "malformed.toml",
        "version = 1\n[cluster\nservers = 3\n",
        &[2],
        &["expected `]`"],
    );
}

#[test]
fn unknown_field_lists_the_valid_names_with_line_and_column() {
    let text = format!("{CLUSTER}[network]\nlosss = 0.1\n");
    let f = Temp::file("unknown-field.toml", &text);
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "1"]);
    assert_input_error(
        &r,
        &[
            "unknown field `losss`",
            "`loss`",
            "`latency`",
            "`transport`",
            "`duplicate`",
        ],
    );
    assert!(
        r.stderr.contains(&format!("{}:5:1:", f.s())),
        "no file:line:column\n{}",
        r.show()
    );
    // An unknown top-level section too.
    bad_scenario(
        "unknown-section.toml",
        &format!("{CLUSTER}[netwerk]\nloss = 0.1\n"),
        &[4],
        &["unknown field `netwerk`", "`network`", "`nemesis`"],
    );
    // And an unknown field of a scripted fault: the valid fields of that fault kind.
    let text = format!(
        "{CLUSTER}\n[[nemesis.script]]\nat_ms = 10\nkind = \"pause\"\ntarget = 1\nduration_ms = 5\nvolume = 11\n"
    );
    bad_scenario(
        "unknown-fault-field.toml",
        &text,
        &[5, 10],
        &["unknown field `volume`", "duration_ms"],
    );
}

#[test]
fn wrong_type() {
    let f = Temp::file(
        "wrong-type.toml",
        "version = 1\n[cluster]\nservers = \"three\"\n",
    );
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "1"]);
    assert_input_error(&r, &["invalid type", "\"three\"", "expected u32"]);
    assert!(
        r.stderr.contains(&format!("{}:3:11:", f.s())),
        "{}",
        r.show()
    );
}

#[test]
fn probability_outside_zero_one() {
    bad_scenario(
        "probability.toml",
        &format!("{CLUSTER}[network]\nloss = 1.5\n"),
        &[5],
        &["1.5", "outside [0, 1]"],
    );
    bad_scenario(
        "negative-probability.toml",
        &format!("{CLUSTER}[network]\nduplicate = -0.1\n"),
        &[5],
        &["outside [0, 1]"],
    );
}

#[test]
fn zero_durations_that_make_no_sense() {
    let pause = format!(
        "{CLUSTER}[[nemesis.script]]\nat_ms = 10\nkind = \"pause\"\ntarget = 1\nduration_ms = 0\n"
    );
    bad_scenario(
        "pause-zero.toml",
        &pause,
        &[8],
        &["nemesis.script[0].duration_ms", "must be positive"],
    );
    bad_scenario(
        "safety-zero.toml",
        &format!("{CLUSTER}[run]\nsafety_ms = 0\n"),
        &[5],
        &["run.safety_ms", "must be positive"],
    );
    bad_scenario(
        "liveness-zero.toml",
        &format!("{CLUSTER}[run]\nliveness_ms = 0\n"),
        &[5],
        &["run.liveness_ms", "must be positive"],
    );
    let restart = format!(
        "{CLUSTER}[[nemesis.script]]\nat_ms = 10\nkind = \"crash\"\ntarget = 1\nrestart_after_ms = 0\n"
    );
    bad_scenario(
        "restart-zero.toml",
        &restart,
        &[8],
        &["nemesis.script[0].restart_after_ms", "must be positive"],
    );
    bad_scenario(
        "interval-zero.toml",
        &format!("{CLUSTER}[nemesis]\nrandom = true\ninterval_ms = 0\n"),
        &[6],
        &["nemesis.interval_ms", "must be positive"],
    );
}

#[test]
fn unknown_fault_kind_lists_the_kinds() {
    let text = format!("{CLUSTER}[[nemesis.script]]\nat_ms = 10\nkind = \"explode\"\ntarget = 1\n");
    bad_scenario(
        "unknown-kind.toml",
        &text,
        &[4, 6],
        &[
            "unknown variant `explode`",
            "`crash`",
            "`pause`",
            "`partition-ring`",
        ],
    );
}

#[test]
fn node_index_out_of_range() {
    let crash = format!("{CLUSTER}[[nemesis.script]]\nat_ms = 10\nkind = \"crash\"\ntarget = 5\n");
    bad_scenario(
        "target-range.toml",
        &crash,
        &[7],
        &["nemesis.script[0].target", "node 5", "out of range"],
    );
    let one_way = format!(
        "{CLUSTER}[[nemesis.script]]\nat_ms = 10\nkind = \"partition-one-way\"\nfrom = [0]\nto = [7]\nduration_ms = 5\n"
    );
    bad_scenario(
        "layout-range.toml",
        &one_way,
        &[4, 6, 8],
        &["nemesis.script[0]", "node 7", "out of range"],
    );
    let link = format!("{CLUSTER}[[network.link]]\nfrom = 0\nto = 9\n");
    bad_scenario(
        "link-range.toml",
        &link,
        &[6],
        &["network.link[0].to", "9", "out of range"],
    );
    // A fault after the safety phase is out of range in time.
    let late = format!(
        "{CLUSTER}[run]\nsafety_ms = 100\n[[nemesis.script]]\nat_ms = 100\nkind = \"heal\"\n"
    );
    bad_scenario(
        "late-fault.toml",
        &late,
        &[7],
        &["nemesis.script[0].at_ms", "safety phase"],
    );
}

#[test]
fn json_errors_name_file_line_and_field() {
    let f = Temp::file(
        "unknown.json",
        "{\"version\": 1,\n \"cluster\": {\"servers\": 3, \"bogus\": 1}}",
    );
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "1"]);
    assert_input_error(&r, &["unknown field `bogus`", "`servers`"]);
    assert_at_line(&r, f.s(), &[2]);
    let f = Temp::file(
        "truncated.json",
        "{\"version\": 1,\n \"cluster\": {\"servers\": 3}",
    );
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "1"]);
    assert_input_error(&r, &[f.s()]);
    assert_at_line(&r, f.s(), &[2]);
    let f = Temp::file(
        "zero.json",
        "{\"version\": 1,\n \"cluster\": {\"servers\": 3},\n \"run\": {\"safety_ms\": 0}}",
    );
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "1"]);
    assert_input_error(&r, &[f.s(), "run.safety_ms", "must be positive"]);
}

#[test]
fn bad_set_values() {
    let cases: [(&str, &[&str]); 6] = [
        (
            "network.loss=2",
            &["--set network.loss=2", "outside [0, 1]"],
        ),
        (
            "network.loss=abc",
            &["--set network.loss=abc", "invalid type"],
        ),
        (
            "run.safety_ms=0",
            &["--set run.safety_ms=0", "run.safety_ms", "must be positive"],
        ),
        ("run.safety_ms=-5", &["--set run.safety_ms=-5", "-5"]),
        (
            "nope.x=1",
            &["--set nope.x=1", "unknown field `nope`", "`network`"],
        ),
        ("noequals", &["--set noequals", "key=value"]),
    ];
    for (set, needles) in cases {
        let r = zabsim(&["run", "--seed", "1", "--set", set]);
        assert_input_error(&r, needles);
    }
    // Against a scenario file too: the message names the file and the override.
    let f = Temp::file("set-target.toml", PROBE_TOML);
    let r = zabsim(&[
        "run",
        "--scenario",
        f.s(),
        "--seed",
        "1",
        "--set",
        "nemesis.script=5",
    ]);
    assert_input_error(&r, &[f.s(), "--set nemesis.script=5"]);
}

#[test]
fn bad_seeds() {
    for seed in ["abc", "0xZZ", "99999999999999999999999", "1.5"] {
        let r = zabsim(&["run", "--seed", seed, "--set", "run.safety_ms=100"]);
        assert_input_error(&r, &["--seed", seed]);
    }
    // A negative seed is not a flag value clap accepts either.
    assert_input_error(&zabsim(&["run", "--seed", "-1"]), &[]);
    let r = zabsim_env(&["run", "--set", "run.safety_ms=100"], Some("seven"));
    assert_input_error(&r, &["ZABSIM_SEED", "seven"]);
    let r = zabsim(&[
        "replay",
        "--seed",
        "1",
        "--expect-hash",
        "xyz",
        "--set",
        "run.safety_ms=100",
    ]);
    assert_input_error(&r, &["--expect-hash", "xyz"]);
}

#[test]
fn unknown_command_and_option_exit_2() {
    assert_input_error(&zabsim(&["explode"]), &[]);
    assert_input_error(&zabsim(&["run", "--sede", "1"]), &[]);
}

// ---------------------------------------------------------------------------------------
// Runs, replays, outputs.
// ---------------------------------------------------------------------------------------

#[test]
fn help_exits_0() {
    let r = zabsim(&["--help"]);
    assert_eq!(r.code, 0, "{}", r.show());
    for word in ["run", "replay", "Exit codes"] {
        assert!(r.stdout.contains(word), "help lacks {word}:\n{}", r.show());
    }
    let r = zabsim(&["run", "--help"]);
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(
        r.stdout.contains("--seed") && r.stdout.contains("--set"),
        "{}",
        r.show()
    );
}

#[test]
fn run_prints_the_seed_first_and_a_trace_hash() {
    let mut args = vec!["run", "--seed", "7"];
    args.extend(SHORT);
    let r = zabsim(&args);
    assert_ne!(r.code, 2, "{}", r.show());
    assert_eq!(
        r.stdout.lines().next(),
        Some("seed: 7 (0x7)"),
        "{}",
        r.show()
    );
    let hash = r.hash();
    assert!(r.stdout.contains("verdict: "), "{}", r.show());

    // The same seed from ZABSIM_SEED (decimal or hex) and as hex on the flag.
    let mut env_args = vec!["run"];
    env_args.extend(SHORT);
    for seed in ["7", "0x7"] {
        let e = zabsim_env(&env_args, Some(seed));
        assert_eq!(
            e.stdout.lines().next(),
            Some("seed: 7 (0x7)"),
            "{}",
            e.show()
        );
        assert_eq!(e.hash(), hash);
    }
    let mut hex = vec!["run", "--seed", "0x7"];
    hex.extend(SHORT);
    assert_eq!(zabsim(&hex).hash(), hash);
    // --seed wins over ZABSIM_SEED.
    let mut both = vec!["run", "--seed", "7"];
    both.extend(SHORT);
    assert_eq!(zabsim_env(&both, Some("8")).hash(), hash);

    // A different seed, a different hash; a seed printed in decimal and hex.
    let mut other = vec!["run", "--seed", "0x10"];
    other.extend(SHORT);
    let o = zabsim(&other);
    assert_eq!(o.stdout.lines().next(), Some("seed: 16 (0x10)"));
    assert_ne!(o.hash(), hash);

    // Without any seed, a fresh one is chosen and printed first.
    let mut none = vec!["run"];
    none.extend(SHORT);
    let n = zabsim(&none);
    let first = n.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("seed: ") && first.contains(" (0x"),
        "{}",
        n.show()
    );
}

#[test]
fn replay_verifies_the_hash_and_prints_repro_on_mismatch() {
    let f = Temp::file("replay.toml", PROBE_TOML);
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "7"]);
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(
        r.stdout.contains("verdict: PASS") && r.repro().is_none(),
        "{}",
        r.show()
    );
    let hash = r.hash();

    let ok = zabsim(&[
        "replay",
        "--scenario",
        f.s(),
        "--seed",
        "7",
        "--expect-hash",
        &hash,
    ]);
    assert_eq!(ok.code, 0, "{}", ok.show());
    assert_eq!(ok.hash(), hash);
    assert!(
        ok.stdout.contains("matches") && ok.repro().is_none(),
        "{}",
        ok.show()
    );

    let wrong = if hash == "0000000000000000" {
        "0000000000000001"
    } else {
        "0000000000000000"
    };
    let bad = zabsim(&[
        "replay",
        "--scenario",
        f.s(),
        "--seed",
        "7",
        "--expect-hash",
        wrong,
    ]);
    assert_eq!(bad.code, 1, "{}", bad.show());
    assert!(bad.stdout.contains("MISMATCH"), "{}", bad.show());
    let repro = bad
        .repro()
        .unwrap_or_else(|| panic!("no REPRO line\n{}", bad.show()));
    assert!(
        repro.starts_with(&format!("zabsim replay --scenario {} ", f.s()))
            && repro.ends_with(&format!("--seed 7 --expect-hash {hash}")),
        "{repro}"
    );
    assert_eq!(
        bad.stdout.lines().last(),
        Some(format!("REPRO: {repro}").as_str()),
        "REPRO is not the last line"
    );

    // The REPRO line, run as printed, reproduces the run and passes.
    let again = run_repro(repro);
    assert_eq!(again.code, 0, "{}", again.show());
    assert_eq!(again.hash(), hash);
}

/// Run a `REPRO:` command line (`zabsim replay … --set 'k=v' …`).
fn run_repro(line: &str) -> Run {
    let words: Vec<String> = line
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    assert_eq!(words[0], "zabsim");
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    zabsim(&args)
}

#[test]
fn findings_exit_1_or_3_and_end_with_a_repro_line() {
    let f = Temp::file("findings.toml", PROBE_TOML);
    // Every message takes 2 s, longer than the liveness phase: no process hears back.
    let r = zabsim(&[
        "run",
        "--scenario",
        f.s(),
        "--seed",
        "3",
        "--set",
        "network.latency={dist=\"constant\",us=2000000}",
    ]);
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.stdout.contains("verdict: LIVENESS"), "{}", r.show());
    let repro = r
        .repro()
        .unwrap_or_else(|| panic!("no REPRO line\n{}", r.show()))
        .to_string();
    assert!(
        repro.contains("--set") && repro.contains(&format!("--expect-hash {}", r.hash())),
        "{repro}"
    );
    let again = run_repro(&repro);
    assert_eq!(
        (again.code, again.hash()),
        (1, r.hash()),
        "{}",
        again.show()
    );

    // A run over its event budget is inconclusive.
    let b = zabsim(&[
        "run",
        "--scenario",
        f.s(),
        "--seed",
        "3",
        "--set",
        "run.events_max=100",
    ]);
    assert_eq!(b.code, 3, "{}", b.show());
    assert!(
        b.stdout.contains("INCONCLUSIVE") && b.repro().is_some(),
        "{}",
        b.show()
    );
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn out_writes_the_resolved_scenario_and_the_outcome() {
    let f = Temp::file("out.toml", PROBE_TOML);
    let dir = Temp::path("out-dir");
    let r = zabsim(&["run", "--scenario", f.s(), "--seed", "7", "--out", dir.s()]);
    assert_eq!(r.code, 0, "{}", r.show());
    let hash = u64::from_str_radix(&r.hash(), 16).unwrap();

    let scenario = read_json(&dir.0.join("scenario.json"));
    assert_eq!(scenario["seed"], 7);
    assert_eq!(scenario["scenario"]["cluster"]["servers"], 3);
    assert_eq!(scenario["scenario"]["name"], "cli-test");
    let schedule = scenario["schedule"].as_array().expect("a schedule");
    assert_eq!(schedule.len(), 2);
    assert_eq!(
        (
            &schedule[0]["at_ms"],
            &schedule[0]["kind"],
            &schedule[0]["target"]
        ),
        (&100.into(), &"crash".into(), &1.into())
    );
    assert_eq!(schedule[1]["kind"], "partition-isolate");

    let outcome = read_json(&dir.0.join("outcome.json"));
    assert_eq!(outcome["outcome"]["trace_hash"].as_u64(), Some(hash));
    assert_eq!(outcome["outcome"]["seed"], 7);
    assert_eq!(outcome["outcome"]["verdict"]["verdict"], "pass");
    assert_eq!(
        outcome["outcome"]["faults"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(outcome["schedule"], scenario["schedule"]);

    // The resolved scenario, run again as a JSON scenario with its seed, reproduces the run.
    let again = Temp::file("resolved.json", &scenario["scenario"].to_string());
    let r2 = zabsim(&[
        "replay",
        "--scenario",
        again.s(),
        "--seed",
        "7",
        "--expect-hash",
        &r.hash(),
    ]);
    assert_eq!(r2.code, 0, "{}", r2.show());

    // --out into a path that cannot be a directory is an error, not a panic.
    let blocker = Temp::file("blocker", "not a directory");
    let bad_out = format!("{}/sub", blocker.s());
    let r3 = zabsim(&["run", "--scenario", f.s(), "--seed", "7", "--out", &bad_out]);
    assert_eq!(r3.code, 2, "{}", r3.show());
    assert!(r3.stderr.contains(&bad_out), "{}", r3.show());
}

#[test]
fn json_scenario_is_accepted_and_equals_toml() {
    let toml = Temp::file("same.toml", PROBE_TOML);
    let json = Temp::file("same.json", PROBE_JSON);
    let t = zabsim(&["run", "--scenario", toml.s(), "--seed", "11"]);
    let j = zabsim(&["run", "--scenario", json.s(), "--seed", "11"]);
    assert_eq!(j.code, 0, "{}", j.show());
    assert_eq!(j.hash(), t.hash());
    // Overrides apply to JSON scenarios too.
    let js = zabsim(&[
        "run",
        "--scenario",
        json.s(),
        "--seed",
        "11",
        "--set",
        "network.loss=0.2",
    ]);
    let ts = zabsim(&[
        "run",
        "--scenario",
        toml.s(),
        "--seed",
        "11",
        "--set",
        "network.loss=0.2",
    ]);
    assert_eq!(js.hash(), ts.hash());
    assert_ne!(js.hash(), j.hash());
}

#[test]
fn bundled_scenarios_run() {
    for name in [
        "default.toml",
        "probe.toml",
        "probe-script.toml",
        "zab-3.toml",
    ] {
        let path = format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
        let r = zabsim(&[
            "run",
            "--scenario",
            &path,
            "--seed",
            "5",
            "--set",
            "run.liveness_ms=1000",
        ]);
        assert_ne!(r.code, 2, "{name}:\n{}", r.show());
        r.hash();
    }
}

#[test]
fn one_kernel_bench_measurement_prints_its_events_and_seconds() {
    // What `zabsim bench` runs in a fresh process per kernel size (5,000,000 / 1,000
    // events here): `<events> <wall seconds>`.
    let run = zabsim(&["bench", "--quick", "1000", "--kernel-processes", "10"]);
    assert_eq!(run.code, 0, "{}", run.show());
    let words: Vec<&str> = run.stdout.split_whitespace().collect();
    assert_eq!(words.len(), 2, "{}", run.show());
    let events: u64 = words[0].parse().expect("an event count");
    let secs: f64 = words[1].parse().expect("seconds");
    assert_eq!(
        events, 5_001,
        "the budget's events, plus the one that hit it"
    );
    assert!(secs > 0.0);
}

#[test]
fn bench_only_runs_the_named_section_on_every_engine() {
    // `--only ensemble`: the ensemble figures on ZAB and on Raft and their ratio, nothing
    // of the other sections.
    let run = zabsim(&["bench", "--quick", "40", "--only", "ensemble"]);
    assert_eq!(run.code, 0, "{}", run.show());
    for line in [
        "  zab: verdict pass",
        "  raft: verdict pass",
        "  raft against zab: ",
    ] {
        assert!(
            run.stdout.contains(line),
            "{line:?} missing:\n{}",
            run.show()
        );
    }
    assert!(!run.stdout.contains("ci sweep"), "{}", run.show());
    let bad = zabsim(&["bench", "--only", "nonsense"]);
    assert_eq!(bad.code, 2, "{}", bad.show());
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    // `zabsim run | head -1` once head has gone: no panic message, exit 141 (as SIGPIPE).
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(["run", "--seed", "1"])
        .args(SHORT)
        .env_remove("ZABSIM_SEED")
        .stdout(writer)
        .output()
        .expect("zabsim runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

#[test]
fn a_run_directory_replays_from_its_own_scenario_json() {
    // `run --out DIR` writes the resolved scenario with its seed; `replay --scenario
    // DIR/scenario.json` replays that very run (overrides and planted bug included) with no
    // other flag; an explicit --seed still wins.
    let dir = Temp::path("rundir");
    let mut args = vec!["run", "--seed", "5", "--bug", "zk-1154", "--out", dir.s()];
    args.extend(SHORT);
    let first = zabsim(&args);
    let file = dir.0.join("scenario.json");
    let file = file.to_str().expect("utf-8 path");
    let again = zabsim(&["replay", "--scenario", file, "--expect-hash", &first.hash()]);
    assert_eq!(again.code, first.code, "{}", again.show());
    assert!(
        again.stdout.starts_with("seed: 5 (0x5)\n"),
        "{}",
        again.show()
    );
    assert_eq!(again.hash(), first.hash());
    let other = zabsim(&["replay", "--scenario", file, "--seed", "6"]);
    assert!(
        other.stdout.starts_with("seed: 6 (0x6)\n"),
        "{}",
        other.show()
    );
    assert_ne!(other.hash(), first.hash());
    // A run file whose scenario was edited into nonsense is an input error naming it.
    let text = std::fs::read_to_string(file).expect("scenario.json");
    let broken = Temp::file(
        "broken-run.json",
        &text.replacen("\"servers\": 5", "\"servers\": \"five\"", 1),
    );
    let bad = zabsim(&["replay", "--scenario", broken.s()]);
    assert_eq!(bad.code, 2, "{}", bad.show());
    assert!(bad.stderr.contains(broken.s()), "{}", bad.show());
    assert!(bad.stderr.contains("scenario"), "{}", bad.show());
}
