//! The message-queue workload (`[workload.mq]`, issue 15): brokers (`crate::brokerproc`,
//! role `broker`, client indices `0..brokers`, broker id = index) with their ZooKeeper
//! sessions and one elected controller, producers (`crate::producerproc`, role
//! `producer`) and the consumers of one consumer group (`crate::consumerproc`, role
//! `consumer`). Partition `p`'s replicas are brokers `p, p+1, …` mod `brokers`.
//! Online, after every event that touched a broker, the replication monitors of
//! `check::mq` run over the partitions that broker replicates: LeaderInIsr and StrongIsr
//! for every live replica that presumes to lead (against its ISR's live members).
//! Liveness after the heal: every producer acknowledged all its records, and every
//! partition's state znode (in the established ZooKeeper leader's tree) names a live
//! leader leading that epoch, followed by every assigned replica with the same log, and
//! its HW at its log end; and the controller named by `/controller` holds the view
//! ZooKeeper holds (`check::mq::controller_agrees`). With consumers, every consumer is
//! settled (registered in its live session, its member list the group's, owning exactly
//! its range assignment) and every partition's owner node belongs to a live consumer that owns it and has consumed
//! up to the leader's log end. The leaders' logs then are the final logs the history
//! checks read: AckedRecordLost, then the consumer checks of `check::mqconsume`
//! (ConsumedTwoValues, OffsetBackward, NotConsumed; figures `mq_consumed`,
//! `mq_consumed_dup`).

use std::collections::BTreeMap;

use super::{ClientProcess, Stuck, Workload, World};
use crate::brokerproc::{Broker, BrokerConfig};
use crate::consumerproc::{Consumer, ConsumerConfig};
use crate::node::Node;
use crate::producerproc::{Producer, ProducerConfig};
use crate::scenario::{BugName, MqWorkload, Scenario, WorkloadConfig};
use check::mq::{
    ControllerView, MqViolation, acked_kept, controller_agrees, leader_in_isr, strong_isr,
};
use check::mqconsume::{commits_monotone, consumed_once_each};
use kernel::observe::{Procs, Violation};
use mq::isr::IsrConfig;
use mq::log::Record;
use mq::state::PartitionState;
use mq::wire::Part;
use mq::{BrokerId, Protocol};
use proto::ProcessId;
use proto::history::Event;

/// A consumer gives up a fetch unanswered this long and reads the leader again.
pub const CONSUMER_FETCH_TIMEOUT_MS: u64 = 1_000;

pub struct Mq {
    brokers: u32,
    producers: u32,
    consumers: u32,
    first: ProcessId,
    broker: BrokerConfig,
    producer: ProducerConfig,
    consumer: ConsumerConfig,
    /// The partitions' leaders' logs when liveness was met (the final logs).
    final_logs: Option<BTreeMap<Part, Vec<Record>>>,
    /// The latest unclean election's leader epoch per partition (gathered from the
    /// controllers online): a presumed leader of an older epoch is not held to StrongIsr.
    unclean: BTreeMap<Part, u32>,
}

/// Partition `p`'s replicas: brokers `p, p+1, …` mod `brokers`, `rf` of them.
pub fn assignment(partitions: u32, brokers: u32, rf: u32) -> Vec<Vec<BrokerId>> {
    assert!(rf <= brokers && brokers > 0);
    (0..partitions)
        .map(|p| (0..rf).map(|k| BrokerId((p + k) % brokers)).collect())
        .collect()
}

