//! Queues and the work submitted to them.

use super::{
    function, guarded, invalid, is_live, pointer, queue_ref, rgcd_apply_function_t,
    rgcd_function_t, rgcd_time_t, status,
};
use crate::error::{Error, ErrorKind};
use crate::object::Kind;
use crate::queue::{self as q, Qos, QueueInner, QueueRef};
use crate::task::{self, SendPtr, BARRIER};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::AtomicIsize;

/// An opaque queue object.
pub struct rgcd_queue_s {
    _private: [u8; 0],
}

/// A queue handle.
pub type rgcd_queue_t = *mut rgcd_queue_s;

/// Queue attributes: `RGCD_QUEUE_SERIAL` or `RGCD_QUEUE_CONCURRENT`, optionally
/// `| RGCD_QUEUE_INACTIVE`, optionally `| (qos << RGCD_QUEUE_QOS_SHIFT)`.
pub type rgcd_queue_attr_t = u32;

/// A quality-of-service class (libdispatch's values).
pub type rgcd_qos_class_t = u32;

/// A `once` predicate: zero-initialised; `~0` once the function has run.
pub type rgcd_once_t = isize;

/// Items run one at a time, in FIFO order.
pub const RGCD_QUEUE_SERIAL: rgcd_queue_attr_t = 0;
/// Items run in parallel; barriers run alone.
pub const RGCD_QUEUE_CONCURRENT: rgcd_queue_attr_t = 1;
/// The queue starts inactive: nothing runs until `rgcd_activate`.
pub const RGCD_QUEUE_INACTIVE: rgcd_queue_attr_t = 2;
/// Shift of the QoS class inside a `rgcd_queue_attr_t`.
pub const RGCD_QUEUE_QOS_SHIFT: u32 = 8;

/// User-interactive QoS class.
pub const RGCD_QOS_USER_INTERACTIVE: rgcd_qos_class_t = 0x21;
/// User-initiated QoS class.
pub const RGCD_QOS_USER_INITIATED: rgcd_qos_class_t = 0x19;
/// Default QoS class.
pub const RGCD_QOS_DEFAULT: rgcd_qos_class_t = 0x15;
/// Utility QoS class.
pub const RGCD_QOS_UTILITY: rgcd_qos_class_t = 0x11;
/// Background QoS class.
pub const RGCD_QOS_BACKGROUND: rgcd_qos_class_t = 0x09;
/// Maintenance QoS class.
pub const RGCD_QOS_MAINTENANCE: rgcd_qos_class_t = 0x05;
/// No QoS class (treated as default).
pub const RGCD_QOS_UNSPECIFIED: rgcd_qos_class_t = 0x00;

/// `rgcd_get_global_queue` flag: the overcommit global queue of the class, whose work gets
/// a thread whenever it waits, whatever the CPU count (libdispatch's private
/// `DISPATCH_QUEUE_OVERCOMMIT`), up to `RGCD_MAX_THREADS`.
pub const RGCD_GLOBAL_QUEUE_OVERCOMMIT: usize = 2;
/// `rgcd_queue_set_width`: as many items at once as there are CPUs.
pub const RGCD_QUEUE_WIDTH_ACTIVE_CPUS: isize = -2;

/// Legacy priority: the user-initiated global queue.
pub const RGCD_QUEUE_PRIORITY_HIGH: isize = 2;
/// Legacy priority: the default global queue.
pub const RGCD_QUEUE_PRIORITY_DEFAULT: isize = 0;
/// Legacy priority: the utility global queue.
pub const RGCD_QUEUE_PRIORITY_LOW: isize = -2;
/// Legacy priority: the background global queue.
pub const RGCD_QUEUE_PRIORITY_BACKGROUND: isize = -32768;

const ATTR_KNOWN: u32 =
    RGCD_QUEUE_CONCURRENT | RGCD_QUEUE_INACTIVE | (0xff << RGCD_QUEUE_QOS_SHIFT);

