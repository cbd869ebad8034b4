//! Configuration and messaging by watches (the seeds' "configuration management" and
//! "watch-based messaging"; Curator's `NodeCache` and a mailbox of sequential children) as
//! two sans-IO state machines over a session: a [`Publisher`] that sets the config node's
//! data to `v=N` for N = 1, 2, … and posts numbered messages `n=K` as persistent
//! sequential children `m-NNNNNNNNNN` of a mailbox node, and a [`Subscriber`] that keeps a
//! watch set with every read — `getData` with a watch on the config node, `getChildren`
//! with a watch on the mailbox — and reads new messages one by one in sequence order. After
//! each config read the host applies the version (its own work, as long as it takes) and
//! calls `applied`; an update meanwhile fires the watch, read after the apply.
//!
//! Watches are one-shot and carry no data: a subscriber hears "changed", then reads the
//! current value, so it may skip intermediate versions (ZooKeeper's documented semantics),
//! but because every read sets the next watch atomically it never misses the last one. The
//! planted bug `config-read-then-watch` (`read_then_watch = true`) reads with a plain
//! `getData`, applies it, and sets the watch with a second call (`exists` with a watch):
//! an update that lands between the two calls fires nothing, and if it was the last
//! update the subscriber keeps the old version forever.
//!
//! The publisher's writes are exactly-once although answers may be lost: the config write
//! is a `setData` conditional on version N-1 (the node's data version is its config
//! version), and a message is a `multi` of a conditional `setData` of the mailbox node's
//! own data (`n=K`, version K-1: the mailbox's data version counts its messages) and the
//! sequential create, so a retried or late duplicate fails with `BadVersion`. After a lost
//! answer (or `BadVersion`) it reads the node to learn what is set. A publisher that starts
//! (first start or a restart) creates both nodes if needed, reads where they stand and
//! reports that as published (a crashed predecessor may not have).
//!
//! The host submits what `next_op` returns (one op at a time), feeds back completions,
//! watch events and session changes, and reports the returned [`ConfigEvent`]s.
//! Invariants (asserted after every input): at most one op in flight; the versions and
//! message counts a publisher knows never go back; a subscriber processes messages in
//! sequence order; at most `CHILDREN_MAX` mailbox children are considered.

use std::collections::VecDeque;

use proto::Zxid;
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, MultiResult, Op, OpResult, SessionId, ZkError};

/// The config node's data for version `n`: `v=n`.
pub const VERSION_PREFIX: &str = "v=";
/// A message's data (and the mailbox node's own data: the last message number): `n=k`.
pub const MESSAGE_PREFIX: &str = "n=";
/// A message node's name before its sequence number.
pub const MESSAGE_NAME: &str = "m-";
/// Most mailbox children a subscriber considers in one listing.
pub const CHILDREN_MAX: usize = 1 << 16;

fn number_after(data: &[u8], prefix: &str) -> Option<u64> {
    let text = std::str::from_utf8(data).ok()?.strip_prefix(prefix)?;
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// The config version a config node's data says (`v=N`).
pub fn version_of(data: &[u8]) -> Option<u64> {
    number_after(data, VERSION_PREFIX)
}

/// The message number a message's (or the mailbox's) data says (`n=K`).
pub fn message_of(data: &[u8]) -> Option<u64> {
    number_after(data, MESSAGE_PREFIX)
}

/// The sequence number of a mailbox child's name (`m-NNNNNNNNNN`), if it is one.
pub fn sequence_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(MESSAGE_NAME)?;
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn encode(prefix: &str, n: u64) -> Vec<u8> {
    let mut s = prefix.to_string();
    proto::text::push_decimal(&mut s, n);
    s.into_bytes()
}

/// What a publisher or subscriber learned, for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigEvent {
    /// Config version `version` is set (`zxid`: its write's, when known).
    Published { version: u64, zxid: Option<Zxid> },
    /// Message `number` is in the mailbox (`node`: its name, when the answer said).
    MessagePublished {
        number: u64,
        node: Option<String>,
        zxid: Option<Zxid>,
    },
    /// A read of the config node returned version `version` (last modified at `mzxid`).
    Seen { version: u64, mzxid: Zxid },
    /// Message `number` (node `node`) was read and processed, in sequence order.
    Delivered { number: u64, node: String },
}

fn parent_child(parent: &str, name: &str) -> String {
    proto::text::concat(&[parent, "/", name])
}

