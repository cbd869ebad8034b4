//! The client side of a server (ZooKeeper's `ServerCnxn` + request pipeline): connects
//! (new sessions through a CreateSession txn, reconnects revalidated by the leader, refused
//! when the client has seen more than this server applied), requests (reads answered from
//! the local tree, writes and syncs through the leader), watches, pings, and what applying a
//! committed txn means for the clients here (watch events, replies, closed sessions).
//! Policy when not serving (not in broadcast): connects are refused and, on leaving
//! broadcast, every connection is closed (`NotServing`) — the clients move on.
//! Invariants: replies on a connection leave in xid order from the head of its queue; a
//! watch event for a txn is sent before any reply that reflects that txn; every request gets
//! at most one reply from this incarnation.

use proto::wire::{ClientMsg, CloseReason, ServerMsg, WatchEvent, WatchSet};
use proto::zk::{Op, OpResult, SessionId, ZkError};
use proto::{Ctx, ProcessId, Zxid};

use crate::clients::{Conn, ConnKey, ConnState, Status};
use crate::msg::{Msg, Peer};
use crate::notes::Note;
use crate::server::{Out, Role, Server};
use crate::types::{Origin, Txn};
use crate::watches::Fired;

/// xid of the CreateSession a connect submits (clients number requests from 1).
const CONNECT_XID: u64 = 0;

impl Server {
    fn to_client(client: ProcessId, msg: ServerMsg, out: &mut Out) {
        out.send(client, Msg::to_client(msg));
    }

    fn key(client: ProcessId, conn: u64) -> ConnKey {
        ConnKey { client, conn }
    }

    pub(crate) fn on_client_msg(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: ClientMsg,
        out: &mut Out,
    ) {
        if self.cfg.is_server(from) {
            return; // servers are not clients
        }
        match msg {
            ClientMsg::Connect {
                conn,
                session,
                timeout_ms,
                last_zxid_seen,
                watches,
            } => self.on_connect(
                ctx,
                from,
                conn,
                session,
                timeout_ms,
                last_zxid_seen,
                watches,
                out,
            ),
            ClientMsg::Request { conn, xid, op } => self.on_request(ctx, from, conn, xid, op, out),
            ClientMsg::Ping { conn, sent } => self.on_ping(from, conn, sent, out),
            ClientMsg::Disconnect { conn } => self.drop_conn(Self::key(from, conn)),
        }
    }

    /// A ping: answered with the count of replies and events sent, unless requests the
    /// client sent on this connection were lost (then the connection is closed).
    fn on_ping(&mut self, client: ProcessId, conn: u64, sent: u64, out: &mut Out) {
        let key = Self::key(client, conn);
        if !self.touch_conn(key) {
            let reason = CloseReason::UnknownConnection;
            return Self::to_client(client, ServerMsg::Closed { conn, reason }, out);
        }
        let c = self.clients.get(key).expect("touched");
        assert!(
            c.requests_received <= sent,
            "more requests arrived than were sent"
        );
        if c.requests_received < sent {
            return self.close_conn(key, CloseReason::MessagesLost, out);
        }
        let pong = ServerMsg::Pong {
            conn,
            zxid: self.applied_zxid,
            sent: c.messages_sent,
        };
        Self::to_client(client, pong, out);
    }

    /// Sends a reply or watch event on an open connection, numbered (`seq`) and counted.
    fn send_counted(&mut self, key: ConnKey, mut msg: ServerMsg, out: &mut Out) {
        let c = self.clients.get_mut(key).expect("an open connection");
        assert_eq!(
            c.state,
            ConnState::Open,
            "a reply or event before the connect"
        );
        match &mut msg {
            ServerMsg::Reply { seq, .. } | ServerMsg::Watch { seq, .. } => *seq = c.messages_sent,
            other => panic!("only replies and watch events are counted: {other:?}"),
        }
        c.messages_sent += 1;
        Self::to_client(key.client, msg, out);
    }

    /// Marks an open connection as heard from (and its session alive).
    fn touch_conn(&mut self, key: ConnKey) -> bool {
        let now = self.now;
        let Some(c) = self.clients.get_mut(key) else {
            return false;
        };
        if c.state != ConnState::Open {
            return false;
        }
        c.last_heard = now;
        c.touched = true;
        let session = c.session;
        if let Role::Leading(l) = &mut self.role {
            l.tracker.touch(session, now);
        }
        true
    }

