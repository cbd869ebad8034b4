//! Tests of the online protocol monitors (`check::monitor`): for every monitor a hand-made
//! event sequence with a planted violation that must be reported under that monitor's name
//! with the right processes; clean histories (election, commits, crash, reset, re-sync,
//! second epoch; also with a tiny canonical window) that must pass; the deferred
//! (`on_note` + `after_event`) path the simulator uses; skipped checks; bounded memory.

use std::collections::BTreeSet;

use check::monitor::{
    AGREEMENT, COMMITTED_LOG_DURABILITY, Event as Ev, GLOBAL_PRIMARY_ORDER, INTEGRITY,
    LEADER_LOG_COMPLETENESS, LEADERSHIP, LOCAL_PRIMARY_ORDER, MONITOR_NAMES, MonitorViolation,
    Monitors, PREFIX_CONSISTENCY, PRIMARY_INTEGRITY, PROCESS_CONSISTENCY, Phase, ProtocolEvent,
    ServerLog, ServerState, TOTAL_ORDER, chain_digest, history_digest,
};
use proto::{Epoch, NS_PER_MS, ProcessId, Time, Zxid, hash_words};

fn p(i: u32) -> ProcessId {
    ProcessId(i)
}

fn z(epoch: u32, counter: u32) -> Zxid {
    Zxid::new(Epoch(epoch), counter)
}

/// The digest of the txn a correct leader issues at `zxid`.
fn dig(zxid: Zxid) -> u64 {
    hash_words(&[zxid.0, 0xD16E57])
}

/// A different txn at the same zxid.
fn bad(zxid: Zxid) -> u64 {
    hash_words(&[zxid.0, 0xBAD])
}

/// A fake server: a txn log with a base point, and the leader flags.
#[derive(Clone, Debug, Default)]
struct FakeLog {
    base_zxid: Zxid,
    base_cum: u64,
    /// (zxid, digest, cumulative digest through it)
    entries: Vec<(Zxid, u64, u64)>,
    current_epoch: Epoch,
    leading: Option<Epoch>,
    established: bool,
}

impl FakeLog {
    fn of(txns: &[(Zxid, u64)]) -> FakeLog {
        let mut l = FakeLog::default();
        for &(zxid, digest) in txns {
            l.append(zxid, digest);
        }
        l
    }

    fn last_cum(&self) -> u64 {
        self.entries.last().map_or(self.base_cum, |e| e.2)
    }

    fn append(&mut self, zxid: Zxid, digest: u64) {
        assert!(
            zxid > self.last_logged_zxid(),
            "fake log append out of order"
        );
        let cum = chain_digest(self.last_cum(), zxid, digest);
        self.entries.push((zxid, digest, cum));
    }

    fn truncate_after(&mut self, to: Zxid) -> Vec<Zxid> {
        let keep = self.entries.partition_point(|e| e.0 <= to);
        self.entries
            .split_off(keep)
            .into_iter()
            .map(|e| e.0)
            .collect()
    }

    fn lead(&mut self, epoch: Epoch, established: bool) {
        self.current_epoch = epoch;
        self.leading = Some(epoch);
        self.established = established;
    }
}

impl ServerLog for FakeLog {
    fn log_digest_at(&self, zxid: Zxid) -> Option<u64> {
        if zxid == self.base_zxid {
            return Some(self.base_cum);
        }
        self.entries.iter().find(|e| e.0 == zxid).map(|e| e.2)
    }
    fn log_base_zxid(&self) -> Zxid {
        self.base_zxid
    }
    fn last_logged_zxid(&self) -> Zxid {
        self.entries.last().map_or(self.base_zxid, |e| e.0)
    }
    fn current_epoch(&self) -> Epoch {
        self.current_epoch
    }
    fn leading_epoch(&self) -> Option<Epoch> {
        self.leading
    }
    fn is_established_leader(&self) -> bool {
        self.established
    }
}

/// Monitors plus fake servers (`None` = down) and a clock.
struct Rig {
    m: Monitors,
    logs: Vec<Option<FakeLog>>,
    now: Time,
}

impl Rig {
    fn new(n: usize) -> Rig {
        Rig::with(Monitors::new(), n)
    }

    fn with(m: Monitors, n: usize) -> Rig {
        let mut r = Rig {
            m,
            logs: vec![Some(FakeLog::default()); n],
            now: Time::ZERO,
        };
        for i in 0..n as u32 {
            r.ok(
                p(i),
                Ev::Reset {
                    upto: Zxid::ZERO,
                    history: 0,
                },
            );
            r.ok(
                p(i),
                Ev::State {
                    state: ServerState::Looking,
                    epoch: Epoch(0),
                },
            );
            r.ok(p(i), Ev::Phase(Phase::Election));
        }
        r
    }

    fn log(&mut self, pid: ProcessId) -> &mut FakeLog {
        self.logs[pid.index()].as_mut().expect("server is up")
    }

