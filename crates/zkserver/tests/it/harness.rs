//! Test harness: a deterministic fake entropy source, one ZooKeeper server on ZAB
//! (`zkserver::ZabServer`) driven input by input with its outputs collected, and small
//! builders for messages.

#![allow(dead_code)]

use std::sync::Arc;

use proto::wire::{ClientMsg, ServerMsg, WatchSet};
use proto::zk::{CreateMode, Op, SessionId};
use proto::{
    Ctx, Entropy, Epoch, NS_PER_MS, Output, Process, ProcessId, Recovered, Time, TimerId, WriteId,
    Zxid,
};
use zab::{Config, Notification, ServerState};
use zkserver::{Msg, Note, PeerMsg, Touched, ZkApp};

/// The server under test: a ZooKeeper server on the ZAB engine.
pub type Server = zkserver::ZabServer;
/// ZAB's records under a ZooKeeper server.
pub type Record = zkserver::Record;
/// ZAB's leader–learner messages with the ZooKeeper server's payloads.
pub type Peer = zab::Peer<ZkApp>;
/// ZAB's wire with the ZooKeeper server's payloads.
pub type Wire = zab::Wire<ZkApp>;
/// The ZAB engine under a ZooKeeper server.
pub type Engine = zab::Zab<ZkApp>;
/// A server's outbox.
pub type Out = zkserver::Out<Record>;
pub type O = Output<Msg, Record, Note>;
pub type TxnLog = zab::TxnLog<zkserver::Txn>;
pub type Snapshot = replication::Snapshot<zkserver::ZkState>;

/// A SplitMix64 counter: deterministic "randomness".
pub struct FakeRng(pub u64);

impl Entropy for FakeRng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        proto::mix64(self.0)
    }
}

pub fn p(i: u32) -> ProcessId {
    ProcessId(i)
}

pub fn z(epoch: u32, counter: u32) -> Zxid {
    Zxid::new(Epoch(epoch), counter)
}

/// Engine config for server `me` of voters `0..n`.
pub fn cfg(me: u32, n: u32) -> Config {
    Config::new(p(me), (0..n).map(p).collect(), vec![])
}

/// A ZooKeeper server on ZAB with engine config `c`: the server's own config lists every
/// voter and observer, shares the engine's tick, and times sessions on the wall clock
/// exactly when the engine plants zk-1366 (as the simulator builds them).
pub fn server_of(c: Config) -> Server {
    let servers: Vec<ProcessId> = c.voters.iter().chain(&c.observers).copied().collect();
    let mut sc = zkserver::Config::new(c.me, servers);
    sc.tick_ms = c.tick_ms;
    sc.wall_clock_timeouts = c.bugs.zk_1366;
    zkserver::Server::new(sc, zab::Zab::new(c))
}

/// One server under test.
pub struct One {
    pub s: Server,
    /// The monotonic clock.
    pub now: Time,
    /// wall − mono, ns: what clock jumps did to the wall clock (see `jump_wall_ms`).
    pub wall_offset_ns: i64,
    pub rng: FakeRng,
    pub me: ProcessId,
}

impl One {
    pub fn new(cfg: Config) -> One {
        let me = cfg.me;
        One {
            s: server_of(cfg),
            now: Time::ZERO,
            wall_offset_ns: 0,
            rng: FakeRng(u64::from(me.0) * 1000 + 1),
            me,
        }
    }

    /// A server started on an empty disk, its start outputs discarded.
    pub fn started(cfg: Config) -> One {
        let mut o = One::new(cfg);
        o.start(&[], false);
        o
    }

    /// The engine's views.
    pub fn e(&self) -> &Engine {
        self.s.engine()
    }

    fn run(&mut self, f: impl FnOnce(&mut Server, &mut Ctx, &mut Out)) -> Vec<O> {
        let mut out = Out::default();
        let mut ctx = Ctx {
            me: self.me,
            mono: self.now,
            wall: self.wall(),
            rng: &mut self.rng,
        };
        f(&mut self.s, &mut ctx, &mut out);
        out.drain().collect()
    }

