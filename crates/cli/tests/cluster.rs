//! The cluster sweep files (scripts/k8s-fuzz-job.yaml, scripts/slurm-fuzz.sh,
//! .github/workflows/fuzz-shards.yml) run as shipped: each one's shard command, taken from
//! between its marker comments, runs here for every shard index with the index given the way
//! that engine gives it (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, `${{ matrix.shard }}`),
//! only the seed count made small and the results directory moved to a temporary one; the
//! merged shards must equal, byte for byte, the merge of the same command unsharded.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Seeds per shard in the test (the files' counts are for real sweeps).
const SEEDS_PER_SHARD: u64 = 3;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shard command between the marker comments of `file` (relative to the root).
fn shard_command(file: &str) -> (String, String) {
    let text = std::fs::read_to_string(root().join(file)).expect("the file is in the repository");
    let (_, rest) = text
        .split_once("# zabsim-shard-command-begin")
        .unwrap_or_else(|| panic!("{file}: no begin marker"));
    let (inside, _) = rest
        .split_once("# zabsim-shard-command-end")
        .unwrap_or_else(|| panic!("{file}: no end marker"));
    let command = inside.replace("\\\n", " ").trim().to_string();
    assert!(command.starts_with("zabsim fuzz "), "{file}: {command}");
    assert!(!command.contains('\n'), "{file}: one command: {command}");
    (command, text)
}

/// The value after `flag` in `command`.
fn value<'a>(command: &'a str, flag: &str) -> &'a str {
    let mut words = command.split_whitespace();
    words.find(|w| *w == flag).expect("the flag is there");
    words.next().expect("the flag has a value")
}

/// The shard count N of `--shard I/N`.
fn shard_count(command: &str) -> u64 {
    let shard = value(command, "--shard");
    let (_, n) = shard.split_once('/').expect("I/N");
    n.parse().expect("N is a number")
}

/// `command` with the value after `flag` mapped by `f` (the flag dropped when `f` gives
/// `None`).
fn with_value(command: &str, flag: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let mut words = command.split_whitespace();
    let mut out = Vec::new();
    while let Some(w) = words.next() {
        if w != flag {
            out.push(w.to_string());
        } else if let Some(v) = f(words.next().expect("the flag has a value")) {
            out.extend([w.to_string(), v]);
        }
    }
    out.join(" ")
}

/// `command` with `seeds` seeds and its results file moved into `dir`, renamed to `name`
/// when given (the file name's pattern, with its index variable, kept otherwise).
fn localized(command: &str, seeds: u64, dir: &Path, name: Option<&str>) -> String {
    let command = with_value(command, "--seeds", |_| Some(seeds.to_string()));
    with_value(&command, "--results", |word| {
        let file = word.trim_matches('"').rsplit('/').next().unwrap();
        let path = dir.join(name.unwrap_or(file));
        Some(format!("\"{}\"", path.display()))
    })
}

/// Run `command` with `sh -c` from the repository root, zabsim on PATH, `var` = its value.
fn sh(command: &str, var: Option<(&str, u64)>) {
    let bin = Path::new(env!("CARGO_BIN_EXE_zabsim")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-c", command])
        .current_dir(root())
        .env("PATH", path)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("ZABSIM_SEED")
        .envs(var.map(|(k, v)| (k, v.to_string())))
        .output()
        .expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{command}\n{text}");
}

/// `zabsim merge FILES --out OUT`: the merged bytes.
fn merged(files: &[PathBuf], out: &Path) -> Vec<u8> {
    let mut args = vec!["merge".to_string()];
    args.extend(files.iter().map(|f| f.to_str().unwrap().to_string()));
    args.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = common::zabsim(&args);
    assert_eq!(run.code, 0, "{}", run.show());
    std::fs::read(out).expect("merged")
}

/// Run `file`'s shard command for every index I < N with the engine's variable `var` = I,
/// and unsharded; the merges must be equal. `engine_n` checks the engine runs N shards.
fn shards_merge_to_the_whole_sweep(file: &str, var: &str, engine_n: impl Fn(&str, u64) -> bool) {
    let (command, text) = shard_command(file);
    // GitHub substitutes `${{ matrix.shard }}` into the text; the shell does the same here.
    let command = command.replace("${{ matrix.shard }}", &format!("${{{var}}}"));
    let n = shard_count(&command);
    assert!(engine_n(&text, n), "{file}: the engine's count is not {n}");
    let after = text.split("# zabsim-shard-command-end").nth(1).unwrap();
    assert!(
        after.contains("zabsim merge ") && after.contains("zabsim report "),
        "{file}"
    );
    let stem = Path::new(file)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let dir = std::env::temp_dir().join(format!("zabsim-cluster-{}-{stem}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let local = localized(&command, SEEDS_PER_SHARD, &dir, None);
    for i in 0..n {
        sh(&local, Some((var, i)));
    }
    let mut shards: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    shards.sort();
    assert_eq!(shards.len() as u64, n, "{file}: one results file per shard");
    let whole = with_value(&command, "--shard", |_| None);
    sh(
        &localized(&whole, SEEDS_PER_SHARD * n, &dir, Some("whole.jsonl")),
        None,
    );
    let a = merged(&shards, &dir.join("merged-shards.jsonl"));
    let b = merged(&[dir.join("whole.jsonl")], &dir.join("merged-whole.jsonl"));
    let lines = |t: &[u8]| t.iter().filter(|&&c| c == b'\n').count() as u64;
    assert!(
        a == b,
        "{file}: {} and {} lines differ",
        lines(&a),
        lines(&b)
    );
    assert!(
        lines(&a) >= SEEDS_PER_SHARD * n,
        "{file}: {} lines",
        lines(&a)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_kubernetes_indexed_job_shards_merge_to_the_whole_sweep() {
    shards_merge_to_the_whole_sweep(
        "scripts/k8s-fuzz-job.yaml",
        "JOB_COMPLETION_INDEX",
        |text, n| {
            text.contains("completionMode: Indexed")
                && text.contains(&format!("completions: {n}\n"))
                && text.contains(&format!("parallelism: {n}\n"))
                && text.contains(&format!("-ge {n} ]"))
        },
    );
}

#[test]
fn the_slurm_array_shards_merge_to_the_whole_sweep() {
    shards_merge_to_the_whole_sweep("scripts/slurm-fuzz.sh", "SLURM_ARRAY_TASK_ID", |text, n| {
        text.contains(&format!("#SBATCH --array=0-{}\n", n - 1))
    });
}

#[test]
fn the_github_actions_matrix_shards_merge_to_the_whole_sweep() {
    shards_merge_to_the_whole_sweep(
        ".github/workflows/fuzz-shards.yml",
        "MATRIX_SHARD",
        |text, n| {
            let list: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            text.contains(&format!("shard: [{}]\n", list.join(", ")))
        },
    );
}
