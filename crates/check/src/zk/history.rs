//! The history as the ZooKeeper checkers see it: every event classified once into writes
//! (client writes and the servers' own session closes), checkable reads and syncs, and
//! per-session chains in request (xid) order; plus a short rendering of any event for
//! explanations.
//!
//! Classification (the checkers' reading of `proto::history`):
//! - A write is an op with `Op::is_write()` other than `CreateSession` (session creation is
//!   not part of the tree's history), or an `Event::ServerClose`. Its status: `Ok`; `Fail`
//!   with an error the tree gives (judged against the tree, changed nothing); `NoOp`, a
//!   failure from before the tree (SessionExpired, SessionMoved, …: changed nothing);
//!   `Info` (may or may not have taken effect, at any time after its invocation — an info
//!   write is pending forever, whatever its completion time says); `ServerClose` (took
//!   effect at its zxid; its interval is the single instant it was first applied; one
//!   naming no session is malformed and ignored).
//! - A read (getData, exists, getChildren) or sync is checkable when it was answered by a
//!   server (outcome ok/fail and a reply zxid) with a result the tree can give; other reads
//!   constrain nothing.
//! - A session's chain holds its checkable reads and syncs and its answered writes (ok,
//!   fail, no-op), ordered by xid: the order in which the session's requests were
//!   submitted and answered. An op recorded before its session had an id
//!   (`SessionId::NONE`) is a chain of its own (ordered with nothing); its txn header's
//!   session (the owner of any ephemeral it creates) is the ephemeral owner its result
//!   reports, else the next session its process used, else a placeholder.
//!
//! Invariants: every index is an index into the classified `events`; chains are sorted by
//! (xid, event index); an info write has no completion time.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use proto::Zxid;
use proto::history::{Event, OpRecord, Outcome};
use proto::zk::{MultiResult, Op, OpResult, SessionId};

use super::compare::{is_tree_read_result, is_tree_write_error};

/// The op a server's session close applies.
pub(crate) static CLOSE_SESSION: Op = Op::CloseSession;

/// The txn header session of an op recorded without a session whose real session cannot be
/// told from the history.
pub(crate) const UNKNOWN_SESSION: SessionId = SessionId(u64::MAX);

/// What a write did, as far as the history tells.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum WriteStatus {
    /// Succeeded; the replay must give the recorded result.
    Ok,
    /// Failed with an error the tree gives; changed nothing; the replay must give the error.
    Fail,
    /// Failed before reaching the tree; changed nothing.
    NoOp,
    /// Unknown: may or may not have taken effect.
    Info,
    /// A session close the servers made on their own; took effect.
    ServerClose,
}

#[derive(Clone, Debug)]
pub(crate) struct WriteRec {
    pub event: usize,
    /// The txn header's session.
    pub session: SessionId,
    pub xid: u64,
    pub zxid: Option<Zxid>,
    pub invoke: u64,
    /// None: pending (info writes always).
    pub complete: Option<u64>,
    pub status: WriteStatus,
}

impl WriteRec {
    /// Took effect or definitely failed, and completed: the search must linearize it.
    pub fn is_decided(&self) -> bool {
        matches!(
            self.status,
            WriteStatus::Ok | WriteStatus::Fail | WriteStatus::ServerClose
        )
    }

    /// The replay compares its result with the recorded one.
    pub fn has_known_result(&self) -> bool {
        matches!(self.status, WriteStatus::Ok | WriteStatus::Fail)
    }
}

/// A checkable read or sync.
#[derive(Clone, Debug)]
pub(crate) struct ReadRec {
    pub event: usize,
    pub xid: u64,
    pub zxid: Zxid,
    pub invoke: u64,
    pub complete: u64,
}

/// One entry of a session chain: an index into `writes`, `reads` or `syncs`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    Write(u32),
    Read(u32),
    Sync(u32),
}

#[derive(Clone, Debug)]
pub(crate) struct Chain {
    pub items: Vec<Item>,
}

/// The classified history.
#[derive(Clone, Debug, Default)]
pub(crate) struct Classified {
    pub writes: Vec<WriteRec>,
    pub reads: Vec<ReadRec>,
    pub syncs: Vec<ReadRec>,
    pub chains: Vec<Chain>,
    /// Reads and syncs that constrain nothing (unanswered, or answered with a session error).
    pub unchecked: usize,
    /// The latest time in the history.
    pub end_time: u64,
}

