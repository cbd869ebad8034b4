//! The two kinds of chart a sweep is drawn with, on the shared canvas: stacked bars of
//! seeds per bin by verdict (findings at the bottom of each bar, their count written over
//! it, so that a handful among thousands of passes still shows), and empirical CDFs across
//! seeds, one step line per curve (at most `charts::cdf::POINTS_PER_CURVE_MAX` points each,
//! whatever the seed count).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::load::{VERDICTS, Verdict};
use super::series::{self, Bins, Counts};
use crate::axis::Axis;
use crate::canvas::{self, Chart, LegendEntry, Swatch, de};
use crate::charts::cdf::step_points;
use crate::series::nearest_rank;

/// A verdict's colour, in bars and lines alike.
pub fn verdict_colour(v: Verdict) -> RGBColor {
    match v {
        Verdict::Pass => RGBColor(116, 196, 118),
        Verdict::Budget => RGBColor(230, 171, 2),
        Verdict::Liveness => RGBColor(255, 127, 14),
        Verdict::Safety => RGBColor(214, 39, 40),
        Verdict::Panic => RGBColor(148, 103, 189),
        Verdict::Input => RGBColor(127, 127, 127),
        Verdict::Nondeterminism => RGBColor(200, 30, 160),
        Verdict::RegressionMoved => RGBColor(140, 86, 75),
    }
}

/// Bottom to top within a bar: the gravest findings at the base, where their height reads
/// from zero; passes on top.
const STACK_ORDER: [Verdict; 8] = [
    Verdict::Nondeterminism,
    Verdict::Panic,
    Verdict::Safety,
    Verdict::Liveness,
    Verdict::RegressionMoved,
    Verdict::Budget,
    Verdict::Input,
    Verdict::Pass,
];

/// The x axis of whole numbers binned by [`Bins`]: value `v` spans `v − ½ .. v + ½`, so a
/// bin of one value is a bar centred on its tick. Values at or past 2^52 are shown relative
/// to the first bin (f64 keeps whole numbers exact only below 2^53).
#[derive(Clone, Debug)]
pub struct WholeAxis {
    pub axis: Axis,
    /// Subtracted from every value before it is placed.
    pub base: u128,
}

/// Narrowest axis span in units, so that ticks fall on whole numbers.
const SPAN_MIN: f64 = 8.0;

impl WholeAxis {
    pub fn new(bins: Bins) -> WholeAxis {
        let end = bins.end(bins.count - 1);
        let base = if end >= 1 << 52 { bins.start } else { 0 };
        let lo = (bins.start - base) as f64 - 0.5;
        let hi = (end - base) as f64 - 0.5;
        // Pad short ranges around the bars, never below −½ (values are unsigned).
        let pad = ((SPAN_MIN - (hi - lo)) / 2.0).max(0.0).ceil();
        let lo2 = (lo - pad).max(-0.5);
        let hi2 = (hi + pad).max(lo2 + SPAN_MIN);
        WholeAxis {
            axis: Axis::linear_within(lo2, hi2),
            base,
        }
    }

    /// Where bin `i` of `bins` starts and ends on the axis, narrowed by a gap on each side.
    pub fn bar(&self, bins: Bins, i: usize) -> (f64, f64) {
        let x0 = (bins.start(i) - self.base) as f64 - 0.5;
        let x1 = (bins.end(i) - self.base) as f64 - 0.5;
        let gap = (x1 - x0) * 0.08;
        (x0 + gap, x1 - gap)
    }

    /// The axis description: `what`, relative to the base when there is one.
    pub fn desc(&self, what: &str) -> String {
        if self.base == 0 {
            what.to_string()
        } else {
            format!("{what} − {}", self.base)
        }
    }
}

/// Seeds per bin, stacked by verdict.
pub struct StackedBars {
    pub title: String,
    pub x: WholeAxis,
    pub x_desc: String,
    pub bins: Bins,
    pub counts: Vec<Counts>,
    pub legend_heading: String,
    /// Lines under the verdicts in the legend.
    pub notes: Vec<String>,
}

/// Room above the plot for the findings' labels over the tallest bars (two staggered rows).
const LABEL_MARGIN: u32 = 34;
const BAR_LABEL_SIZE: u32 = 12;
/// Width of one label character in pixels, near enough for the overlap test.
const BAR_LABEL_CHAR_PX: i32 = 7;