    fn drop_conn(&mut self, key: ConnKey) {
        self.clients.remove(key);
        self.watches.remove_client(key);
    }

    fn close_conn(&mut self, key: ConnKey, reason: CloseReason, out: &mut Out) {
        if self.clients.get(key).is_some() {
            let conn = key.conn;
            Self::to_client(key.client, ServerMsg::Closed { conn, reason }, out);
            self.drop_conn(key);
        }
    }

    /// The timeout ZooKeeper negotiates: within [2, 20] ticks.
    fn negotiate_timeout_ms(&self, requested_ms: u32) -> u32 {
        let tick_ms = u32::try_from(self.cfg.tick_ms).expect("tick fits");
        requested_ms.clamp(2 * tick_ms, 20 * tick_ms)
    }

    fn next_session_id(&mut self) -> SessionId {
        self.next_session = self.next_session.wrapping_add(1);
        assert_ne!(self.next_session, 0);
        SessionId(self.next_session)
    }

    #[allow(clippy::too_many_arguments)]
    fn on_connect(
        &mut self,
        ctx: &mut Ctx,
        client: ProcessId,
        conn: u64,
        session: Option<SessionId>,
        timeout_ms: u32,
        last_zxid_seen: Zxid,
        watches: WatchSet,
        out: &mut Out,
    ) {
        let key = Self::key(client, conn);
        if self.clients.get(key).is_some() {
            return; // a duplicate connect
        }
        let refuse = if !self.serving() {
            Some(CloseReason::NotServing)
        } else if last_zxid_seen > self.applied_zxid {
            Some(CloseReason::ClientAhead)
        } else {
            None
        };
        if let Some(reason) = refuse {
            Self::to_client(client, ServerMsg::Closed { conn, reason }, out);
            return;
        }
        let now = self.now;
        let timeout_ms = self.negotiate_timeout_ms(timeout_ms);
        let origin = Origin {
            server: self.cfg.me,
            client,
            conn,
            xid: CONNECT_XID,
        };
        let Some(session) = session else {
            let session = self.next_session_id();
            let c = Conn::new(session, timeout_ms, ConnState::Creating, now);
            self.insert_conn(key, c);
            self.submit_write(ctx, session, Op::CreateSession { timeout_ms }, origin, out);
            return;
        };
        let state = ConnState::Revalidating {
            watches,
            relative: last_zxid_seen,
        };
        self.insert_conn(key, Conn::new(session, timeout_ms, state, now));
        match &mut self.role {
            Role::Leading(l) => {
                let timeout_ms = l.tracker.revalidate(session, self.cfg.me, now);
                self.finish_connect(client, conn, session, timeout_ms, out);
            }
            Role::Learning(_) => {
                let body = Peer::Revalidate {
                    session,
                    client,
                    conn,
                };
                self.learner_forward(body, out);
            }
            Role::Looking => unreachable!("serving while looking"),
        }
    }

    /// Adds a connection; an older connection of the same session here is dropped.
    fn insert_conn(&mut self, key: ConnKey, c: Conn) {
        if let Some(replaced) = self.clients.insert(key, c) {
            self.watches.remove_client(replaced);
        }
        assert!(self.clients.len() <= self.cfg.client_connections_max);
    }

    /// A connect's session is live (`Some(timeout)`) or expired (`None`).
    pub(crate) fn finish_connect(
        &mut self,
        client: ProcessId,
        conn: u64,
        session: SessionId,
        timeout_ms: Option<u32>,
        out: &mut Out,
    ) {
        let applied = self.applied_zxid;
        let key = Self::key(client, conn);
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        if c.session != session || c.state == ConnState::Open {
            return;
        }
        let Some(timeout_ms) = timeout_ms else {
            Self::to_client(client, ServerMsg::Expired { conn }, out);
            self.drop_conn(key);
            return;
        };
        let previous = std::mem::replace(&mut c.state, ConnState::Open);
        c.timeout_ms = timeout_ms;
        assert_eq!(
            self.clients.key_of(session),
            Some(key),
            "one connection per session"
        );
        let connected = ServerMsg::Connected {
            conn,
            session,
            timeout_ms,
        };
        Self::to_client(client, connected, out);
        if let ConnState::Revalidating { watches, relative } = previous {
            let mut fired = Vec::new();
            let tree = self.app.tree();
            self.watches
                .set_watches(tree, key, relative, &watches, &mut fired);
            self.send_events(fired, applied, out);
        }
    }

