//! Where a follower truncates its partition log when it (re)starts or becomes follower, by
//! the replication protocol's version ([`Protocol`]): a sans-IO exchange of
//! `OffsetsForLeaderEpoch` questions ([`Step::Ask`]) and the leader's answers, ending in one
//! [`Step::Truncate`].
//! - `HwTruncation` (before KIP-101): to the follower's own high watermark, asking nothing.
//!   Its high watermark lags the leader's by a fetch round: an acknowledged record above it
//!   is cut, and a record the new leader never had may stay.
//! - `EpochDivergence` (KIP-101 as first shipped): asks for its latest epoch and truncates to
//!   the leader's end offset for it — even when the leader never had that epoch, whose
//!   answer then ends a different epoch's records (KIP-279's divergence).
//! - `Fixed` (KIP-279): when the leader answers an older epoch, the follower compares its
//!   own end offset for that epoch, and asks again for its own older epoch when it has
//!   not got that one either: the truncation point is the true common prefix.
//!
//! Invariants: each question asks a strictly lower epoch than the one before; the
//! truncation point is at most the follower's log end offset.

use crate::Protocol;
use crate::log::{EpochEnd, PartitionLog};

/// The follower's next move.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send `OffsetsForLeaderEpoch(epoch)` to the leader.
    Ask { epoch: u32 },
    /// Truncate the log to `to` (cut every offset ≥ `to`), then fetch from there.
    Truncate { to: u64 },
}

/// One follower's truncation exchange (see the module header).
#[derive(Clone, Debug)]
pub struct Truncation {
    protocol: Protocol,
    /// The epoch last asked for.
    asked: Option<u32>,
    done: bool,
}

impl Truncation {
    /// Starts the exchange for a follower with `log` whose high watermark is `hw`.
    pub fn start(protocol: Protocol, log: &PartitionLog, hw: u64) -> (Truncation, Step) {
        let mut t = Truncation {
            protocol,
            asked: None,
            done: false,
        };
        let step = match (protocol, log.latest_epoch()) {
            (Protocol::HwTruncation, _) => t.finish(log, hw),
            (_, None) => t.finish(log, 0),
            (_, Some(latest)) => t.ask(latest),
        };
        (t, step)
    }

    /// The leader's answer to the last question.
    pub fn on_answer(&mut self, log: &PartitionLog, answer: EpochEnd) -> Step {
        assert!(!self.done, "an answer after the truncation");
        let asked = self.asked.expect("an answer to a question asked");
        assert!(
            answer.epoch.is_none_or(|e| e <= asked),
            "the leader answered epoch {:?} for {asked}",
            answer.epoch
        );
        match (self.protocol, answer.epoch) {
            (Protocol::HwTruncation, _) => panic!("nothing is asked before KIP-101"),
            (Protocol::EpochDivergence, _) => self.finish(log, answer.end_offset),
            // The leader has the epoch asked for: the common prefix ends at the lower of
            // the two ends of that epoch.
            (Protocol::Fixed, Some(e)) if e == asked => {
                let own = log.end_offset_for(asked).end_offset;
                self.finish(log, answer.end_offset.min(own))
            }
            (Protocol::Fixed, Some(e)) => self.walk_back(log, e, answer.end_offset),
            // The leader has nothing at or below the epoch asked for.
            (Protocol::Fixed, None) => self.finish(log, answer.end_offset),
        }
    }

    /// KIP-279: the leader's latest epoch at or below the one asked is `leader_epoch`,
    /// ending at `leader_end`.
    fn walk_back(&mut self, log: &PartitionLog, leader_epoch: u32, leader_end: u64) -> Step {
        let own = log.end_offset_for(leader_epoch);
        match own.epoch {
            Some(e) if e == leader_epoch => self.finish(log, leader_end.min(own.end_offset)),
            // The follower lacks that epoch too: ask for its own older one.
            Some(e) => self.ask(e),
            None => self.finish(log, leader_end.min(own.end_offset)),
        }
    }

    fn ask(&mut self, epoch: u32) -> Step {
        assert!(
            self.asked.is_none_or(|a| epoch < a),
            "asked {epoch} after {:?}: questions walk back",
            self.asked
        );
        self.asked = Some(epoch);
        Step::Ask { epoch }
    }

    fn finish(&mut self, log: &PartitionLog, to: u64) -> Step {
        self.done = true;
        Step::Truncate {
            to: to.min(log.leo()),
        }
    }
}

