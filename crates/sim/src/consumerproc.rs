//! A message-queue consumer in a consumer group (issue 15) as a simulated process: the old
//! ZooKeeper-based Kafka high-level consumer (before 0.9) on a real ZooKeeper session
//! ([`ClientHost`]), fetching from the partition leaders.
//!
//! ZooKeeper layout (anchors §7): the consumer registers as ephemeral
//! `/consumers/G/ids/<id>` (id `cNNN-<session>`, so ids sort by consumer index), lists
//! the ids with a watch (and lists again on every watch event), and computes the range
//! assignment: per topic, the sorted partitions split into contiguous ranges over the
//! sorted ids ([`range_assignment`]). It releases a partition no longer assigned to it —
//! stops fetching, commits its offset, then deletes its ephemeral
//! `/consumers/G/owners/T/P` — and claims one newly assigned by creating that ephemeral
//! node (on NodeExists it checks whose it is and retries after [`CLAIM_RETRY_MS`] while the
//! previous owner releases or its session expires). Once it owns a partition it reads the
//! committed offset `/consumers/G/offsets/T/P` (0 when absent) and the partition's state
//! znode with a watch (the leader and leader epoch; read again on every watch event, on a
//! broker's NotLeader answer and on a fetch that timed out), fetches from the leader
//! (records below its high watermark only), processes each record in offset order
//! (`ClientNote::MqConsumed`) and, every `commit_ms`, commits the next offset by a
//! `setData` conditional on the offsets znode's version (a create when absent) — only
//! while it owns the partition. A BadVersion (another owner wrote) or a lost answer reads
//! the offset again. Successful commits go to the history (`ClientNote::MqCommitted`).
//! A release whose delete failed or lost its answer checks whose the owner node is before
//! deleting again: a blind retry deleted the next owner's node (mq.toml seed 52: the
//! first delete had been applied and another consumer had claimed the partition since).
//!
//! A session that ends takes the registration, every ownership and every position with
//! it (the servers deleted the ephemerals): the next session registers again and the group
//! rebalances; a new owner starts at the committed offset, so records consumed after the
//! last commit are consumed again (at least once). A crashed consumer restarts empty.
//! Invariants: at most one ZooKeeper op in flight and at most [`JOBS_MAX`] queued; at most
//! one fetch in flight per partition; a position only moves forward, one record at a
//! time; a commit is only sent for a partition owned in the current session; nothing is
//! fetched for a partition being released.

use std::collections::{BTreeMap, VecDeque};

use client::{Action, SessionState};
use mq::BrokerId;
use mq::state::PartitionState;
use mq::wire::{ConsumerFetch, ConsumerFetchReply, Msg as MqMsg, Part};
use proto::history::ClientNote;
use proto::wire::EventType;
use proto::zk::{CreateMode, Op, OpResult, SessionId, ZkError};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, TimerId, WriteId, Zxid};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};

const TICK: TimerId = TimerId(170);
const COMMIT: TimerId = TimerId(171);
const RENEW: TimerId = TimerId(172);
const CLAIM: TimerId = TimerId(173);
const RENEW_DELAY_MS: u64 = 100;
/// A claim that found another owner's node tries again after this long.
pub const CLAIM_RETRY_MS: u64 = 100;
/// Most ZooKeeper jobs queued (a rebalance is a few per partition).
pub const JOBS_MAX: usize = 1_024;

type Out = Outbox<Msg, Record, Note>;

/// A consumer's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    /// This consumer's number in the group (its ids' prefix).
    pub index: u32,
    /// The group's name (`/consumers/<group>`).
    pub group: String,
    /// Broker `i`'s process is `brokers[i]`.
    pub brokers: Vec<ProcessId>,
    pub topics: u32,
    pub partitions_per_topic: u32,
    /// Every owned partition's position is committed this often (when it moved).
    pub commit_ms: u64,
    /// A partition whose fetch came back empty is fetched again after this long.
    pub poll_ms: u64,
    /// A fetch unanswered this long is given up (and the leader read again).
    pub fetch_timeout_ms: u64,
}

impl ConsumerConfig {
    fn topic_of(&self, p: Part) -> (u32, u32) {
        (p / self.partitions_per_topic, p % self.partitions_per_topic)
    }

    pub fn parts(&self) -> u32 {
        self.topics * self.partitions_per_topic
    }

