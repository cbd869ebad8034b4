//! The config recipe's client processes: a publisher (`client::recipes::config::Publisher`)
//! that sets `updates` config versions and posts `messages` mailbox messages, one
//! publication every `interval_ms` on average (drawn in [interval/2, 3·interval/2)),
//! interleaved in proportion, a config publication being a burst of `burst` versions set
//! back to back (as a deploy changes several settings in a row); and subscribers (`Subscriber`) that follow the config and the mailbox by
//! watches, spending `apply_ms` applying each config version they read. Each runs over a real session hosted by [`ClientHost`], renews its session
//! after an expiry, and reports what it learned to the history (`ClientNote::Config`).
//! Both report `Started` on every start: a restart after a crash begins with an empty
//! memory.
//! Invariants: at most one recipe op in flight, and only with a session host; the
//! publisher never publishes past its counts, a burst within its size; a subscriber
//! reports each message it processed exactly once, never more than were published.

use client::recipes::config::{ConfigEvent, Publisher, Subscriber};
use client::{Action, SessionState};
use proto::history::{ClientNote, ConfigKind};
use proto::zk::SessionId;
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, Time, TimerId, WriteId};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};

const PUBLISH: TimerId = TimerId(140);
const RENEW: TimerId = TimerId(141);
const APPLY: TimerId = TimerId(142);
const RENEW_DELAY_MS: u64 = 100;

type Out = Outbox<Msg, Record, Note>;

/// Where the config recipe's nodes are and how the clients connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigClientConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    pub config: String,
    pub mailbox: String,
    /// Config versions to publish (the final version).
    pub updates: u64,
    /// Mailbox messages to publish.
    pub messages: u64,
    /// Mean time between publications.
    pub interval_ms: u64,
    /// Config versions per config publication, set back to back.
    pub burst: u64,
    /// How long a subscriber takes to apply a config version it read.
    pub apply_ms: u64,
    /// The planted bug `config-read-then-watch` (subscribers only).
    pub read_then_watch: bool,
}

impl ConfigClientConfig {
    fn host(&self) -> HostConfig {
        HostConfig {
            servers: self.servers.clone(),
            session_timeout_ms: self.session_timeout_ms,
            reconnect_delay_ms: 200,
            max_pending: 4,
        }
    }
}

fn note(session: SessionId, event: ConfigEvent) -> ClientNote {
    let (kind, number, node, zxid) = match event {
        ConfigEvent::Published { version, zxid } => (ConfigKind::Published, version, None, zxid),
        ConfigEvent::MessagePublished { number, node, zxid } => {
            (ConfigKind::MessagePublished, number, node, zxid)
        }
        ConfigEvent::Seen { version, mzxid } => (ConfigKind::Seen, version, None, Some(mzxid)),
        ConfigEvent::Delivered { number, node } => {
            (ConfigKind::MessageDelivered, number, Some(node), None)
        }
    };
    ClientNote::Config {
        session,
        kind,
        number,
        node,
        zxid,
    }
}

/// A process starting with an empty memory (first start or a restart after a crash).
fn started() -> ClientNote {
    ClientNote::Config {
        session: SessionId::NONE,
        kind: ConfigKind::Started,
        number: 0,
        node: None,
        zxid: None,
    }
}

/// The common loop of both roles: the session host, the one op in flight, renewals.
struct Driver {
    host: Option<ClientHost>,
    /// The recipe op in flight: its xid.
    in_flight: Option<u64>,
}

impl Driver {
    fn host(&mut self) -> &mut ClientHost {
        self.host.as_mut().expect("started")
    }

    fn connected(&self) -> bool {
        self.host
            .as_ref()
            .is_some_and(|h| h.session().state() == SessionState::Connected)
    }

    fn session(&self) -> SessionId {
        self.host
            .as_ref()
            .and_then(|h| h.session().session_id())
            .unwrap_or_default()
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) -> Vec<Action> {
        if ClientHost::id_of_timer(timer).is_some() {
            self.host().on_timer(ctx, out)
        } else if timer == RENEW && !self.host().session().is_alive() {
            self.host().renew(ctx, out)
        } else {
            Vec::new()
        }
    }
}

/// The publisher's process.
pub struct ConfigPublisher {
    config: ConfigClientConfig,
    recipe: Publisher,
    driver: Driver,
    /// No publication before this (local time).
    next_at: Time,
    /// Config versions left in the current burst.
    burst_left: u64,
}

