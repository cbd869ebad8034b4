//! The client-visible history of a run (`history.jsonl`, one [`Event`] per line), what the
//! offline checkers judge: every client operation with its session, invocation and
//! completion time (global simulated ns), input, outcome, result and reply zxid; watch
//! events as clients received them; sessions ending as clients learned it; session closes
//! the servers made on their own (expiry); and queue-recipe operations.
//!
//! Outcomes follow Jepsen: `ok` (succeeded), `fail` (a definite error: the op changed
//! nothing, e.g. NoNode — in ZooKeeper such a write still consumed a zxid), `info`
//! (unknown: connection lost, expired while pending, never answered — a write may or may
//! not have taken effect; a read constrains nothing).

use serde::{Deserialize, Serialize};

use crate::ProcessId;
use crate::Zxid;
use crate::wire::WatchEvent;
use crate::zk::{Op, OpResult, SessionId, ZkError};

/// Jepsen's `:type` of a completed operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Fail,
    Info,
}

impl Outcome {
    /// How a client's completion is classified: a result the client produced itself (no
    /// reply zxid) or a connection-level error is unknown; any other error is a failure.
    pub fn of(result: &OpResult, zxid: Option<Zxid>) -> Outcome {
        match result.error() {
            None => Outcome::Ok,
            Some(_) if zxid.is_none() => Outcome::Info,
            Some(ZkError::ConnectionLoss | ZkError::OperationTimeout) => Outcome::Info,
            Some(_) => Outcome::Fail,
        }
    }
}

/// One client operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRecord {
    /// The client process.
    pub process: ProcessId,
    /// The session it was submitted in (`SessionId::NONE` before the first connect).
    pub session: SessionId,
    /// The session's request number.
    pub xid: u64,
    pub op: Op,
    pub invoke_ns: u64,
    /// None: never answered by the end of the run (outcome `info`).
    pub complete_ns: Option<u64>,
    #[serde(rename = "type")]
    pub outcome: Outcome,
    /// None when never answered.
    pub result: Option<OpResult>,
    /// The reply's zxid: a write's own zxid, a read's (or sync's) server applied zxid at
    /// the answer. None when the client produced the result itself.
    pub zxid: Option<Zxid>,
}

/// How a session ended, as its client learned it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    Expired,
    Closed,
}

/// A queue recipe's operation kinds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    /// A producer put `item` (an id unique per run) in the queue.
    Enqueue,
    /// A consumer took `item` out (for a claim-based recipe: finished processing it).
    Dequeue,
}

/// One queue-recipe operation (the recipe's own view, above the znode operations).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRecord {
    pub process: ProcessId,
    pub queue: String,
    pub kind: QueueKind,
    /// The item; `None` for a dequeue that ended (failed) before it learned which item it
    /// was taking — with a claim recipe it may still hold one, invisible to the others.
    pub item: Option<u64>,
    pub invoke_ns: u64,
    pub complete_ns: Option<u64>,
    #[serde(rename = "type")]
    pub outcome: Outcome,
    /// The recipe delivers at least once (a consumer that fails may see an item again).
    pub at_least_once: bool,
}

/// How a lock hold ended (see [`LockRecord`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockEnd {
    /// The holder deleted its node (or found it gone when deleting it) after its work.
    Released,
    /// The session ended (or the node was found gone) before or while holding.
    Lost,
    /// The protected resource refused a write as stale: the holder gave the lock up.
    Fenced,
    /// Still running when the run ended (or the client crashed).
    Open,
}

/// One lock acquisition by a lock-recipe client, from its request to its end. A hold is
/// named by `(session, hold)`: the `hold`-th acquisition attempt of that session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub process: ProcessId,
    pub session: SessionId,
    pub hold: u64,
    /// The lock node (`/lock`).
    pub lock: String,
    /// The client's own child of the lock node, once it knew it.
    pub node: Option<String>,
    /// The fencing token: the node's creation zxid, once acquired.
    pub token: Option<u64>,
    pub request_ns: u64,
    pub acquired_ns: Option<u64>,
    pub end_ns: Option<u64>,
    pub end: LockEnd,
    /// Watch events on lock nodes this acquisition received while waiting (the herd
    /// metric: O(1) per acquisition when each waiter watches only its predecessor).
    pub watch_events: u64,
}

