//! Recipes on top of a [`Session`](crate::Session), as sans-IO state machines the host
//! drives: the distributed queue (producer; take and claim consumers) and the token bucket
//! that rate-limits producers.

pub mod bucket;
pub mod queue;
