//! A queue-recipe client process: one producer or consumer (`client::recipes::queue`) over
//! a real session hosted by [`ClientHost`]. It submits what the recipe asks for, one op at a
//! time, feeds back completions and watch events, reports queue operations to the history
//! (`ClientNote::QueueStart/QueueEnd`), and — with probability `failure_ppm` at the risky
//! moment of each take (take recipe: right after its delete; claim recipe: while
//! processing) — fails: it abandons its session without closing it, as a crashed consumer
//! would, and starts over with a new one.
//! Invariants: at most one recipe op in flight; every queue operation the recipe starts is
//! reported ended exactly once.

use client::recipes::bucket::TokenBucket;
use client::recipes::queue::{Consumer, ConsumerMode, Producer, QueueEvent};
use client::{Action, SessionState};
use proto::history::ClientNote;
use proto::zk::{Op, OpResult};
use proto::{Ctx, NS_PER_MS, Outbox, Process, ProcessId, Recovered, TimerId, WriteId};
use zkserver::{DiskRecord as Record, Msg, Note};

use crate::clienthost::{ClientHost, HostConfig};

const WAKE: TimerId = TimerId(120);
const RENEW: TimerId = TimerId(121);
const RENEW_DELAY_MS: u64 = 100;

type Out = Outbox<Msg, Record, Note>;

