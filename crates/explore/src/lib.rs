//! zabsim's exploration as a library: the regression-seed list (`regressions`: seeds that
//! once found a bug, each pinned to the trace hash of the run that caught it).
//!
//! Invariants: everything here is single-threaded and deterministic — no wall clock, no
//! signals, no threads, no printing.

pub mod regressions;
