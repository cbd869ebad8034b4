//! ZooKeeper's client-visible vocabulary as plain serde data: error codes (`ZkError`, with
//! ZooKeeper's exact names and numbers from `KeeperException.Code`), create modes, the
//! znode `Stat`, session ids, client operations (`Op`) and their results (`OpResult`,
//! `MultiResult`). Invariants: `ZkError::code()`/`from_code()` are inverse bijections over
//! ZooKeeper 3.8's codes (excluding `OK`, which is not an error); versions are `i32` and
//! times are `i64` milliseconds since the epoch, exactly as in ZooKeeper's `Stat`; every
//! ZooKeeper outcome is a value here, never a Rust error.

use serde::{Deserialize, Serialize};

use crate::Zxid;

/// A ZooKeeper error code (`KeeperException.Code`, ZooKeeper 3.8). `OK` (0) is not an error
/// and has no variant; a multi's "would have succeeded" entries are
/// [`MultiResult::RolledBack`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ZkError {
    SystemError,
    RuntimeInconsistency,
    DataInconsistency,
    ConnectionLoss,
    MarshallingError,
    Unimplemented,
    OperationTimeout,
    BadArguments,
    UnknownSession,
    NewConfigNoQuorum,
    ReconfigInProgress,
    APIError,
    NoNode,
    NoAuth,
    BadVersion,
    NoChildrenForEphemerals,
    NodeExists,
    NotEmpty,
    SessionExpired,
    InvalidCallback,
    InvalidACL,
    AuthFailed,
    SessionMoved,
    NotReadOnly,
    EphemeralOnLocalSession,
    NoWatcher,
    RequestTimeout,
    ReconfigDisabled,
    SessionClosedRequireSaslAuth,
    QuotaExceeded,
    Throttled,
}

impl ZkError {
    /// Every variant, in `code()` order from -1 downwards.
    pub const ALL: [ZkError; 31] = [
        ZkError::SystemError,
        ZkError::RuntimeInconsistency,
        ZkError::DataInconsistency,
        ZkError::ConnectionLoss,
        ZkError::MarshallingError,
        ZkError::Unimplemented,
        ZkError::OperationTimeout,
        ZkError::BadArguments,
        ZkError::UnknownSession,
        ZkError::NewConfigNoQuorum,
        ZkError::ReconfigInProgress,
        ZkError::APIError,
        ZkError::NoNode,
        ZkError::NoAuth,
        ZkError::BadVersion,
        ZkError::NoChildrenForEphemerals,
        ZkError::NodeExists,
        ZkError::NotEmpty,
        ZkError::SessionExpired,
        ZkError::InvalidCallback,
        ZkError::InvalidACL,
        ZkError::AuthFailed,
        ZkError::SessionMoved,
        ZkError::NotReadOnly,
        ZkError::EphemeralOnLocalSession,
        ZkError::NoWatcher,
        ZkError::RequestTimeout,
        ZkError::ReconfigDisabled,
        ZkError::SessionClosedRequireSaslAuth,
        ZkError::QuotaExceeded,
        ZkError::Throttled,
    ];

    /// ZooKeeper's integer code (`KeeperException.Code.intValue()`).
    pub const fn code(self) -> i32 {
        match self {
            ZkError::SystemError => -1,
            ZkError::RuntimeInconsistency => -2,
            ZkError::DataInconsistency => -3,
            ZkError::ConnectionLoss => -4,
            ZkError::MarshallingError => -5,
            ZkError::Unimplemented => -6,
            ZkError::OperationTimeout => -7,
            ZkError::BadArguments => -8,
            ZkError::UnknownSession => -12,
            ZkError::NewConfigNoQuorum => -13,
            ZkError::ReconfigInProgress => -14,
            ZkError::APIError => -100,
            ZkError::NoNode => -101,
            ZkError::NoAuth => -102,
            ZkError::BadVersion => -103,
            ZkError::NoChildrenForEphemerals => -108,
            ZkError::NodeExists => -110,
            ZkError::NotEmpty => -111,
            ZkError::SessionExpired => -112,
            ZkError::InvalidCallback => -113,
            ZkError::InvalidACL => -114,
            ZkError::AuthFailed => -115,
            ZkError::SessionMoved => -118,
            ZkError::NotReadOnly => -119,
            ZkError::EphemeralOnLocalSession => -120,
            ZkError::NoWatcher => -121,
            ZkError::RequestTimeout => -122,
            ZkError::ReconfigDisabled => -123,
            ZkError::SessionClosedRequireSaslAuth => -124,
            ZkError::QuotaExceeded => -125,
            ZkError::Throttled => -127,
        }
    }

