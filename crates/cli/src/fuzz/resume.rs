//! `zabsim fuzz --resume`: the results a killed sweep already wrote. Every line must be a
//! result of this sweep's scenario; a partial last line (the process was killed in the middle
//! of a write) is cut off, the file truncated to its last complete line, before the sweep
//! appends to it again.

use super::SeedResult;
use std::collections::BTreeSet;

/// The results already in `path` (none when it does not exist yet), each checked to be of
/// `scenario`; the file is left ending with a complete line.
pub fn read(path: &str, scenario: &str) -> Result<Vec<SeedResult>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read results file {path}: {e}")),
    };
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&bytes[..complete])
        .map_err(|e| format!("{path}: not a results file (not UTF-8: {e})"))?;
    let mut results = Vec::new();
    for (line, r) in crate::merge::parse(path, text)? {
        if r.scenario.as_deref() != Some(scenario) {
            let theirs = r.scenario.as_deref().unwrap_or("no scenario named");
            return Err(format!(
                "{path}:{line}: a result of `{theirs}`, not of this sweep's `{scenario}`"
            ));
        }
        results.push(r);
    }
    if complete < bytes.len() {
        cut(path, complete, bytes.len() - complete)?;
    }
    Ok(results)
}

/// Truncate `path` to its first `keep` bytes, dropping a partial line of `dropped` bytes.
fn cut(path: &str, keep: usize, dropped: usize) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(keep as u64))
        .map_err(|e| format!("cannot truncate {path} to its last complete line: {e}"))?;
    eprintln!(
        "resume: {path} ended with a partial line ({dropped} bytes, cut by a kill mid-write); \
         dropped it"
    );
    Ok(())
}

/// The (regression, seed) keys of the results already judged: the seeds not to run again.
pub fn judged(results: &[SeedResult]) -> BTreeSet<(bool, u64)> {
    results.iter().map(|r| (r.regression, r.seed)).collect()
}