    fn feed(
        &mut self,
        pid: ProcessId,
        ev: impl Into<ProtocolEvent>,
    ) -> Result<(), MonitorViolation> {
        let ev = ev.into();
        self.now = self.now.plus_ns(NS_PER_MS);
        let logs: &[Option<FakeLog>] = &self.logs;
        self.m.on_event(self.now, pid, &ev, move |q: ProcessId| {
            logs.get(q.index()).and_then(|l| l.as_ref())
        })
    }

    fn ok(&mut self, pid: ProcessId, ev: impl Into<ProtocolEvent>) {
        let ev = ev.into();
        let shown = format!("{ev:?}");
        if let Err(v) = self.feed(pid, ev) {
            panic!("{pid} {shown}: unexpected violation: {v}");
        }
    }

    /// Feeds `ev` and asserts it is reported under `monitor` naming `processes`.
    fn expect(
        &mut self,
        pid: ProcessId,
        ev: impl Into<ProtocolEvent>,
        monitor: &str,
        processes: &[ProcessId],
    ) -> MonitorViolation {
        let ev = ev.into();
        let shown = format!("{ev:?}");
        let v = self
            .feed(pid, ev)
            .expect_err(&format!("{pid} {shown} must violate {monitor}"));
        assert_eq!(v.monitor, monitor, "wrong monitor for {shown}: {v}");
        assert_eq!(v.processes, processes, "wrong processes for {shown}: {v}");
        assert!(!v.detail.is_empty());
        assert!(v.to_string().starts_with(monitor), "{v}");
        v
    }

    /// `leader` wins an election for `epoch` among `followers`, which sync, then it is
    /// established.
    fn elect(&mut self, leader: ProcessId, epoch: u32, followers: &[ProcessId]) {
        for &f in followers.iter().chain([leader].iter()) {
            self.ok(
                f,
                Ev::ElectionDone {
                    leader,
                    election_epoch: u64::from(epoch),
                },
            );
        }
        self.log(leader).lead(Epoch(epoch), false);
        self.ok(
            leader,
            Ev::State {
                state: ServerState::Leading,
                epoch: Epoch(epoch - 1),
            },
        );
        for &f in followers {
            self.ok(
                f,
                Ev::State {
                    state: ServerState::Following,
                    epoch: Epoch(epoch - 1),
                },
            );
            let last_zxid = self.log(f).last_logged_zxid();
            self.ok(
                f,
                Ev::Synced {
                    leader,
                    epoch: Epoch(epoch),
                    last_zxid,
                },
            );
            self.log(f).current_epoch = Epoch(epoch);
        }
        self.log(leader).lead(Epoch(epoch), true);
        self.ok(
            leader,
            Ev::Established {
                epoch: Epoch(epoch),
            },
        );
        self.ok(leader, Ev::Phase(Phase::Broadcast));
    }

    /// `leader` proposes `zxid` (correct digest); it and `loggers` log it.
    fn propose(&mut self, leader: ProcessId, zxid: Zxid, loggers: &[ProcessId]) {
        self.log(leader).append(zxid, dig(zxid));
        for &f in loggers {
            self.log(f).append(zxid, dig(zxid));
        }
        self.ok(
            leader,
            Ev::Proposed {
                zxid,
                digest: dig(zxid),
            },
        );
    }

    fn deliver(&mut self, pid: ProcessId, zxid: Zxid) {
        self.ok(
            pid,
            Ev::Delivered {
                zxid,
                digest: dig(zxid),
            },
        );
    }

    /// `leader` commits `zxid` and delivers it; so do `others`.
    fn commit(&mut self, leader: ProcessId, zxid: Zxid, others: &[ProcessId]) {
        self.ok(leader, Ev::Committed { zxid });
        self.deliver(leader, zxid);
        for &o in others {
            self.deliver(o, zxid);
        }
    }

    fn crash(&mut self, pid: ProcessId) {
        self.logs[pid.index()] = None;
        self.ok(pid, ProtocolEvent::Crashed);
    }
}

/// The history digest of the correct txns `zxids`.
fn hist(zxids: &[Zxid]) -> u64 {
    let txns: Vec<(Zxid, u64)> = zxids.iter().map(|&x| (x, dig(x))).collect();
    history_digest(&txns)
}

// ---- clean histories ---------------------------------------------------------------------

