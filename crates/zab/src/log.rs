//! The in-memory txn log: a base point (the zxid and cumulative digest just before the first
//! kept entry: a trimmed prefix or an installed snapshot) followed by entries in strictly
//! increasing zxid order, each with the cumulative digest of the log up to and including it.
//! Invariants: zxids strictly increase and all exceed `base_zxid`; every `cum` equals
//! `chain_digest(previous cum, zxid, digest)`; truncation never goes below the base.

use std::sync::Arc;

use proto::Zxid;
use replication::{Entry, chain_digest};

/// One logged txn with the cumulative digest of the log through it. The txn is shared
/// with its disk record and the PROPOSALs / INFORMs that carried it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry<E> {
    pub txn: Arc<E>,
    pub cum: u64,
}

/// See the module header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnLog<E> {
    base_zxid: Zxid,
    base_cum: u64,
    entries: Vec<LogEntry<E>>,
}

impl<E> Default for TxnLog<E> {
    fn default() -> Self {
        TxnLog {
            base_zxid: Zxid::ZERO,
            base_cum: 0,
            entries: Vec::new(),
        }
    }
}

impl<E: Entry> TxnLog<E> {
    pub fn new() -> TxnLog<E> {
        TxnLog::default()
    }

    /// An empty log starting after `zxid` whose history digest there is `cum`.
    pub fn starting_at(zxid: Zxid, cum: u64) -> TxnLog<E> {
        TxnLog {
            base_zxid: zxid,
            base_cum: cum,
            entries: Vec::new(),
        }
    }

    pub fn base_zxid(&self) -> Zxid {
        self.base_zxid
    }
    pub fn base_cum(&self) -> u64 {
        self.base_cum
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn entries(&self) -> &[LogEntry<E>] {
        &self.entries
    }

    pub fn last_zxid(&self) -> Zxid {
        self.entries.last().map_or(self.base_zxid, |e| e.txn.zxid())
    }
    pub fn last_cum(&self) -> u64 {
        self.entries.last().map_or(self.base_cum, |e| e.cum)
    }

    /// Appends a txn whose zxid exceeds the last one.
    pub fn append(&mut self, txn: impl Into<Arc<E>>) {
        let txn = txn.into();
        assert!(
            txn.zxid() > self.last_zxid(),
            "log append out of order: {} after {}",
            txn.zxid(),
            self.last_zxid()
        );
        let cum = chain_digest(self.last_cum(), txn.zxid(), txn.digest());
        self.entries.push(LogEntry { txn, cum });
    }

    /// Index of the first entry with zxid > `zxid`.
    pub fn index_after(&self, zxid: Zxid) -> usize {
        if let Some(i) = self.guess(zxid) {
            // The guess found `zxid` itself; the next entry, if any, lies beyond it.
            assert!(self.entries.get(i + 1).is_none_or(|e| e.txn.zxid() > zxid));
            return i + 1;
        }
        self.entries.partition_point(|e| e.txn.zxid() <= zxid)
    }

    /// The index of `zxid`'s entry if it is where it would be were the log's tail within
    /// `zxid`'s epoch consecutive (the common case: lookups are near the tail); checked,
    /// so None only means "search".
    fn guess(&self, zxid: Zxid) -> Option<usize> {
        let last = self.entries.last()?.txn.zxid();
        if last.epoch() != zxid.epoch() || zxid > last {
            return None;
        }
        let back = usize::try_from(last.counter() - zxid.counter()).ok()?;
        let i = self.entries.len().checked_sub(back + 1)?;
        (self.entries[i].txn.zxid() == zxid).then_some(i)
    }

    /// Entries with zxid > `zxid`.
    pub fn entries_after(&self, zxid: Zxid) -> &[LogEntry<E>] {
        &self.entries[self.index_after(zxid)..]
    }

    pub fn get(&self, zxid: Zxid) -> Option<&LogEntry<E>> {
        let i = match self.guess(zxid) {
            Some(i) => i,
            None => self
                .entries
                .binary_search_by(|e| e.txn.zxid().cmp(&zxid))
                .ok()?,
        };
        Some(&self.entries[i])
    }

    /// Whether `zxid` is the base point or a logged entry.
    pub fn contains(&self, zxid: Zxid) -> bool {
        zxid == self.base_zxid || self.get(zxid).is_some()
    }

    /// Cumulative digest of the log through `zxid` (the base counts), if `zxid` is in it.
    pub fn digest_at(&self, zxid: Zxid) -> Option<u64> {
        if zxid == self.base_zxid {
            return Some(self.base_cum);
        }
        self.get(zxid).map(|e| e.cum)
    }

    /// The largest zxid in the log (the base counts) that is `<= zxid`; `zxid >= base`.
    pub fn floor(&self, zxid: Zxid) -> Zxid {
        assert!(zxid >= self.base_zxid, "floor below the log base");
        let i = self.index_after(zxid);
        let floor = if i == 0 {
            self.base_zxid
        } else {
            self.entries[i - 1].txn.zxid()
        };
        assert!(self.base_zxid <= floor && floor <= zxid);
        floor
    }

    /// Cuts every entry with zxid > `to` (`to >= base`); returns the removed zxids in order.
    pub fn truncate_after(&mut self, to: Zxid) -> Box<[Zxid]> {
        assert!(to >= self.base_zxid, "truncate below the log base");
        let i = self.index_after(to);
        let removed = self.entries[i..].iter().map(|e| e.txn.zxid()).collect();
        self.entries.truncate(i);
        assert!(self.last_zxid() <= to);
        removed
    }

    /// Drops every entry with zxid <= `to`; `to` must be in the log. The base becomes `to`.
    pub fn trim_through(&mut self, to: Zxid) {
        let cum = self.digest_at(to).expect("trim point not in log");
        let last = (self.last_zxid(), self.last_cum());
        let i = self.index_after(to);
        self.entries.drain(..i);
        self.base_zxid = to;
        self.base_cum = cum;
        assert!(self.entries.first().is_none_or(|e| e.txn.zxid() > to));
        // Trimming forgets a prefix only: the log still ends where it ended.
        assert_eq!((self.last_zxid(), self.last_cum()), last);
    }

    /// Recomputes every cumulative digest and checks it (tests and debug views).
    pub fn check(&self) {
        let mut prev_zxid = self.base_zxid;
        let mut prev = self.base_cum;
        for e in &self.entries {
            assert!(e.txn.zxid() > prev_zxid);
            assert_eq!(e.cum, chain_digest(prev, e.txn.zxid(), e.txn.digest()));
            prev_zxid = e.txn.zxid();
            prev = e.cum;
        }
    }
}
