//! Test harness for the client's state-machine tests: a default configuration (three
//! servers p0..p2, 6 s requested timeout: connect 2 s, read 4 s, ping 2 s), shorthands
//! for messages and actions, and `Client`, a session plus a clock whose every input
//! returns its actions and checks the session's invariants.
#![allow(dead_code)]

use client::{Action, ClientConfig, Session, SessionState};
use proto::wire::{ClientMsg, EventType, ServerMsg, WatchEvent, WatchSet};
use proto::zk::{Op, OpResult, SessionId, Stat, ZkError};
use proto::{ProcessId, Time, Zxid};

pub const P0: ProcessId = ProcessId(0);
pub const P1: ProcessId = ProcessId(1);
pub const P2: ProcessId = ProcessId(2);
pub const SID: SessionId = SessionId(0x77);
pub const TIMEOUT_MS: u32 = 6000;

pub fn config() -> ClientConfig {
    ClientConfig {
        servers: vec![P0, P1, P2],
        first_server: 0,
        session_timeout_ms: TIMEOUT_MS,
        reconnect_delay_ms: 1000,
        pending_max: 8,
    }
}

pub fn ms(ms: u64) -> Time {
    Time::from_ms(ms)
}

pub fn send(to: ProcessId, msg: ClientMsg) -> Action {
    Action::Send { to, msg }
}

pub fn timer(at_ms: u64) -> Action {
    Action::SetTimer { at: ms(at_ms) }
}

pub fn state(s: SessionState) -> Action {
    Action::State(s)
}

pub fn connect(conn: u64, session: Option<SessionId>, zxid: u64, watches: WatchSet) -> ClientMsg {
    ClientMsg::Connect {
        conn,
        session,
        timeout_ms: TIMEOUT_MS,
        last_zxid_seen: Zxid(zxid),
        watches,
    }
}

pub fn request(conn: u64, xid: u64, op: Op) -> ClientMsg {
    ClientMsg::Request { conn, xid, op }
}

pub fn connected(conn: u64) -> ServerMsg {
    ServerMsg::Connected {
        conn,
        session: SID,
        timeout_ms: TIMEOUT_MS,
    }
}

/// A reply (its `seq` is stamped by [`Client::msg`], as a server's connection would).
pub fn reply(conn: u64, xid: u64, zxid: u64, result: OpResult) -> ServerMsg {
    ServerMsg::Reply {
        conn,
        seq: 0,
        xid,
        zxid: Zxid(zxid),
        result,
    }
}

/// A watch event (its `seq` is stamped by [`Client::msg`]).
pub fn watch_msg(conn: u64, kind: EventType, path: &str, zxid: u64) -> ServerMsg {
    ServerMsg::Watch {
        conn,
        seq: 0,
        event: event(kind, path, zxid),
    }
}

pub fn event(kind: EventType, path: &str, zxid: u64) -> WatchEvent {
    WatchEvent {
        kind,
        path: path.into(),
        zxid: Zxid(zxid),
    }
}

pub fn done(xid: u64, op: Op, result: OpResult, zxid: u64) -> Action {
    Action::Completed {
        xid,
        op,
        result,
        zxid: Some(Zxid(zxid)),
    }
}

pub fn failed(xid: u64, op: Op, err: ZkError) -> Action {
    Action::Completed {
        xid,
        op,
        result: OpResult::Err(err),
        zxid: None,
    }
}

pub fn get(path: &str, watch: bool) -> Op {
    Op::GetData {
        path: path.into(),
        watch,
    }
}

pub fn exists(path: &str, watch: bool) -> Op {
    Op::Exists {
        path: path.into(),
        watch,
    }
}

pub fn children(path: &str, watch: bool) -> Op {
    Op::GetChildren {
        path: path.into(),
        watch,
    }
}

pub fn set(path: &str) -> Op {
    Op::SetData {
        path: path.into(),
        data: b"v".to_vec(),
        version: -1,
    }
}

pub fn data() -> OpResult {
    OpResult::Data {
        data: b"v".to_vec(),
        stat: Stat::default(),
    }
}

pub fn watches(data: &[&str], exist: &[&str], child: &[&str]) -> WatchSet {
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
    WatchSet {
        data: v(data),
        exist: v(exist),
        child: v(child),
    }
}

/// A session under test and the local time of its next input.
pub struct Client {
    pub session: Session,
    pub now: Time,
    /// Replies and watch events delivered per connection: the next one's `seq`.
    sent: std::collections::BTreeMap<u64, u64>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Client {
        Client {
            session: Session::new(config),
            now: Time::ZERO,
            sent: std::collections::BTreeMap::new(),
        }
    }

    /// A session started at 0 and connected to p0 on conn 1 at 10 ms.
    pub fn connected() -> Client {
        let mut c = Client::new(config());
        c.start();
        c.at(10);
        c.msg(P0, connected(1));
        c
    }

    pub fn at(&mut self, at_ms: u64) -> &mut Client {
        self.now = ms(at_ms);
        self
    }

    fn run(&mut self, f: impl FnOnce(&mut Session, Time, &mut Vec<Action>)) -> Vec<Action> {
        let mut out = Vec::new();
        f(&mut self.session, self.now, &mut out);
        self.session.check_invariants();
        out
    }

    pub fn start(&mut self) -> Vec<Action> {
        self.run(|s, now, out| s.start(now, out))
    }

    pub fn submit(&mut self, op: Op) -> (u64, Vec<Action>) {
        let mut xid = 0;
        let out = self.run(|s, now, out| xid = s.submit(now, op, out));
        (xid, out)
    }

    pub fn close(&mut self) -> (u64, Vec<Action>) {
        let mut xid = 0;
        let out = self.run(|s, now, out| xid = s.close(now, out));
        (xid, out)
    }

    /// Deliver `msg`, a reply or watch event numbered next on its connection (as the
    /// server's in-order stream would number it).
    pub fn msg(&mut self, from: ProcessId, mut msg: ServerMsg) -> Vec<Action> {
        let conn = msg.conn();
        if let ServerMsg::Reply { seq, .. } | ServerMsg::Watch { seq, .. } = &mut msg {
            let next = self.sent.entry(conn).or_insert(0);
            *seq = *next;
            *next += 1;
        }
        self.msg_raw(from, msg)
    }

    /// Deliver `msg` exactly as given (its `seq` included).
    pub fn msg_raw(&mut self, from: ProcessId, msg: ServerMsg) -> Vec<Action> {
        self.run(|s, now, out| s.on_message(now, from, msg, out))
    }

    pub fn timer(&mut self) -> Vec<Action> {
        self.run(|s, now, out| s.on_timer(now, out))
    }

    pub fn reset(&mut self, server: ProcessId) -> Vec<Action> {
        self.run(|s, now, out| s.on_disconnect(now, server, out))
    }
}
