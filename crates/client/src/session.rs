//! The session state machine ([`Session`]): its phases, the public inputs, requests and
//! replies, watch events and the state the application sees. Connection management
//! (attempts, losses, failover, the single timer) lives in `connection.rs`.

use proto::wire::{ClientMsg, ServerMsg, WatchEvent, WatchSet};
use proto::zk::{Op, OpResult, SessionId, ZkError};
use proto::{ProcessId, Time, Zxid};

use crate::config::{ClientConfig, Timeouts};
use crate::pending::Pending;
use crate::watches::Watches;
use crate::{Action, Counters, SessionState};

/// One connection to one server, numbered `conn`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub server: ProcessId,
    pub conn: u64,
    /// When this side last sent on the connection (the `Connect` counts).
    pub last_send: Time,
    /// When this side last received on it (the attempt's start until then).
    pub last_recv: Time,
    /// Requests sent on this connection (a ping tells the server).
    pub requests_sent: u64,
    /// Replies and watch events received on it (a pong says how many were sent).
    pub messages_received: u64,
}

/// Where the session is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `start` not called yet.
    Idle,
    /// `Connect` sent on `link`, no answer yet.
    Connecting(Link),
    /// `Connected` received on `link`: every outstanding request is in flight.
    Connected(Link),
    /// Every server failed once in a row: pausing until `until`.
    Waiting {
        until: Time,
    },
    Expired,
    Closed,
}

/// A ZooKeeper client session (see the crate docs). All inputs take the local time and
/// append their outputs to `out`.
#[derive(Debug)]
pub struct Session {
    pub(crate) config: ClientConfig,
    /// From the negotiated session timeout once connected, the requested one before.
    pub(crate) timeouts: Timeouts,
    pub(crate) phase: Phase,
    pub(crate) session_id: Option<SessionId>,
    pub(crate) last_zxid_seen: Zxid,
    /// The last connection number used (0: none yet).
    pub(crate) last_conn: u64,
    /// The last xid handed out (0: none yet).
    pub(crate) last_xid: u64,
    /// Index into `config.servers` of the next server to try.
    pub(crate) next_server: usize,
    /// Attempts since the last `Connected` (which counts as the round's first attempt).
    pub(crate) attempts_in_round: usize,
    /// The xid of `close()`'s request while it is outstanding.
    pub(crate) closing_xid: Option<u64>,
    pub(crate) pending: Pending,
    pub(crate) watches: Watches,
    /// The time the caller's timer is armed at, as far as this session knows.
    pub(crate) timer_at: Option<Time>,
    pub(crate) counters: Counters,
}

impl Session {
    pub fn new(config: ClientConfig) -> Session {
        config.validate();
        let timeouts = Timeouts::new(config.session_timeout_ms, config.servers.len());
        let pending = Pending::new(config.pending_max + 1);
        Session {
            next_server: config.first_server,
            config,
            timeouts,
            phase: Phase::Idle,
            session_id: None,
            last_zxid_seen: Zxid::ZERO,
            last_conn: 0,
            last_xid: 0,
            attempts_in_round: 0,
            closing_xid: None,
            pending,
            watches: Watches::default(),
            timer_at: None,
            counters: Counters::default(),
        }
    }

    /// Begins connecting to `servers[first_server]`. Call once.
    pub fn start(&mut self, now: Time, out: &mut Vec<Action>) {
        assert_eq!(self.phase, Phase::Idle, "client: start called twice");
        out.push(Action::State(SessionState::Connecting));
        self.attempt(now, out);
        self.finish(out);
    }

    /// Submits `op` and returns its xid. It is sent at once when connected, queued
    /// otherwise. It completes within this call when the session is closing (with
    /// `ConnectionLoss`, as ZooKeeper's closing handle), expired or closed (with
    /// `SessionExpired`), or when `pending_max` requests are outstanding (`ConnectionLoss`).
    /// `Op::CloseSession` is [`Session::close`].
    pub fn submit(&mut self, now: Time, op: Op, out: &mut Vec<Action>) -> u64 {
        if op == Op::CloseSession {
            return self.close(now, out);
        }
        assert!(
            !matches!(op, Op::CreateSession { .. }),
            "client: CreateSession is the server's, not a client request"
        );
        let xid = self.next_xid();
        if let Some(err) = self.refusal() {
            complete_locally(xid, op, err, out);
        } else if self.pending.len() >= self.config.pending_max {
            self.counters.rejected_submits += 1;
            complete_locally(xid, op, ZkError::ConnectionLoss, out);
        } else {
            self.enqueue(now, xid, op, out);
        }
        self.finish(out);
        xid
    }

