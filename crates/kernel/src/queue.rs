//! The event queue: a calendar (timing wheel) of events ordered by `(time, sequence)`, where
//! the sequence is the push order, so ties in time break by push order, never by memory
//! addresses or hashing.
//!
//! Events are filed by time into buckets of `2^BUCKET_SHIFT` ns: the wheel holds the next
//! `BUCKETS` buckets (about 17 ms, the span of network latencies), later events wait in an
//! overflow heap (keyed by `(time, push sequence)` packed in a `u128`) and move onto the
//! wheel as it turns. A bucket is an unsorted vector of events, appended to in push order,
//! beside a vector of one `u64` order key per event: its time within the bucket above its
//! index in the vector. When the bucket becomes the one being drained, its order is decided
//! once by sorting its keys (a radix sort on the time within the bucket, but for small
//! buckets), and the events are taken out by index in that order, without moving the
//! others. Within one bucket, a smaller index always means an earlier push among events of
//! equal time (see the invariants), so sorting by (time, index) is sorting by (time,
//! sequence). A pop costs O(1) plus a share of sorting the keys of one bucket, not
//! O(log n) over all n pending events; filing an event writes to the tail of its bucket.
//! (Measured: a binary heap over a payload slab spent half of every event in cache-missing
//! sift-downs and slab reads with 20,000 events pending, a radix heap did no better, and
//! sorting a bucket's events themselves instead of their keys cost ~3× as much.)
//!
//! Invariants: popped `(time, sequence)` keys strictly increase; the current bucket `cur`
//! lives in wheel slot `cur % BUCKETS`, its sorted `keys[pos..]` naming exactly its pending
//! events; wheel slot `b % BUCKETS` holds those of bucket `b` for `cur < b < cur + BUCKETS`,
//! the overflow heap the rest; within a wheel slot, of two events with equal times the one
//! with the smaller index was pushed first (events reach a slot either from the overflow
//! heap, in key order, all before any direct push to it — a bucket enters the wheel's reach
//! once, and its overflow events move in at that moment — or by direct pushes, in push
//! order); at most `capacity_max` events are pending.

use sansio::Time;

/// Pending events at once, at most (a bound on the run's memory). A scenario's
/// `run.queue_max` is held to it at load; a run that fills its queue ends with a `queue`
/// budget verdict. Every other count here (a bucket, the overflow heap's slab) is at most
/// the pending events, so their asserts below are never reached (checked at compile time).
pub const CAPACITY_LIMIT: usize = 1 << 30;
/// Width of one bucket: 2^14 ns ≈ 16 µs.
const BUCKET_SHIFT: u32 = 14;
/// Buckets on the wheel: 1024 × 16 µs ≈ 16.8 ms.
const BUCKETS: usize = 1024;
const WORDS: usize = BUCKETS / 64;
const ARITY: usize = 4;
/// An order key is `(time within the bucket) << INDEX_BITS | index in the bucket`.
const INDEX_BITS: u32 = 64 - BUCKET_SHIFT;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const _: () = assert!(CAPACITY_LIMIT < u32::MAX as usize && CAPACITY_LIMIT as u64 <= INDEX_MASK);
/// A spent bucket keeps an allocation of at most this many events in its slot.
const KEEP_CAPACITY_MAX: usize = 8;
/// The drained bucket is compacted once this many of its entries are spent and at least
/// as many as remain (keeps a bucket that is pushed into as fast as it drains bounded).
const COMPACT_SPENT_MIN: usize = 1024;

fn key(time: Time, seq: u64) -> u128 {
    ((time.0 as u128) << 64) | seq as u128
}
fn key_time(k: u128) -> Time {
    Time((k >> 64) as u64)
}
fn bucket_of(time: Time) -> u64 {
    time.0 >> BUCKET_SHIFT
}
fn slot_of(bucket: u64) -> usize {
    (bucket % BUCKETS as u64) as usize
}
/// The order key of an event at `time` (in the current bucket) filed at `index`.
fn order_key(time: Time, index: usize) -> u64 {
    debug_assert!((index as u64) <= INDEX_MASK);
    ((time.0 & ((1 << BUCKET_SHIFT) - 1)) << INDEX_BITS) | index as u64
}

