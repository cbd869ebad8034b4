//! The message queue's replication checks (issue 15; anchors §7, the TLA+ model's
//! invariants): online, **LeaderInIsr** (a partition's state and every replica that
//! presumes to lead have the leader in the ISR) and **StrongIsr** (every ISR member of a
//! presumed leader holds the leader's records below its high watermark: data shown to
//! consumers survives any clean election); at the end, **AckedRecordLost** (every
//! acks = all record a producer saw acknowledged is in its partition's final log at the
//! offset it was acknowledged with). acks = 1 records lost are counted, not failed (Kafka's
//! documented trade-off); so are acks = all records acknowledged by a leader of an epoch
//! older than an unclean leader election of their partition (`unclean_leader_election`,
//! the other documented one: even a stale leader still answering is covered).
//! After the heal, **ControllerView**: the controller's view (its epoch, the live brokers
//! with their registrations, every partition's state and znode version) equals what
//! ZooKeeper holds (a liveness condition: the run waits for it, and fails liveness with
//! the first difference when it never comes).
//! Invariants: each check is a pure function of what it is given; it reports the first
//! violation in partition, then offset order.

use std::collections::BTreeMap;

use mq::BrokerId;
use mq::log::{PartitionLog, Record};
use mq::state::PartitionState;
use proto::history::MqAckRecord;

/// A violated message-queue invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqViolation {
    pub check: &'static str,
    pub detail: String,
}

/// LeaderInIsr for partition `part` with `leader` and `isr` (from its state znode or a
/// presumed leader's view).
pub fn leader_in_isr(part: u32, leader: BrokerId, isr: &[BrokerId]) -> Result<(), MqViolation> {
    if isr.contains(&leader) {
        return Ok(());
    }
    Err(MqViolation {
        check: "LeaderInIsr",
        detail: format!(
            "partition {part}: leader {} outside its ISR {isr:?}",
            leader.0
        ),
    })
}

/// StrongIsr for partition `part`: `leader` presumes to lead with high watermark `hw` and
/// `leader_log`; each of `members` (its ISR, the live ones: a crashed member's durable log
/// is checked when it is back) holds the same records below `hw`.
pub fn strong_isr(
    part: u32,
    (leader, hw, leader_log): (BrokerId, u64, &PartitionLog),
    members: &[(BrokerId, &PartitionLog)],
) -> Result<(), MqViolation> {
    let want = leader_log
        .digest_below(hw)
        .expect("a leader's HW within its own log");
    for &(m, log) in members {
        if m == leader || log.digest_below(hw) == Some(want) {
            continue;
        }
        let first_diff = (0..hw)
            .find(|&o| log.get(o) != leader_log.get(o))
            .unwrap_or(hw);
        return Err(MqViolation {
            check: "StrongIsr",
            detail: format!(
                "partition {part}: ISR member {} differs from leader {} below its HW {hw}: \
                 at offset {first_diff} it holds {:?}, the leader {:?}",
                m.0,
                leader.0,
                log.get(first_diff),
                leader_log.get(first_diff)
            ),
        });
    }
    Ok(())
}

/// A controller's picture of the cluster, or ZooKeeper's (`/controller_epoch`,
/// `/brokers/ids/N` with their registrations, the partition state znodes and versions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerView {
    pub epoch: u32,
    pub live: BTreeMap<BrokerId, u64>,
    pub states: BTreeMap<u32, (PartitionState, i32)>,
}

/// ControllerView: the controller's `view` equals ZooKeeper's `zk`; else the first
/// difference (epoch, then membership, then partitions in order).
pub fn controller_agrees(view: &ControllerView, zk: &ControllerView) -> Result<(), String> {
    if view.epoch != zk.epoch {
        return Err(format!(
            "controller epoch {} but /controller_epoch holds {}",
            view.epoch, zk.epoch
        ));
    }
    if view.live != zk.live {
        return Err(format!(
            "the controller's live brokers {:?} but /brokers/ids holds {:?}",
            view.live, zk.live
        ));
    }
    let parts = zk.states.keys().chain(view.states.keys());
    for p in parts {
        let (mine, theirs) = (view.states.get(p), zk.states.get(p));
        if mine != theirs {
            let text = |s: Option<&(PartitionState, i32)>| {
                s.map_or("nothing".to_string(), |(s, v)| {
                    format!("{} v{v}", s.to_text())
                })
            };
            return Err(format!(
                "partition {p}: the controller holds {}, the znode {}",
                text(mine),
                text(theirs)
            ));
        }
    }
    Ok(())
}

