//! Group membership and naming (ZooKeeper's recipes page, "Group Membership"; Curator's
//! `GroupMember` and its cache) as two sans-IO state machines over a session.
//!
//! [`Member`]: a member joins by creating the ephemeral node `<group>/<name>` whose data is
//! its address and incarnation (`<address> s<session> j<join>`: unique per membership),
//! and leaves by deleting it; its session ending (expiry) takes the node, and the member
//! joins again in its next session. A create that finds the name taken reads the owner:
//! our own session's node (a create whose answer was lost) is ours; another session's (a
//! previous incarnation the servers have not expired yet) is waited out with a watch.
//!
//! [`Observer`]: lists the group's children with a watch, then reads each child's data,
//! and publishes the view (name → data, sorted by name) when it differs from the last one.
//! Every child event sets the watch again with a new listing; after a reconnection (the
//! client set its watches again) and in every new session it reads everything again. A
//! child event during a read marks the view dirty: one more listing follows.
//!
//! The host submits what `next_op` returns (one op at a time per machine) and feeds back
//! completions, watch events and session changes; events go to the history.
//! Invariants (asserted after every input): at most one op in flight, and only in a step
//! that sends one; a joined member has its data; an observer reads at most `GROUP_MAX`
//! children and publishes views sorted by name without duplicates.

use proto::history::{MemberStep, ViewEntry};
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, Op, OpResult, SessionId, ZkError};

/// Most children of the group node an observer reads (the simulator runs far fewer).
pub const GROUP_MAX: usize = 1024;

