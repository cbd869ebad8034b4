//! Tests of the zab crate: single-server unit tests that feed one `Server` inputs and assert
//! its exact outputs, and a mini cluster (in-memory FIFO network, instant disks) for
//! end-to-end runs.

mod broadcast;
mod cluster;
mod discovery;
mod election;
mod harness;
mod recovery;
mod sessions;
mod sync;
