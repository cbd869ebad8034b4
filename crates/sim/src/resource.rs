//! The lock's protected resource: a simulated storage service (its own sans-IO process on
//! the ensemble's wire) that lock holders write to during their critical sections. With
//! fencing on, each write carries the holder's fencing token (its lock node's creation
//! zxid) and the resource refuses a token lower than the highest it accepted (Kleppmann,
//! "How to do distributed locking", 2016); without fencing it accepts every write. Each
//! write it handles is reported for the history (`ClientNote::ResourceWrite`), in its
//! order: what the lock checker (`check::lock`) judges mutual exclusion by.
//!
//! The wire is the ensemble's (`zkserver::Msg`, which has no variant of its own for a third
//! kind of service): a write travels as a client `Request` carrying
//! `SetData { path: RESOURCE_PATH, data: <the write, encoded> }` and is answered by a
//! `Reply` — `Stat` when accepted, `BadVersion` when refused as stale.
//! The resource is not a fault target: a store that forgot its highest token would make
//! fencing meaningless, so its durability is assumed.
//! The fail-over scheduler's workers write to it too: a write naming a task (`k=<task>`,
//! with `h` its execution number) is reported as a task write
//! (`ClientNote::TaskWrite`) and fenced the same way, its token being the epoch of the
//! leader that assigned the task.
//! Invariants (asserted): the highest accepted token never decreases; with fencing every
//! accepted write carries a token no lower than it; writes are numbered 1, 2, … in the
//! order handled.

use proto::history::ClientNote;
use proto::wire::{ClientMsg, ServerMsg};
use proto::zk::{Op, OpResult, SessionId, Stat, ZkError};
use proto::{Ctx, Outbox, Process, ProcessId, Recovered, TimerId, WriteId, Zxid};
use zkserver::{DiskRecord as Record, Msg, Note};

/// The path a resource write names (the resource has one object).
pub const RESOURCE_PATH: &str = "/resource";

type Out = Outbox<Msg, Record, Note>;

/// A writer's reading of a message from the resource: whether the write it awaits
/// (`awaiting`, its xid) was accepted (`Some(true)`) or refused as stale (`Some(false)`),
/// after which nothing is awaited; `None` when the message answers no awaited write (not a
/// reply, or an earlier copy's). Shared by lock holders and scheduler workers.
pub fn answer_to(msg: Msg, awaiting: &mut Option<u64>) -> Option<bool> {
    let Msg::ToClient(m) = msg else {
        return None;
    };
    let ServerMsg::Reply { xid, result, .. } = *m else {
        return None;
    };
    if *awaiting != Some(xid) {
        return None; // an earlier copy's reply
    }
    *awaiting = None;
    match result {
        OpResult::Stat(_) => Some(true),
        OpResult::Err(ZkError::BadVersion) => Some(false),
        other => panic!("the resource answered {other:?}"),
    }
}

/// One write to the resource: whose hold it belongs to and its fencing token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceWrite {
    pub session: SessionId,
    pub hold: u64,
    /// The write's number within its hold (1, 2, …).
    pub n: u64,
    pub token: Option<u64>,
    /// The task a scheduler worker executes (then `hold` is its execution number); `None`
    /// for a lock holder's write.
    pub task: Option<u64>,
}

impl ResourceWrite {
    /// The write as the request a holder sends (`xid` numbers the holder's writes).
    pub fn to_msg(&self, xid: u64) -> Msg {
        // "s={session:x} h={hold} n={n} t={token:x or -}[ k={task}]"
        use proto::text::{push_decimal, push_hex};
        let mut data = String::from("s=");
        push_hex(&mut data, self.session.0);
        data.push_str(" h=");
        push_decimal(&mut data, self.hold);
        data.push_str(" n=");
        push_decimal(&mut data, self.n);
        data.push_str(" t=");
        match self.token {
            Some(t) => push_hex(&mut data, t),
            None => data.push('-'),
        }
        if let Some(task) = self.task {
            data.push_str(" k=");
            push_decimal(&mut data, task);
        }
        Msg::from_client(ClientMsg::Request {
            conn: 0,
            xid,
            op: Op::SetData {
                path: RESOURCE_PATH.to_string(),
                data: data.into_bytes(),
                version: Op::ANY_VERSION,
            },
        })
    }

