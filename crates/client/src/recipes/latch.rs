//! The leader latch (Curator's `LeaderLatch`, ZooKeeper's recipes page "Leader Election")
//! as a sans-IO state machine over a session: a candidate creates a protected ephemeral
//! sequential child `_c_<guid>-latch-NNNNNNNNNN` of the election node, lists the children,
//! leads when its node is the lowest, and otherwise watches only its predecessor. The
//! leader's epoch — the fencing token of everything it does — is its node's creation zxid.
//!
//! Connection states follow Curator with its standard error policy: SUSPENDED (the
//! connection dropped) and LOST (the session ended, or the client gave it up) end a
//! tenure; RECONNECTED lists the children again and checks the node the latch remembers
//! (`getChildren` → `checkLeadership`, as Curator does since CURATOR-644/645). A latch whose
//! node is missing resets: it deletes the node it remembers (guaranteed delete) and creates
//! a new one, with a new guid: each reset is a generation.
//!
//! Creates are Curator's protected creates in the background: a create whose answer was
//! lost is retried by Curator's retry loop — it sleeps `RETRY_BACKOFF_MS`, then retries if
//! connected or sleeps twice as long again (`ExponentialBackoffRetry`, without its jitter,
//! sleeps capped at `RETRY_BACKOFF_SHIFT_MAX` doublings) — by looking for its guid first.
//! Such a retry can answer long after the latch reset on the reconnection, with the name
//! of an earlier generation's node. Two Curator fixes are modelled, each with its planted bug:
//! - CURATOR-498: a create's answer from an earlier generation is not the latch's node: it
//!   is deleted (the latch's orphan). The bug (`adopt_stale_creates`) adopts it, as
//!   `setNode` did: the stale name replaces the latch's own, whose node — possibly the
//!   leader's — is deleted, and the latch keeps its leader flag: two leaders.
//! - CURATOR-696: before it leads, the latch reads its node's stat (for the epoch) and
//!   checks that the node's ephemeral owner is its current session (Curator PR #500). The
//!   bug (`skip_owner_check`) reads the stat and trusts the name: after the client gave up
//!   a session that the servers still kept (LOST by the client's own timer), the new
//!   session finds the old node lowest and leads with it; when the servers expire the old
//!   session the node goes, the latch does not notice, and another candidate leads too.
//!
//! The host submits every op `next_op` returns while connected (several may be in flight;
//! answers come in submission order), feeds back each op's completion with the tag it got,
//! watch events, connection states and the time, arms a timer at `retry_at`, and reports
//! the returned [`LatchEvent`]s. Invariants (asserted after every input): a leader has a
//! node and an epoch; at most `OPS_IN_FLIGHT_MAX` ops in flight, `ATTEMPTS_MAX` retried
//! creates and `DELETES_MAX` pending deletes; generations only grow.

use std::collections::VecDeque;

use proto::history::LeaderEnd;
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, Op, OpResult, SessionId, ZkError};
use proto::{NS_PER_MS, Time, Zxid};

/// The protected-mode prefix of a latch node's name (Curator's `_c_`).
pub const PROTECTED_PREFIX: &str = "_c_";
/// What comes between the guid and the sequence number (Curator's `latch-`).
pub const LATCH_MARKER: &str = "-latch-";
/// Most children of the election node the recipe considers.
pub const CHILDREN_MAX: usize = 4096;
/// Most ops in flight at once (a reset's delete and create, a retried create's lookup, a
/// listing, a watch or stat: fewer than this).
pub const OPS_IN_FLIGHT_MAX: usize = 16;
/// Most creates awaiting a retry, and most nodes awaiting a guaranteed delete.
pub const ATTEMPTS_MAX: usize = 64;
pub const DELETES_MAX: usize = 64;
/// A create that lost its answer is retried this long after the loss (Curator's
/// `ExponentialBackoffRetry` sleeps before a retry; scaled like the session timeouts).
pub const RETRY_BACKOFF_MS: u64 = 300;
/// The retry loop's sleep doubles at most this many times (4.8 s).
pub const RETRY_BACKOFF_SHIFT_MAX: u32 = 4;

/// What an op in flight is for; the host hands it back with the op's completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LatchOp {
    /// Creating the election node.
    Setup,
    /// Creating our node in reset generation `generation` with `guid`.
    Create { generation: u64, guid: String },
    /// A retried create of generation `generation`: listing the children to find `guid`.
    Find { generation: u64, guid: String },
    /// Listing the children to check our place (generation `generation`).
    List { generation: u64 },
    /// `exists` with a watch on our predecessor.
    Watch {
        generation: u64,
        predecessor: String,
    },
    /// Reading our lowest node's stat before leading (epoch; owner check).
    Verify { generation: u64, node: String },
    /// A guaranteed delete of one of our nodes.
    Delete { node: String },
}