/// What the end of a run shows of the acknowledged records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckFigures {
    pub acked_all: u64,
    pub acked_one: u64,
    /// acks = 1 records not in the final log where acknowledged (documented, not failed).
    pub acked_one_lost: u64,
    /// acks = all records not in the final log, acknowledged in an epoch older than an
    /// unclean election of their partition (documented, not failed).
    pub unclean_lost: u64,
}

/// AckedRecordLost: every acks = all acknowledgement in `acks` names a record of the final
/// log of its partition (`logs`, by partition) at its offset, with its value — unless it
/// was acknowledged in a leader epoch older than an unclean election of its partition
/// (`unclean`: partition → the highest unclean epoch), when its loss is counted.
pub fn acked_kept(
    acks: &[&MqAckRecord],
    logs: &BTreeMap<u32, Vec<Record>>,
    unclean: &BTreeMap<u32, u32>,
) -> Result<AckFigures, MqViolation> {
    let mut f = AckFigures::default();
    let mut lost_all: Option<&MqAckRecord> = None;
    for a in acks {
        let found = logs
            .get(&a.part)
            .and_then(|log| log.get(usize::try_from(a.offset).ok()?));
        let kept = found.is_some_and(|r| r.value == a.value && r.offset == a.offset);
        let documented = unclean.get(&a.part).is_some_and(|&e| a.leader_epoch < e);
        if a.acks_all {
            f.acked_all += 1;
            let earlier = lost_all.is_some_and(|l| (l.part, l.offset) <= (a.part, a.offset));
            if !kept && documented {
                f.unclean_lost += 1;
            } else if !kept && !earlier {
                lost_all = Some(a);
            }
        } else {
            f.acked_one += 1;
            f.acked_one_lost += u64::from(!kept);
        }
    }
    match lost_all {
        None => Ok(f),
        Some(a) => {
            let found = logs
                .get(&a.part)
                .and_then(|log| log.get(usize::try_from(a.offset).ok()?));
            Err(MqViolation {
                check: "AckedRecordLost",
                detail: format!(
                    "partition {}: value {:#x} acknowledged (acks=all) at offset {} by broker \
                     {} at {} ns to {}; the final log holds {found:?} there",
                    a.part, a.value, a.offset, a.leader, a.time_ns, a.producer
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::ProcessId;

    const A: BrokerId = BrokerId(0);
    const B: BrokerId = BrokerId(1);

    fn log_of(values: &[u64]) -> PartitionLog {
        let mut log = PartitionLog::new();
        for (i, &v) in values.iter().enumerate() {
            log.append(1, i as u64, v);
        }
        log
    }

    fn ack(part: u32, offset: u64, value: u64, acks_all: bool) -> MqAckRecord {
        MqAckRecord {
            producer: ProcessId(9),
            part,
            offset,
            key: 0,
            value,
            acks_all,
            leader: 0,
            leader_epoch: 3,
            time_ns: 5,
            latency_ns: 1,
        }
    }

    #[test]
    fn leader_in_isr_fails_only_for_a_leader_outside() {
        assert_eq!(leader_in_isr(0, A, &[A, B]), Ok(()));
        let v = leader_in_isr(3, A, &[B]).unwrap_err();
        assert_eq!(v.check, "LeaderInIsr");
        assert_eq!(
            v.detail,
            "partition 3: leader 0 outside its ISR [BrokerId(1)]"
        );
    }

    #[test]
    fn strong_isr_fails_on_a_member_that_differs_below_the_hw() {
        let leader = log_of(&[10, 11, 12]);
        let diverged = log_of(&[10, 99, 12]);
        let v = strong_isr(0, (A, 2, &leader), &[(B, &diverged)]).unwrap_err();
        assert_eq!(v.check, "StrongIsr");
        assert!(v.detail.contains("at offset 1"), "{}", v.detail);
        // A member cut below the HW (KIP-101's truncation to its own HW) fails too.
        let short = log_of(&[10]);
        assert!(strong_isr(0, (A, 2, &leader), &[(B, &short)]).is_err());
    }

    #[test]
    fn strong_isr_near_miss_a_difference_at_or_above_the_hw_passes() {
        let leader = log_of(&[10, 11, 12]);
        let behind_above_hw = log_of(&[10, 11, 77, 78]);
        assert_eq!(
            strong_isr(0, (A, 2, &leader), &[(B, &behind_above_hw), (A, &leader)]),
            Ok(())
        );
    }

    #[test]
    fn an_acks_all_record_missing_or_replaced_at_its_offset_is_lost() {
        let logs = BTreeMap::from([(0, log_of(&[10, 11]).records().to_vec())]);
        let none = BTreeMap::new();
        let replaced = ack(0, 1, 12, true);
        let v = acked_kept(&[&replaced], &logs, &none).unwrap_err();
        assert_eq!(v.check, "AckedRecordLost");
        assert!(v.detail.contains("offset 1"), "{}", v.detail);
        let missing = ack(0, 5, 10, true);
        assert!(acked_kept(&[&missing], &logs, &none).is_err());
        let other_part = ack(1, 0, 10, true);
        assert!(acked_kept(&[&other_part], &logs, &none).is_err());
    }

    #[test]
    fn near_miss_acks_one_losses_are_counted_and_kept_records_pass() {
        let logs = BTreeMap::from([(0, log_of(&[10, 11]).records().to_vec())]);
        let kept = ack(0, 1, 11, true);
        let one_lost = ack(0, 1, 12, false);
        let f = acked_kept(&[&kept, &one_lost], &logs, &BTreeMap::new()).unwrap();
        assert_eq!(
            f,
            AckFigures {
                acked_all: 1,
                acked_one: 1,
                acked_one_lost: 1,
                unclean_lost: 0
            }
        );
    }

    fn view() -> ControllerView {
        let s = PartitionState::new(Some(A), 2, &[A, B], 3, 70);
        ControllerView {
            epoch: 3,
            live: BTreeMap::from([(A, 70), (B, 71)]),
            states: BTreeMap::from([(0, (s, 4))]),
        }
    }

    #[test]
    fn controller_view_fails_on_a_stale_epoch_membership_state_or_version() {
        let zk = view();
        let mut epoch = view();
        epoch.epoch = 2;
        let mut live = view();
        live.live.insert(B, 99); // B re-registered since
        let mut isr = view();
        isr.states.get_mut(&0).unwrap().0 = PartitionState::new(Some(A), 2, &[A], 3, 70);
        let mut version = view();
        version.states.get_mut(&0).unwrap().1 = 3;
        let mut missing = view();
        missing.states.clear();
        for (stale, want) in [
            (epoch, "controller epoch 2"),
            (live, "live brokers"),
            (isr, "isr=0 "),
            (version, " v3,"),
            (missing, "holds nothing"),
        ] {
            let why = controller_agrees(&stale, &zk).unwrap_err();
            assert!(why.contains(want), "{why}");
        }
    }

    #[test]
    fn controller_view_near_miss_an_equal_view_agrees() {
        assert_eq!(controller_agrees(&view(), &view()), Ok(()));
    }

    #[test]
    fn an_acks_all_loss_before_an_unclean_election_is_counted_and_one_after_it_fails() {
        let logs = BTreeMap::from([(0, log_of(&[10, 11]).records().to_vec())]);
        let lost = ack(0, 1, 12, true); // acknowledged in epoch 3
        let unclean_after = BTreeMap::from([(0, 4)]);
        let f = acked_kept(&[&lost], &logs, &unclean_after).unwrap();
        assert_eq!((f.acked_all, f.unclean_lost), (1, 1));
        // Near misses: an unclean election of that very epoch or an older one, or of
        // another partition, documents nothing.
        for unclean in [BTreeMap::from([(0, 3)]), BTreeMap::from([(1, 9)])] {
            let v = acked_kept(&[&lost], &logs, &unclean).unwrap_err();
            assert_eq!(v.check, "AckedRecordLost");
        }
    }
}
