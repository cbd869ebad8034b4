//! `zabsim zk-script`: a script of client operations run one at a time against a
//! fault-free 3-server ensemble, each session a real client session (the `client` crate),
//! sessions spread over the servers. An operation starts only after the previous one
//! completed and every server applied every committed txn (the observer checks this at
//! each start), so the results are those of a sequential execution — comparable, line for
//! line, with what Apache ZooKeeper answers for the same script.
//!
//! Invariants: one output per script line, in order; a line starts only when its session
//! is connected; a session index used after `close_session` opens a new session.

use std::collections::BTreeMap;

use client::{Action, SessionState};
use proto::zk::{CreateMode, Op, OpResult, Stat};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId};
use serde_json::{Value, json};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};
use crate::node::Node;
use crate::scenario;
use kernel::observe::{Observer, Procs, Progress, Verdict, Violation};
use kernel::sim::{Factory, Sim, TIMERS_PER_PROCESS_MAX};

/// Most lines one script may have.
pub const SCRIPT_LINES_MAX: usize = 100_000;
/// Most sessions one script may use: the driver holds one timer per session (its host's; a
/// replaced host's is cancelled) and its own, within the kernel's `TIMERS_PER_PROCESS_MAX`.
pub const SCRIPT_SESSIONS_MAX: u32 = (TIMERS_PER_PROCESS_MAX - 1) as u32;
/// Servers of the ensemble a script runs on.
const SERVERS: u32 = 3;
/// Quiet time after each operation, so every server applies every committed txn.
const SETTLE_MS: u64 = 20;
const NEXT: TimerId = TimerId(110);

/// The ensemble a script runs on: fault-free, 1 ms links, three servers and one client
/// process (override `run.*` and `workload.clients` to reuse it).
pub const SCENARIO: &str = r#"
version = 1
name = "zk-script"
description = "3 fault-free servers and one script driver"
[cluster]
servers = 3
[run]
safety_ms = 1
liveness_ms = 3_600_000
[network]
latency = { dist = "constant", us = 1_000 }
[nemesis]
random = false
[workload]
kind = "writes"
clients = 1
interval_ms = 1
"#;

/// The conformance scripts in `dir`: every `*.jsonl` but the `*.expected.jsonl` answers
/// beside them, sorted by name.
pub fn conformance_scripts(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut scripts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.is_some_and(|n| n.ends_with(".jsonl") && !n.ends_with(".expected.jsonl")) {
            scripts.push(path);
        }
    }
    scripts.sort();
    Ok(scripts)
}

/// One JSON value per non-blank line (a script's answers); the first bad line's error.
pub fn json_lines(text: &str) -> Result<Vec<Value>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{l:?}: {e}")))
        .collect()
}

/// One script line's operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptOp {
    Create {
        path: String,
        data: String,
        mode: CreateMode,
    },
    Delete {
        path: String,
        version: i32,
    },
    Set {
        path: String,
        data: String,
        version: i32,
    },
    Get {
        path: String,
    },
    Exists {
        path: String,
    },
    Children {
        path: String,
    },
    CloseSession,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptLine {
    pub session: u32,
    pub op: ScriptOp,
}

/// A malformed script line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub line: usize,
    pub message: String,
}

/// Parses a script: one JSON object per line; blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<ScriptLine>, ScriptError> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let err = |message: String| ScriptError {
            line: i + 1,
            message,
        };
        if lines.len() >= SCRIPT_LINES_MAX {
            return Err(err(format!("more than {SCRIPT_LINES_MAX} lines")));
        }
        let v: Value = serde_json::from_str(raw).map_err(|e| err(format!("bad JSON: {e}")))?;
        lines.push(parse_line(&v).map_err(err)?);
    }
    Ok(lines)
}

