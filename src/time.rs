//! Dispatch time: nanoseconds on the monotonic clock, or an encoded wall-clock time.
//!
//! Encoding (libdispatch's): `0` is "now", all ones is FOREVER, values with the top bit set are
//! wall-clock times stored as the two's-complement negation of nanoseconds since the epoch,
//! `!1` being "wall-clock now". Everything else is monotonic nanoseconds.

use std::time::Duration;

/// A dispatch time (see the module docs for its encoding).
///
/// # Examples
///
/// ```
/// use rgcd::Time;
/// let t = Time::after_nanos(1_000_000);
/// assert!(t.raw() > 0 && t != Time::FOREVER);
/// assert_eq!(Time::FOREVER.add_nanos(5), Time::FOREVER);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(u64);

const WALL_MIN: u64 = 1 << 63;

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clocks used always exist on supported systems.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Monotonic nanoseconds.
pub(crate) fn now_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// Monotonic nanoseconds from the coarse clock (a few ms of resolution, much cheaper).
pub(crate) fn coarse_now_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC_COARSE)
}

/// Wall-clock nanoseconds since the epoch.
pub(crate) fn wall_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

fn encode_wall(ns: i128) -> Time {
    // Keep clear of the two reserved values (!0 = FOREVER, !1 = WALLTIME_NOW).
    if ns >= i64::MAX as i128 {
        return Time::FOREVER;
    }
    let ns = ns.max(3) as i64;
    Time((ns.wrapping_neg()) as u64)
}

impl Time {
    /// "Now", resolved when the time is used.
    pub const NOW: Time = Time(0);
    /// Never.
    pub const FOREVER: Time = Time(!0);
    /// Wall-clock "now".
    pub const WALL_NOW: Time = Time(!1);

    /// A time from its raw encoding.
    pub const fn from_raw(raw: u64) -> Time {
        Time(raw)
    }

    /// The raw encoding.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// `now + nanos` on the monotonic clock.
    pub fn after_nanos(nanos: i64) -> Time {
        Time::NOW.add_nanos(nanos)
    }

    /// `now + d` on the monotonic clock.
    pub fn after(d: Duration) -> Time {
        Time::after_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Is this a wall-clock time?
    pub fn is_wall(self) -> bool {
        self.0 >= WALL_MIN && self != Time::FOREVER
    }

    /// `self + delta`, saturating at FOREVER (libdispatch's `dispatch_time`).
    pub fn add_nanos(self, delta: i64) -> Time {
        if self == Time::FOREVER {
            return Time::FOREVER;
        }
        if self.is_wall() {
            let base = if self == Time::WALL_NOW {
                wall_ns() as i128
            } else {
                -((self.0 as i64) as i128)
            };
            return encode_wall(base + delta as i128);
        }
        let base = if self.0 == 0 { now_ns() } else { self.0 } as i128;
        let t = base + delta as i128;
        if t >= WALL_MIN as i128 {
            Time::FOREVER
        } else if t <= 0 {
            Time(1)
        } else {
            Time(t as u64)
        }
    }

    /// A wall-clock time: `when` (seconds, nanoseconds since the epoch; `None` = now) + delta.
    pub fn wall(when: Option<(i64, i64)>, delta: i64) -> Time {
        let base = match when {
            Some((s, ns)) => s as i128 * 1_000_000_000 + ns as i128,
            None => wall_ns() as i128,
        };
        encode_wall(base + delta as i128)
    }

    /// Nanoseconds from now until this time on its own clock (0 if past; `None` = FOREVER).
    pub(crate) fn remaining_ns(self) -> Option<u64> {
        if self == Time::FOREVER {
            return None;
        }
        if self.is_wall() {
            let target = if self == Time::WALL_NOW {
                return Some(0);
            } else {
                (self.0 as i64).wrapping_neg() as u64
            };
            return Some(target.saturating_sub(wall_ns()));
        }
        if self.0 == 0 {
            return Some(0);
        }
        Some(self.0.saturating_sub(now_ns()))
    }

    /// The equivalent deadline on the monotonic clock (FOREVER stays FOREVER).
    pub(crate) fn to_monotonic(self) -> u64 {
        if self.0 != 0 && !self.is_wall() {
            return self.0; // FOREVER stays u64::MAX
        }
        match self.remaining_ns() {
            None => u64::MAX,
            Some(r) => now_ns().saturating_add(r),
        }
    }
}