/// One write the protected resource (a simulated storage service) handled, in its order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// The resource's process.
    pub resource: ProcessId,
    /// The resource's write number (1, 2, …): its order.
    pub index: u64,
    /// Who wrote, in which hold (`LockRecord`'s `session` and `hold`).
    pub holder: ProcessId,
    pub session: SessionId,
    pub hold: u64,
    /// The fencing token the write carried (none without fencing).
    pub token: Option<u64>,
    pub time_ns: u64,
    /// Accepted (changed the resource) or refused as stale.
    pub accepted: bool,
}

/// How a leadership tenure of a leader-latch client ended (see [`LeaderRecord`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaderEnd {
    /// The connection was lost (Curator's SUSPENDED: the standard error policy gives up
    /// leadership until the latch has checked its node again).
    Suspended,
    /// The session ended: expired by the servers, or given up by the client after being
    /// disconnected for its session timeout (Curator's LOST).
    Lost,
    /// The latch reset: its node was gone or not its own, and it asks again.
    Reset,
    /// Still leading when the run ended (or the client crashed).
    Open,
}

/// One leadership tenure of a leader-latch client (the scheduler), from the moment it
/// believed it led to the moment it stopped. `tenure` numbers the process's tenures (1, 2,
/// …); `epoch` is its latch node's creation zxid, the fencing token its actions carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderRecord {
    pub process: ProcessId,
    /// The session the latch ran in when it was elected.
    pub session: SessionId,
    pub tenure: u64,
    /// The latch node (a child of the election node) it led with.
    pub node: String,
    pub epoch: u64,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    pub end: LeaderEnd,
}

/// How a worker's execution of a task ended (see [`TaskRecord`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskEnd {
    /// The worker marked the task done (its completion committed).
    Done,
    /// The task was taken from the worker (reassigned, or completed by another).
    Dropped,
    /// The worker's session ended during the execution.
    Lost,
    /// Still running when the run ended (or the worker crashed).
    Open,
}

/// One execution of a task by a worker, from its first write to the protected resource to
/// its end. `attempt` numbers the worker process's executions (1, 2, …); `token` is the
/// fencing token of its last write: the epoch of the leader that assigned (or re-stamped)
/// the task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub process: ProcessId,
    pub session: SessionId,
    pub attempt: u64,
    pub task: u64,
    pub token: Option<u64>,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    pub end: TaskEnd,
}

/// One task-execution write the protected resource handled, in its order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskWriteRecord {
    /// The resource's process.
    pub resource: ProcessId,
    /// The resource's write number (1, 2, …): its order.
    pub index: u64,
    /// Who wrote: the worker, its session and its execution (`TaskRecord`'s `attempt`).
    pub worker: ProcessId,
    pub session: SessionId,
    pub attempt: u64,
    pub task: u64,
    /// The write's number within its execution (1, 2, …).
    pub n: u64,
    /// The fencing token the write carried (none without fencing).
    pub token: Option<u64>,
    pub time_ns: u64,
    /// Accepted (changed the resource) or refused as stale.
    pub accepted: bool,
}

/// What a leader's action (a write to the task tree) carries: `e=<epoch in hex>`, first in
/// the written data. Only leaders write data that starts so.
pub fn leader_action_data(epoch: u64) -> Vec<u8> {
    format!("e={epoch:x}").into_bytes()
}

/// The epoch a leader's action carries, if `op` is one: a create or setData whose data is
/// [`leader_action_data`], or a multi with such a member (the first one's).
pub fn leader_action_epoch(op: &Op) -> Option<u64> {
    match op {
        Op::Create { data, .. } | Op::SetData { data, .. } => {
            let text = std::str::from_utf8(data.strip_prefix(b"e=")?).ok()?;
            let hex = text.split(' ').next()?;
            u64::from_str_radix(hex, 16).ok()
        }
        Op::Multi(ops) => ops.iter().find_map(leader_action_epoch),
        _ => None,
    }
}

