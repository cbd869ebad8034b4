//! The partition leader's view of its followers: their log end offsets as their fetches
//! report them, the in-sync replica set (ISR), the high watermark (HW) and the ISR changes
//! the leader should propose (each a conditional write of the partition's state znode,
//! applied here only once it succeeded: [`LeaderView::set_isr`]).
//! Rules (Kafka's, with the TLA+ model's fixes under [`Protocol::Fixed`]):
//! - a fetch from offset `o` says the follower holds `o` records; with fencing (KIP-320)
//!   a fetch carrying another leader epoch is refused;
//! - HW = the minimum log end offset over the ISR (the leader's own included, counted only
//!   as far as it is durable: [`LeaderView::on_flushed`]), never lowered; under `Fixed` it
//!   advances only while every ISR member fetches in this epoch. While an ISR change is
//!   being written ([`LeaderView::proposing`]) the HW counts the *maximal* ISR — the current
//!   one and every proposed member — so a member whose join is written later never finds
//!   the HW already past its log end (Kafka's maximal ISR; fuzzing found the race);
//! - a follower not caught up to the leader's log end for `lag_ms` leaves the ISR; one that
//!   fetched from this leader and whose log end reached the HW may join — under `Fixed`
//!   only once the HW reached this epoch's start offset;
//! - an `acks = all` record at offset `o` is committed once HW > `o` with at least
//!   `min_insync` replicas in the ISR.
//!
//! Invariants: the leader is in its ISR; the HW never decreases and never passes the
//! leader's log end offset; every ISR member is a known replica.

use std::collections::{BTreeMap, BTreeSet};

use crate::{BrokerId, Protocol};

/// Most replicas of one partition.
pub const REPLICAS_MAX: usize = 64;

/// The leader's settings for one partition.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct IsrConfig {
    pub protocol: Protocol,
    /// Fetches are fenced by the current leader epoch (KIP-320; off: the planted
    /// `kafka-unfenced-fetch`).
    pub fenced: bool,
    /// A follower not caught up for this long leaves the ISR (`replica.lag.time.max.ms`).
    pub lag_ms: u64,
    /// `min.insync.replicas`.
    pub min_insync: usize,
}

/// Why a fetch was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// The follower's leader epoch is older than the leader's.
    FencedLeaderEpoch,
    /// The follower's leader epoch is newer than the leader's (this leader is stale).
    UnknownLeaderEpoch,
}

/// What the leader knows of one follower.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Follower {
    leo: u64,
    /// The leader epoch of its last accepted fetch.
    epoch: Option<u32>,
    /// When it was last caught up to the leader's log end, ns.
    caught_up_ns: u64,
}

/// See the module header.
#[derive(Clone, Debug)]
pub struct LeaderView {
    cfg: IsrConfig,
    me: BrokerId,
    epoch: u32,
    /// The leader's log end offset when it became leader: this epoch's first offset.
    epoch_start: u64,
    isr: BTreeSet<BrokerId>,
    followers: BTreeMap<BrokerId, Follower>,
    hw: u64,
    /// How far the leader's own log is durable (what its own log end counts for the HW).
    own_durable: u64,
    /// Members of ISR proposals being written (counted for the HW until written).
    pending: BTreeSet<BrokerId>,
}

impl LeaderView {
    /// `me` became leader of `epoch` with log end offset `leo`, high watermark `hw`, the
    /// replica set `replicas` and the ISR `isr` of the partition state it was elected by.
    pub fn new(
        cfg: IsrConfig,
        me: BrokerId,
        epoch: u32,
        (leo, hw): (u64, u64),
        replicas: &[BrokerId],
        isr: &[BrokerId],
        now_ns: u64,
    ) -> LeaderView {
        assert!(replicas.len() <= REPLICAS_MAX, "too many replicas");
        assert!(replicas.contains(&me), "the leader is a replica");
        assert!(hw <= leo, "high watermark {hw} past the log end {leo}");
        let followers = replicas
            .iter()
            .filter(|&&r| r != me)
            .map(|&r| {
                let f = Follower {
                    leo: 0,
                    epoch: None,
                    caught_up_ns: now_ns,
                };
                (r, f)
            })
            .collect();
        let mut isr: BTreeSet<BrokerId> = isr.iter().copied().collect();
        isr.insert(me);
        let view = LeaderView {
            cfg,
            me,
            epoch,
            epoch_start: leo,
            isr,
            followers,
            hw,
            own_durable: leo,
            pending: BTreeSet::new(),
        };
        view.check(leo);
        view
    }

