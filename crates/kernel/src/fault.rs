//! Faults as data: what the nemesis can do to a run, in the form a scenario script writes
//! them (`kind = "crash"`, `target = 2`, …) and, after random choices are resolved, the
//! form the kernel applies. A resolved fault names nodes by index into the fault targets
//! (servers and observers) or as "the current leader"; it holds no random choice left.

use crate::disk::CrashMode;
use crate::dist::Probability;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which node a fault hits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Index into the fault targets (0-based).
    Node(u32),
    /// Whichever node leads when the fault is applied (none leading: no effect).
    Leader,
    /// A node drawn from the fault stream when the schedule is built.
    Random,
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Target;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a node index (0-based), \"leader\" or \"random\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Target, E> {
                u32::try_from(v)
                    .map(Target::Node)
                    .map_err(|_| E::custom(format!("node index {v} is negative or too large")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Target, E> {
                u32::try_from(v)
                    .map(Target::Node)
                    .map_err(|_| E::custom(format!("node index {v} is too large")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Target, E> {
                match v {
                    "leader" => Ok(Target::Leader),
                    "random" => Ok(Target::Random),
                    other => Err(E::custom(format!(
                        "unknown target `{other}`, expected a node index, `leader` or `random`"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Target::Node(i) => s.serialize_u32(*i),
            Target::Leader => s.serialize_str("leader"),
            Target::Random => s.serialize_str("random"),
        }
    }
}

fn random_target() -> Target {
    Target::Random
}

/// One fault. Durations are in milliseconds as written in scenarios; `None` where a random
/// choice is left to the schedule builder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// Stop a node; it loses what it did not fsync (or, with `tear`, part of it is torn).
    /// It restarts after `restart_after_ms`, or at the heal before the liveness phase.
    Crash {
        #[serde(default = "random_target")]
        target: Target,
        #[serde(default)]
        restart_after_ms: Option<u64>,
        #[serde(default)]
        tear: bool,
    },
    /// Start a crashed node again from its disk.
    Restart {
        #[serde(default = "random_target")]
        target: Target,
    },
    /// Stop the world for one node; its messages and timers wait and run late.
    Pause {
        #[serde(default = "random_target")]
        target: Target,
        duration_ms: u64,
    },
    /// Set a node's clock drift (parts per million; + runs fast).
    ClockDrift {
        #[serde(default = "random_target")]
        target: Target,
        drift_ppm: i64,
    },
    /// Jump a node's clock by `jump_ms` (negative: backwards).
    ClockJump {
        #[serde(default = "random_target")]
        target: Target,
        jump_ms: i64,
    },
    /// Multiply a node's fsync latency by `factor` for a while.
    DiskSlow {
        #[serde(default = "random_target")]
        target: Target,
        factor: u32,
        duration_ms: u64,
    },
    /// Extra message loss on every link for a while.
    Loss { rate: Probability, duration_ms: u64 },
    /// Split the targets in two: `side` (random when absent) against the rest.
    PartitionHalves {
        #[serde(default)]
        side: Option<Vec<u32>>,
        duration_ms: u64,
    },
    /// Cut one node (or the leader) off from everyone.
    PartitionIsolate {
        #[serde(default = "random_target")]
        target: Target,
        duration_ms: u64,
    },
    /// Two halves joined only through one bridge node (random layout when absent).
    PartitionBridge {
        #[serde(default)]
        a: Option<Vec<u32>>,
        #[serde(default)]
        b: Option<Vec<u32>>,
        #[serde(default)]
        bridge: Option<u32>,
        duration_ms: u64,
    },
    /// Messages from `from` to `to` are dropped, the reverse still flows (random when absent).
    PartitionOneWay {
        #[serde(default)]
        from: Option<Vec<u32>>,
        #[serde(default)]
        to: Option<Vec<u32>>,
        duration_ms: u64,
    },
    /// Each target talks only to its two neighbours in a ring (random order when absent).
    PartitionRing {
        #[serde(default)]
        ring: Option<Vec<u32>>,
        duration_ms: u64,
    },
    /// End every partition, loss burst and disk slow-down now.
    Heal,
}

/// The kinds, by name, for nemesis configuration and swarm choices.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Crash,
    Pause,
    ClockDrift,
    ClockJump,
    DiskSlow,
    Loss,
    PartitionHalves,
    PartitionIsolate,
    PartitionIsolateLeader,
    PartitionBridge,
    PartitionOneWay,
    PartitionRing,
    CrashLeader,
}

impl FaultKind {
    pub const ALL: [FaultKind; 13] = [
        FaultKind::Crash,
        FaultKind::Pause,
        FaultKind::ClockDrift,
        FaultKind::ClockJump,
        FaultKind::DiskSlow,
        FaultKind::Loss,
        FaultKind::PartitionHalves,
        FaultKind::PartitionIsolate,
        FaultKind::PartitionIsolateLeader,
        FaultKind::PartitionBridge,
        FaultKind::PartitionOneWay,
        FaultKind::PartitionRing,
        FaultKind::CrashLeader,
    ];
}

impl Fault {
    /// The fault's duration, if it has one.
    pub fn duration_ms(&self) -> Option<u64> {
        match self {
            Fault::Pause { duration_ms, .. }
            | Fault::DiskSlow { duration_ms, .. }
            | Fault::Loss { duration_ms, .. }
            | Fault::PartitionHalves { duration_ms, .. }
            | Fault::PartitionIsolate { duration_ms, .. }
            | Fault::PartitionBridge { duration_ms, .. }
            | Fault::PartitionOneWay { duration_ms, .. }
            | Fault::PartitionRing { duration_ms, .. } => Some(*duration_ms),
            _ => None,
        }
    }

    /// The single target, for faults that hit one node.
    pub fn target(&self) -> Option<Target> {
        self.clone().target_mut().copied()
    }

    /// The single target, to resolve in place.
    pub fn target_mut(&mut self) -> Option<&mut Target> {
        match self {
            Fault::Crash { target, .. }
            | Fault::Restart { target }
            | Fault::Pause { target, .. }
            | Fault::ClockDrift { target, .. }
            | Fault::ClockJump { target, .. }
            | Fault::DiskSlow { target, .. }
            | Fault::PartitionIsolate { target, .. } => Some(target),
            _ => None,
        }
    }

    /// Every node index the fault names explicitly (for range checks).
    pub fn named_nodes(&self) -> Vec<u32> {
        let mut v: Vec<u32> = match self.target() {
            Some(Target::Node(i)) => vec![i],
            _ => Vec::new(),
        };
        let lists: Vec<&Option<Vec<u32>>> = match self {
            Fault::PartitionHalves { side, .. } => vec![side],
            Fault::PartitionBridge { a, b, .. } => vec![a, b],
            Fault::PartitionOneWay { from, to, .. } => vec![from, to],
            Fault::PartitionRing { ring, .. } => vec![ring],
            _ => Vec::new(),
        };
        for list in lists.into_iter().flatten() {
            v.extend(list);
        }
        if let Fault::PartitionBridge {
            bridge: Some(b), ..
        } = self
        {
            v.push(*b);
        }
        v
    }

    pub fn crash_mode(tear: bool) -> CrashMode {
        if tear {
            CrashMode::Tear
        } else {
            CrashMode::Drop
        }
    }
}

/// A fault at a point of the safety phase.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scheduled {
    pub at_ms: u64,
    #[serde(flatten)]
    pub fault: Fault,
}

impl<'de> Deserialize<'de> for Scheduled {
    /// `{ at_ms = N, kind = "...", ... }`: `at_ms` is taken out, the rest must be a valid
    /// fault of its kind (unknown fields rejected with the valid names).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let at = map
            .remove("at_ms")
            .ok_or_else(|| D::Error::missing_field("at_ms"))?;
        let at_ms = at.as_u64().ok_or_else(|| {
            D::Error::custom(format!(
                "at_ms: expected a non-negative integer, found {at}"
            ))
        })?;
        let fault = Fault::deserialize(serde_json::Value::Object(map)).map_err(D::Error::custom)?;
        Ok(Scheduled { at_ms, fault })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Scheduled, String> {
        toml::from_str::<toml::Table>(s)
            .map_err(|e| e.to_string())
            .and_then(|t| Scheduled::deserialize(toml::Value::Table(t)).map_err(|e| e.to_string()))
    }

    #[test]
    fn scripted_faults_parse_with_defaults() {
        assert_eq!(
            parse("at_ms = 5\nkind = \"crash\"\ntarget = 2").unwrap(),
            Scheduled {
                at_ms: 5,
                fault: Fault::Crash {
                    target: Target::Node(2),
                    restart_after_ms: None,
                    tear: false
                }
            }
        );
        assert_eq!(
            parse("at_ms = 1\nkind = \"partition-isolate\"\ntarget = \"leader\"\nduration_ms = 9")
                .unwrap()
                .fault,
            Fault::PartitionIsolate {
                target: Target::Leader,
                duration_ms: 9
            }
        );
    }

    #[test]
    fn bad_faults_name_the_problem() {
        let unknown = parse("at_ms = 1\nkind = \"explode\"").unwrap_err();
        assert!(
            unknown.contains("unknown variant `explode`") && unknown.contains("partition-ring"),
            "{unknown}"
        );
        let field = parse("at_ms = 1\nkind = \"pause\"\nduration_ms = 3\nvolume = 11").unwrap_err();
        assert!(
            field.contains("unknown field `volume`") && field.contains("duration_ms"),
            "{field}"
        );
        assert!(parse("kind = \"heal\"").unwrap_err().contains("at_ms"));
        assert!(
            parse("at_ms = 1\nkind = \"pause\"\ntarget = -1\nduration_ms = 3")
                .unwrap_err()
                .contains("negative")
        );
    }
}