/// A tenure starting or ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LatchEvent {
    Elected {
        session: SessionId,
        node: String,
        epoch: u64,
    },
    Deposed {
        epoch: u64,
        end: LeaderEnd,
    },
}

/// The planted bugs (both off: the correct recipe).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct LatchBugs {
    /// CURATOR-498: a create's answer from an earlier reset replaces the latch's node.
    pub adopt_stale_creates: bool,
    /// CURATOR-696: lead without checking the node's owner is the current session.
    pub skip_owner_check: bool,
}

/// A create whose answer was lost, to retry (look for its guid) at `retry_at`, after
/// `sleeps` sleeps of the retry loop.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Attempt {
    generation: u64,
    guid: String,
    retry_at: Time,
    sleeps: u32,
}

impl Attempt {
    /// A retry's first sleep starts at `now`.
    fn new(generation: u64, guid: String, now: Time) -> Attempt {
        Attempt {
            generation,
            guid,
            retry_at: now.plus_ns(RETRY_BACKOFF_MS * NS_PER_MS),
            sleeps: 1,
        }
    }
}

/// One candidate's leader latch.
#[derive(Clone, Debug)]
pub struct Latch {
    parent: String,
    bugs: LatchBugs,
    setup_done: bool,
    /// Setup is queued or in flight.
    setup_pending: bool,
    started: bool,
    connected: bool,
    session: SessionId,
    /// Reset generation (Curator's resets of `ourPath`); 0 before the first.
    generation: u64,
    /// Our node's name (Curator's `ourPath`), once known.
    node: Option<String>,
    /// The epoch we lead with, while leading.
    leading: Option<u64>,
    /// Ops to submit, in order.
    queue: VecDeque<(LatchOp, Op)>,
    in_flight: usize,
    attempts: Vec<Attempt>,
    to_delete: Vec<String>,
    /// Deletes queued or in flight (a subset of `to_delete`).
    deleting: Vec<String>,
    /// The predecessor whose deletion we wait for.
    watching: Option<String>,
    now: Time,
    /// Resets so far, and stale creates met (for figures).
    pub resets: u64,
    pub stale_creates: u64,
}

/// The sequence number of a latch child's name, if it is one.
pub fn sequence_of(name: &str) -> Option<u64> {
    let (_, digits) = name.rsplit_once(LATCH_MARKER)?;
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The guid of a protected latch child's name, if it is one.
pub fn guid_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(PROTECTED_PREFIX)?;
    Some(rest.rsplit_once(LATCH_MARKER)?.0)
}

impl Latch {
    pub fn new(parent: &str, bugs: LatchBugs) -> Latch {
        assert!(parent.starts_with('/') && parent.len() > 1 && !parent.ends_with('/'));
        Latch {
            parent: parent.to_string(),
            bugs,
            setup_done: false,
            setup_pending: false,
            started: false,
            connected: false,
            session: SessionId::NONE,
            generation: 0,
            node: None,
            leading: None,
            queue: VecDeque::new(),
            in_flight: 0,
            attempts: Vec::new(),
            to_delete: Vec::new(),
            deleting: Vec::new(),
            watching: None,
            now: Time::ZERO,
            resets: 0,
            stale_creates: 0,
        }
    }

    /// The epoch we lead with, if leading.
    pub fn leading(&self) -> Option<u64> {
        self.leading
    }

    /// Our node's name, once known.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// The predecessor we wait for, if any.
    pub fn watching(&self) -> Option<&str> {
        self.watching.as_deref()
    }

    /// When the earliest retried create is due (the host's timer), if any.
    pub fn retry_at(&self) -> Option<Time> {
        self.attempts.iter().map(|a| a.retry_at).min()
    }

    /// Nothing queued or in flight, no retry or delete pending: the latch waits for a watch
    /// or leads.
    pub fn quiet(&self) -> bool {
        self.queue.is_empty()
            && self.in_flight == 0
            && self.attempts.is_empty()
            && self.to_delete.is_empty()
    }

    fn check_invariants(&self) {
        assert!(
            self.in_flight <= OPS_IN_FLIGHT_MAX,
            "too many ops in flight"
        );
        assert!(
            self.attempts.len() <= ATTEMPTS_MAX,
            "too many retried creates"
        );
        assert!(
            self.to_delete.len() <= DELETES_MAX,
            "too many pending deletes"
        );
        assert!(
            self.deleting.iter().all(|d| self.to_delete.contains(d)),
            "a delete in flight that is not pending"
        );
        if self.leading.is_some() {
            assert!(self.node.is_some(), "a leader without a node");
            assert!(self.started, "a leader before start");
        }
        assert!(
            self.queue.len() <= OPS_IN_FLIGHT_MAX * 4,
            "the op queue is bounded"
        );
    }