fn parse_line(v: &Value) -> Result<ScriptLine, String> {
    let obj = v.as_object().ok_or("a line must be a JSON object")?;
    let allowed = ["session", "op", "path", "data", "version", "mode"];
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unknown field {k:?}; expected one of {allowed:?}"));
    }
    let session = obj
        .get("session")
        .ok_or("missing field \"session\"")?
        .as_u64()
        .filter(|s| *s < u64::from(SCRIPT_SESSIONS_MAX))
        .ok_or(format!(
            "field \"session\" must be an integer in 0..{SCRIPT_SESSIONS_MAX}"
        ))? as u32;
    let name = obj
        .get("op")
        .ok_or("missing field \"op\"")?
        .as_str()
        .ok_or("field \"op\" must be a string")?;
    let text = |field: &str| -> Result<Option<String>, String> {
        match obj.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("field {field:?} must be a string")),
        }
    };
    let path = || text("path")?.ok_or_else(|| "missing field \"path\"".to_string());
    let data = || Ok::<_, String>(text("data")?.unwrap_or_default());
    let version = || match obj.get("version") {
        None => Ok(Op::ANY_VERSION),
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| "field \"version\" must be a 32-bit integer".to_string()),
    };
    let op = match name {
        "create" => ScriptOp::Create {
            path: path()?,
            data: data()?,
            mode: match text("mode")? {
                None => CreateMode::Persistent,
                Some(m) => m.parse().map_err(|e| format!("field \"mode\": {e}"))?,
            },
        },
        "delete" => ScriptOp::Delete {
            path: path()?,
            version: version()?,
        },
        "set" => ScriptOp::Set {
            path: path()?,
            data: data()?,
            version: version()?,
        },
        "get" => ScriptOp::Get { path: path()? },
        "exists" => ScriptOp::Exists { path: path()? },
        "children" => ScriptOp::Children { path: path()? },
        "close_session" => ScriptOp::CloseSession,
        other => {
            return Err(format!(
                "unknown op {other:?}; expected one of create, delete, set, get, exists, \
                 children, close_session"
            ));
        }
    };
    Ok(ScriptLine { session, op })
}

impl ScriptOp {
    pub fn to_op(&self) -> Op {
        match self {
            ScriptOp::Create { path, data, mode } => Op::Create {
                path: path.clone(),
                data: data.as_bytes().to_vec(),
                mode: *mode,
            },
            ScriptOp::Delete { path, version } => Op::Delete {
                path: path.clone(),
                version: *version,
            },
            ScriptOp::Set {
                path,
                data,
                version,
            } => Op::SetData {
                path: path.clone(),
                data: data.as_bytes().to_vec(),
                version: *version,
            },
            ScriptOp::Get { path } => Op::GetData {
                path: path.clone(),
                watch: false,
            },
            ScriptOp::Exists { path } => Op::Exists {
                path: path.clone(),
                watch: false,
            },
            ScriptOp::Children { path } => Op::GetChildren {
                path: path.clone(),
                watch: false,
            },
            ScriptOp::CloseSession => Op::CloseSession,
        }
    }
}

fn stat_json(s: &Stat) -> Value {
    json!({
        "version": s.version,
        "cversion": s.cversion,
        "aversion": s.aversion,
        "num_children": s.num_children,
        "data_length": s.data_length,
        "ephemeral": !s.ephemeral_owner.is_none(),
    })
}

/// The order of keys in an output line: the order of the conformance files recorded from a
/// real ZooKeeper (`crates/cli/tests/zk_conformance/*.expected.jsonl`), so a plain `diff`
/// against them shows only real differences. Keys not listed follow, alphabetically.
const KEY_ORDER: [&str; 12] = [
    "ok",
    "path",
    "data",
    "children",
    "error",
    "stat",
    "version",
    "cversion",
    "aversion",
    "num_children",
    "data_length",
    "ephemeral",
];

/// One output line's text, keys in [`KEY_ORDER`].
pub fn line_text(v: &Value) -> String {
    let mut out = String::new();
    write_ordered(v, &mut out, 0);
    out
}

fn write_ordered(v: &Value, out: &mut String, depth: u32) {
    assert!(depth < 8, "a result line nests at most a stat object");
    let Value::Object(map) = v else {
        out.push_str(&v.to_string());
        return;
    };
    let rank = |k: &str| {
        KEY_ORDER
            .iter()
            .position(|o| *o == k)
            .unwrap_or(KEY_ORDER.len())
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by(|a, b| (rank(a), a.as_str()).cmp(&(rank(b), b.as_str())));
    out.push('{');
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(k.to_string()).to_string());
        out.push(':');
        write_ordered(&map[k.as_str()], out, depth + 1);
    }
    out.push('}');
}

/// The output line for one result, in the zk-script format.
pub fn render(result: &OpResult) -> Value {
    match result {
        OpResult::Created { path, .. } => json!({"ok": true, "path": path}),
        OpResult::Deleted | OpResult::SessionClosed => json!({"ok": true}),
        OpResult::Stat(s) => json!({"ok": true, "stat": stat_json(s)}),
        OpResult::Data { data, stat } => json!({
            "ok": true,
            "data": String::from_utf8_lossy(data),
            "stat": stat_json(stat),
        }),
        OpResult::Exists(s) => json!({"ok": true, "stat": s.as_ref().map(stat_json)}),
        OpResult::Children(names) => {
            let mut names = names.clone();
            names.sort();
            json!({"ok": true, "children": names})
        }
        OpResult::Err(e) => json!({"ok": false, "error": e.name()}),
        other => json!({"ok": false, "error": format!("unexpected result {other:?}")}),
    }
}

