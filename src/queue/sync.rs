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
use std::sync::atomic::{compiler_fence, AtomicU32, Ordering};
use std::sync::Mutex;
use std::thread::{self, Thread};

/// What a thread running a queue holds on it, as far as a forked child needs to know to give
/// it back when that thread is gone (see `recover_dead_frames`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameHold {
    /// Nothing a child can give back: a root, an inline `sync`, work run inside a drain.
    Other,
    /// The drain of the queue: LOCKED and the drain's reference.
    Drain,
    /// An item of a wide queue forwarded to the pool: an in-flight slot and a reference.
    Reader,
    /// An inline `sync` onto a serial queue: LOCKED, no reference.
    Locked,
    /// A `sync` admitted as a reader of a wide queue: an in-flight slot, no reference.
    Slot,
    /// A `sync` caller parked in the queue's list. This frame's `queue` is its `SyncWaiter`
    /// (the frame exists only around the park, where nothing reads the current queue): the
    /// drain may have handed the queue to it already.
    Waiting,
}

/// One queue the current thread is running, innermost last.
struct Frame {
    queue: *const QueueInner,
    prev: *const Frame,
    hold: FrameHold,
}

thread_local! {
    static FRAME: Cell<*const Frame> = const { Cell::new(ptr::null()) };
    /// This thread's FRAME is in `STACKS` (see `register_frames`).
    static REGISTERED: Cell<bool> = const { Cell::new(false) };
    /// Takes this thread's FRAME out of `STACKS` when the thread ends.
    static UNREGISTER: Unregister = const { Unregister };
    /// The source whose link this thread is running (null otherwise; see `source_run`).
    static SOURCE_RUN: Cell<*const c_void> = const { Cell::new(ptr::null()) };
}

/// The frame stacks (FRAME cells, by address) of the threads alive that ever held a queue:
/// workers, and threads that ran a `sync`, each with its SOURCE_RUN cell. A forked child
/// gives back what the threads that did not survive the fork held (`recover_dead_frames`,
/// `SourceInner::recover_after_fork`).
static STACKS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

struct Unregister;

impl Drop for Unregister {
    fn drop(&mut self) {
        let me = frame_stack();
        let mut v = STACKS.lock().unwrap_or_else(|e| e.into_inner());
        v.retain(|&(a, _)| a != me);
    }
}

/// Records this thread's frame stack in `STACKS` (once per thread; one thread-local load
/// after that).
#[inline]
fn register_frames() {
    if !REGISTERED.with(|r| r.get()) {
        register_slow();
    }
}

#[cold]
fn register_slow() {
    REGISTERED.with(|r| r.set(true));
    // Touching UNREGISTER registers its destructor, which runs at thread exit.
    UNREGISTER.with(|_| {});
    STACKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((frame_stack(), SOURCE_RUN.with(|c| c as *const _ as usize)));
}

/// Records that this thread runs the link of `source` (a `SourceInner`) until `source_run_end`
/// with the value returned: a forked child gives back the link's ENQUEUED flag if the run
/// was on a thread that did not survive the fork (otherwise the source would never deliver
/// there again). A thread-local store; the run's thread is a worker (registered in STACKS).
#[inline]
pub(crate) fn source_run_begin(source: *const c_void) -> *const c_void {
    let prev = SOURCE_RUN.with(|c| c.replace(source));
    // The record is published before the run goes on (a compiler barrier, as for frames).
    compiler_fence(Ordering::SeqCst);
    prev
}

/// Ends what `source_run_begin` recorded (before the run gives its ENQUEUED flag back).
#[inline]
pub(crate) fn source_run_end(prev: *const c_void) {
    compiler_fence(Ordering::SeqCst);
    SOURCE_RUN.with(|c| c.set(prev));
    compiler_fence(Ordering::SeqCst);
}

/// Before a fork (see `src/fork.rs`).
pub(crate) fn fork_lock(held: &mut crate::fork::Held) -> bool {
    held.lock(&STACKS)
}

/// Registers the calling worker's frame stack (at its start).
pub(crate) fn register_worker_frames() {
    register_frames();
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
    with_frame_holding(q, FrameHold::Other, f)
}

/// `with_frame` for a thread that holds `hold` on `q` while `f` runs.
#[inline]
pub(crate) fn with_frame_holding<R>(q: &QueueInner, hold: FrameHold, f: impl FnOnce() -> R) -> R {
    with_frame_raw(q, hold, f)
}

