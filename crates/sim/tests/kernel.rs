//! Acceptance tests of the simulation kernel: determinism over many seeds (and threads), a
//! fault schedule that does not depend on the workload, and — with small hand-written
//! processes driving `kernel::sim::Sim` directly — that every fault model (loss,
//! partitions, crash and torn writes, drift and clock jumps, pause, CPU, duplication and
//! FIFO) and every verdict (budget, liveness, safety) does what it says, at fixed seeds.

use kernel::disk::DiskConfig;
use kernel::dist::{Latency, Probability};
use kernel::fault::{Fault, Scheduled, Target};
use kernel::network::{LinkConfig, NetworkConfig, Transport};
use kernel::observe::{Observer, Procs, Progress, Verdict, Violation};
use kernel::sim::{Factory, KernelConfig, LIVENESS_PROBE_NS, Outcome, Sim};
use proto::{
    Ctx, Message, NS_PER_MS, NS_PER_US, OutboxOf, Process, ProcessId, Recovered, Time, TimerId,
    WriteId,
};
use sim::scenario::{self, Loaded};
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------------------------------
// A small test process and an observer that records every note with its global time.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct Msg {
    kind: usize,
    /// Per-sender message counter.
    seq: u64,
    /// The sender's round (chatter) or 0.
    round: u64,
    /// The sender's monotonic clock when it sent the message.
    sent_at: Time,
}

const DATA: usize = 0;
const FREE: usize = 1;

impl Message for Msg {
    const KINDS: &'static [&'static str] = &["DATA", "FREE"];
    fn kind(&self) -> usize {
        self.kind
    }
    fn size_bytes(&self) -> u32 {
        64
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Note {
    Started {
        records: Vec<u64>,
        torn: bool,
    },
    Got {
        from: ProcessId,
        seq: u64,
        round: u64,
        kind: usize,
        sent_at: Time,
    },
    Fired {
        timer: u64,
        mono: Time,
        wall: Time,
    },
    Synced {
        write: u64,
    },
}

#[derive(Clone, Debug)]
enum Role {
    /// Only receives (every role notes what it receives).
    Sink,
    /// On start, sends `count` messages of `kind` to `to` at once.
    Burst {
        to: ProcessId,
        kind: usize,
        count: u64,
    },
    /// Round `r` happens at local time `first_ns + r·every_ns`, for `rounds` rounds; each
    /// round sends `per_round` messages to each peer.
    Chatter {
        peers: Vec<ProcessId>,
        first_ns: u64,
        every_ns: u64,
        rounds: u64,
        per_round: u64,
    },
    /// On start, sets these timers (id, monotonic time); notes each one that fires.
    Timers(Vec<(u64, Time)>),
    /// On start, sets these wall-clock timers (id, wall time); notes each one that fires.
    WallTimers(Vec<(u64, Time)>),
    /// On start, sets these timers (id, time, wall clock?) in order.
    Mixed(Vec<(u64, Time, bool)>),
    /// The disk script (see `on_start`/`on_disk_done` below).
    Disk,
    /// Round `r` (at local `first_ns + r·every_ns`) appends record `r` and issues fsync `r`.
    Syncer {
        first_ns: u64,
        every_ns: u64,
        rounds: u64,
    },
}

const ROUND_TIMER: TimerId = TimerId(1);
const APPEND_LATE_TIMER: TimerId = TimerId(2);
const NEVER_TIMER: TimerId = TimerId(99);

struct Actor {
    role: Role,
    leader: bool,
    round: u64,
    sent: u64,
}

impl Actor {
    fn round_at(&self) -> Option<Time> {
        match &self.role {
            Role::Chatter {
                first_ns,
                every_ns,
                rounds,
                ..
            }
            | Role::Syncer {
                first_ns,
                every_ns,
                rounds,
            } if self.round < *rounds => Some(Time(first_ns + self.round * every_ns)),
            _ => None,
        }
    }
}

impl Process for Actor {
    type Msg = Msg;
    type Record = u64;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, disk: Recovered<'_, u64>, out: &mut OutboxOf<Self>) {
        out.note(Note::Started {
            records: disk.records.to_vec(),
            torn: disk.torn_tail,
        });
        match &self.role {
            Role::Sink => {}
            Role::Burst { to, kind, count } => {
                for seq in 0..*count {
                    out.send(
                        *to,
                        Msg {
                            kind: *kind,
                            seq,
                            round: 0,
                            sent_at: ctx.mono,
                        },
                    );
                }
            }
            Role::Chatter { .. } | Role::Syncer { .. } => {
                if let Some(at) = self.round_at() {
                    out.set_timer(ROUND_TIMER, at);
                }
            }
            Role::Timers(list) => {
                for &(id, at) in list {
                    out.set_timer(TimerId(id), at);
                }
            }
            Role::WallTimers(list) => {
                for &(id, at) in list {
                    out.set_wall_timer(TimerId(id), at);
                }
            }
            Role::Mixed(list) => {
                for &(id, at, wall) in list {
                    if wall {
                        out.set_wall_timer(TimerId(id), at);
                    } else {
                        out.set_timer(TimerId(id), at);
                    }
                }
            }
            Role::Disk => {
                // First boot only: records 1..=5 fsynced (write 1); then 6..=8 fsynced
                // (write 2) with 9, 10 appended after that fsync was issued; then 11..=13;
                // at 9.95 ms record 14 and an fsync that completes after the crash.
                if disk.records.is_empty() {
                    for r in 1..=5 {
                        out.append(r);
                    }
                    out.fsync(WriteId(1));
                    out.set_timer(APPEND_LATE_TIMER, Time(9_950 * NS_PER_US));
                    out.set_timer(NEVER_TIMER, Time(20 * NS_PER_MS));
                }
            }
        }
    }

    fn on_message(&mut self, _ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut OutboxOf<Self>) {
        out.note(Note::Got {
            from,
            seq: msg.seq,
            round: msg.round,
            kind: msg.kind,
            sent_at: msg.sent_at,
        });
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut OutboxOf<Self>) {
        match (&self.role, timer) {
            (
                Role::Chatter {
                    peers, per_round, ..
                },
                ROUND_TIMER,
            ) => {
                for &to in peers {
                    for _ in 0..*per_round {
                        out.send(
                            to,
                            Msg {
                                kind: DATA,
                                seq: self.sent,
                                round: self.round,
                                sent_at: ctx.mono,
                            },
                        );
                        self.sent += 1;
                    }
                }
                self.round += 1;
                if let Some(at) = self.round_at() {
                    out.set_timer(ROUND_TIMER, at);
                }
            }
            (Role::Syncer { .. }, ROUND_TIMER) => {
                out.append(self.round);
                out.fsync(WriteId(self.round));
                self.round += 1;
                if let Some(at) = self.round_at() {
                    out.set_timer(ROUND_TIMER, at);
                }
            }
            (Role::Disk, APPEND_LATE_TIMER) => {
                out.append(14);
                out.fsync(WriteId(3));
            }
            _ => out.note(Note::Fired {
                timer: timer.0,
                mono: ctx.mono,
                wall: ctx.wall,
            }),
        }
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, write: WriteId, out: &mut OutboxOf<Self>) {
        out.note(Note::Synced { write: write.0 });
        if let Role::Disk = self.role {
            match write.0 {
                1 => {
                    for r in 6..=8 {
                        out.append(r);
                    }
                    out.fsync(WriteId(2));
                    out.append(9);
                    out.append(10);
                }
                2 => {
                    for r in 11..=13 {
                        out.append(r);
                    }
                }
                _ => {}
            }
        }
    }
}

type Noted = Vec<(Time, ProcessId, Note)>;

#[derive(Default)]
struct Recorder {
    notes: Noted,
    /// Keep the liveness phase going until this global time (default: done at once).
    hold_until: Option<Time>,
}

