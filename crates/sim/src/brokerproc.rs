//! A Kafka-style broker (issue 15) as a simulated process: a real ZooKeeper session
//! ([`ClientHost`]) against the ensemble, the `mq::Replica` of every partition assigned
//! to it with its log on the kernel's disk, and — when elected — the controller.
//!
//! ZooKeeper layout (Kafka's, anchors §7): the broker registers as ephemeral
//! `/brokers/ids/N` (data `s=<session>`: its registration); brokers race for the
//! ephemeral `/controller` (an `exists` watch on it) and the winner bumps the persistent
//! `/controller_epoch` by a conditional write. The controller watches `/brokers/ids`,
//! reads each member's registration, and every `reconcile_ms` (and on each membership
//! change) reads every partition's state `/brokers/topics/T/partitions/P/state`, elects a
//! leader from the live ISR when the leader is gone (`mq::state::elect`) by a `setData`
//! conditional on the state's version, and sends LeaderAndIsr with its epoch, the state,
//! its version and the addressed registration to the partition's live replicas. A broker
//! ignores LeaderAndIsr from an older controller epoch, for another registration, or of
//! an older leader epoch. A leader writes its ISR changes to the state znode conditionally
//! on the version it knows, and applies them once written (a BadVersion re-reads: its own
//! lost-answer write is adopted if the leader and epoch are still its own).
//!
//! Disk: each append and truncation is a disk entry; one fsync follows every handler that
//! wrote; `Replica::flushed` once it completes (per partition, unless the partition was
//! truncated since). A restart rebuilds the logs from the durable entries.
//! Invariants: at most one ZooKeeper op in flight and at most `JOBS_MAX` queued; at most
//! one ISR write in flight per partition; fsyncs complete in issue order; the controller
//! state exists only while this session holds `/controller` as far as the broker knows.

use std::collections::{BTreeMap, VecDeque};

use client::{Action, SessionState};
use mq::isr::IsrConfig;
use mq::replica::{Out as ReplicaOut, ProduceEnd, Replica};
use mq::state::{self, PartitionState};
use mq::wire::{
    CONSUMER_FETCH_MAX, ConsumerFetch, ConsumerFetchError, ConsumerFetchReply, DiskEntry, DiskOp,
    LeaderAndIsr, Msg as MqMsg, Part, Produce, ProduceReply,
};
use mq::{BrokerId, Protocol};
use proto::history::ClientNote;
use proto::wire::EventType;
use proto::zk::{CreateMode, Op, OpResult, SessionId, ZkError};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, TimerId, WriteId};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};

const TICK: TimerId = TimerId(150);
const RENEW: TimerId = TimerId(151);
const RECONCILE: TimerId = TimerId(152);
const REGISTER: TimerId = TimerId(153);
/// A broker whose `/brokers/ids/N` is still held by its previous session looks again
/// after this long (the node goes when that session expires).
const REGISTER_RETRY_MS: u64 = 200;
const RENEW_DELAY_MS: u64 = 100;
/// Most ZooKeeper jobs queued (a controller round is 1 + brokers + partitions of them).
pub const JOBS_MAX: usize = 4_096;
/// Most produces a broker keeps waiting for their replica's answer.
pub const PRODUCES_PENDING_MAX: usize = 1 << 16;

type Out = Outbox<Msg, Record, Note>;

/// A broker's settings (the same assignment for every process of the run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    pub me: BrokerId,
    /// Broker `i`'s process is `brokers[i]`.
    pub brokers: Vec<ProcessId>,
    /// Partition `p`'s replicas, in assignment order.
    pub assignment: Vec<Vec<BrokerId>>,
    pub partitions_per_topic: u32,
    pub isr: IsrConfig,
    pub tick_ms: u64,
    pub reconcile_ms: u64,
    /// The planted `kafka-zombie-controller`: a controller whose session ended keeps
    /// acting on its old epoch and membership, writes partition states unconditionally,
    /// and brokers take LeaderAndIsr without comparing controller epochs.
    pub zombie_controller: bool,
    /// `unclean.leader.election.enable`: with no live ISR member the controller lets the
    /// first live replica lead (`mq::state::elect_unclean`) and reports it to the history.
    pub unclean_leader_election: bool,
}

impl BrokerConfig {
    /// Partition `p`'s state znode.
    pub fn state_path(&self, p: Part) -> String {
        let (t, q) = (p / self.partitions_per_topic, p % self.partitions_per_topic);
        format!("/brokers/topics/t{t}/partitions/{q}/state")
    }

    /// Every persistent path above the state znodes, parents first.
    fn layout_paths(&self) -> Vec<String> {
        let mut paths = vec!["/brokers".to_string(), "/brokers/topics".to_string()];
        let topics = (self.assignment.len() as u32).div_ceil(self.partitions_per_topic);
        for t in 0..topics {
            paths.push(format!("/brokers/topics/t{t}"));
            paths.push(format!("/brokers/topics/t{t}/partitions"));
            for q in 0..self.partitions_per_topic {
                paths.push(format!("/brokers/topics/t{t}/partitions/{q}"));
            }
        }
        paths
    }

