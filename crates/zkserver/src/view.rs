//! [`ServerView`]: a ZooKeeper server seen read-only whatever its engine (the simulator's
//! observers and workloads read servers through it). No logic of its own.

use replication::{Engine, Inspect, Status};

use crate::msg::EngineWire;
use crate::server::Server;
use crate::state::ZkState;
use crate::{Config, ZkApp};

/// A live server's read-only views.
pub trait ServerView {
    fn config(&self) -> &Config;
    /// The replication engine, read-only.
    fn engine(&self) -> &dyn Inspect;
    /// The applied znode tree and live sessions.
    fn app(&self) -> &ZkState;
    /// The engine's status (role, leader, serving) as the server last heard it.
    fn status(&self) -> Status;
    /// Client connections open on this server.
    fn client_connections(&self) -> usize;
}

impl<E: Engine<ZkApp> + Inspect> ServerView for Server<E>
where
    E::Wire: EngineWire,
{
    fn config(&self) -> &Config {
        Server::config(self)
    }
    fn engine(&self) -> &dyn Inspect {
        Server::<E>::engine(self)
    }
    fn app(&self) -> &ZkState {
        Server::app(self)
    }
    fn status(&self) -> Status {
        Server::status(self)
    }
    fn client_connections(&self) -> usize {
        Server::client_connections(self)
    }
}