    fn child_path(&self, name: &str) -> String {
        format!("{}/{name}", self.parent)
    }

    fn push(&mut self, tag: LatchOp) {
        let op = match &tag {
            LatchOp::Setup => Op::Create {
                path: self.parent.clone(),
                data: Vec::new(),
                mode: CreateMode::Persistent,
            },
            LatchOp::Create { guid, .. } => Op::Create {
                path: self.child_path(&format!("{PROTECTED_PREFIX}{guid}{LATCH_MARKER}")),
                data: Vec::new(),
                mode: CreateMode::EphemeralSequential,
            },
            LatchOp::Find { .. } | LatchOp::List { .. } => Op::GetChildren {
                path: self.parent.clone(),
                watch: false,
            },
            LatchOp::Watch { predecessor, .. } => Op::Exists {
                path: self.child_path(predecessor),
                watch: true,
            },
            LatchOp::Verify { node, .. } => Op::Exists {
                path: self.child_path(node),
                watch: false,
            },
            LatchOp::Delete { node } => Op::Delete {
                path: self.child_path(node),
                version: Op::ANY_VERSION,
            },
        };
        assert!(
            op.path()
                .is_some_and(|p| p.starts_with(self.parent.as_str())),
            "a latch op outside the election node: {op:?}"
        );
        self.queue.push_back((tag, op));
    }

    /// The next op to submit now (only while connected), with its tag.
    pub fn next_op(&mut self) -> Option<(LatchOp, Op)> {
        self.check_invariants();
        if !self.connected || self.in_flight >= OPS_IN_FLIGHT_MAX {
            return None;
        }
        let (tag, op) = self.queue.pop_front()?;
        self.in_flight += 1;
        Some((tag, op))
    }

    /// The first connection of the latch's first session: create the election node if
    /// needed, then ask for leadership (Curator's `start`).
    fn start(&mut self) -> Option<LatchEvent> {
        self.started = true;
        if !self.setup_done {
            self.setup_pending = true;
            self.push(LatchOp::Setup);
        }
        self.reset()
    }

    /// Curator's `reset`: give up leadership, forget (and delete) our node, and create a
    /// new one with a new guid.
    fn reset(&mut self) -> Option<LatchEvent> {
        let event = self.depose(LeaderEnd::Reset);
        if let Some(old) = self.node.take() {
            self.delete(old);
        }
        self.watching = None;
        let before = self.generation;
        self.generation += 1;
        self.resets += 1;
        let guid = format!("{:x}x{}", self.session.0, self.generation);
        self.push(LatchOp::Create {
            generation: self.generation,
            guid,
        });
        assert!(
            self.generation > before && self.leading.is_none() && self.node.is_none(),
            "a reset starts a new generation without a node or leadership"
        );
        event
    }

    fn depose(&mut self, end: LeaderEnd) -> Option<LatchEvent> {
        let epoch = self.leading.take()?;
        Some(LatchEvent::Deposed { epoch, end })
    }

    /// A guaranteed delete of one of our nodes (retried until it is gone).
    fn delete(&mut self, node: String) {
        if !self.to_delete.contains(&node) {
            self.to_delete.push(node.clone());
        }
        if self.connected && !self.deleting.contains(&node) {
            self.deleting.push(node.clone());
            self.push(LatchOp::Delete { node });
        }
    }

    /// The connection is up in `session` (Curator's CONNECTED and RECONNECTED, for the same
    /// session or a new one after LOST); `now` is the local time.
    pub fn on_connected(&mut self, session: SessionId, now: Time) -> Option<LatchEvent> {
        self.check_invariants();
        assert!(!session.is_none(), "connected without a session");
        assert!(!self.connected, "connected twice");
        self.now = self.now.max(now);
        self.connected = true;
        self.session = session;
        self.watching = None;
        for node in self.to_delete.clone() {
            self.delete(node);
        }
        if !self.started {
            return self.start();
        }
        if self.setup_pending {
            self.push(LatchOp::Setup);
        }
        self.push(LatchOp::List {
            generation: self.generation,
        });
        None
    }

    /// The connection dropped (Curator's SUSPENDED): leadership ends until checked again.
    /// Ops in flight complete with `ConnectionLoss` (before or after this call).
    pub fn on_disconnected(&mut self) -> Option<LatchEvent> {
        self.check_invariants();
        self.connected = false;
        self.unsend();
        let event = self.depose(LeaderEnd::Suspended);
        assert!(self.leading.is_none() && self.queue.is_empty());
        event
    }

