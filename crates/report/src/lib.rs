//! zabsim's report of one run (DESIGN.md §1 `report/`): reads a run directory written by
//! `zabsim run --out DIR` and writes four charts in simulated time — each as SVG and PNG —
//! after the recipes' charts when the history has their records (lock, fail-over
//! scheduler, config, queue, message queue), and an `index.html` beside them; and of a whole sweep (`sweep`): a results file written
//! by `zabsim fuzz --results`, charted across seeds. Equal inputs give byte-identical
//! files: every series is computed in integers over ordered collections, labels have fixed
//! formats, the PNGs carry no timestamps, and the bitmap font is embedded (no system fonts).

pub mod axis;
pub mod canvas;
pub mod charts;
pub mod error;
pub mod html;
pub mod load;
pub mod series;
pub mod sweep;
pub mod trace;
pub mod units;

use std::path::{Path, PathBuf};

use canvas::Rendered;
use charts::Frame;
pub use error::ReportError;
pub use load::{RunData, load};

/// The charts, by file stem, in the order the index shows them.
pub const CHARTS: [&str; 4] = [
    "latency-scatter",
    "latency-quantiles",
    "throughput",
    "latency-cdf",
];
/// The lock recipe's charts, drawn (first) when the history has lock holds.
pub const LOCK_CHARTS: [&str; 2] = ["lock-holders", "lock-wait-hold"];
/// The fail-over scheduler's charts, drawn (first) when the history has leader tenures.
pub const ELECTION_CHARTS: [&str; 2] = ["leader-tenures", "tasks-done"];
/// The config recipe's chart, drawn (first) when the history has config records.
pub const CONFIG_CHARTS: [&str; 1] = ["config-lag"];
/// The queue recipe's charts, drawn (first) when the history has queue records.
pub const QUEUE_CHARTS: [&str; 2] = ["queue-time-in-queue", "queue-backlog"];
/// The message queue's charts, drawn (first) when the history has acknowledged records.
pub const MQ_CHARTS: [&str; 3] = ["mq-produce-latency", "mq-consumer-lag", "mq-leader-isr"];
pub const INDEX: &str = "index.html";

/// What a report wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Every file, in writing order (charts' SVG and PNG, then the index).
    pub files: Vec<PathBuf>,
    pub bytes: u64,
}