fn check_path(path: &str) {
    assert!(
        path.starts_with('/') && path.len() > 1 && !path.ends_with('/'),
        "a node path: {path}"
    );
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PStep {
    /// Creating the config node (`v=0`).
    CreateConfig,
    /// Creating the mailbox node (`n=0`).
    CreateMailbox,
    /// Reading the config node: which version is set.
    ReadConfig,
    /// Reading the mailbox node: how many messages are in.
    ReadMailbox,
    /// Nothing to do until the host asks.
    Idle,
    /// Setting version `version` (conditional on `version - 1`).
    Update { version: u64 },
    /// Posting message `number` (conditional on `number - 1` messages in).
    Post { number: u64 },
}

/// The publisher: config versions and mailbox messages, each exactly once.
#[derive(Clone, Debug)]
pub struct Publisher {
    config: String,
    mailbox: String,
    step: PStep,
    /// After a read, the step to go back to (an update or post whose outcome it checks).
    resume: Option<PStep>,
    in_flight: bool,
    /// The highest config version known set (after the start-up reads).
    version: u64,
    /// The highest message number known in the mailbox.
    messages: u64,
    /// The start-up reads are done: `version` and `messages` are known.
    ready: bool,
}

impl Publisher {
    pub fn new(config: &str, mailbox: &str) -> Publisher {
        check_path(config);
        check_path(mailbox);
        assert_ne!(config, mailbox);
        Publisher {
            config: config.to_string(),
            mailbox: mailbox.to_string(),
            step: PStep::CreateConfig,
            resume: None,
            in_flight: false,
            version: 0,
            messages: 0,
            ready: false,
        }
    }

    /// The highest config version known set.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The highest message number known in the mailbox.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Started up and nothing in progress: [`Publisher::update`] or
    /// [`Publisher::post`] may be called.
    pub fn idle(&self) -> bool {
        self.ready && self.step == PStep::Idle
    }

    fn check_invariants(&self) {
        assert!(
            !self.in_flight || self.step != PStep::Idle,
            "an op in flight while idle"
        );
        match &self.step {
            PStep::Update { version } => assert_eq!(*version, self.version + 1),
            PStep::Post { number } => assert_eq!(*number, self.messages + 1),
            _ => {}
        }
        assert!(self.ready || !matches!(self.step, PStep::Idle | PStep::Update { .. }));
    }

    /// Starts setting the next config version.
    pub fn update(&mut self) {
        self.check_invariants();
        assert!(self.idle(), "update while busy: {:?}", self.step);
        self.step = PStep::Update {
            version: self.version + 1,
        };
    }

    /// Starts posting the next message.
    pub fn post(&mut self) {
        self.check_invariants();
        assert!(self.idle(), "post while busy: {:?}", self.step);
        self.step = PStep::Post {
            number: self.messages + 1,
        };
    }

    /// The next op to submit now.
    pub fn next_op(&mut self) -> Option<Op> {
        self.check_invariants();
        if self.in_flight {
            return None;
        }
        let op = match &self.step {
            PStep::CreateConfig => Op::Create {
                path: self.config.clone(),
                data: encode(VERSION_PREFIX, 0),
                mode: CreateMode::Persistent,
            },
            PStep::CreateMailbox => Op::Create {
                path: self.mailbox.clone(),
                data: encode(MESSAGE_PREFIX, 0),
                mode: CreateMode::Persistent,
            },
            PStep::ReadConfig => Op::GetData {
                path: self.config.clone(),
                watch: false,
            },
            PStep::ReadMailbox => Op::GetData {
                path: self.mailbox.clone(),
                watch: false,
            },
            PStep::Idle => return None,
            PStep::Update { version } => Op::SetData {
                path: self.config.clone(),
                data: encode(VERSION_PREFIX, *version),
                version: i32::try_from(version - 1).expect("versions fit ZooKeeper's i32"),
            },
            PStep::Post { number } => Op::Multi(vec![
                Op::SetData {
                    path: self.mailbox.clone(),
                    data: encode(MESSAGE_PREFIX, *number),
                    version: i32::try_from(number - 1).expect("message counts fit an i32"),
                },
                Op::Create {
                    path: parent_child(&self.mailbox, MESSAGE_NAME),
                    data: encode(MESSAGE_PREFIX, *number),
                    mode: CreateMode::PersistentSequential,
                },
            ]),
        };
        self.in_flight = true;
        Some(op)
    }

    /// The session ended: the op in flight may or may not have happened; the next session
    /// finds out by reading (the tree remembers; nothing is lost).
    pub fn on_session_lost(&mut self) {
        self.check_invariants();
        if self.in_flight {
            self.in_flight = false;
            self.check_outcome();
        }
    }

    /// An update or post whose outcome is unknown: read the node, then go on from there.
    fn check_outcome(&mut self) {
        self.step = match std::mem::replace(&mut self.step, PStep::Idle) {
            s @ PStep::Update { .. } => {
                self.resume = Some(s);
                PStep::ReadConfig
            }
            s @ PStep::Post { .. } => {
                self.resume = Some(s);
                PStep::ReadMailbox
            }
            other => other, // start-up steps simply run again
        };
    }

    /// The completion of the op in flight (`zxid`: the reply's).
    pub fn on_result(
        &mut self,
        op: &Op,
        result: &OpResult,
        zxid: Option<Zxid>,
    ) -> Option<ConfigEvent> {
        self.check_invariants();
        assert!(self.in_flight, "a result without an op in flight: {op:?}");
        self.in_flight = false;
        if matches!(
            result.error(),
            Some(ZkError::ConnectionLoss | ZkError::SessionExpired)
        ) {
            self.check_outcome();
            return None;
        }
        let event = match self.step.clone() {
            PStep::CreateConfig => {
                assert!(
                    matches!(
                        result,
                        OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
                    ),
                    "config create answered {result:?}"
                );
                self.step = PStep::CreateMailbox;
                None
            }
            PStep::CreateMailbox => {
                assert!(
                    matches!(
                        result,
                        OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
                    ),
                    "mailbox create answered {result:?}"
                );
                self.step = PStep::ReadConfig;
                None
            }
            PStep::ReadConfig => {
                let OpResult::Data { data, stat } = result else {
                    panic!("the config node is never deleted: {result:?}");
                };
                let v = version_of(data).expect("the config node says its version");
                assert!(v >= self.version, "config version went back: {v}");
                let learned = v > self.version;
                self.version = v;
                match self.resume.take() {
                    // Start-up: what the tree says is set (by an earlier incarnation).
                    None if !self.ready => {
                        self.step = PStep::ReadMailbox;
                        (v > 0).then_some(ConfigEvent::Published {
                            version: v,
                            zxid: Some(stat.mzxid),
                        })
                    }
                    // Our update is set (by this attempt or an earlier one).
                    Some(PStep::Update { version }) if v >= version => {
                        self.step = PStep::Idle;
                        (learned).then_some(ConfigEvent::Published {
                            version,
                            zxid: Some(stat.mzxid),
                        })
                    }
                    Some(s @ PStep::Update { .. }) => {
                        self.step = s;
                        None
                    }
                    other => panic!("read the config resuming {other:?}"),
                }
            }
            PStep::ReadMailbox => {
                let OpResult::Data { data, .. } = result else {
                    panic!("the mailbox node is never deleted: {result:?}");
                };
                let k = message_of(data).expect("the mailbox says its last message");
                assert!(k >= self.messages, "message count went back: {k}");
                let learned = k > self.messages;
                self.messages = k;
                match self.resume.take() {
                    None => {
                        assert!(!self.ready, "a start-up read after the start");
                        self.ready = true;
                        self.step = PStep::Idle;
                        (k > 0).then_some(ConfigEvent::MessagePublished {
                            number: k,
                            node: None,
                            zxid: None,
                        })
                    }
                    Some(PStep::Post { number }) if k >= number => {
                        self.step = PStep::Idle;
                        learned.then_some(ConfigEvent::MessagePublished {
                            number,
                            node: None,
                            zxid: None,
                        })
                    }
                    Some(s @ PStep::Post { .. }) => {
                        self.step = s;
                        None
                    }
                    other => panic!("read the mailbox resuming {other:?}"),
                }
            }
            PStep::Update { version } => match result {
                OpResult::Stat(stat) => {
                    // The conditional write made the node's data version its config version.
                    assert_eq!(i64::from(stat.version), version as i64, "data version");
                    self.version = version;
                    self.step = PStep::Idle;
                    Some(ConfigEvent::Published {
                        version,
                        zxid: zxid.or(Some(stat.mzxid)),
                    })
                }
                // An earlier attempt of ours (its answer lost) got there first: look.
                OpResult::Err(ZkError::BadVersion) => {
                    self.check_outcome();
                    None
                }
                other => panic!("config update answered {other:?}"),
            },
            PStep::Post { number } => match result {
                OpResult::Multi(results) if result.error().is_none() => {
                    let node = results.iter().find_map(|r| match r {
                        MultiResult::Created { path, .. } => {
                            path.rsplit_once('/').map(|(_, n)| n.to_string())
                        }
                        _ => None,
                    });
                    assert!(
                        node.as_deref().and_then(sequence_of).is_some(),
                        "a message node: {node:?}"
                    );
                    self.messages = number;
                    self.step = PStep::Idle;
                    Some(ConfigEvent::MessagePublished { number, node, zxid })
                }
                _ if result.error() == Some(ZkError::BadVersion) => {
                    self.check_outcome();
                    None
                }
                other => panic!("message post answered {other:?}"),
            },
            PStep::Idle => panic!("a result while idle: {op:?}"),
        };
        self.check_invariants();
        event
    }
}

/// What the subscriber's config side does next.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum CStep {
    /// Read the config (with a watch; the planted bug reads without one).
    Read,
    /// The config node does not exist yet: `exists` with a watch for its creation.
    AwaitCreate,
    /// The host applies the version just read (its watch is already set, except under the
    /// planted bug); `changed`: the watch fired meanwhile.
    Applying { changed: bool },
    /// The planted bug: set the watch with a second call after the read (and its apply).
    WatchAfterRead,
    /// The watch is set: wait for its event.
    Armed,
}