    fn broker_of(&self, pid: ProcessId) -> Option<BrokerId> {
        let i = self.brokers.iter().position(|&p| p == pid)?;
        Some(BrokerId(u32::try_from(i).expect("broker ids fit")))
    }
}

/// A ZooKeeper op the broker has queued, with what it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Job {
    /// Create a persistent node (NodeExists is fine).
    EnsurePath(String),
    Register,
    /// After a failed or unanswered Register: whose is `/brokers/ids/N`?
    CheckRegistration,
    WatchController,
    CreateController,
    ReadControllerEpoch,
    WriteControllerEpoch {
        value: u32,
        version: i32,
    },
    ListBrokers,
    ReadBroker(BrokerId),
    /// No op: the brokers read so far are the live set; read every state.
    Reconcile,
    ReadState(Part),
    WriteState {
        part: Part,
        state: PartitionState,
        version: i32,
        /// An unclean election (its leader is outside the ISR it replaces).
        unclean: bool,
    },
    IsrWrite {
        part: Part,
        state: PartitionState,
        version: i32,
    },
    IsrReread(Part),
}

/// What the broker knows of one of its partitions from LeaderAndIsr.
#[derive(Clone, Debug, Default)]
struct PartMeta {
    leader_epoch: Option<u32>,
    leader: Option<BrokerId>,
    zk_version: i32,
    isr_in_flight: bool,
    /// Bumped at each truncation: an fsync issued before it covers none of the new tail.
    truncations: u64,
}

/// The controller's state while this broker is elected (its view of ZooKeeper, which the
/// liveness check compares with the znodes after the heal).
#[derive(Clone, Debug)]
pub struct Controller {
    pub epoch: u32,
    /// Live brokers and their registrations.
    pub live: BTreeMap<BrokerId, u64>,
    /// The membership being read (ListBrokers → ReadBroker…).
    listing: BTreeMap<BrokerId, u64>,
    /// Each partition's state as last read or written, with its znode version.
    pub states: BTreeMap<Part, (PartitionState, i32)>,
}

/// An fsync in flight: what it makes durable.
#[derive(Clone, Debug)]
struct Flush {
    write: WriteId,
    /// (partition, log end, truncations then).
    upto: Vec<(Part, u64, u64)>,
}

pub struct Broker {
    config: BrokerConfig,
    host: Option<ClientHost>,
    replicas: BTreeMap<Part, Replica>,
    meta: BTreeMap<Part, PartMeta>,
    /// The highest controller epoch heard from.
    controller_epoch_seen: u32,
    /// This broker's registration (its session when `/brokers/ids/N` was created).
    registration: Option<u64>,
    jobs: VecDeque<Job>,
    in_flight: Option<(u64, Job)>,
    controller: Option<Controller>,
    /// Becoming controller: the `/controller` node is ours, the epoch not yet bumped.
    electing: bool,
    /// Produces waiting for their replica: broker-local id → (producer, its id, part).
    produces: BTreeMap<u64, (ProcessId, u64, Part)>,
    produce_seq: u64,
    /// Partitions written to disk since the last fsync: part → log end.
    dirty: BTreeMap<Part, u64>,
    flushes: VecDeque<Flush>,
    writes: u64,
    /// The high watermark last checkpointed per partition (`Protocol::HwTruncation` only).
    checkpointed: BTreeMap<Part, u64>,
    /// The latest unclean election this broker wrote as controller, per partition: its
    /// leader epoch (read by the online monitors: a leader of an older epoch may have lost
    /// its guarantees).
    unclean: BTreeMap<Part, u32>,
}

