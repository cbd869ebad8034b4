//! Property test of `zk-script`: random op sequences applied to one `DataTree` directly
//! (the sequential specification) and run through a fault-free simulated ensemble
//! (`sim::zkscript::run_full`) give identical output lines and identical final trees
//! (compared as path → data, version, cversion, aversion, children count, ephemeral flag;
//! zxids, times and session ids legitimately differ).

use std::collections::BTreeMap;

use datatree::{DataTree, TxnHeader};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use proto::zk::{CreateMode, OpResult, SessionId, ZkError};
use proto::{Epoch, Zxid};
use serde_json::{Value, json};
use sim::zkscript::{ScriptLine, ScriptOp, render, run_full};

/// Script sessions are 0..SESSIONS.
const SESSIONS: u32 = 3;
/// Paths chosen so that ops collide: nested nodes, sequential prefixes ("/q/", "/q/x-"),
/// a grandchild, and one invalid path.
const PATHS: &[&str] = &[
    "/", "/a", "/b", "/a/b", "/a/c", "/q", "/q/", "/q/x-", "/a/b/c", "/a/",
];
/// Paths plain creates target: parents twice as often, so that creates succeed often
/// enough for trees to grow (and ephemeral parents get children refused).
const CREATE_PATHS: &[&str] = &["/a", "/a", "/b", "/q", "/q", "/a/b", "/a/c", "/a/b/c"];
/// Sequential prefixes (and one plain parent, whose children are named "/a0000000007").
const SEQ_PATHS: &[&str] = &["/q/", "/q/", "/q/x-", "/a/", "/a"];
const DATA: &[&str] = &["", "x", "héllo 日本"];

fn path() -> impl Strategy<Value = String> {
    prop::sample::select(PATHS).prop_map(str::to_owned)
}

fn data() -> impl Strategy<Value = String> {
    prop::sample::select(DATA).prop_map(str::to_owned)
}

fn version() -> impl Strategy<Value = i32> {
    prop_oneof![2 => Just(-1), 3 => Just(0), 2 => 1i32..=2]
}

fn mode() -> impl Strategy<Value = CreateMode> {
    prop::sample::select(&CreateMode::ALL[..])
}

/// Persistent twice as often as ephemeral, so that trees grow.
fn plain_mode() -> impl Strategy<Value = CreateMode> {
    prop_oneof![2 => Just(CreateMode::Persistent), 1 => Just(CreateMode::Ephemeral)]
}

/// A path an op other than create targets: mostly one that may exist.
fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(CREATE_PATHS).prop_map(str::to_owned),
        1 => path(),
    ]
}

fn op() -> impl Strategy<Value = ScriptOp> {
    prop_oneof![
        // Creates of any mode on any path (invalid combinations included).
        2 => (path(), data(), mode()).prop_map(|(path, data, mode)| ScriptOp::Create { path, data, mode }),
        // Creates on paths that may exist or nearly do: parents before children,
        // ephemerals that later get children.
        5 => (prop::sample::select(CREATE_PATHS), data(), plain_mode())
            .prop_map(|(p, data, mode)| ScriptOp::Create { path: p.to_owned(), data, mode }),
        // Sequential creates.
        2 => (prop::sample::select(SEQ_PATHS), data(), prop::sample::select(&CreateMode::ALL[2..]))
            .prop_map(|(p, data, mode)| ScriptOp::Create { path: p.to_owned(), data, mode }),
        3 => (target(), version()).prop_map(|(path, version)| ScriptOp::Delete { path, version }),
        3 => (target(), data(), version())
            .prop_map(|(path, data, version)| ScriptOp::Set { path, data, version }),
        1 => target().prop_map(|path| ScriptOp::Get { path }),
        1 => target().prop_map(|path| ScriptOp::Exists { path }),
        1 => target().prop_map(|path| ScriptOp::Children { path }),
        1 => Just(ScriptOp::CloseSession),
    ]
}

fn script() -> impl Strategy<Value = Vec<ScriptLine>> {
    prop::collection::vec(
        (0..SESSIONS, op()).prop_map(|(session, op)| ScriptLine { session, op }),
        1..=25,
    )
}

/// What the comparison keeps of one node: data, version, cversion, aversion, number of
/// children, ephemeral.
type NodeView = (Vec<u8>, i32, i32, i32, i32, bool);

fn normalize(tree: &DataTree) -> BTreeMap<String, NodeView> {
    tree.paths()
        .map(|p| {
            let s = tree.stat(p).expect("listed");
            let data = tree.data(p).expect("listed").to_vec();
            let view = (
                data,
                s.version,
                s.cversion,
                s.aversion,
                s.num_children,
                !s.ephemeral_owner.is_none(),
            );
            (p.to_owned(), view)
        })
        .collect()
}

