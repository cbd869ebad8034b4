//! A hand-driven cluster of Raft engines under a tiny application that is not ZooKeeper
//! (entries are numbers, the state is their list): the test picks which message is
//! delivered, which timer fires, which fsync completes and who crashes, and asserts the
//! exact sends, records, events and host commands.

#![allow(dead_code)]

use std::collections::BTreeMap;

use proto::{Ctx, Entropy, Outbox, Output, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};
use raft::{Bugs, Config, Raft, Record, TIMER_ELECTION, Wire};
use replication::{App, Command, Engine, Entry, Event, Host, Payload, ServerState, State};

/// `w` with its link ids and acknowledgements zeroed: the engine tests compare the
/// protocol's content, `tests/link.rs` the link fields themselves.
pub fn unlinked(w: W) -> W {
    match w {
        Wire::AppendEntries {
            term,
            prev_index,
            prev_term,
            entries,
            leader_commit,
            seq,
            ..
        } => Wire::AppendEntries {
            term,
            prev_index,
            prev_term,
            entries,
            leader_commit,
            seq,
            link: 0,
            acked: 0,
        },
        Wire::AppendReply {
            term,
            success,
            match_index,
            seq,
            ..
        } => Wire::AppendReply {
            term,
            success,
            match_index,
            seq,
            link: 0,
            acked: 0,
        },
        Wire::ReadIndex {
            term, seq, token, ..
        } => Wire::ReadIndex {
            term,
            link: 0,
            seq,
            token,
        },
        Wire::ReadDone {
            term,
            seq,
            index,
            token,
            ..
        } => Wire::ReadDone {
            term,
            link: 0,
            seq,
            index,
            token,
        },
        Wire::App { term, seq, msg, .. } => Wire::App {
            term,
            link: 0,
            seq,
            msg,
        },
        other => other,
    }
}

/// An entry: a number at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Num {
    pub zxid: Zxid,
    pub value: u64,
}

impl Entry for Num {
    fn zxid(&self) -> Zxid {
        self.zxid
    }
    fn digest(&self) -> u64 {
        proto::hash_words(&[self.zxid.0, self.value])
    }
    fn digest_ok(&self) -> bool {
        true
    }
    fn size_bytes(&self) -> u32 {
        16
    }
}

/// The applied numbers, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nums(pub Vec<u64>);

impl State for Nums {
    fn size_bytes(&self) -> usize {
        8 * self.0.len()
    }
}

/// A barrier token, message or heartbeat payload: a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tag(pub u64);

