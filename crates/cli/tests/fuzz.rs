//! `zabsim fuzz` end to end: per-seed verdicts and trace hashes do not depend on `--jobs`,
//! a planted bug is found with exit 1 and a `REPRO:` line that replays the same finding,
//! and bad arguments exit 2; `--resume` completes a stopped sweep (a prefix of its results
//! file, a partial last line, a SIGINT) with each seed once and the uninterrupted results; a
//! regression seed whose pinned hash moved is a finding (exit 1) unless overrides make the
//! hash incomparable, and a bad `regressions.txt` line exits 2 naming file, line and field.

mod common;

use std::path::Path;
use std::process::Command;

fn zabsim(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(args)
        .output()
        .expect("zabsim runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("panicked"), "{text}");
    (out.status.code().expect("exit code"), text)
}

fn scenario(name: &str) -> String {
    format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn results(path: &std::path::Path) -> Vec<(u64, String, String)> {
    let mut v: Vec<(u64, String, String)> = std::fs::read_to_string(path)
        .expect("results written")
        .lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).expect("one JSON object per line");
            (
                j["seed"].as_u64().unwrap(),
                j["verdict"].as_str().unwrap().to_string(),
                j["trace_hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn verdicts_and_hashes_do_not_depend_on_jobs() {
    let dir = std::env::temp_dir().join(format!("zabsim-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (one, two) = (dir.join("one.jsonl"), dir.join("two.jsonl"));
    let _ = (std::fs::remove_file(&one), std::fs::remove_file(&two));
    let s = scenario("zab-3.toml");
    let (c1, _) = zabsim(&[
        "fuzz",
        "--scenario",
        &s,
        "--seeds",
        "16",
        "--jobs",
        "1",
        "--results",
        one.to_str().unwrap(),
    ]);
    let (c2, out) = zabsim(&[
        "fuzz",
        "--scenario",
        &s,
        "--seeds",
        "16",
        "--jobs",
        "2",
        "--results",
        two.to_str().unwrap(),
    ]);
    assert_eq!((c1, c2), (0, 0), "{out}");
    let (a, b) = (results(&one), results(&two));
    assert_eq!(a.len(), 16);
    assert_eq!(a, b);
    assert!(a.iter().all(|r| r.1 == "pass"));
    assert!(
        out.contains("summary: 16 seeds (0 regression): pass 16"),
        "{out}"
    );
}

#[test]
fn a_planted_bug_is_found_and_its_repro_line_replays_it() {
    let s = scenario("zab-5.toml");
    let (code, out) = zabsim(&[
        "fuzz",
        "--scenario",
        &s,
        "--set",
        "zab.bugs=[\"zk-1154\"]",
        "--set",
        "nemesis.kinds=[\"crash\",\"crash-leader\",\"partition-halves\",\"partition-isolate-leader\"]",
        "--seeds",
        "12",
        "--seed-start",
        "1",
        "--jobs",
        "2",
    ]);
    assert_eq!(code, 1, "{out}");
    let repro = out
        .lines()
        .find_map(|l| l.strip_prefix("REPRO: zabsim "))
        .expect("a REPRO line");
    // The REPRO line quotes its --set values for a shell; undo that for a direct call.
    let mut args: Vec<String> = Vec::new();
    let mut rest = repro;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('\'') {
            let end = r.find('\'').unwrap();
            args.push(r[..end].to_string());
            rest = &r[end + 1..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            args.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, replay) = zabsim(&args);
    assert_eq!(code, 1, "{replay}");
    assert!(replay.contains("replay: trace hash matches"), "{replay}");
    assert!(replay.contains("verdict: SAFETY"), "{replay}");
}

#[test]
fn bad_arguments_exit_2() {
    assert_eq!(zabsim(&["fuzz", "--seeds", "0"]).0, 2);
    assert_eq!(
        zabsim(&["fuzz", "--scenario", "/nonexistent.toml", "--seeds", "1"]).0,
        2
    );
}

#[test]
fn shards_split_the_seeds_and_together_cover_the_sweep() {
    let dir = std::env::temp_dir().join(format!("zabsim-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = scenario("zab-3.toml");
    let mut all = Vec::new();
    for i in 0..3 {
        let file = dir.join(format!("shard{i}.jsonl"));
        let _ = std::fs::remove_file(&file);
        let shard = format!("{i}/3");
        let (code, out) = zabsim(&[
            "fuzz",
            "--scenario",
            &s,
            "--seeds",
            "3",
            "--seed-start",
            "10",
            "--shard",
            &shard,
            "--results",
            file.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{out}");
        let seeds: Vec<u64> = results(&file).into_iter().map(|r| r.0).collect();
        assert_eq!(seeds, (0..3).map(|k| 10 + i + 3 * k).collect::<Vec<u64>>());
        all.extend(seeds);
    }
    all.sort();
    assert_eq!(all, (10..19).collect::<Vec<u64>>());
}

#[test]
fn bad_shard_and_time_arguments_exit_2() {
    for args in [
        ["fuzz", "--shard", "3/3"],
        ["fuzz", "--shard", "1-3"],
        ["fuzz", "--time", "5x"],
        ["fuzz", "--time", "0s"],
    ] {
        let (code, out) = zabsim(&args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.contains("--shard") || out.contains("--time"), "{out}");
    }
}

#[test]
fn a_time_budget_bounds_the_sweep() {
    let (code, out) = zabsim(&[
        "fuzz",
        "--scenario",
        &scenario("zab-3.toml"),
        "--time",
        "1s",
    ]);
    assert_eq!(code, 0, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("summary:"))
        .expect("summary");
    let n: u64 = line["summary: ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(n >= 1, "{line}");
}

#[test]
fn a_bug_flag_is_found_stops_the_sweep_and_its_repro_replays_it() {
    let s = scenario("zab-3.toml");
    let (code, out) = zabsim(&[
        "fuzz",
        "--scenario",
        &s,
        "--seeds",
        "60",
        "--bug",
        "zk-1154",
        "--stop-on-finding",
    ]);
    assert_eq!(code, 1, "{out}");
    let repro = out
        .lines()
        .find_map(|l| l.strip_prefix("REPRO: zabsim "))
        .expect("a REPRO line");
    assert!(repro.contains("--bug zk-1154"), "{repro}");
    let summary = out.lines().find(|l| l.starts_with("summary:")).unwrap();
    assert!(
        !summary.starts_with("summary: 60 "),
        "stopped early: {summary}"
    );
    let args: Vec<&str> = repro.split_whitespace().collect();
    let (code, replay) = zabsim(&args);
    assert_eq!(code, 1, "{replay}");
    assert!(replay.contains("replay: trace hash matches"), "{replay}");
}

#[test]
fn regression_seeds_run_first() {
    let (code, out) = zabsim(&[
        "fuzz",
        "--scenario",
        &scenario("default.toml"),
        "--seeds",
        "1",
        "--set",
        "run.safety_ms=2000",
    ]);
    assert!(out.contains("regression seeds first"), "{out}");
    let summary = out.lines().find(|l| l.starts_with("summary:")).unwrap();
    assert!(summary.contains("(1 regression)"), "{summary}");
    let _ = code;
}

/// Run `fuzz` on zab-3.toml from seed 20 (`seeds` of them: per shard with `--shard`) with
/// extra arguments, results into `file`.
fn sweep_into(file: &std::path::Path, seeds: &str, extra: &[&str]) {
    let _ = std::fs::remove_file(file);
    let s = scenario("zab-3.toml");
    let mut args = vec![
        "fuzz",
        "--scenario",
        &s,
        "--seeds",
        seeds,
        "--seed-start",
        "20",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--results", file.to_str().unwrap()]);
    let (code, out) = zabsim(&args);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn merged_shards_equal_the_unsharded_sweep_byte_for_byte() {
    let dir = std::env::temp_dir().join(format!("zabsim-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let whole = dir.join("whole.jsonl");
    sweep_into(&whole, "6", &["--jobs", "2"]);
    let mut shards = Vec::new();
    for i in 0..2 {
        let file = dir.join(format!("shard{i}.jsonl"));
        sweep_into(&file, "3", &["--shard", &format!("{i}/2")]);
        shards.push(file.to_str().unwrap().to_string());
    }
    let merged = dir.join("merged.jsonl");
    let mut args = vec!["merge".to_string()];
    args.extend(shards.iter().rev().cloned());
    args.extend(["--out".to_string(), merged.to_str().unwrap().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = zabsim(&args);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("summary: 6 seeds"), "{out}");
    let reference = dir.join("reference.jsonl");
    let (code, out) = zabsim(&[
        "merge",
        whole.to_str().unwrap(),
        "--out",
        reference.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let merged_text = std::fs::read_to_string(&merged).unwrap();
    assert_eq!(merged_text, std::fs::read_to_string(&reference).unwrap());
    assert_eq!(merged_text.lines().count(), 6);
    // A line that is not a result is refused with its file and line.
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        format!("{}\n{{\"seed\": 1}}\n", merged_text.lines().next().unwrap()),
    )
    .unwrap();
    let (code, out) = zabsim(&["merge", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("bad.jsonl:2"), "{out}");
}

#[test]
fn degenerate_flags_exit_2_with_one_line() {
    for (flag, args) in [
        ("--jobs", &["fuzz", "--jobs", "0"][..]),
        ("--time", &["fuzz", "--time", "0ms"][..]),
        ("--time", &["fuzz", "--time", "0s"][..]),
        ("--seeds", &["fuzz", "--seeds", "0"][..]),
        ("--resume", &["fuzz", "--resume"][..]),
    ] {
        let run = common::zabsim(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.show());
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.show());
        assert!(run.stderr.contains(flag), "{args:?}: {}", run.show());
    }
}

/// A results file's lines as sorted (regression, seed, verdict, trace hash); every line is
/// whole (the file ends with a newline) and no seed is there twice.
fn judged(path: &std::path::Path) -> Vec<(bool, u64, String, String)> {
    let text = std::fs::read_to_string(path).expect("results written");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "a partial last line"
    );
    let mut v: Vec<(bool, u64, String, String)> = text
        .lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).expect("one JSON object per line");
            let s = |k: &str| j[k].as_str().unwrap().to_string();
            let regression = j["regression"].as_bool().unwrap();
            (
                regression,
                j["seed"].as_u64().unwrap(),
                s("verdict"),
                s("trace_hash"),
            )
        })
        .collect();
    v.sort();
    let keys: std::collections::BTreeSet<(bool, u64)> = v.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(keys.len(), v.len(), "a seed judged twice");
    v
}

/// `file` in this test process's temporary directory `zabsim-<name>-<pid>`, not there yet.
fn fresh_file(name: &str, file: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zabsim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    let _ = std::fs::remove_file(&path);
    path
}

/// `fuzz` of ci.toml (10 seeds and its regression seeds), results into `file`, with extra
/// arguments.
fn ci_sweep(file: &std::path::Path, extra: &[&str]) -> common::Run {
    let s = scenario("ci.toml");
    let mut args = vec!["fuzz", "--scenario", &s, "--seeds", "10", "--jobs", "2"];
    args.extend_from_slice(&["--results", file.to_str().unwrap()]);
    args.extend_from_slice(extra);
    common::zabsim(&args)
}

#[test]
fn a_resumed_sweep_runs_each_seed_once_with_the_uninterrupted_results() {
    let whole = fresh_file("resume", "whole.jsonl");
    let dir = whole.parent().unwrap();
    let run = ci_sweep(&whole, &[]);
    assert_eq!(run.code, 0, "{}", run.show());
    let reference = judged(&whole);
    let text = std::fs::read_to_string(&whole).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 14, "10 seeds and 4 regression seeds");
    let prefix = lines[..6].concat();
    // A prefix of whole lines, then the same with half of the next line after it.
    for (name, partial) in [("prefix", ""), ("partial", &lines[6][..lines[6].len() / 2])] {
        let file = dir.join(format!("{name}.jsonl"));
        std::fs::write(&file, format!("{prefix}{partial}")).unwrap();
        let run = ci_sweep(&file, &["--resume"]);
        assert_eq!(run.code, 0, "{name}: {}", run.show());
        assert_eq!(judged(&file), reference, "{name}");
        assert!(run.stdout.contains("6 seeds skipped"), "{}", run.show());
        assert!(
            run.stdout.contains("summary: 14 seeds (4 regression)"),
            "{}",
            run.show()
        );
        let dropped = run.stderr.contains("partial line");
        assert_eq!(dropped, !partial.is_empty(), "{name}: {}", run.show());
    }
}

#[test]
fn resume_refuses_a_line_of_another_scenario_or_not_a_result() {
    let dir = std::env::temp_dir().join(format!("zabsim-resume-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let line = r#"{"seed":1,"verdict":"pass","trace_hash":"00000000000000ab","detail":null,"events":9,"figures":[],"regression":false,"scenario":"ci (CI)"}"#;
    let line = line.replace("CI", &scenario("ci.toml"));
    let other = line.replace("ci (", "zab-3 (");
    // The same file with an override is another sweep too.
    let lossy = line.replace(")\"}", ") --set network.loss=0.1\"}");
    assert_ne!(lossy, line);
    let cases = [
        ("other", other.as_str()),
        ("overridden", lossy.as_str()),
        ("garbage", "{\"seed\": 2}"),
    ];
    for (name, second) in cases {
        let file = dir.join(format!("{name}.jsonl"));
        std::fs::write(&file, format!("{line}\n{second}\n")).unwrap();
        let run = ci_sweep(&file, &["--resume"]);
        assert_eq!(run.code, 2, "{name}: {}", run.show());
        assert!(
            run.stderr.contains(&format!("{name}.jsonl:2")),
            "{}",
            run.show()
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2);
    }
}

#[test]
fn sigint_stops_the_sweep_line_complete_and_resume_finishes_it() {
    let file = fresh_file("sigint", "r.jsonl");
    let s = scenario("ci.toml");
    let args = ["fuzz", "--scenario", &s, "--seeds", "2000", "--jobs", "2"];
    let child = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(args)
        .args(["--results", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("zabsim starts");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(
        stdout.contains("stopped by SIGINT") && stdout.contains("summary: "),
        "{stdout}"
    );
    let before = judged(&file).len();
    assert!(before < 2004, "stopped early: {before}");
    let mut resume: Vec<&str> = args.to_vec();
    resume.extend(["--results", file.to_str().unwrap(), "--resume"]);
    let run = common::zabsim(&resume);
    assert_eq!(run.code, 0, "{}", run.show());
    assert!(
        run.stdout.contains(&format!("{before} seeds skipped")),
        "{}",
        run.show()
    );
    let after = judged(&file);
    assert_eq!(
        after.len(),
        2004,
        "2,000 seeds and 4 regression seeds, each once"
    );
    let _ = std::fs::remove_file(&file);
}

/// A fresh directory holding a copy of zab-3.toml and a `regressions.txt` of `lines`; the
/// copy's path.
fn zab3_with_regressions(name: &str, lines: &str) -> String {
    let copy = fresh_file(&format!("regressions-{name}"), "zab-3.toml");
    std::fs::copy(scenario("zab-3.toml"), &copy).unwrap();
    std::fs::write(copy.with_file_name("regressions.txt"), lines).unwrap();
    copy.to_str().unwrap().to_string()
}

#[test]
fn a_regression_seed_whose_hash_moved_is_a_finding_unless_overridden() {
    let line = |hash: &str| format!("# pinned\nzab-3.toml 5 {hash} planted: a seed\n");
    let s = zab3_with_regressions("moved", &line("0123456789abcdef"));
    let sweep = [
        "fuzz",
        "--scenario",
        &s,
        "--seeds",
        "1",
        "--seed-start",
        "100",
    ];
    let run = common::zabsim(&sweep);
    assert_eq!(run.code, 1, "{}", run.show());
    assert!(
        run.stdout
            .contains("summary: 2 seeds (1 regression): pass 1, regression-moved 1"),
        "{}",
        run.show()
    );
    let finding = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("finding: seed 5 regression-moved: "))
        .unwrap_or_else(|| panic!("no finding\n{}", run.show()));
    let hash = finding
        .split("its trace hash is now ")
        .nth(1)
        .and_then(|rest| rest.get(..16))
        .expect("the new hash");
    assert!(
        finding.contains("regressions.txt:2 pins 0123456789abcdef"),
        "{finding}"
    );
    // The REPRO line expects the pinned hash: the replay shows the mismatch.
    let repro = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("REPRO: zabsim "))
        .expect("a REPRO line");
    assert!(
        repro.ends_with("--seed 5 --expect-hash 0123456789abcdef"),
        "{repro}"
    );
    let replay = common::zabsim(&repro.split_whitespace().collect::<Vec<_>>());
    assert_eq!(replay.code, 1, "{}", replay.show());
    assert!(
        replay.stdout.contains(&format!("got {hash}")),
        "{}",
        replay.show()
    );
    // With an override the hash is not comparable: only the verdict counts.
    let mut overridden = sweep.to_vec();
    overridden.extend(["--set", "network.loss=0.02"]);
    let run = common::zabsim(&overridden);
    assert_eq!(run.code, 0, "{}", run.show());
    // Pinned to the hash it has, the seed replays.
    std::fs::write(Path::new(&s).with_file_name("regressions.txt"), line(hash)).unwrap();
    let run = common::zabsim(&sweep);
    assert_eq!(run.code, 0, "{}", run.show());
    assert!(
        run.stdout.contains("(1 regression): pass 2"),
        "{}",
        run.show()
    );
}

#[test]
fn a_bad_regressions_line_exits_2_naming_file_line_and_field() {
    let s = zab3_with_regressions("bad", "# no hash\nzab-3.toml 5 planted: a seed\n");
    let run = common::zabsim(&["fuzz", "--scenario", &s, "--seeds", "1"]);
    assert_eq!(run.code, 2, "{}", run.show());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.show());
    assert!(
        run.stderr
            .contains("regressions.txt:2: trace hash `planted:` is not 16 hex digits"),
        "{}",
        run.show()
    );
}
