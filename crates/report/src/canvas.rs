//! Drawing shared by every chart: the embedded font, sizes and colours, rendering one chart
//! to both SVG text and PNG bytes, the legend panel beside the plot, the simulated-time
//! axis, fault intervals as translucent labelled bands (a distinct colour per kind,
//! partitions and clock faults hatched) and the heal as a labelled dashed line.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use std::collections::BTreeSet;

use crate::axis::Axis;
use crate::load::FaultSpan;

/// DejaVu Sans 2.37 (Bitstream Vera license: assets/LICENSE-DejaVu.txt). Bitmaps are drawn
/// with it; SVGs name the family and leave the glyphs to the viewer.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
pub const FAMILY: &str = "sans-serif";

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 640;
/// The legend's panel at the right of the plot.
pub const LEGEND_WIDTH: u32 = 270;
pub const TITLE_SIZE: u32 = 22;
pub const LABEL_SIZE: u32 = 14;
pub const DESC_SIZE: u32 = 15;
pub const LEGEND_SIZE: u32 = 14;
const LEGEND_ROW: i32 = 22;
const LEGEND_ROWS_MAX: usize = 24;
/// How opaque a fault band is.
pub const BAND_ALPHA: f64 = 0.16;

pub const OK: RGBColor = RGBColor(31, 119, 180);
pub const FAIL: RGBColor = RGBColor(214, 39, 40);
pub const INFO: RGBColor = RGBColor(40, 40, 40);
pub const TEXT: RGBColor = RGBColor(30, 30, 30);
const GRID_BOLD: RGBColor = RGBColor(205, 205, 205);
const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);

/// Tableau 10, for series told apart by colour alone.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Every fault kind the kernel applies, in the legend's order of families.
pub const FAULT_KINDS: [&str; 13] = [
    "crash",
    "restart",
    "pause",
    "disk-slow",
    "loss",
    "partition-halves",
    "partition-isolate",
    "partition-bridge",
    "partition-one-way",
    "partition-ring",
    "clock-drift",
    "clock-jump",
    "heal",
];

/// A fault kind's colour: Okabe–Ito's colour-blind-safe hues first, then Paul Tol's for
/// the rest, no two alike; the families also differ by [`fault_hatch`].
pub fn fault_colour(kind: &str) -> RGBColor {
    match kind {
        "crash" => RGBColor(213, 94, 0),
        "restart" => RGBColor(230, 159, 0),
        "pause" => RGBColor(204, 121, 167),
        "disk-slow" => RGBColor(153, 153, 51),
        "loss" => RGBColor(136, 34, 85),
        "partition-halves" => RGBColor(0, 114, 178),
        "partition-isolate" => RGBColor(0, 158, 115),
        "partition-bridge" => RGBColor(86, 180, 233),
        "partition-one-way" => RGBColor(51, 34, 136),
        "partition-ring" => RGBColor(170, 68, 153),
        "clock-drift" => RGBColor(204, 187, 68),
        "clock-jump" => RGBColor(140, 81, 10),
        "heal" => HEAL,
        _ => RGBColor(127, 127, 127),
    }
}

/// How a band is patterned over its colour.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Hatch {
    Solid,
    /// Lines rising to the right (`/`).
    Rising,
    /// Lines falling to the right (`\`).
    Falling,
}

/// Partitions are hatched `/`, clock faults `\\`, the rest solid: the families stay apart
/// in greyscale, where colours alone merge.
pub fn fault_hatch(kind: &str) -> Hatch {
    if kind.starts_with("partition") {
        Hatch::Rising
    } else if kind.starts_with("clock") {
        Hatch::Falling
    } else {
        Hatch::Solid
    }
}

/// Pixels between hatch lines.
const HATCH_STEP: i32 = 12;

