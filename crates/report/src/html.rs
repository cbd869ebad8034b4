//! `index.html`: one self-contained page (inline CSS, no scripts, nothing fetched) with the
//! run's summary — scenario, seed, verdict, trace hash, figures, elections, faults, per
//! operation counts and latencies — and every chart as an `<img>` of its SVG.

use std::fmt::Write;

use crate::canvas::{duration_label, ms_text, processes_label};
use crate::load::RunData;
use crate::series;
use crate::units;

/// `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px auto;max-width:1240px;color:#1e1e1e}\
h1{font-size:1.6em;margin-bottom:4px}h2{font-size:1.2em;margin-top:28px;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #eee}\
td.n{text-align:right;font-variant-numeric:tabular-nums}td.raw{color:#777}th{background:#f5f5f5}\
.pass{color:#1a7f37;font-weight:bold}.fail{color:#c62828;font-weight:bold}.inconclusive{color:#b26a00;font-weight:bold}\
figure{margin:16px 0}img{max-width:100%;height:auto;border:1px solid #ddd}figcaption{color:#555;font-size:.9em}\
.desc{color:#555}code{font-size:.95em}\
.banner{font-size:1.15em;padding:10px 14px;border:2px solid #c62828;background:#fdecea}\
pre{white-space:pre-wrap;margin:0;font-size:.85em}";

/// One chart as the page shows it.
pub struct ChartRef<'a> {
    pub stem: &'a str,
    pub caption: String,
}

/// A two-column table row: the key as a heading cell, the value as given (already HTML).
pub fn row(out: &mut String, key: &str, value_html: &str) {
    writeln!(
        out,
        "<tr><th>{}</th><td>{value_html}</td></tr>",
        escape(key)
    )
    .unwrap();
}

/// A page's start: the head with the shared style, then `title` as its heading.
pub fn open(o: &mut String, title: &str) {
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    writeln!(o, "<title>{}</title>", escape(title)).unwrap();
    writeln!(o, "<style>{STYLE}</style>\n</head>\n<body>").unwrap();
    writeln!(o, "<h1>{}</h1>", escape(title)).unwrap();
}

/// A page's end.
pub fn close(o: &mut String) {
    o.push_str("</body>\n</html>\n");
}

/// One chart: its SVG shown, links to both files, the caption under it.
pub fn figure(o: &mut String, c: &ChartRef<'_>) {
    let stem = escape(c.stem);
    writeln!(
        o,
        "<figure id=\"{stem}\"><img src=\"{stem}.svg\" alt=\"{}\" width=\"{}\" height=\"{}\">\
         <figcaption>{} — <a href=\"{stem}.svg\">SVG</a>, <a href=\"{stem}.png\">PNG</a></figcaption></figure>",
        escape(&c.caption),
        crate::canvas::WIDTH,
        crate::canvas::HEIGHT,
        escape(&c.caption)
    )
    .unwrap();
}

pub fn page(data: &RunData, window_ns: u64, charts: &[ChartRef<'_>]) -> String {
    let mut o = String::new();
    let title = format!("zabsim — {} — seed {}", data.scenario_name, data.seed);
    open(&mut o, &title);
    if !data.description.is_empty() {
        writeln!(o, "<p class=\"desc\">{}</p>", escape(&data.description)).unwrap();
    }
    summary(&mut o, data);
    operations(&mut o, data);
    faults(&mut o, data);
    figures(&mut o, data);
    o.push_str("<h2>Charts</h2>\n");
    writeln!(
        o,
        "<p>Simulated time; windows of {}. Fault intervals are shaded in their kind's colour \
         (partitions hatched /, clock faults \\); a dashed line marks the heal, where every \
         fault ends and the liveness phase starts.</p>",
        escape(&duration_label(window_ns))
    )
    .unwrap();
    for c in charts {
        figure(&mut o, c);
    }
    close(&mut o);
    o
}

fn summary(o: &mut String, d: &RunData) {
    o.push_str("<h2>Run</h2>\n<table>\n");
    row(o, "scenario", &escape(&d.scenario_name));
    row(o, "seed", &format!("{} (0x{:x})", d.seed, d.seed));
    let class = match d.verdict.name.as_str() {
        "pass" => "pass",
        "budget" => "inconclusive",
        _ => "fail",
    };
    let mut verdict = format!(
        "<span class=\"{class}\">{}</span>",
        escape(&d.verdict.name.to_uppercase())
    );
    for (k, v) in &d.verdict.details {
        write!(verdict, "<br>{}: {}", escape(k), escape(v)).unwrap();
    }
    row(o, "verdict", &verdict);
    row(
        o,
        "trace hash",
        &format!("<code>{:016x}</code>", d.trace_hash),
    );
    row(o, "simulated", &escape(&units::duration(d.end_ns)));
    if let Some(heal) = d.heal_ns {
        let text = format!("at {} (every fault healed)", units::duration(heal));
        row(o, "heal", &escape(&text));
    }
    let recovered = d.recovered_ns.map_or("never".to_string(), |ns| {
        format!("recovered at {}", units::duration(ns))
    });
    row(o, "liveness", &escape(&recovered));
    let elections = if d.elections_ns.is_empty() {
        "none".to_string()
    } else {
        let each: Vec<String> = d
            .elections_ns
            .iter()
            .map(|ns| units::duration(*ns))
            .collect();
        format!(
            "{} (time until a leader was established: {})",
            d.elections_ns.len(),
            each.join(", ")
        )
    };
    row(o, "elections", &escape(&elections));
    o.push_str("</table>\n");
}

fn operations(o: &mut String, d: &RunData) {
    o.push_str("<h2>Client operations</h2>\n");
    if !d.has_history {
        o.push_str("<p>No client history (this workload records none).</p>\n");
        return;
    }
    o.push_str(
        "<table>\n<tr><th>operation</th><th>ok</th><th>fail</th><th>info</th>\
         <th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>\n",
    );
    for s in series::summaries(&d.ops) {
        write!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            escape(s.f),
            s.ok,
            s.fail,
            s.info
        )
        .unwrap();
        match s.latency {
            Some(q) => {
                for v in [q.p50, q.p95, q.p99, q.max] {
                    write!(o, "<td class=\"n\">{}</td>", ms_text(v)).unwrap();
                }
            }
            None => o.push_str("<td colspan=\"4\">no answered op</td>"),
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
    writeln!(
        o,
        "<p>{} operations; latency = completion − invocation of ok and fail ops (nearest rank); \
         info ops were never answered. Other history events: {} watch events, {} session ends, \
         {} server-side session closes, {} queue-recipe operations.</p>",
        d.ops.len(),
        d.watch_events,
        d.session_ends,
        d.server_closes,
        d.queues.len()
    )
    .unwrap();
    if !d.locks.is_empty() {
        let refused = d.resource_writes.iter().filter(|w| !w.accepted).count();
        writeln!(
            o,
            "<p>Lock recipe: {} holds, {} writes to the protected resource ({refused} refused \
             as stale).</p>",
            d.locks.len(),
            d.resource_writes.len()
        )
        .unwrap();
    }
    if !d.leaders.is_empty() {
        let refused = d.task_writes.iter().filter(|w| !w.accepted).count();
        writeln!(
            o,
            "<p>Fail-over scheduler: {} leader tenures, {} task executions, {} writes to the \
             protected resource ({refused} refused as stale).</p>",
            d.leaders.len(),
            d.tasks.len(),
            d.task_writes.len()
        )
        .unwrap();
    }
    if !d.queues.is_empty() {
        let stays = crate::charts::queue::stays(&d.queues);
        let taken = stays.values().filter(|s| s.until_ns.is_some()).count();
        writeln!(
            o,
            "<p>Queue recipe: {} items entered the queue, {taken} taken ({} never taken: \
             lost or still queued at the end).</p>",
            stays.len(),
            stays.len() - taken
        )
        .unwrap();
    }
    if !d.configs.is_empty() {
        let count = |kind| d.configs.iter().filter(|c| c.kind == kind).count();
        use proto::history::ConfigKind as K;
        writeln!(
            o,
            "<p>Config recipe: {} versions and {} messages published, {} config reads and \
             {} messages processed by subscribers.</p>",
            count(K::Published),
            count(K::MessagePublished),
            count(K::Seen),
            count(K::MessageDelivered)
        )
        .unwrap();
    }
}

fn faults(o: &mut String, d: &RunData) {
    o.push_str("<h2>Faults</h2>\n");
    if d.faults.is_empty() {
        o.push_str("<p>None applied.</p>\n");
        return;
    }
    o.push_str(
        "<table>\n<tr><th>#</th><th>from ms</th><th>until ms</th><th>kind</th>\
         <th>processes</th><th>parameters</th></tr>\n",
    );
    for (i, f) in d.faults.iter().enumerate() {
        let until = f
            .until_ns
            .map_or("—".to_string(), |ns| ms_text(ns).to_string());
        writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            ms_text(f.at_ns),
            escape(&until),
            escape(&f.kind),
            escape(&processes_label(&f.processes)),
            escape(&f.params)
        )
        .unwrap();
    }
    o.push_str("</table>\n");
}

fn figures(o: &mut String, d: &RunData) {
    o.push_str("<h2>Figures</h2>\n");
    if d.figures.is_empty() {
        o.push_str("<p>None.</p>\n");
        return;
    }
    o.push_str("<table>\n<tr><th>figure</th><th>value</th><th>raw</th></tr>\n");
    for (k, v) in &d.figures {
        let raw = match units::unit_of(k) {
            Some(_) => units::raw(k, *v),
            None => String::new(),
        };
        writeln!(
            o,
            "<tr><td>{}</td>{}<td class=\"n raw\">{}</td></tr>",
            escape(k),
            figure_cell(k, *v),
            escape(&raw)
        )
        .unwrap();
    }
    o.push_str(
        "</table>\n<p>As the run reported them; figures with a unit in their name are also \
         shown in a readable unit.</p>\n",
    );
}

/// A figure's table cell: its value in a human unit with the raw value as the cell's
/// title, or the bare number for a figure without a unit.
pub fn figure_cell(name: &str, v: u64) -> String {
    match units::unit_of(name) {
        Some(_) => format!(
            "<td class=\"n\" title=\"{}\">{}</td>",
            escape(&units::raw(name, v)),
            escape(&units::figure(name, v))
        ),
        None => format!("<td class=\"n\">{v}</td>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&#39;");
    }
}
