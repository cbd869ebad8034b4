//! The event queue: a radix heap of 16-byte keys over a slab of payloads. A key packs
//! `(time, sequence, slot)` into one `u128` — time in the high 64 bits, then a 40-bit push
//! sequence number, then a 24-bit slab slot — so ordering is one integer comparison, and
//! ties in time break by push order, never by memory addresses or hashing.
//!
//! Invariants: every heap key refers to one occupied slab slot; popped times never
//! decrease; at most `capacity_max` (< 2^24) events are pending; fewer than 2^40 pushes.

use proto::Time;

const SLOT_BITS: u32 = 24;
const SEQ_BITS: u32 = 40;
/// Pending events at once, at most (the slot field's range).
pub const CAPACITY_LIMIT: usize = 1 << SLOT_BITS;

fn key(time: Time, seq: u64, slot: u32) -> u128 {
    ((time.0 as u128) << 64) | ((seq as u128) << SLOT_BITS) | slot as u128
}
fn key_time(k: u128) -> Time {
    Time((k >> 64) as u64)
}
fn key_slot(k: u128) -> usize {
    (k as u64 & ((1 << SLOT_BITS) - 1)) as usize
}

/// A pending-event queue ordered by `(time, push order)`.
///
/// The keys live in a radix heap: the kernel never schedules into the past, so keys are
/// pushed no lower than the last popped key, and bucket `i` holds the keys whose highest
/// bit differing from that key is bit `i − 1` (bucket 0: equal). A pop takes the minimum of
/// the lowest non-empty bucket and redistributes that bucket below it; each key moves down
/// at most 128 times in its life, so pushes and pops are amortized O(1) — the cost per
/// event does not grow with the number pending.
#[derive(Debug)]
pub struct EventQueue<E> {
    buckets: Vec<Vec<u128>>,
    /// Bit `i` set ⇔ bucket `i` is non-empty (buckets 0..=128 over three words).
    occupied: [u64; 3],
    last_key: u128,
    len: usize,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    seq_next: u64,
    last_popped: Time,
    capacity_max: usize,
}

/// The queue refused an event: `capacity_max` events are already pending.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueFull;

fn bucket_of(k: u128, last: u128) -> usize {
    (128 - (k ^ last).leading_zeros()) as usize
}

impl<E> EventQueue<E> {
    pub fn new(capacity_max: usize) -> Self {
        assert!(
            capacity_max > 0 && capacity_max <= CAPACITY_LIMIT,
            "queue capacity {capacity_max} out of range"
        );
        EventQueue {
            buckets: (0..129).map(|_| Vec::new()).collect(),
            occupied: [0; 3],
            last_key: 0,
            len: 0,
            slab: Vec::new(),
            free: Vec::new(),
            seq_next: 0,
            last_popped: Time::ZERO,
            capacity_max,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedule `event` at `time` (not before the last popped time).
    pub fn push(&mut self, time: Time, event: E) -> Result<(), QueueFull> {
        assert!(
            time >= self.last_popped,
            "event scheduled in the past: {time} < {}",
            self.last_popped
        );
        if self.len >= self.capacity_max {
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
        assert!(seq < 1 << SEQ_BITS, "more than 2^40 events pushed");
        self.seq_next += 1;
        let k = key(time, seq, slot);
        debug_assert!(k > self.last_key || self.len == 0 && self.seq_next == 1);
        self.put(k, bucket_of(k, self.last_key));
        self.len += 1;
        Ok(())
    }

    fn put(&mut self, k: u128, bucket: usize) {
        self.buckets[bucket].push(k);
        self.occupied[bucket / 64] |= 1 << (bucket % 64);
    }

    /// The lowest non-empty bucket.
    fn lowest(&self) -> Option<usize> {
        let w = self.occupied.iter().position(|&w| w != 0)?;
        Some(w * 64 + self.occupied[w].trailing_zeros() as usize)
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        let b = &self.buckets[self.lowest()?];
        b.iter().min().map(|&k| key_time(k))
    }

    pub fn pop(&mut self) -> Option<(Time, E)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let i = self.lowest().expect("len > 0");
            let moving = std::mem::take(&mut self.buckets[i]);
            self.occupied[i / 64] &= !(1 << (i % 64));
            let min = *moving.iter().min().expect("non-empty bucket");
            self.last_key = min;
            for &k in &moving {
                let j = bucket_of(k, min);
                debug_assert!(j < i, "radix heap invariant broken");
                self.put(k, j);
            }
            // Give the (now empty) allocation back to bucket i for reuse.
            let mut moving = moving;
            moving.clear();
            self.buckets[i] = moving;
        }
        let top = self.buckets[0].pop().expect("bucket 0 holds the minimum");
        debug_assert!(self.buckets[0].is_empty(), "keys are unique");
        self.occupied[0] &= !1;
        self.len -= 1;
        let time = key_time(top);
        assert!(time >= self.last_popped, "queue order broken");
        self.last_popped = time;
        let slot = key_slot(top);
        let event = self.slab[slot].take().expect("heap key without payload");
        self.free.push(slot as u32);
        Some((time, event))
    }

    /// Bytes held per pending event: one heap key plus one slab slot.
    pub const fn bytes_per_event() -> usize {
        std::mem::size_of::<u128>() + std::mem::size_of::<Option<E>>()
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
    fn many_random_pushes_pop_in_order() {
        let mut q = EventQueue::new(1 << 16);
        let mut x = 12345u64;
        let mut expected = Vec::new();
        for i in 0..10_000u64 {
            x = proto::mix64(x);
            let t = Time(x % 1_000);
            q.push(t, i).unwrap();
            expected.push((t, i));
        }
        expected.sort();
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, expected);
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