/// The hatch lines of the pixel box `x0..x1` × `y0..y1` (`y0` at the top): 45° lines on a
/// grid shared by every box, so that neighbouring bands line up.
pub fn hatch_lines(
    (x0, x1): (i32, i32),
    (y0, y1): (i32, i32),
    hatch: Hatch,
) -> Vec<[(i32, i32); 2]> {
    let h = y1 - y0;
    if hatch == Hatch::Solid || x1 <= x0 || h <= 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    // A line starts at the box's bottom (rising) or top (falling) at `s` and reaches
    // `s + h` at the other edge; `s` runs over the grid wherever the line meets the box.
    let mut s = (x0 - h).div_euclid(HATCH_STEP) * HATCH_STEP;
    while s <= x1 {
        let (a, b) = (s.max(x0), (s + h).min(x1));
        if a < b {
            let y = |x: i32| match hatch {
                Hatch::Rising => y1 - (x - s),
                _ => y0 + (x - s),
            };
            out.push([(a, y(a)), (b, y(b))]);
        }
        s += HATCH_STEP;
    }
    out
}

/// A box's hatch lines drawn on `area` (pixels relative to it).
fn draw_hatch<DB: DrawingBackend>(
    area: &Area<DB>,
    xs: (i32, i32),
    ys: (i32, i32),
    (hatch, colour): (Hatch, RGBColor),
) -> Result<(), String> {
    for line in hatch_lines(xs, ys, hatch) {
        area.draw(&PathElement::new(line.to_vec(), colour.mix(0.45)))
            .map_err(de)?;
    }
    Ok(())
}

/// One fault's band over the plot's height from `x0` to `x1`, in its kind's colour and
/// hatch.
fn draw_band<DB: DrawingBackend>(
    chart: &mut Plot<'_, DB>,
    (x0, x1): (f64, f64),
    y: &Axis,
    kind: &str,
) -> Result<(), String> {
    let colour = fault_colour(kind);
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(x0, y.lo()), (x1, y.hi())],
            colour.mix(BAND_ALPHA).filled(),
        )))
        .map_err(de)?;
    let (top_left, bottom_right) = (
        chart.backend_coord(&(x0, y.hi())),
        chart.backend_coord(&(x1, y.lo())),
    );
    let plot = chart.plotting_area();
    let (base_x, base_y) = plot.get_base_pixel();
    draw_hatch(
        &plot.strip_coord_spec(),
        (top_left.0 - base_x, bottom_right.0 - base_x),
        (top_left.1 - base_y, bottom_right.1 - base_y),
        (fault_hatch(kind), colour),
    )
}

/// A colour at 60 % brightness, for text in its hue.
pub fn darker(c: RGBColor) -> RGBColor {
    let d = |v: u8| (u16::from(v) * 3 / 5) as u8;
    RGBColor(d(c.0), d(c.1), d(c.2))
}

pub fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&TEXT)
}

/// Make the embedded font the one bitmaps are drawn with (once per process).
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("the embedded font assets/DejaVuSans.ttf does not parse");
        }
    });
}

/// A drawing error as text.
pub fn de<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    e.to_string()
}

/// One chart, drawable on any backend.
pub trait Chart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// A chart as both files.
pub struct Rendered {
    pub svg: String,
    pub png: Vec<u8>,
}

pub fn render<C: Chart>(chart: &C) -> Result<Rendered, String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        chart.draw(&root)?;
        root.present().map_err(de)?;
    }
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        chart.draw(&root)?;
        root.present().map_err(de)?;
    }
    assert!(svg.starts_with("<svg"), "plotters' SVG starts with <svg");
    let png = encode_png(&rgb, WIDTH, HEIGHT)?;
    Ok(Rendered { svg, png })
}

/// An RGB8 image as PNG bytes (no timestamps or text chunks: equal pixels, equal bytes).
pub fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    assert_eq!(rgb.len(), (width * height * 3) as usize);
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Default);
        encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(rgb).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
    }
    assert!(out.starts_with(b"\x89PNG\r\n\x1a\n"));
    Ok(out)
}

pub type Area<DB> = DrawingArea<DB, Shift>;

/// The title on top, then the plot's area and the legend's panel side by side.
pub fn layout<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<(Area<DB>, Area<DB>), String> {
    let body = root
        .titled(title, (FAMILY, TITLE_SIZE).into_font().color(&TEXT))
        .map_err(de)?;
    let (w, _) = body.dim_in_pixel();
    assert!(w > LEGEND_WIDTH * 2, "room for the plot");
    Ok(body.split_horizontally(w - LEGEND_WIDTH))
}