impl Observer<Actor> for Recorder {
    fn leads(&self, pid: ProcessId, procs: &dyn Procs<Actor>) -> bool {
        procs.get(pid).is_some_and(|a| a.leader)
    }
    fn on_note(&mut self, now: Time, pid: ProcessId, note: Note) -> Result<(), Violation> {
        self.notes.push((now, pid, note));
        Ok(())
    }
    fn liveness(&mut self, now: Time, _procs: &dyn Procs<Actor>) -> Progress {
        match self.hold_until {
            Some(t) if now < t => Progress::Waiting(Violation {
                check: "Hold".into(),
                processes: vec![],
                detail: "holding".into(),
            }),
            _ => Progress::Done,
        }
    }
}

fn ms(n: u64) -> Time {
    Time::from_ms(n)
}

fn p(i: u32) -> ProcessId {
    ProcessId(i)
}

/// A quiet kernel: tcp, 1 ms constant latency, 100 µs fsyncs, free CPU, no drift, no
/// faults, a 2 s safety phase and a 1 s liveness phase.
fn config(n: u32) -> KernelConfig {
    KernelConfig {
        seed: 1,
        process_count: n,
        targets: (0..n).map(ProcessId).collect(),
        network: NetworkConfig {
            latency: Latency::Constant { us: 1_000 },
            ..Default::default()
        },
        disk: DiskConfig {
            fsync: Latency::Constant { us: 100 },
        },
        cpu_cost_ns: vec![0; Msg::KINDS.len()],
        drift_ppm: vec![0; n as usize],
        schedule: Vec::new(),
        safety_ns: 2_000 * NS_PER_MS,
        liveness_ns: 1_000 * NS_PER_MS,
        events_max: 10_000_000,
        queue_max: 1_000_000,
    }
}

fn factory(roles: Vec<Role>, leaders: Vec<u32>) -> Factory<Actor> {
    assert!(!roles.is_empty());
    Box::new(move |pid| Actor {
        role: roles[pid.index()].clone(),
        leader: leaders.contains(&pid.0),
        round: 0,
        sent: 0,
    })
}

fn run_with(config: KernelConfig, roles: Vec<Role>, observer: &mut dyn Observer<Actor>) -> Outcome {
    assert_eq!(roles.len(), config.process_count as usize);
    Sim::new(config, factory(roles, Vec::new())).run(observer)
}

fn run(config: KernelConfig, roles: Vec<Role>) -> (Outcome, Noted) {
    let mut rec = Recorder::default();
    let outcome = run_with(config, roles, &mut rec);
    (outcome, rec.notes)
}

fn at(at_ms: u64, fault: Fault) -> Scheduled {
    Scheduled { at_ms, fault }
}

/// One `Got` note.
#[derive(Clone, Debug)]
struct Delivery {
    /// Global time of the handling.
    at: Time,
    to: ProcessId,
    from: ProcessId,
    seq: u64,
    round: u64,
    sent_at: Time,
}

/// Every `Got` note, in handling order.
fn received(notes: &Noted) -> Vec<Delivery> {
    notes
        .iter()
        .filter_map(|(t, to, n)| match n {
            Note::Got {
                from,
                seq,
                round,
                sent_at,
                ..
            } => Some(Delivery {
                at: *t,
                to: *to,
                from: *from,
                seq: *seq,
                round: *round,
                sent_at: *sent_at,
            }),
            _ => None,
        })
        .collect()
}

/// (sender, message counter) → deliveries; sender → message counters in delivery order.
type Deliveries = (
    BTreeMap<(ProcessId, u64), u32>,
    BTreeMap<ProcessId, Vec<u64>>,
);

fn chatter(peers: &[u32], first_ns: u64, every_ns: u64, rounds: u64, per_round: u64) -> Role {
    Role::Chatter {
        peers: peers.iter().map(|&i| p(i)).collect(),
        first_ns,
        every_ns,
        rounds,
        per_round,
    }
}

// ---------------------------------------------------------------------------------------
// 1. Determinism, 2. workload independence of the fault schedule (whole scenarios).
// ---------------------------------------------------------------------------------------

fn scenario_path(name: &str) -> String {
    format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// probe-script.toml with random faults on top of its script (every fault kind, fast).
fn faulty_probe_script(extra: &[&str]) -> Loaded {
    let mut overrides: Vec<String> = [
        "nemesis.random=true",
        "nemesis.interval_ms=400",
        "nemesis.duration_ms_min=50",
        "nemesis.duration_ms_max=1000",
        "run.liveness_ms=1000",
        "network.bandwidth_mbit_s=100",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    overrides.extend(extra.iter().map(|s| s.to_string()));
    scenario::load_file(&scenario_path("probe-script.toml"), &overrides)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn hashes(loaded: &Loaded, seeds: std::ops::Range<u64>) -> Vec<u64> {
    seeds
        .map(|seed| {
            sim::run::run(loaded, seed)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
                .outcome
                .trace_hash
        })
        .collect()
}

/// The same seeds run on `threads` threads, results in seed order. Each thread runs whole,
/// independent simulations (as `zabsim fuzz --jobs` does); no run is shared between threads,
/// so scheduling cannot shape any run — which is what the test checks.
fn hashes_threaded(loaded: &Loaded, seeds: std::ops::Range<u64>, threads: u64) -> Vec<u64> {
    let per = (seeds.end - seeds.start).div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let lo = (seeds.start + i * per).min(seeds.end);
                let hi = (lo + per).min(seeds.end);
                s.spawn(move || hashes(loaded, lo..hi))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a run panicked"))
            .collect()
    })
}

#[test]
fn determinism_200_faulty_seeds_twice_and_across_threads() {
    let loaded = faulty_probe_script(&[]);
    let first = hashes(&loaded, 0..200);
    let again = hashes_threaded(&loaded, 0..200, 2);
    assert_eq!(first, again, "a seed's trace hash changed between runs");
    let distinct: BTreeSet<u64> = first.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        200,
        "different seeds gave equal trace hashes"
    );

    // The runs really were faulty: random faults on top of the script, crashes, drops.
    let mut crashes = 0;
    let mut applied = 0;
    let mut dropped = 0;
    for seed in 0..20 {
        let r = sim::run::run(&loaded, seed).unwrap();
        crashes += r.outcome.stats.crashes;
        applied += r.outcome.faults.len();
        dropped += r.outcome.stats.network.dropped_partition + r.outcome.stats.network.dropped_loss;
        assert!(
            r.schedule.len() > 12,
            "seed {seed}: no random faults on top of the script"
        );
    }
    assert!(
        crashes > 40 && applied > 20 * 12 && dropped > 0,
        "crashes {crashes} applied {applied} dropped {dropped}"
    );
}

