//! Preparing a write: the tree-facing half of ZooKeeper's `PrepRequestProcessor.pRequest2Txn`.
//! An op is checked against the tree plus the outstanding changes and becomes a `Txn`
//! (possibly an error txn). Session checks (SessionExpired, SessionMoved), ACLs and quotas
//! are the server's business and happen before this.
//!
//! What ZooKeeper 3.8 does, and this file copies (from `PrepRequestProcessor.java` and
//! `DataTree.java`, `zookeeper-server/src/main/java/org/apache/zookeeper/server/`):
//! - Sequential names: `pRequest2TxnCreate` appends `String.format("%010d", parentCVersion)`
//!   where `parentCVersion` is the parent's *current cversion*; the create then sets the
//!   parent's cversion to `parentCVersion + 1` and its pzxid to the create's zxid (both in the
//!   parent's `ChangeRecord` and, via `CreateTxn.parentCVersion`, in `DataTree.createNode`).
//! - Deletes never touch the parent's stored cversion: `pRequest2Txn` case `delete` only does
//!   `childCount--` and `setPzxid(zxid)`, and `DataTree.deleteNode` only raises pzxid. So the
//!   stored cversion counts child *creations* (plain and sequential alike), and sequence
//!   numbers are never reused after deletes. The cversion a client sees is derived from it
//!   (`DataNode.copyStat`: `2 × stored − numChildren`, creations plus deletions), checked
//!   against a real ZooKeeper 3.8.0 in `crates/cli/tests/zk_conformance/`.
//! - Error precedence, first failing check wins:
//!   create: path (client-side `PathUtils.validatePath(path, sequential)`) → BadArguments;
//!   parent missing → NoNode; final name invalid → BadArguments; node exists → NodeExists;
//!   parent ephemeral → NoChildrenForEphemerals.
//!   delete: invalid path or `/` → BadArguments; parent missing → NoNode; node missing →
//!   NoNode; version mismatch → BadVersion; has children → NotEmpty.
//!   setData/check: invalid path → BadArguments; missing → NoNode; version → BadVersion.
//! - `checkAndIncVersion`: expected −1 matches any version; the new version is current + 1
//!   (Java int wrap-around), skipping −1 (ZOOKEEPER-4743).
//! - closeSession: the txn lists the session's ephemerals (tree plus outstanding changes),
//!   each delete raising the parent's pzxid. (ZooKeeper's change record for the parent does
//!   not lower its child count here; this one does, which only differs if the parent is
//!   deleted while the close is still outstanding.)
//!
//! Invariants: a failing single op adds no change records; a successful one records the
//! parent and node states that applying its txn will produce.

use std::collections::BTreeSet;

use proto::zk::{CreateMode, Op, SessionId, ZkError};

use crate::node::StatPersisted;
use crate::path::{self, ROOT};
use crate::pending::{NodeView, PendingChanges, Undo};
use crate::tree::DataTree;
use crate::txn::{Txn, TxnBody, TxnHeader};

impl DataTree {
    /// Prepare a write against this tree alone (no outstanding changes).
    pub fn prepare(&self, header: TxnHeader, op: &Op) -> Txn {
        let mut pending = PendingChanges::new();
        self.prepare_with(&mut pending, header, op)
    }

    /// Prepare a write against this tree plus `pending` (changes prepared earlier but not
    /// yet applied), and record this txn's changes in `pending`. Txns prepared this way must
    /// be applied in prepare order; call `pending.retire(zxid)` after applying each.
    pub fn prepare_with(&self, pending: &mut PendingChanges, header: TxnHeader, op: &Op) -> Txn {
        assert!(op.is_write(), "prepare() of a read: {op:?}");
        assert!(
            header.zxid > self.last_zxid,
            "prepare at {} but the tree has applied {}",
            header.zxid,
            self.last_zxid
        );
        if let Some(last) = pending.last_zxid() {
            assert!(
                header.zxid > last,
                "prepare at {} after {last}",
                header.zxid
            );
        }
        let records_before = pending.len();
        let mut prep = Prep {
            tree: self,
            pending,
            header,
        };
        let body = match op {
            Op::Multi(ops) => prep.multi(ops),
            Op::CreateSession { timeout_ms } => TxnBody::CreateSession {
                timeout_ms: *timeout_ms,
            },
            Op::CloseSession => prep.close_session(),
            single => {
                let mut undo = Vec::new();
                match prep.single(single, &mut undo) {
                    Ok(body) => body,
                    Err(err) => {
                        assert!(undo.is_empty(), "a failed op recorded changes");
                        TxnBody::Error(err)
                    }
                }
            }
        };
        if body.error().is_some() {
            assert_eq!(
                prep.pending.len(),
                records_before,
                "a failed write left change records"
            );
        }
        Txn { header, body }
    }
}