/// A double-barrier participant's step, as it reports it (see [`BarrierRecord`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierStep {
    /// Asked to enter the round (or rejoined it in a new session before leaving).
    Enter,
    /// Passed enter: the round's `ready` node exists, or it counted every participant.
    Entered,
    /// Asked to leave the round (or went on leaving in a new session).
    Leave,
    /// Passed leave: no participant node is left under the round's barrier node.
    Left,
    /// The session ended (expired or closed) during the attempt; the participant rejoins
    /// the round in a new session.
    Lost,
}

/// How a double-barrier attempt ended (see [`BarrierRecord`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierEnd {
    Left,
    /// The session ended during the attempt.
    Lost,
    /// Still running when the run ended (or the client crashed).
    Open,
}

/// One attempt of a double-barrier participant at one round, in one session: from its
/// first step in that session (`Enter`, or `Leave` when it rejoins while leaving) to its
/// end. A participant whose session ends mid-round has one record per session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BarrierRecord {
    pub process: ProcessId,
    pub session: SessionId,
    /// The round (1, 2, …); each round has its own barrier node.
    pub round: u64,
    /// The round's barrier node (`/barrier/round-N`).
    pub barrier: String,
    /// The attempt's first step.
    pub start_ns: u64,
    pub enter_ns: Option<u64>,
    pub entered_ns: Option<u64>,
    pub leave_ns: Option<u64>,
    pub left_ns: Option<u64>,
    pub end_ns: Option<u64>,
    pub end: BarrierEnd,
}

/// A group member's step, as it reports it (see [`MemberRecord`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStep {
    /// Asked to join (create its ephemeral node).
    Join,
    /// Its node exists (created, or found its own after a lost answer).
    Joined,
    /// Asked to leave (delete its node).
    Leave,
    /// Its node is gone by its own delete.
    Left,
    /// The session ended (expired or closed): the servers took its node.
    Lost,
}

/// How a membership ended (see [`MemberRecord`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberEnd {
    Left,
    Lost,
    /// Still a member (or joining) when the run ended, or the client crashed.
    Open,
}

/// One membership of a group member: its `join`-th join in `session`, from the request to
/// its end. `data` (the node's data: the member's name, address and incarnation) is unique
/// per membership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub process: ProcessId,
    pub session: SessionId,
    /// The group node (`/group`).
    pub group: String,
    /// The member's name: its node's name under the group.
    pub name: String,
    pub data: String,
    pub join: u64,
    pub join_ns: u64,
    pub joined_ns: Option<u64>,
    pub leave_ns: Option<u64>,
    pub end_ns: Option<u64>,
    pub end: MemberEnd,
}

/// One member in an observer's view of a group: its node's name and data.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ViewEntry {
    pub name: String,
    pub data: String,
}

/// A group observer's view after a change: the members it sees, sorted by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewRecord {
    pub process: ProcessId,
    pub session: SessionId,
    pub group: String,
    pub time_ns: u64,
    pub members: Vec<ViewEntry>,
}

/// What a configuration / mailbox record says (see [`ConfigRecord`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    /// The publisher learned that config version `number` is set (its write's answer, a
    /// read after a lost answer, or its read at start-up).
    Published,
    /// A subscriber read config version `number` (every read of the config node).
    Seen,
    /// The publisher learned that mailbox message `number` is in the mailbox.
    MessagePublished,
    /// A subscriber processed mailbox message `number` (node `node`).
    MessageDelivered,
    /// A publisher or subscriber process started with an empty memory (its first start or
    /// a restart after a crash): a subscriber processes messages from the first again; a
    /// publisher reports what it finds set in the tree.
    Started,
}

/// One configuration or mailbox event of the config recipe (`[workload.config]`): the
/// publisher's versions and messages as it learned them set, the subscribers' reads of the
/// config and the messages they processed, in the order they happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRecord {
    pub process: ProcessId,
    pub session: SessionId,
    pub kind: ConfigKind,
    /// The config version or the message number (0 for `Started`).
    pub number: u64,
    /// The message's node (a child of the mailbox), for mailbox records when known.
    pub node: Option<String>,
    /// The config node's mzxid as read (`Seen`), or the publication's zxid when known.
    pub zxid: Option<Zxid>,
    pub time_ns: u64,
}