    /// Drops the ops not sent yet; a create or lookup among them is retried later (its
    /// node may exist), a delete is still pending in `to_delete`.
    fn unsend(&mut self) {
        let now = self.now;
        for (tag, _) in std::mem::take(&mut self.queue) {
            if let LatchOp::Create { generation, guid } | LatchOp::Find { generation, guid } = tag {
                self.attempts.push(Attempt::new(generation, guid, now));
            }
        }
        self.deleting.clear();
    }

    /// The session ended (expired, or given up by the client: Curator's LOST). The node
    /// the latch remembers may live on in the servers until they expire that session; the
    /// latch keeps its name and checks it on the next connection (as Curator does).
    pub fn on_session_lost(&mut self) -> Option<LatchEvent> {
        self.check_invariants();
        self.connected = false;
        self.unsend();
        self.in_flight = 0;
        self.watching = None;
        let event = self.depose(LeaderEnd::Lost);
        assert!(self.leading.is_none() && self.queue.is_empty() && self.deleting.is_empty());
        event
    }

    /// The local time passed `retry_at`: a retry whose sleep is over goes out if connected,
    /// and sleeps again (twice as long) if not.
    pub fn on_tick(&mut self, now: Time) {
        self.check_invariants();
        self.now = self.now.max(now);
        let (due, later): (Vec<Attempt>, Vec<Attempt>) = std::mem::take(&mut self.attempts)
            .into_iter()
            .partition(|a| a.retry_at <= now);
        self.attempts = later;
        for mut a in due {
            if self.connected {
                self.push(LatchOp::Find {
                    generation: a.generation,
                    guid: a.guid,
                });
            } else {
                let shift = a.sleeps.min(RETRY_BACKOFF_SHIFT_MAX);
                a.retry_at = now.plus_ns((RETRY_BACKOFF_MS << shift) * NS_PER_MS);
                a.sleeps += 1;
                self.attempts.push(a);
            }
        }
    }

    /// A watch event: our predecessor's deletion sends us back to listing.
    pub fn on_watch(&mut self, event: &WatchEvent) -> Option<LatchEvent> {
        self.check_invariants();
        let name = event
            .path
            .strip_prefix(self.parent.as_str())
            .and_then(|rest| rest.strip_prefix('/'))?;
        if self.watching.as_deref() == Some(name) {
            self.watching = None;
            match event.kind {
                EventType::NodeDeleted => self.push(LatchOp::List {
                    generation: self.generation,
                }),
                // Anything else consumed the one-shot watch: set it again.
                _ => self.push(LatchOp::Watch {
                    generation: self.generation,
                    predecessor: name.to_string(),
                }),
            }
        }
        None
    }

