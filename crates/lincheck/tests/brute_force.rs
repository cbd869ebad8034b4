//! The engine against the brute-force checker on thousands of small random histories
//! (registers and key-value maps, pending operations, unknown results, overlapping and
//! touching intervals): the verdicts must be identical.

use lincheck::lin::{Budget, Model, Operation, Verdict, brute, check};
use lincheck::models::kv::{KvInput, KvModel, KvOutput, Text};
use lincheck::models::register::{RegisterInput, RegisterModel, RegisterOutput};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use sansio::Time;

/// A raw operation: call time, duration (None: pending), whether the result is lost,
/// an input selector and an output selector.
type RawOp = (u64, Option<u64>, bool, u8, u8);

fn raw_ops(max_ops: usize) -> impl Strategy<Value = Vec<RawOp>> {
    prop::collection::vec(
        (
            0u64..12,
            prop::option::weighted(0.85, 0u64..6),
            prop::bool::weighted(0.15),
            any::<u8>(),
            any::<u8>(),
        ),
        0..=max_ops,
    )
}

/// Random ops first, then most outputs replaced by those of a random sequential execution,
/// so that both verdicts are common.
fn register_history(
    raw: &[RawOp],
    order_seed: u64,
    honest: bool,
) -> Vec<Operation<RegisterInput, RegisterOutput>> {
    let mut ops: Vec<Operation<RegisterInput, RegisterOutput>> = raw
        .iter()
        .enumerate()
        .map(|(i, &(call, duration, lost, input_sel, output_sel))| {
            let value = i64::from(input_sel % 3);
            let input = match input_sel / 3 % 3 {
                0 => RegisterInput::Read,
                1 => RegisterInput::Write(value),
                _ => RegisterInput::Cas {
                    expected: i64::from(output_sel % 3),
                    new: value,
                },
            };
            let output = match input {
                RegisterInput::Read => {
                    RegisterOutput::Read((output_sel % 4 != 3).then_some(i64::from(output_sel % 4)))
                }
                RegisterInput::Write(_) => RegisterOutput::Written,
                RegisterInput::Cas { .. } => RegisterOutput::Cas(output_sel % 2 == 0),
            };
            Operation {
                client_id: i as u64,
                call_time: Time(call),
                return_time: duration.map(|d| Time(call + d)),
                input,
                output: (!lost && duration.is_some()).then_some(output),
            }
        })
        .collect();
    if honest {
        // Replay in the order of (call + pseudo-random offset within the interval).
        let model = RegisterModel::default();
        let mut order: Vec<usize> = (0..ops.len()).collect();
        order.sort_by_key(|&i| {
            let op = &ops[i];
            let span = op.return_time.map_or(8, |r| r.0 - op.call_time.0 + 1);
            (
                op.call_time.0 + sansio::mix64(order_seed ^ i as u64) % span,
                i,
            )
        });
        let mut state = model.init();
        for i in order {
            let output = match ops[i].input {
                RegisterInput::Read => RegisterOutput::Read(state),
                RegisterInput::Write(_) => RegisterOutput::Written,
                RegisterInput::Cas { expected, .. } => RegisterOutput::Cas(state == Some(expected)),
            };
            state = model
                .step(&state, &ops[i].input, &output)
                .expect("honest output");
            if ops[i].output.is_some() {
                ops[i].output = Some(output);
            }
        }
    }
    ops
}

