//! A partition's state as ZooKeeper holds it (`/brokers/topics/T/partitions/P/state`:
//! leader, leader epoch, ISR, controller epoch), its text in the znode, and the
//! controller's rule for a partition whose leader is gone: the first live ISR member in
//! assignment order leads the next leader epoch, the ISR shrinks to its live members; with
//! no live ISR member the partition is offline (no leader, the ISR kept: its members hold
//! the committed records). The state also names the leader's registration (its broker's
//! ZooKeeper session when it was elected, Kafka's broker epoch of KIP-380): a leader whose
//! broker re-registered since — restarted, maybe without its unflushed records, or
//! expired — is gone, and the next epoch is elected, even by a controller elected after
//! the bounce (fuzzing found a restarted leader leading its old epoch again).
//! Invariants: a state's leader is in its ISR (LeaderInIsr); the ISR is sorted, without
//! duplicates, and never empty; a new state's leader epoch is the old one's plus one.

use std::collections::{BTreeMap, BTreeSet};

use crate::BrokerId;

/// See the module header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: Option<BrokerId>,
    pub leader_epoch: u32,
    /// Sorted, no duplicates, never empty.
    pub isr: Vec<BrokerId>,
    /// The epoch of the controller that wrote it (or of the controller whose time the
    /// leader wrote an ISR change in).
    pub controller_epoch: u32,
    /// The leader's registration when elected (0 without a leader).
    pub leader_registration: u64,
}

impl PartitionState {
    /// A state with `isr` sorted; asserts the invariants.
    pub fn new(
        leader: Option<BrokerId>,
        leader_epoch: u32,
        isr: &[BrokerId],
        controller_epoch: u32,
        leader_registration: u64,
    ) -> PartitionState {
        let isr: Vec<BrokerId> = isr
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let s = PartitionState {
            leader,
            leader_epoch,
            isr,
            controller_epoch,
            leader_registration,
        };
        s.check();
        s
    }

    /// Asserts the invariants of the module header.
    pub fn check(&self) {
        assert!(!self.isr.is_empty(), "an empty ISR");
        assert!(
            self.isr.windows(2).all(|w| w[0] < w[1]),
            "an ISR out of order: {:?}",
            self.isr
        );
        assert!(
            self.leader.is_none_or(|l| self.isr.contains(&l)),
            "LeaderInIsr: leader {:?} outside {:?}",
            self.leader,
            self.isr
        );
    }

    /// The znode's data: `leader=2 epoch=5 isr=1,2,3 ce=3 reg=77` (`leader=-1`: none).
    pub fn to_text(&self) -> String {
        let leader = self.leader.map_or("-1".to_string(), |l| l.0.to_string());
        let isr: Vec<String> = self.isr.iter().map(|b| b.0.to_string()).collect();
        format!(
            "leader={leader} epoch={} isr={} ce={} reg={}",
            self.leader_epoch,
            isr.join(","),
            self.controller_epoch,
            self.leader_registration
        )
    }

    /// Reads [`PartitionState::to_text`]'s text; None when it is not one (or breaks an
    /// invariant: a checker reads what the znode holds).
    pub fn parse(text: &[u8]) -> Option<PartitionState> {
        let text = std::str::from_utf8(text).ok()?;
        let mut fields = text.split(' ');
        let mut field = |name: &str| fields.next()?.strip_prefix(name);
        let leader = match field("leader=")? {
            "-1" => None,
            l => Some(BrokerId(l.parse().ok()?)),
        };
        let leader_epoch = field("epoch=")?.parse().ok()?;
        let isr = field("isr=")?
            .split(',')
            .map(|b| b.parse().ok().map(BrokerId))
            .collect::<Option<Vec<_>>>()?;
        let controller_epoch = field("ce=")?.parse().ok()?;
        let leader_registration = field("reg=")?.parse().ok()?;
        let s = PartitionState {
            leader,
            leader_epoch,
            isr,
            controller_epoch,
            leader_registration,
        };
        let sound = !s.isr.is_empty() && s.isr.windows(2).all(|w| w[0] < w[1]);
        sound.then_some(s)
    }
}

