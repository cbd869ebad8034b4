//! The lock recipe (ZooKeeper's recipes page, "Locks"; Curator's `InterProcessMutex` with
//! `withProtection()`) as a sans-IO state machine over a session: a client asks for the
//! lock by creating an ephemeral sequential child `_c_<guid>-lock-NNNNNNNNNN` of the lock
//! node, lists the children, holds the lock when its node has the lowest sequence number,
//! and otherwise watches only its predecessor (the next-lower node, `exists` with a watch),
//! so that a release wakes one waiter: O(1) watch events per acquisition, no herd. Release
//! deletes the node; a session that ends (expiry) loses the lock, and the host starts over.
//!
//! Protected mode: a create whose answer was lost (`ConnectionLoss`) may or may not have
//! happened, so the recipe lists the children and looks for its guid before creating again
//! (a node it finds is its own). The planted bug `lock-no-guid` (`protected = false`)
//! creates again without looking: the first node, if it was made, stays behind as an
//! orphan of a live session and blocks the lock until that session ends.
//!
//! The fencing token of a hold is its node's creation zxid (from the create's reply, or an
//! `exists` on the node when it was found by its guid): later holders' nodes are created
//! later, so tokens grow with each grant.
//!
//! The host submits what `next_op` returns (one op at a time), feeds back completions,
//! watch events and session changes, and reports the returned [`LockEvent`]s.
//! Invariants (asserted after every input): at most one op in flight, and only in a step
//! that sends one; a held lock has its node and token; a hold that started ends exactly
//! once; at most `CHILDREN_MAX` children are considered.

use proto::Zxid;
use proto::history::LockEnd;
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, Op, OpResult, SessionId, ZkError};

/// The protected-mode prefix of a lock node's name (Curator's `_c_`).
pub const PROTECTED_PREFIX: &str = "_c_";
/// What comes between the guid and the sequence number.
pub const LOCK_MARKER: &str = "-lock-";
/// Most children of the lock node the recipe considers (each client has one node, two
/// under the planted bug; the simulator runs far fewer processes than this).
pub const CHILDREN_MAX: usize = 4096;

/// A lock hold starting, acquiring or ending, for the history. `hold` numbers the holds
/// of one session (1, 2, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockEvent {
    Requested {
        session: SessionId,
        hold: u64,
    },
    Acquired {
        session: SessionId,
        hold: u64,
        node: String,
        token: u64,
    },
    Ended {
        session: SessionId,
        hold: u64,
        node: Option<String>,
        end: LockEnd,
        watch_events: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Creating the lock node.
    Setup,
    /// Not asking for the lock.
    Idle,
    /// Creating our node.
    Creating,
    /// Our create lost its answer: listing the children to look for our guid.
    Finding,
    /// Listing the children to see our place.
    Listing,
    /// `exists` with a watch on the predecessor in flight.
    Watching { predecessor: String },
    /// The predecessor's watch is set: waiting for its deletion.
    Waiting { predecessor: String },
    /// First in line with a node found by its guid: `exists` on it for the token.
    Stat,
    /// Holding the lock.
    Held,
    /// Deleting our nodes (`to_delete`, last one ours) to release, ending with `end`.
    Releasing { end: LockEnd },
}

/// One client's lock recipe.
#[derive(Clone, Debug)]
pub struct Lock {
    lock: String,
    /// Protected mode (false: the planted bug `lock-no-guid`).
    protected: bool,
    setup_done: bool,
    step: Step,
    in_flight: bool,
    /// The session ops run in (the host tells it on every connect).
    session: SessionId,
    /// Holds started in this session.
    holds: u64,
    /// A hold started and not ended.
    active: bool,
    guid: String,
    /// Our node's name (a child of the lock node), once known.
    node: Option<String>,
    /// Other nodes of ours (a create applied after the search that looked for it): deleted
    /// with ours at the release.
    extra: Vec<String>,
    /// Nodes to delete to release, ours last.
    to_delete: Vec<String>,
    token: Option<u64>,
    watch_events: u64,
}

/// The sequence number of a lock child's name, if it is one.
pub fn sequence_of(name: &str) -> Option<u64> {
    let (_, digits) = name.rsplit_once(LOCK_MARKER)?;
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The guid of a protected lock child's name, if it is one.
pub fn guid_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(PROTECTED_PREFIX)?;
    Some(rest.rsplit_once(LOCK_MARKER)?.0)
}