/// Buckets of at most this many events are ordered by comparison sort, larger ones by
/// radix sort.
const RADIX_LEN_MIN: usize = 48;
const RADIX_BITS: u32 = BUCKET_SHIFT.div_ceil(2);
const RADIX: usize = 1 << RADIX_BITS;

/// Sort the order keys of a bucket, which arrive in index order. Large buckets: a stable
/// LSD radix sort on the time within the bucket, two passes of `RADIX_BITS` — stable, so
/// equal times keep their index order, which is the keys' own order (O(n) whatever the
/// spread of times).
fn sort_keys(keys: &mut Vec<u64>, scratch: &mut Vec<u64>) {
    if keys.len() <= 1 {
        return;
    }
    if keys.len() < RADIX_LEN_MIN {
        keys.sort_unstable();
        return;
    }
    assert!(keys.len() < u32::MAX as usize, "bucket too large to sort");
    scratch.clear();
    scratch.resize(keys.len(), 0);
    for pass in 0..2 {
        let (from, to) = if pass == 0 {
            (&*keys, &mut *scratch)
        } else {
            (&*scratch, &mut *keys)
        };
        let shift = INDEX_BITS + pass * RADIX_BITS;
        let digit = |k: u64| ((k >> shift) as usize) & (RADIX - 1);
        let mut at = [0u32; RADIX];
        for &k in from.iter() {
            at[digit(k)] += 1;
        }
        let mut sum = 0;
        for a in at.iter_mut() {
            let n = *a;
            *a = sum;
            sum += n;
        }
        for &k in from.iter() {
            let d = digit(k);
            to[at[d] as usize] = k;
            at[d] += 1;
        }
    }
    debug_assert!(keys.is_sorted());
}

/// An event waiting in the overflow heap, with its full `(time, sequence)` key.
#[derive(Debug)]
struct Entry<E> {
    key: u128,
    event: E,
}

/// One wheel slot: its events in filing order (`None` once popped) and, in the same
/// order, their order keys (`time within the bucket << INDEX_BITS | index`). Keys and events
/// live apart: ordering a bucket reads and sorts only its keys, and an event is touched
/// once more, when it is popped.
#[derive(Debug)]
struct Bucket<E> {
    events: Vec<Option<E>>,
    keys: Vec<u64>,
}

impl<E> Bucket<E> {
    const fn new() -> Bucket<E> {
        Bucket {
            events: Vec::new(),
            keys: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, time: Time, event: E) -> u64 {
        let k = order_key(time, self.events.len());
        self.events.push(Some(event));
        self.keys.push(k);
        debug_assert_eq!(
            self.events.len(),
            self.keys.len(),
            "one order key per event"
        );
        k
    }
}

/// The overflow beyond the wheel (mostly timers): a 4-ary min-heap of `(key, slot)` pairs,
/// the events themselves in a slab beside it, so that sifting moves 32 bytes, not events.
#[derive(Debug)]
struct Overflow<E> {
    heap: Vec<(u128, u32)>,
    slab: Vec<Option<E>>,
    /// Free slots of `slab`.
    free: Vec<u32>,
}

impl<E> Overflow<E> {
    fn new() -> Overflow<E> {
        Overflow {
            heap: Vec::new(),
            slab: Vec::new(),
            free: Vec::new(),
        }
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
    #[inline]
    fn peek(&self) -> Option<u128> {
        self.heap.first().map(|e| e.0)
    }
    fn push(&mut self, e: Entry<E>) {
        let slot = match self.free.pop() {
            Some(i) => {
                debug_assert!(self.slab[i as usize].is_none());
                self.slab[i as usize] = Some(e.event);
                i
            }
            None => {
                assert!(self.slab.len() < u32::MAX as usize, "overflow heap full");
                self.slab.push(Some(e.event));
                (self.slab.len() - 1) as u32
            }
        };
        let heap = &mut self.heap;
        heap.push((e.key, slot));
        let mut i = heap.len() - 1;
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if heap[parent].0 <= heap[i].0 {
                break;
            }
            heap.swap(i, parent);
            i = parent;
        }
        debug_assert_eq!(
            self.slab.len(),
            self.heap.len() + self.free.len(),
            "every slab slot is pending or free"
        );
    }
    fn pop(&mut self) -> Option<Entry<E>> {
        if self.heap.is_empty() {
            return None;
        }
        let (key, slot) = self.heap.swap_remove(0);
        let heap = &mut self.heap;
        let n = heap.len();
        let mut i = 0;
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let mut best = first;
            for c in first + 1..(first + ARITY).min(n) {
                if heap[c].0 < heap[best].0 {
                    best = c;
                }
            }
            if heap[best].0 >= heap[i].0 {
                break;
            }
            heap.swap(i, best);
            i = best;
        }
        let event = self.slab[slot as usize]
            .take()
            .expect("a heap entry names a full slot");
        self.free.push(slot);
        debug_assert!(
            self.peek().is_none_or(|next| next >= key),
            "the overflow heap pops its smallest key"
        );
        Some(Entry { key, event })
    }
}