#[inline]
fn with_frame_raw<R>(q: *const QueueInner, hold: FrameHold, f: impl FnOnce() -> R) -> R {
    let prev = FRAME.with(|c| c.get());
    let frame = Frame {
        queue: q,
        prev,
        hold,
    };
    // The frame is written before it is published: a forked child reads the frames of a
    // thread stopped anywhere (a compiler barrier only; x86 keeps stores in order).
    compiler_fence(Ordering::SeqCst);
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
    /// The queue waited on (for a forked child, see `FrameHold::Waiting`).
    queue: *const QueueInner,
    work: *mut (dyn FnMut() + 'static),
    thread: Thread,
    state: AtomicU32,
    /// `crate::fork::generation()` when the waiter was made: a waiter from before a fork
    /// belongs, in the child, to a thread that does not exist there.
    generation: u32,
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
    pub(super) unsafe fn hand_off(t: NonNull<TaskHeader>, q: &QueueInner) {
        // SAFETY: per the contract.
        let w = unsafe { &*(t.as_ptr() as *const SyncWaiter) };
        if w.orphaned() {
            // Its thread is gone (a forked child): the drain goes on with the next item.
            q.schedule();
            return;
        }
        w.wake(HANDED_OFF);
    }

    /// A wide queue admitted the waiter as a reader (its in-flight slot is taken).
    ///
    /// # Safety
    /// As for `hand_off`.
    pub(super) unsafe fn admit_reader(t: NonNull<TaskHeader>, q: &QueueInner) {
        // SAFETY: per the contract.
        let w = unsafe { &*(t.as_ptr() as *const SyncWaiter) };
        if w.orphaned() {
            q.exit_reader();
            return;
        }
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
        if w.orphaned() {
            return;
        }
        crate::tsan::acquire(w);
        let work = w.work;
        // SAFETY: the closure lives on the parked caller's stack.
        with_frame(q, || unsafe { (*work)() });
        w.wake(DONE);
    }

    /// Made before a fork, seen in the child: its thread (and work) stay in the parent.
    fn orphaned(&self) -> bool {
        self.generation != crate::fork::generation()
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
    // Not registered in STACKS for this: a queue left locked by a thread the fork caught
    // here is found by `repair_after_fork` in the child.
    let cell: *const Cell<*const Frame> = FRAME.with(|c| c as *const _);
    // SAFETY: FRAME has no destructor: it lives as long as this thread.
    let cell = unsafe { &*cell };
    let frame = Frame {
        queue: q,
        prev: cell.get(),
        hold: FrameHold::Locked,
    };
    compiler_fence(Ordering::SeqCst); // see `with_frame_raw`
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
    // The common case first: a serial queue on a global queue, free now (a lock left by a
    // thread a fork caught here is repaired without STACKS: `repair_after_fork`).
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
        with_frame_holding(q, FrameHold::Locked, work);
        return Ok(());
    }
    // From here this thread may hold in-flight slots of wide queues, or wait: a forked child
    // needs its frames (STACKS).
    register_frames();
    let mut held = [(ptr::null::<QueueInner>(), Hold::Lock); MAX_CHAIN];
    if let Some(n) = try_acquire_chain(q, barrier, &mut held) {
        // What a forked child gives back if this thread is gone: one queue held (on a root)
        // is described by the frame; a longer chain is not (see `recover_dead_frames`).
        let hold = match (n, held[0].1) {
            (1, Hold::Lock) => FrameHold::Locked,
            (1, Hold::Reader) => FrameHold::Slot,
            _ => FrameHold::Other,
        };
        let r = catch_unwind(AssertUnwindSafe(|| with_frame_holding(q, hold, &mut *work)));
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
        queue: q,
        work: work_static,
        thread: thread::current(),
        state: AtomicU32::new(WAITING),
        generation: crate::fork::generation(),
    };
    crate::tsan::release(&waiter);
    // SAFETY: the waiter stays alive (we block below until the queue is done with it).
    unsafe { q.enqueue(NonNull::from(&waiter.header)) };
    crate::pool::blocking(|| {
        // The waiter stands in for the queue in this frame (see `FrameHold::Waiting`).
        let as_queue = &waiter as *const SyncWaiter as *const QueueInner;
        with_frame_raw(as_queue, FrameHold::Waiting, || {
            while waiter.state.load(Ordering::Acquire) == WAITING {
                thread::park();
            }
        })
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
        let hold = if state == ADMITTED {
            crate::tsan::enter_reader(q);
            FrameHold::Slot
        } else {
            crate::tsan::enter_exclusive(q);
            FrameHold::Drain
        };
        let r = catch_unwind(AssertUnwindSafe(|| with_frame_holding(q, hold, &mut *work)));
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

/// The address of this thread's frame stack, for a forked child to look at after the thread
/// is gone (`recover_dead_frames`). FRAME has no destructor: the cell lives as long as the
/// thread (and, in a forked child, as long as the copy of its memory).
pub(crate) fn frame_stack() -> usize {
    FRAME.with(|c| c as *const Cell<*const Frame> as usize)
}

/// The queues the calling thread's frames hold (for a forked child: the forking thread's).
pub(crate) fn own_frame_queues() -> Vec<*const QueueInner> {
    let mut v = Vec::new();
    let mut f = FRAME.with(|c| c.get());
    while !f.is_null() {
        // SAFETY: this thread's frames, on its stack below us.
        let fr = unsafe { &*f };
        if fr.hold != FrameHold::Waiting {
            v.push(fr.queue);
        }
        f = fr.prev;
    }
    v
}

/// In a forked child: gives back what the threads that did not survive the fork held on
/// queues. See `recover_dead_frames`.
///
/// # Safety
/// Only in a forked child, before any other thread exists.
pub(crate) unsafe fn recover_all_dead_frames() {
    let me = frame_stack();
    let stacks: Vec<(usize, usize)> = {
        let mut v = STACKS.lock().unwrap_or_else(|e| e.into_inner());
        let all = std::mem::take(&mut *v);
        v.extend(all.iter().copied().filter(|&(s, _)| s == me));
        all
    };
    for (s, src) in stacks.into_iter().filter(|&(s, _)| s != me) {
        // SAFETY: per the contract; `s` is the frame stack of a thread of the parent.
        unsafe { recover_dead_frames(s) };
        // SAFETY: as above; `src` is that thread's SOURCE_RUN cell, in its frozen memory.
        let run = unsafe { (*(src as *const Cell<*const c_void>)).get() };
        if !run.is_null() {
            // SAFETY: a source whose link the dead thread was running (the run's reference,
            // lost with the thread, keeps it alive).
            unsafe { crate::source::recover_after_fork(run) };
        }
    }
}

/// For a thread that did not survive a fork (`stack` from its `frame_stack`): the drains it
/// was running go on from the item after the one it was running (that item is lost in the
/// child) — each is enqueued again on its target, holding what the dead drain held; a serial
/// queue it held for an inline `sync` is unlocked; the in-flight slots of wide queues it held
/// are given back. Frames of other kinds (a `sync` through a chain of queues) keep what they
/// held.
///
/// # Safety
/// Only in a forked child, before any other thread exists, with `stack` from a thread of the
/// parent other than the forking one.
unsafe fn recover_dead_frames(stack: usize) {
    // SAFETY: per the contract: the dead thread's memory is a frozen copy.
    let mut f = unsafe { (*(stack as *const Cell<*const Frame>)).get() };
    while !f.is_null() {
        // SAFETY: frames of the dead thread, in its frozen stack.
        let fr = unsafe { &*f };
        if fr.hold == FrameHold::Waiting {
            // SAFETY: the frame's queue is the waiter (see `FrameHold::Waiting`), on the
            // dead thread's frozen stack.
            let w = unsafe { &*(fr.queue as *const SyncWaiter) };
            // SAFETY: the waiter keeps its queue alive.
            let q = unsafe { &*w.queue };
            match w.state.load(Ordering::Acquire) {
                // Handed the queue (LOCKED and the drain's reference): the drain goes on.
                HANDED_OFF => q.schedule(),
                ADMITTED => q.exit_reader(),
                // Still in the list: the drain skips it when it gets there (`orphaned`).
                // Not where it is, though: it lives on the dead thread's stack, which glibc
                // gives to the child's next new thread (a new worker's frames would overwrite
                // it while the list still links it). A copy on the heap, leaked, takes its
                // place in the list.
                WAITING => {
                    // SAFETY: a bitwise copy that is never dropped (its `thread` is never
                    // used: the copy is orphaned, like the original).
                    let copy: &'static SyncWaiter =
                        Box::leak(Box::new(unsafe { ptr::read(w as *const SyncWaiter) }));
                    // SAFETY: per the contract (one thread); the copy is in no list.
                    unsafe {
                        q.list.replace_after_fork(
                            NonNull::from(&w.header),
                            NonNull::from(&copy.header),
                        )
                    };
                }
                _ => {}
            }
            f = fr.prev;
            continue;
        }
        // SAFETY: the frame's hold keeps its queue alive.
        let q = unsafe { &*fr.queue };
        match fr.hold {
            FrameHold::Drain => q.schedule(),
            // The job's reference is not released: dropping a last reference here could run
            // a finalizer inside the fork handler. The queue is leaked in the child.
            FrameHold::Reader | FrameHold::Slot => q.exit_reader(),
            FrameHold::Locked => q.unlock(false),
            FrameHold::Other | FrameHold::Waiting => {}
        }
        f = fr.prev;
    }
}