fn as_handle(q: &QueueInner) -> rgcd_queue_t {
    q as *const QueueInner as rgcd_queue_t
}

unsafe fn create(
    label: *const c_char,
    attr: rgcd_queue_attr_t,
    target: Option<&QueueInner>,
) -> Result<rgcd_queue_t, Error> {
    if attr & !ATTR_KNOWN != 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("unknown queue attribute bits {:#x}", attr & !ATTR_KNOWN),
        ));
    }
    let qos_raw = (attr >> RGCD_QUEUE_QOS_SHIFT) & 0xff;
    let qos = match qos_raw {
        0 => Qos::Default,
        v => match Qos::from_raw(v as i64) {
            Some(q) if q as u32 == v => q,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("unknown QoS class {v:#x} in queue attributes"),
                ))
            }
        },
    };
    let label = if label.is_null() {
        &[][..]
    } else {
        // SAFETY: the caller passes a NUL-terminated string.
        unsafe { CStr::from_ptr(label) }.to_bytes()
    };
    let q = QueueInner::create(
        label,
        true,
        attr & RGCD_QUEUE_CONCURRENT != 0,
        attr & RGCD_QUEUE_INACTIVE != 0,
        qos,
        target,
    )?;
    Ok(QueueRef::into_raw(q) as rgcd_queue_t)
}

/// Creates a queue (+1 reference; release it with `rgcd_release`).
///
/// `label` is copied (NULL: no label). `attr`: see `rgcd_queue_attr_t`; a QoS class in it picks
/// the global queue the new queue targets. Returns NULL with `RGCD_EINVAL` for unknown bits.
#[no_mangle]
pub unsafe extern "C" fn rgcd_queue_create(
    label: *const c_char,
    attr: rgcd_queue_attr_t,
) -> rgcd_queue_t {
    // SAFETY: per the contract.
    pointer(|| unsafe { create(label, attr, None) })
}

/// Creates a queue targeting `target` (NULL: the global queue of the QoS in `attr`).
#[no_mangle]
pub unsafe extern "C" fn rgcd_queue_create_with_target(
    label: *const c_char,
    attr: rgcd_queue_attr_t,
    target: rgcd_queue_t,
) -> rgcd_queue_t {
    pointer(|| {
        let t = if target.is_null() {
            None
        } else {
            // SAFETY: a handle from the caller.
            Some(unsafe { queue_ref(target as *const c_void, "target")? })
        };
        // SAFETY: per the contract.
        unsafe { create(label, attr, t) }
    })
}

/// Creates a workloop (+1): a serial queue with libdispatch's workloop API — items run one at
/// a time in FIFO order on the pool. NULL label: no label.
#[no_mangle]
pub unsafe extern "C" fn rgcd_workloop_create(label: *const c_char) -> rgcd_queue_t {
    // SAFETY: per the contract.
    pointer(|| unsafe { create(label, RGCD_QUEUE_SERIAL, None) })
}

/// Creates an inactive workloop (+1): configure it, then `rgcd_activate` it.
#[no_mangle]
pub unsafe extern "C" fn rgcd_workloop_create_inactive(label: *const c_char) -> rgcd_queue_t {
    // SAFETY: per the contract.
    pointer(|| unsafe { create(label, RGCD_QUEUE_SERIAL | RGCD_QUEUE_INACTIVE, None) })
}

/// The queue running the caller (borrowed: valid while the caller runs on it). Off any
/// queue: the main queue on the main thread, else the default global queue. For the deprecated
/// `dispatch_get_current_queue`; as libdispatch warns, do not use it to decide whether a
/// `sync` would deadlock (a queue can run as part of another through targets).
#[no_mangle]
pub extern "C" fn rgcd_get_current_queue() -> rgcd_queue_t {
    q::current_queue_or_default() as *const QueueInner as rgcd_queue_t
}

