//! The ZooKeeper consistency checker on hand-built histories: each planted violation is
//! reported under the right check and confirmed by the search; each consistent
//! counterpart passes (info writes that did or did not take effect, failed writes, multi,
//! sequential creates, ephemerals removed by a server close, a sync followed by a read).

mod common;

use check::zk::{
    READ_FUTURE, READ_STATE, REAL_TIME_ORDER, SESSION_FIFO, SESSION_MONOTONIC, SYNC_READ,
    WRITE_RESULT, ZXID_UNIQUE, ZkReport, ZkVerdict, check_history, check_witness, confirm,
};
use common::*;
use lincheck::lin::Budget;
use proto::Zxid;
use proto::history::Event;
use proto::zk::{CreateMode, MultiResult, Op, OpResult, Stat};

fn check(events: &[Event]) -> ZkReport {
    check_history(events, Budget::DEFAULT)
}

#[track_caller]
fn assert_consistent(events: &[Event]) -> ZkReport {
    let report = check(events);
    assert_eq!(
        report.verdict,
        ZkVerdict::Consistent,
        "{}\nunconfirmed: {:?}",
        report.render(events),
        report.unconfirmed
    );
    assert!(report.violations.is_empty());
    assert_eq!(confirm(events, Budget::DEFAULT), ZkVerdict::Consistent);
    report
}

/// The verdict is a confirmed violation, and `name` is among the reported checks.
#[track_caller]
fn assert_violation(events: &[Event], name: &str) -> ZkReport {
    let report = check(events);
    assert_eq!(
        report.verdict,
        ZkVerdict::Violation,
        "expected {name}; got {report:?}"
    );
    assert!(
        report.violations.iter().any(|v| v.check == name),
        "expected {name} among {:?}",
        report.violations
    );
    let explanation = report
        .explanation
        .as_ref()
        .expect("a violation is explained");
    assert!(!explanation.stuck.is_empty(), "{}", explanation.rendered);
    assert_eq!(confirm(events, Budget::DEFAULT), ZkVerdict::Violation);
    let rendered = report.render(events);
    assert!(rendered.contains(name), "{rendered}");
    report
}

#[test]
fn empty_history_is_consistent() {
    let report = assert_consistent(&[]);
    assert_eq!(report.stats.writes, 0);
}

#[test]
fn writes_failures_multi_sequential_and_lagging_reads_are_consistent() {
    let mut b = Builder::new();
    b.write(1, create("/a", "x"), 0, 10, 1);
    let dup = b.write(2, create("/a", "y"), 5, 15, 2); // NodeExists
    let bad = b.write(1, set_v("/a", "z", 5), 20, 30, 3); // BadVersion
    b.write(2, set("/a", "w"), 25, 35, 4);
    // Session 1 lags: it saw zxid 3 (its failed write), so it may read the state at 3.
    b.read(1, get("/a"), 31, 40, 3);
    let multi = Op::Multi(vec![create("/b", ""), create("/b/c", "1"), set("/a", "m")]);
    b.write(1, multi, 41, 50, 5);
    let failed_multi = Op::Multi(vec![create("/c", ""), delete("/nope")]);
    let fm = b.write(2, failed_multi, 45, 55, 6);
    b.write(1, create("/q", ""), 60, 70, 7);
    let seq = create_mode("/q/i-", "1", CreateMode::PersistentSequential);
    let s1 = b.write(1, seq.clone(), 71, 80, 8);
    let s2 = b.write(2, seq, 72, 81, 9);
    b.read(2, children("/q"), 90, 95, 9);
    b.read(3, get("/b/c"), 90, 96, 5);
    b.read(3, children("/"), 97, 99, 9);
    let events = b.finish();
    let is_err = |i: usize| match &events[i] {
        Event::Op(r) => r.result.as_ref().is_some_and(|x| !x.is_ok()),
        _ => false,
    };
    assert!(is_err(dup) && is_err(bad) && is_err(fm));
    let created = |i: usize| match &events[i] {
        Event::Op(r) => match r.result.as_ref() {
            Some(OpResult::Created { path, .. }) => path.clone(),
            other => panic!("{other:?}"),
        },
        _ => unreachable!(),
    };
    assert_eq!(created(s1), "/q/i-0000000000");
    assert_eq!(created(s2), "/q/i-0000000001");
    let report = assert_consistent(&events);
    assert!(report.unconfirmed.is_empty());
    assert!(report.stats.searches.is_empty(), "the witness suffices");
    assert_eq!(report.stats.reads, 4);
}

