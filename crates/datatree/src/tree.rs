//! The znode tree itself: storage, reads (getData, exists, getChildren, sync), accessors,
//! the digest and the full invariant check. Mutation lives in
//! `apply.rs`, txn preparation in `prepare.rs`/`multi.rs`, persistence in `snapshot.rs`.
//! Invariants (checked by `check_invariants`): the root `/` always exists and is never
//! ephemeral; every other node's parent exists and lists it as a child, and every listed
//! child exists; ephemeral nodes have no children; the per-session ephemeral index equals
//! the set of nodes owned by each session; every stored path passes `validate_path`; all
//! iteration is in path order. The digest is computed on demand (nothing on the apply path
//! needs it, so no apply pays for it).

use std::collections::{BTreeMap, BTreeSet};

use proto::zk::{Op, OpResult, SessionId, Stat, ZkError};
use proto::{Zxid, hash_words};

use crate::node::{Node, StatPersisted, node_hash};
use crate::path::{self, ROOT};
use crate::txn::TxnHeader;

/// A read's answer borrowed from the tree (see [`DataTree::read_view`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReadView<'a> {
    Err(ZkError),
    Synced {
        path: &'a str,
    },
    Exists(Option<Stat>),
    Data {
        data: &'a [u8],
        stat: Stat,
    },
    /// The child names, in order.
    Children(&'a BTreeSet<String>),
}

impl ReadView<'_> {
    /// The owned result a server sends.
    pub fn to_result(self) -> OpResult {
        match self {
            ReadView::Err(err) => OpResult::Err(err),
            ReadView::Synced { path } => OpResult::Synced {
                path: path.to_owned(),
            },
            ReadView::Exists(stat) => OpResult::Exists(stat),
            ReadView::Data { data, stat } => OpResult::Data {
                data: data.to_vec(),
                stat,
            },
            ReadView::Children(names) => OpResult::Children(names.iter().cloned().collect()),
        }
    }
}