impl Broker {
    pub fn new(config: BrokerConfig) -> Broker {
        assert!(!config.servers.is_empty() && config.tick_ms > 0 && config.reconcile_ms > 0);
        assert!((config.me.0 as usize) < config.brokers.len());
        Broker {
            config,
            host: None,
            replicas: BTreeMap::new(),
            meta: BTreeMap::new(),
            controller_epoch_seen: 0,
            registration: None,
            jobs: VecDeque::new(),
            in_flight: None,
            controller: None,
            electing: false,
            produces: BTreeMap::new(),
            produce_seq: 0,
            dirty: BTreeMap::new(),
            flushes: VecDeque::new(),
            writes: 0,
            checkpointed: BTreeMap::new(),
            unclean: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> BrokerId {
        self.config.me
    }

    /// This broker's replica of `part`, if assigned.
    pub fn replica(&self, part: Part) -> Option<&Replica> {
        self.replicas.get(&part)
    }

    pub fn replicas(&self) -> &BTreeMap<Part, Replica> {
        &self.replicas
    }

    /// The controller epoch if this broker believes it is the controller.
    pub fn controller_epoch(&self) -> Option<u32> {
        self.controller.as_ref().map(|c| c.epoch)
    }

    /// The controller's view, if this broker believes it is the controller.
    pub fn controller(&self) -> Option<&Controller> {
        self.controller.as_ref()
    }

    /// Controller: `part`'s state is `state` at znode `version` (read or written).
    fn cache_state(&mut self, part: Part, state: &PartitionState, version: i32) {
        if let Some(c) = self.controller.as_mut() {
            c.states.insert(part, (state.clone(), version));
        }
    }

    /// The latest unclean election this broker wrote per partition (its leader epoch).
    pub fn unclean_elections(&self) -> &BTreeMap<Part, u32> {
        &self.unclean
    }

    /// Its registration (`/brokers/ids/N` created by this session), if registered.
    pub fn registration(&self) -> Option<u64> {
        self.registration
    }

    fn host(&mut self) -> &mut ClientHost {
        self.host.as_mut().expect("started")
    }

    fn session(&self) -> Option<SessionId> {
        self.host.as_ref()?.session().session_id()
    }

    fn connected(&self) -> bool {
        self.host
            .as_ref()
            .is_some_and(|h| h.session().state() == SessionState::Connected)
    }

    fn push(&mut self, job: Job) {
        if self.jobs.contains(&job) || self.in_flight.as_ref().is_some_and(|(_, j)| *j == job) {
            return; // the same op is queued already
        }
        assert!(self.jobs.len() < JOBS_MAX, "broker job queue full");
        self.jobs.push_back(job);
    }

    fn op_of(&self, job: &Job) -> Option<Op> {
        let persistent = |path: &str, data: Vec<u8>| Op::Create {
            path: path.to_string(),
            data,
            mode: CreateMode::Persistent,
        };
        Some(match job {
            Job::EnsurePath(p) => persistent(p, Vec::new()),
            Job::Register => Op::Create {
                path: format!("/brokers/ids/{}", self.config.me.0),
                data: format!("s={}", self.session()?.0).into_bytes(),
                mode: CreateMode::Ephemeral,
            },
            Job::CheckRegistration => Op::Exists {
                path: format!("/brokers/ids/{}", self.config.me.0),
                watch: false,
            },
            Job::WatchController => Op::Exists {
                path: "/controller".into(),
                watch: true,
            },
            Job::CreateController => Op::Create {
                path: "/controller".into(),
                data: format!("b={}", self.config.me.0).into_bytes(),
                mode: CreateMode::Ephemeral,
            },
            Job::ReadControllerEpoch => Op::GetData {
                path: "/controller_epoch".into(),
                watch: false,
            },
            Job::WriteControllerEpoch { value, version } if *version < 0 => {
                persistent("/controller_epoch", value.to_string().into_bytes())
            }
            Job::WriteControllerEpoch { value, version } => Op::SetData {
                path: "/controller_epoch".into(),
                data: value.to_string().into_bytes(),
                version: *version,
            },
            Job::ListBrokers => Op::GetChildren {
                path: "/brokers/ids".into(),
                watch: true,
            },
            Job::ReadBroker(b) => Op::GetData {
                path: format!("/brokers/ids/{}", b.0),
                watch: false,
            },
            Job::Reconcile => return None,
            Job::ReadState(p) | Job::IsrReread(p) => Op::GetData {
                path: self.config.state_path(*p),
                watch: false,
            },
            Job::WriteState {
                part,
                state,
                version,
                ..
            }
            | Job::IsrWrite {
                part,
                state,
                version,
            } => {
                let data = state.to_text().into_bytes();
                if *version < 0 {
                    persistent(&self.config.state_path(*part), data)
                } else if self.config.zombie_controller && matches!(job, Job::WriteState { .. }) {
                    Op::SetData {
                        path: self.config.state_path(*part),
                        data,
                        version: -1, // unconditional: no version check
                    }
                } else {
                    Op::SetData {
                        path: self.config.state_path(*part),
                        data,
                        version: *version,
                    }
                }
            }
        })
    }

    /// Submits the next queued job while connected and nothing is in flight.
    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        for _ in 0..JOBS_MAX {
            if self.in_flight.is_some() || !self.connected() {
                return;
            }
            let Some(job) = self.jobs.pop_front() else {
                return;
            };
            let Some(op) = self.op_of(&job) else {
                self.reconcile();
                continue;
            };
            let (xid, actions) = self.host().submit(ctx, op, out);
            self.in_flight = Some((xid, job));
            self.handle(ctx, actions, out);
            return;
        }
    }

    /// Controller: the membership read is complete; read every partition's state.
    fn reconcile(&mut self) {
        let Some(c) = self.controller.as_mut() else {
            return;
        };
        c.live = std::mem::take(&mut c.listing);
        for p in 0..self.config.assignment.len() as Part {
            self.push(Job::ReadState(p));
        }
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed { xid, result, .. } => self.completed(ctx, xid, result, out),
                Action::Watch(w) => match (w.kind, w.path.as_str()) {
                    (EventType::NodeDeleted, "/controller") => self.push(Job::WatchController),
                    (_, "/controller") => self.push(Job::WatchController),
                    (EventType::NodeChildrenChanged, "/brokers/ids") => self.push(Job::ListBrokers),
                    _ => {}
                },
                Action::State(SessionState::Connected) => {
                    let session = self.session().expect("connected").0;
                    if self.registration != Some(session) && !self.jobs.contains(&Job::Register) {
                        for p in ["/brokers", "/brokers/ids"] {
                            self.push(Job::EnsurePath(p.to_string()));
                        }
                        self.push(Job::Register);
                        self.push(Job::WatchController);
                    }
                }
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.session_lost();
                    out.set_timer(RENEW, ctx.mono.plus_ns(RENEW_DELAY_MS * NS_PER_MS));
                }
                _ => {}
            }
        }
        self.drive(ctx, out);
    }

    /// The session ended: registration, controllership and queued ZooKeeper work go
    /// with it (the replicas keep their roles until the next LeaderAndIsr).
    fn session_lost(&mut self) {
        self.registration = None;
        if !self.config.zombie_controller {
            self.controller = None;
        }
        self.electing = false;
        self.jobs.clear();
        self.in_flight = None;
        for m in self.meta.values_mut() {
            m.isr_in_flight = false;
        }
    }

    fn completed(&mut self, ctx: &mut Ctx, xid: u64, result: OpResult, out: &mut Out) {
        let Some((want, job)) = self.in_flight.take() else {
            return;
        };
        if want != xid {
            self.in_flight = Some((want, job));
            return; // an op of a session that ended
        }
        let err = match &result {
            OpResult::Err(e) => Some(*e),
            _ => None,
        };
        match job {
            Job::EnsurePath(p) => {
                if !matches!(err, None | Some(ZkError::NodeExists)) {
                    self.jobs.push_front(Job::EnsurePath(p));
                }
            }
            Job::Register => match err {
                None => self.registration = self.session().map(|s| s.0),
                Some(_) => self.jobs.push_front(Job::CheckRegistration),
            },
            Job::CheckRegistration => match result {
                OpResult::Exists(Some(stat)) if Some(stat.ephemeral_owner) == self.session() => {
                    self.registration = self.session().map(|s| s.0);
                }
                // The node of this broker's previous session: wait for its expiry.
                OpResult::Exists(Some(_)) => {
                    out.set_timer(REGISTER, ctx.mono.plus_ns(REGISTER_RETRY_MS * NS_PER_MS))
                }
                OpResult::Exists(None) => self.jobs.push_front(Job::Register),
                _ => self.jobs.push_front(Job::CheckRegistration),
            },
            Job::WatchController => match result {
                OpResult::Exists(None) => self.push(Job::CreateController),
                OpResult::Exists(Some(stat)) => {
                    let mine = Some(stat.ephemeral_owner) == self.session();
                    if mine && self.controller.is_none() && !self.electing {
                        self.electing = true;
                        self.push(Job::ReadControllerEpoch);
                    }
                }
                _ => self.push(Job::WatchController),
            },
            Job::CreateController => match err {
                None => {
                    self.controller = None; // a zombie's old controllership ends here
                    self.electing = true;
                    self.push(Job::ReadControllerEpoch);
                }
                Some(_) => self.push(Job::WatchController),
            },
            Job::ReadControllerEpoch => match result {
                OpResult::Data { data, stat } => {
                    let old: u32 = std::str::from_utf8(&data)
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    let value = old.checked_add(1).expect("controller epochs fit");
                    let version = stat.version;
                    self.push(Job::WriteControllerEpoch { value, version });
                }
                OpResult::Err(ZkError::NoNode) => self.push(Job::WriteControllerEpoch {
                    value: 1,
                    version: -1,
                }),
                _ => self.push(Job::ReadControllerEpoch),
            },
            Job::WriteControllerEpoch { value, .. } => match err {
                None => {
                    self.electing = false;
                    self.controller = Some(Controller {
                        epoch: value,
                        live: BTreeMap::new(),
                        listing: BTreeMap::new(),
                        states: BTreeMap::new(),
                    });
                    self.controller_epoch_seen = self.controller_epoch_seen.max(value);
                    for p in self.config.layout_paths() {
                        self.push(Job::EnsurePath(p));
                    }
                    self.push(Job::ListBrokers);
                    out.set_timer(
                        RECONCILE,
                        ctx.mono.plus_ns(self.config.reconcile_ms * NS_PER_MS),
                    );
                }
                Some(_) => self.push(Job::ReadControllerEpoch),
            },
            Job::ListBrokers => match result {
                OpResult::Children(names) => {
                    if let Some(c) = self.controller.as_mut() {
                        c.listing.clear();
                    }
                    for n in names {
                        if let Ok(id) = n.parse::<u32>() {
                            self.push(Job::ReadBroker(BrokerId(id)));
                        }
                    }
                    self.push(Job::Reconcile);
                }
                _ => self.push(Job::ListBrokers),
            },
            Job::ReadBroker(b) => {
                if !matches!(
                    result,
                    OpResult::Data { .. } | OpResult::Err(ZkError::NoNode)
                ) {
                    self.jobs.push_front(Job::ReadBroker(b)); // before the Reconcile
                }
                if let OpResult::Data { data, .. } = result {
                    let reg = std::str::from_utf8(&data)
                        .ok()
                        .and_then(|t| t.strip_prefix("s="))
                        .and_then(|s| s.parse().ok());
                    if let (Some(c), Some(reg)) = (self.controller.as_mut(), reg) {
                        c.listing.insert(b, reg);
                    }
                }
            }
            Job::Reconcile => unreachable!("no op"),
            Job::ReadState(p) => self.controller_read_state(ctx, p, result, out),
            Job::WriteState {
                part,
                state,
                unclean,
                ..
            } => match result {
                OpResult::Stat(stat) => {
                    if unclean {
                        note_unclean(part, &state, out);
                        let e = self.unclean.entry(part).or_default();
                        *e = (*e).max(state.leader_epoch);
                    }
                    self.cache_state(part, &state, stat.version);
                    self.send_leader_and_isr(ctx, part, &state, stat.version, out)
                }
                OpResult::Created { .. } => {
                    self.cache_state(part, &state, 0);
                    self.send_leader_and_isr(ctx, part, &state, 0, out)
                }
                _ => self.push(Job::ReadState(part)),
            },
            Job::IsrWrite { part, state, .. } => match result {
                OpResult::Stat(stat) => self.isr_written(ctx, part, &state, stat.version, out),
                _ => self.push(Job::IsrReread(part)),
            },
            Job::IsrReread(part) => match result {
                OpResult::Data { data, stat } => {
                    if let Some(state) = PartitionState::parse(&data) {
                        self.isr_written(ctx, part, &state, stat.version, out);
                    }
                    if let Some(m) = self.meta.get_mut(&part) {
                        m.isr_in_flight = false;
                    }
                }
                _ => self.push(Job::IsrReread(part)),
            },
        }
    }

    /// Controller: partition `p`'s state read; elect or announce.
    fn controller_read_state(&mut self, ctx: &mut Ctx, p: Part, result: OpResult, out: &mut Out) {
        if let OpResult::Data { data, stat } = &result
            && let Some(cur) = PartitionState::parse(data)
        {
            self.cache_state(p, &cur, stat.version);
        }
        let Some(c) = self.controller.as_ref() else {
            return;
        };
        let live = &c.live;
        let assigned = &self.config.assignment[p as usize];
        let epoch = c.epoch;
        match result {
            OpResult::Data { data, stat } => match PartitionState::parse(&data) {
                Some(cur) => {
                    // Offline (or staying so) with no live ISR member: an unclean
                    // election, when enabled and some replica lives.
                    let clean = state::elect(&cur, assigned, live, epoch);
                    let offline = clean
                        .as_ref()
                        .map_or(cur.leader.is_none(), |s| s.leader.is_none());
                    let unclean = (offline && self.config.unclean_leader_election)
                        .then(|| state::elect_unclean(&cur, assigned, live, epoch))
                        .flatten();
                    let next = match unclean {
                        Some(s) => Some((s, true)),
                        None => clean.map(|s| (s, false)),
                    };
                    match next {
                        Some((next, unclean)) => self.push(Job::WriteState {
                            part: p,
                            state: next,
                            version: stat.version,
                            unclean,
                        }),
                        None => self.send_leader_and_isr(ctx, p, &cur, stat.version, out),
                    }
                }
                None => panic!("partition {p}'s state znode holds {data:?}"),
            },
            OpResult::Err(ZkError::NoNode) => {
                if let Some(first) = state::initial(assigned, live, epoch) {
                    self.push(Job::WriteState {
                        part: p,
                        state: first,
                        version: -1,
                        unclean: false,
                    });
                }
            }
            _ => self.push(Job::ReadState(p)),
        }
    }

    /// Controller: LeaderAndIsr for `p` to its live replicas (this broker's own handled
    /// on the spot).
    fn send_leader_and_isr(
        &mut self,
        ctx: &mut Ctx,
        p: Part,
        s: &PartitionState,
        version: i32,
        out: &mut Out,
    ) {
        let Some(c) = self.controller.as_ref() else {
            return;
        };
        let mut own = None;
        for b in &self.config.assignment[p as usize] {
            let Some(&registration) = c.live.get(b) else {
                continue;
            };
            let req = LeaderAndIsr {
                controller_epoch: c.epoch,
                part: p,
                state: s.clone(),
                zk_version: version,
                registration,
            };
            if *b == self.config.me {
                own = Some(req);
            } else {
                let to = self.config.brokers[b.0 as usize];
                out.send(to, Msg::mq(MqMsg::LeaderAndIsr(req)));
            }
        }
        if let Some(req) = own {
            self.on_leader_and_isr(ctx, req, out);
        }
    }

    /// LeaderAndIsr from a controller (see the module header for what is ignored).
    fn on_leader_and_isr(&mut self, ctx: &mut Ctx, req: LeaderAndIsr, out: &mut Out) {
        if self.registration != Some(req.registration)
            || (req.controller_epoch < self.controller_epoch_seen && !self.config.zombie_controller)
        {
            return;
        }
        self.controller_epoch_seen = self.controller_epoch_seen.max(req.controller_epoch);
        let p = req.part;
        let Some(replica) = self.replicas.get_mut(&p) else {
            return; // not a replica of it (a controller's mistake would be caught by tests)
        };
        let meta = self.meta.entry(p).or_default();
        let s = &req.state;
        match meta.leader_epoch {
            Some(e) if s.leader_epoch < e => return,
            Some(e) if s.leader_epoch == e => {
                meta.zk_version = meta.zk_version.max(req.zk_version);
                return;
            }
            _ => {}
        }
        meta.leader_epoch = Some(s.leader_epoch);
        meta.leader = s.leader;
        meta.zk_version = req.zk_version;
        meta.isr_in_flight = false;
        // Produces waiting at this replica's old role are dropped: their producers retry.
        self.produces.retain(|_, (_, _, part)| *part != p);
        let mut outs = Vec::new();
        match s.leader {
            Some(l) if l == self.config.me => {
                let assigned = &self.config.assignment[p as usize];
                replica.become_leader(s.leader_epoch, assigned, &s.isr, ctx.mono.ns());
            }
            Some(l) => replica.become_follower(l, s.leader_epoch, &mut outs),
            None => replica.go_offline(),
        }
        self.carry_out(ctx, p, outs, out);
    }

    /// The leader's ISR change for `part` is in the state znode at `version` (written, or
    /// read back): applied if this broker still leads that epoch.
    fn isr_written(
        &mut self,
        ctx: &mut Ctx,
        part: Part,
        state: &PartitionState,
        version: i32,
        out: &mut Out,
    ) {
        let Some(meta) = self.meta.get_mut(&part) else {
            return;
        };
        meta.isr_in_flight = false;
        let ours = state.leader == Some(self.config.me)
            && meta.leader_epoch == Some(state.leader_epoch)
            && meta.leader == Some(self.config.me);
        if !ours {
            return; // the controller moved on: its LeaderAndIsr tells
        }
        meta.zk_version = meta.zk_version.max(version);
        let mut outs = Vec::new();
        self.replicas
            .get_mut(&part)
            .expect("a replica of its partition")
            .isr_written(&state.isr, &mut outs);
        self.carry_out(ctx, part, outs, out);
    }

    /// Carries out replica `p`'s outputs: sends, ISR proposals, produce answers, disk
    /// writes (followed by one fsync per handler: see `flush`).
    fn carry_out(&mut self, _ctx: &mut Ctx, p: Part, outs: Vec<ReplicaOut>, out: &mut Out) {
        for o in outs {
            match o {
                ReplicaOut::Send { to, msg } => {
                    let to = self.config.brokers[to.0 as usize];
                    out.send(to, Msg::mq(MqMsg::Replica { part: p, wire: msg }));
                }
                ReplicaOut::ProposeIsr(isr) => {
                    let meta = self.meta.entry(p).or_default();
                    let (Some(epoch), false) = (meta.leader_epoch, meta.isr_in_flight) else {
                        continue;
                    };
                    meta.isr_in_flight = true;
                    let Some(reg) = self.registration else {
                        continue; // no session to write with
                    };
                    let state = PartitionState::new(
                        Some(self.config.me),
                        epoch,
                        &isr,
                        self.controller_epoch_seen,
                        reg,
                    );
                    let version = meta.zk_version;
                    self.push(Job::IsrWrite {
                        part: p,
                        state,
                        version,
                    });
                }
                ReplicaOut::Produced { id, end } => {
                    let Some((producer, their_id, part)) = self.produces.remove(&id) else {
                        continue;
                    };
                    assert_eq!(part, p, "a produce answered by another partition");
                    let leader = self.meta.get(&p).and_then(|m| m.leader);
                    let reply = ProduceReply {
                        id: their_id,
                        part: p,
                        end,
                        leader,
                    };
                    out.send(producer, Msg::mq(MqMsg::ProduceReply(reply)));
                }
                ReplicaOut::Appended { from, to } => {
                    let log = self.replicas[&p].log();
                    for r in log.from(from, (to - from) as usize) {
                        out.append(Record::Mq(Box::new(DiskEntry {
                            part: p,
                            op: DiskOp::Append(*r),
                        })));
                    }
                    self.dirty.insert(p, to);
                }
                ReplicaOut::Truncated { to } => {
                    out.append(Record::Mq(Box::new(DiskEntry {
                        part: p,
                        op: DiskOp::Truncate(to),
                    })));
                    self.meta.entry(p).or_default().truncations += 1;
                    self.dirty.remove(&p);
                }
            }
        }
    }

    /// One fsync for everything written since the last (if anything was). Under
    /// `Protocol::HwTruncation` each replica's moved high watermark is checkpointed first
    /// (made durable by this fsync or the next).
    fn flush(&mut self, out: &mut Out) {
        if self.config.isr.protocol == Protocol::HwTruncation {
            for (p, r) in &self.replicas {
                if self.checkpointed.get(p) != Some(&r.hw()) {
                    self.checkpointed.insert(*p, r.hw());
                    out.append(Record::Mq(Box::new(DiskEntry {
                        part: *p,
                        op: DiskOp::Checkpoint(r.hw()),
                    })));
                }
            }
        }
        if self.dirty.is_empty() {
            return;
        }
        self.writes += 1;
        let write = WriteId(self.writes);
        let upto = std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|(p, end)| (p, end, self.meta.get(&p).map_or(0, |m| m.truncations)))
            .collect();
        out.fsync(write);
        self.flushes.push_back(Flush { write, upto });
    }

    fn on_produce(&mut self, ctx: &mut Ctx, from: ProcessId, req: Produce, out: &mut Out) {
        let Some(replica) = self.replicas.get_mut(&req.part) else {
            let reply = ProduceReply {
                id: req.id,
                part: req.part,
                end: ProduceEnd::NotLeader,
                leader: None,
            };
            out.send(from, Msg::mq(MqMsg::ProduceReply(reply)));
            return;
        };
        assert!(
            self.produces.len() < PRODUCES_PENDING_MAX,
            "too many produces pending"
        );
        self.produce_seq += 1;
        let id = self.produce_seq;
        self.produces.insert(id, (from, req.id, req.part));
        let mut outs = Vec::new();
        replica.produce(id, (req.key, req.value), req.acks_all, &mut outs);
        self.carry_out(ctx, req.part, outs, out);
    }

    /// A consumer's fetch: served only by the leader of the consumer's epoch, and only
    /// with records below its high watermark (what every ISR member holds).
    fn on_consumer_fetch(&self, from: ProcessId, req: &ConsumerFetch, out: &mut Out) {
        let leading = self
            .replicas
            .get(&req.part)
            .and_then(|r| Some((r, r.leading()?)));
        let reply = match leading {
            Some((r, lead)) if lead.epoch == req.epoch => {
                assert!(lead.hw <= r.log().leo(), "a leader's HW past its log end");
                let n = lead.hw.saturating_sub(req.offset);
                let n =
                    usize::try_from(n).map_or(CONSUMER_FETCH_MAX, |n| n.min(CONSUMER_FETCH_MAX));
                let records = if n > 0 {
                    r.log().from(req.offset, n).to_vec()
                } else {
                    Vec::new()
                };
                assert!(
                    records.iter().all(|x| x.offset < lead.hw),
                    "served above the HW"
                );
                ConsumerFetchReply {
                    id: req.id,
                    part: req.part,
                    epoch: req.epoch,
                    log_end: r.log().leo(),
                    records,
                    hw: lead.hw,
                    error: None,
                }
            }
            _ => ConsumerFetchReply {
                id: req.id,
                part: req.part,
                epoch: req.epoch,
                log_end: 0,
                records: Vec::new(),
                hw: 0,
                error: Some(ConsumerFetchError::NotLeader),
            },
        };
        out.send(from, Msg::mq(MqMsg::ConsumerFetchReply(reply)));
    }

    fn tick(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let now = ctx.mono.ns();
        let parts: Vec<Part> = self.replicas.keys().copied().collect();
        for p in parts {
            let mut outs = Vec::new();
            self.replicas
                .get_mut(&p)
                .expect("listed")
                .tick(now, &mut outs);
            self.carry_out(ctx, p, outs, out);
        }
        out.set_timer(TICK, ctx.mono.plus_ns(self.config.tick_ms * NS_PER_MS));
    }

    fn check_invariants(&self) {
        assert!(self.jobs.len() <= JOBS_MAX);
        assert!(
            self.controller.is_none() || !self.electing,
            "electing while controller"
        );
        for (p, r) in &self.replicas {
            assert!(
                r.durable() <= r.log().leo(),
                "partition {p}: durable past the end"
            );
            assert!(r.hw() <= r.log().leo(), "partition {p}: HW past the end");
        }
    }
}

