//! Durable records (the log-structured disk image of one server) and recovery from them.
//! Invariants: records replay in append order; an `Entry` record lands exactly at the end of
//! the log rebuilt so far (a `Truncate` before it cut the conflicting suffix); the hard
//! state's term never decreases along the records and the vote is cast once per term;
//! after recovery every log term is at most the recovered term.

use proto::ProcessId;
use replication::{App, Entry};

use crate::log::{LogEntry, RaftLog, Slot};

/// One record on a server's disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record<A: App> {
    /// Raft's persistent `currentTerm` and `votedFor`.
    HardState {
        term: u64,
        voted_for: Option<ProcessId>,
    },
    /// The slot at `index` (one past the log's end when written).
    Entry { index: u64, slot: Slot<A> },
    /// Every slot at `from` and after is cut (a conflicting suffix).
    Truncate { from: u64 },
}

impl<A: App> Record<A> {
    /// Bytes this record takes on disk (an estimate, for disk-cost models).
    pub fn size_bytes(&self) -> u32 {
        match self {
            Record::HardState { .. } => 16,
            Record::Entry { slot, .. } => slot.size_bytes().saturating_add(8),
            Record::Truncate { .. } => 8,
        }
    }
}

/// What a server rebuilds from its durable records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskImage<A: App> {
    pub term: u64,
    pub voted_for: Option<ProcessId>,
    pub log: RaftLog<A>,
}

/// Replays durable records (in append order; a torn tail is never passed in).
pub fn recover<A: App>(records: &[Record<A>]) -> DiskImage<A> {
    let mut img = DiskImage {
        term: 0,
        voted_for: None,
        log: RaftLog::new(),
    };
    for r in records {
        match r {
            Record::HardState { term, voted_for } => {
                assert!(*term >= img.term, "the durable term goes back");
                assert!(
                    *term > img.term || img.voted_for.is_none() || img.voted_for == *voted_for,
                    "two votes in term {term}"
                );
                img.term = *term;
                img.voted_for = *voted_for;
            }
            Record::Entry { index, slot } => {
                assert_eq!(
                    *index,
                    img.log.last_index() + 1,
                    "an entry record off the log end"
                );
                if let LogEntry::App(e) = &slot.entry {
                    assert!(e.digest_ok(), "corrupt entry record {}", e.zxid());
                }
                img.log.append(slot.clone());
            }
            Record::Truncate { from } => {
                img.log.truncate_from(*from);
            }
        }
    }
    assert!(
        img.log.last_term() <= img.term,
        "a logged term {} above the durable term {}",
        img.log.last_term(),
        img.term
    );
    img
}
