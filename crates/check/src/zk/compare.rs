//! Comparing a recorded result with the result the sequential specification (the datatree)
//! gives, and classifying results: which errors the tree itself produces (the others — a
//! session expired or moved, a connection lost — come from the server or the client before
//! the tree is consulted, so such a write changed nothing).
//!
//! Invariants: `ctime`/`mtime` are never compared (they are the leader's clock, unknown to a
//! replay); `czxid`/`mzxid`/`pzxid` are compared unless the caller masks them (the search
//! numbers its txns itself, so its zxids are not the recorded ones); a `Created` result
//! recorded without a stat (a plain `create`) matches any replayed stat. Nothing allocates.

use datatree::{ReadView, TxnBody};
use proto::zk::{MultiResult, OpResult, Stat, ZkError};

/// Whether zxid fields of stats take part in a comparison.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Zxids {
    /// Compare czxid, mzxid and pzxid (the witness replays with the recorded zxids).
    Compare,
    /// Ignore them (the search replays with zxids of its own).
    Mask,
}

/// Errors the tree's prepare step produces for a write (`datatree::prepare`/`multi`): a
/// write that failed with one of these was judged against the tree and consumed a zxid.
pub(crate) fn is_tree_write_error(err: ZkError) -> bool {
    matches!(
        err,
        ZkError::BadArguments
            | ZkError::NoNode
            | ZkError::NodeExists
            | ZkError::NoChildrenForEphemerals
            | ZkError::BadVersion
            | ZkError::NotEmpty
            | ZkError::MarshallingError
    )
}

/// A read result the tree can give (`DataTree::read`): data, a stat or none, children, or
/// the errors NoNode and BadArguments. Anything else (SessionMoved, …) says nothing about
/// the tree.
pub(crate) fn is_tree_read_result(result: &OpResult) -> bool {
    match result {
        OpResult::Data { .. } | OpResult::Exists(_) | OpResult::Children(_) => true,
        OpResult::Err(err) => matches!(err, ZkError::NoNode | ZkError::BadArguments),
        _ => false,
    }
}

/// Two stats agree: every field but the times, and the zxids unless masked.
pub(crate) fn stat_matches(recorded: &Stat, replayed: &Stat, zxids: Zxids) -> bool {
    let zxids_agree = zxids == Zxids::Mask
        || (recorded.czxid == replayed.czxid
            && recorded.mzxid == replayed.mzxid
            && recorded.pzxid == replayed.pzxid);
    zxids_agree
        && recorded.version == replayed.version
        && recorded.cversion == replayed.cversion
        && recorded.aversion == replayed.aversion
        && recorded.ephemeral_owner == replayed.ephemeral_owner
        && recorded.data_length == replayed.data_length
        && recorded.num_children == replayed.num_children
}

fn created_matches(
    (path, stat): (&String, &Option<Stat>),
    (replayed_path, replayed_stat): (&String, &Option<Stat>),
    zxids: Zxids,
) -> bool {
    path == replayed_path
        && match (stat, replayed_stat) {
            (None, _) => true,
            (Some(a), Some(b)) => stat_matches(a, b, zxids),
            (Some(_), None) => false,
        }
}

fn multi_entry_matches(recorded: &MultiResult, replayed: &MultiResult, zxids: Zxids) -> bool {
    match (recorded, replayed) {
        (
            MultiResult::Created { path, stat },
            MultiResult::Created {
                path: replayed_path,
                stat: replayed_stat,
            },
        ) => created_matches((path, stat), (replayed_path, replayed_stat), zxids),
        (MultiResult::SetData(a), MultiResult::SetData(b)) => stat_matches(a, b, zxids),
        (MultiResult::Deleted, MultiResult::Deleted)
        | (MultiResult::Checked, MultiResult::Checked)
        | (MultiResult::RolledBack, MultiResult::RolledBack) => true,
        (MultiResult::Err(a), MultiResult::Err(b)) => a == b,
        _ => false,
    }
}

