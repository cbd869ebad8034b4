//! A sweep's `index.html`, on the single-run page's frame and style: a nondeterminism
//! banner when copies of a seed disagree, the sweep's summary (seeds, seed range, regression
//! seeds, verdict counts), the findings with their details and `REPRO:` lines, figures
//! across seeds, then the charts (and which were left out, and why). Lists are bounded, so
//! the page stays readable at 100,000 seeds.

use std::fmt::Write;

use super::load::{SeedRow, SweepData, VERDICTS, Verdict};
use super::series::{self, percent_text};
use crate::html::{ChartRef, close, escape, figure, figure_cell, open, row};
use crate::series::nearest_rank;

/// Findings shown in full, at most (the rest are counted; the results file has them all).
pub const FINDINGS_SHOWN_MAX: usize = 1_000;
/// Characters of a finding's detail shown, at most.
pub const DETAIL_CHARS_MAX: usize = 4_000;
/// Seeds listed per verdict (and regression seeds listed), at most.
pub const SEEDS_LISTED_MAX: usize = 20;

/// A chart the page could not show, and why.
pub struct Omitted<'a> {
    pub stem: &'a str,
    pub reason: String,
}

/// Up to [`SEEDS_LISTED_MAX`] seeds, then how many more.
fn seed_list<'a>(seeds: impl Iterator<Item = &'a SeedRow>) -> String {
    let all: Vec<u64> = seeds.map(|r| r.seed).collect();
    let shown: Vec<String> = all
        .iter()
        .take(SEEDS_LISTED_MAX)
        .map(u64::to_string)
        .collect();
    let mut text = shown.join(", ");
    if all.len() > SEEDS_LISTED_MAX {
        write!(text, " … and {} more", all.len() - SEEDS_LISTED_MAX).unwrap();
    }
    text
}

fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Budget => "inconclusive",
        _ => "fail",
    }
}

/// `text` cut at [`DETAIL_CHARS_MAX`] characters.
fn clipped(text: &str) -> String {
    match text.char_indices().nth(DETAIL_CHARS_MAX) {
        None => text.to_string(),
        Some((at, _)) => format!(
            "{} … ({} more characters)",
            &text[..at],
            text[at..].chars().count()
        ),
    }
}

pub fn page(d: &SweepData, charts: &[ChartRef<'_>], omitted: &[Omitted<'_>]) -> String {
    assert!(!d.seeds.is_empty());
    let mut o = String::new();
    open(&mut o, &format!("zabsim sweep — {}", d.scenario_text()));
    nondeterminism(&mut o, d);
    summary(&mut o, d);
    verdicts(&mut o, d);
    findings(&mut o, d);
    figures(&mut o, d);
    o.push_str("<h2>Charts</h2>\n");
    o.push_str(
        "<p>Across the seeds of the sweep, one value per seed (figures as each run reported \
         them). Verdict colours are the same in every chart.</p>\n",
    );
    for c in charts {
        figure(&mut o, c);
    }
    if !omitted.is_empty() {
        o.push_str("<p>Left out:</p>\n<ul>\n");
        for m in omitted {
            writeln!(
                o,
                "<li><code>{}</code>: {}</li>",
                escape(m.stem),
                escape(&m.reason)
            )
            .unwrap();
        }
        o.push_str("</ul>\n");
    }
    close(&mut o);
    o
}

fn nondeterminism(o: &mut String, d: &SweepData) {
    let bad: Vec<&SeedRow> = d.nondeterministic().collect();
    if bad.is_empty() {
        return;
    }
    writeln!(
        o,
        "<p class=\"banner fail\">NONDETERMINISM: {} of {} seeds gave different results in \
         different copies (seeds {}). The same binary, scenario and seed must give the same \
         run; or this file mixes sweeps of different scenarios or builds. The findings below \
         list each seed's copies.</p>",
        bad.len(),
        d.seeds.len(),
        escape(&seed_list(bad.iter().copied()))
    )
    .unwrap();
}

/// The scenario(s) swept, and how many lines name none when some do.
fn scenario_line(d: &SweepData) -> String {
    let mut text = match d.scenarios.len() {
        0 => "not recorded (results written before lines named their scenario)".to_string(),
        _ => d.scenarios.join("; "),
    };
    if !d.scenarios.is_empty() && d.unnamed_lines > 0 {
        write!(text, " ({} lines name none)", d.unnamed_lines).unwrap();
    }
    text
}