impl StackedBars {
    /// Seeds from 0 to exactly the tallest bar (never above: a bucket holds at most its
    /// width in seeds, and the findings' labels sit in the margin above the plot).
    pub fn y(&self) -> Axis {
        let tallest = self.counts.iter().map(|c| c.iter().sum::<u64>()).max();
        Axis::counts(tallest.unwrap_or(0))
    }

    fn totals(&self) -> Counts {
        let mut t = [0u64; VERDICTS.len()];
        for c in &self.counts {
            for (i, n) in c.iter().enumerate() {
                t[i] += n;
            }
        }
        t
    }
}

impl Chart for StackedBars {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        assert_eq!(self.counts.len(), self.bins.count);
        let (area, legend) = canvas::layout(root, &self.title)?;
        let y = self.y();
        let mut chart = canvas::plot(
            &area,
            (self.x.axis.clone(), y.clone()),
            (&self.x_desc, "seeds"),
            LABEL_MARGIN,
        )?;
        let mut rects = Vec::new();
        for (i, c) in self.counts.iter().enumerate() {
            let (x0, x1) = self.x.bar(self.bins, i);
            let mut bottom = 0u64;
            for v in STACK_ORDER {
                let n = c[v.index()];
                if n == 0 {
                    continue;
                }
                let top = bottom + n;
                rects.push(Rectangle::new(
                    [(x0, bottom as f64), (x1, top as f64)],
                    verdict_colour(v).filled(),
                ));
                bottom = top;
            }
        }
        chart.draw_series(rects).map_err(de)?;
        // Each bar's findings, written over it; staggered where the labels would touch.
        let crowded = self.counts.iter().enumerate().any(|(i, c)| {
            let (x0, x1) = self.x.bar(self.bins, i);
            let px = chart.backend_coord(&(x1, 0.0)).0 - chart.backend_coord(&(x0, 0.0)).0;
            let text = series::count_text(series::findings(c)).len() as i32;
            text * BAR_LABEL_CHAR_PX + 4 > px
        });
        let label_colour = canvas::darker(verdict_colour(Verdict::Safety));
        let style = canvas::font(BAR_LABEL_SIZE)
            .color(&label_colour)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        let mut labels = Vec::new();
        for (i, c) in self.counts.iter().enumerate() {
            let found = series::findings(c);
            if found == 0 {
                continue;
            }
            let (x0, x1) = self.x.bar(self.bins, i);
            let total = c.iter().sum::<u64>() as f64;
            let lift = if crowded && i % 2 == 1 { -17 } else { -3 };
            labels.push(
                EmptyElement::at(((x0 + x1) / 2.0, total))
                    + Text::new(series::count_text(found), (0, lift), style.clone()),
            );
        }
        chart.draw_series(labels).map_err(de)?;
        let totals = self.totals();
        let mut entries: Vec<LegendEntry> = STACK_ORDER
            .iter()
            .rev()
            .filter(|v| totals[v.index()] > 0)
            .map(|&v| {
                LegendEntry::new(
                    Swatch::Bar(verdict_colour(v)),
                    format!("{} ({})", v.name(), totals[v.index()]),
                )
            })
            .collect();
        entries.extend(
            self.notes
                .iter()
                .map(|n| LegendEntry::new(Swatch::Blank, n.clone())),
        );
        canvas::draw_legend(&legend, &self.legend_heading, &entries)
    }
}

/// One curve of a [`SeedCdf`]: values across seeds, ascending, non-empty.
pub struct Curve {
    pub label: String,
    pub colour: RGBColor,
    pub sorted: Vec<u64>,
}

/// Values across seeds as empirical CDFs.
pub struct SeedCdf {
    pub title: String,
    /// What the values are, with their unit (`election time (ms)`).
    pub what: String,
    pub curves: Vec<Curve>,
    /// A value's place on the x axis (nanoseconds to milliseconds, or as is).
    pub scale: fn(u64) -> f64,
    /// A value as the legend writes it.
    pub text: fn(u64) -> String,
    pub legend_heading: String,
    pub notes: Vec<String>,
}

/// The x axis turns logarithmic when the largest value exceeds the smallest positive one by
/// more than this.
const LOG_RATIO: f64 = 20.0;

