//! The network model: per-link latency, loss, duplication, reordering, size cost and
//! partitions. `transport = "tcp"` (the default, what ZooKeeper runs on) keeps every link
//! FIFO, turns a lost packet into a retransmission delay and hides duplicates; partitions
//! and crashes still drop messages. `transport = "datagram"` drops lost messages, delivers
//! duplicates, and lets a message overtake earlier ones with probability `reorder`.
//!
//! The FIFO clamp keeps, per sender, the last arrival on each of its links with messages in
//! flight: a few inline in two cache lines, the rest in a small hash table (see
//! `SenderFifo`, `FifoTable`), so a send reads the sender's state only.
//!
//! Invariants: a message is delivered at most twice (once plus one duplicate); every
//! delivery time is at most `LATENCY_NS_MAX` plus the retransmission and size delays after
//! its send time; FIFO state answers per link and never depends on where an entry sits
//! (tables are rebuilt from their own entries' values, never iterated to decide anything
//! else).

use crate::dist::{Latency, Probability, Sampler};
use crate::partition::Partitions;
use crate::rng::Stream;
use sansio::{ProcessId, Time, mix64};
use serde::{Deserialize, Serialize};
// The per-link override table is lookup-only, with a fixed hasher.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    #[default]
    Tcp,
    Datagram,
}

/// A per-link override of the network defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    pub from: u32,
    pub to: u32,
    #[serde(default)]
    pub latency: Option<Latency>,
    #[serde(default)]
    pub loss: Option<Probability>,
}

/// The `[network]` section of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    pub transport: Transport,
    pub latency: Latency,
    pub loss: Probability,
    pub duplicate: Probability,
    pub reorder: Probability,
    /// Extra delay of a lost packet under TCP (one retransmission timeout).
    pub retransmit_us: u64,
    /// Link bandwidth for the size cost; 0 = unlimited.
    pub bandwidth_mbit_s: u64,
    /// Per-link overrides (`[[network.link]]`).
    pub link: Vec<LinkConfig>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            transport: Transport::Tcp,
            latency: Latency::default(),
            loss: Probability::ZERO,
            duplicate: Probability::ZERO,
            reorder: Probability::ZERO,
            retransmit_us: 200_000,
            bandwidth_mbit_s: 0,
            link: Vec::new(),
        }
    }
}

/// Why a message was not delivered.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Drop {
    Loss,
    Partition,
    Dead,
}

/// Counters of what the network did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NetworkStats {
    pub sent: u64,
    pub delivered: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub retransmitted: u64,
    pub dropped_loss: u64,
    pub dropped_partition: u64,
    pub dropped_dead: u64,
}

impl NetworkStats {
    pub fn count_drop(&mut self, why: Drop) {
        match why {
            Drop::Loss => self.dropped_loss += 1,
            Drop::Partition => self.dropped_partition += 1,
            Drop::Dead => self.dropped_dead += 1,
        }
    }
}

/// A fixed, seedless hasher for lookup-only tables (never iterated).
#[derive(Default)]
pub struct LinkHasher(u64);
impl Hasher for LinkHasher {
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix64(self.0 ^ v);
    }
}
/// Per-link state looked up by key, never iterated: its order cannot shape a run.
type LinkMap<V> = HashMap<u64, V, BuildHasherDefault<LinkHasher>>;

fn link_key(from: ProcessId, to: ProcessId) -> u64 {
    ((from.0 as u64) << 32) | to.0 as u64
}

/// The network's state: configuration, partitions, FIFO clamps, fault overlays, stats.
#[derive(Debug)]
pub struct Network {
    config: NetworkConfig,
    /// `config.latency`, compiled.
    latency: Sampler,
    /// Per-link overrides: index into `config.link` and its compiled latency, if any.
    overrides: LinkMap<(usize, Option<Sampler>)>,
    /// Per sending process, per destination: the last scheduled arrival, for the FIFO
    /// clamp. Kept per sender because a sender's state is what the kernel can read ahead of
    /// a send (the sender is the process that runs), unlike a random destination's: its
    /// few latest links inline in two cache lines (`SenderFifo`), the rest in its spill
    /// table (`FifoTable`), consulted only while a spilled link may still be in flight.
    senders: Vec<SenderFifo>,
    spill: Vec<FifoTable>,
    /// Scratch space for rebuilding a FIFO table.
    fifo_scratch: Vec<(u64, Time)>,
    pub partitions: Partitions,
    /// Extra loss from an active `loss` fault (applies on top of the configured loss).
    pub fault_loss: Probability,
    /// Set in the liveness phase: no random loss, duplication or reordering.
    pub calm: bool,
    pub stats: NetworkStats,
}

