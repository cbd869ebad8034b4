//! Unit tests of the engine's contract: closed intervals, pending operations, unknown
//! results, explanations of violations, partitions, and budgets ending in `Unknown`.

use std::path::PathBuf;

use lincheck::import::porcupine_etcd;
use lincheck::lin::{Budget, Exhausted, Operation, Verdict, check, check_with_stats};
use lincheck::models::kv::{KvInput, KvModel, KvOutput, Text};
use lincheck::models::register::{RegisterInput as In, RegisterModel, RegisterOutput as Out};
use sansio::Time;

type RegOp = Operation<In, Out>;

fn op(client_id: u64, call: u64, ret: u64, input: In, output: Out) -> RegOp {
    Operation::complete(client_id, Time(call), Time(ret), input, output)
}

fn pending(client_id: u64, call: u64, input: In) -> RegOp {
    Operation::pending(client_id, Time(call), input)
}

fn verdict(history: &[RegOp]) -> Verdict {
    check(&RegisterModel::default(), history, &Budget::DEFAULT)
}

#[test]
fn empty_history_is_linearizable() {
    assert_eq!(verdict(&[]), Verdict::Linearizable);
}

#[test]
fn intervals_are_closed() {
    // The read returning nil may be linearized first: the intervals touch at 20.
    let touching = [
        op(0, 10, 20, In::Write(1), Out::Written),
        op(1, 20, 30, In::Read, Out::Read(None)),
    ];
    assert_eq!(verdict(&touching), Verdict::Linearizable);
    let apart = [
        op(0, 10, 19, In::Write(1), Out::Written),
        op(1, 20, 30, In::Read, Out::Read(None)),
    ];
    assert!(verdict(&apart).is_violation());
}

#[test]
fn pending_ops_may_or_may_not_take_effect() {
    let mut history = vec![
        pending(0, 0, In::Write(1)),
        op(1, 1, 2, In::Read, Out::Read(None)),
        op(1, 3, 4, In::Read, Out::Read(Some(1))),
    ];
    assert_eq!(
        verdict(&history),
        Verdict::Linearizable,
        "takes effect between the reads"
    );
    assert_eq!(
        verdict(&history[..2]),
        Verdict::Linearizable,
        "never takes effect"
    );
    history.push(op(1, 5, 6, In::Read, Out::Read(None)));
    assert!(verdict(&history).is_violation(), "a write cannot be undone");
}

#[test]
fn unknown_results_constrain_the_state_but_not_the_output() {
    // A completed cas with a lost result must have taken effect if it matched.
    let history = [
        op(0, 0, 1, In::Write(1), Out::Written),
        RegOp {
            client_id: 1,
            call_time: Time(2),
            return_time: Some(Time(3)),
            input: In::Cas {
                expected: 1,
                new: 2,
            },
            output: None,
        },
        op(0, 4, 5, In::Read, Out::Read(Some(1))),
    ];
    assert!(verdict(&history).is_violation());
    // A timed-out read constrains nothing and is dropped before the search.
    let reads = [
        op(0, 0, 1, In::Write(1), Out::Written),
        RegOp {
            client_id: 1,
            call_time: Time(2),
            return_time: Some(Time(3)),
            input: In::Read,
            output: None,
        },
    ];
    let (verdict, stats) = check_with_stats(&RegisterModel::default(), &reads, &Budget::DEFAULT);
    assert_eq!(verdict, Verdict::Linearizable);
    assert_eq!(stats.ops_dropped, 1);
}

#[test]
fn explanation_names_the_longest_prefix_and_the_stuck_ops() {
    let history = [
        op(0, 0, 1, In::Write(1), Out::Written),
        op(1, 2, 5, In::Read, Out::Read(Some(1))),
        op(
            2,
            3,
            4,
            In::Cas {
                expected: 1,
                new: 2,
            },
            Out::Cas(true),
        ),
        op(0, 6, 7, In::Read, Out::Read(Some(1))),
        op(1, 8, 9, In::Write(3), Out::Written),
    ];
    let verdict = verdict(&history);
    let explanation = verdict.explanation().expect("a violation");
    assert_eq!(explanation.partition, 0);
    assert_eq!(explanation.partition_ops, vec![0, 1, 2, 3, 4]);
    // write(1), read -> 1, cas(1, 2) is the longest valid prefix; then the read of 1 at
    // [6, 7] is the only op allowed next by real time, and the register holds 2.
    assert_eq!(explanation.prefix, vec![0, 1, 2]);
    assert_eq!(explanation.state_after_prefix, "Some(2)");
    assert_eq!(explanation.stuck, vec![3]);
    let text = explanation.render(&history);
    assert!(
        text.contains("longest linearizable prefix has 3 ops"),
        "{text}"
    );
    assert!(
        text.contains("#3 client 0 Read -> Read(Some(1)) [0.000ms .. 0.000ms]"),
        "{text}"
    );
    assert!(text.contains("state after prefix: Some(2)"), "{text}");
}

