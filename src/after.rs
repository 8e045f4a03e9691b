//! `after`: a timer-heap entry with no source object (see `event/`).

use crate::queue::QueueRef;
use crate::task::TaskHeader;
use crate::time::Time;
use std::ptr::NonNull;

/// Enqueues `task` on `queue` at `when`. FOREVER never fires: the item is discarded.
pub(crate) fn schedule(when: Time, queue: QueueRef, task: NonNull<TaskHeader>) {
    crate::event::reactor().add_after(when, queue, task);
}
