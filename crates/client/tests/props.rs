//! Property test: random inputs — submits, closes, timers (on time and stray), resets and
//! server messages aimed near the session's current connection and oldest in-flight xid —
//! never panic and keep the invariants: every xid completes at most once; requests that were
//! queued complete in xid order; connection numbers go 1, 2, 3, …; requests go out in xid
//! order per connection; a timer is set only when its deadline moves; a terminal session
//! only answers submits; the last state emitted is the state reported.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use client::{Action, ClientConfig, Session, SessionState};
use common::{P0, P1, P2, SID, data};
use proptest::prelude::*;
use proto::wire::{ClientMsg, CloseReason, EventType, ServerMsg, WatchEvent};
use proto::zk::{Op, OpResult, SessionId, Stat, ZkError};
use proto::{ProcessId, Time, Zxid};

const PATHS: [&str; 3] = ["/a", "/b", "/c"];

#[derive(Clone, Debug)]
enum Input {
    Advance { ms: u64 },
    FireTimer,
    StrayTimer,
    Submit { op: u8, path: u8 },
    Close,
    Reset { server: u8 },
    Server { server: u8, conn: u8, msg: Msg },
}

#[derive(Clone, Debug)]
enum Msg {
    Connected {
        other_session: bool,
        timeout_ms: u32,
    },
    Expired,
    Closed,
    Reply {
        oldest: bool,
        result: u8,
        zxid: u64,
    },
    Watch {
        kind: u8,
        path: u8,
        zxid: u64,
    },
    Pong {
        zxid: u64,
        sent: u64,
    },
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        30 => (prop::bool::weighted(0.1), prop_oneof![1 => Just(0u32), 10 => Just(900), 10 => Just(6000)])
            .prop_map(|(other_session, timeout_ms)| Msg::Connected { other_session, timeout_ms }),
        1 => Just(Msg::Expired),
        10 => Just(Msg::Closed),
        80 => (prop::bool::weighted(0.9), 0u8..7, 0u64..50)
            .prop_map(|(oldest, result, zxid)| Msg::Reply { oldest, result, zxid }),
        40 => (0u8..4, 0u8..3, 0u64..50).prop_map(|(kind, path, zxid)| Msg::Watch { kind, path, zxid }),
        20 => (0u64..50, 0u64..4).prop_map(|(zxid, sent)| Msg::Pong { zxid, sent }),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        40 => (0u64..3000).prop_map(|ms| Input::Advance { ms }),
        40 => Just(Input::FireTimer),
        5 => Just(Input::StrayTimer),
        60 => (0u8..5, 0u8..3).prop_map(|(op, path)| Input::Submit { op, path }),
        1 => Just(Input::Close),
        5 => (0u8..4).prop_map(|server| Input::Reset { server }),
        150 => (prop::bool::weighted(0.85), prop::bool::weighted(0.9), 0u8..4, msg())
            .prop_map(|(current_server, current_conn, server, msg)| Input::Server {
                server: if current_server { 0 } else { 1 + server % 3 },
                conn: if current_conn { 0 } else { server % 3 },
                msg,
            }),
    ]
}

fn op(kind: u8, path: u8) -> Op {
    let path = PATHS[path as usize].to_string();
    match kind {
        0 => Op::GetData { path, watch: true },
        1 => Op::Exists { path, watch: true },
        2 => Op::GetChildren { path, watch: true },
        3 => Op::SetData {
            path,
            data: vec![],
            version: -1,
        },
        _ => Op::Delete { path, version: -1 },
    }
}

fn result(kind: u8) -> OpResult {
    match kind {
        0 => data(),
        1 => OpResult::Exists(None),
        2 => OpResult::Exists(Some(Stat::default())),
        3 => OpResult::Children(vec![]),
        4 => OpResult::Err(ZkError::NoNode),
        5 => OpResult::SessionClosed,
        _ => OpResult::Deleted,
    }
}

