//! The canonical delivered history `G`: every txn delivered anywhere in the run, in zxid
//! order, each with its digest, the cumulative history digest through it and the server
//! that delivered it first. Only a window of the newest `window_txns` entries is kept; the
//! entry just before the window is the base point (genesis at first), and the trimmed
//! prefix survives as per-epoch counter spans (enough to answer "was this zxid committed"
//! exactly while each trimmed epoch is contiguous, which it is in a correct run).
//! Invariants: zxids strictly increase (base < window entries); every `cum` chains from
//! the previous one; absolute positions (`abs`, genesis = 0) never change when trimming;
//! every collection is bounded (`window_txns`, [`MAX_EPOCHS_TRACKED`]).

use std::collections::{BTreeMap, VecDeque};

use proto::{Epoch, ProcessId, Zxid};

use super::event::chain_digest;

/// Bound on per-epoch bookkeeping (epoch spans, epoch starts, established leaders). The
/// oldest epochs are forgotten beyond it; checks that would need them are skipped.
pub const MAX_EPOCHS_TRACKED: usize = 1 << 16;

/// One canonical txn (or the base point; genesis has zxid 0, digest 0, cum 0, no `first`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CanonTxn {
    pub zxid: Zxid,
    pub digest: u64,
    pub cum: u64,
    pub first: Option<ProcessId>,
}

impl CanonTxn {
    const GENESIS: CanonTxn = CanonTxn {
        zxid: Zxid::ZERO,
        digest: 0,
        cum: 0,
        first: None,
    };
}

/// Where a zxid sits relative to `G`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// In the window (or the base point) at absolute position `abs`.
    At { abs: u64, txn: CanonTxn },
    /// Inside the window's zxid range but not delivered anywhere; `next_abs` is the
    /// position of the first canonical txn above it.
    Absent { next_abs: u64 },
    /// Below the base point: trimmed, only spans remain.
    BelowWindow,
    /// Above the last canonical txn.
    Beyond,
}

/// The trimmed txns of one epoch: counters `lo..=hi`, `count` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    lo: u32,
    hi: u32,
    count: u64,
}

/// See the module header.
#[derive(Clone, Debug)]
pub(crate) struct Canon {
    base_abs: u64,
    base: CanonTxn,
    entries: VecDeque<CanonTxn>,
    window_txns: usize,
    trimmed: BTreeMap<Epoch, Span>,
    trimmed_forgotten_through: Option<Epoch>,
    /// For each epoch with a canonical txn: the zxid of the canonical txn just before its
    /// first one (the last txn of all older epochs).
    epoch_starts: BTreeMap<Epoch, Zxid>,
    epoch_starts_forgotten_through: Option<Epoch>,
}

impl Canon {
    pub fn new(window_txns: usize) -> Canon {
        assert!(
            window_txns >= 1,
            "the canonical window holds at least one txn"
        );
        Canon {
            base_abs: 0,
            base: CanonTxn::GENESIS,
            entries: VecDeque::new(),
            window_txns,
            trimmed: BTreeMap::new(),
            trimmed_forgotten_through: None,
            epoch_starts: BTreeMap::new(),
            epoch_starts_forgotten_through: None,
        }
    }

    /// Absolute position of the base point (0 = genesis).
    pub fn base_abs(&self) -> u64 {
        self.base_abs
    }
    pub fn base(&self) -> CanonTxn {
        self.base
    }
    /// Absolute position of the last canonical txn (= number of txns ever delivered).
    pub fn last_abs(&self) -> u64 {
        self.base_abs + self.entries.len() as u64
    }
    pub fn last(&self) -> CanonTxn {
        self.entries.back().copied().unwrap_or(self.base)
    }
    pub fn window_len(&self) -> usize {
        self.entries.len()
    }

    /// The entry at absolute position `abs`, if it is the base or in the window.
    pub fn at(&self, abs: u64) -> Option<CanonTxn> {
        if abs == self.base_abs {
            return Some(self.base);
        }
        if abs < self.base_abs || abs > self.last_abs() {
            return None;
        }
        let i = (abs - self.base_abs - 1) as usize;
        Some(self.entries[i])
    }

    pub fn find(&self, zxid: Zxid) -> Lookup {
        if zxid > self.last().zxid {
            return Lookup::Beyond;
        }
        if zxid < self.base.zxid {
            return Lookup::BelowWindow;
        }
        if zxid == self.base.zxid {
            return Lookup::At {
                abs: self.base_abs,
                txn: self.base,
            };
        }
        let i = self.entries.partition_point(|t| t.zxid < zxid);
        match self.entries.get(i) {
            Some(t) if t.zxid == zxid => Lookup::At {
                abs: self.base_abs + 1 + i as u64,
                txn: *t,
            },
            _ => Lookup::Absent {
                next_abs: self.base_abs + 1 + i as u64,
            },
        }
    }

    /// Appends a txn delivered for the first time; returns its absolute position.
    pub fn append(&mut self, zxid: Zxid, digest: u64, first: ProcessId) -> u64 {
        let last = self.last();
        assert!(
            zxid > last.zxid,
            "canonical history out of order: {zxid} after {}",
            last.zxid
        );
        if zxid.epoch() > last.zxid.epoch() {
            self.epoch_starts.insert(zxid.epoch(), last.zxid);
            if self.epoch_starts.len() > MAX_EPOCHS_TRACKED {
                let (e, _) = self.epoch_starts.pop_first().expect("non-empty");
                self.epoch_starts_forgotten_through = Some(e);
            }
        }
        let txn = CanonTxn {
            zxid,
            digest,
            cum: chain_digest(last.cum, zxid, digest),
            first: Some(first),
        };
        self.entries.push_back(txn);
        if self.entries.len() > self.window_txns {
            self.trim_one();
        }
        assert!(self.entries.len() <= self.window_txns);
        self.last_abs()
    }

