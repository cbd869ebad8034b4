//! The client–server wire protocol: what a ZooKeeper client sends a server ([`ClientMsg`])
//! and what it gets back ([`ServerMsg`]), modelled on ZooKeeper's `ConnectRequest`,
//! `RequestHeader`/`ReplyHeader`, `SetWatches` and `WatcherEvent` packets.
//!
//! A client talks to one server at a time over a *connection* it numbers (`conn`, unique
//! per client process, which may hold several sessions); every message carries it, so a message of an old
//! connection is recognised and ignored by both sides (a TCP connection's identity).
//! Requests on a connection carry the client's `xid` (strictly increasing per session) and
//! are answered in xid order; watch events and replies share the one ordered channel, so a
//! client sees a watch event before any reply that reflects a later state.
//!
//! Deliberately absent: passwords, ACLs and auth, read-only mode, reconfig, the 4-letter
//! words. Not ZooKeeper: a watch event carries the zxid of the txn that triggered it (the
//! checkers use it; ZooKeeper's `WatcherEvent` has none).

use serde::{Deserialize, Serialize};

use crate::Zxid;
use crate::zk::{Op, OpResult, SessionId};

/// Watches a client holds, by kind (ZooKeeper's `SetWatches`: data, exist, child).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WatchSet {
    /// Set by `getData` on an existing node.
    pub data: Vec<String>,
    /// Set by `exists` on a missing node.
    pub exist: Vec<String>,
    /// Set by `getChildren`.
    pub child: Vec<String>,
}

impl WatchSet {
    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.exist.is_empty() && self.child.is_empty()
    }
    pub fn len(&self) -> usize {
        self.data.len() + self.exist.len() + self.child.len()
    }
}

/// Client → server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientMsg {
    /// Opens connection `conn`: a new session (`session: None`) or a reconnect of an
    /// existing one. `last_zxid_seen` is the largest zxid the client has seen; a server that
    /// has applied less refuses the connection. `watches` are re-registered relative to
    /// `last_zxid_seen` (ZooKeeper's `SetWatches`, sent right after connecting).
    Connect {
        conn: u64,
        session: Option<SessionId>,
        timeout_ms: u32,
        last_zxid_seen: Zxid,
        watches: WatchSet,
    },
    /// A request on an established connection.
    Request { conn: u64, xid: u64, op: Op },
    /// Keeps the connection and the session alive. `sent`: requests the client sent on
    /// this connection so far; a server that received fewer lost some and closes it.
    Ping { conn: u64, sent: u64 },
    /// The client drops this connection (it moves to another server or gives up).
    Disconnect { conn: u64 },
}

impl ClientMsg {
    /// The same message on connection `conn`.
    pub fn with_conn(mut self, conn: u64) -> ClientMsg {
        match &mut self {
            ClientMsg::Connect { conn: c, .. }
            | ClientMsg::Request { conn: c, .. }
            | ClientMsg::Ping { conn: c, .. }
            | ClientMsg::Disconnect { conn: c } => *c = conn,
        }
        self
    }

    pub fn conn(&self) -> u64 {
        match self {
            ClientMsg::Connect { conn, .. }
            | ClientMsg::Request { conn, .. }
            | ClientMsg::Ping { conn, .. }
            | ClientMsg::Disconnect { conn } => *conn,
        }
    }
}

/// Why a server closes (or refuses) a connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The server is not in the broadcast phase (election, sync, lost its leader).
    NotServing,
    /// The client has seen a zxid this server has not applied yet.
    ClientAhead,
    /// The session was closed or expired (the client learns which when it reconnects).
    SessionClosed,
    /// A request found the session owned by another server (ZooKeeper closes the
    /// connection on SessionMoved; the client reconnects).
    SessionMoved,
    /// Too many requests queued on this connection.
    Overloaded,
    /// A connection the server does not know (e.g. it restarted).
    UnknownConnection,
    /// Requests the client sent on this connection never arrived (the network dropped
    /// them: for TCP, a broken connection).
    MessagesLost,
}

/// The kind of a watch event (ZooKeeper's `Watcher.Event.EventType`, without `None`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    NodeCreated,
    NodeDeleted,
    NodeDataChanged,
    NodeChildrenChanged,
}

/// A fired watch. `zxid` is the txn that fired it, or for an event fired on reconnect
/// (`SetWatches`) the zxid the server had applied then.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WatchEvent {
    pub kind: EventType,
    pub path: String,
    pub zxid: Zxid,
}