/// Every output file's name and contents, in a fixed order.
pub fn render_data(data: &RunData) -> Result<Vec<(String, Vec<u8>)>, String> {
    let frame = Frame::new(data);
    let window = canvas::duration_label(frame.windows.width_ns);
    let mut out = Vec::new();
    let mut push = |stem: &str, r: Rendered| {
        out.push((format!("{stem}.svg"), r.svg.into_bytes()));
        out.push((format!("{stem}.png"), r.png));
    };
    // Recipe-level charts first: what a user of the recipe wants to see.
    let mut recipe: Vec<(&str, String)> = Vec::new();
    if !data.locks.is_empty() {
        push(
            LOCK_CHARTS[0],
            canvas::render(&charts::lock::Holders::new(&frame))?,
        );
        push(
            LOCK_CHARTS[1],
            canvas::render(&charts::lock::wait_hold(&frame))?,
        );
        recipe.push((
            LOCK_CHARTS[0],
            "Lock holds per client over time (bars by how they ended, waits as lines, \
             refused writes as crosses)"
                .to_string(),
        ));
        recipe.push((
            LOCK_CHARTS[1],
            "Lock wait (request to acquisition) and hold time distributions (CDF)".to_string(),
        ));
    }
    if !data.leaders.is_empty() {
        push(
            ELECTION_CHARTS[0],
            canvas::render(&charts::election::Tenures::new(&frame))?,
        );
        push(
            ELECTION_CHARTS[1],
            canvas::render(&charts::election::TasksDone::new(&frame))?,
        );
        recipe.push((
            ELECTION_CHARTS[0],
            "Leader tenures per scheduler instance over time (bars by how they ended, labelled \
             with their epoch; a red line where two instances lead at once)"
                .to_string(),
        ));
        recipe.push((
            ELECTION_CHARTS[1],
            "Tasks done over time, with writes the fence refused as crosses".to_string(),
        ));
    }
    if !data.configs.is_empty() {
        push(
            CONFIG_CHARTS[0],
            canvas::render(&charts::config::Lag::new(&frame))?,
        );
        recipe.push((
            CONFIG_CHARTS[0],
            "Config versions each subscriber is behind the publisher, over time".to_string(),
        ));
    }
    if !data.queues.is_empty() {
        push(
            QUEUE_CHARTS[0],
            canvas::render(&charts::queue::time_in_queue(&frame))?,
        );
        push(
            QUEUE_CHARTS[1],
            canvas::render(&charts::queue::Backlog::new(&frame))?,
        );
        recipe.push((
            QUEUE_CHARTS[0],
            "Queue: each taken item's time in the queue, from its enqueue's invocation to its \
             first ok take's completion (CDF)"
                .to_string(),
        ));
        recipe.push((
            QUEUE_CHARTS[1],
            "Queue backlog: items enqueued and not yet taken, over time".to_string(),
        ));
    }
    if !data.mq_acks.is_empty() {
        push(
            MQ_CHARTS[0],
            canvas::render(&charts::mq::produce_latency(&frame))?,
        );
        push(MQ_CHARTS[1], canvas::render(&charts::mq::Lag::new(&frame))?);
        push(
            MQ_CHARTS[2],
            canvas::render(&charts::mq::LeaderIsr::new(&frame))?,
        );
        recipe.push((
            MQ_CHARTS[0],
            format!(
                "Message queue: p50 / p95 / p99 / max produce latency (first attempt to \
                 acknowledgement) per {window} window"
            ),
        ));
        recipe.push((
            MQ_CHARTS[1],
            "Message queue: records acknowledged and not yet consumed, per partition over time"
                .to_string(),
        ));
        recipe.push((
            MQ_CHARTS[2],
            "Message queue: each partition's leader (colour) and ISR size (height) over time, \
             from its state znode"
                .to_string(),
        ));
    }
    push(
        CHARTS[0],
        canvas::render(&charts::scatter::Scatter::new(&frame))?,
    );
    push(
        CHARTS[1],
        canvas::render(&charts::quantiles::Quantiles::new(&frame))?,
    );
    push(
        CHARTS[2],
        canvas::render(&charts::throughput::Throughput::new(&frame))?,
    );
    push(CHARTS[3], canvas::render(&charts::cdf::Cdf::new(&frame))?);
    let captions = [
        "Latency of every operation over its invocation time, by outcome".to_string(),
        format!("p50 / p95 / p99 / max latency per {window} window"),
        format!("Operations per {window} window by operation and outcome"),
        "Latency distribution (CDF) per operation kind".to_string(),
    ];
    let refs: Vec<html::ChartRef<'_>> = recipe
        .iter()
        .map(|(stem, caption)| html::ChartRef {
            stem,
            caption: caption.clone(),
        })
        .chain(
            CHARTS
                .iter()
                .zip(captions)
                .map(|(stem, caption)| html::ChartRef { stem, caption }),
        )
        .collect();
    let page = html::page(data, frame.windows.width_ns, &refs);
    out.push((INDEX.to_string(), page.into_bytes()));
    assert_eq!(out.len(), (recipe.len() + CHARTS.len()) * 2 + 1);
    Ok(out)
}

/// Render `run_dir`'s report into `out_dir` (created if missing; may be `run_dir`). Each
/// file is written to a temporary name and renamed into place.
pub fn render(run_dir: &Path, out_dir: &Path) -> Result<Written, ReportError> {
    let data = load::load(run_dir)?;
    let files = render_data(&data).map_err(|m| ReportError::new(out_dir, m))?;
    write_files(out_dir, files)
}

/// Render the report of a whole sweep — a results file written by `zabsim fuzz --results`
/// (or `zabsim merge --out`) — into `out_dir` (created if missing), each file written to a
/// temporary name and renamed into place.
pub fn render_sweep(results: &Path, out_dir: &Path) -> Result<Written, ReportError> {
    let data = sweep::load(results)?;
    let files = sweep::render_data(&data).map_err(|m| ReportError::new(out_dir, m))?;
    write_files(out_dir, files)
}

/// Write `files` (name, contents) into `out_dir` (created if missing), in order, each to a
/// temporary name renamed into place.
pub fn write_files(out_dir: &Path, files: Vec<(String, Vec<u8>)>) -> Result<Written, ReportError> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| ReportError::new(out_dir, format!("cannot create: {e}")))?;
    let mut written = Written {
        files: Vec::new(),
        bytes: 0,
    };
    for (name, bytes) in files {
        let path = out_dir.join(&name);
        write_atomic(out_dir, &name, &bytes)
            .map_err(|e| ReportError::new(&path, format!("cannot write: {e}")))?;
        written.bytes += bytes.len() as u64;
        written.files.push(path);
    }
    Ok(written)
}

fn write_atomic(dir: &Path, name: &str, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))
}
