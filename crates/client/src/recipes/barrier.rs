//! The double barrier (ZooKeeper's recipes page, "Double Barriers"; Curator's
//! `DistributedDoubleBarrier`) as a sans-IO state machine over a session. `size`
//! participants synchronize the start and the end of a computation, round after round;
//! each round has its own barrier node `<root>/round-N`, so a round's `ready` node never
//! lets the next round's entrants through.
//!
//! Enter (the recipe's steps): set an `exists` watch on `<barrier>/ready`; create our
//! ephemeral node `<barrier>/<name>` (the participant's name: one node per participant,
//! however often it rejoins); list the children; with `size` participant nodes, create
//! `ready` (NodeExists is fine) and pass; otherwise wait for the watch on `ready` to fire.
//! A create that finds our name taken reads the node's owner: our own session's (a create
//! whose answer was lost) is ours; another session's (our previous incarnation's, which
//! the servers have not expired yet) is waited out with a watch, then created again.
//!
//! Leave (the recipe's lowest/highest protocol): list the participant nodes (sorted by
//! name, `ready` left out); none left → passed; only ours → delete it and pass; ours the
//! lowest → watch the highest and list again when it goes; otherwise delete ours (if
//! there) and watch the lowest. So nobody passes leave while any participant node is left.
//!
//! Expiry (what this recipe does, and what `check::barrier` checks): the servers delete an
//! expired participant's node. The participant rejoins the same round in a new session:
//! entering (before it passed, or while working after it passed: its node holds the
//! others' leave) it enters again — the round's `ready` node, if made, lets it through at
//! once; leaving, it goes on leaving. The others wait for its rejoin while entering (fewer
//! than `size` nodes: nobody makes `ready`); while leaving, its vanished node reads as
//! left, so they may pass leave before it finished its computation — a documented limit
//! of the recipe, counted by the checker, never a pass of enter with fewer than `size`.
//!
//! Planted bug `barrier-no-recheck` (`recheck = false`; Curator GH-1290, since
//! CURATOR-495): a participant waiting for `ready` that wakes up for another reason — a
//! session event, here the reconnection of its session — passes enter without looking
//! again whether `ready` exists.
//!
//! The host submits what `next_op` returns (one op at a time) and feeds back completions,
//! watch events and session changes; each [`BarrierEvent`] goes to the history.
//! Invariants (asserted after every input): at most one op in flight, and only in a step
//! that sends one; passed-enter only in a round entered; leave only after enter; at most
//! `CHILDREN_MAX` children considered.

use proto::history::BarrierStep;
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, Op, OpResult, SessionId, ZkError};

/// The node whose existence lets a round's entrants through.
pub const READY: &str = "ready";
/// A round's barrier node is `<root>/round-N`.
pub const ROUND_PREFIX: &str = "round-";
/// Most children of a round's barrier node the recipe considers (one per participant and
/// `ready`; the simulator runs far fewer processes).
pub const CHILDREN_MAX: usize = 4096;

/// A participant's step in a round, for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarrierEvent {
    pub session: SessionId,
    pub round: u64,
    /// The round's barrier node.
    pub barrier: String,
    pub step: BarrierStep,
}

/// Where the participant is in the round.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Between rounds.
    Idle,
    /// Entering (or rejoining before leaving).
    Entering,
    /// Passed enter: computing.
    Entered,
    Leaving,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Nothing to send (idle, computing, or waiting for a watch).
    Rest,
    /// Creating the root node.
    Root,
    /// Creating the round's barrier node.
    RoundNode,
    /// `exists` with a watch on `ready`.
    WatchReady,
    /// Creating our node.
    Create,
    /// Our name was taken: `exists` with a watch on it to read its owner.
    CheckOwn,
    /// Another session's node holds our name: waiting for its deletion.
    WaitOwnGone,
    /// Listing the round's children to count the participants.
    Count,
    /// Creating `ready`.
    MakeReady,
    /// Waiting for `ready`'s watch.
    WaitReady,
    /// Leave: listing the participant nodes.
    List,
    /// Leave: deleting our node, then watching `then` (none: list again).
    DeleteOwn { then: Option<String> },
    /// Leave: `exists` with a watch on a participant node.
    Watch(String),
    /// Leave: waiting for that node's deletion.
    WaitGone(String),
}

