//! The client connections one server holds (ZooKeeper's `ServerCnxn`s), each named by the
//! client process and its connection number ([`ConnKey`]; one process may hold several
//! sessions), with its session and the requests it sent that are not answered yet, in
//! arrival (xid) order. Answers leave strictly from the head of that queue, which is how
//! a session's requests complete in FIFO order and a read waits behind the same session's
//! earlier writes (ZooKeeper's `CommitProcessor`).
//! Invariants: a queue's xids strictly increase; only an open connection has requests; one
//! connection per session on this server (`by_session` mirrors `by_key`); a queue holds at
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
    Revalidating {
        watches: WatchSet,
        relative: Zxid,
    },
    Open,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// A read, answered when it reaches the head.
    Waiting,
    /// A write or sync on its way through the leader.
    Submitted,
    Done {
        zxid: Zxid,
        result: OpResult,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) xid: u64,
    pub(crate) op: Op,
    pub(crate) status: Status,
}

/// A connection's name: the client process and its connection number.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ConnKey {
    pub(crate) client: ProcessId,
    pub(crate) conn: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub(crate) session: SessionId,
    pub(crate) timeout_ms: u32,
    pub(crate) state: ConnState,
    pub(crate) last_heard: Time,
    /// Heard from since the last session report to the leader.
    pub(crate) touched: bool,
    /// Requests received on this connection (a ping says how many were sent).
    pub(crate) requests_received: u64,
    /// Replies and watch events sent on it (a pong says so).
    pub(crate) messages_sent: u64,
    pub(crate) queue: VecDeque<Request>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Clients {
    by_key: BTreeMap<ConnKey, Conn>,
    by_session: BTreeMap<SessionId, ConnKey>,
}

impl Clients {
    pub(crate) fn get(&self, key: ConnKey) -> Option<&Conn> {
        self.by_key.get(&key)
    }

    pub(crate) fn get_mut(&mut self, key: ConnKey) -> Option<&mut Conn> {
        self.by_key.get_mut(&key)
    }

    pub(crate) fn key_of(&self, session: SessionId) -> Option<ConnKey> {
        self.by_session.get(&session).copied()
    }

    /// Adds a connection, replacing an earlier one of the same session. Returns the
    /// replaced connection's key.
    pub(crate) fn insert(&mut self, key: ConnKey, c: Conn) -> Option<ConnKey> {
        assert!(c.queue.is_empty());
        assert_ne!(
            c.state,
            ConnState::Open,
            "a connection opens once its session is confirmed"
        );
        assert!(!self.by_key.contains_key(&key), "connection {key:?} exists");
        let replaced = self.by_session.get(&c.session).copied();
        if let Some(other) = replaced {
            self.remove(other);
        }
        self.by_session.insert(c.session, key);
        self.by_key.insert(key, c);
        assert_eq!(self.by_session.len(), self.by_key.len());
        replaced
    }

    pub(crate) fn remove(&mut self, key: ConnKey) -> Option<Conn> {
        let c = self.by_key.remove(&key)?;
        let owner = self.by_session.remove(&c.session);
        assert_eq!(owner, Some(key), "session index out of step");
        Some(c)
    }

    /// The keys of every connection of `client`.
    pub(crate) fn keys_of(&self, client: ProcessId) -> Vec<ConnKey> {
        let from = ConnKey { client, conn: 0 };
        self.by_key
            .range(from..)
            .take_while(|(k, _)| k.client == client)
            .map(|(k, _)| *k)
            .collect()
    }

    /// Every connection, removed, in key order.
    pub(crate) fn drain(&mut self) -> Vec<(ConnKey, Conn)> {
        self.by_session.clear();
        std::mem::take(&mut self.by_key).into_iter().collect()
    }

    /// Sessions heard from since the last call (for the leader), clearing the marks.
    pub(crate) fn take_touched(&mut self) -> Vec<SessionId> {
        let mut touched = Vec::new();
        for c in self.by_key.values_mut() {
            if c.touched && c.state == ConnState::Open {
                touched.push(c.session);
            }
            c.touched = false;
        }
        touched
    }

    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }
}

impl Conn {
    pub(crate) fn new(session: SessionId, timeout_ms: u32, state: ConnState, now: Time) -> Conn {
        Conn {
            session,
            timeout_ms,
            state,
            last_heard: now,
            touched: true,
            requests_received: 0,
            messages_sent: 0,
            queue: VecDeque::new(),
        }
    }

    /// Appends a request; its xid must exceed every queued one.
    pub(crate) fn push(&mut self, xid: u64, op: Op, status: Status) {
        assert_eq!(
            self.state,
            ConnState::Open,
            "request on a connection that is not open"
        );
        if let Some(last) = self.queue.back() {
            assert!(xid > last.xid, "xid {xid} after {}", last.xid);
        }
        self.queue.push_back(Request { xid, op, status });
    }

    /// Marks request `xid` answered. False if it is not queued (or not submitted).
    pub(crate) fn complete(&mut self, xid: u64, zxid: Zxid, result: OpResult) -> bool {
        match self.queue.iter_mut().find(|r| r.xid == xid) {
            Some(r) if r.status == Status::Submitted => {
                // Only what went through the leader is answered from there.
                assert!(r.op.is_write() || matches!(r.op, Op::Sync { .. }));
                r.status = Status::Done { zxid, result };
                true
            }
            _ => false,
        }
    }
}
