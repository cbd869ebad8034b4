//! Per-process clocks: a **monotonic** clock and a **wall** clock (ZOOKEEPER-1366: timeouts
//! must run on a monotonic clock, `System.nanoTime`, not on `currentTimeMillis`).
//!
//! The monotonic clock drifts but never jumps: `mono = base_mono + (global − base_global) ·
//! (1 + drift_ppm/10⁶)`. The wall clock is the monotonic clock plus the cumulative offset of
//! every jump: `wall = mono + jump_offset`, so drift moves both and a jump moves only the
//! wall clock. Timers (`Output::SetTimer`) are set in monotonic time; wall-clock timers
//! (`Output::SetWallTimer`, only the planted bug zk-1366 sets them) in wall time; both are
//! mapped to global time here.
//!
//! Invariants: integer arithmetic only; the monotonic reading never decreases; with drift 0
//! and no jumps, wall == mono == global; a backward jump clamps the wall clock at zero at
//! the moment of the jump (`jump_offset >= −mono` then, and mono only grows, so `wall >= 0`
//! ever after); `mono_to_global(m)` is the earliest global time at which mono reads at least
//! `m`, and `wall_to_global(w)` likewise for wall.

use sansio::Time;

/// The largest drift a clock may have, ±50% (a bound that keeps arithmetic in range).
pub const DRIFT_PPM_MAX: i64 = 500_000;

/// 32 bytes: it lives in the kernel's hot per-process record (`kernel::Hot`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    base_global: Time,
    base_mono: Time,
    /// wall − mono, ns: the sum of every jump (each clamped so that wall stays ≥ 0).
    jump_offset_ns: i64,
    /// Within ±`DRIFT_PPM_MAX`, so it fits an `i32` (keeps `Clock` at 32 bytes).
    drift_ppm: i32,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            base_global: Time::ZERO,
            base_mono: Time::ZERO,
            jump_offset_ns: 0,
            drift_ppm: 0,
        }
    }
}

const MILLION: i128 = 1_000_000;

/// `mono + offset`, clamped into `Time`'s range.
#[inline]
fn offset_time(mono: Time, offset_ns: i64) -> Time {
    if offset_ns == 0 {
        return mono;
    }
    Time((mono.0 as i128 + offset_ns as i128).clamp(0, u64::MAX as i128) as u64)
}

fn checked_drift(drift_ppm: i64) -> i32 {
    assert!(
        drift_ppm.abs() <= DRIFT_PPM_MAX,
        "drift {drift_ppm} ppm out of range"
    );
    drift_ppm as i32
}

impl Clock {
    pub fn with_drift(drift_ppm: i64) -> Clock {
        Clock {
            drift_ppm: checked_drift(drift_ppm),
            ..Clock::default()
        }
    }

    pub fn drift_ppm(&self) -> i64 {
        i64::from(self.drift_ppm)
    }

    /// wall − mono, ns: the cumulative effect of every jump so far.
    pub fn jump_offset_ns(&self) -> i64 {
        self.jump_offset_ns
    }

    /// The monotonic reading at global time `now` (`now >= base_global`): drift, no jumps.
    #[inline]
    pub fn mono(&self, now: Time) -> Time {
        assert!(now >= self.base_global, "clock read before its base");
        if self.drift_ppm == 0 {
            // Fast path (no 128-bit division): the common, undrifted clock.
            return Time(self.base_mono.0.saturating_add(now.0 - self.base_global.0));
        }
        let elapsed = (now.0 - self.base_global.0) as i128;
        let mono_elapsed = elapsed * (MILLION + self.drift_ppm as i128) / MILLION;
        let mono =
            Time((self.base_mono.0 as i128 + mono_elapsed).clamp(0, u64::MAX as i128) as u64);
        debug_assert!(mono >= self.base_mono, "the monotonic clock went back");
        mono
    }

    /// The wall reading at global time `now`: the monotonic reading moved by every jump.
    #[inline]
    pub fn wall(&self, now: Time) -> Time {
        self.wall_of(self.mono(now))
    }

    /// Both readings at global time `now`: `(mono, wall)`.
    #[inline]
    pub fn readings(&self, now: Time) -> (Time, Time) {
        let mono = self.mono(now);
        (mono, self.wall_of(mono))
    }

