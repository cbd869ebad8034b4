//! What brokers, the controller, producers and consumers send each other in the simulated
//! world ([`Msg`]: LeaderAndIsr, replication, produce, consumer fetch), their kind names and sizes, and what a
//! broker writes to its disk ([`DiskEntry`]) with the recovery of its partition logs.
//! Invariants: `KINDS[m.kind()]` names `m`; recovery replays a disk's entries in order, so
//! a recovered log is exactly the one the broker had written (the durable prefix of it
//! after a crash).

use std::collections::BTreeMap;

use crate::BrokerId;
use crate::log::{PartitionLog, Record};
use crate::replica::{ProduceEnd, Wire};
use crate::state::PartitionState;

/// A partition's number in the world: topic × partitions per topic + partition.
pub type Part = u32;

/// Controller → broker: the state of one partition the broker replicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderAndIsr {
    pub controller_epoch: u32,
    pub part: Part,
    pub state: PartitionState,
    /// The state znode's version the state was read or written at.
    pub zk_version: i32,
    /// The broker registration the controller addresses (the broker's ZooKeeper session
    /// when it registered; a broker ignores a request for another registration).
    pub registration: u64,
}

/// Producer → leader: one record attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Produce {
    pub id: u64,
    pub part: Part,
    pub key: u64,
    pub value: u64,
    pub acks_all: bool,
}

/// Broker → producer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceReply {
    pub id: u64,
    pub part: Part,
    pub end: ProduceEnd,
    /// The leader this broker knows of (a hint after `NotLeader`).
    pub leader: Option<BrokerId>,
}

/// Consumer → the broker it believes leads `part` in `epoch`: records from `offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerFetch {
    pub id: u64,
    pub part: Part,
    pub offset: u64,
    /// The leader epoch the consumer read from the partition's state znode.
    pub epoch: u32,
}

/// Why a broker did not serve a consumer fetch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConsumerFetchError {
    /// It does not lead the partition in the consumer's epoch (it follows, leads another
    /// epoch, or is offline): the consumer reads the state znode again.
    NotLeader,
}

/// Broker → consumer: the partition leader's records from the fetch's offset, only below
/// its high watermark (what every ISR member holds), at most [`CONSUMER_FETCH_MAX`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerFetchReply {
    pub id: u64,
    pub part: Part,
    /// The leader epoch it was served in (the fetch's).
    pub epoch: u32,
    /// The leader's log end (0 with an error): a consumer positioned past it lost its
    /// records to an unclean election and starts again from there (Kafka's
    /// `auto.offset.reset = latest` on OffsetOutOfRange).
    pub log_end: u64,
    pub records: Vec<Record>,
    pub hw: u64,
    pub error: Option<ConsumerFetchError>,
}

/// Most records one consumer fetch answer carries.
pub const CONSUMER_FETCH_MAX: usize = 64;

/// Every message of the message queue's world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    LeaderAndIsr(LeaderAndIsr),
    /// Replication between the replicas of one partition.
    Replica {
        part: Part,
        wire: Wire,
    },
    Produce(Produce),
    ProduceReply(ProduceReply),
    ConsumerFetch(ConsumerFetch),
    ConsumerFetchReply(ConsumerFetchReply),
}

/// Kind names, in [`Msg::kind`] order.
pub const KINDS: [&str; 9] = [
    "LEADER_AND_ISR",
    "FETCH",
    "FETCH_REPLY",
    "EPOCH_QUERY",
    "EPOCH_ANSWER",
    "PRODUCE",
    "PRODUCE_REPLY",
    "CONSUMER_FETCH",
    "CONSUMER_FETCH_REPLY",
];

/// Bytes of one record on the wire (offset, epoch, key, value, framing).
const RECORD_BYTES: u32 = 8 + 4 + 8 + 8 + 12;