    /// The completion of an op in flight (`now`: the local time).
    pub fn on_result(
        &mut self,
        tag: LatchOp,
        result: &OpResult,
        _zxid: Option<Zxid>,
        now: Time,
    ) -> Option<LatchEvent> {
        self.check_invariants();
        self.now = self.now.max(now);
        assert!(
            self.in_flight > 0,
            "a result without an op in flight: {tag:?}"
        );
        self.in_flight -= 1;
        let lost = matches!(
            result,
            OpResult::Err(ZkError::ConnectionLoss | ZkError::SessionExpired)
        );
        match tag {
            LatchOp::Setup => {
                if matches!(
                    result,
                    OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
                ) {
                    self.setup_done = true;
                    self.setup_pending = false;
                }
                None
            }
            LatchOp::Create { generation, guid } => match result {
                OpResult::Created { path, .. } => {
                    let name = path.rsplit_once('/').map(|(_, n)| n).expect("a child path");
                    assert!(sequence_of(name).is_some(), "a latch child: {name}");
                    self.created(generation, name.to_string())
                }
                OpResult::Err(ZkError::ConnectionLoss | ZkError::SessionExpired) => {
                    // The answer is lost; the node may exist. Retry later by guid.
                    self.attempts.push(Attempt::new(generation, guid, self.now));
                    None
                }
                // The election node is gone: create it again, then retry.
                OpResult::Err(ZkError::NoNode) => {
                    self.setup_pending = true;
                    self.push(LatchOp::Setup);
                    self.push(LatchOp::Create { generation, guid });
                    None
                }
                other => panic!("latch create answered {other:?}"),
            },
            LatchOp::Find { generation, guid } => match result {
                OpResult::Children(names) => {
                    assert!(names.len() <= CHILDREN_MAX, "too many latch children");
                    let found = names
                        .iter()
                        .filter(|n| guid_of(n) == Some(guid.as_str()))
                        .min_by_key(|n| sequence_of(n))
                        .cloned();
                    match found {
                        Some(name) => self.created(generation, name),
                        None => {
                            // It never happened: create again (same guid).
                            self.push(LatchOp::Create { generation, guid });
                            None
                        }
                    }
                }
                _ if lost => {
                    self.attempts.push(Attempt::new(generation, guid, self.now));
                    None
                }
                OpResult::Err(ZkError::NoNode) => {
                    self.setup_pending = true;
                    self.push(LatchOp::Setup);
                    self.push(LatchOp::Create { generation, guid });
                    None
                }
                other => panic!("latch lookup answered {other:?}"),
            },
            LatchOp::List { generation } => {
                if generation != self.generation || !self.connected {
                    return None; // a listing for an earlier generation, or lost
                }
                match result {
                    OpResult::Children(names) => self.check_leadership(names),
                    OpResult::Err(ZkError::NoNode) => {
                        self.setup_pending = true;
                        self.push(LatchOp::Setup);
                        self.reset()
                    }
                    _ => None, // lost: RECONNECTED lists again
                }
            }
            LatchOp::Watch {
                generation,
                predecessor,
            } => {
                if generation != self.generation || !self.connected {
                    return None;
                }
                match result {
                    OpResult::Exists(Some(_)) => {
                        self.watching = Some(predecessor);
                    }
                    OpResult::Exists(None) => self.push(LatchOp::List { generation }),
                    _ => {}
                }
                None
            }
            LatchOp::Verify { generation, node } => {
                if generation != self.generation || self.node.as_deref() != Some(node.as_str()) {
                    return None;
                }
                match result {
                    OpResult::Exists(Some(stat)) => {
                        let ours = stat.ephemeral_owner == self.session;
                        if !ours && !self.bugs.skip_owner_check {
                            // Not ours: a node of a session we gave up. Start over.
                            return self.reset();
                        }
                        if self.leading.is_some() {
                            return None; // already leading (the flag stays)
                        }
                        assert!(
                            sequence_of(&node).is_some() && stat.czxid.0 > 0,
                            "a leader's node is a latch child with a creation zxid"
                        );
                        self.leading = Some(stat.czxid.0);
                        Some(LatchEvent::Elected {
                            session: self.session,
                            node,
                            epoch: stat.czxid.0,
                        })
                    }
                    OpResult::Exists(None) => self.reset(),
                    _ => None,
                }
            }
            LatchOp::Delete { node } => {
                self.deleting.retain(|d| *d != node);
                if matches!(result, OpResult::Deleted | OpResult::Err(ZkError::NoNode)) {
                    self.to_delete.retain(|d| *d != node);
                } else if !lost {
                    panic!("latch delete answered {result:?}");
                }
                None
            }
        }
    }

    /// A create of generation `generation` made `name` (its answer, or found by its guid).
    fn created(&mut self, generation: u64, name: String) -> Option<LatchEvent> {
        assert!(
            generation <= self.generation && guid_of(&name).is_some(),
            "a create of a past or present generation, with a guid: {name}"
        );
        if generation == self.generation && self.node.is_none() {
            self.node = Some(name);
            self.push(LatchOp::List { generation });
            return None;
        }
        self.stale_creates += 1;
        if !self.bugs.adopt_stale_creates {
            // The fix: not our node any more — an orphan of an earlier reset. Delete it.
            self.delete(name);
            return None;
        }
        // CURATOR-498: `setNode(stale)` replaces our node and deletes the one we had — the
        // leader's, if we lead — and the leader flag stays as it was.
        if let Some(old) = self.node.replace(name) {
            self.delete(old);
        }
        self.watching = None;
        self.push(LatchOp::List {
            generation: self.generation,
        });
        None
    }