    pub fn hw(&self) -> u64 {
        self.hw
    }

    pub fn isr(&self) -> Vec<BrokerId> {
        self.isr.iter().copied().collect()
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// A fetch from `from` at `offset` carrying its leader epoch `epoch`, at `now_ns`, with
    /// the leader's log end `leo`: accepted (the follower's log end and the HW move) or
    /// refused.
    pub fn on_fetch(
        &mut self,
        from: BrokerId,
        offset: u64,
        epoch: u32,
        leo: u64,
        now_ns: u64,
    ) -> Result<(), FetchError> {
        if self.cfg.fenced && epoch < self.epoch {
            return Err(FetchError::FencedLeaderEpoch);
        }
        if self.cfg.fenced && epoch > self.epoch {
            return Err(FetchError::UnknownLeaderEpoch);
        }
        let f = self
            .followers
            .get_mut(&from)
            .expect("a fetch from a replica");
        assert!(
            offset <= leo,
            "{from:?} fetches from {offset}, past the log end {leo}"
        );
        f.leo = offset;
        f.epoch = Some(epoch);
        if offset == leo {
            f.caught_up_ns = now_ns;
        }
        self.advance_hw(leo);
        Ok(())
    }

    /// The leader appended: its log end is now `leo` (the HW may move with an ISR of one).
    pub fn on_append(&mut self, leo: u64) {
        self.advance_hw(leo);
    }

    /// The leader's own log is durable up to `durable` (its log end is `leo`).
    pub fn on_flushed(&mut self, durable: u64, leo: u64) {
        assert!(durable <= leo, "durable {durable} past the log end {leo}");
        self.own_durable = durable;
        self.advance_hw(leo);
    }

    /// An ISR change is being written: its members count for the HW until
    /// [`LeaderView::set_isr`].
    pub fn proposing(&mut self, isr: &[BrokerId]) {
        for r in isr {
            if *r != self.me && self.followers.contains_key(r) {
                self.pending.insert(*r);
            }
        }
    }

    /// KIP-320's rules on the HW and the ISR apply: the fixed protocol, fenced.
    fn kip320(&self) -> bool {
        self.cfg.protocol == Protocol::Fixed && self.cfg.fenced
    }

    fn advance_hw(&mut self, leo: u64) {
        let members = self.isr.union(&self.pending).filter(|&&r| r != self.me);
        let lowest = members
            .clone()
            .map(|r| self.followers[r].leo)
            .fold(self.own_durable.min(leo), u64::min);
        let all_follow = members
            .map(|r| self.followers[r].epoch)
            .all(|e| e == Some(self.epoch));
        if self.kip320() && !all_follow {
            return;
        }
        self.hw = self.hw.max(lowest);
        self.check(leo);
    }

    /// The ISR the leader should propose at `now_ns` with log end `leo`: lagging members out,
    /// caught-up replicas in; None when it stays as it is.
    pub fn proposed_isr(&self, leo: u64, now_ns: u64) -> Option<Vec<BrokerId>> {
        let lag_ns = self.cfg.lag_ms.saturating_mul(1_000_000);
        let may_join = !self.kip320() || self.hw >= self.epoch_start;
        let mut next = BTreeSet::from([self.me]);
        for (&r, f) in &self.followers {
            let lagging = f.leo < leo && now_ns.saturating_sub(f.caught_up_ns) > lag_ns;
            let stays = self.isr.contains(&r) && !lagging;
            // Only a follower that fetched from this leader has a known log end (Kafka
            // starts each follower's at "unknown"): one that never fetched must not join
            // on the HW being 0 (fuzzing found an unclean leader with an empty log take a
            // stale replica into its ISR that way).
            let fetched = f.epoch.is_some();
            let joins = !self.isr.contains(&r) && may_join && fetched && f.leo >= self.hw;
            if stays || joins {
                next.insert(r);
            }
        }
        (next != self.isr).then(|| next.into_iter().collect())
    }

    /// The partition state znode now holds `isr` (the conditional write succeeded).
    pub fn set_isr(&mut self, isr: &[BrokerId], leo: u64) {
        let next: BTreeSet<BrokerId> = isr.iter().copied().collect();
        assert!(next.contains(&self.me), "the leader left its own ISR");
        assert!(
            next.iter()
                .all(|r| *r == self.me || self.followers.contains_key(r)),
            "an ISR member that is no replica: {isr:?}"
        );
        self.isr = next;
        self.pending.clear();
        self.advance_hw(leo);
    }

    /// Whether an `acks = all` record at `offset` is committed (answerable).
    pub fn committed(&self, offset: u64) -> bool {
        self.hw > offset && self.isr.len() >= self.cfg.min_insync
    }

    /// Asserts the invariants of the module header.
    fn check(&self, leo: u64) {
        assert!(self.isr.contains(&self.me), "LeaderInIsr");
        assert!(
            self.hw <= leo,
            "high watermark {} past the log end {leo}",
            self.hw
        );
        assert!(
            self.isr
                .iter()
                .all(|r| *r == self.me || self.followers.contains_key(r)),
            "an ISR member that is no replica"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: [BrokerId; 3] = [BrokerId(1), BrokerId(2), BrokerId(3)];
    const MS: u64 = 1_000_000;

    fn cfg(protocol: Protocol) -> IsrConfig {
        IsrConfig {
            protocol,
            fenced: true,
            lag_ms: 100,
            min_insync: 2,
        }
    }

    /// Broker 1 leads epoch 5 of a partition on all three, every one in the ISR.
    fn leader(protocol: Protocol, leo: u64, hw: u64) -> LeaderView {
        LeaderView::new(cfg(protocol), B[0], 5, (leo, hw), &B, &B, 0)
    }

    #[test]
    fn the_high_watermark_is_the_lowest_log_end_over_the_isr() {
        let mut l = leader(Protocol::Fixed, 10, 4);
        l.on_fetch(B[1], 8, 5, 10, MS).unwrap();
        assert_eq!(l.hw(), 4, "broker 3 has not fetched in this epoch yet");
        l.on_fetch(B[2], 6, 5, 10, MS).unwrap();
        assert_eq!(l.hw(), 6);
        assert!(l.committed(5) && !l.committed(6));
        l.on_fetch(B[2], 10, 5, 10, 2 * MS).unwrap();
        assert_eq!(l.hw(), 8);
    }

    #[test]
    fn before_the_fix_the_hw_moves_without_every_member_following_the_epoch() {
        let mut l = leader(Protocol::HwTruncation, 10, 4);
        l.cfg.fenced = false;
        l.on_fetch(B[1], 8, 5, 10, MS).unwrap();
        l.on_fetch(B[2], 7, 4, 10, MS).unwrap(); // an old epoch's fetch, unfenced
        assert_eq!(l.hw(), 7);
    }

    #[test]
    fn a_follower_that_never_fetched_does_not_join_on_a_zero_hw() {
        // An empty log leading alone (an unclean election): HW 0, the others outside.
        let mut l = LeaderView::new(cfg(Protocol::Fixed), B[0], 5, (0, 0), &B, &B[..1], 0);
        assert_eq!(l.proposed_isr(0, MS), None, "no follower fetched yet");
        l.on_fetch(B[1], 0, 5, 0, MS).unwrap();
        assert_eq!(l.proposed_isr(0, MS), Some(vec![B[0], B[1]]));
    }

    #[test]
    fn fetches_of_another_epoch_are_fenced() {
        let mut l = leader(Protocol::Fixed, 10, 4);
        assert_eq!(
            l.on_fetch(B[1], 8, 4, 10, MS),
            Err(FetchError::FencedLeaderEpoch)
        );
        assert_eq!(
            l.on_fetch(B[1], 8, 6, 10, MS),
            Err(FetchError::UnknownLeaderEpoch)
        );
        assert_eq!(l.hw(), 4, "refused fetches move nothing");
    }

    #[test]
    fn a_lagging_follower_leaves_the_isr_and_rejoins_caught_up() {
        let mut l = leader(Protocol::Fixed, 10, 0);
        l.on_fetch(B[1], 10, 5, 10, 50 * MS).unwrap();
        l.on_fetch(B[2], 3, 5, 10, 50 * MS).unwrap();
        assert_eq!(l.proposed_isr(10, 100 * MS), None, "within the lag");
        assert_eq!(l.proposed_isr(10, 101 * MS), Some(vec![B[0], B[1]]));
        l.set_isr(&[B[0], B[1]], 10);
        assert_eq!(l.hw(), 10, "the HW moves past the lagging follower");
        assert!(l.committed(9));
        l.on_fetch(B[2], 10, 5, 10, 120 * MS).unwrap();
        assert_eq!(l.proposed_isr(10, 120 * MS), Some(B.to_vec()));
    }

    #[test]
    fn under_the_fix_nobody_joins_before_the_hw_reaches_the_epochs_start() {
        // Broker 1 became leader with 10 records, HW 4; broker 3 is out of the ISR.
        let mut l = LeaderView::new(cfg(Protocol::Fixed), B[0], 5, (10, 4), &B, &B[..2], 0);
        l.on_fetch(B[2], 4, 5, 10, MS).unwrap();
        assert_eq!(
            l.proposed_isr(10, MS),
            None,
            "HW 4 below the epoch's start 10"
        );
        let mut old = LeaderView::new(
            cfg(Protocol::EpochDivergence),
            B[0],
            5,
            (10, 4),
            &B,
            &B[..2],
            0,
        );
        old.on_fetch(B[2], 4, 5, 10, MS).unwrap();
        assert_eq!(old.proposed_isr(10, MS), Some(B.to_vec()), "joins at HW 4");
        l.on_fetch(B[1], 10, 5, 10, MS).unwrap();
        assert_eq!(l.hw(), 10);
        l.on_fetch(B[2], 10, 5, 10, 2 * MS).unwrap();
        assert_eq!(l.proposed_isr(10, 2 * MS), Some(B.to_vec()));
    }

    #[test]
    fn the_leaders_own_records_count_only_once_durable() {
        let mut l = leader(Protocol::Fixed, 4, 4);
        l.on_flushed(4, 4);
        l.on_append(6);
        l.on_fetch(B[1], 6, 5, 6, MS).unwrap();
        l.on_fetch(B[2], 6, 5, 6, MS).unwrap();
        assert_eq!(l.hw(), 4, "offsets 4 and 5 are not durable at the leader");
        l.on_flushed(6, 6);
        assert_eq!(l.hw(), 6);
    }

    #[test]
    fn a_member_joining_holds_the_hw_back_while_its_join_is_written() {
        // Broker 3 is out of the ISR with nothing; HW 0: it may join.
        let mut l = LeaderView::new(cfg(Protocol::Fixed), B[0], 5, (0, 0), &B, &B[..2], 0);
        l.on_append(2);
        l.on_flushed(2, 2);
        l.on_fetch(B[2], 0, 5, 2, MS).unwrap();
        let join = l.proposed_isr(2, MS).expect("broker 3 joins");
        l.proposing(&join);
        l.on_fetch(B[1], 2, 5, 2, MS).unwrap();
        assert_eq!(
            l.hw(),
            0,
            "the joining member counts while its join is written"
        );
        l.set_isr(&join, 2);
        assert_eq!(l.hw(), 0);
        l.on_fetch(B[2], 2, 5, 2, MS).unwrap();
        assert_eq!(l.hw(), 2);
        // Near miss, without the maximal ISR: the HW passes the joiner, whose join then
        // lands with the HW above its log end (what StrongIsr caught).
        let mut racy = LeaderView::new(cfg(Protocol::Fixed), B[0], 5, (0, 0), &B, &B[..2], 0);
        racy.on_append(2);
        racy.on_flushed(2, 2);
        racy.on_fetch(B[2], 0, 5, 2, MS).unwrap();
        racy.on_fetch(B[1], 2, 5, 2, MS).unwrap();
        assert_eq!(racy.hw(), 2);
    }

    #[test]
    fn acks_all_needs_min_insync_replicas() {
        let mut l = leader(Protocol::Fixed, 3, 0);
        l.set_isr(&[B[0]], 3);
        assert_eq!(l.hw(), 3, "an ISR of one: the leader's own log end");
        assert!(!l.committed(0), "below min.insync.replicas");
    }

    #[test]
    #[should_panic(expected = "the leader left its own ISR")]
    fn an_isr_without_the_leader_is_refused() {
        let mut l = leader(Protocol::Fixed, 3, 0);
        l.set_isr(&[B[1], B[2]], 3);
    }
}