    pub fn ids_path(&self) -> String {
        format!("/consumers/{}/ids", self.group)
    }

    pub fn owner_path(&self, p: Part) -> String {
        let (t, q) = self.topic_of(p);
        format!("/consumers/{}/owners/t{t}/{q}", self.group)
    }

    pub fn offset_path(&self, p: Part) -> String {
        let (t, q) = self.topic_of(p);
        format!("/consumers/{}/offsets/t{t}/{q}", self.group)
    }

    /// Partition `p`'s state znode (as the brokers write it).
    pub fn state_path(&self, p: Part) -> String {
        let (t, q) = self.topic_of(p);
        format!("/brokers/topics/t{t}/partitions/{q}/state")
    }

    /// The persistent nodes above the group's ephemerals and offsets, parents first.
    fn layout_paths(&self) -> Vec<String> {
        let g = format!("/consumers/{}", self.group);
        let mut paths = vec![
            "/consumers".to_string(),
            g.clone(),
            format!("{g}/ids"),
            format!("{g}/owners"),
            format!("{g}/offsets"),
        ];
        for t in 0..self.topics {
            paths.push(format!("{g}/owners/t{t}"));
            paths.push(format!("{g}/offsets/t{t}"));
        }
        paths
    }

    /// The member id of this consumer in `session`.
    pub fn member_id(&self, session: SessionId) -> String {
        format!("c{:03}-{:x}", self.index, session.0)
    }
}

/// The range assignment of the old Kafka consumer: per topic, its partitions in order
/// split over the sorted `members`, the first `partitions % members` members getting one
/// more; `me`'s partitions (world numbers, ascending). None for a member not listed.
pub fn range_assignment(members: &[String], me: &str, topics: u32, per_topic: u32) -> Vec<Part> {
    let mut sorted: Vec<&String> = members.iter().collect();
    sorted.sort();
    sorted.dedup();
    let Some(i) = sorted.iter().position(|m| m.as_str() == me) else {
        return Vec::new();
    };
    let (n, i) = (sorted.len() as u32, i as u32);
    let (each, extra) = (per_topic / n, per_topic % n);
    let start = i * each + i.min(extra);
    let count = each + u32::from(i < extra);
    assert!(
        start + count <= per_topic,
        "a range past the topic's partitions"
    );
    (0..topics)
        .flat_map(|t| (start..start + count).map(move |q| t * per_topic + q))
        .collect()
}

/// A ZooKeeper op the consumer has queued.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Job {
    EnsurePath(String),
    Register,
    ListIds,
    Claim(Part),
    /// After a failed or unanswered claim: whose is the owner node?
    CheckOwner(Part),
    ReadOffset(Part),
    ReadState(Part),
    Commit(Part),
    /// Delete this session's owner node.
    Release(Part),
    /// After a failed or unanswered release: is the owner node still this session's? (A
    /// blind retry could delete the next owner's node.)
    CheckRelease(Part),
}

/// What the consumer knows of one partition assigned to it (or being released).
#[derive(Clone, Debug, Default)]
struct PartState {
    /// Its owner node was created by this session.
    owned: bool,
    /// The next offset to consume; None until the committed offset is read.
    position: Option<u64>,
    /// The offset last committed (or read), and the offsets znode's version (-1: absent).
    committed: u64,
    version: i32,
    /// The leader and its epoch from the state znode.
    leader: Option<(BrokerId, u32)>,
    /// The fetch in flight: its id and when it left (monotonic ns).
    fetch: Option<(u64, u64)>,
    /// No fetch before this (monotonic ns): an empty answer's poll interval.
    idle_until: u64,
    /// Released: no more fetches; the owner node goes after the last commit.
    releasing: bool,
}

pub struct Consumer {
    config: ConsumerConfig,
    host: Option<ClientHost>,
    /// The session whose `/consumers/G/ids` node exists, once created.
    registered: Option<SessionId>,
    /// The ids last listed, sorted.
    members: Vec<String>,
    parts: BTreeMap<Part, PartState>,
    jobs: VecDeque<Job>,
    /// The op in flight: its xid, its job, and the offset a commit writes.
    in_flight: Option<(u64, Job, u64)>,
    fetch_seq: u64,
    /// Records processed, in all (for `explain`).
    consumed: u64,
}

