//! One end of a numbered, acknowledged link for an engine's application traffic between a
//! leader and one follower in one term (shared by raft and paxos), reliable and FIFO like
//! ZooKeeper's quorum connection (the server's forwarded writes, session revalidations and
//! sync barriers must not vanish in a partition): each message carries the follower
//! incarnation's link id and a sequence number, the receiver takes only the next one in
//! order, acknowledges cumulatively (piggybacked on the engine's own traffic), and the
//! sender resends what stays unacknowledged for a heartbeat. A follower's link id is its
//! monotonic clock at start, so a restarted follower's link is newer than its previous
//! incarnation's: the leader drops the old link (its unacked messages were for a process
//! that is gone) and ignores anything older.
//! Invariants: `acked <= sent` and `unacked` holds exactly the messages `acked + 1 ..=
//! sent`, in order; at most `LINK_UNACKED_MAX` of them; `received` only grows by one.

use std::collections::VecDeque;

use proto::Time;

/// Most messages one end of a link keeps unacknowledged.
pub const LINK_UNACKED_MAX: usize = 100_000;

/// A message that can ride a link: its (link id, sequence number) if it does.
pub trait Linked {
    fn link_seq(&self) -> Option<(u64, u64)>;
}

/// One end of a leader–follower link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link<M> {
    /// The follower incarnation's link id (0: the leader has not heard it yet).
    pub id: u64,
    /// Messages numbered so far by this end, and how many the other end acknowledged.
    sent: u64,
    acked: u64,
    /// The other end's messages taken, in order.
    pub received: u64,
    /// (when last sent, message) for `acked + 1 ..= sent`.
    unacked: VecDeque<(Time, M)>,
}

impl<M: Linked + Clone + std::fmt::Debug> Link<M> {
    pub fn new(id: u64) -> Link<M> {
        Link {
            id,
            sent: 0,
            acked: 0,
            received: 0,
            unacked: VecDeque::new(),
        }
    }

    /// Numbers the message `make(id, seq)` builds, keeps it until acknowledged, and
    /// returns it to send.
    pub fn push(&mut self, now: Time, make: impl FnOnce(u64, u64) -> M) -> M {
        assert!(
            self.unacked.len() < LINK_UNACKED_MAX,
            "link {} holds {LINK_UNACKED_MAX} unacknowledged messages",
            self.id
        );
        self.sent += 1;
        let msg = make(self.id, self.sent);
        assert_eq!(
            msg.link_seq(),
            Some((self.id, self.sent)),
            "a misnumbered message"
        );
        self.unacked.push_back((now, msg.clone()));
        self.check();
        msg
    }

    /// Whether the message numbered `seq` is the next in order (taken if so).
    pub fn take(&mut self, seq: u64) -> bool {
        let next = seq == self.received + 1;
        if next {
            self.received = seq;
        }
        next
    }

    /// The other end has taken everything through `acked` of this end's messages.
    pub fn ack(&mut self, acked: u64) {
        if acked <= self.acked {
            return;
        }
        assert!(acked <= self.sent, "acked {acked} of {} sent", self.sent);
        while self.acked < acked {
            self.unacked.pop_front().expect("an unacked message");
            self.acked += 1;
        }
        self.check();
    }

    /// The messages unacknowledged for at least `after_ns`, to send again (now).
    pub fn due(&mut self, now: Time, after_ns: u64) -> Vec<M> {
        let mut again = Vec::new();
        for (at, msg) in self.unacked.iter_mut() {
            if now.since_ns(*at) >= after_ns {
                *at = now;
                again.push(msg.clone());
            }
        }
        again
    }

    fn check(&self) {
        assert!(self.acked <= self.sent, "acked past sent");
        assert_eq!(
            self.unacked.len() as u64,
            self.sent - self.acked,
            "unacked is not acked+1..=sent"
        );
    }
}
