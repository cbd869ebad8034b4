//! Tests of a ZooKeeper server on ZAB (`zkserver::ZabServer`, ported from the exact-output
//! tests of the old `zab::Server`): single-server tests that feed one server inputs and
//! assert its exact outputs, and a mini cluster (in-memory FIFO network, instant disks) for
//! end-to-end runs.

mod broadcast;
mod cluster;
mod discovery;
mod election;
mod harness;
mod recovery;
mod sessions;
mod sync;
