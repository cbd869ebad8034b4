//! The report of a whole sweep (`zabsim report RESULTS.jsonl`): from the results file that
//! `zabsim fuzz --results` (or `zabsim merge --out`) wrote, four charts across seeds — each
//! as SVG and PNG, drawn like a run's charts — and an `index.html`. The charts: verdicts per
//! seed bucket (where findings cluster), the CDF of election times, the CDF of simulated
//! events per seed by verdict, and leader elections per seed by verdict. A chart whose
//! figure no seed reported is left out and the index says so. Work and file sizes are
//! bounded by bucket and point counts, not by seeds; equal files give equal bytes.

pub mod charts;
pub mod html;
pub mod load;
pub mod series;

use charts::{Curve, SeedCdf, StackedBars, WholeAxis, verdict_colour};
pub use load::{SweepData, Verdict, load};
use series::Bins;

use crate::canvas::{self, Rendered};
use crate::html::ChartRef;

/// The charts, by file stem, in the order the index shows them.
pub const CHARTS: [&str; 4] = [
    "sweep-verdicts",
    "sweep-election-cdf",
    "sweep-events-cdf",
    "sweep-elections",
];
/// Seed buckets in the verdict chart, at most.
pub const SEED_BUCKETS_MAX: usize = 50;
/// Bars in the elections chart, at most.
pub const ELECTION_BINS_MAX: usize = 40;

/// The figures the charts read.
pub const ELECTION_MEDIAN: &str = "election_ns_median";
pub const ELECTION_MAX: &str = "election_ns_max";
pub const ELECTIONS: &str = "elections";

/// `1 seed`, `2 seeds`.
pub fn seeds_text(n: usize) -> String {
    if n == 1 {
        "1 seed".to_string()
    } else {
        format!("{n} seeds")
    }
}

/// `what — scenario, N seeds`.
fn title(d: &SweepData, what: &str, seeds: usize) -> String {
    format!("{what} — {}, {}", d.scenario_short(), seeds_text(seeds))
}

/// Chart 1: seeds per seed bucket, stacked by verdict. Regression seeds replayed from
/// outside the sweep's range are left out of the buckets (they would stretch them).
pub fn verdict_bars(d: &SweepData) -> StackedBars {
    let swept: Vec<&load::SeedRow> = d.seeds.iter().filter(|r| r.swept).collect();
    let rows = if swept.is_empty() {
        d.seeds.iter().collect()
    } else {
        swept
    };
    let left_out = d.seeds.len() - rows.len();
    let bins = Bins::choose(rows[0].seed, rows[rows.len() - 1].seed, SEED_BUCKETS_MAX);
    let counts = series::stack(rows.iter().map(|r| (r.seed, r.verdict)), bins);
    let x = WholeAxis::new(bins);
    let mut notes = Vec::new();
    if bins.width > 1 {
        notes.push(format!("bars: {} seeds each", bins.width));
    }
    notes.push("numbers: seeds that did not pass".to_string());
    if left_out > 0 {
        let s = if left_out == 1 { "" } else { "s" };
        notes.push(format!("{left_out} regression seed{s} outside"));
        notes.push("the sweep: in the index".to_string());
    }
    StackedBars {
        title: title(d, "Verdicts per seed bucket", rows.len()),
        x_desc: x.desc("seed"),
        x,
        bins,
        counts,
        legend_heading: "Verdict (seeds)".to_string(),
        notes,
    }
}

/// Chart 2: the CDF of each seed's median and slowest election, over the seeds that had an
/// election. None when no seed reported one.
pub fn election_cdf(d: &SweepData) -> Option<SeedCdf> {
    let had_election = |r: &load::SeedRow| r.figure(ELECTIONS) != Some(0);
    let median = series::figure_values(&d.seeds, ELECTION_MEDIAN, had_election);
    if median.is_empty() {
        return None;
    }
    let max = series::figure_values(&d.seeds, ELECTION_MAX, had_election);
    let mut curves = vec![Curve {
        label: "median election".to_string(),
        colour: canvas::palette(0),
        sorted: median,
    }];
    if !max.is_empty() {
        curves.push(Curve {
            label: "slowest election".to_string(),
            colour: canvas::palette(3),
            sorted: max,
        });
    }
    let without = d.seeds.iter().filter(|r| !had_election(r)).count();
    let mut notes = vec![
        "per seed: the median and the".to_string(),
        "slowest of its elections".to_string(),
    ];
    if without > 0 {
        notes.push(format!("{} without an election", seeds_text(without)));
    }
    Some(SeedCdf {
        title: title(d, "Time to elect a leader", curves[0].sorted.len()),
        what: "time until a leader was established (ms)".to_string(),
        curves,
        scale: canvas::ms,
        text: crate::units::duration,
        legend_heading: "Election per seed".to_string(),
        notes,
    })
}

