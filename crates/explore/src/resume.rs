//! Resuming a stopped sweep (`zabsim fuzz --resume`): the results a killed sweep already
//! wrote. Every line must be a result of this sweep's scenario (its label, overrides
//! included); a partial last line (the process was killed in the middle of a write) is cut
//! off, the file truncated to its last complete line, before the sweep appends to it again.
//! The seeds judged already are not run again.

use crate::plan::Key;
use proto::results::SeedResult;
use std::collections::BTreeSet;

/// What a results file already holds.
#[derive(Debug, PartialEq)]
pub struct Previous {
    pub results: Vec<SeedResult>,
    /// The length of its complete lines, in bytes.
    pub complete: usize,
    /// The bytes of a partial last line after them (0: none).
    pub partial: usize,
}

/// The results in `bytes` (the file `path`), each checked to be of sweep `label`.
pub fn parse(path: &str, bytes: &[u8], label: &str) -> Result<Previous, String> {
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&bytes[..complete])
        .map_err(|e| format!("{path}: not a results file (not UTF-8: {e})"))?;
    let mut results = Vec::new();
    for (line, r) in crate::results::parse(path, text)? {
        if r.scenario.as_deref() != Some(label) {
            let theirs = r.scenario.as_deref().unwrap_or("no scenario named");
            return Err(format!(
                "{path}:{line}: a result of `{theirs}`, not of this sweep's `{label}`"
            ));
        }
        results.push(r);
    }
    Ok(Previous {
        results,
        complete,
        partial: bytes.len() - complete,
    })
}

/// The results already in `path` (none when it does not exist yet), each of sweep `label`;
/// the file is left ending with a complete line.
pub fn read(path: &str, label: &str) -> Result<Previous, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("cannot read results file {path}: {e}")),
    };
    let previous = parse(path, &bytes, label)?;
    if previous.partial > 0 {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(previous.complete as u64))
            .map_err(|e| format!("cannot truncate {path} to its last complete line: {e}"))?;
    }
    Ok(previous)
}

/// The keys of the results already judged: the seeds not to run again.
pub fn judged(results: &[SeedResult]) -> BTreeSet<Key> {
    results.iter().map(|r| (r.regression, r.seed)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &str = "ci (scenarios/ci.toml)";

    fn line(seed: u64, regression: bool, label: &str) -> String {
        format!(
            "{{\"seed\":{seed},\"verdict\":\"pass\",\"trace_hash\":\"00000000000000ab\",\
             \"detail\":null,\"events\":9,\"figures\":[],\"regression\":{regression},\
             \"scenario\":\"{label}\"}}\n"
        )
    }

    #[test]
    fn a_partial_last_line_is_dropped_and_judged_seeds_are_keyed() {
        let whole = line(31, true, LABEL) + &line(0, false, LABEL);
        let cut = format!("{whole}{}", &line(1, false, LABEL)[..20]);
        let p = parse("r.jsonl", cut.as_bytes(), LABEL).unwrap();
        assert_eq!((p.complete, p.partial), (whole.len(), 20));
        let keys: Vec<Key> = judged(&p.results).into_iter().collect();
        assert_eq!(keys, [(false, 0), (true, 31)]);
        let p = parse("r.jsonl", whole.as_bytes(), LABEL).unwrap();
        assert_eq!(p.partial, 0);
        assert_eq!(parse("r.jsonl", b"", LABEL).unwrap().results, []);
    }

    #[test]
    fn a_result_of_another_sweep_is_refused_with_its_line() {
        let lossy = format!("{LABEL} --set network.loss=0.1");
        let text = line(0, false, LABEL) + &line(1, false, &lossy);
        let e = parse("r.jsonl", text.as_bytes(), LABEL).unwrap_err();
        assert_eq!(
            e,
            format!("r.jsonl:2: a result of `{lossy}`, not of this sweep's `{LABEL}`")
        );
    }

    #[test]
    fn a_file_that_is_not_there_has_no_results() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/no-such-results.jsonl");
        assert_eq!(read(path, LABEL).unwrap().results, []);
    }
}
