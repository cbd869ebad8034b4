//! The simulated ZooKeeper world on zabsim's kernel: scenarios (their schema and loader),
//! the ensemble's processes (servers, client hosts, load generators, queue processes,
//! lock clients and their protected resource, the fail-over scheduler's instances and
//! workers, zk-script), its observer (ZAB monitors, liveness, statistics), the client-visible
//! history and its checks, and `run`, which resolves a scenario into a kernel run.

pub mod barrierproc;
pub mod brokerproc;
pub mod clienthost;
pub mod configproc;
pub mod consumerproc;
pub mod ensemble;
pub mod histcheck;
pub mod history;
pub mod keydist;
pub mod loadgen;
pub mod lockproc;
pub mod memberproc;
pub mod node;
pub mod notetext;
pub mod producerproc;
pub mod queueproc;
pub mod resource;
pub mod run;
pub mod scenario;
pub mod schedproc;
pub mod workerproc;
pub mod workload;
pub mod zabmon;
pub mod zkscript;