#[test]
fn ephemerals_removed_by_a_server_close_and_a_sync_then_read_are_consistent() {
    let mut b = Builder::new();
    b.write(1, create("/e", ""), 0, 10, 1);
    let eph = create_mode("/e/owner", "me", CreateMode::Ephemeral);
    b.write(3, eph, 11, 20, 2);
    b.read(2, children("/e"), 21, 25, 2);
    b.server_close(3, 3, 30);
    b.write(1, set("/e", "after"), 35, 40, 4);
    // A stale read in another session is fine without a sync…
    b.read(4, children("/e"), 41, 45, 2);
    // …and after a sync the session sees the close and the later write.
    b.sync(2, 50, 55, 4);
    b.read(2, children("/e"), 56, 60, 4);
    b.read(2, get("/e"), 61, 65, 4);
    let events = b.finish();
    let report = assert_consistent(&events);
    assert_eq!(report.stats.syncs, 1);
    assert!(report.unconfirmed.is_empty());
}

#[test]
fn info_writes_that_did_and_did_not_take_effect_are_consistent() {
    let mut b = Builder::new();
    b.write(1, create("/a", "v0"), 0, 10, 1);
    // Lost, never applied: later reads see the old value.
    b.lost_write(2, set("/a", "never"), 11, 20, None);
    b.read(3, get("/a"), 21, 25, 1);
    // Lost but applied at zxid 3 (zxid 2 is a session creation the history does not show):
    // a later read shows its data and, in the stat, its zxid.
    b.lost_write(2, set("/a", "took"), 26, 30, Some(3));
    b.read(3, get("/a"), 31, 35, 3);
    b.write(1, set("/a", "v2"), 36, 40, 4);
    let events = b.finish();
    let report = assert_consistent(&events);
    assert_eq!(
        report.stats.recovered_zxids, 1,
        "the stat's mzxid places it"
    );
    assert!(report.unconfirmed.is_empty(), "{:?}", report.unconfirmed);
}

#[test]
fn an_info_write_seen_only_by_its_effect_is_placed_by_the_repair() {
    let mut b = Builder::new();
    b.write(1, create("/a", ""), 0, 10, 1);
    b.lost_write(2, create("/n", ""), 11, 20, Some(2));
    // getChildren shows no zxid, and no stat of the root is ever read: only the repair
    // (trying the lost create at the first free zxid after its invocation) places it.
    b.read(3, children("/"), 21, 25, 2);
    b.write(1, set("/a", "x"), 30, 40, 3);
    let events = b.finish();
    let witness = check_witness(&events);
    assert_eq!(
        witness.verdict,
        ZkVerdict::Consistent,
        "{:?}",
        witness.unconfirmed
    );
    assert_eq!(witness.stats.repaired_zxids, 1);
    assert_consistent(&events);
}