/// A member's step, for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberEvent {
    pub session: SessionId,
    pub join: u64,
    pub data: String,
    pub step: MemberStep,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Membership {
    Out,
    Joining,
    Joined,
    Leaving,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum MemberOp {
    /// Nothing to send.
    Rest,
    /// Creating the group node.
    Setup,
    /// Creating our node.
    Create,
    /// The name was taken: `exists` with a watch to read its owner.
    CheckOwn,
    /// Another session's node holds the name: waiting for its deletion.
    WaitOwnGone,
    /// Deleting our node.
    Delete,
}

/// One member's recipe.
#[derive(Clone, Debug)]
pub struct Member {
    group: String,
    name: String,
    setup_done: bool,
    state: Membership,
    step: MemberOp,
    in_flight: bool,
    session: SessionId,
    /// Joins in this session.
    joins: u64,
    /// The current membership's node data.
    data: String,
}

fn persistent(path: &str) -> Op {
    Op::Create {
        path: path.to_string(),
        data: Vec::new(),
        mode: CreateMode::Persistent,
    }
}

fn created_or_there(result: &OpResult) -> bool {
    matches!(
        result,
        OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
    )
}

impl Member {
    pub fn new(group: &str, name: &str) -> Member {
        assert!(group.starts_with('/') && group.len() > 1 && !group.ends_with('/'));
        assert!(!name.is_empty() && !name.contains('/'));
        Member {
            group: group.to_string(),
            name: name.to_string(),
            setup_done: false,
            state: Membership::Out,
            step: MemberOp::Rest,
            in_flight: false,
            session: SessionId::NONE,
            joins: 0,
            data: String::new(),
        }
    }

    /// Our node's path.
    pub fn path(&self) -> String {
        proto::text::concat(&[&self.group, "/", &self.name])
    }

    /// Not a member and not joining or leaving: [`Member::join`] may be called.
    pub fn out(&self) -> bool {
        self.state == Membership::Out
    }

    /// A member (its node exists): [`Member::leave`] may be called.
    pub fn joined(&self) -> bool {
        self.state == Membership::Joined
    }

    /// The current membership's data, if joining, joined or leaving.
    pub fn data(&self) -> Option<&str> {
        (self.state != Membership::Out).then_some(self.data.as_str())
    }

    /// What the member is doing (for liveness explanations).
    pub fn explain(&self) -> String {
        format!("{:?} ({:?})", self.state, self.step)
    }

    fn check_invariants(&self) {
        assert!(
            !self.in_flight || !matches!(self.step, MemberOp::Rest | MemberOp::WaitOwnGone),
            "an op in flight in step {:?}",
            self.step
        );
        assert!(
            self.state != Membership::Out || self.step == MemberOp::Rest,
            "step {:?} while out",
            self.step
        );
        assert!(
            self.state == Membership::Out || !self.data.is_empty(),
            "a membership without data"
        );
        assert!(
            self.state != Membership::Joined || self.step == MemberOp::Rest,
            "joined in step {:?}",
            self.step
        );
    }

    fn event(&self, step: MemberStep) -> MemberEvent {
        MemberEvent {
            session: self.session,
            join: self.joins,
            data: self.data.clone(),
            step,
        }
    }

    /// The session the ops run in; a new one starts with no membership.
    pub fn set_session(&mut self, session: SessionId) {
        assert!(!session.is_none());
        if session != self.session {
            assert!(self.out(), "a membership outlived its session");
            self.session = session;
            self.joins = 0;
        }
    }

    /// Joins the group with `address` (the node's data adds the incarnation).
    pub fn join(&mut self, address: &str) -> MemberEvent {
        self.check_invariants();
        assert!(self.out(), "join while a member");
        assert!(!self.session.is_none(), "join before a session");
        self.joins += 1;
        self.data = format!("{address} s{:x} j{}", self.session.0, self.joins);
        self.state = Membership::Joining;
        self.step = if self.setup_done {
            MemberOp::Create
        } else {
            MemberOp::Setup
        };
        self.event(MemberStep::Join)
    }

    /// Leaves the group: deletes our node.
    pub fn leave(&mut self) -> MemberEvent {
        self.check_invariants();
        assert!(self.joined(), "leave while not a member");
        self.state = Membership::Leaving;
        self.step = MemberOp::Delete;
        self.event(MemberStep::Leave)
    }

    pub fn next_op(&mut self) -> Option<Op> {
        self.check_invariants();
        if self.in_flight {
            return None;
        }
        let op = match self.step {
            MemberOp::Rest | MemberOp::WaitOwnGone => return None,
            MemberOp::Setup => persistent(&self.group),
            MemberOp::Create => Op::Create {
                path: self.path(),
                data: self.data.clone().into_bytes(),
                mode: CreateMode::Ephemeral,
            },
            MemberOp::CheckOwn => Op::Exists {
                path: self.path(),
                watch: true,
            },
            MemberOp::Delete => Op::Delete {
                path: self.path(),
                version: Op::ANY_VERSION,
            },
        };
        self.in_flight = true;
        Some(op)
    }

    /// A watch event: our name's previous holder going lets us create.
    pub fn on_watch(&mut self, event: &WatchEvent) {
        self.check_invariants();
        if self.step == MemberOp::WaitOwnGone && event.path == self.path() {
            self.step = match event.kind {
                EventType::NodeDeleted => MemberOp::Create,
                _ => MemberOp::CheckOwn,
            };
        }
    }

    /// The session ended: the membership (and its node) is gone.
    pub fn on_session_lost(&mut self) -> Option<MemberEvent> {
        self.check_invariants();
        self.in_flight = false;
        self.step = MemberOp::Rest;
        if self.out() {
            return None;
        }
        self.state = Membership::Out;
        Some(self.event(MemberStep::Lost))
    }

    pub fn on_result(&mut self, op: &Op, result: &OpResult) -> Option<MemberEvent> {
        self.check_invariants();
        assert!(self.in_flight, "a result without an op in flight: {op:?}");
        self.in_flight = false;
        match result {
            OpResult::Err(ZkError::SessionExpired) => return self.on_session_lost(),
            OpResult::Err(ZkError::ConnectionLoss) => return None, // the same op again
            _ => {}
        }
        match self.step {
            MemberOp::Setup => {
                assert!(created_or_there(result), "group create answered {result:?}");
                self.setup_done = true;
                self.step = MemberOp::Create;
                None
            }
            MemberOp::Create => match result {
                OpResult::Created { .. } => self.now_joined(),
                OpResult::Err(ZkError::NodeExists) => {
                    self.step = MemberOp::CheckOwn;
                    None
                }
                other => panic!("member create answered {other:?}"),
            },
            MemberOp::CheckOwn => match result {
                OpResult::Exists(Some(stat)) if stat.ephemeral_owner == self.session => {
                    self.now_joined()
                }
                OpResult::Exists(Some(_)) => {
                    self.step = MemberOp::WaitOwnGone;
                    None
                }
                _ => {
                    self.step = MemberOp::Create;
                    None
                }
            },
            MemberOp::Delete => {
                assert!(
                    matches!(result, OpResult::Deleted | OpResult::Err(ZkError::NoNode)),
                    "member delete answered {result:?}"
                );
                self.state = Membership::Out;
                self.step = MemberOp::Rest;
                Some(self.event(MemberStep::Left))
            }
            other => panic!("a result in step {other:?}"),
        }
    }

    fn now_joined(&mut self) -> Option<MemberEvent> {
        assert_eq!(self.state, Membership::Joining);
        self.state = Membership::Joined;
        self.step = MemberOp::Rest;
        Some(self.event(MemberStep::Joined))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ObserverOp {
    Rest,
    Setup,
    List,
    /// Reading the data of `names[i]`.
    Read(usize),
}

/// One observer's recipe: a watched view of the group.
#[derive(Clone, Debug)]
pub struct Observer {
    group: String,
    setup_done: bool,
    step: ObserverOp,
    in_flight: bool,
    session: SessionId,
    /// The last listing's names, sorted.
    names: Vec<String>,
    /// The view being read.
    reading: Vec<ViewEntry>,
    /// A change came during a read: list again after it.
    dirty: bool,
    /// The last published view.
    view: Option<Vec<ViewEntry>>,
    /// Listings done (each sets the child watch again).
    pub listings: u64,
}

impl Observer {
    pub fn new(group: &str) -> Observer {
        assert!(group.starts_with('/') && group.len() > 1 && !group.ends_with('/'));
        Observer {
            group: group.to_string(),
            setup_done: false,
            step: ObserverOp::Rest,
            in_flight: false,
            session: SessionId::NONE,
            names: Vec::new(),
            reading: Vec::new(),
            dirty: false,
            view: None,
            listings: 0,
        }
    }

    /// The last published view (None before the first).
    pub fn view(&self) -> Option<&[ViewEntry]> {
        self.view.as_deref()
    }

    /// Not reading and no change pending.
    pub fn settled(&self) -> bool {
        self.step == ObserverOp::Rest && !self.dirty && self.view.is_some()
    }

    fn check_invariants(&self) {
        assert!(
            !self.in_flight || self.step != ObserverOp::Rest,
            "an op in flight at rest"
        );
        assert!(self.names.len() <= GROUP_MAX && self.reading.len() <= self.names.len());
        if let ObserverOp::Read(i) = self.step {
            assert!(i < self.names.len(), "reading past the listing");
        }
        if let Some(v) = &self.view {
            assert!(
                v.windows(2).all(|w| w[0].name < w[1].name),
                "a view sorted by name without duplicates"
            );
        }
    }

    fn start(&mut self) {
        self.dirty = false;
        self.step = if self.setup_done {
            ObserverOp::List
        } else {
            ObserverOp::Setup
        };
    }

    /// The session the ops run in; a new one reads everything again.
    pub fn set_session(&mut self, session: SessionId) {
        self.check_invariants();
        assert!(!session.is_none());
        if session != self.session {
            self.session = session;
            self.in_flight = false;
            self.start();
        }
    }

    /// The session reconnected: read everything again (watches were set again too, but
    /// the recipe does not rely on their firing).
    pub fn on_reconnected(&mut self) {
        self.check_invariants();
        self.changed();
    }

    fn changed(&mut self) {
        if self.step == ObserverOp::Rest && !self.session.is_none() {
            self.start();
        } else {
            self.dirty = true;
        }
    }

    /// A watch event on the group: list again (now or after the read in progress).
    pub fn on_watch(&mut self, event: &WatchEvent) {
        self.check_invariants();
        if event.path == self.group {
            self.changed();
        }
    }

    /// The session ended: nothing to send until the next one.
    pub fn on_session_lost(&mut self) {
        self.check_invariants();
        self.in_flight = false;
        self.step = ObserverOp::Rest;
        self.dirty = false;
    }

    pub fn next_op(&mut self) -> Option<Op> {
        self.check_invariants();
        if self.in_flight {
            return None;
        }
        let op = match &self.step {
            ObserverOp::Rest => return None,
            ObserverOp::Setup => persistent(&self.group),
            ObserverOp::List => Op::GetChildren {
                path: self.group.clone(),
                watch: true,
            },
            ObserverOp::Read(i) => Op::GetData {
                path: proto::text::concat(&[&self.group, "/", &self.names[*i]]),
                watch: false,
            },
        };
        self.in_flight = true;
        Some(op)
    }

    /// A completion; returns the new view when it changed.
    pub fn on_result(&mut self, op: &Op, result: &OpResult) -> Option<Vec<ViewEntry>> {
        self.check_invariants();
        assert!(self.in_flight, "a result without an op in flight: {op:?}");
        self.in_flight = false;
        match result {
            OpResult::Err(ZkError::SessionExpired) => {
                self.on_session_lost();
                return None;
            }
            OpResult::Err(ZkError::ConnectionLoss) => return None, // the same op again
            _ => {}
        }
        match self.step.clone() {
            ObserverOp::Setup => {
                assert!(created_or_there(result), "group create answered {result:?}");
                self.setup_done = true;
                self.step = ObserverOp::List;
                None
            }
            ObserverOp::List => {
                let OpResult::Children(names) = result else {
                    panic!("group listing answered {result:?}");
                };
                self.listings += 1;
                self.dirty = false;
                self.names = names.iter().take(GROUP_MAX).cloned().collect();
                self.names.sort_unstable();
                self.reading.clear();
                self.read_from(0)
            }
            ObserverOp::Read(i) => {
                match result {
                    OpResult::Data { data, .. } => self.reading.push(ViewEntry {
                        name: self.names[i].clone(),
                        data: String::from_utf8_lossy(data).into_owned(),
                    }),
                    // Gone since the listing (its deletion fired our watch).
                    OpResult::Err(ZkError::NoNode) => {}
                    other => panic!("member read answered {other:?}"),
                }
                self.read_from(i + 1)
            }
            ObserverOp::Rest => panic!("a result at rest"),
        }
    }

    /// Reads `names[i..]`; at the end publishes the view if it changed.
    fn read_from(&mut self, i: usize) -> Option<Vec<ViewEntry>> {
        if i < self.names.len() {
            self.step = ObserverOp::Read(i);
            return None;
        }
        self.step = if self.dirty {
            self.dirty = false;
            ObserverOp::List
        } else {
            ObserverOp::Rest
        };
        let view = std::mem::take(&mut self.reading);
        if self.view.as_ref() == Some(&view) {
            return None;
        }
        self.view = Some(view.clone());
        self.check_invariants();
        Some(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Zxid;
    use proto::zk::Stat;

    const S: SessionId = SessionId(0xab);

    fn created(path: &str) -> OpResult {
        OpResult::Created {
            path: path.into(),
            stat: None,
        }
    }

    fn mstep(m: &mut Member, expect: Op, result: OpResult) -> Option<MemberEvent> {
        let op = m.next_op().expect("an op");
        assert_eq!(op, expect);
        assert_eq!(m.next_op(), None, "one op in flight");
        m.on_result(&op, &result)
    }

    fn ostep(o: &mut Observer, expect: Op, result: OpResult) -> Option<Vec<ViewEntry>> {
        let op = o.next_op().expect("an op");
        assert_eq!(op, expect);
        assert_eq!(o.next_op(), None, "one op in flight");
        o.on_result(&op, &result)
    }

    fn create_op(data: &str) -> Op {
        Op::Create {
            path: "/g/m1".into(),
            data: data.as_bytes().to_vec(),
            mode: CreateMode::Ephemeral,
        }
    }

    fn exists(owner: SessionId) -> OpResult {
        OpResult::Exists(Some(Stat {
            ephemeral_owner: owner,
            ..Stat::default()
        }))
    }

    #[test]
    fn a_member_joins_with_its_incarnation_and_leaves() {
        let mut m = Member::new("/g", "m1");
        m.set_session(S);
        assert_eq!(m.next_op(), None, "out until asked");
        let join = m.join("p4");
        assert_eq!(
            join,
            MemberEvent {
                session: S,
                join: 1,
                data: "p4 sab j1".into(),
                step: MemberStep::Join
            }
        );
        assert_eq!(
            mstep(&mut m, persistent("/g"), OpResult::Err(ZkError::NodeExists)),
            None
        );
        let got = mstep(&mut m, create_op("p4 sab j1"), created("/g/m1"));
        assert_eq!(got.map(|e| e.step), Some(MemberStep::Joined));
        assert!(m.joined() && m.next_op().is_none());
        assert_eq!(m.leave().step, MemberStep::Leave);
        let delete = Op::Delete {
            path: "/g/m1".into(),
            version: -1,
        };
        let got = mstep(&mut m, delete, OpResult::Err(ZkError::NoNode));
        assert_eq!(got.map(|e| (e.join, e.step)), Some((1, MemberStep::Left)));
        assert!(m.out());
        // The next join of the session is a new membership with its own data.
        assert_eq!(m.join("p4").data, "p4 sab j2");
        assert_eq!(m.next_op(), Some(create_op("p4 sab j2")));
    }

    #[test]
    fn a_taken_name_is_ours_after_a_lost_answer_or_waited_out() {
        let mut m = Member::new("/g", "m1");
        m.set_session(S);
        m.join("p4");
        mstep(&mut m, persistent("/g"), created("/g"));
        let data = "p4 sab j1";
        mstep(
            &mut m,
            create_op(data),
            OpResult::Err(ZkError::ConnectionLoss),
        );
        mstep(&mut m, create_op(data), OpResult::Err(ZkError::NodeExists));
        let check = Op::Exists {
            path: "/g/m1".into(),
            watch: true,
        };
        let got = mstep(&mut m, check.clone(), exists(S));
        assert_eq!(got.map(|e| e.step), Some(MemberStep::Joined));
        // Expired: the membership is lost; the next session waits out the old node.
        assert_eq!(m.on_session_lost().map(|e| e.step), Some(MemberStep::Lost));
        assert_eq!(m.on_session_lost(), None, "lost once");
        let s2 = SessionId(0xcd);
        m.set_session(s2);
        assert_eq!(m.join("p4").data, "p4 scd j1");
        mstep(
            &mut m,
            create_op("p4 scd j1"),
            OpResult::Err(ZkError::NodeExists),
        );
        assert_eq!(mstep(&mut m, check, exists(S)), None);
        assert_eq!(m.next_op(), None, "waiting for the old node");
        m.on_watch(&WatchEvent {
            kind: EventType::NodeDeleted,
            path: "/g/m1".into(),
            zxid: Zxid(7),
        });
        let got = mstep(&mut m, create_op("p4 scd j1"), created("/g/m1"));
        assert_eq!(
            got.map(|e| (e.session, e.step)),
            Some((s2, MemberStep::Joined))
        );
    }

    fn list_op() -> Op {
        Op::GetChildren {
            path: "/g".into(),
            watch: true,
        }
    }

    fn read_op(name: &str) -> Op {
        Op::GetData {
            path: format!("/g/{name}"),
            watch: false,
        }
    }

    fn data(d: &str) -> OpResult {
        OpResult::Data {
            data: d.as_bytes().to_vec(),
            stat: Stat::default(),
        }
    }

    fn entry(name: &str, data: &str) -> ViewEntry {
        ViewEntry {
            name: name.into(),
            data: data.into(),
        }
    }

    fn children(names: &[&str]) -> OpResult {
        OpResult::Children(names.iter().map(|n| n.to_string()).collect())
    }

    fn changed() -> WatchEvent {
        WatchEvent {
            kind: EventType::NodeChildrenChanged,
            path: "/g".into(),
            zxid: Zxid(3),
        }
    }

    #[test]
    fn an_observer_lists_reads_and_publishes_changes_only() {
        let mut o = Observer::new("/g");
        assert_eq!(o.next_op(), None, "nothing before a session");
        o.set_session(S);
        assert_eq!(ostep(&mut o, persistent("/g"), created("/g")), None);
        assert_eq!(ostep(&mut o, list_op(), children(&["m2", "m1"])), None);
        assert_eq!(ostep(&mut o, read_op("m1"), data("a")), None);
        let view = ostep(&mut o, read_op("m2"), data("b"));
        assert_eq!(view, Some(vec![entry("m1", "a"), entry("m2", "b")]));
        assert!(o.settled() && o.next_op().is_none());
        // A child event: list again; m2 went between the listing and its read.
        o.on_watch(&changed());
        assert_eq!(ostep(&mut o, list_op(), children(&["m1", "m2"])), None);
        assert_eq!(ostep(&mut o, read_op("m1"), data("a")), None);
        let view = ostep(&mut o, read_op("m2"), OpResult::Err(ZkError::NoNode));
        assert_eq!(view, Some(vec![entry("m1", "a")]));
        // A reconnection reads everything again; the same view is not published twice.
        o.on_reconnected();
        assert_eq!(ostep(&mut o, list_op(), children(&["m1"])), None);
        assert_eq!(ostep(&mut o, read_op("m1"), data("a")), None);
        assert_eq!(o.view(), Some(&[entry("m1", "a")][..]));
    }

    #[test]
    fn a_change_during_a_read_lists_again_and_a_new_session_reads_afresh() {
        let mut o = Observer::new("/g");
        o.set_session(S);
        ostep(&mut o, persistent("/g"), OpResult::Err(ZkError::NodeExists));
        ostep(&mut o, list_op(), children(&["m1"]));
        let op = o.next_op().expect("read");
        o.on_watch(&changed());
        assert!(!o.settled());
        // m1 left and rejoined: the same name with new data.
        let view = o.on_result(&op, &data("a1"));
        assert_eq!(view, Some(vec![entry("m1", "a1")]), "published, then again");
        assert_eq!(ostep(&mut o, list_op(), children(&["m1"])), None);
        let view = ostep(&mut o, read_op("m1"), data("a2"));
        assert_eq!(view, Some(vec![entry("m1", "a2")]));
        // Expired: a new session lists again (the group node is known to exist).
        let op = {
            o.on_watch(&changed());
            o.next_op().expect("list")
        };
        assert_eq!(
            o.on_result(&op, &OpResult::Err(ZkError::SessionExpired)),
            None
        );
        assert_eq!(o.next_op(), None, "nothing until a new session");
        o.set_session(SessionId(0xcd));
        assert_eq!(ostep(&mut o, list_op(), children(&[])), Some(vec![]));
        assert!(o.settled());
    }
}
