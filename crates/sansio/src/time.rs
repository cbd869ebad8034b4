//! Simulated time: `u64` nanoseconds since the start of a run. Durations are plain `u64`
//! nanoseconds whose names end in `_ns` (or `_ms`/`_us` where a scenario speaks in those).

use serde::{Deserialize, Serialize};

pub const NS_PER_US: u64 = 1_000;
pub const NS_PER_MS: u64 = 1_000_000;
pub const NS_PER_SEC: u64 = 1_000_000_000;

/// A point in simulated time, in nanoseconds. Global time is the kernel's; each process
/// sees its own two local clocks, a monotonic one that may drift and a wall clock that may
/// also jump (see `Ctx` and the kernel's clock model).
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Time(pub u64);

impl Time {
    pub const ZERO: Time = Time(0);
    pub const MAX: Time = Time(u64::MAX);

    pub const fn from_ms(ms: u64) -> Time {
        assert!(
            ms <= u64::MAX / NS_PER_MS,
            "milliseconds beyond Time's range"
        );
        Time(ms * NS_PER_MS)
    }

    pub const fn ns(self) -> u64 {
        self.0
    }

    /// Whole milliseconds, rounded down.
    pub const fn ms(self) -> u64 {
        self.0 / NS_PER_MS
    }

    /// `self + delay_ns`, saturating at `Time::MAX` so that "never" stays "never".
    pub const fn plus_ns(self, delay_ns: u64) -> Time {
        Time(self.0.saturating_add(delay_ns))
    }

    /// Nanoseconds from `earlier` to `self`; zero when `earlier` is later.
    pub const fn since_ns(self, earlier: Time) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::fmt::Display for Time {
    /// Milliseconds with microsecond precision: `1234.567ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{:03}ms",
            self.0 / NS_PER_MS,
            (self.0 % NS_PER_MS) / NS_PER_US
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_displays_in_ms() {
        assert_eq!(Time::from_ms(3).ns(), 3_000_000);
        assert_eq!(Time::MAX.plus_ns(5), Time::MAX);
        assert_eq!(Time(5).since_ns(Time(9)), 0);
        assert_eq!(Time(9).since_ns(Time(5)), 4);
        assert_eq!(Time(1_234_567_890).to_string(), "1234.567ms");
    }
}
