//! Pipelined preparation: a leader prepares several writes against its tree plus the
//! outstanding changes before applying any (ZooKeeper's `outstandingChanges`). Each test
//! prepares a batch, then applies it in order and retires the records.

mod common;

use common::{header, parse_op, render};
use datatree::{DataTree, PendingChanges, Txn, TxnBody};

/// Prepare `lines` back to back (session, command), then apply them all; returns the
/// rendered results. Zxid counters continue from the tree's last zxid.
fn pipeline(tree: &mut DataTree, lines: &[(u64, &str)]) -> Vec<String> {
    let mut pending = PendingChanges::new();
    let first = tree.last_zxid().counter() + 1;
    let txns: Vec<Txn> = lines
        .iter()
        .enumerate()
        .map(|(i, (session, line))| {
            tree.prepare_with(
                &mut pending,
                header(*session, first + i as u32),
                &parse_op(line),
            )
        })
        .collect();
    let results = txns
        .iter()
        .map(|txn| {
            let r = tree.apply(txn);
            pending.retire(txn.header.zxid);
            render(&r)
        })
        .collect();
    assert!(pending.is_empty(), "records left after retiring everything");
    tree.check_invariants();
    assert_eq!(tree.misfits(), 0);
    results
}

fn check(batches: &[&[(u64, &str, &str)]]) {
    let mut tree = DataTree::new();
    for batch in batches {
        let lines: Vec<(u64, &str)> = batch.iter().map(|(s, l, _)| (*s, *l)).collect();
        let expected: Vec<&str> = batch.iter().map(|(_, _, e)| *e).collect();
        assert_eq!(pipeline(&mut tree, &lines), expected, "batch {lines:?}");
    }
}

#[test]
fn pipelined_sequential_creates_get_distinct_numbers() {
    check(&[
        &[
            (1, "create /q persistent", "created /q"),
            (
                1,
                "create /q/ persistent_sequential",
                "created /q/0000000000",
            ),
            (
                2,
                "create /q/ ephemeral_sequential",
                "created /q/0000000001",
            ),
            (1, "create /q/x persistent", "created /q/x"),
            (
                1,
                "create /q/ persistent_sequential",
                "created /q/0000000003",
            ),
        ],
        &[
            (1, "delete /q/x -1", "deleted"),
            (
                1,
                "create /q/ persistent_sequential",
                "created /q/0000000004",
            ),
        ],
    ]);
}

#[test]
fn pipelined_ops_see_earlier_outstanding_changes() {
    check(&[&[
        (1, "create /a persistent", "created /a"),
        (1, "create /a/b persistent", "created /a/b"),
        (1, "delete /a -1", "err NotEmpty"),
        (1, "set /a/b 0 x", "version 1"),
        (1, "set /a/b 0 y", "err BadVersion"),
        (1, "delete /a/b 1", "deleted"),
        (1, "delete /a 0", "deleted"),
        (1, "create /a persistent", "created /a"),
        (1, "check /a 0", "checked"),
    ]]);
}

#[test]
fn failed_multi_in_a_pipeline_rolls_back_its_records() {
    check(&[&[
        (1, "create /q persistent", "created /q"),
        (
            1,
            "create /q/ persistent_sequential",
            "created /q/0000000000",
        ),
        (
            1,
            "multi create /q/ persistent_sequential ; delete /q -1",
            "multi [rolled_back, err NotEmpty]",
        ),
        (
            1,
            "create /q/ persistent_sequential",
            "created /q/0000000001",
        ),
        (
            1,
            "multi create /q/ persistent_sequential ; create /q/ persistent_sequential",
            "multi [created /q/0000000002, created /q/0000000003]",
        ),
    ]]);
}

#[test]
fn close_session_sees_outstanding_ephemerals() {
    check(&[
        &[(2, "create /old ephemeral", "created /old")],
        &[
            (2, "create /new ephemeral", "created /new"),
            (2, "delete /old -1", "deleted"),
            (3, "create /other ephemeral", "created /other"),
            (2, "close", "closed"),
        ],
        &[(1, "create /new persistent", "created /new")],
    ]);
    let mut tree = DataTree::new();
    let mut pending = PendingChanges::new();
    let t1 = tree.prepare_with(&mut pending, header(2, 1), &parse_op("create /e ephemeral"));
    let t2 = tree.prepare_with(&mut pending, header(2, 2), &parse_op("close"));
    assert_eq!(
        t2.body,
        TxnBody::CloseSession {
            paths: vec!["/e".to_owned()]
        }
    );
    tree.apply(&t1);
    pending.retire(t1.header.zxid);
    assert_eq!(
        pending.len(),
        2,
        "the close's parent and node records remain"
    );
    tree.apply(&t2);
    pending.retire(t2.header.zxid);
    assert!(pending.is_empty());
    assert_eq!(tree.node_count(), 1);
    tree.check_invariants();
}

#[test]
fn cleared_pending_forgets_unapplied_changes() {
    let tree = DataTree::new();
    let mut pending = PendingChanges::new();
    let t1 = tree.prepare_with(
        &mut pending,
        header(1, 1),
        &parse_op("create /a persistent"),
    );
    assert!(t1.body.error().is_none());
    let t2 = tree.prepare_with(
        &mut pending,
        header(1, 2),
        &parse_op("create /a persistent"),
    );
    assert_eq!(t2.body.error(), Some(proto::zk::ZkError::NodeExists));
    pending.clear();
    let t3 = tree.prepare_with(
        &mut pending,
        header(1, 3),
        &parse_op("create /a persistent"),
    );
    assert!(t3.body.error().is_none());
}

#[test]
fn close_skips_an_ephemeral_deleted_and_recreated_by_another_session() {
    // Regression (found by the pipeline property): the newest outstanding record decides.
    check(&[
        &[(3, "create /e ephemeral", "created /e")],
        &[
            (1, "delete /e -1", "deleted"),
            (2, "create /e ephemeral", "created /e"),
            (3, "close", "closed"),
        ],
    ]);
    let mut tree = DataTree::new();
    pipeline(&mut tree, &[(3, "create /e ephemeral")]);
    let mut pending = PendingChanges::new();
    let lines = ["delete /e -1", "create /e ephemeral", "close"];
    let sessions = [1, 2, 3];
    let txns: Vec<Txn> = (0..3)
        .map(|i| {
            tree.prepare_with(
                &mut pending,
                header(sessions[i], 2 + i as u32),
                &parse_op(lines[i]),
            )
        })
        .collect();
    assert_eq!(txns[2].body, TxnBody::CloseSession { paths: vec![] });
    for txn in &txns {
        tree.apply(txn);
    }
    assert_eq!(
        tree.stat("/e").unwrap().ephemeral_owner,
        proto::zk::SessionId(2)
    );
    assert_eq!(tree.misfits(), 0);
}