/// The direct model: each line on one tree, in order. Script session k maps to a session
/// id, opened on first use; `close_session` closes it and the next use opens a new id, as
/// zk-script does. Each write and each close gets the next zxid.
fn run_direct(lines: &[ScriptLine]) -> (Vec<Value>, DataTree) {
    let mut tree = DataTree::new();
    let mut sessions: BTreeMap<u32, SessionId> = BTreeMap::new();
    let mut next_session = 1u64;
    let mut counter = 0u32;
    let mut outputs = Vec::new();
    for line in lines {
        let session = *sessions.entry(line.session).or_insert_with(|| {
            next_session += 1;
            SessionId(next_session - 1)
        });
        let op = line.op.to_op();
        if op.is_write() || line.op == ScriptOp::CloseSession {
            counter += 1;
        }
        let header = TxnHeader {
            session,
            zxid: Zxid::new(Epoch(1), counter),
            time_ms: 0,
        };
        let result = if line.op == ScriptOp::CloseSession {
            tree.close_session(header);
            sessions.remove(&line.session);
            OpResult::SessionClosed
        } else {
            tree.execute(header, &op)
        };
        outputs.push(render(&result));
    }
    tree.check_invariants();
    (outputs, tree)
}

/// Runs `lines` both ways; `Err` describes the first difference.
fn compare(lines: &[ScriptLine], seed: u64) -> Result<(), String> {
    let (direct_out, direct_tree) = run_direct(lines);
    let run = run_full(lines.to_vec(), seed)?;
    if run.outputs.len() != direct_out.len() {
        return Err(format!(
            "{} ensemble outputs for {} lines",
            run.outputs.len(),
            lines.len()
        ));
    }
    for (i, (d, e)) in direct_out.iter().zip(&run.outputs).enumerate() {
        if d != e {
            return Err(format!("line {i} {:?}: direct {d}, ensemble {e}", lines[i]));
        }
    }
    let (d, e) = (normalize(&direct_tree), normalize(&run.tree));
    if d != e {
        return Err(format!(
            "final trees differ:\ndirect   {d:?}\nensemble {e:?}"
        ));
    }
    Ok(())
}

fn line(session: u32, op: ScriptOp) -> ScriptLine {
    ScriptLine { session, op }
}

fn create(path: &str, data: &str, mode: CreateMode) -> ScriptOp {
    ScriptOp::Create {
        path: path.into(),
        data: data.into(),
        mode,
    }
}

/// A fixed script touching every op kind: sequential creates, an ephemeral's child
/// (refused), an ephemeral removed by its session's close, a close of a never-used session,
/// a session index reused after its close, versioned set/delete, an invalid path.
fn fixed_script() -> Vec<ScriptLine> {
    use CreateMode::*;
    let path = |p: &str| p.to_owned();
    vec![
        line(0, create("/a", "héllo 日本", Persistent)),
        line(0, create("/a", "", Persistent)),
        line(1, create("/a/b", "x", Ephemeral)),
        line(1, create("/a/b/c", "", Persistent)),
        line(1, create("/a/b/", "", EphemeralSequential)),
        line(0, create("/q", "", Persistent)),
        line(0, create("/q/", "", PersistentSequential)),
        line(2, create("/q/x-", "x", EphemeralSequential)),
        line(0, create("/q/", "", PersistentSequential)),
        line(0, ScriptOp::Children { path: path("/q") }),
        line(
            0,
            ScriptOp::Set {
                path: path("/a"),
                data: "x".into(),
                version: 0,
            },
        ),
        line(
            0,
            ScriptOp::Set {
                path: path("/a"),
                data: "".into(),
                version: 0,
            },
        ),
        line(
            0,
            ScriptOp::Set {
                path: path("/a"),
                data: "".into(),
                version: -1,
            },
        ),
        line(0, ScriptOp::Get { path: path("/a") }),
        line(0, ScriptOp::Get { path: path("/a/b") }),
        line(0, ScriptOp::Exists { path: path("/a/c") }),
        line(
            0,
            ScriptOp::Delete {
                path: path("/a"),
                version: -1,
            },
        ),
        line(1, ScriptOp::CloseSession),
        line(0, ScriptOp::Exists { path: path("/a/b") }),
        line(
            0,
            ScriptOp::Delete {
                path: path("/a"),
                version: 1,
            },
        ),
        line(
            0,
            ScriptOp::Delete {
                path: path("/a"),
                version: 2,
            },
        ),
        line(1, create("/b", "", Ephemeral)),
        line(1, ScriptOp::Get { path: path("/b") }),
        line(0, ScriptOp::Get { path: path("a") }),
        line(0, create("/a/", "", Persistent)),
        line(0, ScriptOp::Children { path: path("/") }),
        line(
            0,
            ScriptOp::Children {
                path: path("/nope"),
            },
        ),
        line(2, ScriptOp::CloseSession),
        line(0, ScriptOp::Children { path: path("/q") }),
        line(5, ScriptOp::CloseSession),
        line(5, ScriptOp::Exists { path: path("/b") }),
    ]
}

