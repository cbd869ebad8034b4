//! One entry of the replicated log as the ZooKeeper server builds it: a znode-tree txn
//! (ZooKeeper's `TxnHeader` + body) plus who asked for it ([`Origin`]).
//! Invariants: a txn's `digest` is a pure function of its zxid and content ([`Txn::new`]
//! computes it; a txn is immutable once built and travels as `Arc<Txn>`, so receivers do not
//! re-hash it; recovery re-checks it with [`Txn::digest_ok`]).

use datatree::{TxnBody, TxnHeader};
use proto::zk::SessionId;
use proto::{ProcessId, StableHasher, Zxid};
use serde::{Deserialize, Serialize};

/// Who asked for a txn: the server that must reply, the client process, its connection and
/// the request's xid (0 for the connect that creates a session).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    pub server: ProcessId,
    pub client: ProcessId,
    pub conn: u64,
    pub xid: u64,
}

/// One transaction of the replicated log: a znode-tree txn (ZooKeeper's `TxnHeader` + body)
/// plus who asked for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    pub zxid: Zxid,
    /// The session that issued it (`SessionId::NONE` for none).
    pub session: SessionId,
    /// The leader's wall clock at prepare, in milliseconds (ctime/mtime).
    pub time_ms: i64,
    pub body: TxnBody,
    pub origin: Option<Origin>,
    /// Stable hash over zxid and content; see [`Txn::compute_digest`].
    pub digest: u64,
}

impl Txn {
    pub fn new(
        zxid: Zxid,
        session: SessionId,
        time_ms: i64,
        body: TxnBody,
        origin: Option<Origin>,
    ) -> Txn {
        let mut txn = Txn {
            zxid,
            session,
            time_ms,
            body,
            origin,
            digest: 0,
        };
        assert!(
            !matches!(txn.body, TxnBody::CreateSession { .. }) || !txn.session.is_none(),
            "a CreateSession without a session"
        );
        txn.digest = txn.compute_digest();
        txn
    }

    /// The tree's view of this txn (what `DataTree::apply` takes).
    pub fn tree_txn(&self) -> datatree::Txn {
        datatree::Txn {
            header: self.header(),
            body: self.body.clone(),
        }
    }

    pub fn header(&self) -> TxnHeader {
        TxnHeader {
            session: self.session,
            zxid: self.zxid,
            time_ms: self.time_ms,
        }
    }

    pub fn compute_digest(&self) -> u64 {
        let mut h = StableHasher::new();
        h.word(self.zxid.0)
            .word(self.session.0)
            .word(self.time_ms as u64);
        hash_body(&mut h, &self.body);
        match &self.origin {
            None => h.word(0),
            Some(o) => h
                .word(1)
                .word(u64::from(o.server.0))
                .word(u64::from(o.client.0))
                .word(o.conn)
                .word(o.xid),
        };
        h.finish()
    }

    pub fn digest_ok(&self) -> bool {
        self.digest == self.compute_digest()
    }

    /// Bytes on the wire / disk (header, paths, data).
    pub fn size_bytes(&self) -> u32 {
        const HEADER_BYTES: usize = 8 + 8 + 8 + 4 + 4;
        let bytes = HEADER_BYTES + body_size_bytes(&self.body);
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

fn hash_body(h: &mut StableHasher, body: &TxnBody) {
    match body {
        TxnBody::Create {
            path,
            data,
            ephemeral,
            parent_cversion,
        } => h
            .word(1)
            .bytes(path.as_bytes())
            .bytes(data)
            .word(u64::from(*ephemeral))
            .word(*parent_cversion as u32 as u64),
        TxnBody::Delete { path } => h.word(2).bytes(path.as_bytes()),
        TxnBody::SetData {
            path,
            data,
            version,
        } => h
            .word(3)
            .bytes(path.as_bytes())
            .bytes(data)
            .word(*version as u32 as u64),
        TxnBody::Check { path, version } => h
            .word(4)
            .bytes(path.as_bytes())
            .word(*version as u32 as u64),
        TxnBody::Multi(subs) => {
            h.word(5).word(subs.len() as u64);
            subs.iter().for_each(|s| hash_body(h, s));
            h
        }
        TxnBody::CreateSession { timeout_ms } => h.word(6).word(u64::from(*timeout_ms)),
        TxnBody::CloseSession { paths } => {
            h.word(7).word(paths.len() as u64);
            paths.iter().for_each(|p| {
                h.bytes(p.as_bytes());
            });
            h
        }
        TxnBody::Error(err) => h.word(8).word(err.code() as u32 as u64),
    };
}

fn body_size_bytes(body: &TxnBody) -> usize {
    match body {
        TxnBody::Create { path, data, .. } | TxnBody::SetData { path, data, .. } => {
            12 + path.len() + data.len()
        }
        TxnBody::Delete { path } | TxnBody::Check { path, .. } => 8 + path.len(),
        TxnBody::Multi(subs) => 8 + subs.iter().map(body_size_bytes).sum::<usize>(),
        TxnBody::CloseSession { paths } => 8 + paths.iter().map(|p| 4 + p.len()).sum::<usize>(),
        TxnBody::CreateSession { .. } | TxnBody::Error(_) => 8,
    }
}

impl replication::Entry for Txn {
    fn zxid(&self) -> Zxid {
        self.zxid
    }
    fn digest(&self) -> u64 {
        self.digest
    }
    fn digest_ok(&self) -> bool {
        Txn::digest_ok(self)
    }
    fn size_bytes(&self) -> u32 {
        Txn::size_bytes(self)
    }
}
