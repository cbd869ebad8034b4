//! The server's watch tables (ZooKeeper's `WatchManager` pair in `DataTree`): data watches
//! (set by getData and exists) and child watches (set by getChildren), per path, per client
//! connection. Watches are one-shot: triggering removes them. A txn's tree effects become
//! events exactly as `DataTree.createNode/deleteNode/setData` trigger them.
//! Invariants: the per-client index and the per-path tables hold the same pairs; a client
//! gets at most one event per triggering effect for one path (ZooKeeper suppresses the
//! child-watch NodeDeleted for a client already told by its data watch); at most
//! `WATCHES_MAX` watches are held.

use std::collections::{BTreeMap, BTreeSet};

use datatree::{DataTree, Effect};
use proto::wire::{EventType, WatchSet};

use crate::clients::ConnKey;

/// Most watches (path, client, kind) one server holds.
pub const WATCHES_MAX: usize = 1 << 20;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Data,
    Child,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Watches {
    by_path: BTreeMap<(Kind, String), BTreeSet<ConnKey>>,
    by_client: BTreeMap<ConnKey, BTreeSet<(Kind, String)>>,
    len: usize,
}

/// One event to send: (client, kind, path).
pub(crate) type Fired = (ConnKey, EventType, String);

impl Watches {
    pub(crate) fn add_data(&mut self, client: ConnKey, path: &str) {
        self.add(Kind::Data, client, path);
    }

    pub(crate) fn add_child(&mut self, client: ConnKey, path: &str) {
        self.add(Kind::Child, client, path);
    }

    fn add(&mut self, kind: Kind, client: ConnKey, path: &str) {
        let key = (kind, path.to_owned());
        if self.by_path.entry(key.clone()).or_default().insert(client) {
            self.by_client.entry(client).or_default().insert(key);
            self.len += 1;
            assert!(self.len <= WATCHES_MAX, "too many watches");
        }
    }

    /// Drops every watch of connection `client` (it closed).
    pub(crate) fn remove_client(&mut self, client: ConnKey) {
        let Some(keys) = self.by_client.remove(&client) else {
            return;
        };
        for key in keys {
            let set = self.by_path.get_mut(&key).expect("indexed both ways");
            assert!(set.remove(&client), "indexed both ways");
            self.len -= 1;
            if set.is_empty() {
                self.by_path.remove(&key);
            }
        }
    }

    /// Removes and returns the clients watching `path` with `kind`.
    fn take(&mut self, kind: Kind, path: &str) -> BTreeSet<ConnKey> {
        let key = (kind, path.to_owned());
        let clients = self.by_path.remove(&key).unwrap_or_default();
        for c in &clients {
            let keys = self.by_client.get_mut(c).expect("indexed both ways");
            assert!(keys.remove(&key), "indexed both ways");
            if keys.is_empty() {
                self.by_client.remove(c);
            }
            self.len -= 1;
        }
        clients
    }

    /// The events one effect fires, in ZooKeeper's order, removing the watches.
    pub(crate) fn trigger(&mut self, effect: &Effect, fired: &mut Vec<Fired>) {
        let push = |fired: &mut Vec<Fired>, set: BTreeSet<ConnKey>, kind, path: &str| {
            fired.extend(set.into_iter().map(|c| (c, kind, path.to_owned())));
        };
        match effect {
            Effect::NodeCreated(path) => {
                let set = self.take(Kind::Data, path);
                push(fired, set, EventType::NodeCreated, path);
                let parent = datatree::path::parent_of(path).0;
                let set = self.take(Kind::Child, parent);
                push(fired, set, EventType::NodeChildrenChanged, parent);
            }
            Effect::NodeDeleted(path) => {
                let data = self.take(Kind::Data, path);
                let child: BTreeSet<ConnKey> = self
                    .take(Kind::Child, path)
                    .into_iter()
                    .filter(|c| !data.contains(c))
                    .collect();
                push(fired, data, EventType::NodeDeleted, path);
                push(fired, child, EventType::NodeDeleted, path);
                let parent = datatree::path::parent_of(path).0;
                let set = self.take(Kind::Child, parent);
                push(fired, set, EventType::NodeChildrenChanged, parent);
            }
            Effect::NodeDataChanged(path) => {
                let set = self.take(Kind::Data, path);
                push(fired, set, EventType::NodeDataChanged, path);
            }
        }
    }