/// 1 if the caller runs on `queue` — directly, or as part of it through target queues (work
/// on a queue that targets `queue`), or on the main thread outside any queue for the main
/// queue — else 0; `RGCD_EINVAL`/`RGCD_ETYPE` for a bad handle. Never waits. For assertions
/// (`dispatch_assert_queue`).
#[no_mangle]
pub unsafe extern "C" fn rgcd_queue_is_current(queue: rgcd_queue_t) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
        Ok(q::runs_on(q) as c_int)
    })
}

/// The global concurrent queue for a QoS class (`RGCD_QOS_*`) or a legacy priority
/// (`RGCD_QUEUE_PRIORITY_*`). Borrowed: never released. `flags` is 0 or
/// `RGCD_GLOBAL_QUEUE_OVERCOMMIT`. NULL with `RGCD_EINVAL` for an unknown identifier or
/// other flags.
#[no_mangle]
pub extern "C" fn rgcd_get_global_queue(identifier: isize, flags: usize) -> rgcd_queue_t {
    pointer(|| {
        if flags & !RGCD_GLOBAL_QUEUE_OVERCOMMIT != 0 {
            return Err(invalid("flags must be 0 or RGCD_GLOBAL_QUEUE_OVERCOMMIT"));
        }
        let qos = Qos::from_raw(identifier as i64).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown QoS class or priority {identifier}"),
            )
        })?;
        if flags & RGCD_GLOBAL_QUEUE_OVERCOMMIT != 0 {
            return Ok(as_handle(q::overcommit_root(qos.root_index())));
        }
        Ok(as_handle(q::root(qos.root_index())))
    })
}

/// Limits a concurrent queue to `width` items running at once (libdispatch's private
/// `dispatch_queue_set_width`). 0 or 1 runs one at a time (barriers still order as barriers);
/// `RGCD_QUEUE_WIDTH_ACTIVE_CPUS` (any negative value) the number of CPUs; a width above 255
/// (such as `LONG_MAX`) removes the queue's own limit, the default. Takes effect at once for
/// items not yet started. A queue inside a concurrent target also counts against the target's
/// width. `RGCD_ENOTSUP` for a serial or global queue.
#[no_mangle]
pub unsafe extern "C" fn rgcd_queue_set_width(queue: rgcd_queue_t, width: isize) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
        let w = if width < 0 {
            crate::pool::pool().ncpu() as u64
        } else {
            (width as u64).max(1)
        };
        q.set_width(w).map(|_| 0)
    })
}

/// The main queue: serial, drained on the main thread by `rgcd_main()`. Borrowed.
#[no_mangle]
pub extern "C" fn rgcd_get_main_queue() -> rgcd_queue_t {
    as_handle(q::main_queue())
}

/// The label of `queue` ("" if it has none), valid while the queue lives. NULL asks for the
/// label of the queue running the caller ("" outside any queue). Never returns NULL: a handle
/// that is not a live queue gives "" too, and `rgcd_last_error()` says what was wrong (as in
/// libdispatch, whose `dispatch_queue_get_label` never returns NULL either).
#[no_mangle]
pub unsafe extern "C" fn rgcd_queue_get_label(queue: rgcd_queue_t) -> *const c_char {
    let p = pointer(|| {
        if queue.is_null() {
            return Ok(q::current_label().as_ptr() as *mut c_char);
        }
        // SAFETY: a handle from the caller.
        Ok(unsafe { queue_ref(queue as *const c_void, "queue")? }
            .label()
            .as_ptr() as *mut c_char)
    });
    if p.is_null() {
        c"".as_ptr()
    } else {
        p
    }
}

