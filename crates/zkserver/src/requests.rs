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
use replication::Engine;

use crate::ZkApp;
use crate::clients::{Conn, ConnKey, ConnState, Status};
use crate::msg::{EngineWire, Msg, PeerMsg};
use crate::note::Note;
use crate::server::{Out, Server, Side};
use crate::txn::{Origin, Txn};
use crate::watches::Fired;

/// xid of the CreateSession a connect submits (clients number requests from 1).
const CONNECT_XID: u64 = 0;

fn to_client<R>(client: ProcessId, msg: ServerMsg, out: &mut Out<R>) {
    out.send(client, Msg::to_client(msg));
}

fn key(client: ProcessId, conn: u64) -> ConnKey {
    ConnKey { client, conn }
}

/// What needs the engine: client messages, connects, requests, writes and syncs.
impl<E: Engine<ZkApp>> Server<E>
where
    E::Wire: EngineWire,
{
    pub(crate) fn on_client_msg<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: ClientMsg,
        out: &mut Out<R>,
    ) {
        if self.side.cfg.is_server(from) {
            return; // servers are not clients
        }
        match msg {
            ClientMsg::Connect {
                conn,
                session,
                timeout_ms,
                last_zxid_seen,
                watches,
            } => {
                let hello = Hello {
                    session,
                    timeout_ms,
                    last_zxid_seen,
                    watches,
                };
                self.on_connect(ctx, key(from, conn), hello, out)
            }
            ClientMsg::Request { conn, xid, op } => self.on_request(ctx, from, conn, xid, op, out),
            ClientMsg::Ping { conn, sent } => self.side.on_ping(from, conn, sent, out),
            ClientMsg::Disconnect { conn } => self.side.drop_conn(key(from, conn)),
        }
    }

    fn on_connect<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        key: ConnKey,
        hello: Hello,
        out: &mut Out<R>,
    ) {
        let (client, conn) = (key.client, key.conn);
        let side = &mut self.side;
        if side.clients.get(key).is_some() {
            return; // a duplicate connect
        }
        let refuse = if !side.status.serving {
            Some(CloseReason::NotServing)
        } else if hello.last_zxid_seen > side.applied() {
            Some(CloseReason::ClientAhead)
        } else {
            None
        };
        if let Some(reason) = refuse {
            to_client(client, ServerMsg::Closed { conn, reason }, out);
            return;
        }
        let now = side.now;
        let timeout_ms = side.negotiate_timeout_ms(hello.timeout_ms);
        let origin = Origin {
            server: side.cfg.me,
            client,
            conn,
            xid: CONNECT_XID,
        };
        let Some(session) = hello.session else {
            let session = side.next_session_id();
            let c = Conn::new(session, timeout_ms, ConnState::Creating, now);
            side.insert_conn(key, c);
            self.submit_write(ctx, session, Op::CreateSession { timeout_ms }, origin, out);
            return;
        };
        let state = ConnState::Revalidating {
            watches: hello.watches,
            relative: hello.last_zxid_seen,
        };
        side.insert_conn(key, Conn::new(session, timeout_ms, state, now));
        if side.status.leading() {
            let timeout_ms = side.tracker.revalidate(session, side.cfg.me, now);
            side.finish_connect(client, conn, session, timeout_ms, out);
        } else {
            let msg = PeerMsg::revalidate(session, client, conn);
            let sent = self.with_engine(out, |e, _, eo| e.send_to_leader(msg, eo));
            assert!(sent, "a serving learner could not reach its leader");
        }
    }

    fn on_request<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        client: ProcessId,
        conn: u64,
        xid: u64,
        op: Op,
        out: &mut Out<R>,
    ) {
        let key = key(client, conn);
        let side = &mut self.side;
        if !side.touch_conn(key) {
            let reason = CloseReason::UnknownConnection;
            to_client(client, ServerMsg::Closed { conn, reason }, out);
            return;
        }
        let queue_max = side.cfg.pending_requests_max;
        let applied = side.applied();
        let me = side.cfg.me;
        let c = side.clients.get_mut(key).expect("touched");
        c.requests_received += 1;
        if c.queue.len() >= queue_max || c.queue.back().is_some_and(|r| r.xid >= xid) {
            side.close_conn(key, CloseReason::Overloaded, out);
            return;
        }
        let session = c.session;
        let origin = Origin {
            server: me,
            client,
            conn,
            xid,
        };
        match op {
            Op::CreateSession { .. } => {
                let result = OpResult::Err(ZkError::BadArguments);
                c.push(
                    xid,
                    op,
                    Status::Done {
                        zxid: applied,
                        result,
                    },
                );
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
        self.side.drain(key, out);
    }

    fn submit_write<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        session: SessionId,
        op: Op,
        origin: Origin,
        out: &mut Out<R>,
    ) {
        assert!(self.side.status.serving, "a write while not serving");
        if self.side.status.leading() {
            if !self.leader_submit(ctx, session, &op, Some(origin), out) && self.side.status.serving
            {
                let key = key(origin.client, origin.conn);
                self.side.close_conn(key, CloseReason::Overloaded, out);
            }
        } else {
            let msg = PeerMsg::request(session, op, origin);
            let sent = self.with_engine(out, |e, _, eo| e.send_to_leader(msg, eo));
            assert!(sent, "a serving learner could not reach its leader");
        }
    }

    fn submit_sync<R: From<E::Record>>(&mut self, origin: Origin, path: String, out: &mut Out<R>) {
        assert!(self.side.status.serving, "a sync while not serving");
        let token = PeerMsg::sync(origin, path);
        // Refused (too many pending): dropped; the client times out and retries elsewhere.
        let _asked = self.with_engine(out, |e, b, eo| e.barrier(token, b, eo));
    }
}

