//! The sans-IO process contract of zabsim (DESIGN.md §2): simulated time, process ids,
//! the stable hash of the replay contract, and the [`Process`] interface a protocol state
//! machine implements — inputs in, outputs out as data. It knows no protocol: no ZooKeeper,
//! no ZAB, no leader. No OS access and no randomness of its own.

pub mod hash;
pub mod ids;
pub mod process;
pub mod time;

pub use hash::{StableHasher, hash_words, mix64};
pub use ids::{ProcessId, TimerId, WriteId};
pub use process::{
    Ctx, Entropy, Message, Outbox, OutboxOf, Output, Process, Recovered, uniform_below,
};
pub use time::{NS_PER_MS, NS_PER_SEC, NS_PER_US, Time};