    fn send_events(&mut self, fired: Vec<Fired>, zxid: Zxid, out: &mut Out) {
        for (key, kind, path) in fired {
            if self.clients.get(key).is_none() {
                continue;
            }
            let event = WatchEvent { kind, path, zxid };
            let conn = key.conn;
            let watch = ServerMsg::Watch {
                conn,
                seq: 0, // numbered by send_counted
                event,
            };
            self.send_counted(key, watch, out);
        }
    }

    fn on_request(
        &mut self,
        ctx: &mut Ctx,
        client: ProcessId,
        conn: u64,
        xid: u64,
        op: Op,
        out: &mut Out,
    ) {
        let key = Self::key(client, conn);
        if !self.touch_conn(key) {
            let reason = CloseReason::UnknownConnection;
            Self::to_client(client, ServerMsg::Closed { conn, reason }, out);
            return;
        }
        let queue_max = self.cfg.pending_requests_max;
        let c = self.clients.get_mut(key).expect("touched");
        c.requests_received += 1;
        if c.queue.len() >= queue_max || c.queue.back().is_some_and(|r| r.xid >= xid) {
            self.close_conn(key, CloseReason::Overloaded, out);
            return;
        }
        let session = c.session;
        let origin = Origin {
            server: self.cfg.me,
            client,
            conn,
            xid,
        };
        match op {
            Op::CreateSession { .. } => {
                let result = OpResult::Err(ZkError::BadArguments);
                let zxid = self.applied_zxid;
                c.push(xid, op, Status::Done { zxid, result });
            }
            Op::Sync { ref path } => {
                let path = path.clone();
                c.push(xid, op, Status::Submitted);
                self.submit_sync(origin, path, out);
            }
            ref write if write.is_write() => {
                c.push(xid, write.clone(), Status::Submitted);
                self.submit_write(ctx, session, op, origin, out);
            }
            read => c.push(xid, read, Status::Waiting),
        }
        self.drain(key, out);
    }

    fn submit_write(
        &mut self,
        ctx: &mut Ctx,
        session: SessionId,
        op: Op,
        origin: Origin,
        out: &mut Out,
    ) {
        match self.role {
            Role::Leading(_) => {
                if !self.leader_submit(ctx, session, &op, Some(origin), out) && self.serving() {
                    let key = Self::key(origin.client, origin.conn);
                    self.close_conn(key, CloseReason::Overloaded, out);
                }
            }
            Role::Learning(_) => {
                self.learner_forward(Peer::request(session, op, origin), out);
            }
            Role::Looking => unreachable!("serving while looking"),
        }
    }

    fn submit_sync(&mut self, origin: Origin, path: String, out: &mut Out) {
        match self.role {
            Role::Leading(_) => self.leader_sync(origin, path, out),
            Role::Learning(_) => self.learner_forward(Peer::sync(origin, path), out),
            Role::Looking => unreachable!("serving while looking"),
        }
    }

    /// A sync of this server's client is done: everything the leader had proposed before it
    /// is applied here.
    pub(crate) fn complete_sync(&mut self, origin: Origin, path: String, out: &mut Out) {
        assert!(self.serving(), "a sync completes only in broadcast");
        let zxid = self.applied_zxid;
        let key = Self::key(origin.client, origin.conn);
        if let Some(c) = self.clients.get_mut(key) {
            c.complete(origin.xid, zxid, OpResult::Synced { path });
            self.drain(key, out);
        }
    }

    /// Answers requests from the head of the client's queue while they can be answered.
    fn drain(&mut self, key: ConnKey, out: &mut Out) {
        let applied = self.applied_zxid;
        let conn = key.conn;
        loop {
            let Some(c) = self.clients.get_mut(key) else {
                return;
            };
            let Some(head) = c.queue.front() else {
                return;
            };
            let (zxid, result) = match &head.status {
                Status::Submitted => return,
                Status::Done { zxid, result } => (*zxid, result.clone()),
                Status::Waiting => (applied, self.app.tree().read(&head.op)),
            };
            let head = c.queue.pop_front().expect("head");
            if head.status == Status::Waiting {
                self.register_watch(key, &head.op, &result);
            }
            let closed = result == OpResult::SessionClosed;
            let xid = head.xid;
            let reply = ServerMsg::Reply {
                conn,
                seq: 0, // numbered by send_counted
                xid,
                zxid,
                result,
            };
            self.send_counted(key, reply, out);
            if closed {
                self.drop_conn(key);
                return;
            }
        }
    }