/// A pending-event queue ordered by `(time, push order)`.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// The bucket being drained (it lives in wheel slot `cur % BUCKETS`, whose keys are
    /// sorted; `keys[pos..]` are its pending events).
    cur: u64,
    pos: usize,
    wheel: Vec<Bucket<E>>,
    /// Bit `i` set ⇔ wheel slot `i` holds events of a bucket after `cur`.
    occupied: [u64; WORDS],
    /// Events in wheel slots other than the current bucket's.
    on_wheel: usize,
    /// Scratch space for sorting order keys.
    scratch: Vec<u64>,
    /// Empty buckets with their allocations, reused by slots that fill up.
    spare: Vec<Bucket<E>>,
    overflow: Overflow<E>,
    seq_next: u64,
    /// The last popped time; pushes before it are bugs.
    last_time: Time,
    capacity_max: usize,
    /// The most events ever pending at once.
    len_max: usize,
}

/// The queue refused an event: `capacity_max` events are already pending.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueFull;

impl<E> EventQueue<E> {
    pub fn new(capacity_max: usize) -> Self {
        assert!(
            capacity_max > 0 && capacity_max <= CAPACITY_LIMIT,
            "queue capacity {capacity_max} out of range"
        );
        EventQueue {
            cur: 0,
            pos: 0,
            wheel: (0..BUCKETS).map(|_| Bucket::new()).collect(),
            occupied: [0; WORDS],
            on_wheel: 0,
            scratch: Vec::new(),
            spare: Vec::new(),
            overflow: Overflow::new(),
            seq_next: 0,
            last_time: Time::ZERO,
            capacity_max,
            len_max: 0,
        }
    }

    #[inline]
    fn current(&self) -> &Bucket<E> {
        &self.wheel[slot_of(self.cur)]
    }

    #[inline]
    pub fn len(&self) -> usize {
        debug_assert!(self.pos <= self.current().keys.len());
        (self.current().keys.len() - self.pos) + self.on_wheel + self.overflow.len()
    }

