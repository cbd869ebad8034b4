//! The shared vocabulary of zabsim: simulated time, process ids, zxids and the sans-IO
//! process interface every protocol state machine implements. No OS access, no randomness
//! of its own: everything here is plain data and pure functions.

pub mod hash;
pub mod history;
pub mod ids;
pub mod process;
pub mod results;
pub mod time;
pub mod wire;
pub mod zk;
pub mod zxid;

pub use hash::{StableHasher, hash_words, mix64};
pub use ids::{ProcessId, TimerId, WriteId};
pub use process::{
    Ctx, Entropy, Message, Outbox, OutboxOf, Output, Process, Recovered, uniform_below,
};
pub use time::{NS_PER_MS, NS_PER_SEC, NS_PER_US, Time};
pub use zxid::{Epoch, Zxid};