/// A message-queue producer's record acknowledged by a partition's leader (issue 15).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqAckRecord {
    pub producer: ProcessId,
    /// The partition's number in the world (topic × partitions per topic + partition).
    pub part: u32,
    pub offset: u64,
    pub key: u64,
    /// Unique per produce attempt.
    pub value: u64,
    /// acks = all (committed below the HW with enough in-sync replicas) or acks = 1.
    pub acks_all: bool,
    /// The broker that answered.
    pub leader: u32,
    /// The leader epoch it answered in (0 in histories written before it was recorded).
    #[serde(default)]
    pub leader_epoch: u32,
    pub time_ns: u64,
    /// From the record's first attempt to its acknowledgement, on the producer's
    /// monotonic clock (0 in histories written before it was recorded).
    #[serde(default)]
    pub latency_ns: u64,
}

/// A message-queue controller's unclean leader election (issue 15): a replica outside the
/// ISR was made leader of `epoch` (`unclean_leader_election`); acknowledged records it
/// lacked are lost by design, counted rather than failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqUncleanRecord {
    pub controller: ProcessId,
    pub part: u32,
    pub epoch: u32,
    pub leader: u32,
    /// When the partition state naming the unclean leader was written.
    pub time_ns: u64,
}

/// A message-queue consumer processed the record at `offset` of partition `part` (issue
/// 15): what it read there, from which broker, in which ZooKeeper session of its group
/// membership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqConsumeRecord {
    pub consumer: ProcessId,
    pub session: SessionId,
    pub part: u32,
    pub offset: u64,
    pub value: u64,
    /// The broker that served it.
    pub leader: u32,
    /// The leader epoch it was served in (0 in histories written before it was recorded).
    #[serde(default)]
    pub leader_epoch: u32,
    pub time_ns: u64,
}

/// A consumer's offset commit to `/consumers/G/offsets/T/P` that succeeded: the next
/// offset to consume, the znode's version and the write's zxid (the order the ensemble
/// applied commits in).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqCommitRecord {
    pub consumer: ProcessId,
    pub session: SessionId,
    pub part: u32,
    pub offset: u64,
    pub version: i32,
    pub zxid: Zxid,
    pub time_ns: u64,
}

/// One line of `history.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Op(OpRecord),
    /// A watch event as the client received it.
    Watch {
        process: ProcessId,
        session: SessionId,
        time_ns: u64,
        watch: WatchEvent,
    },
    /// The client learned its session ended.
    SessionEnd {
        process: ProcessId,
        session: SessionId,
        time_ns: u64,
        end: SessionEnd,
    },
    /// A CloseSession txn no client asked for (the leader expired the session), at its
    /// commit.
    ServerClose {
        session: SessionId,
        zxid: Zxid,
        time_ns: u64,
    },
    Queue(QueueRecord),
    /// A lock-recipe acquisition (`LockRecord`).
    Lock(LockRecord),
    /// A write the protected resource handled.
    Resource(ResourceRecord),
    /// A leadership tenure of a leader-latch client (`LeaderRecord`).
    Leader(LeaderRecord),
    /// A worker's execution of a task (`TaskRecord`).
    Task(TaskRecord),
    /// A task-execution write the protected resource handled.
    TaskWrite(TaskWriteRecord),
    /// A double-barrier attempt (`BarrierRecord`).
    Barrier(BarrierRecord),
    /// A group membership (`MemberRecord`).
    Member(MemberRecord),
    /// A group observer's view (`ViewRecord`).
    View(ViewRecord),
    /// A config publication, a subscriber's config read or mailbox delivery.
    Config(ConfigRecord),
    /// A message-queue record a producer saw acknowledged.
    MqAck(MqAckRecord),
    /// A message-queue controller's unclean leader election.
    MqUnclean(MqUncleanRecord),
    /// A message-queue record a consumer processed.
    MqConsumed(MqConsumeRecord),
    /// A consumer's offset commit.
    MqCommit(MqCommitRecord),
}

