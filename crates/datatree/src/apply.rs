//! Applying txns: ZooKeeper's `DataTree.processTxn`, `createNode`, `deleteNode`, `setData`
//! and `killSession`. Applying is total: it never fails and never reads a clock (zxid and
//! time come from the txn header). A txn prepared against this tree (plus the changes
//! before it) always fits; one that does not fit (only possible if replication is broken)
//! is handled as ZooKeeper handles it — the part is skipped with an error result, and a
//! create that finds its node present still raises the parent's cversion/pzxid
//! (`setCversionPzxid`) — and counted in `misfits()`. One deliberate difference: ZooKeeper
//! would delete a node that still has children and orphan them; here such a delete is
//! skipped (`NotEmpty`, a misfit), keeping the tree a tree.
//!
//! Invariants: txn zxids strictly increase (`last_zxid` only moves forward); the
//! child sets and ephemeral index change together with the nodes; a session's ephemeral set
//! is removed when it becomes empty.

use proto::Zxid;
use proto::zk::{OpResult, SessionId, Stat, ZkError};

use crate::node::{Node, StatPersisted};
use crate::path::{self, ROOT};
use crate::tree::DataTree;
use crate::txn::{Txn, TxnBody, TxnHeader};

impl DataTree {
    /// Apply one txn and return the client's result. Txns must come in strictly increasing
    /// zxid order.
    pub fn apply(&mut self, txn: &Txn) -> OpResult {
        self.apply_parts(&txn.header, &txn.body)
    }

    /// [`DataTree::apply`] of the txn `header` + `body`, for callers that keep the two
    /// apart (no need to build a [`Txn`] by cloning the body).
    pub fn apply_parts(&mut self, header: &TxnHeader, body: &TxnBody) -> OpResult {
        assert!(
            header.zxid > self.last_zxid,
            "apply of {} after {}",
            header.zxid,
            self.last_zxid
        );
        let result = match body {
            TxnBody::Multi(bodies) => self.apply_multi(header, bodies),
            body => self.apply_body(header, body),
        };
        self.last_zxid = header.zxid;
        result
    }

    /// Apply one non-multi body (also a multi's entries).
    pub(crate) fn apply_body(&mut self, header: &TxnHeader, body: &TxnBody) -> OpResult {
        let zxid = header.zxid;
        let outcome = match body {
            TxnBody::Create {
                path,
                data,
                ephemeral,
                parent_cversion,
            } => {
                let owner = if *ephemeral {
                    assert!(
                        !header.session.is_none(),
                        "ephemeral create without a session"
                    );
                    header.session
                } else {
                    SessionId::NONE
                };
                let stat = StatPersisted::created(zxid, header.time_ms, owner);
                self.create_node(path, data, stat, *parent_cversion)
                    .map(|stat| OpResult::Created {
                        path: path.clone(),
                        stat: Some(stat),
                    })
            }
            TxnBody::Delete { path } => self.delete_node(path, zxid).map(|()| OpResult::Deleted),
            TxnBody::SetData {
                path,
                data,
                version,
            } => self
                .set_data(path, data, *version, zxid, header.time_ms)
                .map(OpResult::Stat),
            TxnBody::Check { .. } => Ok(OpResult::Checked),
            TxnBody::CreateSession { timeout_ms } => Ok(OpResult::SessionCreated {
                timeout_ms: *timeout_ms,
            }),
            TxnBody::CloseSession { paths } => {
                self.kill_session(header.session, zxid, paths);
                Ok(OpResult::SessionClosed)
            }
            TxnBody::Error(err) => return OpResult::Err(*err),
            TxnBody::Multi(_) => panic!("nested multi txn"),
        };
        outcome.unwrap_or_else(|err| {
            self.misfits += 1;
            OpResult::Err(err)
        })
    }

