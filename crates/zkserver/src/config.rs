//! [`Config`]: the ZooKeeper server's own settings (the engine has its own), with named
//! bounds.

use proto::ProcessId;

/// The server's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub me: ProcessId,
    /// Every server of the ensemble (voters and observers): messages from them are not a
    /// client's.
    pub servers: Vec<ProcessId>,
    /// ZooKeeper's tick: negotiated session timeouts lie within [2, 20] ticks.
    pub tick_ms: u64,
    /// Most requests one client connection may have unanswered; a client that sends more
    /// is disconnected (`Overloaded`).
    pub pending_requests_max: usize,
    /// Most client connections one server holds.
    pub client_connections_max: usize,
    /// ZOOKEEPER-1366 (planted): session timeouts run on the wall clock, as the engine's
    /// timers do with the same bug.
    pub wall_clock_timeouts: bool,
}

impl Config {
    pub fn new(me: ProcessId, servers: Vec<ProcessId>) -> Config {
        Config {
            me,
            servers,
            tick_ms: 200,
            pending_requests_max: 4096,
            client_connections_max: 100_000,
            wall_clock_timeouts: false,
        }
    }

    pub fn validate(&self) {
        assert!(self.servers.contains(&self.me), "me is not a server");
        assert!(self.tick_ms > 0, "a zero tick");
        assert!(self.pending_requests_max > 0 && self.client_connections_max > 0);
    }

    pub fn is_server(&self, p: ProcessId) -> bool {
        self.servers.contains(&p)
    }
}
