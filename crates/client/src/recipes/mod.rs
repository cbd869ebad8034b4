//! Recipes on top of a [`Session`](crate::Session), as sans-IO state machines the host
//! drives: the distributed queue (producer; take and claim consumers), the token bucket
//! that rate-limits producers, the lock (protected mode, predecessor watches), and
//! configuration and messaging by watches (config publisher and subscriber, mailbox).

pub mod bucket;
pub mod config;
pub mod lock;
pub mod queue;
