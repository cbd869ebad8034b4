//! The leader's session tracker (ZooKeeper's `SessionTrackerImpl`): which sessions are live,
//! when each expires unless touched, which server owns it, and which are closing. A new
//! leader starts it from the replicated live sessions, every one with a full timeout.
//! Invariants: a tracked session has a non-zero timeout; `expires_at` only moves forward on
//! a touch; a closing session is never touched back to life and is expired only once;
//! at most `SESSIONS_MAX` sessions are tracked.

use std::collections::BTreeMap;

use proto::zk::{SessionId, ZkError};
use proto::{NS_PER_MS, ProcessId, Time};

use crate::state::SESSIONS_MAX;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Tracked {
    timeout_ms: u32,
    expires_at: Time,
    /// The server the client is connected to (None until one claims it after a leader
    /// change: ZooKeeper's `checkSession` sets a missing owner).
    owner: Option<ProcessId>,
    closing: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionTracker {
    sessions: BTreeMap<SessionId, Tracked>,
}

impl SessionTracker {
    /// A tracker for a newly established leader: every live session gets a full timeout.
    pub(crate) fn starting(live: &BTreeMap<SessionId, u32>, now: Time) -> SessionTracker {
        let mut t = SessionTracker::default();
        for (&session, &timeout_ms) in live {
            t.add(session, timeout_ms, None, now);
        }
        t
    }

    /// Starts tracking a session (createSession at prepare).
    pub(crate) fn add(
        &mut self,
        session: SessionId,
        timeout_ms: u32,
        owner: Option<ProcessId>,
        now: Time,
    ) {
        assert!(timeout_ms > 0 && !session.is_none());
        assert!(self.sessions.len() < SESSIONS_MAX, "too many sessions");
        let previous = self.sessions.insert(
            session,
            Tracked {
                timeout_ms,
                expires_at: now.plus_ns(u64::from(timeout_ms) * NS_PER_MS),
                owner,
                closing: false,
            },
        );
        assert!(previous.is_none(), "session {session} tracked twice");
    }

    /// Keeps a live session alive for another timeout. False if it is not live.
    pub(crate) fn touch(&mut self, session: SessionId, now: Time) -> bool {
        match self.sessions.get_mut(&session) {
            Some(t) if !t.closing => {
                let until = now.plus_ns(u64::from(t.timeout_ms) * NS_PER_MS);
                t.expires_at = t.expires_at.max(until);
                true
            }
            _ => false,
        }
    }

    /// ZooKeeper's `checkSession(session, owner)` for a request: SessionExpired if the
    /// session is not live (or closing), SessionMoved if another server owns it. A session
    /// without an owner is claimed.
    pub(crate) fn check(&mut self, session: SessionId, owner: ProcessId) -> Result<(), ZkError> {
        let Some(t) = self.sessions.get_mut(&session) else {
            return Err(ZkError::SessionExpired);
        };
        if t.closing {
            return Err(ZkError::SessionExpired);
        }
        match t.owner {
            None => {
                t.owner = Some(owner);
                Ok(())
            }
            Some(o) if o == owner => Ok(()),
            Some(_) => Err(ZkError::SessionMoved),
        }
    }

    /// A reconnect through `owner` (ZooKeeper's revalidation): live sessions are touched and
    /// move to `owner`. Returns the timeout, or None if the session is expired or closing.
    pub(crate) fn revalidate(
        &mut self,
        session: SessionId,
        owner: ProcessId,
        now: Time,
    ) -> Option<u32> {
        if !self.touch(session, now) {
            return None;
        }
        let t = self.sessions.get_mut(&session).expect("touched");
        t.owner = Some(owner);
        Some(t.timeout_ms)
    }

    /// Marks a session closing (closeSession prepared). False if it was not live.
    pub(crate) fn set_closing(&mut self, session: SessionId) -> bool {
        match self.sessions.get_mut(&session) {
            Some(t) if !t.closing => {
                t.closing = true;
                true
            }
            _ => false,
        }
    }

    /// Forgets a session whose CloseSession txn was applied.
    pub(crate) fn remove(&mut self, session: SessionId) {
        self.sessions.remove(&session);
    }

    /// Sessions past their deadline, now marked closing, in id order.
    pub(crate) fn expire(&mut self, now: Time) -> Vec<SessionId> {
        let mut expired = Vec::new();
        for (&session, t) in self.sessions.iter_mut() {
            if !t.closing && t.expires_at <= now {
                t.closing = true;
                expired.push(session);
            }
        }
        expired
    }

    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: SessionId = SessionId(7);
    fn ms(n: u64) -> Time {
        Time(n * NS_PER_MS)
    }

    #[test]
    fn expires_after_the_timeout_unless_touched() {
        let mut t = SessionTracker::default();
        t.add(S, 1000, Some(ProcessId(1)), ms(0));
        assert!(t.expire(ms(999)).is_empty());
        assert!(t.touch(S, ms(500)));
        assert!(t.expire(ms(1499)).is_empty());
        assert_eq!(t.expire(ms(1500)), vec![S]);
        assert!(t.expire(ms(5000)).is_empty(), "expired only once");
        assert!(!t.touch(S, ms(5000)), "a closing session stays closing");
        assert_eq!(t.check(S, ProcessId(1)), Err(ZkError::SessionExpired));
    }

    #[test]
    fn owner_checks_claims_and_moves() {
        let live = BTreeMap::from([(S, 1000)]);
        let mut t = SessionTracker::starting(&live, ms(0));
        assert_eq!(t.check(S, ProcessId(2)), Ok(()), "claimed");
        assert_eq!(t.check(S, ProcessId(3)), Err(ZkError::SessionMoved));
        assert_eq!(t.revalidate(S, ProcessId(3), ms(10)), Some(1000));
        assert_eq!(t.check(S, ProcessId(3)), Ok(()));
        assert_eq!(
            t.check(SessionId(8), ProcessId(3)),
            Err(ZkError::SessionExpired)
        );
        assert!(t.set_closing(S));
        assert!(!t.set_closing(S));
        assert_eq!(t.revalidate(S, ProcessId(3), ms(20)), None);
        t.remove(S);
        assert_eq!(t.len(), 0);
    }
}