/// What the subscriber's mailbox side does next.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum MStep {
    /// List the mailbox with a watch.
    List,
    /// The mailbox does not exist yet: `exists` with a watch for its creation.
    AwaitCreate,
    /// Read the new messages in `pending`, in order.
    Fetch,
    /// The child watch is set: wait for its event.
    Armed,
}

/// Which side the op in flight serves.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Side {
    Config,
    Mailbox,
}

/// A subscriber: the config's latest version and every mailbox message, in order.
#[derive(Clone, Debug)]
pub struct Subscriber {
    config: String,
    mailbox: String,
    /// The planted bug `config-read-then-watch`.
    read_then_watch: bool,
    session: SessionId,
    cstep: CStep,
    mstep: MStep,
    in_flight: Option<Side>,
    /// The latest config version read (None before the first read).
    version: Option<u64>,
    /// Messages processed: their numbers are 1..=delivered.
    delivered: u64,
    /// The sequence number of the last message processed.
    last_sequence: Option<u64>,
    /// New messages to read, in sequence order.
    pending: VecDeque<String>,
    /// A child event arrived while reading messages: list again afterwards.
    relist: bool,
    /// Watch events received on the config and mailbox nodes.
    pub watch_events: u64,
}

impl Subscriber {
    pub fn new(config: &str, mailbox: &str, read_then_watch: bool) -> Subscriber {
        check_path(config);
        check_path(mailbox);
        assert_ne!(config, mailbox);
        Subscriber {
            config: config.to_string(),
            mailbox: mailbox.to_string(),
            read_then_watch,
            session: SessionId::NONE,
            cstep: CStep::Read,
            mstep: MStep::List,
            in_flight: None,
            version: None,
            delivered: 0,
            last_sequence: None,
            pending: VecDeque::new(),
            relist: false,
            watch_events: 0,
        }
    }

