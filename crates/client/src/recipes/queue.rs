//! The distributed-queue recipes (ZooKeeper's recipes page; Curator's
//! SimpleDistributedQueue) as sans-IO state machines over a session: a producer enqueues
//! items as persistent sequential children `qn-NNNNNNNNNN` of the queue node (optionally
//! rate-limited by a token bucket); a consumer takes the lowest child. Two consumer
//! recipes: `Take` (read, then delete; NoNode means another consumer won — at-most-once: a
//! consumer that fails after its delete loses the item) and `Claim` (an ephemeral claim
//! node under `<queue>-claims`, read, process, delete the item, then the claim —
//! at-least-once: a consumer that fails before the delete leaves the item to be taken again
//! once its session expires). The planted bug `delete_first` makes `Claim` delete the item
//! before processing (ZooKeeper's documented pitfall): a failure while processing loses it.
//!
//! The host submits what `next_op` returns (one op at a time), feeds back completions and
//! watch events, and reports the returned [`QueueEvent`]s to the history.
//! Invariants: at most one op in flight per recipe; every started queue operation ends
//! exactly once (ok, fail or info); item ids are unique per producer (`id_base + n`).

use proto::Time;
use proto::history::{Outcome, QueueKind};
use proto::wire::{EventType, WatchEvent};
use proto::zk::{CreateMode, Op, OpResult, ZkError};

use super::bucket::TokenBucket;

/// Prefix of item names.
pub const ITEM_PREFIX: &str = "qn-";
/// Most children a consumer considers from one listing.
pub const CANDIDATES_MAX: usize = 64;
/// A consumer re-lists an empty queue at least this often even without a watch event.
pub const EMPTY_POLL_NS: u64 = 100 * proto::NS_PER_MS;

/// A queue operation starting or ending, for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueEvent {
    Start { kind: QueueKind, item: Option<u64> },
    End { item: Option<u64>, outcome: Outcome },
}

/// Which consumer recipe.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConsumerMode {
    /// Read + delete: at-most-once.
    Take,
    /// Ephemeral claim, process, delete: at-least-once.
    Claim,
}

fn setup_ops(queue: &str) -> Vec<Op> {
    [queue.to_string(), format!("{queue}-claims")]
        .into_iter()
        .map(|path| Op::Create {
            path,
            data: Vec::new(),
            mode: CreateMode::Persistent,
        })
        .collect()
}

fn setup_ok(result: &OpResult) -> bool {
    matches!(
        result,
        OpResult::Created { .. } | OpResult::Err(ZkError::NodeExists)
    )
}

/// A producer: enqueues items one at a time.
#[derive(Clone, Debug)]
pub struct Producer {
    queue: String,
    setup: Vec<Op>,
    id_base: u64,
    produced: u64,
    items_max: u64,
    bucket: Option<TokenBucket>,
    in_flight: Option<u64>,
    waiting_setup: bool,
}

impl Producer {
    /// Items get ids `id_base + 1 ..= id_base + items_max`.
    pub fn new(queue: &str, id_base: u64, items_max: u64, bucket: Option<TokenBucket>) -> Producer {
        assert!(queue.starts_with('/') && items_max > 0);
        Producer {
            queue: queue.to_string(),
            setup: setup_ops(queue),
            id_base,
            produced: 0,
            items_max,
            bucket,
            in_flight: None,
            waiting_setup: false,
        }
    }

    /// All items were enqueued (acknowledged or not).
    pub fn done(&self) -> bool {
        self.produced >= self.items_max && self.in_flight.is_none()
    }

    /// The next op to submit now, with the queue event it starts.
    pub fn next_op(&mut self, now: Time) -> Option<(Op, Option<QueueEvent>)> {
        if self.in_flight.is_some() || self.waiting_setup {
            return None;
        }
        if let Some(op) = self.setup.first().cloned() {
            self.waiting_setup = true;
            return Some((op, None));
        }
        if self.produced >= self.items_max || !self.bucket.as_mut().is_none_or(|b| b.take(now)) {
            return None;
        }
        self.produced += 1;
        assert!(self.produced <= self.items_max);
        let item = self.id_base + self.produced;
        self.in_flight = Some(item);
        let op = Op::Create {
            path: format!("{}/{ITEM_PREFIX}", self.queue),
            data: item.to_string().into_bytes(),
            mode: CreateMode::PersistentSequential,
        };
        let start = QueueEvent::Start {
            kind: QueueKind::Enqueue,
            item: Some(item),
        };
        Some((op, Some(start)))
    }

