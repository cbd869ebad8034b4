//! A sweep's results file as text: JSON Lines, one [`SeedResult`] a line (what `fuzz
//! --results` appends, `merge` combines, `report` charts). A line that is not a result is an
//! error naming the file and the line.

use proto::results::SeedResult;

/// Lines read from one results file, at most (a bound, not a limit anyone should meet).
const LINES_PER_FILE_MAX: usize = 100_000_000;

/// The results in `text` (read from `path`) with their line numbers; blank lines are skipped.
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

/// One result as its line, newline included.
pub fn line(r: &SeedResult) -> Vec<u8> {
    let mut line = serde_json::to_vec(r).expect("results serialize");
    line.push(b'\n');
    line
}

/// Results as a file's text, one line each.
pub fn render(results: &[SeedResult]) -> Vec<u8> {
    results.iter().flat_map(line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_a_bad_line_names_file_and_line() {
        let r = SeedResult {
            seed: 3,
            verdict: "pass".into(),
            trace_hash: "00000000000000aa".into(),
            detail: None,
            events: 5,
            figures: vec![("elections".into(), 1)],
            regression: false,
            repro: None,
            scenario: Some("ci (scenarios/ci.toml)".into()),
        };
        let text = String::from_utf8(render(&[r.clone(), r.clone()])).unwrap();
        assert_eq!(text.lines().count(), 2);
        let parsed = parse("r.jsonl", &format!("\n{text}")).unwrap();
        assert_eq!(parsed, [(2, r.clone()), (3, r)]);
        let e = parse("r.jsonl", "{\"seed\": 1}\n").unwrap_err();
        assert!(e.starts_with("r.jsonl:1: not a fuzz result line: "), "{e}");
    }
}