#[test]
fn an_effect_no_zxid_order_explains_is_left_to_the_search() {
    // The read claims zxid 2 but shows a lost create as well: no zxid order explains it
    // (zxids 1 and 2 are taken), a black-box order does.
    let mut b = Builder::new();
    b.write(1, create("/a", ""), 0, 10, 1);
    b.lost_write(2, create("/n", ""), 11, 20, None);
    b.write(1, create("/b", ""), 12, 22, 2);
    let read = b.read(3, children("/"), 30, 35, 2);
    let mut events = b.finish();
    *result_mut(&mut events, read) = OpResult::Children(vec!["a".into(), "b".into(), "n".into()]);
    assert_eq!(check_witness(&events).verdict, ZkVerdict::Unknown);
    let report = assert_consistent(&events);
    assert_eq!(report.unconfirmed.len(), 1);
    assert_eq!(report.unconfirmed[0].check, READ_STATE);
    assert!(
        report
            .stats
            .searches
            .iter()
            .all(|s| s.outcome == "explained")
    );
    assert_eq!(report.stats.searches.last().map(|s| s.cut_ns), Some(None));
}

#[test]
fn a_zxid_anomaly_alone_is_not_a_violation() {
    // Two writes report the same zxid; their results fit one order, so the history has an
    // explanation and the witness failure stays unconfirmed.
    let mut b = Builder::new();
    b.write(1, create("/a", ""), 0, 10, 1);
    let second = b.write(2, create("/b", ""), 20, 30, 2);
    let mut events = b.finish();
    record_mut(&mut events, second).zxid = Some(Zxid(1));
    if let Some(OpResult::Created { stat: Some(s), .. }) =
        &mut record_mut(&mut events, second).result
    {
        s.czxid = Zxid(1);
        s.mzxid = Zxid(1);
        s.pzxid = Zxid(1);
    }
    let report = assert_consistent(&events);
    assert!(report.unconfirmed.iter().any(|v| v.check == ZXID_UNIQUE));
}

#[test]
fn stale_read_after_own_write_is_a_violation() {
    let mut b = Builder::new();
    b.write(1, create("/a", "v1"), 0, 10, 1);
    b.write(1, set("/a", "v2"), 20, 30, 2);
    b.read(1, get("/a"), 40, 50, 1);
    let events = b.finish();
    let report = assert_violation(&events, SESSION_MONOTONIC);
    assert_eq!(report.violations[0].ops.len(), 2, "the write and the read");
    // The counterpart: another session may read the old state.
    let mut b = Builder::new();
    b.write(1, create("/a", "v1"), 0, 10, 1);
    b.write(1, set("/a", "v2"), 20, 30, 2);
    b.read(2, get("/a"), 40, 50, 1);
    assert_consistent(&b.finish());
}

#[test]
fn a_read_going_back_in_time_after_failover_is_a_violation() {
    let build = |second_zxid: u64| {
        let mut b = Builder::new();
        b.write(1, create("/a", "v1"), 0, 10, 1);
        b.write(1, set("/a", "v2"), 20, 30, 2);
        b.read(2, get("/a"), 40, 50, 2);
        // The session moved to another server, which answers from zxid `second_zxid`.
        b.read(2, get("/a"), 60, 70, second_zxid);
        b.finish()
    };
    assert_violation(&build(1), SESSION_MONOTONIC);
    assert_consistent(&build(2));
}

#[test]
fn a_lost_acknowledged_write_is_a_violation() {
    let build = |lose: bool| {
        let mut b = Builder::new();
        b.write(1, create("/a", "v1"), 0, 10, 1);
        b.write(2, create("/b", "b1"), 0, 10, 2);
        b.write(1, set("/a", "v2"), 20, 30, 3);
        // Invoked after the write of /a completed: every state showing it shows /a = v2.
        b.write(3, set("/b", "b2"), 40, 50, 4);
        b.read(4, get("/b"), 60, 70, 4);
        let lost = b.read(4, get("/a"), 80, 90, 4);
        let mut events = b.finish();
        if lose {
            let old = b_state_read(&events, 1);
            *result_mut(&mut events, lost) = old;
        }
        events
    };
    assert_violation(&build(true), READ_STATE);
    assert_consistent(&build(false));
}