    /// The write a request carries (None: not a resource write).
    pub fn parse(data: &[u8]) -> Option<ResourceWrite> {
        let text = std::str::from_utf8(data).ok()?;
        let mut fields = text.split(' ').map(|f| f.split_once('='));
        let mut next = |key: &str| match fields.next()? {
            Some((k, v)) if k == key => Some(v),
            _ => None,
        };
        let session = SessionId(u64::from_str_radix(next("s")?, 16).ok()?);
        let hold = next("h")?.parse().ok()?;
        let n = next("n")?.parse().ok()?;
        let token = match next("t")? {
            "-" => None,
            t => Some(u64::from_str_radix(t, 16).ok()?),
        };
        let task = match fields.next() {
            None => None,
            Some(Some(("k", k))) => Some(k.parse().ok()?),
            Some(_) => return None,
        };
        if fields.next().is_some() {
            return None;
        }
        Some(ResourceWrite {
            session,
            hold,
            n,
            token,
            task,
        })
    }
}

/// The resource's decision logic, apart from the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    fencing: bool,
    /// The highest token accepted so far.
    token_max: Option<u64>,
    /// Writes handled so far.
    pub writes: u64,
}

impl Fence {
    pub fn new(fencing: bool) -> Fence {
        Fence {
            fencing,
            token_max: None,
            writes: 0,
        }
    }

    /// Handles one write: its number and whether it was accepted.
    pub fn write(&mut self, token: Option<u64>) -> (u64, bool) {
        self.check_invariants();
        let before = (self.token_max, self.writes);
        self.writes = self.writes.checked_add(1).expect("writes fit in u64");
        let accepted = match (self.fencing, token) {
            (false, _) => true,
            (true, None) => false, // a holder that sends no token is not fenced in
            (true, Some(t)) => self.token_max.is_none_or(|max| t >= max),
        };
        if accepted && self.fencing {
            let t = token.expect("accepted under fencing");
            self.token_max = Some(self.token_max.map_or(t, |m| m.max(t)));
            assert!(
                self.token_max == Some(t),
                "an accepted token is the highest"
            );
        }
        assert!(
            self.token_max >= before.0,
            "the highest token never decreases"
        );
        assert_eq!(self.writes, before.1 + 1, "writes are numbered in order");
        self.check_invariants();
        (self.writes, accepted)
    }

    /// Without fencing no token is ever kept; with it, a kept token came with a write.
    fn check_invariants(&self) {
        assert!(
            self.fencing || self.token_max.is_none(),
            "a token kept without fencing"
        );
        assert!(
            self.token_max.is_none() || self.writes > 0,
            "a token without a write"
        );
    }

    pub fn token_max(&self) -> Option<u64> {
        self.token_max
    }
}

/// The resource process.
pub struct Resource {
    fence: Fence,
}

impl Resource {
    pub fn new(fencing: bool) -> Resource {
        Resource {
            fence: Fence::new(fencing),
        }
    }

    pub fn writes(&self) -> u64 {
        self.fence.writes
    }
}

impl Process for Resource {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, _ctx: &mut Ctx, _disk: Recovered<'_, Record>, _out: &mut Out) {}

    fn on_message(&mut self, _ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        let Msg::FromClient(m) = msg else {
            return;
        };
        let ClientMsg::Request {
            conn,
            xid,
            op: Op::SetData { path, data, .. },
        } = *m
        else {
            return;
        };
        let write = match ResourceWrite::parse(&data) {
            Some(w) if path == RESOURCE_PATH => w,
            _ => return, // not a resource write: nothing else speaks to the resource
        };
        assert!(
            write.n >= 1 && write.hold >= 1 && !write.session.is_none(),
            "a write names its session's hold, counted from 1: {write:?}"
        );
        let (index, accepted) = self.fence.write(write.token);
        let note = match write.task {
            None => ClientNote::ResourceWrite {
                index,
                holder: from,
                session: write.session,
                hold: write.hold,
                token: write.token,
                accepted,
            },
            Some(task) => ClientNote::TaskWrite {
                index,
                worker: from,
                session: write.session,
                attempt: write.hold,
                task,
                n: write.n,
                token: write.token,
                accepted,
            },
        };
        out.note(Note::client(note));
        let result = if accepted {
            OpResult::Stat(Stat::default())
        } else {
            OpResult::Err(ZkError::BadVersion)
        };
        let reply = ServerMsg::Reply {
            conn,
            seq: 0,
            xid,
            zxid: Zxid(0),
            result,
        };
        out.send(from, Msg::to_client(reply));
    }

