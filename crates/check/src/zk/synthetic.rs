//! A generator of consistent simulated ZooKeeper histories, for benchmarks and tests: a
//! leader tree that prepares and applies every write with realistic zxids (epoch and
//! counter, occasional new epochs, session creations consuming zxids the history never
//! shows), three servers that apply the committed log lazily (so reads lag), and sessions
//! that issue one request at a time to their server, move to another server on a
//! connection loss (catching it up to what they have seen, re-registering their watches
//! as ZooKeeper's `SetWatches` does), and end by closing or by a server-side expiry.
//! Watch events are delivered on each session's ordered channel, before any later reply.
//!
//! Everything is recorded as a simulator would: op records with reply zxids, watch
//! events, session ends, server closes, in time order. The history is consistent by
//! construction: every write's interval holds its commit instant and commit instants
//! increase with zxids; a read is answered from its server's applied state, which is at
//! least what its session has seen; a sync catches its server up to the leader; an info
//! (connection-lost) write never takes effect.
//!
//! Deterministic: SplitMix64 seeded by `seed`, no other randomness.

use std::collections::BTreeSet;

use datatree::{DataTree, Effect, Txn, TxnHeader};
use proto::history::{Event, OpRecord, Outcome, SessionEnd};
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, Op, OpResult, SessionId, ZkError};
use proto::{Epoch, ProcessId, Zxid};

/// SplitMix64 (Steele, Lea, Flood): a tiny, good-enough deterministic generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        proto::mix64(self.0)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0);
        self.next() % n
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

const SERVERS: usize = 3;
const TOP_KEYS: u64 = 16;
const CHILD_KEYS: u64 = 6;
const QUEUE: &str = "/q";
/// The queue's sequential children stay below this many.
const QUEUE_MAX: usize = 48;
/// Upper bounds of the random delays, ns.
const STEP_NS_MAX: u64 = 3_000;
const INVOKE_AHEAD_NS_MAX: u64 = 3_000;
const REPLY_NS_MAX: u64 = 12_000;
/// Per-mille shares of the op kinds (the rest are writes).
const CLOSE_PER_MILLE: u64 = 2;
const EXPIRE_PER_MILLE: u64 = 2;
const LOST_PER_MILLE: u64 = 15;
const SYNC_PER_MILLE: u64 = 30;
const READ_PER_MILLE: u64 = 500;

#[derive(Default)]
struct Watches {
    data: BTreeSet<String>,
    exist: BTreeSet<String>,
    child: BTreeSet<String>,
}

struct Server {
    tree: DataTree,
    /// Log entries applied.
    applied: usize,
}

struct Session {
    id: SessionId,
    process: ProcessId,
    server: usize,
    xid: u64,
    last_seen: Zxid,
    /// Completion of the last request: the next is invoked after it.
    free_at: u64,
    /// Last delivery on the session's channel (replies and events share it).
    channel: u64,
    watches: Watches,
}

struct Generator {
    rng: SplitMix64,
    leader: DataTree,
    log: Vec<Txn>,
    epoch: u32,
    counter: u32,
    servers: Vec<Server>,
    sessions: Vec<Session>,
    next_session: u64,
    now: u64,
    /// (time, sequence, event), sorted at the end.
    out: Vec<(u64, u64, Event)>,
}

/// A consistent history of `ops` client operations by `sessions` concurrent sessions (see
/// the module docs), deterministic in `seed`.
pub fn synthetic_history(ops: usize, sessions: usize, seed: u64) -> Vec<Event> {
    assert!(sessions > 0, "a history needs a session");
    let mut g = Generator {
        rng: SplitMix64(seed),
        leader: DataTree::new(),
        log: Vec::new(),
        epoch: 1,
        counter: 0,
        servers: (0..SERVERS)
            .map(|_| Server {
                tree: DataTree::new(),
                applied: 0,
            })
            .collect(),
        sessions: Vec::with_capacity(sessions),
        next_session: 0x1_0000_0000,
        now: 1_000,
        out: Vec::with_capacity(ops + ops / 4),
    };
    for slot in 0..sessions {
        let session = g.new_session(slot);
        g.sessions.push(session);
    }
    for _op in 0..ops {
        g.one_op();
    }
    let mut out = std::mem::take(&mut g.out);
    out.sort_by_key(|&(time, seq, _)| (time, seq));
    out.into_iter().map(|(_, _, e)| e).collect()
}

impl Generator {
    fn push(&mut self, time: u64, event: Event) {
        let seq = self.out.len() as u64;
        self.out.push((time, seq, event));
    }

    fn next_zxid(&mut self) -> Zxid {
        if self.rng.chance(1) {
            self.epoch += 1;
            self.counter = 0;
        }
        self.counter += 1;
        Zxid::new(Epoch(self.epoch), self.counter)
    }

