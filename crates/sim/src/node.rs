//! The processes of a ZooKeeper ensemble run: servers (voters and observers), request
//! generators and script drivers, as one process type for the kernel. Dispatch only; no
//! logic of its own.

use crate::loadgen::Loadgen;
use crate::queueproc::QueueWorker;
use crate::zkscript::ScriptDriver;
use proto::{Ctx, Outbox, Process, ProcessId, Recovered, TimerId, WriteId};
use zab::{Msg, Note, Record, Server};

pub enum Node {
    Server(Box<Server>),
    Loadgen(Box<Loadgen>),
    Script(Box<ScriptDriver>),
    Queue(Box<QueueWorker>),
}

type Out = Outbox<Msg, Record, Note>;

impl Node {
    pub fn server(&self) -> Option<&Server> {
        match self {
            Node::Server(s) => Some(s),
            _ => None,
        }
    }
    pub fn queue(&self) -> Option<&QueueWorker> {
        match self {
            Node::Queue(q) => Some(q),
            _ => None,
        }
    }
    pub fn loadgen(&self) -> Option<&Loadgen> {
        match self {
            Node::Loadgen(g) => Some(g),
            _ => None,
        }
    }
}

impl Process for Node {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, disk: Recovered<'_, Record>, out: &mut Out) {
        match self {
            Node::Server(s) => s.on_start(ctx, disk, out),
            Node::Loadgen(g) => g.on_start(ctx, disk, out),
            Node::Script(d) => d.on_start(ctx, disk, out),
            Node::Queue(q) => q.on_start(ctx, disk, out),
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        match self {
            Node::Server(s) => s.on_message(ctx, from, msg, out),
            Node::Loadgen(g) => g.on_message(ctx, from, msg, out),
            Node::Script(d) => d.on_message(ctx, from, msg, out),
            Node::Queue(q) => q.on_message(ctx, from, msg, out),
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        match self {
            Node::Server(s) => s.on_timer(ctx, timer, out),
            Node::Loadgen(g) => g.on_timer(ctx, timer, out),
            Node::Script(d) => d.on_timer(ctx, timer, out),
            Node::Queue(q) => q.on_timer(ctx, timer, out),
        }
    }
    fn on_disk_done(&mut self, ctx: &mut Ctx, write: WriteId, out: &mut Out) {
        match self {
            Node::Server(s) => s.on_disk_done(ctx, write, out),
            Node::Loadgen(g) => g.on_disk_done(ctx, write, out),
            Node::Script(d) => d.on_disk_done(ctx, write, out),
            Node::Queue(q) => q.on_disk_done(ctx, write, out),
        }
    }
    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        match self {
            Node::Server(s) => s.on_disconnect(ctx, peer, out),
            Node::Loadgen(g) => g.on_disconnect(ctx, peer, out),
            Node::Script(d) => d.on_disconnect(ctx, peer, out),
            Node::Queue(q) => q.on_disconnect(ctx, peer, out),
        }
    }
    fn is_leader(&self) -> bool {
        matches!(self, Node::Server(s) if s.is_leader())
    }
}