    pub fn start(&mut self, records: &[Record], torn_tail: bool) -> Vec<O> {
        self.run(|s, ctx, out| s.on_start(ctx, Recovered { records, torn_tail }, out))
    }
    pub fn msg(&mut self, from: u32, msg: Msg) -> Vec<O> {
        self.run(|s, ctx, out| s.on_message(ctx, p(from), msg, out))
    }
    pub fn timer(&mut self, t: TimerId) -> Vec<O> {
        self.run(|s, ctx, out| s.on_timer(ctx, t, out))
    }
    pub fn disk_done(&mut self, w: WriteId) -> Vec<O> {
        self.run(|s, ctx, out| s.on_disk_done(ctx, w, out))
    }
    /// Completes the (only) fsync in `outs`.
    pub fn complete_fsync(&mut self, outs: &[O]) -> Vec<O> {
        let ws = fsyncs(outs);
        assert_eq!(ws.len(), 1, "expected one fsync in {outs:#?}");
        self.disk_done(ws[0])
    }
    pub fn at_ms(&mut self, ms: u64) {
        self.now = Time(ms * NS_PER_MS);
    }
    pub fn advance_ms(&mut self, ms: u64) {
        self.now = self.now.plus_ns(ms * NS_PER_MS);
    }
    /// The wall clock: the monotonic one moved by every jump so far.
    pub fn wall(&self) -> Time {
        let wall = i128::from(self.now.0) + i128::from(self.wall_offset_ns);
        assert!(wall >= 0, "the wall clock went below zero");
        Time(wall as u64)
    }
    /// A clock fault: the wall clock jumps by `ms` (negative: backwards); the monotonic
    /// clock does not move.
    pub fn jump_wall_ms(&mut self, ms: i64) {
        self.wall_offset_ns += ms * NS_PER_MS as i64;
        let _ = self.wall();
    }
}

pub fn sends(outs: &[O]) -> Vec<(ProcessId, Msg)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}

/// The bodies of peer messages sent, with their destination.
pub fn peer_sends(outs: &[O]) -> Vec<(ProcessId, Peer)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                msg: Msg::Zab(Wire::Peer { body, .. }),
            } => Some((*to, body.clone())),
            _ => None,
        })
        .collect()
}

pub fn notes(outs: &[O]) -> Vec<Note> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Note(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

pub fn fsyncs(outs: &[O]) -> Vec<WriteId> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Fsync { write } => Some(*write),
            _ => None,
        })
        .collect()
}

pub fn appends(outs: &[O]) -> Vec<Record> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Append { record } => Some(record.clone()),
            _ => None,
        })
        .collect()
}

pub fn timers_set(outs: &[O]) -> Vec<(TimerId, Time)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::SetTimer { timer, at } => Some((*timer, *at)),
            _ => None,
        })
        .collect()
}

/// The wall-clock timers set (only the planted bug zk-1366 sets them).
pub fn wall_timers_set(outs: &[O]) -> Vec<(TimerId, Time)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::SetWallTimer { timer, at } => Some((*timer, *at)),
            _ => None,
        })
        .collect()
}

/// Outputs with the notes removed (for asserting the protocol's effects).
pub fn effects(outs: &[O]) -> Vec<O> {
    outs.iter()
        .filter(|o| !matches!(o, Output::Note(_)))
        .cloned()
        .collect()
}

pub fn notif(leader: u32, zxid: Zxid, ee: u64, state: ServerState, sid: u32, pe: u32) -> Msg {
    Msg::Zab(Wire::Notification(Notification {
        leader: p(leader),
        zxid,
        election_epoch: ee,
        state,
        sid: p(sid),
        peer_epoch: Epoch(pe),
    }))
}

pub fn peer(conn: u64, seq: u64, body: Peer) -> Msg {
    Msg::Zab(Wire::Peer { conn, seq, body })
}

/// A PING carrying `touched` (the sessions a learner's clients were heard from; the
/// leader's carry none).
pub fn ping(touched: &[SessionId]) -> Peer {
    Peer::ping(Touched(touched.into()))
}

/// A learner's forwarded client write (ZooKeeper's REQUEST).
pub fn request_peer(session: SessionId, op: Op, origin: zkserver::Origin) -> Peer {
    Peer::App(PeerMsg::request(session, op, origin))
}

/// The connection id of the latest peer message in `outs` sent to `to`.
pub fn conn_to(outs: &[O], to: u32) -> u64 {
    outs.iter()
        .rev()
        .find_map(|o| match o {
            Output::Send {
                to: t,
                msg: Msg::Zab(Wire::Peer { conn, .. }),
            } if *t == p(to) => Some(*conn),
            _ => None,
        })
        .expect("a peer message")
}

pub fn ms(t: u64) -> Time {
    Time(t * NS_PER_MS)
}

/// Makes `o` (LOOKING) decide for itself: every other voter sends a vote for it.
pub fn elect_self(o: &mut One) {
    let me = o.me.0;
    let zxid = o.e().last_logged_zxid();
    let pe = o.e().current_epoch().0;
    let ee = o.e().election_epoch();
    let voters = o.e().config().voters.clone();
    for v in voters {
        if v != o.me {
            o.msg(v.0, notif(me, zxid, ee, ServerState::Looking, v.0, pe));
        }
    }
    o.timer(zab::TIMER_FINALIZE);
    assert_eq!(o.e().state(), ServerState::Leading);
}

