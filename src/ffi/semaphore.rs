//! Semaphores.

use super::{guarded, is_live, pointer, rgcd_time_t, semaphore_ref, status};
use crate::error::{Error, ErrorKind};
use crate::object::Kind;
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
    // SAFETY: a handle from the caller.
    if unsafe { is_live(sema as *const c_void, Kind::Semaphore) } {
        // SAFETY: the tag says this is a live semaphore.
        let s = unsafe { &*(sema as *const SemaphoreInner) };
        if s.try_take() {
            return 0;
        }
        return wait_slow(s, timeout);
    }
    // SAFETY: per the contract.
    unsafe { wait_checked(sema, timeout) }
}

/// The rest of a `rgcd_semaphore_wait` that found no permit to take.
#[cold]
#[inline(never)]
extern "C" fn wait_slow(s: &SemaphoreInner, timeout: rgcd_time_t) -> c_int {
    guarded(|| match s.wait_slow(crate::Time::from_raw(timeout)) {
        Ok(()) => 0,
        Err(e) => wait_failed(&e),
    })
}

#[cold]
fn wait_failed(e: &Error) -> c_int {
    if e.kind() == ErrorKind::TimedOut {
        super::error::outcome(
            super::RGCD_TIMED_OUT,
            c"rgcd_semaphore_wait: the deadline passed before a permit was available",
        )
    } else {
        super::error::fail(e)
    }
}

/// `rgcd_semaphore_wait` on a handle that is not a live semaphore: reports what it is.
#[cold]
#[inline(never)]
unsafe extern "C" fn wait_checked(sema: rgcd_semaphore_t, timeout: rgcd_time_t) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let s = unsafe { semaphore_ref(sema as *const c_void, "semaphore")? };
        match s.wait(crate::Time::from_raw(timeout)) {
            Ok(()) => Ok(0),
            Err(e) => Ok(wait_failed(&e)),
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
    // SAFETY: a handle from the caller.
    if unsafe { is_live(sema as *const c_void, Kind::Semaphore) } {
        // SAFETY: the tag says this is a live semaphore.
        let s = unsafe { &*(sema as *const SemaphoreInner) };
        match s.begin_signal() {
            Some(false) => return 0,
            Some(true) => return signal_slow(s),
            // The count is at INTPTR_MAX: nothing changed; the checked path reports it.
            None => {}
        }
    }
    // SAFETY: per the contract.
    unsafe { signal_checked(sema) }
}

/// The rest of a `rgcd_semaphore_signal` whose permit is for a waiter: wakes it.
#[cold]
#[inline(never)]
extern "C" fn signal_slow(s: &SemaphoreInner) -> c_int {
    guarded(|| {
        s.signal_slow();
        1
    })
}

/// `rgcd_semaphore_signal` on a handle that is not a live semaphore, or with the count at
/// `INTPTR_MAX`: reports what is wrong.
#[cold]
#[inline(never)]
unsafe extern "C" fn signal_checked(sema: rgcd_semaphore_t) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let s = unsafe { semaphore_ref(sema as *const c_void, "semaphore")? };
        s.signal().map(c_int::from)
    })
}
