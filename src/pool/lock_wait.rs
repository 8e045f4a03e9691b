//! Waits on a lock whose holder is running: not blocking, for the monitor.
//!
//! A language runtime with a global lock (CPython's GIL) makes every worker that calls into
//! it wait for that lock while another thread runs. The kernel shows such a worker as
//! sleeping, and the monitor (`monitor.rs`) would start another worker for it — which only
//! queues on the same lock. A binding brackets the lock acquisition with
//! [`lock_wait_begin`] / [`lock_wait_end`]; meanwhile the monitor counts the worker as
//! runnable. A wait that lasts because the holder itself is blocked is not covered: the
//! holder shows as blocked, and the pool grows for it as usual.

use super::WorkerShared;
use std::cell::Cell;
use std::sync::atomic::Ordering;

thread_local! {
    /// The worker running on this thread (null on other threads). Set by `worker_main` for
    /// the worker's whole life; the `Arc` it points into outlives it.
    pub(super) static CURRENT: Cell<*const WorkerShared> = const { Cell::new(std::ptr::null()) };
}

/// The worker running on this thread, if it is one. Use it within the call at hand: it
/// lives while this thread runs `worker_main`.
pub(super) fn current<'a>() -> Option<&'a WorkerShared> {
    let w = CURRENT.with(|c| c.get());
    // SAFETY: see CURRENT: the pointee lives while this thread runs worker_main.
    (!w.is_null()).then(|| unsafe { &*w })
}

fn set(waiting: bool) {
    if let Some(w) = current() {
        w.lock_wait.store(waiting, Ordering::Relaxed);
    }
}

/// The calling thread is about to wait for a lock held by another running thread. No effect
/// off worker threads.
///
/// # Examples
///
/// ```
/// rgcd::lock_wait_begin();
/// // ... acquire the runtime's lock ...
/// rgcd::lock_wait_end();
/// ```
pub fn lock_wait_begin() {
    set(true);
}

/// The wait announced by [`lock_wait_begin`] is over.
///
/// # Examples
///
/// ```
/// rgcd::lock_wait_end();
/// ```
pub fn lock_wait_end() {
    set(false);
}