impl Event {
    /// The time the event is ordered by in a history file (completion for operations;
    /// pending operations at their invocation).
    pub fn time_ns(&self) -> u64 {
        match self {
            Event::Op(o) => o.complete_ns.unwrap_or(o.invoke_ns),
            Event::Queue(q) => q.complete_ns.unwrap_or(q.invoke_ns),
            Event::Lock(l) => l.end_ns.unwrap_or(l.request_ns),
            Event::Resource(r) => r.time_ns,
            Event::Leader(l) => l.end_ns.unwrap_or(l.start_ns),
            Event::Task(t) => t.end_ns.unwrap_or(t.start_ns),
            Event::TaskWrite(w) => w.time_ns,
            Event::Barrier(b) => b.end_ns.unwrap_or(b.start_ns),
            Event::Member(m) => m.end_ns.unwrap_or(m.join_ns),
            Event::View(v) => v.time_ns,
            Event::Config(c) => c.time_ns,
            Event::MqAck(a) => a.time_ns,
            Event::MqUnclean(u) => u.time_ns,
            Event::MqConsumed(c) => c.time_ns,
            Event::MqCommit(c) => c.time_ns,
            Event::Watch { time_ns, .. }
            | Event::SessionEnd { time_ns, .. }
            | Event::ServerClose { time_ns, .. } => *time_ns,
        }
    }
}

