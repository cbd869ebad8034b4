//! The plain request generator that drives a ZooKeeper ensemble until the client library
//! lands: each generator sends reads and writes to random servers at a fixed interval,
//! keeps a bounded number outstanding, gives up on a request after a timeout, and counts
//! what was acknowledged. It is a client of the real protocol, not part of it.
//!
//! Invariant: at most `outstanding_max` requests in flight; every request ends as
//! acknowledged, refused (ConnectionLoss) or timed out — none is forgotten silently.

use proto::{Ctx, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};
use zab::{ClientOp, ClientResult, Msg, Note, Record};

const TICK: TimerId = TimerId(100);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadgenConfig {
    pub servers: Vec<ProcessId>,
    pub interval_ns: u64,
    pub outstanding_max: usize,
    pub timeout_ns: u64,
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
    pub refused: u64,
    pub timed_out: u64,
    /// Acknowledged latencies, ns (for the summary).
    pub ack_latency_ns: Vec<u64>,
    /// The local time of the last acknowledgement.
    pub last_ack: Option<Time>,
    pub last_zxid: Zxid,
}

pub struct Loadgen {
    config: LoadgenConfig,
    req_next: u64,
    outstanding: Vec<(u64, Time, bool)>,
    pub stats: LoadgenStats,
}

type Out = Outbox<Msg, Record, Note>;

impl Loadgen {
    pub fn new(config: LoadgenConfig) -> Loadgen {
        assert!(!config.servers.is_empty() && config.outstanding_max > 0 && config.keys > 0);
        Loadgen {
            config,
            req_next: 1,
            outstanding: Vec::new(),
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

    fn issue(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let read = ctx.below(1_000_000) < self.config.read_ppm as u64;
        if !read && !self.wants_writes() {
            return;
        }
        let key = ctx.below(self.config.keys);
        let server = self.config.servers[ctx.below(self.config.servers.len() as u64) as usize];
        let req_id = self.req_next;
        self.req_next += 1;
        let op = if read {
            ClientOp::Read { key }
        } else {
            ClientOp::Write { key, value: req_id }
        };
        self.outstanding.push((req_id, ctx.now, !read));
        out.send(server, Msg::ClientRequest { req_id, op });
    }
}

impl Process for Loadgen {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        let jitter = ctx.below(self.config.interval_ns.max(1));
        out.set_timer(TICK, ctx.now.plus_ns(jitter));
    }

    fn on_message(&mut self, ctx: &mut Ctx, _from: ProcessId, msg: Msg, _out: &mut Out) {
        let Msg::ClientReply {
            req_id,
            zxid,
            result,
        } = msg
        else {
            return;
        };
        let Some(i) = self.outstanding.iter().position(|o| o.0 == req_id) else {
            return;
        };
        let (_, sent, _) = self.outstanding.swap_remove(i);
        match result {
            ClientResult::Written => {
                self.stats.writes_acked += 1;
                self.stats.ack_latency_ns.push(ctx.now.since_ns(sent));
                self.stats.last_ack = Some(ctx.now);
                self.stats.last_zxid = self.stats.last_zxid.max(zxid);
            }
            ClientResult::Value(_) => self.stats.reads_ok += 1,
            ClientResult::ConnectionLoss => self.stats.refused += 1,
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _timer: TimerId, out: &mut Out) {
        let now = ctx.now;
        let timeout_ns = self.config.timeout_ns;
        let before = self.outstanding.len();
        self.outstanding.retain(|o| now.since_ns(o.1) < timeout_ns);
        self.stats.timed_out += (before - self.outstanding.len()) as u64;
        if self.outstanding.len() < self.config.outstanding_max {
            self.issue(ctx, out);
        }
        out.set_timer(TICK, now.plus_ns(self.config.interval_ns));
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}
}