    /// The session the recipe's ops run in (the host tells it on every connect).
    pub fn set_session(&mut self, session: SessionId) {
        assert!(!session.is_none());
        self.session = session;
    }

    /// The latest config version read.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// Messages processed (numbered 1..=delivered).
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// What the subscriber is doing, for liveness explanations.
    pub fn describe(&self) -> String {
        let config = match self.cstep {
            CStep::Read => "reading the config",
            CStep::AwaitCreate => "waiting for the config node",
            CStep::Applying { .. } => "applying the config",
            CStep::WatchAfterRead => "setting the config watch after its read",
            CStep::Armed if self.read_then_watch => {
                "config watch armed (set in a second call after the read: an update between \
                 the two fired nothing), waiting for a change"
            }
            CStep::Armed => "config watch armed, waiting for a change",
        };
        let mailbox = match self.mstep {
            MStep::List => "listing the mailbox",
            MStep::AwaitCreate => "waiting for the mailbox node",
            MStep::Fetch => "reading messages",
            MStep::Armed => "mailbox watch armed",
        };
        format!("{config}; {mailbox}")
    }

    fn check_invariants(&self) {
        assert!(self.pending.len() <= CHILDREN_MAX);
        assert_eq!(
            self.mstep == MStep::Fetch,
            !self.pending.is_empty(),
            "fetching exactly while messages are pending"
        );
        assert!(
            self.cstep != CStep::WatchAfterRead || self.read_then_watch,
            "a second watch call without the planted bug"
        );
        assert_eq!(
            self.last_sequence.is_some(),
            self.delivered > 0,
            "a last sequence exactly when something was delivered"
        );
    }

    /// The next op to submit now: the config's work first, then the mailbox's.
    pub fn next_op(&mut self) -> Option<Op> {
        self.check_invariants();
        if self.in_flight.is_some() {
            return None;
        }
        let config = self.config.clone();
        let (side, op) = match (self.cstep, self.mstep) {
            (CStep::Read, _) => (
                Side::Config,
                Op::GetData {
                    path: config,
                    watch: !self.read_then_watch,
                },
            ),
            (CStep::AwaitCreate | CStep::WatchAfterRead, _) => (
                Side::Config,
                Op::Exists {
                    path: config,
                    watch: true,
                },
            ),
            (CStep::Armed | CStep::Applying { .. }, MStep::List) => (
                Side::Mailbox,
                Op::GetChildren {
                    path: self.mailbox.clone(),
                    watch: true,
                },
            ),
            (CStep::Armed | CStep::Applying { .. }, MStep::AwaitCreate) => (
                Side::Mailbox,
                Op::Exists {
                    path: self.mailbox.clone(),
                    watch: true,
                },
            ),
            (CStep::Armed | CStep::Applying { .. }, MStep::Fetch) => (
                Side::Mailbox,
                Op::GetData {
                    path: parent_child(&self.mailbox, self.pending.front().expect("fetching")),
                    watch: false,
                },
            ),
            (CStep::Armed | CStep::Applying { .. }, MStep::Armed) => return None,
        };
        self.in_flight = Some(side);
        Some(op)
    }

    /// A watch event: a config change means read again; a mailbox change means list again
    /// (after the messages being read).
    pub fn on_watch(&mut self, event: &WatchEvent) {
        self.check_invariants();
        if event.path == self.config {
            self.watch_events += 1;
            match self.cstep {
                CStep::Armed => self.cstep = CStep::Read,
                CStep::Applying { .. } => self.cstep = CStep::Applying { changed: true },
                _ => {}
            }
        } else if event.path == self.mailbox {
            self.watch_events += 1;
            match (self.mstep, event.kind) {
                (MStep::Armed | MStep::AwaitCreate, _) => self.mstep = MStep::List,
                (MStep::Fetch, EventType::NodeChildrenChanged) => self.relist = true,
                _ => {}
            }
        }
    }

    /// Applying the version just read (the host calls [`Subscriber::applied`] when done).
    pub fn applying(&self) -> bool {
        matches!(self.cstep, CStep::Applying { .. })
    }