/// What one queue client does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueRole {
    Producer {
        items: u64,
        /// (capacity, refill, interval ms) of the token bucket, if rate-limited.
        bucket: Option<(u64, u64, u64)>,
    },
    Consumer {
        mode: ConsumerMode,
        process_ms: u64,
        delete_first: bool,
        failure_ppm: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueClientConfig {
    pub servers: Vec<ProcessId>,
    pub session_timeout_ms: u32,
    pub queue: String,
    pub role: QueueRole,
}

enum Recipe {
    Producer(Producer),
    Consumer(Consumer),
}

pub struct QueueWorker {
    config: QueueClientConfig,
    recipe: Option<Recipe>,
    host: Option<ClientHost>,
    /// The recipe op in flight: (xid, op).
    in_flight: Option<(u64, Op)>,
    /// The queue operation in progress (its call number), if any.
    call: Option<u64>,
    calls: u64,
}

impl QueueWorker {
    pub fn new(config: QueueClientConfig) -> QueueWorker {
        assert!(!config.servers.is_empty());
        QueueWorker {
            config,
            recipe: None,
            host: None,
            in_flight: None,
            call: None,
            calls: 0,
        }
    }

    /// A producer that enqueued everything.
    pub fn producer_done(&self) -> Option<bool> {
        match &self.recipe {
            Some(Recipe::Producer(p)) => Some(p.done()),
            _ => None,
        }
    }

    /// A consumer in the middle of taking an item.
    pub fn consumer_busy(&self) -> bool {
        matches!(&self.recipe, Some(Recipe::Consumer(c)) if c.holding_item())
    }

    fn host(&mut self) -> &mut ClientHost {
        self.host.as_mut().expect("started")
    }

    fn at_least_once(&self) -> bool {
        matches!(&self.recipe, Some(Recipe::Consumer(c)) if c.at_least_once())
    }

    fn report(&mut self, event: Option<QueueEvent>, out: &mut Out) {
        let note = match event {
            None => return,
            Some(QueueEvent::Start { kind, item }) => {
                assert!(self.call.is_none(), "a queue operation is already running");
                self.calls += 1;
                self.call = Some(self.calls);
                ClientNote::QueueStart {
                    call: self.calls,
                    queue: self.config.queue.clone(),
                    kind,
                    item,
                    at_least_once: self.at_least_once(),
                }
            }
            Some(QueueEvent::End { item, outcome }) => ClientNote::QueueEnd {
                call: self.call.take().expect("ending a started operation"),
                item,
                outcome,
            },
        };
        out.note(Note::Client(Box::new(note)));
    }

    /// Submits recipe ops while the session is connected and the recipe has one.
    fn drive(&mut self, ctx: &mut Ctx, out: &mut Out) {
        if self.in_flight.is_some() || self.host().session().state() != SessionState::Connected {
            return; // a completion or the next Connected drives again
        }
        let now = ctx.mono;
        let next = match self.recipe.as_mut().expect("started") {
            Recipe::Producer(p) => p.next_op(now),
            Recipe::Consumer(c) => c.next_op(now),
        };
        let Some((op, event)) = next else {
            return self.arm(ctx, out);
        };
        self.report(event, out);
        let (xid, actions) = self.host().submit(ctx, op.clone(), out);
        self.in_flight = Some((xid, op));
        self.handle(ctx, actions, out);
    }

    fn arm(&mut self, ctx: &mut Ctx, out: &mut Out) {
        let now = ctx.mono;
        let wake = match self.recipe.as_mut().expect("started") {
            Recipe::Producer(p) => p.wake_at(now),
            Recipe::Consumer(c) => c.wake_at(),
        };
        // Only a future wake-up: the recipe had nothing to do now.
        if let Some(at) = wake.filter(|at| *at > now) {
            out.set_timer(WAKE, at);
        }
    }

    fn handle(&mut self, ctx: &mut Ctx, actions: Vec<Action>, out: &mut Out) {
        for a in actions {
            match a {
                Action::Completed {
                    xid, op, result, ..
                } => self.completed(ctx, xid, &op, &result, out),
                Action::Watch(w) => {
                    if let Some(Recipe::Consumer(c)) = self.recipe.as_mut() {
                        c.on_watch(&w);
                    }
                }
                Action::State(SessionState::Connected) => {
                    let session = self.host().session().session_id().unwrap_or_default();
                    if let Some(Recipe::Consumer(c)) = self.recipe.as_mut() {
                        c.set_session(session);
                    }
                }
                Action::State(SessionState::Expired | SessionState::Closed) => {
                    self.session_lost(out);
                    out.set_timer(RENEW, ctx.mono.plus_ns(RENEW_DELAY_MS * NS_PER_MS));
                }
                _ => {}
            }
        }
        self.drive(ctx, out);
    }

    fn completed(&mut self, ctx: &mut Ctx, xid: u64, op: &Op, result: &OpResult, out: &mut Out) {
        if self.in_flight.as_ref().is_none_or(|(x, _)| *x != xid) {
            return; // an op of an abandoned session
        }
        self.in_flight = None;
        let fail = self.should_fail(ctx, op, result);
        if fail == Some(ConsumerMode::Take) {
            // Crashed right after its delete, before it could hand the item on: the
            // take ends unknown and the item is gone (the recipe's documented loss).
            return self.fail(ctx, out);
        }
        let now = ctx.mono;
        let event = match self.recipe.as_mut().expect("started") {
            Recipe::Producer(p) => p.on_result(result),
            Recipe::Consumer(c) => c.on_result(now, op, result),
        };
        self.report(event, out);
        if fail == Some(ConsumerMode::Claim) {
            self.fail(ctx, out); // crashed while processing a claimed item
        }
    }

    /// Whether the consumer fails now: after a take's delete succeeded, or once a claimed
    /// item is being processed — after its read, or under the planted `delete_first` after
    /// its delete — each with probability `failure_ppm`.
    fn should_fail(&self, ctx: &mut Ctx, op: &Op, result: &OpResult) -> Option<ConsumerMode> {
        let QueueRole::Consumer {
            mode,
            failure_ppm,
            delete_first,
            ..
        } = self.config.role
        else {
            return None;
        };
        let claims = format!("{}-claims/", self.config.queue);
        let item_deleted = matches!(op, Op::Delete { path, .. } if !path.starts_with(&claims))
            && matches!(result, OpResult::Deleted);
        let risky = match mode {
            ConsumerMode::Take => item_deleted,
            ConsumerMode::Claim if delete_first => item_deleted,
            ConsumerMode::Claim => {
                matches!(op, Op::GetData { .. }) && matches!(result, OpResult::Data { .. })
            }
        };
        (risky && ctx.below(1_000_000) < u64::from(failure_ppm)).then_some(mode)
    }

    fn session_lost(&mut self, out: &mut Out) {
        self.in_flight = None;
        let event = match self.recipe.as_mut().expect("started") {
            Recipe::Producer(p) => p.on_session_lost(),
            Recipe::Consumer(c) => c.on_session_lost(),
        };
        self.report(event, out);
        if self.call.is_some() {
            // The recipe had nothing in progress to end: close the record without an item.
            let call = self.call.take().expect("checked");
            out.note(Note::Client(Box::new(ClientNote::QueueEnd {
                call,
                item: None,
                outcome: proto::history::Outcome::Info,
            })));
        }
    }

    /// The consumer fails: its session is abandoned (not closed) and a new one starts.
    fn fail(&mut self, ctx: &mut Ctx, out: &mut Out) {
        self.session_lost(out);
        let actions = self.host().abandon(ctx, out);
        self.handle(ctx, actions, out);
    }

    fn build_recipe(&self, ctx: &mut Ctx) -> Recipe {
        let queue = &self.config.queue;
        match &self.config.role {
            QueueRole::Producer { items, bucket } => {
                let id_base = (u64::from(ctx.me.0) + 1) << 32;
                let bucket = bucket.map(|(capacity, refill, interval_ms)| {
                    TokenBucket::new(capacity, refill, interval_ms * NS_PER_MS, ctx.mono)
                });
                Recipe::Producer(Producer::new(queue, id_base, *items, bucket))
            }
            QueueRole::Consumer {
                mode,
                process_ms,
                delete_first,
                ..
            } => Recipe::Consumer(Consumer::new(
                queue,
                *mode,
                process_ms * NS_PER_MS,
                *delete_first,
            )),
        }
    }
}

impl Process for QueueWorker {
    type Msg = Msg;
    type Record = Record;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx, _disk: Recovered<'_, Record>, out: &mut Out) {
        self.recipe = Some(self.build_recipe(ctx));
        let config = HostConfig {
            servers: self.config.servers.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            reconnect_delay_ms: 200,
            max_pending: 4,
        };
        self.host = Some(ClientHost::new(ctx, config, 0));
        let actions = self.host().start(ctx, out);
        self.handle(ctx, actions, out);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: ProcessId, msg: Msg, out: &mut Out) {
        let actions = self.host().on_message(ctx, from, msg, out);
        self.handle(ctx, actions, out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut Out) {
        let actions = if ClientHost::id_of_timer(timer).is_some() {
            self.host().on_timer(ctx, out)
        } else if timer == RENEW && !self.host().session().is_alive() {
            self.host().renew(ctx, out)
        } else {
            Vec::new()
        };
        self.handle(ctx, actions, out);
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut Out) {}

    fn on_disconnect(&mut self, ctx: &mut Ctx, peer: ProcessId, out: &mut Out) {
        let actions = self.host().on_disconnect(ctx, peer, out);
        self.handle(ctx, actions, out);
    }
}

/// The items still in `queue` in a tree (their ids), in queue order.
pub fn items_in(tree: &datatree::DataTree, queue: &str) -> Vec<u64> {
    let Some(children) = tree.child_names(queue) else {
        return Vec::new();
    };
    // Sorted already; the sequential suffix makes name order queue order.
    let names: Vec<&str> = children
        .filter(|n| n.starts_with(client::recipes::queue::ITEM_PREFIX))
        .collect();
    names
        .iter()
        .filter_map(|n| tree.data(&format!("{queue}/{n}")))
        .filter_map(|d| std::str::from_utf8(d).ok()?.parse().ok())
        .collect()
}
