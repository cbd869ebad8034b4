//! The client connections one server holds (ZooKeeper's `ServerCnxn`s): per client process
//! at most one connection, its session, and the requests it sent that are not answered yet,
//! in arrival (xid) order. Answers leave strictly from the head of that queue, which is how
//! a session's requests complete in FIFO order and a read waits behind the same session's
//! earlier writes (ZooKeeper's `CommitProcessor`).
//! Invariants: a queue's xids strictly increase; only an open connection has requests; one
//! connection per session on this server (`by_session` mirrors `by_client`); a queue holds at
//! most `queue_max` requests.

use std::collections::{BTreeMap, VecDeque};

use proto::wire::WatchSet;
use proto::zk::{Op, OpResult, SessionId};
use proto::{ProcessId, Time, Zxid};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ConnState {
    /// A new session: its CreateSession txn is on its way.
    Creating,
    /// A reconnect: the leader is asked whether the session is live. The client's watches
    /// wait here until the connection opens.
    Revalidating { watches: WatchSet, relative: Zxid },
    Open,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// A read, answered when it reaches the head.
    Waiting,
    /// A write or sync on its way through the leader.
    Submitted,
    Done { zxid: Zxid, result: OpResult },
}

#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) xid: u64,
    pub(crate) op: Op,
    pub(crate) status: Status,
}

#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub(crate) conn: u64,
    pub(crate) session: SessionId,
    pub(crate) timeout_ms: u32,
    pub(crate) state: ConnState,
    pub(crate) last_heard: Time,
    /// Heard from since the last session report to the leader.
    pub(crate) touched: bool,
    pub(crate) queue: VecDeque<Request>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Clients {
    by_client: BTreeMap<ProcessId, Conn>,
    by_session: BTreeMap<SessionId, ProcessId>,
}

impl Clients {
    pub(crate) fn get(&self, client: ProcessId) -> Option<&Conn> {
        self.by_client.get(&client)
    }

    pub(crate) fn get_mut(&mut self, client: ProcessId) -> Option<&mut Conn> {
        self.by_client.get_mut(&client)
    }

    /// The connection of `client` if it is connection number `conn`.
    pub(crate) fn on_conn(&mut self, client: ProcessId, conn: u64) -> Option<&mut Conn> {
        self.by_client.get_mut(&client).filter(|c| c.conn == conn)
    }

    pub(crate) fn client_of(&self, session: SessionId) -> Option<ProcessId> {
        self.by_session.get(&session).copied()
    }

    /// Adds a connection, replacing any earlier one of the same client or session.
    pub(crate) fn insert(&mut self, client: ProcessId, c: Conn) {
        assert!(c.queue.is_empty());
        self.remove(client);
        if let Some(other) = self.by_session.get(&c.session).copied() {
            self.remove(other);
        }
        self.by_session.insert(c.session, client);
        self.by_client.insert(client, c);
        assert_eq!(self.by_session.len(), self.by_client.len());
    }

    pub(crate) fn remove(&mut self, client: ProcessId) -> Option<Conn> {
        let c = self.by_client.remove(&client)?;
        let owner = self.by_session.remove(&c.session);
        assert_eq!(owner, Some(client), "session index out of step");
        Some(c)
    }

    /// Every connection, removed, in client order.
    pub(crate) fn drain(&mut self) -> Vec<(ProcessId, Conn)> {
        self.by_session.clear();
        std::mem::take(&mut self.by_client).into_iter().collect()
    }

    /// Sessions heard from since the last call (for the leader), clearing the marks.
    pub(crate) fn take_touched(&mut self) -> Vec<SessionId> {
        let mut touched = Vec::new();
        for c in self.by_client.values_mut() {
            if c.touched && c.state == ConnState::Open {
                touched.push(c.session);
            }
            c.touched = false;
        }
        touched
    }

    pub(crate) fn len(&self) -> usize {
        self.by_client.len()
    }
}

impl Conn {
    pub(crate) fn new(conn: u64, session: SessionId, timeout_ms: u32, state: ConnState, now: Time) -> Conn {
        Conn {
            conn,
            session,
            timeout_ms,
            state,
            last_heard: now,
            touched: true,
            queue: VecDeque::new(),
        }
    }

    /// Appends a request; its xid must exceed every queued one.
    pub(crate) fn push(&mut self, xid: u64, op: Op, status: Status) {
        assert_eq!(self.state, ConnState::Open, "request on a connection that is not open");
        if let Some(last) = self.queue.back() {
            assert!(xid > last.xid, "xid {xid} after {}", last.xid);
        }
        self.queue.push_back(Request { xid, op, status });
    }

    /// Marks request `xid` answered. False if it is not queued (or not submitted).
    pub(crate) fn complete(&mut self, xid: u64, zxid: Zxid, result: OpResult) -> bool {
        match self.queue.iter_mut().find(|r| r.xid == xid) {
            Some(r) if r.status == Status::Submitted => {
                r.status = Status::Done { zxid, result };
                true
            }
            _ => false,
        }
    }
}