/// The znode tree. Cloning is a deep copy; equality compares every node, the ephemeral
/// index, the last applied zxid and the misfit count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataTree {
    pub(crate) nodes: BTreeMap<String, Node>,
    pub(crate) ephemerals: BTreeMap<SessionId, BTreeSet<String>>,
    pub(crate) last_zxid: Zxid,
    /// Txn parts that did not fit the tree when applied (see `DataTree::misfits`).
    pub(crate) misfits: u64,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// A tree holding only the root `/`, whose stat is all zeros (ZooKeeper's root is a
    /// `new StatPersisted()`), with empty data.
    pub fn new() -> DataTree {
        let mut tree = DataTree {
            nodes: BTreeMap::new(),
            ephemerals: BTreeMap::new(),
            last_zxid: Zxid::ZERO,
            misfits: 0,
        };
        tree.insert_node(
            ROOT.to_owned(),
            Node::new(Vec::new(), StatPersisted::default()),
        );
        tree
    }

    /// The zxid of the last applied txn (`DataTree.lastProcessedZxid`).
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// How many txn parts did not fit the tree when applied (a create of an existing node, a
    /// delete of a missing one, …). ZooKeeper logs and skips these; on a correct protocol
    /// it is always 0, so monitors can assert it.
    pub fn misfits(&self) -> u64 {
        self.misfits
    }

    /// Number of znodes, the root included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn exists(&self, path: &str) -> bool {
        self.nodes.contains_key(path)
    }

    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.nodes.get(path).map(Node::stat)
    }

    pub fn data(&self, path: &str) -> Option<&[u8]> {
        self.nodes.get(path).map(|n| n.data.as_slice())
    }

    /// Child names, sorted.
    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        self.nodes
            .get(path)
            .map(|n| n.children.iter().cloned().collect())
    }

    /// Child names, sorted, borrowed (no copies).
    pub fn child_names(&self, path: &str) -> Option<impl Iterator<Item = &str>> {
        self.nodes
            .get(path)
            .map(|n| n.children.iter().map(String::as_str))
    }

    /// All paths, sorted (a parent sorts before its children).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// The ephemeral nodes `session` owns, sorted.
    pub fn ephemerals(&self, session: SessionId) -> Vec<String> {
        self.ephemerals
            .get(&session)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Sessions that own at least one ephemeral node, sorted.
    pub fn sessions_with_ephemerals(&self) -> Vec<SessionId> {
        self.ephemerals.keys().copied().collect()
    }

    /// A stable digest of the whole tree (every node's path, data and stat); equal trees
    /// have equal digests on every machine. O(n): the wrapping sum of every node's hash,
    /// with the node count. It does not cover `last_zxid` or `misfits`.
    pub fn digest(&self) -> u64 {
        let sum = self.nodes.iter().fold(0u64, |sum, (path, node)| {
            sum.wrapping_add(node_hash(path, &node.data, &node.stat))
        });
        hash_words(&[sum, self.nodes.len() as u64])
    }

    /// Answer a read (`GetData`, `Exists`, `GetChildren`, `Sync`) from this tree. Watches
    /// are the server's business; the `watch` flag is ignored here. An invalid path is
    /// `BadArguments` (the Java client rejects it before sending).
    pub fn read(&self, op: &Op) -> OpResult {
        self.read_view(op).to_result()
    }

    /// What [`DataTree::read`] answers, borrowed from the tree instead of copied: for a
    /// checker that only compares a recorded result with it (nothing allocates).
    pub fn read_view<'a>(&'a self, op: &'a Op) -> ReadView<'a> {
        let path = match op {
            Op::GetData { path, .. }
            | Op::Exists { path, .. }
            | Op::GetChildren { path, .. }
            | Op::Sync { path } => path,
            _ => panic!("read() of a write: {op:?}"),
        };
        if let Err(err) = path::validate_path(path) {
            return ReadView::Err(err);
        }
        let node = self.nodes.get(path.as_str());
        match (op, node) {
            (Op::Sync { path }, _) => ReadView::Synced { path },
            (Op::Exists { .. }, node) => ReadView::Exists(node.map(Node::stat)),
            (_, None) => ReadView::Err(ZkError::NoNode),
            (Op::GetData { .. }, Some(node)) => ReadView::Data {
                data: &node.data,
                stat: node.stat(),
            },
            (Op::GetChildren { .. }, Some(node)) => ReadView::Children(&node.children),
            _ => unreachable!("matched above"),
        }
    }

    /// Run one op to completion on this tree: a read is answered, a write is prepared and
    /// applied with `header`. The sequential specification of a single server.
    pub fn execute(&mut self, header: TxnHeader, op: &Op) -> OpResult {
        if op.is_write() {
            let txn = self.prepare(header, op);
            self.apply(&txn)
        } else {
            self.read(op)
        }
    }

    /// Close `header.session` now: prepare and apply its `CloseSession` txn. Returns the
    /// deleted ephemeral paths, in the (sorted) order they were deleted.
    pub fn close_session(&mut self, header: TxnHeader) -> Vec<String> {
        let deleted = self.ephemerals(header.session);
        let result = self.execute(header, &Op::CloseSession);
        assert_eq!(result, OpResult::SessionClosed);
        assert!(self.ephemerals(header.session).is_empty());
        deleted
    }

    // ---- mutation primitives ----

    pub(crate) fn insert_node(&mut self, path: String, node: Node) {
        let previous = self.nodes.insert(path, node);
        assert!(previous.is_none(), "insert_node over an existing node");
    }

    pub(crate) fn remove_node(&mut self, path: &str) -> Option<Node> {
        self.nodes.remove(path)
    }

    /// Change one node in place; `None` if it does not exist.
    pub(crate) fn modify_node<R>(
        &mut self,
        path: &str,
        f: impl FnOnce(&mut Node) -> R,
    ) -> Option<R> {
        self.nodes.get_mut(path).map(f)
    }

    /// Assert every structural invariant (see the module docs). O(n log n); for tests and
    /// monitors, not for every apply.
    pub fn check_invariants(&self) {
        let root = self.nodes.get(ROOT).expect("the root exists");
        assert!(!root.stat.is_ephemeral(), "the root is ephemeral");
        let mut owned: BTreeMap<SessionId, BTreeSet<String>> = BTreeMap::new();
        for (path, node) in &self.nodes {
            assert_eq!(
                path::validate_path(path),
                Ok(()),
                "stored invalid path {path:?}"
            );
            if path != ROOT {
                let (parent, name) = path::parent_of(path);
                let parent_node = self
                    .nodes
                    .get(parent)
                    .unwrap_or_else(|| panic!("{path}: parent {parent} missing"));
                assert!(
                    parent_node.children.contains(name),
                    "{parent} does not list {name}"
                );
            }
            for child in &node.children {
                let child_path = path::join(path, child);
                assert!(
                    self.nodes.contains_key(&child_path),
                    "{child_path} listed, missing"
                );
            }
            let s = &node.stat;
            if s.is_ephemeral() {
                assert!(node.children.is_empty(), "ephemeral {path} has children");
                owned
                    .entry(s.ephemeral_owner)
                    .or_default()
                    .insert(path.clone());
            }
            assert!(
                s.czxid <= s.mzxid && s.czxid <= s.pzxid,
                "{path}: zxids out of order"
            );
            assert!(
                s.mzxid <= self.last_zxid && s.pzxid <= self.last_zxid,
                "{path}: future zxid"
            );
            assert!(
                i32::try_from(node.data.len()).is_ok(),
                "{path}: data too large"
            );
        }
        assert_eq!(
            owned, self.ephemerals,
            "ephemeral index differs from the nodes"
        );
        let listed: usize = self.nodes.values().map(|n| n.children.len()).sum();
        assert_eq!(
            listed + 1,
            self.nodes.len(),
            "child lists and node count differ"
        );
    }
}
