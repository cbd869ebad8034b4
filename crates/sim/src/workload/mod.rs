//! The workload interface: what a workload brings to a ZooKeeper ensemble run — its client
//! processes (numbered after the servers and the workloads before it), their roles, its
//! liveness condition after the heal, its history checks and its figures. The ensemble and
//! the history checks know workloads only through [`Workload`]; ZooKeeper's own consistency
//! and watch checks apply to every workload's history.
//!
//! Implementations: [`kv`] (the KV request generators), [`queue`] (the queue recipes'
//! producers and consumers), [`lock`] (the lock recipe's clients and their protected
//! resource), [`barrier`] (double-barrier participants), [`members`] (group members and
//! observers), [`config`] (the config recipe's publisher and subscribers) and [`election`]
//! (the fail-over task scheduler: scheduler instances electing a leader, workers, and
//! their protected resource) and [`mq`] (a Kafka-style message queue: brokers with a
//! controller, producers; its replication monitors run after every event). Adding a recipe is one module here, its case in [`of`], and
//! its scenario section and files.

pub mod barrier;
pub mod config;
pub mod election;
pub mod kv;
pub mod lock;
pub mod members;
pub mod mq;
pub mod queue;

use crate::node::Node;
use crate::scenario::{Scenario, WorkloadConfig};
use datatree::DataTree;
use kernel::observe::{Procs, Violation};
use proto::history::Event;
use proto::{Process, ProcessId};
use std::any::Any;
use zkserver::{DiskRecord as Record, Msg, Note};

/// A workload's client process: any sans-IO process on the ensemble's wire.
pub trait ClientProcess: Process<Msg = Msg, Record = Record, Note = Note> + Any {
    /// For the workload's own liveness condition and figures: the concrete process.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Process<Msg = Msg, Record = Record, Note = Note> + Any> ClientProcess for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One workload of an ensemble run.
pub trait Workload {
    /// How many client processes it adds.
    fn clients(&self) -> u32;
    /// The role of its `index`-th client in process names (`client`, `producer`, …).
    fn role(&self, index: u32) -> &'static str;
    /// Its `index`-th client process, at first boot and at every restart.
    fn client(&self, index: u32) -> Box<dyn ClientProcess>;
    /// After the heal: pushes every one of its clients (or world state, such as items
    /// left in a queue) that keeps the run from being done, with why. Called from the
    /// first liveness check on, in the order the workloads were built.
    fn liveness(&mut self, world: &World<'_>, stuck: &mut Stuck);
    /// Its own invariants on the history of a run that passed so far (after ZooKeeper's
    /// consistency and watch checks); appends its figures.
    fn judge(&self, history: &[Event], figures: &mut Vec<(String, u64)>) -> Option<Violation>;
    /// Its online monitors after an event that `touched` a process (None: a fault or the
    /// kernel's own); none by default.
    fn after_event(
        &mut self,
        _procs: &dyn Procs<Node>,
        _touched: Option<ProcessId>,
    ) -> Result<(), Violation> {
        Ok(())
    }
}

/// The workloads of an ensemble scenario, in process-number order (KV generators first,
/// then the queue's producers and consumers, then the lock's resource and clients, then
/// the barrier's participants, the group's members and observers, the config's publisher
/// and subscribers, the scheduler's resource, instances and workers). A probe scenario has none.
pub fn of(s: &Scenario, servers: &[ProcessId]) -> Vec<Box<dyn Workload>> {
    let WorkloadConfig::Writes { queue, .. } = &s.workload else {
        return Vec::new();
    };
    let mut all: Vec<Box<dyn Workload>> = Vec::new();
    if s.workload.kv_clients() > 0 {
        all.push(Box::new(kv::Kv::new(s, servers)));
    }
    if let Some(q) = queue {
        all.push(Box::new(queue::Queue::new(s, q, servers)));
    }
    if let Some(l) = s.workload.lock() {
        let before: u32 = all.iter().map(|w| w.clients()).sum();
        let first = ProcessId(servers.len() as u32 + before);
        all.push(Box::new(lock::Lock::new(s, l, servers, first)));
    }
    if let Some(b) = s.workload.barrier() {
        let before: u32 = all.iter().map(|w| w.clients()).sum();
        let first = ProcessId(servers.len() as u32 + before);
        all.push(Box::new(barrier::Barrier::new(s, b, servers, first)));
    }
    if let Some(m) = s.workload.members() {
        all.push(Box::new(members::Members::new(s, m, servers)));
    }
    if let Some(c) = s.workload.config() {
        all.push(Box::new(config::Config::new(s, c, servers)));
    }
    if let Some(e) = s.workload.election() {
        let before: u32 = all.iter().map(|w| w.clients()).sum();
        let first = ProcessId(servers.len() as u32 + before);
        all.push(Box::new(election::Election::new(s, e, servers, first)));
    }
    if let Some(m) = s.workload.mq() {
        let before: u32 = all.iter().map(|w| w.clients()).sum();
        let first = ProcessId(servers.len() as u32 + before);
        all.push(Box::new(mq::Mq::new(s, m, servers, first)));
    }
    assert_eq!(
        all.iter().map(|w| u64::from(w.clients())).sum::<u64>(),
        u64::from(s.workload.clients()),
        "the workloads hold every client"
    );
    all
}

/// What a workload's liveness condition may look at: the live processes and the
/// ensemble's established leader.
pub struct World<'a> {
    pub procs: &'a dyn Procs<Node>,
    /// The workload's own client processes, in its index order.
    pub clients: &'a [ProcessId],
    /// The first voter (in id order) that is an established leader, if any.
    pub leader: Option<ProcessId>,
    /// The global simulated time of this liveness check.
    pub now: proto::Time,
}

impl World<'_> {
    /// The live client process `pid` as a `T`, if it is one.
    pub fn client<T: 'static>(&self, pid: ProcessId) -> Option<&T> {
        self.procs.get(pid)?.client()?.as_any().downcast_ref::<T>()
    }

    /// The established leader's znode tree: what the ensemble has committed and applied.
    pub fn leader_tree(&self) -> Option<&DataTree> {
        let leader = self.procs.get(self.leader?)?.server()?;
        Some(leader.app().tree())
    }
}

/// Who keeps a liveness phase from ending, and why (the why only when explaining).
pub struct Stuck {
    explain: bool,
    pub list: Vec<(ProcessId, String)>,
}

impl Stuck {
    pub fn new(explain: bool) -> Stuck {
        Stuck {
            explain,
            list: Vec::new(),
        }
    }

    pub fn push(&mut self, pid: ProcessId, why: impl FnOnce() -> String) {
        let why = if self.explain { why() } else { String::new() };
        self.list.push((pid, why));
    }
}
