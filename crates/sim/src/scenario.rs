//! Scenario files (DESIGN.md §6): the schema, loading from TOML or JSON, `--set a.b=v`
//! overrides, validation with the file, line, column and field of every problem, and the
//! step that turns a scenario and a seed into a fully resolved kernel configuration.
//!
//! Invariant: a scenario that loads without error builds a kernel configuration for every
//! seed; every problem a user can cause is reported as a [`ScenarioError`], never a panic.

use crate::keydist::{KeyDist, ZIPF_KEYS_MAX};
use kernel::clock::DRIFT_PPM_MAX;
use kernel::disk::DiskConfig;
use kernel::fault::{Fault, Target};
use kernel::nemesis::{self, FAULTS_MAX, NemesisConfig, Plan, SwarmChoice};
use kernel::network::{NetworkConfig, Transport};
use kernel::queue::CAPACITY_LIMIT;
use kernel::rng::{Purpose, Stream};
use kernel::sim::KernelConfig;
use proto::{NS_PER_MS, NS_PER_US, ProcessId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The scenario format version this build reads.
pub const VERSION: u32 = 1;
/// The default scenario, built into the binary (the same text as `scenarios/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("../../../scenarios/default.toml");
pub use kernel::sim::PROCESSES_MAX;
/// The longest time a scenario may give, in ms (about 11.6 days of simulated time; a
/// `_us` field: the same time in µs). Every time computed from scenario values (a value in
/// ns, a sum of a few, a doubled back-off, a tick times a tick count) then stays far
/// inside `u64` nanoseconds, so none can overflow.
pub const TIME_MS_MAX: u64 = 1_000_000_000;
/// Keys of the KV workload, at most (each generator keeps a version per key).
pub const KEYS_MAX: u64 = 1 << 20;
/// A probe message's payload, at most.
pub const PAYLOAD_BYTES_MAX: u32 = 1 << 30;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version; must be 1.
    pub version: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub cluster: ClusterConfig,
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub disk: DiskConfig,
    #[serde(default)]
    pub cpu: CpuConfig,
    #[serde(default)]
    pub clock: ClockConfig,
    #[serde(default)]
    pub nemesis: NemesisConfig,
    #[serde(default)]
    pub workload: WorkloadConfig,
    #[serde(default)]
    pub zab: ZabConfig,
    /// Multi-Paxos's settings (`cluster.protocol = "paxos"`). Left out of the resolved
    /// scenario when it is the default, so other scenarios read as ever.
    #[serde(default, skip_serializing_if = "PaxosConfig::is_default")]
    pub paxos: PaxosConfig,
}

/// The `[paxos]` section: the classic Multi-Paxos engine's pipeline and acceptance rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaxosConfig {
    /// Most slots a leader keeps proposed and not yet chosen (1 = one outstanding
    /// proposal, the Zab paper's order-keeping remedy; 1..=`paxos::WINDOW_MAX`).
    pub window: usize,
    /// `"classic"` (per-slot acceptance and recovery, the default) or `"prefix"` (prefix
    /// acceptance and recovery of one promise's log, as ZAB and Raft).
    pub order: String,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        PaxosConfig {
            window: 1_000,
            order: "classic".into(),
        }
    }
}

impl PaxosConfig {
    pub fn is_default(&self) -> bool {
        *self == PaxosConfig::default()
    }

    /// The acceptance rule (a loaded scenario's `order` is validated).
    pub fn order(&self) -> paxos::Order {
        paxos::Order::parse(&self.order).expect("paxos.order was validated at load")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Voting servers (or, for the kernel probe, probe processes).
    pub servers: u32,
    #[serde(default)]
    pub observers: u32,
    /// The replication engine the servers run: `"zab"` (the default), `"raft"` or
    /// `"paxos"` (classic Multi-Paxos). Left
    /// out of the resolved scenario when it is the default, so ZAB scenarios read as ever.
    #[serde(
        default = "default_protocol",
        skip_serializing_if = "is_default_protocol"
    )]
    pub protocol: String,
}

/// The replication engines a scenario may name in `cluster.protocol`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    Zab,
    Raft,
    Paxos,
}

impl Protocol {
    /// Every protocol with its name in `cluster.protocol`.
    pub const ALL: [(&'static str, Protocol); 3] = [
        ("zab", Protocol::Zab),
        ("raft", Protocol::Raft),
        ("paxos", Protocol::Paxos),
    ];

    /// Its name in `cluster.protocol`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Zab => "zab",
            Protocol::Raft => "raft",
            Protocol::Paxos => "paxos",
        }
    }

    pub fn parse(name: &str) -> Option<Protocol> {
        Protocol::ALL.iter().find(|(n, _)| *n == name).map(|p| p.1)
    }
}

fn default_protocol() -> String {
    "zab".to_string()
}

fn is_default_protocol(p: &str) -> bool {
    p == "zab"
}