/// The first state of a partition with replicas `assigned` (assignment order): the first
/// live one leads epoch 0, the live ones are the ISR. None while none is live.
pub fn initial(
    assigned: &[BrokerId],
    live: &BTreeMap<BrokerId, u64>,
    controller_epoch: u32,
) -> Option<PartitionState> {
    let up: Vec<BrokerId> = assigned
        .iter()
        .copied()
        .filter(|b| live.contains_key(b))
        .collect();
    let leader = *up.first()?;
    let reg = live[&leader];
    Some(PartitionState::new(
        Some(leader),
        0,
        &up,
        controller_epoch,
        reg,
    ))
}

/// The controller's decision for a partition in `current` state with replicas `assigned`
/// when `live` brokers are registered: None to keep it; else the state to write (see the
/// module header). A live leader is kept (the leader shrinks its own ISR).
pub fn elect(
    current: &PartitionState,
    assigned: &[BrokerId],
    live: &BTreeMap<BrokerId, u64>,
    controller_epoch: u32,
) -> Option<PartitionState> {
    let registered = |l: BrokerId| live.get(&l) == Some(&current.leader_registration);
    if current.leader.is_some_and(registered) {
        return None;
    }
    let live_isr: Vec<BrokerId> = current
        .isr
        .iter()
        .copied()
        .filter(|b| live.contains_key(b))
        .collect();
    let next_epoch = current
        .leader_epoch
        .checked_add(1)
        .expect("leader epochs fit");
    let Some(&leader) = assigned.iter().find(|b| live_isr.contains(b)) else {
        // Offline: no live ISR member may lead (an unclean election would lose records).
        return current
            .leader
            .is_some()
            .then(|| PartitionState::new(None, next_epoch, &current.isr, controller_epoch, 0));
    };
    Some(PartitionState::new(
        Some(leader),
        next_epoch,
        &live_isr,
        controller_epoch,
        live[&leader],
    ))
}