    /// When the producer wants to be asked again (the bucket's next token).
    pub fn wake_at(&mut self, now: Time) -> Option<Time> {
        let b = self.bucket.as_mut()?;
        (self.produced < self.items_max).then(|| b.next_token_at(now))
    }

    pub fn on_result(&mut self, result: &OpResult) -> Option<QueueEvent> {
        if self.waiting_setup {
            self.waiting_setup = false;
            if setup_ok(result) {
                self.setup.remove(0);
            }
            return None;
        }
        let item = self
            .in_flight
            .take()
            .expect("a result for the op in flight");
        assert!(
            item > self.id_base && item <= self.id_base + self.produced,
            "item {item} outside this producer's ids"
        );
        let outcome = match result {
            OpResult::Created { .. } => Outcome::Ok,
            OpResult::Err(ZkError::ConnectionLoss | ZkError::SessionExpired) => Outcome::Info,
            _ => Outcome::Fail,
        };
        Some(QueueEvent::End {
            item: Some(item),
            outcome,
        })
    }

    /// The session died: an enqueue in flight may or may not have happened.
    pub fn on_session_lost(&mut self) -> Option<QueueEvent> {
        self.waiting_setup = false;
        let item = self.in_flight.take()?;
        Some(QueueEvent::End {
            item: Some(item),
            outcome: Outcome::Info,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Creating the queue nodes.
    Setup,
    /// Ready to list the queue.
    Idle,
    /// getChildren in flight.
    Listing,
    /// The queue was empty: wait for the child watch (or the poll deadline).
    Empty { until: Time },
    /// Claim mode: creating the claim for `candidates[0]`.
    Claiming,
    /// Reading the item's data.
    Reading,
    /// Processing `item` until `until` (Claim mode; with `deleted` under the planted bug).
    Processing {
        item: u64,
        until: Time,
        deleted: bool,
    },
    /// Deleting the item.
    Deleting { item: Option<u64> },
    /// Claim mode: deleting the claim after the item.
    Unclaiming { item: u64 },
    /// Claim mode: the item's delete lost its connection; the claim is still ours, so
    /// whether the item is gone tells whether the delete happened.
    Verifying { item: u64 },
    /// Claim mode: a claim exists that may be ours (our create lost its connection):
    /// its owner tells.
    CheckingClaim,
}

/// A consumer: takes the lowest item, one at a time.
#[derive(Clone, Debug)]
pub struct Consumer {
    queue: String,
    mode: ConsumerMode,
    delete_first: bool,
    process_ns: u64,
    setup: Vec<Op>,
    step: Step,
    candidates: Vec<String>,
    /// A dequeue has started and not ended.
    started: bool,
    in_flight: bool,
    /// Claim mode: items whose claim this session may hold (a claim create or later step
    /// lost its connection). NodeExists on such a claim means it is ours: go on with it.
    maybe_ours: std::collections::BTreeSet<String>,
    /// The session this consumer runs in (the host tells it on every connect).
    session: proto::zk::SessionId,
    /// Claim mode: a candidate of the current listing is claimed by another consumer.
    claimed_elsewhere: bool,
}

impl Consumer {
    pub fn new(queue: &str, mode: ConsumerMode, process_ns: u64, delete_first: bool) -> Consumer {
        assert!(queue.starts_with('/'));
        assert!(
            !delete_first || mode == ConsumerMode::Claim,
            "the bug is the claim recipe's"
        );
        Consumer {
            queue: queue.to_string(),
            mode,
            delete_first,
            process_ns,
            setup: setup_ops(queue),
            step: Step::Setup,
            candidates: Vec::new(),
            started: false,
            in_flight: false,
            maybe_ours: std::collections::BTreeSet::new(),
            session: proto::zk::SessionId::NONE,
            claimed_elsewhere: false,
        }
    }

    /// The session the consumer's ops run in (claims it creates are owned by it).
    pub fn set_session(&mut self, session: proto::zk::SessionId) {
        self.session = session;
    }

    pub fn at_least_once(&self) -> bool {
        self.mode == ConsumerMode::Claim
    }

    fn item_path(&self, name: &str) -> String {
        format!("{}/{name}", self.queue)
    }

    fn claim_path(&self, name: &str) -> String {
        format!("{}-claims/{name}", self.queue)
    }

    /// Whether the consumer is in the middle of taking an item (read, processing,
    /// deleting, unclaiming): the item is neither in the queue nor delivered yet.
    pub fn holding_item(&self) -> bool {
        matches!(
            self.step,
            Step::Reading
                | Step::Processing { .. }
                | Step::Deleting { .. }
                | Step::Verifying { .. }
                | Step::Unclaiming { .. }
        )
    }

    /// Asserts the consumer's invariants: a step on an item has its candidate and belongs
    /// to a started dequeue; an op in flight belongs to a step that sent one; at most
    /// `CANDIDATES_MAX` candidates. O(1); run after every input.
    fn check_invariants(&self) {
        assert!(self.candidates.len() <= CANDIDATES_MAX);
        if self.holding_item() || matches!(self.step, Step::Claiming | Step::CheckingClaim) {
            assert!(
                !self.candidates.is_empty() && self.started,
                "step {:?} without its item or its dequeue",
                self.step
            );
        }
        assert!(
            !self.in_flight
                || !matches!(
                    self.step,
                    Step::Idle | Step::Empty { .. } | Step::Processing { .. }
                ),
            "an op in flight in step {:?}",
            self.step
        );
    }

    /// When the consumer wants to be asked again without any completion.
    pub fn wake_at(&self) -> Option<Time> {
        match self.step {
            Step::Empty { until } | Step::Processing { until, .. } => Some(until),
            _ => None,
        }
    }

    /// The next op to submit now, with the queue event it starts.
    pub fn next_op(&mut self, now: Time) -> Option<(Op, Option<QueueEvent>)> {
        self.check_invariants();
        if self.in_flight {
            return None;
        }
        let mut event = None;
        let op = match self.step.clone() {
            Step::Setup => self.setup.first().cloned()?,
            Step::Idle => {
                if !self.started {
                    self.started = true;
                    event = Some(QueueEvent::Start {
                        kind: QueueKind::Dequeue,
                        item: None,
                    });
                }
                self.step = Step::Listing;
                Op::GetChildren {
                    path: self.queue.clone(),
                    watch: true,
                }
            }
            Step::Listing => return None,
            Step::Empty { until } => {
                if now < until {
                    return None;
                }
                self.step = Step::Idle;
                return self.next_op(now);
            }
            Step::Processing {
                item,
                until,
                deleted,
            } => {
                if now < until {
                    return None;
                }
                if deleted {
                    self.step = Step::Unclaiming { item };
                    self.claim_delete()
                } else {
                    self.step = Step::Deleting { item: Some(item) };
                    self.item_delete()
                }
            }
            Step::Claiming => Op::Create {
                path: self.claim_path(&self.candidates[0]),
                data: Vec::new(),
                mode: CreateMode::Ephemeral,
            },
            Step::Reading => Op::GetData {
                path: self.item_path(&self.candidates[0]),
                watch: false,
            },
            Step::Deleting { .. } => self.item_delete(),
            Step::Unclaiming { .. } => self.claim_delete(),
            Step::Verifying { .. } => Op::Exists {
                path: self.item_path(&self.candidates[0]),
                watch: false,
            },
            Step::CheckingClaim => Op::Exists {
                path: self.claim_path(&self.candidates[0]),
                watch: false,
            },
        };
        self.in_flight = true;
        Some((op, event))
    }

    fn item_delete(&self) -> Op {
        Op::Delete {
            path: self.item_path(&self.candidates[0]),
            version: -1,
        }
    }

    fn claim_delete(&self) -> Op {
        Op::Delete {
            path: self.claim_path(&self.candidates[0]),
            version: -1,
        }
    }

    /// A child watch fired on the queue: list again now.
    pub fn on_watch(&mut self, event: &WatchEvent) {
        self.check_invariants();
        if event.kind == EventType::NodeChildrenChanged
            && event.path == self.queue
            && matches!(self.step, Step::Empty { .. })
        {
            self.step = Step::Idle;
        }
    }

    /// The session died (or the consumer failed): a dequeue in progress ends `info`, and
    /// every claim of the old session dies with it.
    pub fn on_session_lost(&mut self) -> Option<QueueEvent> {
        self.maybe_ours.clear();
        self.reset()
    }

    /// The connection broke with an op in flight: the session (and any claim it made)
    /// lives on; remember the claim that may be ours.
    fn on_connection_lost(&mut self) -> Option<QueueEvent> {
        let holding = matches!(
            self.step,
            Step::Claiming
                | Step::Reading
                | Step::Processing { .. }
                | Step::Deleting { .. }
                | Step::Verifying { .. }
                | Step::Unclaiming { .. }
        );
        if self.mode == ConsumerMode::Claim && holding && !self.candidates.is_empty() {
            self.maybe_ours.insert(self.candidates[0].clone());
            match self.step {
                // A verification cut short is asked again: ending the take here would leave
                // the item (if the delete never landed) under a claim this live session
                // still holds, and the consumer would take it up again as its own.
                Step::Deleting { item: Some(item) } | Step::Verifying { item } => {
                    // Find out whether the delete landed (processing is done, or under the
                    // planted `delete_first` not yet begun).
                    self.step = Step::Verifying { item };
                    return None;
                }
                Step::Claiming | Step::Reading => {
                    // The claim may be ours: the same take goes on (it lists again and
                    // takes its own claim up), so the take keeps its place in the history.
                    self.step = Step::Idle;
                    self.candidates.clear();
                    return None;
                }
                _ => {}
            }
        }
        self.reset()
    }

    /// Back to listing; a dequeue in progress ends `info`.
    fn reset(&mut self) -> Option<QueueEvent> {
        self.in_flight = false;
        let item = match &self.step {
            Step::Processing { item, .. }
            | Step::Unclaiming { item }
            | Step::Verifying { item } => Some(*item),
            Step::Deleting { item } => *item,
            _ => None,
        };
        // Claim mode: once processing finished (deleting, verifying, unclaiming) the item
        // was delivered; only its cleanup is unconfirmed (if the delete did not land the
        // item is delivered again: at-least-once). Under the planted `delete_first` the
        // delete (and its verification) comes before processing: nothing was delivered.
        let cleaning_up = match self.step {
            Step::Deleting { .. } | Step::Verifying { .. } => !self.delete_first,
            Step::Unclaiming { .. } => true,
            _ => false,
        };
        let processed = self.mode == ConsumerMode::Claim && cleaning_up;
        let outcome = if processed {
            Outcome::Ok
        } else {
            Outcome::Info
        };
        self.step = if self.setup.is_empty() {
            Step::Idle
        } else {
            Step::Setup
        };
        self.candidates.clear();
        std::mem::take(&mut self.started).then_some(QueueEvent::End { item, outcome })
    }

    pub fn on_result(&mut self, now: Time, op: &Op, result: &OpResult) -> Option<QueueEvent> {
        self.check_invariants();
        assert!(self.in_flight, "a result without an op in flight: {op:?}");
        self.in_flight = false;
        match result {
            // The op may or may not have happened: end what was in progress as unknown.
            OpResult::Err(ZkError::ConnectionLoss) => return self.on_connection_lost(),
            OpResult::Err(ZkError::SessionExpired) => return self.on_session_lost(),
            _ => {}
        }
        match self.step.clone() {
            Step::Setup => {
                if setup_ok(result) {
                    self.setup.remove(0);
                }
                if self.setup.is_empty() {
                    self.step = Step::Idle;
                }
                None
            }
            Step::Listing => {
                self.on_listing(now, result);
                None
            }
            Step::Claiming => {
                let ours = matches!(result, OpResult::Err(ZkError::NodeExists))
                    && self.maybe_ours.contains(&self.candidates[0]);
                match result {
                    OpResult::Created { .. } => self.step = Step::Reading,
                    _ if ours => self.step = Step::CheckingClaim,
                    OpResult::Err(ZkError::NodeExists) => {
                        self.claimed_elsewhere = true;
                        self.next_candidate(now);
                    }
                    _ => self.next_candidate(now),
                }
                None
            }
            Step::CheckingClaim => {
                let mine = matches!(
                    result,
                    OpResult::Exists(Some(stat)) if stat.ephemeral_owner == self.session
                );
                if mine {
                    self.step = Step::Reading;
                } else {
                    // Our create never landed; someone else holds the claim.
                    let name = self.candidates[0].clone();
                    self.maybe_ours.remove(&name);
                    self.claimed_elsewhere = true;
                    self.next_candidate(now);
                }
                None
            }
            Step::Reading => self.on_read(now, result),
            Step::Deleting { item } => self.on_deleted(now, item, result),
            Step::Verifying { item } => {
                self.step = match result {
                    // The planted bug deletes first: the item still has to be processed.
                    OpResult::Exists(None) if self.delete_first => Step::Processing {
                        item,
                        until: now.plus_ns(self.process_ns),
                        deleted: true,
                    },
                    OpResult::Exists(None) => Step::Unclaiming { item },
                    _ => Step::Deleting { item: Some(item) },
                };
                None
            }
            Step::Unclaiming { item } => {
                let name = self.candidates.remove(0);
                self.maybe_ours.remove(&name);
                self.step = Step::Idle;
                self.end(Some(item), Outcome::Ok)
            }
            other => panic!("a result in step {other:?}"),
        }
    }

    fn end(&mut self, item: Option<u64>, outcome: Outcome) -> Option<QueueEvent> {
        assert!(self.started, "ending a dequeue that never started");
        self.started = false;
        Some(QueueEvent::End { item, outcome })
    }

    fn on_listing(&mut self, now: Time, result: &OpResult) {
        let OpResult::Children(names) = result else {
            self.step = Step::Setup;
            self.setup = setup_ops(&self.queue);
            return;
        };
        let mut items: Vec<String> = names
            .iter()
            .filter(|n| n.starts_with(ITEM_PREFIX))
            .cloned()
            .collect();
        items.sort();
        items.truncate(CANDIDATES_MAX);
        self.candidates = items;
        self.claimed_elsewhere = false;
        if self.candidates.is_empty() {
            self.step = Step::Empty {
                until: now.plus_ns(EMPTY_POLL_NS),
            };
        } else {
            self.try_candidate();
        }
    }

    /// Works on `candidates[0]`: claim it (Claim) or read it (Take).
    fn try_candidate(&mut self) {
        assert!(!self.candidates.is_empty());
        self.step = match self.mode {
            ConsumerMode::Claim => Step::Claiming,
            ConsumerMode::Take => Step::Reading,
        };
    }

    /// Drops `candidates[0]` and works on the next. With none left the consumer lists
    /// again — at once, unless some candidate was claimed by another consumer: then it
    /// waits for the queue's children to change (its listing set a watch) or the empty
    /// poll, as a claim held by a dead consumer only goes away when its session expires
    /// (re-listing at once would spin until then).
    fn next_candidate(&mut self, now: Time) {
        self.candidates.remove(0);
        if self.candidates.is_empty() && self.claimed_elsewhere {
            self.step = Step::Empty {
                until: now.plus_ns(EMPTY_POLL_NS),
            };
        } else if self.candidates.is_empty() {
            self.step = Step::Idle;
        } else {
            self.try_candidate();
        }
    }

    fn on_read(&mut self, now: Time, result: &OpResult) -> Option<QueueEvent> {
        let OpResult::Data { data, .. } = result else {
            // Gone: another consumer took it (Claim: our claim is stale, drop it).
            self.next_candidate(now);
            return None;
        };
        let item: u64 = std::str::from_utf8(data)
            .ok()
            .and_then(|s| s.parse().ok())
            .expect("queue items hold their id");
        match self.mode {
            ConsumerMode::Take => self.step = Step::Deleting { item: Some(item) },
            ConsumerMode::Claim if self.delete_first => {
                self.step = Step::Deleting { item: Some(item) }
            }
            ConsumerMode::Claim => {
                self.step = Step::Processing {
                    item,
                    until: now.plus_ns(self.process_ns),
                    deleted: false,
                }
            }
        }
        None
    }

    fn on_deleted(
        &mut self,
        now: Time,
        item: Option<u64>,
        result: &OpResult,
    ) -> Option<QueueEvent> {
        let item_id = item.expect("deleting a read item");
        match (self.mode, result) {
            (ConsumerMode::Take, OpResult::Deleted) => {
                self.candidates.remove(0);
                self.step = Step::Idle;
                self.end(item, Outcome::Ok)
            }
            (ConsumerMode::Claim, OpResult::Deleted) if self.delete_first => {
                // The planted bug: the item is gone before it is processed.
                self.step = Step::Processing {
                    item: item_id,
                    until: now.plus_ns(self.process_ns),
                    deleted: true,
                };
                None
            }
            (ConsumerMode::Claim, OpResult::Deleted) => {
                self.step = Step::Unclaiming { item: item_id };
                None
            }
            (ConsumerMode::Claim, OpResult::Err(ZkError::NoNode)) if !self.delete_first => {
                // We hold the claim (checked by owner), so nobody else deletes the item: an
                // earlier delete of ours landed (its reply was lost; a lagging server said
                // it still existed).
                self.step = Step::Unclaiming { item: item_id };
                None
            }
            _ => {
                // NoNode: another consumer won the race.
                self.next_candidate(now);
                None
            }
        }
    }
}
