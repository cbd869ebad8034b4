//! Network partitions ("cuts"): which directed links are blocked. Each active cut keeps one
//! tag per process it names (an isolation keeps none), so deciding whether a link is blocked
//! costs O(active cuts), never O(links) — a 10,000-process run pays nothing per tick for
//! its partitions — and a cut holds no more than the scheduled fault it comes from.
//!
//! Any number of cuts may be active at once: every cut comes from one fault of the run's
//! schedule, applied once, so at most `CUTS_MAX` (= `FAULTS_MAX`) exist — a high fault
//! rate with long partitions overlaps many, and each is kept as it is.
//!
//! Invariant: a cut only ever blocks links; healing removes exactly the cut that was added.

use crate::nemesis::FAULTS_MAX;
use sansio::ProcessId;
use serde::Serialize;

/// The shape of a partition, with concrete process ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "shape", rename_all = "kebab-case")]
pub enum Shape {
    /// `side` cannot talk to everyone else among `members`, in either direction.
    Halves {
        side: Vec<ProcessId>,
        members: Vec<ProcessId>,
    },
    /// `node` cannot talk to anyone.
    Isolate { node: ProcessId },
    /// `a` and `b` cannot talk to each other; `bridge` talks to both.
    Bridge {
        a: Vec<ProcessId>,
        b: Vec<ProcessId>,
        bridge: ProcessId,
    },
    /// Messages from `from` to `to` are dropped; the reverse direction works.
    OneWay {
        from: Vec<ProcessId>,
        to: Vec<ProcessId>,
    },
    /// `ring` members talk only to their two neighbours in ring order.
    Ring { ring: Vec<ProcessId> },
}

const TAG_NONE: u8 = 0;
const TAG_A: u8 = 1;
const TAG_B: u8 = 2;
const TAG_BRIDGE: u8 = 3;

/// An active cut: its shape and, per process it names, a tag (group or ring position + 1);
/// a process past the end of `tags` is untagged (the cut does not name it).
#[derive(Clone, Debug)]
struct Cut {
    id: u64,
    shape: Shape,
    tags: Vec<u32>,
}

impl Cut {
    fn new(id: u64, shape: Shape, process_count: usize) -> Cut {
        // Tags for the processes the cut names, up to the highest; an isolation needs none.
        let mut tags: Vec<u32> = Vec::new();
        let mut set = |p: ProcessId, t: u32| {
            assert!(p.index() < process_count, "a cut names {p}, out of range");
            if tags.len() <= p.index() {
                tags.resize(p.index() + 1, TAG_NONE as u32);
            }
            tags[p.index()] = t;
        };
        let mut tag = |ids: &[ProcessId], t: u8| {
            for &p in ids {
                set(p, t as u32);
            }
        };
        match &shape {
            Shape::Halves { side, members } => {
                tag(members, TAG_B);
                tag(side, TAG_A);
            }
            Shape::Isolate { node } => {
                assert!(
                    node.index() < process_count,
                    "a cut isolates {node}, out of range"
                );
            }
            Shape::Bridge { a, b, bridge } => {
                tag(a, TAG_A);
                tag(b, TAG_B);
                tag(&[*bridge], TAG_BRIDGE);
            }
            Shape::OneWay { from, to } => {
                tag(to, TAG_B);
                tag(from, TAG_A);
            }
            Shape::Ring { ring } => {
                for (pos, &p) in ring.iter().enumerate() {
                    set(p, pos as u32 + 1);
                }
            }
        }
        debug_assert!(tags.len() <= process_count);
        Cut { id, shape, tags }
    }

    #[inline]
    fn tag(&self, p: ProcessId) -> u32 {
        self.tags.get(p.index()).copied().unwrap_or(TAG_NONE as u32)
    }

    /// Whether the cut blocks `from` → `to`; every shape but a one-way cut blocks both ways.
    fn blocks(&self, from: ProcessId, to: ProcessId) -> bool {
        let blocked = self.blocks_one_way(from, to);
        debug_assert!(
            matches!(self.shape, Shape::OneWay { .. }) || blocked == self.blocks_one_way(to, from),
            "cut {} is not symmetric between {from} and {to}",
            self.id
        );
        blocked
    }

    fn blocks_one_way(&self, from: ProcessId, to: ProcessId) -> bool {
        if let Shape::Isolate { node } = self.shape {
            return (from == node) != (to == node);
        }
        let (f, t) = (self.tag(from), self.tag(to));
        let (a, b) = (TAG_A as u32, TAG_B as u32);
        match &self.shape {
            Shape::Halves { .. } => f != TAG_NONE as u32 && t != TAG_NONE as u32 && f != t,
            Shape::Isolate { .. } => unreachable!("decided above"),
            Shape::Bridge { .. } => (f == a && t == b) || (f == b && t == a),
            Shape::OneWay { .. } => f == a && t == b,
            Shape::Ring { ring } => {
                if f == 0 || t == 0 || f == t {
                    return false;
                }
                let n = ring.len() as u32;
                debug_assert!(f <= n && t <= n, "ring positions within the ring");
                let d = f.abs_diff(t);
                d != 1 && d != n - 1
            }
        }
    }
}