    /// ZooKeeper's `DataTree.setWatches`: re-registers a reconnecting client's watches
    /// relative to the zxid it last saw, firing at once those whose condition already
    /// changed since then.
    pub(crate) fn set_watches(
        &mut self,
        tree: &DataTree,
        client: ConnKey,
        relative: proto::Zxid,
        set: &WatchSet,
        fired: &mut Vec<Fired>,
    ) {
        for path in &set.data {
            match tree.stat(path) {
                None => fired.push((client, EventType::NodeDeleted, path.clone())),
                Some(s) if s.mzxid > relative => {
                    fired.push((client, EventType::NodeDataChanged, path.clone()))
                }
                Some(_) => self.add_data(client, path),
            }
        }
        for path in &set.exist {
            if tree.exists(path) {
                fired.push((client, EventType::NodeCreated, path.clone()));
            } else {
                self.add_data(client, path);
            }
        }
        for path in &set.child {
            match tree.stat(path) {
                None => fired.push((client, EventType::NodeDeleted, path.clone())),
                Some(s) if s.pzxid > relative => {
                    fired.push((client, EventType::NodeChildrenChanged, path.clone()))
                }
                Some(_) => self.add_child(client, path),
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ConnKey = ConnKey {
        client: proto::ProcessId(10),
        conn: 1,
    };
    const B: ConnKey = ConnKey {
        client: proto::ProcessId(11),
        conn: 1,
    };

    #[test]
    fn create_fires_data_then_parent_child_watches_once() {
        let mut w = Watches::default();
        w.add_data(A, "/q/x");
        w.add_child(B, "/q");
        w.add_child(A, "/q");
        let mut fired = Vec::new();
        w.trigger(&Effect::NodeCreated("/q/x".into()), &mut fired);
        assert_eq!(
            fired,
            vec![
                (A, EventType::NodeCreated, "/q/x".to_string()),
                (A, EventType::NodeChildrenChanged, "/q".to_string()),
                (B, EventType::NodeChildrenChanged, "/q".to_string()),
            ]
        );
        assert_eq!(w.len(), 0);
        fired.clear();
        w.trigger(&Effect::NodeCreated("/q/y".into()), &mut fired);
        assert!(fired.is_empty(), "one-shot");
    }

    #[test]
    fn delete_tells_each_client_once_for_the_path() {
        let mut w = Watches::default();
        w.add_data(A, "/a");
        w.add_child(A, "/a");
        w.add_child(B, "/a");
        w.add_child(B, "/");
        let mut fired = Vec::new();
        w.trigger(&Effect::NodeDeleted("/a".into()), &mut fired);
        assert_eq!(
            fired,
            vec![
                (A, EventType::NodeDeleted, "/a".to_string()),
                (B, EventType::NodeDeleted, "/a".to_string()),
                (B, EventType::NodeChildrenChanged, "/".to_string()),
            ]
        );
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn removing_a_client_drops_only_its_watches() {
        let mut w = Watches::default();
        w.add_data(A, "/a");
        w.add_data(B, "/a");
        w.add_child(A, "/b");
        w.remove_client(A);
        assert_eq!(w.len(), 1);
        let mut fired = Vec::new();
        w.trigger(&Effect::NodeDataChanged("/a".into()), &mut fired);
        assert_eq!(
            fired,
            vec![(B, EventType::NodeDataChanged, "/a".to_string())]
        );
    }
}