/// The script driver: one client host per script session; runs the lines in order.
pub struct ScriptDriver {
    lines: Vec<ScriptLine>,
    servers: Vec<ProcessId>,
    hosts: BTreeMap<u32, ClientHost>,
    /// Hosts opened so far (each gets its own connection numbers).
    hosts_opened: usize,
    next: usize,
    /// The line in flight: (session, xid).
    waiting: Option<(u32, u64)>,
    /// Lines started so far (the observer checks the ensemble at each start).
    pub started: usize,
    pub outputs: Vec<Value>,
}

type Out = Outbox<Msg, Record, Note>;

impl ScriptDriver {
    pub fn new(lines: Vec<ScriptLine>, servers: Vec<ProcessId>) -> ScriptDriver {
        assert!(lines.len() <= SCRIPT_LINES_MAX && !servers.is_empty());
        ScriptDriver {
            lines,
            servers,
            hosts: BTreeMap::new(),
            hosts_opened: 0,
            next: 0,
            waiting: None,
            started: 0,
            outputs: Vec::new(),
        }
    }

    pub fn finished(&self) -> bool {
        self.outputs.len() == self.lines.len()
    }

    /// Starts the next line if its session is connected; opens the session if needed.
    fn step(&mut self, ctx: &mut Ctx, out: &mut Out) {
        if self.waiting.is_some() || self.finished() {
            return;
        }
        let line = self.lines[self.next].clone();
        let alive = self
            .hosts
            .get(&line.session)
            .is_some_and(|h| h.session().is_alive());
        if !alive {
            self.open(ctx, line.session, out);
            return; // started when State(Connected) arrives
        }
        let host = self.hosts.get_mut(&line.session).expect("alive");
        if host.session().state() != SessionState::Connected {
            return;
        }
        self.started += 1;
        let (xid, actions) = if line.op == ScriptOp::CloseSession {
            host.close(ctx, out)
        } else {
            host.submit(ctx, line.op.to_op(), out)
        };
        self.waiting = Some((line.session, xid));
        self.handle(ctx, actions, out);
    }

    /// A new session (a new host) for script session `k`, first trying server `k mod n`.
    fn open(&mut self, ctx: &mut Ctx, k: u32, out: &mut Out) {
        let config = HostConfig {
            servers: self.servers.clone(),
            session_timeout_ms: 4_000,
            reconnect_delay_ms: 100,
            max_pending: 16,
        };
        let first = k as usize % self.servers.len();
        let id = u32::try_from(self.hosts_opened).expect("bounded by the script's lines");
        self.hosts_opened += 1;
        let mut host = ClientHost::with_first_server(config, id, first);
        let actions = host.start(ctx, out);
        if let Some(old) = self.hosts.insert(k, host) {
            // Its timer would fire for nobody; cancelled, the driver holds one per session.
            out.cancel_timer(old.timer());
        }
        self.handle(ctx, actions, out);
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed { xid, result, .. } => {
                    if let Some((_, w)) = self.waiting
                        && w == xid
                    {
                        self.waiting = None;
                        self.outputs.push(render(&result));
                        self.next += 1;
                        out.set_timer(NEXT, ctx.mono.plus_ns(SETTLE_MS * NS_PER_MS));
                    }
                }
                Action::State(SessionState::Connected) if self.waiting.is_none() => {
                    out.set_timer(NEXT, ctx.mono.plus_ns(SETTLE_MS * NS_PER_MS));
                }
                _ => {}
            }
        }
    }

    /// The script session whose host a server message is for.
    fn host_of(&self, msg: &Msg) -> Option<u32> {
        let Msg::ToClient(m) = msg else {
            return None;
        };
        let id = ClientHost::id_of_conn(m.conn());
        self.hosts
            .iter()
            .find(|(_, h)| h.id() == id)
            .map(|(k, _)| *k)
    }
}

impl Process for ScriptDriver {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        out.set_timer(NEXT, ctx.mono.plus_ns(SETTLE_MS * NS_PER_MS));
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        let Some(k) = self.host_of(&msg) else {
            return;
        };
        let host = self.hosts.get_mut(&k).expect("found");
        let actions = host.on_message(ctx, from, msg, out);
        self.handle(ctx, actions, out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        if timer == NEXT {
            return self.step(ctx, out);
        }
        let Some(id) = ClientHost::id_of_timer(timer) else {
            return;
        };
        let Some(host) = self.hosts.values_mut().find(|h| h.id() == id) else {
            return; // a replaced host's timer
        };
        let actions = host.on_timer(ctx, out);
        self.handle(ctx, actions, out);
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let keys: Vec<u32> = self.hosts.keys().copied().collect();
        for k in keys {
            let host = self.hosts.get_mut(&k).expect("listed");
            let actions = host.on_disconnect(ctx, peer, out);
            self.handle(ctx, actions, out);
        }
    }
}