    /// The wall reading that goes with monotonic reading `mono` (under the current offset).
    #[inline]
    pub fn wall_of(&self, mono: Time) -> Time {
        offset_time(mono, self.jump_offset_ns)
    }

    /// The earliest global time at or after `now` when the monotonic clock reads at least
    /// `mono`.
    pub fn mono_to_global(&self, now: Time, mono: Time) -> Time {
        let mono_now = self.mono(now);
        if mono <= mono_now {
            return now;
        }
        let rate = MILLION + self.drift_ppm as i128;
        debug_assert!(
            rate > 0,
            "a drift within ±50% keeps the clock running forward"
        );
        let mono_elapsed = (mono.0 - self.base_mono.0) as i128;
        // Smallest elapsed with elapsed·rate/10⁶ ≥ mono_elapsed.
        let elapsed = (mono_elapsed * MILLION + rate - 1) / rate;
        let global = (self.base_global.0 as i128 + elapsed).min(u64::MAX as i128) as u64;
        let at = Time(global).max(now);
        debug_assert!(self.mono(at) >= mono || at == Time::MAX);
        at
    }

    /// The earliest global time at or after `now` when the wall clock reads at least
    /// `wall` (under the current jump offset; a later jump re-maps it).
    pub fn wall_to_global(&self, now: Time, wall: Time) -> Time {
        if wall <= self.wall(now) {
            return now;
        }
        // wall > wall(now) ≥ 0, so the wall clock reaches it where mono reaches wall − offset
        // (positive: wall(now) = mono(now) + offset ≥ 0 and wall exceeds it).
        let mono = wall.0 as i128 - self.jump_offset_ns as i128;
        assert!(
            mono > 0,
            "a future wall reading maps to a positive mono reading"
        );
        let mono = Time(mono.min(u64::MAX as i128) as u64);
        let at = self.mono_to_global(now, mono);
        debug_assert!(at >= now, "a wall timer maps into the past");
        at
    }

    /// Change the drift from `now` on.
    pub fn set_drift(&mut self, now: Time, drift_ppm: i64) {
        let drift_ppm = checked_drift(drift_ppm);
        self.rebase(now);
        self.drift_ppm = drift_ppm;
        debug_assert_eq!(
            self.mono(now),
            self.base_mono,
            "a drift change does not move the clock"
        );
    }

    /// Jump the wall clock by `delta_ns` (negative: backwards, not below zero). The
    /// monotonic clock does not move.
    pub fn jump(&mut self, now: Time, delta_ns: i64) {
        let mono = self.mono(now);
        let wall_before = self.wall_of(mono);
        // Clamp at the jump: wall lands at max(wall + delta, 0), i.e. offset ≥ −mono.
        let offset = (self.jump_offset_ns as i128 + delta_ns as i128)
            .max(-(mono.0 as i128))
            .clamp(i64::MIN as i128, i64::MAX as i128);
        self.jump_offset_ns = offset as i64;
        debug_assert!(
            self.jump_offset_ns as i128 >= -(mono.0 as i128),
            "a jump left the wall clock below zero"
        );
        debug_assert_eq!(self.mono(now), mono, "a jump moved the monotonic clock");
        debug_assert_eq!(
            self.wall(now).0 as i128,
            (wall_before.0 as i128 + delta_ns as i128).clamp(0, u64::MAX as i128),
            "a jump lands where it was aimed (clamped at zero)"
        );
    }

