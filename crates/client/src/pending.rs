//! The session's outstanding requests in xid order (ZooKeeper's `outgoingQueue` +
//! `pendingQueue` in one deque): queued while no connection is up, in flight while one is.
//! Invariants: xids strictly increase front to back; the length never exceeds the bound.

use std::collections::VecDeque;

use proto::zk::Op;

/// One request the application submitted and that has not completed yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub xid: u64,
    pub op: Op,
}

/// Outstanding requests, oldest first. Whether they are queued or in flight is the
/// session's business: all of them are in flight while connected, none otherwise.
#[derive(Debug)]
pub(crate) struct Pending {
    requests: VecDeque<Request>,
    /// Hard bound on `requests.len()` (the configured bound plus one for `close()`).
    capacity: usize,
    /// The largest xid ever pushed (0: none yet).
    last_xid: u64,
}

impl Pending {
    pub fn new(capacity: usize) -> Pending {
        assert!(capacity > 0);
        Pending {
            requests: VecDeque::new(),
            capacity,
            last_xid: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Queues request `xid`, which must be newer than every request pushed before.
    pub fn push(&mut self, xid: u64, op: Op) -> &Request {
        assert!(xid > self.last_xid, "xid {xid} after {}", self.last_xid);
        assert!(
            self.requests.len() < self.capacity,
            "pending bound exceeded"
        );
        self.last_xid = xid;
        self.requests.push_back(Request { xid, op });
        self.requests.back().expect("just pushed")
    }

    /// The oldest outstanding request's xid.
    pub fn oldest_xid(&self) -> Option<u64> {
        self.requests.front().map(|r| r.xid)
    }

    /// The newest outstanding request's xid.
    pub fn newest_xid(&self) -> Option<u64> {
        self.requests.back().map(|r| r.xid)
    }

    /// Removes and returns the oldest request if its xid is `xid`.
    pub fn pop_if_oldest(&mut self, xid: u64) -> Option<Request> {
        if self.oldest_xid() != Some(xid) {
            return None;
        }
        let request = self.requests.pop_front().expect("checked non-empty");
        debug_assert!(self.oldest_xid().is_none_or(|next| next > xid));
        Some(request)
    }

    /// Every outstanding request, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Request> {
        self.requests.iter()
    }

    /// Takes every outstanding request, oldest first, leaving the queue empty.
    pub fn take_all(&mut self) -> VecDeque<Request> {
        std::mem::take(&mut self.requests)
    }

    /// O(n) check of the ordering and bound invariants.
    pub fn check_invariants(&self) {
        assert!(self.requests.len() <= self.capacity);
        let mut previous = 0;
        for request in &self.requests {
            assert!(request.xid > previous, "pending xids out of order");
            previous = request.xid;
        }
        assert!(previous <= self.last_xid);
    }
}