/// The op record of event `index`; panics if it is not an op.
pub(crate) fn record(events: &[Event], index: usize) -> &OpRecord {
    match &events[index] {
        Event::Op(record) => record,
        other => panic!("event {index} is not an op: {other:?}"),
    }
}

impl Classified {
    pub fn new(events: &[Event]) -> Classified {
        let mut c = Classified::default();
        let headers = unbound_headers(events);
        let mut chain_of: BTreeMap<SessionId, u32> = BTreeMap::new();
        let mut chain_for = |session: SessionId, chains: &mut Vec<Chain>| -> Option<u32> {
            let mut fresh = || {
                chains.push(Chain { items: Vec::new() });
                u32::try_from(chains.len() - 1).expect("fewer than 2^32 chains")
            };
            if session.is_none() {
                // Its own chain: its session is unknown, so it is ordered with nothing.
                return Some(fresh());
            }
            Some(*chain_of.entry(session).or_insert_with(fresh))
        };
        for (index, event) in events.iter().enumerate() {
            c.end_time = c.end_time.max(event.time_ns());
            match event {
                Event::Op(r) if r.op.is_write() && !matches!(r.op, Op::CreateSession { .. }) => {
                    let status = write_status(r);
                    let chain = if matches!(status, WriteStatus::Info) {
                        None
                    } else {
                        chain_for(r.session, &mut c.chains)
                    };
                    let session = if r.session.is_none() {
                        headers.get(&index).copied().unwrap_or(UNKNOWN_SESSION)
                    } else {
                        r.session
                    };
                    let write = WriteRec {
                        event: index,
                        session,
                        xid: r.xid,
                        zxid: r.zxid,
                        invoke: r.invoke_ns,
                        complete: if status == WriteStatus::Info {
                            None
                        } else {
                            Some(r.complete_ns.unwrap_or(r.invoke_ns))
                        },
                        status,
                    };
                    push_item(&mut c.chains, chain, Item::Write(len_u32(c.writes.len())));
                    c.writes.push(write);
                }
                Event::Op(r) if r.op.is_read() || matches!(r.op, Op::Sync { .. }) => {
                    let answered = match (&r.result, r.zxid, r.complete_ns) {
                        (Some(result), Some(zxid), Some(complete))
                            if r.outcome != Outcome::Info =>
                        {
                            let usable = if r.op.is_read() {
                                is_tree_read_result(result)
                            } else {
                                matches!(result, OpResult::Synced { .. })
                            };
                            usable.then_some((zxid, complete))
                        }
                        _ => None,
                    };
                    let Some((zxid, complete)) = answered else {
                        c.unchecked += 1;
                        continue;
                    };
                    let chain = chain_for(r.session, &mut c.chains);
                    let rec = ReadRec {
                        event: index,
                        xid: r.xid,
                        zxid,
                        invoke: r.invoke_ns,
                        complete,
                    };
                    if r.op.is_read() {
                        push_item(&mut c.chains, chain, Item::Read(len_u32(c.reads.len())));
                        c.reads.push(rec);
                    } else {
                        push_item(&mut c.chains, chain, Item::Sync(len_u32(c.syncs.len())));
                        c.syncs.push(rec);
                    }
                }
                Event::ServerClose {
                    session,
                    zxid,
                    time_ns,
                } if !session.is_none() => c.writes.push(WriteRec {
                    event: index,
                    session: *session,
                    xid: 0,
                    zxid: Some(*zxid),
                    invoke: *time_ns,
                    complete: Some(*time_ns),
                    status: WriteStatus::ServerClose,
                }),
                Event::Op(_)
                | Event::ServerClose { .. }
                | Event::Watch { .. }
                | Event::SessionEnd { .. }
                | Event::Queue(_)
                | Event::Lock(_)
                | Event::Resource(_)
                | Event::Leader(_)
                | Event::Task(_)
                | Event::TaskWrite(_)
                | Event::Barrier(_)
                | Event::Member(_)
                | Event::View(_)
                | Event::Config(_)
                | Event::MqAck(_)
                | Event::MqUnclean(_)
                | Event::MqConsumed(_)
                | Event::MqCommit(_) => {}
            }
        }
        for chain in &mut c.chains {
            let key = |item: &Item| match *item {
                Item::Write(w) => (c.writes[w as usize].xid, c.writes[w as usize].event),
                Item::Read(r) => (c.reads[r as usize].xid, c.reads[r as usize].event),
                Item::Sync(s) => (c.syncs[s as usize].xid, c.syncs[s as usize].event),
            };
            chain.items.sort_by_key(key);
        }
        c
    }

