//! Semaphores.

use super::{pointer, rgcd_time_t, semaphore_ref, status};
use crate::error::ErrorKind;
use crate::semaphore::SemaphoreInner;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// An opaque semaphore object.
pub struct rgcd_semaphore_s {
    _private: [u8; 0],
}

/// A semaphore handle.
pub type rgcd_semaphore_t = *mut rgcd_semaphore_s;

/// Creates a counting semaphore with `value` permits (+1 reference). NULL with `RGCD_EINVAL`
/// when `value` is negative.
#[no_mangle]
pub extern "C" fn rgcd_semaphore_create(value: isize) -> rgcd_semaphore_t {
    pointer(|| SemaphoreInner::new(value).map(|s| Arc::into_raw(s) as rgcd_semaphore_t))
}

/// Takes a permit, waiting until `timeout` (absolute; `RGCD_TIME_FOREVER` waits forever).
/// Returns 0, or `RGCD_TIMED_OUT` (the count is then as if this call never happened, and
/// `rgcd_last_error()` says the deadline passed).
///
/// `sema` must be a live handle when the call starts. A call that has to wait holds a
/// reference of its own until it returns, so another thread may release the last reference
/// while it waits (after a signal meant for it, say, or to let it time out): the semaphore is
/// destroyed, and its finalizer queued, when this wait returns.
#[no_mangle]
pub unsafe extern "C" fn rgcd_semaphore_wait(
    sema: rgcd_semaphore_t,
    timeout: rgcd_time_t,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let s = unsafe { semaphore_ref(sema as *const c_void, "semaphore")? };
        match s.wait(crate::Time::from_raw(timeout)) {
            Ok(()) => Ok(0),
            Err(e) if e.kind() == ErrorKind::TimedOut => Ok(super::error::outcome(
                super::RGCD_TIMED_OUT,
                c"rgcd_semaphore_wait: the deadline passed before a permit was available",
            )),
            Err(e) => Err(e),
        }
    })
}

/// Returns a permit. Returns 1 when that woke a waiting thread, 0 when none was waiting, or
/// `RGCD_ESTATE` (the count unchanged) when the count is at `INTPTR_MAX` already: one more
/// would overflow it. (libdispatch does not check: its count wraps.)
///
/// A signal that wakes a waiter holds a reference of its own until it returns, so the woken
/// thread may release the last reference as soon as its wait returns, even if this call has
/// not returned yet.
#[no_mangle]
pub unsafe extern "C" fn rgcd_semaphore_signal(sema: rgcd_semaphore_t) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let s = unsafe { semaphore_ref(sema as *const c_void, "semaphore")? };
        s.signal().map(c_int::from)
    })
}