/// The QoS class `queue` was created with; `*relative_priority` (if not NULL) is set to 0,
/// also on error. Returns `RGCD_QOS_UNSPECIFIED` for a bad handle (`rgcd_last_error()` says
/// why).
#[no_mangle]
pub unsafe extern "C" fn rgcd_queue_get_qos_class(
    queue: rgcd_queue_t,
    relative_priority: *mut c_int,
) -> rgcd_qos_class_t {
    if !relative_priority.is_null() {
        // SAFETY: the caller passes a writable int or NULL.
        unsafe { *relative_priority = 0 };
    }
    let r = status(|| {
        // SAFETY: a handle from the caller.
        let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
        Ok(q.qos() as c_int)
    });
    if r < 0 {
        0
    } else {
        r as rgcd_qos_class_t
    }
}

unsafe extern "C" fn submit(
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_function_t,
    flags: usize,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
        let f = function(work, "work function")?;
        if q.flavor() == q::Flavor::MainRoot {
            return Err(invalid("invalid queue"));
        }
        // SAFETY: a fresh item.
        unsafe { q.enqueue(task::c_task(f, context, flags)) };
        Ok(0)
    })
}

/// Submits `work(context)` to run asynchronously on `queue`; returns at once.
///
/// On success `work` runs exactly once; on failure (`RGCD_EINVAL` for a NULL queue or
/// function, `RGCD_ETYPE` for a handle that is not a queue) it never runs and the caller keeps
/// `context`. The queue is retained until the work has run.
#[no_mangle]
pub unsafe extern "C" fn rgcd_async_f(
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_function_t,
) -> c_int {
    // Fast path: a live queue other than the main root, and a function.
    if let Some(f) = work {
        // SAFETY: a handle from the caller.
        if unsafe { is_live(queue as *const c_void, Kind::Queue) } {
            // SAFETY: the tag says this is a live queue.
            let q = unsafe { &*(queue as *const QueueInner) };
            if q.flavor() != q::Flavor::MainRoot {
                return guarded(|| {
                    // SAFETY: a fresh item.
                    unsafe { q.enqueue(task::c_task(f, context, 0)) };
                    0
                });
            }
        }
    }
    // SAFETY: per the contract.
    unsafe { submit(queue, context, work, 0) }
}

/// Like `rgcd_async_f`, as a barrier: on a concurrent queue it waits for the work submitted
/// before it, runs alone, and then later work proceeds. On a serial or global queue it is a
/// plain async.
#[no_mangle]
pub unsafe extern "C" fn rgcd_barrier_async_f(
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_function_t,
) -> c_int {
    // SAFETY: per the contract.
    unsafe { submit(queue, context, work, BARRIER) }
}

unsafe extern "C" fn sync(
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_function_t,
    barrier: bool,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
        let f = function(work, "work function")?;
        let ctx = SendPtr(context);
        let mut run = || {
            let c = ctx;
            // SAFETY: the caller's function and context.
            unsafe { f(c.0) }
        };
        q::sync_raw(q, barrier, &mut run).map(|_| 0)
    })
}

/// Runs `work(context)` on `queue` and returns after it ran — on the calling thread whenever
/// the queue is free (the usual case), else after the work queued before it.
///
/// `RGCD_EDEADLK` (work not run) when the caller is already running on `queue` (directly or
/// through a queue that targets it) and `queue` is serial; `RGCD_EINVAL`/`RGCD_ETYPE` for bad
/// handles or a NULL function.
#[no_mangle]
pub unsafe extern "C" fn rgcd_sync_f(
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_function_t,
) -> c_int {
    // Fast path: a free serial queue on a global queue runs the work right here.
    if let Some(f) = work {
        // SAFETY: a handle from the caller.
        if unsafe { is_live(queue as *const c_void, Kind::Queue) } {
            // SAFETY: the tag says this is a live queue.
            let q = unsafe { &*(queue as *const QueueInner) };
            // 0: it ran; 1: not taken (the queue is busy, or not serial on a global queue).
            let r = guarded(|| {
                if q::sync_serial_f(q, f, context) {
                    0
                } else {
                    1
                }
            });
            if r <= 0 {
                return r;
            }
        }
    }
    // SAFETY: per the contract.
    unsafe { sync(queue, context, work, false) }
}