impl ClusterConfig {
    /// The engine (a loaded scenario's `protocol` is validated).
    pub fn protocol(&self) -> Protocol {
        Protocol::parse(&self.protocol).expect("cluster.protocol was validated at load")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// The safety phase: faults happen.
    pub safety_ms: u64,
    /// The liveness phase after the heal: the system must recover within this.
    pub liveness_ms: u64,
    /// Budget: a run handling more events ends inconclusive (exit 3).
    pub events_max: u64,
    /// Budget: pending events at once.
    pub queue_max: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            safety_ms: 10_000,
            liveness_ms: 10_000,
            events_max: 50_000_000,
            queue_max: 10_000_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CpuConfig {
    /// Service time of one message.
    pub message_us: u64,
    /// Per-kind service times overriding `message_us` (`PROPOSAL = 20`).
    pub kind_us: BTreeMap<String, u64>,
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig {
            message_us: 2,
            kind_us: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockConfig {
    /// Each process starts with a drift drawn uniformly from ±this.
    pub drift_ppm_max: i64,
}

/// What the processes do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum WorkloadConfig {
    /// The kernel probe: every process pings a random peer every `interval_ms`.
    Probe {
        interval_ms: u64,
        payload_bytes: u32,
    },
    /// The kernel probe passing `tokens` tokens per process as fast as possible.
    Relay { tokens: u32 },
    /// ZooKeeper servers driven by `clients` request generators: each holds a ZooKeeper
    /// session (requested timeout `session_timeout_ms`; servers negotiate it into
    /// [2, 20] ticks), sends a request every `interval_ms` (getData with probability
    /// `read_ratio`, else setData / create, on `keys` znodes `/k0`…), at most
    /// `outstanding_max` in flight, and stops writing after `writes_max` acknowledged
    /// writes (0 = never).
    ///
    /// `cas_ratio` (default 0): the share of writes that are compare-and-set — setData with
    /// the version the client last saw for the key (a getData first when it knows none;
    /// BadVersion is a lost race, not an error). `key_dist`: `"uniform"` (default) or
    /// `"zipf"`, where key `/kN` is chosen with weight (N+1)^−`zipf_s` (`zipf_s` > 0,
    /// default 1.0; `/k0` is the hottest; at most 2^20 keys).
    Writes {
        clients: u32,
        interval_ms: u64,
        #[serde(default = "default_outstanding")]
        outstanding_max: u32,
        #[serde(default = "default_session_timeout_ms")]
        session_timeout_ms: u64,
        #[serde(default)]
        read_ratio: kernel::dist::Probability,
        #[serde(default = "default_keys")]
        keys: u64,
        #[serde(default)]
        writes_max: u64,
        // The new fields are left out of a written scenario at their defaults, so that the
        // resolved scenario of an existing run reads as it always did.
        #[serde(default, skip_serializing_if = "is_zero")]
        cas_ratio: kernel::dist::Probability,
        #[serde(default = "default_key_dist", skip_serializing_if = "is_uniform")]
        key_dist: String,
        #[serde(default = "default_zipf_s", skip_serializing_if = "is_default_zipf_s")]
        zipf_s: f64,
        /// Queue-recipe clients besides the KV generators (`[workload.queue]`).
        #[serde(default)]
        queue: Option<QueueWorkload>,
        /// Lock-recipe clients and their protected resource (`[workload.lock]`; boxed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lock: Option<Box<LockWorkload>>,
        /// Double-barrier participants (`[workload.barrier]`; boxed: most scenarios
        /// have none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        barrier: Option<Box<BarrierWorkload>>,
        /// Group members and observers (`[workload.members]`; boxed too).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members: Option<Box<MembersWorkload>>,
        /// The config recipe's publisher and subscribers (`[workload.config]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Box<ConfigWorkload>>,
        /// The fail-over task scheduler: scheduler instances electing a leader, workers and
        /// their protected resource (`[workload.election]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        /// (Boxed: it would make every workload as large as itself.)
        election: Option<Box<ElectionWorkload>>,
        /// A Kafka-style message queue keeping its metadata in ZooKeeper: brokers (one
        /// the controller) and producers (`[workload.mq]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mq: Option<Box<MqWorkload>>,
    },
}

/// `[workload.mq]`: a Kafka-style message queue on the ensemble (issue 15). `brokers`
/// brokers, each with a ZooKeeper session (registered as ephemeral `/brokers/ids/N`; one
/// elected controller through `/controller` and `/controller_epoch`), replicate `topics` ×
/// `partitions` partitions, `replication_factor` replicas each (partition p's replicas:
/// brokers p, p+1, … mod `brokers`), with `min_insync_replicas` for acks = all; a
/// follower not caught up for `lag_ms` leaves the ISR. `producers` producers each send
/// `records` keyed records (keys uniform in `0..keys`, partition = key mod partitions),
/// one every `produce_interval_ms`, a share `acks_all_ratio` with acks = all (else acks =
/// 1), retrying after `retry_ms` without an answer. Brokers check their replicas every
/// `tick_ms`; the controller reads every partition's state every `reconcile_ms`.
/// `consumers` consumers form the consumer group `group` (the old ZooKeeper-based Kafka
/// consumer: ids, owners and offsets under `/consumers/<group>`), fetch from the leaders
/// (again `poll_ms` after an empty answer) and commit their offsets every `commit_ms`.
/// Brokers are fault targets after every other workload's, then the consumers when
/// `consumer_faults` (their pauses and crashes expire sessions and rebalance the group; off
/// by default, as more targets dilute the faults on brokers); producers are not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqWorkload {
    pub brokers: u32,
    pub topics: u32,
    pub partitions: u32,
    pub replication_factor: u32,
    pub min_insync_replicas: u32,
    pub producers: u32,
    pub records: u64,
    #[serde(default = "default_mq_keys")]
    pub keys: u64,
    #[serde(default = "default_acks_all_ratio")]
    pub acks_all_ratio: kernel::dist::Probability,
    #[serde(default = "default_produce_interval_ms")]
    pub produce_interval_ms: u64,
    #[serde(default = "default_mq_retry_ms")]
    pub retry_ms: u64,
    #[serde(default = "default_lag_ms")]
    pub lag_ms: u64,
    #[serde(default = "default_mq_tick_ms")]
    pub tick_ms: u64,
    #[serde(default = "default_reconcile_ms")]
    pub reconcile_ms: u64,
    /// `unclean.leader.election.enable`: with no live ISR member, a replica outside the
    /// ISR may lead; the acknowledged records that loses are counted
    /// (`mq_unclean_lost`), not failed.
    #[serde(default)]
    pub unclean_leader_election: bool,
    #[serde(default)]
    pub consumers: u32,
    #[serde(default = "default_mq_group")]
    pub group: String,
    #[serde(default = "default_commit_ms")]
    pub commit_ms: u64,
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    #[serde(default)]
    pub consumer_faults: bool,
}

fn default_mq_group() -> String {
    "g".to_string()
}
fn default_commit_ms() -> u64 {
    1_000
}
fn default_poll_ms() -> u64 {
    250
}

fn default_mq_keys() -> u64 {
    1_000
}
fn default_acks_all_ratio() -> kernel::dist::Probability {
    kernel::dist::Probability::from_ppm(1_000_000)
}
fn default_produce_interval_ms() -> u64 {
    20
}
fn default_mq_retry_ms() -> u64 {
    500
}
fn default_lag_ms() -> u64 {
    1_000
}
fn default_mq_tick_ms() -> u64 {
    50
}
fn default_reconcile_ms() -> u64 {
    1_000
}

/// Most brokers, partitions in all, and records per producer of an mq workload.
pub const MQ_BROKERS_MAX: u32 = 64;
pub const MQ_PARTITIONS_MAX: u32 = 4_096;
pub const MQ_RECORDS_MAX: u64 = 1 << 20;
/// Most consumers in an mq workload's group.
pub const MQ_CONSUMERS_MAX: u32 = 64;

/// `[workload.election]`: the fail-over task scheduler. `schedulers` scheduler instances
/// elect a leader with the leader latch (`/election`); the leader creates `tasks` tasks
/// (one every `task_interval_ms`) and assigns them to the `workers`, which register as
/// ephemeral nodes and execute each task with `writes_per_task` writes to the protected
/// resource (`work_ms` apart), fenced by the assigning leader's epoch when `fencing` (default
/// on). Scheduler instances and workers are fault targets after the servers and the lock's
/// clients (schedulers first); the resource is not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectionWorkload {
    pub schedulers: u32,
    pub workers: u32,
    pub tasks: u64,
    #[serde(default = "default_task_interval_ms")]
    pub task_interval_ms: u64,
    #[serde(default = "default_writes_per_task")]
    pub writes_per_task: u64,
    #[serde(default = "default_task_work_ms")]
    pub work_ms: u64,
    #[serde(default = "default_fencing")]
    pub fencing: bool,
}

fn default_task_interval_ms() -> u64 {
    50
}
fn default_writes_per_task() -> u64 {
    2
}
fn default_task_work_ms() -> u64 {
    10
}

/// Most tasks an election workload schedules.
pub const ELECTION_TASKS_MAX: u64 = 100_000;

/// `[workload.lock]`: `clients` lock clients each complete `holds` holds of `/lock` (the
/// lock recipe with protected creates; a hold lost to an expiry does not count), writing
/// `writes_per_hold` times to the protected resource while they hold it — each write
/// after the previous one was acknowledged and `work_ms` passed — and thinking `think_ms`
/// (on average) between holds. With `fencing` (default on) each write carries the hold's
/// fencing token (its node's creation zxid) and the resource refuses a lower token than
/// the highest it accepted. The lock clients are fault targets after the servers (indices
/// `servers + observers ..`), so pauses and partitions reach them — a holder paused past
/// its session timeout loses its lock to an expiry; the resource is not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockWorkload {
    pub clients: u32,
    pub holds: u64,
    #[serde(default = "default_writes_per_hold")]
    pub writes_per_hold: u64,
    #[serde(default = "default_work_ms")]
    pub work_ms: u64,
    #[serde(default = "default_think_ms")]
    pub think_ms: u64,
    #[serde(default = "default_fencing")]
    pub fencing: bool,
}

fn default_writes_per_hold() -> u64 {
    3
}
fn default_work_ms() -> u64 {
    2
}
fn default_think_ms() -> u64 {
    5
}
fn default_fencing() -> bool {
    true
}

/// `[workload.config]`: one publisher sets the config node `/config` to versions
/// 1..=`updates` (its data says `v=N`) and posts `messages` numbered messages as sequential
/// children of `/mailbox`, one publication every `interval_ms` on average (a config
/// publication sets `burst` versions back to back, default 1); `subscribers`
/// follow both by watches (a watch set with every read), spend `apply_ms` (default 0)
/// applying each config version they read, and read the new messages in order. The publisher and the subscribers are fault targets after the servers (and the
/// lock's clients), publisher first: pauses and isolations expire their sessions, a crash
/// restarts a subscriber with an empty memory and the publisher from what the tree says.
/// After the heal every live subscriber must hold the final version and every message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigWorkload {
    pub subscribers: u32,
    pub updates: u64,
    #[serde(default)]
    pub messages: u64,
    #[serde(default = "default_config_interval_ms")]
    pub interval_ms: u64,
    #[serde(default)]
    pub apply_ms: u64,
    #[serde(default = "default_config_burst")]
    pub burst: u64,
}

fn default_config_interval_ms() -> u64 {
    20
}
fn default_config_burst() -> u64 {
    1
}

/// Most config versions (ZooKeeper's data version is an i32).
pub const CONFIG_UPDATES_MAX: u64 = 1_000_000;
/// Most mailbox messages (a subscriber lists them all: `client`'s `CHILDREN_MAX`).
pub const CONFIG_MESSAGES_MAX: u64 = 60_000;

/// Most lock holds per client.
pub const LOCK_HOLDS_MAX: u64 = 1_000_000;
/// Most resource writes per hold.
pub const LOCK_WRITES_PER_HOLD_MAX: u64 = 1_000;

/// `[workload.barrier]`: `participants` clients go through `rounds` rounds of a double
/// barrier under `/barrier` (each round its own barrier node `/barrier/round-N`): each
/// enters, computes `work_ms` (on average) once every participant entered, leaves, and
/// thinks `think_ms` (on average) before entering the next round. A participant whose
/// session expires rejoins the round in a new session. The participants are fault targets
/// after the servers and the lock's clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarrierWorkload {
    pub participants: u32,
    pub rounds: u64,
    #[serde(default = "default_barrier_work_ms")]
    pub work_ms: u64,
    #[serde(default = "default_barrier_think_ms")]
    pub think_ms: u64,
}

fn default_barrier_work_ms() -> u64 {
    50
}
fn default_barrier_think_ms() -> u64 {
    100
}

/// Most barrier rounds.
pub const BARRIER_ROUNDS_MAX: u64 = 100_000;

/// `[workload.members]`: `members` clients join `/group` (an ephemeral node `/group/mN`
/// whose data is their address and incarnation), stay `stay_ms` (on average), leave, stay
/// away `away_ms` (on average) and join again, `cycles` times, the last time for good; a
/// member whose session expires joins again in a new session. `observers` clients keep a
/// view of the group (a watched listing and the members' data). Members and observers are
/// fault targets after the servers, the lock's clients and the barrier's participants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersWorkload {
    pub members: u32,
    pub observers: u32,
    pub cycles: u64,
    #[serde(default = "default_stay_ms")]
    pub stay_ms: u64,
    #[serde(default = "default_away_ms")]
    pub away_ms: u64,
}

fn default_stay_ms() -> u64 {
    500
}
fn default_away_ms() -> u64 {
    200
}

