//! `sync`: running an item on the caller's thread, the frames that say which queues a thread
//! is running, and deadlock detection.

use super::drain::report_panic;
use super::{
    inflight, main_queue, Flavor, QueueInner, BARRIER_WAIT, INACTIVE, LOCKED, SUSPEND_MASK,
};
use crate::error::{Error, ErrorKind};
use crate::task::{Action, CFunction, TaskHeader, BARRIER, SYNC_WAITER};
use std::cell::Cell;
use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::{self, Thread};

/// One queue the current thread is running, innermost last.
struct Frame {
    queue: *const QueueInner,
    prev: *const Frame,
}

thread_local! {
    static FRAME: Cell<*const Frame> = const { Cell::new(ptr::null()) };
}

struct FrameGuard(*const Frame);

impl Drop for FrameGuard {
    fn drop(&mut self) {
        FRAME.with(|f| f.set(self.0));
    }
}

/// Runs `f` with `q` as the current queue of this thread.
#[inline]
pub(crate) fn with_frame<R>(q: &QueueInner, f: impl FnOnce() -> R) -> R {
    let prev = FRAME.with(|c| c.get());
    let frame = Frame { queue: q, prev };
    FRAME.with(|c| c.set(&frame));
    let _g = FrameGuard(prev);
    f()
}

/// The queue the caller runs on, if any (the main queue on the main thread otherwise).
fn current_queue() -> Option<&'static QueueInner> {
    let f = FRAME.with(|c| c.get());
    if f.is_null() {
        if super::is_main_thread() {
            return Some(main_queue());
        }
        return None;
    }
    // SAFETY: frames live on the stack below us; their queues are alive while they run.
    Some(unsafe { &*(*f).queue })
}

/// The queue running the caller, or the default global queue off any queue (the main queue
/// on the main thread), as libdispatch's deprecated `dispatch_get_current_queue`.
pub(crate) fn current_queue_or_default() -> &'static QueueInner {
    current_queue().unwrap_or_else(super::default_root)
}

/// The label of the queue running the caller ("" when none).
pub(crate) fn current_label() -> &'static CStr {
    // The queue outlives the work that asks; libdispatch has the same contract.
    current_queue().map_or(c"", |q| q.label())
}

/// Queue-specific data seen from the caller: the current queue, then its targets.
pub(crate) fn current_specific(key: usize) -> *mut c_void {
    let mut q: *const QueueInner = match current_queue() {
        Some(q) => q,
        None => return ptr::null_mut(),
    };
    while !q.is_null() {
        // SAFETY: a running queue keeps its target chain alive.
        let qr = unsafe { &*q };
        if let Some(v) = qr.get_specific(key) {
            return v;
        }
        if matches!(qr.flavor(), Flavor::Root | Flavor::MainRoot) {
            break;
        }
        q = qr.target_ptr();
    }
    ptr::null_mut()
}

/// Would `sync` onto `q` from this thread wait for the thread itself?
fn would_deadlock(q: &QueueInner, barrier: bool) -> bool {
    // The item needs every exclusive queue on q's target chain (q itself when serial or for a
    // barrier, and serial targets above it): if the caller runs on one of them, it never frees.
    let mut cur = q;
    let mut first = true;
    loop {
        if matches!(cur.flavor(), Flavor::Root | Flavor::MainRoot) {
            // The roots run many items at once (the main root's one queue is checked below it).
            return false;
        }
        let exclusive = (first && barrier) || !cur.is_wide();
        if exclusive && on_chain(cur) {
            return true;
        }
        let t = cur.target_ptr();
        if t.is_null() {
            return false;
        }
        // SAFETY: a queue keeps its target alive.
        cur = unsafe { &*t };
        first = false;
    }
}

/// Does the caller run on `q`, directly or as part of it through a target chain (or on the
/// main thread outside any queue, for the main queue)?
pub(crate) fn runs_on(q: &QueueInner) -> bool {
    if FRAME.with(|c| c.get()).is_null() {
        return super::is_main_thread() && ptr::eq(q, main_queue());
    }
    on_chain(q)
}