    /// The most events ever pending at once.
    pub fn len_max(&self) -> usize {
        self.len_max
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Schedule `event` at `time` (not before the last popped time).
    #[inline]
    pub fn push(&mut self, time: Time, event: E) -> Result<(), QueueFull> {
        assert!(
            time >= self.last_time,
            "event scheduled in the past: {time} < {}",
            self.last_time
        );
        let len = self.len();
        if len >= self.capacity_max {
            return Err(QueueFull);
        }
        self.len_max = self.len_max.max(len + 1);
        let seq = self.seq_next;
        self.seq_next += 1;
        let b = bucket_of(time);
        assert!(b >= self.cur, "event filed before the bucket being drained");
        if b - self.cur < BUCKETS as u64 {
            self.file(b, time, event);
        } else {
            self.overflow.push(Entry {
                key: key(time, seq),
                event,
            });
        }
        debug_assert_eq!(self.len(), len + 1, "a push adds one pending event");
        Ok(())
    }

    /// The bucket of wheel slot `i`, given the spare allocations if it has none.
    #[inline]
    fn slot(&mut self, i: usize) -> &mut Bucket<E> {
        let slot = &mut self.wheel[i];
        if slot.events.capacity() == 0
            && let Some(spare) = self.spare.pop()
        {
            debug_assert!(
                spare.events.is_empty() && spare.keys.is_empty(),
                "a spare in use"
            );
            *slot = spare;
        }
        slot
    }

    /// Put an event of bucket `b` (within the wheel's reach) into its slot.
    #[inline]
    fn file(&mut self, b: u64, time: Time, event: E) {
        debug_assert!(b >= self.cur && b < self.cur + BUCKETS as u64);
        let i = slot_of(b);
        let pos = self.pos;
        let is_current = b == self.cur;
        let slot = self.slot(i);
        let k = slot.push(time, event);
        if is_current {
            // The bucket being drained: the new key goes after every pending key of equal
            // time (it has a higher index), before every later time.
            let keys = &mut slot.keys;
            keys.pop();
            let at = pos + keys[pos..].partition_point(|&x| x < k);
            keys.insert(at, k);
            debug_assert!(
                at == pos || keys[at - 1..(at + 2).min(keys.len())].is_sorted(),
                "a push into the drained bucket keeps its keys sorted"
            );
        } else {
            self.occupied[i / 64] |= 1 << (i % 64);
            self.on_wheel += 1;
        }
    }

    /// The next non-empty wheel bucket after `cur`, as an absolute bucket number.
    fn next_on_wheel(&self) -> Option<u64> {
        if self.on_wheel == 0 {
            return None;
        }
        let start = slot_of(self.cur + 1);
        // At most one full turn, a word at a time.
        for step in 0..=WORDS {
            let w = (start / 64 + step) % WORDS;
            let mut bits = self.occupied[w];
            if step == 0 {
                bits &= !0u64 << (start % 64);
            }
            if bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                let ahead = (i + BUCKETS - start) % BUCKETS;
                debug_assert!(ahead < BUCKETS - 1, "a wheel bucket lies within its reach");
                return Some(self.cur + 1 + ahead as u64);
            }
        }
        unreachable!("on_wheel > 0 but no occupied bucket")
    }

    /// Move to the next bucket holding events and decide its order; false if there are
    /// none.
    fn advance(&mut self) -> bool {
        debug_assert_eq!(self.pos, self.current().keys.len());
        let next = match (self.next_on_wheel(), self.overflow.peek()) {
            (Some(w), Some(o)) => w.min(bucket_of(key_time(o))),
            (Some(w), None) => w,
            (None, Some(o)) => bucket_of(key_time(o)),
            (None, None) => return false,
        };
        debug_assert!(next > self.cur);
        // The spent bucket (all `None`) keeps a small allocation; a large one goes back to
        // the spares, so that the wheel's memory follows the events pending, not the most
        // a slot ever held.
        let spent = &mut self.wheel[slot_of(self.cur)];
        if spent.events.capacity() > KEEP_CAPACITY_MAX {
            let mut spent = std::mem::replace(spent, Bucket::new());
            spent.events.clear();
            spent.keys.clear();
            self.spare.push(spent);
        } else {
            spent.events.clear();
            spent.keys.clear();
        }
        self.cur = next;
        self.pos = 0;
        let i = slot_of(next);
        self.on_wheel -= self.wheel[i].events.len();
        self.occupied[i / 64] &= !(1 << (i % 64));
        // Events now within the wheel's reach leave the overflow heap, in key order.
        while let Some(o) = self.overflow.peek() {
            let b = bucket_of(key_time(o));
            if b >= self.cur + BUCKETS as u64 {
                break;
            }
            let e = self.overflow.pop().expect("peeked");
            let time = key_time(e.key);
            if b == self.cur {
                self.slot(i).push(time, e.event);
            } else {
                self.file(b, time, e.event);
            }
        }
        debug_assert!(
            self.overflow
                .peek()
                .is_none_or(|o| bucket_of(key_time(o)) >= self.cur + BUCKETS as u64),
            "no event within the wheel's reach is left in the overflow heap"
        );
        let slot = &mut self.wheel[i];
        assert!(!slot.keys.is_empty(), "advanced to an empty bucket");
        assert!(
            slot.keys.len() as u64 <= INDEX_MASK,
            "bucket too large to order"
        );
        sort_keys(&mut slot.keys, &mut self.scratch);
        true
    }

