//! The network model: per-link latency, loss, duplication, reordering, size cost and
//! partitions. `transport = "tcp"` (the default, what ZooKeeper runs on) keeps every link
//! FIFO, turns a lost packet into a retransmission delay and hides duplicates; partitions
//! and crashes still drop messages. `transport = "datagram"` drops lost messages, delivers
//! duplicates, and lets a message overtake earlier ones with probability `reorder`.
//!
//! Invariants: a message is delivered at most twice (once plus one duplicate); every
//! delivery time is at most `LATENCY_NS_MAX` plus the retransmission and size delays after
//! its send time; the per-link FIFO table is only looked up, never iterated.

use crate::dist::{Latency, Probability};
use crate::partition::Partitions;
use crate::rng::Stream;
use proto::{ProcessId, Time, mix64};
use serde::{Deserialize, Serialize};
// Lookup-only tables keyed by link, with a fixed hasher; the one pass over them (pruning)
// removes entries by their own value, so hash order can never shape a run.
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
/// The FIFO table is pruned no more often than at this size.
const PRUNE_LEN_MIN: usize = 1024;
type LinkMap<V> = HashMap<u64, V, BuildHasherDefault<LinkHasher>>;

fn link_key(from: ProcessId, to: ProcessId) -> u64 {
    ((from.0 as u64) << 32) | to.0 as u64
}

/// The network's state: configuration, partitions, FIFO clamps, fault overlays, stats.
#[derive(Debug)]
pub struct Network {
    config: NetworkConfig,
    overrides: LinkMap<usize>,
    /// Per link: the last scheduled arrival. Entries in the past constrain nothing and are
    /// pruned when the table doubles, so it stays proportional to the links with messages
    /// in flight, not to every link ever used.
    last_arrival: LinkMap<Time>,
    prune_at_len: usize,
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
            overrides.insert(link_key(ProcessId(l.from), ProcessId(l.to)), i);
        }
        Network {
            config,
            overrides,
            last_arrival: LinkMap::default(),
            prune_at_len: PRUNE_LEN_MIN,
            partitions: Partitions::new(process_count),
            fault_loss: Probability::ZERO,
            calm: false,
            stats: NetworkStats::default(),
        }
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
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
        self.stats.sent += 1;
        if self.partitions.blocks(from, to) {
            self.stats.dropped_partition += 1;
            return Fate::Dropped(Drop::Partition);
        }
        let link = if self.overrides.is_empty() {
            None
        } else {
            self.overrides
                .get(&link_key(from, to))
                .map(|&i| &self.config.link[i])
        };
        let latency = link.and_then(|l| l.latency).unwrap_or(self.config.latency);
        let loss = link.and_then(|l| l.loss).unwrap_or(self.config.loss);
        let size_ns = match self.config.bandwidth_mbit_s {
            0 => 0,
            mbit => size_bytes as u64 * 8_000 / mbit,
        };
        let mut delay_ns = latency.sample_ns(rng).saturating_add(size_ns);
        let (lost, duplicated, reordered) = self.draw_faults(rng, loss);
        match self.config.transport {
            Transport::Tcp => {
                if lost {
                    self.stats.retransmitted += 1;
                    delay_ns = delay_ns.saturating_add(self.config.retransmit_us * 1_000);
                }
                Fate::Arrives {
                    at: self.clamp_fifo(now, from, to, now.plus_ns(delay_ns)),
                    dup: None,
                }
            }
            Transport::Datagram => {
                if lost {
                    self.stats.dropped_loss += 1;
                    return Fate::Dropped(Drop::Loss);
                }
                let mut at = now.plus_ns(delay_ns);
                if reordered {
                    self.stats.reordered += 1;
                } else {
                    at = self.clamp_fifo(now, from, to, at);
                }
                let dup = duplicated.then(|| {
                    self.stats.duplicated += 1;
                    now.plus_ns(latency.sample_ns(rng).saturating_add(size_ns))
                });
                Fate::Arrives { at, dup }
            }
        }
    }

    /// Loss, duplication and reordering decisions: one draw per non-zero probability, so
    /// the stream position depends only on the configuration and the faults in force.
    fn draw_faults(&self, rng: &mut Stream, loss: Probability) -> (bool, bool, bool) {
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
    fn clamp_fifo(&mut self, now: Time, from: ProcessId, to: ProcessId, at: Time) -> Time {
        if self.last_arrival.len() >= self.prune_at_len {
            // Order-independent: which entries go depends only on their own values, so the
            // table's iteration order cannot shape the run.
            self.last_arrival.retain(|_, last| *last > now);
            self.prune_at_len = (2 * self.last_arrival.len()).max(PRUNE_LEN_MIN);
        }
        let last = self
            .last_arrival
            .entry(link_key(from, to))
            .or_insert(Time::ZERO);
        let at = at.max(*last);
        *last = at;
        at
    }

    /// Links in the FIFO table (those with recent traffic).
    pub fn links_tracked(&self) -> usize {
        self.last_arrival.len()
    }

    pub fn is_tcp(&self) -> bool {
        self.config.transport == Transport::Tcp
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
