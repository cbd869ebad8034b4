//! Snapshots: the whole tree as one serializable value, and the tree rebuilt from it. A
//! snapshot is deterministic (nodes in path order, so a parent precedes its children) and
//! lossless: `DataTree::restore(&t.snapshot())` equals `t` except for the misfit counter,
//! which restarts at 0 (it is a diagnostic of the running server, not tree state). Child
//! sets, the ephemeral index and the digest are derived on restore, not stored. Unlike
//! ZooKeeper's fuzzy snapshots, a snapshot here is taken between two txns, so replaying the
//! log from `last_zxid + 1` never meets a txn that is already in it.
//! Invariants: restore asserts that the snapshot is a valid tree (root first, valid and
//! strictly increasing paths, parents present, no children under ephemerals).

use proto::Zxid;
use serde::{Deserialize, Serialize};

use crate::node::{Node, StatPersisted};
use crate::path::{self, ROOT};
use crate::tree::DataTree;

/// One node of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapshotNode {
    pub path: String,
    pub data: Vec<u8>,
    pub stat: StatPersisted,
}

/// The whole tree at `last_zxid`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    pub last_zxid: Zxid,
    /// In path order; the first is the root.
    pub nodes: Vec<SnapshotNode>,
}

impl DataTree {
    pub fn snapshot(&self) -> Snapshot {
        let nodes: Vec<SnapshotNode> = self
            .nodes
            .iter()
            .map(|(path, node)| SnapshotNode {
                path: path.clone(),
                data: node.data.clone(),
                stat: node.stat,
            })
            .collect();
        assert_eq!(nodes.first().map(|n| n.path.as_str()), Some(ROOT));
        Snapshot {
            last_zxid: self.last_zxid,
            nodes,
        }
    }

    /// Rebuild a tree from a snapshot. Panics if the snapshot is not a valid tree (a
    /// snapshot is only ever produced by `snapshot()`, so that is a bug).
    pub fn restore(snapshot: &Snapshot) -> DataTree {
        let mut nodes = snapshot.nodes.iter();
        let root = nodes.next().expect("a snapshot holds the root");
        assert_eq!(root.path, ROOT, "a snapshot starts with the root");
        assert!(!root.stat.is_ephemeral(), "the root is ephemeral");
        let mut tree = DataTree::new();
        tree.remove_node(ROOT);
        tree.insert_node(ROOT.to_owned(), Node::new(root.data.clone(), root.stat));
        let mut previous = ROOT;
        for n in nodes {
            assert!(
                n.path.as_str() > previous,
                "snapshot paths out of order at {}",
                n.path
            );
            assert_eq!(
                path::validate_path(&n.path),
                Ok(()),
                "invalid path {:?}",
                n.path
            );
            previous = &n.path;
            let (parent_path, name) = path::parent_of(&n.path);
            let parent_ephemeral = tree
                .modify_node(parent_path, |p| {
                    p.children.insert(name.to_owned());
                    p.stat.is_ephemeral()
                })
                .unwrap_or_else(|| panic!("{}: parent {parent_path} missing", n.path));
            assert!(!parent_ephemeral, "{}: child of an ephemeral", n.path);
            tree.insert_node(n.path.clone(), Node::new(n.data.clone(), n.stat));
            if n.stat.is_ephemeral() {
                tree.ephemerals
                    .entry(n.stat.ephemeral_owner)
                    .or_default()
                    .insert(n.path.clone());
            }
        }
        tree.last_zxid = snapshot.last_zxid;
        assert_eq!(tree.node_count(), snapshot.nodes.len());
        tree
    }
}
