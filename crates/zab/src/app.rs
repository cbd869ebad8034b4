//! The request/apply layer: the applied key-value state and the client requests this server
//! is waiting to answer. This is the narrow interface the replication core talks to
//! (`apply`, `snapshot`, `restore`, pending requests); the znode tree will replace it.
//! Invariants: at most `max_pending` requests are tracked; a request is answered at most
//! once (it is removed from `pending` when answered or failed).

use std::collections::{BTreeMap, BTreeSet};

use proto::ProcessId;

use crate::types::{Origin, Txn, TxnOp};

/// The applied state: a map from key to value.
pub type AppState = BTreeMap<u64, u64>;

/// A key-value state machine plus this server's in-flight client writes.
#[derive(Clone, Debug, Default)]
pub struct KvApp {
    data: AppState,
    /// Writes this server accepted from clients, keyed by (client, req_id).
    pending: BTreeSet<(ProcessId, u64)>,
    max_pending: usize,
}

impl KvApp {
    pub fn new(max_pending: usize) -> KvApp {
        assert!(max_pending > 0);
        KvApp {
            data: AppState::new(),
            pending: BTreeSet::new(),
            max_pending,
        }
    }

    /// Applies one committed txn. Returns the client to answer if this server accepted it.
    pub fn apply(&mut self, me: ProcessId, txn: &Txn) -> Option<Origin> {
        match txn.op {
            TxnOp::Write { key, value } => {
                self.data.insert(key, value);
            }
        }
        let origin = txn.origin?;
        if origin.server != me {
            return None;
        }
        self.pending
            .remove(&(origin.client, origin.req_id))
            .then_some(origin)
    }

    pub fn read(&self, key: u64) -> Option<u64> {
        self.data.get(&key).copied()
    }

    pub fn state(&self) -> &AppState {
        &self.data
    }

    pub fn restore(&mut self, state: &AppState) {
        self.data = state.clone();
    }

    /// Starts tracking a write; false when full or already tracked.
    pub fn track(&mut self, client: ProcessId, req_id: u64) -> bool {
        if self.pending.len() >= self.max_pending || self.pending.contains(&(client, req_id)) {
            return false;
        }
        self.pending.insert((client, req_id));
        assert!(self.pending.len() <= self.max_pending);
        true
    }

    pub fn is_tracked(&self, client: ProcessId, req_id: u64) -> bool {
        self.pending.contains(&(client, req_id))
    }

    pub fn untrack(&mut self, client: ProcessId, req_id: u64) -> bool {
        self.pending.remove(&(client, req_id))
    }

    /// Forgets every tracked write, returning them in (client, req_id) order.
    pub fn take_pending(&mut self) -> Vec<(ProcessId, u64)> {
        std::mem::take(&mut self.pending).into_iter().collect()
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}
