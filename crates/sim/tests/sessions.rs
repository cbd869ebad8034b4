//! Sessions and watches end to end on the kernel: real servers and real client sessions
//! (the `client` crate) following a timed plan, under scripted faults. Covered: session
//! expiry under a partition (the ephemeral is deleted exactly once and the expired client
//! is told so), failover without expiry, a reconnect refused by a lagging server, and watch
//! ordering (the event arrives before newer data is read) across a leader change.

use std::collections::VecDeque;

use client::{Action, SessionState};
use kernel::fault::{Fault, Scheduled, Target};
use kernel::observe::{Observer, Procs, Progress, Verdict, Violation};
use kernel::sim::{Factory, Sim};
use proto::wire::{CloseReason, EventType, ServerMsg};
use proto::zk::{CreateMode, Op, OpResult, SessionId};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId};
use sim::clienthost::{ClientHost, HostConfig};
use sim::scenario;
use zkserver::{Msg, Note, Record, ZabServer as Server};

type Out = Outbox<Msg, Record, Note>;

const STEP: TimerId = TimerId(7);

/// One planned client step at a local time (ms).
#[derive(Clone, Debug)]
enum Step {
    Submit(Op),
}

/// What a planned client saw, in order.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Done {
        op: Op,
        result: OpResult,
    },
    Watch(EventType, String),
    State(SessionState),
    /// A server closed or refused a connection.
    Closed(ProcessId, CloseReason),
}

/// A client process that follows a timed plan and records everything it sees.
struct PlanClient {
    config: HostConfig,
    first_server: usize,
    plan: VecDeque<(u64, Step)>,
    host: Option<ClientHost>,
    log: Vec<(Time, Seen)>,
}

impl PlanClient {
    fn host(&mut self) -> &mut ClientHost {
        self.host.as_mut().expect("started")
    }

    fn record(&mut self, now: Time, actions: Vec<Action>) {
        for a in actions {
            let seen = match a {
                Action::Completed { op, result, .. } => Seen::Done { op, result },
                Action::Watch(e) => Seen::Watch(e.kind, e.path),
                Action::State(s) => Seen::State(s),
                _ => continue,
            };
            self.log.push((now, seen));
        }
    }

    fn arm(&self, out: &mut Out) {
        if let Some((at_ms, _)) = self.plan.front() {
            out.set_timer(STEP, Time(at_ms * NS_PER_MS));
        }
    }

    fn finished(&self) -> bool {
        self.plan.is_empty()
            && self
                .host
                .as_ref()
                .is_some_and(|h| h.session().pending() == 0)
    }

    fn session_ids(&self) -> Vec<SessionId> {
        self.host
            .as_ref()
            .and_then(|h| h.session().session_id())
            .into_iter()
            .collect()
    }
}

impl Process for PlanClient {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        let host = ClientHost::with_first_server(self.config.clone(), 0, self.first_server);
        self.host = Some(host);
        let actions = self.host().start(ctx, out);
        self.record(ctx.mono, actions);
        self.arm(out);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        if let Msg::ToClient(m) = &msg
            && let ServerMsg::Closed { reason, .. } = **m
        {
            self.log.push((ctx.mono, Seen::Closed(from, reason)));
        }
        let actions = self.host().on_message(ctx, from, msg, out);
        self.record(ctx.mono, actions);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        if timer == STEP {
            let (_, Step::Submit(op)) = self.plan.pop_front().expect("armed for a step");
            let (_, actions) = self.host().submit(ctx, op, out);
            self.record(ctx.mono, actions);
            self.arm(out);
        } else {
            let actions = self.host().on_timer(ctx, out);
            self.record(ctx.mono, actions);
        }
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let actions = self.host().on_disconnect(ctx, peer, out);
        self.record(ctx.mono, actions);
    }
}

enum TNode {
    Server(Box<Server>),
    Client(Box<PlanClient>),
}

impl TNode {
    fn server(&self) -> Option<&Server> {
        match self {
            TNode::Server(s) => Some(s),
            TNode::Client(_) => None,
        }
    }
    fn client(&self) -> Option<&PlanClient> {
        match self {
            TNode::Client(c) => Some(c),
            TNode::Server(_) => None,
        }
    }
}

impl Process for TNode {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, disk: Recovered<'_, Record>, out: &mut Out) {
        match self {
            TNode::Server(s) => s.on_start(ctx, disk, out),
            TNode::Client(c) => c.on_start(ctx, disk, out),
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        match self {
            TNode::Server(s) => s.on_message(ctx, from, msg, out),
            TNode::Client(c) => c.on_message(ctx, from, msg, out),
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        match self {
            TNode::Server(s) => s.on_timer(ctx, timer, out),
            TNode::Client(c) => c.on_timer(ctx, timer, out),
        }
    }
    fn on_disk_done(&mut self, ctx: &mut Ctx, write: WriteId, out: &mut Out) {
        match self {
            TNode::Server(s) => s.on_disk_done(ctx, write, out),
            TNode::Client(c) => c.on_disk_done(ctx, write, out),
        }
    }
    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        match self {
            TNode::Server(s) => s.on_disconnect(ctx, peer, out),
            TNode::Client(c) => c.on_disconnect(ctx, peer, out),
        }
    }
}