/// Like `rgcd_sync_f`, as a barrier (alone on a concurrent queue). Deadlock detection also
/// covers a concurrent queue the caller is running on.
#[no_mangle]
pub unsafe extern "C" fn rgcd_barrier_sync_f(
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_function_t,
) -> c_int {
    // SAFETY: per the contract.
    unsafe { sync(queue, context, work, true) }
}

/// Submits `work(context)` to `queue` at time `when` (`rgcd_time`/`rgcd_walltime`).
/// `RGCD_TIME_FOREVER` never runs it (returns 0; the caller keeps `context`). Errors as for
/// `rgcd_async_f`.
#[no_mangle]
pub unsafe extern "C" fn rgcd_after_f(
    when: rgcd_time_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_function_t,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
        let f = function(work, "work function")?;
        // SAFETY: the caller holds a reference; take one more for the timer.
        let arc = unsafe {
            QueueRef::increment_strong_count(q);
            QueueRef::from_raw(q)
        };
        crate::after::schedule_c(crate::Time::from_raw(when), arc, f, context);
        Ok(0)
    })
}

/// Calls `work(context, i)` for every `i` in `0..iterations`, in parallel, the calling thread
/// taking part, and returns when all calls have returned. `queue` NULL (`DISPATCH_APPLY_AUTO`)
/// or a concurrent queue: parallel on the pool; a serial queue: one after another on it.
#[no_mangle]
pub unsafe extern "C" fn rgcd_apply_f(
    iterations: libc::size_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    work: rgcd_apply_function_t,
) -> c_int {
    status(|| {
        let f = work.ok_or_else(|| invalid("work function is NULL"))?;
        let q = if queue.is_null() {
            None
        } else {
            // SAFETY: a handle from the caller.
            Some(unsafe { queue_ref(queue as *const c_void, "queue")? })
        };
        let ctx = SendPtr(context);
        let body = move |i: usize| {
            let c = ctx;
            // SAFETY: the caller's function and context, callable from any thread.
            unsafe { f(c.0, i) }
        };
        crate::apply::apply_raw(iterations, q, &body);
        Ok(0)
    })
}

/// Runs `function(context)` once for `*predicate` (zero-initialised, static or global);
/// concurrent callers return only after it finished. Afterwards `*predicate == ~0`.
///
/// Errors (`function` not run): `RGCD_EINVAL` for a NULL predicate or function, or for a
/// predicate holding a value rgcd never wrote (neither 0, ~0 nor a run in progress: it was not
/// zero-initialised); `RGCD_EDEADLK` when called from inside `function` for the same predicate
/// on the same thread (libdispatch hangs there forever). The compat `dispatch_once_f` writes
/// one line to stderr and aborts instead.
#[no_mangle]
pub unsafe extern "C" fn rgcd_once_f(
    predicate: *mut rgcd_once_t,
    context: *mut c_void,
    function: rgcd_function_t,
) -> c_int {
    status(|| {
        if predicate.is_null() {
            return Err(invalid("predicate is NULL"));
        }
        let f = super::function(function, "function")?;
        // SAFETY: the caller's predicate, aligned and used only through rgcd_once_f.
        let pred = unsafe { AtomicIsize::from_ptr(predicate) };
        // SAFETY: the caller's function and context.
        crate::once::once_raw(pred, || unsafe { f(context) }).map(|_| 0)
    })
}

