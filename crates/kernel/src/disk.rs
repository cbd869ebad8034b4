//! The disk model of one process: an append-only record log with a write cache. `append`
//! puts a record in the cache; `fsync` makes everything appended so far durable after a
//! sampled latency, one fsync at a time; a crash keeps exactly the durable prefix and drops
//! the rest, or — as a fault — tears it: a random part of the cached tail survives and the
//! record after it is torn (unreadable).
//!
//! Invariants: `durable_len <= records.len()`; durability only grows until a crash; an
//! fsync's completion never covers records appended after it was issued.

use crate::dist::{Latency, Sampler};
use crate::rng::Stream;
use sansio::Time;
use serde::{Deserialize, Serialize};

/// The `[disk]` section of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiskConfig {
    /// Latency of one fsync.
    pub fsync: Latency,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            fsync: Latency::Uniform {
                min_us: 500,
                max_us: 2_000,
            },
        }
    }
}

/// Records on one disk, at most (a bound, not a knob). A long enough run with a high write
/// rate can reach it (servers never drop records), so the kernel ends such a run
/// inconclusive (a `disk` budget verdict) instead of growing without bound.
pub const RECORDS_MAX: usize = 50_000_000;

/// The disk refused a record: it holds `RECORDS_MAX` already.
#[derive(Debug, PartialEq, Eq)]
pub struct DiskFull;

/// What happens to un-fsynced records at a crash.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashMode {
    /// Every un-fsynced record is lost.
    Drop,
    /// A random prefix of the un-fsynced records survives; the next one is torn.
    Tear,
}

#[derive(Clone, Debug)]
pub struct Disk<R> {
    records: Vec<R>,
    durable_len: usize,
    fsync_free_at: Time,
    /// Latency multiplier from a `disk-slow` fault (1 = normal).
    pub slow_factor: u32,
    torn_tail: bool,
}

impl<R: Clone> Default for Disk<R> {
    fn default() -> Self {
        Disk {
            records: Vec::new(),
            durable_len: 0,
            fsync_free_at: Time::ZERO,
            slow_factor: 1,
            torn_tail: false,
        }
    }
}

impl<R: Clone> Disk<R> {
    /// Put `record` in the write cache, unless the disk is full.
    pub fn append(&mut self, record: R) -> Result<(), DiskFull> {
        if self.records.len() >= RECORDS_MAX {
            return Err(DiskFull);
        }
        self.torn_tail = false;
        self.records.push(record);
        debug_assert!(self.records.len() <= RECORDS_MAX);
        assert!(
            self.durable_len < self.records.len(),
            "appended past durable"
        );
        Ok(())
    }

    /// Issue an fsync at `now`: returns when it completes and how many records it covers.
    /// Fsyncs queue behind each other.
    /// `latency` is `DiskConfig::fsync`, compiled.
    pub fn fsync(&mut self, now: Time, latency: &Sampler, rng: &mut Stream) -> (Time, usize) {
        debug_assert!(self.slow_factor >= 1, "a slow disk is never faster");
        let latency_ns = latency
            .sample_ns(rng)
            .saturating_mul(self.slow_factor as u64);
        let done = now.max(self.fsync_free_at).plus_ns(latency_ns);
        debug_assert!(
            done >= now && done >= self.fsync_free_at,
            "fsyncs complete in issue order, never before issued"
        );
        self.fsync_free_at = done;
        (done, self.records.len())
    }

    /// An fsync covering the first `len` records completed.
    pub fn complete(&mut self, len: usize) {
        assert!(
            len <= self.records.len(),
            "fsync covers records that do not exist"
        );
        self.durable_len = self.durable_len.max(len);
        debug_assert!(self.durable_len <= self.records.len());
    }

    /// The process crashed: keep the durable prefix; drop or tear the rest.
    pub fn crash(&mut self, mode: CrashMode, rng: &mut Stream) {
        assert!(
            self.durable_len <= self.records.len(),
            "durable past the records"
        );
        let cached = self.records.len() - self.durable_len;
        let survivors = match mode {
            CrashMode::Drop => 0,
            CrashMode::Tear => rng.below(cached as u64 + 1) as usize,
        };
        let keep = self.durable_len + survivors;
        self.torn_tail = mode == CrashMode::Tear && keep < self.records.len();
        self.records.truncate(keep);
        // What survived a crash is on the platter now.
        self.durable_len = keep;
        debug_assert_eq!(
            self.durable_len,
            self.records.len(),
            "a crash keeps only what is durable"
        );
        self.fsync_free_at = Time::ZERO;
    }

    pub fn records(&self) -> &[R] {
        &self.records
    }

    pub fn durable_len(&self) -> usize {
        self.durable_len
    }

    /// Whether a torn record follows the records (reported once, at the next start).
    pub fn torn_tail(&self) -> bool {
        self.torn_tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    fn setup() -> (Disk<u32>, Sampler, Stream) {
        (
            Disk::default(),
            Sampler::new(&Latency::Constant { us: 100 }),
            Stream::new(3, Purpose::Disk),
        )
    }

    #[test]
    fn crash_loses_exactly_the_unsynced_records() {
        let (mut d, c, mut rng) = setup();
        d.append(1).unwrap();
        d.append(2).unwrap();
        let (done, len) = d.fsync(Time(0), &c, &mut rng);
        assert_eq!((done, len), (Time(100_000), 2));
        d.append(3).unwrap();
        d.complete(len);
        d.append(4).unwrap();
        d.crash(CrashMode::Drop, &mut rng);
        assert_eq!(d.records(), &[1, 2]);
        assert!(!d.torn_tail());
    }

    #[test]
    fn an_fsync_in_flight_at_the_crash_covers_nothing() {
        let (mut d, c, mut rng) = setup();
        d.append(1).unwrap();
        let _pending = d.fsync(Time(0), &c, &mut rng);
        d.crash(CrashMode::Drop, &mut rng);
        assert!(d.records().is_empty());
    }

    #[test]
    fn fsyncs_queue_and_slow_down() {
        let (mut d, c, mut rng) = setup();
        d.append(1).unwrap();
        assert_eq!(d.fsync(Time(0), &c, &mut rng).0, Time(100_000));
        assert_eq!(d.fsync(Time(0), &c, &mut rng).0, Time(200_000));
        d.slow_factor = 10;
        assert_eq!(d.fsync(Time(1_000_000), &c, &mut rng).0, Time(2_000_000));
    }

    #[test]
    fn tear_keeps_a_prefix_of_the_unsynced_tail() {
        let mut seen_partial = false;
        for seed in 0..50 {
            let (mut d, c, _) = setup();
            let mut rng = Stream::new(seed, Purpose::Disk);
            d.append(1).unwrap();
            let (_, len) = d.fsync(Time(0), &c, &mut rng);
            d.complete(len);
            for r in 2..=6 {
                d.append(r).unwrap();
            }
            d.crash(CrashMode::Tear, &mut rng);
            let kept = d.records().len();
            assert!((1..=6).contains(&kept));
            assert_eq!(d.records(), &[1, 2, 3, 4, 5, 6][..kept]);
            assert_eq!(d.torn_tail(), kept < 6);
            seen_partial |= kept > 1 && kept < 6;
        }
        assert!(seen_partial);
    }

    #[test]
    fn a_full_disk_refuses_records() {
        let mut d: Disk<()> = Disk::default();
        for _ in 0..RECORDS_MAX {
            d.append(()).unwrap();
        }
        assert_eq!(d.append(()), Err(DiskFull));
        assert_eq!(d.records().len(), RECORDS_MAX);
    }
}
