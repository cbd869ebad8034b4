//! The processes of a ZooKeeper ensemble run: servers (voters and observers), request
//! generators and script drivers, as one process type for the kernel. Dispatch only; no
//! logic of its own.

use crate::workload::ClientProcess;
use crate::zkscript::ScriptDriver;
use proto::{Ctx, Outbox, Process, ProcessId, Recovered, TimerId, WriteId};
use zkserver::{Msg, Note, Record, ZabServer as Server};

pub enum Node {
    Server(Box<Server>),
    /// A workload's client (see `crate::workload`).
    Client(Box<dyn ClientProcess>),
    Script(Box<ScriptDriver>),
}

type Out = Outbox<Msg, Record, Note>;

impl Node {
    pub fn server(&self) -> Option<&Server> {
        match self {
            Node::Server(s) => Some(s),
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
        match self {
            Node::Server(s) => s.on_start(ctx, disk, out),
            Node::Client(c) => c.on_start(ctx, disk, out),
            Node::Script(d) => d.on_start(ctx, disk, out),
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        match self {
            Node::Server(s) => s.on_message(ctx, from, msg, out),
            Node::Client(c) => c.on_message(ctx, from, msg, out),
            Node::Script(d) => d.on_message(ctx, from, msg, out),
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        match self {
            Node::Server(s) => s.on_timer(ctx, timer, out),
            Node::Client(c) => c.on_timer(ctx, timer, out),
            Node::Script(d) => d.on_timer(ctx, timer, out),
        }
    }
    fn on_disk_done(&mut self, ctx: &mut Ctx, write: WriteId, out: &mut Out) {
        match self {
            Node::Server(s) => s.on_disk_done(ctx, write, out),
            Node::Client(c) => c.on_disk_done(ctx, write, out),
            Node::Script(d) => d.on_disk_done(ctx, write, out),
        }
    }
    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        match self {
            Node::Server(s) => s.on_disconnect(ctx, peer, out),
            Node::Client(c) => c.on_disconnect(ctx, peer, out),
            Node::Script(d) => d.on_disconnect(ctx, peer, out),
        }
    }
}