/// Three servers: election of p0 (epoch 1), commits, a proposal only p0 logged, p0 crashes,
/// p1 leads epoch 2, p0 restarts from a snapshot at (1,1), is TRUNCated (its uncommitted
/// (1,4)), DIFFed, re-delivers, and everyone delivers epoch 2.
fn clean_run(m: Monitors) -> Monitors {
    let mut r = Rig::with(m, 3);
    r.elect(p(0), 1, &[p(1), p(2)]);
    for c in 1..=3 {
        r.propose(p(0), z(1, c), &[p(1), p(2)]);
    }
    r.commit(p(0), z(1, 1), &[p(1), p(2)]);
    r.commit(p(0), z(1, 2), &[p(1), p(2)]);
    r.commit(p(0), z(1, 3), &[p(1)]); // p2 has not heard the COMMIT yet
    r.propose(p(0), z(1, 4), &[]);
    r.crash(p(0));

    r.ok(
        p(1),
        Ev::State {
            state: ServerState::Looking,
            epoch: Epoch(1),
        },
    );
    r.ok(
        p(2),
        Ev::State {
            state: ServerState::Looking,
            epoch: Epoch(1),
        },
    );
    r.elect(p(1), 2, &[p(2)]);
    r.deliver(p(2), z(1, 3));
    r.propose(p(1), z(2, 1), &[p(2)]);
    r.propose(p(1), z(2, 2), &[p(2)]);
    r.commit(p(1), z(2, 1), &[p(2)]);
    r.commit(p(1), z(2, 2), &[p(2)]);

    // p0 restarts with its durable log (1,1)..(1,4) and a snapshot at (1,1).
    r.logs[0] = Some(FakeLog::of(
        &[z(1, 1), z(1, 2), z(1, 3), z(1, 4)].map(|x| (x, dig(x))),
    ));
    r.ok(p(0), ProtocolEvent::Restarted);
    r.ok(
        p(0),
        Ev::Reset {
            upto: z(1, 1),
            history: hist(&[z(1, 1)]),
        },
    );
    r.ok(
        p(0),
        Ev::ElectionDone {
            leader: p(1),
            election_epoch: 2,
        },
    );
    let removed = r.log(p(0)).truncate_after(z(1, 3));
    assert_eq!(removed, vec![z(1, 4)]);
    r.ok(
        p(0),
        Ev::Truncated {
            after: z(1, 3),
            removed: removed.into(),
        },
    );
    r.ok(p(0), Ev::Phase(Phase::Synchronization));
    r.log(p(0)).append(z(2, 1), dig(z(2, 1)));
    r.log(p(0)).append(z(2, 2), dig(z(2, 2)));
    r.ok(
        p(0),
        Ev::Synced {
            leader: p(1),
            epoch: Epoch(2),
            last_zxid: z(2, 2),
        },
    );
    for x in [z(1, 2), z(1, 3), z(2, 1), z(2, 2)] {
        r.deliver(p(0), x);
    }
    r.propose(p(1), z(2, 3), &[p(0), p(2)]);
    r.commit(p(1), z(2, 3), &[p(0), p(2)]);
    assert_eq!(
        r.m.canonical_last(),
        (
            z(2, 3),
            hist(&[z(1, 1), z(1, 2), z(1, 3), z(2, 1), z(2, 2), z(2, 3)])
        )
    );
    r.m
}

#[test]
fn clean_three_server_history_passes() {
    let m = clean_run(Monitors::new());
    let s = m.summary();
    assert_eq!(s.established_epochs, 2);
    assert_eq!(s.max_established_epoch, Epoch(2));
    assert_eq!(s.election_decisions, 3 + 2 + 1);
    assert_eq!(s.proposals, 7);
    assert_eq!(s.commits, 6);
    assert_eq!(s.deliveries, 3 + 3 + 2 + 1 + 2 + 2 + 4 + 3);
    assert_eq!(s.canonical_txns, 6);
    assert_eq!(s.resets, 4);
    assert_eq!(s.truncations, 1);
    assert_eq!(s.truncated_txns, 1);
    assert_eq!(s.syncs, 4);
    assert_eq!(s.crashes, 1);
    assert_eq!(s.restarts, 1);
    assert_eq!(s.checks_skipped, 0, "every check was decidable");
    let f = m.footprint();
    assert_eq!(
        f.proposed_txns, 0,
        "(1,4) was pruned once the frontier passed it"
    );
    assert_eq!(f.committed_pending_txns, 0);
    assert_eq!(f.deferred_checks, 0);
    assert_eq!(f.established_epochs, 2);
    assert_eq!(f.canonical_window_txns, 6);
    let figures = s.figures();
    assert!(figures.contains(&("monitor_canonical_txns", 6)));
    assert!(figures.contains(&("monitor_commits", 6)));
}

#[test]
fn clean_history_passes_with_a_tiny_window() {
    // p0's reset point (1,1) and its re-deliveries fall below the window: its cursor
    // floats and re-anchors by cumulative digest.
    let m = clean_run(Monitors::with_window(2));
    assert_eq!(m.summary().canonical_txns, 6);
    assert_eq!(m.footprint().canonical_window_txns, 2);
    assert_eq!(m.summary().checks_skipped, 0);
}

// ---- one planted violation per monitor ---------------------------------------------------