/// The recorded result equals the replayed one (see the module docs for what is ignored).
pub(crate) fn result_matches(recorded: &OpResult, replayed: &OpResult, zxids: Zxids) -> bool {
    match (recorded, replayed) {
        (
            OpResult::Created { path, stat },
            OpResult::Created {
                path: replayed_path,
                stat: replayed_stat,
            },
        ) => created_matches((path, stat), (replayed_path, replayed_stat), zxids),
        (OpResult::Stat(a), OpResult::Stat(b)) => stat_matches(a, b, zxids),
        (
            OpResult::Data { data, stat },
            OpResult::Data {
                data: replayed_data,
                stat: replayed_stat,
            },
        ) => data == replayed_data && stat_matches(stat, replayed_stat, zxids),
        (OpResult::Exists(a), OpResult::Exists(b)) => match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => stat_matches(a, b, zxids),
            _ => false,
        },
        (OpResult::Children(a), OpResult::Children(b)) => a == b,
        (OpResult::Multi(a), OpResult::Multi(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| multi_entry_matches(x, y, zxids))
        }
        (OpResult::Deleted, OpResult::Deleted)
        | (OpResult::Checked, OpResult::Checked)
        | (OpResult::SessionClosed, OpResult::SessionClosed) => true,
        (OpResult::Synced { path }, OpResult::Synced { path: other }) => path == other,
        (OpResult::Err(a), OpResult::Err(b)) => a == b,
        _ => false,
    }
}

/// The recorded result of a read equals what the tree answers (`DataTree::read_view`): as
/// [`result_matches`] against `DataTree::read`, without building the replayed result.
pub(crate) fn read_matches(recorded: &OpResult, replayed: ReadView<'_>, zxids: Zxids) -> bool {
    match (recorded, replayed) {
        (
            OpResult::Data { data, stat },
            ReadView::Data {
                data: replayed_data,
                stat: replayed_stat,
            },
        ) => data.as_slice() == replayed_data && stat_matches(stat, &replayed_stat, zxids),
        (OpResult::Exists(a), ReadView::Exists(b)) => match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => stat_matches(a, &b, zxids),
            _ => false,
        },
        (OpResult::Children(a), ReadView::Children(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
        }
        (OpResult::Synced { path }, ReadView::Synced { path: other }) => path == other,
        (OpResult::Err(a), ReadView::Err(b)) => *a == b,
        _ => false,
    }
}

