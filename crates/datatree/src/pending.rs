//! Outstanding changes: ZooKeeper's `outstandingChanges`/`outstandingChangesForPath`
//! (`ChangeRecord`s). A leader prepares request N+1 before txn N is applied; prepare must
//! see N's effects, so it reads the newest change record for a path before the tree.
//! Invariants: records are queued in non-decreasing zxid order; `by_path` holds the newest
//! record per path; a failed multi's records are rolled back exactly (so a failed sequential
//! create does not consume a sequence number); `retire(z)` forgets every record with
//! zxid <= z once the tree has applied z. The queue is bounded by `PENDING_RECORDS_MAX`.

use std::collections::{BTreeMap, VecDeque};

use proto::Zxid;

use crate::node::StatPersisted;

/// Upper bound on queued change records (outstanding writes are bounded far below this by
/// the server's request throttle); exceeding it is a bug in the caller (records never
/// retired).
pub const PENDING_RECORDS_MAX: usize = 1 << 20;

/// What prepare needs to know about a node (ZooKeeper's `ChangeRecord` minus data and ACL).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct NodeView {
    pub stat: StatPersisted,
    pub num_children: i32,
}

/// The newest prepared state of one path: `None` = deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChangeRecord {
    pub zxid: Zxid,
    pub node: Option<NodeView>,
}

/// The previous record of a path, kept to roll back a failed multi.
pub(crate) type Undo = (String, Option<ChangeRecord>);

/// Changes prepared but not yet applied to the tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingChanges {
    by_path: BTreeMap<String, ChangeRecord>,
    order: VecDeque<(Zxid, String)>,
}

impl PendingChanges {
    pub fn new() -> PendingChanges {
        PendingChanges::default()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Queued change records (several per txn).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The zxid of the newest queued record.
    pub fn last_zxid(&self) -> Option<Zxid> {
        self.order.back().map(|(z, _)| *z)
    }

    /// Forget all records (the server stopped leading).
    pub fn clear(&mut self) {
        self.by_path.clear();
        self.order.clear();
    }

    /// The tree has applied every txn up to `applied`: forget their records
    /// (ZooKeeper's `FinalRequestProcessor` trimming `outstandingChanges`).
    pub fn retire(&mut self, applied: Zxid) {
        while let Some((zxid, _)) = self.order.front() {
            if *zxid > applied {
                break;
            }
            let (zxid, path) = self.order.pop_front().expect("front exists");
            if self.by_path.get(&path).is_some_and(|r| r.zxid == zxid) {
                self.by_path.remove(&path);
            }
        }
        debug_assert!(self.by_path.values().all(|r| r.zxid > applied));
        assert!(self.by_path.len() <= self.order.len());
    }

    pub(crate) fn get(&self, path: &str) -> Option<&ChangeRecord> {
        self.by_path.get(path)
    }

    /// The newest record of every path with an outstanding change, in path order.
    pub(crate) fn records(&self) -> impl Iterator<Item = (&str, &ChangeRecord)> {
        self.by_path.iter().map(|(p, r)| (p.as_str(), r))
    }

    /// Record the newest state of `path` at `zxid`; returns the record it replaces.
    pub(crate) fn put(
        &mut self,
        zxid: Zxid,
        path: &str,
        node: Option<NodeView>,
    ) -> Option<ChangeRecord> {
        if let Some(last) = self.last_zxid() {
            assert!(zxid >= last, "change record {zxid} after {last}");
        }
        assert!(
            self.order.len() < PENDING_RECORDS_MAX,
            "more than {PENDING_RECORDS_MAX} pending change records: retire() is not called"
        );
        if let Some(n) = &node {
            assert!(n.num_children >= 0, "{path}: negative child count");
        }
        self.order.push_back((zxid, path.to_owned()));
        self.by_path
            .insert(path.to_owned(), ChangeRecord { zxid, node })
    }

    /// Undo every record queued at `zxid` (the newest zxid) and restore the records they
    /// replaced, newest first (ZooKeeper's `rollbackPendingChanges`).
    pub(crate) fn rollback(&mut self, zxid: Zxid, undo: Vec<Undo>) {
        let mut popped = 0usize;
        while self.order.back().is_some_and(|(z, _)| *z == zxid) {
            self.order.pop_back();
            popped += 1;
        }
        assert_eq!(
            popped,
            undo.len(),
            "rollback of {zxid}: records and undo log differ"
        );
        for (path, previous) in undo.into_iter().rev() {
            // Restoring newest first, the last restore of each path is its state before
            // the multi.
            match previous {
                Some(record) => {
                    assert!(record.zxid <= zxid);
                    self.by_path.insert(path, record);
                }
                None => {
                    self.by_path.remove(&path);
                }
            }
        }
        debug_assert!(self.by_path.values().all(|r| r.zxid < zxid));
        if let Some(last) = self.last_zxid() {
            assert!(last < zxid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(version: i32) -> Option<NodeView> {
        let stat = StatPersisted {
            version,
            ..StatPersisted::default()
        };
        Some(NodeView {
            stat,
            num_children: 0,
        })
    }

    #[test]
    fn retire_forgets_applied_records_only() {
        let mut p = PendingChanges::new();
        p.put(Zxid(1), "/a", view(1));
        p.put(Zxid(2), "/a", view(2));
        p.put(Zxid(2), "/b", None);
        p.retire(Zxid(1));
        assert_eq!(p.get("/a").map(|r| r.zxid), Some(Zxid(2)));
        assert_eq!(p.len(), 2);
        p.retire(Zxid(2));
        assert!(p.is_empty());
        assert!(p.get("/a").is_none() && p.get("/b").is_none());
    }

    #[test]
    fn rollback_restores_previous_records() {
        let mut p = PendingChanges::new();
        p.put(Zxid(1), "/a", view(1));
        let before = p.clone();
        let undo = vec![
            ("/a".to_owned(), p.put(Zxid(2), "/a", view(2))),
            ("/b".to_owned(), p.put(Zxid(2), "/b", None)),
            ("/a".to_owned(), p.put(Zxid(2), "/a", None)),
        ];
        p.rollback(Zxid(2), undo);
        assert_eq!(p, before);
    }
}