    /// The op a write applies.
    pub fn write_op<'e>(&self, events: &'e [Event], write: &WriteRec) -> &'e Op {
        match &events[write.event] {
            Event::Op(r) => &r.op,
            Event::ServerClose { .. } => &CLOSE_SESSION,
            other => panic!("write {} is not a write: {other:?}", write.event),
        }
    }
}

fn push_item(chains: &mut [Chain], chain: Option<u32>, item: Item) {
    if let Some(chain) = chain {
        chains[chain as usize].items.push(item);
    }
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("fewer than 2^32 ops of a kind")
}

fn write_status(r: &OpRecord) -> WriteStatus {
    match (r.outcome, &r.result) {
        (Outcome::Ok, Some(_)) => WriteStatus::Ok,
        (Outcome::Fail, Some(result)) => match result.error() {
            Some(err) if is_tree_write_error(err) => WriteStatus::Fail,
            _ => WriteStatus::NoOp,
        },
        _ => WriteStatus::Info,
    }
}

/// The txn header session of each write recorded without a session (see the module docs).
fn unbound_headers(events: &[Event]) -> BTreeMap<usize, SessionId> {
    // Per process: (first invocation, session) of every real session, sorted.
    let mut first_seen: BTreeMap<(proto::ProcessId, SessionId), u64> = BTreeMap::new();
    let mut unbound = Vec::new();
    for (index, event) in events.iter().enumerate() {
        if let Event::Op(r) = event {
            if r.session.is_none() {
                if r.op.is_write() {
                    unbound.push(index);
                }
            } else {
                let seen = first_seen.entry((r.process, r.session)).or_insert(u64::MAX);
                *seen = (*seen).min(r.invoke_ns);
            }
        }
    }
    let mut by_process: BTreeMap<proto::ProcessId, Vec<(u64, SessionId)>> = BTreeMap::new();
    for (&(process, session), &time) in &first_seen {
        by_process.entry(process).or_default().push((time, session));
    }
    for sessions in by_process.values_mut() {
        sessions.sort_unstable();
    }
    let mut headers = BTreeMap::new();
    for index in unbound {
        let r = record(events, index);
        let owner = r.result.as_ref().and_then(ephemeral_owner);
        let next = || {
            let sessions = by_process.get(&r.process)?;
            let at = sessions.partition_point(|&(time, _)| time < r.invoke_ns);
            sessions.get(at).map(|&(_, session)| session)
        };
        if let Some(session) = owner.or_else(next) {
            headers.insert(index, session);
        }
    }
    headers
}

/// The owner of an ephemeral node a create result reports.
fn ephemeral_owner(result: &OpResult) -> Option<SessionId> {
    let owner = |stat: &Option<proto::zk::Stat>| {
        stat.map(|s| s.ephemeral_owner)
            .filter(|owner| !owner.is_none())
    };
    match result {
        OpResult::Created { stat, .. } => owner(stat),
        OpResult::Multi(entries) => entries.iter().find_map(|e| match e {
            MultiResult::Created { stat, .. } => owner(stat),
            _ => None,
        }),
        _ => None,
    }
}

/// Text of at most 24 bytes of data, lossy UTF-8.
fn short_data(data: &[u8]) -> String {
    let shown = &data[..data.len().min(24)];
    let mut text = format!("{:?}", String::from_utf8_lossy(shown));
    if data.len() > shown.len() {
        text.push('…');
    }
    text
}