/// The arrival times of one send: none (dropped), one, or one plus a duplicate.
#[derive(Debug, PartialEq, Eq)]
pub enum Fate {
    Dropped(Drop),
    /// Arrival time and the arrival time of a duplicate, if any (never FIFO-clamped).
    Arrives {
        at: Time,
        dup: Option<Time>,
    },
}

impl Network {
    pub fn new(config: NetworkConfig, process_count: usize) -> Network {
        let mut overrides = LinkMap::default();
        for (i, l) in config.link.iter().enumerate() {
            let sampler = l.latency.as_ref().map(Sampler::new);
            overrides.insert(link_key(ProcessId(l.from), ProcessId(l.to)), (i, sampler));
        }
        Network {
            latency: Sampler::new(&config.latency),
            config,
            overrides,
            senders: vec![SenderFifo::EMPTY; process_count],
            spill: (0..process_count).map(|_| FifoTable::empty()).collect(),
            fifo_scratch: Vec::new(),
            partitions: Partitions::new(process_count),
            fault_loss: Probability::ZERO,
            calm: false,
            stats: NetworkStats::default(),
        }
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// The default latency, compiled.
    pub fn latency(&self) -> &Sampler {
        &self.latency
    }

    /// Decide the fate of a message of `size_bytes` sent at `now`. Draws a fixed number of
    /// words per call for a given configuration.
    pub fn send(
        &mut self,
        rng: &mut Stream,
        now: Time,
        from: ProcessId,
        to: ProcessId,
        size_bytes: u32,
    ) -> Fate {
        assert!(
            from.index() < self.senders.len() && to.index() < self.senders.len(),
            "a send from {from} to {to}, out of range"
        );
        self.stats.sent += 1;
        if self.partitions.blocks(from, to) {
            self.stats.dropped_partition += 1;
            return Fate::Dropped(Drop::Partition);
        }
        let (latency, loss) = if self.overrides.is_empty() {
            (&self.latency, self.config.loss)
        } else {
            match self.overrides.get(&link_key(from, to)) {
                Some((i, sampler)) => (
                    sampler.as_ref().unwrap_or(&self.latency),
                    self.config.link[*i].loss.unwrap_or(self.config.loss),
                ),
                None => (&self.latency, self.config.loss),
            }
        };
        let size_ns = match self.config.bandwidth_mbit_s {
            0 => 0,
            mbit => size_bytes as u64 * 8_000 / mbit,
        };
        let mut delay_ns = latency.sample_ns(rng).saturating_add(size_ns);
        let (lost, duplicated, reordered) = self.draw_faults(rng, loss);
        debug_assert!(
            !self.calm || !(lost || duplicated || reordered),
            "a calm network loses, duplicates and reorders nothing"
        );
        match self.config.transport {
            Transport::Tcp => {
                if lost {
                    self.stats.retransmitted += 1;
                    delay_ns = delay_ns.saturating_add(self.config.retransmit_us * 1_000);
                }
                let unclamped = now.plus_ns(delay_ns);
                let at = self.clamp_fifo(now, from, to, unclamped);
                debug_assert!(at >= unclamped, "the FIFO clamp delivers no earlier");
                Fate::Arrives { at, dup: None }
            }
            Transport::Datagram => {
                if lost {
                    self.stats.dropped_loss += 1;
                    return Fate::Dropped(Drop::Loss);
                }
                // The duplicate's latency is drawn before the clamp (which draws nothing).
                let dup =
                    duplicated.then(|| now.plus_ns(latency.sample_ns(rng).saturating_add(size_ns)));
                if dup.is_some() {
                    self.stats.duplicated += 1;
                }
                debug_assert!(
                    dup.is_none_or(|d| d >= now),
                    "a duplicate arrives before its send"
                );
                let mut at = now.plus_ns(delay_ns);
                if reordered {
                    self.stats.reordered += 1;
                } else {
                    let clamped = self.clamp_fifo(now, from, to, at);
                    debug_assert!(clamped >= at, "the FIFO clamp delivers no earlier");
                    at = clamped;
                }
                Fate::Arrives { at, dup }
            }
        }
    }

    /// Loss, duplication and reordering decisions: one draw per non-zero probability, so
    /// the stream position depends only on the configuration and the faults in force.
    #[inline]
    fn draw_faults(&self, rng: &mut Stream, loss: Probability) -> (bool, bool, bool) {
        let any =
            loss.ppm | self.fault_loss.ppm | self.config.duplicate.ppm | self.config.reorder.ppm;
        if any == 0 {
            // No probability to draw for (and so no draw taken, as below).
            return (false, false, false);
        }
        let mut chance = |p: Probability| p.ppm > 0 && rng.chance_ppm(p.ppm);
        let lost_base = chance(loss);
        let lost_fault = chance(self.fault_loss);
        let dup = chance(self.config.duplicate);
        let reorder = chance(self.config.reorder);
        if self.calm {
            return (false, false, false);
        }
        (lost_base || lost_fault, dup, reorder)
    }

    /// Deliver no earlier than the previous message on the same link.
    #[inline]
    fn clamp_fifo(&mut self, now: Time, from: ProcessId, to: ProcessId, at: Time) -> Time {
        debug_assert!(at >= now && to.0 != FIFO_LINK_EMPTY);
        let s = &mut self.senders[from.index()];
        let mut free = None;
        for i in 0..SENDER_LINKS {
            if s.to[i] == to.0 {
                let at = at.max(s.last[i]);
                s.last[i] = at;
                return at;
            }
            // An empty slot's arrival is zero, so it is free too.
            if free.is_none() && s.last[i] <= now {
                free = Some(i);
            }
        }
        let spill = &mut self.spill[from.index()];
        let filter_bit = to.0 as usize % SPILL_FILTER_BITS;
        let (word, bit) = (filter_bit / 64, 1u64 << (filter_bit % 64));
        if now >= s.spilled_until {
            // Every spilled link has arrived: none constrains anything.
            s.spilled_mask = [0; SPILL_FILTER_WORDS];
        } else if s.spilled_mask[word] & bit != 0
            && let Some(at) = spill.clamp_existing(to.0 as u64, at)
        {
            s.spilled_until = s.spilled_until.max(at);
            return at;
        }
        // Not in flight on this link: nothing to wait for.
        match free {
            Some(i) => {
                s.to[i] = to.0;
                s.last[i] = at;
            }
            None => {
                spill.clamp(now, to.0 as u64, at, &mut self.fifo_scratch);
                s.spilled_until = s.spilled_until.max(at);
                s.spilled_mask[word] |= bit;
            }
        }
        at
    }

    /// Read the state a send from `from` will use, so that it is in cache by then (the
    /// kernel calls this a few events ahead; it changes nothing).
    #[inline]
    pub fn touch_sender(&self, from: ProcessId) {
        let s = &self.senders[from.index()];
        std::hint::black_box((s.to[0], s.spilled_until));
    }

    /// Links in the FIFO tables (those with recent traffic).
    pub fn links_tracked(&self) -> usize {
        let inline: usize = self
            .senders
            .iter()
            .map(|s| s.to.iter().filter(|&&t| t != FIFO_LINK_EMPTY).count())
            .sum();
        let spilled: usize = self
            .spill
            .iter()
            .map(|t| t.slots.iter().filter(|s| s.0 != FIFO_EMPTY).count())
            .sum();
        inline + spilled
    }

    pub fn is_tcp(&self) -> bool {
        self.config.transport == Transport::Tcp
    }
}

/// Links a sender keeps inline. With the spill filter, a sender's state is two cache lines.
/// Measured on the relay bench (ns/event at 10 / 100 / 1,000 / 10,000 processes): 9 links
/// and a 64-bit filter 88 / 100 / 170 / 156; 8 links and a 192-bit filter 86 / 98 / 132 /
/// 124 — at 1,000 processes (~20 links in flight per sender) most sends go to a link not
/// inline, and a sparser filter spares them the spill table's probe; 7 links and 256 bits
/// 86 / 100 / 186 / 152; 25 links (five lines) 104 / 122 / 126 / 232.
const SENDER_LINKS: usize = 8;
/// Words of a sender's spill filter (see `SENDER_LINKS`).
const SPILL_FILTER_WORDS: usize = 3;
const SPILL_FILTER_BITS: usize = 64 * SPILL_FILTER_WORDS;
/// Marks an empty inline link.
const FIFO_LINK_EMPTY: u32 = u32::MAX;

/// A sender's latest links and their last arrivals, in two cache lines.
#[derive(Copy, Clone, Debug)]
#[repr(C, align(64))]
struct SenderFifo {
    to: [u32; SENDER_LINKS],
    last: [Time; SENDER_LINKS],
    /// No link in this sender's spill table has an arrival after this.
    spilled_until: Time,
    /// Bit `to % SPILL_FILTER_BITS` is set for every destination `to` spilled since the
    /// spill table last held nothing in flight (a filter: a clear bit means "not spilled").
    spilled_mask: [u64; SPILL_FILTER_WORDS],
}

const _: () = assert!(std::mem::size_of::<SenderFifo>() == 128, "two cache lines");

impl SenderFifo {
    const EMPTY: SenderFifo = SenderFifo {
        to: [FIFO_LINK_EMPTY; SENDER_LINKS],
        last: [Time::ZERO; SENDER_LINKS],
        spilled_until: Time::ZERO,
        spilled_mask: [0; SPILL_FILTER_WORDS],
    };
}

/// A FIFO clamp table: per link (in the network, one table per sender keyed by the
/// destination), the latest arrival scheduled on it. An entry whose arrival is not after
/// `now` constrains nothing, so it counts as absent and its slot is reused.
///
/// Small tables (at most `FIFO_SCAN_SLOTS` slots, one or two cache lines) are scanned:
/// a key may sit in any slot. Larger ones use open addressing with linear probing over a
/// power-of-two array, hashed by a fixed multiplication, and are rebuilt from their live
/// entries when their used slots pass `FIFO_LOAD_PCT` (growing, staying or — only when
/// four times too large — shrinking), so a table stays proportional to its links with
/// messages in flight, not to every link ever used.
///
/// What a lookup answers depends only on the links' own values, never on where they sit:
/// the layout (and the order of the rebuild's pass) cannot shape a run.
#[derive(Debug)]
struct FifoTable {
    slots: Vec<(u64, Time)>,
    /// Slots holding an entry, live or expired (hashed tables).
    used: usize,
}

/// Marks an empty slot (keys are process ids, or link keys with ids below 2^24 in both
/// halves).
const FIFO_EMPTY: u64 = u64::MAX;
/// Tables this small are scanned rather than hashed.
const FIFO_SCAN_SLOTS: usize = 8;
/// Rebuild a hashed table once more than this share of its slots is used.
const FIFO_LOAD_PCT: usize = 70;
/// A bound: links with messages in flight at once in one sender's table, at most. Never
/// reached: a sender has a link to each other process, and a run has at most
/// `PROCESSES_MAX` (the loader's bound; checked at compile time below).
pub const FIFO_LINKS_MAX: usize = 1 << 28;
const _: () = assert!(crate::sim::PROCESSES_MAX as usize <= FIFO_LINKS_MAX);

impl FifoTable {
    #[cfg(test)]
    fn new() -> FifoTable {
        FifoTable {
            slots: vec![(FIFO_EMPTY, Time::ZERO); FIFO_SCAN_SLOTS],
            used: 0,
        }
    }

