//! One replica's partition log: records at consecutive offsets from 0, each written in a
//! leader epoch, and the leader-epoch cache (each epoch's start offset) that answers
//! `OffsetsForLeaderEpoch`.
//! Each prefix of the log has a digest (`digest_below`), so two replicas' logs are compared
//! below an offset in O(1) (the StrongIsr monitor).
//! Invariants: record `i` has offset `i`; record epochs never decrease; the cache's epochs
//! strictly increase and its start offsets never decrease and stay ≤ the log end offset;
//! every record's epoch is in the cache, starting at or before the record; there is one
//! prefix digest per record.

/// Most records one partition log holds (a scenario's produce volume is far below).
pub const RECORDS_MAX: usize = 1 << 24;
/// Most leader epochs one partition's cache holds.
pub const EPOCHS_MAX: usize = 1 << 16;

/// One record: its offset, the epoch of the leader that appended it, and its content (a
/// producer's key and a value unique per produce attempt).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Record {
    pub offset: u64,
    pub epoch: u32,
    pub key: u64,
    pub value: u64,
}

/// An `OffsetsForLeaderEpoch` answer: the largest epoch the log knows at or below the one
/// asked for (None: none), and where that epoch's records end (the next epoch's start
/// offset, or the log end offset for the latest epoch).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EpochEnd {
    pub epoch: Option<u32>,
    pub end_offset: u64,
}

/// See the module header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionLog {
    records: Vec<Record>,
    /// (epoch, start offset), epochs strictly increasing.
    epochs: Vec<(u32, u64)>,
    /// `digests[i]`: the digest of records `0..=i`.
    digests: Vec<u64>,
}

/// One step of the prefix digest: `prev` extended by `r` (splitmix64's finalizer over the
/// record's fields; any change of a record changes every later prefix digest).
fn digest_step(prev: u64, r: &Record) -> u64 {
    let mut h = prev ^ 0x9e37_79b9_7f4a_7c15;
    for w in [r.offset, u64::from(r.epoch), r.key, r.value] {
        h = (h ^ w).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 31)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 29;
    }
    h
}

impl PartitionLog {
    pub fn new() -> PartitionLog {
        PartitionLog::default()
    }

