//! Property tests over random op sequences (small path alphabet so that ops collide):
//! invariants hold and snapshot → restore (also through JSON) gives back the same tree after
//! every op; pipelined prepare (batches against outstanding changes) gives the same results
//! and tree as prepare+apply one at a time; and results and final contents agree with a
//! naive reference model written independently of the crate.

mod common;

use std::collections::BTreeMap;

use common::{header, render};
use datatree::path::validate_path;
use datatree::{DataTree, PendingChanges, Snapshot, Txn};
use proptest::prelude::*;
use proto::zk::{CreateMode, Op};

const SHALLOW: &[&str] = &["/a", "/b", "/q"];
const DEEP: &[&str] = &[
    "/a/x",
    "/a/y",
    "/b/x",
    "/q/0000000000",
    "/q/0000000001",
    "/q/0000000002",
    "/a/0000000003",
];
const ODD: &[&str] = &["/a/x/z", "/bad/", "a", "/"];
const PREFIXES: &[&str] = &["/q/", "/a/", "/", "/a/x/", "/q/n-"];
/// Persistent three times as often as ephemeral, so that trees grow.
const PLAIN_MODES: [CreateMode; 4] = [
    CreateMode::Persistent,
    CreateMode::Persistent,
    CreateMode::Persistent,
    CreateMode::Ephemeral,
];
const DATA: &[&str] = &["", "x", "héllo", "日本"];

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(SHALLOW),
        5 => prop::sample::select(DEEP),
        1 => prop::sample::select(ODD),
    ]
    .prop_map(str::to_owned)
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(DATA).prop_map(|d| d.as_bytes().to_vec())
}

fn version() -> impl Strategy<Value = i32> {
    prop_oneof![3 => Just(-1), 2 => 0i32..=2]
}

fn member_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (path(), data(), prop::sample::select(&PLAIN_MODES[..]))
            .prop_map(|(path, data, mode)| Op::Create { path, data, mode }),
        3 => (prop::sample::select(PREFIXES), data(), prop::sample::select(&CreateMode::ALL[2..]))
            .prop_map(|(p, data, mode)| Op::Create { path: p.to_owned(), data, mode }),
        2 => (path(), version()).prop_map(|(path, version)| Op::Delete { path, version }),
        2 => (path(), data(), version())
            .prop_map(|(path, data, version)| Op::SetData { path, data, version }),
        1 => (path(), version()).prop_map(|(path, version)| Op::Check { path, version }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => member_op(),
        2 => prop::collection::vec(member_op(), 0..4).prop_map(Op::Multi),
        1 => path().prop_map(|path| Op::GetData { path, watch: false }),
        1 => path().prop_map(|path| Op::Exists { path, watch: false }),
        1 => path().prop_map(|path| Op::GetChildren { path, watch: false }),
        1 => Just(Op::CloseSession),
        1 => Just(Op::Multi(vec![Op::Sync { path: "/".into() }])),
    ]
}

fn ops() -> impl Strategy<Value = Vec<(u64, Op)>> {
    prop::collection::vec((1u64..=3, op()), 0..64)
}

// ---- the reference model: a flat map and the rules written out plainly ----

#[derive(Clone, Debug, PartialEq, Eq)]
struct RefNode {
    data: Vec<u8>,
    version: i32,
    cversion: i32,
    owner: u64,
}

struct Reference {
    nodes: BTreeMap<String, RefNode>,
}

fn ref_parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => unreachable!("validated paths start with /"),
    }
}

impl Reference {
    fn new() -> Reference {
        let root = RefNode {
            data: vec![],
            version: 0,
            cversion: 0,
            owner: 0,
        };
        Reference {
            nodes: BTreeMap::from([("/".to_owned(), root)]),
        }
    }

    fn has_children(&self, path: &str) -> bool {
        self.nodes.keys().any(|p| p != "/" && ref_parent(p) == path)
    }

    fn children(&self, path: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .nodes
            .keys()
            .filter(|p| p.as_str() != "/" && ref_parent(p) == path)
            .map(|p| p[p.rfind('/').unwrap() + 1..].to_owned())
            .collect();
        names.sort();
        names
    }