    fn on_timer(&mut self, _ctx: &mut Ctx, _timer: TimerId, _out: &mut Out) {}

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_round_trip_through_the_wire() {
        let w = ResourceWrite {
            session: SessionId(0x1_0000_00ab),
            hold: 3,
            n: 2,
            token: Some(0x2_0000_0011),
            task: None,
        };
        let Msg::FromClient(m) = w.to_msg(7) else {
            panic!("a client message")
        };
        let ClientMsg::Request {
            xid,
            op: Op::SetData { data, path, .. },
            ..
        } = *m
        else {
            panic!("a setData request")
        };
        assert_eq!((xid, path.as_str()), (7, RESOURCE_PATH));
        assert_eq!(ResourceWrite::parse(&data), Some(w.clone()));
        let unfenced = ResourceWrite { token: None, ..w };
        assert_eq!(
            std::str::from_utf8(&{
                let Msg::FromClient(m) = unfenced.to_msg(1) else {
                    panic!()
                };
                let ClientMsg::Request {
                    op: Op::SetData { data, .. },
                    ..
                } = *m
                else {
                    panic!()
                };
                data
            })
            .unwrap(),
            "s=1000000ab h=3 n=2 t=-"
        );
        assert_eq!(ResourceWrite::parse(b"s=1 h=2"), None);
        assert_eq!(ResourceWrite::parse(b"t=1 s=1 h=2 n=1"), None);
        // A task write: the lock's fields, then the task.
        assert_eq!(
            ResourceWrite::parse(b"s=ab h=3 n=1 t=30 k=7"),
            Some(ResourceWrite {
                session: SessionId(0xab),
                hold: 3,
                n: 1,
                token: Some(0x30),
                task: Some(7),
            })
        );
        assert_eq!(ResourceWrite::parse(b"s=ab h=3 n=1 t=30 k=7 z=1"), None);
        assert_eq!(ResourceWrite::parse(b"s=ab h=3 n=1 t=30 q=7"), None);
    }

    #[test]
    fn the_fence_refuses_lower_tokens_and_accepts_equal_ones() {
        let mut f = Fence::new(true);
        assert_eq!(f.write(Some(10)), (1, true));
        assert_eq!(f.write(Some(10)), (2, true), "the same holder writes again");
        assert_eq!(f.write(Some(30)), (3, true));
        assert_eq!(f.write(Some(20)), (4, false), "stale");
        assert_eq!(f.write(None), (5, false), "no token, no entry");
        assert_eq!(f.token_max(), Some(30));
        assert_eq!(f.write(Some(31)), (6, true));
    }

    #[test]
    fn without_fencing_every_write_lands() {
        let mut f = Fence::new(false);
        assert_eq!(f.write(Some(30)), (1, true));
        assert_eq!(f.write(Some(20)), (2, true));
        assert_eq!(f.write(None), (3, true));
        assert_eq!(f.token_max(), None);
    }

    struct NoEntropy;
    impl proto::Entropy for NoEntropy {
        fn next_u64(&mut self) -> u64 {
            panic!("the resource draws nothing")
        }
    }

    #[test]
    fn the_process_answers_and_reports_each_write() {
        use proto::Output;
        use proto::history::ClientNote as C;
        let mut r = Resource::new(true);
        let mut out = Out::default();
        let mut rng = NoEntropy;
        let mut ctx = Ctx {
            me: ProcessId(9),
            mono: proto::Time(5),
            wall: proto::Time(5),
            rng: &mut rng,
        };
        let w = |token| ResourceWrite {
            session: SessionId(4),
            hold: 1,
            n: 1,
            token: Some(token),
            task: None,
        };
        r.on_message(&mut ctx, ProcessId(5), w(20).to_msg(1), &mut out);
        r.on_message(&mut ctx, ProcessId(6), w(10).to_msg(1), &mut out);
        let seen: Vec<String> = out
            .as_slice()
            .iter()
            .map(|o| match o {
                Output::Note(Note::Client(c)) => match **c {
                    C::ResourceWrite {
                        index, accepted, ..
                    } => format!("write {index} {accepted}"),
                    _ => panic!("{c:?}"),
                },
                Output::Send {
                    to,
                    msg: Msg::ToClient(s),
                } => match &**s {
                    ServerMsg::Reply { result, .. } => format!("{to} {result:?}"),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            seen,
            [
                "write 1 true",
                &format!("p5 {:?}", OpResult::Stat(Stat::default())),
                "write 2 false",
                "p6 Err(BadVersion)"
            ]
        );
        assert_eq!(r.writes(), 2);
    }
}
