//! Reading a sweep's results file (`zabsim fuzz --results`, `zabsim merge --out`: one
//! `proto::results::SeedResult` per line, in completion order) into one row per distinct
//! seed in seed order. Copies of a seed that agree are merged; copies that disagree (verdict
//! or trace hash) make the seed a `nondeterminism` finding, as `zabsim merge` does. Every
//! problem names the file and, where it has one, the line.

use proto::results::SeedResult;
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;

use crate::error::ReportError;

/// Bound on a results file's lines (the fuzzer's own bound on seeds is 100 million).
pub const RESULT_LINES_MAX: usize = 100_000_000;

/// A seed's verdict. The order is the severity order of the index's tables.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Pass,
    Budget,
    Liveness,
    Safety,
    Panic,
    /// The scenario could not be run (the fuzzer's `input`).
    Input,
    /// Copies of the seed disagree.
    Nondeterminism,
    /// A regression seed ran to another trace hash than `regressions.txt` pins: it no
    /// longer replays the run that caught its bug.
    RegressionMoved,
}

/// Every verdict, in [`Verdict`]'s order (index = [`Verdict::index`]).
pub const VERDICTS: [Verdict; 8] = [
    Verdict::Pass,
    Verdict::Budget,
    Verdict::Liveness,
    Verdict::Safety,
    Verdict::Panic,
    Verdict::Input,
    Verdict::Nondeterminism,
    Verdict::RegressionMoved,
];

impl Verdict {
    pub fn parse(name: &str) -> Option<Verdict> {
        VERDICTS.iter().copied().find(|v| v.name() == name)
    }

    /// As the results file writes it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Budget => "budget",
            Verdict::Liveness => "liveness",
            Verdict::Safety => "safety",
            Verdict::Panic => "panic",
            Verdict::Input => "input",
            Verdict::Nondeterminism => "nondeterminism",
            Verdict::RegressionMoved => "regression-moved",
        }
    }

    pub fn index(self) -> usize {
        let i = self as usize;
        assert_eq!(VERDICTS[i], self);
        i
    }

    /// Seeds whose runs carry a trace hash (the others never ran to an end).
    fn has_hash(self) -> bool {
        matches!(
            self,
            Verdict::Pass
                | Verdict::Budget
                | Verdict::Liveness
                | Verdict::Safety
                | Verdict::RegressionMoved
        )
    }
}

/// One distinct seed of the sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedRow {
    pub seed: u64,
    pub verdict: Verdict,
    /// Hex, as the file writes it; empty for seeds that never ran to an end.
    pub trace_hash: String,
    pub events: u64,
    pub figures: Vec<(String, u64)>,
    /// Some copy was a replay of a seed from `regressions.txt`.
    pub regression: bool,
    /// Some copy was a seed of the sweep proper.
    pub swept: bool,
    pub detail: Option<String>,
    pub repro: Option<String>,
    /// Lines the seed appeared on.
    pub copies: usize,
}

impl SeedRow {
    /// The value of figure `name`, if the run reported it.
    pub fn figure(&self, name: &str) -> Option<u64> {
        self.figures
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }
}

/// A whole sweep, one row per seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepData {
    /// The results file's name (without its directory, so that equal files in different
    /// places give equal reports).
    pub file_name: String,
    /// Result lines read.
    pub lines: usize,
    /// Ascending by seed, seeds distinct, never empty.
    pub seeds: Vec<SeedRow>,
    /// The distinct scenarios the lines name (`ci (scenarios/ci.toml)`), in order.
    pub scenarios: Vec<String>,
    /// Lines that name no scenario (written before results named theirs).
    pub unnamed_lines: usize,
}