/// `get /a` answered from the state after the first `zxid` writes of `events` (for
/// planting an old value).
fn b_state_read(events: &[Event], zxid: u64) -> OpResult {
    let mut tree = datatree::DataTree::new();
    for e in events {
        if let Event::Op(r) = e
            && r.op.is_write()
            && let Some(z) = r.zxid.filter(|z| z.0 <= zxid)
        {
            let header = datatree::TxnHeader {
                session: r.session,
                zxid: z,
                time_ms: 0,
            };
            tree.execute(header, &r.op);
        }
    }
    tree.read(&get("/a"))
}

#[test]
fn a_write_result_that_no_order_gives_is_a_violation() {
    let mut b = Builder::new();
    b.write(1, create("/a", "v0"), 0, 10, 1);
    b.write(1, set("/a", "v1"), 20, 30, 2);
    let second = b.write(2, set("/a", "v2"), 40, 50, 3);
    let mut events = b.finish();
    // The second setData claims version 1 too: one of the two writes was lost.
    if let OpResult::Stat(stat) = result_mut(&mut events, second) {
        assert_eq!(stat.version, 2);
        stat.version = 1;
    }
    assert_violation(&events, WRITE_RESULT);
}

#[test]
fn writes_out_of_real_time_order_are_a_violation() {
    // A completes before B is invoked, but B has the smaller zxid, and the results follow
    // the zxid order (B's setData got version 1, A's version 2).
    let mut b = Builder::new();
    b.write(1, create("/x", ""), 0, 5, 1);
    let b_write = b.write(2, set("/x", "b"), 20, 30, 2);
    let a_write = b.write(1, set("/x", "a"), 6, 10, 3);
    let events = b.finish();
    assert!(matches!(&events[b_write], Event::Op(r) if r.zxid == Some(Zxid(2))));
    assert!(matches!(&events[a_write], Event::Op(r) if r.complete_ns == Some(10)));
    assert_violation(&events, REAL_TIME_ORDER);
}

#[test]
fn session_writes_out_of_order_are_a_violation() {
    // Pipelined writes of one session (overlapping intervals) committed in reverse xid
    // order: the results follow that reverse order.
    let mut b = Builder::new();
    b.write(1, create("/x", ""), 0, 5, 1);
    let first = b.raw(2, set_v("/x", "first", 0), 10, Some(40), None, Some(3));
    let second = b.raw(2, set_v("/x", "second", -1), 11, Some(41), None, Some(2));
    let mut events = b.finish();
    // Executed as zxid 2 = second (version 1), zxid 3 = first: BadVersion (expected 0).
    let stat = |version: i32, mzxid: u64| Stat {
        czxid: Zxid(1),
        mzxid: Zxid(mzxid),
        pzxid: Zxid(1),
        version,
        data_length: 6,
        ..Stat::default()
    };
    record_mut(&mut events, second).result = Some(OpResult::Stat(stat(1, 2)));
    record_mut(&mut events, second).outcome = proto::history::Outcome::Ok;
    record_mut(&mut events, first).result = Some(OpResult::Err(proto::zk::ZkError::BadVersion));
    record_mut(&mut events, first).outcome = proto::history::Outcome::Fail;
    assert_violation(&events, SESSION_FIFO);
}

#[test]
fn a_stale_read_after_a_sync_is_a_violation() {
    let build = |sync: bool| {
        let mut b = Builder::new();
        b.write(1, create("/a", "v1"), 0, 10, 1);
        b.write(1, set("/a", "v2"), 20, 30, 2);
        if sync {
            // The sync was answered by a server that had not applied zxid 2.
            b.sync(2, 40, 50, 1);
        }
        b.read(2, get("/a"), 60, 70, 1);
        b.finish()
    };
    assert_violation(&build(true), SYNC_READ);
    assert_consistent(&build(false));
}

#[test]
fn a_read_seeing_a_write_invoked_after_it_completed_is_a_violation() {
    let mut b = Builder::new();
    b.write(1, create("/a", "v1"), 0, 10, 1);
    b.write(1, set("/a", "v2"), 40, 50, 2);
    // Answered from zxid 2, yet completed at 30, before the write was invoked.
    b.read(2, get("/a"), 20, 30, 2);
    assert_violation(&b.finish(), READ_FUTURE);
}