/// One participant's double-barrier recipe.
#[derive(Clone, Debug)]
pub struct Barrier {
    root: String,
    size: usize,
    name: String,
    /// Look again after a wake-up (false: the planted bug `barrier-no-recheck`).
    recheck: bool,
    root_done: bool,
    round: u64,
    round_done: bool,
    phase: Phase,
    step: Step,
    in_flight: bool,
    session: SessionId,
    /// An attempt (a history record) is open in this session.
    attempt: bool,
    /// `ready` existed (or its watch fired) during this enter.
    ready_seen: bool,
}

/// The participant nodes of a listing: `ready` left out, sorted by name.
pub fn participants(children: &[String]) -> Vec<&str> {
    participants_of(children.iter().map(String::as_str)).0
}

/// [`participants`] of borrowed names, and how many names were listed in all.
pub fn participants_of<'a>(children: impl Iterator<Item = &'a str>) -> (Vec<&'a str>, usize) {
    let mut listed = 0;
    let mut names: Vec<&str> = Vec::new();
    for name in children {
        listed += 1;
        if name != READY && names.len() < CHILDREN_MAX {
            names.push(name);
        }
    }
    names.sort_unstable();
    (names, listed)
}

impl Barrier {
    /// Participant `name` of a barrier of `size` under `root`.
    pub fn new(root: &str, size: usize, name: &str, recheck: bool) -> Barrier {
        assert!(root.starts_with('/') && root.len() > 1 && !root.ends_with('/'));
        assert!((1..=CHILDREN_MAX).contains(&size));
        assert!(!name.is_empty() && name != READY && !name.contains('/'));
        Barrier {
            root: root.to_string(),
            size,
            name: name.to_string(),
            recheck,
            root_done: false,
            round: 0,
            round_done: false,
            phase: Phase::Idle,
            step: Step::Rest,
            in_flight: false,
            session: SessionId::NONE,
            attempt: false,
            ready_seen: false,
        }
    }

    /// The current round (0 before the first).
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The current round's barrier node.
    pub fn barrier_path(&self) -> String {
        let mut path = proto::text::concat(&[&self.root, "/", ROUND_PREFIX]);
        proto::text::push_decimal(&mut path, self.round);
        path
    }

    /// Between rounds: [`Barrier::enter`] may be called.
    pub fn idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// Passed enter and not yet leaving: [`Barrier::leave`] may be called.
    pub fn entered(&self) -> bool {
        self.phase == Phase::Entered
    }

    /// Through enter of the current round in this session: computing or leaving.
    pub fn past_enter(&self) -> bool {
        matches!(self.phase, Phase::Entered | Phase::Leaving)
    }

    /// What the participant waits for, if it waits (for liveness explanations).
    pub fn explain(&self) -> String {
        let what = match &self.step {
            Step::WaitReady => "waiting for ready".to_string(),
            Step::WaitOwnGone => "waiting for its previous node to go".to_string(),
            Step::WaitGone(n) => format!("leaving, waiting for {n} to go"),
            other => format!("{other:?}"),
        };
        format!("round {} {:?}: {what}", self.round, self.phase)
    }

    fn check_invariants(&self) {
        assert!(
            !self.in_flight
                || !matches!(
                    self.step,
                    Step::Rest | Step::WaitOwnGone | Step::WaitReady | Step::WaitGone(_)
                ),
            "an op in flight in step {:?}",
            self.step
        );
        assert!(
            self.phase != Phase::Idle || self.step == Step::Rest,
            "step {:?} between rounds",
            self.step
        );
        assert!(
            self.phase != Phase::Entered || self.step == Step::Rest,
            "computing in step {:?}",
            self.step
        );
        assert!(
            self.phase == Phase::Idle || self.round >= 1,
            "a phase before the first round"
        );
        assert!(
            !self.attempt || !self.session.is_none(),
            "an attempt without a session"
        );
    }

