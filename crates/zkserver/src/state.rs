//! The replicated application state: the znode tree plus the set of live sessions with their
//! negotiated timeouts (ZooKeeper's `DataTree` + `sessionsWithTimeouts`, both part of every
//! snapshot). Committed txns are applied here in zxid order and nothing else changes it.
//! Invariants: a session is live from its `CreateSession` txn until its `CloseSession` txn;
//! the tree never holds an ephemeral node of a session that is not live (checked in
//! [`ZkState::check_invariants`]); at most [`SESSIONS_MAX`] sessions are live.

use std::collections::BTreeMap;

use datatree::{DataTree, TxnBody};
use proto::zk::{OpResult, SessionId};

use crate::txn::Txn;

/// Most live sessions one ensemble tracks.
pub const SESSIONS_MAX: usize = 1 << 20;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZkState {
    tree: DataTree,
    sessions: BTreeMap<SessionId, u32>,
}

impl ZkState {
    pub fn new() -> ZkState {
        ZkState::default()
    }

    /// Applies one committed txn and returns the client's result.
    pub fn apply(&mut self, txn: &Txn) -> OpResult {
        assert!(
            txn.zxid > self.tree.last_zxid(),
            "txns applied out of order"
        );
        let result = self.tree.apply_parts(&txn.header(), &txn.body);
        match &txn.body {
            TxnBody::CreateSession { timeout_ms } => {
                assert!(!txn.session.is_none(), "CreateSession without a session id");
                assert!(*timeout_ms > 0, "a session that can never expire");
                self.sessions.insert(txn.session, *timeout_ms);
                assert!(self.sessions.len() <= SESSIONS_MAX, "too many sessions");
            }
            TxnBody::CloseSession { .. } => {
                self.sessions.remove(&txn.session);
            }
            _ => {}
        }
        result
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// Live sessions with their negotiated timeouts, in id order.
    pub fn sessions(&self) -> &BTreeMap<SessionId, u32> {
        &self.sessions
    }

    pub fn session_live(&self, session: SessionId) -> bool {
        self.sessions.contains_key(&session)
    }

    /// A stable digest of tree and sessions.
    pub fn digest(&self) -> u64 {
        let mut words = vec![self.tree.digest(), self.sessions.len() as u64];
        words.extend(self.sessions.iter().flat_map(|(s, t)| [s.0, u64::from(*t)]));
        proto::hash_words(&words)
    }

    /// Bytes a snapshot of this state takes (paths, data, stat per node; sessions).
    pub fn size_bytes(&self) -> usize {
        const STAT_BYTES: usize = 68;
        let nodes: usize = self
            .tree
            .paths()
            .map(|p| p.len() + STAT_BYTES + self.tree.data(p).map_or(0, <[u8]>::len))
            .sum();
        nodes + 12 * self.sessions.len()
    }

    /// Asserts the invariants in this file's header. O(n); for tests and monitors.
    pub fn check_invariants(&self) {
        self.tree.check_invariants();
        for owner in self.tree.sessions_with_ephemerals() {
            assert!(
                self.sessions.contains_key(&owner),
                "ephemerals of dead session {owner}"
            );
        }
    }
}

impl replication::State for ZkState {
    fn size_bytes(&self) -> usize {
        ZkState::size_bytes(self)
    }
}
