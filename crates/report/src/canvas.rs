//! Drawing shared by every chart: the embedded font, sizes and colours, rendering one chart
//! to both SVG text and PNG bytes, the legend panel beside the plot, the simulated-time
//! axis, and fault intervals as translucent labelled bands.

use plotters::coord::Shift;
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

/// A band's colour by fault kind.
pub fn fault_colour(kind: &str) -> RGBColor {
    match kind {
        "crash" => RGBColor(255, 140, 0),
        "restart" => RGBColor(230, 190, 0),
        "pause" => RGBColor(140, 86, 75),
        "disk-slow" => RGBColor(150, 150, 20),
        "loss" => RGBColor(227, 119, 194),
        "partition-halves" => RGBColor(44, 160, 44),
        "partition-isolate" => RGBColor(148, 103, 189),
        "clock-drift" => RGBColor(23, 170, 190),
        "clock-jump" => RGBColor(20, 110, 150),
        k if k.starts_with("partition") => RGBColor(110, 150, 60),
        k if k.starts_with("clock") => RGBColor(60, 140, 170),
        _ => RGBColor(127, 127, 127),
    }
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

/// How a legend entry's sample is drawn.
#[derive(Copy, Clone, Debug)]
pub enum Swatch {
    Line(RGBColor),
    Dot(RGBColor),
    Triangle(RGBColor),
    Cross(RGBColor),
    Band(RGBColor),
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
            Swatch::Band(c) => {
                panel
                    .draw(&Rectangle::new(
                        [(x, mid - 7), (x + 24, mid + 7)],
                        c.mix(BAND_ALPHA * 2.0).filled(),
                    ))
                    .map_err(de)?;
                panel
                    .draw(&Rectangle::new([(x, mid - 7), (x + 24, mid + 7)], c))
                    .map_err(de)?
            }
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

/// The top margin a plot needs for `faults`' labels.
pub fn top_margin(faults: &[FaultSpan]) -> u32 {
    let rows = faults.len().min(LABEL_ROWS) as u32;
    8 + rows * LABEL_ROW_HEIGHT as u32
}

fn fault_text(f: &FaultSpan) -> String {
    if f.processes.is_empty() {
        f.kind.clone()
    } else {
        format!("{} {}", f.kind, processes_label(&f.processes))
    }
}

/// Fault intervals as translucent bands over the plot's height, ending where
/// [`FaultSpan::band_until_ns`] says (at the latest the heal; instantaneous ones as a
/// line), each labelled with its kind and processes in the strip above the plot (the plot
/// must have been built with [`top_margin`]). Labels take the first of [`LABEL_ROWS`] rows
/// where they overlap no earlier label; with none free, a fault keeps its tick and band but
/// no text.
pub fn draw_faults<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &mut Plot<'_, DB>,
    (x_axis, y_axis): (&Axis, &Axis),
    faults: &[FaultSpan],
    time: TimeScale,
) -> Result<(), String> {
    let (base_x, base_y) = area.get_base_pixel();
    let plot_top = chart.plotting_area().get_pixel_range().1.start;
    let mut row_end = [i32::MIN; LABEL_ROWS];
    for f in faults {
        let colour = fault_colour(&f.kind);
        let x0 = x_axis.clamp(time.x(f.at_ns));
        match f.band_until_ns {
            Some(until) if until > f.at_ns => {
                let x1 = x_axis.clamp(time.x(until));
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x0, y_axis.lo()), (x1, y_axis.hi())],
                        colour.mix(BAND_ALPHA).filled(),
                    )))
                    .map_err(de)?;
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
        let text = fault_text(f);
        let left = chart.backend_coord(&(x0, y_axis.hi())).0 - base_x;
        let width = text.chars().count() as i32 * LABEL_CHAR_PX;
        let free_row = (0..LABEL_ROWS).find(|&r| row_end[r] < left);
        let row = free_row.unwrap_or(LABEL_ROWS - 1);
        let y = plot_top - base_y - (LABEL_ROWS - row) as i32 * LABEL_ROW_HEIGHT;
        area.draw(&PathElement::new(
            vec![(left, y + 2), (left, plot_top - base_y)],
            colour.mix(0.8),
        ))
        .map_err(de)?;
        // With every row taken here, the label would be drawn over another: the tick, the
        // band and the legend still show the fault.
        if free_row.is_some() {
            row_end[row] = left + width + 6;
            let dark = darker(colour);
            area.draw(&Text::new(
                text,
                (left + 3, y),
                font(LABEL_SIZE_PX).color(&dark),
            ))
            .map_err(de)?;
        }
    }
    Ok(())
}

/// The distinct fault kinds, for the legend.
pub fn fault_legend(faults: &[FaultSpan]) -> Vec<LegendEntry> {
    let kinds: BTreeSet<&str> = faults.iter().map(|f| f.kind.as_str()).collect();
    kinds
        .into_iter()
        .map(|k| LegendEntry::new(Swatch::Band(fault_colour(k)), format!("fault: {k}")))
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