/// Makes `o` (LOOKING) follow `leader`; returns the connection id of its FOLLOWERINFO.
pub fn follow(o: &mut One, leader: u32) -> u64 {
    // A quorum of decided servers points at `leader` (out-of-election join).
    let voters = o.e().config().voters.clone();
    let pe = o.e().current_epoch().0;
    let mut outs = Vec::new();
    for v in voters {
        if v != o.me && o.e().state() == ServerState::Looking {
            let state = if v.0 == leader {
                ServerState::Leading
            } else {
                ServerState::Following
            };
            outs = o.msg(v.0, notif(leader, Zxid::ZERO, 1, state, v.0, pe));
        }
    }
    assert!(matches!(
        o.e().state(),
        ServerState::Following | ServerState::Observing
    ));
    conn_to(&outs, leader)
}

/// The leader side of one connection in a test: the learner's conn and next sequence
/// numbers in both directions, as the test (playing the other end) sees them.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub sid: u32,
    pub conn: u64,
    /// Next seq the test sends.
    pub out_seq: u64,
}

impl Link {
    pub fn next(&mut self, body: Peer) -> Msg {
        let m = peer(self.conn, self.out_seq, body);
        self.out_seq += 1;
        m
    }
}

/// A follower of `leader` that completed an empty sync in epoch `epoch` and is serving.
/// Returns the link as seen from the leader (the test sends on it).
pub fn synced_follower(o: &mut One, leader: u32, epoch: u32) -> Link {
    let conn = follow(o, leader);
    let mut l = Link {
        sid: leader,
        conn,
        out_seq: 0,
    };
    let outs = o.msg(
        leader,
        l.next(Peer::LeaderInfo {
            new_epoch: Epoch(epoch),
        }),
    );
    if !fsyncs(&outs).is_empty() {
        o.complete_fsync(&outs);
    }
    let last = o.e().last_logged_zxid();
    o.msg(
        leader,
        l.next(Peer::Diff {
            last_zxid: last,
            committed_zxid: last,
        }),
    );
    let outs = o.msg(
        leader,
        l.next(Peer::NewLeader {
            epoch: Epoch(epoch),
            last_zxid: last,
        }),
    );
    let outs = o.complete_fsync(&outs);
    o.complete_fsync(&outs);
    o.msg(leader, l.next(Peer::UpToDate));
    assert!(o.s.is_serving());
    l
}

/// Unopened links for `followers`: each connection's id is `1000 + sid`.
pub fn fresh_links(followers: &[u32]) -> Vec<Link> {
    followers
        .iter()
        .map(|&sid| Link {
            sid,
            conn: 1000 + u64::from(sid),
            out_seq: 0,
        })
        .collect()
}

/// Drives an elected leader `o` through discovery and sync with `followers` (each opens a
/// connection with id `1000 + sid` and reports an empty log), until established.
/// Returns the links the test uses to speak for each follower.
pub fn establish(o: &mut One, followers: &[u32]) -> Vec<Link> {
    let mut links = fresh_links(followers);
    let mut pending = Vec::new();
    for l in links.iter_mut() {
        let outs = o.msg(
            l.sid,
            l.next(Peer::FollowerInfo {
                accepted_epoch: Epoch(0),
            }),
        );
        pending.extend(outs);
    }
    o.complete_fsync(&pending);
    let mut pending = Vec::new();
    for l in links.iter_mut() {
        let ce = o.e().current_epoch();
        let outs = o.msg(
            l.sid,
            l.next(Peer::AckEpoch {
                current_epoch: Some(ce),
                last_zxid: Zxid::ZERO,
            }),
        );
        pending.extend(outs);
    }
    o.complete_fsync(&pending);
    let epoch = o.e().current_epoch();
    for l in links.iter_mut() {
        o.msg(l.sid, l.next(Peer::AckNewLeader { epoch }));
    }
    assert!(o.e().is_established_leader());
    links
}

// ---- the replicated state and clients -------------------------------------------------

/// A test txn standing for "key := value": creates `/k{key}-{zxid:016x}` holding `value`
/// (a fresh path per zxid, so it applies cleanly on any prefix of a log).
pub fn kv_txn(zxid: Zxid, key: u64, value: u64, origin: Option<zkserver::Origin>) -> zkserver::Txn {
    let body = datatree::TxnBody::Create {
        path: format!("/k{key}-{:016x}", zxid.0),
        data: value.to_string().into_bytes(),
        ephemeral: false,
        parent_cversion: -1,
    };
    zkserver::Txn::new(zxid, SessionId::NONE, 0, body, origin)
}