/// The set of active cuts.
#[derive(Clone, Debug, Default)]
pub struct Partitions {
    cuts: Vec<Cut>,
    process_count: usize,
    id_next: u64,
}

/// Cuts active at once, at most. Never reached by a run: each cut comes from one scheduled
/// fault, applied once, and a schedule holds at most `FAULTS_MAX` faults (the kernel ends a
/// run with a longer one inconclusive before it starts). Reaching it is a kernel bug.
pub const CUTS_MAX: usize = FAULTS_MAX;

impl Partitions {
    pub fn new(process_count: usize) -> Partitions {
        Partitions {
            cuts: Vec::new(),
            process_count,
            id_next: 1,
        }
    }

    /// Add a cut; returns its id for [`Partitions::heal`].
    pub fn add(&mut self, shape: Shape) -> u64 {
        assert!(
            self.cuts.len() < CUTS_MAX,
            "more than {CUTS_MAX} partitions at once: more than the schedule holds"
        );
        let id = self.id_next;
        self.id_next += 1;
        self.cuts.push(Cut::new(id, shape, self.process_count));
        debug_assert!(
            self.cuts.windows(2).all(|w| w[0].id < w[1].id),
            "active cuts in the order they were added"
        );
        assert!(
            self.cuts.len() as u64 <= id,
            "more cuts active than ever added"
        );
        id
    }

    /// Remove the cut `id`; healing an already healed cut is a no-op.
    pub fn heal(&mut self, id: u64) {
        assert!(id > 0 && id < self.id_next, "healing cut {id}, never added");
        self.cuts.retain(|c| c.id != id);
    }

    pub fn heal_all(&mut self) {
        self.cuts.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.cuts.is_empty()
    }

    pub fn active(&self) -> usize {
        self.cuts.len()
    }

    /// Whether a message from `from` to `to` is blocked right now.
    #[inline]
    pub fn blocks(&self, from: ProcessId, to: ProcessId) -> bool {
        !self.cuts.is_empty() && self.cuts.iter().any(|c| c.blocks(from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[u32]) -> Vec<ProcessId> {
        v.iter().map(|&i| ProcessId(i)).collect()
    }

    /// Every directed link among `n` processes that `p` blocks.
    fn blocked(p: &Partitions, n: u32) -> Vec<(u32, u32)> {
        let mut v = Vec::new();
        for f in 0..n {
            for t in 0..n {
                if f != t && p.blocks(ProcessId(f), ProcessId(t)) {
                    v.push((f, t));
                }
            }
        }
        v
    }

    #[test]
    fn halves_cut_exactly_the_crossing_links_both_ways() {
        let mut p = Partitions::new(4);
        let id = p.add(Shape::Halves {
            side: ids(&[0, 1]),
            members: ids(&[0, 1, 2, 3]),
        });
        assert_eq!(
            blocked(&p, 4),
            vec![
                (0, 2),
                (0, 3),
                (1, 2),
                (1, 3),
                (2, 0),
                (2, 1),
                (3, 0),
                (3, 1)
            ]
        );
        p.heal(id);
        assert!(blocked(&p, 4).is_empty());
    }

    #[test]
    fn isolate_cuts_one_node_from_everyone() {
        let mut p = Partitions::new(3);
        p.add(Shape::Isolate { node: ProcessId(1) });
        assert_eq!(blocked(&p, 3), vec![(0, 1), (1, 0), (1, 2), (2, 1)]);
    }

    #[test]
    fn bridge_node_talks_to_both_sides() {
        let mut p = Partitions::new(5);
        p.add(Shape::Bridge {
            a: ids(&[0, 1]),
            b: ids(&[3, 4]),
            bridge: ProcessId(2),
        });
        let b = blocked(&p, 5);
        assert!(b.iter().all(|&(f, t)| f != 2 && t != 2));
        assert_eq!(
            b,
            vec![
                (0, 3),
                (0, 4),
                (1, 3),
                (1, 4),
                (3, 0),
                (3, 1),
                (4, 0),
                (4, 1)
            ]
        );
    }

    #[test]
    fn one_way_blocks_only_its_direction() {
        let mut p = Partitions::new(3);
        p.add(Shape::OneWay {
            from: ids(&[0]),
            to: ids(&[1, 2]),
        });
        assert_eq!(blocked(&p, 3), vec![(0, 1), (0, 2)]);
    }

    #[test]
    fn ring_keeps_only_neighbours() {
        let mut p = Partitions::new(5);
        p.add(Shape::Ring {
            ring: ids(&[0, 1, 2, 3, 4]),
        });
        assert_eq!(
            blocked(&p, 5),
            vec![
                (0, 2),
                (0, 3),
                (1, 3),
                (1, 4),
                (2, 0),
                (2, 4),
                (3, 0),
                (3, 1),
                (4, 1),
                (4, 2)
            ]
        );
    }

    #[test]
    fn overlapping_cuts_heal_independently() {
        let mut p = Partitions::new(3);
        let a = p.add(Shape::Isolate { node: ProcessId(0) });
        let _b = p.add(Shape::Isolate { node: ProcessId(2) });
        p.heal(a);
        assert_eq!(blocked(&p, 3), vec![(0, 2), (1, 2), (2, 0), (2, 1)]);
        p.heal(a);
        p.heal_all();
        assert!(p.is_empty());
    }
}
