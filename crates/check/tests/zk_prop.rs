//! Property tests on synthetic histories: every generated (consistent) history passes the
//! consistency and watch checkers; replacing one answered read's result by a state that
//! never existed is always caught as a confirmed violation; dropping a delivered watch
//! event (one without a twin: see the test) is always caught once its session saw a reply
//! at or past the event's zxid.

use check::watch::check_watches;
use check::zk::{READ_STATE, ZkVerdict, check_history, synthetic_history};
use lincheck::lin::Budget;
use proptest::prelude::*;
use proto::history::{Event, Outcome};
use proto::wire::EventType;
use proto::zk::{Op, OpResult, Stat};

/// Data no generated write ever writes (generated data is `d` and digits).
const NEVER: &[u8] = b"\xffnever";

/// Make the result of op event `index` a state no prefix of the writes ever had, if it is an
/// answered read. Returns whether it did.
fn corrupt_read(events: &mut [Event], index: usize) -> bool {
    let Event::Op(r) = &mut events[index] else {
        return false;
    };
    if !r.op.is_read() || r.outcome == Outcome::Info || r.zxid.is_none() {
        return false;
    }
    let never_stat = Stat {
        version: 1 << 30,
        ..Stat::default()
    };
    let replacement = match (&r.op, r.result.as_ref()) {
        (Op::GetData { .. }, Some(OpResult::Data { stat, .. })) => OpResult::Data {
            data: NEVER.to_vec(),
            stat: *stat,
        },
        (Op::GetChildren { .. }, Some(OpResult::Children(names))) => {
            let mut names = names.clone();
            names.push("never\u{1}".into());
            names.sort();
            OpResult::Children(names)
        }
        (Op::Exists { .. } | Op::GetData { .. }, _) => OpResult::Exists(Some(never_stat)),
        (Op::GetChildren { .. }, _) => OpResult::Children(vec!["never\u{1}".into()]),
        _ => return false,
    };
    let replacement = match (&r.op, replacement) {
        (Op::GetData { .. }, OpResult::Exists(Some(stat))) => OpResult::Data {
            data: NEVER.to_vec(),
            stat,
        },
        (_, other) => other,
    };
    r.result = Some(replacement);
    r.outcome = Outcome::Ok;
    true
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn synthetic_histories_pass(ops in 1usize..400, sessions in 1usize..8, seed in any::<u64>()) {
        let events = synthetic_history(ops, sessions, seed);
        let report = check_history(&events, Budget::DEFAULT);
        prop_assert_eq!(report.verdict, ZkVerdict::Consistent, "{:?}", report.unconfirmed);
        prop_assert!(report.unconfirmed.is_empty(), "{:?}", report.unconfirmed);
        let watches = check_watches(&events);
        prop_assert!(watches.is_ok(), "{:?}", watches.violations);
    }

    #[test]
    fn a_read_of_a_state_that_never_existed_is_caught(
        ops in 2usize..160,
        sessions in 1usize..6,
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut events = synthetic_history(ops, sessions, seed);
        let reads: Vec<usize> = (0..events.len())
            .filter(|&i| corrupt_read(&mut events.clone(), i))
            .collect();
        prop_assume!(!reads.is_empty());
        let target = reads[pick.index(reads.len())];
        prop_assert!(corrupt_read(&mut events, target));
        let report = check_history(&events, Budget::DEFAULT);
        prop_assert_eq!(report.verdict, ZkVerdict::Violation, "{:?}", report.stats);
        prop_assert!(report.violations.iter().any(|v| v.check == READ_STATE && v.ops.contains(&target)));
    }

    #[test]
    fn a_dropped_watch_event_is_caught(
        ops in 2usize..400,
        sessions in 1usize..6,
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut events = synthetic_history(ops, sessions, seed);
        // Exist watches may legitimately miss a create (see check::watch): skip NodeCreated.
        // A reconnect's SetWatches sends NodeDeleted once for a path's data watch and once
        // for its child watch, and either one fires both: only an event without such a twin
        // is required on its own.
        let twin = |i: usize| {
            let Event::Watch { session, watch, .. } = &events[i] else { return false };
            events.iter().enumerate().any(|(j, e)| {
                j != i && matches!(e, Event::Watch { session: s, watch: w, .. } if s == session && w == watch)
            })
        };
        let delivered: Vec<usize> = (0..events.len())
            .filter(|&i| matches!(&events[i], Event::Watch { watch, .. } if watch.kind != EventType::NodeCreated))
            .filter(|&i| !twin(i))
            .collect();
        prop_assume!(!delivered.is_empty());
        let target = delivered[pick.index(delivered.len())];
        let Event::Watch { session, watch, .. } = events.remove(target) else { unreachable!() };
        let seen_later = events[target..].iter().any(|e| {
            matches!(e, Event::Op(r) if r.session == session && r.outcome != Outcome::Info
                && r.zxid.is_some_and(|z| z >= watch.zxid))
        });
        let report = check_watches(&events);
        prop_assert_eq!(report.is_ok(), !seen_later, "{:?}", report.violations);
    }
}
