//! Recipes on top of a [`Session`](crate::Session), as sans-IO state machines the host
//! drives: the distributed queue (producer; take and claim consumers), the token bucket
//! that rate-limits producers, and the lock (protected mode, predecessor watches); the
//! double barrier; group membership (members and observers).

pub mod barrier;
pub mod bucket;
pub mod group;
pub mod lock;
pub mod queue;