/// A planned client: its session timeout, the server order it tries and its steps.
struct ClientSpec {
    timeout_ms: u32,
    servers: Vec<u32>,
    plan: Vec<(u64, Step)>,
}

/// What a finished run left behind.
struct Ended {
    logs: Vec<Vec<(Time, Seen)>>,
    sessions: Vec<Vec<SessionId>>,
    /// Per server: (last applied zxid, applied state), None if down.
    servers: Vec<Option<(proto::Zxid, zkserver::ZkState)>>,
    /// Every CloseSession txn in the first live server's log: (session, zxid).
    closes: Vec<(SessionId, proto::Zxid)>,
}

struct PlanObserver {
    servers: u32,
    clients: u32,
    ended: Option<Ended>,
}

impl Observer<TNode> for PlanObserver {
    fn leads(&self, pid: ProcessId, procs: &dyn Procs<TNode>) -> bool {
        matches!(procs.get(pid), Some(TNode::Server(s)) if s.engine().is_leader())
    }
    fn liveness(&mut self, _now: Time, procs: &dyn Procs<TNode>) -> Progress {
        let clients: Vec<&PlanClient> = (self.servers..self.servers + self.clients)
            .map(|p| {
                procs
                    .get(ProcessId(p))
                    .and_then(TNode::client)
                    .expect("client")
            })
            .collect();
        if !clients.iter().all(|c| c.finished()) {
            return Progress::Waiting(Violation {
                check: "PlanUnfinished".into(),
                processes: vec![],
                detail: "a client still has steps or pending requests".into(),
            });
        }
        let servers: Vec<Option<&Server>> = (0..self.servers)
            .map(|p| procs.get(ProcessId(p)).and_then(TNode::server))
            .collect();
        let log_server = servers.iter().flatten().next().expect("a live server");
        let closes = log_server
            .engine()
            .log()
            .entries()
            .iter()
            .filter(|e| matches!(e.txn.body, datatree::TxnBody::CloseSession { .. }))
            .map(|e| (e.txn.session, e.txn.zxid))
            .collect();
        self.ended = Some(Ended {
            logs: clients.iter().map(|c| c.log.clone()).collect(),
            sessions: clients.iter().map(|c| c.session_ids()).collect(),
            servers: servers
                .iter()
                .map(|s| s.map(|s| (s.engine().last_applied_zxid(), s.app().clone())))
                .collect(),
            closes,
        });
        Progress::Done
    }
}

/// Runs 3 servers (p0..p2) and the planned clients (p3, …) with `faults` (node indices
/// name any process: servers first, then clients) during the first `safety_ms`.
fn run(clients: Vec<ClientSpec>, faults: Vec<Scheduled>, safety_ms: u64, seed: u64) -> Ended {
    let overrides = [
        format!("run.safety_ms={safety_ms}"),
        "run.liveness_ms=30000".to_string(),
        format!("workload.clients={}", clients.len()),
    ];
    let loaded = scenario::load("sessions", sim::zkscript::SCENARIO, &overrides).expect("scenario");
    let s = loaded.scenario.clone();
    let mut kernel = scenario::resolve(&s, seed, <Msg as proto::Message>::KINDS)
        .expect("resolves")
        .kernel;
    let n = 3 + clients.len() as u32;
    kernel.targets = (0..n).map(ProcessId).collect();
    kernel.schedule = faults;
    let mut server = sim::ensemble::server_factory(&s);
    let mut specs: Vec<Option<ClientSpec>> = clients.into_iter().map(Some).collect();
    let count = specs.len() as u32;
    let factory: Factory<TNode> = Box::new(move |pid| {
        if pid.0 < 3 {
            let sim::node::Node::Zab(srv) = server(pid) else {
                unreachable!("a server")
            };
            return TNode::Server(srv);
        }
        let spec = specs[(pid.0 - 3) as usize]
            .take()
            .expect("clients never restart");
        let config = HostConfig {
            servers: spec.servers.iter().map(|&i| ProcessId(i)).collect(),
            session_timeout_ms: spec.timeout_ms,
            reconnect_delay_ms: 100,
            max_pending: 64,
        };
        TNode::Client(Box::new(PlanClient {
            config,
            first_server: 0,
            plan: spec.plan.into_iter().collect(),
            host: None,
            log: Vec::new(),
        }))
    });
    let mut observer = PlanObserver {
        servers: 3,
        clients: count,
        ended: None,
    };
    let outcome = Sim::new(kernel, factory).run(&mut observer);
    assert_eq!(outcome.verdict, Verdict::Pass, "seed {seed}");
    observer.ended.expect("ended")
}