impl Consumer {
    pub fn new(config: ConsumerConfig) -> Consumer {
        assert!(!config.servers.is_empty() && !config.brokers.is_empty());
        assert!(config.partitions_per_topic > 0 && config.topics > 0);
        assert!(config.commit_ms > 0 && config.poll_ms > 0 && config.fetch_timeout_ms > 0);
        Consumer {
            config,
            host: None,
            registered: None,
            members: Vec::new(),
            parts: BTreeMap::new(),
            jobs: VecDeque::new(),
            in_flight: None,
            fetch_seq: 0,
            consumed: 0,
        }
    }

    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// The session this consumer is registered in, if any.
    pub fn registered(&self) -> Option<SessionId> {
        self.registered
    }

    /// The member ids it last listed (sorted).
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// Its position in `p` if it owns `p` (and is not releasing it).
    pub fn position(&self, p: Part) -> Option<u64> {
        let s = self.parts.get(&p)?;
        (s.owned && !s.releasing).then_some(s.position).flatten()
    }

    /// Its partitions under its last listing's range assignment.
    pub fn assigned(&self) -> Vec<Part> {
        let Some(s) = self.registered else {
            return Vec::new();
        };
        let me = self.config.member_id(s);
        range_assignment(
            &self.members,
            &me,
            self.config.topics,
            self.config.partitions_per_topic,
        )
    }

    /// Connected, registered, and owning exactly its assignment with a position and a
    /// leader for each (the members it listed are the group's as `ids` lists them).
    pub fn settled(&self, ids: &[String]) -> Result<(), String> {
        let connected = self
            .host
            .as_ref()
            .is_some_and(|h| h.session().state() == SessionState::Connected);
        if !connected || self.registered.is_none() {
            return Err("not connected and registered".into());
        }
        if self.members != ids {
            return Err(format!(
                "listed members {:?}, the group holds {ids:?}",
                self.members
            ));
        }
        let assigned = self.assigned();
        let held: Vec<Part> = self.parts.keys().copied().collect();
        if held != assigned {
            return Err(format!("holds partitions {held:?}, assigned {assigned:?}"));
        }
        for (p, s) in &self.parts {
            if !s.owned || s.releasing || s.position.is_none() || s.leader.is_none() {
                return Err(format!("partition {p}: {s:?}"));
            }
        }
        Ok(())
    }

    pub fn explain(&self) -> String {
        format!(
            "consumer {} (registered {:?}, {} consumed): members {:?}, partitions {:?}, jobs {:?}",
            self.config.index,
            self.registered,
            self.consumed,
            self.members,
            self.parts,
            self.jobs.iter().take(8).collect::<Vec<_>>()
        )
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
        if self.jobs.contains(&job) || self.in_flight.as_ref().is_some_and(|(_, j, _)| *j == job) {
            return;
        }
        assert!(self.jobs.len() < JOBS_MAX, "consumer job queue full");
        self.jobs.push_back(job);
    }

    /// The op of `job` and the offset it commits (0 for others); None: nothing to do.
    fn op_of(&self, job: &Job) -> Option<(Op, u64)> {
        let c = &self.config;
        let owned = |p: &Part| self.parts.get(p).is_some_and(|s| s.owned);
        Some(match job {
            Job::EnsurePath(path) => (
                Op::Create {
                    path: path.clone(),
                    data: Vec::new(),
                    mode: CreateMode::Persistent,
                },
                0,
            ),
            Job::Register => (
                Op::Create {
                    path: format!("{}/{}", c.ids_path(), c.member_id(self.session()?)),
                    data: Vec::new(),
                    mode: CreateMode::Ephemeral,
                },
                0,
            ),
            Job::ListIds => (
                Op::GetChildren {
                    path: c.ids_path(),
                    watch: true,
                },
                0,
            ),
            Job::Claim(p) => {
                if !self.parts.get(p).is_some_and(|s| !s.owned && !s.releasing) {
                    return None; // no longer wanted, or owned already
                }
                (
                    Op::Create {
                        path: c.owner_path(*p),
                        data: c.member_id(self.session()?).into_bytes(),
                        mode: CreateMode::Ephemeral,
                    },
                    0,
                )
            }
            Job::CheckOwner(p) | Job::CheckRelease(p) => (
                Op::Exists {
                    path: c.owner_path(*p),
                    watch: false,
                },
                0,
            ),
            Job::ReadOffset(p) => {
                if !owned(p) {
                    return None;
                }
                (
                    Op::GetData {
                        path: c.offset_path(*p),
                        watch: false,
                    },
                    0,
                )
            }
            Job::ReadState(p) => {
                if !owned(p) {
                    return None;
                }
                (
                    Op::GetData {
                        path: c.state_path(*p),
                        watch: true,
                    },
                    0,
                )
            }
            Job::Commit(p) => {
                let s = self.parts.get(p)?;
                let position = s.position?;
                if !s.owned || position <= s.committed {
                    return None; // not ours, or nothing new
                }
                let data = position.to_string().into_bytes();
                let op = if s.version < 0 {
                    Op::Create {
                        path: c.offset_path(*p),
                        data,
                        mode: CreateMode::Persistent,
                    }
                } else {
                    Op::SetData {
                        path: c.offset_path(*p),
                        data,
                        version: s.version,
                    }
                };
                (op, position)
            }
            Job::Release(p) => {
                if !owned(p) {
                    return None;
                }
                (
                    Op::Delete {
                        path: c.owner_path(*p),
                        version: -1,
                    },
                    0,
                )
            }
        })
    }