/// Unclean leader election (`unclean.leader.election.enable`) for a partition in `current`
/// state that has no live ISR member: the first live replica in assignment order leads the
/// next epoch alone (its ISR is itself). Acknowledged records it never had are lost — the
/// documented price of availability. None while a live ISR member could lead cleanly, or
/// while no replica is live.
pub fn elect_unclean(
    current: &PartitionState,
    assigned: &[BrokerId],
    live: &BTreeMap<BrokerId, u64>,
    controller_epoch: u32,
) -> Option<PartitionState> {
    let registered = |l: BrokerId| live.get(&l) == Some(&current.leader_registration);
    let clean =
        current.leader.is_some_and(registered) || current.isr.iter().any(|b| live.contains_key(b));
    if clean {
        return None;
    }
    let &leader = assigned.iter().find(|b| live.contains_key(b))?;
    let next_epoch = current
        .leader_epoch
        .checked_add(1)
        .expect("leader epochs fit");
    Some(PartitionState::new(
        Some(leader),
        next_epoch,
        &[leader],
        controller_epoch,
        live[&leader],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ids: &[u32]) -> Vec<BrokerId> {
        ids.iter().map(|&i| BrokerId(i)).collect()
    }

    /// Brokers registered with registration 100 + id.
    fn live(ids: &[u32]) -> BTreeMap<BrokerId, u64> {
        ids.iter()
            .map(|&i| (BrokerId(i), 100 + u64::from(i)))
            .collect()
    }

    fn led(leader: u32, epoch: u32, isr: &[u32], ce: u32) -> PartitionState {
        let reg = 100 + u64::from(leader);
        PartitionState::new(Some(BrokerId(leader)), epoch, &b(isr), ce, reg)
    }

    #[test]
    fn the_text_reads_back() {
        let s = PartitionState::new(Some(BrokerId(2)), 5, &b(&[3, 2, 1]), 7, 77);
        assert_eq!(s.to_text(), "leader=2 epoch=5 isr=1,2,3 ce=7 reg=77");
        assert_eq!(PartitionState::parse(s.to_text().as_bytes()), Some(s));
        let offline = PartitionState::new(None, 6, &b(&[1]), 7, 0);
        assert_eq!(offline.to_text(), "leader=-1 epoch=6 isr=1 ce=7 reg=0");
        assert_eq!(
            PartitionState::parse(offline.to_text().as_bytes()),
            Some(offline)
        );
        for bad in [
            "",
            "leader=1",
            "leader=x epoch=1 isr=1 ce=1 reg=0",
            "leader=1 epoch=1 isr= ce=1 reg=0",
            "leader=1 epoch=1 isr=1 ce=1",
        ] {
            assert_eq!(PartitionState::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(
            PartitionState::parse(b"leader=1 epoch=1 isr=2,1 ce=1 reg=0"),
            None,
            "an unsorted ISR"
        );
    }

    #[test]
    fn the_first_state_leads_with_the_first_live_replica() {
        let s = initial(&b(&[3, 1, 2]), &live(&[1, 2]), 4).unwrap();
        assert_eq!(s, led(1, 0, &[1, 2], 4));
        assert_eq!(initial(&b(&[3]), &live(&[1]), 4), None);
    }

    #[test]
    fn a_dead_leader_is_replaced_by_the_first_live_isr_member_in_assignment_order() {
        let cur = led(1, 3, &[1, 2, 3], 1);
        assert_eq!(elect(&cur, &b(&[1, 2, 3]), &live(&[1, 2, 3]), 2), None);
        let next = elect(&cur, &b(&[1, 3, 2]), &live(&[2, 3]), 2).unwrap();
        assert_eq!(next, led(3, 4, &[2, 3], 2));
    }

    #[test]
    fn a_leader_that_re_registered_is_gone_and_may_lead_the_next_epoch() {
        let cur = led(1, 3, &[1, 2], 1);
        let mut bounced = live(&[1, 2]);
        bounced.insert(BrokerId(1), 555); // restarted: a new session
        let next = elect(&cur, &b(&[1, 2]), &bounced, 2).unwrap();
        assert_eq!(
            next,
            PartitionState::new(Some(BrokerId(1)), 4, &b(&[1, 2]), 2, 555)
        );
        assert_eq!(elect(&next, &b(&[1, 2]), &bounced, 2), None, "settled");
    }

    #[test]
    fn without_a_live_isr_member_the_partition_goes_offline_and_keeps_its_isr() {
        let cur = led(1, 3, &[1], 1);
        let off = elect(&cur, &b(&[1, 2, 3]), &live(&[2, 3]), 2).unwrap();
        assert_eq!(off, PartitionState::new(None, 4, &b(&[1]), 2, 0));
        assert_eq!(
            elect(&off, &b(&[1, 2, 3]), &live(&[2, 3]), 2),
            None,
            "stays"
        );
        let back = elect(&off, &b(&[1, 2, 3]), &live(&[1, 2]), 2).unwrap();
        assert_eq!(back, led(1, 5, &[1], 2));
    }

    #[test]
    fn an_unclean_election_lets_the_first_live_replica_lead_alone_only_when_no_isr_member_lives() {
        let cur = led(1, 3, &[1], 1);
        let assigned = b(&[1, 2, 3]);
        let off = elect(&cur, &assigned, &live(&[2, 3]), 2).unwrap();
        for s in [&cur, &off] {
            let next = elect_unclean(s, &assigned, &live(&[2, 3]), 2).unwrap();
            assert_eq!(next, led(2, s.leader_epoch + 1, &[2], 2));
        }
        assert_eq!(
            elect_unclean(&cur, &assigned, &live(&[1, 3]), 2),
            None,
            "the leader lives"
        );
        let isr_alive = led(1, 3, &[1, 3], 1);
        assert_eq!(
            elect_unclean(&isr_alive, &assigned, &live(&[2, 3]), 2),
            None,
            "an ISR member can lead cleanly"
        );
        assert_eq!(
            elect_unclean(&off, &assigned, &live(&[]), 2),
            None,
            "none live"
        );
    }

    #[test]
    #[should_panic(expected = "LeaderInIsr")]
    fn a_leader_outside_its_isr_is_refused() {
        PartitionState::new(Some(BrokerId(4)), 1, &b(&[1, 2]), 1, 0);
    }
}