fn short_result(result: &OpResult) -> String {
    match result {
        OpResult::Created { path, .. } => format!("created {path}"),
        OpResult::Deleted => "deleted".into(),
        OpResult::Stat(s) => format!("stat v{}", s.version),
        OpResult::Checked => "checked".into(),
        OpResult::Data { data, stat } => format!(
            "data {} v{} mzxid {}",
            short_data(data),
            stat.version,
            stat.mzxid
        ),
        OpResult::Exists(None) => "no node".into(),
        OpResult::Exists(Some(s)) => format!("exists v{} cv{}", s.version, s.cversion),
        OpResult::Children(names) => {
            let shown: Vec<&str> = names.iter().take(4).map(String::as_str).collect();
            let more = if names.len() > 4 { ", …" } else { "" };
            format!("children [{}{more}]", shown.join(", "))
        }
        OpResult::Multi(entries) => match result.error() {
            Some(err) => format!("multi failed {err}"),
            None => format!("multi ok ({} ops)", entries.len()),
        },
        OpResult::Synced { .. } => "synced".into(),
        OpResult::SessionCreated { .. } => "session created".into(),
        OpResult::SessionClosed => "session closed".into(),
        OpResult::Err(err) => err.name().into(),
    }
}

fn short_op(op: &Op) -> String {
    match op {
        Op::Create { path, data, mode } => format!("create {path} {} {mode}", short_data(data)),
        Op::Delete { path, version } => format!("delete {path} v{version}"),
        Op::SetData {
            path,
            data,
            version,
        } => format!("set_data {path} {} v{version}", short_data(data)),
        Op::Check { path, version } => format!("check {path} v{version}"),
        Op::Multi(ops) => {
            let parts: Vec<String> = ops.iter().take(3).map(short_op).collect();
            let more = if ops.len() > 3 { "; …" } else { "" };
            format!("multi[{}{more}]", parts.join("; "))
        }
        Op::GetData { path, watch }
        | Op::Exists { path, watch }
        | Op::GetChildren { path, watch } => {
            let w = if *watch { " watch" } else { "" };
            format!("{} {path}{w}", op.name())
        }
        Op::Sync { path } => format!("sync {path}"),
        Op::CloseSession | Op::CreateSession { .. } => op.name().into(),
    }
}