impl Mq {
    /// The workload; its first process (broker 0) is `first`.
    pub fn new(s: &Scenario, m: &MqWorkload, servers: &[ProcessId], first: ProcessId) -> Mq {
        let WorkloadConfig::Writes {
            session_timeout_ms, ..
        } = s.workload
        else {
            panic!("an mq workload needs a writes workload");
        };
        let bugs = &s.zab.bugs;
        let brokers: Vec<ProcessId> = (0..m.brokers).map(|i| ProcessId(first.0 + i)).collect();
        let assignment = assignment(m.topics * m.partitions, m.brokers, m.replication_factor);
        let broker = BrokerConfig {
            servers: servers.to_vec(),
            session_timeout_ms: u32::try_from(session_timeout_ms).expect("validated"),
            me: BrokerId(0),
            brokers: brokers.clone(),
            assignment: assignment.clone(),
            partitions_per_topic: m.partitions,
            isr: IsrConfig {
                protocol: if bugs.contains(&BugName::KafkaHwTruncation) {
                    Protocol::HwTruncation
                } else if bugs.contains(&BugName::KafkaEpochDivergence) {
                    Protocol::EpochDivergence
                } else {
                    Protocol::Fixed
                },
                fenced: !bugs.contains(&BugName::KafkaUnfencedFetch),
                lag_ms: m.lag_ms,
                min_insync: m.min_insync_replicas as usize,
            },
            tick_ms: m.tick_ms,
            reconcile_ms: m.reconcile_ms,
            zombie_controller: bugs.contains(&BugName::KafkaZombieController),
            unclean_leader_election: m.unclean_leader_election,
        };
        let consumer = ConsumerConfig {
            servers: servers.to_vec(),
            session_timeout_ms: u32::try_from(session_timeout_ms).expect("validated"),
            index: 0,
            group: m.group.clone(),
            brokers: brokers.clone(),
            topics: m.topics,
            partitions_per_topic: m.partitions,
            commit_ms: m.commit_ms,
            poll_ms: m.poll_ms,
            fetch_timeout_ms: CONSUMER_FETCH_TIMEOUT_MS,
        };
        let producer = ProducerConfig {
            index: 0,
            brokers,
            assignment,
            records: m.records,
            keys: m.keys,
            acks_all_ppm: m.acks_all_ratio.ppm,
            interval_ms: m.produce_interval_ms,
            retry_ms: m.retry_ms,
        };
        Mq {
            brokers: m.brokers,
            producers: m.producers,
            consumers: m.consumers,
            first,
            broker,
            producer,
            consumer,
            final_logs: None,
            unclean: BTreeMap::new(),
        }
    }

