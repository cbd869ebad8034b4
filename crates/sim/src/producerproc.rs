//! A message-queue producer (issue 15) as a simulated process: it sends `records` keyed
//! records, one at a time, each to its partition's leader (key mod partitions), with
//! acks = all (a share `acks_all_ppm`) or acks = 1, and retries until acknowledged — after
//! NotLeader (to the leader the broker names, else the next replica), NotEnoughReplicas
//! (after a back-off) or no answer within `retry_ms`. Every attempt carries a new value
//! (`producer << 40 | record << 12 | attempt`), so an attempt is told apart from a retried
//! one in any log. Each acknowledgement is reported to the history (`ClientNote::MqAck`,
//! with its latency from the first attempt).
//! Producers have no ZooKeeper session: brokers tell them who leads.
//! Invariants: at most one attempt in flight; a record is acknowledged at most once;
//! attempts per record are bounded by `ATTEMPTS_MAX`.

use std::collections::BTreeMap;

use mq::BrokerId;
use mq::replica::ProduceEnd;
use mq::wire::{Msg as MqMsg, Part, Produce, ProduceReply};
use proto::history::ClientNote;
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, TimerId, WriteId};
use zkserver::{DiskRecord as Record, Msg, Note};

const SEND: TimerId = TimerId(160);
const RETRY: TimerId = TimerId(161);
/// Back-off after NotLeader / NotEnoughReplicas.
const BACKOFF_MS: u64 = 50;
/// Most attempts of one record (the value's attempt field has 12 bits).
pub const ATTEMPTS_MAX: u64 = 1 << 12;
/// Most records one producer sends (the value's record field has 28 bits).
pub const RECORDS_MAX: u64 = 1 << 28;

type Out = Outbox<Msg, Record, Note>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerConfig {
    /// This producer's number (in values).
    pub index: u32,
    pub brokers: Vec<ProcessId>,
    pub assignment: Vec<Vec<BrokerId>>,
    pub records: u64,
    pub keys: u64,
    pub acks_all_ppm: u32,
    pub interval_ms: u64,
    pub retry_ms: u64,
}

#[derive(Clone, Debug)]
struct Attempt {
    id: u64,
    part: Part,
    key: u64,
    acks_all: bool,
    number: u64,
    /// The RETRY timer is a back-off after an answer (not a timeout).
    answered: bool,
    /// When the record's first attempt left (monotonic ns): its produce latency's start.
    first_ns: u64,
}

pub struct Producer {
    config: ProducerConfig,
    /// Records acknowledged.
    acked: u64,
    /// The record being sent and its latest attempt.
    attempt: Option<Attempt>,
    /// Who leads each partition, as last heard.
    leaders: BTreeMap<Part, BrokerId>,
    attempts: u64,
}

impl Producer {
    pub fn new(config: ProducerConfig) -> Producer {
        assert!(config.records <= RECORDS_MAX && config.keys > 0);
        assert!(!config.assignment.is_empty() && config.retry_ms > 0);
        Producer {
            config,
            acked: 0,
            attempt: None,
            leaders: BTreeMap::new(),
            attempts: 0,
        }
    }

    pub fn done(&self) -> bool {
        self.acked >= self.config.records
    }

    pub fn explain(&self) -> String {
        let at = self.attempt.as_ref().map_or(String::new(), |a| {
            format!(", sending to partition {} (attempt {})", a.part, a.number)
        });
        format!(
            "producer acked {} of {} records{at}",
            self.acked, self.config.records
        )
    }

    /// Sends the current record's next attempt.
    fn send(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let a = self.attempt.as_mut().expect("a record to send");
        a.number += 1;
        a.answered = false;
        assert!(a.number < ATTEMPTS_MAX, "too many attempts of one record");
        self.attempts += 1;
        a.id = self.attempts;
        let assigned = &self.config.assignment[a.part as usize];
        let to = self
            .leaders
            .get(&a.part)
            .copied()
            .unwrap_or(assigned[(a.number as usize) % assigned.len()]);
        let value = (u64::from(self.config.index) + 1) << 40 | self.acked << 12 | a.number;
        let req = Produce {
            id: a.id,
            part: a.part,
            key: a.key,
            value,
            acks_all: a.acks_all,
        };
        out.send(
            self.config.brokers[to.0 as usize],
            Msg::mq(MqMsg::Produce(req)),
        );
        out.set_timer(RETRY, ctx.mono.plus_ns(self.config.retry_ms * NS_PER_MS));
    }

    fn next_record(&mut self, ctx: &mut Ctx, out: &mut Out) {
        if self.attempt.is_some() || self.done() {
            return;
        }
        let key = ctx.below(self.config.keys);
        let part = (key % self.config.assignment.len() as u64) as Part;
        let acks_all = ctx.below(1_000_000) < u64::from(self.config.acks_all_ppm);
        self.attempt = Some(Attempt {
            id: 0,
            part,
            key,
            acks_all,
            number: 0,
            answered: false,
            first_ns: ctx.mono.ns(),
        });
        self.send(ctx, out);
    }

    fn on_reply(&mut self, ctx: &mut Ctx, from: ProcessId, r: ProduceReply, out: &mut Out) {
        let Some(a) = self.attempt.as_mut() else {
            return;
        };
        if r.id != a.id || a.answered {
            return; // an earlier attempt's late answer
        }
        match r.end {
            ProduceEnd::Acked { offset, epoch } => {
                let leader = self
                    .config
                    .brokers
                    .iter()
                    .position(|&p| p == from)
                    .expect("a broker answered") as u32;
                let value = (u64::from(self.config.index) + 1) << 40 | self.acked << 12 | a.number;
                out.note(Note::client(ClientNote::MqAck {
                    part: a.part,
                    offset,
                    key: a.key,
                    value,
                    acks_all: a.acks_all,
                    leader,
                    leader_epoch: epoch,
                    latency_ns: ctx.mono.ns().saturating_sub(a.first_ns),
                }));
                self.leaders.insert(a.part, BrokerId(leader));
                self.acked += 1;
                self.attempt = None;
                out.cancel_timer(RETRY);
                out.set_timer(SEND, ctx.mono.plus_ns(self.config.interval_ms * NS_PER_MS));
            }
            ProduceEnd::NotLeader | ProduceEnd::NotEnoughReplicas => {
                a.answered = true;
                match r.leader {
                    Some(l) if self.config.brokers[l.0 as usize] != from => {
                        self.leaders.insert(a.part, l);
                    }
                    _ => {
                        self.leaders.remove(&a.part);
                    }
                }
                out.set_timer(RETRY, ctx.mono.plus_ns(BACKOFF_MS * NS_PER_MS));
            }
        }
    }
}

impl Process for Producer {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        out.set_timer(SEND, ctx.mono.plus_ns(self.config.interval_ms * NS_PER_MS));
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        if let Msg::Mq(m) = msg
            && let MqMsg::ProduceReply(r) = *m
        {
            self.on_reply(ctx, from, r, out);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        match timer {
            SEND => self.next_record(ctx, out),
            RETRY => {
                let Some(a) = &self.attempt else {
                    return;
                };
                if !a.answered {
                    // No answer: the leader may be gone; try the replicas in turn.
                    self.leaders.remove(&a.part);
                }
                self.send(ctx, out);
            }
            _ => {}
        }
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, _ctx: &mut Ctx, _peer: ProcessId, _out: &mut Out) {}
}