#[test]
fn determinism_probe_scenario_shortened() {
    let overrides: Vec<String> = [
        "run.safety_ms=3000",
        "run.liveness_ms=2000",
        "nemesis.interval_ms=300",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let loaded = scenario::load_file(&scenario_path("probe.toml"), &overrides)
        .unwrap_or_else(|e| panic!("{e}"));
    let first = hashes(&loaded, 1_000..1_040);
    let again = hashes(&loaded, 1_000..1_040);
    assert_eq!(first, again);
    assert_eq!(first.iter().collect::<BTreeSet<_>>().len(), 40);
}

#[test]
fn determinism_with_set_overrides_loaded_twice() {
    let extra = [
        "network.loss=0.05",
        "network.transport=datagram",
        "nemesis.interval_ms=150",
        "clock.drift_ppm_max=5000",
    ];
    let a = faulty_probe_script(&extra);
    let b = faulty_probe_script(&extra);
    assert_eq!(a.scenario, b.scenario);
    let plain = faulty_probe_script(&[]);
    for seed in [0, 42, 0xdead_beef] {
        let ha = sim::run::run(&a, seed).unwrap().outcome.trace_hash;
        let hb = sim::run::run(&b, seed).unwrap().outcome.trace_hash;
        assert_eq!(ha, hb, "seed {seed}: same overrides, different hash");
        assert_ne!(
            ha,
            sim::run::run(&plain, seed).unwrap().outcome.trace_hash,
            "the overrides changed nothing"
        );
    }
}

#[test]
fn changing_only_the_workload_keeps_the_fault_schedule() {
    let base = faulty_probe_script(&[]);
    let other = faulty_probe_script(&["workload.interval_ms=7", "workload.payload_bytes=4000"]);
    let payload_only = faulty_probe_script(&["workload.payload_bytes=4000"]);
    for seed in 0..30 {
        let (ka, _) = sim::run::kernel_config(&base, seed).unwrap();
        let (kb, _) = sim::run::kernel_config(&other, seed).unwrap();
        assert_eq!(
            ka.drift_ppm, kb.drift_ppm,
            "seed {seed}: initial drifts moved"
        );
        let a = sim::run::run(&base, seed).unwrap();
        let b = sim::run::run(&other, seed).unwrap();
        let c = sim::run::run(&payload_only, seed).unwrap();
        assert!(!a.schedule.is_empty());
        assert_eq!(
            a.schedule, b.schedule,
            "seed {seed}: schedule moved with the workload"
        );
        assert_eq!(a.schedule, c.schedule);
        assert_eq!(a.swarm, b.swarm);
        // The faults as applied: times, kinds, parameters, durations and the processes hit.
        assert_eq!(
            a.outcome.faults, b.outcome.faults,
            "seed {seed}: applied faults moved"
        );
        assert_eq!(a.outcome.faults, c.outcome.faults);
        assert_eq!(a.outcome.faults.len(), a.schedule.len());
        assert_ne!(
            a.outcome.trace_hash, b.outcome.trace_hash,
            "seed {seed}: the workload change did nothing"
        );
        assert_ne!(
            a.outcome.trace_hash, c.outcome.trace_hash,
            "seed {seed}: the payload change did nothing"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 3. Fault models, at the kernel level.
// ---------------------------------------------------------------------------------------

#[test]
fn datagram_loss_rate_within_bounds_over_100k_deliveries() {
    // p0 sends 100 messages per ms to p1 (10% loss) and to p2 (a link override: 50%).
    let mut c = config(3);
    c.network.transport = Transport::Datagram;
    c.network.loss = Probability::from_ppm(100_000);
    c.network.link = vec![LinkConfig {
        from: 0,
        to: 2,
        latency: None,
        loss: Some(Probability::from_ppm(500_000)),
    }];
    let roles = vec![
        chatter(&[1, 2], 500 * NS_PER_US, NS_PER_MS, 1_000, 100),
        Role::Sink,
        Role::Sink,
    ];
    let (o, notes) = run(c, roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let got = received(&notes);
    let to1 = got.iter().filter(|g| g.to == p(1)).count() as u64;
    let to2 = got.iter().filter(|g| g.to == p(2)).count() as u64;
    // Binomial(100k, 0.9): sd ≈ 95; Binomial(100k, 0.5): sd ≈ 158; ±6 sd.
    assert!((89_430..=90_570).contains(&to1), "p1 got {to1} of 100000");
    assert!((49_050..=50_950).contains(&to2), "p2 got {to2} of 100000");
    let n = &o.stats.network;
    assert_eq!(n.sent, 200_000);
    assert_eq!(n.delivered, to1 + to2);
    assert_eq!(n.dropped_loss + n.delivered, 200_000);
    assert_eq!(n.duplicated, 0);
    // No message arrives twice.
    let distinct: BTreeSet<(ProcessId, u64)> = got.iter().map(|g| (g.to, g.seq)).collect();
    assert_eq!(distinct.len(), got.len());
}

#[test]
fn loss_fault_drops_only_inside_its_window() {
    // 100 messages per ms from p0 to p1 for 600 ms; a 50% loss fault in [200, 400) ms.
    let mut c = config(2);
    c.network.transport = Transport::Datagram;
    c.schedule = vec![at(
        200,
        Fault::Loss {
            rate: Probability::from_ppm(500_000),
            duration_ms: 200,
        },
    )];
    let roles = vec![
        chatter(&[1], 500 * NS_PER_US, NS_PER_MS, 600, 100),
        Role::Sink,
    ];
    let (o, notes) = run(c, roles);
    let got = received(&notes);
    let inside = |t: Time| (ms(200)..ms(400)).contains(&t);
    let got_inside = got.iter().filter(|g| inside(g.sent_at)).count();
    let got_outside = got.iter().filter(|g| !inside(g.sent_at)).count();
    assert_eq!(got_outside, 40_000, "loss outside the fault's window");
    // Binomial(20k, 0.5): sd ≈ 71; ±6 sd.
    assert!(
        (9_576..=10_424).contains(&got_inside),
        "{got_inside} of 20000 inside the window"
    );
    assert_eq!(o.faults.len(), 1);
    assert_eq!(
        (o.faults[0].at_ns, o.faults[0].until_ns),
        (ms(200).ns(), Some(ms(400).ns()))
    );
}

/// The directed links each window's partition must cut, written out by hand.
fn expected_cuts() -> Vec<(u64, Vec<(u32, u32)>)> {
    let both = |pairs: &[(u32, u32)]| {
        pairs
            .iter()
            .flat_map(|&(a, b)| [(a, b), (b, a)])
            .collect::<Vec<_>>()
    };
    let cross = |x: &[u32], y: &[u32]| {
        let mut v = Vec::new();
        for &a in x {
            for &b in y {
                v.push((a, b));
            }
        }
        v
    };
    vec![
        // one-way: 0 → {1, 2} cut; 1 → 0 and 2 → 0 still flow.
        (100, vec![(0, 1), (0, 2)]),
        // halves {0, 1} | {2, 3, 4}.
        (300, both(&cross(&[0, 1], &[2, 3, 4]))),
        // isolate 2.
        (500, both(&cross(&[2], &[0, 1, 3, 4]))),
        // bridge: {0, 1} and {3, 4} joined only through 2.
        (700, both(&cross(&[0, 1], &[3, 4]))),
        // ring 0-2-4-1-3-0: only the non-neighbours are cut.
        (900, both(&[(0, 4), (0, 1), (2, 1), (2, 3), (4, 3)])),
        // isolate the leader (p3).
        (1_100, both(&cross(&[3], &[0, 1, 2, 4]))),
    ]
}

#[test]
fn partitions_cut_exactly_their_links_for_their_window() {
    // Five processes; every 10 ms (at 3, 13, 23 … ms) each sends one message to every other.
    let mut c = config(5);
    let d = 100;
    let some = |v: &[u32]| Some(v.to_vec());
    c.schedule = vec![
        at(
            100,
            Fault::PartitionOneWay {
                from: some(&[0]),
                to: some(&[1, 2]),
                duration_ms: d,
            },
        ),
        at(
            300,
            Fault::PartitionHalves {
                side: some(&[0, 1]),
                duration_ms: d,
            },
        ),
        at(
            500,
            Fault::PartitionIsolate {
                target: Target::Node(2),
                duration_ms: d,
            },
        ),
        at(
            700,
            Fault::PartitionBridge {
                a: some(&[0, 1]),
                b: some(&[3, 4]),
                bridge: Some(2),
                duration_ms: d,
            },
        ),
        at(
            900,
            Fault::PartitionRing {
                ring: some(&[0, 2, 4, 1, 3]),
                duration_ms: d,
            },
        ),
        at(
            1_100,
            Fault::PartitionIsolate {
                target: Target::Leader,
                duration_ms: d,
            },
        ),
    ];
    let rounds = 140;
    let roles: Vec<Role> = (0..5u32)
        .map(|me| {
            let peers: Vec<u32> = (0..5).filter(|&x| x != me).collect();
            chatter(&peers, 3 * NS_PER_MS, 10 * NS_PER_MS, rounds, 1)
        })
        .collect();
    let mut rec = Recorder::default();
    let o = Sim::new(c, factory(roles, vec![3])).run(&mut rec);
    assert_eq!(o.verdict, Verdict::Pass);

    let cuts = expected_cuts();
    let cut = |sent: Time, from: u32, to: u32| {
        cuts.iter().any(|(start, links)| {
            (ms(*start)..ms(start + d)).contains(&sent) && links.contains(&(from, to))
        })
    };
    let mut expected = BTreeSet::new();
    let mut blocked = 0;
    for round in 0..rounds {
        let sent = Time(3 * NS_PER_MS + round * 10 * NS_PER_MS);
        for from in 0..5 {
            for to in (0..5).filter(|&t| t != from) {
                if cut(sent, from, to) {
                    blocked += 1;
                } else {
                    expected.insert((p(from), p(to), sent));
                }
            }
        }
    }
    let got: BTreeSet<(ProcessId, ProcessId, Time)> = received(&rec.notes)
        .iter()
        .map(|g| (g.from, g.to, g.sent_at))
        .collect();
    let missing: Vec<_> = expected.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&expected).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, delivered across a cut {extra:?}"
    );
    assert_eq!(received(&rec.notes).len(), expected.len(), "duplicates");
    assert_eq!(o.stats.network.dropped_partition, blocked);

    // The applied faults name the processes they involve and end after their duration.
    let members: Vec<Vec<u32>> = o
        .faults
        .iter()
        .map(|f| f.processes.iter().map(|p| p.0).collect())
        .collect();
    assert_eq!(
        members,
        vec![
            vec![0, 1, 2],
            vec![0, 1],
            vec![2],
            vec![0, 1, 2, 3, 4],
            vec![0, 1, 2, 3, 4],
            vec![3]
        ]
    );
    for (f, (start, _)) in o.faults.iter().zip(&cuts) {
        assert_eq!(
            (f.at_ns, f.until_ns),
            (ms(*start).ns(), Some(ms(start + d).ns()))
        );
    }
}

#[test]
fn crash_keeps_exactly_the_fsynced_prefix() {
    // p0 and p1 run the disk script; both crash at 10 ms. p0 restarts 5 ms later, p1 only at
    // the heal (start of the liveness phase, 100 ms).
    let mut c = config(3);
    c.safety_ns = 100 * NS_PER_MS;
    c.schedule = vec![
        at(
            10,
            Fault::Crash {
                target: Target::Node(0),
                restart_after_ms: Some(5),
                tear: false,
            },
        ),
        at(
            10,
            Fault::Crash {
                target: Target::Node(1),
                restart_after_ms: None,
                tear: false,
            },
        ),
    ];
    let (o, notes) = run(c, vec![Role::Disk, Role::Disk, Role::Sink]);
    assert_eq!(o.verdict, Verdict::Pass);
    let of = |pid: u32| {
        notes
            .iter()
            .filter(|n| n.1 == p(pid))
            .map(|n| (n.0, n.2.clone()))
            .collect::<Vec<_>>()
    };
    let durable: Vec<u64> = (1..=8).collect();
    let expect = |restart: Time| {
        vec![
            (
                ms(0),
                Note::Started {
                    records: vec![],
                    torn: false,
                },
            ),
            (Time(100 * NS_PER_US), Note::Synced { write: 1 }),
            (Time(200 * NS_PER_US), Note::Synced { write: 2 }),
            // Write 3 was in flight at the crash: it never completes; timer 99 (20 ms) of
            // the old incarnation never fires in the new one.
            (
                restart,
                Note::Started {
                    records: durable.clone(),
                    torn: false,
                },
            ),
        ]
    };
    assert_eq!(of(0), expect(ms(15)));
    assert_eq!(of(1), expect(ms(100)));
    assert_eq!((o.stats.crashes, o.stats.restarts), (2, 2));
    assert_eq!(o.faults[0].processes, vec![p(0)]);
    assert_eq!(o.faults[0].until_ns, Some(ms(15).ns()));
    assert_eq!(o.faults[1].until_ns, None);
}

#[test]
fn torn_crash_keeps_a_prefix_of_the_unsynced_tail() {
    // 14 records, 8 durable at the crash: with `tear` a prefix of 9..=14 survives and the
    // restart sees `torn_tail` exactly when something was cut.
    let mut survivors = BTreeSet::new();
    let mut torn_seen = false;
    for seed in 0..60 {
        let mut c = config(2);
        c.seed = seed;
        c.safety_ns = 100 * NS_PER_MS;
        c.schedule = vec![at(
            10,
            Fault::Crash {
                target: Target::Node(0),
                restart_after_ms: Some(5),
                tear: true,
            },
        )];
        let (_, notes) = run(c, vec![Role::Disk, Role::Sink]);
        let restarted: Vec<_> = notes
            .iter()
            .filter(|n| n.1 == p(0) && n.0 == ms(15))
            .map(|n| n.2.clone())
            .collect();
        let [Note::Started { records, torn }] = &restarted[..] else {
            panic!("seed {seed}: {restarted:?}")
        };
        let kept = records.len();
        assert!((8..=14).contains(&kept), "seed {seed}: kept {kept}");
        assert_eq!(
            records[..],
            (1..=kept as u64).collect::<Vec<_>>()[..],
            "seed {seed}: not a prefix"
        );
        assert_eq!(*torn, kept < 14, "seed {seed}: kept {kept}, torn {torn}");
        survivors.insert(kept);
        torn_seen |= *torn;
    }
    assert!(torn_seen);
    assert!(
        survivors.iter().any(|k| (9..14).contains(k)),
        "no partial tail survived: {survivors:?}"
    );
    assert!(survivors.contains(&8), "{survivors:?}");
}

/// The clock faults of the two tests below: p0 10% fast, p1 10% slow from the start; p2
/// jumps +300 ms at 200 ms, p3 −300 ms at 500 ms, p4 drifts +10% from 500 ms, p5 jumps
/// +2 s at 300 ms, p6 is untouched, p7 jumps −5 s at 500 ms (its wall clock clamps at 0).
fn clock_fault_config() -> KernelConfig {
    let jump = |at_ms: u64, node: u32, jump_ms: i64| {
        at(
            at_ms,
            Fault::ClockJump {
                target: Target::Node(node),
                jump_ms,
            },
        )
    };
    let mut c = config(8);
    c.drift_ppm = vec![100_000, -100_000, 0, 0, 0, 0, 0, 0];
    c.schedule = vec![
        jump(200, 2, 300),
        jump(500, 3, -300),
        at(
            500,
            Fault::ClockDrift {
                target: Target::Node(4),
                drift_ppm: 100_000,
            },
        ),
        jump(300, 5, 2_000),
        jump(500, 7, -5_000),
    ];
    c
}

/// Timer 7 of each process fired at (global, mono, wall).
fn fired_7(notes: &Noted) -> BTreeMap<u32, (Time, Time, Time)> {
    notes
        .iter()
        .filter_map(|(t, pid, n)| match n {
            Note::Fired {
                timer: 7,
                mono,
                wall,
            } => Some((pid.0, (*t, *mono, *wall))),
            _ => None,
        })
        .collect()
}

#[test]
fn drift_moves_monotonic_timers_and_jumps_do_not() {
    let timer_1s = || Role::Timers(vec![(7, ms(1_000))]);
    let mut roles: Vec<Role> = (0..8).map(|_| timer_1s()).collect();
    roles[1] = Role::Timers(vec![(7, ms(900))]);
    let (o, notes) = run(clock_fault_config(), roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let fired = fired_7(&notes);
    assert_eq!(fired.len(), 8, "{fired:?}");
    // 10% fast: mono 1 s is reached at global 1/1.1 s = 0.909 s.
    assert_eq!(fired[&0].0, Time(909_090_910));
    assert!(fired[&0].1 >= ms(1_000) && fired[&0].1 < ms(1_000).plus_ns(NS_PER_US));
    assert_eq!(fired[&0].1, fired[&0].2, "no jump: wall == mono");
    // 10% slow: mono 0.9 s at global 1 s.
    assert_eq!(fired[&1].0, ms(1_000));
    // Jumps move the wall clock only: every jumped process fires on time, at mono 1 s.
    assert_eq!(fired[&2], (ms(1_000), ms(1_000), ms(1_300)));
    // A timer set before a backward jump fires on time (ZOOKEEPER-1366's fix).
    assert_eq!(fired[&3], (ms(1_000), ms(1_000), ms(700)));
    assert_eq!(fired[&5], (ms(1_000), ms(1_000), ms(3_000)));
    // −5 s at 500 ms clamps the wall clock at 0; it has run 500 ms since.
    assert_eq!(fired[&7], (ms(1_000), ms(1_000), ms(500)));
    // Drift +10% from 500 ms: the remaining 500 ms of mono time take 454.545… ms.
    assert_eq!(fired[&4].0, Time(954_545_455));
    assert_eq!(fired[&4].1, fired[&4].2);
    // Untouched clock: on time.
    assert_eq!(fired[&6], (ms(1_000), ms(1_000), ms(1_000)));
}

#[test]
fn drift_and_jumps_move_wall_clock_timers() {
    // The same faults with wall-clock timers (`SetWallTimer`, the planted bug zk-1366's).
    let timer_1s = || Role::WallTimers(vec![(7, ms(1_000))]);
    let mut roles: Vec<Role> = (0..8).map(|_| timer_1s()).collect();
    roles[1] = Role::WallTimers(vec![(7, ms(900))]);
    let (o, notes) = run(clock_fault_config(), roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let fired = fired_7(&notes);
    assert_eq!(fired.len(), 8, "{fired:?}");
    assert_eq!(fired[&0].0, Time(909_090_910));
    assert_eq!(fired[&1].0, ms(1_000));
    // +300 ms at 200 ms: wall 1 s at global 700 ms.
    assert_eq!(fired[&2], (ms(700), ms(700), ms(1_000)));
    // −300 ms at 500 ms: wall 1 s at global 1.3 s — the backward jump delays the timer.
    assert_eq!(fired[&3], (ms(1_300), ms(1_300), ms(1_000)));
    // A jump past the deadline fires the timer at once.
    assert_eq!(fired[&5], (ms(300), ms(300), ms(2_300)));
    // −5 s at 500 ms: the wall clock restarts at 0 and reads 1 s at global 1.5 s.
    assert_eq!(fired[&7], (ms(1_500), ms(1_500), ms(1_000)));
    assert_eq!(fired[&4].0, Time(954_545_455));
    assert_eq!(fired[&6], (ms(1_000), ms(1_000), ms(1_000)));
}

#[test]
fn a_timer_re_set_as_the_other_kind_is_one_timer() {
    // One id names one timer: re-setting a wall timer as a monotonic one (and back) moves
    // it, and a jump then moves only what is a wall timer at that moment.
    let mut c = config(2);
    let jump = |node: u32| {
        at(
            100,
            Fault::ClockJump {
                target: Target::Node(node),
                jump_ms: -400,
            },
        )
    };
    c.schedule = vec![jump(0), jump(1)];
    let roles = vec![
        Role::Mixed(vec![(7, ms(500), true), (7, ms(600), false)]),
        Role::Mixed(vec![(7, ms(500), false), (7, ms(600), true)]),
    ];
    let (o, notes) = run(c, roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let fired = fired_7(&notes);
    // p0's timer is monotonic: the jump leaves it at 600 ms. (The jump clamped the wall
    // clock at 0 at 100 ms, so it reads 500 ms then.)
    assert_eq!(fired[&0], (ms(600), ms(600), ms(500)));
    // p1's is a wall timer: its wall clock clamped at 0 at 100 ms, reads 600 ms at 700 ms.
    assert_eq!(fired[&1], (ms(700), ms(700), ms(600)));
    assert_eq!(o.stats.timers_fired, 2, "each id fired once");
}

#[test]
fn paused_process_handles_messages_and_timers_late_in_order() {
    // p0 sends round r to p1 and p2 at 110 + 10r ms (r < 6); p1 also has a timer at 125 ms.
    // p1 is paused in [100, 150) ms.
    let mut c = config(3);
    c.schedule = vec![at(
        100,
        Fault::Pause {
            target: Target::Node(1),
            duration_ms: 50,
        },
    )];
    let roles = vec![
        chatter(&[1, 2], 110 * NS_PER_MS, 10 * NS_PER_MS, 6, 1),
        Role::Timers(vec![(7, ms(125))]),
        Role::Sink,
    ];
    let (o, notes) = run(c, roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let of = |pid: u32| {
        notes
            .iter()
            .filter(|n| n.1 == p(pid) && !matches!(n.2, Note::Started { .. }))
            .map(|(t, _, n)| match n {
                Note::Got { round, .. } => (*t, format!("msg{round}")),
                Note::Fired { timer, .. } => (*t, format!("timer{timer}")),
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    let s = |t: Time, what: &str| (t, what.to_string());
    assert_eq!(
        of(1),
        vec![
            s(ms(150), "msg0"),
            s(ms(150), "msg1"),
            s(ms(150), "timer7"),
            s(ms(150), "msg2"),
            s(ms(150), "msg3"),
            s(ms(151), "msg4"),
            s(ms(161), "msg5"),
        ]
    );
    // The unpaused p2 got everything on time.
    let on_time: Vec<_> = (0..6)
        .map(|r| s(ms(111 + 10 * r), &format!("msg{r}")))
        .collect();
    assert_eq!(of(2), on_time);
}

#[test]
fn a_pause_starting_as_another_ends_holds_work_deferred_to_that_end() {
    // p1's timer fires at 125 ms inside a pause of [100, 150) ms and waits for its end; a
    // second pause begins at 150 ms, as the first ends (barrier.toml seed 860). The timer
    // runs at 160 ms, when the second pause ends (it once tripped the assertion that work
    // runs inside its CPU reservation).
    let mut c = config(2);
    let pause = |at_ms: u64, duration_ms: u64| {
        at(
            at_ms,
            Fault::Pause {
                target: Target::Node(1),
                duration_ms,
            },
        )
    };
    c.schedule = vec![pause(100, 50), pause(150, 10)];
    let roles = vec![Role::Sink, Role::Timers(vec![(7, ms(125))])];
    let (o, notes) = run(c, roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let fired: Vec<Time> = notes
        .iter()
        .filter_map(|(t, pid, n)| matches!(n, Note::Fired { .. } if *pid == p(1)).then_some(*t))
        .collect();
    assert_eq!(fired, vec![ms(160)]);
}

#[test]
fn cpu_cost_queues_messages_behind_each_other() {
    // p0, p1, p2 each send one DATA (1 ms of CPU) and p4 one FREE (no CPU cost) to p3; all
    // arrive together at 1 ms.
    let mut c = config(5);
    c.cpu_cost_ns = vec![NS_PER_MS, 0];
    let burst = |kind| Role::Burst {
        to: p(3),
        kind,
        count: 1,
    };
    let roles = vec![
        burst(DATA),
        burst(DATA),
        burst(DATA),
        Role::Sink,
        burst(FREE),
    ];
    let (o, notes) = run(c, roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let handled: Vec<(Time, ProcessId)> = received(&notes).iter().map(|g| (g.at, g.from)).collect();
    assert_eq!(
        handled,
        vec![(ms(2), p(0)), (ms(3), p(1)), (ms(4), p(2)), (ms(4), p(4))]
    );
}

/// (sender, message counter) → how often and in which order messages were delivered.
fn deliveries(notes: &Noted) -> Deliveries {
    let mut count = BTreeMap::new();
    let mut order: BTreeMap<ProcessId, Vec<u64>> = BTreeMap::new();
    for g in received(notes) {
        *count.entry((g.from, g.seq)).or_insert(0) += 1;
        order.entry(g.from).or_default().push(g.seq);
    }
    (count, order)
}

#[test]
fn datagram_duplicates_and_tcp_never_does_and_stays_fifo() {
    let hostile = |transport| NetworkConfig {
        transport,
        latency: Latency::Uniform {
            min_us: 100,
            max_us: 5_000,
        },
        loss: Probability::from_ppm(200_000),
        duplicate: Probability::from_ppm(200_000),
        reorder: Probability::from_ppm(500_000),
        retransmit_us: 10_000,
        ..Default::default()
    };
    // p0 and p1 each send 5000 messages to p2, one every 100 µs.
    let roles = || {
        vec![
            chatter(&[2], NS_PER_MS, 100 * NS_PER_US, 5_000, 1),
            chatter(&[2], NS_PER_MS, 100 * NS_PER_US, 5_000, 1),
            Role::Sink,
        ]
    };

    // Datagram, duplication only: every message arrives once or twice.
    let mut c = config(3);
    c.network = NetworkConfig {
        loss: Probability::ZERO,
        reorder: Probability::ZERO,
        ..hostile(Transport::Datagram)
    };
    let (o, notes) = run(c, roles());
    let (count, _) = deliveries(&notes);
    assert_eq!(count.len(), 10_000, "a message was lost");
    assert!(
        count.values().all(|&n| n == 1 || n == 2),
        "a message arrived more than twice"
    );
    let twice = count.values().filter(|&&n| n == 2).count() as u64;
    // Binomial(10k, 0.2): sd = 40; ±6 sd.
    assert!((1_760..=2_240).contains(&twice), "{twice} duplicates");
    assert_eq!(o.stats.network.duplicated, twice);

    // Datagram, everything on: loss, duplicates and overtaking all happen.
    let mut c = config(3);
    c.network = hostile(Transport::Datagram);
    let (o, notes) = run(c, roles());
    let (count, order) = deliveries(&notes);
    assert!(count.len() < 10_000 && count.values().any(|&n| n == 2));
    assert!(
        order[&p(0)].windows(2).any(|w| w[1] < w[0]),
        "no reordering"
    );
    assert!(o.stats.network.reordered > 0 && o.stats.network.dropped_loss > 0);

    // Datagram without reordering keeps each link FIFO despite random latency.
    let mut c = config(3);
    c.network = NetworkConfig {
        reorder: Probability::ZERO,
        duplicate: Probability::ZERO,
        ..hostile(Transport::Datagram)
    };
    let (_, notes) = run(c, roles());
    let (_, order) = deliveries(&notes);
    assert!(order.values().all(|v| v.windows(2).all(|w| w[0] < w[1])));

    // TCP under the same hostile settings: exactly once, in order, losses cost retransmits.
    let mut c = config(3);
    c.network = hostile(Transport::Tcp);
    let (o, notes) = run(c, roles());
    let (count, order) = deliveries(&notes);
    assert_eq!(count.len(), 10_000, "tcp lost a message");
    assert!(count.values().all(|&n| n == 1), "tcp duplicated a message");
    for (from, seqs) in &order {
        assert_eq!(
            *seqs,
            (0..5_000).collect::<Vec<u64>>(),
            "tcp link from {from} is not FIFO"
        );
    }
    let n = &o.stats.network;
    assert_eq!((n.duplicated, n.reordered, n.dropped_loss), (0, 0, 0));
    // Binomial(10k, 0.2) losses, each retransmitted.
    assert!(
        (1_760..=2_240).contains(&n.retransmitted),
        "{} retransmits",
        n.retransmitted
    );
}

// ---------------------------------------------------------------------------------------
// Budgets and verdicts.
// ---------------------------------------------------------------------------------------

#[test]
fn event_budget_ends_inconclusive() {
    let mut c = config(2);
    c.events_max = 1_000;
    let roles = vec![chatter(&[1], 0, 10 * NS_PER_US, u64::MAX, 1), Role::Sink];
    let (o, _) = run(c, roles);
    match &o.verdict {
        Verdict::Budget { budget, detail } => assert!(
            budget == "events" && detail.contains("1000"),
            "{budget}: {detail}"
        ),
        other => panic!("expected the event budget, got {other:?}"),
    }
    assert_eq!(o.verdict.exit_code(), 3);
    assert!(
        (1_000..=1_001).contains(&o.stats.events),
        "{}",
        o.stats.events
    );
}

#[test]
fn queue_budget_ends_inconclusive() {
    let mut c = config(2);
    c.queue_max = 50;
    let (o, _) = run(
        c,
        vec![
            Role::Burst {
                to: p(1),
                kind: DATA,
                count: 100,
            },
            Role::Sink,
        ],
    );
    assert!(
        matches!(&o.verdict, Verdict::Budget { budget, .. } if budget == "queue"),
        "{:?}",
        o.verdict
    );
    assert_eq!(o.verdict.exit_code(), 3);
}

/// Never satisfied (`done_after` = None) or satisfied from a global time on.
struct Liveness {
    done_after: Option<Time>,
    probes: u64,
}

impl Observer<Actor> for Liveness {
    fn leads(&self, pid: ProcessId, procs: &dyn Procs<Actor>) -> bool {
        procs.get(pid).is_some_and(|a| a.leader)
    }
    fn liveness(&mut self, now: Time, _procs: &dyn Procs<Actor>) -> Progress {
        self.probes += 1;
        match self.done_after {
            Some(t) if now >= t => Progress::Done,
            _ => Progress::Waiting(Violation {
                check: "Stuck".into(),
                processes: vec![p(1)],
                detail: "p1 never recovers".into(),
            }),
        }
    }
}

#[test]
fn liveness_that_never_completes_is_a_liveness_finding() {
    let c = config(2);
    let (safety, liveness) = (c.safety_ns, c.liveness_ns);
    let mut obs = Liveness {
        done_after: None,
        probes: 0,
    };
    let o = run_with(
        c,
        vec![chatter(&[1], 0, 10 * NS_PER_MS, u64::MAX, 1), Role::Sink],
        &mut obs,
    );
    let Verdict::Liveness(f) = &o.verdict else {
        panic!("expected a liveness finding, got {:?}", o.verdict)
    };
    assert_eq!(o.verdict.exit_code(), 1);
    assert_eq!(f.check, "Stuck");
    assert_eq!(f.processes, vec![p(1)]);
    assert!(
        f.detail.contains("liveness phase ended") && f.detail.contains("p1 never recovers"),
        "{}",
        f.detail
    );
    // Judged at the end of the liveness phase, not before.
    assert!(
        f.at_ns > safety + liveness - LIVENESS_PROBE_NS && f.at_ns <= safety + liveness,
        "at {}",
        f.at_ns
    );
    assert!(
        obs.probes >= liveness / LIVENESS_PROBE_NS,
        "{} probes",
        obs.probes
    );
    assert_eq!(o.recovered_ns, None);
}

#[test]
fn liveness_that_completes_passes_at_the_first_done_probe() {
    let c = config(2);
    let safety = c.safety_ns;
    let mut obs = Liveness {
        done_after: Some(Time(safety + 55 * NS_PER_MS)),
        probes: 0,
    };
    let o = run_with(
        c,
        vec![chatter(&[1], 0, 10 * NS_PER_MS, u64::MAX, 1), Role::Sink],
        &mut obs,
    );
    assert_eq!(o.verdict, Verdict::Pass);
    assert_eq!(o.verdict.exit_code(), 0);
    assert_eq!(o.recovered_ns, Some(safety + 60 * NS_PER_MS));
    assert_eq!(o.end_ns, safety + 60 * NS_PER_MS);
}

/// Breaks safety when p1 notes message `bad_seq`, or after `bad_event` events.
struct Safety {
    bad_seq: Option<u64>,
    bad_event: Option<u64>,
    events: u64,
    seen_at: Option<Time>,
}

impl Observer<Actor> for Safety {
    fn leads(&self, pid: ProcessId, procs: &dyn Procs<Actor>) -> bool {
        procs.get(pid).is_some_and(|a| a.leader)
    }
    fn on_note(&mut self, now: Time, pid: ProcessId, note: Note) -> Result<(), Violation> {
        match &note {
            Note::Got { seq, .. } if Some(*seq) == self.bad_seq => {
                self.seen_at = Some(now);
                Err(Violation {
                    check: "NoSeq5".into(),
                    processes: vec![pid],
                    detail: format!("{pid} saw seq {seq}"),
                })
            }
            _ => Ok(()),
        }
    }
    fn after_event(
        &mut self,
        now: Time,
        _procs: &dyn Procs<Actor>,
        _touched: Option<ProcessId>,
    ) -> Result<(), Violation> {
        self.events += 1;
        if Some(self.events) == self.bad_event {
            self.seen_at = Some(now);
            return Err(Violation {
                check: "Counter".into(),
                processes: vec![],
                detail: "enough".into(),
            });
        }
        Ok(())
    }
}

#[test]
fn safety_violation_from_an_observer_stops_the_run_with_its_event_number() {
    // Through a note: p0 sends seq r at 1 + r ms; seq 5 reaches p1 at 7 ms.
    let mut obs = Safety {
        bad_seq: Some(5),
        bad_event: None,
        events: 0,
        seen_at: None,
    };
    let o = run_with(
        config(2),
        vec![chatter(&[1], NS_PER_MS, NS_PER_MS, 100, 1), Role::Sink],
        &mut obs,
    );
    let Verdict::Safety(f) = &o.verdict else {
        panic!("expected a safety finding, got {:?}", o.verdict)
    };
    assert_eq!(o.verdict.exit_code(), 1);
    assert_eq!(
        (f.check.as_str(), f.processes.clone(), f.at_ns),
        ("NoSeq5", vec![p(1)], ms(7).ns())
    );
    assert_eq!(obs.seen_at, Some(ms(7)));
    // The violating event is the one after the last one the observer saw complete.
    assert_eq!(f.event, obs.events + 1);
    assert_eq!(o.stats.events, f.event);
    assert_eq!(o.end_ns, ms(7).ns());
    assert!(f.to_string().contains(&format!("event {}", f.event)));

    // Through `after_event`: the 50th event.
    let mut obs = Safety {
        bad_seq: None,
        bad_event: Some(50),
        events: 0,
        seen_at: None,
    };
    let o = run_with(
        config(2),
        vec![chatter(&[1], NS_PER_MS, NS_PER_MS, 100, 1), Role::Sink],
        &mut obs,
    );
    let Verdict::Safety(f) = &o.verdict else {
        panic!("{:?}", o.verdict)
    };
    assert_eq!(
        (f.check.as_str(), f.event, Some(Time(f.at_ns))),
        ("Counter", 50, obs.seen_at)
    );
    assert_eq!(o.stats.events, 50);
}

#[test]
fn kernel_runs_are_deterministic_and_seed_sensitive() {
    // The hand-built hostile configuration, twice per seed, and across seeds.
    let hostile = |seed| {
        let mut c = config(4);
        c.seed = seed;
        c.network = NetworkConfig {
            transport: Transport::Datagram,
            latency: Latency::Exponential {
                mean_us: 800,
                min_us: 100,
            },
            loss: Probability::from_ppm(50_000),
            duplicate: Probability::from_ppm(50_000),
            reorder: Probability::from_ppm(100_000),
            ..Default::default()
        };
        c.disk = DiskConfig {
            fsync: Latency::Uniform {
                min_us: 50,
                max_us: 500,
            },
        };
        c.schedule = vec![at(
            5,
            Fault::Crash {
                target: Target::Node(0),
                restart_after_ms: Some(3),
                tear: true,
            },
        )];
        c
    };
    let roles = || {
        vec![
            Role::Disk,
            chatter(&[0, 2, 3], 0, 300 * NS_PER_US, 200, 2),
            chatter(&[1], 0, 700 * NS_PER_US, 100, 1),
            Role::Sink,
        ]
    };
    let mut seen = BTreeSet::new();
    for seed in 0..20 {
        let (a, na) = run(hostile(seed), roles());
        let (b, nb) = run(hostile(seed), roles());
        assert_eq!(a.trace_hash, b.trace_hash, "seed {seed}");
        assert_eq!(na, nb, "seed {seed}: notes differ");
        seen.insert(a.trace_hash);
    }
    assert_eq!(seen.len(), 20);
}

#[test]
fn pause_during_a_cpu_backlog_keeps_arrival_order() {
    // Three DATA messages (1.5 ms of CPU each) reach p3 at 1 ms: reserved to finish at 2.5,
    // 4 and 5.5 ms. p3 is paused in [3, 13) ms and has a timer at 3.5 ms. The messages that
    // arrived at 1 ms must still be handled before the timer that fired at 3.5 ms.
    let mut c = config(4);
    c.cpu_cost_ns = vec![1_500 * NS_PER_US, 0];
    c.schedule = vec![at(
        3,
        Fault::Pause {
            target: Target::Node(3),
            duration_ms: 10,
        },
    )];
    let burst = Role::Burst {
        to: p(3),
        kind: DATA,
        count: 1,
    };
    let roles = vec![
        burst.clone(),
        burst.clone(),
        burst,
        Role::Timers(vec![(7, Time(3_500 * NS_PER_US))]),
    ];
    let (o, notes) = run(c, roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let handled: Vec<(Time, String)> = notes
        .iter()
        .filter(|n| n.1 == p(3))
        .filter_map(|(t, _, n)| match n {
            Note::Got { from, .. } => Some((*t, format!("{from}"))),
            Note::Fired { timer, .. } => Some((*t, format!("timer{timer}"))),
            _ => None,
        })
        .collect();
    let order: Vec<&str> = handled.iter().map(|h| h.1.as_str()).collect();
    assert_eq!(order, vec!["p0", "p1", "p2", "timer7"], "{handled:?}");
    assert_eq!(handled[0].0, Time(2_500 * NS_PER_US));
    assert!(handled[1..].iter().all(|h| h.0 >= ms(13)), "{handled:?}");
    assert!(handled.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn disk_slow_multiplies_fsync_latency_for_its_window() {
    // p0 issues fsync r at 1 + 2r ms (100 µs each); fsyncs are 10× slower in [10, 20) ms.
    let mut c = config(2);
    c.schedule = vec![at(
        10,
        Fault::DiskSlow {
            target: Target::Node(0),
            factor: 10,
            duration_ms: 10,
        },
    )];
    let roles = vec![
        Role::Syncer {
            first_ns: NS_PER_MS,
            every_ns: 2 * NS_PER_MS,
            rounds: 15,
        },
        Role::Sink,
    ];
    let (o, notes) = run(c, roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let latency: Vec<(u64, u64)> = notes
        .iter()
        .filter_map(|(t, _, n)| match n {
            Note::Synced { write } => {
                Some((*write, t.since_ns(Time(NS_PER_MS + write * 2 * NS_PER_MS))))
            }
            _ => None,
        })
        .collect();
    let expect: Vec<(u64, u64)> = (0..15)
        .map(|r| {
            (
                r,
                if (10..20).contains(&(1 + 2 * r)) {
                    1_000 * NS_PER_US
                } else {
                    100 * NS_PER_US
                },
            )
        })
        .collect();
    assert_eq!(latency, expect);
    assert_eq!(o.stats.fsyncs, 15);
}

#[test]
fn messages_in_flight_to_a_restarted_process() {
    // p0 sends to p1 every 1 ms from 1 ms (5 ms latency); p1 crashes at 10 ms and restarts
    // at 12 ms. Arrivals in [10, 12] find it down; arrivals at 13, 14 ms were sent to the
    // old incarnation: tcp drops them (the connection is gone), datagrams get through.
    let sent_rounds = |transport| {
        let mut c = config(2);
        c.network = NetworkConfig {
            transport,
            latency: Latency::Constant { us: 5_000 },
            ..Default::default()
        };
        c.schedule = vec![at(
            10,
            Fault::Crash {
                target: Target::Node(1),
                restart_after_ms: Some(2),
                tear: false,
            },
        )];
        let (o, notes) = run(
            c,
            vec![chatter(&[1], NS_PER_MS, NS_PER_MS, 30, 1), Role::Sink],
        );
        let rounds: Vec<u64> = received(&notes).iter().map(|g| g.round).collect();
        (rounds, o.stats.network.dropped_dead)
    };
    // Round r is sent at r + 1 ms and arrives at r + 6 ms.
    let tcp: Vec<u64> = (0..4).chain(9..30).collect();
    let datagram: Vec<u64> = (0..4).chain(7..30).collect();
    assert_eq!(sent_rounds(Transport::Tcp), (tcp, 5));
    assert_eq!(sent_rounds(Transport::Datagram), (datagram, 3));
}

#[test]
fn heal_and_restart_faults_and_target_indices() {
    // Fault targets are a list of processes: node index i means `targets[i]`. Here the
    // targets are p2, p1, p0 (reversed).
    let mut c = config(3);
    c.targets = vec![p(2), p(1), p(0)];
    c.safety_ns = 500 * NS_PER_MS;
    c.schedule = vec![
        // Node 0 = p2: cut from everyone in [100, 600) ms, but a heal at 200 ms ends it.
        at(
            100,
            Fault::PartitionIsolate {
                target: Target::Node(0),
                duration_ms: 500,
            },
        ),
        at(200, Fault::Heal),
        // Node 2 = p0: crashed at 300 ms without a restart time, restarted by a script at 350.
        at(
            300,
            Fault::Crash {
                target: Target::Node(2),
                restart_after_ms: None,
                tear: false,
            },
        ),
        at(
            350,
            Fault::Restart {
                target: Target::Node(2),
            },
        ),
    ];
    let roles = vec![
        Role::Sink,
        chatter(&[0, 2], 5 * NS_PER_MS, 10 * NS_PER_MS, 40, 1),
        Role::Sink,
    ];
    let (o, notes) = run(c, roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let got = received(&notes);
    let rounds_to = |pid: u32| {
        got.iter()
            .filter(|g| g.to == p(pid))
            .map(|g| g.round)
            .collect::<Vec<u64>>()
    };
    // Round r is sent at 5 + 10r ms: p2 misses rounds 10..=19 (sent in [100, 200) ms).
    assert_eq!(rounds_to(2), (0..10).chain(20..40).collect::<Vec<_>>());
    // p0 misses rounds 30..=34 (arriving in [300, 350) ms).
    assert_eq!(rounds_to(0), (0..30).chain(35..40).collect::<Vec<_>>());
    let starts: Vec<(Time, ProcessId)> = notes
        .iter()
        .filter(|n| matches!(n.2, Note::Started { .. }) && n.0 > Time::ZERO)
        .map(|n| (n.0, n.1))
        .collect();
    assert_eq!(starts, vec![(ms(350), p(0))]);
    assert_eq!(o.faults[0].processes, vec![p(2)]);
    assert_eq!(o.faults[2].processes, vec![p(0)]);
    assert_eq!((o.stats.crashes, o.stats.restarts), (1, 1));
}

#[test]
fn resetting_a_timer_moves_it() {
    // Setting a timer that is already set moves it — also when both settings happen in the
    // same handler call. p0 moves timer 7 earlier, p1 moves it later, p2 sets two timers.
    let roles = vec![
        Role::Timers(vec![(7, ms(100)), (7, ms(50))]),
        Role::Timers(vec![(7, ms(50)), (7, ms(100))]),
        Role::Timers(vec![(7, ms(50)), (8, ms(60))]),
    ];
    let (o, notes) = run(config(3), roles);
    assert_eq!(o.verdict, Verdict::Pass);
    let fired: Vec<(Time, u32, u64)> = notes
        .iter()
        .filter_map(|(t, pid, n)| match n {
            Note::Fired { timer, .. } => Some((*t, pid.0, *timer)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fired,
        vec![
            (ms(50), 0, 7),
            (ms(50), 2, 7),
            (ms(60), 2, 8),
            (ms(100), 1, 7)
        ]
    );
    assert_eq!(o.stats.timers_fired, 4);
}

#[test]
fn liveness_phase_heals_the_network_clocks_and_the_crashed() {
    // Safety phase [0, 2 s): datagrams all lost, p2 isolated from 1.5 s for 10 s, p0's
    // clock 10% fast, p3 crashed for good. The liveness phase must heal all of it.
    let mut c = config(4);
    c.network.transport = Transport::Datagram;
    c.network.loss = Probability::from_ppm(1_000_000);
    c.drift_ppm = vec![100_000, 0, 0, 0];
    c.schedule = vec![
        at(
            1_500,
            Fault::PartitionIsolate {
                target: Target::Node(2),
                duration_ms: 10_000,
            },
        ),
        at(
            1_600,
            Fault::Crash {
                target: Target::Node(3),
                restart_after_ms: None,
                tear: false,
            },
        ),
    ];
    let safety = c.safety_ns;
    // p1 sends to p2 every 100 ms from 50 ms; p0 has a timer at local 3 s.
    let roles = vec![
        Role::Timers(vec![(7, ms(3_000))]),
        chatter(&[2], 50 * NS_PER_MS, 100 * NS_PER_MS, 30, 1),
        Role::Sink,
        Role::Sink,
    ];
    let mut rec = Recorder {
        hold_until: Some(Time(safety + 900 * NS_PER_MS)),
        ..Default::default()
    };
    let o = run_with(c, roles, &mut rec);
    assert_eq!(o.verdict, Verdict::Pass);
    assert_eq!(o.recovered_ns, Some(safety + 900 * NS_PER_MS));
    // Nothing arrives before the heal (loss, then the cut); everything sent after it does.
    let rounds: Vec<u64> = received(&rec.notes).iter().map(|g| g.round).collect();
    assert_eq!(
        rounds,
        (20..29).collect::<Vec<_>>(),
        "rounds sent at 2050 … 2850 ms"
    );
    // p0 ran 10% fast until 2 s (local 2.2 s), then at the true rate: local 3 s at 2.8 s.
    let fired: Vec<(Time, ProcessId)> = rec
        .notes
        .iter()
        .filter(|n| matches!(n.2, Note::Fired { .. }))
        .map(|n| (n.0, n.1))
        .collect();
    assert_eq!(fired, vec![(ms(2_800), p(0))]);
    // p3 came back at the start of the liveness phase.
    let restarts: Vec<(Time, ProcessId)> = rec
        .notes
        .iter()
        .filter(|n| matches!(n.2, Note::Started { .. }) && n.0 > Time::ZERO)
        .map(|n| (n.0, n.1))
        .collect();
    assert_eq!(restarts, vec![(Time(safety), p(3))]);
}

#[test]
fn a_pause_ends_with_the_safety_phase() {
    // p1 is paused at 1.9 s for 1 s, but the liveness phase (from 2 s) starts with every
    // fault healed: what waited is handled at 2 s, in order, and later messages on time.
    let mut c = config(2);
    c.schedule = vec![at(
        1_900,
        Fault::Pause {
            target: Target::Node(1),
            duration_ms: 1_000,
        },
    )];
    let safety = c.safety_ns;
    let roles = vec![
        chatter(&[1], 50 * NS_PER_MS, 100 * NS_PER_MS, 30, 1),
        Role::Sink,
    ];
    let mut rec = Recorder {
        hold_until: Some(Time(safety + 950 * NS_PER_MS)),
        ..Default::default()
    };
    let o = run_with(c, roles, &mut rec);
    assert_eq!(o.verdict, Verdict::Pass);
    // Round r is sent at 50 + 100r ms and arrives 1 ms later.
    let got: Vec<(Time, u64)> = received(&rec.notes)
        .iter()
        .filter(|g| g.round >= 18)
        .map(|g| (g.at, g.round))
        .collect();
    let mut expect = vec![(ms(1_851), 18), (ms(2_000), 19)];
    expect.extend((20..29).map(|r| (ms(51 + 100 * r), r)));
    assert_eq!(got, expect);
}

#[test]
fn a_random_schedule_replayed_as_an_explicit_script_gives_the_same_run() {
    // What `zabsim shrink` relies on: the schedule a seed drew, written as the scenario's
    // script with random faults off, replays bit for bit (drifts have their own stream).
    let loaded = scenario::load_file(&scenario_path("default.toml"), &[]).unwrap();
    assert_ne!(
        loaded.scenario.clock.drift_ppm_max, 0,
        "the case needs drift"
    );
    for seed in 0..4 {
        let random = sim::run::run(&loaded, seed).unwrap();
        assert!(!random.schedule.is_empty(), "seed {seed}: no faults drawn");
        let mut explicit = loaded.clone();
        explicit.scenario.nemesis.script = random.schedule.clone();
        explicit.scenario.nemesis.random = false;
        explicit.scenario.nemesis.swarm = false;
        let replayed = sim::run::run(&explicit, seed).unwrap();
        assert_eq!(
            replayed.outcome.trace_hash, random.outcome.trace_hash,
            "seed {seed}: the explicit script ran differently"
        );
    }
}
