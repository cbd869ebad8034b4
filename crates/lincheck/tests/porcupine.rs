//! The Porcupine test corpus: every etcd and kv history must get the verdict listed in
//! `testdata/porcupine/expected.tsv` (vendored from Porcupine, MIT: see its LICENSE.md).

use std::path::PathBuf;

use lincheck::import::{porcupine_etcd, porcupine_kv};
use lincheck::lin::{Budget, Verdict, check};
use lincheck::models::kv::KvModel;
use lincheck::models::register::RegisterModel;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/porcupine")
}

fn expected() -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(corpus().join("expected.tsv")).expect("expected.tsv");
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (name, verdict) = line.split_once('\t').expect("name<TAB>verdict");
            let linearizable = match verdict.trim() {
                "linearizable" => true,
                "not-linearizable" => false,
                other => panic!("unknown verdict {other}"),
            };
            (name.to_string(), linearizable)
        })
        .collect()
}

fn verdict_of(name: &str) -> Verdict {
    if let Some(kv_name) = name.strip_prefix("kv/") {
        let text = std::fs::read_to_string(corpus().join(format!("kv/{kv_name}.txt"))).unwrap();
        let ops = porcupine_kv::parse(&text).unwrap();
        check(&KvModel, &ops, &Budget::DEFAULT)
    } else {
        let text = std::fs::read_to_string(corpus().join(format!("jepsen/{name}.log"))).unwrap();
        let ops = porcupine_etcd::parse(&text).unwrap();
        check(&RegisterModel::default(), &ops, &Budget::DEFAULT)
    }
}

#[test]
fn all_porcupine_histories_get_the_expected_verdict() {
    let expected = expected();
    assert_eq!(expected.len(), 108);
    let mut wrong = Vec::new();
    for (name, linearizable) in &expected {
        let verdict = verdict_of(name);
        let ok = match &verdict {
            Verdict::Linearizable => *linearizable,
            Verdict::NotLinearizable(explanation) => {
                assert!(!explanation.stuck.is_empty());
                !*linearizable
            }
            Verdict::Unknown(_) => false,
        };
        if !ok {
            wrong.push(format!(
                "{name}: expected linearizable={linearizable}, got {verdict:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

#[test]
fn verdicts_are_deterministic() {
    for name in ["etcd_000", "etcd_099", "kv/c10-bad"] {
        assert_eq!(verdict_of(name), verdict_of(name), "{name}");
    }
}
