//! One znode: its data, its persisted stat (ZooKeeper's `StatPersisted`: everything in
//! `Stat` except the derived `data_length` and `num_children`) and its child names, plus the
//! node's stable hash that the tree digest sums. Invariants: a new node's stat is
//! `DataTree.createStat` (czxid = mzxid = pzxid, ctime = mtime, versions 0); data lengths fit
//! in `i32`; the hash covers path, data and persisted stat but not the child set (the child
//! set is implied by the other nodes' paths).

use std::collections::BTreeSet;

use proto::StableHasher;
use proto::Zxid;
use proto::zk::{SessionId, Stat};
use serde::{Deserialize, Serialize};

/// ZooKeeper's `StatPersisted`: the stored part of a `Stat`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatPersisted {
    pub czxid: Zxid,
    pub mzxid: Zxid,
    pub pzxid: Zxid,
    /// Milliseconds, like ZooKeeper.
    pub ctime: i64,
    /// Milliseconds, like ZooKeeper.
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: SessionId,
}

impl StatPersisted {
    /// `DataTree.createStat(zxid, time, ephemeralOwner)`.
    pub fn created(zxid: Zxid, time_ms: i64, ephemeral_owner: SessionId) -> StatPersisted {
        StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ctime: time_ms,
            mtime: time_ms,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner,
        }
    }

    pub fn is_ephemeral(&self) -> bool {
        !self.ephemeral_owner.is_none()
    }

    /// The client-visible `Stat` (`DataNode.copyStat`). The stored `cversion` counts child
    /// creations; ZooKeeper reports `2 × creations − children`, i.e. creations plus
    /// deletions ("v3 semantics"), so a client sees every child change.
    pub fn to_stat(&self, data_length: usize, num_children: usize) -> Stat {
        let cversion = self
            .cversion
            .wrapping_mul(2)
            .wrapping_sub(len_i32(num_children));
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion,
            aversion: self.aversion,
            ephemeral_owner: self.ephemeral_owner,
            data_length: len_i32(data_length),
            num_children: len_i32(num_children),
            pzxid: self.pzxid,
        }
    }
}

/// A length as ZooKeeper's `int`; larger values cannot occur (jute limits sizes far below).
pub(crate) fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or_else(|_| panic!("length {len} does not fit ZooKeeper's int"))
}

/// A znode in the tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub data: Vec<u8>,
    pub stat: StatPersisted,
    /// Child names (single segments), kept sorted.
    pub children: BTreeSet<String>,
}

impl Node {
    pub fn new(data: Vec<u8>, stat: StatPersisted) -> Node {
        Node {
            data,
            stat,
            children: BTreeSet::new(),
        }
    }

    pub fn stat(&self) -> Stat {
        self.stat.to_stat(self.data.len(), self.children.len())
    }
}

/// The stable hash of one node, summed (wrapping) into the tree digest, like ZooKeeper's
/// `DigestCalculator` (which sums per-node hashes so that a digest is order-free).
pub(crate) fn node_hash(path: &str, data: &[u8], stat: &StatPersisted) -> u64 {
    let mut h = StableHasher::new();
    h.bytes(path.as_bytes()).bytes(data);
    h.word(stat.czxid.0)
        .word(stat.mzxid.0)
        .word(stat.pzxid.0)
        .word(stat.ctime as u64)
        .word(stat.mtime as u64)
        .word(stat.version as u32 as u64)
        .word(stat.cversion as u32 as u64)
        .word(stat.aversion as u32 as u64)
        .word(stat.ephemeral_owner.0);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_stat_is_zookeepers() {
        let s = StatPersisted::created(Zxid(7), 1234, SessionId(9));
        assert_eq!((s.czxid, s.mzxid, s.pzxid), (Zxid(7), Zxid(7), Zxid(7)));
        assert_eq!((s.ctime, s.mtime), (1234, 1234));
        assert_eq!((s.version, s.cversion, s.aversion), (0, 0, 0));
        assert!(s.is_ephemeral());
        let stat = s.to_stat(5, 0);
        assert_eq!((stat.data_length, stat.num_children), (5, 0));
    }

    #[test]
    fn hash_sees_every_field() {
        let base = StatPersisted::created(Zxid(1), 1, SessionId::NONE);
        let h = node_hash("/a", b"x", &base);
        assert_ne!(h, node_hash("/b", b"x", &base));
        assert_ne!(h, node_hash("/a", b"y", &base));
        let mut changed = base;
        changed.cversion = 1;
        assert_ne!(h, node_hash("/a", b"x", &changed));
        changed = base;
        changed.ephemeral_owner = SessionId(1);
        assert_ne!(h, node_hash("/a", b"x", &changed));
    }
}