/// The value of the latest `kv_txn` for `key` applied by `s`.
pub fn kv_read(s: &Server, key: u64) -> Option<u64> {
    let tree = s.app().tree();
    let prefix = format!("k{key}-");
    let name = tree
        .children("/")
        .expect("root")
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .max()?;
    let data = tree.data(&format!("/{name}")).expect("listed");
    Some(std::str::from_utf8(data).unwrap().parse().unwrap())
}

/// The client process of the single-server tests.
pub const CLIENT: u32 = 9;

pub fn connect(conn: u64, session: Option<SessionId>, last_zxid_seen: Zxid) -> Msg {
    Msg::from_client(ClientMsg::Connect {
        conn,
        session,
        timeout_ms: 4000,
        last_zxid_seen,
        watches: WatchSet::default(),
    })
}

pub fn request(conn: u64, xid: u64, op: Op) -> Msg {
    Msg::from_client(ClientMsg::Request { conn, xid, op })
}

/// `create path` (persistent, data = `data`).
pub fn create(path: &str, data: &str) -> Op {
    Op::Create {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        mode: CreateMode::Persistent,
    }
}

pub fn get(path: &str, watch: bool) -> Op {
    Op::GetData {
        path: path.into(),
        watch,
    }
}

/// What was sent to client `c`, in order.
pub fn to_client(outs: &[O], c: u32) -> Vec<ServerMsg> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                msg: Msg::ToClient(m),
            } if *to == p(c) => Some((**m).clone()),
            _ => None,
        })
        .collect()
}

/// The txns proposed to follower `to` in `outs`.
pub fn proposals_to(outs: &[O], to: u32) -> Vec<zkserver::Txn> {
    peer_sends(outs)
        .into_iter()
        .filter_map(|(t, b)| match b {
            Peer::Proposal { txn } if t == p(to) => Some(Arc::unwrap_or_clone(txn)),
            _ => None,
        })
        .collect()
}

/// Opens a session for `CLIENT` (connection 1) on an established leader whose followers'
/// links are `links`: the CreateSession is proposed, follower 0 ACKs, the leader's fsync
/// completes, and `Connected` goes out. Returns the session.
pub fn leader_session(o: &mut One, links: &mut [Link]) -> SessionId {
    let outs = o.msg(CLIENT, connect(1, None, Zxid::ZERO));
    let txn = proposals_to(&outs, 0)
        .pop()
        .expect("CreateSession proposed");
    let session = txn.session;
    o.msg(0, links[0].next(Peer::Ack { zxid: txn.zxid }));
    let outs = o.complete_fsync(&outs);
    assert_eq!(
        to_client(&outs, CLIENT),
        vec![ServerMsg::Connected {
            conn: 1,
            session,
            timeout_ms: 4000
        }]
    );
    session
}

/// Opens a session for `CLIENT` (connection 1) on a synced follower: the forwarded
/// CreateSession comes back from the leader as `zxid`, proposed and committed.
pub fn follower_session(o: &mut One, l: &mut Link, zxid: Zxid) -> SessionId {
    let outs = o.msg(CLIENT, connect(1, None, Zxid::ZERO));
    let (session, origin) = match peer_sends(&outs).pop() {
        Some((_, Peer::App(PeerMsg::Request(r)))) => {
            assert_eq!(r.op, Op::CreateSession { timeout_ms: 4000 });
            (r.session, r.origin)
        }
        other => panic!("expected a forwarded CreateSession, got {other:?}"),
    };
    let body = datatree::TxnBody::CreateSession { timeout_ms: 4000 };
    let txn = zkserver::Txn::new(zxid, session, 0, body, Some(origin));
    let outs = o.msg(l.sid, l.next(Peer::proposal(txn)));
    o.complete_fsync(&outs);
    let outs = o.msg(l.sid, l.next(Peer::Commit { zxid }));
    assert_eq!(
        to_client(&outs, CLIENT),
        vec![ServerMsg::Connected {
            conn: 1,
            session,
            timeout_ms: 4000
        }]
    );
    session
}

/// The state after applying `txns` to an empty one.
pub fn state_of(txns: &[zkserver::Txn]) -> zkserver::ZkState {
    let mut st = zkserver::ZkState::new();
    for t in txns {
        st.apply(t);
    }
    st
}
