//! `zabsim zk-script`: every conformance script in `tests/zk_conformance/` gives, line for
//! line, what a real Apache ZooKeeper 3.8.0 answered (compared as JSON values), and
//! malformed scripts exit 2 naming the line.

use std::path::{Path, PathBuf};
use std::process::Command;

use sim::zkscript::{conformance_scripts, json_lines};

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zk_conformance")
}

fn zk_script(file: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .arg("zk-script")
        .arg(file)
        .output()
        .expect("zabsim runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

#[test]
fn every_conformance_script_matches_real_zookeeper() {
    let scripts = conformance_scripts(&conformance_dir()).expect("the conformance folder");
    assert!(scripts.len() >= 20, "the suite is there: {scripts:?}");
    for script in scripts {
        let expected_path = script.with_extension("expected.jsonl");
        let expected = json_lines(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
        let (code, stdout, stderr) = zk_script(&script);
        assert_eq!(code, 0, "{}: {stderr}", script.display());
        let got = json_lines(&stdout).unwrap();
        let lines: Vec<String> = std::fs::read_to_string(&script)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        assert_eq!(
            got.len(),
            expected.len(),
            "{}: line count",
            script.display()
        );
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "{} line {}: {}", script.display(), i + 1, lines[i]);
        }
        // Byte for byte too: keys in the recorded order, so a plain diff shows no noise.
        let expected_text = std::fs::read_to_string(&expected_path).unwrap();
        assert_eq!(stdout, expected_text, "{}: bytes", script.display());
    }
}

fn malformed(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("zabsim-zkscript-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let (code, stdout, stderr) = zk_script(&file);
    assert_eq!(code, 2, "{name}: {stderr}");
    assert!(
        stdout.is_empty(),
        "{name}: no results on bad input: {stdout}"
    );
    assert!(
        stderr.contains(&format!("{}:", file.display())),
        "{name} names the file: {stderr}"
    );
    stderr
}

#[test]
fn malformed_scripts_exit_2_with_the_line_number() {
    let good = r#"{"session":0,"op":"create","path":"/a","data":"x","mode":"persistent"}"#;
    let cases = [
        (
            "bad-json",
            format!("{good}\n{{\"session\":0,"),
            ":2: bad JSON",
        ),
        (
            "unknown-op",
            format!("{good}\n\n{{\"session\":0,\"op\":\"frobnicate\",\"path\":\"/a\"}}"),
            ":3: unknown op \"frobnicate\"",
        ),
        (
            "unknown-mode",
            r#"{"session":0,"op":"create","path":"/a","mode":"temporary"}"#.to_string(),
            ":1: field \"mode\": unknown create mode",
        ),
        (
            "missing-path",
            format!("{good}\n{{\"session\":1,\"op\":\"get\"}}"),
            ":2: missing field \"path\"",
        ),
        (
            "missing-session",
            r#"{"op":"get","path":"/a"}"#.to_string(),
            ":1: missing field \"session\"",
        ),
        (
            "missing-op",
            r#"{"session":0,"path":"/a"}"#.to_string(),
            ":1: missing field \"op\"",
        ),
        (
            "wrong-type",
            r#"{"session":0,"op":"set","path":"/a","version":"x"}"#.to_string(),
            ":1: field \"version\" must be a 32-bit integer",
        ),
        (
            "unknown-field",
            r#"{"session":0,"op":"get","path":"/a","watch":true}"#.to_string(),
            ":1: unknown field \"watch\"",
        ),
        (
            "not-an-object",
            "[1,2]".to_string(),
            ":1: a line must be a JSON object",
        ),
    ];
    for (name, text, expect) in cases {
        let stderr = malformed(name, &text);
        assert!(stderr.contains(expect), "{name}: {stderr}");
    }
}

#[test]
fn a_missing_script_exits_2() {
    let (code, _, stderr) = zk_script(Path::new("/nonexistent/script.jsonl"));
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/script.jsonl"), "{stderr}");
}
