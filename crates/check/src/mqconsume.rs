//! The message queue's consumer-group checks (issue 15), judged on a passing run's
//! history: **ConsumedTwoValues** (consumers never see two different records at one
//! partition offset — two consumptions that differ, or a consumption that differs from
//! the partition's final log there or lies past its end: a record shown to a consumer
//! that did not survive), **OffsetBackward** (the committed offset of a partition never
//! goes back, judged in the order the ensemble applied the commits: by the commit's
//! zxid, so an owner that commits a lower offset after another owner committed a higher
//! one is caught whatever the clients' clocks or the history's order), and
//! **NotConsumed** (every record of each partition's final log — below its final high
//! watermark, which equals its log end once the run settled — was consumed at least once
//! with its value; consumptions past the first of an offset are counted as duplicates,
//! at-least-once delivery's documented cost). Consumptions served by a leader of an epoch
//! older than an unclean leader election of their partition (`unclean_leader_election`)
//! are counted (`unclean_reads`), not judged: what they showed may be lost by design.
//! Invariants: each check is a pure function of what it is given; it reports the first
//! violation in partition, then offset order (commits: in zxid order).

use std::collections::{BTreeMap, BTreeSet};

use mq::log::Record;
use proto::history::{MqCommitRecord, MqConsumeRecord};

use crate::mq::MqViolation;

/// What the consumptions show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumeFigures {
    /// Consumptions in all.
    pub consumed: u64,
    /// Consumptions of an offset already consumed (by anyone).
    pub duplicates: u64,
    /// Consumptions served in an epoch older than an unclean election (not judged).
    pub unclean_reads: u64,
}

/// ConsumedTwoValues and NotConsumed over `consumed` (any order) against the final logs
/// `logs` (by partition), except the consumptions served in an epoch older than the
/// partition's last unclean election (`unclean`: partition → its epoch), which are counted
/// and excuse their offsets from NotConsumed.
pub fn consumed_once_each(
    consumed: &[&MqConsumeRecord],
    logs: &BTreeMap<u32, Vec<Record>>,
    unclean: &BTreeMap<u32, u32>,
) -> Result<ConsumeFigures, MqViolation> {
    let stale = |c: &MqConsumeRecord| unclean.get(&c.part).is_some_and(|&e| c.leader_epoch < e);
    let excused: BTreeSet<(u32, u64)> = consumed
        .iter()
        .filter(|c| stale(c))
        .map(|c| (c.part, c.offset))
        .collect();
    let judged: Vec<&MqConsumeRecord> = consumed.iter().copied().filter(|c| !stale(c)).collect();
    let mut f = judged_once_each(&judged, logs, &excused)?;
    f.unclean_reads = (consumed.len() - judged.len()) as u64;
    f.consumed += f.unclean_reads;
    Ok(f)
}

/// [`consumed_once_each`] over the judged consumptions; `excused` offsets need none.
fn judged_once_each(
    consumed: &[&MqConsumeRecord],
    logs: &BTreeMap<u32, Vec<Record>>,
    excused: &BTreeSet<(u32, u64)>,
) -> Result<ConsumeFigures, MqViolation> {
    let mut f = ConsumeFigures::default();
    // (partition, offset) → the first consumption of it.
    let mut first: BTreeMap<(u32, u64), &MqConsumeRecord> = BTreeMap::new();
    let mut differ: Option<(&MqConsumeRecord, &MqConsumeRecord)> = None;
    for &c in consumed {
        f.consumed += 1;
        match first.get(&(c.part, c.offset)) {
            None => {
                first.insert((c.part, c.offset), c);
            }
            Some(&a) => {
                f.duplicates += 1;
                let earlier = differ.is_some_and(|(d, _)| (d.part, d.offset) <= (c.part, c.offset));
                if a.value != c.value && !earlier {
                    differ = Some((a, c));
                }
            }
        }
    }
    assert_eq!(f.consumed, f.duplicates + first.len() as u64);
    // A consumption that the final log contradicts, first in (partition, offset) order.
    let lost = first.values().find(|c| {
        let kept = logs
            .get(&c.part)
            .and_then(|l| l.get(usize::try_from(c.offset).ok()?));
        kept.is_none_or(|r| r.value != c.value)
    });
    let two = match (differ, lost) {
        (Some((a, _)), Some(l)) if (l.part, l.offset) < (a.part, a.offset) => Err(l),
        (Some(pair), _) => Ok(pair),
        (None, Some(l)) => Err(l),
        (None, None) => {
            return not_consumed(&first, logs, excused).map(|()| f);
        }
    };
    let detail = match two {
        Ok((a, b)) => format!(
            "partition {} offset {}: {} read value {:#x} (from broker {} at {} ns), {} read \
             {:#x} (from broker {} at {} ns)",
            a.part,
            a.offset,
            a.consumer,
            a.value,
            a.leader,
            a.time_ns,
            b.consumer,
            b.value,
            b.leader,
            b.time_ns
        ),
        Err(c) => {
            let log = logs.get(&c.part).map_or(&[][..], |l| l.as_slice());
            let held = log.get(usize::try_from(c.offset).unwrap_or(usize::MAX));
            format!(
                "partition {} offset {}: {} read value {:#x} (from broker {} at {} ns); the \
                 final log (end {}) holds {held:?} there",
                c.part,
                c.offset,
                c.consumer,
                c.value,
                c.leader,
                c.time_ns,
                log.len()
            )
        }
    };
    Err(MqViolation {
        check: "ConsumedTwoValues",
        detail,
    })
}