/// Two servers establish the same epoch.
fn plant_leadership() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.elect(p(0), 1, &[p(2)]);
    r.log(p(1)).lead(Epoch(1), true);
    let v = r.expect(
        p(1),
        Ev::Established { epoch: Epoch(1) },
        LEADERSHIP,
        &[p(1), p(0)],
    );
    assert!(v.detail.contains("epoch 1"), "{v}");
    v
}

#[test]
fn leadership_two_leaders_in_one_epoch() {
    plant_leadership();
}

#[test]
fn leadership_same_leader_establishes_an_epoch_twice() {
    let mut r = Rig::new(3);
    r.elect(p(0), 1, &[p(1)]);
    r.crash(p(0));
    r.logs[0] = Some(FakeLog::default());
    r.ok(
        p(0),
        Ev::Reset {
            upto: Zxid::ZERO,
            history: 0,
        },
    );
    r.log(p(0)).lead(Epoch(1), true);
    let v = r.expect(
        p(0),
        Ev::Established { epoch: Epoch(1) },
        LEADERSHIP,
        &[p(0)],
    );
    assert!(v.detail.contains("again"), "{v}");
}

#[test]
fn leadership_one_zxid_proposed_with_two_digests() {
    let mut r = Rig::new(3);
    r.ok(
        p(0),
        Ev::Proposed {
            zxid: z(1, 1),
            digest: dig(z(1, 1)),
        },
    );
    let v = r.expect(
        p(1),
        Ev::Proposed {
            zxid: z(1, 1),
            digest: bad(z(1, 1)),
        },
        LEADERSHIP,
        &[p(1), p(0)],
    );
    assert!(v.detail.contains(&format!("{:#018x}", bad(z(1, 1)))), "{v}");
    assert!(v.detail.contains(&format!("{:#018x}", dig(z(1, 1)))), "{v}");
}

#[test]
fn leadership_proposal_reusing_a_committed_zxid() {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[]);
    r.commit(p(0), z(1, 1), &[p(1)]);
    r.expect(
        p(2),
        Ev::Proposed {
            zxid: z(1, 1),
            digest: bad(z(1, 1)),
        },
        LEADERSHIP,
        &[p(2), p(0)],
    );
}

/// p1 delivers (1,2), which the canonical history (1,1),(1,3) skipped.
fn plant_prefix_consistency() -> MonitorViolation {
    let mut r = Rig::new(3);
    for c in 1..=3 {
        r.propose(p(0), z(1, c), &[]);
    }
    r.deliver(p(0), z(1, 1));
    r.deliver(p(0), z(1, 3));
    r.deliver(p(1), z(1, 1));
    let v = r.expect(
        p(1),
        Ev::Delivered {
            zxid: z(1, 2),
            digest: dig(z(1, 2)),
        },
        PREFIX_CONSISTENCY,
        &[p(1), p(0)],
    );
    assert!(
        v.detail.contains(&z(1, 2).to_string()) && v.detail.contains(&z(1, 3).to_string()),
        "{v}"
    );
    v
}

#[test]
fn prefix_consistency_extra_txn_in_one_history() {
    plant_prefix_consistency();
}

#[test]
fn prefix_consistency_reset_to_a_foreign_history() {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[]);
    r.propose(p(0), z(1, 2), &[]);
    r.commit(p(0), z(1, 1), &[]);
    r.commit(p(0), z(1, 2), &[]);
    // The right reset passes; a snapshot whose history differs does not.
    r.ok(
        p(1),
        Ev::Reset {
            upto: z(1, 2),
            history: hist(&[z(1, 1), z(1, 2)]),
        },
    );
    let wrong = history_digest(&[(z(1, 1), bad(z(1, 1))), (z(1, 2), dig(z(1, 2)))]);
    let v = r.expect(
        p(2),
        Ev::Reset {
            upto: z(1, 2),
            history: wrong,
        },
        PREFIX_CONSISTENCY,
        &[p(2), p(0)],
    );
    assert!(v.detail.contains(&format!("{wrong:#018x}")), "{v}");
    // A reset to a point never delivered anywhere, or beyond the frontier.
    r.expect(
        p(2),
        Ev::Reset {
            upto: z(1, 9),
            history: 5,
        },
        PREFIX_CONSISTENCY,
        &[p(2)],
    );
    r.propose(p(0), z(2, 1), &[]);
    r.commit(p(0), z(2, 1), &[]);
    r.expect(
        p(1),
        Ev::Reset {
            upto: z(1, 7),
            history: 5,
        },
        PREFIX_CONSISTENCY,
        &[p(1), p(0)],
    );
    r.expect(
        p(1),
        Ev::Reset {
            upto: Zxid::ZERO,
            history: 5,
        },
        PREFIX_CONSISTENCY,
        &[p(1)],
    );
}