/// Server → client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerMsg {
    /// The connection is established for `session` with the negotiated timeout.
    Connected {
        conn: u64,
        session: SessionId,
        timeout_ms: u32,
    },
    /// The session of this reconnect is expired or closed (ZooKeeper answers a
    /// `ConnectResponse` with timeout 0 and closes the connection).
    Expired { conn: u64 },
    /// The server closes (or refuses) the connection; the session may live on.
    Closed { conn: u64, reason: CloseReason },
    /// The answer to request `xid`: `zxid` is the write's zxid, or for a read the server's
    /// last applied zxid when it answered. `seq`: how many replies and watch events the
    /// server sent on this connection before this one (TCP's in-order stream, made
    /// explicit: a client that received fewer lost some, and must not act on this one).
    Reply {
        conn: u64,
        seq: u64,
        xid: u64,
        zxid: Zxid,
        result: OpResult,
    },
    /// A watch fired (`seq` as for `Reply`).
    Watch {
        conn: u64,
        seq: u64,
        event: WatchEvent,
    },
    /// The answer to a ping, with the server's last applied zxid. `sent`: replies and
    /// watch events the server sent on this connection so far; a client that received fewer
    /// lost some and drops the connection.
    Pong { conn: u64, zxid: Zxid, sent: u64 },
}

impl ServerMsg {
    /// The same message on connection `conn`.
    pub fn with_conn(mut self, conn: u64) -> ServerMsg {
        match &mut self {
            ServerMsg::Connected { conn: c, .. }
            | ServerMsg::Expired { conn: c }
            | ServerMsg::Closed { conn: c, .. }
            | ServerMsg::Reply { conn: c, .. }
            | ServerMsg::Watch { conn: c, .. }
            | ServerMsg::Pong { conn: c, .. } => *c = conn,
        }
        self
    }

    pub fn conn(&self) -> u64 {
        match self {
            ServerMsg::Connected { conn, .. }
            | ServerMsg::Expired { conn }
            | ServerMsg::Closed { conn, .. }
            | ServerMsg::Reply { conn, .. }
            | ServerMsg::Watch { conn, .. }
            | ServerMsg::Pong { conn, .. } => *conn,
        }
    }
}

/// Bytes an op's payload occupies on the wire (paths and data dominate).
pub fn op_size_bytes(op: &Op) -> u32 {
    let bytes = match op {
        Op::Create { path, data, .. } | Op::SetData { path, data, .. } => {
            12 + path.len() + data.len()
        }
        Op::Multi(ops) => 8 + ops.iter().map(|o| op_size_bytes(o) as usize).sum::<usize>(),
        other => 12 + other.path().map_or(0, str::len),
    };
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// Bytes a result occupies on the wire.
pub fn result_size_bytes(result: &OpResult) -> u32 {
    const STAT_BYTES: usize = 68;
    let bytes = match result {
        OpResult::Created { path, .. } => 4 + path.len() + STAT_BYTES,
        OpResult::Data { data, .. } => 4 + data.len() + STAT_BYTES,
        OpResult::Stat(_) | OpResult::Exists(_) => STAT_BYTES,
        OpResult::Children(names) => 4 + names.iter().map(|n| 4 + n.len()).sum::<usize>(),
        OpResult::Multi(rs) => 8 + 16 * rs.len(),
        OpResult::Synced { path } => 4 + path.len(),
        _ => 4,
    };
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::CreateMode;

    #[test]
    fn sizes_grow_with_paths_and_data() {
        let small = Op::Create {
            path: "/a".into(),
            data: vec![],
            mode: CreateMode::Persistent,
        };
        let big = Op::Create {
            path: "/a".into(),
            data: vec![0; 1000],
            mode: CreateMode::Persistent,
        };
        assert_eq!(op_size_bytes(&small), 14);
        assert_eq!(op_size_bytes(&big), 1014);
        assert_eq!(
            op_size_bytes(&Op::Multi(vec![small.clone(), big])),
            8 + 14 + 1014
        );
        let children = OpResult::Children(vec!["ab".into(), "c".into()]);
        assert_eq!(result_size_bytes(&children), 4 + 6 + 5);
    }

    #[test]
    fn every_message_names_its_connection() {
        let msgs = [
            ClientMsg::Ping { conn: 7, sent: 0 },
            ClientMsg::Disconnect { conn: 7 },
            ClientMsg::Request {
                conn: 7,
                xid: 1,
                op: Op::Sync { path: "/".into() },
            },
        ];
        assert!(msgs.iter().all(|m| m.conn() == 7));
        assert!(msgs.iter().all(|m| m.clone().with_conn(8).conn() == 8));
        let reply = ServerMsg::Pong {
            conn: 9,
            zxid: Zxid::ZERO,
            sent: 0,
        };
        assert_eq!(reply.conn(), 9);
        assert_eq!(reply.with_conn(3).conn(), 3);
    }
}