/// Is `q` the queue of one of the caller's frames, or on the target chain of one?
fn on_chain(q: &QueueInner) -> bool {
    let mut f = FRAME.with(|c| c.get());
    while !f.is_null() {
        // SAFETY: frames live on the stack below us.
        let mut cur: *const QueueInner = unsafe { (*f).queue };
        while !cur.is_null() {
            if ptr::eq(cur, q) {
                return true;
            }
            // SAFETY: running queues keep their target chains alive.
            let c = unsafe { &*cur };
            if matches!(c.flavor(), Flavor::Root | Flavor::MainRoot) {
                break;
            }
            cur = c.target_ptr();
        }
        // SAFETY: as above.
        f = unsafe { (*f).prev };
    }
    false
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hold {
    Lock,
    Reader,
}

const MAX_CHAIN: usize = 8;

/// Tries to take every queue from `q` up to its root for an inline run.
fn try_acquire_chain(
    q: &QueueInner,
    barrier: bool,
    held: &mut [(*const QueueInner, Hold); MAX_CHAIN],
) -> Option<usize> {
    let mut n = 0;
    let mut cur: &QueueInner = q;
    let mut reader = !barrier;
    loop {
        match cur.flavor() {
            Flavor::Root => return Some(n),
            Flavor::MainRoot => {
                if super::is_main_thread() {
                    return Some(n);
                }
                release_chain(&held[..n]);
                return None;
            }
            _ => {}
        }
        if n == MAX_CHAIN {
            release_chain(&held[..n]);
            return None;
        }
        let ok = if reader && cur.is_wide() {
            held[n] = (cur, Hold::Reader);
            cur.try_enter_reader()
        } else {
            held[n] = (cur, Hold::Lock);
            try_lock(cur, cur.is_wide())
        };
        if !ok {
            release_chain(&held[..n]);
            return None;
        }
        match held[n].1 {
            Hold::Lock => crate::tsan::enter_exclusive(cur),
            Hold::Reader => crate::tsan::enter_reader(cur),
        }
        n += 1;
        // The queue runs as an (ordinary) item of its target.
        reader = true;
        cur = cur.target();
    }
}

fn try_lock(q: &QueueInner, wide: bool) -> bool {
    let s = q.state.load(Ordering::SeqCst);
    if s & (LOCKED | INACTIVE | SUSPEND_MASK | BARRIER_WAIT) != 0 || (wide && inflight(s) != 0) {
        return false;
    }
    q.state
        .compare_exchange(s, s | LOCKED, Ordering::SeqCst, Ordering::Relaxed)
        .is_ok()
}

fn release_chain(held: &[(*const QueueInner, Hold)]) {
    for &(q, h) in held.iter().rev() {
        // SAFETY: queues in the chain are alive (the caller holds the first one).
        let q = unsafe { &*q };
        match h {
            Hold::Lock => {
                crate::tsan::exit_exclusive(q);
                q.unlock(false)
            }
            Hold::Reader => {
                crate::tsan::exit_reader(q);
                q.exit_reader()
            }
        }
    }
}

const WAITING: u32 = 0;
/// The caller owns LOCKED and the drain's reference.
const HANDED_OFF: u32 = 1;
const DONE: u32 = 2;
/// The caller owns an in-flight slot of a wide queue.
const ADMITTED: u32 = 3;

/// A `sync` caller waiting in a queue, on the caller's stack.
#[repr(C)]
pub(super) struct SyncWaiter {
    header: TaskHeader,
    work: *mut (dyn FnMut() + 'static),
    thread: Thread,
    state: AtomicU32,
}

unsafe fn waiter_call(_t: NonNull<TaskHeader>, _a: Action) {
    // Waiters are recognised by their flag and never invoked through the header.
    unreachable!("a sync waiter was invoked as a plain item");
}

impl SyncWaiter {
    /// The drain reached the waiter of a queue that targets the pool: the waiter now owns
    /// LOCKED and the drain's reference, and runs its work on its own thread.
    ///
    /// # Safety
    /// `t` must be a `SyncWaiter` popped by the drain of the queue.
    pub(super) unsafe fn hand_off(t: NonNull<TaskHeader>) {
        // SAFETY: per the contract.
        let w = unsafe { &*(t.as_ptr() as *const SyncWaiter) };
        w.wake(HANDED_OFF);
    }

    /// A wide queue admitted the waiter as a reader (its in-flight slot is taken).
    ///
    /// # Safety
    /// As for `hand_off`.
    pub(super) unsafe fn admit_reader(t: NonNull<TaskHeader>) {
        // SAFETY: per the contract.
        let w = unsafe { &*(t.as_ptr() as *const SyncWaiter) };
        w.wake(ADMITTED);
    }

    /// Runs the waiter's work on the draining thread (queues that target other queues or the
    /// main thread must run it inside their drain), then releases the caller.
    ///
    /// # Safety
    /// As for `hand_off`.
    pub(super) unsafe fn run_here(t: NonNull<TaskHeader>, q: &QueueInner) {
        // SAFETY: per the contract; the caller is parked until we set DONE.
        let w = unsafe { &*(t.as_ptr() as *const SyncWaiter) };
        crate::tsan::acquire(w);
        let work = w.work;
        // SAFETY: the closure lives on the parked caller's stack.
        with_frame(q, || unsafe { (*work)() });
        w.wake(DONE);
    }

    fn wake(&self, state: u32) {
        // Clone first: once `state` is set the waiter may return and free itself.
        let th = self.thread.clone();
        crate::tsan::release(self);
        self.state.store(state, Ordering::Release);
        th.unpark();
    }
}

/// The fast path of `sync_f` (the C API): a serial queue that targets a global queue and is
/// free now runs `f(ctx)` right here, with no closure and no `Result`. Returns false, having
/// done nothing, in every other case; the caller then takes `sync_raw`.
///
/// It needs no deadlock check: a thread running on a serial queue (directly, or through a
/// queue that targets it) holds the queue's LOCKED bit, so `try_lock` fails for that thread
/// and `sync_raw` reports the deadlock.
#[inline]
pub(crate) fn sync_serial_f(q: &QueueInner, f: CFunction, ctx: *mut c_void) -> bool {
    if q.flavor() != Flavor::Serial || q.target().flavor() != Flavor::Root || !try_lock(q, false) {
        return false;
    }
    // `with_frame`, with one look-up of the thread-local (and no closure for the compiler to
    // keep out of line): a C function does not unwind, so the frame needs no guard to be
    // popped.
    let cell: *const Cell<*const Frame> = FRAME.with(|c| c as *const _);
    // SAFETY: FRAME has no destructor: it lives as long as this thread.
    let cell = unsafe { &*cell };
    let frame = Frame {
        queue: q,
        prev: cell.get(),
    };
    cell.set(&frame);
    crate::tsan::enter_exclusive(q);
    // SAFETY: the caller's function and context.
    unsafe { f(ctx) };
    crate::tsan::exit_exclusive(q);
    cell.set(frame.prev);
    q.unlock(false);
    true
}

/// Runs `work` on `q` and returns once it ran. The core of every `sync`.
pub(crate) fn sync_raw(q: &QueueInner, barrier: bool, work: &mut dyn FnMut()) -> Result<(), Error> {
    if matches!(q.flavor(), Flavor::Root) {
        with_frame(q, work);
        return Ok(());
    }
    if q.flavor() == Flavor::MainRoot {
        return Err(Error::new(ErrorKind::InvalidArgument, "invalid queue"));
    }
    if would_deadlock(q, barrier) {
        return Err(Error::new(
            ErrorKind::Deadlock,
            format!(
                "sync onto queue '{}' from code already running on it (or on a queue targeting it) would deadlock",
                q.label().to_string_lossy()
            ),
        ));
    }
    // The common case first: a serial queue on a global queue, free now.
    if q.flavor() == Flavor::Serial && q.target().flavor() == Flavor::Root && try_lock(q, false) {
        struct Unlock<'a>(&'a QueueInner);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                crate::tsan::exit_exclusive(self.0);
                self.0.unlock(false);
            }
        }
        crate::tsan::enter_exclusive(q);
        let _unlock = Unlock(q);
        with_frame(q, work);
        return Ok(());
    }
    let mut held = [(ptr::null::<QueueInner>(), Hold::Lock); MAX_CHAIN];
    if let Some(n) = try_acquire_chain(q, barrier, &mut held) {
        let r = catch_unwind(AssertUnwindSafe(|| with_frame(q, &mut *work)));
        release_chain(&held[..n]);
        if let Err(p) = r {
            resume_unwind(p);
        }
        return Ok(());
    }
    // Slow path: wait in line.
    // SAFETY: the waiter outlives every use of `work` (we return only after DONE/HANDED_OFF
    // and, for a hand-off, after running it ourselves).
    let work_static: *mut (dyn FnMut() + 'static) = unsafe {
        std::mem::transmute::<*mut (dyn FnMut() + '_), *mut (dyn FnMut() + 'static)>(work)
    };
    let waiter = SyncWaiter {
        header: TaskHeader::new(waiter_call, SYNC_WAITER | if barrier { BARRIER } else { 0 }),
        work: work_static,
        thread: thread::current(),
        state: AtomicU32::new(WAITING),
    };
    crate::tsan::release(&waiter);
    // SAFETY: the waiter stays alive (we block below until the queue is done with it).
    unsafe { q.enqueue(NonNull::from(&waiter.header)) };
    crate::pool::blocking(|| {
        while waiter.state.load(Ordering::Acquire) == WAITING {
            thread::park();
        }
    });
    let state = waiter.state.load(Ordering::Acquire);
    crate::tsan::acquire(&waiter);
    if state == ADMITTED && q.target().flavor() != Flavor::Root {
        // A reader of a wide queue inside a wide target: it has this queue's slot and now
        // takes one of the target (the same way, inline or waiting there).
        struct Exit<'a>(&'a QueueInner);
        impl Drop for Exit<'_> {
            fn drop(&mut self) {
                self.0.exit_reader();
            }
        }
        let _exit = Exit(q);
        let mut inner = || with_frame(q, &mut *work);
        return sync_raw(q.target(), false, &mut inner);
    }
    if state != DONE {
        if state == ADMITTED {
            crate::tsan::enter_reader(q);
        } else {
            crate::tsan::enter_exclusive(q);
        }
        let r = catch_unwind(AssertUnwindSafe(|| with_frame(q, &mut *work)));
        if state == ADMITTED {
            crate::tsan::exit_reader(q);
            q.exit_reader();
        } else {
            crate::tsan::exit_exclusive(q);
            q.unlock(true);
        }
        if let Err(p) = r {
            resume_unwind(p);
        }
    }
    Ok(())
}

/// `sync` of a closure with a result. A panic on another thread (a drain running the work)
/// is reported there and returned as an error here.
pub(crate) fn sync_closure<R: Send, F: FnOnce() -> R + Send>(
    q: &QueueInner,
    barrier: bool,
    f: F,
) -> Result<R, Error> {
    let mut f = Some(f);
    let mut out: Option<R> = None;
    let here = thread::current().id();
    let mut work = || {
        let f = f.take().expect("sync work runs once");
        if thread::current().id() == here {
            out = Some(f());
        } else {
            match catch_unwind(AssertUnwindSafe(f)) {
                Ok(r) => out = Some(r),
                Err(p) => report_panic(&*p),
            }
        }
    };
    sync_raw(q, barrier, &mut work)?;
    out.ok_or_else(|| Error::new(ErrorKind::Panic, "the sync work panicked"))
}
