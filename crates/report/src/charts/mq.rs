//! The message queue's charts, drawn when a run's history has message-queue records
//! (`Event::MqAck`): `mq-produce-latency`, the p50/p95/p99/max produce latency (from a
//! record's first attempt to its acknowledgement, on the producer's clock) of the records
//! acknowledged in each time window; `mq-consumer-lag`, per partition over time the records
//! acknowledged to producers and not yet consumed by the group (the highest acknowledged
//! offset + 1 minus the highest consumed offset + 1, as the history shows them); and
//! `mq-leader-isr`, one lane per partition with its leader over time (the bar's colour:
//! the broker; no bar: offline) and its ISR size (the bar's height, of the largest ISR
//! seen), from the partition state znode writes that succeeded (`leader= epoch= isr=` in
//! `/brokers/topics/tT/partitions/Q/state`). Each over the fault bands and the heal.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use proto::history::{MqAckRecord, MqConsumeRecord};

use super::Frame;
use super::Steps;
use super::quantiles::Quantiles;
use crate::axis::Axis;
use crate::canvas::{self, Chart, LegendEntry, Swatch, de};
use crate::series::{QuantileRow, Windows, quantile_row};

/// Most step points per partition line (one per change); more keeps the first.
pub const LAG_POINTS_MAX: usize = 20_000;
/// Most state changes drawn per partition.
pub const STATES_MAX: usize = 5_000;

/// One successful write of a partition state znode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    pub time_ns: u64,
    /// Topic and partition in the topic (from the path).
    pub topic: u32,
    pub partition: u32,
    /// None: offline (`leader=-1`).
    pub leader: Option<u32>,
    pub isr: usize,
}

/// The topic and partition of a state znode's path.
pub fn state_path_part(path: &str) -> Option<(u32, u32)> {
    let rest = path.strip_prefix("/brokers/topics/t")?;
    let (t, rest) = rest.split_once("/partitions/")?;
    let q = rest.strip_suffix("/state")?;
    Some((t.parse().ok()?, q.parse().ok()?))
}

/// A state znode's text (`leader=L epoch=E isr=a,b ce=C reg=R`): leader and ISR size.
pub fn parse_state(data: &[u8]) -> Option<(Option<u32>, usize)> {
    let text = std::str::from_utf8(data).ok()?;
    let mut leader = None;
    let mut isr = None;
    for field in text.split(' ') {
        if let Some(l) = field.strip_prefix("leader=") {
            leader = Some(if l == "-1" {
                None
            } else {
                Some(l.parse().ok()?)
            });
        } else if let Some(i) = field.strip_prefix("isr=") {
            isr = Some(if i.is_empty() {
                0
            } else {
                i.split(',').count()
            });
        }
    }
    Some((leader?, isr?))
}

/// Per window (by the record's first attempt), the produce latency quantiles of the
/// acknowledged records.
pub fn produce_quantiles(acks: &[MqAckRecord], windows: Windows) -> Vec<QuantileRow> {
    let mut by_window: Vec<Vec<u64>> = vec![Vec::new(); windows.count];
    for a in acks {
        let sent = a.time_ns.saturating_sub(a.latency_ns);
        by_window[windows.index(sent)].push(a.latency_ns);
    }
    by_window
        .iter_mut()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(i, v)| {
            v.sort_unstable();
            quantile_row(i, v)
        })
        .collect()
}

/// `mq-produce-latency`.
pub fn produce_latency<'a>(frame: &'a Frame<'a>) -> Quantiles<'a> {
    let rows = produce_quantiles(&frame.data.mq_acks, frame.windows);
    Quantiles::from_rows(frame, rows, "Produce latency quantiles", "acks")
}

