//! Data-driven tests of multi: all-or-nothing, ZooKeeper's per-op results on failure
//! (RolledBack = `ErrorResult(OK)` before the failing op, its error, RuntimeInconsistency
//! after), ops seeing earlier ops of the same multi, sequence numbers of a failed multi
//! not consumed, and multis refused whole.

mod common;

use common::{Harness, check, header};
use datatree::{DataTree, TxnBody};
use proto::zk::{CreateMode, MultiResult, Op, OpResult, ZkError};

#[test]
fn successful_multi_applies_every_op_at_one_zxid() {
    check(&[
        (
            "multi create /m persistent ; create /m/a persistent x ; set /m/a 0 y ; \
             check /m/a 1 ; delete /m/a 1",
            "multi [created /m, created /m/a, set version 1, checked, deleted]",
        ),
        (
            "stat /m",
            "czxid=1 mzxid=1 pzxid=1 ctime=1000 mtime=1000 version=0 cversion=2 aversion=0 \
             owner=0x0 len=0 children=0",
        ),
        ("children /", "children [m]"),
        ("multi", "multi []"),
        ("create /n persistent", "created /n"),
    ]);
}

#[test]
fn failed_multi_reports_every_op_and_changes_nothing() {
    check(&[
        ("create /x persistent", "created /x"),
        (
            "multi create /f persistent ; delete /nope -1 ; create /g persistent",
            "multi [rolled_back, err NoNode, err RuntimeInconsistency]",
        ),
        ("exists /f", "absent"),
        ("exists /g", "absent"),
        (
            "multi check /x 3 ; create /y persistent",
            "multi [err BadVersion, err RuntimeInconsistency]",
        ),
        (
            "multi create /h persistent ; set /h 5 data",
            "multi [rolled_back, err BadVersion]",
        ),
        (
            "multi set /x -1 new ; create /x/c persistent ; delete /x -1",
            "multi [rolled_back, rolled_back, err NotEmpty]",
        ),
        ("get /x", "data \"\" version 0 len 0"),
        ("children /x", "children []"),
        (
            "multi create /x persistent ; create /z persistent",
            "multi [err NodeExists, err RuntimeInconsistency]",
        ),
        (
            "multi create /ok persistent ; create /bad/ persistent",
            "multi [rolled_back, err BadArguments]",
        ),
        // The failed multis consumed zxids 2–7 but changed no stat.
        (
            "stat /",
            "czxid=0 mzxid=0 pzxid=1 ctime=0 mtime=0 version=0 cversion=1 aversion=0 \
             owner=0x0 len=0 children=1",
        ),
        ("create /after persistent", "created /after"),
        (
            "stat /after",
            "czxid=8 mzxid=8 pzxid=8 ctime=8000 mtime=8000 version=0 cversion=0 aversion=0 \
             owner=0x0 len=0 children=0",
        ),
    ]);
}

#[test]
fn multi_ops_see_the_ops_before_them() {
    check(&[
        ("create /p persistent", "created /p"),
        (
            "multi delete /p -1 ; create /p persistent again ; create /p/e ephemeral",
            "multi [deleted, created /p, created /p/e]",
        ),
        ("get /p", "data \"again\" version 0 len 5"),
        (
            "multi create /p/e/c persistent",
            "multi [err NoChildrenForEphemerals]",
        ),
        (
            "multi delete /p/e -1 ; delete /p -1",
            "multi [deleted, deleted]",
        ),
        (
            "multi create /s persistent ; set /s 0 a ; set /s 1 b ; check /s 2",
            "multi [created /s, set version 1, set version 2, checked]",
        ),
        (
            "multi create /t persistent ; set /t 1 a",
            "multi [rolled_back, err BadVersion]",
        ),
    ]);
}

#[test]
fn failed_multi_does_not_consume_sequence_numbers() {
    check(&[
        ("create /q persistent", "created /q"),
        (
            "multi create /q/ persistent_sequential ; create /q/ persistent_sequential",
            "multi [created /q/0000000000, created /q/0000000001]",
        ),
        (
            "multi create /q/ persistent_sequential ; check /nope 0",
            "multi [rolled_back, err NoNode]",
        ),
        ("create /q/ persistent_sequential", "created /q/0000000002"),
        (
            "stat /q",
            "czxid=1 mzxid=1 pzxid=4 ctime=1000 mtime=1000 version=0 cversion=3 aversion=0 \
             owner=0x0 len=0 children=3",
        ),
    ]);
}

#[test]
fn multi_with_non_transactional_ops_is_refused_whole() {
    let mut h = Harness::default();
    h.run("create /a persistent");
    let cases = [
        Op::Multi(vec![
            Op::Create {
                path: "/b".into(),
                data: vec![],
                mode: CreateMode::Persistent,
            },
            Op::GetData {
                path: "/a".into(),
                watch: false,
            },
        ]),
        Op::Multi(vec![Op::Multi(vec![])]),
        Op::Multi(vec![Op::CloseSession]),
    ];
    for (i, op) in cases.iter().enumerate() {
        let txn = h.tree.prepare(header(1, 10 + i as u32), op);
        assert_eq!(txn.body, TxnBody::Error(ZkError::MarshallingError));
        assert_eq!(h.tree.apply(&txn), OpResult::Err(ZkError::MarshallingError));
    }
    assert_eq!(h.tree.children("/"), Some(vec!["a".to_owned()]));
}

#[test]
fn failed_multi_txn_shape_matches_zookeeper() {
    let mut tree = DataTree::new();
    let op = common::parse_op(
        "multi create /a persistent ; check /a 0 ; delete /nope -1 ; set /a -1 x ; check /a 0",
    );
    let txn = tree.prepare(header(1, 1), &op);
    // Ops before the failure keep their txns; the failing op and every later op are
    // ErrorTxns (the later ones RuntimeInconsistency, never examined).
    let TxnBody::Multi(bodies) = &txn.body else {
        panic!("{txn:?}")
    };
    assert!(matches!(bodies[0], TxnBody::Create { .. }));
    assert!(matches!(bodies[1], TxnBody::Check { version: 1, .. }));
    assert_eq!(bodies[2], TxnBody::Error(ZkError::NoNode));
    assert_eq!(bodies[3], TxnBody::Error(ZkError::RuntimeInconsistency));
    assert_eq!(bodies[4], TxnBody::Error(ZkError::RuntimeInconsistency));
    assert_eq!(txn.body.error(), Some(ZkError::NoNode));
    assert!(txn.body.effects().is_empty());
    let result = tree.apply(&txn);
    assert_eq!(
        result,
        OpResult::Multi(vec![
            MultiResult::RolledBack,
            MultiResult::RolledBack,
            MultiResult::Err(ZkError::NoNode),
            MultiResult::Err(ZkError::RuntimeInconsistency),
            MultiResult::Err(ZkError::RuntimeInconsistency),
        ])
    );
    assert_eq!(result.error(), Some(ZkError::NoNode));
    assert_eq!(tree.node_count(), 1);
    assert_eq!(tree.last_zxid(), header(1, 1).zxid);
}
