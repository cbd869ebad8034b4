//! The ZooKeeper server on the trivial single-node engine (`replication::solo::Solo`)
//! passes every zk-script conformance file: the same answers a real Apache ZooKeeper 3.8.0
//! gave, with the server's own logic (sessions, prepare, replies) and no ZAB under it. The
//! script runs without the kernel: one server, one client process holding one session host
//! per script session, messages delivered in order, each operation started once the
//! previous one completed.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use client::{Action, SessionState};
use proto::{Ctx, Entropy, NS_PER_MS, Output, Process, ProcessId, Recovered, Time};
use replication::solo::Solo;
use sim::clienthost::{ClientHost, HostConfig};
use sim::zkscript::{ScriptLine, ScriptOp, conformance_scripts, json_lines, parse, render};
use zkserver::{Msg, Note, Record, Server, ZkApp};

type SoloServer = Server<Solo<ZkApp, Record>>;

const SERVER: ProcessId = ProcessId(0);
const CLIENT: ProcessId = ProcessId(1);
/// Most messages one script line may take before it must have completed.
const MESSAGES_PER_LINE_MAX: usize = 10_000;

/// A deterministic entropy source (SplitMix64).
struct Draws(u64);

impl Entropy for Draws {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// One server and the script's session hosts, wired by an in-order message queue.
struct Rig {
    server: SoloServer,
    hosts: BTreeMap<u32, ClientHost>,
    hosts_opened: u32,
    queue: VecDeque<(ProcessId, ProcessId, Msg)>,
    draws: Draws,
    now: Time,
    /// (session, xid) of the operation waiting for its answer, and the answer once here.
    waiting: Option<(u32, u64)>,
    answer: Option<serde_json::Value>,
}

impl Rig {
    fn new() -> Rig {
        let config = zkserver::Config::new(SERVER, vec![SERVER]);
        let mut rig = Rig {
            server: Server::new(config, Solo::new(SERVER)),
            hosts: BTreeMap::new(),
            hosts_opened: 0,
            queue: VecDeque::new(),
            draws: Draws(7),
            now: Time::ZERO,
            waiting: None,
            answer: None,
        };
        let mut out = proto::Outbox::default();
        let mut ctx = Ctx {
            me: SERVER,
            mono: rig.now,
            wall: rig.now,
            rng: &mut rig.draws,
        };
        let disk = Recovered {
            records: &[],
            torn_tail: false,
        };
        rig.server.on_start(&mut ctx, disk, &mut out);
        rig.take_server_outputs(&mut out);
        assert!(
            rig.server.is_serving(),
            "a solo server serves from its start"
        );
        rig
    }

    fn take_server_outputs(&mut self, out: &mut proto::Outbox<Msg, Record, Note>) {
        for o in out.drain() {
            match o {
                Output::Send { to, msg } => self.queue.push_back((SERVER, to, msg)),
                Output::Append { .. } | Output::Fsync { .. } => {
                    panic!("the solo engine writes nothing to disk")
                }
                _ => {}
            }
        }
    }

    fn take_client_outputs(&mut self, out: &mut proto::Outbox<Msg, Record, Note>) {
        for o in out.drain() {
            if let Output::Send { to, msg } = o {
                self.queue.push_back((CLIENT, to, msg));
            }
        }
    }

    fn client_ctx(&mut self) -> Ctx<'_> {
        Ctx {
            me: CLIENT,
            mono: self.now,
            wall: self.now,
            rng: &mut self.draws,
        }
    }

    fn handle(&mut self, actions: Vec<Action>) {
        for a in actions {
            if let Action::Completed { xid, result, .. } = a
                && self.waiting.is_some_and(|(_, w)| w == xid)
            {
                self.answer = Some(render(&result));
            }
        }
    }

