//! Test harness for the datatree's data-driven tests: a one-line command language for ops,
//! a compact rendering of results and stats, and `check(script)`, which runs each line on
//! one tree (each write gets the next zxid in epoch 1 and time = 1000 × counter ms) and
//! compares the rendering. After every line it asserts the tree's invariants, no misfits,
//! and that snapshot → restore gives back the same tree.
#![allow(dead_code)]

use datatree::{DataTree, TxnHeader};
use proto::zk::{CreateMode, MultiResult, Op, OpResult, SessionId, Stat};
use proto::{Epoch, Zxid};

/// Parse one op: `create PATH MODE [DATA…]`, `delete PATH VERSION`, `set PATH VERSION
/// [DATA…]`, `check PATH VERSION`, `get PATH`, `exists PATH`, `children PATH`,
/// `sync PATH`, `close`, `open TIMEOUT_MS`, `multi OP ; OP ; …`. The path `''` is the
/// empty string. Data is the rest of the line, joined by single spaces.
pub fn parse_op(line: &str) -> Op {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("multi") {
        let ops = rest
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_op)
            .collect();
        return Op::Multi(ops);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let path = || {
        let p = words
            .get(1)
            .copied()
            .unwrap_or_else(|| panic!("no path: {line}"));
        if p == "''" {
            String::new()
        } else {
            p.to_owned()
        }
    };
    let version = || -> i32 {
        words[2]
            .parse()
            .unwrap_or_else(|_| panic!("version: {line}"))
    };
    let data_from = |i: usize| -> Vec<u8> { words.get(i..).unwrap_or(&[]).join(" ").into_bytes() };
    match words[0] {
        "create" => Op::Create {
            path: path(),
            data: data_from(3),
            mode: words[2].parse::<CreateMode>().unwrap(),
        },
        "delete" => Op::Delete {
            path: path(),
            version: version(),
        },
        "set" => Op::SetData {
            path: path(),
            data: data_from(3),
            version: version(),
        },
        "check" => Op::Check {
            path: path(),
            version: version(),
        },
        "get" => Op::GetData {
            path: path(),
            watch: false,
        },
        "exists" => Op::Exists {
            path: path(),
            watch: false,
        },
        "children" => Op::GetChildren {
            path: path(),
            watch: false,
        },
        "sync" => Op::Sync { path: path() },
        "close" => Op::CloseSession,
        "open" => Op::CreateSession {
            timeout_ms: words[1].parse().unwrap(),
        },
        other => panic!("unknown command {other:?} in {line:?}"),
    }
}

pub fn render_stat(s: &Stat) -> String {
    format!(
        "czxid={} mzxid={} pzxid={} ctime={} mtime={} version={} cversion={} aversion={} \
         owner={} len={} children={}",
        s.czxid.counter(),
        s.mzxid.counter(),
        s.pzxid.counter(),
        s.ctime,
        s.mtime,
        s.version,
        s.cversion,
        s.aversion,
        s.ephemeral_owner,
        s.data_length,
        s.num_children
    )
}

fn render_multi(r: &MultiResult) -> String {
    match r {
        MultiResult::Created { path, .. } => format!("created {path}"),
        MultiResult::Deleted => "deleted".into(),
        MultiResult::SetData(stat) => format!("set version {}", stat.version),
        MultiResult::Checked => "checked".into(),
        MultiResult::RolledBack => "rolled_back".into(),
        MultiResult::Err(e) => format!("err {e}"),
    }
}

pub fn render(r: &OpResult) -> String {
    match r {
        OpResult::Created { path, .. } => format!("created {path}"),
        OpResult::Deleted => "deleted".into(),
        OpResult::Stat(stat) => format!("version {}", stat.version),
        OpResult::Checked => "checked".into(),
        OpResult::Data { data, stat } => format!(
            "data {:?} version {} len {}",
            String::from_utf8_lossy(data),
            stat.version,
            stat.data_length
        ),
        OpResult::Exists(Some(stat)) => format!("exists version {}", stat.version),
        OpResult::Exists(None) => "absent".into(),
        OpResult::Children(names) => format!("children [{}]", names.join(" ")),
        OpResult::Multi(results) => format!(
            "multi [{}]",
            results
                .iter()
                .map(render_multi)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        OpResult::Synced { path } => format!("synced {path}"),
        OpResult::SessionCreated { timeout_ms } => format!("session {timeout_ms}"),
        OpResult::SessionClosed => "closed".into(),
        OpResult::Err(e) => format!("err {e}"),
    }
}

pub fn header(session: u64, counter: u32) -> TxnHeader {
    TxnHeader {
        session: SessionId(session),
        zxid: Zxid::new(Epoch(1), counter),
        time_ms: 1000 * i64::from(counter),
    }
}

/// One tree and the zxid counter of the last write.
pub struct Harness {
    pub tree: DataTree,
    pub counter: u32,
}

impl Default for Harness {
    fn default() -> Self {
        Harness {
            tree: DataTree::new(),
            counter: 0,
        }
    }
}

impl Harness {
    /// Run one line: `[sN] COMMAND` (session N, default 1), or `stat PATH` for the full
    /// stat of a node (`absent` if missing).
    pub fn run(&mut self, line: &str) -> String {
        let (session, command) = match line.split_once(' ') {
            Some((s, rest)) if s.starts_with('s') && s[1..].parse::<u64>().is_ok() => {
                (s[1..].parse().unwrap(), rest)
            }
            _ => (1, line),
        };
        if let Some(path) = command.strip_prefix("stat ") {
            return match self.tree.stat(path.trim()) {
                Some(s) => render_stat(&s),
                None => "absent".into(),
            };
        }
        let op = parse_op(command);
        let result = if op.is_write() {
            self.counter += 1;
            self.tree.execute(header(session, self.counter), &op)
        } else {
            self.tree.read(&op)
        };
        self.tree.check_invariants();
        assert_eq!(self.tree.misfits(), 0, "misfit after {line:?}");
        let restored = DataTree::restore(&self.tree.snapshot());
        assert_eq!(
            restored, self.tree,
            "snapshot/restore differs after {line:?}"
        );
        assert_eq!(restored.digest(), self.tree.digest());
        render(&result)
    }
}

/// Run `script` on a fresh tree; each entry is `(line, expected rendering)`.
pub fn check(script: &[(&str, &str)]) {
    let mut h = Harness::default();
    for (i, (line, expected)) in script.iter().enumerate() {
        let got = h.run(line);
        assert_eq!(&got, expected, "line {i}: {line:?}");
    }
}