/// Dash and gap lengths in pixels of a dashed line…
pub const DASH: (u32, u32) = (6, 4);
/// …and of a dotted one.
pub const DOT: (u32, u32) = (2, 3);

/// A line through `points` in `colour`, 2 px wide, dashed as `(dash, gap)` says.
pub fn dashed<P: Clone>(
    points: Vec<P>,
    colour: RGBColor,
    (dash, gap): (u32, u32),
) -> DashedPathElement<std::vec::IntoIter<P>, u32> {
    DashedPathElement::new(points, dash, gap, colour.stroke_width(2))
}

/// How a legend entry's sample is drawn.
#[derive(Copy, Clone, Debug)]
pub enum Swatch {
    Line(RGBColor),
    Dot(RGBColor),
    Triangle(RGBColor),
    Cross(RGBColor),
    /// A fault's band, in its colour and hatch.
    Band(RGBColor, Hatch),
    /// A dashed line (the heal, failed operations).
    Dashed(RGBColor),
    /// A dotted line (unanswered operations).
    Dotted(RGBColor),
    /// A solid box (a bar's segment).
    Bar(RGBColor),
    /// Text only (a note under the entries).
    Blank,
}

#[derive(Clone, Debug)]
pub struct LegendEntry {
    pub swatch: Swatch,
    pub label: String,
}

impl LegendEntry {
    pub fn new(swatch: Swatch, label: impl Into<String>) -> LegendEntry {
        LegendEntry {
            swatch,
            label: label.into(),
        }
    }
}

/// The legend in its own panel (never over the data), top-aligned with the plot.
pub fn draw_legend<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    heading: &str,
    entries: &[LegendEntry],
) -> Result<(), String> {
    let x = 12;
    let mut y = 12;
    panel
        .draw(&Text::new(
            heading.to_string(),
            (x, y),
            font(LEGEND_SIZE + 1),
        ))
        .map_err(de)?;
    y += LEGEND_ROW + 4;
    let shown = entries.len().min(LEGEND_ROWS_MAX);
    for e in &entries[..shown] {
        let mid = y + LEGEND_ROW / 2 - 3;
        match e.swatch {
            Swatch::Line(c) => panel
                .draw(&PathElement::new(
                    vec![(x, mid), (x + 24, mid)],
                    c.stroke_width(3),
                ))
                .map_err(de)?,
            Swatch::Dot(c) => panel
                .draw(&Circle::new((x + 12, mid), 4, c.filled()))
                .map_err(de)?,
            Swatch::Triangle(c) => panel
                .draw(&TriangleMarker::new((x + 12, mid), 5, c.filled()))
                .map_err(de)?,
            Swatch::Cross(c) => panel
                .draw(&Cross::new((x + 12, mid), 5, c.stroke_width(2)))
                .map_err(de)?,
            Swatch::Band(c, hatch) => {
                panel
                    .draw(&Rectangle::new(
                        [(x, mid - 7), (x + 24, mid + 7)],
                        c.mix(BAND_ALPHA * 2.0).filled(),
                    ))
                    .map_err(de)?;
                draw_hatch(panel, (x, x + 24), (mid - 7, mid + 7), (hatch, c))?;
                panel
                    .draw(&Rectangle::new([(x, mid - 7), (x + 24, mid + 7)], c))
                    .map_err(de)?
            }
            Swatch::Dashed(c) => panel
                .draw(&dashed(vec![(x, mid), (x + 24, mid)], c, DASH))
                .map_err(de)?,
            Swatch::Dotted(c) => panel
                .draw(&dashed(vec![(x, mid), (x + 24, mid)], c, DOT))
                .map_err(de)?,
            Swatch::Bar(c) => panel
                .draw(&Rectangle::new(
                    [(x + 2, mid - 7), (x + 22, mid + 7)],
                    c.filled(),
                ))
                .map_err(de)?,
            Swatch::Blank => {}
        }
        panel
            .draw(&Text::new(
                e.label.clone(),
                (x + 34, mid - 8),
                font(LEGEND_SIZE),
            ))
            .map_err(de)?;
        y += LEGEND_ROW;
    }
    if entries.len() > shown {
        let more = format!("… and {} more", entries.len() - shown);
        panel
            .draw(&Text::new(more, (x + 34, y), font(LEGEND_SIZE)))
            .map_err(de)?;
    }
    Ok(())
}