    /// ZooKeeper's name: the camel-case constant of `KeeperException.CodeDeprecated` (also
    /// the exception class name without `Exception`), e.g. `"NoNode"`, `"InvalidACL"`.
    pub const fn name(self) -> &'static str {
        match self {
            ZkError::SystemError => "SystemError",
            ZkError::RuntimeInconsistency => "RuntimeInconsistency",
            ZkError::DataInconsistency => "DataInconsistency",
            ZkError::ConnectionLoss => "ConnectionLoss",
            ZkError::MarshallingError => "MarshallingError",
            ZkError::Unimplemented => "Unimplemented",
            ZkError::OperationTimeout => "OperationTimeout",
            ZkError::BadArguments => "BadArguments",
            ZkError::UnknownSession => "UnknownSession",
            ZkError::NewConfigNoQuorum => "NewConfigNoQuorum",
            ZkError::ReconfigInProgress => "ReconfigInProgress",
            ZkError::APIError => "APIError",
            ZkError::NoNode => "NoNode",
            ZkError::NoAuth => "NoAuth",
            ZkError::BadVersion => "BadVersion",
            ZkError::NoChildrenForEphemerals => "NoChildrenForEphemerals",
            ZkError::NodeExists => "NodeExists",
            ZkError::NotEmpty => "NotEmpty",
            ZkError::SessionExpired => "SessionExpired",
            ZkError::InvalidCallback => "InvalidCallback",
            ZkError::InvalidACL => "InvalidACL",
            ZkError::AuthFailed => "AuthFailed",
            ZkError::SessionMoved => "SessionMoved",
            ZkError::NotReadOnly => "NotReadOnly",
            ZkError::EphemeralOnLocalSession => "EphemeralOnLocalSession",
            ZkError::NoWatcher => "NoWatcher",
            ZkError::RequestTimeout => "RequestTimeout",
            ZkError::ReconfigDisabled => "ReconfigDisabled",
            ZkError::SessionClosedRequireSaslAuth => "SessionClosedRequireSaslAuth",
            ZkError::QuotaExceeded => "QuotaExceeded",
            ZkError::Throttled => "Throttled",
        }
    }

    /// The error with ZooKeeper code `code`, if any (`0` = OK is not an error).
    pub fn from_code(code: i32) -> Option<ZkError> {
        ZkError::ALL.iter().copied().find(|e| e.code() == code)
    }

    /// The error named `name` (as returned by [`ZkError::name`]).
    pub fn from_name(name: &str) -> Option<ZkError> {
        ZkError::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// A system/server error (ZooKeeper: code above `APIERROR`, -100): the outcome of the
    /// operation may be unknown (e.g. `ConnectionLoss`), as opposed to an API error that
    /// means the operation definitely did not take effect.
    pub const fn is_system_error(self) -> bool {
        self.code() > ZkError::APIError.code()
    }
}

impl std::fmt::Display for ZkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a znode is created (ZooKeeper's `CreateMode` without TTL and container modes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
}

impl CreateMode {
    pub const ALL: [CreateMode; 4] = [
        CreateMode::Persistent,
        CreateMode::Ephemeral,
        CreateMode::PersistentSequential,
        CreateMode::EphemeralSequential,
    ];

    pub const fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    pub const fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential | CreateMode::EphemeralSequential
        )
    }

    /// ZooKeeper's wire flag (`CreateMode.toFlag()`).
    pub const fn flag(self) -> i32 {
        match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => 1,
            CreateMode::PersistentSequential => 2,
            CreateMode::EphemeralSequential => 3,
        }
    }

    /// The scenario/history spelling: `"persistent"`, `"ephemeral_sequential"`, ….
    pub const fn as_str(self) -> &'static str {
        match self {
            CreateMode::Persistent => "persistent",
            CreateMode::Ephemeral => "ephemeral",
            CreateMode::PersistentSequential => "persistent_sequential",
            CreateMode::EphemeralSequential => "ephemeral_sequential",
        }
    }
}

impl std::str::FromStr for CreateMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CreateMode::ALL
            .iter()
            .copied()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown create mode {s:?}; expected one of persistent, ephemeral, \
                     persistent_sequential, ephemeral_sequential"
                )
            })
    }
}

impl std::fmt::Display for CreateMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client session id. ZooKeeper never hands out session 0, so `SessionId::NONE` doubles as
/// "not ephemeral" in [`Stat::ephemeral_owner`].
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SessionId(pub u64);

impl SessionId {
    pub const NONE: SessionId = SessionId(0);