    fn event(&mut self, step: BarrierStep) -> BarrierEvent {
        assert!(self.round >= 1 && !self.session.is_none());
        self.attempt = !matches!(step, BarrierStep::Left | BarrierStep::Lost);
        BarrierEvent {
            session: self.session,
            round: self.round,
            barrier: self.barrier_path(),
            step,
        }
    }

    /// The session the recipe's ops run in. A new session while a round is under way
    /// rejoins it: entering (or computing) enters again, leaving goes on leaving.
    pub fn set_session(&mut self, session: SessionId) -> Option<BarrierEvent> {
        self.check_invariants();
        assert!(!session.is_none());
        if session == self.session {
            return None;
        }
        assert!(!self.attempt, "an attempt outlived its session");
        self.session = session;
        self.in_flight = false;
        match self.phase {
            Phase::Idle => None,
            Phase::Entering | Phase::Entered => {
                self.phase = Phase::Entering;
                self.start_enter();
                Some(self.event(BarrierStep::Enter))
            }
            Phase::Leaving => {
                self.step = Step::List;
                Some(self.event(BarrierStep::Leave))
            }
        }
    }

    fn start_enter(&mut self) {
        self.ready_seen = false;
        self.step = if !self.root_done {
            Step::Root
        } else if !self.round_done {
            Step::RoundNode
        } else {
            Step::WatchReady
        };
    }

    /// Asks to enter the next round.
    pub fn enter(&mut self) -> BarrierEvent {
        self.check_invariants();
        assert!(self.idle(), "enter during a round");
        assert!(!self.session.is_none(), "enter before a session");
        self.round += 1;
        self.round_done = false;
        self.phase = Phase::Entering;
        self.start_enter();
        self.event(BarrierStep::Enter)
    }

    /// Asks to leave the round after the computation.
    pub fn leave(&mut self) -> BarrierEvent {
        self.check_invariants();
        assert!(self.entered(), "leave before passing enter");
        self.phase = Phase::Leaving;
        self.step = Step::List;
        self.event(BarrierStep::Leave)
    }

    fn path(&self, name: &str) -> String {
        let mut path = self.barrier_path();
        path.extend(["/", name]);
        path
    }

    fn persistent(path: String) -> Op {
        Op::Create {
            path,
            data: Vec::new(),
            mode: CreateMode::Persistent,
        }
    }

    /// The next op to submit now.
    pub fn next_op(&mut self) -> Option<Op> {
        self.check_invariants();
        if self.in_flight {
            return None;
        }
        let op = match &self.step {
            Step::Rest | Step::WaitOwnGone | Step::WaitReady | Step::WaitGone(_) => return None,
            Step::Root => Self::persistent(self.root.clone()),
            Step::RoundNode => Self::persistent(self.barrier_path()),
            Step::WatchReady => Op::Exists {
                path: self.path(READY),
                watch: true,
            },
            Step::Create => Op::Create {
                path: self.path(&self.name),
                data: Vec::new(),
                mode: CreateMode::Ephemeral,
            },
            Step::CheckOwn => Op::Exists {
                path: self.path(&self.name),
                watch: true,
            },
            Step::Count | Step::List => Op::GetChildren {
                path: self.barrier_path(),
                watch: false,
            },
            Step::MakeReady => Self::persistent(self.path(READY)),
            Step::DeleteOwn { .. } => Op::Delete {
                path: self.path(&self.name),
                version: Op::ANY_VERSION,
            },
            Step::Watch(node) => Op::Exists {
                path: self.path(node),
                watch: true,
            },
        };
        self.in_flight = true;
        Some(op)
    }

    fn pass_enter(&mut self) -> Option<BarrierEvent> {
        assert_eq!(self.phase, Phase::Entering, "passing enter outside enter");
        self.phase = Phase::Entered;
        self.step = Step::Rest;
        Some(self.event(BarrierStep::Entered))
    }

    fn pass_leave(&mut self) -> Option<BarrierEvent> {
        assert_eq!(self.phase, Phase::Leaving, "passing leave outside leave");
        self.phase = Phase::Idle;
        self.step = Step::Rest;
        Some(self.event(BarrierStep::Left))
    }

