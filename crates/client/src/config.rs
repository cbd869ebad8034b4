//! The client's configuration ([`ClientConfig`]: connect string, timeouts, bounds) and the
//! timeouts ZooKeeper's `ClientCnxn` derives from the session timeout ([`Timeouts`]).

use proto::{NS_PER_MS, ProcessId};

/// The most servers a connect string may name.
pub const SERVERS_MAX: usize = 1024;
/// The largest session timeout a client may request (ZooKeeper's default `maxSessionTimeout`
/// is 20 ticks; an hour is far beyond any sane configuration).
pub const SESSION_TIMEOUT_MS_MAX: u32 = 3_600_000;
/// The largest pause between two rounds of connection attempts.
pub const RECONNECT_DELAY_MS_MAX: u64 = 3_600_000;
/// The largest bound on queued + in-flight requests.
pub const PENDING_MAX: usize = 1 << 20;

/// How a client connects (ZooKeeper's connect string, session timeout and host provider).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// The connect string: tried round-robin, starting at `first_server`.
    pub servers: Vec<ProcessId>,
    /// Index into `servers` to try first (the caller picks it at random, as ZooKeeper's
    /// `StaticHostProvider` shuffles its list).
    pub first_server: usize,
    /// The session timeout requested in every `Connect`; the server's negotiated value
    /// replaces it for the client's own timers.
    pub session_timeout_ms: u32,
    /// The pause after every server was tried once without success (ZooKeeper's host
    /// provider `spinDelay`).
    pub reconnect_delay_ms: u64,
    /// Bound on queued + in-flight requests; a `submit` beyond it completes at once with
    /// `ConnectionLoss`. `close()` may exceed it by one.
    pub pending_max: usize,
}

impl ClientConfig {
    /// Panics with a message naming the field when the configuration is unusable.
    pub fn validate(&self) {
        assert!(!self.servers.is_empty(), "client: servers is empty");
        assert!(
            self.servers.len() <= SERVERS_MAX,
            "client: {} servers exceed SERVERS_MAX = {SERVERS_MAX}",
            self.servers.len()
        );
        assert!(
            self.first_server < self.servers.len(),
            "client: first_server {} out of range 0..{}",
            self.first_server,
            self.servers.len()
        );
        assert!(
            (1..=SESSION_TIMEOUT_MS_MAX).contains(&self.session_timeout_ms),
            "client: session_timeout_ms {} out of range 1..={SESSION_TIMEOUT_MS_MAX}",
            self.session_timeout_ms
        );
        assert!(
            self.reconnect_delay_ms <= RECONNECT_DELAY_MS_MAX,
            "client: reconnect_delay_ms {} exceeds {RECONNECT_DELAY_MS_MAX}",
            self.reconnect_delay_ms
        );
        assert!(
            (1..=PENDING_MAX).contains(&self.pending_max),
            "client: pending_max {} out of range 1..={PENDING_MAX}",
            self.pending_max
        );
    }
}

/// The timeouts of one session timeout (ZooKeeper's `ClientCnxn`): connect timeout =
/// timeout / number of servers, read timeout = 2/3 of the timeout, and a ping after half the
/// read timeout without sending (1/3 of the timeout).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect_ns: u64,
    pub read_ns: u64,
    pub ping_ns: u64,
}

impl Timeouts {
    pub fn new(session_timeout_ms: u32, servers_count: usize) -> Timeouts {
        assert!(
            session_timeout_ms > 0,
            "a session timeout of 0 has no timers"
        );
        assert!((1..=SERVERS_MAX).contains(&servers_count));
        let session_ns = u64::from(session_timeout_ms) * NS_PER_MS;
        let read_ns = session_ns * 2 / 3;
        let timeouts = Timeouts {
            connect_ns: session_ns / servers_count as u64,
            read_ns,
            ping_ns: read_ns / 2,
        };
        assert!(timeouts.connect_ns > 0 && timeouts.ping_ns > 0);
        assert!(timeouts.ping_ns <= timeouts.read_ns);
        timeouts
    }
}