    /// Drop the spent entries of the current bucket once they outnumber the pending ones:
    /// the pending ones move to the front in their order, which becomes their index order.
    fn compact(&mut self) {
        let pos = self.pos;
        let slot = &mut self.wheel[slot_of(self.cur)];
        let mut kept: Vec<Option<E>> = Vec::with_capacity(slot.keys.len() - pos);
        for (index, k) in slot.keys[pos..].iter_mut().enumerate() {
            kept.push(slot.events[(*k & INDEX_MASK) as usize].take());
            *k = (*k & !INDEX_MASK) | index as u64;
        }
        slot.events = kept;
        slot.keys.drain(..pos);
        debug_assert_eq!(
            slot.events.len(),
            slot.keys.len(),
            "compaction keeps every pending event"
        );
        self.pos = 0;
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        let cur = self.current();
        if self.pos < cur.keys.len() {
            return Some(self.time_of(cur.keys[self.pos]));
        }
        let wheel_min = self.next_on_wheel().and_then(|b| {
            let keys = &self.wheel[slot_of(b)].keys;
            let k = keys.iter().map(|k| k >> INDEX_BITS).min()?;
            Some(Time((b << BUCKET_SHIFT) | k))
        });
        let next = match (wheel_min, self.overflow.peek().map(key_time)) {
            (Some(w), Some(o)) => Some(w.min(o)),
            (w, o) => w.or(o),
        };
        debug_assert!(
            next.is_none_or(|t| t >= self.last_time),
            "the next event is not past"
        );
        next
    }

    /// The time an order key of the current bucket stands for.
    #[inline]
    fn time_of(&self, k: u64) -> Time {
        Time((self.cur << BUCKET_SHIFT) | (k >> INDEX_BITS))
    }

    /// The coming events of the bucket being drained to read ahead now, in chunks of
    /// `chunk`: right after the first pop from a bucket, the next `2 × chunk − 1`; after
    /// every further `chunk` pops, the `chunk` after those. So every event of the bucket is
    /// named once, `chunk` to `2 × chunk` pops before it is popped.
    #[inline]
    pub fn coming(&self, chunk: usize) -> Option<impl Iterator<Item = &E>> {
        debug_assert!(chunk > 0);
        let popped = self.pos;
        if popped == 0 || !(popped - 1).is_multiple_of(chunk) {
            return None;
        }
        let cur = self.current();
        let from = if popped == 1 { 1 } else { popped - 1 + chunk };
        debug_assert!(from >= popped, "read-ahead names no popped event");
        let to = (popped - 1 + 2 * chunk).min(cur.keys.len());
        debug_assert!(
            to.saturating_sub(from) < 2 * chunk,
            "read ahead at most 2 × chunk − 1"
        );
        let keys = cur.keys.get(from..to).unwrap_or(&[]);
        Some(
            keys.iter()
                .filter_map(|k| cur.events[(k & INDEX_MASK) as usize].as_ref()),
        )
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let mut len = self.current().keys.len();
        if self.pos == len {
            if !self.advance() {
                return None;
            }
            len = self.current().keys.len();
        }
        if self.pos >= COMPACT_SPENT_MIN && self.pos >= len - self.pos {
            self.compact();
        }
        let i = slot_of(self.cur);
        let k = self.wheel[i].keys[self.pos];
        self.pos += 1;
        let event = self.wheel[i].events[(k & INDEX_MASK) as usize]
            .take()
            .expect("an order key names a pending event");
        let time = self.time_of(k);
        debug_assert!(
            self.wheel[i]
                .keys
                .get(self.pos)
                .is_none_or(|&next| next > k),
            "the drained bucket's pending keys follow the popped one"
        );
        assert!(time >= self.last_time, "queue order broken");
        self.last_time = time;
        Some((time, event))
    }