#[test]
fn prefix_consistency_floating_cursor_caught_at_the_window() {
    // Window of 2: p2 resets below it, then delivers a different (1,2) below the window;
    // nothing can be compared until it reaches the window's base (1,3), where its
    // cumulative digest differs.
    let mut r = Rig::with(Monitors::with_window(2), 3);
    for c in 1..=5 {
        r.propose(p(0), z(1, c), &[]);
        r.commit(p(0), z(1, c), &[]);
    }
    assert_eq!(r.m.footprint().canonical_window_txns, 2);
    r.ok(
        p(2),
        Ev::Reset {
            upto: z(1, 1),
            history: hist(&[z(1, 1)]),
        },
    );
    r.ok(
        p(2),
        Ev::Delivered {
            zxid: z(1, 2),
            digest: bad(z(1, 2)),
        },
    );
    let v = r.expect(
        p(2),
        Ev::Delivered {
            zxid: z(1, 3),
            digest: dig(z(1, 3)),
        },
        PREFIX_CONSISTENCY,
        &[p(2), p(0)],
    );
    assert!(v.detail.contains("cumulative digest"), "{v}");
}

/// p0 delivers a txn nobody proposed.
fn plant_integrity() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.elect(p(0), 1, &[p(1)]);
    r.ok(p(0), Ev::Committed { zxid: z(1, 1) });
    let v = r.expect(
        p(0),
        Ev::Delivered {
            zxid: z(1, 1),
            digest: dig(z(1, 1)),
        },
        INTEGRITY,
        &[p(0)],
    );
    assert!(v.detail.contains("no leader proposed"), "{v}");
    v
}

#[test]
fn integrity_delivered_txn_never_proposed() {
    plant_integrity();
}

#[test]
fn integrity_delivered_digest_differs_from_the_proposal() {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(1)]);
    let v = r.expect(
        p(1),
        Ev::Delivered {
            zxid: z(1, 1),
            digest: bad(z(1, 1)),
        },
        INTEGRITY,
        &[p(1), p(0)],
    );
    assert!(v.detail.contains(&format!("{:#018x}", bad(z(1, 1)))), "{v}");
}

/// p1 delivers a different txn under the zxid p0 delivered.
fn plant_agreement() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(1)]);
    r.commit(p(0), z(1, 1), &[]);
    let v = r.expect(
        p(1),
        Ev::Delivered {
            zxid: z(1, 1),
            digest: bad(z(1, 1)),
        },
        AGREEMENT,
        &[p(1), p(0)],
    );
    assert!(v.detail.contains(&format!("{:#018x}", dig(z(1, 1)))), "{v}");
    assert!(v.detail.contains(&format!("{:#018x}", bad(z(1, 1)))), "{v}");
    v
}

#[test]
fn agreement_two_servers_deliver_different_digests_at_one_position() {
    plant_agreement();
}

/// p1 delivers (1,2) without (1,1), which p0 delivered before it.
fn plant_total_order() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(1)]);
    r.propose(p(0), z(1, 2), &[p(1)]);
    r.commit(p(0), z(1, 1), &[]);
    r.commit(p(0), z(1, 2), &[]);
    let v = r.expect(
        p(1),
        Ev::Delivered {
            zxid: z(1, 2),
            digest: dig(z(1, 2)),
        },
        TOTAL_ORDER,
        &[p(1), p(0)],
    );
    assert!(v.detail.contains(&format!("missing {}", z(1, 1))), "{v}");
    v
}

#[test]
fn total_order_a_server_skips_a_delivered_txn() {
    plant_total_order();
}

#[test]
fn total_order_floating_server_skips_the_window_base() {
    let mut r = Rig::with(Monitors::with_window(1), 3);
    for c in 1..=3 {
        r.propose(p(0), z(1, c), &[]);
        r.commit(p(0), z(1, c), &[]);
    }
    // Base (1,2), window (1,3). p1 floats at (1,1) and jumps to (1,3).
    r.ok(
        p(1),
        Ev::Reset {
            upto: z(1, 1),
            history: hist(&[z(1, 1)]),
        },
    );
    r.expect(
        p(1),
        Ev::Delivered {
            zxid: z(1, 3),
            digest: dig(z(1, 3)),
        },
        TOTAL_ORDER,
        &[p(1), p(0)],
    );
}

/// p1 delivers (1,2) and then (1,1).
fn plant_local_primary_order() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(1)]);
    r.propose(p(0), z(1, 2), &[p(1)]);
    r.deliver(p(1), z(1, 2));
    let v = r.expect(
        p(1),
        Ev::Delivered {
            zxid: z(1, 1),
            digest: dig(z(1, 1)),
        },
        LOCAL_PRIMARY_ORDER,
        &[p(1)],
    );
    assert!(v.detail.contains("out of zxid order"), "{v}");
    v
}

#[test]
fn local_primary_order_delivery_out_of_zxid_order() {
    plant_local_primary_order();
}

