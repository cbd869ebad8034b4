//! Recipes on top of a [`Session`](crate::Session), as sans-IO state machines the host
//! drives: the distributed queue (producer; take and claim consumers), the token bucket
//! that rate-limits producers, the lock (protected mode, predecessor watches); the double
//! barrier; group membership (members and observers); configuration and messaging by
//! watches (config publisher and subscriber, mailbox).

pub mod barrier;
pub mod bucket;
pub mod config;
pub mod group;
pub mod latch;
pub mod lock;
pub mod queue;
pub mod scheduler;
pub mod worker;