/// Most membership cycles per member.
pub const MEMBER_CYCLES_MAX: u64 = 100_000;

/// Which consumer recipe a queue workload runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueRecipe {
    /// Read then delete: at-most-once.
    Take,
    /// Ephemeral claim, process, delete: at-least-once.
    Claim,
}

/// A token bucket: `capacity` tokens, `refill` more every `interval_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    pub capacity: u64,
    pub refill: u64,
    pub interval_ms: u64,
}

/// `[workload.queue]`: producers enqueue `items` each into `/queue` (rate-limited by
/// `rate` if given); consumers take items with `recipe`, spend `process_ms` on each (claim
/// recipe), and fail with probability `consumer_failure` at the risky moment of a take
/// (abandoning their session, as a crashed consumer would).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueWorkload {
    pub producers: u32,
    pub consumers: u32,
    pub items: u64,
    #[serde(default = "default_recipe")]
    pub recipe: QueueRecipe,
    #[serde(default)]
    pub rate: Option<RateConfig>,
    #[serde(default = "default_process_ms")]
    pub process_ms: u64,
    #[serde(default)]
    pub consumer_failure: kernel::dist::Probability,
}

fn default_recipe() -> QueueRecipe {
    QueueRecipe::Claim
}
fn default_process_ms() -> u64 {
    2
}

fn default_outstanding() -> u32 {
    8
}
fn default_session_timeout_ms() -> u64 {
    2_000
}
fn default_keys() -> u64 {
    16
}
fn default_key_dist() -> String {
    "uniform".into()
}
fn default_zipf_s() -> f64 {
    1.0
}
fn is_zero(p: &kernel::dist::Probability) -> bool {
    p.ppm == 0
}
fn is_uniform(name: &str) -> bool {
    name == "uniform"
}
fn is_default_zipf_s(s: &f64) -> bool {
    *s == default_zipf_s()
}

impl WorkloadConfig {
    /// Processes the workload adds beyond the servers (the clients).
    /// Every client process: KV generators, then producers, then consumers.
    pub fn clients(&self) -> u32 {
        match self {
            // Saturating: the loader refuses more than `PROCESSES_MAX` processes.
            WorkloadConfig::Writes {
                clients,
                queue,
                lock,
                config,
                election,
                ..
            } => clients
                .saturating_add(
                    queue
                        .as_ref()
                        .map_or(0, |q| q.producers.saturating_add(q.consumers)),
                )
                // The lock's clients and its protected resource.
                .saturating_add(lock.as_ref().map_or(0, |l| l.clients.saturating_add(1)))
                .saturating_add(self.barrier().map_or(0, |b| b.participants))
                .saturating_add(
                    self.members()
                        .map_or(0, |m| m.members.saturating_add(m.observers)),
                )
                // The config's publisher and subscribers.
                .saturating_add(
                    config
                        .as_ref()
                        .map_or(0, |c| c.subscribers.saturating_add(1)),
                )
                // The scheduler's resource, instances and workers.
                .saturating_add(election.as_ref().map_or(0, |e| {
                    e.schedulers.saturating_add(e.workers).saturating_add(1)
                }))
                // The message queue's brokers, producers and consumers.
                .saturating_add(self.mq().map_or(0, |m| {
                    m.brokers
                        .saturating_add(m.producers)
                        .saturating_add(m.consumers)
                })),
            _ => 0,
        }
    }

    /// The client processes that are fault targets (after the servers): the lock's
    /// clients, then every barrier participant, group member and observer, and the config's
    /// publisher and subscribers, then the scheduler's instances and workers, numbered as
    /// the layout does (KV generators, queue producers and consumers, the lock's resource
    /// and its clients, then the recipes' processes in that order, the scheduler's resource
    /// before its instances), given the first client's process id.
    pub fn client_fault_targets(&self, first_client: u32) -> Vec<ProcessId> {
        let WorkloadConfig::Writes {
            clients,
            queue,
            lock,
            election,
            ..
        } = self
        else {
            return Vec::new();
        };
        let queue = queue.as_ref().map_or(0, |q| q.producers + q.consumers);
        let mut first = first_client + clients + queue;
        let mut targets = Vec::new();
        if let Some(l) = lock {
            // The resource (first) is not a target; the lock's clients are.
            targets.extend((first + 1..first + 1 + l.clients).map(ProcessId));
            first += l.clients + 1;
        }
        // Every barrier participant, member, observer, config publisher and subscriber
        // is a target.
        let recipes = self.watch_recipe_fault_target_count();
        targets.extend((first..first + recipes).map(ProcessId));
        first += recipes;
        // The scheduler's instances and workers, after its resource.
        if let Some(e) = election {
            targets.extend((first + 1..first + 1 + e.schedulers + e.workers).map(ProcessId));
            first += 1 + e.schedulers + e.workers;
        }
        // The message queue's brokers, then its consumers if they are targets (the
        // producers between them are not).
        if let Some(m) = self.mq() {
            targets.extend((first..first + m.brokers).map(ProcessId));
            if m.consumer_faults {
                let consumers = first + m.brokers + m.producers;
                targets.extend((consumers..consumers + m.consumers).map(ProcessId));
            }
        }
        targets
    }

    /// How many client processes are fault targets (see `client_fault_targets`).
    pub fn client_fault_target_count(&self) -> u32 {
        self.lock().map_or(0, |l| l.clients)
            + self.watch_recipe_fault_target_count()
            + self.election().map_or(0, |e| e.schedulers + e.workers)
            + self.mq().map_or(0, |m| {
                m.brokers + if m.consumer_faults { m.consumers } else { 0 }
            })
    }

    /// The barrier's, group's and config's processes: every one is a fault target.
    fn watch_recipe_fault_target_count(&self) -> u32 {
        self.barrier().map_or(0, |b| b.participants)
            + self.members().map_or(0, |m| m.members + m.observers)
            + self.config().map_or(0, |c| c.subscribers + 1)
    }

    /// The barrier workload, if any.
    pub fn barrier(&self) -> Option<&BarrierWorkload> {
        match self {
            WorkloadConfig::Writes { barrier, .. } => barrier.as_deref(),
            _ => None,
        }
    }

    /// The group-membership workload, if any.
    pub fn members(&self) -> Option<&MembersWorkload> {
        match self {
            WorkloadConfig::Writes { members, .. } => members.as_deref(),
            _ => None,
        }
    }

    /// The config workload, if any.
    pub fn config(&self) -> Option<&ConfigWorkload> {
        match self {
            WorkloadConfig::Writes { config, .. } => config.as_deref(),
            _ => None,
        }
    }

    /// The lock workload, if any.
    pub fn lock(&self) -> Option<&LockWorkload> {
        match self {
            WorkloadConfig::Writes { lock, .. } => lock.as_deref(),
            _ => None,
        }
    }

    /// The message-queue workload, if any.
    pub fn mq(&self) -> Option<&MqWorkload> {
        match self {
            WorkloadConfig::Writes { mq, .. } => mq.as_deref(),
            _ => None,
        }
    }

    /// The fail-over scheduler workload, if any.
    pub fn election(&self) -> Option<&ElectionWorkload> {
        match self {
            WorkloadConfig::Writes { election, .. } => election.as_deref(),
            _ => None,
        }
    }

    /// The field of the largest group of client processes (what to blame when there are
    /// too many): `workload.clients`, `workload.queue.producers` or `…consumers`.
    pub fn largest_client_field(&self) -> &'static str {
        let WorkloadConfig::Writes {
            clients,
            queue,
            lock,
            config,
            election,
            ..
        } = self
        else {
            return "workload.clients";
        };
        let mut groups = vec![(*clients, "workload.clients")];
        if let Some(q) = queue {
            groups.push((q.producers, "workload.queue.producers"));
            groups.push((q.consumers, "workload.queue.consumers"));
        }
        if let Some(l) = lock {
            groups.push((l.clients, "workload.lock.clients"));
        }
        if let Some(b) = self.barrier() {
            groups.push((b.participants, "workload.barrier.participants"));
        }
        if let Some(m) = self.members() {
            groups.push((m.members, "workload.members.members"));
            groups.push((m.observers, "workload.members.observers"));
        }
        if let Some(c) = config {
            groups.push((c.subscribers, "workload.config.subscribers"));
        }
        if let Some(e) = election {
            groups.push((e.schedulers, "workload.election.schedulers"));
            groups.push((e.workers, "workload.election.workers"));
        }
        if let Some(m) = self.mq() {
            groups.push((m.brokers, "workload.mq.brokers"));
            groups.push((m.producers, "workload.mq.producers"));
            groups.push((m.consumers, "workload.mq.consumers"));
        }
        // The largest group (ties go to the later one, as `max_by_key` picks).
        let largest = groups
            .iter()
            .max_by_key(|(n, _)| *n)
            .expect("at least the KV group");
        largest.1
    }

    /// The KV generators alone.
    pub fn kv_clients(&self) -> u32 {
        match self {
            WorkloadConfig::Writes { clients, .. } => *clients,
            _ => 0,
        }
    }

    pub fn is_probe(&self) -> bool {
        !matches!(self, WorkloadConfig::Writes { .. })
    }

    /// The workload in a few words, for the run summary.
    pub fn describe(&self) -> String {
        match self {
            WorkloadConfig::Probe { interval_ms, .. } => {
                format!("probe (each process pings a random peer every {interval_ms} ms)")
            }
            WorkloadConfig::Relay { tokens } => format!("relay ({tokens} tokens per process)"),
            WorkloadConfig::Writes {
                clients,
                queue,
                lock,
                config,
                election,
                ..
            } => {
                let mut text = format!("writes ({clients} KV clients");
                if let Some(q) = queue {
                    text += &format!(
                        ", {} producers and {} {:?} consumers on a queue",
                        q.producers, q.consumers, q.recipe
                    );
                }
                if let Some(l) = lock {
                    let fencing = if l.fencing { "with" } else { "without" };
                    text += &format!(
                        ", {} lock clients writing a resource {fencing} fencing tokens",
                        l.clients
                    );
                }
                if let Some(b) = self.barrier() {
                    text += &format!(
                        ", {} double-barrier participants for {} rounds",
                        b.participants, b.rounds
                    );
                }
                if let Some(m) = self.members() {
                    text += &format!(
                        ", {} group members and {} observers",
                        m.members, m.observers
                    );
                }
                if let Some(c) = config {
                    text += &format!(
                        ", a config publisher ({} versions, {} messages) and {} subscribers",
                        c.updates, c.messages, c.subscribers
                    );
                }
                if let Some(e) = election {
                    let fencing = if e.fencing { "with" } else { "without" };
                    text += &format!(
                        ", {} scheduler instances electing a leader that assigns {} tasks to {} \
                         workers writing a resource {fencing} fencing tokens",
                        e.schedulers, e.tasks, e.workers
                    );
                }
                if let Some(m) = self.mq() {
                    text += &format!(
                        ", a message queue of {} brokers ({} topics × {} partitions, \
                         replication factor {}), {} producers and a group of {} consumers",
                        m.brokers,
                        m.topics,
                        m.partitions,
                        m.replication_factor,
                        m.producers,
                        m.consumers
                    );
                }
                text + ")"
            }
        }
    }
}