    fn step(&mut self, session: u64, op: &Op) -> String {
        let bad = |p: &str| validate_path(p).is_err();
        match op {
            Op::Create { path, data, mode } => {
                let probe = if mode.is_sequential() {
                    format!("{path}1")
                } else {
                    path.clone()
                };
                if bad(&probe) {
                    return "err BadArguments".into();
                }
                let parent = ref_parent(path).to_owned();
                let Some(p) = self.nodes.get(&parent) else {
                    return "err NoNode".into();
                };
                let name = if mode.is_sequential() {
                    format!("{path}{:010}", p.cversion)
                } else {
                    path.clone()
                };
                if self.nodes.contains_key(&name) {
                    return "err NodeExists".into();
                }
                if p.owner != 0 {
                    return "err NoChildrenForEphemerals".into();
                }
                self.nodes.get_mut(&parent).unwrap().cversion += 1;
                let owner = if mode.is_ephemeral() { session } else { 0 };
                let node = RefNode {
                    data: data.clone(),
                    version: 0,
                    cversion: 0,
                    owner,
                };
                self.nodes.insert(name.clone(), node);
                format!("created {name}")
            }
            Op::Delete { path, version } => {
                if bad(path) || path == "/" {
                    return "err BadArguments".into();
                }
                if !self.nodes.contains_key(ref_parent(path)) {
                    return "err NoNode".into();
                }
                let Some(n) = self.nodes.get(path) else {
                    return "err NoNode".into();
                };
                if *version != -1 && *version != n.version {
                    return "err BadVersion".into();
                }
                if self.has_children(path) {
                    return "err NotEmpty".into();
                }
                self.nodes.remove(path);
                "deleted".into()
            }
            Op::SetData {
                path,
                data,
                version,
            } => {
                if bad(path) {
                    return "err BadArguments".into();
                }
                let Some(n) = self.nodes.get_mut(path) else {
                    return "err NoNode".into();
                };
                if *version != -1 && *version != n.version {
                    return "err BadVersion".into();
                }
                n.version += 1;
                n.data = data.clone();
                format!("version {}", n.version)
            }
            Op::Check { path, version } => {
                if bad(path) {
                    return "err BadArguments".into();
                }
                let Some(n) = self.nodes.get(path) else {
                    return "err NoNode".into();
                };
                if *version != -1 && *version != n.version {
                    return "err BadVersion".into();
                }
                "checked".into()
            }
            Op::Multi(ops) => {
                if !ops.iter().all(Op::is_multi_member) {
                    return "err MarshallingError".into();
                }
                let mut scratch = Reference {
                    nodes: self.nodes.clone(),
                };
                let mut results = Vec::new();
                for (i, op) in ops.iter().enumerate() {
                    let r = scratch.step(session, op);
                    if r.starts_with("err ") {
                        let mut failed = vec!["rolled_back".to_owned(); i];
                        failed.push(r);
                        failed.resize(ops.len(), "err RuntimeInconsistency".to_owned());
                        return format!("multi [{}]", failed.join(", "));
                    }
                    results.push(if r.starts_with("version ") {
                        format!("set {r}")
                    } else {
                        r
                    });
                }
                self.nodes = scratch.nodes;
                format!("multi [{}]", results.join(", "))
            }
            Op::GetData { path, .. } => {
                if bad(path) {
                    return "err BadArguments".into();
                }
                match self.nodes.get(path) {
                    None => "err NoNode".into(),
                    Some(n) => format!(
                        "data {:?} version {} len {}",
                        String::from_utf8_lossy(&n.data),
                        n.version,
                        n.data.len()
                    ),
                }
            }
            Op::Exists { path, .. } => {
                if bad(path) {
                    return "err BadArguments".into();
                }
                match self.nodes.get(path) {
                    None => "absent".into(),
                    Some(n) => format!("exists version {}", n.version),
                }
            }
            Op::GetChildren { path, .. } => {
                if bad(path) {
                    return "err BadArguments".into();
                }
                if !self.nodes.contains_key(path) {
                    return "err NoNode".into();
                }
                format!("children [{}]", self.children(path).join(" "))
            }
            Op::CloseSession => {
                self.nodes.retain(|_, n| n.owner != session);
                "closed".into()
            }
            other => panic!("reference does not model {other:?}"),
        }
    }
}