    /// The host applied the version it read: wait for the next change — or, if the watch
    /// fired meanwhile, read again. The planted bug sets its watch only now.
    pub fn applied(&mut self) {
        self.check_invariants();
        let CStep::Applying { changed } = self.cstep else {
            return; // the session ended meanwhile: reading again anyway
        };
        self.cstep = match (self.read_then_watch, changed) {
            // (A change seen meanwhile — through a watch an `exists` for the node's
            // creation left — is read again, watch or no watch.)
            (_, true) => CStep::Read,
            (true, false) => CStep::WatchAfterRead,
            (false, false) => CStep::Armed,
        };
    }

    /// The session ended: its watches are gone. Reads start over in the next session;
    /// what was processed stays processed.
    pub fn on_session_lost(&mut self) {
        self.check_invariants();
        self.in_flight = None;
        self.cstep = CStep::Read;
        self.mstep = MStep::List;
        self.pending.clear();
        self.relist = false;
    }

    /// The completion of the op in flight.
    pub fn on_result(&mut self, op: &Op, result: &OpResult) -> Option<ConfigEvent> {
        self.check_invariants();
        let side = self
            .in_flight
            .take()
            .unwrap_or_else(|| panic!("a result without an op in flight: {op:?}"));
        match result.error() {
            Some(ZkError::SessionExpired) => {
                self.on_session_lost();
                return None;
            }
            // The same step runs again after the reconnect (a watch the lost read may have
            // set is set again by the retry).
            Some(ZkError::ConnectionLoss) => return None,
            _ => {}
        }
        let event = match side {
            Side::Config => self.on_config_result(result),
            Side::Mailbox => self.on_mailbox_result(result),
        };
        self.check_invariants();
        event
    }

    fn on_config_result(&mut self, result: &OpResult) -> Option<ConfigEvent> {
        match (self.cstep, result) {
            (CStep::Read, OpResult::Data { data, stat }) => {
                let version = version_of(data).expect("the config node says its version");
                // An older version than one read before is ZooKeeper's fault, not the
                // recipe's: reported as read, for the checker to judge.
                self.version = Some(version);
                self.cstep = CStep::Applying { changed: false };
                Some(ConfigEvent::Seen {
                    version,
                    mzxid: stat.mzxid,
                })
            }
            (CStep::Read, OpResult::Err(ZkError::NoNode)) => {
                self.cstep = CStep::AwaitCreate;
                None
            }
            (CStep::AwaitCreate, OpResult::Exists(stat)) => {
                // Created meanwhile: read it; otherwise its creation fires the watch.
                self.cstep = match stat {
                    Some(_) => CStep::Read,
                    None => CStep::Armed,
                };
                None
            }
            // The planted bug: the watch is set now, on whatever version is there now.
            (CStep::WatchAfterRead, OpResult::Exists(_)) => {
                self.cstep = CStep::Armed;
                None
            }
            (step, other) => panic!("config {step:?} answered {other:?}"),
        }
    }

    fn on_mailbox_result(&mut self, result: &OpResult) -> Option<ConfigEvent> {
        match (self.mstep, result) {
            (MStep::List, OpResult::Children(names)) => {
                self.on_children(names);
                None
            }
            (MStep::List, OpResult::Err(ZkError::NoNode)) => {
                self.mstep = MStep::AwaitCreate;
                None
            }
            (MStep::AwaitCreate, OpResult::Exists(stat)) => {
                self.mstep = match stat {
                    Some(_) => MStep::List,
                    None => MStep::Armed,
                };
                None
            }
            (MStep::Fetch, OpResult::Data { data, .. }) => {
                let node = self.pending.pop_front().expect("fetching");
                let sequence = sequence_of(&node).expect("a message node");
                let number = message_of(data).expect("a message says its number");
                assert!(
                    self.last_sequence.is_none_or(|s| s < sequence),
                    "messages read in sequence order"
                );
                self.last_sequence = Some(sequence);
                self.delivered += 1;
                self.after_fetch();
                Some(ConfigEvent::Delivered { number, node })
            }
            // Messages are never deleted; a missing one is skipped by listing again (a
            // gap the checker reports).
            (MStep::Fetch, OpResult::Err(ZkError::NoNode)) => {
                self.pending.clear();
                self.mstep = MStep::List;
                self.relist = false;
                None
            }
            (step, other) => panic!("mailbox {step:?} answered {other:?}"),
        }
    }

    fn after_fetch(&mut self) {
        if self.pending.is_empty() {
            self.mstep = if std::mem::take(&mut self.relist) {
                MStep::List
            } else {
                MStep::Armed
            };
        }
    }