    fn broker<'a>(&self, procs: &'a dyn Procs<Node>, b: BrokerId) -> Option<&'a Broker> {
        let pid = self.broker.brokers[b.0 as usize];
        procs.get(pid)?.client()?.as_any().downcast_ref::<Broker>()
    }

    /// The monitors over partition `p`'s live replicas.
    fn check_partition(&self, procs: &dyn Procs<Node>, p: Part) -> Result<(), MqViolation> {
        let replicas: Vec<(BrokerId, &mq::replica::Replica)> = self.broker.assignment[p as usize]
            .iter()
            .filter_map(|&b| Some((b, self.broker(procs, b)?.replica(p)?)))
            .collect();
        for &(b, r) in &replicas {
            let Some(lead) = r.leading() else {
                continue;
            };
            leader_in_isr(p, b, &lead.isr)?;
            if self.unclean.get(&p).is_some_and(|&e| lead.epoch < e) {
                continue; // an unclean election since: its HW promised nothing (documented)
            }
            let members: Vec<(BrokerId, &mq::log::PartitionLog)> = replicas
                .iter()
                .filter(|(m, _)| lead.isr.contains(m))
                .map(|&(m, mr)| (m, mr.log()))
                .collect();
            strong_isr(p, (b, lead.hw, r.log()), &members).map_err(|mut v| {
                v.detail = format!("{} (leader epoch {})", v.detail, lead.epoch);
                v
            })?;
        }
        Ok(())
    }

    /// Why the controller's view differs from ZooKeeper's after the heal (None: it agrees).
    fn controller_unsettled(&self, world: &World<'_>) -> Result<(), (ProcessId, String)> {
        let first = self.first;
        let Some(tree) = world.leader_tree() else {
            return Err((first, "no established ZooKeeper leader".into()));
        };
        let text = |path: &str| tree.data(path).and_then(|d| std::str::from_utf8(d).ok());
        let Some(b) = text("/controller")
            .and_then(|t| t.strip_prefix("b="))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|&b| b < self.brokers)
        else {
            return Err((first, "no controller in /controller".into()));
        };
        let pid = self.broker.brokers[b as usize];
        let Some(c) = self
            .broker(world.procs, BrokerId(b))
            .and_then(|x| x.controller())
        else {
            return Err((
                pid,
                format!("broker {b} holds /controller but does not control"),
            ));
        };
        let mut zk = ControllerView {
            epoch: text("/controller_epoch")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            ..ControllerView::default()
        };
        for name in tree.children("/brokers/ids").unwrap_or_default() {
            let reg = text(&format!("/brokers/ids/{name}")).and_then(|t| t.strip_prefix("s="));
            if let (Ok(id), Some(Ok(reg))) = (name.parse(), reg.map(str::parse)) {
                zk.live.insert(BrokerId(id), reg);
            }
        }
        for p in 0..self.broker.assignment.len() as Part {
            let path = self.broker.state_path(p);
            let state = tree.data(&path).and_then(PartitionState::parse);
            if let (Some(s), Some(stat)) = (state, tree.stat(&path)) {
                zk.states.insert(p, (s, stat.version));
            }
        }
        let view = ControllerView {
            epoch: c.epoch,
            live: c.live.clone(),
            states: c.states.clone(),
        };
        controller_agrees(&view, &zk).map_err(|why| (pid, format!("ControllerView: {why}")))
    }

    /// Why partition `p` is not settled after the heal (None: settled), and its leader.
    fn unsettled(&self, world: &World<'_>, p: Part) -> Result<BrokerId, (ProcessId, String)> {
        let first = self.broker.brokers[self.broker.assignment[p as usize][0].0 as usize];
        let path = self.broker.state_path(p);
        let Some(tree) = world.leader_tree() else {
            return Err((first, "no established ZooKeeper leader".into()));
        };
        let Some(state) = tree.data(&path).and_then(PartitionState::parse) else {
            return Err((first, format!("partition {p}: no state at {path}")));
        };
        let Some(l) = state.leader else {
            return Err((first, format!("partition {p} offline: {}", state.to_text())));
        };
        let lpid = self.broker.brokers[l.0 as usize];
        let Some(leader) = self.broker(world.procs, l).and_then(|b| b.replica(p)) else {
            return Err((lpid, format!("partition {p}: leader {} down", l.0)));
        };
        let leads = leader
            .leading()
            .is_some_and(|x| x.epoch == state.leader_epoch);
        if !leads {
            return Err((
                lpid,
                format!(
                    "partition {p}: broker {} does not lead {}",
                    l.0,
                    state.to_text()
                ),
            ));
        }
        let leo = leader.log().leo();
        if leader.hw() != leo {
            return Err((
                lpid,
                format!("partition {p}: HW {} below {leo}", leader.hw()),
            ));
        }
        for &b in &self.broker.assignment[p as usize] {
            if b == l {
                continue;
            }
            let pid = self.broker.brokers[b.0 as usize];
            let Some(r) = self.broker(world.procs, b).and_then(|x| x.replica(p)) else {
                return Err((pid, format!("partition {p}: replica {} down", b.0)));
            };
            let synced = r.following() == Some((l, state.leader_epoch))
                && r.fetching()
                && r.log().leo() == leo
                && r.log().digest_below(leo) == leader.log().digest_below(leo);
            if !synced {
                return Err((
                    pid,
                    format!(
                        "partition {p}: replica {} at {} of {leo}, following {:?}",
                        b.0,
                        r.log().leo(),
                        r.following()
                    ),
                ));
            }
        }
        Ok(l)
    }
}