impl ConfigPublisher {
    pub fn new(config: ConfigClientConfig) -> ConfigPublisher {
        assert!(!config.servers.is_empty() && config.interval_ms > 0 && config.burst > 0);
        let recipe = Publisher::new(&config.config, &config.mailbox);
        ConfigPublisher {
            config,
            recipe,
            driver: Driver {
                host: None,
                in_flight: None,
            },
            next_at: Time::ZERO,
            burst_left: 0,
        }
    }

    fn check_invariants(&self) {
        assert!(self.driver.in_flight.is_none() || self.driver.host.is_some());
        assert!(
            self.recipe.version() <= self.config.updates
                && self.recipe.messages() <= self.config.messages,
            "published past the counts"
        );
        assert!(
            self.burst_left < self.config.burst,
            "a burst within its size"
        );
    }

    /// Every version and message published.
    pub fn done(&self) -> bool {
        self.recipe.idle()
            && self.recipe.version() >= self.config.updates
            && self.recipe.messages() >= self.config.messages
    }

    /// Why the publisher is not done, for a liveness finding.
    pub fn explain(&self) -> String {
        format!(
            "published config version {} of {} and message {} of {}{}",
            self.recipe.version(),
            self.config.updates,
            self.recipe.messages(),
            self.config.messages,
            if self.recipe.idle() { "" } else { ", busy" }
        )
    }

    /// Starts the next publication when idle and due: a burst of config versions or a
    /// message, whichever is behind its share. The versions of a burst follow each other
    /// back to back (each as soon as the previous one is set).
    fn publish(&mut self, ctx: &mut Ctx, out: &mut Out) {
        if !self.recipe.idle() || self.done() {
            return;
        }
        let (v, k) = (self.recipe.version(), self.recipe.messages());
        let (u, m) = (self.config.updates, self.config.messages);
        assert!(
            v <= u && k <= m,
            "published past the counts: {v}/{u}, {k}/{m}"
        );
        assert!(
            self.burst_left < self.config.burst,
            "a burst within its size"
        );
        if self.burst_left > 0 && v < u {
            self.burst_left -= 1;
            return self.recipe.update();
        }
        if ctx.mono < self.next_at {
            return;
        }
        // Version v of u against message k of m: the one further behind goes next.
        if k >= m || (v < u && u128::from(v) * u128::from(m) <= u128::from(k) * u128::from(u)) {
            self.recipe.update();
            self.burst_left = self.config.burst - 1;
        } else {
            self.recipe.post();
        }
        let interval_ns = self.config.interval_ms * NS_PER_MS;
        self.next_at = ctx
            .mono
            .plus_ns(interval_ns / 2 + ctx.below(interval_ns.max(1)));
        out.set_timer(PUBLISH, self.next_at);
    }

    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.check_invariants();
        if self.driver.in_flight.is_some() || !self.driver.connected() {
            return;
        }
        self.publish(ctx, out);
        let Some(op) = self.recipe.next_op() else {
            return;
        };
        let (xid, actions) = self.driver.host().submit(ctx, op, out);
        self.driver.in_flight = Some(xid);
        self.handle(ctx, actions, out);
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed {
                    xid,
                    op,
                    result,
                    zxid,
                } if self.driver.in_flight == Some(xid) => {
                    self.driver.in_flight = None;
                    if let Some(e) = self.recipe.on_result(&op, &result, zxid) {
                        out.note(Note::client(note(self.driver.session(), e)));
                    }
                }
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.driver.in_flight = None;
                    self.recipe.on_session_lost();
                    out.set_timer(RENEW, ctx.mono.plus_ns(RENEW_DELAY_MS * NS_PER_MS));
                }
                _ => {}
            }
        }
        self.drive(ctx, out);
    }
}

impl Process for ConfigPublisher {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        out.note(Note::client(started()));
        self.driver.host = Some(ClientHost::new(ctx, self.config.host(), 0));
        let actions = self.driver.host().start(ctx, out);
        self.handle(ctx, actions, out);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        let actions = self.driver.host().on_message(ctx, from, msg, out);
        self.handle(ctx, actions, out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        let actions = self.driver.on_timer(ctx, timer, out);
        self.handle(ctx, actions, out); // PUBLISH: `drive` publishes when due
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let actions = self.driver.host().on_disconnect(ctx, peer, out);
        self.handle(ctx, actions, out);
    }
}

