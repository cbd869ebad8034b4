//! Acceptance tests of `zabsim check`: every Porcupine etcd and kv history gets the verdict
//! of `expected.tsv`; exit codes 0 (all linearizable), 1 (a violation), 2 (missing file,
//! malformed file with `FILE:LINE`, unknown model) and 3 (budget exhausted); `--json`
//! prints one parseable object per file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../lincheck/testdata/porcupine"
);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn zabsim(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(args)
        .output()
        .expect("spawn zabsim");
    Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn data(relative: &str) -> String {
    Path::new(DATA)
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

/// `expected.tsv`: name (`etcd_NNN` or `kv/cNN-xx`) → `linearizable` / `not-linearizable`.
fn expected() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(data("expected.tsv")).expect("expected.tsv");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (name, verdict) = l.split_once('\t').expect("name<TAB>verdict");
            (name.to_string(), verdict.trim().to_string())
        })
        .collect()
}

/// The verdict lines (`FILE: verdict`) of a non-JSON run, file → verdict in tsv spelling.
fn verdicts(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| {
            let (file, verdict) = l.rsplit_once(": ").expect("FILE: verdict");
            (file.to_string(), verdict.replace(' ', "-"))
        })
        .collect()
}

fn check_all(model: &str, format: &str, files: &[(String, String)]) {
    let mut args = vec!["check", "--model", model, "--format", format];
    args.extend(files.iter().map(|f| f.0.as_str()));
    let run = zabsim(&args);
    let got = verdicts(&run.stdout);
    assert_eq!(got.len(), files.len(), "{}", run.stderr);
    for (file, want) in files {
        assert_eq!(got.get(file), Some(want), "{file}");
    }
    let any_bad = files.iter().any(|f| f.1 == "not-linearizable");
    assert_eq!(run.code, if any_bad { 1 } else { 0 }, "{}", run.stderr);
}

#[test]
fn every_expected_verdict() {
    let expected = expected();
    let mut etcd = Vec::new();
    let mut kv = Vec::new();
    for (name, verdict) in &expected {
        if let Some(kv_name) = name.strip_prefix("kv/") {
            kv.push((data(&format!("kv/{kv_name}.txt")), verdict.clone()));
        } else {
            etcd.push((data(&format!("jepsen/{name}.log")), verdict.clone()));
        }
    }
    assert_eq!(etcd.len(), 102);
    assert_eq!(kv.len(), 6);
    check_all("register", "porcupine-etcd", &etcd);
    check_all("kv", "porcupine-kv", &kv);
}