/// A client's connect request.
struct Hello {
    session: Option<SessionId>,
    timeout_ms: u32,
    last_zxid_seen: Zxid,
    watches: WatchSet,
}

/// Connections, replies, watches and what applying a txn means for the clients here.
impl Side {
    /// A ping: answered with the count of replies and events sent, unless requests the
    /// client sent on this connection were lost (then the connection is closed).
    fn on_ping<R>(&mut self, client: ProcessId, conn: u64, sent: u64, out: &mut Out<R>) {
        let key = key(client, conn);
        if !self.touch_conn(key) {
            let reason = CloseReason::UnknownConnection;
            return to_client(client, ServerMsg::Closed { conn, reason }, out);
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
            zxid: self.applied(),
            sent: c.messages_sent,
        };
        to_client(client, pong, out);
    }

    /// Sends a reply or watch event on an open connection, numbered (`seq`) and counted.
    fn send_counted<R>(&mut self, key: ConnKey, mut msg: ServerMsg, out: &mut Out<R>) {
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
        let sent_before = c.messages_sent;
        c.messages_sent += 1;
        assert!(c.messages_sent > sent_before, "the message count wrapped");
        to_client(key.client, msg, out);
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
        // (With zk-1366 `now` is the wall clock, which may jump back.)
        assert!(
            self.cfg.wall_clock_timeouts || c.last_heard <= now,
            "a connection heard from in the future"
        );
        c.last_heard = now;
        c.touched = true;
        let session = c.session;
        if self.status.leading() {
            self.tracker.touch(session, now);
        }
        true
    }

    fn drop_conn(&mut self, key: ConnKey) {
        self.clients.remove(key);
        self.watches.remove_client(key);
        assert!(
            self.clients.get(key).is_none(),
            "a dropped connection lingers"
        );
    }

    fn close_conn<R>(&mut self, key: ConnKey, reason: CloseReason, out: &mut Out<R>) {
        if self.clients.get(key).is_some() {
            let conn = key.conn;
            to_client(key.client, ServerMsg::Closed { conn, reason }, out);
            self.drop_conn(key);
        }
    }

    /// The timeout ZooKeeper negotiates: within [2, 20] ticks.
    fn negotiate_timeout_ms(&self, requested_ms: u32) -> u32 {
        let tick_ms = u32::try_from(self.cfg.tick_ms).expect("tick fits");
        let negotiated = requested_ms.clamp(2 * tick_ms, 20 * tick_ms);
        assert!(negotiated > 0, "a session that can never expire");
        negotiated
    }

    fn next_session_id(&mut self) -> SessionId {
        self.next_session = self.next_session.wrapping_add(1);
        assert_ne!(self.next_session, 0);
        SessionId(self.next_session)
    }

    /// Adds a connection; an older connection of the same session here is dropped.
    fn insert_conn(&mut self, key: ConnKey, c: Conn) {
        if let Some(replaced) = self.clients.insert(key, c) {
            self.watches.remove_client(replaced);
        }
        assert!(self.clients.len() <= self.cfg.client_connections_max);
    }