impl Mq {
    /// After the heal: every consumer settled, every partition owned by a live consumer
    /// that owns it and has consumed up to its settled leader's log end.
    fn consumers_unsettled(
        &self,
        world: &World<'_>,
        leaders: &BTreeMap<Part, BrokerId>,
        stuck: &mut Stuck,
    ) {
        let first = (self.brokers + self.producers) as usize;
        let pids = &world.clients[first..first + self.consumers as usize];
        let Some(tree) = world.leader_tree() else {
            return; // the brokers' check said so
        };
        let mut ids = tree.children(&self.consumer.ids_path()).unwrap_or_default();
        ids.sort();
        let mut live: Vec<(ProcessId, &Consumer)> = Vec::new();
        for &pid in pids {
            match world.client::<Consumer>(pid) {
                Some(c) => {
                    if let Err(why) = c.settled(&ids) {
                        stuck.push(pid, || format!("{why}; {}", c.explain()));
                    }
                    live.push((pid, c));
                }
                None => stuck.push(pid, || "consumer down".to_string()),
            }
        }
        for p in 0..self.broker.assignment.len() as Part {
            let path = self.consumer.owner_path(p);
            let owner = tree.stat(&path).map(|s| s.ephemeral_owner);
            let holder = live.iter().find(|(_, c)| {
                owner.is_some() && c.registered() == owner && c.position(p).is_some()
            });
            let Some(&(pid, c)) = holder else {
                let pid = pids.first().copied().expect("consumers");
                stuck.push(pid, || {
                    format!("partition {p}: {path} owned by {owner:?}, no live consumer holds it")
                });
                continue;
            };
            let Some(&l) = leaders.get(&p) else {
                continue; // the brokers' check said why
            };
            let leo = self
                .broker(world.procs, l)
                .and_then(|b| b.replica(p))
                .map_or(0, |r| r.log().leo());
            let at = c.position(p).expect("found holding it");
            if at != leo {
                stuck.push(pid, || {
                    format!("partition {p}: consumed up to {at} of {leo}")
                });
            }
        }
    }
}

impl Workload for Mq {
    fn clients(&self) -> u32 {
        self.brokers + self.producers + self.consumers
    }

