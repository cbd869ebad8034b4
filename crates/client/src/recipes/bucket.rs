//! A token bucket in simulated time (ZooKeeper's own request throttle): at most `capacity`
//! tokens; `refill` tokens are added every `interval_ns`. Integer arithmetic only.
//! Invariants: `0 <= tokens <= capacity`; refills are computed from whole intervals since
//! the last refill, so the result does not depend on how often the bucket is asked.

use proto::Time;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    capacity: u64,
    refill: u64,
    interval_ns: u64,
    tokens: u64,
    /// The start of the current refill interval.
    last_refill: Time,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(capacity: u64, refill: u64, interval_ns: u64, now: Time) -> TokenBucket {
        assert!(
            capacity > 0 && refill > 0 && interval_ns > 0,
            "an empty bucket"
        );
        TokenBucket {
            capacity,
            refill,
            interval_ns,
            tokens: capacity,
            last_refill: now,
        }
    }

    fn top_up(&mut self, now: Time) {
        let elapsed = now.since_ns(self.last_refill);
        let intervals = elapsed / self.interval_ns;
        if intervals > 0 {
            let added = intervals.saturating_mul(self.refill);
            self.tokens = self.tokens.saturating_add(added).min(self.capacity);
            self.last_refill = self.last_refill.plus_ns(intervals * self.interval_ns);
        }
        assert!(self.tokens <= self.capacity);
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Time) -> bool {
        self.top_up(now);
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }

    /// When the next token arrives (now if one is there).
    pub fn next_token_at(&mut self, now: Time) -> Time {
        self.top_up(now);
        if self.tokens > 0 {
            now
        } else {
            self.last_refill.plus_ns(self.interval_ns)
        }
    }

    pub fn tokens(&self) -> u64 {
        self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Time {
        Time(n * proto::NS_PER_MS)
    }

    #[test]
    fn drains_then_refills_per_whole_interval() {
        let mut b = TokenBucket::new(3, 2, 10 * proto::NS_PER_MS, ms(0));
        assert!(b.take(ms(0)) && b.take(ms(1)) && b.take(ms(2)));
        assert!(!b.take(ms(9)), "empty until the interval ends");
        assert_eq!(b.next_token_at(ms(9)), ms(10));
        assert!(b.take(ms(10)) && b.take(ms(10)));
        assert!(!b.take(ms(19)));
        // A long pause refills to capacity, not beyond.
        assert!(b.take(ms(1000)));
        assert_eq!(b.tokens(), 2);
    }
}