#[test]
fn local_primary_order_delivered_twice_and_proposals_out_of_order() {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[]);
    r.commit(p(0), z(1, 1), &[]);
    let v = r.expect(
        p(0),
        Ev::Delivered {
            zxid: z(1, 1),
            digest: dig(z(1, 1)),
        },
        LOCAL_PRIMARY_ORDER,
        &[p(0)],
    );
    assert!(v.detail.contains("twice"), "{v}");
    r.ok(
        p(1),
        Ev::Proposed {
            zxid: z(1, 3),
            digest: dig(z(1, 3)),
        },
    );
    r.expect(
        p(1),
        Ev::Proposed {
            zxid: z(1, 2),
            digest: dig(z(1, 2)),
        },
        LOCAL_PRIMARY_ORDER,
        &[p(1)],
    );
}

/// p1 delivers an epoch-2 txn and then an epoch-1 txn.
fn plant_global_primary_order() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(1)]);
    r.propose(p(2), z(2, 1), &[p(1)]);
    r.deliver(p(1), z(2, 1));
    let v = r.expect(
        p(1),
        Ev::Delivered {
            zxid: z(1, 1),
            digest: dig(z(1, 1)),
        },
        GLOBAL_PRIMARY_ORDER,
        &[p(1)],
    );
    assert!(v.detail.contains(&z(2, 1).to_string()), "{v}");
    v
}

#[test]
fn global_primary_order_older_epoch_after_newer() {
    plant_global_primary_order();
}

/// p1 leads epoch 2 (its log is complete) but proposes before delivering (1,2).
fn plant_primary_integrity() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(1)]);
    r.propose(p(0), z(1, 2), &[p(1)]);
    r.commit(p(0), z(1, 1), &[p(1)]);
    r.commit(p(0), z(1, 2), &[]);
    r.crash(p(0));
    r.elect(p(1), 2, &[p(2)]);
    r.log(p(1)).append(z(2, 1), dig(z(2, 1)));
    let v = r.expect(
        p(1),
        Ev::Proposed {
            zxid: z(2, 1),
            digest: dig(z(2, 1)),
        },
        PRIMARY_INTEGRITY,
        &[p(1), p(0)],
    );
    assert!(
        v.detail.contains(&z(1, 2).to_string()) && v.detail.contains(&z(1, 1).to_string()),
        "{v}"
    );
    v
}

#[test]
fn primary_integrity_leader_proposes_before_delivering_an_older_epoch_txn() {
    plant_primary_integrity();
}

/// p2's TRUNC removes (1,2), which p0 delivered.
fn plant_committed_log_durability() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(2)]);
    r.propose(p(0), z(1, 2), &[p(2)]);
    r.commit(p(0), z(1, 1), &[]);
    r.commit(p(0), z(1, 2), &[]);
    let removed = r.log(p(2)).truncate_after(z(1, 1));
    let v = r.expect(
        p(2),
        Ev::Truncated {
            after: z(1, 1),
            removed: removed.into(),
        },
        COMMITTED_LOG_DURABILITY,
        &[p(2), p(0)],
    );
    assert!(v.detail.contains(&z(1, 2).to_string()), "{v}");
    v
}

#[test]
fn committed_log_durability_trunc_removes_a_delivered_txn() {
    plant_committed_log_durability();
}

#[test]
fn committed_log_durability_trunc_removes_a_committed_undelivered_txn() {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(1)]);
    r.propose(p(0), z(1, 2), &[p(1)]);
    r.ok(p(0), Ev::Committed { zxid: z(1, 1) });
    // Uncommitted (1,2) may be cut; committed-but-undelivered (1,1) may not.
    r.ok(
        p(1),
        Ev::Truncated {
            after: z(1, 1),
            removed: vec![z(1, 2)].into(),
        },
    );
    let v = r.expect(
        p(1),
        Ev::Truncated {
            after: Zxid::ZERO,
            removed: vec![z(1, 1)].into(),
        },
        COMMITTED_LOG_DURABILITY,
        &[p(1), p(0)],
    );
    assert!(v.detail.contains("committed by leader p0"), "{v}");
}

#[test]
fn committed_log_durability_below_the_window_uses_epoch_spans() {
    let mut r = Rig::with(Monitors::with_window(1), 3);
    for c in 1..=4 {
        r.propose(p(0), z(1, c), &[]);
        r.commit(p(0), z(1, c), &[]);
    }
    // (1,1) and (1,2) are trimmed into a contiguous span; (1,5) never committed.
    r.ok(
        p(1),
        Ev::Truncated {
            after: z(1, 4),
            removed: vec![z(1, 5)].into(),
        },
    );
    r.expect(
        p(1),
        Ev::Truncated {
            after: Zxid::ZERO,
            removed: vec![z(1, 1)].into(),
        },
        COMMITTED_LOG_DURABILITY,
        &[p(1)],
    );
    assert_eq!(r.m.summary().checks_skipped, 0);
}

