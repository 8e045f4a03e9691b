//! `after`: a timer-heap entry with no source object (see `event/`).

use crate::queue::QueueInner;
use crate::task::TaskHeader;
use crate::time::Time;
use std::ptr::NonNull;
use std::sync::Arc;

/// Enqueues `task` on `queue` at `when`. FOREVER never fires: the item is discarded.
pub(crate) fn schedule(when: Time, queue: Arc<QueueInner>, task: NonNull<TaskHeader>) {
    crate::event::reactor().add_after(when, queue, task);
}
