//! The message queue's charts on a real run: `zabsim run --out` of `scenarios/mq.toml`
//! draws `mq-produce-latency`, `mq-consumer-lag` and `mq-leader-isr` (SVG and PNG) before
//! the generic charts in its index, and the lag chart's legend agrees with the history
//! counted here without the report's code (every partition consumed to the end: lag 0).

mod common;

use proto::history::Event;
use std::collections::BTreeSet;

#[test]
fn an_mq_run_charts_produce_latency_lag_and_leaders() {
    let dir = std::env::temp_dir().join(format!("zabsim-mq-charts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = format!("{}/../../scenarios/mq.toml", env!("CARGO_MANIFEST_DIR"));
    let out = dir.to_str().expect("a UTF-8 path");
    let run = common::zabsim(&["run", "--scenario", &path, "--seed", "1", "--out", out]);
    assert_eq!(run.code, 0, "{}", run.show());
    let text = std::fs::read_to_string(dir.join("history.jsonl")).expect("a history");
    let history: Vec<Event> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one event a line"))
        .collect();
    let parts: BTreeSet<u32> = history
        .iter()
        .filter_map(|e| match e {
            Event::MqConsumed(c) => Some(c.part),
            _ => None,
        })
        .collect();
    assert_eq!(parts.len(), 8, "every partition consumed: {parts:?}");
    let index = std::fs::read_to_string(dir.join(report::INDEX)).unwrap();
    let at = |stem: &str| {
        index
            .find(&format!("<img src=\"{stem}.svg\""))
            .unwrap_or_else(|| panic!("{stem} is not in the index"))
    };
    for stem in report::MQ_CHARTS {
        assert!(at(stem) < at(report::CHARTS[0]), "{stem} comes first");
        assert!(dir.join(format!("{stem}.png")).is_file(), "{stem}.png");
    }
    let lag = std::fs::read_to_string(dir.join(format!("{}.svg", report::MQ_CHARTS[1]))).unwrap();
    for p in parts {
        let needle = format!("partition {p}: at most");
        assert!(lag.contains(&needle), "mq-consumer-lag lacks {needle}");
    }
    assert_eq!(
        lag.matches(", 0 at the end").count(),
        8,
        "all consumed at the end"
    );
    let leaders =
        std::fs::read_to_string(dir.join(format!("{}.svg", report::MQ_CHARTS[2]))).unwrap();
    assert!(leaders.contains("bar height: ISR size (full = 3)"));
    std::fs::remove_dir_all(&dir).unwrap();
}
