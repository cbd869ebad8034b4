//! zabsim's history checkers: the generic linearizability engine (`lin`), its models
//! (`models`), importers for externally recorded histories (`import`), the online protocol
//! monitors (`monitor`), and the offline checkers of a simulated ZooKeeper history:
//! consistency (`zk`), watches (`watch`) and queue recipes (`queue`).

pub mod import;
pub mod lin;
pub mod models;
pub mod monitor;
pub mod queue;
pub mod watch;
pub mod zk;
