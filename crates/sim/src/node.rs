//! The processes of a ZooKeeper ensemble run: servers (voters and observers, on ZAB, on
//! Raft or on Multi-Paxos), request generators and script drivers, as one process type for the kernel, and
//! the world's disk record. Dispatch only; no logic of its own.
//! Invariants: a server's disk holds only its own engine's records (see
//! `zkserver::DiskRecord`); one run's servers all run one engine.

use crate::workload::ClientProcess;
use crate::zkscript::ScriptDriver;
use proto::{Ctx, Outbox, Process, ProcessId, Recovered, TimerId, WriteId};
use zkserver::{Msg, Note, PaxosServer, RaftServer, ServerView, ZabServer};

/// The world's disk record: any engine's.
pub type Record = zkserver::DiskRecord;

pub enum Node {
    /// A ZooKeeper server on ZAB.
    Zab(Box<ZabServer>),
    /// A ZooKeeper server on Raft.
    Raft(Box<RaftServer>),
    /// A ZooKeeper server on Multi-Paxos.
    Paxos(Box<PaxosServer>),
    /// A workload's client (see `crate::workload`).
    Client(Box<dyn ClientProcess>),
    Script(Box<ScriptDriver>),
}

type Out = Outbox<Msg, Record, Note>;

impl Node {
    /// The server, read-only, whatever its engine.
    pub fn server(&self) -> Option<&dyn ServerView> {
        match self {
            Node::Zab(s) => Some(s.as_ref()),
            Node::Raft(s) => Some(s.as_ref()),
            Node::Paxos(s) => Some(s.as_ref()),
            _ => None,
        }
    }
    pub fn client(&self) -> Option<&dyn ClientProcess> {
        match self {
            Node::Client(c) => Some(c.as_ref()),
            _ => None,
        }
    }
}

impl Process for Node {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, disk: Recovered<'_, Record>, out: &mut Out) {
        let torn_tail = disk.torn_tail;
        match self {
            Node::Zab(s) => {
                let records = Record::zab_records(disk.records);
                let disk = Recovered {
                    records: &records,
                    torn_tail,
                };
                s.handle_start(ctx, disk, out)
            }
            Node::Raft(s) => {
                let records = Record::raft_records(disk.records);
                let disk = Recovered {
                    records: &records,
                    torn_tail,
                };
                s.handle_start(ctx, disk, out)
            }
            Node::Paxos(s) => {
                let records = Record::paxos_records(disk.records);
                let disk = Recovered {
                    records: &records,
                    torn_tail,
                };
                s.handle_start(ctx, disk, out)
            }
            Node::Client(c) => c.on_start(ctx, disk, out),
            Node::Script(d) => d.on_start(ctx, disk, out),
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        match self {
            Node::Zab(s) => s.handle_message(ctx, from, msg, out),
            Node::Raft(s) => s.handle_message(ctx, from, msg, out),
            Node::Paxos(s) => s.handle_message(ctx, from, msg, out),
            Node::Client(c) => c.on_message(ctx, from, msg, out),
            Node::Script(d) => d.on_message(ctx, from, msg, out),
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        match self {
            Node::Zab(s) => s.handle_timer(ctx, timer, out),
            Node::Raft(s) => s.handle_timer(ctx, timer, out),
            Node::Paxos(s) => s.handle_timer(ctx, timer, out),
            Node::Client(c) => c.on_timer(ctx, timer, out),
            Node::Script(d) => d.on_timer(ctx, timer, out),
        }
    }
    fn on_disk_done(&mut self, ctx: &mut Ctx, write: WriteId, out: &mut Out) {
        match self {
            Node::Zab(s) => s.handle_disk_done(ctx, write, out),
            Node::Raft(s) => s.handle_disk_done(ctx, write, out),
            Node::Paxos(s) => s.handle_disk_done(ctx, write, out),
            Node::Client(c) => c.on_disk_done(ctx, write, out),
            Node::Script(d) => d.on_disk_done(ctx, write, out),
        }
    }
    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        match self {
            Node::Zab(s) => s.handle_disconnect(ctx, peer, out),
            Node::Raft(s) => s.handle_disconnect(ctx, peer, out),
            Node::Paxos(s) => s.handle_disconnect(ctx, peer, out),
            Node::Client(c) => c.on_disconnect(ctx, peer, out),
            Node::Script(d) => d.on_disconnect(ctx, peer, out),
        }
    }
}
