//! The deterministic discrete-event kernel of zabsim: virtual time, the event queue, seeded
//! random streams, network/disk/CPU/clock models, faults and the nemesis, scenarios, and the
//! loop that drives sans-IO processes. Single-threaded by design; see DESIGN.md §3–4.

pub mod clienthost;
pub mod clock;
pub mod detmath;
pub mod disk;
pub mod dist;
pub mod ensemble;
pub mod fault;
pub mod histcheck;
pub mod history;
pub mod kernel;
pub mod keydist;
pub mod loadgen;
pub mod nemesis;
pub mod network;
pub mod node;
pub mod observe;
pub mod partition;
pub mod probe;
pub mod queue;
pub mod queueproc;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod tracelog;
pub mod zabmon;
pub mod zkscript;