/// The x axis of simulated time: milliseconds, or seconds for runs over 20 s.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimeScale {
    pub ns_per_unit: u64,
    pub unit: &'static str,
}

impl TimeScale {
    pub fn for_span(span_ns: u64) -> TimeScale {
        if span_ns > 20_000_000_000 {
            TimeScale {
                ns_per_unit: 1_000_000_000,
                unit: "s",
            }
        } else {
            TimeScale {
                ns_per_unit: 1_000_000,
                unit: "ms",
            }
        }
    }

    pub fn x(&self, ns: u64) -> f64 {
        ns as f64 / self.ns_per_unit as f64
    }

    pub fn axis(&self, span_ns: u64) -> Axis {
        Axis::linear_exact(0.0, self.x(span_ns))
    }

    pub fn desc(&self) -> String {
        format!("simulated time ({})", self.unit)
    }
}

/// A duration as people write it: `50 ms`, `2 s`, `500 µs`, `3 ns` (whole units only when
/// exact, else milliseconds with three decimals).
pub fn duration_label(ns: u64) -> String {
    for (unit, per) in [("s", 1_000_000_000), ("ms", 1_000_000), ("µs", 1_000)] {
        if ns >= per && ns.is_multiple_of(per) {
            return format!("{} {unit}", ns / per);
        }
    }
    if ns < 1_000 {
        return format!("{ns} ns");
    }
    format!("{} ms", ms_text(ns))
}

/// Nanoseconds as milliseconds with three decimals, by integer arithmetic.
pub fn ms_text(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000, ns / 1_000 % 1_000)
}

/// Milliseconds from nanoseconds, for latency axes.
pub fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// The processes a fault hit, as `p0,p2`.
pub fn processes_label(processes: &[u32]) -> String {
    let names: Vec<String> = processes.iter().map(|p| format!("p{p}")).collect();
    names.join(",")
}

/// A chart's plot with both axes ours and the standard mesh and axis descriptions.
pub type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

pub fn plot<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (x, y): (Axis, Axis),
    (x_desc, y_desc): (&str, &str),
    margin_top: u32,
) -> Result<Plot<'a, DB>, String> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(margin_top)
        .margin_left(8)
        .margin_right(20)
        .margin_bottom(8)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(de)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(DESC_SIZE))
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
        .x_labels(12)
        .y_labels(10)
        .draw()
        .map_err(de)?;
    Ok(chart)
}

/// Rows of fault labels in the strip above a plot.
pub const LABEL_ROWS: usize = 3;
const LABEL_ROW_HEIGHT: i32 = 15;
const LABEL_SIZE_PX: u32 = 12;
/// Width of a label character at [`LABEL_SIZE_PX`], for placing labels without overlap
/// (DejaVu Sans averages under 7 px there).
const LABEL_CHAR_PX: i32 = 7;

/// The top margin a plot needs for `labels` labels in the strip above it.
pub fn top_margin(labels: usize) -> u32 {
    let rows = labels.min(LABEL_ROWS) as u32;
    8 + rows * LABEL_ROW_HEIGHT as u32
}

fn fault_text(f: &FaultSpan) -> String {
    if f.processes.is_empty() {
        f.kind.clone()
    } else {
        format!("{} {}", f.kind, processes_label(&f.processes))
    }
}

/// The strip of labels above a plot: where each row's last label ends, in pixels of the
/// plot's drawing area, and where the plot's top and right edge are.
struct LabelStrip {
    row_end: [i32; LABEL_ROWS],
    plot_top: i32,
    plot_right: i32,
}

impl LabelStrip {
    fn new<DB: DrawingBackend>(area: &Area<DB>, chart: &Plot<'_, DB>) -> LabelStrip {
        let (base_x, base_y) = area.get_base_pixel();
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        LabelStrip {
            row_end: [i32::MIN; LABEL_ROWS],
            plot_top: ys.start - base_y,
            plot_right: xs.end - base_x,
        }
    }