    /// A table without slots (allocated at the first insertion).
    fn empty() -> FifoTable {
        FifoTable {
            slots: Vec::new(),
            used: 0,
        }
    }

    /// If `key` has an entry: `max(at, its last arrival)`, which becomes its last arrival.
    fn clamp_existing(&mut self, key: u64, at: Time) -> Option<Time> {
        let i = if self.slots.len() <= FIFO_SCAN_SLOTS {
            self.slots.iter().position(|s| s.0 == key)?
        } else {
            let mask = self.slots.len() - 1;
            let mut i = self.home(key);
            loop {
                match self.slots[i].0 {
                    k if k == key => break i,
                    FIFO_EMPTY => return None,
                    _ => i = (i + 1) & mask,
                }
            }
        };
        let at = at.max(self.slots[i].1);
        self.slots[i].1 = at;
        Some(at)
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        // Fibonacci hashing: the top bits of the product.
        debug_assert!(self.slots.len().is_power_of_two() && self.slots.len() > FIFO_SCAN_SLOTS);
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
    }

    /// `max(at, last arrival of key)`, which becomes the key's last arrival.
    #[inline]
    fn clamp(&mut self, now: Time, key: u64, at: Time, scratch: &mut Vec<(u64, Time)>) -> Time {
        debug_assert_ne!(key, FIFO_EMPTY);
        debug_assert!(at >= now);
        if self.slots.is_empty() {
            self.slots = vec![(FIFO_EMPTY, Time::ZERO); FIFO_SCAN_SLOTS];
        }
        if self.slots.len() <= FIFO_SCAN_SLOTS {
            return self.clamp_scan(now, key, at, scratch);
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        let mut reusable = None;
        loop {
            let (k, last) = self.slots[i];
            if k == key {
                let at = at.max(last);
                self.slots[i].1 = at;
                return at;
            }
            if k == FIFO_EMPTY {
                break;
            }
            if reusable.is_none() && last <= now {
                reusable = Some(i);
            }
            i = (i + 1) & mask;
        }
        // Not present (or expired and overwritten since): nothing to wait for.
        match reusable {
            Some(r) => self.slots[r] = (key, at),
            None => {
                self.slots[i] = (key, at);
                self.used += 1;
                if self.used * 100 > self.slots.len() * FIFO_LOAD_PCT {
                    self.rebuild(now, None, scratch);
                }
            }
        }
        // The load bound leaves an empty slot, which ends every probe.
        debug_assert!(self.used * 100 <= self.slots.len() * FIFO_LOAD_PCT);
        at
    }

    fn clamp_scan(
        &mut self,
        now: Time,
        key: u64,
        at: Time,
        scratch: &mut Vec<(u64, Time)>,
    ) -> Time {
        let mut reusable = None;
        for (i, &(k, last)) in self.slots.iter().enumerate() {
            if k == key {
                let at = at.max(last);
                self.slots[i].1 = at;
                return at;
            }
            if reusable.is_none() && (k == FIFO_EMPTY || last <= now) {
                reusable = Some(i);
            }
        }
        match reusable {
            Some(r) => self.slots[r] = (key, at),
            // Every slot holds a live link: grow into a hashed table.
            None => self.rebuild(now, Some((key, at)), scratch),
        }
        at
    }

    /// Re-lay the table from its live entries (plus `extra`), at a size with at least 4
    /// slots per entry. In place when the size stays, through `scratch`: no allocation in
    /// the steady state.
    fn rebuild(&mut self, now: Time, extra: Option<(u64, Time)>, scratch: &mut Vec<(u64, Time)>) {
        scratch.clear();
        scratch.extend(
            self.slots
                .iter()
                .filter(|&&(k, last)| k != FIFO_EMPTY && last > now),
        );
        scratch.extend(extra);
        let live = scratch.len();
        assert!(
            live <= FIFO_LINKS_MAX,
            "more than {FIFO_LINKS_MAX} links with messages in flight"
        );
        let fit = (live * 4).next_power_of_two();
        let len = if fit > self.slots.len() || fit * 4 <= self.slots.len() {
            fit.max(FIFO_SCAN_SLOTS)
        } else {
            self.slots.len()
        };
        if len == self.slots.len() {
            self.slots.fill((FIFO_EMPTY, Time::ZERO));
        } else {
            self.slots = vec![(FIFO_EMPTY, Time::ZERO); len];
        }
        self.used = live;
        debug_assert!(live * 4 <= len, "a rebuilt table is at most a quarter full");
        if len <= FIFO_SCAN_SLOTS {
            self.slots[..live].copy_from_slice(scratch);
            return;
        }
        let mask = len - 1;
        for &(key, last) in scratch.iter() {
            let mut i = self.home(key);
            while self.slots[i].0 != FIFO_EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = (key, last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::Shape;
    use crate::rng::Purpose;

    fn net(config: NetworkConfig) -> (Network, Stream) {
        (Network::new(config, 4), Stream::new(9, Purpose::Network))
    }

    #[test]
    fn datagram_loss_rate_within_bounds_over_100k() {
        let (mut n, mut rng) = net(NetworkConfig {
            transport: Transport::Datagram,
            loss: Probability::from_ppm(10_000),
            ..Default::default()
        });
        let dropped = (0..100_000)
            .filter(|_| {
                matches!(
                    n.send(&mut rng, Time(0), ProcessId(0), ProcessId(1), 100),
                    Fate::Dropped(Drop::Loss)
                )
            })
            .count();
        // Binomial(100k, 1%): mean 1000, sd ≈ 31.5; ±6 sd.
        assert!((811..=1189).contains(&dropped), "dropped {dropped}");
        assert_eq!(n.stats.dropped_loss, dropped as u64);
    }

    #[test]
    fn datagram_duplication_rate_within_bounds() {
        let (mut n, mut rng) = net(NetworkConfig {
            transport: Transport::Datagram,
            duplicate: Probability::from_ppm(50_000),
            ..Default::default()
        });
        let dups = (0..100_000)
            .filter(|_| {
                matches!(
                    n.send(&mut rng, Time(0), ProcessId(0), ProcessId(1), 1),
                    Fate::Arrives { dup: Some(_), .. }
                )
            })
            .count();
        // Binomial(100k, 5%): sd ≈ 69; ±6 sd.
        assert!((4_586..=5_414).contains(&dups), "dups {dups}");
    }

    #[test]
    fn tcp_turns_loss_into_delay_and_stays_fifo() {
        let (mut n, mut rng) = net(NetworkConfig {
            loss: Probability::from_ppm(100_000),
            latency: Latency::Uniform {
                min_us: 100,
                max_us: 2_000,
            },
            ..Default::default()
        });
        let mut last = Time::ZERO;
        let mut slow = 0;
        for i in 0..10_000u64 {
            match n.send(&mut rng, Time(i * 1_000), ProcessId(2), ProcessId(3), 10) {
                Fate::Arrives { at, dup: None, .. } => {
                    assert!(at >= last, "FIFO broken");
                    if at.since_ns(Time(i * 1_000)) >= 200_000_000 {
                        slow += 1;
                    }
                    last = at;
                }
                other => panic!("tcp must deliver exactly once: {other:?}"),
            }
        }
        assert_eq!(
            n.stats.retransmitted as usize,
            slow.min(n.stats.retransmitted as usize)
        );
        assert!(
            (800..=1200).contains(&n.stats.retransmitted),
            "{}",
            n.stats.retransmitted
        );
    }

    #[test]
    fn datagram_reorder_lets_messages_overtake() {
        let config = NetworkConfig {
            transport: Transport::Datagram,
            latency: Latency::Uniform {
                min_us: 0,
                max_us: 1_000,
            },
            ..Default::default()
        };
        let count_inversions = |config: NetworkConfig| {
            let (mut n, mut rng) = net(config);
            let mut arrivals = Vec::new();
            for i in 0..1_000u64 {
                if let Fate::Arrives { at, .. } =
                    n.send(&mut rng, Time(i * 10), ProcessId(0), ProcessId(1), 1)
                {
                    arrivals.push(at);
                }
            }
            arrivals.windows(2).filter(|w| w[1] < w[0]).count()
        };
        assert_eq!(count_inversions(config.clone()), 0);
        assert!(
            count_inversions(NetworkConfig {
                reorder: Probability::from_ppm(500_000),
                ..config
            }) > 100
        );
    }

    #[test]
    fn size_cost_and_link_override() {
        let (mut n, mut rng) = net(NetworkConfig {
            latency: Latency::Constant { us: 10 },
            bandwidth_mbit_s: 8,
            link: vec![LinkConfig {
                from: 0,
                to: 1,
                latency: Some(Latency::Constant { us: 500 }),
                loss: None,
            }],
            ..Default::default()
        });
        // 1000 bytes at 8 Mbit/s = 1 ms.
        assert_eq!(
            n.send(&mut rng, Time(0), ProcessId(2), ProcessId(3), 1_000),
            Fate::Arrives {
                at: Time(1_010_000),
                dup: None
            }
        );
        assert_eq!(
            n.send(&mut rng, Time(0), ProcessId(0), ProcessId(1), 0),
            Fate::Arrives {
                at: Time(500_000),
                dup: None
            }
        );
    }

    #[test]
    fn partition_drops_only_cut_direction() {
        let (mut n, mut rng) = net(NetworkConfig::default());
        n.partitions.add(Shape::OneWay {
            from: vec![ProcessId(0)],
            to: vec![ProcessId(1)],
        });
        assert_eq!(
            n.send(&mut rng, Time(0), ProcessId(0), ProcessId(1), 1),
            Fate::Dropped(Drop::Partition)
        );
        assert!(matches!(
            n.send(&mut rng, Time(0), ProcessId(1), ProcessId(0), 1),
            Fate::Arrives { .. }
        ));
    }

    /// The FIFO table answers exactly as a map that never forgets, over many links, times
    /// and rebuilds.
    #[test]
    fn fifo_table_matches_a_map() {
        let mut table = FifoTable::new();
        let mut scratch = Vec::new();
        let mut model: std::collections::BTreeMap<u64, Time> = Default::default();
        let mut x = 5u64;
        let mut now = Time::ZERO;
        for round in 0..400_000u64 {
            x = mix64(x ^ round);
            now = now.plus_ns(x % 3);
            // Scanned, hashed, large, then few links again (at a time gap: all expired).
            let links = [4u64, 64, 5_000, 3][(round / 100_000) as usize];
            if round == 300_000 {
                now = now.plus_ns(10_000);
            }
            let link = link_key(ProcessId(((x >> 8) % links) as u32), ProcessId(7));
            let at = now.plus_ns((x >> 32) % 2_000);
            let last = model.entry(link).or_insert(Time::ZERO);
            let want = at.max(*last);
            *last = want;
            assert_eq!(
                table.clamp(now, link, at, &mut scratch),
                want,
                "round {round}"
            );
        }
        assert!(table.slots.len() <= 4 * 8192, "{}", table.slots.len());
    }

    /// The per-sender FIFO state (inline links plus the spill table) answers exactly as a
    /// map of every link that never forgets, for few and many destinations per sender.
    #[test]
    fn sender_fifo_matches_a_map() {
        let mut n = Network::new(NetworkConfig::default(), 400);
        let mut model: std::collections::BTreeMap<(u32, u32), Time> = Default::default();
        let mut x = 11u64;
        let mut now = Time::ZERO;
        for round in 0..400_000u64 {
            x = mix64(x ^ round);
            now = now.plus_ns(x % 4);
            let dests = [3u64, 6, 40, 399][(round / 100_000) as usize];
            let from = ((x >> 8) % 3) as u32;
            let to = 3 + ((x >> 16) % dests) as u32;
            let at = now.plus_ns((x >> 32) % 3_000);
            let last = model.entry((from, to)).or_insert(Time::ZERO);
            let want = at.max(*last);
            *last = want;
            let got = n.clamp_fifo(now, ProcessId(from), ProcessId(to), at);
            assert_eq!(got, want, "round {round}");
        }
        assert!(n.links_tracked() > 0);
    }

    #[test]
    fn calm_network_never_loses() {
        let (mut n, mut rng) = net(NetworkConfig {
            transport: Transport::Datagram,
            loss: Probability::from_ppm(1_000_000),
            ..Default::default()
        });
        n.calm = true;
        assert!(matches!(
            n.send(&mut rng, Time(0), ProcessId(0), ProcessId(1), 1),
            Fate::Arrives { dup: None, .. }
        ));
    }
}