    /// The leader prepares and applies `op`; returns the log index and the result.
    fn propose(&mut self, session: SessionId, op: &Op) -> (usize, OpResult) {
        let header = TxnHeader {
            session,
            zxid: self.next_zxid(),
            time_ms: (self.now / 1_000_000) as i64,
        };
        let txn = self.leader.prepare(header, op);
        let result = self.leader.apply(&txn);
        self.log.push(txn);
        (self.log.len() - 1, result)
    }

    /// Deliver on session `s`'s channel at `time` or later; returns the delivery time.
    fn deliver(&mut self, s: usize, time: u64) -> u64 {
        let session = &mut self.sessions[s];
        let at = time.max(session.channel + 1);
        session.channel = at;
        at
    }

    fn watch_event(&mut self, s: usize, kind: EventType, path: &str, zxid: Zxid) {
        let time = self.deliver(s, self.now);
        let session = &self.sessions[s];
        let event = Event::Watch {
            process: session.process,
            session: session.id,
            time_ns: time,
            watch: WatchEvent {
                kind,
                path: path.to_owned(),
                zxid,
            },
        };
        self.push(time, event);
    }

    /// Server `server` applies the log up to (excluding) index `upto`, firing the watches
    /// of the sessions connected to it.
    fn catch_up(&mut self, server: usize, upto: usize) {
        let upto = upto.min(self.log.len());
        while self.servers[server].applied < upto {
            let index = self.servers[server].applied;
            let txn = &self.log[index];
            self.servers[server].tree.apply(txn);
            self.servers[server].applied += 1;
            let zxid = txn.header.zxid;
            let effects = txn.body.effects();
            for s in 0..self.sessions.len() {
                if self.sessions[s].server == server {
                    for effect in &effects {
                        self.fire(s, effect, zxid);
                    }
                }
            }
        }
    }

    /// ZooKeeper's trigger: the effect's own path for data/exist (and child on delete)
    /// watches, the parent's child watches for creates and deletes.
    fn fire(&mut self, s: usize, effect: &Effect, zxid: Zxid) {
        let (path, kind) = match effect {
            Effect::NodeCreated(p) => (p, EventType::NodeCreated),
            Effect::NodeDeleted(p) => (p, EventType::NodeDeleted),
            Effect::NodeDataChanged(p) => (p, EventType::NodeDataChanged),
        };
        let w = &mut self.sessions[s].watches;
        let mut own = w.data.remove(path.as_str()) | w.exist.remove(path.as_str());
        if kind == EventType::NodeDeleted {
            own |= w.child.remove(path.as_str());
        }
        let parent = datatree::path::parent_of(path).0.to_owned();
        let parent_fired = kind != EventType::NodeDataChanged && w.child.remove(&parent);
        if own {
            self.watch_event(s, kind, path, zxid);
        }
        if parent_fired {
            self.watch_event(s, EventType::NodeChildrenChanged, &parent, zxid);
        }
    }

    /// A new session in slot `slot` (a CreateSession txn the history never shows).
    fn new_session(&mut self, slot: usize) -> Session {
        let id = SessionId(self.next_session);
        self.next_session += 1;
        let (index, _) = self.propose(id, &Op::CreateSession { timeout_ms: 4_000 });
        let server = self.rng.below(SERVERS as u64) as usize;
        let session = Session {
            id,
            process: ProcessId(100 + slot as u32),
            server,
            xid: 0,
            last_seen: Zxid::ZERO,
            free_at: self.now,
            channel: self.now,
            watches: Watches::default(),
        };
        self.catch_up(server, index + 1);
        session
    }

    /// Session `s` reconnects to another server, which first catches up to what the session
    /// has seen; its watches are re-registered (`SetWatches`).
    fn failover(&mut self, s: usize) {
        let from = self.sessions[s].server;
        let to = (from + 1 + self.rng.below(SERVERS as u64 - 1) as usize) % SERVERS;
        let seen = self.sessions[s].last_seen;
        let needed = self.log.partition_point(|t| t.header.zxid <= seen);
        // The new server catches up before the session attaches (ZooKeeper refuses a client
        // that has seen more than the server): applying what the session has seen must not
        // fire its watches there again.
        self.catch_up(to, needed);
        self.sessions[s].server = to;
        let tree = &self.servers[to].tree;
        let applied = tree.last_zxid();
        let w = std::mem::take(&mut self.sessions[s].watches);
        let mut kept = Watches::default();
        let mut fired = Vec::new();
        for path in w.data {
            match tree.stat(&path) {
                None => fired.push((EventType::NodeDeleted, path)),
                Some(st) if st.mzxid > seen => fired.push((EventType::NodeDataChanged, path)),
                Some(_) => {
                    kept.data.insert(path);
                }
            }
        }
        for path in w.exist {
            if tree.exists(&path) {
                fired.push((EventType::NodeCreated, path));
            } else {
                kept.exist.insert(path);
            }
        }
        for path in w.child {
            match tree.stat(&path) {
                None => fired.push((EventType::NodeDeleted, path)),
                Some(st) if st.pzxid > seen => {
                    fired.push((EventType::NodeChildrenChanged, path));
                }
                Some(_) => {
                    kept.child.insert(path);
                }
            }
        }
        self.sessions[s].watches = kept;
        for (kind, path) in fired {
            self.watch_event(s, kind, &path, applied);
        }
    }

