//! The queue workload (`[workload.queue]`): producers enqueue into `/queue`, consumers
//! take with the take or claim recipe (`crate::queueproc`). After the heal every producer
//! must have enqueued everything, no consumer may be mid-take, and the queue must be empty
//! in the established leader's tree; the queue checker (`check::queue`) then judges the
//! history, with the take recipe's at-most-once losses counted as documented, not failed.

use super::{ClientProcess, Stuck, Workload, World};
use crate::queueproc::{QueueClientConfig, QueueRole, QueueWorker};
use crate::scenario::{BugName, QueueRecipe, QueueWorkload, Scenario, WorkloadConfig};
use check::queue::Severity;
use client::recipes::queue::ConsumerMode;
use kernel::observe::Violation;
use proto::ProcessId;
use proto::history::Event;

/// The name of the queue the queue workload uses.
pub const QUEUE_PATH: &str = "/queue";

pub struct Queue {
    producers: u32,
    consumers: u32,
    producer: QueueClientConfig,
    consumer: QueueClientConfig,
    /// The queue's items left at the last liveness check (the queue checker's input):
    /// `Some(empty)` once a check found the queue drained.
    left: Option<Vec<u64>>,
}

impl Queue {
    pub fn new(s: &Scenario, q: &QueueWorkload, servers: &[ProcessId]) -> Queue {
        let WorkloadConfig::Writes {
            session_timeout_ms, ..
        } = s.workload
        else {
            panic!("a queue workload needs a writes workload");
        };
        let producer = QueueClientConfig {
            servers: servers.to_vec(),
            session_timeout_ms: u32::try_from(session_timeout_ms).expect("validated"),
            queue: QUEUE_PATH.to_string(),
            role: QueueRole::Producer {
                items: q.items,
                bucket: q
                    .rate
                    .as_ref()
                    .map(|r| (r.capacity, r.refill, r.interval_ms)),
            },
        };
        let mode = match q.recipe {
            QueueRecipe::Take => ConsumerMode::Take,
            QueueRecipe::Claim => ConsumerMode::Claim,
        };
        let consumer = QueueClientConfig {
            role: QueueRole::Consumer {
                mode,
                process_ms: q.process_ms,
                delete_first: s.zab.bugs.contains(&BugName::QueueDeleteFirst),
                failure_ppm: q.consumer_failure.ppm,
            },
            ..producer.clone()
        };
        Queue {
            producers: q.producers,
            consumers: q.consumers,
            producer,
            consumer,
            left: None,
        }
    }

    fn is_producer(&self, index: u32) -> bool {
        assert!(
            index < self.clients(),
            "client {index} of {}",
            self.clients()
        );
        index < self.producers
    }
}

impl Workload for Queue {
    fn clients(&self) -> u32 {
        self.producers + self.consumers
    }

    fn role(&self, index: u32) -> &'static str {
        if self.is_producer(index) {
            "producer"
        } else {
            "consumer"
        }
    }

    fn client(&self, index: u32) -> Box<dyn ClientProcess> {
        let config = if self.is_producer(index) {
            &self.producer
        } else {
            &self.consumer
        };
        Box::new(QueueWorker::new(config.clone()))
    }

    fn liveness(&mut self, world: &World<'_>, stuck: &mut Stuck) {
        assert_eq!(world.clients.len(), self.clients() as usize);
        if self.producers == 0 {
            return;
        }
        let (producers, consumers) = world.clients.split_at(self.producers as usize);
        for &p in producers {
            let worker = world.client::<QueueWorker>(p);
            if let Some(false) = worker.and_then(QueueWorker::producer_done) {
                stuck.push(p, || "producer has items left to enqueue".into());
            }
        }
        for &c in consumers {
            let worker = world.client::<QueueWorker>(c);
            if worker.is_some_and(QueueWorker::consumer_busy) {
                stuck.push(c, || "consumer is still taking an item".into());
            }
        }
        let (Some(leader), Some(tree)) = (world.leader, world.leader_tree()) else {
            return; // the ensemble reports a missing leader
        };
        let left = tree.child_names(QUEUE_PATH).map_or(0, |names| {
            names
                .filter(|n| n.starts_with(client::recipes::queue::ITEM_PREFIX))
                .count()
        });
        if left > 0 {
            stuck.push(leader, || format!("{left} items still queued"));
        }
        // What the queue checker judges after a pass: the items left, and a pass needs
        // this probe's `left == 0` (an item that would not parse still counts as left).
        self.left = (left == 0).then(Vec::new);
    }

    fn judge(&self, history: &[Event], figures: &mut Vec<(String, u64)>) -> Option<Violation> {
        if !history.iter().any(|e| matches!(e, Event::Queue(_))) {
            return None;
        }
        let q = check::queue::check_queue(history, self.left.as_deref().unwrap_or(&[]));
        figures.push(("queue_enqueues".to_string(), q.stats.enqueues as u64));
        figures.push(("queue_dequeues".to_string(), q.stats.dequeues as u64));
        let documented = q
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Documented)
            .count();
        figures.push(("queue_documented_losses".to_string(), documented as u64));
        let f = q
            .findings
            .iter()
            .find(|f| f.severity == Severity::Violation)?;
        Some(Violation {
            check: "QueueInvariant".to_string(),
            processes: Vec::new(),
            detail: f.render(history),
        })
    }
}