    /// Submits `Op::CloseSession` and returns its xid. When it completes — with the server's
    /// reply or with `ConnectionLoss` because the connection broke — the session is
    /// `Closed` (ZooKeeper's `close()` disconnects in any case). Refused like `submit`
    /// when already closing, expired or closed; never refused by the pending bound.
    pub fn close(&mut self, now: Time, out: &mut Vec<Action>) -> u64 {
        let xid = self.next_xid();
        if let Some(err) = self.refusal() {
            complete_locally(xid, Op::CloseSession, err, out);
        } else {
            assert!(self.pending.len() <= self.config.pending_max);
            self.closing_xid = Some(xid);
            self.enqueue(now, xid, Op::CloseSession, out);
        }
        self.finish(out);
        xid
    }

    /// A message from server `from`. Ignored (and counted) unless it is for the current
    /// connection to the current server.
    pub fn on_message(
        &mut self,
        now: Time,
        from: ProcessId,
        msg: ServerMsg,
        out: &mut Vec<Action>,
    ) {
        match self.phase {
            Phase::Connecting(link) | Phase::Connected(link)
                if link.server == from && link.conn == msg.conn() =>
            {
                self.touch_recv(now);
                self.dispatch(now, msg, out);
            }
            _ => self.counters.stale_messages += 1,
        }
        self.finish(out);
    }

    /// The session's timer fired: connect or read timeout, ping due, or reconnect delay over.
    pub fn on_timer(&mut self, now: Time, out: &mut Vec<Action>) {
        self.timer_at = None;
        self.handle_timer(now, out);
        self.finish(out);
    }

