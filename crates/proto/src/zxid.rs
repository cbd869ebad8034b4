//! ZooKeeper transaction ids: `zxid = (epoch << 32) | counter`, the epoch in the HIGH
//! 32 bits (as in ZooKeeper's `ZxidUtils`). Ordering zxids as `u64` orders them by epoch
//! first, then by counter.

use serde::{Deserialize, Serialize};

/// A leader epoch (ZooKeeper's `peerEpoch`, `acceptedEpoch`, `currentEpoch`).
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Epoch(pub u32);

/// A transaction id. `Zxid(0)` is "nothing logged yet".
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Zxid(pub u64);

impl Zxid {
    pub const ZERO: Zxid = Zxid(0);
    /// The largest counter a leader may use before it must step down (ZooKeeper forces a
    /// new election when the low 32 bits would overflow).
    pub const COUNTER_MAX: u32 = u32::MAX;

    pub const fn new(epoch: Epoch, counter: u32) -> Zxid {
        Zxid(((epoch.0 as u64) << 32) | counter as u64)
    }

    pub const fn epoch(self) -> Epoch {
        Epoch((self.0 >> 32) as u32)
    }

    pub const fn counter(self) -> u32 {
        (self.0 & 0xffff_ffff) as u32
    }

    /// The next zxid in the same epoch, or `None` when the counter would overflow.
    pub fn next_in_epoch(self) -> Option<Zxid> {
        let counter = self.counter().checked_add(1)?;
        Some(Zxid::new(self.epoch(), counter))
    }
}

impl std::fmt::Display for Zxid {
    /// ZooKeeper's hex notation, `0x100000003`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_the_high_half() {
        let z = Zxid::new(Epoch(3), 7);
        assert_eq!(z.0, 0x0000_0003_0000_0007);
        assert_eq!(z.epoch(), Epoch(3));
        assert_eq!(z.counter(), 7);
        assert!(Zxid::new(Epoch(2), u32::MAX) < Zxid::new(Epoch(3), 0));
        assert_eq!(z.to_string(), "0x300000007");
    }

    #[test]
    fn counter_overflow_is_reported() {
        assert_eq!(Zxid::new(Epoch(1), u32::MAX).next_in_epoch(), None);
        assert_eq!(
            Zxid::new(Epoch(1), 4).next_in_epoch(),
            Some(Zxid::new(Epoch(1), 5))
        );
    }
}
