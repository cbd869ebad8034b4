//! zabsim's linearizability checker: the generic engine (`lin`), its sequential models
//! (`models`) and importers for externally recorded histories (`import`). No ZooKeeper-level
//! rules: those checkers (`check::zk`, `check::watch`, `check::queue`) run this engine.

pub mod import;
pub mod lin;
pub mod models;
