//! zabsim's ZooKeeper-level checkers: the offline checkers of a simulated ZooKeeper history —
//! consistency (`zk`, which confirms suspects with `lincheck`'s engine), watches (`watch`),
//! queue recipes (`queue`), the lock recipe with its protected resource (`lock`) and the
//! config recipe's versions and mailbox (`config`), the leader latch with its fail-over
//! scheduler (`election`) — and the online ZAB protocol monitors (`monitor`). Also the
//! double barrier (`barrier`) and group membership with its observers' views (`members`).
//! The message queue's replication (`mq`): acknowledged records kept, StrongIsr,
//! LeaderInIsr; its consumer group (`mqconsume`): no two records at one offset, committed
//! offsets never backward, every record consumed.

pub mod barrier;
pub mod config;
pub mod election;
pub mod lock;
pub mod members;
pub mod monitor;
pub mod mq;
pub mod mqconsume;
pub mod queue;
pub mod watch;
pub mod zk;
