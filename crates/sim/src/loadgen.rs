//! The key-value request generator: a client process with a real ZooKeeper session (the
//! `client` crate, hosted by [`ClientHost`]) that every `interval` sends a read
//! (`getData /kN`) or a write (`setData /kN`, or `create /kN` until it knows the node
//! exists) on a key drawn from its [`KeySampler`], keeps a bounded number outstanding, and
//! counts what was acknowledged. A session that expires is replaced by a new one.
//!
//! Compare-and-set (a share `cas_ppm` of the writes): `setData /kN` with the version this
//! generator last saw for the key — from its own getData reply, its own setData reply's
//! Stat, or its own create (a new node has version 0). A cas on a key whose version it does
//! not know is a ZooKeeper user's read-modify-write: getData first, and as soon as it
//! answers, the setData with the version read (no new draw; skipped if the session is no
//! longer connected or the generator is at `outstanding_max` — the version stays known for
//! the next cas). BadVersion is a lost race, counted apart (not refused) and not retried; it
//! forgets the version, so the next cas on the key reads first.
//!
//! Determinism: the cas coin is drawn only when `cas_ppm > 0` and the request is a write,
//! and the key takes exactly one `below` draw whatever the distribution, so with cas off
//! and uniform keys a run draws exactly what it always did.
//!
//! Invariants: at most `outstanding_max` requests in flight; every request ends as
//! acknowledged, read, lost race (BadVersion of a cas), or refused (an error such as
//! ConnectionLoss) — none is forgotten.

use std::collections::BTreeMap;

use client::{Action, SessionState};
use proto::zk::{CreateMode, Op, OpResult, ZkError};
use proto::{Ctx, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};
use crate::keydist::KeySampler;

const TICK: TimerId = TimerId(100);

/// What a request in flight is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    /// The getData half of a cas whose key's version was unknown.
    CasRead,
    Write,
}
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
    /// Share of writes that are compare-and-set, parts per million.
    pub cas_ppm: u32,
    /// Which key each request goes to (over `/k0..keys`).
    pub keys: KeySampler,
    /// Stop issuing writes after this many were acknowledged (0 = no limit).
    pub writes_max: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadgenStats {
    /// Acknowledged writes (creates, plain and cas setData).
    pub writes_acked: u64,
    pub reads_ok: u64,
    /// Cas setData acknowledged (also in `writes_acked`).
    pub cas_ok: u64,
    /// Cas setData answered BadVersion: another write won the race (not `refused`).
    pub cas_bad_version: u64,
    /// getData issued in place of a cas whose key's version was unknown (the read half of
    /// a read-modify-write; answered ones are also in `reads_ok`).
    pub cas_reads: u64,
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
    /// Requests in flight: xid → (sent at, what it is).
    outstanding: BTreeMap<u64, (Time, Kind)>,
    /// Keys whose cas read just answered: their setData goes out next.
    cas_follow_ups: Vec<u64>,
    /// Keys whose node is known to exist.
    exists: Vec<bool>,
    /// Per key, the version last seen in this generator's own replies (for cas).
    versions: Vec<Option<i32>>,
    writes_issued: u64,
    pub stats: LoadgenStats,
}

type Out = Outbox<Msg, Record, Note>;

fn key_path(key: u64) -> String {
    format!("/k{key}")
}

