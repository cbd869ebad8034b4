//! `zabsim report RESULTS.jsonl` end to end: a results file written by `zabsim fuzz` charts
//! into `--out` (or `<stem>-report/` beside the file) with exit 0, non-empty SVG and PNG
//! charts and an index.html; a malformed or empty results file, or a path that is neither a
//! run directory nor a file, exits 2 naming the file (and line) — never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

const CHARTS: [&str; 4] = [
    "sweep-verdicts",
    "sweep-election-cdf",
    "sweep-events-cdf",
    "sweep-elections",
];

fn zabsim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(args)
        .output()
        .expect("zabsim runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains("panicked") && !stderr.contains("panicked"),
        "zabsim panicked:\n{stdout}\n{stderr}"
    );
    (out.status.code().expect("exit code"), stdout, stderr)
}

fn scenario(name: &str) -> String {
    format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("zabsim-report-sweep-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn check_report(dir: &Path) -> String {
    for stem in CHARTS {
        for ext in ["svg", "png"] {
            let path = dir.join(format!("{stem}.{ext}"));
            let len = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .len();
            assert!(len > 1_000, "{} has {len} bytes", path.display());
        }
    }
    let index = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    for stem in CHARTS {
        assert!(
            index.contains(&format!("<img src=\"{stem}.svg\"")),
            "{stem}"
        );
    }
    index
}

#[test]
fn a_fuzz_sweep_charts_with_exit_0() {
    let tmp = Scratch::new("ok");
    let results = tmp.0.join("r.jsonl");
    let (code, out, err) = zabsim(&[
        "fuzz",
        "--scenario",
        &scenario("ci.toml"),
        "--seeds",
        "6",
        "--jobs",
        "2",
        "--no-regressions",
        "--results",
        s(&results),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let out_dir = tmp.0.join("charts");
    let (code, out, err) = zabsim(&["report", s(&results), "--out", s(&out_dir)]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("report: 9 files"), "{out}");
    let index = check_report(&out_dir);
    assert!(index.contains("<th>seeds</th><td>6</td>"), "{index}");
    assert!(index.contains("<th>seed range</th><td>0 – 5 "), "{index}");
    assert!(index.contains("PASS</span>: every seed passed"));

    // Without --out: beside the results file.
    let (code, out, err) = zabsim(&["report", s(&results)]);
    assert_eq!(code, 0, "{out}\n{err}");
    let beside = check_report(&tmp.0.join("r-report"));
    assert_eq!(beside, index, "equal inputs, equal index");
}

#[test]
fn a_malformed_results_file_exits_2_with_file_and_line() {
    let tmp = Scratch::new("bad");
    let results = tmp.0.join("bad.jsonl");
    let good = r#"{"seed":1,"verdict":"pass","trace_hash":"00000000000000aa","detail":null,"events":5,"figures":[],"regression":false,"repro":null}"#;
    std::fs::write(&results, format!("{good}\n{{\"seed\": 2, \"verdict\n")).unwrap();
    let (code, out, err) = zabsim(&["report", s(&results), "--out", s(&tmp.0.join("o"))]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("bad.jsonl:2:"), "{err}");
    assert!(err.contains("not a `zabsim fuzz --results` line"), "{err}");

    std::fs::write(&results, "").unwrap();
    let (code, _, err) = zabsim(&["report", s(&results)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.jsonl: no result lines"), "{err}");

    let missing = tmp.0.join("missing.jsonl");
    let (code, _, err) = zabsim(&["report", s(&missing)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("neither a run directory") && err.contains("missing.jsonl"),
        "{err}"
    );
}
