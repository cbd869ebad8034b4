//! Partition replicas driven together through a FIFO message queue, message by message:
//! acks = all answered only once the ISR holds a record, the follower's high watermark
//! following the leader's, ISR shrink proposals, and KIP-101's first scenario end to end —
//! an acknowledged record lost after a follower restart and a failover only when the
//! follower truncates to its high watermark.

use std::collections::{BTreeMap, VecDeque};

use mq::isr::IsrConfig;
use mq::log::PartitionLog;
use mq::replica::{Out, ProduceEnd, Replica, Wire};
use mq::{BrokerId, Protocol};

const A: BrokerId = BrokerId(1);
const B: BrokerId = BrokerId(2);
const C: BrokerId = BrokerId(3);
const ALL: [BrokerId; 3] = [A, B, C];
/// Most messages one test delivers (the fetch loop never stops by itself).
const STEPS_MAX: usize = 10_000;

fn cfg(protocol: Protocol) -> IsrConfig {
    IsrConfig {
        protocol,
        fenced: true,
        lag_ms: 100,
        min_insync: 2,
    }
}

/// Replicas of one partition and the messages between them.
struct Net {
    replicas: BTreeMap<BrokerId, Replica>,
    queue: VecDeque<(BrokerId, BrokerId, Wire)>,
    produced: Vec<(u64, ProduceEnd)>,
    proposed: Vec<Vec<BrokerId>>,
    now_ns: u64,
}

impl Net {
    fn new(protocol: Protocol) -> Net {
        let replicas = ALL
            .iter()
            .map(|&b| (b, Replica::new(b, cfg(protocol), PartitionLog::new(), 0)))
            .collect();
        Net {
            replicas,
            queue: VecDeque::new(),
            produced: Vec::new(),
            proposed: Vec::new(),
            now_ns: 0,
        }
    }

    /// Carries out `from`'s outputs; its disk is instant (appends durable at once).
    fn take(&mut self, from: BrokerId, out: Vec<Out>) {
        let mut todo: VecDeque<Out> = out.into();
        for _ in 0..STEPS_MAX {
            let Some(o) = todo.pop_front() else {
                return;
            };
            match o {
                Out::Send { to, msg } => self.queue.push_back((from, to, msg)),
                Out::ProposeIsr(isr) => self.proposed.push(isr),
                Out::Produced { id, end } => self.produced.push((id, end)),
                Out::Appended { to, .. } => {
                    let mut more = Vec::new();
                    if let Some(r) = self.replicas.get_mut(&from) {
                        r.flushed(to, &mut more);
                    }
                    todo.extend(more);
                }
                Out::Truncated { .. } => {}
            }
        }
        panic!("outputs without end");
    }

    fn lead(&mut self, leader: BrokerId, epoch: u32, isr: &[BrokerId]) {
        let now = self.now_ns;
        let r = self.replicas.get_mut(&leader).unwrap();
        r.become_leader(epoch, &ALL, isr, now);
        let followers: Vec<BrokerId> = self
            .replicas
            .keys()
            .copied()
            .filter(|&f| f != leader)
            .collect();
        for f in followers {
            let mut out = Vec::new();
            self.replicas
                .get_mut(&f)
                .unwrap()
                .become_follower(leader, epoch, &mut out);
            self.take(f, out);
        }
    }

    fn produce(&mut self, leader: BrokerId, id: u64, acks_all: bool) {
        let mut out = Vec::new();
        let r = self.replicas.get_mut(&leader).unwrap();
        r.produce(id, (id, 1000 + id), acks_all, &mut out);
        self.take(leader, out);
    }

    /// Delivers `n` messages (to dead brokers: dropped).
    fn deliver(&mut self, n: usize) {
        assert!(n <= STEPS_MAX);
        for _ in 0..n {
            let Some((from, to, msg)) = self.queue.pop_front() else {
                return;
            };
            let Some(r) = self.replicas.get_mut(&to) else {
                continue;
            };
            let mut out = Vec::new();
            r.on_message(from, msg, self.now_ns, &mut out);
            self.take(to, out);
        }
    }

