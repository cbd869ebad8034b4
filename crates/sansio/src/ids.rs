//! Identifiers the kernel and the processes share: process ids (dense indices), timer ids
//! (chosen by each process) and fsync tickets.

use serde::{Deserialize, Serialize};

/// A process in the simulation: a dense index `0..n`. Servers come first, then clients.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ProcessId(pub u32);

impl ProcessId {
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for ProcessId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// A timer slot owned by one process. Setting a timer that is already set moves it.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct TimerId(pub u64);

/// A ticket for one fsync: `on_disk_done(write)` reports that every record appended before
/// the fsync was issued is durable.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct WriteId(pub u64);