impl SweepData {
    /// Rows from result lines in any order: sorted by seed; copies of one seed merged, or
    /// made a `nondeterminism` finding when their verdicts or trace hashes differ. The rows
    /// do not depend on the order of `results`.
    pub fn from_results(file_name: &str, mut results: Vec<SeedResult>) -> SweepData {
        assert!(!results.is_empty(), "a sweep has a seed");
        let lines = results.len();
        let named: BTreeSet<&String> = results.iter().filter_map(|r| r.scenario.as_ref()).collect();
        let scenarios: Vec<String> = named.into_iter().cloned().collect();
        let unnamed_lines = results.iter().filter(|r| r.scenario.is_none()).count();
        results.sort_by(|a, b| {
            (a.seed, &a.verdict, &a.trace_hash, a.regression, a.events)
                .cmp(&(b.seed, &b.verdict, &b.trace_hash, b.regression, b.events))
                .then_with(|| a.detail.cmp(&b.detail))
                .then_with(|| a.repro.cmp(&b.repro))
        });
        let mut seeds: Vec<SeedRow> = Vec::new();
        let mut start = 0;
        while start < results.len() {
            let seed = results[start].seed;
            let end = start + results[start..].partition_point(|r| r.seed == seed);
            assert!(end > start);
            seeds.push(merge_copies(&results[start..end]));
            start = end;
        }
        assert!(seeds.windows(2).all(|w| w[0].seed < w[1].seed));
        assert_eq!(seeds.iter().map(|r| r.copies).sum::<usize>(), lines);
        SweepData {
            file_name: file_name.to_string(),
            lines,
            seeds,
            scenarios,
            unnamed_lines,
        }
    }

    /// What was swept, for a page's heading: the scenario, the scenarios listed, or
    /// `scenario not recorded (FILE)`.
    pub fn scenario_text(&self) -> String {
        match self.scenarios.as_slice() {
            [] => format!("scenario not recorded ({})", self.file_name),
            [one] => one.clone(),
            many => format!("{} scenarios: {}", many.len(), many.join(", ")),
        }
    }

    /// The same, short enough for a chart's title: the scenario's name without where it
    /// came from, `N scenarios`, or the file's name.
    pub fn scenario_short(&self) -> String {
        match self.scenarios.as_slice() {
            [] => self.file_name.clone(),
            [one] => one.split(" (").next().unwrap_or(one).to_string(),
            many => format!("{} scenarios", many.len()),
        }
    }

    /// Seeds whose copies disagree (or that a merge already marked so).
    pub fn nondeterministic(&self) -> impl Iterator<Item = &SeedRow> {
        self.seeds
            .iter()
            .filter(|r| r.verdict == Verdict::Nondeterminism)
    }

    /// Seeds per verdict, indexed by [`Verdict::index`].
    pub fn verdict_counts(&self) -> [u64; VERDICTS.len()] {
        let mut counts = [0u64; VERDICTS.len()];
        for r in &self.seeds {
            counts[r.verdict.index()] += 1;
        }
        counts
    }
}

/// One row from the copies of one seed (sorted, non-empty).
fn merge_copies(copies: &[SeedResult]) -> SeedRow {
    let first = &copies[0];
    assert!(copies.iter().all(|c| c.seed == first.seed));
    let mut outcomes: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for c in copies {
        *outcomes
            .entry((c.verdict.as_str(), c.trace_hash.as_str()))
            .or_default() += 1;
    }
    let verdict = Verdict::parse(&first.verdict).expect("verdicts are checked on reading");
    let mut row = SeedRow {
        seed: first.seed,
        verdict,
        trace_hash: first.trace_hash.clone(),
        events: first.events,
        figures: first.figures.clone(),
        regression: copies.iter().any(|c| c.regression),
        swept: copies.iter().any(|c| !c.regression),
        detail: first.detail.clone(),
        repro: copies.iter().find_map(|c| c.repro.clone()),
        copies: copies.len(),
    };
    if outcomes.len() > 1 {
        let each: Vec<String> = outcomes
            .iter()
            .map(|((v, h), n)| {
                let hash = if h.is_empty() { "none" } else { h };
                format!("{v} (hash {hash}) ×{n}")
            })
            .collect();
        row.verdict = Verdict::Nondeterminism;
        row.detail = Some(format!(
            "seed {} gave different results in {} copies: {}",
            first.seed,
            copies.len(),
            each.join(", ")
        ));
    }
    row
}

/// A line's own consistency, beyond its JSON shape.
fn check(r: &SeedResult) -> Result<(), String> {
    let names: Vec<&str> = VERDICTS.iter().map(|v| v.name()).collect();
    let verdict = Verdict::parse(&r.verdict).ok_or_else(|| {
        format!(
            "unknown verdict `{}` (expected one of {})",
            r.verdict,
            names.join(", ")
        )
    })?;
    let hex = !r.trace_hash.is_empty()
        && r.trace_hash.len() <= 16
        && r.trace_hash.chars().all(|c| c.is_ascii_hexdigit());
    if verdict.has_hash() && !hex {
        return Err(format!(
            "trace_hash `{}` of a {} seed is not 1 to 16 hex digits",
            r.trace_hash, r.verdict
        ));
    }
    if !verdict.has_hash() && !r.trace_hash.is_empty() && !hex {
        return Err(format!("trace_hash `{}` is not hex", r.trace_hash));
    }
    Ok(())
}