/// The test's view of the session, built from the actions only.
struct Harness {
    session: Session,
    now: Time,
    armed: Option<Time>,
    last_conn: u64,
    current: Option<(ProcessId, u64)>,
    /// Accepted (queued) xids not completed yet.
    outstanding: BTreeSet<u64>,
    completed: BTreeSet<u64>,
    last_queued_completion: u64,
    last_request_sent: (u64, u64),
    next_xid: u64,
    terminal: bool,
    /// Replies and watch events sent per connection: the next one's `seq` (each
    /// connection an in-order stream; gaps have their own unit test).
    sent: BTreeMap<u64, u64>,
}

impl Harness {
    fn new(config: ClientConfig) -> Harness {
        Harness {
            session: Session::new(config),
            now: Time::ZERO,
            armed: None,
            last_conn: 0,
            current: None,
            outstanding: BTreeSet::new(),
            completed: BTreeSet::new(),
            last_queued_completion: 0,
            last_request_sent: (0, 0),
            next_xid: 1,
            terminal: false,
            sent: BTreeMap::new(),
        }
    }

    fn server_msg(&mut self, server: u8, conn: u8, msg: Msg) -> (ProcessId, ServerMsg) {
        let (cur_server, cur_conn) = self.current.unwrap_or((P0, 1));
        let from = [cur_server, P0, P1, P2][server as usize];
        let conn = match conn {
            0 => cur_conn,
            1 => cur_conn.saturating_sub(1),
            _ => cur_conn + 1,
        };
        let msg = match msg {
            Msg::Connected {
                other_session,
                timeout_ms,
            } => ServerMsg::Connected {
                conn,
                session: if other_session { SessionId(5) } else { SID },
                timeout_ms,
            },
            Msg::Expired => ServerMsg::Expired { conn },
            Msg::Closed => ServerMsg::Closed {
                conn,
                reason: CloseReason::ClientAhead,
            },
            Msg::Reply {
                oldest,
                result: r,
                zxid,
            } => ServerMsg::Reply {
                conn,
                seq: self.next_seq(conn),
                xid: if oldest {
                    self.outstanding.first().copied().unwrap_or(1)
                } else {
                    self.next_xid
                },
                zxid: Zxid(zxid),
                result: result(r),
            },
            Msg::Watch { kind, path, zxid } => ServerMsg::Watch {
                conn,
                seq: self.next_seq(conn),
                event: WatchEvent {
                    kind: [
                        EventType::NodeCreated,
                        EventType::NodeDeleted,
                        EventType::NodeDataChanged,
                        EventType::NodeChildrenChanged,
                    ][kind as usize],
                    path: PATHS[path as usize].into(),
                    zxid: Zxid(zxid),
                },
            },
            Msg::Pong { zxid, sent } => ServerMsg::Pong {
                conn,
                zxid: Zxid(zxid),
                sent,
            },
        };
        (from, msg)
    }

    fn next_seq(&mut self, conn: u64) -> u64 {
        let next = self.sent.entry(conn).or_insert(0);
        *next += 1;
        *next - 1
    }

    fn apply(&mut self, input: Input) {
        let mut out = Vec::new();
        let now = self.now;
        let mut submitted = None;
        let mut timer_fired = false;
        match input {
            Input::Advance { ms } => {
                self.now = self.now.plus_ns(ms * proto::NS_PER_MS);
                return;
            }
            Input::FireTimer => {
                let Some(at) = self.armed else { return };
                self.now = self.now.max(at);
                timer_fired = true;
                self.session.on_timer(self.now, &mut out);
            }
            Input::StrayTimer => {
                timer_fired = true;
                self.session.on_timer(now, &mut out);
            }
            Input::Submit { op: k, path } => {
                submitted = Some(self.session.submit(now, op(k, path), &mut out));
            }
            Input::Close => submitted = Some(self.session.close(now, &mut out)),
            Input::Reset { server } => {
                let server = [P0, P1, P2, ProcessId(9)][server as usize];
                self.session.on_disconnect(now, server, &mut out);
            }
            Input::Server { server, conn, msg } => {
                let (from, msg) = self.server_msg(server, conn, msg);
                self.session.on_message(self.now, from, msg, &mut out);
            }
        }
        if timer_fired {
            self.armed = None;
        }
        self.check(submitted, out);
    }