/// A planted bug's scenario name (`zk-1154`).
fn bug_label(bug: BugName) -> String {
    let quoted = serde_json::to_string(&bug).expect("a bug name serializes");
    quoted.trim_matches('"').to_string()
}

impl Scenario {
    /// What the run simulates, for the first lines of its summary: the system under test
    /// and its size.
    pub fn system_under_test(&self) -> String {
        let c = &self.cluster;
        if self.workload.is_probe() {
            let n = c.servers + c.observers;
            return format!("the kernel probe ({n} processes), not ZooKeeper");
        }
        let observers = match c.observers {
            0 => String::new(),
            n => format!(" + {n} observers"),
        };
        let names: Vec<String> = self.zab.bugs.iter().map(|b| bug_label(*b)).collect();
        let bugs = match names.len() {
            0 => String::new(),
            _ => format!(", planted bugs: {}", names.join(" ")),
        };
        let engine = match c.protocol() {
            Protocol::Zab => "",
            Protocol::Raft => " on Raft",
            Protocol::Paxos => " on Multi-Paxos",
        };
        format!(
            "ZooKeeper ensemble{engine}, {} voting servers{observers}{bugs}",
            c.servers
        )
    }
}

/// The `[zab]` section: ZooKeeper server settings (ZooKeeper's names, our units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZabConfig {
    pub tick_ms: u64,
    pub init_limit_ticks: u64,
    pub sync_limit_ticks: u64,
    pub finalize_wait_ms: u64,
    pub notify_timeout_ms_start: u64,
    pub notify_timeout_ms_max: u64,
    /// Committed txns kept for DIFF; a follower further behind gets a SNAP.
    pub log_window_txns: u64,
    /// Planted historical bugs to switch on: `zk-1419`, `zk-335`, `zk-1154`, `zk-3911`,
    /// `zk-2355`, `zk-1366`, `queue-delete-first`, `lock-no-guid`, `barrier-no-recheck`,
    /// `config-read-then-watch`, `curator-498`, `curator-696`, the message queue's
    /// `kafka-hw-truncation`, `kafka-epoch-divergence`, `kafka-unfenced-fetch`,
    /// `kafka-zombie-controller`, on Raft `raft-figure8`, `raft-no-vote-persist`, and on
    /// Multi-Paxos `paxos-no-accept-persist`. Empty (the default) is the correct protocol.
    pub bugs: Vec<BugName>,
}

impl Default for ZabConfig {
    fn default() -> Self {
        ZabConfig {
            tick_ms: 200,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            finalize_wait_ms: 200,
            notify_timeout_ms_start: 200,
            // ZooKeeper's maxNotificationInterval (60 s) scaled like tick_ms (200 ms against
            // ZooKeeper's 2,000). At 60 s a server left LOOKING by a long election storm may
            // not ask again for a minute, longer than a liveness phase lasts.
            notify_timeout_ms_max: 6_000,
            log_window_txns: 500,
            bugs: Vec::new(),
        }
    }
}

/// The planted bugs, by ZooKeeper issue.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BugName {
    #[serde(rename = "zk-1419")]
    Zk1419,
    #[serde(rename = "zk-335")]
    Zk335,
    #[serde(rename = "zk-1154")]
    Zk1154,
    #[serde(rename = "zk-3911")]
    Zk3911,
    #[serde(rename = "zk-2355")]
    Zk2355,
    /// The server times its timeouts on the wall clock (ZooKeeper before 3.5).
    #[serde(rename = "zk-1366")]
    Zk1366,
    /// The claim-queue consumer deletes the item before processing it.
    #[serde(rename = "queue-delete-first")]
    QueueDeleteFirst,
    /// The lock recipe retries a create whose answer was lost without looking for the node
    /// it may have made (no protected mode): the orphan blocks the lock until its session
    /// ends.
    #[serde(rename = "lock-no-guid")]
    LockNoGuid,
    /// A double-barrier participant waiting for `ready` passes enter when its session
    /// reconnects, without looking again (Curator GH-1290).
    #[serde(rename = "barrier-no-recheck")]
    BarrierNoRecheck,
    /// A config subscriber reads with a plain getData and sets its watch with a second call
    /// (exists with a watch): an update between the two fires nothing, and the last one
    /// is missed forever.
    #[serde(rename = "config-read-then-watch")]
    ConfigReadThenWatch,
    /// The leader latch adopts a create's late answer from before its last reset: the
    /// stale name replaces its node, whose deletion — the leader's own — leaves two leaders
    /// (Curator's CURATOR-498).
    #[serde(rename = "curator-498")]
    Curator498,
    /// The leader latch leads with its remembered node without checking that the node's
    /// owner is its current session (Curator's CURATOR-696).
    #[serde(rename = "curator-696")]
    Curator696,
    /// Raft (`cluster.protocol = "raft"`): a leader commits a previous term's entry once a
    /// majority holds it (the Raft paper's Figure 8).
    #[serde(rename = "raft-figure8")]
    RaftFigure8,
    /// Raft: a vote is granted before it is durable, so a restarted server may vote twice
    /// in one term.
    #[serde(rename = "raft-no-vote-persist")]
    RaftNoVotePersist,
    /// Multi-Paxos (`cluster.protocol = "paxos"`): an acceptor answers an Accept before
    /// the acceptance is durable, so a restarted acceptor may have forgotten a value a
    /// quorum was counted on.
    #[serde(rename = "paxos-no-accept-persist")]
    PaxosNoAcceptPersist,
    /// The message queue (`[workload.mq]`): a follower truncates to its own checkpointed
    /// high watermark when it restarts or becomes follower (Kafka before KIP-101).
    #[serde(rename = "kafka-hw-truncation")]
    KafkaHwTruncation,
    /// The message queue: leader-epoch truncation as first shipped (KIP-101 before
    /// KIP-279): the follower truncates to the leader's end offset for its own last epoch.
    #[serde(rename = "kafka-epoch-divergence")]
    KafkaEpochDivergence,
    /// The message queue: fetches and truncation not fenced by the current leader epoch
    /// (before KIP-320). Not yet found by mq.toml (no finding of its own in seeds 0-1431;
    /// seed 1432 fails on the fixed protocol too): it awaits a trap scenario, and is in
    /// neither `zabsim bench`'s bug table nor the hash baseline.
    #[serde(rename = "kafka-unfenced-fetch")]
    KafkaUnfencedFetch,
    /// The message queue: a controller whose session expired keeps writing partition
    /// state unconditionally and its brokers accept its LeaderAndIsr without the
    /// controller-epoch check.
    #[serde(rename = "kafka-zombie-controller")]
    KafkaZombieController,
}

impl BugName {
    /// A bug of the message queue's brokers and controller (`[workload.mq]`).
    pub fn is_mq(self) -> bool {
        matches!(
            self,
            BugName::KafkaHwTruncation
                | BugName::KafkaEpochDivergence
                | BugName::KafkaUnfencedFetch
                | BugName::KafkaZombieController
        )
    }