/// Runs the whole exchange of a follower (`log`, high watermark `hw`) with `leader`'s log
/// answering: the truncation point. Bounded by the follower's epochs.
pub fn settle(protocol: Protocol, log: &PartitionLog, hw: u64, leader: &PartitionLog) -> u64 {
    let (mut t, mut step) = Truncation::start(protocol, log, hw);
    for _ in 0..=log.epochs().len() {
        match step {
            Step::Truncate { to } => return to,
            Step::Ask { epoch } => step = t.on_answer(log, leader.end_offset_for(epoch)),
        }
    }
    panic!("the truncation exchange did not settle within the follower's epochs");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log with records of the given epochs (values tell replicas' records apart).
    fn log_of(epochs: &[u32], values_from: u64) -> PartitionLog {
        let mut log = PartitionLog::new();
        for (i, &e) in epochs.iter().enumerate() {
            log.append(e, i as u64, values_from + i as u64);
        }
        log
    }

    /// The first offset below both logs' ends where they hold different records.
    fn divergence(a: &PartitionLog, b: &PartitionLog) -> Option<u64> {
        let end = a.leo().min(b.leo());
        (0..end).find(|&o| a.get(o) != b.get(o))
    }

    const ALL: [Protocol; 3] = [
        Protocol::HwTruncation,
        Protocol::EpochDivergence,
        Protocol::Fixed,
    ];

    #[test]
    fn kip101_scenario_1_a_restarted_follower_cuts_an_acknowledged_record_only_by_its_hw() {
        // Leader A and follower B both hold m1, m2 (epoch 1); A's high watermark passed m2
        // (acknowledged to an acks=all producer), B's still says 1: it learns 2 on its next
        // fetch. B restarts and truncates; then A dies and B leads.
        let a = log_of(&[1, 1], 100);
        let b = a.clone();
        let cut = |p| settle(p, &b, 1, &a);
        assert_eq!(cut(Protocol::HwTruncation), 1, "m2 cut: lost once B leads");
        assert_eq!(cut(Protocol::EpochDivergence), 2);
        assert_eq!(cut(Protocol::Fixed), 2);
    }

    #[test]
    fn kip101_scenario_2_a_follower_keeps_a_record_the_new_leader_never_had_by_its_hw() {
        // A (epoch 1) wrote m1, m2 with high watermark 2; B had only m1. Both crashed; B came
        // back first, leads epoch 2 and wrote m3 at offset 1. A restarts as follower.
        let a = log_of(&[1, 1], 100);
        let mut b = log_of(&[1], 100);
        b.append(2, 1, 300);
        for p in ALL {
            let mut follower = a.clone();
            follower.truncate_to(settle(p, &a, 2, &b));
            for r in b.from(follower.leo(), usize::MAX) {
                follower.append_copy(r);
            }
            let diverged = divergence(&follower, &b);
            match p {
                Protocol::HwTruncation => assert_eq!(diverged, Some(1), "m2 against m3"),
                _ => assert_eq!(diverged, None, "{p:?}"),
            }
        }
    }

    #[test]
    fn kip279_a_leader_without_the_followers_epoch_answers_another_epochs_end() {
        // F holds epoch 1 at offset 0 and epoch 2 at 1..=2 (a leader that failed before
        // replicating them). The leader L holds epoch 1 at 0..=1 and leads epoch 3 from 2.
        let l = log_of(&[1, 1, 3], 100);
        let mut f = PartitionLog::new();
        f.append_copy(l.get(0).expect("L's first record")); // offset 0 is common
        f.append(2, 1, 201);
        f.append(2, 2, 202);
        assert_eq!(
            l.end_offset_for(2),
            EpochEnd {
                epoch: Some(1),
                end_offset: 2
            }
        );
        assert_eq!(
            settle(Protocol::EpochDivergence, &f, 1, &l),
            2,
            "keeps F's offset 1"
        );
        assert_eq!(settle(Protocol::Fixed, &f, 1, &l), 1, "the common prefix");
        let mut first = f.clone();
        first.truncate_to(2);
        assert_eq!(
            divergence(&first, &l),
            Some(1),
            "divergence below the leader's end"
        );
    }

    #[test]
    fn the_fixed_exchange_walks_back_over_epochs_neither_log_shares() {
        // F: epochs 1, 3, 5; L: epochs 1, 2, 4, 6. The first answer (for 5) is epoch 4, which
        // F lacks; F asks for 3; L answers epoch 2, which F lacks; F asks for 1: common.
        let mut l = log_of(&[1, 1], 100);
        for (e, v) in [(2, 110), (4, 140), (6, 160)] {
            l.append(e, 0, v);
        }
        let mut f = log_of(&[1, 1], 100);
        for (e, v) in [(3, 230), (5, 250)] {
            f.append(e, 0, v);
        }
        let (mut t, step) = Truncation::start(Protocol::Fixed, &f, 0);
        assert_eq!(step, Step::Ask { epoch: 5 });
        let step = t.on_answer(&f, l.end_offset_for(5));
        assert_eq!(step, Step::Ask { epoch: 3 });
        let step = t.on_answer(&f, l.end_offset_for(3));
        assert_eq!(step, Step::Ask { epoch: 1 });
        let step = t.on_answer(&f, l.end_offset_for(1));
        assert_eq!(step, Step::Truncate { to: 2 });
        assert_eq!(settle(Protocol::Fixed, &f, 0, &l), 2);
        assert_eq!(
            settle(Protocol::EpochDivergence, &f, 0, &l),
            4,
            "past the common prefix"
        );
    }

    #[test]
    fn an_empty_follower_or_a_leader_without_older_epochs_truncates_to_the_start() {
        let empty = PartitionLog::new();
        let l = log_of(&[2, 2], 100);
        for p in ALL {
            assert_eq!(settle(p, &empty, 0, &l), 0, "{p:?}");
        }
        let f = log_of(&[1], 900);
        assert_eq!(
            settle(Protocol::Fixed, &f, 0, &l),
            0,
            "L has no epoch at or below 1"
        );
    }

    #[test]
    #[should_panic(expected = "questions walk back")]
    fn a_question_that_does_not_walk_back_is_refused() {
        let f = log_of(&[1, 3], 100);
        let (mut t, _) = Truncation::start(Protocol::Fixed, &f, 0);
        t.ask(3);
    }
}
