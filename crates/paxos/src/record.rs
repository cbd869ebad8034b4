//! Durable records (one acceptor's disk image) and recovery from them: promises and
//! acceptances. What was chosen is not durable; a restarted server learns it again.
//! Invariants: records replay in append order; the recovered promise is the highest
//! ballot promised or accepted in; a slot's accepted ballot never decreases along the
//! records (an acceptor accepts only at or above its promise).

use replication::{App, Entry};

use crate::config::Order;
use crate::log::{Log, Value};

/// One record on a server's disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record<A: App> {
    /// The acceptor promised `ballot` (and nothing lower will be accepted).
    Promise { ballot: u64 },
    /// The acceptor accepted `value` at `slot` in `ballot`.
    Accept {
        slot: u64,
        ballot: u64,
        value: Value<A>,
    },
}

impl<A: App> Record<A> {
    /// Bytes this record takes on disk (an estimate, for disk-cost models).
    pub fn size_bytes(&self) -> u32 {
        match self {
            Record::Promise { .. } => 8,
            Record::Accept { value, .. } => value.size_bytes().saturating_add(16),
        }
    }
}

/// What an acceptor rebuilds from its durable records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskImage<A: App> {
    pub promised: u64,
    pub log: Log<A>,
}

/// Replays durable records (in append order; a torn tail is never passed in) as they were
/// accepted under `order` (prefix acceptance dropped a conflicting suffix at each). `bugs`:
/// a planted bug may have lost an acceptance that a later, lower one replaced.
pub fn recover<A: App>(records: &[Record<A>], bugs: bool, order: Order) -> DiskImage<A> {
    let mut img = DiskImage {
        promised: 0,
        log: Log::new(),
    };
    for r in records {
        match r {
            Record::Promise { ballot } => {
                assert!(bugs || *ballot >= img.promised, "the promise goes back");
                img.promised = img.promised.max(*ballot);
            }
            Record::Accept {
                slot,
                ballot,
                value,
            } => {
                if let Value::App(e) = value {
                    assert!(e.digest_ok(), "corrupt accept record {}", e.zxid());
                }
                match order {
                    Order::Classic => img.log.accept(*slot, *ballot, value.clone(), bugs),
                    Order::Prefix => img.log.accept_prefix(*slot, *ballot, value.clone(), bugs),
                }
                img.promised = img.promised.max(*ballot);
            }
        }
    }
    img
}
