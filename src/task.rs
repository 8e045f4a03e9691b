//! Work items ("continuations"): an intrusive header followed by the work itself.
//!
//! Every item that travels through a queue is a `TaskHeader` at the start of a larger
//! allocation. `call` either runs the item and frees it, or only frees it (when a queue is
//! destroyed with items still pending). The same header is embedded in every queue (`link`),
//! so a queue that becomes runnable is enqueued on its target with no allocation.

use crate::atomics::AtomicPtr;
use std::mem::{align_of, size_of, ManuallyDrop};
use std::ptr::{self, NonNull};

/// What `call` should do with the item.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Run,
    Discard,
}

pub(crate) type CallFn = unsafe fn(NonNull<TaskHeader>, Action);

/// The item runs alone on a concurrent queue.
pub(crate) const BARRIER: usize = 1;
/// The item is a `SyncWaiter` on a caller's stack.
pub(crate) const SYNC_WAITER: usize = 2;
/// The item is a queue's embedded `link` (a child queue's drain).
pub(crate) const QUEUE_LINK: usize = 4;
/// After running the item, the drain must re-evaluate the queue's target.
pub(crate) const RETARGET: usize = 8;

#[repr(C)]
pub(crate) struct TaskHeader {
    /// Next item in an intrusive MPSC list (`queue::list`).
    pub(crate) next: AtomicPtr<TaskHeader>,
    pub(crate) call: CallFn,
    pub(crate) flags: usize,
}

impl TaskHeader {
    pub(crate) fn new(call: CallFn, flags: usize) -> Self {
        TaskHeader {
            next: AtomicPtr::new(ptr::null_mut()),
            call,
            flags,
        }
    }
}

#[repr(C)]
struct Boxed<F> {
    header: TaskHeader,
    f: ManuallyDrop<F>,
}

/// Small items live in the block cache (`alloc.rs`), larger ones in a `Box`.
const fn cached<F>() -> bool {
    size_of::<Boxed<F>>() <= crate::alloc::BLOCK && align_of::<Boxed<F>>() <= crate::alloc::ALIGN
}

unsafe fn call_boxed<F: FnOnce()>(task: NonNull<TaskHeader>, action: Action) {
    let p = task.as_ptr() as *mut Boxed<F>;
    let f = if cached::<F>() {
        // SAFETY: `task` was produced by `boxed::<F>` in a cache block and is consumed once.
        let f = unsafe { ManuallyDrop::take(&mut (*p).f) };
        // SAFETY: nothing refers to the block any more.
        unsafe { crate::alloc::free_block(p as *mut u8) };
        f
    } else {
        // SAFETY: `task` was produced by `boxed::<F>` from a Box and is consumed once.
        let b = unsafe { Box::from_raw(p) };
        ManuallyDrop::into_inner(b.f)
    };
    if action == Action::Run {
        f();
    }
}

/// A heap item running `f`, with `flags`.
#[inline]
pub(crate) fn boxed<F: FnOnce() + Send + 'static>(f: F, flags: usize) -> NonNull<TaskHeader> {
    let item = Boxed {
        header: TaskHeader::new(call_boxed::<F>, flags),
        f: ManuallyDrop::new(f),
    };
    let p = if cached::<F>() {
        let p = crate::alloc::alloc_block() as *mut Boxed<F>;
        // SAFETY: a fresh block, large and aligned enough for `Boxed<F>`.
        unsafe { p.write(item) };
        p
    } else {
        Box::into_raw(Box::new(item))
    };
    // Everything the submitting thread did so far happens before the item runs.
    crate::tsan::release(p);
    // SAFETY: neither allocation returns null.
    unsafe { NonNull::new_unchecked(p as *mut TaskHeader) }
}

/// Runs (or discards) an item, consuming it.
///
/// # Safety
/// `task` must be a live item not owned by any list.
#[inline]
pub(crate) unsafe fn invoke(task: NonNull<TaskHeader>, action: Action) {
    crate::tsan::acquire(task.as_ptr());
    // SAFETY: per the contract, the header is live.
    unsafe { ((*task.as_ptr()).call)(task, action) }
}

/// A raw pointer that may cross threads (C contexts are the caller's business).
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) *mut std::ffi::c_void);
// SAFETY: the C contract makes the caller responsible for the context's thread safety.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// A C callback and its context, runnable from any thread.
pub(crate) type CFunction = unsafe extern "C" fn(*mut std::ffi::c_void);

/// An item calling a C function with its context.
pub(crate) fn c_task(
    f: CFunction,
    ctx: *mut std::ffi::c_void,
    flags: usize,
) -> NonNull<TaskHeader> {
    let ctx = SendPtr(ctx);
    boxed(
        move || {
            let c = ctx;
            // SAFETY: the C caller promised `f(ctx)` may be called once from any thread.
            unsafe { f(c.0) }
        },
        flags,
    )
}

/// Single-threaded tests of the item allocation (cache block or `Box`) and its one-time
/// consumption, small enough for Miri (`cargo +nightly miri test miri_`).
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Counts its drops, so a closure dropped twice or never shows.
    struct Tracker(Arc<AtomicUsize>);
    impl Drop for Tracker {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn check(action: Action, big: bool) {
        let ran = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let t = Tracker(dropped.clone());
        let r = ran.clone();
        let pad = [7u8; 128];
        let item = if big {
            boxed(
                move || {
                    let _t = &t;
                    r.fetch_add(pad.iter().map(|&b| b as usize).sum(), Ordering::Relaxed);
                },
                BARRIER,
            )
        } else {
            boxed(
                move || {
                    let _t = &t;
                    r.fetch_add(1, Ordering::Relaxed);
                },
                BARRIER,
            )
        };
        // SAFETY: a live item.
        assert_eq!(unsafe { item.as_ref() }.flags, BARRIER);
        // SAFETY: a live item, in no list, consumed once.
        unsafe { invoke(item, action) };
        let want = match (action, big) {
            (Action::Discard, _) => 0,
            (Action::Run, false) => 1,
            (Action::Run, true) => 7 * 128,
        };
        assert_eq!(ran.load(Ordering::Relaxed), want);
        assert_eq!(
            dropped.load(Ordering::Relaxed),
            1,
            "the closure is dropped once"
        );
    }

    #[test]
    fn miri_task_cached_item_runs_or_discards_once() {
        assert!(cached::<fn()>());
        check(Action::Run, false);
        check(Action::Discard, false);
    }

    #[test]
    fn miri_task_boxed_item_runs_or_discards_once() {
        check(Action::Run, true);
        check(Action::Discard, true);
    }

    static C_CALLS: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn c_fn(ctx: *mut std::ffi::c_void) {
        // SAFETY: the test passes a pointer to a live usize.
        C_CALLS.fetch_add(unsafe { *(ctx as *const usize) }, Ordering::Relaxed);
    }

    #[test]
    fn miri_task_c_item_passes_its_context() {
        let mut x = 5usize;
        let t = c_task(c_fn, &mut x as *mut usize as *mut std::ffi::c_void, 0);
        // SAFETY: a live item, consumed once.
        unsafe { invoke(t, Action::Run) };
        let t = c_task(c_fn, &mut x as *mut usize as *mut std::ffi::c_void, 0);
        // SAFETY: as above.
        unsafe { invoke(t, Action::Discard) };
        assert_eq!(C_CALLS.load(Ordering::Relaxed), 5);
    }
}
