//! The sweep report end to end on hand-made results files: the index names the right counts,
//! regression seeds and every finding's REPRO line; equal files (and the same lines in
//! another order) give byte-identical outputs; a malformed line is named by file and line;
//! an empty file is an error; disagreeing copies are flagged as nondeterminism; charts
//! without their figures are left out; one seed and 100,000 seeds both chart, small.

use proto::results::SeedResult;
use std::path::{Path, PathBuf};

mod common;

use common::{Lcg, PNG_SIGNATURE, scratch};

fn repro_of(seed: u64, hash: &str) -> String {
    format!("zabsim replay --scenario scenarios/x.toml --seed {seed} --expect-hash {hash}")
}

/// One seed's line as `zabsim fuzz` writes it, with figures drawn from `rng`.
fn result(rng: &mut Lcg, seed: u64, verdict: &str) -> SeedResult {
    let ran = !matches!(verdict, "panic" | "input");
    let hash = if ran {
        format!("{:016x}", seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    } else {
        String::new()
    };
    let elections = 1 + rng.below(4);
    let median = 200_000_000 + rng.below(3_000_000_000);
    let figures = if ran {
        vec![
            ("elections".to_string(), elections),
            ("election_ns_median".to_string(), median),
            (
                "election_ns_max".to_string(),
                median + rng.below(500_000_000),
            ),
            ("epoch_max".to_string(), elections),
            ("commits".to_string(), 500 + rng.below(200)),
        ]
    } else {
        Vec::new()
    };
    SeedResult {
        seed,
        verdict: verdict.to_string(),
        detail: (verdict != "pass").then(|| format!("{verdict} <finding> of seed {seed}")),
        repro: (verdict != "pass").then(|| repro_of(seed, &hash)),
        trace_hash: hash,
        events: if ran { 20_000 + rng.below(30_000) } else { 0 },
        figures,
        regression: false,
        scenario: None,
    }
}

fn line(r: &SeedResult) -> String {
    serde_json::to_string(r).unwrap() + "\n"
}

/// Seeds 0..100 (17 safety, 42 liveness, 63 panic, 80 budget, the rest pass), regression
/// seed 5000 replayed first, seed 3 written twice; in a scrambled order.
fn fixture_lines() -> Vec<String> {
    let mut rng = Lcg(11);
    let mut lines = Vec::new();
    let mut reg = result(&mut rng, 5000, "pass");
    reg.regression = true;
    lines.push(line(&reg));
    for seed in 0..100 {
        let verdict = match seed {
            17 => "safety",
            42 => "liveness",
            63 => "panic",
            80 => "budget",
            _ => "pass",
        };
        lines.push(line(&result(&mut rng, seed, verdict)));
    }
    let copy = lines[4].clone();
    assert!(copy.contains("\"seed\":3,"));
    lines.push(copy);
    // Completion order, not seed order.
    let mut order = Lcg(5);
    for i in (1..lines.len()).rev() {
        let j = order.below(i as u64 + 1) as usize;
        lines.swap(i, j);
    }
    lines
}

fn write(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.concat()).unwrap();
}

/// Every chart stem in `files` exists, is non-empty and is what it claims to be.
fn check_chart(dir: &Path, stem: &str) {
    let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{stem}"
    );
    let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
    assert!(
        png.starts_with(PNG_SIGNATURE) && png.len() > 1_000,
        "{stem}"
    );
}

fn read_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The fixture's report, rendered in a scratch directory: (directory, report, written).
fn fixture_report(name: &str) -> (PathBuf, PathBuf, report::Written) {
    let dir = scratch(name);
    let results = dir.join("r.jsonl");
    write(&results, &fixture_lines());
    let out = dir.join("report");
    let written = report::render_sweep(&results, &out).unwrap();
    (dir, out, written)
}

