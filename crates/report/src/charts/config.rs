//! The config recipe's chart, drawn when a run's history has config records
//! (`Event::Config`): `config-lag`, each subscriber's version lag over time — how many
//! versions it is behind what the publisher has set (the highest version the publisher
//! reported so far, minus the latest version the subscriber read; 0 when it read one the
//! publisher had not reported yet) — as one step line per subscriber over the fault bands
//! and the heal. A subscriber's restart shows as its line jumping back to the full lag
//! until it reads again; a subscriber that never converges stays above 0 to the end.

use plotters::coord::Shift;
use plotters::prelude::*;
use proto::history::{ConfigKind, ConfigRecord};
use std::collections::BTreeMap;

use super::{Frame, Steps};
use crate::axis::Axis;
use crate::canvas::{self, Chart, LegendEntry, Swatch, de};

/// Most step points drawn per subscriber (two per change); a run with more keeps the first.
pub const POINTS_PER_SUBSCRIBER_MAX: usize = 20_000;

/// Each subscriber's version lag over time, by process id (ascending), ending at `end_ns`.
pub fn lag_steps(configs: &[ConfigRecord], end_ns: u64) -> BTreeMap<u32, Steps> {
    let publisher =
        |c: &ConfigRecord| matches!(c.kind, ConfigKind::Published | ConfigKind::MessagePublished);
    let publishers: Vec<u32> = configs
        .iter()
        .filter(|c| publisher(c))
        .map(|c| c.process.0)
        .collect();
    let mut records: Vec<&ConfigRecord> = configs.iter().collect();
    records.sort_by_key(|c| c.time_ns);
    let mut published = 0;
    // Per subscriber: its latest version read (None: nothing since its start).
    let mut read: BTreeMap<u32, Option<u64>> = BTreeMap::new();
    let mut steps: BTreeMap<u32, Steps> = BTreeMap::new();
    for c in records {
        let pid = c.process.0;
        match c.kind {
            ConfigKind::Published => published = published.max(c.number),
            ConfigKind::Seen => {
                read.insert(pid, Some(c.number));
            }
            ConfigKind::Started if !publishers.contains(&pid) => {
                read.insert(pid, None);
            }
            _ => continue,
        }
        // Every subscriber's lag may have changed (a publication moves them all).
        for (&p, &v) in &read {
            let lag = published.saturating_sub(v.unwrap_or(0));
            let line = steps.entry(p).or_default();
            if line.last().is_none_or(|&(_, l)| l != lag) && line.len() < POINTS_PER_SUBSCRIBER_MAX
            {
                line.push((c.time_ns, lag));
            }
        }
    }
    for line in steps.values_mut() {
        assert!(
            line.windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 != w[1].1),
            "steps in time order, each a change"
        );
        let last = line.last().map_or(0, |&(_, l)| l);
        line.push((end_ns.max(line.last().map_or(0, |&(t, _)| t)), last));
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
        let steps = lag_steps(&frame.data.configs, frame.span_ns);
        let most = steps
            .values()
            .flat_map(|s| s.iter().map(|&(_, l)| l))
            .max()
            .unwrap_or(0);
        let y = Axis::counts(most.max(1));
        Lag { frame, steps, y }
    }
}

impl Chart for Lag<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let f = self.frame;
        let (area, legend) = canvas::layout(root, &f.title("Config version lag per subscriber"))?;
        let x = f.time.axis(f.span_ns);
        let x_desc = format!("time, {}", f.time.desc());
        let mut chart = canvas::plot(
            &area,
            (x.clone(), self.y.clone()),
            (&x_desc, "versions behind the publisher"),
            f.top_margin(),
        )?;
        f.draw_faults(&area, &mut chart, (&x, &self.y))?;
        let mut entries = Vec::new();
        for (i, (pid, line)) in self.steps.iter().enumerate() {
            let colour = canvas::palette(i);
            chart
                .draw_series(LineSeries::new(f.step_line(line), colour.stroke_width(2)))
                .map_err(de)?;
            let end = line.last().map_or(0, |&(_, l)| l);
            let max = line.iter().map(|&(_, l)| l).max().unwrap_or(0);
            entries.push(LegendEntry::new(
                Swatch::Line(colour),
                format!("p{pid}: at most {max} behind, {end} at the end"),
            ));
        }
        if self.steps.is_empty() {
            canvas::draw_empty_note(&mut chart, (&x, &self.y), "no config subscribers")?;
        }
        entries.push(LegendEntry::new(
            Swatch::Blank,
            "lag: versions set by the publisher",
        ));
        entries.push(LegendEntry::new(Swatch::Blank, "minus the latest one read"));
        entries.extend(f.fault_legend());
        canvas::draw_legend(&legend, "Subscriber", &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::ProcessId;
    use proto::zk::SessionId;

    fn rec(p: u32, kind: ConfigKind, n: u64, at: u64) -> ConfigRecord {
        ConfigRecord {
            process: ProcessId(p),
            session: SessionId(1),
            kind,
            number: n,
            node: None,
            zxid: None,
            time_ns: at,
        }
    }

    #[test]
    fn lag_is_published_minus_read_per_subscriber() {
        use ConfigKind::*;
        let configs = [
            rec(3, Started, 0, 0),
            rec(4, Started, 0, 0),
            rec(5, Started, 0, 0),
            rec(4, Seen, 0, 1),
            rec(3, Published, 1, 10),
            rec(3, Published, 2, 12),
            rec(4, Seen, 2, 14),
            // p5 reads before the publisher's report arrives: no negative lag.
            rec(5, Seen, 3, 15),
            rec(3, Published, 3, 16),
            rec(4, Seen, 3, 18),
            // p4 restarts: the full lag until it reads again.
            rec(4, Started, 0, 20),
            rec(4, Seen, 3, 25),
        ];
        let steps = lag_steps(&configs, 30);
        assert_eq!(
            steps.keys().copied().collect::<Vec<_>>(),
            vec![4, 5],
            "the publisher is no subscriber"
        );
        assert_eq!(
            steps[&4],
            vec![
                (0, 0),
                (10, 1),
                (12, 2),
                (14, 0),
                (16, 1),
                (18, 0),
                (20, 3),
                (25, 0),
                (30, 0)
            ]
        );
        assert_eq!(steps[&5], vec![(0, 0), (10, 1), (12, 2), (15, 0), (30, 0)]);
    }
}
