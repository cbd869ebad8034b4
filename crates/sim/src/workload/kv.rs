//! The KV workload: request generators (`crate::loadgen`) on `/k0`…, each over its own
//! session. After the heal, queued writes must commit: a generator with a write target
//! must reach it, one without must see writes answered again.

use super::{ClientProcess, Stuck, Workload, World};
use crate::keydist::{KeyDist, KeySampler};
use crate::loadgen::{Loadgen, LoadgenConfig};
use crate::scenario::{Scenario, WorkloadConfig};
use kernel::observe::Violation;
use proto::history::Event;
use proto::{NS_PER_MS, ProcessId};

pub struct Kv {
    clients: u32,
    generator: LoadgenConfig,
    /// Writes answered per client at the first liveness check (the heal).
    baseline: Option<Vec<u64>>,
}

impl Kv {
    pub fn new(s: &Scenario, servers: &[ProcessId]) -> Kv {
        let WorkloadConfig::Writes {
            clients,
            interval_ms,
            outstanding_max,
            session_timeout_ms,
            read_ratio,
            keys,
            writes_max,
            cas_ratio,
            ref key_dist,
            zipf_s,
            ..
        } = s.workload
        else {
            panic!("a KV workload needs a writes workload");
        };
        let key_dist = KeyDist::parse(key_dist).expect("validated");
        let generator = LoadgenConfig {
            servers: servers.to_vec(),
            interval_ns: interval_ms * NS_PER_MS,
            outstanding_max: outstanding_max as usize,
            session_timeout_ms: u32::try_from(session_timeout_ms).expect("validated"),
            read_ppm: read_ratio.ppm,
            cas_ppm: cas_ratio.ppm,
            // Built once: every generator (and each restart) shares the Zipf table.
            keys: KeySampler::new(key_dist, keys, zipf_s),
            writes_max,
        };
        Kv {
            clients,
            generator,
            baseline: None,
        }
    }
}

/// Writes of a generator the ensemble answered with a committed outcome: acknowledged, or
/// a compare-and-set that lost its race (BadVersion is decided by the leader and committed
/// as an error txn, so it proves the write path works as much as a success does).
fn answered(world: &World<'_>, pid: ProcessId) -> u64 {
    world
        .client::<Loadgen>(pid)
        .map_or(0, |g| g.stats.writes_acked + g.stats.cas_bad_version)
}

impl Workload for Kv {
    fn clients(&self) -> u32 {
        self.clients
    }

    fn role(&self, index: u32) -> &'static str {
        assert!(index < self.clients);
        "client"
    }

    fn client(&self, index: u32) -> Box<dyn ClientProcess> {
        assert!(index < self.clients);
        Box::new(Loadgen::new(self.generator.clone()))
    }

    fn liveness(&mut self, world: &World<'_>, stuck: &mut Stuck) {
        assert_eq!(world.clients.len(), self.clients as usize);
        let baseline = self
            .baseline
            .get_or_insert_with(|| world.clients.iter().map(|&c| answered(world, c)).collect());
        for (i, &c) in world.clients.iter().enumerate() {
            let Some(g) = world.client::<Loadgen>(c) else {
                continue;
            };
            if g.wants_writes() && g.has_write_target() {
                stuck.push(c, || {
                    format!(
                        "{} of {} writes acknowledged ({})",
                        g.stats.writes_acked,
                        g.writes_max(),
                        g.describe()
                    )
                });
            } else if !g.has_write_target() && answered(world, c) <= baseline[i] {
                stuck.push(c, || {
                    format!("no write answered (acknowledged, or a lost compare-and-set race) since the heal ({})", g.describe())
                });
            }
        }
    }

    fn judge(&self, _history: &[Event], _figures: &mut Vec<(String, u64)>) -> Option<Violation> {
        None // ZooKeeper's consistency and watch checks are the KV workload's whole contract
    }
}