    /// The topmost row (0 is the top) where a label from `start` overlaps no earlier label
    /// and its tick, down through the rows below, crosses none: the top of the rows free
    /// from `start` down to the plot.
    fn free_row(&self, start: i32) -> Option<usize> {
        let taken_below = (0..LABEL_ROWS).rev().find(|&r| self.row_end[r] >= start);
        match taken_below {
            None => Some(0),
            Some(r) if r + 1 < LABEL_ROWS => Some(r + 1),
            Some(_) => None,
        }
    }

    /// A tick from the plot's top at `x` up to a row, and `text` beside it in `colour`: to
    /// the right of the tick, or to its left when `left_of` is set, in the
    /// [`Self::free_row`]. With no row free the text is left out and the tick is a stub (the
    /// band, the line and the legend still show the mark).
    fn label<DB: DrawingBackend>(
        &mut self,
        area: &Area<DB>,
        (x, text, colour): (i32, String, RGBColor),
        left_of: bool,
    ) -> Result<(), String> {
        let width = text.chars().count() as i32 * LABEL_CHAR_PX;
        let start = if left_of { x - 3 - width } else { x + 3 };
        let free_row = self.free_row(start);
        let y = match free_row {
            Some(row) => self.plot_top - (LABEL_ROWS - row) as i32 * LABEL_ROW_HEIGHT,
            None => self.plot_top - 5,
        };
        area.draw(&PathElement::new(
            vec![(x, y + 2), (x, self.plot_top)],
            colour.mix(0.8),
        ))
        .map_err(de)?;
        if let Some(row) = free_row {
            self.row_end[row] = start + width + 3;
            let dark = darker(colour);
            area.draw(&Text::new(
                text,
                (start, y),
                font(LABEL_SIZE_PX).color(&dark),
            ))
            .map_err(de)?;
        }
        Ok(())
    }
}

/// The heal's line and legend colour.
pub const HEAL: RGBColor = RGBColor(50, 50, 50);
/// The heal's label over its line.
pub const HEAL_LABEL: &str = "heal";

/// Fault intervals as translucent bands over the plot's height, ending where
/// [`FaultSpan::band_until_ns`] says (at the latest the heal; instantaneous ones as a
/// line), each labelled with its kind and processes in the strip above the plot (the plot
/// must have been built with [`top_margin`]); then the heal (`heal_ns`, when on the axis)
/// as a dashed line labelled [`HEAL_LABEL`]. Labels take the topmost of [`LABEL_ROWS`]
/// rows where neither they nor their ticks cross an earlier label; with none free, a mark
/// keeps its band or line but no text.
pub fn draw_faults<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &mut Plot<'_, DB>,
    (x_axis, y_axis): (&Axis, &Axis),
    (faults, heal_ns): (&[FaultSpan], Option<u64>),
    time: TimeScale,
) -> Result<(), String> {
    let base_x = area.get_base_pixel().0;
    let mut strip = LabelStrip::new(area, chart);
    for f in faults {
        let colour = fault_colour(&f.kind);
        let x0 = x_axis.clamp(time.x(f.at_ns));
        match f.band_until_ns {
            Some(until) if until > f.at_ns => {
                let x1 = x_axis.clamp(time.x(until));
                draw_band(chart, (x0, x1), y_axis, &f.kind)?;
            }
            _ => {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x0, y_axis.lo()), (x0, y_axis.hi())],
                        colour.mix(0.8).stroke_width(2),
                    )))
                    .map_err(de)?;
            }
        }
        let left = chart.backend_coord(&(x0, y_axis.hi())).0 - base_x;
        strip.label(area, (left, fault_text(f), colour), false)?;
    }
    if let Some(heal) = heal_ns {
        let x = x_axis.clamp(time.x(heal));
        chart
            .draw_series(std::iter::once(dashed(
                vec![(x, y_axis.lo()), (x, y_axis.hi())],
                HEAL,
                DASH,
            )))
            .map_err(de)?;
        let px = chart.backend_coord(&(x, y_axis.hi())).0 - base_x;
        let width = HEAL_LABEL.len() as i32 * LABEL_CHAR_PX;
        let left_of = px + 3 + width > strip.plot_right;
        strip.label(area, (px, HEAL_LABEL.to_string(), HEAL), left_of)?;
    }
    Ok(())
}

