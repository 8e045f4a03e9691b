//! Time.

use crate::time::Time;

/// Nanoseconds on the monotonic clock, or an encoded wall-clock time (see `rgcd_walltime`).
pub type rgcd_time_t = u64;

/// "Now" (resolved when used).
pub const RGCD_TIME_NOW: rgcd_time_t = 0;
/// Never: waits with it wait forever; `rgcd_after_f` with it never fires.
pub const RGCD_TIME_FOREVER: rgcd_time_t = u64::MAX;
/// Wall-clock "now", for `rgcd_time`.
pub const RGCD_WALLTIME_NOW: rgcd_time_t = u64::MAX - 1;
/// Nanoseconds per second.
pub const RGCD_NSEC_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const RGCD_NSEC_PER_MSEC: u64 = 1_000_000;
/// Nanoseconds per microsecond.
pub const RGCD_NSEC_PER_USEC: u64 = 1_000;

/// `when` + `delta` nanoseconds. `when` is `RGCD_TIME_NOW`, a value from `rgcd_time`, or a
/// wall-clock value from `rgcd_walltime` (then the result is wall-clock too). FOREVER stays
/// FOREVER, and overflow saturates to FOREVER.
#[no_mangle]
pub extern "C" fn rgcd_time(when: rgcd_time_t, delta: i64) -> rgcd_time_t {
    Time::from_raw(when).add_nanos(delta).raw()
}

/// A wall-clock time: `*when` (NULL: now) + `delta` nanoseconds. Deadlines on the wall clock
/// follow changes to the system time.
#[no_mangle]
pub unsafe extern "C" fn rgcd_walltime(when: *const libc::timespec, delta: i64) -> rgcd_time_t {
    let base = if when.is_null() {
        None
    } else {
        // SAFETY: the caller passes a valid timespec or NULL.
        let ts = unsafe { &*when };
        // `time_t` and `long` are narrower than i64 on some targets.
        #[allow(clippy::unnecessary_cast)]
        Some((ts.tv_sec as i64, ts.tv_nsec as i64))
    };
    Time::wall(base, delta).raw()
}
