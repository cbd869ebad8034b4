//! Sequential specifications for the linearizability engine: a register with
//! compare-and-set (`register`) and a key-value map partitioned by key (`kv`).

pub mod kv;
pub mod register;
