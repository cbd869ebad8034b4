//! `zabsim merge FILE... [--out FILE]`: the merge step of a sharded sweep. Reads the JSON
//! Lines that `fuzz --results` wrote (one file per shard or per machine, in whatever order
//! the seeds finished), and combines them in one scheduling-independent order: regression
//! seeds first, then by seed. A seed present more than once must have the same verdict and
//! trace hash in every copy (one is kept); copies that disagree are a determinism failure,
//! reported as a finding (exit 1). Then the summary, findings and REPRO lines as `fuzz`
//! prints them, and its exit codes; a malformed line is exit 2 with file and line.

use std::collections::BTreeMap;
use std::path::Path;

use crate::fuzz::{SeedResult, summarize};

/// Lines read from one results file, at most (a bound, not a limit anyone should meet).
const LINES_PER_FILE_MAX: usize = 100_000_000;

/// Read one results file: every non-empty line is a [`SeedResult`].
fn read(path: &str) -> Result<Vec<SeedResult>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(parse(path, &text)?.into_iter().map(|(_, r)| r).collect())
}

/// The results in `text` (read from `path`) with their line numbers; a line that is not a
/// result is an error naming the file and line.
pub fn parse(path: &str, text: &str) -> Result<Vec<(usize, SeedResult)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().take(LINES_PER_FILE_MAX) {
        if line.trim().is_empty() {
            continue;
        }
        let r: SeedResult = serde_json::from_str(line)
            .map_err(|e| format!("{path}:{}: not a fuzz result line: {e}", i + 1))?;
        out.push((i + 1, r));
    }
    Ok(out)
}

/// Key of the merged order: regression seeds first, then by seed.
type Key = (bool, u64);

/// Merge the copies; a seed whose copies disagree becomes a `nondeterminism` result.
fn merge(all: Vec<SeedResult>) -> Vec<SeedResult> {
    let mut by_seed: BTreeMap<Key, SeedResult> = BTreeMap::new();
    for r in all {
        let key = (!r.regression, r.seed);
        match by_seed.get_mut(&key) {
            None => {
                by_seed.insert(key, r);
            }
            Some(kept) if kept.verdict == r.verdict && kept.trace_hash == r.trace_hash => {}
            Some(kept) if kept.verdict == "nondeterminism" => {}
            Some(kept) => {
                let detail = format!(
                    "seed {} gave different results: {} (hash {}) and {} (hash {})",
                    r.seed, kept.verdict, kept.trace_hash, r.verdict, r.trace_hash
                );
                kept.verdict = "nondeterminism".into();
                kept.detail = Some(detail);
            }
        }
    }
    by_seed.into_values().collect()
}

/// The merged lines, one JSON object per line.
fn render(merged: &[SeedResult]) -> Vec<u8> {
    let mut text = Vec::new();
    for r in merged {
        text.extend(serde_json::to_vec(r).expect("results serialize"));
        text.push(b'\n');
    }
    text
}

pub fn run(files: &[String], out: Option<&str>) -> u8 {
    assert!(!files.is_empty(), "clap requires a file");
    let mut all = Vec::new();
    for f in files {
        match read(f) {
            Ok(lines) => all.extend(lines),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let read_count = all.len();
    let merged = merge(all);
    println!(
        "merge: {read_count} lines from {} files, {} seeds",
        files.len(),
        merged.len()
    );
    if let Some(path) = out {
        let p = Path::new(path);
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let written = name
            .ok_or_else(|| std::io::Error::other("no file name"))
            .and_then(|n| {
                crate::output::write_atomic(dir.unwrap_or(Path::new(".")), &n, &render(&merged))
            });
        if let Err(e) = written {
            eprintln!("error: cannot write {path}: {e}");
            return 2;
        }
    }
    summarize(&merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(seed: u64, verdict: &str, hash: &str) -> SeedResult {
        SeedResult {
            seed,
            verdict: verdict.into(),
            trace_hash: hash.into(),
            detail: None,
            events: 10,
            figures: Vec::new(),
            regression: false,
            repro: None,
            scenario: None,
        }
    }

    #[test]
    fn merging_orders_by_seed_and_keeps_one_copy() {
        let shard_a = vec![result(4, "pass", "a4"), result(0, "pass", "a0")];
        let shard_b = vec![result(3, "safety", "a3"), result(0, "pass", "a0")];
        let merged = merge(shard_a.into_iter().chain(shard_b).collect());
        let seeds: Vec<u64> = merged.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, [0, 3, 4]);
        assert_eq!(merged[1].verdict, "safety");
    }

    #[test]
    fn regression_seeds_come_first_whatever_the_file_order() {
        let mut reg = result(99, "pass", "r");
        reg.regression = true;
        let one = merge(vec![result(1, "pass", "x"), reg.clone()]);
        let two = merge(vec![reg, result(1, "pass", "x")]);
        assert_eq!(one, two);
        assert_eq!(one[0].seed, 99);
    }

    #[test]
    fn copies_that_disagree_are_a_determinism_finding() {
        let merged = merge(vec![result(7, "pass", "aa"), result(7, "pass", "bb")]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].verdict, "nondeterminism");
        let detail = merged[0].detail.as_deref().unwrap_or_default();
        assert!(detail.contains("aa") && detail.contains("bb"), "{detail}");
    }
}