    fn trim_one(&mut self) {
        let t = self.entries.pop_front().expect("window is not empty");
        assert!(t.zxid > self.base.zxid);
        let (e, c) = (t.zxid.epoch(), t.zxid.counter());
        match self.trimmed.get_mut(&e) {
            Some(s) => {
                assert!(c > s.hi, "trimmed txns come in zxid order");
                s.hi = c;
                s.count += 1;
            }
            None => {
                self.trimmed.insert(
                    e,
                    Span {
                        lo: c,
                        hi: c,
                        count: 1,
                    },
                );
                if self.trimmed.len() > MAX_EPOCHS_TRACKED {
                    let (old, _) = self.trimmed.pop_first().expect("non-empty");
                    self.trimmed_forgotten_through = Some(old);
                }
            }
        }
        self.base = t;
        self.base_abs += 1;
    }

    /// Whether `zxid` is a canonical (delivered, hence committed) txn. `None` when it is
    /// below the window and the trimmed spans cannot tell.
    pub fn contains(&self, zxid: Zxid) -> Option<bool> {
        if zxid == Zxid::ZERO {
            return Some(false);
        }
        match self.find(zxid) {
            Lookup::At { .. } => Some(true),
            Lookup::Absent { .. } | Lookup::Beyond => Some(false),
            Lookup::BelowWindow => {
                let e = zxid.epoch();
                if self.trimmed_forgotten_through.is_some_and(|f| e <= f) {
                    return None;
                }
                let Some(s) = self.trimmed.get(&e) else {
                    return Some(false);
                };
                let c = zxid.counter();
                if c < s.lo || c > s.hi {
                    Some(false)
                } else if c == s.lo || c == s.hi || s.count == u64::from(s.hi - s.lo) + 1 {
                    Some(true)
                } else {
                    None
                }
            }
        }
    }

    /// The last canonical zxid of an epoch older than `epoch` (genesis zxid 0 if none);
    /// `None` when that bookkeeping was forgotten.
    pub fn last_before_epoch(&self, epoch: Epoch) -> Option<Zxid> {
        if self
            .epoch_starts_forgotten_through
            .is_some_and(|f| epoch <= f)
        {
            return None;
        }
        match self.epoch_starts.range(epoch..).next() {
            Some((_, before)) => Some(*before),
            None => Some(self.last().zxid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(e: u32, c: u32) -> Zxid {
        Zxid::new(Epoch(e), c)
    }

    #[test]
    fn window_trims_into_spans_and_keeps_positions() {
        let mut g = Canon::new(2);
        let p = ProcessId(0);
        assert_eq!(g.append(z(1, 1), 11, p), 1);
        assert_eq!(g.append(z(1, 2), 12, p), 2);
        assert_eq!(g.append(z(2, 1), 21, p), 3);
        assert_eq!(g.window_len(), 2);
        assert_eq!(g.base_abs(), 1);
        assert_eq!(g.base().zxid, z(1, 1));
        assert_eq!(g.at(0), None);
        assert_eq!(g.at(3).map(|t| t.zxid), Some(z(2, 1)));
        assert_eq!(
            g.find(z(1, 2)),
            Lookup::At {
                abs: 2,
                txn: g.at(2).unwrap()
            }
        );
        assert_eq!(g.find(z(1, 0)), Lookup::BelowWindow);
        assert_eq!(g.find(z(1, 3)), Lookup::Absent { next_abs: 3 });
        assert_eq!(g.find(z(2, 2)), Lookup::Beyond);
        assert_eq!(g.contains(z(1, 1)), Some(true));
        assert_eq!(g.contains(z(1, 3)), Some(false));
        assert_eq!(g.contains(z(3, 1)), Some(false));
        let cum = chain_digest(
            chain_digest(chain_digest(0, z(1, 1), 11), z(1, 2), 12),
            z(2, 1),
            21,
        );
        assert_eq!(g.last().cum, cum);
        assert_eq!(g.last_before_epoch(Epoch(2)), Some(z(1, 2)));
        assert_eq!(g.last_before_epoch(Epoch(1)), Some(Zxid::ZERO));
        assert_eq!(g.last_before_epoch(Epoch(5)), Some(z(2, 1)));
    }

    #[test]
    fn non_contiguous_trimmed_epoch_is_unknown() {
        let mut g = Canon::new(1);
        let p = ProcessId(1);
        g.append(z(1, 1), 1, p);
        g.append(z(1, 3), 3, p);
        g.append(z(2, 1), 4, p);
        g.append(z(2, 2), 5, p);
        // Trimmed: (1,1) (1,3) (2,1); base (2,1); window (2,2).
        assert_eq!(g.base_abs(), 3);
        assert_eq!(g.contains(z(1, 2)), None);
        assert_eq!(g.contains(z(1, 3)), Some(true));
        assert_eq!(g.contains(z(1, 4)), Some(false));
        assert_eq!(g.contains(z(1, 1)), Some(true));
        assert_eq!(g.contains(z(2, 1)), Some(true));
    }
}
