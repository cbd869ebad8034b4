//! The in-memory Raft log: slots at indexes `1..=last_index`, each a term and an entry (an
//! application entry or a leader's no-op). Index 0 is the empty prefix, of term 0.
//! Invariants: terms never decrease along the log; an application entry of term `t` is at a
//! zxid of epoch `t`, and application zxids strictly increase along the log; `floors[i]` is
//! the zxid of the last application entry at or before slot `i + 1` and `cums[i]` the
//! cumulative digest (`chain_digest`) of the application entries through it; at most
//! `LOG_ENTRIES_MAX` slots.

use std::sync::Arc;

use proto::{Epoch, Zxid};
use replication::{App, Entry, chain_digest};

use crate::config::LOG_ENTRIES_MAX;

/// What a slot holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEntry<A: App> {
    /// An application entry (shared with its disk record and the messages carrying it).
    App(Arc<A::Entry>),
    /// The no-op a new leader appends in its term (Raft §8), so that earlier terms'
    /// entries commit under it. Never delivered.
    Noop,
}

/// One log slot: the term it was created in and its entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot<A: App> {
    pub term: u64,
    pub entry: LogEntry<A>,
}

impl<A: App> Slot<A> {
    /// The application entry's zxid (None for a no-op).
    pub fn zxid(&self) -> Option<Zxid> {
        match &self.entry {
            LogEntry::App(e) => Some(e.zxid()),
            LogEntry::Noop => None,
        }
    }

    /// Bytes on the wire and on disk.
    pub fn size_bytes(&self) -> u32 {
        match &self.entry {
            LogEntry::App(e) => e.size_bytes().saturating_add(16),
            LogEntry::Noop => 16,
        }
    }
}

/// A term as an epoch (terms must fit the zxid's high half).
pub fn epoch_of(term: u64) -> Epoch {
    Epoch(u32::try_from(term).expect("a term beyond the zxid's epoch range"))
}

/// See the module header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftLog<A: App> {
    slots: Vec<Slot<A>>,
    floors: Vec<Zxid>,
    cums: Vec<u64>,
}

impl<A: App> Default for RaftLog<A> {
    fn default() -> Self {
        RaftLog {
            slots: Vec::new(),
            floors: Vec::new(),
            cums: Vec::new(),
        }
    }
}

impl<A: App> RaftLog<A> {
    pub fn new() -> RaftLog<A> {
        RaftLog::default()
    }

    pub fn last_index(&self) -> u64 {
        self.slots.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.slots.last().map_or(0, |s| s.term)
    }

    /// The term at `index` (0 at index 0; None past the end).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == 0 {
            return Some(0);
        }
        self.get(index).map(|s| s.term)
    }

    pub fn get(&self, index: u64) -> Option<&Slot<A>> {
        let i = usize::try_from(index.checked_sub(1)?).ok()?;
        self.slots.get(i)
    }

    /// The slots `from..=to` (both within the log).
    pub fn range(&self, from: u64, to: u64) -> &[Slot<A>] {
        assert!(1 <= from && from <= to + 1 && to <= self.last_index());
        &self.slots[(from - 1) as usize..to as usize]
    }

    /// The zxid of the last application entry at or before `index` (ZERO if none).
    pub fn zxid_floor(&self, index: u64) -> Zxid {
        assert!(index <= self.last_index(), "index {index} past the log end");
        if index == 0 {
            return Zxid::ZERO;
        }
        self.floors[(index - 1) as usize]
    }

    /// The last application entry's zxid (ZERO if none).
    pub fn last_zxid(&self) -> Zxid {
        self.zxid_floor(self.last_index())
    }

    /// The cumulative digest of the application entries through `index`.
    fn cum_at(&self, index: u64) -> u64 {
        match index {
            0 => 0,
            i => self.cums[(i - 1) as usize],
        }
    }

    /// The cumulative digest of the log through application entry `zxid` (`Some(0)` at
    /// zxid 0); None if no application entry of the log is at `zxid`.
    pub fn digest_at(&self, zxid: Zxid) -> Option<u64> {
        if zxid == Zxid::ZERO {
            return Some(0);
        }
        // Floors never decrease: the first slot whose floor reaches `zxid` is its entry.
        let i = self.floors.partition_point(|f| *f < zxid);
        let slot = self.slots.get(i)?;
        (slot.zxid() == Some(zxid)).then(|| self.cums[i])
    }

    /// Appends a slot at `last_index + 1`.
    pub fn append(&mut self, slot: Slot<A>) {
        assert!(self.slots.len() < LOG_ENTRIES_MAX, "the log is full");
        assert!(
            slot.term >= self.last_term(),
            "log terms decrease: {} after {}",
            slot.term,
            self.last_term()
        );
        let prev_cum = self.cum_at(self.last_index());
        let cum = match &slot.entry {
            LogEntry::App(e) => chain_digest(prev_cum, e.zxid(), e.digest()),
            LogEntry::Noop => prev_cum,
        };
        let floor = match slot.zxid() {
            Some(z) => {
                assert_eq!(z.epoch(), epoch_of(slot.term), "an entry outside its term");
                assert!(
                    z > self.last_zxid(),
                    "zxids do not increase: {z} after {}",
                    self.last_zxid()
                );
                z
            }
            None => self.last_zxid(),
        };
        self.slots.push(slot);
        self.floors.push(floor);
        self.cums.push(cum);
    }

    /// Cuts every slot at `from` and after; returns the application zxids cut, in order.
    pub fn truncate_from(&mut self, from: u64) -> Vec<Zxid> {
        assert!(
            from >= 1 && from <= self.last_index(),
            "truncation outside the log"
        );
        let cut = (from - 1) as usize;
        let removed = self.slots[cut..].iter().filter_map(Slot::zxid).collect();
        self.slots.truncate(cut);
        self.floors.truncate(cut);
        self.cums.truncate(cut);
        removed
    }

    /// The counter of the last application entry of `term` (0 if there is none).
    pub fn last_counter_in(&self, term: u64) -> u32 {
        let last = self.last_zxid();
        if last.epoch() == epoch_of(term) {
            last.counter()
        } else {
            0
        }
    }
}