/// What a client process reports for the history, as data (the simulator stamps each with
/// the global time and pairs invocations with completions by `call`, a number unique
/// within the process).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientNote {
    Invoke {
        call: u64,
        session: SessionId,
        xid: u64,
        op: Op,
    },
    Complete {
        call: u64,
        result: OpResult,
        zxid: Option<Zxid>,
    },
    Watch {
        session: SessionId,
        watch: WatchEvent,
    },
    SessionEnd {
        session: SessionId,
        end: SessionEnd,
    },
    /// A queue recipe started an operation (`item` known for enqueues).
    QueueStart {
        call: u64,
        queue: String,
        kind: QueueKind,
        item: Option<u64>,
        at_least_once: bool,
    },
    /// The queue operation ended; `item` is what it enqueued or took (None: it took
    /// nothing).
    QueueEnd {
        call: u64,
        item: Option<u64>,
        outcome: Outcome,
    },
    /// A lock client asked for the lock: hold `hold` of `session`.
    LockRequest {
        session: SessionId,
        hold: u64,
        lock: String,
    },
    /// The hold acquired the lock with `node` (`token`: its creation zxid).
    LockAcquired {
        session: SessionId,
        hold: u64,
        node: String,
        token: u64,
    },
    /// The hold ended; `node` is its node if it knew one.
    LockEnd {
        session: SessionId,
        hold: u64,
        node: Option<String>,
        end: LockEnd,
        watch_events: u64,
    },
    /// The protected resource handled write `index` of `holder`'s hold.
    ResourceWrite {
        index: u64,
        holder: ProcessId,
        session: SessionId,
        hold: u64,
        token: Option<u64>,
        accepted: bool,
    },
    /// A leader-latch client started leading: its `tenure`-th tenure, with `node` and
    /// `epoch` (the node's creation zxid).
    LeaderStart {
        session: SessionId,
        tenure: u64,
        node: String,
        epoch: u64,
    },
    /// The tenure ended.
    LeaderEnd {
        tenure: u64,
        end: LeaderEnd,
    },
    /// A worker started executing `task` (its `attempt`-th execution) with `token`.
    TaskStart {
        session: SessionId,
        attempt: u64,
        task: u64,
        token: Option<u64>,
    },
    /// The execution ended (`token`: its last write's).
    TaskEnd {
        attempt: u64,
        end: TaskEnd,
        token: Option<u64>,
    },
    /// The protected resource handled write `index`, of `worker`'s execution `attempt` of
    /// `task`.
    TaskWrite {
        index: u64,
        worker: ProcessId,
        session: SessionId,
        attempt: u64,
        task: u64,
        n: u64,
        token: Option<u64>,
        accepted: bool,
    },
    /// A double-barrier participant's step in `round` (barrier node `barrier`).
    Barrier {
        session: SessionId,
        round: u64,
        barrier: String,
        step: BarrierStep,
    },
    /// A group member's step in its `join`-th membership of `session`.
    Member {
        session: SessionId,
        group: String,
        name: String,
        data: String,
        join: u64,
        step: MemberStep,
    },
    /// A group observer's view changed (members sorted by name).
    GroupView {
        session: SessionId,
        group: String,
        members: Vec<ViewEntry>,
    },
    /// A message-queue producer's record acknowledged (see [`MqAckRecord`]).
    MqAck {
        part: u32,
        offset: u64,
        key: u64,
        value: u64,
        acks_all: bool,
        leader: u32,
        leader_epoch: u32,
        /// From the first attempt, on the producer's monotonic clock.
        latency_ns: u64,
    },
    /// A message-queue consumer processed a record (see [`MqConsumeRecord`]).
    MqConsumed {
        session: SessionId,
        part: u32,
        offset: u64,
        value: u64,
        leader: u32,
        leader_epoch: u32,
    },
    /// A consumer's offset commit succeeded (see [`MqCommitRecord`]).
    MqCommitted {
        session: SessionId,
        part: u32,
        offset: u64,
        version: i32,
        zxid: Zxid,
    },
    /// A config-recipe event (the recorder stamps the time; see [`ConfigRecord`]).
    Config {
        session: SessionId,
        kind: ConfigKind,
        number: u64,
        node: Option<String>,
        zxid: Option<Zxid>,
    },
    /// A message-queue controller wrote an unclean leader election (see
    /// [`MqUncleanRecord`]).
    MqUnclean {
        part: u32,
        epoch: u32,
        leader: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::CreateMode;

    #[test]
    fn outcomes_follow_jepsen() {
        let created = OpResult::Created {
            path: "/a".into(),
            stat: None,
        };
        assert_eq!(Outcome::of(&created, Some(Zxid(5))), Outcome::Ok);
        let no_node = OpResult::Err(ZkError::NoNode);
        assert_eq!(Outcome::of(&no_node, Some(Zxid(5))), Outcome::Fail);
        let lost = OpResult::Err(ZkError::ConnectionLoss);
        assert_eq!(Outcome::of(&lost, None), Outcome::Info);
        let expired_locally = OpResult::Err(ZkError::SessionExpired);
        assert_eq!(Outcome::of(&expired_locally, None), Outcome::Info);
        let expired_by_server = OpResult::Err(ZkError::SessionExpired);
        assert_eq!(
            Outcome::of(&expired_by_server, Some(Zxid(9))),
            Outcome::Fail
        );
    }

    #[test]
    fn leader_actions_carry_their_epoch() {
        let data = leader_action_data(0x1_0000_002a);
        assert_eq!(data, b"e=10000002a");
        let create = Op::Create {
            path: "/tasks/t-0000000001".into(),
            data: data.clone(),
            mode: CreateMode::Persistent,
        };
        assert_eq!(leader_action_epoch(&create), Some(0x1_0000_002a));
        let delete = Op::Delete {
            path: "/assign/w-1/t-0000000001".into(),
            version: -1,
        };
        let multi = Op::Multi(vec![delete.clone(), create]);
        assert_eq!(leader_action_epoch(&multi), Some(0x1_0000_002a));
        assert_eq!(leader_action_epoch(&delete), None);
        let worker = Op::Create {
            path: "/done/t-0000000001".into(),
            data: b"w=w-5 t=2a".to_vec(),
            mode: CreateMode::Persistent,
        };
        assert_eq!(leader_action_epoch(&worker), None, "only leaders write e=");
        let bad = Op::SetData {
            path: "/x".into(),
            data: b"e=zz".to_vec(),
            version: -1,
        };
        assert_eq!(leader_action_epoch(&bad), None);
    }

    #[test]
    fn events_round_trip_as_json_lines() {
        let e = Event::Op(OpRecord {
            process: ProcessId(7),
            session: SessionId(0x100),
            xid: 3,
            op: Op::Create {
                path: "/q/item-".into(),
                data: b"x".to_vec(),
                mode: CreateMode::PersistentSequential,
            },
            invoke_ns: 10,
            complete_ns: Some(20),
            outcome: Outcome::Ok,
            result: Some(OpResult::Created {
                path: "/q/item-0000000000".into(),
                stat: None,
            }),
            zxid: Some(Zxid(0x1_0000_0003)),
        });
        let line = serde_json::to_string(&e).unwrap();
        assert!(line.contains("\"event\":\"op\""), "{line}");
        assert!(line.contains("\"type\":\"ok\""), "{line}");
        let back: Event = serde_json::from_str(&line).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.time_ns(), 20);
    }
}