    /// Delivers messages while the next one is an epoch question or answer.
    fn deliver_questions(&mut self) {
        for _ in 0..STEPS_MAX {
            let next = self.queue.front().map(|(_, _, m)| m);
            if !matches!(
                next,
                Some(Wire::EpochQuery { .. } | Wire::EpochAnswer { .. })
            ) {
                return;
            }
            self.deliver(1);
        }
    }

    fn values(&self, b: BrokerId) -> Vec<u64> {
        self.replicas[&b]
            .log()
            .records()
            .iter()
            .map(|r| r.value)
            .collect()
    }
}

#[test]
fn acks_all_is_answered_once_every_isr_member_holds_the_record() {
    let mut net = Net::new(Protocol::Fixed);
    net.lead(A, 1, &ALL);
    net.deliver(2); // B's and C's first fetches (their truncation settled at once: empty)
    net.produce(A, 7, true);
    net.deliver(4); // empty replies; fetches from 0 again
    assert!(net.produced.is_empty(), "not committed yet");
    net.deliver(2); // the replies carry the record; the next fetches ask from 1
    assert!(net.produced.is_empty());
    assert_eq!(net.values(B), vec![1007]);
    assert_eq!(net.replicas[&B].hw(), 0);
    net.deliver(1); // B's fetch from 1 reaches A; C's not yet
    assert!(net.produced.is_empty(), "C holds the HW back");
    net.deliver(1);
    assert_eq!(
        net.produced,
        vec![(
            7,
            ProduceEnd::Acked {
                offset: 0,
                epoch: 1
            }
        )]
    );
    assert_eq!(net.replicas[&A].hw(), 1);
    // B's fetch from 1 was parked (nothing new for it); the HW's move released it: both
    // replies carry HW 1.
    net.deliver(2);
    assert_eq!(net.replicas[&B].hw(), 1);
    assert_eq!(net.replicas[&C].hw(), 1);
    net.deliver(2); // their next fetches: nothing new, parked — the loop is quiet
    assert!(net.queue.is_empty(), "caught-up fetches wait at the leader");
    let mut out = Vec::new();
    net.replicas.get_mut(&A).unwrap().tick(net.now_ns, &mut out);
    assert!(out.is_empty(), "a tick first stamps the parked fetches");
    let mut out = Vec::new();
    net.now_ns += mq::replica::FETCH_WAIT_NS;
    net.replicas.get_mut(&A).unwrap().tick(net.now_ns, &mut out);
    assert_eq!(out.len(), 2, "answered after the fetch wait: {out:?}");
}

#[test]
fn acks_one_is_answered_on_append_and_a_follower_is_no_leader() {
    let mut net = Net::new(Protocol::Fixed);
    net.lead(A, 1, &ALL);
    net.produce(A, 1, false);
    assert_eq!(
        net.produced,
        vec![(
            1,
            ProduceEnd::Acked {
                offset: 0,
                epoch: 1
            }
        )]
    );
    net.produce(B, 2, true);
    assert_eq!(net.produced[1], (2, ProduceEnd::NotLeader));
}

#[test]
fn a_silent_follower_is_proposed_out_of_the_isr_and_acks_all_refused_below_min_isr() {
    let mut net = Net::new(Protocol::Fixed);
    net.replicas.remove(&C); // C is down
    net.lead(A, 1, &ALL);
    net.produce(A, 1, true);
    net.deliver(6);
    assert!(net.produced.is_empty(), "C holds the HW back");
    net.now_ns = 101_000_000;
    let mut out = Vec::new();
    net.replicas.get_mut(&A).unwrap().tick(net.now_ns, &mut out);
    assert_eq!(out, vec![Out::ProposeIsr(vec![A, B])]);
    let mut out = Vec::new();
    net.replicas
        .get_mut(&A)
        .unwrap()
        .isr_written(&[A, B], &mut out);
    net.take(A, out);
    assert_eq!(
        net.produced,
        vec![(
            1,
            ProduceEnd::Acked {
                offset: 0,
                epoch: 1
            }
        )]
    );
    let mut out = Vec::new();
    net.replicas
        .get_mut(&A)
        .unwrap()
        .isr_written(&[A], &mut out);
    net.produce(A, 2, true);
    assert_eq!(net.produced[1], (2, ProduceEnd::NotEnoughReplicas));
}