/// NotConsumed: every record of every final log was consumed (with its value, which
/// [`consumed_once_each`] checked before).
fn not_consumed(
    first: &BTreeMap<(u32, u64), &MqConsumeRecord>,
    logs: &BTreeMap<u32, Vec<Record>>,
    excused: &BTreeSet<(u32, u64)>,
) -> Result<(), MqViolation> {
    for (&part, log) in logs {
        let unseen = |r: &&Record| {
            let at = (part, r.offset);
            !first.contains_key(&at) && !excused.contains(&at)
        };
        if let Some(r) = log.iter().find(unseen) {
            let count = log.iter().filter(unseen).count();
            return Err(MqViolation {
                check: "NotConsumed",
                detail: format!(
                    "partition {part}: the record at offset {} (value {:#x}) of the final log \
                     (end {}) was never consumed ({count} of its records were not)",
                    r.offset,
                    r.value,
                    log.len()
                ),
            });
        }
    }
    Ok(())
}

/// OffsetBackward: in zxid order (the order the ensemble applied them), each partition's
/// committed offsets never decrease — except on the `unclean` partitions (an unclean
/// election cut records below a consumer's position, which then starts from the new log
/// end: documented).
pub fn commits_monotone(
    commits: &[&MqCommitRecord],
    unclean: &BTreeSet<u32>,
) -> Result<(), MqViolation> {
    let mut ordered: Vec<&MqCommitRecord> = commits.to_vec();
    ordered.sort_by_key(|c| c.zxid);
    let mut last: BTreeMap<u32, &MqCommitRecord> = BTreeMap::new();
    for c in ordered {
        if let Some(&before) = last.get(&c.part)
            && c.offset < before.offset
            && !unclean.contains(&c.part)
        {
            return Err(MqViolation {
                check: "OffsetBackward",
                detail: format!(
                    "partition {}: {} (session {}) committed offset {} at zxid {} after {} \
                     (session {}) committed {} at zxid {}",
                    c.part,
                    c.consumer,
                    c.session,
                    c.offset,
                    c.zxid,
                    before.consumer,
                    before.session,
                    before.offset,
                    before.zxid
                ),
            });
        }
        last.insert(c.part, c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mq::log::PartitionLog;
    use proto::ProcessId;
    use proto::Zxid;
    use proto::zk::SessionId;

    fn log_of(values: &[u64]) -> Vec<Record> {
        let mut log = PartitionLog::new();
        for (i, &v) in values.iter().enumerate() {
            log.append(1, i as u64, v);
        }
        log.records().to_vec()
    }

    fn got(consumer: u32, part: u32, offset: u64, value: u64) -> MqConsumeRecord {
        MqConsumeRecord {
            consumer: ProcessId(consumer),
            session: SessionId(7),
            part,
            offset,
            value,
            leader: 1,
            leader_epoch: 2,
            time_ns: offset * 10,
        }
    }

    fn commit(consumer: u32, part: u32, offset: u64, zxid: u64) -> MqCommitRecord {
        MqCommitRecord {
            consumer: ProcessId(consumer),
            session: SessionId(u64::from(consumer)),
            part,
            offset,
            version: 1,
            zxid: Zxid(zxid),
            time_ns: zxid,
        }
    }

    #[test]
    fn two_consumers_reading_different_values_at_one_offset_fail() {
        let logs = BTreeMap::from([(0, log_of(&[10, 11]))]);
        let (a, b, c) = (got(8, 0, 0, 10), got(8, 0, 1, 11), got(9, 0, 1, 99));
        let v = consumed_once_each(&[&a, &b, &c], &logs, &BTreeMap::new()).unwrap_err();
        assert_eq!(v.check, "ConsumedTwoValues");
        assert!(
            v.detail.starts_with("partition 0 offset 1: p8"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn a_consumed_record_the_final_log_lost_fails() {
        let logs = BTreeMap::from([(0, log_of(&[10, 11]))]);
        // Replaced at its offset, and past the final log's end.
        let (a, b) = (got(8, 0, 0, 10), got(8, 0, 1, 12));
        let v = consumed_once_each(&[&a, &b], &logs, &BTreeMap::new()).unwrap_err();
        assert_eq!(v.check, "ConsumedTwoValues");
        assert!(v.detail.contains("holds Some("), "{}", v.detail);
        let past = got(8, 0, 2, 13);
        let v = consumed_once_each(&[&a, &got(8, 0, 1, 11), &past], &logs, &BTreeMap::new())
            .unwrap_err();
        assert!(v.detail.contains("(end 2) holds None"), "{}", v.detail);
    }

    #[test]
    fn a_read_served_before_an_unclean_election_is_counted_not_judged() {
        // Offset 1 was read as 12 from the epoch-2 leader; an unclean election of epoch 3
        // replaced it with 11, which nobody read again.
        let logs = BTreeMap::from([(0, log_of(&[10, 11]))]);
        let (a, b) = (got(8, 0, 0, 10), got(8, 0, 1, 12));
        let f = consumed_once_each(&[&a, &b], &logs, &BTreeMap::from([(0, 3)])).unwrap();
        assert_eq!(
            (f.consumed, f.unclean_reads),
            (2, 2),
            "both read in epoch 2"
        );
        // Near misses: an unclean election of the read's own epoch, or of another
        // partition, excuses nothing.
        for unclean in [BTreeMap::from([(0, 2)]), BTreeMap::from([(1, 9)])] {
            let v = consumed_once_each(&[&a, &b], &logs, &unclean).unwrap_err();
            assert_eq!(v.check, "ConsumedTwoValues");
        }
    }

    #[test]
    fn a_record_never_consumed_fails() {
        let logs = BTreeMap::from([(0, log_of(&[10, 11])), (1, log_of(&[20, 21, 22]))]);
        let seen = [
            got(8, 0, 0, 10),
            got(8, 0, 1, 11),
            got(9, 1, 0, 20),
            got(9, 1, 2, 22),
        ];
        let refs: Vec<&MqConsumeRecord> = seen.iter().collect();
        let v = consumed_once_each(&refs, &logs, &BTreeMap::new()).unwrap_err();
        assert_eq!(v.check, "NotConsumed");
        assert!(
            v.detail.starts_with("partition 1: the record at offset 1"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn near_miss_duplicates_of_the_same_record_pass_and_are_counted() {
        let logs = BTreeMap::from([(0, log_of(&[10, 11])), (1, Vec::new())]);
        let seen = [
            got(8, 0, 0, 10),
            got(8, 0, 1, 11),
            got(9, 0, 0, 10),
            got(9, 0, 1, 11),
        ];
        let refs: Vec<&MqConsumeRecord> = seen.iter().collect();
        let f = consumed_once_each(&refs, &logs, &BTreeMap::new()).unwrap();
        assert_eq!(
            f,
            ConsumeFigures {
                consumed: 4,
                duplicates: 2,
                unclean_reads: 0
            }
        );
    }

    #[test]
    fn a_lower_offset_committed_after_a_higher_one_fails() {
        let (a, b, c) = (
            commit(8, 0, 5, 100),
            commit(9, 0, 9, 120),
            commit(8, 0, 7, 130),
        );
        let v = commits_monotone(&[&a, &b, &c], &BTreeSet::new()).unwrap_err();
        assert_eq!(v.check, "OffsetBackward");
        assert!(v.detail.starts_with("partition 0: p8"), "{}", v.detail);
        assert!(v.detail.contains("committed offset 7"), "{}", v.detail);
        assert!(v.detail.contains("committed 9 at"), "{}", v.detail);
        // A partition that had an unclean election may go back (the consumer's reset);
        // another partition's election excuses nothing.
        assert_eq!(
            commits_monotone(&[&a, &b, &c], &BTreeSet::from([0])),
            Ok(())
        );
        assert!(commits_monotone(&[&a, &b, &c], &BTreeSet::from([1])).is_err());
    }

    #[test]
    fn near_miss_commits_judged_in_zxid_order_and_per_partition_pass() {
        // Listed out of order (as a history ordered by answer times could), equal
        // re-commits, and a lower offset on another partition.
        let seen = [
            commit(8, 0, 9, 120),
            commit(8, 0, 5, 100),
            commit(9, 0, 9, 130),
            commit(9, 1, 2, 140),
        ];
        let refs: Vec<&MqCommitRecord> = seen.iter().collect();
        assert_eq!(commits_monotone(&refs, &BTreeSet::new()), Ok(()));
    }
}