impl Payload for Tag {
    fn size_bytes(&self) -> u32 {
        8
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumApp;

impl App for NumApp {
    type Entry = Num;
    type State = Nums;
    type Msg = Tag;
    type Heartbeat = Tag;
}

pub type W = Wire<NumApp>;
pub type R = Record<NumApp>;
pub type Out = Outbox<W, R, Event>;

/// What a host saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Deliver(Zxid, u64),
    Restore(Zxid),
    Status(ServerState, Option<u32>, bool),
    Barrier(u64),
    Message(u32, u64),
    Heartbeat(u32),
    Tick,
}

#[derive(Default)]
pub struct Recorder {
    pub state: Nums,
    pub seen: Vec<Seen>,
}

impl Host<NumApp, Out> for Recorder {
    fn command(&mut self, cmd: Command<NumApp>, _engine_out: &mut Out) {
        let seen = match cmd {
            Command::Deliver(e) => {
                self.state.0.push(e.value);
                Seen::Deliver(e.zxid, e.value)
            }
            Command::Restore(s) => {
                self.state = s.state.clone();
                Seen::Restore(s.zxid)
            }
            Command::Status(s) => Seen::Status(s.state, s.leader.map(|p| p.0), s.serving),
            Command::BarrierDone(t) => Seen::Barrier(t.0),
            Command::Message { from, msg } => Seen::Message(from.0, msg.0),
            Command::Heartbeat { from, .. } => Seen::Heartbeat(from.0),
            Command::LeaderTick => Seen::Tick,
        };
        self.seen.push(seen);
    }
    fn state(&self) -> &Nums {
        &self.state
    }
    fn heartbeat(&mut self) -> Tag {
        Tag(7)
    }
}

pub struct Counter(u64);

impl Entropy for Counter {
    fn next_u64(&mut self) -> u64 {
        self.0 += 1;
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// One server: its engine, its host, its disk (appended records, how many are durable,
/// fsyncs in flight with the record count each covers), timers, and what it emitted.
pub struct Node {
    pub raft: Raft<NumApp>,
    pub host: Recorder,
    rng: Counter,
    pub records: Vec<R>,
    pub durable: usize,
    fsyncs: Vec<(WriteId, usize)>,
    pub timers: BTreeMap<TimerId, Time>,
    pub events: Vec<Event>,
    /// Sends since the test last took them.
    pub sent: Vec<(u32, W)>,
    /// Records appended since the test last took them.
    pub appended: Vec<R>,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    /// Messages in flight: (from, to, message), in send order.
    pub net: Vec<(u32, u32, W)>,
    pub now: Time,
    pub config: Config,
}

pub fn config(me: u32, n: u32, bugs: Bugs) -> Config {
    let mut c = Config::new(ProcessId(me), (0..n).map(ProcessId).collect());
    c.bugs = bugs;
    c
}

impl Cluster {
    /// `n` servers, all started on empty disks.
    pub fn new(n: u32, bugs: Bugs) -> Cluster {
        Cluster::with_config(config(0, n, bugs))
    }

    /// Servers configured as `template` (but for `me`), all started on empty disks.
    pub fn with_config(template: Config) -> Cluster {
        let mut c = Cluster {
            nodes: Vec::new(),
            net: Vec::new(),
            now: Time::ZERO,
            config: template.clone(),
        };
        for i in 0..template.voters.len() as u32 {
            c.nodes.push(c.fresh(i));
            c.start(i);
        }
        c
    }

    fn fresh(&self, i: u32) -> Node {
        let mut cfg = self.config.clone();
        cfg.me = ProcessId(i);
        Node {
            raft: Raft::new(cfg),
            host: Recorder::default(),
            rng: Counter(u64::from(i) * 1000),
            records: Vec::new(),
            durable: 0,
            fsyncs: Vec::new(),
            timers: BTreeMap::new(),
            events: Vec::new(),
            sent: Vec::new(),
            appended: Vec::new(),
        }
    }

    fn start(&mut self, i: u32) {
        let durable: Vec<R> = self.nodes[i as usize].records.clone();
        self.with(i, |r, c, h, o| {
            let disk = Recovered {
                records: &durable,
                torn_tail: true,
            };
            r.on_start(c, disk, h, o)
        });
    }

    /// Runs one engine call on server `i` and files its outputs.
    pub fn with<T>(
        &mut self,
        i: u32,
        f: impl FnOnce(&mut Raft<NumApp>, &mut Ctx, &mut Recorder, &mut Out) -> T,
    ) -> T {
        let now = self.now;
        let node = &mut self.nodes[i as usize];
        let mut out = Out::default();
        let mut ctx = Ctx {
            me: ProcessId(i),
            mono: now,
            wall: now,
            rng: &mut node.rng,
        };
        let t = f(&mut node.raft, &mut ctx, &mut node.host, &mut out);
        for o in out.drain() {
            match o {
                Output::Send { to, msg } => {
                    node.sent.push((to.0, msg.clone()));
                    self.net.push((i, to.0, msg));
                }
                Output::SetTimer { timer, at } => {
                    node.timers.insert(timer, at);
                }
                Output::CancelTimer { timer } => {
                    node.timers.remove(&timer);
                }
                Output::Append { record } => {
                    node.appended.push(record.clone());
                    node.records.push(record);
                }
                Output::Fsync { write } => node.fsyncs.push((write, node.records.len())),
                Output::Note(e) => node.events.push(e),
                Output::SetWallTimer { .. } => panic!("Raft sets no wall-clock timers"),
            }
        }
        t
    }

    pub fn fire(&mut self, i: u32, timer: TimerId) {
        self.nodes[i as usize].timers.remove(&timer);
        self.with(i, |r, c, h, o| r.on_timer(c, timer, h, o));
    }

    /// Fires the election timer of `i`.
    pub fn timeout(&mut self, i: u32) {
        self.fire(i, TIMER_ELECTION);
    }

    /// Completes the oldest fsync of `i`; false if none is in flight.
    pub fn fsync(&mut self, i: u32) -> bool {
        let node = &mut self.nodes[i as usize];
        if node.fsyncs.is_empty() {
            return false;
        }
        let (w, covers) = node.fsyncs.remove(0);
        node.durable = node.durable.max(covers);
        self.with(i, |r, c, h, o| r.on_disk_done(c, w, h, o));
        true
    }

    /// Completes every fsync of `i`, including those issued meanwhile.
    pub fn fsync_all(&mut self, i: u32) {
        while self.fsync(i) {}
    }

    /// Delivers the oldest message from `from` to `to`; false if there is none.
    pub fn deliver(&mut self, from: u32, to: u32) -> bool {
        let Some(k) = self.net.iter().position(|(f, t, _)| *f == from && *t == to) else {
            return false;
        };
        let (_, _, msg) = self.net.remove(k);
        self.with(to, |r, c, h, o| r.on_message(c, ProcessId(from), msg, h, o));
        true
    }

    /// Drops every message in flight from `from` (to anyone).
    pub fn drop_from(&mut self, from: u32) {
        self.net.retain(|(f, _, _)| *f != from);
    }

    /// Drops every message in flight from `from` to `to`.
    pub fn drop_between(&mut self, from: u32, to: u32) {
        self.net.retain(|(f, t, _)| !(*f == from && *t == to));
    }

    /// Completes fsyncs and delivers messages among `group` (oldest first) until nothing is
    /// left to do among them; messages to or from others stay in flight. `keep` may drop a
    /// message instead of delivering it (false: dropped).
    pub fn settle_with(&mut self, group: &[u32], keep: impl Fn(u32, u32, &W) -> bool) {
        for _ in 0..10_000 {
            if let Some(&i) = group
                .iter()
                .find(|i| !self.nodes[**i as usize].fsyncs.is_empty())
            {
                self.fsync(i);
                continue;
            }
            let Some(k) = self
                .net
                .iter()
                .position(|(f, t, _)| group.contains(f) && group.contains(t))
            else {
                return;
            };
            let (from, to, msg) = self.net.remove(k);
            if keep(from, to, &msg) {
                self.with(to, |r, c, h, o| r.on_message(c, ProcessId(from), msg, h, o));
            }
        }
        panic!("the group never settled");
    }

    pub fn settle(&mut self, group: &[u32]) {
        self.settle_with(group, |_, _, _| true);
    }

    /// Server `c` stands in elections (settling with `group`) until it leads.
    pub fn elect(&mut self, c: u32, group: &[u32]) {
        for _ in 0..5 {
            self.timeout(c);
            self.settle(group);
            if self.nodes[c as usize].raft.is_leader() {
                return;
            }
        }
        panic!("p{c} never won");
    }

    /// Server `c` stands in elections among `group` until it leads, exchanging only votes:
    /// every other message among the group (its first AppendEntries) is dropped.
    pub fn win(&mut self, c: u32, group: &[u32]) {
        for _ in 0..5 {
            self.timeout(c);
            let vote = |_: u32, _: u32, m: &W| {
                matches!(m, Wire::RequestVote { .. } | Wire::VoteReply { .. })
            };
            self.settle_with(group, vote);
            if self.nodes[c as usize].raft.is_leader() {
                return;
            }
        }
        panic!("p{c} never won");
    }

    /// Crashes `i` (its unsynced records are lost) and restarts it on its durable ones.
    pub fn crash(&mut self, i: u32) {
        let node = &self.nodes[i as usize];
        let durable = node.records[..node.durable].to_vec();
        let mut fresh = self.fresh(i);
        fresh.records = durable;
        fresh.durable = fresh.records.len();
        self.nodes[i as usize] = fresh;
        self.start(i);
    }

    /// Leader `i` proposes `value`; returns its position.
    pub fn propose(&mut self, i: u32, value: u64) -> Zxid {
        let zxid = self
            .with(i, |r, c, h, o| r.next_position(c, h, o))
            .expect("an established leader takes proposals");
        self.with(i, |r, _, h, o| r.propose(Num { zxid, value }, h, o));
        zxid
    }

    pub fn raft(&self, i: u32) -> &Raft<NumApp> {
        &self.nodes[i as usize].raft
    }

    /// Takes what `i` sent since the last call.
    pub fn sent(&mut self, i: u32) -> Vec<(u32, W)> {
        let sent = std::mem::take(&mut self.nodes[i as usize].sent);
        sent.into_iter().map(|(to, w)| (to, unlinked(w))).collect()
    }

    /// [`Cluster::sent`] with the link fields as they are (`tests/link.rs`).
    pub fn sent_raw(&mut self, i: u32) -> Vec<(u32, W)> {
        std::mem::take(&mut self.nodes[i as usize].sent)
    }

    /// Takes what `i` appended since the last call.
    pub fn appended(&mut self, i: u32) -> Vec<R> {
        std::mem::take(&mut self.nodes[i as usize].appended)
    }

    /// Takes what `i`'s host saw since the last call.
    pub fn seen(&mut self, i: u32) -> Vec<Seen> {
        std::mem::take(&mut self.nodes[i as usize].host.seen)
    }

    /// Takes `i`'s events since the last call.
    pub fn events(&mut self, i: u32) -> Vec<Event> {
        std::mem::take(&mut self.nodes[i as usize].events)
    }

    /// Forgets everything every server emitted so far.
    pub fn clear(&mut self) {
        for i in 0..self.nodes.len() as u32 {
            self.sent(i);
            self.appended(i);
            self.seen(i);
            self.events(i);
        }
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.now = self.now.plus_ns(ms * proto::NS_PER_MS);
    }
}