    /// The transport reset the connection to `server` (it crashed).
    pub fn on_disconnect(&mut self, now: Time, server: ProcessId, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Connecting(link) | Phase::Connected(link) if link.server == server => {
                self.lose(now, false, out);
            }
            _ => self.counters.stale_disconnects += 1,
        }
        self.finish(out);
    }

    pub fn state(&self) -> SessionState {
        match self.phase {
            Phase::Idle => SessionState::Connecting,
            Phase::Connecting(_) | Phase::Waiting { .. } if self.session_id.is_some() => {
                SessionState::Disconnected
            }
            Phase::Connecting(_) | Phase::Waiting { .. } => SessionState::Connecting,
            Phase::Connected(_) => SessionState::Connected,
            Phase::Expired => SessionState::Expired,
            Phase::Closed => SessionState::Closed,
        }
    }

    /// Neither expired nor closed: requests may still succeed.
    pub fn is_alive(&self) -> bool {
        self.state().is_alive()
    }

    /// The session id, once a server granted one (kept after expiry and close).
    pub fn session_id(&self) -> Option<SessionId> {
        self.session_id
    }

    /// The largest zxid seen in a reply, pong or watch event.
    pub fn last_zxid_seen(&self) -> Zxid {
        self.last_zxid_seen
    }

    /// The server of the current connection or connection attempt.
    pub fn server(&self) -> Option<ProcessId> {
        match self.phase {
            Phase::Connecting(link) | Phase::Connected(link) => Some(link.server),
            _ => None,
        }
    }

    /// Requests submitted and not completed yet (queued + in flight).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The registered watches, each kind sorted by path.
    pub fn watches(&self) -> WatchSet {
        self.watches.to_set()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Checks every invariant, including the O(pending) ones the inputs skip.
    pub fn check_invariants(&self) {
        self.pending.check_invariants();
        self.check_cheap_invariants();
    }

    fn next_xid(&mut self) -> u64 {
        self.last_xid = self.last_xid.checked_add(1).expect("xid overflow");
        self.last_xid
    }

    /// The error a new request completes with at once, if the session cannot take it.
    fn refusal(&self) -> Option<ZkError> {
        match self.phase {
            Phase::Expired | Phase::Closed => Some(ZkError::SessionExpired),
            _ if self.closing_xid.is_some() => Some(ZkError::ConnectionLoss),
            _ => None,
        }
    }

    fn enqueue(&mut self, now: Time, xid: u64, op: Op, out: &mut Vec<Action>) {
        assert!(
            self.closing_xid.is_none_or(|close| close == xid),
            "a request after close()"
        );
        let request = self.pending.push(xid, op);
        if let Phase::Connected(link) = &mut self.phase {
            let msg = ClientMsg::Request {
                conn: link.conn,
                xid,
                op: request.op.clone(),
            };
            out.push(Action::Send {
                to: link.server,
                msg,
            });
            link.last_send = now;
            link.requests_sent += 1;
        }
    }

    fn dispatch(&mut self, now: Time, msg: ServerMsg, out: &mut Vec<Action>) {
        let connected = matches!(self.phase, Phase::Connected(_));
        match msg {
            ServerMsg::Connected {
                session,
                timeout_ms,
                ..
            } if !connected => self.on_connected(now, session, timeout_ms, out),
            ServerMsg::Expired { .. } => self.expire(out),
            ServerMsg::Closed { .. } => self.lose(now, false, out),
            ServerMsg::Reply {
                seq,
                xid,
                zxid,
                result,
                ..
            } if connected => {
                if self.in_sequence(now, seq, out) {
                    self.on_reply(now, xid, zxid, result, out)
                }
            }
            ServerMsg::Watch { seq, event, .. } if connected => {
                if self.in_sequence(now, seq, out) {
                    self.on_watch(event, out)
                }
            }
            ServerMsg::Pong { sent, .. } if connected => {
                // ZooKeeper's client does not take lastZxid from ping replies: a pong's zxid
                // says nothing about which watch events this client has been sent, and
                // re-registering watches relative to it on a reconnect would miss changes.
                if self.received_on_link() != Some(sent) {
                    // The server sent replies or events that never arrived: the
                    // connection lost messages (for TCP, it is broken).
                    self.counters.messages_lost += 1;
                    self.lose(now, true, out);
                }
            }
            _ => self.violation(now, out),
        }
    }

    /// Counts a reply or watch event numbered `seq`; false (and the connection dropped) when
    /// earlier ones never arrived: on a TCP stream nothing after a hole may be acted on — a
    /// reply read past a lost watch event would show data the event should have announced.
    fn in_sequence(&mut self, now: Time, seq: u64, out: &mut Vec<Action>) -> bool {
        let Phase::Connected(link) = &mut self.phase else {
            unreachable!("checked connected");
        };
        if seq != link.messages_received {
            self.counters.messages_lost += 1;
            self.lose(now, true, out);
            return false;
        }
        link.messages_received += 1;
        true
    }

    fn received_on_link(&self) -> Option<u64> {
        match &self.phase {
            Phase::Connected(link) => Some(link.messages_received),
            _ => None,
        }
    }

    fn on_connected(
        &mut self,
        now: Time,
        session: SessionId,
        timeout_ms: u32,
        out: &mut Vec<Action>,
    ) {
        if timeout_ms == 0 {
            // ZooKeeper's client reads a negotiated timeout <= 0 as "session expired".
            return self.expire(out);
        }
        if session.is_none() || self.session_id.is_some_and(|ours| ours != session) {
            return self.violation(now, out);
        }
        let Phase::Connecting(mut link) = self.phase else {
            unreachable!("Connected is dispatched only while connecting")
        };
        self.session_id = Some(session);
        self.timeouts = Timeouts::new(timeout_ms, self.config.servers.len());
        self.attempts_in_round = 1;
        out.push(Action::State(SessionState::Connected));
        for request in self.pending.iter() {
            let msg = ClientMsg::Request {
                conn: link.conn,
                xid: request.xid,
                op: request.op.clone(),
            };
            out.push(Action::Send {
                to: link.server,
                msg,
            });
            link.last_send = now;
            link.requests_sent += 1;
        }
        // Every outstanding request is in flight on the new connection, in xid order.
        assert_eq!(link.requests_sent, self.pending.len() as u64);
        self.phase = Phase::Connected(link);
    }

    fn on_reply(
        &mut self,
        now: Time,
        xid: u64,
        zxid: Zxid,
        result: OpResult,
        out: &mut Vec<Action>,
    ) {
        let Some(request) = self.pending.pop_if_oldest(xid) else {
            // ZooKeeper's `readResponse`: "Xid out of order" drops the connection.
            return self.violation(now, out);
        };
        self.see_zxid(zxid);
        self.watches.register(&request.op, &result);
        let closed = self.closing_xid == Some(xid);
        out.push(Action::Completed {
            xid,
            op: request.op,
            result,
            zxid: Some(zxid),
        });
        if closed {
            let link = self.link().expect("a reply arrives on a connection");
            self.end_closed(Some(link), out);
        }
    }

    fn on_watch(&mut self, event: WatchEvent, out: &mut Vec<Action>) {
        self.see_zxid(event.zxid);
        if self.watches.trigger(&event) {
            out.push(Action::Watch(event));
        } else {
            self.counters.unmatched_watch_events += 1;
        }
    }

    fn see_zxid(&mut self, zxid: Zxid) {
        self.last_zxid_seen = self.last_zxid_seen.max(zxid);
    }

    /// The server broke the protocol: drop the connection as ZooKeeper's client does.
    fn violation(&mut self, now: Time, out: &mut Vec<Action>) {
        self.counters.protocol_violations += 1;
        self.lose(now, true, out);
    }

    /// The server says the session is gone: fail everything, forget the watches. Terminal.
    fn expire(&mut self, out: &mut Vec<Action>) {
        assert!(self.state().is_alive(), "a session ends once");
        self.fail_all(ZkError::SessionExpired, out);
        self.watches.clear();
        self.phase = Phase::Expired;
        out.push(Action::State(SessionState::Expired));
    }

    /// `close()` completed: say goodbye on `link` (if there is one). Terminal.
    pub(crate) fn end_closed(&mut self, link: Option<Link>, out: &mut Vec<Action>) {
        assert!(self.pending.is_empty(), "close is the last request");
        assert!(self.state().is_alive(), "a session ends once");
        self.watches.clear();
        self.phase = Phase::Closed;
        if let Some(link) = link {
            let msg = ClientMsg::Disconnect { conn: link.conn };
            out.push(Action::Send {
                to: link.server,
                msg,
            });
        }
        out.push(Action::State(SessionState::Closed));
    }

    /// Completes every outstanding request with `err`, oldest first. Returns whether
    /// `close()`'s request was among them.
    pub(crate) fn fail_all(&mut self, err: ZkError, out: &mut Vec<Action>) -> bool {
        let mut closed = false;
        for request in self.pending.take_all() {
            closed |= self.closing_xid == Some(request.xid);
            complete_locally(request.xid, request.op, err, out);
        }
        closed
    }

    pub(crate) fn link(&self) -> Option<Link> {
        match self.phase {
            Phase::Connecting(link) | Phase::Connected(link) => Some(link),
            _ => None,
        }
    }

    /// The end of every input: re-arm the timer if its deadline moved, check invariants.
    fn finish(&mut self, out: &mut Vec<Action>) {
        self.rearm(out);
        self.check_cheap_invariants();
    }

    /// O(1) invariants, checked after every input.
    fn check_cheap_invariants(&self) {
        let pending = self.pending.len();
        assert!(pending <= self.config.pending_max + 1);
        assert!(self.next_server < self.config.servers.len());
        assert!(self.attempts_in_round <= self.config.servers.len());
        assert!(self.pending.oldest_xid().is_none_or(|x| x <= self.last_xid));
        match self.phase {
            Phase::Idle => assert_eq!(self.last_conn, 0),
            Phase::Connecting(link) | Phase::Connected(link) => {
                assert_eq!(link.conn, self.last_conn, "the current conn is the newest");
                if matches!(self.phase, Phase::Connected(_)) {
                    assert!(
                        link.requests_sent >= pending as u64,
                        "an outstanding request is not in flight"
                    );
                } else {
                    assert_eq!(link.requests_sent, 0, "a request sent before Connected");
                }
            }
            Phase::Waiting { .. } => assert_eq!(self.attempts_in_round, 0),
            Phase::Expired | Phase::Closed => {
                assert_eq!(pending, 0, "nothing outlives the session");
                assert_eq!(self.watches.len(), 0, "no watch outlives the session");
            }
        }
        if matches!(self.phase, Phase::Connected(_)) {
            assert!(self.session_id.is_some(), "connected means a session");
        }
        if let Some(xid) = self.closing_xid
            && self.state().is_alive()
        {
            assert_eq!(
                self.pending.newest_xid(),
                Some(xid),
                "close is the newest request"
            );
        }
    }
}

/// A completion the client produces itself (no server zxid).
fn complete_locally(xid: u64, op: Op, err: ZkError, out: &mut Vec<Action>) {
    out.push(Action::Completed {
        xid,
        op,
        result: OpResult::Err(err),
        zxid: None,
    });
}