    /// `DataTree.createNode`: add the node and raise the parent's cversion to
    /// `parent_cversion` (and its pzxid to the create's zxid) if that is higher.
    fn create_node(
        &mut self,
        path: &str,
        data: &[u8],
        stat: StatPersisted,
        parent_cversion: i32,
    ) -> Result<Stat, ZkError> {
        let zxid = stat.czxid;
        let (parent_path, name) = path::parent_of(path);
        let Some(parent) = self.nodes.get(parent_path) else {
            return Err(ZkError::NoNode);
        };
        let parent_cversion = if parent_cversion == -1 {
            parent.stat.cversion.wrapping_add(1)
        } else {
            parent_cversion
        };
        if parent_cversion != parent.stat.cversion.wrapping_add(1) || parent.stat.is_ephemeral() {
            // Fits ZooKeeper's checks but not the tree it was prepared against.
            self.misfits += 1;
        }
        let raise = |p: &mut Node| {
            if parent_cversion > p.stat.cversion {
                p.stat.cversion = parent_cversion;
                p.stat.pzxid = zxid;
            }
        };
        if self.nodes.contains_key(path) {
            // processTxn's NODEEXISTS fix-up (setCversionPzxid).
            self.modify_node(parent_path, raise);
            return Err(ZkError::NodeExists);
        }
        assert!(!name.is_empty() && path != ROOT, "create of {path:?}");
        self.modify_node(parent_path, |p| {
            raise(p);
            let added = p.children.insert(name.to_owned());
            assert!(added, "{parent_path} already lists {name}");
        });
        let node = Node::new(data.to_vec(), stat);
        let result = node.stat();
        self.insert_node(path.to_owned(), node);
        if stat.is_ephemeral() {
            let added = self
                .ephemerals
                .entry(stat.ephemeral_owner)
                .or_default()
                .insert(path.to_owned());
            assert!(added, "{path} already in the ephemeral index");
        }
        Ok(result)
    }

    /// `DataTree.deleteNode`: remove the node; the parent's pzxid rises to `zxid` (if
    /// higher), its cversion is unchanged.
    fn delete_node(&mut self, path: &str, zxid: Zxid) -> Result<(), ZkError> {
        if path::is_undeletable(path) {
            return Err(ZkError::BadArguments);
        }
        let (parent_path, name) = path::parent_of(path);
        if !self.nodes.contains_key(parent_path) {
            return Err(ZkError::NoNode);
        }
        if self.nodes.get(path).is_some_and(|n| !n.children.is_empty()) {
            return Err(ZkError::NotEmpty);
        }
        self.modify_node(parent_path, |p| {
            p.children.remove(name);
            if zxid > p.stat.pzxid {
                p.stat.pzxid = zxid;
            }
        });
        let node = self.remove_node(path).ok_or(ZkError::NoNode)?;
        let owner = node.stat.ephemeral_owner;
        if let Some(set) = self.ephemerals.get_mut(&owner) {
            assert!(!owner.is_none(), "the ephemeral index holds session 0");
            let indexed = set.remove(path);
            assert!(indexed, "ephemeral {path} missing from its session's index");
            if set.is_empty() {
                self.ephemerals.remove(&owner);
            }
        }
        Ok(())
    }

    /// `DataTree.setData`: new data, mtime, mzxid and the txn's version.
    fn set_data(
        &mut self,
        path: &str,
        data: &[u8],
        version: i32,
        zxid: Zxid,
        time_ms: i64,
    ) -> Result<Stat, ZkError> {
        self.modify_node(path, |n| {
            n.data = data.to_vec();
            n.stat.mtime = time_ms;
            n.stat.mzxid = zxid;
            n.stat.version = version;
            n.stat()
        })
        .ok_or(ZkError::NoNode)
    }

    /// `DataTree.killSession`: delete the txn's paths, then any ephemeral of the session
    /// the txn did not list (ZooKeeper warns about those; here they are misfits).
    fn kill_session(&mut self, session: SessionId, zxid: Zxid, paths: &[String]) {
        assert!(!session.is_none(), "closeSession without a session");
        let mut local = self.ephemerals.remove(&session).unwrap_or_default();
        for path in paths {
            local.remove(path);
            if self.delete_node(path, zxid).is_err() {
                self.misfits += 1;
            }
        }
        for path in local {
            self.misfits += 1;
            if self.delete_node(&path, zxid).is_err() {
                self.misfits += 1;
            }
        }
        assert!(!self.ephemerals.contains_key(&session));
    }
}
