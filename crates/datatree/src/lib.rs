//! The znode tree of zabsim: pure and deterministic (BTreeMap storage, path-ordered
//! iteration, no OS, no clock, no randomness). It follows ZooKeeper 3.8's split between
//! preparing and applying: the leader *prepares* an [`Op`](proto::zk::Op) against its tree
//! plus the outstanding changes ([`PendingChanges`]) into a [`Txn`] — possibly an error txn,
//! since ZooKeeper replicates failed writes too — and every replica *applies* txns in zxid
//! order, which never fails. Reads are answered from a tree with [`DataTree::read`].
//! [`DataTree::execute`] does both on one tree: the sequential specification the checker
//! uses.
//!
//! Deliberately absent: ACLs (every op is allowed), quotas, TTL and container nodes,
//! watches (the server derives watch events from [`TxnBody::effects`]), session liveness
//! checks, and ZooKeeper's system nodes `/zookeeper`, `/zookeeper/quota`,
//! `/zookeeper/config` — the tree starts with an empty root only, so `getChildren("/")` of a
//! fresh tree is empty where ZooKeeper answers `["zookeeper"]`.
//!
//! Invariants: see `tree.rs` (structure, digest), `apply.rs` (total application, zxid
//! order), `prepare.rs` (ZooKeeper's counters and error precedence) and `multi.rs`
//! (all-or-nothing results).

mod apply;
mod multi;
mod node;
pub mod path;
mod pending;
mod prepare;
mod snapshot;
mod tree;
mod txn;

pub use multi::MULTI_OPS_MAX;
pub use node::StatPersisted;
pub use pending::{PENDING_RECORDS_MAX, PendingChanges};
pub use snapshot::{Snapshot, SnapshotNode};
pub use tree::{DataTree, ReadView};
pub use txn::{Effect, Txn, TxnBody, TxnHeader};