    /// Bytes held per pending event (inline in its bucket, and its order key).
    pub const fn bytes_per_event() -> usize {
        std::mem::size_of::<Option<E>>() + std::mem::size_of::<u64>()
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
    fn capacity_is_enforced() {
        let mut q = EventQueue::new(2);
        q.push(Time(1), 1).unwrap();
        q.push(Time(2), 2).unwrap();
        assert_eq!(q.push(Time(3), 3), Err(QueueFull));
        assert_eq!(q.pop(), Some((Time(1), 1)));
        q.push(Time(4), 4).unwrap();
        assert_eq!(q.len(), 2);
    }

    /// Interleaved pushes and pops over times from nanoseconds to minutes pop in exactly
    /// the order of a reference model (sorted by time, then push order).
    #[test]
    fn matches_a_reference_model_across_wheel_and_overflow() {
        let mut q = EventQueue::new(1 << 20);
        let mut model: std::collections::BTreeSet<(Time, u64)> = Default::default();
        let mut x = 99u64;
        let mut now = Time::ZERO;
        let mut id = 0u64;
        for round in 0..200_000u64 {
            x = sansio::mix64(x ^ round);
            if !x.is_multiple_of(3) || model.is_empty() {
                let spread = [0u64, 100, 5_000, 1_000_000, 20_000_000, 60_000_000_000]
                    [(x >> 8) as usize % 6];
                let t = now.plus_ns(if spread == 0 { 0 } else { (x >> 16) % spread });
                q.push(t, id).unwrap();
                model.insert((t, id));
                id += 1;
            } else {
                let want = model.pop_first().unwrap();
                let got = q.pop().unwrap();
                assert_eq!(got, want, "round {round}");
                now = got.0;
                assert_eq!(q.len(), model.len());
            }
        }
        while let Some(want) = model.pop_first() {
            assert_eq!(q.peek_time(), Some(want.0));
            assert_eq!(q.pop(), Some(want));
        }
        assert!(q.pop().is_none() && q.is_empty());
    }

    /// Equal times arriving from the overflow heap and from direct pushes, into the
    /// drained bucket and into later ones, still pop in push order.
    #[test]
    fn ties_keep_push_order_across_overflow_and_drain() {
        let mut q = EventQueue::new(1 << 20);
        let far = Time(20_000_000);
        // Into the overflow heap (beyond the wheel's reach), times out of push order.
        q.push(far.plus_ns(1), 0).unwrap();
        q.push(far, 1).unwrap();
        q.push(far.plus_ns(1), 2).unwrap();
        q.push(far, 3).unwrap();
        // Turn the wheel until `far` is within reach, then push more at the same times.
        q.push(Time(10_000_000), 100).unwrap();
        assert_eq!(q.pop(), Some((Time(10_000_000), 100)));
        q.push(far, 4).unwrap();
        q.push(far.plus_ns(1), 5).unwrap();
        assert_eq!(q.pop(), Some((far, 1)));
        // Into the bucket being drained.
        q.push(far, 6).unwrap();
        q.push(far.plus_ns(1), 7).unwrap();
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(rest, vec![3, 4, 6, 0, 2, 5, 7]);
    }

    /// A bucket pushed into as fast as it drains (zero-delay work) stays bounded.
    #[test]
    fn a_self_feeding_bucket_is_compacted() {
        let mut q = EventQueue::new(1 << 20);
        for i in 0..100u64 {
            q.push(Time(7), i).unwrap();
        }
        for i in 0..100_000u64 {
            assert_eq!(q.pop(), Some((Time(7), i)));
            q.push(Time(7), i + 100).unwrap();
        }
        assert!(q.wheel[slot_of(0)].events.len() <= 2 * COMPACT_SPENT_MIN + 200);
        assert_eq!(q.len(), 100);
    }

    /// `coming` names every event of a bucket but its first once, a chunk or two before it
    /// is popped.
    #[test]
    fn coming_names_each_event_once_ahead_of_its_pop() {
        let mut q = EventQueue::new(1 << 10);
        for i in 0..100u64 {
            q.push(Time(1_000 + (i * 7919) % 500), i).unwrap();
        }
        let mut named: Vec<(u64, usize)> = Vec::new();
        let mut popped: Vec<u64> = Vec::new();
        while let Some((_, e)) = q.pop() {
            popped.push(e);
            if let Some(coming) = q.coming(16) {
                named.extend(coming.map(|&c| (c, popped.len())));
            }
        }
        assert_eq!(named.len(), 99);
        for (at, e) in popped.iter().enumerate().skip(1) {
            let (_, when) = named.iter().find(|(c, _)| c == e).expect("named");
            assert!(
                at + 1 > *when && at + 1 - *when <= 32,
                "{e}: named at {when}, popped {at}"
            );
        }
    }

    #[test]
    fn many_random_pushes_pop_in_order() {
        let mut q = EventQueue::new(1 << 16);
        let mut x = 12345u64;
        let mut expected = Vec::new();
        for i in 0..10_000u64 {
            x = sansio::mix64(x);
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
