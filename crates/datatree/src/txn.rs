//! Transactions: what the leader's prepare step produces and every replica applies, the
//! counterpart of ZooKeeper's `TxnHeader` + `CreateTxn`/`DeleteTxn`/`SetDataTxn`/
//! `CheckVersionTxn`/`MultiTxn`/`CreateSessionTxn`/`CloseSessionTxn`/`ErrorTxn`.
//! Invariants: a txn carries everything its application needs (the actual sequential name,
//! the parent's new cversion, the new data version, the ephemeral paths a close deletes), so
//! applying it never consults the op or the clock; a failed write is still a txn
//! (`TxnBody::Error`, or a `Multi` with `Error` entries) because ZooKeeper proposes failed
//! writes too, consuming a zxid, so that the reply is ordered with the other writes.

use proto::Zxid;
use proto::zk::{SessionId, ZkError};
use serde::{Deserialize, Serialize};

/// ZooKeeper's `TxnHeader` without `cxid` and `type` (the client's request counter is the
/// server's business; the type is the body's variant).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxnHeader {
    /// The session that issued the request (owner of any ephemeral it creates).
    pub session: SessionId,
    pub zxid: Zxid,
    /// The leader's wall-clock time at prepare, in milliseconds (ctime/mtime come from it).
    pub time_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    pub header: TxnHeader,
    pub body: TxnBody,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnBody {
    /// `path` is the final name; `parent_cversion` is the parent's cversion after the create
    /// (ZooKeeper's `CreateTxn.parentCVersion`).
    Create {
        path: String,
        data: Vec<u8>,
        ephemeral: bool,
        parent_cversion: i32,
    },
    Delete {
        path: String,
    },
    /// `version` is the node's new data version.
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
    /// A multi's version check; `version` is ZooKeeper's `CheckVersionTxn.version` (the
    /// checked version plus one). Applying it changes nothing.
    Check {
        path: String,
        version: i32,
    },
    /// Sub-bodies are `Create`, `Delete`, `SetData`, `Check` or `Error`. If any is `Error`
    /// the multi failed and applying it changes nothing.
    Multi(Vec<TxnBody>),
    CreateSession {
        timeout_ms: u32,
    },
    /// The header's session closes; `paths` are its ephemerals (sorted), deleted in order.
    CloseSession {
        paths: Vec<String>,
    },
    /// A write that failed at prepare (ZooKeeper's `ErrorTxn`).
    Error(ZkError),
}

/// A change a txn makes to the tree: what the server turns into watch events
/// (`NodeCreated`/`NodeDeleted`/`NodeDataChanged` on the path and `NodeChildrenChanged` on
/// the parent for the first two).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    NodeCreated(String),
    NodeDeleted(String),
    NodeDataChanged(String),
}

impl TxnBody {
    /// The error the client will see, if the write failed.
    pub fn error(&self) -> Option<ZkError> {
        match self {
            TxnBody::Error(err) => Some(*err),
            TxnBody::Multi(subs) => subs.iter().find_map(TxnBody::error),
            _ => None,
        }
    }

    /// The tree changes this txn makes when applied to the tree it was prepared against, in
    /// application order. A failed txn has none.
    pub fn effects(&self) -> Vec<Effect> {
        let mut out = Vec::new();
        if self.error().is_none() {
            self.push_effects(&mut out);
        }
        out
    }

    fn push_effects(&self, out: &mut Vec<Effect>) {
        match self {
            TxnBody::Create { path, .. } => out.push(Effect::NodeCreated(path.clone())),
            TxnBody::Delete { path } => out.push(Effect::NodeDeleted(path.clone())),
            TxnBody::SetData { path, .. } => out.push(Effect::NodeDataChanged(path.clone())),
            TxnBody::CloseSession { paths } => {
                out.extend(paths.iter().map(|p| Effect::NodeDeleted(p.clone())));
            }
            TxnBody::Multi(subs) => subs.iter().for_each(|s| s.push_effects(out)),
            TxnBody::Check { .. } | TxnBody::CreateSession { .. } | TxnBody::Error(_) => {}
        }
    }

    /// May appear inside a `Multi`.
    pub(crate) fn is_multi_member(&self) -> bool {
        matches!(
            self,
            TxnBody::Create { .. }
                | TxnBody::Delete { .. }
                | TxnBody::SetData { .. }
                | TxnBody::Check { .. }
                | TxnBody::Error(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_multis_have_no_effects() {
        let create = TxnBody::Create {
            path: "/a".into(),
            data: vec![],
            ephemeral: false,
            parent_cversion: 1,
        };
        let ok = TxnBody::Multi(vec![create.clone(), TxnBody::Delete { path: "/b".into() }]);
        assert_eq!(ok.error(), None);
        assert_eq!(
            ok.effects(),
            vec![
                Effect::NodeCreated("/a".into()),
                Effect::NodeDeleted("/b".into())
            ]
        );
        let failed = TxnBody::Multi(vec![create, TxnBody::Error(ZkError::NoNode)]);
        assert_eq!(failed.error(), Some(ZkError::NoNode));
        assert!(failed.effects().is_empty());
    }
}