#[test]
fn exit_codes_for_ok_and_mixed_batches() {
    let ok = [data("jepsen/etcd_002.log"), data("jepsen/etcd_005.log")];
    let run = zabsim(&[
        "check",
        "--model",
        "register",
        "--format",
        "porcupine-etcd",
        &ok[0],
        &ok[1],
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let mixed = [data("kv/c01-ok.txt"), data("kv/c01-bad.txt")];
    let run = zabsim(&[
        "check",
        "--model",
        "kv",
        "--format",
        "porcupine-kv",
        &mixed[0],
        &mixed[1],
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    // The explanation is printed, indented, below the failing file's line.
    assert!(
        run.stdout.contains("could not linearize next"),
        "{}",
        run.stdout
    );
}

#[test]
fn malformed_file_names_file_and_line() {
    let source = std::fs::read_to_string(data("jepsen/etcd_002.log")).expect("etcd_002");
    let mut lines: Vec<&str> = source.lines().collect();
    lines[2] = "INFO  jepsen.util - 3\t:invoke\t:frobnicate\t7";
    let dir: PathBuf = std::env::temp_dir().join(format!("zabsim-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("broken.log");
    std::fs::write(&file, lines.join("\n")).expect("write temp file");
    let file = file.to_string_lossy().into_owned();
    let run = zabsim(&[
        "check",
        "--model",
        "register",
        "--format",
        "porcupine-etcd",
        &file,
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("{file}:3: ")),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_file_and_unknown_model_exit_2() {
    let missing = data("jepsen/no_such_file.log");
    let run = zabsim(&[
        "check",
        "--model",
        "register",
        "--format",
        "porcupine-etcd",
        &missing,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&missing), "{}", run.stderr);

    let file = data("jepsen/etcd_002.log");
    let run = zabsim(&[
        "check",
        "--model",
        "zk",
        "--format",
        "porcupine-etcd",
        &file,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot read format `porcupine-etcd`"),
        "{}",
        run.stderr
    );

    let run = zabsim(&[
        "check",
        "--model",
        "kv",
        "--format",
        "porcupine-etcd",
        &file,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn empty_and_operationless_histories_exit_2() {
    let dir = std::env::temp_dir().join(format!("zabsim-check-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.log");
    std::fs::write(&empty, "").unwrap();
    // A zabsim history with events but no operation: a watch event only.
    let opless = dir.join("opless.jsonl");
    let watch = r#"{"event":"watch","process":12,"session":3,"time_ns":5,"watch":{"kind":"node_children_changed","path":"/queue","zxid":4294967323}}"#;
    std::fs::write(&opless, format!("{watch}\n")).unwrap();
    let cases = [
        ("register", "porcupine-etcd", &empty),
        ("kv", "porcupine-kv", &empty),
        ("zk", "zabsim", &empty),
        ("zk", "zabsim", &opless),
    ];
    for (model, format, file) in cases {
        let path = file.to_str().unwrap();
        let run = zabsim(&["check", "--model", model, "--format", format, path]);
        assert_eq!(run.code, 2, "{model} {path}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(path) && run.stderr.contains("no operations"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains("linearizable"), "{}", run.stdout);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn budget_exhausted_is_unknown_exit_3() {
    let file = data("jepsen/etcd_002.log");
    let run = zabsim(&[
        "check",
        "--model",
        "register",
        "--format",
        "porcupine-etcd",
        "--budget-steps",
        "5000",
        &file,
    ]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(&format!("{file}: unknown\n")),
        "{}",
        run.stdout
    );
}

#[test]
fn json_output_parses() {
    let files = [data("kv/c10-ok.txt"), data("kv/c10-bad.txt")];
    let run = zabsim(&[
        "check",
        "--model",
        "kv",
        "--format",
        "porcupine-kv",
        "--json",
        &files[0],
        &files[1],
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let objects: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["file"], files[0].as_str());
    assert_eq!(objects[0]["verdict"], "linearizable");
    assert!(objects[0]["ms"].is_number());
    assert_eq!(objects[1]["file"], files[1].as_str());
    assert_eq!(objects[1]["verdict"], "not-linearizable");
    assert!(objects[1]["explanation"].is_string());
}

/// A simulated run's history checks out; the same history with one read changed to data
/// that never existed is a violation; a malformed line is exit 2 with its number.
#[test]
fn zk_histories_from_a_run_are_checked() {
    let dir = std::env::temp_dir().join(format!("zabsim-zkcheck-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let scenario = format!("{}/../../scenarios/ci.toml", env!("CARGO_MANIFEST_DIR"));
    let run = zabsim(&[
        "run",
        "--scenario",
        &scenario,
        "--seed",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let history = dir.join("history.jsonl");
    let text = std::fs::read_to_string(&history).expect("history written");
    let check = |file: &std::path::Path| {
        zabsim(&[
            "check",
            "--model",
            "zk",
            "--format",
            "zabsim",
            file.to_str().unwrap(),
        ])
    };
    let ok = check(&history);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains(": linearizable"), "{}", ok.stdout);
    // Plant a stale/impossible read: the first ok get_data now returns data never written.
    let mut planted = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if !planted && l.contains("\"get_data\"") && l.contains("\"type\":\"ok\"") {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["result"]["data"]["data"] = serde_json::json!([120, 120, 120]);
                v["result"]["data"]["stat"]["data_length"] = serde_json::json!(3);
                planted = true;
                v.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(planted, "the run has a read to plant into");
    let bad = dir.join("planted.jsonl");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let caught = check(&bad);
    assert_eq!(caught.code, 1, "{}{}", caught.stdout, caught.stderr);
    assert!(
        caught.stdout.contains("not linearizable"),
        "{}",
        caught.stdout
    );
    let broken = dir.join("broken.jsonl");
    std::fs::write(&broken, format!("{}\n{{\"event\":", lines[0])).unwrap();
    let unreadable = check(&broken);
    assert_eq!(unreadable.code, 2);
    assert!(
        unreadable.stderr.contains("broken.jsonl:2:"),
        "{}",
        unreadable.stderr
    );
}
