//! Applying txns directly: txns that do not fit the tree are handled as ZooKeeper's
//! `DataTree.processTxn` handles them (error result, NodeExists cversion fix-up) and
//! counted as misfits; zxids must increase; effects list what changed; txns, ops and
//! results survive a JSON round trip.

mod common;

use common::{header, parse_op};
use datatree::{DataTree, Effect, Txn, TxnBody};
use proto::zk::{CreateMode, MultiResult, Op, OpResult, SessionId, ZkError};

fn create_txn(counter: u32, path: &str, parent_cversion: i32) -> Txn {
    Txn {
        header: header(1, counter),
        body: TxnBody::Create {
            path: path.into(),
            data: vec![],
            ephemeral: false,
            parent_cversion,
        },
    }
}

#[test]
fn replayed_create_is_a_misfit_with_zookeepers_cversion_fixup() {
    let mut tree = DataTree::new();
    assert!(matches!(
        tree.apply(&create_txn(1, "/a", 1)),
        OpResult::Created { .. }
    ));
    assert_eq!(tree.misfits(), 0);
    // The same create again with a higher parent cversion: NodeExists, but the parent's
    // cversion and pzxid still rise (DataTree.setCversionPzxid).
    assert_eq!(
        tree.apply(&create_txn(2, "/a", 5)),
        OpResult::Err(ZkError::NodeExists)
    );
    // Stored cversion 5 with one child: a client sees 2 × 5 − 1.
    let root = tree.stat("/").unwrap();
    assert_eq!((root.cversion, root.pzxid.counter()), (9, 2));
    assert!(tree.misfits() >= 1);
    tree.check_invariants();
}

#[test]
fn misfitting_parts_are_skipped_with_an_error() {
    let mut tree = DataTree::new();
    let cases: Vec<(TxnBody, OpResult)> = vec![
        (
            TxnBody::Delete { path: "/x".into() },
            OpResult::Err(ZkError::NoNode),
        ),
        (
            TxnBody::SetData {
                path: "/x".into(),
                data: vec![1],
                version: 1,
            },
            OpResult::Err(ZkError::NoNode),
        ),
        (
            TxnBody::Create {
                path: "/x/y".into(),
                data: vec![],
                ephemeral: false,
                parent_cversion: 1,
            },
            OpResult::Err(ZkError::NoNode),
        ),
        (
            TxnBody::Multi(vec![
                TxnBody::Create {
                    path: "/m".into(),
                    data: vec![],
                    ephemeral: false,
                    parent_cversion: 1,
                },
                TxnBody::Delete {
                    path: "/gone".into(),
                },
            ]),
            OpResult::Multi(vec![
                MultiResult::Created {
                    path: "/m".into(),
                    stat: None,
                },
                MultiResult::Err(ZkError::NoNode),
            ]),
        ),
    ];
    for (i, (body, expected)) in cases.into_iter().enumerate() {
        let misfits = tree.misfits();
        let txn = Txn {
            header: header(1, i as u32 + 1),
            body,
        };
        let mut got = tree.apply(&txn);
        // Compare without stats.
        if let OpResult::Multi(results) = &mut got {
            for r in results {
                if let MultiResult::Created { stat, .. } = r {
                    *stat = None;
                }
            }
        }
        assert_eq!(got, expected, "case {i}");
        assert!(tree.misfits() > misfits, "case {i} not counted");
        tree.check_invariants();
    }
}

#[test]
fn close_session_deletes_unlisted_ephemerals_too() {
    let mut tree = DataTree::new();
    tree.execute(header(7, 1), &parse_op("create /e1 ephemeral"));
    tree.execute(header(7, 2), &parse_op("create /e2 ephemeral"));
    let close = Txn {
        header: header(7, 3),
        body: TxnBody::CloseSession {
            paths: vec!["/e1".into(), "/never".into()],
        },
    };
    assert_eq!(tree.apply(&close), OpResult::SessionClosed);
    assert_eq!(tree.node_count(), 1);
    assert_eq!(tree.misfits(), 2, "/never missing, /e2 unlisted");
    assert!(tree.sessions_with_ephemerals().is_empty());
    tree.check_invariants();
}

#[test]
#[should_panic(expected = "apply of")]
fn zxids_must_increase() {
    let mut tree = DataTree::new();
    tree.apply(&create_txn(2, "/a", 1));
    tree.apply(&create_txn(2, "/b", 2));
}

#[test]
#[should_panic(expected = "prepare() of a read")]
fn reads_are_not_prepared() {
    DataTree::new().prepare(header(1, 1), &parse_op("get /"));
}

#[test]
fn effects_list_what_changed() {
    let mut tree = DataTree::new();
    let mut counter = 0;
    let mut effects = |tree: &mut DataTree, session: u64, line: &str| {
        counter += 1;
        let txn = tree.prepare(header(session, counter), &parse_op(line));
        tree.apply(&txn);
        txn.body.effects()
    };
    assert_eq!(
        effects(&mut tree, 1, "create /q persistent"),
        vec![Effect::NodeCreated("/q".into())]
    );
    assert_eq!(
        effects(&mut tree, 2, "create /q/ ephemeral_sequential"),
        vec![Effect::NodeCreated("/q/0000000000".into())]
    );
    assert_eq!(
        effects(&mut tree, 1, "multi set /q -1 x ; check /q 1"),
        vec![Effect::NodeDataChanged("/q".into())]
    );
    assert_eq!(effects(&mut tree, 1, "delete /q -1"), vec![]);
    assert_eq!(
        effects(&mut tree, 2, "close"),
        vec![Effect::NodeDeleted("/q/0000000000".into())]
    );
    assert_eq!(
        effects(&mut tree, 1, "delete /q -1"),
        vec![Effect::NodeDeleted("/q".into())]
    );
}

#[test]
fn close_session_helper_reports_deleted_paths() {
    let mut tree = DataTree::new();
    tree.execute(header(4, 1), &parse_op("create /b ephemeral"));
    tree.execute(header(4, 2), &parse_op("create /a ephemeral"));
    assert_eq!(tree.ephemerals(SessionId(4)), vec!["/a", "/b"]);
    assert_eq!(tree.close_session(header(4, 3)), vec!["/a", "/b"]);
    assert!(tree.ephemerals(SessionId(4)).is_empty());
    assert_eq!(tree.last_zxid(), header(4, 3).zxid);
}

#[test]
fn txns_ops_and_results_serialize() {
    let mut tree = DataTree::new();
    let op = Op::Multi(vec![
        Op::Create {
            path: "/s".into(),
            data: "ü".into(),
            mode: CreateMode::PersistentSequential,
        },
        Op::Check {
            path: "/".into(),
            version: -1,
        },
    ]);
    let txn = tree.prepare(header(9, 1), &op);
    let result = tree.apply(&txn);
    let json = serde_json::to_string(&(&op, &txn, &result)).unwrap();
    let back: (Op, Txn, OpResult) = serde_json::from_str(&json).unwrap();
    assert_eq!(back, (op, txn, result));
    assert_eq!(
        serde_json::to_string(&OpResult::Err(ZkError::NoNode)).unwrap(),
        r#"{"err":"NoNode"}"#
    );
    assert_eq!(
        serde_json::to_string(&CreateMode::EphemeralSequential).unwrap(),
        r#""ephemeral_sequential""#
    );
}
