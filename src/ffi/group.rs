//! Groups.

use super::{
    function, group_ref, pointer, queue_ref, rgcd_function_t, rgcd_queue_t, rgcd_time_t, status,
};
use crate::error::ErrorKind;
use crate::group::GroupInner;
use crate::queue::QueueRef;
use crate::task::{self, SendPtr};
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// An opaque group object.
pub struct rgcd_group_s {
    _private: [u8; 0],
}

/// A group handle.
pub type rgcd_group_t = *mut rgcd_group_s;

/// Creates an empty group (+1 reference).
#[no_mangle]
pub extern "C" fn rgcd_group_create() -> rgcd_group_t {
    pointer(|| Ok(Arc::into_raw(GroupInner::new()) as rgcd_group_t))
}

/// Counts one more piece of outstanding work in `group`.
#[no_mangle]
pub unsafe extern "C" fn rgcd_group_enter(group: rgcd_group_t) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        unsafe { group_ref(group as *const c_void, "group")? }.enter();
        Ok(0)
    })
}

/// Marks one piece of work in `group` done. At zero, waiters wake and notifications run.
/// `RGCD_ESTATE` (and nothing changes) when there was no matching enter.
///
/// A leave that empties the group holds a reference of its own until it returns, so a waiter
/// may release the last reference as soon as its `rgcd_group_wait` returns, even if this call
/// has not returned yet.
#[no_mangle]
pub unsafe extern "C" fn rgcd_group_leave(group: rgcd_group_t) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        unsafe { group_ref(group as *const c_void, "group")? }
            .leave()
            .map(|_| 0)
    })
}

/// Waits until `group` is empty or `timeout` (an absolute `rgcd_time_t`; `RGCD_TIME_NOW`
/// polls, `RGCD_TIME_FOREVER` waits forever) passes. Returns 0, or `RGCD_TIMED_OUT` (then
/// `rgcd_last_error()` says the deadline passed).
///
/// `group` must be a live handle when the call starts. A call that has to wait holds a
/// reference of its own until it returns, so another thread may release the last reference
/// while it waits: the group is destroyed when this wait returns.
#[no_mangle]
pub unsafe extern "C" fn rgcd_group_wait(group: rgcd_group_t, timeout: rgcd_time_t) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let g = unsafe { group_ref(group as *const c_void, "group")? };
        match g.wait(crate::Time::from_raw(timeout)) {
            Ok(()) => Ok(0),
            Err(e) if e.kind() == ErrorKind::TimedOut => Ok(super::error::outcome(
                super::RGCD_TIMED_OUT,
                c"rgcd_group_wait: the deadline passed before the group was empty",
            )),
            Err(e) => Err(e),
        }
    })
}

unsafe fn queue_arc(queue: rgcd_queue_t) -> Result<QueueRef, crate::Error> {
    // SAFETY: a handle from the caller.
    let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
    // SAFETY: the caller holds a reference; take one more.
    unsafe {
        QueueRef::increment_strong_count(q);
        Ok(QueueRef::from_raw(q))
    }
}

/// Submits `work(context)` to `queue` once `group` is empty (at once if it is empty now).
/// Errors as for `rgcd_async_f`.
#[no_mangle]
pub unsafe extern "C" fn rgcd_group_notify_f(
    group: rgcd_group_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_function_t,
) -> c_int {
    status(|| {
        // SAFETY: handles from the caller.
        let g = unsafe { group_ref(group as *const c_void, "group")? };
        let f = function(work, "work function")?;
        // SAFETY: as above.
        let q = unsafe { queue_arc(queue)? };
        g.notify(q, task::c_task(f, context, 0));
        Ok(0)
    })
}

/// Submits `work(context)` to `queue` as part of `group` (enter now, leave after it ran).
/// Errors as for `rgcd_async_f`.
#[no_mangle]
pub unsafe extern "C" fn rgcd_group_async_f(
    group: rgcd_group_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_function_t,
) -> c_int {
    status(|| {
        // SAFETY: handles from the caller.
        let g = unsafe { group_ref(group as *const c_void, "group")? };
        let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
        let f = function(work, "work function")?;
        // SAFETY: `g` is an Arc data pointer the caller holds.
        let g = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(g as *const GroupInner) });
        let ctx = SendPtr(context);
        g.exec_async_raw(q, move || {
            let c = ctx;
            // SAFETY: the caller's function and context.
            unsafe { f(c.0) }
        });
        Ok(0)
    })
}
