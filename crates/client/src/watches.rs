//! The client's registered watches by kind (ZooKeeper 3.8's `ZKWatchManager` with the
//! default watcher only): which reply registers which kind, which event type removes which
//! kinds, and the sorted [`WatchSet`] re-sent on every reconnect. Invariants: each kind is a
//! set of paths (registering twice is one watch, fired once); no kind exceeds
//! [`WATCHED_PATHS_MAX`].

use std::collections::BTreeSet;

use proto::wire::{EventType, WatchEvent, WatchSet};
use proto::zk::{Op, OpResult, ZkError};

/// The most paths one kind of watch may hold at once.
pub const WATCHED_PATHS_MAX: usize = 1 << 16;

/// Registered watches, one path set per kind.
#[derive(Clone, Debug, Default)]
pub(crate) struct Watches {
    data: BTreeSet<String>,
    exist: BTreeSet<String>,
    child: BTreeSet<String>,
}

impl Watches {
    pub fn len(&self) -> usize {
        self.data.len() + self.exist.len() + self.child.len()
    }

    /// Registers the watch a successful watching read sets (ZooKeeper's
    /// `WatchRegistration.register`): `getData` → data; `exists` → data if the node exists,
    /// exist if it does not (`NoNode` included); `getChildren` → child. Errors and
    /// non-watching ops register nothing.
    pub fn register(&mut self, op: &Op, result: &OpResult) {
        let (set, path) = match (op, result) {
            (Op::GetData { path, watch: true }, OpResult::Data { .. }) => (&mut self.data, path),
            (Op::Exists { path, watch: true }, OpResult::Exists(Some(_))) => (&mut self.data, path),
            (Op::Exists { path, watch: true }, OpResult::Exists(None))
            | (Op::Exists { path, watch: true }, OpResult::Err(ZkError::NoNode)) => {
                (&mut self.exist, path)
            }
            (Op::GetChildren { path, watch: true }, OpResult::Children(_)) => {
                (&mut self.child, path)
            }
            _ => return,
        };
        if !set.contains(path) {
            assert!(
                set.len() < WATCHED_PATHS_MAX,
                "client: more than WATCHED_PATHS_MAX = {WATCHED_PATHS_MAX} watches of one kind"
            );
            set.insert(path.clone());
        }
    }

    /// Removes the watches `event` fires (ZooKeeper's `ZKWatchManager.materialize`):
    /// created/data changed → data + exist; children changed → child; deleted → data, exist
    /// and child. Returns whether any watch was removed (the event is delivered once).
    pub fn trigger(&mut self, event: &WatchEvent) -> bool {
        let path = event.path.as_str();
        match event.kind {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                let data = self.data.remove(path);
                let exist = self.exist.remove(path);
                data | exist
            }
            EventType::NodeChildrenChanged => self.child.remove(path),
            EventType::NodeDeleted => {
                let data = self.data.remove(path);
                let exist = self.exist.remove(path);
                let child = self.child.remove(path);
                data | exist | child
            }
        }
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.exist.clear();
        self.child.clear();
    }

    /// Every registered watch, each kind sorted by path.
    pub fn to_set(&self) -> WatchSet {
        let set = WatchSet {
            data: self.data.iter().cloned().collect(),
            exist: self.exist.iter().cloned().collect(),
            child: self.child.iter().cloned().collect(),
        };
        debug_assert_eq!(set.len(), self.len());
        set
    }
}