impl Msg {
    /// Its index in [`KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            Msg::LeaderAndIsr(_) => 0,
            Msg::Replica { wire, .. } => match wire {
                Wire::Fetch { .. } => 1,
                Wire::FetchReply { .. } => 2,
                Wire::EpochQuery { .. } => 3,
                Wire::EpochAnswer { .. } => 4,
            },
            Msg::Produce(_) => 5,
            Msg::ProduceReply(_) => 6,
            Msg::ConsumerFetch(_) => 7,
            Msg::ConsumerFetchReply(_) => 8,
        }
    }

    /// A realistic size: headers plus records.
    pub fn size_bytes(&self) -> u32 {
        let header = 24u32;
        header.saturating_add(match self {
            Msg::LeaderAndIsr(l) => {
                32u32.saturating_add(u32::try_from(l.state.isr.len() * 4).unwrap_or(u32::MAX))
            }
            Msg::Replica { wire, .. } => match wire {
                Wire::FetchReply { records, .. } => {
                    let n = u32::try_from(records.len()).unwrap_or(u32::MAX);
                    16u32.saturating_add(n.saturating_mul(RECORD_BYTES))
                }
                _ => 16,
            },
            Msg::Produce(_) => RECORD_BYTES + 8,
            Msg::ProduceReply(_) => 24,
            Msg::ConsumerFetch(_) => 24,
            Msg::ConsumerFetchReply(r) => {
                let n = u32::try_from(r.records.len()).unwrap_or(u32::MAX);
                24u32.saturating_add(n.saturating_mul(RECORD_BYTES))
            }
        })
    }
}

/// One entry of a broker's disk: a partition's appended record, truncation, or high
/// watermark checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskEntry {
    pub part: Part,
    pub op: DiskOp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskOp {
    Append(Record),
    Truncate(u64),
    /// The replica's high watermark (Kafka's replication-offset-checkpoint), written
    /// only under `Protocol::HwTruncation`, whose restart truncates to it.
    Checkpoint(u64),
}

/// The partition logs a broker's disk entries rebuild, in order.
pub fn recover<'a>(
    entries: impl IntoIterator<Item = &'a DiskEntry>,
) -> BTreeMap<Part, PartitionLog> {
    let mut logs: BTreeMap<Part, PartitionLog> = BTreeMap::new();
    for e in entries {
        let log = logs.entry(e.part).or_default();
        match &e.op {
            DiskOp::Append(r) => {
                // A record past the end cannot be on a disk written in order.
                assert_eq!(r.offset, log.leo(), "a disk record out of order");
                log.append_copy(r);
            }
            DiskOp::Truncate(to) => log.truncate_to(*to),
            DiskOp::Checkpoint(_) => {}
        }
    }
    logs
}

/// The last checkpointed high watermark of each partition among a broker's disk entries
/// (at most the recovered log's end: see [`recover`]).
pub fn recover_hw<'a>(entries: impl IntoIterator<Item = &'a DiskEntry>) -> BTreeMap<Part, u64> {
    let mut hws = BTreeMap::new();
    for e in entries {
        if let DiskOp::Checkpoint(hw) = e.op {
            hws.insert(e.part, hw);
        }
    }
    hws
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(offset: u64, epoch: u32, value: u64) -> DiskEntry {
        DiskEntry {
            part: 3,
            op: DiskOp::Append(Record {
                offset,
                epoch,
                key: 0,
                value,
            }),
        }
    }

    #[test]
    fn recovery_replays_appends_and_truncations_in_order() {
        let disk = vec![
            rec(0, 1, 10),
            rec(1, 1, 11),
            DiskEntry {
                part: 3,
                op: DiskOp::Truncate(1),
            },
            rec(1, 2, 21),
        ];
        let logs = recover(&disk);
        let values: Vec<u64> = logs[&3].records().iter().map(|r| r.value).collect();
        assert_eq!(values, vec![10, 21]);
        assert_eq!(logs[&3].epochs(), &[(1, 0), (2, 1)]);
    }

    #[test]
    fn kinds_name_every_message() {
        let fetch = Msg::Replica {
            part: 0,
            wire: Wire::Fetch {
                offset: 0,
                epoch: 1,
            },
        };
        assert_eq!(KINDS[fetch.kind()], "FETCH");
        let reply = Msg::ProduceReply(ProduceReply {
            id: 1,
            part: 0,
            end: ProduceEnd::NotLeader,
            leader: None,
        });
        assert_eq!(KINDS[reply.kind()], "PRODUCE_REPLY");
        let fetch = Msg::ConsumerFetch(ConsumerFetch {
            id: 1,
            part: 0,
            offset: 0,
            epoch: 1,
        });
        assert_eq!(KINDS[fetch.kind()], "CONSUMER_FETCH");
    }
}
