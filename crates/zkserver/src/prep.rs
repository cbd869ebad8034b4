//! The leader's side of writes (ZooKeeper's `PrepRequestProcessor`): session checks, then
//! the prepare of an operation against the tree plus the outstanding changes, into a txn
//! at the position the engine gives; forwarded writes and revalidations from learners; the
//! expiry of silent sessions on the leader's tick.
//! Invariants: only a serving leader prepares; a refused session check still consumes its
//! position as an error txn (as ZooKeeper's does); only a session expiry has no origin.

use datatree::{TxnBody, TxnHeader};
use proto::zk::{Op, SessionId, ZkError};
use proto::{Ctx, NS_PER_MS, ProcessId, Time};
use replication::Engine;

use crate::ZkApp;
use crate::msg::{EngineWire, PeerMsg, Revalidated};
use crate::server::{Out, Server};
use crate::sessions::SessionTracker;
use crate::txn::{Origin, Txn};

impl<E: Engine<ZkApp>> Server<E>
where
    E::Wire: EngineWire,
{
    /// Prepares `op` of `session` against the tree plus the outstanding changes (session
    /// checks first) and proposes the txn. `origin: None` is a session expiry. False
    /// (nothing proposed) when the engine takes no proposal now.
    pub(crate) fn leader_submit<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        session: SessionId,
        op: &Op,
        origin: Option<Origin>,
        out: &mut Out<R>,
    ) -> bool {
        assert!(op.is_write(), "submit of a read");
        assert!(self.side.status.leading(), "a submit while not leading");
        let Some(zxid) = self.with_engine(out, |e, b, eo| e.next_position(ctx, b, eo)) else {
            return false;
        };
        let side = &mut self.side;
        assert!(
            zxid > side.applied(),
            "a position at or below the applied state"
        );
        // The txn's time (its nodes' ctime / mtime) is a date: the wall clock's.
        let header = TxnHeader {
            session,
            zxid,
            time_ms: i64::try_from(side.wall.0 / NS_PER_MS).expect("time fits"),
        };
        let body = match session_check(&mut side.tracker, session, op, origin, side.now) {
            Err(err) => TxnBody::Error(err),
            Ok(()) => {
                side.state
                    .tree()
                    .prepare_with(&mut side.pending, header, op)
                    .body
            }
        };
        let txn = Txn::new(zxid, session, header.time_ms, body, origin);
        assert_eq!(txn.zxid, zxid);
        self.with_engine(out, |e, b, eo| e.propose(txn, b, eo));
        true
    }

    /// A server's message to this server's engine role: a learner's forwarded write or
    /// revalidation (a leader's), anything else is not expected and dropped.
    pub(crate) fn on_peer_msg<R: From<E::Record>>(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: PeerMsg,
        out: &mut Out<R>,
    ) {
        if !(self.side.status.leading() && self.side.status.serving) {
            return;
        }
        match msg {
            PeerMsg::Request(r) => {
                if r.origin.server != from || !r.op.is_write() || !self.engine().peer_serving(from)
                {
                    return;
                }
                // Refused proposals are dropped: the learner answers its client when it
                // loses us.
                let _ = self.leader_submit(ctx, r.session, &r.op, Some(r.origin), out);
            }
            PeerMsg::Revalidate(r) => {
                let now = self.side.now;
                let timeout_ms = self.side.tracker.revalidate(r.session, from, now);
                let reply = PeerMsg::Revalidated(Box::new(Revalidated {
                    session: r.session,
                    client: r.client,
                    conn: r.conn,
                    timeout_ms,
                }));
                let sent = self.with_engine(out, |e, _, eo| e.send_to_peer(from, reply, eo));
                assert!(sent, "a revalidation from a learner that is not connected");
            }
            PeerMsg::Sync(_) | PeerMsg::Revalidated(_) => {}
        }
    }

    /// Proposes a CloseSession for every session past its deadline (the established
    /// leader's tick).
    pub(crate) fn expire_sessions<R: From<E::Record>>(&mut self, ctx: &mut Ctx, out: &mut Out<R>) {
        assert!(
            self.side.status.leading() && self.side.status.serving,
            "only an established leader expires sessions"
        );
        let now = self.side.now;
        let expired = self.side.tracker.expire(now);
        assert!(
            expired.windows(2).all(|w| w[0] != w[1]),
            "a session expired twice"
        );
        for session in expired {
            if !self.leader_submit(ctx, session, &Op::CloseSession, None, out) {
                return;
            }
        }
    }
}

/// ZooKeeper's session checks before a write is prepared: a new session starts being
/// tracked, a close marks it closing, anything else must come from the session's owner.
fn session_check(
    tracker: &mut SessionTracker,
    session: SessionId,
    op: &Op,
    origin: Option<Origin>,
    now: Time,
) -> Result<(), ZkError> {
    match (op, origin) {
        (Op::CreateSession { timeout_ms }, Some(o)) => {
            tracker.add(session, *timeout_ms, Some(o.server), now);
            Ok(())
        }
        (Op::CloseSession, None) => Ok(()), // an expiry: marked closing already
        (Op::CloseSession, Some(o)) => {
            tracker.check(session, o.server)?;
            let closing = tracker.set_closing(session);
            assert!(closing);
            Ok(())
        }
        (_, Some(o)) => tracker.check(session, o.server),
        (_, None) => panic!("only a session expiry has no origin: {op:?}"),
    }
}