    fn rebase(&mut self, now: Time) {
        self.base_mono = self.mono(now);
        self.base_global = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn clock_fits_its_hot_record_budget() {
        assert_eq!(std::mem::size_of::<Clock>(), 32);
    }

    #[test]
    fn undrifted_clock_is_global_time() {
        let c = Clock::default();
        assert_eq!(c.mono(Time(12_345)), Time(12_345));
        assert_eq!(c.wall(Time(12_345)), Time(12_345));
        assert_eq!(c.mono_to_global(Time(10), Time(50)), Time(50));
        assert_eq!(c.wall_to_global(Time(10), Time(50)), Time(50));
        assert_eq!(c.mono_to_global(Time(10), Time(5)), Time(10), "past: now");
    }

    #[test]
    fn drift_moves_both_clocks_and_timers() {
        // A clock 10% fast reaches 1 s at global ~0.909 s: its timers fire early.
        let fast = Clock::with_drift(100_000);
        let at = fast.mono_to_global(Time(0), Time(SEC));
        assert_eq!(at, Time(909_090_910));
        assert!(fast.mono(at) >= Time(SEC));
        assert!(fast.mono(Time(at.0 - 1)) < Time(SEC));
        assert_eq!(fast.wall_to_global(Time(0), Time(SEC)), at);
        assert_eq!(fast.wall(Time(SEC)), Time(1_100_000_000));
        assert_eq!(fast.mono(Time(SEC)), Time(1_100_000_000));
        // A slow clock fires late, on both clocks.
        let slow = Clock::with_drift(-100_000);
        assert_eq!(slow.mono_to_global(Time(0), Time(900_000_000)), Time(SEC));
        assert_eq!(slow.wall_to_global(Time(0), Time(900_000_000)), Time(SEC));
        assert_eq!(slow.wall(Time(SEC)), Time(900_000_000));
    }

    #[test]
    fn jumps_move_the_wall_clock_only() {
        let mut c = Clock::default();
        c.jump(Time(1_000), 5_000);
        assert_eq!(c.mono(Time(1_000)), Time(1_000));
        assert_eq!(c.wall(Time(1_000)), Time(6_000));
        assert_eq!(c.jump_offset_ns(), 5_000);
        // A monotonic timer is where it was; a wall timer moved with the jump.
        assert_eq!(c.mono_to_global(Time(1_000), Time(7_000)), Time(7_000));
        assert_eq!(c.wall_to_global(Time(1_000), Time(7_000)), Time(2_000));
        // Backwards, below zero: the wall clock clamps at 0 and runs on from there.
        c.jump(Time(2_000), -100_000);
        assert_eq!(c.mono(Time(2_000)), Time(2_000));
        assert_eq!(c.wall(Time(2_000)), Time(0));
        assert_eq!(c.wall(Time(2_500)), Time(500));
        assert_eq!(c.jump_offset_ns(), -2_000);
        assert_eq!(c.mono_to_global(Time(2_000), Time(3_000)), Time(3_000));
        assert_eq!(c.wall_to_global(Time(2_000), Time(3_000)), Time(5_000));
        // Drift after jumps: both clocks run at the new rate from here.
        c.set_drift(Time(3_000), 500_000);
        assert_eq!(c.mono(Time(5_000)), Time(3_000 + 3_000));
        assert_eq!(c.wall(Time(5_000)), Time(1_000 + 3_000));
        assert_eq!(c.drift_ppm(), 500_000);
    }

    #[test]
    fn a_backward_jump_leaves_monotonic_timers_on_time() {
        let mut c = Clock::with_drift(200);
        let deadline = c.mono(Time(SEC)).plus_ns(SEC);
        let due = c.mono_to_global(Time(SEC), deadline);
        let wall_deadline = c.wall(Time(SEC)).plus_ns(SEC);
        let wall_due = c.wall_to_global(Time(SEC), wall_deadline);
        assert_eq!(due, wall_due, "no jump yet: both clocks agree");
        c.jump(Time(SEC + 1), -60_000_000_000);
        assert_eq!(c.wall(Time(SEC + 1)), Time::ZERO, "clamped");
        assert_eq!(c.mono_to_global(Time(SEC + 1), deadline), due);
        let late = c.wall_to_global(Time(SEC + 1), wall_deadline);
        assert!(
            late.0 > due.0 + SEC / 2,
            "the wall timer moved: {late} vs {due}"
        );
        assert!(c.wall(late) >= wall_deadline);
        assert!(c.wall(Time(late.0 - 1)) < wall_deadline);
        // Monotonic never decreases over the whole history.
        let mut last = Time::ZERO;
        for t in (0..5 * SEC)
            .step_by((SEC / 7) as usize)
            .map(|t| Time(t + SEC + 1))
        {
            assert!(c.mono(t) >= last);
            last = c.mono(t);
        }
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn drift_out_of_range_panics() {
        Clock::with_drift(DRIFT_PPM_MAX + 1);
    }
}
