//! `apply`: N iterations in parallel, the caller taking part.
//!
//! Iterations are handed out in chunks from one atomic counter, so tiny bodies do not pay an
//! atomic each. Helpers are plain jobs on a root queue; one that starts after all chunks are
//! taken finds nothing to do and never touches the caller's closure (which lives on the
//! caller's stack and is dereferenced only for a chunk that was claimed before completion).

use crate::pool::pool;
use crate::queue::{Flavor, Queue, QueueInner};
use crate::task;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};

struct Shared {
    next: AtomicUsize,
    done: AtomicUsize,
    n: usize,
    chunk: usize,
    /// The caller's body, type-erased; `run` loops over a chunk calling it (monomorphized,
    /// so an iteration costs one direct call, not a virtual one).
    body: *const (),
    run: unsafe fn(*const (), usize, usize),
    waiter: Thread,
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
    panicked: AtomicBool,
}

// SAFETY: `body` is Sync and only dereferenced while the caller waits (see module docs).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    fn work(&self) {
        loop {
            let start = self.next.fetch_add(self.chunk, Ordering::Relaxed);
            if start >= self.n {
                return;
            }
            let end = (start + self.chunk).min(self.n);
            // SAFETY: a chunk was claimed, so the caller (and its body) is still waiting for it.
            let r = catch_unwind(AssertUnwindSafe(|| unsafe {
                (self.run)(self.body, start, end)
            }));
            if let Err(p) = r {
                self.panicked.store(true, Ordering::Relaxed);
                self.panic.lock().unwrap().get_or_insert(p);
            }
            let finished = end - start;
            crate::tsan::release(&self.done);
            if self.done.fetch_add(finished, Ordering::AcqRel) + finished == self.n {
                self.waiter.unpark();
            }
        }
    }
}

/// The root queue `apply` runs on for `queue` (None = the caller's QoS, default).
fn root_for(queue: Option<&QueueInner>) -> &'static QueueInner {
    let mut q = match queue {
        Some(q) => q as *const QueueInner,
        None => return crate::queue::default_root(),
    };
    loop {
        // SAFETY: queues keep their targets alive.
        let r = unsafe { &*q };
        match r.flavor() {
            Flavor::Root => {
                // SAFETY: roots are 'static.
                return unsafe { &*q };
            }
            Flavor::MainRoot => return crate::queue::default_root(),
            _ => q = r.target() as *const QueueInner,
        }
    }
}

unsafe fn run_chunk<F: Fn(usize) + Sync>(body: *const (), start: usize, end: usize) {
    // SAFETY: `body` was erased from an `&F` in `apply_raw` and outlives the call.
    let body = unsafe { &*(body as *const F) };
    for i in start..end {
        body(i);
    }
}

pub(crate) fn apply_raw<F: Fn(usize) + Sync>(n: usize, queue: Option<&QueueInner>, body: &F) {
    if n == 0 {
        return;
    }
    if let Some(q) = queue {
        if q.flavor() == Flavor::Serial || (q.flavor() == Flavor::Concurrent && !q.is_wide()) {
            // A serial queue runs the iterations one after another, as a sync on it.
            let mut run = || (0..n).for_each(body);
            if crate::queue::sync_raw(q, false, &mut run).is_err() {
                // Already running on it: run inline, as libdispatch does.
                (0..n).for_each(body);
            }
            return;
        }
    }
    let threads = pool().ncpu().max(1);
    if n == 1 || threads == 1 {
        (0..n).for_each(body);
        return;
    }
    let chunk = (n / (threads * 4)).max(1);
    let shared = Arc::new(Shared {
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        n,
        chunk,
        body: body as *const F as *const (),
        run: run_chunk::<F>,
        waiter: thread::current(),
        panic: Mutex::new(None),
        panicked: AtomicBool::new(false),
    });
    let root = root_for(queue);
    let helpers = (threads - 1).min(n.div_ceil(chunk) - 1);
    for _ in 0..helpers {
        let s = shared.clone();
        // SAFETY: a fresh item.
        unsafe { root.enqueue(task::boxed(move || s.work(), 0)) };
    }
    crate::queue::with_frame(root, || shared.work());
    if shared.done.load(Ordering::Acquire) != n {
        crate::pool::blocking(|| {
            while shared.done.load(Ordering::Acquire) != n {
                thread::park();
            }
        });
    }
    // Every iteration happens before apply returns.
    crate::tsan::acquire(&shared.done);
    if shared.panicked.load(Ordering::Relaxed) {
        if let Some(p) = shared.panic.lock().unwrap().take() {
            resume_unwind(p);
        }
    }
}

/// Runs `body(i)` for `i` in `0..n`, in parallel on `queue`'s threads (`None`: the default
/// global queue), the caller taking part; returns when all have run. On a serial queue the
/// iterations run one after another.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// let sum = AtomicUsize::new(0);
/// rgcd::apply(1000, None, |i| { sum.fetch_add(i, Ordering::Relaxed); });
/// assert_eq!(sum.load(Ordering::Relaxed), 999 * 1000 / 2);
/// ```
pub fn apply<F: Fn(usize) + Sync>(n: usize, queue: Option<&Queue>, body: F) {
    apply_raw(n, queue.map(|q| &*q.inner), &body)
}