    fn check(&mut self, submitted: Option<u64>, out: Vec<Action>) {
        self.session.check_invariants();
        let was_terminal = self.terminal;
        if let Some(xid) = submitted {
            assert_eq!(xid, self.next_xid, "xids go 1, 2, 3, …");
            self.next_xid += 1;
            let at_once = out
                .iter()
                .any(|a| matches!(a, Action::Completed { xid: x, .. } if *x == xid));
            if !at_once {
                self.outstanding.insert(xid);
            }
        }
        let mut last_state = None;
        for action in out {
            if was_terminal {
                assert!(
                    matches!(
                        &action,
                        Action::Completed {
                            result: OpResult::Err(ZkError::SessionExpired),
                            zxid: None,
                            ..
                        }
                    ),
                    "a terminal session only refuses submits: {action:?}"
                );
            }
            self.observe(action, submitted, &mut last_state);
        }
        if let Some(s) = last_state {
            assert_eq!(s, self.session.state());
        }
        assert_eq!(self.session.pending(), self.outstanding.len());
        match self.session.server() {
            None => self.current = None,
            server => assert_eq!(server, self.current.map(|c| c.0)),
        }
        self.terminal = !self.session.is_alive();
        if self.terminal {
            assert_eq!(self.session.pending(), 0);
            assert!(self.session.watches().is_empty());
        }
    }

    fn observe(
        &mut self,
        action: Action,
        submitted: Option<u64>,
        last_state: &mut Option<SessionState>,
    ) {
        match action {
            Action::Completed { xid, .. } => {
                assert!(xid < self.next_xid, "completion of an unknown xid {xid}");
                assert!(self.completed.insert(xid), "xid {xid} completed twice");
                if self.outstanding.remove(&xid) {
                    assert!(
                        xid > self.last_queued_completion,
                        "completions out of xid order"
                    );
                    self.last_queued_completion = xid;
                } else {
                    assert_eq!(
                        Some(xid),
                        submitted,
                        "only a refused submit completes at once"
                    );
                }
            }
            Action::Send { to, msg } => self.observe_send(to, msg),
            Action::SetTimer { at } => {
                assert_ne!(self.armed, Some(at), "SetTimer without a change");
                self.armed = Some(at);
            }
            Action::State(s) => *last_state = Some(s),
            Action::Watch(_) => {}
        }
    }

    fn observe_send(&mut self, to: ProcessId, msg: ClientMsg) {
        match msg {
            ClientMsg::Connect { conn, .. } => {
                assert_eq!(conn, self.last_conn + 1, "conns go 1, 2, 3, …");
                self.last_conn = conn;
                self.current = Some((to, conn));
                self.last_request_sent = (conn, 0);
            }
            ClientMsg::Request { conn, xid, .. } => {
                assert_eq!(Some((to, conn)), self.current);
                assert!(self.outstanding.contains(&xid));
                assert!(
                    (conn, xid) > self.last_request_sent,
                    "requests in xid order"
                );
                self.last_request_sent = (conn, xid);
            }
            ClientMsg::Ping { conn, .. } => assert_eq!(Some((to, conn)), self.current),
            ClientMsg::Disconnect { conn } => {
                assert_eq!(Some((to, conn)), self.current);
                self.current = None;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_inputs_keep_the_invariants(
        servers in 1usize..4,
        first in 0usize..3,
        delay_ms in prop::sample::select(vec![0u64, 500]),
        pending_max in 1usize..6,
        inputs in prop::collection::vec(input(), 0..200),
    ) {
        let config = ClientConfig {
            servers: [P0, P1, P2][..servers].to_vec(),
            first_server: first % servers,
            session_timeout_ms: 6000,
            reconnect_delay_ms: delay_ms,
            pending_max,
        };
        let mut h = Harness::new(config);
        let mut out = Vec::new();
        h.session.start(Time::ZERO, &mut out);
        h.check(None, out);
        for input in inputs {
            h.apply(input);
        }
    }
}