fn at(at_ms: u64, fault: Fault) -> Scheduled {
    Scheduled { at_ms, fault }
}

fn create(path: &str, mode: CreateMode) -> Step {
    Step::Submit(Op::Create {
        path: path.into(),
        data: b"x".to_vec(),
        mode,
    })
}

fn exists(path: &str, watch: bool) -> Step {
    Step::Submit(Op::Exists {
        path: path.into(),
        watch,
    })
}

fn results<'a>(log: &'a [(Time, Seen)], path: &str) -> Vec<(Time, &'a OpResult)> {
    log.iter()
        .filter_map(|(t, s)| match s {
            Seen::Done { op, result } if op.path() == Some(path) => Some((*t, result)),
            _ => None,
        })
        .collect()
}

fn states(log: &[(Time, Seen)]) -> Vec<SessionState> {
    log.iter()
        .filter_map(|(_, s)| match s {
            Seen::State(st) => Some(*st),
            _ => None,
        })
        .collect()
}

#[test]
fn a_partitioned_client_expires_its_ephemeral_is_deleted_once_and_it_is_told() {
    for seed in 1..=3 {
        // A (p3): 1 s session, creates /eph, then is cut off from everyone for 4 s.
        // B (p4): watches /eph and checks it before and after the expiry.
        let a = ClientSpec {
            timeout_ms: 1_000,
            servers: vec![0, 1, 2],
            plan: vec![(1_000, create("/eph", CreateMode::Ephemeral))],
        };
        let b = ClientSpec {
            timeout_ms: 4_000,
            servers: vec![1, 2, 0],
            plan: vec![
                (1_500, exists("/eph", true)),
                (6_500, exists("/eph", false)),
            ],
        };
        let isolate_a = Fault::PartitionIsolate {
            target: Target::Node(3),
            duration_ms: 4_000,
        };
        let e = run(vec![a, b], vec![at(2_000, isolate_a)], 7_000, seed);
        let (a_log, b_log) = (&e.logs[0], &e.logs[1]);
        let a_session = e.sessions[0][0];
        // A was told: Expired, after the partition healed at 6 s.
        let expired = a_log
            .iter()
            .find(|(_, s)| *s == Seen::State(SessionState::Expired))
            .unwrap_or_else(|| panic!("seed {seed}: A never learned it expired: {a_log:?}"));
        assert!(expired.0 >= Time(6_000 * NS_PER_MS), "seed {seed}");
        // Exactly one CloseSession for A's session, and one NodeDeleted event for B.
        let closes: Vec<_> = e.closes.iter().filter(|c| c.0 == a_session).collect();
        assert_eq!(closes.len(), 1, "seed {seed}: {:?}", e.closes);
        let deleted: Vec<_> = b_log
            .iter()
            .filter(|(_, s)| *s == Seen::Watch(EventType::NodeDeleted, "/eph".into()))
            .collect();
        assert_eq!(deleted.len(), 1, "seed {seed}: {b_log:?}");
        let seen = results(b_log, "/eph");
        assert!(matches!(seen[0].1, OpResult::Exists(Some(s)) if s.ephemeral_owner == a_session));
        assert_eq!(seen[1].1, &OpResult::Exists(None), "seed {seed}");
        // Every server: the node and the session are gone.
        for (i, s) in e.servers.iter().enumerate() {
            let (_, st) = s.as_ref().expect("no server crashed");
            assert!(!st.tree().exists("/eph"), "seed {seed}: p{i}");
            assert!(!st.session_live(a_session), "seed {seed}: p{i}");
            st.check_invariants();
        }
    }
}

#[test]
fn a_client_fails_over_to_another_server_without_expiring() {
    for seed in 1..=3 {
        // A is on p0, which crashes at 2 s (back at 5 s); A moves on with its session.
        let a = ClientSpec {
            timeout_ms: 4_000,
            servers: vec![0, 1, 2],
            plan: vec![
                (1_000, create("/e", CreateMode::Ephemeral)),
                (2_500, exists("/e", false)),
                (3_000, create("/after", CreateMode::Persistent)),
            ],
        };
        let crash = Fault::Crash {
            target: Target::Node(0),
            restart_after_ms: Some(3_000),
            tear: false,
        };
        let e = run(vec![a], vec![at(2_000, crash)], 6_000, seed);
        let log = &e.logs[0];
        let st = states(log);
        assert!(!st.contains(&SessionState::Expired), "seed {seed}: {log:?}");
        assert!(
            st.windows(2)
                .any(|w| w == [SessionState::Disconnected, SessionState::Connected]),
            "seed {seed}: reconnected: {st:?}"
        );
        let session = e.sessions[0][0];
        let owner_of_e = |i: usize| {
            let (_, s) = e.servers[i].as_ref().expect("up at the end");
            s.tree().stat("/e").map(|s| s.ephemeral_owner)
        };
        for i in 0..3 {
            assert_eq!(owner_of_e(i), Some(session), "seed {seed}: p{i} keeps /e");
        }
        assert!(matches!(
            results(log, "/after")[0].1,
            OpResult::Created { .. }
        ));
    }
}