    /// The protocol whose server the bug is planted in (None: a recipe's, any protocol).
    pub fn protocol(self) -> Option<Protocol> {
        match self {
            BugName::Zk1419
            | BugName::Zk335
            | BugName::Zk1154
            | BugName::Zk3911
            | BugName::Zk2355
            | BugName::Zk1366 => Some(Protocol::Zab),
            BugName::RaftFigure8 | BugName::RaftNoVotePersist => Some(Protocol::Raft),
            BugName::PaxosNoAcceptPersist => Some(Protocol::Paxos),
            BugName::QueueDeleteFirst
            | BugName::LockNoGuid
            | BugName::BarrierNoRecheck
            | BugName::ConfigReadThenWatch
            | BugName::Curator498
            | BugName::Curator696
            | BugName::KafkaHwTruncation
            | BugName::KafkaEpochDivergence
            | BugName::KafkaUnfencedFetch
            | BugName::KafkaZombieController => None,
        }
    }
}

/// A scenario without `[workload]` runs ZooKeeper with the default scenario's KV workload
/// (4 clients, a request every 2 ms, 20 % reads, 16 keys): zabsim simulates ZooKeeper, and
/// the kernel probe runs only when a scenario asks for it (`kind = "probe"` or `"relay"`).
impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig::Writes {
            clients: 4,
            interval_ms: 2,
            outstanding_max: default_outstanding(),
            session_timeout_ms: default_session_timeout_ms(),
            read_ratio: kernel::dist::Probability::from_ppm(200_000),
            keys: default_keys(),
            writes_max: 0,
            cas_ratio: kernel::dist::Probability::default(),
            key_dist: default_key_dist(),
            zipf_s: default_zipf_s(),
            queue: None,
            lock: None,
            barrier: None,
            members: None,
            config: None,
            election: None,
            mq: None,
        }
    }
}

/// Where a scenario problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field path, e.g. `nemesis.script[0].target`.
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A loaded scenario with the text it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub scenario: Scenario,
    /// The file name as given, or `<default>`.
    pub origin: String,
}

enum Format {
    Toml,
    Json,
}

fn format_of(origin: &str, text: &str) -> Format {
    if origin.ends_with(".json") || text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Toml
    }
}

/// Load a scenario from `text` (named `origin` in messages), apply `overrides`
/// (`a.b=value`, TOML syntax for the value, a bare word is a string) and validate.
pub fn load(origin: &str, text: &str, overrides: &[String]) -> Result<Loaded, ScenarioError> {
    let at = |line, column, field: Option<String>, message: String| ScenarioError {
        file: origin.to_string(),
        line,
        column,
        field,
        message,
    };
    let mut table: toml::Table = match format_of(origin, text) {
        Format::Toml => {
            toml::from_str::<Scenario>(text).map_err(|e| {
                let (line, col) = e.span().map(|s| line_col(text, s.start)).unzip();
                at(line, col, None, e.message().trim().to_string())
            })?;
            toml::from_str(text).expect("parsed once already")
        }
        Format::Json => {
            let mut value = match run_file_scenario(text) {
                // A run directory's `scenario.json`: its (machine-written) scenario member.
                Some(inner) => {
                    Scenario::deserialize(&inner)
                        .map_err(|e| at(None, None, Some("scenario".into()), e.to_string()))?;
                    inner
                }
                None => {
                    serde_json::from_str::<Scenario>(text).map_err(|e| {
                        at(
                            Some(e.line()),
                            Some(e.column()),
                            None,
                            strip_json_position(&e),
                        )
                    })?;
                    serde_json::from_str(text).expect("parsed once already")
                }
            };
            // TOML has no null: an optional field set to null is the field left out (this is
            // how the resolved scenario written beside a run spells its unset options).
            drop_nulls(&mut value);
            toml::Table::try_from(value).map_err(|e| {
                at(
                    None,
                    None,
                    None,
                    format!("cannot be expressed as TOML: {e}"),
                )
            })?
        }
    };
    for o in overrides {
        apply_override(&mut table, o).map_err(|m| at(None, None, Some(format!("--set {o}")), m))?;
        Scenario::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
            at(
                None,
                None,
                Some(format!("--set {o}")),
                e.message().trim().to_string(),
            )
        })?;
    }
    let scenario = Scenario::deserialize(toml::Value::Table(table))
        .map_err(|e| at(None, None, None, e.message().trim().to_string()))?;
    if let Err((path, message)) = validate(&scenario) {
        let overridden = overrides.iter().find(|o| {
            o.split('=')
                .next()
                .is_some_and(|k| path.starts_with(k.trim()))
        });
        if let Some(o) = overridden {
            return Err(at(
                None,
                None,
                Some(format!("--set {o}")),
                format!("{path}: {message}"),
            ));
        }
        let (line, column) = match format_of(origin, text) {
            Format::Toml => locate_toml(text, &path).map(|s| line_col(text, s)).unzip(),
            Format::Json => (None, None),
        };
        return Err(at(line, column, Some(path), message));
    }
    Ok(Loaded {
        scenario,
        origin: origin.to_string(),
    })
}

/// The members of the file `zabsim run --out DIR` writes as `DIR/scenario.json` (see
/// `run::ResolvedScenario`): the seed, the scenario, and what the seed chose.
const RUN_FILE_MEMBERS: [&str; 4] = ["seed", "scenario", "swarm", "schedule"];

/// The JSON object of `text` when it is such a run file (an object with a `seed` and a
/// `scenario` and nothing else of its own); `None` for anything else, a plain scenario
/// included.
fn run_file(text: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let serde_json::Value::Object(map) = serde_json::from_str(text).ok()? else {
        return None;
    };
    let own = map.keys().all(|k| RUN_FILE_MEMBERS.contains(&k.as_str()));
    (own && map.contains_key("seed") && map.contains_key("scenario")).then_some(map)
}

/// The scenario member of a run file (see [`run_file`]).
fn run_file_scenario(text: &str) -> Option<serde_json::Value> {
    run_file(text)?.remove("scenario")
}

/// The seed a run file was written for: what `run`/`replay --scenario DIR/scenario.json`
/// replays when no seed is given. `None` for a plain scenario.
pub fn run_file_seed(text: &str) -> Option<u64> {
    run_file(text)?.get("seed")?.as_u64()
}

/// Remove every object member whose value is null, recursively.
fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Read and load a scenario file.
pub fn load_file(path: &str, overrides: &[String]) -> Result<Loaded, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_string(),
        line: None,
        column: None,
        field: None,
        message: format!("cannot read the scenario: {e}"),
    })?;
    load(path, &text, overrides)
}

/// The built-in default scenario.
pub fn load_default(overrides: &[String]) -> Result<Loaded, ScenarioError> {
    load("<default>", DEFAULT_TOML, overrides)
}