fn kv_history(raw: &[RawOp], order_seed: u64, honest: bool) -> Vec<Operation<KvInput, KvOutput>> {
    let values = ["a", "b", "ab", "ba", ""];
    let mut ops: Vec<Operation<KvInput, KvOutput>> = raw
        .iter()
        .enumerate()
        .map(|(i, &(call, duration, lost, input_sel, output_sel))| {
            let key = Text::new(if input_sel % 2 == 0 { "k" } else { "j" });
            let value = Text::new(values[(input_sel / 2 % 2) as usize]);
            let (input, output) = match input_sel / 4 % 3 {
                0 => (
                    KvInput::Get { key },
                    KvOutput::Value(Text::new(values[(output_sel % 5) as usize])),
                ),
                1 => (KvInput::Put { key, value }, KvOutput::Done),
                _ => (KvInput::Append { key, value }, KvOutput::Done),
            };
            Operation {
                client_id: i as u64,
                call_time: Time(call),
                return_time: duration.map(|d| Time(call + d)),
                input,
                output: (!lost && duration.is_some()).then_some(output),
            }
        })
        .collect();
    if honest {
        let model = KvModel;
        let mut order: Vec<usize> = (0..ops.len()).collect();
        order.sort_by_key(|&i| {
            let op = &ops[i];
            let span = op.return_time.map_or(8, |r| r.0 - op.call_time.0 + 1);
            (
                op.call_time.0 + sansio::mix64(order_seed ^ i as u64) % span,
                i,
            )
        });
        let mut state = model.init();
        for i in order {
            let output = match &ops[i].input {
                KvInput::Get { key } => {
                    // Read the value by trying the candidates (the values are tiny).
                    let candidates = [
                        "", "a", "b", "ab", "ba", "aa", "bb", "aab", "abb", "bab", "baa",
                    ];
                    let found = candidates.iter().find(|c| {
                        model
                            .step(&state, &ops[i].input, &KvOutput::Value(Text::new(c)))
                            .is_some()
                    });
                    match found {
                        Some(c) => KvOutput::Value(Text::new(c)),
                        None => KvOutput::Value(Text::new(&format!("{:?}", key))),
                    }
                }
                _ => KvOutput::Done,
            };
            if let Some(next) = model.step(&state, &ops[i].input, &output) {
                state = next;
            }
            if ops[i].output.is_some() {
                ops[i].output = Some(output);
            }
        }
    }
    ops
}

fn agree<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
) -> Result<bool, TestCaseError> {
    let expected = brute::is_linearizable(model, history);
    let verdict = check(model, history, &Budget::DEFAULT);
    match &verdict {
        Verdict::Linearizable => prop_assert!(
            expected,
            "engine says linearizable, brute force says not: {history:#?}"
        ),
        Verdict::NotLinearizable(explanation) => {
            prop_assert!(
                !expected,
                "engine says not linearizable, brute force says it is: {history:#?}"
            );
            prop_assert!(!explanation.stuck.is_empty());
            // The explained prefix must itself be a valid sequential run.
            let mut state = model.init();
            for &index in &explanation.prefix {
                let op = &history[index];
                let next = match &op.output {
                    Some(output) => model.step(&state, &op.input, output),
                    None => model.step_unknown(&state, &op.input),
                };
                prop_assert!(next.is_some(), "explanation prefix does not replay");
                state = next.unwrap();
            }
        }
        Verdict::Unknown(reason) => prop_assert!(false, "unbounded budget ran out: {reason:?}"),
    }
    Ok(expected)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn register_engine_matches_brute_force(raw in raw_ops(8), seed in any::<u64>(), honest in prop::bool::weighted(0.6)) {
        let history = register_history(&raw, seed, honest);
        agree(&RegisterModel::default(), &history)?;
    }

    #[test]
    fn kv_engine_matches_brute_force(raw in raw_ops(8), seed in any::<u64>(), honest in prop::bool::weighted(0.6)) {
        let history = kv_history(&raw, seed, honest);
        agree(&KvModel, &history)?;
    }
}

/// The generators must produce both verdicts often, or the comparison proves little.
#[test]
fn generators_produce_both_verdicts() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (raw_ops(8), any::<u64>(), any::<bool>());
    let (mut register_ok, mut register_bad, mut kv_ok, mut kv_bad) = (0, 0, 0, 0);
    for _ in 0..400 {
        let (raw, seed, honest) = strategy.new_tree(&mut runner).unwrap().current();
        if brute::is_linearizable(
            &RegisterModel::default(),
            &register_history(&raw, seed, honest),
        ) {
            register_ok += 1;
        } else {
            register_bad += 1;
        }
        if brute::is_linearizable(&KvModel, &kv_history(&raw, seed, honest)) {
            kv_ok += 1;
        } else {
            kv_bad += 1;
        }
    }
    assert!(
        register_ok > 80 && register_bad > 80,
        "register: {register_ok} ok, {register_bad} bad"
    );
    assert!(kv_ok > 80 && kv_bad > 80, "kv: {kv_ok} ok, {kv_bad} bad");
}