    pub const fn is_none(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Display for SessionId {
    /// ZooKeeper's hex notation, `0x1000002a0b30000`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A znode's metadata, with ZooKeeper's field meanings (`org.apache.zookeeper.data.Stat`):
/// - `czxid`/`ctime`: zxid and time (ms) of the create;
/// - `mzxid`/`mtime`: zxid and time (ms) of the last create or setData;
/// - `pzxid`: zxid of the last change to the children (child create or delete);
/// - `version`: data version (setData count), `cversion`: child version (child creations
///   plus deletions as ZooKeeper 3.8 reports it; the tree stores creations only, which is the
///   sequential suffix; see the datatree crate), `aversion`: ACL version;
/// - `ephemeral_owner`: owning session, or `SessionId::NONE`;
/// - `data_length`: data size in bytes, `num_children`: current number of children.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stat {
    pub czxid: Zxid,
    pub mzxid: Zxid,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: SessionId,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: Zxid,
}

/// A client operation. Reads carry a `watch` flag; writes carry the expected version
/// (`-1` matches any version, as in ZooKeeper).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create {
        path: String,
        data: Vec<u8>,
        mode: CreateMode,
    },
    Delete {
        path: String,
        version: i32,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
    Check {
        path: String,
        version: i32,
    },
    /// All-or-nothing transaction of `Create`, `Delete`, `SetData` and `Check` ops.
    Multi(Vec<Op>),
    GetData {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetChildren {
        path: String,
        watch: bool,
    },
    Sync {
        path: String,
    },
    CloseSession,
    CreateSession {
        timeout_ms: u32,
    },
}

impl Op {
    /// The version that matches any version.
    pub const ANY_VERSION: i32 = -1;

    /// Writes go through the leader and become txns (create, delete, setData, check, multi,
    /// session create/close).
    pub const fn is_write(&self) -> bool {
        matches!(
            self,
            Op::Create { .. }
                | Op::Delete { .. }
                | Op::SetData { .. }
                | Op::Check { .. }
                | Op::Multi(_)
                | Op::CloseSession
                | Op::CreateSession { .. }
        )
    }

    /// Served locally by the connected server from its (possibly stale) tree.
    pub const fn is_read(&self) -> bool {
        matches!(
            self,
            Op::GetData { .. } | Op::Exists { .. } | Op::GetChildren { .. }
        )
    }

    /// May appear inside a `Multi` (ZooKeeper's transactional op kinds).
    pub const fn is_multi_member(&self) -> bool {
        matches!(
            self,
            Op::Create { .. } | Op::Delete { .. } | Op::SetData { .. } | Op::Check { .. }
        )
    }

    /// The path the op names, if it names one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Op::Create { path, .. }
            | Op::Delete { path, .. }
            | Op::SetData { path, .. }
            | Op::Check { path, .. }
            | Op::GetData { path, .. }
            | Op::Exists { path, .. }
            | Op::GetChildren { path, .. }
            | Op::Sync { path } => Some(path),
            Op::Multi(_) | Op::CloseSession | Op::CreateSession { .. } => None,
        }
    }

    /// A stable short name (the history's `f` field).
    pub const fn name(&self) -> &'static str {
        match self {
            Op::Create { .. } => "create",
            Op::Delete { .. } => "delete",
            Op::SetData { .. } => "set_data",
            Op::Check { .. } => "check",
            Op::Multi(_) => "multi",
            Op::GetData { .. } => "get_data",
            Op::Exists { .. } => "exists",
            Op::GetChildren { .. } => "get_children",
            Op::Sync { .. } => "sync",
            Op::CloseSession => "close_session",
            Op::CreateSession { .. } => "create_session",
        }
    }
}

/// The per-op outcome inside a multi (ZooKeeper's `OpResult` subclasses). When a multi
/// fails, ZooKeeper reports every op: the ops before the failing one as
/// [`MultiResult::RolledBack`] (an `ErrorResult` with code 0), the failing op with its
/// error, and every later op as `Err(RuntimeInconsistency)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiResult {
    /// `stat` as in [`OpResult::Created`].
    Created {
        path: String,
        stat: Option<Stat>,
    },
    Deleted,
    SetData(Stat),
    Checked,
    /// ZooKeeper's `ErrorResult(OK)`: would have succeeded, undone because another op failed.
    RolledBack,
    Err(ZkError),
}

impl MultiResult {
    /// ZooKeeper's error code for this entry (0 for success and for `RolledBack`).
    pub const fn code(&self) -> i32 {
        match self {
            MultiResult::Err(err) => err.code(),
            _ => 0,
        }
    }
}

