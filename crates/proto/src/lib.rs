//! The ZooKeeper world's shared vocabulary: zxids and epochs, ZooKeeper's operations and
//! results, the client wire, the client-visible history, and fuzz result lines. Plain data
//! and pure functions. It re-exports the sans-IO process contract ([`sansio`]) so that the
//! ZooKeeper crates name one vocabulary; the kernel depends on `sansio` alone.

pub mod history;
pub mod results;
pub mod text;
pub mod wire;
pub mod zk;
pub mod zxid;

pub use sansio::{
    Ctx, Entropy, Message, NS_PER_MS, NS_PER_SEC, NS_PER_US, Outbox, OutboxOf, Output, Process,
    ProcessId, Recovered, StableHasher, Time, TimerId, WriteId, hash_words, mix64, uniform_below,
};
pub use zxid::{Epoch, Zxid};