#[test]
fn the_index_names_the_counts_and_every_findings_repro_line() {
    let (dir, out, written) = fixture_report("index");
    assert_eq!(written.files.len(), report::sweep::CHARTS.len() * 2 + 1);
    for stem in report::sweep::CHARTS {
        check_chart(&out, stem);
    }
    let index = std::fs::read_to_string(out.join(report::INDEX)).unwrap();
    assert!(index.starts_with("<!DOCTYPE html>"));
    for needle in [
        "<title>zabsim sweep — scenario not recorded (r.jsonl)</title>",
        "<th>result lines</th><td>102 (1 seed on more than one line",
        "<th>seeds</th><td>101</td>",
        "<th>seed range</th><td>0 – 5000 ",
        "<th>regression seeds</th><td>1: 5000</td>",
        "FINDINGS</span>: 4 of 101 seeds did not pass (4.0 %)",
        "pass 97 · budget 1 · liveness 1 · safety 1 · panic 1",
        "safety &lt;finding&gt; of seed 17",
        "<th>figure</th>",
        "election_ns_median",
    ] {
        assert!(index.contains(needle), "index lacks {needle:?}");
    }
    for (seed, ran) in [(17u64, true), (42, true), (63, false), (80, true)] {
        let hash = if ran {
            format!("{:016x}", seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        } else {
            String::new()
        };
        let repro = format!("<code>REPRO: {}</code>", repro_of(seed, &hash));
        assert!(index.contains(&repro), "index lacks {repro}");
    }
    assert!(!index.contains("NONDETERMINISM"));
    for stem in report::sweep::CHARTS {
        assert!(
            index.contains(&format!("<img src=\"{stem}.svg\"")),
            "{stem}"
        );
    }
    assert!(!index.contains("<script") && !index.contains("http"));
    // The regression seed far outside the sweep is listed, not bucketed.
    let bars = std::fs::read_to_string(out.join("sweep-verdicts.svg")).unwrap();
    assert!(bars.contains("1 regression seed outside"), "legend note");
    assert!(
        bars.contains("100 seeds"),
        "title counts the bucketed seeds"
    );
    let events = std::fs::read_to_string(out.join("sweep-events-cdf.svg")).unwrap();
    assert!(events.contains("1 seed left out: panic/input"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn equal_files_give_byte_identical_reports_whatever_the_line_order() {
    let dir = scratch("det");
    let lines = fixture_lines();
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    write(&a.join("r.jsonl"), &lines);
    let mut reversed = lines.clone();
    reversed.reverse();
    write(&b.join("r.jsonl"), &reversed);
    report::render_sweep(&a.join("r.jsonl"), &a.join("one")).unwrap();
    report::render_sweep(&a.join("r.jsonl"), &a.join("two")).unwrap();
    report::render_sweep(&b.join("r.jsonl"), &b.join("out")).unwrap();
    let one = read_dir(&a.join("one"));
    assert_eq!(one.len(), 9);
    assert!(one == read_dir(&a.join("two")), "two renders differ");
    let other = read_dir(&b.join("out"));
    for ((n1, b1), (n2, b2)) in one.iter().zip(&other) {
        assert_eq!(n1, n2);
        assert!(b1 == b2, "{n1} depends on the order of the lines");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_malformed_line_is_named_by_file_and_line() {
    let dir = scratch("bad");
    let path = dir.join("r.jsonl");
    let mut lines = fixture_lines();
    lines[2] = "{\"seed\":1,\"verdict\":\"pass\"\n".to_string();
    write(&path, &lines);
    let e = report::render_sweep(&path, &dir.join("out")).unwrap_err();
    assert_eq!(e.file, path);
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().contains("r.jsonl:3:"), "{e}");
    assert!(
        e.message.contains("not a `zabsim fuzz --results` line"),
        "{e}"
    );
    assert!(!dir.join("out").exists(), "nothing written");

    // An unknown field, a verdict nobody writes, an interrupted last line.
    let mut lines = fixture_lines();
    lines[5] = lines[5].replacen("\"events\"", "\"colour\":1,\"events\"", 1);
    write(&path, &lines);
    let e = report::sweep::load(&path).unwrap_err();
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.message.contains("unknown field `colour`"), "{e}");
    let mut lines = fixture_lines();
    lines[0] = lines[0].replacen("\"pass\"", "\"maybe\"", 1);
    write(&path, &lines);
    let e = report::sweep::load(&path).unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
    assert!(e.message.contains("unknown verdict `maybe`"), "{e}");
    let mut lines = fixture_lines();
    let last = lines.len() - 1;
    lines[last] = lines[last][..40].to_string();
    write(&path, &lines);
    let e = report::sweep::load(&path).unwrap_err();
    assert_eq!(e.line, Some(lines.len()), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_or_missing_file_is_an_error() {
    let dir = scratch("empty");
    let path = dir.join("r.jsonl");
    for text in ["", "\n  \n"] {
        std::fs::write(&path, text).unwrap();
        let e = report::render_sweep(&path, &dir.join("out")).unwrap_err();
        assert_eq!((e.file.as_path(), e.line), (path.as_path(), None));
        assert!(e.message.contains("no result lines"), "{e}");
    }
    let e = report::sweep::load(&dir.join("missing.jsonl")).unwrap_err();
    assert!(e.message.contains("cannot read"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn copies_that_disagree_are_flagged_as_nondeterminism() {
    let dir = scratch("nondet");
    let path = dir.join("r.jsonl");
    let mut lines = fixture_lines();
    let mut rng = Lcg(3);
    let mut other = result(&mut rng, 21, "pass");
    other.trace_hash = "00000000000000ff".to_string();
    lines.push(line(&other));
    write(&path, &lines);
    report::render_sweep(&path, &dir).unwrap();
    let index = std::fs::read_to_string(dir.join(report::INDEX)).unwrap();
    let banner = index
        .find("<p class=\"banner fail\">NONDETERMINISM: 1 of 101 seeds")
        .expect("a banner");
    assert!(
        banner < index.find("<h2>Sweep</h2>").unwrap(),
        "above all else"
    );
    assert!(index.contains("seed 21 gave different results in 2 copies"));
    assert!(index.contains("00000000000000ff"));
    assert!(index.contains("nondeterminism 1"));
    let bars = std::fs::read_to_string(dir.join("sweep-verdicts.svg")).unwrap();
    assert!(bars.contains("nondeterminism (1)"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn charts_without_their_figures_are_left_out() {
    let dir = scratch("nofig");
    let path = dir.join("r.jsonl");
    let mut rng = Lcg(1);
    let lines: Vec<String> = (0..5)
        .map(|seed| {
            let mut r = result(&mut rng, seed, "pass");
            r.figures.clear();
            line(&r)
        })
        .collect();
    write(&path, &lines);
    let out = dir.join("out");
    let written = report::render_sweep(&path, &out).unwrap();
    assert_eq!(written.files.len(), 5, "{:?}", written.files);
    check_chart(&out, "sweep-verdicts");
    check_chart(&out, "sweep-events-cdf");
    assert!(!out.join("sweep-election-cdf.svg").exists());
    assert!(!out.join("sweep-elections.png").exists());
    let index = std::fs::read_to_string(out.join(report::INDEX)).unwrap();
    assert!(index.contains("<code>sweep-election-cdf</code>: no seed reported"));
    assert!(index.contains("<code>sweep-elections</code>: no seed reported"));
    assert!(index.contains("No seed reported a figure."));
    assert!(index.contains("PASS</span>: every seed passed"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_seed_charts() {
    let dir = scratch("one");
    let path = dir.join("r.jsonl");
    let mut rng = Lcg(2);
    write(&path, &[line(&result(&mut rng, 12_345, "safety"))]);
    let out = dir.join("out");
    report::render_sweep(&path, &out).unwrap();
    for stem in report::sweep::CHARTS {
        check_chart(&out, stem);
    }
    let index = std::fs::read_to_string(out.join(report::INDEX)).unwrap();
    assert!(index.contains("FINDINGS</span>: 1 of 1 seeds did not pass (100.0 %)"));
    let bars = std::fs::read_to_string(out.join("sweep-verdicts.svg")).unwrap();
    assert!(bars.contains("— r.jsonl, 1 seed\n"), "title");
    assert!(bars.contains("\n12345\n"), "the seed's tick is labelled");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Size bound for one SVG at any seed count.
const SVG_BYTES_MAX: usize = 1_000_000;

#[test]
fn a_hundred_thousand_seeds_stay_small() {
    let dir = scratch("big");
    let path = dir.join("r.jsonl");
    let mut rng = Lcg(9);
    let mut text = String::new();
    for seed in 1_000_000..1_100_000u64 {
        // Findings cluster in one stretch of seeds, and are rare elsewhere.
        let verdict = match (seed, rng.below(1_000)) {
            (1_040_000..1_045_000, r) if r < 300 => "safety",
            (_, 0) => "liveness",
            (_, 1) => "budget",
            _ => "pass",
        };
        text += &line(&result(&mut rng, seed, verdict));
    }
    std::fs::write(&path, text).unwrap();
    let out = dir.join("out");
    let written = report::render_sweep(&path, &out).unwrap();
    assert_eq!(written.files.len(), 9);
    for stem in report::sweep::CHARTS {
        check_chart(&out, stem);
        let svg = std::fs::metadata(out.join(format!("{stem}.svg"))).unwrap();
        assert!(
            (svg.len() as usize) < SVG_BYTES_MAX,
            "{stem}.svg is {} bytes",
            svg.len()
        );
    }
    let index = std::fs::read_to_string(out.join(report::INDEX)).unwrap();
    assert!(index.contains("<th>seeds</th><td>100000</td>"));
    assert!(
        index.contains("more findings, not shown"),
        "the table is bounded"
    );
    assert!(index.len() < 2_000_000, "index is {} bytes", index.len());
    let bars = std::fs::read_to_string(out.join("sweep-verdicts.svg")).unwrap();
    assert!(bars.contains("bars: 2000 seeds each"), "50 buckets of 2000");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The index and a chart's title of a sweep whose lines name `scenarios` in turn.
fn page_naming(name: &str, scenarios: &[Option<&str>]) -> (String, String) {
    let dir = scratch(name);
    let path = dir.join("r.jsonl");
    let mut rng = Lcg(3);
    let lines: Vec<String> = (0..6u64)
        .map(|seed| {
            let mut r = result(&mut rng, seed, "pass");
            r.scenario = scenarios[seed as usize % scenarios.len()].map(str::to_string);
            line(&r)
        })
        .collect();
    write(&path, &lines);
    let out = dir.join("out");
    report::render_sweep(&path, &out).unwrap();
    let index = std::fs::read_to_string(out.join(report::INDEX)).unwrap();
    let bars = std::fs::read_to_string(out.join("sweep-verdicts.svg")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (index, bars)
}

#[test]
fn the_page_names_the_scenarios_swept() {
    let ci = Some("ci (scenarios/ci.toml)");
    let (index, bars) = page_naming("one-scenario", &[ci]);
    assert!(index.contains("<title>zabsim sweep — ci (scenarios/ci.toml)</title>"));
    assert!(index.contains("<h1>zabsim sweep — ci (scenarios/ci.toml)</h1>"));
    assert!(
        bars.contains("Verdicts per seed bucket — ci, 6 seeds\n"),
        "chart title"
    );
    let (index, bars) = page_naming("two-scenarios", &[ci, Some("zab-3 (scenarios/zab-3.toml)")]);
    assert!(index.contains(
        "<h1>zabsim sweep — 2 scenarios: ci (scenarios/ci.toml), zab-3 (scenarios/zab-3.toml)</h1>"
    ));
    assert!(bars.contains("— 2 scenarios, 6 seeds\n"));
    let (index, _) = page_naming("mixed-scenarios", &[ci, None]);
    assert!(index.contains("<h1>zabsim sweep — ci (scenarios/ci.toml)</h1>"));
    assert!(index.contains("ci (scenarios/ci.toml) (3 lines name none)"));
    let (index, bars) = page_naming("no-scenario", &[None]);
    assert!(index.contains("<h1>zabsim sweep — scenario not recorded (r.jsonl)</h1>"));
    assert!(bars.contains("— r.jsonl, 6 seeds\n"));
}

fn sweep_of(seeds: impl Iterator<Item = u64>) -> report::sweep::SweepData {
    let mut rng = Lcg(4);
    let results = seeds.map(|s| result(&mut rng, s, "pass")).collect();
    report::sweep::SweepData::from_results("r.jsonl", results)
}

#[test]
fn bar_axes_end_at_the_tallest_bar() {
    // 200 seeds in 40 buckets of 5: the axis ends at 5 seeds, not at 10.
    let d = sweep_of(0..200);
    let bars = report::sweep::verdict_bars(&d);
    assert_eq!(bars.bins.width, 5);
    assert_eq!((bars.y().lo(), bars.y().hi()), (0.0, 5.0));
    // A bucket set with one short bucket: the tallest is still the bucket width.
    let d = sweep_of((0..200).filter(|s| !(10..13).contains(s)));
    assert_eq!(report::sweep::verdict_bars(&d).y().hi(), 5.0);
    // Elections per seed: the axis ends at the most seeds with one count.
    let bars = report::sweep::elections_bars(&d).unwrap();
    let tallest = bars.counts.iter().map(|c| c.iter().sum::<u64>()).max();
    assert_eq!(Some(bars.y().hi() as u64), tallest);
    assert!(bars.y().ticks().all(|t| t.fract() == 0.0), "whole seeds");
}

#[test]
fn figures_across_seeds_are_shown_in_their_unit() {
    let (dir, out, _) = fixture_report("units");
    let index = std::fs::read_to_string(out.join(report::INDEX)).unwrap();
    let row = index
        .lines()
        .find(|l| l.starts_with("<tr><td>election_ns_median</td>"))
        .expect("the figure's row");
    assert_eq!(
        row.matches(" ns\">").count(),
        4,
        "raw values as titles: {row}"
    );
    assert_eq!(
        row.matches(" s</td>").count() + row.matches(" ms</td>").count(),
        4,
        "{row}"
    );
    let commits = index
        .lines()
        .find(|l| l.starts_with("<tr><td>commits</td>"))
        .unwrap();
    assert!(!commits.contains("title="), "no unit, no title: {commits}");
    std::fs::remove_dir_all(&dir).unwrap();
}
