//! A hand-driven cluster of engines for their exact-output tests (raft's and paxos's),
//! under a tiny application that is not ZooKeeper (entries are numbers, the state is their
//! list): the test picks which message is delivered, which timer fires, which fsync
//! completes and who crashes, and reads the exact sends, records, events and host commands.
//! Test support only: no engine or server uses it.
//! Invariants: a node's `durable` records are a prefix of its `records`; messages in
//! flight are delivered oldest first per (from, to); a settle is bounded (10,000 steps).

use std::collections::BTreeMap;

use proto::{Ctx, Entropy, Output, ProcessId, Recovered, Time, TimerId, WriteId, Zxid};

use crate::{App, Command, Engine, EngineOut, Entry, Event, Host, Payload, ServerState, State};

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

impl<O> Host<NumApp, O> for Recorder {
    fn command(&mut self, cmd: Command<NumApp>, _engine_out: &mut O) {
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
pub struct Node<E: Engine<NumApp>> {
    pub engine: E,
    pub host: Recorder,
    rng: Counter,
    pub records: Vec<E::Record>,
    pub durable: usize,
    fsyncs: Vec<(WriteId, usize)>,
    pub timers: BTreeMap<TimerId, Time>,
    pub events: Vec<Event>,
    /// Sends since the test last took them.
    pub sent: Vec<(u32, E::Wire)>,
    /// Records appended since the test last took them.
    pub appended: Vec<E::Record>,
}

pub struct Cluster<E: Engine<NumApp>> {
    pub nodes: Vec<Node<E>>,
    /// Messages in flight: (from, to, message), in send order.
    pub net: Vec<(u32, u32, E::Wire)>,
    pub now: Time,
    /// Builds server `i`'s engine (first start and restarts).
    make: Box<dyn Fn(u32) -> E>,
}

impl<E: Engine<NumApp>> Cluster<E> {
    /// `n` servers built by `make`, all started on empty disks.
    pub fn build(n: u32, make: impl Fn(u32) -> E + 'static) -> Cluster<E> {
        let mut c = Cluster {
            nodes: Vec::new(),
            net: Vec::new(),
            now: Time::ZERO,
            make: Box::new(make),
        };
        for i in 0..n {
            c.nodes.push(c.fresh(i));
            c.start(i);
        }
        c
    }

    fn fresh(&self, i: u32) -> Node<E> {
        Node {
            engine: (self.make)(i),
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
        let durable: Vec<E::Record> = self.nodes[i as usize].records.clone();
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
        f: impl FnOnce(&mut E, &mut Ctx, &mut Recorder, &mut EngineOut<E, NumApp>) -> T,
    ) -> T {
        let now = self.now;
        let node = &mut self.nodes[i as usize];
        let mut out = EngineOut::<E, NumApp>::default();
        let mut ctx = Ctx {
            me: ProcessId(i),
            mono: now,
            wall: now,
            rng: &mut node.rng,
        };
        let t = f(&mut node.engine, &mut ctx, &mut node.host, &mut out);
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
                Output::SetWallTimer { .. } => panic!("engines set no wall-clock timers"),
            }
        }
        t
    }

    pub fn fire(&mut self, i: u32, timer: TimerId) {
        self.nodes[i as usize].timers.remove(&timer);
        self.with(i, |r, c, h, o| r.on_timer(c, timer, h, o));
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
    pub fn settle_with(&mut self, group: &[u32], keep: impl Fn(u32, u32, &E::Wire) -> bool) {
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

    /// Server `c` fires `election_timer` and settles with `group` until it leads (at most
    /// five tries).
    pub fn elect_by(&mut self, c: u32, group: &[u32], election_timer: TimerId) {
        for _ in 0..5 {
            self.fire(c, election_timer);
            self.settle(group);
            if self.engine(c).status().leading() {
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

    pub fn engine(&self, i: u32) -> &E {
        &self.nodes[i as usize].engine
    }

    /// Takes what `i` sent since the last call, as sent.
    pub fn sent_raw(&mut self, i: u32) -> Vec<(u32, E::Wire)> {
        std::mem::take(&mut self.nodes[i as usize].sent)
    }

    /// Takes what `i` appended since the last call.
    pub fn appended(&mut self, i: u32) -> Vec<E::Record> {
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
            self.sent_raw(i);
            self.appended(i);
            self.seen(i);
            self.events(i);
        }
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.now = self.now.plus_ns(ms * proto::NS_PER_MS);
    }
}