/// A one-line rendering of event `index`, for explanations.
pub fn render_event(events: &[Event], index: usize) -> String {
    let mut text = format!("#{index} ");
    let _ = match &events[index] {
        Event::Op(r) => {
            let result = r
                .result
                .as_ref()
                .map_or_else(|| "unanswered".into(), short_result);
            let zxid = r.zxid.map_or_else(String::new, |z| format!(" @{z}"));
            let complete = r
                .complete_ns
                .map_or_else(|| "never".into(), |t| t.to_string());
            write!(
                text,
                "session {} xid {} {} -> {:?} {result}{zxid} [{}..{complete}]",
                r.session,
                r.xid,
                short_op(&r.op),
                r.outcome,
                r.invoke_ns
            )
        }
        Event::Watch {
            session,
            time_ns,
            watch,
            ..
        } => write!(
            text,
            "session {session} watch event {:?} {} @{} [{time_ns}]",
            watch.kind, watch.path, watch.zxid
        ),
        Event::SessionEnd {
            session,
            time_ns,
            end,
            ..
        } => write!(text, "session {session} ended ({end:?}) [{time_ns}]"),
        Event::ServerClose {
            session,
            zxid,
            time_ns,
        } => write!(text, "servers closed session {session} @{zxid} [{time_ns}]"),
        Event::Queue(q) => {
            let complete = q
                .complete_ns
                .map_or_else(|| "never".into(), |t| t.to_string());
            let item = q.item.map_or_else(|| "unknown".into(), |i| i.to_string());
            write!(
                text,
                "{} {:?} {} item {item} -> {:?} [{}..{complete}]",
                q.process, q.kind, q.queue, q.outcome, q.invoke_ns
            )
        }
        Event::Lock(l) => {
            let at = |t: Option<u64>| t.map_or_else(|| "never".into(), |t| t.to_string());
            write!(
                text,
                "{} lock {} hold {}/{} node {} token {} -> {:?} [{}..{}..{}]",
                l.process,
                l.lock,
                l.session,
                l.hold,
                l.node.as_deref().unwrap_or("unknown"),
                l.token.map_or_else(|| "none".into(), |t| format!("{t:#x}")),
                l.end,
                l.request_ns,
                at(l.acquired_ns),
                at(l.end_ns)
            )
        }
        Event::Resource(r) => write!(
            text,
            "{} write #{} by {} hold {}/{} token {} -> {} [{}]",
            r.resource,
            r.index,
            r.holder,
            r.session,
            r.hold,
            r.token.map_or_else(|| "none".into(), |t| format!("{t:#x}")),
            if r.accepted { "accepted" } else { "refused" },
            r.time_ns
        ),
        Event::Leader(l) => write!(
            text,
            "{} leads with {} epoch {:#x} (session {}, tenure {}) -> {:?} [{}..{}]",
            l.process,
            l.node,
            l.epoch,
            l.session,
            l.tenure,
            l.end,
            l.start_ns,
            l.end_ns.map_or_else(|| "never".into(), |t| t.to_string())
        ),
        Event::Task(t) => write!(
            text,
            "{} executes task {} (session {}, execution {}) token {} -> {:?} [{}..{}]",
            t.process,
            t.task,
            t.session,
            t.attempt,
            t.token.map_or_else(|| "none".into(), |t| format!("{t:#x}")),
            t.end,
            t.start_ns,
            t.end_ns.map_or_else(|| "never".into(), |t| t.to_string())
        ),
        Event::TaskWrite(w) => write!(
            text,
            "{} write #{} by {} task {} (session {}, execution {}, #{}) token {} -> {} [{}]",
            w.resource,
            w.index,
            w.worker,
            w.task,
            w.session,
            w.attempt,
            w.n,
            w.token.map_or_else(|| "none".into(), |t| format!("{t:#x}")),
            if w.accepted { "accepted" } else { "refused" },
            w.time_ns
        ),
        Event::Barrier(b) => {
            let at = |t: Option<u64>| t.map_or_else(|| "-".into(), |t| t.to_string());
            write!(
                text,
                "{} barrier {} round {} in {} -> {:?} [start {} enter {} entered {} leave {} \
                 left {} end {}]",
                b.process,
                b.barrier,
                b.round,
                b.session,
                b.end,
                b.start_ns,
                at(b.enter_ns),
                at(b.entered_ns),
                at(b.leave_ns),
                at(b.left_ns),
                at(b.end_ns)
            )
        }
        Event::Member(m) => {
            let at = |t: Option<u64>| t.map_or_else(|| "-".into(), |t| t.to_string());
            write!(
                text,
                "{} member {}/{} \"{}\" join {} in {} -> {:?} [join {} joined {} leave {} end {}]",
                m.process,
                m.group,
                m.name,
                m.data,
                m.join,
                m.session,
                m.end,
                m.join_ns,
                at(m.joined_ns),
                at(m.leave_ns),
                at(m.end_ns)
            )
        }
        Event::View(v) => {
            let names: Vec<String> = v
                .members
                .iter()
                .map(|e| format!("{}=\"{}\"", e.name, e.data))
                .collect();
            write!(
                text,
                "{} view of {} in {}: [{}] [{}]",
                v.process,
                v.group,
                v.session,
                names.join(", "),
                v.time_ns
            )
        }
        Event::Config(c) => write!(
            text,
            "{} {:?} {} {}{} in session {} [{}]",
            c.process,
            c.kind,
            c.number,
            c.node.as_deref().unwrap_or(""),
            c.zxid.map_or_else(String::new, |z| format!(" @{z}")),
            c.session,
            c.time_ns
        ),
        Event::MqAck(a) => write!(
            text,
            "{} acked part {} offset {} value {} (acks={}) by broker {} [{}]",
            a.producer,
            a.part,
            a.offset,
            a.value,
            if a.acks_all { "all" } else { "1" },
            a.leader,
            a.time_ns
        ),
        Event::MqUnclean(u) => write!(
            text,
            "{} elected broker {} leader of part {} epoch {} uncleanly [{}]",
            u.controller, u.leader, u.part, u.epoch, u.time_ns
        ),
        Event::MqConsumed(c) => write!(
            text,
            "{} s{} consumed part {} offset {} value {} from broker {} [{}]",
            c.consumer, c.session, c.part, c.offset, c.value, c.leader, c.time_ns
        ),
        Event::MqCommit(c) => write!(
            text,
            "{} s{} committed part {} offset {} (version {} @{}) [{}]",
            c.consumer, c.session, c.part, c.offset, c.version, c.zxid, c.time_ns
        ),
    };
    text
}
