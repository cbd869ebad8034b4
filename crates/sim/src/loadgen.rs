//! The key-value request generator: a client process with a real ZooKeeper session (the
//! `client` crate, hosted by [`ClientHost`]) that every `interval` sends a read
//! (`getData /kN`) or a write (`setData /kN`, or `create /kN` until it knows the node
//! exists) on a random key, keeps a bounded number outstanding, and counts what was
//! acknowledged. A session that expires is replaced by a new one.
//!
//! Invariants: at most `outstanding_max` requests in flight; every request ends as
//! acknowledged, read, or refused (an error such as ConnectionLoss) — none is forgotten.

use std::collections::BTreeMap;

use client::{Action, SessionState};
use proto::zk::{CreateMode, Op, OpResult, ZkError};
use proto::{Ctx, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};
use zab::{Msg, Note, Record};

use crate::clienthost::{ClientHost, HostConfig};

const TICK: TimerId = TimerId(100);
/// Pause after a session died before the next one starts.
const RENEW_DELAY_MS: u64 = 100;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadgenConfig {
    pub servers: Vec<ProcessId>,
    pub interval_ns: u64,
    pub outstanding_max: usize,
    pub session_timeout_ms: u32,
    /// Share of reads, parts per million.
    pub read_ppm: u32,
    pub keys: u64,
    /// Stop issuing writes after this many were acknowledged (0 = no limit).
    pub writes_max: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadgenStats {
    pub writes_acked: u64,
    pub reads_ok: u64,
    /// Requests that failed (ConnectionLoss, SessionExpired, a lost race on create, …).
    pub refused: u64,
    /// Sessions that expired (each replaced by a new one).
    pub sessions_expired: u64,
    /// The error of the last refused request.
    pub last_error: Option<ZkError>,
    /// Acknowledged latencies, ns (for the summary).
    pub ack_latency_ns: Vec<u64>,
    /// The local time of the last acknowledgement.
    pub last_ack: Option<Time>,
    pub last_zxid: Zxid,
}

pub struct Loadgen {
    config: LoadgenConfig,
    host: Option<ClientHost>,
    /// Requests in flight: xid → (sent at, is a write).
    outstanding: BTreeMap<u64, (Time, bool)>,
    /// Keys whose node is known to exist.
    exists: Vec<bool>,
    writes_issued: u64,
    pub stats: LoadgenStats,
}

type Out = Outbox<Msg, Record, Note>;

fn key_path(key: u64) -> String {
    format!("/k{key}")
}

impl Loadgen {
    pub fn new(config: LoadgenConfig) -> Loadgen {
        assert!(!config.servers.is_empty() && config.outstanding_max > 0 && config.keys > 0);
        let keys = usize::try_from(config.keys).expect("keys fit");
        Loadgen {
            config,
            host: None,
            outstanding: BTreeMap::new(),
            exists: vec![false; keys],
            writes_issued: 0,
            stats: LoadgenStats::default(),
        }
    }

    /// Requests in flight.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether the generator stops after a number of writes.
    pub fn has_write_target(&self) -> bool {
        self.config.writes_max > 0
    }

    pub fn writes_max(&self) -> u64 {
        self.config.writes_max
    }

    /// Whether this generator still has writes to issue.
    pub fn wants_writes(&self) -> bool {
        self.config.writes_max == 0 || self.stats.writes_acked < self.config.writes_max
    }

    /// The client's session as a liveness report shows it.
    pub fn describe(&self) -> String {
        let Some(h) = &self.host else {
            return "not started".into();
        };
        let s = h.session();
        let c = s.counters();
        format!(
            "session {:?} {:?} on {:?}, {} outstanding, {} sessions, {} connects, {} losses, \
             {} violations, {} acked, {} refused, last error {:?}",
            s.session_id(),
            s.state(),
            s.server(),
            self.outstanding.len(),
            h.sessions_started,
            c.connect_attempts,
            c.connection_losses,
            c.protocol_violations,
            self.stats.writes_acked,
            self.stats.refused,
            self.stats.last_error
        )
    }

    fn host(&mut self) -> &mut ClientHost {
        self.host.as_mut().expect("started")
    }

    fn issue(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let read = ctx.below(1_000_000) < u64::from(self.config.read_ppm);
        if !read && !self.wants_writes() {
            return;
        }
        let key = ctx.below(self.config.keys);
        let path = key_path(key);
        let op = if read {
            Op::GetData { path, watch: false }
        } else {
            self.writes_issued += 1;
            let data = self.writes_issued.to_string().into_bytes();
            if self.exists[key as usize] {
                Op::SetData {
                    path,
                    data,
                    version: Op::ANY_VERSION,
                }
            } else {
                Op::Create {
                    path,
                    data,
                    mode: CreateMode::Persistent,
                }
            }
        };
        let (xid, actions) = self.host().submit(ctx, op, out);
        self.outstanding.insert(xid, (ctx.now, !read));
        self.handle(ctx, actions, out);
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed {
                    xid,
                    op,
                    result,
                    zxid,
                } => self.completed(ctx.now, xid, &op, &result, zxid),
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.stats.sessions_expired += 1;
                    let at = ctx.now.plus_ns(RENEW_DELAY_MS * proto::NS_PER_MS);
                    out.set_timer(RENEW, at);
                }
                _ => {}
            }
        }
    }

    fn completed(&mut self, now: Time, xid: u64, op: &Op, result: &OpResult, zxid: Option<Zxid>) {
        let Some((sent, write)) = self.outstanding.remove(&xid) else {
            return;
        };
        if let Some(z) = zxid {
            self.stats.last_zxid = self.stats.last_zxid.max(z);
        }
        let key = op
            .path()
            .and_then(|p| p.strip_prefix("/k"))
            .and_then(|k| k.parse::<usize>().ok())
            .expect("a generator path");
        match result {
            OpResult::Created { .. } | OpResult::Stat(_) => {
                assert!(write);
                self.exists[key] = true;
                self.stats.writes_acked += 1;
                self.stats.ack_latency_ns.push(now.since_ns(sent));
                self.stats.last_ack = Some(now);
            }
            OpResult::Data { .. } | OpResult::Err(ZkError::NoNode) if !write => {
                self.stats.reads_ok += 1
            }
            OpResult::Err(ZkError::NodeExists) => {
                self.exists[key] = true;
                self.stats.refused += 1;
            }
            OpResult::Err(ZkError::NoNode) => {
                self.exists[key] = false;
                self.stats.refused += 1;
            }
            _ => self.stats.refused += 1,
        }
        if let OpResult::Err(err) = result {
            self.stats.last_error = Some(*err);
        }
    }
}