/// The client's result of a failed txn, without applying it (applying a failed txn changes
/// nothing): `datatree`'s `apply` gives `Err(e)` for an error txn and, for a failed multi,
/// `RolledBack` before the failing entry, its error, and `RuntimeInconsistency` after it.
pub(crate) fn failed_txn_result(body: &TxnBody) -> OpResult {
    match body {
        TxnBody::Error(err) => OpResult::Err(*err),
        TxnBody::Multi(bodies) => {
            let mut failed = false;
            let results = bodies
                .iter()
                .map(|b| match b {
                    TxnBody::Error(err) => {
                        failed = true;
                        MultiResult::Err(*err)
                    }
                    _ if failed => MultiResult::Err(ZkError::RuntimeInconsistency),
                    _ => MultiResult::RolledBack,
                })
                .collect();
            assert!(failed, "failed_txn_result of a multi that did not fail");
            OpResult::Multi(results)
        }
        other => panic!("failed_txn_result of a successful txn {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use datatree::{DataTree, TxnHeader};
    use proto::Zxid;
    use proto::zk::{CreateMode, Op, SessionId};

    use super::*;

    fn header(zxid: u64) -> TxnHeader {
        TxnHeader {
            session: SessionId(1),
            zxid: Zxid(zxid),
            time_ms: 0,
        }
    }

    #[test]
    fn failed_results_equal_what_apply_gives() {
        let mut tree = DataTree::new();
        let create = |p: &str| Op::Create {
            path: p.into(),
            data: vec![],
            mode: CreateMode::Persistent,
        };
        tree.execute(header(1), &create("/a"));
        let ops = [
            Op::Delete {
                path: "/missing".into(),
                version: -1,
            },
            Op::Multi(vec![
                create("/b"),
                Op::Check {
                    path: "/a".into(),
                    version: 7,
                },
                create("/c"),
            ]),
            Op::Multi(vec![create("/a")]),
            Op::Multi(vec![Op::GetData {
                path: "/a".into(),
                watch: false,
            }]),
        ];
        for (i, op) in ops.iter().enumerate() {
            let zxid = 2 + i as u64;
            let txn = tree.prepare(header(zxid), op);
            assert!(txn.body.error().is_some(), "{op:?}");
            let predicted = failed_txn_result(&txn.body);
            let applied = tree.apply(&txn);
            assert_eq!(predicted, applied, "{op:?}");
        }
    }

    #[test]
    fn times_never_count_and_zxids_only_unmasked() {
        let a = Stat {
            czxid: Zxid(1),
            mzxid: Zxid(2),
            ctime: 10,
            mtime: 20,
            version: 1,
            ..Stat::default()
        };
        let mut b = a;
        b.ctime = 99;
        b.mtime = 98;
        assert!(stat_matches(&a, &b, Zxids::Compare));
        b.mzxid = Zxid(3);
        assert!(!stat_matches(&a, &b, Zxids::Compare));
        assert!(stat_matches(&a, &b, Zxids::Mask));
        b.version = 2;
        assert!(!stat_matches(&a, &b, Zxids::Mask));
        let plain = OpResult::Created {
            path: "/a".into(),
            stat: None,
        };
        let full = OpResult::Created {
            path: "/a".into(),
            stat: Some(a),
        };
        assert!(result_matches(&plain, &full, Zxids::Compare));
        assert!(!result_matches(&full, &plain, Zxids::Compare));
        assert!(is_tree_write_error(ZkError::NodeExists));
        assert!(!is_tree_write_error(ZkError::SessionMoved));
        assert!(is_tree_read_result(&OpResult::Err(ZkError::NoNode)));
        assert!(!is_tree_read_result(&OpResult::Err(
            ZkError::SessionExpired
        )));
    }

    /// `read_matches` against the tree's view agrees with `result_matches` against the
    /// tree's owned answer, for every read kind, on a match and on each kind of mismatch.
    #[test]
    fn read_view_matches_as_the_owned_read_does() {
        let mut tree = DataTree::new();
        let create = |p: &str, d: &[u8]| Op::Create {
            path: p.into(),
            data: d.to_vec(),
            mode: CreateMode::Persistent,
        };
        tree.execute(header(1), &create("/a", b"x"));
        tree.execute(header(2), &create("/a/b", b""));
        tree.execute(header(3), &create("/a/c", b""));
        let reads = [
            Op::GetData {
                path: "/a".into(),
                watch: false,
            },
            Op::GetData {
                path: "/missing".into(),
                watch: false,
            },
            Op::Exists {
                path: "/a/b".into(),
                watch: false,
            },
            Op::Exists {
                path: "/none".into(),
                watch: false,
            },
            Op::GetChildren {
                path: "/a".into(),
                watch: false,
            },
            Op::Sync { path: "/a".into() },
            Op::GetData {
                path: "bad".into(),
                watch: false,
            },
        ];
        let stale = {
            let mut t = tree.clone();
            t.execute(
                header(4),
                &Op::SetData {
                    path: "/a".into(),
                    data: b"y".to_vec(),
                    version: -1,
                },
            );
            t.execute(
                header(5),
                &Op::Delete {
                    path: "/a/c".into(),
                    version: -1,
                },
            );
            t
        };
        let mut mismatches = 0;
        for op in &reads {
            let recorded = tree.read(op);
            for zxids in [Zxids::Compare, Zxids::Mask] {
                assert!(read_matches(&recorded, tree.read_view(op), zxids), "{op:?}");
                let other = stale.read(op);
                let owned = result_matches(&other, &tree.read(op), zxids);
                assert_eq!(
                    read_matches(&other, tree.read_view(op), zxids),
                    owned,
                    "{op:?}"
                );
                mismatches += usize::from(!owned);
            }
        }
        // getData of /a (data and version) and getChildren of /a (a child gone), both ways.
        assert_eq!(mismatches, 4);
        let short = OpResult::Children(vec!["b".into()]);
        assert!(!read_matches(
            &short,
            tree.read_view(&reads[4]),
            Zxids::Compare
        ));
    }
}
