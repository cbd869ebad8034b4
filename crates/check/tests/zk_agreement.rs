//! The confirmation search against a brute-force oracle on thousands of small random
//! write-only histories (≤ 7 writes, up to 3 sessions, pipelined requests, info writes that
//! did or did not take effect, then often one planted corruption): the search's verdict and
//! `check_history`'s equal the oracle's, and whenever the fast witness passes, the oracle
//! agrees. The oracle shares nothing with the checker but `DataTree::execute`: it tries
//! every order of the writes that respects real time and each session's request order,
//! with any subset of the info writes, and compares results with times and zxids masked.

use check::zk::{ZkVerdict, check_history, check_witness, confirm};
use datatree::{DataTree, TxnHeader};
use lincheck::lin::Budget;
use proto::history::{Event, OpRecord, Outcome};
use proto::zk::{CreateMode, MultiResult, Op, OpResult, SessionId, Stat, ZkError};
use proto::{ProcessId, Zxid};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        proto::mix64(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_op(rng: &mut Rng) -> Op {
    let paths = ["/a", "/a/b", "/b"];
    let path = paths[rng.below(3) as usize].to_string();
    let data = vec![b'0' + rng.below(3) as u8];
    let version = rng.below(3) as i32 - 1;
    match rng.below(8) {
        0 | 1 => Op::Create {
            path,
            data,
            mode: CreateMode::Persistent,
        },
        2 => Op::Create {
            path: "/s-".into(),
            data,
            mode: CreateMode::PersistentSequential,
        },
        3 | 4 => Op::SetData {
            path,
            data,
            version,
        },
        5 => Op::Delete { path, version },
        6 => Op::Check { path, version },
        _ => Op::Multi(vec![
            Op::Create {
                path: "/b".into(),
                data: vec![],
                mode: CreateMode::Persistent,
            },
            Op::SetData {
                path,
                data,
                version: -1,
            },
        ]),
    }
}

/// A random history, usually a real execution, often with one corruption planted.
fn random_history(seed: u64) -> Vec<Event> {
    let mut rng = Rng(seed);
    let n = 1 + rng.below(7) as usize;
    let sessions = 1 + rng.below(3);
    let mut free = vec![0u64; sessions as usize];
    let mut xids = vec![0u64; sessions as usize];
    // (session, xid, op, invoke, complete, point, info, applied)
    let mut ops = Vec::new();
    for _ in 0..n {
        let s = rng.below(sessions) as usize;
        let invoke = free[s] + rng.below(6);
        let complete = invoke + rng.below(8);
        free[s] = if rng.below(5) == 0 {
            invoke + 1
        } else {
            complete + 1
        };
        xids[s] += 1;
        let point = invoke + rng.below(complete - invoke + 1);
        let info = rng.below(7) == 0;
        let applied = !info || rng.below(2) == 0;
        ops.push((
            s,
            xids[s],
            random_op(&mut rng),
            invoke,
            complete,
            point,
            info,
            applied,
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (ops[i].5, ops[i].1, i));
    let mut tree = DataTree::new();
    let mut zxid = 0u64;
    let mut results: Vec<Option<(OpResult, Zxid)>> = vec![None; n];
    for &i in &order {
        let (s, _, op, _, _, _, _, applied) = &ops[i];
        if !applied {
            continue;
        }
        zxid += 1 + rng.below(2);
        let header = TxnHeader {
            session: SessionId(1 + *s as u64),
            zxid: Zxid(zxid),
            time_ms: 0,
        };
        results[i] = Some((tree.execute(header, op), Zxid(zxid)));
    }
    let mut events: Vec<Event> = ops
        .iter()
        .zip(&results)
        .map(|((s, xid, op, invoke, complete, _, info, _), result)| {
            let (result, zxid) = match (info, result) {
                (false, Some((r, z))) => (r.clone(), Some(*z)),
                _ => (OpResult::Err(ZkError::ConnectionLoss), None),
            };
            Event::Op(OpRecord {
                process: ProcessId(*s as u32),
                session: SessionId(1 + *s as u64),
                xid: *xid,
                op: op.clone(),
                invoke_ns: *invoke,
                complete_ns: Some(*complete),
                outcome: Outcome::of(&result, zxid),
                result: Some(result),
                zxid,
            })
        })
        .collect();
    if rng.below(10) < 6 {
        corrupt(&mut events, &mut rng);
    }
    events
}

fn stat_of(result: &mut OpResult) -> Option<&mut Stat> {
    match result {
        OpResult::Stat(s) | OpResult::Created { stat: Some(s), .. } => Some(s),
        OpResult::Multi(entries) => entries.iter_mut().find_map(|e| match e {
            MultiResult::SetData(s) | MultiResult::Created { stat: Some(s), .. } => Some(s),
            _ => None,
        }),
        _ => None,
    }
}

fn corrupt(events: &mut [Event], rng: &mut Rng) {
    let n = events.len();
    let pick = rng.below(n as u64) as usize;
    let other = rng.below(n as u64) as usize;
    let (a, b) = (pick.min(other), pick.max(other));
    match rng.below(5) {
        0 if a != b => {
            // Swap two zxids.
            let (za, zb) = match (&events[a], &events[b]) {
                (Event::Op(x), Event::Op(y)) => (x.zxid, y.zxid),
                _ => unreachable!(),
            };
            if let Event::Op(x) = &mut events[a] {
                x.zxid = zb;
            }
            if let Event::Op(y) = &mut events[b] {
                y.zxid = za;
            }
        }
        1 => {
            if let Event::Op(r) = &mut events[pick]
                && let Some(s) = r.result.as_mut().and_then(stat_of)
            {
                s.version += 1;
            }
        }
        2 => {
            if let Event::Op(r) = &mut events[pick]
                && r.outcome == Outcome::Fail
            {
                let flipped = if r.result == Some(OpResult::Err(ZkError::NoNode)) {
                    ZkError::NodeExists
                } else {
                    ZkError::NoNode
                };
                r.result = Some(OpResult::Err(flipped));
            }
        }
        3 if a != b => {
            // Invoke `b` after `a` completed.
            let a_done = match &events[a] {
                Event::Op(x) => x.complete_ns.unwrap_or(0),
                _ => unreachable!(),
            };
            if let Event::Op(y) = &mut events[b] {
                let length = y.complete_ns.unwrap_or(0) - y.invoke_ns;
                y.invoke_ns = a_done + 1;
                y.complete_ns = Some(a_done + 1 + length);
            }
        }
        _ => {
            if let Event::Op(r) = &mut events[pick]
                && let Some(OpResult::Created { path, .. }) = r.result.as_mut()
            {
                path.push('x');
            }
        }
    }
}

/// Results equal with times and zxids masked (a recorded `Created` without a stat matches
/// any stat).
fn masked(result: &OpResult) -> OpResult {
    let clean = |s: &Stat| Stat {
        czxid: Zxid::ZERO,
        mzxid: Zxid::ZERO,
        pzxid: Zxid::ZERO,
        ctime: 0,
        mtime: 0,
        ..*s
    };
    match result {
        OpResult::Created { path, stat } => OpResult::Created {
            path: path.clone(),
            stat: stat.as_ref().map(clean),
        },
        OpResult::Stat(s) => OpResult::Stat(clean(s)),
        OpResult::Multi(entries) => OpResult::Multi(
            entries
                .iter()
                .map(|e| match e {
                    MultiResult::Created { path, stat } => MultiResult::Created {
                        path: path.clone(),
                        stat: stat.as_ref().map(clean),
                    },
                    MultiResult::SetData(s) => MultiResult::SetData(clean(s)),
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The oracle: some order of the answered writes plus any subset of the info writes that
/// respects real time and session order and reproduces every answered result.
fn oracle(events: &[Event]) -> bool {
    let ops: Vec<&OpRecord> = events
        .iter()
        .map(|e| match e {
            Event::Op(r) => r,
            _ => unreachable!(),
        })
        .collect();
    let answered: Vec<bool> = ops.iter().map(|r| r.outcome != Outcome::Info).collect();
    let mut placed = vec![false; ops.len()];
    search(&ops, &answered, &mut placed, &DataTree::new(), 0)
}

fn search(
    ops: &[&OpRecord],
    answered: &[bool],
    placed: &mut [bool],
    tree: &DataTree,
    depth: u64,
) -> bool {
    if (0..ops.len()).all(|i| placed[i] || !answered[i]) {
        return true;
    }
    for c in 0..ops.len() {
        if placed[c] {
            continue;
        }
        let blocked = (0..ops.len()).any(|o| {
            !placed[o]
                && answered[o]
                && (ops[o].complete_ns.expect("answered") < ops[c].invoke_ns
                    || (answered[c] && ops[o].session == ops[c].session && ops[o].xid < ops[c].xid))
        });
        if blocked {
            continue;
        }
        let mut next = tree.clone();
        let header = TxnHeader {
            session: ops[c].session,
            zxid: Zxid(depth + 1),
            time_ms: 0,
        };
        let result = next.execute(header, &ops[c].op);
        if answered[c] {
            let recorded = masked(ops[c].result.as_ref().expect("answered"));
            let mut got = masked(&result);
            if let (OpResult::Created { stat: None, .. }, OpResult::Created { stat, .. }) =
                (&recorded, &mut got)
            {
                *stat = None;
            }
            if recorded != got {
                continue;
            }
        }
        placed[c] = true;
        let found = search(ops, answered, placed, &next, depth + 1);
        placed[c] = false;
        if found {
            return true;
        }
    }
    false
}

#[test]
fn the_search_agrees_with_the_oracle_and_the_witness_never_passes_a_violation() {
    let (mut consistent, mut witness_passes, mut violations) = (0, 0, 0);
    for seed in 0..4000u64 {
        let events = random_history(seed);
        let truth = oracle(&events);
        let expected = if truth {
            ZkVerdict::Consistent
        } else {
            ZkVerdict::Violation
        };
        let searched = confirm(&events, Budget::DEFAULT);
        assert_eq!(
            searched, expected,
            "seed {seed}: search vs oracle on {events:#?}"
        );
        let report = check_history(&events, Budget::DEFAULT);
        assert_eq!(
            report.verdict, expected,
            "seed {seed}: check_history vs oracle on {events:#?}"
        );
        if check_witness(&events).verdict == ZkVerdict::Consistent {
            witness_passes += 1;
            assert!(
                truth,
                "seed {seed}: the witness passed a violation: {events:#?}"
            );
        }
        consistent += usize::from(truth);
        violations += usize::from(!truth);
    }
    eprintln!("{consistent} consistent, {violations} violations, witness passed {witness_passes}");
    // Both verdicts are common, and the witness decides most consistent histories.
    assert!(
        consistent > 1000 && violations > 500,
        "{consistent} {violations}"
    );
    assert!(
        witness_passes > consistent / 2,
        "{witness_passes} of {consistent}"
    );
}
