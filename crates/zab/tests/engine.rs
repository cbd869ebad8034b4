//! The ZAB engine on its own, under an application that is not ZooKeeper: entries are
//! numbers, the state is their list, and a recording host keeps every command. A single
//! voter elects itself, establishes epoch 1, and then delivers each proposal once its own
//! fsync completes; barriers complete once everything proposed before them is delivered;
//! the host hears each status change once, in the order the engine went through them.

use proto::{Ctx, Entropy, Epoch, Outbox, Output, ProcessId, Recovered, Time, TimerId, Zxid};
use replication::{App, Command, Engine, Entry, Event, Host, Payload, ServerState, State};
use zab::{Config, Record, Wire, Zab};

/// An entry: a number at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Num {
    zxid: Zxid,
    value: u64,
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
struct Nums(Vec<u64>);

impl State for Nums {
    fn size_bytes(&self) -> usize {
        8 * self.0.len()
    }
}

/// A barrier token or message: a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Tag(u64);

impl Payload for Tag {
    fn size_bytes(&self) -> u32 {
        8
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct NumApp;

impl App for NumApp {
    type Entry = Num;
    type State = Nums;
    type Msg = Tag;
    type Heartbeat = Tag;
}

type Out = Outbox<Wire<NumApp>, Record<NumApp>, Event>;

/// What the host saw, in order.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Deliver(Zxid, u64),
    Restore(Zxid),
    Status(ServerState, bool),
    Barrier(u64),
    Tick,
}

#[derive(Default)]
struct Recorder {
    state: Nums,
    seen: Vec<Seen>,
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
            Command::Status(s) => Seen::Status(s.state, s.serving),
            Command::BarrierDone(t) => Seen::Barrier(t.0),
            Command::LeaderTick => Seen::Tick,
            other => panic!("a single voter has no peers: {other:?}"),
        };
        self.seen.push(seen);
    }
    fn state(&self) -> &Nums {
        &self.state
    }
    fn heartbeat(&mut self) -> Tag {
        Tag(0)
    }
}

struct Counter(u64);

impl Entropy for Counter {
    fn next_u64(&mut self) -> u64 {
        self.0 += 1;
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

const ME: ProcessId = ProcessId(0);

/// Drives one engine: feeds timers and fsync completions as they come due.
struct One {
    zab: Zab<NumApp>,
    host: Recorder,
    rng: Counter,
    now: Time,
    timers: Vec<(TimerId, Time)>,
    fsyncs: Vec<proto::WriteId>,
    events: Vec<Event>,
}

impl One {
    fn new() -> One {
        One {
            zab: Zab::new(Config::new(ME, vec![ME], vec![])),
            host: Recorder::default(),
            rng: Counter(0),
            now: Time::ZERO,
            timers: Vec::new(),
            fsyncs: Vec::new(),
            events: Vec::new(),
        }
    }

    fn take(&mut self, out: &mut Out) {
        for o in out.drain() {
            match o {
                Output::SetTimer { timer, at } => {
                    self.timers.retain(|(t, _)| *t != timer);
                    self.timers.push((timer, at));
                }
                Output::CancelTimer { timer } => self.timers.retain(|(t, _)| *t != timer),
                Output::Fsync { write } => self.fsyncs.push(write),
                Output::Note(e) => self.events.push(e),
                Output::Send { .. } => panic!("a single voter sends nothing"),
                Output::Append { .. } | Output::SetWallTimer { .. } => {}
            }
        }
    }

    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Zab<NumApp>, &mut Ctx, &mut Recorder, &mut Out) -> T,
    ) -> T {
        let mut out = Out::default();
        let mut ctx = Ctx {
            me: ME,
            mono: self.now,
            wall: self.now,
            rng: &mut self.rng,
        };
        let t = f(&mut self.zab, &mut ctx, &mut self.host, &mut out);
        self.take(&mut out);
        t
    }

    /// Completes pending fsyncs and fires due timers until nothing is left to do before
    /// `until`.
    fn settle(&mut self, until: Time) {
        for _ in 0..1000 {
            if let Some(w) = self.fsyncs.first().copied() {
                self.fsyncs.remove(0);
                self.with(|z, c, h, o| z.on_disk_done(c, w, h, o));
                continue;
            }
            let Some(&(timer, at)) = self.timers.iter().min_by_key(|(_, at)| *at) else {
                return;
            };
            if at > until {
                return;
            }
            self.timers.retain(|(t, _)| *t != timer);
            self.now = self.now.max(at);
            self.with(|z, c, h, o| z.on_timer(c, timer, h, o));
        }
        panic!("the engine never settled");
    }