fn summary(o: &mut String, d: &SweepData) {
    let counts = d.verdict_counts();
    let n = d.seeds.len() as u64;
    let found = series::findings(&counts);
    o.push_str("<h2>Sweep</h2>\n<table>\n");
    row(o, "results file", &escape(&d.file_name));
    row(o, "scenario", &escape(&scenario_line(d)));
    let repeated = d.seeds.iter().filter(|r| r.copies > 1).count();
    let mut lines = d.lines.to_string();
    if repeated > 0 {
        write!(
            lines,
            " ({} on more than one line; copies that agree are merged)",
            super::seeds_text(repeated)
        )
        .unwrap();
    }
    row(o, "result lines", &escape(&lines));
    row(o, "seeds", &n.to_string());
    let (first, last) = (d.seeds[0].seed, d.seeds[d.seeds.len() - 1].seed);
    row(
        o,
        "seed range",
        &format!("{first} – {last} (0x{first:x} – 0x{last:x})"),
    );
    let regression: Vec<&SeedRow> = d.seeds.iter().filter(|r| r.regression).collect();
    let regression_text = if regression.is_empty() {
        "none".to_string()
    } else {
        format!(
            "{}: {}",
            regression.len(),
            seed_list(regression.iter().copied())
        )
    };
    row(o, "regression seeds", &escape(&regression_text));
    let verdict = if found == 0 {
        "<span class=\"pass\">PASS</span>: every seed passed".to_string()
    } else if found == counts[Verdict::Budget.index()] {
        format!(
            "<span class=\"inconclusive\">INCONCLUSIVE</span>: {found} of {n} seeds hit a budget"
        )
    } else {
        format!(
            "<span class=\"fail\">FINDINGS</span>: {found} of {n} seeds did not pass ({} %)",
            percent_text(found, n)
        )
    };
    row(o, "verdict", &verdict);
    let each: Vec<String> = VERDICTS
        .iter()
        .filter(|v| counts[v.index()] > 0)
        .map(|v| format!("{} {}", v.name(), counts[v.index()]))
        .collect();
    row(o, "verdicts", &escape(&each.join(" · ")));
    let mut events: Vec<u64> = d.seeds.iter().map(|r| r.events).collect();
    events.sort_unstable();
    let total: u128 = events.iter().map(|&e| u128::from(e)).sum();
    row(
        o,
        "simulated events",
        &format!(
            "{total} in all; per seed p50 {}, max {}",
            nearest_rank(&events, 50),
            events[events.len() - 1]
        ),
    );
    o.push_str("</table>\n");
}

fn verdicts(o: &mut String, d: &SweepData) {
    let counts = d.verdict_counts();
    let n = d.seeds.len() as u64;
    o.push_str(
        "<h2>Verdicts</h2>\n<table>\n<tr><th>verdict</th><th>seeds</th><th>share %</th>\
         <th>seeds</th></tr>\n",
    );
    for v in VERDICTS {
        let c = counts[v.index()];
        if c == 0 {
            continue;
        }
        let list = if v == Verdict::Pass {
            String::new()
        } else {
            seed_list(d.seeds.iter().filter(|r| r.verdict == v))
        };
        writeln!(
            o,
            "<tr><td class=\"{}\">{}</td><td class=\"n\">{c}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            class(v),
            v.name(),
            percent_text(c, n),
            escape(&list)
        )
        .unwrap();
    }
    o.push_str("</table>\n");
}

fn findings(o: &mut String, d: &SweepData) {
    o.push_str("<h2>Findings</h2>\n");
    let all: Vec<&SeedRow> = d
        .seeds
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .collect();
    if all.is_empty() {
        o.push_str("<p>None: every seed passed.</p>\n");
        return;
    }
    o.push_str(
        "<table>\n<tr><th>seed</th><th>verdict</th><th>detail</th><th>reproduce</th></tr>\n",
    );
    for r in all.iter().take(FINDINGS_SHOWN_MAX) {
        let mut seed = r.seed.to_string();
        if r.regression {
            seed.push_str(" (regression)");
        }
        let repro = r.repro.as_deref().map_or("—".to_string(), |line| {
            format!("<code>REPRO: {}</code>", escape(line))
        });
        writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td class=\"{}\">{}</td><td><pre>{}</pre></td><td>{repro}</td></tr>",
            escape(&seed),
            class(r.verdict),
            r.verdict.name(),
            escape(&clipped(r.detail.as_deref().unwrap_or("")))
        )
        .unwrap();
    }
    o.push_str("</table>\n");
    if all.len() > FINDINGS_SHOWN_MAX {
        writeln!(
            o,
            "<p>… and {} more findings, not shown (the results file has every one).</p>",
            all.len() - FINDINGS_SHOWN_MAX
        )
        .unwrap();
    }
}

fn figures(o: &mut String, d: &SweepData) {
    o.push_str("<h2>Figures across seeds</h2>\n");
    let summaries = series::figure_summaries(&d.seeds);
    if summaries.is_empty() {
        o.push_str("<p>No seed reported a figure.</p>\n");
        return;
    }
    o.push_str(
        "<table>\n<tr><th>figure</th><th>seeds</th><th>min</th><th>p50</th><th>p95</th>\
         <th>max</th></tr>\n",
    );
    for s in summaries {
        writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td>{}{}{}{}</tr>",
            escape(&s.name),
            s.seeds,
            figure_cell(&s.name, s.min),
            figure_cell(&s.name, s.p50),
            figure_cell(&s.name, s.p95),
            figure_cell(&s.name, s.max)
        )
        .unwrap();
    }
    o.push_str(
        "</table>\n<p>Nearest rank over the seeds that reported each figure. Figures with a \
         unit in their name are shown in a readable unit; hover a value for the raw one.</p>\n",
    );
}