    /// Submits the next queued job while connected and nothing is in flight.
    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        for _ in 0..=JOBS_MAX {
            if self.in_flight.is_some() || !self.connected() {
                return;
            }
            let Some(job) = self.jobs.pop_front() else {
                return;
            };
            let Some((op, value)) = self.op_of(&job) else {
                self.skipped(&job);
                continue;
            };
            let (xid, actions) = self.host().submit(ctx, op, out);
            self.in_flight = Some((xid, job, value));
            self.handle(ctx, actions, out);
            return;
        }
    }

    /// A job with nothing to do: a release of a partition no longer owned completes.
    fn skipped(&mut self, job: &Job) {
        if let Job::Release(p) = job {
            self.released(*p);
        }
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed {
                    xid, result, zxid, ..
                } => self.completed(ctx, xid, result, zxid, out),
                Action::Watch(w) => {
                    if w.kind == EventType::NodeChildrenChanged && w.path == self.config.ids_path()
                    {
                        self.push(Job::ListIds);
                    } else if let Some(p) = self.part_of_state(&w.path) {
                        self.push(Job::ReadState(p));
                    }
                }
                Action::State(SessionState::Connected) => {
                    let session = self.session().expect("connected");
                    if self.registered != Some(session) && !self.jobs.contains(&Job::Register) {
                        self.session_lost();
                        for p in self.config.layout_paths() {
                            self.push(Job::EnsurePath(p));
                        }
                        self.push(Job::Register);
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

    fn part_of_state(&self, path: &str) -> Option<Part> {
        (0..self.config.parts()).find(|&p| self.config.state_path(p) == path)
    }

    /// The session ended (or a new one began): its registration, ownerships, positions
    /// and queued ZooKeeper work go with it.
    fn session_lost(&mut self) {
        self.registered = None;
        self.members.clear();
        self.parts.clear();
        self.jobs.clear();
        self.in_flight = None;
    }

    fn completed(
        &mut self,
        ctx: &mut Ctx,
        xid: u64,
        result: OpResult,
        zxid: Option<Zxid>,
        out: &mut Out,
    ) {
        let Some((want, job, value)) = self.in_flight.take() else {
            return;
        };
        if want != xid {
            self.in_flight = Some((want, job, value));
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
            // The id carries the session: NodeExists is this session's own lost answer.
            Job::Register => match err {
                None | Some(ZkError::NodeExists) => {
                    self.registered = self.session();
                    self.push(Job::ListIds);
                }
                Some(_) => self.jobs.push_front(Job::Register),
            },
            Job::ListIds => match result {
                OpResult::Children(mut names) => {
                    names.sort();
                    self.members = names;
                    self.rebalance();
                }
                _ => self.push(Job::ListIds),
            },
            Job::Claim(p) => match err {
                None => self.claimed(p),
                Some(_) => self.push(Job::CheckOwner(p)),
            },
            Job::CheckOwner(p) => match result {
                OpResult::Exists(Some(stat)) if Some(stat.ephemeral_owner) == self.session() => {
                    self.claimed(p)
                }
                OpResult::Exists(Some(_)) => {
                    out.set_timer(CLAIM, ctx.mono.plus_ns(CLAIM_RETRY_MS * NS_PER_MS))
                }
                OpResult::Exists(None) => self.push(Job::Claim(p)),
                _ => self.push(Job::CheckOwner(p)),
            },
            Job::ReadOffset(p) => {
                let read = match result {
                    OpResult::Data { data, stat } => {
                        let text = std::str::from_utf8(&data).ok();
                        let offset = text.and_then(|t| t.parse::<u64>().ok());
                        let offset = offset.unwrap_or_else(|| panic!("offset znode {data:?}"));
                        Some((offset, stat.version))
                    }
                    OpResult::Err(ZkError::NoNode) => Some((0, -1)),
                    _ => None,
                };
                match (read, self.parts.get_mut(&p)) {
                    (Some((offset, version)), Some(s)) if s.owned => {
                        s.committed = offset;
                        s.version = version;
                        // A commit another owner made past this position (or this
                        // session's own write whose answer was lost) is where to go on.
                        s.position = Some(s.position.map_or(offset, |q| q.max(offset)));
                    }
                    (None, _) => self.push(Job::ReadOffset(p)),
                    _ => {}
                }
            }
            Job::ReadState(p) => {
                let leader = match result {
                    OpResult::Data { data, .. } => {
                        PartitionState::parse(&data).map(|s| s.leader.map(|l| (l, s.leader_epoch)))
                    }
                    OpResult::Err(ZkError::NoNode) => Some(None),
                    _ => None,
                };
                match (leader, self.parts.get_mut(&p)) {
                    (Some(l), Some(s)) if s.owned => {
                        if s.leader != l {
                            s.fetch = None; // a fetch to the old leader is given up
                        }
                        s.leader = l;
                    }
                    (None, _) => self.push(Job::ReadState(p)),
                    _ => {}
                }
            }
            Job::Commit(p) => match (err, zxid) {
                (None, Some(zxid)) => {
                    let version = match result {
                        OpResult::Stat(stat) => stat.version,
                        _ => 0, // created
                    };
                    let s = self
                        .parts
                        .get_mut(&p)
                        .expect("committed for an owned partition");
                    assert!(s.owned, "a commit of a partition not owned");
                    s.committed = value;
                    s.version = version;
                    out.note(Note::client(ClientNote::MqCommitted {
                        session: self.registered.expect("registered"),
                        part: p,
                        offset: value,
                        version,
                        zxid,
                    }));
                }
                // Another owner wrote, or this write's answer was lost: read it again.
                _ => self.push(Job::ReadOffset(p)),
            },
            Job::Release(p) => match err {
                None | Some(ZkError::NoNode) => self.released(p),
                Some(_) => self.jobs.push_front(Job::CheckRelease(p)),
            },
            Job::CheckRelease(p) => match result {
                OpResult::Exists(Some(stat)) if Some(stat.ephemeral_owner) == self.session() => {
                    self.jobs.push_front(Job::Release(p))
                }
                OpResult::Exists(_) => self.released(p),
                _ => self.jobs.push_front(Job::CheckRelease(p)),
            },
        }
    }

    /// This session owns `p`'s owner node: read where to start and who leads.
    fn claimed(&mut self, p: Part) {
        let s = self.parts.entry(p).or_default();
        s.owned = true;
        if !self.assigned().contains(&p) {
            self.release(p);
            return;
        }
        self.push(Job::ReadOffset(p));
        self.push(Job::ReadState(p));
    }

    /// Stop consuming `p`: commit its position, then delete the owner node.
    fn release(&mut self, p: Part) {
        let Some(s) = self.parts.get_mut(&p) else {
            return;
        };
        if !s.owned {
            self.parts.remove(&p); // a claim not made yet is dropped
            return;
        }
        s.releasing = true;
        s.fetch = None;
        self.push(Job::Commit(p));
        self.push(Job::Release(p));
    }

    /// `p`'s owner node is gone: claim it again if it is assigned once more.
    fn released(&mut self, p: Part) {
        self.parts.remove(&p);
        if self.assigned().contains(&p) {
            self.parts.insert(p, PartState::default());
            self.push(Job::Claim(p));
        }
    }

    /// The members changed: release what is no longer assigned, claim what is new.
    fn rebalance(&mut self) {
        if self.registered.is_none() {
            return;
        }
        let assigned = self.assigned();
        let held: Vec<Part> = self.parts.keys().copied().collect();
        for p in held {
            if !assigned.contains(&p) {
                self.release(p);
            }
        }
        for p in assigned {
            if let std::collections::btree_map::Entry::Vacant(e) = self.parts.entry(p) {
                e.insert(PartState::default());
                self.push(Job::Claim(p));
            }
        }
    }

    /// Sends a fetch for every owned partition that is due for one.
    fn fetch_due(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let now = ctx.mono.ns();
        for (&p, s) in &mut self.parts {
            let (true, false, Some(position), Some((leader, epoch)), None) =
                (s.owned, s.releasing, s.position, s.leader, s.fetch)
            else {
                continue;
            };
            if now < s.idle_until {
                continue;
            }
            self.fetch_seq += 1;
            s.fetch = Some((self.fetch_seq, now));
            let req = ConsumerFetch {
                id: self.fetch_seq,
                part: p,
                offset: position,
                epoch,
            };
            let to = self.config.brokers[leader.0 as usize];
            out.send(to, Msg::mq(MqMsg::ConsumerFetch(req)));
        }
    }

    fn on_fetch_reply(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        r: ConsumerFetchReply,
        out: &mut Out,
    ) {
        let now = ctx.mono.ns();
        let Some(session) = self.registered else {
            return;
        };
        let Some(s) = self.parts.get_mut(&r.part) else {
            return;
        };
        if s.fetch.map(|(id, _)| id) != Some(r.id) || !s.owned || s.releasing {
            return; // a late answer to a fetch given up
        }
        s.fetch = None;
        let Some(mut position) = s.position else {
            return;
        };
        if r.error.is_some() {
            s.idle_until = now + self.config.poll_ms * NS_PER_MS;
            self.push(Job::ReadState(r.part));
            return;
        }
        if position > r.log_end {
            // Out of range: an unclean election cut the records this consumer read.
            position = r.log_end;
            s.position = Some(position);
        }
        let leader = self
            .config
            .brokers
            .iter()
            .position(|&b| b == from)
            .expect("a broker answered") as u32;
        let mut took = 0;
        for rec in &r.records {
            assert!(rec.offset < r.hw, "a record at or above the HW served");
            if rec.offset != position {
                continue;
            }
            out.note(Note::client(ClientNote::MqConsumed {
                session,
                part: r.part,
                offset: rec.offset,
                value: rec.value,
                leader,
                leader_epoch: r.epoch,
            }));
            position += 1;
            took += 1;
        }
        assert!(
            s.position.is_some_and(|q| q <= position),
            "a position went back"
        );
        s.position = Some(position);
        self.consumed += took;
        if took == 0 {
            s.idle_until = now + self.config.poll_ms * NS_PER_MS;
        }
    }

    fn tick(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let now = ctx.mono.ns();
        let timeout = self.config.fetch_timeout_ms * NS_PER_MS;
        let mut reread = Vec::new();
        for (&p, s) in &mut self.parts {
            if !s.owned || s.releasing {
                continue;
            }
            if s.fetch
                .is_some_and(|(_, at)| now.saturating_sub(at) >= timeout)
            {
                s.fetch = None;
                reread.push(p);
            } else if s.leader.is_none() {
                reread.push(p);
            }
        }
        for p in reread {
            self.push(Job::ReadState(p));
        }
        out.set_timer(TICK, ctx.mono.plus_ns(self.config.poll_ms * NS_PER_MS));
    }

    fn commit_all(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let due: Vec<Part> = self
            .parts
            .iter()
            .filter(|(_, s)| s.owned && !s.releasing && s.position.is_some_and(|q| q > s.committed))
            .map(|(&p, _)| p)
            .collect();
        for p in due {
            self.push(Job::Commit(p));
        }
        out.set_timer(COMMIT, ctx.mono.plus_ns(self.config.commit_ms * NS_PER_MS));
    }

    /// Claims still wanted after a retry delay.
    fn claim_again(&mut self) {
        let want: Vec<Part> = self
            .parts
            .iter()
            .filter(|(_, s)| !s.owned && !s.releasing)
            .map(|(&p, _)| p)
            .collect();
        for p in want {
            if !self.jobs.contains(&Job::CheckOwner(p)) {
                self.push(Job::Claim(p));
            }
        }
    }

    fn check_invariants(&self) {
        assert!(self.jobs.len() <= JOBS_MAX);
        assert!(
            self.registered.is_none() || self.registered == self.session(),
            "registered in another session"
        );
        for (p, s) in &self.parts {
            assert!(*p < self.config.parts(), "partition {p} out of range");
            assert!(
                s.owned || (s.position.is_none() && s.fetch.is_none()),
                "partition {p}: a position without ownership"
            );
            assert!(
                !s.releasing || s.fetch.is_none(),
                "partition {p}: fetching while released"
            );
        }
    }

    /// After every input: carry out queued work and fetch.
    fn after(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.drive(ctx, out);
        self.fetch_due(ctx, out);
        self.check_invariants();
    }
}

impl Process for Consumer {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        let config = HostConfig {
            servers: self.config.servers.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            reconnect_delay_ms: 200,
            max_pending: 4,
        };
        self.host = Some(ClientHost::new(ctx, config, 0));
        out.set_timer(TICK, ctx.mono.plus_ns(self.config.poll_ms * NS_PER_MS));
        out.set_timer(COMMIT, ctx.mono.plus_ns(self.config.commit_ms * NS_PER_MS));
        let actions = self.host().start(ctx, out);
        self.handle(ctx, actions, out);
        self.after(ctx, out);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        match msg {
            Msg::Mq(m) => {
                if let MqMsg::ConsumerFetchReply(r) = *m {
                    self.on_fetch_reply(ctx, from, r, out);
                }
            }
            other => {
                let actions = self.host().on_message(ctx, from, other, out);
                self.handle(ctx, actions, out);
            }
        }
        self.after(ctx, out);
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
        } else if timer == TICK {
            self.tick(ctx, out);
        } else if timer == COMMIT {
            self.commit_all(ctx, out);
        } else if timer == CLAIM {
            self.claim_again();
        }
        self.after(ctx, out);
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        if self.config.servers.contains(&peer) {
            let actions = self.host().on_disconnect(ctx, peer, out);
            self.handle(ctx, actions, out);
            self.after(ctx, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i:03}-{:x}", 10 + i)).collect()
    }

    #[test]
    fn range_assignment_splits_each_topic_over_sorted_members() {
        let members = ids(3);
        // 4 partitions per topic over 3 members: 2, 1, 1 of each topic.
        assert_eq!(
            range_assignment(&members, &members[0], 2, 4),
            vec![0, 1, 4, 5]
        );
        assert_eq!(range_assignment(&members, &members[1], 2, 4), vec![2, 6]);
        assert_eq!(range_assignment(&members, &members[2], 2, 4), vec![3, 7]);
        // Unsorted input sorts the same way; an unknown member gets nothing.
        let mut shuffled = members.clone();
        shuffled.reverse();
        assert_eq!(range_assignment(&shuffled, &members[1], 2, 4), vec![2, 6]);
        assert!(range_assignment(&members, "c999-1", 2, 4).is_empty());
        // More members than partitions: the last ones idle.
        let many = ids(5);
        assert_eq!(range_assignment(&many, &many[4], 1, 4), Vec::<Part>::new());
        assert_eq!(range_assignment(&many, &many[3], 1, 4), vec![3]);
    }

    #[test]
    fn every_partition_has_exactly_one_owner_in_an_assignment() {
        for n in 1..7 {
            let members = ids(n);
            let mut all: Vec<Part> = members
                .iter()
                .flat_map(|m| range_assignment(&members, m, 2, 5))
                .collect();
            all.sort_unstable();
            assert_eq!(all, (0..10).collect::<Vec<_>>(), "{n} members");
        }
    }

    #[test]
    fn paths_follow_the_old_consumer_layout() {
        let c = ConsumerConfig {
            servers: vec![ProcessId(0)],
            session_timeout_ms: 1_500,
            index: 2,
            group: "g".into(),
            brokers: vec![ProcessId(3)],
            topics: 2,
            partitions_per_topic: 4,
            commit_ms: 200,
            poll_ms: 50,
            fetch_timeout_ms: 1_000,
        };
        assert_eq!(c.owner_path(5), "/consumers/g/owners/t1/1");
        assert_eq!(c.offset_path(3), "/consumers/g/offsets/t0/3");
        assert_eq!(c.state_path(4), "/brokers/topics/t1/partitions/0/state");
        assert_eq!(c.member_id(SessionId(0xab)), "c002-ab");
        assert_eq!(
            c.layout_paths()[..3],
            ["/consumers", "/consumers/g", "/consumers/g/ids"]
        );
    }
}