    /// A watch event: `ready` made while entering lets us through; the node we wait for
    /// while leaving (or our name's previous holder) going sends us on.
    pub fn on_watch(&mut self, event: &WatchEvent) -> Option<BarrierEvent> {
        self.check_invariants();
        if self.phase == Phase::Idle {
            return None;
        }
        let Some(name) = event
            .path
            .strip_prefix(self.barrier_path().as_str())
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return None; // an earlier round's node
        };
        let deleted = event.kind == EventType::NodeDeleted;
        if name == READY && self.phase == Phase::Entering {
            if event.kind == EventType::NodeCreated {
                self.ready_seen = true;
                if self.step == Step::WaitReady {
                    return self.pass_enter();
                }
            }
            return None;
        }
        match self.step.clone() {
            Step::WaitOwnGone if name == self.name => {
                // Deleted: create ours; anything else consumed the watch: read again.
                self.step = if deleted {
                    Step::Create
                } else {
                    Step::CheckOwn
                };
            }
            Step::WaitGone(n) if n == name => {
                self.step = if deleted { Step::List } else { Step::Watch(n) };
            }
            _ => {}
        }
        None
    }

    /// The session reconnected (same session; its watches were set again). The correct
    /// recipe needs nothing: a `ready` made meanwhile fires its watch. The planted
    /// `barrier-no-recheck` passes a waiting enter on this wake-up without looking.
    pub fn on_reconnected(&mut self) -> Option<BarrierEvent> {
        self.check_invariants();
        if !self.recheck && self.step == Step::WaitReady {
            return self.pass_enter();
        }
        None
    }

    /// The session ended (expired or closed): the attempt is lost with our node; the
    /// round goes on in the next session ([`Barrier::set_session`]).
    pub fn on_session_lost(&mut self) -> Option<BarrierEvent> {
        self.check_invariants();
        self.in_flight = false;
        // Nothing to send until the next session rejoins (a computation goes on).
        self.step = Step::Rest;
        if !self.attempt {
            return None;
        }
        Some(self.event(BarrierStep::Lost))
    }

    /// The completion of the op in flight.
    pub fn on_result(&mut self, op: &Op, result: &OpResult) -> Option<BarrierEvent> {
        self.check_invariants();
        assert!(self.in_flight, "a result without an op in flight: {op:?}");
        self.in_flight = false;
        match result {
            OpResult::Err(ZkError::SessionExpired) => return self.on_session_lost(),
            // Send the same op again (a create finds its node by our name).
            OpResult::Err(ZkError::ConnectionLoss) => return None,
            _ => {}
        }
        let created_or_there = matches!(
            result,
            OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
        );
        match self.step.clone() {
            Step::Root => {
                assert!(created_or_there, "root create answered {result:?}");
                self.root_done = true;
                self.step = if self.phase == Phase::Idle {
                    Step::Rest
                } else {
                    Step::RoundNode
                };
                None
            }
            Step::RoundNode => {
                assert!(created_or_there, "round create answered {result:?}");
                self.round_done = true;
                self.step = Step::WatchReady;
                None
            }
            Step::WatchReady => {
                self.ready_seen |= matches!(result, OpResult::Exists(Some(_)));
                self.step = Step::Create;
                None
            }
            Step::Create => match result {
                OpResult::Created { .. } => self.created(),
                OpResult::Err(ZkError::NodeExists) => {
                    self.step = Step::CheckOwn;
                    None
                }
                other => panic!("barrier node create answered {other:?}"),
            },
            Step::CheckOwn => match result {
                OpResult::Exists(Some(stat)) if stat.ephemeral_owner == self.session => {
                    self.created()
                }
                OpResult::Exists(Some(_)) => {
                    self.step = Step::WaitOwnGone;
                    None
                }
                _ => {
                    self.step = Step::Create;
                    None
                }
            },
            Step::Count => {
                let OpResult::Children(children) = result else {
                    panic!("barrier listing answered {result:?}");
                };
                if self.ready_seen || children.iter().any(|c| c == READY) {
                    return self.pass_enter();
                }
                if participants(children).len() >= self.size {
                    self.step = Step::MakeReady;
                    return None;
                }
                self.step = Step::WaitReady;
                None
            }
            Step::MakeReady => {
                assert!(created_or_there, "ready create answered {result:?}");
                self.pass_enter()
            }
            Step::List => {
                let OpResult::Children(children) = result else {
                    panic!("barrier listing answered {result:?}");
                };
                self.on_leave_listing(children)
            }
            Step::DeleteOwn { then } => {
                assert!(
                    matches!(result, OpResult::Deleted | OpResult::Err(ZkError::NoNode)),
                    "delete answered {result:?}"
                );
                match then {
                    None => self.pass_leave(),
                    Some(lowest) => {
                        self.step = Step::Watch(lowest);
                        None
                    }
                }
            }
            Step::Watch(node) => {
                self.step = match result {
                    OpResult::Exists(Some(_)) => Step::WaitGone(node),
                    _ => Step::List,
                };
                None
            }
            other => panic!("a result in step {other:?}"),
        }
    }

    /// Our node exists: passed if `ready` was seen, otherwise count.
    fn created(&mut self) -> Option<BarrierEvent> {
        if self.ready_seen {
            return self.pass_enter();
        }
        self.step = Step::Count;
        None
    }

    /// The leave protocol on a listing of the round's barrier node.
    fn on_leave_listing(&mut self, children: &[String]) -> Option<BarrierEvent> {
        let nodes = participants(children);
        let ours = nodes.iter().any(|n| *n == self.name);
        match nodes.as_slice() {
            [] => self.pass_leave(),
            [only] if *only == self.name => {
                self.step = Step::DeleteOwn { then: None };
                None
            }
            [lowest, .., highest] if *lowest == self.name => {
                self.step = Step::Watch(highest.to_string());
                None
            }
            [lowest, ..] => {
                let lowest = lowest.to_string();
                self.step = if ours {
                    Step::DeleteOwn { then: Some(lowest) }
                } else {
                    Step::Watch(lowest)
                };
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Zxid;
    use proto::zk::Stat;

    const S: SessionId = SessionId(0xab);

    fn children(names: &[&str]) -> OpResult {
        OpResult::Children(names.iter().map(|n| n.to_string()).collect())
    }

    fn created(path: &str) -> OpResult {
        OpResult::Created {
            path: path.to_string(),
            stat: None,
        }
    }

    fn exists(owner: Option<SessionId>) -> OpResult {
        OpResult::Exists(owner.map(|o| Stat {
            ephemeral_owner: o,
            ..Stat::default()
        }))
    }

    fn event(round: u64, step: BarrierStep) -> Option<BarrierEvent> {
        Some(BarrierEvent {
            session: S,
            round,
            barrier: format!("/b/round-{round}"),
            step,
        })
    }

    fn step(b: &mut Barrier, expect: Op, result: OpResult) -> Option<BarrierEvent> {
        let op = b.next_op().expect("an op");
        assert_eq!(op, expect);
        assert_eq!(b.next_op(), None, "one op in flight");
        b.on_result(&op, &result)
    }

    fn create(path: &str, mode: CreateMode) -> Op {
        Op::Create {
            path: path.into(),
            data: Vec::new(),
            mode,
        }
    }

    fn exists_op(path: &str, watch: bool) -> Op {
        Op::Exists {
            path: path.into(),
            watch,
        }
    }

    fn list_op(round: u64) -> Op {
        Op::GetChildren {
            path: format!("/b/round-{round}"),
            watch: false,
        }
    }

    fn delete_op(path: &str) -> Op {
        Op::Delete {
            path: path.into(),
            version: -1,
        }
    }

    /// Participant `p2` of 3, asking for round 1, up to its node created.
    fn entering(recheck: bool) -> Barrier {
        let mut b = Barrier::new("/b", 3, "p2", recheck);
        assert_eq!(b.set_session(S), None, "a first session joins no round");
        assert_eq!(b.next_op(), None, "idle until asked");
        assert_eq!(Some(b.enter()), event(1, BarrierStep::Enter));
        let p = CreateMode::Persistent;
        assert_eq!(step(&mut b, create("/b", p), created("/b")), None);
        assert_eq!(
            step(
                &mut b,
                create("/b/round-1", p),
                OpResult::Err(ZkError::NodeExists)
            ),
            None
        );
        assert_eq!(
            step(&mut b, exists_op("/b/round-1/ready", true), exists(None)),
            None
        );
        let mine = "/b/round-1/p2";
        assert_eq!(
            step(&mut b, create(mine, CreateMode::Ephemeral), created(mine)),
            None
        );
        b
    }

    #[test]
    fn the_last_to_arrive_counts_everyone_makes_ready_and_passes() {
        let mut b = entering(true);
        assert_eq!(
            step(&mut b, list_op(1), children(&["p1", "p2", "p3"])),
            None
        );
        let got = step(
            &mut b,
            create("/b/round-1/ready", CreateMode::Persistent),
            OpResult::Err(ZkError::NodeExists),
        );
        assert_eq!(got, event(1, BarrierStep::Entered));
        assert!(b.entered());
        assert_eq!(b.next_op(), None, "nothing to do while computing");
    }

    #[test]
    fn an_early_arrival_waits_for_ready_and_a_reconnect_does_not_let_it_through() {
        let mut b = entering(true);
        assert_eq!(step(&mut b, list_op(1), children(&["p2", "p1"])), None);
        assert_eq!(b.next_op(), None, "waiting for ready sends nothing");
        assert_eq!(b.on_reconnected(), None, "a wake-up is not ready");
        // Another participant's node or an earlier round's ready is not ours to wait for.
        let ignored = [
            (EventType::NodeCreated, "/b/round-0/ready"),
            (EventType::NodeDeleted, "/b/round-1/p3"),
        ];
        for (kind, path) in ignored {
            let w = WatchEvent {
                kind,
                path: path.into(),
                zxid: Zxid(5),
            };
            assert_eq!(b.on_watch(&w), None);
        }
        let ready = WatchEvent {
            kind: EventType::NodeCreated,
            path: "/b/round-1/ready".into(),
            zxid: Zxid(9),
        };
        assert_eq!(b.on_watch(&ready), event(1, BarrierStep::Entered));
    }

    #[test]
    fn the_planted_no_recheck_passes_on_a_reconnect() {
        let mut b = entering(false);
        assert_eq!(step(&mut b, list_op(1), children(&["p2", "p1"])), None);
        assert_eq!(b.on_reconnected(), event(1, BarrierStep::Entered));
        assert!(b.entered());
    }

    #[test]
    fn ready_seen_before_the_create_or_fired_while_counting_lets_through() {
        let mut b = Barrier::new("/b", 3, "p2", true);
        b.set_session(S);
        b.enter();
        let p = CreateMode::Persistent;
        step(&mut b, create("/b", p), created("/b"));
        step(&mut b, create("/b/round-1", p), created("/b/round-1"));
        step(
            &mut b,
            exists_op("/b/round-1/ready", true),
            exists(Some(SessionId::NONE)),
        );
        let mine = "/b/round-1/p2";
        let got = step(&mut b, create(mine, CreateMode::Ephemeral), created(mine));
        assert_eq!(got, event(1, BarrierStep::Entered), "no count needed");
        // Round 2: the watch fires while the count is in flight.
        b.leave();
        step(&mut b, list_op(1), children(&["ready"]));
        assert!(b.idle());
        b.enter();
        step(&mut b, create("/b/round-2", p), created("/b/round-2"));
        step(&mut b, exists_op("/b/round-2/ready", true), exists(None));
        let mine = "/b/round-2/p2";
        step(&mut b, create(mine, CreateMode::Ephemeral), created(mine));
        let op = b.next_op().expect("count");
        assert_eq!(op, list_op(2));
        let ready = WatchEvent {
            kind: EventType::NodeCreated,
            path: "/b/round-2/ready".into(),
            zxid: Zxid(9),
        };
        assert_eq!(b.on_watch(&ready), None, "the count is in flight");
        assert_eq!(
            b.on_result(&op, &children(&["p2"])),
            event(2, BarrierStep::Entered)
        );
    }

    #[test]
    fn a_taken_name_is_ours_after_a_lost_answer_or_waited_out() {
        let mut b = Barrier::new("/b", 2, "p2", true);
        b.set_session(S);
        b.enter();
        let p = CreateMode::Persistent;
        step(&mut b, create("/b", p), created("/b"));
        step(&mut b, create("/b/round-1", p), created("/b/round-1"));
        step(&mut b, exists_op("/b/round-1/ready", true), exists(None));
        let mine = "/b/round-1/p2";
        let eph = CreateMode::Ephemeral;
        // The answer was lost: the same create again finds the name taken, by us.
        assert_eq!(
            step(
                &mut b,
                create(mine, eph),
                OpResult::Err(ZkError::ConnectionLoss)
            ),
            None
        );
        assert_eq!(
            step(
                &mut b,
                create(mine, eph),
                OpResult::Err(ZkError::NodeExists)
            ),
            None
        );
        assert_eq!(step(&mut b, exists_op(mine, true), exists(Some(S))), None);
        assert_eq!(step(&mut b, list_op(1), children(&["p2"])), None);
        assert_eq!(b.next_op(), None, "one of two: waiting");
        // A new session (the old one expired) rejoins the round; the old node is not
        // gone yet on this server: waited out.
        let s2 = SessionId(0xcd);
        assert_eq!(
            b.on_session_lost(),
            Some(BarrierEvent {
                session: S,
                round: 1,
                barrier: "/b/round-1".into(),
                step: BarrierStep::Lost
            })
        );
        assert_eq!(b.on_session_lost(), None, "lost once");
        let rejoin = b.set_session(s2).expect("rejoins");
        assert_eq!((rejoin.session, rejoin.step), (s2, BarrierStep::Enter));
        step(&mut b, exists_op("/b/round-1/ready", true), exists(None));
        step(
            &mut b,
            create(mine, eph),
            OpResult::Err(ZkError::NodeExists),
        );
        assert_eq!(step(&mut b, exists_op(mine, true), exists(Some(S))), None);
        assert_eq!(b.next_op(), None, "waiting for the old node to go");
        let gone = WatchEvent {
            kind: EventType::NodeDeleted,
            path: mine.into(),
            zxid: Zxid(12),
        };
        assert_eq!(b.on_watch(&gone), None);
        step(&mut b, create(mine, eph), created(mine));
        step(&mut b, list_op(1), children(&["p1", "p2"]));
        let got = step(
            &mut b,
            create("/b/round-1/ready", p),
            created("/b/round-1/ready"),
        );
        assert_eq!(
            got.map(|e| (e.session, e.step)),
            Some((s2, BarrierStep::Entered))
        );
    }

    #[test]
    fn leave_lowest_waits_for_the_highest_others_delete_and_wait_for_the_lowest() {
        // p2 of p1..p3: not the lowest — deletes its node, watches p1.
        let mut b = entering(true);
        step(&mut b, list_op(1), children(&["p1", "p2", "p3"]));
        step(
            &mut b,
            create("/b/round-1/ready", CreateMode::Persistent),
            created("/b/round-1/ready"),
        );
        assert_eq!(Some(b.leave()), event(1, BarrierStep::Leave));
        let listing = children(&["p3", "ready", "p1", "p2"]);
        assert_eq!(step(&mut b, list_op(1), listing), None);
        assert_eq!(
            step(&mut b, delete_op("/b/round-1/p2"), OpResult::Deleted),
            None
        );
        assert_eq!(
            step(&mut b, exists_op("/b/round-1/p1", true), exists(Some(S))),
            None
        );
        assert_eq!(b.next_op(), None);
        let p1_gone = WatchEvent {
            kind: EventType::NodeDeleted,
            path: "/b/round-1/p1".into(),
            zxid: Zxid(20),
        };
        b.on_watch(&p1_gone);
        // p3 is still there (it has not deleted yet): p2's node is gone, so p2 waits on
        // the lowest, now p3.
        assert_eq!(step(&mut b, list_op(1), children(&["p3", "ready"])), None);
        assert_eq!(
            step(&mut b, exists_op("/b/round-1/p3", true), exists(None)),
            None
        );
        assert_eq!(
            step(&mut b, list_op(1), children(&["ready"])),
            event(1, BarrierStep::Left)
        );
        assert!(b.idle());
        // The lowest: p1 watches the highest until it is alone, then deletes its node.
        let mut l = Barrier::new("/b", 2, "p1", true);
        l.set_session(S);
        l.enter();
        step(&mut l, create("/b", CreateMode::Persistent), created("/b"));
        step(
            &mut l,
            create("/b/round-1", CreateMode::Persistent),
            created("/b/round-1"),
        );
        step(&mut l, exists_op("/b/round-1/ready", true), exists(Some(S)));
        step(
            &mut l,
            create("/b/round-1/p1", CreateMode::Ephemeral),
            created("/b/round-1/p1"),
        );
        l.leave();
        step(&mut l, list_op(1), children(&["p9", "p1", "p4"]));
        assert_eq!(
            step(&mut l, exists_op("/b/round-1/p9", true), exists(Some(S))),
            None
        );
        let p9_gone = WatchEvent {
            kind: EventType::NodeDeleted,
            path: "/b/round-1/p9".into(),
            zxid: Zxid(30),
        };
        l.on_watch(&p9_gone);
        step(&mut l, list_op(1), children(&["p1", "p4"]));
        step(&mut l, exists_op("/b/round-1/p4", true), exists(None));
        step(&mut l, list_op(1), children(&["p1"]));
        assert_eq!(
            step(
                &mut l,
                delete_op("/b/round-1/p1"),
                OpResult::Err(ZkError::NoNode)
            ),
            event(1, BarrierStep::Left)
        );
    }

    #[test]
    fn an_expiry_while_leaving_goes_on_leaving_without_a_node() {
        let mut b = entering(true);
        step(&mut b, list_op(1), children(&["p1", "p2", "p3"]));
        step(
            &mut b,
            create("/b/round-1/ready", CreateMode::Persistent),
            created("/b/round-1/ready"),
        );
        b.leave();
        let op = b.next_op().expect("list");
        assert_eq!(
            b.on_result(&op, &OpResult::Err(ZkError::SessionExpired)),
            event(1, BarrierStep::Lost)
        );
        let s2 = SessionId(0xcd);
        let again = b.set_session(s2).expect("goes on leaving");
        assert_eq!(again.step, BarrierStep::Leave);
        // Our node went with the session: wait on the lowest without deleting anything.
        step(&mut b, list_op(1), children(&["p1", "p3"]));
        assert_eq!(
            step(&mut b, exists_op("/b/round-1/p1", true), exists(None)),
            None
        );
        let got = step(&mut b, list_op(1), children(&[]));
        assert_eq!(
            got.map(|e| (e.session, e.step)),
            Some((s2, BarrierStep::Left))
        );
    }

    #[test]
    fn an_expiry_while_computing_enters_again_and_ready_lets_it_through() {
        let mut b = entering(true);
        step(&mut b, list_op(1), children(&["p1", "p2", "p3"]));
        step(
            &mut b,
            create("/b/round-1/ready", CreateMode::Persistent),
            created("/b/round-1/ready"),
        );
        assert!(b.entered());
        assert_eq!(b.on_session_lost(), event(1, BarrierStep::Lost));
        assert!(b.entered(), "the computation goes on");
        let s2 = SessionId(0xcd);
        assert_eq!(b.set_session(s2).map(|e| e.step), Some(BarrierStep::Enter));
        assert!(!b.entered(), "not before its node is back");
        step(&mut b, exists_op("/b/round-1/ready", true), exists(Some(S)));
        let mine = "/b/round-1/p2";
        let got = step(&mut b, create(mine, CreateMode::Ephemeral), created(mine));
        assert_eq!(
            got.map(|e| (e.session, e.step)),
            Some((s2, BarrierStep::Entered))
        );
    }

    #[test]
    fn participants_leave_ready_out_and_sort() {
        let names: Vec<String> = ["p3", "ready", "p1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(participants(&names), vec!["p1", "p3"]);
    }

    #[test]
    #[should_panic(expected = "leave before passing enter")]
    fn leaving_before_entering_is_a_bug() {
        let mut b = entering(true);
        b.leave();
    }
}