    fn start(&mut self) {
        self.with(|z, c, h, o| {
            let disk = Recovered {
                records: &[],
                torn_tail: false,
            };
            z.on_start(c, disk, h, o)
        });
        // The election decides at the finalize wait (200 ms); the first tick is 200 ms later.
        self.settle(Time::from_ms(300));
    }

    fn propose(&mut self, value: u64) -> Zxid {
        let zxid = self
            .with(|z, c, h, o| z.next_position(c, h, o))
            .expect("an established leader takes proposals");
        self.with(|z, _, h, o| z.propose(Num { zxid, value }, h, o));
        zxid
    }
}

#[test]
fn a_single_voter_establishes_and_delivers_in_order() {
    let mut one = One::new();
    one.start();
    assert_eq!(
        one.host.seen,
        vec![
            Seen::Restore(Zxid::ZERO),
            Seen::Status(ServerState::Leading, false),
            Seen::Status(ServerState::Leading, true),
        ]
    );
    assert!(one.zab.is_established_leader());
    assert_eq!(one.zab.current_epoch(), Epoch(1));
    one.host.seen.clear();
    let a = one.propose(10);
    let b = one.propose(20);
    assert_eq!((a, b), (Zxid::new(Epoch(1), 1), Zxid::new(Epoch(1), 2)));
    assert!(
        one.host.seen.is_empty(),
        "nothing delivered before it is durable"
    );
    one.settle(one.now);
    assert_eq!(
        one.host.seen,
        vec![Seen::Deliver(a, 10), Seen::Deliver(b, 20)]
    );
    assert_eq!(one.host.state, Nums(vec![10, 20]));
    assert_eq!(one.zab.delivered(), b);
    let delivered: Vec<Zxid> = one
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Delivered { zxid, .. } => Some(*zxid),
            _ => None,
        })
        .collect();
    assert_eq!(
        delivered,
        vec![a, b],
        "every delivery is reported once, in order"
    );
}

#[test]
fn a_barrier_waits_for_what_was_proposed_before_it() {
    let mut one = One::new();
    one.start();
    one.host.seen.clear();
    let a = one.propose(1);
    let asked = one.with(|z, _, h, o| z.barrier(Tag(7), h, o));
    assert!(asked);
    assert!(
        one.host.seen.is_empty(),
        "the barrier waits for the proposal before it"
    );
    one.settle(one.now);
    assert_eq!(one.host.seen, vec![Seen::Deliver(a, 1), Seen::Barrier(7)]);
    // With nothing outstanding, a barrier completes at once.
    one.host.seen.clear();
    assert!(one.with(|z, _, h, o| z.barrier(Tag(8), h, o)));
    assert_eq!(one.host.seen, vec![Seen::Barrier(8)]);
}

#[test]
fn a_barrier_before_the_epochs_first_proposal_completes_at_once() {
    // Right after establishment nothing of the new epoch is proposed: everything proposed
    // is committed, so a barrier has nothing to wait for (it waited for the epoch's first
    // commit before, forever when no write came: fuzzing found it, election.toml seed 18).
    let mut one = One::new();
    one.start();
    one.host.seen.clear();
    assert!(one.with(|z, _, h, o| z.barrier(Tag(9), h, o)));
    assert_eq!(one.host.seen, vec![Seen::Barrier(9)]);
}

#[test]
fn the_established_leader_ticks_its_host_after_its_own_tick_work() {
    let mut one = One::new();
    one.start();
    one.host.seen.clear();
    let tick_at = one.now.plus_ns(1_000 * proto::NS_PER_MS);
    one.settle(tick_at);
    assert!(
        one.host.seen.iter().all(|s| *s == Seen::Tick) && !one.host.seen.is_empty(),
        "{:?}",
        one.host.seen
    );
    // A learner-only request is refused by a leader: it has no leader to send to.
    assert!(!one.with(|z, _, _, o| z.send_to_leader(Tag(1), o)));
}