#[test]
fn a_fixed_script_agrees() {
    let lines = fixed_script();
    let (outputs, tree) = run_direct(&lines);
    // The direct model's answers for the interesting lines, so the script keeps testing
    // what it claims to.
    let no_kids = json!({"ok": false, "error": ZkError::NoChildrenForEphemerals.name()});
    assert_eq!(outputs[3], no_kids);
    assert_eq!(outputs[4], no_kids);
    assert_eq!(outputs[6], json!({"ok": true, "path": "/q/0000000000"}));
    assert_eq!(outputs[7], json!({"ok": true, "path": "/q/x-0000000001"}));
    assert_eq!(outputs[18], json!({"ok": true, "stat": null}));
    assert_eq!(outputs[20], json!({"ok": true}));
    assert_eq!(outputs[27], json!({"ok": true}));
    assert_eq!(outputs[29], json!({"ok": true}));
    assert_eq!(outputs[30]["stat"]["ephemeral"], json!(true));
    assert_eq!(
        tree.children("/q"),
        Some(vec!["0000000000".into(), "0000000002".into()])
    );
    assert!(
        tree.stat("/b")
            .is_some_and(|s| !s.ephemeral_owner.is_none())
    );
    if let Err(e) = compare(&lines, 7) {
        panic!("{e}");
    }
}

/// The generator reaches the cases the property is about (checked on the direct model
/// only, so it is cheap): sequential creates, ephemerals refused children, ephemerals
/// deleted by a close, versioned writes both succeeding and failing, invalid paths.
#[test]
fn the_generator_covers_the_interesting_cases() {
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for _ in 0..COVERAGE_SCRIPTS {
        let lines = script().new_tree(&mut runner).expect("a script").current();
        let (outputs, tree) = run_direct(&lines);
        let mut live: BTreeMap<u32, bool> = BTreeMap::new();
        for (l, out) in lines.iter().zip(&outputs) {
            let ok = out["ok"] == json!(true);
            let err = out["error"].as_str().unwrap_or("");
            let mut hit = |k| *seen.entry(k).or_default() += 1;
            match &l.op {
                ScriptOp::Create { mode, .. } if ok => {
                    if mode.is_ephemeral() {
                        hit("ephemeral create");
                        live.insert(l.session, true);
                    }
                    hit(if mode.is_sequential() {
                        "seq create"
                    } else {
                        "create"
                    });
                }
                ScriptOp::Delete { version, .. } if ok && version >= &0 => hit("versioned delete"),
                ScriptOp::Set { version, .. } if ok && version >= &0 => hit("versioned set"),
                ScriptOp::CloseSession if live.remove(&l.session).is_some() => {
                    hit("close with ephemerals")
                }
                _ => {}
            }
            if err == ZkError::NoChildrenForEphemerals.name() {
                hit("child of ephemeral");
            }
            if err == ZkError::BadVersion.name() {
                hit("bad version");
            }
            if err == ZkError::BadArguments.name() {
                hit("bad path");
            }
            if err == ZkError::NotEmpty.name() {
                hit("not empty");
            }
        }
        if tree
            .paths()
            .any(|p| tree.stat(p).is_some_and(|s| !s.ephemeral_owner.is_none()))
        {
            *seen.entry("ephemeral at the end").or_default() += 1;
        }
    }
    eprintln!("coverage over {COVERAGE_SCRIPTS} scripts: {seen:?}");
    for k in [
        "seq create",
        "ephemeral create",
        "create",
        "versioned delete",
        "versioned set",
        "close with ephemerals",
        "child of ephemeral",
        "bad version",
        "bad path",
        "not empty",
        "ephemeral at the end",
    ] {
        assert!(
            seen.get(k).copied().unwrap_or(0) >= COVERAGE_SCRIPTS / 50,
            "the generator rarely reaches {k:?}: {seen:?}"
        );
    }
}

/// Scripts the coverage test draws (no ensemble runs: cheap).
const COVERAGE_SCRIPTS: usize = 1_000;

/// Each case runs a simulated ensemble (well under 1 ms each in release): 1024 cases take
/// about 0.6 s in `cargo test --release`, about 5 s unoptimized.
const CASES: u32 = 1024;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn direct_and_ensemble_agree(lines in script(), seed in any::<u64>()) {
        if let Err(e) = compare(&lines, seed) {
            prop_assert!(false, "{e}\nseed {seed}, script {lines:#?}");
        }
    }
}