/// p1 becomes leader of epoch 2 without (1,2), which p0 committed and delivered.
fn plant_leader_log_completeness() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(1), p(2)]);
    r.propose(p(0), z(1, 2), &[p(2)]);
    r.commit(p(0), z(1, 1), &[p(1), p(2)]);
    r.commit(p(0), z(1, 2), &[p(2)]);
    r.crash(p(0));
    r.log(p(1)).lead(Epoch(2), true);
    let v = r.expect(
        p(1),
        Ev::Established { epoch: Epoch(2) },
        LEADER_LOG_COMPLETENESS,
        &[p(1), p(0)],
    );
    assert!(
        v.detail.contains(&z(1, 2).to_string()) && v.detail.contains(&z(1, 1).to_string()),
        "{v}"
    );
    v
}

#[test]
fn leader_log_completeness_new_leader_misses_a_committed_txn() {
    plant_leader_log_completeness();
}

#[test]
fn leader_log_completeness_new_leader_holds_a_different_committed_txn() {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(2)]);
    r.propose(p(0), z(1, 2), &[p(2)]);
    r.commit(p(0), z(1, 1), &[p(2)]);
    r.commit(p(0), z(1, 2), &[p(2)]);
    r.logs[1] = Some(FakeLog::of(&[
        (z(1, 1), bad(z(1, 1))),
        (z(1, 2), dig(z(1, 2))),
    ]));
    r.log(p(1)).lead(Epoch(2), true);
    let v = r.expect(
        p(1),
        Ev::Established { epoch: Epoch(2) },
        LEADER_LOG_COMPLETENESS,
        &[p(1), p(0)],
    );
    assert!(v.detail.contains("cumulative digest"), "{v}");
}

#[test]
fn leader_log_completeness_committed_undelivered_txn_missing() {
    let mut r = Rig::new(3);
    r.propose(p(0), z(1, 1), &[p(1)]);
    r.propose(p(0), z(1, 2), &[]);
    r.commit(p(0), z(1, 1), &[p(1)]);
    r.ok(p(0), Ev::Committed { zxid: z(1, 2) });
    r.log(p(1)).lead(Epoch(2), true);
    let v = r.expect(
        p(1),
        Ev::Established { epoch: Epoch(2) },
        LEADER_LOG_COMPLETENESS,
        &[p(1), p(0)],
    );
    assert!(v.detail.contains("committed (by p0)"), "{v}");
}

/// p2 synced with leader p1 but its log differs at (1,2).
fn plant_process_consistency() -> MonitorViolation {
    let mut r = Rig::new(3);
    r.logs[1] = Some(FakeLog::of(&[
        (z(1, 1), dig(z(1, 1))),
        (z(1, 2), dig(z(1, 2))),
    ]));
    r.logs[2] = Some(FakeLog::of(&[
        (z(1, 1), dig(z(1, 1))),
        (z(1, 2), bad(z(1, 2))),
    ]));
    r.log(p(1)).lead(Epoch(2), false);
    let ev = Ev::Synced {
        leader: p(1),
        epoch: Epoch(2),
        last_zxid: z(1, 2),
    };
    let v = r.expect(p(2), ev, PROCESS_CONSISTENCY, &[p(2), p(1)]);
    assert!(
        v.detail.contains("cumulative digest") && v.detail.contains("epoch 2"),
        "{v}"
    );
    v
}

#[test]
fn process_consistency_synced_follower_differs_from_its_leader() {
    plant_process_consistency();
}

#[test]
fn process_consistency_follower_log_beyond_its_leader() {
    let mut r = Rig::new(3);
    r.logs[1] = Some(FakeLog::of(&[(z(1, 1), dig(z(1, 1)))]));
    r.logs[2] = Some(FakeLog::of(&[
        (z(1, 1), dig(z(1, 1))),
        (z(1, 2), dig(z(1, 2))),
    ]));
    r.log(p(1)).lead(Epoch(2), true);
    let ev = Ev::Synced {
        leader: p(1),
        epoch: Epoch(2),
        last_zxid: z(1, 2),
    };
    let v = r.expect(p(2), ev, PROCESS_CONSISTENCY, &[p(2), p(1)]);
    assert!(v.detail.contains("beyond"), "{v}");
}

#[test]
fn every_monitor_can_fail() {
    let plants: [fn() -> MonitorViolation; 11] = [
        plant_leadership,
        plant_prefix_consistency,
        plant_integrity,
        plant_agreement,
        plant_total_order,
        plant_local_primary_order,
        plant_global_primary_order,
        plant_primary_integrity,
        plant_committed_log_durability,
        plant_leader_log_completeness,
        plant_process_consistency,
    ];
    let reported: Vec<&str> = plants.iter().map(|f| f().monitor).collect();
    assert_eq!(
        reported,
        MONITOR_NAMES.to_vec(),
        "one plant per monitor, in table order"
    );
    let distinct: BTreeSet<&str> = reported.iter().copied().collect();
    assert_eq!(distinct.len(), 11);
}