impl Lock {
    pub fn new(lock: &str, protected: bool) -> Lock {
        assert!(lock.starts_with('/') && lock.len() > 1 && !lock.ends_with('/'));
        Lock {
            lock: lock.to_string(),
            protected,
            setup_done: false,
            step: Step::Setup,
            in_flight: false,
            session: SessionId::NONE,
            holds: 0,
            active: false,
            guid: String::new(),
            node: None,
            extra: Vec::new(),
            to_delete: Vec::new(),
            token: None,
            watch_events: 0,
        }
    }

    /// The lock node's path.
    pub fn path(&self) -> &str {
        &self.lock
    }

    /// The session the recipe's ops run in; a new session starts with no hold.
    pub fn set_session(&mut self, session: SessionId) {
        assert!(!session.is_none());
        if session != self.session {
            assert!(!self.active, "a hold outlived its session");
            self.session = session;
            self.holds = 0;
        }
    }

    /// A hold is in progress: asking, waiting, holding or releasing.
    pub fn active(&self) -> bool {
        self.active
    }

    /// Not in a hold and ready to ask: [`Lock::acquire`] may be called.
    pub fn idle(&self) -> bool {
        !self.active
    }

    /// The held lock: our node and the fencing token.
    pub fn held(&self) -> Option<(&str, u64)> {
        match self.step {
            Step::Held => Some((
                self.node.as_deref().expect("held"),
                self.token.expect("held"),
            )),
            _ => None,
        }
    }

    /// The predecessor we wait for, if waiting (for liveness explanations).
    pub fn waiting_for(&self) -> Option<&str> {
        match &self.step {
            Step::Waiting { predecessor } | Step::Watching { predecessor } => Some(predecessor),
            _ => None,
        }
    }