/// One prepare step: the tree, the outstanding changes and the txn header.
pub(crate) struct Prep<'a> {
    pub tree: &'a DataTree,
    pub pending: &'a mut PendingChanges,
    pub header: TxnHeader,
}

impl Prep<'_> {
    /// The newest state of `path`: its outstanding change record, else the tree
    /// (ZooKeeper's `getRecordForPath`).
    pub fn lookup(&self, path: &str) -> Option<NodeView> {
        match self.pending.get(path) {
            Some(record) => record.node,
            None => self.tree.nodes.get(path).map(|n| NodeView {
                stat: n.stat,
                num_children: crate::node::len_i32(n.children.len()),
            }),
        }
    }

    fn put(&mut self, path: &str, node: Option<NodeView>, undo: &mut Vec<Undo>) {
        let previous = self.pending.put(self.header.zxid, path, node);
        undo.push((path.to_owned(), previous));
    }

    /// Prepare one create/delete/setData/check. On error nothing is recorded.
    pub fn single(&mut self, op: &Op, undo: &mut Vec<Undo>) -> Result<TxnBody, ZkError> {
        match op {
            Op::Create { path, data, mode } => self.create(path, data, *mode, undo),
            Op::Delete { path, version } => self.delete(path, *version, undo),
            Op::SetData {
                path,
                data,
                version,
            } => self.set_data(path, data, *version, undo),
            Op::Check { path, version } => self.check(path, *version),
            _ => panic!("single() of {op:?}"),
        }
    }

    fn create(
        &mut self,
        requested: &str,
        data: &[u8],
        mode: CreateMode,
        undo: &mut Vec<Undo>,
    ) -> Result<TxnBody, ZkError> {
        path::validate_create_path(requested, mode.is_sequential())?;
        let (parent_path, _) = path::parent_of(requested);
        let mut parent = self.lookup(parent_path).ok_or(ZkError::NoNode)?;
        let parent_cversion = parent.stat.cversion;
        let path = if mode.is_sequential() {
            path::sequential_path(requested, parent_cversion)
        } else {
            requested.to_owned()
        };
        path::validate_path(&path)?;
        if self.lookup(&path).is_some() {
            return Err(ZkError::NodeExists);
        }
        if parent.stat.is_ephemeral() {
            return Err(ZkError::NoChildrenForEphemerals);
        }
        let owner = if mode.is_ephemeral() {
            assert!(
                !self.header.session.is_none(),
                "ephemeral create without a session"
            );
            self.header.session
        } else {
            SessionId::NONE
        };
        let new_cversion = parent_cversion.wrapping_add(1);
        assert_ne!(path, ROOT);
        assert_eq!(path::parent_of(&path).0, parent_path);

        parent.num_children += 1;
        parent.stat.cversion = new_cversion;
        parent.stat.pzxid = self.header.zxid;
        self.put(parent_path, Some(parent), undo);
        let stat = StatPersisted::created(self.header.zxid, self.header.time_ms, owner);
        let node = NodeView {
            stat,
            num_children: 0,
        };
        self.put(&path, Some(node), undo);
        Ok(TxnBody::Create {
            path,
            data: data.to_vec(),
            ephemeral: mode.is_ephemeral(),
            parent_cversion: new_cversion,
        })
    }

    fn delete(
        &mut self,
        path: &str,
        version: i32,
        undo: &mut Vec<Undo>,
    ) -> Result<TxnBody, ZkError> {
        path::validate_path(path)?;
        if path::is_undeletable(path) {
            return Err(ZkError::BadArguments);
        }
        let (parent_path, _) = path::parent_of(path);
        let mut parent = self.lookup(parent_path).ok_or(ZkError::NoNode)?;
        let node = self.lookup(path).ok_or(ZkError::NoNode)?;
        check_and_inc_version(node.stat.version, version)?;
        if node.num_children > 0 {
            return Err(ZkError::NotEmpty);
        }
        assert!(
            parent.num_children > 0,
            "{parent_path} has a child but counts none"
        );
        parent.num_children -= 1;
        parent.stat.pzxid = self.header.zxid;
        self.put(parent_path, Some(parent), undo);
        self.put(path, None, undo);
        Ok(TxnBody::Delete {
            path: path.to_owned(),
        })
    }

    fn set_data(
        &mut self,
        path: &str,
        data: &[u8],
        version: i32,
        undo: &mut Vec<Undo>,
    ) -> Result<TxnBody, ZkError> {
        path::validate_path(path)?;
        let mut node = self.lookup(path).ok_or(ZkError::NoNode)?;
        let new_version = check_and_inc_version(node.stat.version, version)?;
        node.stat.version = new_version;
        node.stat.mtime = self.header.time_ms;
        node.stat.mzxid = self.header.zxid;
        self.put(path, Some(node), undo);
        Ok(TxnBody::SetData {
            path: path.to_owned(),
            data: data.to_vec(),
            version: new_version,
        })
    }

    fn check(&mut self, path: &str, version: i32) -> Result<TxnBody, ZkError> {
        path::validate_path(path)?;
        let node = self.lookup(path).ok_or(ZkError::NoNode)?;
        let version = check_and_inc_version(node.stat.version, version)?;
        Ok(TxnBody::Check {
            path: path.to_owned(),
            version,
        })
    }

    fn close_session(&mut self) -> TxnBody {
        let session = self.header.session;
        assert!(!session.is_none(), "closeSession without a session");
        let mut paths: BTreeSet<String> = self
            .tree
            .ephemerals
            .get(&session)
            .cloned()
            .unwrap_or_default();
        // The newest record of a path decides, as ZooKeeper's in-order scan of
        // outstandingChanges does: a path owned by the session now is closed, a path deleted
        // (or deleted and re-created by another session) is not.
        for (path, record) in self.pending.records() {
            match record.node {
                Some(node) if node.stat.ephemeral_owner == session => {
                    paths.insert(path.to_owned());
                }
                None | Some(_) => {
                    paths.remove(path);
                }
            }
        }
        let mut undo = Vec::new();
        for path in &paths {
            let node = self.lookup(path).expect("an ephemeral to close exists");
            assert_eq!(node.stat.ephemeral_owner, session);
            assert_eq!(node.num_children, 0, "ephemeral {path} has children");
            let (parent_path, _) = path::parent_of(path);
            let mut parent = self
                .lookup(parent_path)
                .expect("an ephemeral's parent exists");
            parent.num_children -= 1;
            parent.stat.pzxid = self.header.zxid;
            self.put(parent_path, Some(parent), &mut undo);
            self.put(path, None, &mut undo);
        }
        TxnBody::CloseSession {
            paths: paths.into_iter().collect(),
        }
    }
}

/// `PrepRequestProcessor.checkAndIncVersion`: `Err(BadVersion)` unless `expected` is −1 or
/// equals `current`; otherwise the next version (wrapping like Java's int, skipping −1).
pub(crate) fn check_and_inc_version(current: i32, expected: i32) -> Result<i32, ZkError> {
    if expected != -1 && expected != current {
        return Err(ZkError::BadVersion);
    }
    let next = current.wrapping_add(1);
    Ok(if next == -1 { 0 } else { next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_checks() {
        let cases = [
            (0, -1, Ok(1)),
            (0, 0, Ok(1)),
            (3, 3, Ok(4)),
            (3, 2, Err(ZkError::BadVersion)),
            (0, 1, Err(ZkError::BadVersion)),
            (i32::MAX, -1, Ok(i32::MIN)),
            (-2, -1, Ok(0)),
        ];
        for (current, expected, result) in cases {
            assert_eq!(
                check_and_inc_version(current, expected),
                result,
                "{current} {expected}"
            );
        }
    }
}