/// Each partition's consumer lag over time (by partition, ascending), ending at `end_ns`.
pub fn lag_steps(
    acks: &[MqAckRecord],
    consumed: &[MqConsumeRecord],
    end_ns: u64,
) -> BTreeMap<u32, Steps> {
    // (time, partition, acknowledged end or consumed end), in time order; at one time
    // acknowledgements first.
    let mut events: Vec<(u64, u8, u32, u64)> = acks
        .iter()
        .map(|a| (a.time_ns, 0, a.part, a.offset + 1))
        .chain(
            consumed
                .iter()
                .map(|c| (c.time_ns, 1, c.part, c.offset + 1)),
        )
        .collect();
    events.sort_unstable();
    let mut ends: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut steps: BTreeMap<u32, Steps> = BTreeMap::new();
    for (t, kind, part, end) in events {
        let e = ends.entry(part).or_default();
        if kind == 0 {
            e.0 = e.0.max(end);
        } else {
            e.1 = e.1.max(end);
        }
        let lag = e.0.saturating_sub(e.1);
        let line = steps.entry(part).or_default();
        if line.last().is_none_or(|&(_, l)| l != lag) && line.len() < LAG_POINTS_MAX {
            line.push((t, lag));
        }
    }
    for line in steps.values_mut() {
        let (last_t, last) = *line.last().expect("a line has a point");
        line.push((end_ns.max(last_t), last));
    }
    steps
}

pub struct Lag<'a> {
    frame: &'a Frame<'a>,
    steps: BTreeMap<u32, Steps>,
    y: Axis,
}

impl<'a> Lag<'a> {
    pub fn new(frame: &'a Frame<'a>) -> Lag<'a> {
        let d = frame.data;
        let steps = lag_steps(&d.mq_acks, &d.mq_consumed, frame.span_ns);
        let most = steps
            .values()
            .flat_map(|s| s.iter().map(|&(_, l)| l))
            .max()
            .unwrap_or(0);
        Lag {
            frame,
            steps,
            y: Axis::counts(most.max(1)),
        }
    }
}

impl Chart for Lag<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let (area, legend) = canvas::layout(root, &f.title("Consumer lag per partition"))?;
        let x = f.time.axis(f.span_ns);
        let x_desc = format!("time, {}", f.time.desc());
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&x_desc, "records acknowledged, not yet consumed"),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        let mut entries = Vec::new();
        for (i, (part, line)) in self.steps.iter().enumerate() {
            let colour = canvas::palette(i);
            chart
                .draw_series(LineSeries::new(f.step_line(line), colour.stroke_width(2)))
                .map_err(de)?;
            let max = line.iter().map(|&(_, l)| l).max().unwrap_or(0);
            let end = line.last().map_or(0, |&(_, l)| l);
            entries.push(LegendEntry::new(
                Swatch::Line(colour),
                format!("partition {part}: at most {max}, {end} at the end"),
            ));
        }
        if self.steps.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no records acknowledged")?;
        }
        if f.data.mq_consumed.is_empty() {
            entries.push(LegendEntry::new(Swatch::Blank, "no consumers in this run"));
        }
        entries.push(LegendEntry::new(
            Swatch::Blank,
            "lag: highest acknowledged offset",
        ));
        entries.push(LegendEntry::new(Swatch::Blank, "minus highest consumed"));
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Partition", &entries)
    }
}

/// The successful state znode writes of a run's operations, by (topic, partition), in
/// time order.
pub fn state_writes(writes: &[StateWrite]) -> BTreeMap<(u32, u32), Vec<&StateWrite>> {
    let mut by: BTreeMap<(u32, u32), Vec<&StateWrite>> = BTreeMap::new();
    for w in writes {
        let line = by.entry((w.topic, w.partition)).or_default();
        if line.len() < STATES_MAX {
            line.push(w);
        }
    }
    for line in by.values_mut() {
        line.sort_by_key(|w| w.time_ns);
    }
    by
}

pub struct LeaderIsr<'a> {
    frame: &'a Frame<'a>,
    lanes: BTreeMap<(u32, u32), Vec<&'a StateWrite>>,
    largest_isr: usize,
    y: Axis,
}

impl<'a> LeaderIsr<'a> {
    pub fn new(frame: &'a Frame<'a>) -> LeaderIsr<'a> {
        let lanes = state_writes(&frame.data.mq_states);
        let largest_isr = frame
            .data
            .mq_states
            .iter()
            .map(|w| w.isr)
            .max()
            .unwrap_or(1);
        let n = u32::try_from(lanes.len()).unwrap_or(u32::MAX).max(1);
        LeaderIsr {
            frame,
            lanes,
            largest_isr: largest_isr.max(1),
            y: Axis::rows(0, n - 1),
        }
    }
}

