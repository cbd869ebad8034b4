//! zabsim's history checkers: the generic linearizability engine (`lin`), its models
//! (`models`) and importers for externally recorded histories (`import`).

pub mod import;
pub mod lin;
pub mod models;
pub mod monitor;