/// Chart 3: the CDF of simulated events per seed, per verdict and over all seeds. Seeds
/// that never ran (panic, input) are left out. None when no seed ran.
pub fn events_cdf(d: &SweepData) -> Option<SeedCdf> {
    let ran = |v: Verdict| !matches!(v, Verdict::Panic | Verdict::Input);
    let mut curves = Vec::new();
    for v in load::VERDICTS.into_iter().filter(|&v| ran(v)) {
        let mut sorted: Vec<u64> = d
            .seeds
            .iter()
            .filter(|r| r.verdict == v)
            .map(|r| r.events)
            .collect();
        if sorted.is_empty() {
            continue;
        }
        sorted.sort_unstable();
        curves.push(Curve {
            label: v.name().to_string(),
            colour: verdict_colour(v),
            sorted,
        });
    }
    if curves.is_empty() {
        return None;
    }
    let seeds: usize = curves.iter().map(|c| c.sorted.len()).sum();
    if curves.len() > 1 {
        let mut all: Vec<u64> = curves.iter().flat_map(|c| c.sorted.clone()).collect();
        all.sort_unstable();
        curves.insert(
            0,
            Curve {
                label: "all".to_string(),
                colour: canvas::INFO,
                sorted: all,
            },
        );
    }
    let mut notes = Vec::new();
    let never = d.seeds.len() - seeds;
    if never > 0 {
        notes.push(format!("{} left out: panic/input", seeds_text(never)));
    }
    Some(SeedCdf {
        title: title(d, "Simulated events per seed", seeds),
        what: "kernel events in the run".to_string(),
        curves,
        scale: |v| v as f64,
        text: |v| v.to_string(),
        legend_heading: "Verdict".to_string(),
        notes,
    })
}

/// Chart 4: how many leader elections each seed had, stacked by verdict — whether findings
/// come with more elections (more faults hit a leader). None when no seed reported it.
pub fn elections_bars(d: &SweepData) -> Option<StackedBars> {
    let rows: Vec<(u64, Verdict)> = d
        .seeds
        .iter()
        .filter_map(|r| Some((r.figure(ELECTIONS)?, r.verdict)))
        .collect();
    let lo = rows.iter().map(|&(v, _)| v).min()?;
    let hi = rows.iter().map(|&(v, _)| v).max()?;
    let bins = Bins::choose(lo, hi, ELECTION_BINS_MAX);
    let counts = series::stack(rows.iter().copied(), bins);
    let x = WholeAxis::new(bins);
    let mut notes = Vec::new();
    if bins.width > 1 {
        notes.push(format!("bars: {} values each", bins.width));
    }
    notes.push("numbers: seeds that did not pass".to_string());
    Some(StackedBars {
        title: title(d, "Leader elections per seed", rows.len()),
        x_desc: x.desc("leader elections in the run"),
        x,
        bins,
        counts,
        legend_heading: "Verdict (seeds)".to_string(),
        notes,
    })
}

/// Every output file's name and contents, in a fixed order: each drawn chart's SVG and
/// PNG, then the index.
pub fn render_data(d: &SweepData) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut shown: Vec<ChartRef<'_>> = Vec::new();
    let mut omitted: Vec<html::Omitted<'_>> = Vec::new();
    let mut push = |stem: &'static str, r: Rendered, caption: String| {
        out.push((format!("{stem}.svg"), r.svg.into_bytes()));
        out.push((format!("{stem}.png"), r.png));
        shown.push(ChartRef { stem, caption });
    };
    let bars = verdict_bars(d);
    let bucket = if bars.bins.width == 1 {
        "one bar per seed".to_string()
    } else {
        format!("buckets of {} seeds", bars.bins.width)
    };
    push(
        CHARTS[0],
        canvas::render(&bars)?,
        format!(
            "Seeds per verdict over the seed range ({bucket}); the number over a bar counts \
             its seeds that did not pass"
        ),
    );
    match election_cdf(d) {
        Some(c) => push(
            CHARTS[1],
            canvas::render(&c)?,
            "Distribution (CDF) across seeds of the median and the slowest election time \
             of each seed"
                .to_string(),
        ),
        None => omitted.push(html::Omitted {
            stem: CHARTS[1],
            reason: format!("no seed reported `{ELECTION_MEDIAN}` with an election"),
        }),
    }
    match events_cdf(d) {
        Some(c) => push(
            CHARTS[2],
            canvas::render(&c)?,
            "Distribution (CDF) across seeds of simulated events per run, by verdict".to_string(),
        ),
        None => omitted.push(html::Omitted {
            stem: CHARTS[2],
            reason: "no seed ran to a verdict (every one panicked or had bad input)".into(),
        }),
    }
    match elections_bars(d) {
        Some(c) => push(
            CHARTS[3],
            canvas::render(&c)?,
            "Seeds by number of leader elections in the run, stacked by verdict".to_string(),
        ),
        None => omitted.push(html::Omitted {
            stem: CHARTS[3],
            reason: format!("no seed reported `{ELECTIONS}`"),
        }),
    }
    assert_eq!(shown.len() + omitted.len(), CHARTS.len());
    let page = html::page(d, &shown, &omitted);
    out.push((crate::INDEX.to_string(), page.into_bytes()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts() {
        assert_eq!(seeds_text(1), "1 seed");
        assert_eq!(seeds_text(0), "0 seeds");
    }
}