/// KIP-101 scenario 1: m1, m2 acknowledged (ISR {A, B}); B restarts before its HW caught
/// up, becomes follower of A again, then A dies and B leads epoch 2. What B holds.
fn kip101_scenario_1(protocol: Protocol) -> Vec<u64> {
    let mut net = Net::new(protocol);
    net.replicas.remove(&C);
    net.lead(A, 1, &[A, B]);
    net.deliver(1); // B's first fetch: an empty reply
    net.produce(A, 1, true);
    net.produce(A, 2, true);
    net.deliver(4); // B fetches from 0, gets m1 and m2, fetches from 2: A's HW reaches 2
    assert_eq!(net.produced.len(), 2, "both acknowledged");
    assert_eq!(net.replicas[&B].hw(), 0, "B learns the HW a fetch later");
    // B restarts with its log and its HW checkpoint, and follows A again.
    let log = net.replicas[&B].log().clone();
    let hw = net.replicas[&B].hw();
    net.replicas
        .insert(B, Replica::new(B, cfg(protocol), log, hw));
    net.queue.clear();
    let mut out = Vec::new();
    net.replicas
        .get_mut(&B)
        .unwrap()
        .become_follower(A, 1, &mut out);
    net.take(B, out);
    net.deliver_questions(); // A answers B's epoch questions, if any
    net.replicas.remove(&A); // then dies before B fetched again
    net.deliver_questions();
    net.queue.clear();
    net.replicas
        .get_mut(&B)
        .unwrap()
        .become_leader(2, &ALL, &[B], 0);
    net.values(B)
}

#[test]
fn kip101_scenario_1_loses_acknowledged_records_only_with_hw_truncation() {
    assert_eq!(
        kip101_scenario_1(Protocol::HwTruncation),
        Vec::<u64>::new(),
        "m1, m2 lost"
    );
    assert_eq!(kip101_scenario_1(Protocol::Fixed), vec![1001, 1002]);
    assert_eq!(
        kip101_scenario_1(Protocol::EpochDivergence),
        vec![1001, 1002]
    );
}

/// mq.toml seed 1432: B was made leader of epoch 2 and deposed before it appended, so its
/// epoch cache ends with an empty epoch 2 at its log end; A, still holding epoch-1 records
/// past that end, leads epoch 3. B's truncation point is its own log end — and the
/// truncation must still drop the empty epoch, or A's epoch-1 records would land after
/// epoch 2 (a follower log whose epochs go backwards).
#[test]
fn a_deposed_leader_that_appended_nothing_drops_its_empty_epoch_and_follows() {
    let mut net = Net::new(Protocol::Fixed);
    net.replicas.remove(&C);
    net.lead(A, 1, &[A, B]);
    net.deliver(1);
    net.produce(A, 1, true);
    net.deliver(4);
    assert_eq!(net.produced.len(), 1, "m1 acknowledged");
    net.queue.clear();
    // B leads epoch 2 without appending; A appends m2 in epoch 1 meanwhile (a zombie).
    net.replicas
        .get_mut(&B)
        .unwrap()
        .become_leader(2, &ALL, &[B], 0);
    net.produce(A, 2, false);
    assert_eq!(net.replicas[&B].log().latest_epoch(), Some(2));
    net.queue.clear();
    // A leads epoch 3: B asks for epoch 2, A answers epoch 1 ending at A's log end.
    let now = net.now_ns;
    net.replicas
        .get_mut(&A)
        .unwrap()
        .become_leader(3, &ALL, &[A, B], now);
    let mut out = Vec::new();
    net.replicas
        .get_mut(&B)
        .unwrap()
        .become_follower(A, 3, &mut out);
    net.take(B, out);
    net.deliver(20);
    assert_eq!(net.values(B), net.values(A), "B holds A's log");
    assert_eq!(net.values(B), vec![1001, 1002]);
    assert_eq!(net.replicas[&B].log().latest_epoch(), Some(1));
}