fn strip_json_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// Set `a.b.c = value` in a TOML table. The value is parsed as TOML; a bare word that is
/// not valid TOML is taken as a string.
fn apply_override(table: &mut toml::Table, spec: &str) -> Result<(), String> {
    let (key, raw) = spec.split_once('=').ok_or("expected key=value")?;
    let keys: Vec<&str> = key.trim().split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(format!("`{}` is not a field path", key.trim()));
    }
    let value = match toml::from_str::<toml::Table>(&format!("v = {}", raw.trim())) {
        Ok(mut t) => t.remove("v").expect("just parsed"),
        Err(_) => toml::Value::String(raw.trim().to_string()),
    };
    let (last, parents) = keys.split_last().expect("at least one key");
    let mut here = table;
    for k in parents {
        let entry = here
            .entry(k.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        here = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{k}` is not a table"))?;
    }
    here.insert(last.to_string(), value);
    Ok(())
}

/// The byte offset of the value at `path` (`a.b[2].c`) in TOML text, if it is there.
fn locate_toml(text: &str, path: &str) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let mut span = root.span();
    let mut here: Option<&DeValue> = None;
    let table_root = root.get_ref();
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let table = match here {
            None => table_root,
            Some(DeValue::Table(t)) => t,
            _ => return Some(span.start),
        };
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            return Some(span.start);
        };
        span = k.span();
        here = Some(v.get_ref());
        if let (Some(i), DeValue::Array(items)) = (index, v.get_ref()) {
            let item = items.get(i)?;
            span = item.span();
            here = Some(item.get_ref());
        }
    }
    Some(span.start)
}

type Problem = (String, String);

fn check(ok: bool, path: &str, message: impl Into<String>) -> Result<(), Problem> {
    if ok {
        Ok(())
    } else {
        Err((path.to_string(), message.into()))
    }
}

/// Every rule a parsed scenario must meet; `Err((field path, message))` for the first broken.
pub fn validate(s: &Scenario) -> Result<(), Problem> {
    check(
        s.version == VERSION,
        "version",
        format!(
            "version {} is not supported (this build reads version {VERSION})",
            s.version
        ),
    )?;
    let processes = s.cluster.servers as u64 + s.cluster.observers as u64;
    let all = processes + s.workload.clients() as u64;
    // Fault targets: the servers, then the clients that are (at most `PROCESSES_MAX` once
    // the process count is checked below).
    let targets = processes + u64::from(s.workload.client_fault_target_count());
    check(
        s.cluster.servers >= 1,
        "cluster.servers",
        "at least one server is needed",
    )?;
    check(
        all <= PROCESSES_MAX as u64,
        match processes <= PROCESSES_MAX as u64 {
            true => s.workload.largest_client_field(),
            false => "cluster.servers",
        },
        format!(
            "at most {PROCESSES_MAX} processes; this has {processes} servers and {} clients",
            s.workload.clients()
        ),
    )?;
    check(s.run.safety_ms > 0, "run.safety_ms", "must be positive")?;
    check(s.run.liveness_ms > 0, "run.liveness_ms", "must be positive")?;
    check(s.run.events_max > 0, "run.events_max", "must be positive")?;
    check(
        s.run.queue_max > 0 && s.run.queue_max <= CAPACITY_LIMIT as u64,
        "run.queue_max",
        format!("must be positive and at most {CAPACITY_LIMIT} (2^30)"),
    )?;
    validate_times(s)?;
    validate_network(&s.network, all)?;
    if let Err((field, m)) = s.disk.fsync.validate() {
        return Err((format!("disk.fsync.{field}"), m));
    }
    check(
        s.clock.drift_ppm_max.unsigned_abs() <= DRIFT_PPM_MAX as u64,
        "clock.drift_ppm_max",
        format!("must be within ±{DRIFT_PPM_MAX}"),
    )?;
    validate_nemesis(&s.nemesis, targets as u32, s.run.safety_ms)?;
    match s.workload {
        WorkloadConfig::Probe {
            interval_ms,
            payload_bytes,
        } => {
            check(interval_ms > 0, "workload.interval_ms", "must be positive")?;
            check(
                payload_bytes <= PAYLOAD_BYTES_MAX,
                "workload.payload_bytes",
                format!("at most {PAYLOAD_BYTES_MAX}"),
            )?
        }
        WorkloadConfig::Relay { tokens } => {
            check(tokens > 0, "workload.tokens", "must be positive")?
        }
        WorkloadConfig::Writes {
            clients,
            interval_ms,
            outstanding_max,
            session_timeout_ms,
            keys,
            ref queue,
            ref lock,
            ref config,
            ref election,
            ref key_dist,
            zipf_s,
            ..
        } => {
            check(
                clients
                    + queue.as_ref().map_or(0, |q| q.producers + q.consumers)
                    + lock.as_ref().map_or(0, |l| l.clients)
                    + s.workload.barrier().map_or(0, |b| b.participants)
                    + s.workload.members().map_or(0, |m| m.members + m.observers)
                    + config.as_ref().map_or(0, |c| c.subscribers)
                    + election.as_ref().map_or(0, |e| e.schedulers + e.workers)
                    + s.workload.mq().map_or(0, |m| m.brokers)
                    > 0,
                "workload.clients",
                "must be positive (or give [workload.queue] producers and consumers, \
                 [workload.lock] clients, [workload.barrier] participants, [workload.members] \
                 members, [workload.config] subscribers, [workload.election] schedulers and \
                 workers or [workload.mq] brokers)",
            )?;
            check(interval_ms > 0, "workload.interval_ms", "must be positive")?;
            check(
                outstanding_max > 0,
                "workload.outstanding_max",
                "must be positive",
            )?;
            check(
                (1..=3_600_000).contains(&session_timeout_ms),
                "workload.session_timeout_ms",
                "must be in 1..=3600000",
            )?;
            check(keys > 0, "workload.keys", "must be positive")?;
            validate_keys(key_dist, zipf_s, keys)?;
            validate_protocol(&s.zab, &s.cluster)?;
            validate_paxos(&s.paxos, &s.cluster)?;
            validate_zab(&s.zab, &s.cluster)?;
            if let Some(q) = queue {
                validate_queue(q, &s.zab.bugs)?;
            }
            validate_lock(lock.as_deref(), &s.zab.bugs)?;
            validate_barrier(s.workload.barrier(), &s.zab.bugs)?;
            validate_members(s.workload.members())?;
            validate_config(config.as_deref(), &s.zab.bugs)?;
            validate_election(election.as_deref(), &s.zab.bugs)?;
            if let Some(m) = s.workload.mq() {
                validate_mq(m)?;
            }
            check(
                s.workload.mq().is_some() || !s.zab.bugs.iter().any(|b| b.is_mq()),
                "zab.bugs",
                "the kafka-* bugs are bugs of the message queue: add a [workload.mq] section",
            )?;
        }
    }
    check(
        !s.workload.is_probe() || processes >= 2,
        "cluster.servers",
        "the kernel probe needs at least two processes",
    )
}

/// `key_dist` names a distribution, `zipf_s` is a usable exponent, a Zipf table fits.
fn validate_keys(key_dist: &str, zipf_s: f64, keys: u64) -> Result<(), Problem> {
    let names = KeyDist::NAMES.map(|n| format!("\"{n}\"")).join(" or ");
    let Some(dist) = KeyDist::parse(key_dist) else {
        return Err((
            "workload.key_dist".into(),
            format!("unknown key distribution \"{key_dist}\"; expected {names}"),
        ));
    };
    check(
        zipf_s.is_finite() && zipf_s > 0.0,
        "workload.zipf_s",
        format!("{zipf_s} must be a finite number > 0"),
    )?;
    check(
        dist != KeyDist::Zipf || keys <= ZIPF_KEYS_MAX,
        "workload.keys",
        format!("at most {ZIPF_KEYS_MAX} with key_dist = \"zipf\""),
    )?;
    check(
        keys <= KEYS_MAX,
        "workload.keys",
        format!("at most {KEYS_MAX}"),
    )
}

/// A time value within `TIME_MS_MAX` (`what` says which value, e.g. `5000 ms`).
fn check_time(ms: u64, path: &str, what: String) -> Result<(), Problem> {
    check(
        ms <= TIME_MS_MAX,
        path,
        format!(
            "{what} is more than {TIME_MS_MAX} ms (about 11 days), the longest time a \
             scenario may give"
        ),
    )
}

fn check_ms(ms: u64, path: &str) -> Result<(), Problem> {
    check_time(ms, path, format!("{ms} ms"))
}

fn check_us(us: u64, path: &str) -> Result<(), Problem> {
    check_time(us / 1_000, path, format!("{us} µs"))
}

/// Every time value of the scenario is within `TIME_MS_MAX` (see there).
fn validate_times(s: &Scenario) -> Result<(), Problem> {
    check_ms(s.run.safety_ms, "run.safety_ms")?;
    check_ms(s.run.liveness_ms, "run.liveness_ms")?;
    check_us(s.network.retransmit_us, "network.retransmit_us")?;
    check_us(s.cpu.message_us, "cpu.message_us")?;
    for (kind, &us) in &s.cpu.kind_us {
        check_us(us, &format!("cpu.kind_us.{kind}"))?;
    }
    validate_nemesis_times(&s.nemesis)?;
    let z = &s.zab;
    for (field, ms) in [
        ("tick_ms", z.tick_ms),
        ("finalize_wait_ms", z.finalize_wait_ms),
        ("notify_timeout_ms_start", z.notify_timeout_ms_start),
        ("notify_timeout_ms_max", z.notify_timeout_ms_max),
    ] {
        check_ms(ms, &format!("zab.{field}"))?;
    }
    for (field, ticks) in [
        ("init_limit_ticks", z.init_limit_ticks),
        ("sync_limit_ticks", z.sync_limit_ticks),
    ] {
        let ms = z.tick_ms.saturating_mul(ticks);
        let what = format!("tick_ms × {field} = {ms} ms");
        check_time(ms, &format!("zab.{field}"), what)?;
    }
    validate_workload_times(&s.workload)
}

fn validate_nemesis_times(n: &NemesisConfig) -> Result<(), Problem> {
    check_ms(n.interval_ms, "nemesis.interval_ms")?;
    check_ms(n.duration_ms_min, "nemesis.duration_ms_min")?;
    check_ms(n.duration_ms_max, "nemesis.duration_ms_max")?;
    check_ms(n.jump_ms_max.unsigned_abs(), "nemesis.jump_ms_max")?;
    for (i, s) in n.script.iter().enumerate() {
        let path = |f: &str| format!("nemesis.script[{i}].{f}");
        if let Some(ms) = s.fault.duration_ms() {
            check_ms(ms, &path("duration_ms"))?;
        }
        match s.fault {
            Fault::Crash {
                restart_after_ms: Some(ms),
                ..
            } => check_ms(ms, &path("restart_after_ms"))?,
            Fault::ClockJump { jump_ms, .. } => check_ms(jump_ms.unsigned_abs(), &path("jump_ms"))?,
            _ => {}
        }
    }
    Ok(())
}

fn validate_workload_times(w: &WorkloadConfig) -> Result<(), Problem> {
    match w {
        WorkloadConfig::Probe { interval_ms, .. } => check_ms(*interval_ms, "workload.interval_ms"),
        WorkloadConfig::Relay { .. } => Ok(()),
        WorkloadConfig::Writes {
            interval_ms,
            queue,
            lock,
            config,
            ..
        } => {
            check_ms(*interval_ms, "workload.interval_ms")?;
            if let Some(c) = config {
                check_ms(c.interval_ms, "workload.config.interval_ms")?;
                check_ms(c.apply_ms, "workload.config.apply_ms")?;
            }
            if let Some(l) = lock {
                check_ms(l.work_ms, "workload.lock.work_ms")?;
                check_ms(l.think_ms, "workload.lock.think_ms")?;
            }
            if let Some(b) = w.barrier() {
                check_ms(b.work_ms, "workload.barrier.work_ms")?;
                check_ms(b.think_ms, "workload.barrier.think_ms")?;
            }
            if let Some(m) = w.members() {
                check_ms(m.stay_ms, "workload.members.stay_ms")?;
                check_ms(m.away_ms, "workload.members.away_ms")?;
            }
            if let Some(e) = w.election() {
                check_ms(e.task_interval_ms, "workload.election.task_interval_ms")?;
                check_ms(e.work_ms, "workload.election.work_ms")?;
            }
            let Some(q) = queue else { return Ok(()) };
            check_ms(q.process_ms, "workload.queue.process_ms")?;
            match &q.rate {
                Some(r) => check_ms(r.interval_ms, "workload.queue.rate.interval_ms"),
                None => Ok(()),
            }
        }
    }
}

fn validate_queue(q: &QueueWorkload, bugs: &[BugName]) -> Result<(), Problem> {
    check(
        q.producers > 0,
        "workload.queue.producers",
        "must be positive",
    )?;
    check(
        q.consumers > 0,
        "workload.queue.consumers",
        "must be positive",
    )?;
    check(q.items > 0, "workload.queue.items", "must be positive")?;
    check(
        q.items <= 1_000_000,
        "workload.queue.items",
        "at most 1000000 per producer",
    )?;
    if let Some(r) = &q.rate {
        check(
            r.capacity > 0 && r.refill > 0 && r.interval_ms > 0,
            "workload.queue.rate",
            "capacity, refill and interval_ms must be positive",
        )?;
    }
    check(
        !bugs.contains(&BugName::QueueDeleteFirst) || q.recipe == QueueRecipe::Claim,
        "zab.bugs",
        "queue-delete-first is a bug of the claim recipe: set workload.queue.recipe = \"claim\"",
    )
}

fn validate_lock(lock: Option<&LockWorkload>, bugs: &[BugName]) -> Result<(), Problem> {
    let Some(l) = lock else {
        return check(
            !bugs.contains(&BugName::LockNoGuid),
            "zab.bugs",
            "lock-no-guid is a bug of the lock recipe: add a [workload.lock] section",
        );
    };
    check(l.clients > 0, "workload.lock.clients", "must be positive")?;
    check(
        (1..=LOCK_HOLDS_MAX).contains(&l.holds),
        "workload.lock.holds",
        format!("must be in 1..={LOCK_HOLDS_MAX}"),
    )?;
    check(
        (1..=LOCK_WRITES_PER_HOLD_MAX).contains(&l.writes_per_hold),
        "workload.lock.writes_per_hold",
        format!("must be in 1..={LOCK_WRITES_PER_HOLD_MAX}"),
    )
}

fn validate_barrier(barrier: Option<&BarrierWorkload>, bugs: &[BugName]) -> Result<(), Problem> {
    let Some(b) = barrier else {
        return check(
            !bugs.contains(&BugName::BarrierNoRecheck),
            "zab.bugs",
            "barrier-no-recheck is a bug of the double barrier: add a [workload.barrier] section",
        );
    };
    check(
        b.participants > 0,
        "workload.barrier.participants",
        "must be positive",
    )?;
    check(
        (1..=BARRIER_ROUNDS_MAX).contains(&b.rounds),
        "workload.barrier.rounds",
        format!("must be in 1..={BARRIER_ROUNDS_MAX}"),
    )
}

fn validate_members(members: Option<&MembersWorkload>) -> Result<(), Problem> {
    let Some(m) = members else {
        return Ok(());
    };
    check(
        m.members > 0,
        "workload.members.members",
        "must be positive",
    )?;
    check(
        m.observers > 0,
        "workload.members.observers",
        "must be positive",
    )?;
    check(
        (1..=MEMBER_CYCLES_MAX).contains(&m.cycles),
        "workload.members.cycles",
        format!("must be in 1..={MEMBER_CYCLES_MAX}"),
    )
}

fn validate_config(config: Option<&ConfigWorkload>, bugs: &[BugName]) -> Result<(), Problem> {
    let Some(c) = config else {
        return check(
            !bugs.contains(&BugName::ConfigReadThenWatch),
            "zab.bugs",
            "config-read-then-watch is a bug of the config recipe: add a [workload.config] \
             section",
        );
    };
    check(
        c.subscribers > 0,
        "workload.config.subscribers",
        "must be positive",
    )?;
    check(
        (1..=CONFIG_UPDATES_MAX).contains(&c.updates),
        "workload.config.updates",
        format!("must be in 1..={CONFIG_UPDATES_MAX}"),
    )?;
    check(
        c.messages <= CONFIG_MESSAGES_MAX,
        "workload.config.messages",
        format!("at most {CONFIG_MESSAGES_MAX}"),
    )?;
    check(
        c.interval_ms > 0,
        "workload.config.interval_ms",
        "must be positive",
    )?;
    check(
        (1..=c.updates).contains(&c.burst),
        "workload.config.burst",
        "must be in 1..=updates",
    )
}

fn validate_mq(m: &MqWorkload) -> Result<(), Problem> {
    check(
        (1..=MQ_BROKERS_MAX).contains(&m.brokers),
        "workload.mq.brokers",
        format!("must be in 1..={MQ_BROKERS_MAX}"),
    )?;
    check(m.topics > 0, "workload.mq.topics", "must be positive")?;
    check(
        m.partitions > 0,
        "workload.mq.partitions",
        "must be positive",
    )?;
    check(
        u64::from(m.topics) * u64::from(m.partitions) <= u64::from(MQ_PARTITIONS_MAX),
        "workload.mq.partitions",
        format!("topics × partitions must be at most {MQ_PARTITIONS_MAX}"),
    )?;
    check(
        (1..=m.brokers).contains(&m.replication_factor),
        "workload.mq.replication_factor",
        format!("must be in 1..=brokers ({})", m.brokers),
    )?;
    check(
        (1..=m.replication_factor).contains(&m.min_insync_replicas),
        "workload.mq.min_insync_replicas",
        format!(
            "must be in 1..=replication_factor ({})",
            m.replication_factor
        ),
    )?;
    check(m.producers > 0, "workload.mq.producers", "must be positive")?;
    check(
        (1..=MQ_RECORDS_MAX).contains(&m.records),
        "workload.mq.records",
        format!("must be in 1..={MQ_RECORDS_MAX}"),
    )?;
    check(m.keys > 0, "workload.mq.keys", "must be positive")?;
    check(
        m.consumers <= MQ_CONSUMERS_MAX,
        "workload.mq.consumers",
        format!("must be at most {MQ_CONSUMERS_MAX}"),
    )?;
    check(
        !m.group.is_empty()
            && m.group.len() <= 64
            && m.group
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "workload.mq.group",
        "must be 1 to 64 letters, digits, '-' or '_'",
    )?;
    for (ms, field) in [
        (m.produce_interval_ms, "workload.mq.produce_interval_ms"),
        (m.retry_ms, "workload.mq.retry_ms"),
        (m.lag_ms, "workload.mq.lag_ms"),
        (m.tick_ms, "workload.mq.tick_ms"),
        (m.reconcile_ms, "workload.mq.reconcile_ms"),
        (m.commit_ms, "workload.mq.commit_ms"),
        (m.poll_ms, "workload.mq.poll_ms"),
    ] {
        check(ms > 0, field, "must be positive")?;
        check_ms(ms, field)?;
    }
    Ok(())
}

fn validate_election(e: Option<&ElectionWorkload>, bugs: &[BugName]) -> Result<(), Problem> {
    let Some(e) = e else {
        return check(
            !bugs.contains(&BugName::Curator498) && !bugs.contains(&BugName::Curator696),
            "zab.bugs",
            "curator-498 and curator-696 are bugs of the leader latch: add a \
             [workload.election] section",
        );
    };
    check(
        e.schedulers > 0,
        "workload.election.schedulers",
        "must be positive",
    )?;
    check(
        e.workers > 0,
        "workload.election.workers",
        "must be positive",
    )?;
    check(
        (1..=ELECTION_TASKS_MAX).contains(&e.tasks),
        "workload.election.tasks",
        format!("must be in 1..={ELECTION_TASKS_MAX}"),
    )?;
    check(
        (1..=LOCK_WRITES_PER_HOLD_MAX).contains(&e.writes_per_task),
        "workload.election.writes_per_task",
        format!("must be in 1..={LOCK_WRITES_PER_HOLD_MAX}"),
    )
}

/// `cluster.protocol` names an engine; Raft and Multi-Paxos have no observers (non-voting
/// learners) and at most `raft::VOTERS_MAX` / `paxos::VOTERS_MAX` voters; every planted server bug belongs to the protocol run.
fn validate_protocol(z: &ZabConfig, cluster: &ClusterConfig) -> Result<(), Problem> {
    let names: Vec<&str> = Protocol::ALL.iter().map(|p| p.0).collect();
    let Some(protocol) = Protocol::parse(&cluster.protocol) else {
        return Err((
            "cluster.protocol".into(),
            format!(
                "`{}` is not a protocol: one of {}",
                cluster.protocol,
                names.join(", ")
            ),
        ));
    };
    let voters_max = match protocol {
        Protocol::Zab => None,
        Protocol::Raft => Some(raft::VOTERS_MAX),
        Protocol::Paxos => Some(paxos::VOTERS_MAX),
    };
    if let Some(voters_max) = voters_max {
        let name = protocol.name();
        check(
            cluster.observers == 0,
            "cluster.observers",
            format!(
                "observers (non-voting learners) are not implemented on {name}: set \
                 observers = 0 or protocol = \"zab\""
            ),
        )?;
        check(
            cluster.servers as usize <= voters_max,
            "cluster.servers",
            format!("at most {voters_max} {name} voters"),
        )?;
    }
    for b in &z.bugs {
        let wrong = b.protocol().is_some_and(|p| p != protocol);
        check(
            !wrong,
            "zab.bugs",
            format!(
                "{} is a bug of the {} server; this scenario runs {}",
                bug_label(*b),
                b.protocol().map_or("", Protocol::name),
                cluster.protocol
            ),
        )?;
    }
    Ok(())
}

/// `paxos.window` is in `1..=paxos::WINDOW_MAX`, `paxos.order` names an acceptance rule,
/// and a `[paxos]` section other than the default is only for `cluster.protocol = "paxos"`.
fn validate_paxos(p: &PaxosConfig, cluster: &ClusterConfig) -> Result<(), Problem> {
    check(
        (1..=paxos::WINDOW_MAX).contains(&p.window),
        "paxos.window",
        format!("{} must be in 1..={}", p.window, paxos::WINDOW_MAX),
    )?;
    let names: Vec<String> = paxos::Order::ALL
        .iter()
        .map(|o| format!("\"{}\"", o.0))
        .collect();
    check(
        paxos::Order::parse(&p.order).is_some(),
        "paxos.order",
        format!("`{}` is not an order: one of {}", p.order, names.join(", ")),
    )?;
    check(
        p.is_default() || cluster.protocol == "paxos",
        "paxos",
        format!(
            "the [paxos] settings are for cluster.protocol = \"paxos\"; this scenario runs {}",
            cluster.protocol
        ),
    )
}

fn validate_zab(z: &ZabConfig, cluster: &ClusterConfig) -> Result<(), Problem> {
    let (voters, observers) = (cluster.servers as u64, cluster.observers as u64);
    // Blame the field that pushed the ensemble over the cap.
    let field = match voters <= zab::SERVERS_MAX as u64 {
        true => "cluster.observers",
        false => "cluster.servers",
    };
    check(
        voters + observers <= zab::SERVERS_MAX as u64,
        field,
        format!(
            "at most {} ZooKeeper servers (voters + observers); this has {voters} + {observers}",
            zab::SERVERS_MAX
        ),
    )?;
    for (field, v) in [
        ("tick_ms", z.tick_ms),
        ("init_limit_ticks", z.init_limit_ticks),
        ("sync_limit_ticks", z.sync_limit_ticks),
        ("notify_timeout_ms_start", z.notify_timeout_ms_start),
        ("log_window_txns", z.log_window_txns),
    ] {
        check(v > 0, &format!("zab.{field}"), "must be positive")?;
    }
    check(
        z.notify_timeout_ms_start <= z.notify_timeout_ms_max,
        "zab.notify_timeout_ms_max",
        "must not be below notify_timeout_ms_start",
    )
}

fn validate_network(n: &NetworkConfig, processes: u64) -> Result<(), Problem> {
    if let Err((field, m)) = n.latency.validate() {
        return Err((format!("network.latency.{field}"), m));
    }
    check(
        n.transport == Transport::Datagram || n.retransmit_us > 0,
        "network.retransmit_us",
        "must be positive with tcp",
    )?;
    for (i, l) in n.link.iter().enumerate() {
        for (field, node) in [("from", l.from), ("to", l.to)] {
            check(
                (node as u64) < processes,
                &format!("network.link[{i}].{field}"),
                format!("process {node} is out of range (0..{processes})"),
            )?;
        }
        if let Some(Err((field, m))) = l.latency.map(|x| x.validate()) {
            return Err((format!("network.link[{i}].latency.{field}"), m));
        }
    }
    Ok(())
}

fn validate_nemesis(c: &NemesisConfig, targets: u32, safety_ms: u64) -> Result<(), Problem> {
    check(
        c.script.len() <= FAULTS_MAX,
        "nemesis.script",
        format!(
            "{} faults; a run's schedule holds at most {FAULTS_MAX}",
            c.script.len()
        ),
    )?;
    for (i, s) in c.script.iter().enumerate() {
        let path = |f: &str| format!("nemesis.script[{i}].{f}");
        check(
            s.at_ms < safety_ms,
            &path("at_ms"),
            format!(
                "{} is not inside the safety phase (0..{safety_ms})",
                s.at_ms
            ),
        )?;
        for node in s.fault.named_nodes() {
            let field = if matches!(s.fault.target(), Some(Target::Node(_))) {
                "target"
            } else {
                "kind"
            };
            check(
                node < targets,
                &path(field),
                format!(
                    "node {node} is out of range ({targets} fault targets: 0..{})",
                    targets.saturating_sub(1)
                ),
            )?;
        }
        if let Some(d) = s.fault.duration_ms() {
            check(d > 0, &path("duration_ms"), "must be positive")?;
        }
        match &s.fault {
            Fault::Crash {
                restart_after_ms: Some(0),
                ..
            } => return Err((path("restart_after_ms"), "must be positive".into())),
            Fault::ClockDrift { drift_ppm, .. } => check(
                drift_ppm.unsigned_abs() <= DRIFT_PPM_MAX as u64,
                &path("drift_ppm"),
                format!("must be within ±{DRIFT_PPM_MAX}"),
            )?,
            Fault::DiskSlow { factor, .. } => {
                check(*factor >= 1, &path("factor"), "must be at least 1")?
            }
            Fault::PartitionHalves {
                side: Some(side), ..
            } => check(
                !side.is_empty() && (side.len() as u32) < targets,
                &path("side"),
                "must name some but not all targets",
            )?,
            _ => {}
        }
    }
    if c.random {
        check(
            !c.kinds.is_empty(),
            "nemesis.kinds",
            "random faults need at least one kind",
        )?;
        check(c.interval_ms > 0, "nemesis.interval_ms", "must be positive")?;
        check(
            c.duration_ms_min > 0,
            "nemesis.duration_ms_min",
            "must be positive",
        )?;
        check(
            c.duration_ms_min <= c.duration_ms_max,
            "nemesis.duration_ms_max",
            "must not be below duration_ms_min",
        )?;
        check(
            c.drift_ppm_max.unsigned_abs() <= DRIFT_PPM_MAX as u64,
            "nemesis.drift_ppm_max",
            format!("must be within ±{DRIFT_PPM_MAX}"),
        )?;
    }
    check(
        !c.swarm || c.random,
        "nemesis.swarm",
        "swarm mode needs random = true",
    )
}

/// A scenario resolved for one seed: the kernel configuration and what the seed chose.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub kernel: KernelConfig,
    pub swarm: Option<SwarmChoice>,
}

/// Per-kind CPU costs for message kinds `kinds`; unknown kind names are an error.
pub fn cpu_costs(cpu: &CpuConfig, kinds: &[&str]) -> Result<Vec<u64>, Problem> {
    for name in cpu.kind_us.keys() {
        check(
            kinds.contains(&name.as_str()),
            &format!("cpu.kind_us.{name}"),
            format!("unknown message kind; valid kinds: {}", kinds.join(", ")),
        )?;
    }
    Ok(kinds
        .iter()
        .map(|k| cpu.kind_us.get(*k).copied().unwrap_or(cpu.message_us) * NS_PER_US)
        .collect())
}

/// Resolve `scenario` for `seed`: swarm choice, fault schedule and initial drifts come
/// from the swarm, fault and drift streams only (each its own, so a random schedule
/// replaced by the same explicit script leaves the drifts as they were).
pub fn resolve(s: &Scenario, seed: u64, kinds: &[&str]) -> Result<Resolved, Problem> {
    let servers = s.cluster.servers + s.cluster.observers;
    let processes = servers + s.workload.clients();
    let swarm = (s.nemesis.random && s.nemesis.swarm)
        .then(|| nemesis::swarm_choice(&s.nemesis, &mut Stream::new(seed, Purpose::Swarm)));
    let mut faults = Stream::new(seed, Purpose::Faults);
    // The servers, then the clients that are fault targets (the recipes';
    // none otherwise).
    let mut targets: Vec<ProcessId> = (0..servers).map(ProcessId).collect();
    targets.extend(s.workload.client_fault_targets(servers));
    let plan = Plan {
        config: &s.nemesis,
        swarm: swarm.as_ref(),
        target_count: targets.len() as u32,
        safety_ms: s.run.safety_ms,
    };
    let schedule = nemesis::build_schedule(&plan, &mut faults);
    let span = s.clock.drift_ppm_max.unsigned_abs();
    let mut drifts = Stream::new(seed, Purpose::Drift);
    let drift_ppm = (0..processes)
        .map(|_| drifts.between(0, 2 * span) as i64 - span as i64)
        .collect();
    let kernel = KernelConfig {
        seed,
        process_count: processes,
        targets,
        network: s.network.clone(),
        disk: s.disk.clone(),
        cpu_cost_ns: cpu_costs(&s.cpu, kinds)?,
        drift_ppm,
        schedule,
        safety_ns: s.run.safety_ms * NS_PER_MS,
        liveness_ns: s.run.liveness_ms * NS_PER_MS,
        events_max: s.run.events_max,
        queue_max: s.run.queue_max as usize,
    };
    Ok(Resolved { kernel, swarm })
}