fn contents(tree: &DataTree) -> BTreeMap<String, RefNode> {
    tree.paths()
        .map(|p| {
            let s = tree.stat(p).unwrap();
            let node = RefNode {
                data: tree.data(p).unwrap().to_vec(),
                version: s.version,
                // The model counts creations; a client sees creations + deletions.
                cversion: (s.cversion + s.num_children) / 2,
                owner: s.ephemeral_owner.0,
            };
            (p.to_owned(), node)
        })
        .collect()
}

/// Execute `ops` one at a time; the write with index i gets zxid counter i + 1.
fn run_sequentially(ops: &[(u64, Op)]) -> (DataTree, Vec<String>) {
    let mut tree = DataTree::new();
    let mut counter = 0;
    let results = ops
        .iter()
        .map(|(session, op)| {
            if op.is_write() {
                counter += 1;
            }
            render(&tree.execute(header(*session, counter), op))
        })
        .collect();
    (tree, results)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn snapshots_restore_the_same_tree(ops in ops()) {
        let mut tree = DataTree::new();
        let mut counter = 0;
        for (session, op) in &ops {
            if op.is_write() {
                counter += 1;
            }
            tree.execute(header(*session, counter), op);
            tree.check_invariants();
            prop_assert_eq!(tree.misfits(), 0);
            let snapshot = tree.snapshot();
            let restored = DataTree::restore(&snapshot);
            prop_assert_eq!(&restored, &tree);
            prop_assert_eq!(restored.digest(), tree.digest());
            prop_assert_eq!(restored.snapshot(), snapshot);
        }
        let json = serde_json::to_string(&tree.snapshot()).unwrap();
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(DataTree::restore(&back), tree);
    }

    #[test]
    fn pipelined_prepare_equals_one_at_a_time(
        ops in ops(),
        batch_sizes in prop::collection::vec(1usize..6, 1..16),
    ) {
        let writes: Vec<(u64, Op)> = ops.into_iter().filter(|(_, op)| op.is_write()).collect();
        let (expected_tree, expected) = run_sequentially(&writes);

        let mut tree = DataTree::new();
        let mut pending = PendingChanges::new();
        let mut results = Vec::new();
        let mut next = 0usize;
        let mut sizes = batch_sizes.iter().cycle();
        while next < writes.len() {
            let end = (next + sizes.next().unwrap()).min(writes.len());
            let txns: Vec<Txn> = (next..end)
                .map(|i| {
                    let (session, op) = &writes[i];
                    tree.prepare_with(&mut pending, header(*session, i as u32 + 1), op)
                })
                .collect();
            for txn in &txns {
                results.push(render(&tree.apply(txn)));
                pending.retire(txn.header.zxid);
            }
            prop_assert!(pending.is_empty());
            next = end;
        }
        prop_assert_eq!(results, expected);
        prop_assert_eq!(tree.misfits(), 0);
        prop_assert_eq!(tree, expected_tree);
    }

    #[test]
    fn agrees_with_the_reference_model(ops in ops()) {
        let (tree, results) = run_sequentially(&ops);
        let mut reference = Reference::new();
        for ((session, op), got) in ops.iter().zip(&results) {
            let want = reference.step(*session, op);
            prop_assert_eq!(got, &want, "op {:?} session {}", op, session);
        }
        prop_assert_eq!(contents(&tree), reference.nodes);
    }
}

#[test]
fn digest_is_pinned_for_a_fixed_history() {
    // The digest is part of the replay contract (replicas compare it across machines).
    let mut tree = DataTree::new();
    let empty = tree.digest();
    for (i, line) in [
        "create /a persistent x",
        "create /a/ persistent_sequential 日本",
        "set /a 0 y",
    ]
    .iter()
    .enumerate()
    {
        tree.execute(header(1, i as u32 + 1), &common::parse_op(line));
    }
    assert_ne!(tree.digest(), empty);
    assert_eq!(DataTree::new().digest(), empty);
    assert_eq!(tree.digest(), DataTree::restore(&tree.snapshot()).digest());
    assert_eq!(format!("{:#018x}", empty), PINNED_EMPTY);
    assert_eq!(format!("{:#018x}", tree.digest()), PINNED_HISTORY);
}

const PINNED_EMPTY: &str = "0x3df2ef2351db44b9";
const PINNED_HISTORY: &str = "0x8bd3d1fc8c65ffef";