    /// Curator's `checkLeadership` over a listing of the election node.
    fn check_leadership(&mut self, names: &[String]) -> Option<LatchEvent> {
        assert!(names.len() <= CHILDREN_MAX, "too many latch children");
        let mut children: Vec<(u64, &str)> = names
            .iter()
            .filter_map(|n| Some((sequence_of(n)?, n.as_str())))
            .collect();
        children.sort_unstable();
        assert!(
            children.windows(2).all(|w| w[0].0 < w[1].0),
            "sequence numbers are unique"
        );
        let Some(node) = self.node.clone() else {
            return self.reset(); // "Can't find our node. Resetting."
        };
        let Some(index) = children.iter().position(|(_, n)| *n == node) else {
            return self.reset();
        };
        if index == 0 {
            self.push(LatchOp::Verify {
                generation: self.generation,
                node,
            });
        } else {
            let predecessor = children[index - 1].1.to_string();
            self.push(LatchOp::Watch {
                generation: self.generation,
                predecessor,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::zk::Stat;

    const S: SessionId = SessionId(0xab);
    const T0: Time = Time::ZERO;

    fn name(guid: &str, seq: u64) -> String {
        format!("{PROTECTED_PREFIX}{guid}{LATCH_MARKER}{seq:010}")
    }

    fn created(name: &str) -> OpResult {
        OpResult::Created {
            path: format!("/election/{name}"),
            stat: None,
        }
    }

    fn children(names: &[&str]) -> OpResult {
        OpResult::Children(names.iter().map(|n| n.to_string()).collect())
    }

    fn exists(czxid: u64, owner: SessionId) -> OpResult {
        OpResult::Exists(Some(Stat {
            czxid: Zxid(czxid),
            ephemeral_owner: owner,
            ..Stat::default()
        }))
    }

    fn create_op(guid: &str) -> Op {
        Op::Create {
            path: format!("/election/_c_{guid}-latch-"),
            data: Vec::new(),
            mode: CreateMode::EphemeralSequential,
        }
    }

    fn list_op() -> Op {
        Op::GetChildren {
            path: "/election".into(),
            watch: false,
        }
    }

    fn exists_op(name: &str, watch: bool) -> Op {
        Op::Exists {
            path: format!("/election/{name}"),
            watch,
        }
    }

    /// Takes the next op, checks it, and answers it.
    fn step(l: &mut Latch, expect: Op, result: OpResult) -> Option<LatchEvent> {
        let (tag, op) = l.next_op().expect("an op");
        assert_eq!(op, expect);
        l.on_result(tag, &result, Some(Zxid(1)), T0)
    }

    /// A started latch whose setup is done, with its first create next.
    fn started(bugs: LatchBugs) -> Latch {
        let mut l = Latch::new("/election", bugs);
        assert_eq!(l.next_op(), None, "nothing before a connection");
        assert_eq!(l.on_connected(S, T0), None);
        let setup = Op::Create {
            path: "/election".into(),
            data: Vec::new(),
            mode: CreateMode::Persistent,
        };
        assert_eq!(
            step(&mut l, setup, OpResult::Err(ZkError::NodeExists)),
            None
        );
        l
    }

    /// A latch leading with `_c_abx1-latch-0000000003` (epoch 30).
    fn leading(bugs: LatchBugs) -> Latch {
        let mut l = started(bugs);
        let mine = name("abx1", 3);
        assert_eq!(step(&mut l, create_op("abx1"), created(&mine)), None);
        assert_eq!(
            step(&mut l, list_op(), children(&[&mine, &name("q", 5)])),
            None
        );
        let got = step(&mut l, exists_op(&mine, false), exists(30, S));
        assert_eq!(
            got,
            Some(LatchEvent::Elected {
                session: S,
                node: mine,
                epoch: 30
            })
        );
        assert_eq!(l.leading(), Some(30));
        assert_eq!(l.next_op(), None, "a leader sends nothing");
        l
    }

    #[test]
    fn names_parse() {
        assert_eq!(sequence_of("_c_abx1-latch-0000000042"), Some(42));
        assert_eq!(guid_of("_c_abx1-latch-0000000042"), Some("abx1"));
        assert_eq!(sequence_of("_c_abx1-latch-42"), None);
        assert_eq!(guid_of("latch-0000000001"), None);
    }

    #[test]
    fn the_lowest_node_leads_after_its_owner_is_checked() {
        let l = leading(LatchBugs::default());
        assert!(l.quiet());
        assert_eq!(l.node(), Some(name("abx1", 3).as_str()));
    }

    #[test]
    fn a_candidate_watches_only_its_predecessor_and_leads_when_it_goes() {
        let mut l = started(LatchBugs::default());
        let mine = name("abx1", 7);
        let (a, b) = (name("x", 2), name("y", 5));
        step(&mut l, create_op("abx1"), created(&mine));
        // Unsorted listing: the predecessor is the next-lower node, not the head.
        assert_eq!(step(&mut l, list_op(), children(&[&mine, &a, &b])), None);
        assert_eq!(
            step(&mut l, exists_op(&b, true), exists(50, SessionId(9))),
            None
        );
        assert_eq!(l.watching(), Some(b.as_str()));
        assert_eq!(l.next_op(), None);
        l.on_watch(&WatchEvent {
            kind: EventType::NodeDeleted,
            path: format!("/election/{b}"),
            zxid: Zxid(60),
        });
        assert_eq!(step(&mut l, list_op(), children(&[&mine])), None);
        let got = step(&mut l, exists_op(&mine, false), exists(70, S));
        assert!(matches!(got, Some(LatchEvent::Elected { epoch: 70, .. })));
    }

    #[test]
    fn suspended_ends_the_tenure_and_reconnected_checks_the_same_node_again() {
        let mut l = leading(LatchBugs::default());
        let mine = name("abx1", 3);
        assert_eq!(
            l.on_disconnected(),
            Some(LatchEvent::Deposed {
                epoch: 30,
                end: LeaderEnd::Suspended
            })
        );
        assert_eq!(l.next_op(), None, "nothing while disconnected");
        assert_eq!(l.on_connected(S, T0), None);
        assert_eq!(step(&mut l, list_op(), children(&[&mine])), None);
        let got = step(&mut l, exists_op(&mine, false), exists(30, S));
        assert!(matches!(got, Some(LatchEvent::Elected { epoch: 30, .. })));
    }

    #[test]
    fn a_missing_node_resets_deleting_nothing_and_creating_with_a_new_guid() {
        let mut l = leading(LatchBugs::default());
        l.on_disconnected();
        l.on_connected(S, T0);
        // Our node is gone (the list shows only someone else's).
        assert_eq!(step(&mut l, list_op(), children(&[&name("q", 5)])), None);
        let delete = Op::Delete {
            path: format!("/election/{}", name("abx1", 3)),
            version: -1,
        };
        assert_eq!(step(&mut l, delete, OpResult::Err(ZkError::NoNode)), None);
        assert_eq!(
            step(&mut l, create_op("abx2"), created(&name("abx2", 9))),
            None
        );
        assert_eq!(l.resets, 2);
    }

    #[test]
    fn a_lost_create_is_retried_after_the_back_off_by_its_guid() {
        let mut l = started(LatchBugs::default());
        assert_eq!(
            step(
                &mut l,
                create_op("abx1"),
                OpResult::Err(ZkError::ConnectionLoss)
            ),
            None
        );
        let due = Time::ZERO.plus_ns(RETRY_BACKOFF_MS * NS_PER_MS);
        assert_eq!(l.retry_at(), Some(due));
        l.on_disconnected();
        l.on_connected(S, T0);
        // RECONNECTED lists at once: no node known yet, so it resets (generation 2).
        assert_eq!(step(&mut l, list_op(), children(&[])), None);
        assert_eq!(
            step(&mut l, create_op("abx2"), created(&name("abx2", 4))),
            None
        );
        assert_eq!(step(&mut l, list_op(), children(&[&name("abx2", 4)])), None);
        let got = step(&mut l, exists_op(&name("abx2", 4), false), exists(40, S));
        assert!(matches!(got, Some(LatchEvent::Elected { epoch: 40, .. })));
        // The retry comes due: it finds generation 1's node (made after all) and deletes
        // it, an orphan; the leader leads on.
        l.on_tick(due);
        let stale = name("abx1", 6);
        assert_eq!(
            step(&mut l, list_op(), children(&[&name("abx2", 4), &stale])),
            None
        );
        let delete = Op::Delete {
            path: format!("/election/{stale}"),
            version: -1,
        };
        assert_eq!(step(&mut l, delete, OpResult::Deleted), None);
        assert_eq!(l.leading(), Some(40));
        assert_eq!(l.node(), Some(name("abx2", 4).as_str()));
        assert_eq!(l.stale_creates, 1);
        assert!(l.quiet());
    }

    #[test]
    fn a_retry_sleeps_twice_as_long_while_disconnected_and_runs_once_connected() {
        let mut l = started(LatchBugs::default());
        step(
            &mut l,
            create_op("abx1"),
            OpResult::Err(ZkError::ConnectionLoss),
        );
        l.on_disconnected();
        let ms = |n: u64| Time::ZERO.plus_ns(n * NS_PER_MS);
        l.on_tick(ms(300));
        assert_eq!(
            l.retry_at(),
            Some(ms(300 + 600)),
            "slept again, twice as long"
        );
        l.on_tick(ms(900));
        assert_eq!(l.retry_at(), Some(ms(900 + 1200)));
        // Reconnected at 1000 ms: the retry waits for the end of its sleep.
        l.on_connected(S, ms(1000));
        assert_eq!(step(&mut l, list_op(), children(&[])), None);
        assert_eq!(
            step(&mut l, create_op("abx2"), created(&name("abx2", 4))),
            None
        );
        assert_eq!(
            l.next_op(),
            Some((LatchOp::List { generation: 2 }, list_op()))
        );
        l.on_result(
            LatchOp::List { generation: 2 },
            &children(&[&name("abx2", 4)]),
            None,
            ms(1000),
        );
        assert!(l.retry_at() == Some(ms(2100)));
        l.on_tick(ms(2100));
        let (tag, op) = l.next_op().expect("the verify, then the retry");
        assert_eq!(op, exists_op(&name("abx2", 4), false));
        l.on_result(tag, &exists(40, S), None, ms(2100));
        let (tag, op) = l.next_op().expect("the retry");
        assert_eq!(op, list_op());
        assert!(matches!(tag, LatchOp::Find { generation: 1, .. }));
    }

    #[test]
    fn curator_498_a_stale_create_replaces_the_leaders_node_and_keeps_the_flag() {
        let bugs = LatchBugs {
            adopt_stale_creates: true,
            ..LatchBugs::default()
        };
        let mut l = started(bugs);
        step(
            &mut l,
            create_op("abx1"),
            OpResult::Err(ZkError::ConnectionLoss),
        );
        l.on_disconnected();
        l.on_connected(S, T0);
        step(&mut l, list_op(), children(&[]));
        step(&mut l, create_op("abx2"), created(&name("abx2", 4)));
        step(
            &mut l,
            list_op(),
            children(&[&name("abx2", 4), &name("q", 5)]),
        );
        step(&mut l, exists_op(&name("abx2", 4), false), exists(40, S));
        assert_eq!(l.leading(), Some(40));
        // The retried create never reached the servers before: it creates now.
        l.on_tick(Time::ZERO.plus_ns(RETRY_BACKOFF_MS * NS_PER_MS));
        step(
            &mut l,
            list_op(),
            children(&[&name("abx2", 4), &name("q", 5)]),
        );
        let late = name("abx1", 6);
        assert_eq!(step(&mut l, create_op("abx1"), created(&late)), None);
        // setNode(late) deletes the leader's own node, lists again…
        let delete = Op::Delete {
            path: format!("/election/{}", name("abx2", 4)),
            version: -1,
        };
        assert_eq!(step(&mut l, delete, OpResult::Deleted), None);
        assert_eq!(
            step(&mut l, list_op(), children(&[&name("q", 5), &late])),
            None
        );
        // …and watches q's node (now the lowest: q leads) while still leading itself.
        assert_eq!(
            step(
                &mut l,
                exists_op(&name("q", 5), true),
                exists(50, SessionId(9))
            ),
            None
        );
        assert_eq!(l.leading(), Some(40), "two leaders");
    }

    #[test]
    fn a_node_of_a_session_given_up_is_not_led_with() {
        // The client gave up session S (LOST) while the servers kept it; in session S2 the
        // latch finds its old node still lowest, checks its owner and resets.
        let mut l = leading(LatchBugs::default());
        assert_eq!(
            l.on_session_lost(),
            Some(LatchEvent::Deposed {
                epoch: 30,
                end: LeaderEnd::Lost
            })
        );
        let s2 = SessionId(0xcd);
        l.on_connected(s2, T0);
        let old = name("abx1", 3);
        step(&mut l, list_op(), children(&[&old]));
        assert_eq!(step(&mut l, exists_op(&old, false), exists(30, S)), None);
        assert_eq!(l.leading(), None);
        let delete = Op::Delete {
            path: format!("/election/{old}"),
            version: -1,
        };
        assert_eq!(step(&mut l, delete, OpResult::Deleted), None);
        assert_eq!(
            step(&mut l, create_op("cdx2"), created(&name("cdx2", 8))),
            None
        );
    }

    #[test]
    fn curator_696_without_the_owner_check_the_old_node_is_led_with() {
        let bugs = LatchBugs {
            skip_owner_check: true,
            ..LatchBugs::default()
        };
        let mut l = leading(bugs);
        l.on_session_lost();
        l.on_connected(SessionId(0xcd), T0);
        let old = name("abx1", 3);
        step(&mut l, list_op(), children(&[&old]));
        let got = step(&mut l, exists_op(&old, false), exists(30, S));
        assert_eq!(
            got,
            Some(LatchEvent::Elected {
                session: SessionId(0xcd),
                node: old,
                epoch: 30
            })
        );
        assert!(l.quiet(), "and nothing watches that node");
    }

    #[test]
    fn without_faults_the_bugs_change_nothing() {
        // The same inputs give the same ops and events with and without the bugs.
        for bugs in [
            LatchBugs::default(),
            LatchBugs {
                adopt_stale_creates: true,
                skip_owner_check: true,
            },
        ] {
            let l = leading(bugs);
            assert_eq!(l.leading(), Some(30));
            assert_eq!((l.resets, l.stale_creates), (1, 0));
        }
    }

    #[test]
    #[should_panic(expected = "connected twice")]
    fn connecting_twice_is_a_bug() {
        let mut l = started(LatchBugs::default());
        l.on_connected(S, T0);
    }
}
