//! Hand-built ZooKeeper histories for the checker tests: a builder that runs writes on a
//! reference `DataTree` at the zxids the test gives (so recorded results are a real
//! execution's unless a test plants something else) and answers reads from the state at a
//! zxid, plus small op constructors.
#![allow(dead_code)]

use std::collections::BTreeMap;

use datatree::{DataTree, TxnHeader};
use proto::history::{Event, OpRecord, Outcome, QueueKind, QueueRecord, SessionEnd};
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, Op, OpResult, SessionId, ZkError};
use proto::{ProcessId, Zxid};

pub fn sid(s: u64) -> SessionId {
    SessionId(0x100 + s)
}

pub fn create(path: &str, data: &str) -> Op {
    Op::Create {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        mode: CreateMode::Persistent,
    }
}

pub fn create_mode(path: &str, data: &str, mode: CreateMode) -> Op {
    Op::Create {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        mode,
    }
}

pub fn set(path: &str, data: &str) -> Op {
    Op::SetData {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        version: -1,
    }
}

pub fn set_v(path: &str, data: &str, version: i32) -> Op {
    Op::SetData {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        version,
    }
}

pub fn delete(path: &str) -> Op {
    Op::Delete {
        path: path.into(),
        version: -1,
    }
}

pub fn get(path: &str) -> Op {
    Op::GetData {
        path: path.into(),
        watch: false,
    }
}

pub fn get_w(path: &str) -> Op {
    Op::GetData {
        path: path.into(),
        watch: true,
    }
}

pub fn exists_w(path: &str) -> Op {
    Op::Exists {
        path: path.into(),
        watch: true,
    }
}

pub fn children(path: &str) -> Op {
    Op::GetChildren {
        path: path.into(),
        watch: false,
    }
}

pub fn children_w(path: &str) -> Op {
    Op::GetChildren {
        path: path.into(),
        watch: true,
    }
}

/// A history under construction.
#[derive(Default)]
pub struct Builder {
    pub events: Vec<Event>,
    tree: DataTree,
    /// The state after each applied zxid.
    states: Vec<(Zxid, DataTree)>,
    xids: BTreeMap<u64, u64>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    fn next_xid(&mut self, s: u64) -> u64 {
        let xid = self.xids.entry(s).or_insert(0);
        *xid += 1;
        *xid
    }

    fn apply(&mut self, s: u64, op: &Op, zxid: u64) -> OpResult {
        let header = TxnHeader {
            session: sid(s),
            zxid: Zxid(zxid),
            time_ms: 0,
        };
        let result = self.tree.execute(header, op);
        self.states.push((Zxid(zxid), self.tree.clone()));
        result
    }

    /// The state after every applied write with zxid ≤ `zxid`.
    pub fn state_at(&self, zxid: u64) -> DataTree {
        let at = self.states.partition_point(|(z, _)| z.0 <= zxid);
        at.checked_sub(1)
            .map_or_else(DataTree::new, |i| self.states[i].1.clone())
    }

    pub fn push(&mut self, event: Event) -> usize {
        self.events.push(event);
        self.events.len() - 1
    }

    /// Record an op with everything given.
    #[allow(clippy::too_many_arguments)]
    pub fn raw(
        &mut self,
        s: u64,
        op: Op,
        invoke: u64,
        complete: Option<u64>,
        result: Option<OpResult>,
        zxid: Option<u64>,
    ) -> usize {
        let xid = self.next_xid(s);
        let zxid = zxid.map(Zxid);
        let outcome = match &result {
            Some(r) if complete.is_some() => Outcome::of(r, zxid),
            _ => Outcome::Info,
        };
        self.push(Event::Op(OpRecord {
            process: ProcessId(10 + s as u32),
            session: sid(s),
            xid,
            op,
            invoke_ns: invoke,
            complete_ns: complete,
            outcome,
            result,
            zxid,
        }))
    }

    /// A write that took effect at `zxid` (zxids must increase), answered.
    pub fn write(&mut self, s: u64, op: Op, invoke: u64, complete: u64, zxid: u64) -> usize {
        let result = self.apply(s, &op, zxid);
        self.raw(s, op, invoke, Some(complete), Some(result), Some(zxid))
    }

    /// A write whose answer was lost (ConnectionLoss, no zxid); it took effect at `applied`
    /// if given.
    pub fn lost_write(
        &mut self,
        s: u64,
        op: Op,
        invoke: u64,
        complete: u64,
        applied: Option<u64>,
    ) -> usize {
        if let Some(zxid) = applied {
            self.apply(s, &op, zxid);
        }
        let result = OpResult::Err(ZkError::ConnectionLoss);
        self.raw(s, op, invoke, Some(complete), Some(result), None)
    }

    /// A read answered from the state at `zxid`.
    pub fn read(&mut self, s: u64, op: Op, invoke: u64, complete: u64, zxid: u64) -> usize {
        let result = self.state_at(zxid).read(&op);
        self.raw(s, op, invoke, Some(complete), Some(result), Some(zxid))
    }

    pub fn sync(&mut self, s: u64, invoke: u64, complete: u64, zxid: u64) -> usize {
        let op = Op::Sync { path: "/".into() };
        let result = OpResult::Synced { path: "/".into() };
        self.raw(s, op, invoke, Some(complete), Some(result), Some(zxid))
    }

    /// The servers close session `s` at `zxid`, first applied at `time`.
    pub fn server_close(&mut self, s: u64, zxid: u64, time: u64) -> usize {
        let header = TxnHeader {
            session: sid(s),
            zxid: Zxid(zxid),
            time_ms: 0,
        };
        self.tree.close_session(header);
        self.states.push((Zxid(zxid), self.tree.clone()));
        self.push(Event::ServerClose {
            session: sid(s),
            zxid: Zxid(zxid),
            time_ns: time,
        })
    }

    pub fn watch_event(
        &mut self,
        s: u64,
        kind: EventType,
        path: &str,
        zxid: u64,
        time: u64,
    ) -> usize {
        self.push(Event::Watch {
            process: ProcessId(10 + s as u32),
            session: sid(s),
            time_ns: time,
            watch: WatchEvent {
                kind,
                path: path.into(),
                zxid: Zxid(zxid),
            },
        })
    }

    pub fn session_end(&mut self, s: u64, time: u64) -> usize {
        self.push(Event::SessionEnd {
            process: ProcessId(10 + s as u32),
            session: sid(s),
            time_ns: time,
            end: SessionEnd::Expired,
        })
    }

    pub fn finish(self) -> Vec<Event> {
        self.events
    }
}

/// The recorded result of op event `index`, to plant a violation.
pub fn result_mut(events: &mut [Event], index: usize) -> &mut OpResult {
    match &mut events[index] {
        Event::Op(r) => r.result.as_mut().expect("the op has a result"),
        other => panic!("event {index} is not an op: {other:?}"),
    }
}

pub fn record_mut(events: &mut [Event], index: usize) -> &mut OpRecord {
    match &mut events[index] {
        Event::Op(r) => r,
        other => panic!("event {index} is not an op: {other:?}"),
    }
}

/// A queue record.
#[allow(clippy::too_many_arguments)]
pub fn queue_op(
    process: u32,
    kind: QueueKind,
    item: u64,
    invoke: u64,
    complete: Option<u64>,
    outcome: Outcome,
    at_least_once: bool,
) -> Event {
    Event::Queue(QueueRecord {
        process: ProcessId(process),
        queue: "/q".into(),
        kind,
        item: Some(item),
        invoke_ns: invoke,
        complete_ns: complete,
        outcome,
        at_least_once,
    })
}
