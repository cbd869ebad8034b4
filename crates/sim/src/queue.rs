//! The event queue: a binary min-heap of small `(time, sequence, slot)` keys over a slab
//! of payloads. Ties in time are broken by the sequence number, assigned at push, so the
//! order never depends on memory addresses or hashing.
//!
//! Invariants: every heap key refers to one occupied slab slot; popped times never
//! decrease; the number of pending events is bounded by `capacity_max`.

use proto::Time;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    time: Time,
    seq: u64,
    slot: u32,
}

/// A pending-event queue ordered by `(time, push order)`.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Key>>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    seq_next: u64,
    last_popped: Time,
    capacity_max: usize,
}

/// The queue refused an event: `capacity_max` events are already pending.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueFull;

impl<E> EventQueue<E> {
    pub fn new(capacity_max: usize) -> Self {
        assert!(capacity_max > 0 && capacity_max < u32::MAX as usize);
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            seq_next: 0,
            last_popped: Time::ZERO,
            capacity_max,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Schedule `event` at `time` (not before the last popped time).
    pub fn push(&mut self, time: Time, event: E) -> Result<(), QueueFull> {
        assert!(
            time >= self.last_popped,
            "event scheduled in the past: {time} < {}",
            self.last_popped
        );
        if self.heap.len() >= self.capacity_max {
            return Err(QueueFull);
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                debug_assert!(self.slab[slot as usize].is_none());
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slab.push(Some(event));
                (self.slab.len() - 1) as u32
            }
        };
        let seq = self.seq_next;
        self.seq_next += 1;
        self.heap.push(Reverse(Key { time, seq, slot }));
        Ok(())
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse(k)| k.time)
    }

    pub fn pop(&mut self) -> Option<(Time, E)> {
        let Reverse(key) = self.heap.pop()?;
        assert!(key.time >= self.last_popped, "queue order broken");
        self.last_popped = key.time;
        let event = self.slab[key.slot as usize]
            .take()
            .expect("heap key without payload");
        self.free.push(key.slot);
        Some((key.time, event))
    }

    /// Bytes held per pending event: one heap key plus one slab slot.
    pub const fn bytes_per_event() -> usize {
        std::mem::size_of::<Reverse<Key>>() + std::mem::size_of::<Option<E>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_push_order() {
        let mut q = EventQueue::new(100);
        q.push(Time(5), "b").unwrap();
        q.push(Time(3), "a").unwrap();
        q.push(Time(5), "c").unwrap();
        q.push(Time(5), "d").unwrap();
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![
                (Time(3), "a"),
                (Time(5), "b"),
                (Time(5), "c"),
                (Time(5), "d")
            ]
        );
    }

    #[test]
    fn capacity_is_enforced_and_slots_reused() {
        let mut q = EventQueue::new(2);
        q.push(Time(1), 1).unwrap();
        q.push(Time(2), 2).unwrap();
        assert_eq!(q.push(Time(3), 3), Err(QueueFull));
        assert_eq!(q.pop(), Some((Time(1), 1)));
        q.push(Time(4), 4).unwrap();
        assert_eq!(q.slab.len(), 2);
    }

    #[test]
    #[should_panic(expected = "in the past")]
    fn pushing_into_the_past_is_a_bug() {
        let mut q = EventQueue::new(10);
        q.push(Time(10), ()).unwrap();
        q.pop();
        let _ = q.push(Time(9), ());
    }
}