#[test]
fn explanation_reports_the_failing_partition() {
    let get = |key: &str, value: &str, call: u64, ret: u64| {
        Operation::complete(
            0,
            Time(call),
            Time(ret),
            KvInput::Get {
                key: Text::new(key),
            },
            KvOutput::Value(Text::new(value)),
        )
    };
    let append = |key: &str, value: &str, call: u64, ret: u64| {
        Operation::complete(
            1,
            Time(call),
            Time(ret),
            KvInput::Append {
                key: Text::new(key),
                value: Text::new(value),
            },
            KvOutput::Done,
        )
    };
    let history = vec![
        append("a", "x", 0, 1),
        get("a", "x", 2, 3),
        append("b", "y", 0, 1),
        get("b", "", 2, 3), // stale read on key b
        get("a", "x", 4, 5),
    ];
    let verdict = check(&KvModel, &history, &Budget::DEFAULT);
    let explanation = verdict.explanation().expect("a violation on b");
    assert_eq!(explanation.partition, 1, "partitions are ordered by key");
    assert_eq!(explanation.partition_ops, vec![2, 3]);
    assert_eq!(explanation.prefix, vec![2]);
    assert_eq!(explanation.stuck, vec![3]);
    assert_eq!(explanation.state_after_prefix, "{\"b\": \"y\"}");
}

fn etcd(name: &str) -> Vec<RegOp> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("testdata/porcupine/jepsen/{name}.log"));
    porcupine_etcd::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn step_budget_ends_in_unknown() {
    let history = etcd("etcd_002");
    let model = RegisterModel::default();
    let (verdict, stats) = check_with_stats(&model, &history, &Budget::steps(10_000));
    assert_eq!(verdict, Verdict::Unknown(Exhausted::Steps));
    assert!(
        stats.steps <= 10_000 + 2 * history.len() as u64,
        "overshoot by at most one level scan"
    );
    assert_eq!(
        check(&model, &history, &Budget::DEFAULT),
        Verdict::Linearizable
    );
}

#[test]
fn tiny_step_budgets_end_in_unknown_not_a_panic() {
    // A level scan may overshoot a grant smaller than itself; the budget must saturate.
    let history = etcd("etcd_002");
    let model = RegisterModel::default();
    for steps in [1, 100, 1_000] {
        assert_eq!(
            check(&model, &history, &Budget::steps(steps)),
            Verdict::Unknown(Exhausted::Steps),
            "budget {steps}"
        );
    }
}

#[test]
fn cache_budget_ends_in_unknown() {
    let history = etcd("etcd_002");
    let budget = Budget {
        max_steps: u64::MAX,
        max_cache_bytes: 64 * 1024,
    };
    let (verdict, stats) = check_with_stats(&RegisterModel::default(), &history, &budget);
    assert_eq!(verdict, Verdict::Unknown(Exhausted::CacheBytes));
    assert!(
        stats.cache_bytes <= 64 * 1024 + 256,
        "cache stopped at the bound: {}",
        stats.cache_bytes
    );
}

#[test]
fn a_violation_beats_an_expensive_partition() {
    // Partition "a": ten concurrent puts and appends, then a read no order explains, so
    // its search is long. Partition "b": a read of a value never written. Partitions are
    // interleaved, so the cheap violation is found within a budget "a" alone would exhaust.
    let mut history = Vec::new();
    for i in 0..10u64 {
        let key = Text::new("a");
        let value = Text::new(&i.to_string());
        let input = if i % 2 == 0 {
            KvInput::Put { key, value }
        } else {
            KvInput::Append { key, value }
        };
        history.push(Operation::complete(
            i,
            Time(0),
            Time(100),
            input,
            KvOutput::Done,
        ));
    }
    history.push(Operation::complete(
        10,
        Time(101),
        Time(102),
        KvInput::Get {
            key: Text::new("a"),
        },
        KvOutput::Value(Text::new("x")),
    ));
    let expensive = check_with_stats(&KvModel, &history, &Budget::DEFAULT);
    assert!(expensive.0.is_violation());
    assert!(
        expensive.1.steps > 200_000,
        "partition a is not expensive: {:?}",
        expensive.1
    );
    assert_eq!(
        check(&KvModel, &history, &Budget::steps(100_000)),
        Verdict::Unknown(Exhausted::Steps)
    );

    history.push(Operation::complete(
        11,
        Time(0),
        Time(1),
        KvInput::Get {
            key: Text::new("b"),
        },
        KvOutput::Value(Text::new("never written")),
    ));
    let (verdict, stats) = check_with_stats(&KvModel, &history, &Budget::steps(100_000));
    assert_eq!(
        verdict.explanation().map(|e| e.stuck.clone()),
        Some(vec![11])
    );
    assert!(stats.steps < 10_000, "{stats:?}");
}