    /// The log end offset: the offset the next record gets.
    pub fn leo(&self) -> u64 {
        self.records.len() as u64
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The record at `offset`, if the log has it.
    pub fn get(&self, offset: u64) -> Option<&Record> {
        self.records.get(usize::try_from(offset).ok()?)
    }

    /// The records from `offset` on, at most `max` of them.
    pub fn from(&self, offset: u64, max: usize) -> &[Record] {
        let start =
            usize::try_from(offset).map_or(self.records.len(), |o| o.min(self.records.len()));
        let end = start.saturating_add(max).min(self.records.len());
        &self.records[start..end]
    }

    /// The latest epoch in the cache (None before any).
    pub fn latest_epoch(&self) -> Option<u32> {
        self.epochs.last().map(|&(e, _)| e)
    }

    /// The epoch cache: (epoch, start offset), epochs increasing.
    pub fn epochs(&self) -> &[(u32, u64)] {
        &self.epochs
    }

    /// Records that `epoch` starts at the log end offset (a new leader does this before it
    /// appends; a follower when it appends the epoch's first record). Re-assigning the
    /// latest epoch is a no-op.
    pub fn assign_epoch(&mut self, epoch: u32) {
        match self.latest_epoch() {
            Some(latest) if latest == epoch => return,
            Some(latest) => assert!(epoch > latest, "epoch {epoch} after {latest}"),
            None => {}
        }
        assert!(self.epochs.len() < EPOCHS_MAX, "epoch cache full");
        self.epochs.push((epoch, self.leo()));
        self.check();
    }

    /// Appends a record in `epoch` (the latest epoch, or a newer one it starts): its offset.
    pub fn append(&mut self, epoch: u32, key: u64, value: u64) -> u64 {
        assert!(self.records.len() < RECORDS_MAX, "partition log full");
        self.assign_epoch(epoch);
        let offset = self.leo();
        let r = Record {
            offset,
            epoch,
            key,
            value,
        };
        let prev = self.digests.last().copied().unwrap_or(0);
        self.digests.push(digest_step(prev, &r));
        self.records.push(r);
        offset
    }

    /// Appends a copy of a leader's record at this log's end (a follower's fetch).
    pub fn append_copy(&mut self, r: &Record) {
        assert_eq!(
            r.offset,
            self.leo(),
            "a fetched record lands at the log end"
        );
        let offset = self.append(r.epoch, r.key, r.value);
        assert_eq!(offset, r.offset);
    }

    /// Cuts every record at or above `offset` (and the epochs starting there).
    pub fn truncate_to(&mut self, offset: u64) {
        let keep =
            usize::try_from(offset).map_or(self.records.len(), |o| o.min(self.records.len()));
        self.records.truncate(keep);
        self.digests.truncate(keep);
        let leo = self.leo();
        self.epochs.retain(|&(_, start)| start < leo);
        self.check();
    }

    /// The digest of the records below `offset` (0 for none); None past the log end. Two
    /// logs with equal digests below `o` hold the same records below `o`.
    pub fn digest_below(&self, offset: u64) -> Option<u64> {
        if offset > self.leo() {
            return None;
        }
        let i = usize::try_from(offset).ok()?;
        Some(if i == 0 { 0 } else { self.digests[i - 1] })
    }

    /// `OffsetsForLeaderEpoch(epoch)` against this log (see [`EpochEnd`]).
    pub fn end_offset_for(&self, epoch: u32) -> EpochEnd {
        let below = self.epochs.iter().rev().find(|&&(e, _)| e <= epoch);
        let next = self.epochs.iter().find(|&&(e, _)| e > epoch);
        match below {
            None => EpochEnd {
                epoch: None,
                end_offset: next.map_or(self.leo(), |&(_, start)| start),
            },
            Some(&(e, _)) => EpochEnd {
                epoch: Some(e),
                end_offset: next.map_or(self.leo(), |&(_, start)| start),
            },
        }
    }

    /// Asserts the invariants of the module header.
    pub fn check(&self) {
        assert_eq!(
            self.digests.len(),
            self.records.len(),
            "a digest per record"
        );
        for (i, r) in self.records.iter().enumerate() {
            assert_eq!(r.offset, i as u64, "record {i} has offset {}", r.offset);
        }
        assert!(
            self.records.windows(2).all(|w| w[0].epoch <= w[1].epoch),
            "record epochs decrease"
        );
        assert!(
            self.epochs
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "epoch cache out of order: {:?}",
            self.epochs
        );
        assert!(
            self.epochs.iter().all(|&(_, start)| start <= self.leo()),
            "an epoch starts past the log end"
        );
        // Each record's epoch is cached, starting at or before it (one walk over both).
        let mut cached = self.epochs.iter().peekable();
        for r in &self.records {
            while cached.next_if(|&&(e, _)| e < r.epoch).is_some() {}
            let found = cached.peek().copied();
            assert!(
                found.is_some_and(|&(e, start)| e == r.epoch && start <= r.offset),
                "record {} of epoch {} is not in the epoch cache {:?}",
                r.offset,
                r.epoch,
                self.epochs
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log with records of the given epochs (keys = offsets, values = 100 + offset).
    pub fn log_of(epochs: &[u32]) -> PartitionLog {
        let mut log = PartitionLog::new();
        for (i, &e) in epochs.iter().enumerate() {
            log.append(e, i as u64, 100 + i as u64);
        }
        log
    }

    #[test]
    fn appends_number_records_and_cache_epoch_starts() {
        let log = log_of(&[1, 1, 2, 4, 4]);
        assert_eq!(log.leo(), 5);
        assert_eq!(log.epochs(), &[(1, 0), (2, 2), (4, 3)]);
        assert_eq!(log.get(3).map(|r| (r.epoch, r.value)), Some((4, 103)));
        assert_eq!(log.from(3, 10).len(), 2);
        assert_eq!(log.from(9, 10).len(), 0);
    }

    #[test]
    fn offsets_for_leader_epoch_answer_the_largest_epoch_at_or_below() {
        let log = log_of(&[1, 1, 2, 4, 4]);
        let at = |e| log.end_offset_for(e);
        assert_eq!(
            at(0),
            EpochEnd {
                epoch: None,
                end_offset: 0
            }
        );
        assert_eq!(
            at(1),
            EpochEnd {
                epoch: Some(1),
                end_offset: 2
            }
        );
        assert_eq!(
            at(2),
            EpochEnd {
                epoch: Some(2),
                end_offset: 3
            }
        );
        // Epoch 3 never led here: its answer is epoch 2, ending where epoch 4 starts.
        assert_eq!(
            at(3),
            EpochEnd {
                epoch: Some(2),
                end_offset: 3
            }
        );
        assert_eq!(
            at(4),
            EpochEnd {
                epoch: Some(4),
                end_offset: 5
            }
        );
        assert_eq!(
            at(9),
            EpochEnd {
                epoch: Some(4),
                end_offset: 5
            }
        );
    }

    #[test]
    fn a_new_leader_epoch_starts_at_the_log_end_before_any_append() {
        let mut log = log_of(&[1, 1]);
        log.assign_epoch(3);
        assert_eq!(log.epochs(), &[(1, 0), (3, 2)]);
        assert_eq!(log.end_offset_for(1).end_offset, 2);
        assert_eq!(log.end_offset_for(3).end_offset, 2);
        log.assign_epoch(3);
        assert_eq!(
            log.epochs().len(),
            2,
            "re-assigning the latest epoch is a no-op"
        );
    }

    #[test]
    fn truncation_cuts_records_and_the_epochs_starting_there() {
        let mut log = log_of(&[1, 1, 2, 4, 4]);
        log.truncate_to(3);
        assert_eq!(log.leo(), 3);
        assert_eq!(log.epochs(), &[(1, 0), (2, 2)]);
        log.truncate_to(7);
        assert_eq!(log.leo(), 3, "truncating past the end keeps everything");
        log.truncate_to(0);
        assert_eq!(log.epochs(), &[] as &[(u32, u64)]);
    }

    #[test]
    fn prefix_digests_tell_logs_apart_below_an_offset() {
        let a = log_of(&[1, 1, 2]);
        let mut b = log_of(&[1, 1]);
        assert_eq!(a.digest_below(2), b.digest_below(2));
        assert_eq!(a.digest_below(0), Some(0));
        assert_eq!(b.digest_below(3), None, "past b's end");
        b.append(2, 2, 999); // same offset and epoch, another value
        assert_ne!(a.digest_below(3), b.digest_below(3));
        b.truncate_to(2);
        b.append(2, 2, 102);
        assert_eq!(
            a.digest_below(3),
            b.digest_below(3),
            "truncated and refetched"
        );
    }

    #[test]
    #[should_panic(expected = "epoch 1 after 2")]
    fn an_older_epoch_after_a_newer_one_is_refused() {
        let mut log = log_of(&[1, 2]);
        log.append(1, 0, 0);
    }
}