/// Checks the sequential-execution condition at each line's start and ends the run once
/// the driver is done.
struct ScriptObserver {
    driver: ProcessId,
    servers: Vec<ProcessId>,
    started_seen: usize,
    outputs: Option<Vec<Value>>,
    /// The first server's tree when the script finished.
    tree: Option<datatree::DataTree>,
}

impl ScriptObserver {
    fn driver<'a>(&self, procs: &'a dyn Procs<Node>) -> &'a ScriptDriver {
        match procs.get(self.driver) {
            Some(Node::Script(d)) => d,
            _ => panic!("the script driver is process {}", self.driver),
        }
    }
}

impl Observer<Node> for ScriptObserver {
    fn after_event(
        &mut self,
        _now: Time,
        procs: &dyn Procs<Node>,
        _touched: Option<ProcessId>,
    ) -> Result<(), Violation> {
        let d = self.driver(procs);
        if d.started > self.started_seen {
            self.started_seen = d.started;
            let applied: Vec<(ProcessId, proto::Zxid, proto::Zxid)> = self
                .servers
                .iter()
                .filter_map(|p| procs.get(*p).and_then(Node::server).map(|s| (*p, s)))
                .map(|(p, s)| {
                    (
                        p,
                        s.engine().last_applied_zxid(),
                        s.engine().committed_zxid(),
                    )
                })
                .collect();
            let top = applied.iter().map(|a| a.2).max().unwrap_or_default();
            if applied.len() != self.servers.len() || applied.iter().any(|a| a.1 != top) {
                return Err(Violation {
                    check: "ScriptSequential".into(),
                    processes: applied.iter().map(|a| a.0).collect(),
                    detail: format!(
                        "line {} started before every server applied {top}: {applied:?}",
                        d.started
                    ),
                });
            }
        }
        if d.finished() && self.outputs.is_none() {
            self.outputs = Some(d.outputs.clone());
            let first = procs.get(self.servers[0]).and_then(Node::server);
            self.tree = first.map(|s| s.app().tree().clone());
        }
        Ok(())
    }

    fn liveness(&mut self, now: Time, _procs: &dyn Procs<Node>) -> Progress {
        if self.outputs.is_some() {
            return Progress::Done;
        }
        Progress::Waiting(Violation {
            check: "ScriptProgress".into(),
            processes: vec![self.driver],
            detail: format!("the script has not finished by {now}"),
        })
    }
}

/// What a script run produced.
pub struct ScriptRun {
    /// One output per line.
    pub outputs: Vec<Value>,
    /// The first server's tree at the end.
    pub tree: datatree::DataTree,
}

/// Runs `lines` and returns one output per line, or why the run failed.
pub fn run(lines: Vec<ScriptLine>, seed: u64) -> Result<Vec<Value>, String> {
    run_full(lines, seed).map(|r| r.outputs)
}

/// Runs `lines`; the outputs and the final tree, or why the run failed.
pub fn run_full(lines: Vec<ScriptLine>, seed: u64) -> Result<ScriptRun, String> {
    let loaded = scenario::load("zk-script", SCENARIO, &[]).map_err(|e| e.to_string())?;
    let s = &loaded.scenario;
    let resolved = scenario::resolve(s, seed, <zkserver::Msg as proto::Message>::KINDS)
        .map_err(|p| format!("{p:?}"))?;
    let layout = crate::ensemble::Layout::of(s);
    assert_eq!(layout.voters.len(), SERVERS as usize);
    let servers: Vec<ProcessId> = layout.servers().collect();
    let driver = layout.clients[0];
    let mut make_server = crate::ensemble::server_factory(s);
    let script = Some(ScriptDriver::new(lines, servers.clone()));
    let mut script = script;
    let factory: Factory<Node> = Box::new(move |pid| {
        if pid == driver {
            Node::Script(Box::new(script.take().expect("the driver never restarts")))
        } else {
            make_server(pid)
        }
    });
    let mut observer = ScriptObserver {
        driver,
        servers,
        started_seen: 0,
        outputs: None,
        tree: None,
    };
    let outcome = Sim::new(resolved.kernel, factory).run(&mut observer);
    match (outcome.verdict, observer.outputs, observer.tree) {
        (Verdict::Pass, Some(outputs), Some(tree)) => Ok(ScriptRun { outputs, tree }),
        (verdict, _, _) => Err(format!("the script run failed: {verdict:?}")),
    }
}
