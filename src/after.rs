//! `after`: a timer-heap entry with no source object (see `event/`).

use crate::queue::QueueRef;
use crate::task::{CFunction, TaskHeader};
use crate::time::Time;
use std::ptr::NonNull;

/// Enqueues `task` on `queue` at `when`. FOREVER never fires: the item is discarded.
pub(crate) fn schedule(when: Time, queue: QueueRef, task: NonNull<TaskHeader>) {
    crate::event::reactor().add_after(when, queue, None, task.as_ptr() as *mut libc::c_void);
}

/// Calls `f(ctx)` on `queue` at `when` (one allocation). FOREVER never calls it.
pub(crate) fn schedule_c(when: Time, queue: QueueRef, f: CFunction, ctx: *mut libc::c_void) {
    crate::event::reactor().add_after(when, queue, Some(f), ctx);
}