    fn random_path(&mut self) -> String {
        if self.rng.chance(100) {
            return QUEUE.to_owned();
        }
        let key = self.rng.below(TOP_KEYS);
        self.path_under(key)
    }

    /// `/k<key>` or one of its children.
    fn path_under(&mut self, key: u64) -> String {
        if self.rng.chance(550) {
            format!("/k{key}")
        } else {
            format!("/k{key}/c{}", self.rng.below(CHILD_KEYS))
        }
    }

    fn random_data(&mut self) -> Vec<u8> {
        format!("d{}", self.rng.below(1000)).into_bytes()
    }

    /// A version for a conditional op: usually any, sometimes the current, rarely wrong.
    fn random_version(&mut self, path: &str) -> i32 {
        let current = self.leader.stat(path).map_or(0, |s| s.version);
        match self.rng.below(10) {
            0..=5 => Op::ANY_VERSION,
            6..=8 => current,
            _ => current + 1,
        }
    }

    fn random_read(&mut self) -> Op {
        let path = self.random_path();
        let watch = self.rng.chance(200);
        match self.rng.below(4) {
            0 | 1 => Op::GetData { path, watch },
            2 => Op::Exists { path, watch },
            _ => Op::GetChildren { path, watch },
        }
    }

    /// A create, setData, delete or check; with `key`, only inside `/k<key>` (as a multi's
    /// parts are: a multi's znodes are usually related).
    fn random_single_write(&mut self, key: Option<u64>) -> Op {
        let path = match key {
            Some(key) => self.path_under(key),
            None => self.random_path(),
        };
        match self.rng.below(100) {
            0..=24 => Op::Create {
                path,
                data: self.random_data(),
                mode: CreateMode::Persistent,
            },
            25..=28 => Op::Create {
                path,
                data: self.random_data(),
                mode: CreateMode::Ephemeral,
            },
            29..=32 => Op::Create {
                path: format!("/k{}/e-", key.unwrap_or_else(|| self.rng.below(TOP_KEYS))),
                data: self.random_data(),
                mode: CreateMode::EphemeralSequential,
            },
            33..=41 if key.is_none() => self.queue_op(),
            33..=41 => Op::Check {
                version: Op::ANY_VERSION,
                path,
            },
            42..=66 => Op::SetData {
                data: self.random_data(),
                version: self.random_version(&path),
                path,
            },
            67..=84 => Op::Delete {
                version: self.random_version(&path),
                path,
            },
            _ => Op::Check {
                version: self.random_version(&path),
                path,
            },
        }
    }

    /// Add to the queue while it is short, else take its lowest item.
    fn queue_op(&mut self) -> Op {
        let items = self.leader.children(QUEUE).unwrap_or_default();
        match items.first() {
            Some(first) if items.len() >= QUEUE_MAX || self.rng.chance(400) => Op::Delete {
                path: format!("{QUEUE}/{first}"),
                version: Op::ANY_VERSION,
            },
            _ => Op::Create {
                path: format!("{QUEUE}/item-"),
                data: self.random_data(),
                mode: CreateMode::PersistentSequential,
            },
        }
    }

    fn random_write(&mut self) -> Op {
        if self.rng.chance(120) {
            let n = 2 + self.rng.below(2);
            let key = self.rng.below(TOP_KEYS);
            Op::Multi(
                (0..n)
                    .map(|_| self.random_single_write(Some(key)))
                    .collect(),
            )
        } else {
            self.random_single_write(None)
        }
    }

    /// Record a completed op of session `s`.
    fn record(&mut self, s: usize, op: Op, invoke: u64, result: OpResult, zxid: Option<Zxid>) {
        let exec = self.now;
        let delay = 1 + self.rng.below(REPLY_NS_MAX);
        let complete = self.deliver(s, exec + delay);
        let session = &mut self.sessions[s];
        session.xid += 1;
        session.free_at = complete;
        if let Some(z) = zxid {
            session.last_seen = session.last_seen.max(z);
        }
        let record = OpRecord {
            process: session.process,
            session: session.id,
            xid: session.xid,
            op,
            invoke_ns: invoke,
            complete_ns: Some(complete),
            outcome: Outcome::of(&result, zxid),
            result: Some(result),
            zxid,
        };
        self.push(complete, Event::Op(record));
    }