    fn on_children(&mut self, names: &[String]) {
        assert!(
            names.len() <= CHILDREN_MAX,
            "{} mailbox children, more than CHILDREN_MAX",
            names.len()
        );
        let mut new: Vec<(u64, &String)> = names
            .iter()
            .filter_map(|n| Some((sequence_of(n)?, n)))
            .filter(|(s, _)| self.last_sequence.is_none_or(|last| *s > last))
            .collect();
        new.sort_unstable();
        self.pending = new.into_iter().map(|(_, n)| n.clone()).collect();
        self.relist = false;
        self.mstep = if self.pending.is_empty() {
            MStep::Armed
        } else {
            MStep::Fetch
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::zk::Stat;

    fn stat(version: i32, mzxid: u64) -> Stat {
        Stat {
            version,
            mzxid: Zxid(mzxid),
            ..Stat::default()
        }
    }

    fn data(prefix: &str, n: u64, mzxid: u64) -> OpResult {
        OpResult::Data {
            data: encode(prefix, n),
            stat: stat(n as i32, mzxid),
        }
    }

    fn set_data(path: &str, prefix: &str, n: u64) -> Op {
        Op::SetData {
            path: path.into(),
            data: encode(prefix, n),
            version: n as i32 - 1,
        }
    }

    fn post(n: u64) -> Op {
        Op::Multi(vec![
            set_data("/mailbox", MESSAGE_PREFIX, n),
            Op::Create {
                path: "/mailbox/m-".into(),
                data: encode(MESSAGE_PREFIX, n),
                mode: CreateMode::PersistentSequential,
            },
        ])
    }

    fn read(path: &str) -> Op {
        Op::GetData {
            path: path.into(),
            watch: false,
        }
    }

    fn pstep(p: &mut Publisher, expect: Op, result: OpResult) -> Option<ConfigEvent> {
        let op = p.next_op().expect("an op");
        assert_eq!(op, expect);
        assert_eq!(p.next_op(), None, "one op in flight");
        p.on_result(&op, &result, Some(Zxid(77)))
    }

    /// A publisher that found config version `v` and `k` messages at start-up.
    fn started(v: u64, k: u64) -> Publisher {
        let mut p = Publisher::new("/config", "/mailbox");
        let create = |path: &str, prefix: &str| Op::Create {
            path: path.into(),
            data: encode(prefix, 0),
            mode: CreateMode::Persistent,
        };
        let exists = OpResult::Err(ZkError::NodeExists);
        assert_eq!(
            pstep(&mut p, create("/config", VERSION_PREFIX), exists.clone()),
            None
        );
        assert_eq!(
            pstep(&mut p, create("/mailbox", MESSAGE_PREFIX), exists),
            None
        );
        assert!(!p.idle());
        // What the tree says is set is reported (a restart's predecessor may not have).
        let got = pstep(&mut p, read("/config"), data(VERSION_PREFIX, v, 10));
        let expect = (v > 0).then_some(ConfigEvent::Published {
            version: v,
            zxid: Some(Zxid(10)),
        });
        assert_eq!(got, expect);
        let got = pstep(&mut p, read("/mailbox"), data(MESSAGE_PREFIX, k, 11));
        let expect = (k > 0).then_some(ConfigEvent::MessagePublished {
            number: k,
            node: None,
            zxid: None,
        });
        assert_eq!(got, expect);
        assert!(p.idle());
        assert_eq!(p.next_op(), None, "idle until asked");
        assert_eq!((p.version(), p.messages()), (v, k));
        p
    }

    #[test]
    fn data_and_names_parse() {
        assert_eq!(version_of(b"v=12"), Some(12));
        assert_eq!(version_of(b"v="), None);
        assert_eq!(version_of(b"n=3"), None);
        assert_eq!(message_of(b"n=3"), Some(3));
        assert_eq!(sequence_of("m-0000000042"), Some(42));
        assert_eq!(sequence_of("m-42"), None);
        assert_eq!(sequence_of("x-0000000042"), None);
    }

    #[test]
    fn a_publisher_resumes_where_the_tree_stands_and_publishes_conditionally() {
        let mut p = started(4, 2);
        p.update();
        let got = pstep(
            &mut p,
            set_data("/config", VERSION_PREFIX, 5),
            OpResult::Stat(stat(5, 90)),
        );
        assert_eq!(
            got,
            Some(ConfigEvent::Published {
                version: 5,
                zxid: Some(Zxid(77))
            })
        );
        p.post();
        let answer = OpResult::Multi(vec![
            MultiResult::SetData(stat(3, 91)),
            MultiResult::Created {
                path: "/mailbox/m-0000000002".into(),
                stat: None,
            },
        ]);
        let got = pstep(&mut p, post(3), answer);
        assert_eq!(
            got,
            Some(ConfigEvent::MessagePublished {
                number: 3,
                node: Some("m-0000000002".into()),
                zxid: Some(Zxid(77))
            })
        );
        assert!(p.idle());
        assert_eq!((p.version(), p.messages()), (5, 3));
    }

    #[test]
    fn a_lost_update_is_read_back_and_not_written_twice() {
        let mut p = started(0, 0);
        p.update();
        let op = p.next_op().expect("update");
        assert_eq!(op, set_data("/config", VERSION_PREFIX, 1));
        assert_eq!(
            p.on_result(&op, &OpResult::Err(ZkError::ConnectionLoss), None),
            None
        );
        // It happened: the read shows v=1; published, no second write.
        let got = pstep(&mut p, read("/config"), data(VERSION_PREFIX, 1, 55));
        assert_eq!(
            got,
            Some(ConfigEvent::Published {
                version: 1,
                zxid: Some(Zxid(55))
            })
        );
        assert!(p.idle());
        // Next one lost and did not happen: the read shows v=1, so write v=2 again.
        p.update();
        let op = p.next_op().expect("update");
        p.on_session_lost();
        assert_eq!(
            pstep(&mut p, read("/config"), data(VERSION_PREFIX, 1, 55)),
            None
        );
        assert_eq!(p.next_op(), Some(op.clone()), "the same conditional write");
        // A late copy of the first attempt got in first: BadVersion, read, done.
        assert_eq!(
            p.on_result(&op, &OpResult::Err(ZkError::BadVersion), Some(Zxid(60))),
            None
        );
        let got = pstep(&mut p, read("/config"), data(VERSION_PREFIX, 2, 58));
        assert!(matches!(
            got,
            Some(ConfigEvent::Published { version: 2, .. })
        ));
    }

    #[test]
    fn a_lost_post_is_read_back_from_the_mailbox_count() {
        let mut p = started(0, 6);
        p.post();
        let op = p.next_op().expect("post");
        assert_eq!(op, post(7));
        p.on_result(&op, &OpResult::Err(ZkError::ConnectionLoss), None);
        assert_eq!(
            pstep(&mut p, read("/mailbox"), data(MESSAGE_PREFIX, 6, 40)),
            None
        );
        // Not there: post again; a duplicate's multi fails on the mailbox's version.
        let failed = OpResult::Multi(vec![
            MultiResult::Err(ZkError::BadVersion),
            MultiResult::Err(ZkError::RuntimeInconsistency),
        ]);
        assert_eq!(pstep(&mut p, post(7), failed), None);
        let got = pstep(&mut p, read("/mailbox"), data(MESSAGE_PREFIX, 7, 41));
        assert_eq!(
            got,
            Some(ConfigEvent::MessagePublished {
                number: 7,
                node: None,
                zxid: None
            })
        );
        assert_eq!(p.messages(), 7);
    }

    fn sub(bug: bool) -> Subscriber {
        let mut s = Subscriber::new("/config", "/mailbox", bug);
        s.set_session(SessionId(5));
        s
    }

    /// Submits the expected op, answers it, and (a config read) applies it at once.
    fn sstep(s: &mut Subscriber, expect: Op, result: OpResult) -> Option<ConfigEvent> {
        let got = sstep_unapplied(s, expect, result);
        if s.applying() {
            s.applied();
        }
        got
    }

    fn sstep_unapplied(s: &mut Subscriber, expect: Op, result: OpResult) -> Option<ConfigEvent> {
        let op = s.next_op().expect("an op");
        assert_eq!(op, expect);
        assert_eq!(s.next_op(), None, "one op in flight");
        s.on_result(&op, &result)
    }

    fn get(path: &str, watch: bool) -> Op {
        Op::GetData {
            path: path.into(),
            watch,
        }
    }

    fn list() -> Op {
        Op::GetChildren {
            path: "/mailbox".into(),
            watch: true,
        }
    }

    fn children(names: &[&str]) -> OpResult {
        OpResult::Children(names.iter().map(|n| n.to_string()).collect())
    }

    fn changed(path: &str, kind: EventType) -> WatchEvent {
        WatchEvent {
            kind,
            path: path.into(),
            zxid: Zxid(99),
        }
    }

    #[test]
    fn a_subscriber_reads_with_a_watch_and_rereads_on_each_change() {
        let mut s = sub(false);
        let got = sstep(&mut s, get("/config", true), data(VERSION_PREFIX, 3, 30));
        assert_eq!(
            got,
            Some(ConfigEvent::Seen {
                version: 3,
                mzxid: Zxid(30)
            })
        );
        assert_eq!(sstep(&mut s, list(), children(&[])), None);
        assert_eq!(s.next_op(), None, "both watches armed");
        // Two updates, one event (one-shot): the read shows the latest; 4 was skipped.
        s.on_watch(&changed("/config", EventType::NodeDataChanged));
        let got = sstep(&mut s, get("/config", true), data(VERSION_PREFIX, 5, 50));
        assert_eq!(
            got,
            Some(ConfigEvent::Seen {
                version: 5,
                mzxid: Zxid(50)
            })
        );
        assert_eq!(s.version(), Some(5));
        assert_eq!(s.next_op(), None);
        assert_eq!(s.watch_events, 1);
    }

    #[test]
    fn a_change_while_applying_is_read_after_the_apply() {
        let mut s = sub(false);
        sstep_unapplied(&mut s, get("/config", true), data(VERSION_PREFIX, 3, 30));
        assert!(s.applying());
        // The mailbox goes on meanwhile; the config waits for its apply.
        assert_eq!(sstep_unapplied(&mut s, list(), children(&[])), None);
        s.on_watch(&changed("/config", EventType::NodeDataChanged));
        assert_eq!(s.next_op(), None, "still applying");
        s.applied();
        let got = sstep(&mut s, get("/config", true), data(VERSION_PREFIX, 4, 40));
        assert!(matches!(got, Some(ConfigEvent::Seen { version: 4, .. })));
        assert_eq!(s.next_op(), None);
        // An apply that outlived its session changes nothing.
        s.on_watch(&changed("/config", EventType::NodeDataChanged));
        sstep_unapplied(&mut s, get("/config", true), data(VERSION_PREFIX, 4, 40));
        s.on_session_lost();
        s.applied();
        assert_eq!(s.next_op(), Some(get("/config", true)));
    }

    #[test]
    fn messages_are_read_in_sequence_order_once() {
        let mut s = sub(false);
        sstep(&mut s, get("/config", true), data(VERSION_PREFIX, 0, 1));
        // Listed unsorted; read in sequence order.
        sstep(
            &mut s,
            list(),
            children(&["m-0000000001", "m-0000000000", "other"]),
        );
        let got = sstep(
            &mut s,
            get("/mailbox/m-0000000000", false),
            data(MESSAGE_PREFIX, 1, 5),
        );
        assert_eq!(
            got,
            Some(ConfigEvent::Delivered {
                number: 1,
                node: "m-0000000000".into()
            })
        );
        // A new message arrives while reading: listed again after the current batch.
        s.on_watch(&changed("/mailbox", EventType::NodeChildrenChanged));
        let got = sstep(
            &mut s,
            get("/mailbox/m-0000000001", false),
            data(MESSAGE_PREFIX, 2, 6),
        );
        assert!(matches!(
            got,
            Some(ConfigEvent::Delivered { number: 2, .. })
        ));
        sstep(
            &mut s,
            list(),
            children(&["m-0000000000", "m-0000000001", "m-0000000002"]),
        );
        let got = sstep(
            &mut s,
            get("/mailbox/m-0000000002", false),
            data(MESSAGE_PREFIX, 3, 7),
        );
        assert!(matches!(
            got,
            Some(ConfigEvent::Delivered { number: 3, .. })
        ));
        assert_eq!(s.next_op(), None);
        assert_eq!(s.delivered(), 3);
    }

    #[test]
    fn an_expired_session_reads_everything_again_but_keeps_what_it_processed() {
        let mut s = sub(false);
        sstep(&mut s, get("/config", true), data(VERSION_PREFIX, 2, 20));
        sstep(&mut s, list(), children(&["m-0000000000"]));
        sstep(
            &mut s,
            get("/mailbox/m-0000000000", false),
            data(MESSAGE_PREFIX, 1, 5),
        );
        let op = s.next_op();
        assert_eq!(op, None, "armed");
        s.on_session_lost();
        s.set_session(SessionId(6));
        sstep(&mut s, get("/config", true), data(VERSION_PREFIX, 4, 40));
        sstep(&mut s, list(), children(&["m-0000000000", "m-0000000001"]));
        let got = sstep(
            &mut s,
            get("/mailbox/m-0000000001", false),
            data(MESSAGE_PREFIX, 2, 6),
        );
        assert!(matches!(
            got,
            Some(ConfigEvent::Delivered { number: 2, .. })
        ));
        // A lost read runs again after the reconnect.
        s.on_watch(&changed("/config", EventType::NodeDataChanged));
        let op = s.next_op().expect("read");
        assert_eq!(
            s.on_result(&op, &OpResult::Err(ZkError::ConnectionLoss)),
            None
        );
        assert_eq!(s.next_op(), Some(get("/config", true)));
    }

    #[test]
    fn nodes_not_created_yet_are_awaited_with_exists_watches() {
        let mut s = sub(false);
        sstep(&mut s, get("/config", true), OpResult::Err(ZkError::NoNode));
        let exists = |path: &str| Op::Exists {
            path: path.into(),
            watch: true,
        };
        assert_eq!(
            sstep(&mut s, exists("/config"), OpResult::Exists(None)),
            None
        );
        sstep(&mut s, list(), OpResult::Err(ZkError::NoNode));
        sstep(&mut s, exists("/mailbox"), OpResult::Exists(None));
        assert_eq!(s.next_op(), None);
        s.on_watch(&changed("/config", EventType::NodeCreated));
        s.on_watch(&changed("/mailbox", EventType::NodeCreated));
        sstep(&mut s, get("/config", true), data(VERSION_PREFIX, 0, 2));
        sstep(&mut s, list(), children(&[]));
        assert_eq!(s.next_op(), None);
    }

    #[test]
    fn the_planted_bug_reads_then_watches_and_misses_an_update_between() {
        let mut s = sub(true);
        let got = sstep_unapplied(&mut s, get("/config", false), data(VERSION_PREFIX, 3, 30));
        assert!(matches!(got, Some(ConfigEvent::Seen { version: 3, .. })));
        assert_eq!(s.next_op(), Some(list()), "no config op while applying");
        s.on_result(&list(), &children(&[]));
        s.applied();
        // Version 4 lands now; the watch set next is on version 4, which never fires.
        let exists = Op::Exists {
            path: "/config".into(),
            watch: true,
        };
        assert_eq!(
            sstep(&mut s, exists, OpResult::Exists(Some(stat(4, 40)))),
            None
        );
        assert_eq!(s.next_op(), None, "waiting for an event that never comes");
        assert_eq!(s.version(), Some(3));
        assert!(
            s.describe().contains("config watch armed"),
            "{}",
            s.describe()
        );
    }
}