impl Chart for LeaderIsr<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let title = f.title("Leader and ISR size per partition");
        let (area, legend) = canvas::layout(root, &title)?;
        let x = f.time.axis(f.span_ns);
        let x_desc = format!("time, {}", f.time.desc());
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&x_desc, "partition lane (topic/partition in the legend)"),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        let mut brokers: Vec<u32> = Vec::new();
        let mut entries = Vec::new();
        for (row, ((t, q), line)) in self.lanes.iter().enumerate() {
            let y = row as f64;
            let mut changes = 0;
            for (j, w) in line.iter().enumerate() {
                let until = line.get(j + 1).map_or(f.span_ns, |n| n.time_ns);
                let Some(l) = w.leader else {
                    continue;
                };
                changes += 1;
                if !brokers.contains(&l) {
                    brokers.push(l);
                }
                let h = 0.42 * w.isr.max(1) as f64 / self.largest_isr as f64;
                let (x0, x1) = (
                    f.time.x(w.time_ns.min(f.span_ns)),
                    f.time.x(until.min(f.span_ns)),
                );
                chart
                    .draw_series([Rectangle::new(
                        [(x0, y - h), (x1.max(x0), y + h)],
                        canvas::palette(l as usize).mix(0.85).filled(),
                    )])
                    .map_err(de)?;
            }
            entries.push(LegendEntry::new(
                Swatch::Blank,
                format!("lane {row}: t{t}/{q} ({changes} states led)"),
            ));
        }
        if self.lanes.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no partition states written")?;
        }
        brokers.sort_unstable();
        let mut head: Vec<LegendEntry> = brokers
            .iter()
            .map(|&b| {
                LegendEntry::new(
                    Swatch::Bar(canvas::palette(b as usize)),
                    format!("broker {b} leads"),
                )
            })
            .collect();
        head.push(LegendEntry::new(
            Swatch::Blank,
            format!("bar height: ISR size (full = {})", self.largest_isr),
        ));
        head.push(LegendEntry::new(Swatch::Blank, "no bar: offline"));
        head.extend(entries);
        head.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Leader", &head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::ProcessId;
    use proto::zk::SessionId;

    fn ack(part: u32, offset: u64, at: u64, latency: u64) -> MqAckRecord {
        MqAckRecord {
            producer: ProcessId(9),
            part,
            offset,
            key: 0,
            value: 0,
            acks_all: true,
            leader: 0,
            leader_epoch: 0,
            time_ns: at,
            latency_ns: latency,
        }
    }

    fn got(part: u32, offset: u64, at: u64) -> MqConsumeRecord {
        MqConsumeRecord {
            consumer: ProcessId(12),
            session: SessionId(1),
            part,
            offset,
            value: 0,
            leader: 0,
            leader_epoch: 0,
            time_ns: at,
        }
    }

    #[test]
    fn state_text_and_path_parse() {
        assert_eq!(
            state_path_part("/brokers/topics/t1/partitions/3/state"),
            Some((1, 3))
        );
        assert_eq!(state_path_part("/brokers/topics/t1/partitions/3"), None);
        assert_eq!(
            parse_state(b"leader=2 epoch=4 isr=2,3,4 ce=1 reg=77"),
            Some((Some(2), 3))
        );
        assert_eq!(
            parse_state(b"leader=-1 epoch=5 isr=2 ce=2 reg=0"),
            Some((None, 1))
        );
        assert_eq!(parse_state(b"nonsense"), None);
    }

    #[test]
    fn lag_is_acknowledged_minus_consumed_per_partition() {
        let acks = [ack(0, 0, 10, 1), ack(0, 1, 20, 1), ack(1, 0, 25, 1)];
        let consumed = [got(0, 0, 30), got(0, 1, 40), got(1, 0, 45), got(0, 0, 50)];
        let steps = lag_steps(&acks, &consumed, 100);
        assert_eq!(
            steps[&0],
            vec![(10, 1), (20, 2), (30, 1), (40, 0), (100, 0)]
        );
        assert_eq!(steps[&1], vec![(25, 1), (45, 0), (100, 0)]);
    }

    #[test]
    fn produce_latency_counts_from_the_first_attempt() {
        let windows = Windows::choose(1_000_000_000);
        let acks = [
            ack(0, 0, 300_000_000, 200_000_000),
            ack(0, 1, 150_000_000, 50_000_000),
        ];
        let rows = produce_quantiles(&acks, windows);
        assert_eq!(rows.iter().map(|r| r.n).sum::<usize>(), 2);
        assert_eq!(rows.iter().map(|r| r.max).max(), Some(200_000_000));
    }
}