    fn register_watch(&mut self, s: usize, op: &Op, result: &OpResult) {
        let w = &mut self.sessions[s].watches;
        match (op, result) {
            (Op::GetData { path, watch: true }, OpResult::Data { .. })
            | (Op::Exists { path, watch: true }, OpResult::Exists(Some(_))) => {
                w.data.insert(path.clone());
            }
            (Op::Exists { path, watch: true }, OpResult::Exists(None)) => {
                w.exist.insert(path.clone());
            }
            (Op::GetChildren { path, watch: true }, OpResult::Children(_)) => {
                w.child.insert(path.clone());
            }
            _ => {}
        }
    }

    /// End session `s` (already closed in the tree) and start a new one in its slot.
    fn end_session(&mut self, s: usize, end: SessionEnd, time: u64) {
        let time = self.deliver(s, time);
        let session = &self.sessions[s];
        let event = Event::SessionEnd {
            process: session.process,
            session: session.id,
            time_ns: time,
            end,
        };
        self.push(time, event);
        let mut replacement = self.new_session(s);
        replacement.free_at = time;
        replacement.channel = time;
        self.sessions[s] = replacement;
    }

    fn one_op(&mut self) {
        self.now += 1 + self.rng.below(STEP_NS_MAX);
        for server in 0..SERVERS {
            if self.rng.chance(350) {
                let upto = self.servers[server].applied + 1 + self.rng.below(4) as usize;
                self.catch_up(server, upto);
            }
        }
        let s = self.rng.below(self.sessions.len() as u64) as usize;
        let roll = self.rng.below(1000);
        if roll < EXPIRE_PER_MILLE {
            self.expire(s);
            return;
        }
        self.now = self.now.max(self.sessions[s].free_at + 1);
        let earliest =
            (self.sessions[s].free_at + 1).max(self.now.saturating_sub(INVOKE_AHEAD_NS_MAX));
        let invoke = earliest + self.rng.below(self.now - earliest + 1);
        let server = self.sessions[s].server;
        let roll = roll - EXPIRE_PER_MILLE;
        if roll < CLOSE_PER_MILLE {
            let (index, result) = self.propose(self.sessions[s].id, &Op::CloseSession);
            self.catch_up(server, index + 1);
            let zxid = self.log[index].header.zxid;
            self.record(s, Op::CloseSession, invoke, result, Some(zxid));
            let closed_at = self.sessions[s].free_at + 1;
            self.end_session(s, SessionEnd::Closed, closed_at);
        } else if roll < CLOSE_PER_MILLE + LOST_PER_MILLE {
            let op = if self.rng.chance(500) {
                self.random_read()
            } else {
                self.random_write()
            };
            self.record(s, op, invoke, OpResult::Err(ZkError::ConnectionLoss), None);
            self.failover(s);
        } else if roll < CLOSE_PER_MILLE + LOST_PER_MILLE + SYNC_PER_MILLE {
            self.catch_up(server, self.log.len());
            let path = self.random_path();
            let zxid = self.servers[server].tree.last_zxid();
            self.record(
                s,
                Op::Sync { path: path.clone() },
                invoke,
                OpResult::Synced { path },
                Some(zxid),
            );
        } else if roll < CLOSE_PER_MILLE + LOST_PER_MILLE + SYNC_PER_MILLE + READ_PER_MILLE {
            let op = self.random_read();
            let tree = &self.servers[server].tree;
            debug_assert!(tree.last_zxid() >= self.sessions[s].last_seen);
            let result = tree.read(&op);
            let zxid = tree.last_zxid();
            self.register_watch(s, &op, &result);
            self.record(s, op, invoke, result, Some(zxid));
        } else {
            let op = self.random_write();
            let (index, result) = self.propose(self.sessions[s].id, &op);
            self.catch_up(server, index + 1);
            let zxid = self.log[index].header.zxid;
            self.record(s, op, invoke, result, Some(zxid));
        }
    }

    /// The servers expire session `s` (idle by now): a CloseSession txn no client asked for.
    fn expire(&mut self, s: usize) {
        self.now = self.now.max(self.sessions[s].free_at + 1);
        let id = self.sessions[s].id;
        let (index, _) = self.propose(id, &Op::CloseSession);
        let zxid = self.log[index].header.zxid;
        let now = self.now;
        self.push(
            now,
            Event::ServerClose {
                session: id,
                zxid,
                time_ns: now,
            },
        );
        self.sessions[s].watches = Watches::default();
        let delay = 1 + self.rng.below(REPLY_NS_MAX);
        self.end_session(s, SessionEnd::Expired, now + delay);
    }
}