/// Starts a new session after the last one died.
const RENEW: TimerId = TimerId(102);

impl Process for Loadgen {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        let config = HostConfig {
            servers: self.config.servers.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            reconnect_delay_ms: 200,
            max_pending: self.config.outstanding_max.max(1) + 1,
        };
        self.host = Some(ClientHost::new(ctx, config, 0));
        let actions = self.host().start(ctx, out);
        self.handle(ctx, actions, out);
        let jitter = ctx.below(self.config.interval_ns.max(1));
        out.set_timer(TICK, ctx.now.plus_ns(jitter));
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        let actions = self.host().on_message(ctx, from, msg, out);
        self.handle(ctx, actions, out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        if ClientHost::id_of_timer(timer).is_some() {
            let actions = self.host().on_timer(ctx, out);
            self.handle(ctx, actions, out);
            return;
        }
        match timer {
            RENEW => {
                if !self.host().session().is_alive() {
                    let actions = self.host().renew(ctx, out);
                    self.handle(ctx, actions, out);
                }
            }
            _ => {
                let connected = self.host().session().state() == SessionState::Connected;
                if connected && self.outstanding.len() < self.config.outstanding_max {
                    self.issue(ctx, out);
                }
                out.set_timer(TICK, ctx.now.plus_ns(self.config.interval_ns));
            }
        }
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let actions = self.host().on_disconnect(ctx, peer, out);
        self.handle(ctx, actions, out);
    }
}
