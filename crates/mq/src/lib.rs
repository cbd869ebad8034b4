//! A Kafka-style message queue whose metadata lives in ZooKeeper (issue 15), built up from
//! its replication rules, sans-IO and without the simulator:
//!
//! - [`log`]: one replica's partition log — records with offsets and leader epochs, the
//!   leader-epoch cache, `OffsetsForLeaderEpoch` answers, truncation;
//! - [`truncate`]: where a follower truncates when it (re)starts or becomes follower, by
//!   the replication protocol's version — to its own high watermark (before KIP-101), to
//!   the leader's end offset for its last epoch (KIP-101 as first shipped), or to the true
//!   common point found epoch by epoch (KIP-279) — the versions the TLA+ model of Kafka's
//!   replication re-found bugs in;
//! - [`isr`]: the partition leader's view of its followers — the high watermark (the
//!   minimum log end offset over the ISR), which followers leave the ISR (lagging) or may
//!   join it, by the same versions' rules.
//!
//! - [`replica`]: one broker's replica of one partition as a state machine over those —
//!   leader (produce, fetch and epoch answers, acks = all once committed, ISR proposals)
//!   or follower (truncation exchange, then the fetch loop).
//!
//! - [`state`]: a partition's state znode (leader, leader epoch, ISR, controller epoch)
//!   and the controller's election rule;
//! - [`wire`]: the world's messages between brokers, controller and producers, and a
//!   broker's disk entries.
//!
//! The broker, controller, producer and consumer processes live in the simulator
//! (`sim::brokerproc`, `sim::producerproc`, `sim::consumerproc`).

pub mod isr;
pub mod log;
pub mod replica;
pub mod state;
pub mod truncate;
pub mod wire;

/// A broker's id (`/brokers/ids/<id>`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerId(pub u32);

/// The replication protocol's version: the fixed protocol, or one of the historical
/// versions Kafka's TLA+ model re-found bugs in (each a planted bug).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// Before KIP-101: a follower truncates to its own high watermark when it restarts or
    /// becomes follower (`kafka-hw-truncation`).
    HwTruncation,
    /// KIP-101 as first shipped: the follower truncates to the leader's end offset for the
    /// follower's last epoch, without checking the leader has that epoch
    /// (`kafka-epoch-divergence`).
    EpochDivergence,
    /// KIP-279 and KIP-320: truncation walks back epoch by epoch to the common point, and
    /// fetches are fenced by the current leader epoch.
    Fixed,
}
