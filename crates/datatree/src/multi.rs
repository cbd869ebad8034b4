//! Multi (ZooKeeper's `multi`): all-or-nothing preparation and application, copying
//! `PrepRequestProcessor.pRequestHelper` (case `OpCode.multi`) and `DataTree.processTxn`
//! (case `OpCode.multi`), `zookeeper-server/src/main/java/org/apache/zookeeper/server/`.
//!
//! Prepare: every op shares the multi's zxid and time and sees the changes of the ops
//! before it. At the first failing op, its error becomes an `ErrorTxn` entry, every record
//! the multi made is rolled back (`rollbackPendingChanges`), and every later op becomes
//! `ErrorTxn(RUNTIMEINCONSISTENCY)` without being examined. The ops before the failure
//! keep their prepared txns.
//! Apply: if any entry is an error the tree is untouched and the client gets one result per
//! op: the ops before the failing one `ErrorResult(OK)` (here `MultiResult::RolledBack`),
//! the failing one its error, the later ones `RuntimeInconsistency`; the multi's own error
//! is the first non-OK code, i.e. the failing op's. Otherwise each entry is applied in order.
//! A multi holding anything but create/delete/setData/check (a read, a session op, a nested
//! multi) is refused whole with `MarshallingError`, as ZooKeeper's request deserialization
//! refuses it; an empty multi succeeds with no results.
//!
//! Invariants: a failed multi leaves the tree and the outstanding changes as they were; a
//! multi's results have exactly one entry per op.

use proto::zk::{MultiResult, Op, OpResult, ZkError};

use crate::prepare::Prep;
use crate::tree::DataTree;
use crate::txn::{TxnBody, TxnHeader};

/// The most ops one multi may hold; a longer multi is refused whole with `MarshallingError`.
/// ZooKeeper's only bound is the request size (`jute.maxbuffer`, about 1 MiB, beyond which
/// the server drops the connection); the server crate should enforce that byte limit itself.
pub const MULTI_OPS_MAX: usize = 16 * 1024;

impl Prep<'_> {
    pub(crate) fn multi(&mut self, ops: &[Op]) -> TxnBody {
        if ops.len() > MULTI_OPS_MAX || !ops.iter().all(Op::is_multi_member) {
            return TxnBody::Error(ZkError::MarshallingError);
        }
        let mut undo = Vec::new();
        let mut failed = false;
        let mut bodies = Vec::with_capacity(ops.len());
        for op in ops {
            if failed {
                bodies.push(TxnBody::Error(ZkError::RuntimeInconsistency));
                continue;
            }
            match self.single(op, &mut undo) {
                Ok(body) => bodies.push(body),
                Err(err) => {
                    failed = true;
                    bodies.push(TxnBody::Error(err));
                    self.pending
                        .rollback(self.header.zxid, std::mem::take(&mut undo));
                }
            }
        }
        assert_eq!(bodies.len(), ops.len());
        assert_eq!(
            failed,
            bodies.iter().any(|b| matches!(b, TxnBody::Error(_)))
        );
        TxnBody::Multi(bodies)
    }
}

impl DataTree {
    pub(crate) fn apply_multi(&mut self, header: &TxnHeader, bodies: &[TxnBody]) -> OpResult {
        assert!(
            bodies.iter().all(TxnBody::is_multi_member),
            "bad multi entry"
        );
        let failed = bodies.iter().any(|b| matches!(b, TxnBody::Error(_)));
        let mut results = Vec::with_capacity(bodies.len());
        if failed {
            let mut post_failed = false;
            for body in bodies {
                let result = match body {
                    TxnBody::Error(err) => {
                        post_failed = true;
                        MultiResult::Err(*err)
                    }
                    _ if post_failed => MultiResult::Err(ZkError::RuntimeInconsistency),
                    _ => MultiResult::RolledBack,
                };
                results.push(result);
            }
        } else {
            for body in bodies {
                let result = match self.apply_body(header, body) {
                    OpResult::Created { path, stat } => MultiResult::Created { path, stat },
                    OpResult::Deleted => MultiResult::Deleted,
                    OpResult::Stat(stat) => MultiResult::SetData(stat),
                    OpResult::Checked => MultiResult::Checked,
                    // A part that did not fit the tree (counted as a misfit); ZooKeeper
                    // reports its error and goes on with the other parts.
                    OpResult::Err(err) => MultiResult::Err(err),
                    other => panic!("multi entry gave {other:?}"),
                };
                results.push(result);
            }
        }
        assert_eq!(results.len(), bodies.len());
        OpResult::Multi(results)
    }
}