impl Loadgen {
    pub fn new(config: LoadgenConfig) -> Loadgen {
        assert!(!config.servers.is_empty() && config.outstanding_max > 0);
        assert!(config.read_ppm <= 1_000_000 && config.cas_ppm <= 1_000_000);
        let keys = usize::try_from(config.keys.keys()).expect("keys fit");
        assert!(keys > 0, "no keys");
        Loadgen {
            config,
            host: None,
            outstanding: BTreeMap::new(),
            cas_follow_ups: Vec::new(),
            exists: vec![false; keys],
            versions: vec![None; keys],
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

    /// One request. Draws, in order: read or write; the key; for a write with cas on,
    /// whether it is a cas.
    fn issue(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let read = ctx.below(1_000_000) < u64::from(self.config.read_ppm);
        if !read && !self.wants_writes() {
            return;
        }
        let key = self.config.keys.sample(|n| ctx.below(n));
        let cas = !read
            && self.config.cas_ppm > 0
            && ctx.below(1_000_000) < u64::from(self.config.cas_ppm);
        let op = if read {
            Op::GetData {
                path: key_path(key),
                watch: false,
            }
        } else {
            self.write_op(key, cas)
        };
        let kind = match op {
            Op::GetData { .. } if read => Kind::Read,
            Op::GetData { .. } => Kind::CasRead,
            _ => Kind::Write,
        };
        self.submit(ctx, op, kind, out);
    }

    fn submit(&mut self, ctx: &mut Ctx, op: Op, kind: Kind, out: &mut Out) {
        assert!(self.outstanding.len() < self.config.outstanding_max);
        let (xid, actions) = self.host().submit(ctx, op, out);
        self.outstanding.insert(xid, (ctx.mono, kind));
        self.handle(ctx, actions, out);
    }

    /// The setData halves of the cas reads that just answered (see the module doc).
    fn cas_follow_up(&mut self, ctx: &mut Ctx, out: &mut Out) {
        while let Some(key) = self.cas_follow_ups.pop() {
            let connected = self.host().session().state() == SessionState::Connected;
            let room = self.outstanding.len() < self.config.outstanding_max;
            if connected && room && self.wants_writes() {
                let op = self.write_op(key, true);
                assert!(matches!(op, Op::SetData { .. }), "a cas follows its read");
                self.submit(ctx, op, Kind::Write, out);
            }
        }
    }

    /// The write for `key`: create until the node is known to exist, then setData — for a
    /// cas with the last seen version, or, with none known, the getData that learns it.
    fn write_op(&mut self, key: u64, cas: bool) -> Op {
        let k = usize::try_from(key).expect("a key index");
        let path = key_path(key);
        let version = match (cas, self.versions[k]) {
            (true, Some(v)) => v,
            (true, None) if self.exists[k] => {
                self.stats.cas_reads += 1;
                return Op::GetData { path, watch: false };
            }
            _ => Op::ANY_VERSION,
        };
        self.writes_issued += 1;
        let data = self.writes_issued.to_string().into_bytes();
        if self.exists[k] || version != Op::ANY_VERSION {
            Op::SetData {
                path,
                data,
                version,
            }
        } else {
            Op::Create {
                path,
                data,
                mode: CreateMode::Persistent,
            }
        }
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed {
                    xid,
                    op,
                    result,
                    zxid,
                } => self.completed(ctx.mono, xid, &op, &result, zxid),
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.stats.sessions_expired += 1;
                    let at = ctx.mono.plus_ns(RENEW_DELAY_MS * proto::NS_PER_MS);
                    out.set_timer(RENEW, at);
                }
                _ => {}
            }
        }
        self.cas_follow_up(ctx, out);
    }

    fn completed(&mut self, now: Time, xid: u64, op: &Op, result: &OpResult, zxid: Option<Zxid>) {
        let Some((sent, kind)) = self.outstanding.remove(&xid) else {
            return;
        };
        let write = kind == Kind::Write;
        if let Some(z) = zxid {
            self.stats.last_zxid = self.stats.last_zxid.max(z);
        }
        let key = op
            .path()
            .and_then(|p| p.strip_prefix("/k"))
            .and_then(|k| k.parse::<usize>().ok())
            .expect("a generator path");
        let cas = matches!(op, Op::SetData { version, .. } if *version != Op::ANY_VERSION);
        match result {
            OpResult::Created { .. } | OpResult::Stat(_) => {
                assert!(write);
                self.exists[key] = true;
                self.versions[key] = Some(match result {
                    OpResult::Stat(stat) => stat.version,
                    _ => 0,
                });
                self.stats.cas_ok += u64::from(cas);
                self.stats.writes_acked += 1;
                self.stats.ack_latency_ns.push(now.since_ns(sent));
                self.stats.last_ack = Some(now);
            }
            OpResult::Data { .. } | OpResult::Err(ZkError::NoNode) if !write => {
                if let OpResult::Data { stat, .. } = result {
                    self.versions[key] = Some(stat.version);
                    if kind == Kind::CasRead {
                        self.cas_follow_ups.push(key as u64);
                    }
                }
                self.stats.reads_ok += 1
            }
            OpResult::Err(ZkError::BadVersion) if cas => {
                self.versions[key] = None;
                self.stats.cas_bad_version += 1;
                return;
            }
            OpResult::Err(ZkError::NodeExists) => {
                self.exists[key] = true;
                self.stats.refused += 1;
            }
            OpResult::Err(ZkError::NoNode) => {
                self.exists[key] = false;
                self.versions[key] = None;
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
        out.set_timer(TICK, ctx.mono.plus_ns(jitter));
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
                out.set_timer(TICK, ctx.mono.plus_ns(self.config.interval_ns));
            }
        }
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let actions = self.host().on_disconnect(ctx, peer, out);
        self.handle(ctx, actions, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keydist::{KeyDist, KeySampler};
    use proto::zk::Stat;

    fn generator() -> Loadgen {
        Loadgen::new(LoadgenConfig {
            servers: vec![ProcessId(0)],
            interval_ns: 1,
            outstanding_max: 4,
            session_timeout_ms: 1_000,
            read_ppm: 0,
            cas_ppm: 1_000_000,
            keys: KeySampler::new(KeyDist::Uniform, 2, 1.0),
            writes_max: 0,
        })
    }

    fn stat(version: i32) -> Stat {
        Stat {
            version,
            ..Stat::default()
        }
    }

    /// Answer `op` (as if sent with xid 1) with `result`.
    fn answer(g: &mut Loadgen, op: &Op, result: OpResult) {
        let kind = match op {
            Op::GetData { .. } => Kind::CasRead,
            _ => Kind::Write,
        };
        g.outstanding.insert(1, (Time::ZERO, kind));
        g.completed(Time(5), 1, op, &result, Some(Zxid(1)));
        assert!(g.outstanding.is_empty());
    }

    #[test]
    fn cas_learns_versions_and_counts_won_and_lost_races() {
        let mut g = generator();
        // Unknown node: a create, which teaches version 0.
        let create = g.write_op(0, true);
        assert!(matches!(create, Op::Create { .. }), "{create:?}");
        let created = OpResult::Created {
            path: "/k0".into(),
            stat: None,
        };
        answer(&mut g, &create, created);
        let Op::SetData { version: 0, .. } = g.write_op(0, true) else {
            panic!("a cas on the created version")
        };
        // A won race: counted as cas and as a write; the new version is remembered.
        let cas = g.write_op(0, true);
        answer(&mut g, &cas, OpResult::Stat(stat(1)));
        assert_eq!((g.stats.cas_ok, g.stats.writes_acked), (1, 2));
        let Op::SetData { version: 1, .. } = g.write_op(0, true) else {
            panic!("a cas on the last seen version")
        };
        // A lost race: not refused, not an error; the version is forgotten, so the next
        // cas on the key reads first and then uses what it read.
        let cas = g.write_op(0, true);
        answer(&mut g, &cas, OpResult::Err(ZkError::BadVersion));
        assert_eq!((g.stats.cas_bad_version, g.stats.refused), (1, 0));
        assert_eq!(g.stats.last_error, None);
        let read = g.write_op(0, true);
        assert!(matches!(read, Op::GetData { .. }), "{read:?}");
        assert_eq!(g.stats.cas_reads, 1);
        let data = OpResult::Data {
            data: vec![],
            stat: stat(7),
        };
        answer(&mut g, &read, data);
        assert_eq!(g.cas_follow_ups, [0], "the cas follows its read");
        let Op::SetData { version: 7, .. } = g.write_op(0, true) else {
            panic!("a cas on the version read")
        };
    }

    #[test]
    fn plain_writes_stay_unconditional() {
        let mut g = generator();
        let create = g.write_op(1, false);
        assert!(matches!(create, Op::Create { .. }), "{create:?}");
        let created = OpResult::Created {
            path: "/k1".into(),
            stat: Some(stat(0)),
        };
        answer(&mut g, &create, created);
        let Op::SetData { version, .. } = g.write_op(1, false) else {
            panic!("setData once the node exists")
        };
        assert_eq!(version, Op::ANY_VERSION);
        // BadVersion of a plain write cannot happen; were it answered, it is refused.
        let plain = g.write_op(1, false);
        answer(&mut g, &plain, OpResult::Err(ZkError::BadVersion));
        assert_eq!((g.stats.refused, g.stats.cas_bad_version), (1, 0));
    }
}