    /// Our node's name, once known.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    fn check_invariants(&self) {
        assert!(self.extra.len() <= CHILDREN_MAX && self.to_delete.len() <= CHILDREN_MAX);
        assert!(
            !self.in_flight || !matches!(self.step, Step::Idle | Step::Waiting { .. } | Step::Held),
            "an op in flight in step {:?}",
            self.step
        );
        if self.step == Step::Held {
            assert!(self.active && self.node.is_some() && self.token.is_some());
        }
        assert!(
            self.active || matches!(self.step, Step::Idle | Step::Setup),
            "step {:?} outside a hold",
            self.step
        );
        assert!(
            !self.active || !self.session.is_none(),
            "a hold without a session"
        );
        assert!(
            !matches!(self.step, Step::Releasing { .. }) || !self.to_delete.is_empty(),
            "releasing nothing"
        );
    }

    /// Asks for the lock: starts hold `holds + 1` of the session (its guid names our node).
    pub fn acquire(&mut self) -> LockEvent {
        self.check_invariants();
        assert!(!self.active, "acquire during a hold");
        assert!(!self.session.is_none(), "acquire before a session");
        self.holds += 1;
        self.active = true;
        self.guid = format!("{:x}x{}", self.session.0, self.holds);
        self.node = None;
        self.extra.clear();
        self.token = None;
        self.watch_events = 0;
        if self.setup_done {
            self.step = Step::Creating;
        }
        LockEvent::Requested {
            session: self.session,
            hold: self.holds,
        }
    }

    /// Gives the lock up after the critical section: deletes our node(s).
    pub fn release(&mut self) {
        self.finish(LockEnd::Released);
    }

    /// The protected resource refused our token: someone holds a newer grant, so ours is
    /// gone. Deletes our node(s) all the same (NoNode is expected).
    pub fn fenced(&mut self) {
        self.finish(LockEnd::Fenced);
    }

    fn finish(&mut self, end: LockEnd) {
        self.check_invariants();
        assert_eq!(self.step, Step::Held, "releasing a lock not held");
        let node = self.node.clone().expect("held");
        self.to_delete = self.extra.drain(..).chain([node]).collect();
        self.step = Step::Releasing { end };
    }

    fn child_path(&self, name: &str) -> String {
        format!("{}/{name}", self.lock)
    }

    /// The next op to submit now.
    pub fn next_op(&mut self) -> Option<Op> {
        self.check_invariants();
        if self.in_flight {
            return None;
        }
        let op = match &self.step {
            Step::Setup => Op::Create {
                path: self.lock.clone(),
                data: Vec::new(),
                mode: CreateMode::Persistent,
            },
            Step::Idle | Step::Waiting { .. } | Step::Held => return None,
            Step::Creating => Op::Create {
                path: self.child_path(&format!("{PROTECTED_PREFIX}{}{LOCK_MARKER}", self.guid)),
                data: Vec::new(),
                mode: CreateMode::EphemeralSequential,
            },
            Step::Finding | Step::Listing => Op::GetChildren {
                path: self.lock.clone(),
                watch: false,
            },
            Step::Watching { predecessor } => Op::Exists {
                path: self.child_path(predecessor),
                watch: true,
            },
            Step::Stat => Op::Exists {
                path: self.child_path(self.node.as_deref().expect("found")),
                watch: false,
            },
            Step::Releasing { .. } => Op::Delete {
                path: self.child_path(&self.to_delete[0]),
                version: Op::ANY_VERSION,
            },
        };
        self.in_flight = true;
        Some(op)
    }

    /// A watch event. A deleted predecessor sends us back to listing; every event on a
    /// child of the lock node during a hold counts toward the herd metric.
    pub fn on_watch(&mut self, event: &WatchEvent) {
        self.check_invariants();
        let Some(name) = event
            .path
            .strip_prefix(self.lock.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return;
        };
        if self.active {
            self.watch_events += 1;
        }
        if let Step::Waiting { predecessor } = &self.step
            && predecessor == name
        {
            self.step = match event.kind {
                EventType::NodeDeleted => Step::Listing,
                // Anything else consumed the one-shot watch: set it again.
                _ => Step::Watching {
                    predecessor: predecessor.clone(),
                },
            };
        }
    }

    /// The session ended (expired or closed): a hold in progress is lost with its node.
    pub fn on_session_lost(&mut self) -> Option<LockEvent> {
        self.check_invariants();
        self.in_flight = false;
        self.end(LockEnd::Lost)
    }

    fn end(&mut self, end: LockEnd) -> Option<LockEvent> {
        self.step = if self.setup_done {
            Step::Idle
        } else {
            Step::Setup
        };
        self.to_delete.clear();
        self.extra.clear();
        if !std::mem::take(&mut self.active) {
            return None;
        }
        Some(LockEvent::Ended {
            session: self.session,
            hold: self.holds,
            node: self.node.take(),
            end,
            watch_events: self.watch_events,
        })
    }

    /// The completion of the op in flight (`zxid`: the reply's, `None` when the client
    /// produced the result itself).
    pub fn on_result(
        &mut self,
        op: &Op,
        result: &OpResult,
        zxid: Option<Zxid>,
    ) -> Option<LockEvent> {
        self.check_invariants();
        assert!(self.in_flight, "a result without an op in flight: {op:?}");
        self.in_flight = false;
        match result {
            OpResult::Err(ZkError::SessionExpired) => return self.on_session_lost(),
            OpResult::Err(ZkError::ConnectionLoss) => {
                self.on_connection_loss();
                return None;
            }
            _ => {}
        }
        match self.step.clone() {
            Step::Setup => {
                if matches!(
                    result,
                    OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
                ) {
                    self.setup_done = true;
                    self.step = if self.active {
                        Step::Creating
                    } else {
                        Step::Idle
                    };
                }
                None
            }
            Step::Creating => match result {
                OpResult::Created { path, stat } => {
                    let name = path.rsplit_once('/').map(|(_, n)| n).expect("a child path");
                    assert!(sequence_of(name).is_some(), "a lock child: {name}");
                    self.node = Some(name.to_string());
                    self.token = stat.map(|s| s.czxid.0).or(zxid.map(|z| z.0));
                    self.step = Step::Listing;
                    None
                }
                // The lock node is gone (someone deleted it): create it again.
                OpResult::Err(ZkError::NoNode) => {
                    self.setup_done = false;
                    self.step = Step::Setup;
                    None
                }
                other => panic!("lock create answered {other:?}"),
            },
            Step::Finding | Step::Listing => {
                let OpResult::Children(names) = result else {
                    // NoNode: the lock node is gone; our node with it.
                    return self.end(LockEnd::Lost);
                };
                self.on_children(names)
            }
            Step::Watching { predecessor } => {
                self.step = match result {
                    OpResult::Exists(Some(_)) => Step::Waiting { predecessor },
                    _ => Step::Listing,
                };
                None
            }
            Step::Stat => match result {
                OpResult::Exists(Some(stat)) if stat.ephemeral_owner == self.session => {
                    self.token = Some(stat.czxid.0);
                    self.acquired()
                }
                // Gone (our session ended) or not ours after all.
                _ => self.end(LockEnd::Lost),
            },
            Step::Releasing { end } => {
                assert!(
                    matches!(result, OpResult::Deleted | OpResult::Err(ZkError::NoNode)),
                    "delete answered {result:?}"
                );
                self.to_delete.remove(0);
                if self.to_delete.is_empty() {
                    return self.end(end);
                }
                None
            }
            other => panic!("a result in step {other:?}"),
        }
    }

    /// The connection broke with an op in flight: the session (and any node it made)
    /// lives on, so the same step runs again after the reconnect — except a lost create,
    /// which first looks for its guid (protected mode) and a lost watch, which lists again.
    fn on_connection_loss(&mut self) {
        match self.step.clone() {
            Step::Creating if self.protected => self.step = Step::Finding,
            Step::Watching { .. } => self.step = Step::Listing,
            // Setup, Finding, Listing, Stat, Releasing, and the bug's blind create again.
            _ => {}
        }
    }

    fn on_children(&mut self, names: &[String]) -> Option<LockEvent> {
        let mut children: Vec<(u64, &str)> = names
            .iter()
            .filter_map(|n| Some((sequence_of(n)?, n.as_str())))
            .collect();
        assert!(
            children.len() <= CHILDREN_MAX,
            "{} lock children, more than CHILDREN_MAX",
            children.len()
        );
        children.sort_unstable();
        if self.step == Step::Finding {
            let ours: Vec<&str> = children
                .iter()
                .filter(|(_, n)| guid_of(n) == Some(self.guid.as_str()))
                .map(|(_, n)| *n)
                .collect();
            let Some((first, rest)) = ours.split_first() else {
                // The lost create never happened: create again.
                self.step = Step::Creating;
                return None;
            };
            self.node = Some(first.to_string());
            self.extra = rest.iter().map(|n| n.to_string()).collect();
            self.token = None;
        }
        let node = self.node.clone().expect("our node is known when listing");
        let guid = guid_of(&node).expect("a protected name").to_string();
        // A late create of ours (its answer lost) may show up later: it is ours to delete.
        for (_, n) in &children {
            if self.protected
                && *n != node
                && guid_of(n) == Some(&guid)
                && !self.extra.iter().any(|e| e == n)
            {
                self.extra.push(n.to_string());
            }
        }
        let Some(position) = children.iter().position(|(_, n)| *n == node) else {
            // Our node is gone: our session ended (we will hear of it) or it was deleted.
            return self.end(LockEnd::Lost);
        };
        // Our own extra nodes ahead of us are not someone else's hold: they are ours. Only
        // protected mode knows them (the planted bug does not, and waits on its orphan).
        let ahead = children[..position]
            .iter()
            .rev()
            .find(|(_, n)| !self.extra.iter().any(|e| e == n));
        match ahead {
            None => {
                if self.token.is_none() {
                    self.step = Step::Stat;
                    return None;
                }
                self.acquired()
            }
            Some((_, predecessor)) => {
                self.step = Step::Watching {
                    predecessor: predecessor.to_string(),
                };
                None
            }
        }
    }

    fn acquired(&mut self) -> Option<LockEvent> {
        assert!(self.active && self.node.is_some() && self.token.is_some());
        self.step = Step::Held;
        Some(LockEvent::Acquired {
            session: self.session,
            hold: self.holds,
            node: self.node.clone().expect("checked"),
            token: self.token.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::zk::Stat;

    const S: SessionId = SessionId(0xab);

    fn name(guid: &str, seq: u64) -> String {
        format!("{PROTECTED_PREFIX}{guid}{LOCK_MARKER}{seq:010}")
    }

    fn created(name: &str) -> OpResult {
        OpResult::Created {
            path: format!("/lock/{name}"),
            stat: None,
        }
    }

    fn children(names: &[&str]) -> OpResult {
        OpResult::Children(names.iter().map(|n| n.to_string()).collect())
    }

    fn stat(czxid: u64, owner: SessionId) -> Stat {
        Stat {
            czxid: Zxid(czxid),
            ephemeral_owner: owner,
            ..Stat::default()
        }
    }

    /// A recipe with its lock node set up, in session `S`, asking for hold 1.
    fn asking(protected: bool) -> Lock {
        let mut l = Lock::new("/lock", protected);
        l.set_session(S);
        let setup = l.next_op().expect("setup");
        assert!(
            matches!(setup, Op::Create { ref path, mode: CreateMode::Persistent, .. } if path == "/lock")
        );
        assert_eq!(
            l.on_result(&setup, &OpResult::Err(ZkError::NodeExists), Some(Zxid(1))),
            None
        );
        assert_eq!(l.next_op(), None, "idle until asked");
        assert_eq!(
            l.acquire(),
            LockEvent::Requested {
                session: S,
                hold: 1
            }
        );
        l
    }

    fn step(l: &mut Lock, expect: Op, result: OpResult, zxid: Option<Zxid>) -> Option<LockEvent> {
        let op = l.next_op().expect("an op");
        assert_eq!(op, expect);
        assert_eq!(l.next_op(), None, "one op in flight");
        l.on_result(&op, &result, zxid)
    }

    fn create_op() -> Op {
        Op::Create {
            path: "/lock/_c_abx1-lock-".into(),
            data: Vec::new(),
            mode: CreateMode::EphemeralSequential,
        }
    }

    fn list_op() -> Op {
        Op::GetChildren {
            path: "/lock".into(),
            watch: false,
        }
    }

    #[test]
    fn names_parse() {
        assert_eq!(sequence_of("_c_abx1-lock-0000000042"), Some(42));
        assert_eq!(guid_of("_c_abx1-lock-0000000042"), Some("abx1"));
        assert_eq!(sequence_of("_c_abx1-lock-42"), None);
        assert_eq!(sequence_of("other"), None);
        assert_eq!(guid_of("lock-0000000001"), None);
    }

    #[test]
    fn first_in_line_holds_with_its_creation_zxid_then_releases() {
        let mut l = asking(true);
        let mine = name("abx1", 3);
        assert_eq!(
            step(
                &mut l,
                create_op(),
                created(&mine),
                Some(Zxid(0x1_0000_0007))
            ),
            None
        );
        let got = step(
            &mut l,
            list_op(),
            children(&[&mine]),
            Some(Zxid(0x1_0000_0007)),
        );
        assert_eq!(
            got,
            Some(LockEvent::Acquired {
                session: S,
                hold: 1,
                node: mine.clone(),
                token: 0x1_0000_0007
            })
        );
        assert_eq!(l.held(), Some((mine.as_str(), 0x1_0000_0007)));
        assert_eq!(l.next_op(), None, "nothing to do while held");
        l.release();
        let delete = Op::Delete {
            path: format!("/lock/{mine}"),
            version: -1,
        };
        let got = step(&mut l, delete, OpResult::Deleted, Some(Zxid(0x1_0000_0009)));
        assert_eq!(
            got,
            Some(LockEvent::Ended {
                session: S,
                hold: 1,
                node: Some(mine),
                end: LockEnd::Released,
                watch_events: 0
            })
        );
        assert!(l.idle());
        assert_eq!(
            l.acquire(),
            LockEvent::Requested {
                session: S,
                hold: 2
            }
        );
    }

    #[test]
    fn a_waiter_watches_only_its_predecessor_and_wakes_once() {
        let mut l = asking(true);
        let mine = name("abx1", 5);
        let (a, b) = (name("x", 1), name("y", 4));
        step(&mut l, create_op(), created(&mine), Some(Zxid(50)));
        // Listed unsorted; the predecessor is the next-lower sequence number, not the head.
        assert_eq!(
            step(
                &mut l,
                list_op(),
                children(&[&mine, &b, &a]),
                Some(Zxid(50))
            ),
            None
        );
        let watch_b = Op::Exists {
            path: format!("/lock/{b}"),
            watch: true,
        };
        assert_eq!(
            step(
                &mut l,
                watch_b,
                OpResult::Exists(Some(stat(40, SessionId(9)))),
                Some(Zxid(50))
            ),
            None
        );
        assert_eq!(l.waiting_for(), Some(b.as_str()));
        assert_eq!(l.next_op(), None, "waiting sends nothing");
        // The predecessor's release wakes us (only us: nobody else watches it).
        l.on_watch(&WatchEvent {
            kind: EventType::NodeDeleted,
            path: format!("/lock/{b}"),
            zxid: Zxid(60),
        });
        assert_eq!(
            step(&mut l, list_op(), children(&[&mine, &a]), Some(Zxid(60))),
            None
        );
        let watch_a = Op::Exists {
            path: format!("/lock/{a}"),
            watch: true,
        };
        assert_eq!(
            step(&mut l, watch_a, OpResult::Exists(None), Some(Zxid(61))),
            None
        );
        // Gone already: list again, and hold.
        let got = step(&mut l, list_op(), children(&[&mine]), Some(Zxid(61)));
        assert!(
            matches!(got, Some(LockEvent::Acquired { token: 50, .. })),
            "{got:?}"
        );
        l.release();
        let delete = Op::Delete {
            path: format!("/lock/{mine}"),
            version: -1,
        };
        let ended = step(
            &mut l,
            delete,
            OpResult::Err(ZkError::NoNode),
            Some(Zxid(70)),
        );
        assert!(
            matches!(
                ended,
                Some(LockEvent::Ended {
                    watch_events: 1,
                    end: LockEnd::Released,
                    ..
                })
            ),
            "{ended:?}"
        );
    }

    #[test]
    fn a_lost_create_is_found_by_its_guid_and_its_token_read() {
        let mut l = asking(true);
        let mine = name("abx1", 2);
        assert_eq!(
            step(
                &mut l,
                create_op(),
                OpResult::Err(ZkError::ConnectionLoss),
                None
            ),
            None
        );
        // Look before creating again: our guid is there.
        let other = name("zz", 1);
        assert_eq!(
            step(
                &mut l,
                list_op(),
                children(&[&other, &mine]),
                Some(Zxid(30))
            ),
            None
        );
        assert_eq!(l.node(), Some(mine.as_str()));
        let watch = Op::Exists {
            path: format!("/lock/{other}"),
            watch: true,
        };
        assert_eq!(
            step(&mut l, watch, OpResult::Exists(None), Some(Zxid(31))),
            None
        );
        assert_eq!(
            step(&mut l, list_op(), children(&[&mine]), Some(Zxid(31))),
            None
        );
        let exists = Op::Exists {
            path: format!("/lock/{mine}"),
            watch: false,
        };
        let got = step(
            &mut l,
            exists,
            OpResult::Exists(Some(stat(25, S))),
            Some(Zxid(31)),
        );
        assert_eq!(
            got,
            Some(LockEvent::Acquired {
                session: S,
                hold: 1,
                node: mine,
                token: 25
            })
        );
    }

    #[test]
    fn a_lost_create_that_never_happened_is_made_again() {
        let mut l = asking(true);
        step(
            &mut l,
            create_op(),
            OpResult::Err(ZkError::ConnectionLoss),
            None,
        );
        assert_eq!(
            step(
                &mut l,
                list_op(),
                children(&[&name("zz", 1)]),
                Some(Zxid(30))
            ),
            None
        );
        assert_eq!(
            step(
                &mut l,
                create_op(),
                created(&name("abx1", 2)),
                Some(Zxid(32))
            ),
            None
        );
        assert_eq!(l.node(), Some(name("abx1", 2).as_str()));
    }

    #[test]
    fn without_the_guid_search_the_orphan_blocks_its_own_client() {
        // The planted bug: the lost create is retried blindly; the first node (seq 2) was
        // made, so the client waits for its own orphan.
        let mut l = asking(false);
        step(
            &mut l,
            create_op(),
            OpResult::Err(ZkError::ConnectionLoss),
            None,
        );
        let (orphan, mine) = (name("abx1", 2), name("abx1", 3));
        assert_eq!(
            step(&mut l, create_op(), created(&mine), Some(Zxid(40))),
            None
        );
        assert_eq!(
            step(
                &mut l,
                list_op(),
                children(&[&orphan, &mine]),
                Some(Zxid(40))
            ),
            None
        );
        let watch = Op::Exists {
            path: format!("/lock/{orphan}"),
            watch: true,
        };
        assert_eq!(
            step(
                &mut l,
                watch,
                OpResult::Exists(Some(stat(35, S))),
                Some(Zxid(40))
            ),
            None
        );
        assert_eq!(l.waiting_for(), Some(orphan.as_str()));
    }

    #[test]
    fn a_duplicate_of_ours_is_skipped_and_deleted_at_release() {
        let mut l = asking(true);
        let (mine, late) = (name("abx1", 2), name("abx1", 4));
        step(&mut l, create_op(), created(&mine), Some(Zxid(20)));
        let got = step(&mut l, list_op(), children(&[&mine, &late]), Some(Zxid(22)));
        assert!(matches!(got, Some(LockEvent::Acquired { .. })));
        l.release();
        let del = |n: &str| Op::Delete {
            path: format!("/lock/{n}"),
            version: -1,
        };
        assert_eq!(
            step(&mut l, del(&late), OpResult::Deleted, Some(Zxid(23))),
            None
        );
        let got = step(&mut l, del(&mine), OpResult::Deleted, Some(Zxid(24)));
        assert!(matches!(
            got,
            Some(LockEvent::Ended {
                end: LockEnd::Released,
                ..
            })
        ));
    }

    #[test]
    fn expiry_loses_the_hold_and_a_new_session_numbers_holds_afresh() {
        let mut l = asking(true);
        let mine = name("abx1", 1);
        step(&mut l, create_op(), created(&mine), Some(Zxid(10)));
        step(&mut l, list_op(), children(&[&mine]), Some(Zxid(10)));
        assert!(l.held().is_some());
        assert_eq!(
            l.on_session_lost(),
            Some(LockEvent::Ended {
                session: S,
                hold: 1,
                node: Some(mine),
                end: LockEnd::Lost,
                watch_events: 0
            })
        );
        assert_eq!(l.on_session_lost(), None, "a hold ends once");
        l.set_session(SessionId(0xcd));
        assert_eq!(
            l.acquire(),
            LockEvent::Requested {
                session: SessionId(0xcd),
                hold: 1
            }
        );
        let op = l.next_op().expect("create");
        assert!(matches!(op, Op::Create { ref path, .. } if path == "/lock/_c_cdx1-lock-"));
    }

    #[test]
    fn a_fenced_holder_deletes_its_node_and_ends_fenced() {
        let mut l = asking(true);
        let mine = name("abx1", 1);
        step(&mut l, create_op(), created(&mine), Some(Zxid(10)));
        step(&mut l, list_op(), children(&[&mine]), Some(Zxid(10)));
        l.fenced();
        let del = Op::Delete {
            path: format!("/lock/{mine}"),
            version: -1,
        };
        let got = step(&mut l, del, OpResult::Err(ZkError::NoNode), Some(Zxid(12)));
        assert!(
            matches!(
                got,
                Some(LockEvent::Ended {
                    end: LockEnd::Fenced,
                    ..
                })
            ),
            "{got:?}"
        );
    }

    #[test]
    fn our_node_missing_from_the_listing_loses_the_hold() {
        let mut l = asking(true);
        step(
            &mut l,
            create_op(),
            created(&name("abx1", 1)),
            Some(Zxid(10)),
        );
        let got = step(
            &mut l,
            list_op(),
            children(&[&name("q", 7)]),
            Some(Zxid(10)),
        );
        assert!(
            matches!(
                got,
                Some(LockEvent::Ended {
                    end: LockEnd::Lost,
                    ..
                })
            ),
            "{got:?}"
        );
        assert!(l.idle());
    }

    #[test]
    #[should_panic(expected = "releasing a lock not held")]
    fn releasing_while_waiting_is_a_bug() {
        let mut l = asking(true);
        l.release();
    }
}