    fn role(&self, index: u32) -> &'static str {
        assert!(
            index < self.clients(),
            "client {index} of {}",
            self.clients()
        );
        if index < self.brokers {
            "broker"
        } else if index < self.brokers + self.producers {
            "producer"
        } else {
            "consumer"
        }
    }

    fn client(&self, index: u32) -> Box<dyn ClientProcess> {
        assert!(
            index < self.clients(),
            "client {index} of {}",
            self.clients()
        );
        if index < self.brokers {
            let mut c = self.broker.clone();
            c.me = BrokerId(index);
            Box::new(Broker::new(c))
        } else if index < self.brokers + self.producers {
            let mut c = self.producer.clone();
            c.index = index - self.brokers;
            Box::new(Producer::new(c))
        } else {
            let mut c = self.consumer.clone();
            c.index = index - self.brokers - self.producers;
            Box::new(Consumer::new(c))
        }
    }

    fn liveness(&mut self, world: &World<'_>, stuck: &mut Stuck) {
        let before = stuck.list.len();
        let producers = world
            .clients
            .iter()
            .enumerate()
            .skip(self.brokers as usize)
            .take(self.producers as usize);
        for (i, &pid) in producers {
            match world.client::<Producer>(pid) {
                Some(p) if p.done() => {}
                Some(p) => stuck.push(pid, || p.explain()),
                None => stuck.push(pid, || format!("producer {i} down")),
            }
        }
        let mut leaders = BTreeMap::new();
        for p in 0..self.broker.assignment.len() as Part {
            match self.unsettled(world, p) {
                Ok(l) => {
                    leaders.insert(p, l);
                }
                Err((pid, why)) => stuck.push(pid, || why),
            }
        }
        if let Err((pid, why)) = self.controller_unsettled(world) {
            stuck.push(pid, || why);
        }
        if self.consumers > 0 {
            self.consumers_unsettled(world, &leaders, stuck);
        }
        if stuck.list.len() == before {
            let logs = leaders
                .iter()
                .map(|(&p, &l)| {
                    let r = self.broker(world.procs, l).and_then(|b| b.replica(p));
                    (p, r.expect("settled").log().records().to_vec())
                })
                .collect();
            self.final_logs = Some(logs);
        }
        assert!(world.clients.first() == Some(&self.first));
    }

    fn judge(&self, history: &[Event], figures: &mut Vec<(String, u64)>) -> Option<Violation> {
        let logs = self
            .final_logs
            .as_ref()
            .expect("a passing run met the workload's liveness");
        let acks: Vec<_> = history
            .iter()
            .filter_map(|e| match e {
                Event::MqAck(a) => Some(a),
                _ => None,
            })
            .collect();
        let mut unclean = BTreeMap::new();
        let mut elections = 0;
        for e in history {
            if let Event::MqUnclean(u) = e {
                elections += 1;
                let e = unclean.entry(u.part).or_default();
                *e = u.epoch.max(*e);
            }
        }
        let records: u64 = logs.values().map(|l| l.len() as u64).sum();
        figures.push(("mq_records_in_logs".into(), records));
        match acked_kept(&acks, logs, &unclean) {
            Ok(f) => {
                figures.push(("mq_acked_all".into(), f.acked_all));
                figures.push(("mq_acked_one".into(), f.acked_one));
                figures.push(("mq_acked_one_lost".into(), f.acked_one_lost));
                if elections > 0 {
                    figures.push(("mq_unclean_elections".into(), elections));
                    figures.push(("mq_unclean_lost".into(), f.unclean_lost));
                }
            }
            Err(v) => return Some(violation(v, Vec::new())),
        }
        if self.consumers == 0 {
            return None;
        }
        let mut consumed = Vec::new();
        let mut commits = Vec::new();
        for e in history {
            match e {
                Event::MqConsumed(c) => consumed.push(c),
                Event::MqCommit(c) => commits.push(c),
                _ => {}
            }
        }
        figures.push(("mq_commits".into(), commits.len() as u64));
        if let Err(v) = commits_monotone(&commits, &unclean.keys().copied().collect()) {
            return Some(violation(v, Vec::new()));
        }
        match consumed_once_each(&consumed, logs, &unclean) {
            Ok(f) => {
                figures.push(("mq_consumed".into(), f.consumed));
                figures.push(("mq_consumed_dup".into(), f.duplicates));
                if elections > 0 {
                    figures.push(("mq_unclean_reads".into(), f.unclean_reads));
                }
                None
            }
            Err(v) => Some(violation(v, Vec::new())),
        }
    }

    fn after_event(
        &mut self,
        procs: &dyn Procs<Node>,
        touched: Option<ProcessId>,
    ) -> Result<(), Violation> {
        let Some(pid) = touched else {
            return Ok(());
        };
        let Some(i) = pid
            .0
            .checked_sub(self.first.0)
            .filter(|i| *i < self.brokers)
        else {
            return Ok(());
        };
        let Some(b) = self.broker(procs, BrokerId(i)) else {
            return Ok(());
        };
        for (&p, &e) in b.unclean_elections() {
            let seen = self.unclean.entry(p).or_default();
            *seen = e.max(*seen);
        }
        for &p in b.replicas().keys() {
            self.check_partition(procs, p)
                .map_err(|v| violation(v, vec![pid]))?;
        }
        Ok(())
    }
}

fn violation(v: MqViolation, processes: Vec<ProcessId>) -> Violation {
    Violation {
        check: v.check.to_string(),
        processes,
        detail: v.detail,
    }
}