// ---- the simulator's path, skipped checks, bounds --------------------------------------

#[test]
fn state_checks_wait_for_after_event() {
    let mut m = Monitors::new();
    let t = Time::from_ms(1);
    let proposal = Ev::Proposed {
        zxid: z(1, 1),
        digest: dig(z(1, 1)),
    };
    m.on_note(t, p(0), &proposal.clone().into()).unwrap();
    m.on_note(t, p(0), &Ev::Committed { zxid: z(1, 1) }.into())
        .unwrap();
    m.on_note(
        t,
        p(0),
        &Ev::Delivered {
            zxid: z(1, 1),
            digest: dig(z(1, 1)),
        }
        .into(),
    )
    .unwrap();
    // p1 establishes epoch 2 with an empty log: only after_event can see that.
    m.on_note(t, p(1), &Ev::Established { epoch: Epoch(2) }.into())
        .unwrap();
    assert_eq!(m.footprint().deferred_checks, 1);
    let mut empty = FakeLog::default();
    empty.lead(Epoch(2), true);
    let v = m
        .after_event(t, |q: ProcessId| (q == p(1)).then_some(&empty))
        .expect_err("the leader lacks committed (1,1)");
    assert_eq!(v.monitor, LEADER_LOG_COMPLETENESS);
    assert_eq!(v.processes, vec![p(1), p(0)]);
    assert_eq!(m.footprint().deferred_checks, 0);
}

#[test]
fn undecidable_state_checks_are_skipped_and_counted() {
    let mut r = Rig::new(3);
    // Leader p1 is down when p2's Synced is checked; leader p0 no longer leads epoch 3.
    r.logs[1] = None;
    r.ok(
        p(2),
        Ev::Synced {
            leader: p(1),
            epoch: Epoch(2),
            last_zxid: Zxid::ZERO,
        },
    );
    r.log(p(0)).lead(Epoch(4), true);
    r.ok(
        p(2),
        Ev::Synced {
            leader: p(0),
            epoch: Epoch(3),
            last_zxid: Zxid::ZERO,
        },
    );
    // An Established whose leader already stepped down by the end of the event.
    r.log(p(0)).established = false;
    r.ok(p(0), Ev::Established { epoch: Epoch(4) });
    assert_eq!(r.m.summary().checks_skipped, 3);
}

#[test]
fn chain_digest_mirrors_zab() {
    let h1 = chain_digest(0, z(1, 1), 7);
    assert_eq!(h1, hash_words(&[0, z(1, 1).0, 7]));
    assert_eq!(
        chain_digest(h1, z(1, 2), 9),
        hash_words(&[h1, z(1, 2).0, 9])
    );
    assert_eq!(
        history_digest(&[(z(1, 1), 7), (z(1, 2), 9)]),
        chain_digest(h1, z(1, 2), 9)
    );
    assert_eq!(history_digest(&[]), 0);
}

#[test]
fn long_runs_keep_collections_bounded() {
    // 3 servers, 40 epochs of 2,000 txns each; a window of 1,000.
    let window_txns = 1_000;
    let mut m = Monitors::with_window(window_txns);
    let mut now = Time::ZERO;
    let none = |_: ProcessId| None::<&FakeLog>;
    for e in 1..=40u32 {
        let leader = p(e % 3);
        now = now.plus_ns(NS_PER_MS);
        m.on_note(now, leader, &Ev::Established { epoch: Epoch(e) }.into())
            .unwrap();
        m.after_event(now, none).unwrap();
        for c in 1..=2_000u32 {
            let zxid = z(e, c);
            m.on_note(
                now,
                leader,
                &Ev::Proposed {
                    zxid,
                    digest: dig(zxid),
                }
                .into(),
            )
            .unwrap();
            m.on_note(now, leader, &Ev::Committed { zxid }.into())
                .unwrap();
            for s in 0..3 {
                m.on_note(
                    now,
                    p(s),
                    &Ev::Delivered {
                        zxid,
                        digest: dig(zxid),
                    }
                    .into(),
                )
                .unwrap();
            }
        }
    }
    let s = m.summary();
    assert_eq!(s.canonical_txns, 80_000);
    assert_eq!(s.deliveries, 240_000);
    assert_eq!(
        s.checks_skipped, 40,
        "the Established checks found no server view"
    );
    let f = m.footprint();
    assert_eq!(f.canonical_window_txns, window_txns);
    assert_eq!(f.proposed_txns, 0);
    assert_eq!(f.committed_pending_txns, 0);
    assert_eq!(m.canonical_last().0, z(40, 2_000));
}
