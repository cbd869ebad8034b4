//! The deterministic discrete-event kernel of zabsim: virtual time, the event queue, seeded
//! random streams, network/disk/CPU/clock models, faults and the nemesis, observers, the
//! ping/pong probe and trace recording — the loop that drives sans-IO processes
//! ([`sansio::Process`]). Single-threaded by design; see DESIGN.md §3–4. It knows no
//! protocol: a world (such as the ZooKeeper ensemble in `sim`) brings its processes, its
//! observer (which also says who "the leader" is for leader-targeted faults) and its notes'
//! names.

pub mod clock;
pub mod detmath;
pub mod disk;
pub mod dist;
pub mod fault;
pub mod nemesis;
pub mod network;
pub mod observe;
pub mod partition;
pub mod probe;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod tracelog;

pub use sim::{Factory, KernelConfig, Outcome, Sim};