#[test]
fn a_lagging_server_refuses_a_client_that_has_seen_more() {
    let mut refused_somewhere = false;
    for seed in 1..=4 {
        // p0 stops hearing the leader (p2) at 1 s; A, on p1, writes at 1.1 s and p1 crashes
        // at 1.3 s. A tries p0 next: p0 still serves (syncLimit is 1 s) but has not applied
        // A's write, so it must refuse; A then reaches p2 with its session intact.
        let a = ClientSpec {
            timeout_ms: 4_000,
            servers: vec![1, 0, 2],
            plan: vec![
                (1_100, create("/x", CreateMode::Persistent)),
                (1_600, exists("/x", false)),
            ],
        };
        let cut = Fault::PartitionOneWay {
            from: Some(vec![2]),
            to: Some(vec![0]),
            duration_ms: 3_000,
        };
        let crash = Fault::Crash {
            target: Target::Node(1),
            restart_after_ms: Some(2_000),
            tear: false,
        };
        let e = run(vec![a], vec![at(1_000, cut), at(1_300, crash)], 4_000, seed);
        let log = &e.logs[0];
        refused_somewhere |= log
            .iter()
            .any(|(_, s)| *s == Seen::Closed(ProcessId(0), CloseReason::ClientAhead));
        assert!(!states(log).contains(&SessionState::Expired), "seed {seed}");
        // Whatever server answered, A never read older state than its own write.
        let x = results(log, "/x");
        assert!(
            matches!(x[0].1, OpResult::Created { .. }),
            "seed {seed}: {log:?}"
        );
        assert!(
            matches!(x[1].1, OpResult::Exists(Some(_))),
            "seed {seed}: {log:?}"
        );
    }
    assert!(
        refused_somewhere,
        "no seed exercised the ClientAhead refusal"
    );
}

#[test]
fn a_watch_event_comes_before_newer_data_across_a_leader_change() {
    for seed in 1..=4 {
        // A watches /w; the leader crashes; B changes /w under the new leader; A keeps
        // reading /w. The event must be in A's log before any read that returns "1".
        let mut a_plan = vec![
            (
                1_000,
                Step::Submit(Op::Create {
                    path: "/w".into(),
                    data: b"0".to_vec(),
                    mode: CreateMode::Persistent,
                }),
            ),
            (
                1_100,
                Step::Submit(Op::GetData {
                    path: "/w".into(),
                    watch: true,
                }),
            ),
        ];
        for k in 0..30 {
            let read = Op::GetData {
                path: "/w".into(),
                watch: false,
            };
            a_plan.push((3_000 + 50 * k, Step::Submit(read)));
        }
        let a = ClientSpec {
            timeout_ms: 4_000,
            servers: vec![0, 1, 2],
            plan: a_plan,
        };
        let b = ClientSpec {
            timeout_ms: 4_000,
            servers: vec![1, 0, 2],
            plan: vec![(
                3_200,
                Step::Submit(Op::SetData {
                    path: "/w".into(),
                    data: b"1".to_vec(),
                    version: -1,
                }),
            )],
        };
        let crash = Fault::Crash {
            target: Target::Leader,
            restart_after_ms: Some(1_000),
            tear: false,
        };
        let e = run(vec![a, b], vec![at(1_500, crash)], 5_000, seed);
        let log = &e.logs[0];
        let event = log
            .iter()
            .position(|(_, s)| *s == Seen::Watch(EventType::NodeDataChanged, "/w".into()))
            .unwrap_or_else(|| panic!("seed {seed}: no event: {log:?}"));
        let first_new = log
            .iter()
            .position(|(_, s)| {
                matches!(s, Seen::Done { result: OpResult::Data { data, .. }, .. } if data == b"1")
            })
            .unwrap_or_else(|| panic!("seed {seed}: never read the new data: {log:?}"));
        assert!(
            event < first_new,
            "seed {seed}: event after newer data: {log:?}"
        );
        let events = log
            .iter()
            .filter(|(_, s)| matches!(s, Seen::Watch(..)))
            .count();
        assert_eq!(events, 1, "seed {seed}: one-shot");
    }
}