#[test]
fn multi_results_are_checked_entry_by_entry() {
    let mut b = Builder::new();
    b.write(1, create("/a", ""), 0, 10, 1);
    let multi = Op::Multi(vec![create("/a/b", ""), set("/a", "x")]);
    let m = b.write(1, multi, 20, 30, 2);
    let mut events = b.finish();
    assert_consistent(&events);
    if let OpResult::Multi(entries) = result_mut(&mut events, m) {
        entries[0] = MultiResult::Created {
            path: "/a/other".into(),
            stat: None,
        };
    }
    assert_violation(&events, WRITE_RESULT);
}

#[test]
fn an_exhausted_budget_gives_unknown() {
    let mut b = Builder::new();
    b.write(1, create("/a", "v1"), 0, 10, 1);
    b.write(1, set("/a", "v2"), 20, 30, 2);
    b.read(1, get("/a"), 40, 50, 1);
    let events = b.finish();
    let report = check_history(&events, Budget::steps(0));
    assert_eq!(report.verdict, ZkVerdict::Unknown);
    assert!(report.violations.is_empty());
    assert!(
        report
            .unconfirmed
            .iter()
            .any(|v| v.check == SESSION_MONOTONIC)
    );
    assert_eq!(report.stats.searches[0].outcome, "budget");
}

#[test]
fn a_server_close_is_seen_after_a_sync() {
    let build = |keep_ephemeral: bool| {
        let mut b = Builder::new();
        b.write(1, create("/e", ""), 0, 10, 1);
        let eph = create_mode("/e/owner", "me", CreateMode::Ephemeral);
        b.write(3, eph, 11, 20, 2);
        b.server_close(3, 3, 30);
        b.sync(4, 40, 45, 3);
        let read = b.read(4, children("/e"), 46, 50, 3);
        let mut events = b.finish();
        if keep_ephemeral {
            *result_mut(&mut events, read) = OpResult::Children(vec!["owner".into()]);
        }
        events
    };
    assert_consistent(&build(false));
    assert_violation(&build(true), READ_STATE);
}

#[test]
fn ops_recorded_without_a_session_are_checked_on_their_own() {
    let build = |garbage: bool| {
        let mut b = Builder::new();
        b.write(1, create("/a", "v1"), 0, 10, 1);
        b.write(1, set("/a", "v2"), 20, 30, 2);
        let early = b.read(2, get("/a"), 40, 50, 1);
        let mut events = b.finish();
        record_mut(&mut events, early).session = proto::zk::SessionId::NONE;
        if garbage && let OpResult::Data { data, .. } = result_mut(&mut events, early) {
            *data = b"never".to_vec();
        }
        events
    };
    assert_consistent(&build(false));
    assert_violation(&build(true), READ_STATE);
}

#[test]
fn synthetic_histories_are_deterministic_and_consistent() {
    let a = check::zk::synthetic_history(3_000, 8, 42);
    assert_eq!(a, check::zk::synthetic_history(3_000, 8, 42));
    assert_ne!(a, check::zk::synthetic_history(3_000, 8, 43));
    let report = assert_consistent(&a);
    assert!(report.stats.writes > 1_000 && report.stats.reads > 1_000);
    assert!(report.stats.syncs > 0);
    let server_closes = a
        .iter()
        .filter(|e| matches!(e, Event::ServerClose { .. }))
        .count();
    let lost = a
        .iter()
        .filter(|e| matches!(e, Event::Op(r) if r.outcome == proto::history::Outcome::Info))
        .count();
    let failed = a
        .iter()
        .filter(|e| matches!(e, Event::Op(r) if r.outcome == proto::history::Outcome::Fail))
        .count();
    assert!(
        server_closes > 0 && lost > 0 && failed > 0,
        "{server_closes} {lost} {failed}"
    );
}