    /// ZooKeeper's server-side watch registration for a read that was just answered.
    fn register_watch(&mut self, client: ConnKey, op: &Op, result: &OpResult) {
        match (op, result) {
            (Op::GetData { path, watch: true }, OpResult::Data { .. })
            | (Op::Exists { path, watch: true }, OpResult::Exists(_)) => {
                self.watches.add_data(client, path)
            }
            (Op::GetChildren { path, watch: true }, OpResult::Children(_)) => {
                self.watches.add_child(client, path)
            }
            _ => {}
        }
    }

    /// What applying committed `txn` (with `result`) means for the clients of this server:
    /// watch events first, then the reply to the request it answers, then the close of a
    /// connection whose session ended.
    pub(crate) fn on_applied(&mut self, txn: &Txn, result: OpResult, out: &mut Out) {
        if let Role::Leading(l) = &mut self.role {
            l.pending.retire(txn.zxid);
            if matches!(txn.body, datatree::TxnBody::CloseSession { .. }) {
                l.tracker.remove(txn.session);
            }
            // Only writes that took effect: an error txn (e.g. SessionMoved) changed nothing.
            if let Some(o) = txn
                .origin
                .filter(|o| o.xid != CONNECT_XID && result.is_ok())
            {
                out.note(Note::Applied {
                    session: txn.session,
                    xid: o.xid,
                    zxid: txn.zxid,
                });
            }
        }
        if !self.watches.is_empty() {
            // (Without watches no effect fires anything: skip building the effects.)
            let mut fired = Vec::new();
            for effect in txn.body.effects() {
                self.watches.trigger(&effect, &mut fired);
            }
            self.send_events(fired, txn.zxid, out);
        }
        if let Some(origin) = txn.origin.filter(|o| o.server == self.cfg.me) {
            self.answer(origin, txn, result, out);
        }
        let close = matches!(txn.body, datatree::TxnBody::CloseSession { .. });
        if close && txn.origin.is_none() {
            out.note(Note::SessionExpired {
                session: txn.session,
                zxid: txn.zxid,
            });
        }
        if close && let Some(key) = self.clients.key_of(txn.session) {
            self.close_conn(key, CloseReason::SessionClosed, out);
        }
    }

    fn answer(&mut self, origin: Origin, txn: &Txn, result: OpResult, out: &mut Out) {
        if origin.xid == CONNECT_XID {
            let timeout_ms = match result {
                OpResult::SessionCreated { timeout_ms } => Some(timeout_ms),
                _ => None,
            };
            self.finish_connect(origin.client, origin.conn, txn.session, timeout_ms, out);
            return;
        }
        let key = Self::key(origin.client, origin.conn);
        if self.clients.get(key).is_none() {
            return;
        }
        if result == OpResult::Err(ZkError::SessionMoved) {
            // ZooKeeper's FinalRequestProcessor (ZOOKEEPER-710): SessionMoved is a
            // connection-level error; the connection is torn down, never answered, so a
            // client that still talks to this server reconnects (and moves the session back).
            self.close_conn(key, CloseReason::SessionMoved, out);
            return;
        }
        let c = self.clients.get_mut(key).expect("checked");
        if c.complete(origin.xid, txn.zxid, result) {
            self.drain(key, out);
        }
    }

    /// Closes every client connection (leaving broadcast).
    pub(crate) fn fail_pending(&mut self, out: &mut Out) {
        for (key, _) in self.clients.drain() {
            let reason = CloseReason::NotServing;
            let conn = key.conn;
            Self::to_client(key.client, ServerMsg::Closed { conn, reason }, out);
            self.watches.remove_client(key);
        }
        assert_eq!(self.watches.len(), 0, "watches of closed connections");
    }

    /// The transport reset the connection to `client` (its process crashed).
    pub(crate) fn on_client_reset(&mut self, client: ProcessId) {
        for key in self.clients.keys_of(client) {
            self.drop_conn(key);
        }
    }
}