impl Process for Broker {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, disk: Recovered<'_, Record>, out: &mut Out) {
        let mut logs = mq::wire::recover(Record::mq_entries(disk.records));
        let hws = mq::wire::recover_hw(Record::mq_entries(disk.records));
        for (p, assigned) in self.config.assignment.iter().enumerate() {
            if assigned.contains(&self.config.me) {
                let p = p as Part;
                let log = logs.remove(&p).unwrap_or_default();
                let hw = hws.get(&p).map_or(0, |&hw| hw.min(log.leo()));
                self.checkpointed.insert(p, hw);
                let replica = Replica::new(self.config.me, self.config.isr, log, hw);
                self.replicas.insert(p, replica);
            }
        }
        assert!(
            logs.is_empty(),
            "a disk entry of a partition not assigned here"
        );
        let config = HostConfig {
            servers: self.config.servers.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            reconnect_delay_ms: 200,
            max_pending: 4,
        };
        self.host = Some(ClientHost::new(ctx, config, 0));
        out.set_timer(TICK, ctx.mono.plus_ns(self.config.tick_ms * NS_PER_MS));
        let actions = self.host().start(ctx, out);
        self.handle(ctx, actions, out);
        self.flush(out);
        self.check_invariants();
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        match msg {
            Msg::Mq(m) => match *m {
                MqMsg::LeaderAndIsr(req) => self.on_leader_and_isr(ctx, req, out),
                MqMsg::Replica { part, wire } => {
                    let (Some(b), Some(r)) =
                        (self.config.broker_of(from), self.replicas.get_mut(&part))
                    else {
                        return;
                    };
                    let mut outs = Vec::new();
                    r.on_message(b, wire, ctx.mono.ns(), &mut outs);
                    self.carry_out(ctx, part, outs, out);
                }
                MqMsg::Produce(req) => self.on_produce(ctx, from, req, out),
                MqMsg::ConsumerFetch(req) => self.on_consumer_fetch(from, &req, out),
                MqMsg::ProduceReply(_) | MqMsg::ConsumerFetchReply(_) => {}
            },
            other => {
                let actions = self.host().on_message(ctx, from, other, out);
                self.handle(ctx, actions, out);
            }
        }
        self.drive(ctx, out);
        self.flush(out);
        self.check_invariants();
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        if ClientHost::id_of_timer(timer).is_some() {
            let actions = self.host().on_timer(ctx, out);
            self.handle(ctx, actions, out);
        } else if timer == RENEW {
            if !self.host().session().is_alive() {
                let actions = self.host().renew(ctx, out);
                self.handle(ctx, actions, out);
            }
        } else if timer == REGISTER && self.registration.is_none() {
            self.push(Job::Register);
        } else if timer == TICK {
            self.tick(ctx, out);
        } else if timer == RECONCILE && self.controller.is_some() {
            self.reconcile_later();
            out.set_timer(
                RECONCILE,
                ctx.mono.plus_ns(self.config.reconcile_ms * NS_PER_MS),
            );
        }
        self.drive(ctx, out);
        self.flush(out);
        self.check_invariants();
    }

    fn on_disk_done(&mut self, ctx: &mut Ctx, write: WriteId, out: &mut Out) {
        while self.flushes.front().is_some_and(|f| f.write <= write) {
            let f = self.flushes.pop_front().expect("checked");
            for (p, end, truncations) in f.upto {
                if self.meta.get(&p).map_or(0, |m| m.truncations) != truncations {
                    continue; // truncated since: this fsync covers none of the new tail
                }
                let mut outs = Vec::new();
                if let Some(r) = self.replicas.get_mut(&p) {
                    r.flushed(end, &mut outs);
                }
                self.carry_out(ctx, p, outs, out);
            }
        }
        self.drive(ctx, out);
        self.flush(out);
        self.check_invariants();
    }

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        if self.config.servers.contains(&peer) {
            let actions = self.host().on_disconnect(ctx, peer, out);
            self.handle(ctx, actions, out);
            self.drive(ctx, out);
            self.flush(out);
        }
    }
}

/// Reports an unclean election written for `part` to the history.
fn note_unclean(part: Part, s: &PartitionState, out: &mut Out) {
    let leader = s.leader.expect("an unclean election names a leader").0;
    out.note(Note::client(ClientNote::MqUnclean {
        part,
        epoch: s.leader_epoch,
        leader,
    }));
}

impl Broker {
    /// Controller: re-read every partition's state (the periodic reconcile), unless a
    /// round is queued already.
    fn reconcile_later(&mut self) {
        if !self.jobs.iter().any(|j| matches!(j, Job::ReadState(_))) {
            for p in 0..self.config.assignment.len() as Part {
                self.push(Job::ReadState(p));
            }
        }
    }
}
