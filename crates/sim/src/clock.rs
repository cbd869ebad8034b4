//! Per-process local clocks. A clock reads `local = base_local + (global − base_global) ·
//! (1 + drift_ppm/10⁶)`; drift changes and jumps rebase it. Timers are set in local time and
//! converted to global time here, so a drifting clock moves its timers.
//!
//! Invariants: integer arithmetic only; `to_global(local)` is the earliest global time at
//! which the clock reads at least `local`; with drift 0 and no jumps, local == global.

use proto::Time;

/// The largest drift a clock may have, ±50% (a bound that keeps arithmetic in range).
pub const DRIFT_PPM_MAX: i64 = 500_000;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    base_global: Time,
    base_local: Time,
    drift_ppm: i64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            base_global: Time::ZERO,
            base_local: Time::ZERO,
            drift_ppm: 0,
        }
    }
}

const MILLION: i128 = 1_000_000;

impl Clock {
    pub fn with_drift(drift_ppm: i64) -> Clock {
        assert!(
            drift_ppm.abs() <= DRIFT_PPM_MAX,
            "drift {drift_ppm} ppm out of range"
        );
        Clock {
            drift_ppm,
            ..Clock::default()
        }
    }

    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    /// The local reading at global time `now` (`now >= base_global`).
    pub fn local(&self, now: Time) -> Time {
        assert!(now >= self.base_global, "clock read before its base");
        if self.drift_ppm == 0 {
            // Fast path (no 128-bit division): the common, undrifted clock.
            return Time(self.base_local.0.saturating_add(now.0 - self.base_global.0));
        }
        let elapsed = (now.0 - self.base_global.0) as i128;
        let local_elapsed = elapsed * (MILLION + self.drift_ppm as i128) / MILLION;
        Time((self.base_local.0 as i128 + local_elapsed).clamp(0, u64::MAX as i128) as u64)
    }

    /// The earliest global time at or after `now` when the clock reads at least `local`.
    pub fn to_global(&self, now: Time, local: Time) -> Time {
        let local_now = self.local(now);
        if local <= local_now {
            return now;
        }
        let rate = MILLION + self.drift_ppm as i128;
        let local_elapsed = (local.0 - self.base_local.0) as i128;
        // Smallest elapsed with elapsed·rate/10⁶ ≥ local_elapsed.
        let elapsed = (local_elapsed * MILLION + rate - 1) / rate;
        let global = (self.base_global.0 as i128 + elapsed).min(u64::MAX as i128) as u64;
        Time(global).max(now)
    }

    /// Change the drift from `now` on.
    pub fn set_drift(&mut self, now: Time, drift_ppm: i64) {
        assert!(
            drift_ppm.abs() <= DRIFT_PPM_MAX,
            "drift {drift_ppm} ppm out of range"
        );
        self.rebase(now);
        self.drift_ppm = drift_ppm;
    }

    /// Jump the local clock by `delta_ns` (negative: backwards, not below zero).
    pub fn jump(&mut self, now: Time, delta_ns: i64) {
        self.rebase(now);
        self.base_local =
            Time((self.base_local.0 as i128 + delta_ns as i128).clamp(0, u64::MAX as i128) as u64);
    }

    fn rebase(&mut self, now: Time) {
        self.base_local = self.local(now);
        self.base_global = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undrifted_clock_is_global_time() {
        let c = Clock::default();
        assert_eq!(c.local(Time(12_345)), Time(12_345));
        assert_eq!(c.to_global(Time(10), Time(50)), Time(50));
    }

    #[test]
    fn drift_moves_timers() {
        // A clock 10% fast reaches local 1 s at global ~0.909 s: its timers fire early.
        let fast = Clock::with_drift(100_000);
        let at = fast.to_global(Time(0), Time(1_000_000_000));
        assert_eq!(at, Time(909_090_910));
        assert!(fast.local(at) >= Time(1_000_000_000));
        assert!(fast.local(Time(at.0 - 1)) < Time(1_000_000_000));
        // A slow clock fires late.
        let slow = Clock::with_drift(-100_000);
        assert_eq!(
            slow.to_global(Time(0), Time(900_000_000)),
            Time(1_000_000_000)
        );
    }

    #[test]
    fn jumps_and_drift_changes_rebase() {
        let mut c = Clock::default();
        c.jump(Time(1_000), 5_000);
        assert_eq!(c.local(Time(1_000)), Time(6_000));
        assert_eq!(c.to_global(Time(1_000), Time(7_000)), Time(2_000));
        c.jump(Time(2_000), -100_000);
        assert_eq!(c.local(Time(2_000)), Time(0));
        c.set_drift(Time(3_000), 500_000);
        assert_eq!(c.local(Time(5_000)), Time(1_000 + 3_000));
    }
}
