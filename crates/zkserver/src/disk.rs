//! [`DiskRecord`]: one record on a server's disk in a world whose servers may run any of
//! several engines, and the conversions between it and each engine's own records.
//! A message-queue broker's disk holds its partition logs' entries (`Mq`).
//! Invariants: a server's disk holds only its own engine's records (a server never changes
//! engines), so taking them back out never meets another engine's record; a broker's disk
//! holds only broker entries.

/// One record on a simulated server's disk. Raft's and Multi-Paxos's are boxed so ZAB's
/// runs keep theirs small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskRecord {
    Zab(crate::Record),
    Raft(Box<raft::Record<crate::ZkApp>>),
    /// A message-queue broker's entry (issue 15).
    Mq(Box<mq::wire::DiskEntry>),
    Paxos(Box<paxos::Record<crate::ZkApp>>),
}

impl From<crate::Record> for DiskRecord {
    fn from(r: crate::Record) -> DiskRecord {
        DiskRecord::Zab(r)
    }
}

impl From<raft::Record<crate::ZkApp>> for DiskRecord {
    fn from(r: raft::Record<crate::ZkApp>) -> DiskRecord {
        DiskRecord::Raft(Box::new(r))
    }
}

impl From<paxos::Record<crate::ZkApp>> for DiskRecord {
    fn from(r: paxos::Record<crate::ZkApp>) -> DiskRecord {
        DiskRecord::Paxos(Box::new(r))
    }
}

impl DiskRecord {
    /// ZAB's records of a ZAB server's disk (restart only: a copy of shared pointers).
    pub fn zab_records(disk: &[DiskRecord]) -> Vec<crate::Record> {
        disk.iter()
            .map(|r| match r {
                DiskRecord::Zab(z) => z.clone(),
                other => panic!("{other:?} on a zab server's disk"),
            })
            .collect()
    }

    /// Raft's records of a Raft server's disk (restart only).
    pub fn raft_records(disk: &[DiskRecord]) -> Vec<raft::Record<crate::ZkApp>> {
        disk.iter()
            .map(|r| match r {
                DiskRecord::Raft(b) => (**b).clone(),
                other => panic!("{other:?} on a raft server's disk"),
            })
            .collect()
    }

    /// Multi-Paxos's records of a Multi-Paxos server's disk (restart only).
    pub fn paxos_records(disk: &[DiskRecord]) -> Vec<paxos::Record<crate::ZkApp>> {
        disk.iter()
            .map(|r| match r {
                DiskRecord::Paxos(b) => (**b).clone(),
                other => panic!("{other:?} on a paxos server's disk"),
            })
            .collect()
    }

    /// A broker's entries (restart only).
    pub fn mq_entries(disk: &[DiskRecord]) -> impl Iterator<Item = &mq::wire::DiskEntry> {
        disk.iter().map(|r| match r {
            DiskRecord::Mq(e) => e.as_ref(),
            _ => panic!("a server's record on a broker's disk"),
        })
    }
}