/// A subscriber's process.
pub struct ConfigSubscriber {
    config: ConfigClientConfig,
    recipe: Subscriber,
    driver: Driver,
    /// Messages reported (each one more than the last).
    reported: u64,
}

impl ConfigSubscriber {
    pub fn new(config: ConfigClientConfig) -> ConfigSubscriber {
        assert!(!config.servers.is_empty());
        let recipe = Subscriber::new(&config.config, &config.mailbox, config.read_then_watch);
        ConfigSubscriber {
            config,
            recipe,
            driver: Driver {
                host: None,
                in_flight: None,
            },
            reported: 0,
        }
    }

    /// Has the final version and every message.
    pub fn done(&self) -> bool {
        self.recipe.version() == Some(self.config.updates)
            && self.recipe.delivered() >= self.config.messages
    }

    /// The subscriber recipe (for figures and charts).
    pub fn recipe(&self) -> &Subscriber {
        &self.recipe
    }

    /// Why the subscriber is not done, for a liveness finding.
    pub fn explain(&self) -> String {
        let version = self
            .recipe
            .version()
            .map_or_else(|| "none".to_string(), |v| v.to_string());
        format!(
            "config version {version} of {}, messages {} of {} ({})",
            self.config.updates,
            self.recipe.delivered(),
            self.config.messages,
            self.recipe.describe()
        )
    }

    fn check_invariants(&self) {
        assert!(self.driver.in_flight.is_none() || self.driver.host.is_some());
        assert_eq!(
            self.reported,
            self.recipe.delivered(),
            "every message processed is reported"
        );
        assert!(
            self.recipe.delivered() <= self.config.messages,
            "more messages than published"
        );
    }

    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.check_invariants();
        if self.driver.in_flight.is_some() || !self.driver.connected() {
            return;
        }
        let Some(op) = self.recipe.next_op() else {
            return;
        };
        let (xid, actions) = self.driver.host().submit(ctx, op, out);
        self.driver.in_flight = Some(xid);
        self.handle(ctx, actions, out);
    }

    fn report(&mut self, ctx: &mut Ctx, event: ConfigEvent, out: &mut Out) {
        if let ConfigEvent::Seen { .. } = event {
            // Apply the version read: at once, or after `apply_ms`.
            assert!(self.recipe.applying(), "a read is applied");
            match self.config.apply_ms {
                0 => self.recipe.applied(),
                ms => out.set_timer(APPLY, ctx.mono.plus_ns(ms * NS_PER_MS)),
            }
        }
        if let ConfigEvent::Delivered { .. } = event {
            self.reported += 1;
            assert_eq!(
                self.reported,
                self.recipe.delivered(),
                "each message reported once"
            );
        }
        out.note(Note::client(note(self.driver.session(), event)));
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed {
                    xid, op, result, ..
                } if self.driver.in_flight == Some(xid) => {
                    self.driver.in_flight = None;
                    if let Some(e) = self.recipe.on_result(&op, &result) {
                        self.report(ctx, e, out);
                    }
                }
                Action::Watch(w) => self.recipe.on_watch(&w),
                Action::State(SessionState::Connected) => {
                    let session = self.driver.session();
                    self.recipe.set_session(session);
                }
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.driver.in_flight = None;
                    self.recipe.on_session_lost();
                    out.cancel_timer(APPLY);
                    out.set_timer(RENEW, ctx.mono.plus_ns(RENEW_DELAY_MS * NS_PER_MS));
                }
                _ => {}
            }
        }
        self.drive(ctx, out);
    }
}

impl Process for ConfigSubscriber {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        out.note(Note::client(started()));
        self.driver.host = Some(ClientHost::new(ctx, self.config.host(), 0));
        let actions = self.driver.host().start(ctx, out);
        self.handle(ctx, actions, out);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        let actions = self.driver.host().on_message(ctx, from, msg, out);
        self.handle(ctx, actions, out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        if timer == APPLY {
            self.recipe.applied();
        }
        let actions = self.driver.on_timer(ctx, timer, out);
        self.handle(ctx, actions, out);
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let actions = self.driver.host().on_disconnect(ctx, peer, out);
        self.handle(ctx, actions, out);
    }
}
