//! Connection management of a [`Session`] (ZooKeeper's `SendThread` loop + host provider):
//! connection attempts round-robin over the connect string, losing a connection (fail the
//! outstanding requests, tell the old server, move on), the pause after a failed round,
//! pings, connect and read timeouts, and the session's single timer.

use proto::Time;
use proto::wire::ClientMsg;
use proto::zk::ZkError;

use crate::session::{Link, Phase, Session};
use crate::{Action, SessionState};

impl Session {
    /// Opens a new connection to the next server in the round.
    pub(crate) fn attempt(&mut self, now: Time, out: &mut Vec<Action>) {
        assert!(
            self.state().is_alive(),
            "a connection attempt after the session ended"
        );
        let servers = &self.config.servers;
        assert!(
            self.attempts_in_round < servers.len(),
            "a round is one try per server"
        );
        let server = servers[self.next_server];
        self.next_server = (self.next_server + 1) % servers.len();
        self.attempts_in_round += 1;
        self.last_conn = self.last_conn.checked_add(1).expect("conn overflow");
        self.counters.connect_attempts += 1;
        let link = Link {
            server,
            conn: self.last_conn,
            last_send: now,
            last_recv: now,
            requests_sent: 0,
            messages_received: 0,
        };
        self.phase = Phase::Connecting(link);
        let msg = ClientMsg::Connect {
            conn: link.conn,
            session: self.session_id,
            timeout_ms: self.config.session_timeout_ms,
            last_zxid_seen: self.last_zxid_seen,
            watches: self.watches.to_set(),
        };
        out.push(Action::Send { to: server, msg });
    }

    /// The current connection (or attempt) is gone: fail every outstanding request with
    /// `ConnectionLoss` (ZooKeeper's `cleanup()`), report `Disconnected` if it was up, send
    /// `Disconnect` when this side gives up (`we_drop`; not when the server closed or the
    /// transport reset it), then try the next server — or end `Closed` if `close()` was
    /// outstanding.
    pub(crate) fn lose(&mut self, now: Time, we_drop: bool, out: &mut Vec<Action>) {
        let link = self.link().expect("only a connection can be lost");
        let was_connected = matches!(self.phase, Phase::Connected(_));
        self.counters.connection_losses += 1;
        let closed = self.fail_all(ZkError::ConnectionLoss, out);
        let goodbye = we_drop.then_some(link);
        if closed {
            return self.end_closed(goodbye, out);
        }
        if was_connected {
            out.push(Action::State(SessionState::Disconnected));
        }
        if let Some(link) = goodbye {
            let msg = ClientMsg::Disconnect { conn: link.conn };
            out.push(Action::Send {
                to: link.server,
                msg,
            });
        }
        self.next_attempt(now, out);
        assert!(
            matches!(self.phase, Phase::Connecting(l) if l.conn > link.conn)
                || matches!(self.phase, Phase::Waiting { .. }),
            "a lost connection is replaced by a new attempt or a pause"
        );
    }

    /// Tries the next server at once, or — when every server was tried in this round —
    /// after `reconnect_delay_ms` (ZooKeeper's `StaticHostProvider.next(spinDelay)`).
    fn next_attempt(&mut self, now: Time, out: &mut Vec<Action>) {
        if self.attempts_in_round < self.config.servers.len() {
            return self.attempt(now, out);
        }
        self.attempts_in_round = 0;
        let delay_ns = self.config.reconnect_delay_ms * proto::NS_PER_MS;
        if delay_ns == 0 {
            return self.attempt(now, out);
        }
        self.phase = Phase::Waiting {
            until: now.plus_ns(delay_ns),
        };
    }

    pub(crate) fn handle_timer(&mut self, now: Time, out: &mut Vec<Action>) {
        let timeouts = self.timeouts;
        match &mut self.phase {
            Phase::Connecting(link) if now >= link.last_recv.plus_ns(timeouts.connect_ns) => {
                self.counters.connect_timeouts += 1;
                self.lose(now, true, out);
            }
            Phase::Connected(link) if now >= link.last_recv.plus_ns(timeouts.read_ns) => {
                self.counters.read_timeouts += 1;
                self.lose(now, true, out);
            }
            Phase::Connected(link) if now >= link.last_send.plus_ns(timeouts.ping_ns) => {
                let msg = ClientMsg::Ping {
                    conn: link.conn,
                    sent: link.requests_sent,
                };
                out.push(Action::Send {
                    to: link.server,
                    msg,
                });
                link.last_send = now;
                self.counters.pings_sent += 1;
            }
            Phase::Waiting { until } if now >= *until => self.attempt(now, out),
            // Early (e.g. the local clock jumped back) or nothing due: `rearm` re-arms.
            _ => {}
        }
    }

    /// Something arrived on the current connection.
    pub(crate) fn touch_recv(&mut self, now: Time) {
        if let Phase::Connecting(link) | Phase::Connected(link) = &mut self.phase {
            link.last_recv = link.last_recv.max(now);
        }
    }

    /// The earliest time something is due: connect timeout, read timeout or ping, end of
    /// the reconnect pause; `None` when nothing ever will be.
    pub(crate) fn deadline(&self) -> Option<Time> {
        let timeouts = self.timeouts;
        match self.phase {
            Phase::Connecting(link) => Some(link.last_recv.plus_ns(timeouts.connect_ns)),
            Phase::Connected(link) => Some(
                link.last_recv
                    .plus_ns(timeouts.read_ns)
                    .min(link.last_send.plus_ns(timeouts.ping_ns)),
            ),
            Phase::Waiting { until } => Some(until),
            Phase::Idle | Phase::Expired | Phase::Closed => None,
        }
    }

    /// Arms the timer at the deadline when it differs from the armed one. With no deadline
    /// an armed timer is left to fire harmlessly (a session has no cancel action).
    pub(crate) fn rearm(&mut self, out: &mut Vec<Action>) {
        if let Some(at) = self.deadline()
            && self.timer_at != Some(at)
        {
            self.timer_at = Some(at);
            out.push(Action::SetTimer { at });
        }
    }
}