/// Attaches `context` to `queue` under `key` (compared by address). A previous value's
/// destructor runs (asynchronously, on the default global queue); NULL `context` removes the
/// key. The destructor also runs when the queue is destroyed. The main queue accepts values.
///
/// `RGCD_EINVAL` for a NULL queue or key, `RGCD_ETYPE` for a handle that is not a queue, and
/// `RGCD_ENOTSUP` for a global (root) queue, as `rgcd_set_context` refuses them: values set
/// on a queue shared by the whole process would leak into every queue targeting it.
/// (libdispatch crashes on `dispatch_queue_set_specific` with a global queue — "Queue doesn't
/// support dispatch_queue_set_specific" — and ignores `dispatch_set_context` on one.) On
/// failure `destructor` is never called.
#[no_mangle]
pub unsafe extern "C" fn rgcd_queue_set_specific(
    queue: rgcd_queue_t,
    key: *const c_void,
    context: *mut c_void,
    destructor: rgcd_function_t,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
        if key.is_null() {
            return Err(invalid("key is NULL"));
        }
        if q.flavor() == q::Flavor::Root {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "global queues hold no queue-specific data",
            ));
        }
        q.set_specific(key as usize, context, destructor);
        Ok(0)
    })
}

/// The value `queue` holds under `key` (NULL if none, or on error).
#[no_mangle]
pub unsafe extern "C" fn rgcd_queue_get_specific(
    queue: rgcd_queue_t,
    key: *const c_void,
) -> *mut c_void {
    pointer(|| {
        // SAFETY: a handle from the caller.
        let q = unsafe { queue_ref(queue as *const c_void, "queue")? };
        Ok(q.get_specific(key as usize).unwrap_or(std::ptr::null_mut()))
    })
}

/// The value under `key` for the queue running the caller, looked up on that queue and then
/// along its target chain (NULL if none). Works inside an inline `rgcd_sync_f` too.
#[no_mangle]
pub extern "C" fn rgcd_get_specific(key: *const c_void) -> *mut c_void {
    pointer(|| Ok(q::current_specific(key as usize)))
}

/// Parks the main thread and runs the main queue's work on it, forever (`dispatch_main`).
/// End the program with `exit()` from some work item. Returns only on misuse: `RGCD_EINVAL`
/// when called off the main thread, `RGCD_ESTATE` when called twice.
#[no_mangle]
pub extern "C" fn rgcd_main() -> c_int {
    status(|| match q::main() {
        Ok(never) => match never {},
        Err(e) => Err(e),
    })
}

/// The number of worker threads alive now (for tests and diagnostics).
///
/// In a child created by `fork()`, the parent's workers do not exist: the count starts at 0
/// (1 if a work item forked: its thread is the child's one worker) and the pool starts new
/// workers when the child first uses rgcd. Work queued at the fork runs in both processes,
/// work running on another thread at the fork is lost in the child, and sources created
/// before the fork do not fire there; see `docs/fork.md`.
#[no_mangle]
pub extern "C" fn rgcd_pool_thread_count() -> libc::size_t {
    crate::pool::thread_count()
}

/// Tells the pool that the calling thread is about to wait for a lock held by another thread
/// that is running — a language runtime's global lock, such as CPython's GIL, taken by a
/// binding's callback trampoline. Until `rgcd_pool_lock_wait_end`, the pool does not count
/// this worker as blocked, so it starts no extra worker that would only queue on the same
/// lock. Pair the two calls on one thread; no effect on threads that are not rgcd workers.
#[no_mangle]
pub extern "C" fn rgcd_pool_lock_wait_begin() {
    crate::pool::lock_wait_begin();
}

/// Ends the wait announced by `rgcd_pool_lock_wait_begin` (the lock is taken).
#[no_mangle]
pub extern "C" fn rgcd_pool_lock_wait_end() {
    crate::pool::lock_wait_end();
}

/// The number of rgcd objects alive now: queues (other than the global and main queues),
/// groups, semaphores and sources that were created and not yet destroyed. For tests and
/// diagnostics: after everything was cancelled and released (and finalizers ran), it is back
/// at its earlier value. Objects are destroyed asynchronously after their last release when
/// work or a handler still holds them, so poll for a while before concluding a leak.
#[no_mangle]
pub extern "C" fn rgcd_debug_live_objects() -> libc::size_t {
    crate::object::live_objects()
}