/// Read a results file.
pub fn load(path: &Path) -> Result<SweepData, ReportError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ReportError::new(path, format!("cannot read: {e}")))?;
    read(path, std::io::BufReader::new(file))
}

/// Read results from `reader`; errors name `path`.
pub fn read(path: &Path, reader: impl BufRead) -> Result<SweepData, ReportError> {
    let mut results = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        if number > RESULT_LINES_MAX {
            return Err(ReportError::at_line(
                path,
                number,
                format!("more than {RESULT_LINES_MAX} lines"),
            ));
        }
        let line =
            line.map_err(|e| ReportError::at_line(path, number, format!("cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: SeedResult = serde_json::from_str(&line).map_err(|e| {
            let mut err = ReportError::json(path, &e);
            err.line = Some(number);
            err.message = format!("not a `zabsim fuzz --results` line: {}", err.message);
            err
        })?;
        check(&r).map_err(|m| ReportError::at_line(path, number, m))?;
        results.push(r);
    }
    if results.is_empty() {
        return Err(ReportError::new(
            path,
            "no result lines: the file is empty (`zabsim fuzz --results FILE` writes one line per seed)",
        ));
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(SweepData::from_results(&name, results))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verdict_the_fuzzer_writes_parses_back() {
        for v in VERDICTS {
            assert_eq!(Verdict::parse(v.name()), Some(v));
        }
        let moved = Verdict::parse("regression-moved").expect("fuzz writes it");
        assert!(moved.has_hash(), "a moved regression seed ran to a hash");
        assert_eq!(Verdict::parse("moved"), None);
    }

    fn result(seed: u64, verdict: &str, hash: &str) -> SeedResult {
        SeedResult {
            seed,
            verdict: verdict.into(),
            trace_hash: hash.into(),
            detail: None,
            events: 10,
            figures: vec![("elections".into(), 1)],
            regression: false,
            repro: None,
            scenario: None,
        }
    }

    #[test]
    fn copies_merge_and_disagreements_are_nondeterminism() {
        let mut reg = result(3, "pass", "aa");
        reg.regression = true;
        let lines = vec![
            result(9, "pass", "b1"),
            reg,
            result(3, "pass", "aa"),
            result(9, "safety", "b2"),
            result(1, "panic", ""),
        ];
        let mut reversed = lines.clone();
        reversed.reverse();
        let d = SweepData::from_results("r.jsonl", lines);
        assert_eq!(d, SweepData::from_results("r.jsonl", reversed));
        let seeds: Vec<u64> = d.seeds.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, [1, 3, 9]);
        assert_eq!(d.lines, 5);
        let three = &d.seeds[1];
        assert!(three.regression && three.swept && three.copies == 2);
        assert_eq!(three.verdict, Verdict::Pass);
        let nine = &d.seeds[2];
        assert_eq!(nine.verdict, Verdict::Nondeterminism);
        let detail = nine.detail.as_deref().unwrap();
        assert!(detail.contains("b1") && detail.contains("b2"), "{detail}");
        assert_eq!(d.nondeterministic().count(), 1);
        assert_eq!(d.verdict_counts(), [1, 0, 0, 0, 1, 0, 1, 0]);
    }

    #[test]
    fn lines_are_checked_beyond_their_shape() {
        let p = Path::new("r.jsonl");
        let ok = serde_json::to_string(&result(1, "pass", "00ff")).unwrap();
        let bad_verdict = ok.replace("\"pass\"", "\"weird\"");
        let text = format!("{ok}\n\n{bad_verdict}\n");
        let e = read(p, text.as_bytes()).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("unknown verdict `weird`"), "{e}");
        let bad_hash = ok.replace("00ff", "xyz");
        let e = read(p, bad_hash.as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("r.jsonl:1: trace_hash"), "{e}");
        let e = read(p, "{\"seed\":1}\n".as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("r.jsonl:1:"), "{e}");
        assert!(e.message.contains("missing field"), "{e}");
        let e = read(p, " \n\n".as_bytes()).unwrap_err();
        assert_eq!(e.line, None);
        assert!(e.message.contains("empty"), "{e}");
    }
}