    /// Delivers queued messages until the waiting operation has its answer (or, opening a
    /// session, until the queue is empty).
    fn pump(&mut self) {
        for _ in 0..MESSAGES_PER_LINE_MAX {
            if self.answer.is_some() {
                return;
            }
            let Some((from, to, msg)) = self.queue.pop_front() else {
                return;
            };
            self.now = self.now.plus_ns(NS_PER_MS);
            let mut out = proto::Outbox::default();
            if to == SERVER {
                let mut ctx = Ctx {
                    me: SERVER,
                    mono: self.now,
                    wall: self.now,
                    rng: &mut self.draws,
                };
                self.server.on_message(&mut ctx, from, msg, &mut out);
                self.take_server_outputs(&mut out);
                continue;
            }
            assert_eq!(to, CLIENT, "a message to nobody");
            let Msg::ToClient(m) = &msg else {
                panic!("a server message to the client: {msg:?}")
            };
            let id = ClientHost::id_of_conn(m.conn());
            let Some(k) = self
                .hosts
                .iter()
                .find(|(_, h)| h.id() == id)
                .map(|(k, _)| *k)
            else {
                continue; // a replaced host's
            };
            let mut host = self.hosts.remove(&k).expect("found");
            let actions = host.on_message(&mut self.client_ctx(), from, msg, &mut out);
            self.hosts.insert(k, host);
            self.take_client_outputs(&mut out);
            self.handle(actions);
        }
        panic!("a script line took more than {MESSAGES_PER_LINE_MAX} messages");
    }

    /// Opens a session for script session `k` (a new host replaces a dead one).
    fn open(&mut self, k: u32) {
        let config = HostConfig {
            servers: vec![SERVER],
            session_timeout_ms: 4_000,
            reconnect_delay_ms: 100,
            max_pending: 16,
        };
        let mut host = ClientHost::with_first_server(config, self.hosts_opened, 0);
        self.hosts_opened += 1;
        let mut out = proto::Outbox::default();
        let actions = host.start(&mut self.client_ctx(), &mut out);
        self.hosts.insert(k, host);
        self.take_client_outputs(&mut out);
        self.handle(actions);
        self.pump();
        let state = self.hosts[&k].session().state();
        assert_eq!(
            state,
            SessionState::Connected,
            "session {k} did not connect"
        );
    }

    fn run_line(&mut self, line: &ScriptLine) -> serde_json::Value {
        let alive = self
            .hosts
            .get(&line.session)
            .is_some_and(|h| h.session().is_alive());
        if !alive {
            self.open(line.session);
        }
        let mut host = self.hosts.remove(&line.session).expect("opened");
        let mut out = proto::Outbox::default();
        let mut ctx = self.client_ctx();
        let (xid, actions) = if line.op == ScriptOp::CloseSession {
            host.close(&mut ctx, &mut out)
        } else {
            host.submit(&mut ctx, line.op.to_op(), &mut out)
        };
        self.hosts.insert(line.session, host);
        self.waiting = Some((line.session, xid));
        self.answer = None;
        self.take_client_outputs(&mut out);
        self.handle(actions);
        self.pump();
        self.waiting = None;
        self.answer.take().expect("the operation completed")
    }
}

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/zk_conformance")
}

#[test]
fn every_conformance_script_passes_on_the_solo_engine() {
    let scripts = conformance_scripts(&conformance_dir()).expect("the conformance folder");
    assert!(scripts.len() >= 20, "the suite is there: {scripts:?}");
    for script in scripts {
        let text = std::fs::read_to_string(&script).unwrap();
        let lines = parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", script.display()));
        let answers = std::fs::read_to_string(script.with_extension("expected.jsonl")).unwrap();
        let expected = json_lines(&answers).expect("recorded answers");
        assert_eq!(
            lines.len(),
            expected.len(),
            "{}: line count",
            script.display()
        );
        let mut rig = Rig::new();
        for (i, (line, want)) in lines.iter().zip(&expected).enumerate() {
            let got = rig.run_line(line);
            assert_eq!(&got, want, "{} line {}: {line:?}", script.display(), i + 1);
        }
    }
}

/// The rig does catch a wrong answer: a script whose expectation is tampered with fails.
#[test]
fn a_wrong_expectation_is_caught() {
    let lines = parse(r#"{"session":0,"op":"create","path":"/a","mode":"persistent"}"#)
        .expect("a valid line");
    let mut rig = Rig::new();
    let got = rig.run_line(&lines[0]);
    assert_eq!(got, serde_json::json!({"ok": true, "path": "/a"}));
    let again = rig.run_line(&lines[0]);
    assert_ne!(again, got, "a second create of /a must not succeed");
}