impl SeedCdf {
    fn x(&self) -> Axis {
        let lo = self
            .curves
            .iter()
            .filter_map(|c| c.sorted.iter().copied().find(|&v| v > 0))
            .min();
        let hi = self.curves.iter().filter_map(|c| c.sorted.last()).max();
        match (lo, hi) {
            (Some(lo), Some(&hi)) => {
                let axis = Axis::auto((self.scale)(lo), (self.scale)(hi), LOG_RATIO);
                if axis.is_log() {
                    axis
                } else {
                    let least = self.curves.iter().map(|c| c.sorted[0]).min().unwrap_or(0);
                    let from = linear_start(least, hi);
                    Axis::linear((self.scale)(from), (self.scale)(hi) * 1.05)
                }
            }
            _ => Axis::linear(0.0, 1.0),
        }
    }
}

/// Where a linear axis over values `least ..= most` starts: at 0, unless the values all lie
/// above a third of the largest (then the axis would be mostly empty; it starts near the
/// smallest, on a whole step).
pub fn linear_start(least: u64, most: u64) -> u64 {
    if least < most && least > most / 3 {
        least
    } else {
        0
    }
}

impl Chart for SeedCdf {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        assert!(self.curves.iter().all(|c| !c.sorted.is_empty()));
        let (area, legend) = canvas::layout(root, &self.title)?;
        let x = self.x();
        let y = Axis::linear(0.0, 100.0);
        let x_desc = if x.is_log() {
            format!("{}, log scale", self.what)
        } else {
            self.what.clone()
        };
        let mut chart = canvas::plot(
            &area,
            (x.clone(), y.clone()),
            (&x_desc, "seeds at or below (%)"),
            canvas::top_margin(0),
        )?;
        let mut entries = Vec::new();
        for c in &self.curves {
            let points: Vec<(f64, f64)> = step_points(&c.sorted, self.scale)
                .into_iter()
                .map(|(px, py)| (x.clamp(px), py))
                .collect();
            chart
                .draw_series(LineSeries::new(points, c.colour.stroke_width(2)))
                .map_err(de)?;
            entries.push(LegendEntry::new(
                Swatch::Line(c.colour),
                format!("{} ({})", c.label, super::seeds_text(c.sorted.len())),
            ));
            entries.push(LegendEntry::new(
                Swatch::Blank,
                format!(
                    "p50 {} · p99 {}",
                    (self.text)(nearest_rank(&c.sorted, 50)),
                    (self.text)(nearest_rank(&c.sorted, 99))
                ),
            ));
        }
        if self.curves.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &y), "no seed has this figure")?;
        }
        entries.extend(
            self.notes
                .iter()
                .map(|n| LegendEntry::new(Swatch::Blank, n.clone())),
        );
        canvas::draw_legend(&legend, &self.legend_heading, &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_axes_skip_an_empty_stretch_from_zero() {
        assert_eq!(linear_start(19_000, 45_712), 19_000);
        assert_eq!(linear_start(211, 2_637), 0);
        assert_eq!(linear_start(500, 500), 0, "one value: from zero");
        let cdf = SeedCdf {
            title: String::new(),
            what: String::new(),
            curves: vec![Curve {
                label: "pass".into(),
                colour: canvas::INFO,
                sorted: vec![19_100, 30_000, 45_712],
            }],
            scale: |v| v as f64,
            text: |v| v.to_string(),
            legend_heading: String::new(),
            notes: Vec::new(),
        };
        let x = cdf.x();
        assert!(x.lo() > 10_000.0 && x.lo() <= 19_100.0, "{x:?}");
        assert!(x.hi() >= 45_712.0);
    }

    #[test]
    fn whole_axes_centre_single_values_and_pad_short_ranges() {
        let b = Bins::choose(42, 42, 50);
        let w = WholeAxis::new(b);
        assert_eq!(w.base, 0);
        assert!(w.axis.lo() < 41.5 && w.axis.hi() > 42.5);
        assert!(w.axis.hi() - w.axis.lo() >= SPAN_MIN);
        let (x0, x1) = w.bar(b, 0);
        assert!((x0 + x1) / 2.0 == 42.0, "{x0}..{x1}");
        let b = Bins::choose(0, 303, 50);
        let w = WholeAxis::new(b);
        assert_eq!((w.axis.lo(), w.axis.hi()), (-0.5, 309.5));
        let big = u64::MAX - 10;
        let b = Bins::choose(big, u64::MAX, 50);
        let w = WholeAxis::new(b);
        assert_eq!(w.base, b.start);
        assert!(w.desc("seed").starts_with("seed − "));
    }
}
