//! `zabsim check`: checks externally recorded histories (Porcupine's etcd and kv formats)
//! for linearizability with the `lincheck::lin` engine, one verdict line (or JSON object) per
//! file, and the exit code over all files (0 all linearizable, 1 a violation, 2 unreadable
//! input or an unknown model/format, 3 inconclusive).

use std::fmt::Debug;
use std::time::Instant;

use lincheck::import::{ParseError, porcupine_etcd, porcupine_kv};
use lincheck::lin::{Budget, Exhausted, Model, Operation, Verdict, check};
use lincheck::models::kv::KvModel;
use lincheck::models::register::RegisterModel;

/// A model paired with the history format it can read.
#[derive(Clone, Copy)]
enum Pairing {
    RegisterEtcd,
    KvKv,
    ZkZabsim,
}

fn pairing(model: &str, format: &str) -> Result<Pairing, String> {
    match (model, format) {
        ("register", "porcupine-etcd") => Ok(Pairing::RegisterEtcd),
        ("kv", "porcupine-kv") => Ok(Pairing::KvKv),
        ("zk", "zabsim") => Ok(Pairing::ZkZabsim),
        ("register" | "kv" | "zk", _) => Err(format!(
            "model `{model}` cannot read format `{format}` (available: `--model register --format porcupine-etcd`, `--model kv --format porcupine-kv`, `--model zk --format zabsim`)"
        )),
        _ => Err(format!(
            "unknown model `{model}` (available: `register`, `kv`, `zk`)"
        )),
    }
}

/// The outcome of checking one readable file.
struct FileResult {
    verdict: &'static str,
    exhausted: Option<Exhausted>,
    explanation: Option<String>,
    ms: f64,
}

fn run_model<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    budget: &Budget,
) -> FileResult
where
    M::Input: Debug,
    M::Output: Debug,
{
    let started = Instant::now();
    let verdict = check(model, ops, budget);
    let ms = started.elapsed().as_secs_f64() * 1e3;
    match verdict {
        Verdict::Linearizable => FileResult {
            verdict: "linearizable",
            exhausted: None,
            explanation: None,
            ms,
        },
        Verdict::NotLinearizable(explanation) => FileResult {
            verdict: "not-linearizable",
            exhausted: None,
            explanation: Some(explanation.render(ops)),
            ms,
        },
        Verdict::Unknown(reason) => FileResult {
            verdict: "unknown",
            exhausted: Some(reason),
            explanation: None,
            ms,
        },
    }
}

/// Why a readable file gets no verdict: a line that does not parse, or nothing to check (a
/// history with no operations is not evidence of anything, so it is not "linearizable").
enum Unusable {
    Parse(ParseError),
    NoOperations,
}

impl From<ParseError> for Unusable {
    fn from(e: ParseError) -> Self {
        Unusable::Parse(e)
    }
}

/// `Err(NoOperations)` when `count` is zero.
fn some_operations(count: usize) -> Result<(), Unusable> {
    if count == 0 {
        return Err(Unusable::NoOperations);
    }
    Ok(())
}

fn check_text(pairing: Pairing, text: &str, budget: &Budget) -> Result<FileResult, Unusable> {
    Ok(match pairing {
        Pairing::RegisterEtcd => {
            let ops = porcupine_etcd::parse(text)?;
            some_operations(ops.len())?;
            run_model(&RegisterModel::default(), &ops, budget)
        }
        Pairing::KvKv => {
            let ops = porcupine_kv::parse(text)?;
            some_operations(ops.len())?;
            run_model(&KvModel, &ops, budget)
        }
        Pairing::ZkZabsim => {
            let events = parse_history(text)?;
            let ops = events
                .iter()
                .filter(|e| matches!(e, proto::history::Event::Op(_)));
            some_operations(ops.count())?;
            check_zk(&events, budget)
        }
    })
}

/// `history.jsonl`: one `proto::history::Event` per line (blank lines skipped).
fn parse_history(text: &str) -> Result<Vec<proto::history::Event>, ParseError> {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e = serde_json::from_str(line).map_err(|e| ParseError {
            line: i + 1,
            message: format!("not a history event: {e}"),
        })?;
        events.push(e);
    }
    Ok(events)
}

/// ZooKeeper's consistency model plus the watch invariants on a zabsim history.
fn check_zk(events: &[proto::history::Event], budget: &Budget) -> FileResult {
    let started = Instant::now();
    let (report, watches) = check::watch::check_history_and_watches(events, *budget);
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let mut explanation: Vec<String> = report.violations.iter().map(|v| v.render(events)).collect();
    explanation.extend(watches.violations.iter().map(|v| v.render(events)));
    let verdict = match report.verdict {
        _ if !explanation.is_empty() => "not-linearizable",
        check::zk::ZkVerdict::Unknown => "unknown",
        _ => "linearizable",
    };
    FileResult {
        verdict,
        exhausted: (verdict == "unknown").then_some(Exhausted::Steps),
        explanation: (!explanation.is_empty()).then(|| explanation.join("\n")),
        ms,
    }
}

pub fn run(
    model: &str,
    format: &str,
    files: &[String],
    json: bool,
    budget_steps: Option<u64>,
) -> u8 {
    let pairing = match pairing(model, format) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let budget = budget_steps.map_or(Budget::DEFAULT, Budget::steps);
    let (mut any_bad, mut any_unknown, mut any_unreadable) = (false, false, false);
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{file}: cannot read: {e}");
                any_unreadable = true;
                continue;
            }
        };
        let result = match check_text(pairing, &text, &budget) {
            Ok(r) => r,
            Err(Unusable::Parse(e)) => {
                eprintln!("{file}:{}: {}", e.line, e.message);
                any_unreadable = true;
                continue;
            }
            Err(Unusable::NoOperations) => {
                eprintln!("{file}: no operations (an empty history proves nothing)");
                any_unreadable = true;
                continue;
            }
        };
        match result.verdict {
            "not-linearizable" => any_bad = true,
            "unknown" => any_unknown = true,
            _ => {}
        }
        if json {
            let mut object = serde_json::json!({
                "file": file,
                "verdict": result.verdict,
                "ms": result.ms,
            });
            if let Some(reason) = result.exhausted {
                object["exhausted"] = serde_json::json!(match reason {
                    Exhausted::Steps => "steps",
                    Exhausted::CacheBytes => "cache-bytes",
                });
            }
            if let Some(explanation) = &result.explanation {
                object["explanation"] = serde_json::json!(explanation);
            }
            println!("{object}");
        } else {
            let words = match result.verdict {
                "not-linearizable" => "not linearizable",
                other => other,
            };
            println!("{file}: {words}");
            match result.exhausted {
                Some(Exhausted::Steps) => println!("    step budget exhausted"),
                Some(Exhausted::CacheBytes) => println!("    cache budget exhausted"),
                None => {}
            }
            if let Some(explanation) = &result.explanation {
                for line in explanation.lines() {
                    println!("    {line}");
                }
            }
        }
    }
    if any_unreadable {
        2
    } else if any_bad {
        1
    } else if any_unknown {
        3
    } else {
        0
    }
}