/// The heal's legend entry.
pub fn heal_legend(heal_ns: u64) -> LegendEntry {
    let at = crate::units::duration(heal_ns);
    LegendEntry::new(Swatch::Dashed(HEAL), format!("heal at {at}: faults end"))
}

/// The distinct fault kinds, for the legend.
pub fn fault_legend(faults: &[FaultSpan]) -> Vec<LegendEntry> {
    let kinds: BTreeSet<&str> = faults.iter().map(|f| f.kind.as_str()).collect();
    kinds
        .into_iter()
        .map(|k| {
            let swatch = Swatch::Band(fault_colour(k), fault_hatch(k));
            LegendEntry::new(swatch, format!("fault: {k}"))
        })
        .collect()
}

/// A note in the middle of an empty plot.
pub fn draw_empty_note<DB: DrawingBackend>(
    chart: &mut Plot<'_, DB>,
    (x, y): (&Axis, &Axis),
    note: &str,
) -> Result<(), String> {
    let at = (x.at_fraction(0.4), y.at_fraction(0.55));
    chart
        .draw_series(std::iter::once(Text::new(note.to_string(), at, font(18))))
        .map_err(de)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "redmean" distance between two colours (0 ..= about 765).
    fn distance(a: RGBColor, b: RGBColor) -> f64 {
        let r = (f64::from(a.0) + f64::from(b.0)) / 2.0;
        let d = |x: u8, y: u8| f64::from(x) - f64::from(y);
        let (dr, dg, db) = (d(a.0, b.0), d(a.1, b.1), d(a.2, b.2));
        ((2.0 + r / 256.0) * dr * dr + 4.0 * dg * dg + (2.0 + (255.0 - r) / 256.0) * db * db).sqrt()
    }

    #[test]
    fn fault_kinds_have_clearly_distinct_colours() {
        let other = fault_colour("something-new");
        for (i, a) in FAULT_KINDS.iter().enumerate() {
            assert!(distance(fault_colour(a), other) > 60.0, "{a} looks unknown");
            for b in &FAULT_KINDS[i + 1..] {
                let d = distance(fault_colour(a), fault_colour(b));
                assert!(d > 100.0, "{a} and {b} are too alike ({d:.0})");
            }
        }
        // Partitions and clock faults are told apart by hatching too (in greyscale).
        assert_eq!(fault_hatch("partition-ring"), Hatch::Rising);
        assert_eq!(fault_hatch("clock-jump"), Hatch::Falling);
        assert_eq!(fault_hatch("crash"), Hatch::Solid);
    }

    #[test]
    fn labels_and_their_ticks_cross_no_earlier_label() {
        let mut strip = LabelStrip {
            row_end: [i32::MIN; LABEL_ROWS],
            plot_top: 60,
            plot_right: 900,
        };
        assert_eq!(strip.free_row(10), Some(0));
        strip.row_end[0] = 100;
        assert_eq!(strip.free_row(50), Some(1), "under a label in the top row");
        strip.row_end[1] = 80;
        assert_eq!(strip.free_row(90), Some(1), "past the end of row 1's label");
        strip.row_end[2] = 200;
        // Row 0 is free at 150, but the tick from it would cross row 2's label.
        assert_eq!(strip.free_row(150), None);
        assert_eq!(strip.free_row(201), Some(0));
    }

    #[test]
    fn hatch_lines_stay_in_their_box() {
        let lines = hatch_lines((100, 160), (20, 80), Hatch::Rising);
        assert!(!lines.is_empty());
        for [(x0, y0), (x1, y1)] in &lines {
            assert!(
                (100..=160).contains(x0) && (100..=160).contains(x1),
                "{lines:?}"
            );
            assert!(
                (20..=80).contains(y0) && (20..=80).contains(y1),
                "{lines:?}"
            );
            assert_eq!(x1 - x0, y0 - y1, "45° rising");
        }
        let falling = hatch_lines((100, 160), (20, 80), Hatch::Falling);
        assert!(
            falling
                .iter()
                .all(|[(x0, y0), (x1, y1)]| x1 - x0 == y1 - y0)
        );
        assert!(hatch_lines((100, 160), (20, 80), Hatch::Solid).is_empty());
        assert!(hatch_lines((100, 100), (20, 80), Hatch::Rising).is_empty());
    }
}