    /// A connect's session is live (`Some(timeout)`) or expired (`None`).
    pub(crate) fn finish_connect<R>(
        &mut self,
        client: ProcessId,
        conn: u64,
        session: SessionId,
        timeout_ms: Option<u32>,
        out: &mut Out<R>,
    ) {
        let applied = self.applied();
        let key = key(client, conn);
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        if c.session != session || c.state == ConnState::Open {
            return;
        }
        let Some(timeout_ms) = timeout_ms else {
            to_client(client, ServerMsg::Expired { conn }, out);
            self.drop_conn(key);
            return;
        };
        assert!(timeout_ms > 0, "a live session without a timeout");
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
        to_client(client, connected, out);
        if let ConnState::Revalidating { watches, relative } = previous {
            let mut fired = Vec::new();
            let tree = self.state.tree();
            self.watches
                .set_watches(tree, key, relative, &watches, &mut fired);
            self.send_events(fired, applied, out);
        }
    }

    fn send_events<R>(&mut self, fired: Vec<Fired>, zxid: Zxid, out: &mut Out<R>) {
        for (key, kind, path) in fired {
            if self.clients.get(key).is_none() {
                continue;
            }
            assert!(
                zxid <= self.applied(),
                "a watch event for a txn not applied here"
            );
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

    /// A sync of this server's client is done: everything the leader had proposed before it
    /// is applied here.
    pub(crate) fn complete_sync<R>(&mut self, origin: Origin, path: String, out: &mut Out<R>) {
        assert!(self.status.serving, "a sync completes only in broadcast");
        let zxid = self.applied();
        assert_eq!(
            origin.server, self.cfg.me,
            "another server's sync completed here"
        );
        let key = key(origin.client, origin.conn);
        if let Some(c) = self.clients.get_mut(key) {
            c.complete(origin.xid, zxid, OpResult::Synced { path });
            self.drain(key, out);
        }
    }

    /// Answers requests from the head of the client's queue while they can be answered.
    fn drain<R>(&mut self, key: ConnKey, out: &mut Out<R>) {
        let applied = self.applied();
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
                Status::Waiting => (applied, self.state.tree().read(&head.op)),
            };
            assert!(
                zxid <= applied,
                "an answer reflecting a txn not applied here"
            );
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
    pub(crate) fn on_applied<R>(&mut self, txn: &Txn, result: OpResult, out: &mut Out<R>) {
        assert_eq!(
            self.applied(),
            txn.zxid,
            "clients told of a txn before it was applied"
        );
        if self.status.leading() {
            self.pending.retire(txn.zxid);
            if matches!(txn.body, datatree::TxnBody::CloseSession { .. }) {
                self.tracker.remove(txn.session);
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

    fn answer<R>(&mut self, origin: Origin, txn: &Txn, result: OpResult, out: &mut Out<R>) {
        if origin.xid == CONNECT_XID {
            let timeout_ms = match result {
                OpResult::SessionCreated { timeout_ms } => Some(timeout_ms),
                _ => None,
            };
            self.finish_connect(origin.client, origin.conn, txn.session, timeout_ms, out);
            return;
        }
        let key = key(origin.client, origin.conn);
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
        assert_ne!(origin.xid, CONNECT_XID);
        let c = self.clients.get_mut(key).expect("checked");
        if c.complete(origin.xid, txn.zxid, result) {
            self.drain(key, out);
        }
    }

    /// Closes every client connection (leaving broadcast).
    pub(crate) fn fail_pending<R>(&mut self, out: &mut Out<R>) {
        for (key, _) in self.clients.drain() {
            let reason = CloseReason::NotServing;
            let conn = key.conn;
            to_client(key.client, ServerMsg::Closed { conn, reason }, out);
            self.watches.remove_client(key);
        }
        assert_eq!(self.watches.len(), 0, "watches of closed connections");
    }

    /// The transport reset the connection to `client` (its process crashed).
    pub(crate) fn on_client_reset(&mut self, client: ProcessId) {
        assert!(
            !self.cfg.is_server(client),
            "a server's reset is the engine's"
        );
        for key in self.clients.keys_of(client) {
            self.drop_conn(key);
        }
        assert!(self.clients.keys_of(client).is_empty());
    }
}