/// The outcome of one [`Op`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpResult {
    /// `path` is the actual name (with the sequential suffix, if any). `stat` is the new
    /// node's stat as ZooKeeper's `create2` returns it; the tree always fills it, and a
    /// server answering a plain `create` (path only) drops it.
    Created {
        path: String,
        stat: Option<Stat>,
    },
    Deleted,
    /// The new stat after setData.
    Stat(Stat),
    Checked,
    Data {
        data: Vec<u8>,
        stat: Stat,
    },
    Exists(Option<Stat>),
    /// Child names (not full paths), sorted.
    Children(Vec<String>),
    /// One entry per op, in op order. The multi failed iff some entry is `Err`; then
    /// [`OpResult::error`] is the failing op's error, as ZooKeeper reports it.
    Multi(Vec<MultiResult>),
    Synced {
        path: String,
    },
    SessionCreated {
        timeout_ms: u32,
    },
    SessionClosed,
    Err(ZkError),
}

impl OpResult {
    /// The error the client sees: the error itself, or a failed multi's first error.
    pub fn error(&self) -> Option<ZkError> {
        match self {
            OpResult::Err(err) => Some(*err),
            OpResult::Multi(results) => results.iter().find_map(|r| match r {
                MultiResult::Err(err) => Some(*err),
                _ => None,
            }),
            _ => None,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.error().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_match_zookeeper() {
        let cases: &[(ZkError, i32, &str)] = &[
            (ZkError::RuntimeInconsistency, -2, "RuntimeInconsistency"),
            (ZkError::ConnectionLoss, -4, "ConnectionLoss"),
            (ZkError::MarshallingError, -5, "MarshallingError"),
            (ZkError::Unimplemented, -6, "Unimplemented"),
            (ZkError::OperationTimeout, -7, "OperationTimeout"),
            (ZkError::BadArguments, -8, "BadArguments"),
            (ZkError::NoNode, -101, "NoNode"),
            (ZkError::NoAuth, -102, "NoAuth"),
            (ZkError::BadVersion, -103, "BadVersion"),
            (
                ZkError::NoChildrenForEphemerals,
                -108,
                "NoChildrenForEphemerals",
            ),
            (ZkError::NodeExists, -110, "NodeExists"),
            (ZkError::NotEmpty, -111, "NotEmpty"),
            (ZkError::SessionExpired, -112, "SessionExpired"),
            (ZkError::InvalidACL, -114, "InvalidACL"),
            (ZkError::SessionMoved, -118, "SessionMoved"),
            (ZkError::Throttled, -127, "Throttled"),
        ];
        for &(err, code, name) in cases {
            assert_eq!(err.code(), code, "{name}");
            assert_eq!(err.name(), name);
            assert_eq!(err.to_string(), name);
            assert_eq!(ZkError::from_code(code), Some(err));
            assert_eq!(ZkError::from_name(name), Some(err));
        }
        assert_eq!(ZkError::from_code(0), None);
        assert!(ZkError::ConnectionLoss.is_system_error());
        assert!(!ZkError::NoNode.is_system_error());
    }

    #[test]
    fn codes_are_unique_and_descending() {
        for w in ZkError::ALL.windows(2) {
            assert!(w[0].code() > w[1].code(), "{:?} {:?}", w[0], w[1]);
        }
        for e in ZkError::ALL {
            assert_eq!(ZkError::from_code(e.code()), Some(e));
            assert_eq!(ZkError::from_name(e.name()), Some(e));
        }
    }

    #[test]
    fn create_modes_parse() {
        for m in CreateMode::ALL {
            assert_eq!(m.as_str().parse::<CreateMode>(), Ok(m));
            assert_eq!(
                m.flag(),
                CreateMode::ALL.iter().position(|&x| x == m).unwrap() as i32
            );
        }
        assert!("sequential".parse::<CreateMode>().is_err());
        assert!(CreateMode::EphemeralSequential.is_ephemeral());
        assert!(CreateMode::EphemeralSequential.is_sequential());
        assert!(!CreateMode::Persistent.is_sequential());
        assert!(!CreateMode::PersistentSequential.is_ephemeral());
    }

    #[test]
    fn results_report_errors() {
        let failed = OpResult::Multi(vec![
            MultiResult::RolledBack,
            MultiResult::Err(ZkError::NoNode),
            MultiResult::Err(ZkError::RuntimeInconsistency),
        ]);
        assert_eq!(failed.error(), Some(ZkError::NoNode));
        assert_eq!(OpResult::Deleted.error(), None);
        assert!(OpResult::Multi(vec![]).is_ok());
        assert_eq!(MultiResult::RolledBack.code(), 0);
        assert_eq!(SessionId(0x2a).to_string(), "0x2a");
        assert!(Op::Multi(vec![]).is_write());
        assert!(!Op::Sync { path: "/".into() }.is_read());
    }
}
